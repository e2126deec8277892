"""Plan a spec: members, grouped by the static configuration that fixes shapes, cut into chunks.

Members that share a static configuration (architecture, sizes, task, optimiser
family, budget) share one compiled program; what varies inside a chunk
(learning rate, init scale, gate, clip level, noise, seed) travels as arrays.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any, NamedTuple

from ..models.base import ModelConfig
from ..optim import OptimizerConfig
from ..spec import Spec, SpecError, member_id, member_specs, stored_spec_conflict
from ..train.population import TaskConfig, TrainConfig

PER_MEMBER = {
    ("model", "init_scale"): "init_scale",
    ("model", "io_scale"): "io_scale",
    ("model", "gate"): "gate",
    ("optimizer", "lr"): "lr",
    ("optimizer", "clip"): "clip",
    ("optimizer", "winsor"): "winsor",
    ("optimizer", "noise_alpha"): "noise_alpha",
    ("optimizer", "noise_scale"): "noise_scale",
}


class Member(NamedTuple):
    member_id: str
    seed: int
    cfg: dict[str, Any]  # nested: task / model / optimizer

    def hp(self) -> dict[str, float]:
        """Per-member hyper-parameters for the trainer (a spec's clip = 0 means off, i.e. +inf)."""
        hp = {name: float(self.cfg[s][f]) for (s, f), name in PER_MEMBER.items()}
        if hp["clip"] <= 0:
            hp["clip"] = float("inf")
        return hp


class Chunk(NamedTuple):
    chunk_id: str
    experiment: str
    static: tuple  # (ModelConfig, TaskConfig, OptimizerConfig, TrainConfig)
    members: tuple[Member, ...]
    success: tuple[float, float] = (0.95, 0.1)  # (accuracy, relative_mse) of the spec's success criterion
    spec: str = "{}"  # the run's resolved spec as JSON, less execution settings (each member row holds it
    # with its own cell and seed)


def _freeze(v):
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    return v


def static_config(spec: Spec, cfg: dict[str, Any]) -> tuple:
    """The hashable (model, task, optimiser, training) configuration shared by a chunk."""
    task_kwargs = {k: v for k, v in cfg["task"].items() if k != "name"}
    task_cfg = TaskConfig(cfg["task"]["name"], _freeze(task_kwargs))
    try:
        task = task_cfg.build()
    except (ValueError, TypeError) as err:
        raise SpecError(str(err).splitlines()[0]) from None
    m = cfg["model"]
    model_cfg = ModelConfig(arch=m["arch"], hidden=m["hidden"], input_dim=task.input_dim,
                            output_dim=task.output_dim, init=m["init"], dt=m["dt"], bias=m["bias"])
    o = cfg["optimizer"]
    winsor_levels = [spec.optimizer.winsor, *spec.grid.get("optimizer.winsor", [])]
    opt_cfg = OptimizerConfig(name=o["name"], momentum=o["momentum"], weight_decay=o["weight_decay"],
                              noise_mode=o["noise_mode"], use_winsor=any(w < 100 for w in winsor_levels))
    r = spec.record
    train_cfg = TrainConfig(steps=spec.steps, batch=spec.batch, record_every=r.every, record_log_points=r.log_points,
                            probes=tuple(r.probes), probe_batch=r.probe_batch, segment=spec.segment, block=spec.block,
                            update_buffer=r.update_buffer, eval_batch=spec.eval_batch)
    return model_cfg, task_cfg, opt_cfg, train_cfg


def plan(spec: Spec, done: set[str] = frozenset()) -> tuple[list[Chunk], int]:
    """Chunks of members not yet in ``done``; also returns the total member count."""
    members = [Member(member_id(spec.name, cfg, seed), seed, cfg) for cfg, seed in member_specs(spec)]
    groups: dict[tuple, list[Member]] = {}
    statics: dict[tuple, tuple] = {}
    for m in members:
        if m.member_id in done:
            continue
        key = json.dumps({k: v for k, v in _static_part(m.cfg).items()}, sort_keys=True, default=str)
        groups.setdefault(key, []).append(m)
        if key not in statics:
            statics[key] = static_config(spec, m.cfg)
    chunks = []
    # execution settings (chunking, blocking, segments) change no member's numbers: left out, so that
    # a store is the same whatever they were
    spec_json = json.dumps(spec.model_dump(mode="json", exclude={"grid", "seeds", "chunk_size", "block", "segment"}),
                           sort_keys=True)
    for key, group in groups.items():
        for part in balanced_parts(group, spec.chunk_size):
            cid = hashlib.sha1("".join(m.member_id for m in part).encode()).hexdigest()[:16]
            chunks.append(Chunk(cid, spec.name, statics[key], part,
                                (spec.success.accuracy, spec.success.relative_mse), spec_json))
    return chunks, len(members)


def balanced_parts(group: list, chunk_size: int) -> list[tuple]:
    """``group`` cut, in order, into the fewest parts of at most ``chunk_size``, their sizes within one.

    Equal parts pad to the same population size, so a group's chunks share one
    compiled program (2,000 members in chunks of <= 256: eight of 250, not seven
    of 256 and one of 208, which would compile a second time).
    """
    n_parts = -(-len(group) // chunk_size)
    small, extra = divmod(len(group), n_parts) if n_parts else (0, 0)
    parts, start = [], 0
    for i in range(n_parts):
        size = small + (i < extra)
        parts.append(tuple(group[start : start + size]))
        start += size
    return parts


def _static_part(cfg: dict[str, Any]) -> dict[str, Any]:
    return {s: {f: v for f, v in fields.items() if (s, f) not in PER_MEMBER} for s, fields in cfg.items()}


def check_store_spec(spec: Spec, store) -> None:
    """Raise SpecError when ``store`` was written by a spec with another budget, recording or success rule
    (``spec.RUN_DEFINING``): its members would share ids with ``spec``'s."""
    stored = store.read_spec()
    if stored is not None:
        conflict = stored_spec_conflict(stored, spec)
        if conflict:
            raise SpecError(f"{store.root} holds members of another spec ({conflict}); "
                            "rename the experiment or use another --store")


def stored_members(spec: Spec, store) -> set[str]:
    """Ids of the members ``store`` holds, after ``check_store_spec`` (StoreError if a file is unreadable)."""
    check_store_spec(spec, store)
    store.check_readable()
    return store.member_ids()


class Claim(NamedTuple):
    chunks: list[Chunk]  # what is left to train
    total: int  # members of the spec
    quarantined: list[str]  # unreadable chunks moved aside (their members are in ``chunks`` again)


@contextlib.contextmanager
def claim_store(spec: Spec, store):
    """Validate ``spec`` against ``store``, then hold the store's writer lock and yield a :class:`Claim`.

    Nothing is written before the spec has planned without error. Under the
    lock, unreadable chunk files are moved aside and the plan is made from the
    members stored now, so two writers can never train the same member.
    """
    plan(spec)
    check_store_spec(spec, store)
    with store.writer():
        quarantined = store.quarantine_unreadable()
        chunks, total = plan(spec, store.member_ids())
        store.write_spec(spec.model_dump(mode="json"))
        yield Claim(chunks, total, quarantined)
