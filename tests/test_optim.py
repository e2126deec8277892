"""Tests of rnnscope.optim: the stable sampler, forcing controls, optimisers."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import stats

from rnnscope.optim import (
    NAMES,
    OptimizerConfig,
    add_stable_noise,
    bias_corrected_second_moment,
    init_member,
    learning_rate,
    make_optimizer,
    second_moment,
    symmetric_stable,
    winsorize,
)

QUANTILES = np.array([0.05, 0.1, 0.25, 0.75, 0.9, 0.95])
N_SAMPLES = 200_000
N_SE = 5.0  # tolerance in asymptotic standard errors of a sample quantile


# ---------------------------------------------------------------- sampler


@pytest.fixture(scope="module")
def stable_samples():
    """200,000 draws for each tail index, from one vmapped, jitted call."""
    alphas = [1.0, 1.2, 1.5, 1.8, 2.0]
    keys = jax.random.split(jax.random.PRNGKey(2024), len(alphas))
    draw = jax.jit(jax.vmap(lambda k, a: symmetric_stable(k, a, (N_SAMPLES,))))
    x = np.asarray(draw(keys, jnp.asarray(alphas, jnp.float32)))
    return {a: x[i] for i, a in enumerate(alphas)}


def _check_quantiles(x, ppf, pdf):
    n = x.size
    se = np.sqrt(QUANTILES * (1 - QUANTILES) / n) / pdf
    emp = np.quantile(x, QUANTILES)
    assert np.all(np.isfinite(x))
    np.testing.assert_array_less(np.abs(emp - ppf), N_SE * se)


@pytest.mark.parametrize("alpha", [1.2, 1.5, 1.8, 2.0])
def test_stable_quantiles_match_scipy(stable_samples, alpha):
    ppf = stats.levy_stable.ppf(QUANTILES, alpha, 0.0)
    pdf = stats.levy_stable.pdf(ppf, alpha, 0.0)
    _check_quantiles(stable_samples[alpha], ppf, pdf)


def test_stable_alpha_one_is_cauchy(stable_samples):
    ppf = np.tan(np.pi * (QUANTILES - 0.5))
    pdf = 1 / (np.pi * (1 + ppf**2))
    _check_quantiles(stable_samples[1.0], ppf, pdf)


def test_stable_alpha_two_is_normal_variance_two(stable_samples):
    x = stable_samples[2.0]
    # sd of the sample variance of N(0, s2) is s2 sqrt(2 / n)
    assert abs(x.var() - 2.0) < N_SE * 2.0 * math.sqrt(2 / x.size)


def test_stable_traced_alpha_matches_constant():
    key = jax.random.PRNGKey(3)
    a = 1.7
    direct = symmetric_stable(key, a, (64,))
    traced = jax.jit(lambda al: symmetric_stable(key, al, (64,)))(jnp.float32(a))
    np.testing.assert_allclose(direct, traced, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------- optimisers


def _params():
    return {
        "w": jnp.array([[0.5, -1.0, 2.0], [0.3, 0.0, -0.7]], jnp.float32),
        "b": jnp.array([1.0, -2.0, 0.25], jnp.float32),
    }


def _loss(p):
    # a smooth non-quadratic loss so gradients change from step to step
    return jnp.sum(jnp.sin(p["w"]) ** 2) + jnp.sum((p["b"] - 0.3) ** 4)


_grad = jax.grad(_loss)


def _run(opt, state, params, steps):
    trail = []
    for _ in range(steps):
        updates, state = opt.update(_grad(params), state, params)
        params = optax.apply_updates(params, updates)
        trail.append(updates)
    return params, state, trail


def _plain(name, lr):
    return {
        "sgd": optax.sgd(lr),
        "momentum": optax.sgd(lr, momentum=0.9),
        "adam": optax.adam(lr),
        "adamw": optax.adamw(lr, weight_decay=1e-4),
        "rmsprop": optax.rmsprop(lr),
    }[name]


def _assert_tree_equal(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("name", NAMES)
def test_first_steps_equal_plain_optax(name):
    lr = 0.05
    opt = make_optimizer(OptimizerConfig(name=name))
    state = init_member(opt, _params(), {"lr": lr}, jax.random.PRNGKey(0))
    ref = _plain(name, lr)
    _, _, ours = _run(opt, state, _params(), 3)
    _, _, theirs = _run(ref, ref.init(_params()), _params(), 3)
    _assert_tree_equal(ours, theirs)


def _batched(tree, n):
    return jax.tree.map(lambda x: jnp.stack([x] * n), tree)


def _run_population(opt, hp, keys, steps):
    n = keys.shape[0]
    states = jax.vmap(lambda h, k: init_member(opt, _params(), h, k))(hp, keys)
    params = _batched(_params(), n)
    step = jax.vmap(opt.update)
    trail = []
    for _ in range(steps):
        updates, states = step(jax.vmap(_grad)(params), states, params)
        params = optax.apply_updates(params, updates)
        trail.append(updates)
    return params, states, trail


@pytest.mark.parametrize("name", NAMES)
def test_vmap_members_match_lone_optimisers(name):
    opt = make_optimizer(OptimizerConfig(name=name))
    lrs = jnp.array([1e-3, 1e-2, 1e-1], jnp.float32)
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    params, states, _ = _run_population(opt, {"lr": lrs}, keys, 3)
    np.testing.assert_array_equal(learning_rate(states), lrs)

    # Bit for bit: plain optax, vmapped in the same way over the same rates.
    ref_states = jax.vmap(lambda lr: _plain(name, lr).init(_params()))(lrs)
    ref_step = jax.vmap(lambda g, s, p, lr: _plain(name, lr).update(g, s, p))
    ref_params = _batched(_params(), 3)
    for _ in range(3):
        grads = jax.vmap(_grad)(ref_params)
        updates, ref_states = ref_step(grads, ref_states, ref_params, lrs)
        ref_params = optax.apply_updates(ref_params, updates)
    _assert_tree_equal(params, ref_params)

    # Against a lone (unbatched) optimiser: XLA on CPU may round a batched
    # division differently by one ulp (plain optax's Adam does the same), so
    # the comparison allows a few float32 ulps.
    for i in range(3):
        lone = init_member(opt, _params(), {"lr": lrs[i]}, keys[i])
        p_i, _, _ = _run(opt, lone, _params(), 3)
        for x, y in zip(jax.tree.leaves(params), jax.tree.leaves(p_i), strict=True):
            np.testing.assert_allclose(x[i], y, rtol=1e-6, atol=1e-7)
    # members with different rates really moved differently
    assert not np.allclose(params["b"][0], params["b"][2])


def test_vmap_noisy_members_match_lone_optimisers():
    opt = make_optimizer(OptimizerConfig(name="adam", noise_mode="update", use_winsor=True))
    hp = {
        "lr": jnp.array([1e-2, 1e-2, 3e-2]),
        "noise_alpha": jnp.array([1.2, 1.6, 2.0]),
        "noise_scale": jnp.array([0.5, 1.0, 0.0]),
        "winsor": jnp.array([90.0, 100.0, 80.0]),
        "clip": jnp.array([1.0, jnp.inf, 0.5]),
    }
    keys = jax.random.split(jax.random.PRNGKey(7), 3)
    params, _, _ = _run_population(opt, hp, keys, 2)
    for i in range(3):
        lone = init_member(opt, _params(), {k: v[i] for k, v in hp.items()}, keys[i])
        p_i, _, _ = _run(opt, lone, _params(), 2)
        for x, y in zip(jax.tree.leaves(params), jax.tree.leaves(p_i)):
            np.testing.assert_allclose(x[i], y, rtol=1e-6, atol=1e-7)


def test_config_and_hp_validation():
    with pytest.raises(ValueError, match="name"):
        OptimizerConfig(name="lion")
    with pytest.raises(ValueError, match="noise_mode"):
        OptimizerConfig(noise_mode="weights")
    opt = make_optimizer(OptimizerConfig())
    with pytest.raises(ValueError, match="learning_rate"):
        init_member(opt, _params(), {"learning_rate": 0.1})


# ------------------------------------------------------ clipping, winsor


def test_clipping_caps_global_norm():
    opt = make_optimizer(OptimizerConfig(name="sgd"))
    big = jax.tree.map(lambda p: 10.0 * (p + 1.0), _params())
    clips = jnp.array([jnp.inf, 1.0, 0.1, 1e6])
    states = jax.vmap(lambda c: init_member(opt, _params(), {"lr": 1.0, "clip": c}))(
        clips
    )
    updates, _ = jax.vmap(opt.update, in_axes=(None, 0))(big, states)
    norm = float(optax.tree.norm(big))
    for i, c in enumerate(np.asarray(clips)):
        u = jax.tree.map(lambda x: -x[i], updates)
        if c >= norm:  # off, or above the norm: untouched
            _assert_tree_equal(u, big)
        else:
            np.testing.assert_allclose(float(optax.tree.norm(u)), c, rtol=1e-5)
            expected = jax.tree.map(lambda g: g * (c / norm), big)
            for x, y in zip(jax.tree.leaves(u), jax.tree.leaves(expected)):
                np.testing.assert_allclose(x, y, rtol=1e-5)


def _winsor_grads():
    rng = np.random.default_rng(0)
    g = rng.standard_t(df=1.5, size=120).astype(np.float32)
    return {"a": jnp.asarray(g[:40].reshape(5, 8)), "b": jnp.asarray(g[40:])}


@pytest.mark.parametrize("pct", [50.0, 80.0, 95.0])
def test_winsorize_caps_at_percentile(pct):
    g = _winsor_grads()
    pooled = np.concatenate([np.abs(np.asarray(x)).ravel() for x in jax.tree.leaves(g)])
    c = np.percentile(pooled, pct)
    tx = winsorize(pct)
    out, _ = tx.update(g, tx.init(g))
    for x, y in zip(jax.tree.leaves(g), jax.tree.leaves(out)):
        x, y = np.asarray(x), np.asarray(y)
        small = np.abs(x) <= c
        np.testing.assert_array_equal(y[small], x[small])
        # threshold from float32 jnp.percentile vs float64 numpy
        np.testing.assert_allclose(y[~small], np.sign(x[~small]) * c, rtol=1e-5)
        assert np.all(np.abs(y) <= c * (1 + 1e-5))
    assert (~(pooled <= c)).sum() > 0


def test_winsorize_traced_percentile_and_off():
    g = _winsor_grads()
    pcts = jnp.array([80.0, 100.0, 150.0])

    def apply(p):  # the transformation is built with a traced percentile
        t = winsorize(p)
        return t.update(g, t.init(g))[0]

    out = jax.jit(jax.vmap(apply))(pcts)
    _assert_tree_equal(jax.tree.map(lambda x: x[1], out), g)
    _assert_tree_equal(jax.tree.map(lambda x: x[2], out), g)
    direct = winsorize(80.0).update(g, optax.EmptyState())[0]
    for x, y in zip(jax.tree.leaves(out), jax.tree.leaves(direct)):
        np.testing.assert_allclose(x[0], y, rtol=1e-6)


def test_winsorize_through_make_optimizer():
    opt = make_optimizer(OptimizerConfig(name="sgd", use_winsor=True))
    g = _winsor_grads()
    state = init_member(opt, g, {"lr": 1.0, "winsor": 90.0})
    u, _ = opt.update(g, state)
    ref = winsorize(90.0).update(g, optax.EmptyState())[0]
    _assert_tree_equal(jax.tree.map(jnp.negative, u), ref)


# ------------------------------------------------------------------ noise


@pytest.mark.parametrize("mode", ["update", "gradient"])
def test_noise_off_is_bit_identical(mode):
    quiet = make_optimizer(OptimizerConfig(name="adam"))
    noisy = make_optimizer(OptimizerConfig(name="adam", noise_mode=mode))
    hp = {"lr": 0.01, "noise_alpha": 1.3, "noise_scale": 0.0}
    key = jax.random.PRNGKey(5)
    _, _, a = _run(quiet, init_member(quiet, _params(), hp), _params(), 3)
    _, _, b = _run(noisy, init_member(noisy, _params(), hp, key), _params(), 3)
    _assert_tree_equal(a, b)


@pytest.mark.parametrize("mode", ["update", "gradient"])
def test_noise_on_is_deterministic_and_changes_update(mode):
    quiet = make_optimizer(OptimizerConfig(name="adam"))
    noisy = make_optimizer(OptimizerConfig(name="adam", noise_mode=mode))
    hp = {"lr": 0.01, "noise_alpha": 1.5, "noise_scale": 1.0}
    k1, k2 = jax.random.PRNGKey(5), jax.random.PRNGKey(6)
    _, _, a = _run(quiet, init_member(quiet, _params(), hp), _params(), 2)
    _, s1, b1 = _run(noisy, init_member(noisy, _params(), hp, k1), _params(), 2)
    _, _, b1_again = _run(noisy, init_member(noisy, _params(), hp, k1), _params(), 2)
    _, _, b2 = _run(noisy, init_member(noisy, _params(), hp, k2), _params(), 2)
    _assert_tree_equal(b1, b1_again)
    assert not np.allclose(a[0]["w"], b1[0]["w"])
    assert not np.allclose(b1[0]["w"], b2[0]["w"])
    # different draws at successive steps: the key is advanced in the state
    noise0 = np.asarray(b1[0]["w"]) - np.asarray(a[0]["w"])
    assert s1.count == 2
    assert not np.allclose(noise0, np.asarray(b1[1]["w"]) - np.asarray(a[1]["w"]))


def test_noise_key_lives_in_state_and_is_split():
    tx = add_stable_noise(1.5, 1.0, jax.random.PRNGKey(11))
    u = {"x": jnp.ones(50)}
    s0 = tx.init(u)
    out1, s1 = tx.update(u, s0)
    out2, s2 = tx.update(u, s1)
    assert not np.array_equal(s0.noise_key, s1.noise_key)
    assert not np.array_equal(s1.noise_key, s2.noise_key)
    assert not np.array_equal(out1["x"], out2["x"])
    again, _ = tx.update(u, s0)
    np.testing.assert_array_equal(again["x"], out1["x"])


def test_noise_scale_is_rms_times_stable():
    # alpha = 2: the added noise is scale * RMS * N(0, 2) (taper negligible)
    n, scale, level = 40_000, 0.3, 2.5
    tx = add_stable_noise(2.0, scale, 4)
    u = {"x": jnp.full((n,), level, jnp.float32)}
    out, _ = tx.update(u, tx.init(u))
    z = (np.asarray(out["x"]) - level) / (scale * level)
    assert abs(z.var() - 2.0) < N_SE * 2.0 * math.sqrt(2 / n)
    assert abs(z.mean()) < N_SE * math.sqrt(2 / n)


def test_noise_taper_bounds_draws():
    tx = add_stable_noise(0.8, 1.0, 0)
    u = {"x": jnp.ones(20_000)}
    out, _ = tx.update(u, tx.init(u))
    assert np.all(np.isfinite(out["x"]))
    assert np.max(np.abs(np.asarray(out["x"]) - 1.0)) <= 100.0 * (1 + 1e-6)


# ---------------------------------------------------------- second moment


@pytest.mark.parametrize("name", NAMES)
def test_second_moment_tree(name):
    cfg = OptimizerConfig(name=name)
    opt = make_optimizer(cfg)
    state = init_member(opt, _params(), {"lr": 0.05})
    params_2, state, _ = _run(opt, state, _params(), 2)
    nu = second_moment(state)
    if name in ("sgd", "momentum"):
        assert nu is None
        assert bias_corrected_second_moment(state, cfg) is None
        return
    ref = _plain(name, 0.05)
    _, ref_state, _ = _run(ref, ref.init(_params()), _params(), 2)
    assert jax.tree.structure(nu) == jax.tree.structure(_params())
    _assert_tree_equal(nu, ref_state[0].nu)
    vhat = bias_corrected_second_moment(state, cfg)
    factor = 1 - cfg.b2**2 if name in ("adam", "adamw") else 1.0
    for x, y in zip(jax.tree.leaves(vhat), jax.tree.leaves(nu)):
        # 1e-4: float32 rounding of b2 changes 1 - b2**2 by ~1e-5 relative
        np.testing.assert_allclose(x, np.asarray(y) / factor, rtol=1e-4)
    if name == "adam":
        # v-hat is what the update uses: u = -lr mu-hat / (sqrt(v-hat) + eps)
        u, new_state = opt.update(_grad(params_2), state, params_2)
        vhat = bias_corrected_second_moment(new_state, cfg)
        mu = new_state.inner_state[1][0].mu  # chain: clip, adam (no winsorisation)
        for uu, m, v in zip(*(jax.tree.leaves(t) for t in (u, mu, vhat))):
            expected = -0.05 * (m / (1 - cfg.b1**3)) / (jnp.sqrt(v) + cfg.eps)
            np.testing.assert_allclose(uu, expected, rtol=1e-5, atol=1e-8)


def test_second_moment_batched():
    cfg = OptimizerConfig(name="adam")
    opt = make_optimizer(cfg)
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    _, states, _ = _run_population(opt, {"lr": jnp.array([1e-3, 1e-2, 1e-1])}, keys, 1)
    nu = second_moment(states)
    assert nu["w"].shape == (3, 2, 3)
    vhat = bias_corrected_second_moment(states, cfg)
    np.testing.assert_allclose(vhat["w"], nu["w"] / (1 - cfg.b2), rtol=1e-4)
