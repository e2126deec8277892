"""Fitting the far-left log-rate process to checkpointed spectra: ground truth from the simulator.

The simulator (``theory.anticollapse.simulate``) runs the process whose parameters the fit
estimates, with the bulk restoring slope k = 10 so that the drift is saturated (F = kappa to
within 5%) below m - 0.18, well above the q_low = 0.10 slice's cut. 2000 particles x 120 late
transitions put ~24,000 increments in the slice.
"""

import math

import numpy as np
import pytest

from rnnscope.analysis.process_fit import (
    empirical_lundberg_root,
    fit_exponential_jumps,
    fit_process,
    robust_scale,
)
from rnnscope.theory.anticollapse import ProcessConfig, beta_exponential, simulate


def snapshots(cfg):
    res = simulate(cfg)
    zeta = np.asarray(res.snapshots)[:, 0]
    times = np.asarray(res.snapshot_times).reshape(len(zeta), -1)[:, 0]
    return zeta, times


COMMON = dict(k=10.0, dt=0.01, n_steps=8000, n_particles=2000, record_every=20)


@pytest.fixture(scope="module")
def gaussian_fit():
    return fit_process(*snapshots(ProcessConfig(kappa=1.0, sigma_g=1.0, seed=1, **COMMON)), n_boot=200)


@pytest.fixture(scope="module")
def jump_fit():
    cfg = ProcessConfig(kappa=1.0, sigma_g=0.5, jumps="exponential", jump_rate=0.5, jump_theta=3.0, seed=2, **COMMON)
    return fit_process(*snapshots(cfg), n_boot=200)


def test_gaussian_process_recovers_kappa_sigma_and_beta(gaussian_fit):
    fit = gaussian_fit
    assert fit.resolved
    # kappa_tail: its block-bootstrap 90% interval is +/- 1.645 s.e.; the truth within 3 s.e.
    se = (fit.kappa_hi - fit.kappa_lo) / (2 * 1.645)
    assert abs(fit.kappa - 1.0) <= 3 * se
    # MAD scale of ~24,000 Gaussian increments: relative s.e. 1.17/sqrt(n) < 1%, plus the
    # unsaturated edge of the slice; 5% is loose for both
    assert fit.sigma_g == pytest.approx(1.0, rel=0.05)
    # beta = 2 kappa / sigma^2 = 2: errors of kappa (~3%) and sigma^2 (~2%) add; 10%
    assert fit.predicted["gaussian"].beta == pytest.approx(2.0, rel=0.10)
    assert fit.beta_lundberg == pytest.approx(2.0, rel=0.10)
    assert fit.jumps.rate == 0.0
    # the final snapshot's left tail (200 points: s.e. 7%) measures the same beta
    assert fit.measured.beta == pytest.approx(2.0, rel=0.25)


def test_exponential_jumps_are_found_and_predict_the_lundberg_root(jump_fit):
    fit = jump_fit
    truth = beta_exponential(1.0, 0.5, 3.0, 0.5).beta
    assert fit.resolved
    # ~4,800 increments in the slice carry a jump (rate 0.5 x gap 0.2 x 24,000 x ...);
    # the exceedances beyond 3 s.d. number ~hundreds: rate and theta within 25%
    assert fit.jumps.rate == pytest.approx(0.5, rel=0.25)
    assert fit.jumps.theta == pytest.approx(3.0, rel=0.25)
    assert fit.sigma_g == pytest.approx(0.5, rel=0.10)
    assert fit.predicted["exponential"].beta == pytest.approx(truth, rel=0.15)
    # ignoring the jumps overstates beta by far (2 kappa / sigma^2 = 8)
    assert fit.predicted["gaussian"].beta > 2 * truth


def test_empirical_lundberg_root_solves_the_sample_equation():
    rng = np.random.default_rng(0)
    dx = rng.normal(0.3, 1.0, 50_000)
    s = empirical_lundberg_root(dx)
    assert np.mean(np.exp(-s * dx)) == pytest.approx(1.0, abs=1e-8)
    # Gaussian increments N(mu, v): root 2 mu / v; sample error of mean and variance ~1%
    assert s == pytest.approx(0.6, rel=0.05)
    assert math.isnan(empirical_lundberg_root(-np.abs(dx)))  # mean <= 0: no stationary tail
    assert math.isnan(empirical_lundberg_root(np.abs(dx)))  # never moves toward long tau


def test_jump_fit_sees_none_in_gaussian_noise_and_robust_scale_is_sigma():
    rng = np.random.default_rng(1)
    r = rng.normal(size=40_000)
    fit = fit_exponential_jumps(r, np.ones_like(r), 1.0)
    assert fit.resolved and fit.rate == 0.0
    assert robust_scale(2.0 * r) == pytest.approx(2.0, rel=0.02)


def test_no_plateau_is_unresolved_with_a_reason():
    rng = np.random.default_rng(2)
    steps = np.arange(20.0)
    # pure drift toward long tau: every zeta falls, kappa_tail < 0
    zeta = -0.5 * steps[:, None] + rng.normal(0, 0.1, (20, 400))
    fit = fit_process(zeta, steps, n_boot=100)
    assert not fit.resolved and "kappa_tail" in fit.reason
    assert fit.predicted["gaussian"] is None
    too_short = fit_process(zeta[:3], steps[:3])
    assert not too_short.resolved and "checkpoints" in too_short.reason
