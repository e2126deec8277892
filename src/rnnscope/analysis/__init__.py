"""Statistics on recorded measurements: envelope fits, time-scale spectra, phase labels, tail indices, drift.

Plain NumPy/SciPy/statsmodels functions of arrays that return small named
tuples; nothing here touches the store or the command line, and nothing computes in JAX
(``process_fit`` reads the closed forms of ``theory.anticollapse``). Each
estimator returns ``resolved=False`` with a ``reason`` on degenerate input
instead of raising or returning a made-up number.

- ``envelope``: exponential / power / tempered fits of f(l), the power-law-window gate
- ``spectrum``: beta of the tau spectrum (CCDF tail fit, bootstrap, ML), mixture envelope
- ``phase``: collapsed / anti-collapsed labels, seed majority, threshold crossing
- ``alpha``: tail index of heavy-tailed noise (McCulloch, ECF, calibrated extreme-value)
- ``drift``: drift of the log-rate process over checkpoints (binned F, bulk pull, far-left plateau kappa_tail)
- ``process_fit``: the far-left log-rate process fitted to checkpoints, and the beta its closed forms predict
- ``factorial``: VEG flags, incidence tables, logistic regression and type-II factor importance for sweeps
- ``learnability``: per-lag alpha, sigma and mean of the matched statistic, N_required(l), the window H_N
"""

from . import alpha, drift, envelope, factorial, learnability, phase, process_fit, spectrum

__all__ = ["alpha", "drift", "envelope", "factorial", "learnability", "phase", "process_fit", "spectrum"]
