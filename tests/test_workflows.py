"""collapse_lib.workflows against the exact theory and against a naive implementation of the public protocol.

Statistical checks bound ``|mc - theory| <= 4 s.e.`` (exact results) plus a small stated relative tolerance where
the formula is asymptotic (R9's finite-T expansion, R11 for OLS). Configurations are not the ones theory.md was
written with, except where a test says so.
"""
import numpy as np
import pytest

from collapse_lib import theory
from collapse_lib.simulate import SimulationResult
from collapse_lib.workflows import (MODES, simulate_fresh_mix, simulate_gaussian_schedule, simulate_mixed_data,
                                    simulate_schedule, simulate_workflow)


# ---------------------------------------------------------------- the public protocol, written naively
def naive_workflow(d, T, sigma, n, mode, runs, seed, w0_norm=1.0):
    """Per-run pinv on the literal pool, consuming the random numbers in the engine's order (one chunk).

    The pool is built by concatenation as in the public Collapse-or-Thrive script; the subsample is the set of the
    ``T`` smallest keys. Returns the errors (runs, n) and the number of subsample fits with fewer than d distinct
    design rows.
    """
    gen = np.random.default_rng(seed)
    w0 = np.full(d, w0_norm / np.sqrt(d))
    X = gen.standard_normal((runs, T, d))
    draws = []
    for i in range(1, n + 1):
        Xi = gen.standard_normal((runs, T, d)) if (mode == "accumulate-fresh" and i > 1) else None
        E = gen.standard_normal((runs, T))
        keys = gen.random((runs, i * T)) if mode == "accumulate-subsample" else None
        draws.append((Xi, E, keys))
    errors = np.empty((runs, n))
    deficient = 0
    for r in range(runs):
        X_init = X[r]
        X_train, Y_train = X_init, X_init @ w0 + sigma * draws[0][1][r]
        for i in range(1, n + 1):
            if mode == "accumulate-subsample":
                idx = np.argsort(draws[i - 1][2][r])[:T]
                deficient += len(np.unique(idx % T)) < d
                w_hat = np.linalg.pinv(X_train[idx]) @ Y_train[idx]
            else:
                w_hat = np.linalg.pinv(X_train) @ Y_train
            errors[r, i - 1] = np.sum((w_hat - w0) ** 2)
            if i == n:
                break
            Xi, E, _ = draws[i]
            X_new = Xi[r] if mode == "accumulate-fresh" else X_init
            Y_new = X_new @ w_hat + sigma * E[r]
            if mode == "replace":
                X_train, Y_train = X_init, Y_new
            else:
                X_train, Y_train = np.concatenate((X_train, X_new)), np.concatenate((Y_train, Y_new))
    return errors, deficient


@pytest.mark.parametrize("mode", MODES)
def test_plain_engine_equals_the_naive_protocol(mode):
    res = simulate_workflow(d=4, T=9, sigma=0.7, n=6, mode=mode, runs=40, rng=17, method="plain", w0_norm=2.0)
    ref, _ = naive_workflow(4, 9, 0.7, 6, mode, 40, 17, w0_norm=2.0)
    assert res.errors.shape == (40, 6)
    np.testing.assert_allclose(res.errors, ref, rtol=1e-8, atol=1e-12)


def test_subsample_min_norm_path_equals_pinv():
    # T = d + 2 with many iterations: some subsamples hold fewer than d distinct rows (the pinv branch).
    res = simulate_workflow(d=5, T=7, sigma=1.0, n=8, mode="accumulate-subsample", runs=60, rng=4, w0_norm=1.5)
    ref, deficient = naive_workflow(5, 7, 1.0, 8, "accumulate-subsample", 60, 4, w0_norm=1.5)
    assert deficient > 5
    np.testing.assert_allclose(res.errors, ref, rtol=1e-7, atol=1e-10)


