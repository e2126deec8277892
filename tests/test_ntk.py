"""Empirical NTK against the linear RNN's closed-form blocks, kernel distance, the "ntk" probe, extrapolation.

Tolerances: float64 comparisons hold to 1e-10 of the kernel's scale (unit
roundoff 1.1e-16 times a few hundred operations); float32 ones are bounded
in each test from the float32 unit roundoff u = 6e-8 and the operation count.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnscope.models import get_model, linear
from rnnscope.models.base import ModelConfig
from rnnscope.optim import OptimizerConfig
from rnnscope.probes import PROBES
from rnnscope.probes.extrapolation import extrapolation_error, sampler_at_length, task_predict
from rnnscope.probes.ntk import empirical_ntk, kernel_distance, kernel_distance_trajectory, member_predict
from rnnscope.tasks import make_task
from rnnscope.theory.linear_ntk import linear_ntk
from rnnscope.train import TaskConfig, TrainConfig, train_population
from rnnscope.train.losses import predictions

U32 = float(np.finfo(np.float32).eps) / 2  # float32 unit roundoff
T, N_X, N_H, N_Y, P = 4, 3, 5, 2, 6


def random_weights(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "W_x": rng.normal(size=(N_H, N_X)) / np.sqrt(N_X),
        "W_h": rng.normal(size=(N_H, N_H)) / np.sqrt(N_H),
        "W_y": rng.normal(size=(N_Y, N_H)) / np.sqrt(N_H),
    }, rng.normal(size=(T, P, N_X))


def bias_free(weights, dtype):
    """The paper's network: the weights trained, zero biases frozen."""
    params = {k: jnp.asarray(v, dtype) for k, v in weights.items()}
    params.update(b=jnp.zeros((N_H,), dtype), b_y=jnp.zeros((N_Y,), dtype))
    return linear.freeze_biases(params)


def last_output64(params, x):
    """y_T of the library's linear RNN (``train.losses.predictions``): float64 weights and inputs keep float64."""
    cfg = ModelConfig(arch="linear", hidden=N_H, input_dim=N_X, output_dim=N_Y, bias=False)
    return predictions(linear.MODEL, cfg, params, x, "last")


