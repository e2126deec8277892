"""Diagonal complex linear recurrence, in the style of the Linear Recurrent Unit
(Orvieto et al. 2023, "Resurrecting recurrent neural networks for long
sequences"), kept minimal:

    lambda = exp(-exp(nu) + i theta)                   (H complex eigenvalues)
    h_t    = lambda * h_{t-1} + B x_t                  (complex64 state)
    y_t    = Re(C h_t) + b_y

with B = B_re + i B_im (H x D) and C = C_re + i C_im (O x H). The
exponential parameterisation keeps |lambda| = exp(-exp(nu)) in (0, 1) for any
real nu, so the recurrence is stable throughout training. There is no
nonlinearity, no skip connection D x_t and no trainable normalisation gamma.

Initialisation (our choices where the specification leaves them open):

- |lambda| uniform on [r_lo, r_max] with r_max = ``hp["init_scale"]`` clipped
  to at most 0.9999 (tau = 10^4 steps) and r_lo = min(``hp.get("r_min", 0.9)``,
  r_max). The modulus is uniform; the LRU paper instead draws |lambda|^2
  uniformly (uniform area on the ring), a small difference for thin rings.
- theta uniform on [0, ``hp.get("max_phase", 2 pi)``).
- B_re, B_im ~ N(0, 1 / (2D)), each row multiplied by sqrt(1 - |lambda|^2) at
  init (the LRU's normalisation, folded into B once so a unit-variance white
  input gives states of unit variance whatever the time scale).
- C_re, C_im ~ N(0, 1 / (2H)); b_y = 0.

``hidden_of`` is the identity, so hidden states (and ``run``'s output) are
complex64. ``run`` evaluates the recurrence with a parallel associative scan;
it equals the scanned ``step`` up to float rounding.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .base import Model, ModelConfig, default_hp

R_CAP = 0.9999
R_FLOOR = 1e-6


def init(key, cfg: ModelConfig, hp: dict | None = None):
    hp = default_hp(hp)
    H, D, O = cfg.hidden, cfg.input_dim, cfg.output_dim
    r_max = jnp.clip(jnp.asarray(hp["init_scale"], jnp.float32), R_FLOOR, R_CAP)
    r_lo = jnp.minimum(jnp.asarray(hp.get("r_min", 0.9), jnp.float32), r_max)
    max_phase = jnp.asarray(hp.get("max_phase", 2.0 * math.pi), jnp.float32)
    k_r, k_t, k_bre, k_bim, k_cre, k_cim = jax.random.split(key, 6)
    r = r_lo + (r_max - r_lo) * jax.random.uniform(k_r, (H,), jnp.float32)
    r = jnp.clip(r, R_FLOOR, R_CAP)
    gamma = jnp.sqrt(1.0 - r**2)[:, None]
    b_std = 1.0 / math.sqrt(2.0 * D)
    c_std = 1.0 / math.sqrt(2.0 * H)
    return {
        "nu": jnp.log(-jnp.log(r)),
        "theta": max_phase * jax.random.uniform(k_t, (H,), jnp.float32),
        "B_re": gamma * b_std * jax.random.normal(k_bre, (H, D), jnp.float32),
        "B_im": gamma * b_std * jax.random.normal(k_bim, (H, D), jnp.float32),
        "C_re": c_std * jax.random.normal(k_cre, (O, H), jnp.float32),
        "C_im": c_std * jax.random.normal(k_cim, (O, H), jnp.float32),
        "b_y": jnp.zeros((O,), jnp.float32),
    }


def initial_state(params, cfg: ModelConfig):
    return jnp.zeros((cfg.hidden,), jnp.complex64)


def eigenvalues(params):
    """lambda = exp(-exp(nu) + i theta), complex64 of shape (H,)."""
    return jnp.exp(jax.lax.complex(-jnp.exp(params["nu"]), params["theta"]))


def _project(params, x):
    """B x as complex64 (any leading axes on x)."""
    return jax.lax.complex(x @ params["B_re"].T, x @ params["B_im"].T)


def step(params, h, x):
    return eigenvalues(params) * h + _project(params, x)


def readout(params, h):
    """y = Re(C h) + b_y = C_re Re(h) - C_im Im(h) + b_y."""
    return params["C_re"] @ jnp.real(h) - params["C_im"] @ jnp.imag(h) + params["b_y"]


def jacobian_split(params, h_prev, x):
    """carry = |lambda| = exp(-exp(nu)); correction = 0.

    The step is holomorphic in h with dh_t/dh_{t-1} = diag(lambda): no
    off-diagonal terms and no dependence on the state. Read as a real map on
    (Re h_q, Im h_q), neuron q's block is |lambda_q| times a rotation by
    theta_q, so its gain (both singular values) is exactly |lambda_q|, and over
    any window of l steps the block is |lambda_q|^l times a rotation by
    l theta_q. The carry is that gain: real, float32, exact, and the transport
    product of carries is exact. The phase is ``params["theta"]``.
    """
    carry = jnp.exp(-jnp.exp(params["nu"]))
    return carry, jnp.zeros_like(carry)


def run(params, h0, xs):
    u = _project(params, xs)  # (T, B, H)
    lam = eigenvalues(params)
    u = u.at[0].add(lam * h0)
    a = jnp.broadcast_to(lam, u.shape)

    def combine(left, right):
        a_l, b_l = left
        a_r, b_r = right
        return a_l * a_r, a_r * b_l + b_r

    return jax.lax.associative_scan(combine, (a, u), axis=0)[1]


MODEL = Model(
    name="lru",
    init=init,
    initial_state=initial_state,
    step=step,
    readout=readout,
    jacobian_split=jacobian_split,
    run=run,
)
