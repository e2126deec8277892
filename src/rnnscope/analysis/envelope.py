"""Fits of the forgetting envelope f(l) and the power-law-window gate.

Livi (digest papers/livi.md, sections 3.4 and 3.5). The envelope f(l) is the
mean l1 mass of the transport (or effective learning rate) at lag l; it is
fitted in log space by ordinary least squares, on the log of the mean mass:

    exponential   log f = a + b l                 tau_env = -1/b
    power law     log f = c + d log l             beta    = -d
    tempered      log f = a + d log l + b l       beta_t  = -d, tau_max = -1/b,
                                                  crossover l* = beta_t tau_max

and the three are compared by AIC with Gaussian residuals,
AIC = n log(RSS/n) + 2k with k = 2, 2, 3. A run counts as non-collapsed only
if the power-law window gate passes (section 3.5 step 2).

The runs test of the gate reads curvature as structure. On a smooth,
noise-free envelope (a transport average over many windows, or the mixture
of exponentials of a truncated power-law spectrum) the residuals of the
local log-log line keep the three sign runs of any bent curve, and the
p-value of three runs falls below 0.05 once the window holds about a dozen
lags: a mixture envelope of Pareto time scales with beta = 0.5 on [1, 3000]
passes on 10 lags over [4, 384] and fails on 16 or more. The rule is the
source's and stays the default; ``power_law_window(fits, runs_lags=n)``
judges the residual signs on at most n window lags, evenly spaced in log l,
as an audit of how much a verdict owes to the density of the lag grid.

Everything here takes plain arrays (lags and envelope values) and returns
NamedTuples; degenerate input gives ``resolved=False`` with a reason, never an
exception and never an invented number.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.stats import binomtest
from statsmodels.sandbox.stats.runs import runstest_1samp

EXPONENTIAL = "exponential"
POWER = "power"
TEMPERED = "tempered"

WINDOW_BETA_MIN = 0.10  # Livi (digest section 3.5 step 2, criterion 3)
MIN_WINDOW_POINTS = 8  # Livi (digest section 3.5 step 2, criterion 4)
MIN_WINDOW_FRACTION = 0.05  # Livi (digest section 3.5 step 2, criterion 4)
RUNS_P_MIN = 0.05  # Livi (digest section 3.5 step 2, criterion 5)
SIGN_P_MAX = 0.05  # Livi (digest section 3.5, beyond-l* diagnostic)
MIN_FIT_POINTS = 6  # our choice: the tempered fit has 3 parameters; leave at least 3 residual dof
MIN_BEYOND_POINTS = 4  # our choice: a sign test on fewer points cannot reach p < 0.05 anyway
# our choice: residuals below this fraction of the log-envelope's magnitude are round-off,
# so an exact fit is not scored as infinitely good and its residual signs are not tested
ROUND_OFF = 1e-10

_NAN = float("nan")
_EMPTY = np.zeros(0)


def lag_grid(n_lags: int = 128, lag_min: float = 4, lag_max: float = 384, max_lag: int | None = None) -> np.ndarray:
    """Integer lags spaced linearly over [lag_min, lag_max], clipped to <= max_lag.

    Livi (digest papers/livi.md, section 3.4): P1 uses 128 lags over [4, 384]
    clipped to T - 1 (pass ``max_lag = T - 1``); P2 uses 128 lags over [4, 256].
    """
    lags = np.unique(np.round(np.linspace(lag_min, lag_max, n_lags)).astype(int))
    if max_lag is not None:
        lags = lags[lags <= max_lag]
    return lags


class ExponentialFit(NamedTuple):
    """log f = a + b l; tau_env = -1/b (inf when b >= 0: the fit does not decay)."""

    a: float
    b: float
    tau_env: float
    rss: float
    aic: float
    r2: float


class PowerFit(NamedTuple):
    """log f = c + d log l; beta = -d."""

    c: float
    d: float
    beta: float
    rss: float
    aic: float
    r2: float


class TemperedFit(NamedTuple):
    """log f = a + d log l + b l; beta = -d, tau_max = -1/b, ell_star = beta tau_max.

    tau_max is inf when b >= 0 (no exponential cut-off), and then ell_star is
    inf when beta > 0 (our choice: the power law holds over every lag); ell_star
    is NaN when beta <= 0 (no decaying power-law part, so no crossover).
    """

    a: float
    d: float
    b: float
    beta: float
    tau_max: float
    ell_star: float
    rss: float
    aic: float
    r2: float


class EnvelopeFits(NamedTuple):
    """The three OLS fits of log f(l), their AIC winner, and the points fitted.

    ``lags`` and ``log_f`` are the points actually used: lags that are finite
    and positive with a finite, positive envelope value; ``n_dropped`` counts
    the others (e.g. an envelope that underflowed to 0 at long lags).
    """

    resolved: bool
    reason: str
    winner: str
    exponential: ExponentialFit | None
    power: PowerFit | None
    tempered: TemperedFit | None
    lags: np.ndarray
    log_f: np.ndarray
    n_dropped: int


class PowerLawWindow(NamedTuple):
    """Outcome of the power-law-window gate on one envelope.

    ``resolved`` is False only when the envelope could not be fitted; otherwise
    ``passed`` says whether every criterion holds and ``reason`` names the first
    that failed. ``beta``, ``intercept`` and ``runs_p`` come from the local
    log-log refit on the window (NaN when the window is too small to refit).
    """

    resolved: bool
    passed: bool
    reason: str
    winner: str
    lag_max: float
    n_points: int
    min_points: int
    beta: float
    intercept: float
    runs_p: float


class CutoffSignTest(NamedTuple):
    """Beyond l*: are the residuals against the window's power law negative?

    One-sided exact binomial test of P(residual < 0) > 1/2; ``negative`` is
    p < 0.05. A diagnostic, not part of the gate.
    """

    resolved: bool
    reason: str
    n_negative: int
    n_beyond: int
    p_value: float
    negative: bool


def _unresolved_fits(reason: str, n_dropped: int = 0) -> EnvelopeFits:
    return EnvelopeFits(False, reason, "", None, None, None, _EMPTY, _EMPTY, n_dropped)


def _unresolved_window(reason: str, winner: str = "") -> PowerLawWindow:
    return PowerLawWindow(False, False, reason, winner, _NAN, 0, 0, _NAN, _NAN, _NAN)


def _round_off(y: np.ndarray) -> float:
    return ROUND_OFF * (1.0 + float(np.max(np.abs(y))))


def _ols(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Least-squares coefficients and residual sum of squares; None if the design is degenerate."""
    if not (np.all(np.isfinite(design)) and np.all(np.isfinite(y))):
        return None
    try:
        coef, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
    except np.linalg.LinAlgError:
        return None
    if rank < design.shape[1] or not np.all(np.isfinite(coef)):
        return None
    rss = float(np.sum((y - design @ coef) ** 2))
    return coef, rss


