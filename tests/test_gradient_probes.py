"""Vanishing/exploding-gradient probes: Jacobian Lyapunov exponent, credit ratio, non-finite events."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnscope.models import get_model
from rnnscope.models.base import ModelConfig
from rnnscope.optim import OptimizerConfig
from rnnscope.probes.basic import ProbeContext
from rnnscope.probes.gradients import (credit_ratio, informative_step, jacobian_lyapunov, nonfinite_grad,
                                       random_frame)
from rnnscope.tasks import make_task
from rnnscope.train import TaskConfig, TrainConfig, train_population

PROBES = ("loss", "grad_norm", "jac_lyapunov", "credit_ratio", "nonfinite_grad")


def context(arch, hidden, xs, params=None, task=None, ys=None, input_dim=1, seed=0, **hp):
    cfg = ModelConfig(arch=arch, hidden=hidden, input_dim=input_dim, output_dim=1)
    model = get_model(arch)
    if params is None:
        params = model.init(jax.random.PRNGKey(seed), cfg, hp)
    return ProbeContext(model, cfg, params, None, jnp.float32(0), jnp.float32(0), jnp.asarray(xs, jnp.float32),
                        probe_y=ys, task=task)


def inputs(seq_len, batch, dim=1, seed=1):
    return np.random.default_rng(seed).normal(size=(seq_len, batch, dim)).astype(np.float32)


def with_recurrent(ctx, w):
    return ctx._replace(params=dict(ctx.params, W_h=jnp.asarray(w, jnp.float32)))


def evaluate(fn, ctx, **kw):
    """fn(ctx, **kw) as a float, compiled once (eager dispatch of the scans is slow)."""
    compiled = jax.jit(lambda params, xs, ys: fn(ctx._replace(params=params, probe_x=xs, probe_y=ys), **kw))
    return float(compiled(ctx.params, ctx.probe_x, ctx.probe_y))


def frame_estimate(product, n_vectors=4):
    """max_i log |R_ii| of the QR of prod_J Q_0 (the probe's frame), in float64."""
    q0 = np.asarray(random_frame(product.shape[0], n_vectors), np.float64)
    return np.max(np.log(np.abs(np.diag(np.linalg.qr(product @ q0)[1]))))


def jacobian_product(jacobians):
    """J_T ... J_2 for jacobians = [J_2, ..., J_T]."""
    out = np.eye(jacobians[0].shape[0])
    for j in jacobians:
        out = j @ out
    return out


# ---------------------------------------------------------------- jac_lyapunov


@pytest.mark.parametrize("g", [0.7, 1.0, 1.3])
def test_lyapunov_of_scaled_orthogonal_linear_rnn_is_log_g(g):
    # every J_t = g Q, so prod J Q_0 has orthogonal columns of norm g^(T-1): exact for any T and frame
    q = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 6)))[0]
    ctx = with_recurrent(context("linear", 6, inputs(40, 3)), g * q)
    assert abs(evaluate(jacobian_lyapunov, ctx) - np.log(g)) < 1e-5


def test_lyapunov_of_diagonal_linear_rnn_approaches_log_max_d_as_one_over_t():
    # exact: (1/(T-1)) log ||W^(T-1)||_2 = log 1.1. The frame's first vector grows like
    # 1.1^(T-1) |q_1[0]| (0.9/1.1 subleading), so the deficit times (T-1) tends to -log|q_1[0]|
    d = np.array([1.1, -0.9, 0.5, 0.3, 0.2, 0.1])
    deficit = {}
    for T in (60, 240):
        ctx = with_recurrent(context("linear", 6, inputs(T, 2)), np.diag(d))
        lam = evaluate(jacobian_lyapunov, ctx)
        exact = np.log(np.linalg.norm(np.diag(d ** (T - 1)), 2)) / (T - 1)
        assert exact == pytest.approx(np.log(1.1), abs=1e-12)
        assert lam <= exact + 1e-6
        assert lam == pytest.approx(frame_estimate(np.diag(d ** (T - 1))) / (T - 1), abs=1e-5)
        deficit[T] = (exact - lam) * (T - 1)
    q10 = abs(float(random_frame(6)[0, 0]))
    assert deficit[60] == pytest.approx(-np.log(q10), rel=1e-3)
    assert deficit[240] == pytest.approx(-np.log(q10), rel=1e-3)


