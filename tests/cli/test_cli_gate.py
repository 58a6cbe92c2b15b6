"""`patchpilot gate` on the bundled example: thresholds, ignores with expiry, VEX, SARIF.

The example is scanned against its bundled real OSV records (offline); the project's policy
and VEX documents are written into a copy of it. Every outcome is also in the ledger.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import jsonschema
import pytest

from patchpilot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "webapp"
ADVISORIES = ROOT / "examples" / "advisories"
SARIF_SCHEMA = ROOT / "tests" / "assets" / "formats" / "sarif-schema-2.1.0.json"
PYYAML = "PYSEC-2021-142"  # critical; alias CVE-2020-14343
JINJA2 = "GHSA-h5c8-rqwp-cp95"  # medium; alias CVE-2024-22195


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite3"
    assert main(["--db", str(path), "db", "import", str(ADVISORIES), "-f", "json"]) == 0
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    repo = tmp_path / "notify"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    return repo


def gate(
    db: Path, project: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    code = main(["--db", str(db), "gate", str(project), "-f", "json", *extra])
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "patchpilot.gate/1"
    return code, doc


def ids(items: object, key: str = "finding") -> set[str]:
    assert isinstance(items, list)
    return {str(i[key]) for i in items}


def test_default_gate_fails_on_every_finding(
    db: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = gate(db, project, capsys)
    assert code == 1
    assert doc["passed"] is False
    assert {PYYAML, JINJA2} <= ids(doc["violations"])
    assert len(ids(doc["violations"])) == 14


def test_threshold_ignore_with_expiry_and_vex(
    db: Path, project: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (project / ".patchpilot.toml").write_text(
        '[gate]\nfail_on = "high"\n\n'
        "[[ignores]]\n"
        'id = "CVE-2020-14343"\n'
        'reason = "config files are written by operators only"\n'
        "expires = 2999-01-01\n\n"
        "[[ignores]]\n"
        'id = "PYSEC-2024-60"\n'
        'reason = "waiting for requests 2.32"\n'
        "expires = 2020-01-01\n\n"
        "[[ignores]]\n"
        'id = "GHSA-0000-0000-0000"\n'
        'reason = "an old advisory"\n'
        "expires = 2999-01-01\n",
        encoding="utf-8",
    )
    (project / "vex").mkdir()
    (project / "vex" / "notify.openvex.json").write_text(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "@id": "https://example.com/vex/notify-1",
                "author": "notify maintainers",
                "timestamp": "2026-01-01T00:00:00Z",
                "version": 1,
                "statements": [
                    {
                        "vulnerability": {"name": "CVE-2024-22195"},
                        "products": [{"@id": "pkg:pypi/jinja2"}],
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_in_execute_path",
                        "impact_statement": "templates never use the xmlattr filter",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    code, doc = gate(db, project, capsys)
    assert code == 1
    violations = ids(doc["violations"])
    # Ignored by a live ignore (through its CVE alias) and below the threshold: not violations.
    assert PYYAML not in violations
    assert JINJA2 not in violations
    # The expired ignore does not apply: idna's high finding still fails the gate.
    assert "PYSEC-2024-60" in violations
    by = {s["finding"]: s for s in doc["suppressed"]}  # type: ignore[union-attr]
    assert by[PYYAML]["by"] == "ignore" and "operators" in by[PYYAML]["reason"]
    assert by[JINJA2]["by"] == "vex"
    assert "vulnerable_code_not_in_execute_path" in by[JINJA2]["reason"]
    assert any("PYSEC-2024-60" in e and "expired" in e for e in doc["expired_ignores"])  # type: ignore[union-attr]
    assert any("GHSA-0000-0000-0000" in u for u in doc["unused_ignores"])  # type: ignore[union-attr]
    severities = {v["severity"] for v in doc["violations"]}  # type: ignore[union-attr]
    assert severities <= {"critical", "high", "unknown"}

    # SARIF for code-scanning UIs: valid, suppressions carry the reason.
    out = tmp_path / "gate.sarif"
    assert main(["--db", str(db), "gate", str(project), "-f", "sarif", "-o", str(out)]) == 1
    sarif = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    results = sarif["runs"][0]["results"]
    marks = {r["ruleId"]: r for r in results}
    assert marks[PYYAML]["suppressions"][0]["justification"].startswith("ignore:")
    assert marks[JINJA2]["suppressions"][0]["status"] == "accepted"
    assert marks["PYSEC-2024-60"]["properties"]["gate"] == "violation"
    assert marks["PYSEC-2024-60"]["level"] == "error"

    # Each suppression and the gate itself are in the ledger.
    with sqlite3.connect(db) as conn:
        kinds = [k for (k,) in conn.execute("SELECT kind FROM ledger_events ORDER BY seq")]
    assert kinds.count("gate") == 2
    assert kinds.count("suppress") >= 4


def test_gate_passes_when_everything_is_covered(
    db: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".patchpilot.toml").write_text(
        '[gate]\nfail_on = "never"\nkev = true\n', encoding="utf-8"
    )
    code, doc = gate(db, project, capsys)
    assert code == 0
    assert doc["passed"] is True


def test_invalid_policy_is_one_message_with_the_key_path(
    db: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".patchpilot.toml").write_text(
        '[[rules]]\nname = "x"\nlevel = 7\n', encoding="utf-8"
    )
    capsys.readouterr()
    assert main(["--db", str(db), "gate", str(project), "-f", "json"]) == 2
    err = capsys.readouterr().err
    assert ".patchpilot.toml: rules[0].level" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
