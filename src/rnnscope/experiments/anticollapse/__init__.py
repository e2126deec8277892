"""Anti-collapse (Livi 2026): reproductions on the capacity ladder.

- ``anticollapse-negative-control``: ConstGate collapses, with and without
  alpha-stable forcing (``negative_control``);
- ``anticollapse-ladder``: SharedGate collapsed, DiagGate anti-collapsed, GRU
  and LSTM measured (``ladder``);
- ``anticollapse-forcing``: after a warm start, tighter clipping, stronger
  winsorisation and larger batches raise beta in DiagGate (``forcing``);
- ``anticollapse-diagnostics``: mixture vs transport envelope, the width
  limit of the spectrum, the drift closure (``diagnostics``);
- ``anticollapse-process``: the coarse-grained log-rate process against the
  closed forms of its left-tail exponent (``process``; our derivation, not
  the paper's unreadable theorem; no training);
- ``anticollapse-process-fit``: the process fitted to each ladder rung's
  checkpointed spectra, and the beta it predicts beside the measured one
  (``process_fit``).

Shared profiles, training and figures live in ``common``.
"""

from ..base import PAPER, QUICK, DEFAULT, Reproduction
from .common import PAPER_NAME, PROFILES
from .diagnostics import run_diagnostics
from .forcing import run_forcing
from .ladder import run_ladder
from .negative_control import run_negative_control
from .process import run_process
from .process_fit import run_process_fit

PROFILE_NAMES = (QUICK, DEFAULT, PAPER)
assert set(PROFILE_NAMES) == set(PROFILES)

REPRODUCTIONS = [
    Reproduction("anticollapse-negative-control", PAPER_NAME,
                 "ConstGate collapses in every seed, with and without alpha-stable forcing; tau = -1/log(1 - s)",
                 run_negative_control, PROFILE_NAMES),
    Reproduction("anticollapse-ladder", PAPER_NAME,
                 "SharedGate trains but collapses; DiagGate leaves collapse with a power-law window; GRU, LSTM measured",
                 run_ladder, PROFILE_NAMES),
    Reproduction("anticollapse-forcing", PAPER_NAME,
                 "after a warm start, tighter clipping, winsorisation and larger batches raise beta (DiagGate)",
                 run_forcing, PROFILE_NAMES),
    Reproduction("anticollapse-diagnostics", PAPER_NAME,
                 "D1 mixture envelope = transport envelope; D2 spectra converge as H grows; D3 drift closure",
                 run_diagnostics, PROFILE_NAMES),
    Reproduction("anticollapse-process", PAPER_NAME,
                 "log-rate process: simulated left-tail beta vs closed forms (Gaussian, exponential, tempered, "
                 "stable jumps), monotone response, runaway outside the extended regime (our derivation)",
                 run_process, (QUICK, DEFAULT)),
    Reproduction("anticollapse-process-fit", PAPER_NAME,
                 "the log-rate process fitted to each ladder rung's checkpoints predicts the beta of its spectrum",
                 run_process_fit, PROFILE_NAMES),
]

__all__ = ["PROFILES", "REPRODUCTIONS"]
