"""Edge cases of the library's numerics (issue 9, item 6): huge but accepted values, tiny penalties, huge integers,
strings and complex numbers. Every case is either a correct finite result or a ``ValueError`` naming the parameter
and its range (``collapse_lib._validate`` holds the shared bounds).
"""
import math
import re
import warnings
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest

from collapse_lib import (Problem, _validate, isotropic, kernels, power_law, sampling, simulate,
                          simulate_gaussian_chain, simulate_generations, theory)
from collapse_lib.kernel_theory import ridge_chain_test_error


def approx(expected, rel):
    """``pytest.approx`` without its default absolute tolerance of 1e-12 (many values here are far smaller)."""
    return pytest.approx(expected, rel=rel, abs=0)


def raises_naming(param, *range_parts):
    """``pytest.raises(ValueError)`` whose message names ``param`` as a word and contains each of ``range_parts``."""
    pattern = rf"(?<![\w.]){re.escape(param)}(?!\w)" + "".join(rf"(?=.*{re.escape(p)})" for p in range_parts)
    return pytest.raises(ValueError, match=re.compile(pattern, re.S))


def naive_r3(p, T, lam, n):
    """R3 exactly as written in the docstring (kappa^2, 1 - df2/T): the reference at moderate lam."""
    kappa = theory.effective_regularization(p.eigs, lam, T)
    inv = 1.0 / (p.eigs + kappa)
    df2 = np.sum((p.eigs * inv) ** 2)
    u = df2 / (T - df2)
    bias = kappa**2 * np.sum(p.eigs * p.w0**2 * inv**2) / (1 - df2 / T)
    collapse = n * p.sigma0**2 * (df2 + kappa**2 * np.sum(inv**2) * u) / (p.T0 - p.d - 1)
    return bias, p.sigma**2 * u, collapse


def g_decimal(eigs, k, lam, T):
    """``k (T - df_1(k)) / T - lam`` in decimal arithmetic, with ``T - df_1 = (T - d) + sum k/(mu + k)`` (exact)."""
    k = Decimal(float(k))
    s = sum(k / (Decimal(float(e)) + k) for e in eigs)
    return k * (Decimal(T - len(eigs)) + s) / Decimal(T) - Decimal(float(lam))


def certified(eigs, lam, T, k, rel=1e-12):
    """True when the exact ``g`` changes sign between ``k (1 - rel)`` and ``k (1 + rel)``: ``k`` is within ``rel``."""
    with localcontext() as ctx:
        ctx.prec = 260                 # eigenvalues spanning 1e-100 .. 1e100 need ~200 digits for exact sums
        return g_decimal(eigs, k * (1 - rel), lam, T) < 0 < g_decimal(eigs, k * (1 + rel), lam, T)


P = power_law(d=60, beta=1.5, r=0.4, sigma=0.5, sigma0=1.0, T0=200)


# ---------------------------------------------------------------- huge penalties: correct finite results
@pytest.mark.parametrize("lam", [1e155, 1e200, 1e300, 1.79e308])
def test_ridge_test_error_huge_lam_tends_to_the_null_predictor(lam):
    # kappa^2 overflowed from lam ~ 1e154 (inf, then nan); the limit is the null predictor's error ||w0||_Sigma^2.
    for n in (0, 3):
        e = theory.ridge_test_error(P, T=40, lam=lam, n=n)
        assert all(np.isfinite(v) for v in e)
        assert e.bias == approx(P.signal, rel=1e-12)
        assert 0 <= e.variance < 1e-200 and 0 <= e.collapse < 1e-200
        assert e.total == approx(P.signal, rel=1e-12)


def test_ridge_test_error_stable_form_equals_the_formula_at_moderate_lam():
    # The overflow-free rewrite is the same formula: agreement with the textbook form where that one is accurate.
    for T in (20, 59, 61, 300):
        for lam in (1e-3, 0.1, 1.0, 30.0):
            e = theory.ridge_test_error(P, T=T, lam=lam, n=2)
            np.testing.assert_allclose([e.bias, e.variance, e.collapse], naive_r3(P, T, lam, 2), rtol=1e-11)