def test_subsample_is_uniform_without_replacement():
    # The number of real rows (copy 1) among T drawn from the pool of i T is hypergeometric: mean T/i,
    # variance T (1/i)(1 - 1/i)(iT - T)/(iT - 1).
    gen = np.random.default_rng(0)
    T, i, runs = 30, 4, 20000
    keys = gen.random((runs, i * T))
    chosen = np.argpartition(keys, T - 1, axis=1)[:, :T]
    real = np.sum(chosen < T, axis=1)
    assert np.all(np.sort(chosen, axis=1)[:, 1:] != np.sort(chosen, axis=1)[:, :-1])      # no repeats
    mean, var = T / i, T * (1 / i) * (1 - 1 / i) * (i * T - T) / (i * T - 1)
    assert abs(real.mean() - mean) < 4 * np.sqrt(var / runs)
    assert real.var() == pytest.approx(var, rel=0.05)


# ---------------------------------------------------------------- R8 and the fresh-design variant
@pytest.mark.parametrize("method, runs", [("auto", 4000), ("plain", 1500)])
def test_replace_and_accumulate_match_R8(method, runs, mc_close):
    d, T, sigma, n = 12, 40, 0.8, 10
    for mode, col in (("replace", 0), ("accumulate", 1)):
        res = simulate_workflow(d=d, T=T, sigma=sigma, n=n, mode=mode, runs=runs, rng=31, method=method)
        assert isinstance(res, SimulationResult) and res.mean.shape == (n,)
        expected = [theory.replace_accumulate_error(d=d, T=T, sigma=sigma, n=i)[col] for i in range(1, n + 1)]
        mc_close(res.mean, res.sem, expected, what=f"R8 {mode} ({method})")


def test_accumulate_is_bounded_by_pi2_over_6(mc_close):
    res = simulate_workflow(d=6, T=20, sigma=1.0, n=60, mode="accumulate", runs=3000, rng=5)
    one = 6 / 13
    mc_close(res.mean[-1], res.sem[-1], theory.replace_accumulate_error(6, 20, 1.0, 60)[1], what="accumulate n=60")
    # the bound itself: far below the replace error (60 one-fit errors), and the MC rejects the replace value
    assert theory.replace_accumulate_error(6, 20, 1.0, 60)[1] < np.pi**2 / 6 * one
    assert res.mean[-1] < 2 * one


@pytest.mark.parametrize("method, runs", [("auto", 3000), ("plain", 1500)])
def test_accumulate_fresh_matches_its_exact_formula(method, runs, mc_close):
    d, T, sigma, n = 8, 20, 1.1, 6
    res = simulate_workflow(d=d, T=T, sigma=sigma, n=n, mode="accumulate-fresh", runs=runs, rng=9, method=method)
    expected = [theory.accumulate_fresh_error(d=d, T=T, sigma=sigma, n=i) for i in range(1, n + 1)]
    mc_close(res.mean, res.sem, expected, what=f"accumulate-fresh ({method})")
    # power: the fixed-design value is rejected at iteration 6
    fixed = theory.replace_accumulate_error(d=d, T=T, sigma=sigma, n=n)[1]
    assert abs(res.mean[-1] - fixed) > 4 * res.sem[-1]


# ---------------------------------------------------------------- accumulate-subsample (R8a)
def test_subsample_between_accumulate_and_replace(mc_close, same_mean):
    d, T, n, runs = 10, 40, 12, 1500
    sub = simulate_workflow(d=d, T=T, n=n, mode="accumulate-subsample", runs=runs, rng=2)
    acc = simulate_workflow(d=d, T=T, n=n, mode="accumulate", runs=runs, rng=3)
    rep = simulate_workflow(d=d, T=T, n=n, mode="replace", runs=runs, rng=4)
    # iteration 1 fits all T real rows: one OLS fit
    mc_close(sub.mean[0], sub.sem[0], theory.ols_test_error(d=d, T=T), what="subsample iteration 1")
    se = lambda a, b: np.sqrt(a.sem**2 + b.sem**2)       # noqa: E731
    assert np.all((sub.mean - acc.mean)[2:] > 4 * se(sub, acc)[2:])
    assert np.all((rep.mean - sub.mean)[2:] > 4 * se(rep, sub)[2:])
    # still growing at iteration 12, but far slower than replace
    assert sub.mean[-1] > sub.mean[5] and sub.mean[-1] < 0.5 * rep.mean[-1]


