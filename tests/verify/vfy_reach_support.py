"""Shared helpers of the test-reach tests: real virtualenvs made with uv, real PyPI packages.

Each environment is built once per test session (kept under the session's base temp dir) with
`uv venv` and `uv pip install`. PyPI has no wheels of PyYAML 5.3.1/5.4 for current Pythons, so
uv builds them from the sdist; `cython<3` is a build constraint because PyYAML 5.4's setup.py
fails with Cython 3 (`build_ext` has no `cython_sources`). The asset projects are copied to a
temp dir before their tests run, so nothing is written into tests/assets.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UV = REPO / ".venv" / "bin" / "uv"
ASSETS = REPO / "tests" / "assets" / "verify" / "reach"
OSV_DIR = REPO.parent / "shared" / "osv"
PY312 = Path("/root/.pyenv/versions/3.12.1/bin/python3.12")
PYTHONS = {"3.11": sys.executable, "3.12": str(PY312)}
_ENV_PREFIXES = ("PATCHPILOT_REACH_", "PYTEST_ADDOPTS", "PYTHONPATH", "VIRTUAL_ENV")


def clean_env() -> dict[str, str]:
    """This process's environment without anything that would leak into a test run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIXES)}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def make_venv(
    factory: pytest.TempPathFactory, name: str, python: str, requirements: list[str]
) -> Path:
    """A virtualenv with `requirements` installed, built once per session; returns its root."""
    root = factory.getbasetemp() / "vfy-reach-venvs" / name
    if (root / "done").exists():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    constraints = root.parent / "build-constraints.txt"
    constraints.write_text("cython<3\n", encoding="utf-8")
    env = clean_env()
    subprocess.run([str(UV), "venv", "-q", "-p", python, str(root)], check=True, env=env)
    subprocess.run(
        [
            *(str(UV), "pip", "install", "-q", "--python", str(root / "bin" / "python")),
            *("--build-constraint", str(constraints), *requirements),
        ],
        check=True,
        env=env,
    )
    (root / "done").write_text("", encoding="utf-8")
    return root


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    assert found, f"no site-packages in {venv}"
    return found[0]


def copy_project(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(ASSETS / name, target)
    return target


def run_pytest(
    venv: Path, project: Path, extra_env: Mapping[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the project's own tests in `venv` (a subprocess); returns the result and seconds."""
    env = clean_env()
    env.update(extra_env or {})
    started = time.perf_counter()
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    return result, time.perf_counter() - started
