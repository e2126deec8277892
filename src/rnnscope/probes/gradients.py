"""Vanishing / exploding-gradient diagnostics, recorded inside the training scan.

Johnston et al. 2025 (digest papers/johnston.md, section 4 [our protocol R];
the paper's own formula is a gap) measure VEG on a fixed probe batch at every
record; the operational forms come from Bengio, Simard & Frasconi 1994
(digest section 2.4):

- ``jac_lyapunov``: the finite-time maximal Lyapunov exponent of the state
  Jacobian product along each probe sequence,

      lambda = (1 / (T - 1)) log || prod_{t=2}^{T} J_t ||_2,   J_t = d h_t / d h_{t-1},

  < 0 contracting (gradients vanish), > 0 expanding (they explode);
- ``credit_ratio``: r = ||dL/dh_L|| / ||dL/dh_T||, the gradient of the
  probe-batch loss reaching the informative step L, relative to the last
  step T;
- ``nonfinite_grad``: 1 when the gradient norm is NaN or infinite, else 0
  (summed over records, a count of non-finite events).

The digest's per-run indicators are functions of these trajectories: VG when
the median over training of r is below 1e-6, EG when the maximum of
``grad_norm`` exceeds 1e3 times its first value or a gradient is non-finite.

Time indexing: ``probe_x[t - 1]`` drives step t = 1..T, which maps the state
h_{t-1} to h_t (h_0 = ``model.initial_state``); steps are counted from 1 as
in the formulas above. "The state" is the whole state: (h, c) for the LSTM,
flattened with ``ravel_pytree``; a complex state (the LRU's) is read as the
real vector (Re h, Im h), so every Jacobian here is the real one.

Pure JAX: every probe runs in the sharded training program on any device.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from ..models.init import thin_qr
from .basic import Probe, ProbeContext
from .transport import batched_initial_state

#: Vectors in the orthonormal frame propagated by the Jacobians (digest section 4).
FRAME_VECTORS = 4
#: Key of the random frame: one fixed frame for every member and record (our
#: choice), so the probe is deterministic and members are compared alike.
FRAME_SEED = 1994
#: Smallest growth a frame vector may have in one step before its log is taken:
#: a step that annihilates a vector (a fully saturated tanh unit) counts as a
#: contraction by the smallest normal float32, so the exponent stays finite
#: (log = -87.3 per step) instead of -inf (our choice).
GROWTH_FLOOR = float(jnp.finfo(jnp.float32).tiny)


def state_vectoriser(state) -> tuple[Callable[[Any], jax.Array], Callable[[jax.Array], Any], int]:
    """``(to_vec, from_vec, n)``: a state pytree as one real vector of length n, and back.

    Leaves are concatenated in ``ravel_pytree`` order (the LSTM's h, then c); a
    complex state becomes (Re, Im), so the Jacobian of a complex step is the
    real 2H x 2H one.
    """
    flat, unravel = ravel_pytree(state)
    if not jnp.iscomplexobj(flat):
        return (lambda s: ravel_pytree(s)[0]), unravel, flat.shape[0]
    n = flat.shape[0]

    def to_vec(s):
        f = ravel_pytree(s)[0]
        return jnp.concatenate([f.real, f.imag])

    def from_vec(v):
        return unravel(jax.lax.complex(v[:n], v[n:]))

    return to_vec, from_vec, 2 * n


def random_frame(n: int, k: int = FRAME_VECTORS, seed: int = FRAME_SEED) -> jax.Array:
    """An (n, k) matrix with orthonormal columns: the Q of a Gaussian matrix drawn from ``PRNGKey(seed)``."""
    return thin_qr(jax.random.normal(jax.random.PRNGKey(seed), (n, k)))[0]


def frame_log_growth(step_vec: Callable, v0: jax.Array, xs: jax.Array, frame: jax.Array) -> jax.Array:
    """sum_{t=2}^{T} log |diag R_t| for one sequence: the frame's accumulated log growth, shape (k,).

    h_1 = step(h_0, x_1); then for t = 2..T the frame is pushed forward by
    J_t (a Jacobian-vector product per column, never the full Jacobian) and
    re-orthonormalised, J_t Q_{t-1} = Q_t R_t. The product of the R_t is the
    R of prod_t J_t Q_0, so nothing over- or underflows however long T is.
    """
    v1 = step_vec(v0, xs[0])

    def body(carry, x):
        v, q, growth = carry
        v_next, push = jax.linearize(lambda u: step_vec(u, x), v)
        q, r = thin_qr(jax.vmap(push, in_axes=1, out_axes=1)(q))
        return (v_next, q, growth + jnp.log(jnp.maximum(jnp.abs(jnp.diagonal(r)), GROWTH_FLOOR))), None

    init = (v1, frame, jnp.zeros((frame.shape[1],), v1.dtype))
    return jax.lax.scan(body, init, xs[1:])[0][2]


def sequence_lyapunov(model, cfg, params, xs: jax.Array, n_vectors: int = FRAME_VECTORS) -> jax.Array:
    """Finite-time maximal Lyapunov exponent of the state-Jacobian product along one sequence xs (T, D).

    lambda = max_i [sum_{t=2}^{T} log |R_t|_ii] / (T - 1). Each accumulated
    rate is at most (1 / (T - 1)) log ||prod J_t||_2 (the product's R_ii are
    norms of projections of prod J q_i), with equality when prod J has
    orthogonal columns of equal norm (g times an orthogonal matrix) and
    approached as 1/(T - 1) otherwise: the frame's overlap with the top
    singular direction costs O(1) in the log.
    """
    h0 = model.initial_state(params, cfg)
    to_vec, from_vec, n = state_vectoriser(h0)

    def step_vec(v, x):
        return to_vec(model.step(params, from_vec(v), x))

    growth = frame_log_growth(step_vec, to_vec(h0), xs, random_frame(n, min(n_vectors, n)))
    return jnp.max(growth) / (xs.shape[0] - 1)


def jacobian_lyapunov(ctx: ProbeContext, n_vectors: int = FRAME_VECTORS) -> jax.Array:
    """jac_lyapunov: lambda of ``sequence_lyapunov``, averaged over the probe batch.

    Johnston et al. 2025 (digest papers/johnston.md section 4 [our protocol]);
    Bengio, Simard & Frasconi 1994. Averaging the exponent (a mean of logs, not
    the log of a mean norm) over sequences is our choice: one expanding
    sequence does not dominate. NaN for sequences shorter than 2 steps.
    """
    if ctx.probe_x.shape[0] < 2:
        return jnp.array(jnp.nan, jnp.float32)
    per_sequence = jax.vmap(lambda xs: sequence_lyapunov(ctx.model, ctx.cfg, ctx.params, xs, n_vectors),
                            in_axes=1)(ctx.probe_x)
    return jnp.mean(per_sequence)


def perturbed_run(model, eps) -> Callable:
    """A ``run`` (params, h0, xs) -> hs whose state after step t is step(h_{t-1}, x_t) + eps[t - 1].

    ``eps`` is a pytree shaped like the batched state with a leading time axis.
    At eps = 0 it is the model's own run, and d loss / d eps[t - 1] = d loss / d h_t.
    """
    batched_step = jax.vmap(model.step, in_axes=(None, 0, 0))

    def run(params, h0, xs):
        def body(h, inputs):
            x, e = inputs
            h = jax.tree.map(jnp.add, batched_step(params, h, x), e)
            return h, model.hidden_of(h)

        return jax.lax.scan(body, h0, (xs, eps))[1]

    return run


def state_gradient_norms(model, cfg, task, params, xs: jax.Array, ys: jax.Array) -> jax.Array:
    """||dL/dh_t||_F for t = 1..T, shape (T,): the task loss of the batch (xs, ys) against every state.

    One backward pass through the unrolled scan: zero perturbations are added
    to every state (``perturbed_run``) and the loss differentiated with respect
    to them. The norm runs over the batch and the whole state (for the LSTM
    both h and c; |.| of complex entries).
    """
    # imported here: rnnscope.train imports the probe registry, so a module-level
    # import would be circular
    from ..train.losses import task_loss

    h0 = batched_initial_state(model, params, cfg, xs.shape[1])
    zeros = jax.tree.map(lambda a: jnp.zeros((xs.shape[0],) + a.shape, a.dtype), h0)
    grads = jax.grad(lambda eps: task_loss(model, cfg, task, params, xs, ys, perturbed_run(model, eps)))(zeros)
    squares = [jnp.sum(jnp.abs(g) ** 2, axis=tuple(range(1, g.ndim))) for g in jax.tree.leaves(grads)]
    return jnp.sqrt(sum(squares))


def informative_step(task, seq_len: int) -> int:
    """The step L whose state should hold the information the target needs (1-based).

    For a last-step target with known lags, L = T - max(lags): the latch's
    prefix length, the adding problem's first-marker window, recall's
    x_{T - lag}. Otherwise (targets at every step, or no lag list) the first
    step, L = 1, the digest's r = ||dL/dh_1|| / ||dL/dh_T|| (our choice).
    """
    if task is not None and task.target == "last" and task.lags:
        return max(1, seq_len - max(task.lags))
    return 1


def credit_ratio(ctx: ProbeContext, early_step: int | None = None) -> jax.Array:
    """credit_ratio: r = ||dL/dh_L||_F / ||dL/dh_T||_F on the probe batch (``ctx.probe_x``, ``ctx.probe_y``).

    Johnston et al. 2025 (digest papers/johnston.md section 4 [our protocol]);
    Bengio, Simard & Frasconi 1994. L is ``early_step`` (1-based) or, by
    default, ``informative_step`` of the member's task. The loss is the
    member's own (``train.losses.task_loss``, without state noise); the norms
    run over the whole probe batch and state (one ratio per batch, not a mean
    of per-sequence ratios: our choice). Where the loss has no gradient at the
    last step at all, r is inf (or NaN, 0/0, when it has none at L either).
    """
    if ctx.task is None or ctx.probe_y is None:
        raise ValueError("credit_ratio needs the member's task and probe targets (ProbeContext.task, .probe_y)")
    seq_len = ctx.probe_x.shape[0]
    step = informative_step(ctx.task, seq_len) if early_step is None else early_step
    if not 1 <= step <= seq_len:
        raise ValueError(f"credit_ratio: early_step={step} must lie in 1..{seq_len}")
    norms = state_gradient_norms(ctx.model, ctx.cfg, ctx.task, ctx.params, ctx.probe_x, ctx.probe_y)
    return norms[step - 1] / norms[-1]


def nonfinite_grad(ctx: ProbeContext) -> jax.Array:
    """1.0 when the gradient norm the engine hands the probes (``ctx.grad_norm``) is NaN or infinite, else 0.0.

    Johnston et al. 2025 (digest section 4, "plus any NaN/Inf events"). The
    engine records NaN for a member once it has diverged, so the non-finite
    events of a run are the records where this is 1 plus its ``diverged`` flag.
    """
    return jnp.where(jnp.isfinite(ctx.grad_norm), 0.0, 1.0).astype(jnp.float32)


def gradient_probes() -> dict[str, Probe]:
    return {
        "jac_lyapunov": Probe("jac_lyapunov", jacobian_lyapunov),
        "credit_ratio": Probe("credit_ratio", credit_ratio),
        "nonfinite_grad": Probe("nonfinite_grad", nonfinite_grad),
    }
