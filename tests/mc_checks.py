"""Monte-Carlo checks shared by the library tests (a module of its own: ``conftest`` is ambiguous, tests/browser has
one too). ``|mc - theory| <= z * se + rel * |theory|`` with ``z = 4`` standard errors."""
from __future__ import annotations

import numpy as np

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
