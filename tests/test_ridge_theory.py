"""Ridge regression under model collapse (theory.md R3, R4 with ridge, R6): kappa, ErrorTerms, limits, optimal lam.

Statistical tests use fixed seeds and accept |mc - theory| <= 4 s.e. + 3 % of theory (R3 is a deterministic
equivalent: exact only as d, T, T0 grow proportionally).
"""
from decimal import Decimal, localcontext

import numpy as np
import pytest
from scipy.optimize import brentq

from collapse_lib import Problem, isotropic, optimal_lambda, power_law, simulate, theory
from collapse_lib.regularization import OptimalLambda

# --------------------------------------------------------------------------------------------------------------------
# kappa: accuracy against independent high-precision arithmetic


def _g_decimal(eigs_dec, k, lam, T):
    """``k (T - df_1(k)) / T - lam`` in 50-digit decimal arithmetic (eigenvalues converted exactly)."""
    k = Decimal(k)
    s = sum(e / (e + k) for e in eigs_dec)
    return k * (Decimal(T) - s) / Decimal(T) - Decimal(lam)


def _kappa_decimal(eigs, lam, T, digits=40):
    """Independent solve: bisection on the fixed-point equation in decimal arithmetic (g <= 0 below kappa, > 0 above)."""
    with localcontext() as ctx:
        ctx.prec = 50
        ed = [Decimal(float(e)) for e in eigs]
        lo, hi = Decimal(0), Decimal(lam) + sum(ed) / Decimal(T)
        for _ in range(int(digits * 3.33) + 60):
            mid = (lo + hi) / 2
            if _g_decimal(ed, mid, lam, T) > 0:
                hi = mid
            else:
                lo = mid
        return float((lo + hi) / 2)


SPECTRA_300 = {
    "isotropic": np.ones(300),
    "power1.5": np.arange(1, 301.0) ** -1.5,
    "power4": np.arange(1, 301.0) ** -4.0,
    "wide": 10 ** np.random.default_rng(3).uniform(-12, 6, 300),
}


@pytest.mark.parametrize("name", list(SPECTRA_300))
@pytest.mark.parametrize("T", [1, 30, 299, 301, 3000])
def test_kappa_matches_high_precision_bisection(name, T):
    eigs = SPECTRA_300[name]
    lams = np.array([0.0, 1e-8, 1e-4, 1.0, 1e3])
    kappa = theory.effective_regularization(eigs, lams, T)
    for lam, k in zip(lams, kappa):
        if lam == 0 and T > eigs.size:
            assert k == 0.0                                   # exactly zero above the threshold
            continue
        ref = _kappa_decimal(eigs, lam, T)
        assert ref > 0
        assert abs(k - ref) <= 1e-10 * ref, (lam, k, ref)


@pytest.mark.parametrize("eigs", [np.ones(100_000), np.arange(1, 100_001.0) ** -2.0], ids=["isotropic", "power2"])
@pytest.mark.parametrize("T,lam", [(2, 0.0), (99_999, 0.0), (100_001, 1e-8), (1_000_000, 1e3), (10_000, 1e-8)])
def test_kappa_certified_for_d_1e5(eigs, T, lam):
    """For d = 1e5 a 50-digit evaluation of g at kappa (1 -+ 1e-10) must bracket the root (a certificate)."""
    k = theory.effective_regularization(eigs, lam, T)
    with localcontext() as ctx:
        ctx.prec = 50
        ed = [Decimal(float(e)) for e in eigs]
        assert _g_decimal(ed, k * (1 - 1e-10), lam, T) < 0 < _g_decimal(ed, k * (1 + 1e-10), lam, T)


