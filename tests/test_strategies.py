"""Strategies for choosing the ridge penalty (result R6): theory strategies (regularization.py) and the data-driven
ones (strategies.py): GCV identities, the exact hold-out sampler, sampler agreement, and Monte-Carlo properties."""
from __future__ import annotations

import numpy as np
import pytest

from collapse_lib import Problem, isotropic, optimal_lambda, power_law, theory
from collapse_lib import regularization as rg
from collapse_lib import strategies as st

from mc_checks import assert_mc_close, assert_same_mean


# --------------------------------------------------------------------------------------------------------------------
# optimal_lambda: the representable range of R3 (audit of chapters 0-4, issue 9 item 6)

def test_optimal_lambda_refuses_unrepresentable_lam_max():
    p = isotropic(d=300, T0=600, rng=0)
    with pytest.raises(ValueError, match=r"lam_max.*1e\+100"):
        optimal_lambda(p, T=600, n=1, lam_max=1e300)
    with pytest.raises(ValueError, match=r"lam_max"):
        optimal_lambda(p, T=600, n=1, lam_max=1e101)


def test_optimal_lambda_at_the_largest_lam_max_is_correct():
    p = isotropic(d=300, T0=600, rng=0)
    wide = optimal_lambda(p, T=600, n=[0, 1, 5], lam_max=rg.LAM_MAX)
    ref = optimal_lambda(p, T=600, n=[0, 1, 5])
    assert np.all(np.isfinite(wide.error))
    assert np.allclose(wide.lam, ref.lam, rtol=1e-5) and np.allclose(wide.error, ref.error, rtol=1e-10)
    # A noiseless problem whose optimum is lam -> infinity would sit at the upper end, with the null-predictor error.
    q = isotropic(d=50, sigma=1.0, T0=200, w0_norm=0.0, rng=0)
    top = optimal_lambda(q, T=100, n=0, lam_max=rg.LAM_MAX)
    assert top.at_boundary and np.isfinite(top.error) and top.error == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------------------------------------------------
# Theory strategies on problems the library was not tuned on

