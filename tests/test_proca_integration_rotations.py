"""proca-integration (Figs. 6, A8) and proca-rotations (Figs. A9-A11): the measurements and their maths."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from rnnscope.experiments.proca import integration as I
from rnnscope.experiments.proca import rotations as R
from rnnscope.experiments.proca.common import bias_free, full_batch_gd, model_config, mse, sharpness, top_eigenvalue
from rnnscope.probes.extrapolation import extrapolation_error, task_predict
from rnnscope.tasks.linear_dynamics import linear_dynamics_data, rotation_blocks
from rnnscope.tasks.sensory import integrate_target, multisensory_integration, target_weights
from rnnscope.theory.linear_modes import integrate_modes, mode_rhs, sigma_lags


# ---------------------------------------------------------------------------
# integration
# ---------------------------------------------------------------------------


def exact_network(p: float, hidden: int = I.HIDDEN) -> dict:
    """W_h = identity on the first 4 hidden units, W_x = [I; 0], W_y = p [I 0]: lag maps p I at every lag."""
    W_x = np.zeros((hidden, I.N_IO), np.float32)
    W_x[: I.N_IO] = np.eye(I.N_IO)
    W_h = np.zeros((hidden, hidden), np.float32)
    W_h[: I.N_IO, : I.N_IO] = np.eye(I.N_IO)
    return bias_free({"W_x": W_x, "W_h": W_h, "W_y": p * W_x.T}, I.N_IO)


def as_snapshots(params: dict) -> I.Snapshots:
    """One member, one snapshot."""
    stacked = jax.tree.map(lambda a: np.asarray(a)[None, None], params)
    return I.Snapshots(np.array([0]), stacked, np.array([False]), np.array([-1]), np.array([0.0]))


def test_input_moments_match_the_sampler():
    mu2, s2 = I.input_moments()
    assert s2 == pytest.approx(0.01)
    x, _ = multisensory_integration("sum", 1).sample(jax.random.PRNGKey(0), 40000)
    sq = np.asarray(x, np.float64).reshape(-1) ** 2
    assert abs(sq.mean() - (mu2 + s2)) < 4 * sq.std() / np.sqrt(sq.size)


def test_mean_closed_form_reduces_to_the_white_input_formula():
    T, Tp = 5, np.arange(1, 12)
    np.testing.assert_allclose(I.mean_extrapolation_error(T, Tp, 0.0, 1.0), (Tp - T) ** 2 / (T**2 * Tp))
    assert I.mean_extrapolation_error(T, [T], 0.3, 0.1)[0] == 0.0


def test_exact_networks_extrapolate_as_the_closed_forms_say():
    lengths = [1, 7, 11]
    err_sum = I.extrapolation(as_snapshots(exact_network(1.0)), "sum", lengths)[0]
    assert np.all(err_sum < 1e-9)
    err_mean = I.extrapolation(as_snapshots(exact_network(1.0 / I.SEQ_LEN)), "mean", lengths)[0]
    moment, _ = I.batch_sum_moment(lengths)
    batch_form = (1.0 / I.SEQ_LEN - 1.0 / np.asarray(lengths, float)) ** 2 * moment
    np.testing.assert_allclose(err_mean, batch_form, rtol=1e-4, atol=1e-9)
    assert err_mean[1] < 1e-9 < err_mean[2]


def test_lag_map_bound_holds_and_is_tight_without_a_mean():
    # D_k = eps I at every lag: expected loss (1/4)[|T eps m|^2 + s^2 T |eps I|_F^2]
    eps, T = 0.01, 7
    mu2, s2 = I.input_moments()
    loss_noise_only = s2 * T * (4 * eps**2) / 4
    loss = loss_noise_only + T**2 * eps**2 * mu2
    bound = I.lag_map_bound(loss, s2)
    assert bound >= 2 * eps  # |eps I|_F = 2 eps
    # with the trial mean removed the bound is on the sum over lags: sqrt(T) |D_k|_F
    assert I.lag_map_bound(loss_noise_only, s2) == pytest.approx(np.sqrt(T) * 2 * eps)


def test_lag_drift_and_allowance():
    exact = exact_network(1.0)
    assert I.lag_drift(exact, 7) == 0.0
    leaky = dict(exact, W_h=0.9 * np.asarray(exact["W_h"]))
    np.testing.assert_allclose(I.lag_maps(leaky, 3)[2], 0.81 * np.eye(4), atol=1e-6)
    assert I.lag_drift(leaky, 3) == pytest.approx(0.1, abs=1e-6)  # |M_1 - M_0| = 0.1 is the largest step
    mu2, s2 = I.input_moments()
    assert np.all(I.extrapolation_allowance(0.0, 0.0, 7, [1, 5, 10], mu2, s2) == 0.0)
    grow = I.extrapolation_allowance(0.01, 0.002, 7, range(1, 15), mu2, s2)
    assert np.all(np.diff(grow) > 0)


def test_snapshots_start_at_the_engine_initialisation():
    snap = I.train_snapshots("sum", 3, 4, 2, (0, 5), 0.0)  # rate 0: nothing moves
    assert snap.steps.tolist() == [0, 2, 4]
    for k in ("W_x", "W_h", "W_y"):  # the engine's compiled init rounds differently by an ulp
        np.testing.assert_allclose(snap.params[k][:, 0], snap.params[k][:, -1], rtol=1e-6, atol=1e-9)
    assert not np.allclose(snap.params["W_h"][0, 0], snap.params["W_h"][1, 0])
    sv = I.singular_values(snap)
    assert sv["W_h"].shape == (2, 3, I.HIDDEN) and sv["W_yW_x"].shape == (2, 3, I.N_IO)


def test_extrapolation_is_the_probe_on_prefixes():
    snap = as_snapshots(jax.tree.map(lambda a: a[0], I.initial_params((3,))))
    lengths = [1, 7, 11]  # as in the exact-network test: one compiled program for both
    x_long = I.evaluation_trials(max(lengths))

    def at(Tp):
        def sample(key, batch):
            x = x_long[:Tp]
            return x, integrate_target(x, target_weights("mean", Tp))
        return sample

    predict = task_predict(I.LINEAR, I.model_config(), "last")
    final = jax.tree.map(lambda a: a[0, -1], snap.params)
    want = np.asarray(extrapolation_error(predict, final, at, lengths, None, I.EVAL_BATCH))
    np.testing.assert_allclose(I.extrapolation(snap, "mean", lengths)[0], want, rtol=1e-5)


def training_loss(W, x, y):
    """rnnscope's MSE of the bias-free network with weights W on (x, y)."""
    return mse(I.model_config(), bias_free(W, I.N_IO), x, y)


