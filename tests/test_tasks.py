"""Tests of the synthetic tasks: shapes, targets recomputed in NumPy, lag laws, errors."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from rnnscope.tasks import (
    TASKS,
    make_task,
    pareto_lags,
    task_direction,
    truncated_pareto_cdf,
    truncated_pareto_icdf,
)

# The samplers work with any key implementation. Most tests use "rbg" keys,
# whose random-bit programs compile several times faster than the default
# threefry ones; the determinism tests use the default implementation.
KEY = jax.random.key(0, impl="rbg")
BATCH = 3

_CACHE: dict = {}


def task_for(name, **kwargs):
    """One Task per distinct configuration, so its compiled sampler is reused."""
    ident = (name, tuple(sorted(kwargs.items())))
    if ident not in _CACHE:
        _CACHE[ident] = make_task(name, **kwargs)
    return _CACHE[ident]


def draw(task, batch=BATCH, key=KEY):
    x, y = task.sample(key, batch)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


# --------------------------------------------------------------------------
# Shapes and dtypes
# --------------------------------------------------------------------------

INTEG = dict(seq_len=64, input_dim=2, sigma=1.5, c=0.3, omega=0.7)
MULTI = dict(lags=(0, 2, 5, 9), coeffs=(0.6, -0.5, 0.4, 0.3), seq_len=24, input_dim=4,
             noise_std=0.0, task_seed=7)
PARETO = dict(k=4, alpha=0.6, l_min=2, l_max=20, c0=0.6, ratio=0.85, seq_len=32,
              input_dim=3, noise_std=0.0, task_seed=11)
SMALL = {
    "integration": INTEG,
    "recall": dict(seq_len=12, lag=3, input_dim=2),
    "multilag": MULTI,
    "multilag_pareto": PARETO,
    "adding": dict(seq_len=12),
    "latch": dict(seq_len=20, prefix_len=3, mu=1.0, noise_std=0.2),
    "linear_dynamics": dict(seq_len=4, input_dim=2, output_dim=2, n_samples=12),
    "sensory_integration": dict(seq_len=5),
}
# the adding and latch value tests need large batches; the shape test reuses them
SHAPE_BATCH = {"adding": 512, "latch": 4000, "linear_dynamics": 12}  # linear_dynamics serves its fixed set of 12
LAST_ONLY = {"adding", "latch", "sensory_integration"}

SHAPE_CASES = []
for _name, _kw in SMALL.items():
    if _name in LAST_ONLY:
        SHAPE_CASES.append((_name, _kw))
    elif _name == "integration":
        for _kind in ("sum", "mean", "leaky", "oscillator"):
            for _target in ("every", "last"):
                SHAPE_CASES.append((_name, dict(_kw, kind=_kind, dt=1.0, target=_target)))
    else:
        for _target in ("every", "last"):
            SHAPE_CASES.append((_name, dict(_kw, target=_target)))


def test_registry_covers_every_family():
    assert set(TASKS) == set(SMALL)
    for name in TASKS:  # the documented defaults build
        task = make_task(name)
        assert task.name == name


def _shape_id(case):
    name, kwargs = case
    return "-".join(str(v) for v in (name, kwargs.get("kind"), kwargs.get("target", "last")) if v)


@pytest.mark.parametrize("name,kwargs", SHAPE_CASES, ids=[_shape_id(c) for c in SHAPE_CASES])
def test_shapes_and_dtypes(name, kwargs):
    task = task_for(name, **kwargs)
    batch = SHAPE_BATCH.get(name, BATCH)
    x, y = task.sample(KEY, batch)  # the sampler is compiled (jit) internally
    assert x.shape == (task.seq_len, batch, task.input_dim)
    if task.target == "every":
        assert y.shape == (task.seq_len, batch, task.output_dim)
    else:
        assert task.target == "last"
        assert y.shape == (batch, task.output_dim)
    assert x.dtype == jnp.float32 and y.dtype == jnp.float32
    assert task.loss in ("mse", "logistic")
    assert all(isinstance(l, int) and 0 <= l < task.seq_len for l in task.lags)
    assert np.all(np.isfinite(np.asarray(x))) and np.all(np.isfinite(np.asarray(y)))


# --------------------------------------------------------------------------
# Determinism, jit and vmap
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["multilag", "multilag_pareto"])
def test_a_fresh_build_poses_the_same_task(name):
    # the only families with construction-time randomness (u and the lags)
    task = task_for(name, **SMALL[name], target="every")
    x1, y1 = task.sample(KEY, BATCH)
    x2, y2 = make_task(name, **SMALL[name], target="every").sample(KEY, BATCH)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)


VMAP_CASES = {
    "integration": dict(INTEG, kind="oscillator", target="every"),
    "multilag": dict(MULTI, target="every"),
    "adding": SMALL["adding"],
    "latch": SMALL["latch"],
}


@pytest.mark.parametrize("name", sorted(VMAP_CASES))
def test_sample_is_a_deterministic_function_of_the_key_under_vmap(name):
    task = task_for(name, **VMAP_CASES[name])
    # vmap over (default threefry) keys gives the per-key samples
    keys = jax.random.split(jax.random.key(0), 3)
    xv, yv = jax.jit(jax.vmap(lambda k: task.sample(k, 2)))(keys)
    assert xv.shape == (3, task.seq_len, 2, task.input_dim)
    assert not np.array_equal(np.asarray(xv[0]), np.asarray(xv[1]))
    for i in range(3):
        xi, yi = task.sample(keys[i], 2)
        np.testing.assert_allclose(xv[i], xi, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(yv[i], yi, rtol=1e-5, atol=1e-5)
        xj, yj = task.sample(keys[i], 2)  # the same key again
        np.testing.assert_array_equal(xi, xj)
        np.testing.assert_array_equal(yi, yj)


def test_raw_uint32_keys_work_too():
    task = task_for("recall", **SMALL["recall"])
    x, y = task.sample(jax.random.PRNGKey(3), 2)
    assert x.shape == (12, 2, 2)


# --------------------------------------------------------------------------
# White-noise integration against an explicit NumPy convolution
# --------------------------------------------------------------------------


def numpy_kernel(kind, s, c, omega):
    if kind == "sum":
        return np.ones_like(s)
    if kind == "leaky":
        return np.exp(-c * s)
    return np.exp(-c * s) * np.cos(omega * s)


@pytest.mark.parametrize("kind", ["sum", "mean", "leaky", "oscillator"])
@pytest.mark.parametrize("dt", [1.0, 0.25])
def test_integration_targets_match_numpy(kind, dt):
    T, c, omega = INTEG["seq_len"], INTEG["c"], INTEG["omega"]
    task = task_for("integration", **INTEG, kind=kind, dt=dt, target="every")
    x, y = draw(task)
    t = np.arange(T)
    lag = t[:, None] - t[None, :]
    if kind == "mean":
        conv = np.where(lag >= 0, 1.0, 0.0) / (t[:, None] + 1)
    else:
        conv = np.where(lag >= 0, dt * numpy_kernel(kind, np.maximum(lag, 0) * dt, c, omega), 0.0)
    ref = np.einsum("tk,kbd->tbd", conv, x)
    atol = 2e-5 * max(np.abs(ref).max(), 1.0)
    np.testing.assert_allclose(y, ref, rtol=0, atol=atol)
    assert np.std(x) == pytest.approx(INTEG["sigma"], rel=0.1)
    assert task.lags == () and task.output_dim == 2

    if dt == 1.0:
        last = task_for("integration", **INTEG, kind=kind, dt=dt, target="last")
        xl, yl = draw(last)
        np.testing.assert_array_equal(xl, x)
        np.testing.assert_allclose(yl, ref[-1], rtol=0, atol=atol)


# --------------------------------------------------------------------------
# Delayed recall
# --------------------------------------------------------------------------


@pytest.mark.parametrize("lag", [0, 3, 11])
@pytest.mark.parametrize("target", ["every", "last"])
def test_recall_targets_are_shifted_inputs(lag, target):
    T = 12
    task = task_for("recall", seq_len=T, lag=lag, input_dim=2, target=target)
    x, y = draw(task)
    ref = np.zeros_like(x)
    for t in range(lag, T):
        ref[t] = x[t - lag]
    np.testing.assert_array_equal(y, ref if target == "every" else ref[-1])
    assert task.lags == (lag,)


# --------------------------------------------------------------------------
# Multi-lag regression
# --------------------------------------------------------------------------


def explicit_multilag(x, u, lags, coeffs):
    T, B, _ = x.shape
    proj = x @ u.astype(np.float64)  # (T, B)
    y = np.zeros((T, B))
    for lag, c in zip(lags, coeffs):
        for t in range(lag, T):
            y[t] += c * proj[t - lag]
    return y[..., None]


def test_task_direction_is_a_fixed_unit_vector():
    u = task_direction(16, 212)
    assert u.shape == (16,) and u.dtype == np.float32
    assert np.linalg.norm(u) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(u, task_direction(16, 212))
    assert not np.allclose(u, task_direction(16, 213))


@pytest.mark.parametrize("target", ["every", "last"])
def test_multilag_target_matches_explicit_shifts(target):
    task = task_for("multilag", **MULTI, target=target)
    x, y = draw(task)
    ref = explicit_multilag(x, task_direction(MULTI["input_dim"], 7), MULTI["lags"], MULTI["coeffs"])
    np.testing.assert_allclose(y, ref if target == "every" else ref[-1], atol=1e-5)
    assert task.lags == MULTI["lags"] and task.output_dim == 1
    assert np.std(x) == pytest.approx(1.0, rel=0.1)


def test_multilag_noise_has_the_stated_scale():
    sigma = 0.3
    task = task_for("multilag", **dict(MULTI, noise_std=sigma), target="every")
    x, y = draw(task, batch=64)
    ref = explicit_multilag(x, task_direction(MULTI["input_dim"], 7), MULTI["lags"], MULTI["coeffs"])
    resid = (y - ref).ravel()
    n = resid.size
    # The sample standard deviation of n Gaussians has standard error sigma / sqrt(2n);
    # the mean has standard error sigma / sqrt(n). Allow 5 standard errors.
    assert abs(resid.std() / sigma - 1) < 5 / math.sqrt(2 * n)
    assert abs(resid.mean()) < 5 * sigma / math.sqrt(n)


def test_multilag_task_seed_fixes_the_direction_only():
    xa, ya = draw(task_for("multilag", **MULTI, target="every"))
    xb, yb = draw(task_for("multilag", **dict(MULTI, task_seed=8), target="every"))
    np.testing.assert_array_equal(xa, xb)
    assert not np.allclose(ya, yb)


@pytest.mark.parametrize("target", ["every", "last"])
def test_pareto_task_uses_the_drawn_lags_and_geometric_coefficients(target):
    task = task_for("multilag_pareto", **PARETO, target=target)
    lags = pareto_lags(4, 0.6, 2, 20, seed=11)
    assert task.lags == lags
    x, y = draw(task)
    ref = explicit_multilag(x, task_direction(3, 11), lags, [0.6 * 0.85**i for i in range(4)])
    np.testing.assert_allclose(y, ref if target == "every" else ref[-1], atol=1e-5)


# --------------------------------------------------------------------------
# Truncated Pareto lags
# --------------------------------------------------------------------------


def dkw_epsilon(n, delta=1e-6):
    """Dvoretzky-Kiefer-Wolfowitz: P(sup|F_n - F| > eps) <= 2 exp(-2 n eps^2) = delta.

    Valid for any distribution (continuous or discrete).
    """
    return math.sqrt(math.log(2 / delta) / (2 * n))


def test_pareto_cdf_and_inverse_agree():
    a, lo, hi = 0.6, 8.0, 640.0
    u = np.linspace(0, 1, 101)
    l = truncated_pareto_icdf(u, a, lo, hi)
    assert l[0] == pytest.approx(lo) and l[-1] == pytest.approx(hi)
    np.testing.assert_allclose(truncated_pareto_cdf(l, a, lo, hi), u, atol=1e-12)
    assert np.all(np.diff(l) > 0)
    # the density (numerical derivative of the CDF) follows l^{-(a+1)}
    grid = np.array([10.0, 40.0, 160.0])
    h = 1e-4
    dens = (truncated_pareto_cdf(grid + h, a, lo, hi) - truncated_pareto_cdf(grid - h, a, lo, hi)) / (2 * h)
    np.testing.assert_allclose(dens[1:] / dens[0], (grid[1:] / grid[0]) ** (-(a + 1)), rtol=1e-5)


def test_continuous_pareto_draws_follow_the_analytic_cdf():
    a, lo, hi, n = 0.6, 8.0, 640.0, 20000
    draws = truncated_pareto_icdf(np.random.default_rng(0).uniform(size=n), a, lo, hi)
    ks = stats.kstest(draws, lambda v: truncated_pareto_cdf(v, a, lo, hi)).statistic
    assert ks < dkw_epsilon(n)  # about 0.019 for n = 20000


def test_pareto_lag_sampler_follows_the_rounded_law():
    # With K = 1 each call returns the rounded first draw, whose law is
    # P(L <= m) = F(m + 1/2) for integer m in [l_min, l_max].
    a, lo, hi, n = 0.6, 8, 640, 4000
    lags = np.array([pareto_lags(1, a, lo, hi, seed=s)[0] for s in range(n)])
    assert lags.min() >= lo and lags.max() <= hi
    m = np.arange(lo, hi + 1)
    law = truncated_pareto_cdf(m + 0.5, a, lo, hi)
    ecdf = np.searchsorted(np.sort(lags), m, side="right") / n
    assert np.max(np.abs(ecdf - law)) < dkw_epsilon(n)  # about 0.043 for n = 4000
    # heavy tail: a visible share of lags lands beyond 100
    assert np.mean(lags > 100) == pytest.approx(1 - truncated_pareto_cdf(100.5, a, lo, hi),
                                                abs=dkw_epsilon(n))


def test_pareto_lags_are_unique_sorted_bounded_and_deterministic():
    for seed in range(20):
        lags = pareto_lags(16, 0.6, 8, 640, seed=seed)
        assert len(lags) == 16 == len(set(lags))
        assert list(lags) == sorted(lags)
        assert all(isinstance(l, int) and 8 <= l <= 640 for l in lags)
        assert lags == pareto_lags(16, 0.6, 8, 640, seed=seed)
    assert pareto_lags(seed=1) != pareto_lags(seed=2)
    assert pareto_lags() == pareto_lags(16, 0.6, 8, 640, seed=20260410)


def test_pareto_lags_top_up_from_the_grid():
    # no draws at all: the grid round(linspace(l_min, l_max, K)) is used
    assert pareto_lags(5, 0.6, 10, 50, seed=0, max_draws=0) == (10, 20, 30, 40, 50)
    # K equal to the number of integers in range: every integer, whatever the draws
    assert pareto_lags(8, 0.6, 5, 12, seed=3) == tuple(range(5, 13))
    assert pareto_lags(8, 3.0, 5, 12, seed=3, max_draws=4) == tuple(range(5, 13))


# --------------------------------------------------------------------------
# Adding problem
# --------------------------------------------------------------------------


@pytest.mark.parametrize("seq_len", [12, 300])
def test_adding_markers_and_target(seq_len):
    task = task_for("adding", seq_len=seq_len)
    x, y = draw(task, 512)
    values, markers = x[..., 0], x[..., 1]
    n1, n2 = math.ceil(seq_len / 10), math.ceil(seq_len / 2)
    assert set(np.unique(markers)) == {0.0, 1.0}
    assert np.all(markers.sum(axis=0) == 2)
    pos = np.sort(np.argwhere(markers.T == 1)[:, 1].reshape(512, 2), axis=1)
    assert np.all(pos[:, 0] < n1)  # one marker in the first 10%
    assert np.all(pos[:, 1] < n2)  # the other in the first half
    if n2 > n1:
        assert np.any(pos[:, 1] >= n1)  # the second window is used beyond the first
    assert np.all((values >= 0) & (values < 1))
    b = np.arange(512)
    ref = values[pos[:, 0], b] + values[pos[:, 1], b]
    np.testing.assert_allclose(y[:, 0], ref, atol=1e-6)
    assert task.lags == (seq_len - n1,)
    assert task.target == "last" and task.loss == "mse"


# --------------------------------------------------------------------------
# Noisy latch
# --------------------------------------------------------------------------


def test_latch_labels_are_balanced_and_inputs_follow_the_class():
    n, L, T, mu, s = 4000, 3, 20, 1.0, 0.2
    task = task_for("latch", **SMALL["latch"])
    x, y = draw(task, n)
    labels = y[:, 0]
    assert set(np.unique(labels)) == {0.0, 1.0}
    # Binomial(n, 1/2): standard error 1/(2 sqrt(n)); allow 4 of them.
    assert abs(labels.mean() - 0.5) < 4 * 0.5 / math.sqrt(n)
    c = 2 * labels - 1
    noise = x.copy()
    noise[:L] -= (c * mu)[None, :, None]
    m = noise.size
    assert abs(noise.std() / s - 1) < 5 / math.sqrt(2 * m)
    assert abs(noise.mean()) < 5 * s / math.sqrt(m)
    assert task.lags == (T - L,) and task.loss == "logistic" and task.target == "last"

    x0, y0 = draw(task_for("latch", seq_len=T, prefix_len=L, mu=2.0, noise_std=0.0), 8)
    c0 = 2 * y0[:, 0] - 1
    np.testing.assert_array_equal(x0[:L, :, 0], np.broadcast_to(2.0 * c0, (L, 8)))
    np.testing.assert_array_equal(x0[L:], 0.0)


# --------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------

BAD = [
    ("integration", dict(kind="cube"), "kind"),
    ("integration", dict(target="first"), "target"),
    ("integration", dict(c=-0.1), "c"),
    ("integration", dict(dt=0.0), "dt"),
    ("integration", dict(sigma=-1.0), "sigma"),
    ("integration", dict(seq_len=0), "seq_len"),
    ("integration", dict(input_dim=2.5), "input_dim"),
    ("recall", dict(lag=-1), "lag"),
    ("recall", dict(lag=50, seq_len=50), "lag"),
    ("recall", dict(lag=2.5), "lag"),
    ("multilag", dict(lags=(1, -2), coeffs=(1.0, 1.0)), "lags"),
    ("multilag", dict(lags=(10, 1024), coeffs=(1.0, 1.0)), "lags"),
    ("multilag", dict(lags=(3, 3), coeffs=(1.0, 1.0)), "lags"),
    ("multilag", dict(lags=()), "lags"),
    ("multilag", dict(lags=(3, 4), coeffs=(1.0,)), "coeffs"),
    ("multilag", dict(noise_std=-0.1), "noise_std"),
    ("multilag", dict(task_seed=-1), "task_seed"),
    ("multilag_pareto", dict(l_max=1280), "l_max"),
    ("multilag_pareto", dict(k=1000), "k"),
    ("multilag_pareto", dict(alpha=0.0), "alpha"),
    ("multilag_pareto", dict(l_min=0), "l_min"),
    ("adding", dict(seq_len=2), "seq_len"),
    ("adding", dict(first_window=0.6), "first_window"),
    ("adding", dict(second_window=1.5), "second_window"),
    ("adding", dict(target="every"), "target"),
    ("latch", dict(prefix_len=0), "prefix_len"),
    ("latch", dict(prefix_len=60, seq_len=51), "prefix_len"),
    ("latch", dict(noise_std=-1.0), "noise_std"),
]


@pytest.mark.parametrize("name,kwargs,arg", BAD, ids=[f"{n}-{a}-{i}" for i, (n, _, a) in enumerate(BAD)])
def test_bad_arguments_raise_naming_the_argument(name, kwargs, arg):
    with pytest.raises(ValueError, match=rf"task\.{arg}\b"):
        make_task(name, **kwargs)


def test_unknown_task_name():
    with pytest.raises(ValueError, match=r"task\.name='nope': allowed .*'latch'"):
        make_task("nope")


def test_bad_batch_and_bad_lag_sampler_arguments():
    task = task_for("recall", **SMALL["recall"])
    with pytest.raises(ValueError, match="batch"):
        task.sample(KEY, 0)
    with pytest.raises(ValueError, match=r"task\.k\b"):
        pareto_lags(0)
    with pytest.raises(ValueError, match=r"task\.l_max\b"):
        pareto_lags(3, 0.6, 10, 10)
