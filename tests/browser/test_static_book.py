"""Every page of the built book in headless Chromium, with no kernel: what a reader of the published HTML sees.

For each page, at 1280 px: math typesets, no JavaScript errors, every image has alt text, **every control** of every
interactive figure changes the chart and its read-out (no kernel), and a full-page screenshot lands in
``_build/screenshots/``. At 390 px (a phone): no sideways scroll, no JavaScript errors, and a screenshot. Each page is
loaded once per width; the checks share it.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

import booktools as bt

pytestmark = pytest.mark.browser

PAGES = bt.book_pages(bt.book_html_dir()) or ["<no built book: run make test-book>"]

_VISITS: dict[str, dict] = {}


def visit(context, request_log, book_url, html_dir: Path, screenshot_dir: Path, rel: str) -> dict:
    """Load one page (once per session), run every check, and return what was found."""
    if rel in _VISITS:
        return _VISITS[rel]
    if not (html_dir / rel).exists():
        pytest.fail(f"no such page {rel} in {html_dir}")
    report = {"errors": [], "redraw_ms": [], "control_failures": []}
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and report["errors"].append(m.text))
    page.on("pageerror", lambda e: report["errors"].append(f"uncaught: {e.message}"))
    page.on("response", lambda r: r.status >= 400 and report["errors"].append(f"HTTP {r.status} {r.url}"))
    request_log.clear()
    try:
        source = (html_dir / rel).read_text(encoding="utf-8")
        redirect = re.search(r'<meta http-equiv="refresh" content="\d+;\s*url=([^"]+)"', source, re.I)
        page.goto(f"{book_url}/{rel}", wait_until="load")
        if redirect:  # index.html forwards to the first chapter: check the page the reader lands on
            target = (html_dir / rel).parent / redirect.group(1)
            assert target.exists(), f"{rel} redirects to missing {redirect.group(1)}"
            page.wait_for_url(f"**/{redirect.group(1).lstrip('./')}")
            page.wait_for_load_state("load")
            rel_target = target.resolve().relative_to(html_dir.resolve()).as_posix()
            source = (html_dir / rel_target).read_text(encoding="utf-8")
        report["mathjax"] = bt.wait_for_mathjax(page)
        expected = bt.expected_interactive_figures(source)
        report["expected_figures"] = expected
        if expected:
            try:
                page.wait_for_function(f"document.querySelectorAll('.cl-interactive .cl-chart canvas').length >= "
                                       f"{expected}", timeout=30_000)
            except Exception:  # the assertion below reports the count
                pass
        report["rendered_figures"] = page.locator(".cl-interactive .cl-chart").count()
        report["math"] = page.evaluate(bt.MATH_REPORT_JS)
        report["no_alt"] = page.evaluate(bt.IMAGES_WITHOUT_ALT_JS)
        report["wide_math"] = page.evaluate(bt.WIDE_MATH_JS)
        shot = screenshot_dir / (rel.replace("/", "__").removesuffix(".html") + ".png")
        page.screenshot(path=str(shot), full_page=True)
        report["screenshot"] = shot
        figures = page.locator(".cl-interactive")
        for i in range(figures.count()):
            try:
                report["redraw_ms"] += bt.check_every_control(figures.nth(i))
            except AssertionError as err:
                report["control_failures"].append(f"figure {i + 1}: {err}")
    finally:
        report["blocked"] = list(request_log.blocked)
        page.close()
    _VISITS[rel] = report
    return report


@pytest.fixture
def report(request, context, request_log, book_url, html_dir, screenshot_dir):
    return visit(context, request_log, book_url, html_dir, screenshot_dir, request.param)


def _params():
    return pytest.mark.parametrize("report", PAGES, indirect=True, ids=PAGES)


@_params()
def test_math_typesets(report):
    math = report["math"]
    if math["math"]:
        assert report["mathjax"], "the page has math but loads no MathJax"
    assert math["typeset"] == math["math"], f"{math['math'] - math['typeset']} math elements not typeset: {math['raw']}"
    assert not math["errors"], f"MathJax errors: {math['errors']}"


@_params()
def test_display_math_fits_the_column(report):
    assert not report["wide_math"], f"display equations wider than the text column: {report['wide_math']}"


@_params()
def test_no_javascript_errors(report):
    assert not report["errors"], "console errors:\n" + "\n".join(report["errors"])
    assert not report["blocked"], f"requests outside loopback that no npm package answers: {report['blocked']}"


@_params()
def test_images_have_alt_text(report):
    assert not report["no_alt"], f"images without alt text: {report['no_alt']}"


@_params()
def test_every_control_of_every_figure_works_without_a_kernel(report):
    assert report["rendered_figures"] == report["expected_figures"], \
        f"{report['expected_figures']} interactive figures in the widget state, {report['rendered_figures']} rendered"
    assert not report["control_failures"], "\n".join(report["control_failures"])
    assert all(t >= 0 for t in report["redraw_ms"]), "a chart did not report its redraw time"


@_params()
def test_screenshot_saved(report):
    shot = report["screenshot"]
    assert shot.exists() and shot.stat().st_size > 5_000, f"screenshot {shot} missing or empty"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_book_has_pages():
    assert PAGES and not PAGES[0].startswith("<"), PAGES[0]


# ---------------------------------------------------------------------------------------------------------------------
# At a phone's width (390 px): nothing scrolls sideways, no console errors.
# ---------------------------------------------------------------------------------------------------------------------
_PHONE: dict[str, dict] = {}


@pytest.fixture(scope="module")
def phone(browser, request_log, node_modules):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, service_workers="block")
    ctx.set_default_timeout(30_000)
    bt.install_routes(ctx, request_log, node_modules)
    yield ctx
    ctx.close()


@pytest.mark.parametrize("rel", PAGES, ids=PAGES)
def test_no_sideways_scroll_on_a_phone(phone, book_url, html_dir, screenshot_dir, rel):
    errors = []
    page = phone.new_page()
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e.message}"))
    source = (html_dir / rel).read_text(encoding="utf-8")
    redirect = re.search(r'<meta http-equiv="refresh" content="\d+;\s*url=([^"]+)"', source, re.I)
    if redirect:  # index.html forwards to the first chapter: check the page the reader lands on
        rel = ((html_dir / rel).parent / redirect.group(1)).resolve().relative_to(html_dir.resolve()).as_posix()
    try:
        page.goto(f"{book_url}/{rel}", wait_until="load")
        bt.wait_for_mathjax(page)
        expected = bt.expected_interactive_figures((html_dir / rel).read_text(encoding="utf-8"))
        if expected:
            page.wait_for_function(f"document.querySelectorAll('.cl-chart canvas').length >= {expected}",
                                   timeout=30_000)
        page.wait_for_timeout(200)
        widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        wide = page.evaluate(bt.WIDE_ELEMENTS_JS)
        shot = screenshot_dir / ("phone__" + rel.replace("/", "__").removesuffix(".html") + ".png")
        page.screenshot(path=str(shot), full_page=True)
    finally:
        page.close()
    assert widths[0] <= widths[1], f"the page scrolls sideways at 390 px: {widths[0]} > {widths[1]}; widest: {wide}"
    assert not errors, "console errors:\n" + "\n".join(errors)


# ---------------------------------------------------------------------------------------------------------------------
# The control check itself: a chart whose controls are not linked to it must fail it.
# ---------------------------------------------------------------------------------------------------------------------
def _widget_page(path: Path, fig, linked: bool) -> None:
    """A page embedding one interactive figure with exactly the widget scripts the book pins in _config.yml."""
    from ipywidgets.embed import dependency_state

    config = yaml.safe_load((bt.ROOT / "_config.yml").read_text())
    scripts = []
    for src, attrs in config["sphinx"]["config"]["nb_ipywidgets_js"].items():
        attrs = dict(attrs)
        body = attrs.pop("body", "")
        attr_text = "".join(f' {k}="{v}"' for k, v in attrs.items())
        scripts.append(f'<script{attr_text}{f" src={src!r}" if src else ""}>{body}</script>')
    if not linked:
        for link in fig.links:
            link.close()  # dependency_state embeds every live link between the figure's widgets
    state = {"version_major": 2, "version_minor": 0, "state": dependency_state([fig.widget], drop_defaults=False)}
    assert ("LinkModel" in json.dumps(state)) == linked
    view = json.dumps({"version_major": 2, "version_minor": 0, "model_id": fig.widget.model_id})
    path.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>fixture</title>\n"
        f"<script type='application/vnd.jupyter.widget-state+json'>{json.dumps(state)}</script>\n"
        + "\n".join(scripts) +
        f"</head><body><script type='application/vnd.jupyter.widget-view+json'>{view}</script></body></html>")


def _fixture_figure():
    from collapse_lib import figures as cf

    def frame(n, scale):
        return cf.frame([cf.line([0, 1], [0, n * scale], "line")], readout=f"slope {n * scale:g}", ylim=(0, 8))

    return cf.InteractiveChart(frame, {"n": cf.slider("n", [1, 2, 3], value=2),
                                       "scale": cf.dropdown("scale", [1.0, 2.0])}, aria_label="A line of slope n")


def test_control_check_fails_for_an_unlinked_figure(context, tmp_path):
    _widget_page(tmp_path / "linked.html", _fixture_figure(), linked=True)
    _widget_page(tmp_path / "unlinked.html", _fixture_figure(), linked=False)
    server, base = bt.serve_directory(tmp_path)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(e.message))
    try:
        for name, should_pass in (("linked.html", True), ("unlinked.html", False)):
            page.goto(f"{base}/{name}", wait_until="load")
            page.wait_for_selector(".cl-interactive .cl-chart canvas")
            fig = page.locator(".cl-interactive").first
            if should_pass:
                times = bt.check_every_control(fig)
                assert len(times) == 2 and all(0 <= t < 1000 for t in times)
                assert bt.chart_state(fig)["readout"] == "n = 3, scale = 2: slope 6"
            else:
                with pytest.raises(AssertionError, match="the chart did not change"):
                    bt.check_every_control(fig, timeout_s=1.0)
        assert not errors, errors
    finally:
        page.close()
        server.shutdown()
        server.server_close()
