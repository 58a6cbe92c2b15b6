"""The `patchpilot` command end to end: real store, real example project, real exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from patchpilot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "webapp"
EXAMPLE_ADVISORIES = ROOT / "examples" / "advisories"


@pytest.fixture
def example_db(tmp_path: Path) -> Path:
    db = tmp_path / "store.sqlite3"
    assert main(["--db", str(db), "db", "import", str(EXAMPLE_ADVISORIES), "-f", "json"]) == 0
    return db


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_scan_json_reports_example_findings(
    example_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code, out, err = run(capsys, "--db", str(example_db), "scan", str(EXAMPLE), "-f", "json")
    assert code == 1, err
    doc = json.loads(out)
    assert doc["schema"] == "patchpilot.scan/1"
    names = {f["package"]["name"] for f in doc["findings"]}
    assert {"pyyaml", "jinja2", "requests", "urllib3", "certifi", "idna"} <= names
    read = [s for s in doc["sources"] if s["read"]]
    assert [Path(s["path"]).name for s in read] == ["uv.lock"]
    superseded = [s for s in doc["sources"] if not s["read"]]
    assert [Path(s["path"]).name for s in superseded] == ["pyproject.toml"]
    assert "superseded by uv.lock" in superseded[0]["note"]


def test_fail_on_threshold(
    example_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    # idna 2.10 has one high-severity advisory (CVE-2024-3651) and nothing critical
    (project / "requirements.txt").write_text("idna==2.10\n", encoding="utf-8")
    capsys.readouterr()
    assert run(capsys, "--db", str(example_db), "scan", str(project), "-f", "json")[0] == 1
    code, out, _ = run(
        capsys, "--db", str(example_db), "scan", str(project), "-f", "json", "--fail-on", "critical"
    )
    assert code == 0
    assert json.loads(out)["findings"][0]["severity"]["level"] == "high"
    (project / "requirements.txt").write_text("idna==3.7\n", encoding="utf-8")
    assert run(capsys, "--db", str(example_db), "scan", str(project), "-f", "json")[0] == 0


def test_output_file_and_formats(
    example_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for fmt in ("table", "json", "sarif", "cyclonedx", "markdown"):
        target = tmp_path / f"report.{fmt}"
        code, out, err = run(
            capsys, "--db", str(example_db), "scan", str(EXAMPLE), "-f", fmt, "-o", str(target)
        )
        assert code == 1, err
        assert out == ""
        text = target.read_text(encoding="utf-8")
        assert "PYSEC-2021-142" in text or "CVE-2020-14343" in text, fmt


@pytest.mark.parametrize(
    ("content", "name", "needle"),
    [
        ('version = 1\n[[package]]\nname = "x"\nversion = \n', "uv.lock", "uv.lock:4"),
        ('{"lockfileVersion": 3, "packages": [1, 2]', "package-lock.json", "package-lock.json:1"),
        ("requests=>2\n", "requirements.txt", "requirements.txt:1"),
    ],
)
def test_malformed_input_is_one_clean_message(
    example_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    name: str,
    needle: str,
) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "--db", str(example_db), "scan", str(tmp_path / name))
    assert code == 2
    assert out == ""
    assert needle in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_store_and_unknown_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--db", str(tmp_path / "none.sqlite3"), "scan", str(EXAMPLE))
    assert code == 2
    assert "no advisory store" in err
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    db = tmp_path / "s.sqlite3"
    assert main(["--db", str(db), "db", "import", str(EXAMPLE_ADVISORIES), "-f", "json"]) == 0
    code, _, err = run(capsys, "--db", str(db), "scan", str(tmp_path / "notes.txt"))
    assert code == 2
    assert "unknown format" in err


def test_empty_store_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    db = tmp_path / "s.sqlite3"
    assert main(["--db", str(db), "db", "import", str(empty), "-f", "json"]) == 0
    code, _, err = run(capsys, "--db", str(db), "scan", str(EXAMPLE), "-f", "json")
    assert code == 2
    assert "is empty" in err


def test_db_status_json(example_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code, out, _ = run(capsys, "--db", str(example_db), "db", "status", "-f", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["records"] == len(list(EXAMPLE_ADVISORIES.glob("*.json")))
    assert doc["imports"][0]["source"].endswith("advisories")


@pytest.mark.slow
def test_console_script_with_env_store(example_db: Path) -> None:
    exe = shutil.which("patchpilot", path=str(Path(sys.executable).parent))
    assert exe is not None
    env = {**os.environ, "PATCHPILOT_DB": str(example_db)}
    proc = subprocess.run(
        [exe, "scan", str(EXAMPLE), "--format", "sarif"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    sarif = json.loads(proc.stdout)
    assert sarif["version"] == "2.1.0"
    lines = {
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in sarif["runs"][0]["results"]
    }
    assert all(line > 0 for line in lines)