def test_lyapunov_of_elman_matches_explicit_jacobian_products():
    # J_t = diag(1 - h_t^2) W_h for t = 2..T, multiplied out densely in float64; the
    # reference applies the same frame once to the product, the probe re-orthonormalises
    # it every step, so the two agree to float32 rounding (not to the top singular value,
    # which the frame only bounds from below)
    T, B, H = 20, 3, 5
    xs = inputs(T, B)
    ctx = context("elman", H, xs, init_scale=1.4)
    W = np.asarray(ctx.params["W_h"], np.float64)
    hs = np.asarray(ctx.model.run(ctx.params, jnp.zeros((B, H)), ctx.probe_x), np.float64)
    estimates, tops = [], []
    for b in range(B):
        product = jacobian_product([(1 - hs[t, b] ** 2)[:, None] * W for t in range(1, T)])
        estimates.append(frame_estimate(product) / (T - 1))
        tops.append(np.log(np.linalg.norm(product, 2)) / (T - 1))
    lam = evaluate(jacobian_lyapunov, ctx)
    assert lam == pytest.approx(np.mean(estimates), abs=1e-4)
    assert lam <= np.mean(tops) + 1e-5
    # a product that skipped J_2 or included J_1 would differ by far more than the tolerance
    shifted = [frame_estimate(jacobian_product([(1 - hs[t, b] ** 2)[:, None] * W for t in range(0, T)])) / (T - 1)
               for b in range(B)]
    assert abs(np.mean(shifted) - lam) > 1e-3


def test_lyapunov_of_lstm_uses_the_whole_state_h_then_c():
    # dense Jacobians of the flattened step (h, c) -> (h', c') by jax.jacfwd, in ravel order
    T, B, H = 15, 2, 3
    xs = inputs(T, B)
    ctx = context("lstm", H, xs, init_scale=1.5)
    model, params = ctx.model, ctx.params

    def flat_step(v, x):
        h, c = model.step(params, (v[:H], v[H:]), x)
        return jnp.concatenate([h, c])

    def states(x_seq):  # v_1..v_T
        def body(v, x):
            v = flat_step(v, x)
            return v, v

        return jax.lax.scan(body, jnp.zeros(2 * H), x_seq)[1]

    # J_t = d v_t / d v_{t-1} at (v_{t-1}, x_t), t = 2..T, for every sequence: (B, T-1, 2H, 2H)
    jacobians = jax.jit(jax.vmap(lambda x_seq: jax.vmap(jax.jacfwd(flat_step))(states(x_seq)[:-1], x_seq[1:]),
                                 in_axes=1))(jnp.asarray(xs))
    jacobians = np.asarray(jacobians, np.float64)
    estimates = [frame_estimate(jacobian_product(list(jacobians[b]))) / (T - 1) for b in range(B)]
    assert evaluate(jacobian_lyapunov, ctx) == pytest.approx(np.mean(estimates), abs=1e-4)


def test_lyapunov_of_lru_reads_the_complex_state_as_re_im():
    # h' = lambda h + B x: on (Re h, Im h) the Jacobian is [[Re L, -Im L], [Im L, Re L]], L = diag(lambda)
    T, H = 25, 3
    ctx = context("lru", H, inputs(T, 2))
    lam = np.asarray(jnp.exp(jax.lax.complex(-jnp.exp(ctx.params["nu"]), ctx.params["theta"])), np.complex128)
    real_jacobian = np.block([[np.diag(lam.real), -np.diag(lam.imag)], [np.diag(lam.imag), np.diag(lam.real)]])
    expected = frame_estimate(np.linalg.matrix_power(real_jacobian, T - 1)) / (T - 1)
    lyapunov = evaluate(jacobian_lyapunov, ctx)
    assert lyapunov == pytest.approx(expected, abs=1e-5)
    assert lyapunov <= np.log(np.abs(lam).max()) + 1e-6


