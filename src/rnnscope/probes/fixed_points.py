"""Fixed points, slow points and hyperbolic attractors of a trained recurrent map.

Johnston et al. 2025, digest papers/johnston.md section 6 [our protocol: R];
the definitions are Bengio, Simard & Frasconi 1994 (digest section 2.2).

With the input held at a constant ``x_const`` (the digest's "inputs after
the prefix replaced by their mean"; zeros by default), one model step is an
autonomous map F(h) = step(params, h, x_const). This module

1. finds its fixed points F(h*) = h* by minimising q(h) = 1/2 |F(h) - h|^2
   from many starts (L-BFGS, then Newton polishing), accepts those with
   q < 1e-12, merges duplicates closer than 1e-6, and keeps "slow points"
   (q < 1e-4, not fixed) apart;
2. classifies each point by the eigenvalues mu_i of J* = dF/dh (h*) with
   delta = 0.01: hyperbolic attractor (max|mu| < 1 - delta), saddle (some
   |mu| > 1 + delta), marginal (the rest: max|mu| within delta of 1);
3. tests latching: where end states h_T of each class go under F (their
   basins), whether their forward orbits stay in the contracting region
   Gamma (|J|_2 < 1 along the orbit), and how far they lie from the nearest
   stable fixed point.

Any model works: the state pytree (the LSTM's (h, c), the LRU's complex
vector) is flattened with ``ravel_pytree`` into one real vector, complex
parts as [Re, Im], so F is a map of R^n. Points, Jacobians and eigenvalues
are in these flat coordinates (for the LRU the real 2H x 2H Jacobian of
h -> lambda h has eigenvalues lambda and conj(lambda), so moduli are those
of the complex map).

Precision (our choice): the whole search and the Jacobians run in float64
(``jax.enable_x64`` for the duration of the call; parameters cast up), since
q < 1e-12 needs residuals |F(h) - h| ~ 1e-6 that float32 rounding of
a wide network (~1e-7 per unit) would make marginal. Eigenvalues are taken
on the host with NumPy/LAPACK (non-symmetric ``eig`` is unreliable on GPU,
see ``basic.eigvals``). The search is vmapped over starts; members differ in
how many points they have, so a census loops over members in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

ATTRACTOR = "hyperbolic_attractor"
SADDLE = "saddle"
MARGINAL = "marginal"
SLOW = "slow_point"
CLASSES = (ATTRACTOR, SADDLE, MARGINAL, SLOW)
NONE = "none"  # class label where no point applies (no fixed point found, basin not reached)


@dataclass(frozen=True)
class FixedPointConfig:
    """Tolerances of the search; digest values where section 6 gives them, else ours.

    Attributes:
        max_iters: L-BFGS iterations per start (ours).
        memory_size: L-BFGS history length (ours; optax's default).
        grad_tol: a start stops early once |grad q| <= grad_tol (ours).
        newton_steps: Newton polishing iterations (ours). Near a marginal
            point Newton converges only linearly (factor 2/3 per step for a
            cubic tangency such as h -> tanh(h)), hence generous.
        accept_q: a point is fixed when q < accept_q (digest: 1e-12).
        slow_q: a non-fixed point with q < slow_q is a slow point (digest: 1e-4).
        dedup_tol: fixed points closer than this (Euclidean, flat
            coordinates) are one point (digest: 1e-6).
        slow_dedup_tol: the same for slow points (ours): a slow point is a
            local minimum of q > 0 where q is flat, so starts stop at
            positions scattered by the optimiser's tolerance, not 1e-6.
        delta: margin of the eigenvalue-modulus classification (digest: 0.01).
    """

    max_iters: int = 500
    memory_size: int = 10
    grad_tol: float = 1e-12
    newton_steps: int = 50
    accept_q: float = 1e-12
    slow_q: float = 1e-4
    dedup_tol: float = 1e-6
    slow_dedup_tol: float = 1e-4
    delta: float = 0.01


class FixedPoints(NamedTuple):
    """Result of :func:`find_fixed_points` (NumPy, float64; n = flat state size).

    K fixed points and M slow points, each sorted by residual q.

    Attributes:
        points: (K, n) fixed points h*, flat real coordinates.
        states: the same points in the model's state structure (leading axis K).
        residual: (K,) q(h*) = 1/2 |F(h*) - h*|^2.
        eigenvalues: (K, n) complex eigenvalues of J* = dF/dh(h*), by modulus, largest first.
        spectral_radius: (K,) max_i |mu_i|.
        n_unstable: (K,) number of |mu_i| > 1 + delta (0 for attractors; n for a repeller).
        classes: (K,) ``hyperbolic_attractor`` | ``saddle`` | ``marginal``.
        support: (K,) number of starts that converged to each point.
        slow_points, slow_states, slow_residual, slow_eigenvalues,
        slow_spectral_radius, slow_support: the same for the M slow points
            (their class is ``slow_point``).
        start_point: (S,) index into ``points`` of each start's end, -1 if it
            reached no fixed point.
        start_slow: (S,) index into ``slow_points``, -1 if none.
        start_residual: (S,) q where each start ended (NaN for a non-finite start).
        counts: number of points per class, every name in ``CLASSES`` present.
    """

    points: np.ndarray
    states: Any
    residual: np.ndarray
    eigenvalues: np.ndarray
    spectral_radius: np.ndarray
    n_unstable: np.ndarray
    classes: np.ndarray
    support: np.ndarray
    slow_points: np.ndarray
    slow_states: Any
    slow_residual: np.ndarray
    slow_eigenvalues: np.ndarray
    slow_spectral_radius: np.ndarray
    slow_support: np.ndarray
    start_point: np.ndarray
    start_slow: np.ndarray
    start_residual: np.ndarray
    counts: dict[str, int]


# ---------------------------------------------------------------------------
# The autonomous map on flat real coordinates


def _float64():
    """Context enabling 64-bit JAX types (``jax.enable_x64`` on recent JAX)."""
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64  # older JAX

    return enable_x64()


def _widen(tree):
    """Float leaves to float64, complex leaves to complex128 (call under ``_float64``)."""

    def widen(a):
        a = jnp.asarray(a)
        if jnp.issubdtype(a.dtype, jnp.complexfloating):
            return a.astype(jnp.complex128)
        if jnp.issubdtype(a.dtype, jnp.floating):
            return a.astype(jnp.float64)
        return a

    return jax.tree_util.tree_map(widen, tree)


def default_input(params) -> jax.Array:
    """x_const = 0 of the right size, read from the input weights' column count.

    The registry's models name their input matrix ``W_x`` (Elman, linear,
    CTRNN, gates), ``W_<gate>`` (GRU, LSTM) or ``B_re`` (LRU). A model
    outside that convention must be given ``x_const`` explicitly.
    """
    names = ["W_x", "B_re"] + sorted(k for k in params if k.startswith("W_") and k not in ("W_h", "W_y"))
    for name in names:
        if name in params:
            w = jnp.asarray(params[name])
            return jnp.zeros((w.shape[-1],), jnp.real(w).dtype)
    raise ValueError("fixed points: cannot tell the input size from params; pass x_const explicitly")


class Coordinates(NamedTuple):
    """One state <-> a flat real vector of size ``dim``."""

    flatten: Callable[[Any], jax.Array]
    unflatten: Callable[[jax.Array], Any]
    dim: int


def coordinates(template) -> Coordinates:
    """Flat real coordinates for states shaped like ``template`` (one unbatched state).

    ``ravel_pytree`` concatenates the leaves; complex vectors become [Re; Im]
    (a mixed real/complex state is promoted to complex first, so it becomes
    [Re; Im] as a whole).
    """
    flat, unravel = ravel_pytree(template)
    m = flat.shape[0]
    if not jnp.iscomplexobj(flat):
        return Coordinates(lambda state: ravel_pytree(state)[0], unravel, m)

    def flatten(state):
        v = ravel_pytree(state)[0]
        return jnp.concatenate([v.real, v.imag])

    return Coordinates(flatten, lambda v: unravel(v[:m] + 1j * v[m:]), 2 * m)


def autonomous_map(step: Callable, params, template, x_const) -> Callable[[jax.Array], jax.Array]:
    """F(v) = flatten(step(params, unflatten(v), x_const)): the map on R^n."""
    coords = coordinates(template)
    return lambda v: coords.flatten(step(params, coords.unflatten(v), x_const))


def _template(batch):
    """One state shaped like the members of ``batch`` (zeros; works for an empty batch)."""
    return jax.tree_util.tree_map(lambda a: jnp.zeros(jnp.shape(a)[1:], jnp.result_type(a)), batch)


def flatten_states(batch) -> jax.Array:
    """A batch of states (leading axis B) as a (B, n) real array in the flat coordinates."""
    return jax.vmap(coordinates(_template(batch)).flatten)(batch)


# ---------------------------------------------------------------------------
# Search: L-BFGS on q, then Newton polishing


def _half_sq(r):
    return 0.5 * jnp.sum(r * r)


class _Search(NamedTuple):
    it: Any
    h: jax.Array
    opt_state: Any
    best_h: jax.Array
    best_q: jax.Array
    grad_norm: jax.Array
    ok: jax.Array


def _minimise_one(F: Callable, h0: jax.Array, cfg: FixedPointConfig):
    """L-BFGS (optax) on q(h) = 1/2 |F(h) - h|^2 from h0; returns the best finite iterate.

    The best iterate is kept because at an exact zero of q the curvature
    pair of L-BFGS degenerates and a later step may be non-finite.
    """

    def q(h):
        return _half_sq(F(h) - h)

    opt = optax.lbfgs(memory_size=cfg.memory_size)
    value_and_grad = optax.value_and_grad_from_state(q)

    def cond(c: _Search):
        return (c.it < cfg.max_iters) & c.ok & (c.grad_norm > cfg.grad_tol) & (c.best_q > 0.0)

    def body(c: _Search):
        value, grad = value_and_grad(c.h, state=c.opt_state)
        updates, opt_state = opt.update(grad, c.opt_state, c.h, value=value, grad=grad, value_fn=q)
        h = optax.apply_updates(c.h, updates)
        q_new = q(h)
        ok = jnp.isfinite(q_new) & jnp.all(jnp.isfinite(h))
        better = ok & (q_new < c.best_q)
        return _Search(
            it=c.it + 1,
            h=h,
            opt_state=opt_state,
            best_h=jnp.where(better, h, c.best_h),
            best_q=jnp.where(better, q_new, c.best_q),
            grad_norm=jnp.linalg.norm(grad),
            ok=ok,
        )

    q0 = q(h0)
    start = _Search(0, h0, opt.init(h0), h0, q0, jnp.asarray(jnp.inf, q0.dtype), jnp.isfinite(q0))
    return jax.lax.while_loop(cond, body, start).best_h


def _polish_one(F: Callable, h: jax.Array, steps: int):
    """Newton on r(h) = F(h) - h: solve (J - I) dh = -r; a step is kept only if q decreases.

    The acceptance test is the guard against singular J - I (a marginal
    point, or a slow point where r has no zero): ``solve`` then returns
    non-finite or useless steps, which are refused, leaving h as it was.
    """
    eye = jnp.eye(h.shape[0], dtype=h.dtype)

    def residual(v):
        return F(v) - v

    def body(_, h):
        r = residual(h)
        dh = jnp.linalg.solve(jax.jacfwd(F)(h) - eye, -r)
        h_new = h + dh
        q_old, q_new = _half_sq(r), _half_sq(residual(h_new))
        keep = jnp.all(jnp.isfinite(h_new)) & (q_new < q_old)
        return jnp.where(keep, h_new, h)

    return jax.lax.fori_loop(0, steps, body, h)


def _search(step, cfg, params, starts, x_const):
    F = autonomous_map(step, params, _template(starts), x_const)

    def one(h0):
        h = _polish_one(F, _minimise_one(F, h0, cfg), cfg.newton_steps)
        return h, _half_sq(F(h) - h)

    return jax.vmap(one)(flatten_states(starts))


_search_jit = jax.jit(_search, static_argnums=(0, 1))


def _jacobians(step, params, template, x_const, points):
    return jax.vmap(jax.jacfwd(autonomous_map(step, params, template, x_const)))(points)


_jacobians_jit = jax.jit(_jacobians, static_argnums=(0,))


def _jacobians_padded(step, params, template, x_const, points: np.ndarray) -> np.ndarray:
    """J at each of the K points, (K, n, n); the batch is padded to a power of two so that
    members with different K share a few compiled programs."""
    K, n = points.shape
    if K == 0:
        return np.zeros((0, n, n))
    size = 1 << (K - 1).bit_length()
    padded = np.concatenate([points, np.zeros((size - K, n))])
    return np.asarray(_jacobians_jit(step, params, template, x_const, jnp.asarray(padded)))[:K]


def deduplicate(points: np.ndarray, residual: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy merge: best residual first, a point joins the first kept point within ``tol``.

    Returns (kept indices into ``points``, label of every point: the position
    of its representative among the kept ones). Euclidean distance.
    """
    order = np.argsort(residual, kind="stable")
    kept: list[int] = []
    labels = np.full(len(points), -1, dtype=np.int64)
    for i in order:
        if kept:
            d = np.linalg.norm(points[kept] - points[i], axis=1)
            j = int(np.argmin(d))
            if d[j] < tol:
                labels[i] = j
                continue
        labels[i] = len(kept)
        kept.append(int(i))
    return np.asarray(kept, dtype=np.int64), labels


