"""Exact samplers for Gaussian designs in the eigenbasis of ``Sigma``.

A least-squares or ridge fit on ``T >= d`` rows depends on the data only through ``G = X^T X`` and ``c = X^T E``.
Writing the Gaussian design as ``X = Z Lambda^{1/2}`` and ``Z = Q R`` (QR), Bartlett's decomposition gives ``R``
directly: upper triangular with ``R_ii^2 ~ chi^2_{T-i+1}`` and standard normals above the diagonal, and
``Q^T E ~ N(0, s^2 I_d)`` independent of ``R``. Sampling ``(R, Q^T E)`` costs ``O(d^2)`` whatever ``T`` is.
:func:`design` materialises ``X`` and is the reference the fast sampler is tested against.

For an OLS fit only ``R^{-1} Q^T E`` is needed (``w_hat = w + Lambda^{-1/2} R^{-1} Q^T E``), and
:func:`ols_noise` samples it exactly in ``O(d)`` per draw: in the back substitution ``x_i = (g_i - sum_{j>i} R_ij x_j)
/ R_ii`` the row ``(R_ii, R_{i,j>i}, g_i)`` is independent of ``x_{>i}``, so given ``x_{>i}`` the numerator is
``N(0, s^2 + ||x_{>i}||^2)``; hence ``x_i = sqrt(s^2 + ||x_{>i}||^2) z_i / R_ii`` with ``z_i ~ N(0, 1)``, and
``s^2 + ||x_{>i}||^2 = s^2 prod_{j>i} (1 + z_j^2 / R_jj^2)``: a cumulative product, no matrix at all.
"""
from __future__ import annotations

import numpy as np

from . import _validate as check

__all__ = ["bartlett_factor", "design", "ols_noise", "sufficient_stats"]


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


def ols_noise(rng, d: int, T: int, noise_std: float, size: int) -> np.ndarray:
    """Exact draws of the OLS noise ``x = (Z^T Z)^{-1} Z^T E`` for ``Z`` (``T x d``) standard Gaussian, ``T >= d``.

    ``E ~ N(0, noise_std^2 I_T)``. Equal in law to ``R^{-1} g`` with ``R`` from :func:`bartlett_factor` and
    ``g ~ N(0, noise_std^2 I_d)``, but sampled in ``O(d)`` per draw by the back-substitution identity in the
    module docstring. An OLS fit on ``T`` samples of ``N(0, diag(eigs))`` labelled by ``w`` returns
    ``w + x / sqrt(eigs)``.

    Parameters
    ----------
    rng : int, Generator or None
        Source of randomness.
    d : int
        Dimension, ``>= 1``.
    T : int
        Number of rows of the implied design, ``>= d``.
    noise_std : float
        Noise standard deviation, in ``[0, 1e50]``.
    size : int
        Number of independent draws, ``>= 1``.

    Returns
    -------
    ndarray, shape (size, d)
        ``E[x x^T] = noise_std^2 I / (T - d - 1)`` when ``T >= d + 2``.
    """
    rng = check.rng(rng)
    d = check.integer("d", d, minimum=1)
    T = check.integer("T", T, minimum=d)
    noise_std = check.scale("noise_std", noise_std)
    size = check.integer("size", size, minimum=1)
    z = rng.standard_normal((size, d))
    ratio = z / np.sqrt(rng.chisquare(T - np.arange(d), size=(size, d)))   # z_i / R_ii
    log_growth = np.log1p(ratio**2)
    # sum_{j>i} log(1 + z_j^2 / R_jj^2), in log space so that T close to d cannot overflow.
    after = np.zeros_like(log_growth)
    after[:, :-1] = np.cumsum(log_growth[:, :0:-1], axis=1)[:, ::-1]
    return noise_std * np.exp(0.5 * after) * ratio


def design(rng, eigs, T: int, size: int) -> np.ndarray:
    """Materialised Gaussian designs ``X = Z Lambda^{1/2}``, rows iid ``N(0, diag(eigs))``.

    ``eigs`` in ``[1e-100, 1e100]``.

    Returns
    -------
    ndarray, shape (size, T, d)
    """
    rng = check.rng(rng)
    eigs = check.eigenvalues("eigs", eigs)
    T = check.integer("T", T, minimum=1)
    size = check.integer("size", size, minimum=1)
    return rng.standard_normal((size, T, eigs.size)) * np.sqrt(eigs)


def sufficient_stats(rng, eigs, T: int, noise_std: float, size: int, method: str = "bartlett"):
    """Draw ``(G, c) = (X^T X, X^T E)`` for Gaussian ``X`` (``T x d``) and noise ``E ~ N(0, noise_std^2 I_T)``.

    Parameters
    ----------
    rng : int, Generator or None
    eigs : array_like, shape (d,)
        Eigenvalues of ``Sigma``, in ``[1e-100, 1e100]``.
    T : int
        Rows, ``>= d`` for ``method="bartlett"``, ``>= 1`` for ``"plain"``.
    noise_std : float
        Noise standard deviation, in ``[0, 1e50]``.
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
    eigs = check.eigenvalues("eigs", eigs)
    noise_std = check.scale("noise_std", noise_std)
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
