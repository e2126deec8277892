"""Multisensory integration (Proca et al. 2025, section 3.6, App. L, P.4.3; digest 4.6).

Inputs with the statistics of neurogym's ``MultiSensoryIntegration``
environment (default settings: dt = 100 ms, sigma = 1, two ring units per
modality), without its fixation channel, generated here in JAX. Per trial:

- ground truth g uniform on {0, 1}, preferred angle theta_g with theta = (0, pi);
- coherence coh uniform on ``cohs`` (default {5, 15, 50}), split between the
  modalities by a fraction q ~ U[0, 1): coh_1 = coh q, coh_2 = coh (1 - q);
- at each stimulus step t, for modality m and ring unit j (channel 2m + j):

      x_{t, 2m + j} = cos(theta_j - theta_g) coh_m / 200 + 0.5 + eps_{t,2m+j},
      eps ~ N(0, (sigma / sqrt(dt))^2) i.i.d.,

  with dt in milliseconds, so the default noise std is 1 / sqrt(100) = 0.1.

Channels, in neurogym's order without the fixation unit: (modality 1 unit 0,
modality 1 unit 1, modality 2 unit 0, modality 2 unit 1).

Which trial periods form the sequence is a GAP (digest 4.6). OUR CHOICE: the
stimulus period only (the fixation period carries no stimulus and the
decision period is all zeros once the fixation channel is gone), with
``seq_len`` a parameter. Its default is 7 steps: neurogym floors each period
to whole steps, (750 ms // 100 ms) = 7.

Targets (N_y = N_x = 4, last step only, t = 1..T), all of the form
y = sum_t w_t x_t:

======  =============================  =========================
kind    target                         source
======  =============================  =========================
mean    y = (1/T) sum_t x_t            section 3.6, Fig. 6
sum     y = sum_t x_t                  section 3.6, Fig. 6
late    y = 0.1 sum_t t x_t            App. L, Fig. A8 (late importance)
early   y = sum_t x_t / t              App. L, Fig. A8 (early importance)
======  =============================  =========================

The inputs are not whitened (digest 4.6); ``sample`` draws fresh trials.
Every lag 0..T-1 carries a non-zero weight, so ``lags == tuple(range(T))``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .base import Task
from ._common import check_choice, check_int, check_real, compiled_sampler

KINDS = ("mean", "sum", "late", "early")
RING_ANGLES = (0.0, math.pi)  # neurogym: linspace(0, 2 pi, dim_ring + 1)[:-1] with dim_ring = 2


def target_weights(kind: str, seq_len: int) -> np.ndarray:
    """w_t, t = 1..T, with y = sum_t w_t x_t (float32, shape (T,)).

    mean: 1/T; sum: 1; late: 0.1 t; early: 1/t (section 3.6 and App. L of the paper).
    """
    t = np.arange(1, seq_len + 1, dtype=np.float64)
    if kind == "mean":
        w = np.full(seq_len, 1.0 / seq_len)
    elif kind == "sum":
        w = np.ones(seq_len)
    elif kind == "late":
        w = 0.1 * t
    elif kind == "early":
        w = 1.0 / t
    else:
        raise ValueError(f"task.kind={kind!r}: allowed {', '.join(map(repr, KINDS))}")
    return w.astype(np.float32)


def integrate_target(x: jax.Array, weights) -> jax.Array:
    """y = sum_t w_t x_t for time-major ``x`` (T, B, D): shape (B, D)."""
    return jnp.einsum("t,tbd->bd", jnp.asarray(weights, x.dtype), x)


def stimulus_mean(ground_truth: jax.Array, coh: jax.Array, fraction: jax.Array) -> jax.Array:
    """Noise-free stimulus, shape (B, 4): cos(theta_j - theta_g) coh_m / 200 + 0.5 (neurogym's formula).

    coh_1 = coh * fraction, coh_2 = coh * (1 - fraction); theta = (0, pi); channel 2m + j.
    """
    theta = jnp.asarray(RING_ANGLES, jnp.float32)
    tuning = jnp.cos(theta[None, :] - theta[ground_truth][:, None])  # (B, 2)
    coh_m = jnp.stack([coh * fraction, coh * (1.0 - fraction)], axis=1)  # (B, 2)
    stim = tuning[:, None, :] * (coh_m[:, :, None] / 200.0) + 0.5  # (B, modality, unit)
    return stim.reshape(stim.shape[0], 4).astype(jnp.float32)


def draw_trials(key: jax.Array, batch: int, seq_len: int, cohs, noise_std: float) -> jax.Array:
    """Stimulus-period inputs of ``batch`` fresh trials, shape (T, B, 4), float32.

    Per trial: g ~ U{0, 1}, coh ~ U(cohs), fraction ~ U[0, 1); per step and
    channel, i.i.d. N(0, noise_std^2) noise on top of :func:`stimulus_mean`.
    """
    k_g, k_c, k_q, k_n = jax.random.split(key, 4)
    cohs = jnp.asarray(cohs, jnp.float32)
    g = jax.random.randint(k_g, (batch,), 0, 2)
    coh = cohs[jax.random.randint(k_c, (batch,), 0, cohs.shape[0])]
    fraction = jax.random.uniform(k_q, (batch,), jnp.float32)
    noise = noise_std * jax.random.normal(k_n, (seq_len, batch, 4), jnp.float32)
    return stimulus_mean(g, coh, fraction)[None] + noise


def multisensory_integration(
    kind: str = "mean",
    seq_len: int = 7,
    sigma: float = 1.0,
    dt: float = 100.0,
    cohs=(5.0, 15.0, 50.0),
    target: str = "last",
) -> Task:
    """Integrate neurogym-style multisensory inputs over the stimulus period.

    Args:
        kind: ``"mean"``, ``"sum"``, ``"late"`` or ``"early"`` (module
            docstring). Default ``"mean"``.
        seq_len: T, the number of stimulus steps. Default 7 (neurogym's
            750 ms stimulus floored to 100 ms steps; the periods used are our
            choice, module docstring).
        sigma: neurogym's noise parameter; the per-step noise std is
            sigma / sqrt(dt). Default 1.0 (neurogym's default).
        dt: step length in milliseconds. Default 100.0 (neurogym's default).
        cohs: coherences drawn uniformly per trial (a number or a sequence).
            Default (5, 15, 50) (neurogym's).
        target: only ``"last"`` (the paper's targets are at the last step).

    Returns:
        A :class:`Task` named ``"sensory_integration"``, 4 inputs and outputs,
        MSE loss, ``lags == tuple(range(T))``.
    """
    kind = check_choice("kind", kind, KINDS)
    seq_len = check_int("seq_len", seq_len, low=1)
    sigma = check_real("sigma", sigma, low=0.0)
    dt = check_real("dt", dt, low=0.0, strict=True)
    target = check_choice("target", target, ("last",))
    coh_list = list(cohs) if isinstance(cohs, (tuple, list)) else [cohs]
    if not coh_list:
        raise ValueError(f"task.cohs={cohs!r}: needs at least one coherence")
    coh_list = [check_real("cohs", c) for c in coh_list]
    noise_std = sigma / math.sqrt(dt)
    weights = target_weights(kind, seq_len)

    def draw(key: jax.Array, batch: int):
        x = draw_trials(key, batch, seq_len, coh_list, noise_std)
        return x, integrate_target(x, weights)

    return Task(
        name="sensory_integration",
        sample=compiled_sampler(draw),
        input_dim=4,
        output_dim=4,
        seq_len=seq_len,
        target=target,
        loss="mse",
        lags=tuple(range(seq_len)),
    )
