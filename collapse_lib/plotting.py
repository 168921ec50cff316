"""One house style for every figure of the book.

Colour-blind-safe palette (Okabe & Ito) paired with distinct line styles, so curves stay distinguishable in grey
scale; white face colour so figures read in dark mode; theory drawn as a line and Monte Carlo as mean +- 2 s.e.
Plotting never computes science: callers pass arrays from :mod:`collapse_lib.theory` and :mod:`collapse_lib.simulate`.
"""
from __future__ import annotations

import io

import matplotlib
import numpy as np
from matplotlib.figure import Figure

__all__ = ["BookFigure", "PALETTE", "LINESTYLES", "MARKERS", "RC", "new_figure", "theory_line", "mc_band", "finish", "mc_note",
           "to_png"]

PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]

RC = {
    "figure.facecolor": "white", "axes.facecolor": "white", "savefig.facecolor": "white",
    "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
    "font.size": 10, "axes.titlesize": 11, "legend.fontsize": 8.5, "legend.frameon": False,
    "lines.linewidth": 2.0, "figure.dpi": 90,
}
matplotlib.rcParams.update(RC)


class BookFigure(Figure):
    """A ``Figure`` that shows itself as PNG when it is the last expression of a notebook cell (no pyplot needed)."""

    def _repr_png_(self):
        return to_png(self)


def new_figure(width: float = 6.4, height: float = 3.8, ncols: int = 1, nrows: int = 1, dpi: int = 90):
    """A ``Figure`` (not tied to pyplot state) and its axes in the house style.

    Returns
    -------
    fig : BookFigure
        A ``matplotlib.figure.Figure``; as a cell's last expression it displays as a PNG.
    ax : Axes, or ndarray of Axes when ``ncols * nrows > 1``
    """
    with matplotlib.rc_context(RC):
        fig = BookFigure(figsize=(width, height), dpi=dpi, layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def theory_line(ax, x, y, i: int = 0, label: str | None = None, **kw):
    """Draw a theory curve with colour and line style number ``i``."""
    return ax.plot(x, y, color=PALETTE[i % len(PALETTE)], linestyle=LINESTYLES[i % len(LINESTYLES)],
                   label=label, **kw)[0]


def mc_band(ax, x, mean, sem, i: int = 0, label: str | None = None, z: float = 2.0):
    """Draw Monte Carlo as markers with a shaded band ``mean +- z * sem`` (same colour as theory curve ``i``)."""
    x, mean, sem = (np.asarray(a, dtype=float) for a in (x, mean, sem))
    color = PALETTE[i % len(PALETTE)]
    ax.fill_between(x, mean - z * sem, mean + z * sem, color=color, alpha=0.22, linewidth=0)
    return ax.plot(x, mean, linestyle="none", marker=MARKERS[i % len(MARKERS)], markersize=4.5, color=color,
                   markeredgecolor="white", markeredgewidth=0.6, label=label)[0]


def finish(ax, xlabel: str = "", ylabel: str = "", title: str = "", logx: bool = False, logy: bool = False,
           legend: bool = True, legend_loc: str = "best"):
    """Label the axes, set log scales and place the legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(loc=legend_loc)
    return ax


def mc_note(ax, runs: int, seed, z: float = 2.0):
    """Print the Monte Carlo settings (runs, seed, band width) in the corner, so every figure is reproducible."""
    ax.text(0.99, 0.01, f"Monte Carlo: {runs} runs, seed {seed}, band = mean ± {z:g} s.e.", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=7, color="#555555")


def to_png(fig, dpi: int | None = None) -> bytes:
    """Render a figure to PNG bytes (white background)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()
