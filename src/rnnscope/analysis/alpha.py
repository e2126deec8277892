"""Estimators of the stable tail index alpha of heavy-tailed fluctuations.

Livi 2026 measures the tail index alpha of the noise that drives training
(digest ``papers/livi.md``, section 6) in two ways:

- the gradient-noise alpha (section 6.1): projections of mini-batch gradients
  on K random directions, a McCulloch quantile estimate per direction and a
  Koutrouvelis empirical-characteristic-function (ECF) regression on the
  pooled, normalised projections;
- the calibrated forcing alpha (section 6.3): a Dekkers-Einmahl-de Haan moment
  estimate of the extreme-value index of |x|, mapped to alpha by simulating
  symmetric alpha-stable samples of the same size (indirect inference), with a
  Gaussian-null p-value.

Throughout, "symmetric alpha-stable" means the law with characteristic function
exp(-|sigma t|^alpha), 1 <= alpha <= 2 (alpha = 2: N(0, 2 sigma^2); alpha = 1:
Cauchy). Everything is NumPy/SciPy on plain arrays, seeded through
``numpy.random.Generator``.

The two top-level estimators, ``multi_direction_alpha`` and
``calibrated_tail_alpha``, never raise on bad data: constant data, too few
samples or non-finite values give ``resolved=False`` and a reason. The
building blocks below them return NaN where their statistic is undefined.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from scipy import integrate, optimize

ALPHA_MIN = 1.0
ALPHA_MAX = 2.0
MCCULLOCH_GRID_SIZE = 201
CI_LEVEL = 0.95
MIN_SAMPLES = 500
BOUNDARY_MIN_SAMPLES = 2000
BOUNDARY_LOW = 1.01
BOUNDARY_HIGH = 1.99
ECF_GRID_SIZE = 50
ECF_T_RANGE = (0.05, 3.0)
ECF_WINDOW = (0.01, 0.95)
ECF_MIN_POINTS = 5
ECF_RELAXED_WINDOW = (1e-4, 0.999)
ECF_RELAXED_MIN_POINTS = 3
TAIL_CALIBRATION_ALPHAS = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 1.95, 2.0)
GAUSSIAN_NULL_LEVEL = 0.05
SUBSTANTIVE_ALPHA = 1.8
HILL_AGREEMENT = 0.3

# Rows of a (replicates, n) work array are processed in blocks of about this
# many elements, so bootstrap and calibration memory stays near 64 MB.
_BLOCK_ELEMENTS = 1 << 23


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return np.random.default_rng(seed)


def _stream(seed: int, index: int) -> np.random.Generator:
    """Independent generator number ``index`` derived from ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def _row_blocks(n_rows: int, n_cols: int):
    """Slices of rows whose blocks hold about ``_BLOCK_ELEMENTS`` numbers."""
    step = max(1, _BLOCK_ELEMENTS // max(n_cols, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _percentile_interval(values: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (math.nan, math.nan)
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(values, [tail, 100.0 - tail])
    return (float(lo), float(hi))


# ---------------------------------------------------------------- sampling


def sample_symmetric_stable(
    alpha: float, size, rng: int | np.random.Generator | None = None, scale: float = 1.0
) -> np.ndarray:
    r"""Symmetric alpha-stable draws by the Chambers-Mallows-Stuck method.

    With U ~ Uniform(-pi/2, pi/2) and W ~ Exponential(1) independent,

        X = sin(alpha U) / cos(U)^{1/alpha} * [cos((alpha - 1) U) / W]^{(1 - alpha)/alpha},

    and X = tan U for alpha = 1. X has characteristic function exp(-|t|^alpha),
    the same law as ``scipy.stats.levy_stable(alpha, 0)``; alpha = 2 gives
    N(0, 2). Livi (digest papers/livi.md, section 6.4) uses this sampler for
    the injected forcing; here it drives calibration and tests.

    Chambers, Mallows & Stuck, JASA 71 (1976) 340-344.
    """
    if not ALPHA_MIN <= alpha <= ALPHA_MAX:
        raise ValueError(f"alpha={alpha!r} outside [1, 2]")
    gen = _rng(rng)
    u = gen.uniform(-math.pi / 2, math.pi / 2, size)
    if alpha == 1.0:
        return scale * np.tan(u)
    w = gen.standard_exponential(size)
    with np.errstate(divide="ignore"):
        x = (
            np.sin(alpha * u)
            / np.cos(u) ** (1.0 / alpha)
            * (np.cos((alpha - 1.0) * u) / w) ** ((1.0 - alpha) / alpha)
        )
    return scale * x


# ---------------------------------------------------------------- McCulloch


def symmetric_stable_cdf(x: float, alpha: float) -> float:
    r"""CDF of the standard symmetric alpha-stable law by Fourier inversion.

    Gil-Pelaez inversion of the characteristic function exp(-|t|^alpha):

        F(x) = 1/2 + (1/pi) int_0^inf exp(-t^alpha) sin(x t) / t dt,

    integrated with QUADPACK (plain on [0, 1], the oscillatory QAWF rule on
    [1, inf)). Accurate to about 1e-10 for 1 <= alpha <= 2.
    """
    head, _ = integrate.quad(lambda t: math.exp(-(t**alpha)) * math.sin(x * t) / t, 0.0, 1.0, limit=200)
    tail, _ = integrate.quad(lambda t: math.exp(-(t**alpha)) / t, 1.0, math.inf, weight="sin", wvar=x)
    return 0.5 + (head + tail) / math.pi


def symmetric_stable_quantile(p: float, alpha: float) -> float:
    """Quantile of the standard symmetric alpha-stable law, for 0.5 < p < 0.99."""
    return optimize.brentq(lambda x: symmetric_stable_cdf(x, alpha) - p, 0.1, 100.0, xtol=1e-12)


class QuantileRatioTable(NamedTuple):
    """McCulloch's nu_alpha = (q95 - q05)/(q75 - q25) of S_alpha(1, 0, 0) on an alpha grid."""

    alphas: np.ndarray
    ratios: np.ndarray


@functools.cache
def mcculloch_table() -> QuantileRatioTable:
    """The 201-point table of nu(alpha) on alpha in [1, 2], computed once per process.

    Livi (digest papers/livi.md, section 6.1) builds it from
    ``scipy.stats.levy_stable`` quantiles. Our choice: we invert the CDF by
    quadrature instead (``symmetric_stable_cdf``), which takes about 1 s for
    the whole table and agrees with ``levy_stable.ppf`` to 1e-8 away from
    alpha = 1; ``levy_stable.ppf`` treats every alpha within 0.005 of 1 as
    exactly 1, which would misplace the grid point alpha = 1.005. By
    symmetry q05 = -q95 and q25 = -q75, so nu = q95/q75.
    """
    alphas = np.linspace(ALPHA_MIN, ALPHA_MAX, MCCULLOCH_GRID_SIZE)
    ratios = np.array(
        [symmetric_stable_quantile(0.95, a) / symmetric_stable_quantile(0.75, a) for a in alphas]
    )
    alphas.setflags(write=False)
    ratios.setflags(write=False)
    return QuantileRatioTable(alphas, ratios)


def quantile_ratio(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """nu = (q95 - q05)/(q75 - q25) along ``axis``; NaN where the IQR is zero."""
    q05, q25, q75, q95 = np.quantile(np.asarray(x, dtype=float), [0.05, 0.25, 0.75, 0.95], axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(q75 > q25, (q95 - q05) / (q75 - q25), np.nan)


def alpha_from_quantile_ratio(nu) -> np.ndarray:
    """Invert nu(alpha) on ``mcculloch_table`` by linear interpolation.

    nu decreases from 6.31 (Cauchy) to 2.44 (Gaussian); ratios beyond either
    end map to alpha = 1 or 2. NaN stays NaN.
    """
    table = mcculloch_table()
    nu = np.asarray(nu, dtype=float)
    return np.where(np.isnan(nu), np.nan, np.interp(nu, table.ratios[::-1], table.alphas[::-1]))


class McCullochAlpha(NamedTuple):
    """McCulloch point estimate, its bootstrap percentile interval and the ratio nu."""

    alpha: float
    ci: tuple[float, float]
    nu: float


def mcculloch_alpha(
    x,
    n_boot: int = 200,
    rng: int | np.random.Generator | None = 0,
    level: float = CI_LEVEL,
) -> McCullochAlpha:
    r"""McCulloch quantile estimate of alpha for symmetric stable data.

        nu_hat = (q95 - q05)/(q75 - q25),   alpha_hat = nu^{-1}(nu_hat),

    nu(alpha) the same ratio for S_alpha(1, 0, 0), inverted on the 201-point
    grid over [1, 2] (``mcculloch_table``). The interval is the percentile
    bootstrap over ``n_boot`` resamples (``n_boot=0``: no interval, NaN).
    Livi (digest papers/livi.md, section 6.1, step 3).

    McCulloch, Commun. Statist. Simul. Comput. 15 (1986) 1109-1136.

    Location and scale free. Returns NaN (alpha and interval) when the
    interquartile range is zero or x holds non-finite values.
    """
    x = np.asarray(x, dtype=float).ravel()
    if x.size == 0 or not np.all(np.isfinite(x)):
        return McCullochAlpha(math.nan, (math.nan, math.nan), math.nan)
    nu = float(quantile_ratio(x))
    alpha = float(alpha_from_quantile_ratio(nu))
    if n_boot <= 0 or math.isnan(alpha):
        return McCullochAlpha(alpha, (math.nan, math.nan), nu)
    gen = _rng(rng)
    boot = np.empty(n_boot)
    for rows in _row_blocks(n_boot, x.size):
        idx = gen.integers(0, x.size, size=(rows.stop - rows.start, x.size))
        boot[rows] = alpha_from_quantile_ratio(quantile_ratio(x[idx], axis=1))
    return McCullochAlpha(alpha, _percentile_interval(boot, level), nu)


# ---------------------------------------------------------------- ECF regression


def robust_scale(x: np.ndarray) -> float:
    """s = IQR/1.349, the standard deviation for Gaussian data."""
    q25, q75 = np.quantile(x, [0.25, 0.75])
    return float((q75 - q25) / 1.349)


def ecf_modulus_squared(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """|phi_hat(t)|^2 = mean(cos t z)^2 + mean(sin t z)^2, accumulated in blocks of samples."""
    cos_sum = np.zeros(t.size)
    sin_sum = np.zeros(t.size)
    for rows in _row_blocks(z.size, t.size):
        tz = np.outer(z[rows], t)
        cos_sum += np.cos(tz).sum(axis=0)
        sin_sum += np.sin(tz).sum(axis=0)
    return (cos_sum / z.size) ** 2 + (sin_sum / z.size) ** 2


def ecf_points(phi2: np.ndarray) -> tuple[np.ndarray, str]:
    """Which t-grid points the ECF regression uses, and at which window.

    Livi (digest papers/livi.md, section 6.1, step 4): keep 0.01 < |phi|^2 <
    0.95 if that leaves at least 5 points, else 1e-4 < |phi|^2 < 0.999 if that
    leaves at least 3, else none (the caller falls back to McCulloch).
    Returns the boolean mask and "ecf", "ecf-relaxed" or "none".
    """
    for (lo, hi), need, label in (
        (ECF_WINDOW, ECF_MIN_POINTS, "ecf"),
        (ECF_RELAXED_WINDOW, ECF_RELAXED_MIN_POINTS, "ecf-relaxed"),
    ):
        mask = (phi2 > lo) & (phi2 < hi)
        if mask.sum() >= need:
            return mask, label
    return np.zeros_like(phi2, dtype=bool), "none"


def _weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted least squares y = c + m x; returns (c, m)."""
    xm = np.sum(w * x) / np.sum(w)
    ym = np.sum(w * y) / np.sum(w)
    m = np.sum(w * (x - xm) * (y - ym)) / np.sum(w * (x - xm) ** 2)
    return float(ym - m * xm), float(m)


class EcfAlpha(NamedTuple):
    """ECF estimate of alpha and sigma; ``method`` says which rule produced it.

    method: "ecf" (strict window), "ecf-relaxed" (relaxed window) or
    "mcculloch" (too few usable points; alpha is McCulloch's, sigma NaN).
    """

    alpha: float
    sigma: float
    n_points: int
    method: str


def fit_ecf_line(t: np.ndarray, phi2: np.ndarray) -> EcfAlpha:
    r"""Weighted regression of log(-log|phi|^2) on log t for a standardised sample.

    On the points chosen by ``ecf_points``, fit

        log(-log |phi(t)|^2) = log(2 sigma^alpha) + alpha log t

    by weighted least squares with weights exp(-2 (log|phi|^2 + 0.7)^2); alpha
    is the slope clipped to [1, 2]; sigma comes from the intercept refitted at
    the clipped alpha (our choice, so that alpha and sigma describe one law).
    Livi (digest papers/livi.md, section 6.1, step 4). With too few usable
    points, method is "none" and alpha and sigma are NaN.
    """
    mask, method = ecf_points(phi2)
    if method == "none":
        return EcfAlpha(math.nan, math.nan, 0, method)
    log_t = np.log(t[mask])
    log_phi2 = np.log(phi2[mask])
    y = np.log(-log_phi2)
    w = np.exp(-2.0 * (log_phi2 + 0.7) ** 2)
    _, slope = _weighted_line(log_t, y, w)
    if not math.isfinite(slope):
        return EcfAlpha(math.nan, math.nan, int(mask.sum()), method)
    alpha = float(np.clip(slope, ALPHA_MIN, ALPHA_MAX))
    intercept = np.sum(w * (y - alpha * log_t)) / np.sum(w)
    sigma = float(np.exp(intercept) / 2.0) ** (1.0 / alpha)
    return EcfAlpha(alpha, sigma, int(mask.sum()), method)


def ecf_alpha(x) -> EcfAlpha:
    r"""Koutrouvelis-style regression on the empirical characteristic function.

    For symmetric stable data |phi(t)|^2 = exp(-2 sigma^alpha |t|^alpha), so

        log(-log |phi_hat(t)|^2) = log(2 sigma^alpha) + alpha log t.

    x is centred by its median and scaled by s = IQR/1.349; t runs over 50
    evenly spaced points on [0.05/s, 3/s] (on the scaled data: [0.05, 3]);
    the points are chosen by ``ecf_points``; the line is fitted by
    ``fit_ecf_line``: weighted least squares with weights
    exp(-2 (log|phi_hat|^2 + 0.7)^2), which favour |phi|^2 near e^{-0.7} ~ 0.5,
    away from both ends where log(-log|phi|^2) is noisy; alpha is the slope
    clipped to [1, 2]. With too few usable points the estimate falls back to
    McCulloch (method "mcculloch", sigma NaN). Livi (digest papers/livi.md,
    section 6.1, step 4).

    Koutrouvelis, JASA 75 (1980) 918-928.

    sigma is returned in the units of x (our addition). Returns NaN when x has
    non-finite values or a zero IQR.
    """
    x = np.asarray(x, dtype=float).ravel()
    nan = EcfAlpha(math.nan, math.nan, 0, "none")
    if x.size == 0 or not np.all(np.isfinite(x)):
        return nan
    s = robust_scale(x)
    if not (s > 0 and math.isfinite(s)):
        return nan
    with np.errstate(all="ignore"):
        z = (x - np.median(x)) / s
        if not np.all(np.isfinite(z)):
            return nan
        t = np.linspace(*ECF_T_RANGE, ECF_GRID_SIZE)
        fit = fit_ecf_line(t, ecf_modulus_squared(z, t))
    if fit.method == "none":
        return EcfAlpha(mcculloch_alpha(x, n_boot=0).alpha, math.nan, 0, "mcculloch")
    return fit._replace(sigma=s * fit.sigma)


# ---------------------------------------------------------------- several directions


class DirectionalAlpha(NamedTuple):
    """Gradient-noise alpha from K directions (``multi_direction_alpha``).

    alpha: the primary estimate (pooled ECF; CI-weighted median of the
        per-direction McCulloch estimates when ECF is unavailable).
    ci: pooled McCulloch bootstrap 95% interval.
    reliable, resolved, reason: see ``multi_direction_alpha``.
    method: "ecf", "ecf-relaxed" or "mcculloch": what produced ``alpha``.
    alpha_ecf: pooled ECF estimate (NaN if it fell back).
    alpha_mcculloch: CI-weighted median of per-direction McCulloch estimates.
    direction_alphas, direction_cis: per direction, (K,) and (K, 2); NaN for
        a direction with zero spread.
    sigma: ECF scale of the pooled, normalised samples.
    n_samples: pooled sample count.
    """

    alpha: float
    ci: tuple[float, float]
    reliable: bool
    resolved: bool
    reason: str
    method: str = "none"
    alpha_ecf: float = math.nan
    alpha_mcculloch: float = math.nan
    direction_alphas: np.ndarray = np.empty(0)
    direction_cis: np.ndarray = np.empty((0, 2))
    sigma: float = math.nan
    n_samples: int = 0


def _unresolved_directional(reason: str, n_samples: int = 0) -> DirectionalAlpha:
    return DirectionalAlpha(
        math.nan,
        (math.nan, math.nan),
        False,
        False,
        reason,
        direction_alphas=np.empty(0),
        direction_cis=np.empty((0, 2)),
        n_samples=n_samples,
    )


def ci_weighted_median(values: np.ndarray, widths: np.ndarray, min_width: float = 0.005) -> float:
    """Weighted median of ``values`` with weights 1/max(width, min_width).

    Livi (digest papers/livi.md, section 6.1, step 3) combines directions by a
    "CI-weighted median". Inverse-width weights and the floor are our choice:
    0.005 is the spacing of the McCulloch grid, so no interval is meaningfully
    narrower (and a zero-width interval at alpha = 2 gets a finite weight).
    The weighted median is the smallest value whose cumulative weight reaches
    half the total.
    """
    values = np.asarray(values, dtype=float)
    weights = 1.0 / np.maximum(np.asarray(widths, dtype=float), min_width)
    keep = np.isfinite(values) & np.isfinite(weights)
    if not keep.any():
        return math.nan
    order = np.argsort(values[keep])
    v, w = values[keep][order], weights[keep][order]
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, 0.5 * cum[-1])])


def mad_scale(x: np.ndarray) -> float:
    """Median absolute deviation from the median; IQR/2 if that is zero (our choice).

    The fallback keeps a direction whose values sit mostly on the median but
    still spread: for a symmetric law MAD = IQR/2.
    """
    med = np.median(x)
    mad = float(np.median(np.abs(x - med)))
    if mad > 0:
        return mad
    q25, q75 = np.quantile(x, [0.25, 0.75])
    return float((q75 - q25) / 2.0)


def _reliability(
    method: str,
    alpha: float,
    pooled_ci: tuple[float, float],
    direction_alphas: np.ndarray,
    direction_widths: np.ndarray,
    n_samples: int,
) -> tuple[bool, str]:
    if alpha <= BOUNDARY_LOW or alpha >= BOUNDARY_HIGH:
        if n_samples < BOUNDARY_MIN_SAMPLES:
            return False, (
                f"alpha={alpha:.3f} at the boundary of [1, 2] with {n_samples} samples "
                f"(fewer than {BOUNDARY_MIN_SAMPLES})"
            )
    if method != "mcculloch":
        lo, hi = pooled_ci
        if lo <= alpha <= hi:
            return True, f"ECF alpha inside the pooled McCulloch 95% CI [{lo:.3f}, {hi:.3f}]"
        return False, f"ECF alpha={alpha:.3f} outside the pooled McCulloch 95% CI [{lo:.3f}, {hi:.3f}]"
    finite = np.isfinite(direction_alphas)
    if not finite.any():
        return False, "no ECF estimate and no direction with a McCulloch interval"
    mean_width = float(np.mean(direction_widths[finite]))
    spread = float(np.std(direction_alphas[finite], ddof=1)) if finite.sum() > 1 else 0.0
    ok = mean_width < 0.3 and spread < 0.2
    return ok, (
        f"no ECF estimate; mean direction CI width {mean_width:.3f} (needs < 0.3), "
        f"cross-direction s.d. {spread:.3f} (needs < 0.2)"
    )


def multi_direction_alpha(
    samples,
    n_boot: int = 200,
    rng: int | np.random.Generator | None = 0,
    min_samples: int = MIN_SAMPLES,
) -> DirectionalAlpha:
    r"""Tail index of gradient noise projected on K directions.

    ``samples`` has shape (K, n): row k holds the projections <g_b, w_k> of
    n mini-batch gradients on direction w_k (a 1-D array is one direction).
    Livi (digest papers/livi.md, section 6.1, steps 3-6):

    1. per direction, McCulloch alpha with an ``n_boot`` bootstrap 95% CI
       (``mcculloch_alpha``); combined by ``ci_weighted_median``;
    2. pool the directions after z = (x - median)/MAD, per direction;
    3. primary alpha: ECF regression on the pool (``ecf_alpha``), clipped to
       [1, 2]; if ECF has too few usable points, the CI-weighted median of
       step 1 (our choice; the digest gives no primary value then);
    4. reliable if the ECF alpha lies in the pooled McCulloch bootstrap 95%
       CI; without ECF, if the mean per-direction CI width is < 0.3 and the
       cross-direction s.d. (ddof=1) is < 0.2;
    5. guards: at least ``min_samples`` (500) finite samples, positive
       spread, sigma > 0; alpha <= 1.01 or >= 1.99 is unreliable with fewer
       than 2000 samples.

    Directions with zero spread are left out of the pool and the median (our
    choice). Bad input never raises: ``resolved=False`` and ``reason`` say why.
    """
    try:
        x = np.asarray(samples, dtype=float)
    except (TypeError, ValueError) as err:
        return _unresolved_directional(f"samples are not a numeric array ({err})")
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        return _unresolved_directional(f"expected a (directions, samples) array, got shape {x.shape}")
    n_total = int(x.size)
    if n_total < min_samples:
        return _unresolved_directional(
            f"{n_total} samples, fewer than the {min_samples} required", n_total
        )
    if not np.all(np.isfinite(x)):
        return _unresolved_directional("samples contain NaN or infinite values", n_total)

    gen = _rng(rng)
    with np.errstate(all="ignore"):
        scales = np.array([mad_scale(row) for row in x])
        usable = np.isfinite(scales) & (scales > 0)
        if not usable.any():
            return _unresolved_directional("every direction has zero spread (degenerate IQR)", n_total)
        pool = np.concatenate(
            [(row - np.median(row)) / sc for row, sc in zip(x[usable], scales[usable])]
        )
        if pool.size < min_samples:
            return _unresolved_directional(
                f"{pool.size} samples in directions with non-zero spread, fewer than {min_samples}",
                n_total,
            )
        if not np.all(np.isfinite(pool)):
            return _unresolved_directional("normalised samples overflow", n_total)
        if not robust_scale(pool) > 0:
            return _unresolved_directional("pooled interquartile range is zero", n_total)

        direction_alphas = np.full(x.shape[0], math.nan)
        direction_cis = np.full((x.shape[0], 2), math.nan)
        for k in np.flatnonzero(usable):
            est = mcculloch_alpha(x[k], n_boot=n_boot, rng=gen)
            direction_alphas[k] = est.alpha
            direction_cis[k] = est.ci
        widths = direction_cis[:, 1] - direction_cis[:, 0]
        combined = ci_weighted_median(direction_alphas, widths)
        pooled = mcculloch_alpha(pool, n_boot=n_boot, rng=gen)
        ecf = ecf_alpha(pool)

    if ecf.method == "mcculloch" or not math.isfinite(ecf.alpha):
        method, alpha = "mcculloch", combined
    else:
        method, alpha = ecf.method, ecf.alpha
        if not (ecf.sigma > 0 and math.isfinite(ecf.sigma)):
            return _unresolved_directional(f"ECF scale sigma={ecf.sigma!r} is not positive", n_total)
    if not math.isfinite(alpha) or not all(map(math.isfinite, pooled.ci)):
        return _unresolved_directional("estimate is not finite", n_total)

    finite = np.isfinite(direction_alphas) & np.isfinite(widths)
    reliable, reason = _reliability(
        method, alpha, pooled.ci, direction_alphas[finite], widths[finite], int(pool.size)
    )
    return DirectionalAlpha(
        alpha=alpha,
        ci=pooled.ci,
        reliable=reliable,
        resolved=True,
        reason=reason,
        method=method,
        alpha_ecf=ecf.alpha if method != "mcculloch" else math.nan,
        alpha_mcculloch=combined,
        direction_alphas=direction_alphas,
        direction_cis=direction_cis,
        sigma=ecf.sigma,
        n_samples=int(pool.size),
    )


# ---------------------------------------------------------------- extreme values


def tail_count(n: int) -> int:
    """k = max(50, round(0.08 n)), capped at n // 4.

    Livi (digest papers/livi.md, section 6.3).
    """
    return int(min(max(50, round(0.08 * n)), n // 4))


class TailIndex(NamedTuple):
    """Extreme-value index estimates: moment (gamma) and Hill (gamma_hill)."""

    gamma: np.ndarray | float
    gamma_hill: np.ndarray | float


def _tail_index_rows(abs_dev: np.ndarray, k: int) -> TailIndex:
    """Moment and Hill estimates on each row of an (R, n) array of |x - median|."""
    n = abs_dev.shape[-1]
    top = np.partition(abs_dev, n - k - 1, axis=-1)[..., n - k - 1 :]
    with np.errstate(all="ignore"):
        threshold = top[..., :1]
        log_excess = np.log(top[..., 1:]) - np.log(threshold)
        m1 = log_excess.mean(axis=-1)
        m2 = (log_excess**2).mean(axis=-1)
        gamma = m1 + 1.0 - 0.5 / (1.0 - m1**2 / m2)
    bad = ~(threshold[..., 0] > 0) | ~np.isfinite(gamma) | ~(m2 > 0)
    return TailIndex(np.where(bad, np.nan, gamma), np.where(bad, np.nan, m1))


def _centred_abs(rows: np.ndarray) -> np.ndarray:
    return np.abs(rows - np.median(rows, axis=-1, keepdims=True))


def moment_tail_index(x, k: int | None = None) -> TailIndex:
    r"""Dekkers-Einmahl-de Haan moment estimator and Hill estimator on |x - median(x)|.

    With X_(1) >= ... >= X_(k+1) the largest order statistics of |x - median|
    and L_i = log X_(i) - log X_(k+1),

        M1 = mean(L),  M2 = mean(L^2),
        gamma = M1 + 1 - 1/2 (1 - M1^2/M2)^{-1},   gamma_Hill = M1.

    k defaults to ``tail_count(n)``. For a power tail P(|X| > x) ~ x^{-a},
    gamma -> 1/a; for a Gaussian gamma -> 0. Livi (digest papers/livi.md,
    section 6.3). Centring by the median is our choice (the digest centres
    the buffered samples by the median before this step).

    Dekkers, Einmahl & de Haan, Ann. Statist. 17 (1989) 1833-1855;
    Hill, Ann. Statist. 3 (1975) 1163-1174.

    NaN when the (k+1)-th largest deviation is zero or the data are not finite.
    """
    x = np.asarray(x, dtype=float).ravel()
    k = tail_count(x.size) if k is None else int(k)
    if not 1 <= k < x.size or not np.all(np.isfinite(x)):
        return TailIndex(math.nan, math.nan)
    est = _tail_index_rows(_centred_abs(x), k)
    return TailIndex(float(est.gamma), float(est.gamma_hill))


class TailCalibration(NamedTuple):
    """Simulated moment and Hill estimates of symmetric stable samples of size n.

    alphas: the calibration grid (12 values in [1, 2]).
    gamma, gamma_hill: (len(alphas), n_replicates) draws.
    gamma_curve, hill_curve: medians over replicates, made non-increasing in
        alpha (``monotone_decreasing``).
    """

    alphas: np.ndarray
    gamma: np.ndarray
    gamma_hill: np.ndarray
    gamma_curve: np.ndarray
    hill_curve: np.ndarray

    @property
    def gamma_null(self) -> np.ndarray:
        """Moment estimates of Gaussian (alpha = 2) samples: the null distribution."""
        return self.gamma[-1]


def monotone_decreasing(y: np.ndarray) -> np.ndarray:
    """Least-squares non-increasing fit (pool-adjacent-violators), equal weights.

    The simulated median curves are decreasing in alpha up to Monte-Carlo
    noise, which matters where they flatten near alpha = 2.
    """
    blocks: list[list[float]] = []  # [mean, count]
    for value in np.asarray(y, dtype=float):
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            mean, count = blocks.pop()
            prev = blocks[-1]
            prev[0] = (prev[0] * prev[1] + mean * count) / (prev[1] + count)
            prev[1] += count
    return np.concatenate([np.full(int(count), mean) for mean, count in blocks])


def invert_curve(gamma, alphas: np.ndarray, curve: np.ndarray, resolution: int = 2001) -> np.ndarray:
    """alpha with curve(alpha) = gamma for a non-increasing piecewise-linear curve.

    Where the curve is flat at gamma, the midpoint of the flat stretch; a gamma
    above curve(1) gives 1, below curve(2) gives 2 (alpha is clipped to
    [1, 2]). The curve is evaluated on ``resolution`` points, so alpha is
    exact to 1/(resolution - 1). NaN stays NaN.
    """
    gamma = np.asarray(gamma, dtype=float)
    fine = np.linspace(alphas[0], alphas[-1], resolution)
    values = np.interp(fine, alphas, curve)
    g = gamma.reshape(-1, 1)
    below = values <= g
    above = values >= g
    first_below = np.where(below.any(axis=1), fine[np.argmax(below, axis=1)], fine[-1])
    last_above = np.where(above.any(axis=1), fine[::-1][np.argmax(above[:, ::-1], axis=1)], fine[0])
    alpha = 0.5 * (first_below + last_above)
    return np.where(np.isnan(gamma), np.nan, alpha.reshape(gamma.shape))


@functools.lru_cache(maxsize=32)
def tail_calibration(n: int, k: int, seed: int = 0, n_replicates: int = 200) -> TailCalibration:
    r"""Matched-n calibration of the moment and Hill estimators (indirect inference).

    For alpha in {1.0, 1.1, ..., 1.9, 1.95, 2.0}, draw ``n_replicates``
    symmetric alpha-stable samples of size n (``sample_symmetric_stable``) and
    apply exactly the statistic used on data (``moment_tail_index`` with this
    k); the median curves gamma(alpha) and gamma_Hill(alpha) map an estimate
    back to alpha. Livi (digest papers/livi.md, section 6.3).

    Cached on (n, k, seed, n_replicates): a repeated call is free. Arrays are
    read-only so the cache cannot be altered. Cost grows as
    12 n n_replicates draws: about 5 s at n = 20000, 200 replicates (one core).
    """
    alphas = np.array(TAIL_CALIBRATION_ALPHAS)
    gen = _stream(seed, 0)
    gamma = np.empty((alphas.size, n_replicates))
    hill = np.empty((alphas.size, n_replicates))
    for i, alpha in enumerate(alphas):
        for rows in _row_blocks(n_replicates, n):
            draws = sample_symmetric_stable(alpha, (rows.stop - rows.start, n), gen)
            est = _tail_index_rows(_centred_abs(draws), k)
            gamma[i, rows] = est.gamma
            hill[i, rows] = est.gamma_hill
    gamma_curve = monotone_decreasing(np.nanmedian(gamma, axis=1))
    hill_curve = monotone_decreasing(np.nanmedian(hill, axis=1))
    for array in (alphas, gamma, hill, gamma_curve, hill_curve):
        array.setflags(write=False)
    return TailCalibration(alphas, gamma, hill, gamma_curve, hill_curve)


class CalibratedTailAlpha(NamedTuple):
    """Calibrated forcing alpha (``calibrated_tail_alpha``).

    alpha: alpha_eff, the moment estimate mapped through the calibration.
    ci: bootstrap 95% percentile interval of alpha_eff.
    reliable: |alpha_eff - alpha_hill| <= 0.3.
    resolved, reason: whether an estimate exists, and why (not).
    alpha_hill: Hill estimate mapped through the Hill calibration.
    gamma, gamma_hill: raw moment and Hill estimates.
    p_gaussian: p-value of the Gaussian null (alpha = 2) against heavier tails.
    detectably_heavy: p_gaussian <= 0.05.
    substantively_heavy: detectably heavy and ci[1] <= 1.8.
    k, n_samples: order statistics used, sample size.
    """

    alpha: float
    ci: tuple[float, float]
    reliable: bool
    resolved: bool
    reason: str
    alpha_hill: float = math.nan
    gamma: float = math.nan
    gamma_hill: float = math.nan
    p_gaussian: float = math.nan
    detectably_heavy: bool = False
    substantively_heavy: bool = False
    k: int = 0
    n_samples: int = 0


def _unresolved_tail(reason: str, n_samples: int = 0) -> CalibratedTailAlpha:
    return CalibratedTailAlpha(math.nan, (math.nan, math.nan), False, False, reason, n_samples=n_samples)


def gaussian_null_p_value(gamma_hat: float, gamma_null: np.ndarray) -> float:
    """p = (1 + #{gamma_null >= gamma_hat}) / (n_null + 1), ties counting against the data.

    Livi (digest papers/livi.md, section 6.3).
    """
    gamma_null = np.asarray(gamma_null, dtype=float)
    gamma_null = gamma_null[np.isfinite(gamma_null)]
    return float((1 + np.sum(gamma_null >= gamma_hat)) / (gamma_null.size + 1))


def calibrated_tail_alpha(
    x,
    n_boot: int = 100,
    n_replicates: int = 200,
    seed: int = 0,
    min_samples: int = MIN_SAMPLES,
) -> CalibratedTailAlpha:
    r"""Calibrated extreme-value estimate of alpha with a Gaussian-null test.

    Livi (digest papers/livi.md, section 6.3):

    1. k = max(50, round(0.08 n)), k <= n/4; moment estimate
       gamma = M1 + 1 - 1/2 (1 - M1^2/M2)^{-1} and Hill gamma_H = M1 on the k
       largest |x - median| (``moment_tail_index``);
    2. alpha_eff = inverse of the simulated median curve gamma(alpha) of
       symmetric alpha-stable samples of the same n (``tail_calibration``,
       ``n_replicates`` per grid point); alpha_Hill likewise from gamma_H;
    3. ci: percentile interval of alpha_eff over ``n_boot`` data bootstraps;
    4. p = (1 + #{gamma_null >= gamma_hat})/(n_null + 1), gamma_null the
       alpha = 2 calibration draws;
    5. detectably heavy: p <= 0.05; substantively heavy: also ci upper <=
       1.8; reliable: |alpha_eff - alpha_Hill| <= 0.3.

    ``seed`` fixes the calibration (cached per (n, k, seed, n_replicates)) and
    the bootstrap. At least ``min_samples`` (500) samples are required (our
    choice, as in section 6.1; k = 50 needs n >= 200 anyway). Bad input never
    raises: ``resolved=False`` and ``reason`` say why.
    """
    try:
        x = np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError) as err:
        return _unresolved_tail(f"samples are not a numeric array ({err})")
    n = int(x.size)
    if n < min_samples:
        return _unresolved_tail(f"{n} samples, fewer than the {min_samples} required", n)
    if not np.all(np.isfinite(x)):
        return _unresolved_tail("samples contain NaN or infinite values", n)
    k = tail_count(n)
    with np.errstate(all="ignore"):
        est = moment_tail_index(x, k)
    if not (math.isfinite(est.gamma) and math.isfinite(est.gamma_hill)):
        return _unresolved_tail(
            f"tail statistic undefined: |x - median| is zero or overflows "
            f"at order statistic {k + 1} of {n}",
            n,
        )

    calibration = tail_calibration(n, k, seed, n_replicates)
    alpha = float(invert_curve(est.gamma, calibration.alphas, calibration.gamma_curve))
    alpha_hill = float(invert_curve(est.gamma_hill, calibration.alphas, calibration.hill_curve))

    gen = _stream(seed, 1)
    boot = np.empty(n_boot)
    with np.errstate(all="ignore"):
        for rows in _row_blocks(n_boot, n):
            idx = gen.integers(0, n, size=(rows.stop - rows.start, n))
            boot[rows] = _tail_index_rows(_centred_abs(x[idx]), k).gamma
    ci = _percentile_interval(invert_curve(boot, calibration.alphas, calibration.gamma_curve))

    p = gaussian_null_p_value(est.gamma, calibration.gamma_null)
    detectable = p <= GAUSSIAN_NULL_LEVEL
    agree = abs(alpha - alpha_hill) <= HILL_AGREEMENT
    reason = (
        f"alpha_eff={alpha:.3f}, alpha_Hill={alpha_hill:.3f} "
        + ("agree" if agree else "differ by more than 0.3")
        + f"; Gaussian-null p={p:.3g}"
    )
    return CalibratedTailAlpha(
        alpha=alpha,
        ci=ci,
        reliable=bool(agree),
        resolved=True,
        reason=reason,
        alpha_hill=alpha_hill,
        gamma=est.gamma,
        gamma_hill=est.gamma_hill,
        p_gaussian=p,
        detectably_heavy=bool(detectable),
        substantively_heavy=bool(detectable and ci[1] <= SUBSTANTIVE_ALPHA),
        k=k,
        n_samples=n,
    )
