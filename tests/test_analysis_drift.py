"""Tests of rnnscope.analysis.drift: Diagnostic 3 of Livi 2026 (digest section 5.3) on simulated zeta processes.

The simulated process is the Euler chain of the digest's section 5.2 scaffold,

    zeta <- zeta + F(zeta) dt + sigma sqrt(dt) xi  (+ optional alpha-stable jumps, common shocks),

with one Euler step per checkpoint. The chain *is* the process, so the
per-step increment dzeta = (zeta_{i+1} - zeta_i)/dt = F(zeta_i) + sigma xi/sqrt(dt)
has conditional mean exactly F(zeta_i): the estimators' only error is noise
of s.d. sigma/sqrt(dt) per sample, and the tolerances below come from it.
Seeds are fixed, so a failure is a change in behaviour, not bad luck.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from rnnscope.analysis import drift as drift_mod
from rnnscope.analysis.alpha import sample_symmetric_stable
from rnnscope.analysis.drift import (
    Q_LOW_SWEEP,
    binned_drift,
    bulk_statistics,
    drift_diagnostics,
    far_left_plateau,
    far_left_plateaus,
    increments,
    late_window_start,
    moment_stabilisation,
    residual_forcing,
    zeta_from_tau,
)

M_CENTRE = -5.0  # bulk median of zeta: tau ~ e^5 ~ 150 steps
DT = 0.25
SIGMA = 1.0
NOISE_SD = SIGMA / math.sqrt(DT)  # s.d. of the noise of one per-step increment dzeta
# Asymptotic variance of the 10 %-trimmed mean (10 % cut from each end) of Gaussian data, in units of
# sigma^2/n: [integral_{-c}^{c} x^2 phi + 2 g c^2] / (1 - 2 g)^2 with g = 0.1, c = Phi^-1(0.9): 1.0605.
_G = 0.10
_C = scipy.stats.norm.ppf(1 - _G)
TRIM_INFLATION = math.sqrt(((1 - 2 * _G) - 2 * _C * scipy.stats.norm.pdf(_C) + 2 * _G * _C**2) / (1 - 2 * _G) ** 2)


def tanh_drift(kappa: float, k: float, m: float = M_CENTRE):
    """The digest's section 5.2 scaffold F = kappa tanh(-k (zeta - m)/kappa): slope -k at m, plateau +kappa far left."""
    return lambda z, t: kappa * np.tanh(-k * (z - m) / kappa)


def ou_drift(k: float, m: float = M_CENTRE, speed: float = 0.0):
    """Linear restoring drift F = -k (zeta - m - speed t): no plateau; ``speed`` moves the centre."""
    return lambda z, t: -k * (z - m - speed * t)


def escaping_drift(kappa_left: float, k: float = 2.0, m: float = M_CENTRE, d: float = 1.0):
    """Restoring in the bulk, constant kappa_left < 0 below m - d: long time scales run away."""
    return lambda z, t: np.where(z < m - d, kappa_left, -k * (z - m))


def zero_drift(z, t):
    return np.zeros_like(z)


def simulate(
    drift,
    n_particles: int = 400,
    n_checkpoints: int = 100,
    dt: float = DT,
    sigma: float = SIGMA,
    n_burn: int = 200,
    jump_alpha: float | None = None,
    jump_scale: float = 0.0,
    common_sigma: float = 0.0,
    seed: int = 0,
):
    """zeta (C, M) at one Euler step per checkpoint after ``n_burn`` unrecorded steps, and the times (C,)."""
    rng = np.random.default_rng(seed)
    z = np.full(n_particles, M_CENTRE)
    t = 0.0

    def step(z, t):
        noise = sigma * math.sqrt(dt) * rng.standard_normal(n_particles)
        if jump_alpha is not None:
            noise += dt ** (1.0 / jump_alpha) * jump_scale * sample_symmetric_stable(jump_alpha, n_particles, rng)
        if common_sigma:
            noise += common_sigma * math.sqrt(dt) * rng.standard_normal()
        return z + drift(z, t) * dt + noise

    for _ in range(n_burn):
        z, t = step(z, t), t + dt
    zeta, times = np.empty((n_checkpoints, n_particles)), np.empty(n_checkpoints)
    for c in range(n_checkpoints):
        zeta[c], times[c] = z, t
        z, t = step(z, t), t + dt
    return zeta, times