@pytest.mark.parametrize("lam", [1e10, 1e100, 1e300, 1e308, 1.79e308])
def test_effective_regularization_huge_lam_is_lam_plus_trace_over_T(lam):
    # Was -inf at lam = 1e308 (k * T overflowed). For huge lam, kappa = lam + tr/T - O(1/lam).
    eigs, T = P.eigs, 40
    k = theory.effective_regularization(eigs, lam, T)
    assert np.isfinite(k) and k == approx(lam + eigs.sum() / T, rel=1e-15)


@pytest.mark.parametrize("lam", [1e155, 1e300, 1.79e308])
def test_isotropic_collapse_is_exactly_zero_at_n_0_and_huge_lam_is_finite(lam):
    # The collapse term was 0 * bias = 0 * inf = nan at n = 0 once the bias overflowed.
    e = theory.ridge_test_error_isotropic(d=50, T=30, T0=80, lam=lam, n=0, sigma=1.0, w0_norm2=2.0)
    assert e.collapse == 0.0 and e.variance >= 0
    assert e.bias == approx(2.0, rel=1e-12) and e.total == approx(2.0, rel=1e-12)
    e1 = theory.ridge_test_error_isotropic(d=50, T=30, T0=80, lam=lam, n=5, sigma=1.0, w0_norm2=2.0)
    assert np.isfinite(e1.collapse) and 0 <= e1.collapse < 1e-100
    # and the closed form agrees with the general solver there
    p = Problem(eigs=np.ones(50), w0=np.r_[np.sqrt(2.0), np.zeros(49)], sigma=1.0, sigma0=1.0, T0=80)
    assert theory.ridge_test_error(p, T=30, lam=lam, n=5).total == approx(e1.total, rel=1e-12)


@pytest.mark.parametrize("lam", [1e155, 1.79e308])
def test_overparam_ridge_huge_lam_tends_to_the_null_predictor(lam):
    # Same kappa^2 / (1 + kappa)^2 overflow as the isotropic R3 form; the limit is ||w0||^2.
    out = theory.overparam_ridge_test_error(d=40, T0=20, T=30, lam=lam, n=3, sigma=1.0, sigma0=0.5, w0_norm2=2.0)
    assert out == approx(2.0, rel=1e-12)


def test_isotropic_closed_form_unchanged_at_ordinary_values():
    # Reference values of the textbook expression (kappa, q = (1 + kappa)^2), computed here independently.
    for d, T, lam in [(50, 30, 0.0), (50, 100, 0.0), (50, 50, 1e-3), (50, 80, 0.7), (50, 20, 5.0)]:
        phi = d / T
        b = lam + phi - 1
        kappa = (b + math.sqrt(b * b + 4 * lam)) / 2
        q = (1 + kappa) ** 2
        ref = (kappa**2 * 1.5 / (q - phi), 0.25 * phi / (q - phi),
               3 * 0.81 * d / (120 - d - 1) * (q - phi + phi * kappa**2) / (q * (q - phi)))
        e = theory.ridge_test_error_isotropic(d=d, T=T, T0=120, lam=lam, n=3, sigma=0.5, sigma0=0.9, w0_norm2=1.5)
        np.testing.assert_allclose([e.bias, e.variance, e.collapse], ref, rtol=1e-12)


# ---------------------------------------------------------------- simulate: sub-normal eigenvalue, noise 1e200
def test_simulate_refuses_subnormal_eigenvalue():
    # Was inf: noise / sqrt(5e-324) overflowed once squared.
    with raises_naming("eigs", "1e-100", "1e+100"):
        Problem(eigs=[1.0, 1e-310], w0=[1.0, 1.0], T0=10)
    with raises_naming("eigs", "1e-100"):
        sampling.design(0, [1.0, 1e-310], T=5, size=2)


@pytest.mark.parametrize("field", ["sigma", "sigma0"])
def test_simulate_refuses_noise_1e200(field):
    with raises_naming(field, "[0, 1e+50]"):
        isotropic(d=3, T0=10, **{field: 1e200})
    with raises_naming("noise_std", "1e+50"):
        sampling.ols_noise(0, d=3, T=5, noise_std=1e200, size=2)
    with raises_naming("s", "1e+50"):
        simulate_gaussian_chain(s=1e200, M=5, n=2, runs=2, rng=0)


