"""The matched statistic psi(l) of the learnability window.

Livi 2025 (digest papers/livi.md, section 7.2). Whether a network can detect a
dependence at lag l from N samples is read off one scalar per sequence b and
time t >= l:

    psi_{b,t}(l) = sum_q mu^q_{t,l} delta_t^q v^q_{t-l},

- v_t = (d h_t / d theta)[w]: the tangent of the state sequence along one
  fixed random unit direction w of the trainable parameters (forward mode);
- delta_t = W_y^T (yhat_t - y_t): the error signal fed back to the state;
- mu^q_{t,l} = Lambda^q Gamma^q_{t,l}: the effective learning rate over the
  matched window {t-l+1, ..., t}, which carries h_{t-l} to h_t
  (``transport.effective_learning_rate(window="matched")``), with
  Gamma = Gamma0 + Gamma1 by default and Lambda the Rayleigh projection of the
  optimiser's per-weight rates (``transport.rayleigh_rates``).

The tail index, scale and mean of psi(l) per lag, and from them N_required(l)
and the window H_N, are computed by ``rnnscope.analysis.learnability``.

Layout. The model runs in JAX (float32); the statistic is assembled on the
host in float64, vectorised over lags (the lag-shifted tangents are one
gather, the sum over neurons one einsum), with the sequence axis cut into
slices so that no (lags, T, sequences, H) array exceeds
``transport.ELEMENT_BUDGET`` elements. Samples of lag l are a flat vector of
length B (T - l), ordered by sequence b, then time t = l, ..., T-1; the order
(and so every value) does not depend on how the sequences were sliced.

Sign orientation (the digest: "global sign oriented so that the mean is
non-negative"): one sign per lag, s_l = +1 if the mean of the raw psi(l) over
all its samples is >= 0, else -1; every sample of that lag is multiplied by
s_l. The sign of w is arbitrary, so only |mean| carries information; the
orientation makes the statistic's mean non-negative without touching its
spread or tail. Lags are oriented independently.

Counterfactual (ours): ``order=UNTRANSPORTED`` sets Gamma = 1, so mu = Lambda.
The SNR that N_required reads, mean(psi) / scale(psi), does not change when
every sample of a lag is multiplied by one number, so a transport that is the
same for every neuron and sequence (a ConstGate's Gamma0 = (1 - s)^l) drops
out of it: comparing N_required with and without Gamma shows how much of the
window the transport itself carries.

Supported models: real-valued states with a linear readout y = W_y h + b_y
(every model but the LRU), targets at every step.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..models.base import merge, trainable
from ..optim import OptimizerConfig
from .transport import (
    ELEMENT_BUDGET,
    StepFactors,
    batched_initial_state,
    effective_learning_rate,
    rayleigh_rates,
    step_factors,
    weight_rates,
    window_start_rates,
)

#: Seed of the random direction w: P2's w_seed = 212 (digest section 8.1).
DIRECTION_SEED = 212
#: ``order`` of the counterfactual statistic with Gamma = 1 (mu = Lambda); see the module note.
UNTRANSPORTED = "untransported"
#: Sequences run through the model at once by ``member_matched_statistic`` (our
#: choice): bounds the device memory of the factors and tangents, (T, chunk, H) each.
SEQUENCES_PER_CHUNK = 256


def random_direction(params, seed: int = DIRECTION_SEED):
    """A fixed random unit direction w in the space of trainable parameters.

    w = z / |z| with z ~ N(0, I) over every trainable leaf flattened together
    (``params["frozen"]`` is skipped), drawn from ``jax.random.PRNGKey(seed)``;
    returned as a pytree shaped like the trainable part of ``params``.
    Livi 2025 (digest papers/livi.md, section 7.2, step 1: one direction,
    seed ``w_seed``).
    """
    flat, unravel = ravel_pytree(trainable(params))
    z = jax.random.normal(jax.random.PRNGKey(seed), flat.shape, flat.dtype)
    return unravel(z / jnp.linalg.norm(z))


@functools.partial(jax.jit, static_argnums=0)
def tangent_states(model, params, h0, xs, direction):
    """States h_t and their tangents v_t = (d h_t / d theta)[w], both (T, B, H).

    Forward-mode Jacobian-vector product (``jax.jvp``) of the whole hidden
    state sequence ``model.run(params, h0, xs)`` with respect to the trainable
    parameters, along ``direction`` (a pytree like ``trainable(params)``, e.g.
    ``random_direction``); frozen leaves and the initial state are held fixed.
    Livi 2025 (digest papers/livi.md, section 7.2, step 1).
    """
    def hidden_states(train):
        return model.run(merge(train, params), h0, xs)

    return jax.jvp(hidden_states, (trainable(params),), (direction,))


def error_signal(params, hs, ys):
    """delta_t = W_y^T (yhat_t - y_t), (T, B, H), with yhat_t = W_y h_t + b_y.

    The gradient of (1/2)|yhat_t - y_t|^2 with respect to h_t: the error fed
    back into the state at time t. ``hs`` is (T, B, H); ``ys`` is (T, B, O)
    (or (T, B) when O = 1). Livi 2025 (digest papers/livi.md, section 7.2,
    step 2: delta_t = (yhat_t - y_t) w_out for a scalar output).
    """
    W_y = jnp.asarray(params["W_y"])
    ys = jnp.asarray(ys)
    if ys.ndim == 2:
        ys = ys[..., None]
    residual = hs @ W_y.T + params["b_y"] - ys
    return residual @ W_y


class MatchedStatistic(NamedTuple):
    """Oriented samples of psi(l) for every lag.

    lags: (n_lags,) int64.
    samples: one float64 vector per lag, length B (T - l), ordered by
        sequence b, then time t = l..T-1 (empty when l >= T).
    sign: (n_lags,) the sign s_l (+1 or -1) every raw sample of lag l was
        multiplied by.
    mean: (n_lags,) mean of the oriented samples, >= 0 (NaN without samples).
    """

    lags: np.ndarray
    samples: tuple[np.ndarray, ...]
    sign: np.ndarray
    mean: np.ndarray

    def padded(self) -> np.ndarray:
        """The samples as one (n_lags, max length) array, NaN after each lag's last sample."""
        width = max((s.size for s in self.samples), default=0)
        out = np.full((len(self.samples), width), np.nan)
        for row, s in zip(out, self.samples):
            row[: s.size] = s
        return out


