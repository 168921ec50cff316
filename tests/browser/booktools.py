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

# Elements wider than the viewport that are not inside a box that scrolls on its own (the cause of a sideways scroll).
WIDE_ELEMENTS_JS = """() => {
  const vw = document.documentElement.clientWidth, out = [];
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.right <= vw + 1 || r.width === 0) continue;
    let p = e.parentElement, clipped = false;
    while (p && p !== document.body) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') { clipped = true; break; }
      p = p.parentElement;
    }
    if (!clipped) out.push(e.tagName.toLowerCase() + (e.className && e.className.baseVal === undefined ?
                           '.' + String(e.className).split(' ').slice(0, 2).join('.') : '') + ' ' + Math.round(r.right));
    if (out.length >= 8) break;
  }
  return out;
}"""

IMAGES_WITHOUT_ALT_JS = """() => Array.from(document.querySelectorAll('img'))
  .filter(i => !(i.getAttribute('alt') || '').trim())
  .map(i => (i.getAttribute('src') || '').slice(0, 80))"""

# Interactive charts (collapse_lib.figures): what the reader sees of one figure — read-out, pixels, frame index.
CHART_JS = """(fig) => {
  const chart = fig.querySelector('.cl-chart');
  if (!chart) return {count: 0};
  let h = 0;
  for (const c of chart.querySelectorAll('canvas')) {
    const src = c.toDataURL();
    for (let i = 0; i < src.length; i += 3) h = (h * 31 + src.charCodeAt(i)) | 0;
  }
  // the drawn chart is its canvases plus its titles and legend (text in the DOM)
  for (const e of chart.querySelectorAll('.u-title, .cl-legend')) {
    const t = e.textContent;
    for (let i = 0; i < t.length; i++) h = (h * 31 + t.charCodeAt(i)) | 0;
  }
  const ro = chart.querySelector('.cl-readout');
  return {count: 1, pixels: h, readout: ro ? ro.textContent.trim() : null, frame: chart.dataset.frame,
          draws: +(chart.dataset.draws || 0), redraw_ms: +(chart.dataset.redrawMs || -1),
          aria: chart.getAttribute('aria-label') || '', live: ro ? ro.getAttribute('aria-live') : null,
          legend: Array.from(chart.querySelectorAll('.cl-legend-item')).map(e => e.textContent.trim())};
}"""


def chart_state(fig) -> dict:
    return fig.evaluate(CHART_JS)


def controls(fig):
    """The controls of an interactive figure (the row above the chart)."""
    return fig.locator(".cl-controls > *")


def _text(s: str) -> str:
    return s.replace("\xa0", " ").strip()   # widgets render option labels with non-breaking spaces


def control_label(ctl) -> str:
    return _text(ctl.locator(".widget-label").first.inner_text())


def control_value(ctl) -> str:
    """The value a control shows: a slider's read-out, or a drop-down's selected option."""
    if ctl.locator("select").count():
        return _text(ctl.locator("select").first.evaluate("s => s.options[s.selectedIndex].text"))
    return _text(ctl.locator(".widget-readout").first.inner_text())


def press_slider(slider, key: str) -> None:
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    handle.press(key)


def move_control(ctl) -> str:
    """Move a control one step by keyboard (sliders: right, or left at the end) or by selection (drop-downs)."""
    before = control_value(ctl)
    if ctl.locator("select").count():
        select = ctl.locator("select").first
        options = select.locator("option").all_inner_texts()
        other = next(o for o in options if _text(o) != before)
        select.select_option(label=other)
    elif ctl.locator(".noUi-handle").count():
        press_slider(ctl, "ArrowRight")
        if control_value(ctl) == before:
            press_slider(ctl, "ArrowLeft")
    else:
        raise AssertionError(f"unknown control type: {ctl.get_attribute('class')!r}")
    after = control_value(ctl)
    assert after != before, f"control {control_label(ctl)!r} does not move (stuck at {before!r})"
    return f"{control_label(ctl)} {before} -> {after}"


def wait_for_change(fig, before: dict, timeout_s: float) -> dict:
    """Poll until the chart has redrawn (its draw counter moved) and shows other pixels; return the new state."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = chart_state(fig)
        if state.get("draws", 0) > before.get("draws", 0) and state.get("pixels") != before.get("pixels"):
            return state
        if time.monotonic() > deadline:
            return state
        fig.page.wait_for_timeout(25)


def readout_names_controls(fig, state: dict) -> list[str]:
    """The controls whose 'label = value' the read-out does not contain (empty when it agrees with every control)."""
    text = state.get("readout") or ""
    ctls = controls(fig)
    missing = []
    for j in range(ctls.count()):
        pair = f"{control_label(ctls.nth(j))} = {control_value(ctls.nth(j))}"
        if pair not in text:
            missing.append(pair)
    return missing


def check_every_control(fig, timeout_s: float = 5.0) -> list[float]:
    """Move every control of a figure; each move must redraw the chart (other pixels), change the read-out, and leave a
    read-out that names the current value of every control. Returns the redraw times (ms) the chart reported."""
    fig.scroll_into_view_if_needed()
    state = chart_state(fig)
    assert state.get("count") == 1, "interactive figure without a chart"
    assert state["aria"].strip(), "chart without an aria-label"
    assert state["live"] == "polite", "the read-out is not an aria-live region"
    assert not readout_names_controls(fig, state), \
        f"initial read-out {state['readout']!r} does not name {readout_names_controls(fig, state)}"
    ctls = controls(fig)
    assert ctls.count() >= 1, "interactive figure without controls"
    times, failures = [], []
    for j in range(ctls.count()):
        what = move_control(ctls.nth(j))
        new = wait_for_change(fig, state, timeout_s)
        if new.get("pixels") == state.get("pixels"):
            failures.append(f"{what}: the chart did not change")
        if new.get("readout") == state.get("readout"):
            failures.append(f"{what}: the read-out did not change ({new.get('readout')!r})")
        missing = readout_names_controls(fig, new)
        if missing:
            failures.append(f"{what}: read-out {new.get('readout')!r} does not name {missing}")
        times.append(new.get("redraw_ms", -1))
        state = new
    assert not failures, "; ".join(failures)
    return times
