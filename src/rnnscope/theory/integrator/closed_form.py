"""Exact gradients, a Monte-Carlo check and training on the closed-form integrator loss.

Bordelon, Cotler, Pehlevan & Zavatone-Veth (2025), digest ``papers/integrate.md``.
Builds on ``base``: the loss L = int_0^inf (g - g*)^2 ds of the linear RNN
dh/dt = A h + u x, y = v . h (A = W - I) against the target filter g*.

Everything is float64 NumPy/SciPy. One real Schur decomposition of A per
evaluation serves both Lyapunov equations (P and Q), which is the main cost:
about 6 ms per loss-and-gradient evaluation at N = 100 with single-threaded
BLAS (OMP_NUM_THREADS=1); multi-threaded BLAS on a busy two-core machine was
several times slower at this size.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
import scipy.integrate
import scipy.linalg
from scipy.linalg import lapack

from .base import IntegratorParams, Target, drift, expected_loss

PARAMETER_NAMES = ("W", "u", "v")


# ---------------------------------------------------------------------------
# Initialisation and the exact solution


def ginibre_init(seed: int, n: int, sigma: float, eps: float, orthogonal_io: bool = False) -> IntegratorParams:
    """Ginibre recurrent weights and Gaussian read-in/read-out.

    W_ij ~ N(0, sigma^2 / n), so the spectrum of W fills the disk |lambda| <= sigma
    (circular law); u_i, v_i ~ N(0, eps^2 / n), so |u| ~ |v| ~ eps (the scale of
    u and v is our choice, a gap in the source). With ``orthogonal_io`` the two
    Gaussian draws are Gram-Schmidt orthogonalised and rescaled to
    |u| = |v| = eps exactly, u . v = 0.
    Bordelon et al. 2025 (digest papers/integrate.md, section 1).
    """
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, sigma / np.sqrt(n), size=(n, n))
    u = rng.normal(0.0, eps / np.sqrt(n), size=n)
    v = rng.normal(0.0, eps / np.sqrt(n), size=n)
    if orthogonal_io:
        if n < 2:
            raise ValueError("orthogonal read-in and read-out need n >= 2")
        u_hat = u / np.linalg.norm(u)
        v_perp = v - (v @ u_hat) * u_hat
        u = eps * u_hat
        v = eps * v_perp / np.linalg.norm(v_perp)
    return IntegratorParams(W, u, v)


def balanced_solution(n: int, target: Target) -> IntegratorParams:
    """The balanced zero-loss solution of the leaky target g*(s) = e^{-c s}.

    W = (1 - c) e e^T, u = v = e with e the first basis vector, so that
    g(s) = v^T e^{(W - I) s} u = e^{-c s} exactly.
    Bordelon et al. 2025 (digest papers/integrate.md, sections 4 and 5.3).
    """
    if target.omega != 0.0:
        raise ValueError("the balanced solution is defined for the leaky target (omega = 0) only")
    e = np.zeros(n)
    e[0] = 1.0
    return IntegratorParams((1.0 - target.c) * np.outer(e, e), e.copy(), e.copy())


# ---------------------------------------------------------------------------
# Loss and exact gradients


class _LossTerms(NamedTuple):
    P: np.ndarray
    Q: np.ndarray
    S: np.ndarray
    R: np.ndarray


def _lyapunov_terms(params: IntegratorParams, target: Target) -> _LossTerms | None:
    """P, Q, S, R from one real Schur form A = Z T Z^T; None when A is not stable.

    With X = Z^T P Z and Y = Z^T Q Z the Lyapunov equations become the
    quasi-triangular Sylvester equations T X + X T^T = -(Z^T u)(Z^T u)^T and
    T^T Y + Y T = -(Z^T v)(Z^T v)^T (LAPACK trsyl). S and R share one LU of zI - A.
    """
    W, u, v = params
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
        return None
    A = drift(W)
    T, Z = scipy.linalg.schur(A, output="real")
    # LAPACK's standardised 2x2 blocks have both diagonal entries equal to the
    # real part of the pair, so diag(T) holds every Re eigenvalue of A.
    if np.max(np.diag(T)) >= 0.0:
        return None
    u_s, v_s = Z.T @ u, Z.T @ v
    X, scale_x, _ = lapack.dtrsyl(T, T, -np.outer(u_s, u_s), trana="N", tranb="T")
    Y, scale_y, _ = lapack.dtrsyl(T, T, -np.outer(v_s, v_s), trana="T", tranb="N")
    P = Z @ (X / scale_x) @ Z.T
    Q = Z @ (Y / scale_y) @ Z.T
    z = target.pole if target.omega != 0.0 else target.c
    lu = scipy.linalg.lu_factor(z * np.eye(A.shape[0]) - A)
    S = scipy.linalg.lu_solve(lu, u)
    R = scipy.linalg.lu_solve(lu, v, trans=1)  # (zI - A)^T = zI - A^T, no conjugation
    return _LossTerms(P, Q, S, R)


def loss_and_grads(params: IntegratorParams, target: Target) -> tuple[float, IntegratorParams]:
    """Closed-form loss and its exact gradient with respect to (W, u, v).

        L     = v^T P v - 2 Re(v^T S) + K*
        dL/dv = 2 (P v - Re S)
        dL/du = 2 (Q u - Re R)
        dL/dW = 2 (Q P - Re(R S^T))

    with P, Q the controllability and observability Gramians and
    S = (zI - A)^{-1} u, R = (zI - A^T)^{-1} v at the target pole z.
    Stability guard: (inf, NaN gradients) when some eigenvalue of W has real
    part >= 1 or a parameter is not finite.
    Bordelon et al. 2025 (digest papers/integrate.md, section 3).
    """
    terms = _lyapunov_terms(params, target)
    if terms is None:
        W, u, v = params
        nan_grads = IntegratorParams(np.full(W.shape, np.nan), np.full(u.shape, np.nan), np.full(v.shape, np.nan))
        return float("inf"), nan_grads
    P, Q, S, R = terms
    _, u, v = params
    loss = float(v @ P @ v - 2.0 * np.real(v @ S) + target.energy)
    grad_W = 2.0 * (Q @ P - np.real(np.outer(R, S)))
    grad_u = 2.0 * (Q @ u - np.real(R))
    grad_v = 2.0 * (P @ v - np.real(S))
    return loss, IntegratorParams(grad_W, grad_u, grad_v)


# ---------------------------------------------------------------------------
# Monte-Carlo estimate from the exactly discretised joint OU process


def target_filter_system(target: Target) -> tuple[np.ndarray, np.ndarray]:
    """(F, b*) with g*(s) = e_1^T e^{F s} b*: the target filter as a linear system.

    omega = 0: F = [[-c]], b* = (1). omega != 0: the rotation-decay
    F = [[-c, -omega], [omega, -c]], b* = (1, 0), for which
    e_1^T e^{F s} e_1 = e^{-c s} cos(omega s).
    Bordelon et al. 2025 (digest papers/integrate.md, section 2).
    """
    c, omega = target.c, target.omega
    if omega == 0.0:
        return np.array([[-c]]), np.array([1.0])
    return np.array([[-c, -omega], [omega, -c]]), np.array([1.0, 0.0])


def joint_ou_system(params: IntegratorParams, target: Target) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(M, b, r) of the joint network-target process s = (h, zeta).

    ds = M s dt + b dB with M = blockdiag(A, F), b = (u, b*); the error
    y - y* = v . h - zeta_1 = r . s with r = (v, -1[, 0]).
    Bordelon et al. 2025 (digest papers/integrate.md, sections 3 and 9).
    """
    F, b_target = target_filter_system(target)
    M = scipy.linalg.block_diag(drift(params.W), F)
    b = np.concatenate([params.u, b_target])
    r = np.concatenate([params.v, -b_target])
    return M, b, r