def test_kappa_agrees_with_brentq_and_isotropic_closed_form():
    eigs = np.arange(1, 2001.0) ** -1.2
    lams = np.logspace(-8, 3, 12)
    for T in (200, 1000, 5000):
        k = theory.effective_regularization(eigs, lams, T)
        for lam, kk in zip(lams, k):
            def g(x):
                return x - lam - x * theory.df(eigs, x) / T
            ref = brentq(g, lam, lam + eigs.sum() / T, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
            assert abs(kk - ref) <= 1e-10 * ref
    # isotropic: kappa = (lam + phi - 1 + sqrt((lam + phi - 1)^2 + 4 lam)) / 2
    for d, T in [(300, 150), (300, 600), (1000, 999), (1000, 1001)]:
        phi = d / T
        lam = np.r_[0.0, np.logspace(-8, 3, 12)]
        b = lam + phi - 1
        closed = (b + np.sqrt(b**2 + 4 * lam)) / 2
        k = theory.effective_regularization(np.ones(d), lam, T)
        np.testing.assert_allclose(k, closed, rtol=1e-9, atol=1e-300 if T > d else 0)


def test_kappa_scalar_and_array_shapes_and_monotone():
    eigs = np.arange(1, 101.0) ** -1.5
    assert isinstance(theory.effective_regularization(eigs, 0.1, 50), float)
    lam = np.logspace(-6, 2, 30)
    k = theory.effective_regularization(eigs, lam, 50)
    assert k.shape == (30,)
    assert np.all(np.diff(k) > 0) and np.all(k > lam)                      # kappa > lam, increasing in lam
    # a grid bigger than one solver block gives the same answer as element-wise calls
    big = theory.effective_regularization(np.ones(50_000), np.linspace(0.01, 1, 40), 20_000)
    assert np.allclose(big, [theory.effective_regularization(np.ones(50_000), x, 20_000) for x in np.linspace(0.01, 1, 40)],
                       rtol=1e-13)


def test_df_values():
    eigs = np.array([1.0, 0.5, 0.25])
    assert theory.df(eigs, 0.0) == 3.0
    assert theory.df(eigs, 0.5, 2) == pytest.approx((1 / 1.5) ** 2 + 0.25 + (0.25 / 0.75) ** 2, rel=1e-14)
    assert theory.df(eigs, [0.0, 1e9]).shape == (2,)


# --------------------------------------------------------------------------------------------------------------------
# R3: the isotropic closed form, the error decomposition and its limits


@pytest.mark.parametrize("T", [100, 250, 299, 301, 600, 3000])
@pytest.mark.parametrize("n", [0, 1, 5])
def test_isotropic_closed_form_equals_general_solver(T, n):
    p = isotropic(d=300, sigma=0.7, sigma0=1.3, T0=700, w0_norm=1.4, rng=1)
    lam = np.r_[0.0, np.logspace(-6, 2, 25)] if T != 300 else np.logspace(-6, 2, 25)
    gen = theory.ridge_test_error(p, T=T, lam=lam, n=n)
    iso = theory.ridge_test_error_isotropic(300, T, 700, lam, n, sigma=0.7, sigma0=1.3, w0_norm2=1.4**2)
    for a, b in zip(gen, iso):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-14)
    one = theory.ridge_test_error_isotropic(300, T, 700, 0.3, n, sigma=0.7, sigma0=1.3, w0_norm2=1.4**2)
    assert isinstance(one.total, float)
    assert one.total == pytest.approx(theory.ridge_test_error(p, T=T, lam=0.3, n=n).total, rel=1e-10)


