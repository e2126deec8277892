"""The ``anticollapse-process`` reproduction runs end to end at a tiny size.

At this size (a few hundred particles, runs of about one equilibration decay) the
claims are not expected to hold; ``rnnscope reproduce anticollapse-process --quick``
is where they are judged. The test checks the plumbing (every claim well formed, the
three figures written) and the wiring: each closure claim's expected value is the
closed form of tail.py for that very setting, so a grid simulated with one setting and
compared with another's beta would fail here.
"""

import math

import numpy as np
import pytest

from rnnscope.experiments import REPRODUCTIONS
from rnnscope.experiments.anticollapse import process
from rnnscope.theory.anticollapse import (
    EXTENDED,
    beta_exponential,
    beta_gaussian,
    beta_tempered_stable,
    heavy_tail_constant,
    stable_mean_drift,
    tail_exponent,
    validate,
)

TINY = process.Profile(
    gaussian=process.SIGMA_LADDER, exponential=process.RATE_LADDER,
    tempered=process.C_LADDER + process.ALPHA_LADDER,  # the ladders index settings 0..5
    n_tail=50, n_decays=1.0, pilot_particles=256, heavy_particles=512, heavy_depths=(1.0, 2.0, 4.0),
    runaway_particles=256)

DIRECT = {"gaussian": beta_gaussian, "exponential": beta_exponential, "tempered": beta_tempered_stable}


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(process.PROFILES, "quick", TINY)
    monkeypatch.setattr(process, "RUNAWAY_TIMES", (2.0, 4.0))
    monkeypatch.setattr(process, "RECORD_EVERY", 50)


def test_process_reproduction_runs_at_a_tiny_size(tiny, tmp_path):
    outcome = REPRODUCTIONS["anticollapse-process"].run("quick", tmp_path)
    for claim in outcome.claims:
        assert claim.claim and claim.expected and claim.measured
        assert isinstance(claim.passed, bool)
    assert {p.name for p in outcome.figures} == {"phase_diagram.png", "beta_simulated_vs_closed.png", "tails.png"}
    for path in outcome.figures:
        assert path.exists() and path.stat().st_size > 1000

    by_name = {c.claim: c for c in outcome.claims}
    for closure, (_, label) in process.CLOSURES.items():
        for setting in getattr(TINY, closure):
            claim = by_name[f"{label} ({process.describe(setting)}): beta_hat vs closed form"]
            beta = DIRECT[closure](**setting).beta
            assert claim.expected.startswith(f"{beta:.4g} ± {process.REL_TOL * beta:.3g}")
    ladders = [c for c in outcome.claims if c.claim.startswith("monotone response")]
    assert len(ladders) == len(process.LADDERS)
    # closed-form parts are exact whatever the size: they must pass
    assert by_name["untempered stable jumps (kappa=1, jump_c=0.5, alpha=1.5, sigma_g=0.8): closed form "
                   "(beta_stable)"].passed
    assert next(c for c in outcome.claims if c.claim.startswith("existence: closed-form regimes")).passed


def test_sizing_and_closed_form_helpers():
    # 1.3 * 1600 / 0.1 = 20800 -> the next power of two
    assert process.particles_for(1600, [100, 400], 1000) == 32768
    assert process.particles_for(1600, [0, 400], 1000) == process.MAX_PARTICLES  # no tail in the pilot: capped
    c = process.c_at_mean_drift(0.5, 0.3, 4.0)
    assert stable_mean_drift(float(c), 0.3, 4.0) == pytest.approx(0.5)
    z = np.array([2.0, 10.0])
    const = heavy_tail_constant(1.0, 0.5, 1.5)
    np.testing.assert_allclose(process.one_big_jump_ccdf(z, 1.0, 0.5, 1.5, 1e12), const * z**-0.5, rtol=1e-5)
    assert np.all(process.one_big_jump_ccdf(z, 1.0, 0.5, 1.5, 0.0) == 0.0)
    zs, rates = process.local_rates(np.array([1.0, 2.0, 4.0]), np.array([0.5, 0.5 * 2**-0.5, 0.25]))
    np.testing.assert_allclose(rates, 0.5 * math.log(2) / zs)  # a z^(1 - alpha) tail, alpha = 1.5


@pytest.mark.parametrize("name", sorted(process.PROFILES))
def test_every_profile_setting_is_simulable_and_extended(name):
    """Each grid passes the simulator's validation at the reproduction's dt (e.g. the tempered sampler's
    acceptance), sits in the extended regime (a finite closed-form beta to compare with), and every
    ladder's closed form falls strictly, so the monotone claims test the simulator, not the ladder."""
    profile = process.PROFILES[name]
    for closure, (jumps, _) in process.CLOSURES.items():
        cfg = validate(process.grid_config(jumps, getattr(profile, closure), 1, 1, 0))
        assert all(te.regime == EXTENDED for te in tail_exponent(cfg))
    for ladder in process.LADDERS:
        settings = getattr(profile, ladder.closure)
        betas = [DIRECT[ladder.closure](**settings[i]).beta for i in ladder.indices]
        assert np.all(np.diff(betas) < 0)