def eigenvalues_host(jacobians: np.ndarray) -> np.ndarray:
    """Eigenvalues of a (K, n, n) stack by LAPACK (NumPy, complex128), sorted by modulus, largest first."""
    jacobians = np.asarray(jacobians, np.float64)
    if jacobians.shape[0] == 0:
        return np.zeros(jacobians.shape[:2], np.complex128)
    mu = np.linalg.eigvals(jacobians).astype(np.complex128)
    return np.take_along_axis(mu, np.argsort(-np.abs(mu), axis=-1, kind="stable"), axis=-1)


def classify(eigenvalues: np.ndarray, delta: float = 0.01) -> np.ndarray:
    """Class of a fixed point from the moduli of its Jacobian eigenvalues (digest section 6).

    saddle: some |mu| > 1 + delta (this includes repellers, all |mu| > 1 + delta);
    hyperbolic_attractor: max|mu| < 1 - delta (Bengio et al. 1994: contracting);
    marginal: neither, i.e. max|mu| in [1 - delta, 1 + delta].
    The modulus, not the real part, decides: a rotation by 90 degrees scaled
    by 1.2 (mu = +/- 1.2 i) is unstable.
    """
    modulus = np.abs(np.asarray(eigenvalues))
    if modulus.shape[0] == 0:
        return np.zeros((0,), dtype="<U20")
    top = modulus.max(axis=-1)
    out = np.where(top < 1.0 - delta, ATTRACTOR, MARGINAL).astype("<U20")
    return np.where(top > 1.0 + delta, SADDLE, out).astype("<U20")


