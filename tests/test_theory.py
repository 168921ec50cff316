"""Closed forms of collapse_lib.theory: exact values computed by hand, identities, limits and monotonicity.

The numbers written as fractions below were worked out on paper from theory.md (R1, R2, R4, R8, R10 and the isotropic
form of R3 at a point where kappa is a surd); they are not produced by the library.
"""
import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from collapse_lib import Problem, isotropic, power_law, theory

EULER_GAMMA = 0.5772156649015329
SQRT2 = math.sqrt(2.0)


# ---------------------------------------------------------------- R1 / R2: OLS, exact in finite samples
@pytest.mark.parametrize("kw, expected", [
    (dict(d=20, T=50), 20 / 29),                                            # R1: sigma^2 d / (T - d - 1)
    (dict(d=10, T=40, sigma=2.0), 4 * 10 / 29),
    (dict(d=1, T=3, sigma=1.0), 1.0),                                       # smallest T allowed: d + 2
    (dict(d=20, T=50, T0=60, sigma=0.7, sigma0=1.3, n=0), 0.49 * 20 / 29),  # n = 0 ignores the generators
    (dict(d=20, T=50, T0=60, sigma=0.7, sigma0=1.3, n=1), 0.49 * 20 / 29 + 1.69 * 20 / 39),
    (dict(d=20, T=50, T0=60, sigma=0.7, sigma0=1.3, n=3), 0.49 * 20 / 29 + 3 * 1.69 * 20 / 39),
    (dict(d=20, T=50, T0=60, sigma=0.7, sigma0=1.3, n=6), 0.49 * 20 / 29 + 6 * 1.69 * 20 / 39),
    (dict(d=5, T=100, T0=7, sigma=0.0, sigma0=1.0, n=2), 2 * 5 / 1),      # noiseless downstream, T0 = d + 2
])
def test_ols_test_error_exact_values(kw, expected):
    assert theory.ols_test_error(**kw) == pytest.approx(expected, rel=1e-13)


def test_ols_test_error_theory_md_check_values():
    # theory.md R2 (d=20, T0=60, T=50, sigma=0.7, sigma0=1.3): n=0: 0.338, n=1: 1.205, n=3: 2.938, n=6: 5.54
    got = [theory.ols_test_error(d=20, T=50, T0=60, sigma=0.7, sigma0=1.3, n=n) for n in (0, 1, 3, 6)]
    np.testing.assert_allclose(got, [0.338, 1.205, 2.938, 5.54], atol=5e-3)


def test_ols_error_linear_in_n_and_decreasing_in_T():
    errs = [theory.ols_test_error(d=30, T=80, T0=50, sigma=0.5, sigma0=1.0, n=n) for n in range(8)]
    steps = np.diff(errs)
    assert np.all(steps > 0)
    np.testing.assert_allclose(steps, 30 / 19, rtol=1e-12)   # each generation adds sigma0^2 d / (T0 - d - 1)
    by_T = [theory.ols_test_error(d=30, T=T, T0=50, n=2) for T in (32, 33, 40, 100, 1000, 10**6)]
    assert np.all(np.diff(by_T) < 0)
    assert by_T[-1] == pytest.approx(2 * 30 / 19, rel=1e-4)   # T -> infinity: the generators' error remains


