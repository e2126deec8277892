"""Optimisers with per-member hyper-parameters and forcing controls.

``make_optimizer(cfg)`` builds one ``optax.GradientTransformation`` for a
whole population::

    clip_by_global_norm -> winsorize -> [stable noise, "gradient" mode]
        -> base optimiser -> [stable noise, "update" mode]

wrapped in ``optax.inject_hyperparams``, so the five per-member
hyper-parameters ``learning_rate``, ``clip_norm``, ``winsor_percentile``,
``noise_alpha`` and ``noise_scale`` are arrays in the optimiser state
(``state.hyperparams``) rather than Python constants. ``init_member`` sets
them, and the member's noise key, for one member; under ``jax.vmap`` it
initialises a whole population whose members differ in these values, and one
compiled update serves the grid::

    opt = make_optimizer(OptimizerConfig(name="adam"))
    hp = {"lr": jnp.array([1e-3, 3e-3, 1e-2])}
    keys = jax.random.split(key, 3)
    states = jax.vmap(lambda h, k: init_member(opt, params, h, k))(hp, keys)
    updates, states = jax.vmap(opt.update)(grads, states, params_batched)

Switches (all exact no-ops when off, the defaults):

- clipping: ``clip_norm = +inf`` is off (any positive finite value clips;
  non-positive values are not meaningful and must not be used);
- winsorisation: ``winsor_percentile >= 100`` is off;
- noise: ``noise_scale = 0`` is off; ``noise_mode = "none"`` leaves the noise
  transformation out of the chain altogether.

The structural choices (which base optimiser, the noise mode, b1/b2/eps,
momentum, weight decay) are static fields of ``OptimizerConfig``: a
population shares them.

In the ``"state"`` noise mode (noise on hidden-state increments, Livi 2026)
nothing is added here: the trainer perturbs the states with
``stable_noise_like`` / ``symmetric_stable``, reading ``noise_alpha`` and
``noise_scale`` from ``state.hyperparams`` so that they stay per member.

``second_moment(state)`` exposes Adam/AdamW/RMSprop's second-moment
estimate for probes (the effective learning rate eta / (sqrt(v) + eps)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import optax

from rnnscope.optim.stable import symmetric_stable
from rnnscope.optim.transforms import (
    TAPER,
    StableNoiseState,
    add_stable_noise,
    stable_noise_like,
    winsorize,
)

__all__ = [
    "HP_KEYS",
    "NAMES",
    "NOISE_MODES",
    "OptimizerConfig",
    "StableNoiseState",
    "TAPER",
    "add_stable_noise",
    "bias_corrected_second_moment",
    "forcing_controls",
    "init_member",
    "learning_rate",
    "make_optimizer",
    "second_moment",
    "set_noise_key",
    "stable_noise_like",
    "symmetric_stable",
    "winsorize",
]

#: Base optimisers understood by ``make_optimizer``.
NAMES = ("sgd", "momentum", "adam", "adamw", "rmsprop")
#: Where alpha-stable noise is injected ("state" is applied by the trainer).
NOISE_MODES = ("none", "update", "gradient", "state")
#: Keys of the per-member ``hp`` dict of ``init_member`` and the
#: hyper-parameter each sets in ``state.hyperparams``.
HP_KEYS = {
    "lr": "learning_rate",
    "clip": "clip_norm",
    "winsor": "winsor_percentile",
    "noise_alpha": "noise_alpha",
    "noise_scale": "noise_scale",
}


@dataclass(frozen=True)
class OptimizerConfig:
    """Static description of a population's optimiser.

    The last five fields are only *defaults* of the per-member
    hyper-parameters: ``init_member`` overrides them member by member.

    Attributes:
        name: base optimiser, one of ``NAMES``: ``"sgd"`` (plain),
            ``"momentum"`` (heavy-ball SGD), ``"adam"``, ``"adamw"``
            (decoupled weight decay, as torch's AdamW) or ``"rmsprop"``
            (optax's ``rmsprop``: eps inside the square root, no bias
            correction).
        momentum: momentum coefficient of ``"momentum"``.
        weight_decay: decoupled weight decay of ``"adamw"`` (the default
            1e-4 is Livi 2026's).
        b1, b2, eps: Adam/AdamW moment decays and epsilon (optax defaults);
            ``eps`` is also RMSprop's.
        decay: RMSprop's square-average decay (optax default).
        noise_mode: one of ``NOISE_MODES``: ``"none"``, ``"update"`` (noise
            added to the base optimiser's update; the mode Livi's newest
            code treats as the reference), ``"gradient"`` (added to the
            clipped, winsorised gradient) or ``"state"`` (added to
            hidden-state increments by the trainer; nothing in the chain).
        use_winsor: include the winsorisation step in the chain. It sorts
            every gradient entry, so a population that never winsorises
            (every percentile >= 100) leaves it out; the per-member
            percentile is only read when this is on.
        learning_rate: default learning rate (Livi 2026's AdamW default).
        clip_norm: default global-norm clip level; ``inf`` is off.
        winsor_percentile: default winsorisation percentile; >= 100 is off.
        noise_alpha: default injected tail index (1.6, the value of Livi's
            launcher; the source leaves the paper's value open, so this is
            our choice).
        noise_scale: default noise multiplier m of the RMS; 0 is off.
    """

    name: str = "adamw"
    momentum: float = 0.9
    weight_decay: float = 1e-4
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    decay: float = 0.9
    noise_mode: str = "none"
    use_winsor: bool = False
    learning_rate: float = 1e-3
    clip_norm: float = math.inf
    winsor_percentile: float = 100.0
    noise_alpha: float = 1.6
    noise_scale: float = 0.0

    def __post_init__(self):
        if self.name not in NAMES:
            raise ValueError(
                f"OptimizerConfig.name={self.name!r}: expected one of {NAMES}"
            )
        if self.noise_mode not in NOISE_MODES:
            raise ValueError(
                f"OptimizerConfig.noise_mode={self.noise_mode!r}: expected one "
                f"of {NOISE_MODES}"
            )


def _base_optimizer(cfg: OptimizerConfig, learning_rate):
    if cfg.name == "sgd":
        return optax.sgd(learning_rate)
    if cfg.name == "momentum":
        return optax.sgd(learning_rate, momentum=cfg.momentum)
    if cfg.name == "adam":
        return optax.adam(learning_rate, b1=cfg.b1, b2=cfg.b2, eps=cfg.eps)
    if cfg.name == "adamw":
        return optax.adamw(
            learning_rate,
            b1=cfg.b1,
            b2=cfg.b2,
            eps=cfg.eps,
            weight_decay=cfg.weight_decay,
        )
    return optax.rmsprop(learning_rate, decay=cfg.decay, eps=cfg.eps)


def make_optimizer(cfg: OptimizerConfig) -> optax.GradientTransformation:
    """Build the population optimiser described by ``cfg``.

    The chain is ``clip_by_global_norm(clip_norm) -> winsorize(
    winsor_percentile) -> [add_stable_noise, if noise_mode == "gradient"] ->
    base optimiser(learning_rate) -> [add_stable_noise, if noise_mode ==
    "update"]``, wrapped in ``optax.inject_hyperparams`` so that the five
    numeric hyper-parameters live in ``state.hyperparams`` and may differ
    per member (set them with ``init_member``). Every piece is an optax
    ``GradientTransformation``.

    ``update`` takes ``(grads, state, params)``; ``params`` is required for
    ``"adamw"`` (weight decay).

    Args:
        cfg: the static configuration.

    Returns:
        An ``optax.GradientTransformationExtraArgs`` (a
        ``GradientTransformation``).
    """

    def chain(learning_rate, clip_norm, winsor_percentile, noise_alpha, noise_scale):
        parts = [optax.clip_by_global_norm(clip_norm)]
        if cfg.use_winsor:
            parts.append(winsorize(winsor_percentile))
        if cfg.noise_mode == "gradient":
            parts.append(add_stable_noise(noise_alpha, noise_scale, 0))
        parts.append(_base_optimizer(cfg, learning_rate))
        if cfg.noise_mode == "update":
            parts.append(add_stable_noise(noise_alpha, noise_scale, 0))
        return optax.chain(*parts)

    return optax.inject_hyperparams(chain)(
        learning_rate=cfg.learning_rate,
        clip_norm=cfg.clip_norm,
        winsor_percentile=cfg.winsor_percentile,
        noise_alpha=cfg.noise_alpha,
        noise_scale=cfg.noise_scale,
    )


def _is_noise_state(x) -> bool:
    return isinstance(x, StableNoiseState)


def set_noise_key(state, key):
    """Return ``state`` with the key of every ``add_stable_noise`` replaced.

    A state without a noise transformation is returned unchanged.
    """
    return jax.tree.map(
        lambda s: s._replace(noise_key=key) if _is_noise_state(s) else s,
        state,
        is_leaf=_is_noise_state,
    )


def init_member(opt, params, hp: dict[str, Any] | None = None, key=None):
    """Initialise the optimiser state of ONE population member.

    Calls ``opt.init(params)``, then sets the member's hyper-parameters from
    ``hp`` and its noise PRNG key from ``key``. Written for ``jax.vmap``:
    batch ``hp``'s values and ``key`` over members (``params`` may be
    batched or shared) and one call initialises the population.

    Args:
        opt: an optimiser from ``make_optimizer``.
        params: the member's parameter pytree.
        hp: dict of scalar (possibly traced) per-member values with keys among
            ``HP_KEYS``: ``lr`` (learning rate), ``clip`` (global-norm clip
            level, ``inf`` is off), ``winsor`` (percentile, >= 100 is off),
            ``noise_alpha`` (tail index in (0, 2]) and ``noise_scale`` (0 is
            off). A missing key keeps the default of the optimiser's
            ``OptimizerConfig`` (by default: clip, winsorisation and noise
            off).
        key: PRNG key of the member's injected noise; ``None`` keeps the
            default (seed 0). Ignored when the chain holds no noise.

    Returns:
        The member's optimiser state.

    Raises:
        ValueError: on a key of ``hp`` not in ``HP_KEYS``.
    """
    state = opt.init(params)
    hp = dict(hp or {})
    unknown = sorted(set(hp) - set(HP_KEYS))
    if unknown:
        raise ValueError(
            f"init_member: unknown hyper-parameter(s) {unknown}; allowed: "
            f"{sorted(HP_KEYS)}"
        )
    hyperparams = dict(state.hyperparams)
    for short, value in hp.items():
        name = HP_KEYS[short]
        old = hyperparams[name]
        hyperparams[name] = jnp.reshape(jnp.asarray(value, old.dtype), ())
    state = state._replace(hyperparams=hyperparams)
    if key is not None:
        state = set_noise_key(state, key)
    return state


_SECOND_MOMENT_STATES = (optax.ScaleByAdamState, optax.ScaleByRmsState)


def _is_second_moment_state(x) -> bool:
    return isinstance(x, _SECOND_MOMENT_STATES)


def _second_moment_state(state):
    found = [
        s
        for s in jax.tree.leaves(state, is_leaf=_is_second_moment_state)
        if _is_second_moment_state(s)
    ]
    return found[0] if found else None


def second_moment(state):
    """The second-moment pytree of an optimiser state, or ``None``.

    Adam and AdamW: ``nu``, the raw exponential average of squared gradients
    (not bias-corrected; see ``bias_corrected_second_moment``). RMSprop: its
    square average ``nu``. SGD and momentum: ``None``. The pytree has the
    structure of the parameters (with a leading member axis when the state
    is batched).
    """
    s = _second_moment_state(state)
    return None if s is None else s.nu


def bias_corrected_second_moment(state, cfg: OptimizerConfig):
    """Second moment as the update uses it: Adam's v-hat, RMSprop's nu.

    For Adam/AdamW this is ``nu / (1 - b2**count)`` with the step count kept
    in the Adam state (``nu`` itself, all zeros, before the first step); for
    RMSprop (optax's, without bias correction) it is ``nu``; for SGD and
    momentum ``None``. Works on a batched state (the count carries the
    member axis).
    """
    s = _second_moment_state(state)
    if s is None:
        return None
    if not isinstance(s, optax.ScaleByAdamState):
        return s.nu
    count = s.count

    def correct(nu):
        # same arithmetic as optax's bias correction, with the count
        # broadcast against a possible leading member axis
        c = jnp.reshape(count, count.shape + (1,) * (nu.ndim - count.ndim))
        denom = 1 - cfg.b2**c
        safe = jnp.where(c > 0, denom, 1).astype(nu.dtype)
        return jnp.where(c > 0, nu / safe, nu)

    return jax.tree.map(correct, s.nu)


def forcing_controls(grads, state, cfg: OptimizerConfig):
    """``grads`` after the member's clipping and winsorisation, as its optimiser would apply them.

    The first links of the ``make_optimizer`` chain (clip_by_global_norm at
    ``clip_norm``, then ``winsorize`` at ``winsor_percentile`` when
    ``cfg.use_winsor``), with the levels read from the member's ``state``.
    No noise is added. Gradient-noise diagnostics use it so that they see the
    gradient the current training phase sees (Livi 2026, digest section 6.4).
    """
    hyper = state.hyperparams
    clipped, _ = optax.clip_by_global_norm(hyper["clip_norm"]).update(grads, optax.EmptyState())
    if not cfg.use_winsor:
        return clipped
    return winsorize(hyper["winsor_percentile"]).update(clipped, optax.EmptyState())[0]


def learning_rate(state):
    """The learning rate(s) stored in a ``make_optimizer`` state."""
    return state.hyperparams["learning_rate"]