def test_loss_and_state_is_the_training_loss():
    x, y = I.a8_data("late", 4, trials=16)
    W = I.weights(jax.tree.map(lambda a: a[0], I.initial_params((2,))))
    loss, h = I.loss_and_state(W, x, y)
    assert float(loss) == pytest.approx(float(training_loss(W, x, y)), rel=1e-6)
    assert h.shape == (16, I.HIDDEN)
    # h is h_T: the linear recurrence run by hand
    h_ref = np.zeros((16, I.HIDDEN))
    for x_t in np.asarray(x, np.float64):
        h_ref = h_ref @ np.asarray(W["W_h"], np.float64).T + x_t @ np.asarray(W["W_x"], np.float64).T
    np.testing.assert_allclose(np.asarray(h), h_ref, rtol=1e-4, atol=1e-6)


def test_top_eigenvalue_finds_the_largest_even_when_a_negative_one_dominates():
    rng = np.random.default_rng(1)
    Q = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    for spectrum in ([-6.0, 3.0, 1.0, -0.5, 0.2], [4.0, 2.0, 1.0, 0.5, 0.1]):
        A = jnp.asarray(Q @ np.diag(spectrum) @ Q.T, jnp.float32)
        split = lambda v: {"a": v[:2], "b": v[2:]}  # noqa: E731 - a pytree operand
        join = lambda t: jnp.concatenate([t["a"], t["b"]])  # noqa: E731
        top = top_eigenvalue(lambda t: split(A @ join(t)), split(jnp.ones(5)), 300)
        assert float(top) == pytest.approx(max(spectrum), rel=1e-4)


