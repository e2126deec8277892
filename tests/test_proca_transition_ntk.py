"""The proca-transition and proca-ntk reproductions: their measurements on known cases and their claim logic."""

import jax
import numpy as np
import pytest

from rnnscope.experiments.proca import ntk, transition as tr
from rnnscope.experiments.proca.common import aligned_float64, engine_from_weights, theory_time
from rnnscope.probes.ntk import kernel_distance
from rnnscope.tasks.linear_dynamics import linear_dynamics_data
from rnnscope.theory.linear_modes import integrate_modes, max_stable_learning_rate, mode_energy, sigma_lags
from rnnscope.theory.linear_ntk import linear_ntk

# ---------------------------------------------------------------------------
# proca-transition
# ---------------------------------------------------------------------------


def test_jump_interval_finds_a_step_and_rejects_a_ramp():
    p = np.linspace(0.5, 1.4, 10)
    step = np.where(p > 0.95, 2.0, 0.0)
    assert tr.jump_interval(step, p) == (pytest.approx(0.9), pytest.approx(1.0))
    assert tr.jump_interval(np.linspace(0.0, 2.0, 10), p) is None  # continuous rise
    assert tr.jump_interval(np.zeros(10), p) is None  # never leaves b = 0
    dip = step.copy()
    dip[-1] = 0.5  # a point that falls back off the recurrent branch is not a clean jump
    assert tr.jump_interval(dip, p) is None
    assert tr.largest_step([0.0, 0.1, 1.1, 1.2]) == pytest.approx(1.0)


def test_b2_coefficient_matches_app_h():
    # the b^2 term of E*(b) - E*(0): beta^-2 - 2 at T = 3 (negative past 1/sqrt 2), beta^-2 for T > 3
    assert tr.b2_coefficient(0.8, 3) == pytest.approx(0.8**-2 - 2.0, abs=1e-5)
    assert tr.b2_coefficient(0.6, 3) == pytest.approx(0.6**-2 - 2.0, abs=1e-5)
    for T in (4, 6, 10):
        assert tr.b2_coefficient(1.2, T) == pytest.approx(1.2**-2, abs=2e-3)


def test_settle_time_is_when_the_returning_modes_reach_zero():
    sweep = tr.Sweep("dirac", 6, np.array([0.7, 0.9, 1.2]))
    t = tr.settle_time(sweep, tr.B0_RECURRENT)
    flow = integrate_modes(sweep.sigma(), tr.A0, tr.B0_RECURRENT, tr.A0, np.array([0.0, 0.8 * t, t]),
                           method="LSODA")
    assert np.all(np.abs(flow.b[-1, :2]) <= tr.FEEDFORWARD_B)  # beta < 1: back to the feedforward branch
    assert np.abs(flow.b[1, 1]) > tr.FEEDFORWARD_B  # not earlier (the log grid is fine to a few per cent)
    assert flow.b[-1, 2] > 1.0  # beta > 1: the recurrent mode has run away by then
    np.testing.assert_array_equal(tr.flow_runs_away(sweep, tr.B0_RECURRENT), [False, False, True])


def test_refinement_ratio_tells_continuous_from_first_order():
    assert tr.refinement_ratio(3, 1.0 / np.sqrt(2.0)) == pytest.approx(0.1, abs=0.03)
    beta_c6 = tr.transition_point(6, tr.B_MAX, betas=[1.0]).beta_c
    assert tr.refinement_ratio(6, beta_c6) > 0.9


@pytest.mark.parametrize("family,values", [("dirac", (0.3, 0.8, 1.2)), ("constant", (0.1, 0.4, 0.7)),
                                           ("exponential", (0.5, 0.7, 0.9))])
def test_sweep_data_set_carries_one_sweep_value_per_mode(family, values):
    sweep = tr.Sweep(family, 5, np.asarray(values))
    data = linear_dynamics_data(**dict(sweep.task_kwargs()))
    np.testing.assert_allclose(data.S_lag.T, sweep.sigma(), rtol=1e-12)
    assert data.x.shape[2] == data.y.shape[1] == len(values)


