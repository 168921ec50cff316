"""Data-driven choices of the ridge penalty (result R6), core: one decomposition of a training set, every ``lam``.

Ridge with the ``1/T`` normalisation, linear (``X``, ``T x d``) or kernel (``K``, ``T x T``), is diagonal in the
eigenbasis of the training Gram matrix ``X X^T / T`` (or ``K / T``): with eigenvalues ``nu_k > 0``, eigenvectors
``u_k`` and label coordinates ``z_k = u_k^T y``, the fitted values are ``sum_k nu_k / (nu_k + lam) z_k u_k``. A
:class:`Spectrum` holds ``(nu, z)`` and the squared norm ``rest`` of the labels outside the span of the ``u_k``; every
curve over a ``lam`` grid is then a cheap vectorised formula:

* GCV (Golub, Heath & Wahba 1979), with ``k`` the number of eigenvalues,
  ``GCV(lam) = T [sum_k (lam/(nu_k + lam))^2 z_k^2 + rest] / (T - k + sum_k lam/(nu_k + lam))^2``, which is
  ``(1/T) ||y - H y||^2 / (1 - tr H / T)^2`` for the hat matrix ``H = K (K + T lam I)^-1``, written without the
  cancellation of ``1 - tr H / T`` at small ``lam``;
* predictions at new inputs ``B (z / (nu + lam))``, with ``B = K_new,train U / T`` for a kernel and
  ``B = X_new X^T U / T`` for linear ridge, whose weights are ``P (z / (nu + lam))`` with ``P = X^T U / T``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _validate as check
from .. import regularization as reg

__all__ = ["Spectrum", "lam_grid", "gcv_curve", "ridge_coefficients", "holdout_curves", "choose",
           "linear_spectrum", "kernel_spectrum", "spectrum_from_eigh", "linear_weights", "kernel_predictions"]


class Spectrum(NamedTuple):
    """Eigendecomposition of training sets, batched over runs: all a ridge path over ``lam`` needs.

    Attributes
    ----------
    nu : ndarray, shape (s, k)
        Positive eigenvalues of the Gram matrix divided by ``T`` (``X X^T / T``, equivalently the nonzero eigenvalues
        of ``X^T X / T``; ``K / T`` for a kernel).
    z : ndarray, shape (s, k)
        Coordinates of the labels along the corresponding unit eigenvectors ``u_k`` of the Gram matrix.
    rest : ndarray, shape (s,)
        Squared norm of the labels outside the span of those eigenvectors (``0`` when ``k = T``).
    T : int
        Number of training samples.
    """

    nu: np.ndarray
    z: np.ndarray
    rest: np.ndarray
    T: int


def lam_grid(lam) -> np.ndarray:
    """Validate a penalty grid: 1-D, at least 2 values, strictly increasing, in ``(0, LAM_MAX]``."""
    arr = check.reals("lam", lam, strict=True)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"lam must be a 1-D grid of at least 2 penalties > 0, got {lam!r}")
    if np.any(np.diff(arr) <= 0):
        raise ValueError("lam must be strictly increasing")
    if arr[-1] > reg.LAM_MAX:
        raise ValueError(f"lam must be <= {reg.LAM_MAX:g}, got {arr[-1]:g}")
    return arr


def _check_spectrum(spec) -> Spectrum:
    if not isinstance(spec, Spectrum):
        raise ValueError(f"spec must be a Spectrum (from linear_spectrum or kernel_spectrum), got {type(spec).__name__}")
    return spec


def gcv_curve(spec: Spectrum, lam) -> np.ndarray:
    """Generalised cross-validation score of ridge over a ``lam`` grid, for every training set of ``spec``.

    ``GCV(lam) = (1/T) ||y - H y||^2 / (1 - tr H / T)^2`` with ``H = K (K + T lam I)^-1`` (linear: ``K = X X^T``),
    evaluated from the eigendecomposition in ``O(k L)`` per run (module docstring).

    Parameters
    ----------
    spec : Spectrum
        Decomposition of ``s`` training sets.
    lam : array_like, shape (L,)
        Increasing penalties, ``> 0``.

    Returns
    -------
    ndarray, shape (s, L)
    """
    spec = _check_spectrum(spec)
    lam = lam_grid(lam)
    shrink = lam[None, :, None] / (spec.nu[:, None, :] + lam[None, :, None])          # (s, L, k): 1 - nu/(nu+lam)
    resid = np.einsum("slk,sk->sl", shrink**2, spec.z**2) + spec.rest[:, None]
    dof_left = (spec.T - spec.nu.shape[1]) + shrink.sum(axis=2)                      # T - tr H, no cancellation
    return spec.T * resid / dof_left**2


def ridge_coefficients(spec: Spectrum, lam) -> np.ndarray:
    """Coefficients ``z_k / (nu_k + lam)`` of the ridge path in the eigenbasis, shape (s, L, k)."""
    spec = _check_spectrum(spec)
    lam = check.reals("lam", lam)
    return spec.z[:, None, :] / (spec.nu[:, None, :] + np.atleast_1d(lam)[None, :, None])


def holdout_curves(residuals, m) -> np.ndarray:
    """Mean squared validation error over nested hold-outs: the first ``m_i`` rows of ``residuals``.

    Parameters
    ----------
    residuals : array_like, shape (s, M, L)
        Validation residuals ``y_i - f_lam(x_i)`` of ``M`` hold-out samples for each of ``L`` penalties.
    m : int or array_like of int, shape (K,)
        Hold-out sizes, ``1 <= m_i <= M``.

    Returns
    -------
    ndarray, shape (s, K, L)
    """
    res = _batch("residuals", residuals, 3, single=False)
    m = _sizes("m", m, maximum=res.shape[1])
    csum = np.cumsum(res**2, axis=1)
    return csum[:, m - 1, :] / m[None, :, None]


def choose(lam, curve, errors=None) -> reg.Choice:
    """The penalty minimising ``curve`` along its last axis, and the test error there.

    Parameters
    ----------
    lam : array_like, shape (L,)
        The grid.
    curve : array_like, shape (..., L)
        Criterion to minimise (GCV, hold-out error).
    errors : array_like, shape (..., L) or None
        Test error of every fit on the grid (broadcast against ``curve``); ``None`` returns ``nan`` errors.

    Returns
    -------
    Choice
        ``lam`` and ``error``, arrays of shape ``curve.shape[:-1]``.
    """
    lam = lam_grid(lam)
    curve = np.asarray(curve, dtype=float)
    if curve.shape[-1] != lam.size:
        raise ValueError(f"curve must have the grid on its last axis (length {lam.size}), got shape {curve.shape}")
    if not np.all(np.isfinite(curve)):
        raise ValueError("curve must be finite everywhere on the grid")
    best = np.argmin(curve, axis=-1)
    if errors is None:
        return reg.Choice(lam[best], np.full(best.shape, np.nan))
    errors = _batch("errors", errors, curve.ndim, single=False) if np.ndim(errors) == curve.ndim else None
    if errors is None or errors.shape != curve.shape:
        raise ValueError(f"errors must have the shape of curve {curve.shape}")
    return reg.Choice(lam[best], np.take_along_axis(errors, best[..., None], axis=-1)[..., 0])


def _sizes(name, m, maximum=None):
    arr = np.atleast_1d(np.asarray(m))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be an integer >= 1 or a 1-D array of them, got {m!r}")
    return np.array([check.integer(name, v, minimum=1, maximum=maximum) for v in arr.tolist()])


# ---------------------------------------------------------------------------------------------------- wrappers
def _batch(name, a, ndim, single=True):
    """``a`` as a finite float array with ``ndim`` dimensions (a batch); ``single`` also accepts one item."""
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {type(a).__name__}") from None
    if single and arr.ndim == ndim - 1:
        arr = arr[None]
    if arr.ndim != ndim or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a finite array with {ndim - 1} or {ndim} dimensions (a batch), got shape "
                         f"{arr.shape}")
    return arr


def linear_spectrum(X, y) -> tuple[Spectrum, np.ndarray]:
    """Decompose materialised linear training sets: ``Spectrum`` and the feature directions ``P``.

    One ``eigh`` of the smaller Gram matrix (``X X^T / T`` when ``T <= d``, else ``X^T X / T``). Eigenvalues at the
    rounding level of a nearly singular design (``T`` close to ``d``, steep spectra) are kept as they are (clipped at
    ``0``): they change a ridge fit only for penalties of that order, far below any grid used in the book.

    Parameters
    ----------
    X : array_like, shape (s, T, d) or (T, d)
        Designs.
    y : array_like, shape (s, T) or (T,)
        Labels.

    Returns
    -------
    spec : Spectrum
        ``k = min(T, d)`` eigenvalues per run.
    P : ndarray, shape (s, d, k)
        ``X^T U / T`` (``U`` the eigenvectors of ``X X^T``): ridge weights are ``P (z / (nu + lam))``
        (:func:`linear_weights`).
    """
    X = _batch("X", X, 3)
    y = _batch("y", y, 2)
    if y.shape != X.shape[:2]:
        raise ValueError(f"y must have shape {X.shape[:2]} (one label per row of X), got {y.shape}")
    T, d = X.shape[1:]
    Xt = np.swapaxes(X, 1, 2)
    if T <= d:
        nu, U = np.linalg.eigh(X @ Xt / T)
        nu = np.maximum(nu, 0.0)
        return Spectrum(nu, np.einsum("stk,st->sk", U, y), np.zeros(X.shape[0]), T), (Xt @ U) / T
    nu, V = np.linalg.eigh(Xt @ X / T)
    if np.any(nu <= 1e-12 * nu[:, -1:]):
        raise ValueError("X must have full column rank d when T > d (its least-squares residual defines GCV); "
                         "a Gaussian design has it with probability one")
    c = np.einsum("sdk,sd->sk", V, np.einsum("sdt,st->sd", Xt, y)) / T             # V^T X^T y / T
    spec, P = _from_covariance(nu, V, c, T, rest=np.zeros(X.shape[0]))
    resid = y - np.einsum("std,sd->st", X, np.einsum("sdk,sk->sd", V, c / spec.nu))   # y minus its OLS fit
    return spec._replace(rest=np.einsum("st,st->s", resid, resid)), P


def _from_covariance(nu, V, c, T, rest):
    """``Spectrum`` and ``P`` from ``eigh(X^T X / T) = (nu, V)`` and ``c = V^T X^T y / T`` (``T > d``).

    ``z = sqrt(T / nu) c`` are the coordinates of ``y`` along ``U = X V / sqrt(T nu)`` and ``P = V sqrt(nu / T)``;
    ``nu`` is floored at the rounding level (``1e-15 max nu``) so that ``z`` stays finite.
    """
    nu = np.maximum(nu, 1e-15 * nu[:, -1:])
    return Spectrum(nu, np.sqrt(T / nu) * c, rest, T), V * np.sqrt(nu / T)[:, None, :]


def kernel_spectrum(K, y) -> tuple[Spectrum, np.ndarray]:
    """Decompose kernel training matrices ``K`` (``T x T``, PSD): ``Spectrum`` and the eigenvectors ``U``.

    Parameters
    ----------
    K : array_like, shape (s, T, T) or (T, T)
        Kernel matrices of the training inputs.
    y : array_like, shape (s, T) or (T,)
        Labels.

    Returns
    -------
    spec : Spectrum
    U : ndarray, shape (s, T, k)
        Kept eigenvectors (:func:`spectrum_from_eigh`).
    """
    K = _batch("K", K, 3)
    y = _batch("y", y, 2)
    T = K.shape[1]
    if K.shape[2] != T or y.shape != K.shape[:2]:
        raise ValueError(f"K must be (s, T, T) and y (s, T); got {K.shape} and {y.shape}")
    vals, vecs = np.linalg.eigh(K)
    return spectrum_from_eigh(vals, vecs, y)


def spectrum_from_eigh(evals, evecs, y) -> tuple[Spectrum, np.ndarray]:
    """``Spectrum`` of kernel training sets from an existing ``numpy.linalg.eigh`` of ``K`` (no new decomposition).

    Eigenvalues below ``1e-12`` times the largest (the numerical rank of a smooth kernel) are dropped: those
    directions count as ``nu = 0`` (fully shrunk) and the labels along them go to ``rest``.

    Parameters
    ----------
    evals : array_like, shape (s, T) or (T,)
        Eigenvalues of ``K`` in increasing order (as ``eigh`` returns them).
    evecs : array_like, shape (s, T, T) or (T, T)
        The eigenvectors (columns).
    y : array_like, shape (s, T) or (T,)
        Labels.

    Returns
    -------
    spec : Spectrum
    U : ndarray, shape (s, T, k)
        Kept eigenvectors (zero columns where a run has fewer than ``k`` kept eigenvalues).
    """
    vals = _batch("evals", evals, 2)
    vecs = _batch("evecs", evecs, 3)
    y = _batch("y", y, 2)
    s, T = vals.shape
    if vecs.shape != (s, T, T) or y.shape != (s, T):
        raise ValueError(f"evals (s, T), evecs (s, T, T) and y (s, T) must agree; got {vals.shape}, {vecs.shape}, "
                         f"{y.shape}")
    keep = vals > 1e-12 * np.maximum(vals[:, -1:], 1e-300)
    k = int(keep.sum(axis=1).max())
    if k == 0:
        raise ValueError("evals must contain a positive eigenvalue (K is zero)")
    z_all = np.einsum("stk,st->sk", vecs, y)
    rest = np.sum(np.where(keep, 0.0, z_all**2), axis=1)          # label energy along the dropped directions
    vals, vecs, keep = vals[:, -k:], vecs[:, :, -k:], keep[:, -k:]
    # A run with fewer kept eigenvalues than k: its extra columns get nu = 1, z = 0 and a zero eigenvector (their
    # label energy is in rest; they add lam/(1 + lam) to the GCV denominator; with a common rank this never occurs).
    z = np.where(keep, z_all[:, -k:], 0.0)
    nu = np.where(keep, vals / T, 1.0)
    return Spectrum(nu, z, rest, T), vecs * keep[:, None, :]


def linear_weights(spec: Spectrum, P, lam) -> np.ndarray:
    """Ridge weights ``w(lam) = P (z / (nu + lam))`` in the eigenbasis of ``Sigma``, shape (s, L, d).

    ``spec`` and ``P`` (shape (s, d, k)) come from :func:`linear_spectrum` (or the Monte Carlo's training sets).
    """
    spec = _check_spectrum(spec)
    P = _batch("P", P, 3, single=False)
    if P.shape[0] != spec.nu.shape[0] or P.shape[2] != spec.nu.shape[1]:
        raise ValueError(f"P must have shape (s, d, k) = ({spec.nu.shape[0]}, d, {spec.nu.shape[1]}) to match spec, "
                         f"got {P.shape}")
    return np.einsum("sdk,slk->sld", P, ridge_coefficients(spec, lam))


def kernel_predictions(spec: Spectrum, U, K_new, lam) -> np.ndarray:
    """Kernel ridge predictions ``K_new U (z / (nu + lam)) / T`` at new inputs.

    Parameters
    ----------
    spec, U : from :func:`kernel_spectrum`
    K_new : array_like, shape (s, N, T) or (N, T)
        Kernel between the new inputs and the training inputs.
    lam : array_like, shape (L,)

    Returns
    -------
    ndarray, shape (s, N, L)
    """
    spec = _check_spectrum(spec)
    s, k = spec.nu.shape
    U = _batch("U", U, 3, single=False)
    if U.shape != (s, spec.T, k):
        raise ValueError(f"U must have shape (s, T, k) = ({s}, {spec.T}, {k}) to match spec, got {U.shape}")
    K_new = _batch("K_new", K_new, 3)
    if K_new.shape[0] not in (1, s) or K_new.shape[2] != spec.T:
        raise ValueError(f"K_new must have shape (s, N, T) or (N, T) with T = {spec.T} training inputs, got "
                         f"{K_new.shape}")
    B = np.einsum("snt,stk->snk", K_new, U) / spec.T
    return np.einsum("snk,slk->snl", B, ridge_coefficients(spec, lam))
