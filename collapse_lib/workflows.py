"""Data-reuse workflows (chapter 8): replace, accumulate and accumulate-subsample on a fixed design, accumulate on
fresh designs, a fixed synthetic fraction (R9), fresh real data mixed with synthetic data (R11), growing sample
sizes (R12).

**The fixed-design protocol** (:func:`simulate_workflow`) is the one of the public *Collapse or Thrive*
linear-regression experiment (Kazdan, Schaeffer et al. 2024): draw ``X`` (``T x d``, rows iid ``N(0, I)``) once;
iteration 1 fits OLS on real labels ``X w0 + E_1``; iteration ``i`` labels the same ``X`` with the current fit,
``X w_{i-1} + E_i`` (noise ``sigma``), and refits on

- ``replace``: the newest labels only;
- ``accumulate``: all ``i`` label vectors so far (``i T`` rows);
- ``accumulate-subsample``: ``T`` rows drawn without replacement from that pool of ``i T`` rows;
- ``accumulate-fresh``: like accumulate, but every iteration draws a fresh ``X``.

The test error is exact, ``||w_i - w0||^2`` (``Sigma = I``). One engine runs every workflow, batched over runs:

- with the fixed design, the stacked OLS fit is the average of the per-batch fits (R8), so ``replace`` and
  ``accumulate`` need one factorisation of ``X`` and ``O(d^2)`` per iteration. With ``method="auto"`` they do not
  even materialise ``X``: ``X = Q R`` with ``R`` drawn by Bartlett's decomposition, and the fit of iteration ``i``
  moves by ``R^{-1} g_i`` with ``g_i = Q^T E_i ~ N(0, sigma^2 I_d)`` (exact in law);
- ``accumulate-subsample`` draws a uniform ``T``-subset of the pool (the ``T`` smallest of ``i T`` uniform keys). The
  fit depends on it through the count ``c_r`` of copies of row ``r`` selected and the sum ``z_r`` of their labels:
  ``w_i = (X^T diag(c) X)^{-1} X^T z``, one batched ``d x d`` solve per iteration (exactly the pool's OLS fit, or
  its min-norm fit when fewer than ``d`` distinct rows are selected);
- ``accumulate-fresh`` uses the sufficient statistics ``(X_i^T X_i, X_i^T E_i)`` of each new batch.

``method="plain"`` materialises every design and label vector (the reference the fast paths are tested against).
"""
from __future__ import annotations

import numpy as np

from . import _validate as check
from .sampling import bartlett_factor, ols_noise, sufficient_stats
from .simulate import SimulationResult, _blas_threads
from .theory._mixing import _sizes as _check_sizes

__all__ = ["MODES", "simulate_workflow", "simulate_mixed_data", "simulate_fresh_mix", "simulate_schedule",
           "simulate_gaussian_schedule"]

MODES = ("replace", "accumulate", "accumulate-subsample", "accumulate-fresh")
# Floats held per chunk of runs. Small on purpose: large fresh arrays are page-faulted in on every chunk, which cost
# more than the linear algebra (accumulate-subsample at d = 50, T = 200: 2^19 ran 1.6x faster than 2^22).
_CHUNK_FLOATS = 2**19


