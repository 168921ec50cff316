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
        Eigenvalues, in ``[1e-100, 1e100]``.
    t : float or array_like, shape (L,)
        Regularisation level(s), finite and ``>= 0``.
    m : int
        Power, in ``[1, 2**53]``.

    Returns
    -------
    float or ndarray, shape (L,)
    """
    eigs = check.eigenvalues("eigs", eigs)
    t = check.reals("t", t)
    m = check.integer("m", m, minimum=1)
    out = np.sum((eigs / (eigs + t[..., None])) ** m, axis=-1)
    return float(out) if out.ndim == 0 else out


# Largest (rows x d) block the kappa solver holds at once (floats); larger lam grids are solved block by block.
_KAPPA_BLOCK = 2**20
_KAPPA_MAX_ITER = 200
# Bisect (geometrically) until the bracket's ends are within this factor, then polish by Newton from above.
_KAPPA_BRACKET_RATIO = 4.0


def _slacks(eigs: np.ndarray, k: np.ndarray, T: int):
    """``T - df_1(k)``, ``T - df_2(k)``, ``df_1 - df_2`` and the size of the terms, for ``k`` of shape (L, 1).

    Each eigenvalue enters through whichever of ``r = lambda/(lambda + k)`` and ``f = 1 - r = k/(lambda + k)`` is
    at most 1/2 (both computed directly): with ``B = {j : lambda_j > k}``,
    ``T - df_m = (T - |B|) - sum_{j not in B} r_j^m + sum_{j in B} (1 - r_j^m)``, where ``1 - r^2 = f (1 + r)``.
    No term is ``1 -`` something close to 1, so the only cancellation left is between three sums whose size is
    returned as ``terms`` (the rounding error of the slacks is about ``eps * terms * log2(d)``). At ``T = d`` and
    small ``k`` every eigenvalue is in ``B`` and the slacks are sums of positive terms, accurate however small.

    Returns
    -------
    r, f : ndarray, shape (L, d)
    slack1, slack2, rf, terms : ndarray, shape (L,)
        ``T - df_1``, ``T - df_2``, ``df_1 - df_2 = sum r f`` (no cancellation) and the rounding scale of ``slack1``.
    """
    den = eigs + k
    r = eigs / den                                   # lambda_j / (lambda_j + k)
    f = np.divide(k, den, out=den)                   # k / (lambda_j + k) = 1 - r, without cancellation
    big = eigs > k                                   # B: r > 1/2
    nb = big.sum(axis=1)
    term1 = np.where(big, f, -r)                     # signed terms of T - df_1 beyond the integer T - |B|
    rf = np.einsum("ij,ij->i", r, f)
    slack1 = (T - nb) + term1.sum(axis=1)
    # Terms of T - df_2: f (1 + r) on B, -r^2 elsewhere, i.e. term1 * (r + [j in B]).
    r_big = np.add(r, big, out=np.empty_like(r))
    slack2 = (T - nb) + np.einsum("ij,ij->i", term1, r_big)
    terms = np.abs(T - nb) + np.abs(term1, out=term1).sum(axis=1)
    return r, f, slack1, slack2, rf, terms


def _g(eigs: np.ndarray, k: np.ndarray, lam: np.ndarray, T: int) -> np.ndarray:
    """``g(k) = k (T - df_1(k)) / T - lam``, ordered so that no product overflows; ``k``, ``lam`` of shape (L,)."""
    return k * (_slacks(eigs, k[:, None], T)[2] / T) - lam


def _kappa_bracket(eigs: np.ndarray, lam: np.ndarray, T: int):
    """Bounds ``lo <= kappa <= hi`` (``g(lo) <= 0 <= g(hi)``, ``lo > 0``) for entries with a positive root.

    Upper: ``lam + tr(Sigma)/T`` always (``k df_1(k) <= tr(Sigma)``); ``lam T/(T - d)`` when ``T > d``; and for
    ``T >= d`` the root ``h + sqrt(h^2 + lam T mu_max/d)``, ``h = lam T/(2d)``, of ``d k^2 = lam T (mu_max + k)``
    (from ``T - df_1(k) >= T - d + d k/(mu_max + k)``). Lower: ``lam`` always; for ``T >= d`` the positive root of
    ``S k^2 + (T - d) k = lam T`` with ``S = sum 1/mu_j`` (from ``1 - r_j <= k/mu_j``); for ``T < d`` (where
    ``kappa >= kappa(0) > 0``) the ``2T``-th largest eigenvalue when ``2T <= d`` (above it ``df_1 > T``) and
    ``mu_min (d - T)/T``.
    """
    d = eigs.size
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        hi = lam + eigs.sum() / T
        lo = lam.copy()
        if T > d:
            hi = np.minimum(hi, lam * (T / (T - d)))
        if T >= d:
            h = lam * (T / (2.0 * d))
            hi = np.minimum(hi, h + np.hypot(h, np.sqrt(lam * (T / d)) * np.sqrt(eigs.max())))
            root = 2.0 * lam * T / ((T - d) + np.hypot(T - d, 2.0 * np.sqrt(np.sum(1.0 / eigs)) * np.sqrt(lam * T)))
            lo = np.maximum(lo, np.nan_to_num(root, nan=0.0, posinf=0.0))
        else:
            floor = eigs.min() * (d - T) / T
            if 2 * T <= d:
                floor = max(floor, np.sort(eigs)[d - 2 * T])
            lo = np.maximum(lo, floor)
    return np.minimum(lo, hi), hi


def _kappa_block(eigs: np.ndarray, lam: np.ndarray, T: int) -> np.ndarray:
    """Solve ``g(k) = k (T - df_1(k)) / T - lam = 0`` for one block of ``lam`` (each entry has a root ``> 0``).

    ``g`` is convex (``k df_1(k)`` is concave) with ``g'(k) = (T - df_2(k)) / T > 0`` at and above the largest root.
    The bracket of :func:`_kappa_bracket` is first narrowed by geometric bisection to a factor
    ``_KAPPA_BRACKET_RATIO`` (about ``log2 log2`` of its initial ratio: a handful of steps even for ``lam = 1e-300``),
    then Newton from its upper end decreases monotonically to ``kappa``. The Newton update is written as
    ``k' = (k (df_1 - df_2) + lam T) / (T - df_2)`` with ``df_1 - df_2 = sum r f`` (no cancellation, ``k' > 0``).
    An entry is frozen once its step falls below ``1e-14`` relative or below the rounding noise of ``g`` (or
    rounding makes ``g <= 0``): it is then within rounding of the root.
    """
    d = eigs.size
    eps = np.finfo(float).eps
    lo, hi = _kappa_bracket(eigs, lam, T)
    wide = np.flatnonzero(hi / _KAPPA_BRACKET_RATIO > lo)
    while wide.size:
        mid = np.sqrt(lo[wide]) * np.sqrt(hi[wide])
        above = _g(eigs, mid, lam[wide], T) > 0
        hi[wide[above]] = mid[above]
        lo[wide[~above]] = mid[~above]
        wide = wide[hi[wide] / _KAPPA_BRACKET_RATIO > lo[wide]]
    k = hi
    active = np.arange(lam.size)
    for _ in range(_KAPPA_MAX_ITER):
        kk = k[active]
        _, _, slack1, slack2, rf, terms = _slacks(eigs, kk[:, None], T)
        la = lam[active]
        g = kk * (slack1 / T) - la
        new = kk * (rf / slack2) + la * (T / slack2)
        step = kk - new
        # Rounding noise of the step: slack1 carries about eps * terms * log2(d) absolute error.
        noise = kk * (eps * terms * (4.0 + np.log2(d)) / slack2)
        moving = g > 0
        k[active[moving]] = new[moving]
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
    block = max(1, _KAPPA_BLOCK // d)
    for i in range(0, todo.size, block):
        idx = todo[i:i + block]
        kappa[idx] = _kappa_block(eigs, lam[idx], T)
    return kappa


def effective_regularization(eigs, lam, T: int):
    """Effective regularisation ``kappa(lam, T)`` of ridge regression (result R3).

    The unique positive solution of ``kappa - lam = kappa df_1(kappa) / T``. For ``lam = 0`` it is ``0`` when
    ``T > d`` and the solution of ``df_1(kappa) = T`` when ``T < d``.

    Parameters
    ----------
    eigs : array_like, shape (d,)
        Eigenvalues of the covariance, in ``[1e-100, 1e100]``.
    lam : float or array_like, shape (L,)
        Ridge penalty(ies): ``0`` or in ``[1e-300, 1.8e308]`` (every finite float ``>= 1e-300``; below it float64 is
        sub-normal). For huge ``lam``, ``kappa = lam + tr(Sigma)/T`` to first order.
    T : int
        Sample size, in ``[1, 2**53]``; ``T != d`` when ``lam = 0``.

    Returns
    -------
    float or ndarray, shape (L,)
        Relative accuracy better than ``1e-10`` over the whole accepted range (a bracket narrowed geometrically,
        then Newton from above on a convex function with cancellation-free slacks; tests certify it with
        high-precision decimal arithmetic for ``d`` up to ``1e5``, ``lam`` from ``1e-300`` to ``1.8e308``, including
        ``T = d`` where ``kappa ~ sqrt(lam T / sum_j 1/lambda_j)``).
    """
    eigs = check.eigenvalues("eigs", eigs)
    lam_arr = check.penalties("lam", lam)
    T = check.integer("T", T, minimum=1)
    if T == eigs.size and np.any(lam_arr == 0):
        raise ValueError(f"lam must be > 0 when T = d = {T} (the ridgeless limit diverges at the interpolation threshold)")
    out = _kappa(eigs, lam_arr, T)
    return float(out[0]) if lam_arr.ndim == 0 else out


def _ridge_terms(eigs, w0, sigma, sigma0, T0, T, lam, n) -> ErrorTerms:
    """R3 given validated inputs; ``lam`` is a 0-d or 1-D array.

    Computed in the forms that stay finite for every accepted input: ``kappa / (lambda_j + kappa)`` instead of
    ``kappa^2`` times ``(lambda_j + kappa)^-2`` (``kappa^2`` overflows from ``lam ~ 1e154``), and ``T - df_2`` from
    :func:`_slacks` (no cancellation when ``df_2`` is close to ``T``, i.e. ``T = d`` with a tiny ``lam``).
    """
    d = eigs.size
    kappa = _kappa(eigs, lam, T)[:, None]
    r, f, _, slack2, _, _ = _slacks(eigs, kappa, T)
    df2 = np.sum(r * r, axis=1)
    u = df2 / slack2                                   # df_2 / (T - df_2)
    bias = np.sum(eigs * w0**2 * f * f, axis=1) * (T / slack2)
    variance = sigma**2 * u
    if n == 0:
        collapse = np.zeros_like(bias)
    else:
        rho = (df2 + np.sum(f * f, axis=1) * u) / (T0 - d - 1)
        collapse = n * sigma0**2 * rho
    total = bias + variance + collapse
    check.finite_result("the test error (R3)", (total,), f"lam = {lam.min():g} is too close to 0 at T = {T} "
                        f"near d = {d}, where the error diverges; increase lam or decrease sigma, sigma0 or n")
    squeeze = (lambda a: float(a[0])) if lam.ndim == 0 else (lambda a: a)
    return ErrorTerms(*(squeeze(a) for a in (bias, variance, collapse, total)))


def _check_ridge_args(p_d: int, T, lam, n, T0):
    T = check.integer("T", T, minimum=1)
    lam = check.penalties("lam", lam)
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
        Downstream sample size, in ``[1, 2**53]`` (``!= d`` when ``lam = 0``).
    lam : float or array_like, shape (L,)
        Ridge penalty: ``0`` or in ``[1e-300, 1.8e308]``; an array evaluates the whole grid at once. As
        ``lam -> infinity`` the error tends to ``p.signal`` (the null predictor's); the terms are computed in a
        form that stays finite for every accepted ``lam``.
    n : int
        Number of synthetic generations, in ``[0, 2**53]``. When ``n > 0``, ``p.T0 >= d + 2`` is required.

    Returns
    -------
    ErrorTerms
        ``bias``, ``variance``, ``collapse`` and ``total`` (floats, or arrays shaped like ``lam``).
    """
    if not isinstance(p, Problem):
        raise ValueError(f"p must be a collapse_lib.Problem, got {type(p).__name__}")
    T, lam, n = _check_ridge_args(p.d, T, lam, n, p.T0)
    return _ridge_terms(p.eigs, p.w0, p.sigma, p.sigma0, p.T0, T, lam, n)


