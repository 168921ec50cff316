"""Interactive figures drawn in the browser, answering every control with or without a kernel.

A figure is one pure function ``frame(**values) -> Frame`` of its control values, built from :mod:`theory` and
:mod:`simulate`; it returns data (curves, bands, markers, reference lines, axis settings and a read-out), never
pixels. :class:`InteractiveChart` evaluates it on the product grid of its controls' options when the notebook runs
and ships the frames with the page; the browser draws the frame whose index the controls select (linked with
``jslink``), so the published HTML responds to **every** control without a kernel. With a live kernel a figure whose
frame function takes a ``seed`` keyword also offers a button that re-runs its Monte Carlo with a new seed in Python.

Why uPlot. The chart is an anywidget whose JavaScript (``static/chart.js``) draws with uPlot 1.6.32 (MIT, bundled as
package data, 51 KB minified, pinned in ``package.json``): a canvas plotting library built for speed (a redraw of a
few thousand points takes about a millisecond), with linear and logarithmic axes, filled bands between two series
and bar paths. Drawing everything by hand in SVG would need our own tick and layout code; heavier libraries
(Plotly, Vega) cost 1-3 MB per page and tens of milliseconds per redraw. The legend is our own HTML under the plot,
so it never covers the data; markers and reference lines are drawn on uPlot's canvas in a draw hook.

Payload. Arrays are rounded to 4 significant digits and stored once per distinct content (a curve that does not
depend on a control is shipped once, whatever the grid), so the page carries roughly the sum, not the product, of
what the controls change. :meth:`InteractiveChart.payload_bytes` reports the size.
"""
from __future__ import annotations

import inspect
import itertools
import json
import math
import numbers
from pathlib import Path
from typing import Callable

import anywidget
import ipywidgets as widgets
import numpy as np
import traitlets

__all__ = ["line", "band", "points", "bars", "hline", "vline", "panel", "frame", "slider", "dropdown",
           "InteractiveChart", "ChartWidget"]

_STATIC = Path(__file__).parent / "static"
MAX_CONTROLS = 8
MAX_FRAMES = 5000
_MARKERS = ("circle", "square", "triangle", "diamond")


# ---------------------------------------------------------------- series (plain dicts: they travel as JSON)
def _array(name: str, values) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {type(values).__name__}") from None
    return arr


def _xy(kind: str, x, y, **named):
    x = _array(f"{kind} x", x)
    out = {"x": x}
    for key, val in dict(y=y, **named).items():
        arr = _array(f"{kind} {key}", val)
        if arr.shape != x.shape:
            raise ValueError(f"{kind}: {key} must have the same length as x ({x.size}), got {arr.size}")
        out[key] = arr
    return out


def _style(label, i, dash=None):
    if label is not None and not isinstance(label, str):
        raise ValueError(f"label must be a string or None, got {label!r}")
    if isinstance(i, bool) or not isinstance(i, numbers.Integral) or i < 0:
        raise ValueError(f"i (the palette and line-style index) must be an integer >= 0, got {i!r}")
    return {"label": label, "i": int(i), "dash": dash}


def line(x, y, label: str | None = None, i: int = 0, dash: int | None = None, width: float = 2.0) -> dict:
    """A curve (theory). ``i`` picks colour and line style from the house palette; ``dash`` overrides the style."""
    return {"kind": "line", **_xy("line", x, y), **_style(label, i, dash), "width": float(width)}


def band(x, mean, sem, label: str | None = None, i: int = 0, z: float = 2.0, marker: str = "circle") -> dict:
    """Monte Carlo: markers at ``mean`` and a shaded band ``mean +- z * sem`` (default: 2 standard errors)."""
    data = _xy("band", x, mean, sem=sem)
    mean, sem = data["y"], data.pop("sem")
    return {"kind": "band", **data, "lo": mean - z * sem, "hi": mean + z * sem, **_style(label, i),
            "marker": _marker(marker)}


def _marker(shape):
    if shape not in _MARKERS:
        raise ValueError(f"marker must be one of {_MARKERS}, got {shape!r}")
    return shape


def points(x, y, label: str | None = None, i: int = 0, marker: str = "circle", size: float = 5.0) -> dict:
    """Markers without a line (e.g. the chosen penalty, an optimum)."""
    return {"kind": "points", **_xy("points", x, y), **_style(label, i), "marker": _marker(marker),
            "size": float(size)}


