"""Benchmarks of the interactive charts (``collapse_lib.figures``), measured in one run and printed as tables.

Run: ``python benchmarks/bench_figures.py`` (or through ``make bench``, which calls :func:`main`). No assertions: it
prints what it measured beside the budgets of the design (DESIGN.md, "Interactive figures").

1. Build-time precomputation. Every chapter notebook ``book/[0-9][0-9]_*.ipynb`` is executed in-process (IPython
   magics transformed by ``TransformerManager``; a fresh namespace per notebook; cwd ``book/``; matplotlib Agg) with
   ``InteractiveChart.__init__`` wrapped to time each construction (the precomputation of every frame) and record its
   frame count and :meth:`~collapse_lib.figures.InteractiveChart.payload_bytes`. Budgets: frames of one figure
   <= 1 MB (10^6 bytes) in the page; precomputation of all figures of a chapter <= 20 s.
2. The retired PNG path beside the new one, on the same frames: a sample of frames of each figure is drawn the way
   ``collapse_lib.widgets`` did (a 6.4 x 3.6 in matplotlib figure at 80 dpi in the house style, ``savefig`` to PNG,
   base64 in the page), against the JSON the chart ships per frame and the Python cost of one frame (frame function +
   encoding).
3. Redraw in headless Chromium on the static book (``_build/html``; ``make book`` builds it): every control of every
   chart moved 5 times by keyboard (sliders) or selection (drop-downs); the chart's own ``data-redraw-ms`` and, timed
   in the page, input event -> redraw -> the next animation frame. Budget: < 16 ms (one frame at 60 Hz).
4. The same in Voila with a live kernel, plus the live round trip: click on "Re-run the Monte Carlo" -> the kernel's
   new frame is drawn, and the Python cost of ``frame_at`` for every theory-only figure (what a live recompute of
   theory costs). Budget: a live theory recompute < 100 ms end to end.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BROWSER_TESTS = ROOT / "tests" / "browser"
if str(BROWSER_TESTS) not in sys.path:
    sys.path.insert(0, str(BROWSER_TESTS))

FIXTURE = BROWSER_TESTS / "fixtures" / "live_widgets.ipynb"
BUDGET_FIGURE_BYTES = 1_000_000
BUDGET_CHAPTER_S = 20.0
BUDGET_REDRAW_MS = 16.0
BUDGET_LIVE_MS = 100.0
# rng normalisations from these modules set up a problem or a data subset; they are not Monte Carlo.
NOT_MONTE_CARLO = {"collapse_lib.problem", "collapse_lib.datasets"}
ARRAY_KEYS = ("x", "y", "lo", "hi")
SHARED_NOTE = ("Numbers are from a shared 2-core machine (several agents run jobs on it at the same time): wall times "
               "are noisy; CPU time (process_time) is printed beside wall time where it is cheap to take.")


# ------------------------------------------------------------------------------------------------ small helpers
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def mx(xs):
    xs = [x for x in xs if x is not None]
    return max(xs) if xs else None


def f1(x, unit=""):
    return "-" if x is None else f"{x:.1f}{unit}"


def f2(x, unit=""):
    return "-" if x is None else f"{x:.2f}{unit}"


def yes(ok):
    return "-" if ok is None else ("yes" if ok else "NO")


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def sample_indices(n_frames: int, k: int) -> list[int]:
    """``k`` flat frame indices spread evenly over the grid (all of them when there are fewer)."""
    if n_frames <= k:
        return list(range(n_frames))
    return sorted({int(round(v)) for v in np.linspace(0, n_frames - 1, k)})


# ------------------------------------------------------------------------------------------------ 1. precompute
@dataclass
class Figure:
    chapter: str
    number: int
    controls: list[tuple[str, int]]
    frames: int
    payload: int
    seconds: float
    cpu_seconds: float
    rng_calls: int          # Monte-Carlo rng normalisations during the precomputation
    chart: object = field(repr=False)

    @property
    def takes_seed(self) -> bool:
        return bool(self.chart._takes_seed)

    @property
    def has_band(self) -> bool:
        return any(s.get("kind") == "band" for fr in self.chart.chart.frames for p in fr.get("panels", [])
                   for s in p["series"])

    @property
    def theory_only(self) -> bool:
        """No seed keyword, no Monte-Carlo band, and no simulation ran while its frames were computed."""
        return not (self.takes_seed or self.has_band or self.rng_calls)

    @property
    def name(self) -> str:
        return f"{self.chapter} #{self.number}"


class _NoShell:
    """``get_ipython()`` for magics outside IPython: every magic is skipped (the install cell is guarded anyway)."""

    def __init__(self):
        self.skipped = []

    def run_line_magic(self, name, line, *a, **k):
        self.skipped.append(f"%{name} {line}")

    def run_cell_magic(self, name, line, cell, *a, **k):
        self.skipped.append(f"%%{name} {line}")

    def system(self, cmd, *a, **k):
        self.skipped.append(f"!{cmd}")

    getoutput = system


def execute_notebook(path: Path) -> tuple[list[Figure], str | None, float]:
    """Run the code cells of ``path`` (cwd = its folder, fresh namespace); return its charts, an error, wall time."""
    import nbformat
    from IPython.core.inputtransformer2 import TransformerManager
    import IPython.display as ipd
    import matplotlib.pyplot as plt

    import collapse_lib._validate as check
    import collapse_lib.figures as cf

    transform = TransformerManager().transform_cell
    found: list[Figure] = []
    rng_calls = [0]
    orig_init, orig_rng, orig_display = cf.InteractiveChart.__init__, check.rng, ipd.display

    def rng_probe(value):
        if sys._getframe(1).f_globals.get("__name__", "") not in NOT_MONTE_CARLO:
            rng_calls[0] += 1
        return orig_rng(value)

    def init(self, *a, **k):
        before = rng_calls[0]
        t, c = time.perf_counter(), time.process_time()
        orig_init(self, *a, **k)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        found.append(Figure(chapter=path.stem, number=len(found) + 1,
                            controls=[(ctl.description, len(opts)) for ctl, opts in
                                      zip(self.controls.values(), self.options.values())],
                            frames=len(self.chart.frames), payload=self.payload_bytes(), seconds=wall,
                            cpu_seconds=cpu, rng_calls=rng_calls[0] - before, chart=self))

    nb = nbformat.read(path, as_version=4)
    shell = _NoShell()
    ns = {"__name__": "__main__", "get_ipython": lambda: shell, "display": lambda *a, **k: None}
    error, cwd = None, os.getcwd()
    cf.InteractiveChart.__init__, check.rng, ipd.display = init, rng_probe, (lambda *a, **k: None)
    t0 = time.perf_counter()
    try:
        os.chdir(path.parent)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
                src = transform(cell.source)
                exec(compile(src, f"{path.name}[cell {i}]", "exec"), ns)  # noqa: S102 - the book's own notebooks
    except Exception as err:  # noqa: BLE001 - report it and benchmark what ran
        error = f"{type(err).__name__}: {err}"
    finally:
        elapsed = time.perf_counter() - t0
        os.chdir(cwd)
        cf.InteractiveChart.__init__, check.rng, ipd.display = orig_init, orig_rng, orig_display
        plt.close("all")
    return found, error, elapsed


def bench_precompute(notebooks: list[Path]) -> dict:
    chapters = []
    for path in notebooks:
        print(f"  executing {path.name} ...", file=sys.stderr, flush=True)
        figs, error, elapsed = execute_notebook(path)
        chapters.append({"chapter": path.stem, "figures": figs, "error": error, "exec_s": elapsed,
                         "precompute_s": sum(f.seconds for f in figs),
                         "precompute_cpu_s": sum(f.cpu_seconds for f in figs),
                         "frames": sum(f.frames for f in figs), "payload": sum(f.payload for f in figs)})
    return {"chapters": chapters}


def report_precompute(res: dict) -> str:
    rows = []
    for ch in res["chapters"]:
        for f in ch["figures"]:
            ctl = ", ".join(f"{name} ({n})" for name, n in f.controls)
            rows.append([ch["chapter"], f.number, ctl, f.frames, f"{f.payload / 1e3:.1f}",
                         f"{f.seconds:.2f} (CPU {f.cpu_seconds:.2f})", "theory" if f.theory_only else "Monte Carlo",
                         yes(f.payload <= BUDGET_FIGURE_BYTES)])
    out = ["### 1. Build-time precomputation, per figure", "",
           table(["chapter", "fig", "controls (options)", "frames", "payload KB", "precompute s", "kind",
                  "<= 1 MB"], rows) if rows else "(no interactive charts found)", "",
           "### 1. Per chapter", ""]
    rows = []
    for ch in res["chapters"]:
        biggest = max((f.payload for f in ch["figures"]), default=0)
        rows.append([ch["chapter"], len(ch["figures"]), ch["frames"], f"{ch['payload'] / 1e3:.1f}",
                     f"{biggest / 1e3:.1f}", f"{ch['precompute_s']:.2f} (CPU {ch['precompute_cpu_s']:.2f})",
                     f"{ch['exec_s']:.1f}", yes(ch["precompute_s"] <= BUDGET_CHAPTER_S) if ch["figures"] else "-",
                     ("stopped: " + ch["error"][:70]) if ch["error"] else ""])
    out.append(table(["chapter", "figures", "frames", "payload KB", "largest fig KB", "precompute s",
                      "notebook s", "<= 20 s", "execution"], rows))
    out += ["", "'precompute s' is the construction of each InteractiveChart (every frame of its grid computed and "
            "encoded), wall time with process CPU time in brackets; 'notebook s' is the whole notebook executed "
            "in-process. 'kind': theory when the frame function takes no seed, draws no Monte-Carlo band and no "
            "simulation ran during its precomputation."]
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------ 2. PNG vs JSON
_MARKER = {"circle": "o", "square": "s", "triangle": "^", "diamond": "D"}


def _arr(v, arrays) -> np.ndarray:
    vals = arrays[v] if isinstance(v, int) and not isinstance(v, bool) else v
    return np.array([np.nan if a is None else a for a in vals], dtype=float)


def render_png(fr: dict, arrays: list) -> bytes:
    """The baseline: one encoded frame drawn as the retired PNG path drew it (house style, 6.4 x 3.6 in, 80 dpi)."""
    from collapse_lib import plotting as cp

    with matplotlib.rc_context(cp.RC):
        panels = fr.get("panels") or []
        fig, axes = cp.new_figure(6.4, 3.6, ncols=max(1, len(panels)), dpi=80)
        axes = np.atleast_1d(axes)
        if fr.get("error") or not panels:
            axes[0].set_axis_off()
            fig.text(0.5, 0.5, "outside the formula's domain", ha="center", va="center", fontsize=12)
        for ax, p in zip(axes, panels):
            for s in p["series"]:
                kind, i, label = s["kind"], s.get("i", 0), s.get("label")
                color = cp.PALETTE[i % len(cp.PALETTE)] if "i" in s else "#555555"
                a = {k: _arr(s[k], arrays) for k in ARRAY_KEYS if k in s}
                if kind == "line":
                    cp.theory_line(ax, a["x"], a["y"], i, label, linewidth=s.get("width", 2.0))
                elif kind == "band":
                    cp.mc_band(ax, a["x"], a["y"], (a["hi"] - a["lo"]) / 4.0, i, label)
                elif kind == "points":
                    ax.plot(a["x"], a["y"], linestyle="none", marker=_MARKER.get(s.get("marker"), "o"),
                            markersize=1.4 * s.get("size", 5.0), color=color, markeredgecolor="white", label=label)
                elif kind == "bars":
                    xs = a["x"][np.isfinite(a["x"])]
                    width = 0.92 * (np.min(np.diff(np.sort(xs))) if xs.size > 1 else 1.0)
                    ax.bar(a["x"], a["y"], width=width, color=color, alpha=0.6, label=label)
                elif kind in ("hline", "vline"):
                    draw = ax.axhline if kind == "hline" else ax.axvline
                    draw(s["v"], color=color, linestyle=":" if s.get("dash", True) else "-", linewidth=1.5,
                         label=label)
            cp.finish(ax, p.get("xlabel", ""), p.get("ylabel", ""), p.get("title", ""), p.get("logx", False),
                      p.get("logy", False))
            if p.get("xlim"):
                ax.set_xlim(*p["xlim"])
            if p.get("ylim"):
                ax.set_ylim(*p["ylim"])
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


def frame_json_bytes(fr: dict, arrays: list) -> int:
    """Bytes of one frame as the page stores it: the frame and every array it refers to (compact JSON)."""
    refs = {s[k] for p in fr.get("panels", []) for s in p["series"] for k in ARRAY_KEYS
            if isinstance(s.get(k), int) and not isinstance(s.get(k), bool)}
    sep = (",", ":")
    return len(json.dumps(fr, separators=sep)) + sum(len(json.dumps(arrays[r], separators=sep)) for r in refs)


def bench_png(figs: list[Figure], sample: int) -> list[dict]:
    import collapse_lib.figures as cf

    out = []
    for f in figs:
        chart, rec = f.chart, {"figure": f, "png_ms": [], "png_cpu_ms": [], "png_b64": [], "json": [],
                               "frame_ms": [], "encode_ms": [], "compute_cpu_ms": []}
        frames, arrays = chart.chart.frames, chart.chart.arrays
        for k in sample_indices(len(frames), sample):
            t, c = time.perf_counter(), time.process_time()
            png = render_png(frames[k], arrays)
            b64 = base64.b64encode(png)
            rec["png_ms"].append(1e3 * (time.perf_counter() - t))
            rec["png_cpu_ms"].append(1e3 * (time.process_time() - c))
            rec["png_b64"].append(len(b64))
            rec["json"].append(frame_json_bytes(frames[k], arrays))
            idx = [int(i) for i in np.unravel_index(k, chart.shape)]
            t, c = time.perf_counter(), time.process_time()
            fr = chart.frame_at(*idx)
            t1 = time.perf_counter()
            cf._encode(fr, None)
            t2 = time.perf_counter()
            rec["frame_ms"].append(1e3 * (t1 - t))
            rec["encode_ms"].append(1e3 * (t2 - t1))
            rec["compute_cpu_ms"].append(1e3 * (time.process_time() - c))
        rec["precompute_ms_per_frame"] = 1e3 * f.seconds / max(f.frames, 1)
        out.append(rec)
        import matplotlib.pyplot as plt
        plt.close("all")
    return out


def report_png(rows: list[dict], sample: int) -> str:
    body = []
    for r in rows:
        f = r["figure"]
        new_ms = [a + b for a, b in zip(r["frame_ms"], r["encode_ms"])]
        png, js = med(r["png_b64"]), med(r["json"])
        body.append([f.name, len(r["png_ms"]), f"{f1(med(r['png_ms']))} (CPU {f1(med(r['png_cpu_ms']))})",
                     f"{png / 1e3:.1f}", f"{js / 1e3:.2f}", f"{png / js:.0f}x" if js else "-",
                     f"{f2(med(new_ms))} (CPU {f2(med(r['compute_cpu_ms']))})", f2(r["precompute_ms_per_frame"]),
                     f"{med(r['png_ms']) / med(new_ms):.0f}x" if med(new_ms) else "-"])
    return "\n".join([
        f"### 2. Retired PNG path vs client-side chart, on the same frames (up to {sample} frames per figure)", "",
        table(["figure", "frames", "PNG ms/frame", "PNG base64 KB/frame", "JSON KB/frame", "bytes PNG/JSON",
               "new ms/frame (frame fn + encode)", "precompute ms/frame", "time PNG/new"], body)
        if body else "(no interactive charts)", "",
        "Medians over the sampled frames. PNG: the frame's data drawn with collapse_lib.plotting (new_figure 6.4 x 3.6 "
        "in, 80 dpi, theory_line / mc_band / finish) and savefig to PNG, size as base64 (how the old page embedded "
        "it); this is drawing only, the old path also recomputed the science per frame. JSON: the frame plus every "
        "array it refers to (the page stores an array once even when many frames share it, so the page total in "
        "part 1 is usually smaller than frames x JSON). 'new ms/frame': chart.frame_at (the frame function, with its "
        "Monte-Carlo caches already warm) plus encoding, in Python; 'precompute ms/frame': part 1's construction time "
        "over the frame count (cold caches)."])


# ------------------------------------------------------------------------------------------------ 3, 4. browser
# Armed before an input: the input event (keydown / input / change / click, captured on the figure), the redraw
# (data-draws increments: a MutationObserver) and the next animation frame after it. Resolves null on a timeout.
ARM_JS = """(fig, timeoutMs) => {
  const root = fig.querySelector('.cl-chart');
  const d0 = +(root.dataset.draws || 0);
  const kinds = ['keydown', 'input', 'change', 'click'];
  window.__clProbe = new Promise(resolve => {
    let tIn = null, tDraw = null, frames = 0, redraw = null, done = false, timer = null, obs = null;
    let ticking = false;
    const onIn = e => {   // the last input before the redraw (a slider at its end takes a second key)
      if (tDraw !== null) return;
      tIn = e.timeStamp > 0 && e.timeStamp <= performance.now() ? e.timeStamp : performance.now();
      frames = 0;
      if (!ticking) { ticking = true; requestAnimationFrame(tick); }
    };
    const finish = r => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (obs) obs.disconnect();
      kinds.forEach(k => fig.removeEventListener(k, onIn, true));
      resolve(r);
    };
    const tick = () => {
      frames++;
      if (tDraw !== null) finish({input: tIn, draw: tDraw, raf: performance.now(), frames, redraw});
      else requestAnimationFrame(tick);
    };
    kinds.forEach(k => fig.addEventListener(k, onIn, true));
    obs = new MutationObserver(() => {
      if (tDraw === null && +(root.dataset.draws || 0) > d0) {
        tDraw = performance.now();
        redraw = +root.dataset.redrawMs;
        if (tIn === null) { tIn = tDraw; frames = 0; }
        if (!ticking) { ticking = true; requestAnimationFrame(tick); }
      }
    });
    obs.observe(root, {attributes: true, attributeFilter: ['data-draws']});
    timer = setTimeout(() => finish(null), timeoutMs);
  });
  return true;
}"""


def _probe(fig, action, timeout_ms: int) -> dict | None:
    fig.evaluate(ARM_JS, timeout_ms)
    action()
    return fig.page.evaluate("() => window.__clProbe")


def measure_figure(fig, moves: int, timeout_ms: int = 5000) -> dict:
    """Move every control of one figure ``moves`` times; the chart's redraw times and input -> next-frame times."""
    import booktools as bt

    fig.scroll_into_view_if_needed()
    rec = {"redraw_ms": [], "input_to_draw_ms": [], "end_to_end_ms": [], "frames": [], "missed": 0, "problems": []}
    ctls = bt.controls(fig)
    for j in range(ctls.count()):
        for _ in range(moves):
            what = []
            try:
                r = _probe(fig, lambda: what.append(bt.move_control(ctls.nth(j))), timeout_ms)
            except AssertionError as err:   # a control with one option cannot move
                rec["problems"].append(str(err))
                break
            if r is None:
                rec["missed"] += 1
                continue
            rec.setdefault("moves", []).append(what[0] if what else "?")
            rec["redraw_ms"].append(r["redraw"])
            rec["input_to_draw_ms"].append(r["draw"] - r["input"])
            rec["end_to_end_ms"].append(r["raf"] - r["input"])
            rec["frames"].append(r["frames"])
    return rec


