"""The Bartlett sufficient-statistic sampler agrees in distribution with the plain sampler (issue 3).

For ``X`` with rows iid ``N(0, Sigma)``, ``Sigma = diag(l)``, and noise ``E ~ N(0, s^2 I_T)``:
``E[X^T X] = T Sigma``, ``Var((X^T X)_ij) = T (l_i l_j + delta_ij l_i^2)``, ``E[X^T E] = 0``,
``Cov(X^T E) = s^2 T Sigma``, ``(X^T X)_ii / l_i ~ chi^2_T`` and ``c^T G^{-1} c / s^2 ~ chi^2_d``. Both samplers are
checked against these facts, and against each other, with fixed seeds; then ``simulate`` through either path is
checked against R2 (exact) and the R3 configurations of theory.md (asymptotic: 4 s.e. plus 3 %).
"""
import numpy as np
import pytest
from scipy import stats

from collapse_lib import Problem, isotropic, sampling, simulate, theory

EIGS = np.array([2.0, 1.0, 0.5, 0.25])
T, S, DRAWS = 9, 0.7, 20000


@pytest.fixture(scope="module", params=["bartlett", "plain"])
def draws(request):
    G, c = sampling.sufficient_stats(2024, EIGS, T, S, DRAWS, method=request.param)
    return request.param, G, c


def test_shapes_and_symmetry(draws):
    _, G, c = draws
    assert G.shape == (DRAWS, 4, 4) and c.shape == (DRAWS, 4)
    np.testing.assert_allclose(G, np.swapaxes(G, 1, 2), rtol=1e-12, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(G[:200]) > 0)


def test_gram_mean_is_T_sigma(draws, mc_close):
    method, G, _ = draws
    mc_close(G.mean(0), G.std(0, ddof=1) / np.sqrt(DRAWS), T * np.diag(EIGS), what=f"E[G] ({method})")


def test_gram_entry_variances(draws, mc_close):
    method, G, _ = draws
    dev2 = (G - T * np.diag(EIGS)) ** 2                       # known mean, so E[dev2] = Var(G_ij)
    expected = T * (np.outer(EIGS, EIGS) + np.diag(EIGS**2))
    mc_close(dev2.mean(0), dev2.std(0, ddof=1) / np.sqrt(DRAWS), expected, what=f"Var(G_ij) ({method})")


def test_cross_term_mean_and_covariance(draws, mc_close):
    method, G, c = draws
    mc_close(c.mean(0), c.std(0, ddof=1) / np.sqrt(DRAWS), np.zeros(4), what=f"E[c] ({method})")
    outer = c[:, :, None] * c[:, None, :]
    mc_close(outer.mean(0), outer.std(0, ddof=1) / np.sqrt(DRAWS), S**2 * T * np.diag(EIGS),
             what=f"Cov(c) ({method})")
    # c is odd in the noise, so every mixed third moment with G vanishes.
    mixed = G[:, 0, 1, None] * c
    mc_close(mixed.mean(0), mixed.std(0, ddof=1) / np.sqrt(DRAWS), np.zeros(4), what=f"E[G_01 c] ({method})")


def test_exact_marginal_laws(draws):
    method, G, c = draws
    for i in (0, 3):
        assert stats.kstest(G[:, i, i] / EIGS[i], stats.chi2(T).cdf).pvalue > 1e-3, f"G_{i}{i} ({method})"
    quad = np.einsum("si,si->s", c, np.linalg.solve(G, c[..., None])[..., 0]) / S**2
    assert stats.kstest(quad, stats.chi2(len(EIGS)).cdf).pvalue > 1e-3, f"c^T G^-1 c ({method})"


def test_two_samplers_agree_on_nonlinear_statistics():
    Gb, cb = sampling.sufficient_stats(1, EIGS, T, S, DRAWS, method="bartlett")
    Gp, cp = sampling.sufficient_stats(2, EIGS, T, S, DRAWS, method="plain")
    for name, f in {
        "tr(Sigma G^-1)": lambda G, c: np.trace(np.linalg.inv(G) * EIGS[None, :, None], axis1=1, axis2=2),
        "logdet G": lambda G, c: np.linalg.slogdet(G)[1],
        "OLS error w/ noise": lambda G, c: np.einsum("si,i,si->s", x := np.linalg.solve(G, c[..., None])[..., 0],
                                                     EIGS, x),
        "G_01 c_0": lambda G, c: G[:, 0, 1] * c[:, 0],
    }.items():
        res = stats.ks_2samp(f(Gb, cb), f(Gp, cp))
        assert res.pvalue > 1e-3, f"{name}: KS p = {res.pvalue}"


