"""The regression problem every chapter studies: a Gaussian design, a teacher, and the noise levels.

Everything is expressed in the eigenbasis of the feature covariance ``Sigma``: ``eigs`` are its eigenvalues and
``w0`` the teacher's coordinates in that basis. No result depends on the rotation (chapter 1).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from . import _validate as check


@dataclass(frozen=True, eq=False)
class Problem:
    """A model-collapse regression problem (validated, immutable).

    Parameters
    ----------
    eigs : array_like, shape (d,)
        Eigenvalues of the feature covariance ``Sigma``; all in ``[1e-100, 1e100]``.
    w0 : array_like, shape (d,)
        Ground-truth weights in the eigenbasis of ``Sigma``, with ``||w0||_Sigma^2 = sum_j eigs_j w0_j^2 <= 1e100``
        (the null predictor's error; see Notes).
    sigma : float, default 1.0
        Label-noise standard deviation of the downstream data set, in ``[0, 1e50]``.
    sigma0 : float, default 1.0
        Label-noise standard deviation added at every synthetic generation, in ``[0, 1e50]``.
    T0 : int, default 600
        Sample size of every generator fit, in ``[1, 2**53]``.

    Notes
    -----
    The bounds (:mod:`collapse_lib._validate`) keep the closed forms and the simulations finite in float64: a
    noise deviation scaled by ``1/sqrt(lambda_j)`` is at most ``1e100``, its square ``1e200``; the test errors
    (of order ``||w0||_Sigma^2 + sigma^2 + n sigma0^2`` times dimension ratios) stay far enough below ``1e154``
    that their squares, which enter the standard errors of a simulation, are finite. Refusing, say, a sub-normal
    eigenvalue or ``sigma0 = 1e200`` is better than a simulation that silently returns ``inf``.

    Examples
    --------
    >>> p = Problem(eigs=[1.0, 0.5], w0=[1.0, 0.0], sigma=0.5, sigma0=1.0, T0=10)
    >>> p.d, p.signal
    (2, 1.0)
    """

    eigs: np.ndarray
    w0: np.ndarray
    sigma: float = 1.0
    sigma0: float = 1.0
    T0: int = 600

    def __post_init__(self):
        eigs = check.eigenvalues("eigs", self.eigs)
        object.__setattr__(self, "eigs", eigs)
        w0 = check.vector("w0", self.w0, d=eigs.size)
        with np.errstate(over="ignore"):
            signal = float(np.sum(eigs * w0**2))
        if not signal <= check.MAX_SCALE2:
            raise ValueError(f"w0 must have ||w0||_Sigma^2 = sum_j eigs_j w0_j^2 <= {check.MAX_SCALE2:g} (larger "
                             f"errors overflow float64 once squared), got {signal:g}")
        object.__setattr__(self, "w0", w0)
        object.__setattr__(self, "sigma", check.scale("sigma", self.sigma))
        object.__setattr__(self, "sigma0", check.scale("sigma0", self.sigma0))
        object.__setattr__(self, "T0", check.integer("T0", self.T0, minimum=1))

    @property
    def d(self) -> int:
        """Dimension of the features."""
        return self.eigs.size

    @property
    def signal(self) -> float:
        """``||w0||_Sigma^2``: the test error of the null predictor ``w = 0``."""
        return float(np.sum(self.eigs * self.w0**2))

    @property
    def is_isotropic(self) -> bool:
        """True when ``Sigma`` is the identity."""
        return bool(np.all(self.eigs == 1.0))

    def replace(self, **changes) -> "Problem":
        """Return a copy with some fields changed (validated again)."""
        fields = [f.name for f in dataclasses.fields(self)]
        unknown = [name for name in changes if name not in fields]
        if unknown:
            raise ValueError(f"{unknown[0]} is not a field of Problem; valid fields are {fields}")
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        return (f"Problem(d={self.d}, signal={self.signal:.4g}, sigma={self.sigma:g}, sigma0={self.sigma0:g}, "
                f"T0={self.T0}, isotropic={self.is_isotropic})")


def isotropic(d: int = 300, sigma: float = 1.0, sigma0: float = 1.0, T0: int = 600, w0_norm: float = 1.0,
              rng=0) -> Problem:
    """Isotropic problem ``Sigma = I`` with a teacher of norm ``w0_norm`` in a random direction.

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.
    sigma, sigma0 : float
        Downstream and generator label-noise standard deviations, in ``[0, 1e50]``.
    T0 : int
        Generator sample size, in ``[1, 2**53]``.
    w0_norm : float
        Euclidean norm of the teacher, in ``[0, 1e50]``.
    rng : int, Generator or None
        Seed for the teacher's direction (only the norm matters to the theory).
    """
    d = check.integer("d", d, minimum=1)
    w0_norm = check.scale("w0_norm", w0_norm)
    g = check.rng(rng).standard_normal(d)
    w0 = w0_norm * g / np.linalg.norm(g)
    return Problem(eigs=np.ones(d), w0=w0, sigma=sigma, sigma0=sigma0, T0=T0)


def power_law(d: int = 1000, beta: float = 2.0, r: float = 0.375, sigma: float = 1.0, sigma0: float = 1.0,
              T0: int = 2000) -> Problem:
    """Power-law problem (result R5): capacity ``lambda_j = j^-beta``, source ``lambda_j w0_j^2 = j^(-1-2 beta r)``.

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.
    beta : float
        Capacity exponent, ``> 1``, and at most ``100 / log10(d)`` so that the smallest eigenvalue ``d^-beta`` stays
        ``>= 1e-100`` (the range :class:`Problem` accepts).
    r : float
        Source exponent, ``> 0`` (smoothness of the teacher; ``min(r, 1)`` enters the rates).
    sigma, sigma0 : float
        Downstream and generator label-noise standard deviations, in ``[0, 1e50]``.
    T0 : int
        Generator sample size, in ``[1, 2**53]``.

    Notes
    -----
    The teacher is not normalised: ``||w0||_Sigma^2 = sum_j j^(-1-2 beta r)``, which tends to ``zeta(1 + 2 beta r)``.
    """
    d = check.integer("d", d, minimum=1)
    beta = check.real("beta", beta, minimum=1.0, strict=True)
    r = check.real("r", r, minimum=0.0, strict=True)
    if d > 1 and beta * np.log10(d) > -np.log10(check.EIG_MIN):
        raise ValueError(f"beta must be in (1, {-np.log10(check.EIG_MIN) / np.log10(d):.6g}] for d = {d} (the "
                         f"smallest eigenvalue d^-beta must stay >= {check.EIG_MIN:g}), got {beta}")
    j = np.arange(1, d + 1, dtype=float)
    eigs = j**-beta
    w0 = np.sqrt(j ** (-1.0 - 2.0 * beta * r) / eigs)
    return Problem(eigs=eigs, w0=w0, sigma=sigma, sigma0=sigma0, T0=T0)
