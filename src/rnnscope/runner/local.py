"""The local runner: train chunks one after another in this process and store each as it finishes."""

from __future__ import annotations

import json
import time
from typing import Callable

import numpy as np
import pyarrow as pa

from ..spec import Spec, flatten
from ..store import Store
from ..train.population import PopulationResult, train_population
from .plan import Chunk, claim_store
from .provenance import provenance


#: Per-member summaries of recorded probe trajectories (NaN-aware, over the records a member
#: has): the inputs of the vanishing / exploding-gradient flags (Johnston et al., digest section 4).
SUMMARIES = {
    "grad_norm": ("initial", "max"),
    "credit_ratio": ("median",),
    "jac_lyapunov": ("median", "max"),
    "nonfinite_grad": ("sum",),
}


def _summary(values: np.ndarray, how: str) -> float:
    finite = values[np.isfinite(values)] if how != "sum" else values[~np.isnan(values)]
    if how == "initial":
        return float(values[0])
    if finite.size == 0:
        return float("nan")
    return float({"max": np.max, "median": np.median, "sum": np.sum}[how](finite))


def probe_summaries(result: PopulationResult, i: int) -> dict[str, float]:
    """``<probe>_<how>`` columns of member i for the probes of ``SUMMARIES`` that were recorded."""
    out = {}
    for name, hows in SUMMARIES.items():
        if name in result.trajectories and result.trajectories[name].ndim == 2:
            for how in hows:
                out[f"{name}_{how}"] = _summary(result.trajectories[name][i], how)
    return out


def success(task, final_loss: float, final_accuracy: float, diverged: bool, rule: tuple[float, float]):
    """The member's success (None where the task has no criterion); a diverged member fails.

    Logistic tasks: accuracy >= rule[0]; regression tasks with a baseline
    loss: loss <= rule[1] * baseline (Johnston et al.'s replication design,
    digest section 3.3; the thresholds are the spec's ``success`` table).
    """
    accuracy, relative_mse = rule
    if task.loss == "logistic":
        return bool(not diverged and final_accuracy >= accuracy)
    if task.baseline_loss is not None:
        return bool(not diverged and final_loss <= relative_mse * task.baseline_loss)
    return None


def member_spec(run_spec: dict, member) -> str:
    """The member's full resolved spec as JSON: the run's spec with this member's cell and seed."""
    return json.dumps({**run_spec, **member.cfg, "seeds": [member.seed]}, sort_keys=True)


def members_table(chunk: Chunk, result: PopulationResult, wall_s: float) -> pa.Table:
    """One row per member: ids, seed, every config field, final metrics, success, probe summaries, flags,
    provenance (``provenance.PROVENANCE_COLUMNS``) and the member's resolved spec."""
    rows = []
    run_spec = json.loads(chunk.spec)
    code = provenance()
    per_member_wall = wall_s / len(chunk.members)
    task = chunk.static[1].build()
    accuracy = result.final_accuracy if result.final_accuracy is not None else np.full(len(chunk.members), np.nan)
    for i, m in enumerate(chunk.members):
        row = {"experiment": chunk.experiment, "member_id": m.member_id, "chunk": chunk.chunk_id, "seed": m.seed}
        row.update(flatten(m.cfg))
        loss, acc, diverged = float(result.final_loss[i]), float(accuracy[i]), bool(result.diverged[i])
        row.update(
            final_loss=loss,
            final_accuracy=acc,
            success=success(task, loss, acc, diverged, chunk.success),
            diverged=diverged,
            diverged_step=int(result.diverged_step[i]),
            wall_time_s=per_member_wall,
        )
        row.update(probe_summaries(result, i))
        row.update(code, spec=member_spec(run_spec, m))
        rows.append(row)
    return pa.Table.from_pylist(rows)


def trajectories_table(chunk: Chunk, result: PopulationResult) -> pa.Table:
    """One row per (member, probe, recorded step); array-valued probes fill ``values``."""
    P = len(chunk.members)
    steps = result.record_steps
    R = len(steps)
    cols = {"experiment": [], "member_id": [], "chunk": [], "probe": [], "step": [], "value": [], "values": []}
    ids = np.repeat(np.array([m.member_id for m in chunk.members]), R)
    for name, arr in result.trajectories.items():
        cols["member_id"].extend(ids.tolist())
        cols["step"].extend(np.tile(steps, P).tolist())
        cols["probe"].extend([name] * (P * R))
        if arr.ndim == 2:
            cols["value"].extend(arr.reshape(-1).astype(float).tolist())
            cols["values"].extend([None] * (P * R))
        else:
            flat = arr.reshape(P * R, -1).astype(float)
            cols["value"].extend([None] * (P * R))
            cols["values"].extend(flat.tolist())
    n = len(cols["member_id"])
    cols["experiment"] = [chunk.experiment] * n
    cols["chunk"] = [chunk.chunk_id] * n
    schema = pa.schema([("experiment", pa.string()), ("member_id", pa.string()), ("chunk", pa.string()),
                        ("probe", pa.string()), ("step", pa.int32()), ("value", pa.float64()),
                        ("values", pa.list_(pa.float64()))])
    return pa.table(cols, schema=schema)


def run_chunk(chunk: Chunk, on_progress: Callable[[int], None] | None = None) -> tuple[pa.Table, pa.Table]:
    """Train one chunk and return its (members, trajectories) tables; touches no store."""
    model_cfg, task_cfg, opt_cfg, train_cfg = chunk.static
    seeds = [m.seed for m in chunk.members]
    hps = [m.hp() for m in chunk.members]
    hp = {k: np.array([h[k] for h in hps], np.float32) for k in hps[0]}
    t0 = time.perf_counter()
    result = train_population(model_cfg, task_cfg, opt_cfg, train_cfg, seeds, hp, on_progress)
    wall = time.perf_counter() - t0
    return members_table(chunk, result, wall), trajectories_table(chunk, result)


def run_local(spec: Spec, store: Store, progress=None) -> dict:
    """Run every member of ``spec`` not yet in ``store``; each chunk is stored as soon as it is done.

    ``progress``, if given, receives ``start(total_members, todo_members, steps)``,
    ``advance(member_steps)`` and ``chunk_done(n_members)`` calls.
    """
    with claim_store(spec, store) as claim:
        todo = sum(len(c.members) for c in claim.chunks)
        if progress:
            progress.start(claim.total, todo, spec.steps)
        for chunk in claim.chunks:
            last = [0]

            def on_steps(steps_done, chunk=chunk, last=last):
                if progress:
                    progress.advance((steps_done - last[0]) * len(chunk.members))
                last[0] = steps_done

            members, traj = run_chunk(chunk, on_steps)
            store.write_chunk(chunk.chunk_id, members, traj)
            store.register()
            if progress:
                progress.chunk_done(len(chunk.members))
    return {"total": claim.total, "skipped": claim.total - todo, "trained": todo, "chunks": len(claim.chunks),
            "quarantined": claim.quarantined}
