"""Checks for the course assignments, and a grader that scores a notebook.

**Checks** (used in the test cells of the assignments). Each compares a student's answer with the library's theory
or with a property it must have (a shape, a sign, monotonicity, a residual of the defining equation, agreement with
Monte Carlo in standard errors), and when it fails it raises :class:`CheckFailure` with a message that says what is
wrong and gives a hint, never the expected value::

    with grading.exercise(2, "kappa"):
        k = kappa(eigs, lam=0.1, T=200)
        grading.check_residual(k - 0.1 - k * df1(k) / 200, 1e-8, "kappa - lam - kappa df1(kappa)/T")

Statistical checks bound ``|mean - theory| <= z se + rel |theory|`` with ``z = 4``: a correct answer fails by chance
with probability below 1e-4 whatever the seed, so the hidden checks can use other seeds.

**Grader.** ``python -m collapse_lib.grading NOTEBOOK`` executes a notebook (``nbclient``) and scores its test cells
(cells tagged ``tests`` or ``hidden-tests``, each with a ``# POINTS: k`` line: all points if the cell runs without
error, none otherwise), printing one line per test cell and ``SCORE a/b``. With ``--instructor INSTRUCTOR.ipynb`` the
test cells of the instructor edition (visible and hidden) replace those of the submission before it runs.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["CheckFailure", "exercise", "check", "check_array", "check_close", "check_residual", "check_mc",
           "check_monotone", "TestCellResult", "GradeReport", "merge_tests", "grade_notebook"]

Z = 4.0
_active: list[list] = []   # stack of [k, name, checks passed] for the enclosing exercise() blocks


class CheckFailure(AssertionError):
    """A check of an assignment failed: the message says what is wrong and how to look for the mistake."""


def _passed():
    if _active:
        _active[-1][2] += 1


def _fail(what: str, problem: str, hint: str | None):
    raise CheckFailure(f"{what}: {problem}" + (f"\n  Hint: {hint}" if hint else ""))


@contextlib.contextmanager
def exercise(k: int, name: str):
    """Group the checks of exercise ``k`` (function ``name``): print a line on success, label a failure.

    ``NotImplementedError`` (an exercise not attempted yet) passes through unchanged; any other exception raised by
    the student's code becomes a :class:`CheckFailure` that names the exercise (the original is chained).
    """
    _active.append([k, name, 0])
    try:
        yield
    except NotImplementedError:
        raise
    except CheckFailure as exc:
        raise CheckFailure(f"Exercise {k} ({name}) - {exc}") from None
    except Exception as exc:
        raise CheckFailure(f"Exercise {k} ({name}) - your code raised {type(exc).__name__}: {exc}") from exc
    finally:
        done = _active.pop()
    print(f"Exercise {k} ({name}): all {done[2]} check{'' if done[2] == 1 else 's'} passed.")


def _require(condition, what: str, problem: str, hint: str | None) -> None:
    if not bool(condition):
        _fail(what, problem, hint)


def check(condition, what: str, problem: str, hint: str | None = None) -> None:
    """Fail with ``what: problem`` unless ``condition`` is true."""
    _require(condition, what, problem, hint)
    _passed()


def _as_array(value, what: str, shape: tuple | None, hint: str | None) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        _fail(what, f"expected numbers, got {type(value).__name__}", hint)
    if shape is not None:
        ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        _require(ok, what, f"expected shape {want}, got {arr.shape}", hint)
    _require(np.all(np.isfinite(arr)), what, "contains nan or inf", hint)
    return arr


def check_array(value, what: str, shape: tuple | None = None, hint: str | None = None) -> np.ndarray:
    """``value`` must convert to a finite float array (of ``shape`` if given, ``None`` entries match any size)."""
    arr = _as_array(value, what, shape, hint)
    _passed()
    return arr


def _how_far(rel: float) -> str:
    if rel < 0.01:
        return "slightly (by less than 1%)"
    if rel < 0.1:
        return "clearly (by 1% to 10%)"
    return "far (by more than 10%)"


def check_close(value, target, what: str, rtol: float = 1e-6, atol: float = 0.0, hint: str | None = None,
                mistakes: dict | None = None) -> None:
    """``value`` must equal ``target`` within ``atol + rtol |target|`` (elementwise).

    The message says whether the value is too large or too small and roughly by how much, never the target.
    ``mistakes`` maps a description of a common mistake to the value it would give; a value matching one of them is
    named ("it looks like ...").
    """
    v, t = np.asarray(value, dtype=float), np.asarray(target, dtype=float)
    _require(v.shape == t.shape, what, f"expected shape {t.shape}, got {v.shape}", hint)
    _require(np.all(np.isfinite(v)), what, "contains nan or inf", hint)
    bad = np.abs(v - t) > atol + rtol * np.abs(t)
    if not np.any(bad):
        _passed()
        return
    for name, wrong in (mistakes or {}).items():
        w = np.asarray(wrong, dtype=float)
        if w.shape == v.shape and np.all(np.abs(v - w) <= atol + rtol * np.abs(w)):
            _fail(what, f"not right: it looks like {name}", hint)
    i = tuple(np.argwhere(bad)[0]) if v.ndim else ()
    where = f" at index {i[0] if len(i) == 1 else i}" if i else ""
    rel = float(abs(v[i] - t[i]) / max(abs(t[i]), 1e-300))
    _fail(what, f"too {'large' if v[i] > t[i] else 'small'}{where}, {_how_far(rel)}", hint)


def check_residual(residual, tol: float, what: str, hint: str | None = None) -> None:
    """The residual of a defining equation must be at most ``tol`` in absolute value (it is printed if not)."""
    r = np.max(np.abs(np.asarray(residual, dtype=float)))
    _require(np.isfinite(r), what, "the residual is nan or inf", hint)
    check(r <= tol, what, f"the equation is not satisfied: residual {r:.3g} (at most {tol:g} allowed)", hint)


def check_mc(samples, target, what: str, z: float = Z, rel: float = 0.0, hint: str | None = None) -> None:
    """A Monte-Carlo mean must agree with a prediction: ``|mean - target| <= z se + rel |target|``.

    ``samples`` has shape ``(runs,)`` or ``(runs, K)`` (then each column is checked). The message gives the gap in
    standard errors (what a reader of a Monte-Carlo result should look at), not the prediction.
    """
    x = _as_array(samples, what, None, hint)
    _require(x.ndim in (1, 2) and x.shape[0] >= 10, what, f"expected one value per run (at least 10 runs), got shape "
          f"{x.shape}", hint)
    t = np.broadcast_to(np.asarray(target, dtype=float), x.shape[1:])
    mean, se = x.mean(axis=0), x.std(axis=0, ddof=1) / np.sqrt(x.shape[0])
    _require(np.all(se > 0), what, "all runs give the same value: are the runs independent (one rng, used once)?", hint)
    gap = np.abs(mean - t)
    bad = gap > z * se + rel * np.abs(t)
    if np.any(bad):
        j = int(np.flatnonzero(np.atleast_1d(bad))[0])
        m, s, tt = (np.atleast_1d(a)[j] for a in (mean, se, t))
        col = f" (column {j})" if x.ndim == 2 else ""
        tol = f"{z:g} standard errors" + (f" plus {100 * rel:g}%" if rel else "")
        _fail(what, f"the Monte-Carlo mean{col} is {abs(m - tt) / s:.1f} standard errors "
              f"{'above' if m > tt else 'below'} the prediction (chance allows about {tol})", hint)
    _passed()


def check_monotone(values, what: str, increasing: bool = True, strict: bool = False, hint: str | None = None):
    """``values`` (1-D) must be non-decreasing (``increasing``) or non-increasing; ``strict`` forbids ties."""
    x = _as_array(values, what, (None,), hint)
    step = np.diff(x) if increasing else -np.diff(x)
    ok = step > 0 if strict else step >= 0
    if not np.all(ok):
        j = int(np.flatnonzero(~ok)[0])
        _fail(what, f"should {'increase' if increasing else 'decrease'}{' strictly' if strict else ''}, but entry "
              f"{j + 1} does not", hint)
    _passed()


# ----------------------------------------------------------------------------------------------------------------
# The grader.

TEST_TAGS = ("tests", "hidden-tests")


@dataclass
class TestCellResult:
    """Score of one test cell."""

    index: int
    tag: str
    points: int
    passed: bool
    error: str = ""


TestCellResult.__test__ = False   # not a pytest test class


@dataclass
class GradeReport:
    """The result of :func:`grade_notebook`."""

    tests: list[TestCellResult]
    other_errors: list[tuple[int, str]] = field(default_factory=list)   # (cell index, error) outside test cells
    notebook: object = None                                              # the executed notebook

    @property
    def score(self) -> int:
        return sum(t.points for t in self.tests if t.passed)

    @property
    def total(self) -> int:
        return sum(t.points for t in self.tests)


def _test_tag(cell) -> str | None:
    tags = cell.get("metadata", {}).get("tags", [])
    return next((t for t in TEST_TAGS if t in tags), None)


def merge_tests(submission, instructor):
    """The submission with every test cell replaced by the instructor edition's (visible and hidden).

    Test cells of the submission (by tag, or by the id of an instructor test cell) are dropped; each instructor test
    cell is inserted after the nearest preceding instructor cell whose id is in the submission (at the end if none).
    """
    import nbformat

    test_ids = {c.get("id") for c in instructor.cells if _test_tag(c)}
    kept = [c for c in submission.cells if not _test_tag(c) and c.get("id") not in test_ids]
    out = nbformat.from_dict(dict(submission))
    position = {c.get("id"): i for i, c in enumerate(kept) if c.get("id")}
    after: dict[int, list] = {}   # index in kept -> instructor test cells to insert after it (-1: before all)
    for i, cell in enumerate(instructor.cells):
        if not _test_tag(cell):
            continue
        anchor = next((instructor.cells[j].get("id") for j in range(i - 1, -1, -1)
                       if not _test_tag(instructor.cells[j]) and instructor.cells[j].get("id") in position), None)
        after.setdefault(position.get(anchor, len(kept) - 1), []).append(nbformat.from_dict(dict(cell)))
    cells = list(after.get(-1, []))
    for i, cell in enumerate(kept):
        cells.append(cell)
        cells += after.get(i, [])
    out.cells = cells
    return out


def _error_text(cell) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}"
    return ""


def grade_notebook(path, instructor=None, timeout: int = 600, kernel_name: str | None = None) -> GradeReport:
    """Execute a notebook and score its test cells.

    Parameters
    ----------
    path : path
        The notebook (a student's submission, or an edition).
    instructor : path, optional
        The instructor edition of the same assignment: its test cells (visible and hidden) replace the submission's.
    timeout : int
        Seconds allowed per cell.
    kernel_name : str, optional
        Jupyter kernel; default the notebook's own (``python3``).

    Returns
    -------
    GradeReport
        One :class:`TestCellResult` per test cell, errors outside test cells, and the executed notebook.
    """
    import nbformat
    from nbclient import NotebookClient

    from .editions import cell_points

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    if instructor is not None:
        nb = merge_tests(nb, nbformat.read(Path(instructor), as_version=4))
    points = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and _test_tag(cell):
            points[i] = cell_points(cell.source, f"{path.name}, cell {i}")
            if points[i] is None:
                raise ValueError(f"{path.name}, cell {i}: a test cell needs a '# POINTS: k' line")
    kernel = kernel_name or nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, allow_errors=True,
                            resources={"metadata": {"path": str(path.resolve().parent)}})
    client.execute()
    tests, other = [], []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        err = _error_text(cell)
        if i in points:
            tests.append(TestCellResult(i, _test_tag(cell), points[i], not err, err))
        elif err:
            other.append((i, err))
    return GradeReport(tests, other, nb)


def _first_line(text: str, width: int = 150) -> str:
    line = text.strip().split("\n")[0]
    return line if len(line) <= width else line[:width - 3] + "..."


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m collapse_lib.grading",
                                     description="Execute an assignment notebook and score its test cells.")
    parser.add_argument("notebook", help="the notebook to grade (a submission or an edition)")
    parser.add_argument("--instructor", help="instructor edition: its test cells, hidden ones included, are used")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    parser.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's)")
    parser.add_argument("--verbose", action="store_true", help="print the whole message of every failed check")
    args = parser.parse_args(argv)
    report = grade_notebook(args.notebook, args.instructor, args.timeout, args.kernel)
    print(f"Grading {args.notebook}" + (f" with the tests of {args.instructor}" if args.instructor else ""))
    for t in report.tests:
        status = "ok" if t.passed else (t.error if args.verbose else _first_line(t.error))
        print(f"  cell {t.index:3d}  {t.tag:12s} {t.points if t.passed else 0:2d}/{t.points:<2d}  {status}")
    for i, err in report.other_errors:
        print(f"  cell {i:3d}  (not a test)  error: {_first_line(err)}")
    print(f"SCORE {report.score}/{report.total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
