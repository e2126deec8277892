"""Experiment specs: TOML files validated with pydantic, expanded into members.

A spec names a task, a model, an optimiser, a training budget, a recording
schedule and the seeds; its optional ``[grid]`` table crosses factors, each a
dotted field path mapped to a list of levels, e.g. ``"optimizer.lr" = [1e-3,
1e-2]``. Every grid cell times every seed is one member.

Bad input never raises a traceback at the user: :class:`SpecError` carries a
single line naming the field, the bad value and what is allowed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, field_validator, model_validator

ARCHS = ("elman", "linear", "ctrnn", "constgate", "sharedgate", "diaggate", "gru", "lstm", "lru")


#: an integer field: TOML's true, 3.0 or "3" are refused rather than read as 1 or 3
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]


class SpecError(ValueError):
    """A spec problem, as one line meant for the user."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ModelSpec(_Strict):
    arch: Literal[ARCHS] = "elman"  # type: ignore[valid-type]
    hidden: Int = Field(32, gt=0, le=8192)
    init: Literal["gaussian", "orthogonal", "aligned"] = "gaussian"
    init_scale: float = Field(1.0, gt=0)
    io_scale: float = Field(0.0, ge=0)  # read-in/read-out scale; 0 = the model's default
    gate: float = Field(0.05, gt=0, le=1)
    dt: float = Field(0.1, gt=0, le=1)
    bias: Bool = True  # False: the linear RNN's biases stay at zero (Proca et al.'s bias-free network)

    @model_validator(mode="after")
    def _aligned_is_linear(self):
        if self.init == "aligned" and self.arch != "linear":
            raise ValueError(f"init 'aligned' needs arch 'linear' (the data-aligned construction), not {self.arch!r}")
        if not self.bias and self.arch != "linear":
            raise ValueError(f"bias = false needs arch 'linear' (the other architectures train their biases), "
                             f"not {self.arch!r}")
        return self


