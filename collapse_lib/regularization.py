"""Choosing the ridge penalty under model collapse (result R3, R6).

:func:`optimal_lambda` minimises the deterministic equivalent of the test error (:func:`theory.ridge_test_error`)
over ``lam`` numerically: a log-spaced grid locates the minimum, then a golden-section search in ``log lam`` refines it,
vectorised over several numbers of generations ``n`` at once. The collapse term is linear in ``n``
(``total = bias + variance + n * collapse_1``), so one grid serves every ``n``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate as check
from . import theory
from .problem import Problem

__all__ = ["OptimalLambda", "optimal_lambda"]

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


class OptimalLambda(NamedTuple):
    """The collapse-aware optimal ridge penalty and the test error it achieves.

    Each field is a float when ``n`` is an integer, or an array shaped like ``n``.

    Attributes
    ----------
    lam : float or ndarray
        Minimiser of the predicted test error over ``[lam_min, lam_max]``.
    error : float or ndarray
        Predicted test error at ``lam`` (``terms.total``).
    terms : theory.ErrorTerms
        ``bias``, ``variance``, ``collapse`` and ``total`` at ``lam``.
    at_boundary : bool or ndarray of bool
        True where the minimum lies at an end of the search interval (widen it, or the optimum is ``lam -> 0`` /
        ``lam -> infinity``).
    """

    lam: float | np.ndarray
    error: float | np.ndarray
    terms: theory.ErrorTerms
    at_boundary: bool | np.ndarray


def optimal_lambda(p: Problem, T: int, n=0, lam_min: float = 1e-6, lam_max: float = 1e3, grid: int = 241,
                   rtol: float = 1e-7) -> OptimalLambda:
    """Ridge penalty minimising the predicted test error after ``n`` generations (numerical argmin of R3).

    Parameters
    ----------
    p : Problem
        Spectrum, teacher, noise levels and generator sample size ``p.T0`` (``>= d + 2`` when some ``n > 0``).
    T : int
        Downstream sample size, ``>= 1``.
    n : int or array_like of int, shape (K,)
        Number(s) of synthetic generations, ``>= 0``; an array is solved in one vectorised pass.
    lam_min, lam_max : float
        Search interval, ``0 < lam_min < lam_max``.
    grid : int
        Points of the initial log-spaced grid, ``>= 8``.
    rtol : float
        Relative precision of the returned ``lam``, in ``(0, 0.1]``.

    Returns
    -------
    OptimalLambda
        ``lam``, ``error``, ``terms`` and ``at_boundary``; floats for an integer ``n``, arrays shaped like ``n``.

    Examples
    --------
    >>> from collapse_lib import isotropic
    >>> opt = optimal_lambda(isotropic(d=300, T0=600), T=600, n=[0, 1])
    >>> opt.lam.round(2), opt.error.round(3)
    (array([0.5 , 1.48]), array([0.414, 0.666]))
    """
    if not isinstance(p, Problem):
        raise ValueError(f"p must be a collapse_lib.Problem, got {type(p).__name__}")
    T = check.integer("T", T, minimum=1)
    n_arr = np.asarray(n)
    if n_arr.ndim > 1 or n_arr.size == 0:
        raise ValueError(f"n must be an integer >= 0 or a 1-D array of them, got {n!r}")
    n_vec = np.array([check.integer("n", v) for v in np.atleast_1d(n_arr).tolist()], dtype=float)
    lam_min = check.real("lam_min", lam_min, strict=True)
    lam_max = check.real("lam_max", lam_max, strict=True)
    if lam_max <= lam_min:
        raise ValueError(f"lam_max must be > lam_min = {lam_min}, got {lam_max}")
    grid = check.integer("grid", grid, minimum=8)
    rtol = check.real("rtol", rtol, strict=True, maximum=0.1)
    n_unit = 1 if np.any(n_vec > 0) else 0   # n = 0 everywhere must not require T0 >= d + 2

    def totals(lam):  # lam: (G,) or (K,) -> bias, variance and the collapse term of ONE generation
        t = theory.ridge_test_error(p, T=T, lam=lam, n=n_unit)
        return t.bias, t.variance, t.collapse

    # 1. Grid search (one kappa solve for the whole grid, every n).
    log_grid = np.linspace(np.log(lam_min), np.log(lam_max), grid)
    bias, var, coll = totals(np.exp(log_grid))
    total = bias[None, :] + var[None, :] + n_vec[:, None] * coll[None, :]          # (K, G)
    best = np.argmin(total, axis=1)
    at_boundary = (best == 0) | (best == grid - 1)
    a = log_grid[np.maximum(best - 1, 0)]
    b = log_grid[np.minimum(best + 1, grid - 1)]

    # 2. Golden-section refinement in log(lam), all n together; the bracket [a, b] contains the grid minimum.
    def f(x):
        bb, vv, cc = totals(np.exp(x))
        return bb + vv + n_vec * cc

    c, e = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    fc, fe = f(c), f(e)
    tol = np.log1p(rtol)
    for _ in range(200):
        if np.all(b - a <= tol):
            break
        left = fc < fe                      # minimum in [a, e]
        b = np.where(left, e, b)
        a = np.where(left, a, c)
        c_new = np.where(left, b - _GOLDEN * (b - a), e)
        e_new = np.where(left, c, a + _GOLDEN * (b - a))
        # Reuse the surviving interior point; evaluate only the new one.
        x_new = np.where(left, c_new, e_new)
        f_new = f(x_new)
        fc, fe = np.where(left, f_new, fe), np.where(left, fc, f_new)
        c, e = c_new, e_new
    lam_opt = np.exp((a + b) / 2.0)
    bias, var, coll = totals(lam_opt)
    coll = n_vec * coll
    terms = theory.ErrorTerms(bias, var, coll, bias + var + coll)
    if n_arr.ndim == 0:
        terms = theory.ErrorTerms(*(float(x[0]) for x in terms))
        return OptimalLambda(float(lam_opt[0]), terms.total, terms, bool(at_boundary[0]))
    return OptimalLambda(lam_opt, terms.total, terms, at_boundary)
