"""Binder readiness: runtime.txt + requirements.txt build a working environment from nothing.

Binder (repo2docker) reads ``runtime.txt`` for the Python version and installs ``requirements.txt``. This test does the
same in a fresh virtual environment (pip's cache makes it take about a minute) and then imports the library and the
widget stack and computes a formula, compared with the same call in this process.
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
        install = subprocess.run([vpy, "-m", "pip", "install", "--no-compile", "-q", "-r", "requirements.txt"],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
        assert install.returncode == 0, f"pip install -r requirements.txt failed:\n{install.stdout}\n{install.stderr}"
        check = subprocess.run([vpy, "-m", "pip", "check"], env=env, capture_output=True, text=True, timeout=120)
        assert check.returncode == 0, f"pip check: {check.stdout}{check.stderr}"
        code = ("import sys, ipykernel, ipywidgets, matplotlib, numpy, scipy, voila\n"
                "from collapse_lib import theory, widgets, plotting, simulate, isotropic\n"
                "assert sys.version_info[:2] == (3, 11), sys.version\n"
                "print(repr(theory.ols_test_error(d=20, T=60, T0=50, sigma=1.0, sigma0=0.7, n=3)))\n")
        run = subprocess.run([vpy, "-c", code], cwd=tempfile.gettempdir(), env=env, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, f"import in the fresh venv failed:\n{run.stderr}"
        assert float(run.stdout.strip().splitlines()[-1]) == pytest.approx(expected, rel=1e-12)
        kernels = subprocess.run([str(venv / "bin" / "jupyter"), "kernelspec", "list"], env=env, capture_output=True,
                                 text=True, timeout=120)
        assert kernels.returncode == 0 and "python3" in kernels.stdout, kernels.stdout + kernels.stderr
