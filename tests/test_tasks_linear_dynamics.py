"""Tests of the task-dynamics generator (Proca et al. 2025) and the multisensory integration task.

Float32 bounds used below (u = 2^-24, the unit round-off of float32):

- Whitening. The inputs are rows W (float64, orthonormal to ~1e-14) rounded
  to float32, x = W + E with |E_ij| <= u |W_ij|. Then (x x^T - I)_ij =
  (E W^T + W E^T + E E^T)_ij and, by Cauchy-Schwarz over samples,
  |(E W^T)_ij| <= u |W_i| |W_j| = u, so |x x^T - I| <= 2u + u^2 + 1e-12
  entrywise (products taken in float64).
- Correlations. Sigma_hat_t = sum_p y_p x_t^T with y = round32(sum_t' M_t' x_t')
  differs from M_t by sum_t' M_t' (G_t't - delta I) (at most 2u sum_t' |M_t'|_row,1)
  plus the rounding of y (at most u |y_i|_2 |x_tj|_2 = u |y_i|_2).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnscope.models import ModelConfig
from rnnscope.models.init import aligned_linear
from rnnscope.models.linear import MODEL as LINEAR
from rnnscope.tasks import TASKS, make_task
from rnnscope.tasks.linear_dynamics import linear_dynamics, linear_dynamics_data
from rnnscope.tasks.sensory import integrate_target, stimulus_mean, target_weights

U32 = 2.0**-24
WHITE_TOL = 2 * U32 + U32**2 + 1e-12
KEY = jax.random.key(0, impl="rbg")


def as64(a):
    return np.asarray(a, dtype=np.float64)


def correlations(x, y):
    """Sigma_hat_t = sum_p y_p x_{p,t}^T, shape (T, N_y, N_x), in float64."""
    return np.einsum("pi,tpj->tij", as64(y), as64(x))


def correlation_tol(maps, y):
    """The bound of the module docstring for every entry of Sigma_hat - M."""
    row_l1 = np.abs(maps).sum(axis=2).sum(axis=0).max()  # max_i sum_t' sum_j |M_t'|_ij
    y_norm = np.sqrt((as64(y) ** 2).sum(axis=0)).max()  # max_i |y_i|_2 over samples
    return 2 * U32 * row_l1 + U32 * y_norm * (1 + U32) + 1e-12


def svd_maps(data):
    """U_y[:, :n] diag(S_t) V_x[:, :n]^T recomputed here from the returned bases and values."""
    n = data.S.shape[1]
    return np.stack([data.U_y[:, :n] @ np.diag(s) @ data.V_x[:, :n].T for s in data.S])


# --------------------------------------------------------------------------
# Whitening
# --------------------------------------------------------------------------


@pytest.mark.parametrize("n_samples", [16, 40])  # 16 = T N_x + 1, the hardest case
def test_whitening_sum_convention_is_exact(n_samples):
    T, n_x = 5, 3
    data = linear_dynamics_data(seq_len=T, input_dim=n_x, output_dim=2, n_samples=n_samples, data_seed=3)
    assert data.x.shape == (T, n_samples, n_x) and data.x.dtype == np.float32
    Z = as64(data.x).transpose(0, 2, 1).reshape(T * n_x, n_samples)  # row t N_x + j
    G = Z @ Z.T  # block (t, t') = sum_p x_{p,t} x_{p,t'}^T
    assert np.abs(G - np.eye(T * n_x)).max() <= WHITE_TOL
    # centred: |sum_p x| <= sum_p |E| <= u sum_p |W| <= u sqrt(P)
    assert np.abs(Z.sum(axis=1)).max() <= U32 * math.sqrt(n_samples) + 1e-12


def test_whitening_mean_convention():
    kw = dict(seq_len=4, input_dim=2, output_dim=2, n_samples=30, data_seed=5)
    P = kw["n_samples"]
    x_sum = as64(linear_dynamics_data(**kw).x)
    x_mean = as64(linear_dynamics_data(**kw, normalise="mean").x)
    Z = x_mean.transpose(0, 2, 1).reshape(8, P)
    assert np.abs(Z @ Z.T / P - np.eye(8)).max() <= WHITE_TOL
    # the same draw, scaled by sqrt(P); both are float32 roundings of one float64 array
    np.testing.assert_allclose(x_mean, math.sqrt(P) * x_sum, rtol=3 * U32, atol=0)


def test_too_few_samples_is_an_error_naming_n_samples():
    with pytest.raises(ValueError, match="n_samples"):
        linear_dynamics_data(seq_len=5, input_dim=3, n_samples=15)  # T N_x = 15 < 16
    with pytest.raises(ValueError, match="n_samples"):
        make_task("linear_dynamics", seq_len=5, input_dim=3, n_samples=10)


# --------------------------------------------------------------------------
# Singular values, correlations, lags
# --------------------------------------------------------------------------

FAMILY_CASES = {
    "constant": dict(family="constant", delta=1.3),
    "inverse_exponential": dict(family="inverse_exponential", delta=1.3, lam=0.7),
    "exponential": dict(family="exponential", delta=1.3, lam=0.7),
    "kappa_constant": dict(family="constant", delta=0.4, kappa=1.0),
    "kappa_exponential": dict(family="exponential", delta=1.0, lam=0.8, kappa=0.3),
    "dirac": dict(family="dirac", s1=1.5, kappa=1.0),
    "per_mode": dict(family="inverse_exponential", delta=(1.0, 0.5), lam=(0.9, 1.1)),
}


@pytest.mark.parametrize("case", sorted(FAMILY_CASES))
@pytest.mark.parametrize("target", ["last", "every"])
def test_data_correlations_equal_u_s_v(case, target):
    # N_x != N_y and (for per_mode) n_modes < min(N_x, N_y): the padding singular values are 0
    data = linear_dynamics_data(seq_len=5, input_dim=3, output_dim=4, n_samples=20, data_seed=1,
                                target=target, **FAMILY_CASES[case])
    for B in (data.U_y, data.V_x):
        np.testing.assert_allclose(B.T @ B, np.eye(B.shape[0]), atol=1e-12)
    expected = svd_maps(data)
    np.testing.assert_allclose(data.maps, expected, atol=1e-15)
    y_last = data.y if target == "last" else data.y[-1]
    measured = correlations(data.x, y_last)  # the last output's correlation with each input time
    assert np.abs(measured - expected).max() <= correlation_tol(expected, y_last)


def test_family_closed_forms():
    T, d, l = 5, 1.3, 0.7
    t = np.arange(1, T + 1)

    def S(**kw):
        return linear_dynamics_data(seq_len=T, input_dim=2, output_dim=2, n_modes=1, **kw).S[:, 0]

    np.testing.assert_allclose(S(family="constant", delta=d), np.full(T, d), rtol=1e-15)
    np.testing.assert_allclose(S(family="inverse_exponential", delta=d, lam=l),
                               [d * l**4, d * l**3, d * l**2, d * l, d], rtol=1e-14)
    np.testing.assert_allclose(S(family="exponential", delta=d, lam=l), d * l**t, rtol=1e-14)
    # kappa overwrites the last step only (eq. 10)
    np.testing.assert_allclose(S(family="exponential", delta=d, lam=l, kappa=0.2),
                               [d * l, d * l**2, d * l**3, d * l**4, 0.2], rtol=1e-14)
    # dirac: s_1 = s1, s_T = kappa, the rest 0 (eq. 11)
    np.testing.assert_array_equal(S(family="dirac", s1=2.5, kappa=1.0), [2.5, 0, 0, 0, 1.0])
    # per-mode values, and the per-lag view
    data = linear_dynamics_data(seq_len=T, input_dim=3, output_dim=3, delta=(1.0, 0.5), lam=(0.9, 1.1))
    assert data.S.shape == (T, 2)
    np.testing.assert_allclose(data.S_lag[:, 0], 1.0 * 0.9 ** np.arange(T), rtol=1e-14)
    np.testing.assert_allclose(data.S_lag[:, 1], 0.5 * 1.1 ** np.arange(T), rtol=1e-14)
    np.testing.assert_array_equal(data.S_lag, data.S[::-1])


def test_lags():
    kw = dict(seq_len=6, input_dim=2, output_dim=2)
    assert linear_dynamics(**kw).lags == tuple(range(6))
    assert linear_dynamics(family="dirac", **kw).lags == (0, 5)
    assert linear_dynamics(family="inverse_exponential", lam=0.0, **kw).lags == (0,)  # 0^0 = 1
    assert linear_dynamics(family="exponential", lam=0.5, kappa=0.0, **kw).lags == (1, 2, 3, 4, 5)


# --------------------------------------------------------------------------
# Rotation tasks
# --------------------------------------------------------------------------


def test_rotation_task_is_q_h_qt_with_complex_eigenvalues():
    T, N = 4, 4
    r_d, a_d = (0.7, 1.0), (math.pi / 6, 0.2)
    r_l, a_l = (0.9, 1.0), (math.pi / 6, math.pi / 12)
    data = linear_dynamics_data(family="inverse_exponential", seq_len=T, input_dim=N, output_dim=N,
                                rotation=True, delta=r_d, delta_angle=a_d, lam=r_l, lam_angle=a_l,
                                n_samples=40, data_seed=2)
    Q = data.U_y
    np.testing.assert_array_equal(data.V_x, Q)
    np.testing.assert_allclose(Q.T @ Q, np.eye(N), atol=1e-12)
    delta = np.array([r * np.exp(1j * a) for r, a in zip(r_d, a_d)])
    lam = np.array([r * np.exp(1j * a) for r, a in zip(r_l, a_l)])
    measured = correlations(data.x, data.y)
    for t in range(1, T + 1):
        d = delta * lam ** (T - t)  # delta lambda^(lag)
        np.testing.assert_allclose(data.S[t - 1], d, rtol=1e-14)
        H = np.zeros((N, N))
        for a, z in enumerate(d):
            H[2 * a:2 * a + 2, 2 * a:2 * a + 2] = [[z.real, -z.imag], [z.imag, z.real]]
        M = Q @ H @ Q.T
        assert np.abs(measured[t - 1] - M).max() <= correlation_tol(data.maps, data.y)
        eig = np.linalg.eigvals(measured[t - 1])
        expected = np.concatenate([d, d.conj()])
        # each expected eigenvalue has a computed one within float32 error, and vice versa
        dist = np.abs(eig[:, None] - expected[None, :])
        assert dist.min(axis=0).max() < 1e-5 and dist.min(axis=1).max() < 1e-5


def test_rotation_needs_square_io_and_angles_need_rotation():
    with pytest.raises(ValueError, match="output_dim"):
        linear_dynamics_data(rotation=True, input_dim=4, output_dim=3)
    with pytest.raises(ValueError, match="lam_angle"):
        linear_dynamics_data(lam_angle=0.3)
    with pytest.raises(ValueError, match="n_modes"):
        linear_dynamics_data(input_dim=3, output_dim=2, n_modes=3)
    with pytest.raises(ValueError, match="lam"):
        linear_dynamics_data(delta=(1.0, 0.5), lam=(0.9, 0.8, 0.7))


# --------------------------------------------------------------------------
# Every-step targets (lag-only convention)
# --------------------------------------------------------------------------


def test_every_step_targets_follow_the_lag_convention():
    kw = dict(family="exponential", delta=(1.0, 0.6), lam=(0.8, 1.2), seq_len=5, input_dim=3,
              output_dim=3, n_samples=30, data_seed=4)
    every = linear_dynamics_data(target="every", **kw)
    last = linear_dynamics_data(target="last", **kw)
    T = 5
    x = as64(every.x)
    n = every.S.shape[1]
    lag_map = [every.U_y[:, :n] @ np.diag(every.S_lag[k]) @ every.V_x[:, :n].T for k in range(T)]
    for t in range(T):
        y_t = sum(x[i] @ lag_map[t - i].T for i in range(t + 1))
        np.testing.assert_allclose(as64(every.y[t]), y_t, rtol=0, atol=4 * U32 * np.abs(y_t).max())
    np.testing.assert_array_equal(every.y[-1], last.y)
    # correlation of output step t with input step i: M_{t-i} for i <= t, 0 for i > t
    tol = correlation_tol(np.stack(lag_map), every.y[-1])
    for t in range(T):
        C = correlations(every.x, every.y[t])
        for i in range(T):
            expected = lag_map[t - i] if i <= t else np.zeros((3, 3))
            assert np.abs(C[i] - expected).max() <= tol


# --------------------------------------------------------------------------
# sample(), determinism, registry
# --------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["last", "every"])
def test_sample_full_set_subset_and_errors(target):
    kw = dict(seq_len=4, input_dim=2, output_dim=3, n_samples=12, data_seed=7, target=target)
    data = linear_dynamics_data(**kw)
    task = make_task("linear_dynamics", **kw)
    assert (task.seq_len, task.input_dim, task.output_dim, task.target) == (4, 2, 3, target)
    x, y = task.sample(KEY, 12)
    np.testing.assert_array_equal(x, data.x)
    np.testing.assert_array_equal(y, data.y)
    y_rows = data.y if target == "last" else data.y.transpose(1, 0, 2)  # (P, ...)
    picks = []
    # batch 11 of 12: drawing with replacement would repeat a row with probability 1 - 12!/12^11 > 0.99
    for seed, batch in ((0, 5), (1, 5), (2, 5), (3, 11)):
        xs, ys = task.sample(jax.random.key(seed, impl="rbg"), batch)
        assert xs.shape == (4, batch, 2) and xs.dtype == jnp.float32
        ys_rows = np.asarray(ys if target == "last" else jnp.swapaxes(ys, 0, 1))
        idx = []
        for b in range(batch):  # each drawn sample is one row of the set, with its own target
            match = [p for p in range(12) if np.array_equal(np.asarray(xs[:, b]), data.x[:, p])]
            assert len(match) == 1
            np.testing.assert_array_equal(ys_rows[b], y_rows[match[0]])
            idx.append(match[0])
        assert len(set(idx)) == batch  # without replacement
        picks.append(tuple(idx))
    assert len(set(picks[:3])) > 1  # the key chooses the subset
    again = task.sample(jax.random.key(0, impl="rbg"), 5)[0]
    np.testing.assert_array_equal(again, task.sample(jax.random.key(0, impl="rbg"), 5)[0])
    with pytest.raises(ValueError, match="n_samples"):
        task.sample(KEY, 13)


def test_data_seed_fixes_the_data():
    kw = dict(seq_len=3, input_dim=2, output_dim=2, n_samples=10)
    a, b = linear_dynamics_data(data_seed=1, **kw), linear_dynamics_data(data_seed=1, **kw)
    c = linear_dynamics_data(data_seed=2, **kw)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.U_y, b.U_y)
    assert not np.array_equal(a.x, c.x) and not np.array_equal(a.U_y, c.U_y)
    # the bases come from their own stream: a different P keeps them
    d = linear_dynamics_data(data_seed=1, **dict(kw, n_samples=30))
    np.testing.assert_array_equal(a.U_y, d.U_y)
    np.testing.assert_array_equal(a.V_x, d.V_x)


def test_registered_with_documented_defaults():
    assert TASKS["linear_dynamics"] is linear_dynamics
    task = make_task("linear_dynamics")
    x, y = task.sample(KEY, 80)  # default P = 2 T N_x = 80
    assert x.shape == (10, 80, 4) and y.shape == (80, 4)
    task = make_task("linear_dynamics", delta=[1.0, 0.5], lam=(0.9, 0.7))  # lists and tuples
    assert task.lags == tuple(range(10))


# --------------------------------------------------------------------------
# The task matches the linear RNN's conventions (zero-loss aligned solution)
# --------------------------------------------------------------------------
# y_hat is computed in float32 through T products with orthogonal factors:
# relative error per entry ~ T u ~ 1e-6, so the relative MSE of an exact
# solution is ~1e-12; 1e-9 leaves a factor 1000. A network off by 0.05 in b
# has a relative MSE of order 1e-3 (checked, so the test can fail).

REL_TOL = 1e-9


def relative_mse(params, x, y, target):
    h0 = jnp.zeros((x.shape[1], params["W_h"].shape[0]), jnp.float32)
    hs = LINEAR.run(params, h0, jnp.asarray(x))
    y_hat = jax.vmap(lambda h: jax.vmap(lambda v: LINEAR.readout(params, v))(h))(hs)
    if target == "last":
        y_hat = y_hat[-1]
    y = as64(y)
    return float(np.mean((as64(y_hat) - y) ** 2) / np.mean(y**2))


@pytest.mark.parametrize("normalise", ["sum", "mean"])
@pytest.mark.parametrize("target", ["last", "every"])
def test_aligned_model_init_is_a_zero_loss_solution(target, normalise):
    # model init: every mode a = b = c = init_scale, so b = lambda and ac = lambda^2 = delta
    lam, N, T = 0.8, 3, 6
    data = linear_dynamics_data(family="inverse_exponential", delta=lam**2, lam=lam, seq_len=T,
                                input_dim=N, output_dim=N, n_samples=40, data_seed=9, target=target,
                                normalise=normalise)
    cfg = ModelConfig(arch="linear", hidden=N, input_dim=N, output_dim=N, init="aligned")
    hp = {"init_scale": lam, "align_U": data.U_y, "align_V": data.V_x}
    params = LINEAR.init(jax.random.key(1), cfg, hp)
    assert relative_mse(params, data.x, data.y, target) < REL_TOL
    off = LINEAR.init(jax.random.key(1), cfg, dict(hp, init_scale=lam + 0.05))
    assert relative_mse(off, data.x, data.y, target) > 1e-4


def test_aligned_per_mode_solution_with_padding():
    # per-mode (delta, lambda), n_modes = 2 < N = 3, hidden 5: a = c = sqrt(delta), b = lambda
    delta, lam = np.array([1.2, 0.5]), np.array([0.9, 0.6])
    data = linear_dynamics_data(family="inverse_exponential", delta=tuple(delta), lam=tuple(lam),
                                seq_len=7, input_dim=3, output_dim=3, n_samples=30, data_seed=11)
    w = aligned_linear(jax.random.key(2), 5, data.U_y, data.V_x, np.sqrt(delta), lam, np.sqrt(delta))
    params = {**w, "b": jnp.zeros(5), "b_y": jnp.zeros(3)}
    assert relative_mse(params, data.x, data.y, "last") < REL_TOL
    # the exponential family's solution: b = 1/lambda, ac = delta lambda^T
    T = 7
    data = linear_dynamics_data(family="exponential", delta=tuple(delta), lam=tuple(lam), seq_len=T,
                                input_dim=3, output_dim=3, n_samples=30, data_seed=11)
    u = np.sqrt(delta * lam**T)
    w = aligned_linear(jax.random.key(2), 5, data.U_y, data.V_x, u, 1 / lam, u)
    params = {**w, "b": jnp.zeros(5), "b_y": jnp.zeros(3)}
    assert relative_mse(params, data.x, data.y, "last") < REL_TOL


# --------------------------------------------------------------------------
# Multisensory integration
# --------------------------------------------------------------------------


def test_sensory_target_formulas_on_a_hand_made_sequence():
    T = 4
    x = jnp.asarray(np.arange(1, T + 1, dtype=np.float32)[:, None, None] * np.ones((T, 2, 4), np.float32))
    t = np.arange(1, T + 1)
    expected = {
        "mean": t.mean(),  # 2.5
        "sum": t.sum(),  # 10
        "late": 0.1 * (t * t).sum(),  # 0.1 * 30 = 3
        "early": (t / t).sum(),  # sum_t t / t = 4
    }
    for kind, value in expected.items():
        y = integrate_target(x, target_weights(kind, T))
        np.testing.assert_allclose(np.asarray(y), np.full((2, 4), value), rtol=1e-6)
    np.testing.assert_allclose(target_weights("early", 3), [1, 0.5, 1 / 3], rtol=1e-7)
    np.testing.assert_allclose(target_weights("late", 3), [0.1, 0.2, 0.3], rtol=1e-7)


def test_sensory_stimulus_formula():
    # g = 0 (theta_g = 0), coh 50 split 0.3 / 0.7: cos(0) = 1, cos(pi) = -1
    s = stimulus_mean(jnp.array([0, 1]), jnp.array([50.0, 50.0]), jnp.array([0.3, 0.3]))
    np.testing.assert_allclose(np.asarray(s[0]), [0.575, 0.425, 0.675, 0.325], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(s[1]), [0.425, 0.575, 0.325, 0.675], rtol=1e-6)


def test_sensory_task_shapes_targets_and_statistics():
    assert TASKS["sensory_integration"] is not None
    task = make_task("sensory_integration", kind="sum", cohs=(50,))
    assert (task.seq_len, task.input_dim, task.output_dim, task.target) == (7, 4, 4, "last")
    assert task.lags == tuple(range(7))
    B, T = 20000, 7
    x, y = task.sample(KEY, B)
    assert x.shape == (T, B, 4) and y.shape == (B, 4) and x.dtype == jnp.float32
    x = as64(x)
    np.testing.assert_allclose(as64(y), x.sum(axis=0), atol=1e-5)
    # the two units of a modality sum to 1 + noise: trial mean of their sum has std sqrt(2 * 0.01 / T)
    pair = (x[..., 0] + x[..., 1]).mean(axis=0) - 1.0
    assert abs(pair.mean()) < 5 * math.sqrt(0.02 / T) / math.sqrt(B)
    # noise std sigma / sqrt(dt) = 0.1: within-trial variance, B (T - 1) dof per channel,
    # relative s.e. of the std ~ 1 / sqrt(2 B (T - 1)) ~ 0.002; 1% is 5 s.e.
    within = x - x.mean(axis=0, keepdims=True)
    noise_std = np.sqrt((within**2).sum(axis=(0, 1)) / (B * (T - 1)))
    np.testing.assert_allclose(noise_std, 0.1, rtol=0.01)
    # between trials: mean 0.5; the stimulus part has variance (coh / 200)^2 E[q^2] = 0.0625 / 3
    trial_mean = x.mean(axis=0)
    var_mean = 0.0625 / 3 + 0.01 / T
    assert np.all(np.abs(trial_mean.mean(axis=0) - 0.5) < 5 * math.sqrt(var_mean / B))
    # relative s.e. of this variance ~ sd(q^2) / E[q^2] / sqrt(B) ~ 0.9 / 141 ~ 0.0064; 4% is > 5 s.e.
    np.testing.assert_allclose(trial_mean.var(axis=0), var_mean, rtol=0.04)


def test_sensory_kinds_and_errors():
    for kind in ("mean", "sum", "late", "early"):  # every kind builds (one compiled sampler is enough below)
        assert make_task("sensory_integration", kind=kind, seq_len=6).seq_len == 6
    x, y = make_task("sensory_integration", kind="early", seq_len=6).sample(KEY, 3)
    np.testing.assert_allclose(as64(y), np.einsum("t,tbd->bd", 1 / np.arange(1, 7), as64(x)), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="kind"):
        make_task("sensory_integration", kind="median")
    with pytest.raises(ValueError, match="target"):
        make_task("sensory_integration", target="every")


def test_sensory_matches_neurogym_statistics():
    pytest.importorskip("neurogym")
    try:
        from neurogym.envs.native.multisensory import MultiSensoryIntegration
    except ImportError:
        from neurogym.envs.multisensory import MultiSensoryIntegration
    env = MultiSensoryIntegration(dt=100)
    env.seed(0)
    n = 3000
    obs = []
    for _ in range(n):
        env.new_trial(coh=50)
        obs.append(np.asarray(env.view_ob("stimulus"), dtype=np.float64)[:, 1:])  # drop fixation
    theirs = np.stack(obs, axis=1)  # (T, n, 4)
    task = make_task("sensory_integration", cohs=(50,))
    assert theirs.shape[0] == task.seq_len
    ours = as64(task.sample(KEY, n)[0])
    # per-channel mean over trials (5 combined standard errors of the per-trial means)
    ma, mb = ours.mean(axis=0), theirs.mean(axis=0)
    se = np.sqrt(ma.var(axis=0) / n + mb.var(axis=0) / n)
    assert np.all(np.abs(ma.mean(axis=0) - mb.mean(axis=0)) < 5 * se)
    # pooled variance ~0.031, relative s.e. ~0.016 per sample set: 10% is ~4 combined s.e.
    np.testing.assert_allclose(ours.reshape(-1, 4).var(axis=0), theirs.reshape(-1, 4).var(axis=0), rtol=0.1)
    # within-trial (noise) std, 6 n dof per channel, relative s.e. ~0.005 each: 3% is ~4 combined s.e.
    wa = (ours - ours.mean(axis=0)).reshape(-1, 4).std(axis=0)
    wb = (theirs - theirs.mean(axis=0)).reshape(-1, 4).std(axis=0)
    np.testing.assert_allclose(wa, wb, rtol=0.03)
