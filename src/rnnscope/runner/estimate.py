"""How long a sweep will take, from a short calibration run of each shape before any real training.

A chunk's cost is one compilation plus, for every training step, one step of
each of its member blocks; blocks on one device run one after another, so a
chunk of n members costs about

    compile + steps * step_time * ceil(n / (block * devices)),

step_time being the time of one step of one block per device. The
calibration trains one block per device of each static configuration for
three short segments: the first segment's time holds the compilation, the
next two give step_time. Recording and the final evaluation are inside the
measured segments or neglected (our choice; they are small unless a probe is
expensive, in which case the estimate is low).
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import NamedTuple

import numpy as np

from ..train.population import build_engine, train_population
from .plan import Chunk

CALIBRATION_STEPS = 10  # steps per calibration segment (our choice), fewer if the sweep's budget is smaller


class GroupEstimate(NamedTuple):
    """One static configuration: its members, chunks, calibrated costs and projected time."""

    label: str
    members: int
    chunks: int
    compile_s: float
    step_s: float
    seconds: float


class SweepEstimate(NamedTuple):
    groups: list[GroupEstimate]
    calibration_s: float

    @property
    def seconds(self) -> float:
        return float(sum(g.seconds for g in self.groups))


def group_label(static: tuple) -> str:
    """A short name of a static configuration: architecture, width, init scheme, task with its arguments, optimiser.

    Two static configurations that differ only in a field left out here (say,
    the optimiser's momentum) share a label.
    """
    model_cfg, task_cfg, opt_cfg, _ = static
    task = " ".join([task_cfg.name, *(f"{k}={v}" for k, v in task_cfg.kwargs)])
    return f"{model_cfg.arch} H={model_cfg.hidden} {model_cfg.init} {task} {opt_cfg.name}"


def calibrate(chunk: Chunk, steps: int = CALIBRATION_STEPS) -> tuple[float, float]:
    """(compile seconds, seconds per step of one block per device) for the static configuration of ``chunk``."""
    model_cfg, task_cfg, opt_cfg, train_cfg = chunk.static
    seg = max(1, min(steps, train_cfg.steps))
    cfg = dataclasses.replace(train_cfg, steps=3 * seg, segment=seg)
    pad_to = build_engine(model_cfg, task_cfg, opt_cfg, cfg).pad_to
    members = [chunk.members[i % len(chunk.members)] for i in range(pad_to)]
    hps = [m.hp() for m in members]
    hp = {k: np.array([h[k] for h in hps], np.float32) for k in hps[0]}
    marks = []
    start = time.perf_counter()
    train_population(model_cfg, task_cfg, opt_cfg, cfg, np.arange(pad_to), hp,
                     on_progress=lambda _: marks.append(time.perf_counter() - start))
    step_s = (marks[2] - marks[0]) / (2 * seg)
    return max(marks[0] - seg * step_s, 0.0), step_s


def estimate(chunks: list[Chunk], steps: int = CALIBRATION_STEPS) -> SweepEstimate:
    """Projected wall time of training ``chunks`` on this machine, one calibration per static configuration."""
    by_static: dict[tuple, list[Chunk]] = {}
    for c in chunks:
        by_static.setdefault(c.static, []).append(c)
    groups = []
    t0 = time.perf_counter()
    for static, group in by_static.items():
        compile_s, step_s = calibrate(group[0], steps)
        model_cfg, task_cfg, opt_cfg, train_cfg = static
        pad_to = build_engine(model_cfg, task_cfg, opt_cfg, train_cfg).pad_to
        sizes = {len(c.members) for c in group}
        seconds = compile_s * len(sizes) + sum(
            train_cfg.steps * step_s * math.ceil(len(c.members) / pad_to) for c in group)
        groups.append(GroupEstimate(group_label(static), sum(len(c.members) for c in group), len(group),
                                    compile_s, step_s, seconds))
    return SweepEstimate(groups, time.perf_counter() - t0)
