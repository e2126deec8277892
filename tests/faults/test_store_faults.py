"""A full disk, a read-only store, corrupted Parquet files and two writers at once.

Disk-full and read-only are simulated by making the store's Parquet writes
fail with ENOSPC or EACCES after some chunks have landed (the suite runs as
root on CI, where a chmod would not stop a write). Each fault must give one
clear line and exit status 1, keep every finished chunk, and a rerun must
complete the run with the uninterrupted run's numbers.
"""

import errno
import os
import signal
import subprocess
import time

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rnnscope.cli import app
from rnnscope.store import Store

from .conftest import MEMBERS, check_consistent, cli, cli_command


def failing_writes(monkeypatch, after: int, error: int):
    """Make the store's Parquet writes fail with ``error`` once ``after`` writes have succeeded."""
    import rnnscope.store.store as store_module

    real = store_module.pq.write_table
    calls = [0]

    def write(table, where, *args, **kwargs):
        calls[0] += 1
        if calls[0] > after:
            raise OSError(error, os.strerror(error), str(where))
        return real(table, where, *args, **kwargs)

    monkeypatch.setattr(store_module.pq, "write_table", write)


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EACCES, errno.EROFS], ids=["disk-full", "no-permission",
                                                                                    "read-only-fs"])
@pytest.mark.parametrize("after", [0, 3, 6])
def test_failed_writes_keep_finished_chunks_and_resume(error, after, spec_file, reference, tmp_path, monkeypatch):
    runner = CliRunner()
    failing_writes(monkeypatch, after, error)
    res = runner.invoke(app, ["run", str(spec_file), "--store", str(tmp_path)])
    assert res.exit_code == 1, res.output
    message = res.stderr.strip()
    assert message.count("\n") == 0 and os.strerror(error) in message and "rerunning the spec resumes" in message
    store = Store(tmp_path / "faults")
    kept = check_consistent(store, reference)
    assert len(kept) == 2 * (after // 2)  # each chunk is two writes: trajectories, then members
    assert not list((tmp_path / "faults" / "members").glob("*.tmp"))
    monkeypatch.undo()
    res = runner.invoke(app, ["run", str(spec_file), "--store", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert check_consistent(store, reference) == set(reference)


@pytest.mark.parametrize("which", ["members", "trajectories"])
@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupted_parquet_is_named_and_retrained(which, damage, spec_file, reference, tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(spec_file), "--store", str(tmp_path)]).exit_code == 0
    victim = sorted((tmp_path / "faults" / which).glob("*.parquet"))[2]
    data = victim.read_bytes()
    victim.write_bytes({"garbage": os.urandom(len(data)), "truncated": data[: len(data) // 2], "empty": b""}[damage])
    # readers name the file and stop
    for args in (["show", "faults"], ["query", "SELECT count(*) FROM members", "--run", "faults"],
                 ["report", "faults"]):
        res = runner.invoke(app, [*args, "--store", str(tmp_path)])
        assert res.exit_code == 1 and victim.name in res.stderr and res.stderr.strip().count("\n") == 0, args
    # a rerun moves the chunk aside, says so, and trains its two members again
    res = runner.invoke(app, ["run", str(spec_file), "--store", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert f"chunk {victim.stem}" in res.stderr and "10 already stored" in res.stdout
    assert victim.with_name(victim.name + ".corrupt").exists()
    assert check_consistent(Store(tmp_path / "faults"), reference) == set(reference)


def test_two_writers_the_second_is_refused_and_the_first_completes(spec_file, reference, tmp_path):
    first = subprocess.Popen(cli_command("run", str(spec_file), "--store", str(tmp_path)),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lock = tmp_path / "faults" / ".writer.lock"
    deadline = time.time() + 120
    while time.time() < deadline and not (lock.exists() and lock.read_text().startswith("pid")):
        time.sleep(0.02)
    second = cli("run", str(spec_file), "--store", str(tmp_path))
    still_running = first.poll() is None
    first_err = first.communicate(timeout=300)[1]
    assert first.returncode == 0, first_err
    if still_running:  # the normal case: the first writer held the store while the second tried
        assert second.returncode == 1 and f"pid {first.pid}" in second.stderr
        assert "being written by" in second.stderr and second.stderr.count("\n") == 1
    assert check_consistent(Store(tmp_path / "faults"), reference) == set(reference)
    assert len(set(reference)) == MEMBERS


def test_a_killed_writer_leaves_no_lock_behind(spec_file, reference, tmp_path):
    proc = subprocess.Popen(cli_command("run", str(spec_file), "--store", str(tmp_path)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    members = tmp_path / "faults" / "members"
    deadline = time.time() + 120
    while time.time() < deadline and not list(members.glob("*.parquet")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    res = cli("run", str(spec_file), "--store", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert check_consistent(Store(tmp_path / "faults"), reference) == set(reference)
    assert pq.read_table(sorted(members.glob("*.parquet"))[0]).num_rows == 2


def test_a_store_written_by_another_spec_under_the_same_name(spec_file, reference, tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(spec_file), "--store", str(tmp_path)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "faults" / "members").glob("*.parquet")}
    other = tmp_path / "other.toml"
    other.write_text(spec_file.read_text().replace("steps = 500", "steps = 501"))
    for command in ("run", "sweep"):
        res = runner.invoke(app, [command, str(other), "--store", str(tmp_path)])
        assert res.exit_code == 2 and "holds members of another spec (steps was 500 there" in res.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "faults" / "members").glob("*.parquet")} == before
    assert check_consistent(Store(tmp_path / "faults"), reference) == set(reference)
