"""Before/after test runs on real projects in real git repositories, with real uv envs.

Every test here builds virtualenvs with uv from PyPI packages (the uv cache makes repeats
fast), so all are marked slow and network.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from patchpilot.errors import VerifyError
from patchpilot.events import RecordingReporter
from patchpilot.verify import Outcome, compare_sides, run_side, scrub_environment

pytestmark = [pytest.mark.slow, pytest.mark.network]

REPO = Path(__file__).resolve().parents[2]
WEBAPP = REPO / "examples" / "webapp"
YAMLCFG = REPO / "tests" / "assets" / "verify" / "yamlcfg"
SKIP = shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache", "fix")


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def make_repo(path: Path, files: dict[str, str] | None = None, copy: Path | None = None) -> Path:
    if copy is not None:
        shutil.copytree(copy, path, ignore=SKIP)
    path.mkdir(exist_ok=True)
    for name, text in (files or {}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "base")
    return path


def functions_in(tests_dir: Path) -> set[str]:
    """`file::name` of every test function, read from the sources (what pytest will run)."""
    found = set()
    for f in tests_dir.glob("test_*.py"):
        for node in ast.parse(f.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found.add(f"{f.relative_to(tests_dir.parent).as_posix()}::{node.name}")
    return found


def test_bundled_example_passes_on_its_locked_env(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "notify", copy=WEBAPP)
    reporter = RecordingReporter()
    side = run_side(repo, "HEAD", reporter=reporter, timeout=300)
    assert side.commit == git(repo, "rev-parse", "HEAD")
    assert side.installer.startswith("uv sync --frozen")
    assert {r.id for r in side.results} == functions_in(WEBAPP / "tests")
    assert all(r.outcome is Outcome.PASSED for r in side.results)
    assert side.flaky == ()
    assert ("finish", "verify: environment") in reporter.calls
    # The user's tree is untouched and no worktree is left registered.
    assert git(repo, "status", "--porcelain") == ""
    assert len(git(repo, "worktree", "list").splitlines()) == 1
    same = compare_sides(side, side)
    assert same.ok
    assert same.summary() == f"{len(side.results)} passed before and after"


def test_pyyaml_6_upgrade_is_a_regression(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "yamlcfg", copy=YAMLCFG)
    git(repo, "switch", "-q", "-c", "fix")
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copyfile(YAMLCFG / "fix" / name, repo / name)
    git(repo, "commit", "-qam", "bump pyyaml to 6.0.1")
    git(repo, "switch", "-q", "main")

    before = run_side(repo, "main", timeout=300)
    after = run_side(repo, "fix", timeout=300)
    assert before.totals.passed == 2 and before.totals.failed == 0
    cmp = compare_sides(before, after)
    assert cmp.regressions == ("tests/test_load.py::test_settings_reads_mapping",)
    assert cmp.pre_existing == () and cmp.fixed == () and cmp.flaky == ()
    assert not cmp.ok
    failed = next(r for r in after.results if r.outcome.failing)
    assert "Loader" in failed.message
    assert cmp.summary() == (
        "2 passed before, 1 after; 1 regression: tests/test_load.py::test_settings_reads_mapping"
    )
    # Reversed, the same failure is a fix.
    assert compare_sides(after, before).fixed == cmp.regressions


SLOW_TEST = """
import os, subprocess, sys, time
from pathlib import Path

def test_sleeps_past_the_timeout():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    Path(os.environ["VFY_PID_FILE"]).write_text(f"{os.getpid()} {child.pid}")
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie waiting for init to reap it is dead


def test_timeout_kills_the_whole_process_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = tmp_path / "pids"
    monkeypatch.setenv("VFY_PID_FILE", str(pid_file))
    repo = make_repo(tmp_path / "slow", {"tests/test_slow.py": SLOW_TEST})
    started = time.monotonic()
    with pytest.raises(
        VerifyError, match=r"did not finish within 4 s; its process group was killed"
    ):
        run_side(repo, "HEAD", timeout=4)
    assert time.monotonic() - started < 60
    pids = [int(p) for p in pid_file.read_text().split()]
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)
    assert len(git(repo, "worktree", "list").splitlines()) == 1