def _isotropic_kappa(lam, d: int, T: int):
    """``kappa = (b + sqrt(b^2 + 4 lam)) / 2`` with ``b = lam + (d - T)/T``, finite for every finite ``lam``.

    Two algebraically equal forms; the second avoids cancellation when ``b < 0`` and ``lam`` is tiny. ``hypot``
    and the halves keep ``b^2`` and ``b + disc`` from overflowing when ``lam`` is huge.
    """
    b = lam + (d - T) / T
    disc = np.hypot(b, 2.0 * np.sqrt(lam))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b >= 0, b / 2.0 + disc / 2.0, lam / ((disc - b) / 2.0))


def _isotropic_parts(lam, d: int, T: int):
    """``(kappa, a, s2, D)`` of the isotropic closed forms, each finite for every accepted input.

    ``a = kappa/(1 + kappa)``, ``s2 = (1 + kappa)^-2`` and ``D = ((1 + kappa)^2 - phi) / (1 + kappa)^2``, computed as
    ``s2 (1 - phi) + a (1 + s)`` with ``s = 1/(1 + kappa)`` and ``1 - phi = (T - d)/T``: no ``kappa^2`` (overflow
    from ``lam ~ 1e154``) and no ``(1 + kappa)^2 - 1`` (cancellation at ``T = d`` with a tiny ``lam``).
    """
    kappa = _isotropic_kappa(lam, d, T)
    s = 1.0 / (1.0 + kappa)
    a = kappa * s
    s2 = s * s
    return kappa, a, s2, s2 * ((T - d) / T) + a * (1.0 + s)


