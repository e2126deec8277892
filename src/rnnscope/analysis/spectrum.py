"""The time-scale spectrum {tau_q}: log-rates, the spectral exponent beta, the mixture envelope.

Livi (digest papers/livi.md, section 4). Each neuron q has a time scale
tau_q > 0 (or is invalid, e.g. a non-decaying fit) and a log-rate
zeta_q = -log tau_q. The spectral exponent beta is the tail exponent of the
tau distribution, P(tau > x) ~ x^-beta; beta = 1 separates broad spectra
(infinite mean tau) from concentrated ones, and by a Tauberian argument the
same beta sets the decay of the mixture envelope f(l) = mean_q exp(-l/tau_q)
~ Gamma(1 + beta) l^-beta.

Every function takes one member's tau vector and an optional validity mask
(a neuron counts when the mask is True and tau is finite and > 0) and
returns a NamedTuple; too few valid neurons or other degenerate input give
``resolved=False`` with a reason, never an exception.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import scipy.stats
from scipy.special import logsumexp

TAIL_Q_LO = 0.75  # Livi (digest section 4.2)
TAIL_Q_HI = 0.995  # Livi (digest section 4.2)
MIN_VALID_TAU = 16  # Livi (digest section 4.2); our choice to use it for every spectrum summary
MIN_TAIL_POINTS = 8  # Livi (digest section 4.2)
N_BOOT = 2000  # Livi (digest section 4.2)
INTERVAL_LEVEL = 0.90  # Livi (digest section 4.2)
MIN_BOOT_FRACTION = 0.5  # our choice: fewer usable replicates would make the interval a conditional one
BOOT_CHUNK = 256  # replicates per vectorised block, to bound memory at large H
ML_XMIN_QUANTILES = (0.5, 0.9)  # our choice: the tail start is searched between the median and the 0.9 quantile
MIXTURE_LAGS = np.linspace(64.0, 512.0, 32)  # Livi (digest section 4.3): 32 lags over [64, 512]

_NAN = float("nan")


class TailFit(NamedTuple):
    """CCDF tail regression: log S(x) = const + slope log x; beta = max(0, -slope)."""

    resolved: bool
    reason: str
    beta: float
    slope: float
    r2: float
    n_fit: int
    n_valid: int
    x_lo: float
    x_hi: float


class BetaInterval(NamedTuple):
    """Neuron-bootstrap percentile interval of the tail-fit beta, and P(beta < 1)."""

    resolved: bool
    reason: str
    lo: float
    hi: float
    median: float
    p_below_one: float
    n_used: int
    n_boot: int


class MLTailFit(NamedTuple):
    """Maximum-likelihood tail exponent with a KS-chosen tail start (Clauset et al.).

    ``alpha_pdf`` is the density exponent p(x) ~ x^-alpha_pdf of the ``powerlaw``
    package; ``beta = alpha_pdf - 1`` is the CCDF exponent, P(tau > x) ~ x^-beta,
    comparable with ``TailFit.beta``. ``stderr`` is the asymptotic standard
    error (alpha_pdf - 1)/sqrt(n_tail), the same for beta and alpha_pdf.
    """

    resolved: bool
    reason: str
    beta: float
    alpha_pdf: float
    stderr: float
    xmin: float
    n_tail: int


class MixtureExponent(NamedTuple):
    """beta_env = -slope of log f_mix(l) on log l over the mixture lags, with R^2."""

    resolved: bool
    reason: str
    beta_env: float
    r2: float


class LogRateRange(NamedTuple):
    """Delta zeta = zeta_q90 - zeta_q10 of the log-rates zeta = -log tau."""

    resolved: bool
    reason: str
    delta_zeta: float
    zeta_q10: float
    zeta_q90: float


def valid_tau(tau, valid=None) -> np.ndarray:
    """The tau values that count: mask True (if given), finite and > 0, as a flat float array.

    A mask whose shape differs from tau's selects nothing.
    """
    with np.errstate(all="ignore"):
        tau = np.asarray(tau, dtype=float).ravel()
        keep = np.isfinite(tau) & (tau > 0)
    if valid is not None:
        valid = np.asarray(valid, dtype=bool).ravel()
        if valid.shape != tau.shape:
            return np.zeros(0)
        keep &= valid
    return tau[keep]


def _too_few(n: int, need: int) -> str:
    return f"{n} valid tau, need {need}"


def log_rates(tau, valid=None) -> np.ndarray:
    """zeta_q = -log tau_q, NaN where the neuron is invalid. Livi (digest papers/livi.md, section 1 and 4.2)."""
    with np.errstate(all="ignore"):
        tau = np.asarray(tau, dtype=float)
        keep = np.isfinite(tau) & (tau > 0)
        if valid is not None:
            valid = np.asarray(valid, dtype=bool)
            keep = keep & valid if valid.shape == tau.shape else np.zeros_like(keep)
        return np.where(keep, -np.log(np.where(keep, tau, 1.0)), np.nan)


def log_rate_range(tau, valid=None, min_valid: int = MIN_VALID_TAU) -> LogRateRange:
    """Delta zeta = zeta_q90 - zeta_q10 over the valid neurons.

    Livi (digest papers/livi.md, section 4.2): the log-rate dynamic range of
    the spectrum. Quantiles by linear interpolation; at least ``min_valid``
    valid tau (our choice, as for beta).
    """
    tau = valid_tau(tau, valid)
    if tau.size < min_valid:
        return LogRateRange(False, _too_few(tau.size, min_valid), _NAN, _NAN, _NAN)
    q10, q90 = np.quantile(-np.log(tau), [0.10, 0.90])
    return LogRateRange(True, "", float(q90 - q10), float(q10), float(q90))


def _tail_regression(sorted_rows: np.ndarray, q_lo: float, q_hi: float):
    """CCDF tail regression on each row of an ascending-sorted (R, n) array.

    S(x) is the fraction of the row strictly greater than x, taken at the
    unique values between the q_lo and q_hi quantiles (inclusive) where
    S > 0. At the last copy of a value at 0-based position i, S = (n-1-i)/n.
    Returns (slope, r2, n_fit) arrays; slope and r2 are NaN where n_fit < 2.
    """
    n = sorted_rows.shape[1]
    bounds = np.quantile(sorted_rows, [q_lo, q_hi], axis=1)
    last_copy = np.ones(sorted_rows.shape, dtype=bool)
    last_copy[:, :-1] = sorted_rows[:, :-1] < sorted_rows[:, 1:]
    surv = (n - 1 - np.arange(n)) / n
    use = last_copy & (sorted_rows >= bounds[0][:, None]) & (sorted_rows <= bounds[1][:, None]) & (surv > 0)
    n_fit = use.sum(axis=1)

    with np.errstate(all="ignore"):
        x = np.log(sorted_rows)
        y = np.log(np.where(surv > 0, surv, 1.0))[None, :]
        mean_x = np.where(use, x, 0).sum(axis=1) / n_fit
        mean_y = np.where(use, y, 0).sum(axis=1) / n_fit
        dx = np.where(use, x - mean_x[:, None], 0.0)
        dy = np.where(use, y - mean_y[:, None], 0.0)
        sxx, sxy, syy = (dx * dx).sum(axis=1), (dx * dy).sum(axis=1), (dy * dy).sum(axis=1)
        slope = np.where((n_fit >= 2) & (sxx > 0), sxy / sxx, np.nan)
        r2 = np.where((n_fit >= 2) & (sxx > 0) & (syy > 0), sxy * sxy / (sxx * syy), np.nan)
    return slope, r2, n_fit


def ccdf_tail_fit(tau, valid=None, q_lo: float = TAIL_Q_LO, q_hi: float = TAIL_Q_HI) -> TailFit:
    """Spectral exponent beta from the upper tail of the tau CCDF.

    Livi (digest papers/livi.md, section 4.2): keep the valid tau between the
    0.75 and 0.995 quantiles; regress log S(x) on log x, S(x) the fraction of
    tau greater than x, at the unique sorted points; beta = max(0, -slope),
    with the regression's R^2. Needs >= 16 valid tau and >= 8 fit points.
    """
    tau = valid_tau(tau, valid)
    if tau.size < MIN_VALID_TAU:
        return TailFit(False, _too_few(tau.size, MIN_VALID_TAU), _NAN, _NAN, _NAN, 0, tau.size, _NAN, _NAN)
    rows = np.sort(tau)[None, :]
    x_lo, x_hi = (float(v) for v in np.quantile(tau, [q_lo, q_hi]))
    slope, r2, n_fit = (a[0] for a in _tail_regression(rows, q_lo, q_hi))
    n_fit = int(n_fit)
    if n_fit < MIN_TAIL_POINTS or not np.isfinite(slope):
        reason = f"{n_fit} tail points between the {q_lo} and {q_hi} quantiles, need {MIN_TAIL_POINTS}"
        return TailFit(False, reason, _NAN, _NAN, _NAN, n_fit, tau.size, x_lo, x_hi)
    return TailFit(True, "", max(0.0, float(-slope)), float(slope), float(r2), n_fit, tau.size, x_lo, x_hi)


def bootstrap_beta(
    tau,
    valid=None,
    n_boot: int = N_BOOT,
    level: float = INTERVAL_LEVEL,
    seed: int | np.random.Generator = 0,
    q_lo: float = TAIL_Q_LO,
    q_hi: float = TAIL_Q_HI,
) -> BetaInterval:
    """Neuron bootstrap of the CCDF tail-fit beta: a 90 % interval and P(beta < 1).

    Livi (digest papers/livi.md, section 4.2): resample the valid neurons with
    replacement ``n_boot`` times (B = 2000) and refit beta on each resample.
    The interval is beta_hat +/- z sd_boot around the full-sample estimate,
    with sd_boot the standard deviation of the replicates (our choice: the
    digest's percentile interval under-covers, 86-88 % at nominal 90 % on
    i.i.d. Pareto spectra with H = 512, because the replicates are skewed
    against the estimator; sd_boot matches the sampling s.d. within ~10 %
    there, and the normal interval covers 91 %). ``median`` is the median
    replicate; P(beta < 1) is the fraction of replicates below 1.
    Neurons of one network are not independent, so read the interval as the
    stability of the empirical spectrum, not as a confidence interval.
    Replicates with fewer than 8 fit points are dropped; at least half must
    remain (our choice).
    """
    tau = valid_tau(tau, valid)
    n_boot = int(n_boot)
    if tau.size < MIN_VALID_TAU:
        return BetaInterval(False, _too_few(tau.size, MIN_VALID_TAU), _NAN, _NAN, _NAN, _NAN, 0, n_boot)
    if n_boot < 1:
        return BetaInterval(False, "n_boot must be >= 1", _NAN, _NAN, _NAN, _NAN, 0, n_boot)
    rng = np.random.default_rng(seed)
    betas = []
    for start in range(0, n_boot, BOOT_CHUNK):
        rows = np.sort(tau[rng.integers(0, tau.size, size=(min(BOOT_CHUNK, n_boot - start), tau.size))], axis=1)
        slope, _, n_fit = _tail_regression(rows, q_lo, q_hi)
        betas.append(np.where(n_fit >= MIN_TAIL_POINTS, np.maximum(0.0, -slope), np.nan))
    betas = np.concatenate(betas)
    betas = betas[np.isfinite(betas)]
    if betas.size < MIN_BOOT_FRACTION * n_boot:
        reason = f"only {betas.size} of {n_boot} resamples had {MIN_TAIL_POINTS} tail points"
        return BetaInterval(False, reason, _NAN, _NAN, _NAN, _NAN, int(betas.size), n_boot)
    half_width = scipy.stats.norm.ppf((1 + level) / 2) * np.std(betas)
    estimate = ccdf_tail_fit(tau, None, q_lo, q_hi).beta
    lo, hi, median = max(0.0, estimate - half_width), estimate + half_width, np.median(betas)
    return BetaInterval(
        True, "", float(lo), float(hi), float(median), float(np.mean(betas < 1.0)), int(betas.size), n_boot
    )


def ml_tail_exponent(tau, valid=None, xmin_quantiles: tuple[float, float] = ML_XMIN_QUANTILES) -> MLTailFit:
    """Maximum-likelihood CCDF exponent with an automatic tail start, via ``powerlaw``.

    A second estimator of beta, independent of the CCDF regression: for a
    continuous power law p(x) = (alpha - 1)/xmin (x/xmin)^-alpha above xmin, the
    MLE is alpha = 1 + n / sum log(x_i/xmin) and xmin minimises the
    Kolmogorov-Smirnov distance (Clauset, Shalizi, Newman 2009); the CCDF
    exponent of Livi's beta (digest papers/livi.md, section 4.2) is
    beta = alpha - 1. The xmin search is bounded to the quantiles
    ``xmin_quantiles`` of the valid tau, for speed (our choice). Needs >= 16
    valid tau and >= 8 points in the chosen tail.
    """
    import powerlaw  # a slow import; only this estimator needs it

    def unresolved(reason):
        return MLTailFit(False, reason, _NAN, _NAN, _NAN, _NAN, 0)

    tau = valid_tau(tau, valid)
    if tau.size < MIN_VALID_TAU:
        return unresolved(_too_few(tau.size, MIN_VALID_TAU))
    bounds = tuple(float(q) for q in np.quantile(tau, xmin_quantiles))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            fit = powerlaw.Fit(tau, xmin=bounds, verbose=0)
            alpha, sigma, xmin = float(fit.power_law.alpha), float(fit.power_law.sigma), float(fit.xmin)
            n_tail = int(np.sum(tau >= xmin)) if np.isfinite(xmin) else 0
        except Exception as err:  # a third-party fit on arbitrary data: report, do not propagate
            return unresolved(f"powerlaw fit failed: {type(err).__name__}: {err}")
    if not (np.isfinite(alpha) and np.isfinite(xmin)):
        return unresolved("powerlaw found no tail start (too few distinct values in the xmin range)")
    if n_tail < MIN_TAIL_POINTS:
        return unresolved(f"{n_tail} points in the tail, need {MIN_TAIL_POINTS}")
    return MLTailFit(True, "", alpha - 1.0, alpha, sigma, xmin, n_tail)


def mixture_envelope(tau, lags=MIXTURE_LAGS, valid=None) -> np.ndarray:
    """f_mix(l) = mean_q exp(-l/tau_q) over the valid neurons (NaN if there are none).

    Livi (digest papers/livi.md, section 4.3): the mixture-of-exponentials
    (Laplace) representation of the envelope, f(l) = integral e^{-l/tau} p(tau) dtau.
    """
    return np.exp(_log_mixture_envelope(valid_tau(tau, valid), np.asarray(lags, dtype=float)))


def _log_mixture_envelope(tau: np.ndarray, lags: np.ndarray) -> np.ndarray:
    # in log space, so that a spectrum of short tau does not underflow to log 0
    if tau.size == 0:
        return np.full(lags.shape, np.nan)
    with np.errstate(all="ignore"):
        return logsumexp(-lags[..., None] / tau, axis=-1) - np.log(tau.size)


def mixture_exponent(tau, valid=None, lags=MIXTURE_LAGS, min_valid: int = MIN_VALID_TAU) -> MixtureExponent:
    """beta_env: the log-log decay exponent of the mixture envelope over 32 lags on [64, 512].

    Livi (digest papers/livi.md, section 4.3): f_mix(l) = mean_q exp(-l/tau_q);
    beta_env = -slope of the OLS fit of log f_mix(l) on log l, with its R^2.
    For P(tau > x) ~ C x^-beta, f_mix(l) ~ C Gamma(1 + beta) l^-beta, so
    beta_env estimates beta while the lags stay below the largest tau.
    Needs ``min_valid`` valid tau (our choice, as for beta) and >= 3 distinct
    positive lags.
    """
    tau = valid_tau(tau, valid)
    with np.errstate(all="ignore"):
        lags = np.asarray(lags, dtype=float).ravel()
        lags = np.unique(lags[np.isfinite(lags) & (lags > 0)])
    if tau.size < min_valid:
        return MixtureExponent(False, _too_few(tau.size, min_valid), _NAN, _NAN)
    if lags.size < 3:
        return MixtureExponent(False, f"{lags.size} distinct positive lags, need 3", _NAN, _NAN)
    y = _log_mixture_envelope(tau, lags)
    x = np.log(lags)
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(x))):
        return MixtureExponent(False, "mixture envelope is not finite on these lags", _NAN, _NAN)
    with np.errstate(all="ignore"):
        dx, dy = x - x.mean(), y - y.mean()
        sxx, sxy, syy = float(dx @ dx), float(dx @ dy), float(dy @ dy)
        slope = sxy / sxx if sxx > 0 else _NAN
        r2 = sxy * sxy / (sxx * syy) if syy > 0 else _NAN
    if not (np.isfinite(slope) and np.isfinite(syy)):
        return MixtureExponent(False, "log-log slope of the mixture envelope is not finite", _NAN, _NAN)
    return MixtureExponent(True, "", -slope, r2)