def _aic(rss: float, n: int, k: int, floor: float) -> float:
    """n log(RSS/n) + 2k, with RSS/n floored at round-off so exact fits tie and k decides."""
    return n * math.log(max(rss / n, floor**2)) + 2 * k


def fit_envelope(lags, f) -> EnvelopeFits:
    """Exponential, power-law and tempered OLS fits of log f(l), and the AIC winner.

    Livi (digest papers/livi.md, section 3.5 step 1): log f = a + b l
    (tau_env = -1/b); log f = c + d log l (beta = -d); log f = a + d log l + b l
    (beta_t = -d, tau_max = -1/b, l* = beta_t tau_max); AIC = n log(RSS/n) + 2k
    with k = 2, 2, 3; the smallest AIC wins. ``f`` is the mean envelope mass
    (the fit is on the log of the mean, section 3.4).
    """
    lags = np.asarray(lags, dtype=float).ravel()
    f = np.asarray(f, dtype=float).ravel()
    if lags.shape != f.shape:
        return _unresolved_fits(f"lags ({lags.size}) and envelope ({f.size}) differ in length")
    with np.errstate(all="ignore"):
        keep = np.isfinite(lags) & (lags > 0) & np.isfinite(f) & (f > 0)
        ell, log_f = lags[keep], np.log(f[keep])
        keep_log = np.isfinite(log_f)
    ell, log_f = ell[keep_log], log_f[keep_log]
    n, n_dropped = ell.size, lags.size - ell.size
    if n < MIN_FIT_POINTS:
        return _unresolved_fits(
            f"{n} usable points (finite positive lag and envelope), need {MIN_FIT_POINTS}", n_dropped
        )
    floor = _round_off(log_f)
    if np.ptp(log_f) <= floor:
        return _unresolved_fits("envelope is constant: no decay to fit", n_dropped)

    with np.errstate(all="ignore"):
        log_ell = np.log(ell)
        ones = np.ones(n)
        exp_ols = _ols(np.column_stack([ones, ell]), log_f)
        pow_ols = _ols(np.column_stack([ones, log_ell]), log_f)
        tmp_ols = _ols(np.column_stack([ones, log_ell, ell]), log_f)
    if exp_ols is None or pow_ols is None or tmp_ols is None:
        return _unresolved_fits("lags do not span the fits (too few distinct or too extreme lags)", n_dropped)

    tss = float(np.sum((log_f - log_f.mean()) ** 2))

    (a, b), rss = (float(v) for v in exp_ols[0]), exp_ols[1]
    exponential = ExponentialFit(a, b, -1.0 / b if b < 0 else math.inf, rss, _aic(rss, n, 2, floor), 1 - rss / tss)
    (c, d), rss = (float(v) for v in pow_ols[0]), pow_ols[1]
    power = PowerFit(c, d, -d, rss, _aic(rss, n, 2, floor), 1 - rss / tss)
    (a, d, b), rss = (float(v) for v in tmp_ols[0]), tmp_ols[1]
    tau_max = -1.0 / b if b < 0 else math.inf
    ell_star = -d * tau_max if -d > 0 else _NAN
    tempered = TemperedFit(a, d, b, -d, tau_max, ell_star, rss, _aic(rss, n, 3, floor), 1 - rss / tss)

    aics = [(exponential.aic, EXPONENTIAL), (power.aic, POWER), (tempered.aic, TEMPERED)]
    if not all(math.isfinite(aic) for aic, _ in aics):
        return _unresolved_fits("non-finite AIC", n_dropped)
    winner = min(aics, key=lambda item: item[0])[1]  # on a tie, the first listed (fewer parameters)
    return EnvelopeFits(True, "", winner, exponential, power, tempered, ell, log_f, n_dropped)


