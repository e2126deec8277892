"""Noisy Bengio latch (Bengio et al. 1994; Johnston et al. replication design).

A class c in {-1, +1} is drawn with probability 1/2 per sequence. For steps
1..L (0-based t < L) the input is x_t = c mu + xi_t, afterwards x_t = xi_t,
with xi_t ~ N(0, s^2 I_D) i.i.d. The target, at the last step T only, is the
label (c + 1) / 2 in {0, 1}, scored with the logistic loss on a logit
readout. The bit must be carried over ``lags == (T - L,)`` steps of noise.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .base import Task
from ._common import check_int, check_real, compiled_sampler, normal


def noisy_latch(
    seq_len: int = 51,
    prefix_len: int = 1,
    mu: float = 1.0,
    noise_std: float = 0.2,
    input_dim: int = 1,
) -> Task:
    """Carry one bit, set by an informative prefix, through noise.

    Args:
        seq_len: T. Default 51, a lag of 50 with the default prefix (our
            choice).
        prefix_len: L, the number of informative steps, 1 <= L <= T.
            Default 1 (our choice).
        mu: class mean magnitude. Default 1.0 (our choice).
        noise_std: s >= 0, the noise standard deviation at every step.
            Default 0.2 (our choice).
        input_dim: D; the class mean c mu is added to every channel.
            Default 1 (our choice).

    Returns:
        A :class:`Task` named ``"latch"``: output_dim 1, ``target == "last"``,
        logistic loss, ``lags == (T - L,)``.
    """
    seq_len = check_int("seq_len", seq_len, low=1)
    prefix_len = check_int("prefix_len", prefix_len, low=1, high=seq_len, bound="seq_len")
    mu = check_real("mu", mu)
    noise_std = check_real("noise_std", noise_std, low=0.0)
    input_dim = check_int("input_dim", input_dim, low=1)

    def draw(key: jax.Array, batch: int):
        kc, kn = jax.random.split(key)
        label = jax.random.bernoulli(kc, 0.5, (batch,)).astype(jnp.float32)
        c = 2.0 * label - 1.0
        informative = (jnp.arange(seq_len) < prefix_len).astype(jnp.float32)
        mean = (mu * informative)[:, None, None] * c[None, :, None]
        x = mean + normal(kn, (seq_len, batch, input_dim), noise_std)
        return x, label[:, None]

    return Task(
        name="latch",
        sample=compiled_sampler(draw),
        input_dim=input_dim,
        output_dim=1,
        seq_len=seq_len,
        target="last",
        loss="logistic",
        lags=(seq_len - prefix_len,),
    )