def test_subsample_reference_values_of_the_public_script():
    # theory.md R8a: d = 10, T = 100, 1000 seeds of the public script: iterations 5, 10, 20 -> 2.54, 2.84, 3.05 one-fit
    # errors. Their standard errors are not recorded; we allow 4 of ours plus 4 of a run of the same size.
    res = simulate_workflow(d=10, T=100, n=20, mode="accumulate-subsample", runs=1000, rng=8)
    one = 10 / 89
    for it, ref in ((5, 2.54), (10, 2.84), (20, 3.05)):
        m, s = res.mean[it - 1] / one, res.sem[it - 1] / one
        assert abs(m - ref) <= 4 * np.sqrt(2) * s, (it, m, s, ref)


def test_bit_identical_per_seed_and_generator_consumption():
    kw = dict(d=5, T=12, sigma=0.9, n=5, runs=30)
    for mode in MODES:
        a = simulate_workflow(mode=mode, rng=123, **kw).errors
        b = simulate_workflow(mode=mode, rng=123, **kw).errors
        c = simulate_workflow(mode=mode, rng=124, **kw).errors
        assert np.array_equal(a, b) and not np.array_equal(a, c)
        gen = np.random.default_rng(123)
        assert np.array_equal(simulate_workflow(mode=mode, rng=gen, **kw).errors, a)
        assert not np.array_equal(simulate_workflow(mode=mode, rng=gen, **kw).errors, a)   # the stream moved on


def test_chunking_covers_all_runs(monkeypatch):
    import collapse_lib.workflows as wf
    monkeypatch.setattr(wf, "_CHUNK_FLOATS", 2000)           # force many chunks
    res = wf.simulate_workflow(d=6, T=20, n=4, mode="accumulate-subsample", runs=45, rng=1)
    assert res.errors.shape == (45, 4) and np.all(np.isfinite(res.errors)) and np.all(res.errors > 0)


def test_sigma_zero_never_moves():
    for mode in MODES:
        res = simulate_workflow(d=4, T=10, sigma=0.0, n=3, mode=mode, runs=5, rng=0)
        assert np.allclose(res.errors, 0.0, atol=1e-20)


# ---------------------------------------------------------------- R9: a fixed synthetic fraction
def test_mixed_data_exact_ends(mc_close):
    d, T, n0, sigma, sigma0 = 10, 50, 30, 0.6, 1.2
    gap = theory.ols_chain_error(d=d, T0=n0, sigma0=sigma0, n=1)
    real = simulate_mixed_data(d=d, T=T, p2=0.0, n0=n0, sigma=sigma, sigma0=sigma0, runs=4000, rng=1)
    mc_close(real.mean, real.sem, theory.ols_test_error(d=d, T=T, sigma=sigma), what="p2 = 0")
    synth = simulate_mixed_data(d=d, T=T, p2=1.0, n0=n0, sigma=sigma, sigma0=sigma0, runs=4000, rng=2)
    mc_close(synth.mean, synth.sem, gap + theory.ols_test_error(d=d, T=T, sigma=sigma), what="p2 = 1")


@pytest.mark.parametrize("p2", [0.1, 0.4])
def test_mixed_data_floor_and_expansion(p2, mc_close):
    d, n0 = 15, 40
    gap = theory.ols_chain_error(d=d, T0=n0, sigma0=1.0, n=1)
    floor = theory.mixing_floor(p2, gap)
    for T, rel in ((500, 0.01), (20000, 0.0)):
        res = simulate_mixed_data(d=d, T=T, p2=p2, n0=n0, runs=6000, rng=int(T * 10 * p2))
        mc_close(res.mean, res.sem, theory.mixed_data_error(d=d, T=T, p2=p2, gap2=gap), rel=rel,
                 what=f"R9 T={T}, p2={p2}")
    # at T = 20000, apart from the exact noise term sigma^2 d/(T - d - 1), the error sits on the floor (within 2%)
    excess = res.mean - theory.ols_test_error(d=d, T=20000)
    assert floor - 4 * res.sem < excess < 1.02 * floor + 4 * res.sem


