"""Chapter notebooks as a reader meets them: code fits the text column, and each runs on Colab/Binder from cell one."""
from __future__ import annotations

import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
MAX_LINE = 79


def code_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "book").as_posix())
def test_code_fits_the_text_column(path):
    wide = [(i, line) for i, cell in enumerate(code_cells(path))
            for line in "".join(cell["source"]).splitlines() if len(line) > MAX_LINE]
    assert not wide, f"{len(wide)} code lines over {MAX_LINE} characters, e.g. cell {wide[0][0]}: {wide[0][1]!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_cell_installs_the_library_when_missing_and_is_hidden(path):
    first = code_cells(path)[0]
    source = "".join(first["source"])
    assert "find_spec(\"collapse_lib\") is None" in source and "%pip install" in source, \
        f"{path.name}: the first code cell must install collapse_lib when it is missing (Colab, Binder)"
    assert "COLLAPSE_LIB_SOURCE" in source, f"{path.name}: the install cell must honour COLLAPSE_LIB_SOURCE"
    assert "remove-cell" in first.get("metadata", {}).get("tags", []), \
        f"{path.name}: the install cell must be tagged remove-cell (hidden in the HTML)"


def test_every_chapter_uses_the_same_install_cell():
    sources = {"".join(code_cells(p)[0]["source"]) for p in CHAPTERS}
    assert len(sources) == 1, "chapters differ in their install cell: keep one text (see book/00_preface.ipynb)"