def _psd_sqrt(C: np.ndarray) -> np.ndarray:
    """Symmetric square root of a covariance; tiny negative eigenvalues from roundoff are clipped."""
    eigvals, eigvecs = np.linalg.eigh(0.5 * (C + C.T))
    return (eigvecs * np.sqrt(np.clip(eigvals, 0.0, None))) @ eigvecs.T


def monte_carlo_loss(
    params: IntegratorParams,
    target: Target,
    dt: float,
    n_samples: int,
    n_chains: int,
    seed: int,
) -> tuple[float, float]:
    """Sampled stationary mean-square error and its standard error.

    The joint process ds = M s dt + b dB is discretised exactly (no time-step
    bias, unlike Euler-Maruyama):

        s_{k+1} = e^{M dt} s_k + xi_k,   xi_k ~ N(0, Sigma_dt),
        Sigma_dt = Sigma_inf - e^{M dt} Sigma_inf e^{M dt}^T,
        M Sigma_inf + Sigma_inf M^T + b b^T = 0.

    Each of the ``n_chains`` independent chains starts from the stationary
    law N(0, Sigma_inf) (no burn-in) and averages (r . s_k)^2 over its
    ``n_samples`` samples k = 0 .. n_samples - 1. Returns the mean over chains
    and the standard error of the chain means, which stays honest despite the
    autocorrelation within a chain. (inf, nan) for an unstable network.
    Bordelon et al. 2025 (digest papers/integrate.md, sections 3 and 9).
    """
    if n_chains < 2:
        raise ValueError("the standard error needs n_chains >= 2")
    if expected_loss(params, target) == float("inf"):
        return float("inf"), float("nan")
    M, b, r = joint_ou_system(params, target)
    sigma_inf = scipy.linalg.solve_continuous_lyapunov(M, -np.outer(b, b))
    transition = scipy.linalg.expm(M * dt)
    sigma_dt = sigma_inf - transition @ sigma_inf @ transition.T
    root_inf, root_dt = _psd_sqrt(sigma_inf), _psd_sqrt(sigma_dt)

    rng = np.random.default_rng(seed)
    dim = M.shape[0]
    states = rng.standard_normal((n_chains, dim)) @ root_inf.T
    sums = np.zeros(n_chains)
    for _ in range(n_samples):
        sums += (states @ r) ** 2
        states = states @ transition.T + rng.standard_normal((n_chains, dim)) @ root_dt.T
    chain_means = sums / n_samples
    return float(chain_means.mean()), float(chain_means.std(ddof=1) / np.sqrt(n_chains))


