"""A reproduction: a named, runnable experiment that checks a paper's claims.

``run(quick, out)`` trains and measures, writes its figures (PNG) into the
directory ``out`` and returns its claims. ``quick`` selects a smaller
configuration (fewer units, shorter training) that still tests every claim
and runs in a few minutes on a 2-core machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, NamedTuple

from .claims import Claim


class Outcome(NamedTuple):
    claims: list[Claim]
    figures: list[Path]


class Reproduction(NamedTuple):
    name: str
    paper: str
    summary: str
    run: Callable[[bool, Path], Outcome]
