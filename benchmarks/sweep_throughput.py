"""Sweep throughput: Elman networks trained per second by a whole factorial sweep, end to end.

The sweep (defaults) is Johnston et al.'s crossed design (digest section 3.3)
in miniature: 2,000 Elman (tanh) networks, hidden 32, on the noisy latch
(seq_len 26, i.e. a lag of 25, one of the digest's lag levels), trained with
plain SGD, batch 64, for 200 steps, logistic loss on the last step's readout.
Factors: learning rate {1e-3, 3e-3, 1e-2, 3e-2, 1e-1} (the digest's levels
times ten, since we train a few hundred steps, not 20,000: our choice) x
recurrent init scale {0.8, 0.9, 1.0, 1.1} (Gaussian init) x global-norm
clipping {off, 1.0} = 40 cells, x 50 seeds. As a sweep does, every member
also records ``loss`` and ``grad_norm`` on its held-out probe batch every
``steps / 4`` steps and a held-out loss at the end, and each chunk is written
to the store. ``--members`` (rounded up to a multiple of 40) and ``--steps``
shrink or grow it.

What is timed (wall clock, one process):

1. rnnscope local: ``run_local(spec, Store(tmp))``, the real sweep path
   (planning, chunking, compiling, training, recording, writing Parquet and
   registering DuckDB views), cold: XLA compilation is included, since a
   sweep pays it. Then the same sweep again into a fresh store, warm (the
   compiled engines are cached in the process), unless ``--skip-warm``.
2. torch loop: the same work done the usual way, one ``torch.nn.RNN`` +
   ``torch.nn.Linear`` readout + ``torch.optim.SGD`` (+ ``clip_grad_norm_``
   where the member clips) per member, trained alone for all its steps
   (``torch_baselines.torch_loop_train_sweep``). Timed on ``--loop-members``
   members spread over the grid and extrapolated per network; it is timed
   before and after the sweeps and the faster run is kept. It does only
   the training (no probes, no held-out evaluation, no store), so the ratio
   is conservative for rnnscope.
3. rnnscope via Ray: ``run_ray`` on the same spec with a local Ray instance
   of ``num_cpus`` = this machine's cores. Ray is started before the clock
   runs (its start-up is printed separately and not counted); the timed run
   includes the workers importing rnnscope and compiling, as a sweep pays.
   ``ray_overhead = time_ray / time_local - 1`` against the cold local run of
   this same process. With ``--skip-warm`` off a second Ray run (workers kept
   by Ray) is compared with the warm local run too.

Before timing, rnnscope's engine (the chunk's own static configuration,
3 steps) and the torch loop are run from the same initial parameters on the
same batches (each member's own, as rnnscope draws them), with clip levels
chosen so that clipping acts, and must agree to float32 tolerance: a
benchmark of different work is worthless. After timing, the Ray store must
hold the same final losses as the local one.

CPU only: the torch loop runs on the CPU, and JAX on its default backend.

Last line: ``ratio_vs_torch_loop=<x> ray_overhead=<y>`` (x: rnnscope local
networks/s, cold, over torch-loop networks/s; y: the fractional Ray overhead,
cold against cold).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import jax  # noqa: E402
import torch  # noqa: E402

import torch_baselines as tb  # noqa: E402
from rnnscope.models import get_model  # noqa: E402
from rnnscope.runner import plan, run_local  # noqa: E402
from rnnscope.spec import parse_spec  # noqa: E402
from rnnscope.store import Store  # noqa: E402
from rnnscope.train import train_population  # noqa: E402
from rnnscope.train.population import MODEL_HP, member_keys  # noqa: E402

LR_LEVELS = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
INIT_SCALES = [0.8, 0.9, 1.0, 1.1]
CLIP_LEVELS = [0.0, 1.0]  # 0 = off in a spec
CELLS = len(LR_LEVELS) * len(INIT_SCALES) * len(CLIP_LEVELS)


def sweep_spec(members: int, steps: int, seq_len: int, hidden: int, batch: int, chunk_size: int):
    """The factorial spec: 40 cells x ceil(members / 40) seeds."""
    return parse_spec({
        "name": "sweep_throughput",
        "seeds": math.ceil(members / CELLS),
        "steps": steps,
        "batch": batch,
        "chunk_size": chunk_size,
        "task": {"name": "latch", "seq_len": seq_len},
        "model": {"arch": "elman", "hidden": hidden, "init": "gaussian"},
        "optimizer": {"name": "sgd"},
        "record": {"every": max(1, steps // 4), "log_points": None, "probes": ["loss", "grad_norm"]},
        "grid": {"optimizer.lr": LR_LEVELS, "model.init_scale": INIT_SCALES, "optimizer.clip": CLIP_LEVELS},
    })


# ---------------------------------------------------------------------------
# what rnnscope gives each member: its initial parameters and its batches


def member_start(static, seed: int, hp: dict[str, float]):
    """Member ``seed``'s initial parameters (shared layout, no member axis) and its data key.

    The engine derives a member's keys from its seed (``member_keys``) and
    draws the batch of step s from ``fold_in(data key, s)``.
    """
    model_cfg = static[0]
    keys = member_keys(seed)
    params = get_model(model_cfg.arch).init(keys.init, model_cfg, {k: hp[k] for k in MODEL_HP})
    return {k: np.asarray(params[k]) for k in tb.PARAM_NAMES}, keys.data


def batches(task, key, steps: int, batch: int, first: int = 1):
    """The batches of steps first .. first + steps - 1 drawn from ``key``: xs (S, T, B, D), ys (S, B, 1)."""
    draws = [task.sample(jax.random.fold_in(key, s), batch) for s in range(first, first + steps)]
    return np.stack([np.asarray(x) for x, _ in draws]), np.stack([np.asarray(y) for _, y in draws])


def stack(per_member: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.stack([p[k] for p in per_member]) for k in tb.PARAM_NAMES}


# ---------------------------------------------------------------------------
# the same work


def check_same_work(spec, steps: int = 3) -> None:
    """rnnscope's engine and the torch loop: same start, same batches, ``steps`` SGD steps, same parameters."""
    chunk = plan(spec)[0][0]
    model_cfg, task_cfg, opt_cfg, train_cfg = chunk.static
    task = task_cfg.build()
    clips = [math.inf, 1.0, 0.1, 0.01]  # 0.01 clips every step; 1.0 may or may not
    hp = {"lr": [max(LR_LEVELS)] * len(clips), "clip": clips, "init_scale": [1.0] * len(clips)}
    seeds = np.arange(len(clips))
    short = dataclasses.replace(train_cfg, steps=steps, segment=steps)
    ours = train_population(model_cfg, task_cfg, opt_cfg, short, seeds, {k: np.float32(v) for k, v in hp.items()})
    ours = {k: np.asarray(ours.params[k]) for k in tb.PARAM_NAMES}
    member_hp = {**chunk.members[0].hp(), "init_scale": 1.0}
    for i, seed in enumerate(seeds):
        start, key = member_start(chunk.static, int(seed), member_hp)
        xs, ys = batches(task, key, steps, train_cfg.batch)
        theirs, _ = tb.torch_loop_train_sweep(stack([start]), np.float32([hp["lr"][i]]), [clips[i]], xs, ys, steps,
                                              target=task.target, loss=task.loss)
        for k in tb.PARAM_NAMES:
            assert not np.allclose(theirs[k][0], start[k]), f"member {i}: {k} did not move"
            np.testing.assert_allclose(ours[k][i].reshape(theirs[k][0].shape), theirs[k][0], rtol=1e-4, atol=1e-5,
                                       err_msg=f"member {i} (clip {clips[i]}): {k}")
    print(f"same work: rnnscope's engine and the torch loop agree after {steps} SGD steps on each member's own "
          f"batches (rtol 1e-4; clip levels {clips})")


