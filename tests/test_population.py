"""The population engine: determinism across population sizes, divergence isolation, probes."""

import dataclasses

import jax
import numpy as np
import pytest

from rnnscope.models import get_model
from rnnscope.models.base import ModelConfig
from rnnscope.optim import OptimizerConfig
from rnnscope.train import TaskConfig, TrainConfig, train_population

TASK = TaskConfig("integration", (("kind", "leaky"), ("seq_len", 12), ("c", 0.3)))
MODEL = ModelConfig(arch="elman", hidden=6, input_dim=1, output_dim=1)
TRAIN = TrainConfig(steps=25, batch=8, record_every=5, record_log_points=None, probe_batch=8, eval_batch=16)
SGD = OptimizerConfig(name="sgd")
LRS = np.geomspace(1e-3, 3e-1, 64).astype(np.float32)


def train(seeds, lrs, opt=SGD, train_cfg=TRAIN, **hp):
    return train_population(MODEL, TASK, opt, train_cfg, np.asarray(seeds), {"lr": np.asarray(lrs), **hp})


def member(result, i):
    return jax.tree.map(lambda a: np.asarray(a[i]), result.params)


def assert_same_member(ra, i, rb, j):
    for a, b in zip(jax.tree.leaves(member(ra, i)), jax.tree.leaves(member(rb, j))):
        np.testing.assert_array_equal(a, b)
    for name in ra.trajectories:
        np.testing.assert_array_equal(ra.trajectories[name][i], rb.trajectories[name][j])
    assert ra.final_loss[i] == rb.final_loss[j] or (np.isnan(ra.final_loss[i]) and np.isnan(rb.final_loss[j]))


@pytest.fixture(scope="module")
def pop64():
    return train(np.arange(64), LRS)


def test_member_identical_in_populations_of_1_7_64(pop64):
    members = [3, 10, 17, 24, 40, 51, 63]
    pop7 = train(members, LRS[members])
    for j, i in enumerate(members):
        assert_same_member(pop64, i, pop7, j)
    alone = train([40], LRS[[40]])
    assert_same_member(pop64, 40, alone, 0)


def test_member_identical_in_populations_of_1_7_64_through_the_cpu_kernels():
    """Hidden 16 in float32 takes the compiled CPU passes (``models.elman_cpu``)."""
    from rnnscope.models import elman_cpu

    operands = ((16, 16), (16, 1), (16,), (1, 16), (1,), (8, 16), (12, 8, 1))
    if not elman_cpu.usable(*(np.zeros(s, np.float32) for s in operands)):
        pytest.skip("no C++ compiler for the CPU kernels")
    model = dataclasses.replace(MODEL, hidden=16)
    run = lambda seeds: train_population(model, TASK, SGD, TRAIN, np.asarray(seeds), {"lr": LRS[seeds]})
    pop64, members = run(np.arange(64)), [3, 10, 17, 24, 40, 51, 63]
    pop7 = run(members)
    for j, i in enumerate(members):
        assert_same_member(pop64, i, pop7, j)
    assert_same_member(pop64, 51, run([51]), 0)
    assert np.isfinite(pop64.final_loss).all()


def test_member_identical_whatever_the_order(pop64):
    order = np.arange(64)[::-1]
    reversed_pop = train(order, LRS[order])
    for j, i in enumerate(order[:8]):
        assert_same_member(pop64, i, reversed_pop, j)


def test_members_learn(pop64):
    loss = pop64.trajectories["loss"]
    # the larger learning rates must reduce the held-out loss over 25 steps
    assert np.all(loss[40:, -1] < loss[40:, 0])
    assert pop64.record_steps.tolist() == [0, 5, 10, 15, 20, 25]


