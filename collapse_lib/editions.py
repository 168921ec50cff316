"""Student and instructor editions from one source: the course edition of the book (needs only ``nbformat``).

**Assignments.** An assignment source is a notebook whose answers live inside functions, between markers in a
code cell::

    def ols_fit(X, y):
        # BEGIN SOLUTION
        # PROMPT: return the least-squares weights, shape (d,)
        return np.linalg.lstsq(X, y, rcond=None)[0]
        # END SOLUTION

The student edition replaces each marked block by a stub at the marker's indentation (the ``# PROMPT:`` lines become
comments, then ``raise NotImplementedError("Exercise k")``, ``k`` counting the blocks of the notebook from 1); the
instructor edition keeps the solution and drops the marker lines. Cell tags:

``solution``
    the whole cell is removed from the student edition (e.g. model answers to the reflection questions);
``tests``
    visible checks, kept in both editions; the cell carries one ``# POINTS: k`` line;
``hidden-tests``
    checks that grade with other seeds and parameters: instructor edition only; one ``# POINTS: k`` line.

Nothing is guessed: an unbalanced, nested or misspelt marker (``# BEGIN SOLUTON``, ``#END SOLUTION``,
``# PROMPT`` without the colon), a marker outside a code cell, a misspelt tag (``hidden_tests``) or a malformed
``# POINTS:`` line raises :class:`MarkerError` naming the notebook, the cell and the line; nothing is written.
Both editions are stored without outputs. ``python -m collapse_lib.editions SRC_DIR OUT_DIR`` writes
``OUT_DIR/student/*.ipynb`` and ``OUT_DIR/instructor/*.ipynb`` for every ``SRC_DIR/*.ipynb``.

The book without its exercises' solutions (the student book) is written by :mod:`collapse_lib.student_book`.
"""
from __future__ import annotations

import argparse
import ast
import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["MarkerError", "SolutionBlock", "parse_solution_blocks", "cell_points", "student_edition",
           "instructor_edition", "write_editions"]

BEGIN, END, PROMPT, POINTS = "# BEGIN SOLUTION", "# END SOLUTION", "# PROMPT:", "# POINTS:"
SOLUTION_TAG, TESTS_TAG, HIDDEN_TAG = "solution", "tests", "hidden-tests"
_OUR_TAGS = (SOLUTION_TAG, TESTS_TAG, HIDDEN_TAG)
# Tags of Jupyter Book / nbval that may legitimately look a little like ours.
_OTHER_TAGS = {"remove-cell", "remove-input", "remove-output", "hide-cell", "hide-input", "hide-output",
               "raises-exception", "skip-execution", "full-width", "margin", "output_scroll", "thebe-init",
               "nbval-ignore-output", "nbval-skip", "nbval-raises-exception"}


class MarkerError(ValueError):
    """A solution marker, tag or ``# POINTS:`` line that is unbalanced, misspelt or misplaced."""


@dataclass(frozen=True)
class SolutionBlock:
    """One ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block of a code cell (0-based line numbers, inclusive)."""

    begin: int
    end: int
    indent: str
    prompts: tuple[str, ...]
    body: tuple[str, ...]


def _words(line: str) -> str:
    """Upper-case letters of a comment line, without the ``#``: the form misspellings are compared in."""
    return re.sub(r"[^A-Z]", "", line.strip().lstrip("#").upper())


def _looks_like(line: str, canonical: str) -> bool:
    """True if the comment ``line`` is probably a misspelling of ``canonical`` (letters compared, typos allowed)."""
    got, want = _words(line), _words(canonical)
    return bool(got) and (got == want or difflib.SequenceMatcher(None, got, want).ratio() >= 0.8)


def _classify(line: str, where: str) -> str | None:
    """``"begin"``, ``"end"``, ``"prompt"``, ``"points"`` for an exact marker line, None for ordinary code.

    Raises MarkerError for a comment line that looks like a marker but is not spelt exactly like one.
    """
    s = line.strip()
    if not s.startswith("#"):
        return None
    if s == BEGIN:
        return "begin"
    if s == END:
        return "end"
    if s.startswith(PROMPT):
        return "prompt"
    if s.startswith(POINTS):
        return "points"
    near = [c for c in (BEGIN, END) if _looks_like(s, c)]
    if near:
        canonical = max(near, key=lambda c: difflib.SequenceMatcher(None, _words(s), _words(c)).ratio())
        raise MarkerError(f"{where}: {s!r} looks like a misspelt {canonical!r} (write it exactly like that, "
                          "on a line of its own)")
    m = re.match(r"#\s*([A-Za-z]+)\s*(:?)", s)
    if m and (m.group(2) or m.group(1).isupper()):   # "# Word:" or "# WORD": meant as a marker
        for canonical in (PROMPT, POINTS):
            if difflib.SequenceMatcher(None, m.group(1).upper(), _words(canonical)).ratio() >= 0.8:
                raise MarkerError(f"{where}: {s!r} looks like a misspelt {canonical!r} line (write "
                                  f"'{canonical} ...')")
    return None


