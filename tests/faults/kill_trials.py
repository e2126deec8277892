"""kill -9 of a training command at seeded random moments, then resume (used by test_kill_run/_sweep).

A quarter of the kills land at a random time in the first seconds (start-up,
planning, compiling); the rest once a random number of further chunks have
landed, plus a random fraction of a chunk's training or writing.

After every kill the store shows no member twice and no unreadable file,
every member it shows equals the uninterrupted run, and no member seen
after an earlier kill is gone. A store that completes is compared whole
with the reference and the next trials start a fresh one.
"""

import random
import signal
import subprocess
import time

from rnnscope.store import Store

from .conftest import MEMBERS, check_consistent, cli, cli_command, cli_env

TRIALS = 20


def kill_and_resume(command, spec_file, reference, tmp_path):
    """TRIALS seeded kills of ``rnnscope COMMAND``, checking the store after each, then a resume to the end."""
    rng = random.Random(f"kill-{command}")
    cache = tmp_path / "jax-cache"  # restarts reuse the compiled programs: the trials spend their time training
    generation, seen, mid_run = 0, set(), 0
    for trial in range(TRIALS):
        root = tmp_path / f"runs{generation}"
        proc = subprocess.Popen(cli_command(command, str(spec_file), "--store", str(root)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cli_env(cache))
        members = root / "faults" / "members"
        if rng.random() < 0.25:  # during start-up, planning or the first compilation
            deadline, chunks = time.time() + rng.uniform(0.2, 4.0), MEMBERS
        else:  # once k more chunks have landed, plus a random part of the next one
            deadline, chunks = time.time() + 240, len(seen) // 2 + rng.randint(1, 3)
        while time.time() < deadline and proc.poll() is None and len(list(members.glob("*.parquet"))) < chunks:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.8))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        stored = check_consistent(Store(root / "faults"), reference)
        assert seen <= stored, f"trial {trial}: members stored before this kill were lost"
        mid_run += 0 < len(stored) < MEMBERS and len(stored) > len(seen)
        seen = stored
        if len(stored) == MEMBERS:
            generation, seen = generation + 1, set()
    # the kills must have landed between chunks often enough for the trials to mean something
    assert mid_run >= TRIALS // 3, f"only {mid_run} of {TRIALS} kills landed after some chunks and before the end"
    # resume: the last store completes and equals the uninterrupted run, member for member
    root = tmp_path / f"runs{generation}"
    done = cli(command, str(spec_file), "--store", str(root), cache=cache)
    assert done.returncode == 0, done.stderr
    assert check_consistent(Store(root / "faults"), reference) == set(reference)
