"""Reproductions of published studies, each a runnable experiment with a claims table.

``REPRODUCTIONS`` maps a name (``rnnscope reproduce NAME``) to its
:class:`~rnnscope.experiments.base.Reproduction`.
"""

from . import anticollapse, integrate, johnston, learnability, proca
from .base import Finished, Outcome, Reproduction, last_result, run_reproduction

REPRODUCTIONS: dict[str, Reproduction] = {
    r.name: r for r in integrate.REPRODUCTIONS + anticollapse.REPRODUCTIONS + learnability.REPRODUCTIONS
    + johnston.REPRODUCTIONS + proca.REPRODUCTIONS
}

__all__ = ["REPRODUCTIONS", "Finished", "Outcome", "Reproduction", "last_result", "run_reproduction"]
