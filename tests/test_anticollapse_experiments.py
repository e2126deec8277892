"""The anti-collapse reproductions run end to end at a tiny size and write claims and figures.

Whether the claims hold is a question for the real profiles (``rnnscope reproduce NAME
--quick``); at this size the test checks the plumbing: every reproduction trains, measures,
produces a well-formed claims table and its figures, and never raises on the unresolved
measurements a tiny network gives.
"""

import numpy as np
import pytest

from rnnscope.experiments import REPRODUCTIONS
from rnnscope.experiments.anticollapse import common

TINY = common.Profile(hidden=32, seq_len=64, l_max=48, n_lags=6, steps=24, seeds=2, records=3)


@pytest.mark.parametrize("name", ["anticollapse-ladder", "anticollapse-forcing", "anticollapse-diagnostics"])
def test_reproduction_runs_at_a_tiny_size(name, tmp_path, monkeypatch):
    monkeypatch.setitem(common.PROFILES, "quick", TINY)
    outcome = REPRODUCTIONS[name].run("quick", tmp_path)
    assert len(outcome.claims) >= 4
    for claim in outcome.claims:
        assert claim.claim and claim.expected and claim.measured
        assert isinstance(claim.passed, bool)
    assert outcome.figures
    for path in outcome.figures:
        assert path.exists() and path.stat().st_size > 1000


def test_forcing_ladders_continue_the_warm_start(monkeypatch):
    from rnnscope.experiments.anticollapse import forcing

    monkeypatch.setitem(common.PROFILES, "quick", TINY)
    warm = common.train_rung(forcing.ARCH, TINY, forcing.OPTIMIZER, probes=("loss", "envelope", "timescales"))
    results = forcing.run_ladder(forcing.LADDERS[0], warm, TINY, steps=6)
    assert [r.level for r in results] == list(forcing.LADDERS[0].levels)
    batches = forcing.run_ladder(forcing.LADDERS[2]._replace(levels=(1, 2)), warm, TINY, steps=3)
    assert [r.level for r in batches] == [TINY.batch, 2 * TINY.batch]
    assert all(r.beta.shape == (TINY.seeds,) and len(r.labels) == TINY.seeds for r in results)
    # beta_env, the forcing claims' measure, needs only 16 valid neurons: it exists at every level
    assert np.all(np.isfinite([a for r in results for a in r.beta_env]))
