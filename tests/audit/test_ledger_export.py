"""`Ledger.export` writes JSONL that `verify_jsonl` re-checks offline, with the same findings
as `verify` on the database: edited, reordered, deleted and truncated exports are named."""

from __future__ import annotations

import io
import json
from pathlib import Path

from ledger_story import StoryLedger
from ledger_support import tamper

from patchpilot.audit.ledger import Ledger, LedgerEvent, verify_jsonl

Six = tuple[Path, list[LedgerEvent]]


def export_lines(path: Path) -> list[str]:
    buf = io.StringIO()
    with Ledger.open(path) as ledger:
        count = ledger.export(buf)
    lines = buf.getvalue().splitlines()
    assert count == len(lines)
    return lines


def test_export_round_trips_and_verifies_offline(six: Six) -> None:
    path, events = six
    lines = export_lines(path)
    assert [json.loads(line) for line in lines] == [e.to_json() for e in events]
    report = verify_jsonl(lines)
    assert report.intact, report.problem
    assert (report.events, report.tip_hash) == (6, events[-1].hash)
    assert verify_jsonl([line.encode() for line in lines], expected_tip=events[-1].hash).intact


def test_story_export_verifies_offline(story: StoryLedger) -> None:
    lines = export_lines(story.path)
    with Ledger.open(story.path) as ledger:
        tip = ledger.tip()
    report = verify_jsonl(lines, expected_tip=tip[1])
    assert report.intact, report.problem
    assert report.events == tip[0]
    kinds = [json.loads(line)["kind"] for line in lines]
    assert kinds[0] == "scan"
    assert kinds[-2:] == ["revert", "reopen"]


def test_edited_line_is_named(six: Six) -> None:
    path, events = six
    lines = export_lines(path)
    data = json.loads(lines[3])
    data["body"]["outcome"]["ok"] = False
    lines[3] = json.dumps(data)
    report = verify_jsonl(lines)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (4, events[3].event_id)
    assert "edited" in report.problem.reason


def test_swapped_lines_are_named(six: Six) -> None:
    path, events = six
    lines = export_lines(path)
    a, b = json.loads(lines[1]), json.loads(lines[2])
    a["seq"], b["seq"] = 3, 2
    lines[1], lines[2] = json.dumps(b), json.dumps(a)
    report = verify_jsonl(lines)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (2, events[2].event_id)
    assert "order" in report.problem.reason


def test_reordered_lines_without_renumbering_are_named(six: Six) -> None:
    path, _ = six
    lines = export_lines(path)
    lines[1], lines[2] = lines[2], lines[1]
    report = verify_jsonl(lines)
    assert report.problem is not None
    assert report.problem.seq == 2


def test_deleted_line_is_named(six: Six) -> None:
    path, events = six
    lines = export_lines(path)
    del lines[2]
    report = verify_jsonl(lines)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (3, events[2].event_id)


def test_truncated_export_needs_the_expected_tip(six: Six) -> None:
    path, events = six
    lines = export_lines(path)[:-1]
    assert verify_jsonl(lines).intact  # an export alone carries no anchor
    report = verify_jsonl(lines, expected_tip=events[-1].hash)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (6, events[-1].event_id)


def test_junk_lines_are_problems_not_crashes(six: Six) -> None:
    path, _ = six
    lines = export_lines(path)
    for junk in (
        "{not json",
        "[1, 2]",
        '{"seq": "one"}',
        json.dumps({**json.loads(lines[0]), "body": None}),
    ):
        report = verify_jsonl([junk, *lines[1:]])
        assert report.problem is not None, junk
    nan_line = lines[0].replace('"ok": true', '"ok": NaN')
    report = verify_jsonl([nan_line, *lines[1:]])
    assert report.problem is not None
    assert report.problem.seq == 1


def test_export_of_a_tampered_database_fails_offline_too(six: Six) -> None:
    path, events = six
    tamper(
        path,
        (
            "UPDATE ledger_events SET body = replace(body, ?, ?) WHERE seq = 2",
            ('"ok":true', '"ok": true'),
        ),
        "UPDATE ledger_events SET body = 'not json at all' WHERE seq = 5",
    )
    lines = export_lines(path)
    report = verify_jsonl(lines)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (2, events[1].event_id)
    assert json.loads(lines[4])["body"] == "not json at all"
