"""Closed forms of chapter 8 (collapse_lib/theory/_mixing.py): exact values, identities, limits, bad input.

Monte-Carlo checks of the same formulas live in tests/test_workflows.py. ``MIXING_CASES`` lists, in the format of
tests/test_validation.py, a valid call and invalid values for every parameter (tested here; test_validation.py can
``CASES.update(MIXING_CASES)``).
"""
import math
import re

import numpy as np
import pytest

from collapse_lib import theory

PHI = (1 + math.sqrt(5)) / 2
NOT_A_NUMBER = ["abc", None, np.nan, np.inf, True, [1.0, 2.0]]
NEG = [-1.0, -1e-9]
NOT_INT = [2.5, "3", None, np.nan, True]
BAD_SIZES = [None, "abc", [], [[30, 40]], [30, 2.5], [30, np.nan], [True, False], 40]


# ---------------------------------------------------------------- fresh-design accumulate (our derivation)
def test_accumulate_fresh_exact_values_and_bound():
    # d = 10, T = 30, n = 3: 10 (1/19 + 1/(2 * 49) + 1/(3 * 79)).
    assert theory.accumulate_fresh_error(d=10, T=30, sigma=1.0, n=3) == pytest.approx(10 * (1 / 19 + 1 / 98 + 1 / 237))
    assert theory.accumulate_fresh_error(d=10, T=30, sigma=2.0, n=1) == pytest.approx(40 / 19)   # one OLS fit
    assert theory.accumulate_fresh_error(d=10, T=30, n=0) == 0.0
    # Below the fixed-design accumulate error from iteration 2 on, and bounded.
    for n in (2, 5, 50):
        fixed = theory.replace_accumulate_error(d=10, T=30, n=n)[1]
        assert theory.accumulate_fresh_error(d=10, T=30, n=n) < fixed
    many = theory.accumulate_fresh_error(d=10, T=30, n=10**5)
    assert many < math.pi**2 / 6 * 10 / 19
    # Large T: the two workflows agree (d/(iT - d - 1) ~ d/(i (T - d - 1))).
    fresh = theory.accumulate_fresh_error(d=10, T=10**6, n=20)
    assert fresh == pytest.approx(theory.replace_accumulate_error(d=10, T=10**6, n=20)[1], rel=1e-4)


# ---------------------------------------------------------------- R9
def test_mixing_floor_values():
    assert theory.mixing_floor(p2=0.1, gap2=1.91) == pytest.approx(0.0191)     # theory.md check
    assert theory.mixing_floor(p2=0.5, gap2=1.91) == pytest.approx(0.4775)
    assert theory.mixing_floor(p2=0.0, gap2=5.0) == 0.0
    assert theory.mixing_floor(p2=1.0, gap2=5.0) == 5.0


def test_mixed_data_error_limits():
    gap = theory.ols_chain_error(d=20, T0=50, sigma0=1.0, n=1)
    # p2 = 0: plain OLS on real data (R1).
    assert theory.mixed_data_error(d=20, T=100, p2=0.0, gap2=gap, sigma=0.7) == pytest.approx(
        theory.ols_test_error(d=20, T=100, sigma=0.7))
    # p2 = 1: all rows from the generator: the generator's error is inherited in full (no fluctuation term).
    assert theory.mixed_data_error(d=20, T=100, p2=1.0, gap2=gap, sigma=0.0) == pytest.approx(gap)
    # T -> infinity: the floor, which does not depend on sigma.
    big = theory.mixed_data_error(d=20, T=10**10, p2=0.3, gap2=gap, sigma=3.0)
    assert big == pytest.approx(theory.mixing_floor(0.3, gap), rel=1e-6)
    # decreasing in T towards the floor
    errs = [theory.mixed_data_error(d=20, T=T, p2=0.3, gap2=gap) for T in (40, 100, 1000, 10**4)]
    assert np.all(np.diff(errs) < 0) and errs[-1] > theory.mixing_floor(0.3, gap)


# ---------------------------------------------------------------- R11
def test_golden_ratio_weight_values():
    assert theory.golden_ratio_weight(k=1.0) == pytest.approx(1 / PHI)
    assert theory.golden_ratio_weight(k=0.25) == pytest.approx(0.3904, abs=1e-4)      # theory.md check
    # w* solves w^2 + k w - k = 0, increases from 0 to 1 with k.
    ks = np.logspace(-4, 4, 30)
    ws = np.array([theory.golden_ratio_weight(k) for k in ks])
    assert np.allclose((ws**2 + ks * ws - ks) / ks, 0.0, atol=1e-13)
    assert np.all(np.diff(ws) > 0) and ws[0] > 0 and ws[-1] < 1


