"""Which code computed a member: rnnscope version, git commit, JAX version and platform.

Recorded in every member row, so that a store that mixes results of
different code can say so (``rnnscope show`` warns).
"""

from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path

import jax

from .. import __version__

PROVENANCE_COLUMNS = ("rnnscope_version", "git_commit", "jax_version", "platform")


def _git(args: list[str], where: Path) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def git_commit(where: Path = Path(__file__).parent) -> str:
    """HEAD of the checkout the package runs from, with "+dirty" if tracked files changed; "" outside git."""
    head = _git(["rev-parse", "HEAD"], where)
    if not head:
        return ""
    dirty = _git(["status", "--porcelain", "--untracked-files=no"], where)
    return head + ("+dirty" if dirty else "")


@functools.cache
def provenance() -> dict[str, str]:
    """The member columns of ``PROVENANCE_COLUMNS`` for this process."""
    return {
        "rnnscope_version": __version__,
        "git_commit": git_commit(),
        "jax_version": jax.__version__,
        "platform": f"{jax.default_backend()} {platform.system()} {platform.machine()}",
    }
