"""State-mode forcing: alpha-stable noise on the hidden-state increments.

h_t = h_{t-1} + D_t + scale * rms(D_t) * taper(X_t),  D_t = step(h_{t-1}, x_t) - h_{t-1},
with X_t symmetric alpha-stable per unit and taper(X) = 100 tanh(X / 100)
(Livi 2026, injection "state" mode; applying it to every unit rather than to
the slow ones only, and scaling by the RMS of the increment over the batch,
are our choices). The noise of step s of training is drawn from
``fold_in(noise_key, s)``, so it is reproducible per member.

The recipe is ``optim.stable_noise_like``'s, written out here because this
noise sits inside the differentiated loss and may meet complex states: the
RMS takes |increment|^2 and a 1e-12 floor (so it has a gradient where an
increment is all zeros), and the draws are real.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..optim.stable import symmetric_stable


def noisy_run(model, key, alpha, scale):
    """A ``run`` (params, h0, xs) -> hs that injects state noise; same contract as ``model.run``."""
    batched_step = jax.vmap(model.step, in_axes=(None, 0, 0))

    def run(params, h0, xs):
        keys = jax.random.split(key, xs.shape[0])

        def body(h, inputs):
            x, k = inputs
            h_next = batched_step(params, h, x)

            def kick(new, old, leaf_key):
                inc = new - old
                rms = jnp.sqrt(jnp.mean(jnp.abs(inc) ** 2) + 1e-12)
                noise = symmetric_stable(leaf_key, alpha, inc.shape)
                return new + (scale * rms * 100.0 * jnp.tanh(noise / 100.0)).astype(new.dtype)

            leaves, tree = jax.tree.flatten(h_next)
            old = jax.tree.leaves(h)
            leaf_keys = jax.random.split(k, len(leaves))
            h_next = jax.tree.unflatten(tree, [kick(n, o, lk) for n, o, lk in zip(leaves, old, leaf_keys)])
            return h_next, model.hidden_of(h_next)

        return jax.lax.scan(body, h0, (xs, keys))[1]

    return run
