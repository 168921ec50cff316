"""The student edition of the book: every exercise's solution removed (needs only ``nbformat`` and ``yaml``).

:func:`strip_book_solutions` removes every solution of the book's exercises from a notebook, and
:func:`strip_markdown_solutions` from a MyST page: gated solutions (``{solution-start}`` ... ``{solution-end}``, with
the code cells between them) and plain ``{solution}`` directives. An unbalanced gate or an unclosed fence raises
:class:`~collapse_lib.editions.MarkerError` naming the page, the cell and the line.
``python -m collapse_lib.student_book ROOT OUT_SRC`` writes a stripped copy of the book (config with
``hide_solutions: true``, table of contents, bibliography, ``book/``) to ``OUT_SRC``, ready for ``jupyter-book build``.
Notebooks already executed by the main build (``ROOT/_build/jupyter_execute``) are reused, with their outputs, when
they are current; the others are executed by the student build.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

import nbformat

from .editions import MarkerError

__all__ = ["strip_book_solutions", "strip_markdown_solutions", "write_student_book"]


_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z-]+)\}(?P<rest>.*)$")


def _closing(lines: list[str], start: int, fence: str, where: str) -> int:
    """Index of the line closing the fence opened at ``start`` (same character, at least as long)."""
    pattern = re.compile(r"^\s*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
    for j in range(start + 1, len(lines)):
        if pattern.match(lines[j]):
            return j
    raise MarkerError(f"{where}, line {start + 1}: directive fence {fence!r} is never closed")


def _strip_text(lines: list[str], state: dict, where: str) -> list[str]:
    """Drop solution content from markdown lines; ``state["open"]`` carries a gated solution across cells."""
    out, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        name = m.group("name") if m else None
        if state["open"] is not None:
            if name == "solution-start":
                raise MarkerError(f"{where}, line {i + 1}: solution-start inside the gated solution opened at "
                                  f"{state['open']}")
            if name == "solution-end":
                state["open"] = None
                i = _closing(lines, i, m.group("fence"), where) + 1
            else:
                i += 1
            continue
        if name == "solution-start":
            state["open"] = f"{where}, line {i + 1}"
            i = _closing(lines, i, m.group("fence"), where) + 1
        elif name == "solution-end":
            raise MarkerError(f"{where}, line {i + 1}: solution-end without a solution-start")
        elif name == "solution":
            i = _closing(lines, i, m.group("fence"), where) + 1
        else:
            out.append(lines[i])
            i += 1
    return out


def strip_markdown_solutions(text: str, where: str = "page") -> str:
    """Remove every solution (gated or plain) from a MyST markdown page."""
    state = {"open": None}
    out = _strip_text(text.split("\n"), state, where)
    if state["open"] is not None:
        raise MarkerError(f"{state['open']}: solution-start without a solution-end")
    return "\n".join(out)


def strip_book_solutions(nb, name: str = "notebook"):
    """A copy of a book notebook without the solutions of its exercises.

    Gated solutions (``{solution-start}`` ... ``{solution-end}``) are removed with every cell between them, and
    with the part of the first and last markdown cell they cover; plain ``{solution}`` directives are cut out of
    their cells. Markdown cells left empty are dropped. Outputs of the remaining cells are kept.
    """
    out = nbformat.from_dict(dict(nb))
    out.cells = []
    state = {"open": None}
    for i, cell in enumerate(nb.cells):
        where = f"{name}, cell {i}"
        if cell.cell_type != "markdown":
            if state["open"] is None:
                out.cells.append(cell)
            continue
        kept = _strip_text(cell.source.split("\n"), state, where)
        text = "\n".join(kept).strip("\n")
        if text.strip():
            new = nbformat.from_dict(dict(cell))
            new.source = text
            out.cells.append(new)
    if state["open"] is not None:
        raise MarkerError(f"{state['open']}: solution-start without a solution-end")
    return out


def _library_mtime(root: Path) -> float:
    return max((p.stat().st_mtime for p in (root / "collapse_lib").rglob("*.py")), default=0.0)


def _reusable(src: Path, executed: Path, newest_code: float) -> bool:
    """An executed copy is reusable when it is newer than its source and the library and has the same cells."""
    if not executed.exists() or executed.stat().st_mtime < max(src.stat().st_mtime, newest_code):
        return False
    a, b = nbformat.read(src, as_version=4), nbformat.read(executed, as_version=4)
    same = len(a.cells) == len(b.cells) and all(
        x.cell_type == y.cell_type and x.source == y.source for x, y in zip(a.cells, b.cells))
    errors = any(o.get("output_type") == "error" for c in b.cells for o in c.get("outputs", []))
    return same and not errors


_STUDENT_NOTE = """