def measure_rerun(fig, repeats: int, timeout_ms: int = 30_000) -> dict:
    """Click the re-run button ``repeats`` times: click -> the kernel's new frame drawn -> next animation frame."""
    rec = {"round_trip_ms": [], "end_to_end_ms": [], "redraw_ms": [], "missed": 0}
    button = fig.locator(".cl-rerun")
    try:
        button.wait_for(state="visible", timeout=30_000)
    except Exception:  # noqa: BLE001 - no kernel answered the ping
        rec["missed"] = repeats
        rec["problem"] = "re-run button never shown (no pong from the kernel)"
        return rec
    for _ in range(repeats):
        r = _probe(fig, button.click, timeout_ms)
        if r is None:
            rec["missed"] += 1
            continue
        rec["round_trip_ms"].append(r["draw"] - r["input"])
        rec["end_to_end_ms"].append(r["raf"] - r["input"])
        rec["redraw_ms"].append(r["redraw"])
    return rec


@contextlib.contextmanager
def chromium_context():
    from playwright.sync_api import sync_playwright

    import booktools as bt

    log = bt.RequestLog()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=bt.CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
            ctx.set_default_timeout(30_000)
            bt.install_routes(ctx, log)
            yield ctx, log
            ctx.close()
        finally:
            browser.close()


