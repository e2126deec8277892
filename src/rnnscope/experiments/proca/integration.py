"""Sensory integration without the theory's assumptions (Proca, Dominé, Shanahan & Mediano 2025, Figs. 6, A8).

Digest ``papers/proca.md`` 4.2, 4.6, checklist items 8 and 9; paper section
3.6, App. L and P.4.3. Unaligned bias-free linear RNNs from small random
weights are trained on neurogym-style multisensory inputs
(``rnnscope.tasks.sensory``, registered ``"sensory_integration"``; 4
channels, not whitened) to output the sum, the mean, or a late- or
early-weighted sum of their inputs.

Fig. 6 (sum and mean) trains through the population engine
(``train_population``, ``ModelConfig(arch="linear", bias=False)``): the task
draws fresh trials every step, so this is stochastic gradient descent on
fresh batches; the weights are read between warm-started phases
(``train_snapshots``). Fig. A8 (late and early importance) is about the
stability of gradient descent itself, so it uses the paper's optimiser:
full-batch gradient descent on one fixed set (``gd_trace``), whose
stability bound is exactly 2 / lambda_max of that set's loss Hessian.

Fig. 6: why the run is long, and why momentum. Within a trial the stimulus
is constant in time; only the noise (variance s^2 = sigma^2 / dt = 0.01 per
step and channel) changes from step to step. The stimulus therefore fixes
only the sum over lags of the lag maps M_k = W_y W_h^k W_x (its coherent
part has second moment ~T^2 |m|^2 ~ 50), while each M_k on its own, and with
it W_h, is learned from the noise alone (curvature ~s^2 = 0.01): the
condition number is ~10^3 to 10^4. One input direction, (1, 1, -1, -1) / 2
(modality-1 total minus modality-2 total), carries no stimulus at all and is
learned last, from a saddle. Plain SGD at the largest stable rate needs
>= 10^5 steps; heavy-ball momentum ``MOMENTUM`` = 0.9 (10 times the
effective rate along the slow directions at the same stability) learns the
noise-only direction in ~1.4 10^4 steps. Momentum changes the path, not the
fixed points the Fig. 6 claims are about (our choice; the paper's optimiser
is plain gradient descent). With N_h = N_x = 4 that direction has no spare
hidden dimension and sat at its saddle for 25k-60k steps in our trials, so
N_h = ``HIDDEN`` = 16 (our choice). Momentum 0.95 or 0.98 at the same rates
was faster but moved hidden directions the task does not constrain (W_h's
top singular value 1.07-1.17; the sum task diverged at 0.98), so we kept 0.9.

What is measured, and our choices where the paper is silent (digest GAPS):

- W_h's singular values. With N_h > N_x only N_x of them are constrained by
  the task: the gradient of W_h lies in the span of (W_h^T)^r W_y^T (rows) times
  (W_h^k W_x)^T (columns), so the rest keep their small initial values. We
  claim the top N_x = 4 go to 1, within 2 sigma^2: the untrained initial part E
  of W_h, of norm ~2 sigma (Bai-Yin), shifts a unit singular value only at
  second order, sqrt(1 + |E|^2) - 1 <= |E|^2 / 2.
- "Input-output singular values": those of W_y W_x, the lag-0 map, which the
  sum and mean tasks fix to I and I / T whatever the inputs (our reading).
  The other reading, W_x and W_y separately at 1 (sum) and 1 / sqrt(T)
  (mean), is not a prediction of the theory for these networks, and we make
  no claim of it (the figure shows both factors). The theory gets it from
  balance: for aligned modes a^2 - c^2 is conserved, so from small weights
  a = c = sqrt(ac). For an unaligned recurrent network the quantity gradient
  flow conserves (the symmetry h -> G h) is
  Q = W_x W_x^T + W_h W_h^T - W_h^T W_h - W_y^T W_y: nothing holds
  W_x W_x^T - W_y^T W_y alone at its initial size, only its sum with the
  commutator term of W_h, which is O(1) for a W_h that moves the states W_x
  reaches. And Q is conserved by the flow only: a discrete, momentum,
  fresh-batch optimiser breaks it. Measured here (``balance_terms``, last
  panel of the figure): the commutator term is ~0.1, while Q itself drifts
  by ~0.7 (sum) and ~0.3 (mean), most of it in the first fast transient, and
  |W_x W_x^T - W_y^T W_y| ends at ~0.6 and ~0.3: W_x and W_y end unbalanced
  (sum: W_y's top singular value ~1.15, W_x's smallest ~0.9) while their
  product is exact.
- A bound on the lag maps from the loss: with x_t = m + eps_t (trial mean m,
  independent noise), the expected loss is
  (1/N_y) [ |sum_k D_k m|^2 + s^2 sum_k |D_k|_F^2 ] with D_k = M_k - target_k,
  so sum_k |D_k|_F^2 <= N_y L / s^2 (``lag_map_bound``; L is the engine's
  held-out estimate on 512 trials).
- Extrapolation to T' = 1..2T on the prefixes of one held-out batch of length
  2T (``extrapolation``; the same numbers as ``probes.extrapolation`` with a
  prefix sampler). For these non-whitened inputs a perfect mean network errs
  at T' by (1/T - 1/T')^2 E|sum_{t<=T'} x_t|^2 / N_y
  = (1/T - 1/T')^2 (T'^2 mu2 + T' s^2) per output
  (``mean_extrapolation_error``; it reduces to the paper's
  (T' - T)^2 / (T^2 T') for white unit-variance inputs), with mu2 the second
  moment of a channel's trial mean (``input_moments``).

Fig. A8 (T = ``A8_T`` = 6; late importance y = 0.1 sum_t t x_t, early
importance y = sum_t x_t / t). The mechanism (digest 4.2, App. L): late
importance is fitted by a contracting recurrence, early importance needs one
that amplifies, and an amplifying solution is much sharper, so its largest
stable gradient-descent step 2 / lambda_max is much smaller. One rate,
stable for the late solution and above the early solution's bound, lets late
importance converge while early importance cannot settle.

- One optimiser and rate for both targets: full-batch gradient descent at
  ``LR_A8`` = 0.05 on ``A8_TRIALS`` = 64 fixed trials (our choices). The rate
  comes from measured bounds (``sharpness``: power iteration, ``common.top_eigenvalue``,
  on Hessian-vector products, jax.jvp of jax.grad): at the late solution
  lambda_max = 18.4-18.7, bound 0.107-0.109; along a small-rate run of early
  importance (``LR_REF`` = 0.02, stable along both paths) lambda_max rises at
  every record, to 54 after 20k steps and 65 after 30k (bounds 0.037, 0.031),
  and since it still rises, the early solution's bound is below these. 0.05
  lies between them (their geometric mean is ~0.06; we rounded down). Both
  premises are claims, measured again at every run.
- "Hidden-layer gradient dH_T/dt_theta" (GAP: the change of the final hidden
  state per training step, or dL/dh_T): we take the first, closest to the
  paper's notation: the velocity of the final hidden state in training time
  t_theta = lr x steps, v_k = mean_p |h_T^p(theta_{k+1}) - h_T^p(theta_k)| / lr
  over the fixed training set, at every step (``GDTrace.velocity``). The
  paper's values (< 1e-3 late, ~0.3 early) come without a scale; we claim
  late's < 1e-3 and their ratio (>= 300).
- "Fluctuating / not settling": ``path_ratio``, the path length of h_T over
  its net displacement in the last quarter of training (>= 1; ~1 for a state
  that moves steadily, large for one that goes back and forth), with 2 as
  our threshold; and lambda_max at the end against 2 / lr (edge of
  stability: gradient descent beyond its bound does not converge but
  oscillates with lambda_max held near 2 / lr).
- "Singular values merge / split": (max - min) / max of W_h's top 3
  singular values (the stimulus-driven directions) below / above 5% (our
  threshold); the noise-only direction is learned last, by late importance
  at the end of the run, never by early importance. The learned recurrence
  contracts (spectral radius < 1) for late and amplifies (> 1) for early, so
  that gradients through k steps vanish or explode like rho^k.
- Large T (App. L: "for large T training on early importance is impossible,
  gradients explode"), at T = ``LARGE_T`` = 12 on the same kind of set, from
  the same init. Late importance's targets grow like T^2, so its curvature
  grows steeply with T (lambda_max ~19 at T = 6, ~74 at 8, ~250 at 10, ~750
  at 12): at the T = 6 rate late importance itself diverges (step ~13), while
  early importance rides its stability edge without diverging. Our rule for a
  rate "scaled by late's own bound": keep lr x lambda_late fixed,
  lr(T) = LR_A8 lambda_late(6) / lambda_late(T) (``large_t_rate``), with
  lambda_late(T) measured at the end of a late-importance run at the small
  rate ``LR_REF_LARGE``. At that rate (~1.2e-3) late importance trains, and
  early importance does not diverge either: its lambda_max (~50-70) stays far
  below 2 / lr (~1600). In our runs (T = 8 at its scaled rate for 70k steps,
  T = 20 at rate 0.01) early importance reached its stability edge and
  oscillated there rather than diverging; it diverged only at T = 20 with
  the T = 6 rate, where late importance diverges too. We state the paper's
  claim under both rates; neither reproduces. Two other readings, measured
  at rate 0.05 for 6000 steps from the same init, fail the same way. Late
  importance with its peak weight held at 0.6 (w_t = 0.6 t / T): its target
  still grows like T, early importance's like log T, and late diverged first
  (T = 16 and 20, by step 18) while early did not diverge at any T up to 20.
  Whitened Gaussian inputs (the theory's setting, where every lag map has to
  be fitted): late importance diverged at T = 20 (at rate 0.05 and at 0.01),
  early importance did not diverge at T = 6, 12 or 20 and only trained more
  slowly (loss 0.18 at T = 12, 0.61 at T = 20, from 1.6).
- T = ``SEQ_LEN`` = 7 for Fig. 6 (the task's stimulus period); sigma =
  ``INIT_SCALE``; the rates in ``LR``; batch ``BATCH``; the seeds and steps
  of ``QUICK`` and ``DEFAULT``; test lengths T' = 1..2T.
"""