ENV_TEST = """
import os

def test_secrets_are_gone():
    for name in ("GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "MY_API_KEY", "NPM_AUTH", "DB_PASSWORD"):
        assert name not in os.environ, name

def test_ordinary_variables_stay():
    assert os.environ["LANG"] == "C.UTF-8"
    assert os.environ["VFY_VISIBLE"] == "yes"
    assert os.environ["HOME"] != os.environ["VFY_REAL_HOME"]
    assert os.environ["TMPDIR"].startswith(os.environ["HOME"].rsplit("/", 1)[0])
"""


def test_environment_is_scrubbed_of_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "MY_API_KEY", "NPM_AUTH", "DB_PASSWORD"):
        monkeypatch.setenv(name, "s3cr3t")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("VFY_VISIBLE", "yes")
    monkeypatch.setenv("VFY_REAL_HOME", os.environ.get("HOME", "/"))
    repo = make_repo(tmp_path / "envs", {"tests/test_env.py": ENV_TEST})
    side = run_side(repo, "HEAD", timeout=120)
    assert {r.id: r.outcome for r in side.results} == {
        "tests/test_env.py::test_secrets_are_gone": Outcome.PASSED,
        "tests/test_env.py::test_ordinary_variables_stay": Outcome.PASSED,
    }
    kept = scrub_environment(dict(os.environ))
    assert "GITHUB_TOKEN" not in kept and "PATH" in kept and kept["LANG"] == "C.UTF-8"


FLAKY_TEST = """
from pathlib import Path

def test_fails_the_first_time():
    marker = Path(__file__).with_name(".ran-once")
    if not marker.exists():
        marker.write_text("x")
        raise AssertionError("first run")

def test_steady():
    assert True

def test_always_broken():
    assert 1 == 2
"""


def test_a_failure_that_passes_on_rerun_is_flaky(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "flaky", {"tests/test_flaky.py": FLAKY_TEST})
    side = run_side(repo, "HEAD", timeout=120)
    assert side.flaky == ("tests/test_flaky.py::test_fails_the_first_time",)
    assert side.failing == ("tests/test_flaky.py::test_always_broken",)
    assert side.rerun_seconds > 0
    cmp = compare_sides(side, side)
    assert cmp.flaky == side.flaky
    assert cmp.pre_existing == ("tests/test_flaky.py::test_always_broken",)
    assert cmp.regressions == ()


def test_configured_commands_pytest_subset_and_unittest(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "configured",
        {
            ".patchpilot.toml": (
                '[verify]\ntest-command = ["python", "-m", "pytest", "tests/fast"]\n'
            ),
            "tests/fast/test_a.py": "def test_a():\n    pass\n",
            "tests/slow/test_b.py": "def test_b():\n    raise SystemExit(1)\n",
        },
    )
    side = run_side(repo, "HEAD", timeout=120)
    assert [r.id for r in side.results] == ["tests/fast/test_a.py::test_a"]

    ut = make_repo(
        tmp_path / "unittests",
        {
            ".patchpilot.toml": (
                '[verify]\ntest-command = ["python", "-m", "unittest", "ut.test_u"]\n'
            ),
            "ut/__init__.py": "",
            "ut/test_u.py": "import unittest\n\nclass T(unittest.TestCase):\n"
            "    def test_ok(self):\n        pass\n\n"
            "    def test_bad(self):\n        self.assertEqual(1, 2)\n\n"
            "    @unittest.skip('later')\n    def test_skip(self):\n        pass\n",
        },
    )
    side = run_side(ut, "HEAD", timeout=120)
    assert {r.id: r.outcome for r in side.results} == {
        "ut.test_u.T.test_ok": Outcome.PASSED,
        "ut.test_u.T.test_bad": Outcome.FAILED,
        "ut.test_u.T.test_skip": Outcome.SKIPPED,
    }
    assert side.flaky == ()
    assert side.python_version.split(".")[:2] == [str(v) for v in sys.version_info[:2]]


def test_unittest_discover_keeps_its_own_options(tmp_path: Path) -> None:
    # `-v` must follow `discover`, or unittest reads `discover` as a test name and rejects -s.
    repo = make_repo(
        tmp_path / "discover",
        {
            ".patchpilot.toml": (
                '[verify]\ntest-command = ["python", "-m", "unittest", "discover", "-s", "ut"]\n'
            ),
            "ut/test_d.py": "import unittest\n\nclass D(unittest.TestCase):\n"
            "    def test_ok(self):\n        pass\n",
        },
    )
    side = run_side(repo, "HEAD", timeout=120)
    assert {r.id: r.outcome for r in side.results} == {"test_d.D.test_ok": Outcome.PASSED}
