"""Least-squares results: one generation (R1), n generations (R2), the generator's own error, and replace vs
accumulate on a fixed design (R8)."""
from __future__ import annotations

import math

from scipy.special import polygamma

from .. import _validate as check

# Up to this many terms sum_{i<=n} 1/i^2 is summed directly (compensated); beyond, pi^2/6 - psi'(n + 1).
_DIRECT_SUM_MAX = 1000


def _ols_term(name: str, d: int, T: int) -> float:
    """``d / (T - d - 1)``: the mean of ``tr(Sigma (X^T X)^{-1})`` for a Gaussian design (inverse Wishart)."""
    if T < d + 2:
        raise ValueError(f"{name} must be >= d + 2 = {d + 2} for OLS (the expected error is infinite at "
                         f"{name} = d + 1 and OLS is not unique below d), got {name} = {T}")
    return d / (T - d - 1)


def ols_test_error(d: int, T: int, T0: int | None = None, sigma: float = 1.0, sigma0: float = 1.0,
                   n: int = 0) -> float:
    """Exact test error of OLS trained on the labels of the ``n``-th OLS generation (R2; R1 when ``n = 0``).

    ``E_test = sigma^2 d/(T - d - 1) + n sigma0^2 d/(T0 - d - 1)``, for any covariance.

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.
    T : int
        Downstream sample size, in ``[d + 2, 2**53]``.
    T0 : int, optional
        Generator sample size, in ``[d + 2, 2**53]``; required when ``n > 0``.
    sigma, sigma0 : float
        Downstream and generator noise standard deviations, in ``[0, 1e50]``.
    n : int
        Number of synthetic generations, in ``[0, 2**53]``.

    Returns
    -------
    float
        The expected excess risk ``E ||w_pred - w0||_Sigma^2``.
    """
    d = check.integer("d", d, minimum=1)
    T = check.integer("T", T, minimum=1)
    sigma = check.scale("sigma", sigma)
    sigma0 = check.scale("sigma0", sigma0)
    n = check.integer("n", n)
    clean = sigma**2 * _ols_term("T", d, T)
    if T0 is not None:
        T0 = check.integer("T0", T0, minimum=1)
    if n == 0:
        return clean
    if T0 is None:
        raise ValueError("T0 must be given (an integer >= d + 2) when n > 0")
    return clean + n * sigma0**2 * _ols_term("T0", d, T0)


def ols_chain_error(d: int, T0: int, sigma0: float = 1.0, n: int = 1) -> float:
    """Exact error ``E ||w_hat_n - w0||_Sigma^2 = n sigma0^2 d/(T0 - d - 1)`` of the ``n``-th OLS generator itself.

    This is the plateau of the downstream error when ``T >> d`` (result R3, limit (c)): a downstream model that
    learns its teacher ``w_hat_n`` perfectly still inherits all of the teacher's error.

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.
    T0 : int
        Generator sample size, in ``[d + 2, 2**53]`` (``d + 2`` not checked when ``n = 0``).
    sigma0 : float
        Generator noise standard deviation, in ``[0, 1e50]``.
    n : int
        Number of generations, in ``[0, 2**53]``.
    """
    d = check.integer("d", d, minimum=1)
    T0 = check.integer("T0", T0, minimum=1)
    sigma0 = check.scale("sigma0", sigma0)
    n = check.integer("n", n)
    return 0.0 if n == 0 else n * sigma0**2 * _ols_term("T0", d, T0)


def effective_noise_variance(d: int, T0: int, sigma: float = 1.0, sigma0: float = 1.0, n: int = 1) -> float:
    """``sigma_eff^2 = sigma^2 + n sigma0^2 d/(T0 - d - 1)``: the label-noise variance collapse mimics when ``T << d``.

    In that regime (result R3, limit (b); R5) the downstream error after ``n`` generations is close to the clean
    error with the label noise ``sigma^2`` replaced by ``sigma_eff^2``.

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.
    T0 : int
        Generator sample size, in ``[d + 2, 2**53]``.
    sigma, sigma0 : float
        Downstream and generator noise standard deviations, in ``[0, 1e50]``.
    n : int
        Number of generations, in ``[0, 2**53]``.
    """
    sigma = check.scale("sigma", sigma)
    return sigma**2 + ols_chain_error(d, T0, sigma0, n)


def replace_accumulate_error(d: int, T: int, sigma: float = 1.0, n: int = 1) -> tuple[float, float]:
    """Test error after ``n`` self-labelling iterations on a fixed design: replace vs accumulate (result R8).

    Replace (fit only the newest labels): ``n sigma^2 d/(T - d - 1)``.
    Accumulate (fit all labels so far): ``sigma^2 d/(T - d - 1) sum_{i<=n} 1/i^2``, bounded by ``pi^2/6`` times one step.

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.
    T : int
        Rows of the fixed design, in ``[d + 2, 2**53]``.
    sigma : float
        Label noise added at every iteration, in ``[0, 1e50]``.
    n : int
        Number of iterations, in ``[0, 2**53]``. The sum needs no memory: it is added up directly (compensated)
        for ``n <= 1000`` and equals ``pi^2/6 - psi'(n + 1)`` (trigamma) beyond; both are within about one unit
        in the last place of the exact rational sum.

    Returns
    -------
    (float, float)
        ``(replace, accumulate)``.
    """
    d = check.integer("d", d, minimum=1)
    T = check.integer("T", T, minimum=1)
    sigma = check.scale("sigma", sigma)
    n = check.integer("n", n)
    step = sigma**2 * _ols_term("T", d, T)
    return n * step, step * _inverse_square_sum(n)


def _inverse_square_sum(n: int) -> float:
    """``sum_{i=1}^n 1/i^2`` to double precision, in ``O(1)`` memory and time for any ``n <= 2**53``."""
    if n <= _DIRECT_SUM_MAX:
        return math.fsum(1.0 / (i * i) for i in range(n, 0, -1))
    return math.pi**2 / 6 - float(polygamma(1, n + 1.0))


