"""Drift of the coarse-grained log-rate process: binned drift, bulk restoring, far-left plateau.

Livi 2026 (digest papers/livi.md, section 5.3, the code's "Diagnostic 3",
and checklist D3 in section 8.3). The time scale tau_q of each neuron is
recorded at checkpoints during training; its log-rate zeta_q = -log tau_q is
modelled as a particle of a stochastic process

    dzeta = F(zeta) dt + (forcing),

with a restoring drift on the bulk (toward the median) and a saturating
far-left closure F(zeta) = kappa + o(1) as zeta -> -inf (digest section 5.1).
These functions measure F from the recorded checkpoints, late in training
(the last 30 % of checkpoints, at least 4), where the spectrum should be
near its stationary law.

Sign convention. zeta = -log tau, so the far LEFT of zeta (small zeta) is the
LONG-time-scale side. kappa > 0 means that the long time scales are pushed
back toward short ones, i.e. dzeta > 0 there; kappa <= 0 means nothing holds
the long-tau tail in (the collapsed runs of checklist E1a/E2 have
kappa_tail < 0).

Input convention: ``zeta`` is an array of shape (C, H), C checkpoints in
training order by H neurons, NaN where a neuron is invalid at a checkpoint
(``zeta_from_tau`` builds it from tau); ``steps`` (C,) holds the checkpoint
training steps or epochs, strictly increasing. ``increments`` turns them
into pooled samples (zeta_i, dzeta_i) with the checkpoint transition and the
neuron of each sample; the other estimators take those flat arrays.

Every estimator returns a NamedTuple with ``resolved`` and ``reason``; too
few checkpoints or samples, all-NaN or constant data give
``resolved=False`` with a reason, never an exception and never an invented
number.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.stats
import statsmodels.api as sm

from . import alpha as alpha_mod
from .spectrum import log_rates

LAST_FRACTION = 0.30  # Livi (digest section 5.3 step 1): the last 30 % of checkpoints
MIN_CHECKPOINTS = 4  # Livi (digest section 5.3 step 1): at least 4 checkpoints
N_BINS = 16  # our choice, inside the digest's 15-18 quantile bins (section 5.3 step 2)
TRIM = 0.10  # Livi (digest section 5.3 step 2): 10 %-trimmed mean (cut from each end, scipy's trim_mean)
MIN_PER_BIN = 10  # our choice: a 10 % trim removes nothing from fewer samples; such bins are left NaN
BULK_BAND = (0.25, 0.75)  # our choice: "near the median" = between the 25 % and 75 % quantiles of zeta
MIN_BULK_SAMPLES = 30  # our choice: fewest samples in the band for the bulk slope
Q_LOW = 0.10  # Livi (digest section 5.3 step 4): primary far-left slice zeta <= quantile_0.10
Q_LOW_SWEEP = (0.05, 0.10, 0.15)  # Livi (digest section 5.3 step 4)
MIN_SLICE = 200  # Livi (digest section 5.3 step 4): the slice needs at least 200 samples
MIN_TRANSITIONS = 3  # our choice: the fewest transitions a 4-checkpoint window gives
N_BOOT = 2000  # Livi (digest section 5.3 step 4)
INTERVAL_LEVEL = 0.90  # Livi (digest section 5.3 step 4): 90 % block-bootstrap interval
SLOPE_LEVEL = 0.90  # our choice: the digest gives no level for the slope interval; 90 % as for kappa_tail
# our choice: tolerance of the late changes of the mean (in cross-neuron s.d.) and of the variance
# (relative). Measured at H = 400 over 20 seeds: stationary Gaussian-like spectra give <= 0.12 for
# both, stationary Laplace-like ones 0.19 (variance, 90th percentile; 0.42 at worst); a spectrum
# diffusing from zero spread (variance linear in steps) gives ~0.32 (0.23-0.41).
MOMENT_TOL = 0.25
MIN_NEURONS = 16  # our choice, as spectrum.MIN_VALID_TAU: fewest valid neurons for a checkpoint's moments
MAD_TO_SIGMA = 1.482602218505602  # 1/Phi^-1(3/4): MAD of a Gaussian times this is its sigma
MIN_NEURON_RESIDUALS = 5  # our choice: fewest residuals per neuron for its MAD scale

# Rows of a (replicates, samples) bootstrap work array are processed in blocks of
# about this many elements (16 MB per float array).
_BLOCK_ELEMENTS = 1 << 21

_NAN = float("nan")
_EMPTY = np.zeros(0)
_EMPTY_INT = np.zeros(0, dtype=int)
_EMPTY.setflags(write=False)  # shared by every unresolved result
_EMPTY_INT.setflags(write=False)


# ---------------------------------------------------------------- result types


class Increments(NamedTuple):
    """Pooled late-training increments; sample j is neuron ``neuron[j]`` over transition ``transition[j]``.

    zeta: start values zeta_i; dzeta: (zeta_{i+1} - zeta_i)/(steps_{i+1} - steps_i);
    transition: checkpoint index i of the start (the block of the bootstrap);
    first_checkpoint: index of the window's first checkpoint;
    n_checkpoints: checkpoints in the window; n_transitions: transitions with a sample.
    """

    resolved: bool
    reason: str
    zeta: np.ndarray
    dzeta: np.ndarray
    transition: np.ndarray
    neuron: np.ndarray
    first_checkpoint: int
    n_checkpoints: int
    n_transitions: int


class BinnedDrift(NamedTuple):
    """F_hat(zeta) in quantile bins: trimmed mean of dzeta per bin.

    centres: median zeta in each bin; drift: trimmed mean (NaN in bins with
    fewer than ``MIN_PER_BIN`` samples); stderr: its Tukey-McLaughlin
    standard error; counts: samples per bin; edges: the (n_bins + 1) bin edges.
    """

    resolved: bool
    reason: str
    centres: np.ndarray
    drift: np.ndarray
    stderr: np.ndarray
    counts: np.ndarray
    edges: np.ndarray


class BulkStatistics(NamedTuple):
    """Restoring pull on the bulk.

    kappa_hat: -slope of the OLS fit dzeta = a + b zeta in the central band,
    with its OLS standard error; spearman_rho (and p) over all samples;
    inward_fraction: share of samples with (zeta - median) dzeta < 0;
    band: the zeta quantile values bounding the central band.
    """

    resolved: bool
    reason: str
    kappa_hat: float
    kappa_hat_se: float
    spearman_rho: float
    spearman_p: float
    inward_fraction: float
    median: float
    band: tuple[float, float]
    n_band: int
    n: int


class FarLeftPlateau(NamedTuple):
    """kappa_tail on the slice zeta <= quantile_{q_low}(zeta) and its pass rules.

    kappa_tail: trimmed mean of dzeta on the slice; (lo, hi): block-bootstrap
    percentile interval; positive: lo > 0. slope, (slope_lo, slope_hi): OLS
    slope of dzeta on zeta in the slice and its interval; flat: the interval
    contains 0. delta_bic: BIC_linear - BIC_constant on the slice;
    constant_preferred: delta_bic >= 0. cut: the quantile value; n_slice:
    samples in the slice; n_transitions: blocks of the bootstrap; n_boot:
    replicates drawn.
    """

    resolved: bool
    reason: str
    q_low: float
    kappa_tail: float
    lo: float
    hi: float
    positive: bool
    slope: float
    slope_lo: float
    slope_hi: float
    flat: bool
    delta_bic: float
    constant_preferred: bool
    cut: float
    n_slice: int
    n_transitions: int
    n_boot: int

    @property
    def passed(self) -> bool:
        """All three pass rules hold: positive, flat and constant preferred."""
        return bool(self.resolved and self.positive and self.flat and self.constant_preferred)


class MomentStabilisation(NamedTuple):
    """Cross-neuron moments of zeta per checkpoint and the late-training verdict.

    mean, variance, n_valid: per checkpoint (NaN where fewer than
    ``MIN_NEURONS`` neurons are valid); mean_change: |fitted change of the
    mean over the late window| / cross-neuron s.d.; variance_change: |fitted
    change of the variance| / mean variance (both over the late window);
    stabilised: both <= tol.
    """

    resolved: bool
    reason: str
    steps: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    n_valid: np.ndarray
    first_checkpoint: int
    mean_change: float
    variance_change: float
    stabilised: bool


class ResidualForcing(NamedTuple):
    """Tail index of the standardised far-left residuals dzeta - F_hat(zeta).

    alpha: the ``alpha.calibrated_tail_alpha`` result (None when not run);
    residuals: the standardised residuals of the far-left slice; cut: the
    zeta quantile bounding the slice; n_neurons: neurons with a usable scale.
    """

    resolved: bool
    reason: str
    alpha: alpha_mod.CalibratedTailAlpha | None
    residuals: np.ndarray
    cut: float
    n_slice: int
    n_neurons: int


class DriftDiagnostics(NamedTuple):
    """All of Diagnostic 3 on one run. ``closure``: the primary plateau passes every rule."""

    resolved: bool
    reason: str
    increments: Increments
    drift: BinnedDrift
    bulk: BulkStatistics
    plateau: FarLeftPlateau
    plateau_sweep: tuple[FarLeftPlateau, ...]
    moments: MomentStabilisation
    forcing: ResidualForcing | None
    closure: bool


def _unresolved_increments(reason: str, first: int = 0, n_checkpoints: int = 0) -> Increments:
    return Increments(False, reason, _EMPTY, _EMPTY, _EMPTY_INT, _EMPTY_INT, first, n_checkpoints, 0)


def _unresolved_drift(reason: str) -> BinnedDrift:
    return BinnedDrift(False, reason, _EMPTY, _EMPTY, _EMPTY, _EMPTY_INT, _EMPTY)


def _unresolved_bulk(reason: str, n: int = 0) -> BulkStatistics:
    return BulkStatistics(False, reason, _NAN, _NAN, _NAN, _NAN, _NAN, _NAN, (_NAN, _NAN), 0, n)


def _unresolved_plateau(reason: str, q_low: float, cut: float = _NAN, n_slice: int = 0, n_tr: int = 0):
    nan = _NAN
    return FarLeftPlateau(
        False, reason, float(q_low), nan, nan, nan, False, nan, nan, nan, False, nan, False, cut, n_slice, n_tr, 0
    )


def _unresolved_moments(reason: str, steps=_EMPTY, mean=_EMPTY, var=_EMPTY, n_valid=_EMPTY_INT, first=0):
    return MomentStabilisation(False, reason, steps, mean, var, n_valid, first, _NAN, _NAN, False)


def _unresolved_forcing(reason: str, cut: float = _NAN, n_slice: int = 0, n_neurons: int = 0):
    return ResidualForcing(False, reason, None, _EMPTY, cut, n_slice, n_neurons)


# ---------------------------------------------------------------- checkpoints and increments


def zeta_from_tau(tau) -> np.ndarray:
    """zeta = -log tau, element-wise, NaN where tau is non-finite or <= 0.

    Livi 2026, digest section 1 and 5.1: the log-rate is the state variable of
    the coarse-grained process. ``tau`` has shape (C, H) (any shape works).
    """
    return log_rates(tau)


def _checkpoints(zeta, steps) -> tuple[np.ndarray, np.ndarray, str]:
    """Validated (zeta (C, H) with non-finite -> NaN, steps (C,)), or a reason."""
    try:
        zeta = np.asarray(zeta, dtype=float)
        steps = np.asarray(steps, dtype=float)
    except (TypeError, ValueError) as err:
        return _EMPTY, _EMPTY, f"zeta and steps must be numeric arrays ({err})"
    if zeta.ndim != 2:
        return _EMPTY, _EMPTY, f"zeta must have shape (checkpoints, neurons), got {zeta.shape}"
    if steps.shape != (zeta.shape[0],):
        return _EMPTY, _EMPTY, f"steps has shape {steps.shape}, expected ({zeta.shape[0]},)"
    if not np.all(np.isfinite(steps)):
        return _EMPTY, _EMPTY, "steps must be finite"
    if np.any(np.diff(steps) <= 0):
        return _EMPTY, _EMPTY, "steps must increase strictly (checkpoints in training order)"
    return np.where(np.isfinite(zeta), zeta, np.nan), steps, ""


def late_window_start(
    n_checkpoints: int, last_fraction: float = LAST_FRACTION, min_checkpoints: int = MIN_CHECKPOINTS
) -> int:
    """Index of the first checkpoint of the late window.

    Livi 2026, digest section 5.3 step 1: the last 30 % of checkpoints, at
    least 4: the window holds max(min_checkpoints, ceil(last_fraction C))
    checkpoints (ceil is our choice), capped at C.
    """
    n_late = max(int(min_checkpoints), math.ceil(round(float(last_fraction) * n_checkpoints, 9)))
    return max(0, n_checkpoints - n_late)


def increments(
    zeta, steps, last_fraction: float = LAST_FRACTION, min_checkpoints: int = MIN_CHECKPOINTS
) -> Increments:
    """Per-step increments of zeta over the late checkpoints, pooled over neurons.

    Livi 2026, digest section 5.3 step 1: on the last 30 % of checkpoints (at
    least 4; ``late_window_start``), for every transition i -> i+1 and neuron q,

        dzeta = (zeta_q(t_{i+1}) - zeta_q(t_i)) / (t_{i+1} - t_i),

    paired with its start value zeta_q(t_i). Pairs where either end is NaN
    are dropped. Samples come transition by transition (neurons in order
    inside each); ``transition`` holds the start checkpoint index i, the block
    of the bootstrap in ``far_left_plateau``.
    """
    zeta, steps, reason = _checkpoints(zeta, steps)
    if reason:
        return _unresolved_increments(reason)
    n_ck = zeta.shape[0]
    if n_ck < min_checkpoints:
        return _unresolved_increments(f"{n_ck} checkpoints, need {min_checkpoints}", 0, n_ck)
    start = late_window_start(n_ck, last_fraction, min_checkpoints)
    a, b = zeta[start:-1], zeta[start + 1 :]
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return _unresolved_increments(
            f"no neuron is valid at both ends of any transition in the last {n_ck - start} checkpoints",
            start,
            n_ck - start,
        )
    gap = np.diff(steps[start:])[:, None]
    with np.errstate(all="ignore"):
        d = (b - a) / gap
    rows, cols = np.nonzero(ok)
    return Increments(
        True, "", a[ok], d[ok], start + rows, cols, start, n_ck - start, int(np.unique(rows).size)
    )


def _finite(*arrays) -> tuple[list[np.ndarray], str]:
    """The arrays flattened, with positions where any is non-finite dropped; or a reason."""
    try:
        arrays = [np.asarray(a, dtype=float).ravel() for a in arrays]
    except (TypeError, ValueError) as err:
        return [], f"inputs must be numeric arrays ({err})"
    if any(a.shape != arrays[0].shape for a in arrays):
        return [], f"inputs differ in length: {[a.size for a in arrays]}"
    keep = np.logical_and.reduce([np.isfinite(a) for a in arrays])
    return [a[keep] for a in arrays], ""


# ---------------------------------------------------------------- binned drift


def _trimmed_stderr(x: np.ndarray, trim: float) -> float:
    """Tukey-McLaughlin s.e. of the trimmed mean: s_winsorised / ((1 - 2g/n) sqrt n), g = int(trim n)."""
    n = x.size
    g = int(trim * n)
    if n - 2 * g < 2:
        return _NAN
    xs = np.sort(x)
    w = np.clip(xs, xs[g], xs[n - g - 1])
    return float(np.std(w, ddof=1) / ((1.0 - 2.0 * g / n) * math.sqrt(n)))


def binned_drift(
    zeta_i, dzeta, n_bins: int = N_BINS, trim: float = TRIM, min_per_bin: int = MIN_PER_BIN
) -> BinnedDrift:
    """Conditional drift F_hat(zeta) as the trimmed mean of dzeta in quantile bins of zeta.

    Livi 2026, digest section 5.3 step 2: with edges e_0 < ... < e_n at the
    quantiles 0, 1/n, ..., 1 of zeta (n = 16 here; the digest says 15-18),

        F_hat_b = trim_mean({dzeta_j : e_b <= zeta_j < e_{b+1}}, 0.10)

    (the last bin includes e_n; 10 % cut from each end, ``scipy.stats.trim_mean``).
    Edges that coincide (ties in zeta) are merged, so fewer bins may come back.
    Bin centres are the median zeta in each bin (our choice: the mid-edge
    point sits badly in the wide outer bins). Bins with fewer than
    ``min_per_bin`` samples get NaN; at least two usable bins are needed.
    """
    (z, dz), reason = _finite(zeta_i, dzeta)
    if reason:
        return _unresolved_drift(reason)
    if z.size < 2 * min_per_bin:
        return _unresolved_drift(f"{z.size} samples, need {2 * min_per_bin} for two bins")
    edges = np.unique(np.quantile(z, np.linspace(0.0, 1.0, int(n_bins) + 1)))
    if edges.size < 3:
        return _unresolved_drift("zeta has too few distinct values for two quantile bins")
    nb = edges.size - 1
    idx = np.clip(np.searchsorted(edges, z, side="right") - 1, 0, nb - 1)
    centres, drift, stderr = np.full(nb, _NAN), np.full(nb, _NAN), np.full(nb, _NAN)
    counts = np.bincount(idx, minlength=nb)
    for b in range(nb):
        sel = idx == b
        if counts[b] > 0:
            centres[b] = np.median(z[sel])
        if counts[b] >= min_per_bin:
            drift[b] = scipy.stats.trim_mean(dz[sel], trim)
            stderr[b] = _trimmed_stderr(dz[sel], trim)
    usable = int(np.sum(np.isfinite(drift)))
    if usable < 2:
        reason = f"{usable} bins with {min_per_bin} samples, need 2"
        return BinnedDrift(False, reason, centres, drift, stderr, counts, edges)
    small = nb - usable
    reason = f"{small} bins with fewer than {min_per_bin} samples left NaN" if small else ""
    return BinnedDrift(True, reason, centres, drift, stderr, counts, edges)


# ---------------------------------------------------------------- bulk


def bulk_statistics(
    zeta_i, dzeta, band: tuple[float, float] = BULK_BAND, min_samples: int = MIN_BULK_SAMPLES
) -> BulkStatistics:
    """Bulk restoring statistics: kappa_hat, Spearman rho and the inward fraction.

    Livi 2026, digest section 5.3 step 3:

    - kappa_hat = -b of the OLS fit dzeta = a + b zeta on the samples "near the
      median": our choice is the central band quantile_0.25(zeta) <= zeta <=
      quantile_0.75(zeta); for a bulk drift F = -k (zeta - m), kappa_hat -> k;
    - Spearman rho between zeta and dzeta, over all samples (our reading);
    - inward fraction = #{(zeta - median(zeta)) dzeta < 0} / n over all samples
      (zero products count as not inward); > 0.5 for a restoring drift, 0.5 for
      pure noise.

    kappa_hat_se is the OLS standard error, which treats samples as independent.
    """
    (z, dz), reason = _finite(zeta_i, dzeta)
    if reason:
        return _unresolved_bulk(reason)
    n = int(z.size)
    if n < min_samples:
        return _unresolved_bulk(f"{n} samples, need {min_samples}", n)
    med = float(np.median(z))
    lo, hi = (float(v) for v in np.quantile(z, band))
    in_band = (z >= lo) & (z <= hi)
    zb, dzb = z[in_band], dz[in_band]
    if zb.size < min_samples:
        return _unresolved_bulk(f"{zb.size} samples in the central band, need {min_samples}", n)
    if not zb.max() > zb.min():
        return _unresolved_bulk("zeta has no spread in the central band", n)
    if not dz.max() > dz.min():
        return _unresolved_bulk("dzeta is constant", n)
    fit = sm.OLS(dzb, np.column_stack([np.ones(zb.size), zb])).fit()
    rho, p = scipy.stats.spearmanr(z, dz)
    inward = float(np.mean((z - med) * dz < 0))
    kappa_hat, se = float(-fit.params[1]), float(fit.bse[1])
    return BulkStatistics(True, "", kappa_hat, se, float(rho), float(p), inward, med, (lo, hi), int(zb.size), n)


# ---------------------------------------------------------------- far-left plateau


def _lerp(a, b, t):
    """numpy.quantile's linear interpolation, written the same way so that cuts agree bit for bit."""
    diff = b - a
    out = a + diff * t
    return np.where(t >= 0.5, b - diff * (1.0 - t), out)