def bars(x, y, label: str | None = None, i: int = 0) -> dict:
    """Bars of height ``y`` centred at ``x`` (a histogram: pass bin centres and counts)."""
    return {"kind": "bars", **_xy("bars", x, y), **_style(label, i)}


def _ref(kind, v, label, i, dash):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ValueError(f"{kind} position must be a real number, got {v!r}")
    out = {"kind": kind, "v": float(v), **_style(label, 0 if i is None else i), "dash": bool(dash)}
    if i is None:
        out.pop("i")   # grey
    return out


def hline(y: float, label: str | None = None, i: int | None = None, dash: bool = True) -> dict:
    """A horizontal reference line (grey and dotted unless ``i`` / ``dash`` say otherwise)."""
    return _ref("hline", y, label, i, dash)


def vline(x: float, label: str | None = None, i: int | None = None, dash: bool = True) -> dict:
    """A vertical reference line (grey and dotted unless ``i`` / ``dash`` say otherwise)."""
    return _ref("vline", x, label, i, dash)


def _limits(name, lim, log):
    if lim is None:
        return None
    try:
        lo, hi = (float(v) for v in lim)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high) of numbers or None, got {lim!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) or (log and lo <= 0):
        raise ValueError(f"{name} must satisfy low < high (and low > 0 on a log axis), got {lim!r}")
    return [lo, hi]


def panel(series, xlabel: str = "", ylabel: str = "", title: str = "", logx: bool = False, logy: bool = False,
          xlim=None, ylim=None) -> dict:
    """One set of axes: a list of series (from :func:`line`, :func:`band`, ...) and its axis settings."""
    series = list(series)
    for s in series:
        if not isinstance(s, dict) or "kind" not in s:
            raise ValueError("series must be made with figures.line, band, points, bars, hline or vline, "
                             f"got {type(s).__name__}")
    return {"series": series, "xlabel": str(xlabel), "ylabel": str(ylabel), "title": str(title),
            "logx": bool(logx), "logy": bool(logy), "xlim": _limits("xlim", xlim, logx),
            "ylim": _limits("ylim", ylim, logy)}


def frame(content, readout: str = "", **panel_kw) -> dict:
    """One frame: a list of series (one panel, with ``panel_kw`` as in :func:`panel`) or a list of panels."""
    content = list(content)
    if content and all(isinstance(c, dict) and "series" in c for c in content):
        if panel_kw:
            raise ValueError(f"axis settings {sorted(panel_kw)} belong to each panel when a frame has panels")
        panels = content
    else:
        panels = [panel(content, **panel_kw)]
    return {"panels": panels, "readout": str(readout)}


# ---------------------------------------------------------------- controls
def _options(label, options):
    if not isinstance(label, str) or not label:
        raise ValueError(f"label must be a non-empty string, got {label!r}")
    if isinstance(options, (str, bytes, dict)) or not hasattr(options, "__iter__"):
        raise ValueError(f"options for {label!r} must be a non-empty list of values, got {options!r}")
    options = list(options)
    if not options:
        raise ValueError(f"options for {label!r} must be a non-empty list")
    return options


