"""The lazy regime: a fixed random bulk, a trained readout, and the learnability threshold.

Bordelon, Cotler, Pehlevan & Zavatone-Veth 2025 (digest ``papers/integrate.md``,
section 6). With large initial weights W0 (Ginibre, W0_ij ~ N(0, sigma^2/N))
W barely moves and learning is kernel regression of the target on the
features h(s) = e^{(W0 - I)s} u. The target e^{-c s} has a finite norm in
that kernel's RKHS iff its W-eigenvalue 1 - c lies inside the bulk disk,
|1 - c| < sigma, and for the damped cosine iff |1 - c + i omega| < sigma.
Below the threshold the readout norm diverges. The kernel, norm and sweep
are our derivation (the digest marks them [D]).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.special

from .base import Target


def lazy_kernel(s, s2, sigma: float):
    """K(s, s') = e^{-(s + s')} I0(2 sigma sqrt(s s')), the N -> inf limit of h(s).h(s').

    h(s) = e^{(W0 - I)s} u with Ginibre W0 of radius sigma and |u| = 1; only
    planar pairings of W0^T with W0 survive, giving sum_k (sigma^2 s s')^k / (k!)^2.
    Written with the scaled Bessel function ive = e^{-x} I0(x), which does not
    overflow. Bordelon et al. 2025 (digest papers/integrate.md, section 6);
    our derivation.
    """
    s = np.asarray(s, dtype=np.float64)
    s2 = np.asarray(s2, dtype=np.float64)
    x = 2.0 * sigma * np.sqrt(s * s2)
    return scipy.special.ive(0, x) * np.exp(x - s - s2)


def _normalised_pole(target: Target, sigma: float) -> complex:
    """zeta = (1 - z)/sigma = (1 - c + i omega)/sigma, the target's W-eigenvalue over the bulk radius."""
    return (1.0 - target.pole) / sigma


def rkhs_norm_sq(target: Target, sigma: float) -> float:
    """|g*|_K^2 = sum_k (Re zeta^k)^2 with zeta = (1 - c + i omega)/sigma.

    Leaky target: sigma^2/(sigma^2 - (1 - c)^2). Damped cosine:
    1/2 [Re 1/(1 - zeta^2) + 1/(1 - |zeta|^2)]. +inf when |zeta| >= 1 (the
    series diverges). This is the squared norm of the minimum-norm readout v
    for |u| = 1. Bordelon et al. 2025 (digest papers/integrate.md, section 6);
    our derivation.
    """
    zeta = _normalised_pole(target, sigma)
    if abs(zeta) >= 1.0:
        return float("inf")
    if target.omega == 0.0:
        return sigma**2 / (sigma**2 - (1.0 - target.c) ** 2)
    return 0.5 * ((1.0 / (1.0 - zeta * zeta)).real + 1.0 / (1.0 - abs(zeta) ** 2))


def learnability_threshold(target: Target) -> float:
    """The smallest bulk radius that makes the target lazily learnable: |1 - c + i omega|.

    Bordelon et al. 2025 (digest papers/integrate.md, section 6; the
    threshold |1 - c| < sigma is stated there, the oscillator's is our
    derivation).
    """
    return abs(1.0 - target.pole)


def is_learnable_lazily(target: Target, sigma: float) -> bool:
    """learnability_threshold(target) < sigma < 1.

    sigma >= 1 is excluded because the initial network is then unstable and
    the kernel is not integrable. Bordelon et al. 2025 (digest
    papers/integrate.md, section 6).
    """
    return learnability_threshold(target) < sigma < 1.0


class ReadoutFlow(NamedTuple):
    """times (T,), |v(t)| (T,), L(t)/L0 with L0 = K* the loss at v = 0 (T,)."""

    times: np.ndarray
    v_norms: np.ndarray
    relative_losses: np.ndarray


def readout_only_flow(W0: np.ndarray, u: np.ndarray, target: Target, times) -> ReadoutFlow:
    """Gradient flow dv/dt = -2(P v - b) from v = 0, with W = W0 and u fixed, in closed form.

    L(v) = v^T P v - 2 v^T b + K*, b = Re S. With P = sum_i mu_i q_i q_i^T and
    beta_i = q_i.b:
        v(t) = sum_i q_i beta_i (1 - e^{-2 mu_i t}) / mu_i,
        L(t) = K* - sum_i beta_i^2 (1 - e^{-4 mu_i t}) / mu_i.
    Computed in the real Schur basis of W0 (norms and L do not depend on the
    basis). Bordelon et al. 2025 (digest papers/integrate.md, section 6); our
    derivation.
    """
    schur_W, Z = scipy.linalg.schur(np.asarray(W0, dtype=np.float64), output="real")
    if _max_real_eigenvalue_of_schur(schur_W) >= 1.0:
        raise ValueError("W0 has an eigenvalue with real part >= 1: the network is unstable")
    drift_schur = schur_W - np.eye(schur_W.shape[0])
    return _readout_flow_in_schur_basis(drift_schur, Z.T @ u, target, times)


def _max_real_eigenvalue_of_schur(schur_form: np.ndarray) -> float:
    """max Re lambda of a real quasi-triangular matrix (its eigenvalues are those of its diagonal blocks)."""
    return float(np.max(np.linalg.eigvals(schur_form).real))


def _readout_flow_in_schur_basis(drift_schur: np.ndarray, u_schur: np.ndarray, target: Target, times) -> ReadoutFlow:
    """readout_only_flow with A = Z drift_schur Z^T already in real Schur form and u_schur = Z^T u.

    The Gramian Z^T P Z solves the quasi-triangular Lyapunov equation
    A P + P A^T = -u u^T directly (quasi_triangular_sylvester), so a sweep
    that rescales one matrix pays for a single Schur decomposition.
    """
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    gramian = quasi_triangular_sylvester(drift_schur, drift_schur, -np.outer(u_schur, u_schur))
    mu, q = np.linalg.eigh(0.5 * (gramian + gramian.T))
    # P is positive semi-definite; roundoff can leave tiny negative eigenvalues.
    mu = np.clip(mu, 0.0, None)
    identity = np.eye(drift_schur.shape[0])
    cross = np.linalg.solve(target.pole * identity - drift_schur, u_schur.astype(complex)).real
    beta = q.T @ cross

    v_norms = np.empty_like(times)
    losses = np.empty_like(times)
    for i, t in enumerate(times):
        v_norms[i] = np.linalg.norm(beta * _saturating_factor(mu, 2.0 * t))
        losses[i] = target.energy - np.sum(beta * beta * _saturating_factor(mu, 4.0 * t))
    return ReadoutFlow(times, v_norms, losses / target.energy)


def quasi_triangular_sylvester(a: np.ndarray, b: np.ndarray, c: np.ndarray, leaf: int = 64) -> np.ndarray:
    """X with A X + X B^T = C, for A and B upper quasi-triangular (real Schur forms).

    Recursive blocked Bartels-Stewart (Jonsson & Kagstrom 2002, "Recursive
    blocked algorithms for solving triangular systems"): split the larger
    side in two, solve the trailing block, move its coupling to the right-hand
    side with a matrix product, solve the leading block. Blocks of at most
    `leaf` rows and columns go to LAPACK trsyl, whose element-by-element
    sweep is several times slower at N of several hundred; the products carry
    the rest. A split never cuts a 2x2 diagonal block. Our implementation.
    """
    m, n = c.shape
    if m <= leaf and n <= leaf:
        x, scale, info = scipy.linalg.lapack.dtrsyl(a, b, c, tranb="T")
        if info < 0:
            raise ValueError(f"trsyl rejected argument {-info}")
        if scale != 1.0:
            raise ValueError("trsyl rescaled the solution to avoid overflow: the equation is near-singular")
        return x
    if m >= n:
        k = _block_split(a, m // 2)
        lower = quasi_triangular_sylvester(a[k:, k:], b, c[k:], leaf)
        upper = quasi_triangular_sylvester(a[:k, :k], b, c[:k] - a[:k, k:] @ lower, leaf)
        return np.vstack([upper, lower])
    k = _block_split(b, n // 2)
    right = quasi_triangular_sylvester(a, b[k:, k:], c[:, k:], leaf)
    left = quasi_triangular_sylvester(a, b[:k, :k], c[:, :k] - right @ b[:k, k:].T, leaf)
    return np.hstack([left, right])


def _block_split(t: np.ndarray, k: int) -> int:
    """k, or k + 1 when row k starts inside a 2x2 diagonal block (t[k, k-1] != 0)."""
    return k + 1 if t[k, k - 1] != 0.0 else k


def _saturating_factor(mu: np.ndarray, a: float) -> np.ndarray:
    """(1 - e^{-a mu}) / mu through expm1, equal to a at mu = 0."""
    safe = np.where(mu > 0.0, mu, 1.0)
    return np.where(mu > 0.0, -np.expm1(-a * safe) / safe, a)


class ThresholdSweep(NamedTuple):
    """The estimated threshold and the data behind it, over the sigmas stable in every draw.

    v_norms_sq is the harmonic mean over draws of |v(t)|^2 (the mean of 1/|v|^2,
    the quantity that is linear in 1/sigma^2).
    """

    threshold: float
    sigmas: np.ndarray
    v_norms_sq: np.ndarray
    converged: np.ndarray


def _inverse_norm_shape(radius: float, sigmas: np.ndarray, angle: float) -> np.ndarray:
    """1 / rkhs_norm_sq for a target eigenvalue radius * e^{i angle}; 1 - radius^2/sigma^2 when angle = 0."""
    if angle == 0.0:
        return 1.0 - (radius / sigmas) ** 2
    zeta = radius / sigmas * np.exp(1j * angle)
    norm_sq = 0.5 * ((1.0 / (1.0 - zeta * zeta)).real + 1.0 / (1.0 - np.abs(zeta) ** 2))
    return 1.0 / norm_sq


def fit_threshold(sigmas, v_norms_sq, angle: float = 0.0) -> float:
    """The radius r that best fits 1/|v|^2 = a / |g*|_K^2 (zeta = r e^{i angle}/sigma) over the sigmas, a free.

    For the leaky target (angle 0) the model is a (1 - r^2/sigma^2), a line in
    1/sigma^2 that vanishes at sigma = r. The amplitude a stands for |u|^2,
    which differs from 1 by O(N^{-1/2}), so the estimate does not depend on
    the norm of u. It is left free rather than fixed to |u|^2 (our choice):
    near the bulk edge a finite-N sweep inflates every |v|^2 by a nearly
    common factor (a ~ 0.4 at c* = 0.1, N = 600, ~ 0.8 at c* = 0.3, N = 400),
    and with a fixed each sigma alone gives r = sigma sqrt(1 - |u|^2/|v|^2),
    pulled up towards sigma. For the damped cosine the angle is arg(1 - c + i omega)
    and the shape is the oscillator's norm. a is eliminated by linear least
    squares and r searched in (0, min sigma). Our estimator, built on
    Bordelon et al. 2025 (digest papers/integrate.md, section 6).
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    inverse_norms = 1.0 / np.asarray(v_norms_sq, dtype=np.float64)
    if sigmas.size < 2:
        raise ValueError("need the readout norms of at least two converged sigmas")

    def residual(radius: float) -> float:
        shape = _inverse_norm_shape(radius, sigmas, angle)
        amplitude = (shape @ inverse_norms) / (shape @ shape)
        return float(np.sum((inverse_norms - amplitude * shape) ** 2))

    result = scipy.optimize.minimize_scalar(
        residual, bounds=(0.0, sigmas.min() * (1.0 - 1e-9)), method="bounded", options={"xatol": 1e-10}
    )
    return float(result.x)


def _edge_scale(eigenvalues: np.ndarray, unit_edge: bool) -> float:
    """1 / rho(G) = 1 / max_i |lambda_i(G)| when unit_edge, else 1.

    With it W0 = sigma G / rho(G) has its bulk edge exactly at sigma, the N -> inf
    circular law's radius; rho(G) itself is 1 + O(sqrt(log N / N)). Our choice.
    """
    return 1.0 / float(np.max(np.abs(eigenvalues))) if unit_edge else 1.0


def lazy_threshold_from_sweep(
    target: Target,
    sigmas,
    n: int,
    seed: int,
    t: float,
    draws: int = 1,
    settle_tolerance: float = 0.05,
    unit_edge: bool = False,
) -> ThresholdSweep:
    """Estimate the lazy learnability threshold from readout-only flows over a sweep of bulk radii.

    Each draw takes one base matrix G (G_ij ~ N(0, 1/n)) and one u ~ N(0, 1/n)
    from the seed's stream, and W0 = sigma G for every sigma, so within a draw
    the sweep varies the radius alone. 1/|v(t)|^2 is averaged over the draws
    (as N -> inf its expectation keeps the shape fit_threshold assumes, with
    a = E|u|^2 = 1).
    A sigma counts as converged when that average moved by at most
    settle_tolerance (relative) between t/2 and t: below the threshold the
    norm keeps growing like a power of t. Above it |v|^2 -> |g*|_K^2 / |u|^2,
    sigma^2/(sigma^2 - r^2) for the leaky target, and fit_threshold on the
    converged sigmas reads off r. Sigmas at which some draw is unstable are
    dropped. Our estimator, built on Bordelon et al. 2025 (digest
    papers/integrate.md, section 6).

    unit_edge (our choice, a finite-N correction of the circular law's edge):
    W0 = sigma G / rho(G), rho(G) the draw's spectral radius, so that every
    draw's bulk edge sits exactly at sigma as in the N -> inf theory. Without
    it rho(G) was 1.00-1.08 (mean 1.03) over 24 draws at N = 400 and at 600,
    and stability, sigma max Re lambda(G) < 1, leaves almost no sigma above a
    threshold near 1 such as |1 - c*| = 0.9 for c* = 0.1; with it every
    sigma < 1 is stable (max Re lambda <= rho). The correction vanishes as
    N -> inf. For c* = 0.1, unit_edge with N = 600, six draws, t = 2000,
    settle_tolerance = 0.15 and sigmas (0.85, 0.92, 0.94, 0.96) gave errors
    of mean -1.1%, s.d. 2.0%, max 7.0% over 24 seeds.
    Near the edge the finite-N norms still exceed the theory's by a factor
    that is nearly constant over the sweep (1/|v|^2 ~ 0.4 (1 - r^2/sigma^2) at
    c* = 0.1, N = 600), which the free amplitude of fit_threshold absorbs, and
    they scatter several-fold from draw to draw (1/|v|^2 at sigma = 0.94
    spans 0.005-0.10 over 30 draws there), hence several draws.
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    rng = np.random.default_rng(seed)
    inverse_norms = np.full((draws, sigmas.size, 2), np.nan)
    for d in range(draws):
        base = rng.normal(0.0, 1.0 / np.sqrt(n), size=(n, n))
        u = rng.normal(0.0, 1.0 / np.sqrt(n), size=n)
        schur_base, Z = scipy.linalg.schur(base, output="real")
        eigenvalues = np.linalg.eigvals(schur_base)
        scale = _edge_scale(eigenvalues, unit_edge)
        rightmost = scale * float(np.max(eigenvalues.real))
        u_schur = Z.T @ u
        for i, sigma in enumerate(sigmas):
            if sigma * rightmost >= 1.0:
                continue
            drift_schur = sigma * scale * schur_base - np.eye(n)
            flow = _readout_flow_in_schur_basis(drift_schur, u_schur, target, [0.5 * t, t])
            inverse_norms[d, i] = 1.0 / flow.v_norms**2

    stable = np.all(np.isfinite(inverse_norms[:, :, 0]), axis=0)
    half, full = inverse_norms[:, stable].mean(axis=0).T
    converged = np.abs(half - full) <= settle_tolerance * full
    kept = sigmas[stable]
    angle = float(np.angle(1.0 - target.pole))
    threshold = fit_threshold(kept[converged], 1.0 / full[converged], angle)
    return ThresholdSweep(threshold, kept, 1.0 / full, converged)
