"""Delayed recall: reproduce the input seen ``lag`` steps ago.

x_t ~ N(0, sigma^2 I_D) i.i.d. for t = 0..T-1 and y_t = x_{t - lag}, with
y_t = 0 for t < lag (nothing to recall yet). With ``target="last"`` only
y_{T-1} = x_{T-1-lag} is asked for. ``lags == (lag,)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .base import Task
from ._common import check_int, check_real, check_target, compiled_sampler, normal


def shift(x: jax.Array, lag: int) -> jax.Array:
    """x delayed by a static ``lag`` steps along axis 0, zero-filled at the start."""
    if lag == 0:
        return x
    pad = jnp.zeros((lag,) + x.shape[1:], x.dtype)
    return jnp.concatenate([pad, x[: x.shape[0] - lag]], axis=0)


def delayed_recall(
    lag: int = 10,
    seq_len: int = 50,
    input_dim: int = 1,
    sigma: float = 1.0,
    target: str = "every",
) -> Task:
    """Recall the input from ``lag`` steps earlier.

    Args:
        lag: the delay l, 0 <= l < seq_len. Default 10 (our choice).
        seq_len: T. Default 50 (our choice).
        input_dim: D; the whole input vector is recalled, so
            ``output_dim == input_dim``. Default 1 (our choice).
        sigma: standard deviation of the Gaussian inputs (the Gaussian law
            is our choice). Default 1.0.
        target: ``"every"`` or ``"last"``. Default ``"every"``.

    Returns:
        A :class:`Task` named ``"recall"``, MSE loss, ``lags == (lag,)``.
    """
    seq_len = check_int("seq_len", seq_len, low=1)
    lag = check_int("lag", lag, low=0, high=seq_len - 1, bound="seq_len - 1")
    input_dim = check_int("input_dim", input_dim, low=1)
    sigma = check_real("sigma", sigma, low=0.0, strict=True)
    target = check_target(target)

    def draw(key: jax.Array, batch: int):
        x = normal(key, (seq_len, batch, input_dim), sigma)
        if target == "last":
            return x, x[seq_len - 1 - lag]
        return x, shift(x, lag)

    return Task(
        name="recall",
        sample=compiled_sampler(draw),
        input_dim=input_dim,
        output_dim=input_dim,
        seq_len=seq_len,
        target=target,
        loss="mse",
        lags=(lag,),
    )
