"""House style (plotting) and the two-mode interactive figure (widgets), without a browser."""
import base64
import re

import ipywidgets as widgets
import matplotlib.colors as mcolors
import numpy as np
import pytest
from ipywidgets.widgets.widget_link import Link
from matplotlib.figure import Figure

from collapse_lib import plotting as cp
from collapse_lib import theory
from collapse_lib import widgets as cw

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


# ---------------------------------------------------------------- interactive figures
class Recorder:
    """A draw function that plots R2 and records its calls."""

    def __init__(self, fail_on=None, error=ValueError):
        self.calls = []
        self.fail_on, self.error = fail_on, error

    def __call__(self, fig, n, sigma0):
        self.calls.append((n, sigma0))
        if self.fail_on is not None and n == self.fail_on:
            raise self.error(f"n = {n} is outside the domain (T0 must be >= d + 2)")
        ax = fig.axes[0]
        ns = np.arange(0, 9)
        cp.theory_line(ax, ns, [theory.ols_test_error(d=10, T=40, T0=30, sigma0=sigma0, n=k) for k in ns])
        value = theory.ols_test_error(d=10, T=40, T0=30, sigma0=sigma0, n=n)
        return f"predicted error at n={n}: {value:.4f}"


def build(draw=None, options=(0, 1, 2, 4), value=1):
    draw = draw or Recorder()
    controls = {"n": cw.slider("n", list(options), value=value),
                "sigma0": widgets.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.1)}
    fig = cw.interactive_figure(draw, controls=controls, main="n", alt="Test error against generations n.",
                                figsize=(3.0, 2.0), dpi=40)
    return fig, draw


def readout(frame_html):
    return re.search(r"<div class='cl-readout'>(.*?)</div>", frame_html).group(1)


def test_one_precomputed_frame_per_main_option():
    fig, draw = build(options=(0, 1, 2, 4, 8))
    assert len(fig.frames) == 5 and len(fig.stack.children) == 5
    assert [n for n, _ in draw.calls] == [0, 1, 2, 4, 8]            # one draw per option, in order
    for n, frame in zip((0, 1, 2, 4, 8), fig.frames):
        expected = theory.ols_test_error(d=10, T=40, T0=30, sigma0=1.0, n=n)
        assert readout(frame.value) == f"predicted error at n={n}: {expected:.4f}"
        png = base64.b64decode(re.search(r"base64,([^']+)'", frame.value).group(1))
        assert png.startswith(PNG_MAGIC)
    assert fig.stack.selected_index == 1                             # starts at the slider's value


def test_main_slider_index_is_jslinked_to_the_stack():
    fig, _ = build()
    link = fig.link
    assert type(link) is Link                                        # two-way, client-side (not a dlink)
    assert link.source == (fig.controls["n"], "index")
    assert link.target == (fig.stack, "selected_index")
    # The link lives in the widget state (it must be embedded in the static HTML).
    assert fig.controls["n"] in fig.widget.children and fig.stack in fig.widget.children


def test_alt_text_on_every_frame():
    fig, _ = build()
    for frame in fig.frames:
        assert "<img alt='Test error against generations n.'" in frame.value
    assert fig.alt == "Test error against generations n."


def test_non_main_control_redraws_the_current_frame():
    fig, draw = build()
    before = [f.value for f in fig.frames]
    n_calls = len(draw.calls)
    fig.controls["sigma0"].value = 0.5                               # live kernel: observe fires _on_change
    assert draw.calls[n_calls:] == [(1, 0.5)]                        # only the visible frame is redrawn
    current = fig.frames[1].value
    assert current != before[1]
    expected = theory.ols_test_error(d=10, T=40, T0=30, sigma0=0.5, n=1)
    assert readout(current) == f"predicted error at n=1: {expected:.4f}"
    assert readout(before[1]) != readout(current)
    # Other frames are stale: moving the main slider redraws the one that becomes visible, with the new sigma0.
    fig.controls["n"].value = 4
    assert draw.calls[-1] == (4, 0.5) and fig.stack.selected_index == 3
    assert readout(fig.frames[3].value).endswith(f"{theory.ols_test_error(d=10, T=40, T0=30, sigma0=0.5, n=4):.4f}")
    # A fresh frame is not redrawn again when revisited.
    calls = len(draw.calls)
    fig.controls["n"].value = 1
    assert len(draw.calls) == calls and fig.stack.selected_index == 1


def test_main_control_change_uses_precomputed_frames():
    fig, draw = build()
    calls = len(draw.calls)
    fig.controls["n"].value = 2
    assert len(draw.calls) == calls and fig.stack.selected_index == 2


def test_value_error_in_draw_is_shown_in_the_readout():
    fig, draw = build(draw=Recorder(fail_on=2))
    frame = fig.frames[2].value
    assert "cl-error" in frame and "outside the domain" in readout(frame) and "T0 must be" in readout(frame)
    assert "<img alt=" in frame                                      # still an image (with the message drawn)
    assert "cl-error" not in fig.frames[1].value
    fig.controls["n"].value = 2
    fig.controls["sigma0"].value = 0.3                               # redraw of a failing frame: still no crash
    assert "cl-error" in fig.frames[2].value


@pytest.mark.parametrize("error", [ZeroDivisionError, KeyError, TypeError, RuntimeError])
def test_other_exceptions_propagate(error):
    with pytest.raises(error):
        build(draw=Recorder(fail_on=2, error=error))                 # at build time
    fig, draw = build(draw=Recorder(fail_on=4, error=error), options=(0, 1, 2, 3), value=1)
    draw.fail_on = 1
    with pytest.raises(error):
        fig.controls["sigma0"].value = 0.4                           # in a live redraw


def test_widget_layout_and_display():
    fig, _ = build()
    assert "cl-interactive" in fig.widget._dom_classes
    bundle = fig._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    note = fig.widget.children[-1].value
    assert "Binder" in note                                          # explains which controls need a kernel


def test_single_control_figure_has_no_kernel_note():
    def draw(fig, n):
        fig.axes[0].plot([0, n])
        return f"n={n}"

    fig = cw.interactive_figure(draw, {"n": cw.slider("n", [1, 2, 3])}, main="n", alt="A line.", dpi=30)
    assert len(fig.frames) == 3 and fig.controls["n"].value == 2     # default value: the middle option
    assert fig.widget.children[-1].value == ""


def test_main_must_be_a_selection_slider():
    with pytest.raises(ValueError, match="main"):
        cw.interactive_figure(lambda fig, x: "", {"x": widgets.FloatSlider()}, main="x", alt="a")


def test_frame_png_matches_savefig_pixels():
    import io

    from PIL import Image

    def make():
        fig, ax = cp.new_figure(3.0, 2.0, dpi=50)
        cp.theory_line(ax, [0, 1, 2], [1, 0, 2], 0, "a")
        cp.mc_band(ax, [0, 1, 2], [1, 0.2, 2], [0.1, 0.1, 0.1], 0, "b")
        cp.finish(ax, "x", "y", "title")
        return fig

    a = np.asarray(Image.open(io.BytesIO(cp.to_png(make()))))
    b = np.asarray(Image.open(io.BytesIO(cw._frame_png(make()))))
    assert a.shape == b.shape == (100, 150, 4)
    np.testing.assert_array_equal(a, b)
