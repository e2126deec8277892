"""Extrapolation to other sequence lengths.

Proca, Dominé, Shanahan & Mediano 2025, section 3.3 and App. F.1 (digest
papers/proca.md, section 4.3): a network trained at length T is tested on
the same task rebuilt at lengths T'. A zero-loss solution that depends on T
(the mean task's ac = 1/T, the exponential task's ac = delta lambda^T) cannot
transfer: the mean-trained network's error is (T' - T)^2 / (T^2 T') per
dimension, while perfect summation transfers exactly. The closed forms
belong to the theory layer; this module only measures.

The loss is the task's own, as in training (``train.losses``): MSE is the
mean of (y_hat - y)^2 over every target entry (batch x outputs, x steps for
every-step targets), without a 1/2.
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp

from ..tasks import make_task


def task_predict(model, cfg, target: str) -> Callable[[dict, jax.Array], jax.Array]:
    """``predict(params, x)`` with the task's target layout: (B, O) for ``"last"``, (T, B, O) for ``"every"``.

    The forward pass training uses (``train.losses.predictions``).
    """
    # imported here: rnnscope.train imports the probe registry, so a module-level
    # import would be circular
    from ..train.losses import predictions

    def predict(params, x):
        return predictions(model, cfg, params, x, target)

    return predict


def sampler_at_length(name: str, **kwargs) -> Callable[[int], Callable]:
    """``sample_at_length(T')``: the registered task ``name`` rebuilt with ``seq_len=T'`` (other kwargs fixed)."""

    def at(seq_len: int):
        return make_task(name, **{**kwargs, "seq_len": int(seq_len)}).sample

    return at


def extrapolation_error(predict: Callable, params, sample_at_length: Callable[[int], Callable],
                        lengths: Sequence[int], key: jax.Array, batch: int,
                        loss: str | Callable[[jax.Array, jax.Array], jax.Array] = "mse") -> jax.Array:
    """Err(T') = loss(predict(params, x), y) with (x, y) = sample_at_length(T')(key, batch), for each T'.

    Proca et al. 2025, App. F.1 (digest section 4.3). Returns shape
    (len(lengths),). Every length is sampled from the same ``key`` (our
    choice: one fresh batch per length, reproducible, and independent of
    which other lengths are asked for). ``predict`` must return the task's
    target layout (``task_predict``); ``loss`` is a name in
    ``train.losses.LOSSES`` (default ``"mse"``, the training loss) or a
    function (y_hat, y) -> scalar. Pure in ``params``: ``jax.vmap`` over a
    population's stacked parameters gives (P, len(lengths)); ``lengths`` is
    a static list (each length is its own shape).
    """
    if isinstance(loss, str):
        from ..train.losses import LOSSES  # imported here: see task_predict

        loss = LOSSES[loss]
    errors = []
    for seq_len in lengths:
        x, y = sample_at_length(int(seq_len))(key, batch)
        errors.append(loss(predict(params, x), y))
    return jnp.stack(errors)