def min_window_points(n_lags: int) -> int:
    """max(8, ceil(0.05 n_lags)). Livi (digest papers/livi.md, section 3.5 step 2, criterion 4)."""
    return max(MIN_WINDOW_POINTS, math.ceil(MIN_WINDOW_FRACTION * n_lags))


def _runs_p(residuals: np.ndarray, floor: float) -> float:
    """Two-sided Wald-Wolfowitz runs test on residual signs (cut at 0)."""
    if np.sqrt(np.mean(residuals**2)) <= floor:
        return 1.0  # exact fit: the signs are round-off and carry no structure
    return float(runstest_1samp(residuals, cutoff=0.0)[1])


def thinned(lags: np.ndarray, at_most: int | None) -> np.ndarray:
    """Indices of at most ``at_most`` of the increasing ``lags``, nearest to a log-even grid (all when None)."""
    if at_most is None or lags.size <= at_most:
        return np.arange(lags.size)
    targets = np.geomspace(lags[0], lags[-1], at_most)
    return np.unique(np.abs(np.log(lags)[None, :] - np.log(targets)[:, None]).argmin(axis=1))


def power_law_window(fits: EnvelopeFits, runs_lags: int | None = None) -> PowerLawWindow:
    """The power-law-window gate: is there a stretch of lags where f is a power law?

    Livi (digest papers/livi.md, section 3.5 step 2). Non-collapsed only if
    (1) the AIC winner is power or tempered; (2) the window is all lags (power)
    or the lags <= l* (tempered, with l* >= the smallest lag); (4) the window
    has at least max(8, ceil(0.05 n_lags)) points; (3) the window's beta,
    -slope of a local OLS refit of log f on log l, exceeds 0.10; (5) the local
    refit's residual signs pass a Wald-Wolfowitz runs test with p > 0.05.
    n_lags counts the lags that were fitted. A tempered winner whose
    exponential rate is >= 0 has l* = inf, so its window is all lags (our
    choice; the digest does not say). ``runs_lags`` (an audit, see the module
    note; None is the source's rule) runs the test on at most that many window
    lags, evenly spread in log l.
    """
    if not fits.resolved:
        return _unresolved_window(f"envelope not fitted: {fits.reason}")
    ell, log_f = fits.lags, fits.log_f
    min_points = min_window_points(ell.size)
    lag_max = math.inf if fits.winner == POWER else fits.tempered.ell_star

    def failed(reason, n_points=0, beta=_NAN, intercept=_NAN, runs_p=_NAN):
        return PowerLawWindow(True, False, reason, fits.winner, lag_max, n_points, min_points, beta, intercept, runs_p)

    if fits.winner == EXPONENTIAL:
        return failed("AIC winner is exponential")
    if math.isnan(lag_max):
        return failed(f"tempered fit has no decaying power-law part (beta_t = {fits.tempered.beta:.3g})")
    if lag_max < ell.min():
        return failed(f"l* = {lag_max:.3g} is below the smallest lag {ell.min():.3g}")

    in_window = ell <= lag_max
    n_points = int(in_window.sum())
    local = None
    if n_points >= 3:
        x = np.log(ell[in_window])
        local = _ols(np.column_stack([np.ones(n_points), x]), log_f[in_window])
    if local is None:
        return failed(f"window has {n_points} points, needs {min_points}", n_points)
    (intercept, slope), _ = local
    intercept, beta = float(intercept), float(-slope)
    residuals = log_f[in_window] - (intercept + slope * np.log(ell[in_window]))
    runs_p = _runs_p(residuals[thinned(ell[in_window], runs_lags)], _round_off(log_f))

    if n_points < min_points:
        return failed(f"window has {n_points} points, needs {min_points}", n_points, beta, intercept, runs_p)
    if not beta > WINDOW_BETA_MIN:
        return failed(f"window beta {beta:.3g} <= {WINDOW_BETA_MIN}", n_points, beta, intercept, runs_p)
    if not runs_p > RUNS_P_MIN:
        return failed(
            f"local log-log residuals are structured (runs test p = {runs_p:.3g})", n_points, beta, intercept, runs_p
        )
    return PowerLawWindow(True, True, "", fits.winner, lag_max, n_points, min_points, beta, intercept, runs_p)


