"""Notebooks are stored clean and every page of book/ is in the table of contents (and vice versa)."""
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
TOC = (ROOT / "_toc.yml").read_text()


def toc_entries():
    import yaml

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    yield node[key]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    return sorted(set(walk(yaml.safe_load(TOC))))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs", []) == [], f"{path.name} cell {i} has stored outputs"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name} stores widget state"


# Assignment sources and their committed student edition are not book pages (the appendix links to them).
ASSIGNMENTS = ROOT / "book" / "assignments"
PAGES = [p for p in NOTEBOOKS if ASSIGNMENTS not in p.parents]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_notebook_listed_in_toc(path):
    stem = path.relative_to(ROOT).with_suffix("").as_posix()
    assert stem in toc_entries(), f"{stem} is not listed in _toc.yml"


@pytest.mark.parametrize("entry", toc_entries())
def test_toc_entry_exists(entry):
    assert any((ROOT / (entry + ext)).exists() for ext in (".ipynb", ".md")), f"_toc.yml lists missing {entry}"
