"""Tests of the recurrent models: shapes, Jacobian splits against autodiff,
``run`` against a loop of ``step``, elman's custom VJP, the data-aligned
initialisation, and populations (vmap over members with traced hyper-parameters).

Small shapes; the computations of each check are compiled once per model and
reused across seeds, so the file stays fast on a couple of CPU cores."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnscope.models import MODELS, elman, get_model, linear, lru, lstm
from rnnscope.models.base import ModelConfig, scan_run, trainable
from rnnscope.models.init import aligned_linear, alignment_error, orthogonal, recover_modes, thin_qr

H, D, O, T, B = 5, 3, 2, 6, 3
NAMES = list(MODELS)
EXACT = ["elman", "linear", "ctrnn", "constgate", "sharedgate", "diaggate"]
HP = {"init_scale": 0.9, "gate": 0.3}


def cfg_for(name, init="gaussian", hidden=H):
    return ModelConfig(arch=name, hidden=hidden, input_dim=D, output_dim=O, init=init, dt=0.2)


def perturb(key, params, scale=0.5):
    """Add N(0, scale^2) noise to every trainable leaf, so that gate weights that
    start at zero (and so every term of a split) are exercised."""
    leaves, tree = jax.tree.flatten(trainable(params))
    keys = jax.random.split(key, len(leaves))
    noisy = [x + scale * jax.random.normal(k, x.shape, x.dtype) for x, k in zip(leaves, keys)]
    out = jax.tree.unflatten(tree, noisy)
    if "frozen" in params:
        out["frozen"] = params["frozen"]
    return out


def random_state(name, key, batch=()):
    """A random state; for the LSTM one it could have produced: h = o tanh(c), o in (0, 1)."""
    k1, k2 = jax.random.split(key)
    if name == "lstm":
        c = jax.random.normal(k1, batch + (H,), jnp.float32)
        o = jax.random.uniform(k2, batch + (H,), jnp.float32, 0.1, 0.9)
        return (o * jnp.tanh(c), c)
    if name == "lru":
        return jax.lax.complex(jax.random.normal(k1, batch + (H,)), jax.random.normal(k2, batch + (H,)))
    return jax.random.uniform(k1, batch + (H,), jnp.float32, -0.9, 0.9)


def setup(name, seed=0):
    """Perturbed params, a random state and an input."""
    k_init, k_pert, k_h, k_x = jax.random.split(jax.random.PRNGKey(seed), 4)
    params = perturb(k_pert, MODELS[name].init(k_init, cfg_for(name), HP))
    return params, random_state(name, k_h), jax.random.normal(k_x, (D,), jnp.float32)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def maxabs(a):
    return float(jnp.max(jnp.abs(a)))


# ---------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------


def test_registry():
    assert list(MODELS) == [
        "elman", "linear", "ctrnn", "constgate", "sharedgate", "diaggate", "gru", "lstm", "lru"
    ]
    for name, m in MODELS.items():
        assert get_model(name) is m and m.name == name
    with pytest.raises(ValueError, match=r"model.arch='rnn': allowed elman, linear, ctrnn"):
        get_model("rnn")


# ---------------------------------------------------------------------------
# (a) shapes and dtypes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_dtypes(name):
    m = MODELS[name]
    cfg = cfg_for(name)
    params = m.init(jax.random.PRNGKey(1), cfg, None)
    for leaf in jax.tree.leaves(params):
        assert leaf.dtype == jnp.float32
    state_dtype = jnp.complex64 if name == "lru" else jnp.float32
    h0 = m.initial_state(params, cfg)
    for leaf in jax.tree.leaves(h0):
        assert leaf.shape == (H,) and leaf.dtype == state_dtype
        assert not np.any(np.asarray(leaf))
    x = jax.ShapeDtypeStruct((D,), jnp.float32)
    h1 = jax.eval_shape(m.step, params, h0, x)
    assert jax.tree.structure(h1) == jax.tree.structure(h0)
    for leaf in jax.tree.leaves(h1):
        assert leaf.shape == (H,) and leaf.dtype == state_dtype
    assert jax.eval_shape(m.hidden_of, h1).shape == (H,)
    y = jax.eval_shape(m.readout, params, h1)
    assert y.shape == (O,) and y.dtype == jnp.float32
    # the readout also takes the observable hidden vector (what run returns)
    assert jax.eval_shape(m.readout, params, jax.eval_shape(m.hidden_of, h1)).shape == (O,)
    carry, corr = jax.eval_shape(m.jacobian_split, params, h1, x)
    assert carry.shape == corr.shape == (H,)
    assert carry.dtype == corr.dtype == jnp.float32
    h0b = jax.tree.map(lambda a: jax.ShapeDtypeStruct((B,) + a.shape, a.dtype), h0)
    hs = jax.eval_shape(m.run, params, h0b, jax.ShapeDtypeStruct((T, B, D), jnp.float32))
    assert hs.shape == (T, B, H) and hs.dtype == state_dtype


# ---------------------------------------------------------------------------
# (b) Jacobian splits against autodiff
# ---------------------------------------------------------------------------


@functools.cache
def split_and_diag(name):
    """Compiled (carry, correction, diagonal of jacfwd of step w.r.t. the state)."""
    m = MODELS[name]

    def f(params, h, x):
        carry, corr = m.jacobian_split(params, h, x)
        return carry, corr, jnp.diag(jax.jacfwd(lambda h_: m.step(params, h_, x))(h))

    return jax.jit(f)


@pytest.mark.parametrize("name", EXACT)
@pytest.mark.parametrize("seed", [0, 1])
def test_split_exact(name, seed):
    """carry + correction is the exact diagonal of dh_t/dh_{t-1} (ConstGate,
    SharedGate and DiagGate included: Livi's formula is exact for them)."""
    params, h, x = setup(name, seed)
    carry, corr, diag = split_and_diag(name)(params, h, x)
    close(carry + corr, diag)
    if name not in ("elman", "linear"):
        assert float(jnp.min(carry)) > 0.0
    assert maxabs(corr) > 1e-2


@pytest.mark.parametrize("name, key", [("diaggate", "U_s"), ("sharedgate", "u_s")])
def test_split_gate_term_is_exercised(name, key):
    """The gate-weight term is of order one in test_split_exact, so a wrong
    U_s / u_s term there would fail."""
    params, h, x = setup(name)
    carry, corr, _ = split_and_diag(name)(params, h, x)
    without = split_and_diag(name)(dict(params, **{key: jnp.zeros_like(params[key])}), h, x)[2]
    assert maxabs(carry + corr - without) > 1e-2


def test_closed_form_splits():
    params, h, x = setup("constgate")
    carry, corr = MODELS["constgate"].jacobian_split(params, h, x)
    close(carry, jnp.full((H,), 1 - HP["gate"]))
    ht = jnp.tanh(params["W_x"] @ x + params["W_h"] @ h + params["b"])
    close(corr, HP["gate"] * (1 - ht**2) * jnp.diag(params["W_h"]))
    params, h, x = setup("ctrnn")
    carry, corr = MODELS["ctrnn"].jacobian_split(params, h, x)
    close(carry, jnp.full((H,), 0.8))
    close(corr, 0.2 * jnp.diag(params["W_h"]))


def _gru_parts(params, h, x):
    z = jax.nn.sigmoid(params["W_z"] @ x + params["U_z"] @ h + params["b_z"])
    r = jax.nn.sigmoid(params["W_r"] @ x + params["U_r"] @ h + params["b_r"])
    g = jnp.tanh(params["W_g"] @ x + params["U_g"] @ (r * h) + params["b_g"])
    return z, r, g


@pytest.mark.parametrize("seed", [0, 1])
def test_gru_split_exact_when_U_g_diagonal(seed):
    """With U_g diagonal (U_z, U_r full) no path runs through another neuron's
    reset gate, and Livi's three correction terms give the exact diagonal."""
    params, h, x = setup("gru", seed)
    params["U_g"] = jnp.diag(jnp.diag(params["U_g"]))
    carry, corr, diag = split_and_diag("gru")(params, h, x)
    close(carry + corr, diag)
    # each term is far above the tolerance, so a wrong one would fail
    z, r, g = _gru_parts(params, h, x)
    dz, dr, dg = z * (1 - z), r * (1 - r), 1 - g**2
    d = {n: jnp.diag(params[n]) for n in ("U_z", "U_r", "U_g")}
    for term in ((g - h) * dz * d["U_z"], z * dg * d["U_g"] * r, z * dg * d["U_g"] * h * dr * d["U_r"]):
        assert maxabs(term) > 1e-3


@pytest.mark.parametrize("seed", [0, 1])
def test_gru_split_residual_is_the_cross_term(seed):
    """With full matrices, autodiff diagonal minus split is exactly the dropped
    term z g' sum_{j != q} [U_g]_qj h_j r'_j [U_r]_jq."""
    params, h, x = setup("gru", seed)
    carry, corr, diag = split_and_diag("gru")(params, h, x)
    z, r, g = _gru_parts(params, h, x)
    M = params["U_g"] * (h * r * (1 - r))[None, :] * params["U_r"].T
    cross = z * (1 - g**2) * (jnp.sum(M, axis=1) - jnp.diag(M))
    assert maxabs(cross) > 1e-3
    close(diag - (carry + corr), cross)


def test_gru_split_first_order():
    """With the recurrent matrices scaled by eps the split errs by O(eps^2)."""
    params, h, x = setup("gru")
    errs = []
    for eps in (0.1, 0.05):
        p = dict(params, **{n: eps * params[n] for n in ("U_z", "U_r", "U_g")})
        carry, corr, diag = split_and_diag("gru")(p, h, x)
        errs.append(maxabs(diag - carry - corr))
    assert 3.0 < errs[0] / errs[1] < 5.0


@functools.cache
def lstm_jacobians():
    """Compiled: the split, diag dc_t/dc_{t-1} with h_{t-1} = o_{t-1} tanh(c_{t-1})
    following c_{t-1}, and diag dc_t/dc_{t-1} with h_{t-1} held fixed."""

    def f(params, h, c, x):
        o_prev = h / jnp.tanh(c)
        carry, corr = lstm.jacobian_split(params, (h, c), x)
        follow = jax.jacfwd(lambda c_: lstm.step(params, (o_prev * jnp.tanh(c_), c_), x)[1])(c)
        fixed = jax.jacfwd(lambda c_: lstm.step(params, (h, c_), x)[1])(c)
        return carry, corr, jnp.diag(follow), jnp.diag(fixed)

    return jax.jit(f)


@pytest.mark.parametrize("seed", [0, 1])
def test_lstm_split_is_diagonal_of_cell_jacobian(seed):
    """carry + correction = diag of dc_t/dc_{t-1} = diag(f) + dc_t/dh_{t-1} diag(e_{t-1});
    the carry alone is the partial with h_{t-1} held fixed."""
    params, (h, c), x = setup("lstm", seed)
    carry, corr, follow, fixed = lstm_jacobians()(params, h, c, x)
    close(carry + corr, follow)
    close(carry, fixed)
    assert maxabs(corr) > 1e-2
    close(lstm.output_gain((h, c)), h / jnp.tanh(c) * (1 - jnp.tanh(c) ** 2))


def test_lstm_split_at_initial_state():
    """At (h_0, c_0) = 0, h_0 is not a function of c_0: dc_1/dc_0 = diag(f), no correction."""
    params, _, x = setup("lstm")
    carry, corr = lstm.jacobian_split(params, lstm.initial_state(params, cfg_for("lstm")), x)
    assert not np.any(np.asarray(corr))
    close(carry, jax.nn.sigmoid(params["W_f"] @ x + params["b_f"]))


def test_lstm_split_first_order_over_two_steps():
    """Chained over two steps, the product of per-step splits matches the diagonal
    of the true dc_t/dc_{t-2} (through the whole (h, c) state) up to O(eps^2)
    when the recurrent matrices are scaled by eps; the missing paths (off-diagonal
    mixing, the output gate) are second order, the correction itself first order."""
    params, (h, c), x = setup("lstm")
    x2 = jnp.flip(x)
    o_prev = h / jnp.tanh(c)

    @jax.jit
    def errors(eps):
        p = dict(params, **{n: eps * params[n] for n in ("U_i", "U_f", "U_g", "U_o")})

        def two_steps(c_):
            return lstm.step(p, lstm.step(p, (o_prev * jnp.tanh(c_), c_), x), x2)[1]

        true = jnp.diag(jax.jacfwd(two_steps)(c))
        a1, c1 = lstm.jacobian_split(p, (h, c), x)
        a2, c2 = lstm.jacobian_split(p, lstm.step(p, (h, c), x), x2)
        return jnp.max(jnp.abs(true - (a1 + c1) * (a2 + c2))), jnp.max(jnp.abs(true - a1 * a2))

    (e1, f1), (e2, f2) = errors(0.1), errors(0.05)
    assert 3.0 < e1 / e2 < 5.0
    assert 1.5 < f1 / f2 < 2.5
    assert e1 < 0.2 * f1


@pytest.mark.parametrize("seed", [0, 1])
def test_lru_split(seed):
    """dh_t/dh_{t-1} = diag(lambda) (holomorphic); the carry |lambda| is exactly the
    gain (both singular values) of each neuron's real 2 x 2 block; correction 0."""
    params, h, x = setup("lru", seed)

    @jax.jit
    def f(params, h, x):
        J = jax.jacfwd(lambda h_: lru.step(params, h_, x), holomorphic=True)(h)

        def real_step(v):
            out = lru.step(params, jax.lax.complex(v[:H], v[H:]), x)
            return jnp.concatenate([jnp.real(out), jnp.imag(out)])

        Jr = jax.jacfwd(real_step)(jnp.concatenate([jnp.real(h), jnp.imag(h)]))
        idx = jnp.arange(H)
        blocks = jnp.stack([jnp.stack([Jr[idx, idx], Jr[idx, H + idx]], -1),
                            jnp.stack([Jr[H + idx, idx], Jr[H + idx, H + idx]], -1)], -2)
        return lru.jacobian_split(params, h, x), J, jnp.linalg.svd(blocks, compute_uv=False)

    (carry, corr), J, sv = f(params, h, x)
    lam = lru.eigenvalues(params)
    close(jnp.diag(J), lam)
    close(J - jnp.diag(jnp.diag(J)), jnp.zeros_like(J))
    close(carry, jnp.abs(lam))
    close(sv, jnp.stack([carry, carry], -1))
    assert not np.any(np.asarray(corr))


# ---------------------------------------------------------------------------
# (c) run equals a loop of step
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_run_equals_step_loop(name):
    m = MODELS[name]
    params, _, _ = setup(name)
    k_h, k_x = jax.random.split(jax.random.PRNGKey(7))
    h = random_state(name, k_h, (B,))
    xs = jax.random.normal(k_x, (T, B, D), jnp.float32)
    hs = jax.jit(m.run)(params, h, xs)
    bstep = jax.jit(jax.vmap(m.step, in_axes=(None, 0, 0)))
    want = []
    for t in range(T):
        h = bstep(params, h, xs[t])
        want.append(m.hidden_of(h))
    close(hs, jnp.stack(want), tol=2e-5)
    readout = jax.vmap(m.readout, in_axes=(None, 0))
    close(readout(params, hs[-1]), readout(params, h), tol=2e-5)


# ---------------------------------------------------------------------------
# (d) elman's custom VJP (batched over members, which also checks that it vmaps)
# ---------------------------------------------------------------------------


def test_elman_custom_vjp_matches_scan():
    cfg = cfg_for("elman")
    k_h, k_x, k_y = jax.random.split(jax.random.PRNGKey(4), 3)
    h0 = jax.random.uniform(k_h, (B, H), jnp.float32, -0.5, 0.5)
    xs = jax.random.normal(k_x, (T, B, D), jnp.float32)
    ys = jax.random.normal(k_y, (T, B, O), jnp.float32)
    members = [perturb(jax.random.PRNGKey(i), elman.init(jax.random.PRNGKey(i), cfg, {"init_scale": s}), 0.1)
               for i, s in enumerate((0.7, 1.4))]
    params = jax.tree.map(lambda *a: jnp.stack(a), *members)

    def fused(p, h0_, xs_):
        return elman.predict(p, h0_, xs_)

    def reference(p, h0_, xs_):
        hs = scan_run(elman.step)(p, h0_, xs_)
        return hs @ p["W_y"].T + p["b_y"]

    def member(predict):
        def loss(p, h0_, xs_):
            y = predict(p, h0_, xs_)
            return jnp.mean((y - ys) ** 2) + jnp.mean(jnp.sin(y) ** 2)

        return jax.jit(jax.vmap(jax.value_and_grad(loss, argnums=(0, 1, 2)), in_axes=(0, None, None)))

    v_fast, g_fast = member(fused)(params, h0, xs)
    v_ref, g_ref = member(reference)(params, h0, xs)
    close(v_fast, v_ref)
    for a, b in zip(jax.tree.leaves(g_fast), jax.tree.leaves(g_ref)):
        close(a, b, tol=1e-5)
    assert maxabs(g_fast[0]["W_h"]) > 1e-3 and maxabs(g_fast[1]) > 1e-3 and maxabs(g_fast[2]) > 1e-3


# ---------------------------------------------------------------------------
# (e) data-aligned initialisation
# ---------------------------------------------------------------------------


def test_aligned_linear_recovers_modes_and_powers_stay_diagonal():
    hidden, dx, dy = 6, 4, 3
    U, V = orthogonal(jax.random.PRNGKey(1), dy), orthogonal(jax.random.PRNGKey(2), dx)
    a = jnp.array([1.0, 0.5, -0.3, 0.2])
    b = jnp.array([0.9, 0.7, 0.5, 0.3, -0.2, 0.1])
    c = jnp.array([2.0, -1.0])  # fewer than min(H, dy) = 3: zero-padded

    @jax.jit
    def f(key):
        w = aligned_linear(key, hidden, U, V, a, b, c)
        R = w["R"]
        powers = [R.T @ jnp.linalg.matrix_power(w["W_h"], k) @ R for k in range(1, 5)]
        lag3 = w["W_y"] @ jnp.linalg.matrix_power(w["W_h"], 3) @ w["W_x"]
        return w, recover_modes(w, U, V, R), alignment_error(w, U, V, R), powers, lag3

    w, (ra, rb, rc), err, powers, lag3 = f(jax.random.PRNGKey(5))
    assert w["W_x"].shape == (hidden, dx) and w["W_h"].shape == (hidden, hidden)
    assert w["W_y"].shape == (dy, hidden)
    close(w["R"].T @ w["R"], jnp.eye(hidden))
    close(ra, a)
    close(rb, b)
    close(rc, jnp.array([2.0, -1.0, 0.0]))
    assert float(err) < 1e-5
    for k, M in enumerate(powers, start=1):
        close(M, jnp.diag(b**k))
    # the lag-3 input-output map is U diag(c b^3 a) V^T
    close(lag3, (U[:, :2] * (c * b[:2] ** 3 * a[:2])) @ V[:, :2].T)
    with pytest.raises(ValueError, match="a: expected"):
        aligned_linear(jax.random.PRNGKey(0), hidden, U, V, jnp.ones(5), b, c)


def test_linear_aligned_init():
    cfg = ModelConfig(arch="linear", hidden=4, input_dim=3, output_dim=2, init="aligned")
    p = linear.init(jax.random.PRNGKey(0), cfg, {"init_scale": 0.7})
    a, b, c = recover_modes(p, jnp.eye(2), jnp.eye(3), p["frozen"]["R"])
    close(a, jnp.full((3,), 0.7))
    close(b, jnp.full((4,), 0.7))
    close(c, jnp.full((2,), 0.7))
    close(p["W_h"], 0.7 * jnp.eye(4))  # all recurrent modes equal: W_h = scale * I
    assert "frozen" not in trainable(p)
    U, V = orthogonal(jax.random.PRNGKey(1), 2), orthogonal(jax.random.PRNGKey(2), 3)
    p = linear.init(jax.random.PRNGKey(0), cfg, {"init_scale": 0.3, "align_U": U, "align_V": V})
    assert float(alignment_error(p, U, V, p["frozen"]["R"])) < 1e-5
    close(recover_modes(p, U, V, p["frozen"]["R"])[0], jnp.full((3,), 0.3))
    q = linear.init(jax.random.PRNGKey(0), ModelConfig(arch="linear", hidden=4, input_dim=3, output_dim=2))
    assert float(alignment_error(q, U, V, p["frozen"]["R"])) > 0.1


def test_aligned_linear_stays_aligned_under_gradient_descent():
    """Proca A1-A3: whitened inputs (one-hot in (time, dim): sum_p x_t x_t^T = I,
    no cross-time correlation) and Sigma^{YX_t} = U S_t V^T keep an aligned,
    bias-free linear RNN aligned while its modes learn."""
    hidden, dx, dy, steps = 4, 3, 2, 3
    cfg = ModelConfig(arch="linear", hidden=hidden, input_dim=dx, output_dim=dy, init="aligned")
    U, V = orthogonal(jax.random.PRNGKey(1), dy), orthogonal(jax.random.PRNGKey(2), dx)
    s = np.array([[1.0, 0.5], [0.6, 0.3], [0.4, 0.2]])  # S_t, one row per time step
    xs = np.zeros((steps, steps * dx, dx), np.float32)
    ys = np.zeros((steps * dx, dy), np.float32)
    for t in range(steps):
        S = np.zeros((dy, dx))
        S[[0, 1], [0, 1]] = s[t]
        for d in range(dx):
            xs[t, t * dx + d, d] = 1.0
            ys[t * dx + d] = np.asarray(U) @ S @ np.asarray(V).T[:, d]
    hp = {"init_scale": 0.2, "align_U": U, "align_V": V}
    p = linear.freeze_biases(linear.init(jax.random.PRNGKey(0), cfg, hp))
    R = p["frozen"]["R"]
    train = trainable(p)
    assert set(train) == {"W_h", "W_x", "W_y"}

    @jax.jit
    def descend(train):
        def loss(tr):
            params = dict(tr, frozen=p["frozen"])
            h_last = linear.run(params, jnp.zeros((xs.shape[1], hidden)), xs)[-1]
            return 0.5 * jnp.sum((jax.vmap(lambda h: linear.readout(params, h))(h_last) - ys) ** 2)

        def body(tr, _):
            return jax.tree.map(lambda w, d: w - 0.2 * d, tr, jax.grad(loss)(tr)), None

        return jax.lax.scan(body, train, None, length=20)[0]

    out = descend(train)
    assert float(alignment_error(out, U, V, R)) < 1e-4
    assert maxabs(recover_modes(out, U, V, R)[0] - recover_modes(train, U, V, R)[0]) > 1e-2


# ---------------------------------------------------------------------------
# other initialisers
# ---------------------------------------------------------------------------

RECURRENT = {
    "elman": ["W_h"], "linear": ["W_h"], "ctrnn": ["W_h"], "constgate": ["W_h"],
    "sharedgate": ["W_h"], "diaggate": ["W_h"], "gru": ["U_z", "U_r", "U_g"],
    "lstm": ["U_i", "U_f", "U_g", "U_o"],
}


def test_orthogonal_init():
    for name, mats in RECURRENT.items():
        hp = {"init_scale": 1.3, "gate": 0.1}
        p = MODELS[name].init(jax.random.PRNGKey(0), cfg_for(name, "orthogonal"), hp)
        for n in mats:
            close(p[n].T @ p[n], 1.3**2 * jnp.eye(H), tol=1e-4)


def test_gate_init():
    cfg = cfg_for("diaggate", "orthogonal")
    hp = {"init_scale": 1.0, "gate": 0.02}
    p = MODELS["diaggate"].init(jax.random.PRNGKey(0), cfg, hp)
    assert not np.any(np.asarray(p["W_s"])) and not np.any(np.asarray(p["U_s"]))
    close(jax.nn.sigmoid(p["b_s"]), jnp.full((H,), 0.02))
    p = MODELS["sharedgate"].init(jax.random.PRNGKey(0), cfg, hp)
    assert not np.any(np.asarray(p["w_s"])) and not np.any(np.asarray(p["u_s"]))
    close(jax.nn.sigmoid(p["b_s"]), 0.02)
    p = MODELS["constgate"].init(jax.random.PRNGKey(0), cfg, hp)
    close(p["frozen"]["s"], 0.02)
    assert "frozen" not in trainable(p)
    # at init every neuron of every rung has carry 1 - s_0 (tau ~ 1 / s_0)
    x, h = jnp.ones((D,)), jnp.zeros((H,))
    for name in ("constgate", "sharedgate", "diaggate"):
        p = MODELS[name].init(jax.random.PRNGKey(0), cfg, hp)
        close(MODELS[name].jacobian_split(p, h, x)[0], jnp.full((H,), 0.98))


def test_lru_init_ring():
    cfg = ModelConfig(arch="lru", hidden=64, input_dim=D, output_dim=O)
    p = lru.init(jax.random.PRNGKey(0), cfg, {"init_scale": 0.99, "r_min": 0.5})
    r = np.abs(np.asarray(lru.eigenvalues(p)))
    assert r.min() >= 0.5 - 1e-6 and r.max() <= 0.99 + 1e-6 and r.max() - r.min() > 0.3
    th = np.asarray(p["theta"])
    assert th.min() >= 0 and th.max() < 2 * math.pi
    p = lru.init(jax.random.PRNGKey(0), cfg, {"init_scale": 1.0})  # r_max clipped below 1
    assert np.all(np.isfinite(np.asarray(p["nu"]))) and np.abs(np.asarray(lru.eigenvalues(p))).max() < 1


# ---------------------------------------------------------------------------
# (f) populations: vmap over members with traced hyper-parameters
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_vmap_members_traced_hp(name):
    """init, run, step and jacobian_split vmapped over members whose init_scale
    and gate are traced arrays; each member's init equals the concrete one."""
    m = MODELS[name]
    init = {"linear": "aligned", "constgate": "orthogonal"}.get(name, "gaussian")
    cfg = cfg_for(name, init)
    scales = jnp.array([0.5, 0.95, 1.2], jnp.float32)
    gates = jnp.array([0.02, 0.1, 0.3], jnp.float32)
    key = jax.random.PRNGKey(3)  # shared: the members differ by their hyper-parameters
    xs = jax.random.normal(jax.random.PRNGKey(4), (T, B, D), jnp.float32)

    def member(key, scale, gate):
        p = m.init(key, cfg, {"init_scale": scale, "gate": gate})
        s0 = m.initial_state(p, cfg)
        hs = m.run(p, jax.tree.map(lambda a: jnp.broadcast_to(a, (B,) + a.shape), s0), xs)
        return p, hs, m.jacobian_split(p, m.step(p, s0, xs[0, 0]), xs[1, 0])

    p_all, hs_all, split_all = jax.jit(jax.vmap(member, in_axes=(None, 0, 0)))(key, scales, gates)
    assert hs_all.shape == (3, T, B, H) and split_all[0].shape == (3, H)
    assert all(np.all(np.isfinite(np.asarray(a))) for a in jax.tree.leaves((hs_all, split_all)))
    p1 = m.init(key, cfg, {"init_scale": 0.95, "gate": 0.1})  # concrete hyper-parameters
    for a, b in zip(jax.tree.leaves(p_all), jax.tree.leaves(p1)):
        close(a[1], b, tol=1e-5)
    # members differ where their hyper-parameters do
    assert not np.allclose(np.asarray(hs_all[0]), np.asarray(hs_all[2]))


# ---------------------------------------------------------------------------
# (g) the fused GPU kernels of the Elman passes, run in interpret mode here
# ---------------------------------------------------------------------------


def test_fused_gradient_inside_a_reduction():
    """The gradient norm of the fused Elman loss, reduced inside the same jitted vmapped program.

    A fori_loop form of the reverse pass gave dW_h of order 1e12 or inf here (64 sequences of
    50 steps, 16 members), while the same gradients returned unreduced were right.
    """
    from rnnscope.models.base import ModelConfig as MC
    from rnnscope.tasks import make_task
    from rnnscope.train.losses import task_loss

    cfg = MC("elman", 16, 1, 1)
    task = make_task("integration", kind="leaky", seq_len=50, c=0.2)
    P = 16
    params = jax.vmap(lambda k: elman.init(k, cfg, {"init_scale": 1.0}))(jax.random.split(jax.random.PRNGKey(0), P))
    x, y = jax.vmap(lambda k: task.sample(k, 64))(jax.random.split(jax.random.PRNGKey(1), P))
    model = elman.MODEL

    def norm(run):
        def one(p, x, y):
            g = jax.grad(lambda p: task_loss(model, cfg, task, p, x, y, run))(p)
            return jnp.sqrt(jnp.sum(g["W_h"] ** 2))
        return jax.jit(jax.vmap(one))(params, x, y)

    close(norm(None), norm(model.run), tol=1e-4)


def test_elman_pallas_kernels_match_xla_passes():
    from rnnscope.models.elman_pallas import pallas_predict

    cfg = ModelConfig(arch="elman", hidden=16, input_dim=2, output_dim=2)
    Tn, Bn = 5, 16
    k_p, k_x, k_y, k_h = jax.random.split(jax.random.PRNGKey(11), 4)
    params = perturb(k_p, elman.init(k_p, cfg, {"init_scale": 1.2}), 0.1)
    xs = jax.random.normal(k_x, (Tn, Bn, 2), jnp.float32)
    ys = jax.random.normal(k_y, (Tn, Bn, 2), jnp.float32)
    h0 = 0.3 * jax.random.normal(k_h, (Bn, 16), jnp.float32)

    def loss(predict):
        def f(p, h0_, xs_):
            y = predict(p["W_h"], p["W_x"], p["b"], p["W_y"], p["b_y"], h0_, xs_)
            return jnp.mean((y - ys) ** 2)

        return jax.value_and_grad(f, argnums=(0, 1, 2))(params, h0, xs)

    v_k, g_k = loss(lambda *a: pallas_predict(*a, True))
    v_x, g_x = loss(elman.fused_predict)
    close(v_k, v_x)
    for a, b in zip(jax.tree.leaves(g_k), jax.tree.leaves(g_x)):
        close(a, b, tol=1e-5)


@pytest.mark.parametrize("shape", [(40, 4), (24, 24)])
def test_thin_qr_matches_lapack_up_to_column_signs(shape):
    """The LAPACK-free QR behind the orthogonal initialiser and the Lyapunov probe."""
    a = jax.random.normal(jax.random.PRNGKey(3), shape)
    q, r = thin_qr(a)
    q_ref, r_ref = np.linalg.qr(np.asarray(a, np.float64))
    signs = np.sign(np.diag(r_ref))
    # float32 Gram-Schmidt with reorthogonalisation: errors of a few ulps times the condition number
    np.testing.assert_allclose(np.asarray(q), q_ref * signs, atol=1e-4)
    np.testing.assert_allclose(np.asarray(r), r_ref * signs[:, None], atol=1e-4)
    np.testing.assert_allclose(np.asarray(q.T @ q), np.eye(shape[1]), atol=1e-6)
    assert np.all(np.diag(np.asarray(r)) > 0)
