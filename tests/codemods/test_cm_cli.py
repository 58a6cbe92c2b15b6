"""`patchpilot codefix` handler: JSON document, table, dry run and writing, on the bundled
example project (examples/webapp) and on a copy of it."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from patchpilot.cli.codefix import SCHEMA_NAME, run_codefix
from patchpilot.errors import ExitCode

from .cases import ASSETS

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webapp"


def _args(path: Path, **extra: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "path": path,
        "dry_run": True,
        "only": None,
        "sarif": None,
        "format": "json",
        "quiet": True,
    }
    values.update(extra)
    return argparse.Namespace(**values)


@pytest.fixture
def webapp(tmp_path: Path) -> Path:
    root = tmp_path / "webapp"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    return root


def test_dry_run_json_on_the_bundled_example(
    webapp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (webapp / "src/notify/config.py").read_text(encoding="utf-8")
    assert run_codefix(_args(webapp)) is ExitCode.OK
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == SCHEMA_NAME
    assert doc["dry_run"] is True and doc["written"] is False
    # The example grows with the levels; its FullLoader load is the Level 4 pattern it has
    # had from the start.
    assert ("harden-pyyaml", "src/notify/config.py") in [
        (c["codemod"], c["path"]) for c in doc["changes"]
    ]
    diffs = {f["path"]: f["diff"] for f in doc["files"]}
    assert "+    data = yaml.load(text, Loader=yaml.SafeLoader)" in diffs["src/notify/config.py"]
    assert {c["path"] for c in doc["changes"]} == set(diffs)
    pyyaml = next(c for c in doc["codemods"] if c["id"] == "harden-pyyaml")
    assert (pyyaml["tier"], pyyaml["cwe"], pyyaml["changes"]) == ("A", ["CWE-502"], 1)
    assert (webapp / "src/notify/config.py").read_text(encoding="utf-8") == before


def test_write_mode_rewrites_in_place(webapp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run_codefix(_args(webapp, dry_run=False, write=True, only=["harden-pyyaml"])) is ExitCode.OK
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["written"] is True
    text = (webapp / "src/notify/config.py").read_text(encoding="utf-8")
    assert "yaml.load(text, Loader=yaml.SafeLoader)" in text
    # After writing everything, a second run finds nothing left to do.
    run_codefix(_args(webapp, dry_run=False, write=True))
    capsys.readouterr()
    run_codefix(_args(webapp, dry_run=False, write=True))
    again = json.loads(capsys.readouterr().out)
    assert again["changes"] == [] and again["written"] is False


def test_table_lists_changes_refusals_and_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "project"
    shutil.copytree(ASSETS / "_sarif" / "project", root)
    (root / "app" / "more.py").write_text(
        "import subprocess\n\nsubprocess.run('ls | wc -l', shell=True)\n", encoding="utf-8"
    )
    run_codefix(_args(root, format="table", only=["subprocess-shell-false,harden-pyyaml"]))
    out = capsys.readouterr().out
    assert "app/loader.py:6" in out and "harden-pyyaml" in out
    assert "app/more.py:3" in out and "shell-metacharacters" in out
    assert "dry run" in out and "+++ b/app/net.py" in out
    assert "add-requests-timeout" not in out


def test_sarif_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "project"
    shutil.copytree(ASSETS / "_sarif" / "project", root)
    run_codefix(_args(root, sarif=ASSETS / "_sarif" / "bandit.sarif"))
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["changes"]) == 4
    assert any("B404" in n for n in doc["notes"])
