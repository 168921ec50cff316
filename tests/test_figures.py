"""The interactive chart: frame generation over the control grid, indexing, encoding, payload, and clear errors."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from collapse_lib import figures as cf
from collapse_lib import isotropic, theory

LAM = np.logspace(-3, 2, 40)
P = isotropic(d=50, T0=150)


def ridge_frame(n, sigma0, spectrum):
    q = P.replace(sigma0=sigma0)
    e = theory.ridge_test_error(q, T=100, lam=LAM, n=n)
    clean = theory.ridge_test_error(q, T=100, lam=LAM, n=0).total
    return cf.frame([cf.line(LAM, e.total, f"total, n = {n}", 0), cf.line(LAM, clean, "clean", 1),
                     cf.band(LAM[::8], e.total[::8], 0.01 * e.total[::8], "Monte Carlo", 0),
                     cf.points([1.0], [e.total[20]], "your λ", 2, marker="triangle"),
                     cf.hline(q.signal, "null predictor"), cf.vline(0.1)],
                    readout=f"{spectrum}: minimum {e.total.min():.4f}", xlabel="λ", ylabel="error",
                    logx=True, logy=True)


def make_chart(frame=ridge_frame):
    return cf.InteractiveChart(frame, {"n": cf.slider("generations n", [0, 1, 3]),
                                       "sigma0": cf.slider("σ0", [0.0, 0.5, 1.0, 2.0], value=1.0),
                                       "spectrum": cf.dropdown("spectrum", ["isotropic", "other"])},
                               aria_label="U-curves of the test error against the penalty")


def resolve(v, arrays):
    return arrays[v] if isinstance(v, int) else v


def test_frames_cover_the_product_grid_in_row_major_order():
    chart = make_chart()
    assert chart.shape == [3, 4, 2] and len(chart.chart.frames) == 24
    arrays = chart.chart.arrays
    for flat, (i, j, k) in enumerate(np.ndindex(3, 4, 2)):
        fr = chart.chart.frames[flat]
        n, s0, spec = [0, 1, 3][i], [0.0, 0.5, 1.0, 2.0][j], ["isotropic", "other"][k]
        assert fr["readout"].startswith(f"generations n = {n}, σ0 = {s0:g}, spectrum = {spec}: {spec}")
        total = resolve(fr["panels"][0]["series"][0]["y"], arrays)
        expected = theory.ridge_test_error(P.replace(sigma0=s0), T=100, lam=LAM, n=n).total
        np.testing.assert_allclose(total, expected, rtol=6e-4)   # 4 significant digits
        assert fr["panels"][0]["series"][0]["label"] == f"total, n = {n}"


def test_initial_indices_follow_the_control_values_and_links():
    chart = make_chart()
    assert (chart.chart.c0, chart.chart.c1, chart.chart.c2) == (1, 2, 0)   # middle n, sigma0 = 1.0, first option
    assert len(chart.links) == 3
    assert [link.source[1] for link in chart.links] == ["index"] * 3
    assert [link.target[1] for link in chart.links] == ["c0", "c1", "c2"]
    chart.controls["sigma0"].value = 2.0
    assert chart.controls["sigma0"].index == 3   # the browser link carries this index to c1


def test_every_frame_is_finite_json_and_arrays_are_shared():
    chart = make_chart()
    text = json.dumps({"frames": chart.chart.frames, "arrays": chart.chart.arrays}, allow_nan=False)
    assert "NaN" not in text and "Infinity" not in text
    # the clean curve and the x grid do not depend on n or on the spectrum: stored once, not 24 times
    ids = {fr["panels"][0]["series"][1]["y"] for fr in chart.chart.frames}
    assert len(ids) == 1
    assert len(chart.chart.arrays) < 24 * 3
    assert chart.payload_bytes() == len(json.dumps(chart.chart.frames, separators=(",", ":"))) + \
        len(json.dumps(chart.chart.arrays, separators=(",", ":")))
    assert chart.payload_bytes() < 1_000_000


def test_non_finite_values_become_gaps_and_infinite_reference_lines_are_dropped():
    def frame(k):
        y = np.array([1.0, np.inf, np.nan, 2.0 * k])
        return cf.frame([cf.line([1, 2, 3, 4], y, "y"), cf.hline(np.inf, "at infinity")], readout="r")

    chart = cf.InteractiveChart(frame, {"k": cf.slider("k", [1, 2])}, aria_label="gaps")
    fr = chart.chart.frames[1]
    assert resolve(fr["panels"][0]["series"][0]["y"], chart.chart.arrays) == [1.0, None, None, 4.0]
    assert [s["kind"] for s in fr["panels"][0]["series"]] == ["line"]


def test_rounding_keeps_four_significant_digits():
    chart = cf.InteractiveChart(lambda k: cf.frame([cf.line([1, 2, 3], [k * 1.23456e-7, 0.0, -98765.4321])]),
                                {"k": cf.slider("k", [1])}, aria_label="rounding")
    y = resolve(chart.chart.frames[0]["panels"][0]["series"][0]["y"], chart.chart.arrays)
    assert y == [1.235e-07, 0.0, -98770.0]


def test_value_error_in_a_frame_becomes_a_message_not_a_crash():
    def frame(T):
        return cf.frame([cf.line([1, 2], [theory.ols_test_error(d=10, T=T), 1.0])], readout="ok")

    chart = cf.InteractiveChart(frame, {"T": cf.slider("T", [5, 20])}, aria_label="domain")
    bad, good = chart.chart.frames
    assert bad["panels"] == [] and "T must be >= d + 2" in bad["error"]
    assert bad["readout"].startswith("T = 5: outside the formula's domain")
    assert "error" not in good and good["readout"] == "T = 20: ok"


def test_other_exceptions_propagate():
    def frame(k):
        raise ZeroDivisionError("a bug must be seen")

    with pytest.raises(ZeroDivisionError):
        cf.InteractiveChart(frame, {"k": cf.slider("k", [1])}, aria_label="bug")


def test_panels_and_bars():
    def frame(m):
        counts = np.arange(5.0) * m
        return cf.frame([cf.panel([cf.line([0, 1], [0, m])], xlabel="a", title="left"),
                         cf.panel([cf.bars(np.arange(5), counts, "histogram", 5)], xlabel="b", logy=False)],
                        readout=f"m = {m}")

    chart = cf.InteractiveChart(frame, {"m": cf.slider("m", [1, 2])}, aria_label="two panels")
    fr = chart.chart.frames[0]
    assert len(fr["panels"]) == 2 and fr["panels"][1]["series"][0]["kind"] == "bars"


def test_rerun_uses_new_seeds_and_inline_arrays():
    calls = []

    def frame(n, seed=7):
        calls.append(seed)
        return cf.frame([cf.band([1, 2], [n, n + seed], [0.1, 0.1], "MC")], readout=f"seed {seed}")

    chart = cf.InteractiveChart(frame, {"n": cf.slider("n", [0, 1])}, aria_label="rerun")
    assert chart.chart.rerun is True and calls == [7, 7]
    live = chart.rerun(1)
    assert calls[-1] == 1007 and "seed 1007" in live["readout"]
    assert isinstance(live["panels"][0]["series"][0]["y"], list)
    assert chart.rerun(1)["readout"].endswith("(Monte Carlo re-run with seed 2007)")
    no_seed = make_chart()
    assert no_seed.chart.rerun is False
    with pytest.raises(ValueError, match="no seed keyword"):
        no_seed.rerun(0, 0, 0)


def test_the_widget_ships_the_chart_module_and_uplot():
    chart = make_chart()
    assert "function render" in chart.chart._esm and "uPlot" in chart.chart._esm
    assert ".cl-chart" in chart.chart._css and ".uplot" in chart.chart._css
    bundle = chart._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


@pytest.mark.parametrize("bad, match", [
    (dict(frame=None), "frame must be a callable"),
    (dict(controls={}), "controls must be a dict of 1 to 8"),
    (dict(controls={f"c{k}": cf.slider("s", [1]) for k in range(9)}), "controls must be a dict of 1 to 8"),
    (dict(controls={"x": object()}), "figures.slider or figures.dropdown"),
    (dict(aria_label=" "), "aria_label must be a non-empty"),
])
def test_invalid_chart_arguments(bad, match):
    kw = dict(frame=ridge_frame, controls={"n": cf.slider("n", [0, 1])}, aria_label="ok")
    kw.update(bad)
    with pytest.raises(ValueError, match=match):
        cf.InteractiveChart(**kw)


def test_grid_too_large_is_refused():
    controls = {f"c{k}": cf.slider(f"c{k}", list(range(10))) for k in range(4)}
    with pytest.raises(ValueError, match="at most 5000"):
        cf.InteractiveChart(lambda **v: cf.frame([]), controls, aria_label="big")


@pytest.mark.parametrize("call, match", [
    (lambda: cf.line([1, 2], [1]), "same length as x"),
    (lambda: cf.line([1, 2], ["a", "b"]), "array of numbers"),
    (lambda: cf.band([1], [1], [1, 2]), "same length as x"),
    (lambda: cf.points([1], [1], marker="star"), "marker must be one of"),
    (lambda: cf.line([1], [1], label=3), "label must be a string"),
    (lambda: cf.line([1], [1], i=-1), "i .* must be an integer >= 0"),
    (lambda: cf.hline("top"), "position must be a real number"),
    (lambda: cf.panel([cf.line([1], [1])], ylim=(0, 1), logy=True), "low > 0 on a log axis"),
    (lambda: cf.panel([cf.line([1], [1])], xlim=(2, 1)), "low < high"),
    (lambda: cf.panel([{"x": 1}]), "series must be made with"),
    (lambda: cf.frame([cf.panel([])], xlabel="x"), "belong to each panel"),
    (lambda: cf.slider("", [1]), "label must be a non-empty string"),
    (lambda: cf.slider("s", []), "non-empty list"),
    (lambda: cf.slider("s", "abc"), "non-empty list of values"),
    (lambda: cf.dropdown("s", [1, 2], value=3), "must be one of"),
])
def test_invalid_series_and_controls(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_frame_function_must_return_a_frame():
    with pytest.raises(ValueError, match="must return figures.frame"):
        cf.InteractiveChart(lambda k: {"x": 1}, {"k": cf.slider("k", [1])}, aria_label="wrong")


def test_slider_labels_are_plain_numbers():
    s = cf.slider("λ", [0.001, 0.5, 10])
    assert [label for label, _ in s.options] == ["0.001", "0.5", "10"]
    assert math.isclose(s.value, 0.5)
