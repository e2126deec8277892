"""The shape every recurrent model in rnnscope has.

A model is a bundle of pure functions over a parameter pytree (a dict of
arrays), written for ONE sequence element; batches and populations come from
``jax.vmap``:

- ``init(key, cfg, hp) -> params``: ``cfg`` is a static :class:`ModelConfig`
  (shapes, initialiser name); ``hp`` is a dict of per-member hyper-parameters
  that may be traced arrays (``init_scale``, ``gate``), so one compilation
  serves a whole grid. Leaves that must never be trained (a ConstGate's fixed
  gate, for instance) live under ``params["frozen"]``; the trainer hands only
  the rest to the optimiser.
- ``initial_state(params, cfg) -> h``: the state before the first input
  (zeros; a tuple ``(h, c)`` for the LSTM).
- ``step(params, h, x) -> h``: one time step, ``x`` of shape (input_dim,).
- ``readout(params, h) -> y``: shape (output_dim,).
- ``jacobian_split(params, h_prev, x) -> (carry, correction)``: the per-step
  diagonal Jacobian split d h_t^q / d h_{t-1}^q ~ carry^q + correction^q used
  by transport and envelope probes (Livi 2026, section 3.1 of the digest):
  the carry is the part set by leaks and gates, the correction the part that
  flows through the recurrent weights.
- ``run(params, h0, xs) -> hs``: the whole sequence, ``xs`` of shape
  (T, batch, input_dim), ``hs`` of shape (T, batch, hidden) (the states after
  each step). The default is a ``lax.scan`` of ``step`` vmapped over the
  batch; a model may replace it with a faster exact equivalent.
- ``predict(params, h0, xs) -> ys`` (optional, ``None`` by default): the
  readout at every step, (T, batch, output_dim), equal to ``readout`` applied
  to ``run``'s states. A model may provide it when fusing the readout into
  its sequence loop (and its reverse pass) is faster; training uses it when
  present.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

Params = dict[str, Any]


@dataclass(frozen=True)
class ModelConfig:
    """Static description of a model: everything that fixes array shapes.

    Attributes:
        arch: registry name (see ``rnnscope.models.MODELS``).
        hidden: number of hidden units H.
        input_dim: input dimension D.
        output_dim: readout dimension O.
        init: recurrent-weight initialiser: ``"gaussian"`` (std
            ``init_scale / sqrt(H)``), ``"orthogonal"`` (scaled by
            ``init_scale``) or ``"aligned"`` (see ``models.init``).
        dt: Euler step of continuous-time models.
        bias: whether the linear RNN trains its biases ``b`` and ``b_y``;
            ``False`` keeps them at zero (under ``params["frozen"]``), the
            bias-free network of Proca et al. 2025. Other architectures
            always train theirs.
    """

    arch: str = "elman"
    hidden: int = 32
    input_dim: int = 1
    output_dim: int = 1
    init: str = "gaussian"
    dt: float = 0.1
    bias: bool = True


def hidden_identity(h):
    """The observable hidden vector of a state (the state itself)."""
    return h


def linear_readout(params: Params, h: jax.Array) -> jax.Array:
    """y = W_y h + b_y."""
    return params["W_y"] @ h + params["b_y"]


def zeros_state(params: Params, cfg: ModelConfig) -> jax.Array:
    """h_0 = 0 in the weights' precision (float32, or float64 for weights cast up)."""
    return jnp.zeros((cfg.hidden,), jnp.result_type(*jax.tree_util.tree_leaves(params)))


class Model(NamedTuple):
    name: str
    init: Callable[..., Params]
    step: Callable[[Params, Any, jax.Array], Any]
    jacobian_split: Callable[[Params, Any, jax.Array], tuple[jax.Array, jax.Array]]
    run: Callable[[Params, Any, jax.Array], Any]
    initial_state: Callable[[Params, ModelConfig], Any] = zeros_state
    readout: Callable[[Params, Any], jax.Array] = linear_readout
    hidden_of: Callable[[Any], jax.Array] = hidden_identity
    predict: Callable[[Params, Any, jax.Array], jax.Array] | None = None


def scan_run(step: Callable, hidden_of: Callable = hidden_identity) -> Callable:
    """Build the default ``run``: ``lax.scan`` over time of ``step`` vmapped over the batch.

    Returns the observable hidden states (T, batch, H); for stateful pairs such
    as the LSTM's (h, c) only ``hidden_of(state)`` is kept.
    """

    batched_step = jax.vmap(step, in_axes=(None, 0, 0))

    def run(params, h0, xs):
        def body(h, x):
            h = batched_step(params, h, x)
            return h, hidden_of(h)

        _, hs = jax.lax.scan(body, h0, xs)
        return hs

    return run


def default_hp(hp: dict | None) -> dict:
    """Fill the per-member hyper-parameters a model's ``init`` may read."""
    out = {"init_scale": 1.0, "io_scale": 0.0, "gate": 0.05}
    if hp:
        out.update(hp)
    return out


def io_scale(hp: dict, fallback):
    """Read-in/read-out weight scale: ``hp["io_scale"]`` where it is > 0, else the model's ``fallback``."""
    io = jnp.asarray(hp.get("io_scale", 0.0), jnp.float32)
    return jnp.where(io > 0, io, fallback)


def trainable(params: Params) -> Params:
    """The leaves the optimiser may change: everything but ``params["frozen"]``."""
    return {k: v for k, v in params.items() if k != "frozen"}


def merge(train: Params, params: Params) -> Params:
    """Put trained leaves back beside the frozen ones."""
    out = dict(train)
    if "frozen" in params:
        out["frozen"] = params["frozen"]
    return out
