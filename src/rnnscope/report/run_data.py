"""What a report reads from a run directory: spec, members, trajectories as arrays, claims, phases.

A run directory is what ``rnnscope run``/``sweep`` writes (a store: members
and trajectories Parquet files, ``spec.json``) or what ``rnnscope reproduce``
writes (``claims.json`` and PNG figures), or both, as the demo does.
Everything here reads; nothing trains.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..analysis import alpha as alpha_est
from ..analysis import envelope as env
from ..analysis import phase, spectrum
from ..experiments.claims import Claim, read_claims
from ..probes.noise import GRAD_DIRECTIONS
from ..probes.transport import lag_grid
from ..store import Store
from ..tasks import make_task

#: vector probes stored flat, with the shape to restore (the last axis may differ between members)
PROBE_SHAPES = {"grad_projections": (GRAD_DIRECTIONS, -1), "eigenvalues": (2, -1)}


class Trajectory(NamedTuple):
    """One probe of every member: ``values[i, r]`` is member ``member_ids[i]`` at ``steps[r]``."""

    member_ids: list[str]
    steps: np.ndarray  # (R,)
    values: np.ndarray  # (P, R, ...), NaN where a member has no record


class RunData(NamedTuple):
    root: Path
    name: str
    spec: dict | None
    members: pd.DataFrame | None  # one row per member, grid order
    probes: tuple[str, ...]
    factors: tuple[str, ...]  # member columns that vary across the grid (e.g. "model_arch")
    claims: dict[str, list[Claim]]  # section title -> claims
    figures: list[Path]  # PNGs a reproduction wrote into the directory


def grid_factors(spec: dict | None, members: pd.DataFrame | None) -> tuple[str, ...]:
    """Member columns of the spec's grid keys ("model.arch" -> "model_arch") that take more than one value."""
    if spec is None or members is None:
        return ()
    columns = [key.replace(".", "_", 1) for key in spec.get("grid", {})]
    return tuple(c for c in columns if c in members.columns and members[c].nunique(dropna=False) > 1)


def in_grid_order(members: pd.DataFrame, spec: dict | None) -> pd.DataFrame:
    """Members sorted as the spec's grid lists its levels (first factor slowest), then by seed."""
    keys = []
    for key, levels in (spec or {}).get("grid", {}).items():
        column = key.replace(".", "_", 1)
        if column in members:
            position = {json.dumps(v): i for i, v in enumerate(levels)}
            members = members.assign(**{f"_order_{column}": [position.get(json.dumps(v), len(levels))
                                                             for v in members[column].tolist()]})
            keys.append(f"_order_{column}")
    ordered = members.sort_values(keys + ["seed"], kind="stable") if "seed" in members else members
    return ordered.drop(columns=keys).reset_index(drop=True)


def group_labels(members: pd.DataFrame, factors: tuple[str, ...]) -> pd.Series:
    """A short label per member naming its grid cell, e.g. "arch=gru, lr=0.01" ("all" without a grid)."""
    if not factors:
        return pd.Series(["all"] * len(members), index=members.index)

    def label(row) -> str:
        return ", ".join(f"{f.split('_', 1)[1]}={row[f]:.3g}" if isinstance(row[f], float)
                         else f"{f.split('_', 1)[1]}={row[f]}" for f in factors)

    return members.apply(label, axis=1)


def _claims(root: Path) -> dict[str, list[Claim]]:
    found = {}
    for path in sorted([root / "claims.json", *root.glob("*/claims.json")]):
        if path.is_file():
            title = root.name if path.parent == root else path.parent.name
            found[title] = read_claims(path)
    return found


def load_run(root: str | Path) -> RunData:
    """Read a run directory; raises FileNotFoundError when it holds neither a store nor claims."""
    root = Path(root)
    store = Store(root)
    spec_path = root / "spec.json"
    spec = json.loads(spec_path.read_text()) if spec_path.is_file() else None
    members, probes = None, ()
    if store.exists():
        with store.connect() as con:
            members = con.execute("SELECT * FROM members ORDER BY chunk, member_id").df()
            tables = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
            if "trajectories" in tables:
                probes = tuple(r[0] for r in con.execute(
                    "SELECT DISTINCT probe FROM trajectories ORDER BY probe").fetchall())
    claims = _claims(root)
    if members is None and not claims:
        raise FileNotFoundError(f"{root}: no stored members and no claims.json")
    figures_dir = root / "figures"
    pngs = sorted(p for p in root.rglob("*.png") if figures_dir not in p.parents)
    if members is not None:
        members = in_grid_order(members, spec)
    name = spec["name"] if spec else root.name
    return RunData(root, name, spec, members, probes, grid_factors(spec, members), claims, pngs)


