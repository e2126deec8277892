"""Closed-form integrator theory: exact gradients, Monte-Carlo loss, training and the learning-rate guard."""

import numpy as np
import pytest

from rnnscope.theory.integrator.base import IntegratorParams, Target, expected_loss, is_stable
from rnnscope.theory.integrator.closed_form import (
    balanced_hessian_lambda_max,
    balanced_solution,
    ginibre_init,
    hessian_top_eigenvalue,
    loss_and_grads,
    max_stable_learning_rate,
    monte_carlo_loss,
    train_flow,
    train_gd,
)

LEAKY = Target(0.2)
OSCILLATORY = Target(0.2, 1.0)
TARGETS = [pytest.param(LEAKY, id="leaky"), pytest.param(OSCILLATORY, id="oscillatory")]


def random_stable_params(seed: int, n: int) -> IntegratorParams:
    params = ginibre_init(seed, n, sigma=0.5, eps=1.0)
    assert is_stable(params.W)
    return params


def central_difference_gradient(params: IntegratorParams, target: Target, name: str, step: float) -> np.ndarray:
    value = getattr(params, name)
    gradient = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        plus, minus = value.copy(), value.copy()
        plus[index] += step
        minus[index] -= step
        loss_plus = expected_loss(params._replace(**{name: plus}), target)
        loss_minus = expected_loss(params._replace(**{name: minus}), target)
        gradient[index] = (loss_plus - loss_minus) / (2.0 * step)
    return gradient


def relative_error(estimate: np.ndarray, reference: np.ndarray) -> float:
    return float(np.linalg.norm(estimate - reference) / np.linalg.norm(reference))


@pytest.mark.parametrize("target", TARGETS)
def test_gradients_match_central_differences(target):
    params = random_stable_params(seed=1, n=6)
    loss, grads = loss_and_grads(params, target)
    assert loss == pytest.approx(expected_loss(params, target), rel=1e-12)
    for name in ("W", "u", "v"):
        numerical = central_difference_gradient(params, target, name, step=1e-6)
        # At h = 1e-6 the truncation error is O(h^2 L''') ~ 1e-12 and the roundoff
        # ~ 1e-16 * L / h ~ 1e-10 per entry, against O(1) gradients: 1e-6 leaves a
        # wide margin (we see ~1e-9), while a transposed or dropped term is O(1).
        assert relative_error(getattr(grads, name), numerical) < 1e-6, name


@pytest.mark.parametrize("target", TARGETS)
def test_monte_carlo_loss_matches_closed_form(target):
    params = random_stable_params(seed=2, n=5)
    exact = expected_loss(params, target)
    # 200 chains x 2000 steps of dt = 0.25: 1e5 time units, ~10^4 correlation
    # times of the slowest mode 1/c = 5, so a standard error of about 1%.
    mean, standard_error = monte_carlo_loss(params, target, dt=0.25, n_samples=2000, n_chains=200, seed=0)
    assert standard_error < 0.015 * exact
    # The exact OU discretisation has no time-step bias, so the only error is
    # sampling; 3 standard errors is a 99.7% band (the seed is fixed).
    assert abs(mean - exact) < 3.0 * standard_error


@pytest.mark.parametrize("c", [0.5, 0.2])
def test_balanced_solution_has_zero_loss_and_the_predicted_curvature(c):
    target = Target(c)
    solution = balanced_solution(3, target)
    assert abs(expected_loss(solution, target)) < 1e-10
    predicted = balanced_hessian_lambda_max(c)
    # Power iteration converges as (lambda_2 / lambda_1)^iters with a ratio of
    # ~0.17 (c = 0.5) or ~0.07 (c = 0.2); the O(h^2) error of the central
    # difference Hessian-vector product is ~1e-8 relative. 1e-3 is loose.
    assert hessian_top_eigenvalue(solution, target) == pytest.approx(predicted, rel=1e-3)
    assert max_stable_learning_rate(c) == pytest.approx(2.0 / predicted, rel=1e-12)


def test_balanced_hessian_formula_matches_the_digest_table():
    # Values measured independently by finite-difference Hessians, quoted to 3 figures.
    assert balanced_hessian_lambda_max(0.5) == pytest.approx(6.83, rel=1e-3)
    assert balanced_hessian_lambda_max(0.2) == pytest.approx(67.9, rel=1e-3)
    assert balanced_hessian_lambda_max(0.02) == pytest.approx(6.26e4, rel=1e-3)


def perturbed_balanced_solution(n: int, target: Target, size: float, seed: int) -> IntegratorParams:
    rng = np.random.default_rng(seed)
    return IntegratorParams(*(p + size * rng.standard_normal(p.shape) for p in balanced_solution(n, target)))


