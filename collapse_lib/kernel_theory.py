"""Deterministic equivalent of a chain of ridge generators followed by a ridge downstream fit (chapter 6).

Our extension of R3 (which assumes OLS generators, ``T0 >= d + 2``) to generators with a ridge penalty ``lam0 >= 0``
and any ``T0``, so that it applies to kernel ridge chains on a finite pool (R7a), where ``d = N`` exceeds ``T0``.
Pure and cheap: no simulation.
"""
from __future__ import annotations

import numpy as np

from . import _validate as check
from .problem import Problem
from .theory import ErrorTerms
from .theory._ridge import _kappa, _slacks

__all__ = ["ridge_chain_test_error"]

#: Largest number of generations :func:`ridge_chain_test_error` iterates (one ``O(d)`` step each).
MAX_GENERATIONS = 10**6


def _ridge_factors(eigs: np.ndarray, lam, T: int):
    """``kappa`` (L,), ``r = mu/(mu + kappa)``, ``f = kappa/(mu + kappa)``, ``h = mu/(mu + kappa)^2`` (L, d),
    ``T - df_2`` (L,).

    ``h`` is formed as ``r / (mu + kappa)`` and ``T - df_2`` without cancellation (:func:`~collapse_lib.theory._ridge._slacks`),
    so neither ``kappa^2`` nor ``(mu + kappa)^2`` is ever formed: finite for every finite ``lam``.
    """
    kappa = _kappa(eigs, np.atleast_1d(lam), T)[:, None]
    r, f, _, slack, _, _ = _slacks(eigs, kappa, T)
    with np.errstate(under="ignore"):
        h = r / (eigs + kappa)
    return kappa[:, 0], r, f, h, slack


def _ridge_step(v: np.ndarray, eigs, r, f, h, slack, noise2: float) -> np.ndarray:
    """Second moments after one ridge refit: ``v' = r^2 v + h/(T-df_2) (sum_k mu_k f_k^2 v_k + noise^2)``.

    (``kappa^2 h_k = mu_k f_k^2``: no ``kappa^2``, which overflows from ``lam ~ 1e154``.)
    """
    with np.errstate(under="ignore"):
        return r**2 * v + h / slack[:, None] * (np.sum(eigs * f**2 * v, axis=1, keepdims=True) + noise2)


def ridge_chain_test_error(p: Problem, T: int, lam=1e-3, n: int = 0, lam0: float = 0.0) -> ErrorTerms:
    """Test error of ridge downstream of ``n`` *ridge* generators (penalty ``lam0``, ``T0`` samples each).

    Deterministic equivalent derived for the book (our extension of R3; it reduces to R3 with ``T0 - d`` in place
    of ``T0 - d - 1`` when ``lam0 = 0, T0 > d``, and to R4 when ``lam0 = 0, T0 < d``, isotropic). A ridge refit
    ``w' = (X^T X/T + lam)^{-1} X^T (X w + E)/T`` shrinks the mean, ``E w'_j = (1 - q_j) w_j``, and maps the second
    moments ``v_j = E w_j^2`` (eigenbasis) to::

        v'_j = (1 - q_j)^2 v_j + h_j / (T - df_2) * (kappa^2 sum_k h_k v_k + noise^2)

    with ``kappa = kappa(lam, T)``, ``q_j = kappa/(mu_j + kappa)``, ``h_j = mu_j/(mu_j + kappa)^2``. Starting from
    ``v = w0^2``, ``n`` generator steps (``lam0, T0, sigma0``) and one downstream step (``lam, T, sigma``) give::

        E_test = sum_j mu_j (v_j - 2 (1 - q_j)(1 - q0_j)^n w0_j^2 + w0_j^2)

    Parameters
    ----------
    p : Problem
        Spectrum ``mu = p.eigs``, teacher, ``sigma``, ``sigma0`` and ``T0`` (e.g. :func:`empirical_problem`).
    T : int
        Downstream sample size, in ``[1, 2**53]`` (``!= d`` when ``lam = 0``).
    lam : float or array_like, shape (L,)
        Downstream penalty: ``0`` or in ``[1e-300, 1.8e308]`` (any finite float). Computed without ``kappa^2``,
        so a huge ``lam`` gives its limit, the null predictor's error ``||w0||_Sigma^2``.
    n : int
        Generations, in ``[0, 10**6]``: the generator chain is iterated one generation at a time (``O(n d)``).
    lam0 : float
        Generator penalty: ``0`` or in ``[1e-300, 1.8e308]`` (``T0 != d`` when ``lam0 = 0``).

    Returns
    -------
    ErrorTerms
        ``bias`` and ``variance``: the clean (``n = 0``) terms; ``collapse = total - bias - variance``.
        Floats, or arrays shaped like ``lam``. A ``ValueError`` if the error exceeds float64 (``lam`` or ``lam0``
        too close to 0 at the interpolation threshold ``T = d`` or ``T0 = d``).
    """
    if not isinstance(p, Problem):
        raise ValueError(f"p must be a collapse_lib.Problem, got {type(p).__name__}")
    T = check.integer("T", T, minimum=1)
    lam_arr = check.penalties("lam", lam)
    n = check.integer("n", n, maximum=MAX_GENERATIONS)
    lam0 = float(check.penalties("lam0", check.real("lam0", lam0)))
    if np.any(lam_arr == 0) and T == p.d:
        raise ValueError(f"lam must be > 0 when T = d = {T} (the ridgeless limit diverges at the interpolation "
                         "threshold)")
    if n > 0 and lam0 == 0 and p.T0 == p.d:
        raise ValueError(f"lam0 must be > 0 when T0 = d = {p.d} (the ridgeless generator diverges)")
    eigs, w0 = p.eigs, p.w0
    w2 = w0**2
    kappa, r, f, h, slack = _ridge_factors(eigs, lam_arr, T)
    # clean terms: one downstream step from v = w0^2
    bias = np.sum(eigs * f**2 * w2, axis=1) * (T / slack)
    variance = p.sigma**2 * np.sum(r * r, axis=1) / slack               # mu h = r^2
    v, mean = w2[None, :], np.ones_like(w2)
    if n > 0:
        _, r0, f0, h0, s0 = _ridge_factors(eigs, lam0, p.T0)
        for _ in range(n):
            v = _ridge_step(v, eigs, r0, f0, h0, s0, p.sigma0**2)
        with np.errstate(under="ignore"):
            mean = r0[0] ** n
    if n == 0:
        collapse, total = np.zeros_like(bias), bias + variance
    else:
        v = _ridge_step(np.broadcast_to(v, r.shape), eigs, r, f, h, slack, p.sigma**2)
        total = np.sum(eigs * (v - 2.0 * r * mean * w2 + w2), axis=1)
        collapse = total - bias - variance
    check.finite_result("the test error", (bias, variance, total), f"lam = {lam_arr.min():g} (T = {T}) or "
                        f"lam0 = {lam0:g} (T0 = {p.T0}) is too close to 0 at d = {p.d}, where the error diverges; "
                        "increase it, or decrease sigma, sigma0 or n")
    squeeze = (lambda a: float(a[0])) if lam_arr.ndim == 0 else (lambda a: a)
    return ErrorTerms(*(squeeze(a) for a in (bias, variance, collapse, total)))
