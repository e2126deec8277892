"""The gate ladder of Livi (2025, 2026): ConstGate, SharedGate, DiagGate.

All three share the leaky update (section 2 of the Livi digest)

    h~_t = tanh(W_x x_t + W_h h_{t-1} + b)
    h_t  = (1 - s_t) * h_{t-1} + s_t * h~_t,        y_t = W_y h_t + b_y

and differ only in the gate s_t:

- **ConstGate**: s is a fixed scalar, the per-member hyper-parameter
  ``hp["gate"]`` (Livi uses 0.005 in P1 and 0.05 in P2), stored as
  ``params["frozen"]["s"]`` and never trained; tau = -1 / log(1 - s).
- **SharedGate**: one learned scalar per step, broadcast to every neuron,
  s_t = sigmoid(w_s . x_t + u_s . h_{t-1} + b_s).
- **DiagGate** ("multigate"): one gate per neuron,
  s_t = sigmoid(W_s x_t + U_s h_{t-1} + b_s).

Initialisation (Livi's code): the gate weights (w_s, u_s or W_s, U_s) start at
zero and the gate bias at logit(hp["gate"]), so every neuron starts at
tau ~ 1 / s_0. W_h follows ``cfg.init`` (Gaussian or orthogonal, scaled by
``init_scale``); W_x and W_y are Gaussian with fan-in scaling; biases start at
zero. The optional LayerNorm of Livi's P2 runs is not included.

``jacobian_split`` is the per-step split of section 3.1 of the digest. For
these three models it is the exact diagonal of dh_t/dh_{t-1}: every
off-diagonal path (through W_h[q, j], U_s[q, j] or u_s[j], j != q) only
reaches other neurons' derivatives. ``run`` is an exact equivalent of the
scanned ``step`` that projects all inputs in one product before the time loop.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .base import Model, ModelConfig, default_hp
from .init import logit, tanh_rnn_params

# ---------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------


def _core_params(key, cfg: ModelConfig, hp: dict):
    return tanh_rnn_params(key, cfg, hp["init_scale"])


def _candidate(params, h, p):
    """h~ = tanh(W_x x + b + W_h h) from the projected input p["c"] = W_x x + b."""
    return jnp.tanh(p["c"] + h @ params["W_h"].T)


def _leaky(params, h, p, gate):
    s, _ = gate(params, h, p)
    return (1.0 - s) * h + s * _candidate(params, h, p)


def _split(params, h_prev, p, gate):
    """carry = 1 - s; correction = (h~ - h_{t-1}) ds_q/dh_q + s (1 - h~^2) [W_h]_qq."""
    s, ds = gate(params, h_prev, p)
    hc = _candidate(params, h_prev, p)
    carry = jnp.broadcast_to(1.0 - s, hc.shape)
    correction = (hc - h_prev) * ds + s * (1.0 - hc**2) * jnp.diag(params["W_h"])
    return carry, correction


def _run(project, gate):
    def run(params, h0, xs):
        p_all = project(params, xs)

        def body(h, p):
            h = _leaky(params, h, p, gate)
            return h, h

        return jax.lax.scan(body, h0, p_all)[1]

    return run


# ---------------------------------------------------------------------------
# ConstGate
# ---------------------------------------------------------------------------


def constgate_init(key, cfg: ModelConfig, hp: dict | None = None):
    hp = default_hp(hp)
    params = _core_params(key, cfg, hp)
    params["frozen"] = {"s": jnp.asarray(hp["gate"], jnp.float32)}
    return params


def _const_project(params, x):
    return {"c": x @ params["W_x"].T + params["b"]}


def _const_gate(params, h, p):
    return params["frozen"]["s"], 0.0


def constgate_step(params, h, x):
    return _leaky(params, h, _const_project(params, x), _const_gate)


def constgate_jacobian_split(params, h_prev, x):
    """carry = 1 - s; correction = s (1 - h~_t^2) [W_h]_qq (exact diagonal)."""
    return _split(params, h_prev, _const_project(params, x), _const_gate)


# ---------------------------------------------------------------------------
# SharedGate
# ---------------------------------------------------------------------------


def sharedgate_init(key, cfg: ModelConfig, hp: dict | None = None):
    hp = default_hp(hp)
    params = _core_params(key, cfg, hp)
    params["w_s"] = jnp.zeros((cfg.input_dim,), jnp.float32)
    params["u_s"] = jnp.zeros((cfg.hidden,), jnp.float32)
    params["b_s"] = logit(hp["gate"])
    return params


def _shared_project(params, x):
    return {"c": x @ params["W_x"].T + params["b"], "s": x @ params["w_s"] + params["b_s"]}


def _shared_gate(params, h, p):
    s = jax.nn.sigmoid(p["s"] + h @ params["u_s"])[..., None]
    return s, s * (1.0 - s) * params["u_s"]


def sharedgate_step(params, h, x):
    return _leaky(params, h, _shared_project(params, x), _shared_gate)


def sharedgate_jacobian_split(params, h_prev, x):
    """carry = 1 - s_t; correction = (h~_t - h_{t-1}^q) s'_t [u_s]_q + s_t (1 - h~_t^2) [W_h]_qq.

    s' = s (1 - s); exact diagonal of dh_t/dh_{t-1}.
    """
    return _split(params, h_prev, _shared_project(params, x), _shared_gate)


# ---------------------------------------------------------------------------
# DiagGate
# ---------------------------------------------------------------------------


def diaggate_init(key, cfg: ModelConfig, hp: dict | None = None):
    hp = default_hp(hp)
    params = _core_params(key, cfg, hp)
    params["W_s"] = jnp.zeros((cfg.hidden, cfg.input_dim), jnp.float32)
    params["U_s"] = jnp.zeros((cfg.hidden, cfg.hidden), jnp.float32)
    params["b_s"] = jnp.full((cfg.hidden,), logit(hp["gate"]), jnp.float32)
    return params


def _diag_project(params, x):
    return {"c": x @ params["W_x"].T + params["b"], "s": x @ params["W_s"].T + params["b_s"]}


def _diag_gate(params, h, p):
    s = jax.nn.sigmoid(p["s"] + h @ params["U_s"].T)
    return s, s * (1.0 - s) * jnp.diag(params["U_s"])


def diaggate_step(params, h, x):
    return _leaky(params, h, _diag_project(params, x), _diag_gate)


def diaggate_jacobian_split(params, h_prev, x):
    """carry = 1 - s_t; correction = (h~_t - h_{t-1}) s'_t [U_s]_qq + s_t (1 - h~_t^2) [W_h]_qq.

    s' = s (1 - s), per neuron; exact diagonal of dh_t/dh_{t-1}.
    """
    return _split(params, h_prev, _diag_project(params, x), _diag_gate)


CONSTGATE = Model(
    name="constgate",
    init=constgate_init,
    step=constgate_step,
    jacobian_split=constgate_jacobian_split,
    run=_run(_const_project, _const_gate),
)

SHAREDGATE = Model(
    name="sharedgate",
    init=sharedgate_init,
    step=sharedgate_step,
    jacobian_split=sharedgate_jacobian_split,
    run=_run(_shared_project, _shared_gate),
)

DIAGGATE = Model(
    name="diaggate",
    init=diaggate_init,
    step=diaggate_step,
    jacobian_split=diaggate_jacobian_split,
    run=_run(_diag_project, _diag_gate),
)