class TaskSpec(BaseModel):
    """``name`` picks the task; every other key is passed to its factory."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str = "integration"

    def kwargs(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class OptimizerSpec(_Strict):
    name: Literal["sgd", "momentum", "adam", "adamw", "rmsprop"] = "sgd"
    lr: float = Field(1e-2, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(1e-4, ge=0)
    clip: float = Field(0.0, ge=0, description="global-norm clip level; 0 = off")
    winsor: float = Field(100.0, gt=0, le=100, description="element-wise percentile winsorisation; 100 = off")
    noise_mode: Literal["none", "update", "gradient", "state"] = "none"
    noise_alpha: float = Field(2.0, gt=0, le=2)
    noise_scale: float = Field(0.0, ge=0)


class RecordSpec(_Strict):
    every: Int | None = Field(None, gt=0)
    log_points: Int | None = Field(20, ge=2)
    probes: tuple[str, ...] = ("loss", "grad_norm", "spectral_radius")
    probe_batch: Int = Field(64, gt=0, le=65_536, description="held-out sequences each probe measures on")
    update_buffer: Int = Field(0, ge=0, le=1_000_000, description="slow-row updates kept between records "
                               "for the slow_row_updates probe (Livi 2026 keeps 20000); 0 = off")

    @field_validator("probes")
    @classmethod
    def _known_probes(cls, v):
        from .probes import PROBES

        for name in v:
            if name not in PROBES:
                raise ValueError(f"{name!r} is not a probe; allowed {sorted(PROBES)}")
        return v

    @model_validator(mode="after")
    def _buffer_is_recorded(self):
        if "slow_row_updates" in self.probes and self.update_buffer == 0:
            raise ValueError("probe 'slow_row_updates' needs record.update_buffer > 0 (e.g. 20000)")
        return self


class SuccessSpec(_Strict):
    """When a trained member counts as a success (Johnston et al.'s replication design, digest section 3.3; our choice).

    Logistic tasks: held-out accuracy >= ``accuracy``; regression tasks with a
    baseline (the adding problem's 1/6): held-out MSE <= ``relative_mse``
    times the baseline. Other tasks have no success criterion (null).
    """

    accuracy: float = Field(0.95, gt=0, le=1)
    relative_mse: float = Field(0.1, gt=0)


class Spec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    seeds: list[Int] | Int = Field(1, validate_default=True)
    steps: Int = Field(100, gt=0)
    batch: Int = Field(32, gt=0)
    chunk_size: Int = Field(256, gt=0)
    segment: Int = Field(1000, gt=0)
    block: Int = Field(4, gt=0, description="members per compiled block; larger on GPUs (e.g. 1024)")
    eval_batch: Int = Field(256, gt=0, le=100_000, description="held-out sequences of the final loss and accuracy")
    task: TaskSpec = TaskSpec()
    model: ModelSpec = ModelSpec()
    optimizer: OptimizerSpec = OptimizerSpec()
    record: RecordSpec = RecordSpec()
    success: SuccessSpec = SuccessSpec()
    grid: dict[str, list[Any]] = {}

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v):
        if isinstance(v, int):
            if v < 1:
                raise ValueError("an integer seeds = n must be >= 1 (it means seeds 0..n-1)")
            return list(range(v))
        if not v or any(s < 0 for s in v):
            raise ValueError("seeds must be a non-empty list of non-negative integers")
        if len(set(v)) != len(v):
            raise ValueError("seeds must not repeat")
        return v

    @model_validator(mode="after")
    def _grid_paths(self):
        for path, levels in self.grid.items():
            section, _, field = path.partition(".")
            if section not in ("task", "model", "optimizer") or not field:
                raise ValueError(f"grid key {path!r}: must be task.<field>, model.<field> or optimizer.<field>")
            if section != "task" and field not in type(getattr(self, section)).model_fields:
                allowed = sorted(type(getattr(self, section)).model_fields)
                raise ValueError(f"grid key {path!r}: {section} has no field {field!r}; allowed {allowed}")
            if not isinstance(levels, list) or not levels:
                raise ValueError(f"grid key {path!r}: levels must be a non-empty list")
        return self


def _one_line(err: ValidationError, prefix: str = "") -> str:
    e = err.errors()[0]
    loc = ".".join(str(p) for p in e["loc"]) or "spec"
    msg = e["msg"].removeprefix("Value error, ")
    if e.get("type") == "extra_forbidden":
        return f"{prefix}{loc}: unknown field (value {e['input']!r})"
    if e.get("type") == "missing":
        return f"{prefix}{loc}: required field is missing"
    shown = e.get("input")
    if isinstance(shown, dict):
        return f"{prefix}{loc}: {msg}"
    return f"{prefix}{loc} = {shown!r}: {msg}"


def parse_spec(data: dict[str, Any]) -> Spec:
    try:
        return Spec.model_validate(data)
    except ValidationError as err:
        raise SpecError(_one_line(err)) from None


def load_spec(path: str | Path) -> Spec:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise SpecError(f"{path}: cannot read spec ({err.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: not valid TOML ({err})") from None
    return parse_spec(data)


def member_specs(spec: Spec) -> list[tuple[dict[str, Any], int]]:
    """Expand the grid: a list of (cell config as nested dict, seed), grid order then seed order.

    Each cell is validated as a whole spec, so a bad level is reported as
    ``grid.<path>[i]``.
    """
    base = spec.model_dump(include={"task", "model", "optimizer"})
    paths = list(spec.grid)
    cells = []
    for combo in itertools.product(*(enumerate(spec.grid[p]) for p in paths)):
        cfg = json.loads(json.dumps(base))
        for path, (i, level) in zip(paths, combo):
            section, field = path.split(".", 1)
            cfg[section][field] = level
        try:
            checked = Spec.model_validate({"name": spec.name, **cfg})
        except ValidationError as err:
            bad = ", ".join(f"grid.{p}[{i}]" for p, (i, _) in zip(paths, combo))
            raise SpecError(_one_line(err, prefix=f"in cell {bad}: ")) from None
        cfg = checked.model_dump(include={"task", "model", "optimizer"})
        cells.append(cfg)
    return [(cfg, seed) for cfg in cells for seed in spec.seeds]


#: fields added after stores were first written, with their defaults: hashed only when they differ
#: from the default, so that members of earlier runs keep their ids and a resumed store stays whole
LATER_FIELDS = {("model", "bias"): True}


def _id_config(cfg: dict[str, Any]) -> dict[str, Any]:
    out = {section: dict(fields) for section, fields in cfg.items()}
    for (section, field), default in LATER_FIELDS.items():
        if out.get(section, {}).get(field, default) == default:
            out.get(section, {}).pop(field, None)
    return out


def member_id(experiment: str, cfg: dict[str, Any], seed: int) -> str:
    """A stable id: hash of the experiment name, the member's full config and its seed."""
    blob = json.dumps({"experiment": experiment, "config": _id_config(cfg), "seed": seed}, sort_keys=True,
                      default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def flatten(cfg: dict[str, Any]) -> dict[str, Any]:
    """{"model": {"hidden": 32}} -> {"model_hidden": 32}: the members table's config columns."""
    out = {}
    for section, fields in cfg.items():
        for k, v in fields.items():
            out[f"{section}_{k}"] = json.dumps(v) if isinstance(v, (list, dict, tuple)) else v
    return out


#: spec fields that change what a stored member means without changing its id (the id hashes the
#: experiment name, the cell's task / model / optimizer and the seed): a store must not mix them
RUN_DEFINING = ("steps", "batch", "eval_batch", "record", "success")


def stored_spec_conflict(stored: dict[str, Any], spec: Spec) -> str | None:
    """None if members of ``spec`` may join a store written by ``stored`` (a spec as JSON), else one line.

    Adding seeds or grid levels, or changing the description, chunking or
    blocking, is fine; a different budget, recording or success rule is not.
    """
    current = spec.model_dump(mode="json")
    for field in RUN_DEFINING:
        old, new = stored.get(field), current[field]
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    return f"{field}.{key} was {old.get(key)!r} there and is {new.get(key)!r} here"
        elif old != new:
            return f"{field} was {old!r} there and is {new!r} here"
    return None


def member_count(spec: Spec) -> int:
    """How many members the spec expands to (grid cells x seeds), without expanding it."""
    count = len(spec.seeds)
    for levels in spec.grid.values():
        count *= len(levels)
    return count