def ridge_test_error_isotropic(d: int, T: int, T0: int, lam=0.0, n: int = 0, sigma: float = 1.0,
                               sigma0: float = 1.0, w0_norm2: float = 1.0) -> ErrorTerms:
    """Closed form of :func:`ridge_test_error` when ``Sigma = I`` (result R3, isotropic).

    With ``phi = d/T``, ``kappa = (lam + phi - 1 + sqrt((lam + phi - 1)^2 + 4 lam)) / 2`` and ``q = (1 + kappa)^2``::

        E_test = kappa^2 ||w0||^2/(q - phi) + sigma^2 phi/(q - phi)
                 + n sigma0^2 d/(T0 - d - 1) (q - phi + phi kappa^2) / (q (q - phi))

    evaluated in a form that stays finite for every finite ``lam`` (as ``lam -> infinity`` the error tends to
    ``||w0||^2``, the null predictor's). The collapse term is exactly ``0`` when ``n = 0``.

    Parameters
    ----------
    d : int
        Dimension, in ``[1, 2**53]``.
    T : int
        Downstream sample size, in ``[1, 2**53]`` (``!= d`` when ``lam = 0``).
    T0 : int
        Generator sample size, in ``[1, 2**53]``; ``>= d + 2`` when ``n > 0``.
    lam : float or array_like, shape (L,)
        Ridge penalty: ``0`` or in ``[1e-300, 1.8e308]`` (any finite float ``>= 1e-300``).
    n : int
        Number of synthetic generations, in ``[0, 2**53]``.
    sigma, sigma0 : float
        Downstream and generator noise standard deviations, in ``[0, 1e50]``.
    w0_norm2 : float
        ``||w0||^2``, in ``[0, 1e100]``.

    Returns
    -------
    ErrorTerms
        Floats, or arrays shaped like ``lam``.
    """
    d = check.integer("d", d, minimum=1)
    T0 = check.integer("T0", T0, minimum=1)
    sigma = check.scale("sigma", sigma)
    sigma0 = check.scale("sigma0", sigma0)
    w0_norm2 = check.real("w0_norm2", w0_norm2, maximum=check.MAX_SCALE2)
    T, lam, n = _check_ridge_args(d, T, lam, n, T0)
    phi = d / T
    _, a, s2, D = _isotropic_parts(lam, d, T)
    bias = w0_norm2 * a * a / D
    variance = sigma**2 * phi * s2 / D
    if n:
        collapse = n * sigma0**2 * (d / (T0 - d - 1)) * s2 * (D + phi * a * a) / D
    else:
        collapse = np.zeros_like(bias)
    total = bias + variance + collapse
    check.finite_result("the test error (R3, isotropic)", (total,), f"lam = {np.min(lam):g} is too close to 0 at "
                        f"T = d = {d}, where the error diverges; increase lam or decrease sigma, sigma0 or n")
    if lam.ndim == 0:
        return ErrorTerms(float(bias), float(variance), float(collapse), float(total))
    return ErrorTerms(bias, variance, collapse, total)


