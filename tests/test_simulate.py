"""simulate / simulate_generations / simulate_gaussian_chain against the exact theory (seeded statistical tests).

Exact results (R2, R4's chain error, R1 + R4 composed, R10) are checked with ``|mc - theory| <= 4 s.e.`` only; the
ridge forms (R3, R4 with ridge downstream) are deterministic equivalents, so a small relative tolerance is added.
Configurations differ from the ones used to write theory.md wherever possible (nobody tuned them).
"""
import importlib

import numpy as np
import pytest

from collapse_lib import Problem, SimulationResult, isotropic, power_law, simulate, simulate_gaussian_chain, \
    simulate_generations, theory

sim_module = importlib.import_module("collapse_lib.simulate")   # the module (the package attribute is the function)


def aniso(d=20, T0=60, sigma=0.7, sigma0=1.3, seed=0):
    """Eigenvalues 1/j and a random teacher: the R2 check configuration of theory.md."""
    w0 = np.random.default_rng(seed).standard_normal(d)
    return Problem(eigs=1.0 / np.arange(1, d + 1), w0=w0, sigma=sigma, sigma0=sigma0, T0=T0)


# ---------------------------------------------------------------- R2: OLS generators, OLS downstream (exact)
def test_R2_anisotropic_every_generation(mc_close):
    p = aniso()
    res = simulate_generations(p, T=50, n=6, runs=3000, rng=11)
    assert res.errors.shape == (3000, 7) and res.mean.shape == (7,)
    expected = [theory.ols_test_error(d=20, T=50, T0=60, sigma=0.7, sigma0=1.3, n=n) for n in range(7)]
    mc_close(res.mean, res.sem, expected, what="R2 anisotropic")
    assert np.all(np.diff(res.mean) > 0)              # monotone in n


@pytest.mark.parametrize("method", ["auto", "bartlett", "plain"])
def test_R2_isotropic_untuned_config(method, mc_close):
    p = isotropic(d=30, sigma=0.5, sigma0=0.8, T0=47, w0_norm=2.0, rng=5)
    res = simulate(p, T=90, n=4, runs=1500, rng=23, method=method)
    expected = theory.ols_test_error(d=30, T=90, T0=47, sigma=0.5, sigma0=0.8, n=4)
    mc_close(res.mean, res.sem, expected, what=f"R2 isotropic ({method})")
    # Power: the same data reject the proportional-limit variant with T - d (and T0 - d) denominators.
    variant = 0.25 * 30 / (90 - 30) + 4 * 0.64 * 30 / (47 - 30)
    assert abs(res.mean - variant) > 4 * res.sem


def test_R2_power_law_noiseless_downstream(mc_close):
    # sigma = 0: all the error is collapse, n sigma0^2 d/(T0 - d - 1), whatever the spectrum.
    p = power_law(d=40, beta=2.0, r=0.5, sigma=0.0, sigma0=1.0, T0=70)
    res = simulate(p, T=400, n=3, runs=1500, rng=4)
    mc_close(res.mean, res.sem, theory.ols_test_error(d=40, T=400, T0=70, sigma=0.0, sigma0=1.0, n=3),
             what="R2 sigma=0")


def test_generator_error_T_none_is_R2_collapse_term(mc_close):
    p = aniso(d=15, T0=40, sigma0=0.9)
    res = simulate_generations(p, T=None, n=4, runs=2000, rng=8)
    assert np.all(res.errors[:, 0] == 0.0)           # w_hat_0 = w0
    expected = [n * 0.81 * 15 / 24 for n in range(1, 5)]
    mc_close(res.mean[1:], res.sem[1:], expected, what="generator error")


