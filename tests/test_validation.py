"""Bad input anywhere in the public API raises ValueError naming the parameter (theory.md section 3).

``CASES`` lists, for every public function, a valid call and, for EVERY parameter, values that must be refused.
``test_every_parameter_is_covered`` introspects the signatures, so a new function or parameter without cases fails
here until someone writes them.
"""
import inspect
import re

import numpy as np
import pytest

from collapse_lib import Problem, _validate, isotropic, power_law, sampling, simulate, simulate_gaussian_chain, \
    simulate_generations, theory
from collapse_lib import figures as cf

P = isotropic(d=20, sigma=0.5, sigma0=1.0, T0=40, rng=0)
NOT_A_NUMBER = ["abc", None, np.nan, np.inf, True, [1.0, 2.0]]
NEG = [-1.0, -1e-9]
NOT_INT = [2.5, "3", None, np.nan, True]


def frame_ok(n):
    return cf.frame([cf.line([0, 1], [0, n])], readout=f"slope {n}")


def ctl():
    return {"n": cf.slider("n", [0, 1, 2], value=1)}


# function -> (valid keyword arguments, {parameter: [invalid values]})
CASES = {
    Problem: (dict(eigs=np.ones(3), w0=np.zeros(3), sigma=1.0, sigma0=1.0, T0=10), {
        "eigs": [[1.0, 0.0, 1.0], [-1.0, 1.0, 1.0], [], [[1.0]], [1.0, np.nan, 1.0], "abc", None],
        "w0": [np.zeros(2), [np.inf, 0, 0], [[0.0, 0.0, 0.0]], "abc"],
        "sigma": NOT_A_NUMBER + NEG, "sigma0": NOT_A_NUMBER + NEG, "T0": NOT_INT + [0, -3]}),
    isotropic: (dict(d=5, sigma=1.0, sigma0=1.0, T0=10, w0_norm=1.0, rng=0), {
        "d": NOT_INT + [0], "sigma": NOT_A_NUMBER + NEG, "sigma0": NOT_A_NUMBER + NEG, "T0": NOT_INT + [0],
        "w0_norm": NOT_A_NUMBER + NEG, "rng": [-1, "seed", 1.5]}),
    power_law: (dict(d=10, beta=2.0, r=0.5, sigma=1.0, sigma0=1.0, T0=20), {
        "d": NOT_INT + [0], "beta": NOT_A_NUMBER + [1.0, 0.5], "r": NOT_A_NUMBER + [0.0, -0.5],
        "sigma": NOT_A_NUMBER + NEG, "sigma0": NOT_A_NUMBER + NEG, "T0": NOT_INT + [0]}),
    # ---------------------------------------------------------------- theory
    theory.ols_test_error: (dict(d=10, T=20, T0=30, sigma=1.0, sigma0=1.0, n=1), {
        "d": NOT_INT + [0], "T": NOT_INT + [0, 11, 5], "T0": NOT_INT + [0, 11, 5], "sigma": NOT_A_NUMBER + NEG,
        "sigma0": NOT_A_NUMBER + NEG, "n": NOT_INT + [-1]}),
    theory.ols_chain_error: (dict(d=10, T0=30, sigma0=1.0, n=1), {
        "d": NOT_INT + [0], "T0": NOT_INT + [0, 11], "sigma0": NOT_A_NUMBER + NEG, "n": NOT_INT + [-1]}),
    theory.effective_noise_variance: (dict(d=10, T0=30, sigma=1.0, sigma0=1.0, n=1), {
        "d": NOT_INT + [0], "T0": NOT_INT + [0, 11], "sigma": NOT_A_NUMBER + NEG, "sigma0": NOT_A_NUMBER + NEG,
        "n": NOT_INT + [-1]}),
    theory.df: (dict(eigs=[1.0, 2.0], t=0.5, m=1), {
        "eigs": [[0.0, 1.0], [], "abc", [[1.0]]], "t": ["abc", None, np.nan, -1.0, [0.1, -0.1], [[0.1]]],
        "m": NOT_INT + [0]}),
    theory.effective_regularization: (dict(eigs=np.ones(5), lam=0.1, T=10), {
        "eigs": [[0.0, 1.0], [], "abc"], "lam": ["abc", None, np.nan, -0.1, [0.1, -1.0], []], "T": NOT_INT + [0]}),
    theory.ridge_test_error: (dict(p=P, T=30, lam=0.1, n=1), {
        "p": [None, "problem", {"eigs": [1.0]}], "T": NOT_INT + [0], "lam": ["abc", None, np.nan, -0.1, [0.1, -1]],
        "n": NOT_INT + [-1]}),
    theory.ridge_test_error_isotropic: (dict(d=20, T=30, T0=40, lam=0.1, n=1, sigma=1.0, sigma0=1.0, w0_norm2=1.0), {
        "d": NOT_INT + [0], "T": NOT_INT + [0], "T0": NOT_INT + [0, 21], "lam": ["abc", None, np.nan, -0.1],
        "n": NOT_INT + [-1], "sigma": NOT_A_NUMBER + NEG, "sigma0": NOT_A_NUMBER + NEG,
        "w0_norm2": NOT_A_NUMBER + NEG}),
    theory.overparam_chain_error: (dict(d=20, T0=10, w0_norm2=1.0, sigma0=0.1, n=2), {
        "d": NOT_INT + [0, 2], "T0": NOT_INT + [0, 19, 20, 30], "w0_norm2": NOT_A_NUMBER + NEG,
        "sigma0": NOT_A_NUMBER + NEG, "n": NOT_INT + [-1]}),
    theory.overparam_ridge_test_error: (dict(d=20, T0=10, T=30, lam=0.1, n=2, sigma=1.0, sigma0=0.1, w0_norm2=1.0), {
        "d": NOT_INT + [0], "T0": NOT_INT + [0, 19], "T": NOT_INT + [0], "lam": ["abc", None, np.nan, -0.1],
        "n": NOT_INT + [-1], "sigma": NOT_A_NUMBER + NEG, "sigma0": NOT_A_NUMBER + NEG,
        "w0_norm2": NOT_A_NUMBER + NEG}),
    theory.replace_accumulate_error: (dict(d=10, T=30, sigma=1.0, n=3), {
        "d": NOT_INT + [0], "T": NOT_INT + [0, 11], "sigma": NOT_A_NUMBER + NEG, "n": NOT_INT + [-1]}),
    theory.gaussian_chain_mean_drift: (dict(s=1.0, M=10, n=2), {
        "s": NOT_A_NUMBER + NEG, "M": NOT_INT + [1, 0], "n": NOT_INT + [-1]}),
    theory.gaussian_chain_variance_mean: (dict(s=1.0, M=10, n=2), {
        "s": NOT_A_NUMBER + NEG, "M": NOT_INT + [1, 0], "n": NOT_INT + [-1]}),
    theory.gaussian_chain_log_variance_mean: (dict(s=1.0, M=10, n=2), {
        "s": NOT_A_NUMBER + NEG + [0.0], "M": NOT_INT + [1, 0], "n": NOT_INT + [-1]}),
    # ---------------------------------------------------------------- simulation
    simulate: (dict(p=P, T=30, lam=0.1, n=1, runs=3, rng=0, method="auto", progress=False), {
        "p": [None, "problem"], "T": NOT_INT + [0], "lam": ["abc", None, np.nan, -0.1, [0.1, -1.0], [[0.1]]],
        "n": NOT_INT + [-1], "runs": NOT_INT + [1, 0], "rng": [-1, "seed", 1.5], "method": ["fast", None, 1],
        "progress": ["yes", None, 1]}),
    simulate_generations: (dict(p=P, T=30, lam=0.1, n=1, runs=3, rng=0, method="auto", progress=False), {
        "p": [None, "problem"], "T": NOT_INT + [0], "lam": ["abc", None, np.nan, -0.1, [0.1, 0.2]],
        "n": NOT_INT + [-1], "runs": NOT_INT + [1, 0], "rng": [-1, "seed", 1.5], "method": ["fast", None, 1],
        "progress": ["yes", None, 1]}),
    simulate_gaussian_chain: (dict(mu0=0.0, s=1.0, M=10, n=3, runs=4, rng=0), {
        "mu0": ["abc", None, np.nan, np.inf, True], "s": NOT_A_NUMBER + NEG, "M": NOT_INT + [1],
        "n": NOT_INT + [-1], "runs": NOT_INT + [0], "rng": [-1, "seed", 1.5]}),
    sampling.bartlett_factor: (dict(rng=0, d=3, T=5, size=2), {
        "rng": [-1, "seed", 1.5], "d": NOT_INT + [0], "T": NOT_INT + [0, 2], "size": NOT_INT + [0]}),
    sampling.ols_noise: (dict(rng=0, d=3, T=5, noise_std=1.0, size=2), {
        "rng": [-1, "seed", 1.5], "d": NOT_INT + [0], "T": NOT_INT + [0, 2], "noise_std": NOT_A_NUMBER + NEG,
        "size": NOT_INT + [0]}),
    sampling.design: (dict(rng=0, eigs=[1.0, 2.0], T=5, size=2), {
        "rng": [-1, "seed", 1.5], "eigs": [[0.0, 1.0], [], "abc"], "T": NOT_INT + [0], "size": NOT_INT + [0]}),
    sampling.sufficient_stats: (dict(rng=0, eigs=[1.0, 2.0], T=5, noise_std=1.0, size=2, method="bartlett"), {
        "rng": [-1, "seed", 1.5], "eigs": [[0.0, 1.0], [], "abc"], "T": NOT_INT + [0, 1],
        "noise_std": NOT_A_NUMBER + NEG, "size": NOT_INT + [0], "method": ["fast", None, 2]}),
    # ---------------------------------------------------------------- scaling laws (chapter 5)
    theory.scaling_exponents: (dict(beta=2.0, r=0.375), {
        "beta": NOT_A_NUMBER + [1.0, 0.5, 1e308], "r": NOT_A_NUMBER + [0.0, -1.0]}),
    theory.error_exponent: (dict(beta=2.0, r=0.375, ell=0.8, noisy=True), {
        "beta": NOT_A_NUMBER + [1.0], "r": NOT_A_NUMBER + [0.0], "ell": ["abc", None, np.nan, np.inf, True, -0.1],
        "noisy": ["yes", None, 2]}),
    theory.fit_slope: (dict(T=[10, 20, 40, 80], E=[1.0, 0.5, 0.25, 0.125], window=(10, 80)), {
        "T": ["abc", [10, -20, 40, 80]], "E": [[1.0, 0.5], [1.0, -0.5, 0.25, 0.1], "abc"],
        "window": [(80, 10), (1000, 2000), "all", (10,)]}),
    theory.scaling_curve: (dict(p=power_law(d=50), T=[10, 20], ell=0.8, n=0), {
        "p": [None, "problem"], "T": [[0, 10], "abc", [10.5]], "ell": NOT_A_NUMBER + [-0.1],
        "n": NOT_INT + [-1]}),
    theory.slope_map: (dict(p=power_law(d=50), T=[5, 10, 20, 40], ells=[0.5, 0.8], ns=[0, 1], window=None), {
        "p": [None, "problem"], "T": [[0, 10], "abc"], "ells": [[-0.1], "abc", []], "ns": [[-1], [0.5], "abc"],
        "window": [(80, 10), "all"]}),
    # ---------------------------------------------------------------- escaping collapse (chapter 8)
    theory.accumulate_fresh_error: (dict(d=10, T=30, sigma=1.0, n=3), {
        "d": NOT_INT + [0], "T": NOT_INT + [0, 11], "sigma": NOT_A_NUMBER + NEG + [1e200], "n": NOT_INT + [-1]}),
    theory.mixing_floor: (dict(p2=0.5, gap2=1.0), {
        "p2": NOT_A_NUMBER + [-0.1, 1.5], "gap2": NOT_A_NUMBER + NEG + [1e200]}),
    theory.mixed_data_error: (dict(d=10, T=100, p2=0.5, gap2=1.0, sigma=1.0), {
        "d": NOT_INT + [0], "T": NOT_INT + [0, 11], "p2": NOT_A_NUMBER + [-0.1, 1.5],
        "gap2": NOT_A_NUMBER + NEG + [1e200], "sigma": NOT_A_NUMBER + NEG + [1e200]}),
    theory.golden_ratio_weight: (dict(k=1.0), {"k": NOT_A_NUMBER + [0.0, -1.0]}),
    theory.fresh_mix_risk: (dict(w=0.6, k=1.0, t=None, r0=1.0), {
        "w": ["abc", None, np.nan, 0.0, -0.1, 1.5], "k": NOT_A_NUMBER + [0.0, -1.0], "t": [-1, 2.5, "3"],
        "r0": NOT_A_NUMBER + NEG}),
    theory.schedule_chain_error: (dict(d=10, sizes=[20, 40, 80], sigma=1.0, cumulative=False), {
        "d": NOT_INT + [0], "sizes": [[], "abc", [20, 5], [20.5]], "sigma": NOT_A_NUMBER + NEG + [1e200],
        "cumulative": ["yes", None, 2]}),
    theory.gaussian_schedule_drift: (dict(s=1.0, sizes=[20, 40], cumulative=False), {
        "s": NOT_A_NUMBER + NEG + [1e200], "sizes": [[], "abc", [0, 5], [2.5]], "cumulative": ["yes", None, 2]}),
    theory.gaussian_schedule_log_variance: (dict(s=1.0, sizes=[20, 40], cumulative=False), {
        "s": NOT_A_NUMBER + NEG + [0.0, 1e200], "sizes": [[], "abc", [1, 5], [2.5]], "cumulative": ["yes", None, 2]}),
    # ---------------------------------------------------------------- interactive figures
    cf.slider: (dict(label="n", options=[0, 1, 2], value=1), {
        "label": [None, "", 3], "options": [[], "abc", 5, None, {}], "value": [3, "1", 1.5]}),
    cf.dropdown: (dict(label="spectrum", options=["a", "b"], value="b"), {
        "label": [None, "", 3], "options": [[], "abc", 5, None, {}], "value": ["c", 1, 0]}),
}
CHART_CASES = {  # built per call: they need fresh controls
    "frame": ["not callable", None, 3],
    "controls": [None, [], {}, {"n": "slider"}, {"n": 3}],
    "aria_label": ["", "   ", None, 3],
    "note": [None, 3, ["a note"]],
}
CASES[cf.InteractiveChart] = (None, CHART_CASES)