def test_stable_flow_step_respects_the_stability_limit():
    sigma = sigma_lags("constant", np.array([0.3, 0.5]), None, 10, kappa=tr.KAPPA)
    dt = tr.stable_flow_step(sigma, [tr.B0_SMALL], 20.0, n_points=41)
    assert 0 < dt <= tr.DT_MAX
    # no larger than the fraction of the limit at the converged point of the stiffest mode
    end = integrate_modes(sigma, tr.A0, tr.B0_SMALL, tr.A0, np.array([0.0, 20.0]), method="LSODA")
    limit = min(max_stable_learning_rate(end.a[-1, i], end.b[-1, i], end.c[-1, i], sigma[i]) for i in range(2))
    assert dt <= tr.DT_FRACTION * limit * (1 + 1e-12)


def test_gradient_descent_of_aligned_network_follows_the_mode_flow():
    # Dirac T = 3, one feedforward and one recurrent mode; the time map 2 lr steps / (P N_y) must hold
    run = tr.run_sweep_gd(tr.Sweep("dirac", 3, np.array([0.3, 0.8])), [tr.B0_SMALL], 30.0, (0.0, tr.B_MAX))
    assert run.t_end == pytest.approx(30.0)
    np.testing.assert_allclose(run.b, run.flow_b, atol=2e-3)
    np.testing.assert_allclose(run.u, run.flow_u, atol=2e-3)
    assert abs(run.b[0, 0]) < 1e-3 and run.b[0, 1] == pytest.approx(1 / np.sqrt(2), abs=5e-3)


def test_energy_maps_split_the_mode_energy_and_the_regulariser_ignores_the_task():
    data, reg, total = tr.energy_maps(3, 1.5)
    _, reg2, total2 = tr.energy_maps(3, 0.5)
    np.testing.assert_array_equal(reg, reg2)
    assert np.max(np.abs(total - total2)) > 0.1
    u, b = np.meshgrid(tr.FIG_A2_U, tr.FIG_A2_B)
    pos = u >= 0
    root = np.sqrt(u[pos])
    expected = mode_energy(root, b[pos], root, sigma_lags("dirac", None, None, 3, kappa=tr.KAPPA, s1=1.5))
    np.testing.assert_allclose(total[pos], expected, rtol=1e-12, atol=1e-12)


def _fake_run(family, T, b, global_b, u=None):
    values = np.linspace(0.1, 1.0, len(b))
    b = np.asarray(b, float)[None]
    u = np.full_like(b, tr.KAPPA) if u is None else np.asarray(u, float)[None]
    return tr.SweepRun(tr.Sweep(family, T, values), np.array([0.1]), b, u, b.copy(), u.copy(),
                       np.asarray(global_b, float), u[0].copy(), 40.0, 0.01, np.array([1e-6]))


def test_kappa_claims_pass_on_hysteresis_and_fail_on_a_premature_jump():
    glob = [0.0, 0.0, 1.0, 1.0]
    # GD stays on the feedforward branch one point past the global jump (hysteresis): every claim holds
    late = [_fake_run(f, T, b, glob) for f in ("constant", "exponential")
            for T, b in ((5, [0.0, 0.0, 0.6, 1.0]), (10, [0.0, 0.0, 0.1, 1.0]))]
    assert all(c.passed for c in tr.kappa_claims(late))
    early = [_fake_run(f, T, b, [0.0, 0.0, 0.0, 1.0]) for f in ("constant", "exponential")
             for T, b in ((5, [0.0, 0.2, 0.6, 1.0]), (10, [0.0, 0.0, 1.0, 1.0]))]
    misses = [c for c in tr.kappa_claims(early) if "misses" in c.claim]
    assert not any(c.passed for c in misses)  # the recurrent branch before the global jump is flagged
    # "sharper at larger T" fails when the larger T is smoother
    smooth = [_fake_run(f, T, b, glob) for f in ("constant", "exponential")
              for T, b in ((5, [0.0, 0.0, 1.0, 1.0]), (10, [0.0, 0.3, 0.6, 1.0]))]
    sharper = [c for c in tr.kappa_claims(smooth) if "sharper" in c.claim]
    assert sharper and not any(c.passed for c in sharper)


