"""Multi-lag linear regression (Livi, "Learnability Window" and "Anti-Collapse").

    y_t = sum_k c_k u^T x_{t - l_k} + eps_t,   x_t ~ N(0, I_D),   eps_t ~ N(0, noise_std^2)

for t = 0..T-1, with x_{t - l} taken as 0 when t < l, a fresh eps_t at every
step, and one scalar output. ``u`` is a unit vector fixed by ``task_seed`` at
construction, so every sampler built with the same arguments poses the same
regression (every member of a trained population sees the same task); only
x and eps depend on the sampling key.

Two factories:

- :func:`multilag_regression`: a given lag list (default: the fixed lags of
  the learnability-window paper, {32, 64, 128, 192, 256} with coefficients
  {0.6, 0.5, 0.4, 0.32, 0.26}, T = 1024, D = 16, noise 0.3).
- :func:`pareto_multilag_regression`: K heavy-tailed lags from
  :func:`pareto_lags` (default: the anti-collapse configuration, K = 16,
  p(l) ~ l^{-1.6} on [8, 640], task seed 20260410, c_k = 0.6 * 0.85^k,
  T = 1280, D = 16, noise 0.3).

The lag drawing and the direction ``u`` use NumPy generators: they run once
per task construction, outside any traced code.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .base import Task
from ._common import (
    check_int,
    check_real,
    check_target,
    compiled_sampler,
    normal,
)

P2_LAGS = (32, 64, 128, 192, 256)
P2_COEFFS = (0.6, 0.5, 0.4, 0.32, 0.26)


# --------------------------------------------------------------------------
# Truncated Pareto lags
# --------------------------------------------------------------------------


def truncated_pareto_cdf(l, alpha: float, l_min: float, l_max: float) -> np.ndarray:
    """CDF of the density p(l) ~ l^{-(alpha+1)} on [l_min, l_max] (0 below, 1 above).

    F(l) = (l_min^{-alpha} - l^{-alpha}) / (l_min^{-alpha} - l_max^{-alpha}).
    """
    l = np.clip(np.asarray(l, dtype=np.float64), l_min, l_max)
    lo, hi = l_min ** (-alpha), l_max ** (-alpha)
    return (lo - l ** (-alpha)) / (lo - hi)


def truncated_pareto_icdf(u, alpha: float, l_min: float, l_max: float) -> np.ndarray:
    """Inverse of :func:`truncated_pareto_cdf` for u in [0, 1].

    l = (l_min^{-alpha} - u (l_min^{-alpha} - l_max^{-alpha}))^{-1/alpha}.
    """
    u = np.asarray(u, dtype=np.float64)
    lo, hi = l_min ** (-alpha), l_max ** (-alpha)
    return np.clip((lo - u * (lo - hi)) ** (-1.0 / alpha), l_min, l_max)


def pareto_lags(
    k: int = 16,
    alpha: float = 0.6,
    l_min: int = 8,
    l_max: int = 640,
    seed: int = 20260410,
    max_draws: int | None = None,
) -> tuple[int, ...]:
    """K distinct integer lags drawn from a truncated Pareto law; a pure function of its arguments.

    Procedure: draw ``max_draws`` values by inverse CDF from
    p(l) ~ l^{-(alpha+1)} on [l_min, l_max] with ``np.random.default_rng(seed)``,
    round each to the nearest integer, and keep the first K distinct values in
    draw order. If the draws hold fewer than K distinct values, top up from
    the integer grid round(linspace(l_min, l_max, K)), then (if still short)
    from the remaining integers of [l_min, l_max] in increasing order.

    Args:
        k: number of lags K, 1 <= K <= l_max - l_min + 1. Default 16.
        alpha: tail index a > 0 of p(l) ~ l^{-(a+1)}. Default 0.6.
        l_min: smallest lag, >= 1. Default 8.
        l_max: largest lag, > l_min. Default 640.
        seed: task seed. Default 20260410.
        max_draws: number of draws before topping up. Default 50 * K (our
            choice).

    Returns:
        The lags, sorted ascending.
    """
    l_min = check_int("l_min", l_min, low=1)
    l_max = check_int("l_max", l_max, low=l_min + 1)
    k = check_int("k", k, low=1, high=l_max - l_min + 1, bound="l_max - l_min + 1")
    alpha = check_real("alpha", alpha, low=0.0, strict=True)
    seed = check_int("seed", seed, low=0)
    max_draws = 50 * k if max_draws is None else check_int("max_draws", max_draws, low=0)

    rng = np.random.default_rng(seed)
    draws = np.rint(truncated_pareto_icdf(rng.uniform(size=max_draws), alpha, l_min, l_max))
    draws = draws.astype(np.int64)
    _, first_seen = np.unique(draws, return_index=True)
    chosen = [int(v) for v in draws[np.sort(first_seen)][:k]]

    if len(chosen) < k:
        taken = set(chosen)
        grid = np.rint(np.linspace(l_min, l_max, k)).astype(np.int64).tolist()
        for v in grid + list(range(l_min, l_max + 1)):
            if len(chosen) == k:
                break
            if v not in taken:
                taken.add(v)
                chosen.append(int(v))
    return tuple(sorted(chosen))


def geometric_coeffs(k: int, c0: float = 0.6, ratio: float = 0.85) -> tuple[float, ...]:
    """c_k = c0 * ratio^k for k = 0..K-1 (assigned to the lags in ascending order)."""
    return tuple(float(c0 * ratio**i) for i in range(k))


# --------------------------------------------------------------------------
# The regression task
# --------------------------------------------------------------------------


def task_direction(input_dim: int, task_seed: int) -> np.ndarray:
    """The unit read-in direction u (float32, shape (D,)) fixed by ``task_seed``.

    Drawn as a standard normal vector from ``np.random.default_rng([task_seed, 1])``
    (a stream distinct from the lag draws of the same seed), then normalised.
    """
    rng = np.random.default_rng([task_seed, 1])
    u = rng.standard_normal(input_dim)
    return (u / np.linalg.norm(u)).astype(np.float32)


def _regression_task(name, lags, coeffs, seq_len, input_dim, noise_std, task_seed, target) -> Task:
    # NumPy constants, embedded when the sampler is traced
    u = task_direction(input_dim, task_seed)
    lag_arr = np.asarray(lags, dtype=np.int64)
    coeff_arr = np.asarray(coeffs, dtype=np.float32)

    def draw(key: jax.Array, batch: int):
        kx, ke = jax.random.split(key)
        x = normal(kx, (seq_len, batch, input_dim), 1.0)
        # an elementwise product and sum, not a matmul, so that no reduced-
        # precision matmul mode can perturb the target
        proj = jnp.sum(x * u, axis=-1)  # (T, B)
        if target == "last":
            past = proj[seq_len - 1 - lag_arr]  # (K, B)
            y = jnp.sum(coeff_arr[:, None] * past, axis=0)[:, None]
            return x, y + normal(ke, (batch, 1), noise_std)
        y = jnp.zeros_like(proj)
        for lag, c in zip(lags, coeffs):  # static loop over the K lags
            y = y.at[lag:].add(jnp.float32(c) * proj[: seq_len - lag])
        return x, y[..., None] + normal(ke, (seq_len, batch, 1), noise_std)

    return Task(
        name=name,
        sample=compiled_sampler(draw),
        input_dim=input_dim,
        output_dim=1,
        seq_len=seq_len,
        target=target,
        loss="mse",
        lags=tuple(int(l) for l in lags),
    )


def multilag_regression(
    lags: Sequence[int] = P2_LAGS,
    coeffs: Sequence[float] = P2_COEFFS,
    seq_len: int = 1024,
    input_dim: int = 16,
    noise_std: float = 0.3,
    task_seed: int = 212,
    target: str = "every",
) -> Task:
    """Multi-lag regression with a given lag list.

    Args:
        lags: distinct lags l_k with 0 <= l_k < seq_len. Default
            (32, 64, 128, 192, 256).
        coeffs: one coefficient c_k per lag, in the same order. Default
            (0.6, 0.5, 0.4, 0.32, 0.26).
        seq_len: T. Default 1024.
        input_dim: D. Default 16.
        noise_std: sigma_eps >= 0. Default 0.3.
        task_seed: fixes u (see :func:`task_direction`). Default 212 (our
            choice, after the seed the paper's configuration lists for its
            task weights).
        target: ``"every"`` (the paper's setting) or ``"last"``. Default
            ``"every"``.

    Returns:
        A :class:`Task` named ``"multilag"``, MSE loss, ``lags`` as given.
    """
    seq_len = check_int("seq_len", seq_len, low=1)
    input_dim = check_int("input_dim", input_dim, low=1)
    noise_std = check_real("noise_std", noise_std, low=0.0)
    task_seed = check_int("task_seed", task_seed, low=0)
    target = check_target(target)
    try:
        lags = list(lags)
        coeffs = list(coeffs)
    except TypeError as err:
        raise ValueError(f"task.lags={lags!r}, task.coeffs={coeffs!r}: must be sequences") from err
    if not lags:
        raise ValueError("task.lags=(): must hold at least one lag")
    lags = tuple(
        check_int("lags", l, low=0, high=seq_len - 1, bound="seq_len - 1") for l in lags
    )
    if len(set(lags)) != len(lags):
        raise ValueError(f"task.lags={lags!r}: lags must be distinct")
    if len(coeffs) != len(lags):
        raise ValueError(
            f"task.coeffs={tuple(coeffs)!r}: needs one coefficient per lag ({len(lags)})"
        )
    coeffs = tuple(check_real("coeffs", c) for c in coeffs)
    return _regression_task("multilag", lags, coeffs, seq_len, input_dim, noise_std, task_seed, target)


def pareto_multilag_regression(
    k: int = 16,
    alpha: float = 0.6,
    l_min: int = 8,
    l_max: int = 640,
    c0: float = 0.6,
    ratio: float = 0.85,
    seq_len: int = 1280,
    input_dim: int = 16,
    noise_std: float = 0.3,
    task_seed: int = 20260410,
    target: str = "every",
) -> Task:
    """Multi-lag regression on K heavy-tailed lags.

    The lags are ``pareto_lags(k, alpha, l_min, l_max, seed=task_seed)``
    (sorted ascending) and the coefficients ``geometric_coeffs(k, c0, ratio)``,
    so the shortest lag gets c0 and each longer one a factor ``ratio`` less.
    The same ``task_seed`` also fixes u through :func:`task_direction`.

    Args:
        k: number of lags K. Default 16.
        alpha: tail index of p(l) ~ l^{-(alpha+1)}. Default 0.6.
        l_min: smallest possible lag. Default 8.
        l_max: largest possible lag, < seq_len. Default 640.
        c0: first coefficient. Default 0.6.
        ratio: coefficient decay per lag index. Default 0.85.
        seq_len: T. Default 1280.
        input_dim: D. Default 16.
        noise_std: sigma_eps >= 0. Default 0.3.
        task_seed: fixes the lags and u. Default 20260410 (the paper's task
            seed for the lags; using it for u as well is our choice).
        target: ``"every"`` (the paper's setting) or ``"last"``. Default
            ``"every"``.

    Returns:
        A :class:`Task` named ``"multilag_pareto"``, MSE loss, ``lags`` the
        drawn lags.
    """
    seq_len = check_int("seq_len", seq_len, low=1)
    l_max = check_int("l_max", l_max, high=seq_len - 1, bound="seq_len - 1")
    c0 = check_real("c0", c0)
    ratio = check_real("ratio", ratio)
    task_seed = check_int("task_seed", task_seed, low=0)
    lags = pareto_lags(k, alpha, l_min, l_max, seed=task_seed)
    coeffs = geometric_coeffs(len(lags), c0, ratio)
    input_dim = check_int("input_dim", input_dim, low=1)
    noise_std = check_real("noise_std", noise_std, low=0.0)
    target = check_target(target)
    return _regression_task(
        "multilag_pareto", lags, coeffs, seq_len, input_dim, noise_std, task_seed, target
    )