# ---------------------------------------------------------------------------
# Training


class TrainLog(NamedTuple):
    """What a training run logs, one row per logged point.

    ``eigenvalues`` of W are sorted by decreasing real part, so column 0 is
    the top (outlier) eigenvalue. ``diverged_at`` is the training time at
    which the stability guard fired (nan if it never did). ``final`` holds the
    last parameters that passed the guard: after the last completed step for
    GD, at the last logged time for the flow.
    """

    time: np.ndarray
    loss: np.ndarray
    eigenvalues: np.ndarray
    overlap: np.ndarray
    cosine: np.ndarray
    delta_W: np.ndarray
    conserved_drift: np.ndarray
    diverged: bool
    diverged_at: float
    final: IntegratorParams


def conserved_quantity(params: IntegratorParams) -> np.ndarray:
    """C = W W^T - W^T W + u u^T - v v^T.

    Conserved by gradient flow on (W, u, v) because the loss is invariant under
    (W, u, v) -> (G W G^{-1}, G u, G^{-T} v); GD drifts by O(lr^2) per step.
    Bordelon et al. 2025 (digest papers/integrate.md, section 5.1).
    """
    W, u, v = params
    return W @ W.T - W.T @ W + np.outer(u, u) - np.outer(v, v)


def _cosine(u: np.ndarray, v: np.ndarray) -> float:
    norms = np.linalg.norm(u) * np.linalg.norm(v)
    return float(u @ v / norms) if norms > 0.0 else float("nan")


def _log_row(params: IntegratorParams, params0: IntegratorParams, C0: np.ndarray, loss: float) -> tuple:
    W, u, v = params
    eigenvalues = np.linalg.eigvals(W)
    eigenvalues = eigenvalues[np.lexsort((-eigenvalues.imag, -eigenvalues.real))]
    return (
        loss,
        eigenvalues,
        float(u @ v),
        _cosine(u, v),
        float(np.linalg.norm(W - params0.W, 2)),
        float(np.linalg.norm(conserved_quantity(params) - C0)),
    )


def _assemble_log(
    times: list[float],
    rows: list[tuple],
    n: int,
    diverged: bool,
    diverged_at: float,
    final: IntegratorParams,
) -> TrainLog:
    losses, eigenvalues, overlaps, cosines, delta_Ws, drifts = zip(*rows) if rows else ((),) * 6
    return TrainLog(
        time=np.asarray(times, dtype=float),
        loss=np.asarray(losses, dtype=float),
        eigenvalues=np.asarray(eigenvalues, dtype=complex).reshape(len(rows), n),
        overlap=np.asarray(overlaps, dtype=float),
        cosine=np.asarray(cosines, dtype=float),
        delta_W=np.asarray(delta_Ws, dtype=float),
        conserved_drift=np.asarray(drifts, dtype=float),
        diverged=diverged,
        diverged_at=diverged_at,
        final=final,
    )


