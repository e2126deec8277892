"""Shared pieces of the fault-injection suite: a small spec, a reference store, and store checks."""

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from rnnscope.runner import run_local
from rnnscope.spec import parse_spec
from rnnscope.store import Store

#: 12 members in 6 chunks of 2, each chunk about a second of training on two cores (about 80 GFLOP:
#: 8 padded members x 500 steps of batch 64 x 50 steps x hidden 32), so that kills land mid-run
SPEC_TOML = """
name = "faults"
seeds = 3
steps = 500
batch = 64
chunk_size = 2
eval_batch = 16

[task]
name = "integration"
kind = "leaky"
seq_len = 50

[model]
arch = "elman"
hidden = 32

[record]
every = 50
log_points = 2
probes = ["loss", "grad_norm"]

[grid]
"optimizer.lr" = [0.003, 0.01, 0.03, 0.1]
"""
MEMBERS = 12


def spec_dict():
    import tomllib

    return tomllib.loads(SPEC_TOML)


@pytest.fixture(scope="session")
def spec_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "faults.toml"
    path.write_text(SPEC_TOML)
    return path


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> dict:
    """Every member's numbers from one uninterrupted run."""
    store = Store(tmp_path_factory.mktemp("reference") / "faults")
    run_local(parse_spec(spec_dict()), store)
    return snapshot(store)


def member_rows(store: Store) -> list[dict]:
    rows = []
    for path in sorted((store.root / "members").glob("*.parquet")):
        rows += pq.read_table(path, columns=["member_id", "final_loss", "diverged", "diverged_step"]).to_pylist()
    return rows


def snapshot(store: Store) -> dict:
    """member_id -> (final loss, diverged, diverged step, its trajectory rows); asserts no member twice."""
    rows = member_rows(store)
    ids = [r["member_id"] for r in rows]
    assert len(ids) == len(set(ids)), "a member is stored twice"
    with store.connect() as con:
        traj = con.execute("SELECT member_id, probe, step, value FROM trajectories ORDER BY ALL").fetchall()
    per_member: dict[str, list] = {}
    for member, probe, step, value in traj:
        per_member.setdefault(member, []).append((probe, step, value))
    return {r["member_id"]: (r["final_loss"], r["diverged"], r["diverged_step"], tuple(per_member.get(r["member_id"], ())))
            for r in rows}


def check_consistent(store: Store, reference: dict) -> set[str]:
    """The store's visible members: none twice, every one equal to the reference; returns their ids."""
    if not store.exists():  # no chunk has landed
        return set()
    assert not store.unreadable_chunks(), "a visible chunk file is unreadable"
    got = snapshot(store)
    for member_id, numbers in got.items():
        assert numbers == reference[member_id], f"member {member_id} differs from the uninterrupted run"
    return set(got)


def cli_command(*args) -> list[str]:
    return [sys.executable, "-m", "rnnscope.cli", *args]


def cli_env(cache: Path | None = None) -> dict:
    """The environment of a CLI child; with ``cache``, JAX keeps compiled programs there across restarts."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    if cache is not None:
        env.update(JAX_COMPILATION_CACHE_DIR=str(cache), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                   JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
    return env


def cli(*args, timeout=300, cache: Path | None = None):
    return subprocess.run(cli_command(*args), capture_output=True, text=True, timeout=timeout, env=cli_env(cache))