def find_fixed_points(model, params, starts, x_const=None, cfg: FixedPointConfig = FixedPointConfig()) -> FixedPoints:
    """Fixed and slow points of F(h) = model.step(params, h, x_const), classified.

    Johnston et al. 2025, digest papers/johnston.md section 6 [our protocol: R]:
    minimise q(h) = 1/2 |F(h) - h|^2 from each start (optax L-BFGS), polish
    with Newton steps (J - I) dh = -(F(h) - h), accept q < ``cfg.accept_q``,
    merge within ``cfg.dedup_tol``, keep slow points (q < ``cfg.slow_q``)
    apart, then classify by the eigenvalues of J* = dF/dh (see ``classify``).

    Args:
        model: a ``Model`` (anything with ``step(params, h, x)``).
        params: one member's parameters.
        starts: a batch of states (leading axis S) in the model's state
            structure: an (S, H) array, or a tuple of them for the LSTM's (h, c).
            See :func:`starts_from_states`.
        x_const: the constant input (input_dim,); zeros when None.
        cfg: tolerances.

    Non-finite starts are dropped; a member with non-finite parameters, or
    one where no start converges, gives empty arrays and zero counts.
    Runs in float64 (module docstring); results are NumPy.
    """
    step = model.step
    with _float64():
        params64 = _widen(params)
        x64 = _widen(default_input(params) if x_const is None else x_const)
        starts64 = _widen(starts)
        template = _template(starts64)
        ends, q = _search_jit(step, cfg, params64, starts64, x64)
        ends, q = np.asarray(ends, np.float64), np.asarray(q, np.float64)
        q = np.where(np.isfinite(q) & np.all(np.isfinite(ends), axis=1), q, np.nan)
        fixed = q < cfg.accept_q  # NaN compares False: non-finite ends are neither
        slow = ~fixed & (q < cfg.slow_q)

        def group(mask, tol):
            idx = np.flatnonzero(mask)
            kept, labels = deduplicate(ends[idx], q[idx], tol)
            start_label = np.full(len(q), -1, dtype=np.int64)
            start_label[idx] = labels
            pts = jnp.asarray(ends[idx][kept]).reshape(len(kept), ends.shape[1])
            jac = _jacobians_padded(step, params64, template, x64, np.asarray(pts))
            states = jax.tree_util.tree_map(np.asarray, jax.vmap(coordinates(template).unflatten)(pts))
            support = np.bincount(labels, minlength=len(kept)).astype(np.int64)
            return np.asarray(pts), states, q[idx][kept], eigenvalues_host(np.asarray(jac)), support, start_label

        pts, states, res, mu, support, start_point = group(fixed, cfg.dedup_tol)
        s_pts, s_states, s_res, s_mu, s_support, start_slow = group(slow, cfg.slow_dedup_tol)

    classes = classify(mu, cfg.delta)
    counts = {name: int(np.sum(classes == name)) for name in (ATTRACTOR, SADDLE, MARGINAL)}
    counts[SLOW] = len(s_pts)
    return FixedPoints(
        points=pts,
        states=states,
        residual=res,
        eigenvalues=mu,
        spectral_radius=_radius(mu),
        n_unstable=np.sum(np.abs(mu) > 1.0 + cfg.delta, axis=-1).astype(np.int64),
        classes=classes,
        support=support,
        slow_points=s_pts,
        slow_states=s_states,
        slow_residual=s_res,
        slow_eigenvalues=s_mu,
        slow_spectral_radius=_radius(s_mu),
        slow_support=s_support,
        start_point=start_point,
        start_slow=start_slow,
        start_residual=q,
        counts=counts,
    )


