"""Per-member losses: readout of the states, then the task's loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def mse(pred: jax.Array, y: jax.Array) -> jax.Array:
    """Mean squared error over every target entry."""
    return jnp.mean((pred - y) ** 2)


def logistic(logit: jax.Array, label: jax.Array) -> jax.Array:
    """Binary cross-entropy of a logit against a {0, 1} label, averaged."""
    return jnp.mean(optax.sigmoid_binary_cross_entropy(logit, label))


LOSSES = {"mse": mse, "logistic": logistic}


def batched_initial_state(model, cfg, params, batch: int):
    h0 = model.initial_state(params, cfg)
    return jax.tree.map(lambda a: jnp.broadcast_to(a, (batch,) + a.shape), h0)


def predictions(model, cfg, params, x: jax.Array, target: str, run=None) -> jax.Array:
    """Readouts for a batch x (T, B, D): (T, B, O) for every-step targets, (B, O) for last-step."""
    h0 = batched_initial_state(model, cfg, params, x.shape[1])
    if run is None and model.predict is not None:
        ys = model.predict(params, h0, x)
        return ys[-1] if target == "last" else ys
    run = run or model.run
    hs = run(params, h0, x)
    readout = jax.vmap(model.readout, in_axes=(None, 0))
    if target == "last":
        return readout(params, hs[-1])
    return jax.vmap(readout, in_axes=(None, 0))(params, hs)


def task_loss(model, cfg, task, params, x, y, run=None) -> jax.Array:
    return LOSSES[task.loss](predictions(model, cfg, params, x, task.target, run), y)
