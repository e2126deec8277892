"""Empirical neural tangent kernel and kernel distance (feature learning).

Proca, Dominé, Shanahan & Mediano 2025, section 3.5 and App. I-J (digest
papers/proca.md, section 4.5); the kernel distance is Fort et al. 2020,
eq. 135 of Proca et al.

For a fixed set of P sequences X_1..X_P and a network with output
Y_hat(theta) in R^{P x N_y}, the finite-width empirical NTK is

    K(theta) = J J^T,   J = d vec(Y_hat) / d theta    ((P N_y) x n_theta),

with theta ALL trained parameters jointly (our reading of the digest's GAP:
every leaf of ``params`` except those under ``params["frozen"]``; the
``wrt`` argument restricts it to chosen leaves, which gives the per-block
kernels). vec is the row-major ravel of the prediction, so for a last-step
output of shape (P, N_y) row p * N_y + a is output a of sequence p
(sequence-major).

Feature learning is measured by how far the kernel turns during training:

    D(t) = 1 - <K(0), K(t)>_F / (||K(0)||_F ||K(t)||_F).

``ProbeContext`` does not carry the initial parameters, so the ``"ntk"``
probe records K itself at every record and ``kernel_distance_trajectory``
computes D relative to the first record afterwards.

Pure JAX: the probe runs in the sharded training program on any device.
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..models.base import merge, trainable
from .basic import Probe, ProbeContext

#: Sequences of the member's probe batch on which the ``"ntk"`` probe evaluates
#: the kernel (the first ones of the fixed held-out batch; our choice, the paper
#: does not say which inputs it uses). The record is (n N_y) x (n N_y) floats.
NTK_SEQUENCES = 8
#: Which outputs enter vec(Y_hat): ``"last"`` (the final step, the paper's NTK)
#: or ``"every"`` (every step, sequence-major: row (p T + t) N_y + a).
OUTPUTS = ("last", "every")


def member_predict(model, cfg, outputs: str = "last") -> Callable[[dict, jax.Array], jax.Array]:
    """``predict(params, x) -> Y_hat`` for one member of ``model``, with x of shape (T, P, D).

    ``outputs="last"``: Y_hat = y_T, shape (P, N_y) (the paper's final-output
    NTK). ``outputs="every"``: Y_hat = (y_1..y_T) per sequence, shape
    (P, T, N_y) (sequence-major, so vec keeps each sequence's outputs
    together). The forward pass is the one training uses
    (``train.losses.predictions``), frozen leaves included.
    """
    if outputs not in OUTPUTS:
        raise ValueError(f"outputs={outputs!r}: allowed {OUTPUTS}")
    # imported here: rnnscope.train imports the probe registry, so a module-level
    # import would be circular
    from ..train.losses import predictions

    def predict(params, x):
        y = predictions(model, cfg, params, x, outputs)
        return y if outputs == "last" else jnp.swapaxes(y, 0, 1)

    return predict


def _split(params, wrt: Sequence[str] | None):
    """(differentiated leaves, the rest): all trainable leaves by default, else the top-level keys ``wrt``."""
    train = trainable(params)
    if wrt is None:
        return train, {}
    missing = [k for k in wrt if k not in train]
    if missing:
        raise ValueError(f"wrt: {missing} are not trainable leaves of params; allowed {sorted(train)}")
    return {k: train[k] for k in wrt}, {k: v for k, v in train.items() if k not in wrt}


def output_jacobian(predict: Callable, params, x: jax.Array, wrt: Sequence[str] | None = None,
                    mode: str = "rev") -> jax.Array:
    """J = d vec(predict(params, x)) / d theta, shape (m, n_theta) with m the number of outputs.

    theta is ``ravel_pytree`` of the trained leaves (everything but
    ``params["frozen"]``), or of the top-level leaves named in ``wrt``; the
    other leaves are held fixed. vec is the row-major ravel of the prediction.
    A complex leaf enters as its real and imaginary parts, two real parameters
    per entry (the prediction must be real).

    ``mode="rev"`` (default): ``jax.jacrev``, m reverse passes; the kernel's
    m = P N_y outputs are far fewer than the parameters (an N_h = 32 linear
    RNN has over 10^3), so this is the cheaper one. ``mode="fwd"``:
    ``jax.jacfwd``, n_theta forward passes, cheaper only when the network has
    fewer parameters than outputs.
    """
    if mode not in ("rev", "fwd"):
        raise ValueError(f"mode={mode!r}: allowed 'rev', 'fwd'")
    diff, fixed = _split(params, wrt)
    flat, unravel = ravel_pytree(diff)
    n = flat.shape[0]
    complex_leaves = jnp.iscomplexobj(flat)
    # complex leaves (the LRU's) count as two real parameters each, (Re, Im), as gradient descent treats them
    theta0 = jnp.concatenate([flat.real, flat.imag]) if complex_leaves else flat

    def f(theta):
        leaves = unravel(theta[:n] + 1j * theta[n:]) if complex_leaves else unravel(theta)
        return jnp.ravel(predict(merge({**fixed, **leaves}, params), x))

    return (jax.jacrev if mode == "rev" else jax.jacfwd)(f)(theta0)


def empirical_ntk(predict: Callable, params, x: jax.Array, wrt: Sequence[str] | None = None,
                  mode: str = "rev") -> jax.Array:
    """The empirical NTK K = J J^T over the sequences x (T, P, D), shape (m, m).

    J = d vec(Y_hat) / d theta from ``output_jacobian`` (Proca et al. 2025,
    App. I; digest section 4.5). With ``member_predict(model, cfg)`` (last-step
    outputs) m = P N_y and K[p N_y + a, q N_y + b] = sum_theta
    (d y_{p,a} / d theta)(d y_{q,b} / d theta); with every-step outputs
    m = P T N_y. theta is all trained leaves jointly unless ``wrt`` names some
    (our choice, see the module docstring). The product is taken at the
    highest matmul precision so accelerators do not round it to TF32.
    """
    jac = output_jacobian(predict, params, x, wrt, mode)
    return jnp.matmul(jac, jac.T, precision=jax.lax.Precision.HIGHEST)


def _as_kernels(K0, Kt):
    """Both kernels as arrays of one namespace: jax.numpy when either is a JAX array (or
    tracer), else NumPy in float64."""
    if isinstance(K0, jax.Array) or isinstance(Kt, jax.Array):
        return jnp, jnp.asarray(K0), jnp.asarray(Kt)
    return np, np.asarray(K0, np.float64), np.asarray(Kt, np.float64)


def _unit(k, xp):
    """k / ||k||_F over the last two axes, scaled by max |k| first so that squares cannot
    overflow; NaN where k is zero or has a non-finite entry."""
    axes = (-2, -1)
    peak = xp.max(xp.abs(k), axis=axes, keepdims=True)
    ok = xp.isfinite(peak) & (peak > 0)
    scaled = xp.where(ok, k / xp.where(ok, peak, 1.0), 0.0)
    norm = xp.sqrt(xp.sum(scaled * scaled, axis=axes, keepdims=True))  # >= 1 where ok
    return xp.where(ok, scaled / xp.where(ok, norm, 1.0), xp.nan)


def kernel_distance(K0, Kt):
    """D = 1 - <K0, Kt>_F / (||K0||_F ||Kt||_F) (Fort et al. 2020; Proca et al. 2025, eq. 135).

    0 for kernels that differ only by a positive factor, 1 for orthogonal
    kernels, up to 2 for opposite ones. NaN (never an exception) when either
    kernel is zero or has a non-finite entry. NumPy inputs are computed in
    float64; JAX arrays in their own dtype, traceable inside ``jit``/``vmap``.
    Works on the last two axes and broadcasts the rest: kernels (..., m, m)
    give distances (...).
    """
    xp, K0, Kt = _as_kernels(K0, Kt)
    if K0.ndim < 2 or Kt.ndim < 2:
        raise ValueError(f"kernel_distance: kernels must be matrices, got shapes {K0.shape} and {Kt.shape}")
    return 1.0 - xp.sum(_unit(K0, xp) * _unit(Kt, xp), axis=(-2, -1))


def kernel_distance_trajectory(kernels) -> np.ndarray:
    """D_r = kernel_distance(K_0, K_r) along recorded kernels (..., R, m, m), shape (..., R); float64.

    The analysis-side form of Proca et al. 2025, eq. 135 (digest section 4.5):
    K_0 is the first record (the initial kernel when the schedule records step
    0, as the training engine does). D_0 = 0 up to rounding; a record that is
    NaN (a diverged member) gives NaN. The paper reports D at the end of
    training, i.e. the last entry.
    """
    kernels = np.asarray(kernels, np.float64)
    if kernels.ndim < 3 or kernels.shape[-1] != kernels.shape[-2]:
        raise ValueError(f"kernels: expected shape (..., R, m, m), got {kernels.shape}")
    first = kernels[..., :1, :, :]
    return np.asarray(kernel_distance(first, kernels))


def ntk_probe(n_sequences: int = NTK_SEQUENCES, outputs: str = "last", mode: str = "rev") -> Callable:
    """Probe function: ``empirical_ntk`` of the member on the first ``n_sequences`` of ``ctx.probe_x``.

    Records the (n N_y) x (n N_y) kernel of the last-step outputs by default
    (the paper's final-output NTK, whatever the task's target; ``outputs =
    "every"`` gives the (n T N_y)^2 kernel of every step). All trained leaves
    jointly, so a linear RNN whose biases train contributes their blocks too.
    n is capped at the probe batch size. Our choices: the inputs (the first n
    held-out probe sequences, fixed per member), n = 8.
    """
    if n_sequences < 1:
        raise ValueError(f"n_sequences={n_sequences}: must be >= 1")

    def fn(ctx: ProbeContext) -> jax.Array:
        x = ctx.probe_x[:, :n_sequences]
        return empirical_ntk(member_predict(ctx.model, ctx.cfg, outputs), ctx.params, x, mode=mode)

    return fn


def ntk_probes() -> dict[str, Probe]:
    """The ``"ntk"`` probe; its shape (n N_y, n N_y) is read by the engine from the function."""
    return {"ntk": Probe("ntk", ntk_probe())}
