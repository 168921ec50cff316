"""The CDN scripts pinned in _config.yml are the bytes the tests serve: same versions, matching integrity hashes."""
from __future__ import annotations

import pytest
import yaml

import booktools as bt

pytestmark = pytest.mark.browser

CONFIG = yaml.safe_load((bt.ROOT / "_config.yml").read_text())["sphinx"]["config"]


@pytest.mark.parametrize("url", [u for u in CONFIG["nb_ipywidgets_js"] if u])
def test_widget_script_is_pinned_and_matches_its_integrity_hash(url, node_modules):
    attrs = CONFIG["nb_ipywidgets_js"][url]
    path = bt.npm_file(url, node_modules)
    assert path is not None, f"{url} is not an exact version installed by package.json (npm ci)"
    assert "@" in url.split("/npm/", 1)[1], f"{url} has no pinned version"
    algo = attrs["integrity"].split("-", 1)[0]
    assert bt.sri(path, algo) == attrs["integrity"], f"integrity of {url} does not match {path}"
    assert attrs.get("crossorigin") == "anonymous"


def test_mathjax_is_pinned(node_modules):
    path = bt.npm_file(CONFIG["mathjax_path"], node_modules)
    assert path is not None and path.name == "tex-mml-chtml.js", CONFIG["mathjax_path"]


def test_local_cdn_refuses_other_versions_and_paths(node_modules):
    base = "https://cdn.jsdelivr.net/npm/"
    assert bt.npm_file(base + "mathjax@3.2.2/es5/tex-mml-chtml.js", node_modules)
    assert bt.npm_file(base + "mathjax@3/es5/tex-mml-chtml.js", node_modules)
    assert bt.npm_file(base + "mathjax@4.0.0/es5/tex-mml-chtml.js", node_modules) is None
    assert bt.npm_file(base + "mathjax@3.2.2/../requirejs/require.js", node_modules) is None
    assert bt.npm_file(base + "left-pad@1.0.0/index.js", node_modules) is None
    assert bt.npm_file("https://example.org/npm/mathjax@3.2.2/es5/tex-mml-chtml.js", node_modules) is None


def test_chart_front_end_matches_the_pinned_npm_packages(node_modules):
    """The uPlot bundled in collapse_lib/static is byte-identical to the pinned npm package, and the anywidget front
    end the page loads (require path in _config.yml) is the version the Python anywidget asks for."""
    import json
    import re

    import anywidget

    static = bt.ROOT / "collapse_lib" / "static"
    for name in ("uPlot.iife.min.js", "uPlot.min.css"):
        assert (static / name).read_bytes() == (node_modules / "uplot" / "dist" / name).read_bytes(), name
    assert (static / "LICENSE.uPlot").read_bytes() == (node_modules / "uplot" / "LICENSE").read_bytes()
    npm_version = json.loads((node_modules / "anywidget" / "package.json").read_text())["version"]
    wanted = anywidget.AnyWidget._model_module_version.default_value      # e.g. "~0.11.*"
    assert re.fullmatch(r"~?" + re.escape(".".join(npm_version.split(".")[:2])) + r"\.(\*|\d+)", wanted), \
        (npm_version, wanted)
    glue = CONFIG["nb_ipywidgets_js"][""]["body"]
    path = re.search(r'"anywidget":\s*"([^"]+)"', glue).group(1)
    assert path.endswith(f"/anywidget@{npm_version}/dist/index"), path
    assert bt.npm_file(path + ".js", node_modules) == node_modules / "anywidget" / "dist" / "index.js"


def test_external_scripts_are_only_the_pinned_cdn_files_and_the_readme_says_so(html_dir):
    """Reading the built book needs the network for exactly the pinned CDN scripts: nothing else is fetched from
    outside, and the README says plainly that reading needs a network (the choice issue 9 asked us to make)."""
    import re

    pinned = {u for u in CONFIG["nb_ipywidgets_js"] if u} | {CONFIG["mathjax_path"]}
    external = set()
    for page in bt.book_pages(html_dir):
        text = (html_dir / page).read_text(encoding="utf-8")
        external |= {m for m in re.findall(r'<script[^>]+src="(https?://[^"]+)"', text)}
    assert external and external <= pinned, f"unpinned external scripts: {external - pinned}"
    readme = (bt.ROOT / "README.md").read_text(encoding="utf-8")
    assert "reading the built\nbook needs a network connection" in readme.replace("**", "")
