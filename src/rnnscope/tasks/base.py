"""The shape every task in rnnscope has.

A task is a bundle of pure functions and static facts:

- ``sample(key, batch) -> (x, y)``: ``x`` of shape (T, batch, input_dim)
  (time-major, as ``lax.scan`` consumes it); ``y`` of shape
  (T, batch, output_dim) when ``target == "every"`` (a target at every step)
  or (batch, output_dim) when ``target == "last"`` (a target at the last step
  only).
- ``loss``: ``"mse"`` (mean squared error over every target entry) or
  ``"logistic"`` (binary cross-entropy on a logit, labels in {0, 1}).
- ``lags``: the lags (in steps) the target depends on, so probes can ask
  whether lag l was learned; empty when the dependence is spread over the
  whole sequence in a way no finite lag list describes.
- ``baseline_loss`` (optional): the loss of the best constant prediction
  (the adding problem's 1/6), against which a regression task's success is
  judged.
- ``bases`` (optional): the data's singular vectors (U_y, V_x), for tasks
  that have them (the linear-dynamics task dynamics): a linear RNN with
  ``init = "aligned"`` is built aligned with them.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax


class Task(NamedTuple):
    name: str
    sample: Callable[[jax.Array, int], tuple[jax.Array, jax.Array]]
    input_dim: int
    output_dim: int
    seq_len: int
    target: str  # "every" | "last"
    loss: str  # "mse" | "logistic"
    lags: tuple[int, ...]
    baseline_loss: float | None = None  # loss of the best constant prediction (success of regression tasks)
    bases: tuple | None = None  # (U_y, V_x) singular vectors of the data, for aligned initialisation
