"""Mode-level theory of learning dynamics in linear RNNs (digest papers/proca.md, sections 2-4).

Each closed form is checked against an independent route: finite-difference
gradients, numerical integration of the mode flow, brute-force sums, or a
dense-grid search. Reference numbers from the digest are checked to their
printed precision.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate

from rnnscope.theory.linear_modes import (
    TAYLOR5_STABILITY,
    F_potential_derivative,
    balanced_factors,
    beta_ratio_from_s1,
    conserved_quantity,
    data_term,
    default_taylor_window,
    dirac_energy,
    dirac_u_star,
    effective_regulariser,
    effective_regulariser_t_output,
    extrapolation_error,
    flow_limit,
    geometric_solution,
    global_minimiser,
    integrate_modes,
    is_unstable,
    length_error,
    locate_jumps,
    logistic_coefficients,
    logistic_coefficients_t_output,
    logistic_fixed_point,
    logistic_half_time,
    logistic_time_to,
    logistic_u,
    loss_hessian,
    max_stable_learning_rate,
    mode_energy,
    mode_rhs,
    reduced_energy,
    sigma_lags,
    taylor_b,
    taylor_b_derivatives,
    transition_point,
    zero_loss_solution,
)

RNG = np.random.default_rng(20250712)


def _rotation(radius, angle):
    return radius * np.exp(1j * angle)


# ---------------------------------------------------------------------------
# Task profiles and zero-loss solutions (digest 2.3)
# ---------------------------------------------------------------------------


def test_sigma_lags_are_the_time_profiles_read_backwards():
    T, delta, lam, kappa = 6, 0.7, 0.8, 1.3
    t = np.arange(1, T + 1)
    in_time = {
        "constant": delta * np.ones(T),
        "inverse_exponential": delta * lam ** (T - t),
        "exponential": delta * lam**t,
    }
    for family, s in in_time.items():
        np.testing.assert_allclose(sigma_lags(family, delta, lam, T), s[::-1], rtol=1e-15)
        modified = s.copy()
        modified[-1] = kappa  # eq. 10: s_T = kappa
        np.testing.assert_allclose(sigma_lags(family, delta, lam, T, kappa=kappa), modified[::-1], rtol=1e-15)
    dirac = sigma_lags("dirac", None, None, T, kappa=kappa, s1=2.5)
    np.testing.assert_array_equal(dirac, [kappa, 0, 0, 0, 0, 2.5])
    rot = sigma_lags("inverse_exponential", 1.0, _rotation(0.9, 0.3), T)
    assert np.iscomplexobj(rot)
    np.testing.assert_allclose(rot, _rotation(0.9, 0.3) ** np.arange(T), rtol=1e-14)
    # per-mode arrays broadcast to batch + (T,)
    assert sigma_lags("exponential", np.array([1.0, 2.0]), np.array([0.5, 0.9]), T).shape == (2, T)


ZERO_LOSS_CASES = [
    ("constant", 0.8, None),
    ("inverse_exponential", 1.1, 0.5),
    ("inverse_exponential", 0.5, 1.1),
    ("exponential", 1.0, 0.8),
    ("inverse_exponential", _rotation(0.7, np.pi / 6), _rotation(0.9, np.pi / 6)),
    ("exponential", _rotation(0.7, np.pi / 6), _rotation(1.05, np.pi / 6)),
    ("constant", _rotation(0.7, np.pi / 6), None),
]


@pytest.mark.parametrize("family,delta,lam", ZERO_LOSS_CASES)
def test_zero_loss_solutions_zero_energy_and_rest(family, delta, lam):
    T, tau = 7, 1.7
    sigma = sigma_lags(family, delta, lam, T)
    sol = zero_loss_solution(family, delta, lam, T)
    # the table agrees with the general geometric fit of the profile
    fit = geometric_solution(sigma)
    assert np.isclose(sol.b, fit.b, rtol=1e-12) and np.isclose(sol.u, fit.u, rtol=1e-12)
    a, c = balanced_factors(sol.u)
    # residuals are rounding only: |sigma| <= ~2, so rho ~ 1e-15 and E ~ 1e-30
    assert mode_energy(a, sol.b, c, sigma, tau) < 1e-26
    for d in mode_rhs(a, sol.b, c, sigma, tau):
        assert abs(d) < 1e-12


def test_kappa_modified_and_dirac_tasks_have_no_zero_loss_solution():
    for T in (3, 5, 10):
        assert zero_loss_solution("constant", 0.5, None, T, kappa=1.0) is None
        assert zero_loss_solution("exponential", 1.0, 0.8, T, kappa=1.0) is None
        assert zero_loss_solution("inverse_exponential", 1.0, 0.6, T, kappa=2.0) is None
        assert zero_loss_solution("dirac", None, None, T, kappa=1.0, s1=0.5) is None
        # and indeed the landscape's global minimum has positive energy
        # (sigma = O(1), so a strictly positive minimum is far above rounding)
        sigma = sigma_lags("constant", 0.5, None, T, kappa=1.0)
        assert global_minimiser(sigma, (-3.0, 3.0)).energy > 1e-4
    # kappa equal to the unmodified s_T gives the table back
    sol = zero_loss_solution("exponential", 1.0, 0.8, 5, kappa=0.8**5)
    assert np.isclose(sol.b, 1 / 0.8) and np.isclose(sol.u, 0.8**5)
    # T = 2: every profile is geometric, so even the Dirac task is fitted exactly
    sol = zero_loss_solution("dirac", None, None, 2, kappa=2.0, s1=0.5)
    assert np.isclose(sol.b, 0.25) and np.isclose(sol.u, 2.0)


# ---------------------------------------------------------------------------
# Mode ODEs, energy, regulariser (digest 3.2-3.4)
# ---------------------------------------------------------------------------


def _fd_gradient(f, x, h=1e-6):
    """Central differences. Truncation h^2 |f'''| / 6 ~ 1e-11 here and
    rounding eps |f| / h ~ 1e-9 for |f| <= 10: the error is far below 1e-6."""
    grad = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


def test_rhs_equals_minus_gradient_real():
    T, tau = 7, 2.3
    for _ in range(5):
        sigma = RNG.normal(size=T)
        a, b, c = RNG.uniform(-1.2, 1.2, size=3)
        grad = _fd_gradient(lambda x: tau * mode_energy(x[0], x[1], x[2], sigma, tau), np.array([a, b, c]))
        rhs = tau * np.array(mode_rhs(a, b, c, sigma, tau))
        np.testing.assert_allclose(rhs, -grad, atol=1e-6 * max(1.0, np.max(np.abs(grad))))


def test_rhs_equals_minus_wirtinger_gradient_complex():
    """theta_dot = -2 dE/d(theta*) = -(dE/dx + i dE/dy) for theta = x + i y (digest 3.3)."""
    T, tau = 6, 0.7
    for _ in range(5):
        sigma = RNG.normal(size=T) + 1j * RNG.normal(size=T)
        z = RNG.uniform(-1.0, 1.0, size=3) + 1j * RNG.uniform(-1.0, 1.0, size=3)

        def energy(x):
            w = x[:3] + 1j * x[3:]
            return tau * mode_energy(w[0], w[1], w[2], sigma, tau)

        grad = _fd_gradient(energy, np.concatenate([z.real, z.imag]))
        expected = -(grad[:3] + 1j * grad[3:])
        rhs = tau * np.array(mode_rhs(z[0], z[1], z[2], sigma, tau))
        np.testing.assert_allclose(rhs, expected, atol=1e-6 * max(1.0, np.max(np.abs(expected))))


def test_energy_is_data_term_plus_regulariser():
    T, tau = 9, 1.3
    for is_complex in (False, True):
        for _ in range(5):
            sigma = RNG.normal(size=T) + (1j * RNG.normal(size=T) if is_complex else 0)
            a, b, c = RNG.uniform(-1.3, 1.3, size=3) + (1j * RNG.uniform(-1, 1, size=3) if is_complex else 0)
            total = mode_energy(a, b, c, sigma, tau)
            split = data_term(a * c, b, sigma, tau) + effective_regulariser(a * c, b, T, tau)
            # same sums regrouped: rounding ~ 1e-15 of the largest term
            assert abs(total - split) <= 1e-12 * max(1.0, abs(total))
    # the regulariser's closed form (Lemma 3.2) and its T-output form (M.4)
    for u, b in ((0.7, 0.9), (1.3, 1.1), (0.4, -0.6)):
        T = 8
        closed = u**2 * (1 - b ** (2 * T)) / (1 - b**2) / (2 * tau)
        assert np.isclose(effective_regulariser(u, b, T, tau), closed, rtol=1e-12)
        closed_t = u**2 * (T * (1 - b**2) - b**2 * (1 - b ** (2 * T))) / (1 - b**2) ** 2 / (2 * tau)
        assert np.isclose(effective_regulariser_t_output(u, b, T, tau), closed_t, rtol=1e-10)


def test_loss_hessian_matches_finite_differences():
    T = 6
    sigma = RNG.normal(size=T)
    a, b, c = 0.8, 0.7, -0.5

    def grad(x):
        return -np.array(mode_rhs(x[0], x[1], x[2], sigma, 1.0))

    x = np.array([a, b, c])
    h = 1e-6
    numeric = np.stack([(grad(x + h * e) - grad(x - h * e)) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(loss_hessian(a, b, c, sigma), numeric, atol=1e-6)


# ---------------------------------------------------------------------------
# Integrated flow (digest 3.2-3.3, 4.2)
# ---------------------------------------------------------------------------


def test_conserved_quantity_along_the_flow():
    t = np.linspace(0.0, 30.0, 61)
    sigma = sigma_lags("constant", 0.9, None, 6, kappa=1.0)
    traj = integrate_modes(sigma, np.array([0.3, 0.05]), np.array([0.2, 0.6]), np.array([0.1, 0.4]), t)
    assert not traj.diverged.any()
    q = conserved_quantity(traj.a, traj.c)
    # rtol 1e-10 on O(1) states: drift of a^2 - c^2 stays within ~1e-9
    assert np.max(np.abs(q - q[0])) < 1e-8
    assert np.ptp(traj.b[:, 0]) > 0.1  # the flow did move
    # complex (rotation) modes conserve |a|^2 - |c|^2
    sigma_c = sigma_lags("inverse_exponential", _rotation(0.7, np.pi / 6), _rotation(0.9, np.pi / 6), 5)
    traj_c = integrate_modes(sigma_c, 0.3 + 0.1j, 0.1, 0.2 - 0.05j, t)
    q_c = conserved_quantity(traj_c.a, traj_c.c)
    assert np.max(np.abs(q_c - q_c[0])) < 1e-8
    # and reaches the complex zero-loss solution b = lam, ac = delta (App. O)
    assert abs(traj_c.b[-1] - _rotation(0.9, np.pi / 6)) < 1e-6
    assert abs(traj_c.a[-1] * traj_c.c[-1] - _rotation(0.7, np.pi / 6)) < 1e-6


def test_logistic_closed_form_matches_integration():
    T, tau, b = 6, 1.5, 0.6
    sigma = sigma_lags("inverse_exponential", 1.1, 0.5, T)
    A, B = logistic_coefficients(sigma, b)
    u0 = 0.01
    a0 = np.sqrt(u0)

    def frozen_b(_t, y):
        da, _, dc = mode_rhs(y[0], b, y[1], sigma, tau)
        return [da, dc]

    t = np.linspace(0.0, 12.0, 121)
    sol = scipy.integrate.solve_ivp(frozen_b, (0, 12), [a0, a0], t_eval=t, method="DOP853", rtol=1e-12, atol=1e-14)
    u_num = sol.y[0] * sol.y[1]
    # integrator error ~ 1e-11 on O(1) values, so 1e-6 has a wide margin
    np.testing.assert_allclose(logistic_u(t, A, B, u0, tau), u_num, atol=1e-6)
    assert abs(u_num[-1] - logistic_fixed_point(A, B)) < 1e-6
    # time-to-reach inverts u(t); the half-way time reaches u*/2
    u_mid = 0.3 * logistic_fixed_point(A, B)
    assert np.isclose(logistic_u(logistic_time_to(u_mid, A, B, u0, tau), A, B, u0, tau), u_mid, rtol=1e-10)
    t_half = logistic_half_time(A, B, u0, tau)
    assert np.isclose(logistic_u(t_half, A, B, u0, tau), 0.5 * A / B, rtol=1e-10)


def test_logistic_t_output_coefficients():
    """A, B of App. M.1 against the T-output energy: E(u) = c - u A + u^2 B / 2."""
    T, b = 5, 0.7
    s = np.tril(RNG.normal(size=(T, T)))

    def energy(u):
        t, i = np.indices((T, T))
        lag = np.maximum(t - i, 0)
        return 0.5 * np.sum(np.where(t >= i, (s - u * b**lag) ** 2, 0.0))

    A, B = logistic_coefficients_t_output(s, b)
    # E is quadratic in u, so central differences are exact up to rounding
    for u in (0.0, 0.4, -1.2):
        slope = (energy(u + 1e-3) - energy(u - 1e-3)) / 2e-3
        assert np.isclose(-slope, A - u * B, atol=1e-8)
    assert np.isclose(B, 2 * effective_regulariser_t_output(1.0, b, T), rtol=1e-12)


# ---------------------------------------------------------------------------
# Windowed Taylor solution for b (digest 3.6)
# ---------------------------------------------------------------------------

TAYLOR_T, TAYLOR_TAU = 5, 2.0
TAYLOR_SIGMA = sigma_lags("inverse_exponential", 1.0, 0.5, TAYLOR_T)
TAYLOR_U, TAYLOR_B0 = 1.0, 0.1


def _reference_b(t):
    """tau db/dt from mode_rhs with a = 1, c = u (not through F): an independent route."""
    sol = scipy.integrate.solve_ivp(
        lambda _t, y: [mode_rhs(1.0, y[0], TAYLOR_U, TAYLOR_SIGMA, TAYLOR_TAU)[1]],
        (t[0], t[-1]),
        [TAYLOR_B0],
        t_eval=t,
        method="DOP853",
        rtol=1e-13,
        atol=1e-15,
    )
    return sol.y[0]


def test_F_derivatives_closed_form():
    F = np.polynomial.Polynomial(np.zeros(2 * TAYLOR_T - 1))
    for k, s in enumerate(TAYLOR_SIGMA):
        F = F + np.polynomial.Polynomial([0] * k + [TAYLOR_U * s]) - np.polynomial.Polynomial([0] * (2 * k) + [0.5 * TAYLOR_U**2])
    b = np.array([0.0, 0.3, -0.8, 1.2])
    for n in range(7):
        np.testing.assert_allclose(F_potential_derivative(b, TAYLOR_U, TAYLOR_SIGMA, n), F.deriv(n)(b), atol=1e-10)
    # tau db/dt = F'(b)
    assert np.isclose(F_potential_derivative(0.3, 0.7, TAYLOR_SIGMA, 1), TAYLOR_TAU * mode_rhs(1.0, 0.3, 0.7, TAYLOR_SIGMA, TAYLOR_TAU)[1])


def test_taylor_single_window_has_sixth_order_local_error():
    """If every b^(n), n <= 5, is right, one window's error is O(h^6): halving h divides it by 64."""
    derivs = taylor_b_derivatives(TAYLOR_B0, TAYLOR_U, TAYLOR_SIGMA)
    coef = np.concatenate([[TAYLOR_B0], derivs / np.array([1, 2, 6, 24, 120])])
    errors = []
    for h in (0.2, 0.1, 0.05):
        exact = _reference_b(np.array([0.0, h * TAYLOR_TAU]))[-1]
        errors.append(abs(np.polynomial.polynomial.polyval(h, coef) - exact))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    # asymptotically 2^6 = 64; a wrong fifth derivative would give 32 at most
    assert np.all((ratios > 50) & (ratios < 80)), ratios


def test_windowed_taylor_matches_integration():
    t = np.linspace(0.0, 30.0, 301)
    ref = _reference_b(t)
    b_star = flow_limit(TAYLOR_B0, TAYLOR_U, TAYLOR_SIGMA)
    assert np.isclose(b_star, 0.5)  # u = delta, so b rests at lambda
    # default window: window |F''| <= 1, so per window |e^z - R5(z)| <= |z|^6/720 <= 1.4e-3
    # of the distance to the fixed point, and these errors decay under the
    # contraction: the global error is below ~1.5e-3 |b0 - b*|.
    out = taylor_b(TAYLOR_SIGMA, TAYLOR_U, TAYLOR_B0, t, TAYLOR_TAU)
    assert out.stable and out.monotone and out.step_ratio <= 1.0 + 1e-12
    assert np.isclose(out.window, default_taylor_window(TAYLOR_B0, TAYLOR_U, TAYLOR_SIGMA))
    assert np.max(np.abs(out.b - ref)) < 1.5e-3 * abs(TAYLOR_B0 - b_star)
    # global error O(window^5): halving the window divides it by ~32
    errs = [np.max(np.abs(taylor_b(TAYLOR_SIGMA, TAYLOR_U, TAYLOR_B0, t, TAYLOR_TAU, window=w).b - ref)) for w in (0.2, 0.1, 0.05)]
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all((ratios > 25) & (ratios < 40)), ratios


def test_too_large_taylor_window_is_detected():
    t = np.linspace(0.0, 30.0, 301)
    ref = _reference_b(t)
    curvature = abs(F_potential_derivative(0.5, TAYLOR_U, TAYLOR_SIGMA, 2))
    assert np.isclose(TAYLOR5_STABILITY, 3.2170, atol=1e-4)
    # just past the stability limit: flagged, and indeed wrong
    out = taylor_b(TAYLOR_SIGMA, TAYLOR_U, TAYLOR_B0, t, TAYLOR_TAU, window=1.1 * TAYLOR5_STABILITY / curvature)
    assert not out.stable
    assert np.nanmax(np.abs(out.b - ref)) > 1e-2
    # stable but too coarse: overshoots the resting point, which the exact flow never does
    out = taylor_b(TAYLOR_SIGMA, TAYLOR_U, TAYLOR_B0, t, TAYLOR_TAU, window=0.9 * TAYLOR5_STABILITY / curvature)
    assert out.stable and not out.monotone
    # far too large: blows up, flagged on both counts
    out = taylor_b(TAYLOR_SIGMA, TAYLOR_U, TAYLOR_B0, t, TAYLOR_TAU, window=3 * TAYLOR5_STABILITY / curvature)
    assert not out.stable and not out.monotone


# ---------------------------------------------------------------------------
# Phase transition (digest 4.4, App. H)
# ---------------------------------------------------------------------------


def test_dirac_reduced_energy_is_the_mode_energy_minimised_over_u():
    T, beta, tau = 6, 1.3, 0.8
    sigma = sigma_lags("dirac", None, None, T, kappa=1 / beta, s1=beta)
    b = np.linspace(0.0, 2.0, 11)
    np.testing.assert_allclose(dirac_energy(b, beta, T), 2 * tau * reduced_energy(b, sigma, tau), rtol=1e-12)
    for bi in b:
        u_star = dirac_u_star(bi, beta, T)
        assert np.isclose(mode_energy(u_star, bi, 1.0, sigma, tau), reduced_energy(bi, sigma, tau), rtol=1e-12)
    # trivial branch: b = 0, u = 1/beta, E* = beta^2
    assert np.isclose(dirac_u_star(0.0, beta, T), 1 / beta) and np.isclose(dirac_energy(0.0, beta, T), beta**2)
    assert np.isclose(beta_ratio_from_s1(0.5, 1.0), 1 / np.sqrt(2))


def test_transition_point_T3_continuous_at_inverse_sqrt2():
    res = transition_point(3, 2.0, betas=[0.70, 0.72, 0.75])
    # exact: the b^2 coefficient beta^-2 - 2 changes sign; Brent's xtol is 1e-12
    assert abs(res.beta_c - 1 / np.sqrt(2)) < 1e-9
    # continuous onset: b* = 0 below, small and growing just above
    assert res.b_star[0] == 0.0 and 0.0 < res.b_star[1] < res.b_star[2] < 1.0


def test_transition_point_first_order_for_T_above_3():
    # T = 4: q(b; beta=1) = (1 - b)^2 >= 0, so beta_c = 1 exactly; the digest's
    # "~1.001" is within its printed 1e-3
    res4 = transition_point(4, 2.0, betas=[0.99, 1.01])
    assert abs(res4.beta_c - 1.0) < 1e-9 and abs(res4.beta_c - 1.001) <= 1e-3
    # digest values carry three decimals
    for T, digest in ((6, 1.060), (10, 1.074)):
        res = transition_point(T, 2.0, betas=[0.99 * digest, 1.01 * digest])
        assert abs(res.beta_c - digest) <= 1e-3, (T, res.beta_c)
        # first order: the minimiser jumps from b = 0 to the edge of the range
        assert res.b_star[0] == 0.0 and res.b_star[1] > 1.9
    # a wider range moves beta_c down (digest: ~1.03 with b in [0, 3])
    assert abs(transition_point(10, 3.0, betas=[1.0]).beta_c - 1.03) <= 5e-3


def test_dirac_transition_against_a_dense_grid():
    """Independent route: the global minimiser on a 20001-point grid, no refinement."""
    T = 6
    res = transition_point(T, 2.0, betas=[1.0])
    grid = np.linspace(0.0, 2.0, 20001)
    for beta, leaves in ((res.beta_c - 2e-3, False), (res.beta_c + 2e-3, True)):
        assert (grid[np.argmin(dirac_energy(grid, beta, T))] > 0) == leaves


def test_kappa_sweep_jumps():
    # constant + kappa (kappa = 1, b in [0, 1.5]): smooth for T = 5, 10; a jump near delta 0.17 for T = 20
    for T in (5, 10):
        assert locate_jumps(lambda d: sigma_lags("constant", d, None, T, kappa=1.0), np.linspace(0.02, 1.0, 50)) == []
    jumps = locate_jumps(lambda d: sigma_lags("constant", d, None, 20, kappa=1.0), np.linspace(0.02, 1.0, 50))
    assert len(jumps) == 1
    # digest: delta ~0.17, b 0.29 -> 0.91 (two decimals)
    assert abs(jumps[0].param - 0.17) <= 5e-3
    assert abs(jumps[0].b_before - 0.29) <= 5e-3 and abs(jumps[0].b_after - 0.91) <= 5e-3
    # exponential (delta = 1) + kappa: lambda ~0.555, 0.686, 0.707; landing b 0.59, 1.13, 1.40
    for T, lam_c, landing in ((5, 0.555, 0.59), (10, 0.686, 1.13), (20, 0.707, 1.40)):
        jumps = locate_jumps(lambda lam: sigma_lags("exponential", 1.0, lam, T, kappa=1.0), np.linspace(0.3, 0.99, 70))
        assert len(jumps) == 1
        assert abs(jumps[0].param - lam_c) <= 1e-3, (T, jumps[0])
        # with lambda increasing, the minimiser jumps from the feedforward side up
        assert abs(jumps[0].b_after - landing) <= 5e-3 and jumps[0].b_before < 0.25


# ---------------------------------------------------------------------------
# Extrapolation and stability (digest 4.2-4.3)
# ---------------------------------------------------------------------------


def test_exponential_extrapolation_closed_form_against_brute_force():
    T = 8
    for delta, lam in ((1.0, 0.8), (0.6, 1.1), (_rotation(0.7, 0.4), _rotation(0.95, 0.5))):
        sol = zero_loss_solution("exponential", delta, lam, T)
        for T_test in (3, 8, 12, 20):
            brute = sum(abs(delta * lam**T_test * lam**-k - delta * lam**T * lam**-k) ** 2 for k in range(T_test))
            closed = extrapolation_error("exponential", delta, lam, T, T_test)
            assert np.isclose(closed, brute, rtol=1e-10, atol=1e-14)
            assert np.isclose(length_error(sigma_lags("exponential", delta, lam, T_test), sol.u, sol.b), brute, rtol=1e-10, atol=1e-14)
    assert extrapolation_error("exponential", 1.0, 0.8, T, T) == 0.0
    assert extrapolation_error("exponential", 1.0, 0.8, T, 12) > extrapolation_error("exponential", 1.0, 0.8, T, 10) > 0


def test_mean_sum_and_inverse_exponential_extrapolation():
    T = 6
    for T_test in (2, 6, 9, 15):
        brute_mean = length_error(np.full(T_test, 1 / T_test), 1 / T, 1.0)
        assert np.isclose(extrapolation_error("mean", 1.0, None, T, T_test), brute_mean, rtol=1e-12, atol=1e-16)
        assert np.isclose(brute_mean, (T_test - T) ** 2 / (T**2 * T_test), rtol=1e-12, atol=1e-16)
        for family, delta, lam in (("constant", 1.0, None), ("inverse_exponential", 0.9, 0.7)):
            sol = zero_loss_solution(family, delta, lam, T)
            assert length_error(sigma_lags(family, delta, lam, T_test), sol.u, sol.b) < 1e-28
            assert extrapolation_error(family, delta, lam, T, T_test) == 0.0


def test_is_unstable_marks_early_importance_solutions():
    assert is_unstable(zero_loss_solution("inverse_exponential", 1.0, 1.3, 10).b)
    assert is_unstable(zero_loss_solution("exponential", 1.0, 0.8, 10).b)
    assert is_unstable(zero_loss_solution("inverse_exponential", 1.0, _rotation(1.05, 0.5), 10).b)
    assert not is_unstable(zero_loss_solution("inverse_exponential", 1.0, 0.7, 10).b)
    assert not is_unstable(zero_loss_solution("constant", 1.0, None, 10).b)  # |b| = 1 is marginal
    np.testing.assert_array_equal(is_unstable(np.array([-1.2, 0.5, 1.0, 1.01])), [True, False, False, True])


def test_early_importance_flow_converges_but_gradient_descent_must_step_small():
    """Inverse-exponential, lambda = 1.3, T = 10 (early importance, b* = 1.3 > 1).

    The continuous flow is a gradient flow of E >= 0, so it cannot blow up in
    finite time (|theta(t) - theta(0)| <= sqrt(t E0)); it converges to the
    zero-loss solution. The instability is stiffness: gradient descent needs
    eta < 2 / lambda_max, which is hundreds of times smaller than for the
    mirrored late-importance task lambda = 1/1.3.
    """
    T = 10
    sigma = sigma_lags("inverse_exponential", 1.0, 1.3, T)
    t = np.linspace(0.0, 20.0, 41)
    traj = integrate_modes(sigma, 0.1, 0.1, 0.1, t, method="LSODA")
    assert np.all(np.isfinite(traj.b)) and not traj.diverged
    assert abs(traj.b[-1] - 1.3) < 1e-6 and abs(traj.a[-1] * traj.c[-1] - 1.0) < 1e-6
    # Cauchy-Schwarz bound on the distance travelled
    e0 = mode_energy(0.1, 0.1, 0.1, sigma)
    moved = np.sqrt((traj.a - 0.1) ** 2 + (traj.b - 0.1) ** 2 + (traj.c - 0.1) ** 2)
    assert np.all(moved <= np.sqrt(t * e0) + 1e-9)
    eta_early = max_stable_learning_rate(1.0, 1.3, 1.0, sigma)
    eta_late = max_stable_learning_rate(1.0, 1 / 1.3, 1.0, sigma_lags("inverse_exponential", 1.0, 1 / 1.3, T))
    assert eta_late / eta_early > 100
    # gradient descent from near the solution. Every zero-loss point (ac = 1,
    # b = 1.3) has the same curvature u^2 sum_k k^2 b^{2k-2} along b, which is
    # nearly all of lambda_max, so above the limit no zero-loss point is
    # linearly stable: the loss cannot go to zero; far above it, GD explodes.
    h_bb = np.sum(np.arange(T) ** 2 * 1.3 ** (2 * np.arange(T) - 2.0))
    assert 2 / h_bb < 1.1 * eta_early
    for factor in (0.9, 1.1, 5.0):
        theta = np.array([1.0, 1.3, 1.0]) + 1e-4
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(3000):
                theta = theta + factor * eta_early * np.array(mode_rhs(*theta, sigma, 1.0))
                if not np.all(np.isfinite(theta)) or np.max(np.abs(theta)) > 1e3:
                    break
            blew_up = not np.all(np.isfinite(theta)) or np.max(np.abs(theta)) > 1e3
            energy = np.inf if blew_up else mode_energy(*theta, sigma)
        if factor < 1:
            # converged: the slowest direction (curvature ~26) contracts by
            # 1 - 0.9 eta 26 ~ 0.9955 per step, so 1e-4 shrinks to ~1e-10
            assert energy < 1e-12
        elif factor < 2:
            assert not blew_up and energy > 1e-6  # bounded but never reaches zero loss
        else:
            assert blew_up


def test_integrate_modes_flags_runaway_instead_of_nan():
    """Dirac delta, T = 6, beta above beta_c: E decreases towards b -> inf (digest 4.4)."""
    T, beta = 6, 1.5
    sigma = sigma_lags("dirac", None, None, T, kappa=1 / beta, s1=beta)
    t = np.linspace(0.0, 200.0, 41)
    traj = integrate_modes(sigma, np.array([0.5, 0.5]), np.array([1.5, 0.0]), np.array([0.5, 0.5]), t, bound=5.0, method="LSODA")
    assert np.all(np.isfinite(traj.b)) and np.all(np.isfinite(traj.a))
    assert traj.diverged[0] and not traj.diverged[1]  # b0 = 0 stays on the feedforward branch
    assert 0.0 < traj.t_diverged[0] < t[-1] and np.isnan(traj.t_diverged[1])
    after = t > traj.t_diverged[0]
    np.testing.assert_allclose(traj.b[after, 0], 5.0, rtol=1e-6)  # frozen where the event fired
    assert abs(traj.a[-1, 1] * traj.c[-1, 1] - 1 / beta) < 1e-6 and abs(traj.b[-1, 1]) < 1e-9
