"""Helpers for the browser tests: local CDN, request routing, link crawler and page checks.

Kept free of pytest fixtures so the checks themselves can be pointed at small synthetic pages (tests/browser/fixtures and
tmp dirs) to show that they fail when a widget or a link is broken.
"""
from __future__ import annotations

import functools
import hashlib
import http.server
import json
import mimetypes
import os
import re
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
CDN_HOSTS = {"cdn.jsdelivr.net"}  # URLs of the form https://cdn.jsdelivr.net/npm/<package>@<version>/<path>
EXCLUDED_PAGES = {"genindex.html", "search.html"}


def book_root() -> Path:
    """The book's source tree: $BOOK_ROOT (a scratch copy, say), else the repository."""
    return Path(os.environ.get("BOOK_ROOT", ROOT)).resolve()


def book_html_dir() -> Path:
    """The built book: $BOOK_HTML_DIR, else <book root>/_build/html."""
    return Path(os.environ.get("BOOK_HTML_DIR", book_root() / "_build" / "html")).resolve()


def chapter_notebooks() -> list[Path]:
    """The chapter notebooks (book/*.ipynb of the book root)."""
    return sorted(p for p in (book_root() / "book").glob("*.ipynb"))


def book_pages(html_dir: Path) -> list[str]:
    """Every page of the built book (relative POSIX paths), without the generated index and search pages."""
    if not html_dir.is_dir():
        return []
    skip = {"_static", "_sources", "_images", "_sphinx_design_static"}
    return sorted(p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html")
                  if not (set(p.relative_to(html_dir).parts) & skip) and p.relative_to(html_dir).as_posix()
                  not in EXCLUDED_PAGES)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_directory(directory: Path):
    """A threaded static HTTP server on 127.0.0.1 (random port) for ``directory``; returns (server, base_url)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# ---------------------------------------------------------------------------------------------------------------------
# Local CDN: serve https://cdn.jsdelivr.net/npm/<pkg>@<version>/<path> from node_modules (package.json pins the versions)
# ---------------------------------------------------------------------------------------------------------------------
_NPM = re.compile(r"^/npm/(?P<pkg>(?:@[^/@]+/)?[^/@]+)(?:@(?P<ver>[^/]+))?/(?P<path>.*)$")


def version_matches(installed: str, spec: str | None) -> bool:
    """``spec`` from a CDN URL: none, an exact version, a prefix (``3`` or ``3.2``) or a caret range (``^5``)."""
    if spec is None:
        return True
    if spec.startswith("^"):
        want = [int(x) for x in re.findall(r"\d+", spec)[:3]]
        have = [int(x) for x in re.findall(r"\d+", installed)[:3]]
        return bool(want) and have[0] == want[0] and have[:len(want)] >= want
    return installed == spec or installed.startswith(spec + ".")


def npm_file(url: str, node_modules: Path = NODE_MODULES) -> Path | None:
    """The installed file behind a CDN URL, or None when the package or the exact version is not installed.

    The version in the URL must match the installed one (see :func:`version_matches`).
    """
    parts = urlsplit(url)
    if parts.hostname not in CDN_HOSTS:
        return None
    m = _NPM.match(unquote(parts.path))
    if not m:
        return None
    pkg_dir = node_modules / m["pkg"]
    try:
        installed = json.loads((pkg_dir / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    if not version_matches(installed, m["ver"]):
        return None
    target = (pkg_dir / m["path"]).resolve()
    if pkg_dir.resolve() not in target.parents or not target.is_file():
        return None
    return target


@dataclass
class RequestLog:
    """What a page asked for: requests blocked (non-loopback, not in node_modules) and served from the local CDN."""
    blocked: list[str] = field(default_factory=list)
    served: list[str] = field(default_factory=list)

    def clear(self):
        self.blocked.clear()
        self.served.clear()


def install_routes(context, log: RequestLog, node_modules: Path = NODE_MODULES) -> None:
    """Allow only loopback, file:// and data: requests; serve pinned CDN files from node_modules; abort the rest."""

    def handle(route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "file", "about") or parts.hostname in LOOPBACK:
            return route.continue_()
        path = npm_file(url, node_modules)
        if path is None:
            log.blocked.append(url)
            return route.abort("blockedbyclient")
        log.served.append(url)
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".js":
            ctype = "application/javascript; charset=utf-8"
        return route.fulfill(status=200, body=path.read_bytes(),
                             headers={"Content-Type": ctype, "Access-Control-Allow-Origin": "*"})

    context.route("**/*", handle)


