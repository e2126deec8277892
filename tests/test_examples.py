"""Every spec in examples/ runs, at a reduced size: few steps, one seed, at most two levels per grid factor."""

import tomllib
from pathlib import Path

import numpy as np
import pytest

import rnnscope

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.toml"))


def reduced(spec: dict) -> dict:
    """The same experiment, small: 3 steps, seed 0, the first two levels of each grid factor, small batches."""
    spec = {**spec, "seeds": [0], "steps": 3, "batch": 4, "eval_batch": 8}
    spec["record"] = {**spec.get("record", {}), "log_points": 2, "probe_batch": 4}
    if spec["record"].get("update_buffer"):
        spec["record"]["update_buffer"] = 64
    spec["grid"] = {k: v[:2] for k, v in spec.get("grid", {}).items()}
    return spec


def test_there_are_examples():
    names = {p.name for p in EXAMPLES}
    assert {"capacity_ladder.toml", "elman_grid.toml", "johnston_latch.toml"} <= names


# the capacity ladder is the demo's spec: test_demo_pipeline_at_a_reduced_size runs it, and more
@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.name != "capacity_ladder.toml"], ids=lambda p: p.stem)
def test_example_runs_reduced(path, tmp_path):
    spec = reduced(tomllib.loads(path.read_text()))
    root = rnnscope.run(spec, store=tmp_path)
    members = rnnscope.load(root)
    cells = int(np.prod([len(v) for v in spec["grid"].values()])) if spec["grid"] else 1
    assert len(members) == cells and members["member_id"].is_unique
    assert np.isfinite(members["final_loss"]).all() or members["diverged"].any()
    recorded = set(rnnscope.load(root, table="trajectories")["probe"])
    assert recorded == set(spec["record"]["probes"])


def test_demo_pipeline_at_a_reduced_size(tmp_path):
    from rnnscope.demo import demo_spec, run_demo
    from rnnscope.spec import parse_spec

    spec = demo_spec().model_dump(mode="json")
    small = reduced({**spec, "model": {**spec["model"], "hidden": 16},
                     "task": {**spec["task"], "seq_len": 48, "l_max": 32, "k": 4}})
    small["grid"] = {"model.arch": ["constgate", "diaggate"]}
    stages = []
    result = run_demo(tmp_path, spec=parse_spec(small), reproductions=(), stage=stages.append)
    assert result.report == tmp_path / "demo" / "report.html" and result.report.stat().st_size > 50_000
    assert stages[0].startswith("training the capacity ladder") and stages[-1].startswith("measuring phases")
    assert result.summary["arch"].tolist() == ["constgate", "diaggate"]
    assert (result.summary["members"] == 1).all()
    page = result.report.read_text()
    assert "Summary per architecture" in page and "how do gated RNNs forget?" in page
