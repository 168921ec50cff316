"""Benchmark of ``collapse_lib.workflows.simulate_workflow`` against a per-run pinv loop (chapter 8, issue 13).

The loop is the approach of the public *Collapse or Thrive* linear-regression script (KoyejoLab), without the
logging: per run, draw the teacher, the design and a 1000-row test set; per iteration, fit ``pinv`` on the pool (or
on ``T`` rows drawn from it with ``choice(replace=False)``), score the test MSE, relabel the design with the fit and
append (accumulate) or replace. Both sides run the same configuration in this one process, one BLAS thread:
d = 50, T = 200, 20 iterations, 1000 runs, for replace, accumulate and accumulate-subsample. Printed: the wall
time of each side, their ratio per workflow and for the three together, and the mean error at iteration 20 of both
in units of one OLS fit (a sanity check that they simulate the same thing).

What to expect: replace and accumulate cost ``O(d^2)`` per iteration and run (sufficient statistics), against a pinv
of the whole pool for the loop, so their ratios are large and grow with the pool. An exact accumulate-subsample fit
needs the Gram matrix of its ``T`` rows, ``O(T d^2)``, the same order as the loop's SVD: its ratio is a constant
factor (measured 8-16 on the book's shared 2-core machine, depending on its load), and it dominates the total ratio
(43-81 in the same runs).

Run: ``python benchmarks/bench_workflows.py`` (``--runs N`` for a shorter run; ``--json PATH`` writes the numbers).
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
from threadpoolctl import threadpool_limits

from collapse_lib.workflows import simulate_workflow

MODES = ("replace", "accumulate", "accumulate-subsample")


def pinv_loop(d: int, T: int, sigma: float, n: int, mode: str, runs: int, seed: int) -> np.ndarray:
    """The public script's protocol, one run at a time; returns the test MSE (runs, n)."""
    gen = np.random.default_rng(seed)
    out = np.empty((runs, n))
    for r in range(runs):
        w_star = gen.standard_normal(d)
        X_init = gen.standard_normal((T, d))
        X_train, Y_train = X_init.copy(), X_init @ w_star + sigma * gen.standard_normal(T)
        X_test = gen.standard_normal((1000, d))
        Y_test = X_test @ w_star
        for it in range(n):
            if mode == "accumulate-subsample":
                idx = gen.choice(X_train.shape[0], size=T, replace=False)
                w_hat = np.linalg.pinv(X_train[idx]) @ Y_train[idx]
            else:
                w_hat = np.linalg.pinv(X_train) @ Y_train
            out[r, it] = np.mean((Y_test - X_test @ w_hat) ** 2)
            Y_new = X_init @ w_hat + sigma * gen.standard_normal(T)
            if mode == "replace":
                Y_train = Y_new
            else:
                X_train, Y_train = np.concatenate((X_train, X_init)), np.concatenate((Y_train, Y_new))
    return out


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t0, out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args(argv)
    d, T, sigma, n, runs = 50, 200, 1.0, 20, args.runs
    one = sigma**2 * d / (T - d - 1)
    print(f"simulate_workflow vs per-run pinv loop: d = {d}, T = {T}, {n} iterations, {runs} runs "
          f"(python {platform.python_version()}, numpy {np.__version__}, one BLAS thread)")
    print(f"{'workflow':22s} {'library [s]':>12s} {'pinv loop [s]':>14s} {'ratio':>8s}   "
          f"error at iteration {n} / one fit: library, loop")
    rows = {}
    with threadpool_limits(1):
        simulate_workflow(d=d, T=T, sigma=sigma, n=2, mode="accumulate-subsample", runs=4, rng=0)   # warm-up
        for mode in MODES:
            t_lib, res = timed(simulate_workflow, d=d, T=T, sigma=sigma, n=n, mode=mode, runs=runs, rng=1)
            t_ref, ref = timed(pinv_loop, d, T, sigma, n, mode, runs, 2)
            rows[mode] = dict(library_s=t_lib, loop_s=t_ref, ratio=t_ref / t_lib,
                              library_error=float(res.mean[-1] / one), loop_error=float(ref[:, -1].mean() / one))
            print(f"{mode:22s} {t_lib:12.3f} {t_ref:14.2f} {t_ref / t_lib:8.1f}   "
                  f"{rows[mode]['library_error']:.2f}, {rows[mode]['loop_error']:.2f}")
        t_plain = {mode: timed(simulate_workflow, d=d, T=T, sigma=sigma, n=n, mode=mode, runs=runs, rng=1,
                               method="plain")[0] for mode in ("replace", "accumulate")}
    lib = sum(r["library_s"] for r in rows.values())
    ref = sum(r["loop_s"] for r in rows.values())
    print(f"{'all three':22s} {lib:12.3f} {ref:14.2f} {ref / lib:8.1f}")
    for mode, t in t_plain.items():
        print(f"  ({mode} with method='plain', design materialised: {t:.3f} s, ratio {rows[mode]['loop_s'] / t:.1f})")
    result = dict(d=d, T=T, n=n, runs=runs, workflows=rows, total_ratio=ref / lib,
                  plain_s=t_plain)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    main()