from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ...models import get_model
from ...models.base import ModelConfig
from ...optim import OptimizerConfig
from ...report.figures import Line, Panel, line_panels
from ...tasks.sensory import integrate_target, multisensory_integration, target_weights
from ...train import TaskConfig, TrainConfig, train_population
from ...train.losses import LOSSES, batched_initial_state, predictions
from ...train.population import member_keys
from ..base import Outcome, Reproduction, quick_or_default
from ..claims import Claim, at_least, at_most, equal
from .common import WEIGHTS, bias_free, guarded_step, mse, recorded_scan
from .common import sharpness as hessian_sharpness

PAPER = "Proca, Dominé, Shanahan & Mediano 2025, learning dynamics in linear RNNs"

TASK = "sensory_integration"
N_IO = 4
#: Hidden units (our choice; module docstring).
HIDDEN = 16
#: sigma of the Gaussian init, std sigma / sqrt(fan_in) ("small random weights"; our choice).
INIT_SCALE = 0.1
#: Heavy-ball momentum of the SGD (our choice; module docstring).
MOMENTUM = 0.9
#: Fig. 6 step rates per task (our choice, for the budget). 0.004 is about half the rate at
#: which the sum task at T = 7 diverged in our trials. The mean task's targets and solution
#: weights are 1/T and 1/sqrt(T) of the sum's, so its curvature is ~T times smaller; at
#: 7 x 0.004 its noise-only direction was still unlearned after 20k steps, at 0.05 it was
#: learned by ~12k (the endpoints do not depend on the rate).
LR = {"sum": 0.004, "mean": 0.05}
BATCH = 64
#: Trajectory lengths: Fig. 6 (the task's default stimulus period), Fig. A8 (the paper's), large T.
SEQ_LEN = 7
A8_T = 6
LARGE_T = 12
#: Held-out batch of the extrapolation measurement, and the seed of the held-out draws.
EVAL_BATCH = 4096
EVAL_SEED = 12345

LINEAR = get_model("linear")
A8_KINDS = ("late", "early")
#: Trials of the fixed A8 training set, and its sampling seed (our choice).
A8_TRIALS = 64
A8_DATA_SEED = 2025
#: One gradient-descent rate for both A8 targets, between the two measured bounds (module docstring).
LR_A8 = 0.05
#: The small reference rate at which the early-importance bound is measured (stable along both paths).
LR_REF = 0.02
#: Reference rate of late importance at LARGE_T, where its bound is measured (checked: lr lambda_max < 2).
LR_REF_LARGE = 0.001
#: Power-iteration products per stage (``common.sharpness``).
POWER_ITERS = 60
#: Steps averaged for the end value of the hidden-state velocity.
END_STEPS = 100


# ---------------------------------------------------------------------------
# Input statistics and closed forms
# ---------------------------------------------------------------------------


def input_moments(cohs=(5.0, 15.0, 50.0), sigma: float = 1.0, dt: float = 100.0) -> tuple[float, float]:
    """(mu2, s^2): second moment of a channel's trial mean, and the per-step noise variance.

    From the task's generative model (``tasks.sensory``): channel value
    0.5 + g coh_m / 200 + eps with g = +-1 equally often, coh_1 = coh q,
    coh_2 = coh (1 - q), q ~ U[0, 1), so E[coh_m^2] = E[coh^2] / 3 and

        mu2 = 0.25 + E[coh^2] / (3 * 200^2),    s^2 = sigma^2 / dt.
    """
    coh2 = float(np.mean(np.square(np.asarray(cohs, np.float64))))
    return 0.25 + coh2 / (3.0 * 200.0**2), sigma**2 / dt


def mean_extrapolation_error(T: int, lengths, mu2: float, s2: float) -> np.ndarray:
    """Per-output MSE at T' of the exact mean network of length T on these inputs (module docstring).

        Err(T') = (1/T - 1/T')^2 (T'^2 mu2 + T' s^2)

    Paper App. F.1 (digest 4.3) with the white-input second moment T' replaced by
    E[(sum_t x_t)^2] of these inputs.
    """
    Tp = np.asarray(lengths, np.float64)
    return (1.0 / T - 1.0 / Tp) ** 2 * (Tp**2 * mu2 + Tp * s2)