def _check_overparam(d, T0, w0_norm2, sigma0, n):
    d = check.integer("d", d, minimum=3)
    T0 = check.integer("T0", T0, minimum=1)
    if T0 > d - 2:
        raise ValueError(f"T0 must be <= d - 2 = {d - 2} for over-parameterised (min-norm) generators (R4), got {T0}; "
                         "for T0 >= d + 2 use ols_test_error or ridge_test_error")
    return (d, T0, check.real("w0_norm2", w0_norm2, maximum=check.MAX_SCALE2), check.scale("sigma0", sigma0),
            check.integer("n", n))


def overparam_chain_error(d: int, T0: int, w0_norm2: float = 1.0, sigma0: float = 0.0, n: int = 1) -> float:
    """``E ||w_hat_n - w0||^2`` for ``n`` min-norm generations with ``T0 < d`` (result R4, isotropic, exact).

    With ``gamma = T0 / d``::

        (1 - gamma^n) ||w0||^2 + sigma0^2 T0/(d - T0 - 1) (1 - gamma^n)/(1 - gamma)

    Without noise (``sigma0 = 0``) the chain forgets the teacher geometrically.

    Parameters
    ----------
    d : int
        Dimension, in ``[3, 2**53]``.
    T0 : int
        Generator sample size, ``1 <= T0 <= d - 2``.
    w0_norm2 : float
        ``||w0||^2``, in ``[0, 1e100]``.
    sigma0 : float
        Generator noise standard deviation, in ``[0, 1e50]``.
    n : int
        Number of generations, in ``[0, 2**53]``.
    """
    d, T0, w0_norm2, sigma0, n = _check_overparam(d, T0, w0_norm2, sigma0, n)
    gamma = T0 / d
    forget = -np.expm1(n * np.log(gamma))               # 1 - gamma^n, accurate when gamma^n is close to 1
    return forget * w0_norm2 + sigma0**2 * T0 / (d - T0 - 1) * forget / ((d - T0) / d)


