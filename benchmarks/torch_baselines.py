"""PyTorch baselines for the population-training throughput benchmark.

The work
--------
P independent Elman (tanh) networks, each with hidden size H, input size D and
one output, are trained with plain SGD:

    h_{-1} = 0
    h_t    = tanh(W_h h_{t-1} + W_x x_t + b)          t = 0 .. T-1
    y^_t   = W_y h_t + b_y                             (a readout at EVERY step)
    L_p    = mean over (T, B, 1) of (y^_t - y_t)^2     (one loss per member)
    theta_p <- theta_p - lr_p * dL_p/dtheta_p          (per-member learning rate)

for ``steps`` SGD steps. At step s every member trains on the same batch
``(xs[s], ys[s])``; ``xs`` has shape (S, T, B, D) and ``ys`` shape (S, T, B, 1),
float32, time-major, with S >= steps. One *member-step* is one forward pass,
one full back-propagation through time and one SGD update of one member on one
batch of B sequences of length T; throughput is reported in member-steps per
second.

Parameters use the layout shared with the JAX implementation: a dict of numpy
float32 arrays with a leading member axis,

    W_h (P, H, H)   W_x (P, H, D)   b (P, H)   W_y (P, 1, H)   b_y (P, 1)

and ``lrs`` of shape (P,). Both training functions leave their inputs
untouched and return ``(final_params, last_losses)``: the parameters after
``steps`` updates (same layout, numpy float32) and, per member, the loss of
the last step's batch evaluated with the parameters before that last update
(shape (P,)).

The two baselines
-----------------
``torch_loop_train`` is how populations are trained today: a Python loop over
members, each one a ``torch.nn.RNN(D, H, nonlinearity="tanh")`` plus a
``torch.nn.Linear(H, 1)`` with its own ``torch.optim.SGD(lr=lr_p)``, trained
alone for all its steps before the next member starts. ``nn.RNN`` carries two
biases; ``bias_ih`` holds ``b`` and ``bias_hh`` is set to zero and frozen, so
the arithmetic is exactly the model above.

``torch_ensemble_train`` trains all members at once, batched over the member
axis. Three implementations are provided (``impl=``); all keep the input
projection out of the time loop (one product for all T steps), use contiguous
float32 buffers, make one SGD update per step with the per-member learning
rate broadcast over the member axis, and keep gradients per member (the
objective is the sum over members of each member's mean loss):

- ``"manual"`` (the default, the fastest measured): back-propagation through
  time written out by hand, as one would in a ``torch.autograd.Function``
  with a custom backward. Inside the time loops only the sequential work
  remains (per step one ``baddbmm`` of the (P, B, H) states with the (P, H, H)
  recurrent weights, forward and backward, plus element-wise work); the
  weight gradients dW_h = sum_t delta_t h_{t-1}^T, dW_x, db and the readout
  are single large batched products after the loops. States and deltas live
  in preallocated member-major (P, T, B, H) buffers, so the loops allocate
  nothing.
- ``"autograd"``: the same batched forward (``baddbmm`` over the member axis,
  inputs split with ``unbind`` and states joined with ``torch.stack``), with
  gradients from ``torch.autograd.grad``.
- ``"vmap"``: a single-member loss vectorised with
  ``torch.func.vmap(torch.func.grad_and_value(...))``.

``tanh=`` selects how tanh is evaluated in the ensemble: ``"sigmoid"`` (the
default) uses tanh(z) = 2 sigmoid(2 z) - 1, with the factor 2 folded into the
``baddbmm`` scaling, because ``torch.tanh`` on CPU is several times slower
than ``torch.sigmoid`` in this PyTorch build (about 10x on a (64, 32, 32)
block, single thread); ``"torch"`` calls ``torch.tanh``. The two agree to
float32 rounding (absolute error below 2e-7 in tanh). The sigmoid form pays
off in ``"manual"``; in ``"autograd"`` and ``"vmap"`` its two extra graph
nodes per step cost more than it saves at H=32, so pass ``tanh="torch"``
there.

What was measured (P=256, T=100, B=32, D=1, two threads on a two-core AVX-512
machine shared with other work, so +-15%), in member-steps/s:

    H=32:  manual/sigmoid ~2100-2300   manual/torch ~1600-1900
           autograd/torch ~800-1070    vmap/torch ~980-1200
           autograd via torch.compile ~1050-1090 (plus ~130 s of compilation)
    H=128: manual/sigmoid ~220-256     manual/torch ~200-230
           autograd/torch ~110-127

Other things tried and dropped: an in-place ``baddbmm_`` into a strided
member-major slice (PyTorch falls back to a per-member loop of ``addmm_``,
several times slower; hence the contiguous scratch buffer); a time-major
(T, P, B, H) layout (its weight-gradient reduction over (t, b) needs a
permuting copy: ``einsum`` over it was ~7x slower than the member-major
``bmm``); accumulating dW_h inside the backward loop instead of one product
after it (no faster at H=32, ~10% slower at H=128); an outer product by
``bmm`` with an inner dimension of 1 for the readout gradient (~3x slower
than broadcasting ``mul``); reading W_h^T as a transposed view in the forward
products (~10% slower at H=128 than a contiguous copy made once per step).

``numpy_peak_gflops`` measures float32 ``A @ A`` as the machine's practical
peak. The module sets no thread count: callers choose it with
``torch.set_num_threads`` (PyTorch's default is one thread per core).

Run ``python benchmarks/torch_baselines.py`` for a self-check (every ensemble
implementation against the loop on a small problem) and a throughput report.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable, Mapping

import numpy as np
import torch

PARAM_NAMES = ("W_h", "W_x", "b", "W_y", "b_y")

Params = Mapping[str, np.ndarray]


# ---------------------------------------------------------------------------
# shared helpers


def _shapes(params: Params, lrs, xs, ys, steps: int) -> tuple[int, int, int, int, int]:
    """Validate the inputs and return (P, H, D, T, B)."""
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing:
        raise KeyError(f"missing parameters: {missing}")
    P, H, D = np.shape(params["W_x"])
    expected = {
        "W_h": (P, H, H),
        "W_x": (P, H, D),
        "b": (P, H),
        "W_y": (P, 1, H),
        "b_y": (P, 1),
    }
    for k, shape in expected.items():
        if tuple(np.shape(params[k])) != shape:
            raise ValueError(f"{k} has shape {np.shape(params[k])}, expected {shape}")
    if np.shape(lrs) != (P,):
        raise ValueError(f"lrs has shape {np.shape(lrs)}, expected ({P},)")
    if np.ndim(xs) != 4 or np.shape(xs)[3] != D:
        raise ValueError(f"xs has shape {np.shape(xs)}, expected (S, T, B, {D})")
    S, T, B, _ = np.shape(xs)
    if tuple(np.shape(ys)) != (S, T, B, 1):
        raise ValueError(f"ys has shape {np.shape(ys)}, expected {(S, T, B, 1)}")
    if not 1 <= steps <= S:
        raise ValueError(f"steps={steps} must be in [1, {S}] (the number of batches given)")
    return P, H, D, T, B


def _to_torch(a) -> torch.Tensor:
    """A float32 torch copy of an array (the caller's arrays are never modified)."""
    return torch.tensor(np.asarray(a, dtype=np.float32))


def _to_numpy(params_t: Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {k: params_t[k].detach().cpu().numpy().astype(np.float32, copy=True) for k in PARAM_NAMES}


# ---------------------------------------------------------------------------
# 1. the loop over members, one nn.RNN + nn.Linear + SGD each


def torch_loop_train(params: Params, lrs, xs, ys, steps: int):
    """Train each member alone with ``nn.RNN`` + ``nn.Linear`` + ``optim.SGD``.

    Members are trained one after another, each for ``steps`` steps, exactly
    as a researcher would with a Python loop over configurations. Returns
    ``(final_params, last_losses)`` in the shared layout (see module doc).
    """
    P, H, D, T, B = _shapes(params, lrs, xs, ys, steps)
    xs_t = _to_torch(np.asarray(xs)[:steps])
    ys_t = _to_torch(np.asarray(ys)[:steps])
    lrs = np.asarray(lrs, dtype=np.float32)
    out = {k: np.empty(np.shape(params[k]), np.float32) for k in PARAM_NAMES}
    last = np.empty(P, np.float32)
    for p in range(P):
        rnn = torch.nn.RNN(D, H, num_layers=1, nonlinearity="tanh", bias=True)
        lin = torch.nn.Linear(H, 1)
        with torch.no_grad():
            rnn.weight_hh_l0.copy_(_to_torch(params["W_h"][p]))
            rnn.weight_ih_l0.copy_(_to_torch(params["W_x"][p]))
            rnn.bias_ih_l0.copy_(_to_torch(params["b"][p]))
            rnn.bias_hh_l0.zero_()
            lin.weight.copy_(_to_torch(params["W_y"][p]))
            lin.bias.copy_(_to_torch(params["b_y"][p]))
        rnn.bias_hh_l0.requires_grad_(False)
        trainable = [q for q in (*rnn.parameters(), *lin.parameters()) if q.requires_grad]
        opt = torch.optim.SGD(trainable, lr=float(lrs[p]))
        for s in range(steps):
            opt.zero_grad(set_to_none=True)
            hs, _ = rnn(xs_t[s])  # (T, B, H); h_0 defaults to zeros
            loss = torch.nn.functional.mse_loss(lin(hs), ys_t[s])
            loss.backward()
            opt.step()
        last[p] = loss.item()
        out["W_h"][p] = rnn.weight_hh_l0.detach().cpu().numpy()
        out["W_x"][p] = rnn.weight_ih_l0.detach().cpu().numpy()
        out["b"][p] = rnn.bias_ih_l0.detach().cpu().numpy()
        out["W_y"][p] = lin.weight.detach().cpu().numpy()
        out["b_y"][p] = lin.bias.detach().cpu().numpy()
    return out, last


# ---------------------------------------------------------------------------
# 2. all members at once


def _input_projection(x: torch.Tensor, W_x: torch.Tensor, b: torch.Tensor, out: torch.Tensor | None = None):
    """u[p, n, :] = W_x[p] x[n] + b[p] for x of shape (N, D): returns (P, N, H).

    For D = 1 this is a broadcast outer product (one ``addcmul``), much
    cheaper than a batched product with an inner dimension of 1.
    """
    if W_x.shape[2] == 1:
        return torch.addcmul(b[:, None, :], x[None, :, :], W_x[:, None, :, 0], out=out)
    u = torch.matmul(x, W_x.transpose(1, 2), out=out)
    return u.add_(b[:, None, :])


class _ManualEnsemble:
    """Hand-written batched BPTT for P Elman members with preallocated buffers.

    Layout: states ``hs`` and deltas ``g`` are member-major (P, T, B, H), so
    every member's (t, b) rows are contiguous and the weight gradients are
    single batched products over the member axis. Per-step results go through
    a contiguous (P, B, H) scratch buffer: an in-place ``baddbmm_`` into a
    strided slice would make PyTorch loop over members.
    """

    def __init__(self, P: int, H: int, D: int, T: int, B: int, tanh: str = "sigmoid"):
        if tanh not in ("sigmoid", "torch"):
            raise ValueError(f"unknown tanh {tanh!r}")
        self.P, self.H, self.D, self.T, self.B = P, H, D, T, B
        self.sigmoid_tanh = tanh == "sigmoid"
        self.hs = torch.empty(P, T, B, H)
        self.g = torch.empty(P, T, B, H)
        self.tmp = torch.empty(P, B, H)
        self.tmp2 = torch.empty(P, B, H)
        self.minus_one = torch.tensor(-1.0)

    def _activate(self, z: torch.Tensor, out: torch.Tensor, doubled: bool) -> None:
        """out = tanh(z), or tanh(z / 2) when ``doubled`` (z already holds 2x the pre-activation)."""
        if self.sigmoid_tanh:
            if not doubled:
                z = torch.mul(z, 2.0, out=self.tmp)
            s = torch.sigmoid(z, out=self.tmp)
            torch.add(self.minus_one, s, alpha=2.0, out=out)  # 2 sigmoid(2a) - 1 = tanh(a)
        else:
            torch.tanh(z, out=out)

    @torch.no_grad()
    def step(self, p: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, neg_lrs: torch.Tensor) -> torch.Tensor:
        """One SGD step of every member on the batch (x, y); returns the (P,) pre-update losses."""
        P, H, D, T, B = self.P, self.H, self.D, self.T, self.B
        N = T * B
        W_h, W_x, b, W_y, b_y = (p[k] for k in PARAM_NAMES)
        hs, g, tmp, tmp2 = self.hs, self.g, self.tmp, self.tmp2
        hf, gf = hs.view(P, N, H), g.view(P, N, H)
        xf, yf = x.reshape(N, D), y.reshape(1, N, 1)

        # forward: u for all steps at once (stored in hs), then the recurrence
        _input_projection(xf, W_x, b, out=hf)
        W_hT = W_h.transpose(1, 2).contiguous()  # ~10% faster products than the transposed view at H=128
        scale = 2.0 if self.sigmoid_tanh else 1.0
        self._activate(hs[:, 0], hs[:, 0], doubled=False)
        for t in range(1, T):
            # tmp = scale * (u_t + h_{t-1} W_h^T)
            torch.baddbmm(hs[:, t], hs[:, t - 1], W_hT, beta=scale, alpha=scale, out=tmp)
            self._activate(tmp, hs[:, t], doubled=self.sigmoid_tanh)

        # readout at every step and the per-member mean squared error
        err = torch.baddbmm(b_y[:, None, :], hf, W_y.transpose(1, 2))  # (P, N, 1)
        err.sub_(yf)
        losses = err.square().mean(dim=(1, 2))
        err.mul_(2.0 / N)  # dL_p / dy^
        dW_y = torch.bmm(err.transpose(1, 2), hf)  # (P, 1, H)
        db_y = err.sum(dim=1)  # (P, 1)

        # backward through time: g_t <- (g_t + delta_{t+1} W_h) * (1 - h_t^2)
        torch.mul(err, W_y, out=gf)  # direct dL/dh_t from the readout (outer product by broadcasting)
        last = g[:, T - 1]
        torch.mul(hs[:, T - 1], hs[:, T - 1], out=tmp2)
        torch.addcmul(last, last, tmp2, value=-1.0, out=last)
        for t in range(T - 2, -1, -1):
            torch.baddbmm(g[:, t], g[:, t + 1], W_h, out=tmp)
            torch.mul(hs[:, t], hs[:, t], out=tmp2)
            torch.addcmul(tmp, tmp, tmp2, value=-1.0, out=g[:, t])

        # weight gradients as single batched products over all (t, b)
        M = (T - 1) * B
        dW_h = torch.bmm(g[:, 1:].reshape(P, M, H).transpose(1, 2), hs[:, :-1].reshape(P, M, H))
        dW_x = torch.matmul(xf.t(), gf).transpose(1, 2)  # (P, H, D)
        db = gf.sum(dim=1)

        for w, dw in ((W_h, dW_h), (W_x, dW_x), (b, db), (W_y, dW_y), (b_y, db_y)):
            w.addcmul_(dw, neg_lrs.view(P, *([1] * (w.dim() - 1))))
        return losses


def _autograd_member_losses(p: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, sigmoid_tanh: bool):
    """Per-member losses (P,) of the batched forward, differentiable by autograd."""
    W_h, W_x, b, W_y, b_y = (p[k] for k in PARAM_NAMES)
    P, H, D = W_x.shape
    T, B = x.shape[:2]
    N = T * B
    us = _input_projection(x.reshape(N, D), W_x, b).view(P, T, B, H).unbind(1)
    W_hT = W_h.transpose(1, 2)
    states = []
    if sigmoid_tanh:
        minus_one = torch.tensor(-1.0)
        h = torch.add(minus_one, torch.sigmoid(2.0 * us[0]), alpha=2.0)
        states.append(h)
        for t in range(1, T):
            z = torch.baddbmm(us[t], h, W_hT, beta=2.0, alpha=2.0)
            h = torch.add(minus_one, torch.sigmoid(z), alpha=2.0)
            states.append(h)
    else:
        h = torch.tanh(us[0])
        states.append(h)
        for t in range(1, T):
            h = torch.tanh(torch.baddbmm(us[t], h, W_hT))
            states.append(h)
    hf = torch.stack(states, dim=1).view(P, N, H)
    pred = torch.baddbmm(b_y[:, None, :], hf, W_y.transpose(1, 2))
    return (pred - y.reshape(1, N, 1)).square().mean(dim=(1, 2))


def _single_member_loss(p: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, sigmoid_tanh: bool):
    """Loss of ONE member (parameters without the member axis); for ``torch.func.vmap``."""
    T = x.shape[0]
    us = (x @ p["W_x"].T + p["b"]).unbind(0)  # T x (B, H)
    W_hT = p["W_h"].T
    if sigmoid_tanh:
        h = 2.0 * torch.sigmoid(2.0 * us[0]) - 1.0
    else:
        h = torch.tanh(us[0])
    states = [h]
    for t in range(1, T):
        if sigmoid_tanh:
            h = 2.0 * torch.sigmoid(torch.addmm(us[t], h, W_hT, beta=2.0, alpha=2.0)) - 1.0
        else:
            h = torch.tanh(torch.addmm(us[t], h, W_hT))
        states.append(h)
    pred = torch.stack(states) @ p["W_y"].T + p["b_y"]
    loss = (pred - y).square().mean()
    return loss


ENSEMBLE_IMPLS = ("manual", "autograd", "vmap")
TANH_IMPLS = ("sigmoid", "torch")


def torch_ensemble_train(params: Params, lrs, xs, ys, steps: int, *, impl: str = "manual", tanh: str = "sigmoid"):
    """Train all P members at once, batched over the member axis.

    ``impl`` is ``"manual"`` (default; hand-written batched BPTT),
    ``"autograd"`` or ``"vmap"``; ``tanh`` is ``"sigmoid"`` (default;
    2 sigmoid(2z) - 1) or ``"torch"`` (see the module doc for what each does
    and why the defaults are the defaults). Returns ``(final_params,
    last_losses)`` in the shared layout.
    """
    if impl not in ENSEMBLE_IMPLS:
        raise ValueError(f"impl must be one of {ENSEMBLE_IMPLS}, got {impl!r}")
    if tanh not in TANH_IMPLS:
        raise ValueError(f"tanh must be one of {TANH_IMPLS}, got {tanh!r}")
    P, H, D, T, B = _shapes(params, lrs, xs, ys, steps)
    p = {k: _to_torch(params[k]).contiguous() for k in PARAM_NAMES}
    xs_t = _to_torch(np.asarray(xs)[:steps])
    ys_t = _to_torch(np.asarray(ys)[:steps])
    neg_lrs = -_to_torch(lrs)
    sigmoid_tanh = tanh == "sigmoid"

    if impl == "manual":
        model = _ManualEnsemble(P, H, D, T, B, tanh=tanh)
        for s in range(steps):
            losses = model.step(p, xs_t[s], ys_t[s], neg_lrs)
    elif impl == "autograd":
        leaves = [p[k].requires_grad_(True) for k in PARAM_NAMES]
        for s in range(steps):
            member_losses = _autograd_member_losses(p, xs_t[s], ys_t[s], sigmoid_tanh)
            grads = torch.autograd.grad(member_losses.sum(), leaves, materialize_grads=True)  # W_h unused if T=1
            with torch.no_grad():
                for w, dw in zip(leaves, grads):
                    w.addcmul_(dw, neg_lrs.view(P, *([1] * (w.dim() - 1))))
            losses = member_losses.detach()
    else:
        from torch.func import grad_and_value, vmap

        def loss_fn(q, x, y):
            return _single_member_loss(q, x, y, sigmoid_tanh)

        grad_fn = vmap(grad_and_value(loss_fn), in_dims=(0, None, None))
        for s in range(steps):
            grads, losses = grad_fn(p, xs_t[s], ys_t[s])
            with torch.no_grad():
                for k in PARAM_NAMES:
                    p[k].addcmul_(grads[k], neg_lrs.view(P, *([1] * (p[k].dim() - 1))))
    return _to_numpy(p), losses.detach().cpu().numpy().astype(np.float32, copy=True)


# ---------------------------------------------------------------------------
# 3. the machine's practical peak


def numpy_peak_gflops(n: int = 2048, repeats: int = 3) -> float:
    """Float32 GFLOP/s of ``A @ A`` for an n x n matrix (best of ``repeats``, 2 n^3 flops each)."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    out = np.empty_like(a)
    np.matmul(a, a, out=out)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, a, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


# ---------------------------------------------------------------------------
# 4. the loop for a sweep: last-step or every-step targets, MSE or logistic loss, norm clipping

#: Losses of ``torch_loop_train_sweep``: each the mean over every target entry, as rnnscope's.
LOOP_LOSSES = {
    "mse": torch.nn.functional.mse_loss,
    "logistic": torch.nn.functional.binary_cross_entropy_with_logits,  # logits against {0, 1} labels
}


def member_modules(params: Params, p: int) -> tuple[torch.nn.RNN, torch.nn.Linear]:
    """Member ``p`` of the shared layout as an ``nn.RNN`` (``bias_hh`` zero and frozen) and an ``nn.Linear``."""
    H, D = np.shape(params["W_x"])[1:]
    rnn = torch.nn.RNN(D, H, num_layers=1, nonlinearity="tanh", bias=True)
    lin = torch.nn.Linear(H, 1)
    with torch.no_grad():
        for name, tensor in _module_tensors(rnn, lin):
            tensor.copy_(_to_torch(params[name][p]))
        rnn.bias_hh_l0.zero_()
    rnn.bias_hh_l0.requires_grad_(False)
    return rnn, lin


def _module_tensors(rnn: torch.nn.RNN, lin: torch.nn.Linear) -> list[tuple[str, torch.Tensor]]:
    """(name in the shared layout, module tensor) pairs."""
    return [("W_h", rnn.weight_hh_l0), ("W_x", rnn.weight_ih_l0), ("b", rnn.bias_ih_l0),
            ("W_y", lin.weight), ("b_y", lin.bias)]


def torch_loop_train_sweep(params: Params, lrs, clips, xs, ys, steps: int, *, target: str = "last",
                           loss: str = "logistic"):
    """The loop over members (as ``torch_loop_train``) with the options a sweep varies.

    ``target``: ``"last"`` scores only the last step's readout, ``ys`` of shape
    (S, B, 1) (a latch); ``"every"`` scores every step, ``ys`` of shape
    (S, T, B, 1) (as ``torch_loop_train``). ``loss``: a key of
    ``LOOP_LOSSES``. ``clips``: (P,) global-norm clip levels applied with
    ``torch.nn.utils.clip_grad_norm_`` to the trainable parameters before each
    SGD step; a non-finite level is off and skips the call. Returns
    ``(final_params, last_losses)`` in the shared layout.
    """
    if target not in ("last", "every"):
        raise ValueError(f"target must be 'last' or 'every', got {target!r}")
    S, T, B = np.shape(xs)[:3]
    expected = (S, B, 1) if target == "last" else (S, T, B, 1)
    if np.shape(ys) != expected:
        raise ValueError(f"ys has shape {np.shape(ys)}, expected {expected} for target {target!r}")
    P = _shapes(params, lrs, xs, np.broadcast_to(np.zeros((), np.float32), (S, T, B, 1)), steps)[0]
    loss_fn = LOOP_LOSSES[loss]
    xs_t = _to_torch(np.asarray(xs)[:steps])
    ys_t = _to_torch(np.asarray(ys)[:steps])
    out = {k: np.empty(np.shape(params[k]), np.float32) for k in PARAM_NAMES}
    last = np.empty(P, np.float32)
    for p in range(P):
        rnn, lin = member_modules(params, p)
        trainable = [q for q in (*rnn.parameters(), *lin.parameters()) if q.requires_grad]
        opt = torch.optim.SGD(trainable, lr=float(lrs[p]))
        clip = float(clips[p])
        for s in range(steps):
            opt.zero_grad(set_to_none=True)
            hs, h_last = rnn(xs_t[s])  # (T, B, H) and (1, B, H)
            value = loss_fn(lin(h_last[0] if target == "last" else hs), ys_t[s])
            value.backward()
            if np.isfinite(clip):
                torch.nn.utils.clip_grad_norm_(trainable, clip)
            opt.step()
        last[p] = value.item()
        for name, tensor in _module_tensors(rnn, lin):
            out[name][p] = tensor.detach().cpu().numpy()
    return out, last


# ---------------------------------------------------------------------------
# helpers for the benchmark script and the self-check


def random_problem(P: int, H: int, T: int, B: int, S: int, D: int = 1, seed: int = 0, lr: float = 0.05):
    """Random parameters, learning rates and data in the shared layout (numpy float32)."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    params = {
        "W_h": (rng.standard_normal((P, H, H)) * (0.9 / np.sqrt(H))).astype(f32),
        "W_x": rng.standard_normal((P, H, D)).astype(f32),
        "b": (0.1 * rng.standard_normal((P, H))).astype(f32),
        "W_y": (rng.standard_normal((P, 1, H)) / np.sqrt(H)).astype(f32),
        "b_y": (0.1 * rng.standard_normal((P, 1))).astype(f32),
    }
    lrs = (lr * rng.uniform(0.5, 1.5, size=P)).astype(f32)
    xs = rng.standard_normal((S, T, B, D)).astype(f32)
    ys = rng.standard_normal((S, T, B, 1)).astype(f32)
    return params, lrs, xs, ys


def subset(params: Params, lrs, members) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The parameters and learning rates of some members (an index array or slice)."""
    return {k: np.asarray(params[k])[members] for k in PARAM_NAMES}, np.asarray(lrs)[members]


def member_steps_per_second(train: Callable, params: Params, lrs, xs, ys, steps: int, warmup_steps: int = 1) -> float:
    """Throughput of ``train(params, lrs, xs, ys, steps)`` in member-steps/s.

    A short warm-up run (``warmup_steps`` steps, same shapes) comes first and
    is not timed; the timed run includes the array conversions, which are
    negligible next to the training.
    """
    if warmup_steps:
        train(params, lrs, xs, ys, warmup_steps)
    P = np.shape(params["W_h"])[0]
    t0 = time.perf_counter()
    train(params, lrs, xs, ys, steps)
    return P * steps / (time.perf_counter() - t0)


def _max_rel_err(a, b, atol: float) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / (atol + np.abs(b))))


def self_check(rtol: float = 1e-4, atol: float = 1e-6, verbose: bool = True) -> None:
    """Every ensemble implementation must match the loop on a small problem."""
    for D in (1, 3):
        params, lrs, xs, ys = random_problem(P=4, H=8, T=10, B=4, S=3, D=D, seed=1 + D)
        ref_params, ref_losses = torch_loop_train(params, lrs, xs, ys, 3)
        for k in PARAM_NAMES:
            assert not np.allclose(ref_params[k], params[k]), f"loop did not update {k}"
        for impl in ENSEMBLE_IMPLS:
            for tanh in TANH_IMPLS:
                got_params, got_losses = torch_ensemble_train(params, lrs, xs, ys, 3, impl=impl, tanh=tanh)
                worst = _max_rel_err(got_losses, ref_losses, atol)
                np.testing.assert_allclose(got_losses, ref_losses, rtol=rtol, atol=atol, err_msg=f"{impl}/{tanh} losses")
                for k in PARAM_NAMES:
                    np.testing.assert_allclose(
                        got_params[k], ref_params[k], rtol=rtol, atol=atol, err_msg=f"{impl}/{tanh} {k}, D={D}"
                    )
                    worst = max(worst, _max_rel_err(got_params[k], ref_params[k], atol))
                if verbose:
                    print(
                        f"  D={D} {impl:8s} tanh={tanh:7s} matches the loop: "
                        f"max |diff| / ({atol:g} + |loop|) = {worst:.2e}"
                    )


def _main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=256, help="P for the ensemble")
    ap.add_argument("--hidden", type=int, nargs="+", default=[32], help="H (several values allowed)")
    ap.add_argument("--seq-len", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20, help="SGD steps timed for the ensemble")
    ap.add_argument("--loop-members", type=int, default=8, help="members timed for the loop")
    ap.add_argument("--loop-steps", type=int, default=None, help="SGD steps timed for the loop (default --steps)")
    ap.add_argument("--all-impls", action="store_true", help="also time every ensemble variant")
    ap.add_argument("--skip-check", action="store_true")
    args = ap.parse_args()

    if not args.skip_check:
        print("self-check (P=4, H=8, T=10, B=4, S=3; rtol=1e-4, atol=1e-6):")
        self_check()
        print("self-check passed")

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"numpy float32 matmul peak ~ {numpy_peak_gflops():.1f} GFLOP/s")
    T, B, S = args.seq_len, args.batch, args.steps
    loop_steps = args.loop_steps or S
    for H in args.hidden:
        params, lrs, xs, ys = random_problem(args.members, H, T, B, max(S, loop_steps), seed=H)
        # the three recurrent products per member-step (h W_h^T, delta W_h, delta^T h), 2 flops per multiply-add
        flops = 6 * T * B * H * H
        variants = [(i, t) for i in ENSEMBLE_IMPLS for t in TANH_IMPLS] if args.all_impls else [("manual", "sigmoid")]
        for impl, tanh in variants:
            def fn(*a, impl=impl, tanh=tanh):
                return torch_ensemble_train(*a, impl=impl, tanh=tanh)
            rate = member_steps_per_second(fn, params, lrs, xs, ys, S)
            print(f"H={H:4d} ensemble {impl:8s} tanh={tanh:7s} P={args.members:4d}: {rate:10.1f} member-steps/s"
                  f"  ({rate * flops / 1e9:.1f} GFLOP/s in the recurrent products)")
        p_sub, l_sub = subset(params, lrs, slice(0, args.loop_members))
        rate = member_steps_per_second(torch_loop_train, p_sub, l_sub, xs, ys, loop_steps)
        print(f"H={H:4d} loop (nn.RNN per member)  P={args.loop_members:4d}: {rate:10.1f} member-steps/s"
              f"  ({rate * flops / 1e9:.1f} GFLOP/s in the recurrent products)")


if __name__ == "__main__":
    _main()