def test_fresh_mix_risk_theory_md_values():
    assert theory.fresh_mix_risk(w=0.618, k=1) == pytest.approx(0.6180, abs=1e-4)
    assert theory.fresh_mix_risk(w=0.5, k=1) == pytest.approx(2 / 3)                 # naive pooling
    assert theory.fresh_mix_risk(w=0.3, k=1) == pytest.approx(1.1373, abs=1e-4)
    assert theory.fresh_mix_risk(w=1.0, k=7.0) == 1.0                                  # real data only


@pytest.mark.parametrize("k", [0.05, 0.25, 1.0, 4.0, 30.0])
def test_golden_weight_minimises_the_risk(k):
    w_star = theory.golden_ratio_weight(k)
    grid = np.linspace(1e-3, 1.0, 20001)
    risk = theory.fresh_mix_risk(grid, k=k)
    assert risk.shape == grid.shape
    assert grid[np.argmin(risk)] == pytest.approx(w_star, abs=1e-3)
    # R(w*) = w*  (in units of V/n), below naive pooling and real-only.
    assert theory.fresh_mix_risk(w_star, k=k) == pytest.approx(w_star, rel=1e-12)
    assert w_star < theory.fresh_mix_risk(k / (1 + k), k=k) < 1.0 or k / (1 + k) == pytest.approx(w_star)


def test_fresh_mix_risk_finite_rounds():
    w, k = 0.4, 2.0
    stationary = theory.fresh_mix_risk(w, k)
    # the recursion R_t = (1 - w)^2 R_{t-1} + w^2 + k (1 - w)^2 from R_0 = r0
    r = 1.0
    for t in range(1, 30):
        r = (1 - w) ** 2 * r + w**2 + k * (1 - w) ** 2
        assert theory.fresh_mix_risk(w, k, t=t, r0=1.0) == pytest.approx(r, rel=1e-12)
    assert theory.fresh_mix_risk(w, k, t=0, r0=3.0) == pytest.approx(3.0)
    assert theory.fresh_mix_risk(w, k, t=500) == pytest.approx(stationary, rel=1e-12)
    assert theory.fresh_mix_risk(1.0, k, t=3, r0=9.0) == pytest.approx(1.0)     # w = 1 forgets r0 at once


# ---------------------------------------------------------------- R12
def test_schedule_chain_error_values():
    sizes = [30, 40, 50]
    expected = 10 * (1 / 19 + 1 / 29 + 1 / 39)
    assert theory.schedule_chain_error(d=10, sizes=sizes, sigma=1.0) == pytest.approx(expected)
    cum = theory.schedule_chain_error(d=10, sizes=sizes, sigma=2.0, cumulative=True)
    assert cum.shape == (3,) and cum[-1] == pytest.approx(4 * expected) and cum[0] == pytest.approx(40 / 19)
    # constant sizes: R2's collapse term n sigma0^2 d/(T0 - d - 1)
    assert theory.schedule_chain_error(d=10, sizes=[40] * 7, sigma=1.3) == pytest.approx(
        theory.ols_chain_error(d=10, T0=40, sigma0=1.3, n=7))


def test_schedule_bounded_iff_summable():
    d = 20
    lin = [theory.schedule_chain_error(d, 25 * np.arange(1, n + 1)) for n in (10**2, 10**3, 10**4)]
    quad = [theory.schedule_chain_error(d, 25 * np.arange(1, n + 1) ** 2) for n in (10**2, 10**3, 10**4)]
    # linear growth: each decade adds about d/25 * log(10)
    assert np.diff(lin) == pytest.approx([d / 25 * math.log(10)] * 2, rel=0.02)
    # quadratic growth: converges (the last decade adds less than 1e-3)
    assert quad[2] - quad[1] < 1e-3


