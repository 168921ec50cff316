"""Monte Carlo of the kernel-ridge generation chain on a pool of real inputs (chapter 6, result R7a).

One run, on a :class:`~collapse_lib.kernels.KernelPool` of ``N`` inputs with clean target ``f``:

1. ``f_0 = f``. Generator ``m = 1..n`` draws ``T0`` fresh pool inputs (without replacement), labels them with
   ``f_{m-1}`` plus Gaussian noise ``sigma0`` and fits kernel ridge with penalty ``lam0``; ``f_m`` is that fit,
   evaluated on the whole pool.
2. The downstream model draws ``T`` pool inputs, labels them with ``f_n`` plus noise ``sigma`` and fits kernel ridge
   for every ``lam`` of a grid.
3. Clean test errors: the mean of ``(prediction - f)^2`` over the whole pool (the population of the theory,
   :func:`collapse_lib.kernels.ridge_chain_test_error`) and over the held-out inputs (real generalisation).

Every fit is linear in its labels, so the prediction splits exactly into three parts: the noiseless chain, the
generator noise (times ``sigma0``) and the downstream noise (times ``sigma``). A run stores the 3 x 3 Gram matrix of
the three residual parts, which gives the error for *any* ``sigma0`` and ``sigma`` without refitting
(:meth:`KernelChainResult.errors`). The downstream inputs and noise of a run are shared by every ``n`` (common random
numbers), so a run gives all generations ``0..n`` at once.

Cost: the pool kernel matrix is computed once (:func:`~collapse_lib.kernels.make_pool`); a run costs one Cholesky
factorisation of size ``T0`` per generation and one ``eigh`` of size ``T`` reused by the whole ``lam`` grid, every
generation and every noise part. Runs are processed one after the other (memory ``O(N^2)`` for the pool plus
``O(N T)`` per run); ``lam`` grids are processed in blocks of bounded size.

For chapter 7 (choosing ``lam`` from data): :func:`fitted_set` returns the downstream training set of one run (kernel
matrix, synthetic labels, clean targets, its eigendecomposition), and :func:`fit_errors` evaluates the clean errors of
the fit over a whole ``lam`` grid from that one eigendecomposition.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.linalg
from tqdm.auto import tqdm

from . import _validate as check
from .kernels import KernelPool, kernel_ridge_path
from .simulate import SimulationResult

__all__ = ["FittedSet", "FitErrors", "fitted_set", "fit_errors", "KernelChainResult", "kernel_chain"]

# Upper bound on the floats of one (lam block x evaluation points x label columns) prediction array.
_BLOCK_FLOATS = 2**22


def _check_pool(pool) -> KernelPool:
    if not isinstance(pool, KernelPool):
        raise ValueError(f"pool must be a KernelPool (collapse_lib.kernels.make_pool), got {type(pool).__name__}")
    return pool


def _check_sizes(pool: KernelPool, T, T0, n):
    T = check.integer("T", T, minimum=1, maximum=pool.N)
    n = check.integer("n", n)
    # T0 only matters when there is a generator (n > 0); it can never exceed the pool (sampling without replacement)
    T0 = check.integer("T0", T0, minimum=1, maximum=pool.N if n > 0 else None)
    return T, T0, n


class _Draws(NamedTuple):
    idx: np.ndarray          # (T,) downstream inputs
    eps: np.ndarray          # (T,) unit downstream noise
    gens: list               # [(S_m (T0,), e_m (T0,)) for m = 1..n]


def _draw(gen: np.random.Generator, N: int, T: int, T0: int, n: int) -> _Draws:
    """All random numbers of one run, downstream first, so a run's first generations do not depend on ``n``."""
    idx = gen.choice(N, size=T, replace=False)
    eps = gen.standard_normal(T)
    gens = []
    for _ in range(n):
        S = gen.choice(N, size=T0, replace=False)
        gens.append((S, gen.standard_normal(T0)))
    return _Draws(idx, eps, gens)


def _chain(pool: KernelPool, draws: _Draws, lam0: float) -> np.ndarray:
    """Generator functions on the pool, shape (n+1, N, 2): ``f_m = F[m, :, 0] + sigma0 * F[m, :, 1]``."""
    N = pool.N
    F = np.zeros((len(draws.gens) + 1, N, 2))
    F[0, :, 0] = pool.f
    for m, (S, e) in enumerate(draws.gens, start=1):
        A = pool.K[np.ix_(S, S)]
        A[np.diag_indices_from(A)] += S.size * lam0
        Y = F[m - 1, S].copy()
        Y[:, 1] += e
        try:
            alpha = scipy.linalg.cho_solve(scipy.linalg.cho_factor(A, check_finite=False), Y, check_finite=False)
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            raise ValueError(f"the generator kernel matrix K + T0 lam0 I is not numerically positive definite "
                             f"(lam0 = {lam0}, T0 = {S.size}); use a larger lam0 > 0") from None
        if 4 * S.size <= N:
            F[m] = pool.K[S].T @ alpha                          # rows of K = columns (symmetric): a small copy
        else:
            z = np.zeros((N, 2))
            z[S] = alpha
            F[m] = pool.K @ z                                   # one pass over K beats copying most of it
    return F