def test_divergence_is_isolated_and_flagged():
    seeds = np.array([0, 1, 2, 3])
    lrs = np.array([1e-2, 1e-2, 1e6, 3e-2], np.float32)
    with_bad = train(seeds, lrs)
    without = train(seeds[[0, 1, 3]], lrs[[0, 1, 3]])
    assert with_bad.diverged.tolist() == [False, False, True, False]
    assert 1 <= with_bad.diverged_step[2] <= TRAIN.steps
    assert with_bad.diverged_step[[0, 1, 3]].tolist() == [-1, -1, -1]
    assert np.isnan(with_bad.final_loss[2])
    # the diverged member is frozen with finite parameters, its later records are NaN
    assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree.leaves(member(with_bad, 2)))
    after = with_bad.record_steps >= with_bad.diverged_step[2]
    assert np.all(np.isnan(with_bad.trajectories["loss"][2, after]))
    for j, i in enumerate([0, 1, 3]):
        assert np.isfinite(with_bad.final_loss[i])
        assert_same_member(with_bad, i, without, j)


def test_spectral_radius_probe_matches_numpy(pop64):
    # at step 0 biases are zero, so the state Jacobian at rest is W_h itself
    init = train(np.arange(3), LRS[:3], train_cfg=TrainConfig(steps=1, batch=8, record_every=1,
                                                              record_log_points=None, probe_batch=8, eval_batch=8))


    model = get_model("elman")
    for i, seed in enumerate(range(3)):
        keys = jax.random.split(jax.random.PRNGKey(seed), 5)
        W = np.asarray(model.init(keys[0], MODEL, {"init_scale": 1.0, "gate": 0.05})["W_h"], np.float64)
        expected = np.max(np.abs(np.linalg.eigvals(W)))
        np.testing.assert_allclose(init.trajectories["spectral_radius"][i, 0], expected, rtol=1e-5)


def test_eigenvalues_probe_is_the_cloud_of_the_linear_rnn():
    # for a linear RNN the state Jacobian is W_h at every state: the probe must return its eigenvalues


    linear = dataclasses.replace(MODEL, arch="linear")
    cfg = TrainConfig(steps=1, batch=8, record_every=1, record_log_points=None, probe_batch=8, eval_batch=8,
                      probes=("eigenvalues", "spectral_radius"))
    res = train_population(linear, TASK, SGD, cfg, np.arange(2), {"lr": LRS[:2]})
    model = get_model("linear")
    for seed in range(2):
        keys = jax.random.split(jax.random.PRNGKey(seed), 5)
        W = np.asarray(model.init(keys[0], linear, {"init_scale": 1.0, "gate": 0.05})["W_h"], np.float64)
        got = res.trajectories["eigenvalues"][seed, 0]
        assert got.shape == (2, MODEL.hidden)
        key = lambda z: (round(z.real, 4), round(z.imag, 4))  # noqa: E731
        np.testing.assert_allclose(sorted(got[0] + 1j * got[1], key=key),
                                   sorted(np.linalg.eigvals(W), key=key), atol=1e-5)
        np.testing.assert_allclose(np.abs(got[0] + 1j * got[1]).max(), res.trajectories["spectral_radius"][seed, 0],
                                   rtol=1e-6)


def test_a_bias_free_linear_rnn_keeps_its_biases_at_zero():
    # Proca et al.'s network has no biases: with bias=False they sit under "frozen" and never move,
    # while the weights train
    linear = dataclasses.replace(MODEL, arch="linear", bias=False)
    cfg = TrainConfig(steps=3, batch=8, record_every=3, record_log_points=None, probe_batch=8, eval_batch=8,
                      probes=("loss",))
    res = train_population(linear, TASK, SGD, cfg, np.arange(2), {"lr": LRS[:2]})
    assert set(res.params) == {"W_h", "W_x", "W_y", "frozen"}
    assert np.all(np.asarray(res.params["frozen"]["b"]) == 0) and np.all(np.asarray(res.params["frozen"]["b_y"]) == 0)
    init = get_model("linear").init(jax.random.split(jax.random.PRNGKey(0), 5)[0], linear,
                                    {"init_scale": 1.0, "gate": 0.05})
    assert not np.allclose(np.asarray(res.params["W_y"][0]), np.asarray(init["W_y"]))
    assert np.all(np.isfinite(res.final_loss))


