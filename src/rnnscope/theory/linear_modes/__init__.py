"""Mode-level theory of learning dynamics in linear RNNs (Proca, Dominé, Shanahan & Mediano 2025).

See ``papers/proca.md``. Under whitened inputs and aligned weights each
singular-value mode (a, b, c) of the linear RNN learns on its own; these are
the plain NumPy/SciPy functions for one mode, in the lag variable k = T - t.

``profiles`` (digest 2.3)
    FAMILIES, sigma_lags, ZeroLossSolution, zero_loss_solution,
    geometric_solution, balanced_factors
``modes`` (digest 3.2-3.4, 4.2)
    lag_powers, residuals, mode_energy, mode_rhs, conserved_quantity,
    data_term, effective_regulariser, effective_regulariser_t_output,
    is_unstable, loss_hessian, max_stable_learning_rate
``flow`` (digest 3.2-3.3)
    ModeTrajectory, integrate_modes
``closed_form`` (digest 3.5-3.6)
    logistic_coefficients, logistic_coefficients_t_output, logistic_u,
    logistic_fixed_point, logistic_time_to, logistic_half_time,
    F_potential_derivative, taylor_b_derivatives, TAYLOR5_STABILITY,
    flow_limit, default_taylor_window, TaylorTrajectory, taylor_b
``transition`` (digest 4.4)
    beta_ratio_from_s1, dirac_u_star, dirac_energy, dirac_global_minimiser,
    DiracTransition, transition_point, optimal_u, reduced_energy,
    GlobalMinimum, global_minimiser, MinimiserSweep, sweep_global_minimiser,
    Jump, locate_jumps
``extrapolation`` (digest 4.3)
    EXTRAPOLATION_FAMILIES, length_error, extrapolation_error
"""

from .closed_form import (
    TAYLOR5_STABILITY,
    F_potential_derivative,
    TaylorTrajectory,
    default_taylor_window,
    flow_limit,
    logistic_coefficients,
    logistic_coefficients_t_output,
    logistic_fixed_point,
    logistic_half_time,
    logistic_time_to,
    logistic_u,
    taylor_b,
    taylor_b_derivatives,
)
from .extrapolation import EXTRAPOLATION_FAMILIES, extrapolation_error, length_error
from .flow import ModeTrajectory, integrate_modes
from .modes import (
    conserved_quantity,
    data_term,
    effective_regulariser,
    effective_regulariser_t_output,
    is_unstable,
    lag_powers,
    loss_hessian,
    max_stable_learning_rate,
    mode_energy,
    mode_rhs,
    residuals,
)
from .profiles import (
    FAMILIES,
    ZeroLossSolution,
    balanced_factors,
    geometric_solution,
    sigma_lags,
    zero_loss_solution,
)
from .transition import (
    DiracTransition,
    GlobalMinimum,
    Jump,
    MinimiserSweep,
    beta_ratio_from_s1,
    dirac_energy,
    dirac_global_minimiser,
    dirac_u_star,
    global_minimiser,
    locate_jumps,
    optimal_u,
    reduced_energy,
    sweep_global_minimiser,
    transition_point,
)

__all__ = [
    "FAMILIES",
    "ZeroLossSolution",
    "balanced_factors",
    "geometric_solution",
    "sigma_lags",
    "zero_loss_solution",
    "conserved_quantity",
    "data_term",
    "effective_regulariser",
    "effective_regulariser_t_output",
    "is_unstable",
    "lag_powers",
    "loss_hessian",
    "max_stable_learning_rate",
    "mode_energy",
    "mode_rhs",
    "residuals",
    "ModeTrajectory",
    "integrate_modes",
    "TAYLOR5_STABILITY",
    "F_potential_derivative",
    "TaylorTrajectory",
    "default_taylor_window",
    "flow_limit",
    "logistic_coefficients",
    "logistic_coefficients_t_output",
    "logistic_fixed_point",
    "logistic_half_time",
    "logistic_time_to",
    "logistic_u",
    "taylor_b",
    "taylor_b_derivatives",
    "DiracTransition",
    "GlobalMinimum",
    "Jump",
    "MinimiserSweep",
    "beta_ratio_from_s1",
    "dirac_energy",
    "dirac_global_minimiser",
    "dirac_u_star",
    "global_minimiser",
    "locate_jumps",
    "optimal_u",
    "reduced_energy",
    "sweep_global_minimiser",
    "transition_point",
    "EXTRAPOLATION_FAMILIES",
    "extrapolation_error",
    "length_error",
]
