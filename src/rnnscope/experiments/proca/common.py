"""What the linear-RNN learning-dynamics reproductions share (Proca, Dominé, Shanahan & Mediano 2025).

The paper trains bias-free linear RNNs by full-batch gradient descent on a
fixed set of P whitened trajectories (digest papers/proca.md, section 1).
:func:`full_batch_gd` does that for a population (vmap over members, scan
over steps), recording every weight matrix, so the modes (a, b, c) can be
read back at every record and set beside the theory's flow.

Time map. rnnscope's MSE is the mean of (y - y_hat)^2 over the P samples and
N_y outputs, without a 1/2; with inputs whitened so that the SUM over samples
of x x^T is I, its gradient is 2 / (P N_y) times the gradient of the paper's
energy with tau = 1. One step of learning rate eta is therefore a time

    dt / tau = 2 eta / (P N_y)

of the mode flow tau d theta / dt = -dE / d theta (digest section 1,
"without the 1/2 factor use tau = P N_y / (2 eta)").
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ...models import get_model
from ...models.base import ModelConfig, merge, trainable
from ...models.init import aligned_linear, recover_modes
from ...train.losses import LOSSES, predictions

LINEAR = get_model("linear")


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
    """Full linear-model params from ``W_x``, ``W_h``, ``W_y``: biases zero under ``frozen``."""
    hidden = weights["W_h"].shape[-1]
    return {**{k: jnp.asarray(weights[k], jnp.float32) for k in ("W_x", "W_h", "W_y")},
            "frozen": {"b": jnp.zeros((hidden,), jnp.float32), "b_y": jnp.zeros((output_dim,), jnp.float32)}}


def mse(cfg: ModelConfig, params: dict, x: jax.Array, y: jax.Array, target: str = "last") -> jax.Array:
    """rnnscope's loss of the task on (x, y): mean squared error over every target entry."""
    return LOSSES["mse"](predictions(LINEAR, cfg, params, x, target), y)


def full_batch_gd(cfg: ModelConfig, params0: dict, x, y, lr, steps: int, record_every: int,
                  target: str = "last") -> GDRun:
    """Gradient descent on the whole set (x, y) for every member of ``params0`` (leading member axis).

    ``lr`` is a scalar or one rate per member. Records at steps 0, record_every, ..., steps.
    """
    if steps % record_every:
        raise ValueError(f"steps={steps} must be a multiple of record_every={record_every}")
    x = jnp.asarray(x, jnp.float32)
    y = jnp.asarray(y, jnp.float32)
    members = jax.tree_util.tree_leaves(params0)[0].shape[0]
    lr = jnp.broadcast_to(jnp.asarray(lr, jnp.float32), (members,))

    def member(params, rate):
        def loss_of(train):
            return mse(cfg, merge(train, params), x, y, target)

        def step(carry, _):
            train, bad = carry
            loss, grad = jax.value_and_grad(loss_of)(train)
            new = jax.tree_util.tree_map(lambda p, g: p - rate * g, train, grad)
            finite = jnp.isfinite(loss) & jnp.all(jnp.stack(
                [jnp.all(jnp.isfinite(v)) for v in jax.tree_util.tree_leaves(new)]))
            bad = bad | ~finite
            train = jax.tree_util.tree_map(lambda n, o: jnp.where(bad, o, n), new, train)
            return (train, bad), None

        def record(carry, _):
            carry, _ = jax.lax.scan(step, carry, None, length=record_every)
            return carry, (carry[0], loss_of(carry[0]))

        start = trainable(params)
        (_, bad), (trail, losses) = jax.lax.scan(record, (start, jnp.bool_(False)), None,
                                                 length=steps // record_every)
        trail = jax.tree_util.tree_map(lambda s, t: jnp.concatenate([s[None], t]), start, trail)
        return trail, jnp.concatenate([loss_of(start)[None], losses]), bad

    trail, losses, bad = jax.jit(jax.vmap(member))(params0, lr)
    return GDRun(np.arange(0, steps + 1, record_every), jax.device_get(trail), np.asarray(losses),
                 np.asarray(bad))


def theory_time(steps, lr: float, n_samples: int, output_dim: int):
    """t / tau of the mode flow after ``steps`` steps of rate ``lr``: 2 lr steps / (P N_y) (module docstring)."""
    return np.asarray(steps, np.float64) * 2.0 * lr / (n_samples * output_dim)


def aligned_population(seeds, hidden: int, U_y, V_x, a, b, c, output_dim: int) -> tuple[dict, np.ndarray]:
    """Members aligned with the data bases, one random orthogonal R per seed (Proca et al., App. P.1.1).

    ``a``, ``b``, ``c``: scalars or per-mode vectors (see ``models.init.aligned_linear``).
    Returns (params with leading member axis, R of shape (members, H, H)).
    """
    weights = [aligned_linear(jax.random.PRNGKey(int(s)), hidden, U_y, V_x, a, b, c) for s in seeds]
    stacked = {k: jnp.stack([w[k] for w in weights]) for k in ("W_x", "W_h", "W_y", "R")}
    params = jax.vmap(lambda w: bias_free(w, output_dim))(stacked)
    return params, np.asarray(stacked["R"])


def modes_over_training(run: GDRun, U_y, V_x, R) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, c), each (members, R, n_modes): the diagonals of R^T W_x V_x, R^T W_h R, U_y^T W_y R."""
    U_y = jnp.asarray(U_y, jnp.float32)
    V_x = jnp.asarray(V_x, jnp.float32)

    def one(params, basis):
        return recover_modes(params, U_y, V_x, basis)

    per_record = jax.vmap(one, in_axes=(0, None))
    a, b, c = jax.vmap(per_record)(run.params, jnp.asarray(R, jnp.float32))
    return np.asarray(a), np.asarray(b), np.asarray(c)
