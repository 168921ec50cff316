"""Choosing the ridge penalty under model collapse (results R3, R6): the theory-based strategies.

:func:`optimal_lambda` minimises the deterministic equivalent of the test error (:func:`theory.ridge_test_error`)
over ``lam`` numerically: a log-spaced grid locates the minimum, then a golden-section search in ``log lam`` refines it,
vectorised over several numbers of generations ``n`` at once. The collapse term is linear in ``n``
(``total = bias + variance + n * collapse_1``), so one grid serves every ``n``.

The strategies a practitioner could follow each return a :class:`Choice` (the penalty and its predicted test error
after ``n`` generations, from R3): :func:`fixed_choice` (a fixed tiny penalty), :func:`clean_choice` (the optimum for
clean data, kept under collapse), :func:`oracle_choice` (the collapse-aware optimum), :func:`rule_choice` (the
asymptotic rule of R6, ``lam = c (sigma_eff^2 / T)^l_crit``), :func:`paper_choice` (``lam = T^-l_crit``) and
:func:`teacher_fit_choice` (the optimum for learning the synthetic teacher ``w_hat_n`` itself: what a validation on
synthetic labels aims at). They take a :class:`~collapse_lib.Problem`, so they apply to kernel ridge through the
empirical spectrum of the kernel as well. The data-driven strategies (GCV, a clean hold-out) live in
:mod:`collapse_lib.strategies`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate as check
from . import theory
from .problem import Problem

__all__ = ["OptimalLambda", "optimal_lambda", "LAM_MAX", "Choice", "fixed_choice", "clean_choice", "oracle_choice",
           "rule_choice", "paper_choice", "teacher_fit_choice", "teacher_problem", "rule_lambda", "paper_lambda"]

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0

# Largest penalty at which R3 is evaluated. Its terms contain kappa^2 (kappa >= lam) and (lambda_j + kappa)^-2, which
# leave double precision once kappa exceeds about 1.3e154; below 1e100 both stay far from overflow and underflow. The
# error has long reached the null predictor ||w0||_Sigma^2 there, so nothing is lost by stopping.
LAM_MAX = 1e100


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
        Search interval, ``0 < lam_min < lam_max <= LAM_MAX = 1e100`` (R3 is not representable in double precision
        much beyond; a search that needs larger penalties has reached the null predictor anyway).
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
    lam_min, lam_max, grid, rtol = _search_args(lam_min, lam_max, grid, rtol)
    n_unit = 1 if np.any(n_vec > 0) else 0   # n = 0 everywhere must not require T0 >= d + 2

    def totals(lam):  # lam: (G,) or (K,) -> bias, variance and the collapse term of ONE generation
        t = theory.ridge_test_error(p, T=T, lam=lam, n=n_unit)
        return t.bias, t.variance, t.collapse

    # 1. Grid search (one kappa solve for the whole grid, every n).
    log_grid = np.linspace(np.log(lam_min), np.log(lam_max), grid)
    bias, var, coll = totals(np.exp(log_grid))
    total = bias[None, :] + var[None, :] + n_vec[:, None] * coll[None, :]          # (K, G)
    a, b, at_boundary = _bracket(total, log_grid)

    # 2. Golden-section refinement in log(lam), all n together; the bracket [a, b] contains the grid minimum.
    def f(x):
        bb, vv, cc = totals(np.exp(x))
        return bb + vv + n_vec * cc

    lam_opt = np.exp(_golden(f, a, b, rtol))
    bias, var, coll = totals(lam_opt)
    coll = n_vec * coll
    terms = theory.ErrorTerms(bias, var, coll, bias + var + coll)
    if n_arr.ndim == 0:
        terms = theory.ErrorTerms(*(float(x[0]) for x in terms))
        return OptimalLambda(float(lam_opt[0]), terms.total, terms, bool(at_boundary[0]))
    return OptimalLambda(lam_opt, terms.total, terms, at_boundary)


def _search_args(lam_min, lam_max, grid, rtol):
    lam_min = check.real("lam_min", lam_min, strict=True)
    lam_max = check.real("lam_max", lam_max, strict=True)
    if lam_max <= lam_min:
        raise ValueError(f"lam_max must be > lam_min = {lam_min}, got {lam_max}")
    if lam_max > LAM_MAX:
        raise ValueError(f"lam_max must be <= {LAM_MAX:g}: R3 contains kappa^2 with kappa >= lam, which overflows double "
                         f"precision near 1e154, so the formula is representable only for lam in (0, {LAM_MAX:g}]; "
                         f"got {lam_max:g}")
    return lam_min, lam_max, check.integer("grid", grid, minimum=8), check.real("rtol", rtol, strict=True, maximum=0.1)


def _bracket(total: np.ndarray, log_grid: np.ndarray):
    """Grid neighbours ``[a, b]`` of the minimum of each row of ``total`` (K, G), and whether it is at an end."""
    if not np.all(np.isfinite(total)):
        bad = np.exp(log_grid[~np.all(np.isfinite(total), axis=0)])
        raise ValueError(f"the predicted error is not finite for this problem at lam in [{bad.min():.3g}, "
                         f"{bad.max():.3g}]; choose lam_min and lam_max inside the range where it is (searched "
                         f"[{np.exp(log_grid[0]):.3g}, {np.exp(log_grid[-1]):.3g}])")
    best = np.argmin(total, axis=1)
    G = log_grid.size
    at_boundary = (best == 0) | (best == G - 1)
    return log_grid[np.maximum(best - 1, 0)], log_grid[np.minimum(best + 1, G - 1)], at_boundary


def _golden(f, a: np.ndarray, b: np.ndarray, rtol: float) -> np.ndarray:
    """Golden-section search of ``f`` (vectorised: x (K,) -> (K,)) on the brackets ``[a, b]`` (log lam), to ``rtol``."""
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
    return (a + b) / 2.0


def _minimise(error, lam_min, lam_max, grid: int = 241, rtol: float = 1e-7) -> tuple[float, float]:
    """``(lam, error(lam))`` at the minimum of a vectorised ``error(lam (G,)) -> (G,)`` over ``[lam_min, lam_max]``."""
    lam_min, lam_max, grid, rtol = _search_args(lam_min, lam_max, grid, rtol)
    log_grid = np.linspace(np.log(lam_min), np.log(lam_max), grid)
    a, b, _ = _bracket(np.asarray(error(np.exp(log_grid)))[None, :], log_grid)
    lam = float(np.exp(_golden(lambda x: np.asarray(error(np.exp(x))), a, b, rtol))[0])
    return lam, float(np.asarray(error(np.array([lam])))[0])


# --------------------------------------------------------------------------------------------------------------------
# Strategies for choosing lam (result R6): each returns the penalty and its predicted test error after n generations.

class Choice(NamedTuple):
    """A penalty chosen by a strategy and the test error it leads to.

    Attributes
    ----------
    lam : float or ndarray
        The chosen penalty (an array, shape (runs,), for the data-driven strategies of :mod:`collapse_lib.strategies`).
    error : float or ndarray
        The test error at ``lam`` after ``n`` generations: R3 for the strategies of this module, the exact error of
        each simulated run for the data-driven ones.
    """

    lam: float | np.ndarray
    error: float | np.ndarray


def _problem(p):
    if not isinstance(p, Problem):
        raise ValueError(f"p must be a collapse_lib.Problem, got {type(p).__name__}")
    return p


def _error_fn(p: Problem, T: int, n: int, lam0):
    """``lam -> predicted test error``: R3 (OLS generators) when ``lam0`` is None, else the ridge-generator chain
    formula of chapter 6 (:func:`collapse_lib.kernels.ridge_chain_test_error`), which kernel ridge on a pool needs."""
    T = check.integer("T", T, minimum=1)
    n = check.integer("n", n)
    if lam0 is None:
        return lambda lam: theory.ridge_test_error(p, T=T, lam=lam, n=n).total
    from .kernels import ridge_chain_test_error            # deferred: kernels is only needed for this case

    lam0 = check.real("lam0", lam0)
    return lambda lam: ridge_chain_test_error(p, T=T, lam=lam, n=n, lam0=lam0).total


def _choice(p: Problem, T: int, n: int, lam: float, lam0=None) -> Choice:
    return Choice(float(lam), float(_error_fn(p, T, n, lam0)(lam)))


def fixed_choice(p: Problem, T: int, n: int = 0, lam: float = 1e-6, lam0: float | None = None) -> Choice:
    """A fixed penalty, whatever the data: by default a tiny one (``1e-6``), i.e. almost no regularisation.

    Parameters
    ----------
    p : Problem
        The problem; ``p.T0 >= d + 2`` when ``n > 0`` and ``lam0`` is None.
    T : int
        Downstream sample size, ``>= 1``.
    n : int
        Number of synthetic generations, ``>= 0``.
    lam : float
        The penalty, ``> 0``.
    lam0 : float or None
        ``None``: OLS generators, the error is R3. A number ``>= 0``: ridge generators with that penalty (the kernel
        chain of chapter 6, e.g. with :func:`collapse_lib.kernels.empirical_problem`); the error is
        :func:`collapse_lib.kernels.ridge_chain_test_error`.

    Returns
    -------
    Choice
        ``lam`` itself and the predicted error at ``lam``.
    """
    _problem(p)
    return _choice(p, T, n, check.real("lam", lam, strict=True), lam0)


def clean_choice(p: Problem, T: int, n: int = 0, lam_min: float = 1e-6, lam_max: float = 1e3,
                 lam0: float | None = None) -> Choice:
    """The optimal penalty for clean data (``n = 0``), kept while the pipeline fills with ``n`` generations.

    Parameters are as in :func:`oracle_choice`. Returns the clean optimum (in ``[lam_min, lam_max]``) and the predicted
    error at it after ``n`` generations.
    """
    _problem(p)
    if lam0 is None:
        lam = optimal_lambda(p, T=T, n=0, lam_min=lam_min, lam_max=lam_max).lam
    else:
        lam = _minimise(_error_fn(p, T, 0, lam0), lam_min, lam_max)[0]
    return _choice(p, T, n, lam, lam0)


def oracle_choice(p: Problem, T: int, n: int = 0, lam_min: float = 1e-6, lam_max: float = 1e3,
                  lam0: float | None = None) -> Choice:
    """The collapse-aware optimum: the numerical argmin of the predicted error after ``n`` generations.

    It needs what a practitioner does not know (the spectrum, the teacher, ``n``, ``sigma0``, ``T0``); every other
    strategy is measured against it.

    Parameters
    ----------
    p : Problem
        The problem; ``p.T0 >= d + 2`` when ``n > 0`` and ``lam0`` is None.
    T : int
        Downstream sample size, ``>= 1``.
    n : int
        Number of synthetic generations, ``>= 0``.
    lam_min, lam_max : float
        Search interval, ``0 < lam_min < lam_max <= LAM_MAX``.
    lam0 : float or None
        ``None``: OLS generators, the argmin of R3 (:func:`optimal_lambda`). A number ``>= 0``: ridge generators with
        that penalty, the argmin of :func:`collapse_lib.kernels.ridge_chain_test_error` (kernel ridge on a pool).

    Returns
    -------
    Choice
        ``lam`` in ``[lam_min, lam_max]`` and the smallest predicted error over that interval.
    """
    _problem(p)
    if lam0 is None:
        opt = optimal_lambda(p, T=T, n=check.integer("n", n), lam_min=lam_min, lam_max=lam_max)
        return Choice(float(opt.lam), float(opt.error))
    return Choice(*_minimise(_error_fn(p, T, n, lam0), lam_min, lam_max))


def rule_lambda(T: int, beta: float, r: float, sigma_eff2: float, c: float = 1.0) -> float:
    """The asymptotic rule of R6: ``lam = c (sigma_eff^2 / T)^l_crit`` with ``l_crit = beta / (2 beta rbar + 1)``.

    The exponent comes from :func:`theory.scaling_exponents`. R6 fixes the exponent, not the constant ``c``.

    Parameters
    ----------
    T : int
        Downstream sample size, ``>= 1``.
    beta, r : float
        Capacity (``> 1``) and source (``> 0``) exponents of the power law.
    sigma_eff2 : float
        Effective noise variance ``sigma^2 + n sigma0^2 d/(T0 - d - 1)``, ``> 0``
        (:func:`theory.effective_noise_variance`).
    c : float
        Prefactor, ``> 0``.

    Returns
    -------
    float
        A penalty ``> 0``.
    """
    T = check.integer("T", T, minimum=1)
    sigma_eff2 = check.real("sigma_eff2", sigma_eff2, strict=True)
    c = check.real("c", c, strict=True)
    ell = theory.scaling_exponents(beta=beta, r=r).l_crit
    return c * (sigma_eff2 / T) ** ell


def paper_lambda(T: int, beta: float, r: float) -> float:
    """The recipe of Dohmatob et al.: ``lam = T^-l_crit``, ``l_crit = beta / (2 beta rbar + 1)``; in ``(0, 1]``."""
    T = check.integer("T", T, minimum=1)
    return float(T) ** -theory.scaling_exponents(beta=beta, r=r).l_crit


def rule_choice(p: Problem, T: int, n: int = 0, beta: float = 2.0, r: float = 0.375, c: float = 1.0) -> Choice:
    """The asymptotic rule of R6 with the problem's effective noise: ``lam = c (sigma_eff^2 / T)^l_crit``.

    ``sigma_eff^2 = sigma^2 + n sigma0^2 d/(T0 - d - 1)`` (R3, limit (b)); the rule grows with ``n`` like
    ``sigma_eff^(2 l_crit)``.

    Parameters
    ----------
    p : Problem
        The problem; ``p.T0 >= d + 2`` when ``n > 0``; ``sigma_eff > 0``.
    T : int
        Downstream sample size, ``>= 1``.
    n : int
        Number of synthetic generations, ``>= 0``.
    beta, r : float
        The power-law exponents the rule assumes (for :func:`collapse_lib.power_law` problems, the ones it was built with).
    c : float
        Prefactor, ``> 0``.

    Returns
    -------
    Choice
        ``lam > 0`` and R3 at it.
    """
    _problem(p)
    n = check.integer("n", n)
    if n > 0 and p.T0 < p.d + 2:
        raise ValueError(f"T0 must be >= d + 2 = {p.d + 2} for the effective noise of n > 0 OLS generations, got {p.T0}")
    sigma_eff2 = theory.effective_noise_variance(p.d, p.T0, p.sigma, p.sigma0, n) if n else p.sigma**2
    if sigma_eff2 <= 0:
        raise ValueError("sigma_eff^2 = sigma^2 + n sigma0^2 d/(T0 - d - 1) must be > 0 for the rule (noiseless data "
                         "wants lam -> 0); got sigma = 0 with no collapse noise")
    return _choice(p, T, n, rule_lambda(T, beta, r, sigma_eff2, c))


def paper_choice(p: Problem, T: int, n: int = 0, beta: float = 2.0, r: float = 0.375) -> Choice:
    """The paper's recipe ``lam = T^-l_crit`` (the same for every ``n``), and R3 at it after ``n`` generations."""
    _problem(p)
    return _choice(p, T, n, paper_lambda(T, beta, r))