def test_error_terms_structure():
    p = power_law(d=200, beta=1.5, r=0.5, sigma=0.5, sigma0=1.0, T0=500)
    lam = np.logspace(-4, 1, 20)
    e0 = theory.ridge_test_error(p, T=300, lam=lam, n=0)
    e3 = theory.ridge_test_error(p, T=300, lam=lam, n=3)
    np.testing.assert_allclose(e3.total, e3.bias + e3.variance + e3.collapse, rtol=1e-14)
    np.testing.assert_array_equal(e0.collapse, 0.0)
    np.testing.assert_allclose(e3.bias, e0.bias, rtol=1e-14)               # clean terms do not depend on n
    np.testing.assert_allclose(e3.variance, e0.variance, rtol=1e-14)
    e1 = theory.ridge_test_error(p, T=300, lam=lam, n=1)
    np.testing.assert_allclose(e3.collapse, 3 * e1.collapse, rtol=1e-14)   # linear in n
    assert np.all(np.diff(e1.collapse) < 0)                               # collapse shrinks as lam grows
    assert np.all(np.diff(e0.bias) > 0) and np.all(np.diff(e0.variance) < 0)
    # both terms of rho: the collapse term exceeds its first term n sigma0^2 df2/(T0 - d - 1)
    df2 = theory.df(p.eigs, theory.effective_regularization(p.eigs, lam, 300), 2)
    assert np.all(e1.collapse > p.sigma0**2 * df2 / (p.T0 - p.d - 1) * 1.05)


@pytest.mark.parametrize("p", [isotropic(d=200, sigma=0.8, sigma0=1.2, T0=500, rng=2),
                               power_law(d=200, beta=2.0, r=0.4, sigma=0.8, sigma0=1.2, T0=500)],
                         ids=["isotropic", "power"])
def test_limit_a_ridgeless_recovers_R2_up_to_finite_size(p):
    d, T = p.d, 450
    for n in (0, 1, 4):
        e = theory.ridge_test_error(p, T=T, lam=0.0, n=n)
        exact = theory.ols_test_error(d=d, T=T, T0=p.T0, sigma=p.sigma, sigma0=p.sigma0, n=n)
        assert e.bias == 0.0
        assert e.collapse == pytest.approx(n * p.sigma0**2 * d / (p.T0 - d - 1), rel=1e-12)
        # the only difference: the deterministic equivalent has d/(T - d) where the exact result has d/(T - d - 1)
        assert e.variance == pytest.approx(p.sigma**2 * d / (T - d), rel=1e-12)
        assert abs(e.total - exact) == pytest.approx(p.sigma**2 * d / ((T - d) * (T - d - 1)), rel=1e-9)
        # and lam -> 0 is continuous
        assert theory.ridge_test_error(p, T=T, lam=1e-12, n=n).total == pytest.approx(e.total, rel=1e-6)


@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.1])
def test_limit_b_small_T_collapse_is_extra_label_noise(lam):
    p = power_law(d=4000, beta=1.5, r=0.5, sigma=0.5, sigma0=1.0, T0=8000)
    n = 3
    s_eff2 = theory.effective_noise_variance(p.d, p.T0, p.sigma, p.sigma0, n)
    assert s_eff2 == pytest.approx(0.25 + 3 * 4000 / 3999, rel=1e-14)
    gaps = []
    for T in (400, 100, 20):
        col = theory.ridge_test_error(p, T=T, lam=lam, n=n).total
        noisy = theory.ridge_test_error(p.replace(sigma=np.sqrt(s_eff2)), T=T, lam=lam, n=0).total
        gaps.append(abs(col - noisy) / col)
    assert gaps[-1] < 0.01 and gaps[0] > gaps[1] > gaps[2]   # the approximation becomes exact as T/d -> 0


def test_limit_c_large_T_plateau():
    p = isotropic(d=300, sigma=1.0, sigma0=1.0, T0=600, rng=0)
    plateau = theory.ols_chain_error(300, 600, 1.0, 2)
    assert plateau == pytest.approx(2 * 300 / 299, rel=1e-14)
    Ts = np.array([600, 3000, 30_000, 3_000_000])
    tot = np.array([theory.ridge_test_error(p, T=int(T), lam=0.0, n=2).total for T in Ts])
    assert np.all(np.diff(tot) < 0) and np.all(tot > plateau)
    assert tot[-1] == pytest.approx(plateau, rel=1e-3)
    # with a fixed lam > 0 the error also plateaus, at the population ridge error of the noisy teacher
    lam = 0.5
    pop_df2 = theory.df(p.eigs, lam, 2)
    pop = lam**2 * np.sum(p.eigs * p.w0**2 / (p.eigs + lam) ** 2) + 2 * p.sigma0**2 * pop_df2 / (p.T0 - p.d - 1)
    assert theory.ridge_test_error(p, T=10**8, lam=lam, n=2).total == pytest.approx(pop, rel=1e-5)