```{note}
This is the **student edition** of the book: the solutions of the exercises are left out. Notebooks whose outputs
were taken from the main build of the same sources are not listed in the table above; they were not executed again.
```
"""


def write_student_book(root, out_src, reuse: bool = True) -> dict:
    """Write a copy of the book without solutions to ``out_src``, ready for ``jupyter-book build out_src``.

    Parameters
    ----------
    root : path
        Repository root (``_config.yml``, ``_toc.yml``, ``references.bib``, ``book/``).
    out_src : path
        Destination; replaced if it exists.
    reuse : bool
        Reuse the executed notebooks of the main build (``root/_build/jupyter_execute``) when they are newer than
        their source and than every module of ``collapse_lib`` and have the same cells; they are then excluded from
        execution in the student build.

    Returns
    -------
    dict
        ``{"reused": [...], "executed": [...]}``: the notebooks taken from the main build and those left to execute.
    """
    import yaml

    root, out_src = Path(root).resolve(), Path(out_src).resolve()
    if out_src.exists():
        shutil.rmtree(out_src)
    (out_src / "book").mkdir(parents=True)
    for name in ("_toc.yml", "references.bib"):
        shutil.copy2(root / name, out_src / name)
    executed_dir = root / "_build" / "jupyter_execute"
    newest_code = _library_mtime(root)
    reused, executed = [], []
    for src in sorted((root / "book").rglob("*")):
        rel = src.relative_to(root)
        if src.is_dir() or ".ipynb_checkpoints" in rel.parts:
            continue
        dest = out_src / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        in_book = rel.parts[:2] != ("book", "assignments")   # assignment sources are not book pages
        if src.suffix == ".ipynb" and in_book:
            ex = executed_dir / rel
            use = reuse and _reusable(src, ex, newest_code)
            nb = nbformat.read(ex if use else src, as_version=4)
            nbformat.write(strip_book_solutions(nb, str(rel)), dest)
            (reused if use else executed).append(rel.as_posix())
        elif src.suffix == ".md" and in_book:
            dest.write_text(strip_markdown_solutions(src.read_text(), str(rel)))
        else:
            shutil.copy2(src, dest)
    stats = out_src / "book" / "appendix_execution_statistics.md"
    if reused and stats.exists():
        stats.write_text(stats.read_text().rstrip("\n") + "\n" + _STUDENT_NOTE)
    config = yaml.safe_load((root / "_config.yml").read_text())
    config["title"] = f"{config.get('title', 'Book')} (student edition)"
    config.setdefault("execute", {})["exclude_patterns"] = list(config["execute"].get("exclude_patterns") or []) + reused
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
    (out_src / "_config.yml").write_text("# Generated by collapse_lib.student_book: the student edition.\n"
                                         + yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=120))
    return {"reused": reused, "executed": executed}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m collapse_lib.student_book",
                                     description="Write a copy of the book without solutions (ROOT OUT_SRC).")
    parser.add_argument("src", help="the repository root (_config.yml, _toc.yml, references.bib, book/)")
    parser.add_argument("out", help="output folder for the student book's sources (replaced if it exists)")
    parser.add_argument("--no-reuse", action="store_true",
                        help="execute every notebook again instead of reusing the main build's outputs")
    args = parser.parse_args(argv)
    try:
        done = write_student_book(args.src, args.out, reuse=not args.no_reuse)
    except MarkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"student book source in {args.out}: {len(done['reused'])} notebooks reused from the main build, "
          f"{len(done['executed'])} not reused (executed if they are in the table of contents)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
