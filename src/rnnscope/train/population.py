"""Train a population of P recurrent networks in one compiled program.

Layout: ``lax.scan`` over training steps outside, ``jax.vmap`` over members
inside, ``lax.scan`` over time inside each member's loss. The recording
decision depends only on the step (shared by all members), so probes sit
behind a ``lax.cond`` that really skips them between records instead of
being computed and masked.

Every member is driven only by its own hyper-parameters and its own key
``PRNGKey(seed)``, split into init / data / noise / probe / eval keys; the
batch of step s is ``task.sample(fold_in(data_key, s), batch)``. Nothing in
a member's arithmetic reads another member, so its numbers do not depend on
who else is in the population.

Divergence is data: a member whose loss or updated parameters are not finite
keeps its last finite parameters, is flagged ``diverged`` with the step, and
its later recorded probe values are NaN.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..models import get_model
from ..models.base import ModelConfig, merge, trainable
from ..optim import OptimizerConfig, init_member, make_optimizer
from ..probes import ProbeContext, get_probe
from ..tasks import make_task
from .losses import task_loss
from .schedule import record_steps
from .state_noise import noisy_run

def _one_device_per_core() -> None:
    """Expose each CPU core as a JAX device, so that member shards run in parallel.

    XLA runs a block of small recurrent products on one thread, so a
    population split across one device per core uses every core. Has no
    effect once JAX's backends exist, when the user chose a device count, or
    on accelerators.
    """
    if "JAX_NUM_CPU_DEVICES" in os.environ or "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return
    try:
        jax.config.update("jax_num_cpu_devices", os.cpu_count() or 1)
    except RuntimeError:
        pass


_one_device_per_core()


#: Per-member hyper-parameters (arrays of shape (P,)) and their defaults.
MEMBER_HP_DEFAULTS: dict[str, float] = {
    "init_scale": 1.0,
    "io_scale": 0.0,  # read-in/read-out scale; 0 = the model's own default
    "gate": 0.05,
    "lr": 1e-2,
    "clip": float("inf"),  # global-norm clip level; +inf = off
    "winsor": 100.0,
    "noise_alpha": 2.0,
    "noise_scale": 0.0,
}
MODEL_HP = ("init_scale", "io_scale", "gate")
OPTIM_HP = ("lr", "clip", "winsor", "noise_alpha", "noise_scale")


@dataclass(frozen=True)
class TaskConfig:
    """A task by registry name and keyword arguments (hashable, so engines can be cached)."""

    name: str
    kwargs: tuple[tuple[str, Any], ...] = ()

    def build(self):
        return make_task(self.name, **dict(self.kwargs))


@dataclass(frozen=True)
class TrainConfig:
    """Static training settings shared by every member of a chunk.

    Attributes:
        steps: number of optimiser updates.
        batch: sequences per update.
        record_every / record_log_points: the recording schedule (see ``record_steps``).
        probes: names of probes evaluated at each record.
        probe_batch: size of each member's fixed held-out probe batch.
        eval_batch: size of the held-out batch for the final loss.
        segment: steps per compiled call; progress is reported between calls.
        block: members computed together by one vmapped program; the population
            is padded to a multiple of it and its blocks run one after another.
            XLA picks kernels (vectorisation, reduction order) by array shape,
            so a fixed block is what makes a member's numbers independent of
            the population size. Larger blocks use a GPU better.
    """

    steps: int = 100
    batch: int = 32
    record_every: int | None = None
    record_log_points: int | None = 20
    probes: tuple[str, ...] = ("loss", "grad_norm", "spectral_radius")
    probe_batch: int = 64
    eval_batch: int = 256
    segment: int = 1000
    block: int = 16


class PopulationResult(NamedTuple):
    params: Any  # pytree, leading axis P
    final_loss: np.ndarray  # (P,) held-out loss after training (NaN if diverged)
    diverged: np.ndarray  # (P,) bool
    diverged_step: np.ndarray  # (P,) int, -1 when the member never diverged
    record_steps: np.ndarray  # (R,)
    trajectories: dict[str, np.ndarray]  # probe -> (P, R, *shape)


class MemberState(NamedTuple):
    params: Any
    opt_state: Any
    data_key: jax.Array
    noise_key: jax.Array
    probe_x: jax.Array
    probe_y: jax.Array
    diverged: jax.Array
    diverged_step: jax.Array


def blocked(f: Callable, block: int) -> Callable:
    """Apply a member-vmapped ``f`` to a population in blocks of ``block`` members.

    Every argument's leading axis is the member axis, of a length that is a
    multiple of ``block``; ``lax.map`` runs the blocks in sequence, so the
    compiled computation always sees exactly ``block`` members.
    """

    def split(a):
        return a.reshape((-1, block) + a.shape[1:])

    def join(a):
        return a.reshape((-1,) + a.shape[2:])

    def run(*args):
        out = jax.lax.map(lambda blk: f(*blk), jax.tree.map(split, args))
        return jax.tree.map(join, out)

    return run


def member_mesh(one_device: bool = False) -> jax.sharding.Mesh:
    """A one-axis mesh ("members") over every local device of the default backend (or only the first)."""
    devices = jax.local_devices()
    return jax.sharding.Mesh(np.array(devices[:1] if one_device else devices), ("members",))


def population_map(f: Callable, block: int, mesh: jax.sharding.Mesh) -> Callable:
    """Apply a member-vmapped ``f`` to a padded population: one shard of members per
    device (``shard_map``), and on each device blocks of ``block`` members in sequence.
    """
    g = blocked(f, block)
    if mesh.size == 1:
        return g
    spec = jax.sharding.PartitionSpec("members")
    return jax.shard_map(g, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False)


def _all_finite(tree) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(a)) for a in jax.tree.leaves(tree)]
    return jnp.all(jnp.stack(leaves))


def _select(pred, a, b):
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


class Engine(NamedTuple):
    init: Callable
    run_segment: Callable
    finish: Callable
    record_steps: np.ndarray
    pad_to: int  # populations are padded to a multiple of this (block x devices)


@functools.lru_cache(maxsize=64)
def build_engine(model_cfg: ModelConfig, task_cfg: TaskConfig, opt_cfg: OptimizerConfig, train_cfg: TrainConfig) -> Engine:
    """Compile-once functions for one static configuration (cached across calls)."""
    model = get_model(model_cfg.arch)
    task = task_cfg.build()
    if (task.input_dim, task.output_dim) != (model_cfg.input_dim, model_cfg.output_dim):
        raise ValueError(
            f"model input_dim/output_dim ({model_cfg.input_dim}, {model_cfg.output_dim}) "
            f"do not match task {task.name!r} ({task.input_dim}, {task.output_dim})"
        )
    opt = make_optimizer(opt_cfg)
    probes = tuple(get_probe(n) for n in train_cfg.probes)
    steps_rec = record_steps(train_cfg.steps, train_cfg.record_every, train_cfg.record_log_points)
    slot_of_step = np.full(train_cfg.steps + 1, -1, np.int32)
    slot_of_step[steps_rec] = np.arange(len(steps_rec), dtype=np.int32)
    slot_of_step = jnp.asarray(slot_of_step)
    state_noise = opt_cfg.noise_mode == "state"

    def loss_of(params, x, y, noise=None):
        run = None
        if noise is not None:
            key, alpha, scale = noise
            run = noisy_run(model, key, alpha, scale)
        return task_loss(model, model_cfg, task, params, x, y, run)

    def member_init(seed, hp):
        keys = jax.random.split(jax.random.PRNGKey(seed), 5)
        params = model.init(keys[0], model_cfg, {k: hp[k] for k in MODEL_HP})
        opt_state = init_member(opt, trainable(params), {k: hp[k] for k in OPTIM_HP}, keys[2])
        probe_x, probe_y = task.sample(keys[3], train_cfg.probe_batch)
        return MemberState(params, opt_state, keys[1], keys[2], probe_x, probe_y,
                           jnp.array(False), jnp.array(-1, jnp.int32))

    def member_update(state: MemberState, hp, step):
        # ``step`` arrives per member (all equal) so that it can be blocked like the rest
        params = state.params
        x, y = task.sample(jax.random.fold_in(state.data_key, step), train_cfg.batch)
        noise = None
        if state_noise:
            noise = (jax.random.fold_in(state.noise_key, step), hp["noise_alpha"], hp["noise_scale"])

        def loss_fn(train):
            return loss_of(merge(train, params), x, y, noise)

        train = trainable(params)
        loss, grads = jax.value_and_grad(loss_fn)(train)
        updates, opt_state = opt.update(grads, state.opt_state, train)
        new_train = optax.apply_updates(train, updates)
        ok = jnp.isfinite(loss) & _all_finite(new_train)
        newly_bad = ~ok & ~state.diverged
        diverged = state.diverged | ~ok
        return state._replace(
            params=_select(diverged, params, merge(new_train, params)),
            opt_state=_select(diverged, state.opt_state, opt_state),
            diverged=diverged,
            diverged_step=jnp.where(newly_bad, step, state.diverged_step),
        )

    def member_probes(state: MemberState):
        loss, grads = jax.value_and_grad(lambda t: loss_of(merge(t, state.params), state.probe_x, state.probe_y))(
            trainable(state.params))
        ctx = ProbeContext(model, model_cfg, state.params, state.opt_state, loss, optax.tree.norm(grads),
                           state.probe_x, opt_cfg)
        values = {p.name: jnp.asarray(p.fn(ctx), jnp.float32) for p in probes}
        return {k: jnp.where(state.diverged, jnp.nan, v) for k, v in values.items()}

    block = train_cfg.block
    mesh = member_mesh(one_device=any(p.one_device for p in probes))
    pop_update_at = population_map(jax.vmap(member_update), block, mesh)
    pop_probes = population_map(jax.vmap(member_probes), block, mesh)

    def pop_update(state, hp, step):
        return pop_update_at(state, hp, jnp.broadcast_to(step, hp["lr"].shape))

    def record(traj, state, step):
        slot = slot_of_step[step]
        values = pop_probes(state)
        return {k: traj[k].at[:, slot].set(values[k]) for k in traj}

    @jax.jit
    def init(seeds, hp):
        state = population_map(jax.vmap(member_init), block, mesh)(seeds, hp)
        P = seeds.shape[0]
        shapes = jax.eval_shape(pop_probes, state)
        traj = {k: jnp.full((P, len(steps_rec)) + v.shape[1:], jnp.nan, jnp.float32) for k, v in shapes.items()}
        return state, record(traj, state, 0)

    @jax.jit
    def run_segment(state, traj, hp, steps):
        def body(carry, step):
            state, traj = carry
            state = pop_update(state, hp, step)
            traj = jax.lax.cond(slot_of_step[step] >= 0, lambda t: record(t, state, step), lambda t: t, traj)
            return (state, traj), None

        (state, traj), _ = jax.lax.scan(body, (state, traj), steps)
        return state, traj

    @jax.jit
    def finish(state, seeds):
        def member_eval(state, seed):
            x, y = task.sample(jax.random.split(jax.random.PRNGKey(seed), 5)[4], train_cfg.eval_batch)
            loss = loss_of(state.params, x, y)
            return jnp.where(state.diverged, jnp.nan, loss)

        return population_map(jax.vmap(member_eval), block, mesh)(state, seeds)

    return Engine(init, run_segment, finish, steps_rec, block * mesh.size)


def member_hp_arrays(hp: dict[str, Any], population: int) -> dict[str, jax.Array]:
    """Complete per-member hyper-parameters as float32 arrays of shape (P,)."""
    unknown = set(hp) - set(MEMBER_HP_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown per-member hyper-parameters {sorted(unknown)}; allowed {sorted(MEMBER_HP_DEFAULTS)}")
    out = {}
    for name, default in MEMBER_HP_DEFAULTS.items():
        value = np.broadcast_to(np.asarray(hp.get(name, default), np.float32), (population,))
        out[name] = jnp.asarray(value)
    return out


def train_population(
    model_cfg: ModelConfig,
    task_cfg: TaskConfig,
    opt_cfg: OptimizerConfig,
    train_cfg: TrainConfig,
    seeds,
    hp: dict[str, Any] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> PopulationResult:
    """Train P = len(seeds) members; ``hp`` maps hyper-parameter names to scalars or (P,) arrays.

    ``on_progress(steps_done)`` is called between compiled segments.
    """
    seeds = np.asarray(seeds, np.uint32)
    P = seeds.shape[0]
    hp = member_hp_arrays(hp or {}, P)
    engine = build_engine(model_cfg, task_cfg, opt_cfg, train_cfg)
    padded = -(-P // engine.pad_to) * engine.pad_to
    # padding members repeat member 0; their results are dropped
    seeds = jnp.asarray(np.concatenate([seeds, np.repeat(seeds[:1], padded - P)]))
    hp = {k: jnp.concatenate([v, jnp.repeat(v[:1], padded - P)]) for k, v in hp.items()}
    state, traj = engine.init(seeds, hp)
    seg = max(1, min(train_cfg.segment, train_cfg.steps))
    # segments of equal length share one compilation; a shorter last one gets its own
    for start in range(0, train_cfg.steps, seg):
        end = min(start + seg, train_cfg.steps)
        state, traj = engine.run_segment(state, traj, hp, jnp.arange(start + 1, end + 1, dtype=jnp.int32))
        if on_progress is not None:
            jax.block_until_ready(traj)
            on_progress(end)
    final_loss = engine.finish(state, seeds)
    state, traj, final_loss = jax.device_get((state, traj, final_loss))
    keep = slice(0, P)
    return PopulationResult(
        params=jax.tree.map(lambda a: np.asarray(a)[keep], state.params),
        final_loss=np.asarray(final_loss)[keep],
        diverged=np.asarray(state.diverged)[keep],
        diverged_step=np.asarray(state.diverged_step)[keep],
        record_steps=engine.record_steps,
        trajectories={k: np.asarray(v)[keep] for k, v in traj.items()},
    )
