"""Elman (tanh) RNN: h_t = tanh(W_h h_{t-1} + W_x x_t + b), y_t = W_y h_t + b_y.

Besides the plain ``run`` (a scan of ``step``), the model has a fused
``predict`` with a hand-written reverse pass (``jax.custom_vjp``): the
forward loop keeps only the states, and the reverse loop computes
delta_t = (W_y^T g_t + W_h^T delta_{t+1}) * (1 - h_t^2) and accumulates every
weight gradient (dW_h += delta_t h_{t-1}^T, dW_x += delta_t x_t^T,
db += delta_t, dW_y += g_t h_t^T) inside the loop. Nothing of size
(T, batch, hidden) is built except the stored states, which spares the
layout copies that autodiff of a scan produces under ``vmap``. It is the
same arithmetic as autodiff of ``step``, checked in the tests.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .base import Model, ModelConfig, default_hp, scan_run
from .init import tanh_rnn_params


def init(key, cfg: ModelConfig, hp: dict | None = None):
    return tanh_rnn_params(key, cfg, default_hp(hp)["init_scale"])


def step(params, h, x):
    return jnp.tanh(params["W_h"] @ h + params["W_x"] @ x + params["b"])


def jacobian_split(params, h_prev, x):
    """carry = 0 (no leak); correction = (1 - h_t^2) [W_h]_qq, the exact diagonal."""
    h = step(params, h_prev, x)
    return jnp.zeros_like(h), (1.0 - h**2) * jnp.diag(params["W_h"])


def _forward(W_h, W_x, b, W_y, b_y, h0, xs):
    """States h_1..h_T and readouts y_1..y_T in one loop; shapes (T, B, H), (T, B, O).

    The readout is taken inside the loop so that the stored states are never
    read again in another layout; the matrices are transposed once, outside.
    The states are written into a buffer carried by the loop rather than
    stacked by ``scan``: under ``vmap`` a carried buffer keeps the member
    axis first, the layout the reverse pass reads, so no transposing copy of
    all states is made between the two passes.
    """
    W_hT, W_xT, W_yT = W_h.T, W_x.T, W_y.T
    T, B = xs.shape[:2]

    def body(t, carry):
        h, hs, ys = carry
        h = jnp.tanh(xs[t] @ W_xT + b + h @ W_hT)
        return h, hs.at[t].set(h), ys.at[t].set(h @ W_yT + b_y)

    buffers = (jnp.zeros((T,) + h0.shape, h0.dtype), jnp.zeros((T, B, W_y.shape[0]), h0.dtype))
    _, hs, ys = jax.lax.fori_loop(0, T, body, (h0,) + buffers)
    return hs, ys


def with_reverse_pass(forward, backward):
    """Readouts from ``forward`` (returning states and readouts) with ``backward`` as their VJP.

    ``backward`` receives (W_h, W_x, W_y, h0, xs, hs) and the readouts' cotangent, and returns
    the cotangents of (W_h, W_x, b, W_y, b_y, h0, xs).
    """

    @jax.custom_vjp
    def predict(W_h, W_x, b, W_y, b_y, h0, xs):
        return forward(W_h, W_x, b, W_y, b_y, h0, xs)[1]

    def keep_states(W_h, W_x, b, W_y, b_y, h0, xs):
        hs, ys = forward(W_h, W_x, b, W_y, b_y, h0, xs)
        return ys, (W_h, W_x, W_y, h0, xs, hs)

    predict.defvjp(keep_states, backward)
    return predict


def _outer_sum(a, b):
    """sum_n a_n b_n^T = a^T b for a (N, K), b (N, M).

    The transpose is materialised first (an optimisation barrier stops XLA from
    folding it into the product): XLA's CPU backend then uses its fast matrix
    kernel instead of a generic loop for a product contracting leading axes.
    """
    return jax.lax.optimization_barrier(a.T) @ b


def _bwd(res, g_ys):
    """The reverse pass as a reversed ``scan`` over (g_y, x_t, h_t, h_{t-1}).

    Written with ``scan`` rather than a ``fori_loop`` that reads the stored
    states by index and writes the input gradients into a carried buffer: in
    that form, under ``vmap`` and inside a larger jitted program that reduced
    dW_h further (a gradient norm), XLA's CPU backend returned garbage for
    dW_h (jax/jaxlib 0.10.2; the test ``test_fused_gradient_inside_a_reduction``
    pins it). The scan form is as fast.
    """
    W_h, W_x, W_y, h0, xs, hs = res
    h_prevs = jnp.concatenate([h0[None], hs[:-1]])

    def back_step(carry, inputs):
        g_next, dW_h, dW_x, db_rows, dW_y = carry
        g_y, x_t, h_t, h_prev = inputs
        delta = (g_y @ W_y + g_next) * (1.0 - h_t * h_t)
        carry = (
            delta @ W_h,
            dW_h + _outer_sum(delta, h_prev),
            dW_x + _outer_sum(delta, x_t),
            db_rows + delta,  # summed over the batch once, after the loop
            dW_y + _outer_sum(g_y, h_t),
        )
        return carry, delta @ W_x

    zeros = jnp.zeros_like
    carry = (zeros(h0), zeros(W_h), zeros(W_x), zeros(h0), zeros(W_y))
    (g_h0, dW_h, dW_x, db_rows, dW_y), g_xs = jax.lax.scan(back_step, carry, (g_ys, xs, hs, h_prevs), reverse=True)
    return dW_h, dW_x, db_rows.sum(0), dW_y, g_ys.sum((0, 1)), g_h0, g_xs


fused_predict = with_reverse_pass(_forward, _bwd)


def _pow2_at_least_16(n: int) -> bool:
    return n >= 16 and n & (n - 1) == 0


def predict(params, h0, xs):
    """Readouts at every step, (T, B, O); gradients by the hand-written reverse pass.

    On a GPU, with batch and hidden sizes that its matrix units take (powers
    of two, at least 16), the two passes run as fused kernels
    (``elman_pallas``); on a CPU in float32 as compiled kernels
    (``elman_cpu``, the hidden axis padded to a multiple of 16 with inert
    units); elsewhere as the XLA loops above. All compute the same thing.
    """
    args = (params["W_h"], params["W_x"], params["b"], params["W_y"], params["b_y"], h0, xs)
    if jax.default_backend() == "gpu" and _pow2_at_least_16(xs.shape[1]) and _pow2_at_least_16(h0.shape[-1]):
        from .elman_pallas import pallas_predict

        return pallas_predict(*args, False)
    from . import elman_cpu

    if elman_cpu.usable(*args):
        return elman_cpu.padded_predict(*args)
    return fused_predict(*args)


MODEL = Model(
    name="elman",
    init=init,
    step=step,
    jacobian_split=jacobian_split,
    run=scan_run(step),
    predict=predict,
)