# ---------------------------------------------------------------- ridge downstream of OLS generators (R3)
def test_ridge_downstream_isotropic_R3(mc_close):
    p = isotropic(d=100, sigma=0.6, sigma0=1.0, T0=260, w0_norm=1.0, rng=2)
    lam = np.array([0.05, 0.3, 1.5])
    res = simulate(p, T=180, lam=lam, n=3, runs=400, rng=6)
    assert res.errors.shape == (400, 3)
    th = theory.ridge_test_error_isotropic(100, 180, 260, lam, 3, 0.6, 1.0, 1.0).total
    mc_close(res.mean, res.sem, th, rel=0.03, what="R3 isotropic lam grid")


def test_min_norm_downstream_T_below_d_R3(mc_close):
    p = power_law(d=120, beta=1.5, r=0.5, sigma=0.3, sigma0=0.6, T0=200)
    res = simulate(p, T=70, lam=0.0, n=2, runs=400, rng=12)
    th = theory.ridge_test_error(p, T=70, lam=0.0, n=2).total
    mc_close(res.mean, res.sem, th, rel=0.03, what="R3 min-norm downstream")


# ---------------------------------------------------------------- R4: over-parameterised generators (T0 < d)
def test_R4_chain_forgets_without_noise(mc_close):
    p = isotropic(d=100, sigma=0.0, sigma0=0.0, T0=40, w0_norm=1.0, rng=1)
    res = simulate_generations(p, T=None, n=5, runs=600, rng=3)
    expected = [theory.overparam_chain_error(d=100, T0=40, w0_norm2=1.0, sigma0=0.0, n=n) for n in range(1, 6)]
    mc_close(res.mean[1:], res.sem[1:], expected, what="R4 sigma0=0")
    assert np.all(np.diff(res.mean) > 0)


def test_R4_chain_with_noise_untuned(mc_close):
    p = isotropic(d=80, sigma=0.0, sigma0=0.5, T0=50, w0_norm=1.3, rng=9)
    res = simulate(p, T=None, n=3, runs=800, rng=14)
    th = theory.overparam_chain_error(d=80, T0=50, w0_norm2=1.3**2, sigma0=0.5, n=3)
    mc_close(res.mean, res.sem, th, what="R4 sigma0=0.5")


def test_R4_then_ols_downstream_is_exact(mc_close):
    # OLS downstream adds sigma^2 d/(T - d - 1) to the generator's error, independently: R1 + R4.
    p = isotropic(d=60, sigma=0.4, sigma0=0.3, T0=25, w0_norm=1.0, rng=4)
    res = simulate(p, T=100, lam=0.0, n=2, runs=800, rng=21)
    th = theory.ols_test_error(d=60, T=100, sigma=0.4) + theory.overparam_chain_error(60, 25, 1.0, 0.3, 2)
    mc_close(res.mean, res.sem, th, what="R1 + R4")


def test_R4_ridge_downstream_theory_md_config(mc_close):
    # theory.md R4 check configuration, every generation of one set of chains.
    p = isotropic(d=120, sigma=0.3, sigma0=0.2, T0=60, w0_norm=1.0, rng=0)
    res = simulate_generations(p, T=240, lam=0.1, n=6, runs=300, rng=5)
    th = [theory.overparam_ridge_test_error(120, 60, 240, 0.1, n, 0.3, 0.2, 1.0) for n in (1, 3, 6)]
    mc_close(res.mean[[1, 3, 6]], res.sem[[1, 3, 6]], th, rel=0.02, what="R4 ridge downstream")


def test_R4_ridge_downstream_T_below_d(mc_close):
    p = isotropic(d=90, sigma=0.5, sigma0=0.4, T0=30, w0_norm=1.0, rng=6)
    res = simulate(p, T=60, lam=0.2, n=2, runs=500, rng=2)
    th = theory.overparam_ridge_test_error(90, 30, 60, 0.2, 2, 0.5, 0.4, 1.0)
    mc_close(res.mean, res.sem, th, rel=0.03, what="R4 ridge, T < d")


