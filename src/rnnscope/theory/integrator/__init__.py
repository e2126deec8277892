"""Theory of learning to integrate (Bordelon, Cotler, Pehlevan & Zavatone-Veth 2025).

See ``papers/integrate.md``. ``base`` holds the model, the targets and the
closed-form expected loss.
"""

from .base import (
    IntegratorParams,
    Target,
    controllability_gramian,
    drift,
    expected_loss,
    is_stable,
    max_real_eigenvalue,
    observability_gramian,
    resolvents,
)
from .closed_form import (
    PARAMETER_NAMES,
    TrainLog,
    balanced_hessian_lambda_max,
    balanced_solution,
    conserved_quantity,
    ginibre_init,
    hessian_top_eigenvalue,
    hessian_vector_product,
    joint_ou_system,
    loss_and_grads,
    max_stable_learning_rate,
    monte_carlo_loss,
    target_filter_system,
    train_flow,
    train_gd,
)

__all__ = [
    "IntegratorParams",
    "Target",
    "controllability_gramian",
    "drift",
    "expected_loss",
    "is_stable",
    "max_real_eigenvalue",
    "observability_gramian",
    "resolvents",
    "PARAMETER_NAMES",
    "TrainLog",
    "balanced_hessian_lambda_max",
    "balanced_solution",
    "conserved_quantity",
    "ginibre_init",
    "hessian_top_eigenvalue",
    "hessian_vector_product",
    "joint_ou_system",
    "loss_and_grads",
    "max_stable_learning_rate",
    "monte_carlo_loss",
    "target_filter_system",
    "train_flow",
    "train_gd",
]
