"""Kernels, kernel ridge regression, the kernel chain on real digits and its theory (chapter 6, R7 / R7a).

Exact checks against scikit-learn; the chain is checked against direct fits; the ridge-generator deterministic
equivalent is checked against its R3 / R4 limits and Gaussian Monte Carlo (|mc - theory| <= 4 s.e. + 3 %), and
against the measured pool error on real digits within the tolerance chapter 6 states.
"""
import numpy as np
import pytest
from scipy.spatial.distance import pdist
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics.pairwise import pairwise_kernels

from collapse_lib import Problem, datasets, theory
from collapse_lib import kernel_chain as kc
from collapse_lib import kernels as kr

# --------------------------------------------------------------------------------------------------------------------
# kernels and kernel ridge against scikit-learn


@pytest.fixture(scope="module")
def xz():
    g = np.random.default_rng(0)
    return g.standard_normal((40, 7)), g.standard_normal((15, 7))


def test_rbf_matches_sklearn(xz):
    X, Z = xz
    for h in (0.7, 2.0, 5.0):
        ref = pairwise_kernels(X, Z, metric="rbf", gamma=1.0 / (2 * h * h))
        np.testing.assert_allclose(kr.rbf_kernel(X, Z, bandwidth=h), ref, rtol=1e-12, atol=1e-14)
    h = kr.median_bandwidth(X)
    assert h == pytest.approx(np.median(pdist(X)), rel=1e-9)
    np.testing.assert_allclose(kr.rbf_kernel(X), pairwise_kernels(X, metric="rbf", gamma=1 / (2 * h * h)),
                               rtol=1e-12, atol=1e-14)


def test_polynomial_matches_sklearn(xz):
    X, Z = xz
    for degree, s, c in ((1, 1.0, 0.0), (2, 3.0, 1.0), (3, 7.0, 0.5)):
        ref = pairwise_kernels(X, Z, metric="poly", degree=degree, gamma=1.0 / s, coef0=c)
        np.testing.assert_allclose(kr.polynomial_kernel(X, Z, degree=degree, scale=s, coef0=c), ref, rtol=1e-12)
    s = np.median(np.sum(X**2, axis=1))
    np.testing.assert_allclose(kr.kernel_matrix("polynomial", X, Z),
                               pairwise_kernels(X, Z, metric="poly", degree=3, gamma=1 / s, coef0=1.0), rtol=1e-12)


