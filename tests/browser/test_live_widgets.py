"""Live widgets: each chapter notebook served by Voila on 127.0.0.1 with a real kernel, driven in headless Chromium.

For every interactive figure, every control must change the chart and the read-out (as on the static page), and a
figure whose Monte Carlo can be re-run must show the re-run button once the kernel answers and redraw with a new seed.
All chapters are opened at once so their kernels execute side by side; each test then waits for its own page.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import booktools as bt

pytestmark = pytest.mark.browser

NOTEBOOKS = bt.chapter_notebooks()
FIXTURES = Path(__file__).parent / "fixtures"
LOAD_TIMEOUT_MS = 300_000  # a chapter executes in its kernel before the page finishes loading


def _open(context, url):
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url, wait_until="commit")
    return page


def _wait_rendered(page, expected: int | None):
    page.wait_for_load_state("load", timeout=LOAD_TIMEOUT_MS)
    if expected:
        page.wait_for_function(f"document.querySelectorAll('.cl-interactive .cl-chart canvas').length >= {expected}",
                               timeout=120_000)
    page.wait_for_timeout(300)
    return page.locator(".cl-interactive")


def rerun_live(fig, timeout_s: float = 30.0) -> dict:
    """Click the figure's re-run button (shown only when a kernel answered) and wait for the kernel's new frame."""
    button = fig.locator(".cl-rerun")
    button.wait_for(state="visible", timeout=75_000)
    before = bt.chart_state(fig)
    button.click()
    after = bt.wait_for_change(fig, before, timeout_s)
    assert after.get("pixels") != before.get("pixels"), "re-running the Monte Carlo did not redraw the chart"
    assert "re-run with seed" in (after.get("readout") or ""), f"read-out after a re-run: {after.get('readout')!r}"
    return after


@pytest.fixture(scope="session")
def book_voila(voila_factory):
    return voila_factory(bt.book_root() / "book")


@pytest.fixture(scope="session")
def live_chapters(request, context, book_voila):
    """Every selected chapter opened in its own tab (one kernel each), all started before the first test waits."""
    selected = {item.callspec.params["notebook"] for item in request.session.items
                if hasattr(item, "callspec") and "notebook" in item.callspec.params}
    pages = {nb.name: _open(context, book_voila.url(nb.name)) for nb in NOTEBOOKS if nb.name in selected}
    yield pages
    for page in pages.values():
        page.close()


def test_there_are_chapter_notebooks():
    assert NOTEBOOKS, f"no notebooks in {bt.book_root() / 'book'}"


@pytest.mark.parametrize("notebook", [nb.name for nb in NOTEBOOKS])
def test_live_interactive_figures_respond(notebook, live_chapters, html_dir):
    built = html_dir / "book" / notebook.replace(".ipynb", ".html")
    assert built.exists(), f"{built} missing: the book build must run first"
    expected = bt.expected_interactive_figures(built.read_text(encoding="utf-8"))
    page = live_chapters[notebook]
    figures = _wait_rendered(page, expected)
    assert figures.count() == expected, f"{expected} interactive figures in the static page, {figures.count()} live"
    failures = []
    for i in range(figures.count()):
        try:
            bt.check_every_control(figures.nth(i), timeout_s=10)
            if figures.nth(i).locator(".cl-chart[data-rerun=true]").count():
                rerun_live(figures.nth(i))
        except AssertionError as err:
            failures.append(f"figure {i + 1}: {err}")
    assert not failures, "\n".join(failures)
    assert not page.errors, f"uncaught JavaScript errors: {page.errors}"


def test_live_check_catches_a_broken_rerun(context, voila_factory, request_log):
    """The fixture notebook has a figure whose re-run works and one whose re-run raises in the kernel."""
    server = voila_factory(FIXTURES)
    request_log.clear()
    page = _open(context, server.url("live_widgets.ipynb"))
    try:
        figures = _wait_rendered(page, 2)
        assert figures.count() == 2
        bt.check_every_control(figures.nth(0), timeout_s=10)
        after = rerun_live(figures.nth(0))
        assert after["readout"].startswith("n = 3, scale = 1.25: slope 3.75, seed 1003")
        with pytest.raises(AssertionError, match="did not redraw"):
            rerun_live(figures.nth(1), timeout_s=5)
        assert not page.errors, f"uncaught JavaScript errors: {page.errors}"
        assert not request_log.blocked, f"Voila asked for files outside loopback and node_modules: {request_log.blocked}"
    finally:
        page.close()