# ---------------------------------------------------------------- determinism, shapes, consistency
@pytest.mark.parametrize("method", ["auto", "plain"])
def test_same_rng_gives_identical_errors(method):
    p = aniso(d=10, T0=25)
    a = simulate(p, T=15, lam=0.1, n=2, runs=50, rng=123, method=method)
    b = simulate(p, T=15, lam=0.1, n=2, runs=50, rng=123, method=method)
    c = simulate(p, T=15, lam=0.1, n=2, runs=50, rng=np.random.default_rng(123), method=method)
    d = simulate(p, T=15, lam=0.1, n=2, runs=50, rng=124, method=method)
    np.testing.assert_array_equal(a.errors, b.errors)
    np.testing.assert_array_equal(a.errors, c.errors)
    assert not np.any(a.errors == d.errors)
    g = simulate_generations(p, T=15, n=3, runs=40, rng=np.random.SeedSequence(9), method=method)
    h = simulate_generations(p, T=15, n=3, runs=40, rng=np.random.SeedSequence(9), method=method)
    np.testing.assert_array_equal(g.errors, h.errors)


def test_gaussian_chain_deterministic():
    a = simulate_gaussian_chain(mu0=1.0, s=2.0, M=10, n=5, runs=20, rng=3)
    b = simulate_gaussian_chain(mu0=1.0, s=2.0, M=10, n=5, runs=20, rng=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_lam_grid_equals_separate_fits_on_the_same_data():
    p = aniso(d=12, T0=30)
    lam = np.array([0.0, 0.01, 0.5, 4.0])
    for T in (8, 40):                                   # min-norm / kernel form, and the Bartlett path
        grid = simulate(p, T=T, lam=lam, n=2, runs=30, rng=77)
        for k, l in enumerate(lam):
            if l == 0 and T >= p.d:
                continue     # a lone OLS fit uses the O(d) sampler ols_noise (same law, other draws)
            one = simulate(p, T=T, lam=l, n=2, runs=30, rng=77)
            np.testing.assert_allclose(grid.errors[:, k], one.errors, rtol=1e-8)
    # A huge penalty gives the null predictor w = 0, whose error is ||w0||_Sigma^2 in every run.
    np.testing.assert_allclose(simulate(p, T=40, lam=1e8, n=2, runs=30, rng=77).errors, p.signal, rtol=1e-5)


def test_simulation_result_fields():
    p = aniso(d=8, T0=20)
    res = simulate(p, T=30, n=1, runs=64, rng=5)
    assert isinstance(res, SimulationResult) and res.runs == 64 and res.seed == 5
    assert isinstance(res.mean, float) and isinstance(res.sem, float)
    assert res.mean == pytest.approx(res.errors.mean())
    assert res.sem == pytest.approx(res.errors.std(ddof=1) / 8.0)
    assert np.all(res.errors > 0)
    with pytest.raises(ValueError):
        res.errors[0] = 1.0                             # read-only


def test_n_zero_is_the_clean_baseline(mc_close):
    p = aniso(d=10, T0=11, sigma=1.0)                   # T0 is irrelevant at n = 0 (even an invalid one for R2)
    res = simulate(p, T=40, n=0, runs=2000, rng=1)
    mc_close(res.mean, res.sem, theory.ols_test_error(d=10, T=40, sigma=1.0), what="R1")
    assert simulate(p, T=None, n=0, runs=5, rng=1).mean == 0.0


def test_chunking_does_not_change_the_law(monkeypatch, mc_close):
    monkeypatch.setattr(sim_module, "_CHUNK_FLOATS", 1000)   # forces many chunks of runs
    p = aniso(d=10, T0=30, sigma=0.5, sigma0=1.0)
    res = simulate_generations(p, T=25, n=2, runs=1500, rng=31)
    assert res.errors.shape == (1500, 3) and np.all(np.isfinite(res.errors))
    expected = [theory.ols_test_error(d=10, T=25, T0=30, sigma=0.5, sigma0=1.0, n=n) for n in range(3)]
    mc_close(res.mean, res.sem, expected, what="chunked")


def test_progress_bar_does_not_change_results(capsys):
    p = aniso(d=8, T0=20)
    quiet = simulate(p, T=30, n=3, runs=20, rng=2)
    loud = simulate(p, T=30, n=3, runs=20, rng=2, progress=True)
    np.testing.assert_array_equal(quiet.errors, loud.errors)
    assert "simulate" in capsys.readouterr().err        # tqdm wrote its bar to stderr


def test_simulate_generations_column_n_has_the_law_of_simulate(same_mean):
    p = aniso(d=10, T0=20, sigma=0.5, sigma0=1.0)
    gens = simulate_generations(p, T=30, lam=0.2, n=3, runs=1500, rng=1)
    last = simulate(p, T=30, lam=0.2, n=3, runs=1500, rng=2)
    same_mean(gens.errors[:, 3], last.errors, what="generations vs simulate")


# ---------------------------------------------------------------- R10: the Gaussian-fitting chain
def test_gaussian_chain_R10(mc_close):
    s, M, n, runs = 1.5, 20, 30, 3000
    mu, var = simulate_gaussian_chain(mu0=2.0, s=s, M=M, n=n, runs=runs, rng=17)
    assert mu.shape == var.shape == (runs, n + 1)
    assert np.all(mu[:, 0] == 2.0) and np.all(var[:, 0] == s**2)
    for m in (1, 5, 30):
        drift = (mu[:, m] - 2.0) ** 2
        mc_close(drift.mean(), drift.std(ddof=1) / np.sqrt(runs), theory.gaussian_chain_mean_drift(s, M, m),
                 what=f"mean drift n={m}")
        logv = np.log(var[:, m])
        mc_close(logv.mean(), logv.std(ddof=1) / np.sqrt(runs), theory.gaussian_chain_log_variance_mean(s, M, m),
                 what=f"log variance n={m}")
    v5 = var[:, 5]
    mc_close(v5.mean(), v5.std(ddof=1) / np.sqrt(runs), theory.gaussian_chain_variance_mean(s, M, 5), what="E var")
    # The median variance shrinks although the mean does not: the tails vanish.
    assert np.median(var[:, -1]) < 0.5 * s**2


def test_gaussian_chain_zero_spread_is_frozen():
    mu, var = simulate_gaussian_chain(mu0=-1.0, s=0.0, M=5, n=4, runs=3, rng=0)
    assert np.all(mu == -1.0) and np.all(var == 0.0)


@pytest.mark.parametrize("module", ["collapse_lib.simulate", "collapse_lib.problem", "collapse_lib.sampling"])
def test_docstring_examples(module):
    import doctest

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_batched_back_substitution_matches_scipy():
    from scipy.linalg import solve_triangular

    from collapse_lib.sampling import bartlett_factor

    R = bartlett_factor(0, d=30, T=31, size=7)
    g = np.random.default_rng(1).standard_normal((7, 30))
    expected = np.stack([solve_triangular(R[k], g[k]) for k in range(7)])
    np.testing.assert_allclose(sim_module._solve_upper(R, g), expected, rtol=1e-10, atol=1e-12)


def test_blas_thread_limit_is_restored():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    p = aniso(d=10, T0=30)

    def blas_threads():
        return sorted(i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")

    with threadpoolctl.threadpool_limits(2):
        before = blas_threads()
        simulate(p, T=40, lam=[0.1, 1.0], n=2, runs=10, rng=0)
        assert blas_threads() == before


def test_rng_none_draws_fresh_entropy_and_a_generator_is_consumed():
    p = aniso(d=6, T0=15)
    a, b = simulate(p, T=20, n=1, runs=5), simulate(p, T=20, n=1, runs=5)
    assert a.seed is None and not np.any(a.errors == b.errors)
    g = np.random.default_rng(0)
    first, second = simulate(p, T=20, n=1, runs=5, rng=g), simulate(p, T=20, n=1, runs=5, rng=g)
    assert not np.any(first.errors == second.errors)     # the stream advances, as numpy's SPEC 7 expects