def _check_trained(trained: Sequence[str]) -> tuple[str, ...]:
    trained = tuple(trained)
    unknown = set(trained) - set(PARAMETER_NAMES)
    if unknown:
        raise ValueError(f"unknown parameters {sorted(unknown)}; choose from {PARAMETER_NAMES}")
    return trained


def _as_float_params(params: IntegratorParams) -> IntegratorParams:
    return IntegratorParams(*(np.array(p, dtype=float) for p in params))


def train_gd(
    params0: IntegratorParams,
    target: Target,
    lr: float,
    steps: int,
    log_every: int,
    trained: Sequence[str] = PARAMETER_NAMES,
) -> TrainLog:
    """Plain gradient descent theta <- theta - lr dL/dtheta on the closed-form loss.

    Training time is steps * lr. Logs at every multiple of ``log_every`` and
    at the last step. Parameters not named in ``trained`` stay fixed.
    Stability guard: when a step leads to a non-finite loss or an unstable W,
    training stops there with ``diverged`` set and nothing further logged.
    Stable only for lr < 2 / lambda_max (see ``max_stable_learning_rate``).
    Bordelon et al. 2025 (digest papers/integrate.md, section 4).
    """
    trained = _check_trained(trained)
    params0 = _as_float_params(params0)
    C0 = conserved_quantity(params0)
    params = final = params0
    times: list[float] = []
    rows: list[tuple] = []
    diverged, diverged_at = False, float("nan")
    for step in range(steps + 1):
        loss, grads = loss_and_grads(params, target)
        if not np.isfinite(loss):
            diverged, diverged_at = True, step * lr
            break
        final = params
        if step % log_every == 0 or step == steps:
            times.append(step * lr)
            rows.append(_log_row(params, params0, C0, loss))
        if step == steps:
            break
        params = IntegratorParams(
            *(p - lr * g if name in trained else p for name, p, g in zip(PARAMETER_NAMES, params, grads))
        )
    return _assemble_log(times, rows, params0.W.shape[0], diverged, diverged_at, final)


def _flatten(params: IntegratorParams, names: Sequence[str]) -> np.ndarray:
    return np.concatenate([np.ravel(getattr(params, name)) for name in names])


def _unflatten(flat: np.ndarray, template: IntegratorParams, names: Sequence[str]) -> IntegratorParams:
    values = template._asdict()
    offset = 0
    for name in names:
        size = values[name].size
        values[name] = flat[offset : offset + size].reshape(values[name].shape)
        offset += size
    return IntegratorParams(**values)


def train_flow(
    params0: IntegratorParams,
    target: Target,
    t_end: float,
    n_logs: int,
    trained: Sequence[str] = PARAMETER_NAMES,
    rtol: float = 1e-8,
    atol: float = 1e-10,
) -> TrainLog:
    """Gradient flow d theta / dt = -dL/dtheta, integrated by scipy's solve_ivp.

    Logs at ``n_logs`` evenly spaced times in [0, t_end]. Parameters not named
    in ``trained`` stay fixed. If the flow leaves the stable region (the
    gradient turns non-finite and the solver fails), ``diverged`` is set and
    ``diverged_at`` is the last time at which the gradient was finite.
    Bordelon et al. 2025 (digest papers/integrate.md, sections 4 and 5.1).
    """
    trained = _check_trained(trained)
    params0 = _as_float_params(params0)
    C0 = conserved_quantity(params0)
    n = params0.W.shape[0]
    if not np.isfinite(expected_loss(params0, target)):
        # The solver's initial step selection does not terminate on a NaN derivative.
        return _assemble_log([], [], n, True, 0.0, params0)
    last_stable_time = [0.0]

    def negative_gradient(t: float, flat: np.ndarray) -> np.ndarray:
        loss, grads = loss_and_grads(_unflatten(flat, params0, trained), target)
        if np.isfinite(loss):
            last_stable_time[0] = max(last_stable_time[0], t)
        # A NaN derivative makes the explicit solver reject the step and shrink it.
        return -_flatten(grads, trained)

    # Explicit DOP853: the Jacobian of this flow is the loss Hessian, dense and
    # of size ~(N^2)^2; an implicit method (BDF/Radau/LSODA) would build it by
    # finite differences at ~N^2 gradient evaluations each time. The stiffness
    # is moderate (Hessian lambda_max ~ 1/(2 c^3): 68 at c = 0.2), so an
    # explicit step near the stability limit is far cheaper, and the 8th-order
    # method is the efficient one at the tight default tolerances.
    solution = scipy.integrate.solve_ivp(
        negative_gradient,
        (0.0, t_end),
        _flatten(params0, trained),
        method="DOP853",
        t_eval=np.linspace(0.0, t_end, n_logs),
        rtol=rtol,
        atol=atol,
    )
    times: list[float] = []
    rows: list[tuple] = []
    final = params0
    for t, flat in zip(solution.t, solution.y.T):
        params = _unflatten(flat, params0, trained)
        loss = expected_loss(params, target)
        if not np.isfinite(loss):
            break
        times.append(float(t))
        rows.append(_log_row(params, params0, C0, loss))
        final = params
    diverged = solution.status != 0 or len(times) < n_logs
    diverged_at = last_stable_time[0] if diverged else float("nan")
    return _assemble_log(times, rows, n, diverged, diverged_at, final)