def trajectory(root: Path, probe: str, member_ids: list[str]) -> Trajectory:
    """The probe's records as an array over (member, record[, probe shape]) in the order of ``member_ids``."""
    with Store(root).connect() as con:
        rows = con.execute("SELECT member_id, step, value, \"values\" FROM trajectories WHERE probe = ? "
                           "ORDER BY member_id, step", [probe]).df()
    steps = np.sort(rows["step"].unique())
    index = {m: i for i, m in enumerate(member_ids)}
    r_of = {s: r for r, s in enumerate(steps)}
    vector = rows["value"].isna().all() and rows["values"].notna().any()
    if vector:
        # members of different architectures may record different lengths (an LSTM's state is 2H):
        # the last axis is padded with NaN to the longest
        shape = PROBE_SHAPES.get(probe, (-1,))
        arrays = [None if v is None else np.asarray(v, float).reshape(shape) for v in rows["values"]]
        lead = next(a.shape[:-1] for a in arrays if a is not None)
        width = max(a.shape[-1] for a in arrays if a is not None)
        out = np.full((len(member_ids), len(steps)) + lead + (width,), np.nan)
        for m, s, a in zip(rows["member_id"], rows["step"], arrays):
            if m in index and a is not None:
                out[index[m], r_of[s], ..., :a.shape[-1]] = a
    else:
        out = np.full((len(member_ids), len(steps)), np.nan)
        for m, s, v in zip(rows["member_id"], rows["step"], rows["value"]):
            if m in index:
                out[index[m], r_of[s]] = v
    return Trajectory(list(member_ids), steps.astype(int), out)


class PhaseMeasurements(NamedTuple):
    """Per member: the final phase measurement; per member and record: beta, beta_env and alpha."""

    final: list[phase.MeasuredPhase | None]  # None for a diverged member
    lags: np.ndarray
    steps: np.ndarray
    beta: np.ndarray  # (P, R) tail-fit beta of the tau spectrum, NaN where unresolved
    beta_env: np.ndarray  # (P, R) mixture-envelope exponent
    alpha: np.ndarray  # (P, R) gradient-noise alpha (NaN without the grad_projections probe)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def sequence_length(run: RunData) -> int:
    """The members' sequence length: the ``task_seq_len`` column, else the task the spec builds."""
    if "task_seq_len" in run.members:
        return int(run.members["task_seq_len"].iloc[0])
    task = dict(run.spec["task"]) if run.spec else {}
    return make_task(task.pop("name"), **task).seq_len


def measure_phases(run: RunData) -> PhaseMeasurements | None:
    """Livi's phase rule on every member's last record, and beta, beta_env, alpha along training.

    Needs the ``envelope`` and ``timescales`` probes (None otherwise). Lags
    are those the envelope probe used (``probes.transport.lag_grid`` of the
    member's sequence length).
    """
    if run.members is None or not {"envelope", "timescales"} <= set(run.probes):
        return None
    ids = run.members["member_id"].tolist()
    env_traj = trajectory(run.root, "envelope", ids)
    tau = trajectory(run.root, "timescales", ids).values
    lags = lag_grid(sequence_length(run))
    diverged = run.members["diverged"].to_numpy(bool)
    final = [None if diverged[i] else _quiet(phase.measure_phase, lags, env_traj.values[i, -1], tau[i, -1], seed=i)
             for i in range(len(ids))]
    beta = np.array([[_tail_beta(t) for t in member] for member in tau])
    beta_env = np.array([[_quiet(spectrum.mixture_exponent, t).beta_env for t in member] for member in tau])
    alpha = np.full(beta.shape, np.nan)
    if "grad_projections" in run.probes:
        proj = trajectory(run.root, "grad_projections", ids).values
        for i in range(proj.shape[0]):
            for r in range(proj.shape[1]):
                est = _quiet(alpha_est.multi_direction_alpha, proj[i, r], n_boot=50, rng=i)
                alpha[i, r] = est.alpha if est.resolved else np.nan
    return PhaseMeasurements(final, lags, env_traj.steps, beta, beta_env, alpha)


def _tail_beta(tau: np.ndarray) -> float:
    fit = _quiet(spectrum.ccdf_tail_fit, tau)
    return float(fit.beta) if fit.resolved else np.nan


#: lags of the audited runs test (``envelope.power_law_window(fits, runs_lags=...)``): on smooth envelopes
#: Livi's runs test rejects the bend of any window longer than about a dozen lags
AUDIT_RUNS_LAGS = 10


def phase_columns(phases: PhaseMeasurements) -> pd.DataFrame:
    """Per-member columns for the members table: phase label, envelope winner, the power-law window under
    the audited runs test, final beta, beta_env and alpha."""
    rows = []
    for i, p in enumerate(phases.final):
        audit = None if p is None else _quiet(env.power_law_window, p.fits, runs_lags=AUDIT_RUNS_LAGS)
        rows.append({
            "phase": "diverged" if p is None else p.label,
            "envelope_winner": None if p is None or not p.fits.resolved else p.fits.winner,
            "window_audit": None if audit is None or not audit.resolved else bool(audit.passed),
            "beta": phases.beta[i, -1],
            "beta_env": phases.beta_env[i, -1],
            "alpha": phases.alpha[i, -1],
        })
    return pd.DataFrame(rows)
