"""Synthetic sequence tasks and their registry.

Each entry of :data:`TASKS` maps a name to a factory whose keyword arguments
all have documented defaults and which returns a :class:`Task` (see
``tasks.base``). Use :func:`make_task` to build one from a configuration.

=======================  ==============================  ===========
name                     factory                         targets
=======================  ==============================  ===========
``integration``          ``white_noise_integration``     every, last
``recall``               ``delayed_recall``              every, last
``multilag``             ``multilag_regression``         every, last
``multilag_pareto``      ``pareto_multilag_regression``  every, last
``adding``               ``adding_problem``              last
``latch``                ``noisy_latch``                 last
``linear_dynamics``      ``linear_dynamics``             every, last
``sensory_integration``  ``multisensory_integration``    last
=======================  ==============================  ===========
"""

from __future__ import annotations

import inspect
from typing import Callable

from .adding import adding_problem
from .base import Task
from .integration import white_noise_integration
from .latch import noisy_latch
from .linear_dynamics import linear_dynamics
from .multilag import (
    geometric_coeffs,
    multilag_regression,
    pareto_lags,
    pareto_multilag_regression,
    task_direction,
    truncated_pareto_cdf,
    truncated_pareto_icdf,
)
from .recall import delayed_recall
from .sensory import multisensory_integration

TASKS: dict[str, Callable[..., Task]] = {
    "integration": white_noise_integration,
    "recall": delayed_recall,
    "multilag": multilag_regression,
    "multilag_pareto": pareto_multilag_regression,
    "adding": adding_problem,
    "latch": noisy_latch,
    "linear_dynamics": linear_dynamics,
    "sensory_integration": multisensory_integration,
}


def make_task(name: str, **kwargs) -> Task:
    """Build the task registered as ``name`` with the given keyword arguments.

    Raises:
        ValueError: for an unknown name, an argument the factory does not
            take, or an impossible argument value (the message names it).
    """
    if name not in TASKS:
        raise ValueError(f"task.name={name!r}: allowed {', '.join(map(repr, TASKS))}")
    factory = TASKS[name]
    accepted = tuple(inspect.signature(factory).parameters)
    for key in kwargs:
        if key not in accepted:
            raise ValueError(
                f"task.{key}: not an argument of task {name!r}; allowed {', '.join(accepted)}"
            )
    return factory(**kwargs)


__all__ = [
    "TASKS",
    "Task",
    "make_task",
    "white_noise_integration",
    "delayed_recall",
    "multilag_regression",
    "pareto_multilag_regression",
    "pareto_lags",
    "geometric_coeffs",
    "task_direction",
    "truncated_pareto_cdf",
    "truncated_pareto_icdf",
    "adding_problem",
    "noisy_latch",
]