def _wait_for_charts(page, expected: int, timeout_ms: int):
    if expected:
        try:
            page.wait_for_function(f"document.querySelectorAll('.cl-interactive .cl-chart canvas').length >= "
                                   f"{expected}", timeout=timeout_ms)
        except Exception:  # noqa: BLE001 - measure what rendered; the count is reported
            pass
    page.wait_for_timeout(300)
    return page.locator(".cl-interactive")


def bench_static(html_dir: Path, moves: int) -> dict:
    import booktools as bt

    pages = []
    for rel in bt.book_pages(html_dir):
        expected = bt.expected_interactive_figures((html_dir / rel).read_text(encoding="utf-8"))
        if expected:
            pages.append((rel, expected))
    res = {"pages": [], "html_dir": str(html_dir)}
    if not pages:
        return res
    server, url = bt.serve_directory(html_dir)
    try:
        with chromium_context() as (ctx, log):
            for rel, expected in pages:
                print(f"  static page {rel} ({expected} charts) ...", file=sys.stderr, flush=True)
                page = ctx.new_page()
                errors = []
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                try:
                    page.goto(f"{url}/{rel}", wait_until="load")
                    figs = _wait_for_charts(page, expected, 60_000)
                    entry = {"page": rel, "expected": expected, "rendered": figs.count(), "figures": [],
                             "errors": errors}
                    for i in range(figs.count()):
                        entry["figures"].append(measure_figure(figs.nth(i), moves))
                    entry["blocked"] = list(log.blocked)
                    log.clear()
                    res["pages"].append(entry)
                finally:
                    page.close()
    finally:
        server.shutdown()
        server.server_close()
    return res