def _radius(mu: np.ndarray) -> np.ndarray:
    return np.abs(mu).max(axis=-1) if mu.shape[0] else np.zeros((0,))


# ---------------------------------------------------------------------------
# Starts


def starts_from_states(states, n: int, key, box: float = 1.0, visited_fraction: float = 0.5):
    """n starts: states visited on test sequences plus uniform points in [-box, box]^N.

    Digest section 6: "about 500 initial states ... from the hidden states
    visited on test sequences of both classes, plus random points in
    [-1, 1]^N". The split is ours: ``round(visited_fraction * n)`` visited
    states drawn without replacement (all of them if fewer), the rest random;
    complex leaves get random real and imaginary parts.

    Args:
        states: visited states in the model's state structure, every leaf
            shaped (..., d_leaf) with the same leading axes (e.g. (T, B, H)).
        n: number of starts.
        key: JAX PRNG key.
    Returns:
        a batch of n states, same structure, leading axis n.
    """
    leaves, treedef = jax.tree_util.tree_flatten(states)
    rows = [jnp.reshape(leaf, (-1, jnp.shape(leaf)[-1])) for leaf in leaves]
    n_from = min(rows[0].shape[0], int(round(visited_fraction * n)))
    out = _draw_starts(rows, key, jnp.asarray(box), n, n_from)
    return jax.tree_util.tree_unflatten(treedef, out)


