"""Pieces of the proca-modes and proca-stability reproductions, on cases with known answers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnscope.experiments.proca import modes as M
from rnnscope.experiments.proca import stability as S
from rnnscope.experiments.proca.common import (
    aligned_float64,
    aligned_population,
    alignment_over_training,
    bias_free,
    full_batch_gd,
    model_config,
    modes_over_training,
    mse,
)
from rnnscope.models.init import aligned_in_basis, alignment_error
from rnnscope.tasks.linear_dynamics import last_step_targets, linear_dynamics_data, whitened_inputs
from rnnscope.theory.linear_modes import extrapolation_error, max_stable_learning_rate, mode_rhs, sigma_lags


# ---------------------------------------------------------------------------
# proca-modes
# ---------------------------------------------------------------------------


def test_convergence_time_of_an_exponential_approach():
    # u = 2 (1 - e^-t) enters the 1% band at t = ln 100; b is already there
    t = np.linspace(0.0, 10.0, 2001)
    u = 2.0 * (1.0 - np.exp(-t))
    b = np.full_like(t, 0.5)
    assert M.convergence_time(t, u, b, 2.0, 0.5) == pytest.approx(np.log(100.0), abs=1e-4)
    # a late excursion of b out of the band moves the time past it
    b2 = b.copy()
    b2[(t > 6.0) & (t < 7.0)] = 0.6
    assert 6.99 < M.convergence_time(t, u, b2, 2.0, 0.5) <= 7.0
    assert np.isnan(M.convergence_time(t, u, b, 3.0, 0.5))
    assert M.convergence_time(t, np.full_like(t, 2.0), b, 2.0, 0.5) == 0.0


def test_equal_energy_delta_matches_target_energy():
    T = 7
    d = M.equal_energy_delta(1.2, 0.6, 0.95, T)
    k = np.arange(T)
    assert np.sum((d * 0.95**k) ** 2) == pytest.approx(np.sum((1.2 * 0.6**k) ** 2), rel=1e-12)
    assert d < 1.2


def test_conservation_prediction_is_the_exact_euler_change_of_a2_minus_c2():
    rng = np.random.default_rng(0)
    sigma = sigma_lags("inverse_exponential", np.array([1.0, 0.5]), np.array([0.7, 1.1]), 6)
    a, b, c = rng.uniform(0.1, 0.9, (3, 2))
    eta = 0.05
    da, db, dc = mode_rhs(a, b, c, sigma)
    a1, c1 = a + eta * da, c + eta * dc
    predicted = M.conservation_prediction(a[None], b[None], c[None], sigma, eta)[0]
    np.testing.assert_allclose((a1**2 - c1**2) - (a**2 - c**2), predicted, rtol=1e-10)
    assert np.all(predicted != 0)


def _aligned(n=3, seed=0):
    rng = np.random.default_rng(seed)
    R = np.linalg.qr(rng.standard_normal((n, n)))[0]
    U = np.linalg.qr(rng.standard_normal((n, n)))[0]
    V = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return R, U, V


def test_effective_modes_need_no_alignment():
    R, U, V = _aligned()
    a, b, c = np.array([0.5, 1.0, 2.0]), np.array([0.3, 0.7, 1.1]), np.array([1.5, 0.4, 0.8])
    w = aligned_float64(R, U, V, a, b, c)
    u, bb = M.effective_modes(w["W_x"], w["W_h"], w["W_y"], U, V)
    np.testing.assert_allclose(u, a * c, rtol=1e-12)
    np.testing.assert_allclose(bb, b, rtol=1e-12)
    # any change of hidden basis leaves the function, hence (u, b), unchanged
    S_ = np.random.default_rng(1).standard_normal((3, 3)) + 3 * np.eye(3)
    Si = np.linalg.inv(S_)
    u2, b2 = M.effective_modes(S_ @ w["W_x"], S_ @ w["W_h"] @ Si, w["W_y"] @ Si, U, V)
    np.testing.assert_allclose(u2, a * c, rtol=1e-9)
    np.testing.assert_allclose(b2, b, rtol=1e-9)


def test_alignment_error_reads_a_known_perturbation_in_float64():
    R, U, V = _aligned()
    w = aligned_float64(R, U, V, 1.0, 0.5, 2.0)
    bumped = dict(w)
    bumped["W_h"] = w["W_h"] + 1e-3 * np.outer(R[:, 0], R[:, 2])  # R^T W_h R gets 1e-3 at (0, 2)
    with jax.enable_x64(True):
        exact = float(alignment_error(w, U, V, R))
        off = float(alignment_error(bumped, U, V, R))
    assert exact < 1e-14  # float32 arithmetic would leave ~1e-7
    assert off == pytest.approx(1e-3 / 0.5, rel=1e-9)  # relative to that block's b = 0.5


def test_library_forward_pass_keeps_float64():
    # the loss of common.mse (the registered linear model) against a float64 NumPy forward pass
    data = linear_dynamics_data("inverse_exponential", seq_len=4, input_dim=2, output_dim=2, n_samples=12)
    R, _, _ = _aligned(2)
    w = aligned_float64(R, data.U_y, data.V_x, 0.3, 0.6, 0.9)
    x = np.asarray(data.x, np.float64)
    h = np.zeros((x.shape[1], 2))
    for x_t in x:
        h = h @ w["W_h"].T + x_t @ w["W_x"].T
    expected = np.mean((h @ w["W_y"].T - data.y) ** 2)
    with jax.enable_x64(True):
        got = mse(model_config(2, 2, 2), bias_free(w, 2), jnp.asarray(x), jnp.asarray(data.y, jnp.float64))
        assert got.dtype == jnp.float64
    np.testing.assert_allclose(float(got), expected, rtol=1e-13)


def test_one_float64_gd_step_is_one_euler_step_of_the_mode_flow():
    # with sum_p x x^T = I one step of rate lr moves every mode by eta = 2 lr / (P N_y) along mode_rhs,
    # and frozen matrices do not move
    T, n = 4, 2
    pairs = ((1.0, 0.6), (0.5, 0.9))
    data = M.inverse_exponential_data(pairs, T)
    P = data.x.shape[1]
    x = whitened_inputs(T, n, P, 0)
    y = last_step_targets(x, data.maps)
    a0, b0, c0 = np.array([0.4, 0.2]), np.array([0.3, 0.5]), np.array([0.6, 0.1])
    lr = 0.7
    cfg = model_config(n, n, n)
    with jax.enable_x64(True):
        params, R = aligned_population([0], n, data.U_y, data.V_x, a0, b0, c0, n)
        run = full_batch_gd(cfg, params, x, y, lr, 1, 1)
        frozen = full_batch_gd(cfg, params, x, y, lr, 2, 1, trained=("W_h",))
        a, b, c = (m[0] for m in modes_over_training(run, data.U_y, data.V_x, R))
        err = alignment_over_training(run, data.U_y, data.V_x, R)[0]
    assert run.params["W_h"].dtype == np.float64
    eta = 2 * lr / (P * n)
    da, db, dc = mode_rhs(a0, b0, c0, data.S_lag.T)
    np.testing.assert_allclose(a[1], a0 + eta * da, rtol=1e-10)
    np.testing.assert_allclose(b[1], b0 + eta * db, rtol=1e-10)
    np.testing.assert_allclose(c[1], c0 + eta * dc, rtol=1e-10)
    assert err.max() < 1e-12
    W = frozen.params
    assert np.array_equal(W["W_x"][0, 2], W["W_x"][0, 0]) and not np.allclose(W["W_h"][0, 2], W["W_h"][0, 0])


def test_aligned_weights_keep_float64_and_are_diagonal_in_their_basis():
    R, U, V = _aligned()
    w = aligned_float64(R, U, V, np.array([0.5, 1.0, 2.0]), 0.7, 1.5)
    assert w["W_x"].dtype == np.float64
    np.testing.assert_allclose(R.T @ w["W_x"] @ V, np.diag([0.5, 1.0, 2.0]), atol=1e-14)
    np.testing.assert_allclose(R.T @ w["W_h"] @ R, 0.7 * np.eye(3), atol=1e-14)
    # a random basis drawn from a key is re-orthonormalised in float64 for float64 bases
    with jax.enable_x64(True):
        params, R64 = aligned_population([0], 3, U, V, 0.5, 0.7, 1.5, 3)
    assert R64.dtype == np.float64
    np.testing.assert_allclose(R64[0].T @ R64[0], np.eye(3), atol=1e-14)


def test_fig2_pairs_separate_size_from_recency():
    pairs = M.fig2_modes()
    assert pairs[0][1] == pairs[1][1] and pairs[0][0] > pairs[1][0]  # same profile, larger
    k = np.arange(M.FIG2_T)
    energy = [np.sum((d * l**k) ** 2) for d, l in pairs]
    assert energy[0] == pytest.approx(energy[2]) and pairs[2][1] > pairs[0][1]  # same energy, earlier


# ---------------------------------------------------------------------------
# proca-stability
# ---------------------------------------------------------------------------


def test_residual_growth_is_the_largest_ratio_of_first_order_misses():
    assert S.residual_growth(1.0, 0.8, 10, 10) == pytest.approx(1.0)
    assert S.residual_growth(1.0, 0.8, 10, 6) <= 1.0 + 1e-12
    u, b, T, Tp = 2.0, 0.95, 10, 16
    g = S.residual_growth(u, b, T, Tp)
    rng = np.random.default_rng(0)
    ratios = []
    k = np.arange(Tp)
    for du, db in rng.standard_normal((4000, 2)):
        miss = (du * b**k + u * k * b ** (k - 1.0) * db) ** 2
        ratios.append(miss.sum() / miss[:T].sum())
    assert max(ratios) <= g * (1 + 1e-9) and max(ratios) > 0.9 * g
    assert S.residual_growth(1.0, 1.2, 10, 14) > S.residual_growth(1.0, 0.8, 10, 14)


def test_extrapolation_gap_uses_the_root_scale():
    gap, allowed = S.extrapolation_gap(np.array([4.0, 1.0]), np.array([4.0, 0.0]), np.array([1.0, 4.0]), 0.0)
    np.testing.assert_allclose(gap, [0.0, 1.0])
    np.testing.assert_allclose(allowed, 1e-5)
    _, allowed = S.extrapolation_gap(np.array([1.0]), np.array([1.0]), np.array([4.0]), 1e-4)
    np.testing.assert_allclose(allowed, 2 * np.sqrt(4.0 * 1e-4) + 1e-5)


def test_solution_bound_falls_with_delta_and_is_the_theory_bound():
    deltas = np.array([0.25, 0.5, 1.0, 2.0])
    bounds = S.solution_bound("constant", deltas, np.ones(4))
    assert np.all(np.diff(bounds) < 0)
    # u = 1 at b = 1: a = c = 1
    assert bounds[2] == pytest.approx(max_stable_learning_rate(1.0, 1.0, 1.0, sigma_lags("constant", 1.0, 1.0, S.T)))
    # equal u*: the b > 1 mirror's bound is far smaller
    inv = S.solution_bound("inverse_exponential", np.ones(2), np.array([0.9, 1 / 0.9]))
    assert inv[1] < 0.1 * inv[0]


def test_engine_mirror_pairs_share_the_newest_singular_value():
    for fam, ((d0, l0), (d1, l1)) in S.ENGINE_PAIRS.items():
        s0, s1 = sigma_lags(fam, d0, l0, S.T), sigma_lags(fam, d1, l1, S.T)
        assert s0[0] == pytest.approx(s1[0])  # same u* = s_T
        assert s1[1] / s1[0] == pytest.approx(s0[0] / s0[1])  # b* -> 1 / b*
        assert s0[1] < s0[0] and s1[1] > s1[0]


def test_measured_extrapolation_of_an_exact_solution_is_the_closed_form():
    # the exponential zero-loss mode (b = 1/lam, u = delta lam^T), built exactly, tested at other lengths
    delta, lam = 1.0, 1.1
    kwargs = dict(family="exponential", seq_len=S.T, input_dim=1, output_dim=1, delta=delta, lam=lam, n_samples=20)
    data = linear_dynamics_data(**kwargs)
    u, b = delta * lam**S.T, 1.0 / lam
    w = aligned_in_basis(jnp.eye(1), data.U_y, data.V_x, np.sqrt(u), b, np.sqrt(u))
    params = jax.tree_util.tree_map(lambda v: v[None], bias_free(w, 1))
    lengths = (7, 10, 13)
    measured = S.measure_extrapolation(params, model_config(1, 1, 1), kwargs, lengths)[0]
    closed = [extrapolation_error("exponential", delta, lam, S.T, Tp) for Tp in lengths]
    np.testing.assert_allclose(measured[[0, 2]], np.array(closed)[[0, 2]], rtol=1e-4)
    assert measured[1] < 1e-9


def _fake_pair(diverged_b_gt_1, converged_b_lt_1=True):
    loss0 = np.array([[1.0, 1e-3], [1.0, 1e-3]])
    final = np.array([1e-6, 1e-6]) if converged_b_lt_1 else np.array([1e-6, 1e-2])
    return S.EnginePair("inverse_exponential", ((1.0, 0.9), (1.0, 1.11)), 0.01, np.array([0.02, 0.001]),
                        np.array([0, 10]), (loss0, loss0), (np.zeros(2, bool), np.asarray(diverged_b_gt_1)),
                        (np.full(2, -1), np.where(diverged_b_gt_1, 5, -1)), (final, np.full(2, np.nan)),
                        (np.ones(2, bool), np.ones(2, bool)), np.zeros((2, 1)), np.zeros(1), np.ones(1), np.zeros(2))


def test_engine_claims_pass_and_fail():
    good = S._engine_claims({"inverse_exponential": _fake_pair(np.array([True, True]))})
    assert all(c.passed for c in good)
    partial = S._engine_claims({"inverse_exponential": _fake_pair(np.array([True, False]))})
    assert not all(c.passed for c in partial)
    slow = S._engine_claims({"inverse_exponential": _fake_pair(np.array([True, True]), converged_b_lt_1=False)})
    assert not all(c.passed for c in slow)


def test_constant_bound_check_converges_below_and_not_above():
    chk = S.check_bound(0.5, (0.9, 1.1))
    assert chk.converged.tolist() == [True, False]
