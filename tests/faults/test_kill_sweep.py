"""kill -9 of `rnnscope sweep` at 20 seeded random moments, then resume (see ``kill_trials``)."""

import pytest

from .kill_trials import kill_and_resume


@pytest.mark.heavy
def test_kill_sweep_at_random_moments_then_resume(spec_file, reference, tmp_path):
    kill_and_resume("sweep", spec_file, reference, tmp_path)
