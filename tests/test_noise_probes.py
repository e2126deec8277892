"""Noise probes: gradient projections on random directions and the slow-row update buffer."""

import numpy as np
import pytest

from rnnscope.analysis import alpha
from rnnscope.models.base import ModelConfig
from rnnscope.optim import OptimizerConfig
from rnnscope.probes.noise import GRAD_BATCHES, GRAD_DIRECTIONS, random_directions
from rnnscope.train import TaskConfig, TrainConfig, train_population

TASK = TaskConfig("integration", (("kind", "leaky"), ("seq_len", 12), ("c", 0.3)))
H, D = 6, 1
MODEL = ModelConfig(arch="elman", hidden=H, input_dim=D, output_dim=1)
SGD = OptimizerConfig(name="sgd")


def run(probes, steps=10, hp=None, warm=None, **train):
    cfg = TrainConfig(steps=steps, batch=8, record_every=5, record_log_points=None, probe_batch=8, eval_batch=16,
                      block=2, probes=probes, **train)
    return train_population(MODEL, TASK, SGD, cfg, np.arange(2), {"lr": np.full(2, 0.05, np.float32), **(hp or {})},
                            warm_start=warm)


def test_random_directions_are_unit_and_fixed():
    w = np.asarray(random_directions(50, 4))
    np.testing.assert_allclose(np.linalg.norm(w, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(w, np.asarray(random_directions(50, 4)))
    assert np.max(np.abs(w @ w.T - np.eye(4))) < 0.6  # distinct directions, not one repeated


@pytest.fixture(scope="module")
def projections():
    free = run(("grad_projections",)).trajectories["grad_projections"]
    clipped = run(("grad_projections",), hp={"clip": np.full(2, 1e-4, np.float32)}).trajectories["grad_projections"]
    return free, clipped


def test_gradient_projections_are_centred_and_vary(projections):
    free, _ = projections
    assert free.shape == (2, 3, GRAD_DIRECTIONS, GRAD_BATCHES)
    np.testing.assert_allclose(free.mean(axis=-1), 0.0, atol=1e-5 * np.abs(free).max())
    # mini-batches differ, records differ, members differ
    assert np.all(free.std(axis=-1) > 0)
    assert not np.allclose(free[:, 0], free[:, 1])
    assert not np.allclose(free[0], free[1])


def test_gradient_projections_see_the_clipping(projections):
    # |<g, w>| <= |g| <= clip for a unit w, so centred values are at most 2 clip
    free, clipped = projections
    assert np.abs(clipped).max() <= 2e-4 * (1 + 1e-5)
    assert np.abs(free).max() > 10 * 2e-4


def test_gradient_projections_feed_the_alpha_estimator(projections):
    free, _ = projections
    result = alpha.multi_direction_alpha(free[0, -1])
    assert result.n_samples == GRAD_DIRECTIONS * GRAD_BATCHES
    assert result.resolved and 1.0 <= result.alpha <= 2.0


def test_slow_row_buffer_holds_the_increments_of_one_slow_unit():
    # phase 1 ends at params_10; phase 2 picks the slow unit from params_10, buffers the
    # five increments of steps 11-15, and its record at step 15 hands them over
    first = run(("loss",), steps=10)
    second = run(("slow_row_updates",), steps=5, warm=first, update_buffer=1000)
    buf = second.trajectories["slow_row_updates"]
    per_step = H + D + 1  # one slow unit (10% of 6, rounded up to 1): its rows of W_h, W_x and b
    assert buf.shape == (2, 2, 1000)
    assert np.all(np.isnan(buf[:, 0]))  # nothing buffered at the start of the phase
    filled = np.isfinite(buf[:, 1])
    assert filled.sum(axis=1).tolist() == [5 * per_step] * 2
    for m in range(2):
        steps = buf[m, 1, : 5 * per_step].reshape(5, per_step)
        total = steps.sum(axis=0)

        def rows(params, q):
            return np.concatenate([np.asarray(params[k][m][q]).ravel() for k in ("W_h", "W_x", "b")])

        diffs = [rows(second.params, q) - rows(first.params, q) for q in range(H)]
        errors = [np.max(np.abs(total - d)) for d in diffs]
        assert min(errors) < 1e-5 * max(np.max(np.abs(total)), 1e-12) + 1e-7


def test_slow_row_buffer_stops_when_full():
    res = run(("slow_row_updates",), steps=10, update_buffer=20)
    assert np.isfinite(res.trajectories["slow_row_updates"][:, 1:]).sum(axis=-1).tolist() == [[20, 20]] * 2


def test_no_buffer_records_one_nan():
    res = run(("slow_row_updates",), steps=5)
    assert res.trajectories["slow_row_updates"].shape == (2, 2, 1)
    assert np.all(np.isnan(res.trajectories["slow_row_updates"]))


ARCHS = ("elman", "linear", "ctrnn", "constgate", "sharedgate", "diaggate", "gru", "lstm", "lru")


# every architecture once; the two noise modes that enter the differentiated loss or the
# gradient alternate (one compilation per architecture keeps the test short)
@pytest.mark.parametrize("arch,mode", [(a, ("gradient", "state")[i % 2]) for i, a in enumerate(ARCHS)])
def test_forcing_and_noise_probes_run_on_every_architecture(arch, mode):
    task = TaskConfig("multilag", (("seq_len", 24), ("lags", (2, 5)), ("coeffs", (0.6, 0.4)), ("input_dim", 3)))
    model = ModelConfig(arch=arch, hidden=10, input_dim=3, output_dim=1)
    opt = OptimizerConfig(name="adamw", noise_mode=mode, use_winsor=True)
    cfg = TrainConfig(steps=4, batch=4, record_every=2, record_log_points=None, probe_batch=4, eval_batch=4, block=2,
                      update_buffer=1000, probes=("grad_projections", "slow_row_updates"))
    hp = {"lr": np.full(2, 1e-2, np.float32), "clip": np.full(2, 1.0, np.float32),
          "winsor": np.full(2, 90.0, np.float32), "noise_alpha": np.full(2, 1.5, np.float32),
          "noise_scale": np.full(2, 0.5, np.float32)}
    res = train_population(model, task, opt, cfg, np.arange(2), hp)
    assert not res.diverged.any()
    traj = res.trajectories
    assert np.all(np.isfinite(traj["grad_projections"]))
    # two steps between records fill 2 x (entries of one slow unit's rows); the rest stays NaN
    filled = np.isfinite(traj["slow_row_updates"][:, -1]).sum(axis=-1)
    assert np.all(filled > 0) and np.all(filled % 2 == 0) and np.all(filled < 1000)
