"""Phase labels: collapsed or anti-collapsed, per run, per checkpoint, across seeds and over training.

Livi (digest papers/livi.md, section 3.5 step 3 and "Further rules"). A run
is collapsed when its envelope has no power-law window; otherwise the tail
fit of its time-scale spectrum and the bootstrap interval of beta say how
the time scales are spread (broad: beta < 1, the mean time scale diverges;
concentrated: beta > 1).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from . import envelope as env
from . import spectrum
from .envelope import PowerLawWindow
from .spectrum import BetaInterval, TailFit

COLLAPSED = "collapsed"
ANTI_COLLAPSED_BETA_UNRESOLVED = "anti-collapsed (beta unresolved)"
CONCENTRATED = "concentrated anti-collapse"
BROAD = "broad anti-collapse"
BOUNDARY = "boundary (soft)"
CHECKPOINT_UNRESOLVED = "unresolved (checkpoint)"
MIXED = "mixed"
# our addition: the envelope itself could not be fitted (constant, too short, non-finite),
# so neither collapsed nor anti-collapsed can be claimed
UNRESOLVED = "unresolved"

ANTI_COLLAPSED_LABELS = frozenset({ANTI_COLLAPSED_BETA_UNRESOLVED, CONCENTRATED, BROAD, BOUNDARY})
ANTI_COLLAPSED = "anti-collapsed"  # the coarse label of every member of ANTI_COLLAPSED_LABELS

TAIL_R2_MIN = 0.90  # Livi (digest section 3.5 step 3)
BETA_CRITICAL = 1.0  # Livi (digest section 3.5 step 3 and 4.3): broad below, concentrated above
CROSSING_PERSISTENCE = 2  # Livi (digest section 3.5, threshold crossing)

OBSERVED = "observed"
LEFT_CENSORED = "left-censored"
RIGHT_CENSORED = "right-censored"


class SeedVote(NamedTuple):
    """Majority label over seeds; ``fraction`` is the winning label's share of the voters."""

    resolved: bool
    reason: str
    label: str
    fraction: float
    n_voters: int


class Crossing(NamedTuple):
    """First stable entry into anti-collapse along checkpoints.

    ``censoring`` is OBSERVED (``index`` and ``step`` say where), LEFT_CENSORED
    (anti-collapsed from the first checkpoints, so the crossing came before
    them) or RIGHT_CENSORED (never crossed by the last checkpoint).
    """

    resolved: bool
    reason: str
    censoring: str
    index: int | None
    step: float | None


