"""The reference every speed ratio is measured against: the chain as most public code writes it."""
from __future__ import annotations

import numpy as np


def naive_chain(p, T: int, n: int, runs: int, rng, lam: float = 0.0) -> np.ndarray:
    """Materialise every design; ``lstsq`` per run and generation; downstream ``lstsq`` (``lam = 0``, OLS or
    min-norm) or the ridge normal equations. Returns the test error of each run, shape (runs,)."""
    gen = np.random.default_rng(rng)
    root = np.sqrt(p.eigs)
    errors = np.empty(runs)
    for r in range(runs):
        w = p.w0.copy()
        for _ in range(n):
            X = gen.standard_normal((p.T0, p.d)) * root
            y = X @ w + p.sigma0 * gen.standard_normal(p.T0)
            w = np.linalg.lstsq(X, y, rcond=None)[0]
        X = gen.standard_normal((T, p.d)) * root
        y = X @ w + p.sigma * gen.standard_normal(T)
        if lam == 0:
            w_pred = np.linalg.lstsq(X, y, rcond=None)[0]
        else:
            w_pred = np.linalg.solve(X.T @ X / T + lam * np.eye(p.d), X.T @ y / T)
        errors[r] = np.sum(p.eigs * (w_pred - p.w0) ** 2)
    return errors
