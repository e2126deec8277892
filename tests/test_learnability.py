"""Tests of the learnability window (Livi 2025, digest papers/livi.md, section 7):
the matched statistic psi(l) of rnnscope.probes.learnability against finite
differences and an explicit loop, and the analysis of
rnnscope.analysis.learnability (N_required, H_N, the master regression,
the growth of the window, per-lag alpha/sigma/m) against closed forms and
synthetic data with known answers. Shapes are tiny."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnscope.analysis import learnability as la
from rnnscope.analysis.alpha import sample_symmetric_stable
from rnnscope.models import get_model
from rnnscope.models.base import ModelConfig, merge, trainable
from rnnscope.optim import OptimizerConfig, init_member, make_optimizer
from rnnscope.probes import learnability as lb
from rnnscope.probes import transport as tr

GRID = np.asarray(la.N_GRID)


def small_member(arch, T=12, B=3, H=4, D=2, seed=0):
    cfg = ModelConfig(arch=arch, hidden=H, input_dim=D, output_dim=1)
    model = get_model(arch)
    params = model.init(jax.random.PRNGKey(seed), cfg, {"gate": 0.3})
    xs = jax.random.normal(jax.random.PRNGKey(seed + 1), (T, B, D))
    return model, cfg, params, xs


# ---------------------------------------------------------------------------
# probes: direction, tangent, error signal
# ---------------------------------------------------------------------------


def test_random_direction_is_a_unit_vector_over_trainable_leaves_only():
    _, _, params, _ = small_member("constgate")
    assert "frozen" in params
    w = lb.random_direction(params, 3)
    assert set(w) == set(trainable(params))
    norm = math.sqrt(sum(float(jnp.sum(v**2)) for v in jax.tree.leaves(w)))
    assert abs(norm - 1.0) < 1e-6  # float32 norm of a normalised vector
    again = lb.random_direction(params, 3)
    other = lb.random_direction(params, 4)
    assert all(np.array_equal(w[k], again[k]) for k in w)
    assert not all(np.array_equal(w[k], other[k]) for k in w)


@pytest.mark.parametrize("arch", ["diaggate", "lstm"])
def test_tangent_equals_central_difference(arch):
    """v_t = (dh_t/dtheta)[w] against (h(theta + eps w) - h(theta - eps w)) / 2 eps.

    float32 with eps = 1e-2: truncation ~ eps^2/6 |h'''| ~ 2e-5, rounding
    ~ (a few ulp of |h| <= 1) / (2 eps) ~ 1e-5; atol 2e-4 leaves a factor ~5
    while the tangents themselves are O(0.1-0.3), so a wrong leaf, direction
    or frozen-leaf handling would be off by O(0.1).
    """
    model, cfg, params, xs = small_member(arch)
    h0 = tr.batched_initial_state(model, params, cfg, xs.shape[1])
    w = lb.random_direction(params, 5)
    hs, vs = lb.tangent_states(model, params, h0, xs, w)
    eps = 1e-2

    @jax.jit
    def moved(sign):
        train = jax.tree.map(lambda a, d: a + sign * eps * d, trainable(params), w)
        return model.run(merge(train, params), h0, xs)

    fd = (moved(1.0) - moved(-1.0)) / (2 * eps)
    np.testing.assert_allclose(hs, model.run(params, h0, xs), atol=1e-6)
    assert float(jnp.max(jnp.abs(vs))) > 0.05
    np.testing.assert_allclose(vs, fd, atol=2e-4)


def test_error_signal_is_the_state_gradient_of_half_squared_error():
    model, cfg, params, xs = small_member("diaggate")
    h0 = tr.batched_initial_state(model, params, cfg, xs.shape[1])
    hs = model.run(params, h0, xs)
    ys = jax.random.normal(jax.random.PRNGKey(9), hs.shape[:2] + (1,))

    def half_sq(h):
        yhat = jax.vmap(jax.vmap(lambda v: model.readout(params, v)))(h)
        return 0.5 * jnp.sum((yhat - ys) ** 2)

    expected = jax.grad(half_sq)(hs)
    np.testing.assert_allclose(lb.error_signal(params, hs, ys), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(lb.error_signal(params, hs, ys[..., 0]), expected, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------
# probes: matched statistic
# ---------------------------------------------------------------------------

T_SMALL, B_SMALL, H_SMALL = 9, 3, 4
LAGS = np.array([1, 4, 7])


def synthetic_inputs(per_step_rates=True):
    """Factors, rates, delta and tangent for the explicit-loop check.

    delta > 0 and the tangent changes sign at t = 2 (positive before), so the
    short lag pairs delta_t mostly with negative v_{t-l} and the long lag
    (l = 7, v_0 and v_1 only) with positive ones: both signs of the raw mean
    occur and the orientation is exercised.
    """
    rng = np.random.default_rng(4)
    shape = (T_SMALL, B_SMALL, H_SMALL)
    carry = rng.uniform(0.5, 1.0, shape)
    correction = rng.normal(0.0, 0.05, shape)
    factors = tr.StepFactors(carry, correction, None, None, rng.uniform(0.1, 1.0, shape))
    rates = rng.uniform(0.5, 2.0, shape if per_step_rates else (H_SMALL,))
    delta = rng.uniform(0.2, 1.0, shape)
    tangent = np.abs(rng.normal(size=shape))
    tangent[2:] *= -1.0
    return factors, rates, delta, tangent


def explicit_psi(factors, rates, delta, tangent, lag, order):
    """psi_{b,t}(l) = sum_q Lambda^q Gamma^q delta^q_t v^q_{t-l} by loops, ordered (b, t)."""
    a, c = factors.carry, factors.correction
    out = []
    for b in range(B_SMALL):
        for t in range(lag, T_SMALL):
            start = t - lag + 1  # window {t-l+1, ..., t}
            total = 0.0
            for q in range(H_SMALL):
                gamma0 = np.prod([a[p, b, q] for p in range(start, t + 1)])
                first = gamma0 * sum(c[p, b, q] / a[p, b, q] for p in range(start, t + 1))
                gamma = {"full": gamma0 + first, "zeroth": gamma0, lb.UNTRANSPORTED: 1.0}[order]
                rate = rates[start, b, q] if rates.ndim == 3 else rates[q]
                total += rate * gamma * delta[t, b, q] * tangent[t - lag, b, q]
            out.append(total)
    return np.array(out)


@pytest.mark.parametrize("order, per_step", [("full", True), ("zeroth", False), (lb.UNTRANSPORTED, True)])
def test_matched_statistic_equals_explicit_loop(order, per_step):
    factors, rates, delta, tangent = synthetic_inputs(per_step)
    got = lb.matched_statistic(factors, rates, delta, tangent, LAGS, order=order)
    raw = [explicit_psi(factors, rates, delta, tangent, lag, order) for lag in LAGS]
    signs = np.array([1.0 if r.mean() >= 0 else -1.0 for r in raw])
    assert set(signs) == {-1.0, 1.0}
    np.testing.assert_array_equal(got.sign, signs)
    for lag, s, r, g in zip(LAGS, got.samples, raw, signs):
        assert s.shape == (B_SMALL * (T_SMALL - lag),)
        # float64 throughout; only summation order differs
        np.testing.assert_allclose(s, g * r, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got.mean, [abs(r.mean()) for r in raw], rtol=1e-12)
    assert np.all(got.mean >= 0)


def test_matched_statistic_does_not_depend_on_sequence_slicing(monkeypatch):
    factors, rates, delta, tangent = synthetic_inputs()
    whole = lb.matched_statistic(factors, rates, delta, tangent, LAGS)
    monkeypatch.setattr(lb, "ELEMENT_BUDGET", 1)  # one sequence per slice
    sliced = lb.matched_statistic(factors, rates, delta, tangent, LAGS)
    for a, b in zip(whole.samples, sliced.samples):
        np.testing.assert_array_equal(a, b)
    padded = whole.padded()
    assert padded.shape == (3, B_SMALL * (T_SMALL - 1))
    assert np.isnan(padded[2, B_SMALL * (T_SMALL - 7):]).all()
    np.testing.assert_array_equal(padded[1, : B_SMALL * (T_SMALL - 4)], whole.samples[1])


def test_member_matched_statistic_pipeline_and_chunking():
    """One member end to end: equals the pieces assembled by hand, whatever the chunking."""
    model, cfg, params, xs = small_member("diaggate", T=10, B=4)
    ys = jax.random.normal(jax.random.PRNGKey(7), xs.shape[:2] + (1,))
    opt_cfg = OptimizerConfig(name="adam")
    opt = make_optimizer(opt_cfg)
    train = trainable(params)
    state = init_member(opt, train, {"lr": 1e-2})
    grads = jax.tree.map(lambda v: jnp.ones_like(v) * 0.3, train)
    _, state = opt.update(grads, state, train)
    lags = np.array([2, 5])

    h0 = tr.batched_initial_state(model, params, cfg, xs.shape[1])
    factors = tr.step_factors(model, params, h0, xs)
    hs, vs = lb.tangent_states(model, params, h0, xs, lb.random_direction(params, 11))
    rates = tr.rayleigh_rates(tr.weight_rates(params, state, opt_cfg), factors.h_prev_sq)
    by_hand = lb.matched_statistic(factors, rates, lb.error_signal(params, hs, ys), vs, lags)

    for chunk in (4, 2):
        got = lb.member_matched_statistic(model, cfg, params, state, opt_cfg, xs, ys, lags, seed=11,
                                          sequences_per_chunk=chunk)
        np.testing.assert_array_equal(got.sign, by_hand.sign)
        for a, b in zip(got.samples, by_hand.samples):
            # float32 model arithmetic on batches of another size may round differently
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-12)
        assert np.all(got.mean >= 0) and [s.size for s in got.samples] == [4 * 8, 4 * 5]
    both = lb.member_matched_statistics(model, cfg, params, state, opt_cfg, xs, ys, lags,
                                        ("full", lb.UNTRANSPORTED), seed=11)
    untransported = lb.matched_statistic(factors, rates, lb.error_signal(params, hs, ys), vs, lags,
                                         order=lb.UNTRANSPORTED)
    for key, expected in (("full", by_hand), (lb.UNTRANSPORTED, untransported)):
        for a, b in zip(both[key].samples, expected.samples):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-12)
    assert not np.allclose(both["full"].samples[1], both[lb.UNTRANSPORTED].samples[1])


def test_a_transport_common_to_every_neuron_drops_out_of_n_required():
    """ConstGate's Gamma0 = (1 - s)^l scales every sample of a lag alike: SNR and N_required are unchanged."""
    T, B, H, s = 40, 40, 4, 0.05
    rng = np.random.default_rng(3)
    delta, tangent = rng.normal(0.1, 1.0, (2, T, B, H))
    squared = rng.uniform(0.5, 1.5, (T, B, H))
    constant = tr.StepFactors(np.full((T, B, H), 1 - s), np.zeros((T, B, H)), None, None, squared)
    rates = rng.uniform(0.5, 2.0, (T, B, H))
    with_transport = lb.matched_statistic(constant, rates, delta, tangent, LAGS, order="zeroth")
    without = lb.matched_statistic(constant, rates, delta, tangent, LAGS, order=lb.UNTRANSPORTED)
    for lag, a, b in zip(LAGS, with_transport.samples, without.samples):
        np.testing.assert_allclose(a, (1 - s) ** lag * b, rtol=1e-12)
    stats_with, stats_without = la.lag_statistics(with_transport.samples), la.lag_statistics(without.samples)
    snr = stats_with.m_bar / stats_with.sigma_hat
    assert np.all(np.isfinite(snr)) and np.all(stats_with.m_bar < stats_without.m_bar)
    np.testing.assert_allclose(snr, stats_without.m_bar / stats_without.sigma_hat, rtol=1e-6)
    np.testing.assert_array_equal(la.n_required(stats_with.m_bar, stats_with.sigma_hat, stats_with.alpha_hat),
                                  la.n_required(stats_without.m_bar, stats_without.sigma_hat,
                                                stats_without.alpha_hat))


# ---------------------------------------------------------------------------
# analysis: SNR, N_required, window
# ---------------------------------------------------------------------------


def test_kappa_and_snr_values():
    np.testing.assert_allclose(la.kappa_alpha([1.5, 2.0, 1.25]), [3.0, 2.0, 5.0])
    assert np.isinf(la.kappa_alpha(1.0))
    # m N^{1 - 1/alpha} / sigma: 0.5 * 100^{1/2} / 2, and 1 * 8^{1/3} / 1
    np.testing.assert_allclose(la.snr([0.5, 1.0], [2.0, 1.0], [2.0, 1.5], [100, 8]), [2.5, 2.0])
    assert np.isnan(la.snr(1.0, 0.0, 2.0, 10))


def closed_form_n_required(m, sigma, alpha, epsilon=la.EPSILON):
    """Smallest grid N above (epsilon sigma / m)^{kappa_alpha}, -1 if none (alpha > 1)."""
    threshold = (epsilon * sigma / m) ** (alpha / (alpha - 1.0))
    above = GRID[GRID > threshold]
    return int(above[0]) if above.size else -1


def test_n_required_equals_closed_form():
    rng = np.random.default_rng(0)
    m = 10 ** rng.uniform(-4, -1, 300)
    sigma = 10 ** rng.uniform(-1, 0.5, 300)
    alpha = rng.uniform(1.05, 2.0, 300)
    expected = [closed_form_n_required(*v) for v in zip(m, sigma, alpha)]
    got = la.n_required(m, sigma, alpha)
    np.testing.assert_array_equal(got, expected)
    assert {-1, 25} <= set(expected) and len(set(expected)) > 10  # the draws span the grid
    # broadcasting over (members, lags), a stricter epsilon, and the edges
    table = la.n_required(m.reshape(3, 100), sigma.reshape(3, 100), alpha.reshape(3, 100), epsilon=0.3)
    assert table.shape == (3, 100)
    np.testing.assert_array_equal(table.ravel(), [closed_form_n_required(*v, epsilon=0.3)
                                                  for v in zip(m, sigma, alpha)])
    # alpha = 2, kappa = 2: threshold (0.1 * 1 / 0.01)^2 = 100 -> first N above is 150
    assert la.n_required(0.01, 1.0, 2.0) == 150
    assert la.n_required(np.nan, 1.0, 2.0) == -1 and la.n_required(1.0, 0.0, 2.0) == -1
    # alpha = 1: SNR = m / sigma for every N
    np.testing.assert_array_equal(la.n_required([0.2, 0.05], 1.0, 1.0), [25, -1])


def test_window_on_a_known_table():
    lags = np.array([10, 20, 30, 40, 50])
    n_req = np.array([25, 100, -1, 400, 12800])
    H = la.window(lags, n_req)
    expected = {25: 10, 50: 10, 100: 20, 300: 20, 400: 40, 9600: 40, 12800: 50}
    for N, h in expected.items():
        assert H[list(GRID).index(N)] == h
    # a lag beyond a still-undetectable shorter one counts (max, not a contiguous run)
    assert la.window([5, 6], [800, 100], grid=[100, 800]).tolist() == [6, 6]
    members = la.window(lags, np.stack([n_req, np.full(5, -1)]))
    assert members.shape == (2, GRID.size) and np.all(members[1] == 0)
    np.testing.assert_array_equal(members[0], H)


# ---------------------------------------------------------------------------
# analysis: master regression
# ---------------------------------------------------------------------------


def grid_rounded_n_required(f, alpha, C):
    """N_req = the smallest grid N >= C f^{-kappa}, -1 above the grid."""
    target = C * f ** (-la.kappa_alpha(alpha))
    idx = np.searchsorted(GRID, target, side="left")
    return np.where(idx < GRID.size, GRID[np.minimum(idx, GRID.size - 1)], -1)


def test_master_regression_recovers_unit_slope_under_grid_rounding():
    rng = np.random.default_rng(1)
    lags = np.arange(4, 200, 4)
    f = np.exp(-lags / 150.0)
    alpha = rng.uniform(1.3, 1.95, lags.size)
    n_req = grid_rounded_n_required(f, alpha, C=20.0)
    alpha[3] = 1.005  # excluded: alpha <= 1.01
    result = la.master_regression(n_req, f, alpha, lags)
    keep = (n_req > 0) & (alpha > 1.01)
    x = -la.kappa_alpha(alpha[keep]) * np.log(f[keep])
    # log N_req = log C + x + r with 0 <= r < log 2 (no grid step exceeds a factor
    # 2), so sd(r) <= log(2)/2 and |slope - 1| = |cov(x, r)| / var(x) <= sd(r)/sd(x)
    bound = math.log(2) / 2 / x.std()
    assert result.resolved and result.n_points == int(keep.sum()) >= 10
    assert abs(result.slope - 1.0) < bound < 0.5
    assert result.r2 > 0.9 and result.ci[0] < result.slope < result.ci[1]
    # without kappa (x = -log f) the slope would be ~kappa ~ 2-4: the test separates them
    assert np.all(la.kappa_alpha(alpha[keep]) > 2.0)


def test_master_regression_rules():
    lags = np.arange(1, 30)
    f = np.exp(-lags / 10.0)
    alpha = np.full(lags.size, 1.5)
    n_req = grid_rounded_n_required(f, alpha, C=25.0)
    few = la.master_regression(n_req, f, alpha, lags, window_lags=(1, 9))
    assert not few.resolved and few.n_points == 9 and "fewer than the 10" in few.reason
    assert math.isnan(few.slope)
    flat = la.master_regression(np.full(lags.size, 400), f, alpha, lags)
    assert not flat.resolved and flat.n_distinct_n == 1 and "distinct" in flat.reason
    windowed = la.master_regression(n_req, f, alpha, lags, window_lags=(1, 20))
    assert windowed.resolved and windowed.n_points == int(((n_req > 0) & (lags <= 20)).sum())


# ---------------------------------------------------------------------------
# analysis: growth of the window
# ---------------------------------------------------------------------------


def test_window_growth_tells_logarithmic_from_power():
    N = GRID.astype(float)
    log_window = 20.0 * np.log(N) - 40.0  # exponential f, tau / kappa = 20
    g = la.window_growth(N, log_window)
    assert g.regime == la.LOGARITHMIC and g.resolved
    assert abs(g.log_slope - 20.0) < 1e-9 and g.log_r2 > 1 - 1e-12 and g.power_r2_linear < 0.99
    power_window = 3.0 * N**0.4  # power-law f, 1 / (beta kappa) = 0.4
    g = la.window_growth(N, power_window)
    assert g.regime == la.POWER and abs(g.power_exponent - 0.4) < 1e-9 and g.log_r2 < 0.99
    # H_N is a lag: integer rounding keeps the verdicts
    assert la.window_growth(N, np.round(log_window)).regime == la.LOGARITHMIC
    assert la.window_growth(N, np.round(power_window)).regime == la.POWER


def test_window_growth_unresolved_and_censored():
    N = GRID.astype(float)
    assert la.window_growth(N, np.full(N.size, 30.0)).regime == la.UNRESOLVED
    sparse = np.zeros(N.size)
    sparse[-2:] = [10, 20]
    assert not la.window_growth(N, sparse).resolved
    # saturated at the largest lag (256) from N = 1600 on: censored points are dropped
    H = np.minimum(20.0 * np.log(N) - 40.0, 256.0)
    censored = la.window_growth(N, H, max_lag=256)
    assert censored.n_points == int((H < 256).sum()) and abs(censored.log_slope - 20.0) < 1e-9


# ---------------------------------------------------------------------------
# analysis: per-lag statistics
# ---------------------------------------------------------------------------


def test_lag_statistics_recovers_stable_parameters():
    """i.i.d. symmetric stable samples of known (alpha, sigma, location), n = 20000 per lag.

    Over 30 seeds at this n (alpha = 1.3, 1.7, 2.0, sigma = 2) the ECF alpha had
    sd <= 0.011 and worst error 0.022, the McCulloch alpha sd <= 0.018 (biased
    down by ~0.014 at alpha = 2, where it is clipped) and worst error 0.055,
    and both sigma estimates a relative sd <= 0.0104: the tolerances below are
    about 5 sd. m_bar is |mean| by definition (checked exactly); only for
    alpha = 2 is the sample mean tight enough to compare with the location
    (sd sigma sqrt(2/n) = 0.02), whereas for alpha < 2 its error is
    sigma n^{1/alpha - 1} times a heavy-tailed unit stable variable.
    """
    rng = np.random.default_rng(5)
    n, scale, loc = 20000, 2.0, 0.5
    truths = [1.3, 1.7, 2.0]
    rows = [loc + sample_symmetric_stable(a, n, rng, scale=scale) for a in truths]
    stats = la.lag_statistics(rows)
    assert stats.alpha.shape == (3, 2) and stats.resolved.all() and stats.reason == ("ok",) * 3
    np.testing.assert_allclose(stats.alpha_hat, truths, atol=0.06)
    np.testing.assert_allclose(stats.alpha[:, 1], truths, atol=0.1)
    np.testing.assert_allclose(stats.sigma_hat, scale, rtol=0.05)
    np.testing.assert_allclose(stats.sigma[:, 1], scale, rtol=0.05)
    np.testing.assert_array_equal(stats.m_bar, [abs(r.mean()) for r in rows])
    assert abs(stats.m_bar[2] - loc) < 0.1
    np.testing.assert_array_equal(stats.n_samples, n)


def test_lag_statistics_subsamples_with_a_seed_and_keeps_the_full_mean():
    rng = np.random.default_rng(6)
    x = 1.0 + rng.standard_normal(150_000)
    padded = np.full((2, 160_000), np.nan)
    padded[0, :150_000] = x
    padded[1, :1000] = x[:1000]
    a = la.lag_statistics(padded)
    b = la.lag_statistics(padded)
    c = la.lag_statistics(padded, seed=1)
    assert a.n_samples.tolist() == [150_000, 1000] and a.n_used.tolist() == [100_000, 1000]
    np.testing.assert_array_equal(a.alpha, b.alpha)
    assert a.sigma[0, 0] != c.sigma[0, 0]  # another subsample
    assert a.m_bar[0] == abs(x.mean())  # all samples, not the subsample


def test_lag_statistics_degenerate_lags_give_nan_and_a_reason():
    rows = [np.full(1000, 3.0), np.arange(100.0), np.zeros(0), np.r_[np.ones(999), np.inf],
            np.r_[np.zeros(800), np.ones(200)]]
    stats = la.lag_statistics(rows)
    assert not stats.resolved.any()
    assert np.isnan(stats.alpha).all() and np.isnan(stats.sigma).all()
    assert "interquartile" in stats.reason[0] and "fewer than the 500" in stats.reason[1]
    assert "fewer" in stats.reason[2] and "infinite" in stats.reason[3]
    assert stats.m_bar[0] == 3.0 and np.isnan(stats.m_bar[2])
    empty = la.lag_statistics([])
    assert empty.alpha.shape == (0, 2) and empty.reason == ()
