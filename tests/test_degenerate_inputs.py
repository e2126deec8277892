"""Analysis functions given degenerate input answer "unresolved", never raise and never return nonsense.

Degenerate: constant series, too few points, all NaN (every member diverged),
empty input. Each estimator below has a ``resolved`` flag (or returns NaN
where its statistic is undefined); these tests feed it each kind of bad
input and check that it says so.
"""

import numpy as np
import pandas as pd
import pytest

from rnnscope.analysis import alpha, envelope, factorial, phase, process_fit, spectrum

LAGS = np.arange(1.0, 65.0)
CASES = {
    "constant": lambda n: np.ones(n),
    "all NaN": lambda n: np.full(n, np.nan),
    "too few": lambda n: np.ones(3) * 0.5,
    "empty": lambda n: np.zeros(0),
    "zeros": lambda n: np.zeros(n),
    "infinite": lambda n: np.full(n, np.inf),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_envelope_fits_and_window(case):
    f = CASES[case](len(LAGS))
    lags = LAGS[: len(f)]
    fits = envelope.fit_envelope(lags, f)
    window = envelope.power_law_window(fits)
    assert not fits.resolved and not window.passed
    assert isinstance(fits.reason, str) and fits.reason


@pytest.mark.parametrize("case", sorted(CASES))
def test_spectrum_estimators(case):
    tau = CASES[case](64)
    assert not spectrum.ccdf_tail_fit(tau).resolved
    assert not spectrum.bootstrap_beta(tau, seed=0).resolved
    if case != "constant":  # a constant tau is a real spectrum: one time scale, a well-defined envelope
        assert not spectrum.mixture_exponent(tau).resolved
        assert not spectrum.log_rate_range(tau).resolved


@pytest.mark.parametrize("case", sorted(CASES))
def test_phase_of_a_degenerate_network_is_unresolved(case):
    p = phase.measure_phase(LAGS[:len(CASES[case](64))], CASES[case](64), CASES[case](64))
    assert p.label in (phase.UNRESOLVED, phase.COLLAPSED)
    if case in ("all NaN", "empty", "too few", "infinite"):
        assert p.label == phase.UNRESOLVED


@pytest.mark.parametrize("case", sorted(CASES))
def test_alpha_estimators(case):
    x = CASES[case](2000)
    directional = alpha.multi_direction_alpha(np.stack([x, x]) if x.size else x)
    tail = alpha.calibrated_tail_alpha(x)
    assert not directional.resolved and directional.reason
    assert not tail.resolved and tail.reason


@pytest.mark.parametrize("case", ["constant", "all NaN", "too few"])
def test_log_rate_process_fit(case):
    make = CASES[case]
    zeta = np.stack([make(32) for _ in range(8)]) if case != "too few" else np.ones((2, 3))
    steps = np.arange(zeta.shape[0]) * 10 + 10
    fit = process_fit.fit_process(zeta, steps)
    assert not fit.resolved and fit.reason


def diverged_sweep(n=40, success=False):
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "optimizer_lr": rng.choice([0.01, 0.1], n), "task_seq_len": rng.choice([11, 26], n),
        "success": np.full(n, success), "credit_ratio_median": np.full(n, np.nan),
        "grad_norm_max": np.full(n, np.nan), "grad_norm_initial": np.full(n, np.nan),
        "nonfinite": np.ones(n, int), "diverged": np.ones(n, bool)})


@pytest.mark.parametrize("success", [False, True])
def test_sweep_regression_on_an_all_diverged_population(success):
    result = factorial.analyze_sweep(diverged_sweep(success=success), ["optimizer_lr", "task_seq_len"])
    assert not result.regression.resolved and result.regression.reason
    assert not result.importance.resolved and result.importance.reason


# Two ways a member's training runs away, each beside a setting that trains at the same rate.
# A leaky integrator target with a slow decay c is stiff: the loss curvature grows as c falls, so the
# rate that trains c = 0.5 throws c = 0.02 out within a few steps. An early-importance task of the
# linear-dynamics theory (inverse-exponential lambda = 1.3) needs b = 1.3 > 1, where gradients explode
# with the sequence (Proca et al. 2025), while lambda = 0.8 converges to b = 0.8.
RUNAWAY = {
    "stiff integrator target": (
        {"name": "integration", "kind": "leaky", "seq_len": 60},
        {"arch": "linear", "hidden": 8, "init_scale": 0.5}, 0.005, 16, ("task.c", [0.5, 0.02])),
    "b > 1 in the linear theory": (
        {"name": "linear_dynamics", "seq_len": 10, "normalise": "mean", "n_samples": 64},
        {"arch": "linear", "hidden": 4, "init_scale": 0.5, "bias": False}, 0.05, 64, ("task.lam", [0.8, 1.3])),
}


@pytest.mark.parametrize("case", sorted(RUNAWAY))
def test_runaway_members_are_flagged_and_stay_out_of_the_aggregates(case, tmp_path):
    # the runaway members must be flagged with their step and a NaN final loss, and the run's
    # summaries must skip them
    import json

    from typer.testing import CliRunner

    import rnnscope
    from rnnscope.cli import app

    task, model, lr, batch, (factor, (good, bad)) = RUNAWAY[case]
    spec = {"name": "runaway", "seeds": 2, "steps": 80, "batch": batch, "eval_batch": batch,
            "task": task, "model": model, "optimizer": {"name": "sgd", "lr": lr},
            "record": {"every": 20, "log_points": None, "probes": ["loss"], "probe_batch": 8},
            "grid": {factor: [good, bad]}}
    rnnscope.run(spec, store=tmp_path)
    members = rnnscope.load("runaway", store=tmp_path)
    column = factor.replace(".", "_")
    runaway, trained = members[members[column] == bad], members[members[column] == good]
    assert runaway.diverged.all() and (runaway.diverged_step > 0).all() and runaway.final_loss.isna().all()
    assert not trained.diverged.any() and np.isfinite(trained.final_loss).all()

    out = CliRunner().invoke(app, ["show", "runaway", "--store", str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert summary["diverged"] == 2
    cells = {cell[column]: cell for cell in summary["cells"]}
    assert cells[bad]["median_final_loss"] is None  # no finite member to summarise, and no NaN
    assert cells[good]["median_final_loss"] == pytest.approx(float(np.median(trained.final_loss)))
