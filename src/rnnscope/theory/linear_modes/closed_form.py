"""Closed forms of the mode flow: logistic u(t) with b frozen, windowed Taylor b(t) with u frozen.

Proca, Dominé, Shanahan & Mediano (2025), digest ``papers/proca.md``
sections 3.5 (App. C, eq. 46; App. M.1) and 3.6 (App. D, eq. 49; App. M.2).
Real modes only: with complex values the product u = ac does not obey a
closed equation of its own. Lag profiles ``sigma`` are 1-D (``profiles.sigma_lags``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .modes import lag_powers

# ---------------------------------------------------------------------------
# 3.5  Logistic growth of u = ac with b frozen and a = c (App. C)
# ---------------------------------------------------------------------------


def logistic_coefficients(sigma, b):
    """A = sum_k b^k sigma_k and B = sum_k b^{2k} (digest 3.5, App. C; single output).

    With b frozen and a = c the flow of u = ac is tau du/dt = 2u (A - u B).
    Broadcasts over b. Returns (A, B).
    """
    sigma = np.asarray(sigma, dtype=np.float64)
    powers = lag_powers(np.asarray(b, dtype=np.float64), sigma.shape[-1])
    return np.sum(powers * sigma, axis=-1), np.sum(powers**2, axis=-1)


def logistic_coefficients_t_output(s, b):
    """A and B of the T-output variant (App. M.1, digest 3.5).

        A = sum_{t=1}^T sum_{i<=t} b^{t-i} s_{t,i},    B = sum_{t=1}^T sum_{i<=t} b^{2(t-i)}

    ``s`` is a (T, T) array with s[t-1, i-1] = s_{t,i}, the singular value
    linking input i to the output at step t (entries with i > t are ignored).
    B = sum_{j=0}^{T-1} (T - j) b^{2j}, the T-output regulariser's weight.
    b is a scalar. Returns (A, B).
    """
    s = np.asarray(s, dtype=np.float64)
    T = s.shape[0]
    if s.shape != (T, T):
        raise ValueError(f"s must be square (T, T), got {s.shape}")
    t, i = np.indices((T, T))
    lag = t - i
    mask = lag >= 0
    powers = np.where(mask, float(b) ** np.maximum(lag, 0), 0.0)
    return float(np.sum(powers * s)), float(np.sum(powers**2))


def logistic_u(t, A, B, u0, tau: float = 1.0):
    """u(t) solving tau du/dt = 2u (A - u B), u(0) = u0 > 0 (digest 3.5, App. C eq. 46).

        u(t) = A e^{2At/tau} / (A/u0 - B + B e^{2At/tau})

    evaluated as A / ((A/u0 - B) e^{-2At/tau} + B), which does not overflow
    for A > 0; A = 0 gives u0 / (1 + 2 B u0 t / tau). This is ac along the
    exact flow when a = c and b is held fixed. u0 must be positive (a = c
    makes u = a^2 >= 0; u0 = 0 is a fixed point).
    """
    u0 = np.asarray(u0, dtype=np.float64)
    if np.any(u0 <= 0):
        raise ValueError("logistic_u needs u0 > 0 (balanced a = c)")
    t = np.asarray(t, dtype=np.float64)
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        decay = np.exp(-2.0 * A * t / tau)
        general = A / ((A / u0 - B) * decay + B)
        degenerate = u0 / (1.0 + 2.0 * B * u0 * t / tau)
    return np.where(A == 0.0, degenerate, general)[()]


def logistic_fixed_point(A, B):
    """u* = A / B, the stable fixed point of the logistic flow (digest 3.5, 3.7)."""
    return np.asarray(A, dtype=np.float64) / np.asarray(B, dtype=np.float64)


def logistic_time_to(u, A, B, u0, tau: float = 1.0):
    """Time for the logistic u(t) to go from u0 to u (digest 3.5, App. C).

        t(u) = (tau / 2A) ln[ u (A - u0 B) / (u0 (A - u B)) ]

    Defined for u between u0 and u* = A/B (A != 0); NaN outside.
    """
    u, A, B, u0 = (np.asarray(v, dtype=np.float64) for v in (u, A, B, u0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (tau / (2.0 * A) * np.log(u * (A - u0 * B) / (u0 * (A - u * B))))[()]


def logistic_half_time(A, B, u0, tau: float = 1.0):
    """Time for u to reach half its fixed point, u*/2 = A/(2B) (digest 4.1, from eq. 46).

        t_1/2 = (tau / 2A) ln[ (A - u0 B) / (u0 B) ]

    The recency-bias handle: for small b, A ~ sigma_0 = s_T, so the newest
    singular value sets the speed.
    """
    A, B, u0 = (np.asarray(v, dtype=np.float64) for v in (A, B, u0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (tau / (2.0 * A) * np.log((A - u0 * B) / (u0 * B)))[()]


# ---------------------------------------------------------------------------
# 3.6  Windowed fifth-order Taylor solution for b with u frozen (App. D)
# ---------------------------------------------------------------------------


def _falling(m: np.ndarray, n: int) -> np.ndarray:
    """Falling factorial (m)_n = m (m-1) ... (m-n+1); (m)_0 = 1; 0 for integers 0 <= m < n."""
    out = np.ones_like(m, dtype=np.float64)
    for j in range(n):
        out = out * (m - j)
    return out


def F_potential_derivative(b, u: float, sigma, n: int):
    """F^{(n)}(b) of F(b) = sum_k [u sigma_k b^k - (1/2) u^2 b^{2k}] (App. D eq. 49, digest 3.6).

        F^{(n)}(b) = sum_k (k)_n u sigma_k b^{k-n} - (1/2) sum_k (2k)_n u^2 b^{2k-n}

    with (m)_n the falling factorial (terms with m < n vanish). n = 0 gives F.
    With u frozen, tau db/dt = F'(b). Broadcasts over b.
    """
    if n < 0:
        raise ValueError(f"n={n!r}: need n >= 0")
    sigma = np.asarray(sigma, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)[..., None]
    k = np.arange(sigma.shape[-1], dtype=np.float64)
    first = _falling(k, n) * u * sigma * b ** np.maximum(k - n, 0.0)
    second = _falling(2.0 * k, n) * u**2 * b ** np.maximum(2.0 * k - n, 0.0)
    return (np.sum(first, axis=-1) - 0.5 * np.sum(second, axis=-1))[()]


def taylor_b_derivatives(b, u: float, sigma) -> np.ndarray:
    """b', b'', ..., b^(5) in s = t/tau at the point b, with u frozen (digest 3.6, App. D).

        b'    = F'
        b''   = F'' F'
        b'''  = (F''^2 + F''' F') F'
        b'''' = (F'''' F'^2 + 4 F'' F''' F' + F''^3) F'
        b^(5) = (F''^4 + 11 F''^2 F''' F' + 4 F'''^2 F'^2 + 7 F'''' F'' F'^2 + F^(5) F'^3) F'

    (repeated chain rule on db/ds = F'(b)). Returns shape (5,) + b.shape.
    """
    F1, F2, F3, F4, F5 = (F_potential_derivative(b, u, sigma, n) for n in range(1, 6))
    return np.stack(
        [
            F1,
            F2 * F1,
            (F2**2 + F3 * F1) * F1,
            (F4 * F1**2 + 4.0 * F2 * F3 * F1 + F2**3) * F1,
            (F2**4 + 11.0 * F2**2 * F3 * F1 + 4.0 * F3**2 * F1**2 + 7.0 * F4 * F2 * F1**2 + F5 * F1**3) * F1,
        ]
    )


def _taylor5_stability_limit() -> float:
    """|z| where the degree-5 Taylor polynomial of e^z equals -1 on the negative real axis."""
    coefficients = [1.0 / math.factorial(n) for n in range(5, -1, -1)]
    coefficients[-1] += 1.0  # R(z) + 1 = 0
    roots = np.roots(coefficients)
    real = roots[np.abs(roots.imag) < 1e-12].real
    return float(-real[real < 0].max())


TAYLOR5_STABILITY = _taylor5_stability_limit()
"""The fifth-order Taylor step for db/ds = F'(b) is linearly stable iff window * |F''| <= 3.2170 (F'' < 0).

It is the root of 1 + z + ... + z^5/5! = -1 on the negative real axis; the
digest (3.6) quotes "about 3.2".
"""


def _potential_polynomial(u: float, sigma) -> np.polynomial.Polynomial:
    """F(b) = sum_k [u sigma_k b^k - u^2 b^{2k} / 2] as a power series (same F as eq. 49)."""
    sigma = np.asarray(sigma, dtype=np.float64)
    T = sigma.shape[-1]
    coefficients = np.zeros(2 * T - 1 if T > 0 else 1)
    coefficients[:T] += u * sigma
    coefficients[0 : 2 * T - 1 : 2] -= 0.5 * u**2
    return np.polynomial.Polynomial(coefficients)


def flow_limit(b0: float, u: float, sigma) -> float:
    """Where the u-frozen flow tau db/dt = F'(b) started at b0 comes to rest.

    A one-dimensional gradient flow moves monotonically to the first zero of
    F' in the direction sign F'(b0). F' is a polynomial (degree 2T - 1, leading
    coefficient -(T-1) u^2 < 0), so for u != 0 and T >= 2 that zero exists.
    Returns b0 itself when F'(b0) = 0 or when there is no such zero.
    """
    F = _potential_polynomial(u, sigma)
    slope = F.deriv()(b0)
    if slope == 0.0 or F.degree() < 2:
        return float(b0)
    roots = F.deriv().roots()
    real = roots[np.abs(roots.imag) <= 1e-9 * max(1.0, float(np.max(np.abs(roots))))].real
    ahead = real[(real - b0) * np.sign(slope) > 0]
    if ahead.size == 0:
        return float(b0)
    return float(ahead[np.argmin(np.abs(ahead - b0))])


def default_taylor_window(b0: float, u: float, sigma) -> float:
    """The default window length: 1 / max |F''(b)| over the path of b (in s = t/tau units).

    The digest (3.6) marks the window Delta a GAP and advises Delta <= 1/max|F''|
    along the trajectory; OUR CHOICE is exactly that bound, with the maximum
    taken over [b0, ``flow_limit``] (the exact u-frozen trajectory stays in
    this interval). The maximum of the polynomial |F''| is exact: its
    endpoints and the zeros of F''' inside. Then window * |F''| <= 1 in every
    window, well inside the stability limit ``TAYLOR5_STABILITY`` (about 3.2),
    and the linearised one-window error is below |z^6/720| <= 1.4e-3 of the
    distance to the fixed point. Returns inf when F'' vanishes on the path.
    """
    F = _potential_polynomial(u, sigma)
    end = flow_limit(b0, u, sigma)
    lo, hi = min(b0, end), max(b0, end)
    F2 = F.deriv(2)
    candidates = [lo, hi]
    if F2.degree() >= 1:
        crit = F2.deriv().roots()
        crit = crit[np.abs(crit.imag) < 1e-12].real
        candidates.extend(crit[(crit > lo) & (crit < hi)])
    top = float(np.max(np.abs(F2(np.asarray(candidates)))))
    return 1.0 / top if top > 0.0 else float("inf")


class TaylorTrajectory(NamedTuple):
    """Result of ``taylor_b``.

    Attributes:
        t: (n_t,) the requested times.
        b: (n_t,) the windowed Taylor solution (NaN after an overflow, which
            only happens when ``stable`` is False).
        window: the window length used, in s = t/tau units.
        step_ratio: window * max |F''| over the window starts and the point
            where the exact flow comes to rest (``flow_limit``).
        stable: step_ratio <= ``TAYLOR5_STABILITY`` and every value finite. A
            False value means the window is too large and ``b`` is not to be
            trusted.
        monotone: every value lies between b0 and ``flow_limit`` (to 1e-8 of
            that distance), as the exact one-dimensional gradient flow does. A
            False value means the solution overshoots: the window is too large
            for accuracy even when it is stable.
    """

    t: np.ndarray
    b: np.ndarray
    window: float
    step_ratio: float
    stable: bool
    monotone: bool


def taylor_b(sigma, u: float, b0: float, t_eval, tau: float = 1.0, window: float | None = None) -> TaylorTrajectory:
    """Windowed fifth-order Taylor solution of tau db/dt = F'(b) with u frozen (digest 3.6, App. D).

    Time is s = t/tau. Windows [s_j, s_j + window) start at s_0 = t_eval[0]/tau
    with b(s_0) = b0. Inside window j,

        b(s_j + h) = sum_{n=0}^{5} b^{(n)}(s_j) h^n / n!

    with the derivatives of ``taylor_b_derivatives`` evaluated at b(s_j), and
    the next window is re-expanded at b(s_j + window). ``window`` is a GAP of
    the paper; the default is ``default_taylor_window`` (our choice, the
    stability bound 1/max|F''|), capped at the span of t_eval. The global error
    is O(window^5). Too large a window is detected: ``stable`` is False when
    window |F''| exceeds ``TAYLOR5_STABILITY`` at a window start or at the
    resting point of the flow, and ``monotone`` is False when b overshoots.
    The loop visits every window, so the cost is (span / window) steps.
    """
    sigma = np.asarray(sigma, dtype=np.float64)
    s_eval = np.asarray(t_eval, dtype=np.float64) / tau
    if s_eval.ndim != 1 or np.any(np.diff(s_eval) < 0):
        raise ValueError("t_eval must be a 1-D non-decreasing array")
    span = float(s_eval[-1] - s_eval[0])
    if window is None:
        window = min(default_taylor_window(b0, u, sigma), span if span > 0 else 1.0)
    if not window > 0:
        raise ValueError(f"window={window!r}: need a positive window")
    factorials = np.array([1.0 / math.factorial(n) for n in range(1, 6)])
    index = np.floor((s_eval - s_eval[0]) / window).astype(np.int64)
    out = np.full(s_eval.shape, np.nan)
    b_start = float(b0)
    b_end = flow_limit(b0, u, sigma)
    ratio = window * abs(float(F_potential_derivative(b_end, u, sigma, 2)))
    finite = True
    n_windows = int(index.max()) + 1 if index.size else 0
    cursor = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for j in range(n_windows):
            derivs = taylor_b_derivatives(b_start, u, sigma)
            ratio = max(ratio, window * abs(float(F_potential_derivative(b_start, u, sigma, 2))))
            coefficients = derivs * factorials
            stop = cursor
            while stop < index.size and index[stop] == j:
                stop += 1
            if stop > cursor:
                h = s_eval[cursor:stop] - (s_eval[0] + j * window)
                out[cursor:stop] = b_start + np.polynomial.polynomial.polyval(h, np.concatenate([[0.0], coefficients]))
                cursor = stop
            b_start = b_start + float(np.sum(coefficients * window ** np.arange(1, 6)))
            if not np.isfinite(b_start):
                finite = False
                break
    finite = finite and bool(np.all(np.isfinite(out)))
    slack = 1e-8 * abs(b_end - b0)
    with np.errstate(invalid="ignore"):
        monotone = finite and bool(np.all((out >= min(b0, b_end) - slack) & (out <= max(b0, b_end) + slack)))
    return TaylorTrajectory(
        t=np.asarray(t_eval, dtype=np.float64),
        b=out,
        window=float(window),
        step_ratio=float(ratio),
        stable=bool(finite and ratio <= TAYLOR5_STABILITY),
        monotone=monotone,
    )
