"""Weight initialisers shared by the models.

- Gaussian: entries N(0, (scale / sqrt(fan_in))^2), so the spectral radius of an
  H x H matrix is about ``scale`` (circular law).
- Orthogonal: a Haar-random orthogonal matrix times ``scale`` (every singular
  value equals ``scale``). With ``cfg.init == "orthogonal"`` it is used for the
  recurrent H x H matrices only (Livi's ``--orth_init``, restricted to the
  recurrent blocks); gate matrices that start at zero stay at zero.
- Aligned: see :func:`aligned_linear` (Proca et al. 2025, P.1.1) and
  :func:`aligned_in_basis` (the same for a given basis). Only the
  linear model builds aligned weights; the other models treat
  ``"aligned"`` like ``"gaussian"``.

Every function accepts traced scales, so one compilation can initialise a
population whose members differ in ``init_scale``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def gaussian(key, shape, scale=1.0):
    """N(0, scale^2 / fan_in) entries; fan_in is the last axis (columns)."""
    return (scale / jnp.sqrt(shape[-1])) * jax.random.normal(key, shape, jnp.float32)


def thin_qr(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Thin QR of an (n, k) matrix, k <= n, by Gram-Schmidt with one reorthogonalisation.

    Column j: v = a_j - Q c1 with c1 = Q^T a_j, then v <- v - Q c2 with
    c2 = Q^T v, q_j = v / ||v||, R[:j, j] = c1 + c2, R[j, j] = ||v||. Two
    passes keep Q orthonormal to rounding ("twice is enough", Giraud et al.
    2005), and R's diagonal is positive, so Q is the unique sign-fixed factor.

    Pure jnp arithmetic rather than ``jnp.linalg.qr``: LAPACK's QR is a custom
    call, and programs sharded over several CPU devices that ran one, or
    resharded its output, never finished (jax 0.10.2).
    """
    n, k = a.shape
    tiny = jnp.finfo(a.dtype).tiny

    def column(j, qr):
        q, r = qr
        v = a[:, j]
        c1 = q.T @ v  # columns j.. of q are still zero, so their coefficients are too
        v = v - q @ c1
        c2 = q.T @ v
        v = v - q @ c2
        norm = jnp.linalg.norm(v)
        q = q.at[:, j].set(v / jnp.maximum(norm, tiny))
        r = r.at[:, j].set(c1 + c2).at[j, j].set(norm)
        return q, r

    zeros = (jnp.zeros((n, k), a.dtype), jnp.zeros((k, k), a.dtype))
    return jax.lax.fori_loop(0, k, column, zeros)


def orthogonal(key, n, scale=1.0):
    """Haar-random n x n orthogonal matrix times ``scale``: the Q of a Gaussian matrix with R's diagonal positive."""
    return scale * thin_qr(jax.random.normal(key, (n, n), jnp.float32))[0]


def recurrent_weights(key, cfg, scale):
    """Recurrent H x H matrix by ``cfg.init``: ``gaussian`` or ``orthogonal``.

    ``"aligned"`` falls back to Gaussian here; the linear model, the only one
    with an aligned construction, does not call this function for it.
    """
    if cfg.init == "orthogonal":
        return orthogonal(key, cfg.hidden, scale)
    if cfg.init in ("gaussian", "aligned"):
        return gaussian(key, (cfg.hidden, cfg.hidden), scale)
    raise ValueError(f"model.init={cfg.init!r}: allowed gaussian, orthogonal, aligned")


def input_weights(key, hidden, input_dim, scale=1.0):
    return gaussian(key, (hidden, input_dim), scale)


def readout_weights(key, output_dim, hidden, scale=1.0):
    return gaussian(key, (output_dim, hidden), scale)


def logit(p):
    """Inverse of the logistic sigmoid, in float32: log(p / (1 - p))."""
    p = jnp.asarray(p, jnp.float32)
    return jnp.log(p) - jnp.log1p(-p)