def _redraw_rows(label: str, figures: list[dict]) -> list[list]:
    rows = []
    for i, r in enumerate(figures):
        e2e = r["end_to_end_ms"]
        next_frame = sum(1 for n in r["frames"] if n == 1)
        ok = None if not r["redraw_ms"] else (mx(r["redraw_ms"]) < BUDGET_REDRAW_MS)
        rows.append([f"{label} #{i + 1}", len(r["redraw_ms"]) + r["missed"],
                     f"{f2(med(r['redraw_ms']))} / {f2(mx(r['redraw_ms']))}",
                     f"{f2(med(r['input_to_draw_ms']))} / {f2(mx(r['input_to_draw_ms']))}",
                     f"{f1(med(e2e))} / {f1(mx(e2e))}",
                     f"{next_frame}/{len(r['frames'])}", r["missed"], yes(ok),
                     "; ".join(r["problems"] + slowest(r))[:90]])
    return rows


def slowest(r: dict) -> list[str]:
    """The move behind the slowest redraw, when it missed the budget."""
    if not r["redraw_ms"] or mx(r["redraw_ms"]) < BUDGET_REDRAW_MS:
        return []
    k = int(np.argmax(r["redraw_ms"]))
    return [f"slowest: move {k + 1} of {len(r['redraw_ms'])}, {r['moves'][k]}"]


