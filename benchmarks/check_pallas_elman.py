"""Check, on the device at hand, that the fused Elman kernels give the XLA passes' numbers.

On a GPU the kernels are compiled; elsewhere they run in Pallas interpret
mode. Prints the largest difference of the loss and of each gradient, next
to the gradient's size, for three members at hidden 32 and batch 32.

    python benchmarks/check_pallas_elman.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from rnnscope.models import elman  # noqa: E402
from rnnscope.models.base import ModelConfig  # noqa: E402
from rnnscope.models.elman_pallas import pallas_predict  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")


def main(T=12, B=32, H=32, P=3):
    interpret = jax.default_backend() != "gpu"
    cfg = ModelConfig(hidden=H, input_dim=1, output_dim=1)
    params = jax.vmap(lambda k: elman.init(k, cfg, {"init_scale": 1.2}))(jax.random.split(jax.random.PRNGKey(0), P))
    params["b"] = params["b"] + 0.1
    params["b_y"] = params["b_y"] + 0.2
    xs = jax.random.normal(jax.random.PRNGKey(1), (T, B, 1))
    ys = jax.random.normal(jax.random.PRNGKey(2), (T, B, 1))
    h0 = jnp.zeros((B, H))

    def loss_and_grads(predict):
        def f(p):
            y = predict(p["W_h"], p["W_x"], p["b"], p["W_y"], p["b_y"], h0, xs)
            return jnp.mean((y - ys) ** 2)

        return jax.jit(jax.vmap(jax.value_and_grad(f)))(params)

    kernel = loss_and_grads(lambda *a: pallas_predict(*a, interpret))
    xla = loss_and_grads(elman.fused_predict)
    print(f"{jax.devices()[0].device_kind}: loss differs by {np.max(np.abs(kernel[0] - xla[0])):.2e}")
    for name in kernel[1]:
        diff = float(jnp.max(jnp.abs(kernel[1][name] - xla[1][name])))
        print(f"  d/d{name:4s} differs by {diff:.2e} (largest entry {float(jnp.max(jnp.abs(xla[1][name]))):.3f})")


if __name__ == "__main__":
    main()