# ---------------------------------------------------------------------------
# Data-aligned initialisation (Proca et al. 2025, appendix P.1.1)
# ---------------------------------------------------------------------------


def _modes(values, n: int, name: str, dtype=jnp.float32) -> jax.Array:
    """A length-n mode vector in ``dtype``: a scalar is broadcast, a shorter vector is zero-padded."""
    v = jnp.asarray(values, dtype)
    if v.ndim == 0:
        return jnp.broadcast_to(v, (n,))
    if v.ndim != 1 or v.shape[0] > n:
        raise ValueError(f"{name}: expected a scalar or a vector of at most {n} modes, got shape {v.shape}")
    return jnp.pad(v, (0, n - v.shape[0]))


def _rect_diag(diag: jax.Array, rows: int, cols: int) -> jax.Array:
    """rows x cols matrix with ``diag`` (length min(rows, cols)) on its main diagonal, in ``diag``'s dtype."""
    m = min(rows, cols)
    idx = jnp.arange(m)
    return jnp.zeros((rows, cols), diag.dtype).at[idx, idx].set(diag)


def aligned_linear(key, hidden, U_y, V_x, a, b, c):
    """Weights of a linear RNN aligned with the data's singular vectors.

    With one Haar-random orthogonal ``R`` (hidden x hidden)::

        W_x = R  diag(a) V_x^T      (hidden x D)
        W_h = R  diag(b) R^T        (hidden x hidden)
        W_y = U_y diag(c) R^T       (O x hidden)

    ``diag(a)`` is the hidden x k_x rectangular diagonal (k_x = columns of
    ``V_x``), zero-padded; ``diag(c)`` is k_y x hidden (k_y = columns of
    ``U_y``). So R^T W_x V_x, R^T W_h R and U_y^T W_y R are diagonal, and so is
    R^T W_h^k R for every power k, which is what the mode reduction needs.

    The paper writes W_h = R_y diag(b) R_x^T with R_y = R_x^{-1}; powers of
    W_h are only diagonal in one basis when R_x^T R_y = I, so a single R is
    used here (the paper's formula is a typo).

    Precision: the weights have the dtype of ``U_y`` and ``V_x`` (float32, or
    float64 inside ``jax.enable_x64``). R is drawn in float32 (``orthogonal``);
    in a wider dtype it is re-orthonormalised there (``thin_qr``), so that the
    blocks above are diagonal to that precision.

    Args:
        key: PRNG key for R.
        hidden: H.
        U_y: (O, k_y) output singular vectors (orthonormal columns).
        V_x: (D, k_x) input singular vectors (orthonormal columns).
        a, b, c: input, recurrent and output modes: scalars (all modes equal)
            or vectors of at most min(H, k_x), H and min(H, k_y) entries,
            zero-padded.

    Returns:
        dict with ``W_x``, ``W_h``, ``W_y`` and the basis ``R``.
    """
    dtype = jnp.result_type(jnp.asarray(U_y), jnp.asarray(V_x), jnp.float32)
    R = orthogonal(key, hidden, 1.0)
    if dtype != R.dtype:
        R = thin_qr(R.astype(dtype))[0]
    return aligned_in_basis(R, U_y, V_x, a, b, c)


def aligned_in_basis(R, U_y, V_x, a, b, c):
    """The weights of :func:`aligned_linear` in a given orthogonal basis ``R`` (hidden x hidden).

        W_x = R diag(a) V_x^T,    W_h = R diag(b) R^T,    W_y = U_y diag(c) R^T,

    in R's dtype (``U_y``, ``V_x`` and the modes are cast to it). With R = I the
    weights are the modes themselves in the data bases.

    Returns:
        dict with ``W_x``, ``W_h``, ``W_y`` and ``R``.
    """
    R = jnp.asarray(R)
    dtype = R.dtype
    hidden = R.shape[0]
    U_y = jnp.asarray(U_y, dtype)
    V_x = jnp.asarray(V_x, dtype)
    k_x, k_y = V_x.shape[1], U_y.shape[1]
    a = _modes(a, min(hidden, k_x), "a", dtype)
    b = _modes(b, hidden, "b", dtype)
    c = _modes(c, min(hidden, k_y), "c", dtype)
    return {
        "W_x": R @ _rect_diag(a, hidden, k_x) @ V_x.T,
        "W_h": (R * b[None, :]) @ R.T,
        "W_y": U_y @ _rect_diag(c, k_y, hidden) @ R.T,
        "R": R,
    }