def test_sharpness_exact_and_by_power_iteration_is_the_top_hessian_eigenvalue():
    # L(w) = 1/2 w^T A w on a two-leaf pytree has Hessian A everywhere; its top eigenvalue is 3
    Q = np.linalg.qr(np.random.default_rng(2).normal(size=(5, 5)))[0]
    A = jnp.asarray(Q @ np.diag([-6.0, 3.0, 1.0, -0.5, 0.2]) @ Q.T, jnp.float32)
    join = lambda t: jnp.concatenate([t["a"], t["b"].ravel()])  # noqa: E731
    loss = lambda t: 0.5 * join(t) @ A @ join(t)  # noqa: E731
    w = {"a": jnp.ones(3), "b": jnp.full((1, 2), 0.5)}
    assert float(sharpness(loss, w)) == pytest.approx(3.0, rel=1e-5)
    assert float(sharpness(loss, w, 300, jax.random.PRNGKey(0))) == pytest.approx(3.0, rel=1e-4)


def test_sharpness_is_the_top_eigenvalue_of_the_hessian():
    """At a zero-loss network (the exact sum network on the sum task) the Hessian is (2 / (P N_y)) J^T J,
    J the Jacobian of the P N_y predictions in the weights, so lambda_max = 2 s_max(J)^2 / (P N_y)."""
    x, y = I.a8_data("sum", 3, trials=16)
    W = I.weights(exact_network(1.0))
    assert float(training_loss(W, x, y)) < 1e-10
    flat, unravel = ravel_pytree(W)
    J = jax.jacfwd(lambda f: (I.final_states(unravel(f), x) @ unravel(f)["W_y"].T).reshape(-1))(flat)
    exact = 2.0 * np.linalg.norm(np.asarray(J, np.float64), 2) ** 2 / y.size
    got = I.sharpness(jax.tree.map(lambda a: a[None], W), x[None], y[None])[0]
    assert got == pytest.approx(exact, rel=2e-3)


