"""Binder readiness: runtime.txt + requirements.txt build a working environment from nothing.

Binder (repo2docker) reads ``runtime.txt`` for the Python version and installs ``requirements.txt``. This test does the
same in a fresh virtual environment (pip's cache makes it take about a minute), first WITHOUT the library: it executes
the preface, whose first cell installs the library when it is missing (as on Colab, pointed at this checkout with
``COLLAPSE_LIB_SOURCE``), then imports the library and the widget stack and computes a formula, compared with the
same call in this process.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = (ROOT / "requirements.txt").read_text().splitlines()
RUNTIME = (ROOT / "runtime.txt").read_text().strip()


def _runtime_python() -> str | None:
    """An interpreter of the runtime.txt version: this one if it matches, else pythonX.Y on PATH."""
    m = re.fullmatch(r"python-(\d+)\.(\d+)", RUNTIME)
    assert m, f"runtime.txt must read python-X.Y, got {RUNTIME!r}"
    want = (int(m[1]), int(m[2]))
    if sys.version_info[:2] == want:
        return sys.executable
    return shutil.which(f"python{want[0]}.{want[1]}")


def test_runtime_is_python_311():
    assert RUNTIME == "python-3.11"


def test_requirements_are_pinned_and_end_with_the_library():
    lines = [ln.strip() for ln in REQUIREMENTS if ln.strip() and not ln.strip().startswith("#")]
    assert lines[-1] == "-e .", "requirements.txt must end with `-e .` (the library, editable)"
    unpinned = [ln for ln in lines[:-1] if not re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[A-Za-z0-9_.+\-]+", ln)]
    assert not unpinned, f"unpinned requirements: {unpinned}"
    names = [re.split(r"[=\[]", ln)[0].lower().replace("_", "-") for ln in lines[:-1]]
    assert len(names) == len(set(names)), "a requirement is listed twice"


def test_fresh_venv_from_requirements_imports_the_library():
    python = _runtime_python()
    if python is None:
        pytest.fail(f"no interpreter for {RUNTIME} on this machine")
    from collapse_lib import theory

    expected = theory.ols_test_error(d=20, T=60, T0=50, sigma=1.0, sigma0=0.7, n=3)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    with tempfile.TemporaryDirectory(prefix="binder-venv-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([python, "-m", "venv", str(venv)], check=True, env=env, timeout=120)
        vpy = str(venv / "bin" / "python")
        without_library = Path(tmp) / "requirements-without-library.txt"
        without_library.write_text("\n".join(ln for ln in REQUIREMENTS if ln.strip() != "-e ."))
        install = subprocess.run([vpy, "-m", "pip", "install", "--no-compile", "-q", "-r", str(without_library)],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
        assert install.returncode == 0, f"pip install -r requirements.txt failed:\n{install.stdout}\n{install.stderr}"
        missing = subprocess.run([vpy, "-c", "import collapse_lib"], cwd=tempfile.gettempdir(), env=env,
                                 capture_output=True, text=True, timeout=120)
        assert missing.returncode != 0, "the library is importable before the notebook installs it"
        run_nb = ("import nbformat, nbclient, sys\n"
                  "nb = nbformat.read(sys.argv[1], as_version=4)\n"
                  "nbclient.NotebookClient(nb, timeout=600, kernel_name='python3').execute()\n"
                  "print('executed', len(nb.cells))\n")
        nb_env = dict(env, COLLAPSE_LIB_SOURCE=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                      MPLBACKEND="Agg")
        executed = subprocess.run([vpy, "-c", run_nb, str(ROOT / "book" / "00_preface.ipynb")], cwd=tempfile.gettempdir(),
                                  env=nb_env, capture_output=True, text=True, timeout=900)
        assert executed.returncode == 0, f"the preface does not run without the library:\n{executed.stderr[-3000:]}"
        install = subprocess.run([vpy, "-m", "pip", "install", "--no-compile", "-q", "-r", "requirements.txt"],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
        assert install.returncode == 0, f"pip install -r requirements.txt failed:\n{install.stdout}\n{install.stderr}"
        check = subprocess.run([vpy, "-m", "pip", "check"], env=env, capture_output=True, text=True, timeout=120)
        assert check.returncode == 0, f"pip check: {check.stdout}{check.stderr}"
        code = ("import sys, anywidget, ipykernel, ipywidgets, matplotlib, numpy, scipy, voila\n"
                "from collapse_lib import theory, figures, plotting, simulate, isotropic\n"
                "assert sys.version_info[:2] == (3, 11), sys.version\n"
                "print(repr(theory.ols_test_error(d=20, T=60, T0=50, sigma=1.0, sigma0=0.7, n=3)))\n")
        run = subprocess.run([vpy, "-c", code], cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, f"import in the fresh venv failed:\n{run.stderr}"
        assert float(run.stdout.strip().splitlines()[-1]) == pytest.approx(expected, rel=1e-12)
        kernels = subprocess.run([str(venv / "bin" / "jupyter"), "kernelspec", "list"], env=env, capture_output=True,
                                 text=True, timeout=120)
        assert kernels.returncode == 0 and "python3" in kernels.stdout, kernels.stdout + kernels.stderr
