"""Fitting the log-rate process to a trained network, and the beta it predicts.

Livi 2026 (digest papers/livi.md, sections 5.2-5.3): far to the left (the
long-time-scale side) the log-rate zeta = -log tau of a neuron is modelled as
the Levy process

    X_t = kappa t + sigma_g W_t - Y_t,      Y: jumps toward long tau,

whose stationary left tail P(zeta < -z) ~ e^{-beta z} has beta the positive
root of the Lundberg equation psi(beta) = 0,
E exp(-s (X_{t+dt} - X_t)) = exp(-dt psi(s)) (OUR derivation, see
``rnnscope.theory.anticollapse.tail`` and docs/theory/log_rate_process.md).
Given checkpointed time-scale spectra of a real run, this module estimates
the parts of X from the late-training increments on the far-left slice and
predicts beta three ways:

- ``gaussian``: beta = 2 kappa / sigma_g^2 with kappa the plateau kappa_tail
  (``drift.far_left_plateau``) and sigma_g the robust (MAD) scale of the
  increments, i.e. the closure that ignores jumps;
- ``exponential``: kappa, sigma_g and a compound-Poisson jump law with
  exponential sizes fitted to the excess of increments toward long tau
  (``fit_exponential_jumps``), fed to ``tail.beta_exponential``;
- ``lundberg``: the empirical Lundberg root, the s > 0 where the sample mean
  of exp(-s dX) over the slice equals 1: the same equation with the
  measured increment law in place of a parametric one (no closure chosen).

The measured beta of the network is the exponential left-tail rate of its
final zeta (``left_tail_fit`` at the same q_low slice), which is the CCDF
exponent of tau.

Every fitted piece is our choice where the digest is silent (section 9, GAP 1):
the slice is the digest's zeta <= quantile_{q_low} of the pooled late
increments, the increment law over one checkpoint gap is taken as the law
of X over that gap (true for a Levy process if a particle stays on the
plateau over the gap). Measurement noise of tau at each checkpoint adds
variance to the increments and so lowers every predicted beta.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.optimize
import scipy.special
import scipy.stats

from ..theory.anticollapse import tail as tail_theory
from ..theory.anticollapse.estimate import left_tail_fit
from . import drift

JUMP_THRESHOLD = 3.0  # our choice: an increment beyond 3 robust s.d. toward long tau counts as a jump
MIN_JUMPS = 10  # our choice: fewest excess increments for an exponential size fit
JUMP_P_VALUE = 1e-3  # our choice: the excess count must be this unlikely under the Gaussian part alone
_NAN = float("nan")


class JumpFit(NamedTuple):
    """Compound-Poisson jumps toward long tau with Exp(theta) sizes: intensity ``rate`` per unit step.

    ``n_exceed``: increments beyond the threshold; ``n_gaussian``: how many
    of them the Gaussian part alone explains.
    """

    resolved: bool
    reason: str
    rate: float
    theta: float
    n_exceed: int
    n_gaussian: float


class ProcessFit(NamedTuple):
    """The far-left process fitted to one run, and the beta each closure predicts.

    kappa (with its block-bootstrap interval): the plateau, per unit step;
    sigma_g: Gaussian scale per sqrt(unit step); jumps: the exponential jump
    law; predicted: {closure: TailExponent or None} for ``gaussian``,
    ``exponential``; beta_lundberg: the empirical Lundberg root (NaN if none);
    measured: the left-tail fit of the final zeta; plateau: the
    ``drift.FarLeftPlateau`` it came from; gap: median checkpoint gap.
    """

    resolved: bool
    reason: str
    kappa: float
    kappa_lo: float
    kappa_hi: float
    sigma_g: float
    jumps: JumpFit
    predicted: dict
    beta_lundberg: float
    measured: object  # LeftTailFit
    plateau: drift.FarLeftPlateau
    gap: float
    n_slice: int


def robust_scale(x: np.ndarray) -> float:
    """1.4826 median |x - median x|: the s.d. of a Gaussian, barely moved by rare jumps."""
    x = np.asarray(x, float)
    return float(drift.MAD_TO_SIGMA * np.median(np.abs(x - np.median(x))))


def fit_exponential_jumps(standardised: np.ndarray, gaps: np.ndarray, sigma: float,
                          threshold: float = JUMP_THRESHOLD, min_jumps: int = MIN_JUMPS) -> JumpFit:
    """Exponential jump law from increments standardised to the Gaussian part, r_j = (dX_j - kappa gap_j) / (sigma sqrt(gap_j)).

    An increment with r_j < -c (c = ``threshold``) is counted as a jump. Our
    estimator, for rare jumps (at most one per gap): the excess of a jump
    beyond the cut is Exp(theta) by memorylessness, so

        theta = 1 / mean(y_j),  y_j = -(dX_j - kappa gap_j) - c sigma sqrt(gap_j)   (excesses in zeta units),
        rate  = (n_exceed - n Phi(-c)) e^{theta c sigma sqrt(gap)} / sum_j gap_j,

    the count the Gaussian part explains (n Phi(-c)) removed and the jumps
    smaller than the cut restored. Fewer than ``min_jumps`` excesses, or a
    count the Gaussian part explains (Poisson(n Phi(-c)) upper tail above
    ``JUMP_P_VALUE``), gives rate 0 (resolved: no detectable jumps).
    """
    r = np.asarray(standardised, float)
    gaps = np.asarray(gaps, float)
    n = r.size
    below = r < -threshold
    n_exceed = int(below.sum())
    n_gauss = float(n * scipy.stats.norm.cdf(-threshold))
    p_value = float(scipy.stats.poisson.sf(n_exceed - 1, n_gauss))
    if n_exceed < min_jumps or p_value > JUMP_P_VALUE:
        why = f"{n_exceed} increments beyond {threshold:g} s.d. (Gaussian part alone: {n_gauss:.1f}, p = {p_value:.2g}): no jumps detected"
        return JumpFit(True, why, 0.0, math.inf, n_exceed, n_gauss)
    excess = (-r[below] - threshold) * sigma * np.sqrt(gaps[below])
    theta = 1.0 / float(np.mean(excess))
    cut = threshold * sigma * float(np.sqrt(np.median(gaps)))
    rate = (n_exceed - n_gauss) * math.exp(min(theta * cut, 50.0)) / float(gaps.sum())
    return JumpFit(True, "", rate, theta, n_exceed, n_gauss)


def empirical_lundberg_root(dx: np.ndarray) -> float:
    """The s > 0 with mean_j exp(-s dX_j) = 1: the Lundberg root of the empirical increment law.

    For a Levy process E exp(-s dX) = exp(-gap psi(s)) for every gap, so
    psi(s) = 0 iff E exp(-s dX) = 1. The sample version
    g(s) = log mean exp(-s dX_j) is convex with g(0) = 0 and g'(0) = -mean dX;
    it has one positive root when mean dX > 0 and some dX_j < 0. NaN otherwise
    (no stationary tail, or no move toward long tau at all).
    """
    dx = np.asarray(dx, float)
    dx = dx[np.isfinite(dx)]
    if dx.size == 0 or dx.mean() <= 0 or not np.any(dx < 0):
        return _NAN

    def log_mgf(s):
        return float(scipy.special.logsumexp(-s * dx) - math.log(dx.size))

    hi = 1.0 / float(np.abs(dx).max())
    while log_mgf(hi) < 0:
        hi *= 2.0
        if hi > 1e12:
            return _NAN
    lo = hi / 2.0
    while log_mgf(lo) >= 0 and lo > 1e-12:
        lo /= 2.0
    return float(scipy.optimize.brentq(log_mgf, lo, hi, xtol=1e-12, rtol=1e-10))


def _unresolved(reason: str, plateau=None, measured=None, n_slice: int = 0) -> ProcessFit:
    none = JumpFit(False, reason, _NAN, _NAN, 0, _NAN)
    return ProcessFit(False, reason, _NAN, _NAN, _NAN, _NAN, none, {"gaussian": None, "exponential": None},
                      _NAN, measured, plateau, _NAN, n_slice)


def fit_process(zeta, steps, q_low: float = drift.Q_LOW, last_fraction: float = drift.LAST_FRACTION,
                min_checkpoints: int = drift.MIN_CHECKPOINTS, min_slice: int = drift.MIN_SLICE,
                n_boot: int = drift.N_BOOT, seed: int = 0, jump_threshold: float = JUMP_THRESHOLD) -> ProcessFit:
    """Fit the far-left log-rate process to checkpointed spectra and predict beta (see the module docstring).

    ``zeta`` (C, H): checkpoints by neurons (``drift.zeta_from_tau``), NaN
    where invalid; ``steps`` (C,) strictly increasing. Steps:

    1. late increments and the slice zeta_i <= quantile_{q_low} (digest 5.3);
    2. kappa = kappa_tail with its block-bootstrap interval
       (``drift.far_left_plateau``);
    3. raw increments dX_j = dzeta_j gap_j; sigma_g = robust scale of
       (dX_j - kappa gap_j) / sqrt(gap_j);
    4. the exponential jump law of the excess (``fit_exponential_jumps``);
       with jumps, the exponential closure's kappa is the mean increment
       rate plus the jumps' mean drift rate / theta (the trimmed mean
       kappa_tail keeps part of the jumps' pull, so it is used only where no
       jumps are detected);
    5. beta from ``tail.beta_gaussian`` and ``tail.beta_exponential``, and
       the empirical Lundberg root;
    6. measured beta: ``left_tail_fit`` of the last checkpoint's zeta below
       its own q_low quantile.

    kappa <= 0 leaves the closures unresolved (no stationary tail: regime
    ``runaway`` in the theory), with the reason; never an exception.
    """
    zeta = np.asarray(zeta, float)
    steps = np.asarray(steps, float)
    inc = drift.increments(zeta, steps, last_fraction, min_checkpoints)
    if not inc.resolved:
        return _unresolved(f"increments: {inc.reason}")
    final = zeta[-1][np.isfinite(zeta[-1])]
    measured = left_tail_fit(final, tail_quantile=q_low) if final.size else None
    plateau = drift.far_left_plateau(inc.zeta, inc.dzeta, inc.transition, q_low, n_boot=n_boot, seed=seed,
                                     min_slice=min_slice)
    if not plateau.resolved:
        return _unresolved(f"plateau: {plateau.reason}", plateau, measured)
    in_slice = inc.zeta <= plateau.cut
    gaps = np.diff(steps)[inc.transition[in_slice]]
    dx = inc.dzeta[in_slice] * gaps
    kappa = plateau.kappa_tail
    sigma = robust_scale((dx - kappa * gaps) / np.sqrt(gaps))
    n_slice = int(in_slice.sum())
    gap = float(np.median(gaps))
    lundberg = empirical_lundberg_root(dx)
    if not (kappa > 0):
        why = f"kappa_tail = {kappa:.3g} <= 0: nothing holds the long-tau tail in (no stationary tail)"
        return ProcessFit(False, why, kappa, plateau.lo, plateau.hi, sigma,
                          JumpFit(False, why, _NAN, _NAN, 0, _NAN), {"gaussian": None, "exponential": None},
                          lundberg, measured, plateau, gap, n_slice)
    if not (sigma > 0):
        return _unresolved("zero spread of the far-left increments", plateau, measured, n_slice)
    standardised = (dx - kappa * gaps) / (sigma * np.sqrt(gaps))
    jumps = fit_exponential_jumps(standardised, gaps, sigma, jump_threshold)
    predicted = {"gaussian": tail_theory.beta_gaussian(kappa, sigma)}
    if jumps.rate > 0:
        # the jumps' mean drift rate/theta is part of the mean increment: add it back to get kappa
        kappa_jumps = float(dx.sum() / gaps.sum()) + jumps.rate / jumps.theta
        predicted["exponential"] = tail_theory.beta_exponential(kappa_jumps, jumps.rate, jumps.theta, sigma)
    else:
        predicted["exponential"] = predicted["gaussian"]
    return ProcessFit(True, jumps.reason, kappa, plateau.lo, plateau.hi, sigma, jumps, predicted, lundberg,
                      measured, plateau, gap, n_slice)
