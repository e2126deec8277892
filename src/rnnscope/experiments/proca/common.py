"""What the linear-RNN learning-dynamics reproductions share (Proca, Dominé, Shanahan & Mediano 2025).

The paper trains bias-free linear RNNs by full-batch gradient descent on a
fixed set of P whitened trajectories (digest papers/proca.md, section 1).
:func:`full_batch_gd` does that for a population (vmap over members, scan
over steps), recording every weight matrix, so the modes (a, b, c) can be
read back at every record and set beside the theory's flow. Its step
(:func:`guarded_step`) and record loop (:func:`recorded_scan`) also serve
runs that trace more than the weights. :func:`engine_from_weights` runs the
same descent through the population engine from chosen weights, and
:func:`sharpness` measures the largest stable step of gradient descent.

Time map. rnnscope's MSE is the mean of (y - y_hat)^2 over the P samples and
N_y outputs, without a 1/2; with inputs whitened so that the SUM over samples
of x x^T is I, its gradient is 2 / (P N_y) times the gradient of the paper's
energy with tau = 1. One step of learning rate eta is therefore a time

    dt / tau = 2 eta / (P N_y)

of the mode flow tau d theta / dt = -dE / d theta (digest section 1,
"without the 1/2 factor use tau = P N_y / (2 eta)").

Precision. Everything here computes in the dtype of its inputs: float32, or
float64 for float64 data inside ``jax.enable_x64``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ...models import get_model
from ...models.base import ModelConfig, merge, trainable
from ...models.init import aligned_in_basis, aligned_linear, alignment_error, recover_modes
from ...optim import OptimizerConfig
from ...train import PopulationResult, TaskConfig, TrainConfig, train_population
from ...train.losses import LOSSES, predictions
from ...train.population import all_finite

LINEAR = get_model("linear")
WEIGHTS = ("W_x", "W_h", "W_y")
#: Plain gradient descent through the engine (full batch: the batch is the whole data set).
LINEAR_SGD = OptimizerConfig(name="sgd")


class GDRun(NamedTuple):
    """A population trained by full-batch gradient descent.

    Attributes:
        steps: (R,) the steps at which the weights were recorded (0 = initial).
        params: the trainable weights at every record, leading axes (members, R).
        loss: (members, R) training loss (rnnscope's MSE) at every record.
        diverged: (members,) a member whose loss or weights became non-finite;
            it is frozen at its last finite weights from then on.
    """

    steps: np.ndarray
    params: dict
    loss: np.ndarray
    diverged: np.ndarray


def model_config(hidden: int, input_dim: int, output_dim: int) -> ModelConfig:
    """The paper's network: linear, no biases."""
    return ModelConfig(arch="linear", hidden=hidden, input_dim=input_dim, output_dim=output_dim, bias=False)


def bias_free(weights: dict, output_dim: int) -> dict:
    """Full linear-model params from ``W_x``, ``W_h``, ``W_y``: biases zero under ``frozen``, in the weights' dtype."""
    mats = {k: jnp.asarray(weights[k]) for k in WEIGHTS}
    hidden = mats["W_h"].shape[-1]
    dtype = jnp.result_type(*mats.values())
    return {**mats, "frozen": {"b": jnp.zeros((hidden,), dtype), "b_y": jnp.zeros((output_dim,), dtype)}}


def mse(cfg: ModelConfig, params: dict, x: jax.Array, y: jax.Array, target: str = "last") -> jax.Array:
    """rnnscope's loss of the task on (x, y): mean squared error over every target entry, mean (y - y_hat)^2."""
    return LOSSES["mse"](predictions(LINEAR, cfg, params, x, target), y)


# ---------------------------------------------------------------------------
# Full-batch gradient descent
# ---------------------------------------------------------------------------


def guarded_step(loss_and_aux: Callable, train, bad, rate):
    """One gradient-descent step p <- p - rate dL/dp that freezes a member once it goes non-finite.

    ``loss_and_aux(train) -> (L, aux)``. A member whose loss or updated
    weights are not finite is marked ``bad`` and keeps its last finite
    weights from then on (the population engine's rule). Returns
    (train, bad, L, aux), L and aux at the weights before the step.
    """
    (loss, aux), grad = jax.value_and_grad(loss_and_aux, has_aux=True)(train)
    new = jax.tree.map(lambda p, g: p - rate * g, train, grad)
    bad = bad | ~(jnp.isfinite(loss) & all_finite(new))
    return jax.tree.map(lambda n, o: jnp.where(bad, o, n), new, train), bad, loss, aux


def recorded_scan(step: Callable, carry, steps: int, record_every: int, read: Callable):
    """``steps`` calls of step(carry, k) -> (carry, out), k = 0..steps-1, with ``read(carry)`` at every record.

    Records are the start and every ``record_every`` steps after it. Returns
    (final carry, reads with a leading record axis of length
    steps // record_every + 1, outs with leading axes
    (steps // record_every, record_every)).
    """
    if steps % record_every:
        raise ValueError(f"steps={steps} must be a multiple of record_every={record_every}")

    def record(carry, ks):
        carry, outs = jax.lax.scan(step, carry, ks)
        return carry, (read(carry), outs)

    ks = jnp.arange(steps, dtype=jnp.int32).reshape(steps // record_every, record_every)
    first = read(carry)
    carry, (reads, outs) = jax.lax.scan(record, carry, ks)
    return carry, jax.tree.map(lambda s, r: jnp.concatenate([s[None], r]), first, reads), outs


def full_batch_gd(cfg: ModelConfig, params0: dict, x, y, lr, steps: int, record_every: int,
                  target: str = "last", trained: tuple[str, ...] | None = None) -> GDRun:
    """Gradient descent on the whole set (x, y) for every member of ``params0`` (leading member axis).

    Each step is p <- p - lr d MSE / dp (``guarded_step``) on the matrices in
    ``trained`` (default: every trainable leaf); the others stay at their
    values in ``params0``. ``lr`` is a scalar or one rate per member. Records
    at steps 0, record_every, ..., steps. The dtype of ``x`` sets the
    arithmetic (float64 inside ``jax.enable_x64``).
    """
    x = jnp.asarray(x)
    dtype = x.dtype
    y = jnp.asarray(y, dtype)
    params0 = jax.tree.map(lambda a: jnp.asarray(a, dtype), params0)
    members = jax.tree.leaves(params0)[0].shape[0]
    lr = jnp.broadcast_to(jnp.asarray(lr, dtype), (members,))

    def member(params, rate):
        weights = trainable(params)
        names = tuple(weights) if trained is None else trained
        fixed = {k: v for k, v in weights.items() if k not in names}

        def loss_of(moving):
            return mse(cfg, merge({**moving, **fixed}, params), x, y, target)

        def step(carry, _):
            moving, bad, _, _ = guarded_step(lambda m: (loss_of(m), None), *carry, rate)
            return (moving, bad), None

        def read(carry):
            return {**carry[0], **fixed}, loss_of(carry[0])

        start = {k: weights[k] for k in names}
        (_, bad), (trail, losses), _ = recorded_scan(step, (start, jnp.bool_(False)), steps, record_every, read)
        return trail, losses, bad

    trail, losses, bad = jax.jit(jax.vmap(member))(params0, lr)
    return GDRun(np.arange(0, steps + 1, record_every), jax.device_get(trail), np.asarray(losses),
                 np.asarray(bad))


def theory_time(steps, lr: float, n_samples: int, output_dim: int):
    """t / tau of the mode flow after ``steps`` steps of rate ``lr``: 2 lr steps / (P N_y) (module docstring)."""
    return np.asarray(steps, np.float64) * 2.0 * lr / (n_samples * output_dim)


# ---------------------------------------------------------------------------
# Aligned networks and their modes
# ---------------------------------------------------------------------------


def aligned_population(seeds, hidden: int, U_y, V_x, a, b, c, output_dim: int) -> tuple[dict, np.ndarray]:
    """Members aligned with the data bases, one random orthogonal R per seed (Proca et al., App. P.1.1).

    ``a``, ``b``, ``c``: scalars or per-mode vectors (see ``models.init.aligned_linear``;
    float64 bases inside ``jax.enable_x64`` give float64 weights).
    Returns (params with leading member axis, R of shape (members, H, H)).
    """
    weights = [aligned_linear(jax.random.PRNGKey(int(s)), hidden, U_y, V_x, a, b, c) for s in seeds]
    stacked = {k: jnp.stack([w[k] for w in weights]) for k in (*WEIGHTS, "R")}
    params = jax.vmap(lambda w: bias_free(w, output_dim))(stacked)
    return params, np.asarray(stacked["R"])


def aligned_float64(R, U_y, V_x, a, b, c) -> dict:
    """``models.init.aligned_in_basis`` in float64 (a scoped ``jax.enable_x64``), as NumPy arrays.

    W_x = R diag(a) V_x^T, W_h = R diag(b) R^T, W_y = U_y diag(c) R^T, and R.
    """
    with jax.enable_x64(True):
        w = aligned_in_basis(jnp.asarray(R, jnp.float64), U_y, V_x, a, b, c)
        return {k: np.asarray(v) for k, v in w.items()}


def _per_record(measure: Callable, run: GDRun, U_y, V_x, R):
    """``measure(weights, U_y, V_x, R_m)`` at every record of every member, in the dtype of the run's weights."""
    dtype = jnp.result_type(*jax.tree.leaves(run.params))
    U_y, V_x, R = (jnp.asarray(m, dtype) for m in (U_y, V_x, R))
    per_record = jax.vmap(lambda params, basis: measure(params, U_y, V_x, basis), in_axes=(0, None))
    return jax.vmap(per_record)(jax.tree.map(lambda a: jnp.asarray(a, dtype), run.params), R)


def modes_over_training(run: GDRun, U_y, V_x, R) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, c), each (members, R, n_modes): the diagonals of R^T W_x V_x, R^T W_h R, U_y^T W_y R.

    ``models.init.recover_modes`` at every record, member m in its basis R[m].
    """
    a, b, c = _per_record(recover_modes, run, U_y, V_x, R)
    return np.asarray(a), np.asarray(b), np.asarray(c)


def alignment_over_training(run: GDRun, U_y, V_x, R) -> np.ndarray:
    """(members, R): ``models.init.alignment_error`` at every record, max |off-diagonal| / max |entry| of the blocks."""
    return np.asarray(_per_record(alignment_error, run, U_y, V_x, R))


# ---------------------------------------------------------------------------
# Sharpness: the largest stable step of gradient descent
# ---------------------------------------------------------------------------


def top_eigenvalue(hvp: Callable, v0, iters: int) -> jax.Array:
    """Largest (algebraic) eigenvalue of a symmetric operator given by its product ``hvp`` on pytrees.

    Power iteration gives the eigenvalue of largest magnitude, lambda_1; a
    second power iteration on H - min(lambda_1, 0) I, whose spectrum is then
    >= 0 with lambda_max - min(lambda_1, 0) on top, gives lambda_max where H
    is not positive semi-definite (a saddle). Rayleigh quotients of the last
    iterate; ``iters`` products per stage.
    """
    def dot(a, b):
        return sum(jnp.vdot(u, w) for u, w in zip(jax.tree.leaves(a), jax.tree.leaves(b)))

    def normed(v):
        return jax.tree.map(lambda a: a / jnp.sqrt(dot(v, v)), v)

    def stage(v, shift):
        def body(v, _):
            Hv = jax.tree.map(lambda h, a: h - shift * a, hvp(v), v)
            return normed(Hv), None

        v, _ = jax.lax.scan(body, normed(v), None, length=iters)
        return v, dot(v, hvp(v)) - shift * dot(v, v)

    v, lam1 = stage(v0, 0.0)
    shift = jnp.minimum(lam1, 0.0)
    _, top = stage(v, shift)
    return top + shift


def sharpness(loss: Callable, weights, power_iters: int = 0, key=None) -> jax.Array:
    """lambda_max, the largest eigenvalue of the Hessian of ``loss`` at ``weights`` (a pytree), for one member.

    Gradient descent at rate lr can settle at a point only if lr < 2 / lambda_max
    there: the linearised step I - lr H must contract (digest 4.2,
    ``theory.linear_modes.max_stable_learning_rate``).

    - ``power_iters = 0``: exact. The Hessian of the flattened weights is
      formed by autodiff and lambda_max = eigvalsh(H)[-1]; for small
      networks, where this is cheaper than iterating.
    - ``power_iters > 0``: ``top_eigenvalue`` on Hessian-vector products
      (forward-over-reverse, jax.jvp of jax.grad), ``power_iters`` products
      per stage, from a standard normal vector drawn with ``key``. Where the
      top of the spectrum is crowded (a saddle) the value is a lower estimate.

    Traceable: vmap it over a population.
    """
    if not power_iters:
        flat, unravel = ravel_pytree(weights)
        return jnp.linalg.eigvalsh(jax.hessian(lambda f: loss(unravel(f)))(flat))[-1]
    grad = jax.grad(loss)

    def hvp(v):
        return jax.jvp(grad, (weights,), (v,))[1]

    leaves, tree = jax.tree.flatten(weights)
    keys = jax.random.split(key, len(leaves))
    v0 = jax.tree.unflatten(tree, [jax.random.normal(k, a.shape, a.dtype) for k, a in zip(keys, leaves)])
    return top_eigenvalue(hvp, v0, power_iters)


# ---------------------------------------------------------------------------
# Training through the engine from chosen weights
# ---------------------------------------------------------------------------


def two_blocks(members: int) -> int:
    """Member block size that trains a population of ``members`` in two blocks (the first one member larger if odd)."""
    return max(1, -(-members // 2))


def engine_start(model: ModelConfig, task: TaskConfig, seeds, init_scale, n_samples: int) -> PopulationResult:
    """Phase 1: the engine initialises every member (its own init, per-member ``init_scale``), one step at rate 0.

    A Gaussian init depends only on the seed and the scale, not on the task,
    so one start can serve several tasks of the same shapes (each warm-starts it).
    """
    seeds = np.asarray(seeds)
    cfg = TrainConfig(steps=1, batch=n_samples, record_every=1, record_log_points=None, probes=("loss",),
                      probe_batch=n_samples, eval_batch=n_samples, block=two_blocks(len(seeds)))
    hp = {"lr": np.zeros(len(seeds), np.float32), "init_scale": np.asarray(init_scale, np.float32)}
    return train_population(model, task, LINEAR_SGD, cfg, seeds, hp)


def engine_continue(start: PopulationResult, model: ModelConfig, task: TaskConfig, replace: dict[int, dict],
                    lr, steps: int, n_samples: int, probes: tuple[str, ...], records: int):
    """Phase 2: the members named in ``replace`` (index -> {W_x, W_h, W_y}) get those weights, then all train.

    A warm start of ``start`` trains every member for ``steps`` steps of rate
    ``lr`` (a scalar or one per member) with the whole data set
    (``n_samples``) as the batch, recording ``probes`` at ``records`` evenly
    spaced steps besides the first (``steps`` is rounded down to a multiple
    of ``records``). Returns (initial params, result).
    """
    seeds = np.asarray(start.seeds)
    params = jax.tree.map(np.array, start.params)
    for i, w in replace.items():
        for k in WEIGHTS:
            params[k][i] = np.asarray(w[k], np.float32)
    every = max(1, steps // records)
    steps = every * records
    cfg = TrainConfig(steps=steps, batch=n_samples, record_every=every, record_log_points=None, probes=probes,
                      probe_batch=n_samples, eval_batch=n_samples, block=two_blocks(len(seeds)), segment=steps)
    hp = {"lr": np.broadcast_to(np.asarray(lr, np.float32), (len(seeds),))}
    result = train_population(model, task, LINEAR_SGD, cfg, seeds, hp, warm_start=start._replace(params=params))
    return params, result


def engine_from_weights(model: ModelConfig, task: TaskConfig, seeds, init_scale, replace: dict[int, dict],
                        lr, steps: int, n_samples: int, probes: tuple[str, ...], records: int):
    """Full-batch gradient descent through ``train_population``, some members starting from given weights.

    ``engine_start`` (the engine's own init with the per-member
    ``init_scale``, one step at rate 0) followed by ``engine_continue`` (the
    members in ``replace`` get the given weights; all train for ``steps``
    steps of rate ``lr``, recording ``probes`` at ``records`` evenly spaced
    steps besides the first). Returns (initial params, result of phase 2).
    """
    start = engine_start(model, task, seeds, init_scale, n_samples)
    return engine_continue(start, model, task, replace, lr, steps, n_samples, probes, records)
