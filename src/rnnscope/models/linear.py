"""Discrete-time linear RNN: h_t = W_h h_{t-1} + W_x x_t + b, y_t = W_y h_t + b_y.

The model of Proca, Dominé, Shanahan & Mediano (2025), "Learning dynamics in
linear recurrent neural networks" (section 1 of the digest), with optional
biases. The paper's network has none: with ``cfg.bias = False``,
:func:`freeze_biases` moves ``b`` and ``b_y`` under ``params["frozen"]`` so
they stay at zero and the trained network is exactly the paper's.

Initialisation (``cfg.init``):

- ``"gaussian"`` (the paper's unaligned init, P.1.2): every weight matrix has
  entries N(0, (sigma / sqrt(fan_in))^2) with sigma = ``hp["init_scale"]``
  for W_h and ``io_scale`` (when > 0; else ``init_scale``) for W_x and W_y (one
  sigma for all three, as in the paper, unless ``io_scale`` is given).
- ``"orthogonal"``: W_h a random orthogonal matrix times ``init_scale``;
  W_x, W_y as above.
- ``"aligned"`` (P.1.1): :func:`rnnscope.models.init.aligned_linear` with
  every mode (a, b, c) equal to ``init_scale`` and the data bases
  ``U_y = hp.get("align_U")``, ``V_x = hp.get("align_V")`` (identity bases when
  absent). The basis R is kept, untrained, as ``params["frozen"]["R"]`` so the
  modes can be read back with ``recover_modes``. With all recurrent modes
  equal, W_h = init_scale * I, as in the paper.

``run`` is exact and projects all inputs in one product before the time loop.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .base import Model, ModelConfig, default_hp, io_scale
from .init import aligned_linear, input_weights, readout_weights, recurrent_weights


def _leaf(params, name):
    """A leaf that may have been moved under ``params["frozen"]``."""
    return params[name] if name in params else params["frozen"][name]


def init(key, cfg: ModelConfig, hp: dict | None = None):
    params = _init_with_biases(key, cfg, hp)
    return params if cfg.bias else freeze_biases(params)


def _init_with_biases(key, cfg: ModelConfig, hp: dict | None = None):
    hp = default_hp(hp)
    scale = hp["init_scale"]
    io = io_scale(hp, scale)
    zeros = {
        "b": jnp.zeros((cfg.hidden,), jnp.float32),
        "b_y": jnp.zeros((cfg.output_dim,), jnp.float32),
    }
    if cfg.init == "aligned":
        U_y = hp.get("align_U")
        V_x = hp.get("align_V")
        U_y = jnp.eye(cfg.output_dim, dtype=jnp.float32) if U_y is None else U_y
        V_x = jnp.eye(cfg.input_dim, dtype=jnp.float32) if V_x is None else V_x
        w = aligned_linear(key, cfg.hidden, U_y, V_x, scale, scale, scale)
        return {"W_h": w["W_h"], "W_x": w["W_x"], "W_y": w["W_y"], **zeros, "frozen": {"R": w["R"]}}
    k_h, k_x, k_y = jax.random.split(key, 3)
    return {
        "W_h": recurrent_weights(k_h, cfg, scale),
        "W_x": input_weights(k_x, cfg.hidden, cfg.input_dim, io),
        "W_y": readout_weights(k_y, cfg.output_dim, cfg.hidden, io),
        **zeros,
    }


def freeze_biases(params):
    """Move ``b`` and ``b_y`` under ``params["frozen"]`` (never trained): the bias-free model."""
    out = {k: v for k, v in params.items() if k not in ("b", "b_y")}
    frozen = dict(params.get("frozen", {}))
    for name in ("b", "b_y"):
        if name in params:
            frozen[name] = params[name]
    out["frozen"] = frozen
    return out


def step(params, h, x):
    return params["W_h"] @ h + params["W_x"] @ x + _leaf(params, "b")


def readout(params, h):
    """y = W_y h + b_y."""
    return params["W_y"] @ h + _leaf(params, "b_y")


def jacobian_split(params, h_prev, x):
    """carry = 0 (no leak); correction = [W_h]_qq, the exact diagonal of dh_t/dh_{t-1} = W_h."""
    d = jnp.diag(params["W_h"])
    return jnp.zeros_like(d), d


def run(params, h0, xs):
    u = xs @ params["W_x"].T + _leaf(params, "b")
    W_hT = params["W_h"].T

    def body(h, u_t):
        h = h @ W_hT + u_t
        return h, h

    return jax.lax.scan(body, h0, u)[1]


MODEL = Model(
    name="linear",
    init=init,
    step=step,
    readout=readout,
    jacobian_split=jacobian_split,
    run=run,
)
