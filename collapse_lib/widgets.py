"""Interactive figures that work in two modes from one definition.

* **Live** (a kernel: Binder, Colab, local Jupyter): every control change calls the draw function and redraws.
* **Static site** (no kernel): frames over the *main* control are precomputed when the notebook runs and held in an
  ``ipywidgets.Stack`` whose ``selected_index`` is ``jslink``-ed to the main slider, so the published HTML can still be
  scrubbed along that control. The other controls need a kernel; a note under the figure says so.

A draw function has the signature ``draw(fig, **values) -> str``: it draws on a fresh ``Figure`` and returns a short
HTML read-out (for example the predicted error). It never computes science itself; it calls ``theory``/``simulate``.
A ``ValueError`` raised by the library for an out-of-domain combination is shown in the read-out instead of killing the
widget; any other exception propagates (a bug must be seen).
"""
from __future__ import annotations

import base64
import html
import io
from typing import Callable

import ipywidgets as widgets
import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from . import _validate as check
from .plotting import RC, new_figure

__all__ = ["InteractiveFigure", "interactive_figure", "slider"]


def slider(name: str, options, value=None, description: str | None = None) -> widgets.SelectionSlider:
    """A ``SelectionSlider`` over ``options`` (numbers or strings), the control type frames are precomputed for."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string (the keyword passed to draw), got {name!r}")
    if description is not None and not isinstance(description, str):
        raise ValueError(f"description must be a string or None, got {description!r}")
    if isinstance(options, (str, bytes, dict)) or not hasattr(options, "__iter__"):
        raise ValueError(f"options for {name!r} must be a non-empty list of values, got {options!r}")
    options = list(options)
    if not options:
        raise ValueError(f"options for {name!r} must be a non-empty list")
    value = options[len(options) // 2] if value is None else value
    if value not in options:
        raise ValueError(f"value for {name!r} must be one of {options}, got {value!r}")
    return widgets.SelectionSlider(options=options, value=value, description=description or name,
                                   continuous_update=True, style={"description_width": "initial"},
                                   layout=widgets.Layout(width="340px"))


def _frame_png(fig) -> bytes:
    """PNG of a frame from one Agg draw (``savefig`` draws twice under constrained layout); same pixels, ~15% faster."""
    fig.patch.set_facecolor("white")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    width, height = canvas.get_width_height(physical=True)
    buf = io.BytesIO()
    Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).save(buf, format="png")
    return buf.getvalue()


class InteractiveFigure:
    """A figure driven by controls, scrubbable without a kernel along its main control.

    Parameters
    ----------
    draw : callable
        ``draw(fig, **values) -> str`` (HTML read-out).
    controls : dict of str -> ipywidgets.ValueWidget
        Keyword name of each control; the values are passed to ``draw`` under these names.
    main : str
        Name of the main control; must be a ``SelectionSlider`` (see :func:`slider`).
    alt : str
        Alt text for the figure image (what it shows, for screen readers).
    figsize : (float, float)
        Inches.
    dpi : int
        Resolution of the frames (low keeps the static page small).
    """

    def __init__(self, draw: Callable[..., str], controls: dict, main: str, alt: str,
                 figsize=(6.4, 3.6), dpi: int = 80):
        if not callable(draw):
            raise ValueError(f"draw must be a callable draw(fig, **values) -> str, got {type(draw).__name__}")
        if not isinstance(controls, dict) or not controls:
            raise ValueError(f"controls must be a non-empty dict of name -> ipywidgets control, got {controls!r}")
        for name, ctl in controls.items():
            if not isinstance(name, str) or not isinstance(ctl, widgets.ValueWidget):
                raise ValueError(f"controls must map names (str) to ipywidgets value controls, got {name!r}: "
                                 f"{type(ctl).__name__}")
        if not isinstance(main, str) or main not in controls:
            raise ValueError(f"main must be one of the controls {list(controls)}, got {main!r}")
        if not isinstance(controls[main], widgets.SelectionSlider):
            raise ValueError(f"main control {main!r} must be an ipywidgets.SelectionSlider (use widgets.slider)")
        if not isinstance(alt, str) or not alt.strip():
            raise ValueError("alt must be a non-empty string describing the figure (alt text for readers who cannot "
                             f"see it), got {alt!r}")
        try:
            size = tuple(float(x) for x in figsize)
        except (TypeError, ValueError):
            size = ()
        if len(size) != 2 or not all(0 < x < 100 for x in size):
            raise ValueError(f"figsize must be a pair (width, height) of inches in (0, 100), got {figsize!r}")
        figsize = size
        dpi = check.integer("dpi", dpi, minimum=10, maximum=600)
        self.draw, self.controls, self.main, self.alt = draw, dict(controls), main, alt
        self.figsize, self.dpi = figsize, dpi
        self._layout = None   # axes boxes solved on the first frame, reused by the others (see _reuse_layout)
        main_ctl = self.controls[main]
        frames = [self.render(**self.values(**{main: v})) for v in main_ctl.options]
        self.frames = [widgets.HTML(value=f) for f in frames]
        self.stack = widgets.Stack(children=self.frames, selected_index=main_ctl.index)
        self.link = widgets.jslink((main_ctl, "index"), (self.stack, "selected_index"))
        self._stale: set[int] = set()
        for name, ctl in self.controls.items():
            ctl.observe(self._on_change, names="value")
        others = [c for n, c in self.controls.items() if n != main]
        note = widgets.HTML(
            f"<small class='cl-note'>Without a live kernel only the <b>{html.escape(main_ctl.description)}</b> "
            "slider moves (its frames are precomputed); launch Binder or run the notebook to move every control."
            "</small>" if others else "")
        rows = [main_ctl] + ([widgets.HBox(others, layout=widgets.Layout(flex_flow="row wrap"))] if others else [])
        self.widget = widgets.VBox(rows + [self.stack, note])
        self.widget.add_class("cl-interactive")

    def values(self, **overrides) -> dict:
        """Current value of every control, with ``overrides`` applied."""
        vals = {name: ctl.value for name, ctl in self.controls.items()}
        vals.update(overrides)
        return vals

    def render(self, **values) -> str:
        """Draw one frame and return it as HTML: the image (with alt text) and the read-out."""
        with matplotlib.rc_context(RC):
            fig, _ = new_figure(*self.figsize, dpi=self.dpi)
            try:
                readout = self.draw(fig, **values)
            except ValueError as err:
                fig.clear()
                fig.text(0.5, 0.5, "outside the formula's domain", ha="center", va="center", fontsize=12)
                readout = f"<span class='cl-error'>{html.escape(str(err))}</span>"
            self._reuse_layout(fig)
            png = base64.b64encode(_frame_png(fig)).decode("ascii")
        return (f"<div class='cl-frame'><img alt='{html.escape(self.alt, quote=True)}' "
                f"src='data:image/png;base64,{png}' style='max-width:100%'/>"
                f"<div class='cl-readout'>{readout or ''}</div></div>")

    def _reuse_layout(self, fig):
        """Solve the constrained layout once, then pin later frames' axes to the same boxes.

        The layout solver is about a third of a redraw; frames of one figure share their axes and labels, so the
        boxes found for the first frame fit the others. A frame with a different number of axes is laid out afresh.
        """
        if self._layout is not None and len(fig.axes) == len(self._layout):
            fig.set_layout_engine("none")
            for ax, box in zip(fig.axes, self._layout):
                ax.set_position(box)
        elif fig.axes and fig.get_layout_engine() is not None:   # a draw may switch the layout engine off
            fig.get_layout_engine().execute(fig)
            self._layout = [ax.get_position() for ax in fig.axes]

    def _on_change(self, change):
        main_ctl = self.controls[self.main]
        if change["owner"] is not main_ctl:
            # Another control moved: every precomputed frame is out of date, redraw lazily.
            self._stale = set(range(len(self.frames)))
        idx = main_ctl.index
        if change["owner"] is not main_ctl or idx in self._stale:
            self.frames[idx].value = self.render(**self.values())
            self._stale.discard(idx)
        self.stack.selected_index = idx

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def interactive_figure(draw: Callable[..., str], controls: dict, main: str, alt: str, **kw) -> InteractiveFigure:
    """Build an :class:`InteractiveFigure` (see its parameters); display it as a cell's last expression."""
    return InteractiveFigure(draw, controls, main, alt, **kw)
