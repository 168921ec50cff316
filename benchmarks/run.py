"""Performance benchmarks of collapse_lib and the book (issue 3). Run: ``make bench`` or ``python benchmarks/run.py``.

Measures, side by side in one run, and prints a table with the machine it ran on:

(a) ``simulate`` against a naive loop (materialised designs, ``numpy.linalg.lstsq`` per run and per generation, the
    reference written below), same configuration: d=100, T=T0=1000, n=5, 200 runs. Target: ratio >= 50.
(b) ``simulate`` at T=1e5 against T=1e3 (d=100). Target: ratio <= 1.5 (the cost does not grow with T).
(c) Redraw time of interactive figures, timed through ``InteractiveFigure`` itself: the draw callback alone and the
    full redraw (callback + PNG + HTML) that a control change triggers. Representative figures built here (theory-only
    draws and one live Monte-Carlo draw with 100 runs, d=100), plus every interactive figure found by executing the
    code cells of ``book/*.ipynb``. A redraw counts as Monte Carlo when a simulation ran inside it. Targets: theory
    < 50 ms, live Monte Carlo < 300 ms.
(d) ``pytest --nbval-lax --nbval-current-env`` wall time per notebook.

Options: ``--quick`` (smaller (a), fewer repeats; a smoke test), ``--skip-notebooks`` (no (c) discovery, no (d)),
``--json PATH`` (also write the numbers as JSON).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("MPLBACKEND", "Agg")

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402

import collapse_lib  # noqa: E402
from collapse_lib import isotropic, power_law, simulate, simulate_generations, theory  # noqa: E402
from collapse_lib import plotting as cp  # noqa: E402
from collapse_lib import widgets as cw  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
SIM = importlib.import_module("collapse_lib.simulate")


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
def naive_chain(p, T: int, n: int, runs: int, rng) -> np.ndarray:
    """Reference implementation most public code uses: materialise every design, lstsq per run and generation."""
    gen = np.random.default_rng(rng)
    root = np.sqrt(p.eigs)
    errors = np.empty(runs)
    for r in range(runs):
        w = p.w0.copy()
        for _ in range(n):
            X = gen.standard_normal((p.T0, p.d)) * root
            y = X @ w + p.sigma0 * gen.standard_normal(p.T0)
            w = np.linalg.lstsq(X, y, rcond=None)[0]
        X = gen.standard_normal((T, p.d)) * root
        y = X @ w + p.sigma * gen.standard_normal(T)
        w_pred = np.linalg.lstsq(X, y, rcond=None)[0]
        errors[r] = np.sum(p.eigs * (w_pred - p.w0) ** 2)
    return errors


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
class RedrawProbe:
    """Counts simulations (anything reaching simulate's chain or the Gaussian chain) while a draw runs."""

    def __init__(self):
        self.calls = 0
        self._orig_chain = SIM._run_chain
        self._orig_gauss = SIM.simulate_gaussian_chain

    def install(self):
        probe = self

        def run_chain(*a, **k):
            probe.calls += 1
            return probe._orig_chain(*a, **k)

        def gauss(*a, **k):
            probe.calls += 1
            return probe._orig_gauss(*a, **k)

        SIM._run_chain = run_chain
        SIM.simulate_gaussian_chain = gauss
        collapse_lib.simulate_gaussian_chain = gauss
        for name in ("kernels",):                                 # future modules with their own simulators
            mod = sys.modules.get(f"collapse_lib.{name}")
            if mod is not None:
                for attr in dir(mod):
                    if attr.startswith("simulate"):
                        fn = getattr(mod, attr)

                        def wrapped(*a, _fn=fn, **k):
                            probe.calls += 1
                            return _fn(*a, **k)

                        setattr(mod, attr, wrapped)
        return self


def alternatives(ctl, k: int = 3) -> list:
    """Up to ``k`` other valid values of a control, near its current value."""
    value = ctl.value
    if isinstance(ctl, widgets.Checkbox) or isinstance(ctl, widgets.ToggleButton):
        return [not value]
    if hasattr(ctl, "options") and not isinstance(ctl, widgets.SelectionRangeSlider):
        opts = [o[1] if isinstance(o, tuple) else o for o in ctl.options]
        try:
            i = opts.index(value)
        except ValueError:
            i = 0
        order = sorted(range(len(opts)), key=lambda j: (abs(j - i), j))
        return [opts[j] for j in order if j != i][:k]
    if isinstance(ctl, widgets.FloatLogSlider):
        out = [value * ctl.base ** (s * ctl.step) for s in (1, -1, 2)]
        lo, hi = ctl.base ** ctl.min, ctl.base ** ctl.max
        return [v for v in out if lo <= v <= hi][:k]
    if all(hasattr(ctl, a) for a in ("min", "max", "step")) and not isinstance(value, (tuple, list)):
        step = ctl.step or (ctl.max - ctl.min) / 10
        out = [value + s * step for s in (1, -1, 2, -2)]
        if isinstance(ctl, widgets.IntSlider) or isinstance(ctl, widgets.BoundedIntText):
            out = [int(round(v)) for v in out]
        return [v for v in out if ctl.min <= v <= ctl.max and v != value][:k]
    return []


def time_figure(fig: cw.InteractiveFigure, probe: RedrawProbe) -> list[dict]:
    """Drive every control of ``fig`` as a reader would and time each redraw it triggers."""
    records = []
    draw, render = fig.draw, fig.render
    state = {}

    def timed_draw(f, **values):
        t = time.perf_counter()
        try:
            return draw(f, **values)
        finally:
            state["draw"] = time.perf_counter() - t

    def timed_render(**values):
        before = probe.calls
        t, c = time.perf_counter(), time.process_time()
        out = render(**values)
        records.append({"draw_s": state.get("draw", float("nan")), "redraw_s": time.perf_counter() - t,
                        "redraw_cpu_s": time.process_time() - c, "mc": probe.calls > before,
                        "error": "cl-error" in out})
        return out

    fig.draw, fig.render = timed_draw, timed_render
    try:
        main = fig.controls[fig.main]
        others = [c for name, c in fig.controls.items() if name != fig.main]
        for ctl in others:                                        # each triggers _on_change -> one redraw
            original = ctl.value
            for v in alternatives(ctl):
                ctl.value = v
            ctl.value = original
        # The main control: after a change elsewhere every frame is stale, so each move redraws one frame.
        fig._stale = set(range(len(fig.frames)))
        start = main.value
        for v in list(main.options)[: 12]:
            v = v[1] if isinstance(v, tuple) else v
            if v != main.value:
                main.value = v
        main.value = start
    finally:
        fig.draw, fig.render = draw, render
    return records


def representative_figures() -> list[tuple[str, cw.InteractiveFigure]]:
    """Figures built the way the chapters build them: three theory-only draws and two live Monte-Carlo draws."""
    figs = []

    def draw_r2(fig, n, sigma0):
        ax = fig.axes[0]
        ns = np.arange(0, 17)
        ys = [theory.ols_test_error(d=20, T=50, T0=60, sigma=0.7, sigma0=sigma0, n=m) for m in ns]
        cp.theory_line(ax, ns, ys, 0, "R2")
        ax.axvline(n, color="#999999")
        cp.finish(ax, "generations n", "test error")
        return f"error at n={n}: {ys[n]:.3f}"

    figs.append(("R2 line in n (theory)", cw.interactive_figure(
        draw_r2, {"n": cw.slider("n", [0, 1, 2, 4, 8, 16], value=2),
                  "sigma0": widgets.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.1)}, main="n", alt="R2.")))

    p_pl = power_law(d=1000, beta=2.0, r=0.375, sigma=1.0, sigma0=1.0, T0=2000)
    lam = np.logspace(-5, 1, 120)

    def draw_r3(fig, n, T):
        ax = fig.axes[0]
        for i, m in enumerate(sorted({0, n})):
            cp.theory_line(ax, lam, theory.ridge_test_error(p_pl, T=T, lam=lam, n=m).total, i, f"n={m}")
        cp.finish(ax, "lambda", "test error", logx=True, logy=True)
        best = theory.ridge_test_error(p_pl, T=T, lam=lam, n=n).total.min()
        return f"best error at n={n}: {best:.3f}"

    figs.append(("R3 U-curve, power law d=1000, 120 lam (theory)", cw.interactive_figure(
        draw_r3, {"n": cw.slider("n", [0, 1, 2, 5, 10], value=1),
                  "T": widgets.IntSlider(value=500, min=100, max=4000, step=100)}, main="n", alt="R3.")))

    def draw_r4(fig, T0, sigma0):
        ax = fig.axes[0]
        ns = np.arange(0, 13)
        ys = [theory.overparam_chain_error(d=100, T0=T0, w0_norm2=1.0, sigma0=sigma0, n=m) for m in ns]
        cp.theory_line(ax, ns, ys, 0, "R4")
        cp.finish(ax, "generations n", "generator error")
        return f"error at n=12: {ys[-1]:.3f}"

    figs.append(("R4 chain in n (theory)", cw.interactive_figure(
        draw_r4, {"T0": cw.slider("T0", [10, 20, 40, 60, 80, 95], value=40),
                  "sigma0": widgets.FloatSlider(value=0.3, min=0.0, max=1.0, step=0.1)}, main="T0", alt="R4.")))

    def draw_mc(fig, n, sigma0):
        ax = fig.axes[0]
        q = isotropic(d=100, sigma=1.0, sigma0=sigma0, T0=200, rng=0)
        sim = simulate_generations(q, T=200, n=n, runs=100, rng=7)
        ns = np.arange(n + 1)
        cp.theory_line(ax, ns, [theory.ols_test_error(d=100, T=200, T0=200, sigma0=sigma0, n=m) for m in ns], 0)
        cp.mc_band(ax, ns, sim.mean, sim.sem, 0)
        cp.mc_note(ax, 100, 7)
        cp.finish(ax, "generations n", "test error")
        return f"MC at n={n}: {sim.mean[-1]:.3f} ± {sim.sem[-1]:.3f}"

    figs.append(("live MC: simulate_generations d=100, T=T0=200, 100 runs", cw.interactive_figure(
        draw_mc, {"n": cw.slider("n", [1, 2, 4, 8], value=4),
                  "sigma0": widgets.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.1)}, main="n", alt="MC.")))
    lam_grid = np.logspace(-3, 1, 30)

    def draw_mc_ridge(fig, n, T):
        ax = fig.axes[0]
        q = isotropic(d=100, sigma=1.0, sigma0=1.0, T0=200, rng=0)
        sim = simulate(q, T=T, lam=lam_grid, n=n, runs=100, rng=8)
        cp.theory_line(ax, lam_grid, theory.ridge_test_error(q, T=T, lam=lam_grid, n=n).total, 0)
        cp.mc_band(ax, lam_grid, sim.mean, sim.sem, 0)
        cp.mc_note(ax, 100, 8)
        cp.finish(ax, "lambda", "test error", logx=True)
        return f"best MC error: {sim.mean.min():.3f}"

    figs.append(("live MC: ridge U-curve, 30 lam, d=100, T0=200, 100 runs", cw.interactive_figure(
        draw_mc_ridge, {"n": cw.slider("n", [0, 1, 2, 4], value=1),
                        "T": widgets.IntSlider(value=150, min=50, max=400, step=50)}, main="n", alt="MC ridge.")))
    return figs


