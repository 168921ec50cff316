"""The house style of static figures (plotting), without a browser."""

import matplotlib.colors as mcolors
import numpy as np
import pytest
from matplotlib.figure import Figure

from collapse_lib import plotting as cp
from collapse_lib import theory

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- plotting
def test_palette_is_distinct_and_paired_with_line_styles():
    assert len(set(cp.PALETTE)) == len(cp.PALETTE) >= 6
    assert len(set(map(str, cp.LINESTYLES))) == len(cp.LINESTYLES) >= 4
    assert len(set(cp.MARKERS)) == len(cp.MARKERS)


def test_new_figure_is_a_white_self_displaying_figure():
    fig, ax = cp.new_figure(4.0, 3.0)
    assert isinstance(fig, Figure) and isinstance(fig, cp.BookFigure)
    assert mcolors.to_hex(fig.get_facecolor()) == "#ffffff"
    assert fig.axes == [ax] and tuple(fig.get_size_inches()) == (4.0, 3.0)
    assert fig._repr_png_().startswith(PNG_MAGIC)
    fig2, axes = cp.new_figure(ncols=2, nrows=2)
    assert np.shape(axes) == (2, 2) and len(fig2.axes) == 4


def test_theory_line_and_mc_band_share_colour_and_style_index():
    fig, ax = cp.new_figure()
    x = np.arange(5)
    line = cp.theory_line(ax, x, x**2, i=1, label="theory")
    marks = cp.mc_band(ax, x, x**2 + 0.1, np.full(5, 0.5), i=1, label="Monte Carlo")
    assert line.get_color() == marks.get_color() == cp.PALETTE[1]
    assert line.get_linestyle() == "--" and marks.get_linestyle() == "None"
    band = ax.collections[0]
    # The band spans mean +- 2 s.e.
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(0.1 - 1.0) and ys.max() == pytest.approx(16.1 + 1.0)
    cp.finish(ax, "n", "test error", title="t", logy=True)
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "n" and ax.get_legend() is not None
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["theory", "Monte Carlo"]


def test_mc_note_shows_runs_and_seed():
    fig, ax = cp.new_figure()
    cp.mc_note(ax, runs=300, seed=42)
    text = " ".join(t.get_text() for t in ax.texts)
    assert "300 runs" in text and "seed 42" in text and "2 s.e." in text


def test_to_png_renders():
    fig, ax = cp.new_figure()
    cp.theory_line(ax, [0, 1], [1, 0])
    png = cp.to_png(fig, dpi=40)
    assert png.startswith(PNG_MAGIC) and len(png) > 500
