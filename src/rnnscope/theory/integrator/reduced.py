"""Reduced dynamics of the rich (small-initialisation) regime.

Bordelon, Cotler, Pehlevan & Zavatone-Veth 2025 (digest ``papers/integrate.md``,
sections 5 and 7). Gradient flow on the closed-form loss of ``base`` from
W(0) = 0 never leaves span{u0, v0}, so it is a two-unit problem (section 5.1).
With u0 perpendicular to v0 and |u0| = |v0| a reflection symmetry cuts it
down to five variables (section 5.2), and for the leaky target the flow
collapses onto a two-variable manifold carrying one outlier eigenvalue
(section 5.3). For the damped cosine a one-pole plateau precedes a conjugate
pair (section 7). Every reduction here is our derivation (the digest marks
them [D]); the functions are float64 NumPy/SciPy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.integrate
import scipy.optimize

from .base import IntegratorParams, Target

_RTOL = 1e-10
_ATOL = 1e-12


def _integrate(rhs, y0, t_eval, parameter, what: str):
    """solve_ivp of ``rhs(t, y, parameter)`` with LSODA at rtol 1e-10 over t_eval[0]..t_eval[-1], sampled at t_eval."""
    t_eval = np.asarray(t_eval, dtype=np.float64)
    sol = scipy.integrate.solve_ivp(
        rhs,
        (float(t_eval[0]), float(t_eval[-1])),
        np.asarray(y0, dtype=np.float64),
        method="LSODA",
        t_eval=t_eval,
        args=(parameter,),
        rtol=_RTOL,
        atol=_ATOL,
    )
    if not sol.success:
        raise RuntimeError(f"{what} failed: {sol.message}")
    return sol


# --------------------------------------------------------------------------
# 5.1  The exact two-unit reduction at sigma = 0
# --------------------------------------------------------------------------


def span_basis(u0: np.ndarray, v0: np.ndarray) -> np.ndarray:
    """Orthonormal basis E (N, 2) of span{u0, v0}, first column along u0.

    Gram-Schmidt: e1 = u0/|u0|, e2 = (v0 - (v0.e1) e1)/|...|. From W(0) = 0
    every gradient of the loss stays in this span, so training the N-unit
    network equals training the 2-unit one W~ = E^T W E, u~ = E^T u,
    v~ = E^T v. Bordelon et al. 2025 (digest papers/integrate.md, section 5.1);
    our derivation.
    """
    u0 = np.asarray(u0, dtype=np.float64)
    v0 = np.asarray(v0, dtype=np.float64)
    e1 = u0 / np.linalg.norm(u0)
    rest = v0 - (v0 @ e1) * e1
    rest_norm = np.linalg.norm(rest)
    if rest_norm <= 1e-12 * np.linalg.norm(v0):
        raise ValueError("u0 and v0 are parallel: their span is one-dimensional")
    return np.stack([e1, rest / rest_norm], axis=1)


def reduce_to_span(params: IntegratorParams, E: np.ndarray) -> IntegratorParams:
    """The 2-unit network (E^T W E, E^T u, E^T v) in the basis E of span{u0, v0}.

    Exact when W, u and v lie in the span (W = E E^T W E E^T), which gradient
    flow from W(0) = 0 preserves. Bordelon et al. 2025 (digest
    papers/integrate.md, section 5.1); our derivation.
    """
    return IntegratorParams(E.T @ params.W @ E, E.T @ params.u, E.T @ params.v)


def lift_from_span(reduced: IntegratorParams, E: np.ndarray) -> IntegratorParams:
    """The N-unit network (E W~ E^T, E u~, E v~) of a 2-unit one.

    The lifted network has impulse response v~^T e^{(W~ - I)s} u~, because the
    complement of the span only decays (e^{-s}) and never reaches the readout.
    Bordelon et al. 2025 (digest papers/integrate.md, section 5.1); our
    derivation.
    """
    return IntegratorParams(E @ reduced.W @ E.T, E @ reduced.u, E @ reduced.v)


# --------------------------------------------------------------------------
# 5.2  The symmetric five-variable system
# --------------------------------------------------------------------------
#
# State (lam1, lam2, k, x, y) in the basis e+- = (u0_hat +- v0_hat)/sqrt(2):
#   W = [[lam1, k], [-k, lam2]],  u = (x, y),  v = (x, -y).


class TransferCoefficients(NamedTuple):
    """G(p) = (b1 p + b0) / (p^2 + a1 p + a0)."""

    b1: float
    b0: float
    a1: float
    a0: float


class SymmetricTrajectory(NamedTuple):
    """times (T,), states (T, 5) as (lam1, lam2, k, x, y), losses (T,), eigenvalues (T, 2) complex."""

    times: np.ndarray
    states: np.ndarray
    losses: np.ndarray
    eigenvalues: np.ndarray


def symmetric_params(state: np.ndarray) -> IntegratorParams:
    """The 2-unit network W = [[lam1, k], [-k, lam2]], u = (x, y), v = (x, -y).

    Coordinates are in the basis e+- = (u0_hat +- v0_hat)/sqrt(2). Bordelon
    et al. 2025 (digest papers/integrate.md, section 5.2); our derivation.
    """
    lam1, lam2, k, x, y = np.asarray(state, dtype=np.float64)
    W = np.array([[lam1, k], [-k, lam2]])
    return IntegratorParams(W, np.array([x, y]), np.array([x, -y]))


def symmetric_transfer(state: np.ndarray) -> TransferCoefficients:
    """Coefficients of G(p) = v^T (pI - A)^{-1} u for the symmetric state (kappa_i = 1 - lam_i).

        G(p) = [(x^2 - y^2) p + x^2 kappa2 - y^2 kappa1 + 2 k x y]
               / [p^2 + (kappa1 + kappa2) p + kappa1 kappa2 + k^2].

    Bordelon et al. 2025 (digest papers/integrate.md, section 5.2); our
    derivation.
    """
    lam1, lam2, k, x, y = np.asarray(state, dtype=np.float64)
    kappa1, kappa2 = 1.0 - lam1, 1.0 - lam2
    return TransferCoefficients(
        b1=x * x - y * y,
        b0=x * x * kappa2 - y * y * kappa1 + 2.0 * k * x * y,
        a1=kappa1 + kappa2,
        a0=kappa1 * kappa2 + k * k,
    )


def _transfer_jacobian(state: np.ndarray) -> np.ndarray:
    """d(b1, b0, a1, a0)/d(lam1, lam2, k, x, y), a (4, 5) array."""
    lam1, lam2, k, x, y = np.asarray(state, dtype=np.float64)
    kappa1, kappa2 = 1.0 - lam1, 1.0 - lam2
    return np.array(
        [
            [0.0, 0.0, 0.0, 2.0 * x, -2.0 * y],
            [y * y, -x * x, 2.0 * x * y, 2.0 * x * kappa2 + 2.0 * k * y, -2.0 * y * kappa1 + 2.0 * k * x],
            [-1.0, -1.0, 0.0, 0.0, 0.0],
            [-kappa2, -kappa1, 2.0 * k, 0.0, 0.0],
        ]
    )


def _two_pole_is_stable(coeffs: TransferCoefficients) -> bool:
    return coeffs.a1 > 0.0 and coeffs.a0 > 0.0


def _two_pole_energy(coeffs: TransferCoefficients) -> float:
    """int_0^inf g^2 = (b1^2 a0 + b0^2) / (2 a0 a1) for a stable denominator."""
    b1, b0, a1, a0 = coeffs
    return (b1 * b1 * a0 + b0 * b0) / (2.0 * a0 * a1)


def symmetric_loss(state: np.ndarray, target: Target) -> float:
    """L = (b1^2 a0 + b0^2)/(2 a0 a1) - 2 Re G(z) + K*, with G = (b1 p + b0)/(p^2 + a1 p + a0).

    The first term is int g^2 (stable iff a1, a0 > 0), the second the cross
    term int g g* = Re G(z) at the target pole z = c - i omega. +inf when the
    network is unstable. Bordelon et al. 2025 (digest papers/integrate.md,
    section 5.2); our derivation.
    """
    coeffs = symmetric_transfer(state)
    if not _two_pole_is_stable(coeffs):
        return float("inf")
    b1, b0, a1, a0 = coeffs
    z = target.pole
    G_z = (b1 * z + b0) / (z * z + a1 * z + a0)
    return float(_two_pole_energy(coeffs) - 2.0 * G_z.real + target.energy)


def symmetric_loss_gradient(state: np.ndarray, target: Target) -> np.ndarray:
    """dL/d(lam1, lam2, k, x, y), analytic, by the chain rule through (b1, b0, a1, a0).

    With H = (b1^2 a0 + b0^2)/(2 a0 a1) and D = z^2 + a1 z + a0:
      dH/db1 = b1/a1, dH/db0 = b0/(a0 a1), dH/da1 = -H/a1, dH/da0 = -b0^2/(2 a0^2 a1);
      dG/db1 = z/D, dG/db0 = 1/D, dG/da1 = -z G/D, dG/da0 = -G/D.
    The chain rule is exact and costs nothing, where finite differences would
    lose half the digits and complex steps clash with the Re of a complex z.
    Bordelon et al. 2025 (digest papers/integrate.md, section 5.2); our
    derivation.
    """
    coeffs = symmetric_transfer(state)
    b1, b0, a1, a0 = coeffs
    z = target.pole
    D = z * z + a1 * z + a0
    G_z = (b1 * z + b0) / D
    H = _two_pole_energy(coeffs)
    dH = np.array([b1 / a1, b0 / (a0 * a1), -H / a1, -b0 * b0 / (2.0 * a0 * a0 * a1)])
    dG = np.array([z / D, 1.0 / D, -z * G_z / D, -G_z / D])
    dL_dcoeffs = dH - 2.0 * dG.real
    return dL_dcoeffs @ _transfer_jacobian(state)


# Gradient flow of the full 2-unit network, restricted to the symmetric
# manifold: k sits in W12 and -W21, x in u1 and v1, y in u2 and -v2, so each
# of them collects two equal partial derivatives while lam_i has one.
_SYMMETRIC_METRIC = np.array([1.0, 1.0, 0.5, 0.5, 0.5])


def symmetric_rhs(t: float, state: np.ndarray, target: Target) -> np.ndarray:
    """Gradient flow on the symmetric manifold:

        dlam_i/dt = -dL/dlam_i,  dk/dt = -1/2 dL/dk,  dx/dt = -1/2 dL/dx,  dy/dt = -1/2 dL/dy.

    The factors 1/2 are the metric induced by the full flow dW = -dL/dW,
    du = -dL/du, dv = -dL/dv. Bordelon et al. 2025 (digest
    papers/integrate.md, section 5.2); our derivation.
    """
    return -_SYMMETRIC_METRIC * symmetric_loss_gradient(state, target)


def symmetric_initial(eps: float) -> np.ndarray:
    """lam1 = lam2 = k = 0, x = y = eps/sqrt(2): W(0) = 0, u0 perpendicular to v0, |u0| = |v0| = eps.

    Bordelon et al. 2025 (digest papers/integrate.md, section 5.2); our
    derivation.
    """
    a = eps / np.sqrt(2.0)
    return np.array([0.0, 0.0, 0.0, a, a])


def symmetric_conserved(state: np.ndarray) -> float:
    """2xy - 2k(lam1 - lam2), the off-diagonal of C = W W^T - W^T W + u u^T - v v^T.

    Conserved by gradient flow (equal to eps^2 at symmetric_initial(eps)).
    Bordelon et al. 2025 (digest papers/integrate.md, sections 5.1-5.2); our
    derivation.
    """
    lam1, lam2, k, x, y = state
    return float(2.0 * x * y - 2.0 * k * (lam1 - lam2))


def symmetric_eigenvalues(state: np.ndarray) -> np.ndarray:
    """(lam1 + lam2)/2 +- sqrt(((lam1 - lam2)/2)^2 - k^2), real first-largest or a conjugate pair.

    Bordelon et al. 2025 (digest papers/integrate.md, sections 5.2 and 7); our
    derivation.
    """
    lam1, lam2, k = state[0], state[1], state[2]
    mean = 0.5 * (lam1 + lam2)
    root = np.sqrt(complex((0.5 * (lam1 - lam2)) ** 2 - k * k))
    return np.array([mean + root, mean - root])


def solve_symmetric(
    eps: float, target: Target, t_eval: np.ndarray, y0: np.ndarray | None = None
) -> SymmetricTrajectory:
    """Integrate symmetric_rhs (LSODA, rtol 1e-10) from symmetric_initial(eps), or from y0.

    Bordelon et al. 2025 (digest papers/integrate.md, sections 5.2 and 7); our
    derivation.
    """
    start = symmetric_initial(eps) if y0 is None else y0
    sol = _integrate(symmetric_rhs, start, t_eval, target, "symmetric flow")
    states = sol.y.T
    losses = np.array([symmetric_loss(s, target) for s in states])
    eigenvalues = np.array([symmetric_eigenvalues(s) for s in states])
    return SymmetricTrajectory(sol.t, states, losses, eigenvalues)


# --------------------------------------------------------------------------
# 5.3  The single-outlier 2-D ODE (leaky target), kappa = 1 - lam
# --------------------------------------------------------------------------


class OutlierTrajectory(NamedTuple):
    """times (T,), mode weight m = u.v (T,), outlier eigenvalue lam (T,), losses (T,)."""

    times: np.ndarray
    m: np.ndarray
    lam: np.ndarray
    losses: np.ndarray


def outlier_loss(m, lam, c: float):
    """L(m, lam) = m^2/(2 kappa) - 2m/(kappa + c) + 1/(2c), kappa = 1 - lam.

    The loss of g(s) = m e^{-kappa s} against e^{-c s} on the manifold
    u = v = sqrt(m) e+, W = lam e+ e+^T. Bordelon et al. 2025 (digest
    papers/integrate.md, section 5.3); our derivation.
    """
    kappa = 1.0 - lam
    return m * m / (2.0 * kappa) - 2.0 * m / (kappa + c) + 1.0 / (2.0 * c)


def outlier_rhs(t: float, y: np.ndarray, c: float) -> np.ndarray:
    """dm/dt = 2m [2/(kappa + c) - m/kappa],  dlam/dt = 2m/(kappa + c)^2 - m^2/(2 kappa^2).

    y = (m, lam). dm/dt = -2m dL/dm because m = x^2 with dx/dt = -1/2 dL/dx;
    dlam/dt = -dL/dlam. Bordelon et al. 2025 (digest papers/integrate.md,
    section 5.3); our derivation.
    """
    m, lam = y
    kappa = 1.0 - lam
    dm = 2.0 * m * (2.0 / (kappa + c) - m / kappa)
    dlam = 2.0 * m / (kappa + c) ** 2 - m * m / (2.0 * kappa * kappa)
    return np.array([dm, dlam])


def solve_outlier(m0: float, lam0: float, c: float, t_eval: np.ndarray) -> OutlierTrajectory:
    """Integrate outlier_rhs (LSODA, rtol 1e-10) from (m0, lam0).

    Bordelon et al. 2025 (digest papers/integrate.md, section 5.3); our
    derivation.
    """
    sol = _integrate(outlier_rhs, [m0, lam0], t_eval, c, "outlier flow")
    m, lam = sol.y
    return OutlierTrajectory(sol.t, m, lam, outlier_loss(m, lam, c))


def outlier_half_loss_time(c: float, m0: float, lam0: float = 0.0, t_max: float = 1e3) -> float:
    """First time at which the 2-D ODE's loss falls to half its initial value (an event of solve_ivp).

    The measured counterpart of escape_time. Bordelon et al. 2025 (digest
    papers/integrate.md, section 5.3); our derivation.
    """
    half = 0.5 * outlier_loss(m0, lam0, c)

    def crossing(t, y, c):
        return outlier_loss(y[0], y[1], c) - half

    crossing.terminal = True
    sol = scipy.integrate.solve_ivp(
        outlier_rhs,
        (0.0, t_max),
        np.array([m0, lam0], dtype=np.float64),
        method="LSODA",
        args=(c,),
        events=crossing,
        rtol=_RTOL,
        atol=1e-14,
    )
    if sol.t_events[0].size == 0:
        raise RuntimeError(f"loss did not halve before t = {t_max}")
    return float(sol.t_events[0][0])


def outlier_fixed_point(c: float) -> tuple[float, float]:
    """(m, lam) = (1, 1 - c): the unique stable fixed point, g = g*, L = 0.

    Bordelon et al. 2025 (digest papers/integrate.md, section 5.3); our
    derivation.
    """
    return 1.0, 1.0 - c


def outlier_jacobian(c: float) -> np.ndarray:
    """Jacobian of (dm/dt, dkappa/dt) in (m, kappa) at the fixed point: [[-2/c, 1/c^2], [1/(2c^2), -1/(2c^3)]].

    Bordelon et al. 2025 (digest papers/integrate.md, section 5.3); our
    derivation.
    """
    return np.array([[-2.0 / c, 1.0 / c**2], [1.0 / (2.0 * c**2), -1.0 / (2.0 * c**3)]])


def outlier_jacobian_eigenvalues(c: float) -> np.ndarray:
    """Eigenvalues of outlier_jacobian(c), ascending; about -1/(2c^3) and -1/c for small c.

    Both are negative (trace < 0, determinant 1/(2c^4) > 0): the fixed point
    is a stable node, and the fast one sets the stiffness. Bordelon et al.
    2025 (digest papers/integrate.md, section 5.3); our derivation.
    """
    return np.sort(np.linalg.eigvals(outlier_jacobian(c)).real)


def escape_time(c: float, m0: float) -> float:
    """t_esc = ((1 + c)/4) ln(1/m0): the plateau length from m0 << 1.

    Near m = 0, lam = 0 the mode weight grows as dm/dt = 4m/(1 + c). With the
    orthogonal start m0 = eps^2/2. Bordelon et al. 2025 (digest
    papers/integrate.md, section 5.3); our derivation.
    """
    return (1.0 + c) / 4.0 * np.log(1.0 / m0)


# --------------------------------------------------------------------------
# 7  The damped cosine: the one-pole plateau before the conjugate pair
# --------------------------------------------------------------------------


class OnePolePlateau(NamedTuple):
    """Best one-pole fit m e^{-kappa s}; the W-eigenvalue there is 1 - kappa."""

    kappa: float
    m: float
    loss: float


def _one_pole_overlap(kappa: float, target: Target) -> float:
    """int_0^inf e^{-kappa s} g*(s) ds = Re 1/(kappa + z)."""
    return (1.0 / (kappa + target.pole)).real


def one_pole_plateau(target: Target) -> OnePolePlateau:
    """Minimise L(m, kappa) = m^2/(2 kappa) - 2 m Re 1/(kappa + z) + K* over m and kappa > 0.

    Eliminating m (m = 2 kappa Re 1/(kappa + z)) leaves
    L(kappa) = K* - 2 kappa [Re 1/(kappa + z)]^2, minimised over log kappa.
    For the damped cosine this is the plateau of the symmetric flow before
    the conjugate pair forms. Bordelon et al. 2025 (digest
    papers/integrate.md, section 7); our derivation.
    """

    def loss_of_log_kappa(log_kappa: float) -> float:
        kappa = np.exp(log_kappa)
        return target.energy - 2.0 * kappa * _one_pole_overlap(kappa, target) ** 2

    scale = abs(target.pole)
    result = scipy.optimize.minimize_scalar(
        loss_of_log_kappa,
        bounds=(np.log(scale) - 8.0, np.log(scale) + 8.0),
        method="bounded",
        options={"xatol": 1e-12},
    )
    kappa = float(np.exp(result.x))
    m = 2.0 * kappa * _one_pole_overlap(kappa, target)
    return OnePolePlateau(kappa, float(m), float(result.fun))