def test_empirical_ntk_equals_closed_form_blocks_float64():
    weights, x = random_weights()
    theory = linear_ntk(weights["W_x"], weights["W_h"], weights["W_y"], x)
    with jax.enable_x64(True):
        params = bias_free(weights, jnp.float64)
        xj = jnp.asarray(x, jnp.float64)
        K = np.asarray(empirical_ntk(last_output64, params, xj))
        blocks = {name: np.asarray(empirical_ntk(last_output64, params, xj, wrt=[name]))
                  for name in ("W_x", "W_h", "W_y")}
        K_fwd = np.asarray(empirical_ntk(last_output64, params, xj, mode="fwd"))
    assert K.shape == (P * N_Y, P * N_Y)
    scale = np.abs(theory.total).max()
    np.testing.assert_allclose(K, theory.total, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(K_fwd, K, rtol=0, atol=1e-10 * scale)
    for name, block in blocks.items():
        np.testing.assert_allclose(block, getattr(theory, name), rtol=0, atol=1e-10 * scale, err_msg=name)
    # every block carries weight here, so the test would notice a missing or misindexed one
    for name in ("W_x", "W_h", "W_y"):
        assert np.abs(getattr(theory, name)).max() > 0.05 * scale
    # symmetric positive semi-definite (here definite: 50 parameters > 12 outputs)
    np.testing.assert_allclose(K, K.T, rtol=0, atol=1e-12 * scale)
    eig = np.linalg.eigvalsh(K)
    assert eig.min() > -1e-12 * eig.max()


def test_library_forward_pass_gives_the_closed_form_kernel_in_float32():
    weights, x = random_weights(1)
    cfg = ModelConfig(arch="linear", hidden=N_H, input_dim=N_X, output_dim=N_Y)
    params = bias_free(weights, jnp.float32)
    K = np.asarray(empirical_ntk(member_predict(linear.MODEL, cfg), params, jnp.asarray(x, jnp.float32)))
    theory = linear_ntk(weights["W_x"], weights["W_h"], weights["W_y"], x).total
    # float32 Jacobian entries: <= T + 2 products of length <= 5 with |W|-powers growing to ~20x (bound ~ 700 u);
    # K adds 50 products, |K_pq| <= max|K| by Cauchy-Schwarz: error <= ~1e3 u * max|K| = 6e-5 max|K|
    np.testing.assert_allclose(K, theory, rtol=0, atol=1e3 * U32 * np.abs(theory).max())
    # T' = 1 has no recurrent block: the W_h Jacobian is zero since h_0 = 0
    K1 = empirical_ntk(member_predict(linear.MODEL, cfg), params, jnp.asarray(x[:1], jnp.float32), wrt=["W_h"])
    assert np.all(np.asarray(K1) == 0)


def test_every_step_kernel_orders_sequences_first():
    weights, x = random_weights(2)
    cfg = ModelConfig(arch="linear", hidden=N_H, input_dim=N_X, output_dim=N_Y)
    params = bias_free(weights, jnp.float32)
    xj = jnp.asarray(x, jnp.float32)
    K_last = np.asarray(empirical_ntk(member_predict(linear.MODEL, cfg), params, xj))
    K_every = np.asarray(empirical_ntk(member_predict(linear.MODEL, cfg, "every"), params, xj))
    assert K_every.shape == (P * T * N_Y,) * 2
    # row (p T + t) N_y + a: the last step of each sequence is t = T - 1
    rows = np.array([(p * T + T - 1) * N_Y + a for p in range(P) for a in range(N_Y)])
    np.testing.assert_allclose(K_every[np.ix_(rows, rows)], K_last, rtol=0, atol=1e-6 * np.abs(K_last).max())


def test_kernel_distance_properties():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(6, 6))
    K = A @ A.T
    assert abs(kernel_distance(K, K)) < 1e-14
    assert abs(kernel_distance(K, 2.0 * K)) < 1e-14
    assert abs(kernel_distance(K, 1e-30 * K)) < 1e-14  # tiny kernels neither underflow nor give NaN
    assert abs(kernel_distance(K, 1e30 * K)) < 1e-14
    e1, e2 = np.diag([1.0, 0.0]), np.diag([0.0, 1.0])
    assert kernel_distance(e1, e2) == 1.0
    assert kernel_distance(K, -K) == pytest.approx(2.0, abs=1e-14)
    for bad in (np.zeros_like(K), np.where(np.eye(6) > 0, np.inf, K), np.where(np.eye(6) > 0, np.nan, K)):
        assert np.isnan(kernel_distance(K, bad)) and np.isnan(kernel_distance(bad, K))
    # JAX arrays: same answers inside jit, in float32
    d = jax.jit(kernel_distance)
    Kj = jnp.asarray(K, jnp.float32)
    assert abs(float(d(Kj, 3.0 * Kj))) < 1e-6  # float32: 1 - cos of identical unit vectors, ~ m^2 u
    assert float(d(jnp.asarray(e1), jnp.asarray(e2))) == 1.0
    assert np.isnan(float(d(Kj, jnp.zeros_like(Kj))))
    assert np.isnan(float(d(Kj, Kj.at[0, 0].set(jnp.inf))))
    # a trajectory of records: relative to the first, broadcast over members
    F, G = np.diag([1.0, 1, 1, 1, 1, 0]), np.diag([0.0, 0, 0, 0, 0, 1])
    records = np.stack([F, 3.0 * F, G, np.zeros_like(F)])
    D = kernel_distance_trajectory(np.stack([records, records]))
    assert D.shape == (2, 4)
    np.testing.assert_allclose(D[:, :3], [[0.0, 0.0, 1.0]] * 2, atol=1e-14)
    assert np.all(np.isnan(D[:, 3]))


LINEAR = ModelConfig(arch="linear", hidden=5, input_dim=2, output_dim=2)
SUM_TASK = TaskConfig("integration", (("kind", "sum"), ("seq_len", 5), ("input_dim", 2), ("target", "last")))


