"""Closed-form NTK of the bias-free linear RNN for its final output.

Proca, Dominé, Shanahan & Mediano 2025, section 3.5 and App. I (digest
papers/proca.md, section 4.5). The blocks are derived here from the chain
rule for rnnscope's indexing (the paper's App. I has index slips):

    h_0 = 0,   h_t = W_h h_{t-1} + W_x x_t  (t = 1..T),   y = W_y h_T,

so h_T = sum_{i=1}^{T} W_h^{T-i} W_x x_i (the paper's h_{T+1}, its
indexing shifted by one). Write C_k = W_y W_h^k (k = 0..T-1).

- W_y: dy_a / d(W_y)_{bc} = delta_ab (h_T)_c, so
  K_y(X, X') = (h_T(X)^T h_T(X')) I_{N_y}.
- W_x: dy / d(W_x)_{bc} = sum_i (C_{T-i})_{:,b} (x_i)_c, so
  K_x(X, X') = sum_{i,j=1}^{T} (x_i^T x'_j) C_{T-i} C_{T-j}^T.
- W_h: a change dW of W_h moves the states by dh_t = W_h dh_{t-1} + dW h_{t-1},
  so dh_T = sum_{m=0}^{T-1} W_h^m dW h_{T-1-m} and
  K_h(X, X') = sum_{m,m'=0}^{T-1} (g_m(X)^T g_{m'}(X')) C_m C_{m'}^T,
  with g_m = h_{T-1-m} = sum_{i<=T-1-m} W_h^{T-1-m-i} W_x x_i: the state that
  ENTERS step T-m (the one W_h multiplies there), so g_0 = h_{T-1} and
  g_{T-1} = h_0 = 0 (the m = T-1 terms vanish; for T = 1 so does K_h).

The full kernel is K = K_x + K_h + K_y (all parameters jointly; no alignment
assumption). Each block is returned as a (P N_y) x (P' N_y) matrix in the
vec order of ``rnnscope.probes.ntk.empirical_ntk`` with last-step outputs:
row p N_y + a is output a of sequence p.

Function-space flow (digest section 4.5). Under gradient flow on
L = 1/2 sum_p ||y_p - y*_p||^2 with tau d theta / dt = -dL/dtheta,
the outputs on the training sequences obey

    tau d vec(Y_hat) / dt = -K(t) (vec(Y_hat) - vec(Y*)),

with K(t) the NTK above evaluated on the training set at the current
weights. In the lazy regime K(t) stays at K(0) and the flow is linear; the
kernel distance of ``probes.ntk`` measures how far K(t) moves.

NumPy only, float64.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class LinearNTK(NamedTuple):
    """The blocks of the linear RNN's final-output NTK, each (P N_y, P' N_y)."""

    W_x: np.ndarray
    W_h: np.ndarray
    W_y: np.ndarray
    total: np.ndarray


def hidden_states(W_x, W_h, x) -> np.ndarray:
    """h_0..h_T of h_t = W_h h_{t-1} + W_x x_t with h_0 = 0, for x of shape (T, P, N_x): (T + 1, P, N_h)."""
    x = np.asarray(x, np.float64)
    W_x, W_h = np.asarray(W_x, np.float64), np.asarray(W_h, np.float64)
    hs = np.zeros((x.shape[0] + 1, x.shape[1], W_h.shape[0]))
    for t in range(1, x.shape[0] + 1):
        hs[t] = hs[t - 1] @ W_h.T + x[t - 1] @ W_x.T
    return hs


def readout_powers(W_h, W_y, T: int) -> np.ndarray:
    """C_k = W_y W_h^k for k = 0..T-1, shape (T, N_y, N_h)."""
    W_h, W_y = np.asarray(W_h, np.float64), np.asarray(W_y, np.float64)
    out = np.empty((T,) + W_y.shape)
    c = W_y
    for k in range(T):
        out[k] = c
        c = c @ W_h
    return out


def _vec(block: np.ndarray) -> np.ndarray:
    """(P, N_y, P', N_y) -> (P N_y, P' N_y): rows p N_y + a, columns q N_y + b."""
    P, a, Q, b = block.shape
    return block.reshape(P * a, Q * b)


def _double_sum(f, f2, C) -> np.ndarray:
    """sum_{k,k'} (f_k(p)^T f2_k'(q)) C_k C_k'^T as (P, N_y, P', N_y), with f, f2 indexed (k, p, :)."""
    gram = np.einsum("kpc,lqc->kplq", f, f2)
    readouts = np.einsum("kab,lcb->klac", C, C)
    return np.einsum("kplq,klac->paqc", gram, readouts)


def input_block(W_x, W_h, W_y, x, x2=None) -> np.ndarray:
    """K_x = sum_{i,j=1}^{T} (x_i^T x'_j) W_y W_h^{T-i} (W_h^{T-j})^T W_y^T, as (P N_y, P' N_y).

    Digest section 4.5 (Proca et al. 2025, App. I, indices corrected). x, x2:
    (T, P, N_x), time-major as rnnscope's batches; x2 defaults to x. Written
    over the lag k = T - i, so the input k steps before the end is x[T-1-k].
    """
    x = np.asarray(x, np.float64)
    x2 = x if x2 is None else np.asarray(x2, np.float64)
    C = readout_powers(W_h, W_y, x.shape[0])
    return _vec(_double_sum(x[::-1], x2[::-1], C))


def recurrent_block(W_x, W_h, W_y, x, x2=None) -> np.ndarray:
    """K_h = sum_{m,m'=0}^{T-1} (g_m(X)^T g_m'(X')) W_y W_h^m (W_h^m')^T W_y^T, as (P N_y, P' N_y).

    g_m = h_{T-1-m} in rnnscope's indexing (h_0 = 0, y = W_y h_T; see the
    module docstring): the state W_h multiplies at step T-m. Digest section
    4.5 (Proca et al. 2025, App. I, indices corrected).
    """
    x = np.asarray(x, np.float64)
    x2 = x if x2 is None else np.asarray(x2, np.float64)
    T = x.shape[0]
    g = hidden_states(W_x, W_h, x)[:T][::-1]
    g2 = hidden_states(W_x, W_h, x2)[:T][::-1]
    return _vec(_double_sum(g, g2, readout_powers(W_h, W_y, T)))


def readout_block(W_x, W_h, W_y, x, x2=None) -> np.ndarray:
    """K_y = (h_T(X)^T h_T(X')) I_{N_y}, as (P N_y, P' N_y). Digest section 4.5."""
    x2 = x if x2 is None else x2
    h = hidden_states(W_x, W_h, x)[-1]
    h2 = hidden_states(W_x, W_h, x2)[-1]
    n_y = np.shape(W_y)[0]
    return np.kron(h @ h2.T, np.eye(n_y))


def linear_ntk(W_x, W_h, W_y, x, x2=None) -> LinearNTK:
    """All three blocks and their sum K = K_x + K_h + K_y (the NTK over all weights jointly).

    x, x2: (T, P, N_x) and (T, P', N_x) sequences of one length T (x2
    defaults to x, giving the (P N_y)^2 Gram kernel). Entry
    [p N_y + a, q N_y + b] is <d y_{p,a}/d theta, d y'_{q,b}/d theta>, the
    same vec order as ``probes.ntk.empirical_ntk`` with last-step outputs.
    """
    if x2 is not None and np.shape(x2)[0] != np.shape(x)[0]:
        raise ValueError(f"x2: sequences must have x's length T={np.shape(x)[0]}, got {np.shape(x2)[0]}")
    kx = input_block(W_x, W_h, W_y, x, x2)
    kh = recurrent_block(W_x, W_h, W_y, x, x2)
    ky = readout_block(W_x, W_h, W_y, x, x2)
    return LinearNTK(kx, kh, ky, kx + kh + ky)