def test_problem_refuses_a_teacher_whose_error_would_overflow():
    with raises_naming("w0", "1e+100"):
        Problem(eigs=[1e100, 1.0], w0=[1e10, 0.0])
    with raises_naming("beta", "1e-100"):
        power_law(d=1000, beta=40.0)              # smallest eigenvalue 1e-120
    assert power_law(d=1000, beta=33.0).eigs.min() >= 1e-100


def test_simulate_is_finite_at_the_corners_of_the_accepted_ranges():
    # The bounds are chosen so that the simulation cannot overflow: check the extreme corners (OLS, ridge and
    # min-norm paths, both samplers), with no floating-point warning at all.
    rng = np.random.default_rng(0)
    spectra = [np.full(4, 1e-100), np.full(4, 1e100), np.sort(10 ** rng.uniform(-100, 100, 5))[::-1]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for eigs in spectra:
            d = eigs.size
            w0 = np.full(d, 0.999e50 / np.sqrt(eigs.sum()))      # ||w0||_Sigma^2 just below 1e100
            p = Problem(eigs=eigs, w0=w0, sigma=1e50, sigma0=1e50, T0=d + 2)
            for T in (d + 1, 50):
                for lam in (0.0, 1.0, 1e250):
                    # method='plain' materialises the design: only spectra with max/min <= 1e13 (refused above)
                    for method in ("auto", "plain") if eigs.max() / eigs.min() <= 1e13 else ("auto",):
                        res = simulate(p, T=T, lam=lam, n=2, runs=3, rng=1, method=method)
                        assert np.all(np.isfinite(res.errors)) and np.isfinite(res.sem)


def test_simulate_refuses_lam_beyond_its_range():
    p = isotropic(d=3, T0=10)
    with raises_naming("lam", "1e+250"):
        simulate(p, T=10, lam=1e300, runs=2, rng=0)
    with raises_naming("lam", "1e-300"):
        simulate(p, T=10, lam=1e-310, runs=2, rng=0)


# ---------------------------------------------------------------- kappa at T = d for tiny lam
@pytest.mark.parametrize("lam", [1e-20, 1e-25, 1e-30, 1e-100, 1e-200, 1e-300])
def test_kappa_at_T_equals_d_is_accurate_for_tiny_lam(lam):
    # Isotropic, T = d: k^2/(1 + k) = lam exactly, kappa = (lam + sqrt(lam^2 + 4 lam))/2. The old solver stopped at
    # an absolute noise floor (kappa = 4.4e-16 for every lam below 1e-31).
    d = 40
    exact = lam / 2 + math.sqrt(lam * lam + 4 * lam) / 2
    assert theory.effective_regularization(np.ones(d), lam, d) == approx(exact, rel=1e-14)
    # A power-law spectrum, certified in high-precision arithmetic; kappa ~ sqrt(lam T / sum 1/mu_j).
    k = theory.effective_regularization(P.eigs, lam, P.d)
    assert certified(P.eigs, lam, P.d, k)
    assert k == approx(math.sqrt(lam * P.d / np.sum(1 / P.eigs)), rel=1e-3)


def test_kappa_certified_over_the_whole_accepted_range():
    rng = np.random.default_rng(5)
    spectra = [np.ones(30), np.arange(1, 31.0) ** -4, 10 ** rng.uniform(-100, 100, 30), np.array([1e100, 1e-100])]
    for eigs in spectra:
        d = eigs.size
        for T in sorted({1, max(1, d // 2), d, d + 1, 10 * d}):
            for lam in (0.0, 1e-300, 1e-120, 1e-20, 1e-6, 1.0, 1e60, 1e250):
                if lam == 0 and T >= d:
                    continue
                k = theory.effective_regularization(eigs, lam, T)
                assert certified(eigs, lam, T, k), (eigs[:2], T, lam, k)


def test_ridge_error_at_T_equals_d_tiny_lam_is_finite_and_diverges_like_one_over_kappa():
    # T - df_2 is summed without cancellation: the variance sigma^2 df_2/(T - df_2) ~ sigma^2 d / (2 kappa sum 1/mu).
    p = isotropic(d=40, sigma=1.0, T0=100)
    for lam in (1e-30, 1e-100, 1e-300):
        e = theory.ridge_test_error(p, T=40, lam=lam, n=1)
        kappa = theory.effective_regularization(p.eigs, lam, 40)
        assert np.isfinite(e.total) and e.variance == approx(1 / (2 * kappa), rel=1e-6)
        iso = theory.ridge_test_error_isotropic(d=40, T=40, T0=100, lam=lam, n=1, w0_norm2=p.signal)
        assert iso.total == approx(e.total, rel=1e-10)


def test_subnormal_lam_is_refused():
    for f in (lambda: theory.effective_regularization(np.ones(3), 5e-324, 3),
              lambda: theory.ridge_test_error(P, T=30, lam=[0.1, 1e-310]),
              lambda: theory.ridge_test_error_isotropic(d=3, T=3, T0=10, lam=1e-320)):
        with raises_naming("lam", "1e-300"):
            f()


# ---------------------------------------------------------------- OverflowError / MemoryError
def test_sigma_1e200_is_a_value_error_not_an_overflow_error():
    calls = [lambda: theory.ols_test_error(d=10, T=20, T0=30, sigma=1e200, n=1),
             lambda: theory.ridge_test_error_isotropic(d=20, T=30, T0=40, lam=1.0, sigma=1e200),
             lambda: theory.replace_accumulate_error(d=10, T=30, sigma=1e200),
             lambda: theory.overparam_ridge_test_error(d=20, T0=10, T=30, sigma=1e200)]
    for f in calls:
        with raises_naming("sigma", "[0, 1e+50]"):
            f()
    with raises_naming("sigma0", "1e+50"):
        theory.overparam_chain_error(d=20, T0=10, sigma0=1e200)
    with raises_naming("s", "1e+50"):
        theory.gaussian_chain_mean_drift(s=1e200)


def test_n_10_400_is_a_value_error_not_an_overflow_error():
    calls = [lambda n: theory.ols_test_error(d=10, T=20, T0=30, n=n), lambda n: theory.ols_chain_error(10, 30, n=n),
             lambda n: theory.replace_accumulate_error(d=10, T=30, n=n),
             lambda n: theory.overparam_chain_error(d=20, T0=10, n=n),
             lambda n: theory.gaussian_chain_log_variance_mean(n=n),
             lambda n: theory.ridge_test_error(P, T=30, lam=0.1, n=n)]
    for f in calls:
        with raises_naming("n", "2**53"):
            f(10**400)
        assert np.all(np.isfinite(np.asarray(f(2**53), dtype=float)))     # the largest accepted n: finite
    with raises_naming("T", "2**53"):
        theory.ols_test_error(d=10, T=10**400)


def test_replace_accumulate_error_n_1e12_needs_no_memory_and_is_exact():
    step = 10 / 19
    rep, acc = theory.replace_accumulate_error(d=10, T=30, sigma=1.0, n=10**12)
    assert rep == approx(10**12 * step, rel=1e-15)
    # sum_{i<=n} 1/i^2 = pi^2/6 - 1/n + 1/(2 n^2) - ...: at n = 1e12 the tail is 1e-12.
    assert acc == approx(step * (math.pi**2 / 6 - 1e-12), rel=2e-16)
    assert theory.replace_accumulate_error(d=10, T=30, n=2**53)[1] == approx(step * math.pi**2 / 6,
                                                                                     rel=2e-16)


def test_inverse_square_sum_matches_the_exact_rational_sum():
    # Direct (compensated) sum up to n = 1000, pi^2/6 - trigamma(n + 1) above: both within one ulp of the exact sum.
    exact, worst = Fraction(0), 0.0
    for n in range(1, 2501):
        exact += Fraction(1, n * n)
        acc = theory.replace_accumulate_error(d=1, T=3, sigma=1.0, n=n)[1]          # step = 1/(3 - 1 - 1) = 1
        worst = max(worst, abs(Fraction(acc) - exact) / exact)
    assert worst <= 2.3e-16
    assert theory.replace_accumulate_error(d=1, T=3, n=0) == (0.0, 0.0)
    assert theory.replace_accumulate_error(d=1, T=3, n=1)[1] == 1.0


def test_gaussian_log_variance_drift_is_accurate_for_huge_M():
    # psi(x) - log(x) ~ -1/(2x) - 1/(12 x^2): computing it as a difference of two ~log x terms lost every digit
    # (the old result was exactly 0 at M = 2**53).
    for M in (10**6, 10**12, 2**53):
        x = (M - 1) / 2
        drift = theory.gaussian_chain_log_variance_mean(s=1.0, M=M, n=1)
        assert drift == approx(-1 / (2 * x) - 1 / (12 * x * x), rel=1e-13)
    # and it still matches scipy's digamma where the difference is well conditioned
    from scipy.special import digamma
    assert theory.gaussian_chain_log_variance_mean(s=2.0, M=7, n=3) == approx(
        2 * math.log(2.0) + 3 * (digamma(3.0) + math.log(2 / 6)), rel=1e-14)


# ---------------------------------------------------------------- strings and complex numbers
def test_strings_are_not_numbers():
    cases = [("eigs", lambda: theory.effective_regularization(["1", "2"], 0.1, 10)),
             ("lam", lambda: theory.effective_regularization(np.ones(2), ["0.1"], 10)),
             ("eigs", lambda: Problem(eigs=["1", "2"], w0=[1.0, 0.0])),
             ("w0", lambda: Problem(eigs=[1.0, 2.0], w0=["1", "0"])),
             ("t", lambda: theory.df(np.ones(2), np.array(["0.5"]))),
             ("lam", lambda: theory.ridge_test_error(P, T=30, lam=np.array([b"0.1"]))),
             ("sigma", lambda: theory.ols_test_error(d=2, T=10, sigma=np.str_("1")))]
    for name, f in cases:
        with raises_naming(name, "must be"):
            f()


def test_complex_values_are_refused_not_truncated():
    cases = [("eigs", lambda: theory.effective_regularization(np.array([1 + 1j, 2.0]), 0.1, 10)),
             ("eigs", lambda: Problem(eigs=np.array([1 + 0j, 2.0]), w0=[1.0, 0.0])),
             ("w0", lambda: Problem(eigs=[1.0, 2.0], w0=np.array([1j, 0.0]))),
             ("lam", lambda: theory.ridge_test_error(P, T=30, lam=np.array([0.1 + 1j]))),
             ("sigma", lambda: theory.ols_test_error(d=2, T=10, sigma=1 + 0j))]
    for name, f in cases:
        with raises_naming(name, "real"):
            f()
    with raises_naming("eigs", "booleans"):
        Problem(eigs=[True, True], w0=[1.0, 0.0])


def test_finite_result_guard():
    # The last guard of a closed form: a value beyond float64 becomes a ValueError that says what to change.
    with pytest.raises(ValueError, match="not representable.*lam"):
        _validate.finite_result("the error", (np.array([1.0, np.inf]),), "increase lam")
    assert _validate.finite_result("the error", (1.0,), "") == (1.0,)


def test_accumulate_fresh_error_for_huge_n_needs_no_array():
    """The tail beyond 10**6 terms comes from polygammas: it must agree with the direct sum and stay finite."""
    import numpy as np

    from collapse_lib import theory

    i = np.arange(1, 3 * 10**6 + 1, dtype=float)
    direct = 1.0**2 * 10 * np.sum(1.0 / (i * (i * 30 - 11)))
    assert theory.accumulate_fresh_error(d=10, T=30, sigma=1.0, n=3 * 10**6) == pytest.approx(direct, rel=1e-13)
    huge = theory.accumulate_fresh_error(d=10, T=30, sigma=1.0, n=10**12)
    assert direct < huge < direct * (1 + 1e-6)


# ---------------------------------------------------------------- kernels: huge lam, tiny bandwidth, complex labels
KX = np.random.default_rng(3).standard_normal((15, 2))
KK = kernels.rbf_kernel(KX, bandwidth=1.0)
KY = np.random.default_rng(4).standard_normal(15)


@pytest.mark.parametrize("lam", [1e300, 1e308, 1.79e308])
def test_kernel_ridge_huge_lam_is_y_over_T_lam(lam):
    # T lam overflowed to inf in K + T lam I: the solve returned nan. For huge lam, alpha = y / (T lam) (1 + O(1/lam)).
    T = KY.size
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for alpha in (kernels.kernel_ridge(KK, KY, lam),
                      kernels.kernel_ridge_path(*np.linalg.eigh(KK), KY, [1e-2, lam])[1]):
            assert np.all(np.isfinite(alpha)) and np.any(alpha != 0)
            # y / (T lam) ~ 1e-310 is sub-normal in float64: about 13 significant digits left
            np.testing.assert_allclose(alpha * T * lam / KY, 1.0, rtol=1e-9)


def test_kernel_ridge_stable_forms_agree_with_the_direct_solve():
    # The rewritten path (c / T) / (evals / T + lam) is the same formula at ordinary penalties.
    evals, V = np.linalg.eigh(KK)
    for lam in (1e-6, 1e-2, 3.0):
        direct = np.linalg.solve(KK + KY.size * lam * np.eye(KY.size), KY)
        np.testing.assert_allclose(kernels.kernel_ridge(KK, KY, lam), direct, rtol=1e-9)
        np.testing.assert_allclose(kernels.kernel_ridge_path(evals, V, KY, lam), direct, rtol=1e-8)


@pytest.mark.parametrize("h", [1e-300, 1e-160, 5e-324, 1e300, 1.7e308])
def test_rbf_kernel_extreme_bandwidth_gives_its_limits(h):
    # 2 h^2 underflowed to 0 (h = 1e-300): 0/0 = nan on the diagonal. Limits: identity (tiny h), all ones (huge h).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        K = kernels.rbf_kernel(KX, bandwidth=h)
    np.testing.assert_array_equal(K, np.eye(len(KX)) if h < 1 else np.ones((len(KX), len(KX))))


def test_rbf_kernel_and_median_bandwidth_are_scale_free_for_tiny_inputs():
    # Squared distances of inputs ~1e-200 underflowed to 0 ("more than half the rows coincide"). Exact
    # power-of-two rescaling: the kernel of (s X, s h) equals the kernel of (X, h).
    s = 2.0**-700
    assert kernels.median_bandwidth(KX * s) == approx(kernels.median_bandwidth(KX) * s, rel=1e-15)
    np.testing.assert_allclose(kernels.rbf_kernel(KX * s), kernels.rbf_kernel(KX), rtol=1e-14)
    with raises_naming("X", "1e+100"):
        kernels.rbf_kernel(KX * 1e200)                     # was nan (X**2 overflowed): now refused


def test_kernels_refuse_complex_and_boolean_arrays():
    # np.asarray(.., dtype=float) truncated complex labels (imaginary part dropped, a ComplexWarning only).
    evals, V = np.linalg.eigh(KK)
    cases = [("y", lambda: kernels.kernel_ridge(KK, KY + 1j, 1.0)),
             ("K_train", lambda: kernels.kernel_ridge(KK + 0j, KY, 1.0)),
             ("y", lambda: kernels.kernel_ridge_path(evals, V, KY.astype(complex), 1.0)),
             ("evecs", lambda: kernels.kernel_ridge_path(evals, V + 0j, KY, 1.0)),
             ("X", lambda: kernels.rbf_kernel(KX + 1j, bandwidth=1.0)),
             ("Z", lambda: kernels.polynomial_kernel(KX, KX.astype(complex))),
             ("X", lambda: kernels.rbf_kernel(KX > 0, bandwidth=1.0))]
    for name, f in cases:
        with raises_naming(name, "real"):
            f()


def test_kernel_shapes_and_overflows_are_value_errors():
    evals, V = np.linalg.eigh(KK)
    with raises_naming("evecs", "15 rows"):                  # was numpy's matmul error, naming no parameter
        kernels.kernel_ridge_path(evals, V[:5], KY, 1.0)
    with raises_naming("y", "k >= 1"):                       # an empty (T, 0) label matrix
        kernels.kernel_ridge(KK, np.zeros((15, 0)), 1.0)
    with raises_naming("degree", "scale"):                    # (x.z + 1)^1000 overflowed to inf
        kernels.polynomial_kernel(KX * 10, scale=1.0, degree=1000)
    with raises_naming("lam", "1e-300"):
        kernels.kernel_ridge(KK, KY, 1e-320)
    with raises_naming("theta", "1e+50"):                    # theta^2 overflowed
        kernels.tail_sums([1e200, 1.0])
    fit = kernels.power_law_fit(np.full(6, 2.0))              # constant values: was ZeroDivisionError in R^2
    assert fit.r2 == 1.0 and abs(fit.exponent) < 1e-12 and fit.prefactor == approx(2.0, rel=1e-12)
    with pytest.raises(ValueError, match="prefactor"):
        kernels.power_law_fit([1e308, 1e300, 1e-300, 1e-308])


# ---------------------------------------------------------------- ridge_chain_test_error: huge penalties, T = d, n
RP = power_law(d=60, beta=1.5, sigma=0.5, sigma0=1.0, T0=200)


@pytest.mark.parametrize("lam", [1e155, 1e300, 1e308, 1.79e308])
def test_ridge_chain_huge_lam_tends_to_the_null_predictor(lam):
    # kappa^2 and (mu + kappa)^2 overflowed from lam ~ 1e154: nan. The limit of the downstream fit is w = 0.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in (0, 3):
            e = ridge_chain_test_error(RP, T=40, lam=lam, n=n, lam0=1e-3)
            assert e.total == approx(RP.signal, rel=1e-12) and e.bias == approx(RP.signal, rel=1e-12)
            assert 0 <= e.variance < 1e-300
        # a huge generator penalty: every generator predicts 0, the chain forgets w0 (mean factor r0^n = 0)
        g = ridge_chain_test_error(RP, T=40, lam=1e-2, n=2, lam0=lam)
        assert np.isfinite(g.total) and g.total == approx(RP.signal + ridge_chain_test_error(
            RP.replace(w0=np.zeros(RP.d)), T=40, lam=1e-2).total, rel=1e-10)


def test_ridge_chain_stable_form_equals_r3_at_ordinary_values():
    # lam0 = 0, T0 > d: R3 with T0 - d in place of T0 - d - 1 (the docstring's reduction) -- the rewrite is the
    # same formula.
    for T, lam in [(30, 1e-3), (59, 0.1), (200, 1.0)]:
        e = ridge_chain_test_error(RP, T=T, lam=lam, n=2)
        r3 = theory.ridge_test_error(RP.replace(T0=RP.T0 + 1), T=T, lam=lam, n=2)
        np.testing.assert_allclose([e.bias, e.variance, e.total], [r3.bias, r3.variance, r3.total], rtol=1e-10)


def test_ridge_chain_at_T_equals_d_tiny_lam_is_finite_and_n_is_bounded():
    # T - df_2 cancelled to 0 at T = d, lam = 1e-300: division by zero (inf). Now summed without cancellation,
    # and equal to R3 there.
    e = ridge_chain_test_error(RP, T=60, lam=1e-30, n=1)
    assert np.isfinite(e.total) and e.total == approx(theory.ridge_test_error(RP.replace(T0=201), T=60, lam=1e-30,
                                                                              n=1).total, rel=1e-8)
    with raises_naming("lam", "T = d"):
        ridge_chain_test_error(RP, T=60, lam=0.0)
    with raises_naming("n", "1000000"):                       # n = 2**53 looped for days
        ridge_chain_test_error(RP, T=40, lam=1e-2, n=2**53)
    with raises_naming("lam0", "1e-300"):
        ridge_chain_test_error(RP, T=40, lam=1e-2, n=1, lam0=1e-310)
    with raises_naming("lam", "real"):
        ridge_chain_test_error(RP, T=40, lam=np.array([1e-2 + 1j]))


# ---------------------------------------------------------------- simulate: extreme eigenvalue spreads
def test_simulate_refuses_a_wide_spectrum_where_it_materialises_the_design():
    # eigs 1e100 .. 1e-100 with T < d: X X^T singular in float64, numpy raised LinAlgError "Singular matrix";
    # method='plain' with T > d gave inf test errors. Now a ValueError naming eigs and the ratio bound.
    eigs = np.logspace(100, -100, 8)
    p = Problem(eigs=eigs, w0=np.full(8, 1e-51), T0=10)
    for call in (lambda: simulate(p, T=4, lam=1e-3, runs=3, rng=1),
                 lambda: simulate(p, T=24, lam=[0.0, 1e-3], runs=3, rng=1, method="plain"),
                 lambda: simulate_generations(p.replace(T0=4), T=20, n=2, runs=3, rng=1)):
        with raises_naming("eigs", "max/min <= 1e+13"):
            call()
    # the samplers (every stage with >= d samples) accept the spectrum and stay finite
    res = simulate_generations(p, T=24, lam=1e-3, n=2, runs=3, rng=1)
    assert np.all(np.isfinite(res.errors))
    # a spread just inside the bound still works on the materialised path
    q = Problem(eigs=np.logspace(0, -12, 8), w0=np.ones(8), T0=10)
    assert np.all(np.isfinite(simulate(q, T=4, lam=0.0, n=1, runs=3, rng=1).errors))
