"""Claims: measurable statements of a paper, checked against a reproduction.

A claim pairs what the paper (or our derivation from it) expects with what
the reproduction measured, and whether the measurement is within the stated
tolerance. A reproduction prints its claims as a table; one that does not
reproduce says so there rather than bending the tolerance.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import NamedTuple


class Claim(NamedTuple):
    claim: str
    expected: str
    measured: str
    passed: bool


def _fmt(x) -> str:
    if isinstance(x, complex):
        return f"{x.real:.4g}{x.imag:+.4g}i"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def close(claim: str, measured, expected, *, atol: float = 0.0, rtol: float = 0.0) -> Claim:
    """|measured - expected| <= atol + rtol |expected| (complex values allowed; NaN fails)."""
    tol = atol + rtol * abs(expected)
    ok = not (isinstance(measured, float) and math.isnan(measured)) and abs(measured - expected) <= tol
    return Claim(claim, f"{_fmt(expected)} ± {tol:.3g}", _fmt(measured), bool(ok))


def at_most(claim: str, measured: float, bound: float) -> Claim:
    return Claim(claim, f"<= {_fmt(bound)}", _fmt(measured), bool(measured <= bound))


def at_least(claim: str, measured: float, bound: float) -> Claim:
    return Claim(claim, f">= {_fmt(bound)}", _fmt(measured), bool(measured >= bound))


def equal(claim: str, measured, expected) -> Claim:
    return Claim(claim, _fmt(expected), _fmt(measured), bool(measured == expected))


def write_claims(claims: list[Claim], path: Path) -> None:
    """claims.json: a list of {claim, expected, measured, passed}."""
    path.write_text(json.dumps([c._asdict() for c in claims], indent=2))


def read_claims(path: Path) -> list[Claim]:
    return [Claim(**row) for row in json.loads(path.read_text())]