# ---------------------------------------------------------------- R11: fresh real data
@pytest.mark.parametrize("w, k", [(0.618034, 1.0), (0.5, 1.0), (0.3, 1.0), (0.390388, 0.25), (0.8, 3.0), (1.0, 2.0)])
def test_fresh_mix_mean_matches_R11(w, k, mc_close):
    n, rounds = 60, 120
    res = simulate_fresh_mix(w=w, k=k, n=n, rounds=rounds, model="mean", d=2, sigma=1.5, runs=3000, rng=7)
    unit = 1.5**2 * 2 / n
    assert res.errors.shape == (3000, rounds + 1)
    for t in (0, 1, 5, rounds):
        mc_close(res.mean[t] / unit, res.sem[t] / unit, theory.fresh_mix_risk(w, k, t=t), what=f"R11 t={t}")


def test_fresh_mix_golden_weight_beats_pooling_and_real_only():
    kw = dict(k=1.0, n=50, rounds=80, model="mean", runs=6000)
    golden = simulate_fresh_mix(w=theory.golden_ratio_weight(1.0), rng=1, **kw)
    pooled = simulate_fresh_mix(w=0.5, rng=2, **kw)
    real = simulate_fresh_mix(w=1.0, rng=3, **kw)
    g, p, r = (x.mean[-1] for x in (golden, pooled, real))
    se = max(x.sem[-1] for x in (golden, pooled, real))
    assert g < p - 2 * se and p < r - 4 * se


@pytest.mark.parametrize("w, k", [(0.618034, 1.0), (0.35, 2.0), (0.9, 0.5)])
def test_fresh_mix_ols_matches_R11(w, k, mc_close):
    d, n = 4, 240
    res = simulate_fresh_mix(w=w, k=k, n=n, rounds=60, model="ols", d=d, runs=2500, rng=11)
    unit = d / (n - d - 1)
    # the finite-sample factor n/(n - d - 1) is approximate for the mixed design: 3% tolerance
    mc_close(res.mean[-1] / unit, res.sem[-1] / unit, theory.fresh_mix_risk(w, k), rel=0.03, what="R11 OLS")
    mc_close(res.mean[0] / unit, res.sem[0] / unit, 1.0, what="round 0 is one OLS fit")


# ---------------------------------------------------------------- R12: growing sample sizes
def test_schedule_chain_matches_R12(mc_close):
    d, sigma = 6, 0.9
    sizes = 10 * np.arange(1, 31)
    res = simulate_schedule(d=d, sizes=sizes, sigma=sigma, runs=4000, rng=3)
    assert res.errors.shape == (4000, 30)
    mc_close(res.mean, res.sem, theory.schedule_chain_error(d, sizes, sigma, cumulative=True), what="R12 OLS")


def test_gaussian_schedule_matches_R12(mc_close):
    sizes = 20 * np.arange(1, 101)
    mu, var = simulate_gaussian_schedule(sizes, s=1.0, runs=20000, rng=4)
    assert mu.shape == var.shape == (20000, 101)
    drift = (mu[:, 1:] - mu[:, :1]) ** 2
    mc_close(drift.mean(0)[[9, 49, 99]], drift.std(0, ddof=1)[[9, 49, 99]] / np.sqrt(20000),
             theory.gaussian_schedule_drift(1.0, sizes, cumulative=True)[[9, 49, 99]], what="R12 drift")
    logv = np.log(var[:, 1:])
    mc_close(logv.mean(0)[[0, 9, 99]], logv.std(0, ddof=1)[[0, 9, 99]] / np.sqrt(20000),
             theory.gaussian_schedule_log_variance(1.0, sizes, cumulative=True)[[0, 9, 99]], what="R12 log var")