@pytest.mark.parametrize("kw, name", [
    (dict(d=20, T=21), "T"), (dict(d=20, T=20), "T"), (dict(d=20, T=5), "T"),
    (dict(d=20, T=50, T0=21, n=1), "T0"), (dict(d=20, T=50, n=1), "T0"),
])
def test_ols_test_error_refuses_outside_domain(kw, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b.*(d \+ 2|>=)"):
        theory.ols_test_error(**kw)


def test_ols_test_error_ignores_T0_when_n_is_zero():
    # T0 plays no role in the clean baseline, so an over-parameterised T0 is not an error there.
    assert theory.ols_test_error(d=20, T=50, T0=10, n=0) == pytest.approx(20 / 29)


# ---------------------------------------------------------------- df and kappa
def test_df_exact_values():
    assert theory.df([1.0, 3.0], 1.0) == pytest.approx(1 / 2 + 3 / 4)
    assert theory.df([1.0, 3.0], 1.0, m=2) == pytest.approx(1 / 4 + 9 / 16)
    assert theory.df([1.0, 3.0], 0.0) == pytest.approx(2.0)
    np.testing.assert_allclose(theory.df([1.0, 3.0], [0.0, 1.0, 3.0]), [2.0, 1.25, 1 / 4 + 3 / 6])
    assert isinstance(theory.df([1.0], 1.0), float)


@pytest.mark.parametrize("eigs, lam, T, expected", [
    (np.ones(300), 0.5, 600, SQRT2 / 2),          # isotropic, phi = 1/2, lam = 1/2: kappa = sqrt(2)/2
    (np.ones(4), 0.0, 2, 1.0),                    # df_1(k) = 4/(1+k) = T = 2
    ([1.0, 3.0], 0.0, 1, math.sqrt(3.0)),         # 1/(1+k) + 3/(3+k) = 1  <=>  k^2 = 3
    (np.ones(10), 0.0, 20, 0.0),                  # ridgeless above the threshold
    ([1.0, 3.0], 2.0, 10 ** 9, 2.0),              # T -> infinity: kappa -> lam
])
def test_effective_regularization_exact_values(eigs, lam, T, expected):
    assert theory.effective_regularization(eigs, lam, T) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("T", [30, 100, 149, 151, 400])
def test_kappa_solves_its_fixed_point_equation(T):
    eigs = np.arange(1, 151) ** -1.5
    lam = np.array([1e-6, 1e-3, 0.01, 0.1, 1.0, 10.0])
    kappa = theory.effective_regularization(eigs, lam, T)
    assert kappa.shape == lam.shape and np.all(kappa >= lam) and np.all(np.diff(kappa) > 0)
    np.testing.assert_allclose(kappa - lam, kappa * theory.df(eigs, kappa) / T, rtol=1e-9, atol=1e-14)


def test_kappa_isotropic_matches_closed_form():
    d = 200
    for T in (50, 150, 250, 800):
        lam = np.logspace(-4, 2, 13)
        phi = d / T
        closed = (lam + phi - 1 + np.sqrt((lam + phi - 1) ** 2 + 4 * lam)) / 2
        np.testing.assert_allclose(theory.effective_regularization(np.ones(d), lam, T), closed, rtol=1e-9)


# ---------------------------------------------------------------- R3: ridge downstream
def test_ridge_isotropic_exact_value_at_a_surd_point():
    # phi = 1/2, lam = 1/2: kappa = sqrt(2)/2, q = (1 + kappa)^2 = 3/2 + sqrt(2), q - phi = 1 + sqrt(2).
    clean = theory.ridge_test_error_isotropic(d=300, T=600, T0=600, lam=0.5, n=0, sigma=1.0, sigma0=1.0, w0_norm2=1.0)
    assert clean.bias == pytest.approx(0.5 / (1 + SQRT2))
    assert clean.variance == pytest.approx(0.5 / (1 + SQRT2))
    assert clean.collapse == 0.0
    assert clean.total == pytest.approx(SQRT2 - 1)
    one = theory.ridge_test_error_isotropic(d=300, T=600, T0=600, lam=0.5, n=1, sigma=1.0, sigma0=1.0, w0_norm2=1.0)
    expected = 300 / 299 * (1.25 + SQRT2) / ((1.5 + SQRT2) * (1 + SQRT2))
    assert one.collapse == pytest.approx(expected)
    assert one.total == pytest.approx(SQRT2 - 1 + expected)


@pytest.mark.parametrize("n, lam_star, err_star", [
    (0, 0.50, 0.414), (1, 1.48, 0.666), (2, 2.80, 0.774), (5, 7.15, 0.888), (10, 14.6, 0.939),
])
def test_ridge_isotropic_optimum_table_of_theory_md(n, lam_star, err_star):
    # ||w0|| = 1, d = 300, phi = phi0 = 1/2, sigma = sigma0 = 1 (the table in theory.md R3).
    def total(log_lam):
        return theory.ridge_test_error_isotropic(300, 600, 600, np.exp(log_lam), n, 1.0, 1.0, 1.0).total

    res = minimize_scalar(total, bounds=(-6, 6), method="bounded", options={"xatol": 1e-9})
    assert np.exp(res.x) == pytest.approx(lam_star, rel=0.01)
    assert res.fun == pytest.approx(err_star, abs=6e-4)
    assert res.fun < 1.0   # below the null predictor ||w0||^2 = 1


@pytest.mark.parametrize("T", [60, 150, 250, 1000])
@pytest.mark.parametrize("n", [0, 3])
def test_general_solver_matches_isotropic_closed_form(T, n):
    d, T0 = 200, 260
    p = isotropic(d=d, sigma=0.7, sigma0=1.2, T0=T0, w0_norm=1.5, rng=3)
    lam = np.logspace(-3, 1, 9)
    general = theory.ridge_test_error(p, T=T, lam=lam, n=n)
    closed = theory.ridge_test_error_isotropic(d, T, T0, lam, n, 0.7, 1.2, 1.5**2)
    for a, b in zip(general, closed):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-14)


