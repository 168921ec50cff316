"""Student and instructor editions from one source (collapse_lib.editions) and the student book (student_book).

The student edition must never contain a solution: every marker problem is an error, and for every assignment the
distinctive lines of each solution (lines that appear nowhere else in the source) are absent from the student file.
"""
from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from collapse_lib import editions, student_book
from collapse_lib.editions import MarkerError

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "editions"
ASSIGNMENT_DIR = ROOT / "book" / "assignments"
ASSIGNMENTS = sorted(ASSIGNMENT_DIR.glob("*.ipynb"))
STUB = re.compile(r'raise NotImplementedError\("Exercise (\d+)"\)')


def read(path):
    return nbformat.read(path, as_version=4)


def code_cell(source, tags=None):
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = tags
    return cell


def notebook(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


# ---------------------------------------------------------------------------------------------------------------
# Marker parsing

GOOD = "def f(x):\n    # BEGIN SOLUTION\n    # PROMPT: twice x\n    return 2 * x\n    # END SOLUTION\n"


def test_balanced_block_is_parsed():
    (block,) = editions.parse_solution_blocks(GOOD)
    assert (block.begin, block.end, block.indent) == (1, 4, "    ")
    assert block.prompts == ("twice x",)
    assert block.body == ("    return 2 * x",)


@pytest.mark.parametrize("source, message", [
    ("# BEGIN SOLUTION\nx = 1\n", "without a matching '# END SOLUTION'"),
    ("x = 1\n# END SOLUTION\n", "without a matching '# BEGIN SOLUTION'"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n# END SOLUTION\n", "inside the block"),
    ("# PROMPT: a prompt outside\n", "outside a solution block"),
    ("def f():\n    # BEGIN SOLUTION\n    pass\n# END SOLUTION\n", "not indented like"),
    ("def f():\n    # BEGIN SOLUTION\n  x = 1\n    # END SOLUTION\n", "indented less"),
])
def test_unbalanced_or_misplaced_markers_raise(source, message):
    with pytest.raises(MarkerError, match=re.escape(message)):
        editions.parse_solution_blocks(source, "nb, cell 3")


@pytest.mark.parametrize("line", [
    "# BEGIN SOLUTON", "# BEGIN SOLUTIONS", "#BEGIN SOLUTION", "# begin solution", "# BEGIN_SOLUTION",
    "# END SOLUTON", "#END SOLUTION", "# End Solution", "# END SOLUTION.", "## END SOLUTION",
    "# PROMT: do this", "# Prompt: do this", "# PROMPT do this", "# POINT: 2", "# Points: 2", "# POINTS 2",
])
def test_misspelt_markers_raise(line):
    source = f"def f():\n    # BEGIN SOLUTION\n    pass\n    # END SOLUTION\n{line}\n"
    with pytest.raises(MarkerError, match="misspelt"):
        editions.parse_solution_blocks(source)
        editions.cell_points(source)


@pytest.mark.parametrize("line", ["# the end of the solution space", "# points of the grid", "# prompt the user",
                                  "# BEGIN with the end", "x = '# BEGIN SOLUTION'"])
def test_ordinary_comments_are_not_markers(line):
    assert editions.parse_solution_blocks(line) == []
    assert editions.cell_points(line) is None


@pytest.mark.parametrize("points, ok", [("3", 3), ("0", None), ("-1", None), ("two", None), ("2.5", None)])
def test_points_line(points, ok):
    source = f"# POINTS: {points}\nassert True\n"
    if ok is None:
        with pytest.raises(MarkerError, match="positive integer"):
            editions.cell_points(source)
    else:
        assert editions.cell_points(source) == ok


@pytest.mark.parametrize("cell, message", [
    (code_cell("assert True", ["tests"]), "needs one '# POINTS: k' line"),
    (code_cell("# POINTS: 2\nassert True"), "must be tagged"),
    (code_cell("# POINTS: 1\n# POINTS: 2\n", ["tests"]), "exactly one"),
    (code_cell("# POINTS: 1\n" + GOOD, ["tests"]), "solution markers in a test cell"),
    (code_cell("x = 1", ["hidden_tests"]), "misspelt 'hidden-tests'"),
    (code_cell("x = 1", ["Solution"]), "misspelt 'solution'"),
    (code_cell("x = 1", ["hidden-test"]), "misspelt 'hidden-tests'"),
    (code_cell("# POINTS: 1\nx = 1", ["tests", "hidden-tests"]), "not both"),
    (nbformat.v4.new_markdown_cell("Text\n# BEGIN SOLUTION\nanswer\n# END SOLUTION"), "code cells only"),
])
def test_cell_level_errors(cell, message):
    with pytest.raises(MarkerError, match=re.escape(message)):
        editions.student_edition(notebook(cell), "nb")


def test_other_tags_are_accepted():
    nb = notebook(code_cell("x = 1", ["remove-cell", "hide-input", "raises-exception"]))
    assert editions.student_edition(nb).cells[0].source == "x = 1"


def test_an_edited_cell_must_remain_python():
    with pytest.raises(MarkerError, match="not valid Python"):
        editions.student_edition(notebook(code_cell("if True:\n# BEGIN SOLUTION\n    x = 1\n# END SOLUTION\n")))


# ---------------------------------------------------------------------------------------------------------------
# Editions of the fixture

def test_fixture_editions(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(FIXTURES / "tiny.ipynb", src)
    ((student, instructor),) = editions.write_editions(src, tmp_path / "out")
    assert student == tmp_path / "out" / "student" / "tiny.ipynb"
    s_text, i_text = student.read_text(), instructor.read_text()
    for secret in ("distinctive-solution-one", "distinctive-solution-two", "distinctive-hidden-test",
                   "distinctive-solution-markdown", "BEGIN SOLUTION", "END SOLUTION", "PROMPT:"):
        assert secret not in s_text, secret
    for kept in ("distinctive-solution-one", "distinctive-solution-two", "distinctive-hidden-test",
                 "distinctive-solution-markdown", "# multiply by two"):
        assert kept in i_text, kept
    assert "BEGIN SOLUTION" not in i_text and "PROMPT:" not in i_text
    # The stubs raise NotImplementedError("Exercise k"); the instructor edition passes all its tests.
    s_nb, i_nb = read(student), read(instructor)
    ns: dict = {}
    exec(s_nb.cells[1].source, ns)
    exec(s_nb.cells[4].source, ns)
    with pytest.raises(NotImplementedError, match=r"^Exercise 1$"):
        ns["double"](2)
    with pytest.raises(NotImplementedError, match=r"^Exercise 2$"):
        ns["Squarer"]().square(3)
    ns = {}
    for cell in i_nb.cells:
        if cell.cell_type == "code":
            exec(cell.source, ns)
    assert len(i_nb.cells) == 8 and len(s_nb.cells) == 6   # hidden tests and the model answer are dropped


@pytest.mark.parametrize("name, message", [
    ("misspelt_marker.ipynb", "'# END SOLUTON' looks like a misspelt '# END SOLUTION'"),
    ("unbalanced_marker.ipynb", "without a matching '# END SOLUTION'"),
    ("misspelt_tag.ipynb", "tag 'hidden_tests' looks like a misspelt 'hidden-tests'"),
])
def test_bad_fixture_is_an_error_and_nothing_is_written(tmp_path, capsys, name, message):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(FIXTURES / "tiny.ipynb", src / "a_good.ipynb")
    shutil.copy(FIXTURES / name, src / "b_bad.ipynb")
    with pytest.raises(MarkerError, match=re.escape(message)):
        editions.write_editions(src, tmp_path / "out")
    assert not (tmp_path / "out").exists(), "a bad source must stop the run before anything is written"
    assert editions.main([str(src), str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------
# The four assignments

def test_there_are_four_assignments():
    assert [p.name for p in ASSIGNMENTS] == ["assignment_a_ols.ipynb", "assignment_b_ridge.ipynb",
                                             "assignment_c_scaling.ipynb", "assignment_d_escape.ipynb"]


def _solution_lines(nb) -> set[str]:
    """Distinctive lines of every solution block, solution cell and hidden-test cell (absent elsewhere)."""
    secret, public = set(), set()
    for i, cell in enumerate(nb.cells):
        tags = set(cell.metadata.get("tags", []))
        lines = [ln.strip() for ln in cell.source.split("\n")]
        if tags & {"solution", "hidden-tests"}:
            secret.update(lines)
            continue
        inside = set()
        if cell.cell_type == "code":
            for b in editions.parse_solution_blocks(cell.source, f"cell {i}"):
                inside.update(range(b.begin, b.end + 1))
        for j, ln in enumerate(lines):
            (secret if j in inside else public).add(ln)
    public_text = "\n".join(public)
    return {ln for ln in secret - public if len(ln) >= 12 and ln not in public_text
            and not ln.startswith(("# BEGIN", "# END", "# PROMPT", "# POINTS"))}


@pytest.mark.parametrize("path", ASSIGNMENTS, ids=lambda p: p.stem)
def test_student_edition_leaks_no_solution(path):
    src = read(path)
    secret = _solution_lines(src)
    assert len(secret) >= 20, "too few distinctive solution lines for this check to mean anything"
    student = _text(editions.student_edition(src, path.name))
    leaked = sorted(ln for ln in secret if ln in student)
    assert not leaked, f"{path.name}: solution lines in the student edition: {leaked[:5]}"
    instructor = _text(editions.instructor_edition(src, path.name))
    missing = [ln for ln in secret if ln not in instructor]
    assert not missing, f"the instructor edition must keep every solution line, lost {missing[:5]}"


def _text(nb) -> str:
    """Every source line and every output of a notebook, decoded (not JSON-escaped)."""
    parts = [nbformat.writes(nb)]
    for cell in nb.cells:
        parts.append(cell.source)
        parts += [str(o.get("text", "")) + str(o.get("data", "")) for o in cell.get("outputs", [])]
    return "\n".join(parts)


@pytest.mark.parametrize("path", ASSIGNMENTS, ids=lambda p: p.stem)
def test_stubs_raise_numbered_not_implemented(path):
    """Every exercise is one function whose student body ends in raise NotImplementedError("Exercise k"), k = 1..K,
    in the order of the '## Exercise k' headings."""
    src = read(path)
    student = editions.student_edition(src, path.name)
    numbers, functions = [], []
    for cell in student.cells:
        if cell.cell_type != "code" or not STUB.search(cell.source):
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.FunctionDef) and STUB.search(ast.get_source_segment(cell.source, node)):
                last = node.body[-1]
                assert isinstance(last, ast.Raise), f"{node.name}: the stub must end in the raise"
                numbers.append(int(STUB.search(ast.get_source_segment(cell.source, last)).group(1)))
                functions.append(node.name)
    headings = [int(k) for k in re.findall(r"^## Exercise (\d+)", "\n".join(
        c.source for c in src.cells if c.cell_type == "markdown"), flags=re.M)]
    assert numbers == list(range(1, len(numbers) + 1)) == headings, (numbers, headings)
    assert len(numbers) >= 4
    assert len(set(functions)) == len(functions), "one function per exercise"


@pytest.mark.parametrize("path", ASSIGNMENTS, ids=lambda p: p.stem)
def test_assignment_hygiene(path):
    """Stored without outputs, code lines <= 79 characters (sources and both editions), and the template: time,
    learning goals, a visible seed, tests and hidden tests with points, reflection questions."""
    src = read(path)
    for nb in (src, editions.student_edition(src), editions.instructor_edition(src)):
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"cell {i} has outputs"
                long = [ln for ln in cell.source.split("\n") if len(ln) > 79]
                assert not long, f"{path.name} cell {i}: lines over 79 characters: {long}"
    md = "\n".join(c.source for c in src.cells if c.cell_type == "markdown")
    code = "\n".join(c.source for c in src.cells if c.cell_type == "code")
    assert re.search(r"\*\*Time:\*\* 60 to 90 minutes", md)
    for heading in ("## Learning goals", "## Reflection", "## How to work"):
        assert heading in md, heading
    assert re.search(r"^SEED = \d+", code, flags=re.M), "a visible seed"
    tags = [set(c.metadata.get("tags", [])) for c in src.cells]
    assert sum("tests" in t for t in tags) >= 4 and sum("hidden-tests" in t for t in tags) >= 2
    assert src.cells[1].source.startswith("# On Colab or Binder: install the book's library")


@pytest.mark.parametrize("path", ASSIGNMENTS, ids=lambda p: p.stem)
def test_committed_student_edition_is_current(path):
    """book/assignments/student/ (linked from the appendix) is exactly what `make assignments` writes."""
    committed = ASSIGNMENT_DIR / "student" / path.name
    assert committed.exists(), f"{committed} is missing: run `make assignments` and commit it"
    fresh = nbformat.writes(editions.student_edition(read(path), path.name))
    assert committed.read_text() == fresh + "\n" or committed.read_text() == fresh, \
        f"{committed.name} is out of date: run `make assignments` and commit book/assignments/student/"


def test_appendix_links_match_the_config():
    """Each assignment has a download link to its committed student file and Binder/Colab links derived from the
    repository setting in _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url, branch = config["repository"]["url"].rstrip("/"), config["repository"]["branch"]
    repo = url.removeprefix("https://github.com/")
    binder = config["launch_buttons"]["binderhub_url"].rstrip("/")
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    page = (ROOT / "book" / "appendix_assignments.md").read_text()
    assert "book/appendix_assignments" in (ROOT / "_toc.yml").read_text()
    for path in ASSIGNMENTS:
        rel = f"book/assignments/student/{path.name}"
        assert f"{{download}}`assignments/student/{path.name}`" in page or \
            f"<assignments/student/{path.name}>" in page, f"no download link to {rel}"
        assert f"{binder}/v2/gh/{repo}/{branch}?urlpath=lab/tree/{rel}" in page, f"no Binder link to {rel}"
        assert f"{colab}/github/{repo}/blob/{branch}/{rel}" in page, f"no Colab link to {rel}"
    links = re.findall(r"https?://[^\s)>]+", page)
    assert all(link.startswith((binder, colab, url)) for link in links), links


# ---------------------------------------------------------------------------------------------------------------
# The student book: solutions stripped from pages

def test_book_notebook_solutions_are_stripped():
    out = student_book.strip_book_solutions(read(FIXTURES / "book_page.ipynb"), "book_page")
    text = nbformat.writes(out)
    for gone in ("Gated solution prose", "gated_solution_code", "More gated prose", "Plain solution prose",
                 "plain_solution_code", "Colon solution", "solution-start", "solution-end", "{solution}"):
        assert gone not in text, gone
    for kept in ("Intro text stays.", "x = 1", "Exercise text one stays.", "Text after the gated solution stays.",
                 "Exercise text two stays.", "Summary stays."):
        assert kept in text, kept
    assert [c.cell_type for c in out.cells] == ["markdown", "code", "markdown", "markdown", "markdown"]


def test_book_markdown_solutions_are_stripped():
    text = student_book.strip_markdown_solutions((FIXTURES / "book_page.md").read_text())
    assert "Gated markdown solution" not in text and "hidden = 1" not in text and "Plain markdown" not in text
    assert "Exercise text three stays." in text and "The end stays." in text


@pytest.mark.parametrize("text, message", [
    ((FIXTURES / "unbalanced_gated.md").read_text(), "solution-start without a solution-end"),
    ("```{solution-end}\n```\n", "solution-end without a solution-start"),
    ("```{solution-start} a\n```\nx\n```{solution-start} b\n```\n```{solution-end}\n```\n", "inside the gated"),
    ("````{solution} a\nnever closed\n```\n", "never closed"),
])
def test_book_stripper_errors(text, message):
    with pytest.raises(MarkerError, match=re.escape(message)):
        student_book.strip_markdown_solutions(text, "page")


def test_every_book_page_strips_cleanly():
    """Every notebook and page of the book parses (balanced gated solutions) and loses all its solutions."""
    pages = [p for p in sorted((ROOT / "book").rglob("*")) if p.suffix in (".ipynb", ".md")
             and ASSIGNMENT_DIR not in p.parents and ".ipynb_checkpoints" not in p.parts]
    stripped = 0
    for p in pages:
        if p.suffix == ".ipynb":
            before, after = nbformat.writes(read(p)), nbformat.writes(student_book.strip_book_solutions(read(p), p.name))
        else:
            before, after = p.read_text(), student_book.strip_markdown_solutions(p.read_text(), p.name)
        assert not re.search(r"\{solution(-start|-end)?\}", after), p.name
        stripped += before != after
    assert stripped >= 4, "the chapters have solutions to strip"


def test_student_book_tree(tmp_path):
    """The student book writes config (hide_solutions, student title), toc, bibliography, stripped pages."""
    assert student_book.main([str(ROOT), str(tmp_path / "src"), "--no-reuse"]) == 0
    config = yaml.safe_load((tmp_path / "src" / "_config.yml").read_text())
    assert config["sphinx"]["config"]["hide_solutions"] is True
    assert "student edition" in config["title"]
    assert (tmp_path / "src" / "_toc.yml").read_text() == (ROOT / "_toc.yml").read_text()
    assert (tmp_path / "src" / "references.bib").exists()
    for p in (tmp_path / "src" / "book").glob("*.ipynb"):
        assert not re.search(r"\{solution", p.read_text()), p.name
    assert (tmp_path / "src" / "book" / "assignments" / "student" / "assignment_a_ols.ipynb").exists()
