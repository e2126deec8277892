"""johnston-factorial end to end at a tiny size: the sweep path, the statistics, the census and the tables."""

import numpy as np
import pandas as pd
import pytest

from rnnscope.experiments import REPRODUCTIONS
from rnnscope.experiments import johnston

TINY = johnston.Profile(lrs=(0.3, 3.0), lags=(4, 6), hiddens=(4,), inits=("gaussian",), init_scales=(1.0,),
                        clips=(0.0, 1.0), seeds=6, steps=40, census=2, eval_batch=200, log_points=3)


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(johnston.PROFILES, "quick", TINY)


def test_factorial_runs_end_to_end_and_writes_its_tables(tiny, tmp_path):
    outcome = REPRODUCTIONS["johnston-factorial"].run("quick", tmp_path)
    names = [c.claim for c in outcome.claims]
    assert any(n.startswith("VEG is common") for n in names)
    assert any("learning rate strongly affects success" in n for n in names)
    assert any(n.startswith("not a threshold artefact") for n in names)
    for c in outcome.claims:
        assert c.claim and c.expected and c.measured and isinstance(c.passed, bool)
    for name in ("incidence", "regression", "importance", "sensitivity", "census"):
        assert (tmp_path / f"{name}.csv").exists()
    assert len(pd.read_csv(tmp_path / "sensitivity.csv")) == 15  # 5 VG x 3 EG thresholds
    members = johnston.members_frame(johnston.Store(tmp_path / "store" / "johnston"))
    assert len(members) == 2 * 2 * 2 * 6 and members["member_id"].is_unique
    assert set(members["lag"]) == {4, 6} and members["success"].dtype == bool
    assert {p.name for p in outcome.figures} == {"success.png", "fixed_point_census.png"}
    # the spec written beside the results reproduces the same members
    from rnnscope.spec import load_spec

    assert load_spec(tmp_path / "spec.toml") == johnston.sweep_spec(TINY)


def test_retraining_a_member_gives_its_stored_numbers(tiny, tmp_path):
    spec = johnston.sweep_spec(TINY)
    store = johnston.Store(tmp_path / "store")
    johnston.run_local(spec, store)
    table = johnston.members_frame(store)
    ids = list(table["member_id"].iloc[[0, 5, 17]])
    again = johnston.retrain(spec, ids)
    for mid in ids:
        stored = float(table.loc[table["member_id"] == mid, "final_loss"].iloc[0])
        assert again[mid][4] == stored or (np.isnan(again[mid][4]) and np.isnan(stored))


def test_analyze_command_prints_and_writes_the_tables(tmp_path):
    import os
    import subprocess
    import sys

    profile = TINY._replace(lrs=(0.3, 30.0))  # the huge rate diverges: EG flags to analyse
    johnston.run_local(johnston.sweep_spec(profile, "tinyj"), johnston.Store(tmp_path / "tinyj"))
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-m", "rnnscope.cli", "analyze", "tinyj", "--store", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert "48 members" in out.stdout and "incidence" in out.stdout
    table = pd.read_csv(tmp_path / "tinyj" / "analysis" / "incidence.csv")
    assert int(table.loc[0, "n"]) == 48 and int(table.loc[0, "n_flag"]) > 0
    # a run without the gradient probes gets one line saying what is missing
    spec = johnston.sweep_spec(profile, "plain").model_copy(update={"record": johnston.parse_spec(
        {"name": "x", "record": {"probes": ["loss"]}}).record})
    johnston.run_local(spec, johnston.Store(tmp_path / "plain"))
    bad = subprocess.run([sys.executable, "-m", "rnnscope.cli", "analyze", "plain", "--store", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "credit_ratio_median" in bad.stderr


@pytest.mark.parametrize("profile, low, high", [("quick", 1, 2_000), ("paper", 40_000, None)])
def test_profiles_train_the_network_counts_the_design_asks_for(profile, low, high):
    from rnnscope.runner import plan

    _, total = plan(johnston.sweep_spec(johnston.PROFILES[profile]))
    assert total >= low and (high is None or total <= high), total