def parse_solution_blocks(source: str, where: str = "cell") -> list[SolutionBlock]:
    """Find the solution blocks of one code cell.

    Parameters
    ----------
    source : str
        The cell's source.
    where : str
        Names the cell in error messages (notebook and cell index).

    Returns
    -------
    list of SolutionBlock
        In order of appearance.

    Raises
    ------
    MarkerError
        Unbalanced, nested or misspelt markers, a ``# PROMPT:`` line outside a block, an ``# END SOLUTION`` at another
        indentation than its ``# BEGIN SOLUTION``, or a block line indented less than its markers.
    """
    lines = source.split("\n")
    blocks, open_at = [], None
    for i, line in enumerate(lines):
        kind = _classify(line, f"{where}, line {i + 1}")
        if kind == "begin":
            if open_at is not None:
                raise MarkerError(f"{where}, line {i + 1}: {BEGIN!r} inside the block opened at line {open_at + 1} "
                                  f"(close it with {END!r} first)")
            open_at = i
        elif kind == "end":
            if open_at is None:
                raise MarkerError(f"{where}, line {i + 1}: {END!r} without a matching {BEGIN!r}")
            indent = re.match(r"\s*", lines[open_at]).group(0)
            if re.match(r"\s*", line).group(0) != indent:
                raise MarkerError(f"{where}, line {i + 1}: {END!r} is not indented like its {BEGIN!r} "
                                  f"(line {open_at + 1})")
            inner = lines[open_at + 1:i]
            prompts = tuple(ln.strip()[len(PROMPT):].strip() for ln in inner if ln.strip().startswith(PROMPT))
            body = tuple(ln for ln in inner if not ln.strip().startswith(PROMPT))
            short = [k for k, ln in enumerate(inner) if ln.strip() and not ln.startswith(indent)]
            if short:
                raise MarkerError(f"{where}, line {open_at + 2 + short[0]}: a line inside the solution block is "
                                  "indented less than its markers")
            blocks.append(SolutionBlock(open_at, i, indent, prompts, body))
            open_at = None
        elif kind == "prompt" and open_at is None:
            raise MarkerError(f"{where}, line {i + 1}: {PROMPT!r} outside a solution block")
    if open_at is not None:
        raise MarkerError(f"{where}, line {open_at + 1}: {BEGIN!r} without a matching {END!r}")
    return blocks


def cell_points(source: str, where: str = "cell") -> int | None:
    """The points of a test cell, from its one ``# POINTS: k`` line (``k`` a positive integer); None if absent."""
    found = []
    for i, line in enumerate(source.split("\n")):
        if _classify(line, f"{where}, line {i + 1}") == "points":
            value = line.strip()[len(POINTS):].strip()
            if not re.fullmatch(r"[1-9][0-9]*", value):
                raise MarkerError(f"{where}, line {i + 1}: {POINTS!r} must be followed by a positive integer, "
                                  f"got {value!r}")
            found.append(int(value))
    if len(found) > 1:
        raise MarkerError(f"{where}: {len(found)} {POINTS!r} lines; a test cell has exactly one")
    return found[0] if found else None


