"""Per-mode energy, gradient flow and effective regulariser.

Proca, Dominé, Shanahan & Mediano (2025), digest ``papers/proca.md``
sections 3.2-3.4 (paper eqs. 5-7, 36-39, Lemmas 3.1-3.2, App. M.4, App. N).
One mode alpha of the aligned linear RNN is the triple (a, b, c) =
(input, recurrent, output) singular value; u = ac. With the task's lag profile
sigma_k (``profiles.sigma_lags``) the residual at lag k is

    rho_k = sigma_k - c a b^k,    k = 0..T-1.

Every function broadcasts: a, b, c of shape ``batch`` and sigma of shape
``batch + (T,)`` (or just ``(T,)``). Real and complex values go through the
same code; complex conjugation is the identity on reals.
"""

from __future__ import annotations

import numpy as np


def lag_powers(b, T: int) -> np.ndarray:
    """b^k for k = 0..T-1 along a new last axis (0^0 = 1)."""
    return np.asarray(b)[..., None] ** np.arange(T)


def residuals(a, b, c, sigma) -> np.ndarray:
    """rho_k = sigma_k - c a b^k, the error of the mode at lag k (digest 3.2)."""
    sigma = np.asarray(sigma)
    u = np.asarray(a) * np.asarray(c)
    return sigma - u[..., None] * lag_powers(b, sigma.shape[-1])


def mode_energy(a, b, c, sigma, tau: float = 1.0):
    """E(a, b, c) = (1 / 2 tau) sum_{k=0}^{T-1} |sigma_k - c a b^k|^2.

    Lemma 3.1 (digest 3.3); the complex form with |.|^2 is App. N (its
    eq. 185 prints 1/(2T), which should read 1/(2 tau)). Summed over modes it is
    the loss in mode coordinates divided by tau.
    """
    rho = residuals(a, b, c, sigma)
    return np.sum(np.abs(rho) ** 2, axis=-1) / (2.0 * tau)


def mode_rhs(a, b, c, sigma, tau: float = 1.0):
    """Time derivatives (da/dt, db/dt, dc/dt) of one mode under gradient flow.

    Digest 3.2 (paper eqs. 5-7, 36-39, in the lag variable):

        tau da/dt = c* sum_{k=0}^{T-1} (b*)^k rho_k
        tau db/dt = (c a)* sum_{k=1}^{T-1} k (b*)^{k-1} rho_k
        tau dc/dt = a* sum_{k=0}^{T-1} (b*)^k rho_k

    where * is complex conjugation (App. N, digest 3.3; the identity for real
    modes). For real modes this is theta_dot = -dE/dtheta with E of
    ``mode_energy``; for complex ones theta_dot = -2 dE/d(theta*) (Wirtinger),
    which is the same as plain gradient flow on the real and imaginary parts.
    """
    sigma = np.asarray(sigma)
    T = sigma.shape[-1]
    a = np.asarray(a)
    b = np.asarray(b)
    c = np.asarray(c)
    rho = residuals(a, b, c, sigma)
    powers = np.conj(lag_powers(b, T))
    drive = np.sum(powers * rho, axis=-1)
    k = np.arange(1, T)
    slope = np.sum(k * powers[..., :-1] * rho[..., 1:], axis=-1)
    da = np.conj(c) * drive / tau
    db = np.conj(c * a) * slope / tau
    dc = np.conj(a) * drive / tau
    return da, db, dc


def conserved_quantity(a, c):
    """|a|^2 - |c|^2, constant along the gradient flow.

    Digest 3.3 (derived from the ODEs of ``mode_rhs``): d|a|^2/dt =
    2 Re(a* da/dt) = 2 Re(a* c* sum_k (b*)^k rho_k) / tau = d|c|^2/dt. For real
    modes this is a^2 - c^2, so a balanced start (a = c) stays balanced.
    """
    return np.abs(np.asarray(a)) ** 2 - np.abs(np.asarray(c)) ** 2


def data_term(u, b, sigma, tau: float = 1.0):
    """The task-driven part of E (Lemma 3.2, digest 3.4), single output.

        (1 / 2 tau) [ sum_k |sigma_k|^2 - 2 Re( u sum_k conj(sigma_k) b^k ) ]

    For real values the bracket is sum_k sigma_k^2 - 2 u sum_k sigma_k b^k as
    printed. ``data_term + effective_regulariser = mode_energy`` with u = ac.
    """
    sigma = np.asarray(sigma)
    powers = lag_powers(b, sigma.shape[-1])
    overlap = np.sum(np.conj(sigma) * powers, axis=-1)
    return (np.sum(np.abs(sigma) ** 2, axis=-1) - 2.0 * np.real(np.asarray(u) * overlap)) / (2.0 * tau)


