"""Measuring the left-tail exponent beta of a simulated (or trained) zeta spectrum.

Estimator (our choice): the maximum-likelihood exponential-tail fit of the
far-left zeta beyond a threshold u. If P(zeta < u - x | zeta < u) = e^{-beta x}
(the closed forms of ``tail`` say so asymptotically), the excesses
e_i = u - zeta_i of the n points below u are i.i.d. Exp(beta), S = sum e_i is
Gamma(n, beta), and

    beta_hat = (n - 1) / S,   E beta_hat = beta,   sd(beta_hat) = beta / sqrt(n - 2),

so the relative standard error is 1/sqrt(n - 2) whatever beta is: n >= 900 tail
points give 3.3 %. Why this one:

- it is efficient (it reaches the Cramer-Rao bound beta^2/n up to 1/n) and its
  variance is known in closed form, so a test tolerance can be derived from it;
- it is the same estimator as ``rnnscope.analysis.spectrum.ml_tail_exponent``
  (the Hill / Clauset power-law MLE) applied to tau = exp(-zeta) with
  xmin = exp(-u), since log(tau_i / xmin) = u - zeta_i; only the tail start
  differs: here it comes from the physics (where the drift has saturated,
  ``saturation_threshold``) instead of a KS search, which keeps the start out of
  the bulk where the tail is not yet exponential;
- ``spectrum.ccdf_tail_fit`` (least squares on the empirical CCDF between fixed
  quantiles) also runs on ``to_tau(zeta)`` unchanged, but its residuals are
  strongly correlated and it has no simple variance formula.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

DEFAULT_TAIL_QUANTILE = 0.25  # our choice: with no threshold, the far-left quarter (the spectrum's 0.75 tau quantile)
SATURATION_TOL = 0.005  # our choice: the tail starts where F = kappa (1 - 0.005)
MIN_TAIL = 8  # as spectrum.MIN_TAIL_POINTS

_NAN = float("nan")


class LeftTailFit(NamedTuple):
    """beta_hat = (n - 1)/sum(u - zeta_i) over the n valid zeta_i < u, with stderr beta_hat / sqrt(n - 2)."""

    resolved: bool
    reason: str
    beta: float
    stderr: float
    n_tail: int
    n_valid: int
    threshold: float


def saturation_threshold(kappa: float, k: float, m: float, tol: float = SATURATION_TOL) -> float:
    """u = m - (kappa / k) artanh(1 - tol): below u the drift kappa tanh(-k (zeta - m)/kappa) exceeds kappa (1 - tol).

    For the Gaussian closure the local log-density slope there is beta (1 - tol)
    at worst (``tail.gaussian_stationary_logpdf``), so the fit's bias is below
    tol. Our choice of tol = 0.005 (artanh(0.995) = 2.99).
    """
    return m - kappa / k * math.atanh(1.0 - tol)


def left_tail_fit(zeta, threshold: float | None = None, valid=None,
                  tail_quantile: float = DEFAULT_TAIL_QUANTILE) -> LeftTailFit:
    """ML exponential-tail exponent of the zeta below ``threshold`` (pooled over every axis of ``zeta``).

    ``threshold`` None: the ``tail_quantile`` quantile of the valid zeta (our
    choice 0.25). Needs >= 8 tail points; otherwise ``resolved=False`` with a
    reason, never an exception. Non-finite zeta and entries with ``valid``
    False are dropped (pass ``~result.absorbed``).
    """
    zeta = np.asarray(zeta, dtype=float).ravel()
    keep = np.isfinite(zeta)
    if valid is not None:
        keep &= np.asarray(valid, dtype=bool).ravel()
    zeta = zeta[keep]
    if zeta.size == 0:
        return LeftTailFit(False, "no valid zeta", _NAN, _NAN, 0, 0, _NAN)
    u = float(np.quantile(zeta, tail_quantile)) if threshold is None else float(threshold)
    excess = u - zeta[zeta < u]
    n = excess.size
    if n < MIN_TAIL:
        return LeftTailFit(False, f"{n} zeta below the threshold {u:.4g}, need {MIN_TAIL}", _NAN, _NAN, n,
                           zeta.size, u)
    total = float(excess.sum())
    if total <= 0:
        return LeftTailFit(False, "zero total excess below the threshold", _NAN, _NAN, n, zeta.size, u)
    beta = (n - 1) / total
    return LeftTailFit(True, "", beta, beta / math.sqrt(n - 2), n, zeta.size, u)