# ---------------------------------------------------------------------------
# proca-ntk
# ---------------------------------------------------------------------------


def scaled(s, U_y, V_x):
    """The aligned network with every mode equal to s, in the basis R = I."""
    return aligned_float64(np.eye(ntk.HIDDEN), U_y, V_x, s, s, s)


def test_solution_weights_are_the_data_bases():
    data, _ = _bases(2)
    sol = ntk.solution_weights(data.U_y, data.V_x)
    np.testing.assert_array_equal(sol["W_x"], data.V_x.T)
    np.testing.assert_array_equal(sol["W_h"], np.eye(ntk.HIDDEN))
    np.testing.assert_array_equal(sol["W_y"], data.U_y)
    np.testing.assert_array_equal(scaled(0.3, data.U_y, data.V_x)["W_y"], 0.3 * data.U_y)


def _bases(T=3):
    data = linear_dynamics_data(**dict(ntk.task_config(T).kwargs))
    return data, data.x[:, : ntk.NTK_SEQUENCES].astype(np.float64)


def test_predicted_distance_is_zero_at_t1_and_at_the_solution():
    data, x = _bases(1)
    for s in (0.01, 0.3):
        assert abs(ntk.predicted_distance(scaled(s, data.U_y, data.V_x), data.U_y, data.V_x,
                                          x)) < 1e-12
    data, x = _bases(3)
    assert abs(ntk.predicted_distance(ntk.solution_weights(data.U_y, data.V_x), data.U_y, data.V_x, x)) < 1e-12
    small = ntk.predicted_distance(scaled(0.01, data.U_y, data.V_x), data.U_y, data.V_x, x)
    near = ntk.predicted_distance(scaled(0.9, data.U_y, data.V_x), data.U_y, data.V_x, x)
    assert small > 0.1 > near > 0.0


def test_predicted_distance_does_not_depend_on_the_hidden_basis():
    data, x = _bases(3)
    R = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))[0]
    w = scaled(0.2, data.U_y, data.V_x)
    rotated = {"W_x": R @ w["W_x"], "W_h": R @ w["W_h"] @ R.T, "W_y": w["W_y"] @ R.T}
    K, K_rot = ntk.ntk_of(w, x), ntk.ntk_of(rotated, x)
    np.testing.assert_allclose(K_rot, K, rtol=1e-10, atol=1e-12)


def test_step_and_rate_invert_the_time_map():
    for T in (1, 4):
        dt = ntk.flow_step(T)
        limit = max_stable_learning_rate(1.0, 1.0, 1.0, sigma_lags("constant", 1.0, 1.0, T))
        assert dt == pytest.approx(ntk.DT_FRACTION * limit / ntk.PATH_SHARPNESS)
        assert theory_time(1, ntk.learning_rate(dt, 40, 4), 40, 4) == pytest.approx(dt)


@pytest.mark.parametrize("T", [1, 2, 8])
def test_schedule_covers_the_flow_time_with_odd_record_spacing(T):
    dt, steps, records = ntk.schedule(T, 30.0)
    every = steps // records
    assert steps == every * records and every % 2 == 1
    assert 30.0 <= steps * dt < 30.0 + every * dt + 1e-12


def test_energy_sharpness_at_the_solution_is_the_one_mode_limit():
    # the whole network's Hessian at a = b = c = 1 has the top eigenvalue of one mode's 3 x 3 Hessian
    for T in (1, 3):
        data, _ = _bases(T)
        sol = {k: np.asarray(v)[None] for k, v in ntk.solution_weights(data.U_y, data.V_x).items()}
        top = ntk.energy_sharpness(sol, data.x, data.y)[0]
        expected = 2.0 / max_stable_learning_rate(1.0, 1.0, 1.0, sigma_lags("constant", 1.0, 1.0, T))
        assert top == pytest.approx(expected, rel=1e-4)
    # near the origin only the bilinear lag-0 term W_y W_x curves E: its Hessian there is the saddle
    # [[0, -C], [-C^T, 0]] with C the last-input/output correlation, whose singular values are s_t = 1
    tiny = {k: np.asarray(v)[None] for k, v in scaled(1e-4, data.U_y, data.V_x).items()}
    assert ntk.energy_sharpness(tiny, data.x, data.y)[0] == pytest.approx(1.0, abs=1e-3)


