"""No broken internal links or anchors in the built HTML; launch, repository and download buttons on every chapter.

The crawler (booktools.crawl_links) reads every page of _build/html: each href/src to a local file must exist, and each
``#anchor`` must be an id in the page it points to. External links are not followed (the tests run offline).
"""
from __future__ import annotations

import json

import pytest
import yaml

import booktools as bt

pytestmark = pytest.mark.browser


def test_no_broken_internal_links(html_dir):
    pages = list(html_dir.rglob("*.html"))
    assert len(pages) >= 3, f"only {len(pages)} pages in {html_dir}"
    problems = bt.crawl_links(html_dir)
    assert not problems, f"{len(problems)} broken internal links:\n" + "\n".join(problems[:50])


def test_crawler_finds_a_broken_link_and_a_broken_anchor(tmp_path):
    """The crawler itself: a small site with good links and one broken file link and two broken anchors."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "img.png").write_bytes(b"\x89PNG")
    (tmp_path / "a.html").write_text(
        '<html><body><h1 id="top">A</h1>'
        '<a href="sub/b.html">ok file</a> <a href="sub/b.html#sec-1">ok anchor</a> <a href="#top">ok self</a>'
        '<a href="https://example.org/x.html">external</a> <a href="mailto:x@example.org">mail</a>'
        '<img src="img.png" alt="ok">'
        '<a href="missing.html">broken file</a> <a href="sub/b.html#no-such-section">broken anchor</a>'
        '<a href="#nowhere">broken self anchor</a></body></html>')
    (tmp_path / "sub" / "b.html").write_text(
        '<html><body><section id="sec-1"><a href="../a.html#top">back</a></section></body></html>')
    problems = bt.crawl_links(tmp_path)
    assert len(problems) == 3, problems
    assert any("missing.html" in p and "missing file" in p for p in problems)
    assert any("no-such-section" in p for p in problems)
    assert any("'#nowhere'" in p for p in problems)
    # Repairing the three links leaves nothing to report.
    fixed = (tmp_path / "a.html").read_text().replace("missing.html", "sub/b.html") \
        .replace("#no-such-section", "#sec-1").replace("#nowhere", "#top")
    (tmp_path / "a.html").write_text(fixed)
    assert bt.crawl_links(tmp_path) == []


def _notebook_pages(html_dir):
    sources = html_dir / "_sources"
    return sorted(p.relative_to(sources).with_suffix("").as_posix() for p in sources.rglob("*.ipynb"))


def test_chapter_pages_have_launch_repository_and_download_buttons(html_dir):
    """Binder and Colab launch links, the repository button and the .ipynb download all derive from _config.yml."""
    config = yaml.safe_load((bt.book_root() / "_config.yml").read_text())
    repo, branch = config["repository"]["url"].rstrip("/"), config["repository"].get("branch", "main")
    owner_name = repo.split("github.com/", 1)[1]
    launch = config["launch_buttons"]
    assert launch.get("thebe") in (False, None), "Thebe is on; it does not run the book's widgets"
    stems = _notebook_pages(html_dir)
    assert stems, "no notebook pages in the built book"
    for stem in stems:
        page = (html_dir / f"{stem}.html").read_text(encoding="utf-8")
        binder = f"{launch['binderhub_url'].rstrip('/')}/v2/gh/{owner_name}/{branch}?urlpath=lab/tree/{stem}.ipynb"
        colab = f"{launch['colab_url'].rstrip('/')}/github/{owner_name}/blob/{branch}/{stem}.ipynb"
        assert f'href="{binder}"' in page, f"{stem}: no Binder launch link {binder}"
        assert f'href="{colab}"' in page, f"{stem}: no Colab launch link {colab}"
        assert f'href="{repo}"' in page, f"{stem}: no repository button"
        assert "thebe-launch-button" not in page, f"{stem}: a Thebe button is shown"
        download = html_dir / "_sources" / f"{stem}.ipynb"
        depth = stem.count("/")
        assert f'href="{"../" * depth}_sources/{stem}.ipynb"' in page, f"{stem}: no .ipynb download link"
        nb = json.loads(download.read_text())
        assert nb["nbformat"] == 4 and nb["cells"], f"{download} is not a notebook"
