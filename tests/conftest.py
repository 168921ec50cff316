"""Shared helpers for the library tests.

Statistical tests compare a Monte-Carlo mean with a prediction through ``|mc - theory| <= z * se + rel * |theory|``:
``z = 4`` standard errors always, plus a small relative tolerance only where the formula is asymptotic (R3 and the
ridge form of R4). Every test uses a fixed seed, so it is reproducible; the bounds are what could make it fail.
"""
from __future__ import annotations

import numpy as np
import pytest

from threadpoolctl import threadpool_limits

# One BLAS thread per pytest-xdist worker: the suite runs with -n 2 on 2 cores, oversubscription only slows it.
threadpool_limits(1)

Z = 4.0


def assert_mc_close(mean, sem, theory, rel: float = 0.0, z: float = Z, what: str = ""):
    """Assert ``|mean - theory| <= z * sem + rel * |theory|`` elementwise, with an informative message."""
    mean, sem, theory = (np.asarray(a, dtype=float) for a in (mean, sem, theory))
    assert np.all(sem > 0), f"{what}: standard error must be positive, got {sem}"
    gap = np.abs(mean - theory)
    bound = z * sem + rel * np.abs(theory)
    assert np.all(gap <= bound), (f"{what}: Monte Carlo {mean} +- {sem} (s.e.) vs theory {theory}: "
                                  f"|gap| / se = {gap / sem} exceeds z = {z} (rel tol {rel})")


def assert_same_mean(a, b, z: float = Z, what: str = ""):
    """Two-sample check: ``|mean(a) - mean(b)| <= z * sqrt(se_a^2 + se_b^2)`` (independent samples)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    se = np.sqrt(a.var(axis=0, ddof=1) / a.shape[0] + b.var(axis=0, ddof=1) / b.shape[0])
    gap = np.abs(a.mean(axis=0) - b.mean(axis=0))
    assert np.all(gap <= z * se), f"{what}: means {a.mean(axis=0)} vs {b.mean(axis=0)}, |gap| / se = {gap / se} > {z}"


@pytest.fixture
def mc_close():
    return assert_mc_close


@pytest.fixture
def same_mean():
    return assert_same_mean
