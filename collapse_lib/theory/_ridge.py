"""Ridge regression downstream of a synthetic chain: degrees of freedom, the effective regularisation kappa and
the deterministic equivalent of the test error (R3); over-parameterised generators (R4)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _validate as check
from ..problem import Problem


class ErrorTerms(NamedTuple):
    """Decomposition of the downstream test error (result R3).

    Each field is a float, or an array shaped like ``lam`` when ``lam`` is an array.
    ``bias`` and ``variance`` are the clean-data terms, ``collapse`` the extra error caused by ``n`` synthetic
    generations, and ``total`` their sum.
    """

    bias: float | np.ndarray
    variance: float | np.ndarray
    collapse: float | np.ndarray
    total: float | np.ndarray


def df(eigs, t, m: int = 1):
    """Degrees of freedom ``df_m(t) = sum_j (lambda_j / (lambda_j + t))^m``.

    Parameters
    ----------
    eigs : array_like, shape (d,)
        Eigenvalues, ``> 0``.
    t : float or array_like, shape (L,)
        Regularisation level(s), ``>= 0``.
    m : int
        Power, ``>= 1``.

    Returns
    -------
    float or ndarray, shape (L,)
    """
    eigs = check.vector("eigs", eigs, positive=True)
    t = check.reals("t", t)
    m = check.integer("m", m, minimum=1)
    out = np.sum((eigs / (eigs + t[..., None])) ** m, axis=-1)
    return float(out) if out.ndim == 0 else out


# Largest (rows x d) block the kappa solver holds at once (floats); larger lam grids are solved block by block.
_KAPPA_BLOCK = 2**20
_KAPPA_MAX_ITER = 200


def _kappa_block(eigs: np.ndarray, lam: np.ndarray, T: int, k: np.ndarray) -> np.ndarray:
    """Newton from above on ``g(k) = k (T - df_1(k)) / T - lam`` for one block of ``lam`` (each entry needs a root).

    ``g`` is convex (``k df_1(k)`` is concave) with ``g'(k) = (T - df_2(k)) / T > 0`` at and above the largest root,
    so Newton started at ``k >= kappa`` decreases monotonically to ``kappa``. ``T - df_m`` is evaluated in whichever
    of two equal forms does not cancel: ``T - sum r^m`` when ``df_1 <= d/2``, else ``(T - d) + sum (1 - r^m)`` with
    ``1 - r = k/(lambda + k)`` computed directly. An entry is frozen once its step falls below ``1e-14`` relative or
    below the rounding noise of ``g`` (or rounding makes ``g <= 0``): it is then within rounding of the root.
    """
    d = eigs.size
    eps = np.finfo(float).eps
    k = k.copy()
    active = np.arange(lam.size)
    for _ in range(_KAPPA_MAX_ITER):
        ka = k[active][:, None]
        den = eigs + ka
        r = eigs / den                                   # lambda_j / (lambda_j + k)
        f = ka / den                                     # k / (lambda_j + k) = 1 - r, without cancellation
        sr, sf = r.sum(axis=1), f.sum(axis=1)
        use_r = sr <= sf
        slack1 = np.where(use_r, T - sr, (T - d) + sf)                                   # T - df_1(k)
        slack2 = np.where(use_r, T - (r * r).sum(axis=1), (T - d) + (f * (1.0 + r)).sum(axis=1))  # T - df_2(k)
        kk = ka[:, 0]
        g = kk * slack1 / T - lam[active]
        step = g * T / slack2
        # Rounding noise of the step: the sums carry about eps * (T + min(df_1, d - df_1)) * log2(d) absolute error.
        noise = kk * eps * (T + np.minimum(sr, sf)) * (4.0 + np.log2(d)) / slack2
        moving = g > 0
        k[active[moving]] = kk[moving] - step[moving]
        done = ~moving | (step <= np.maximum(1e-14 * kk, noise))
        active = active[~done]
        if active.size == 0:
            return k
    raise RuntimeError("effective_regularization: Newton did not converge; please report this as a bug")


def _kappa(eigs: np.ndarray, lam, T: int) -> np.ndarray:
    """Vectorised solver of ``kappa - lam = kappa df_1(kappa) / T`` (inputs already validated); returns shape (L,)."""
    d = eigs.size
    lam = np.atleast_1d(np.asarray(lam, dtype=float))
    kappa = np.zeros_like(lam)
    # lam = 0 above the threshold: kappa = 0 exactly. Everything else has a unique root kappa > 0.
    todo = np.flatnonzero(~((lam == 0) & (T > d)))
    if todo.size == 0:
        return kappa
    # Start to the right of the root: g(lam + tr(Sigma)/T) >= 0 because k df_1(k) <= tr(Sigma).
    start = lam[todo] + eigs.sum() / T
    block = max(1, _KAPPA_BLOCK // d)
    for i in range(0, todo.size, block):
        idx = todo[i:i + block]
        kappa[idx] = _kappa_block(eigs, lam[idx], T, start[i:i + block])
    return kappa


def effective_regularization(eigs, lam, T: int):
    """Effective regularisation ``kappa(lam, T)`` of ridge regression (result R3).

    The unique positive solution of ``kappa - lam = kappa df_1(kappa) / T``. For ``lam = 0`` it is ``0`` when
    ``T > d`` and the solution of ``df_1(kappa) = T`` when ``T < d``.

    Parameters
    ----------
    eigs : array_like, shape (d,)
        Eigenvalues of the covariance, ``> 0``.
    lam : float or array_like, shape (L,)
        Ridge penalty(ies), ``>= 0``.
    T : int
        Sample size, ``>= 1``; ``T != d`` when ``lam = 0``.

    Returns
    -------
    float or ndarray, shape (L,)
        Relative accuracy better than ``1e-10`` for ``d`` up to ``1e5`` and ``lam`` in ``[0, 1e3]`` (Newton from above
        on a convex function; tests certify it with 50-digit arithmetic).
    """
    eigs = check.vector("eigs", eigs, positive=True)
    lam_arr = check.reals("lam", lam)
    T = check.integer("T", T, minimum=1)
    if T == eigs.size and np.any(lam_arr == 0):
        raise ValueError(f"lam must be > 0 when T = d = {T} (the ridgeless limit diverges at the interpolation threshold)")
    out = _kappa(eigs, lam_arr, T)
    return float(out[0]) if lam_arr.ndim == 0 else out


def _ridge_terms(eigs, w0, sigma, sigma0, T0, T, lam, n) -> ErrorTerms:
    """R3 given validated inputs; ``lam`` is a 0-d or 1-D array."""
    d = eigs.size
    kappa = _kappa(eigs, lam, T)[:, None]
    inv = 1.0 / (eigs + kappa)
    df2 = np.sum((eigs * inv) ** 2, axis=1)
    u = df2 / (T - df2)
    k2 = kappa[:, 0] ** 2
    bias = k2 * np.sum(eigs * w0**2 * inv**2, axis=1) / (1.0 - df2 / T)
    variance = sigma**2 * u
    if n == 0:
        collapse = np.zeros_like(bias)
    else:
        rho = (df2 + k2 * np.sum(inv**2, axis=1) * u) / (T0 - d - 1)
        collapse = n * sigma0**2 * rho
    total = bias + variance + collapse
    squeeze = (lambda a: float(a[0])) if lam.ndim == 0 else (lambda a: a)
    return ErrorTerms(*(squeeze(a) for a in (bias, variance, collapse, total)))


def _check_ridge_args(p_d: int, T, lam, n, T0):
    T = check.integer("T", T, minimum=1)
    lam = check.reals("lam", lam)
    n = check.integer("n", n)
    if T == p_d and np.any(lam == 0):
        raise ValueError(f"lam must be > 0 when T = d = {T} (R3 needs T != d in the ridgeless case)")
    if n > 0 and T0 < p_d + 2:
        raise ValueError(f"T0 must be >= d + 2 = {p_d + 2} for OLS generators in R3, got T0 = {T0}; for "
                         "over-parameterised generators (T0 <= d - 2) use overparam_ridge_test_error")
    return T, lam, n


def ridge_test_error(p: Problem, T: int, lam=0.0, n: int = 0) -> ErrorTerms:
    """Test error of ridge trained on labels of the ``n``-th OLS generation (result R3).

    Deterministic equivalent (exact as ``d, T, T0 -> infinity`` proportionally; accurate to a few per cent
    from ``d ~ 100``)::

        bias     = kappa^2 sum_j lambda_j w0_j^2 / (lambda_j + kappa)^2 / (1 - df_2/T)
        variance = sigma^2 df_2 / (T - df_2)
        collapse = n sigma0^2 [df_2 + kappa^2 sum_j (lambda_j + kappa)^-2 df_2/(T - df_2)] / (T0 - d - 1)

    Parameters
    ----------
    p : Problem
        The problem (covariance spectrum, teacher, noise levels, ``T0``).
    T : int
        Downstream sample size, ``>= 1`` (``!= d`` when ``lam = 0``).
    lam : float or array_like, shape (L,)
        Ridge penalty, ``>= 0``; an array evaluates the whole grid at once.
    n : int
        Number of synthetic generations, ``>= 0``. When ``n > 0``, ``p.T0 >= d + 2`` is required.

    Returns
    -------
    ErrorTerms
        ``bias``, ``variance``, ``collapse`` and ``total`` (floats, or arrays shaped like ``lam``).
    """
    if not isinstance(p, Problem):
        raise ValueError(f"p must be a collapse_lib.Problem, got {type(p).__name__}")
    T, lam, n = _check_ridge_args(p.d, T, lam, n, p.T0)
    return _ridge_terms(p.eigs, p.w0, p.sigma, p.sigma0, p.T0, T, lam, n)


def _isotropic_kappa(lam, phi):
    b = lam + phi - 1.0
    # Two algebraically equal forms; the second avoids cancellation when b < 0 and lam is tiny.
    disc = np.sqrt(b**2 + 4.0 * lam)
    return np.where(b >= 0, (b + disc) / 2.0, 2.0 * lam / np.maximum(disc - b, 1e-300))


def ridge_test_error_isotropic(d: int, T: int, T0: int, lam=0.0, n: int = 0, sigma: float = 1.0,
                               sigma0: float = 1.0, w0_norm2: float = 1.0) -> ErrorTerms:
    """Closed form of :func:`ridge_test_error` when ``Sigma = I`` (result R3, isotropic).

    With ``phi = d/T``, ``kappa = (lam + phi - 1 + sqrt((lam + phi - 1)^2 + 4 lam)) / 2`` and ``q = (1 + kappa)^2``::

        E_test = kappa^2 ||w0||^2/(q - phi) + sigma^2 phi/(q - phi)
                 + n sigma0^2 d/(T0 - d - 1) (q - phi + phi kappa^2) / (q (q - phi))

    Parameters are as in :func:`ridge_test_error`, with ``w0_norm2 = ||w0||^2 >= 0``.
    """
    d = check.integer("d", d, minimum=1)
    T0 = check.integer("T0", T0, minimum=1)
    sigma = check.real("sigma", sigma)
    sigma0 = check.real("sigma0", sigma0)
    w0_norm2 = check.real("w0_norm2", w0_norm2)
    T, lam, n = _check_ridge_args(d, T, lam, n, T0)
    phi = d / T
    kappa = _isotropic_kappa(lam, phi)
    q = (1.0 + kappa) ** 2
    bias = kappa**2 * w0_norm2 / (q - phi)
    variance = sigma**2 * phi / (q - phi)
    collapse = (n * sigma0**2 * d / (T0 - d - 1) * (q - phi + phi * kappa**2) / (q * (q - phi))) if n else 0.0 * bias
    total = bias + variance + collapse
    if lam.ndim == 0:
        return ErrorTerms(float(bias), float(variance), float(collapse), float(total))
    return ErrorTerms(bias, variance, collapse, total)


def _check_overparam(d, T0, w0_norm2, sigma0, n):
    d = check.integer("d", d, minimum=3)
    T0 = check.integer("T0", T0, minimum=1)
    if T0 > d - 2:
        raise ValueError(f"T0 must be <= d - 2 = {d - 2} for over-parameterised (min-norm) generators (R4), got {T0}; "
                         "for T0 >= d + 2 use ols_test_error or ridge_test_error")
    return d, T0, check.real("w0_norm2", w0_norm2), check.real("sigma0", sigma0), check.integer("n", n)


def overparam_chain_error(d: int, T0: int, w0_norm2: float = 1.0, sigma0: float = 0.0, n: int = 1) -> float:
    """``E ||w_hat_n - w0||^2`` for ``n`` min-norm generations with ``T0 < d`` (result R4, isotropic, exact).

    With ``gamma = T0 / d``::

        (1 - gamma^n) ||w0||^2 + sigma0^2 T0/(d - T0 - 1) (1 - gamma^n)/(1 - gamma)

    Without noise (``sigma0 = 0``) the chain forgets the teacher geometrically.

    Parameters
    ----------
    d : int
        Dimension, ``>= 3``.
    T0 : int
        Generator sample size, ``1 <= T0 <= d - 2``.
    w0_norm2 : float
        ``||w0||^2``, ``>= 0``.
    sigma0 : float
        Generator noise standard deviation, ``>= 0``.
    n : int
        Number of generations, ``>= 0``.
    """
    d, T0, w0_norm2, sigma0, n = _check_overparam(d, T0, w0_norm2, sigma0, n)
    gamma = T0 / d
    forget = 1.0 - gamma**n
    return forget * w0_norm2 + sigma0**2 * T0 / (d - T0 - 1) * forget / (1.0 - gamma)


def overparam_ridge_test_error(d: int, T0: int, T: int, lam=0.0, n: int = 1, sigma: float = 1.0,
                               sigma0: float = 0.0, w0_norm2: float = 1.0):
    """Ridge downstream of ``n`` over-parameterised (min-norm, ``T0 < d``) generators, isotropic (result R4).

    With ``A = kappa/(1 + kappa)``, ``B = kappa^2/((1 + kappa)^2 - phi)`` and ``e_n`` from
    :func:`overparam_chain_error`::

        E_test = B ||w0||^2 + 2 (A - B)(1 - gamma^n) ||w0||^2 + (1 - 2A + B) e_n + sigma^2 phi/((1 + kappa)^2 - phi)

    Returns a float, or an array shaped like ``lam``.
    """
    d, T0, w0_norm2, sigma0, n = _check_overparam(d, T0, w0_norm2, sigma0, n)
    sigma = check.real("sigma", sigma)
    T, lam, n = _check_ridge_args(d, T, lam, n, d + 2)
    phi = d / T
    kappa = _isotropic_kappa(lam, phi)
    q = (1.0 + kappa) ** 2
    A = kappa / (1.0 + kappa)
    B = kappa**2 / (q - phi)
    e_n = overparam_chain_error(d, T0, w0_norm2, sigma0, n)
    forget = 1.0 - (T0 / d) ** n
    out = B * w0_norm2 + 2 * (A - B) * forget * w0_norm2 + (1 - 2 * A + B) * e_n + sigma**2 * phi / (q - phi)
    return float(out) if lam.ndim == 0 else out


