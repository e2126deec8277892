"""Population training throughput: rnnscope against two PyTorch baselines doing the same work.

The work (defaults): 256 Elman networks (tanh), hidden 32, input 1, a readout
at every step, sequences of length 100, batches of 32, 200 plain-SGD steps,
learning rates log-spaced over [1e-3, 3e-2] across members, MSE loss on a
leaky integral of white noise. One member-step is one forward pass, one
back-propagation through time and one update of one member.

- rnnscope: ``train_population`` (the engine every experiment uses: data are
  sampled on the device per member and step, one held-out probe at the start
  and end, one final held-out loss), timed after a first call that compiles.
- torch loop: the way populations are trained today, one ``torch.nn.RNN``
  with its own ``torch.optim.SGD`` at a time (timed on ``--loop-members``
  members and reported per member-step).
- torch ensemble: all members batched over a member axis; the fastest of the
  implementations in ``torch_baselines`` is used for the ratio, and every one
  measured is printed.

Each implementation is timed ``--repeats`` times, interleaved, and its best
run is kept, so that a drift in the machine's load hits all of them alike.

Before timing, the three are run from the same parameters on the same data
for a few steps and must agree to float32 tolerance: a benchmark of
different work is worthless.

The peak is numpy's float32 ``A @ A`` on this machine; ``peak_fraction`` is
rnnscope's useful float32 work per second over it, counting the forward
products 2 T B (H^2 + H D + H O) per member-step and twice that for the
backward pass (element-wise work not counted).

Last line: ``ratio_vs_torch_loop=<x> ratio_vs_torch_ensemble=<z> peak_fraction=<y>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import torch  # noqa: E402

import torch_baselines as tb  # noqa: E402

# full float32 products on every backend (no TF32 on GPUs), as PyTorch does by default
jax.config.update("jax_default_matmul_precision", "highest")
from rnnscope.models import get_model  # noqa: E402
from rnnscope.models.base import ModelConfig  # noqa: E402
from rnnscope.optim import OptimizerConfig, init_member, make_optimizer  # noqa: E402
from rnnscope.train import TaskConfig, TrainConfig, train_population  # noqa: E402
from rnnscope.train.losses import mse, predictions  # noqa: E402


def rnnscope_explicit_train(params, lrs, xs, ys, steps):
    """rnnscope's model, loss and optimiser, vmapped over members, on given data (for the equivalence check)."""
    P, H, D = params["W_x"].shape
    cfg = ModelConfig(arch="elman", hidden=H, input_dim=D, output_dim=1)
    model = get_model("elman")
    opt = make_optimizer(OptimizerConfig(name="sgd"))
    p = {k: jnp.asarray(v) for k, v in params.items()}
    p["W_y"] = p["W_y"].reshape(P, 1, H)
    p["b_y"] = p["b_y"].reshape(P, 1)
    states = jax.vmap(lambda q, lr: init_member(opt, q, {"lr": lr}, jax.random.PRNGKey(0)))(p, jnp.asarray(lrs))

    def member_step(q, s, x, y):
        loss, g = jax.value_and_grad(lambda q: mse(predictions(model, cfg, q, x, "every"), y))(q)
        upd, s = opt.update(g, s, q)
        return jax.tree.map(lambda a, b: a + b, q, upd), s, loss

    step = jax.jit(jax.vmap(member_step, in_axes=(0, 0, None, None)))
    for i in range(steps):
        p, states, loss = step(p, states, jnp.asarray(xs[i]), jnp.asarray(ys[i]))
    return {k: np.asarray(v) for k, v in p.items()}, np.asarray(loss)


def check_same_work(impls):
    """Same parameters and data, a few SGD steps: every implementation must agree with the torch loop."""
    # hidden and batch of 32: the shapes for which a GPU runs the fused kernels
    params, lrs, xs, ys = tb.random_problem(P=4, H=32, T=12, B=32, S=3, seed=1)
    ref, ref_loss = tb.torch_loop_train(params, lrs, xs, ys, 3)
    results = {"rnnscope": rnnscope_explicit_train(params, lrs, xs, ys, 3)}
    for impl in impls:
        results[f"torch ensemble ({impl})"] = tb.torch_ensemble_train(params, lrs, xs, ys, 3, impl=impl)
    for name, (out, loss) in results.items():
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-4, atol=1e-6, err_msg=name)
        for k in tb.PARAM_NAMES:
            np.testing.assert_allclose(out[k].reshape(ref[k].shape), ref[k], rtol=1e-4, atol=1e-5,
                                       err_msg=f"{name}: {k}")
    print(f"same work: rnnscope, torch loop and {len(impls)} torch ensembles agree after 3 SGD steps (rtol 1e-4)")


#: learning rates are log-spaced over this range across members
LR_RANGE = (1e-3, 3e-2)


def flops_per_member_step(H, D, T, B, O=1):
    forward = 2 * T * B * (H * H + H * D + H * O)
    return 3 * forward


