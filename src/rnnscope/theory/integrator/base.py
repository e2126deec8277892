"""The linear RNN that learns to integrate white noise, and its target filters.

Bordelon, Cotler, Pehlevan & Zavatone-Veth (2025), "learning to integrate"
(digest ``papers/integrate.md``, sections 1-3). Continuous time, N units,
scalar input and output, time in units of the single-neuron time constant:

    dh/dt = -h + W h + u x(t),    y(t) = v . h(t),    A = W - I,

driven by unit-variance white noise x. The network is stable iff every
eigenvalue of W has real part < 1. Its impulse response is g(s) = v^T e^{As} u.

The target is the same noise filtered by g*(s) = Re e^{-z s}: z = c* for the
leaky integrator e^{-c* s}, z = c* - i omega* for the damped cosine
e^{-c* s} cos(omega* s) (the cosine rather than the sine is our choice, the
digest leaves it open: it gives g*(0) = 1 like the exponential).

Everything here is float64 NumPy/SciPy: the closed forms feed finite-difference
and Monte-Carlo checks that float32 could not resolve.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg


class Target(NamedTuple):
    """Target filter g*(s) = e^{-c s} cos(omega s); omega = 0 is the leaky integrator."""

    c: float
    omega: float = 0.0

    @property
    def pole(self) -> complex:
        """z with g*(s) = Re e^{-z s}: z = c - i omega."""
        return complex(self.c, -self.omega)

    @property
    def energy(self) -> float:
        """K* = int_0^inf g*(s)^2 ds: 1/(2c), or 1/(4c) + c / (4 (c^2 + omega^2))."""
        if self.omega == 0.0:
            return 1.0 / (2.0 * self.c)
        return 1.0 / (4.0 * self.c) + self.c / (4.0 * (self.c**2 + self.omega**2))

    @property
    def eigenvalues(self) -> np.ndarray:
        """The W-eigenvalues a network needs to match the target: 1 - c (+/- i omega)."""
        if self.omega == 0.0:
            return np.array([1.0 - self.c])
        return np.array([1.0 - self.c + 1j * self.omega, 1.0 - self.c - 1j * self.omega])


class IntegratorParams(NamedTuple):
    """Recurrent weights W (N, N), read-in u (N,), read-out v (N,)."""

    W: np.ndarray
    u: np.ndarray
    v: np.ndarray


def drift(W: np.ndarray) -> np.ndarray:
    """A = W - I, the drift matrix of dh/dt = A h + u x."""
    return W - np.eye(W.shape[0])


def max_real_eigenvalue(W: np.ndarray) -> float:
    """max_i Re lambda_i(W); the network is stable iff it is < 1."""
    return float(np.max(np.linalg.eigvals(W).real))


def is_stable(W: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(W))) and max_real_eigenvalue(W) < 1.0


def controllability_gramian(params: IntegratorParams) -> np.ndarray:
    """P = int_0^inf e^{As} u u^T e^{A^T s} ds, the solution of A P + P A^T + u u^T = 0.

    P is the stationary covariance of h under unit white noise (Bartels-Stewart
    through SciPy). Only meaningful for a stable A.
    """
    A = drift(params.W)
    return scipy.linalg.solve_continuous_lyapunov(A, -np.outer(params.u, params.u))


def observability_gramian(params: IntegratorParams) -> np.ndarray:
    """Q = int_0^inf e^{A^T s} v v^T e^{As} ds, the solution of A^T Q + Q A + v v^T = 0."""
    A = drift(params.W)
    return scipy.linalg.solve_continuous_lyapunov(A.T, -np.outer(params.v, params.v))


def resolvents(params: IntegratorParams, target: Target) -> tuple[np.ndarray, np.ndarray]:
    """S = (zI - A)^{-1} u and R = (zI - A^T)^{-1} v at the target pole z (complex if omega != 0).

    int_0^inf e^{As} u e^{-zs} ds = S, so the cross term of the loss is
    int g g* = Re v^T S.
    """
    A = drift(params.W)
    zI = target.pole * np.eye(A.shape[0])
    return np.linalg.solve(zI - A, params.u.astype(complex)), np.linalg.solve(zI - A.T, params.v.astype(complex))


def expected_loss(params: IntegratorParams, target: Target) -> float:
    """L = int_0^inf (g(s) - g*(s))^2 ds = v^T P v - 2 Re v^T S + K*.

    The stationary mean-square error under unit white noise (Ito isometry;
    digest section 3). No factor 1/2 and no normalisation by K* (our choice).
    Stability guard: +inf when some eigenvalue of W has real part >= 1, where
    the stationary error does not exist.
    """
    if not is_stable(params.W):
        return float("inf")
    P = controllability_gramian(params)
    S, _ = resolvents(params, target)
    return float(params.v @ P @ params.v - 2.0 * np.real(params.v @ S) + target.energy)
