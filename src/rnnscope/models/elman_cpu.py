"""Elman forward and reverse passes as compiled CPU kernels (XLA FFI custom calls).

XLA runs ``elman.fused_predict``'s time loop as a sequence of small
library calls per step, with glue between them. ``elman_cpu.cc`` runs one
member through all T steps in one function, with register-blocked products
whose operands stay in L1 (256 members, hidden 32, two cores: 6,045
member-steps/s against 2,877-3,643 for the XLA loops):

    forward   h_t = tanh(x_t W_x^T + b + h_{t-1} W_h^T),   y_t = h_t W_y^T + b_y
    reverse   delta_t = (g_t W_y + delta_{t+1} W_h) * (1 - h_t^2)
              dW_h += delta_t^T h_{t-1},  dW_x += delta_t^T x_t,  db += sum_b delta_t,
              dW_y += g_t^T h_t,  dx_t = delta_t W_x

the arithmetic of ``elman.fused_predict`` (tested against it), in float32.
The source is compiled on first use with the machine's C++ compiler for
the machine's own vector unit (``-march=native``) and cached under
``$RNNSCOPE_CACHE`` (default ``~/.cache/rnnscope``). Hidden sizes that
are not multiples of 16 are padded with inert zero units
(``padded_predict``). Without a compiler, or for operands other than
float32, ``elman`` uses the XLA loops instead; ``RNNSCOPE_CPU_KERNELS=0``
chooses them always.
Members run one after another inside a call, so a member's numbers do not
depend on the population it is trained in.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import subprocess
import tempfile
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp

from .elman import with_reverse_pass

SOURCE = Path(__file__).with_name("elman_cpu.cc")
COMPILE_FLAGS = ("-O3", "-march=native", "-std=c++17", "-shared", "-fPIC", "-w")
FORWARD_TARGET = "rnnscope_elman_forward"
BACKWARD_TARGET = "rnnscope_elman_backward"
LANES = 16


def _cache_dir() -> Path:
    return Path(os.environ.get("RNNSCOPE_CACHE", Path.home() / ".cache" / "rnnscope"))


def _library_path() -> Path:
    """The compiled library's path, keyed by source, flags, JAX's FFI headers and the machine."""
    key = hashlib.sha256()
    for part in (SOURCE.read_bytes(), " ".join(COMPILE_FLAGS).encode(), jax.__version__.encode(),
                 platform.machine().encode(), platform.node().encode()):
        key.update(part)
    return _cache_dir() / f"elman_cpu-{key.hexdigest()[:16]}.so"


def _compile(target: Path) -> None:
    """Compile to a temporary name, then rename: concurrent first uses never see half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    compiler = os.environ.get("CXX", "g++")
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".so", delete=False) as tmp:
        partial = Path(tmp.name)
    try:
        subprocess.run([compiler, *COMPILE_FLAGS, f"-I{jax.ffi.include_dir()}", str(SOURCE), "-o", str(partial)],
                       check=True, capture_output=True, text=True, timeout=300)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


@functools.cache
def _registered() -> bool:
    """Compile (once per machine) and register the two custom calls; False where that fails."""
    if os.environ.get("RNNSCOPE_CPU_KERNELS", "1") == "0":
        return False
    path = _library_path()
    try:
        if not path.exists():
            _compile(path)
        library = ctypes.CDLL(str(path))
        jax.ffi.register_ffi_target(FORWARD_TARGET, jax.ffi.pycapsule(library.RnnscopeElmanForward), platform="cpu")
        jax.ffi.register_ffi_target(BACKWARD_TARGET, jax.ffi.pycapsule(library.RnnscopeElmanBackward), platform="cpu")
    except (OSError, subprocess.SubprocessError, AttributeError) as err:
        detail = getattr(err, "stderr", "") or str(err)
        warnings.warn(f"rnnscope: CPU Elman kernel unavailable, using XLA loops ({detail.strip()[:200]})", stacklevel=2)
        return False
    return True


def usable(W_h, W_x, b, W_y, b_y, h0, xs) -> bool:
    """Whether the kernels take these operands: CPU backend, all float32, the library built."""
    operands = (W_h, W_x, b, W_y, b_y, h0, xs)
    return jax.default_backend() == "cpu" and all(a.dtype == jnp.float32 for a in operands) and _registered()


def _call(target, out_shapes, *args):
    if not _registered():
        raise RuntimeError("the CPU Elman kernel is not available here (see the warning above); use elman.fused_predict")
    outs = tuple(jax.ShapeDtypeStruct(s, jnp.float32) for s in out_shapes)
    return jax.ffi.ffi_call(target, outs, vmap_method="broadcast_all")(*args)


def _forward(W_h, W_x, b, W_y, b_y, h0, xs):
    (T, B, _), H, O = xs.shape, h0.shape[-1], W_y.shape[0]
    return _call(FORWARD_TARGET, ((T, B, H), (T, B, O)), W_h, W_x, b, W_y, b_y, h0, xs)


def _backward(res, g_ys):
    W_h, W_x, W_y, h0, xs, hs = res
    shapes = (W_h.shape, W_x.shape, W_h.shape[:1], W_y.shape, W_y.shape[:1], h0.shape, xs.shape)
    return _call(BACKWARD_TARGET, shapes, W_h, W_x, W_y, h0, xs, hs, g_ys)


#: Readouts y_1..y_T, (T, B, O), from the compiled forward pass; gradients from the compiled reverse pass.
#: The hidden size must be a multiple of 16 (``padded_predict`` takes any).
kernel_predict = with_reverse_pass(_forward, _backward)


def padded_predict(W_h, W_x, b, W_y, b_y, h0, xs):
    """``kernel_predict`` at any hidden size H: the hidden axis is padded with zero units to a multiple of 16.

    A padded unit has zero input, recurrent and readout weights and zero bias, so
    its state stays tanh(0) = 0 and it adds exact zeros to every sum of the real
    units; the gradient of the padding hands back the real units' gradients.
    """
    extra = -h0.shape[-1] % LANES
    if extra == 0:
        return kernel_predict(W_h, W_x, b, W_y, b_y, h0, xs)

    def pad(a, *axes):
        return jnp.pad(a, [(0, extra if i in axes else 0) for i in range(a.ndim)])

    return kernel_predict(pad(W_h, 0, 1), pad(W_x, 0), pad(b, 0), pad(W_y, 1), b_y, pad(h0, h0.ndim - 1), xs)
