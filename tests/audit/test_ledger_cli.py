"""The ledger's command handlers (`ledger verify`, `ledger export`, `explain`) on real ledger
files: output, exit statuses, and errors that reach the user as one message (exit 2)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from ledger_story import StoryLedger
from ledger_support import tamper

from patchpilot.audit.ledger import Ledger, LedgerEvent, verify_jsonl
from patchpilot.cli.ledger import run_explain, run_ledger_export, run_ledger_verify
from patchpilot.errors import ExitCode, LedgerError, OutputError

Six = tuple[Path, list[LedgerEvent]]


def ns(db: Path, **options: Any) -> argparse.Namespace:
    return argparse.Namespace(db=db, quiet=True, **options)


def test_verify_intact_exits_0_and_prints_the_tip(
    six: Six, capsys: pytest.CaptureFixture[str]
) -> None:
    path, events = six
    assert run_ledger_verify(ns(path)) == ExitCode.OK
    out = capsys.readouterr().out
    assert "intact, 6 events" in out
    assert events[-1].hash in out


def test_verify_broken_exits_1_naming_the_event(
    six: Six, capsys: pytest.CaptureFixture[str]
) -> None:
    path, events = six
    tamper(path, "UPDATE ledger_events SET summary = 'rewritten' WHERE seq = 4")
    assert run_ledger_verify(ns(path)) == ExitCode.FINDINGS
    out = capsys.readouterr().out
    assert "BROKEN" in out
    assert f"event 4 ({events[3].event_id})" in out
    assert run_ledger_verify(ns(path, format="json")) == ExitCode.FINDINGS
    data = json.loads(capsys.readouterr().out)
    assert data["intact"] is False
    assert data["problem"]["seq"] == 4
    assert data["problem"]["event_id"] == events[3].event_id


def test_verify_unreadable_is_a_ledger_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerError) as err:
        run_ledger_verify(ns(tmp_path / "missing.sqlite3"))
    assert err.value.exit_code == ExitCode.INPUT_ERROR


def test_verify_takes_a_url(six: Six, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = six
    args = ns(Path("/nonexistent/elsewhere.sqlite3"), ledger=f"sqlite:///{path}")
    assert run_ledger_verify(args) == ExitCode.OK
    assert "intact" in capsys.readouterr().out


def test_export_to_stdout_and_file(
    six: Six, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, events = six
    assert run_ledger_export(ns(path, output=None)) == ExitCode.OK
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["event_id"] for line in lines] == [e.event_id for e in events]
    target = tmp_path / "out" / "ledger.jsonl"
    target.parent.mkdir()
    assert run_ledger_export(ns(path, output=target)) == ExitCode.OK
    assert target.read_text(encoding="utf-8").splitlines() == lines
    assert verify_jsonl(target.read_text(encoding="utf-8").splitlines()).intact
    assert [p.name for p in target.parent.iterdir()] == ["ledger.jsonl"]  # no temp file left


def test_export_to_an_unwritable_place_is_an_output_error(six: Six, tmp_path: Path) -> None:
    path, _ = six

    with pytest.raises(OutputError):
        run_ledger_export(ns(path, output=tmp_path / "no" / "such" / "dir" / "x.jsonl"))


def test_explain_table_and_json(
    story: StoryLedger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "copy.sqlite3"
    shutil.copy(story.path, db)
    assert run_explain(ns(db, ident=story.action, format="table")) == ExitCode.OK
    text = capsys.readouterr().out
    assert text.startswith(f"Story of {story.action}")
    assert f"patchpilot revert {story.action}" in text
    assert run_explain(ns(db, ident=story.branch_commit[:8], format="json")) == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in data["events"]][-1] == "reopen"
    with Ledger.open(db) as ledger:
        assert ledger.verify().intact  # explaining never writes


def test_explain_unknown_id_exits_2(story: StoryLedger) -> None:
    with pytest.raises(LedgerError, match="nothing-like-this") as err:
        run_explain(ns(story.path, ident="nothing-like-this", format="table"))
    assert err.value.exit_code == ExitCode.INPUT_ERROR
