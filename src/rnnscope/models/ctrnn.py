"""Continuous-time linear RNN with a leak, discretised by forward Euler.

    dh/dt = -h + W_h h + W_x x(t) + b,    y = W_y h + b_y

with step dt = ``cfg.dt`` (time in units of the single-neuron time constant):

    h_t = h_{t-1} + dt (-h_{t-1} + W_h h_{t-1} + W_x x_t + b)
        = A h_{t-1} + dt (W_x x_t + b),    A = (1 - dt) I + dt W_h.

The model of Bordelon, Cotler, Pehlevan & Zavatone-Veth (2025), "learning to
integrate" (section 1 of the digest): stable iff every eigenvalue of W_h has
real part < 1 (for small dt). W_h has entries N(0, init_scale^2 / H) (so its
eigenvalues fill the disk of radius ``init_scale``) or is orthogonal times
``init_scale``; the read-in W_x (u) and read-out W_y (v) have entries
N(0, eps^2 / H) with eps = ``io_scale`` (1 unless set), so |u| ~ |v| ~ eps
as in the digest's runs (their scale is open in the paper; our choice).
The white-noise input convention (x scaled by 1/sqrt(dt) for Euler-Maruyama)
belongs to the task, not the model.

The Euler step ``cfg.dt`` is stored, untrained, as ``params["frozen"]["dt"]``
so that ``step`` needs only the parameters. ``run`` is exact and projects all
inputs in one product before the time loop.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .base import Model, ModelConfig, default_hp, io_scale
from .init import readout_weights, recurrent_weights


def init(key, cfg: ModelConfig, hp: dict | None = None):
    hp = default_hp(hp)
    k_h, k_x, k_y = jax.random.split(key, 3)
    return {
        "W_h": recurrent_weights(k_h, cfg, hp["init_scale"]),
        "W_x": io_scale(hp, 1.0) / jnp.sqrt(cfg.hidden) * jax.random.normal(k_x, (cfg.hidden, cfg.input_dim)),
        "b": jnp.zeros((cfg.hidden,), jnp.float32),
        "W_y": readout_weights(k_y, cfg.output_dim, cfg.hidden, io_scale(hp, 1.0)),
        "b_y": jnp.zeros((cfg.output_dim,), jnp.float32),
        "frozen": {"dt": jnp.asarray(cfg.dt, jnp.float32)},
    }


def step(params, h, x):
    dt = params["frozen"]["dt"]
    return h + dt * (-h + params["W_h"] @ h + params["W_x"] @ x + params["b"])


def jacobian_split(params, h_prev, x):
    """carry = 1 - dt (the leak); correction = dt [W_h]_qq.

    Exact: dh_t/dh_{t-1} = (1 - dt) I + dt W_h, whose diagonal is their sum.
    """
    dt = params["frozen"]["dt"]
    d = jnp.diag(params["W_h"])
    return jnp.full_like(d, 1.0) - dt, dt * d


def run(params, h0, xs):
    dt = params["frozen"]["dt"]
    u = dt * (xs @ params["W_x"].T + params["b"])
    H = params["W_h"].shape[0]
    A_T = (1.0 - dt) * jnp.eye(H, dtype=jnp.float32) + dt * params["W_h"].T

    def body(h, u_t):
        h = h @ A_T + u_t
        return h, h

    return jax.lax.scan(body, h0, u)[1]


MODEL = Model(
    name="ctrnn",
    init=init,
    step=step,
    jacobian_split=jacobian_split,
    run=run,
)