def test_ridge_lam_grid_matches_scalar_calls():
    p = power_law(d=300, beta=1.5, r=0.5, sigma=0.5, sigma0=1.0, T0=400)
    lam = np.array([1e-4, 1e-2, 0.3, 3.0])
    grid = theory.ridge_test_error(p, T=200, lam=lam, n=2)
    for k, l in enumerate(lam):
        one = theory.ridge_test_error(p, T=200, lam=l, n=2)
        assert isinstance(one.total, float)
        assert one.total == pytest.approx(grid.total[k], rel=1e-12)
        assert one.total == pytest.approx(one.bias + one.variance + one.collapse, rel=1e-12)


def test_ridge_ridgeless_limit_recovers_R2_collapse_term():
    # lam -> 0 with T > d: kappa = 0, df_2 = d, so the collapse term is n sigma0^2 d/(T0 - d - 1) exactly and the clean
    # part is sigma^2 d/(T - d), the proportional-limit form of R1's d/(T - d - 1).
    p = Problem(eigs=np.arange(1, 41) ** -1.0, w0=np.ones(40), sigma=0.8, sigma0=1.1, T0=100)
    zero = theory.ridge_test_error(p, T=120, lam=0.0, n=3)
    assert zero.bias == 0.0
    assert zero.collapse == pytest.approx(3 * 1.21 * 40 / 59, rel=1e-12)
    assert zero.variance == pytest.approx(0.64 * 40 / 80, rel=1e-12)
    tiny = theory.ridge_test_error(p, T=120, lam=1e-9, n=3)
    assert tiny.total == pytest.approx(zero.total, rel=1e-6)
    exact = theory.ols_test_error(d=40, T=120, T0=100, sigma=0.8, sigma0=1.1, n=3)
    assert zero.total == pytest.approx(exact, rel=0.02)


def test_ridge_collapse_linear_in_n_and_shrinks_with_lam():
    p = power_law(d=200, beta=2.0, r=0.375, sigma=0.5, sigma0=1.0, T0=500)
    lam = np.logspace(-4, 1, 11)
    c1 = theory.ridge_test_error(p, T=300, lam=lam, n=1).collapse
    c4 = theory.ridge_test_error(p, T=300, lam=lam, n=4).collapse
    np.testing.assert_allclose(c4, 4 * c1, rtol=1e-12)
    assert np.all(np.diff(c1) < 0)
    totals = [theory.ridge_test_error(p, T=300, lam=0.01, n=n).total for n in range(6)]
    assert np.all(np.diff(totals) > 0)   # monotone in n