def sri(path: Path, algo: str = "sha384") -> str:
    """Subresource-integrity value of a file (``sha384-<base64>``)."""
    import base64
    return f"{algo}-" + base64.b64encode(hashlib.new(algo, path.read_bytes()).digest()).decode()


# ---------------------------------------------------------------------------------------------------------------------
# Link crawler
# ---------------------------------------------------------------------------------------------------------------------
class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (attribute, value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag in ("a", "link", "area") and attrs.get("href") is not None:
            self.links.append(("href", attrs["href"]))
        if tag in ("img", "script", "iframe", "source") and attrs.get("src"):
            self.links.append(("src", attrs["src"]))


def _parse(path: Path, cache: dict) -> _Collector:
    if path not in cache:
        parser = _Collector()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = parser
    return cache[path]


def crawl_links(root: Path) -> list[str]:
    """Check every internal link of every HTML file under ``root``.

    Returns one message per problem: a link to a local file that does not exist, or a ``#anchor`` that is not an ``id``
    (or ``<a name>``) in the target page. External (scheme or ``//``) links, ``mailto:`` and ``javascript:`` are
    skipped: the tests run offline.
    """
    root = root.resolve()
    cache: dict[Path, _Collector] = {}
    problems = []
    for page in sorted(root.rglob("*.html")):
        rel = page.relative_to(root).as_posix()
        if rel.startswith(("_static/", "_sources/")):
            continue
        for attr, raw in _parse(page, cache).links:
            link = raw.strip()
            if not link or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", link) or link.startswith("//"):
                continue
            target_part, anchor = urldefrag(link)
            target_part = unquote(target_part.split("?", 1)[0])
            if target_part:
                target = (root / target_part.lstrip("/")) if target_part.startswith("/") else (page.parent / target_part)
                target = target.resolve()
                if target.is_dir():
                    target = target / "index.html"
            else:
                target = page
            if not target.exists():
                problems.append(f"{rel}: {attr}={raw!r} -> missing file {target.relative_to(root) if root in target.parents else target}")
                continue
            anchor = unquote(anchor)
            if anchor and target.suffix == ".html" and anchor not in _parse(target, cache).ids:
                problems.append(f"{rel}: {attr}={raw!r} -> no id {anchor!r} in {target.relative_to(root).as_posix()}")
    return problems


# ---------------------------------------------------------------------------------------------------------------------
# Page checks (Playwright sync API)
# ---------------------------------------------------------------------------------------------------------------------
def expected_interactive_figures(html: str) -> int:
    """Number of displayed interactive figures in a page's embedded widget state (VBoxes with class cl-interactive)."""
    count = 0
    for m in re.finditer(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', html, re.S):
        state = json.loads(m.group(1)).get("state", {})
        count += sum("cl-interactive" in (s.get("state", {}).get("_dom_classes") or []) for s in state.values())
    return count


def wait_for_mathjax(page, timeout_ms: int = 30000) -> bool:
    """Wait until MathJax has typeset the page; False when the page loads no MathJax."""
    has = page.evaluate("() => !!document.querySelector('script[src*=\"mathjax\"]')")
    if not has:
        return False
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=timeout_ms)
    page.evaluate("() => MathJax.startup.promise.then(() => true)")
    return True


MATH_REPORT_JS = """() => {
  const math = Array.from(document.querySelectorAll('.math'));
  return {
    math: math.length,
    typeset: math.filter(e => e.querySelector('mjx-container')).length,
    containers: document.querySelectorAll('mjx-container').length,
    errors: Array.from(document.querySelectorAll('mjx-merror')).map(e => e.getAttribute('data-mjx-error') || e.textContent),
    raw: math.filter(e => !e.querySelector('mjx-container')).slice(0, 5).map(e => e.textContent.slice(0, 80)),
  };
}"""

# Display equations wider than the text column: the reader sees them cut off (or must scroll sideways).
WIDE_MATH_JS = """() => Array.from(document.querySelectorAll('mjx-container[display="true"]'))
  .filter(c => c.offsetParent !== null)
  .map(c => {
    const column = c.closest('section, .admonition, .proof, article') || c.parentElement;
    const inner = c.querySelector('mjx-math');
    return {excess: Math.round((inner ? inner.getBoundingClientRect().width : 0) - column.clientWidth),
            tex: (c.closest('.math') || c).textContent.slice(0, 60)};
  })
  .filter(r => r.excess > 2)"""

IMAGES_WITHOUT_ALT_JS = """() => Array.from(document.querySelectorAll('img'))
  .filter(i => !(i.getAttribute('alt') || '').trim())
  .map(i => (i.getAttribute('src') || '').slice(0, 80))"""

# The one frame a Stack shows (StackView renders only its selected child): image digest, alt and read-out.
FRAME_JS = """(fig) => {
  const frames = Array.from(fig.querySelectorAll('.cl-frame')).filter(f => f.offsetParent !== null);
  if (frames.length !== 1) return {count: frames.length};
  const f = frames[0], img = f.querySelector('img'), ro = f.querySelector('.cl-readout');
  const src = img ? img.getAttribute('src') || '' : '';
  let h = 0; for (let i = 0; i < src.length; i += 7) h = (h * 31 + src.charCodeAt(i)) | 0;
  return {count: 1, img: src.length + ':' + h, alt: img ? (img.getAttribute('alt') || '') : '',
          readout: ro ? ro.textContent.trim() : null};
}"""


def frame_state(fig) -> dict:
    return fig.evaluate(FRAME_JS)


def main_slider(fig):
    """The main control of an interactive figure: its first child, a SelectionSlider."""
    return fig.locator(":scope > .widget-slider, :scope > .jupyter-widget-slider, :scope > .widget-hslider").first


def slider_value(slider) -> str:
    return slider.locator(".widget-readout").first.inner_text().strip()


def press_slider(slider, key: str) -> None:
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    handle.press(key)


def step_slider(slider) -> tuple[str, str]:
    """Move a slider one step (right, or left when at its end); return (value before, value after)."""
    before = slider_value(slider)
    press_slider(slider, "ArrowRight")
    after = slider_value(slider)
    if after == before:
        press_slider(slider, "ArrowLeft")
        after = slider_value(slider)
    return before, after


def scrub_static_figure(fig) -> list[dict]:
    """Walk the main slider of a static interactive figure over all its positions; assert the frame follows.

    Returns the visible frame at each position. Fails when the slider does not move, when there is not exactly one
    visible frame, when a frame lacks alt text or a read-out, or when a step of the slider leaves the frame unchanged.
    """
    slider = main_slider(fig)
    assert slider.count() == 1, "interactive figure without a main SelectionSlider as its first child"
    # Go to the left end, then step right to the other end, recording the visible frame at every position.
    for _ in range(40):
        before = slider_value(slider)
        press_slider(slider, "ArrowLeft")
        if slider_value(slider) == before:
            break
    seen = [(slider_value(slider), frame_state(fig))]
    for _ in range(40):
        press_slider(slider, "ArrowRight")
        value = slider_value(slider)
        if value == seen[-1][0]:
            break
        fig.page.wait_for_timeout(30)
        seen.append((value, frame_state(fig)))
    assert len(seen) >= 2, f"main slider does not move (stuck at {seen[0][0]!r})"
    for value, state in seen:
        assert state.get("count") == 1, f"at {value!r}: {state.get('count')} visible frames, expected 1"
        assert state["alt"].strip(), f"at {value!r}: frame image without alt text"
        assert state["readout"] is not None, f"at {value!r}: frame without a read-out"
    for (v0, s0), (v1, s1) in zip(seen, seen[1:]):
        assert (s0["img"], s0["readout"]) != (s1["img"], s1["readout"]), \
            f"moving the slider from {v0!r} to {v1!r} left the shown frame unchanged"
    return [s for _, s in seen]


def wait_for_redraw(fig, before: dict, timeout_s: float = 30.0, settle_s: float = 2.0) -> dict:
    """Poll the visible frame after a control moved; return it as soon as image and read-out both differ from
    ``before``, or once the image has changed and the read-out has stayed put for ``settle_s``, or at ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    image_changed_at = None
    while True:
        state = frame_state(fig)
        if state.get("count") == 1:
            if state["img"] != before.get("img"):
                if state["readout"] != before.get("readout"):
                    return state
                image_changed_at = image_changed_at or time.monotonic()
                if time.monotonic() - image_changed_at > settle_s:
                    return state
        if time.monotonic() > deadline:
            return state
        fig.page.wait_for_timeout(100)


def _changed(before: dict, after: dict) -> tuple[bool, bool]:
    return after.get("img") != before.get("img"), after.get("readout") != before.get("readout")


def other_controls(fig):
    """The non-main controls of an interactive figure (the row under the main slider)."""
    box = fig.locator(":scope > .widget-hbox, :scope > .jupyter-widget-hbox").first
    return box.locator(":scope > *") if box.count() else None


def move_control(ctl) -> str:
    """Move one control (slider, dropdown, checkbox, toggle buttons, radio buttons or text box); describe the move."""
    classes = ctl.get_attribute("class") or ""
    if ctl.locator(".noUi-handle").count():
        before, after = step_slider(ctl)
        assert before != after, f"slider did not move (stuck at {before!r})"
        return f"slider {before} -> {after}"
    if ctl.locator("select").count():
        select = ctl.locator("select").first
        options = select.locator("option").all_inner_texts()
        current = select.evaluate("s => s.options[s.selectedIndex] ? s.options[s.selectedIndex].text : ''")
        other = next(o for o in options if o != current)
        select.select_option(label=other)
        return f"dropdown {current} -> {other}"
    if ctl.locator("input[type=checkbox]").count():
        ctl.locator("input[type=checkbox]").first.click()
        return "checkbox toggled"
    if ctl.evaluate("e => e.tagName") == "BUTTON":  # ToggleButton, Button
        ctl.click()
        return "button clicked"
    if ctl.locator("button").count() > 1:  # ToggleButtons
        buttons = ctl.locator("button")
        for i in range(buttons.count()):
            if "mod-active" not in (buttons.nth(i).get_attribute("class") or ""):
                buttons.nth(i).click()
                return f"toggle button {i}"
    if ctl.locator("input[type=radio]").count() > 1:
        radios = ctl.locator("input[type=radio]")
        for i in range(radios.count()):
            if not radios.nth(i).is_checked():
                radios.nth(i).check()
                return f"radio {i}"
    if ctl.locator("input[type=number], input[type=text]").count():
        box_input = ctl.locator("input").first
        value = box_input.input_value()
        try:
            new = str(float(value) * 1.1 + 0.1)
        except ValueError:
            new = value + "x"
        box_input.fill(new)
        box_input.press("Enter")
        return f"text {value} -> {new}"
    raise AssertionError(f"do not know how to move a control with classes {classes!r}")


def check_live_figure(fig, timeout_s: float = 30.0) -> dict:
    """In a live kernel: move the main control, then other controls, and require the read-out and the image to change.

    The main control must change both. Other controls are tried in order until one changes both (a control may
    legitimately leave the read-out alone, e.g. a spectrum that OLS does not depend on); if none does, the check fails.
    """
    fig.scroll_into_view_if_needed()
    first = frame_state(fig)
    assert first.get("count") == 1, f"{first.get('count')} visible frames, expected 1"
    before, after = step_slider(main_slider(fig))
    assert before != after, f"main slider does not move (stuck at {before!r})"
    second = wait_for_redraw(fig, first, timeout_s)
    img, readout = _changed(first, second)
    assert img and readout, (f"moving the main control ({before} -> {after}) changed the image: {img}, the read-out: "
                             f"{readout} (read-out {first.get('readout')!r} -> {second.get('readout')!r})")
    controls = other_controls(fig)
    assert controls is not None and controls.count(), "interactive figure has no other controls"
    attempts, state = [], second
    for j in range(controls.count()):
        what = move_control(controls.nth(j))
        new = wait_for_redraw(fig, state, timeout_s)
        img, readout = _changed(state, new)
        if img and readout:
            return {"initial": first, "main": second, "other": new, "moved": what}
        attempts.append(f"{what}: image changed {img}, read-out changed {readout} "
                        f"({state.get('readout')!r} -> {new.get('readout')!r})")
        state = new
    raise AssertionError("no other control changed both the figure and the read-out within "
                         f"{timeout_s:.0f} s: " + "; ".join(attempts))
