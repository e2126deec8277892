"""The first probes: training loss, gradient norm, spectral radius.

A probe is a pure function ``fn(ctx) -> array`` of one member's
:class:`ProbeContext`; it runs inside the training scan (vmapped over members)
at the recording schedule and returns a small array (a scalar for these).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree


class ProbeContext(NamedTuple):
    model: Any  # rnnscope.models.base.Model
    cfg: Any  # ModelConfig
    params: Any
    opt_state: Any
    loss: jax.Array  # loss of the training batch of this step
    grad_norm: jax.Array  # global norm of that step's gradient
    probe_x: jax.Array  # a fixed held-out batch (T, B, D) for this member
    opt_cfg: Any = None  # rnnscope.optim.OptimizerConfig of the run (b2, eps for base rates)
    # key -> gradient of a fresh training-sized minibatch, clipped and winsorised
    # as the run's current optimiser does it (for gradient-noise probes)
    minibatch_grad: Callable[[jax.Array], Any] | None = None
    key: jax.Array | None = None  # fresh randomness for this record of this member
    update_buffer: jax.Array | None = None  # slow-row updates since the last record (NaN = empty)
    probe_y: jax.Array | None = None  # targets of probe_x: (T, B, O) for "every" targets, (B, O) for "last"
    task: Any = None  # rnnscope.tasks.Task the member trains on (its loss, target and lags)


class Probe(NamedTuple):
    """A named measurement; ``one_device`` marks probes that hand large arrays to host code.

    A host callback inside a program sharded over several CPU devices stalls
    once its arguments pass a few tens of kB (the device thread that would
    copy them out is the one waiting for the callback), so a run that records
    such a probe trains its population on one device.
    """

    name: str
    fn: Callable[[ProbeContext], jax.Array]
    shape: tuple[int, ...] = ()
    one_device: bool = False


def loss(ctx: ProbeContext) -> jax.Array:
    """Loss of the training batch at this step (mean over the task's targets)."""
    return ctx.loss


def grad_norm(ctx: ProbeContext) -> jax.Array:
    """Global L2 norm of the gradient, ||dL/dtheta||_2 over all trained leaves."""
    return ctx.grad_norm


def _eigvals_host(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m)
    wide = np.complex128 if np.iscomplexobj(m) else np.float64
    return np.linalg.eigvals(m.astype(wide)).astype(np.complex64)


def eigvals(m: jax.Array) -> jax.Array:
    """Eigenvalues of a (batch of) non-symmetric matrix through LAPACK on the host.

    ``jnp.linalg.eig`` for non-symmetric matrices is CPU-only or broken on GPU
    backends (jax#1259, jax#25687); a host callback gives the same LAPACK
    answer on every backend.
    """
    out = jax.ShapeDtypeStruct(m.shape[:-1], jnp.complex64)
    return jax.pure_callback(_eigvals_host, out, m, vmap_method="broadcast_all")


def state_jacobian_at_rest(model, cfg, params) -> jax.Array:
    """J = d step(h, 0) / d h at the initial state h_0 and zero input, as a matrix.

    For Elman, J = diag(1 - tanh^2(b)) W_h; for a linear RNN, J = W_h; for the
    leaky continuous-time RNN, J = (1 - dt) I + dt W_h. Multi-part states (the
    LSTM's (h, c)) are flattened; complex states use the holomorphic Jacobian.
    """
    h0 = model.initial_state(params, cfg)
    flat0, unravel = ravel_pytree(h0)
    x0 = jnp.zeros((cfg.input_dim,), jnp.float32)

    def f(flat):
        return ravel_pytree(model.step(params, unravel(flat), x0))[0]

    return jax.jacfwd(f, holomorphic=jnp.iscomplexobj(flat0))(flat0)


def spectral_radius(ctx: ProbeContext) -> jax.Array:
    """rho = max_i |lambda_i(J)| of the state Jacobian at rest (see ``state_jacobian_at_rest``).

    rho < 1: the linearised dynamics around rest contract; rho > 1: they expand
    (Bengio, Simard & Frasconi 1994).
    """
    jac = state_jacobian_at_rest(ctx.model, ctx.cfg, ctx.params)
    return jnp.max(jnp.abs(eigvals(jac))).astype(jnp.float32)


def jacobian_eigenvalues(ctx: ProbeContext) -> jax.Array:
    """Every eigenvalue lambda_i of the state Jacobian at rest, as rows (Re lambda_i, Im lambda_i): shape (2, n).

    The cloud whose largest modulus ``spectral_radius`` records; for a linear
    RNN these are the eigenvalues of W_h, whose outliers carry the learned
    time scales tau = -1 / log|lambda| (Bordelon et al. 2025; Livi 2026).
    """
    lam = eigvals(state_jacobian_at_rest(ctx.model, ctx.cfg, ctx.params))
    return jnp.stack([lam.real, lam.imag]).astype(jnp.float32)
