"""Feedforward-versus-recurrent trade-off: reduced energies and their global minimisers.

Proca, Dominé, Shanahan & Mediano (2025), digest ``papers/proca.md`` 4.4
(paper section 3.4, App. G, H). Minimising the mode energy over u = ac at
fixed b gives u*(b) = A(b)/B(b) (digest 3.7) and the reduced energy

    min_u E(u, b) = (1 / 2 tau) [ sum_k sigma_k^2 - A(b)^2 / B(b) ],
    A(b) = sum_k sigma_k b^k,   B(b) = sum_k b^{2k}.

The Dirac-delta task (eq. 11) is reduced in App. H's units, with its own
parameter beta_ratio = sqrt(s_1 / s_T) (not the s_1 of eq. 11, which this
module calls ``s1``). Real modes only.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np
import scipy.optimize

from .closed_form import logistic_coefficients

# ---------------------------------------------------------------------------
# Global minimisation of a smooth function of b on an interval
# ---------------------------------------------------------------------------


def _global_min(f: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, n_grid: int) -> tuple[float, float]:
    """Global minimum of f on [lo, hi]: a grid, then every grid-local minimum refined.

    Each local minimum of the grid (endpoints included) is refined by a
    bounded Brent search on its two neighbouring cells; the best point wins,
    a refined point only when it is lower by more than rounding (8 eps), and
    ties go to the smaller b. Returns (b, f(b)).
    """
    grid = np.linspace(lo, hi, n_grid)
    values = np.asarray(f(grid), dtype=np.float64)
    left = np.concatenate([[np.inf], values[:-1]])
    right = np.concatenate([values[1:], [np.inf]])
    local = np.flatnonzero((values <= left) & (values <= right))
    best_b, best_v = float(grid[np.argmin(values)]), float(np.min(values))
    for i in local:
        a_lo, a_hi = grid[max(i - 1, 0)], grid[min(i + 1, n_grid - 1)]
        candidates = [(float(grid[i]), float(values[i]))]
        if a_hi > a_lo:
            res = scipy.optimize.minimize_scalar(
                lambda x: float(f(np.asarray([x]))[0]), bounds=(a_lo, a_hi), method="bounded", options={"xatol": 1e-13}
            )
            candidates.append((float(res.x), float(res.fun)))
        for b, v in candidates:
            # a refined point must beat the incumbent by more than rounding,
            # so that an endpoint minimum (b = 0) is reported exactly
            margin = 8.0 * np.finfo(np.float64).eps * max(1.0, abs(best_v))
            if v < best_v - margin or (abs(v - best_v) <= margin and b < best_b and v <= best_v):
                best_b, best_v = b, v
    return best_b, best_v


# ---------------------------------------------------------------------------
# Dirac delta (App. H)
# ---------------------------------------------------------------------------


def beta_ratio_from_s1(s1, kappa=1.0):
    """beta_ratio = sqrt(s1 / kappa): App. H's beta from eq. 11's s_1 and s_T = kappa (digest 4.4).

    Only the ratio matters, so App. H sets s_1 = beta_ratio, s_T = 1/beta_ratio
    (a rescaling of u). A transition at beta_ratio_c is at s1 = kappa beta_ratio_c^2
    in Fig. 4 units.
    """
    return np.sqrt(np.asarray(s1, dtype=np.float64) / np.asarray(kappa, dtype=np.float64))[()]


def _dirac_parts(b, T: int):
    b = np.asarray(b, dtype=np.float64)
    return b ** (T - 1), np.sum(b[..., None] ** (2 * np.arange(T)), axis=-1)


def dirac_u_star(b, beta_ratio: float, T: int):
    """u*(b) = (beta b^{T-1} + 1/beta) / sum_{i=0}^{T-1} b^{2i} (App. H, digest 4.4).

    The optimal u = ac at fixed b for s_1 = beta, s_T = 1/beta. At b = 0 it is
    the trivial feedforward solution u = 1/beta (the paper prints "u = beta",
    a typo).
    """
    top, norm = _dirac_parts(b, T)
    return ((beta_ratio * top + 1.0 / beta_ratio) / norm)[()]


def dirac_energy(b, beta_ratio: float, T: int):
    """E*(b) = beta^2 + beta^-2 - (beta b^{T-1} + 1/beta)^2 / sum_{i=0}^{T-1} b^{2i} (App. H, digest 4.4).

    The Dirac-delta energy minimised over u, for s_1 = beta (= ``beta_ratio``),
    s_T = 1/beta. Units: E* DROPS the 1/(2 tau) of ``modes.mode_energy``,
    E* = 2 tau min_u E; minimisers are unaffected. E*(0) = beta^2 (the
    feedforward branch), E*(b) -> beta^-2 as b -> inf.
    """
    top, norm = _dirac_parts(b, T)
    return (beta_ratio**2 + beta_ratio**-2 - (beta_ratio * top + 1.0 / beta_ratio) ** 2 / norm)[()]


def _dirac_gap_sign(b, beta_ratio: float, T: int):
    """q(b) with E*(b) - E*(0) = b^2 q(b) / sum_i b^{2i} (our algebra from App. H).

        q(b) = beta^-2 sum_{i=1}^{T-1} b^{2i-2} - 2 b^{T-3} - beta^2 b^{2T-4}

    q(0) = beta^-2 - 2 for T = 3 (the b^2 coefficient A(beta) of App. H) and
    beta^-2 for T > 3. q decreases in beta for every b > 0.
    """
    b = np.asarray(b, dtype=np.float64)
    lower = np.sum(b[..., None] ** (2 * np.arange(T - 1)), axis=-1)
    return beta_ratio**-2 * lower - 2.0 * b ** (T - 3) - beta_ratio**2 * b ** (2 * T - 4)


class DiracTransition(NamedTuple):
    """Result of ``transition_point``.

    Attributes:
        T: trajectory length.
        b_max: upper end of the b range searched.
        beta_c: the beta_ratio where the global minimiser of E* over [0, b_max]
            leaves b = 0.
        betas: (n,) the beta_ratio values of the curve.
        b_star, u_star, e_star: (n,) the global minimiser b*(beta), u*(b*) and
            E*(b*) (E* in App. H units, without 1/(2 tau)).
    """

    T: int
    b_max: float
    beta_c: float
    betas: np.ndarray
    b_star: np.ndarray
    u_star: np.ndarray
    e_star: np.ndarray


def dirac_global_minimiser(beta_ratio: float, T: int, b_max: float = 2.0, n_grid: int = 4001) -> tuple[float, float, float]:
    """The global minimiser of E*(b) over b in [0, b_max]: returns (b*, u*(b*), E*(b*))."""
    b, e = _global_min(lambda x: dirac_energy(x, beta_ratio, T), 0.0, b_max, n_grid)
    return b, float(dirac_u_star(b, beta_ratio, T)), e


def transition_point(
    T: int,
    b_max: float = 2.0,
    betas=None,
    n_grid: int = 4001,
    beta_bracket: tuple[float, float] = (0.05, 20.0),
    xtol: float = 1e-12,
) -> DiracTransition:
    """beta_c of the Dirac-delta task and the minimiser curve b*(beta) (App. H, digest 4.4).

    beta_c is the beta_ratio at which the global minimiser of E*(b) over
    [0, b_max] leaves b = 0: E*(b) < E*(0) for some b in (0, b_max]. Since
    E*(b) - E*(0) has the sign of q(b) (``_dirac_gap_sign``) and q decreases
    in beta, beta_c is the unique root of m(beta) = min_{[0, b_max]} q, found
    with Brent's method in ``beta_bracket``.

    T = 3: q(b) = (beta^-2 - 2) + b^2 (beta^-2 - beta^2), so beta_c = 1/sqrt(2)
    with a continuous onset. T > 3: b = 0 stays a local minimum, the
    minimiser jumps (first order), and beta_c depends on b_max because the
    recurrent branch runs to large b (digest: about 1.001, 1.060, 1.074 for
    T = 4, 6, 10 with b_max = 2; b_max is therefore a required choice, default 2).

    ``betas`` (default 101 points on [0.5, 1.5]) sets the curve's grid.
    """
    if T < 3:
        raise ValueError(f"T={T!r}: need T >= 3 (for T = 2 every Dirac profile is fitted exactly, b = s_1/s_T)")

    def m(beta: float) -> float:
        return _global_min(lambda x: _dirac_gap_sign(x, beta, T), 0.0, b_max, n_grid)[1]

    lo, hi = beta_bracket
    if not (m(lo) > 0.0 > m(hi)):
        raise ValueError(f"beta_bracket={beta_bracket!r} does not bracket the transition for T={T}, b_max={b_max}")
    beta_c = float(scipy.optimize.brentq(m, lo, hi, xtol=xtol))
    betas = np.linspace(0.5, 1.5, 101) if betas is None else np.asarray(betas, dtype=np.float64)
    curve = np.array([dirac_global_minimiser(beta, T, b_max, n_grid) for beta in betas]).reshape(-1, 3)
    return DiracTransition(T, float(b_max), beta_c, betas, curve[:, 0], curve[:, 1], curve[:, 2])


# ---------------------------------------------------------------------------
# General lag profiles (kappa-modified tasks, digest 4.4 "global-minimum jumps")
# ---------------------------------------------------------------------------


def optimal_u(b, sigma):
    """u*(b) = A(b) / B(b), the minimiser of E over u at fixed b (digest 3.7)."""
    A, B = logistic_coefficients(sigma, b)
    return (A / B)[()]


def reduced_energy(b, sigma, tau: float = 1.0):
    """min_u E(u, b) = (1 / 2 tau) [ sum_k sigma_k^2 - A(b)^2 / B(b) ] (digest 3.7, 4.4).

    In the units of ``modes.mode_energy`` (with the 1/(2 tau)); for the Dirac
    profile sigma_0 = 1/beta, sigma_{T-1} = beta it equals
    ``dirac_energy`` / (2 tau).
    """
    sigma = np.asarray(sigma, dtype=np.float64)
    A, B = logistic_coefficients(sigma, b)
    return ((np.sum(sigma**2, axis=-1) - A**2 / B) / (2.0 * tau))[()]


class GlobalMinimum(NamedTuple):
    """The global minimiser b of ``reduced_energy`` on a range, u = u*(b), and the energy there."""

    b: float
    u: float
    energy: float


def global_minimiser(sigma, b_range: tuple[float, float] = (0.0, 1.5), n_grid: int = 3001, tau: float = 1.0) -> GlobalMinimum:
    """Global minimum over b in ``b_range`` of the mode energy minimised over u (digest 4.4).

    The converged mode of gradient flow need not be this global minimum (the
    flow can stop in a local one, digest 4.4); this is the landscape's answer.
    The default range [0, 1.5] is the one the digest's reference jumps use.
    """
    sigma = np.asarray(sigma, dtype=np.float64)
    b, e = _global_min(lambda x: reduced_energy(x, sigma, tau), float(b_range[0]), float(b_range[1]), n_grid)
    return GlobalMinimum(b, float(optimal_u(b, sigma)), e)


class MinimiserSweep(NamedTuple):
    """``global_minimiser`` along a parameter sweep: params, b, u, energy, each (n,)."""

    params: np.ndarray
    b: np.ndarray
    u: np.ndarray
    energy: np.ndarray


def sweep_global_minimiser(
    sigma_of: Callable[[float], np.ndarray],
    params: Sequence[float],
    b_range: tuple[float, float] = (0.0, 1.5),
    n_grid: int = 3001,
    tau: float = 1.0,
) -> MinimiserSweep:
    """``global_minimiser`` of ``sigma_of(p)`` for each p in ``params`` (e.g. delta or lambda).

    Example: ``sigma_of = lambda d: sigma_lags("constant", d, None, 20, kappa=1.0)``.
    """
    params = np.asarray(params, dtype=np.float64)
    rows = np.array([global_minimiser(sigma_of(p), b_range, n_grid, tau) for p in params]).reshape(-1, 3)
    return MinimiserSweep(params, rows[:, 0], rows[:, 1], rows[:, 2])


class Jump(NamedTuple):
    """A discontinuity of the global minimiser: at ``param`` b* goes from ``b_before`` to ``b_after``."""

    param: float
    b_before: float
    b_after: float


def locate_jumps(
    sigma_of: Callable[[float], np.ndarray],
    params: Sequence[float],
    b_range: tuple[float, float] = (0.0, 1.5),
    min_gap: float = 0.1,
    n_grid: int = 3001,
    xtol: float = 1e-9,
) -> list[Jump]:
    """Jumps of the global minimiser b*(p) along a parameter sweep (digest 4.4).

    Sweeps ``params`` (increasing), and wherever consecutive b* differ by more
    than ``min_gap`` bisects that interval, keeping the half whose ends still
    lie on different branches, down to ``xtol``. A change that is steep but
    continuous shrinks below ``min_gap`` under bisection and is dropped; a
    genuine jump keeps its gap. ``min_gap`` (default 0.1) is our choice of
    what counts as a jump. Returns the jumps in order; b_before is the side of
    the smaller parameter.
    """
    sweep = sweep_global_minimiser(sigma_of, params, b_range, n_grid)
    jumps: list[Jump] = []

    def b_at(p: float) -> float:
        return global_minimiser(sigma_of(p), b_range, n_grid).b

    for i in np.flatnonzero(np.abs(np.diff(sweep.b)) > min_gap):
        lo, hi = float(sweep.params[i]), float(sweep.params[i + 1])
        b_lo, b_hi = float(sweep.b[i]), float(sweep.b[i + 1])
        while hi - lo > xtol and abs(b_hi - b_lo) > min_gap:
            mid = 0.5 * (lo + hi)
            b_mid = b_at(mid)
            if abs(b_mid - b_lo) <= abs(b_mid - b_hi):
                lo, b_lo = mid, b_mid
            else:
                hi, b_hi = mid, b_mid
        if abs(b_hi - b_lo) > min_gap:
            jumps.append(Jump(0.5 * (lo + hi), b_lo, b_hi))
    return jumps
