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

A population can continue from an earlier result (``warm_start``) under new
optimiser hyper-parameters, batch size or probes: the forcing ablations of
Livi 2026 switch clipping, winsorisation, batch size or injected noise after
a warm start. Steps keep counting from where the first phase stopped, so the
data stream of a member continues rather than repeats.

With ``TrainConfig.update_buffer > 0`` every member also keeps the realised
parameter increments of its slow rows (the rows of every H-leading tensor
that belong to the ``slow_fraction`` of units with the longest zeroth-order
time scale) in a buffer that the ``slow_row_updates`` probe reads and every
record empties (Livi 2026, digest section 6.3).
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
from ..optim import OptimizerConfig, forcing_controls, init_member, make_optimizer
from ..probes import ProbeContext, get_probe
from ..probes.transport import PROBE_SEQUENCES, batched_initial_state, step_factors
from ..tasks import make_task
from .losses import LOSSES, predictions, task_loss
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


#: Per-member hyper-parameters (arrays of shape (P,)). The model's have these defaults;
#: the optimiser's default to the run's ``OptimizerConfig`` (``optimizer_defaults``).
MODEL_HP_DEFAULTS: dict[str, float] = {
    "init_scale": 1.0,
    "io_scale": 0.0,  # read-in/read-out scale; 0 = the model's own default
    "gate": 0.05,
}
MODEL_HP = tuple(MODEL_HP_DEFAULTS)
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
            the population size. On a CPU small blocks are fastest: a block's
            stored states then stay in cache from the forward to the reverse
            pass (256 Elman members, hidden 32, two cores: 4,735 member-steps/s
            at block 4 against 4,213 at 16). A GPU wants large blocks (1024 or more).
        update_buffer: slow-row parameter increments kept between records
            (Livi's 20,000); 0 keeps none.
        slow_fraction: share of units whose rows count as slow (Livi's 10%).
    """

    steps: int = 100
    batch: int = 32
    record_every: int | None = None
    record_log_points: int | None = 20
    probes: tuple[str, ...] = ("loss", "grad_norm", "spectral_radius")
    probe_batch: int = 64
    eval_batch: int = 256
    segment: int = 1000
    block: int = 4
    update_buffer: int = 0
    slow_fraction: float = 0.10


class PopulationResult(NamedTuple):
    params: Any  # pytree, leading axis P
    final_loss: np.ndarray  # (P,) held-out loss after training (NaN if diverged)
    diverged: np.ndarray  # (P,) bool
    diverged_step: np.ndarray  # (P,) int, -1 when the member never diverged
    record_steps: np.ndarray  # (R,) training steps, counted from the first phase's start
    trajectories: dict[str, np.ndarray]  # probe -> (P, R, *shape)
    opt_state: Any = None  # pytree, leading axis P: what a warm start continues from
    seeds: np.ndarray | None = None  # (P,)
    end_step: int = 0  # training steps done, earlier phases included
    final_accuracy: np.ndarray | None = None  # (P,) held-out accuracy of logistic tasks (NaN otherwise, or diverged)


class MemberState(NamedTuple):
    params: Any
    opt_state: Any
    data_key: jax.Array
    noise_key: jax.Array
    probe_x: jax.Array
    probe_y: jax.Array
    diverged: jax.Array
    diverged_step: jax.Array
    slow_units: jax.Array  # (n_slow,) int: units whose rows feed the update buffer
    # (update_buffer,) slow-row increments since the last record, NaN-padded; one NaN when off
    # (a zero-length member axis cannot be blocked)
    update_buffer: jax.Array
    buffer_fill: jax.Array  # int: entries of update_buffer written


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


class MemberKeys(NamedTuple):
    """The random streams of one member, all split from ``PRNGKey(seed)``."""

    init: jax.Array  # initial weights
    data: jax.Array  # training batches: step s draws from fold_in(data, s)
    noise: jax.Array  # optimiser noise
    probe: jax.Array  # the fixed probe batch
    eval: jax.Array  # the held-out evaluation batch


def member_keys(seed) -> MemberKeys:
    """A member's keys: everything random about it follows from its seed alone, whatever the population."""
    return MemberKeys(*jax.random.split(jax.random.PRNGKey(seed), 5))


def all_finite(tree) -> jax.Array:
    """True when every entry of every leaf is finite."""
    leaves = [jnp.all(jnp.isfinite(a)) for a in jax.tree.leaves(tree)]
    return jnp.all(jnp.stack(leaves))


def _select(pred, a, b):
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


class Engine(NamedTuple):
    init: Callable
    resume: Callable
    run_segment: Callable
    finish: Callable
    record_steps: np.ndarray  # relative to the start of this phase
    pad_to: int  # populations are padded to a multiple of this (block x devices)


#: Stream of the per-record probe keys, folded into a member's training-batch key.
_PROBE_STREAM = 0x5EED


def slow_row_entries(tree, slow_units: jax.Array, hidden: int) -> jax.Array:
    """The rows ``slow_units`` of every real leaf whose leading axis has length ``hidden``, as one vector.

    These are the parameters that feed the slow units' pre-activations (the
    "slow rows" of Livi 2026, digest section 6.3). Complex leaves (the LRU's
    input and output maps) are left out.
    """
    rows = [leaf[slow_units].ravel() for leaf in jax.tree.leaves(tree)
            if leaf.ndim >= 1 and leaf.shape[0] == hidden and not jnp.iscomplexobj(leaf)]
    return jnp.concatenate(rows) if rows else jnp.zeros((0,), jnp.float32)


def slowest_units(model, cfg, params, xs, n_slow: int) -> jax.Array:
    """Indices of the ``n_slow`` units with the longest zeroth-order time scale on ``xs``.

    tau0_q = -1 / E_t log a_t^q (the log-slope of the zeroth-order transport
    Gamma0, digest section 4.1), so the slowest units have the largest mean
    log carry.
    """
    xs = xs[:, :PROBE_SEQUENCES]
    factors = step_factors(model, params, batched_initial_state(model, params, cfg, xs.shape[1]), xs)
    mean_log_carry = jnp.mean(jnp.log(factors.carry), axis=(0, 1))
    return jax.lax.top_k(mean_log_carry, n_slow)[1].astype(jnp.int32)


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
    buffer_size = train_cfg.update_buffer
    n_slow = max(1, round(train_cfg.slow_fraction * model_cfg.hidden))

    def loss_of(params, x, y, noise=None):
        run = None
        if noise is not None:
            key, alpha, scale = noise
            run = noisy_run(model, key, alpha, scale)
        return task_loss(model, model_cfg, task, params, x, y, run)

    def member_init(seed, hp):
        keys = member_keys(seed)
        model_hp = {k: hp[k] for k in MODEL_HP}
        if task.bases is not None:  # an aligned linear RNN is aligned with the task's data bases
            model_hp["align_U"], model_hp["align_V"] = (jnp.asarray(b) for b in task.bases)
        params = model.init(keys.init, model_cfg, model_hp)
        opt_state = init_member(opt, trainable(params), {k: hp[k] for k in OPTIM_HP}, keys.noise)
        probe_x, probe_y = task.sample(keys.probe, train_cfg.probe_batch)
        return MemberState(params, opt_state, keys.data, keys.noise, probe_x, probe_y,
                           jnp.array(False), jnp.array(-1, jnp.int32),
                           jnp.zeros((n_slow,), jnp.int32), jnp.full((max(buffer_size, 1),), jnp.nan, jnp.float32),
                           jnp.array(0, jnp.int32))

    def buffer_updates(state: MemberState, old_train, new_train, keep) -> MemberState:
        increments = jax.tree.map(jnp.subtract, new_train, old_train)
        values = slow_row_entries(increments, state.slow_units, model_cfg.hidden).astype(jnp.float32)
        slots = state.buffer_fill + jnp.arange(values.shape[0])
        written = state.update_buffer.at[slots].set(values, mode="drop")
        fill = jnp.minimum(state.buffer_fill + values.shape[0], buffer_size)
        return state._replace(update_buffer=jnp.where(keep, written, state.update_buffer),
                              buffer_fill=jnp.where(keep, fill, state.buffer_fill))

    def member_update(state: MemberState, hp, step):
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
        ok = jnp.isfinite(loss) & all_finite(new_train)
        newly_bad = ~ok & ~state.diverged
        diverged = state.diverged | ~ok
        if buffer_size:
            state = buffer_updates(state, train, new_train, ~diverged)
        return state._replace(
            params=_select(diverged, params, merge(new_train, params)),
            opt_state=_select(diverged, state.opt_state, opt_state),
            diverged=diverged,
            diverged_step=jnp.where(newly_bad, step, state.diverged_step),
        )

    def member_probes(state: MemberState, step):
        loss, grads = jax.value_and_grad(lambda t: loss_of(merge(t, state.params), state.probe_x, state.probe_y))(
            trainable(state.params))

        def minibatch_grad(key):
            x, y = task.sample(key, train_cfg.batch)
            g = jax.grad(lambda t: loss_of(merge(t, state.params), x, y))(trainable(state.params))
            return forcing_controls(g, state.opt_state, opt_cfg)

        key = jax.random.fold_in(jax.random.fold_in(state.data_key, step), _PROBE_STREAM)
        ctx = ProbeContext(model, model_cfg, state.params, state.opt_state, loss, optax.tree.norm(grads),
                           state.probe_x, opt_cfg, minibatch_grad, key,
                           state.update_buffer if buffer_size else None, probe_y=state.probe_y, task=task)
        values = {p.name: jnp.asarray(p.fn(ctx), jnp.float32) for p in probes}
        return {k: jnp.where(state.diverged, jnp.nan, v) for k, v in values.items()}

    def member_record(state: MemberState, step):
        """Probe values, then (with an update buffer) empty it and pick the slow units afresh."""
        values = member_probes(state, step)
        if buffer_size:
            state = state._replace(
                slow_units=slowest_units(model, model_cfg, state.params, state.probe_x, n_slow),
                update_buffer=jnp.full_like(state.update_buffer, jnp.nan),
                buffer_fill=jnp.zeros_like(state.buffer_fill))
        return values, state

    block = train_cfg.block
    mesh = member_mesh(one_device=any(p.one_device for p in probes))
    pop_update_at = population_map(jax.vmap(member_update), block, mesh)
    pop_record_at = population_map(jax.vmap(member_record), block, mesh)
    # initialisation runs as its own program on one device, and is waited for below: LAPACK custom
    # calls in or beside a program sharded over several CPU devices hung it (jax 0.10.2). The
    # initialisers make no such call any more (their QR is Gram-Schmidt); the guard stays for new ones
    init_program = jax.jit(blocked(jax.vmap(member_init), block))

    def pop_init(seeds, hp):
        return jax.block_until_ready(init_program(seeds, hp))

    def per_member(step, like):
        # the step arrives per member (all equal) so that it can be blocked like the rest
        return jnp.broadcast_to(step, like.shape)

    def pop_update(state, hp, step):
        return pop_update_at(state, hp, per_member(step, hp["lr"]))

    def record(traj, state, slot, step):
        values, state = pop_record_at(state, per_member(step, state.diverged))
        return {k: traj[k].at[:, slot].set(values[k]) for k in traj}, state

    def first_record(state, offset):
        P = state.diverged.shape[0]
        shapes = jax.eval_shape(lambda s: pop_record_at(s, per_member(offset, s.diverged))[0], state)
        traj = {k: jnp.full((P, len(steps_rec)) + v.shape[1:], jnp.nan, jnp.float32) for k, v in shapes.items()}
        traj, state = record(traj, state, 0, offset)
        return state, traj

    record_first = jax.jit(first_record)

    def init(seeds, hp):
        return record_first(pop_init(seeds, hp), jnp.int32(0))

    @jax.jit
    def continued(fresh, params, opt_state, diverged, diverged_step, offset):
        opt_state = opt_state._replace(hyperparams=fresh.opt_state.hyperparams)
        state = fresh._replace(params=params, opt_state=opt_state, diverged=diverged, diverged_step=diverged_step)
        return first_record(state, offset)

    def resume(seeds, hp, params, opt_state, diverged, diverged_step, offset):
        """A fresh state whose parameters, optimiser state and flags come from an earlier phase.

        The optimiser keeps its moments and noise key; its hyper-parameters are this
        phase's ``hp``.
        """
        return continued(pop_init(seeds, hp), params, opt_state, diverged, diverged_step, offset)

    @jax.jit
    def run_segment(state, traj, hp, steps, offset):
        """Train on ``steps`` (counted within this phase); data and noise follow ``offset + step``."""
        def body(carry, step):
            state, traj = carry
            state = pop_update(state, hp, offset + step)
            slot = slot_of_step[step]
            return jax.lax.cond(slot >= 0, lambda c: record(c[1], c[0], slot, offset + step)[::-1],
                                lambda c: c, (state, traj)), None

        (state, traj), _ = jax.lax.scan(body, (state, traj), steps)
        return state, traj

    @jax.jit
    def finish(state, seeds):
        def member_eval(state, seed):
            x, y = task.sample(member_keys(seed).eval, train_cfg.eval_batch)
            pred = predictions(model, model_cfg, state.params, x, task.target)
            loss = LOSSES[task.loss](pred, y)
            # accuracy of a logistic task: the sign of the logit against the {0, 1} label
            accuracy = jnp.mean((pred > 0) == (y > 0.5)) if task.loss == "logistic" else jnp.nan
            return jnp.where(state.diverged, jnp.nan, loss), jnp.where(state.diverged, jnp.nan, accuracy)

        return population_map(jax.vmap(member_eval), block, mesh)(state, seeds)

    return Engine(init, resume, run_segment, finish, steps_rec, block * mesh.size)


def optimizer_defaults(opt_cfg: OptimizerConfig) -> dict[str, float]:
    """The per-member optimiser hyper-parameters an ``OptimizerConfig`` sets when ``hp`` leaves them out."""
    return {"lr": opt_cfg.learning_rate, "clip": opt_cfg.clip_norm, "winsor": opt_cfg.winsor_percentile,
            "noise_alpha": opt_cfg.noise_alpha, "noise_scale": opt_cfg.noise_scale}


def member_hp_arrays(hp: dict[str, Any], population: int, opt_cfg: OptimizerConfig) -> dict[str, jax.Array]:
    """Complete per-member hyper-parameters as float32 arrays of shape (P,)."""
    defaults = {**MODEL_HP_DEFAULTS, **optimizer_defaults(opt_cfg)}
    unknown = set(hp) - set(defaults)
    if unknown:
        raise ValueError(f"unknown per-member hyper-parameters {sorted(unknown)}; allowed {sorted(defaults)}")
    out = {}
    for name, default in defaults.items():
        value = np.broadcast_to(np.asarray(hp.get(name, default), np.float32), (population,))
        out[name] = jnp.asarray(value)
    return out


def _pad(a, padded: int):
    """Extend the member axis of ``a`` to ``padded`` by repeating member 0 (padding is dropped later)."""
    a = jnp.asarray(a)
    return jnp.concatenate([a, jnp.repeat(a[:1], padded - a.shape[0], axis=0)])


def _check_warm_start(previous: PopulationResult, seeds: np.ndarray, fresh_shapes: MemberState) -> None:
    """One-line errors for a previous phase that this phase cannot continue."""
    if previous.opt_state is None or previous.seeds is None:
        raise ValueError("warm_start: the result carries no optimiser state (it is not from train_population)")
    if not np.array_equal(np.asarray(previous.seeds), seeds):
        raise ValueError(f"warm_start: seeds {seeds.tolist()} differ from the first phase's "
                         f"{np.asarray(previous.seeds).tolist()}")

    def layout(tree):
        return jax.tree.structure(tree), [np.shape(a)[1:] for a in jax.tree.leaves(tree)]

    if layout(previous.params) != layout(fresh_shapes.params):
        raise ValueError("warm_start: the model differs from the first phase's (parameter shapes do not match)")
    if jax.tree.structure(previous.opt_state) != jax.tree.structure(fresh_shapes.opt_state):
        raise ValueError("warm_start: the optimiser chain differs from the first phase's (name, noise_mode and "
                         "use_winsor must stay; switch levels through the per-member hyper-parameters)")


def train_population(
    model_cfg: ModelConfig,
    task_cfg: TaskConfig,
    opt_cfg: OptimizerConfig,
    train_cfg: TrainConfig,
    seeds,
    hp: dict[str, Any] | None = None,
    on_progress: Callable[[int], None] | None = None,
    warm_start: PopulationResult | None = None,
) -> PopulationResult:
    """Train P = len(seeds) members; ``hp`` maps hyper-parameter names to scalars or (P,) arrays.

    Names: the model's ``init_scale``, ``io_scale`` and ``gate`` (defaults in
    ``MODEL_HP_DEFAULTS``) and the optimiser's ``lr``, ``clip``, ``winsor``,
    ``noise_alpha`` and ``noise_scale`` (defaults from ``opt_cfg``).

    ``on_progress(steps_done)`` is called between compiled segments.

    ``warm_start``, a result of an earlier call with the same seeds and model,
    continues those members for ``train_cfg.steps`` more steps instead of
    initialising them: parameters, optimiser moments, noise keys and
    divergence flags carry over, while the optimiser hyper-parameters (lr,
    clip, winsor, noise_alpha, noise_scale), the batch size, the probes and the
    recording schedule are this call's. Model hyper-parameters (init_scale,
    io_scale, gate) act only at initialisation and are ignored. Recorded steps
    continue the first phase's count.
    """
    seeds = np.asarray(seeds, np.uint32)
    P = seeds.shape[0]
    hp = member_hp_arrays(hp or {}, P, opt_cfg)
    engine = build_engine(model_cfg, task_cfg, opt_cfg, train_cfg)
    padded = -(-P // engine.pad_to) * engine.pad_to
    # padding members repeat member 0; their results are dropped
    seeds_padded = _pad(seeds, padded)
    hp = {k: _pad(v, padded) for k, v in hp.items()}
    offset = 0
    if warm_start is None:
        state, traj = engine.init(seeds_padded, hp)
    else:
        _check_warm_start(warm_start, seeds, jax.eval_shape(engine.init, seeds_padded, hp)[0])
        offset = int(warm_start.end_step)
        carried = [jax.tree.map(lambda a: _pad(a, padded), t)
                   for t in (warm_start.params, warm_start.opt_state, warm_start.diverged, warm_start.diverged_step)]
        state, traj = engine.resume(seeds_padded, hp, *carried, jnp.int32(offset))
    seg = max(1, min(train_cfg.segment, train_cfg.steps))
    # segments of equal length share one compilation; a shorter last one gets its own
    for start in range(0, train_cfg.steps, seg):
        end = min(start + seg, train_cfg.steps)
        steps = jnp.arange(start + 1, end + 1, dtype=jnp.int32)
        state, traj = engine.run_segment(state, traj, hp, steps, jnp.int32(offset))
        if on_progress is not None:
            jax.block_until_ready(traj)
            on_progress(end)
    final_loss, final_accuracy = engine.finish(state, seeds_padded)
    state, traj, final_loss, final_accuracy = jax.device_get((state, traj, final_loss, final_accuracy))

    def keep(a):
        return np.asarray(a)[:P]

    return PopulationResult(
        params=jax.tree.map(keep, state.params),
        final_loss=keep(final_loss),
        final_accuracy=keep(final_accuracy),
        diverged=keep(state.diverged),
        diverged_step=keep(state.diverged_step),
        record_steps=engine.record_steps + offset,
        trajectories={k: keep(v) for k, v in traj.items()},
        opt_state=jax.tree.map(keep, state.opt_state),
        seeds=seeds,
        end_step=offset + train_cfg.steps,
    )


def select_members(result: PopulationResult, index) -> PopulationResult:
    """The members ``index`` of ``result`` (repeats allowed), as a result a warm start can continue.

    Repeating a member lets one trained network continue under several
    forcing levels: each copy keeps its seed, so the copies see the same
    data and differ only in the levels set for the next phase.
    """
    index = np.asarray(index, np.int64)

    def take(a):
        return np.asarray(a)[index]

    return result._replace(
        params=jax.tree.map(take, result.params),
        final_loss=take(result.final_loss),
        final_accuracy=None if result.final_accuracy is None else take(result.final_accuracy),
        diverged=take(result.diverged),
        diverged_step=take(result.diverged_step),
        trajectories={k: take(v) for k, v in result.trajectories.items()},
        opt_state=None if result.opt_state is None else jax.tree.map(take, result.opt_state),
        seeds=None if result.seeds is None else take(result.seeds),
    )