def notebook_figures(path: pathlib.Path) -> tuple[list[tuple[str, cw.InteractiveFigure]], str | None]:
    """Execute the code cells of one notebook (IPython display stubbed) and collect its InteractiveFigures."""
    found: list[cw.InteractiveFigure] = []
    original_init = cw.InteractiveFigure.__init__

    def init(self, *a, **k):
        original_init(self, *a, **k)
        found.append(self)

    nb = json.loads(path.read_text())
    ns = {"__name__": "__main__", "display": lambda *a, **k: None}
    error = None
    cwd = os.getcwd()
    cw.InteractiveFigure.__init__ = init
    try:
        import IPython.display as ipd

        saved_display = ipd.display
        ipd.display = lambda *a, **k: None
    except ImportError:
        ipd = None
    try:
        os.chdir(path.parent)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
                src = "".join(cell["source"])
                src = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in src.splitlines())
                exec(compile(src, f"{path.name}[{i}]", "exec"), ns)   # noqa: S102 - our own notebooks
    except Exception as err:  # noqa: BLE001 - report, keep benchmarking the others
        error = f"{type(err).__name__}: {err}"
    finally:
        os.chdir(cwd)
        cw.InteractiveFigure.__init__ = original_init
        if ipd is not None:
            ipd.display = saved_display
    return [(f"{path.stem} #{k + 1} (main: {f.main})", f) for k, f in enumerate(found)], error


