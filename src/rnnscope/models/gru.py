"""Gated recurrent unit (Cho et al. 2014), in the form of section 2 of the Livi digest:

    z_t = sigmoid(W_z x_t + U_z h_{t-1} + b_z)             (update gate)
    r_t = sigmoid(W_r x_t + U_r h_{t-1} + b_r)             (reset gate)
    g_t = tanh(W_g x_t + U_g (r_t * h_{t-1}) + b_g)        (candidate)
    h_t = (1 - z_t) * h_{t-1} + z_t * g_t,                 y_t = W_y h_t + b_y

Livi's digest calls W_g, U_g "W_h, U_h". The recurrent matrices U_z, U_r, U_g
follow ``cfg.init`` (Gaussian or orthogonal, scaled by ``init_scale``); input
and readout matrices are Gaussian with fan-in scaling; all biases start at zero.

``run`` is an exact equivalent of the scanned ``step`` that projects all inputs
in one product before the time loop and multiplies h by [U_z; U_r] once per
step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .base import Model, ModelConfig, default_hp
from .init import gated_params

_GATES = ("z", "r", "g")


def init(key, cfg: ModelConfig, hp: dict | None = None):
    return gated_params(key, cfg, default_hp(hp)["init_scale"], _GATES)


def _project(params, x):
    """Input pre-activations [W_z x + b_z, W_r x + b_r, W_g x + b_g] along the last axis."""
    W = jnp.concatenate([params[f"W_{n}"] for n in _GATES], axis=0)
    b = jnp.concatenate([params[f"b_{n}"] for n in _GATES], axis=0)
    return x @ W.T + b


def _gates(params, U_zr_T, h, p):
    """(z, r, g) from the projected input p and the state h (any leading axes)."""
    H = h.shape[-1]
    zr = jax.nn.sigmoid(p[..., : 2 * H] + h @ U_zr_T)
    z, r = zr[..., :H], zr[..., H:]
    g = jnp.tanh(p[..., 2 * H :] + (r * h) @ params["U_g"].T)
    return z, r, g


def _U_zr_T(params):
    return jnp.concatenate([params["U_z"], params["U_r"]], axis=0).T


def step(params, h, x):
    z, r, g = _gates(params, _U_zr_T(params), h, _project(params, x))
    return (1.0 - z) * h + z * g


def jacobian_split(params, h_prev, x):
    """Livi's split of dh_t^q/dh_{t-1}^q:

        carry      = 1 - z
        correction = (g - h_{t-1}) z' [U_z]_qq + z g' [U_g]_qq r
                     + z g' [U_g]_qq h_{t-1} r' [U_r]_qq

    with z' = z(1-z), r' = r(1-r), g' = 1 - g^2 (everything at neuron q).
    The exact diagonal has one more term, z g' sum_{j != q} [U_g]_qj h_{t-1}^j
    r'_j [U_r]_jq: the path through another neuron's reset gate. It is second
    order in the off-diagonal recurrent weights and vanishes when U_g or U_r
    is diagonal, so the split is exact then and correct to first order in the
    recurrent weights otherwise.
    """
    z, r, g = _gates(params, _U_zr_T(params), h_prev, _project(params, x))
    dz, dr, dg = z * (1.0 - z), r * (1.0 - r), 1.0 - g**2
    uz, ur, ug = (jnp.diag(params[f"U_{n}"]) for n in ("z", "r", "g"))
    correction = (g - h_prev) * dz * uz + z * dg * ug * r + z * dg * ug * h_prev * dr * ur
    return 1.0 - z, correction


def reset_gate(params, h_prev, x):
    """r_t, which Livi's GRU transport multiplies over a window besides the carry."""
    return _gates(params, _U_zr_T(params), h_prev, _project(params, x))[1]


def run(params, h0, xs):
    p_all = _project(params, xs)
    U_zr_T = _U_zr_T(params)

    def body(h, p):
        z, r, g = _gates(params, U_zr_T, h, p)
        h = (1.0 - z) * h + z * g
        return h, h

    return jax.lax.scan(body, h0, p_all)[1]


MODEL = Model(
    name="gru",
    init=init,
    step=step,
    jacobian_split=jacobian_split,
    run=run,
)