def test_bartlett_factor_structure_and_moments(mc_close):
    R = sampling.bartlett_factor(5, d=6, T=8, size=20000)
    assert R.shape == (20000, 6, 6)
    assert np.all(np.tril(R, -1) == 0) and np.all(np.diagonal(R, axis1=1, axis2=2) > 0)
    diag2 = np.diagonal(R, axis1=1, axis2=2) ** 2
    mc_close(diag2.mean(0), diag2.std(0, ddof=1) / np.sqrt(20000), 8 - np.arange(6), what="R_ii^2 ~ chi2_{T-i}")
    W = np.swapaxes(R, 1, 2) @ R
    mc_close(W.mean(0), W.std(0, ddof=1) / np.sqrt(20000), 8 * np.eye(6), what="E[R^T R] = T I")
    # T = d is allowed (square design); the last diagonal entry is chi with 1 degree of freedom.
    assert sampling.bartlett_factor(0, d=3, T=3, size=2).shape == (2, 3, 3)


# ---------------------------------------------------------------- the O(d) OLS-noise sampler
def plain_ols_noise(rng, d, T, s, size):
    Z = sampling.design(rng, np.ones(d), T, size)
    E = s * np.random.default_rng(rng + 1000).standard_normal((size, T))
    return np.linalg.solve(np.swapaxes(Z, 1, 2) @ Z, np.einsum("std,st->sd", Z, E)[..., None])[..., 0]


def test_ols_noise_moments(mc_close):
    d, TT, s, N = 4, 12, 0.7, 40000
    x = sampling.ols_noise(8, d, TT, s, N)
    assert x.shape == (N, d)
    mc_close(x.mean(0), x.std(0, ddof=1) / np.sqrt(N), np.zeros(d), what="E[x]")
    outer = x[:, :, None] * x[:, None, :]
    # E[x x^T] = s^2 E[(Z^T Z)^{-1}] = s^2 I / (T - d - 1) (inverse Wishart mean).
    mc_close(outer.mean(0), outer.std(0, ddof=1) / np.sqrt(N), s**2 * np.eye(d) / (TT - d - 1), what="E[x x^T]")