REDRAW_HEADER = ["figure", "moves", "data-redraw-ms median / max", "input -> redraw ms median / max",
                 "input -> next frame ms median / max", "in the next frame", "no redraw", "redraw < 16 ms", "note"]


def report_static(res: dict | None, moves: int) -> str:
    out = [f"### 3. Redraw in Chromium, static page (no kernel; each control moved {moves} times)", ""]
    if res is None:
        return "\n".join(out + ["(skipped)"])
    if "missing" in res:
        return "\n".join(out + [res["missing"]])
    rows = []
    for p in res["pages"]:
        rows += _redraw_rows(p["page"].removesuffix(".html"), p["figures"])
        if p["rendered"] != p["expected"]:
            rows.append([p["page"], "", "", "", "", "", "", "", f"{p['rendered']} of {p['expected']} charts drawn"])
        if p["errors"] or p.get("blocked"):
            first = (p["errors"] or p.get("blocked"))[0]
            rows.append([p["page"], "", "", "", "", "", "", "",
                         f"JS errors {len(p['errors'])}, blocked requests {len(p.get('blocked', []))}: "
                         f"{first[:80]}"])
    out.append(table(REDRAW_HEADER, rows) if rows else f"(no page with interactive charts in {res['html_dir']})")
    out += ["", "data-redraw-ms: the chart's own time for a redraw (JavaScript, from the new indices to the canvas "
            "drawn). 'input -> redraw': from the input event (keydown on the slider handle, or the select's "
            "input/change event, its event timestamp) to the chart's draw counter moving; 'input -> next frame': to "
            "the first requestAnimationFrame callback after that redraw, which waits for the display's 60 Hz tick "
            "(up to 16.7 ms) and so is not under 16 ms by construction; 'in the next frame': how many redraws were "
            "done before the first animation frame after their input (1 frame late would show 0). Budget: the redraw "
            "itself < 16 ms (max over the moves)."]
    return "\n".join(out)


