"""Sweeps: the Ray runner stores what the local runner stores, and chunking never changes a number.

kill -9 of a sweep at random moments is tested in ``tests/faults/test_kill_sweep.py``.
"""

import os
import subprocess
import sys

import duckdb
import numpy as np
import pytest

from rnnscope.runner import run_local
from rnnscope.runner.plan import balanced_parts, plan
from rnnscope.spec import parse_spec
from rnnscope.store import Store

SPEC = """
name = "sweep"
seeds = 2
steps = {steps}
batch = 8
chunk_size = {chunk}

[task]
name = "latch"
seq_len = 12

[model]
arch = "elman"
hidden = 8

[optimizer]
name = "sgd"

[record]
every = 10
probes = ["loss", "grad_norm", "credit_ratio"]

[grid]
"optimizer.lr" = [0.01, 0.1, 1.0]
"""
ENV = {**os.environ, "JAX_PLATFORMS": "cpu"}


def spec_text(steps=20, chunk=2):
    return SPEC.format(steps=steps, chunk=chunk)


def members(root):
    """member_id -> (final_loss, diverged) of a store, and how many times each member is stored."""
    rows = duckdb.sql(f"SELECT member_id, final_loss, diverged FROM read_parquet('{root}/members/*.parquet')")
    rows = rows.fetchall()
    ids = [r[0] for r in rows]
    return {r[0]: (r[1], r[2]) for r in rows}, {i: ids.count(i) for i in ids}


def trajectories(root):
    sql = (f"SELECT member_id, probe, step, value FROM read_parquet('{root}/trajectories/*.parquet') "
           "ORDER BY member_id, probe, step")
    return duckdb.sql(sql).df()


def same_numbers(a, b):
    return a.keys() == b.keys() and all(
        (np.isnan(a[k][0]) and np.isnan(b[k][0])) or a[k][0] == b[k][0] for k in a) and all(
        a[k][1] == b[k][1] for k in a)


def test_ray_and_local_runners_store_identical_members(tmp_path):
    pytest.importorskip("ray")
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(spec_text())
    local = Store(tmp_path / "local")
    run_local(parse_spec(__import__("tomllib").loads(spec_text())), local)
    # Ray starts in a child process: ray.init forks its helpers, and forking this
    # multithreaded JAX process left later tests to crash
    out = subprocess.run([sys.executable, "-m", "rnnscope.cli", "sweep", str(spec_file), "--runner", "ray",
                          "--store", str(tmp_path / "ray")], capture_output=True, text=True, timeout=900, env=ENV)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "6 members trained, 0 already stored" in out.stdout
    a, count_a = members(local.root)
    b, count_b = members(tmp_path / "ray" / "sweep")
    assert set(count_b.values()) == {1} and len(b) == 6
    assert same_numbers(a, b)
    ta, tb = trajectories(local.root), trajectories(tmp_path / "ray" / "sweep")
    assert ta[["member_id", "probe", "step"]].equals(tb[["member_id", "probe", "step"]])
    assert np.array_equal(ta.value.to_numpy(float), tb.value.to_numpy(float), equal_nan=True)


@pytest.mark.parametrize("n, size", [(2000, 256), (7, 3), (6, 6), (513, 512), (1, 4)])
def test_balanced_parts_keep_order_and_size_and_differ_by_at_most_one(n, size):
    parts = balanced_parts(list(range(n)), size)
    assert sum(parts, ()) == tuple(range(n))
    assert len(parts) == -(-n // size)
    lengths = [len(p) for p in parts]
    assert max(lengths) <= size and max(lengths) - min(lengths) <= 1


def test_a_group_cut_into_chunks_gives_them_one_population_size():
    spec = parse_spec(__import__("tomllib").loads(spec_text(chunk=4)))
    chunks, total = plan(spec)
    assert total == 6 and sorted(len(c.members) for c in chunks) == [3, 3]


def test_every_shape_of_a_plan_has_its_own_label():
    from rnnscope.runner.estimate import group_label

    text = spec_text() + '"task.seq_len" = [12, 16]\n"model.init" = ["gaussian", "orthogonal"]\n'
    chunks, _ = plan(parse_spec(__import__("tomllib").loads(text)))
    statics = {c.static for c in chunks}
    labels = {group_label(s) for s in statics}
    assert len(statics) == 4 and len(labels) == 4
    assert any("seq_len=16" in label and "orthogonal" in label for label in labels)


def test_the_same_spec_and_seeds_store_identical_numbers_whatever_the_chunk_size(tmp_path):
    """Chunking decides which members compile and run together, never their numbers (blocks are fixed)."""
    frames = {}
    for chunk in (6, 4, 1):
        store = Store(tmp_path / f"chunk{chunk}")
        run_local(parse_spec(__import__("tomllib").loads(spec_text(chunk=chunk))), store)
        with store.connect() as con:
            m = con.execute("SELECT * EXCLUDE (chunk, wall_time_s) FROM members ORDER BY member_id").df()
            t = con.execute("SELECT * EXCLUDE (chunk) FROM trajectories ORDER BY member_id, probe, step").df()
        frames[chunk] = (m, t)
        assert len(list((store.root / "members").glob("*.parquet"))) == -(-6 // chunk)
    m6, t6 = frames[6]
    for chunk in (4, 1):
        m, t = frames[chunk]
        assert m.equals(m6), f"members differ with chunk_size {chunk}"
        assert t[["member_id", "probe", "step"]].equals(t6[["member_id", "probe", "step"]])
        assert np.array_equal(t.value.to_numpy(float), t6.value.to_numpy(float), equal_nan=True)
