"""Outlier tracker and bulk radius: on planted spectra and as probes in the engine."""

import numpy as np

from rnnscope.models.base import ModelConfig
from rnnscope.optim import OptimizerConfig
from rnnscope.probes.outliers import bulk_radius, outlier_count, top_outlier
from rnnscope.train import TaskConfig, TrainConfig, train_population

N, SIGMA = 300, 0.5


def ginibre(seed, n=N, sigma=SIGMA):
    return np.random.default_rng(seed).normal(0.0, sigma / np.sqrt(n), (n, n))


def unit(seed, n=N):
    e = np.random.default_rng(seed).normal(size=n)
    return e / np.linalg.norm(e)


def test_bulk_radius_of_ginibre_matrices():
    # the median of |lambda|^2 over N = 300 eigenvalues has relative sampling error
    # ~ 1/sqrt(N) ~ 6% in |lambda|^2, i.e. ~3% in the radius; 8% allows ~2.5 of those
    for seed, sigma in [(0, 0.2), (1, 0.5), (2, 0.9)]:
        r = float(bulk_radius(np.linalg.eigvals(ginibre(seed, sigma=sigma))))
        assert abs(r - sigma) < 0.08 * sigma, (sigma, r)


def test_planted_real_outlier_is_found_and_the_bulk_is_not():
    W0 = ginibre(3)
    lam0 = np.linalg.eigvals(W0)
    assert int(outlier_count(lam0, bulk_radius(lam0))) == 0
    e = unit(4)
    lam = np.linalg.eigvals(W0 + 0.8 * np.outer(e, e))
    r = bulk_radius(lam)
    assert int(outlier_count(lam, r)) == 1
    # outlier of W0 + theta e e^T sits at theta + O(sigma^2 / (theta sqrt(N))) ~ 0.02
    top = complex(top_outlier(lam, r))
    assert abs(top - 0.8) < 0.05 and top.imag == 0.0


def test_planted_conjugate_pair_reports_the_upper_member():
    W0 = ginibre(5)
    E = np.linalg.qr(np.random.default_rng(6).normal(size=(N, 2)))[0]
    block = np.array([[0.8, -1.0], [1.0, 0.8]])  # eigenvalues 0.8 +/- 1.0i
    lam = np.linalg.eigvals(W0 + E @ block @ E.T)
    r = bulk_radius(lam)
    assert int(outlier_count(lam, r)) == 2
    top = complex(top_outlier(lam, r))
    assert abs(top - (0.8 + 1.0j)) < 0.05


def test_no_outlier_gives_nan():
    lam = np.linalg.eigvals(ginibre(7))
    assert np.isnan(complex(top_outlier(lam, bulk_radius(lam))).real)


def test_outlier_probes_in_the_engine_match_numpy_on_the_final_weights():
    model = ModelConfig(arch="ctrnn", hidden=16, input_dim=1, output_dim=1, dt=0.2)
    task = TaskConfig("integration", (("kind", "leaky"), ("seq_len", 20), ("c", 0.3), ("dt", 0.2)))
    train = TrainConfig(steps=10, batch=8, record_every=10, record_log_points=None, probe_batch=4, eval_batch=4,
                        probes=("outlier", "bulk_radius"))
    hp = {"lr": np.full(3, 0.05, np.float32), "init_scale": np.array([0.3, 0.6, 0.9], np.float32)}
    res = train_population(model, task, OptimizerConfig(name="sgd"), train, np.arange(3), hp)
    assert res.trajectories["outlier"].shape == (3, len(res.record_steps), 3)
    for i in range(3):
        lam = np.linalg.eigvals(np.asarray(res.params["W_h"][i], np.float64))
        r = float(bulk_radius(lam))
        np.testing.assert_allclose(res.trajectories["bulk_radius"][i, -1], r, rtol=1e-4)
        assert abs(r - hp["init_scale"][i]) < 0.35 * hp["init_scale"][i]  # N = 16: a coarse disk
        re, im, count = res.trajectories["outlier"][i, -1]
        assert count == int(outlier_count(lam, r))
        top = complex(top_outlier(lam, r))
        np.testing.assert_allclose([re, im], [top.real, top.imag], rtol=1e-4, atol=1e-5, equal_nan=True)