# ---------------------------------------------------------------- credit_ratio


def elman_state_gradients(ctx, xs, readout_grads):
    """dL/dh_t (T, B, H) in float64 by the explicit backward recursion g_{t-1} = dL/dy_{t-1} W_y + J_t^T g_t."""
    p = {k: np.asarray(v, np.float64) for k, v in ctx.params.items()}
    T, B = xs.shape[:2]
    h = np.zeros((B, p["W_h"].shape[0]))
    hs = []
    for t in range(T):
        h = np.tanh(h @ p["W_h"].T + xs[t] @ p["W_x"].T + p["b"])
        hs.append(h)
    hs = np.stack(hs)
    dy = readout_grads(hs @ p["W_y"].T + p["b_y"])  # (T, B, O): dL/dy_t
    g = np.zeros_like(hs)
    g[-1] = dy[-1] @ p["W_y"]
    for t in range(T - 1, 0, -1):
        g[t - 1] = dy[t - 1] @ p["W_y"] + ((1 - hs[t] ** 2) * g[t]) @ p["W_h"]
    return g


def test_credit_ratio_of_latch_matches_explicit_backward_pass_at_the_prefix_end():
    # logistic loss on the last readout only: dL/dy_T = (sigmoid(o_T) - label) / B; L = prefix_len
    task = make_task("latch", seq_len=12, prefix_len=3)
    xs, ys = task.sample(jax.random.PRNGKey(3), 6)
    ctx = context("elman", 5, xs, task=task, ys=ys, init_scale=1.2)
    x64, y64 = np.asarray(xs, np.float64), np.asarray(ys, np.float64)

    def readout_grads(o):
        dy = np.zeros_like(o)
        dy[-1] = (1 / (1 + np.exp(-o[-1])) - y64) / o.shape[1]
        return dy

    g = elman_state_gradients(ctx, x64, readout_grads)
    assert informative_step(task, 12) == 3
    expected = np.linalg.norm(g[2]) / np.linalg.norm(g[-1])
    assert evaluate(credit_ratio, ctx) == pytest.approx(expected, rel=1e-4)
    assert evaluate(credit_ratio, ctx, early_step=7) == pytest.approx(np.linalg.norm(g[6]) / np.linalg.norm(g[-1]),
                                                                   rel=1e-4)


def test_credit_ratio_with_every_step_targets_starts_at_step_one():
    # MSE over every readout: dL/dy_t = 2 (y_hat_t - y_t) / (T B O), fed in at every step; L = 1
    task = make_task("integration", kind="leaky", seq_len=10, c=0.3)
    xs, ys = task.sample(jax.random.PRNGKey(4), 5)
    ctx = context("elman", 4, xs, task=task, ys=ys)
    y64 = np.asarray(ys, np.float64)
    g = elman_state_gradients(ctx, np.asarray(xs, np.float64), lambda o: 2 * (o - y64) / o.size)
    assert informative_step(task, 10) == 1
    assert evaluate(credit_ratio, ctx) == pytest.approx(np.linalg.norm(g[0]) / np.linalg.norm(g[-1]), rel=1e-4)


@pytest.mark.parametrize("g", [0.8, 1.2])
def test_credit_ratio_of_linear_rnn_with_w_g_identity_is_g_to_the_distance(g):
    # dL/dh_L = (g I)^(T-L) dL/dh_T for a last-step target: r = g^(T-L), L = T - lag by default
    task = make_task("recall", lag=20, seq_len=30, target="last")
    xs, ys = task.sample(jax.random.PRNGKey(5), 4)
    ctx = with_recurrent(context("linear", 6, xs, task=task, ys=ys), g * np.eye(6))
    assert np.log(evaluate(credit_ratio, ctx)) / 20 == pytest.approx(np.log(g), abs=1e-5)
    assert np.log(evaluate(credit_ratio, ctx, early_step=1)) == pytest.approx(29 * np.log(g), abs=1e-4)