def _choice(name, value, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def _chunks(runs: int, per_run: int):
    size = int(max(1, min(runs, _CHUNK_FLOATS // max(per_run, 1))))
    return [(start, min(size, runs - start)) for start in range(0, runs, size)]


def _solve(A, b):
    """Batched ``A x = b`` for ``A`` (s, d, d), ``b`` (s, d)."""
    return np.linalg.solve(A, b[..., None])[..., 0]


def _mv(A, x):
    """Batched matrix-vector product ``A x`` for ``A`` (s, p, q), ``x`` (s, q)."""
    return (A @ x[..., None])[..., 0]


# ---------------------------------------------------------------------------------------- the fixed-design engine
def _fast_chain(gen, mode, d, T, sigma, n, s):
    """Error vectors ``w_i - w0`` of ``s`` runs from sufficient statistics, shape (s, n, d)."""
    if mode == "accumulate-fresh":
        A = np.zeros((s, d, d))
        e = np.zeros((s, d))
        out = np.empty((s, n, d))
        for i in range(n):
            R = bartlett_factor(gen, d, T, s)
            g = sigma * gen.standard_normal((s, d))
            Rt = np.swapaxes(R, 1, 2)
            A += Rt @ R
            e = e + _solve(A, _mv(Rt, g))           # e_i = e_{i-1} + A_i^{-1} X_i^T E_i
            out[:, i] = e
        return out
    R = bartlett_factor(gen, d, T, s)
    g = sigma * gen.standard_normal((s, n, d))
    if mode == "accumulate":
        g /= np.arange(1, n + 1)[None, :, None]          # e_i = e_{i-1} + eps_i / i
    h = np.cumsum(g, axis=1)
    return np.swapaxes(np.linalg.solve(R, np.swapaxes(h, 1, 2)), 1, 2)


def _subsample_fit(gen, X, Xt, labels, i, T, d):
    """OLS fit on ``T`` rows drawn without replacement from the pool of ``i`` label vectors on ``X``."""
    s = X.shape[0]
    keys = gen.random((s, i * T))                  # pool row p = copy p // T of design row p % T
    chosen = np.argpartition(keys, T - 1, axis=1)[:, :T] if i > 1 else np.tile(np.arange(T), (s, 1))
    mask = np.zeros((s, i * T), dtype=bool)
    mask[np.arange(s)[:, None], chosen] = True
    mask = mask.reshape(s, i, T)
    counts = mask.sum(axis=1).astype(float)        # copies of each design row in the subsample
    z = np.where(mask, labels[:, :i], 0.0).sum(axis=1)
    gram = (Xt * counts[:, None, :]) @ X
    deficient = np.flatnonzero((counts > 0).sum(axis=1) < d)
    gram[deficient] = np.eye(d)                    # placeholders, solved below
    w = _solve(gram, _mv(Xt, z))
    for r in deficient:
        # fewer than d distinct rows: the pool's OLS fit is not unique; take the minimum-norm one (pinv)
        keep = counts[r] > 0
        w[r] = np.linalg.lstsq(X[r, keep], z[r, keep] / counts[r, keep], rcond=None)[0]
    return w


def _plain_chain(gen, mode, d, T, sigma, n, s, w0):
    """Fits ``w_i`` of ``s`` runs with every design and label vector materialised, shape (s, n, d)."""
    w = np.broadcast_to(w0, (s, d)).copy()
    out = np.empty((s, n, d))
    X = gen.standard_normal((s, T, d))
    Xt = np.swapaxes(X, 1, 2).copy()
    if mode in ("replace", "accumulate"):
        gram_inv = np.linalg.inv(Xt @ X)           # the one factorisation of the fixed design
    labels = np.empty((s, n, T)) if mode == "accumulate-subsample" else None
    A = np.zeros((s, d, d))
    b_sum = np.zeros((s, d))
    for i in range(1, n + 1):
        if mode == "accumulate-fresh" and i > 1:
            X = gen.standard_normal((s, T, d))
            Xt = np.swapaxes(X, 1, 2).copy()
        y = _mv(X, w) + sigma * gen.standard_normal((s, T))
        if mode == "replace":
            w = _mv(gram_inv, _mv(Xt, y))
        elif mode == "accumulate":
            b_sum += _mv(Xt, y)
            w = _mv(gram_inv, b_sum) / i           # stacked OLS = average of the batch fits
        elif mode == "accumulate-fresh":
            A += Xt @ X
            b_sum += _mv(Xt, y)
            w = _solve(A, b_sum)
        else:
            labels[:, i - 1] = y
            w = _subsample_fit(gen, X, Xt, labels, i, T, d)
        out[:, i - 1] = w
    return out - w0


def simulate_workflow(d: int, T: int, sigma: float = 1.0, n: int = 10, mode: str = "replace", runs: int = 100,
                      rng=None, method: str = "auto", w0_norm: float = 1.0) -> SimulationResult:
    """Monte Carlo of a data-reuse workflow on a fixed isotropic design (the *Collapse or Thrive* protocol).

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.
    T : int
        Rows of the design (and of every new batch), ``>= d + 2``.
    sigma : float
        Label noise of every iteration, in ``[0, 1e50]``.
    n : int
        Iterations, ``>= 1``; iteration 1 fits the real labels.
    mode : {"replace", "accumulate", "accumulate-subsample", "accumulate-fresh"}
        The workflow (module docstring).
    runs : int
        Independent runs (each with its own design), ``>= 2``.
    rng : int, Generator, SeedSequence or None
        Randomness; the same seed gives bit-identical results.
    method : {"auto", "plain"}
        ``"auto"``: sufficient statistics where they exist (``replace``, ``accumulate``, ``accumulate-fresh``);
        ``"plain"``: materialise every design and label vector. ``accumulate-subsample`` always materialises ``X``.
    w0_norm : float
        Norm of the teacher, in ``[0, 1e50]``. It does not affect the error unless a subsample has fewer than ``d``
        distinct rows (then the minimum-norm fit shrinks towards 0).

    Returns
    -------
    SimulationResult
        ``errors`` of shape ``(runs, n)``: column ``i - 1`` is ``||w_i - w0||^2`` after iteration ``i``.

    Examples
    --------
    >>> from collapse_lib.workflows import simulate_workflow
    >>> res = simulate_workflow(d=10, T=30, n=8, mode="accumulate", runs=2000, rng=0)
    >>> round(float(res.mean[-1]), 1)      # R8: 10/19 * sum 1/i^2 = 0.804
    0.8
    """
    d = check.integer("d", d, minimum=1)
    T = check.integer("T", T, minimum=1)
    if T < d + 2:
        raise ValueError(f"T must be >= d + 2 = {d + 2} (OLS on the fixed design has infinite expected error "
                         f"below), got T = {T}")
    sigma = check.scale("sigma", sigma)
    n = check.integer("n", n, minimum=1)
    mode = _choice("mode", mode, MODES)
    runs = check.integer("runs", runs, minimum=2)
    method = _choice("method", method, ("auto", "plain"))
    w0_norm = check.scale("w0_norm", w0_norm)
    gen = check.rng(rng)
    w0 = np.full(d, w0_norm / np.sqrt(d))
    fast = method == "auto" and mode != "accumulate-subsample"
    per_run = n * d + d * d + (0 if fast else T * d + (2 * n * T if mode == "accumulate-subsample" else 0))
    errors = np.empty((runs, n))
    with _blas_threads(d):
        for start, s in _chunks(runs, per_run):
            e = _fast_chain(gen, mode, d, T, sigma, n, s) if fast else _plain_chain(gen, mode, d, T, sigma, n, s, w0)
            errors[start:start + s] = np.sum(e**2, axis=-1)
    return SimulationResult.from_errors(errors, seed=rng)


# -------------------------------------------------------------------------------- R9: a fixed synthetic fraction
def _block(gen, T, sigma, s, d):
    """``(X^T X, X^T E)`` of ``T`` fresh isotropic rows (zeros when ``T = 0``)."""
    if T == 0:
        return np.zeros((s, d, d)), np.zeros((s, d))
    return sufficient_stats(gen, np.ones(d), T, sigma, s, method="bartlett" if T >= d else "plain")


def simulate_mixed_data(d: int, T: int, p2: float, n0: int, sigma: float = 1.0, sigma0: float = 1.0,
                        runs: int = 100, rng=None) -> SimulationResult:
    """OLS on ``T`` rows of which a fraction ``p2`` is labelled by an OLS generator fitted on ``n0`` real rows (R9).

    Per run: the generator ``w2 = w0 + delta`` is an OLS fit on ``n0`` fresh rows with noise ``sigma0``; the
    training set has ``(1 - p2) T`` rows labelled by ``w0`` and ``p2 T`` rows labelled by ``w2``, all with noise
    ``sigma``; the downstream model is OLS on all ``T`` rows. Exact sufficient-statistic sampling (cost independent
    of ``T``). Compare with :func:`collapse_lib.theory.mixing_floor` and :func:`~collapse_lib.theory.mixed_data_error`.

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.
    T : int
        Training rows, ``>= d + 2``.
    p2 : float
        Synthetic fraction in ``[0, 1]``; ``p2 T`` must be an integer.
    n0 : int
        Real rows of the generator's fit, ``>= d + 2``.
    sigma, sigma0 : float
        Label noise of the training set and of the generator's data, in ``[0, 1e50]``.
    runs : int
        Independent runs, ``>= 2``.
    rng : int, Generator, SeedSequence or None

    Returns
    -------
    SimulationResult
        ``errors`` of shape ``(runs,)``: ``||w_hat - w0||^2``.
    """
    d = check.integer("d", d, minimum=1)
    T = check.integer("T", T, minimum=d + 2)
    p2 = check.real("p2", p2, maximum=1.0)
    T2 = int(round(p2 * T))
    if abs(p2 * T - T2) > 1e-9 * T:
        raise ValueError(f"p2 * T must be an integer (the number of synthetic rows), got p2 * T = {p2 * T:g}")
    n0 = check.integer("n0", n0, minimum=d + 2)
    sigma, sigma0 = check.scale("sigma", sigma), check.scale("sigma0", sigma0)
    runs = check.integer("runs", runs, minimum=2)
    gen = check.rng(rng)
    errors = np.empty(runs)
    with _blas_threads(d):
        for start, s in _chunks(runs, 4 * d * d):
            delta = ols_noise(gen, d, n0, sigma0, s)
            G1, c1 = _block(gen, T - T2, sigma, s, d)
            G2, c2 = _block(gen, T2, sigma, s, d)
            e = _solve(G1 + G2, _mv(G2, delta) + c1 + c2)
            errors[start:start + s] = np.sum(e**2, axis=1)
    return SimulationResult.from_errors(errors, seed=rng)


# -------------------------------------------------------------------------------- R11: fresh real data + synthetic
def simulate_fresh_mix(w: float, k: float = 1.0, n: int = 100, rounds: int = 100, model: str = "mean", d: int = 1,
                       sigma: float = 1.0, runs: int = 100, rng=None) -> SimulationResult:
    """Every round, fit ``n`` fresh real samples and ``m = n/k`` samples from the previous fit, weighted ``w`` (R11).

    The weighted objective puts ``w/n`` on each real sample and ``(1 - w)/m`` on each synthetic one. Round 0 fits
    ``n`` real samples only.

    - ``model="mean"``: estimate the mean of ``N(theta*, sigma^2 I_d)``; synthetic samples are drawn from
      ``N(theta_{t-1}, sigma^2 I_d)``. Sample means are drawn exactly (``N(., sigma^2/n)``). The risk in units of
      ``V/n = sigma^2 d/n`` is exactly :func:`collapse_lib.theory.fresh_mix_risk`.
    - ``model="ols"``: linear regression on ``d`` isotropic features; real labels ``x^T theta* + noise``, synthetic
      labels ``x^T theta_{t-1} + noise`` on fresh inputs (noise ``sigma``); weighted least squares through exact
      sufficient statistics. The risk is close to ``fresh_mix_risk`` in units of ``sigma^2 d/(n - d - 1)`` when
      ``n >> d``.

    Parameters
    ----------
    w : float
        Weight of the real data, in ``(0, 1]``.
    k : float
        ``n/m``, ``> 0``; ``n/k`` must be a positive integer.
    n : int
        Real samples per round, ``>= 1`` (``>= d + 2`` for ``"ols"``).
    rounds : int
        Rounds after round 0, ``>= 0``.
    model : {"mean", "ols"}
    d : int
        Dimension, ``>= 1``.
    sigma : float
        Noise standard deviation, in ``[0, 1e50]``.
    runs : int
        Independent runs, ``>= 2``.
    rng : int, Generator, SeedSequence or None

    Returns
    -------
    SimulationResult
        ``errors`` of shape ``(runs, rounds + 1)``: column ``t`` is ``||theta_t - theta*||^2``.
    """
    w = check.real("w", w, strict=True, maximum=1.0)
    k = check.real("k", k, strict=True)
    model = _choice("model", model, ("mean", "ols"))
    d = check.integer("d", d, minimum=1)
    n = check.integer("n", n, minimum=d + 2 if model == "ols" else 1)
    m = int(round(n / k))
    if m < 1 or abs(n / k - m) > 1e-9 * (n / k):
        raise ValueError(f"k must make m = n/k a positive integer (synthetic samples per round), got n/k = {n / k:g}")
    rounds = check.integer("rounds", rounds)
    sigma = check.scale("sigma", sigma)
    runs = check.integer("runs", runs, minimum=2)
    gen = check.rng(rng)
    errors = np.empty((runs, rounds + 1))
    with _blas_threads(d):
        for start, s in _chunks(runs, 4 * d * d):
            if model == "mean":
                e = sigma / np.sqrt(n) * gen.standard_normal((s, d))
            else:
                e = ols_noise(gen, d, n, sigma, s)
            errors[start:start + s, 0] = np.sum(e**2, axis=1)
            for t in range(1, rounds + 1):
                if model == "mean":
                    real = sigma / np.sqrt(n) * gen.standard_normal((s, d))
                    synth = e + sigma / np.sqrt(m) * gen.standard_normal((s, d))
                    e = w * real + (1 - w) * synth
                else:
                    Gr, cr = _block(gen, n, sigma, s, d)
                    Gs, cs = _block(gen, m, sigma, s, d)
                    A = (w / n) * Gr + ((1 - w) / m) * Gs
                    e = _solve(A, (w / n) * cr + ((1 - w) / m) * (_mv(Gs, e) + cs))
                errors[start:start + s, t] = np.sum(e**2, axis=1)
    return SimulationResult.from_errors(errors, seed=rng)


# ---------------------------------------------------------------------------------------- R12: growing sample sizes
def simulate_schedule(d: int, sizes, sigma: float = 1.0, runs: int = 100, rng=None) -> SimulationResult:
    """Replace chain of OLS generators whose generation ``m`` fits ``T_m`` fresh rows (R12).

    ``w_hat_0 = w0``; generation ``m`` labels ``T_m`` fresh isotropic rows with ``w_hat_{m-1}`` plus noise ``sigma``
    and refits OLS. Exact ``O(d)`` sampling of each fit (:func:`collapse_lib.sampling.ols_noise`).

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.
    sizes : array_like of int, shape (n,)
        ``T_1, ..., T_n``, each ``>= d + 2``.
    sigma : float
        Noise of every generation, in ``[0, 1e50]``.
    runs : int
        Independent chains, ``>= 2``.
    rng : int, Generator, SeedSequence or None

    Returns
    -------
    SimulationResult
        ``errors`` of shape ``(runs, n)``: column ``m - 1`` is ``||w_hat_m - w0||^2``.
    """
    d = check.integer("d", d, minimum=1)
    sizes = _check_sizes("sizes", sizes, d + 2)
    sigma = check.scale("sigma", sigma)
    runs = check.integer("runs", runs, minimum=2)
    gen = check.rng(rng)
    e = np.zeros((runs, d))
    errors = np.empty((runs, sizes.size))
    for m, T_m in enumerate(sizes):
        e += ols_noise(gen, d, int(T_m), sigma, runs)
        errors[:, m] = np.sum(e**2, axis=1)
    return SimulationResult.from_errors(errors, seed=rng)


def simulate_gaussian_schedule(sizes, s: float = 1.0, mu0: float = 0.0, runs: int = 100,
                               rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Refit a Gaussian to ``M_i`` samples of the previous fit at step ``i`` (R12; R10 with constant sizes).

    Exact through sufficient statistics: the sample mean is ``N(mu_{i-1}, var_{i-1}/M_i)`` and the unbiased
    variance is ``var_{i-1} chi^2_{M_i - 1}/(M_i - 1)``, independent of it, so the cost does not grow with ``M_i``.

    Parameters
    ----------
    sizes : array_like of int, shape (n,)
        ``M_1, ..., M_n``, each ``>= 2``.
    s : float
        Initial standard deviation, in ``[0, 1e50]``.
    mu0 : float
        Initial mean, in ``[-1e50, 1e50]``.
    runs : int
        Independent chains, ``>= 1``.
    rng : int, Generator, SeedSequence or None

    Returns
    -------
    mu, var : ndarray, shape (runs, n + 1)
        Fitted means and variances; column 0 is ``(mu0, s^2)``.
    """
    sizes = _check_sizes("sizes", sizes, 2)
    s = check.scale("s", s)
    mu0 = check.real("mu0", mu0, minimum=-check.MAX_SCALE, maximum=check.MAX_SCALE)
    runs = check.integer("runs", runs, minimum=1)
    gen = check.rng(rng)
    mu = np.empty((runs, sizes.size + 1))
    var = np.empty((runs, sizes.size + 1))
    mu[:, 0], var[:, 0] = mu0, s**2
    for i, M in enumerate(sizes, start=1):
        mu[:, i] = mu[:, i - 1] + np.sqrt(var[:, i - 1] / M) * gen.standard_normal(runs)
        var[:, i] = var[:, i - 1] * gen.chisquare(M - 1, size=runs) / (M - 1)
    return mu, var