@dataclass(frozen=True, eq=False)
class FittedSet:
    """The downstream training set of one run of the kernel chain (for strategies that choose ``lam`` from data).

    Attributes
    ----------
    idx : ndarray of int, shape (T,)
        Pool indices of the training inputs.
    K_train : ndarray, shape (T, T)
        Their kernel matrix.
    y : ndarray, shape (T,)
        Synthetic labels ``f_n(x_i) + sigma * noise`` (what the downstream learner sees).
    f_train : ndarray, shape (T,)
        Clean target at the training inputs (not available to a learner in practice).
    evals, evecs : ndarray, shapes (T,), (T, T)
        ``numpy.linalg.eigh(K_train)``: reuse it for every ``lam`` (:func:`fit_errors`,
        :func:`~collapse_lib.kernels.kernel_ridge_path`).
    K_pool : ndarray, shape (N, T)
        Kernel between every pool input and the training inputs (predictions on the pool: ``K_pool @ alpha``).
    f_pool : ndarray, shape (N,)
        Clean target on the pool.
    K_test : ndarray, shape (M, T)
        Kernel between the held-out inputs and the training inputs.
    f_test : ndarray, shape (M,)
        Clean target on the held-out inputs.
    teacher_pool : ndarray, shape (N,)
        ``f_n`` on the pool: the generator that labelled ``y`` (``f`` itself when ``n = 0``).
    """

    idx: np.ndarray
    K_train: np.ndarray
    y: np.ndarray
    f_train: np.ndarray
    evals: np.ndarray
    evecs: np.ndarray
    K_pool: np.ndarray
    f_pool: np.ndarray
    K_test: np.ndarray
    f_test: np.ndarray
    teacher_pool: np.ndarray

    @property
    def T(self) -> int:
        return self.idx.size


def fitted_set(pool: KernelPool, T: int, T0: int = 500, n: int = 0, sigma0: float = 1.0, sigma: float = 0.5,
               lam0: float = 1e-6, rng=None) -> FittedSet:
    """Run the generator chain and return the downstream training set of generation ``n`` (one run).

    With ``rng = numpy.random.default_rng(seed).spawn(runs)[r]`` this is exactly run ``r`` of
    :func:`kernel_chain` with ``rng = seed`` (same inputs, same noise), for any ``n`` up to that call's ``n``.

    Parameters
    ----------
    pool : KernelPool
        Pool, held-out set and kernel (:func:`~collapse_lib.kernels.make_pool`).
    T : int
        Downstream sample size, ``1 <= T <= N``.
    T0 : int
        Samples per generator, ``1 <= T0 <= N`` (unused when ``n = 0``).
    n : int
        Generations, ``>= 0``.
    sigma0, sigma : float
        Generator and downstream label-noise standard deviations, ``>= 0``.
    lam0 : float
        Generator ridge penalty (1/T normalisation), ``>= 0``; a small ``lam0 > 0`` keeps the fit stable when ``T0``
        exceeds the numerical rank of the kernel.
    rng : int, Generator or None

    Returns
    -------
    FittedSet
    """
    pool = _check_pool(pool)
    T, T0, n = _check_sizes(pool, T, T0, n)
    sigma0, sigma, lam0 = check.real("sigma0", sigma0), check.real("sigma", sigma), check.real("lam0", lam0)
    draws = _draw(check.rng(rng), pool.N, T, T0, n)
    F = _chain(pool, draws, lam0)
    teacher = F[n, :, 0] + sigma0 * F[n, :, 1]
    idx = draws.idx
    K_train = pool.K[np.ix_(idx, idx)]
    evals, evecs = np.linalg.eigh(K_train)
    return FittedSet(idx=idx, K_train=K_train, y=teacher[idx] + sigma * draws.eps, f_train=pool.f[idx],
                     evals=evals, evecs=evecs, K_pool=pool.K[:, idx], f_pool=pool.f, K_test=pool.K_test[:, idx],
                     f_test=pool.f_test, teacher_pool=teacher)


class FitErrors(NamedTuple):
    """Clean test errors of a downstream fit over a ``lam`` grid: ``pool`` (L,) and held-out ``test`` (L,)."""

    pool: np.ndarray
    test: np.ndarray


