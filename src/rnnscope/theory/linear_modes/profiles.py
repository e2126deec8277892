"""Task singular values per lag and the zero-loss solutions of each family.

Proca, Dominé, Shanahan & Mediano (2025), "Learning dynamics in linear
recurrent neural networks" (digest ``papers/proca.md``, section 2.3; paper
eqs. 10-11, App. F.2). Everything here is written in the LAG variable
k = T - t (k = 0 is the newest input, k = T - 1 the oldest):

    sigma_k = s_{T-k},   k = 0..T-1.

A mode (a, b, c) predicts c a b^k at lag k, so a task can be fitted exactly
iff its lag profile is geometric, sigma_k = u b^k (App. F.2).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

FAMILIES = ("constant", "inverse_exponential", "exponential", "dirac")


def _dtype(*values) -> np.dtype:
    present = [np.asarray(v) for v in values if v is not None]
    return np.result_type(np.float64, *present)


def sigma_lags(family: str, delta, lam, T: int, kappa=None, s1=None) -> np.ndarray:
    """The task singular values by lag, sigma_k = s_{T-k} for k = 0..T-1.

    Digest section 2.3 (families), paper eq. 10 (kappa) and eq. 11 (Dirac):

    - ``"constant"``: s_t = delta, so sigma_k = delta (``lam`` is not used);
    - ``"inverse_exponential"``: s_t = delta lam^{T-t}, so sigma_k = delta lam^k;
    - ``"exponential"``: s_t = delta lam^t, so sigma_k = delta lam^{T-k}
      = delta lam^T (1/lam)^k;
    - ``kappa`` given (any of the three above, eq. 10): the last step is
      overwritten, sigma_0 = s_T = kappa;
    - ``"dirac"`` (eq. 11): s_1 = ``s1``, s_T = ``kappa``, every other s_t = 0,
      so sigma_{T-1} = s1, sigma_0 = kappa (``delta``, ``lam`` not used; T >= 2).

    ``delta``, ``lam``, ``kappa``, ``s1`` may be complex (rotation tasks,
    App. N/O) and may be arrays of per-mode values: the result then has shape
    ``broadcast_shape + (T,)``. 0^0 = 1, so lam = 0 in the inverse-exponential
    family keeps the newest input alone.
    """
    if T < 1:
        raise ValueError(f"T={T!r}: need T >= 1")
    k = np.arange(T)
    if family == "dirac":
        if T < 2:
            raise ValueError(f"T={T!r}: the dirac family needs T >= 2")
        if s1 is None or kappa is None:
            raise ValueError("the dirac family needs both s1 (= s_1) and kappa (= s_T)")
        s1_arr, kappa_arr = np.broadcast_arrays(np.asarray(s1), np.asarray(kappa))
        sigma = np.zeros(s1_arr.shape + (T,), dtype=_dtype(s1, kappa))
        sigma[..., T - 1] = s1_arr
        sigma[..., 0] = kappa_arr
        return sigma
    delta_arr = np.asarray(delta, dtype=_dtype(delta))[..., None]
    if family == "constant":
        lam_arr = np.asarray(1.0 if lam is None else lam)
        sigma = delta_arr * np.ones(np.shape(lam_arr) + (T,))
    elif family == "inverse_exponential":
        sigma = delta_arr * np.asarray(lam, dtype=_dtype(lam))[..., None] ** k
    elif family == "exponential":
        sigma = delta_arr * np.asarray(lam, dtype=_dtype(lam))[..., None] ** (T - k)
    else:
        raise ValueError(f"family={family!r}: allowed {', '.join(FAMILIES)}")
    if kappa is not None:
        sigma = sigma.astype(_dtype(sigma, kappa), copy=True)
        sigma[..., 0] = kappa
    return sigma


class ZeroLossSolution(NamedTuple):
    """A mode that fits a task exactly: recurrent value b and input-output product u = ac."""

    b: complex | float
    u: complex | float


def geometric_solution(sigma, rtol: float = 1e-10) -> ZeroLossSolution | None:
    """The zero-loss (b, u) of any lag profile, or None when none exists.

    App. F.2 (digest 2.3): c a b^k = sigma_k for every k iff sigma is geometric,
    sigma_k = sigma_0 r^k; then b = r = sigma_1 / sigma_0 and u = sigma_0.
    Special cases: T = 1 has b free (we return b = 0); an all-zero profile is
    fitted by u = 0 (we return b = 0); sigma_0 = 0 with some other sigma_k != 0
    has no solution. Every two-step profile with sigma_0 != 0 is geometric, so
    T = 2 kappa-modified and Dirac tasks do have zero-loss solutions.
    The geometric test is |sigma_k - sigma_0 r^k| <= rtol * max_k |sigma_k|
    (``rtol`` is our choice of round-off allowance).
    """
    sigma = np.asarray(sigma)
    if sigma.ndim != 1:
        raise ValueError(f"sigma must be one lag profile (1-D), got shape {sigma.shape}")
    scale = float(np.max(np.abs(sigma))) if sigma.size else 0.0
    if scale == 0.0:
        return ZeroLossSolution(0.0, 0.0)
    if sigma[0] == 0:
        return None
    if sigma.size == 1:
        return ZeroLossSolution(0.0, sigma[0].item())
    r = sigma[1] / sigma[0]
    fitted = sigma[0] * r ** np.arange(sigma.size)
    if np.max(np.abs(sigma - fitted)) > rtol * scale:
        return None
    return ZeroLossSolution(r.item(), sigma[0].item())


def zero_loss_solution(family: str, delta, lam, T: int, kappa=None, s1=None) -> ZeroLossSolution | None:
    """The zero-loss (b, u = ac) of a task family, or None when none exists.

    Digest section 2.3 table (paper section 2, App. F.2):

    - ``"constant"``: b = 1, u = delta;
    - ``"inverse_exponential"``: b = lam, u = delta;
    - ``"exponential"``: b = 1/lam, u = delta lam^T;
    - kappa-modified (eq. 10) and ``"dirac"`` (eq. 11): decided on the lag
      profile by ``geometric_solution``. For T >= 3 (and kappa != delta f(lam, T),
      s1 != 0) the profile is not geometric and the answer is None: no
      zero-loss solution exists. A kappa equal to the unmodified s_T gives back
      the table's solution, and T = 2 profiles are always geometric.

    Scalars only for the kappa and Dirac cases; the three plain families
    broadcast over arrays of delta and lam.
    """
    if family == "dirac" or kappa is not None:
        return geometric_solution(sigma_lags(family, delta, lam, T, kappa=kappa, s1=s1))
    if family == "constant":
        return ZeroLossSolution(np.ones_like(np.asarray(delta, dtype=_dtype(delta)))[()], delta)
    if family == "inverse_exponential":
        return ZeroLossSolution(lam, delta)
    if family == "exponential":
        lam_arr = np.asarray(lam, dtype=_dtype(lam))
        return ZeroLossSolution((1.0 / lam_arr)[()], (np.asarray(delta) * lam_arr**T)[()])
    raise ValueError(f"family={family!r}: allowed {', '.join(FAMILIES)}")


def balanced_factors(u):
    """Split u = ac into a balanced pair (a, c) with |a| = |c|.

    The balanced manifold a = c (digest 3.3: a^2 - c^2 is conserved, so a
    balanced start stays balanced). Real u >= 0 and complex u: a = c = sqrt(u).
    Real u < 0: a = sqrt(-u), c = -sqrt(-u). Returns (a, c).
    """
    u_arr = np.asarray(u)
    if np.iscomplexobj(u_arr):
        root = np.sqrt(u_arr)
        return root[()], root[()]
    root = np.sqrt(np.abs(u_arr))
    return root[()], (np.where(u_arr < 0, -root, root))[()]
