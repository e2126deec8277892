"""A reproduction: a named, runnable experiment that checks a paper's claims.

``run(profile, out)`` trains and measures at the sizes of the named profile,
writes its figures (PNG) into the directory ``out`` and returns its claims.
Every reproduction has a ``"quick"`` profile (fewer units, shorter training,
still testing every claim in a few minutes on a 2-core machine) and a
``"default"`` one; some add ``"paper"``, the sizes of the study itself, meant
for a GPU or a cluster.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, NamedTuple

from .claims import Claim, write_claims

QUICK, DEFAULT, PAPER = "quick", "default", "paper"


class Outcome(NamedTuple):
    claims: list[Claim]
    figures: list[Path]


class Reproduction(NamedTuple):
    name: str
    paper: str
    summary: str
    run: Callable[[str, Path], Outcome]
    profiles: tuple[str, ...] = (QUICK, DEFAULT)


def quick_or_default(run: Callable[[bool, Path], Outcome]) -> Callable[[str, Path], Outcome]:
    """Adapt a ``run(quick: bool, out)`` of a two-profile reproduction to ``run(profile, out)``."""

    def by_profile(profile: str, out: Path) -> Outcome:
        return run(profile == QUICK, out)

    return by_profile


class Finished(NamedTuple):
    """A reproduction's run: its outcome, where it wrote, at which profile, and how long it took here."""

    outcome: Outcome
    out: Path
    profile: str
    wall_s: float


def run_reproduction(repro: Reproduction, profile: str, out: Path) -> Finished:
    """Run ``repro`` at ``profile`` into ``out``: figures, ``claims.json`` and ``result.json`` (profile,
    claims passed, wall time, date), which ``rnnscope reproduce --list`` shows as the last result."""
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    outcome = repro.run(profile, out)
    wall = time.perf_counter() - start
    write_claims(outcome.claims, out / "claims.json")
    result = {"name": repro.name, "profile": profile, "passed": sum(c.passed for c in outcome.claims),
              "claims": len(outcome.claims), "wall_s": round(wall, 1),
              "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    (out / "result.json").write_text(json.dumps(result, indent=2))
    return Finished(outcome, out, profile, wall)


def last_result(out: Path) -> dict | None:
    """The ``result.json`` a previous ``run_reproduction`` left in ``out`` (None if absent or unreadable)."""
    try:
        return json.loads((out / "result.json").read_text())
    except (OSError, ValueError):
        return None