def test_helper_values():
    assert theory.ols_chain_error(d=20, T0=60, sigma0=1.3, n=3) == pytest.approx(3 * 1.69 * 20 / 39, rel=1e-14)
    assert theory.ols_chain_error(d=20, T0=5, sigma0=1.3, n=0) == 0.0
    assert theory.effective_noise_variance(d=20, T0=60, sigma=0.7, sigma0=1.3, n=0) == pytest.approx(0.49)


# --------------------------------------------------------------------------------------------------------------------
# optimal lam (regularization.py) and the theory.md table

TABLE = {0: (0.50, 0.414), 1: (1.48, 0.666), 2: (2.80, 0.774), 5: (7.15, 0.888), 10: (14.6, 0.939)}


def test_optimal_lambda_reproduces_theory_table():
    p = isotropic(d=300, sigma=1.0, sigma0=1.0, T0=600, w0_norm=1.0, rng=0)   # phi = phi0 = 0.5
    ns = np.array(list(TABLE))
    opt = optimal_lambda(p, T=600, n=ns)
    assert isinstance(opt, OptimalLambda) and opt.lam.shape == ns.shape
    for i, n in enumerate(ns):
        lam_ref, err_ref = TABLE[n]
        digits = 0.05 if n == 10 else 0.005
        assert abs(opt.lam[i] - lam_ref) <= digits, (n, opt.lam[i])
        assert abs(opt.error[i] - err_ref) <= 0.0005, (n, opt.error[i])
        assert not opt.at_boundary[i]
    assert np.all(np.diff(opt.lam) > 0)                     # the optimal lam grows with n ...
    assert np.all(opt.error < p.signal)                     # ... and stays below the null predictor
    ols = [theory.ridge_test_error(p, T=600, lam=0.0, n=int(n)).total for n in ns]
    assert ols[-1] > 5 * p.signal                           # while unregularised OLS grows without bound
    one = optimal_lambda(p, T=600, n=5)
    assert isinstance(one.lam, float) and one.lam == pytest.approx(opt.lam[3], rel=1e-6)
    assert one.terms.total == pytest.approx(one.error) and one.terms.collapse > 0


@pytest.mark.parametrize("d,T,sigma,w0", [(300, 600, 1.0, 1.0), (200, 100, 0.5, 2.0), (100, 1000, 2.0, 0.7)])
def test_clean_optimum_is_sigma2_phi_over_signal(d, T, sigma, w0):
    p = isotropic(d=d, sigma=sigma, T0=3 * d, w0_norm=w0, rng=0)
    opt = optimal_lambda(p, T=T, n=0)
    assert opt.lam == pytest.approx(sigma**2 * (d / T) / w0**2, rel=1e-5)


def test_optimal_lambda_matches_dense_grid_argmin():
    p = power_law(d=200, beta=1.5, r=0.5, sigma=0.5, sigma0=1.0, T0=500)
    lam = np.logspace(-5, 2, 20001)
    for T, n in [(100, 0), (100, 3), (600, 1), (600, 8)]:
        tot = theory.ridge_test_error(p, T=T, lam=lam, n=n).total
        opt = optimal_lambda(p, T=T, n=n)
        assert opt.error <= tot.min() + 1e-12
        assert abs(np.log(opt.lam) - np.log(lam[np.argmin(tot)])) <= 2 * np.log(lam[1] / lam[0])


def test_optimal_lambda_boundary_flag():
    p = isotropic(d=100, sigma=0.0, sigma0=0.0, T0=300, rng=0)    # noiseless: the best ridge is lam -> 0
    opt = optimal_lambda(p, T=300, n=0, lam_min=1e-6)
    assert opt.at_boundary and opt.lam < 2e-6


