"""The ``learnability-window`` reproduction (Livi 2025, digest papers/livi.md, sections 7 and 8.1):
its closed forms, Part A (the law on simulated statistics) at its real size, and the whole run at a tiny
size for the plumbing (claims well-formed, figures written)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnscope.analysis import learnability as la
from rnnscope.experiments import learnability as lw
from rnnscope.experiments.base import Outcome
from rnnscope.experiments.claims import Claim

GRID = np.asarray(la.N_GRID)


def test_closed_forms_agree_with_each_other_and_the_pipeline():
    """N*, its grid rounding and H(N) are one law: the pipeline fed the true m, sigma, alpha gives the
    grid-rounded N*, and the threshold at H(N) is N."""
    for case in lw.law_cases().values():
        m = case.amplitude * lw.envelope_of(case, case.lags)
        exact = la.n_required(m, case.sigma, case.alpha)
        np.testing.assert_array_equal(exact, lw.grid_n_required(lw.threshold(case)))
        N = np.array([100.0, 3200.0])
        H = lw.closed_form_window(case, N)
        at_h = (la.EPSILON * case.sigma / (case.amplitude * lw.envelope_of(case, H))) ** case.kappa
        np.testing.assert_allclose(at_h, N, rtol=1e-10)


@pytest.fixture(scope="module")
def law_runs():
    return lw.run_law_part()


def test_law_part_reproduces_the_closed_forms(law_runs):
    """Every Part-A claim passes at the real size, and each growth tolerance is tight enough to reject
    the law with alpha in place of kappa_alpha (N ~ f^{-alpha}, digest 7.1's v2 statement)."""
    claims = lw.law_claims(law_runs)
    failed = [c for c in claims if not c.passed]
    assert not failed, failed
    for key in ("exp", "power"):
        run = law_runs[key]
        wrong = run.case.rate / run.case.alpha if key == "exp" else 1.0 / (run.case.rate * run.case.alpha)
        assert abs(wrong - lw.predicted_growth(run.case)) > lw.growth_tolerance(run)
    # the window moves through the lag grid, saturated at neither end
    for key in ("exp", "power", "exp_gauss"):
        H = law_runs[key].H
        assert 0 < H[0] < H[-1] < law_runs[key].case.lags.max()


def test_reproduction_runs_at_a_tiny_size(monkeypatch, tmp_path):
    tiny = lw.NetworkProfile(("constgate",), hidden=4, seq_len=40, task_lags=(2, 4, 6, 8, 10), steps=3,
                             seeds=2, diagnostic_sequences=32, n_lags=6, lag_max=12)
    monkeypatch.setitem(lw.NETWORK_PROFILES, "quick", tiny)
    monkeypatch.setattr(lw, "LAW_SAMPLES", 2000)
    monkeypatch.setattr(lw, "ENVELOPE_SEQUENCES", 8)
    (repro,) = lw.REPRODUCTIONS
    assert repro.name == "learnability-window" and repro.profiles == ("quick", "default")
    outcome = repro.run("quick", tmp_path)
    assert isinstance(outcome, Outcome) and len(outcome.claims) >= 16
    for c in outcome.claims:
        assert isinstance(c, Claim) and isinstance(c.passed, bool)
        assert all(isinstance(v, str) and v for v in (c.claim, c.expected, c.measured))
    names = {p.name for p in outcome.figures}
    assert names == {"law_n_required.png", "law_window.png", "law_tails.png", "networks_envelope.png",
                     "networks_window.png"}
    assert all(p.stat().st_size > 10_000 for p in outcome.figures)
    # ConstGate's Gamma0 is (1 - s)^l whatever the training: its envelope claim holds at any size
    (tau,) = [c for c in outcome.claims if c.claim.startswith("B, constgate: envelope")]
    assert tau.passed and math.isclose(float(tau.measured), -1 / math.log1p(-lw.GATE), rel_tol=1e-3)
