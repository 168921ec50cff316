"""The assignments execute and grade as intended (collapse_lib.grading).

- The instructor edition executes strictly (no error in any cell) and scores full marks, hidden tests included.
- The student edition executes with only NotImplementedError raised, by every exercise, and scores zero.
- A submission is graded with the instructor's tests (visible and hidden) even if the student edited the test cells.
- Typical wrong answers fail their check with a message that teaches and does not print the expected value.
"""
from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from collapse_lib import editions, grading

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted((ROOT / "book" / "assignments").glob("*.ipynb"))
STUB = re.compile(r'NotImplementedError\("Exercise (\d+)"\)')


@pytest.fixture(scope="module")
def editions_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("editions")
    editions.write_editions(ROOT / "book" / "assignments", out)
    return out


def n_exercises(path) -> int:
    student = editions.student_edition(nbformat.read(path, 4))
    return len(STUB.findall("\n".join(c.source for c in student.cells)))


@pytest.mark.parametrize("path", ASSIGNMENTS, ids=lambda p: p.stem)
def test_instructor_edition_scores_full_marks(editions_dir, path):
    report = grading.grade_notebook(editions_dir / "instructor" / path.name, timeout=300)
    failed = [(t.index, t.error) for t in report.tests if not t.passed]
    assert not failed, f"failed test cells: {failed}"
    assert not report.other_errors, f"errors outside the test cells: {report.other_errors}"
    assert report.total > 0 and report.score == report.total
    assert {t.tag for t in report.tests} == {"tests", "hidden-tests"}
    # Every exercise's checks ran and said so.
    printed = "".join(o.get("text", "") for c in report.notebook.cells for o in c.get("outputs", []))
    for k in range(1, n_exercises(path) + 1):
        assert re.search(rf"Exercise {k} \(\w+\): all \d+ checks? passed", printed), f"exercise {k} not checked"


@pytest.mark.parametrize("path", ASSIGNMENTS, ids=lambda p: p.stem)
def test_student_edition_raises_only_not_implemented_and_scores_zero(editions_dir, path):
    report = grading.grade_notebook(editions_dir / "student" / path.name, timeout=300)
    errors = [t.error for t in report.tests] + [e for _, e in report.other_errors]
    assert errors and all(e.startswith("NotImplementedError: Exercise ") for e in errors), errors
    raised = {int(e.rsplit(" ", 1)[1]) for e in errors}
    assert n_exercises(path) >= 4
    assert raised == set(range(1, n_exercises(path) + 1)), f"exercises that raised: {sorted(raised)}"
    assert report.score == 0 and report.total > 0
    assert {t.tag for t in report.tests} == {"tests"}, "the student edition has no hidden tests"
    # Each visible test cell fails on the stub of its own exercise.
    for t in report.tests:
        assert t.error == f"NotImplementedError: Exercise {_exercise_of(report.notebook.cells[t.index])}"


def _exercise_of(cell) -> int:
    return int(re.search(r"grading\.exercise\((\d+)", cell.source).group(1))


def _solved_submission(instructor, student):
    """The student edition with every stub cell replaced by the instructor's solution (same cell ids)."""
    solutions = {c.id: c.source for c in instructor.cells}
    sub = nbformat.from_dict(dict(student))
    for cell in sub.cells:
        if cell.cell_type == "code" and STUB.search(cell.source):
            cell.source = solutions[cell.id]
    return sub