def lag_map_bound(loss: float, s2: float, n_out: int = N_IO) -> float:
    """sqrt(N_y L / s^2): bound on sqrt(sum_k |M_k - target_k|_F^2) at expected loss L (module docstring).

    Each lag map's Frobenius error is at most this, and by Weyl so is the
    distance of each of its singular values from the target's.
    """
    return float(np.sqrt(n_out * loss / s2))


def lag_maps(params: dict, n_lags: int) -> np.ndarray:
    """M_k = W_y W_h^k W_x for k = 0..n_lags-1 of one member's weights, float64, shape (n_lags, N_y, N_x)."""
    W_x, W_h, W_y = (np.asarray(params[k], np.float64) for k in WEIGHTS)
    out, h = [], W_x
    for _ in range(n_lags):
        out.append(W_y @ h)
        h = W_h @ h
    return np.stack(out)


def lag_drift(params: dict, T: int) -> float:
    """delta = max_{k < T} |M_{k+1} - M_k|_2: how fast the lag maps drift per lag, up to the first untrained one.

    For the exact sum and mean networks M_k is the same for every k (W_h acts as
    the identity on the states W_x reaches), so delta is a training residual; to
    first order in W_h - I each further lag adds the same increment.
    """
    M = lag_maps(params, T + 1)
    return float(np.max(np.linalg.norm(np.diff(M, axis=0), ord=2, axis=(1, 2))))


def extrapolation_allowance(eps: float, delta: float, T: int, lengths, mu2: float, s2: float,
                            n_out: int = N_IO) -> np.ndarray:
    """Bound on (1/N_y) E|sum_k D_k x_{T'-k}|^2, the extra error at T' of a network off the exact one by D_k.

    With x_t = m + eps_t: (1/N_y) [E|sum_k D_k m|^2 + s^2 sum_k |D_k|_F^2]
    <= (sum_k e_k)^2 mu2 + (s^2 / N_y) sum_k e_k^2 for |D_k| <= e_k. The trained lags k < T
    share sum_k |D_k|_F^2 <= eps^2 (``lag_map_bound``), so their sum of norms is at most
    sqrt(min(T', T)) eps; an untrained lag k >= T is at most eps + (k - T + 1) delta
    (``lag_drift``, first order in W_h - I). Our derivation; returns one bound per T'.
    """
    out = []
    for Tp in lengths:
        untrained = eps + delta * np.arange(1, max(0, Tp - T) + 1)
        total = np.sqrt(min(Tp, T)) * eps + untrained.sum()
        squares = eps**2 + np.sum(untrained**2)
        out.append(total**2 * mu2 + s2 / n_out * squares)
    return np.array(out)


# ---------------------------------------------------------------------------
# Training through the engine, with the weights read between phases
# ---------------------------------------------------------------------------


def model_config() -> ModelConfig:
    return ModelConfig(arch="linear", hidden=HIDDEN, input_dim=N_IO, output_dim=N_IO, bias=False)


def task_config(kind: str, seq_len: int) -> TaskConfig:
    return TaskConfig(TASK, (("kind", kind), ("seq_len", seq_len)))


class Snapshots(NamedTuple):
    """Weights of every member at steps ``steps`` (the first is the initialisation).

    params: the engine's parameter pytree with axes (members, snapshots, ...);
    diverged, diverged_step, final_loss: the engine's, after the last phase
    (final_loss is its held-out MSE, NaN where diverged).
    """

    steps: np.ndarray
    params: dict
    diverged: np.ndarray
    diverged_step: np.ndarray
    final_loss: np.ndarray


def initial_params(seeds, init_scale: float = INIT_SCALE) -> dict:
    """The engine's initial weights of each seed: ``model.init`` with the member's init key (``member_keys``)."""
    model = get_model("linear")
    cfg = model_config()
    hp = {"init_scale": jnp.float32(init_scale), "io_scale": jnp.float32(0.0), "gate": jnp.float32(0.05)}
    one = [model.init(member_keys(int(s)).init, cfg, hp) for s in seeds]
    return jax.tree.map(lambda *leaves: np.stack([np.asarray(v) for v in leaves]), *one)


def train_snapshots(kind: str, seq_len: int, steps: int, snapshots: int, seeds, lr: float) -> Snapshots:
    """Momentum SGD on fresh batches through ``train_population``, in ``snapshots`` warm-started phases."""
    per = steps // snapshots
    opt = OptimizerConfig(name="momentum", momentum=MOMENTUM)
    train = TrainConfig(steps=per, batch=BATCH, record_every=per, record_log_points=None, probes=("loss",),
                        probe_batch=8, eval_batch=512, block=1)
    hp = {"lr": lr, "init_scale": INIT_SCALE}
    seeds = np.asarray(seeds)
    trail = [initial_params(seeds)]
    res = None
    for _ in range(snapshots):
        res = train_population(model_config(), task_config(kind, seq_len), opt, train, seeds, hp, warm_start=res)
        trail.append(jax.tree.map(np.asarray, res.params))
    params = jax.tree.map(lambda *leaves: np.stack(leaves, axis=1), *trail)
    return Snapshots(np.arange(snapshots + 1) * per, params, res.diverged, res.diverged_step, res.final_loss)


def singular_values(snap: Snapshots) -> dict[str, np.ndarray]:
    """Singular values over training, (members, snapshots, k), float64: W_h, W_y W_x, W_x, W_y."""
    W = {k: np.asarray(snap.params[k], np.float64) for k in WEIGHTS}
    return {"W_h": np.linalg.svd(W["W_h"], compute_uv=False),
            "W_yW_x": np.linalg.svd(W["W_y"] @ W["W_x"], compute_uv=False),
            "W_x": np.linalg.svd(W["W_x"], compute_uv=False),
            "W_y": np.linalg.svd(W["W_y"], compute_uv=False)}


def balance_terms(snap: Snapshots) -> dict[str, np.ndarray]:
    """Spectral norms over training, (members, snapshots): the pieces of the rescaling conservation law.

    Gradient flow conserves Q = W_x W_x^T + W_h W_h^T - W_h^T W_h - W_y^T W_y
    (the symmetry h -> G h; its generator's derivative of the loss vanishes).
    Returns "imbalance" |W_x W_x^T - W_y^T W_y|, "recurrent" |W_h W_h^T - W_h^T W_h|
    and "drift" |Q(t) - Q(0)| (module docstring: why W_x, W_y separately are not a prediction here).
    """
    W = {k: np.asarray(snap.params[k], np.float64) for k in WEIGHTS}
    tr = lambda a: np.swapaxes(a, -1, -2)  # noqa: E731
    G = W["W_x"] @ tr(W["W_x"]) - tr(W["W_y"]) @ W["W_y"]
    C = W["W_h"] @ tr(W["W_h"]) - tr(W["W_h"]) @ W["W_h"]
    Q = G + C
    norm = lambda a: np.linalg.norm(a, ord=2, axis=(-2, -1))  # noqa: E731
    return {"imbalance": norm(G), "recurrent": norm(C), "drift": norm(Q - Q[:, :1])}