def _tags(cell, where: str) -> set[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise MarkerError(f"{where}: metadata tags must be a list of strings, got {tags!r}")
    for tag in tags:
        if tag in _OUR_TAGS or tag in _OTHER_TAGS:
            continue
        norm = re.sub(r"[^a-z]", "", tag.lower())
        for ours in _OUR_TAGS:
            if difflib.SequenceMatcher(None, norm, re.sub(r"[^a-z]", "", ours)).ratio() >= 0.8:
                raise MarkerError(f"{where}: tag {tag!r} looks like a misspelt {ours!r}")
    if TESTS_TAG in tags and HIDDEN_TAG in tags:
        raise MarkerError(f"{where}: a cell is either {TESTS_TAG!r} or {HIDDEN_TAG!r}, not both")
    if SOLUTION_TAG in tags and (TESTS_TAG in tags or HIDDEN_TAG in tags):
        raise MarkerError(f"{where}: a {SOLUTION_TAG!r} cell cannot also be a test cell")
    return set(tags)


def _check_python(source: str, where: str) -> None:
    """The transformed cell must still be Python (IPython magics and shell lines are masked)."""
    masked = "\n".join(re.sub(r"^(\s*)[%!].*$", r"\1pass", ln) for ln in source.split("\n"))
    try:
        ast.parse(masked)
    except SyntaxError as exc:
        raise MarkerError(f"{where}: the edited cell is not valid Python (line {exc.lineno}: {exc.msg}); "
                          "check the solution markers") from None


def _edit_code(source: str, blocks: list[SolutionBlock], first: int, student: bool) -> str:
    """Replace each block by a stub (student) or by its solution without the marker lines (instructor)."""
    lines = source.split("\n")
    out, pos = [], 0
    for k, b in enumerate(blocks):
        out += lines[pos:b.begin]
        comments = [f"{b.indent}# {p}" if p else f"{b.indent}#" for p in b.prompts]
        if student:
            out += comments + [f"{b.indent}# YOUR CODE HERE",
                               f'{b.indent}raise NotImplementedError("Exercise {first + k}")']
        else:
            out += comments + list(b.body)
        pos = b.end + 1
    out += lines[pos:]
    return "\n".join(out)


def _scan(nb, name: str):
    """Validate a source notebook; return per-cell (tags, blocks, points) and the number of exercises."""
    info, count = [], 0
    for i, cell in enumerate(nb.cells):
        where = f"{name}, cell {i}"
        tags = _tags(cell, where)
        if cell.cell_type != "code":
            for j, line in enumerate(cell.source.split("\n")):
                s = line.strip()
                if any(m in s.upper() for m in ("BEGIN SOLUTION", "END SOLUTION")) or \
                        (s.startswith("#") and (_looks_like(s, BEGIN) or _looks_like(s, END))):
                    raise MarkerError(f"{where}, line {j + 1}: solution markers work in code cells only; tag a "
                                      f"{cell.cell_type} cell {SOLUTION_TAG!r} to remove it from the student edition")
            if tags & {TESTS_TAG, HIDDEN_TAG}:
                raise MarkerError(f"{where}: only code cells can be test cells")
            info.append((tags, [], None))
            continue
        blocks = parse_solution_blocks(cell.source, where)
        points = cell_points(cell.source, where)
        is_test = bool(tags & {TESTS_TAG, HIDDEN_TAG})
        if is_test and points is None:
            raise MarkerError(f"{where}: a test cell needs one '{POINTS} k' line")
        if points is not None and not is_test:
            raise MarkerError(f"{where}: a cell with a {POINTS!r} line must be tagged {TESTS_TAG!r} or "
                              f"{HIDDEN_TAG!r}")
        if blocks and (is_test or SOLUTION_TAG in tags):
            raise MarkerError(f"{where}: solution markers in a {'test' if is_test else repr(SOLUTION_TAG)} cell")
        info.append((tags, blocks, points))
        count += len(blocks)
    return info, count


def _clean(cell):
    cell = nbformat.from_dict(dict(cell))
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def _editions(nb, name: str):
    info, _ = _scan(nb, name)
    student, instructor = nbformat.from_dict(dict(nb)), nbformat.from_dict(dict(nb))
    student.cells, instructor.cells = [], []
    k = 1
    for i, (cell, (tags, blocks, _)) in enumerate(zip(nb.cells, info)):
        where = f"{name}, cell {i}"
        ins, stu = _clean(cell), _clean(cell)
        if blocks:
            ins.source = _edit_code(cell.source, blocks, k, student=False)
            stu.source = _edit_code(cell.source, blocks, k, student=True)
            _check_python(ins.source, where + " (instructor edition)")
            _check_python(stu.source, where + " (student edition)")
            k += len(blocks)
        instructor.cells.append(ins)
        if not tags & {SOLUTION_TAG, HIDDEN_TAG}:
            student.cells.append(stu)
    _assert_no_leak(student, name)
    return student, instructor


def _assert_no_leak(student, name: str) -> None:
    """Post-condition of the student edition: no marker, no solution or hidden cell, no output survived."""
    for i, cell in enumerate(student.cells):
        tags = set(cell.get("metadata", {}).get("tags", []))
        bad = ("BEGIN SOLUTION" in cell.source or "END SOLUTION" in cell.source or PROMPT in cell.source
               or tags & {SOLUTION_TAG, HIDDEN_TAG} or cell.get("outputs"))
        if bad:
            raise RuntimeError(f"{name}, student cell {i}: solution content survived; please report this as a bug")


def student_edition(nb, name: str = "notebook"):
    """The student edition of an assignment notebook (a new notebook: stubs, no solutions, no hidden tests)."""
    return _editions(nb, name)[0]


def instructor_edition(nb, name: str = "notebook"):
    """The instructor edition of an assignment notebook (solutions and hidden tests, without marker lines)."""
    return _editions(nb, name)[1]


def write_editions(src_dir, out_dir) -> list[tuple[Path, Path]]:
    """Write ``out_dir/student/X.ipynb`` and ``out_dir/instructor/X.ipynb`` for every ``src_dir/X.ipynb``.

    Every source is validated before anything is written. Returns the (student, instructor) paths.
    """
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    sources = sorted(src_dir.glob("*.ipynb"))
    if not sources:
        raise MarkerError(f"no notebooks in {src_dir}")
    made = {p.name: _editions(nbformat.read(p, as_version=4), p.name) for p in sources}
    paths = []
    for name, (student, instructor) in made.items():
        pair = (out_dir / "student" / name, out_dir / "instructor" / name)
        for path, nb in zip(pair, (student, instructor)):
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
        paths.append(pair)
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m collapse_lib.editions",
        description="Write the student and instructor editions of the assignments in SRC_DIR to OUT_DIR.")
    parser.add_argument("src", help="assignment sources (a folder of .ipynb)")
    parser.add_argument("out", help="output folder (student/ and instructor/ are written in it)")
    args = parser.parse_args(argv)
    try:
        for student, instructor in write_editions(args.src, args.out):
            print(f"{student}  {instructor}")
    except MarkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