def summarize(records: list[dict]) -> dict:
    out = {}
    for kind in ("theory", "mc"):
        rec = [r for r in records if r["mc"] == (kind == "mc")]
        if rec:
            out[kind] = {"count": len(rec), "draw_ms": 1e3 * statistics.median(r["draw_s"] for r in rec),
                         "redraw_ms": 1e3 * statistics.median(r["redraw_s"] for r in rec),
                         "redraw_cpu_ms": 1e3 * statistics.median(r["redraw_cpu_s"] for r in rec),
                         "max_redraw_ms": 1e3 * max(r["redraw_s"] for r in rec)}
    out["errors"] = sum(r["error"] for r in records)
    return out


def bench_redraws(skip_notebooks: bool) -> dict:
    probe = RedrawProbe().install()
    results = {"representative": [], "notebooks": [], "notebook_errors": {}}
    for name, fig in representative_figures():
        results["representative"].append((name, summarize(time_figure(fig, probe))))
    if not skip_notebooks:
        for path in sorted((ROOT / "book").glob("*.ipynb")):
            figs, error = notebook_figures(path)
            if error:
                results["notebook_errors"][path.name] = error
            for name, fig in figs:
                try:
                    results["notebooks"].append((name, summarize(time_figure(fig, probe))))
                except Exception as err:  # noqa: BLE001 - a redraw bug is reported, the benchmark goes on
                    results["notebook_errors"][name] = f"redraw failed: {type(err).__name__}: {err}"
    return results


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
def fmt_ms(x):
    return f"{x:.1f}" if x is not None else "-"


