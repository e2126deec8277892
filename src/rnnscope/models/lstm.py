"""Long short-term memory (Hochreiter & Schmidhuber 1997), standard form without
peepholes, as in section 2 of the Livi digest:

    i_t = sigmoid(W_i x_t + U_i h_{t-1} + b_i)     (input gate)
    f_t = sigmoid(W_f x_t + U_f h_{t-1} + b_f)     (forget gate)
    g_t = tanh   (W_g x_t + U_g h_{t-1} + b_g)     (candidate)
    o_t = sigmoid(W_o x_t + U_o h_{t-1} + b_o)     (output gate)
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t),                         y_t = W_y h_t + b_y

The state is the pair ``(h, c)``; ``initial_state`` is zeros for both,
``hidden_of`` returns h, ``run`` returns the h sequence only, and ``readout``
reads h (given h itself or the whole state). The recurrent
matrices U_i, U_f, U_g, U_o follow ``cfg.init`` (Gaussian or orthogonal,
scaled by ``init_scale``); input and readout matrices are Gaussian with
fan-in scaling; all biases, the forget bias included, start at zero (our
choice; the digest says only "standard").

``run`` is an exact equivalent of the scanned ``step`` that projects all inputs
in one product before the time loop and multiplies h by [U_i; U_f; U_g; U_o]
once per step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .base import Model, ModelConfig, default_hp
from .init import gated_params

_GATES = ("i", "f", "g", "o")


def init(key, cfg: ModelConfig, hp: dict | None = None):
    return gated_params(key, cfg, default_hp(hp)["init_scale"], _GATES)


def initial_state(params, cfg: ModelConfig):
    z = jnp.zeros((cfg.hidden,), jnp.float32)
    return (z, z)


def hidden_of(state):
    """The observable hidden vector h of the state (h, c)."""
    return state[0]


def readout(params, h):
    """y = W_y h + b_y. Takes the hidden vector h (what ``run`` returns) or a whole state (h, c)."""
    if isinstance(h, tuple):
        h = h[0]
    return params["W_y"] @ h + params["b_y"]


def _project(params, x):
    """Input pre-activations of (i, f, g, o), concatenated along the last axis."""
    W = jnp.concatenate([params[f"W_{n}"] for n in _GATES], axis=0)
    b = jnp.concatenate([params[f"b_{n}"] for n in _GATES], axis=0)
    return x @ W.T + b


def _U_T(params):
    return jnp.concatenate([params[f"U_{n}"] for n in _GATES], axis=0).T


def _gates(U_T, h, p):
    a = p + h @ U_T
    i, f, g, o = jnp.split(a, 4, axis=-1)
    return jax.nn.sigmoid(i), jax.nn.sigmoid(f), jnp.tanh(g), jax.nn.sigmoid(o)


def _cell(U_T, state, p):
    h, c = state
    i, f, g, o = _gates(U_T, h, p)
    c = f * c + i * g
    return (o * jnp.tanh(c), c)


def step(params, state, x):
    return _cell(_U_T(params), state, _project(params, x))


def output_gain(state):
    """e = dh^q/dc^q = o (1 - tanh^2 c) of a state (h, c) the LSTM produced.

    The output gate is read back from the state as o = h / tanh(c) (exact up to
    rounding, since h = o tanh(c)); where tanh(c) = 0 exactly (the initial
    state) the gain is 0: h_0 is then an independent initial value, not a
    function of c_0. Livi's LSTM transport multiplies the carry product by e
    at the end of the window.
    """
    h, c = state
    t = jnp.tanh(c)
    ok = jnp.abs(t) > 1e-30
    o = jnp.where(ok, h / jnp.where(ok, t, 1.0), 0.0)
    return o * (1.0 - t**2)


def jacobian_split(params, state_prev, x):
    """Split of the cell-to-cell derivative dc_t^q / dc_{t-1}^q (Livi, section 3.1):

        carry      = f_t
        correction = (c_{t-1} f'_t [U_f]_qq + i_t g'_t [U_g]_qq + g_t i'_t [U_i]_qq) e_{t-1}
        e_{t-1}    = o_{t-1} (1 - tanh^2 c_{t-1})            (see output_gain)

    with f' = f(1-f), i' = i(1-i), g' = 1 - g^2 at neuron q.

    Which Jacobian: ``state_prev = (h_{t-1}, c_{t-1})`` must be a state the
    LSTM produced, so h_{t-1} = o_{t-1} tanh(c_{t-1}) with o_{t-1} a function of
    (h_{t-2}, x_{t-1}) only. Let c_{t-1} move and h_{t-1} follow it through that
    relation (o_{t-1} fixed). Then

        dc_t/dc_{t-1} = diag(f_t) + (dc_t/dh_{t-1}) diag(e_{t-1}),

    and carry + correction is *exactly* its diagonal, since dh_{t-1}/dc_{t-1} is
    diagonal. (It is not the partial of ``step`` with respect to c alone,
    which is just diag(f_t).) The approximation is in chaining it: the product
    of these per-step diagonals over a window misses the off-diagonal mixing
    and the paths through the output gate (c_{t-2} -> h_{t-2} -> o_{t-1} ->
    h_{t-1}), both second order in the recurrent weights, so the transport
    built from this split is correct to first order.
    """
    h_prev, c_prev = state_prev
    i, f, g, o = _gates(_U_T(params), h_prev, _project(params, x))
    di, df, dg = i * (1.0 - i), f * (1.0 - f), 1.0 - g**2
    ui, uf, ug = (jnp.diag(params[f"U_{n}"]) for n in ("i", "f", "g"))
    correction = (c_prev * df * uf + i * dg * ug + g * di * ui) * output_gain(state_prev)
    return f, correction


def run(params, state0, xs):
    p_all = _project(params, xs)
    U_T = _U_T(params)

    def body(state, p):
        state = _cell(U_T, state, p)
        return state, state[0]

    return jax.lax.scan(body, state0, p_all)[1]


MODEL = Model(
    name="lstm",
    init=init,
    initial_state=initial_state,
    step=step,
    readout=readout,
    jacobian_split=jacobian_split,
    run=run,
    hidden_of=hidden_of,
)
