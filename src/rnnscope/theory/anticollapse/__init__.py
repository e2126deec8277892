"""The coarse-grained log-rate process of Livi 2026 (digest papers/livi.md, sections 5 and 9).

zeta = -log tau per neuron; far to the left (long tau) the drift saturates to
kappa and heavy-tailed kicks push time scales longer. Three layers:

- ``process``: a JAX simulator of M particles per population, many
  populations (one parameter setting each) in one compiled program;
- ``tail``: closed forms of the stationary left-tail exponent beta,
  P(zeta < -z) ~ e^{-beta z}, i.e. P(tau > x) ~ x^-beta, from the Lundberg
  equation of the far-left Levy process (OUR derivation; the paper's theorem
  could not be read), with regime labels and a phase diagram;
- ``estimate``: the ML exponential-tail estimator of beta on simulated zeta.

See ``docs/theory/log_rate_process.md`` for the derivation.
"""

from .estimate import LeftTailFit, left_tail_fit, saturation_threshold
from .process import (
    BOUNDARIES,
    JUMP_LAWS,
    ProcessConfig,
    ProcessResult,
    drift,
    population_params,
    simulate,
    skewed_stable,
    stable_scale_dt,
    tau_spectrum,
    to_tau,
    validate,
)
from .tail import (
    EXTENDED,
    HEAVY,
    NO_FORCING,
    REGIMES,
    RUNAWAY,
    TEMPERING_LIMITED,
    PhaseDiagram,
    TailExponent,
    beta_exponential,
    beta_gaussian,
    beta_stable,
    beta_tempered_stable,
    equilibration_time,
    exponential_jump_exponent,
    extended_regime_exists,
    gaussian_stationary_logpdf,
    heavy_tail_constant,
    levy_exponent,
    phase_diagram,
    stable_jump_exponent,
    stable_mean_drift,
    tail_exponent,
)

__all__ = [
    "LeftTailFit", "left_tail_fit", "saturation_threshold",
    "BOUNDARIES", "JUMP_LAWS", "ProcessConfig", "ProcessResult", "drift", "population_params", "simulate",
    "skewed_stable", "stable_scale_dt", "tau_spectrum", "to_tau", "validate",
    "EXTENDED", "HEAVY", "NO_FORCING", "REGIMES", "RUNAWAY", "TEMPERING_LIMITED", "PhaseDiagram", "TailExponent",
    "beta_exponential", "beta_gaussian", "beta_stable", "beta_tempered_stable", "equilibration_time",
    "exponential_jump_exponent", "extended_regime_exists", "gaussian_stationary_logpdf", "heavy_tail_constant",
    "levy_exponent", "phase_diagram", "stable_jump_exponent", "stable_mean_drift", "tail_exponent",
]
