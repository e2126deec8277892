"""Sample complexity N(l) and the learnability window H_N.

Livi 2025 (digest papers/livi.md, sections 7.1 and 7.2). Under alpha-stable
fluctuations (1 < alpha <= 2) an empirical mean of N samples concentrates at
the rate N^{1/alpha - 1} = N^{-1/kappa_alpha}, kappa_alpha = alpha/(alpha-1).
A lag-l dependence of mean m(l) and stable scale sigma(l) is therefore
detectable from N samples once

    SNR(l, N) = m(l) N^{1 - 1/alpha(l)} / sigma(l) > epsilon,

which takes N(l) ~ (epsilon sigma / m)^{kappa_alpha} samples, and where
m(l) / sigma(l) follows the envelope f(l) (the paper's premise),
N(l) ~ f(l)^{-kappa_alpha}. For the matched statistic of
``rnnscope.probes.learnability`` a transport shared by every neuron cancels
from m / sigma, so the premise is a claim to test, not a given.

The window H_N is the largest lag detectable with N samples. How H_N grows
with N follows the decay of f (section 7.1 table):

    f(l) = A exp(-l/tau)   ->  H_N = (tau/kappa_alpha) log N + const  (logarithmic window)
    f(l) = A l^{-beta}     ->  H_N ~ N^{1/(beta kappa_alpha)}          (power window)

The pipeline on a member's matched statistic psi(l)
(``rnnscope.probes.learnability``):

1. ``lag_statistics``: alpha_hat(l), sigma_hat(l) (ECF, McCulloch as a second
   column) and m_bar(l) = |mean psi(l)|;
2. ``n_required``: smallest N of the grid ``N_GRID`` with SNR > epsilon, -1
   if none;
3. ``window``: H_N = max{l : 0 < N_required(l) <= N} for each N of the grid;
4. ``master_regression``: OLS of log N_required on -kappa_alpha log f, slope
   expected ~ 1;
5. ``window_growth``: is H_N linear in log N or a power of N?

Everything is NumPy/SciPy/statsmodels on plain arrays; degenerate input gives
NaN or ``resolved=False`` with a reason, never an exception.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple, Sequence

import numpy as np
import statsmodels.api as sm

from .alpha import (
    MIN_SAMPLES,
    ecf_alpha,
    mcculloch_alpha,
    mcculloch_table,
    symmetric_stable_quantile,
)

#: The sample-size grid of N_required (digest section 7.2, step 5).
N_GRID = (25, 50, 100, 150, 200, 300, 400, 600, 800, 1200, 1600, 2400, 3200, 4800, 6400, 9600, 12800)
#: SNR threshold epsilon (digest section 7.2, step 5). Whether 0.1 is the paper's
#: value, and the constants of its Fano-bound criterion, are not known (GAP 7,
#: digest section 9): it is the author's code's value.
EPSILON = 0.1
#: At most this many samples per lag go into the alpha and sigma estimators
#: (digest section 7.2, step 3: "ECF subsamples 10^5"); m_bar uses all samples.
MAX_SAMPLES = 100_000
#: Columns of ``LagStatistics.alpha`` and ``.sigma``.
ALPHA_METHODS = ("ecf", "mcculloch")
#: Lags enter the master regression only where alpha_hat exceeds this (digest 7.2 step 7).
MASTER_ALPHA_MIN = 1.01
#: Rules of the master regression (digest section 7.2, step 7).
MASTER_MIN_POINTS = 10
MASTER_MIN_DISTINCT_N = 3
#: Fewest points with H_N > 0 that ``window_growth`` fits a two-parameter line to
#: (our choice: leaves one residual degree of freedom).
GROWTH_MIN_POINTS = 3
LOGARITHMIC = "logarithmic"
POWER = "power"
UNRESOLVED = "unresolved"

_NAN = float("nan")


# ---------------------------------------------------------------- per-lag statistics


class LagStatistics(NamedTuple):
    """Per-lag statistics of the matched statistic psi(l), each array with n_lags rows.

    alpha: (n_lags, 2) tail index, columns ``ALPHA_METHODS`` = (ECF, McCulloch).
    sigma: (n_lags, 2) stable scale sigma (characteristic function
        exp(-|sigma t|^alpha)), same columns.
    m_bar: (n_lags,) |mean psi(l)| over all finite samples.
    n_samples: (n_lags,) finite samples of each lag.
    n_used: (n_lags,) samples the alpha/sigma estimators saw (<= MAX_SAMPLES).
    resolved: (n_lags,) alpha_hat and sigma_hat are finite.
    reason: one string per lag ("ok" or why the lag is unresolved).

    ``alpha_hat`` and ``sigma_hat`` are the primary estimates: ECF, or
    McCulloch where ECF found too few usable points (the digest's fallback).
    """

    alpha: np.ndarray
    sigma: np.ndarray
    m_bar: np.ndarray
    n_samples: np.ndarray
    n_used: np.ndarray
    resolved: np.ndarray
    reason: tuple[str, ...]

    @property
    def alpha_hat(self) -> np.ndarray:
        return _primary(self.alpha, self.sigma)[0]

    @property
    def sigma_hat(self) -> np.ndarray:
        return _primary(self.alpha, self.sigma)[1]


def _primary(alpha: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    use_ecf = np.isfinite(alpha[:, 0]) & np.isfinite(sigma[:, 0])
    return (np.where(use_ecf, alpha[:, 0], alpha[:, 1]), np.where(use_ecf, sigma[:, 0], sigma[:, 1]))


@functools.cache
def _standard_q75() -> tuple[np.ndarray, np.ndarray]:
    """Upper quartile of S_alpha(1, 0, 0) on the McCulloch alpha grid (computed once per process)."""
    alphas = np.asarray(mcculloch_table().alphas)
    return alphas, np.array([symmetric_stable_quantile(0.75, a) for a in alphas])


def mcculloch_scale(x: np.ndarray, alpha: float) -> float:
    """sigma = (q75 - q25) / (2 q75(alpha)), q75(alpha) the upper quartile of S_alpha(1, 0, 0).

    McCulloch's quantile estimate of the scale of symmetric stable data, by
    the symmetry q25 = -q75 of the standard law. NaN when alpha is NaN or the
    interquartile range is zero.

    McCulloch, Commun. Statist. Simul. Comput. 15 (1986) 1109-1136.
    """
    if not math.isfinite(alpha):
        return _NAN
    q25, q75 = np.quantile(x, [0.25, 0.75])
    if not q75 > q25:
        return _NAN
    alphas, upper = _standard_q75()
    return float((q75 - q25) / (2.0 * np.interp(alpha, alphas, upper)))


def _finite_row(row) -> tuple[np.ndarray, bool]:
    """The row without its NaN padding, and whether it holds +-inf."""
    row = np.asarray(row, np.float64).ravel()
    row = row[~np.isnan(row)]
    return row, bool(np.isinf(row).any())


def _one_lag(row, max_samples: int, min_samples: int, rng: np.random.Generator):
    """(alpha_ecf, alpha_mc, sigma_ecf, sigma_mc, m_bar, n, n_used, reason) of one lag."""
    x, has_inf = _finite_row(row)
    n = x.size
    unresolved = (_NAN, _NAN, _NAN, _NAN)
    if has_inf:
        return (*unresolved, _NAN, n, 0, "samples contain infinite values")
    m_bar = float(abs(x.mean())) if n else _NAN
    if n < min_samples:
        return (*unresolved, m_bar, n, 0, f"{n} samples, fewer than the {min_samples} required")
    if n > max_samples:
        x = x[rng.choice(n, max_samples, replace=False)]
    q25, q75 = np.quantile(x, [0.25, 0.75])
    if not q75 > q25:
        return (*unresolved, m_bar, n, x.size, "zero interquartile range")
    ecf = ecf_alpha(x)
    mc = mcculloch_alpha(x, n_boot=0).alpha
    # ecf_alpha's own fallback returns McCulloch's alpha under the ECF name; keep the columns pure
    alpha_ecf, sigma_ecf = (ecf.alpha, ecf.sigma) if ecf.method != "mcculloch" else (_NAN, _NAN)
    sigma_mc = mcculloch_scale(x, mc)
    if math.isfinite(alpha_ecf) and math.isfinite(sigma_ecf):
        reason = "ok"
    elif math.isfinite(mc) and math.isfinite(sigma_mc):
        reason = "ok (ECF had too few usable points; McCulloch)"
    else:
        reason = "neither ECF nor McCulloch gave an estimate"
    return alpha_ecf, mc, sigma_ecf, sigma_mc, m_bar, n, x.size, reason


def lag_statistics(samples: Sequence, max_samples: int = MAX_SAMPLES, seed: int = 0,
                   min_samples: int = MIN_SAMPLES) -> LagStatistics:
    """alpha_hat(l), sigma_hat(l) and m_bar(l) = |mean psi(l)| for every lag.

    Livi 2025 (digest papers/livi.md, section 7.2, step 4): alpha and sigma
    from the ECF regression (``alpha.ecf_alpha``) and McCulloch's quantiles
    (``alpha.mcculloch_alpha``, scale by ``mcculloch_scale``) on at most
    ``max_samples`` samples per lag, drawn without replacement by a generator
    seeded with (``seed``, lag index); m_bar uses every sample.

    ``samples``: one 1-D array per lag, or a 2-D array with one row per lag;
    NaN entries are padding and are dropped. A lag with infinite values,
    fewer than ``min_samples`` (500, the estimators' guard of section 6.1)
    finite samples or a zero interquartile range gets NaN alpha and sigma and
    a reason (m_bar stays the mean's magnitude where it is defined); nothing
    raises.
    """
    rows = [_one_lag(row, max_samples, min_samples, np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,))))
            for i, row in enumerate(samples)]
    if not rows:
        empty = np.zeros(0)
        return LagStatistics(np.zeros((0, 2)), np.zeros((0, 2)), empty, empty.astype(int), empty.astype(int),
                             empty.astype(bool), ())
    cols = list(zip(*rows))
    alpha = np.column_stack([cols[0], cols[1]]).astype(float)
    sigma = np.column_stack([cols[2], cols[3]]).astype(float)
    a, s = _primary(alpha, sigma)
    resolved = np.isfinite(a) & np.isfinite(s)
    return LagStatistics(alpha, sigma, np.array(cols[4], float), np.array(cols[5], int), np.array(cols[6], int),
                         resolved, tuple(cols[7]))


# ---------------------------------------------------------------- SNR and N_required


def kappa_alpha(alpha):
    """kappa_alpha = alpha / (alpha - 1), the concentration exponent (inf at alpha = 1).

    Livi 2025 (digest papers/livi.md, section 7.1): a stable mean of N samples
    concentrates as N^{-1/kappa_alpha}.
    """
    alpha = np.asarray(alpha, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return alpha / (alpha - 1.0)


def snr(m, sigma, alpha, n):
    """SNR(l, N) = m N^{1 - 1/alpha} / sigma, broadcast over the arguments.

    Livi 2025 (digest papers/livi.md, section 7.2, step 5). NaN where sigma is
    not positive or an argument is NaN.
    """
    m, sigma, alpha, n = (np.asarray(v, np.float64) for v in (m, sigma, alpha, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sigma > 0, m * n ** (1.0 - 1.0 / alpha) / sigma, np.nan)


def n_required(m, sigma, alpha, grid=N_GRID, epsilon: float = EPSILON) -> np.ndarray:
    """N_required = the smallest N in ``grid`` with SNR(N) > epsilon, -1 if none (int64).

    Livi 2025 (digest papers/livi.md, section 7.2, step 5). For 1 < alpha <= 2
    this is the smallest grid N > (epsilon sigma / m)^{kappa_alpha}. ``m``,
    ``sigma`` and ``alpha`` broadcast together (lags, members x lags, ...);
    the result has their broadcast shape. A NaN input gives -1. ``epsilon``
    defaults to the digest's 0.1 (GAP 7: not known to be the paper's value).
    """
    grid = np.asarray(grid, np.float64)
    ratio = snr(np.expand_dims(m, -1), np.expand_dims(sigma, -1), np.expand_dims(alpha, -1), grid)
    detected = ratio > epsilon
    first = np.argmax(detected, axis=-1)
    return np.where(detected.any(axis=-1), grid.astype(np.int64)[first], -1)


def window(lags, n_req, grid=N_GRID) -> np.ndarray:
    """H_N = max{l : 0 < N_required(l) <= N} for every N in ``grid`` (0 where no lag qualifies).

    Livi 2025 (digest papers/livi.md, section 7.2, step 6). ``n_req`` is
    (..., n_lags) (lags last, e.g. members x lags); the result is
    (..., n_grid), int64.
    """
    lags = np.asarray(lags, np.int64)
    n_req = np.asarray(n_req)[..., None, :]
    grid = np.asarray(grid).reshape(-1, 1)
    ok = (n_req > 0) & (n_req <= grid)
    return np.max(np.where(ok, lags, 0), axis=-1, initial=0)


# ---------------------------------------------------------------- master regression


class MasterRegression(NamedTuple):
    """OLS log N_required = intercept + slope x, x = -kappa_alpha log f.

    ci: 95 % confidence interval of the slope. n_distinct_n: distinct
    N_required values among the points. NaN fields when unresolved.
    """

    slope: float
    ci: tuple[float, float]
    intercept: float
    r2: float
    n_points: int
    n_distinct_n: int
    resolved: bool
    reason: str


def master_regression(n_req, f, alpha, lags, window_lags=None, min_points: int = MASTER_MIN_POINTS,
                      min_distinct_n: int = MASTER_MIN_DISTINCT_N) -> MasterRegression:
    """The "master proportionality" check N_required(l) ~ f(l)^{-kappa_alpha(l)}.

    Livi 2025 (digest papers/livi.md, section 7.2, step 7): OLS (statsmodels)
    of y = log N_required(l) on x = -kappa_alpha(l) log f(l), f the envelope
    and alpha = alpha_hat on the same lags as ``n_req``, on the lags with
    alpha > 1.01, N_required > 0, f > 0 and, when ``window_lags`` = (lo, hi)
    is given (e.g. the fitted power-law window: the smallest fitted lag and
    ``PowerLawWindow.lag_max``), lo <= l <= hi. The expected slope is about 1
    ([inferred] in the digest). Unresolved with fewer than ``min_points``
    (10) points or fewer than ``min_distinct_n`` (3) distinct N_required.
    The digest uses seed-averaged n_req, f and alpha; averaging is the
    caller's.
    """
    n_req, f, alpha, lags = (np.asarray(v, np.float64).ravel() for v in (n_req, f, alpha, lags))
    keep = np.isfinite(alpha) & (alpha > MASTER_ALPHA_MIN) & (n_req > 0) & np.isfinite(f) & (f > 0)
    if window_lags is not None:
        lo, hi = window_lags
        keep &= (lags >= lo) & (lags <= hi)
    y = np.log(n_req[keep])
    x = -kappa_alpha(alpha[keep]) * np.log(f[keep])
    n_points, n_distinct = int(keep.sum()), int(np.unique(n_req[keep]).size)

    def unresolved(reason):
        return MasterRegression(_NAN, (_NAN, _NAN), _NAN, _NAN, n_points, n_distinct, False, reason)

    if n_points < min_points:
        return unresolved(f"{n_points} points, fewer than the {min_points} required")
    if n_distinct < min_distinct_n:
        return unresolved(f"{n_distinct} distinct N_required, fewer than the {min_distinct_n} required")
    if not np.ptp(x) > 0:
        return unresolved("x = -kappa log f does not vary")
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    lo, hi = fit.conf_int(0.05)[1]
    return MasterRegression(float(fit.params[1]), (float(lo), float(hi)), float(fit.params[0]),
                            float(fit.rsquared), n_points, n_distinct, True, "ok")


# ---------------------------------------------------------------- growth of the window


class WindowGrowth(NamedTuple):
    """Two fits of H_N against N and which one describes it better.

    logarithmic fit: H = log_intercept + log_slope log N (for exponential f,
        log_slope = tau / kappa_alpha); log_r2 its R^2.
    power fit: log H = power_intercept + power_exponent log N (for power-law
        f, exponent = 1 / (beta kappa_alpha)); power_r2 its R^2 in log H, and
        power_r2_linear the R^2 of its prediction exp(...) N^p in H itself.
    regime: "logarithmic" if log_r2 >= power_r2_linear, else "power"
        (both R^2 measured on H, our choice, so that they compare), or
        "unresolved".
    n_points: the (N, H_N) pairs fitted.
    """

    regime: str
    log_slope: float
    log_intercept: float
    log_r2: float
    power_exponent: float
    power_intercept: float
    power_r2: float
    power_r2_linear: float
    n_points: int
    resolved: bool
    reason: str


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """OLS y = a + b x: (a, b, fitted values)."""
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b), a + b * x


def _r2(y: np.ndarray, fitted: np.ndarray) -> float:
    ss_tot = np.sum((y - y.mean()) ** 2)
    return float(1.0 - np.sum((y - fitted) ** 2) / ss_tot) if ss_tot > 0 else _NAN


def window_growth(grid, H, max_lag=None) -> WindowGrowth:
    """How the window grows: H_N linear in log N (logarithmic) or a power of N?

    Livi 2025 (digest papers/livi.md, section 7.1 table): exponential f gives
    H_N = (tau/kappa_alpha) log N + const, power-law f gives
    H_N ~ N^{1/(beta kappa_alpha)}. Fits both by OLS on the grid points with
    H_N > 0: H on log N, and log H on log N, and labels the regime by the
    larger R^2, both measured on H (the power fit's prediction is
    exponentiated; our choice, as R^2 in log H and in H are not comparable).
    ``max_lag`` (our choice): points with H_N >= max_lag, where the window
    has reached the largest lag tested and is censored, are left out.
    Unresolved with fewer than 3 points or a constant H_N.
    """
    N = np.asarray(grid, np.float64).ravel()
    H = np.asarray(H, np.float64).ravel()
    keep = np.isfinite(H) & (H > 0)
    if max_lag is not None:
        keep &= H < max_lag
    N, H = N[keep], H[keep]
    n = int(N.size)

    def unresolved(reason):
        return WindowGrowth(UNRESOLVED, _NAN, _NAN, _NAN, _NAN, _NAN, _NAN, _NAN, n, False, reason)

    if n < GROWTH_MIN_POINTS:
        return unresolved(f"{n} points with H_N > 0, fewer than {GROWTH_MIN_POINTS}")
    if not np.ptp(H) > 0:
        return unresolved("H_N does not grow over the grid")
    if not np.ptp(N) > 0:
        return unresolved("a single N")
    log_n = np.log(N)
    a, b, fitted_log = _line(log_n, H)
    c, p, fitted_power = _line(log_n, np.log(H))
    log_r2 = _r2(H, fitted_log)
    power_r2_linear = _r2(H, np.exp(fitted_power))
    regime = LOGARITHMIC if log_r2 >= power_r2_linear else POWER
    return WindowGrowth(regime, b, a, log_r2, p, c, _r2(np.log(H), fitted_power), power_r2_linear, n, True,
                        f"{regime}: R^2 on H {log_r2:.4f} (log N) vs {power_r2_linear:.4f} (power)")


__all__ = [
    "ALPHA_METHODS",
    "EPSILON",
    "LOGARITHMIC",
    "LagStatistics",
    "MAX_SAMPLES",
    "MasterRegression",
    "N_GRID",
    "POWER",
    "UNRESOLVED",
    "WindowGrowth",
    "kappa_alpha",
    "lag_statistics",
    "master_regression",
    "mcculloch_scale",
    "n_required",
    "snr",
    "window",
    "window_growth",
]
