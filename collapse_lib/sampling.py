"""Exact samplers for Gaussian designs in the eigenbasis of ``Sigma`` (theory.md section 4).

A least-squares or ridge fit on ``T >= d`` rows depends on the data only through ``G = X^T X`` and ``c = X^T E``.
Writing the Gaussian design as ``X = Z Lambda^{1/2}`` and ``Z = Q R`` (QR), Bartlett's decomposition gives ``R``
directly: upper triangular with ``R_ii^2 ~ chi^2_{T-i+1}`` and standard normals above the diagonal, and
``Q^T E ~ N(0, s^2 I_d)`` independent of ``R``. Sampling ``(R, Q^T E)`` costs ``O(d^2)`` whatever ``T`` is.
:func:`design` materialises ``X`` and is the reference the fast sampler is tested against.
"""
from __future__ import annotations

import numpy as np

from . import _validate as check

__all__ = ["bartlett_factor", "design", "sufficient_stats"]


def bartlett_factor(rng, d: int, T: int, size: int) -> np.ndarray:
    """Upper-triangular ``R`` with ``R^T R ~ Wishart_d(T, I)`` (Bartlett decomposition), for ``T >= d``.

    Parameters
    ----------
    rng : int, Generator or None
        Source of randomness.
    d : int
        Dimension, ``>= 1``.
    T : int
        Degrees of freedom (number of rows of the implied design), ``>= d``.
    size : int
        Number of independent draws, ``>= 1``.

    Returns
    -------
    ndarray, shape (size, d, d)
    """
    rng = check.rng(rng)
    d = check.integer("d", d, minimum=1)
    T = check.integer("T", T, minimum=d)
    size = check.integer("size", size, minimum=1)
    R = np.zeros((size, d, d))
    iu = np.triu_indices(d, k=1)
    R[:, iu[0], iu[1]] = rng.standard_normal((size, iu[0].size))
    idx = np.arange(d)
    R[:, idx, idx] = np.sqrt(rng.chisquare(T - idx, size=(size, d)))
    return R


def design(rng, eigs, T: int, size: int) -> np.ndarray:
    """Materialised Gaussian designs ``X = Z Lambda^{1/2}``, rows iid ``N(0, diag(eigs))``.

    Returns
    -------
    ndarray, shape (size, T, d)
    """
    rng = check.rng(rng)
    eigs = check.vector("eigs", eigs, positive=True)
    T = check.integer("T", T, minimum=1)
    size = check.integer("size", size, minimum=1)
    return rng.standard_normal((size, T, eigs.size)) * np.sqrt(eigs)


def sufficient_stats(rng, eigs, T: int, noise_std: float, size: int, method: str = "bartlett"):
    """Draw ``(G, c) = (X^T X, X^T E)`` for Gaussian ``X`` (``T x d``) and noise ``E ~ N(0, noise_std^2 I_T)``.

    Parameters
    ----------
    rng : int, Generator or None
    eigs : array_like, shape (d,)
        Eigenvalues of ``Sigma``, ``> 0``.
    T : int
        Rows, ``>= d`` for ``method="bartlett"``, ``>= 1`` for ``"plain"``.
    noise_std : float
        Noise standard deviation, ``>= 0``.
    size : int
        Number of independent draws.
    method : {"bartlett", "plain"}
        ``"bartlett"``: cost independent of ``T``; ``"plain"``: materialise ``X`` and ``E`` (reference).

    Returns
    -------
    G : ndarray, shape (size, d, d)
    c : ndarray, shape (size, d)
    """
    rng = check.rng(rng)
    eigs = check.vector("eigs", eigs, positive=True)
    noise_std = check.real("noise_std", noise_std)
    root = np.sqrt(eigs)
    if method == "bartlett":
        R = bartlett_factor(rng, eigs.size, T, size)
        g = noise_std * rng.standard_normal((size, eigs.size))
        RtR = np.swapaxes(R, 1, 2) @ R
        G = RtR * root[:, None] * root[None, :]
        c = root * np.einsum("sji,sj->si", R, g)
        return G, c
    if method == "plain":
        X = design(rng, eigs, T, size)
        E = noise_std * rng.standard_normal((size, X.shape[1]))
        return np.swapaxes(X, 1, 2) @ X, np.einsum("sti,st->si", X, E)
    raise ValueError(f"method must be 'bartlett' or 'plain', got {method!r}")