def test_loss_rose_counts_real_rises_only():
    rows = np.array([
        [1.0, 0.5, 0.2, 1e-3, 1e-8, 1e-14],
        [1.0, 1e-3, 1e-9, 1e-13, 2e-14, 5e-14],  # float32 noise of a converged member, below RISE_FLOOR
        [1.0, 0.5, 0.3, 0.31, 0.29, 0.3],  # a period-2 oscillation seen at odd record spacing
        [1.0, 0.5, 0.5 * (1 + 0.1 * ntk.RISE), 0.1, 0.1, 0.1],  # below the relative threshold
        [1.0, 0.5, np.nan, np.nan, np.nan, np.nan],  # diverged
    ])
    np.testing.assert_array_equal(ntk.loss_rose(rows), [False, False, True, False, False])


def test_grid_helpers():
    D = np.array([[0.7, 0.5, 0.1], [0.7, 0.8, 0.1], [np.nan, 0.4, 0.2]])
    np.testing.assert_array_equal(ntk.decreasing_rows(D), [True, False, True])
    assert ntk.rises_with_T([0.0, 0.3, 0.7, 0.6])
    assert not ntk.rises_with_T([0.0, 0.3, 0.2])
    assert not ntk.rises_with_T([0.4, 0.3, 0.7])
    med = ntk.median_over_seeds(np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]]))
    assert med[0] == 2.0 and np.isnan(med[1])


def _fake_length(T, D_al, D_un, **changes):
    D = np.column_stack([np.asarray(D_al, float), np.asarray(D_un, float)])
    ones = np.ones_like(D)
    run = ntk.LengthRun(T=T, D=D, D_probe=D.copy(), predicted=D.copy(), loss_ratio=1e-8 * ones,
                        grad_ratio=1e-8 * ones, diverged=np.zeros(D.shape, bool), smallest_singular=ones,
                        kernel_error=1e-7, flow_time=30.0, rose=np.zeros(D.shape, bool), step_start=0.2 * ones,
                        step_end=0.2 * ones, lowest_eigenvalue=ones, descending=np.zeros(D.shape, bool))
    return run._replace(**changes)


def _grid(runs, scales):
    return ntk.Grid(np.array([r.T for r in runs]), scales, np.stack([r.D_aligned for r in runs]),
                    np.stack([ntk.median_over_seeds(r.D_unaligned) for r in runs]), runs)


def test_ntk_claims_pass_on_the_expected_picture_and_fail_on_a_wrong_one():
    scales = np.array([0.01, 0.3, 0.9])
    good = [_fake_length(1, [0, 0, 0], [0.2, 0.2, 0.2]), _fake_length(2, [0.3, 0.2, 0.01], [0.5, 0.4, 0.3]),
            _fake_length(4, [0.7, 0.5, 0.01], [0.8, 0.7, 0.6])]
    assert all(c.passed for c in ntk.ntk_claims(_grid(good, scales)))
    bad = [_fake_length(1, [0, 0, 0], [0.2, 0.2, 0.2]), _fake_length(2, [0.3, 0.35, 0.01], [0.5, 0.4, 0.3]),
           _fake_length(4, [0.2, 0.1, 0.01], [0.8, 0.7, 0.6])]
    failed = {c.claim for c in ntk.ntk_claims(_grid(bad, scales)) if not c.passed}
    assert any("monotonically" in c for c in failed)
    assert any("rises with T" in c for c in failed)


def _claim(claims, words):
    (claim,) = [c for c in claims if words in c.claim]
    return claim


