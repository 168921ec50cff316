"""Monte Carlo of the strategies for choosing ``lam`` for kernel ridge on a pool of real inputs (results R6, R7a).

Each run is one run of the kernel chain of chapter 6 (:func:`collapse_lib.kernel_chain.fitted_set`: the same inputs
and noise as run ``r`` of :func:`~collapse_lib.kernel_chain.kernel_chain` with the same seed). Its downstream
training kernel was eigendecomposed once; that decomposition serves the pool errors of the whole ``lam`` grid
(:func:`~collapse_lib.kernel_chain.fit_errors`), GCV on the synthetic labels, and the predictions at a clean hold-out
of ``max(m)`` pool inputs outside the training set, labelled by the clean target plus noise ``sigma`` (nested
hold-outs, as in the linear case).
"""
from __future__ import annotations

import numpy as np

from .. import _validate as check
from .. import regularization as reg
from ..kernel_chain import fit_errors, fitted_set
from ..kernels import KernelPool, empirical_problem
from ..problem import Problem
from ._linear_mc import StrategyResult, _strategy_result
from ._spectral import _sizes, gcv_curve, holdout_curves, kernel_predictions, lam_grid, spectrum_from_eigh

__all__ = ["KERNEL_THEORY_STRATEGIES", "simulate_kernel_strategies"]

KERNEL_THEORY_STRATEGIES = {
    "fixed": "fixed tiny λ",
    "clean": "clean-data optimum (theory)",
    "oracle": "collapse-aware optimum (theory)",
}


def simulate_kernel_strategies(pool: KernelPool, T: int, T0: int = 500, n: int = 0, sigma0: float = 1.0,
                               sigma: float = 0.5, lam0: float = 1e-6, lam=None, m=(10, 100), runs: int = 20,
                               rng=None, fixed_lam: float = 1e-6, problem: Problem | None = None) -> StrategyResult:
    """Every strategy for choosing ``lam`` on the same runs of the kernel chain; exact pool errors.

    Parameters
    ----------
    pool : KernelPool
        Pool of inputs with its kernel and clean target (:func:`collapse_lib.kernels.make_pool`).
    T : int
        Downstream sample size, ``2 <= T``; ``T + max(m) <= N`` (the hold-out avoids the training inputs).
    T0 : int
        Samples per generator, ``1 <= T0 <= N``.
    n : int
        Generations, ``>= 0``.
    sigma0, sigma : float
        Generator and downstream (and hold-out) label-noise standard deviations, ``>= 0``.
    lam0 : float
        Generator ridge penalty, ``>= 0``.
    lam : array_like, shape (L,) or None
        Grid for GCV and the hold-out (increasing, ``> 0``); default 41 points from ``1e-6`` to ``10``.
    m : int or sequence of int
        Clean hold-out sizes, ``>= 1``.
    runs : int
        Independent runs, ``>= 2``; run ``r`` uses ``numpy.random.default_rng(rng).spawn(runs)[r]``.
    rng : int, Generator or None
    fixed_lam : float
        Penalty of the ``"fixed"`` strategy, ``> 0``.
    problem : Problem or None
        The pool as a problem for the theory strategies; ``None`` builds
        :func:`~collapse_lib.kernels.empirical_problem` (``sigma``, ``sigma0``, ``T0``). Their penalties minimise
        the ridge-generator chain formula (:func:`~collapse_lib.kernels.ridge_chain_test_error`, with ``lam0``).

    Returns
    -------
    StrategyResult
        ``choices``: the strategies of :data:`KERNEL_THEORY_STRATEGIES`, ``"gcv"``, ``"hindsight"``,
        ``"best fixed"`` (the grid penalty with the smallest mean error over the runs: an empirical oracle) and
        ``"holdout m"``; errors are mean squared errors against the clean target over the whole pool.
    """
    if not isinstance(pool, KernelPool):
        raise ValueError(f"pool must be a KernelPool (collapse_lib.kernels.make_pool), got {type(pool).__name__}")
    T = check.integer("T", T, minimum=2, maximum=pool.N)
    T0 = check.integer("T0", T0, minimum=1, maximum=pool.N)
    n = check.integer("n", n)
    sigma0, sigma, lam0 = check.real("sigma0", sigma0), check.real("sigma", sigma), check.real("lam0", lam0)
    lam = lam_grid(np.logspace(-6, 1, 41) if lam is None else lam)
    m = tuple(int(v) for v in _sizes("m", m))
    M = max(m)
    if T + M > pool.N:
        raise ValueError(f"m must satisfy T + max(m) <= N = {pool.N} (the hold-out uses inputs outside the training "
                         f"set), got T = {T}, max(m) = {M}")
    runs = check.integer("runs", runs, minimum=2)
    fixed_lam = check.real("fixed_lam", fixed_lam, strict=True)
    if problem is None:
        problem = empirical_problem(pool, sigma=sigma, sigma0=sigma0, T0=T0)
    elif not isinstance(problem, Problem):
        raise ValueError(f"problem must be a collapse_lib.Problem or None, got {type(problem).__name__}")
    theory_lams = {"fixed": fixed_lam, "clean": reg.clean_choice(problem, T, n, lam0=lam0).lam,
                   "oracle": reg.oracle_choice(problem, T, n, lam0=lam0).lam}
    lam_all = np.r_[lam, list(theory_lams.values())]
    children = check.rng(rng).spawn(runs)
    grid_err, extra_err = np.empty((runs, lam.size)), np.empty((runs, len(theory_lams)))
    gcv, hold = np.empty((runs, lam.size)), np.empty((runs, len(m), lam.size))
    for r, gen in enumerate(children):
        fs = fitted_set(pool, T, T0, n, sigma0=sigma0, sigma=sigma, lam0=lam0, rng=gen)
        err = fit_errors(fs, lam_all).pool
        grid_err[r], extra_err[r] = err[:lam.size], err[lam.size:]
        spec, U = spectrum_from_eigh(fs.evals, fs.evecs, fs.y)
        gcv[r] = gcv_curve(spec, lam)[0]
        outside = np.setdiff1d(np.arange(pool.N), fs.idx)
        v = gen.choice(outside, size=M, replace=False)
        y_v = pool.f[v] + sigma * gen.standard_normal(M)
        pred = kernel_predictions(spec, U, fs.K_pool[v], lam)[0]                    # (M, L)
        hold[r] = holdout_curves((y_v[:, None] - pred)[None], m)[0]
    return _strategy_result(lam, grid_err, theory_lams, extra_err, gcv, hold, m, rng, best_fixed=True)