@pytest.mark.parametrize("d, TT", [(1, 5), (6, 6), (6, 9), (30, 40)])
def test_ols_noise_marginals_are_scaled_student_t(d, TT):
    # Given Z, x ~ N(0, s^2 (Z^T Z)^{-1}) and [(Z^T Z)^{-1}]_ii = 1/chi^2_{T-d+1}, so every coordinate is
    # s t_{T-d+1} / sqrt(T-d+1) (the law is rotation invariant). The first coordinate uses the whole recursion.
    s, N = 1.3, 20000
    x = sampling.ols_noise(3, d, TT, s, N)
    k = TT - d + 1
    for i in {0, d // 2, d - 1}:
        assert stats.kstest(x[:, i] * np.sqrt(k) / s, stats.t(k).cdf).pvalue > 1e-3, f"coordinate {i}"


def test_ols_noise_agrees_with_plain_and_bartlett_solves():
    from scipy.linalg import solve_triangular

    d, TT, s, N = 5, 11, 0.9, 20000
    fast = sampling.ols_noise(1, d, TT, s, N)
    plain = plain_ols_noise(2, d, TT, s, N)
    R = sampling.bartlett_factor(3, d, TT, N)
    bart = solve_triangular(R, s * np.random.default_rng(4).standard_normal((N, d))[..., None])[..., 0]
    stats_of = {"||x||^2": lambda x: (x**2).sum(1), "x_0 x_1": lambda x: x[:, 0] * x[:, 1],
                "max |x_i|": lambda x: np.abs(x).max(1), "x_2 + x_4": lambda x: x[:, 2] + x[:, 4]}
    for name, f in stats_of.items():
        for other, ref in (("plain", plain), ("bartlett", bart)):
            assert stats.ks_2samp(f(fast), f(ref)).pvalue > 1e-3, f"{name} vs {other}"


def test_ols_noise_edge_cases():
    assert np.all(sampling.ols_noise(0, 5, 9, 0.0, 3) == 0.0)          # no noise, OLS recovers the teacher
    x = sampling.ols_noise(0, 300, 300, 1.0, 50)                     # T = d: heavy tails, but no overflow
    assert np.all(np.isfinite(x))
    np.testing.assert_array_equal(sampling.ols_noise(5, 3, 7, 1.0, 4), sampling.ols_noise(5, 3, 7, 1.0, 4))


def test_samplers_are_deterministic():
    for method in ("bartlett", "plain"):
        a = sampling.sufficient_stats(3, EIGS, 6, 1.0, 5, method=method)
        b = sampling.sufficient_stats(np.random.default_rng(3), EIGS, 6, 1.0, 5, method=method)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(sampling.design(4, EIGS, 7, 3), sampling.design(4, EIGS, 7, 3))
    X = sampling.design(4, EIGS, 50000, 1)[0]
    np.testing.assert_allclose(X.var(0), EIGS, rtol=0.03)


# ---------------------------------------------------------------- test errors through either path
def small_problem():
    w0 = np.random.default_rng(0).standard_normal(20)
    return Problem(eigs=np.arange(1, 21) ** -1.0, w0=w0, sigma=0.6, sigma0=1.0, T0=40)


def test_ols_errors_bartlett_vs_plain(mc_close, same_mean):
    p = small_problem()
    fast = simulate(p, T=35, n=2, runs=2500, rng=10, method="bartlett")
    slow = simulate(p, T=35, n=2, runs=2500, rng=11, method="plain")
    same_mean(fast.errors, slow.errors, what="OLS errors, bartlett vs plain")
    th = theory.ols_test_error(d=20, T=35, T0=40, sigma=0.6, sigma0=1.0, n=2)
    for res in (fast, slow):
        mc_close(res.mean, res.sem, th, what="R2")
    assert stats.ks_2samp(fast.errors, slow.errors).pvalue > 1e-3


def test_ridge_errors_bartlett_vs_plain(same_mean):
    p = small_problem()
    lam = np.array([0.0, 0.02, 0.3, 2.0])
    fast = simulate(p, T=30, lam=lam, n=3, runs=2500, rng=20, method="bartlett")
    slow = simulate(p, T=30, lam=lam, n=3, runs=2500, rng=21, method="plain")
    same_mean(fast.errors, slow.errors, what="ridge errors, bartlett vs plain")
    for k in range(lam.size):
        assert stats.ks_2samp(fast.errors[:, k], slow.errors[:, k]).pvalue > 1e-3, f"lam = {lam[k]}"


def r3_problem():
    """theory.md R3 configuration: d = 150, eigenvalues j^-1.5, sigma = 0.5, sigma0 = 1, T0 = 450."""
    return isotropic(d=150, rng=0).replace(eigs=np.arange(1, 151) ** -1.5, sigma=0.5, sigma0=1.0, T0=450)


@pytest.mark.parametrize("T, lam, n", [(300, 1e-3, 2), (300, 1e-2, 5), (300, 0.1, 5), (100, 1e-3, 3), (100, 0.0, 3)])
def test_R3_theory_md_configurations_fast_path(T, lam, n, mc_close):
    p = r3_problem()
    res = simulate(p, T=T, lam=lam, n=n, runs=300, rng=n)
    mc_close(res.mean, res.sem, theory.ridge_test_error(p, T=T, lam=lam, n=n).total, rel=0.03,
             what=f"R3 T={T} lam={lam} n={n} (auto)")


@pytest.mark.parametrize("T, lam, n", [(300, 1e-3, 2), (100, 0.0, 3)])
def test_R3_theory_md_configurations_plain_path(T, lam, n, mc_close):
    p = r3_problem()
    res = simulate(p, T=T, lam=lam, n=n, runs=120, rng=100 + n, method="plain")
    mc_close(res.mean, res.sem, theory.ridge_test_error(p, T=T, lam=lam, n=n).total, rel=0.03,
             what=f"R3 T={T} lam={lam} n={n} (plain)")


def test_R2_large_T_fast_path(mc_close):
    # The Bartlett path makes T = 1e5 as cheap as T = 1e3; the error is then the generators' n d/(T0 - d - 1).
    p = isotropic(d=50, sigma=1.0, sigma0=1.0, T0=80, rng=1)
    res = simulate(p, T=100_000, n=2, runs=1000, rng=3, method="bartlett")
    mc_close(res.mean, res.sem, theory.ols_test_error(d=50, T=100_000, T0=80, n=2), what="R2 at T = 1e5")


def test_bartlett_method_refuses_too_few_samples():
    p = isotropic(d=30, T0=20)
    with pytest.raises(ValueError, match=r"T0 must be >= d = 30"):
        simulate(p, T=60, n=1, runs=4, method="bartlett")
    with pytest.raises(ValueError, match=r"\bT must be >= d = 30"):
        simulate(p.replace(T0=40), T=20, n=1, runs=4, method="bartlett")
    # n = 0 never uses the generators, so T0 < d is fine there.
    assert simulate(p, T=60, n=0, runs=4, rng=0, method="bartlett").errors.shape == (4,)