@pytest.mark.parametrize("lam", [1e-6, 1e-3, 0.1, 2.0])
def test_kernel_ridge_equals_sklearn_kernelridge(xz, lam):
    X, Z = xz
    g = np.random.default_rng(1)
    y = g.standard_normal(X.shape[0])
    K, Kz = kr.rbf_kernel(X, bandwidth=2.0), kr.rbf_kernel(Z, X, bandwidth=2.0)
    T = y.size
    alpha = kr.kernel_ridge(K, y, lam)
    skl = KernelRidge(alpha=T * lam, kernel="precomputed").fit(K, y)
    np.testing.assert_allclose(Kz @ alpha, skl.predict(Kz), rtol=0, atol=1e-8)
    np.testing.assert_allclose(alpha, np.linalg.solve(K + T * lam * np.eye(T), y), rtol=1e-8, atol=1e-10)
    # several label columns at once, and the eigendecomposition path over a grid
    Y = g.standard_normal((T, 3))
    np.testing.assert_allclose(kr.kernel_ridge(K, Y, lam)[:, 2], kr.kernel_ridge(K, Y[:, 2], lam), atol=1e-10)
    ev, V = np.linalg.eigh(K)
    grid = np.array([lam, 10 * lam])
    path = kr.kernel_ridge_path(ev, V, Y, grid)
    assert path.shape == (2, T, 3)
    for i, l_ in enumerate(grid):
        np.testing.assert_allclose(path[i], kr.kernel_ridge(K, Y, l_), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(kr.kernel_ridge_path(ev, V, y, lam), alpha, rtol=1e-6, atol=1e-8)


def test_kernel_and_ridge_bad_inputs(xz):
    X, Z = xz
    K = kr.rbf_kernel(X, bandwidth=1.0)
    y = np.ones(X.shape[0])
    cases = [
        (lambda: kr.rbf_kernel(np.zeros((0, 3))), "non-empty"),
        (lambda: kr.rbf_kernel(X, Z[:, :3]), "columns"),
        (lambda: kr.rbf_kernel(X, bandwidth=-1.0), "bandwidth"),
        (lambda: kr.rbf_kernel(X, bandwidth=0.0), "bandwidth"),
        (lambda: kr.rbf_kernel(np.array([[1.0, np.nan]])), "finite"),
        (lambda: kr.median_bandwidth(np.ones((5, 2))), "bandwidth 0"),
        (lambda: kr.median_bandwidth(X[:1]), "at least 2"),
        (lambda: kr.polynomial_kernel(X, degree=0), "degree"),
        (lambda: kr.polynomial_kernel(X, scale=-2.0), "scale"),
        (lambda: kr.kernel_matrix("laplace", X), "kernel must be one of"),
        (lambda: kr.kernel_params("rbf", X, degree=2), "not a parameter"),
        (lambda: kr.kernel_ridge(K[:, :5], y, 0.1), "square"),
        (lambda: kr.kernel_ridge(K, y[:-1], 0.1), "shape"),
        (lambda: kr.kernel_ridge(K, y, -0.1), "lam"),
        (lambda: kr.kernel_ridge(np.ones((4, 4)), np.ones(4), 0.0), "singular"),
        (lambda: kr.kernel_ridge_path(np.zeros(4), np.eye(4), np.ones(4), 0.0), "singular"),
        (lambda: kr.make_pool(X, y[:-1]), "length"),
        (lambda: kr.make_pool(X, y, X_test=Z), "both"),
        (lambda: kr.make_pool(X, y, Z[:, :3], np.ones(15)), "columns"),
        (lambda: kr.make_pool(X[:1], y[:1]), "at least 2"),
    ]
    for call, msg in cases:
        with pytest.raises(ValueError, match=msg):
            call()


# --------------------------------------------------------------------------------------------------------------------
# pools of real digits


@pytest.fixture(scope="module")
def digits_pool():
    """8x8 digits: a pool of 700 and 300 held-out images, RBF kernel (median heuristic)."""
    s = datasets.split(datasets.digits_8x8(), 700, 300, rng=0)
    return kr.make_pool(s.X_train, s.f_train, s.X_test, s.f_test, kernel="rbf")


@pytest.fixture(scope="module")
def mnist_pool():
    """MNIST subset: a pool of 1,000 and 500 held-out images, RBF kernel (median heuristic)."""
    s = datasets.split(datasets.mnist_subset(), 1000, 500, rng=0)
    return kr.make_pool(s.X_train, s.f_train, s.X_test, s.f_test, kernel="rbf")


def test_pool_spectrum_and_teacher_coefficients(digits_pool):
    pool = digits_pool
    mu, U = pool.spectrum
    assert pool.spectrum is pool.spectrum                           # one eigh, cached
    assert np.all(np.diff(mu) <= 1e-14) and mu.sum() == pytest.approx(np.trace(pool.K) / pool.N, rel=1e-12)
    np.testing.assert_allclose((U * mu) @ U.T, pool.K / pool.N, atol=1e-12)
    theta = kr.teacher_coefficients(pool)
    assert np.sum(theta**2) == pytest.approx(np.mean(pool.f**2), rel=1e-12)
    np.testing.assert_allclose(U @ theta * np.sqrt(pool.N), pool.f, atol=1e-10)
    p = kr.empirical_problem(pool, sigma=0.5, sigma0=1.0, T0=200)
    assert p.d == pool.N and np.all(p.eigs > 0)
    np.testing.assert_allclose(p.eigs * p.w0**2, theta**2, rtol=1e-10, atol=1e-300)
    assert p.signal == pytest.approx(1.0, rel=1e-10)                # parity target: mean square 1
    with pytest.raises(ValueError, match="T0"):
        kr.empirical_problem(pool, T0=pool.N + 1)
    with pytest.raises(ValueError, match="rel_floor"):
        kr.empirical_problem(pool, T0=10, rel_floor=0.0)
    with pytest.raises(ValueError, match="KernelPool"):
        kr.teacher_coefficients(np.eye(3))


def test_power_law_fit_recovers_exponents():
    j = np.arange(1, 2001.0)
    fit = kr.power_law_fit(3.0 * j**-1.7, lo=5, hi=1500)
    assert fit.exponent == pytest.approx(1.7, rel=1e-12) and fit.prefactor == pytest.approx(3.0, rel=1e-10)
    assert fit.r2 == pytest.approx(1.0, abs=1e-12)
    j = np.arange(1, 10**5 + 1.0)
    theta2 = j ** (-1.0 - 2 * 1.5 * 0.4)                           # source condition: tail ~ j^(-2 beta r) = j^-1.2
    tail = kr.tail_sums(np.sqrt(theta2))
    assert tail[0] == pytest.approx(theta2.sum()) and tail[-1] == pytest.approx(theta2[-1])
    assert kr.power_law_fit(tail, lo=10, hi=200).exponent == pytest.approx(1.2, abs=0.02)
    with pytest.raises(ValueError, match="> 0 on the window"):
        kr.power_law_fit(np.r_[1.0, 0.5, 0.0, 0.1], lo=1, hi=4)
    with pytest.raises(ValueError, match="hi"):
        kr.power_law_fit(j, lo=10, hi=11)


# --------------------------------------------------------------------------------------------------------------------
# the chain: reproducible, equal to direct fits, noise levels by linearity


LAMS = np.array([1e-4, 1e-2])


def _direct_errors(pool, fs, lam):
    alpha = kr.kernel_ridge(fs.K_train, fs.y, lam)
    return np.mean((pool.K[:, fs.idx] @ alpha - pool.f) ** 2), np.mean((pool.K_test[:, fs.idx] @ alpha
                                                                       - pool.f_test) ** 2)


def test_chain_reproducible_per_seed(digits_pool):
    kw = dict(T=120, T0=150, n=2, lam=LAMS, lam0=1e-5, sigma0=0.8, sigma=0.3, runs=3)
    a, b = kc.kernel_chain(digits_pool, rng=7, **kw), kc.kernel_chain(digits_pool, rng=7, **kw)
    c = kc.kernel_chain(digits_pool, rng=8, **kw)
    assert np.array_equal(a.gram_pool, b.gram_pool) and np.array_equal(a.gram_test, b.gram_test)
    assert not np.any(a.pool.errors == c.pool.errors)
    assert a.pool.errors.shape == (3, 3, 2) and a.runs == 3
    g = np.random.default_rng(7)
    first, second = kc.kernel_chain(digits_pool, rng=g, **kw), kc.kernel_chain(digits_pool, rng=g, **kw)
    assert not np.any(first.pool.errors == second.pool.errors)     # a Generator is consumed (SPEC 7)


def test_chain_run_equals_direct_fits(digits_pool):
    """Run r of kernel_chain = fitted_set with the r-th spawned generator; n = 0 is a plain KRR fit on f + noise."""
    pool = digits_pool
    kw = dict(T=100, T0=160, lam0=1e-5, sigma0=0.7, sigma=0.4)
    res = kc.kernel_chain(pool, n=3, lam=LAMS, runs=3, rng=11, **kw)
    kids = np.random.default_rng(11).spawn(3)
    fs0 = kc.fitted_set(pool, n=0, rng=kids[1], **kw)
    np.testing.assert_array_equal(fs0.teacher_pool, pool.f)
    assert np.allclose(fs0.y - fs0.f_train, fs0.y - pool.f[fs0.idx])
    for i, lam in enumerate(LAMS):
        p_err, t_err = _direct_errors(pool, fs0, lam)
        assert res.pool.errors[1, 0, i] == pytest.approx(p_err, rel=1e-9)
        assert res.test.errors[1, 0, i] == pytest.approx(t_err, rel=1e-9)
    # generation 2: the generator chain itself, refitted step by step with kernel_ridge
    fs2 = kc.fitted_set(pool, n=2, rng=kids[2], **kw)
    fe = kc.fit_errors(fs2, LAMS)
    for i, lam in enumerate(LAMS):
        p_err, t_err = _direct_errors(pool, fs2, lam)
        assert fe.pool[i] == pytest.approx(p_err, rel=1e-8) and fe.test[i] == pytest.approx(t_err, rel=1e-8)
        assert res.pool.errors[2, 2, i] == pytest.approx(p_err, rel=1e-8)
    assert res.errors("generator").errors[2, 2] == pytest.approx(np.mean((fs2.teacher_pool - pool.f) ** 2), rel=1e-9)
    assert np.all(res.errors("generator").errors[:, 0] == 0.0)


def test_generator_chain_by_hand(digits_pool):
    """Replay fitted_set's random draws and refit every generator with kernel_ridge (independent of the chain code)."""
    pool = digits_pool
    T, T0, n, lam0, s0, s = 90, 130, 2, 1e-4, 0.6, 0.2
    fs = kc.fitted_set(pool, T=T, T0=T0, n=n, sigma0=s0, sigma=s, lam0=lam0, rng=5)
    g = np.random.default_rng(5)
    idx, eps = g.choice(pool.N, T, replace=False), g.standard_normal(T)
    f = pool.f.copy()
    for _ in range(n):
        S, e = g.choice(pool.N, T0, replace=False), g.standard_normal(T0)
        f = pool.K[:, S] @ kr.kernel_ridge(pool.K[np.ix_(S, S)], f[S] + s0 * e, lam0)
    np.testing.assert_array_equal(fs.idx, idx)
    np.testing.assert_allclose(fs.teacher_pool, f, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fs.y, f[idx] + s * eps, rtol=1e-9, atol=1e-12)


def test_noise_levels_by_linearity(digits_pool):
    kw = dict(T=110, T0=140, n=2, lam=LAMS, lam0=1e-5, runs=2, rng=3)
    base = kc.kernel_chain(digits_pool, sigma0=1.0, sigma=0.5, **kw)
    other = kc.kernel_chain(digits_pool, sigma0=0.3, sigma=0.1, **kw)
    np.testing.assert_allclose(base.errors("pool", sigma0=0.3, sigma=0.1).errors, other.pool.errors, rtol=1e-9)
    np.testing.assert_allclose(base.errors("test", sigma0=0.3, sigma=0.1).errors, other.test.errors, rtol=1e-9)


def test_chain_bad_inputs(digits_pool):
    pool = digits_pool
    cases = [
        (lambda: kc.kernel_chain(pool, T=100, T0=pool.N + 1), "T0"),
        (lambda: kc.kernel_chain(pool, T=pool.N + 1), "T must be"),
        (lambda: kc.kernel_chain(pool, T=0), "T must be"),
        (lambda: kc.kernel_chain(pool, T=50, n=-1), "n must be"),
        (lambda: kc.kernel_chain(pool, T=50, lam=-1.0), "lam"),
        (lambda: kc.kernel_chain(pool, T=50, sigma0=-1.0), "sigma0"),
        (lambda: kc.kernel_chain(pool, T=50, runs=1), "runs"),
        (lambda: kc.kernel_chain(np.eye(3), T=2), "KernelPool"),
        (lambda: kc.fitted_set(pool, T=50, T0=50, n=1, lam0=-1e-3), "lam0"),
        (lambda: kc.fitted_set(pool, T=50, T0=pool.N + 1, n=1), "T0"),
        (lambda: kc.fit_errors("not a set", 0.1), "FittedSet"),
        (lambda: kc.kernel_chain(pool, T=50, runs=2).errors("train"), "where"),
    ]
    for call, msg in cases:
        with pytest.raises(ValueError, match=msg):
            call()
    no_test = kr.make_pool(np.random.default_rng(0).standard_normal((30, 4)), np.ones(30))
    with pytest.raises(ValueError, match="held-out"):
        kc.kernel_chain(no_test, T=10, T0=10, n=1, runs=2, rng=0).test
    assert np.isnan(kc.fit_errors(kc.fitted_set(no_test, T=10, rng=0), 0.1).test)


# --------------------------------------------------------------------------------------------------------------------
# theory of a chain of ridge generators: limits, Gaussian Monte Carlo, real digits


def _aniso(d=200, T0=100):
    j = np.arange(1, d + 1.0)
    eigs = j**-1.3
    return Problem(eigs=eigs, w0=np.sqrt(j**-1.6 / eigs), sigma=0.5, sigma0=1.0, T0=T0)


def test_ridge_chain_reduces_to_r3_and_r4():
    p = _aniso(T0=400)
    lam = np.array([1e-4, 1e-2, 0.3])
    for n in (0, 1, 4):
        ours = kr.ridge_chain_test_error(p, T=150, lam=lam, n=n, lam0=0.0)
        r3 = theory.ridge_test_error(p.replace(T0=401), T=150, lam=lam, n=n)     # R3 has T0 - d - 1, ours T0 - d
        for a, b in zip(ours, r3):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    # min-norm generators, isotropic: R4 with d - T0 - 1 -> d - T0 (large d)
    d, T0 = 4000, 1600
    iso = Problem(eigs=np.ones(d), w0=np.ones(d) / np.sqrt(d), sigma=0.0, sigma0=0.3, T0=T0)
    for n in (1, 3):
        ours = kr.ridge_chain_test_error(iso, T=10**7, lam=1e-10, n=n, lam0=0.0).total
        assert ours == pytest.approx(theory.overparam_chain_error(d=d, T0=T0, w0_norm2=1.0, sigma0=0.3, n=n),
                                     rel=2e-3)
    # sigma0 = 0: R4's forgetting (1 - gamma^n) ||w0||^2 exactly
    ours = kr.ridge_chain_test_error(iso.replace(sigma0=0.0), T=10**9, lam=1e-12, n=2, lam0=0.0).total
    assert ours == pytest.approx(1 - 0.4**2, rel=1e-5)


def _ridge(X, y, lam):
    T, d = X.shape
    if T < d:
        return X.T @ np.linalg.solve(X @ X.T + T * lam * np.eye(T), y)
    return np.linalg.solve(X.T @ X + T * lam * np.eye(d), X.T @ y)


@pytest.mark.parametrize("T, T0, lam, lam0, n", [(100, 100, 1e-3, 1e-6, 3), (100, 150, 1e-2, 1e-2, 3),
                                                 (300, 120, 1e-4, 1e-3, 2), (80, 60, 0.1, 1e-5, 4)])
def test_ridge_chain_matches_gaussian_monte_carlo(T, T0, lam, lam0, n, mc_close):
    p = _aniso(T0=T0)
    g = np.random.default_rng(2024)
    sq = np.sqrt(p.eigs)
    errs = []
    for _ in range(300):
        w = p.w0
        for _ in range(n):
            X = g.standard_normal((T0, p.d)) * sq
            w = _ridge(X, X @ w + p.sigma0 * g.standard_normal(T0), lam0)
        X = g.standard_normal((T, p.d)) * sq
        w = _ridge(X, X @ w + p.sigma * g.standard_normal(T), lam)
        errs.append(np.sum(p.eigs * (w - p.w0) ** 2))
    errs = np.array(errs)
    pred = kr.ridge_chain_test_error(p, T=T, lam=lam, n=n, lam0=lam0).total
    mc_close(errs.mean(), errs.std(ddof=1) / np.sqrt(errs.size), pred, rel=0.03, what=f"T={T} T0={T0} n={n}")
    # power: forgetting the generators' ridge shrinkage (lam0 -> 0 when lam0 is large) is rejected
    if lam0 >= 1e-2:
        wrong = kr.ridge_chain_test_error(p, T=T, lam=lam, n=n, lam0=1e-6).total
        assert abs(errs.mean() - wrong) > 4 * errs.std(ddof=1) / np.sqrt(errs.size) + 0.03 * wrong


def test_ridge_chain_terms_and_bad_inputs():
    p = _aniso(T0=100)
    t = kr.ridge_chain_test_error(p, T=100, lam=np.array([1e-3, 1e-1]), n=2, lam0=1e-3)
    np.testing.assert_allclose(t.total, t.bias + t.variance + t.collapse, rtol=1e-12)
    clean = kr.ridge_chain_test_error(p, T=100, lam=np.array([1e-3, 1e-1]), n=0)
    ref = theory.ridge_test_error(p, T=100, lam=np.array([1e-3, 1e-1]), n=0)
    np.testing.assert_allclose(clean.total, ref.total, rtol=1e-12)
    np.testing.assert_allclose(t.bias, clean.bias, rtol=1e-12)
    assert np.all(t.collapse > 0) and clean.collapse[0] == 0.0
    assert isinstance(kr.ridge_chain_test_error(p, T=100, lam=1e-2, n=1, lam0=1e-3).total, float)
    for kwargs, msg in [(dict(T=0), "T"), (dict(T=50, lam=-1.0), "lam"), (dict(T=50, n=-2), "n"),
                        (dict(T=50, n=1, lam0=-1e-3), "lam0")]:
        with pytest.raises(ValueError, match=msg):
            kr.ridge_chain_test_error(p, **kwargs)
    with pytest.raises(ValueError, match="lam0 must be > 0"):
        kr.ridge_chain_test_error(p.replace(T0=p.d), T=50, n=1, lam0=0.0)
    with pytest.raises(ValueError, match="Problem"):
        kr.ridge_chain_test_error("p", T=50)


# The tolerance chapter 6 states for the theory from the empirical spectrum (RBF kernel, T <= N/4, lam at or above
# the theory's error-minimising penalty): measured pool error within 10 % of the prediction (plus 4 s.e.).
CHAPTER_REL_TOL = 0.10


@pytest.mark.parametrize("name", ["mnist", "digits8"])
def test_theory_from_spectrum_matches_pool_error_on_real_digits(name, mnist_pool, digits_pool, mc_close):
    pool = mnist_pool if name == "mnist" else digits_pool
    T, T0, lam0, s0, s = pool.N // 4, pool.N // 4, 1e-6, 1.0, 0.5
    lam = np.logspace(-6, 0, 13)
    p = kr.empirical_problem(pool, sigma=s, sigma0=s0, T0=T0)
    res = kc.kernel_chain(pool, T=T, T0=T0, n=3, lam=lam, lam0=lam0, sigma0=s0, sigma=s, runs=16, rng=6)
    for n in (0, 1, 3):
        pred = kr.ridge_chain_test_error(p, T=T, lam=lam, n=n, lam0=lam0).total
        keep = lam >= lam[np.argmin(pred)]
        mc_close(res.pool.mean[n][keep], res.pool.sem[n][keep], pred[keep], rel=CHAPTER_REL_TOL,
                 what=f"{name} n={n}")
