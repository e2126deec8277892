"""Transport, effective learning rates, the forgetting envelope f(l) and per-neuron time scales.

Livi 2026 (anti-collapse) and Livi 2025 (learnability window), as described in
the digest papers/livi.md, sections 3 and 4. Every model exposes a per-step
split of the diagonal state Jacobian, d h_t^q / d h_{t-1}^q ~ a_t^q + c_t^q
(carry and correction). Over a window W of l steps the transport is the
first-order expansion of prod_W (a + c):

    Gamma0 = prod_{p in W} a_p,      Gamma1 = Gamma0 * sum_{p in W} c_p / a_p,

assembled per architecture (GRU: extra products of the reset gate; LSTM: the
output gain at the window end). The optimiser base rate Lambda turns it into
an effective learning rate mu = Lambda * Gamma; f(l) averages |Gamma| (or |mu|)
over neurons, sequences and window positions; the slope of
E log|Gamma_q(l)| in l gives each neuron's time scale tau_q.

Layout:

- ``step_factors`` / ``exact_diagonal_factors`` run a model in JAX (float32)
  and return the per-step factors, shape (T, B, H).
- The transport engine (``transport``, ``assembled_transport``) and every
  reduction (``envelope``, ``neuron_log_transport``, ``neuron_timescales``)
  are NumPy float64 on the host, vectorised over lags, positions, sequences
  and neurons with prefix sums: a window's product is the difference of two
  prefix sums of log|a|, so every lag costs the same O(T) work and no loop
  runs over lags. Products are kept as (log|value|, sign) until the end, so
  long windows of small factors do not underflow.
- ``weight_rates`` (JAX) reads the optimiser state; ``row_mean_rates`` and
  ``rayleigh_rates`` (host) project it on neurons.
- ``transport_probes`` wraps the host code as probes for the training scan
  (``jax.pure_callback``).

Time indexing: ``xs[t]`` drives step t (t = 0..T-1), which maps the state
h_{t-1} (h_{-1} = h0, the initial state) to h_t; the factors at index t are
those of that step. Windows are indexed by an anchor t:

- envelope window W = {t, ..., t+l-1}: anchor = first step, valid for
  t = 0..T-l (T-l+1 starts, l <= T);
- matched window W = {t-l+1, ..., t}: anchor = last step, connecting h_t back
  to h_{t-l}; valid for t = l..T-1 (T-l ends, so that h_{t-l} is a state the
  network produced, as in the digest).

So the matched window ending at t is the envelope window starting at t-l+1.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..models import gru, lstm
from ..optim import OptimizerConfig, bias_corrected_second_moment, learning_rate
from .basic import Probe, ProbeContext

#: Carries are clamped to [CARRY_FLOOR, 1] (Livi's code, digest section 3.1).
CARRY_FLOOR = 1e-12
#: Smallest magnitude a factor may have before its logarithm is taken; a
#: factor that is exactly 0 (a saturated gate) would otherwise turn every
#: prefix sum after it into -inf and every later window into NaN.
_LOG_FLOOR = np.finfo(np.float64).tiny
#: Envelope lag grid (lo, hi, count): 128 lags linear over [4, 384], the P1
#: grid of the digest (section 3.4), clipped to <= T - 1 (our choice of P1's
#: over P2's [4, 256]).
ENVELOPE_LAGS = (4, 384, 128)
#: Lags of the per-neuron time-scale fit (lo, hi, count): 32 linear over
#: [64, 384] (digest section 4.1), clipped to <= T - 1.
FIT_LAGS = (64, 384, 32)
#: Recurrent H x H matrices whose per-weight rates form Lambda, by model:
#: elman, linear, ctrnn, constgate, sharedgate: W_h; diaggate: W_h, U_s;
#: gru: U_z, U_r, U_g (the digest's U_h is our U_g); lstm: U_i, U_f, U_g,
#: U_o. SharedGate's u_s is a length-H vector feeding one shared gate, not a
#: per-neuron row, so it is left out.
RECURRENT_MATRICES = ("W_h", "U_s", "U_z", "U_r", "U_i", "U_f", "U_g", "U_o")
#: Per-neuron recurrent parameters of diagonal recurrences (the LRU's nu,
#: which sets |lambda_q|): used only when no recurrent matrix is present.
RECURRENT_DIAGONALS = ("nu",)
WINDOWS = ("envelope", "matched")
ENVELOPE_VARIANTS = ("gamma0", "gamma", "lambda_gamma0")
ORDERS = ("zeroth", "full")
#: Elements of one (lags, positions, sequences, neurons) array the host code
#: builds at once; sequences are processed in slices below this size.
ELEMENT_BUDGET = 2**22


# ---------------------------------------------------------------------------
# Lag grids
# ---------------------------------------------------------------------------


def lag_grid(seq_len: int, lo: int = ENVELOPE_LAGS[0], hi: int = ENVELOPE_LAGS[1],
             count: int = ENVELOPE_LAGS[2]) -> np.ndarray:
    """``count`` integer lags linear over [lo, hi], squeezed into [1, T-1] for short sequences.

    Livi (digest papers/livi.md, section 3.4): P1 evaluates f(l) on 128 lags
    over [4, 384], which needs T > 384. For a shorter sequence (our choice)
    the grid ends at T - 1 and starts at lo scaled by the same factor
    (T - 1)/hi (at least 1), so a fit window keeps its shape instead of
    piling lags up at T - 1. The grid keeps ``count`` entries whatever T is,
    so probe shapes do not depend on the sequence length; lags repeat only
    when T - 1 < count (take ``np.unique`` for distinct lags).
    """
    top = min(hi, max(int(seq_len) - 1, 1))
    bottom = lo if top == hi else max(1.0, lo * top / hi)
    grid = np.rint(np.linspace(bottom, top, count))
    return np.clip(grid, 1, top).astype(np.int64)


def fit_lag_grid(seq_len: int, lo: int = FIT_LAGS[0], hi: int = FIT_LAGS[1],
                 count: int = FIT_LAGS[2]) -> np.ndarray:
    """Lags of the tau fit: 32 linear over [64, 384] (digest section 4.1), squeezed as in ``lag_grid``."""
    return lag_grid(seq_len, lo, hi, count)


# ---------------------------------------------------------------------------
# Per-step factors (JAX)
# ---------------------------------------------------------------------------


class StepFactors(NamedTuple):
    """Per-step factors of one model run, each (T, B, H).

    carry: a_t (Livi's leak); correction: c_t (``rdiag``); reset: the GRU's
    reset gate r_t (None for other models); output_gain: the LSTM's
    e_t = o_t (1 - tanh^2 c_t) of the state after step t (None otherwise);
    h_prev_sq: |h_{t-1}|^2 elementwise, the squared pre-synaptic state that
    step t reads (for the Rayleigh projection of Lambda).
    """

    carry: Any
    correction: Any
    reset: Any
    output_gain: Any
    h_prev_sq: Any


def batched_initial_state(model, params, cfg, batch: int):
    """The model's initial state repeated over a batch of ``batch`` sequences."""
    h0 = model.initial_state(params, cfg)
    return jax.tree.map(lambda z: jnp.broadcast_to(z, (batch,) + z.shape), h0)


def _run_states(model, params, h0, xs):
    """States before and after every step: (prev, new), pytrees with leading (T, B)."""
    batched_step = jax.vmap(model.step, in_axes=(None, 0, 0))

    def body(state, x):
        new = batched_step(params, state, x)
        return new, (state, new)

    return jax.lax.scan(body, h0, xs)[1]


def _over_time_and_batch(fn):
    return jax.vmap(jax.vmap(fn, in_axes=(None, 0, 0)), in_axes=(None, 0, 0))


def _squared_hidden(model, state):
    h = model.hidden_of(state)
    return (jnp.abs(h) ** 2).astype(jnp.float32)


@functools.partial(jax.jit, static_argnums=0)
def step_factors(model, params, h0, xs) -> StepFactors:
    """Per-step diagonal Jacobian split of a model run over ``xs`` (T, B, D).

    Livi (digest papers/livi.md, section 3.1): d h_t^q / d h_{t-1}^q ~
    a_t^q + c_t^q, with the carry a_t clamped to [1e-12, 1] and c_t the
    model's ``jacobian_split`` correction. Also returns the GRU reset gate r_t
    and the LSTM output gain e_t = o_t (1 - tanh^2 c_t), which the GRU and
    LSTM transports need (section 3.2), and the squared pre-synaptic states.
    ``h0`` is the batched initial state (see ``batched_initial_state``).
    """
    prev, new = _run_states(model, params, h0, xs)
    carry, correction = _over_time_and_batch(model.jacobian_split)(params, prev, xs)
    carry = jnp.clip(carry, CARRY_FLOOR, 1.0)
    correction = jnp.broadcast_to(correction, carry.shape)
    reset = _over_time_and_batch(gru.reset_gate)(params, prev, xs) if model.name == "gru" else None
    gain = lstm.output_gain(new) if model.name == "lstm" else None
    return StepFactors(carry, correction, reset, gain, _squared_hidden(model, prev))


def _lstm_cell_diagonal(params, state_prev, x):
    """diag of dc_t/dc_{t-1} with h_{t-1} = o_{t-1} tanh(c_{t-1}) following c_{t-1}, by autodiff."""
    h_prev, c_prev = state_prev
    squashed = jnp.tanh(c_prev)
    # o_{t-1} read back from h = o tanh(c); 0 at the initial state, where h does not follow c
    readable = jnp.abs(squashed) > 1e-30
    o_prev = jnp.where(readable, h_prev / jnp.where(readable, squashed, 1.0), 0.0)

    def cell(c):
        return lstm.step(params, (o_prev * jnp.tanh(c), c), x)[1]

    return jnp.diag(jax.jacfwd(cell)(c_prev))


@functools.partial(jax.jit, static_argnums=0)
def exact_diagonal_factors(model, params, h0, xs) -> StepFactors:
    """Per-step exact diagonal of the full state Jacobian, by forward-mode autodiff.

    carry_t = diag(d step(h_{t-1}, x_t) / d h_{t-1}) (``jax.jacfwd``), not
    clamped (it may be negative), correction = 0, no reset-gate term; the
    product of carries over a window is the exact Jacobian-diagonal product
    against which Livi validates the first-order transport (digest
    papers/livi.md, section 4.4). For the LSTM the Jacobian is that of the
    cell, dc_t/dc_{t-1} with h_{t-1} = o_{t-1} tanh(c_{t-1}) following
    c_{t-1} (see ``lstm.jacobian_split``), and the output gain e_t is kept so
    that the window end is multiplied by it as in the first-order transport.
    Real-valued states only (not the LRU, whose split is already exact).
    """
    prev, new = _run_states(model, params, h0, xs)
    if model.name == "lstm":
        diag = _over_time_and_batch(_lstm_cell_diagonal)(params, prev, xs)
        gain = lstm.output_gain(new)
    else:
        def diagonal(p, h, x):
            return jnp.diag(jax.jacfwd(lambda s: model.step(p, s, x))(h))

        diag = _over_time_and_batch(diagonal)(params, prev, xs)
        gain = None
    return StepFactors(diag, jnp.zeros_like(diag), None, gain, _squared_hidden(model, prev))


# ---------------------------------------------------------------------------
# Transport engine (NumPy float64)
# ---------------------------------------------------------------------------


class Transport(NamedTuple):
    """Gamma0, Gamma1 of one factor over windows: (n_lags, T, B, H), NaN where ``valid`` is False.

    valid: (n_lags, T), True where the window anchored at t is valid (see ``window_bounds``).
    """

    gamma0: np.ndarray
    gamma1: np.ndarray
    valid: np.ndarray


class AssembledTransport(NamedTuple):
    """Model-assembled transport over windows, kept as log-magnitude and sign.

    Each ``log_*`` / ``sign_*`` pair is (n_lags, T, B, H) with NaN log where
    ``valid`` (n_lags, T) is False; ``zeroth``, ``first`` and ``full`` give
    sign * exp(log), full = zeroth + first.
    """

    log_zeroth: np.ndarray
    sign_zeroth: np.ndarray
    log_first: np.ndarray
    sign_first: np.ndarray
    log_full: np.ndarray
    sign_full: np.ndarray
    valid: np.ndarray

    @property
    def zeroth(self) -> np.ndarray:
        return self.sign_zeroth * np.exp(self.log_zeroth)

    @property
    def first(self) -> np.ndarray:
        return self.sign_first * np.exp(self.log_first)

    @property
    def full(self) -> np.ndarray:
        return self.sign_full * np.exp(self.log_full)


class _Signed(NamedTuple):
    """A value stored as log|value| and sign (sign may be a scalar 1.0)."""

    log: np.ndarray
    sign: Any


def _check_window(window: str) -> None:
    if window not in WINDOWS:
        raise ValueError(f"window={window!r}: allowed {WINDOWS}")


def window_bounds(seq_len: int, lags, window: str = "envelope"):
    """Index bounds of every window: (start, stop, valid), each (n_lags, T).

    The window anchored at t covers steps start..stop-1. Envelope window
    {t..t+l-1}: start = t, valid for t + l <= T. Matched window {t-l+1..t}:
    start = t - l + 1, valid for t >= l (Livi, digest papers/livi.md,
    section 3.2). Invalid bounds are clipped into [0, T] so they can index.
    """
    _check_window(window)
    lags = np.asarray(lags, np.int64).reshape(-1, 1)
    if np.any(lags < 1):
        raise ValueError(f"lags: every lag must be >= 1, got {lags.min()}")
    t = np.arange(seq_len, dtype=np.int64).reshape(1, -1)
    shape = (lags.shape[0], seq_len)
    if window == "envelope":
        start, stop = np.broadcast_to(t, shape), t + lags
        valid = stop <= seq_len
    else:
        start, stop = t - lags + 1, np.broadcast_to(t + 1, shape)
        valid = np.broadcast_to(t >= lags, shape)
    return np.clip(start, 0, seq_len), np.clip(stop, 0, seq_len), valid


def _prefix(x: np.ndarray) -> np.ndarray:
    """Prefix sums along time with a leading zero: (T, ...) -> (T+1, ...)."""
    out = np.zeros((x.shape[0] + 1,) + x.shape[1:], x.dtype)
    np.cumsum(x, axis=0, out=out[1:])
    return out


def _window_sum(x: np.ndarray, start, stop) -> np.ndarray:
    """sum_{p=start}^{stop-1} x_p for every window: (n_lags, T, B, H)."""
    p = _prefix(np.asarray(x, np.float64))
    return p[stop] - p[start]


def _window_product(x: np.ndarray, start, stop) -> _Signed:
    """prod_{p=start}^{stop-1} x_p as (log|prod|, sign), from prefix sums of log|x|."""
    x = np.asarray(x, np.float64)
    log_abs = _window_sum(np.log(np.maximum(np.abs(x), _LOG_FLOOR)), start, stop)
    negative = x < 0
    if not negative.any():
        return _Signed(log_abs, 1.0)
    count = _prefix(negative.astype(np.int64))
    odd = (count[stop] - count[start]) % 2
    return _Signed(log_abs, 1.0 - 2.0 * odd)


def _log_signed(x: np.ndarray) -> _Signed:
    with np.errstate(divide="ignore"):
        return _Signed(np.log(np.abs(x)), np.sign(x))


def _times(a: _Signed, b: _Signed) -> _Signed:
    return _Signed(a.log + b.log, a.sign * b.sign)


def _plus(*terms: _Signed) -> _Signed:
    """Sum of signed log-magnitude terms (a signed log-sum-exp)."""
    top = np.max(np.stack([t.log for t in terms]), axis=0)
    top = np.where(np.isfinite(top), top, 0.0)
    total = sum(t.sign * np.exp(t.log - top) for t in terms)
    with np.errstate(divide="ignore"):
        return _Signed(top + np.log(np.abs(total)), np.sign(total))


def _ratio_sum(carry, correction, start, stop) -> np.ndarray:
    """sum c/a over each window, Gamma1 / Gamma0 of the factorised first-order transport."""
    carry = np.asarray(carry, np.float64)
    correction = np.asarray(correction, np.float64)
    # a zero correction contributes nothing, even where an exact factor is 0
    ratio = np.divide(correction, carry, out=np.zeros_like(carry), where=correction != 0)
    return _window_sum(ratio, start, stop)


def _first_order(carry, correction, start, stop):
    """Gamma0 and sum c/a over each window (the factorised first-order transport)."""
    return _window_product(carry, start, stop), _ratio_sum(carry, correction, start, stop)


def _mask(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return np.where(valid[:, :, None, None], x, np.nan)


def transport(carry, correction, lags, window: str = "envelope") -> Transport:
    """Gamma0 and Gamma1 of one carry/correction pair over lag windows, in float64.

    Livi (digest papers/livi.md, section 3.2):

        Gamma0(W) = prod_{p in W} a_p,    Gamma1(W) = Gamma0(W) sum_{p in W} c_p / a_p,

    from prefix sums of log|a| and of c/a (float64), for W the envelope window
    {t..t+l-1} or the matched window {t-l+1..t} (see ``window_bounds``).
    ``carry`` and ``correction`` are (T, B, H); the carry must be non-zero
    (``step_factors`` clamps it to [1e-12, 1]). Returns (n_lags, T, B, H)
    arrays, NaN outside the valid anchors.
    """
    carry = np.asarray(carry, np.float64)
    start, stop, valid = window_bounds(carry.shape[0], lags, window)
    gamma0, ratio_sum = _first_order(carry, correction, start, stop)
    g0 = gamma0.sign * np.exp(gamma0.log)
    return Transport(_mask(g0, valid), _mask(g0 * ratio_sum, valid), valid)


def assembled_transport(factors: StepFactors, lags, window: str = "envelope") -> AssembledTransport:
    """Model-assembled transport Gamma over lag windows (float64, log-magnitude and sign).

    Livi (digest papers/livi.md, section 3.2), with Gamma0, Gamma1 of the
    carry a and window end e:

    - gated leaky models and any model without reset/gain factors:
      zeroth = Gamma0, full = Gamma0 + Gamma1;
    - GRU (``factors.reset`` given; a = 1 - z):
      Gamma = [Gamma0 + Gamma1 of (1-z)] + prod r + prod (1-z) r; the
      zeroth-order part is the three products, the first-order part Gamma1;
    - LSTM (``factors.output_gain`` given; a = f):
      Gamma = (Gamma0 + Gamma1 of f) * e_end, e_end the output gain after the
      window's last step.

    Returns first = full - zeroth as well (the Gamma1 audit term).
    """
    carry = np.asarray(factors.carry, np.float64)
    start, stop, valid = window_bounds(carry.shape[0], lags, window)
    gamma0, ratio_sum = _first_order(carry, factors.correction, start, stop)
    first = _times(gamma0, _log_signed(ratio_sum))
    full = _times(gamma0, _log_signed(1.0 + ratio_sum))
    zeroth = gamma0
    if factors.reset is not None:
        reset = _window_product(factors.reset, start, stop)
        reset_and_carry = _times(gamma0, reset)
        zeroth = _plus(gamma0, reset, reset_and_carry)
        full = _plus(full, reset, reset_and_carry)
    if factors.output_gain is not None:
        end = np.maximum(stop - 1, 0)
        gain = _log_signed(np.asarray(factors.output_gain, np.float64)[end])
        zeroth, first, full = (_times(v, gain) for v in (zeroth, first, full))

    def logs(v):
        return _mask(v.log, valid), np.broadcast_to(v.sign, v.log.shape)

    return AssembledTransport(*logs(zeroth), *logs(first), *logs(full), valid)


# ---------------------------------------------------------------------------
# Optimiser base rates Lambda
# ---------------------------------------------------------------------------


def recurrent_leaves(params) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Names of the recurrent H x H matrices and, when there are none, of the per-neuron
    recurrent vectors of ``params`` (see ``RECURRENT_MATRICES``, ``RECURRENT_DIAGONALS``)."""
    matrices = tuple(
        n for n in RECURRENT_MATRICES
        if n in params and np.ndim(params[n]) == 2 and params[n].shape[0] == params[n].shape[1]
    )
    if matrices:
        return matrices, ()
    return (), tuple(n for n in RECURRENT_DIAGONALS if n in params and np.ndim(params[n]) == 1)


def _uses_rms_state(opt_state) -> bool:
    leaves = jax.tree.leaves(opt_state, is_leaf=lambda s: isinstance(s, optax.ScaleByRmsState))
    return any(isinstance(s, optax.ScaleByRmsState) for s in leaves)


def weight_rates(params, opt_state, opt_cfg: OptimizerConfig | None = None) -> jax.Array:
    """Per-weight base rates lambda_qj (H, H), averaged over the recurrent matrices.

    Livi (digest papers/livi.md, section 3.3): SGD and momentum:
    lambda_qj = eta; Adam/AdamW: lambda_qj = eta / (sqrt(vhat_qj) + eps) with
    vhat the bias-corrected second moment; the mean is over the recurrent
    H x H matrices present (``recurrent_leaves``; input and bias blocks are
    ignored, the digest's proxy). RMSprop: optax's update divides by
    sqrt(nu + eps) (eps inside the root, no bias correction), so
    lambda_qj = eta / sqrt(nu_qj + eps), the rate the update really applies
    (the digest's eta / (sqrt(v) + eps) is torch's placement). For a diagonal
    recurrence (the LRU's nu) lambda_q is repeated along row q.

    ``params`` may hold ``"frozen"`` leaves (they are ignored); ``opt_state``
    is the ``make_optimizer`` state of the trainable leaves; ``opt_cfg``
    supplies b2 and eps (defaults: ``OptimizerConfig()``).
    """
    cfg = opt_cfg or OptimizerConfig()
    matrices, diagonals = recurrent_leaves(params)
    names = matrices or diagonals
    if not names:
        raise ValueError(f"no recurrent parameters among {sorted(params)}")
    eta = jnp.asarray(learning_rate(opt_state), jnp.float32)
    H = params[names[0]].shape[0]
    vhat = bias_corrected_second_moment(opt_state, cfg)
    if vhat is None:
        return jnp.full((H, H), eta, jnp.float32)
    if _uses_rms_state(opt_state):
        rates = [eta / jnp.sqrt(vhat[n] + cfg.eps) for n in names]
    else:
        rates = [eta / (jnp.sqrt(vhat[n]) + cfg.eps) for n in names]
    mean = sum(rates) / len(rates)
    return mean if matrices else jnp.broadcast_to(mean[:, None], (H, H))


def row_mean_rates(rates) -> np.ndarray:
    """Lambda^q = (1/H) sum_j lambda_qj (float64, (..., H)).

    Livi (digest papers/livi.md, section 3.3): the row mean, also the
    "LayerNorm approximation" and the fallback of the Rayleigh projection.
    """
    return np.asarray(rates, np.float64).mean(axis=-1)


def rayleigh_rates(rates, h_prev_sq) -> np.ndarray:
    """Lambda^q(b, k) = sum_j lambda_qj h_{k-1,j}^2 / sum_j h_{k-1,j}^2, (T, B, H) float64.

    Livi (digest papers/livi.md, section 3.3): the per-weight rates projected
    on the pre-synaptic state read by step k (``h_prev_sq[k]`` =
    h_{k-1}^2), i.e. at the start of a window starting at k; where
    h_{k-1} = 0 (the initial state) the row mean (1/H) sum_j lambda_qj.
    """
    rates = np.asarray(rates, np.float64)
    h2 = np.asarray(h_prev_sq, np.float64)
    weight = h2.sum(axis=-1, keepdims=True)
    projected = h2 @ rates.T / np.where(weight > 0, weight, 1.0)
    return np.where(weight > 0, projected, row_mean_rates(rates))


def _rates_at_window_start(rates, start) -> np.ndarray:
    """Per-step rates (T, B, H) gathered at each window start, or per-neuron rates broadcast."""
    rates = np.asarray(rates, np.float64)
    if rates.ndim == 3:
        return rates[start]
    return rates


def window_start_rates(rates, lags, shape, window: str = "envelope") -> np.ndarray:
    """Lambda read at every window's start, (n_lags, T, B, H) float64, NaN outside valid windows.

    ``rates`` as in ``effective_learning_rate``; ``shape`` is (T, B, H). This
    is mu with Gamma = 1: the optimiser's rates without the transport.
    """
    start, _, valid = window_bounds(shape[0], lags, window)
    rates = np.broadcast_to(_rates_at_window_start(rates, start), (len(start),) + tuple(shape))
    return _mask(rates, valid)


def effective_learning_rate(factors: StepFactors, rates, lags, window: str = "envelope",
                            order: str = "zeroth") -> np.ndarray:
    """mu^q_{t,l} = Lambda^q Gamma^q_{t,l}, (n_lags, T, B, H) float64, NaN outside valid windows.

    Livi (digest papers/livi.md, section 3.3, the GELR). ``rates`` is a
    per-step (T, B, H) array (``rayleigh_rates``: read at each window's start)
    or a per-neuron (H,) array / scalar (``row_mean_rates``, SGD's eta);
    ``order`` picks Gamma's zeroth-order part or the full first-order one.
    """
    _check_order(order)
    start, stop, valid = window_bounds(np.shape(factors.carry)[0], lags, window)
    if factors.reset is not None or factors.output_gain is not None:
        gamma = assembled_transport(factors, lags, window)
        value = gamma.zeroth if order == "zeroth" else gamma.full
    else:
        # gated leaky models: Gamma0 (1 + sum c/a) directly, without the signed-log
        # bookkeeping the GRU and LSTM sums need (the same values, at a third of the cost)
        gamma0 = _window_product(factors.carry, start, stop)
        value = _mask(gamma0.sign * np.exp(gamma0.log), valid)
        if order == "full":
            value = value * (1.0 + _ratio_sum(factors.carry, factors.correction, start, stop))
    return _rates_at_window_start(rates, start) * value


# ---------------------------------------------------------------------------
# Envelope f(l) and per-neuron time scales (host reductions)
# ---------------------------------------------------------------------------


def _check_order(order: str) -> None:
    if order not in ORDERS:
        raise ValueError(f"order={order!r}: allowed {ORDERS}")


def _batch_slices(factors: StepFactors, n_lags: int):
    """Slices of the sequence axis that keep one (n_lags, T, b, H) array under ELEMENT_BUDGET."""
    T, B, H = np.shape(factors.carry)
    per_sequence = max(n_lags * T * H, 1)
    size = max(1, min(B, ELEMENT_BUDGET // per_sequence))
    return [slice(i, min(i + size, B)) for i in range(0, B, size)]


def _take(factors: StepFactors, sl: slice) -> StepFactors:
    return StepFactors(*(None if f is None else np.asarray(f)[:, sl] for f in factors))


class Envelope(NamedTuple):
    """f(l) on ``lags`` and the audit ratio E|Gamma1| / E|Gamma0| per lag."""

    lags: np.ndarray
    f: np.ndarray
    first_order_ratio: np.ndarray


def envelope(factors: StepFactors, lags=None, variant: str = "gamma0", window: str = "envelope",
             rates=None) -> Envelope:
    """Forgetting envelope f(l) = E_{b,t}[(1/H) sum_q |Gamma^q_{t,l}|], float64.

    Livi (digest papers/livi.md, section 3.4). ``variant``:

    - ``"gamma0"`` (canonical, P1's newest code): |Gamma0|, the zeroth-order
      assembled transport;
    - ``"gamma"``: |Gamma0 + Gamma1|, the full first-order transport;
    - ``"lambda_gamma0"``: |Lambda Gamma0|, the GELR-weighted envelope;
      ``rates`` is then required (``rayleigh_rates`` (T, B, H), read at each
      window's start, or ``row_mean_rates`` (H,)).

    The mean runs over the sequences and the valid anchors t of each lag
    (T-l+1 for the envelope window). ``lags`` defaults to ``lag_grid(T)``.
    ``first_order_ratio`` is E|Gamma1| / E|Gamma0| per lag (the digest's
    audit of how far the first-order term moves the envelope).
    """
    if variant not in ENVELOPE_VARIANTS:
        raise ValueError(f"variant={variant!r}: allowed {ENVELOPE_VARIANTS}")
    if variant == "lambda_gamma0" and rates is None:
        raise ValueError("variant='lambda_gamma0' needs rates (rayleigh_rates or row_mean_rates)")
    T = np.shape(factors.carry)[0]
    lags = lag_grid(T) if lags is None else np.asarray(lags, np.int64)
    rates = None if rates is None else np.asarray(rates, np.float64)
    start, _, _ = window_bounds(T, lags, window)
    mass = np.zeros(len(lags))
    mass0 = np.zeros(len(lags))
    mass1 = np.zeros(len(lags))
    count = np.zeros(len(lags))
    for sl in _batch_slices(factors, len(lags)):
        gamma = assembled_transport(_take(factors, sl), lags, window)
        keep = gamma.valid[:, :, None, None]
        size = np.exp(gamma.log_zeroth)
        mass0 += np.where(keep, size, 0.0).sum(axis=(1, 2, 3))
        mass1 += np.where(keep, np.exp(gamma.log_first), 0.0).sum(axis=(1, 2, 3))
        if variant == "gamma":
            size = np.exp(gamma.log_full)
        elif variant == "lambda_gamma0":
            part = rates[:, sl] if rates.ndim == 3 else rates
            size = np.abs(_rates_at_window_start(part, start)) * size
        mass += np.where(keep, size, 0.0).sum(axis=(1, 2, 3))
        count += gamma.valid.sum(axis=1) * size.shape[2] * size.shape[3]
    with np.errstate(invalid="ignore", divide="ignore"):
        return Envelope(lags, mass / count, mass1 / mass0)


def neuron_log_transport(factors: StepFactors, lags, order: str = "full",
                         window: str = "envelope") -> np.ndarray:
    """L_q(l) = E_{b,t}[log |Gamma^q_{t,l}|], (n_lags, H) float64.

    Livi (digest papers/livi.md, section 4.1): Gamma = Gamma0 + Gamma1
    (``order="full"``, the digest's choice) or its zeroth-order part, no
    Lambda; the mean runs over sequences and valid anchors. Computed from
    log-magnitudes, so long windows do not underflow.
    """
    _check_order(order)
    lags = np.asarray(lags, np.int64)
    total = 0.0
    count = np.zeros(len(lags))
    for sl in _batch_slices(factors, len(lags)):
        gamma = assembled_transport(_take(factors, sl), lags, window)
        log_abs = gamma.log_full if order == "full" else gamma.log_zeroth
        total = total + np.where(gamma.valid[:, :, None, None], log_abs, 0.0).sum(axis=(1, 2))
        count += gamma.valid.sum(axis=1) * log_abs.shape[2]
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count[:, None]


class Timescales(NamedTuple):
    """Per-neuron fit L_q(l) = intercept_q + slope_q l; tau_q = -1/slope_q where valid, else NaN."""

    tau: np.ndarray
    slope: np.ndarray
    intercept: np.ndarray
    r2: np.ndarray
    valid: np.ndarray
    lags: np.ndarray


def fit_timescales(lags, log_transport) -> Timescales:
    """OLS of L_q(l) on l per neuron (vectorised): tau_q = -1/slope_q.

    Livi (digest papers/livi.md, section 4.1): L_q(l) = a_q - l / tau_q; a
    neuron whose slope is >= 0 (or not finite) is invalid and gets tau = NaN,
    never inf; R^2 = 1 - SS_res / SS_tot per neuron (NaN when L_q is flat).
    ``log_transport`` is (n_lags, H) (or (n_lags,) for one neuron).
    """
    x = np.asarray(lags, np.float64)
    y = np.asarray(log_transport, np.float64)
    if np.unique(x).size < 2:
        raise ValueError("fit lags: need at least two distinct lags")
    xc = (x - x.mean()).reshape((-1,) + (1,) * (y.ndim - 1))
    yc = y - y.mean(axis=0)
    slope = (xc * yc).sum(axis=0) / (xc**2).sum()
    intercept = y.mean(axis=0) - slope * x.mean()
    ss_res = ((yc - slope * xc) ** 2).sum(axis=0)
    ss_tot = (yc**2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)
        valid = np.isfinite(slope) & (slope < 0)
        tau = np.where(valid, -1.0 / np.where(valid, slope, -1.0), np.nan)
    return Timescales(tau, slope, intercept, r2, valid, x.astype(np.int64))


def neuron_timescales(factors: StepFactors, fit_lags=None, order: str = "full",
                      window: str = "envelope") -> Timescales:
    """Per-neuron time scales tau_q from the decay of E log|Gamma_q(l)|.

    Livi (digest papers/livi.md, section 4.1): L_q(l) = E_{b,t} log|Gamma_q(l)|
    on ``fit_lags`` (default ``fit_lag_grid(T)``: 32 lags over [64, 384],
    clipped to T - 1), then ``fit_timescales``.
    """
    T = np.shape(factors.carry)[0]
    lags = fit_lag_grid(T) if fit_lags is None else np.asarray(fit_lags, np.int64)
    return fit_timescales(lags, neuron_log_transport(factors, lags, order, window))


def diagonal_timescales(eigenvalues) -> np.ndarray:
    """tau = -1 / log|lambda| per eigenvalue (float64); NaN where |lambda| >= 1 or lambda = 0.

    The linear-recurrence time scale: a mode multiplied by lambda each step
    decays as |lambda|^l = exp(-l / tau). For a diagonal recurrence (the
    LRU's ``eigenvalues(params)``) the eigenvalues are the diagonal itself.
    This is the eigen route; Livi's codes have only the transport route
    (digest papers/livi.md, section 4.1).
    """
    r = np.abs(np.asarray(eigenvalues, np.complex128))
    ok = (r > 0) & (r < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, -1.0 / np.log(np.where(ok, r, 0.5)), np.nan)


def eigen_timescales(W) -> np.ndarray:
    """tau_i = -1 / log|lambda_i(W)| from the eigenvalues of a recurrent matrix W (..., H, H).

    For a linear RNN h_t = W h_{t-1} + ..., each eigenmode decays as
    |lambda|^l; unstable or non-decaying modes (|lambda| >= 1) give NaN.
    Eigenvalues from LAPACK in float64, in LAPACK's order.
    """
    W = np.asarray(W)
    wide = np.complex128 if np.iscomplexobj(W) else np.float64
    return diagonal_timescales(np.linalg.eigvals(W.astype(wide)))


# ---------------------------------------------------------------------------
# Probes for the training scan
# ---------------------------------------------------------------------------


#: Sequences of the probe batch the in-training transport probes use (our choice): the
#: host cost grows as lags x T x batch x H per member and record, and the average over
#: start times t already pools T - l windows per sequence. Final diagnostics on a large
#: held-out set call ``step_factors`` and ``envelope`` directly.
PROBE_SEQUENCES = 16


def _member_factors(ctx: ProbeContext) -> StepFactors:
    xs = ctx.probe_x[:, :PROBE_SEQUENCES]
    h0 = batched_initial_state(ctx.model, ctx.params, ctx.cfg, xs.shape[1])
    return step_factors(ctx.model, ctx.params, h0, xs)


def _host(fn, shape, *args):
    """Run the float64 host function ``fn`` on one member's arrays; float32 result of ``shape``."""
    out = jax.ShapeDtypeStruct(shape, jnp.float32)

    def call(*arrays):
        # an exception inside a callback would stall the compiled population program; a
        # measurement that cannot be made is recorded as NaN, like a diverged member's
        try:
            return np.asarray(fn(*arrays), np.float32).reshape(shape)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as err:
            warnings.warn(f"transport probe gave NaN: {err}", RuntimeWarning, stacklevel=1)
            return np.full(shape, np.nan, np.float32)

    return jax.pure_callback(call, out, *args, vmap_method="sequential")


def transport_probes(hidden: int | None = None, opt_cfg: OptimizerConfig | None = None,
                     lags=None, fit_lags=None, variant: str = "gamma0") -> dict[str, Probe]:
    """Probes of the transport family, to be recorded inside the training scan.

    Each probe runs ``step_factors`` on the member's held-out ``probe_x`` in
    JAX and hands the factors to the float64 host code through
    ``jax.pure_callback`` (Livi, digest papers/livi.md, sections 3-4):

    - ``"envelope"`` (n_lags,): f(l) of ``variant`` (canonical ``"gamma0"``;
      ``"lambda_gamma0"`` uses the Rayleigh-projected Lambda);
    - ``"envelope_gamma"`` (n_lags,): the first-order audit E|Gamma0 + Gamma1|;
    - ``"envelope_lambda"`` (n_lags,): the GELR envelope E|Lambda Gamma0| with
      Rayleigh-projected Lambda;
    - ``"envelope_ratio"`` (n_lags,): E|Gamma1| / E|Gamma0|;
    - ``"timescales"`` (H,): tau_q of ``neuron_timescales``, NaN where invalid;
    - ``"timescales_r2"`` (H,): the R^2 of each neuron's fit.

    ``lags`` / ``fit_lags`` default to ``lag_grid(T)`` / ``fit_lag_grid(T)``
    with T the probe batch's length (fixed counts, 128 and 32, so shapes do
    not depend on T). ``hidden`` only fixes the declared shape of the
    per-neuron probes (``()`` when not given; the engine reads the real shape
    from the function). ``opt_cfg`` supplies b2 and eps for Lambda (default: the
    run's own optimiser config, ``ctx.opt_cfg``).
    """
    if variant not in ENVELOPE_VARIANTS:
        raise ValueError(f"variant={variant!r}: allowed {ENVELOPE_VARIANTS}")
    n_lags = len(lags) if lags is not None else ENVELOPE_LAGS[2]
    per_neuron = (hidden,) if hidden is not None else ()

    def lags_for(ctx):
        return lag_grid(ctx.probe_x.shape[0]) if lags is None else np.asarray(lags, np.int64)

    def fit_lags_for(ctx):
        return fit_lag_grid(ctx.probe_x.shape[0]) if fit_lags is None else np.asarray(fit_lags, np.int64)

    def envelope_of(which, field="f"):
        def probe(ctx: ProbeContext):
            grid = lags_for(ctx)
            factors = _member_factors(ctx)
            rates = weight_rates(ctx.params, ctx.opt_state, opt_cfg or ctx.opt_cfg) if which == "lambda_gamma0" else None

            def host(f, r):
                projected = None if r is None else rayleigh_rates(r, f.h_prev_sq)
                return getattr(envelope(f, grid, which, rates=projected), field)

            return _host(host, grid.shape, factors, rates)

        return probe

    def timescale_field(field):
        def probe(ctx: ProbeContext):
            grid = fit_lags_for(ctx)

            def host(f):
                return getattr(neuron_timescales(f, grid), field)

            return _host(host, (ctx.cfg.hidden,), _member_factors(ctx))

        return probe

    return {
        "envelope": Probe("envelope", envelope_of(variant), (n_lags,), one_device=True),
        "envelope_gamma": Probe("envelope_gamma", envelope_of("gamma"), (n_lags,), one_device=True),
        "envelope_lambda": Probe("envelope_lambda", envelope_of("lambda_gamma0"), (n_lags,), one_device=True),
        "envelope_ratio": Probe("envelope_ratio", envelope_of("gamma0", "first_order_ratio"), (n_lags,), one_device=True),
        "timescales": Probe("timescales", timescale_field("tau"), per_neuron, one_device=True),
        "timescales_r2": Probe("timescales_r2", timescale_field("r2"), per_neuron, one_device=True),
    }


__all__ = [
    "AssembledTransport",
    "CARRY_FLOOR",
    "ENVELOPE_LAGS",
    "Envelope",
    "FIT_LAGS",
    "RECURRENT_DIAGONALS",
    "RECURRENT_MATRICES",
    "StepFactors",
    "Timescales",
    "Transport",
    "assembled_transport",
    "batched_initial_state",
    "diagonal_timescales",
    "effective_learning_rate",
    "eigen_timescales",
    "envelope",
    "exact_diagonal_factors",
    "fit_lag_grid",
    "fit_timescales",
    "lag_grid",
    "neuron_log_transport",
    "neuron_timescales",
    "rayleigh_rates",
    "recurrent_leaves",
    "row_mean_rates",
    "step_factors",
    "transport",
    "transport_probes",
    "weight_rates",
    "window_bounds",
    "window_start_rates",
]
