"""Forcing controls as optax gradient transformations.

Livi 2026 (section 6.4 of the digest) varies the heavy-tailed forcing of
training in three ways: global-norm clipping, element-wise winsorisation of
the gradient at a percentile of |g|, and injection of symmetric alpha-stable
noise. Each control here is an ``optax.GradientTransformation`` (a pure
``(init, update)`` pair), so it composes with every optax optimiser through
``optax.chain``. Their hyper-parameters are used only through array
arithmetic, so they may be traced values that differ between population
members (``optax.inject_hyperparams`` stores them in the optimiser state; see
``rnnscope.optim.make_optimizer``).

Norm clipping is ``optax.clip_by_global_norm`` itself (Pascanu et al. 2013);
a level of ``+inf`` switches it off exactly (the comparison ``norm < inf``
selects the untouched updates).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from rnnscope.optim.stable import symmetric_stable

#: Soft taper applied to every stable draw: X -> TAPER * tanh(X / TAPER).
TAPER = 100.0


def winsorize(percentile) -> optax.GradientTransformation:
    """Clip every entry at a percentile of |g| taken over all parameters.

    The threshold c is the ``percentile``-th percentile (linear
    interpolation, as ``numpy.percentile``) of the absolute values of all
    entries of all leaves pooled together; every entry is then clipped to
    [-c, c]. Entries with |g| <= c pass untouched, so the transformation
    lowers only the largest entries and preserves signs. A percentile
    >= 100 is an exact no-op (the updates pass through unchanged).

    This is the winsorisation ablation of Livi 2026 (section 6.4 of the
    digest: 95th/90th/80th percentile of |g| over all parameters, applied
    element-wise), meant to push the tail index of the gradient noise toward
    the Gaussian value 2.

    Args:
        percentile: in [0, 100]; values >= 100 switch it off. May be a traced
            scalar (one value per population member under ``jax.vmap``).

    Returns:
        An ``optax.GradientTransformation`` with an empty state.
    """

    def init_fn(params):
        del params
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        del params
        leaves = jax.tree.leaves(updates)
        if not leaves:
            return updates, state
        pooled = jnp.concatenate([jnp.abs(leaf).ravel() for leaf in leaves])
        p = jnp.asarray(percentile, pooled.dtype)
        threshold = jnp.percentile(pooled, jnp.clip(p, 0, 100))
        off = p >= 100

        def clip(g):
            c = threshold.astype(g.dtype)
            return jnp.where(off, g, jnp.clip(g, -c, c))

        return jax.tree.map(clip, updates), state

    return optax.GradientTransformation(init_fn, update_fn)


def stable_noise_like(key, base, alpha, scale):
    """Alpha-stable noise shaped like ``base``, scaled by its RMS.

    For every leaf b of the pytree ``base`` this returns
    ``scale * RMS(b) * T(X)``, with X an array of independent standard
    symmetric alpha-stable draws (``symmetric_stable``) of b's shape and
    ``T(X) = 100 tanh(X / 100)`` the soft taper of Livi 2026, which leaves
    the bulk of the law untouched and bounds the rare enormous draws.

    The RMS is taken per leaf (per parameter tensor): our choice, since the
    source states only "m times the RMS of the base quantity". The same
    function serves the "state" noise mode, where the trainer perturbs
    hidden-state increments.

    Args:
        key: PRNG key (split once per leaf).
        base: pytree of arrays.
        alpha: tail index in (0, 2], scalar, may be traced.
        scale: multiplier m >= 0, scalar, may be traced.

    Returns:
        A pytree like ``base``.
    """
    leaves, treedef = jax.tree.flatten(base)
    keys = jax.random.split(key, max(len(leaves), 1))
    out = []
    for k, b in zip(keys, leaves):
        b = jnp.asarray(b)
        x = symmetric_stable(k, alpha, b.shape, b.dtype)
        x = TAPER * jnp.tanh(x / TAPER)
        rms = jnp.sqrt(jnp.mean(jnp.square(b)))
        out.append(jnp.asarray(scale, b.dtype) * rms * x)
    return jax.tree.unflatten(treedef, out)


class StableNoiseState(NamedTuple):
    """State of ``add_stable_noise``: the PRNG key of the next draw."""

    noise_key: jax.Array


def add_stable_noise(alpha, scale, seed_key=0) -> optax.GradientTransformation:
    """Add RMS-scaled symmetric alpha-stable noise to every entry.

    Each call replaces every leaf u of the incoming updates by
    ``u + scale * RMS(u) * 100 tanh(X / 100)``, X standard symmetric
    alpha-stable (Chambers-Mallows-Stuck sampler), independent per element
    (see ``stable_noise_like``). This is the injection ("Path A") of Livi
    2026: placed after the base optimiser it perturbs the parameter update
    ("update" mode), placed before it the clipped gradient ("gradient"
    mode).

    The PRNG key lives in the state and is split on every call, so a run is
    reproducible from the key alone and no two steps share draws. A scale
    of 0 is an exact no-op on the updates (the key is still advanced).

    Args:
        alpha: tail index in (0, 2]; may be traced.
        scale: multiplier m >= 0 of the RMS; may be traced.
        seed_key: a PRNG key, or an int seed for ``jax.random.PRNGKey``; the
            key of the first draw comes from it.

    Returns:
        An ``optax.GradientTransformation`` whose state is a
        ``StableNoiseState``.
    """

    def init_fn(params):
        del params
        key = seed_key
        if isinstance(key, int):
            key = jax.random.PRNGKey(key)
        elif not isinstance(key, jax.Array):
            key = jnp.asarray(key)
        return StableNoiseState(noise_key=key)

    def update_fn(updates, state, params=None):
        del params
        key, sub = jax.random.split(state.noise_key)
        noise = stable_noise_like(sub, updates, alpha, scale)
        off = jnp.asarray(scale) == 0
        updates = jax.tree.map(
            lambda u, n: jnp.where(off, u, u + n), updates, noise
        )
        return updates, StableNoiseState(noise_key=key)

    return optax.GradientTransformation(init_fn, update_fn)