@lru_cache(maxsize=4)
def evaluation_trials(max_len: int) -> jax.Array:
    """``EVAL_BATCH`` held-out trials of length ``max_len`` (key ``EVAL_SEED``), (T, B, 4).

    Their first T' steps are the test trials at length T' <= max_len: within a
    trial the stimulus is constant and the noise i.i.d., so a prefix of a trial
    is a trial of the shorter task. Cached: each task instance compiles its own sampler.
    """
    x, _ = multisensory_integration("sum", max_len).sample(jax.random.PRNGKey(EVAL_SEED), EVAL_BATCH)
    return x


@partial(jax.jit, static_argnames=("kind", "lengths"))
def _prefix_errors(params, x, kind: str, lengths: tuple[int, ...]):
    def one(p):
        ys = predictions(LINEAR, model_config(), p, x, "every")  # readout after every step, (T, B, N_y)
        return jnp.stack([jnp.mean(jnp.square(ys[Tp - 1] - integrate_target(x[:Tp], target_weights(kind, Tp))))
                          for Tp in lengths])

    return jax.vmap(one)(params)


def extrapolation(snap: Snapshots, kind: str, lengths) -> np.ndarray:
    """Err(T') of each member's final weights at every test length, (members, lengths).

    Err(T') = (1/(B N_y)) sum |y_hat - sum_t w_t x_t|^2 (the training loss) on
    the prefixes of ``evaluation_trials`` of length T', w = the task's
    ``target_weights(kind, T')``: one run of the network over the longest
    trials, read out after every step (h_0 = 0, so the readout after step T' is
    the prediction at length T'). It is ``probes.extrapolation.extrapolation_error``
    with a prefix sampler (checked by a test), in one compiled run rather than
    one per length.
    """
    x = evaluation_trials(max(lengths))
    final = jax.tree.map(lambda a: jnp.asarray(a[:, -1]), snap.params)
    return np.asarray(_prefix_errors(final, x, kind, tuple(int(t) for t in lengths)), np.float64)


