"""Monte Carlo of the generation chain (replace mode, chapter 1).

``w_hat_0 = w0``; generation ``m`` relabels a fresh design with ``w_hat_{m-1}`` plus noise ``sigma0`` and refits by
OLS (``T0 >= d``) or min-norm interpolation (``T0 < d``). A downstream ridge model (``lam >= 0``) is then fitted on
``T`` fresh samples labelled by ``w_hat_n`` with noise ``sigma``. Test errors are exact: ``sum_j lambda_j (w_j - w0_j)^2``.

Every stage with at least ``d`` samples is sampled through its sufficient statistics (:mod:`collapse_lib.sampling`),
so its cost does not grow with the sample size: an OLS stage costs ``O(d)`` per run
(:func:`~collapse_lib.sampling.ols_noise`), a ridge stage ``O(d^3)``. Stages with fewer than ``d`` samples
materialise the design and use the kernel form ``X^T (X X^T + T lam I)^{-1} y``, with the Gram matrix in the smaller
dimension. Runs are processed together as batched linear algebra; a single-``lam`` fit on large matrices is solved
run by run with LAPACK (triangular products and Cholesky on reused buffers), which on the book's 2-core machine
halved the time of chapter 5's d = 1000 sweep (``benchmarks/bench_scaling.py``).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas, lapack
from threadpoolctl import ThreadpoolController
from tqdm.auto import tqdm

from . import _validate as check
from .problem import Problem
from .sampling import bartlett_factor, design, ols_noise

__all__ = ["SimulationResult", "simulate", "simulate_generations", "simulate_gaussian_chain"]

# Upper bound on the floats held by one batched array; runs are processed in chunks below it. Kept small (16 MB):
# fresh large allocations are served by mmap and page-faulted in on every chunk, which cost more than the linear
# algebra on the 2-core machine the book is built on (d = 1000 ridge: 2^24 -> 2^21 halved the time).
_CHUNK_FLOATS = 2**21

# A single-lam ridge or min-norm fit whose matrix has at least this dimension is solved run by run with LAPACK
# (Cholesky, triangular products) on reused d x d buffers; smaller ones stay batched, where numpy's per-call
# overhead is amortised over the runs.
_PER_RUN_MIN_DIM = 48

# Batches of small matrices (d up to this) run fastest on one BLAS thread: threads only add synchronisation, and on a
# busy or shared machine (Binder, CI) multithreaded OpenBLAS made a batched eigh of 100 x 100 matrices 10x slower.
_SINGLE_THREAD_MAX_D = 256
_blas_controller = ThreadpoolController()

#: Largest eigenvalue ratio ``max(eigs) / min(eigs)`` accepted for a stage that materialises its design (fewer than
#: ``d`` samples, or ``method="plain"``): its normal equations ``X^T X`` or Gram matrix ``X X^T`` carry the spread of
#: the spectrum, and beyond ``1e13`` they are singular in float64 (a 1e-100 .. 1e100 spectrum made LAPACK fail).
#: The sufficient-statistic samplers (stages with ``>= d`` samples under ``"auto"`` / ``"bartlett"``) accept the
#: whole range ``[1e-100, 1e100]`` of :class:`~collapse_lib.Problem`.
EIG_SPREAD_MAX_DESIGN = 1e13


def _blas_threads(d: int):
    """Context limiting BLAS to one thread for small ``d`` (restored on exit)."""
    if d > _SINGLE_THREAD_MAX_D:
        return contextlib.nullcontext()
    return _blas_controller.limit(limits=1, user_api="blas")


@dataclass(frozen=True)
class SimulationResult:
    """Per-run test errors of a simulated chain, with their mean and standard error.

    Attributes
    ----------
    errors : ndarray, shape (runs,) or (runs, K)
        Test error of every run; ``K`` indexes the ``lam`` grid (:func:`simulate`) or the generations
        ``0..n`` (:func:`simulate_generations`).
    mean : float or ndarray, shape (K,)
        Average over runs.
    sem : float or ndarray, shape (K,)
        Standard error of the mean, ``std(errors, ddof=1) / sqrt(runs)``.
    seed : object
        The ``rng`` argument the result was produced with (for the figure captions).
    """

    errors: np.ndarray
    mean: float | np.ndarray
    sem: float | np.ndarray
    seed: object = None

    @classmethod
    def from_errors(cls, errors: np.ndarray, seed=None) -> "SimulationResult":
        errors = np.asarray(errors, dtype=float)
        errors.setflags(write=False)
        mean = errors.mean(axis=0)
        sem = errors.std(axis=0, ddof=1) / np.sqrt(errors.shape[0])
        if errors.ndim == 1:
            mean, sem = float(mean), float(sem)
        return cls(errors=errors, mean=mean, sem=sem, seed=seed)

    @property
    def runs(self) -> int:
        return self.errors.shape[0]


def _ridge_solve(A: np.ndarray, b: np.ndarray, lam: np.ndarray, m: int) -> np.ndarray:
    """Solve ``(A + m lam I) x = b`` for a batch of PSD ``A`` (s, k, k), ``b`` (s, k), each ``lam`` (L,) -> (s, L, k)."""
    if lam.size == 1:
        eye = np.eye(A.shape[-1])
        return np.linalg.solve(A + m * lam[0] * eye, b[..., None])[..., 0][:, None, :]
    # One eigendecomposition serves the whole lam grid.
    vals, vecs = np.linalg.eigh(A)
    proj = np.einsum("skj,sk->sj", vecs, b)
    coef = proj[:, None, :] / (vals[:, None, :] + m * lam[None, :, None])
    return np.einsum("skj,slj->slk", vecs, coef)


def _cholesky_solve(M: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Solve ``M x = b`` for one SPD ``M`` whose lower triangle is filled (overwritten); ``None`` if not numerically PD."""
    c, info = lapack.dpotrf(M, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        return None
    x, info = lapack.dpotrs(c, b, lower=1)
    return x if info == 0 else None


def _ridge_bartlett_one_lam(R: np.ndarray, g: np.ndarray, root: np.ndarray, w: np.ndarray, lam: float,
                            m: int) -> np.ndarray:
    """Ridge (one ``lam > 0``) from Bartlett factors, run by run: ``(s, d)`` solutions, same law and draws as the grid path.

    With ``v = Lambda^{1/2} w_pred`` the normal equations read ``(W + m lam Lambda^{-1}) v = R^T (R Lambda^{1/2} w + g)``,
    ``W = R^T R``. ``W`` is formed with LAPACK ``dlauum`` (a third of a general product, using that ``R`` is
    triangular) in reversed coordinates (``J R J`` is lower triangular and ``(J R J)^T (J R J) = J W J``), then
    solved by Cholesky: about ``2 d^3 / 3`` flops per run instead of ``8 d^3 / 3`` for a product and an LU solve.
    Each run's arrays are ``d x d`` and reused, so nothing large is allocated per batch. A run whose matrix is not
    numerically positive definite falls back to an LU solve of the unscaled system.
    """
    s, d = w.shape
    out = np.empty((s, d))
    pen = (m * lam / root**2)[::-1]                       # m lam Lambda^{-1}, reversed
    diag = np.arange(d)
    for i in range(s):
        Ri = R[i]
        rhs = Ri.T @ (Ri @ (root * w[i]) + g[i])
        Wrev, info = lapack.dlauum(Ri[::-1, ::-1], lower=1)   # lower triangle: J W J
        Wrev[diag, diag] += pen
        v = _cholesky_solve(Wrev, rhs[::-1]) if info == 0 else None
        if v is None:
            W = Ri.T @ Ri
            out[i] = np.linalg.solve(W * root[:, None] * root[None, :] + m * lam * np.eye(d), root * rhs)
        else:
            out[i] = v[::-1] / root
    return out


def _kernel_one_lam(X: np.ndarray, y: np.ndarray, lam: float, m: int) -> np.ndarray:
    """Kernel-form ridge / min-norm for one ``lam`` with ``m < d``, run by run: ``X^T (X X^T + m lam I)^{-1} y``.

    The Gram matrix ``X X^T`` (``m x m``, the smaller dimension) is formed by BLAS ``dsyrk`` (half a general product)
    and solved by Cholesky; a run whose Gram matrix is not numerically positive definite falls back to an LU solve.
    """
    s, m_, d = X.shape
    out = np.empty((s, d))
    diag = np.arange(m_)
    for i in range(s):
        Xi = X[i]
        K = blas.dsyrk(1.0, Xi.T, trans=1, lower=1)          # lower triangle of X_i X_i^T, no copy of X_i
        K[diag, diag] += m * lam
        alpha = _cholesky_solve(K, y[i])
        if alpha is None:
            alpha = np.linalg.solve(Xi @ Xi.T + m * lam * np.eye(m_), y[i])
        out[i] = Xi.T @ alpha
    return out


def _solve_upper(R: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Back substitution ``R x = g`` for a batch of upper-triangular ``R`` (s, d, d), vectorised over the batch."""
    x = np.zeros_like(g)
    for i in range(R.shape[-1] - 1, -1, -1):
        x[:, i] = (g[:, i] - np.einsum("sj,sj->s", R[:, i, i + 1:], x[:, i + 1:])) / R[:, i, i]
    return x


def _fit(rng: np.random.Generator, eigs: np.ndarray, w: np.ndarray, m: int, noise: float, lam: np.ndarray,
         fast: bool) -> np.ndarray:
    """Fit ridge (``lam`` grid, ``0`` = OLS / min-norm) on ``m`` fresh samples labelled by ``w`` (s, d) -> (s, L, d)."""
    s, d = w.shape
    root = np.sqrt(eigs)
    if fast:
        if np.all(lam == 0):
            # OLS only: w + Lambda^{-1/2} R^{-1} Q^T E, whose noise part is sampled exactly in O(d) (ols_noise).
            return (w + ols_noise(rng, d, m, noise, s) / root)[:, None, :]
        R = bartlett_factor(rng, d, m, s)
        g = noise * rng.standard_normal((s, d))   # Q^T E
        out = np.empty((s, lam.size, d))
        zero = lam == 0
        if np.any(zero):
            # OLS: w + Lambda^{-1/2} R^{-1} g, a triangular solve per run.
            out[:, zero, :] = (w + _solve_upper(R, g) / root)[:, None, :]
        if zero.sum() == lam.size - 1 and d >= _PER_RUN_MIN_DIM:
            out[:, ~zero, :] = _ridge_bartlett_one_lam(R, g, root, w, float(lam[~zero][0]), m)[:, None, :]
        elif not np.all(zero):
            Rt = np.swapaxes(R, 1, 2)
            G = (Rt @ R) * root[:, None] * root[None, :]
            b = np.einsum("sij,sj->si", G, w) + root * np.einsum("sij,sj->si", Rt, g)
            out[:, ~zero, :] = _ridge_solve(G, b, lam[~zero], m)
        return out
    X = design(rng, eigs, m, s)
    y = np.einsum("std,sd->st", X, w) + noise * rng.standard_normal((s, m))
    Xt = np.swapaxes(X, 1, 2)
    if m >= d:
        return _ridge_solve(Xt @ X, np.einsum("sdt,st->sd", Xt, y), lam, m)
    if lam.size == 1 and m >= _PER_RUN_MIN_DIM:
        return _kernel_one_lam(X, y, float(lam[0]), m)[:, None, :]
    alpha = _ridge_solve(X @ Xt, y, lam, m)            # kernel form: min-norm when lam = 0
    return np.einsum("sdt,slt->sld", Xt, alpha)


def _check_common(p, T, lam, n, runs, method, progress=False):
    if not isinstance(progress, (bool, np.bool_)):
        raise ValueError(f"progress must be True or False, got {progress!r}")
    if not isinstance(p, Problem):
        raise ValueError(f"p must be a collapse_lib.Problem, got {type(p).__name__}")
    if T is not None:
        T = check.integer("T", T, minimum=1)
    lam_arr = check.penalties("lam", lam, maximum=check.LAM_MAX_SIMULATION)
    if T is None and np.any(lam_arr != 0):
        raise ValueError("lam applies to the downstream fit: pass T (an integer >= 1) or leave lam = 0")
    n = check.integer("n", n)
    runs = check.integer("runs", runs, minimum=2)
    if method not in ("auto", "bartlett", "plain"):
        raise ValueError(f"method must be 'auto', 'bartlett' or 'plain', got {method!r}")
    stages = [(name, v) for name, v in (("T0", p.T0 if n else None), ("T", T)) if v is not None]
    if method == "bartlett":
        small = [(name, v) for name, v in stages if v < p.d]
        if small:
            name, v = small[0]
            raise ValueError(f"{name} must be >= d = {p.d} for method='bartlett' (the sampler needs T >= d), "
                             f"got {v}; use method='auto' or 'plain'")
    materialised = [(name, v) for name, v in stages if method == "plain" or v < p.d]
    spread = float(p.eigs.max() / p.eigs.min())
    if materialised and spread > EIG_SPREAD_MAX_DESIGN:
        name, v = materialised[0]
        how = "method='plain'" if method == "plain" else f"{name} = {v} < d = {p.d} samples"
        raise ValueError(f"eigs must span a ratio max/min <= {EIG_SPREAD_MAX_DESIGN:g} for a stage that materialises "
                         f"its design ({how}): its Gram matrix is singular in float64 beyond it; got a ratio "
                         f"{spread:.3g}. Use stages with >= d samples and method='auto' (any spectrum in "
                         f"[{check.EIG_MIN:g}, {check.EIG_MAX:g}]) or a narrower spectrum")
    return T, lam_arr, n, runs


def _run_chain(p: Problem, T, lam: np.ndarray, n: int, runs: int, rng, method: str, progress: bool,
               record: bool) -> np.ndarray:
    try:
        return _run_chain_unguarded(p, T, lam, n, runs, rng, method, progress, record)
    except np.linalg.LinAlgError as err:        # a last guard: the bounds of _check_common should prevent it
        raise ValueError(f"a fit of the chain was singular in float64 ({err}): narrow the spectrum p.eigs (max/min "
                         f"= {p.eigs.max() / p.eigs.min():.3g}) or increase lam") from None


def _run_chain_unguarded(p: Problem, T, lam: np.ndarray, n: int, runs: int, rng, method: str, progress: bool,
                         record: bool) -> np.ndarray:
    gen = check.rng(rng)
    d = p.d
    fast = {m: (method == "bartlett" or (method == "auto" and m >= d)) for m in (p.T0, T) if m is not None}
    per_run = max([d * d] + [m * d for m, f in fast.items() if not f] + [lam.size * d])
    chunk = int(max(1, min(runs, _CHUNK_FLOATS // per_run)))
    starts = range(0, runs, chunk)
    evals = n + 1 if record else 1
    errors = np.empty((runs, evals, lam.size))

    def test_error(w):  # (s, L, d) -> (s, L)
        return np.sum(p.eigs * (w - p.w0) ** 2, axis=-1)

    def downstream(w):
        if T is None:
            return test_error(w[:, None, :])
        return test_error(_fit(gen, p.eigs, w, T, p.sigma, lam, fast[T]))

    bar = tqdm(total=len(starts) * (n + 1), disable=not progress, desc="simulate", leave=False)
    with _blas_threads(d):
        for start in starts:
            s = min(chunk, runs - start)
            w = np.broadcast_to(p.w0, (s, d)).copy()
            if record:
                errors[start:start + s, 0] = downstream(w)
            bar.update()
            for m in range(1, n + 1):
                w = _fit(gen, p.eigs, w, p.T0, p.sigma0, np.zeros(1), fast[p.T0])[:, 0, :]
                if record:
                    errors[start:start + s, m] = downstream(w)
                bar.update()
            if not record:
                errors[start:start + s, 0] = downstream(w)
    bar.close()
    check.finite_result("a simulated test error", (errors,), "a fit was numerically singular; narrow the spectrum "
                        "p.eigs or increase lam")
    return errors


def simulate(p: Problem, T: int | None = None, lam=0.0, n: int = 0, runs: int = 100, rng=None,
             method: str = "auto", progress: bool = False) -> SimulationResult:
    """Simulate ``runs`` independent chains of ``n`` generations and the downstream fit; return the test errors.

    Parameters
    ----------
    p : Problem
        Spectrum, teacher, noise levels and generator sample size ``p.T0``.
    T : int or None
        Downstream sample size, ``>= 1``. ``None`` reports the error of the generator ``w_hat_n`` itself.
    lam : float or array_like, shape (L,)
        Downstream ridge penalty, ``0`` or in ``[1e-300, 1e250]`` (``0``: OLS, or min-norm when ``T < d``). A grid
        is fitted on the same data, which makes U-curves in ``lam`` smooth.
    n : int
        Number of synthetic generations, in ``[0, 2**53]`` (``0`` is the clean baseline).
    runs : int
        Independent repetitions, ``>= 2``.
    rng : int, Generator, SeedSequence or None
        Randomness; the same seed gives the same result.
    method : {"auto", "bartlett", "plain"}
        ``"auto"`` uses the exact sufficient-statistic sampler (Bartlett decomposition; for an OLS stage its
        ``O(d)`` form :func:`~collapse_lib.sampling.ols_noise`) wherever a stage has ``>= d`` samples, and
        materialises the design elsewhere. ``"bartlett"`` insists on the former (every stage needs ``>= d``
        samples), ``"plain"`` always materialises the design (the reference). A stage that materialises its
        design needs ``max(p.eigs) / min(p.eigs) <= 1e13`` (:data:`EIG_SPREAD_MAX_DESIGN`; its Gram matrix is
        singular in float64 beyond), else ``ValueError``; the samplers accept every spectrum :class:`Problem` does.
    progress : bool
        Show a progress bar (tqdm).

    Returns
    -------
    SimulationResult
        ``errors`` of shape ``(runs,)``, or ``(runs, L)`` for a ``lam`` grid.

    Examples
    --------
    >>> from collapse_lib import isotropic, simulate
    >>> res = simulate(isotropic(d=20, T0=60), T=50, n=2, runs=200, rng=0)
    >>> round(res.mean, 1)            # theory (R2): 20/29 + 2 * 20/39 = 1.715
    1.7
    """
    T, lam_arr, n, runs = _check_common(p, T, lam, n, runs, method, progress)
    errors = _run_chain(p, T, np.atleast_1d(lam_arr), n, runs, rng, method, progress, record=False)[:, 0, :]
    return SimulationResult.from_errors(errors[:, 0] if lam_arr.ndim == 0 else errors, seed=rng)


def simulate_generations(p: Problem, T: int | None = None, lam: float = 0.0, n: int = 5, runs: int = 100, rng=None,
                         method: str = "auto", progress: bool = False) -> SimulationResult:
    """Like :func:`simulate`, but record the downstream test error after every generation ``0..n`` of each chain.

    Returns
    -------
    SimulationResult
        ``errors`` of shape ``(runs, n + 1)``; column ``m`` is the error of the model trained on generation ``m``.
    """
    T, lam_arr, n, runs = _check_common(p, T, lam, n, runs, method, progress)
    if lam_arr.ndim != 0:
        raise ValueError("lam must be a single number in simulate_generations (use simulate for a lam grid)")
    errors = _run_chain(p, T, np.atleast_1d(lam_arr), n, runs, rng, method, progress, record=True)[:, :, 0]
    return SimulationResult.from_errors(errors, seed=rng)


def simulate_gaussian_chain(mu0: float = 0.0, s: float = 1.0, M: int = 100, n: int = 100, runs: int = 100,
                            rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Refit a Gaussian ``n`` times on ``M`` samples drawn from the previous fit (result R10).

    Generation 0 is ``N(mu0, s^2)``; generation ``m`` is the sample mean and the unbiased sample variance of ``M``
    draws from generation ``m - 1``.

    Parameters
    ----------
    mu0 : float
        Initial mean.
    s : float
        Initial standard deviation, in ``[0, 1e50]``.
    M : int
        Samples per generation, ``>= 2``.
    n : int
        Generations, ``>= 0``.
    runs : int
        Independent chains, ``>= 1``.
    rng : int, Generator or None

    Returns
    -------
    mu : ndarray, shape (runs, n + 1)
        Fitted means, column 0 is ``mu0``.
    var : ndarray, shape (runs, n + 1)
        Fitted variances, column 0 is ``s^2``.
    """
    mu0 = check.real("mu0", mu0, minimum=-np.inf)
    s = check.scale("s", s)
    M = check.integer("M", M, minimum=2)
    n = check.integer("n", n)
    runs = check.integer("runs", runs, minimum=1)
    gen = check.rng(rng)
    mu = np.empty((runs, n + 1))
    var = np.empty((runs, n + 1))
    mu[:, 0], var[:, 0] = mu0, s**2
    for m in range(1, n + 1):
        # Draw deviations around zero and shift afterwards: adding mu first would round a tiny spread to exactly
        # zero once sigma < 1e-16 |mu|, while the variance keeps shrinking geometrically in exact arithmetic.
        x = np.sqrt(var[:, m - 1, None]) * gen.standard_normal((runs, M))
        mu[:, m] = mu[:, m - 1] + x.mean(axis=1)
        var[:, m] = x.var(axis=1, ddof=1)
    return mu, var