def report(m: dict, eng: dict, red: dict, nbv: list[dict] | None) -> str:
    lines = ["# collapse_lib benchmarks", "",
             f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, numpy {m['numpy']}, BLAS {m['blas']}"
             f" ({m['blas_threads']}); load average at start {m['load_avg']}.", "",
             "(a) and (b) run with one BLAS thread for both the naive loop and simulate; (c) and (d) with the "
             "process's BLAS setting above.",
             "", "| benchmark | measured | target | met |", "|---|---|---|---|"]
    lines.append(f"| (a) naive loop / simulate ({eng['config']}) | {eng['naive_s']:.2f} s / {eng['simulate_s']:.3f} s"
                 f" = **{eng['ratio']:.0f}x** | >= 50x | {'yes' if eng['ratio'] >= 50 else 'NO'} |")
    tt = eng["T_times_s"]
    lines.append(f"| (b) simulate T=1e5 / T=1e3 (d=100, n=5, 200 runs) | {tt[100000]:.3f} s / {tt[1000]:.3f} s = "
                 f"**{eng['T_ratio']:.2f}** (T=1e6: {eng['T_ratio_1e6']:.2f}) | <= 1.5 | "
                 f"{'yes' if eng['T_ratio'] <= 1.5 else 'NO'} |")
    for group, rows in (("representative", red["representative"]), ("notebook", red["notebooks"])):
        for name, s in rows:
            for kind, target in (("theory", 50.0), ("mc", 300.0)):
                if kind in s:
                    k = s[kind]
                    label = "theory" if kind == "theory" else "live MC"
                    ok_cb, ok_full = k["draw_ms"] < target, k["redraw_ms"] < target
                    lines.append(f"| (c) {group}: {name} [{label}, {k['count']} redraws] | callback {fmt_ms(k['draw_ms'])}"
                                 f" ms; full redraw {fmt_ms(k['redraw_ms'])} ms (CPU {fmt_ms(k['redraw_cpu_ms'])} ms,"
                                 f" max {fmt_ms(k['max_redraw_ms'])})"
                                 f" | < {target:.0f} ms | callback {'yes' if ok_cb else 'NO'}; "
                                 f"full {'yes' if ok_full else 'NO'} |")
    for name, err in red["notebook_errors"].items():
        lines.append(f"| (c) {name}: execution stopped early: {err[:80]} | | | |")
    if nbv is not None:
        for r in nbv:
            lines.append(f"| (d) nbval {r['notebook']} | {r['seconds']:.1f} s ({r['summary']}) | ~40 s | "
                         f"{'yes' if r['ok'] and r['seconds'] <= 40 else ('NO (failed)' if not r['ok'] else 'NO')} |")
        lines.append(f"| (d) nbval total ({len(nbv)} notebooks, serial) | {sum(r['seconds'] for r in nbv):.1f} s | | |")
    lines += ["", "Sanity check of (a): the same configuration gives "
              f"simulate {eng['simulate_mean']:.4f} ± {eng['simulate_sem']:.4f}, naive loop {eng['naive_mean']:.4f} ± "
              f"{eng['naive_sem']:.4f}, theory (R2) {eng['theory']:.4f}.",
              "(c) 'callback' is the draw function alone; 'full redraw' adds the PNG encoding and HTML update a control "
              "change triggers (InteractiveFigure.render). Medians over the redraws of each figure (each control moved "
              "to up to 3 nearby values, then the main slider across its frames); 'max' is the slowest one; 'CPU' is the "
              "process CPU time of the full redraw, which other jobs on a shared machine do not inflate."]
    if eng["naive_runs_timed"] != 200:
        lines.append(f"(--quick: the naive loop was timed on {eng['naive_runs_timed']} runs and scaled to 200.)")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller naive loop and fewer repeats (smoke test)")
    ap.add_argument("--skip-notebooks", action="store_true", help="skip notebook discovery in (c) and all of (d)")
    ap.add_argument("--json", type=pathlib.Path, help="also write the raw numbers to this JSON file")
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
    red = bench_redraws(args.skip_notebooks)
    print("(c) done", file=sys.stderr, flush=True)
    nbv = None if args.skip_notebooks else bench_nbval()
    text = report(m, eng, red, nbv)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"machine": m, "engine": eng, "redraws": red, "nbval": nbv}, indent=1,
                                        default=str))


if __name__ == "__main__":
    main()
