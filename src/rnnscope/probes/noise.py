"""Samples of the noise that drives training, recorded for the tail-index estimators.

Livi 2026 (digest papers/livi.md, section 6) measures how heavy-tailed the
learning noise is in two ways, and these probes collect the samples each
needs; the estimators themselves (``rnnscope.analysis.alpha``) run on the
recorded arrays after training:

- ``grad_projections`` (K, n): projections <g_b, w_k> of n fresh mini-batch
  gradients g_b on K fixed random unit directions w_k, centred per
  direction (section 6.1), for ``alpha.multi_direction_alpha``;
- ``slow_row_updates`` (buffer,): the realised parameter increments of the
  slow rows since the last record (section 6.3), NaN where the buffer is
  not filled, for ``alpha.calibrated_tail_alpha``. The engine keeps the
  buffer (``TrainConfig.update_buffer``).

Both are pure JAX, so they run in the sharded training program on any
device.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .basic import Probe, ProbeContext

#: Directions K and mini-batches n of the gradient projections (our choice for the
#: in-training probe: 8 x 64 = 512 pooled samples clear the estimator's 500-sample
#: guard; Livi's defaults are 5 x 256 and the full profile 16 x 128).
GRAD_DIRECTIONS = 8
GRAD_BATCHES = 64
#: Seed of direction k is DIRECTION_SEED + k (Livi's w_seed = 1000 + seed; the
#: directions here are shared by all members, our choice, so that members of one
#: architecture are compared along the same directions).
DIRECTION_SEED = 1000


def random_directions(n_params: int, k: int = GRAD_DIRECTIONS, seed: int = DIRECTION_SEED) -> jax.Array:
    """K unit vectors in R^n_params, isotropic: w_k = z_k / |z_k|, z_k ~ N(0, I), key ``seed + k``."""
    z = jnp.stack([jax.random.normal(jax.random.PRNGKey(seed + i), (n_params,)) for i in range(k)])
    return z / jnp.linalg.norm(z, axis=1, keepdims=True)


def gradient_projections(ctx: ProbeContext, k: int = GRAD_DIRECTIONS, n: int = GRAD_BATCHES) -> jax.Array:
    """Centred projections x_kb = <g_b, w_k> - mean_b <g_b, w_k>, shape (K, n).

    g_b is the gradient of the training loss on mini-batch b (a fresh draw of
    the run's batch size, clipped and winsorised as the current optimiser
    does), w_k a fixed random unit direction in the space of trained
    parameters (Livi 2026, digest section 6.1, steps 1-2). Mini-batches are
    evaluated one after another, so memory does not grow with n.
    """
    keys = jax.random.split(ctx.key, n)

    def flat_grad(key):
        return ravel_pytree(ctx.minibatch_grad(key))[0]

    n_params = jax.eval_shape(flat_grad, keys[0]).shape[0]
    directions = random_directions(n_params, k)
    x = jax.lax.map(lambda key: directions @ flat_grad(key), keys).T
    return x - jnp.mean(x, axis=1, keepdims=True)


def slow_row_updates(ctx: ProbeContext) -> jax.Array:
    """The slow-row parameter increments buffered since the last record (NaN-padded).

    Livi 2026 (digest section 6.3): post-step increments of the rows of every
    H-leading tensor that belong to the 10% of units with the longest time
    scale, chosen afresh at every record. A single NaN unless the run sets
    ``TrainConfig.update_buffer``.
    """
    if ctx.update_buffer is None:
        return jnp.full((1,), jnp.nan, jnp.float32)
    return ctx.update_buffer


def noise_probes() -> dict[str, Probe]:
    return {
        "grad_projections": Probe("grad_projections", gradient_projections, (GRAD_DIRECTIONS, GRAD_BATCHES)),
        "slow_row_updates": Probe("slow_row_updates", slow_row_updates),
    }