@partial(jax.jit, static_argnums=(3, 4))
def _draw_starts(rows, key, box, n: int, n_from: int):
    k_pick, k_box = jax.random.split(key)
    pick = jax.random.choice(k_pick, rows[0].shape[0], (n_from,), replace=False)
    keys = jax.random.split(k_box, 2 * len(rows))
    out = []
    for i, r in enumerate(rows):
        shape = (n - n_from, r.shape[-1])
        real_dtype = jnp.real(r[:0]).dtype
        rand = jax.random.uniform(keys[2 * i], shape, real_dtype, -box, box)
        if jnp.iscomplexobj(r):
            rand = rand + 1j * jax.random.uniform(keys[2 * i + 1], shape, real_dtype, -box, box)
        out.append(jnp.concatenate([r[pick], rand.astype(r.dtype)], axis=0))
    return out


# ---------------------------------------------------------------------------
# Latching (Bengio, Simard & Frasconi 1994; digest sections 2.2 and 6)


@partial(jax.jit, static_argnames=("model", "steps"))
def converge(model, params, h, x_const=None, steps: int = 1000):
    """F applied ``steps`` times to each state of the batch h (leading axis B); same structure back.

    The digest's basin test "iterate F from h_T until convergence", with a
    fixed number of steps (ours; 1000 by default): a hyperbolic attractor
    with spectral radius rho is reached to rho^steps, a marginal one only
    algebraically (~ steps^-1/2 for a cubic tangency).
    """
    x = default_input(params) if x_const is None else x_const

    def orbit(state):
        return jax.lax.fori_loop(0, steps, lambda _, s: model.step(params, s, x), state)

    return jax.vmap(orbit)(h)


