"""Where the population engine spends its time: a JAX profiler trace of a few training steps,
aggregated by XLA operation (ms per training step, count per training step).

    python benchmarks/profile_engine.py --members 256 --hidden 32 --block 16
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import jax  # noqa: E402

from rnnscope.models.base import ModelConfig  # noqa: E402
from rnnscope.optim import OptimizerConfig  # noqa: E402
from rnnscope.train import TaskConfig, TrainConfig, train_population  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--block", type=int, default=TrainConfig().block)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--precision", default="highest", help="jax_default_matmul_precision")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    jax.config.update("jax_default_matmul_precision", args.precision)
    P, S = args.members, args.steps
    task = TaskConfig("integration", (("kind", "leaky"), ("seq_len", 100), ("c", 0.2)))
    model = ModelConfig(arch="elman", hidden=args.hidden, input_dim=1, output_dim=1)
    train = TrainConfig(steps=S, batch=32, record_every=None, record_log_points=None, probes=("loss",),
                        block=args.block, probe_batch=8, eval_batch=8, segment=S)
    opt = OptimizerConfig(name="sgd")
    hp = {"lr": np.geomspace(1e-3, 1e-1, P).astype(np.float32)}
    train_population(model, task, opt, train, np.arange(P), hp)
    t0 = time.perf_counter()
    train_population(model, task, opt, train, np.arange(P), hp)
    wall = time.perf_counter() - t0
    print(f"{jax.devices()[0].device_kind}: P={P} H={args.hidden} block={args.block} precision={args.precision}: "
          f"{P * S / wall:,.0f} member-steps/s")
    out = tempfile.mkdtemp()
    with jax.profiler.trace(out, create_perfetto_trace=True):
        train_population(model, task, opt, train, np.arange(P), hp)
    events = json.load(gzip.open(glob.glob(f"{out}/**/*.trace.json.gz", recursive=True)[0]))["traceEvents"]
    total, count = collections.Counter(), collections.Counter()
    for e in events:
        if e.get("ph") == "X" and not e["name"].startswith("$"):
            total[e["name"]] += e["dur"]
            count[e["name"]] += 1
    for name, us in total.most_common(args.top):
        print(f"{us / 1e3 / S:9.2f} ms/step {count[name] / S:8.0f}x  {name[:90]}")
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