def test_credit_ratio_without_targets_says_what_is_missing():
    ctx = context("elman", 3, inputs(5, 2))
    with pytest.raises(ValueError, match="probe_y"):
        credit_ratio(ctx)


# ---------------------------------------------------------------- nonfinite_grad


@pytest.mark.parametrize("norm, expected", [(1.5, 0.0), (0.0, 0.0), (np.inf, 1.0), (np.nan, 1.0)])
def test_nonfinite_grad_flags_nan_and_inf(norm, expected):
    ctx = context("elman", 3, inputs(5, 2))._replace(grad_norm=jnp.float32(norm))
    assert float(nonfinite_grad(ctx)) == expected


# ---------------------------------------------------------------- inside the training scan

LATCH = TaskConfig("latch", (("seq_len", 10), ("prefix_len", 2)))
TRAIN = TrainConfig(steps=6, batch=8, record_every=3, record_log_points=None, probe_batch=8, eval_batch=16,
                    block=2, probes=PROBES)
SGD = OptimizerConfig(name="sgd")


def train(arch, lrs, seeds=None):
    seeds = np.arange(len(lrs)) if seeds is None else np.asarray(seeds)
    model = ModelConfig(arch=arch, hidden=4, input_dim=1, output_dim=1)
    return train_population(model, LATCH, SGD, TRAIN, seeds, {"lr": np.asarray(lrs, np.float32)})


@pytest.mark.parametrize("arch", ["elman", "gru", "lstm"])
def test_gradient_probes_run_in_training_for_every_architecture(arch):
    res = train(arch, [0.1, 0.3])
    assert not res.diverged.any()
    for name in PROBES:
        assert res.trajectories[name].shape == (2, 3), name
        assert np.all(np.isfinite(res.trajectories[name])), name
    assert np.all(res.trajectories["nonfinite_grad"] == 0.0)
    assert np.all(res.trajectories["credit_ratio"] > 0)
    if arch == "elman":
        # the record at step 0 is the probe applied to the member's initial parameters and probe batch
        task, cfg, model = LATCH.build(), ModelConfig(arch="elman", hidden=4), get_model("elman")
        for m in range(2):
            keys = jax.random.split(jax.random.PRNGKey(m), 5)
            params = model.init(keys[0], cfg, {"init_scale": 1.0, "io_scale": 0.0, "gate": 0.05})
            xs, ys = task.sample(keys[3], TRAIN.probe_batch)
            ctx = ProbeContext(model, cfg, params, None, 0.0, 0.0, xs, probe_y=ys, task=task)
            assert res.trajectories["jac_lyapunov"][m, 0] == pytest.approx(evaluate(jacobian_lyapunov, ctx), abs=1e-5)
            assert res.trajectories["credit_ratio"][m, 0] == pytest.approx(evaluate(credit_ratio, ctx), rel=1e-4)


def test_diverging_member_is_flagged_without_poisoning_the_others():
    lrs = np.array([0.1, 3e38, 0.3], np.float32)  # overflows the parameters within two steps
    with_bad = train("elman", lrs)
    without = train("elman", lrs[[0, 2]], seeds=[0, 2])
    assert with_bad.diverged.tolist() == [False, True, False]
    after = with_bad.record_steps >= with_bad.diverged_step[1]
    for name in PROBES:
        bad = with_bad.trajectories[name][1]
        assert np.all(np.isnan(bad[after])), name
        assert np.all(np.isfinite(bad[~after])), name
        np.testing.assert_array_equal(with_bad.trajectories[name][[0, 2]], without.trajectories[name])
    assert np.all(with_bad.trajectories["nonfinite_grad"][1, ~after] == 0.0)