def nearest_point(h, points) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each flat state h (B, n) to the nearest of ``points`` (K, n), and its index.

    With no points (K = 0) the distance is inf and the index -1. Pass
    ``points[classes == "hyperbolic_attractor"]`` for the digest's d_c, the
    distance to the nearest stable fixed point.
    """
    h = np.asarray(h, np.float64)
    points = np.asarray(points, np.float64).reshape(-1, h.shape[-1])
    if points.shape[0] == 0:
        return np.full(h.shape[0], np.inf), np.full(h.shape[0], -1, dtype=np.int64)
    d = np.linalg.norm(h[:, None, :] - points[None, :, :], axis=-1)
    idx = np.argmin(d, axis=1)
    return d[np.arange(h.shape[0]), idx], idx.astype(np.int64)


@partial(jax.jit, static_argnames=("model", "steps"))
def orbit_jacobian_norm(model, params, h, x_const=None, steps: int = 200) -> jax.Array:
    """max_{0 <= t < steps} |J(h_t)|_2 along the forward orbit h_t = F^t(h) of each state; (B,).

    J is the Jacobian of F in flat real coordinates; |.|_2 its largest
    singular value (SVD, reliable on every backend). ``steps`` is ours.
    """
    x = default_input(params) if x_const is None else x_const
    F = autonomous_map(model.step, params, _template(h), x)
    jac = jax.jacfwd(F)

    def orbit(v):
        def body(carry, _):
            v, top = carry
            return (F(v), jnp.maximum(top, jnp.linalg.norm(jac(v), 2))), None

        return jax.lax.scan(body, (v, jnp.zeros((), v.dtype)), None, length=steps)[0][1]

    return jax.vmap(orbit)(flatten_states(h))


def in_contracting_region(model, params, h, x_const=None, steps: int = 200) -> jax.Array:
    """Whether each state lies in Bengio's reduced attracting set Gamma; (B,) bool.

    Bengio, Simard & Frasconi 1994: Gamma holds the states whose future
    iterates stay where the map contracts. Digest section 6 tests it as
    |J(h_t)|_2 < 1 for t = 0 .. steps-1 along the forward orbit. The norm is
    a sufficient condition for contraction, stricter than the eigenvalue
    condition of the 1994 definition when J is non-normal.
    """
    return orbit_jacobian_norm(model, params, h, x_const, steps) < 1.0


class LatchingCensus(NamedTuple):
    """Result of :func:`latching_census` (NumPy); B end states with class labels.

    Attributes:
        basin: (B,) index into ``points`` of the fixed point F^steps(h_T)
            reached (within ``basin_tol``), -1 if none.
        basin_class: (B,) class of that fixed point, ``none`` if -1.
        limit_distance: (B,) distance from F^steps(h_T) to the nearest fixed point (inf if none).
        nearest_class: (B,) class of the fixed point nearest to h_T itself (``none`` if none).
        nearest_stable_distance: (B,) d_c: distance from h_T to the nearest
            hyperbolic attractor (inf if none).
        in_gamma: (B,) whether h_T is in the contracting region (see ``in_contracting_region``).
        distinct_basins: every end state reached a fixed point and no fixed
            point is reached from two classes.
        uses_hyperbolic_attractors: distinct_basins, and every basin's fixed
            point is a hyperbolic attractor: latching in the 1994 sense.
        robust_latching: uses_hyperbolic_attractors and every h_T in Gamma.
    """

    basin: np.ndarray
    basin_class: np.ndarray
    limit_distance: np.ndarray
    nearest_class: np.ndarray
    nearest_stable_distance: np.ndarray
    in_gamma: np.ndarray
    distinct_basins: bool
    uses_hyperbolic_attractors: bool
    robust_latching: bool


def _class_of(index: np.ndarray, classes: np.ndarray) -> np.ndarray:
    padded = np.append(np.asarray(classes, dtype="<U20"), NONE)
    return padded[np.where(index >= 0, index, len(classes))]


def latching_census(
    model,
    params,
    end_states,
    labels,
    fixed_points: FixedPoints,
    x_const=None,
    converge_steps: int = 1000,
    gamma_steps: int = 200,
    basin_tol: float = 1e-3,
) -> LatchingCensus:
    """Does the learned latching use hyperbolic attractors? (digest section 6, latching test)

    For end states h_T (a batch in the model's state structure) with class
    ``labels`` (B,), of two or more classes: iterate F from h_T
    (``converge``) and name the fixed point reached within ``basin_tol``
    (ours) as its basin; check membership in Gamma (Bengio, Simard &
    Frasconi 1994; ``in_contracting_region``); measure d_c to the nearest
    hyperbolic attractor and the class of the nearest fixed point. Runs in
    float64 like :func:`find_fixed_points`. With no fixed points every basin
    is -1 and the summaries are False.
    """
    labels = np.asarray(labels)
    with _float64():
        params64 = _widen(params)
        x64 = _widen(default_input(params) if x_const is None else x_const)
        h64 = _widen(end_states)
        h_flat = np.asarray(flatten_states(h64))
        limits = np.asarray(flatten_states(converge(model, params64, h64, x64, converge_steps)))
        in_gamma = np.asarray(in_contracting_region(model, params64, h64, x64, gamma_steps))

    points, classes = fixed_points.points, fixed_points.classes
    limit_distance, reached = nearest_point(limits, points)
    basin = np.where(limit_distance < basin_tol, reached, -1)
    basin_class = _class_of(basin, classes)
    _, nearest = nearest_point(h_flat, points)
    stable_distance, _ = nearest_point(h_flat, points[classes == ATTRACTOR])

    basins_per_class = [set(basin[labels == c].tolist()) for c in np.unique(labels)]
    shared = any(a & b for i, a in enumerate(basins_per_class) for b in basins_per_class[i + 1 :])
    distinct = bool(len(basin) > 0 and np.all(basin >= 0) and not shared)
    hyperbolic = bool(distinct and np.all(basin_class == ATTRACTOR))
    return LatchingCensus(
        basin=basin,
        basin_class=basin_class,
        limit_distance=limit_distance,
        nearest_class=_class_of(nearest, classes),
        nearest_stable_distance=stable_distance,
        in_gamma=in_gamma,
        distinct_basins=distinct,
        uses_hyperbolic_attractors=hyperbolic,
        robust_latching=bool(hyperbolic and np.all(in_gamma)),
    )


__all__ = [
    "ATTRACTOR",
    "CLASSES",
    "MARGINAL",
    "SADDLE",
    "SLOW",
    "FixedPointConfig",
    "FixedPoints",
    "LatchingCensus",
    "Coordinates",
    "autonomous_map",
    "classify",
    "converge",
    "coordinates",
    "deduplicate",
    "default_input",
    "eigenvalues_host",
    "find_fixed_points",
    "flatten_states",
    "in_contracting_region",
    "latching_census",
    "nearest_point",
    "orbit_jacobian_norm",
    "starts_from_states",
]