def batch_sum_moment(lengths) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard error) over the evaluation trials of |sum_{t<=T'} x_t|^2 / N_y, per T'.

    The same trials as ``extrapolation``: the sum task's target at T' is sum_t x_t itself.
    """
    sums = np.cumsum(np.asarray(evaluation_trials(max(lengths)), np.float64), axis=0)
    q = np.sum(sums[np.asarray(lengths) - 1] ** 2, axis=-1) / N_IO  # (lengths, B)
    return q.mean(axis=1), q.std(axis=1, ddof=1) / np.sqrt(q.shape[1])


# ---------------------------------------------------------------------------
# Fig. A8: full-batch gradient descent, its stability bound and the hidden-state velocity
# ---------------------------------------------------------------------------


@lru_cache(maxsize=16)
def a8_data(kind: str, seq_len: int, trials: int = A8_TRIALS, seed: int = A8_DATA_SEED):
    """The fixed training set of the A8 runs: ``trials`` trials of the task, (x (T, P, 4), y (P, 4)) (cached)."""
    return multisensory_integration(kind, seq_len).sample(jax.random.PRNGKey(seed), trials)


def weights(params: dict) -> dict:
    """The three trained matrices W_x, W_h, W_y of an engine parameter tree (any leading axes)."""
    return {k: jnp.asarray(params[k], jnp.float32) for k in WEIGHTS}


@jax.jit
def final_states(W: dict, x) -> jax.Array:
    """h_T of every trial, (P, N_h): the linear model's run from its initial state h_0 = 0 (``models.linear``)."""
    params = bias_free(W, N_IO)
    x = jnp.asarray(x, jnp.float32)
    return LINEAR.run(params, batched_initial_state(LINEAR, model_config(), params, x.shape[1]), x)[-1]


def loss_and_state(W: dict, x, y) -> tuple[jax.Array, jax.Array]:
    """(L, h_T of every trial) from one run of the network on the fixed set (x, y).

    L = mean (y - W_y h_T)^2 is rnnscope's MSE of the last-step prediction
    (``common.mse``). The bias-free readout is one product over all trials,
    h_T W_y^T, rather than the model's readout per trial: the two differ by
    rounding, which the A8 runs at the edge of stability amplify, and the
    stated A8 numbers are those of this form.
    """
    h = final_states(W, x)
    return LOSSES["mse"](h @ W["W_y"].T, jnp.asarray(y, jnp.float32)), h


class GDTrace(NamedTuple):
    """Full-batch gradient descent of several members, every step traced.

    steps: (R,) record steps (0 = the start); weights: W_x, W_h, W_y with axes
    (members, R, ...); loss: (members, S) the training loss before step k;
    velocity: (members, S) the velocity of the final hidden state in training
    time t_theta = lr k (our reading of Fig. A8's "hidden-layer gradient
    dH_T/dt_theta"; module docstring),

        v_k = mean_p |h_T^p(theta_{k+1}) - h_T^p(theta_k)| / lr

    over the P trials of the fixed set; diverged, diverged_step: a member whose
    loss or weights became non-finite keeps its last finite weights from then
    on (the population engine's rule), its later loss and velocity are NaN.
    """

    steps: np.ndarray
    weights: dict
    loss: np.ndarray
    velocity: np.ndarray
    diverged: np.ndarray
    diverged_step: np.ndarray


def _gd_member(W, x, y, lr, steps: int, record_every: int):
    """One member's run (``gd_trace``): ``common.guarded_step`` on ``loss_and_state``, traced at every step.

    Step k reads h_T(theta_k) from its own forward pass, so the velocity of
    step k - 1 costs nothing extra; the last one needs one more run.
    """
    def step(carry, k):
        W, h_prev, bad, bad_step = carry
        W, now_bad, loss, h = guarded_step(lambda w: loss_and_state(w, x, y), W, bad, lr)
        moved = jnp.mean(jnp.linalg.norm(h - h_prev, axis=-1)) / lr  # velocity of step k - 1
        out = (jnp.where(now_bad, jnp.nan, loss), jnp.where(now_bad, jnp.nan, moved))
        return (W, h, now_bad, jnp.where(now_bad & ~bad, k, bad_step)), out

    start = (W, final_states(W, x), jnp.bool_(False), jnp.int32(-1))
    (W_end, h_end, bad, bad_step), trail, (loss, moved) = recorded_scan(step, start, steps, record_every,
                                                                         lambda carry: carry[0])
    last = jnp.mean(jnp.linalg.norm(final_states(W_end, x) - h_end, axis=-1)) / lr
    velocity = jnp.concatenate([moved.reshape(-1)[1:], jnp.where(bad, jnp.nan, last)[None]])
    return trail, loss.reshape(-1), velocity, bad, bad_step


_gd_members = jax.jit(jax.vmap(_gd_member, in_axes=(0, 0, 0, 0, None, None)), static_argnums=(4, 5))
_gd_members_pmap = {}


def gd_trace(W0: dict, xs, ys, lrs, steps: int, record_every: int, pad_to: int = 1) -> GDTrace:
    """Full-batch GD of each member m on its own set (xs[m], ys[m]) at rate lrs[m], from W0 (leading member axis).

    The members are split over the local devices (one per CPU core, as the
    population engine sets them), so their count is padded to a multiple of
    the device count, and of ``pad_to`` (calls of one padded size share one
    compiled program); padding repeats member 0 and is dropped.
    """
    if steps % record_every:
        raise ValueError(f"steps={steps} must be a multiple of record_every={record_every}")
    W0 = weights(W0)
    xs, ys = jnp.asarray(xs, jnp.float32), jnp.asarray(ys, jnp.float32)
    lrs = jnp.asarray(lrs, jnp.float32)
    n = lrs.shape[0]
    dev = jax.local_device_count()
    unit = dev * -(-pad_to // dev)
    padded = -(-n // unit) * unit
    pad = lambda a: jnp.concatenate([a, jnp.repeat(a[:1], padded - n, axis=0)]) if padded > n else a  # noqa: E731
    args = [jax.tree.map(pad, W0), pad(xs), pad(ys), pad(lrs)]
    if dev == 1:
        out = _gd_members(*args, steps, record_every)
    else:
        key = (steps, record_every)
        if key not in _gd_members_pmap:
            _gd_members_pmap[key] = jax.pmap(jax.vmap(partial(_gd_member, steps=steps, record_every=record_every)))
        split = lambda a: a.reshape((dev, padded // dev) + a.shape[1:])  # noqa: E731
        out = _gd_members_pmap[key](*jax.tree.map(split, args))
        out = jax.tree.map(lambda a: a.reshape((padded,) + a.shape[2:]), out)
    trail, loss, velocity, bad, bad_step = jax.device_get(out)
    keep = lambda a: np.asarray(a)[:n]  # noqa: E731
    return GDTrace(np.arange(0, steps + 1, record_every), jax.tree.map(keep, trail), keep(loss), keep(velocity),
                   keep(bad), keep(bad_step))


def _member_sharpness(W, x, y, key):
    return hessian_sharpness(lambda w: mse(model_config(), bias_free(w, N_IO), x, y), W, POWER_ITERS, key)


_sharpness_batch = jax.jit(jax.vmap(_member_sharpness, in_axes=(0, 0, 0, None)))


def sharpness(W: dict, xs, ys) -> np.ndarray:
    """lambda_max of the Hessian of the training loss at each member's weights W[m] on (xs[m], ys[m]).

    ``common.sharpness`` by power iteration, ``POWER_ITERS`` products per
    stage, from a fixed random vector (key ``EVAL_SEED``); gradient descent at
    rate lr can settle only where lr < 2 / lambda_max. At the trained weights
    the top eigenvalue stands apart (60 and 300 products agreed to 0.2% in our
    runs); at the initial saddle the spectrum's top is crowded and the value
    is a lower estimate (it is only plotted there).
    """
    return np.asarray(_sharpness_batch(weights(W), jnp.asarray(xs, jnp.float32), jnp.asarray(ys, jnp.float32),
                                       jax.random.PRNGKey(EVAL_SEED)), np.float64)


def sharpness_over_training(trace: GDTrace, xs, ys) -> np.ndarray:
    """``sharpness`` at every record of every member, (members, R); NaN after a divergence."""
    members, R = trace.loss.shape[0], trace.steps.size
    flat = jax.tree.map(lambda a: a.reshape((members * R,) + a.shape[2:]), trace.weights)
    rep = lambda a: np.repeat(np.asarray(a), R, axis=0)  # noqa: E731
    lam = sharpness(flat, rep(xs), rep(ys)).reshape(members, R)
    gone = trace.diverged[:, None] & (trace.steps[None, :] > trace.diverged_step[:, None])
    return np.where(gone, np.nan, lam)


def path_ratio(trace: GDTrace, m: int, x, lr: float, first: int, last: int = -1) -> float:
    """How far h_T travelled between records ``first`` and ``last`` over how far it got (member m).

        ratio = mean_p sum_k |h_T^p(theta_{k+1}) - h_T^p(theta_k)| / mean_p |h_T^p(theta_last) - h_T^p(theta_first)|
              = lr sum_k v_k / mean_p |Delta h_T^p|,

    with v_k the traced ``velocity``. It is >= 1 (triangle inequality, trial by
    trial) and ~1 when the state moves steadily; a state that goes back and
    forth (a period-two oscillation of gradient descent beyond its stability
    bound) travels far and arrives nowhere, so the ratio is large.
    """
    a, b = trace.steps[first], trace.steps[last]
    path = lr * float(np.sum(trace.velocity[m, a:b]))
    W = {k: v[m] for k, v in trace.weights.items()}
    h_a = final_states({k: v[first] for k, v in W.items()}, x)
    h_b = final_states({k: v[last] for k, v in W.items()}, x)
    return path / max(float(jnp.mean(jnp.linalg.norm(h_b - h_a, axis=-1))), 1e-30)


def top_spread(sv: np.ndarray, k: int) -> float:
    """(max - min) / max of the k largest singular values (sv sorted descending): 0 when they have merged."""
    top = np.asarray(sv)[..., :k]
    return float(np.max((top.max(axis=-1) - top.min(axis=-1)) / top.max(axis=-1)))


def spectral_radius(W_h) -> np.ndarray:
    """max |eigenvalue| of W_h: > 1 makes |W_h^k| (the backpropagated gradient through k steps) grow with k."""
    return np.max(np.abs(np.linalg.eigvals(np.asarray(W_h, np.float64))), axis=-1)


class A8Runs(NamedTuple):
    """GD runs at one T: member m trains on ``kinds[m]`` at ``rates[m]`` from seed ``seeds[m]``'s engine init."""

    T: int
    kinds: tuple[str, ...]
    rates: np.ndarray
    seeds: np.ndarray
    trace: GDTrace
    xs: np.ndarray
    ys: np.ndarray

    def members(self, kind: str, rate: float) -> list[int]:
        """Indices of the members that trained on ``kind`` at ``rate`` (one per seed)."""
        return [m for m in range(len(self.kinds)) if self.kinds[m] == kind and self.rates[m] == np.float32(rate)]

    def member(self, kind: str, rate: float) -> int:
        """The first seed's member that trained on ``kind`` at ``rate``."""
        return self.members(kind, rate)[0]


def a8_runs(T: int, plan, seeds, steps: int, record_every: int, pad_to: int = 1) -> A8Runs:
    """Every (kind, rate) of ``plan`` from every seed, on the fixed set ``a8_data(kind, T)`` (``gd_trace``)."""
    cells = [(kind, float(rate), seed) for seed in seeds for kind, rate in plan]
    data = {kind: a8_data(kind, T) for kind in {c[0] for c in cells}}
    init = weights(initial_params(seeds))
    index = {int(s): i for i, s in enumerate(seeds)}
    W0 = jax.tree.map(lambda a: a[np.array([index[int(c[2])] for c in cells])], init)
    xs = np.stack([np.asarray(data[c[0]][0]) for c in cells])
    ys = np.stack([np.asarray(data[c[0]][1]) for c in cells])
    rates = np.array([c[1] for c in cells], np.float32)
    trace = gd_trace(W0, xs, ys, rates, steps, record_every, pad_to)
    return A8Runs(T, tuple(c[0] for c in cells), rates, np.array([c[2] for c in cells]), trace, xs, ys)


def a8_singular_values(runs: A8Runs) -> np.ndarray:
    """Singular values of W_h over training, (members, R, N_h), descending."""
    return np.linalg.svd(np.asarray(runs.trace.weights["W_h"], np.float64), compute_uv=False)


def large_t_rate(lam_late_a8: float, lam_late_large: float) -> float:
    """The rate at LARGE_T that keeps late importance at the fraction of its own bound it has at A8_T.

        lr(LARGE_T) = LR_A8 * lambda_late(A8_T) / lambda_late(LARGE_T),

    i.e. lr * lambda_late is the same at both lengths (our rule for "scaled by
    its own bound"; late's curvature grows steeply with T because its targets
    0.1 sum_t t x_t grow like T^2).
    """
    return LR_A8 * lam_late_a8 / lam_late_large


def a8_measurements(a8: A8Runs, lam: np.ndarray) -> dict:
    """The A8 numbers the claims use (module docstring), per kind; arrays run over the seeds.

    ``lam``: ``sharpness_over_training`` of ``a8``. The end velocity is the
    mean over the last ``END_STEPS`` steps; the path ratio is taken over the
    last quarter of training, to whole records.
    """
    tr = a8.trace
    sv = a8_singular_values(a8)
    R = tr.steps.size
    window = R - 1 - (R - 1) // 4
    out = {}
    for kind in A8_KINDS:
        main = a8.members(kind, LR_A8)
        ref = a8.members(kind, LR_REF)
        out[kind] = {
            "diverged": int(np.sum(tr.diverged[main])),
            "velocity_end": np.array([np.mean(tr.velocity[m, -END_STEPS:]) for m in main]),
            "path_ratio": np.array([path_ratio(tr, m, a8.xs[m], LR_A8, window) for m in main]),
            "bound_end": 2.0 / lam[main, -1],
            "bound_ref": 2.0 / lam[ref, -1],
            "ref_rising": bool(np.all(np.diff(lam[ref], axis=1) > 0)),
            "spread3": top_spread(sv[main, -1], N_IO - 1),
            "radius": spectral_radius(tr.weights["W_h"][main, -1]),
            "edge": lam[main, -1] * LR_A8 / 2.0,
        }
    return out


# ---------------------------------------------------------------------------
# The reproduction
# ---------------------------------------------------------------------------


class Profile(NamedTuple):
    """Fig. 6: seeds, momentum-SGD steps and weight snapshots per task. Fig. A8: seeds and GD steps at
    A8_T (``a8_records`` records), and GD steps of each run at LARGE_T."""

    seeds: tuple[int, ...]
    steps: int
    snapshots: int
    a8_seeds: tuple[int, ...]
    a8_steps: int
    a8_records: int
    large_steps: int


QUICK = Profile(seeds=(0, 1), steps=16000, snapshots=8, a8_seeds=(0,), a8_steps=20000, a8_records=10,
                large_steps=2000)
DEFAULT = Profile(seeds=(0, 1, 2, 3), steps=40000, snapshots=20, a8_seeds=(0, 1), a8_steps=40000, a8_records=20,
                  large_steps=20000)


def fig6_claims(kind: str, snap: Snapshots, sv: dict, s2: float) -> list[Claim]:
    """W_h's top N_x singular values -> 1; W_y W_x's -> 1 (sum) or 1/T (mean)."""
    T = SEQ_LEN
    p = 1.0 if kind == "sum" else 1.0 / T
    loss = float(np.max(snap.final_loss))
    io_tol = lag_map_bound(loss, s2)
    top = sv["W_h"][:, -1, :N_IO]
    io = sv["W_yW_x"][:, -1]
    return [
        equal(f"{kind}: no member diverged", int(np.sum(snap.diverged)), 0),
        # 2 sigma^2: second-order shift by the untrained initial part of W_h (module docstring),
        # plus the lag-map bound for what training has not yet removed
        at_most(f"{kind}: top {N_IO} singular values of W_h -> 1, max |s - 1|",
                float(np.max(np.abs(top - 1.0))), 2 * INIT_SCALE**2 + io_tol),
        # Weyl: |s_i(M_0) - p| <= |M_0 - p I|_F <= sqrt(N_y L / s^2) (lag_map_bound)
        at_most(f"{kind}: singular values of W_y W_x -> {'1' if kind == 'sum' else '1/T'}, max |s - {p:.4g}|",
                float(np.max(np.abs(io - p))), io_tol),
    ]


def extrapolation_claims(snaps: dict, err: dict, lengths, mu2: float, s2: float) -> list[Claim]:
    """Sum: error within what its residual allows; mean: the closed form for these inputs; the contrast."""
    T = SEQ_LEN
    L = np.asarray(lengths, np.float64)
    moment, moment_se = batch_sum_moment(lengths)
    factor = (1.0 / T - 1.0 / L) ** 2
    batch_form = factor * moment  # the exact mean network's error on the same trials
    closed = mean_extrapolation_error(T, lengths, mu2, s2)

    def allowance(kind, m):
        final = jax.tree.map(lambda a: np.asarray(a[m, -1]), snaps[kind].params)
        eps = lag_map_bound(float(snaps[kind].final_loss[m]), s2)
        return extrapolation_allowance(eps, lag_drift(final, T), T, lengths, mu2, s2)

    members = range(err["sum"].shape[0])
    # |sqrt(Err) - sqrt(Err_exact)| <= sqrt(extra error) (triangle inequality in L2)
    worst_sum = max(float(np.max(np.sqrt(err["sum"][m] / allowance("sum", m)))) for m in members)
    worst_mean = max(float(np.max(np.abs(np.sqrt(err["mean"][m]) - np.sqrt(batch_form))
                                  / np.sqrt(allowance("mean", m)))) for m in members)
    # 4 standard errors: the batch mean of |sum x|^2 against its expectation
    worst_form = float(np.max(np.abs(batch_form - closed) / (4 * factor * moment_se + 1e-30)))
    relative_sum = np.max(err["sum"] / (L**2 * mu2 + L * s2))
    off = L != T
    relative_mean = np.min(err["mean"][:, off] / (mu2 + s2 / L[off]))
    median = np.median(err["mean"], axis=0)
    i_T = list(lengths).index(T)
    below = median[i_T::-1]
    above = median[i_T:]
    return [
        at_most("sum extrapolates exactly: max over T' of sqrt(Err(T') / allowance from its residual)", worst_sum, 1.0),
        # 0.01: "exact" here means two orders of magnitude below the mean network's smallest miss
        at_most("sum vs mean: worst relative error of sum / smallest off-T relative error of mean",
                float(relative_sum / relative_mean), 0.01),
        at_most("mean: Err(T') = (1/T - 1/T')^2 E|sum x|^2 / N_y, max |sqrt diff| / sqrt(allowance)", worst_mean, 1.0),
        at_most("mean: E|sum x|^2 / N_y = T'^2 mu2 + T' s^2 (mu2, s^2 from the task's model), max |diff| / 4 SE",
                worst_form, 1.0),
        equal("mean: Err grows monotonically with |T' - T| on both sides",
              bool(np.all(np.diff(below) > 0) and np.all(np.diff(above) > 0)), True),
    ]


def a8_claims(meas: dict, large: dict) -> list[Claim]:
    """Fig. A8 at T = A8_T and the large-T statement of App. L (module docstring)."""
    late, early = meas["late"], meas["early"]
    scaled = large["scaled"]
    same = large["same"]
    return [
        equal(f"A8 (T = {A8_T}, full-batch GD at one rate {LR_A8}): members diverged",
              late["diverged"] + early["diverged"], 0),
        # the premise of the contrast: the rate lies between the two solutions' bounds 2 / lambda_max
        at_least(f"A8 late: its solution's GD bound 2/λ_max (end of its run) is above the rate {LR_A8}",
                 float(np.min(late["bound_end"])), LR_A8),
        at_most(f"A8 early: its solution's bound is below the rate: 2/λ_max at the end of a rate-{LR_REF} run "
                "(an upper bound, λ_max rising along it)", float(np.max(early["bound_ref"])), LR_A8),
        equal(f"A8 early: λ_max rises at every record of the rate-{LR_REF} run", early["ref_rising"], True),
        at_most("A8 late: hidden-layer gradient dH_T/dt_θ (mean |Δh_T| / lr per step) at the end (paper < 1e-3)",
                float(np.max(late["velocity_end"])), 1e-3),
        # the paper's two values, ~0.3 and < 1e-3, differ by >= 300; the absolute scale of the
        # quantity is not given (GAP), its ratio is
        at_least("A8 early / late hidden-layer gradient at the end (paper ~0.3 / < 1e-3)",
                 float(np.min(early["velocity_end"]) / np.max(late["velocity_end"])), 300.0),
        # 2: the state travelled at least twice as far as it got (path_ratio)
        at_least("A8 early does not settle: path / net displacement of h_T over the last quarter",
                 float(np.min(early["path_ratio"])), 2.0),
        at_most("A8 late settles: path / net displacement of h_T over the last quarter",
                float(np.max(late["path_ratio"])), 2.0),
        # beyond its bound GD does not converge; it oscillates with lambda_max held near 2 / lr
        # (edge of stability); 10%: the iterate sits on one side of a period-two orbit
        at_least("A8 early sits at its stability edge: lr λ_max / 2 at the end", float(np.min(early["edge"])), 0.9),
        # 5%: our threshold for "merged"; top 3 = the stimulus-driven directions (module docstring)
        at_most("A8 late: top 3 singular values of W_h merge, (max - min) / max", late["spread3"], 0.05),
        at_least("A8 early: top 3 singular values of W_h stay split, (max - min) / max", early["spread3"], 0.05),
        at_most("A8 late: learned recurrence contracts, spectral radius of W_h", float(np.max(late["radius"])), 1.0),
        at_least("A8 early: learned recurrence amplifies (|W_h^k| grows with k), spectral radius of W_h",
                 float(np.min(early["radius"])), 1.0),
        # the reference must itself be stable for its lambda_max to be the solution's
        Claim(f"A8 T = {LARGE_T} at late's scaled rate {scaled['lr']:.3g}: late importance does not diverge "
              f"(its reference run at {LR_REF_LARGE} stable: lr λ_max / 2 < 1)", "not diverged, < 1",
              f"diverged: {scaled['late_diverged']}, {scaled['ref_edge']:.2g}",
              not scaled["late_diverged"] and scaled["ref_edge"] < 1.0),
        Claim(f"A8 T = {LARGE_T} at late's scaled rate {scaled['lr']:.3g}: early importance diverges within "
              f"{scaled['steps']} steps (paper: untrainable at large T, gradients explode)", "diverged",
              f"diverged: {scaled['early_diverged']}, λ_max lr / 2 = {scaled['early_edge']:.2g}",
              scaled["early_diverged"]),
        Claim(f"A8 T = {LARGE_T} at the T = {A8_T} rate {LR_A8}: early importance diverges, late does not",
              "early diverged, late not",
              f"early diverged: {same['early_diverged']}, late diverged: {same['late_diverged']} "
              f"(step {same['late_step']})", bool(same["early_diverged"] and not same["late_diverged"])),
    ]


def large_t_runs(prof: Profile, lam_late_a8: float) -> dict:
    """App. L's large-T statement at T = LARGE_T, from the first A8 seed (module docstring).

    First late importance at LR_REF_LARGE (its bound: lambda_max at the end),
    beside both targets at the A8_T rate; then both targets at
    ``large_t_rate``. Both calls have 4 members and the same steps, so they
    share one compiled program, and lambda_max is taken at every member's end
    (one program too).
    """
    seeds = prof.a8_seeds[:1]
    steps = prof.large_steps
    first = a8_runs(LARGE_T, [("late", LR_REF_LARGE), ("late", LR_A8), ("early", LR_A8)], seeds, steps, steps // 4,
                    pad_to=4)
    lam_first = end_sharpness(first)
    lam_ref = float(lam_first[first.member("late", LR_REF_LARGE)])
    lr = large_t_rate(lam_late_a8, lam_ref)
    second = a8_runs(LARGE_T, [("late", lr), ("early", lr)], seeds, steps, steps // 4, pad_to=4)
    lam_second = end_sharpness(second)
    late, early = second.member("late", lr), second.member("early", lr)
    same_late, same_early = first.member("late", LR_A8), first.member("early", LR_A8)
    return {
        "first": first, "second": second, "lam_first": lam_first, "lam_second": lam_second,
        "scaled": {"lr": lr, "steps": steps, "ref_edge": lam_ref * LR_REF_LARGE / 2.0,
                   "late_diverged": bool(second.trace.diverged[late]),
                   "early_diverged": bool(second.trace.diverged[early]),
                   "early_edge": float(lam_second[early] * lr / 2.0)},
        "same": {"late_diverged": bool(first.trace.diverged[same_late]),
                 "late_step": int(first.trace.diverged_step[same_late]),
                 "early_diverged": bool(first.trace.diverged[same_early])},
    }


def end_sharpness(runs: A8Runs) -> np.ndarray:
    """``sharpness`` of every member at its last weights, padded like ``gd_trace`` to 4 members (one program)."""
    n = len(runs.kinds)
    index = np.arange(-(-n // 4) * 4) % n
    W = {k: v[index, -1] for k, v in runs.trace.weights.items()}
    return sharpness(W, runs.xs[index], runs.ys[index])[:n]


def run(quick: bool, out: Path) -> Outcome:
    prof = QUICK if quick else DEFAULT
    mu2, s2 = input_moments()
    lengths = list(range(1, 2 * SEQ_LEN + 1))

    fig6 = {kind: train_snapshots(kind, SEQ_LEN, prof.steps, prof.snapshots, prof.seeds, LR[kind])
            for kind in ("sum", "mean")}
    sv6 = {kind: singular_values(s) for kind, s in fig6.items()}
    claims: list[Claim] = []
    for kind in ("sum", "mean"):
        claims += fig6_claims(kind, fig6[kind], sv6[kind], s2)
    err = {kind: extrapolation(fig6[kind], kind, lengths) for kind in ("sum", "mean")}
    claims += extrapolation_claims(fig6, err, lengths, mu2, s2)

    plan = [(kind, rate) for rate in (LR_A8, LR_REF) for kind in A8_KINDS]
    a8 = a8_runs(A8_T, plan, prof.a8_seeds, prof.a8_steps, prof.a8_steps // prof.a8_records)
    lam = sharpness_over_training(a8.trace, a8.xs, a8.ys)
    meas = a8_measurements(a8, lam)
    lam_late = float(lam[a8.member("late", LR_A8), -1])
    large = large_t_runs(prof, lam_late)
    claims += a8_claims(meas, large)

    figures = [fig6_singular_figure(fig6, sv6, out), extrapolation_figure(err, lengths, mu2, s2, out),
               a8_figure(a8, lam, large, out)]
    return Outcome(claims, figures)


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------


def _sv_lines(steps, sv, label: str, colour: str, n_labelled: int) -> list[Line]:
    return [Line(steps, sv[:, i], label if i == 0 else "", "-" if i < n_labelled else ":", colour)
            for i in range(sv.shape[1])]


def fig6_singular_figure(fig6: dict, sv6: dict, out: Path) -> Path:
    """Fig. 6 (top): singular values of W_h and W_y W_x over training, member 0, sum and mean; and the balance terms."""
    panels = []
    for kind in ("sum", "mean"):
        steps = fig6[kind].steps
        p = 1.0 if kind == "sum" else 1.0 / SEQ_LEN
        ends = np.array([steps[0], steps[-1]])
        panels.append(Panel(f"{kind}: W_h (top {N_IO} solid)", "training step", "singular value",
                            _sv_lines(steps, sv6[kind]["W_h"][0], "W_h", "tab:blue", N_IO)
                            + [Line(ends, [1.0, 1.0], "1", "--", "black")]))
        panels.append(Panel(f"{kind}: W_y W_x, W_x, W_y", "training step", "singular value",
                            _sv_lines(steps, sv6[kind]["W_yW_x"][0], "W_y W_x", "tab:orange", N_IO)
                            + _sv_lines(steps, sv6[kind]["W_x"][0], "W_x", "tab:green", 0)
                            + _sv_lines(steps, sv6[kind]["W_y"][0], "W_y", "tab:purple", 0)
                            + [Line(ends, [p, p], f"{p:.3g}", "--", "black"),
                               Line(ends, [np.sqrt(p)] * 2, f"√{p:.3g}", "-.", "gray")]))
    styles = {"sum": "-", "mean": "--"}
    colours = {"imbalance": "tab:purple", "recurrent": "tab:blue", "drift": "tab:red"}
    names = {"imbalance": "|W_xW_xᵀ - W_yᵀW_y|", "recurrent": "|W_hW_hᵀ - W_hᵀW_h|", "drift": "|Q(t) - Q(0)|"}
    lines = [Line(fig6[kind].steps, terms[name][0], f"{names[name]} ({kind})", styles[kind], colours[name])
             for kind in ("sum", "mean") for terms in [balance_terms(fig6[kind])] for name in names]
    panels.append(Panel("balance terms (Q: conserved by gradient flow)", "training step", "spectral norm", lines))
    return line_panels(panels, out / "fig6_singular_values.png")


def extrapolation_figure(err: dict, lengths, mu2: float, s2: float, out: Path) -> Path:
    """Fig. 6 (bottom): extrapolation error against the test length T', trained at T = 7."""
    L = np.asarray(lengths, float)
    fine = np.linspace(1, L[-1], 200)
    lines = [Line(L, np.median(err["sum"], axis=0), "sum network", "o-", "tab:blue"),
             Line(L, np.median(err["mean"], axis=0), "mean network", "s-", "tab:orange"),
             Line(fine, np.maximum(mean_extrapolation_error(SEQ_LEN, fine, mu2, s2), 1e-12),
                  "mean, closed form for these inputs", "--", "black")]
    return line_panels([Panel(f"extrapolation (trained at T = {SEQ_LEN})", "test length T'", "MSE", lines,
                              logy=True)], out / "fig6_extrapolation.png")


def a8_figure(a8: A8Runs, lam: np.ndarray, large: dict, out: Path) -> Path:
    """Fig. A8: W_h's singular values, the hidden-layer gradient and lambda_max over training; large T."""
    colours = {"late": "tab:green", "early": "tab:red"}
    sv = a8_singular_values(a8)
    steps = a8.trace.steps
    panels = [Panel(f"{kind} importance, T = {A8_T}, lr {LR_A8}: W_h", "GD step", "singular value",
                    _sv_lines(steps, sv[a8.member(kind, LR_A8)], "W_h", colours[kind], N_IO))
              for kind in A8_KINDS]
    every = max(1, a8.trace.velocity.shape[1] // 2000)
    k = np.arange(a8.trace.velocity.shape[1])[::every]
    panels.append(Panel("hidden-layer gradient dH_T/dt_θ", "GD step", "mean |Δh_T| / lr", [
        Line(k, a8.trace.velocity[a8.member(kind, LR_A8)][::every], kind, "-", colours[kind]) for kind in A8_KINDS]
        + [Line(k[[0, -1]], [1e-3, 1e-3], "1e-3", ":", "black")], logy=True))
    panels.append(Panel("λ_max of the loss Hessian", "GD step", "λ_max", [
        Line(steps, lam[a8.member(kind, rate)], f"{kind}, lr {rate}", "-o" if rate == LR_A8 else ":o", colours[kind])
        for rate in (LR_A8, LR_REF) for kind in A8_KINDS] + [Line(steps[[0, -1]], [2 / LR_A8] * 2, f"2 / {LR_A8}", "--",
                                                               "black")]))
    lines = []
    for name, runs in (("first", large["first"]), ("second", large["second"])):
        for m in range(len(runs.kinds)):
            loss = runs.trace.loss[m]
            style = "-" if name == "second" else (":" if runs.rates[m] == np.float32(LR_A8) else "-.")
            label = f"{runs.kinds[m]}, lr {runs.rates[m]:.2g}" + (" (diverged)" if runs.trace.diverged[m] else "")
            lines.append(Line(np.arange(1, loss.size + 1), loss, label, style, colours[runs.kinds[m]]))
    panels.append(Panel(f"T = {LARGE_T}: training loss", "GD step", "MSE", lines, logx=True, logy=True))
    return line_panels(panels, out / "a8_late_vs_early.png")


REPRODUCTIONS = [
    Reproduction("proca-integration", PAPER,
                 "sensory integration: W_h -> 1, io -> 1 or 1/T, sum extrapolates, mean does not; A8 stability",
                 quick_or_default(run)),
]