def teacher_problem(p: Problem, n: int) -> Problem:
    """The problem whose teacher has the second moments of the ``n``-th generator: what synthetic labels teach.

    ``w_hat_n - w0`` is a sum of ``n`` independent zero-mean OLS errors with covariance
    ``sigma0^2 Sigma^-1 / (T0 - d - 1)`` (the inverse-Wishart mean), so ``E w_hat_{n,j}^2 = w0_j^2 +
    n sigma0^2 / (lambda_j (T0 - d - 1))``. R3's bias depends on the teacher only through these second moments.
    (Our derivation.)
    """
    _problem(p)
    n = check.integer("n", n)
    if n == 0:
        return p
    if p.T0 < p.d + 2:
        raise ValueError(f"T0 must be >= d + 2 = {p.d + 2} for OLS generators, got {p.T0}")
    w2 = p.w0**2 + n * p.sigma0**2 / (p.eigs * (p.T0 - p.d - 1))
    return p.replace(w0=np.sqrt(w2))


def teacher_fit_choice(p: Problem, T: int, n: int = 0, lam_min: float = 1e-6, lam_max: float = 1e3) -> Choice:
    """The penalty that would be optimal if the synthetic teacher ``w_hat_n`` were the truth, and R3 at it.

    Any validation on the synthetic labels themselves (GCV, cross-validation) estimates the error of predicting
    labels made by ``w_hat_n``, so it aims at this penalty: the clean optimum of :func:`teacher_problem`. The teacher
    carries extra energy ``n sigma0^2 / (T0 - d - 1)`` in every eigendirection (in the ``Sigma``-norm). Isotropic
    case: the penalty is ``sigma^2 phi / (||w0||^2 + n sigma0^2 d/(T0 - d - 1))``, *smaller* than the clean optimum.
    For a power law with ``T << d`` the extra energy sits mostly in directions ``T`` samples cannot learn, where it
    acts like label noise and pushes this penalty up, though not as far as the collapse-aware optimum.
    (Our derivation; chapter 7 checks it against GCV by Monte Carlo.)

    Parameters are as in :func:`oracle_choice`; the error is R3 for the true problem after ``n`` generations.
    """
    lam = optimal_lambda(teacher_problem(p, n), T=T, n=0, lam_min=lam_min, lam_max=lam_max).lam
    return _choice(p, T, n, lam)
