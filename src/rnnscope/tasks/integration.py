"""White-noise integration (Bordelon, Cotler, Pehlevan and Zavatone-Veth).

The input is i.i.d. Gaussian noise, x_t ~ N(0, sigma^2 I_D), t = 0..T-1, and
the target is a causal linear filter of it, applied to each input channel
separately (so ``output_dim == input_dim``). The paper works in continuous
time with kernels g(s) = e^{-c s} (leaky integrator) and
g(s) = e^{-c s} cos(omega s) (damped oscillator). Here each input sample is
held constant over a step of length ``dt`` and the convolution integral
y(t) = int_0^t g(t - s) x(s) ds is taken by the rectangle rule at the step
ends:

    y_t = dt * sum_{k <= t} g((t - k) dt) x_k        (the step k = t included).

Kinds of target:

- ``"sum"``: g = 1, y_t = dt * sum_{k<=t} x_k (perfect integration; with the
  default dt = 1 the plain running sum).
- ``"mean"``: the running mean over the steps so far,
  y_t = (1 / (t + 1)) * sum_{k<=t} x_k (dt cancels). For ``target="last"``
  this equals the 1/T-scaled sum.
- ``"leaky"``: g(s) = e^{-c s}, computed exactly (no further approximation)
  by the recursion y_t = e^{-c dt} y_{t-1} + dt x_t. With c = 0 it is ``"sum"``.
- ``"oscillator"``: g(s) = e^{-c s} cos(omega s), computed exactly as
  y_t = Re z_t with z_t = e^{(-c + i omega) dt} z_{t-1} + dt x_t.

The recursions run as a parallel ``lax.associative_scan`` over time.

To pair the task with a continuous-time model integrated with Euler step
``dt``, use the same ``dt`` here; ``sigma = 1 / sqrt(dt)`` then makes the
input the step average of unit-intensity white noise, the paper's input.

Lags: the target depends on the whole past with a smooth kernel, not on a
finite lag list, so ``lags == ()`` for every kind.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .base import Task
from ._common import (
    check_choice,
    check_int,
    check_real,
    check_target,
    compiled_sampler,
    normal,
    select_target,
)

KINDS = ("sum", "mean", "leaky", "oscillator")


def _linear_recurrence(a, b: jax.Array) -> jax.Array:
    """z_t = a z_{t-1} + b_t along axis 0 with z_{-1} = 0, for a constant ``a``.

    Computed with an associative scan over pairs (a_t, b_t) composed as
    (a1, b1) then (a2, b2) -> (a1 a2, a2 b1 + b2).
    """
    coef = jnp.full(b.shape, a, dtype=b.dtype)

    def compose(first, second):
        a1, b1 = first
        a2, b2 = second
        return a1 * a2, a2 * b1 + b2

    _, z = jax.lax.associative_scan(compose, (coef, b), axis=0)
    return z


def integrate(x: jax.Array, kind: str, c: float, omega: float, dt: float) -> jax.Array:
    """The every-step target for input ``x`` of shape (T, B, D)."""
    if kind == "sum":
        return dt * jnp.cumsum(x, axis=0)
    if kind == "mean":
        steps = jnp.arange(1, x.shape[0] + 1, dtype=x.dtype).reshape(-1, 1, 1)
        return jnp.cumsum(x, axis=0) / steps
    if kind == "leaky":
        return _linear_recurrence(jnp.float32(math.exp(-c * dt)), dt * x)
    if kind == "oscillator":
        a = jnp.complex64(complex(math.exp(-c * dt) * math.cos(omega * dt),
                                  math.exp(-c * dt) * math.sin(omega * dt)))
        z = _linear_recurrence(a, (dt * x).astype(jnp.complex64))
        return jnp.real(z).astype(jnp.float32)
    raise ValueError(f"task.kind={kind!r}: allowed {', '.join(map(repr, KINDS))}")


def white_noise_integration(
    kind: str = "leaky",
    seq_len: int = 100,
    input_dim: int = 1,
    sigma: float = 1.0,
    c: float = 0.2,
    omega: float = 1.0,
    dt: float = 1.0,
    target: str = "every",
) -> Task:
    """Integrate i.i.d. Gaussian noise with a sum, mean, leaky or oscillator kernel.

    Args:
        kind: ``"sum"``, ``"mean"``, ``"leaky"`` or ``"oscillator"`` (see the
            module docstring). Default ``"leaky"``, the paper's main target.
        seq_len: T, number of steps. Default 100 (our choice).
        input_dim: D, number of independent noise channels; each is
            integrated separately. Default 1 (the paper's scalar input).
        sigma: standard deviation of each input sample. Default 1.0 (the
            paper assumes unit-intensity noise; the discrete scale is our
            choice).
        c: decay rate of the leaky and oscillator kernels (per unit time),
            c >= 0; ignored by ``"sum"`` and ``"mean"``. Default 0.2 (our
            choice; the paper sweeps it).
        omega: angular frequency of the oscillator kernel (per unit time);
            ignored by the other kinds. Default 1.0 (our choice).
        dt: time step of the discretisation, > 0. Default 1.0 (our choice:
            one unit of time per step).
        target: ``"every"`` (a target at each step) or ``"last"``.
            Default ``"every"``.

    Returns:
        A :class:`Task` named ``"integration"``, MSE loss, ``lags == ()``.
    """
    kind = check_choice("kind", kind, KINDS)
    seq_len = check_int("seq_len", seq_len, low=1)
    input_dim = check_int("input_dim", input_dim, low=1)
    sigma = check_real("sigma", sigma, low=0.0, strict=True)
    c = check_real("c", c, low=0.0)
    omega = check_real("omega", omega)
    dt = check_real("dt", dt, low=0.0, strict=True)
    target = check_target(target)

    def draw(key: jax.Array, batch: int):
        x = normal(key, (seq_len, batch, input_dim), sigma)
        y = integrate(x, kind, c, omega, dt)
        return x, select_target(y, target)

    return Task(
        name="integration",
        sample=compiled_sampler(draw),
        input_dim=input_dim,
        output_dim=input_dim,
        seq_len=seq_len,
        target=target,
        loss="mse",
        lags=(),
    )