def fit_errors(fs: FittedSet, lam) -> FitErrors:
    """Clean errors of kernel ridge fitted on ``fs.y`` for every ``lam`` (one eigendecomposition, no refits).

    Parameters
    ----------
    fs : FittedSet
    lam : float or array_like, shape (L,)
        Penalties, ``>= 0`` (1/T normalisation).

    Returns
    -------
    FitErrors
        ``pool[l] = mean_pool (f_hat - f)^2`` and ``test[l]`` the same on the held-out inputs (``nan`` if there are
        none); floats for a scalar ``lam``.
    """
    if not isinstance(fs, FittedSet):
        raise ValueError(f"fs must be a FittedSet (fitted_set), got {type(fs).__name__}")
    lams = check.reals("lam", lam)
    alpha = np.atleast_2d(kernel_ridge_path(fs.evals, fs.evecs, fs.y, np.atleast_1d(lams)))   # (L, T)
    pool = np.mean((alpha @ fs.K_pool.T - fs.f_pool) ** 2, axis=1)
    test = (np.mean((alpha @ fs.K_test.T - fs.f_test) ** 2, axis=1) if fs.f_test.size
            else np.full(pool.shape, np.nan))
    if lams.ndim == 0:
        return FitErrors(float(pool[0]), float(test[0]))
    return FitErrors(pool, test)


@dataclass(frozen=True, eq=False)
class KernelChainResult:
    """Per-run Gram matrices of the kernel chain; errors for any noise levels.

    The residual of a fit splits into three parts: noiseless chain (coefficient 1), generator noise (``sigma0``)
    and downstream noise (``sigma``). With ``c = (1, sigma0, sigma)`` the clean error is ``c^T G c``.

    Attributes
    ----------
    gram_pool, gram_test : ndarray, shape (runs, n+1, L, 3, 3)
        Gram matrices (means over the pool / the held-out inputs) for generation ``0..n`` and every ``lam``.
    gram_generator : ndarray, shape (runs, n+1, 2, 2)
        The same for the generators' own error ``mean_pool (f_m - f)^2`` (parts: chain, ``sigma0``).
    lam : ndarray, shape (L,)
    sigma0, sigma : float
        The noise levels of the call (defaults of :meth:`errors`).
    T, T0, lam0 : int, int, float
    seed : object
        The ``rng`` argument.
    """

    gram_pool: np.ndarray
    gram_test: np.ndarray
    gram_generator: np.ndarray
    lam: np.ndarray
    sigma0: float
    sigma: float
    T: int
    T0: int
    lam0: float
    seed: object = None

    @property
    def runs(self) -> int:
        return self.gram_pool.shape[0]

    def errors(self, where: str = "pool", sigma0: float | None = None, sigma: float | None = None) -> SimulationResult:
        """Errors of the downstream fits, shape (runs, n+1, L), for any noise levels (default: those of the call).

        Parameters
        ----------
        where : {"pool", "test", "generator"}
            Pool error, held-out error, or the generators' own pool error (shape (runs, n+1)).
        sigma0, sigma : float, optional
            Noise levels, ``>= 0``.
        """
        s0 = self.sigma0 if sigma0 is None else check.real("sigma0", sigma0)
        s = self.sigma if sigma is None else check.real("sigma", sigma)
        if where == "generator":
            c = np.array([1.0, s0])
            return SimulationResult.from_errors(np.einsum("...ij,i,j->...", self.gram_generator, c, c), seed=self.seed)
        if where not in ("pool", "test"):
            raise ValueError(f"where must be 'pool', 'test' or 'generator', got {where!r}")
        gram = self.gram_pool if where == "pool" else self.gram_test
        if where == "test" and np.all(np.isnan(gram)):
            raise ValueError("the pool has no held-out inputs (make_pool without X_test)")
        c = np.array([1.0, s0, s])
        return SimulationResult.from_errors(np.einsum("...ij,i,j->...", gram, c, c), seed=self.seed)

    @property
    def pool(self) -> SimulationResult:
        """Pool errors at the call's noise levels, shape (runs, n+1, L)."""
        return self.errors("pool")

    @property
    def test(self) -> SimulationResult:
        """Held-out errors at the call's noise levels, shape (runs, n+1, L)."""
        return self.errors("test")


