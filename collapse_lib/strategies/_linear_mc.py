"""Monte Carlo of the strategies for choosing ``lam`` on linear problems under the chain (result R6).

:func:`simulate_strategies` draws the ``n``-th generator ``w_hat_n`` exactly with
:func:`~collapse_lib.sampling.ols_noise` (each OLS generation adds an independent error), then the downstream
training set: for ``T > d`` through its sufficient statistics (Bartlett: ``X = Q R Lambda^1/2``, labels
``y = X w_hat_n + E``; the part of ``E`` outside the column space has squared norm ``sigma^2 chi^2_{T-d}``, which is
``rest``), for ``T <= d`` by materialising ``X``. The clean hold-out of ``m`` real samples ``(x, x^T w0 + noise)`` is
sampled exactly without materialising ``x``: given the fits ``w(lam_l)`` on the grid, the residuals
``x^T (w0 - w(lam_l))`` are jointly Gaussian with covariance ``A^T A``, ``A = Lambda^1/2 (w0 - W)``, so
``xi^T R`` with ``A = Q R`` and ``xi ~ N(0, I)`` has their law. Hold-outs of several sizes are nested (the first
``m`` of ``max(m)`` samples), so the comparison across ``m`` uses common random numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .. import _validate as check
from .. import regularization as reg
from ..problem import Problem
from ..sampling import bartlett_factor, design, ols_noise
from ._spectral import Spectrum, _batch, _from_covariance, _sizes, choose, gcv_curve, holdout_curves, lam_grid, \
    linear_spectrum, linear_weights

__all__ = ["synthetic_teacher", "downstream_samples", "holdout_residuals", "THEORY_STRATEGIES", "StrategyResult",
           "simulate_strategies"]

# Floats one chunk of runs may hold (the runs are processed in chunks below it).
_CHUNK_FLOATS = 2**23


def _check_problem(p, T, n, need_T0=True):
    if not isinstance(p, Problem):
        raise ValueError(f"p must be a collapse_lib.Problem, got {type(p).__name__}")
    T = check.integer("T", T, minimum=2)
    n = check.integer("n", n)
    if need_T0 and n > 0 and p.T0 < p.d + 2:
        raise ValueError(f"T0 must be >= d + 2 = {p.d + 2} (OLS generators), got {p.T0}")
    return T, n


def synthetic_teacher(p: Problem, n: int, runs: int, rng=None) -> np.ndarray:
    """Exact draws of the ``n``-th OLS generator ``w_hat_n`` of the chain (``T0 >= d + 2``), shape (runs, d).

    Each generation adds the error of an OLS fit on ``T0`` fresh samples, independent of its teacher:
    ``w_hat_m = w_hat_{m-1} + ols_noise / sqrt(eigs)`` (:func:`~collapse_lib.sampling.ols_noise`).
    """
    _check_problem(p, 2, n)
    runs = check.integer("runs", runs, minimum=1)
    gen = check.rng(rng)
    w = np.broadcast_to(p.w0, (runs, p.d)).copy()
    for _ in range(n):
        w += ols_noise(gen, p.d, p.T0, p.sigma0, runs) / np.sqrt(p.eigs)
    return w


def downstream_samples(p: Problem, T: int, n: int, runs: int, rng=None):
    """Materialised downstream training sets under the chain: ``(X, Y, w_hat_n)`` per run.

    Returns
    -------
    X : ndarray, shape (runs, T, d)
        Rows iid ``N(0, Sigma)`` in the eigenbasis.
    Y : ndarray, shape (runs, T)
        ``X w_hat_n + E``, ``E ~ N(0, sigma^2 I)``.
    w_hat : ndarray, shape (runs, d)
        The generator that labelled them (:func:`synthetic_teacher`).
    """
    T, n = _check_problem(p, T, n)
    runs = check.integer("runs", runs, minimum=1)
    gen = check.rng(rng)
    w_hat = synthetic_teacher(p, n, runs, gen)
    X = design(gen, p.eigs, T, runs)
    Y = np.einsum("std,sd->st", X, w_hat) + p.sigma * gen.standard_normal((runs, T))
    return X, Y, w_hat


def _bartlett_training(gen, p: Problem, w_hat: np.ndarray, T: int) -> tuple[Spectrum, np.ndarray]:
    """Spectrum and ``P`` of ``s`` downstream sets with ``T >= d + 1`` rows, from sufficient statistics (exact)."""
    s, d = w_hat.shape
    root = np.sqrt(p.eigs)
    R = bartlett_factor(gen, d, T, s)
    g = p.sigma * gen.standard_normal((s, d))                      # Q^T E
    rest = p.sigma**2 * gen.chisquare(T - d, size=s)               # ||E||^2 outside the column space
    RL = R * root[None, None, :]                                   # R Lambda^1/2, so X = Q RL
    nu, V = np.linalg.eigh(np.swapaxes(RL, 1, 2) @ RL / T)
    Qty = np.einsum("sij,sj->si", RL, w_hat) + g                   # Q^T y
    Xty = np.einsum("sij,si->sj", RL, Qty)                         # X^T y
    return _from_covariance(nu, V, np.einsum("sdk,sd->sk", V, Xty) / T, T, rest)


def _training(gen, p, w_hat, T, method):
    if method == "bartlett" or (method == "auto" and T > p.d):
        return _bartlett_training(gen, p, w_hat, T)
    X = design(gen, p.eigs, T, w_hat.shape[0])
    Y = np.einsum("std,sd->st", X, w_hat) + p.sigma * gen.standard_normal(X.shape[:2])
    return linear_spectrum(X, Y)


def holdout_residuals(rng, eigs, w0, W, sigma: float, m: int) -> np.ndarray:
    """Exact draws of validation residuals ``y - x^T w_l`` on ``m`` clean samples, for each fit ``w_l``.

    ``x ~ N(0, diag(eigs))``, ``y = x^T w0 + sigma e``; the same hold-out serves every fit of a run. Sampled as
    ``xi^T R + sigma e`` with ``Lambda^1/2 (w0 - W^T) = Q R`` (thin QR), which has the law of
    ``x^T (w0 - W^T) + sigma e`` (module docstring), in ``O(m L min(L, d))`` per run.

    Parameters
    ----------
    rng : int, Generator or None
    eigs : array_like, shape (d,)
    w0 : array_like, shape (d,)
        The true teacher (clean labels).
    W : array_like, shape (s, L, d)
        Fitted weights of ``s`` runs at ``L`` penalties.
    sigma : float
        Label noise of the clean samples, ``>= 0``.
    m : int
        Hold-out size, ``>= 1``.

    Returns
    -------
    ndarray, shape (s, m, L)
    """
    gen = check.rng(rng)
    eigs = check.vector("eigs", eigs, positive=True)
    W = _batch("W", W, 3)
    s, L, d = W.shape
    if d != eigs.size:
        raise ValueError(f"W must have shape (s, L, d) with d = len(eigs) = {eigs.size} (W and eigs disagree), got "
                         f"{W.shape}")
    w0 = check.vector("w0", w0, d=d)
    sigma = check.real("sigma", sigma)
    m = check.integer("m", m, minimum=1)
    A = np.sqrt(eigs)[None, :, None] * (w0[None, :, None] - np.swapaxes(W, 1, 2))   # (s, d, L)
    factor = np.linalg.qr(A, mode="r") if L <= d else A                             # (s, min(L, d), L)
    xi = gen.standard_normal((s, m, factor.shape[1]))
    return xi @ factor + sigma * gen.standard_normal((s, m, 1))


# ---------------------------------------------------------------------------------------------------- Monte Carlo
THEORY_STRATEGIES = {
    "fixed": "fixed tiny λ",
    "clean": "clean-data optimum",
    "oracle": "collapse-aware oracle",
    "rule": "asymptotic rule (R6)",
    "paper": "λ = T^-ℓcrit",
}


@dataclass(frozen=True)
class StrategyResult:
    """Per-run penalties and exact test errors of every strategy on the same simulated training sets.

    Attributes
    ----------
    lam : ndarray, shape (L,)
        The grid the data-driven strategies search.
    grid_errors : ndarray, shape (runs, L)
        Test error of every run's fit at every grid penalty.
    choices : dict of str to Choice
        ``lam`` and ``error`` arrays of shape (runs,) for each strategy: the theory strategies of
        :data:`THEORY_STRATEGIES` (a constant ``lam``, evaluated on each run), ``"gcv"``, ``"hindsight"`` (the best
        grid penalty of each run, knowing its test error: a lower bound) and ``"holdout m"`` for each hold-out size.
    m : tuple of int
        Hold-out sizes.
    seed : object
        The ``rng`` argument.
    """

    lam: np.ndarray
    grid_errors: np.ndarray
    choices: dict
    m: tuple
    seed: object = None

    @property
    def runs(self) -> int:
        return self.grid_errors.shape[0]

    def _name(self, name):
        if name not in self.choices:
            raise ValueError(f"name must be one of {list(self.choices)}, got {name!r}")
        return name

    def mean(self, name: str) -> float:
        """Mean test error of a strategy over runs."""
        return float(np.mean(self.choices[self._name(name)].error))

    def sem(self, name: str) -> float:
        """Standard error of :meth:`mean`."""
        err = self.choices[self._name(name)].error
        return float(np.std(err, ddof=1) / np.sqrt(err.size))

    def regret(self, name: str, against: str = "oracle") -> tuple[float, float]:
        """Mean excess error over ``against`` on the same runs (paired) and its standard error."""
        diff = self.choices[self._name(name)].error - self.choices[self._name(against)].error
        return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(diff.size))

    def recovered(self, name: str, baseline: str = "clean", against: str = "oracle") -> tuple[float, float]:
        """Fraction of the gain of ``against`` over ``baseline`` that strategy ``name`` recovers, and its s.e.

        ``F = mean(E_baseline - E_name) / mean(E_baseline - E_against)`` on the same runs (1: as good as
        ``against``, 0: no better than ``baseline``); the standard error is the delta-method one of a ratio of
        paired means. Raises ``ValueError`` when ``against`` gains nothing over ``baseline`` on average.
        """
        base = self.choices[self._name(baseline)].error
        a = base - self.choices[self._name(name)].error
        b = base - self.choices[self._name(against)].error
        if b.mean() <= 0:
            raise ValueError(f"against = {against!r} must beat baseline = {baseline!r} on average to define a gain")
        F = a.mean() / b.mean()
        return float(F), float(np.std(a - F * b, ddof=1) / np.sqrt(a.size) / b.mean())

    def holdout_needed(self, fraction: float = 0.9, baseline: str = "clean", against: str = "oracle"):
        """Smallest hold-out size of :attr:`m` recovering at least ``fraction`` of the gain (:meth:`recovered`), or
        ``None`` when no size does."""
        fraction = check.real("fraction", fraction, strict=True, maximum=1.0)
        for size in sorted(self.m):
            if self.recovered(f"holdout {size}", baseline, against)[0] >= fraction:
                return size
        return None

    def holdout(self, m: int) -> reg.Choice:
        """The hold-out strategy with ``m`` clean samples."""
        return self.choices[self._name(f"holdout {m}")]


def _errors(eigs, w0, W):
    return np.sum(eigs * (W - w0) ** 2, axis=-1)


def _strategy_result(lam, grid_err, theory_lams, extra_err, gcv, hold, m, seed, best_fixed=False) -> StrategyResult:
    """Every strategy's choice from the curves of the runs, as a read-only :class:`StrategyResult`.

    ``grid_err``, ``gcv`` (runs, L) and ``hold`` (runs, len(m), L) are on the grid ``lam``; ``extra_err[:, k]``
    (runs, K) is the error at the ``k``-th penalty of ``theory_lams`` (name -> penalty). ``best_fixed`` adds
    ``"best fixed"``: the grid penalty with the smallest mean error over the runs.
    """
    runs = grid_err.shape[0]
    choices = {name: reg.Choice(np.full(runs, lam_k), extra_err[:, k]) for k, (name, lam_k) in
               enumerate(theory_lams.items())}
    choices["gcv"] = choose(lam, gcv, grid_err)
    choices["hindsight"] = choose(lam, grid_err, grid_err)
    if best_fixed:
        best = int(np.argmin(grid_err.mean(axis=0)))
        choices["best fixed"] = reg.Choice(np.full(runs, lam[best]), grid_err[:, best].copy())
    for i, size in enumerate(m):
        choices[f"holdout {size}"] = choose(lam, hold[:, i, :], grid_err)
    for c in choices.values():
        for a in c:
            a.setflags(write=False)
    return StrategyResult(lam=lam, grid_errors=grid_err, choices=choices, m=m, seed=seed)


def simulate_strategies(p: Problem, T: int, n: int = 0, lam=None, m=(10, 100), runs: int = 100, rng=None,
                        beta: float = 2.0, r: float = 0.375, fixed_lam: float = 1e-6,
                        method: str = "auto") -> StrategyResult:
    """Monte Carlo of every strategy for choosing ``lam`` on the same downstream training sets.

    For each run: draw ``w_hat_n`` (``n`` OLS generations on ``T0`` samples, noise ``sigma0``), a downstream training
    set of ``T`` samples labelled by it (noise ``sigma``) and a clean hold-out of ``max(m)`` samples labelled by
    ``w0`` (noise ``sigma``); fit ridge on the whole grid from one decomposition; record the exact test error
    ``||w(lam) - w0||_Sigma^2`` of the penalty each strategy picks.

    Parameters
    ----------
    p : Problem
        The problem; ``p.T0 >= d + 2`` when ``n > 0``.
    T : int
        Downstream sample size, ``>= 2``.
    n : int
        Number of synthetic generations, ``>= 0``.
    lam : array_like, shape (L,) or None
        Grid for GCV and the hold-out (increasing, ``> 0``); default 49 points from ``1e-5`` to ``1e3``.
    m : int or sequence of int
        Clean hold-out sizes, ``>= 1`` (nested: the smaller hold-outs are subsets of the larger).
    runs : int
        Independent runs, ``>= 2``.
    rng : int, Generator, SeedSequence or None
    beta, r : float
        Exponents assumed by the rule and the paper's recipe (:func:`regularization.rule_choice`).
    fixed_lam : float
        Penalty of the ``"fixed"`` strategy, ``> 0``.
    method : {"auto", "bartlett", "plain"}
        ``"auto"``: sufficient statistics when ``T > d``, materialised design otherwise; ``"plain"`` always
        materialises (the reference), ``"bartlett"`` needs ``T > d``.

    Returns
    -------
    StrategyResult
    """
    T, n = _check_problem(p, T, n)
    fixed_lam = check.real("fixed_lam", fixed_lam, strict=True)
    lam = lam_grid(np.logspace(-5, 3, 49) if lam is None else lam)
    m = tuple(int(v) for v in _sizes("m", m))
    runs = check.integer("runs", runs, minimum=2)
    if method not in ("auto", "bartlett", "plain"):
        raise ValueError(f"method must be 'auto', 'bartlett' or 'plain', got {method!r}")
    if method == "bartlett" and T <= p.d:
        raise ValueError(f"T must be > d = {p.d} for method='bartlett', got {T}")
    theory_lams = {"fixed": reg.fixed_choice(p, T, n, fixed_lam).lam, "clean": reg.clean_choice(p, T, n).lam,
                   "oracle": reg.oracle_choice(p, T, n).lam, "rule": reg.rule_choice(p, T, n, beta, r).lam,
                   "paper": reg.paper_choice(p, T, n, beta, r).lam}
    extra = np.array(list(theory_lams.values()))
    gen = check.rng(rng)
    d, L, M = p.d, lam.size, max(m)
    per_run = d * min(T, d) + (L + extra.size) * d + M * L + T * d * (T <= d or method == "plain")
    chunk = int(max(1, min(runs, _CHUNK_FLOATS // per_run)))
    grid_err, extra_err, gcv, hold = [], [], [], []
    with threadpool_limits(limits=1, user_api="blas"):
        for start in range(0, runs, chunk):
            s = min(chunk, runs - start)
            w_hat = synthetic_teacher(p, n, s, gen)
            spec, P = _training(gen, p, w_hat, T, method)
            W = linear_weights(spec, P, lam)
            grid_err.append(_errors(p.eigs, p.w0, W))
            extra_err.append(_errors(p.eigs, p.w0, linear_weights(spec, P, extra)))
            gcv.append(gcv_curve(spec, lam))
            hold.append(holdout_curves(holdout_residuals(gen, p.eigs, p.w0, W, p.sigma, M), m))
    grid_err, extra_err = np.concatenate(grid_err), np.concatenate(extra_err)
    gcv, hold = np.concatenate(gcv), np.concatenate(hold)
    return _strategy_result(lam, grid_err, theory_lams, extra_err, gcv, hold, m, rng)
