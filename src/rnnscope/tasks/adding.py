"""The adding problem (Hochreiter and Schmidhuber; recommended in the Johnston et al. replication design).

Two input channels per step t = 0..T-1:

- channel 0: values v_t ~ U(0, 1) i.i.d.;
- channel 1: markers, exactly two ones per sequence. The first marker sits
  at a position p1 drawn uniformly from the first window (the positions
  t < first_window * T, at least one position), the second at a position
  p2 != p1 drawn uniformly from the second window (t < second_window * T).

The target, at the last step only, is v_{p1} + v_{p2}; the loss is MSE.
Predicting the constant 1.0 gives MSE 1/6 ~ 0.167, the baseline to beat.

Lags: the relevant lags differ from sequence to sequence, so the task
reports one number, ``lags == (T - n1,)`` with n1 the size of the first
window: the shortest distance from any possible first-marker position to the
readout step T - 1. Every sequence needs its first marked value carried at
least that many steps.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .base import Task
from ._common import check_int, check_real, compiled_sampler


def window_size(frac: float, seq_len: int) -> int:
    """Number of positions t = 0, 1, ... with t < frac * seq_len (at least 1)."""
    return max(1, math.ceil(round(frac * seq_len, 9)))


def adding_problem(
    seq_len: int = 100,
    first_window: float = 0.1,
    second_window: float = 0.5,
) -> Task:
    """The two-marker adding problem with a last-step target.

    Args:
        seq_len: T; the second window must hold at least two positions
            (T >= 3 with the default windows). Default 100 (our choice).
        first_window: fraction of the sequence, from its start, that holds
            the first marker; 0 < first_window <= second_window. Default 0.1
            (the first 10%).
        second_window: fraction of the sequence, from its start, that holds
            the second marker; second_window <= 1. Default 0.5 (the first
            half).

    Returns:
        A :class:`Task` named ``"adding"``: input_dim 2, output_dim 1,
        ``target == "last"``, MSE loss, ``lags == (T - n1,)``.
    """
    seq_len = check_int("seq_len", seq_len, low=2)
    first_window = check_real("first_window", first_window, low=0.0, strict=True)
    second_window = check_real("second_window", second_window, low=0.0, strict=True)
    if not first_window <= second_window <= 1.0:
        raise ValueError(
            f"task.first_window={first_window!r}, task.second_window={second_window!r}: "
            "need 0 < first_window <= second_window <= 1"
        )
    n1 = window_size(first_window, seq_len)
    n2 = window_size(second_window, seq_len)
    if n2 < 2:
        raise ValueError(
            f"task.seq_len={seq_len!r}: the second window "
            f"(second_window={second_window!r}) holds {n2} position(s); two markers need 2"
        )

    def draw(key: jax.Array, batch: int):
        kv, kp = jax.random.split(key)
        values = jax.random.uniform(kv, (seq_len, batch), dtype=jnp.float32)
        # row 0: p1 uniform on {0..n1-1}; row 1: q uniform on {0..n2-2}
        p1, q = jax.random.randint(kp, (2, batch), 0, jnp.array([[n1], [n2 - 1]]))
        p2 = q + (q >= p1)  # uniform on {0..n2-1} without p1 (p1 < n1 <= n2)
        t = jnp.arange(seq_len)[:, None]
        markers = ((t == p1[None, :]) | (t == p2[None, :])).astype(jnp.float32)
        x = jnp.stack([values, markers], axis=-1)
        y = jnp.sum(values * markers, axis=0)[:, None]
        return x, y

    return Task(
        name="adding",
        sample=compiled_sampler(draw),
        input_dim=2,
        output_dim=1,
        seq_len=seq_len,
        target="last",
        loss="mse",
        lags=(seq_len - n1,),
        baseline_loss=1.0 / 6.0,  # Var(v1 + v2) = 2/12: the MSE of always predicting the mean 1.0
    )