@pytest.fixture(scope="module")
def plateau_run():
    """kappa = 0.5, k = 2: the far-left 15 % lies where F = kappa to 1e-4 (cut >= 1.2 below the median)."""
    zeta, steps = simulate(tanh_drift(0.5, 2.0))
    return zeta, steps, increments(zeta, steps)


@pytest.fixture(scope="module")
def ou_run():
    zeta, steps = simulate(ou_drift(2.0))
    return zeta, steps, increments(zeta, steps)


# ---------------------------------------------------------------- inputs and increments


def test_zeta_from_tau_is_minus_log_with_nan_for_invalid():
    tau = np.array([[1.0, math.e, 0.0], [-2.0, np.inf, np.nan]])
    zeta = zeta_from_tau(tau)
    assert zeta[0, 0] == 0.0 and zeta[0, 1] == pytest.approx(-1.0)
    assert np.all(np.isnan(zeta.ravel()[2:]))


@pytest.mark.parametrize("n_checkpoints, start", [(4, 0), (10, 6), (11, 7), (20, 14), (100, 70)])
def test_late_window_is_the_last_30_percent_and_at_least_4(n_checkpoints, start):
    # 10 -> ceil(3) = 3 < 4 so 4 checkpoints; 11 -> ceil(3.3) = 4; 20 -> 6; 100 -> 30
    assert late_window_start(n_checkpoints) == start


def test_increments_by_hand_with_uneven_steps_and_a_nan():
    steps = np.array([0, 1, 2, 3, 4, 5, 6, 10, 12, 13], dtype=float)
    zeta = np.arange(30, dtype=float).reshape(10, 3) ** 1.5 / 10  # any distinct values
    zeta[8, 1] = np.nan  # kills neuron 1 on transitions 7->8 and 8->9
    inc = increments(zeta, steps)
    assert inc.resolved and inc.first_checkpoint == 6 and inc.n_checkpoints == 4 and inc.n_transitions == 3
    expected = []
    for i in (6, 7, 8):
        for q in range(3):
            if np.isfinite(zeta[i, q]) and np.isfinite(zeta[i + 1, q]):
                expected.append((i, q, zeta[i, q], (zeta[i + 1, q] - zeta[i, q]) / (steps[i + 1] - steps[i])))
    assert len(expected) == 7
    i, q, z, dz = map(np.array, zip(*expected))
    np.testing.assert_array_equal(inc.transition, i)
    np.testing.assert_array_equal(inc.neuron, q)
    np.testing.assert_array_equal(inc.zeta, z)
    np.testing.assert_allclose(inc.dzeta, dz, rtol=1e-15)


# ---------------------------------------------------------------- binned drift


