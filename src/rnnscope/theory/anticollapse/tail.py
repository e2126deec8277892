"""Closed forms for the stationary left tail of the log-rate process zeta = -log tau.

OUR derivation, not Livi's: the digest (papers/livi.md, sections 5.2 and 9)
says the paper's theorem, its SDE and its existence inequality could not be
read. The note ``docs/theory/log_rate_process.md`` gives the steps; in short:

Far to the left (zeta -> -inf, the long-time-scale side) the drift saturates,
F(zeta) -> kappa, so there zeta moves as the Levy process

    X_t = kappa t + sigma_g W_t - Y_t,

Y a subordinator-like jump process with Levy measure Pi(dy) on y > 0 (a jump
of size y moves zeta by -y, toward long tau). Write

    E exp(-s (X_t - X_0)) = exp(-t psi(s)),
    psi(s) = kappa s - sigma_g^2 s^2 / 2 - K(s),
    K(s)   = int_0^inf (e^{s y} - 1 - s y 1[compensated]) Pi(dy).

psi(0) = 0 and psi is concave. If psi'(0) = kappa - (mean jump drift) > 0 and
psi has a root beta in (0, s_max) (s_max: where K stops being finite), then
exp(-beta X_t) is a martingale (the Lundberg equation psi(beta) = 0), the
depth an excursion reaches has P(depth > z) ~ C e^{-beta z} (Cramer-Lundberg;
Bertoin & Doney 1994 for Levy processes), and the stationary law of zeta has

    P(zeta < -z) ~ C exp(-beta z),   P(tau > x) ~ C x^-beta,   f(l) ~ C Gamma(1 + beta) l^-beta.

The bulk drift only changes C, not beta. Closures:

- Gaussian only:      beta = 2 kappa / sigma_g^2.
- exponential jumps (intensity lam, size rate theta), Pi(dy) = lam theta e^{-theta y} dy,
  K(s) = lam s / (theta - s):  the root in (0, theta) of
  (sigma_g^2/2) s^2 - (kappa + theta sigma_g^2/2) s + (kappa theta - lam) = 0,
  i.e. beta = 2 (kappa theta - lam) / (b + sqrt(b^2 - 2 sigma_g^2 (kappa theta - lam))),
  b = kappa + theta sigma_g^2 / 2; with sigma_g = 0, beta = theta - lam / kappa.
  Exists iff lam < kappa theta.
- one-sided tempered stable, Pi(dy) = c y^{-1-alpha} e^{-lam_t y} dy:
  alpha in (0, 1), uncompensated: K(s) = c Gamma(-alpha) [(lam_t - s)^alpha - lam_t^alpha];
  alpha in (1, 2), compensated:   K(s) = c Gamma(-alpha) [(lam_t - s)^alpha - lam_t^alpha + alpha lam_t^{alpha-1} s];
  finite only for s <= lam_t. beta = root of psi in (0, lam_t] (brentq) when
  psi'(0) > 0 and psi(lam_t) <= 0; if psi(lam_t) > 0 the tail is set by the
  tempering itself, P(zeta < -z) ~ z^{-1-alpha} e^{-lam_t z} (the
  convolution-equivalent case, Kluppelberg, Kyprianou & Maller 2004): beta = lam_t.
- untempered one-sided stable (lam_t = 0): K(s) = inf for every s > 0, no
  exponential tail, beta = 0. alpha in (1, 2): P(zeta < -z) ~ c z^{1-alpha} /
  (kappa alpha (alpha - 1)) (subexponential integrated tail, Embrechts &
  Veraverbeke 1982), so P(tau > x) ~ (log x)^{1-alpha}; alpha in (0, 1): the jumps
  have infinite mean and zeta runs to -inf (no stationary law).

Everything is float64 NumPy/SciPy.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.optimize
from scipy.special import gamma as gamma_fn

# Regime labels (the phase diagram's legend).
EXTENDED = "extended"  # a finite positive Lundberg root beta: P(tau > x) ~ C x^-beta
TEMPERING_LIMITED = "tempering_limited"  # no root below lam_t: beta = lam_t, with a z^{-1-alpha} prefactor
HEAVY = "heavy"  # untempered alpha in (1, 2): polynomial tail in zeta, beta = 0
RUNAWAY = "runaway"  # psi'(0) <= 0: zeta drifts to -inf, no stationary law without a boundary, beta = 0
NO_FORCING = "no_forcing"  # sigma_g = 0 and no jumps: every particle settles at m, beta = inf
REGIMES = (EXTENDED, TEMPERING_LIMITED, HEAVY, RUNAWAY, NO_FORCING)

_SERIES_X = 1e-3  # our choice: below s/lam_t = 1e-3 the compensated bracket uses its Taylor series


class TailExponent(NamedTuple):
    """The stationary left-tail exponent of zeta, P(zeta < -z) ~ exp(-beta z).

    ``beta``: the exponent (0 for the heavy and runaway regimes, inf with no
    forcing). ``regime``: one of ``REGIMES``. ``reason``: one line saying why.
    ``exists``: a finite positive Lundberg root exists (the regime is
    ``extended``). ``drift_margin``: psi'(0) = kappa minus the mean jump drift
    toward long tau, the far-left net velocity toward short tau (> 0 is needed
    for a stationary law). ``speed``: -psi'(beta), the velocity of the tilted
    far-left process that excursions to depth z follow (NaN unless extended).
    """

    beta: float
    regime: str
    reason: str
    exists: bool
    drift_margin: float
    speed: float


def _check_alpha(alpha: float) -> None:
    if not (0.0 < alpha < 2.0) or alpha == 1.0:
        raise ValueError(f"alpha={alpha!r}: must be in (0, 1) or (1, 2)")


def _nonneg(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name}={value!r}: must be finite and >= 0")
    return value


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name}={value!r}: must be finite and > 0")
    return value


def stable_mean_drift(c: float, alpha: float, lam_t: float) -> float:
    """Mean jump drift toward long tau, int y Pi(dy) = c Gamma(1 - alpha) lam_t^(alpha - 1), for alpha < 1.

    Pi(dy) = c y^{-1-alpha} e^{-lam_t y} dy. Infinite for lam_t = 0 (untempered).
    For alpha in (1, 2) the jumps are compensated (our convention, forced by
    int_0^1 y Pi(dy) = inf), so their mean drift is 0.
    """
    _check_alpha(alpha)
    if alpha > 1.0 or c == 0.0:
        return 0.0
    if lam_t == 0.0:
        return math.inf
    return c * gamma_fn(1.0 - alpha) * lam_t ** (alpha - 1.0)


def stable_jump_exponent(s, c: float, alpha: float, lam_t: float):
    """K(s) = int (e^{s y} - 1 [- s y]) c y^{-1-alpha} e^{-lam_t y} dy, for 0 <= s <= lam_t; inf beyond.

    alpha < 1: c Gamma(-alpha) [(lam_t - s)^alpha - lam_t^alpha];
    alpha > 1 (compensated): c Gamma(-alpha) [(lam_t - s)^alpha - lam_t^alpha + alpha lam_t^(alpha-1) s].
    Written as lam_t^alpha [expm1(alpha log1p(-x)) (+ alpha x)], x = s/lam_t,
    with a Taylor series for x < 1e-3 in the compensated case, so that small s
    keeps its precision. Standard tempered-stable Laplace exponent
    (Rosinski 2007, "Tempering stable processes"; Cont & Tankov 2004, section 4.5).
    """
    s = np.asarray(s, dtype=float)
    out = np.full(s.shape, np.inf)
    if c == 0.0:
        out = np.where(s >= 0, 0.0, np.inf)
        return out if out.ndim else float(out)
    inside = (s >= 0) & (s <= lam_t) & (lam_t > 0)
    x = np.where(inside, s / lam_t if lam_t > 0 else 0.0, 0.0)
    g = gamma_fn(-alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        base = np.expm1(alpha * np.log1p(-x))  # (1 - x)^alpha - 1
        if alpha > 1.0:
            series = alpha * (alpha - 1.0) / 2.0 * x**2 * (1.0 - (alpha - 2.0) / 3.0 * x
                                                           + (alpha - 2.0) * (alpha - 3.0) / 12.0 * x**2)
            bracket = np.where(x < _SERIES_X, series, base + alpha * x)
        else:
            bracket = base
    out = np.where(inside, c * g * lam_t**alpha * bracket, out)
    out = np.where(s == 0, 0.0, out)
    return out if out.ndim else float(out)


def exponential_jump_exponent(s, rate: float, theta: float):
    """K(s) = int (e^{s y} - 1) rate theta e^{-theta y} dy = rate s / (theta - s) for s < theta; inf beyond."""
    s = np.asarray(s, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(s < theta, rate * s / (theta - s), np.inf)
    out = np.where(s == 0, 0.0, out)
    return out if out.ndim else float(out)


def levy_exponent(s, kappa: float, sigma_g: float = 0.0, jumps: str = "none", jump_rate: float = 0.0,
                  jump_theta: float = 1.0, alpha: float = 1.5, jump_c: float = 0.0, lam_t: float = 0.0):
    """psi(s) = kappa s - sigma_g^2 s^2 / 2 - K(s): E exp(-s (X_t - X_0)) = exp(-t psi(s)).

    X is the far-left Levy process of zeta (drift kappa, Gaussian sigma_g, jumps
    of law ``jumps`` toward long tau); -inf where K is infinite. The Lundberg
    equation psi(beta) = 0, beta > 0, gives the left-tail exponent. Our
    derivation (docs/theory/log_rate_process.md).
    """
    s = np.asarray(s, dtype=float)
    if jumps == "none":
        k_jump = np.zeros(s.shape)
    elif jumps == "exponential":
        k_jump = exponential_jump_exponent(s, jump_rate, jump_theta)
    elif jumps in ("tempered_stable", "stable"):
        k_jump = stable_jump_exponent(s, jump_c, alpha, lam_t if jumps == "tempered_stable" else 0.0)
    else:
        raise ValueError(f"jumps={jumps!r}: allowed 'none', 'exponential', 'tempered_stable', 'stable'")
    out = kappa * s - 0.5 * sigma_g**2 * s**2 - np.asarray(k_jump)
    out = np.where(np.isinf(k_jump), -np.inf, out)
    return out if out.ndim else float(out)


def beta_gaussian(kappa: float, sigma_g: float) -> TailExponent:
    """Gaussian forcing only: beta = 2 kappa / sigma_g^2 (psi(s) = kappa s - sigma_g^2 s^2 / 2).

    Exact for the drift F = kappa tanh(-k (zeta - m) / kappa): the stationary
    density is cosh(k (zeta - m) / kappa)^(-2 kappa^2 / (k sigma_g^2))
    (``gaussian_stationary_logpdf``), whose left tail is exp(beta zeta).
    Our derivation; the digest's candidate closure 1 (papers/livi.md, section 5.2).
    """
    kappa = _positive("kappa", kappa)
    sigma_g = _nonneg("sigma_g", sigma_g)
    if sigma_g == 0.0:
        return TailExponent(math.inf, NO_FORCING, "no noise and no jumps: every particle settles at m", False,
                            kappa, math.nan)
    beta = 2.0 * kappa / sigma_g**2
    return TailExponent(beta, EXTENDED, "Lundberg root 2 kappa / sigma_g^2", True, kappa, kappa)


def beta_exponential(kappa: float, jump_rate: float, jump_theta: float, sigma_g: float = 0.0) -> TailExponent:
    """Exponential jumps (intensity lam, sizes Exp(theta)) plus Gaussian sigma_g: the root of psi in (0, theta).

    psi(s) = kappa s - sigma_g^2 s^2 / 2 - lam s / (theta - s). Dividing by s
    and multiplying by (theta - s) > 0 gives the quadratic
    a s^2 - b s + c0 = 0 with a = sigma_g^2 / 2, b = kappa + a theta,
    c0 = kappa theta - lam; its smaller root, written without cancellation,

        beta = 2 c0 / (b + sqrt(b^2 - 4 a c0)),

    lies in (0, theta) iff c0 > 0 (the quadratic is -lam < 0 at s = theta and c0
    at s = 0). sigma_g = 0: beta = theta - lam / kappa. lam >= kappa theta: the
    jumps' mean drift lam / theta beats kappa, zeta runs to -inf (regime
    ``runaway``, beta = 0). Our derivation; the digest's closure 2
    (papers/livi.md, section 5.2).
    """
    kappa = _positive("kappa", kappa)
    lam = _nonneg("jump_rate", jump_rate)
    theta = _positive("jump_theta", jump_theta)
    sigma_g = _nonneg("sigma_g", sigma_g)
    if lam == 0.0:
        return beta_gaussian(kappa, sigma_g)
    margin = kappa - lam / theta
    if margin <= 0.0:
        reason = f"jump_rate={lam:g} >= kappa*theta={kappa * theta:g}: jump drift beats kappa, zeta runs to -inf"
        return TailExponent(0.0, RUNAWAY, reason, False, margin, math.nan)
    a = 0.5 * sigma_g**2
    b = kappa + a * theta
    c0 = kappa * theta - lam
    beta = 2.0 * c0 / (b + math.sqrt(b * b - 4.0 * a * c0))
    speed = -(kappa - sigma_g**2 * beta - lam * theta / (theta - beta) ** 2)
    return TailExponent(beta, EXTENDED, "Lundberg root in (0, theta)", True, margin, speed)


def _stable_psi(kappa, sigma_g, c, alpha, lam_t):
    def psi(s):
        return kappa * s - 0.5 * sigma_g**2 * s * s - stable_jump_exponent(s, c, alpha, lam_t)

    return psi


def beta_tempered_stable(kappa: float, jump_c: float, alpha: float, lam_t: float, sigma_g: float = 0.0) -> TailExponent:
    """One-sided tempered-stable jumps Pi(dy) = c y^{-1-alpha} e^{-lam_t y} dy plus Gaussian sigma_g.

    psi(s) = kappa s - sigma_g^2 s^2 / 2 - K(s) (``stable_jump_exponent``), finite
    for s <= lam_t. psi is concave with psi(0) = 0, so:

    - psi'(0) = kappa - c Gamma(1 - alpha) lam_t^(alpha - 1) [alpha < 1] or kappa
      [alpha > 1, compensated] <= 0: ``runaway``, beta = 0;
    - psi(lam_t) <= 0: the Lundberg root in (0, lam_t] by brentq on psi(s)/s,
      ``extended``;
    - psi(lam_t) > 0: no root where K is finite; the tail is the tempering's own,
      z^{-1-alpha} e^{-lam_t z}: beta = lam_t, ``tempering_limited``.

    lam_t = 0 is the untempered law (``beta_stable``). Our derivation.
    """
    kappa = _positive("kappa", kappa)
    c = _nonneg("jump_c", jump_c)
    _check_alpha(float(alpha))
    lam_t = _nonneg("lam_t", lam_t)
    sigma_g = _nonneg("sigma_g", sigma_g)
    if c == 0.0:
        return beta_gaussian(kappa, sigma_g)
    if lam_t == 0.0:
        return beta_stable(kappa, c, alpha, sigma_g)
    margin = kappa - stable_mean_drift(c, alpha, lam_t)
    if margin <= 0.0:
        reason = f"mean jump drift {kappa - margin:g} >= kappa={kappa:g}: zeta runs to -inf"
        return TailExponent(0.0, RUNAWAY, reason, False, float(margin), math.nan)
    psi = _stable_psi(kappa, sigma_g, c, alpha, lam_t)
    at_edge = psi(lam_t)
    if at_edge > 0.0:
        reason = f"psi(lam_t)={at_edge:.3g} > 0: no Lundberg root below lam_t; tail exp(-lam_t z) z^(-1-alpha)"
        return TailExponent(lam_t, TEMPERING_LIMITED, reason, False, float(margin), math.nan)

    def slope(s):  # psi(s)/s, decreasing from psi'(0) = margin
        return margin if s == 0.0 else psi(s) / s

    beta = lam_t if at_edge == 0.0 else scipy.optimize.brentq(slope, 0.0, lam_t, xtol=1e-14, rtol=1e-12)
    h = 1e-6 * beta
    speed = -(psi(beta) - psi(beta - h)) / h
    return TailExponent(float(beta), EXTENDED, "Lundberg root in (0, lam_t]", True, float(margin), float(speed))


def beta_stable(kappa: float, jump_c: float, alpha: float, sigma_g: float = 0.0) -> TailExponent:
    """Untempered one-sided alpha-stable jumps Pi(dy) = c y^{-1-alpha} dy: no exponential tail, beta = 0.

    K(s) = inf for every s > 0, so psi has no positive root.
    alpha in (1, 2) (compensated jumps, drift margin kappa): stationary, with the
    polynomial tail P(zeta < -z) ~ (1/kappa) int_z^inf Pi(y, inf) dy
    = c z^(1-alpha) / (kappa alpha (alpha - 1)) (Embrechts & Veraverbeke 1982), i.e.
    P(tau > x) ~ (log x)^(1-alpha): ``heavy``.
    alpha in (0, 1): the jump drift int y Pi(dy) is infinite, zeta runs to -inf:
    ``runaway``. Our derivation; the digest's closure 3 (papers/livi.md, section 5.2).
    """
    kappa = _positive("kappa", kappa)
    c = _nonneg("jump_c", jump_c)
    _check_alpha(float(alpha))
    if c == 0.0:
        return beta_gaussian(kappa, sigma_g)
    if alpha < 1.0:
        return TailExponent(0.0, RUNAWAY, "untempered alpha<1 jumps have infinite mean: zeta runs to -inf",
                            False, -math.inf, math.nan)
    reason = f"untempered stable: no exponential tail, P(zeta<-z) ~ z^{1 - alpha:.3g} (beta = 0)"
    return TailExponent(0.0, HEAVY, reason, False, kappa, math.nan)


def heavy_tail_constant(kappa: float, jump_c: float, alpha: float) -> float:
    """C in P(zeta < -z) ~ C z^(1-alpha) for untempered alpha in (1, 2): C = c / (kappa alpha (alpha - 1))."""
    if not 1.0 < alpha < 2.0:
        raise ValueError(f"alpha={alpha!r}: the polynomial tail needs alpha in (1, 2)")
    return jump_c / (kappa * alpha * (alpha - 1.0))


def tail_exponent(cfg) -> list[TailExponent]:
    """The closed-form TailExponent of every population of a ``ProcessConfig`` (a list of length n_populations)."""
    from .process import population_params  # local: process imports JAX

    rows = population_params(cfg)
    out = []
    for p in range(cfg.n_populations):
        kappa, sigma_g = rows["kappa"][p], rows["sigma_g"][p]
        if cfg.jumps == "none":
            out.append(beta_gaussian(kappa, sigma_g))
        elif cfg.jumps == "exponential":
            out.append(beta_exponential(kappa, rows["jump_rate"][p], rows["jump_theta"][p], sigma_g))
        elif cfg.jumps == "tempered_stable":
            out.append(beta_tempered_stable(kappa, rows["jump_c"][p], rows["alpha"][p], rows["lam_t"][p], sigma_g))
        else:
            out.append(beta_stable(kappa, rows["jump_c"][p], rows["alpha"][p], sigma_g))
    return out


def extended_regime_exists(kappa: float, jump_c: float, alpha: float, lam_t: float, sigma_g: float = 0.0) -> bool:
    """The existence condition of the extended regime (a finite positive Lundberg root), stable-family jumps.

    True iff c > 0 or sigma_g > 0 (some forcing), lam_t > 0 (tempered),
    psi'(0) > 0 (kappa beats the mean jump drift; always for alpha > 1) and
    psi(lam_t) <= 0 (the root lies where K is finite). With c = 0 it reduces to
    sigma_g > 0 (beta = 2 kappa / sigma_g^2). Our derivation.
    """
    return beta_tempered_stable(kappa, jump_c, alpha, lam_t, sigma_g).exists


class PhaseDiagram(NamedTuple):
    """beta and the regime label on a broadcast grid of (kappa, jump_c, alpha, lam_t, sigma_g)."""

    beta: np.ndarray
    regime: np.ndarray  # dtype object, entries from REGIMES
    kappa: np.ndarray
    jump_c: np.ndarray
    alpha: np.ndarray
    lam_t: np.ndarray
    sigma_g: np.ndarray


def phase_diagram(kappa, jump_c, alpha, lam_t, sigma_g=0.0) -> PhaseDiagram:
    """Map a grid of (kappa, jump intensity c, alpha, tempering lam_t) to beta and a regime label.

    The arguments broadcast against each other (pass ``np.meshgrid`` arrays or
    columns like ``kappa[:, None]``); lam_t = 0 means untempered. Each point is
    ``beta_tempered_stable``; beta is inf for no forcing, 0 for heavy and
    runaway. For a phase-diagram figure: colour by beta where finite and
    positive, hatch the other regimes.
    """
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (kappa, jump_c, alpha, lam_t, sigma_g)))
    beta = np.empty(arrays[0].shape)
    regime = np.empty(arrays[0].shape, dtype=object)
    for index in np.ndindex(beta.shape):
        result = beta_tempered_stable(*(float(a[index]) for a in arrays))
        beta[index], regime[index] = result.beta, result.regime
    return PhaseDiagram(beta, regime, *arrays)


def gaussian_stationary_logpdf(zeta, kappa: float, k: float, m: float, sigma_g: float):
    """Exact stationary log-density of dzeta = kappa tanh(-k (zeta - m)/kappa) dt + sigma_g dW.

    Zero flux: p'/p = 2 F / sigma_g^2, and int F = -(kappa^2 / k) log cosh(k (zeta - m)/kappa), so

        p(zeta) = (k / kappa) cosh(x)^(-g) / B(g/2, 1/2),  x = k (zeta - m)/kappa,  g = 2 kappa^2 / (k sigma_g^2),

    (int cosh^-g = B(g/2, 1/2)); its tails are exp(-beta |zeta - m|) with
    beta = 2 kappa / sigma_g^2. Our derivation.
    """
    from scipy.special import betaln

    zeta = np.asarray(zeta, dtype=float)
    x = np.abs(k * (zeta - m) / kappa)
    g = 2.0 * kappa**2 / (k * sigma_g**2)
    log_cosh = x + np.log1p(np.exp(-2.0 * x)) - math.log(2.0)
    return math.log(k / kappa) - g * log_cosh - betaln(g / 2.0, 0.5)


def equilibration_time(te: TailExponent, k: float, n_decays: float = 12.0) -> float:
    """A burn-in time after which the left tail of a run started at m is near stationary.

    Our choice: 5 / k for the bulk (the restoring rate is k) plus the time the
    tilted front takes to reach depth n_decays / beta. Under the Esscher
    measure that makes exp(-beta X) a martingale, the far-left process moves
    left at ``te.speed`` = -psi'(beta), and large excursions follow it, so
    depth z is reached at about z / speed, but only about half populated then
    (the front spreads diffusively). With n_decays = 12, depth 8 / beta (which
    carries (8 + 1) e^-8 = 0.3 % of the ML fit's mean excess) is populated.
    Gaussian only: speed = kappa, T = 5/k + n_decays sigma_g^2 / (2 kappa^2).
    inf unless the regime is extended.
    """
    if not te.exists or not (te.speed > 0):
        return math.inf
    return 5.0 / k + n_decays / (te.beta * te.speed)
