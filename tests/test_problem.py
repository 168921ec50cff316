"""Problem, isotropic and power_law: validated, immutable, and built as theory.md says."""
import dataclasses

import numpy as np
import pytest

from collapse_lib import Problem, isotropic, power_law


def test_problem_fields_and_properties():
    p = Problem(eigs=[2.0, 0.5], w0=[1.0, -2.0], sigma=0.5, sigma0=1.5, T0=10)
    assert p.d == 2
    assert p.signal == pytest.approx(2.0 * 1.0 + 0.5 * 4.0)
    assert not p.is_isotropic
    assert isinstance(p.T0, int) and isinstance(p.sigma, float)
    assert p.eigs.dtype == float and p.w0.dtype == float
    assert "d=2" in repr(p) and "T0=10" in repr(p)


def test_problem_is_immutable_and_copies_its_arrays():
    eigs = np.array([1.0, 2.0, 3.0])
    p = Problem(eigs=eigs, w0=np.zeros(3), T0=5)
    eigs[0] = 100.0                                  # the caller's array is not shared
    assert p.eigs[0] == 1.0
    with pytest.raises(ValueError):
        p.eigs[0] = 5.0                              # read-only view
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.sigma = 2.0


def test_replace_returns_validated_copy():
    p = isotropic(d=10, T0=30, rng=1)
    q = p.replace(sigma0=0.25, T0=50)
    assert (q.sigma0, q.T0, p.sigma0, p.T0) == (0.25, 50, 1.0, 30)
    np.testing.assert_array_equal(q.w0, p.w0)
    with pytest.raises(ValueError, match="sigma0"):
        p.replace(sigma0=-1.0)
    with pytest.raises(ValueError, match="T0"):
        p.replace(T0=0)
    with pytest.raises(ValueError, match="w0"):
        p.replace(w0=np.ones(11))


def test_replace_unknown_field_is_a_value_error():
    p = isotropic(d=4, T0=10)
    with pytest.raises(ValueError, match="T00"):
        p.replace(T00=5)


def test_isotropic_norm_direction_and_determinism():
    p = isotropic(d=50, sigma=0.3, sigma0=0.7, T0=80, w0_norm=2.5, rng=7)
    assert p.is_isotropic and p.d == 50
    assert np.linalg.norm(p.w0) == pytest.approx(2.5)
    assert p.signal == pytest.approx(2.5**2)
    assert (p.sigma, p.sigma0, p.T0) == (0.3, 0.7, 80)
    np.testing.assert_array_equal(isotropic(d=50, w0_norm=2.5, rng=7).w0, p.w0)
    assert not np.allclose(isotropic(d=50, w0_norm=2.5, rng=8).w0, p.w0)
    np.testing.assert_array_equal(isotropic(d=50, w0_norm=2.5, rng=np.random.default_rng(7)).w0, p.w0)
    assert np.all(isotropic(d=5, w0_norm=0.0).w0 == 0.0)


@pytest.mark.parametrize("beta, r", [(2.0, 0.375), (1.5, 1.0), (3.0, 0.2)])
def test_power_law_capacity_and_source(beta, r):
    d = 400
    p = power_law(d=d, beta=beta, r=r, sigma=0.1, sigma0=0.2, T0=900)
    j = np.arange(1, d + 1)
    np.testing.assert_allclose(p.eigs, j ** -beta, rtol=1e-14)
    np.testing.assert_allclose(p.eigs * p.w0**2, j ** (-1.0 - 2 * beta * r), rtol=1e-12)
    assert np.all(p.w0 > 0) and np.all(np.diff(p.eigs) < 0)
    assert (p.sigma, p.sigma0, p.T0) == (0.1, 0.2, 900)
    # ||w0||_Sigma^2 = sum_j j^(-1-2 beta r), increasing in d toward zeta(1 + 2 beta r).
    assert p.signal < power_law(d=2 * d, beta=beta, r=r).signal


def test_power_law_default_is_the_chapter_5_problem():
    p = power_law()
    assert p.d == 1000 and p.T0 == 2000
    assert p.eigs[1] == pytest.approx(0.25) and p.eigs[1] * p.w0[1] ** 2 == pytest.approx(2.0**-2.5)


@pytest.mark.parametrize("kw, name", [
    (dict(eigs=[1.0, 0.0], w0=[1.0, 1.0]), "eigs"),
    (dict(eigs=[1.0, -1.0], w0=[1.0, 1.0]), "eigs"),
    (dict(eigs=[], w0=[]), "eigs"),
    (dict(eigs=[[1.0]], w0=[1.0]), "eigs"),
    (dict(eigs=[1.0, np.inf], w0=[1.0, 1.0]), "eigs"),
    (dict(eigs="abc", w0=[1.0]), "eigs"),
    (dict(eigs=[1.0, 1.0], w0=[1.0]), "w0"),
    (dict(eigs=[1.0], w0=[np.nan]), "w0"),
    (dict(eigs=[1.0], w0=[1.0], sigma=-0.1), "sigma"),
    (dict(eigs=[1.0], w0=[1.0], sigma=np.nan), "sigma"),
    (dict(eigs=[1.0], w0=[1.0], sigma="1"), "sigma"),
    (dict(eigs=[1.0], w0=[1.0], sigma0=-1.0), "sigma0"),
    (dict(eigs=[1.0], w0=[1.0], T0=0), "T0"),
    (dict(eigs=[1.0], w0=[1.0], T0=2.5), "T0"),
    (dict(eigs=[1.0], w0=[1.0], T0=True), "T0"),
])
def test_problem_rejects_bad_input(kw, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        Problem(**kw)


def test_integral_floats_are_accepted_as_integers():
    assert Problem(eigs=[1.0], w0=[0.0], T0=10.0).T0 == 10
    assert isotropic(d=np.int64(5), T0=np.float64(12.0)).d == 5