def test_ntk_probe_in_training_starts_at_the_initial_kernel_and_moves():
    assert not PROBES["ntk"].one_device
    cfg = TrainConfig(steps=6, batch=8, record_every=2, record_log_points=None, probes=("ntk",), block=1,
                      probe_batch=8, eval_batch=8)
    seeds = np.array([0, 1])
    res = train_population(LINEAR, SUM_TASK, OptimizerConfig(name="sgd"), cfg, seeds,
                           {"lr": np.array([0.01, 0.02], np.float32)})
    kernels = res.trajectories["ntk"]
    assert kernels.shape == (2, 4, 16, 16)  # (members, records, n N_y, n N_y) with n = 8, N_y = 2
    assert not res.diverged.any()
    model, task = get_model("linear"), SUM_TASK.build()
    for i, seed in enumerate(seeds):
        keys = jax.random.split(jax.random.PRNGKey(seed), 5)
        params0 = model.init(keys[0], LINEAR, {"init_scale": 1.0, "io_scale": 0.0, "gate": 0.05})
        probe_x, _ = task.sample(keys[3], cfg.probe_batch)
        expected = np.asarray(empirical_ntk(member_predict(model, LINEAR), params0, probe_x[:, :8]))
        # the same float32 computation, batched differently: the bound of the float32 test above
        np.testing.assert_allclose(kernels[i, 0], expected, rtol=0, atol=1e3 * U32 * np.abs(expected).max())
    D = kernel_distance_trajectory(kernels)
    assert np.all(np.abs(D[:, 0]) < 1e-12)
    # float32 noise in a kernel moves D by ~(1e-6)^2; training moves it by far more
    assert np.all(D[:, 1:] > 1e-6), D


def integrator(w_y):
    params = {"W_h": jnp.ones((1, 1)), "W_x": jnp.ones((1, 1)), "W_y": jnp.full((1, 1), w_y),
              "b": jnp.zeros((1,)), "b_y": jnp.zeros((1,))}
    return linear.freeze_biases(params)


ONE = ModelConfig(arch="linear", hidden=1, input_dim=1, output_dim=1)
LENGTHS = [2, 5, 10, 20, 40]


@pytest.mark.parametrize("target", ["last", "every"])
def test_summing_integrator_extrapolates_exactly(target):
    task = make_task("integration", kind="sum", seq_len=10, target=target)
    err = extrapolation_error(task_predict(linear.MODEL, ONE, task.target), integrator(1.0),
                              sampler_at_length("integration", kind="sum", target=target),
                              [1, 7, 40], jax.random.PRNGKey(0), 512)
    assert err.shape == (3,)
    # float32 running sums of T' terms of size <= ~4 sqrt(T'): |error| <= T' u 4 sqrt(T'); squared, at T' = 40
    assert np.all(np.asarray(err) <= (40 * U32 * 4 * np.sqrt(40)) ** 2)


def test_averaging_integrator_error_grows_away_from_its_length():
    T0, batch = 10, 4096
    predict = task_predict(linear.MODEL, ONE, "last")
    sampler = sampler_at_length("integration", kind="mean", target="last")
    err = np.asarray(extrapolation_error(predict, integrator(1.0 / T0), sampler, LENGTHS, jax.random.PRNGKey(1), batch))
    at = LENGTHS.index(T0)
    assert err[at] < 1e-10
    assert np.all(np.diff(err[: at + 1]) < 0) and np.all(np.diff(err[at:]) > 0)
    # digest 4.3: Err = (T' - T)^2 / (T^2 T'); the sample mean of a chi-square(1) over 4096 draws has relative
    # standard deviation sqrt(2 / 4096) = 2.2%, so 5 standard deviations is 11%
    lengths = np.array(LENGTHS, float)
    expected = (lengths - T0) ** 2 / (T0**2 * lengths)
    off = np.arange(len(LENGTHS)) != at
    np.testing.assert_allclose(err[off], expected[off], rtol=0.11)
    # vmappable over members: a population of two averaging integrators (T = 10 and T = 20)
    both = jax.tree.map(lambda a, b: jnp.stack([a, b]), integrator(1.0 / T0), integrator(1.0 / 20))
    short = [5, 20]
    stacked = jax.jit(jax.vmap(lambda p: extrapolation_error(predict, p, sampler, short, jax.random.PRNGKey(1),
                                                             batch)))(both)
    assert stacked.shape == (2, 2)
    np.testing.assert_allclose(np.asarray(stacked[0]), err[[LENGTHS.index(t) for t in short]], rtol=1e-5)
    assert stacked[1, 1] < 1e-10
    np.testing.assert_allclose(stacked[1, 0], 15**2 / (20**2 * 5), rtol=0.11)