def envelope_gate(lags, f) -> PowerLawWindow:
    """The power-law-window gate straight from an envelope: ``power_law_window(fit_envelope(lags, f))``.

    Livi (digest papers/livi.md, section 3.5 steps 1-2).
    """
    return power_law_window(fit_envelope(lags, f))


def cutoff_sign_test(fits: EnvelopeFits, window: PowerLawWindow) -> CutoffSignTest:
    """Beyond l*, residuals against the window's power law should be negative.

    Livi (digest papers/livi.md, section 3.5, diagnostic after step 2): for the
    lags l > l*, count residuals log f - (c_w - beta_w log l) < 0, where c_w and
    beta_w are the local window refit, and test one-sided
    (binomial, H1: P(negative) > 1/2); negative when p < 0.05. Needs a window
    refit and at least 4 non-zero residuals beyond l* (our choice).
    """
    def unresolved(reason):
        return CutoffSignTest(False, reason, 0, 0, _NAN, False)

    if not (fits.resolved and window.resolved):
        return unresolved("envelope not fitted")
    if not (np.isfinite(window.beta) and np.isfinite(window.intercept)):
        return unresolved("no power-law window to extrapolate")
    beyond = fits.lags > window.lag_max
    log_ell = np.log(fits.lags[beyond])
    residuals = fits.log_f[beyond] - (window.intercept - window.beta * log_ell)
    residuals = residuals[residuals != 0.0]
    if residuals.size < MIN_BEYOND_POINTS:
        return unresolved(f"{residuals.size} lags beyond l*, need {MIN_BEYOND_POINTS}")
    n_negative = int(np.sum(residuals < 0))
    p = float(binomtest(n_negative, residuals.size, 0.5, alternative="greater").pvalue)
    return CutoffSignTest(True, "", n_negative, int(residuals.size), p, p < SIGN_P_MAX)
