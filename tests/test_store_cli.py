"""Results store, resume after a kill, and the command line's handling of bad specs."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from rnnscope.runner import plan, run_local
from rnnscope.spec import SpecError, load_spec, parse_spec
from rnnscope.store import Store

SPEC = """
name = "resume"
seeds = 3
steps = 6
batch = 4
chunk_size = 2

[task]
name = "integration"
kind = "leaky"
seq_len = 8

[model]
arch = "elman"
hidden = 4

[record]
every = 3
log_points = 2

[grid]
"optimizer.lr" = [0.01, 0.1]
"""


def cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "rnnscope.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "JAX_PLATFORMS": "cpu"})


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(SPEC)
    return path


class StopAfter:
    """A progress sink that interrupts the run after n chunks, like Ctrl-C would."""

    def __init__(self, n):
        self.n = n

    def start(self, total, todo, steps):
        pass

    def advance(self, k):
        pass

    def chunk_done(self, k):
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt


def member_counts(store):
    _, rows = store.query("SELECT member_id, COUNT(*) FROM members GROUP BY member_id")
    return [c for _, c in rows]


def test_interrupted_run_resumes_with_every_member_once(tmp_path, spec_file):
    spec = load_spec(spec_file)
    store = Store(tmp_path / "store")
    with pytest.raises(KeyboardInterrupt):
        run_local(spec, store, StopAfter(1))
    assert len(store.member_ids()) == 2  # one chunk of two members landed
    summary = run_local(spec, store)
    assert summary == {"total": 6, "skipped": 2, "trained": 4, "chunks": 2, "quarantined": []}
    counts = member_counts(store)
    assert len(counts) == 6 and set(counts) == {1}
    again = run_local(spec, store)
    assert again["trained"] == 0 and len(member_counts(store)) == 6
    _, rows = store.query("SELECT probe, COUNT(*) FROM trajectories GROUP BY probe ORDER BY probe")
    # 6 members x 4 recorded steps (0, 3, 6 and the log point 1) per probe
    assert rows == [("grad_norm", 24), ("loss", 24), ("spectral_radius", 24)]


def test_orphan_trajectories_of_an_unfinished_chunk_are_invisible(tmp_path, spec_file):
    store = Store(tmp_path / "store")
    run_local(load_spec(spec_file), store)
    orphan = pa.table({"experiment": ["resume"], "member_id": ["x"], "chunk": ["never-finished"], "probe": ["loss"],
                       "step": pa.array([0], pa.int32()), "value": [1.0],
                       "values": pa.array([None], pa.list_(pa.float64()))})
    import pyarrow.parquet as pq

    pq.write_table(orphan, store.root / "trajectories" / "never-finished.parquet")
    _, rows = store.query("SELECT COUNT(*) FROM trajectories WHERE chunk = 'never-finished'")
    assert rows == [(0,)]


def test_members_table_has_config_and_metrics(tmp_path, spec_file):
    store = Store(tmp_path / "store")
    run_local(load_spec(spec_file), store)
    cols, rows = store.query("SELECT optimizer_lr, model_hidden, task_kind, seed, diverged, final_loss FROM members "
                             "ORDER BY optimizer_lr, seed")
    assert [r[0] for r in rows] == [0.01] * 3 + [0.1] * 3
    assert all(r[1] == 4 and r[2] == "leaky" and r[4] is False and r[5] > 0 for r in rows)


def test_kill_9_then_rerun_stores_every_member_once(tmp_path, spec_file):
    text = SPEC.replace("steps = 6", "steps = 400").replace("chunk_size = 2", "chunk_size = 1")
    spec_file.write_text(text)
    root = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "rnnscope.cli", "run", str(spec_file), "--store", str(root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "JAX_PLATFORMS": "cpu"})
    members = root / "resume" / "members"
    deadline = time.time() + 240
    while time.time() < deadline and len(list(members.glob("*.parquet"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    landed = len(list(members.glob("*.parquet")))
    assert 2 <= landed < 6, "the kill must land mid-run for this test to mean anything"
    done = cli("run", str(spec_file), "--store", str(root))
    assert done.returncode == 0, done.stderr
    assert f"{landed} of 6 members already stored" in done.stdout
    counts = member_counts(Store(root / "resume"))
    assert len(counts) == 6 and set(counts) == {1}
    shown = cli("show", "resume", "--store", str(root))
    assert shown.returncode == 0 and "6 members" in shown.stdout
    as_json = json.loads(cli("show", "resume", "--store", str(root), "--json").stdout)
    assert as_json["members"] == 6 and [c["optimizer_lr"] for c in as_json["cells"]] == [0.01, 0.1]
    assert all(c["members"] == 3 for c in as_json["cells"])
    q = cli("query", "SELECT COUNT(DISTINCT member_id) AS n FROM trajectories", "--store", str(root))
    assert q.returncode == 0 and "6" in q.stdout


BAD = [
    ('steps = -5', "steps = -5"),
    ('[model]\narch = "transformer"', "model.arch = 'transformer'"),
    ('[optimizer]\nlr = 0', "optimizer.lr = 0"),
    ('[optimizer]\nlearning_rate = 0.1', "optimizer.learning_rate: unknown field"),
    ('[grid]\n"optimizer.lrr" = [0.1]', "optimizer has no field 'lrr'"),
    ('[grid]\n"optimizer.lr" = [0.1, -1.0]', "grid.optimizer.lr[1]"),
    ('[task]\nname = "integration"\nseq_len = -3', "task.seq_len"),
    ('[task]\nname = "integration"\nwidth = 3', "task.width"),
    ('[record]\nprobes = ["loss", "nope"]', "'nope' is not a probe"),
    ('[model]\narch = "gru"\ninit = "aligned"', "init 'aligned' needs arch 'linear'"),
    ('steps = [', "not valid TOML"),
    ('[record]\nprobes = ["slow_row_updates"]', "needs record.update_buffer > 0"),
    ('[record]\nupdate_buffer = -1', "record.update_buffer = -1"),
]


@pytest.mark.parametrize("body,expected", BAD)
def test_bad_spec_is_one_line_naming_the_field(body, expected, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(f'name = "bad"\n{body}\n')
    with pytest.raises(SpecError) as err:
        spec = load_spec(path)
        plan(spec)  # task arguments are checked when members are planned
    message = str(err.value)
    assert expected in message and "\n" not in message


def test_cli_bad_spec_exits_2_without_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n[optimizer]\nlr = -1\n')
    out = cli("run", str(path), "--store", str(tmp_path))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr + out.stdout
    lines = [l for l in out.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "optimizer.lr = -1" in lines[0]
    path.write_text('name = "bad"\n[task]\nname = "integration"\nwidth = 3\n')
    long = cli("run", str(path), "--store", str(tmp_path))
    lines = [l for l in long.stderr.splitlines() if l.strip()]
    assert long.returncode == 2 and len(lines) == 1 and "task.width" in lines[0]
    missing = cli("run", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "cannot read spec" in missing.stderr


def test_parse_spec_expands_seeds():
    assert parse_spec({"name": "x", "seeds": 3}).seeds == [0, 1, 2]


@pytest.mark.parametrize("path", sorted((Path(__file__).parent.parent / "examples").glob("*.toml")),
                         ids=lambda p: p.name)
def test_every_example_spec_plans(path):
    chunks, total = plan(load_spec(path))
    assert total > 0 and chunks


def test_a_store_refuses_members_of_a_spec_with_another_budget(spec_file, tmp_path):
    root = tmp_path / "runs"
    assert cli("run", str(spec_file), "--store", str(root)).returncode == 0
    before = sorted(p.name for p in (root / "resume" / "members").glob("*.parquet"))
    spec_text = (root / "resume" / "spec.json").read_text()
    # more seeds and another grid level may join the store ...
    grown = tmp_path / "grown.toml"
    grown.write_text(SPEC.replace("seeds = 3", "seeds = 4").replace("[0.01, 0.1]", "[0.01, 0.1, 0.3]"))
    # ... a longer training may not: its members would share ids with the stored ones
    for change, field in (("steps = 6", "steps = 9"), ("every = 3", "every = 2")):
        other = tmp_path / "other.toml"
        other.write_text(SPEC.replace(change, field))
        res = cli("run", str(other), "--store", str(root))
        assert res.returncode == 2 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
        assert "holds members of another spec" in res.stderr and field.split(" = ")[0] in res.stderr
        assert sorted(p.name for p in (root / "resume" / "members").glob("*.parquet")) == before
        assert (root / "resume" / "spec.json").read_text() == spec_text
        plan = cli("sweep", str(other), "--plan", "--no-calibrate", "--store", str(root))
        assert plan.returncode == 2 and "holds members of another spec" in plan.stderr
    res = cli("run", str(grown), "--store", str(root))
    assert res.returncode == 0 and "6 of 12 members already stored" in res.stdout, res.stderr
    assert len(member_counts(Store(root / "resume"))) == 12


def test_members_record_their_code_and_spec_and_show_warns_on_mixed_code(spec_file, tmp_path):
    import jax
    import pyarrow.parquet as pq

    import rnnscope
    from rnnscope.runner.provenance import git_commit

    root = tmp_path / "runs"
    assert cli("run", str(spec_file), "--store", str(root)).returncode == 0
    members = rnnscope.load("resume", store=root)
    assert set(members["rnnscope_version"]) == {rnnscope.__version__}
    assert set(members["jax_version"]) == {jax.__version__}
    assert set(members["git_commit"]) == {git_commit()}
    assert members["platform"].str.startswith("cpu ").all()
    for _, m in members.iterrows():
        spec = json.loads(m["spec"])
        assert spec["seeds"] == [m["seed"]] and spec["steps"] == 6 and spec["record"]["every"] == 3
        assert spec["optimizer"]["lr"] == m["optimizer_lr"] and spec["model"]["hidden"] == 4
    assert "warning" not in cli("show", "resume", "--store", str(root)).stderr
    # one chunk as an older version of the code would have written it
    first = sorted((root / "resume" / "members").glob("*.parquet"))[0]
    table = pq.read_table(first)
    old = table.set_column(table.schema.get_field_index("rnnscope_version"), "rnnscope_version",
                           pa.array(["0.0.9"] * table.num_rows))
    pq.write_table(old, first)
    shown = cli("show", "resume", "--store", str(root))
    assert shown.returncode == 0 and "mixes members computed by 2 versions of the code" in shown.stderr
    assert "rnnscope_version 0.0.9" in shown.stderr
    assert len(json.loads(cli("show", "resume", "--store", str(root), "--json").stdout)["code_versions"]) == 2