def test_aligned_linear_rnns_are_aligned_with_the_task_data_bases():
    # a spec asking for init = "aligned" on the linear-dynamics task gets networks in the task's own
    # singular-vector bases, every mode at init_scale (Proca et al. 2025, App. P.1.1)
    from rnnscope.models.init import alignment_error, recover_modes

    model = ModelConfig("linear", 4, 3, 3, init="aligned", bias=False)
    task = TaskConfig("linear_dynamics", (("seq_len", 4), ("input_dim", 3), ("output_dim", 3)))
    cfg = TrainConfig(steps=1, batch=24, record_every=1, record_log_points=None, probe_batch=8, eval_batch=8,
                      probes=("loss",))
    res = train_population(model, task, SGD, cfg, np.arange(2), {"lr": np.zeros(2, np.float32),
                                                                  "init_scale": np.array([0.1, 0.3], np.float32)})
    U, V = task.build().bases
    assert not np.allclose(U, np.eye(3)) and not np.allclose(V, np.eye(3))  # real bases, not identities
    for i, scale in enumerate((0.1, 0.3)):
        member = jax.tree_util.tree_map(lambda a: a[i], res.params)
        assert float(alignment_error(member, U, V, member["frozen"]["R"])) < 1e-5
        for mode in recover_modes(member, U, V, member["frozen"]["R"]):
            np.testing.assert_allclose(np.asarray(mode)[:3], scale, rtol=1e-5)


def test_grad_norm_probe_is_positive_and_finite(pop64):
    g = pop64.trajectories["grad_norm"]
    assert np.all(np.isfinite(g)) and np.all(g > 0)


def test_per_member_hyperparameters_change_only_their_member():
    seeds = np.array([5, 5])
    res = train(seeds, np.array([1e-2, 1e-2], np.float32), init_scale=np.array([0.5, 1.5], np.float32))
    r0 = train(seeds[:1], np.array([1e-2], np.float32), init_scale=np.array([0.5], np.float32))
    assert_same_member(res, 0, r0, 0)
    assert not np.array_equal(member(res, 0)["W_h"], member(res, 1)["W_h"])


def test_adam_and_clipping_and_state_noise_run():
    opt = OptimizerConfig(name="adam", noise_mode="state")
    res = train(np.arange(3), np.full(3, 1e-2, np.float32), opt=opt,
                clip=np.array([np.inf, 0.1, 1.0], np.float32),
                noise_alpha=np.array([1.5, 1.5, 2.0], np.float32),
                noise_scale=np.array([0.0, 0.1, 0.1], np.float32))
    assert not res.diverged.any()
    assert np.all(np.isfinite(res.final_loss))


def test_orthogonal_init_trains_on_several_cpu_devices():
    """The orthogonal initialiser's QR, once a LAPACK custom call, hung programs sharded over CPU devices
    (Elman: inside the sharded program; LSTM: while its result was resharded)."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import jax, numpy as np
        from rnnscope.models.base import ModelConfig
        from rnnscope.optim import OptimizerConfig
        from rnnscope.train.population import TaskConfig, TrainConfig, train_population
        assert jax.device_count() == 2
        r = train_population(ModelConfig("elman", 32, 1, 1, init="orthogonal"), TaskConfig("latch", (("seq_len", 11),)),
                             OptimizerConfig(name="sgd", learning_rate=0.1),
                             TrainConfig(steps=5, batch=8, record_log_points=2, probes=("loss", "jac_lyapunov")),
                             np.arange(40))
        print("done elman", np.isfinite(r.final_loss).all())
        r = train_population(ModelConfig("lstm", 32, 16, 1, init="orthogonal"),
                             TaskConfig("multilag_pareto", (("seq_len", 64), ("l_max", 48), ("k", 6))),
                             OptimizerConfig(name="adamw"),
                             TrainConfig(steps=4, batch=32, record_every=2, record_log_points=None, probes=("loss",),
                                         probe_batch=16, eval_batch=16, block=16), np.arange(3),
                             {"lr": np.full(3, 1e-3, np.float32), "clip": np.ones(3, np.float32),
                              "gate": np.full(3, 0.02, np.float32)})
        print("done lstm", np.isfinite(r.final_loss).all())
    """)
    env = {**__import__("os").environ, "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": "2"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, env=env)
    assert out.returncode == 0 and "done elman True" in out.stdout and "done lstm True" in out.stdout, \
        out.stderr[-2000:]