def widget_kwargs():
    return dict(frame=frame_ok, controls=ctl(), aria_label="A line of slope n.", note="")


def public_functions():
    """Every public function of the modules this suite owns, with its parameter names."""
    funcs = [Problem, isotropic, power_law, simulate, simulate_generations, simulate_gaussian_chain,
             cf.slider, cf.dropdown, cf.InteractiveChart]
    funcs += [getattr(theory, name) for name in theory.__all__ if inspect.isfunction(getattr(theory, name))]
    funcs += [getattr(sampling, name) for name in sampling.__all__]
    return funcs


def params_of(func):
    sig = inspect.signature(func)
    names = [n for n, prm in sig.parameters.items() if n != "self" and prm.kind not in (prm.VAR_KEYWORD, prm.VAR_POSITIONAL)]
    return names


def name_of(func):
    return getattr(func, "__qualname__", str(func))


def test_every_parameter_is_covered():
    missing = []
    for func in public_functions():
        cases = CASES.get(func)
        if cases is None:
            missing.append(f"{name_of(func)} (no cases)")
            continue
        missing += [f"{name_of(func)}({p})" for p in params_of(func) if p not in cases[1]]
    assert not missing, f"add invalid-input cases to tests/test_validation.py for: {missing}"


def all_cases():
    for func, (good, bad) in CASES.items():
        for param, values in bad.items():
            for k, value in enumerate(values):
                yield pytest.param(func, param, value, id=f"{name_of(func)}-{param}-{k}")