def test_submission_is_graded_with_the_instructor_tests(editions_dir, tmp_path):
    """A solved submission whose visible tests were edited (to pass trivially, or deleted) still faces the real
    checks, hidden ones included: the CLI prints every test cell and SCORE a/b."""
    name = "assignment_a_ols.ipynb"
    instructor = nbformat.read(editions_dir / "instructor" / name, 4)
    sub = _solved_submission(instructor, nbformat.read(editions_dir / "student" / name, 4))
    tests = [c for c in sub.cells if "tests" in c.metadata.get("tags", [])]
    tests[0].source = "# POINTS: 100\npass"            # tampered
    sub.cells.remove(tests[1])                          # deleted
    path = tmp_path / name
    nbformat.write(sub, path)
    merged = grading.merge_tests(sub, instructor)
    kinds = [c.metadata.get("tags", [None])[0] for c in merged.cells if c.metadata.get("tags")]
    assert kinds.count("hidden-tests") == sum("hidden-tests" in c.metadata.get("tags", []) for c in instructor.cells)
    assert "POINTS: 100" not in nbformat.writes(merged)
    # Each instructor test cell sits right after the cell it follows in the instructor edition.
    order = [c.id for c in merged.cells]
    assert order == [c.id for c in instructor.cells if c.id in order]
    out = subprocess.run([sys.executable, "-m", "collapse_lib.grading", str(path), "--instructor",
                          str(editions_dir / "instructor" / name)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    total = sum(editions.cell_points(c.source) for c in instructor.cells
                if set(c.metadata.get("tags", [])) & {"tests", "hidden-tests"})
    assert f"SCORE {total}/{total}" in out.stdout, out.stdout
    assert out.stdout.count("hidden-tests") >= 2


def test_grader_scores_the_fixture_and_reports_failures(tmp_path):
    """Points per test cell: a failing cell scores 0 and its error is printed; the rest still run."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("def f(x):\n    return x + 1"),
        nbformat.v4.new_code_cell("# POINTS: 2\nassert f(1) == 2", metadata={"tags": ["tests"]}),
        nbformat.v4.new_code_cell("# POINTS: 3\nassert f(1) == 3, 'f is off by one'", metadata={"tags": ["tests"]}),
        nbformat.v4.new_code_cell("# POINTS: 1\nassert f(0) == 1", metadata={"tags": ["hidden-tests"]}),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "fixture.ipynb")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert grading.main([str(tmp_path / "fixture.ipynb")]) == 0
    text = buf.getvalue()
    assert "SCORE 3/6" in text
    assert "AssertionError: f is off by one" in text


# ---------------------------------------------------------------------------------------------------------------
# Wrong answers fail, with a hint and without the answer

def _namespace(path):
    """Execute the definitions of an instructor edition in-process (no try-it or test cells)."""
    nb = editions.instructor_edition(nbformat.read(path, 4))
    ns: dict = {}
    for cell in nb.cells:
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "code" and not tags & {"tests", "hidden-tests", "remove-cell", "solution"} \
                and (cell.source.lstrip().startswith(("def ", "import", "from")) or "SEED =" in cell.source):
            exec(cell.source, ns)
    return nb, ns


def _visible_test(nb, k):
    return next(c.source for c in nb.cells if "tests" in c.metadata.get("tags", [])
                and f"grading.exercise({k}," in c.source)


MUTANTS = [
    ("assignment_a_ols", 1, "sample_data", '''
def sample_data(eigs, w, T, noise, rng):
    rng = np.random.default_rng(rng)
    X = rng.standard_normal((T, len(eigs))) * np.asarray(eigs)
    return X, X @ w + noise * rng.standard_normal(T)
''', "scale the columns of Z by np.sqrt(eigs)"),
    ("assignment_a_ols", 4, "r2_formula", '''
def r2_formula(d, T, T0, sigma, sigma0, n):
    if T < d + 2 or (n and T0 < d + 2):
        raise ValueError("T or T0 too small")
    return sigma**2 * d / (T - d) + n * sigma0**2 * d / (T0 - d)
''', "it looks like T - d instead of T - d - 1"),
    ("assignment_a_ols", 5, "generations_curve", '''
def generations_curve(eigs, w0, T0, T, sigma, sigma0, n_max, runs, rng):
    rng = np.random.default_rng(rng)
    return np.array([[chain_error(eigs, w0, T0, T, sigma, sigma0, n, rng)
                      for n in range(n_max + 1)] for _ in range(runs)])
''', "follow one chain per run"),
    ("assignment_b_ridge", 2, "kappa", '''
def kappa(eigs, lam, T):
    eigs = np.asarray(eigs, dtype=float)
    k = lam
    for _ in range(10000):
        k = lam + k * df(eigs, k) / T
    return k
''', "it is not kappa"),
    ("assignment_b_ridge", 3, "ridge_error", '''
def ridge_error(p, T, lam, n):
    k = kappa(p.eigs, lam, T)
    df2 = df(p.eigs, k, m=2)
    u = df2 / (T - df2)
    bias = k**2 * np.sum(p.eigs * p.w0**2 / (p.eigs + k) ** 2) / (1 - df2 / T)
    return bias, p.sigma**2 * u, n * p.sigma0**2 * df2 / (p.T0 - p.d - 1)
''', "the second part of rho"),
    ("assignment_b_ridge", 5, "ridge_chain_error", '''
def ridge_chain_error(p, T, lam, n, rng):
    rng = np.random.default_rng(rng)
    root, w = np.sqrt(p.eigs), np.array(p.w0, dtype=float)
    for _ in range(n):
        X = rng.standard_normal((p.T0, p.d)) * root
        w = np.linalg.lstsq(X, X @ w + p.sigma0 * rng.standard_normal(p.T0),
                            rcond=None)[0]
    X = rng.standard_normal((T, p.d)) * root
    y = X @ w + p.sigma * rng.standard_normal(T)
    w_hat = np.linalg.solve(X.T @ X + lam * np.eye(p.d), X.T @ y)
    return float(np.sum(p.eigs * (w_hat - p.w0) ** 2))
''', "the penalty is scaled by T"),
    ("assignment_c_scaling", 3, "fit_exponent", '''
def fit_exponent(T, E, window=None):
    return float(np.polyfit(np.log(T), np.log(E), 1)[0])
''', "the slope instead of minus the slope"),
    ("assignment_c_scaling", 5, "best_ell", '''
def best_ell(p, n, ells, T):
    return float(ells[int(np.argmin([measured_exponent(p, e, n, T) for e in ells]))])
''', "take the maximum, not the minimum"),
    ("assignment_d_escape", 2, "r8_formula", '''
def r8_formula(d, T, sigma, n):
    step = sigma**2 * d / (T - d - 1)
    return n * step, step * sum(1.0 / i for i in range(1, n + 1))
''', "1/i instead of 1/i^2"),
    ("assignment_d_escape", 4, "golden_weight", '''
def golden_weight(k):
    return k / (1 + k)
''', "naive pooling"),
    ("assignment_d_escape", 5, "mixing_risk_mc", '''
def mixing_risk_mc(w, k, n, rounds, runs, rng):
    rng = np.random.default_rng(rng)
    m = int(round(n / k))
    theta = rng.standard_normal((runs, n)).mean(axis=1)
    for _ in range(rounds):
        real = rng.standard_normal((runs, n)).mean(axis=1)
        synth = rng.standard_normal((runs, m)).mean(axis=1)
        theta = w * real + (1 - w) * synth
    return n * theta**2
''', "synthetic samples drawn around theta_(t-1)"),
]


@pytest.mark.parametrize("stem, k, name, wrong, hint", MUTANTS, ids=[f"{m[0][:12]}-{m[2]}" for m in MUTANTS])
def test_a_wrong_answer_fails_with_a_hint(stem, k, name, wrong, hint):
    nb, ns = _namespace(ROOT / "book" / "assignments" / f"{stem}.ipynb")
    exec(_visible_test(nb, k), dict(ns))                 # the right answer passes
    exec(wrong, ns)
    with pytest.raises(grading.CheckFailure) as failure, contextlib.redirect_stdout(io.StringIO()):
        exec(_visible_test(nb, k), ns)
    message = str(failure.value)
    assert message.startswith(f"Exercise {k} ({name})") and hint in message, message
    # No expected value in the message: none of the library's numbers for the checked cases, to 3 digits.
    assert not re.search(r"\d\.\d{3}", message.replace("1e-", "")), message


def test_check_messages_never_show_the_target():
    with pytest.raises(grading.CheckFailure) as failure:
        grading.check_close(0.5, 0.41421356, "my kappa")
    assert "0.414" not in str(failure.value) and "too large" in str(failure.value)
    with pytest.raises(grading.CheckFailure, match="far"):
        grading.check_close([1.0, 2.0], [1.0, 3.0], "vector")
    with pytest.raises(grading.CheckFailure, match="standard errors above"):
        grading.check_mc([1.0, 1.1] * 20, 0.5, "mean")
    with pytest.raises(grading.CheckFailure, match=r"residual 0\.3"):
        grading.check_residual(0.3, 1e-8, "kappa - lam - kappa df1/T")
    with pytest.raises(grading.CheckFailure, match="entry 2 does not"):
        grading.check_monotone([1, 2, 1.5], "best lambda", strict=True)
    with pytest.raises(grading.CheckFailure, match="same value"):
        grading.check_mc([1.0] * 20, 1.0, "mean")
    with pytest.raises(NotImplementedError), grading.exercise(7, "f"):
        raise NotImplementedError("Exercise 7")
    with pytest.raises(grading.CheckFailure, match=r"Exercise 7 \(f\) - your code raised ZeroDivisionError"):
        with grading.exercise(7, "f"):
            1 / 0
