"""Task dynamics of Proca, Dominé, Shanahan & Mediano (2025), "Learning dynamics in linear RNNs".

The data set is a FIXED set of P whitened input trajectories x_{p,1..T}
(N_x-dimensional) and their targets, trained on with full-batch gradient
descent (digest section 1). The input-output correlation at each input time,

    Sigma^{YX_t} = sum_p y_{p,T} x_{p,t}^T = U_y S_t V_x^T        (t = 1..T),

has fixed singular vectors U_y (N_y x N_y), V_x (N_x x N_x) and singular
values that change over time (digest 2.1-2.3, App. P.4.1):

    s_{alpha,t} = delta_alpha f(lambda_alpha, t),   alpha = 1..n_modes,

with the families (k = T - t is the lag; k = 0 is the last input)

====================  ==============  ===================  ======================
family                f(lambda, t)    lag form             zero-loss solution
====================  ==============  ===================  ======================
constant              1               delta                b = 1, ac = delta
inverse_exponential   lambda^(T-t)    delta lambda^k       b = lambda, ac = delta
exponential           lambda^t        delta lambda^(T-k)   b = 1/lambda, ac = delta lambda^T
dirac                 s_1 = s1, s_T = kappa, other s_t = 0 (eq. 11)
====================  ==============  ===================  ======================

and the kappa-modified variant of the first three (eq. 10): s_T is replaced
by kappa. The remaining min(N_x, N_y) - n_modes singular values are 0. The
"singular values" are signed: a negative delta or lambda is kept as it is (the
sign is carried by the mode, as in the per-mode theory).

Whitening (digest 2.3 step 1; the procedure is a GAP, this is our choice):
draw Z of shape (T N_x, P) with i.i.d. N(0, 1) entries (row t N_x + j holds
component j of x_{t+1}), centre each row over the samples, and replace Z by
(Z Z^T)^{-1/2} Z, computed as A B^T from the thin SVD Z = A diag(s) B^T. The
rows are then orthonormal, so

- ``normalise="sum"`` (default): sum_p x_{p,t} x_{p,t'}^T = delta_{tt'} I
  exactly. The correlation sum_p y x_t^T equals U_y S_t V_x^T, the summed loss
  1/2 sum_p |y - y_hat|^2 equals the paper's energy sum_t 1/2 |U_y S_t V_x^T -
  W_y W_h^{T-t} W_x|_F^2 (with tau = 1/eta; with the MSE averaged over the P
  samples and N_y outputs and a 1/2 factor, tau = P N_y / eta, App. P.2), and
  every fixed point of the digest's tables is read directly with sigma = s.
- ``normalise="mean"``: the rows are multiplied by sqrt(P), so
  (1/P) sum_p x x^T = I. The input-output map is still U_y S_t V_x^T, so the
  minimisers in weight space (b = lambda, ac = delta, ...) do not change, but
  the correlation sum_p y x_t^T = P U_y S_t V_x^T and the summed loss is P
  times the energy: learning runs P times faster (tau = N_y / eta for the
  averaged MSE with 1/2), and a fixed point computed from singular values
  read off the data correlation must use sigma = (those values) / P.

Whitening needs P >= T N_x + 1 (centring removes one rank).

Rotation tasks (digest 2.3 "Eigen / rotation version", App. N/O): with
``rotation=True``, N_x = N_y = N and each mode alpha is a conjugate pair of
complex eigenvalues d_{alpha,t} = delta_alpha f(lambda_alpha, t), where
delta = |delta| e^{i delta_angle} and lambda = |lambda| e^{i lam_angle}
(polar form, so TOML can carry them). Then Sigma^{YX_t} = Q H_t Q^T with one
real orthogonal Q (the digest's simplest faithful choice) and H_t real
block-diagonal with the 2x2 block [[mu, -nu], [nu, mu]] (mu + i nu = d_{alpha,t})
on dimensions (2 alpha, 2 alpha + 1), zeros elsewhere. The eigenvalue
mu + i nu belongs to the eigenvector (Q e_{2alpha} - i Q e_{2alpha+1}) / sqrt(2),
its conjugate to (Q e_{2alpha} + i Q e_{2alpha+1}) / sqrt(2). kappa and s1 stay
real in rotation tasks (a 2x2 block kappa I).

Targets:

- ``target="last"`` (main text): y_{p,T} = sum_{t=1}^T Sigma^{YX_t} x_{p,t}
  (digest step 4; the paper's eq. 203 writes X_t inside a sum over i, a typo).
- ``target="every"`` (the T-output variant, App. M):
  y_{p,t} = sum_{i<=t} Sigma^{YX}_{t,i} x_{p,i}. App. M does not say how
  s_{t,i} depends on the output step; OUR CHOICE is a function of the lag
  only, Sigma^{YX}_{t,i} = M_{t-i} with M_k = Sigma^{YX_{T-k}} the lag-k map of
  the last-step task: the same lag profile at every output step. Then the
  last output equals the last-step target, and a linear RNN realises every
  step exactly when it realises the last one (for the inverse-exponential
  family: b = lambda, ac = delta at every step).

``lags`` lists the lags k = T - t at which some singular value (eigenvalue)
is non-zero.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .base import Task
from ._common import check_batch, check_choice, check_int, check_real, check_target

FAMILIES = ("constant", "inverse_exponential", "exponential", "dirac")
NORMALISATIONS = ("sum", "mean")


class LinearDynamicsData(NamedTuple):
    """The full data set of a task-dynamics task, with the quantities that define it.

    Attributes:
        x: (T, P, N_x) float32 whitened inputs, time-major, exactly what
            ``sample`` serves.
        y: (P, N_y) float32 targets for ``target="last"``; (T, P, N_y) for
            ``"every"``. Computed in float64 from the float32 ``x``, then rounded.
        U_y: (N_y, N_y) float64 orthogonal output basis (rotation: Q).
        V_x: (N_x, N_x) float64 orthogonal input basis (rotation: Q).
        S: (T, n_modes) singular values in time order, S[t - 1, alpha] =
            s_{alpha,t}; float64, or complex128 eigenvalues d_{alpha,t} for
            rotation tasks.
        S_lag: (T, n_modes) the same values by lag, S_lag[k] = S[T - 1 - k].
        maps: (T, N_y, N_x) float64 target maps Sigma^{YX_t} = U_y S_t V_x^T
            (rotation: Q H_t Q^T) in time order.
        rotation: whether this is a rotation task.
    """

    x: np.ndarray
    y: np.ndarray
    U_y: np.ndarray
    V_x: np.ndarray
    S: np.ndarray
    S_lag: np.ndarray
    maps: np.ndarray
    rotation: bool


# --------------------------------------------------------------------------
# Argument helpers
# --------------------------------------------------------------------------


def _is_sequence(value) -> bool:
    return isinstance(value, (tuple, list, np.ndarray))


def _per_mode(name: str, value, n: int) -> np.ndarray:
    """A per-mode float64 vector of length ``n``: a real scalar is broadcast, a sequence must have n entries."""
    if _is_sequence(value):
        items = list(np.asarray(value, dtype=object).ravel()) if isinstance(value, np.ndarray) else list(value)
        if len(items) != n:
            raise ValueError(f"task.{name}={tuple(items)!r}: expected a number or {n} numbers (one per mode)")
        return np.array([check_real(name, v) for v in items], dtype=np.float64)
    return np.full(n, check_real(name, value), dtype=np.float64)


def _resolve_n_modes(n_modes, n_max: int, bound: str, **per_mode) -> int:
    """n_modes: given, else the common length of the sequence arguments, else ``n_max``."""
    lengths = {k: len(v) for k, v in per_mode.items() if _is_sequence(v)}
    if n_modes is None:
        if not lengths:
            return n_max
        n_modes = next(iter(lengths.values()))
    n_modes = check_int("n_modes", n_modes, low=1, high=n_max, bound=bound)
    for k, length in lengths.items():
        if length != n_modes:
            raise ValueError(
                f"task.{k}={tuple(per_mode[k])!r}: has {length} entries, expected n_modes = {n_modes}"
            )
    return n_modes


def polar(radius, angle) -> np.ndarray:
    """radius * exp(i angle), elementwise (App. O's polar form R e^{i phi}), complex128."""
    return np.asarray(radius, np.float64) * np.exp(1j * np.asarray(angle, np.float64))


# --------------------------------------------------------------------------
# Singular values over time (digest 2.3; eqs. 10-11)
# --------------------------------------------------------------------------


def family_profile(family: str, lam, seq_len: int) -> np.ndarray:
    """f(lambda_alpha, t) for t = 1..T, shape (T, n_modes) in time order (digest 2.3 table).

    constant: 1; inverse_exponential: lambda^(T-t); exponential: lambda^t
    (0^0 = 1, so lambda = 0 gives the last step alone in the inverse-exponential
    family). Works for complex lambda.
    """
    lam = np.atleast_1d(np.asarray(lam))
    t = np.arange(1, seq_len + 1).reshape(-1, 1)
    if family == "constant":
        return np.ones((seq_len, lam.shape[0]), dtype=np.result_type(lam.dtype, np.float64))
    if family == "inverse_exponential":
        return lam[None, :] ** (seq_len - t)
    if family == "exponential":
        return lam[None, :] ** t
    raise ValueError(f"task.family={family!r}: allowed constant, inverse_exponential, exponential")


def singular_values(family: str, seq_len: int, delta, lam, kappa=None, s1=None) -> np.ndarray:
    """s_{alpha,t} for t = 1..T, shape (T, n_modes) in time order.

    s_{alpha,t} = delta_alpha f(lambda_alpha, t) (digest 2.3), then:

    - kappa-modified variant (eq. 10): if ``kappa`` is given, s_{alpha,T} = kappa_alpha;
    - ``family="dirac"`` (eq. 11): s_{alpha,1} = s1_alpha, s_{alpha,T} =
      kappa_alpha, every other s_{alpha,t} = 0 (needs T >= 2; delta and lambda
      are not used).

    ``delta``, ``lam``, ``kappa``, ``s1`` are per-mode arrays (real or complex).
    """
    if family == "dirac":
        if seq_len < 2:
            raise ValueError(f"task.seq_len={seq_len!r}: the dirac family needs seq_len >= 2")
        s1 = np.atleast_1d(np.asarray(s1))
        kappa = np.atleast_1d(np.asarray(kappa))
        S = np.zeros((seq_len, s1.shape[0]), dtype=np.result_type(s1.dtype, kappa.dtype, np.float64))
        S[0] = s1
        S[-1] = kappa
        return S
    delta = np.atleast_1d(np.asarray(delta))
    S = delta[None, :] * family_profile(family, lam, seq_len)
    if kappa is not None:
        S = S.astype(np.result_type(S.dtype, np.asarray(kappa).dtype))
        S[-1] = kappa
    return S


def lag_view(S: np.ndarray) -> np.ndarray:
    """The per-lag view S_lag[k] = S[T - 1 - k] (k = T - t; k = 0 is the last input)."""
    return np.asarray(S)[::-1]


def task_lags(S: np.ndarray) -> tuple[int, ...]:
    """The lags k = T - t at which some mode has a non-zero singular value (eigenvalue)."""
    nonzero = np.any(lag_view(S) != 0, axis=1)
    return tuple(int(k) for k in np.flatnonzero(nonzero))


# --------------------------------------------------------------------------
# Bases and target maps
# --------------------------------------------------------------------------


def random_bases(output_dim: int, input_dim: int, data_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random orthogonal U_y (N_y x N_y) and V_x (N_x x N_x) (digest 2.3 step 2).

    The full SVD G = U_y diag(.) V_x^T of one N_y x N_x matrix G with i.i.d.
    N(0, 1) entries drawn from ``np.random.default_rng([data_seed, 0])`` (a
    stream apart from the inputs', so the bases do not depend on P).
    """
    rng = np.random.default_rng([data_seed, 0])
    G = rng.standard_normal((output_dim, input_dim))
    U, _, Vh = np.linalg.svd(G, full_matrices=True)
    return U, Vh.T


def rotation_blocks(d: np.ndarray, dim: int) -> np.ndarray:
    """Real dim x dim block-diagonal H with [[mu, -nu], [nu, mu]] at (2a, 2a+1), mu + i nu = d_a.

    The real Schur form of a matrix with eigenvalue pairs d_a, conj(d_a)
    (digest 2.3 rotation version); dimensions past 2 len(d) are 0.
    """
    d = np.atleast_1d(np.asarray(d, dtype=np.complex128))
    H = np.zeros((dim, dim), dtype=np.float64)
    for a, z in enumerate(d):
        i = 2 * a
        H[i, i] = H[i + 1, i + 1] = z.real
        H[i, i + 1] = -z.imag
        H[i + 1, i] = z.imag
    return H


def target_maps(S: np.ndarray, U_y: np.ndarray, V_x: np.ndarray, rotation: bool = False) -> np.ndarray:
    """Sigma^{YX_t} for t = 1..T, shape (T, N_y, N_x) (digest 2.3 step 4 and rotation version).

    SVD tasks: U_y[:, :n] diag(S[t]) V_x[:, :n]^T. Rotation tasks (U_y = V_x = Q):
    Q H_t Q^T with H_t = :func:`rotation_blocks` (S[t]).
    """
    S = np.asarray(S)
    n = S.shape[1]
    if rotation:
        Q = U_y
        return np.stack([Q @ rotation_blocks(s, Q.shape[0]) @ Q.T for s in S])
    return np.einsum("ia,ta,ja->tij", U_y[:, :n], S.real.astype(np.float64), V_x[:, :n])


# --------------------------------------------------------------------------
# Inputs and targets
# --------------------------------------------------------------------------


def min_samples(seq_len: int, input_dim: int) -> int:
    """The smallest P that can be whitened: T N_x + 1 (centring removes one rank)."""
    return seq_len * input_dim + 1


def whitened_inputs(seq_len: int, input_dim: int, n_samples: int, data_seed: int,
                    normalise: str = "sum") -> np.ndarray:
    """Whitened Gaussian inputs, shape (T, P, N_x), float64 (digest 2.3 step 1; procedure our choice).

    Z (T N_x x P) ~ N(0, 1) from ``np.random.default_rng([data_seed, 1])``,
    row t N_x + j = component j of x_{t+1}; centre each row; Z <- (Z Z^T)^{-1/2} Z
    = A B^T for the thin SVD Z = A diag(s) B^T. Then sum_p z z^T = I
    (``normalise="sum"``); ``"mean"`` multiplies by sqrt(P) so (1/P) sum_p z z^T = I.
    The rows stay centred (they lie in the row space of the centred Z).
    """
    n = seq_len * input_dim
    if n_samples < n + 1:
        raise ValueError(
            f"task.n_samples={n_samples!r}: must be >= seq_len * input_dim + 1 = {n + 1} "
            "to whiten the inputs over all time steps"
        )
    rng = np.random.default_rng([data_seed, 1])
    Z = rng.standard_normal((n, n_samples))
    Z -= Z.mean(axis=1, keepdims=True)
    A, s, Bh = np.linalg.svd(Z, full_matrices=False)
    if s[-1] <= 1e-10 * s[0]:
        raise ValueError(f"task.n_samples={n_samples!r}: the centred inputs are rank-deficient; use more samples")
    W = A @ Bh
    if normalise == "mean":
        W *= math.sqrt(n_samples)
    return W.reshape(seq_len, input_dim, n_samples).transpose(0, 2, 1)


def last_step_targets(x: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """y_{p,T} = sum_{t=1}^T Sigma^{YX_t} x_{p,t} (digest 2.3 step 4, eq. 203 corrected); (P, N_y)."""
    return np.einsum("tij,tpj->pi", maps, x)


def every_step_targets(x: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """y_{p,t} = sum_{i<=t} M_{t-i} x_{p,i} with M_k = maps[T-1-k] (App. M; lag-only profile, our choice).

    Shape (T, P, N_y); y at the last step equals :func:`last_step_targets`.
    """
    T = x.shape[0]
    y = np.zeros((T, x.shape[1], maps.shape[1]), dtype=np.float64)
    for k in range(T):
        M = maps[T - 1 - k]
        if np.any(M):
            y[k:] += np.einsum("ij,tpj->tpi", M, x[: T - k])
    return y


# --------------------------------------------------------------------------
# The full data set
# --------------------------------------------------------------------------


def _mode_values(family, rotation, n_modes, delta, lam, delta_angle, lam_angle, kappa, s1):
    """Per-mode (delta, lambda, kappa, s1) arrays (complex delta and lambda for rotation tasks)."""
    d = _per_mode("delta", delta, n_modes)
    l = _per_mode("lam", lam, n_modes)
    angles = {"delta_angle": delta_angle, "lam_angle": lam_angle}
    da, la = (_per_mode(name, value, n_modes) for name, value in angles.items())
    if rotation:
        d, l = polar(d, da), polar(l, la)
    else:
        for (name, value), arr in zip(angles.items(), (da, la)):
            if np.any(arr != 0):
                raise ValueError(f"task.{name}={value!r}: a non-zero angle needs rotation=True")
    if family == "dirac" and kappa is None:
        kappa = 1.0
    k = None if kappa is None else _per_mode("kappa", kappa, n_modes)
    s = _per_mode("s1", s1, n_modes)
    return d, l, k, s


def linear_dynamics_data(
    family: str = "inverse_exponential",
    seq_len: int = 10,
    input_dim: int = 4,
    output_dim: int = 4,
    n_modes: int | None = None,
    delta=1.0,
    lam=0.9,
    kappa=None,
    s1=0.5,
    rotation: bool = False,
    delta_angle=0.0,
    lam_angle=0.0,
    n_samples: int | None = None,
    normalise: str = "sum",
    data_seed: int = 0,
    target: str = "last",
) -> LinearDynamicsData:
    """The whole fixed data set, with its bases and singular values (a pure function of its arguments).

    Builds, in float64 NumPy: the bases (:func:`random_bases`; rotation: Q =
    the U factor, U_y = V_x = Q), the singular values (:func:`singular_values`),
    the target maps (:func:`target_maps`), the whitened inputs
    (:func:`whitened_inputs`), rounds them to float32, and computes the
    targets from the float32 inputs (:func:`last_step_targets` /
    :func:`every_step_targets`), rounded to float32.

    See :func:`linear_dynamics` for the arguments.
    """
    family = check_choice("family", family, FAMILIES)
    seq_len = check_int("seq_len", seq_len, low=1)
    input_dim = check_int("input_dim", input_dim, low=1)
    output_dim = check_int("output_dim", output_dim, low=1)
    normalise = check_choice("normalise", normalise, NORMALISATIONS)
    data_seed = check_int("data_seed", data_seed, low=0)
    target = check_target(target)
    if not isinstance(rotation, (bool, np.bool_)):
        raise ValueError(f"task.rotation={rotation!r}: must be true or false")
    rotation = bool(rotation)
    if rotation:
        if output_dim != input_dim:
            raise ValueError(
                f"task.output_dim={output_dim!r}: rotation tasks need output_dim == input_dim = {input_dim}"
            )
        if input_dim < 2:
            raise ValueError(f"task.input_dim={input_dim!r}: rotation tasks need input_dim >= 2")
        n_max, bound = input_dim // 2, "input_dim // 2 (conjugate pairs)"
    else:
        n_max, bound = min(input_dim, output_dim), "min(input_dim, output_dim)"
    n_modes = _resolve_n_modes(n_modes, n_max, bound, delta=delta, lam=lam, kappa=kappa, s1=s1,
                               delta_angle=delta_angle, lam_angle=lam_angle)
    n_samples = 2 * seq_len * input_dim if n_samples is None else n_samples
    n_samples = check_int("n_samples", n_samples, low=1)

    d, l, k, s = _mode_values(family, rotation, n_modes, delta, lam, delta_angle, lam_angle, kappa, s1)
    S = singular_values(family, seq_len, d, l, kappa=k, s1=s)
    if rotation:
        S = S.astype(np.complex128)
    U_y, V_x = random_bases(output_dim, input_dim, data_seed)
    if rotation:
        V_x = U_y
    maps = target_maps(S, U_y, V_x, rotation)

    x = whitened_inputs(seq_len, input_dim, n_samples, data_seed, normalise).astype(np.float32)
    x64 = x.astype(np.float64)
    y = last_step_targets(x64, maps) if target == "last" else every_step_targets(x64, maps)
    return LinearDynamicsData(
        x=x, y=y.astype(np.float32), U_y=U_y, V_x=V_x, S=S, S_lag=lag_view(S), maps=maps,
        rotation=rotation,
    )


# --------------------------------------------------------------------------
# The task
# --------------------------------------------------------------------------


@partial(jax.jit, static_argnums=(1, 4))
def _subset(key, batch, x, y, y_time_axis):
    """``batch`` distinct samples drawn with ``key`` (a random permutation's first rows)."""
    idx = jax.random.permutation(key, x.shape[1])[:batch]
    return jnp.take(x, idx, axis=1), jnp.take(y, idx, axis=y_time_axis)


def fixed_set_sampler(x: np.ndarray, y: np.ndarray, target: str):
    """``sample(key, batch)`` over a fixed data set of P samples.

    batch == P: the whole set in its stored order (the key is not used; full-batch
    gradient descent, digest section 1); batch < P: ``batch`` distinct samples
    chosen with ``key``; batch > P: ValueError.
    """
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    P = x.shape[1]
    y_axis = 0 if target == "last" else 1

    def sample(key, batch):
        batch = check_batch(batch)
        if batch > P:
            raise ValueError(f"batch={batch!r}: must be <= task.n_samples = {P} (the data set is fixed)")
        if batch == P:
            return xj, yj
        return _subset(key, batch, xj, yj, y_axis)

    return sample


def linear_dynamics(
    family: str = "inverse_exponential",
    seq_len: int = 10,
    input_dim: int = 4,
    output_dim: int = 4,
    n_modes: int | None = None,
    delta=1.0,
    lam=0.9,
    kappa=None,
    s1=0.5,
    rotation: bool = False,
    delta_angle=0.0,
    lam_angle=0.0,
    n_samples: int | None = None,
    normalise: str = "sum",
    data_seed: int = 0,
    target: str = "last",
) -> Task:
    """Proca et al.'s task dynamics: a fixed whitened data set with time-varying singular values.

    Args:
        family: ``"constant"``, ``"inverse_exponential"``, ``"exponential"`` or
            ``"dirac"`` (module docstring). Default ``"inverse_exponential"``.
        seq_len: T. Default 10 (our choice; the paper gives none).
        input_dim: N_x. Default 4 (our choice; Fig. 5 uses 4 modes).
        output_dim: N_y. Default 4 (our choice).
        n_modes: number of non-zero modes (conjugate pairs for rotation tasks),
            <= min(N_x, N_y) (rotation: <= N // 2). Default: the length of the
            sequence arguments, else the maximum.
        delta: delta_alpha (rotation: its radius), a number or one per mode.
            Default 1.0 (our choice).
        lam: lambda_alpha (rotation: its radius), a number or one per mode;
            unused by ``"constant"`` and ``"dirac"``. Default 0.9 (our choice).
        kappa: if given, s_T is replaced by it (eq. 10); a number or one per
            mode. For ``"dirac"`` it is s_T, default 1.0 there (Fig. A2's s_T).
            Default None (no replacement).
        s1: s_1 of the ``"dirac"`` family (eq. 11; the digest's ``s1``, not the
            App. H ratio beta); ignored otherwise. Default 0.5 (our choice).
        rotation: build the rotation task (complex delta, lambda in polar form,
            N_x = N_y). Default False.
        delta_angle, lam_angle: phases (radians) of delta and lambda; rotation
            tasks only. Default 0.0.
        n_samples: P, the size of the fixed data set, >= T N_x + 1. Default
            2 T N_x (our choice).
        normalise: ``"sum"`` (sum_p x x^T = I, the paper's theory convention) or
            ``"mean"`` ((1/P) sum_p x x^T = I); see the module docstring for
            what each means for fixed points. Default ``"sum"`` (our choice).
        data_seed: seed of the bases and the inputs. Default 0.
        target: ``"last"`` (main text) or ``"every"`` (App. M, lag-only
            convention). Default ``"last"``.

    Returns:
        A :class:`Task` named ``"linear_dynamics"``, MSE loss, ``lags`` =
        :func:`task_lags`, ``baseline_loss`` = mean of y^2 (the best constant
        prediction is 0: the inputs, hence the targets, are centred).
    """
    data = linear_dynamics_data(
        family=family, seq_len=seq_len, input_dim=input_dim, output_dim=output_dim, n_modes=n_modes,
        delta=delta, lam=lam, kappa=kappa, s1=s1, rotation=rotation, delta_angle=delta_angle,
        lam_angle=lam_angle, n_samples=n_samples, normalise=normalise, data_seed=data_seed, target=target,
    )
    return Task(
        name="linear_dynamics",
        sample=fixed_set_sampler(data.x, data.y, target),
        input_dim=data.x.shape[2],
        output_dim=data.y.shape[-1],
        seq_len=data.x.shape[0],
        target=target,
        loss="mse",
        lags=task_lags(data.S),
        baseline_loss=float(np.mean(data.y.astype(np.float64) ** 2)),
        bases=(data.U_y.astype(np.float32), data.V_x.astype(np.float32)),
    )
