"""Everything the command line does, from Python.

    import rnnscope
    root = rnnscope.run("examples/elman_grid.toml", store="runs")   # train (resumes if interrupted)
    members = rnnscope.load(root)                                     # pandas DataFrame, one row per member
    loss = rnnscope.load(root, table="trajectories", where="probe = 'loss'")
    rnnscope.write_report(root)                                       # runs/elman-grid/report.html
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from .spec import Spec, load_spec, parse_spec
from .store import Store

PathLike = str | os.PathLike


def _spec(spec: Spec | dict | PathLike) -> Spec:
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec)
    return load_spec(spec)


def run(spec: Spec | dict | PathLike, store: PathLike = "runs", runner: Literal["local", "ray"] = "local",
        address: str | None = None, progress: Any = None) -> Path:
    """Train every member of ``spec`` (a TOML path, a dict or a ``Spec``) not yet stored; return the run directory.

    Raises ``rnnscope.spec.SpecError`` (one line naming the field) on a bad spec.
    """
    spec = _spec(spec)
    target = Store(Path(store) / spec.name)
    if runner == "ray":
        from .runner.ray_runner import run_ray

        run_ray(spec, target, address, progress)
    else:
        from .runner import run_local

        run_local(spec, target, progress)
    return target.root


def _root(run_ref: PathLike, store: PathLike) -> Path:
    path = Path(run_ref)
    for candidate in (path, Path(store) / path):
        if (candidate / "members").is_dir():
            return candidate
    raise FileNotFoundError(f"run {str(run_ref)!r}: no results at {path} or {Path(store) / path}")


def load(run_ref: PathLike, store: PathLike = "runs", table: Literal["members", "trajectories"] = "members",
         where: str | None = None, as_: Literal["pandas", "relation"] = "pandas"):
    """A run's ``members`` or ``trajectories`` table as a pandas DataFrame, or a DuckDB relation (``as_="relation"``).

    ``run_ref`` is a run directory or an experiment name under ``store``;
    ``where`` is an optional SQL condition. A relation stays lazy (it keeps
    its own in-memory connection open) and can be filtered further with
    DuckDB's relational API.
    """
    if table not in ("members", "trajectories"):
        raise ValueError(f"table {table!r}: allowed members, trajectories")
    con = Store(_root(run_ref, store)).connect()
    rel = con.table(table)
    if where:
        rel = rel.filter(where)
    if as_ == "relation":
        return rel
    try:
        return rel.df()
    finally:
        con.close()


def write_report(run_ref: PathLike, store: PathLike = "runs") -> Path:
    """Write ``report.html`` (and PNG figures) for a run or reproduction directory; return the page's path."""
    from .report.html import build_report

    path = Path(run_ref)
    root = path if path.is_dir() else Path(store) / path
    return build_report(root)