def test_binned_drift_recovers_F_at_the_bin_centres():
    # Plateau kappa = 1 so the drift spans +-1. Each of the 16 bins holds n_bin = 11600/16 = 725
    # samples; the trimmed mean of dzeta there has s.e. TRIM_INFLATION * sigma/sqrt(dt)/sqrt(n_bin)
    # = 0.077. F bends inside a bin by at most |F''| w^2/24 ~ 0.01 (w ~ 0.12 the central bin width),
    # so F(centre) is the target up to noise; 4 s.e. over 16 bins fails by chance with p ~ 1e-3.
    F = tanh_drift(1.0, 2.0)
    zeta, steps = simulate(F)
    inc = increments(zeta, steps)
    est = binned_drift(inc.zeta, inc.dzeta)
    assert est.resolved and est.reason == ""
    assert est.centres.shape == est.drift.shape == est.counts.shape == (16,) and est.edges.shape == (17,)
    assert np.all(est.counts == inc.zeta.size // 16)
    assert np.all(np.diff(est.centres) > 0)
    se = TRIM_INFLATION * NOISE_SD / np.sqrt(est.counts)
    np.testing.assert_allclose(est.stderr, se, rtol=0.15)  # Tukey-McLaughlin s.e. matches the known noise
    truth = F(est.centres, 0.0)
    assert np.max(np.abs(est.drift - truth) / se) < 4.0
    # the outer bins see the plateaus, with the sign convention of the digest: +kappa on the far left
    assert est.drift[0] > 0.6 and est.drift[-1] < -0.6


def test_binned_drift_leaves_small_bins_nan_and_needs_two():
    rng = np.random.default_rng(1)
    z, dz = rng.normal(size=100), rng.normal(size=100)
    est = binned_drift(z, dz, n_bins=16)  # 6-7 samples per bin < 10
    assert not est.resolved and "need 2" in est.reason and np.all(np.isnan(est.drift))
    est = binned_drift(z, dz, n_bins=8)
    assert est.resolved and np.all(np.isfinite(est.drift))


# ---------------------------------------------------------------- bulk


def test_bulk_slope_recovers_k_and_the_pull_is_inward(ou_run):
    # F = -k (zeta - m) exactly, so the OLS slope on the central band (selected on zeta, which does not
    # bias OLS) estimates -k with s.e. (sigma/sqrt(dt)) / (sd(zeta_band) sqrt(n_band)) ~ 0.12.
    _, _, inc = ou_run
    k = 2.0
    bulk = bulk_statistics(inc.zeta, inc.dzeta)
    assert bulk.resolved and bulk.n == inc.zeta.size
    lo, hi = np.quantile(inc.zeta, [0.25, 0.75])
    zb = inc.zeta[(inc.zeta >= lo) & (inc.zeta <= hi)]
    assert bulk.n_band == zb.size
    se = NOISE_SD / (np.std(zb) * math.sqrt(zb.size))
    assert bulk.kappa_hat_se == pytest.approx(se, rel=0.1)
    assert abs(bulk.kappa_hat - k) < 4 * se
    # inward: (zeta - median) dzeta < 0 more often than a fair coin; 4 s.d. of a Binomial(n, 1/2) share
    half_band = 4 * math.sqrt(0.25 / bulk.n)
    assert bulk.inward_fraction > 0.5 + half_band
    assert bulk.spearman_rho < -4 / math.sqrt(bulk.n)


def test_pure_noise_has_half_inward_and_no_rank_correlation():
    # with F = 0 the sign of dzeta is a fair coin independent of zeta: the inward count is Binomial(n, 1/2)
    zeta, steps = simulate(zero_drift)
    inc = increments(zeta, steps)
    bulk = bulk_statistics(inc.zeta, inc.dzeta)
    assert bulk.resolved
    assert abs(bulk.inward_fraction - 0.5) < 4 * math.sqrt(0.25 / bulk.n)
    assert abs(bulk.spearman_rho) < 4 / math.sqrt(bulk.n)
    assert abs(bulk.kappa_hat) < 4 * bulk.kappa_hat_se


# ---------------------------------------------------------------- far-left plateau


def test_resampled_statistic_is_exactly_quantile_cut_then_trim_mean(plateau_run):
    # the vectorised bootstrap statistic must equal np.quantile + scipy trim_mean on the explicit resample
    _, _, inc = plateau_run
    z, dz = inc.zeta, inc.dzeta
    blocks, block = np.unique(inc.transition, return_inverse=True)
    oz, od = np.argsort(z, kind="stable"), np.argsort(dz, kind="stable")
    rng = np.random.default_rng(3)
    weights = rng.multinomial(blocks.size, np.full(blocks.size, 1.0 / blocks.size), size=8)
    weights[0] = 1  # the original sample
    got = drift_mod._resampled_tail_means(z[oz], block[oz], z[od], dz[od], block[od], weights, Q_LOW_SWEEP, 0.1)
    for r in range(weights.shape[0]):
        idx = np.concatenate([np.repeat(np.flatnonzero(block == b), weights[r, b]) for b in range(blocks.size)])
        for j, q in enumerate(Q_LOW_SWEEP):
            cut = np.quantile(z[idx], q)
            expected = scipy.stats.trim_mean(dz[idx][z[idx] <= cut], 0.1)
            assert got[r, j] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_positive_flat_plateau_is_found_and_contains_the_truth(plateau_run):
    # far left of zeta = long time scales; F -> +kappa there, i.e. dzeta > 0: long tau pushed back.
    _, _, inc = plateau_run
    kappa = 0.5
    res = far_left_plateau(inc.zeta, inc.dzeta, inc.transition)
    assert res.resolved and res.q_low == 0.10 and res.n_boot == 2000 and res.n_transitions == 29
    assert res.n_slice == int(np.sum(inc.zeta <= np.quantile(inc.zeta, 0.10))) >= 200
    # s.e. of kappa_tail: TRIM_INFLATION * 2/sqrt(1160) = 0.06, so lo ~ kappa - 0.1 is far above 0
    assert res.lo > 0 and res.positive
    assert res.lo <= kappa <= res.hi
    assert res.lo < res.kappa_tail < res.hi
    assert res.flat and res.slope_lo <= 0 <= res.slope_hi
    assert res.constant_preferred and res.delta_bic >= 0
    assert res.passed
    # the same estimate by hand
    sl = inc.dzeta[inc.zeta <= res.cut]
    assert res.kappa_tail == pytest.approx(scipy.stats.trim_mean(sl, 0.1), rel=1e-12)
    # the far right of the same process has drift -kappa: measuring the wrong tail would fail above
    right = inc.dzeta[inc.zeta >= np.quantile(inc.zeta, 0.9)]
    assert scipy.stats.trim_mean(right, 0.1) < 0


def test_positivity_fails_when_long_time_scales_run_away_or_feel_no_drift():
    zeta, steps = simulate(escaping_drift(-0.5))
    inc = increments(zeta, steps)
    res = far_left_plateau(inc.zeta, inc.dzeta, inc.transition, n_boot=500)
    assert res.resolved and not res.positive and not res.passed
    assert res.hi < 0 and res.lo <= -0.5 <= res.hi

    zeta, steps = simulate(zero_drift)
    inc = increments(zeta, steps)
    res = far_left_plateau(inc.zeta, inc.dzeta, inc.transition, n_boot=500)
    assert res.resolved and not res.positive
    assert res.lo <= 0 <= res.hi


def test_linear_far_left_drift_is_positive_but_not_a_plateau(ou_run):
    # OU: F = -k (zeta - m) keeps growing to the left, slope -2 in the slice (s.e. ~ 0.2)
    _, _, inc = ou_run
    res = far_left_plateau(inc.zeta, inc.dzeta, inc.transition, n_boot=500)
    assert res.resolved and res.positive
    assert not res.flat and res.slope_hi < 0
    assert not res.constant_preferred and res.delta_bic < 0
    assert not res.passed


def test_sweep_shares_replicates_with_separate_calls(plateau_run):
    _, _, inc = plateau_run
    sweep = far_left_plateaus(inc.zeta, inc.dzeta, inc.transition, n_boot=300, seed=7)
    assert [r.q_low for r in sweep] == list(Q_LOW_SWEEP)
    assert [r.n_slice for r in sweep] == sorted(r.n_slice for r in sweep)
    for r in sweep:
        alone = far_left_plateau(inc.zeta, inc.dzeta, inc.transition, q_low=r.q_low, n_boot=300, seed=7)
        assert alone == r


def test_block_bootstrap_interval_covers_the_plateau():
    # Independent neurons: kappa_tail has s.d. TRIM_INFLATION * 2/sqrt(1160) = 0.060 (0.057 measured
    # over 40 runs; 36 of 40 intervals covered). The 90 % interval must cover kappa = 0.5 in most of
    # 10 repetitions (fewer than 7 has probability 0.013 at 90 % coverage) and its half-width must
    # match 1.645 s.d.
    kappa, sd = 0.5, TRIM_INFLATION * NOISE_SD / math.sqrt(1160)
    covered, half_widths = 0, []
    for rep in range(10):
        zeta, steps = simulate(tanh_drift(kappa, 2.0), seed=100 + rep)
        inc = increments(zeta, steps)
        res = far_left_plateau(inc.zeta, inc.dzeta, inc.transition, n_boot=400, seed=rep)
        assert res.resolved
        covered += res.lo <= kappa <= res.hi
        half_widths.append((res.hi - res.lo) / 2)
    assert covered >= 7
    assert np.mean(half_widths) / (scipy.stats.norm.ppf(0.95) * sd) == pytest.approx(1.0, abs=0.2)


def test_block_bootstrap_sees_shocks_common_to_a_transition():
    # A shock common to all neurons in a transition (s.d. 1.0 in dzeta units) makes the samples of one
    # transition dependent: kappa_tail then has s.d. sqrt(1.0^2/29 + (1.03 * 2)^2/1160) = 0.195
    # (0.24 measured over 40 runs). Resampling whole transitions sees it; resampling single samples
    # would see only the within-slice scatter, s.d. 1.03 sqrt(2^2 + 1^2)/sqrt(1160) = 0.068.
    # (Coverage is not tested here: the pooled cut biases kappa_tail under such shocks, see
    # far_left_plateau.)
    shock = 0.5  # per unit time in zeta, i.e. 0.5/sqrt(dt) = 1.0 per transition in dzeta
    sds = []
    for rep in range(3):
        zeta, steps = simulate(tanh_drift(0.5, 2.0), common_sigma=shock, seed=200 + rep)
        inc = increments(zeta, steps)
        res = far_left_plateau(inc.zeta, inc.dzeta, inc.transition, n_boot=400, seed=rep)
        sds.append((res.hi - res.lo) / 2 / scipy.stats.norm.ppf(0.95))
    assert 0.13 < np.mean(sds) < 0.3


# ---------------------------------------------------------------- moments


def test_stationary_moments_are_stabilised(ou_run):
    zeta, steps, _ = ou_run
    mom = moment_stabilisation(zeta, steps)
    assert mom.resolved and mom.stabilised and mom.first_checkpoint == 70
    np.testing.assert_allclose(mom.mean, zeta.mean(axis=1))
    np.testing.assert_allclose(mom.variance, zeta.var(axis=1, ddof=1))
    assert np.all(mom.n_valid == 400)
    assert mom.mean_change < 0.25 and mom.variance_change < 0.25


def test_drifting_mean_is_not_stabilised():
    # the centre moves 0.05 per unit time: 0.37 over the late window, ~0.65 cross-neuron s.d.
    zeta, steps = simulate(ou_drift(2.0, speed=0.05))
    mom = moment_stabilisation(zeta, steps)
    assert mom.resolved and not mom.stabilised
    assert mom.mean_change > 0.5 and mom.variance_change < 0.25


def test_diffusing_spread_is_not_stabilised():
    # pure noise from zero spread: var ~ sigma^2 t, so over the last 30 % it grows by 0.3/0.85 ~ 0.35
    # of its late mean (s.d. of that ratio ~ 0.05 with 1000 neurons)
    zeta, steps = simulate(zero_drift, n_particles=1000, n_burn=1)
    mom = moment_stabilisation(zeta, steps)
    assert mom.resolved and not mom.stabilised
    assert mom.variance_change > 0.25 and mom.mean_change < 0.25


# ---------------------------------------------------------------- residual forcing


def test_residual_forcing_tells_gaussian_from_stable_noise(plateau_run):
    _, _, inc = plateau_run
    gauss = residual_forcing(inc.zeta, inc.dzeta, inc.neuron, binned_drift(inc.zeta, inc.dzeta))
    assert gauss.resolved and gauss.n_slice == 1160 and gauss.n_neurons == 400
    assert gauss.residuals.shape == (1160,)
    assert gauss.alpha.alpha > 1.85 and not gauss.alpha.substantively_heavy

    zeta, steps = simulate(tanh_drift(0.5, 2.0), sigma=0.0, jump_alpha=1.5, jump_scale=0.7)
    inc = increments(zeta, steps)
    stable = residual_forcing(inc.zeta, inc.dzeta, inc.neuron, binned_drift(inc.zeta, inc.dzeta))
    assert stable.resolved and stable.alpha.detectably_heavy
    # s.d. of alpha_eff at n = 1160 is ~ 0.1 (0.38-0.63 over 4 seeds); the calibrated interval covers 1.5
    assert abs(stable.alpha.alpha - 1.5) < 0.25
    assert stable.alpha.ci[0] <= 1.5 <= stable.alpha.ci[1]


# ---------------------------------------------------------------- everything at once


def test_drift_diagnostics_closure_holds_for_the_plateau_not_for_ou(plateau_run, ou_run):
    zeta, steps, inc = plateau_run
    diag = drift_diagnostics(zeta, steps)
    assert diag.resolved and diag.reason == "" and diag.closure
    assert [p.q_low for p in diag.plateau_sweep] == list(Q_LOW_SWEEP)
    assert diag.plateau == diag.plateau_sweep[1]
    assert diag.plateau == far_left_plateau(inc.zeta, inc.dzeta, inc.transition)
    assert diag.moments.stabilised and diag.bulk.inward_fraction > 0.5 and diag.forcing.resolved

    zeta, steps, _ = ou_run
    diag = drift_diagnostics(zeta, steps, forcing=False)
    assert diag.resolved and diag.forcing is None
    assert diag.plateau.positive and not diag.closure


# ---------------------------------------------------------------- degenerate input


@pytest.mark.filterwarnings("error")
def test_two_checkpoints_are_unresolved():
    zeta, steps = simulate(zero_drift, n_checkpoints=2, n_burn=10)
    inc = increments(zeta, steps)
    assert not inc.resolved and "2 checkpoints, need 4" in inc.reason and inc.zeta.size == 0
    mom = moment_stabilisation(zeta, steps)
    assert not mom.resolved and "need 4" in mom.reason
    diag = drift_diagnostics(zeta, steps)
    assert not diag.resolved and diag.reason.startswith("increments:") and not diag.closure
    for piece in (diag.drift, diag.bulk, diag.plateau, diag.forcing, *diag.plateau_sweep):
        assert not piece.resolved and piece.reason


@pytest.mark.filterwarnings("error")
def test_all_nan_zeta_is_unresolved():
    zeta, steps = np.full((20, 50), np.nan), np.arange(20.0)
    inc = increments(zeta, steps)
    assert not inc.resolved and "no neuron is valid" in inc.reason
    mom = moment_stabilisation(zeta, steps)
    assert not mom.resolved and np.all(np.isnan(mom.mean)) and np.all(mom.n_valid == 0)
    diag = drift_diagnostics(zeta, steps)
    assert not diag.resolved and not diag.closure
    assert not far_left_plateau(inc.zeta, inc.dzeta, inc.transition).resolved
    assert not bulk_statistics(inc.zeta, inc.dzeta).resolved
    assert not binned_drift(inc.zeta, inc.dzeta).resolved


@pytest.mark.filterwarnings("error")
def test_slice_with_fewer_than_200_samples_is_unresolved():
    # 50 neurons, 20 checkpoints: 5 late transitions, 250 samples, 25 in the 10 % slice
    zeta, steps = simulate(tanh_drift(0.5, 2.0), n_particles=50, n_checkpoints=20)
    inc = increments(zeta, steps)
    res = far_left_plateau(inc.zeta, inc.dzeta, inc.transition)
    assert not res.resolved and "25 samples" in res.reason and "need 200" in res.reason
    assert res.n_slice == 25 and math.isnan(res.kappa_tail) and not res.positive
    forcing = residual_forcing(inc.zeta, inc.dzeta, inc.neuron, binned_drift(inc.zeta, inc.dzeta))
    assert not forcing.resolved and "need 500" in forcing.reason and forcing.alpha is None
    assert not far_left_plateau(inc.zeta, inc.dzeta, np.zeros(inc.zeta.size)).resolved  # one transition


@pytest.mark.filterwarnings("error")
def test_constant_zeta_is_unresolved():
    zeta, steps = np.full((20, 50), -3.0), np.arange(20.0)
    inc = increments(zeta, steps)
    assert inc.resolved and np.all(inc.dzeta == 0)  # well-defined increments, nothing to estimate from
    assert "distinct values" in binned_drift(inc.zeta, inc.dzeta).reason
    assert "no spread" in bulk_statistics(inc.zeta, inc.dzeta).reason
    res = far_left_plateau(inc.zeta, inc.dzeta, inc.transition)
    assert not res.resolved and "no spread" in res.reason
    mom = moment_stabilisation(zeta, steps)
    assert not mom.resolved and "variance" in mom.reason and not mom.stabilised
    diag = drift_diagnostics(zeta, steps)
    assert not diag.resolved and "drift:" in diag.reason and "moments:" in diag.reason


@pytest.mark.parametrize(
    "zeta, steps, words",
    [
        (np.zeros(10), np.arange(10.0), "shape"),
        (np.zeros((10, 3)), np.arange(9.0), "steps has shape"),
        (np.zeros((10, 3)), np.r_[np.arange(9.0), 3.0], "increase"),
        (np.zeros((10, 3)), np.r_[np.arange(9.0), np.nan], "finite"),
    ],
)
def test_malformed_checkpoints_are_unresolved(zeta, steps, words):
    assert words in increments(zeta, steps).reason
    assert words in moment_stabilisation(zeta, steps).reason
