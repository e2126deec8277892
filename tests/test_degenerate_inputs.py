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
