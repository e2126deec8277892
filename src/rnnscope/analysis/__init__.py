"""Statistics on recorded measurements: envelope fits, time-scale spectra, phase labels, tail indices, drift.

Plain NumPy/SciPy/statsmodels functions of arrays that return small named
tuples; nothing here touches the store, the command line or JAX. Each
estimator returns ``resolved=False`` with a ``reason`` on degenerate input
instead of raising or returning a made-up number.

- ``envelope``: exponential / power / tempered fits of f(l), the power-law-window gate
- ``spectrum``: beta of the tau spectrum (CCDF tail fit, bootstrap, ML), mixture envelope
- ``phase``: collapsed / anti-collapsed labels, seed majority, threshold crossing
- ``alpha``: tail index of heavy-tailed noise (McCulloch, ECF, calibrated extreme-value)
- ``drift``: drift of the log-rate process over checkpoints (binned F, bulk pull, far-left plateau kappa_tail)
"""

from . import alpha, drift, envelope, phase, spectrum

__all__ = ["alpha", "drift", "envelope", "phase", "spectrum"]
