"""Power-law spectra and scaling laws under collapse (results R5, R5a): exponents, error curves ``E(T)`` and slopes.

With capacity ``lambda_j ~ j^-beta`` and source ``lambda_j w0_j^2 ~ j^(-1 - 2 beta r)`` the test error of ridge with
``lam = T^-l`` decays like a power of ``T`` while ``T << d``. :func:`scaling_exponents` and :func:`error_exponent`
give the predicted exponents; :func:`scaling_curve` evaluates the deterministic equivalent (R3) along ``lam = T^-l``;
:func:`fit_slope` and :func:`slope_map` measure the slope of ``log E`` against ``log T`` on a stated window, so the
two can be compared. Everything here is theory: no simulation.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _validate as check
from ..problem import Problem
from ._ridge import ErrorTerms, _check_ridge_args, _ridge_terms

__all__ = ["ScalingExponents", "SlopeFit", "scaling_exponents", "error_exponent", "fit_slope", "scaling_curve",
           "slope_map"]


class ScalingExponents(NamedTuple):
    """Exponents of the power-law scaling laws (result R5a); the error behaves like ``T^-exponent``.

    Attributes
    ----------
    fast : float
        ``2 beta rbar``: clean, noiseless data with the interpolating recipe (``l -> beta``).
    slow : float
        ``2 beta rbar / (2 beta rbar + 1)``: the best rate once there is label noise or collapse, reached at ``l_crit``.
    l_crit : float
        ``beta / (2 beta rbar + 1)``: the exponent of ``lam = T^-l_crit`` that balances bias against variance.
    """

    fast: float
    slow: float
    l_crit: float


class SlopeFit(NamedTuple):
    """Least-squares fit of ``log E = intercept + slope log T`` over a window of sample sizes.

    Attributes
    ----------
    slope : float
        Fitted slope (negative when the error decreases; compare ``-slope`` with a predicted exponent).
    intercept : float
        Fitted intercept (natural logarithms).
    window : tuple of float
        ``(T_first, T_last)``: the smallest and largest ``T`` actually used in the fit.
    points : int
        Number of points in the window.
    """

    slope: float
    intercept: float
    window: tuple
    points: int


def _beta_r(beta, r):
    beta = check.real("beta", beta, minimum=1.0, strict=True, maximum=1e6)
    r = check.real("r", r, minimum=0.0, strict=True)
    return beta, r


def scaling_exponents(beta: float, r: float) -> ScalingExponents:
    """Fast and slow error exponents and the critical penalty exponent (result R5a).

    With ``rbar = min(r, 1)``: ``fast = 2 beta rbar``, ``slow = 2 beta rbar / (2 beta rbar + 1)``,
    ``l_crit = beta / (2 beta rbar + 1)``.

    Parameters
    ----------
    beta : float
        Capacity exponent of the spectrum ``lambda_j ~ j^-beta``, ``> 1``.
    r : float
        Source exponent (``lambda_j w0_j^2 ~ j^(-1 - 2 beta r)``), ``> 0``.

    Returns
    -------
    ScalingExponents

    Examples
    --------
    >>> scaling_exponents(beta=2.0, r=0.375)
    ScalingExponents(fast=1.5, slow=0.6, l_crit=0.8)
    """
    beta, r = _beta_r(beta, r)
    a = 2.0 * beta * min(r, 1.0)
    return ScalingExponents(fast=a, slow=a / (a + 1.0), l_crit=beta / (a + 1.0))


def error_exponent(beta: float, r: float, ell, noisy: bool = True):
    """Predicted exponent ``a`` in ``E_test ~ T^-a`` (``T << d``) for ridge with ``lam = T^-ell`` (result R5a).

    Without noise or collapse (``noisy=False``) the bias alone decays: ``a = 2 ell rbar``. With an effective noise
    ``sigma_eff > 0`` (label noise, or ``n >= 1`` synthetic generations with ``sigma0 > 0``) the variance term
    ``sigma_eff^2 T^-(1 - ell/beta)`` competes: ``a = min(2 ell rbar, 1 - ell/beta)``.

    For ``ell >= beta`` the penalty falls below the implicit regularisation of ``T < d`` samples (``kappa ~ T^-beta``),
    so the exponent is that of ``ell = beta``: ``2 beta rbar`` clean, ``0`` (no learning) with noise. This extension
    of R5a beyond ``ell < beta`` is our reading of the deterministic equivalent.

    Parameters
    ----------
    beta, r : float
        Capacity (``> 1``) and source (``> 0``) exponents.
    ell : float or array_like, shape (L,)
        Penalty exponent(s), ``>= 0``.
    noisy : bool
        Whether ``sigma_eff > 0``.

    Returns
    -------
    float or ndarray, shape (L,)
    """
    beta, r = _beta_r(beta, r)
    ell_arr = check.reals("ell", ell)
    if not isinstance(noisy, (bool, np.bool_)):
        raise ValueError(f"noisy must be True or False, got {noisy!r}")
    e = np.minimum(ell_arr, beta)
    a = 2.0 * e * min(r, 1.0)
    if noisy:
        a = np.minimum(a, 1.0 - e / beta)
    return float(a) if ell_arr.ndim == 0 else a


def _window(name, window):
    try:
        lo, hi = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (T_min, T_max) with 0 < T_min < T_max, got {window!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        raise ValueError(f"{name} must be a pair (T_min, T_max) with 0 < T_min < T_max, got {window!r}")
    return lo, hi


def fit_slope(T, E, window=None) -> SlopeFit:
    """Least-squares slope of ``log E`` against ``log T`` over the points with ``T`` inside ``window``.

    Parameters
    ----------
    T : array_like, shape (K,)
        Sample sizes, ``> 0``.
    E : array_like, shape (K,)
        Test errors, ``> 0``.
    window : (float, float) or None
        Inclusive range ``(T_min, T_max)`` of the fit; ``None`` uses every point. At least 3 points must fall inside.

    Returns
    -------
    SlopeFit
        ``slope``, ``intercept``, the ``window`` actually used (first and last ``T`` inside) and the number of points.

    Examples
    --------
    >>> T = [100, 200, 400, 800]
    >>> round(fit_slope(T, [1 / t for t in T]).slope, 6)
    -1.0
    """
    T = check.vector("T", T)
    E = check.vector("E", E, d=T.size)
    for name, arr in (("T", T), ("E", E)):
        if np.any(arr <= 0):
            raise ValueError(f"{name} must be > 0 everywhere (a log-log fit), got min {arr.min()}")
    lo, hi = (-np.inf, np.inf) if window is None else _window("window", window)
    inside = (T >= lo) & (T <= hi)
    k = int(inside.sum())
    if k < 3:
        raise ValueError(f"window must contain at least 3 of the T values, got {k} in {window!r}")
    x, y = np.log(T[inside]), np.log(E[inside])
    slope, intercept = np.polyfit(x, y, 1)
    return SlopeFit(float(slope), float(intercept), (float(T[inside].min()), float(T[inside].max())), k)


def _sample_sizes(T):
    arr = np.atleast_1d(np.asarray(T))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"T must be an integer or a 1-D array of integers >= 1, got {T!r}")
    return np.array([check.integer("T", t, minimum=1) for t in arr])


def _curve_parts(p: Problem, T: np.ndarray, ell: float, n: int) -> ErrorTerms:
    """Bias, variance and collapse along ``lam = T^-ell`` (validated inputs), arrays of shape (K,)."""
    parts = np.empty((4, T.size))
    for i, t in enumerate(T):
        _check_ridge_args(p.d, int(t), t ** -ell, n, p.T0)
        parts[:, i] = _ridge_terms(p.eigs, p.w0, p.sigma, p.sigma0, p.T0, int(t), np.asarray(float(t) ** -ell), n)
    return ErrorTerms(*parts)


def scaling_curve(p: Problem, T, ell: float, n: int = 0) -> ErrorTerms:
    """Deterministic equivalent (R3) of the test error along ``lam = T^-ell``, for every sample size in ``T``.

    Parameters
    ----------
    p : Problem
        The problem, e.g. :func:`collapse_lib.power_law`; ``p.T0 >= d + 2`` when ``n > 0``.
    T : int or array_like of int, shape (K,)
        Downstream sample sizes, ``>= 1``.
    ell : float
        Penalty exponent, ``>= 0`` (``lam = T^-ell``; ``ell = 0`` is ``lam = 1``).
    n : int
        Number of synthetic generations, ``>= 0``.

    Returns
    -------
    ErrorTerms
        ``bias``, ``variance``, ``collapse`` and ``total``, each an array of shape (K,).

    Notes
    -----
    One kappa solve per sample size: about 1 ms per point at ``d = 2e4``.
    """
    if not isinstance(p, Problem):
        raise ValueError(f"p must be a collapse_lib.Problem, got {type(p).__name__}")
    T = _sample_sizes(T)
    ell = check.real("ell", ell)
    n = check.integer("n", n)
    return _curve_parts(p, T, ell, n)


def slope_map(p: Problem, T, ells, ns, window=None) -> np.ndarray:
    """Fitted slopes of ``log E`` against ``log T`` (R3 curves, ``lam = T^-ell``) over a grid of ``ell`` and ``n``.

    The collapse term is linear in ``n``, so one curve per ``ell`` serves every ``n``.

    Parameters
    ----------
    p : Problem
        The problem; ``p.T0 >= d + 2`` when some ``n > 0``.
    T : array_like of int, shape (K,)
        Sample sizes of the curves.
    ells : array_like, shape (L,)
        Penalty exponents, ``>= 0``.
    ns : array_like of int, shape (N,)
        Numbers of generations, ``>= 0``.
    window : (float, float) or None
        Fitting window, as in :func:`fit_slope`.

    Returns
    -------
    ndarray, shape (L, N)
        ``slope[i, k]`` for ``ells[i]`` and ``ns[k]`` (negative when the error decreases).
    """
    if not isinstance(p, Problem):
        raise ValueError(f"p must be a collapse_lib.Problem, got {type(p).__name__}")
    T = _sample_sizes(T)
    ells = check.reals("ells", ells)
    ns = np.array([check.integer("ns", k) for k in np.atleast_1d(ns)])
    out = np.empty((np.atleast_1d(ells).size, ns.size))
    for i, ell in enumerate(np.atleast_1d(ells)):
        parts = _curve_parts(p, T, float(ell), int(ns.max() > 0))
        for k, m in enumerate(ns):
            total = parts.bias + parts.variance + m * parts.collapse
            out[i, k] = fit_slope(T, total, window).slope
    return out