# ---------------------------------------------------------------------------
# clocks


class CompileClock:
    """Counts XLA compilations and sums tracing + lowering + compiling seconds (jax.monitoring events)."""

    EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
              "/jax/core/compile/backend_compile_duration")

    def __init__(self):
        self.count, self.seconds = 0, 0.0
        jax.monitoring.register_event_duration_secs_listener(self._on_event)

    def _on_event(self, event: str, duration: float, **_):
        if event in self.EVENTS:
            self.seconds += duration
            self.count += event == self.EVENTS[-1]

    def snapshot(self) -> tuple[int, float]:
        return self.count, self.seconds


class TimedStore(Store):
    """A store that adds up the seconds spent writing chunks and registering the catalogue."""

    def __init__(self, root):
        super().__init__(root)
        self.write_s = 0.0

    def write_chunk(self, *args, **kwargs):
        t0 = time.perf_counter()
        super().write_chunk(*args, **kwargs)
        self.write_s += time.perf_counter() - t0

    def register(self):
        t0 = time.perf_counter()
        super().register()
        self.write_s += time.perf_counter() - t0


def timed_sweep(runner, spec, root: Path, clock: CompileClock, **kwargs) -> dict:
    """Run the sweep into a fresh store under ``root``; wall seconds, store seconds, in-process compiles."""
    store = TimedStore(root)
    before = clock.snapshot()
    t0 = time.perf_counter()
    summary = runner(spec, store, **kwargs)
    wall = time.perf_counter() - t0
    after = clock.snapshot()
    assert summary["trained"] == summary["total"], summary
    return {"wall": wall, "store_s": store.write_s, "compiles": after[0] - before[0],
            "compile_s": after[1] - before[1], "summary": summary, "store": store}