def _mode_blocks(params, U_y, V_x, R):
    return (
        R.T @ params["W_x"] @ V_x,
        R.T @ params["W_h"] @ R,
        U_y.T @ params["W_y"] @ R,
    )


def recover_modes(params, U_y, V_x, R):
    """The modes (a, b, c) of a linear RNN in the basis (U_y, R, V_x).

    a = diag(R^T W_x V_x), b = diag(R^T W_h R), c = diag(U_y^T W_y R): the
    inverse of :func:`aligned_linear` while the weights stay aligned (gradient
    descent on whitened data with shared singular vectors keeps them so).
    """
    return tuple(jnp.diagonal(m) for m in _mode_blocks(params, U_y, V_x, R))


def alignment_error(params, U_y, V_x, R):
    """Largest off-diagonal entry of R^T W_x V_x, R^T W_h R, U_y^T W_y R relative to the largest entry.

        max over the blocks M of max |M_ij, i != j| / max |M_ij|

    About 0 for aligned weights; of order 1 for unaligned ones. Computed in the
    dtype of the arguments (float64 inside ``jax.enable_x64``), like
    :func:`recover_modes`.
    """
    worst = []
    for m in _mode_blocks(params, U_y, V_x, R):
        off = m - _rect_diag(jnp.diagonal(m), *m.shape)
        worst.append(jnp.max(jnp.abs(off)) / jnp.maximum(jnp.max(jnp.abs(m)), 1e-30))
    return jnp.max(jnp.stack(worst))


def gated_params(key, cfg, scale, gates):
    """Weights of a cell with one input matrix, recurrent matrix and bias per gate.

    For each gate name n: ``W_n`` (H, D) Gaussian, ``U_n`` (H, H) by
    ``cfg.init`` with ``scale``, ``b_n`` zeros; plus the readout ``W_y``,
    ``b_y``. Used by the GRU (gates z, r, g) and the LSTM (i, f, g, o).
    """
    keys = jax.random.split(key, 2 * len(gates) + 1)
    params = {}
    for i, n in enumerate(gates):
        params[f"W_{n}"] = input_weights(keys[2 * i], cfg.hidden, cfg.input_dim)
        params[f"U_{n}"] = recurrent_weights(keys[2 * i + 1], cfg, scale)
        params[f"b_{n}"] = jnp.zeros((cfg.hidden,), jnp.float32)
    params["W_y"] = readout_weights(keys[-1], cfg.output_dim, cfg.hidden)
    params["b_y"] = jnp.zeros((cfg.output_dim,), jnp.float32)
    return params


def tanh_rnn_params(key, cfg, scale):
    """Weights of a tanh RNN core: ``W_h`` (H, H) by ``cfg.init`` with ``scale``,
    ``W_x`` (H, D) Gaussian, ``b`` zeros, and the readout ``W_y``, ``b_y``.
    Used by the Elman model and by the gate ladder's candidate update."""
    k_h, k_x, k_y = jax.random.split(key, 3)
    return {
        "W_h": recurrent_weights(k_h, cfg, scale),
        "W_x": input_weights(k_x, cfg.hidden, cfg.input_dim),
        "b": jnp.zeros((cfg.hidden,), jnp.float32),
        "W_y": readout_weights(k_y, cfg.output_dim, cfg.hidden),
        "b_y": jnp.zeros((cfg.output_dim,), jnp.float32),
    }
