"""`patchpilot verify` end to end: the three kinds of evidence on real projects and tests.

- the bundled example's fix branch: tests pass on both sides and execute the upgraded code
  (verdict `verified`, with the executed functions and the test ids);
- the same fix where the project's tests never touch PyYAML: `not-reached`;
- a PyYAML 5.3.1 -> 6.0.1 upgrade that breaks `yaml.load(s)`: `regression`.
Environments are built by uv from PyPI; the tests run in subprocesses, never in this process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from patchpilot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "webapp"
ADVISORIES = ROOT / "examples" / "advisories"
YAMLCFG = ROOT / "tests" / "assets" / "verify" / "yamlcfg"

pytestmark = [pytest.mark.slow, pytest.mark.network]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite3"
    assert main(["--db", str(path), "db", "import", str(ADVISORIES), "-f", "json"]) == 0
    return path


def example_repo(tmp_path: Path, drop_tests: tuple[str, ...] = ()) -> Path:
    repo = tmp_path / "notify"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    for name in drop_tests:
        (repo / "tests" / name).unlink()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    return repo


def fix_and_verify(
    repo: Path, db: Path, capsys: pytest.CaptureFixture[str], *upgrade: str
) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    args = ["--db", str(db), "fix", str(repo), "-f", "json", "--upgrade-config", "none"]
    for u in upgrade:
        args += ["--upgrade-config", u]
    assert main(args) == 0
    branch = json.loads(capsys.readouterr().out)["branch"]
    code = main(["--db", str(db), "verify", str(repo), "--branch", branch, "-f", "json"])
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    return code, doc


def test_example_fix_is_verified_with_test_ids(
    tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = example_repo(tmp_path)
    code, doc = fix_and_verify(repo, db, capsys, "pyyaml:minor", "urllib3:patch")
    assert doc["schema"] == "patchpilot.evidence/1"
    assert doc["verdict"] == "verified", doc["summary"]
    assert code == 0
    tests = doc["tests"]
    assert isinstance(tests, dict)
    assert tests["before"]["totals"]["passed"] == tests["after"]["totals"]["passed"] == 4
    assert tests["regressions"] == []
    reach = doc["reach"]
    assert isinstance(reach, dict)
    executed = {t["target"]: t for t in reach["targets"] if t["executed"]}
    assert "tests/test_config.py::test_parse_reads_channels" in reach["tests"]
    assert any(name.startswith("yaml.") for name in executed)
    assert any(name.startswith("urllib3.") for name in executed)
    yaml_hit = next(t for n, t in executed.items() if n.startswith("yaml."))
    assert any("src/notify/config.py" in frame for frame in yaml_hit["call_path"])
    packages = {p["name"]: p for p in doc["packages"]}
    # statically, the project imports yaml (src/notify/config.py); the advisory's targets
    # (FullConstructor) are reached through FullLoader, which only the tracer sees
    assert any("config.py" in loc for loc in packages["pyyaml"]["static"]["imports"])
    assert doc["installed"]["still_vulnerable"] == []


def test_tests_that_do_not_reach_the_fix_say_so(
    tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = example_repo(tmp_path, drop_tests=("test_config.py", "test_app.py"))
    code, doc = fix_and_verify(repo, db, capsys, "pyyaml:minor")
    assert doc["verdict"] == "not-reached", doc["summary"]
    assert code == 1
    reach = doc["reach"]
    assert isinstance(reach, dict)
    assert reach["share_executed"] == 0
    assert all(not t["executed"] for t in reach["targets"])


def test_upgrade_that_breaks_a_test_is_a_regression(
    tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "yamlcfg"
    shutil.copytree(YAMLCFG, repo, ignore=shutil.ignore_patterns("fix", "README.md"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-q", "-b", "bump-pyyaml")
    shutil.copy(YAMLCFG / "fix" / "uv.lock", repo / "uv.lock")
    git(repo, "commit", "-qam", "pyyaml 6.0.1")
    git(repo, "checkout", "-q", "main")
    capsys.readouterr()
    code = main(["--db", str(db), "verify", str(repo), "--branch", "bump-pyyaml", "-f", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert doc["verdict"] == "regression", doc["summary"]
    assert doc["tests"]["regressions"]
    # the breaking-change prediction (yaml.load without Loader; Loader required in 6.0) is
    # tied to the run: the regression confirms it
    (pyyaml,) = [p for p in doc["packages"] if p["name"] == "pyyaml"]
    assert pyyaml["breaking"]["verdict"] == "breaks-project"
    assert pyyaml["breaking"]["status"] == "confirmed"
    assert set(pyyaml["breaking"]["confirmed_by"]) <= set(doc["tests"]["regressions"])
    assert pyyaml["breaking"]["confirmed_by"]
