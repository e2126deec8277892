"""Recording schedules: at which training steps probes are evaluated."""

from __future__ import annotations

import numpy as np


def record_steps(num_steps: int, every: int | None = None, log_points: int | None = None) -> np.ndarray:
    """Sorted unique step indices (1-based: step s means "after s updates") to record at.

    ``every=k`` records after steps k, 2k, ...; ``log_points=n`` records at n
    log-spaced steps between 1 and ``num_steps``. Step 0 (before training) and
    the last step are always included, so every trajectory has its start and end.
    """
    if num_steps < 1:
        raise ValueError(f"steps={num_steps}: must be >= 1")
    points = {0, num_steps}
    if every is not None:
        if every < 1:
            raise ValueError(f"record.every={every}: must be >= 1")
        points.update(range(every, num_steps + 1, every))
    if log_points is not None:
        if log_points < 2:
            raise ValueError(f"record.log_points={log_points}: must be >= 2")
        points.update(np.unique(np.round(np.logspace(0, np.log10(num_steps), log_points)).astype(int)).tolist())
    return np.array(sorted(points), dtype=np.int32)