def test_gd_trace_steps_traces_and_freezes():
    x, y = I.a8_data("late", 3, trials=8)
    W0 = I.weights(jax.tree.map(lambda a: a[0], I.initial_params((0,))))
    lr = 0.03
    both = jax.tree.map(lambda a: jnp.stack([a, a]), W0)
    trace = I.gd_trace(both, np.stack([x, x]), np.stack([y, y]), [lr, 1e4], 4, 2)
    assert trace.steps.tolist() == [0, 2, 4]
    # member 0: two plain gradient steps, the losses and hidden-state velocities of each step
    loss_and_grad = jax.jit(jax.value_and_grad(training_loss))
    W, losses, speeds = W0, [], []
    for _ in range(2):
        loss, grad = loss_and_grad(W, x, y)
        losses.append(float(loss))
        new = jax.tree.map(lambda w, g: w - lr * g, W, grad)
        speeds.append(float(jnp.mean(jnp.linalg.norm(I.final_states(new, x) - I.final_states(W, x), axis=-1))) / lr)
        W = new
    for k in W:
        np.testing.assert_allclose(trace.weights[k][0, 1], W[k], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(trace.loss[0, :2], losses, rtol=1e-5)
    np.testing.assert_allclose(trace.velocity[0, :2], speeds, rtol=1e-4)
    # member 1: a huge rate; flagged at the step whose update is not finite, frozen at finite weights
    assert trace.diverged.tolist() == [False, True]
    assert 0 <= trace.diverged_step[1] < 4
    assert all(np.all(np.isfinite(v[1])) for v in trace.weights.values())
    assert np.isnan(trace.loss[1, -1]) and np.isnan(trace.velocity[1, -1])


def test_path_ratio_counts_back_and_forth():
    x, _ = I.a8_data("late", 3, trials=8)
    W0 = I.weights(jax.tree.map(lambda a: a[0], I.initial_params((0,))))
    lr = 0.1

    def trace_of(scales):  # h_T is linear in W_x: scaling W_x scales h_T
        Ws = [dict(W0, W_x=c * W0["W_x"]) for c in scales]
        h = [I.final_states(W, x) for W in Ws]
        v = [float(jnp.mean(jnp.linalg.norm(b - a, axis=-1))) / lr for a, b in zip(h, h[1:])]
        weights = jax.tree.map(lambda *a: np.stack(a)[None], *Ws)
        n = len(scales)
        return I.GDTrace(np.arange(n), weights, np.zeros((1, n - 1)), np.array([v]), np.array([False]),
                         np.array([-1]))

    assert I.path_ratio(trace_of([1.0, 1.5, 2.0]), 0, x, lr, 0) == pytest.approx(1.0, rel=1e-5)
    assert I.path_ratio(trace_of([1.0, 2.0, 1.5]), 0, x, lr, 0) == pytest.approx(3.0, rel=1e-5)
    assert I.path_ratio(trace_of([1.0, 2.0, 1.5]), 0, x, lr, 1) == pytest.approx(1.0, rel=1e-5)


def test_merge_and_radius_measures():
    assert I.top_spread(np.array([[1.0, 0.98, 0.96, 0.1]]), 3) == pytest.approx(0.04)
    assert I.top_spread(np.array([[1.0, 0.98, 0.96, 0.1]]), 4) == pytest.approx(0.9)
    rotation = 1.2 * np.array([[0.0, -1.0], [1.0, 0.0]])  # singular values and |eigenvalues| 1.2
    assert I.spectral_radius(rotation) == pytest.approx(1.2)
    nilpotent = np.array([[0.0, 5.0], [0.0, 0.0]])  # a large singular value, spectral radius 0
    assert I.spectral_radius(nilpotent) == pytest.approx(0.0)
    assert I.large_t_rate(20.0, 800.0) == pytest.approx(I.LR_A8 / 40)


def test_balance_terms_of_a_balanced_start_and_the_drift():
    W_x = np.eye(I.HIDDEN, I.N_IO)
    W = {"W_x": np.stack([W_x, 2 * W_x])[None], "W_y": np.stack([W_x.T, W_x.T])[None],
         "W_h": np.zeros((1, 2, I.HIDDEN, I.HIDDEN))}
    terms = I.balance_terms(I.Snapshots(np.array([0, 1]), W, None, None, None))
    np.testing.assert_allclose(terms["imbalance"][0], [0.0, 3.0], atol=1e-12)
    np.testing.assert_allclose(terms["recurrent"][0], [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(terms["drift"][0], [0.0, 3.0], atol=1e-12)


def test_a8_claims_follow_the_measurements():
    meas = {kind: {"diverged": 0, "bound_end": np.array([0.1]), "bound_ref": np.array([0.03]), "ref_rising": True,
                   "velocity_end": np.array([v]), "path_ratio": np.array([p]), "edge": np.array([e]),
                   "spread3": sp, "radius": np.array([r])}
            for kind, v, p, e, sp, r in (("late", 2e-4, 1.0, 0.5, 0.02, 0.8), ("early", 5.0, 100.0, 1.1, 0.2, 1.5))}
    large = {"scaled": {"lr": 1e-3, "steps": 10, "ref_edge": 0.4, "late_diverged": False, "early_diverged": True,
                        "early_edge": 0.03},
             "same": {"late_diverged": False, "late_step": -1, "early_diverged": True}}
    assert all(c.passed for c in I.a8_claims(meas, large))
    large["scaled"]["early_diverged"] = False
    meas["late"]["velocity_end"] = np.array([2e-3])
    failed = [c.claim for c in I.a8_claims(meas, large) if not c.passed]
    assert len(failed) == 2 and "hidden-layer gradient" in failed[0] and "diverges within" in failed[1]


# ---------------------------------------------------------------------------
# rotations
# ---------------------------------------------------------------------------


def test_block_weights_round_trip_and_realise_the_complex_product():
    rng = np.random.default_rng(0)
    n_pairs = 2
    a, b, c = (rng.normal(size=n_pairs) + 1j * rng.normal(size=n_pairs) for _ in range(3))
    Q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    Rb = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    w = R.block_weights(Rb, Q, a, b, c)
    ra, rb, rc, err = R.recovered_modes({k: v[None] for k, v in w.items()}, Rb, Q, n_pairs)
    for got, want in ((ra, a), (rb, b), (rc, c)):
        np.testing.assert_allclose(got[0], want, atol=1e-12)
    assert err < 1e-12
    k = 3
    product = Q.T @ w["W_y"] @ np.linalg.matrix_power(w["W_h"], k) @ w["W_x"] @ Q
    np.testing.assert_allclose(product, rotation_blocks(c * b**k * a, 4), atol=1e-12)
    # a matrix that is not a rotation block is flagged
    assert R.block_error(np.diag([1.0, 2.0, 0.0, 0.0]), 2) == pytest.approx(0.5)


def test_a_real_gd_step_is_the_complex_mode_step():
    """The time map h = 2 lr / (P N_y) and the block recovery, on one step (module docstring)."""
    data = linear_dynamics_data("inverse_exponential", seq_len=4, input_dim=2, output_dim=2, rotation=True,
                                lam=0.8, lam_angle=0.7, delta=1.2, delta_angle=-0.3)
    P, n = data.x.shape[1], 2
    lr = 0.3
    Q = data.U_y
    Rb = np.array([[0.6, -0.8], [0.8, 0.6]])
    a0, b0, c0 = 0.3 + 0.1j, 0.5 - 0.2j, 0.4 + 0.3j
    w0 = R.block_weights(Rb, Q, a0, b0, c0)
    gd = full_batch_gd(model_config(n, n, n), jax.tree.map(lambda v: v[None], bias_free(w0, n)), data.x, data.y,
                       lr, 1, 1)
    a, b, c, err = R.recovered_modes(jax.tree.map(lambda v: np.asarray(v[0]), gd.params), Rb, Q, 1)
    ea, eb, ec = R.euler_modes(data.S_lag.T, a0, b0, c0, 2 * lr / (P * n), 1)
    np.testing.assert_allclose([a[1, 0], b[1, 0], c[1, 0]], [ea[1, 0], eb[1, 0], ec[1, 0]], atol=2e-6)
    assert err < 1e-5
    # and the step really moved the modes (the test would pass trivially otherwise)
    assert abs(b[1, 0] - b0) > 1e-3


def test_euler_map_converges_to_the_flow_at_first_order():
    sigma = sigma_lags("inverse_exponential", 1.0 + 0j, 0.9 * np.exp(0.5j), 5)[None]
    t = np.array([0.0, 2.0])
    flow = integrate_modes(sigma, 0.3 + 0j, 0.3 + 0j, 0.3 + 0j, t)
    errors = [abs(R.euler_modes(sigma, 0.3, 0.3, 0.3, 2.0 / n, n)[1][-1, 0] - flow.b[-1, 0]) for n in (200, 400)]
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.1)
    da, db, dc = mode_rhs(0.3, 0.3, 0.3, sigma[0])
    assert abs(db) > 0


def test_change_and_settle_times():
    t = np.linspace(0, 1, 11)
    x = np.linspace(0, 1, 11)
    assert R.change_time(t, x, 1.0, 0.9) == pytest.approx(0.9)
    assert R.change_time(t, x, 1.0, 0.1) == pytest.approx(0.1)
    assert np.isnan(R.change_time(t, x, 0.0))  # nothing to cover
    z = np.array([0.0, 1.2, 0.95, 1.05, 1.0, 1.0]) + 0j  # overshoot, then settle
    assert R.settle_time(np.arange(6.0), z, 1.0, 0.1) == 2.0
    assert np.isnan(R.settle_time(np.arange(3.0), np.array([0.0, 0.5, 0.7]), 1.0))


def test_task_shapes_and_turns():
    d = lambda r, phi: sigma_lags("inverse_exponential", 1.0, r * np.exp(1j * phi), 6)[::-1]  # d_t, t = 1..T
    assert R.radius_profile(d(0.5, 0.3)) == "spiral source"
    assert R.radius_profile(d(1.0, 0.3)) == "circle"
    assert R.radius_profile(d(1.05, 0.3)) == "spiral sink"
    np.testing.assert_allclose(R.step_rotation(d(0.9, 0.3)), -0.3)


def test_a_short_rotation_run_tracks_its_flow():
    run = R.rotation_run("inverse_exponential", 1.0, 0.0, 0.9, np.pi / 6, t_end=0.5, record_every=25)
    assert run.t[-1] == pytest.approx(0.5)
    to_map, to_flow = R.follow_errors(run)
    assert to_map < R.ROUNDOFF
    assert to_flow <= 1.25 * R.richardson_bound(run) + R.ROUNDOFF
    assert run.block < R.ROUNDOFF
    np.testing.assert_allclose(run.b_star, [0.9 * np.exp(1j * np.pi / 6)])