def rnnscope_runner(P, H, T, B, steps, block):
    """A function that trains the benchmark population once and returns member-steps/s.

    Also returns the seconds of the first call (which compiles) and the number
    of members that diverged.
    """
    task = TaskConfig("integration", (("kind", "leaky"), ("seq_len", T), ("c", 0.2)))
    model = ModelConfig(arch="elman", hidden=H, input_dim=1, output_dim=1, init="gaussian")
    train_cfg = TrainConfig(steps=steps, batch=B, record_every=None, record_log_points=None, probes=("loss",),
                        probe_batch=B, eval_batch=B, block=block, segment=steps)
    opt = OptimizerConfig(name="sgd")
    hp = {"lr": np.geomspace(*LR_RANGE, P).astype(np.float32), "init_scale": 0.9}

    def train():
        return train_population(model, task, opt, train_cfg, np.arange(P), hp)

    def run():
        t0 = time.perf_counter()
        train()
        return P * steps / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    diverged = int(train().diverged.sum())  # the same every run: a member depends only on its config and seed
    return run, time.perf_counter() - t0, diverged


def torch_runner(fn, P, H, T, B, steps, **kw):
    params, _, xs, ys = tb.random_problem(P=P, H=H, T=T, B=B, S=steps, seed=2)
    lrs = np.geomspace(*LR_RANGE, P).astype(np.float32)
    fn(params, lrs, xs[:2], ys[:2], 2, **kw)  # warm-up

    def run():
        t0 = time.perf_counter()
        fn(params, lrs, xs, ys, steps, **kw)
        return P * steps / (time.perf_counter() - t0)

    return run


def torch_device_peak_gflops(n=8192, repeats=3):
    """Float32 GFLOP/s of an n x n product on the torch default device (TF32 off: full float32)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    a = torch.randn(n, n)
    a @ a
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ a
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--members", type=int, default=256)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--loop-members", type=int, default=8, help="members timed in the torch loop")
    ap.add_argument("--block", type=int, default=TrainConfig().block, help="rnnscope member block per device")
    ap.add_argument("--ensembles", default="manual,autograd", help="torch ensemble implementations to time")
    ap.add_argument("--device", default="cpu", help="torch device for the baselines (cpu or cuda); "
                    "rnnscope runs on JAX's default backend")
    ap.add_argument("--repeats", type=int, default=2, help="interleaved timing repeats (best of each is kept)")
    ap.add_argument("--quick", action="store_true", help="64 members, 20 steps, 2 loop members")
    args = ap.parse_args(argv)
    if args.quick:
        args.members, args.steps, args.loop_members, args.repeats = 64, 20, 2, 1
    P, H, T, B, S = args.members, args.hidden, args.seq, args.batch, args.steps
    block = args.block
    impls = [s for s in args.ensembles.split(",") if s]
    torch.set_default_device(args.device)
    print(f"jax {jax.__version__} on {len(jax.devices())} x {jax.devices()[0].device_kind}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), {os.cpu_count()} cores")
    check_same_work(impls)

    peak = tb.numpy_peak_gflops() if args.device == "cpu" else torch_device_peak_gflops()
    ours, first_s, diverged = rnnscope_runner(P, H, T, B, S, block)
    runners = {"rnnscope": ours}
    runners.update({impl: torch_runner(tb.torch_ensemble_train, P, H, T, B, S, impl=impl) for impl in impls})
    runners["loop"] = torch_runner(tb.torch_loop_train, args.loop_members, H, T, B, S)
    # interleaved repeats, best of each: the machine's load drifts, and a
    # ratio should compare implementations under the same conditions
    best = {name: 0.0 for name in runners}
    for _ in range(args.repeats):
        for name, run in runners.items():
            best[name] = max(best[name], run())
    rate, loop = best.pop("rnnscope"), best.pop("loop")
    ens = best
    compile_s = first_s - P * S / rate
    useful = rate * flops_per_member_step(H, 1, T, B) / 1e9
    best_impl = max(ens, key=ens.get)

    print(f"work: {P} Elman members, hidden {H}, seq {T}, batch {B}, {S} SGD steps; best of {args.repeats}")
    print(f"float32 peak ({args.device:4s})           {peak:10.1f} GFLOP/s")
    print(f"rnnscope (block {block:5d})       {rate:10.0f} member-steps/s  ({useful:.1f} GFLOP/s useful, "
          f"compile {compile_s:.1f} s, {diverged} members diverged)")
    for impl, r in ens.items():
        print(f"torch ensemble ({impl:8s})     {r:10.0f} member-steps/s  (rnnscope / this = {rate / r:.2f})")
    print(f"torch loop ({args.loop_members} members)       {loop:10.0f} member-steps/s")
    print(f"ratio_vs_torch_loop={rate / loop:.2f} ratio_vs_torch_ensemble={rate / ens[best_impl]:.2f} "
          f"peak_fraction={useful / peak:.3f}")


if __name__ == "__main__":
    main()