def voila_pages(server, names: list[tuple[str, int]], moves: int, reruns: int, load_timeout_ms: int,
                rerun_first_only: bool = False) -> list[dict]:
    out = []
    with chromium_context() as (ctx, log):
        pages = {}
        for name, _ in names:   # open all first: their kernels execute side by side
            page = ctx.new_page()
            page.errors = []
            page.on("pageerror", lambda e, page=page: page.errors.append(str(e)))
            page.goto(server.url(name), wait_until="commit")
            pages[name] = page
        for name, expected in names:
            page = pages[name]
            page.bring_to_front()   # a background tab gets its animation frames throttled to ~1 Hz
            print(f"  voila {name} ...", file=sys.stderr, flush=True)
            t = time.perf_counter()
            try:
                page.wait_for_load_state("load", timeout=load_timeout_ms)
                figs = _wait_for_charts(page, expected, 120_000)
            except Exception as err:  # noqa: BLE001 - report, go on
                out.append({"notebook": name, "error": f"{type(err).__name__}: {str(err)[:120]}", "figures": [],
                            "reruns": []})
                continue
            entry = {"notebook": name, "load_s": time.perf_counter() - t, "expected": expected,
                     "rendered": figs.count(), "figures": [], "reruns": [], "errors": page.errors}
            for i in range(figs.count()):
                entry["figures"].append(measure_figure(figs.nth(i), moves, timeout_ms=10_000))
            for i in range(figs.count()):
                if figs.nth(i).locator(".cl-chart[data-rerun=true]").count() and not (rerun_first_only and
                                                                                       entry["reruns"]):
                    entry["reruns"].append((i + 1, measure_rerun(figs.nth(i), reruns)))
            out.append(entry)
        for page in pages.values():
            page.close()
    return out


def bench_voila(book_dir: Path, chapters: list[tuple[str, int]], moves: int, reruns: int) -> dict:
    from conftest import VoilaServer

    res = {"chapters": [], "fixture": []}
    with tempfile.TemporaryDirectory() as tmp:
        for root, names, key, first_only in ((book_dir, chapters, "chapters", False),
                                             (FIXTURE.parent, [(FIXTURE.name, 2)], "fixture", True)):
            if not names:
                continue
            try:
                server = VoilaServer(root, Path(tmp) / f"voila-{key}.log")
            except RuntimeError as err:
                res[key] = [{"notebook": n, "error": str(err), "figures": [], "reruns": []} for n, _ in names]
                continue
            try:
                res[key] = voila_pages(server, names, moves, reruns, 300_000, rerun_first_only=first_only)
            finally:
                server.stop()
    return res