def test_gradient_descent_converges_below_and_fails_above_the_learning_rate_bound():
    start = perturbed_balanced_solution(2, LEAKY, size=1e-3, seed=0)
    initial_loss = expected_loss(start, LEAKY)
    lr_max = max_stable_learning_rate(LEAKY.c)

    below = train_gd(start, LEAKY, lr=0.9 * lr_max, steps=400, log_every=100)
    # The two curved modes contract by at most 0.88 per step (gone after 400
    # steps); what is left is the quartic loss of the flat directions, ~1e-14,
    # i.e. ~1e-8 of the initial loss. 1e-6 separates that from any stall.
    assert not below.diverged
    assert below.loss[-1] < 1e-6 * initial_loss

    above = train_gd(start, LEAKY, lr=1.1 * lr_max, steps=400, log_every=100)
    # The top mode grows by 1.2 per step until non-linearity stalls it at ~1e-2.
    assert above.diverged or above.loss[-1] > 100.0 * initial_loss


def test_gradient_flow_conserves_C_and_gradient_descent_drifts_linearly_in_lr():
    params = random_stable_params(seed=3, n=4)

    flow = train_flow(params, LEAKY, t_end=3.0, n_logs=4)
    assert not flow.diverged
    assert np.all(np.diff(flow.loss) <= 0.0)
    # rtol 1e-8 on O(1) parameters; we see ~1e-10.
    assert flow.conserved_drift[-1] < 1e-5

    drift_at = {}
    for lr in (0.01, 0.005):
        log = train_gd(params, LEAKY, lr=lr, steps=round(1.0 / lr), log_every=round(1.0 / lr))
        assert log.time[-1] == pytest.approx(1.0)
        drift_at[lr] = log.conserved_drift[-1]
    # O(lr^2) per step times 1/lr steps: O(lr) at fixed training time.
    assert 1e-4 < drift_at[0.01] < 0.1
    assert 1.6 < drift_at[0.01] / drift_at[0.005] < 2.4


def test_training_from_zero_recurrence_stays_in_the_span_of_the_initial_read_in_and_read_out():
    params0 = ginibre_init(seed=4, n=8, sigma=0.0, eps=0.5)
    log = train_gd(params0, LEAKY, lr=0.01, steps=600, log_every=300)
    assert not log.diverged
    assert log.loss[-1] < 0.5 * log.loss[0]  # it did learn, so the check is not vacuous
    W, u, v = log.final
    singular_values = np.linalg.svd(W, compute_uv=False)
    assert singular_values[1] > 1e-3 * singular_values[0]
    # Roundoff leaks ~1e-16 per step out of the span; 1e-10 is far above 600 steps of it.
    assert singular_values[2] < 1e-10 * singular_values[0]
    basis, _ = np.linalg.qr(np.stack([params0.u, params0.v], axis=1))
    for vector in (u, v):
        outside = vector - basis @ (basis.T @ vector)
        assert np.linalg.norm(outside) < 1e-10 * np.linalg.norm(vector)


def test_untrained_parameters_stay_fixed():
    params0 = random_stable_params(seed=5, n=4)
    log = train_gd(params0, LEAKY, lr=0.01, steps=20, log_every=10, trained=("v",))
    np.testing.assert_array_equal(log.final.W, params0.W)
    np.testing.assert_array_equal(log.final.u, params0.u)
    assert not np.array_equal(log.final.v, params0.v)
    assert log.loss[-1] < log.loss[0]


def test_orthogonal_init_has_exact_norms_and_zero_overlap():
    params = ginibre_init(seed=6, n=50, sigma=0.3, eps=0.1, orthogonal_io=True)
    assert np.linalg.norm(params.u) == pytest.approx(0.1, rel=1e-12)
    assert np.linalg.norm(params.v) == pytest.approx(0.1, rel=1e-12)
    assert abs(params.u @ params.v) < 1e-15
    # 2500 entries: the sample std of W * sqrt(n) estimates sigma to ~1.5%.
    assert np.std(params.W) * np.sqrt(50) == pytest.approx(0.3, rel=0.05)


def test_stability_guard():
    params = random_stable_params(seed=7, n=4)
    unstable = params._replace(W=1.5 * np.eye(4))
    assert expected_loss(unstable, LEAKY) == float("inf")
    loss, grads = loss_and_grads(unstable, LEAKY)
    assert loss == float("inf") and np.all(np.isnan(grads.W))

    at_start = train_gd(unstable, LEAKY, lr=0.01, steps=10, log_every=1)
    assert at_start.diverged and at_start.diverged_at == 0.0 and at_start.loss.size == 0
    assert train_flow(unstable, LEAKY, t_end=1.0, n_logs=3).diverged

    # Far above 2 / lambda_max the first steps throw W out of the stable region.
    blown_up = train_gd(params, LEAKY, lr=0.5, steps=200, log_every=1)
    assert blown_up.diverged and 0.0 < blown_up.diverged_at < 100.0
    assert np.all(np.isfinite(blown_up.loss)) and blown_up.time[-1] < blown_up.diverged_at
    assert is_stable(blown_up.final.W)