def _resampled_tail_means(
    z_sorted: np.ndarray,
    block_z: np.ndarray,
    z_by_dz: np.ndarray,
    dz_by_dz: np.ndarray,
    block_dz: np.ndarray,
    weights: np.ndarray,
    q_lows: tuple[float, ...],
    trim: float,
) -> np.ndarray:
    """Trimmed mean of dzeta over zeta <= quantile_q(zeta), for each row of block multiplicities.

    ``weights`` (R, T) gives how many copies of each block (transition) a
    replicate holds. For the expanded sample of each row this computes exactly
    np.quantile(z, q) (linear) and scipy.stats.trim_mean(dz[z <= cut], trim),
    without building the sample: z_sorted and block_z are zeta and its block in
    zeta order; z_by_dz, dz_by_dz and block_dz the same in dzeta order.
    Returns (R, len(q_lows)).
    """
    n_rows = weights.shape[0]
    w_z = weights[:, block_z]
    cum = np.cumsum(w_z, axis=1)
    total = cum[:, -1]
    # one searchsorted over all rows: offset row r by r * (max total + 1)
    offset = (np.arange(n_rows) * (int(total.max()) + 1))[:, None]
    flat = (cum + offset).ravel()
    n = z_sorted.size
    out = np.empty((n_rows, len(q_lows)))
    for k, q in enumerate(q_lows):
        h = (total - 1) * q
        below = np.floor(h)
        gamma = h - below
        above = np.minimum(below + 1, total - 1)

        def value_at(pos):
            p = np.searchsorted(flat, pos.astype(np.int64) + offset[:, 0], side="right") - np.arange(n_rows) * n
            return z_sorted[np.clip(p, 0, n - 1)]

        cut = _lerp(value_at(below), value_at(above), gamma)
        # only samples below the largest cut of the block can be in any slice
        cand = z_by_dz <= cut.max()
        w_d = weights[:, block_dz[cand]] * (z_by_dz[cand][None, :] <= cut[:, None])
        c = np.cumsum(w_d, axis=1)
        n_s = c[:, -1].astype(float)
        g = (trim * n_s).astype(np.int64).astype(float)
        upper = (n_s - g)[:, None]
        kept = np.clip(np.minimum(c, upper) - np.maximum(c - w_d, g[:, None]), 0, None)
        with np.errstate(all="ignore"):
            out[:, k] = (kept * dz_by_dz[cand][None, :]).sum(axis=1) / (n_s - 2 * g)
    return out