def _is_number(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _spread_label(tail_r2: float, beta_lo: float, beta_hi: float) -> str | None:
    """concentrated / broad / boundary when the tail fit passes and the interval exists, else None."""
    if not (_is_number(tail_r2) and tail_r2 >= TAIL_R2_MIN):
        return None
    if not (_is_number(beta_lo) and _is_number(beta_hi)):
        return None
    if beta_lo > BETA_CRITICAL:
        return CONCENTRATED
    if beta_hi < BETA_CRITICAL:
        return BROAD
    return BOUNDARY


def phase_label(window_passed: bool | None, tail_r2: float, beta_lo: float, beta_hi: float) -> str:
    """The phase rule of a converged run.

    Livi (digest papers/livi.md, section 3.5 step 3): (1) power-law window
    gate fails -> collapsed; (2) tau-CCDF tail-fit R^2 < 0.90 -> anti-collapsed,
    beta unresolved; (3) with the 90 % bootstrap interval [beta_lo, beta_hi]:
    beta_lo > 1 -> concentrated anti-collapse, beta_hi < 1 -> broad
    anti-collapse, otherwise boundary (soft). A missing (NaN) R^2 or interval
    counts as unresolved beta. ``window_passed=None`` (envelope not fitted)
    gives UNRESOLVED (our addition).
    """
    if window_passed is None:
        return UNRESOLVED
    if not window_passed:
        return COLLAPSED
    return _spread_label(tail_r2, beta_lo, beta_hi) or ANTI_COLLAPSED_BETA_UNRESOLVED


def classify_run(window: PowerLawWindow, tail: TailFit, interval: BetaInterval) -> str:
    """``phase_label`` from the estimator results (Livi, digest papers/livi.md, section 3.5 step 3).

    Unresolved tail fits and intervals carry NaN and so read as "beta unresolved".
    """
    return phase_label(window.passed if window.resolved else None, tail.r2, interval.lo, interval.hi)


class MeasuredPhase(NamedTuple):
    """Everything the phase rule looked at for one network: its label, envelope fits, window, tau tail."""

    label: str
    fits: env.EnvelopeFits
    window: PowerLawWindow
    tail: TailFit
    interval: BetaInterval
    tau: np.ndarray


def measure_phase(lags: np.ndarray, f: np.ndarray, tau: np.ndarray, seed: int = 0) -> MeasuredPhase:
    """Livi's phase rule (section 3.5) applied to one network's envelope f(l) and its tau spectrum.

    Fits f(l) (exponential / power / tempered, ``envelope.fit_envelope``), runs
    the power-law-window gate, fits the CCDF tail of tau and bootstraps beta
    (``seed`` seeds the bootstrap), and labels the network with ``classify_run``.
    """
    fits = env.fit_envelope(lags, f)
    window = env.power_law_window(fits)
    tail = spectrum.ccdf_tail_fit(tau)
    interval = spectrum.bootstrap_beta(tau, seed=seed)
    return MeasuredPhase(classify_run(window, tail, interval), fits, window, tail, interval, tau)


def checkpoint_label(tail_r2: float, beta_lo: float, beta_hi: float) -> str:
    """The phase rule at an intermediate checkpoint, where the envelope test is skipped.

    Livi (digest papers/livi.md, section 3.5, "Further rules"): "unresolved
    (checkpoint)" unless the tail fit passes (R^2 >= 0.90 with a bootstrap
    interval); then concentrated / broad / boundary as in ``phase_label``.
    """
    return _spread_label(tail_r2, beta_lo, beta_hi) or CHECKPOINT_UNRESOLVED


def classify_checkpoint(tail: TailFit, interval: BetaInterval) -> str:
    """``checkpoint_label`` from the estimator results (Livi, digest papers/livi.md, section 3.5)."""
    return checkpoint_label(tail.r2, interval.lo, interval.hi)


def coarse_label(label: str | None) -> str | None:
    """The phase alone: COLLAPSED or ANTI_COLLAPSED for any of the anti-collapsed spreads; others unchanged.

    Our addition. The digest's vote runs on the fine labels, so three seeds
    labelled concentrated / collapsed / beta-unresolved come out "mixed"
    although two of them left collapse; ``seed_majority`` over coarse labels
    answers the question "which phase" on its own.
    """
    return ANTI_COLLAPSED if label in ANTI_COLLAPSED_LABELS else label


def seed_majority(labels: Sequence[str | None]) -> SeedVote:
    """The label held by a strict majority of seeds, else "mixed".

    Livi (digest papers/livi.md, section 3.5, "Further rules"). Seeds without
    a label (None or "", e.g. diverged members) do not vote (our choice:
    divergence is reported by the run, not as a phase).
    """
    voters = [label for label in labels if label]
    if not voters:
        return SeedVote(False, "no seed has a label (all diverged or missing)", "", math.nan, 0)
    label, count = Counter(voters).most_common(1)[0]
    fraction = count / len(voters)
    return SeedVote(True, "", label if count > len(voters) / 2 else MIXED, fraction, len(voters))


def threshold_crossing(
    labels: Sequence[str | None], steps: Sequence[float] | None = None, persistence: int = CROSSING_PERSISTENCE
) -> Crossing:
    """First checkpoint that starts ``persistence`` anti-collapsed checkpoints after a non-anti-collapsed one.

    Livi (digest papers/livi.md, section 3.5, "Further rules"): persistence 2;
    left-censored if the run starts anti-collapsed, right-censored if it never
    crosses. "Starts anti-collapsed" means its first ``persistence``
    checkpoints are (our reading: a single anti-collapsed first checkpoint
    that then drops out is not a stable start, and a later stable entry is an
    observed crossing). Anti-collapsed labels are ANTI_COLLAPSED_LABELS; None,
    "unresolved (checkpoint)" and every other label count as not
    anti-collapsed. ``step`` is ``steps[index]`` when ``steps`` is given.
    """
    labels = list(labels)
    if not labels:
        return Crossing(False, "no checkpoints", "", None, None)
    if steps is not None and len(steps) != len(labels):
        return Crossing(False, f"{len(steps)} steps for {len(labels)} checkpoints", "", None, None)
    persistence = max(1, int(persistence))
    anti = [label in ANTI_COLLAPSED_LABELS for label in labels]
    if len(anti) >= persistence and all(anti[:persistence]):
        return Crossing(True, "", LEFT_CENSORED, None, None)
    for i in range(1, len(anti) - persistence + 1):
        if not anti[i - 1] and all(anti[i : i + persistence]):
            return Crossing(True, "", OBSERVED, i, None if steps is None else float(steps[i]))
    return Crossing(True, "", RIGHT_CENSORED, None, None)