def test_ridge_large_lam_tends_to_null_predictor():
    p = power_law(d=100, beta=2.0, r=0.5, sigma=1.0, sigma0=1.0, T0=300)
    far = theory.ridge_test_error(p, T=200, lam=1e7, n=5)
    assert far.total == pytest.approx(p.signal, rel=1e-5)


@pytest.mark.parametrize("call, name", [
    (lambda p: theory.ridge_test_error(p, T=50, lam=0.0), "lam"),                  # T = d, ridgeless
    (lambda p: theory.ridge_test_error(p.replace(T0=51), T=80, lam=0.1, n=1), "T0"),  # T0 = d + 1 with n > 0
    (lambda p: theory.ridge_test_error_isotropic(50, 50, 100, 0.0), "lam"),
    (lambda p: theory.ridge_test_error_isotropic(50, 80, 51, 0.1, n=1), "T0"),
    (lambda p: theory.effective_regularization(p.eigs, 0.0, 50), "lam"),
])
def test_ridge_refuses_outside_domain(call, name):
    p = isotropic(d=50, T0=120)
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call(p)


# ---------------------------------------------------------------- R4: over-parameterised generators
@pytest.mark.parametrize("kw, expected", [
    (dict(d=100, T0=40, w0_norm2=1.0, sigma0=0.0, n=0), 0.0),
    (dict(d=100, T0=40, w0_norm2=1.0, sigma0=0.0, n=1), 0.6),                 # 1 - gamma
    (dict(d=100, T0=40, w0_norm2=1.0, sigma0=0.0, n=2), 0.84),                # 1 - gamma^2
    (dict(d=100, T0=40, w0_norm2=1.0, sigma0=0.0, n=5), 1 - 0.4**5),
    (dict(d=100, T0=40, w0_norm2=1.0, sigma0=0.3, n=5), (1 - 0.4**5) * (1 + 0.09 * 40 / 59 / 0.6)),
    (dict(d=10, T0=5, w0_norm2=2.0, sigma0=1.0, n=1), 0.5 * 2 + 5 / 4),
    (dict(d=3, T0=1, w0_norm2=0.0, sigma0=1.0, n=2), (1 / 1) * (1 - 1 / 9) / (2 / 3)),
])
def test_overparam_chain_error_exact_values(kw, expected):
    assert theory.overparam_chain_error(**kw) == pytest.approx(expected, rel=1e-13, abs=1e-15)


def test_overparam_chain_theory_md_check_values_and_monotone():
    got = [theory.overparam_chain_error(d=100, T0=40, w0_norm2=1.0, sigma0=0.0, n=n) for n in (1, 2, 5)]
    np.testing.assert_allclose(got, [0.600, 0.840, 0.990], atol=1e-3)
    assert theory.overparam_chain_error(d=100, T0=40, sigma0=0.3, n=5) == pytest.approx(1.090, abs=1e-3)
    seq = [theory.overparam_chain_error(d=60, T0=30, sigma0=0.2, n=n) for n in range(12)]
    assert np.all(np.diff(seq) > 0)
    limit = 1.0 + 0.04 * 30 / 29 / 0.5     # n -> infinity: ||w0||^2 + sigma0^2 T0/(d - T0 - 1)/(1 - gamma)
    assert seq[-1] < limit and theory.overparam_chain_error(d=60, T0=30, sigma0=0.2, n=200) == pytest.approx(limit)


def test_overparam_ridge_theory_md_check_values():
    # theory.md R4 (d=120, T0=60, T=240, sigma=0.3, sigma0=0.2, lam=0.1): n=1 0.599, n=3 0.983, n=6 1.095
    got = [theory.overparam_ridge_test_error(120, 60, 240, 0.1, n, 0.3, 0.2, 1.0) for n in (1, 3, 6)]
    np.testing.assert_allclose(got, [0.599, 0.983, 1.095], atol=1e-3)
    grid = theory.overparam_ridge_test_error(120, 60, 240, np.array([0.01, 0.1, 1.0]), 3, 0.3, 0.2, 1.0)
    assert grid.shape == (3,) and grid[1] == pytest.approx(got[1])