def time_torch_loop(spec, n: int) -> float:
    """Seconds per network of the torch loop, on ``n`` members spread over the grid (their own init and hp)."""
    chunks, _ = plan(spec)
    members = [m for c in chunks for m in c.members]
    chosen = [members[i * len(members) // n] for i in range(n)]
    static = chunks[0].static
    task = static[1].build()
    starts = [member_start(static, m.seed, m.hp())[0] for m in chosen]
    xs, ys = batches(task, jax.random.PRNGKey(12345), spec.steps, spec.batch)
    params = stack(starts)
    lrs = np.float32([m.hp()["lr"] for m in chosen])
    clips = [m.hp()["clip"] for m in chosen]

    def train(k, steps):
        return tb.torch_loop_train_sweep(tb.subset(params, lrs, slice(0, k))[0], lrs[:k], clips[:k], xs, ys, steps,
                                         target=task.target, loss=task.loss)

    train(1, 2)  # warm-up
    t0 = time.perf_counter()
    train(n, spec.steps)
    return (time.perf_counter() - t0) / n


# ---------------------------------------------------------------------------
# Ray


def start_ray(num_cpus: int) -> float:
    """Start a local Ray instance as ``run_ray`` would (same runtime environment); returns the seconds taken."""
    from rnnscope.runner.ray_runner import _connect

    t0 = time.perf_counter()
    _connect(None, num_cpus)
    return time.perf_counter() - t0


def final_losses(store: Store) -> dict[str, float]:
    _, rows = store.query("SELECT member_id, final_loss FROM members")
    return dict(rows)


def diverged(store: Store) -> int:
    return int(store.query("SELECT count(*) FROM members WHERE diverged")[1][0][0])


# ---------------------------------------------------------------------------
# the run and its report


def run_sweeps(spec, num_cpus: int, ray_too: bool, warm_too: bool) -> dict[str, dict]:
    """Time the sweep: local cold, then (Ray started untimed) Ray cold, then local and Ray warm."""
    clock = CompileClock()
    tmp = Path(tempfile.mkdtemp(prefix="sweep_throughput_"))
    runs = {"local": timed_sweep(run_local, spec, tmp / "local", clock)}
    if not ray_too:
        if warm_too:
            runs["local_warm"] = timed_sweep(run_local, spec, tmp / "local_warm", clock)
        return runs
    import ray
    from rnnscope.runner.ray_runner import run_ray

    runs["ray_start_s"] = start_ray(num_cpus)
    try:
        runs["ray"] = timed_sweep(run_ray, spec, tmp / "ray", clock)
        if warm_too:
            runs["local_warm"] = timed_sweep(run_local, spec, tmp / "local_warm", clock)
            runs["ray_warm"] = timed_sweep(run_ray, spec, tmp / "ray_warm", clock)
    finally:
        ray.shutdown()
    return runs


def row(name: str, seconds: float, networks: int, note: str = "") -> str:
    return f"{name:44s} {seconds:9.1f} {networks / seconds:12.2f}   {note}"


def print_table(runs: dict, P: int, loop_s: float, loop_members: int, num_cpus: int) -> None:
    local, warm, ray_cold, ray_warm = (runs.get(k) for k in ("local", "local_warm", "ray", "ray_warm"))
    print(f"\n{'':44s} {'wall s':>9s} {'networks/s':>12s}")
    print(row("rnnscope local, cold (compile included)", local["wall"], P,
              f"{local['compiles']} XLA compiles ({local['compile_s']:.1f} s), store writes {local['store_s']:.1f} s, "
              f"{diverged(local['store'])} diverged"))
    if warm:
        print(row("rnnscope local, warm (engines cached)", warm["wall"], P,
                  f"{warm['compiles']} compiles, store writes {warm['store_s']:.1f} s"))
    print(row(f"torch loop ({loop_members} members, extrapolated)", loop_s * P, P,
              f"{loop_s:.2f} s per network, timed on {loop_members} and multiplied by {P}"))
    if ray_cold:
        same = final_losses(ray_cold["store"]) == final_losses(local["store"])
        print(f"{'ray start-up (ray.init, not counted)':44s} {runs['ray_start_s']:9.1f}")
        print(row(f"rnnscope via Ray, cold ({num_cpus} CPUs)", ray_cold["wall"], P,
                  f"overhead vs local cold {ray_cold['wall'] / local['wall'] - 1:+.3f}, "
                  f"same final losses as local: {same}"))
    if ray_warm:
        print(row("rnnscope via Ray, second run (warm workers)", ray_warm["wall"], P,
                  f"overhead vs local warm {ray_warm['wall'] / warm['wall'] - 1:+.3f}"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=2000, help="networks in the sweep (rounded up to a multiple "
                    f"of the {CELLS} grid cells)")
    ap.add_argument("--steps", type=int, default=200, help="SGD steps per network")
    ap.add_argument("--seq-len", type=int, default=26, help="latch sequence length T (lag T - 1)")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--chunk-size", type=int, default=256, help="members per chunk (the spec default)")
    ap.add_argument("--loop-members", type=int, default=16, help="members timed in the torch loop")
    ap.add_argument("--num-cpus", type=int, default=os.cpu_count(), help="Ray CPUs (default: this machine's)")
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--skip-warm", action="store_true", help="no second (warm) local and Ray runs")
    args = ap.parse_args(argv)

    spec = sweep_spec(args.members, args.steps, args.seq_len, args.hidden, args.batch, args.chunk_size)
    chunks, P = plan(spec)
    print(f"jax {jax.__version__} on {len(jax.devices())} x {jax.devices()[0].device_kind}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), {os.cpu_count()} cores")
    print(f"sweep: {P} Elman networks ({CELLS} cells x {len(spec.seeds)} seeds), hidden {args.hidden}, latch "
          f"T={args.seq_len}, batch {args.batch}, {args.steps} SGD steps, {len(chunks)} chunks of <= "
          f"{args.chunk_size}, block {spec.block}; records loss+grad_norm every {spec.record.every} steps")
    check_same_work(spec)
    # the torch loop is cheap: timed before and after the sweeps, its faster run is kept (the
    # machine's load drifts; keeping the baseline's best can only lower rnnscope's ratio)
    loop_times = [time_torch_loop(spec, args.loop_members)]
    runs = run_sweeps(spec, args.num_cpus, not args.skip_ray, not args.skip_warm)
    loop_times.append(time_torch_loop(spec, args.loop_members))
    loop_s = min(loop_times)
    print(f"torch loop: {', '.join(f'{t:.3f}' for t in loop_times)} s per network before / after the sweeps")
    print_table(runs, P, loop_s, args.loop_members, args.num_cpus)
    ratio = (P / runs["local"]["wall"]) * loop_s
    overhead = runs["ray"]["wall"] / runs["local"]["wall"] - 1 if "ray" in runs else float("nan")
    print(f"ratio_vs_torch_loop={ratio:.2f} ray_overhead={overhead:.3f}")

if __name__ == "__main__":
    main()