def test_valid_calls_succeed():
    for func, (good, _) in CASES.items():
        func(**(good if good is not None else widget_kwargs()))


@pytest.mark.parametrize("func, param, value", list(all_cases()))
def test_invalid_input_raises_value_error_naming_the_parameter(func, param, value):
    good = CASES[func][0]
    kwargs = dict(good if good is not None else widget_kwargs())
    kwargs[param] = value
    with pytest.raises(ValueError, match=rf"(?<![\w.]){re.escape(param)}(?!\w)") as err:
        func(**kwargs)
    message = str(err.value)
    # The message states what is allowed, not only what is wrong.
    assert re.search(r"must|>=|<=|one of", message), message


@pytest.mark.parametrize("method", [simulate, simulate_generations])
def test_simulate_lam_needs_downstream_T(method):
    with pytest.raises(ValueError, match="lam"):
        method(P, T=None, lam=0.1, n=1, runs=3)


def test_problem_replace_validates():
    with pytest.raises(ValueError, match="sigma0"):
        P.replace(sigma0=-1.0)
    with pytest.raises(ValueError, match="sigmaa"):
        P.replace(sigmaa=1.0)


# ---------------------------------------------------------------- the helpers themselves
def test_validate_integer():
    assert _validate.integer("k", 3) == 3 and _validate.integer("k", 3.0) == 3 and _validate.integer("k", np.int32(4)) == 4
    for bad in (True, np.True_, 2.5, np.inf, np.nan, "3", None):
        with pytest.raises(ValueError, match="k must be an integer"):
            _validate.integer("k", bad)
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 5\]"):
        _validate.integer("k", 6, minimum=1, maximum=5)