def test_gaussian_schedule_values():
    sizes = 20 * np.arange(1, 201)
    assert theory.gaussian_schedule_drift(s=1.0, sizes=sizes) == pytest.approx(0.2939, abs=1e-4)     # theory.md
    assert math.exp(theory.gaussian_schedule_log_variance(s=1.0, sizes=sizes)) == pytest.approx(0.741, abs=1e-3)
    sizes15 = np.round(20 * np.arange(1, 201) ** 1.5).astype(int)
    assert theory.gaussian_schedule_drift(s=1.0, sizes=sizes15) == pytest.approx(0.124, abs=1e-3)
    # constant sizes recover R10
    assert theory.gaussian_schedule_drift(s=2.0, sizes=[50] * 10) == pytest.approx(
        theory.gaussian_chain_mean_drift(s=2.0, M=50, n=10))
    assert theory.gaussian_schedule_log_variance(s=1.5, sizes=[7] * 4) == pytest.approx(
        theory.gaussian_chain_log_variance_mean(s=1.5, M=7, n=4))
    cum = theory.gaussian_schedule_log_variance(s=1.0, sizes=[5, 9, 17], cumulative=True)
    assert cum.shape == (3,) and np.all(np.diff(cum) < 0)


# ---------------------------------------------------------------- bad input
MIXING_CASES = {
    theory.accumulate_fresh_error: (dict(d=10, T=30, sigma=1.0, n=3), {
        "d": NOT_INT + [0], "T": NOT_INT + [0, 11], "sigma": NOT_A_NUMBER + NEG, "n": NOT_INT + [-1]}),
    theory.mixing_floor: (dict(p2=0.2, gap2=1.0), {
        "p2": NOT_A_NUMBER + NEG + [1.01], "gap2": NOT_A_NUMBER + NEG}),
    theory.mixed_data_error: (dict(d=10, T=30, p2=0.2, gap2=1.0, sigma=1.0), {
        "d": NOT_INT + [0], "T": NOT_INT + [0, 11], "p2": NOT_A_NUMBER + NEG + [1.5], "gap2": NOT_A_NUMBER + NEG,
        "sigma": NOT_A_NUMBER + NEG}),
    theory.golden_ratio_weight: (dict(k=1.0), {"k": NOT_A_NUMBER + NEG + [0.0]}),
    theory.fresh_mix_risk: (dict(w=0.5, k=1.0, t=3, r0=1.0), {
        "w": ["abc", None, np.nan, np.inf, 0.0, -0.1, 1.2, [0.5, 1.5], [[0.5]]], "k": NOT_A_NUMBER + NEG + [0.0],
        "t": [2.5, "3", np.nan, True, -1], "r0": NOT_A_NUMBER + NEG}),
    theory.schedule_chain_error: (dict(d=10, sizes=[20, 30], sigma=1.0, cumulative=False), {
        "d": NOT_INT + [0], "sizes": BAD_SIZES + [[12, 11]], "sigma": NOT_A_NUMBER + NEG,
        "cumulative": ["yes", None, 1]}),
    theory.gaussian_schedule_drift: (dict(s=1.0, sizes=[5, 6], cumulative=False), {
        "s": NOT_A_NUMBER + NEG, "sizes": BAD_SIZES + [[1, 5]], "cumulative": ["yes", None, 1]}),
    theory.gaussian_schedule_log_variance: (dict(s=1.0, sizes=[5, 6], cumulative=False), {
        "s": NOT_A_NUMBER + NEG + [0.0], "sizes": BAD_SIZES + [[1, 5]], "cumulative": ["yes", None, 1]}),
}


def bad_cases():
    for func, (good, bad) in MIXING_CASES.items():
        for param, values in bad.items():
            for k, value in enumerate(values):
                yield pytest.param(func, param, value, id=f"{func.__name__}-{param}-{k}")


def test_mixing_valid_calls_succeed():
    for func, (good, _) in MIXING_CASES.items():
        func(**good)


def test_every_mixing_parameter_is_covered():
    import inspect
    for func, (_, bad) in MIXING_CASES.items():
        assert set(inspect.signature(func).parameters) == set(bad), func.__name__


@pytest.mark.parametrize("func, param, value", list(bad_cases()))
def test_mixing_invalid_input_names_the_parameter(func, param, value):
    kwargs = dict(MIXING_CASES[func][0])
    kwargs[param] = value
    with pytest.raises(ValueError, match=rf"(?<![\w.]){re.escape(param)}(?!\w)") as err:
        func(**kwargs)
    assert re.search(r"must|>=|<=|one of", str(err.value)), str(err.value)
