"""Argument checks and small array helpers shared by the task families.

Every check raises ``ValueError`` whose message starts with
``task.<argument>=<value>``, so a bad configuration entry can be found from
the message alone.
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable

import jax
import jax.numpy as jnp

TARGETS = ("every", "last")


def _fmt(name: str, value) -> str:
    return f"task.{name}={value!r}"


def check_int(name: str, value, *, low: int | None = None, high: int | None = None,
              bound: str | None = None) -> int:
    """``value`` as a Python int with ``low <= value <= high``.

    ``bound`` describes ``high`` in the message (for example ``"seq_len - 1"``)
    when the upper limit comes from another argument.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{_fmt(name, value)}: must be an integer")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{_fmt(name, value)}: must be >= {low}")
    if high is not None and value > high:
        what = f"{bound} = {high}" if bound else str(high)
        raise ValueError(f"{_fmt(name, value)}: must be <= {what}")
    return value


def check_real(name: str, value, *, low: float | None = None, strict: bool = False) -> float:
    """``value`` as a finite float, ``> low`` when ``strict`` else ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{_fmt(name, value)}: must be a real number")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{_fmt(name, value)}: must be finite")
    if low is not None:
        if strict and not value > low:
            raise ValueError(f"{_fmt(name, value)}: must be > {low}")
        if not strict and not value >= low:
            raise ValueError(f"{_fmt(name, value)}: must be >= {low}")
    return value


def check_choice(name: str, value, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{_fmt(name, value)}: allowed {', '.join(map(repr, allowed))}")
    return value


def check_target(target) -> str:
    return check_choice("target", target, TARGETS)


def check_batch(batch) -> int:
    """The static batch size passed to ``sample``."""
    if isinstance(batch, bool) or not isinstance(batch, numbers.Integral) or batch < 1:
        raise ValueError(f"batch={batch!r}: must be a positive Python int (it fixes array shapes)")
    return int(batch)


def select_target(y_every: jax.Array, target: str) -> jax.Array:
    """(T, B, O) targets at every step -> the requested target layout."""
    return y_every if target == "every" else y_every[-1]


def normal(key: jax.Array, shape: tuple[int, ...], std: float) -> jax.Array:
    """float32 N(0, std^2) draws (float32 even when x64 is enabled)."""
    return std * jax.random.normal(key, shape, dtype=jnp.float32)


def compiled_sampler(draw):
    """Wrap ``draw(key, batch)`` as a jitted sampler with a static, checked batch.

    The returned function validates ``batch`` in Python, then calls one
    compiled program per batch size; inside an outer ``jit`` or ``vmap`` the
    inner ``jit`` is simply inlined.
    """
    jitted = jax.jit(draw, static_argnums=1)

    def sample(key: jax.Array, batch: int):
        return jitted(key, check_batch(batch))

    sample.__doc__ = draw.__doc__
    return sample