def _default(label, options, value, middle=True):
    if value is None:
        value = options[len(options) // 2] if middle else options[0]
    if value not in options:
        raise ValueError(f"value for {label!r} must be one of {options}, got {value!r}")
    return value


def _text(v) -> str:
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return f"{v:g}"
    return str(v)


def slider(label: str, options, value=None) -> widgets.SelectionSlider:
    """A slider over ``options`` (numbers or strings; the middle one unless ``value`` is given): arrow keys step."""
    options = _options(label, options)
    return widgets.SelectionSlider(options=[(_text(o), o) for o in options], value=_default(label, options, value),
                                   description=label, continuous_update=True, style={"description_width": "initial"},
                                   layout=widgets.Layout(width="300px", max_width="100%"))


def dropdown(label: str, options, value=None) -> widgets.Dropdown:
    """A drop-down list over ``options`` (the first is selected unless ``value`` says otherwise)."""
    options = _options(label, options)
    return widgets.Dropdown(options=[(_text(o), o) for o in options], value=_default(label, options, value, False),
                            description=label, style={"description_width": "initial"},
                            layout=widgets.Layout(width="auto", max_width="100%"))


# ---------------------------------------------------------------- the widget
def _static(name: str) -> str:
    return (_STATIC / name).read_text(encoding="utf-8")


class ChartWidget(anywidget.AnyWidget):
    """The browser side of :class:`InteractiveChart`: frames, the array table and one index per control."""

    _esm = traitlets.Unicode(_static("uPlot.iife.min.js") + "\n" + _static("chart.js")).tag(sync=True)
    _css = traitlets.Unicode(_static("uPlot.min.css") + "\n" + _static("chart.css")).tag(sync=True)
    frames = traitlets.List().tag(sync=True)
    arrays = traitlets.List().tag(sync=True)
    shape = traitlets.List(traitlets.Int()).tag(sync=True)
    aria_label = traitlets.Unicode("").tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    rerun = traitlets.Bool(False).tag(sync=True)
    c0, c1, c2, c3, c4, c5, c6, c7 = (traitlets.Int(0).tag(sync=True) for _ in range(MAX_CONTROLS))


def _round(arr: np.ndarray) -> list:
    """4 significant digits; non-finite values become gaps (``None``)."""
    out = np.full(arr.shape, np.nan)
    ok = np.isfinite(arr)
    nz = ok & (arr != 0)
    exp = np.floor(np.log10(np.abs(arr[nz])))
    scale = 10.0 ** (3 - exp)
    out[nz] = np.round(arr[nz] * scale) / scale
    out[ok & (arr == 0)] = 0.0
    return [None if not math.isfinite(v) else v for v in out.tolist()]


class _Arrays:
    """Deduplicating table of rounded arrays; series refer to arrays by position."""

    def __init__(self):
        self.table, self._ids = [], {}

    def ref(self, arr: np.ndarray) -> int:
        values = _round(arr)
        key = json.dumps(values)
        if key not in self._ids:
            self._ids[key] = len(self.table)
            self.table.append(values)
        return self._ids[key]


def _encode(fr: dict, store) -> dict:
    """Replace the arrays of a frame by references into ``store`` (or inline lists when ``store`` is None)."""
    if not isinstance(fr, dict) or "panels" not in fr:
        raise ValueError("a frame function must return figures.frame(...), got " + type(fr).__name__)
    enc = (lambda a: _round(a)) if store is None else store.ref
    panels = []
    for p in fr["panels"]:
        series = []
        for s in p["series"]:
            s = {k: (enc(v) if isinstance(v, np.ndarray) else v) for k, v in s.items()}
            if "v" in s and not math.isfinite(s["v"]):
                continue     # a reference line at infinity is not drawn
            series.append(s)
        panels.append({**p, "series": series})
    return {**fr, "panels": panels}


def _values(ctl) -> list:
    """The option values of a selection control (options may be given as (label, value) pairs)."""
    return [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in ctl.options]


class InteractiveChart:
    """An interactive figure: controls, a chart drawn in the browser, and a read-out.

    Parameters
    ----------
    frame : callable
        ``frame(**values) -> dict`` built with :func:`frame`; one keyword per control. A ``ValueError`` it raises
        (an out-of-domain combination) is shown in that frame as a message. If it accepts a ``seed`` keyword, a live
        kernel can re-run it with new seeds.
    controls : dict of str -> SelectionSlider or Dropdown
        From :func:`slider` / :func:`dropdown`; the keys are the keywords of ``frame``. At most 8.
    aria_label : str
        What the chart shows, for screen readers.
    note : str
        Shown under the chart (e.g. Monte Carlo runs and seed, and on which sub-grid it was computed).

    Attributes
    ----------
    widget : ipywidgets.VBox
        Controls and chart; the object displayed.
    chart : ChartWidget
        The anywidget holding the precomputed frames.
    """

    def __init__(self, frame: Callable[..., dict], controls: dict, aria_label: str, note: str = ""):
        if not callable(frame):
            raise ValueError(f"frame must be a callable frame(**values) -> dict, got {type(frame).__name__}")
        if not isinstance(controls, dict) or not 1 <= len(controls) <= MAX_CONTROLS:
            raise ValueError(f"controls must be a dict of 1 to {MAX_CONTROLS} name -> control, got {controls!r}")
        for name, ctl in controls.items():
            if not isinstance(name, str) or not isinstance(ctl, (widgets.SelectionSlider, widgets.Dropdown)):
                raise ValueError("controls must map names to figures.slider or figures.dropdown controls, got "
                                 f"{name!r}: {type(ctl).__name__}")
        if not isinstance(aria_label, str) or not aria_label.strip():
            raise ValueError("aria_label must be a non-empty sentence describing the chart for screen readers")
        if not isinstance(note, str):
            raise ValueError(f"note must be a string (shown under the chart), got {type(note).__name__}")
        self.frame_fn, self.controls = frame, dict(controls)
        self.options = {name: _values(ctl) for name, ctl in self.controls.items()}
        self.shape = [len(o) for o in self.options.values()]
        if math.prod(self.shape) > MAX_FRAMES:
            raise ValueError(f"the control grid has {math.prod(self.shape)} frames (options {self.shape}); "
                             f"at most {MAX_FRAMES}: use fewer options per control")
        self._takes_seed = "seed" in inspect.signature(frame).parameters
        self._seed_offset = 0
        store = _Arrays()
        frames = [_encode(self.frame_at(*idx), store)
                  for idx in itertools.product(*(range(n) for n in self.shape))]
        self.chart = ChartWidget(frames=frames, arrays=store.table, shape=self.shape, aria_label=aria_label,
                                 note=note, rerun=self._takes_seed,
                                 **{f"c{k}": ctl.index for k, ctl in enumerate(self.controls.values())})
        self.links = [widgets.jslink((ctl, "index"), (self.chart, f"c{k}"))
                      for k, ctl in enumerate(self.controls.values())]
        self.chart.on_msg(self._on_msg)
        box = widgets.Box(list(self.controls.values()))
        box.add_class("cl-controls")
        self.widget = widgets.VBox([box, self.chart], layout=widgets.Layout(max_width="100%"))
        self.widget.add_class("cl-interactive")

    def values_at(self, *indices) -> dict:
        """Control values at option ``indices`` (one per control, in order)."""
        return {name: opts[i] for (name, opts), i in zip(self.options.items(), indices)}

    def frame_at(self, *indices, **extra) -> dict:
        """Evaluate the frame function at option ``indices``; the read-out is prefixed with the control values."""
        values = self.values_at(*indices)
        prefix = ", ".join(f"{ctl.description} = {_text(values[name])}" for name, ctl in self.controls.items())
        try:
            fr = self.frame_fn(**values, **extra)
        except ValueError as err:
            return {"panels": [], "error": str(err), "readout": f"{prefix}: outside the formula's domain ({err})"}
        if not isinstance(fr, dict) or "panels" not in fr:
            raise ValueError(f"frame must return figures.frame(...), got {type(fr).__name__}")
        return {**fr, "readout": f"{prefix}: {fr['readout']}" if fr["readout"] else prefix}

    def _on_msg(self, _widget, content, _buffers):
        if not isinstance(content, dict):
            return
        if content.get("type") == "ping":
            self.chart.send({"type": "pong"})
        elif content.get("type") == "rerun" and self._takes_seed:
            indices = [int(i) for i in content.get("indices", [])]
            self.chart.send({"type": "frame", "index": int(content.get("index", 0)), "frame": self.rerun(*indices)})

    def rerun(self, *indices) -> dict:
        """Recompute the frame at ``indices`` with a new Monte Carlo seed (live kernel); returns the encoded frame."""
        if not self._takes_seed:
            raise ValueError("this figure's frame function takes no seed keyword, so it has nothing to re-run")
        self._seed_offset += 1
        default = inspect.signature(self.frame_fn).parameters["seed"].default
        seed = (default if isinstance(default, int) else 0) + 1000 * self._seed_offset
        fr = self.frame_at(*indices, seed=seed)
        enc = _encode(fr, None) if "error" not in fr else fr
        enc["readout"] += f" (Monte Carlo re-run with seed {seed})"
        return enc

    def payload_bytes(self) -> int:
        """Size in bytes of the frames and arrays as they are stored in the page (JSON)."""
        return len(json.dumps(self.chart.frames, separators=(",", ":"))) + \
            len(json.dumps(self.chart.arrays, separators=(",", ":")))

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