def _sequence_slices(n_sequences: int, per_sequence: int) -> list[slice]:
    """Slices of the sequence axis whose (lags, T, b, H) arrays stay under ELEMENT_BUDGET."""
    size = max(1, min(n_sequences, ELEMENT_BUDGET // max(per_sequence, 1)))
    return [slice(i, min(i + size, n_sequences)) for i in range(0, n_sequences, size)]


def _slice_sequences(factors: StepFactors, sl: slice) -> StepFactors:
    return StepFactors(*(None if f is None else np.asarray(f)[:, sl] for f in factors))


def _raw_samples(factors: StepFactors, rates, delta, tangent, lags, order: str) -> list[np.ndarray]:
    """Un-oriented psi(l) per lag, each ordered (b, t), t = l..T-1."""
    T, B, H = np.shape(factors.carry)
    rates = np.asarray(rates, np.float64)
    delta = np.asarray(delta, np.float64)
    tangent = np.asarray(tangent, np.float64)
    # tangent v_{t-l} for every (lag, t); the index is clipped where t < l, which
    # only touches windows that effective_learning_rate marks invalid
    shifted = np.clip(np.arange(T)[None, :] - lags[:, None], 0, T - 1)
    pieces: list[list[np.ndarray]] = [[] for _ in lags]
    for sl in _sequence_slices(B, len(lags) * T * H):
        part_rates = rates[:, sl] if rates.ndim == 3 else rates
        part = _slice_sequences(factors, sl)
        mu = (window_start_rates(part_rates, lags, np.shape(part.carry), "matched") if order == UNTRANSPORTED
              else effective_learning_rate(part, part_rates, lags, "matched", order))
        psi = np.einsum("ltbh,tbh,ltbh->lbt", mu, delta[:, sl], tangent[shifted, sl])
        for i, lag in enumerate(lags):
            pieces[i].append(psi[i, :, lag:].ravel())
    return [np.concatenate(p) if p else np.zeros(0) for p in pieces]


def _oriented(lags, raw: list[np.ndarray]) -> MatchedStatistic:
    """Multiply each lag's samples by the sign of their mean (+1 when the mean is 0 or undefined)."""
    with np.errstate(invalid="ignore"):
        means = np.array([s.mean() if s.size else np.nan for s in raw])
    sign = np.where(means < 0, -1.0, 1.0)
    samples = tuple(s * g for s, g in zip(raw, sign))
    return MatchedStatistic(np.asarray(lags, np.int64), samples, sign, means * sign)


def matched_statistic(factors: StepFactors, rates, delta, tangent, lags, order: str = "full") -> MatchedStatistic:
    """psi_{b,t}(l) = sum_q mu^q_{t,l} delta_t^q v^q_{t-l}, one sample per (b, t >= l), sign-oriented per lag.

    Livi 2025 (digest papers/livi.md, section 7.2, step 3). ``factors`` are
    the model's per-step factors (``step_factors``) on the same run as
    ``delta`` (``error_signal``) and ``tangent`` (``tangent_states``), all
    (T, B, H); ``rates`` is Lambda, per step (T, B, H) from
    ``rayleigh_rates`` (read at each window's start, k = t - l + 1, i.e. from
    h_{t-l}) or per neuron (H,) / a scalar. mu^q_{t,l} = Lambda^q Gamma^q_{t,l}
    over the matched window {t-l+1..t}; ``order="full"`` (the digest's
    default) uses Gamma0 + Gamma1, ``"zeroth"`` Gamma0 only, and
    ``UNTRANSPORTED`` Gamma = 1 (the counterfactual of the module note).

    Each lag's samples are multiplied by one sign s_l so that their mean is
    >= 0 (see the module note); float64 throughout.
    """
    lags = np.asarray(lags, np.int64).ravel()
    return _oriented(lags, _raw_samples(factors, rates, delta, tangent, lags, order))


def member_matched_statistics(model, model_cfg, params, opt_state, opt_cfg: OptimizerConfig | None,
                              xs, ys, lags, orders=("full",), seed: int = DIRECTION_SEED,
                              sequences_per_chunk: int = SEQUENCES_PER_CHUNK) -> dict[str, MatchedStatistic]:
    """The matched statistic psi(l) of one trained member on a diagnostic set, one per Gamma ``order``.

    Livi 2025 (digest papers/livi.md, section 7.2, steps 1-3): w from
    ``random_direction(params, seed)``; per chunk of ``sequences_per_chunk``
    sequences of ``xs`` (T, B, D) / ``ys`` (T, B, O): the per-step factors
    (``step_factors``), states and tangents (``tangent_states``), the error
    signal (``error_signal``) and Lambda, the Rayleigh projection
    (``rayleigh_rates``) of the optimiser's per-weight rates
    (``weight_rates(params, opt_state, opt_cfg)``), as the transport probes
    use it; then ``matched_statistic`` for each of ``orders`` ("full",
    "zeroth" or ``UNTRANSPORTED``) on the same tangents. The sign orientation
    is applied once, to all sequences together. ``params`` and ``opt_state``
    are one member's (not batched over a population).
    """
    lags = np.asarray(lags, np.int64).ravel()
    direction = random_direction(params, seed)
    per_weight = weight_rates(params, opt_state, opt_cfg)
    B = xs.shape[1]
    raw = {order: [[] for _ in lags] for order in orders}
    for start in range(0, B, sequences_per_chunk):
        x = xs[:, start:start + sequences_per_chunk]
        y = ys[:, start:start + sequences_per_chunk]
        h0 = batched_initial_state(model, params, model_cfg, x.shape[1])
        factors = step_factors(model, params, h0, x)
        hs, vs = tangent_states(model, params, h0, x, direction)
        delta = error_signal(params, hs, y)
        rates = rayleigh_rates(per_weight, factors.h_prev_sq)
        for order, pieces in raw.items():
            for i, s in enumerate(_raw_samples(factors, rates, delta, vs, lags, order)):
                pieces[i].append(s)
    return {order: _oriented(lags, [np.concatenate(p) for p in pieces]) for order, pieces in raw.items()}


def member_matched_statistic(model, model_cfg, params, opt_state, opt_cfg: OptimizerConfig | None,
                             xs, ys, lags, seed: int = DIRECTION_SEED, order: str = "full",
                             sequences_per_chunk: int = SEQUENCES_PER_CHUNK) -> MatchedStatistic:
    """``member_matched_statistics`` for one ``order``."""
    return member_matched_statistics(model, model_cfg, params, opt_state, opt_cfg, xs, ys, lags, (order,), seed,
                                     sequences_per_chunk)[order]


__all__ = [
    "DIRECTION_SEED",
    "MatchedStatistic",
    "SEQUENCES_PER_CHUNK",
    "UNTRANSPORTED",
    "error_signal",
    "matched_statistic",
    "member_matched_statistic",
    "member_matched_statistics",
    "random_direction",
    "tangent_states",
]