def test_validate_real_and_reals():
    assert _validate.real("x", 2) == 2.0 and isinstance(_validate.real("x", np.float32(1.5)), float)
    with pytest.raises(ValueError, match="x must be > 0"):
        _validate.real("x", 0.0, strict=True)
    with pytest.raises(ValueError, match="x must be <= 1"):
        _validate.real("x", 2.0, maximum=1.0)
    assert _validate.reals("x", [0.0, 1.0]).shape == (2,) and _validate.reals("x", 0.5).ndim == 0
    with pytest.raises(ValueError, match="x must be >= 0"):
        _validate.reals("x", [0.5, -1.0])


def test_validate_vector_and_rng():
    v = _validate.vector("v", [1, 2], d=2, positive=True)
    assert v.dtype == float and not v.flags.writeable
    with pytest.raises(ValueError, match="v must have length d = 3"):
        _validate.vector("v", [1, 2], d=3)
    g = np.random.default_rng(1)
    assert _validate.rng(g) is g
    assert isinstance(_validate.rng(None), np.random.Generator)
    with pytest.raises(ValueError, match="rng must be"):
        _validate.rng("abc")


def test_ols_test_error_checks_T0_even_when_unused():
    # T0 plays no role at n = 0, but a wrong T0 is still a caller's mistake worth reporting.
    with pytest.raises(ValueError, match="T0"):
        theory.ols_test_error(d=10, T=20, T0="abc", n=0)
