"""The HTML report: every figure the recorded probes allow, the claims, the members and the spec, in one file."""

import json
import re
import shutil
import subprocess
import sys

import pytest

import rnnscope
from rnnscope.experiments.claims import Claim, write_claims
from rnnscope.report.html import build_report
from rnnscope.report.run_data import load_run, trajectory

SPEC = {
    "name": "tiny-report",
    "description": "two gated models x two learning rates",
    "seeds": 2, "steps": 6, "batch": 8, "eval_batch": 16,
    "task": {"name": "multilag_pareto", "seq_len": 48, "l_max": 32, "k": 4},
    "model": {"hidden": 16, "init": "orthogonal"},
    "optimizer": {"name": "adamw", "lr": 1e-3, "clip": 1.0},
    "record": {"log_points": 3, "probe_batch": 4,
               "probes": ["loss", "grad_norm", "envelope", "timescales", "grad_projections", "eigenvalues",
                          "outlier"]},
    "grid": {"model.arch": ["sharedgate", "diaggate"], "optimizer.lr": [1e-3, 1e-2]},
}
FIGURES = ("loss", "sweep", "phases", "envelopes", "spectra", "phase_plane", "eigenvalues", "outliers", "probes")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    store = tmp_path_factory.mktemp("runs")
    root = rnnscope.run(SPEC, store=store)
    # a reproduction's output beside the run: its claims and one figure
    repro = root / "some-reproduction"
    repro.mkdir()
    write_claims([Claim("outlier reaches 1 - c*", "0.8 ± 0.01", "0.801", True),
                  Claim("lazy W barely moves", "<= 0.05", "0.2", False)], repro / "claims.json")
    return root, repro


def test_report_has_every_figure_table_and_section(run_dir):
    root, repro = run_dir
    build_report(root)
    shutil.copy(root / "figures" / "loss.png", repro / "trajectory.png")
    page_path = build_report(root)
    page = page_path.read_text()
    assert page_path == root / "report.html"
    for name in FIGURES:
        assert (root / "figures" / f"{name}.png").stat().st_size > 5000, name
        assert f"alt='{name}'" in page, name
    assert "alt='trajectory'" in page  # the reproduction's own figure
    # self-contained: every image is embedded, nothing is fetched
    assert len(re.findall(r"src='data:image/png;base64,", page)) == len(FIGURES) + 1
    assert not re.search(r"src=['\"](?!data:)", page) and "http" not in page.replace("http-equiv", "")
    # claims: both rows, with the pass count and the failing mark
    assert "some-reproduction: 1/2 claims pass" in page and "lazy W barely moves" in page and "NO</td>" in page
    # members: one sortable row per member, with the measured phase columns
    table = page[page.index("<table class='sortable' id='members'>"):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 1 + 8
    for column in ("phase", "beta_env", "alpha", "final_loss", "model_arch", "optimizer_lr", "cell"):
        assert f"<th>{column}</th>" in table, column
    assert "addEventListener('click'" in page
    # the spec, as stored beside the run
    assert json.loads((root / "spec.json").read_text())["name"] == "tiny-report"
    assert "&quot;multilag_pareto&quot;" in page


def test_trajectories_come_back_in_member_order_and_shape(run_dir):
    root, _ = run_dir
    run = load_run(root)
    ids = run.members["member_id"].tolist()
    eig = trajectory(root, "eigenvalues", ids)
    steps = rnnscope.load(root, table="trajectories", where="probe = 'eigenvalues'")["step"].unique()
    assert eig.values.shape == (8, len(steps), 2, 16) and eig.steps.tolist() == sorted(steps) and eig.steps[0] == 0
    loss = trajectory(root, "loss", ids[::-1])
    stored = rnnscope.load(root, table="trajectories", where="probe = 'loss' AND step = 0")
    by_id = dict(zip(stored["member_id"], stored["value"]))
    assert [loss.values[i, 0] for i in range(8)] == [by_id[m] for m in ids[::-1]]
    assert run.factors == ("model_arch", "optimizer_lr")


def test_python_api_loads_members_as_frame_and_relation(run_dir):
    root, _ = run_dir
    frame = rnnscope.load(root)
    assert len(frame) == 8 and set(frame["model_arch"]) == {"sharedgate", "diaggate"}
    rel = rnnscope.load(root.name, store=root.parent, as_="relation")
    assert rel.filter("model_arch = 'diaggate'").aggregate("count(*)").fetchall() == [(4,)]
    with pytest.raises(FileNotFoundError, match="no results"):
        rnnscope.load("nothing-here", store=root.parent)


def test_report_command_writes_the_page_and_rejects_a_missing_run(run_dir, tmp_path):
    root, _ = run_dir
    ok = subprocess.run([sys.executable, "-m", "rnnscope.cli", "report", str(root)], capture_output=True, text=True,
                        timeout=600)
    assert ok.returncode == 0 and "report.html" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "rnnscope.cli", "report", str(tmp_path / "none")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: report: no run directory")
    assert "Traceback" not in bad.stderr


def test_report_of_a_population_that_all_diverged(tmp_path):
    spec = {**SPEC, "name": "all-diverged", "seeds": 1, "optimizer": {"name": "sgd", "lr": 1e6},
            "grid": {"model.arch": ["sharedgate", "diaggate"]}}
    root = rnnscope.run(spec, store=tmp_path)
    assert rnnscope.load(root)["diverged"].all()
    page = build_report(root).read_text()
    assert "2 members · 2 diverged" in page
    members = page[page.index("id='members'"):]
    assert members.count("<td>diverged</td>") == 2  # the phase column says why nothing was measured
    assert "alt='loss'" in page and "alt='envelopes'" not in page  # no envelope of a diverged network