def _two_level(d=120):
    eigs = np.r_[np.ones(d // 2), 1e-3 * np.ones(d - d // 2)]
    return Problem(eigs=eigs, w0=np.r_[np.ones(d // 2), np.ones(d - d // 2)] / np.sqrt(d), sigma=0.8, sigma0=1.3,
                   T0=3 * d)


HIDDEN = [
    ("isotropic", isotropic(d=80, sigma=0.7, sigma0=1.2, T0=200, w0_norm=1.5, rng=3)),
    ("power 1.5", power_law(d=150, beta=1.5, r=0.6, sigma=0.3, sigma0=0.9, T0=400)),
    ("power 3", power_law(d=100, beta=3.0, r=1.4, sigma=1.1, sigma0=0.5, T0=250)),
    ("two-level", _two_level()),
]


@pytest.mark.parametrize("name,p", HIDDEN, ids=[h[0] for h in HIDDEN])
@pytest.mark.parametrize("T", [40, 300])
@pytest.mark.parametrize("n", [0, 1, 4])
def test_theory_strategies_stay_in_range_and_never_beat_the_oracle(name, p, T, n):
    oracle = rg.oracle_choice(p, T, n)
    assert 1e-6 <= oracle.lam <= 1e3
    ell = theory.scaling_exponents(beta=2.0, r=0.375).l_crit
    cases = {
        "fixed": (rg.fixed_choice(p, T, n, lam=1e-6), lambda lam: lam == 1e-6),
        "clean": (rg.clean_choice(p, T, n), lambda lam: 1e-6 <= lam <= 1e3),
        "teacher": (rg.teacher_fit_choice(p, T, n), lambda lam: 1e-6 <= lam <= 1e3),
        "paper": (rg.paper_choice(p, T, n), lambda lam: lam == pytest.approx(T ** -ell, rel=1e-12)),
        "rule": (rg.rule_choice(p, T, n), lambda lam: 0 < lam < np.inf),
    }
    for key, (choice, in_range) in cases.items():
        assert isinstance(choice, rg.Choice) and isinstance(choice.lam, float), key
        assert in_range(choice.lam), (key, choice.lam)
        direct = theory.ridge_test_error(p, T=T, lam=choice.lam, n=n).total
        assert choice.error == pytest.approx(direct, rel=1e-12), key
        if 1e-6 <= choice.lam <= 1e3:          # the oracle minimises over [1e-6, 1e3]
            assert choice.error >= oracle.error * (1 - 1e-9), (key, choice.error, oracle.error)
    if n == 0:
        assert cases["clean"][0].lam == pytest.approx(oracle.lam, rel=1e-6)
        assert cases["teacher"][0].lam == pytest.approx(oracle.lam, rel=1e-6)


@pytest.mark.parametrize("d,T,n", [(100, 300, 1), (200, 100, 3), (60, 1000, 5)])
def test_clean_and_teacher_fit_closed_forms_isotropic(d, T, n):
    p = isotropic(d=d, sigma=0.8, sigma0=1.1, T0=3 * d, w0_norm=1.3, rng=1)
    phi = d / T
    assert rg.clean_choice(p, T, n).lam == pytest.approx(0.64 * phi / 1.69, rel=1e-5)
    energy = 1.69 + n * 1.21 * d / (3 * d - d - 1)          # E ||w_hat_n||^2
    assert rg.teacher_fit_choice(p, T, n).lam == pytest.approx(0.64 * phi / energy, rel=1e-5)
    # under collapse the oracle wants more regularisation than clean data, the teacher fit less
    assert rg.teacher_fit_choice(p, T, n).lam < rg.clean_choice(p, T, n).lam < rg.oracle_choice(p, T, n).lam


def test_teacher_problem_second_moments():
    p = power_law(d=40, beta=2.0, r=0.5, sigma=0.5, sigma0=0.7, T0=100)
    q = rg.teacher_problem(p, 3)
    assert np.allclose(q.w0**2, p.w0**2 + 3 * 0.49 / (p.eigs * 59))
    assert rg.teacher_problem(p, 0) is p


def test_rule_exponent_comes_from_scaling_exponents():
    for beta, r in [(2.0, 0.375), (1.5, 2.0), (3.0, 0.2)]:
        ex = theory.scaling_exponents(beta=beta, r=r)
        T = np.array([100, 1000, 10000])
        lam = np.array([rg.rule_lambda(int(t), beta, r, sigma_eff2=2.5) for t in T])
        slope = np.polyfit(np.log(T), np.log(lam), 1)[0]
        assert slope == pytest.approx(-ex.l_crit, rel=1e-12)
        # the prefactor grows like sigma_eff^(2 l_crit); the paper's recipe is the rule with sigma_eff^2 = 1, c = 1
        assert rg.rule_lambda(100, beta, r, 5.0) / rg.rule_lambda(100, beta, r, 1.0) == pytest.approx(5**ex.l_crit)
        assert rg.paper_lambda(100, beta, r) == pytest.approx(rg.rule_lambda(100, beta, r, 1.0), rel=1e-14)
        assert rg.rule_lambda(100, beta, r, 1.0, c=3.0) == pytest.approx(3 * rg.paper_lambda(100, beta, r))


def test_rule_choice_uses_the_effective_noise():
    p = power_law(d=200, beta=2.0, r=0.375, sigma=0.5, sigma0=1.0, T0=400)
    se2 = theory.effective_noise_variance(200, 400, 0.5, 1.0, 3)
    assert rg.rule_choice(p, 100, 3).lam == pytest.approx((se2 / 100) ** 0.8, rel=1e-12)
    assert rg.rule_choice(p, 100, 0).lam == pytest.approx((0.25 / 100) ** 0.8, rel=1e-12)


def test_oracle_follows_the_rate_of_the_rule():
    """R6: the optimal penalty decays like T^-l_crit whatever n, and its prefactor grows like sigma_eff^(2 l_crit)
    (T << d, d = 2e4; asymptotic, so a stated tolerance: 0.04 on the slope, 12% on the prefactor)."""
    d, sigma = 20_000, 0.5
    p = power_law(d=d, beta=2.0, r=0.375, sigma=sigma, sigma0=1.0, T0=2 * d)
    ell = theory.scaling_exponents(beta=2.0, r=0.375).l_crit
    Ts = np.array([100, 300, 1000, 2000])
    lams = np.array([optimal_lambda(p, T=int(T), n=[0, 1, 5], lam_min=1e-9).lam for T in Ts])
    for j, n in enumerate([0, 1, 5]):
        assert abs(theory.fit_slope(Ts, lams[:, j]).slope + ell) <= 0.04, n
        if n:
            ratio = (theory.effective_noise_variance(d, 2 * d, sigma, 1.0, n) / sigma**2) ** ell
            assert np.all(np.abs(lams[:, j] / lams[:, 0] / ratio - 1) <= 0.12), (n, lams[:, j] / lams[:, 0], ratio)


P10 = isotropic(d=10, T0=30, rng=0)
BAD_THEORY = [
    ("p", lambda: rg.oracle_choice(None, 20)),
    ("p", lambda: rg.fixed_choice("p", 20)),
    ("lam", lambda: rg.fixed_choice(P10, 20, lam=0.0)),
    ("lam", lambda: rg.fixed_choice(P10, 20, lam=-1.0)),
    ("T", lambda: rg.clean_choice(P10, 0)),
    ("n", lambda: rg.oracle_choice(P10, 20, n=-1)),
    ("n", lambda: rg.rule_choice(P10, 20, n=1.5)),
    ("T0", lambda: rg.rule_choice(P10.replace(T0=11), 20, n=1)),
    ("T0", lambda: rg.teacher_fit_choice(P10.replace(T0=11), 20, n=1)),
    ("beta", lambda: rg.rule_choice(P10, 20, beta=1.0)),
    ("r", lambda: rg.paper_choice(P10, 20, r=0.0)),
    ("c", lambda: rg.rule_choice(P10, 20, c=0.0)),
    ("sigma_eff", lambda: rg.rule_choice(P10.replace(sigma=0.0), 20, n=0)),
    ("sigma_eff2", lambda: rg.rule_lambda(20, 2.0, 0.5, sigma_eff2=0.0)),
    ("T", lambda: rg.paper_lambda(0, 2.0, 0.5)),
    ("lam_max", lambda: rg.oracle_choice(P10, 20, lam_max=1e200)),
]


@pytest.mark.parametrize("param,call", BAD_THEORY, ids=[f"{i}-{c[0]}" for i, c in enumerate(BAD_THEORY)])
def test_theory_strategies_reject_bad_input(param, call):
    with pytest.raises(ValueError, match=rf"\b{param}\b"):
        call()


# --------------------------------------------------------------------------------------------------------------------
# GCV: the spectral formula against its definition and against leave-one-out

def _gcv_brute(X, y, lam):
    T, d = X.shape
    out = []
    for lv in lam:
        H = X @ np.linalg.solve(X.T @ X + T * lv * np.eye(d), X.T)
        out.append(np.mean((y - H @ y) ** 2) / (1 - np.trace(H) / T) ** 2)
    return np.array(out)


def _loo_brute(X, y, lam):
    T, d = X.shape
    out = []
    for lv in lam:
        res = []
        for i in range(T):
            keep = np.arange(T) != i
            Xi, yi = X[keep], y[keep]
            # the same penalty as the full fit: T lam ||w||^2 against the summed squares
            w = np.linalg.solve(Xi.T @ Xi + T * lv * np.eye(d), Xi.T @ yi)
            res.append(y[i] - X[i] @ w)
        out.append(np.mean(np.square(res)))
    return np.array(out)


LAMS = np.array([1e-4, 0.01, 0.3, 5.0])


@pytest.mark.parametrize("T,d", [(30, 8), (8, 30), (15, 15)])
def test_gcv_matches_its_definition(T, d):
    rng = np.random.default_rng(T * d)
    X, y = rng.standard_normal((2, T, d)), rng.standard_normal((2, T))
    spec, V = st.linear_spectrum(X, y)
    g = st.gcv_curve(spec, LAMS)
    assert g.shape == (2, LAMS.size)
    for s in range(2):
        assert np.allclose(g[s], _gcv_brute(X[s], y[s], LAMS), rtol=1e-9)
        W = st.linear_weights(spec, V, LAMS)[s]
        ref = [np.linalg.solve(X[s].T @ X[s] / T + lv * np.eye(d), X[s].T @ y[s] / T) for lv in LAMS]
        assert np.allclose(W, ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("copies", [1, 3])
def test_gcv_equals_leave_one_out_on_a_circulant_design(copies):
    """When every diagonal entry of the hat matrix is the same, LOO's 1 - H_ii equals GCV's 1 - tr(H)/T and the two
    criteria coincide exactly. A design made of stacked circulant blocks has a shift-invariant hat matrix."""
    d = 7
    a = np.random.default_rng(5).standard_normal(d)
    C = np.array([np.roll(a, i) for i in range(d)])
    X = np.vstack([C] * copies)
    y = np.random.default_rng(6).standard_normal(X.shape[0])
    H = X @ np.linalg.solve(X.T @ X + X.shape[0] * 0.1 * np.eye(d), X.T)
    assert np.allclose(np.diag(H), np.diag(H)[0])                       # the premise of the identity
    spec, _ = st.linear_spectrum(X, y)
    assert np.allclose(st.gcv_curve(spec, LAMS)[0], _loo_brute(X, y, LAMS), rtol=1e-9)


def test_gcv_differs_from_leave_one_out_in_general():
    # the identity above is not vacuous: for a Gaussian design the two criteria differ (but are close)
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((40, 10)), rng.standard_normal(40)
    spec, _ = st.linear_spectrum(X, y)
    g, loo = st.gcv_curve(spec, LAMS)[0], _loo_brute(X, y, LAMS)
    assert np.all(np.abs(g / loo - 1) > 1e-6) and np.all(np.abs(g / loo - 1) < 0.2)


def test_kernel_spectrum_reproduces_linear_ridge():
    rng = np.random.default_rng(9)
    for T, d in [(25, 6), (6, 25)]:
        X, y, Xn = rng.standard_normal((T, d)), rng.standard_normal(T), rng.standard_normal((4, d))
        kspec, U = st.kernel_spectrum(X @ X.T, y)
        lspec, V = st.linear_spectrum(X, y)
        assert np.allclose(st.gcv_curve(kspec, LAMS), st.gcv_curve(lspec, LAMS), rtol=1e-8)
        pred = st.kernel_predictions(kspec, U, Xn @ X.T, LAMS)[0]
        ref = Xn @ st.linear_weights(lspec, V, LAMS)[0].T
        assert np.allclose(pred, ref, rtol=1e-8, atol=1e-10)
        # and explicitly: alpha = (K + T lam I)^-1 y
        K = X @ X.T
        alpha = np.linalg.solve(K + T * LAMS[1] * np.eye(T), y)
        assert np.allclose(pred[:, 1], Xn @ X.T @ alpha, rtol=1e-8)


def test_gcv_is_finite_and_smooth_at_tiny_penalties_below_the_threshold():
    rng = np.random.default_rng(10)
    spec, _ = st.linear_spectrum(rng.standard_normal((20, 50)), rng.standard_normal(20))
    g = st.gcv_curve(spec, np.logspace(-12, -8, 5))
    assert np.all(np.isfinite(g)) and np.allclose(g, g[0, 0], rtol=1e-3)   # the lam -> 0 limit exists


# --------------------------------------------------------------------------------------------------------------------
# Samplers: the exact hold-out sampler and the sufficient-statistic training sets

def test_holdout_residuals_have_the_exact_second_moments():
    """E r_l r_l' = sigma^2 + (w0 - w_l)^T Sigma (w0 - w_l') for the residuals of one hold-out sample."""
    d, L, sigma = 12, 5, 0.7
    rng = np.random.default_rng(11)
    eigs, w0 = 1.0 / np.arange(1, d + 1), rng.standard_normal(d)
    W = w0 + 0.5 * rng.standard_normal((1, L, d))
    res = st.holdout_residuals(12, eigs, w0, W, sigma, 40000)[0]             # (m, L), iid rows
    D = w0 - W[0]
    exact = sigma**2 + D @ (eigs[:, None] * D.T)
    prods = res[:, :, None] * res[:, None, :]
    se = prods.std(axis=0, ddof=1) / np.sqrt(res.shape[0])
    assert_mc_close(prods.mean(axis=0), se, exact, what="hold-out second moments")
    assert np.all(np.abs(res.mean(axis=0)) <= 4 * res.std(axis=0) / np.sqrt(res.shape[0]))
    # more fits than dimensions: the factor is used directly (no QR)
    W2 = w0 + 0.5 * rng.standard_normal((1, d + 3, d))
    res2 = st.holdout_residuals(13, eigs, w0, W2, sigma, 40000)[0]
    D2 = w0 - W2[0]
    exact2 = sigma**2 + np.sum(eigs * D2**2, axis=1)
    assert_mc_close((res2**2).mean(axis=0), (res2**2).std(axis=0, ddof=1) / 200, exact2, what="hold-out L > d")


def test_holdout_residuals_match_a_materialised_holdout():
    d, L, sigma, m = 8, 4, 0.5, 30
    rng = np.random.default_rng(14)
    eigs, w0 = np.linspace(0.2, 2.0, d), rng.standard_normal(d)
    W = w0 + 0.3 * rng.standard_normal((1, L, d))
    fast = st.holdout_curves(st.holdout_residuals(15, eigs, w0, np.repeat(W, 3000, axis=0), sigma, m), m)[:, 0, :]
    X = np.random.default_rng(16).standard_normal((3000, m, d)) * np.sqrt(eigs)
    y = X @ w0 + sigma * np.random.default_rng(17).standard_normal((3000, m))
    plain = np.mean((y[:, :, None] - X @ W[0].T) ** 2, axis=1)
    assert_same_mean(fast, plain, what="hold-out error, exact sampler vs materialised")
    assert_same_mean(np.argmin(fast, axis=1), np.argmin(plain, axis=1), what="hold-out argmin")


def test_nested_holdout_curves():
    res = np.random.default_rng(18).standard_normal((2, 50, 3))
    cur = st.holdout_curves(res, [1, 10, 50])
    assert cur.shape == (2, 3, 3)
    assert np.allclose(cur[:, 1], np.mean(res[:, :10] ** 2, axis=1)) and np.allclose(cur[:, 0], res[:, 0] ** 2)


def test_synthetic_teacher_has_the_chain_error():
    p = power_law(d=30, beta=1.5, r=0.5, sigma=0.5, sigma0=0.8, T0=60)
    w = st.synthetic_teacher(p, 3, 4000, rng=19)
    err = np.sum(p.eigs * (w - p.w0) ** 2, axis=1)
    assert_mc_close(err.mean(), err.std(ddof=1) / np.sqrt(err.size), theory.ols_chain_error(30, 60, 0.8, 3),
                    what="E ||w_hat_3 - w0||_Sigma^2 (R2)")
    assert np.array_equal(st.synthetic_teacher(p, 0, 3, rng=0), np.tile(p.w0, (3, 1)))


def test_downstream_samples_shapes_and_labels():
    p = isotropic(d=6, sigma=0.0, sigma0=1.0, T0=20, rng=0)
    X, Y, w = st.downstream_samples(p, T=9, n=2, runs=3, rng=20)
    assert X.shape == (3, 9, 6) and Y.shape == (3, 9) and w.shape == (3, 6)
    assert np.allclose(Y, np.einsum("std,sd->st", X, w))                   # sigma = 0: labels are exactly X w_hat


@pytest.mark.parametrize("T", [120, 40])
def test_bartlett_and_plain_training_sets_agree(T):
    """The sufficient-statistic training sets (T > d) and materialised ones give the same GCV and errors in law;
    T < d exercises the materialised path against R3."""
    p = power_law(d=30, beta=1.5, r=0.5, sigma=0.6, sigma0=1.0, T0=90)
    lam = np.logspace(-3, 1, 9)
    kw = dict(T=T, n=2, lam=lam, m=(5, 50), runs=1500)
    a = st.simulate_strategies(p, method="auto", rng=21, **kw)
    b = st.simulate_strategies(p, method="plain", rng=22, **kw)
    assert_same_mean(a.grid_errors, b.grid_errors, what="test errors on the grid")
    for name in ("gcv", "holdout 5", "holdout 50"):
        assert_same_mean(a.choices[name].error, b.choices[name].error, what=name)
        assert_same_mean(np.log(a.choices[name].lam), np.log(b.choices[name].lam), what=f"{name} log lam")
    th = theory.ridge_test_error(p, T=T, lam=lam, n=2).total
    sem = a.grid_errors.std(axis=0, ddof=1) / np.sqrt(a.runs)
    assert_mc_close(a.grid_errors.mean(axis=0), sem, th, rel=0.06, what="grid errors vs R3 (d = 30)")


# --------------------------------------------------------------------------------------------------------------------
# Monte-Carlo properties of the data-driven strategies (fixed seeds)

ISO = isotropic(d=100, sigma=1.0, sigma0=1.0, T0=300, rng=0)
POW = power_law(d=100, beta=2.0, r=0.375, sigma=0.5, sigma0=1.0, T0=300)
GRID = np.logspace(-3, 2, 41)


@pytest.fixture(scope="module")
def iso_run():
    return st.simulate_strategies(ISO, T=200, n=2, lam=GRID, m=(5, 20, 100, 2000), runs=150, rng=23)


@pytest.fixture(scope="module")
def pow_run():
    return st.simulate_strategies(POW, T=200, n=2, lam=GRID, m=(5, 2000), runs=150, rng=24)


def test_every_data_driven_choice_is_on_the_grid_and_no_better_than_hindsight(iso_run, pow_run):
    for res in (iso_run, pow_run):
        best = res.grid_errors.min(axis=1)
        for name, choice in res.choices.items():
            assert choice.lam.shape == choice.error.shape == (res.runs,)
            assert np.all(np.isfinite(choice.error)) and np.all(choice.error > 0)
            if name in st.THEORY_STRATEGIES:
                continue
            assert np.all(np.isin(choice.lam, res.lam)), name
            idx = np.searchsorted(res.lam, choice.lam)
            assert np.array_equal(choice.error, res.grid_errors[np.arange(res.runs), idx]), name
            assert np.all(choice.error >= best), name


def test_theory_strategies_in_the_monte_carlo_match_r3(iso_run, pow_run):
    for res, p in ((iso_run, ISO), (pow_run, POW)):
        for name in st.THEORY_STRATEGIES:
            lam = float(res.choices[name].lam[0])
            th = theory.ridge_test_error(p, T=200, lam=lam, n=2).total
            assert_mc_close(res.mean(name), res.sem(name), th, rel=0.04, what=f"{name} (d = 100)")


def test_no_strategy_beats_the_oracle_by_more_than_chance(iso_run, pow_run):
    """The oracle is the best fixed penalty in expectation; GCV and small hold-outs are worse. (A large hold-out may be
    slightly better than the oracle: it adapts to each run, down to the hindsight bound.)"""
    for res in (iso_run, pow_run):
        for name in ["fixed", "clean", "rule", "paper", "gcv", "holdout 5"]:
            regret, se = res.regret(name)
            assert regret >= -4 * se, (name, regret, se)
        hind, se = res.regret("hindsight")
        assert hind <= 0


def test_holdout_converges_to_the_oracle_as_m_grows(iso_run, pow_run):
    for res, p in ((iso_run, ISO), (pow_run, POW)):
        oracle = rg.oracle_choice(p, 200, 2)
        # With many clean samples the hold-out finds each run's best grid penalty (the hindsight bound), which at
        # d = 100 is a few per cent better than the best fixed penalty, the oracle.
        vs_best, se_best = res.regret("holdout 2000", against="hindsight")
        assert 0 <= vs_best <= 4 * se_best + 0.01 * oracle.error, vs_best
        big, se_big = res.regret("holdout 2000")
        assert abs(big) <= 4 * se_big + 0.06 * oracle.error, big
        small, _ = res.regret("holdout 5")
        diff = res.choices["holdout 5"].error - res.choices["holdout 2000"].error
        assert small - big > 4 * diff.std(ddof=1) / np.sqrt(diff.size)          # a small hold-out costs more
        log_lam = np.log(res.holdout(2000).lam)
        se = log_lam.std(ddof=1) / np.sqrt(log_lam.size)
        assert abs(log_lam.mean() - np.log(oracle.lam)) <= 4 * se + 0.1          # lam -> the oracle's
    regrets = [iso_run.regret(f"holdout {m}")[0] for m in iso_run.m]
    assert np.all(np.diff(regrets) < 0), regrets


def test_gcv_aims_at_the_teacher_fit_penalty(iso_run, pow_run):
    """GCV validates against labels made by w_hat_n, so it targets teacher_fit_choice (our derivation), not the
    collapse-aware optimum."""
    target = rg.teacher_fit_choice(ISO, 200, 2).lam
    log_lam = np.log(iso_run.choices["gcv"].lam)
    se = log_lam.std(ddof=1) / np.sqrt(log_lam.size)
    assert abs(log_lam.mean() - np.log(target)) <= 4 * se + 0.1
    assert np.exp(log_lam.mean()) < rg.clean_choice(ISO, 200, 2).lam < rg.oracle_choice(ISO, 200, 2).lam
    # power law, T > d: the target is below the grid, and GCV sits at the grid's lowest penalty
    assert rg.teacher_fit_choice(POW, 200, 2, lam_min=1e-8).lam < GRID[0]
    assert np.mean(pow_run.choices["gcv"].lam == GRID[0]) >= 0.95
    regret, se = pow_run.regret("gcv", against="clean")
    assert regret > 4 * se                                       # worse than keeping the clean-data penalty


def test_strategy_result_is_reproducible_and_consumes_the_generator():
    kw = dict(T=50, n=1, lam=GRID, m=(5,), runs=4)
    a = st.simulate_strategies(POW, rng=3, **kw)
    b = st.simulate_strategies(POW, rng=3, **kw)
    assert np.array_equal(a.grid_errors, b.grid_errors) and a.choices["gcv"].lam.tolist() == b.choices["gcv"].lam.tolist()
    gen = np.random.default_rng(3)
    c, e = st.simulate_strategies(POW, rng=gen, **kw), st.simulate_strategies(POW, rng=gen, **kw)
    assert not np.array_equal(c.grid_errors, e.grid_errors)
    with pytest.raises(ValueError, match="name"):
        a.mean("nope")
    assert a.runs == 4 and a.m == (5,)


# --------------------------------------------------------------------------------------------------------------------
# Kernel ridge on a pool of real digits

@pytest.fixture(scope="module")
def kpool():
    from collapse_lib import datasets
    from collapse_lib import kernels as kr
    sp = datasets.split(datasets.digits_8x8(), 400, 0, rng=0)
    return kr.make_pool(sp.X_train, sp.f_train, kernel="rbf")


def test_spectrum_from_eigh_equals_kernel_spectrum(kpool):
    idx = np.arange(0, 400, 5)
    K, y = kpool.K[np.ix_(idx, idx)], kpool.f[idx] + 0.1
    a, Ua = st.kernel_spectrum(K, y)
    ev, V = np.linalg.eigh(K)
    b, Ub = st.spectrum_from_eigh(ev, V, y)
    assert np.allclose(st.gcv_curve(a, LAMS), st.gcv_curve(b, LAMS))
    # GCV of the spectral form equals its definition with the explicit hat matrix (a numerically low-rank kernel)
    T = idx.size
    for lv in LAMS[1:]:
        H = K @ np.linalg.inv(K + T * lv * np.eye(T))
        ref = np.mean((y - H @ y) ** 2) / (1 - np.trace(H) / T) ** 2
        assert st.gcv_curve(b, [lv, 2 * lv])[0, 0] == pytest.approx(ref, rel=1e-6)
    pred = st.kernel_predictions(b, Ub, kpool.K[:7][:, idx], LAMS[1:])[0]
    alpha = np.linalg.solve(K + T * LAMS[2] * np.eye(T), y)
    assert np.allclose(pred[:, 1], kpool.K[:7][:, idx] @ alpha, rtol=1e-6, atol=1e-8)


def test_theory_strategies_for_ridge_generators(kpool):
    from collapse_lib import kernels as kr
    p = kr.empirical_problem(kpool, sigma=0.5, sigma0=1.0, T0=100)
    for n in (0, 2):
        oracle = rg.oracle_choice(p, 100, n, lam0=1e-6)
        for choice in (rg.clean_choice(p, 100, n, lam0=1e-6), rg.fixed_choice(p, 100, n, lam=1e-4, lam0=1e-6)):
            assert choice.error >= oracle.error * (1 - 1e-9)
            assert choice.error == pytest.approx(kr.ridge_chain_test_error(p, 100, choice.lam, n, 1e-6).total)
        grid = np.logspace(-6, 3, 2001)
        dense = kr.ridge_chain_test_error(p, 100, grid, n, 1e-6).total
        assert oracle.error <= dense.min() + 1e-12
    assert rg.oracle_choice(p, 100, 2, lam0=1e-6).lam > rg.clean_choice(p, 100, 2, lam0=1e-6).lam
    # OLS generators as the lam0 = 0 case of the chain formula (which uses T0 - d where R3 has T0 - d - 1)
    q = power_law(d=60, beta=1.5, r=0.5, sigma=0.5, sigma0=1.0, T0=400)
    a, b = rg.oracle_choice(q, 100, 3), rg.oracle_choice(q, 100, 3, lam0=0.0)
    assert b.lam == pytest.approx(a.lam, rel=0.02) and b.error == pytest.approx(a.error, rel=0.02)


@pytest.fixture(scope="module")
def kernel_run(kpool):
    return st.simulate_kernel_strategies(kpool, T=100, T0=100, n=2, sigma0=1.0, sigma=0.5, lam0=1e-6,
                                         lam=np.logspace(-5, 0, 26), m=(5, 250), runs=24, rng=31)


def test_kernel_strategies_are_consistent(kpool, kernel_run):
    from collapse_lib import kernel_chain as kc
    res = kernel_run
    assert set(st.KERNEL_THEORY_STRATEGIES) < set(res.choices)
    best = res.grid_errors.min(axis=1)
    for name, c in res.choices.items():
        assert c.lam.shape == c.error.shape == (24,)
        if name not in st.KERNEL_THEORY_STRATEGIES:
            assert np.all(np.isin(c.lam, res.lam)) and np.all(c.error >= best), name
    # run r is run r of the kernel chain of chapter 6 (same inputs, same noise)
    fs = kc.fitted_set(kpool, 100, 100, 2, sigma0=1.0, sigma=0.5, lam0=1e-6, rng=np.random.default_rng(31).spawn(24)[3])
    assert np.allclose(kc.fit_errors(fs, res.lam).pool, res.grid_errors[3])
    # the theory penalties are evaluated on the same runs
    fixed = kc.fit_errors(fs, 1e-6).pool
    assert res.choices["fixed"].error[3] == pytest.approx(fixed)


def test_kernel_gcv_underregularises_and_a_clean_holdout_recovers(kernel_run):
    res = kernel_run
    gcv, se = res.regret("gcv", against="best fixed")
    assert gcv > 4 * se                                                  # GCV on synthetic labels loses clearly
    assert np.exp(np.mean(np.log(res.choices["gcv"].lam))) < res.choices["clean"].lam[0]
    big, se_big = res.regret("holdout 250", against="hindsight")
    assert big <= 4 * se_big + 0.03 * res.mean("best fixed")
    small, _ = res.regret("holdout 5", against="hindsight")
    assert small > big


def test_kernel_strategies_reject_bad_input(kpool):
    good = dict(pool=kpool, T=50, T0=50, n=1, sigma0=1.0, sigma=0.5, lam0=1e-6, lam=[1e-3, 1e-1], m=(5,), runs=2,
                rng=0, fixed_lam=1e-6, problem=None)
    st.simulate_kernel_strategies(**good)
    bad = {"pool": [None, "pool"], "T": [1, 401, 2.5], "T0": [0, 401], "n": [-1], "sigma0": [-1.0], "sigma": [np.nan],
           "lam0": [-1.0], "lam": [[0.1], [0.0, 1.0]], "m": [0, [351]], "runs": [1], "rng": ["seed"],
           "fixed_lam": [0.0], "problem": ["p"]}
    import inspect
    assert set(bad) == set(inspect.signature(st.simulate_kernel_strategies).parameters)
    for param, values in bad.items():
        for value in values:
            with pytest.raises(ValueError, match=rf"(?<![\w.]){param}(?!\w)"):
                st.simulate_kernel_strategies(**{**good, param: value})


# --------------------------------------------------------------------------------------------------------------------
# Invalid input: every parameter of every public function of strategies.py

SPEC, VEC = st.linear_spectrum(np.random.default_rng(0).standard_normal((12, 5)),
                               np.random.default_rng(1).standard_normal(12))
KSPEC, UK = st.kernel_spectrum(np.eye(6) + 0.1, np.ones(6))
W1 = np.zeros((1, 3, 4))
NOT_GRID = [[0.1], [0.0, 1.0], [1.0, 0.5], [[0.1, 1.0]], "abc", None, [0.1, np.nan], [1.0, 1e101]]
CASES = {
    st.lam_grid: (dict(lam=[0.1, 1.0]), {"lam": NOT_GRID}),
    st.gcv_curve: (dict(spec=SPEC, lam=[0.1, 1.0]), {"spec": [None, (1, 2), "s"], "lam": NOT_GRID}),
    st.ridge_coefficients: (dict(spec=SPEC, lam=[0.1, 1.0]), {"spec": [None], "lam": [-1.0, "abc", [np.inf]]}),
    st.holdout_curves: (dict(residuals=np.ones((1, 5, 2)), m=[1, 5]), {
        "residuals": [np.ones((5, 2)), "abc"], "m": [0, 6, [1, 2.5], [], [[1]], "3"]}),
    st.choose: (dict(lam=[0.1, 1.0], curve=np.ones((3, 2)), errors=None), {
        "lam": NOT_GRID[:4], "curve": [np.ones((3, 3)), np.array([[1.0, np.nan]])],
        "errors": [np.ones((2, 2)), np.ones(3)]}),
    st.linear_spectrum: (dict(X=np.eye(3), y=np.ones(3)), {
        "X": [np.ones((4, 3)), np.ones(3), [[np.nan, 1.0], [0.0, 1.0]]], "y": [np.ones(2), np.ones((2, 2, 2))]}),
    st.kernel_spectrum: (dict(K=np.eye(3), y=np.ones(3)), {"K": [np.ones((2, 3)), np.ones(3)],
                                                           "y": [np.ones(2), [np.nan, 1.0, 1.0]]}),
    st.spectrum_from_eigh: (dict(evals=np.ones(3), evecs=np.eye(3), y=np.ones(3)), {
        "evals": [np.zeros(3), np.ones(2), "abc"], "evecs": [np.eye(2), [[np.nan]]], "y": [np.ones(2)]}),
    st.linear_weights: (dict(spec=SPEC, P=VEC, lam=[0.1, 1.0]), {"spec": [None], "P": [np.ones((1, 5, 2))],
                                                                  "lam": [-1.0, "abc"]}),
    st.kernel_predictions: (dict(spec=KSPEC, U=UK, K_new=np.ones((2, 6)), lam=[0.1]), {
        "spec": [None], "U": [np.ones((1, 6, 2))], "K_new": [np.ones((2, 5)), "abc"], "lam": [-1.0]}),
    st.synthetic_teacher: (dict(p=P10, n=1, runs=2, rng=0), {
        "p": [None, "p"], "n": [-1, 1.5], "runs": [0, 2.5], "rng": [-1, "seed"]}),
    st.downstream_samples: (dict(p=P10, T=5, n=1, runs=2, rng=0), {
        "p": [None], "T": [1, 2.5], "n": [-1], "runs": [0], "rng": ["seed"]}),
    st.holdout_residuals: (dict(rng=0, eigs=np.ones(4), w0=np.zeros(4), W=W1, sigma=1.0, m=3), {
        "rng": ["seed"], "eigs": [np.zeros(4), [1.0]], "w0": [np.zeros(3)], "W": [np.zeros((1, 3, 5)), "abc"],
        "sigma": [-1.0, np.nan], "m": [0, 1.5]}),
    st.simulate_strategies: (dict(p=P10, T=20, n=1, lam=[0.1, 1.0], m=(2, 5), runs=3, rng=0, beta=2.0, r=0.5,
                                  fixed_lam=1e-6, method="auto"), {
        "p": [None], "T": [1, 2.5], "n": [-1], "lam": [g for g in NOT_GRID if g is not None],  # None: default grid
        "m": [0, [2, 0], []], "runs": [1],
        "rng": ["seed"], "beta": [1.0], "r": [0.0], "fixed_lam": [0.0, -1.0], "method": ["fast", None]}),
    rg.fixed_choice: (dict(p=P10, T=20, n=1, lam=0.1, lam0=None), {"p": [None], "T": [0], "n": [-1], "lam": [0.0],
                                                                   "lam0": [-1.0, "abc"]}),
    rg.clean_choice: (dict(p=P10, T=20, n=1, lam_min=1e-6, lam_max=1e3, lam0=None), {
        "p": [None], "T": [0], "n": [-1], "lam_min": [0.0], "lam_max": [1e-7, 1e200], "lam0": [-1.0, np.nan]}),
    rg.oracle_choice: (dict(p=P10, T=20, n=1, lam_min=1e-6, lam_max=1e3, lam0=None), {
        "p": [None], "T": [0], "n": [-1], "lam_min": [0.0], "lam_max": [1e-7, 1e200], "lam0": [-1.0, np.nan]}),
    rg.teacher_fit_choice: (dict(p=P10, T=20, n=1, lam_min=1e-6, lam_max=1e3), {
        "p": [None], "T": [0], "n": [-1], "lam_min": [0.0], "lam_max": [1e-7, 1e200]}),
    rg.teacher_problem: (dict(p=P10, n=1), {"p": [None], "n": [-1, 0.5]}),
    rg.rule_choice: (dict(p=P10, T=20, n=1, beta=2.0, r=0.5, c=1.0), {
        "p": [None], "T": [0], "n": [-1], "beta": [1.0, "b"], "r": [0.0], "c": [0.0, -1.0]}),
    rg.paper_choice: (dict(p=P10, T=20, n=1, beta=2.0, r=0.5), {
        "p": [None], "T": [0], "n": [-1], "beta": [0.5], "r": [-1.0]}),
    rg.rule_lambda: (dict(T=20, beta=2.0, r=0.5, sigma_eff2=1.0, c=1.0), {
        "T": [0], "beta": [1.0], "r": [0.0], "sigma_eff2": [0.0, np.inf], "c": [0.0]}),
    rg.paper_lambda: (dict(T=20, beta=2.0, r=0.5), {"T": [0, 2.5], "beta": [1.0], "r": [0.0]}),
}


def test_every_parameter_has_invalid_cases():
    import inspect
    public = [getattr(st, n) for n in st.__all__ if inspect.isfunction(getattr(st, n))
              and n != "simulate_kernel_strategies"]           # its own test (it needs a pool)
    public += [getattr(rg, n) for n in rg.__all__ if inspect.isfunction(getattr(rg, n)) and n != "optimal_lambda"]
    missing = [f.__name__ for f in public if f not in CASES]
    missing += [f"{f.__name__}({q})" for f in public if f in CASES for q in inspect.signature(f).parameters
                if q not in CASES[f][1]]
    assert not missing, missing


def _bad_cases():
    for func, (_, bad) in CASES.items():
        for param, values in bad.items():
            for k, value in enumerate(values):
                yield pytest.param(func, param, value, id=f"{func.__name__}-{param}-{k}")


def test_valid_calls_succeed():
    for func, (good, _) in CASES.items():
        func(**good)


@pytest.mark.parametrize("func,param,value", list(_bad_cases()))
def test_invalid_input_names_the_parameter(func, param, value):
    kwargs = dict(CASES[func][0])
    kwargs[param] = value
    with pytest.raises(ValueError, match=rf"(?<![\w.]){param}(?!\w)") as err:
        func(**kwargs)
    assert "must" in str(err.value), str(err.value)


def test_recovered_fraction_and_holdout_needed(iso_run):
    res = iso_run
    F, se = res.recovered("oracle")
    assert F == pytest.approx(1.0) and se == pytest.approx(0.0, abs=1e-12)
    assert res.recovered("clean")[0] == pytest.approx(0.0)
    fractions = [res.recovered(f"holdout {m}")[0] for m in res.m]
    assert np.all(np.diff(fractions) > 0) and fractions[-1] > 0.9
    # by hand, and the smallest size reaching 90 %
    base, hold, orc = (res.choices[k].error for k in ("clean", "holdout 100", "oracle"))
    assert res.recovered("holdout 100")[0] == pytest.approx((base - hold).mean() / (base - orc).mean())
    need = res.holdout_needed(0.9)
    assert need in res.m and res.recovered(f"holdout {need}")[0] >= 0.9
    assert all(res.recovered(f"holdout {m}")[0] < 0.9 for m in res.m if m < need)
    with pytest.raises(ValueError, match="against"):
        res.recovered("gcv", baseline="oracle", against="clean")
    with pytest.raises(ValueError, match="fraction"):
        res.holdout_needed(1.5)
