"""Escaping collapse: accumulating data on fresh designs, mixing real and synthetic data (R9, R11), and growing
sample sizes (R12).

Every function is a closed form (pure, cheap). Results marked *our derivation* are the book's own (the chapter
proves them); the others are credited in the docstring.
"""
from __future__ import annotations

import numpy as np
from scipy.special import digamma, polygamma

from .. import _validate as check
from ._ols import _ols_term


_DIRECT_TERMS = 10**6

def _sizes(name: str, sizes, minimum: int) -> np.ndarray:
    """``sizes`` as a 1-D int array, every entry an integer ``>= minimum``."""
    if isinstance(sizes, (str, bytes, bool)) or sizes is None:
        raise ValueError(f"{name} must be a non-empty 1-D array of integers >= {minimum}, got {sizes!r}")
    try:
        arr = np.asarray(sizes, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-empty 1-D array of integers >= {minimum}, got {sizes!r}") from None
    if arr.ndim != 1 or arr.size == 0 or np.asarray(sizes).dtype == bool:
        raise ValueError(f"{name} must be a non-empty 1-D array of integers >= {minimum}, got {sizes!r}")
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must contain only integers >= {minimum}, got {sizes!r}")
    if np.any(arr < minimum):
        raise ValueError(f"{name} must contain only integers >= {minimum}, got min {int(arr.min())}")
    return arr.astype(np.int64)


def _flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


# ---------------------------------------------------------------------------------------- accumulate, fresh designs
def accumulate_fresh_error(d: int, T: int, sigma: float = 1.0, n: int = 1) -> float:
    """Exact test error of the accumulate workflow when every iteration draws a fresh design (our derivation).

    Iteration ``i`` adds ``T`` fresh Gaussian inputs labelled by the current fit plus noise ``sigma`` and refits OLS
    on all ``i T`` rows. With ``A_i`` the Gram matrix of all rows so far and ``c_i = X_i^T E_i``, the error obeys
    ``e_i = e_{i-1} + A_i^{-1} c_i``, and by exchangeability of the ``i`` blocks of ``A_i``

        E_test = sigma^2 d sum_{i=1..n} 1 / (i (i T - d - 1)),

    below the fixed-design value ``sigma^2 d/(T - d - 1) sum 1/i^2`` of R8 and bounded as ``n -> infinity``.

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.
    T : int
        Fresh rows per iteration, ``>= d + 2``.
    sigma : float
        Label noise of every iteration, ``>= 0``.
    n : int
        Iterations, ``>= 0`` (iteration 1 fits the real labels).

    Returns
    -------
    float
        ``E ||w_n - w0||_Sigma^2``, for any covariance.
    """
    d = check.integer("d", d, minimum=1)
    T = check.integer("T", T, minimum=1)
    sigma = check.scale("sigma", sigma)
    n = check.integer("n", n)
    _ols_term("T", d, T)
    # Direct sum up to 10**6 terms; beyond, the tail of 1/(i (i T - d - 1)) = 1/(T i^2) (1 + (d+1)/(i T) + ...)
    # from polygammas (the next term is below 1e-12 of the tail), so huge n needs no array.
    m = min(n, _DIRECT_TERMS)
    i = np.arange(1, m + 1, dtype=float)
    total = float(np.sum(1.0 / (i * (i * T - d - 1))))
    if n > m:
        c = (d + 1) / T
        total += float(polygamma(1, m + 1) - polygamma(1, n + 1)) / T
        total += c * float(polygamma(2, n + 1) - polygamma(2, m + 1)) / (2 * T)
    return sigma**2 * d * total


# -------------------------------------------------------------------------------- R9: a fixed synthetic fraction
def _fraction(p2) -> float:
    return check.real("p2", p2, maximum=1.0)


def mixing_floor(p2: float, gap2: float) -> float:
    """Large-sample error floor ``p2^2 gap2`` when a fraction ``p2`` of the training set is synthetic (R9).

    Dohmatob et al. (*Strong Model Collapse*): as the training set grows with the fraction ``p2`` of rows labelled
    by a generator ``w2`` held fixed, least squares converges to ``p1 w1 + p2 w2`` (``w1 = w0``), so the error tends
    to ``p2^2 ||w2 - w1||_Sigma^2``, which no amount of data removes. For an OLS generator fitted on ``n0`` real
    samples, ``gap2 = E ||w2 - w1||_Sigma^2 = sigma0^2 d/(n0 - d - 1)`` (:func:`ols_chain_error` with ``n = 1``).

    Parameters
    ----------
    p2 : float
        Synthetic fraction, in ``[0, 1]``.
    gap2 : float
        ``||w2 - w1||_Sigma^2`` (or its expectation), ``>= 0``.
    """
    p2 = _fraction(p2)
    gap2 = check.real("gap2", gap2, maximum=check.MAX_SCALE2)
    return p2**2 * gap2


def mixed_data_error(d: int, T: int, p2: float, gap2: float, sigma: float = 1.0) -> float:
    """OLS error on ``T`` rows of which ``p2 T`` are synthetic, to first order in ``1/T`` (our expansion around R9).

    ``E_test ~= gap2 (p2^2 + p1 p2 (d + 1)/T) + sigma^2 d/(T - d - 1)`` with ``p1 = 1 - p2``, for an isotropic
    covariance and a generator error ``w2 - w1`` independent of the training design and isotropic in law (an OLS
    generator). The noise term is exact; the first term is the floor of :func:`mixing_floor` plus the leading
    fluctuation of ``(X^T X)^{-1} X_2^T X_2`` around ``p2 I`` (the error of the expansion is ``O(1/T^2)``).

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.
    T : int
        Training rows, ``>= d + 2``.
    p2 : float
        Synthetic fraction, in ``[0, 1]``.
    gap2 : float
        ``E ||w2 - w1||^2``, ``>= 0``.
    sigma : float
        Label noise of the training set, ``>= 0``.
    """
    d = check.integer("d", d, minimum=1)
    T = check.integer("T", T, minimum=1)
    floor = mixing_floor(p2, gap2)
    sigma = check.scale("sigma", sigma)
    noise = sigma**2 * _ols_term("T", d, T)
    p2 = float(p2)
    return floor + gap2 * (1.0 - p2) * p2 * (d + 1) / T + noise


# ---------------------------------------------------------------------------------------- R11: the golden-ratio weight
def _ratio(k) -> float:
    return check.real("k", k, strict=True)


def golden_ratio_weight(k: float = 1.0) -> float:
    """Optimal weight ``w* = (sqrt(k^2 + 4k) - k)/2`` of the real data when fresh real data meet synthetic data (R11).

    He, Xu & Cheng (2025, *Golden Ratio Weighting Prevents Model Collapse*): every round mixes ``n`` fresh real
    samples with ``m = n/k`` samples from the previous fit, weighting the real ones by ``w`` in total. ``w*``
    minimises :func:`fresh_mix_risk`; for ``k = 1`` it is ``1/phi = 0.618...``, the inverse golden ratio.

    Parameters
    ----------
    k : float
        Ratio ``n/m`` of real to synthetic samples per round, ``> 0``.
    """
    k = _ratio(k)
    return 2.0 / (np.sqrt(1.0 + 4.0 / k) + 1.0)      # the same number, without cancellation at large k


def fresh_mix_risk(w, k: float = 1.0, t: int | None = None, r0: float = 1.0):
    """Risk of the fresh-real-plus-synthetic recursion in units of ``V/n`` (R11, He, Xu & Cheng 2025).

    The estimate obeys ``theta_t - theta* = (1 - w)(theta_{t-1} - theta*) + w eps_t + (1 - w) eta_t`` with
    ``Var eps = V/n`` (the fresh real mean) and ``Var eta = k V/n`` (the synthetic mean), so the risk
    ``R_t = E (theta_t - theta*)^2`` satisfies ``R_t = (1 - w)^2 R_{t-1} + w^2 + k (1 - w)^2`` (in units of
    ``V/n``). Its fixed point is

        R_inf(w) = [w^2 + k (1 - w)^2] / [w (2 - w)],

    minimised at :func:`golden_ratio_weight`, where ``R_inf(w*) = w*``. Naive pooling is ``w = k/(1 + k)``;
    real data only is ``w = 1`` (risk 1). ``V = s^2`` for a Gaussian mean; for OLS on ``d`` isotropic features the
    unit ``V/n`` is approximately ``sigma^2 d/(n - d - 1)``.

    Parameters
    ----------
    w : float or array_like
        Total weight of the real samples, in ``(0, 1]``.
    k : float
        Ratio ``n/m`` of real to synthetic samples per round, ``> 0``.
    t : int or None
        ``None``: the stationary risk ``R_inf``. An integer ``>= 0``: the risk after ``t`` rounds,
        ``R_t = R_inf + (1 - w)^{2t} (r0 - R_inf)`` (exact for the Gaussian mean).
    r0 : float
        Risk of the initial fit (round 0) in units of ``V/n``, ``>= 0``; ``1`` for a fit on ``n`` real samples.

    Returns
    -------
    float or ndarray
        Same shape as ``w``.
    """
    w_arr = check.reals("w", w, strict=True)
    if np.any(w_arr > 1.0):
        raise ValueError(f"w must be in (0, 1] (the weight of the real data), got {w_arr[w_arr > 1].ravel()[0]}")
    k = _ratio(k)
    r0 = check.real("r0", r0)
    risk = (w_arr**2 + k * (1.0 - w_arr) ** 2) / (w_arr * (2.0 - w_arr))
    if t is not None:
        t = check.integer("t", t)
        risk = risk + (1.0 - w_arr) ** (2 * t) * (r0 - risk)
    return float(risk) if w_arr.ndim == 0 else risk


# ---------------------------------------------------------------------------------------- R12: growing sample sizes
def schedule_chain_error(d: int, sizes, sigma: float = 1.0, cumulative: bool = False):
    """Error ``sum_m sigma^2 d/(T_m - d - 1)`` of a replace chain whose generation ``m`` has ``T_m`` samples (R12).

    A corollary of R2 (each OLS generation adds an independent error of its own size). Bounded as the number of
    generations grows iff ``sum 1/T_m < infinity``: linear growth ``T_m = c m`` still diverges, like ``log n``.
    Xu, He & Cheng (2025) discuss such schedules.

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.
    sizes : array_like of int, shape (n,)
        ``T_1, ..., T_n``, each ``>= d + 2``.
    sigma : float
        Label noise of every generation, ``>= 0``.
    cumulative : bool
        Return the partial sums after every generation (shape ``(n,)``) instead of the total.
    """
    d = check.integer("d", d, minimum=1)
    sizes = _sizes("sizes", sizes, d + 2)
    sigma = check.scale("sigma", sigma)
    terms = sigma**2 * d / (sizes - d - 1.0)
    return np.cumsum(terms) if _flag("cumulative", cumulative) else float(terms.sum())


def gaussian_schedule_drift(s: float, sizes, cumulative: bool = False):
    """``E (mu_n - mu_0)^2 = s^2 sum_i 1/M_i`` for the Gaussian refitting chain with ``M_i`` samples at step ``i``
    (R12; R10 when every ``M_i = M``).

    Parameters
    ----------
    s : float
        Initial standard deviation, ``>= 0``.
    sizes : array_like of int, shape (n,)
        ``M_1, ..., M_n``, each ``>= 2``.
    cumulative : bool
        Return the value after every step (shape ``(n,)``).
    """
    s = check.scale("s", s)
    sizes = _sizes("sizes", sizes, 2)
    terms = s**2 / sizes.astype(float)
    return np.cumsum(terms) if _flag("cumulative", cumulative) else float(terms.sum())


def gaussian_schedule_log_variance(s: float, sizes, cumulative: bool = False):
    """Exact ``E log sigma_n^2 = log s^2 + sum_i [psi((M_i - 1)/2) + log(2/(M_i - 1))]`` (R12).

    Each term is about ``-1/(M_i - 1)``, so the typical variance is ``~ s^2 exp(-sum 1/(M_i - 1))``: it stays
    bounded away from zero iff ``sum 1/M_i < infinity``.

    Parameters
    ----------
    s : float
        Initial standard deviation, ``> 0``.
    sizes : array_like of int, shape (n,)
        ``M_1, ..., M_n``, each ``>= 2``.
    cumulative : bool
        Return the value after every step (shape ``(n,)``).
    """
    s = check.scale("s", s, strict=True)
    sizes = _sizes("sizes", sizes, 2)
    k = sizes - 1.0
    terms = digamma(k / 2.0) + np.log(2.0 / k)
    out = 2.0 * np.log(s) + (np.cumsum(terms) if _flag("cumulative", cumulative) else terms.sum())
    return out if cumulative else float(out)


__all__ = ["accumulate_fresh_error", "mixing_floor", "mixed_data_error", "golden_ratio_weight", "fresh_mix_risk",
           "schedule_chain_error", "gaussian_schedule_drift", "gaussian_schedule_log_variance"]
