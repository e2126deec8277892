"""Sweeps: the Ray runner stores what the local runner stores, and kill -9 at random moments loses nothing."""

import os
import signal
import subprocess
import sys
import time

import duckdb
import numpy as np
import pytest

from rnnscope.runner import run_local
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


def test_kill_9_at_random_moments_then_resume_ends_with_the_uninterrupted_numbers(tmp_path):
    text = spec_text(steps=300, chunk=1)
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(text)
    reference = Store(tmp_path / "reference")
    run_local(parse_spec(__import__("tomllib").loads(text)), reference)
    expected, _ = members(reference.root)
    rng = np.random.default_rng(20261126)
    landed_before_resume = []
    for trial in range(5):
        root = tmp_path / f"trial{trial}"
        proc = subprocess.Popen([sys.executable, "-m", "rnnscope.cli", "sweep", str(spec_file), "--store", str(root)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        # a random moment, seeded, and placed by progress rather than by the clock so that a
        # slow or busy machine does not move every kill before the first chunk: after k
        # chunks have landed (k = 0..5), plus up to half a second
        landed = root / "sweep" / "members"
        wait_for = int(rng.integers(0, 6))
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None and (
                len(list(landed.glob("*.parquet"))) if landed.exists() else 0) < wait_for:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        landed_before_resume.append(len(list(landed.glob("*.parquet"))) if landed.exists() else 0)
        done = subprocess.run([sys.executable, "-m", "rnnscope.cli", "sweep", str(spec_file), "--store", str(root)],
                              capture_output=True, text=True, timeout=600, env=ENV)
        assert done.returncode == 0, done.stderr
        got, counts = members(root / "sweep")
        assert set(counts.values()) == {1} and len(got) == 6
        assert same_numbers(got, expected)
    # the seeded kill times must have caught some sweeps part-way (else the test shows nothing)
    assert any(0 < n < 6 for n in landed_before_resume), landed_before_resume


def test_plan_prints_members_chunks_and_a_projection(tmp_path):
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(spec_text())
    out = subprocess.run([sys.executable, "-m", "rnnscope.cli", "sweep", str(spec_file), "--plan", "--store",
                          str(tmp_path / "runs")], capture_output=True, text=True, timeout=600, env=ENV)
    assert out.returncode == 0, out.stderr
    assert "6 members (2 seeds per cell), 0 already stored, 6 to train in 3 chunks" in out.stdout
    assert "elman H=8 latch sgd" in out.stdout and "projected training time" in out.stdout
    assert not (tmp_path / "runs" / "sweep" / "members").exists()  # planning trains nothing


def test_unknown_runner_is_a_one_line_error(tmp_path):
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(spec_text())
    out = subprocess.run([sys.executable, "-m", "rnnscope.cli", "sweep", str(spec_file), "--runner", "slurm"],
                         capture_output=True, text=True, timeout=300, env=ENV, cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.strip() == "error: --runner 'slurm': allowed local, ray"


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