def _residual_grams(K_eval: np.ndarray, f_eval: np.ndarray, evecs: np.ndarray, C: np.ndarray, den: np.ndarray,
                    parts: int) -> np.ndarray:
    """Gram matrices (n+1, L, 3, 3) of the residual parts of the predictions ``K_eval V diag(1/den_l) C``.

    ``C = V^T Y`` has shape (T, (n+1) * 3) (generation-major, parts chain / sigma0 / sigma); ``den`` (L, T).
    """
    M = K_eval.shape[0]
    L = den.shape[0]
    cols = C.shape[1]
    out = np.empty((L, cols // parts, parts, parts))
    if M == 0:
        out.fill(np.nan)
        return out.transpose(1, 0, 2, 3)
    T = evecs.shape[0]
    # K_eval V costs M T^2 once; without it every lam costs M T cols and V coef T^2 cols: pick the cheaper order.
    KV = K_eval @ evecs if L * cols > T else None                         # (M, T)
    block = max(1, _BLOCK_FLOATS // (M * cols))
    for i in range(0, L, block):
        coef = C[None] / den[i:i + block, :, None]                        # (l, T, cols)
        P = KV @ coef if KV is not None else K_eval @ (evecs @ coef)      # (l, M, cols)
        R = P.reshape(-1, M, cols // parts, parts)                        # (l, M, n+1, 3)
        R[..., 0] -= f_eval[None, :, None]
        out[i:i + block] = np.einsum("lmgi,lmgj->lgij", R, R) / M
    return out.transpose(1, 0, 2, 3)


def kernel_chain(pool: KernelPool, T: int, T0: int = 500, n: int = 5, lam=1e-3, lam0: float = 1e-6,
                 sigma0: float = 1.0, sigma: float = 0.5, runs: int = 20, rng=None,
                 progress: bool = False) -> KernelChainResult:
    """Monte Carlo of the kernel-ridge chain on a pool: errors for generations ``0..n`` and a ``lam`` grid.

    Parameters
    ----------
    pool : KernelPool
        Pool, held-out set and kernel (:func:`~collapse_lib.kernels.make_pool`).
    T : int
        Downstream sample size, ``1 <= T <= N``.
    T0 : int
        Samples per generator, ``1 <= T0 <= N``.
    n : int
        Largest generation, ``>= 0``; every generation ``0..n`` is reported.
    lam : float or array_like, shape (L,)
        Downstream penalties, ``> 0`` in practice (``0`` needs a numerically non-singular training kernel).
    lam0 : float
        Generator penalty, ``>= 0``.
    sigma0, sigma : float
        Generator and downstream noise standard deviations, ``>= 0`` (others: :meth:`KernelChainResult.errors`).
    runs : int
        Independent runs, ``>= 2``; run ``r`` uses ``numpy.random.default_rng(rng).spawn(runs)[r]``.
    rng : int, Generator or None
    progress : bool
        Show a progress bar over runs (tqdm).

    Returns
    -------
    KernelChainResult
        ``.pool`` / ``.test``: :class:`~collapse_lib.SimulationResult` with errors shaped (runs, n+1, L).
    """
    pool = _check_pool(pool)
    T, T0, n = _check_sizes(pool, T, T0, n)
    lam_arr = np.atleast_1d(check.reals("lam", lam))
    lam0 = check.real("lam0", lam0)
    sigma0, sigma = check.real("sigma0", sigma0), check.real("sigma", sigma)
    runs = check.integer("runs", runs, minimum=2)
    children = check.rng(rng).spawn(runs)
    L = lam_arr.size
    g_pool = np.empty((runs, n + 1, L, 3, 3))
    g_test = np.empty_like(g_pool)
    g_gen = np.empty((runs, n + 1, 2, 2))
    for r in tqdm(range(runs), disable=not progress, desc="kernel chain runs"):
        draws = _draw(children[r], pool.N, T, T0, n)
        F = _chain(pool, draws, lam0)                                    # (n+1, N, 2)
        res = F.copy()
        res[:, :, 0] -= pool.f
        g_gen[r] = np.einsum("gmi,gmj->gij", res, res) / pool.N
        idx = draws.idx
        evals, evecs = np.linalg.eigh(pool.K[np.ix_(idx, idx)])
        den = evals[None, :] + T * lam_arr[:, None]
        if np.any(den <= 1e-10 * max(float(evals.max()), 1e-300)):
            raise ValueError("K_train + T lam I is numerically singular for some lam; use larger lam")
        Y = np.concatenate([F[:, idx, :], np.broadcast_to(draws.eps[None, :, None], (n + 1, T, 1))], axis=2)
        C = evecs.T @ Y.transpose(1, 0, 2).reshape(T, -1)               # (T, (n+1) * 3)
        g_pool[r] = _residual_grams(pool.K[idx].T, pool.f, evecs, C, den, 3)   # K[idx].T = K[:, idx], faster
        g_test[r] = _residual_grams(pool.K_test[:, idx], pool.f_test, evecs, C, den, 3)
    for a in (g_pool, g_test, g_gen):
        a.setflags(write=False)
    lam_arr.setflags(write=False)
    return KernelChainResult(gram_pool=g_pool, gram_test=g_test, gram_generator=g_gen, lam=lam_arr, sigma0=sigma0,
                             sigma=sigma, T=T, T0=T0, lam0=lam0, seed=rng)
