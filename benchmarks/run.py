"""Performance benchmarks of collapse_lib and the book. Run: ``make bench`` or ``python benchmarks/run.py``.

Measures, side by side in one run, and prints tables with the machine it ran on:

(a) ``simulate`` against a naive loop (materialised designs, ``numpy.linalg.lstsq`` per run and per generation, the
    reference written below), same configuration: d=100, T=T0=1000, n=5, 200 runs. Target: ratio >= 50.
(b) ``simulate`` at T=1e5 against T=1e3 (d=100). Target: ratio <= 1.5 (the cost does not grow with T).
(c) The interactive charts (``benchmarks/bench_figures.py``): build-time precomputation and payload per figure and
    chapter, the retired PNG path beside the client-side chart on the same frames, redraw times in headless
    Chromium on the built book and in Voila with a live kernel, and the live recompute round trip. Then the
    benchmarks of ``benchmarks/bench_scaling.py`` and ``benchmarks/bench_workflows.py`` when those files exist.
(d) ``pytest --nbval-lax --nbval-current-env`` wall time per notebook.

Options: ``--quick`` (smaller (a), fewer repeats and moves; a smoke test), ``--skip-notebooks`` ((c) on the browser
tests' fixture notebook only, without a browser; no (d)), ``--json PATH`` (also write the numbers as JSON),
``--html-dir DIR...`` (the built pages for the browser part of (c), e.g. single-page builds; default ``_build/html``).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402

from naive import naive_chain  # noqa: E402  (benchmarks/ is on sys.path: this script's folder)
from collapse_lib import isotropic, simulate, theory  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
HERE = pathlib.Path(__file__).resolve().parent


# ---------------------------------------------------------------------------------------------------- machine
def machine() -> dict:
    cpu = "unknown"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    blas = "unknown"
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{deps.get('name')} {deps.get('version')}"
    except Exception:  # noqa: BLE001 - informational only
        pass
    threads = ""
    try:
        from threadpoolctl import threadpool_info

        threads = ", ".join(sorted({f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info()}))
    except ImportError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "python": platform.python_version(), "numpy": np.__version__,
            "blas": blas, "blas_threads": threads, "load_avg": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


# ---------------------------------------------------------------------------------------------------- (a), (b)


def bench_engine(quick: bool) -> dict:
    d, T, n, runs = 100, 1000, 5, 200
    p = isotropic(d=d, sigma=1.0, sigma0=1.0, T0=T, rng=0)
    exact = theory.ols_test_error(d=d, T=T, T0=T, sigma=1.0, sigma0=1.0, n=n)
    simulate(p, T=T, n=n, runs=runs, rng=0)                       # warm-up (imports, BLAS threads)
    fast_times = timed(lambda: simulate(p, T=T, n=n, runs=runs, rng=1), 3 if quick else 7)
    fast = simulate(p, T=T, n=n, runs=runs, rng=1)
    naive_runs = 40 if quick else runs
    t = time.perf_counter()
    naive = naive_chain(p, T, n, naive_runs, rng=2)
    naive_time = (time.perf_counter() - t) * runs / naive_runs     # scaled only in --quick mode
    naive_se = naive.std(ddof=1) / np.sqrt(naive.size)
    t_simulate = statistics.median(fast_times)
    res = {"config": f"d={d}, T=T0={T}, n={n}, {runs} runs", "simulate_s": t_simulate, "naive_s": naive_time,
           "naive_runs_timed": naive_runs, "ratio": naive_time / t_simulate,
           "simulate_mean": fast.mean, "simulate_sem": fast.sem, "naive_mean": float(naive.mean()),
           "naive_sem": float(naive_se), "theory": exact}
    # (b) T = 1e5 (and 1e6) against T = 1e3.
    big = {}
    for TT in (1000, 100_000, 1_000_000):
        simulate(p, T=TT, n=n, runs=runs, rng=0)
        big[TT] = statistics.median(timed(lambda TT=TT: simulate(p, T=TT, n=n, runs=runs, rng=3), 3 if quick else 7))
    res["T_times_s"] = big
    res["T_ratio"] = big[100_000] / big[1000]
    res["T_ratio_1e6"] = big[1_000_000] / big[1000]
    return res


# ---------------------------------------------------------------------------------------------------- (c)
def load_bench(name: str):
    """``benchmarks/<name>.py`` as a module, or None when the file does not exist."""
    path = HERE / f"{name}.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_bench(name: str, argv: list[str]):
    """Call ``main`` of ``benchmarks/<name>.py`` (with ``argv`` when it takes arguments); report, never stop."""
    print(f"\n## {name}.py\n", flush=True)
    try:
        module = load_bench(name)
    except Exception as err:  # noqa: BLE001 - a broken benchmark file is reported, the others run
        print(f"(could not import benchmarks/{name}.py: {type(err).__name__}: {err})", flush=True)
        return None
    if module is None:
        print(f"(benchmarks/{name}.py does not exist yet: skipped)", flush=True)
        return None
    if not callable(getattr(module, "main", None)):
        print(f"(benchmarks/{name}.py has no main(): skipped)", flush=True)
        return None
    saved_argv = sys.argv
    sys.argv = [str(HERE / f"{name}.py"), *argv]   # a main() that parses sys.argv sees only its own options
    try:
        takes_args = bool(inspect.signature(module.main).parameters)
        return module.main(argv) if takes_args else module.main()
    except BaseException as err:  # noqa: BLE001 - SystemExit from argparse included: report and go on
        if isinstance(err, KeyboardInterrupt):
            raise
        print(f"(benchmarks/{name}.py failed: {type(err).__name__}: {err})", flush=True)
        return None
    finally:
        sys.argv = saved_argv


def bench_charts(quick: bool, skip_notebooks: bool, html_dirs: list[pathlib.Path] | None = None):
    """Section (c): bench_figures.main(), then bench_scaling and bench_workflows when they exist."""
    argv = ["--quick"] if quick else []
    if html_dirs:
        argv += ["--html-dir", *map(str, html_dirs)]
    if skip_notebooks:
        argv += ["--notebooks", str(ROOT / "tests" / "browser" / "fixtures" / "live_widgets.ipynb"),
                 "--skip-browser"]
    out = {"figures": run_bench("bench_figures", argv)}
    for name in ("bench_scaling", "bench_workflows"):
        out[name.removeprefix("bench_")] = run_bench(name, [])
    return out


# ---------------------------------------------------------------------------------------------------- (d)
def bench_nbval() -> list[dict]:
    out = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", str(path.relative_to(ROOT)), "--nbval-lax",
                               "--nbval-current-env", "-q", "-p", "no:cacheprovider"],
                              cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - t
        last = (proc.stdout.strip().splitlines() or [""])[-1]
        out.append({"notebook": path.name, "seconds": elapsed, "ok": proc.returncode == 0, "summary": last})
    return out


# ---------------------------------------------------------------------------------------------------- report
NBVAL_TARGET_S = 60.0


def report_engine(m: dict, eng: dict) -> str:
    lines = ["# collapse_lib benchmarks", "",
             f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, numpy {m['numpy']}, BLAS {m['blas']}"
             f" ({m['blas_threads']}); load average at start {m['load_avg']}. A shared machine: other jobs run "
             "beside the benchmarks, so wall times are noisy.", "",
             "(a) and (b) run with one BLAS thread for both the naive loop and simulate; (c) and (d) with the "
             "process's BLAS setting above.",
             "", "| benchmark | measured | target | met |", "|---|---|---|---|"]
    lines.append(f"| (a) naive loop / simulate ({eng['config']}) | {eng['naive_s']:.2f} s / {eng['simulate_s']:.3f} s"
                 f" = **{eng['ratio']:.0f}x** | >= 50x | {'yes' if eng['ratio'] >= 50 else 'NO'} |")
    tt = eng["T_times_s"]
    lines.append(f"| (b) simulate T=1e5 / T=1e3 (d=100, n=5, 200 runs) | {tt[100000]:.3f} s / {tt[1000]:.3f} s = "
                 f"**{eng['T_ratio']:.2f}** (T=1e6: {eng['T_ratio_1e6']:.2f}) | <= 1.5 | "
                 f"{'yes' if eng['T_ratio'] <= 1.5 else 'NO'} |")
    lines += ["", "Sanity check of (a): the same configuration gives "
              f"simulate {eng['simulate_mean']:.4f} ± {eng['simulate_sem']:.4f}, "
              f"naive loop {eng['naive_mean']:.4f} ± {eng['naive_sem']:.4f}, theory (R2) {eng['theory']:.4f} (± is 1 s.e. here)."]
    if eng["naive_runs_timed"] != 200:
        lines.append(f"(--quick: the naive loop was timed on {eng['naive_runs_timed']} runs and scaled to 200.)")
    return "\n".join(lines)


def report_nbval(nbv: list[dict]) -> str:
    lines = ["## (d) Notebooks under nbval", "", "| benchmark | measured | target | met |", "|---|---|---|---|"]
    for r in nbv:
        met = "NO (failed)" if not r["ok"] else ("yes" if r["seconds"] <= NBVAL_TARGET_S else "NO")
        lines.append(f"| (d) nbval {r['notebook']} | {r['seconds']:.1f} s ({r['summary']}) | <= "
                     f"{NBVAL_TARGET_S:.0f} s | {met} |")
    lines.append(f"| (d) nbval total ({len(nbv)} notebooks, serial) | {sum(r['seconds'] for r in nbv):.1f} s | | |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller naive loop and fewer repeats (smoke test)")
    ap.add_argument("--skip-notebooks", action="store_true",
                    help="(c) on the fixture notebook only, without a browser; no (d)")
    ap.add_argument("--json", type=pathlib.Path, help="also write the raw numbers to this JSON file")
    ap.add_argument("--html-dir", type=pathlib.Path, nargs="+",
                    help="built book(s) for the browser part of (c) (default: _build/html)")
    args = ap.parse_args(argv)
    m = machine()
    print(f"benchmarking on {m['cpu']} ({m['cores']} cores), load {m['load_avg']} ...", file=sys.stderr, flush=True)
    try:  # (a) and (b) with one BLAS thread on both sides: fair to the naive loop and stable on a shared machine.
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(1)
    except ImportError:
        limiter = contextlib.nullcontext()
    with limiter:
        eng = bench_engine(args.quick)
    print("(a), (b) done", file=sys.stderr, flush=True)
    print(report_engine(m, eng), flush=True)
    print("\n# (c) Interactive charts and further benchmarks", flush=True)
    charts = bench_charts(args.quick, args.skip_notebooks, args.html_dir)
    print("(c) done", file=sys.stderr, flush=True)
    nbv = None
    if not args.skip_notebooks:
        nbv = bench_nbval()
        print("\n" + report_nbval(nbv), flush=True)
    if args.json:
        if isinstance(charts.get("figures"), dict):
            charts["figures"].pop("text", None)
        args.json.write_text(json.dumps({"machine": m, "engine": eng, "charts": charts, "nbval": nbv}, indent=1,
                                        default=str))


if __name__ == "__main__":
    main()