# ---------------------------------------------------------------------------
# Learning-rate guard


def balanced_hessian_lambda_max(c: float) -> float:
    """Largest Hessian eigenvalue of L at the balanced solution of the leaky target.

        lambda_max = (1 + 4 c^2 + sqrt(1 + 16 c^4)) / (4 c^3)  ~ 1 / (2 c^3) for small c.

    Only (W_11, u_1 + v_1) move g at first order there, through e^{-cs} and
    s e^{-cs}; lambda_max is the top eigenvalue of that 2 x 2 Gram problem.
    Bordelon et al. 2025 (digest papers/integrate.md, section 4).
    """
    return (1.0 + 4.0 * c**2 + np.sqrt(1.0 + 16.0 * c**4)) / (4.0 * c**3)


def max_stable_learning_rate(c: float) -> float:
    """lr_max = 2 / lambda_max: GD near the balanced solution converges iff lr < lr_max.

    Bordelon et al. 2025 (digest papers/integrate.md, section 4).
    """
    return 2.0 / balanced_hessian_lambda_max(c)


def _gradient_flat(params: IntegratorParams, target: Target) -> np.ndarray:
    return _flatten(loss_and_grads(params, target)[1], PARAMETER_NAMES)


def hessian_vector_product(
    params: IntegratorParams, target: Target, direction: np.ndarray, step: float = 1e-5
) -> np.ndarray:
    """H d ~ (grad L(theta + h d) - grad L(theta - h d)) / (2 h) over the flattened (W, u, v).

    Central differences of the exact gradient (error O(h^2)); ``direction``
    has unit norm so that h is an absolute step in parameter space.
    Bordelon et al. 2025 (digest papers/integrate.md, section 4).
    """
    theta = _flatten(params, PARAMETER_NAMES)
    plus = _unflatten(theta + step * direction, params, PARAMETER_NAMES)
    minus = _unflatten(theta - step * direction, params, PARAMETER_NAMES)
    return (_gradient_flat(plus, target) - _gradient_flat(minus, target)) / (2.0 * step)


def hessian_top_eigenvalue(params: IntegratorParams, target: Target, iters: int = 50, seed: int = 0) -> float:
    """Largest-magnitude Hessian eigenvalue of L by power iteration on Hessian-vector products.

    d <- H d / |H d|, returning the Rayleigh quotient d^T H d (sign kept: away
    from a minimum a negative curvature may dominate). For run-time learning-rate
    estimates away from the balanced solution: GD is locally stable for
    lr < 2 / lambda_max.
    Bordelon et al. 2025 (digest papers/integrate.md, section 4).
    """
    params = _as_float_params(params)
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(_flatten(params, PARAMETER_NAMES).size)
    direction /= np.linalg.norm(direction)
    rayleigh = float("nan")
    for _ in range(iters):
        image = hessian_vector_product(params, target, direction)
        rayleigh = float(direction @ image)
        norm = np.linalg.norm(image)
        if not np.isfinite(norm) or norm == 0.0:
            break
        direction = image / norm
    return rayleigh