def test_overparam_ridge_limits():
    # lam = 0, T > d: kappa = 0 and A = B = 0, leaving e_n + sigma^2 d/(T - d).
    e_n = theory.overparam_chain_error(d=120, T0=60, w0_norm2=1.0, sigma0=0.2, n=3)
    ridgeless = theory.overparam_ridge_test_error(120, 60, 240, 0.0, 3, 0.3, 0.2, 1.0)
    assert ridgeless == pytest.approx(e_n + 0.09 * 120 / 120)
    # lam -> infinity: the null predictor, error ||w0||^2.
    assert theory.overparam_ridge_test_error(120, 60, 240, 1e9, 3, 0.3, 0.2, 2.5) == pytest.approx(2.5, rel=1e-6)


@pytest.mark.parametrize("kw", [dict(d=100, T0=99), dict(d=100, T0=100), dict(d=100, T0=150)])
def test_overparam_refuses_T0_above_d_minus_2(kw):
    with pytest.raises(ValueError, match=r"T0 must be <= d - 2"):
        theory.overparam_chain_error(**kw)
    with pytest.raises(ValueError, match=r"T0 must be <= d - 2"):
        theory.overparam_ridge_test_error(T=300, lam=0.1, **kw)


# ---------------------------------------------------------------- R8: replace vs accumulate
def test_replace_accumulate_exact_values():
    rep, acc = theory.replace_accumulate_error(d=10, T=30, sigma=1.0, n=8)
    assert rep == pytest.approx(80 / 19)
    basel8 = 1 + 1 / 4 + 1 / 9 + 1 / 16 + 1 / 25 + 1 / 36 + 1 / 49 + 1 / 64
    assert acc == pytest.approx(10 / 19 * basel8)
    assert (round(rep, 3), round(acc, 3)) == (4.211, 0.804)       # theory.md check values
    assert theory.replace_accumulate_error(d=10, T=30, sigma=2.0, n=1) == pytest.approx((40 / 19, 40 / 19))
    assert theory.replace_accumulate_error(d=10, T=30, n=0) == (0.0, 0.0)
    accs = [theory.replace_accumulate_error(d=10, T=30, n=n)[1] for n in range(1, 60)]
    assert np.all(np.diff(accs) > 0) and accs[-1] < math.pi**2 / 6 * 10 / 19


# ---------------------------------------------------------------- R10: Gaussian chain
def test_gaussian_chain_exact_values():
    assert theory.gaussian_chain_mean_drift(s=2.0, M=50, n=10) == pytest.approx(0.8)
    assert theory.gaussian_chain_mean_drift(s=1.0, M=100, n=0) == 0.0
    assert theory.gaussian_chain_variance_mean(s=3.0, M=5, n=7) == pytest.approx(9.0)
    # M = 3: psi(1) + log(2/2) = -gamma_E per generation.
    assert theory.gaussian_chain_log_variance_mean(s=1.0, M=3, n=4) == pytest.approx(-4 * EULER_GAMMA)
    # M = 2: psi(1/2) + log 2 = -gamma_E - 2 log 2 + log 2.
    assert theory.gaussian_chain_log_variance_mean(s=math.e, M=2, n=1) == pytest.approx(2 - EULER_GAMMA - math.log(2))
    # Large M: about -n/(M - 1) per theory.md.
    assert theory.gaussian_chain_log_variance_mean(s=1.0, M=1001, n=100) == pytest.approx(-0.1, rel=2e-3)


def test_gaussian_chain_monotone():
    drift = [theory.gaussian_chain_mean_drift(1.0, 20, n) for n in range(10)]
    logv = [theory.gaussian_chain_log_variance_mean(1.0, 20, n) for n in range(10)]
    assert np.all(np.diff(drift) > 0) and np.all(np.diff(logv) < 0)
    with pytest.raises(ValueError, match=r"\bs\b must be > 0"):
        theory.gaussian_chain_log_variance_mean(s=0.0, M=10, n=1)
