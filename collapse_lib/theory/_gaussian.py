"""The Gaussian refitting chain (R10): refit a Gaussian to samples of the previous fit."""
from __future__ import annotations

import numpy as np
from scipy.special import digamma

from .. import _validate as check


def _check_gaussian(s, M, n):
    return check.real("s", s), check.integer("M", M, minimum=2), check.integer("n", n)


def gaussian_chain_mean_drift(s: float = 1.0, M: int = 100, n: int = 1) -> float:
    """``E (mu_n - mu_0)^2 = s^2 n / M`` for the Gaussian refitting chain with ``M`` samples per step (R10)."""
    s, M, n = _check_gaussian(s, M, n)
    return s**2 * n / M


def gaussian_chain_variance_mean(s: float = 1.0, M: int = 100, n: int = 1) -> float:
    """``E sigma_n^2 = s^2`` for every ``n``: the unbiased variance estimate is a martingale (R10)."""
    s, M, n = _check_gaussian(s, M, n)
    return s**2


def gaussian_chain_log_variance_mean(s: float = 1.0, M: int = 100, n: int = 1) -> float:
    """``E log sigma_n^2 = log s^2 + n (psi((M-1)/2) + log(2/(M-1)))`` (exact), about ``log s^2 - n/(M-1)``.

    The drift is negative, so ``sigma_n^2 -> 0`` almost surely even though its mean stays at ``s^2`` (R10).
    Requires ``s > 0``.
    """
    s, M, n = _check_gaussian(s, M, n)
    if s == 0:
        raise ValueError("s must be > 0 for the log-variance, got 0")
    k = M - 1
    return 2 * np.log(s) + n * (digamma(k / 2) + np.log(2.0 / k))
