"""Benchmark of the Figure-1(b)-style Monte-Carlo sweep of chapter 5 (issue 10). Run: ``python benchmarks/bench_scaling.py``.

The sweep: ``power_law(d=1000, beta=2, r=0.375, sigma=0, sigma0=1, T0=2d)``, 10 log-spaced downstream sizes
``T`` from ``d/20`` to ``5d``, ``n`` in ``{0, 1, 5}``, ridge with ``lam = T^-l_crit``, 30 runs each: 30 calls of
:func:`collapse_lib.simulate`. Measured in one run of this script and printed side by side:

(a) ``simulate`` on the whole sweep (all 30 runs of every configuration);
(b) the same ``simulate`` with its per-run LAPACK paths switched off and the old 128 MB chunks (the batched code
    before issue 10), on the whole sweep, unless ``--skip-batched``;
(c) the naive materialised loop most public code uses (every design drawn, ``lstsq`` per generator, a ridge solve
    of the normal equations downstream), timed on ``--naive-runs`` runs of every configuration (default 2) and
    scaled linearly to 30 runs (its cost is exactly linear in the number of runs).

Ratios (c)/(a) and (b)/(a) are printed. Threads: one BLAS thread (set before numpy loads), as in ``make bench``.
"""
from __future__ import annotations

import argparse
import importlib
import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from collapse_lib import power_law, simulate, theory  # noqa: E402
from naive import naive_chain  # noqa: E402  (benchmarks/ is on sys.path: this script's folder)

SIM = importlib.import_module("collapse_lib.simulate")

D, RUNS, NS = 1000, 30, (0, 1, 5)


def sweep_sizes(d: int = D) -> np.ndarray:
    """10 log-spaced downstream sample sizes from ``d/20`` to ``5d``."""
    return np.unique(np.round(np.logspace(np.log10(d / 20), np.log10(5 * d), 10)).astype(int))


def run_sweep(p, sizes, l_crit: float, runs: int, fn) -> tuple[float, float, dict]:
    """Time ``fn(T, lam, n, runs, seed)`` over the sweep: wall seconds, CPU seconds, mean error per configuration."""
    means = {}
    t, c = time.perf_counter(), time.process_time()
    for n in NS:
        for i, T in enumerate(sizes):
            means[(n, int(T))] = fn(int(T), float(T) ** -l_crit, n, runs, 1000 * n + i)
    return time.perf_counter() - t, time.process_time() - c, means


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive-runs", type=int, default=2, help="runs per configuration timed for the naive loop")
    parser.add_argument("--skip-batched", action="store_true", help="skip (b), the pre-issue-10 batched paths")
    args = parser.parse_args(argv)
    if args.naive_runs < 1:
        parser.error("--naive-runs must be >= 1")

    p = power_law(d=D, beta=2.0, r=0.375, sigma=0.0, sigma0=1.0, T0=2 * D)
    sizes = sweep_sizes()
    l_crit = theory.scaling_exponents(beta=2.0, r=0.375).l_crit
    print(f"Figure-1(b) sweep: d={D}, T0={2 * D}, T in {sizes.tolist()}, n in {list(NS)}, lam = T^-{l_crit:g}, "
          f"{RUNS} runs, BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS')}")

    def fast(T, lam, n, runs, seed):
        return simulate(p, T=T, lam=lam, n=n, runs=runs, rng=seed).mean

    simulate(p, T=100, lam=0.1, n=1, runs=2, rng=0)                      # warm-up (imports, LAPACK)
    t_fast, c_fast, means = run_sweep(p, sizes, l_crit, RUNS, fast)
    out = {"simulate_s": t_fast, "simulate_cpu_s": c_fast}
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; times are wall (CPU)")
    print(f"(a) simulate, whole sweep:                      {t_fast:7.1f} s ({c_fast:.1f} s)")

    if not args.skip_batched:
        saved = SIM._PER_RUN_MIN_DIM, SIM._CHUNK_FLOATS
        SIM._PER_RUN_MIN_DIM, SIM._CHUNK_FLOATS = 10**9, 2**24
        try:
            t_batched, c_batched, _ = run_sweep(p, sizes, l_crit, RUNS, fast)
        finally:
            SIM._PER_RUN_MIN_DIM, SIM._CHUNK_FLOATS = saved
        out.update(batched_s=t_batched, batched_cpu_s=c_batched)
        print(f"(b) batched paths before issue 10, whole sweep: {t_batched:7.1f} s ({c_batched:.1f} s)   "
              f"ratio (b)/(a) = {t_batched / t_fast:.1f} ({c_batched / c_fast:.1f})")

    t_naive, c_naive, _ = run_sweep(p, sizes, l_crit, args.naive_runs,
                                    lambda T, lam, n, runs, seed: naive_chain(p, T, n, runs, seed, lam=lam).mean())
    scale = RUNS / args.naive_runs
    out.update(naive_s=t_naive * scale, naive_cpu_s=c_naive * scale, naive_runs_timed=args.naive_runs,
               ratio=t_naive * scale / t_fast, ratio_cpu=c_naive * scale / c_fast)
    print(f"(c) naive loop, {args.naive_runs} runs per configuration: {t_naive:.1f} s ({c_naive:.1f} s), scaled to "
          f"{RUNS} runs {t_naive * scale:.1f} s ({c_naive * scale:.1f} s)   ratio (c)/(a) = "
          f"{out['ratio']:.1f} ({out['ratio_cpu']:.1f})")

    # Sanity: the sweep's Monte-Carlo means against R3 (the tests check this statistically).
    gaps = [abs(means[(n, int(T))] / theory.ridge_test_error(p, T=int(T), lam=float(T) ** -l_crit, n=n).total - 1)
            for n in NS for T in sizes]
    print(f"simulate vs R3 over the sweep: median |mc/R3 - 1| = {np.median(gaps):.3f}, max {max(gaps):.3f} "
          f"({RUNS} runs per point)")
    out["max_rel_gap"] = float(max(gaps))
    return out


if __name__ == "__main__":
    main()
