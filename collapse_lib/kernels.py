"""Kernels, kernel ridge regression and the link to the deterministic equivalent (chapter 6, results R7 / R7a).

Kernel ridge regression (KRR) with kernel ``k`` is ridge regression in the kernel's feature space. On a finite *pool*
of ``N`` inputs sampled uniformly, the pool is the population: the feature covariance is the operator ``K/N``, with
eigenvalues ``mu_j`` and eigenvectors ``u_j``. A target ``f`` on the pool has coefficients
``theta_j = u_j^T f / sqrt(N)``; in the eigenbasis the teacher is ``w0_j = theta_j / sqrt(mu_j)``, so
``mu_j w0_j^2 = theta_j^2`` (:func:`empirical_problem`). The linear theory then predicts the pool error of KRR
(:func:`~collapse_lib.kernel_theory.ridge_chain_test_error`, re-exported here).

Normalisation: ``kernel_ridge(K, y, lam)`` returns ``alpha = (K + T lam I)^{-1} y`` with ``T = len(y)``, the kernel
form of the book's ``1/T`` ridge; it equals scikit-learn ``KernelRidge(alpha=T * lam, kernel="precomputed")``.
The Monte-Carlo chain on a pool lives in :mod:`collapse_lib.kernel_chain`.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.linalg

from . import _validate as check
from .problem import Problem
from .kernel_theory import ridge_chain_test_error

__all__ = ["KERNELS", "median_bandwidth", "rbf_kernel", "polynomial_kernel", "kernel_params", "kernel_matrix",
           "kernel_ridge", "kernel_ridge_path", "KernelPool", "make_pool", "teacher_coefficients", "empirical_problem",
           "PowerLawFit", "power_law_fit", "tail_sums", "ridge_chain_test_error"]

KERNELS = ("rbf", "polynomial")


# --------------------------------------------------------------------------------------------------------------------
# kernels


def _matrix(name: str, X, p: int | None = None, rows: int | None = None) -> np.ndarray:
    """A non-empty finite real 2-D array with every ``|entry| <= 1e100`` (so squared norms and products stay finite)."""
    X = check.real_array(name, X, "a 2-D array of real numbers")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (rows = inputs), got shape {X.shape}")
    if p is not None and X.shape[1] != p:
        raise ValueError(f"{name} must have {p} columns, got shape {X.shape}")
    if rows is not None and X.shape[0] != rows:
        raise ValueError(f"{name} must have {rows} rows, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must contain only finite values")
    if np.any(np.abs(X) > check.MAX_SCALE2):
        raise ValueError(f"{name} must have every |entry| <= {check.MAX_SCALE2:g} (larger ones overflow float64 "
                         f"once squared and summed), got {np.abs(X).max():g}")
    return X


def _power_of_two_scale(*arrays) -> float:
    """A power of two ``s`` with ``max |entry| / s`` in ``[0.5, 1)`` (``1`` for all-zero arrays): exact rescaling."""
    top = max(float(np.abs(a).max()) for a in arrays)
    return 1.0 if top == 0 else float(np.ldexp(1.0, np.frexp(top)[1]))


def _sq_dists(X: np.ndarray, Z: np.ndarray) -> np.ndarray:
    d2 = np.sum(X**2, axis=1)[:, None] + np.sum(Z**2, axis=1)[None, :] - 2.0 * X @ Z.T
    return np.maximum(d2, 0.0)


def _spread_rows(n: int, max_points: int) -> np.ndarray:
    """Up to ``max_points`` evenly spaced row indices (deterministic subsample)."""
    return np.unique(np.linspace(0, n - 1, min(n, max_points)).round().astype(int))


def median_bandwidth(X, max_points: int = 1000) -> float:
    """Median heuristic: the median Euclidean distance between distinct rows of ``X``.

    Parameters
    ----------
    X : array_like, shape (n, p)
        Inputs, ``n >= 2``.
    max_points : int
        Use at most this many evenly spaced rows (all pairs among them), ``>= 2``.

    Returns
    -------
    float
        The bandwidth ``h`` (``> 0``).
    """
    X = _matrix("X", X)
    max_points = check.integer("max_points", max_points, minimum=2)
    if X.shape[0] < 2:
        raise ValueError(f"X needs at least 2 rows for the median heuristic, got {X.shape[0]}")
    S = X[_spread_rows(X.shape[0], max_points)]
    s = _power_of_two_scale(S)                 # exact rescaling: tiny inputs do not underflow when squared
    S = S / s
    iu = np.triu_indices(S.shape[0], k=1)
    h = float(np.median(np.sqrt(_sq_dists(S, S)[iu]))) * s
    if h <= 0:
        raise ValueError("median heuristic gives bandwidth 0 (more than half the rows coincide); pass bandwidth > 0")
    return h


def rbf_kernel(X, Z=None, bandwidth: float | None = None) -> np.ndarray:
    """Gaussian (RBF) kernel ``k(x, z) = exp(-||x - z||^2 / (2 h^2))``.

    Equal to scikit-learn ``pairwise_kernels(X, Z, metric="rbf", gamma=1 / (2 h^2))``.

    Parameters
    ----------
    X : array_like, shape (n, p)
    Z : array_like, shape (m, p), optional
        Second set of inputs (default ``X``).
    bandwidth : float, optional
        ``h > 0`` (any finite positive float); default :func:`median_bandwidth` of ``X``.

    Returns
    -------
    ndarray, shape (n, m)
        Entries in ``[0, 1]``. Inputs are rescaled by an exact power of two and the exponent is formed as
        ``(d^2 / h) / h / 2``, so a tiny or huge ``h`` gives the limits (``0`` off the coincident pairs, ``1``) and
        never ``0/0 = nan``.
    """
    X = _matrix("X", X)
    Z = X if Z is None else _matrix("Z", Z, X.shape[1])
    h = median_bandwidth(X) if bandwidth is None else check.real("bandwidth", bandwidth, strict=True)
    s = _power_of_two_scale(X, Z)
    d2 = _sq_dists(X / s, Z / s)                         # squared distances in units of s (exact rescaling)
    hs = h / s
    with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
        arg = (d2 / hs) / hs / 2.0                        # may overflow to inf: exp(-inf) = 0, the limit
    arg[d2 == 0] = 0.0                                   # coincident inputs: k = 1 even if h / s underflowed
    with np.errstate(under="ignore"):
        return np.exp(-arg)


def polynomial_kernel(X, Z=None, degree: int = 3, scale: float | None = None, coef0: float = 1.0) -> np.ndarray:
    """Polynomial kernel ``k(x, z) = (x . z / s + c)^degree``.

    Equal to scikit-learn ``pairwise_kernels(X, Z, metric="poly", degree=degree, gamma=1 / s, coef0=c)``.

    Parameters
    ----------
    X : array_like, shape (n, p)
    Z : array_like, shape (m, p), optional
        Second set of inputs (default ``X``).
    degree : int
        ``>= 1``; the entries must stay below ``1.8e308`` (else ``ValueError``).
    scale : float, optional
        ``s > 0``; default the median of ``||x||^2`` over the rows of ``X`` (so a typical ``x . x / s`` is 1).
    coef0 : float
        ``c >= 0``.

    Returns
    -------
    ndarray, shape (n, m)
    """
    X = _matrix("X", X)
    Z = X if Z is None else _matrix("Z", Z, X.shape[1])
    degree = check.integer("degree", degree, minimum=1)
    coef0 = check.real("coef0", coef0)
    if scale is None:
        scale = float(np.median(np.sum(X**2, axis=1)))
        if scale <= 0:
            raise ValueError("median squared norm of X is 0; pass scale > 0")
    scale = check.real("scale", scale, strict=True)
    with np.errstate(over="ignore", invalid="ignore"):
        K = (X @ Z.T / scale + coef0) ** degree
    check.finite_result("the polynomial kernel", (K,), f"(x . z / scale + coef0)^degree overflows with degree = "
                        f"{degree}, scale = {scale:g}, coef0 = {coef0:g}; decrease degree or coef0, or increase scale")
    return K


_KERNEL_FUNCS = {"rbf": (rbf_kernel, ("bandwidth",)), "polynomial": (polynomial_kernel, ("degree", "scale", "coef0"))}


def kernel_params(kernel: str, X, **params) -> dict:
    """Resolve a kernel's parameters on the inputs ``X`` (fills the median-heuristic defaults).

    Use it once on the pool, so the pool, the held-out set and every fit share one kernel.

    Parameters
    ----------
    kernel : {"rbf", "polynomial"}
    X : array_like, shape (n, p)
    **params
        ``bandwidth`` (rbf); ``degree``, ``scale``, ``coef0`` (polynomial).

    Returns
    -------
    dict
        Every parameter of the kernel with a value.
    """
    if kernel not in _KERNEL_FUNCS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    allowed = _KERNEL_FUNCS[kernel][1]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"{unknown[0]} is not a parameter of the {kernel} kernel; valid: {list(allowed)}")
    X = _matrix("X", X)
    if kernel == "rbf":
        h = params.get("bandwidth")
        return {"bandwidth": median_bandwidth(X) if h is None else check.real("bandwidth", h, strict=True)}
    s = params.get("scale")
    if s is None:
        s = float(np.median(np.sum(X**2, axis=1)))
    return {"degree": check.integer("degree", params.get("degree", 3), minimum=1),
            "scale": check.real("scale", s, strict=True), "coef0": check.real("coef0", params.get("coef0", 1.0))}


def kernel_matrix(kernel: str, X, Z=None, **params) -> np.ndarray:
    """``k(X, Z)`` for a kernel named ``"rbf"`` or ``"polynomial"`` (parameters as in :func:`kernel_params`)."""
    full = kernel_params(kernel, X, **params)
    return _KERNEL_FUNCS[kernel][0](X, Z, **full)


# --------------------------------------------------------------------------------------------------------------------
# kernel ridge regression


def _gram(K_train) -> np.ndarray:
    K = _matrix("K_train", K_train)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"K_train must be square (T, T), got shape {K.shape}")
    return K


def _labels(y, T: int) -> np.ndarray:
    y = check.real_array("y", y, "an array of real labels")
    if y.ndim not in (1, 2) or y.shape[0] != T or (y.ndim == 2 and y.shape[1] == 0):
        raise ValueError(f"y must have shape ({T},) or ({T}, k) with k >= 1 to match K_train, got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y must contain only finite values")
    return y


def kernel_ridge(K_train, y, lam: float) -> np.ndarray:
    """Kernel ridge coefficients ``alpha = (K + T lam I)^{-1} y`` with ``T = len(y)`` (the book's 1/T normalisation).

    The fitted function is ``f(x) = sum_i alpha_i k(x, x_i)``; equal to scikit-learn
    ``KernelRidge(alpha=T * lam, kernel="precomputed")``.

    Parameters
    ----------
    K_train : array_like, shape (T, T)
        Kernel matrix of the training inputs (symmetric positive semi-definite).
    y : array_like, shape (T,) or (T, k)
        Labels (several label vectors at once as columns).
    lam : float
        Ridge penalty: ``0`` (needs a numerically non-singular ``K_train``) or in ``[1e-300, 1.8e308]`` (any finite
        float; where ``T lam`` would overflow the system is solved as ``(K / (T lam) + I) (T lam alpha) = y``).

    Returns
    -------
    ndarray, shape like ``y``
        ``ValueError`` if the coefficients are not representable in float64 (huge ``y`` with a tiny ``lam``).
    """
    K = _gram(K_train)
    T = K.shape[0]
    y = _labels(y, T)
    lam = float(check.penalties("lam", check.real("lam", lam)))
    with np.errstate(over="ignore"):
        big = not np.isfinite(T * lam)
    A = (K / lam / T + np.eye(T)) if big else K + T * lam * np.eye(T)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            alpha = scipy.linalg.solve(A, y, assume_a="pos")
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        raise ValueError(f"K_train + T lam I is singular or not positive definite (lam = {lam}); use lam > 0") from None
    if big:
        with np.errstate(under="ignore"):
            alpha = alpha / lam / T
    check.finite_result("the kernel ridge coefficients", (alpha,), f"|y| is too large for lam = {lam:g}; "
                        "increase lam or rescale y")
    return alpha


def kernel_ridge_path(evals, evecs, y, lam) -> np.ndarray:
    """Kernel ridge coefficients for a whole ``lam`` grid from one eigendecomposition ``K = V diag(evals) V^T``.

    Parameters
    ----------
    evals : array_like, shape (T,)
        Eigenvalues of ``K_train`` (``numpy.linalg.eigh``).
    evecs : array_like, shape (T, T)
        Its eigenvectors (columns).
    y : array_like, shape (T,) or (T, k)
    lam : float or array_like, shape (L,)
        Penalties: ``0`` or in ``[1e-300, 1.8e308]`` (any finite float); every ``evals + T lam`` must be
        ``> 1e-10 max(evals)``. Formed as ``(V^T y / T) / (evals / T + lam)``, so ``T lam`` never overflows.

    Returns
    -------
    ndarray, shape (L,) + y.shape
        ``alpha[l] = (K + T lam_l I)^{-1} y`` (the leading axis is dropped for a scalar ``lam``).
    """
    evals = check.vector("evals", evals, maximum_abs=check.MAX_SCALE2)
    T = evals.size
    V = _matrix("evecs", evecs, T, rows=T)
    y = _labels(y, T)
    lams = check.penalties("lam", lam)
    den = evals[None, :] / T + np.atleast_1d(lams)[:, None]                    # (L, T): (evals + T lam) / T
    if np.any(den <= 1e-10 * max(float(evals.max()), 1e-300) / T):
        raise ValueError("K_train + T lam I is numerically singular for some lam; use larger lam")
    c = V.T @ y / T                                                            # (T,) or (T, k)
    with np.errstate(over="ignore", under="ignore"):
        coef = (c[None] / den) if y.ndim == 1 else (c[None] / den[:, :, None])
        alpha = np.einsum("ij,lj...->li...", V, coef)
    check.finite_result("the kernel ridge coefficients", (alpha,), f"|y| is too large for lam = {lams.min():g}; "
                        "increase lam or rescale y")
    return alpha[0] if lams.ndim == 0 else alpha


# --------------------------------------------------------------------------------------------------------------------
# a pool of real inputs and its spectrum


@dataclass(frozen=True, eq=False)
class KernelPool:
    """A pool of ``N`` inputs (the population of the kernel chain) with a held-out set and one kernel.

    Build it with :func:`make_pool`.

    Attributes
    ----------
    K : ndarray, shape (N, N)
        Kernel matrix of the pool, computed once.
    f : ndarray, shape (N,)
        Clean target on the pool.
    K_test : ndarray, shape (M, N)
        Kernel between held-out inputs and the pool (``M = 0`` when there is no held-out set).
    f_test : ndarray, shape (M,)
        Clean target on the held-out inputs.
    kernel : str
        ``"rbf"`` or ``"polynomial"``.
    params : dict
        The kernel's resolved parameters (:func:`kernel_params`).
    """

    K: np.ndarray
    f: np.ndarray
    K_test: np.ndarray
    f_test: np.ndarray
    kernel: str
    params: dict

    @property
    def N(self) -> int:
        """Pool size."""
        return self.f.size

    @functools.cached_property
    def spectrum(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, U)``: eigenvalues of ``K/N`` in decreasing order, shape (N,), and eigenvectors, shape (N, N).

        Computed once per pool (one ``eigh``) and cached.
        """
        mu, U = np.linalg.eigh(self.K / self.N)
        return mu[::-1].copy(), U[:, ::-1].copy()


def make_pool(X, f, X_test=None, f_test=None, kernel: str = "rbf", **params) -> KernelPool:
    """Compute the kernel matrices of a pool (and a held-out set) once.

    Parameters
    ----------
    X : array_like, shape (N, p)
        Pool inputs (``N >= 2``).
    f : array_like, shape (N,)
        Clean target on the pool (e.g. :func:`collapse_lib.datasets.parity`).
    X_test : array_like, shape (M, p), optional
        Held-out inputs, never used for fitting.
    f_test : array_like, shape (M,), optional
        Clean target on ``X_test``.
    kernel : {"rbf", "polynomial"}
    **params
        Kernel parameters; the defaults (median heuristic) are resolved on the pool ``X``.

    Returns
    -------
    KernelPool
    """
    X = _matrix("X", X)
    f = check.vector("f", f, d=X.shape[0])
    if X.shape[0] < 2:
        raise ValueError(f"the pool needs at least 2 inputs, got {X.shape[0]}")
    full = kernel_params(kernel, X, **params)
    if (X_test is None) != (f_test is None):
        raise ValueError("pass both X_test and f_test, or neither")
    func = _KERNEL_FUNCS[kernel][0]
    if X_test is None:
        K_test, f_test = np.zeros((0, X.shape[0])), np.zeros(0)
    else:
        X_test = _matrix("X_test", X_test, X.shape[1])
        f_test = check.vector("f_test", f_test, d=X_test.shape[0])
        K_test = func(X_test, X, **full)
    K = func(X, None, **full)
    K = (K + K.T) / 2.0                                        # exactly symmetric
    for a in (K, K_test):
        a.setflags(write=False)
    return KernelPool(K=K, f=f, K_test=K_test, f_test=f_test, kernel=kernel, params=full)


def teacher_coefficients(pool: KernelPool) -> np.ndarray:
    """Coefficients ``theta_j = u_j^T f / sqrt(N)`` of the pool target on the eigenvectors of ``K/N`` (R7a).

    ``sum_j theta_j^2`` equals the mean square of ``f`` on the pool. Shape (N,), in the order of
    ``pool.spectrum`` (decreasing eigenvalue).
    """
    if not isinstance(pool, KernelPool):
        raise ValueError(f"pool must be a KernelPool (make_pool), got {type(pool).__name__}")
    return pool.spectrum[1].T @ pool.f / np.sqrt(pool.N)


def empirical_problem(pool: KernelPool, sigma: float = 1.0, sigma0: float = 1.0, T0: int = 600,
                      rel_floor: float = 1e-12) -> Problem:
    """The pool as a :class:`~collapse_lib.Problem` (R7a): ``eigs = mu_j``, ``w0_j = theta_j / sqrt(mu_j)``.

    Eigenvalues below ``rel_floor * mu_1`` (rounding noise of a numerically low-rank kernel matrix, possibly
    negative) are raised to that floor, keeping ``theta_j^2 = mu_j w0_j^2``: the null-predictor error
    ``Problem.signal`` stays the mean square of the target.

    Parameters
    ----------
    pool : KernelPool
    sigma, sigma0 : float
        Downstream and generator label-noise standard deviations, ``>= 0``.
    T0 : int
        Generator sample size, ``1 <= T0 <= N``.
    rel_floor : float
        Relative eigenvalue floor, in ``(0, 1)``.

    Returns
    -------
    Problem
        ``d = N``.
    """
    theta = teacher_coefficients(pool)
    T0 = check.integer("T0", T0, minimum=1, maximum=pool.N)
    rel_floor = check.real("rel_floor", rel_floor, strict=True, maximum=1.0)
    mu = pool.spectrum[0]
    if mu[0] <= 0:
        raise ValueError("the pool kernel matrix has no positive eigenvalue")
    eigs = np.maximum(mu, rel_floor * mu[0])
    return Problem(eigs=eigs, w0=theta / np.sqrt(eigs), sigma=sigma, sigma0=sigma0, T0=T0)


class PowerLawFit(NamedTuple):
    """Least-squares fit ``values_j ~ prefactor * j^(-exponent)`` on the index window ``lo <= j <= hi`` (1-based)."""

    exponent: float
    prefactor: float
    lo: int
    hi: int
    r2: float


def power_law_fit(values, lo: int = 1, hi: int | None = None) -> PowerLawFit:
    """Fit ``log values_j = log c - exponent * log j`` by least squares on ``lo <= j <= hi`` (``j`` from 1).

    Parameters
    ----------
    values : array_like, shape (n,)
        Positive on the window (e.g. the eigenvalues ``mu_j``: ``exponent`` estimates ``beta``).
    lo, hi : int
        Window, ``1 <= lo < hi <= n`` (default ``hi = n``), at least 3 points.

    Returns
    -------
    PowerLawFit
        ``exponent``, ``prefactor``, the window and the ``R^2`` of the fit in log-log coordinates.
    """
    v = check.vector("values", values)
    hi = v.size if hi is None else hi
    lo = check.integer("lo", lo, minimum=1)
    hi = check.integer("hi", hi, minimum=lo + 2, maximum=v.size)
    j = np.arange(lo, hi + 1, dtype=float)
    w = v[lo - 1:hi]
    if np.any(w <= 0):
        raise ValueError(f"values must be > 0 on the window [{lo}, {hi}] to fit a power law")
    x, z = np.log(j), np.log(w)
    slope, icpt = np.polyfit(x, z, 1)
    resid = z - (icpt + slope * x)
    ss_tot = float(((z - z.mean()) ** 2).sum())
    r2 = 1.0 if ss_tot == 0 else 1.0 - float(resid @ resid) / ss_tot     # constant values: an exact fit
    with np.errstate(over="ignore", under="ignore"):
        prefactor = float(np.exp(icpt))
    check.finite_result("the fitted prefactor", (prefactor,), f"log prefactor = {icpt:.6g} exceeds 709; "
                        "rescale values")
    return PowerLawFit(exponent=float(-slope), prefactor=prefactor, lo=lo, hi=hi, r2=r2)


def tail_sums(theta) -> np.ndarray:
    """``sum_{k >= j} theta_k^2`` for every ``j`` (shape (n,)): a smooth summary of the target's coefficients.

    For a source condition ``theta_j^2 ~ j^(-1 - 2 beta r)`` it decays like ``j^(-2 beta r)``. Every
    ``|theta_j| <= 1e50`` (so the squares and their sums stay finite).
    """
    theta = check.vector("theta", theta, maximum_abs=check.MAX_SCALE)
    return np.cumsum((theta**2)[::-1])[::-1]