def far_left_plateaus(
    zeta_i,
    dzeta,
    transition,
    q_lows: tuple[float, ...] = Q_LOW_SWEEP,
    trim: float = TRIM,
    n_boot: int = N_BOOT,
    level: float = INTERVAL_LEVEL,
    seed: int | np.random.Generator = 0,
    min_slice: int = MIN_SLICE,
    slope_level: float = SLOPE_LEVEL,
) -> tuple[FarLeftPlateau, ...]:
    """``far_left_plateau`` at several q_low at once, from one set of bootstrap replicates.

    Livi 2026, digest section 5.3 step 4: q_low in {0.05, 0.10, 0.15}. The
    replicates (block multiplicities) are shared across q_low, so the result
    for each q_low is the same as a separate ``far_left_plateau`` call with the
    same seed.
    """
    q_lows = tuple(float(q) for q in q_lows)
    (z, dz, tr), reason = _finite(zeta_i, dzeta, transition)
    if reason:
        return tuple(_unresolved_plateau(reason, q) for q in q_lows)
    blocks, block = np.unique(tr, return_inverse=True)
    n_tr = int(blocks.size)
    if n_tr < MIN_TRANSITIONS:
        reason = f"{n_tr} transitions, need {MIN_TRANSITIONS}"
        return tuple(_unresolved_plateau(reason, q, n_tr=n_tr) for q in q_lows)
    n_boot = int(n_boot)
    if n_boot < 1:
        return tuple(_unresolved_plateau("n_boot must be >= 1", q, n_tr=n_tr) for q in q_lows)

    results: dict[float, FarLeftPlateau] = {}
    boot_q: list[float] = []
    for q in q_lows:
        cut = float(np.quantile(z, q))
        sel = z <= cut
        zs, dzs = z[sel], dz[sel]
        n_slice = int(sel.sum())
        if n_slice < min_slice:
            reason = f"{n_slice} samples in the slice zeta <= quantile_{q:g}, need {min_slice}"
            results[q] = _unresolved_plateau(reason, q, cut, n_slice, n_tr)
            continue
        if not zs.max() > zs.min():
            results[q] = _unresolved_plateau("zeta has no spread in the slice", q, cut, n_slice, n_tr)
            continue
        if not dzs.max() > dzs.min():
            results[q] = _unresolved_plateau("dzeta has no spread in the slice", q, cut, n_slice, n_tr)
            continue
        kappa = float(scipy.stats.trim_mean(dzs, trim))
        linear = sm.OLS(dzs, np.column_stack([np.ones(n_slice), zs])).fit()
        constant = sm.OLS(dzs, np.ones((n_slice, 1))).fit()
        slope_lo, slope_hi = (float(v) for v in linear.conf_int(alpha=1.0 - slope_level)[1])
        delta_bic = float(linear.bic - constant.bic)
        results[q] = FarLeftPlateau(
            resolved=True,
            reason="",
            q_low=q,
            kappa_tail=kappa,
            lo=_NAN,  # filled in from the bootstrap below
            hi=_NAN,
            positive=False,
            slope=float(linear.params[1]),
            slope_lo=slope_lo,
            slope_hi=slope_hi,
            flat=bool(slope_lo <= 0.0 <= slope_hi),
            delta_bic=delta_bic,
            constant_preferred=bool(delta_bic >= 0.0),
            cut=cut,
            n_slice=n_slice,
            n_transitions=n_tr,
            n_boot=n_boot,
        )
        boot_q.append(q)

    if boot_q:
        rng = np.random.default_rng(seed)
        oz, od = np.argsort(z, kind="stable"), np.argsort(dz, kind="stable")
        args = (z[oz], block[oz], z[od], dz[od], block[od])
        rows = max(1, _BLOCK_ELEMENTS // z.size)
        stats = []
        for start in range(0, n_boot, rows):
            weights = rng.multinomial(n_tr, np.full(n_tr, 1.0 / n_tr), size=min(rows, n_boot - start))
            stats.append(_resampled_tail_means(*args, weights, tuple(boot_q), trim))
        stats = np.concatenate(stats)
        tail = (1.0 - level) / 2.0
        for k, q in enumerate(boot_q):
            lo, hi = (float(v) for v in np.quantile(stats[:, k], [tail, 1.0 - tail]))
            results[q] = results[q]._replace(lo=lo, hi=hi, positive=bool(lo > 0.0))
    return tuple(results[q] for q in q_lows)


def far_left_plateau(
    zeta_i,
    dzeta,
    transition,
    q_low: float = Q_LOW,
    trim: float = TRIM,
    n_boot: int = N_BOOT,
    level: float = INTERVAL_LEVEL,
    seed: int | np.random.Generator = 0,
    min_slice: int = MIN_SLICE,
    slope_level: float = SLOPE_LEVEL,
) -> FarLeftPlateau:
    """Far-left drift plateau kappa_tail with its block-bootstrap interval and the three pass rules.

    Livi 2026, digest section 5.3 step 4 (route condition C2 of section 5.1):

        cut = quantile_{q_low}(zeta),   kappa_tail = trim_mean({dzeta_j : zeta_j <= cut}, 0.10),

    q_low = 0.10 (0.05 and 0.15 as a sweep: ``far_left_plateaus``); the slice
    needs at least 200 samples. The 90 % interval (lo, hi) is the percentile
    interval of B = 2000 block-bootstrap replicates: each draws as many
    checkpoint transitions as there are, with replacement, keeps all samples
    of each drawn transition, and recomputes the cut and the trimmed mean.
    Pass rules:

    - positive: lo > 0 (dzeta > 0 on the long-tau side: long time scales are
      pushed back toward short ones);
    - flat: the 90 % OLS interval of the slope of dzeta on zeta in the slice
      contains 0 (statsmodels ``conf_int``; 90 % is our choice);
    - constant preferred: BIC_linear - BIC_constant >= 0 (statsmodels OLS
      ``bic`` of dzeta ~ 1 + zeta and dzeta ~ 1 on the slice).

    ``transition`` labels the block of each sample (``Increments.transition``);
    at least 3 distinct transitions are needed (our choice).

    Caveat, measured on simulations: a shock common to all neurons of a
    transition biases kappa_tail upward, because it moves every later
    checkpoint and so changes how many samples the later transitions put in
    the pooled slice (the normaliser of the mean depends on the shock). With
    400 neurons, 29 transitions, a true plateau 0.5 and a common shock of
    s.d. 1.0 per transition in dzeta units, kappa_tail averaged 0.64 +/- 0.04
    over 40 runs, and a fixed absolute cut gave the same; a cut at each
    checkpoint's own q_low quantile gave 0.55 +/- 0.03. Without common
    shocks the estimate is unbiased (0.487 +/- 0.009) and the interval
    covered 0.5 in 36 of 40 runs.
    """
    return far_left_plateaus(
        zeta_i, dzeta, transition, (q_low,), trim, n_boot, level, seed, min_slice, slope_level
    )[0]


# ---------------------------------------------------------------- moments


def moment_stabilisation(
    zeta,
    steps,
    last_fraction: float = LAST_FRACTION,
    min_checkpoints: int = MIN_CHECKPOINTS,
    tol: float = MOMENT_TOL,
    min_neurons: int = MIN_NEURONS,
) -> MomentStabilisation:
    """Cross-neuron mean and variance of zeta per checkpoint, and whether they level off late.

    Livi 2026, digest section 5.3 step 5 ("the cross-neuron mean and variance
    of zeta should level off late in training"). Per checkpoint c, over the
    valid neurons: m_c = mean(zeta), v_c = var(zeta) (ddof = 1); NaN with
    fewer than ``min_neurons`` valid neurons (our choice: 16).

    The verdict is our choice of rule: on the late window (``late_window_start``:
    last 30 %, at least 4 checkpoints with finite moments), fit m_c and v_c
    linearly against the steps by OLS; with Delta the fitted change over the
    window (slope times step span),

        mean_change = |Delta m| / sqrt(mean v),   variance_change = |Delta v| / mean v,

    and the moments are stabilised when both are <= tol (0.25): over the late
    window the mean moved by at most a quarter of the cross-neuron s.d. and
    the variance by at most a quarter of itself (``MOMENT_TOL`` quotes the
    noise of both ratios on simulated stationary spectra of 400 neurons). A zero variance (all neurons equal)
    leaves both ratios undefined: unresolved.
    """
    zeta, steps, reason = _checkpoints(zeta, steps)
    if reason:
        return _unresolved_moments(reason)
    n_ck = zeta.shape[0]
    valid = np.isfinite(zeta)
    n_valid = valid.sum(axis=1)
    enough = n_valid >= max(2, int(min_neurons))
    with np.errstate(all="ignore"):
        filled = np.where(valid, zeta, 0.0)
        mean = np.where(enough, filled.sum(axis=1) / np.maximum(n_valid, 1), _NAN)
        dev = np.where(valid, zeta - mean[:, None], 0.0)
        var = np.where(enough, (dev * dev).sum(axis=1) / np.maximum(n_valid - 1, 1), _NAN)
    first = late_window_start(n_ck, last_fraction, min_checkpoints)
    partial = (steps, mean, var, n_valid, first)
    late = np.arange(first, n_ck)[np.isfinite(mean[first:]) & np.isfinite(var[first:])]
    if late.size < min_checkpoints:
        return _unresolved_moments(
            f"{late.size} late checkpoints with {min_neurons} valid neurons, need {min_checkpoints}", *partial
        )
    s, m, v = steps[late], mean[late], var[late]
    v_bar = float(np.mean(v))
    if not v_bar > 0:
        return _unresolved_moments("cross-neuron variance of zeta is zero: no spread to stabilise", *partial)
    span = s[-1] - s[0]
    dm = abs(float(np.polyfit(s, m, 1)[0])) * span
    dv = abs(float(np.polyfit(s, v, 1)[0])) * span
    mean_change, variance_change = float(dm / math.sqrt(v_bar)), float(dv / v_bar)
    stabilised = bool(mean_change <= tol and variance_change <= tol)
    return MomentStabilisation(True, "", *partial, mean_change, variance_change, stabilised)


# ---------------------------------------------------------------- residual forcing


def residual_forcing(
    zeta_i,
    dzeta,
    neuron,
    drift: BinnedDrift,
    q_low: float = Q_LOW,
    n_boot: int = 100,
    n_replicates: int = 200,
    seed: int = 0,
    min_samples: int = alpha_mod.MIN_SAMPLES,
) -> ResidualForcing:
    """Tail index of the far-left drift residuals: a finite-Delta-t proxy for the forcing.

    Livi 2026, digest section 5.3 step 6:

    1. r_j = dzeta_j - F_hat(zeta_j), F_hat the binned drift linearly
       interpolated between bin centres (constant beyond the outer centres;
       our choice);
    2. standardise per neuron: r_j / s_q, s_q = 1.4826 MAD of neuron q's
       residuals over the window (not re-centred: the drift removes the
       centre; our choice); neurons with fewer than 5 residuals or a zero
       MAD are dropped (our choice);
    3. keep the slice zeta_j <= quantile_{q_low}(zeta) (q_low = 0.10, our
       choice of the digest's primary slice) and estimate its tail index
       with ``alpha.calibrated_tail_alpha`` (digest section 6.3), which needs
       at least 500 samples.

    Dividing by a MAD from few residuals mixes scales and thickens the tails
    a little: with 29 Gaussian residuals per neuron, alpha_eff came out at
    1.94-1.99 and the Gaussian-null p-value was as low as 0.005 in 2 of 4
    simulated runs. Read "detectably heavy" near alpha = 2 with that in mind.
    """
    (z, dz, nr), reason = _finite(zeta_i, dzeta, neuron)
    if reason:
        return _unresolved_forcing(reason)
    if not drift.resolved:
        return _unresolved_forcing(f"binned drift unresolved: {drift.reason}")
    use = np.isfinite(drift.centres) & np.isfinite(drift.drift)
    if z.size == 0:
        return _unresolved_forcing("no samples")
    resid = dz - np.interp(z, drift.centres[use], drift.drift[use])
    _, inverse, counts = np.unique(nr, return_inverse=True, return_counts=True)
    order = np.argsort(inverse, kind="stable")
    groups = np.split(resid[order], np.cumsum(counts)[:-1])
    scale = np.array(
        [MAD_TO_SIGMA * np.median(np.abs(r - np.median(r))) if r.size >= MIN_NEURON_RESIDUALS else _NAN for r in groups]
    )
    good = np.isfinite(scale) & (scale > 0)
    n_neurons = int(good.sum())
    cut = float(np.quantile(z, q_low))
    keep = (z <= cut) & good[inverse]
    n_slice = int(keep.sum())
    if n_neurons == 0:
        return _unresolved_forcing(
            f"no neuron has {MIN_NEURON_RESIDUALS} residuals with a non-zero MAD", cut, 0, 0
        )
    if n_slice < min_samples:
        reason = f"{n_slice} standardised residuals in the slice zeta <= quantile_{q_low:g}, need {min_samples}"
        return _unresolved_forcing(reason, cut, n_slice, n_neurons)
    x = resid[keep] / scale[inverse[keep]]
    est = alpha_mod.calibrated_tail_alpha(
        x, n_boot=n_boot, n_replicates=n_replicates, seed=seed, min_samples=min_samples
    )
    if not est.resolved:
        return ResidualForcing(False, f"tail index unresolved: {est.reason}", est, x, cut, n_slice, n_neurons)
    return ResidualForcing(True, est.reason, est, x, cut, n_slice, n_neurons)


# ---------------------------------------------------------------- everything


def drift_diagnostics(
    zeta,
    steps,
    last_fraction: float = LAST_FRACTION,
    min_checkpoints: int = MIN_CHECKPOINTS,
    n_bins: int = N_BINS,
    trim: float = TRIM,
    band: tuple[float, float] = BULK_BAND,
    q_low: float = Q_LOW,
    q_lows: tuple[float, ...] = Q_LOW_SWEEP,
    n_boot: int = N_BOOT,
    level: float = INTERVAL_LEVEL,
    seed: int = 0,
    min_slice: int = MIN_SLICE,
    moment_tol: float = MOMENT_TOL,
    forcing: bool = True,
) -> DriftDiagnostics:
    """Diagnostic 3 of Livi 2026 on one run: every piece of digest section 5.3.

    ``increments`` (step 1), ``binned_drift`` (2), ``bulk_statistics`` (3),
    ``far_left_plateaus`` at q_low and the sweep q_lows (4; one set of
    bootstrap replicates), ``moment_stabilisation`` (5) and, if ``forcing``,
    ``residual_forcing`` (6; it runs a calibration, about a second).

    ``closure`` is checklist D3's "positive, flat far-left plateau" read as
    all three pass rules at the primary q_low (our reading). ``resolved`` is
    True when every piece is; ``reason`` names those that are not.
    """
    inc = increments(zeta, steps, last_fraction, min_checkpoints)
    sweep_q = tuple(dict.fromkeys((float(q_low), *(float(q) for q in q_lows))))
    plateaus = far_left_plateaus(
        inc.zeta, inc.dzeta, inc.transition, sweep_q, trim, n_boot, level, seed, min_slice
    )
    by_q = dict(zip(sweep_q, plateaus))
    drift = binned_drift(inc.zeta, inc.dzeta, n_bins, trim)
    pieces = {
        "increments": inc,
        "drift": drift,
        "bulk": bulk_statistics(inc.zeta, inc.dzeta, band),
        "plateau": by_q[float(q_low)],
        "moments": moment_stabilisation(zeta, steps, last_fraction, min_checkpoints, moment_tol),
    }
    if forcing:
        pieces["forcing"] = residual_forcing(inc.zeta, inc.dzeta, inc.neuron, drift, q_low, seed=seed)
    if not inc.resolved:
        # every later piece failed for the same reason; say it once
        problems = [f"increments: {inc.reason}"]
    else:
        problems = [f"{name}: {piece.reason}" for name, piece in pieces.items() if not piece.resolved]
    return DriftDiagnostics(
        resolved=not problems,
        reason="; ".join(problems),
        increments=inc,
        drift=drift,
        bulk=pieces["bulk"],
        plateau=pieces["plateau"],
        plateau_sweep=tuple(by_q[float(q)] for q in q_lows),
        moments=pieces["moments"],
        forcing=pieces.get("forcing"),
        closure=pieces["plateau"].passed,
    )