def effective_regulariser(u, b, T: int, tau: float = 1.0):
    """The task-free effective regulariser of Lemma 3.2 (digest 3.4), single output.

        (1 / 2 tau) |u|^2 sum_{k=0}^{T-1} |b|^{2k}
            = (1 / 2 tau) |u|^2 (1 - |b|^{2T}) / (1 - |b|^2)    (|b| != 1)

    It penalises large u, more heavily as |b| grows, and diverges as T -> inf
    when |b| >= 1. Evaluated as the finite sum, which is exact at |b| = 1.
    """
    return np.abs(np.asarray(u)) ** 2 * np.sum(lag_powers(np.abs(b) ** 2, T), axis=-1) / (2.0 * tau)


def effective_regulariser_t_output(u, b, T: int, tau: float = 1.0):
    """The effective regulariser of the T-output variant (App. M.4, digest 3.4).

    With an output at every step t = 1..T the lag-j error appears in the T - j
    outputs t > j, so the regulariser is

        (1 / 2 tau) |u|^2 sum_{j=0}^{T-1} (T - j) |b|^{2j}
            = (1 / 2 tau) |u|^2 [T (1 - b^2) - b^2 (1 - b^{2T})] / (1 - b^2)^2

    (closed form for real |b| != 1; b^2 means |b|^2 for complex b). Evaluated
    as the finite sum.
    """
    weights = T - np.arange(T)
    return np.abs(np.asarray(u)) ** 2 * np.sum(weights * lag_powers(np.abs(b) ** 2, T), axis=-1) / (2.0 * tau)


def is_unstable(b) -> np.ndarray:
    """|b| > 1: the recurrent mode amplifies old inputs (digest 4.2, paper section 3.3).

    The lag-k gradient carries b^k (or k b^{k-1}), so as T grows gradients
    vanish for |b| < 1 and explode for |b| > 1. Early-importance tasks
    (inverse-exponential with lam > 1, exponential with lam < 1, rotations with
    radius > 1) have their zero-loss solution in this region. |b| = 1 exactly
    (the constant family) is marginal and counted as not unstable here.
    """
    return np.abs(np.asarray(b)) > 1.0


def loss_hessian(a, b, c, sigma) -> np.ndarray:
    """Hessian of the per-mode loss L = tau E = (1/2) sum_k rho_k^2 in (a, b, c); real modes.

    Gauss-Newton part J^T J with J_k = -(c b^k, u k b^{k-1}, a b^k), minus the
    residual-weighted second derivatives of g_k = c a b^k:
    d2g/da db = c k b^{k-1}, d2g/da dc = b^k, d2g/db^2 = u k (k-1) b^{k-2},
    d2g/db dc = a k b^{k-1} (our derivation from digest 3.2). Scalars only;
    returns a (3, 3) array.
    """
    sigma = np.asarray(sigma, dtype=np.float64)
    if np.iscomplexobj(np.asarray([a, b, c])) or sigma.ndim != 1:
        raise ValueError("loss_hessian takes one real mode: scalar a, b, c and a 1-D real sigma")
    T = sigma.size
    k = np.arange(T, dtype=np.float64)
    u = a * c
    bk = lag_powers(float(b), T)
    dbk = np.concatenate([[0.0], k[1:] * bk[:-1]])  # k b^{k-1}
    ddbk = np.concatenate([[0.0, 0.0], k[2:] * (k[2:] - 1.0) * bk[:-2]]) if T > 2 else np.zeros(T)
    rho = sigma - u * bk
    J = -np.stack([c * bk, u * dbk, a * bk], axis=1)
    second = np.zeros((T, 3, 3))
    second[:, 0, 1] = second[:, 1, 0] = c * dbk
    second[:, 0, 2] = second[:, 2, 0] = bk
    second[:, 1, 1] = u * ddbk
    second[:, 1, 2] = second[:, 2, 1] = a * dbk
    return J.T @ J - np.einsum("k,kij->ij", rho, second)


def max_stable_learning_rate(a, b, c, sigma) -> float:
    """2 / lambda_max of ``loss_hessian``: the gradient-descent step limit at (a, b, c).

    Gradient descent theta <- theta - eta grad L is the Euler discretisation of
    tau dtheta/dt = -grad L with eta = 1/tau (digest section 1). Near a
    minimum it is linearly stable only if eta < 2 / lambda_max(Hessian) (the
    standard quadratic-model bound, our addition). At the zero-loss solution
    of an early-importance task (b > 1) lambda_max grows roughly like
    u^2 (T-1)^2 b^{2(T-2)}, which
    is how "b > 1 explodes" shows up in training even though the continuous
    flow itself converges. Returns inf when no eigenvalue is positive.
    """
    top = float(np.max(np.linalg.eigvalsh(loss_hessian(a, b, c, sigma))))
    return 2.0 / top if top > 0.0 else float("inf")
