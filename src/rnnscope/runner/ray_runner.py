"""The Ray runner: every chunk is a Ray task; finished chunks stream into the store.

Workers only train (``run_chunk``) and hand back their two Arrow tables; the
driver is the single writer of the store, so the store's guarantees (a chunk
is visible exactly when its members file is in place, nothing twice) are the
local runner's. A chunk's numbers depend only on the chunk (its members, their
seeds and the static configuration), not on which process trains it, so the
Ray runner stores the same members, bit for bit, as the local runner on the
same platform.

A worker that dies is retried by Ray (``max_retries``); a driver that dies
leaves the finished chunks in the store, and rerunning the sweep plans only
the members still missing.
"""

from __future__ import annotations

import os

from ..spec import Spec
from ..store import Store
from .local import run_chunk
from .plan import claim_store

#: Ray retries a chunk whose worker process died this many times (Ray's own default is 3).
MAX_RETRIES = 3
#: Environment variables the workers inherit from the driver (the JAX platform choice).
FORWARDED_ENV = ("JAX_PLATFORMS", "XLA_FLAGS", "JAX_NUM_CPU_DEVICES", "RNNSCOPE_CPU_KERNELS", "RNNSCOPE_CACHE", "CXX")


def task_cpus() -> int:
    """CPUs a chunk's task holds: all of those of the smallest live node that has any (a head node
    started with no CPUs runs no tasks).

    One worker per node then trains a chunk on every core of it, with one JAX
    device per core as the local runner does (so the numbers are the local
    runner's on a node like the driver's machine), and compiles it once per
    node instead of once per core.
    """
    import ray

    cpus = [node["Resources"].get("CPU", 0) for node in ray.nodes() if node.get("Alive")]
    cpus = [c for c in cpus if c >= 1]
    return int(min(cpus)) if cpus else 1


def _connect(address: str | None, num_cpus: int | None):
    """Join the cluster at ``address``, or start a local Ray instance; returns whether we started it."""
    import ray

    if ray.is_initialized():
        return False
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    kwargs = dict(runtime_env={"env_vars": env}, include_dashboard=False, log_to_driver=False)
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(address="local", num_cpus=num_cpus, **kwargs)
    return True


def run_ray(spec: Spec, store: Store, address: str | None = None, progress=None,
            num_cpus: int | None = None) -> dict:
    """Run every member of ``spec`` not yet in ``store`` as Ray tasks, one per chunk.

    ``address``: a running cluster (``ray start --head`` prints it); None starts
    a local instance with ``num_cpus`` CPUs (default: all) and shuts it down at
    the end. ``progress`` gets ``start`` and ``chunk_done`` calls (no per-step
    progress: the steps happen in other processes).
    """
    with claim_store(spec, store) as claim:
        todo = sum(len(c.members) for c in claim.chunks)
        if progress:
            progress.start(claim.total, todo, spec.steps)
        if claim.chunks:
            _train_on_ray(claim.chunks, store, address, num_cpus, progress, spec.steps)
    return {"total": claim.total, "skipped": claim.total - todo, "trained": todo, "chunks": len(claim.chunks),
            "quarantined": claim.quarantined}


def _train_on_ray(chunks, store: Store, address, num_cpus, progress, steps: int) -> None:
    """One Ray task per chunk; this process (the store's one writer) stores each result as it arrives."""
    import ray

    started = _connect(address, num_cpus)
    try:
        train = ray.remote(max_retries=MAX_RETRIES, num_cpus=task_cpus())(run_chunk)
        pending = {train.remote(chunk): chunk for chunk in chunks}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            chunk = pending.pop(ready[0])
            members, trajectories = ray.get(ready[0])
            store.write_chunk(chunk.chunk_id, members, trajectories)
            store.register()
            if progress:
                progress.advance(len(chunk.members) * steps)
                progress.chunk_done(len(chunk.members))
    finally:
        if started:
            ray.shutdown()