def test_gaussian_schedule_constant_sizes_is_R10(mc_close):
    mu, var = simulate_gaussian_schedule([15] * 8, s=2.0, mu0=3.0, runs=20000, rng=6)
    assert np.all(mu[:, 0] == 3.0) and np.all(var[:, 0] == 4.0)
    mc_close(var[:, -1].mean(), var[:, -1].std(ddof=1) / np.sqrt(20000), 4.0, what="E var = s^2")


# ---------------------------------------------------------------- bad input
GOOD = {
    simulate_workflow: dict(d=3, T=8, sigma=1.0, n=2, mode="replace", runs=3, rng=0, method="auto", w0_norm=1.0),
    simulate_mixed_data: dict(d=3, T=10, p2=0.2, n0=8, sigma=1.0, sigma0=1.0, runs=3, rng=0),
    simulate_fresh_mix: dict(w=0.5, k=1.0, n=10, rounds=2, model="ols", d=2, sigma=1.0, runs=3, rng=0),
    simulate_schedule: dict(d=3, sizes=[6, 8], sigma=1.0, runs=3, rng=0),
    simulate_gaussian_schedule: dict(sizes=[3, 4], s=1.0, mu0=0.0, runs=3, rng=0),
}
NUM = ["abc", None, np.nan, np.inf, True]
INT = [2.5, "3", None, np.nan, True]
RNG = [-1, "seed", 1.5]
SIZES = [None, "abc", [], [[6, 8]], [6, 2.5], [True, True]]
BAD = {
    simulate_workflow: {"d": INT + [0], "T": INT + [0, 4], "sigma": NUM + [-0.1, 1e200], "n": INT + [0],
                        "mode": ["Replace", "accumulate_subsample", None, 1], "runs": INT + [1], "rng": RNG,
                        "method": ["bartlett", None], "w0_norm": NUM + [-1.0, 1e200]},
    simulate_mixed_data: {"d": INT + [0], "T": INT + [4], "p2": NUM + [-0.1, 1.1, 0.25], "n0": INT + [4],
                          "sigma": NUM + [-1.0, 1e60], "sigma0": NUM + [-1.0, 1e60], "runs": INT + [1], "rng": RNG},
    simulate_fresh_mix: {"w": NUM + [0.0, -0.2, 1.2], "k": NUM + [0.0, -1.0, 3.0, 20.0], "n": INT + [0, 3],
                         "rounds": INT + [-1], "model": ["gaussian", None], "d": INT + [0], "sigma": NUM + [-1.0, 1e60],
                         "runs": INT + [1], "rng": RNG},
    simulate_schedule: {"d": INT + [0], "sizes": SIZES + [[6, 4]], "sigma": NUM + [-1.0, 1e60], "runs": INT + [1],
                        "rng": RNG},
    simulate_gaussian_schedule: {"sizes": SIZES + [[1, 4]], "s": NUM + [-1.0, 1e60], "mu0": NUM + [1e300, -1e300], "runs": INT + [0],
                                 "rng": RNG},
}


def test_every_workflow_parameter_is_covered():
    import inspect
    for func, bad in BAD.items():
        assert set(inspect.signature(func).parameters) == set(bad) == set(GOOD[func]), func.__name__
        func(**GOOD[func])


@pytest.mark.parametrize("func, param, value", [pytest.param(f, p, v, id=f"{f.__name__}-{p}-{k}")
                                                for f, bad in BAD.items() for p, vals in bad.items()
                                                for k, v in enumerate(vals)])
def test_workflow_invalid_input_names_the_parameter(func, param, value):
    import re
    kwargs = dict(GOOD[func], **{param: value})
    with pytest.raises(ValueError, match=rf"(?<![\w.]){re.escape(param)}(?!\w)") as err:
        func(**kwargs)
    assert re.search(r"must|>=|<=|one of", str(err.value)), str(err.value)