def overparam_ridge_test_error(d: int, T0: int, T: int, lam=0.0, n: int = 1, sigma: float = 1.0,
                               sigma0: float = 0.0, w0_norm2: float = 1.0):
    """Ridge downstream of ``n`` over-parameterised (min-norm, ``T0 < d``) generators, isotropic (result R4).

    With ``A = kappa/(1 + kappa)``, ``B = kappa^2/((1 + kappa)^2 - phi)`` and ``e_n`` from
    :func:`overparam_chain_error`::

        E_test = B ||w0||^2 + 2 (A - B)(1 - gamma^n) ||w0||^2 + (1 - 2A + B) e_n + sigma^2 phi/((1 + kappa)^2 - phi)

    evaluated in the overflow-free form of :func:`ridge_test_error_isotropic`. Ranges: ``d`` in ``[3, 2**53]``,
    ``1 <= T0 <= d - 2``, ``T`` in ``[1, 2**53]`` (``!= d`` when ``lam = 0``), ``lam`` ``0`` or in
    ``[1e-300, 1.8e308]``, ``n`` in ``[0, 2**53]``, ``sigma, sigma0`` in ``[0, 1e50]``, ``w0_norm2`` in ``[0, 1e100]``.

    Returns a float, or an array shaped like ``lam``.
    """
    d, T0, w0_norm2, sigma0, n = _check_overparam(d, T0, w0_norm2, sigma0, n)
    sigma = check.scale("sigma", sigma)
    T, lam, n = _check_ridge_args(d, T, lam, n, d + 2)
    phi = d / T
    _, A, s2, D = _isotropic_parts(lam, d, T)
    B = A * A / D
    e_n = overparam_chain_error(d, T0, w0_norm2, sigma0, n)
    forget = -np.expm1(n * np.log(T0 / d))
    out = B * w0_norm2 + 2 * (A - B) * forget * w0_norm2 + (1 - 2 * A + B) * e_n + sigma**2 * phi * s2 / D
    check.finite_result("the test error (R4 with ridge)", (out,), f"lam = {np.min(lam):g} is too close to 0 at "
                        f"T = d = {d}, where the error diverges; increase lam or decrease sigma")
    return float(out) if lam.ndim == 0 else out
