"""The compiled CPU passes of the Elman model against the XLA passes they replace."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnscope.models import elman, elman_cpu

def zeros_operands(H, dtype=jnp.float32, T=5, B=4, D=1, O=1):
    shapes = ((H, H), (H, D), (H,), (O, H), (O,), (B, H), (T, B, D))
    return tuple(jnp.zeros(s, dtype) for s in shapes)


pytestmark = pytest.mark.skipif(not elman_cpu.usable(*zeros_operands(16)), reason="no C++ compiler for the CPU kernels")

NAMES = ("W_h", "W_x", "b", "W_y", "b_y", "h0", "xs")


def operands(key, T, B, H, D, O, lead=()):
    shapes = ((H, H), (H, D), (H,), (O, H), (O,), (B, H), (T, B, D))
    scales = (1.2 / np.sqrt(H), 1.0, 0.3, 1.0 / np.sqrt(H), 0.3, 0.5, 1.0)
    keys = jax.random.split(key, len(shapes))
    return tuple(s * jax.random.normal(k, lead + shape, jnp.float32) for k, shape, s in zip(keys, shapes, scales))


def value_and_grads(predict, args, targets):
    def loss(*a):
        y = predict(*a)
        return jnp.mean((y - targets) ** 2) + jnp.mean(jnp.sin(3 * y))

    return jax.value_and_grad(loss, argnums=tuple(range(7)))(*args)


def assert_close(a, b, rtol):
    """Float32 sums over at most a few hundred terms, accumulated in another order: relative 1e-5."""
    scale = float(jnp.max(jnp.abs(b)))
    assert float(jnp.max(jnp.abs(a - b))) <= rtol * scale + 1e-7, (float(jnp.max(jnp.abs(a - b))), scale)


# (T, B, H, D, O): compiled hidden sizes 16, 32, 64, and 48, 80 through the generic loops;
# batches not a multiple of the 8-row register block; several inputs and outputs
SHAPES = [(20, 5, 32, 3, 2), (30, 8, 16, 1, 1), (7, 11, 48, 2, 3), (4, 17, 64, 1, 1), (3, 2, 80, 2, 1)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "T{}-B{}-H{}-D{}-O{}".format(*s))
def test_kernel_passes_equal_the_xla_passes(shape):
    T, B, H, D, O = shape
    args = operands(jax.random.PRNGKey(H + B), *shape)
    targets = jax.random.normal(jax.random.PRNGKey(1), (T, B, O))
    v_k, g_k = value_and_grads(elman_cpu.kernel_predict, args, targets)
    v_x, g_x = value_and_grads(elman.fused_predict, args, targets)
    assert_close(v_k, v_x, 1e-5)
    for name, a, b in zip(NAMES, g_k, g_x):
        assert float(jnp.max(jnp.abs(b))) > 1e-4, name  # every gradient is exercised
        assert_close(a, b, 1e-5)


def test_kernel_passes_under_nested_vmap_and_shared_operands():
    T, B, H, D, O = 12, 6, 32, 2, 1
    args = operands(jax.random.PRNGKey(3), T, B, H, D, O, lead=(2, 3))
    targets = jax.random.normal(jax.random.PRNGKey(4), (T, B, O))
    twice = lambda f: jax.vmap(jax.vmap(f))
    for a, b in zip(twice(lambda *a: value_and_grads(elman_cpu.kernel_predict, a, targets))(*args),
                    twice(lambda *a: value_and_grads(elman.fused_predict, a, targets))(*args)):
        for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
            assert_close(u, v, 1e-5)
    # per-member weights, one input sequence shared by every member
    shared = args[:6] + (args[6][0, 0],)
    axes = (0,) * 6 + (None,)
    y_k = jax.vmap(jax.vmap(elman_cpu.kernel_predict, axes), axes)(*shared)
    y_x = jax.vmap(jax.vmap(elman.fused_predict, axes), axes)(*shared)
    assert_close(y_k, y_x, 1e-5)


def test_a_members_numbers_do_not_depend_on_its_companions():
    """Members run one after another inside a call: a member's gradient is bit-identical alone and in a group."""
    T, B, H, D, O = 10, 8, 32, 1, 1
    group = operands(jax.random.PRNGKey(5), T, B, H, D, O, lead=(5,))
    targets = jax.random.normal(jax.random.PRNGKey(6), (T, B, O))
    grads = jax.jit(jax.vmap(lambda *a: value_and_grads(elman_cpu.kernel_predict, a, targets)))
    together = grads(*group)
    alone = grads(*(a[2:3] for a in group))
    for u, v in zip(jax.tree.leaves(together), jax.tree.leaves(alone)):
        np.testing.assert_array_equal(np.asarray(u[2]), np.asarray(v[0]))


@pytest.mark.parametrize("hidden", [8, 20])
def test_other_hidden_sizes_run_padded_with_inert_units(hidden):
    """predict pads the hidden axis to a multiple of 16; the real units' numbers are the XLA loops'."""
    assert elman_cpu.usable(*zeros_operands(hidden))
    T, B, D, O = 9, 6, 2, 2
    args = operands(jax.random.PRNGKey(hidden), T, B, hidden, D, O)
    targets = jax.random.normal(jax.random.PRNGKey(9), (T, B, O))
    v_k, g_k = value_and_grads(elman_cpu.padded_predict, args, targets)
    v_x, g_x = value_and_grads(elman.fused_predict, args, targets)
    assert_close(v_k, v_x, 1e-5)
    for a, b in zip(g_k, g_x):
        assert a.shape == b.shape
        assert_close(a, b, 1e-5)
    params = dict(zip(NAMES[:5], args[:5]))
    assert_close(elman.predict(params, args[5], args[6]), elman.fused_predict(*args), 1e-5)


def test_operands_other_than_float32_take_the_xla_loops():
    assert elman_cpu.usable(*zeros_operands(32))
    assert not elman_cpu.usable(*zeros_operands(32, jnp.bfloat16))
    mixed = list(zeros_operands(32))
    mixed[0] = mixed[0].astype(jnp.bfloat16)  # one operand of another type is enough to decline
    assert not elman_cpu.usable(*mixed)


def _child(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "JAX_PLATFORMS": "cpu", **env})


def test_without_a_compiler_or_when_switched_off_the_xla_loops_run(tmp_path):
    code = ("import jax.numpy as jnp; from rnnscope.models import elman_cpu; "
            "print(elman_cpu.usable(jnp.zeros((32, 32)), jnp.zeros((32, 1)), jnp.zeros(32), jnp.zeros((1, 32)), "
            "jnp.zeros(1), jnp.zeros((4, 32)), jnp.zeros((5, 4, 1))))")
    no_compiler = _child(code, CXX="false", RNNSCOPE_CACHE=str(tmp_path))
    assert no_compiler.stdout.strip() == "False" and "CPU Elman kernel unavailable" in no_compiler.stderr
    assert not list(tmp_path.glob("*.so"))  # no half-written library left behind
    switched_off = _child(code, RNNSCOPE_CPU_KERNELS="0")
    assert switched_off.stdout.strip() == "False" and switched_off.returncode == 0


def test_the_kernel_itself_refuses_a_hidden_size_it_cannot_block():
    args = operands(jax.random.PRNGKey(8), 4, 3, 20, 1, 1)
    with pytest.raises(Exception, match="hidden size must be a multiple of 16"):
        jax.block_until_ready(elman_cpu.kernel_predict(*args))
