"""Length extrapolation: the error of a mode trained at length T and tested at T'.

Proca, Dominé, Shanahan & Mediano (2025), digest ``papers/proca.md`` 4.3
(paper section 3.3, App. F.1). With whitened inputs the expected squared
output error of one mode (u = ac, b) on a task with lag profile sigma' of
length T' is sum_{k<T'} |sigma'_k - u b^k|^2 (no factor 1/2). A zero-loss
solution that does not depend on T (sum / constant, inverse-exponential)
transfers to every length; one that does (exponential: u = delta lam^T;
mean: u = 1/T) does not.
"""

from __future__ import annotations

import numpy as np

from .modes import lag_powers

EXTRAPOLATION_FAMILIES = ("constant", "inverse_exponential", "exponential", "mean")


def length_error(sigma_test, u, b):
    """sum_{k=0}^{T'-1} |sigma'_k - u b^k|^2: squared error of the mode (u, b) on profile sigma' (digest 4.3).

    The direct evaluation, for any trained mode and any test profile
    (T' = len(sigma_test)). Broadcasts like ``modes.residuals``.
    """
    sigma_test = np.asarray(sigma_test)
    rho = sigma_test - np.asarray(u)[..., None] * lag_powers(b, sigma_test.shape[-1])
    return np.sum(np.abs(rho) ** 2, axis=-1)[()]


def extrapolation_error(family: str, delta, lam, T: int, T_test: int):
    """Closed-form error at length T' of the family's zero-loss solution trained at length T (digest 4.3).

    - ``"constant"`` (sum task) and ``"inverse_exponential"``: 0 at every T',
      because b and u do not depend on T.
    - ``"exponential"``: trained u = delta lam^T, b = 1/lam; tested against
      delta lam^{T'} lam^{-k},

          Err(T') = |delta|^2 |lam^{T'} - lam^T|^2 sum_{k=0}^{T'-1} |lam|^{-2k}

      (zero only at T' = T).
    - ``"mean"`` (targets delta/T at each lag, trained u = delta/T, b = 1):

          Err(T') = |delta|^2 (T' - T)^2 / (T^2 T')

      (per dimension; delta = 1 is the plain mean; ``lam`` is not used).
    """
    if family in ("constant", "inverse_exponential"):
        return 0.0
    if family == "exponential":
        lam_abs2 = np.abs(lam) ** 2
        lags = np.arange(T_test)
        return float(np.abs(delta) ** 2 * np.abs(lam**T_test - lam**T) ** 2 * np.sum(lam_abs2 ** (-lags)))
    if family == "mean":
        return float(np.abs(delta) ** 2 * (T_test - T) ** 2 / (T**2 * T_test))
    raise ValueError(f"family={family!r}: allowed {', '.join(EXTRAPOLATION_FAMILIES)}")
