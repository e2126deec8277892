"""Elman forward and reverse passes as two fused kernels (Pallas), for GPUs.

The XLA version of ``elman.predict`` launches several small kernels per
time step; on a GPU each member's work per step (a 32 x 32 product) is too
small for that to pay. Here one kernel program runs one member through all
T steps with its weights and state held on chip (``vmap`` over members
becomes the kernel's grid), and a second program runs the reverse pass,
accumulating every weight gradient in registers:

    forward   h_t = tanh(x_t W_x^T + b + h_{t-1} W_h^T),   y_t = h_t W_y^T + b_y
    reverse   delta_t = (g_t W_y + delta_{t+1} W_h) * (1 - h_t^2)
              dW_h += delta_t^T h_{t-1},  dW_x += delta_t^T x_t,  db += sum_b delta_t,
              dW_y += g_t^T h_t,  dx_t = delta_t W_x

the same arithmetic as ``elman.fused_predict`` (tested against it in
interpret mode on the CPU). Inputs and readouts are laid out feature-major,
(T, D, B) and (T, O, B), so that each step reads whole rows.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl

HIGHEST = jax.lax.Precision.HIGHEST

#: Warps per kernel program on GPUs (``None``: the compiler's default, 4).
#: One program works on one member's (batch x hidden) tiles, a latency-bound
#: chain of small products, so fewer warps per program put more programs in
#: flight: on an H200 at hidden 32, 8,192 members, 2 warps trained 867k
#: member-steps/s against 753k with the default and 427k with 8 (and 810k
#: with 1).
NUM_WARPS: int | None = 2


def _compiler_params():
    if NUM_WARPS is None:
        return None
    from jax.experimental.pallas import triton as pl_triton

    return pl_triton.CompilerParams(num_warps=NUM_WARPS)


def _dot(a, b):
    return jnp.dot(a, b, precision=HIGHEST, preferred_element_type=jnp.float32)


def _forward_kernel(w_hT_ref, w_xT_ref, b_ref, w_y_ref, b_y_ref, h0_ref, xs_ref, hs_ref, ys_ref):
    T, D = xs_ref.shape[0], xs_ref.shape[1]
    O = ys_ref.shape[1]
    w_hT, b = w_hT_ref[...], b_ref[...]

    def body(t, h):
        u = b[None, :] + _dot(h, w_hT)
        for d in range(D):
            u = u + xs_ref[t, d][:, None] * w_xT_ref[d][None, :]
        h = jnp.tanh(u)
        hs_ref[t] = h
        for o in range(O):
            ys_ref[t, o] = jnp.sum(h * w_y_ref[o][None, :], axis=1) + b_y_ref[o]
        return h

    jax.lax.fori_loop(0, T, body, h0_ref[...])


def _reverse_kernel(w_h_ref, w_xT_ref, w_y_ref, h0_ref, xs_ref, hs_ref, gys_ref,
                    dw_h_ref, dw_xT_ref, db_ref, dw_y_ref, gh0_ref, gxs_ref):
    T, D = xs_ref.shape[0], xs_ref.shape[1]
    O = gys_ref.shape[1]
    w_h = w_h_ref[...]
    h0 = h0_ref[...]
    dw_xT_ref[...] = jnp.zeros(dw_xT_ref.shape, jnp.float32)
    dw_y_ref[...] = jnp.zeros(dw_y_ref.shape, jnp.float32)

    def body(i, carry):
        # h_{t-1} loaded here is the next (earlier) step's h_t; dW_h is
        # accumulated transposed, h_{t-1}^T delta_t, which measured faster
        g_next, dw_hT, db, h_t = carry
        t = T - 1 - i
        h_prev = jnp.where(t > 0, hs_ref[jnp.maximum(t - 1, 0)], h0)
        g_h = g_next
        for o in range(O):
            g_o = gys_ref[t, o]
            g_h = g_h + g_o[:, None] * w_y_ref[o][None, :]
            dw_y_ref[o] = dw_y_ref[o] + jnp.sum(g_o[:, None] * h_t, axis=0)
        delta = g_h * (1.0 - h_t * h_t)
        for d in range(D):
            x_d = xs_ref[t, d]
            dw_xT_ref[d] = dw_xT_ref[d] + jnp.sum(delta * x_d[:, None], axis=0)
            gxs_ref[t, d] = jnp.sum(delta * w_xT_ref[d][None, :], axis=1)
        return _dot(delta, w_h), dw_hT + _dot(h_prev.T, delta), db + jnp.sum(delta, axis=0), h_prev

    H = w_h.shape[0]
    init = (jnp.zeros(h0.shape, jnp.float32), jnp.zeros((H, H), jnp.float32), jnp.zeros((H,), jnp.float32),
            hs_ref[T - 1])
    g_h0, dw_hT, db, _ = jax.lax.fori_loop(0, T, body, init)
    gh0_ref[...] = g_h0
    dw_h_ref[...] = dw_hT.T
    db_ref[...] = db


def _shape(*dims):
    return jax.ShapeDtypeStruct(dims, jnp.float32)


@functools.partial(jax.custom_vjp, nondiff_argnums=(7,))
def pallas_predict(W_h, W_x, b, W_y, b_y, h0, xs, interpret=False):
    return _fwd(W_h, W_x, b, W_y, b_y, h0, xs, interpret)[0]


def _fwd(W_h, W_x, b, W_y, b_y, h0, xs, interpret):
    T, B, D = xs.shape
    H, O = W_h.shape[0], W_y.shape[0]
    xs_fm = jnp.transpose(xs, (0, 2, 1))
    hs, ys_fm = pl.pallas_call(
        _forward_kernel, out_shape=(_shape(T, B, H), _shape(T, O, B)), interpret=interpret,
        compiler_params=_compiler_params(),
    )(W_h.T, W_x.T, b, W_y, b_y, h0, xs_fm)
    return jnp.transpose(ys_fm, (0, 2, 1)), (W_h, W_x, W_y, h0, xs_fm, hs)


def _bwd(interpret, res, g_ys):
    W_h, W_x, W_y, h0, xs_fm, hs = res
    T, D, B = xs_fm.shape
    H, O = W_h.shape[0], W_y.shape[0]
    dW_h, dW_xT, db, dW_y, g_h0, g_xs_fm = pl.pallas_call(
        _reverse_kernel,
        out_shape=(_shape(H, H), _shape(D, H), _shape(H), _shape(O, H), _shape(B, H), _shape(T, D, B)),
        interpret=interpret,
        compiler_params=_compiler_params(),
    )(W_h, W_x.T, W_y, h0, xs_fm, hs, jnp.transpose(g_ys, (0, 2, 1)))
    return dW_h, dW_xT.T, db, dW_y, g_ys.sum((0, 1)), g_h0, jnp.transpose(g_xs_fm, (0, 2, 1))


pallas_predict.defvjp(lambda *a: _fwd(*a[:7], a[7]), _bwd)