def report_voila(res: dict | None, theory_rows: list[dict], moves: int, reruns: int) -> str:
    out = [f"### 4. Voila with a live kernel (each control moved {moves} times; re-run clicked {reruns} times)", ""]
    if res is None:
        out.append("(browser part skipped)")
        entries = []
    else:
        entries = res["chapters"] + res["fixture"]
    rows, rerun_rows = [], []
    for e in entries:
        label = e["notebook"].removesuffix(".ipynb")
        if e.get("error"):
            rows.append([label, "", "", "", "", "", "", "", e["error"][:80]])
            continue
        rows += _redraw_rows(label, e["figures"])
        if e["rendered"] != e["expected"]:
            rows.append([label, "", "", "", "", "", "", "", f"{e['rendered']} of {e['expected']} charts drawn"])
        for i, r in e["reruns"]:
            rerun_rows.append([f"{label} #{i}", len(r["round_trip_ms"]) + r["missed"],
                               f"{f1(med(r['round_trip_ms']))} / {f1(mx(r['round_trip_ms']))}",
                               f"{f1(med(r['end_to_end_ms']))} / {f1(mx(r['end_to_end_ms']))}",
                               f"{f2(med(r['redraw_ms']))}", r["missed"], r.get("problem", "")])
    if rows:
        out += ["Redraw from precomputed frames (live page):", "", table(REDRAW_HEADER, rows), ""]
    if rerun_rows:
        out += ["Live recompute: click on 'Re-run the Monte Carlo' -> kernel recomputes the frame (new seed) -> the "
                "chart draws it:", "",
                table(["figure", "clicks", "click -> redraw ms median / max", "click -> next frame ms median / max",
                       "data-redraw-ms", "no redraw", "note"], rerun_rows), ""]
    fixture_rt = None
    for e in (res or {}).get("fixture", []):
        for _, r in e.get("reruns", []):
            fixture_rt = fixture_rt if fixture_rt is not None else med(r["end_to_end_ms"])
    body = []
    for r in theory_rows:
        f = r["figure"]
        if not f.theory_only:
            continue
        py = [a + b for a, b in zip(r["frame_ms"], r["encode_ms"])]
        est = None if fixture_rt is None or not py else fixture_rt + mx(py)
        body.append([f.name, len(py), f"{f2(med(r['frame_ms']))} / {f2(mx(r['frame_ms']))}",
                     f"{f2(med(py))} / {f2(mx(py))}", f1(est), yes(None if est is None else est < BUDGET_LIVE_MS)])
    out += ["Live theory recompute (theory-only figures): Python cost of one frame, and the end-to-end estimate = "
            "that cost (max) + the measured live round trip of the fixture's re-run (click -> kernel -> frame drawn "
            f"-> next animation frame, a frame that costs ~0 ms to compute: {f1(fixture_rt, ' ms')}).", "",
            table(["figure", "frames timed", "frame_at ms median / max", "frame_at + encode ms median / max",
                   "end-to-end estimate ms", "< 100 ms"], body) if body else "(no theory-only figures)"]
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------ main
def _pick_voila(chapters: list[dict], count: int) -> list[tuple[str, int]]:
    """Chapters for Voila: those with a re-runnable figure first, then the most charts; name and chart count."""
    with_charts = [c for c in chapters if c["figures"] and not c["error"]]
    with_charts.sort(key=lambda c: (not any(f.takes_seed for f in c["figures"]), -len(c["figures"])))
    return [(c["chapter"] + ".ipynb", len(c["figures"])) for c in with_charts[:count]]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description="Benchmarks of the interactive charts (collapse_lib.figures).")
    ap.add_argument("--book-root", type=Path, default=ROOT,
                    help="tree holding book/ and _build/html (default: the repository)")
    ap.add_argument("--notebooks", type=Path, nargs="*",
                    help="notebooks for parts 1-2 (default: <book-root>/book/[0-9][0-9]_*.ipynb)")
    ap.add_argument("--html-dir", type=Path, nargs="+",
                    help="built book(s) for part 3, e.g. single-page builds (default: <book-root>/_build/html)")
    ap.add_argument("--sample", type=int, default=10, help="frames per figure in part 2 (default 10)")
    ap.add_argument("--moves", type=int, default=5, help="moves per control in parts 3-4 (default 5)")
    ap.add_argument("--reruns", type=int, default=5, help="re-run clicks per figure in part 4 (default 5)")
    ap.add_argument("--voila-chapters", type=int, default=2, help="chapters opened in Voila (default 2)")
    ap.add_argument("--skip-browser", action="store_true", help="skip parts 3 and 4 (Chromium)")
    ap.add_argument("--skip-voila", action="store_true", help="skip part 4")
    ap.add_argument("--quick", action="store_true", help="3 frames per figure, 2 moves and 2 re-runs (smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.sample, args.moves, args.reruns = 3, 2, 2
    book_root = args.book_root.resolve()
    notebooks = args.notebooks or sorted((book_root / "book").glob("[0-9][0-9]_*.ipynb"))
    html_dirs = [p.resolve() for p in (args.html_dir or [book_root / "_build" / "html"])]
    load0 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    t_start = time.perf_counter()

    print("bench_figures 1: precomputation ...", file=sys.stderr, flush=True)
    pre = bench_precompute(notebooks)
    figs = [f for ch in pre["chapters"] for f in ch["figures"]]
    print("bench_figures 2: PNG baseline ...", file=sys.stderr, flush=True)
    png = bench_png(figs, args.sample)

    static = voila = None
    if not args.skip_browser:
        missing = [d for d in html_dirs if not (d / "index.html").exists()]
        if missing:
            static = {"missing": f"(skipped: no built book at {', '.join(map(str, missing))}; build it with `make "
                                 "book` (cached execution) or `make test-book` (executes every notebook), or pass "
                                 "--html-dir with single-page builds, then run again)"}
        else:
            print("bench_figures 3: static page redraws ...", file=sys.stderr, flush=True)
            static = {"pages": [], "html_dir": ", ".join(map(str, html_dirs))}
            for d in html_dirs:
                static["pages"] += bench_static(d, args.moves)["pages"]
        if not args.skip_voila:
            print("bench_figures 4: Voila ...", file=sys.stderr, flush=True)
            voila = bench_voila(book_root / "book", _pick_voila(pre["chapters"], args.voila_chapters),
                                args.moves, args.reruns)

    load1 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = "\n\n".join([
        "## Interactive charts (collapse_lib.figures): precompute, payload, redraw",
        f"{SHARED_NOTE} Load average {load0} at the start, {load1} at the end; this part took "
        f"{time.perf_counter() - t_start:.0f} s. Budgets (DESIGN.md): frames of one figure <= 1 MB; precomputation "
        "of a chapter's figures <= 20 s; a redraw < 16 ms; a live theory recompute < 100 ms end to end.",
        report_precompute(pre), report_png(png, args.sample), report_static(static, args.moves),
        report_voila(voila, png, args.moves, args.reruns) if not args.skip_browser and not args.skip_voila
        else "### 4. Voila\n\n(skipped)",
        summary(pre, static, voila, png)])
    print(text, flush=True)
    return {"precompute": [{k: v for k, v in ch.items() if k != "figures"} |
                           {"figures": [{k: v for k, v in vars(f).items() if k != "chart"} for f in ch["figures"]]}
                           for ch in pre["chapters"]],
            "png": [{k: v for k, v in r.items() if k != "figure"} | {"figure": r["figure"].name} for r in png],
            "static": static, "voila": voila, "text": text}


def summary(pre: dict, static: dict | None, voila: dict | None, png: list[dict]) -> str:
    """Every measured number that missed its budget, in one list."""
    misses = []
    for ch in pre["chapters"]:
        if ch["error"]:
            misses.append(f"{ch['chapter']}: execution stopped ({ch['error'][:100]})")
        if ch["figures"] and ch["precompute_s"] > BUDGET_CHAPTER_S:
            misses.append(f"{ch['chapter']}: precomputation {ch['precompute_s']:.1f} s > 20 s")
        for f in ch["figures"]:
            if f.payload > BUDGET_FIGURE_BYTES:
                misses.append(f"{f.name}: frames {f.payload / 1e6:.2f} MB > 1 MB")
    for p in (static or {}).get("pages", []):
        for i, r in enumerate(p["figures"]):
            if r["redraw_ms"] and mx(r["redraw_ms"]) >= BUDGET_REDRAW_MS:
                misses.append(f"static {p['page']} #{i + 1}: redraw max {mx(r['redraw_ms']):.1f} ms >= 16 ms")
            if r["missed"]:
                misses.append(f"static {p['page']} #{i + 1}: {r['missed']} moves without a redraw")
    for e in (voila or {}).get("chapters", []) + (voila or {}).get("fixture", []):
        if e.get("error"):
            misses.append(f"voila {e['notebook']}: {e['error'][:100]}")
        for i, r in enumerate(e.get("figures", [])):
            if r["redraw_ms"] and mx(r["redraw_ms"]) >= BUDGET_REDRAW_MS:
                misses.append(f"voila {e['notebook']} #{i + 1}: redraw max {mx(r['redraw_ms']):.1f} ms >= 16 ms")
    fixture_rt = None
    for e in (voila or {}).get("fixture", []):
        for _, r in e.get("reruns", []):
            fixture_rt = fixture_rt if fixture_rt is not None else med(r["end_to_end_ms"])
    if fixture_rt is not None:
        for r in png:
            py = [a + b for a, b in zip(r["frame_ms"], r["encode_ms"])]
            if r["figure"].theory_only and py and fixture_rt + mx(py) >= BUDGET_LIVE_MS:
                misses.append(f"{r['figure'].name}: live theory recompute estimate {fixture_rt + mx(py):.0f} ms "
                              ">= 100 ms")
    return "### Budgets not met\n\n" + ("\n".join(f"- {m}" for m in misses) if misses else
                                        "(none: every measured number is within its budget)")


if __name__ == "__main__":
    main()
