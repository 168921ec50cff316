"""Live widgets: each chapter notebook served by Voila on 127.0.0.1 with a real kernel, driven in headless Chromium.

For every interactive figure, moving its main control and then one other control must change both the read-out and the
figure image (the second move needs the kernel: it redraws every frame). All chapters are opened at once so their
kernels execute side by side; each test then waits for its own page.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import booktools as bt

pytestmark = pytest.mark.browser

NOTEBOOKS = bt.chapter_notebooks()
FIXTURES = Path(__file__).parent / "fixtures"
LOAD_TIMEOUT_MS = 240_000  # a chapter executes in its kernel before the page finishes loading


def _open(context, url):
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url, wait_until="commit")
    return page


def _wait_rendered(page, expected: int | None):
    page.wait_for_load_state("load", timeout=LOAD_TIMEOUT_MS)
    if expected:
        page.wait_for_function(f"document.querySelectorAll('.cl-interactive .cl-frame').length >= {expected}",
                               timeout=60_000)
    page.wait_for_timeout(300)
    return page.locator(".cl-interactive")


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
            bt.check_live_figure(figures.nth(i), timeout_s=30)
        except AssertionError as err:
            failures.append(f"figure {i + 1}: {err}")
    assert not failures, "\n".join(failures)
    assert not page.errors, f"uncaught JavaScript errors: {page.errors}"


def test_live_check_catches_a_broken_callback(context, voila_factory, request_log):
    """The fixture notebook has a working figure and one whose draw raises when its second control moves."""
    server = voila_factory(FIXTURES)
    request_log.clear()
    page = _open(context, server.url("live_widgets.ipynb"))
    try:
        figures = _wait_rendered(page, 2)
        assert figures.count() == 2
        result = bt.check_live_figure(figures.nth(0), timeout_s=30)
        assert result["main"]["readout"] == "slope 3.00 (n=3, scale=1.00)"
        assert result["other"]["readout"] == "slope 3.75 (n=3, scale=1.25)"
        with pytest.raises(AssertionError, match="other control"):
            bt.check_live_figure(figures.nth(1), timeout_s=8)
        assert not page.errors, f"uncaught JavaScript errors: {page.errors}"
        assert not request_log.blocked, f"Voila asked for files outside loopback and node_modules: {request_log.blocked}"
    finally:
        page.close()
