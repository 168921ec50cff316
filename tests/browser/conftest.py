"""Fixtures for the browser tests: headless Chromium (Debian's), a loopback server for the built book, request routing.

Every request a page makes is routed: loopback, ``file://`` and ``data:`` go through; the CDN scripts the book loads
(MathJax, require.js, @jupyter-widgets/html-manager, at the versions pinned in ``_config.yml``) are answered from
``node_modules`` (``npm ci``; versions in ``package.json``); anything else is aborted and recorded.

The built book is ``$BOOK_HTML_DIR``, else ``$BOOK_ROOT/_build/html``, else ``<repo>/_build/html`` (``make test-book``
builds it first); chapter notebooks for the live tests are ``$BOOK_ROOT/book/*.ipynb`` (default: the repository).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import booktools as bt


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Safety net: everything under tests/browser carries the ``browser`` marker (modules also set pytestmark)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def html_dir() -> Path:
    path = bt.book_html_dir()
    if not (path / "index.html").exists():
        pytest.fail(f"no built book at {path}: run `make test-book` (or set BOOK_ROOT / BOOK_HTML_DIR)")
    return path


@pytest.fixture(scope="session")
def screenshot_dir(html_dir) -> Path:
    path = html_dir.parent / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def book_url(html_dir):
    server, url = bt.serve_directory(html_dir)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def node_modules() -> Path:
    missing = [name for name in ("mathjax", "requirejs", "@jupyter-widgets/html-manager", "anywidget", "uplot")
               if not (bt.NODE_MODULES / name / "package.json").exists()]
    if missing:
        pytest.fail(f"npm packages {missing} are not installed: run `npm ci` in {bt.ROOT}")
    return bt.NODE_MODULES


@pytest.fixture(scope="session")
def browser(node_modules):
    from playwright.sync_api import sync_playwright

    if not os.path.exists(bt.CHROMIUM):
        pytest.fail(f"{bt.CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as pw:
        # Playwright gives each launch a new, empty user-data dir (the --user-data-dir of the machine notes).
        browser = pw.chromium.launch(executable_path=bt.CHROMIUM, args=bt.CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def request_log() -> bt.RequestLog:
    return bt.RequestLog()


@pytest.fixture(scope="session")
def context(browser, request_log, node_modules):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    ctx.set_default_timeout(30_000)
    bt.install_routes(ctx, request_log, node_modules)
    yield ctx
    ctx.close()


# ---------------------------------------------------------------------------------------------------------------------
# Voila: one server per notebook directory, on 127.0.0.1 with a real kernel
# ---------------------------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VoilaServer:
    """``voila <root>`` in tree mode on 127.0.0.1; ``url(name)`` renders one notebook with a fresh kernel."""

    def __init__(self, root: Path, log_path: Path):
        self.root, self.port = Path(root).resolve(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        voila = Path(sys.executable).with_name("voila")
        cmd = [str(voila) if voila.exists() else shutil.which("voila") or "voila", str(self.root),
               "--no-browser", f"--port={self.port}", "--Voila.ip=127.0.0.1",
               "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
               "--VoilaConfiguration.show_tracebacks=True", "--MappingKernelManager.cull_idle_timeout=0"]
        env = dict(os.environ, PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=self.root, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"voila exited with {self.proc.returncode}; log in {log_path}")
            try:
                urllib.request.urlopen(f"{self.base}/", timeout=2)
                return
            except urllib.error.HTTPError:  # it answers: it is up
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"voila did not start within 60 s; log in {log_path}")

    def url(self, notebook: str) -> str:
        return f"{self.base}/voila/render/{notebook}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


@pytest.fixture(scope="session")
def voila_factory(tmp_path_factory):
    servers = []

    def start(root: Path) -> VoilaServer:
        server = VoilaServer(root, tmp_path_factory.mktemp("voila") / "voila.log")
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
