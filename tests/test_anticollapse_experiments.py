"""The anti-collapse reproductions run end to end at a tiny size and write claims and figures.

Whether the claims hold is a question for the real profiles (``rnnscope reproduce NAME
--quick``); at this size the test checks the plumbing: every reproduction trains, measures,
produces a well-formed claims table and its figures, and never raises on the unresolved
measurements a tiny network gives. Compilation dominates, so the ladders and sweeps are cut
to two levels each.
"""

import ast

import numpy as np
import pytest

from rnnscope.experiments import REPRODUCTIONS
from rnnscope.experiments.anticollapse import common, diagnostics, forcing

TINY = common.Profile(hidden=32, seq_len=64, l_max=48, n_lags=6, steps=24, seeds=2, records=3, drift_steps=30)


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(common.PROFILES, "quick", TINY)
    monkeypatch.setattr(forcing, "QUICK_BATCH_FACTORS", (1, 2))
    monkeypatch.setattr(forcing, "LADDERS", tuple(ld._replace(levels=ld.levels[:2]) for ld in forcing.LADDERS))
    monkeypatch.setattr(diagnostics, "D1_ARCHS", ("gru",))
    monkeypatch.setattr(diagnostics, "MIN_TOP_WIDTH", 32)


def run(name, out):
    outcome = REPRODUCTIONS[name].run("quick", out)
    assert len(outcome.claims) >= 4
    for claim in outcome.claims:
        assert claim.claim and claim.expected and claim.measured
        assert isinstance(claim.passed, bool)
    assert outcome.figures
    for path in outcome.figures:
        assert path.exists() and path.stat().st_size > 1000
    return outcome


def test_ladder_runs_at_a_tiny_size(tiny, tmp_path):
    outcome = run("anticollapse-ladder", tmp_path)
    assert sum(c.claim.endswith("trains (median relative loss drop)") for c in outcome.claims) == 4
    assert {p.name for p in outcome.figures} == {"envelopes.png", "spectra.png", "phase_counts.png"}


def test_forcing_continues_the_warm_start_under_every_level(tiny, tmp_path):
    outcome = run("anticollapse-forcing", tmp_path)
    per_level = [c for c in outcome.claims if "anti-collapsed seeds per level" in c.claim]
    assert [c.claim.split(":")[0] for c in per_level] == ["norm clipping", "winsorisation", "batch size"]
    for c in per_level:  # one count per level, each at most the number of seeds
        counts = ast.literal_eval(c.measured)
        assert len(counts) == 2 and all(0 <= n <= TINY.seeds for n in counts)


def test_diagnostics_runs_at_a_tiny_size(tiny, tmp_path):
    outcome = run("anticollapse-diagnostics", tmp_path)
    assert any("[16, 32]" in c.claim for c in outcome.claims)  # the width sweep up to MIN_TOP_WIDTH
    # the drift run trains for the profile's drift_steps, and its phase comes from networks of that length
    drift = [c for c in outcome.claims if c.claim.startswith("D3 gru")]
    assert len(drift) == 2 and all(", 30 steps:" in c.claim for c in drift)


def test_process_fit_reports_every_rung(tiny, tmp_path, monkeypatch):
    from rnnscope.experiments.anticollapse import process_fit

    monkeypatch.setattr(process_fit, "RUNGS", ("sharedgate", "diaggate"))
    monkeypatch.setattr(process_fit, "CHECKPOINTS", 12)
    outcome = run("anticollapse-process-fit", tmp_path)
    assert [c.claim.split(":")[0] for c in outcome.claims] == ["sharedgate"] * 2 + ["diaggate"] * 2
    # at this size the plateau slice is far below 200 samples: unresolved, said so, not invented
    plateau = [c for c in outcome.claims if "plateau" in c.claim]
    assert all(c.measured.startswith("unresolved") and not c.passed for c in plateau)
    assert {p.name for p in outcome.figures} == {"beta_predicted_vs_measured.png", "drift.png"}


@pytest.mark.parametrize("seeds", [3, 8])
def test_variance_slope_stderr_matches_the_spread_of_simulated_slopes(seeds):
    """Seeds drawn as Gaussians whose variance falls as H^-1.85: the fitted slopes scatter by the formula."""
    gen = np.random.default_rng(0)
    widths = np.array([16, 32, 64])
    reps = 20_000
    x = gen.standard_normal((reps, widths.size, seeds)) * widths[None, :, None] ** (-1.85 / 2)
    slopes = np.polyfit(np.log(widths), np.log(x.var(axis=2, ddof=1)).T, 1)[0]
    # 20,000 replicates estimate a standard deviation to 0.5 %, and its mean slope is unbiased
    assert np.std(slopes) == pytest.approx(diagnostics.variance_slope_stderr(seeds, widths), rel=0.02)
    assert np.mean(slopes) == pytest.approx(-1.85, abs=0.03)
