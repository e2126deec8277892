"""A reproduction: a named, runnable experiment that checks a paper's claims.

``run(profile, out)`` trains and measures at the sizes of the named profile,
writes its figures (PNG) into the directory ``out`` and returns its claims.
Every reproduction has a ``"quick"`` profile (fewer units, shorter training,
still testing every claim in a few minutes on a 2-core machine) and a
``"default"`` one; some add ``"paper"``, the sizes of the study itself, meant
for a GPU or a cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, NamedTuple

from .claims import Claim

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