# --------------------------------------------------------------------------------------------------------------------
# Theory vs Monte Carlo

ISO = isotropic(d=120, sigma=1.0, sigma0=1.0, T0=360, w0_norm=1.0, rng=0)
POW = power_law(d=150, beta=1.5, r=0.5, sigma=0.5, sigma0=1.0, T0=450)
MC_CONFIGS = [  # (name, problem, T, lam, n, seed)
    ("iso T>d lam=0 n=0", ISO, 240, 0.0, 0, 101),
    ("iso T>d lam=0.5 n=5", ISO, 240, 0.5, 5, 102),
    ("iso T<d lam=0 n=1", ISO, 60, 0.0, 1, 103),
    ("iso T<d lam=0.3 n=5", ISO, 60, 0.3, 5, 104),
    ("pow T>d lam=1e-2 n=5", POW, 300, 1e-2, 5, 105),
    ("pow T>d lam=0 n=1", POW, 300, 0.0, 1, 106),
    ("pow T<d lam=0 n=1", POW, 100, 0.0, 1, 107),
    ("pow T<d lam=1e-3 n=0", POW, 100, 1e-3, 0, 108),
    ("pow T<d lam=0.05 n=5", POW, 100, 0.05, 5, 109),
]


@pytest.mark.parametrize("name,p,T,lam,n,seed", MC_CONFIGS, ids=[c[0] for c in MC_CONFIGS])
def test_R3_against_simulation(name, p, T, lam, n, seed):
    res = simulate(p, T=T, lam=lam, n=n, runs=300, rng=seed)
    th = theory.ridge_test_error(p, T=T, lam=lam, n=n).total
    assert abs(res.mean - th) <= 4 * res.sem + 0.03 * th, (name, res.mean, res.sem, th)


def test_R3_lam_grid_against_simulation():
    lam = np.array([1e-3, 0.1, 1.0, 10.0])
    res = simulate(ISO, T=240, lam=lam, n=2, runs=200, rng=11)
    th = theory.ridge_test_error(ISO, T=240, lam=lam, n=2).total
    assert np.all(np.abs(res.mean - th) <= 4 * res.sem + 0.03 * th), (res.mean, th)


def test_overparam_ridge_against_simulation_and_n0_consistency():
    p = ISO.replace(T0=60, sigma=0.3, sigma0=0.2)
    res = simulate(p, T=240, lam=0.1, n=3, runs=300, rng=7)
    th = theory.overparam_ridge_test_error(120, 60, 240, 0.1, 3, sigma=0.3, sigma0=0.2, w0_norm2=1.0)
    assert abs(res.mean - th) <= 4 * res.sem + 0.03 * th
    # with n = 0 nothing synthetic happens: it is the clean isotropic ridge error
    clean = theory.ridge_test_error_isotropic(120, 240, 600, 0.1, 0, sigma=0.3, w0_norm2=1.0).total
    assert theory.overparam_ridge_test_error(120, 60, 240, 0.1, 0, sigma=0.3, sigma0=0.2) == pytest.approx(clean, rel=1e-12)
    grid = theory.overparam_ridge_test_error(120, 60, 240, [0.1, 1.0], 3, sigma=0.3, sigma0=0.2)
    assert grid.shape == (2,) and grid[0] == pytest.approx(th, rel=1e-12)


# --------------------------------------------------------------------------------------------------------------------
# Invalid inputs: ValueError naming the parameter

EIGS = np.ones(10)
P10 = isotropic(d=10, T0=30, rng=0)

