"""Fixed-point finder and latching census on hand-built maps with known answers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnscope.models import get_model
from rnnscope.models.base import Model, ModelConfig
from rnnscope.probes.fixed_points import (
    ATTRACTOR,
    MARGINAL,
    SADDLE,
    SLOW,
    FixedPointConfig,
    classify,
    converge,
    find_fixed_points,
    in_contracting_region,
    latching_census,
    nearest_point,
    starts_from_states,
)

ELMAN = get_model("elman")
CFG = FixedPointConfig(max_iters=200)  # one config throughout, so compiled searches are reused


def tanh_net(W, b=None):
    """Elman params with recurrent matrix W and bias b; input weights are irrelevant at x = 0."""
    W = np.asarray(W, np.float64)
    n = W.shape[0]
    return {
        "W_h": jnp.asarray(W, jnp.float32),
        "W_x": jnp.zeros((n, 1), jnp.float32),
        "b": jnp.asarray(np.zeros(n) if b is None else b, jnp.float32),
        "W_y": jnp.zeros((1, n), jnp.float32),
        "b_y": jnp.zeros((1,), jnp.float32),
    }


def box_starts(n, dim, seed=0):
    return starts_from_states(jnp.zeros((0, dim)), n, jax.random.PRNGKey(seed))


def h_star(w):
    """The positive root of h = tanh(w h) for w > 1, by fixed-point iteration in float64."""
    h = 1.0
    for _ in range(200):
        h = np.tanh(w * h)
    return h


def sorted_rows(points):
    return points[np.lexsort(points.T[::-1])]


def test_bistable_2d_elman_has_exactly_one_saddle_and_two_attractors():
    # h -> tanh(diag(2, 0.5) h): saddle at 0 (mu = 2, 0.5), attractors at (+/-h*, 0),
    # h* = tanh(2 h*), with mu = 2 (1 - h*^2) and 0.5
    fp = find_fixed_points(ELMAN, tanh_net(np.diag([2.0, 0.5])), box_starts(64, 2), cfg=CFG)
    hs = h_star(2.0)
    expected = np.array([[-hs, 0.0], [0.0, 0.0], [hs, 0.0]])
    assert fp.points.shape == (3, 2)
    np.testing.assert_allclose(sorted_rows(fp.points), expected, atol=1e-8)
    assert np.all(fp.residual < 1e-12)
    classes = {tuple(np.round(p, 3)): c for p, c in zip(fp.points, fp.classes)}
    assert classes[(0.0, 0.0)] == SADDLE
    assert classes[(round(hs, 3), 0.0)] == ATTRACTOR and classes[(-round(hs, 3), 0.0)] == ATTRACTOR
    origin = int(np.argmin(np.linalg.norm(fp.points, axis=1)))
    np.testing.assert_allclose(fp.eigenvalues[origin].real, [2.0, 0.5], atol=1e-6)
    stable = int(np.argmax(fp.points[:, 0]))
    np.testing.assert_allclose(np.sort(fp.eigenvalues[stable].real), np.sort([2 * (1 - hs**2), 0.5]), atol=1e-6)
    assert fp.n_unstable[origin] == 1 and fp.n_unstable[stable] == 0
    assert fp.counts == {ATTRACTOR: 2, SADDLE: 1, MARGINAL: 0, SLOW: 0}
    # every start ended at one of the three, and the supports add up to the starts
    assert np.all(fp.start_point >= 0) and fp.support.sum() == 64


def test_3d_marginal_point_is_found_and_called_marginal():
    # tanh(diag(1, 0.5, 0.3) h): the origin is the only fixed point, J = W, top eigenvalue exactly 1.
    # Along the first axis h -> tanh(h) converges only cubically-slowly; Newton must still get there.
    fp = find_fixed_points(ELMAN, tanh_net(np.diag([1.0, 0.5, 0.3])), box_starts(64, 3), cfg=CFG)
    assert fp.points.shape == (1, 3)
    np.testing.assert_allclose(fp.points[0], 0.0, atol=1e-6)
    assert list(fp.classes) == [MARGINAL]
    np.testing.assert_allclose(np.abs(fp.eigenvalues[0]), [1.0, 0.5, 0.3], atol=1e-6)
    assert fp.counts[MARGINAL] == 1 and fp.counts[SLOW] == 0


@pytest.mark.parametrize("radius, expected", [(1.2, SADDLE), (0.9, ATTRACTOR)])
def test_3d_rotation_is_classified_by_modulus_not_real_part(radius, expected):
    # a quarter turn scaled by `radius` in the (1, 2) plane: mu = +/- i radius, Re mu = 0 < 1 either way.
    # h = tanh(radius R h) has only h = 0 (a = -tanh(r tanh(r a)) forces a = 0), so one point.
    W = np.array([[0.0, -radius, 0.0], [radius, 0.0, 0.0], [0.0, 0.0, 0.5]])
    fp = find_fixed_points(ELMAN, tanh_net(W), box_starts(64, 3), cfg=CFG)
    assert fp.points.shape == (1, 3)
    np.testing.assert_allclose(fp.points[0], 0.0, atol=1e-8)
    mu = fp.eigenvalues[0]
    np.testing.assert_allclose(np.sort(mu.imag), [-radius, 0.0, radius], atol=1e-6)
    assert np.all(mu.real < 1.0)
    assert list(fp.classes) == [expected]


@pytest.mark.parametrize("radius, expected", [(0.8, ATTRACTOR), (1.5, SADDLE)])
def test_linear_rnn_fixed_point_solves_the_linear_system(radius, expected):
    # h -> W h + b has the unique fixed point h* = (I - W)^{-1} b, J = W everywhere
    rng = np.random.default_rng(1)
    A = rng.normal(size=(4, 4))
    W = radius * A / np.max(np.abs(np.linalg.eigvals(A)))
    b = rng.normal(size=4)
    params = tanh_net(W, b)  # the linear model reads the same leaves
    W32, b32 = np.asarray(params["W_h"], np.float64), np.asarray(params["b"], np.float64)
    fp = find_fixed_points(get_model("linear"), params, box_starts(32, 4), cfg=CFG)
    assert fp.points.shape == (1, 4)
    np.testing.assert_allclose(fp.points[0], np.linalg.solve(np.eye(4) - W32, b32), atol=1e-10)
    lam = np.linalg.eigvals(W32)
    np.testing.assert_allclose(np.sort(np.abs(fp.eigenvalues[0])), np.sort(np.abs(lam)), atol=1e-10)
    assert list(fp.classes) == [expected]


def ghost_model():
    """1-D saddle-node normal form F(h) = h + eps + h^2, through a bare model object with a `step`."""
    return Model("ghost", init=None, step=lambda p, h, x: h + p["eps"] + h**2, jacobian_split=None, run=None)


def test_saddle_node_ghost_is_a_slow_point_and_its_unfolding_two_fixed_points():
    model, starts, x0 = ghost_model(), jnp.linspace(-1.0, 1.0, 33)[:, None], jnp.zeros(1)
    # eps > 0, just past the bifurcation: no fixed point, q has its minimum eps^2 / 2 at h = 0
    eps = np.float64(np.float32(1e-3))
    fp = find_fixed_points(model, {"eps": jnp.float32(eps)}, starts, x_const=x0, cfg=CFG)
    assert fp.points.shape == (0, 1) and fp.eigenvalues.shape == (0, 1)
    assert fp.slow_points.shape == (1, 1)
    np.testing.assert_allclose(fp.slow_points[0], 0.0, atol=1e-6)
    np.testing.assert_allclose(fp.slow_residual[0], eps**2 / 2, rtol=1e-9)
    np.testing.assert_allclose(fp.slow_eigenvalues[0].real, [1.0], atol=1e-6)
    assert fp.counts == {ATTRACTOR: 0, SADDLE: 0, MARGINAL: 0, SLOW: 1}
    assert np.all(fp.start_point == -1) and np.all(fp.start_slow == 0)
    # eps < 0: fixed points at -/+ sqrt(-eps) with F' = 1 -/+ 2 sqrt(-eps): one attractor, one saddle
    fp = find_fixed_points(model, {"eps": jnp.float32(-eps)}, starts, x_const=x0, cfg=CFG)
    r = np.sqrt(eps)
    np.testing.assert_allclose(np.sort(fp.points[:, 0]), [-r, r], atol=1e-8)
    by_sign = dict(zip(np.sign(fp.points[:, 0]), fp.classes))
    assert by_sign[-1.0] == ATTRACTOR and by_sign[1.0] == SADDLE
    np.testing.assert_allclose(np.sort(fp.spectral_radius), [1 - 2 * r, 1 + 2 * r], atol=1e-6)


def test_non_finite_parameters_give_an_empty_census_not_an_error():
    params = tanh_net(np.diag([2.0, 0.5]))
    params["W_h"] = params["W_h"].at[0, 0].set(jnp.nan)
    fp = find_fixed_points(ELMAN, params, box_starts(64, 2), cfg=CFG)
    assert fp.points.shape == (0, 2) and fp.slow_points.shape == (0, 2)
    assert fp.classes.shape == (0,) and fp.eigenvalues.shape == (0, 2)
    assert all(v == 0 for v in fp.counts.values())
    assert np.all(fp.start_point == -1) and np.all(np.isnan(fp.start_residual))


def test_classify_boundaries_use_delta():
    mu = np.array([[0.985, 0.1], [0.995, 0.1], [-1.005, 0.1], [1.02, 0.1], [0.5 + 0.995j, 0.5 - 0.995j]])
    assert list(classify(mu, 0.01)) == [ATTRACTOR, MARGINAL, MARGINAL, SADDLE, SADDLE]
    assert list(classify(mu, 0.001)) == [ATTRACTOR, ATTRACTOR, SADDLE, SADDLE, SADDLE]


def test_starts_mix_visited_states_and_box_points():
    visited = jnp.arange(2 * 3 * 4, dtype=jnp.float32).reshape(2, 3, 4) + 10.0  # (T, B, H), all >= 10
    starts = starts_from_states(visited, 10, jax.random.PRNGKey(0), box=0.5)
    rows = {tuple(r) for r in np.asarray(visited).reshape(-1, 4)}
    assert starts.shape == (10, 4)
    assert all(tuple(r) in rows for r in np.asarray(starts[:5]))
    assert len({tuple(r) for r in np.asarray(starts[:5])}) == 5  # without replacement
    assert np.all(np.abs(np.asarray(starts[5:])) <= 0.5)
    # a tuple state (LSTM) keeps its structure; fewer visited states than asked are all used
    pair = starts_from_states((visited[:1, :1], -visited[:1, :1]), 6, jax.random.PRNGKey(1))
    assert pair[0].shape == (6, 4) and pair[1].shape == (6, 4)
    np.testing.assert_array_equal(pair[0][0], -pair[1][0])
    assert np.all(np.abs(np.asarray(pair[0][1:])) <= 1.0)


def test_lstm_tuple_state_runs_end_to_end():
    cfg = ModelConfig(arch="lstm", hidden=3)
    lstm = get_model("lstm")
    params = lstm.init(jax.random.PRNGKey(1), cfg)
    visited = (jax.random.normal(jax.random.PRNGKey(2), (10, 3)), jax.random.normal(jax.random.PRNGKey(3), (10, 3)))
    starts = starts_from_states(visited, 24, jax.random.PRNGKey(4))
    fp = find_fixed_points(lstm, params, starts, cfg=CFG)
    K, M = len(fp.points), len(fp.slow_points)
    assert K >= 1  # zero biases and zero input: (h, c) = (0, 0) is fixed
    assert np.min(np.linalg.norm(fp.points, axis=1)) < 1e-8
    assert fp.points.shape == (K, 6) and fp.eigenvalues.shape == (K, 6) and fp.classes.shape == (K,)
    assert fp.states[0].shape == (K, 3) and fp.states[1].shape == (K, 3)
    np.testing.assert_array_equal(np.concatenate(fp.states, axis=1), fp.points)  # flat order is (h, c)
    assert sum(fp.counts.values()) == K + M
    assert fp.start_point.shape == (24,) and fp.support.sum() == np.sum(fp.start_point >= 0)
    for h, c in zip(*fp.states):  # really fixed under the model's own step
        h2, c2 = lstm.step(params, (jnp.asarray(h, jnp.float32), jnp.asarray(c, jnp.float32)), jnp.zeros(1))
        np.testing.assert_allclose(np.concatenate([h2, c2]), np.concatenate([h, c]), atol=1e-6)


def test_nearest_point_and_converge():
    d, i = nearest_point(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[1.0, 0.0], [3.0, 3.0]]))
    np.testing.assert_allclose(d, [1.0, 1.0])
    np.testing.assert_array_equal(i, [0, 1])
    d, i = nearest_point(np.zeros((2, 2)), np.zeros((0, 2)))
    assert np.all(np.isinf(d)) and np.all(i == -1)
    params = tanh_net(np.diag([2.0, 0.5]))
    ends = converge(ELMAN, params, jnp.array([[0.3, 0.4], [-0.2, -0.9]]), steps=300)
    hs = h_star(2.0)
    np.testing.assert_allclose(np.asarray(ends), [[hs, 0.0], [-hs, 0.0]], atol=1e-5)


def bistable_end_states():
    """End states near each attractor of tanh(diag(2, 0.5) h), h1 in [0.7, 1] up to sign.

    There J = diag(1 - tanh^2(W h)) W has entries at most 2 (1 - tanh^2 1.4) = 0.43 and 0.5,
    and the orbit moves monotonically towards +/- h* = 0.9575, so it stays in Gamma.
    """
    rng = np.random.default_rng(3)
    h1 = rng.uniform(0.7, 1.0, 8)
    h2 = rng.uniform(-0.5, 0.5, 8)
    states = np.stack([np.concatenate([h1, -h1]), np.concatenate([h2, h2])], axis=1)
    return jnp.asarray(states, jnp.float32), np.repeat([0, 1], 8)


def test_latching_census_on_a_bistable_network():
    params = tanh_net(np.diag([2.0, 0.5]))
    fp = find_fixed_points(ELMAN, params, box_starts(64, 2), cfg=CFG)
    ends, labels = bistable_end_states()
    census = latching_census(ELMAN, params, ends, labels, fp)
    attractor_of = {c: int(np.argmax(s * fp.points[:, 0])) for c, s in [(0, 1.0), (1, -1.0)]}
    np.testing.assert_array_equal(census.basin, [attractor_of[c] for c in labels])
    assert np.all(census.basin_class == ATTRACTOR) and np.all(census.nearest_class == ATTRACTOR)
    assert np.all(census.in_gamma)
    assert census.distinct_basins and census.uses_hyperbolic_attractors and census.robust_latching
    hs = h_star(2.0)
    targets = np.stack([np.where(labels == 0, hs, -hs), np.zeros(16)], axis=1)
    d_c = np.linalg.norm(np.asarray(ends, np.float64) - targets, axis=1)
    np.testing.assert_allclose(census.nearest_stable_distance, d_c, atol=1e-6)

    # class 1 replaced by states near the saddle on the positive side: they leave the contracting
    # region (|J| ~ 2 there) and fall into class 0's basin, so the basins are no longer distinct
    near_saddle = ends.at[8:, 0].set(0.05)
    census = latching_census(ELMAN, params, near_saddle, labels, fp)
    assert np.all(census.basin == attractor_of[0])
    assert not census.distinct_basins and not census.robust_latching
    assert np.all(census.in_gamma[:8]) and not np.any(census.in_gamma[8:])
    assert np.all(census.nearest_class[8:] == SADDLE)
    assert not np.any(np.asarray(in_contracting_region(ELMAN, params, near_saddle[8:])))


def test_latching_census_near_a_marginal_point_is_not_hyperbolic():
    # tanh(diag(1, 0.5) h): one marginal point at 0, reached only as t^(-1/2), so after 1000
    # steps the orbits are still ~0.04 away; nothing latches in the 1994 sense
    params = tanh_net(np.diag([1.0, 0.5]))
    fp = find_fixed_points(ELMAN, params, box_starts(64, 2), cfg=CFG)
    assert list(fp.classes) == [MARGINAL]
    ends, labels = bistable_end_states()
    census = latching_census(ELMAN, params, ends, labels, fp)
    assert np.all(census.basin == -1) and np.all(census.basin_class == "none")
    assert np.all(census.nearest_class == MARGINAL)
    assert np.all(np.isinf(census.nearest_stable_distance))
    assert not census.distinct_basins and not census.uses_hyperbolic_attractors