def test_step_and_stall_claims_flag_unstable_and_moving_members():
    scales = np.array([0.01, 0.3, 0.9])
    base = [_fake_length(1, [0, 0, 0], [0.2, 0.2, 0.2]), _fake_length(2, [0.3, 0.2, 0.01], [0.5, 0.4, 0.3])]
    flags = np.zeros((3, 2), bool)
    flags[2, 1] = True  # only at the largest init: allowed
    ok = [base[0], base[1]._replace(rose=flags)]
    assert _claim(ntk.ntk_claims(_grid(ok, scales)), "step stable").passed
    for field, value in (("rose", True), ("step_start", 1.5), ("step_end", 1.0)):
        arr = np.array(getattr(base[1], field), dtype=type(value), copy=True)
        arr[1, 1] = value  # a member at init 0.3
        claims = ntk.ntk_claims(_grid([base[0], base[1]._replace(**{field: arr})], scales))
        assert not _claim(claims, "step stable").passed, field
    # a stalled member whose gradient is gone passes; one still moving fails
    loss = np.array(base[1].loss_ratio)
    loss[2, 1] = 0.2
    grad = np.array(base[1].grad_ratio)
    still = [base[0], base[1]._replace(loss_ratio=loss, grad_ratio=grad)]
    assert _claim(ntk.ntk_claims(_grid(still, scales)), "stalled").passed
    grad[2, 1] = 10 * ntk.STATIONARY
    moving = [base[0], base[1]._replace(loss_ratio=loss, grad_ratio=grad)]
    claim = _claim(ntk.ntk_claims(_grid(moving, scales)), "stalled")
    assert not claim.passed and "init 0.9" in claim.claim
    # with its gradient on, it is accounted for on the b < -1 branch or while its loss still falls
    lowest = np.array(base[1].lowest_eigenvalue)
    lowest[2, 1] = -1.5
    runaway = [base[0], base[1]._replace(loss_ratio=loss, grad_ratio=grad, lowest_eigenvalue=lowest)]
    assert _claim(ntk.ntk_claims(_grid(runaway, scales)), "stalled").passed
    falling = np.zeros((3, 2), bool)
    falling[2, 1] = True
    slow = [base[0], base[1]._replace(loss_ratio=loss, grad_ratio=grad, descending=falling)]
    assert _claim(ntk.ntk_claims(_grid(slow, scales)), "stalled").passed


def test_still_descending_reads_the_last_quarter_of_the_records():
    rows = np.array([
        [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2],
        [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.41, 0.2],  # a rise inside the last quarter
        [1.0, 1.2, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.3],  # flat at the end
        [1.0, 1.2, 1.3, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2],  # rises before the last quarter only
        [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, np.nan, np.nan],  # diverged
    ])
    np.testing.assert_array_equal(ntk.still_descending(rows), [True, False, False, True, False])


def test_engine_from_weights_starts_the_replaced_member_from_the_given_weights():
    T = 2
    data, x = _bases(T)
    P = data.x.shape[1]
    given = scaled(0.5, data.U_y, data.V_x)
    initial, res = engine_from_weights(ntk.model_config(), ntk.task_config(T), np.array([0, 1]),
                                           np.array([0.5, 0.5]), {0: given}, 5.0, 4, P, ("ntk",), 2)
    np.testing.assert_allclose(initial["W_h"][0], given["W_h"], atol=1e-7)
    kernels = res.trajectories["ntk"]
    assert kernels.shape == (2, 3, ntk.NTK_SEQUENCES * ntk.HIDDEN, ntk.NTK_SEQUENCES * ntk.HIDDEN)
    # the first record is the given weights' kernel; the other member kept the engine's Gaussian init
    expected = linear_ntk(given["W_x"], given["W_h"], given["W_y"], x).total
    assert ntk.relative_error(kernels[0, 0], expected) < 1e-5
    assert not np.allclose(initial["W_h"][1], given["W_h"], atol=1e-2)
    assert float(kernel_distance(kernels[0, 0], kernels[0, -1])) > 1e-6  # training moved the kernel
    last = jax.tree.map(lambda a: np.asarray(a[0], np.float64), res.params)
    assert ntk.relative_error(kernels[0, -1], ntk.ntk_of(last, x)) < 1e-5
