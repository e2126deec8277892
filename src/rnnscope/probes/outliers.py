"""Outlier eigenvalues of a recurrent matrix and the radius of its random bulk.

Bordelon et al. 2025 (digest papers/integrate.md, section 5.4): a learned
low-rank change P of a Ginibre matrix W0 (entries N(0, sigma^2/N)) leaves the
bulk of eigenvalues on the circular law, the disk |lambda| <= sigma, and puts
outliers at the non-zero eigenvalues of P. An eigenvalue is an outlier when
|lambda| > r_bulk + margin; the integrator learns one real outlier at 1 - c*,
the damped oscillator a conjugate pair at 1 - c* +/- i omega*.

These functions take eigenvalue arrays (any leading batch axes) so that the
same code tracks outliers in the closed-form theory runs and, as probes,
inside the population engine's training scan.
"""

from __future__ import annotations

import jax.numpy as jnp

from .basic import eigvals

DEFAULT_MARGIN = 0.05  # our choice: finite-N edge fluctuations of the circular law at N ~ 100


def bulk_radius(eigenvalues) -> jnp.ndarray:
    """r = sqrt(2 median |lambda|^2): the radius of a uniformly filled disk.

    Under the circular law |lambda|^2 is uniform on [0, sigma^2], so its
    median is sigma^2 / 2. The median ignores a few outliers, unlike the
    spectral radius or the Frobenius norm (our estimator; the digest uses
    the spectral radius of W0, which needs the initial matrix).
    """
    return jnp.sqrt(2.0 * jnp.median(jnp.abs(eigenvalues) ** 2, axis=-1))


def outlier_mask(eigenvalues, radius, margin: float = DEFAULT_MARGIN) -> jnp.ndarray:
    """True where |lambda| > radius + margin."""
    return jnp.abs(eigenvalues) > jnp.expand_dims(jnp.asarray(radius), -1) + margin


def outlier_count(eigenvalues, radius, margin: float = DEFAULT_MARGIN) -> jnp.ndarray:
    """Number of eigenvalues outside the bulk disk (a conjugate pair counts 2)."""
    return jnp.sum(outlier_mask(eigenvalues, radius, margin), axis=-1)


def top_outlier(eigenvalues, radius, margin: float = DEFAULT_MARGIN) -> jnp.ndarray:
    """The outlier with the largest real part (upper member of a conjugate pair); NaN if none.

    For the leaky-integrator target it is the learned real eigenvalue
    (-> 1 - c*); for the damped oscillator the pair 1 - c* +/- i omega*,
    reported as its member with Im >= 0.
    """
    eigenvalues = jnp.asarray(eigenvalues)
    mask = outlier_mask(eigenvalues, radius, margin)
    # rank by real part, ties (a conjugate pair) broken towards Im >= 0
    score = jnp.where(mask, eigenvalues.real + 1e-6 * jnp.sign(eigenvalues.imag), -jnp.inf)
    best = jnp.take_along_axis(eigenvalues, jnp.argmax(score, axis=-1)[..., None], axis=-1)[..., 0]
    nan = jnp.asarray(jnp.nan + 1j * jnp.nan, dtype=best.dtype)
    return jnp.where(jnp.any(mask, axis=-1), best, nan)


def recurrent_eigenvalues(ctx) -> jnp.ndarray:
    """Eigenvalues of the recurrent weight matrix W_h (host LAPACK, see ``basic.eigvals``)."""
    return eigvals(ctx.params["W_h"])


def bulk_radius_probe(ctx) -> jnp.ndarray:
    """``bulk_radius`` of the eigenvalues of W_h."""
    return bulk_radius(recurrent_eigenvalues(ctx)).astype(jnp.float32)


def outlier_probe(ctx) -> jnp.ndarray:
    """(Re, Im, count) of ``top_outlier`` of W_h against its own bulk radius; Re = Im = NaN if none."""
    lam = recurrent_eigenvalues(ctx)
    r = bulk_radius(lam)
    top = top_outlier(lam, r)
    return jnp.stack([top.real, top.imag, outlier_count(lam, r).astype(top.real.dtype)]).astype(jnp.float32)