BAD_CALLS = [
    ("eigs", lambda: theory.effective_regularization([1.0, -1.0], 0.1, 5)),
    ("eigs", lambda: theory.effective_regularization([[1.0]], 0.1, 5)),
    ("lam", lambda: theory.effective_regularization(EIGS, -0.1, 5)),
    ("lam", lambda: theory.effective_regularization(EIGS, [0.1, np.nan], 5)),
    ("T", lambda: theory.effective_regularization(EIGS, 0.1, 0)),
    ("T", lambda: theory.effective_regularization(EIGS, 0.1, 5.5)),
    ("lam", lambda: theory.effective_regularization(EIGS, 0.0, 10)),          # lam = 0 at T = d
    ("t", lambda: theory.df(EIGS, -1.0)),
    ("m", lambda: theory.df(EIGS, 1.0, 0)),
    ("p", lambda: theory.ridge_test_error("problem", T=20, lam=0.1)),
    ("T", lambda: theory.ridge_test_error(P10, T=-3, lam=0.1)),
    ("lam", lambda: theory.ridge_test_error(P10, T=20, lam=-1.0)),
    ("lam", lambda: theory.ridge_test_error(P10, T=10, lam=[0.0, 1.0])),
    ("n", lambda: theory.ridge_test_error(P10, T=20, lam=0.1, n=-1)),
    ("n", lambda: theory.ridge_test_error(P10, T=20, lam=0.1, n=1.5)),
    ("T0", lambda: theory.ridge_test_error(P10.replace(T0=11), T=20, lam=0.1, n=1)),
    ("d", lambda: theory.ridge_test_error_isotropic(0, 20, 30, 0.1, 1)),
    ("w0_norm2", lambda: theory.ridge_test_error_isotropic(10, 20, 30, 0.1, 1, w0_norm2=-1.0)),
    ("sigma0", lambda: theory.ridge_test_error_isotropic(10, 20, 30, 0.1, 1, sigma0=-1.0)),
    ("T0", lambda: theory.ridge_test_error_isotropic(10, 20, 11, 0.1, 1)),
    ("T0", lambda: theory.overparam_ridge_test_error(10, 9, 20, 0.1, 1)),
    ("sigma", lambda: theory.overparam_ridge_test_error(10, 5, 20, 0.1, 1, sigma=-0.1)),
    ("lam", lambda: theory.overparam_ridge_test_error(10, 5, 20, -0.1, 1)),
    ("d", lambda: theory.ols_chain_error(0, 30, 1.0, 1)),
    ("T0", lambda: theory.ols_chain_error(10, 11, 1.0, 1)),
    ("sigma0", lambda: theory.ols_chain_error(10, 30, -1.0, 1)),
    ("n", lambda: theory.ols_chain_error(10, 30, 1.0, -2)),
    ("sigma", lambda: theory.effective_noise_variance(10, 30, sigma=float("nan"))),
    ("T0", lambda: theory.effective_noise_variance(10, 5, n=1)),
    ("p", lambda: optimal_lambda(None, T=20)),
    ("T", lambda: optimal_lambda(P10, T=0)),
    ("n", lambda: optimal_lambda(P10, T=20, n=-1)),
    ("n", lambda: optimal_lambda(P10, T=20, n=[0, 2.5])),
    ("n", lambda: optimal_lambda(P10, T=20, n=[[0, 1]])),
    ("lam_min", lambda: optimal_lambda(P10, T=20, lam_min=0.0)),
    ("lam_max", lambda: optimal_lambda(P10, T=20, lam_min=1.0, lam_max=0.5)),
    ("grid", lambda: optimal_lambda(P10, T=20, grid=3)),
    ("rtol", lambda: optimal_lambda(P10, T=20, rtol=0.5)),
    ("T0", lambda: optimal_lambda(P10.replace(T0=11), T=20, n=[0, 1])),
]


@pytest.mark.parametrize("param,call", BAD_CALLS, ids=[f"{i}-{c[0]}" for i, c in enumerate(BAD_CALLS)])
def test_invalid_inputs_name_the_parameter(param, call):
    with pytest.raises(ValueError, match=rf"\b{param}\b"):
        call()


def test_problem_validation_still_applies():
    with pytest.raises(ValueError, match="w0"):
        Problem(eigs=[1.0, 1.0], w0=[1.0], T0=10)
