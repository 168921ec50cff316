"""The student edition of the book (`make book-student` -> _build/student/html) contains no solution text.

For every page with exercise solutions, the *solution shingles* are the runs of 8 consecutive words of the page's
source that disappear when its solutions are stripped (collapse_lib.student_book): each contains words of a solution.
None may appear in the student page's HTML, nor in the notebook it offers for download. As controls, the exercises'
own text must still be there, and (when the main build exists) the main book's page must show the solutions.

Run by `make test-student-book` (marker ``student_book``; excluded from `make test-lib`).
"""
from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import nbformat
import pytest

from collapse_lib import student_book

pytestmark = pytest.mark.student_book

# BOOK_ROOT: check another checkout's builds (e.g. a trimmed copy of the book); default this repository.
ROOT = Path(os.environ.get("BOOK_ROOT", Path(__file__).resolve().parents[1]))
STUDENT = ROOT / "_build" / "student" / "html"
MAIN = ROOT / "_build" / "html"
N = 8


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9_]+", text.lower())


def shingles(text: str) -> set[tuple]:
    w = words(text)
    return {tuple(w[i:i + N]) for i in range(len(w) - N + 1)}


def html_text(path: Path) -> str:
    raw = path.read_text(errors="replace")
    raw = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", raw)
    return html.unescape(re.sub(r"(?s)<[^>]+>", " ", raw))


def source_text(path: Path, strip: bool) -> str:
    if path.suffix == ".md":
        text = path.read_text()
        return student_book.strip_markdown_solutions(text, path.name) if strip else text
    nb = nbformat.read(path, as_version=4)
    if strip:
        nb = student_book.strip_book_solutions(nb, path.name)
    return "\n".join(c.source for c in nb.cells)


def exercise_text(text: str) -> str:
    """Bodies of the {exercise} directives of a page."""
    return "\n".join(m.group(2) for m in re.finditer(r"(?ms)^(`{3,}|:{3,})\{exercise\}[^\n]*\n(.*?)^\1\s*$", text))


def pages_with_solutions():
    out = []
    for p in sorted((ROOT / "book").rglob("*")):
        if p.suffix not in (".ipynb", ".md") or "assignments" in p.relative_to(ROOT).parts:
            continue
        secret = shingles(source_text(p, strip=False)) - shingles(source_text(p, strip=True))
        if secret:
            out.append((p, secret))
    return out


PAGES = pages_with_solutions()


@pytest.fixture(scope="module")
def student_html():
    if not (STUDENT / "index.html").exists():
        pytest.fail(f"{STUDENT} is missing: run `make book-student` first")
    return STUDENT


def test_there_are_pages_with_solutions():
    assert len(PAGES) >= 4


@pytest.mark.parametrize("path, secret", PAGES, ids=[p.name for p, _ in PAGES])
def test_student_page_has_no_solution_text(student_html, path, secret):
    rel = path.relative_to(ROOT).with_suffix("")
    page = student_html / rel.with_suffix(".html")
    if not page.exists():
        pytest.fail(f"{rel} has solutions but no page in the student book (is it in _toc.yml?)")
    shown = shingles(html_text(page))
    leaked = secret & shown
    assert not leaked, f"{rel}: {len(leaked)} solution word runs in the student HTML, e.g. {' '.join(min(leaked))}"
    download = student_html / "_sources" / rel.with_suffix(path.suffix)
    if download.exists():
        text = download.read_text()
        if path.suffix == ".ipynb":
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
        assert not secret & shingles(text), f"{rel}: solution text in the downloadable source"
    # Control: the exercises themselves are still on the page (so the word runs do match rendered text).
    exercises = shingles(exercise_text(source_text(path, strip=True)))
    if exercises:
        found = len(exercises & shown) / len(exercises)
        assert found > 0.5, f"{rel}: only {found:.0%} of the exercise text found on the student page"


@pytest.mark.parametrize("path, secret", PAGES, ids=[p.name for p, _ in PAGES])
def test_main_book_shows_the_solutions(path, secret):
    """The detector finds solution text where it should be: in the main build (skipped if it was not built)."""
    page = MAIN / path.relative_to(ROOT).with_suffix(".html")
    if not page.exists():
        pytest.skip(f"{page} not built (run `make book`); the student-book checks above do not depend on it")
    found = len(secret & shingles(html_text(page))) / len(secret)
    assert found > 0.3, f"only {found:.0%} of the solution word runs found in the main book's page"


def test_student_config_hides_solutions(student_html):
    import yaml

    config = yaml.safe_load((ROOT / "_build" / "student" / "src" / "_config.yml").read_text())
    assert config["sphinx"]["config"]["hide_solutions"] is True
    assert "student edition" in html_text(student_html / "book" / "00_preface.html")
