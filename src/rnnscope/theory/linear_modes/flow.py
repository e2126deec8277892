"""Numerical integration of the three-variable mode flow (a, b, c).

Proca, Dominé, Shanahan & Mediano (2025), digest ``papers/proca.md`` 3.2-3.3
and 3.6 ("integrating the three-variable ODE numerically is exact and
simpler"). The right-hand side is ``modes.mode_rhs``; complex modes are
integrated as real and imaginary parts.

Divergence. The flow is the gradient flow of E >= 0, so along it
dE/dt = -|theta_dot|^2 and, by Cauchy-Schwarz,
|theta(t) - theta(0)| <= int |theta_dot| <= sqrt(t E(theta(0))): the exact
flow cannot blow up in finite time (our derivation). What does happen is a
run-away towards large |b| with u -> 0 when the energy keeps decreasing along
that direction (the Dirac-delta recurrent branch for T > 3, digest 4.4), and
stiffness (the Hessian grows like b^{2T}) that makes explicit solvers, and
gradient descent, slow or unstable. The integrator therefore stops a mode at a
terminal event when max(|b|, |u|) reaches ``bound`` and reports it as
diverged, with the time; it never returns NaN.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.integrate

from .modes import mode_rhs


class ModeTrajectory(NamedTuple):
    """Result of ``integrate_modes``.

    Attributes:
        t: (n_t,) the requested times.
        a, b, c: (n_t,) + batch mode values at those times (complex if the
            problem is). After a divergence event the values stay frozen at the
            state where the event fired.
        diverged: batch-shaped bool, True where max(|b|, |u|) reached the bound.
        t_diverged: batch-shaped float, the event time; NaN where not diverged.
    """

    t: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    diverged: np.ndarray
    t_diverged: np.ndarray


def _pack(a, b, c, is_complex: bool) -> np.ndarray:
    if is_complex:
        return np.array([a.real, a.imag, b.real, b.imag, c.real, c.imag], dtype=np.float64)
    return np.array([a, b, c], dtype=np.float64)


def _unpack(y: np.ndarray, is_complex: bool):
    if is_complex:
        return y[0] + 1j * y[1], y[2] + 1j * y[3], y[4] + 1j * y[5]
    return y[0], y[1], y[2]


class _BudgetExhausted(Exception):
    """Raised inside the right-hand side when max_nfev calls are used up."""


def _integrate_one(sigma, state0, t_eval, tau, method, rtol, atol, bound, max_nfev, is_complex):
    """One mode; returns (states (n_t, 3), diverged, t_diverged)."""
    calls = [0]

    def rhs(_t, y):
        calls[0] += 1
        if calls[0] > max_nfev:
            raise _BudgetExhausted
        a, b, c = _unpack(y, is_complex)
        da, db, dc = mode_rhs(a, b, c, sigma, tau)
        return _pack(da, db, dc, is_complex)

    def run_away(_t, y):
        a, b, c = _unpack(y, is_complex)
        return bound - max(abs(b), abs(a * c))

    run_away.terminal = True
    run_away.direction = -1

    frozen = np.empty((t_eval.size, 3), dtype=complex if is_complex else np.float64)
    frozen[:] = state0
    if run_away(t_eval[0], _pack(*state0, is_complex)) <= 0.0:
        return frozen, True, float(t_eval[0])
    if t_eval.size == 1:
        return frozen, False, float("nan")
    try:
        sol = scipy.integrate.solve_ivp(
            rhs,
            (float(t_eval[0]), float(t_eval[-1])),
            _pack(*state0, is_complex),
            method=method,
            t_eval=t_eval,
            events=run_away,
            rtol=rtol,
            atol=atol,
        )
    except _BudgetExhausted:
        raise RuntimeError(
            f"integrate_modes: more than max_nfev={max_nfev} right-hand-side calls before t={t_eval[-1]}"
            " (the flow is stiff here; try method='LSODA' or 'Radau', or raise max_nfev)"
        ) from None
    if sol.status == -1:
        raise RuntimeError(f"integrate_modes: the solver failed ({sol.message}); try method='LSODA' or 'Radau'")
    n_done = sol.t.size
    states = np.empty((t_eval.size, 3), dtype=complex if is_complex else np.float64)
    for i in range(n_done):
        states[i] = _unpack(sol.y[:, i], is_complex)
    diverged = bool(sol.t_events[0].size)
    t_div = float(sol.t_events[0][0]) if diverged else float("nan")
    if n_done < t_eval.size:
        if not diverged:
            raise RuntimeError(f"integrate_modes: stopped early without an event ({sol.message})")
        states[n_done:] = _unpack(sol.y_events[0][0], is_complex)
    return states, diverged, t_div


def integrate_modes(
    sigma,
    a0,
    b0,
    c0,
    t_eval,
    tau: float = 1.0,
    method: str = "DOP853",
    rtol: float = 1e-10,
    atol: float = 1e-12,
    bound: float = 1e3,
    max_nfev: int = 2_000_000,
) -> ModeTrajectory:
    """Integrate the mode flow of ``modes.mode_rhs`` from (a0, b0, c0) over ``t_eval``.

    Digest 3.2-3.3: tau da/dt = c* sum_k (b*)^k rho_k,
    tau db/dt = (ca)* sum_k k (b*)^{k-1} rho_k, tau dc/dt = a* sum_k (b*)^k rho_k.

    Args:
        sigma: lag profile, shape (T,) or batch + (T,) (``profiles.sigma_lags``).
        a0, b0, c0: initial values, scalars or batch-shaped arrays (broadcast
            together with sigma's batch shape); any complex input makes the
            whole problem complex (integrated as real and imaginary parts).
        t_eval: increasing times (training time t_theta); integration runs
            from t_eval[0] to t_eval[-1].
        tau: the time constant (tau = 1/eta for gradient descent).
        method: a ``scipy.integrate.solve_ivp`` method. DOP853 (default) or RK45
            are accurate; early-importance tasks (b > 1) are stiff near their
            solution and run much faster with ``"LSODA"`` or ``"Radau"``.
        rtol, atol: solver tolerances (defaults 1e-10, 1e-12: our choice).
        bound: a mode stops as diverged when max(|b|, |ac|) reaches it
            (default 1e3, our choice).
        max_nfev: right-hand-side calls allowed per mode before a RuntimeError
            (guards against an explicit solver crawling through a stiff flow).

    Each mode is integrated on its own (its own step sizes and events), so a
    diverging mode does not stop the others. Returns a ``ModeTrajectory``.
    Raises RuntimeError when the solver fails or the call budget runs out:
    those are numerical failures, not divergence of the flow.
    """
    t_eval = np.asarray(t_eval, dtype=np.float64)
    if t_eval.ndim != 1 or t_eval.size < 1 or np.any(np.diff(t_eval) <= 0):
        raise ValueError("t_eval must be a 1-D increasing array")
    sigma = np.asarray(sigma)
    a0, b0, c0 = (np.asarray(v) for v in (a0, b0, c0))
    is_complex = any(np.iscomplexobj(v) for v in (sigma, a0, b0, c0))
    batch = np.broadcast_shapes(a0.shape, b0.shape, c0.shape, sigma.shape[:-1])
    T = sigma.shape[-1]
    sig_b = np.broadcast_to(sigma, batch + (T,)).reshape(-1, T)
    a_b, b_b, c_b = (np.broadcast_to(v, batch).reshape(-1) for v in (a0, b0, c0))
    n_modes = sig_b.shape[0]
    dtype = complex if is_complex else np.float64
    out = np.empty((t_eval.size, n_modes, 3), dtype=dtype)
    diverged = np.zeros(n_modes, dtype=bool)
    t_div = np.full(n_modes, np.nan)
    for m in range(n_modes):
        state0 = tuple(np.asarray(v[m], dtype=dtype) for v in (a_b, b_b, c_b))
        out[:, m], diverged[m], t_div[m] = _integrate_one(
            sig_b[m], state0, t_eval, tau, method, rtol, atol, bound, max_nfev, is_complex
        )
    shape = (t_eval.size,) + batch
    return ModeTrajectory(
        t=t_eval,
        a=out[..., 0].reshape(shape),
        b=out[..., 1].reshape(shape),
        c=out[..., 2].reshape(shape),
        diverged=diverged.reshape(batch),
        t_diverged=t_div.reshape(batch),
    )
