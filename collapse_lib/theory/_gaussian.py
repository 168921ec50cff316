"""The Gaussian refitting chain (R10): refit a Gaussian to samples of the previous fit."""
from __future__ import annotations

import numpy as np
from scipy.special import digamma

from .. import _validate as check


def _check_gaussian(s, M, n):
    return check.scale("s", s), check.integer("M", M, minimum=2), check.integer("n", n)


def gaussian_chain_mean_drift(s: float = 1.0, M: int = 100, n: int = 1) -> float:
    """``E (mu_n - mu_0)^2 = s^2 n / M`` for the Gaussian refitting chain with ``M`` samples per step (R10).

    Ranges: ``s`` (the initial standard deviation) in ``[0, 1e50]``, ``M`` in ``[2, 2**53]``, ``n`` in ``[0, 2**53]``.
    """
    s, M, n = _check_gaussian(s, M, n)
    return s**2 * n / M


def gaussian_chain_variance_mean(s: float = 1.0, M: int = 100, n: int = 1) -> float:
    """``E sigma_n^2 = s^2`` for every ``n``: the unbiased variance estimate is a martingale (R10).

    Ranges: ``s`` (the initial standard deviation) in ``[0, 1e50]``, ``M`` in ``[2, 2**53]``, ``n`` in ``[0, 2**53]``.
    """
    s, M, n = _check_gaussian(s, M, n)
    return s**2


def gaussian_chain_log_variance_mean(s: float = 1.0, M: int = 100, n: int = 1) -> float:
    """``E log sigma_n^2 = log s^2 + n (psi((M-1)/2) + log(2/(M-1)))`` (exact), about ``log s^2 - n/(M-1)``.

    The drift is negative, so ``sigma_n^2 -> 0`` almost surely even though its mean stays at ``s^2`` (R10).
    Ranges: ``s`` in ``(0, 1e50]``, ``M`` in ``[2, 2**53]``, ``n`` in ``[0, 2**53]``.
    """
    s, M, n = _check_gaussian(s, M, n)
    if s == 0:
        raise ValueError("s must be > 0 for the log-variance, got 0")
    return 2 * np.log(s) + n * _digamma_minus_log((M - 1) / 2)


# Bernoulli-number coefficients B_2k / (2k) of psi(x) - log(x) = -1/(2x) - sum_k B_2k / (2k x^2k), k = 1..7.
_PSI_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)


def _digamma_minus_log(x: float) -> float:
    """``psi(x) - log(x)`` without the cancellation of the two ``~log x`` terms for large ``x`` (it tends to
    ``-1/(2x)``): the asymptotic series for ``x >= 10`` (truncation below ``1e-15`` relative), direct below."""
    if x < 10:
        return float(digamma(x) - np.log(x))
    inv2 = 1.0 / (x * x)
    series = sum(c * inv2 ** (k + 1) for k, c in enumerate(_PSI_SERIES))
    return -0.5 / x - series
