"""`explain` tells stories run by run: on a ledger of three runs of the bundled example (built by
ledger_runs.py), a finding's story is its latest run in full and one line per earlier run;
`--all` tells every run; an action keeps the revert a later invocation recorded; a reused
branch name is told life by life; `--run` and `--since` choose runs; the run boundaries follow
scan and gate events as `audit.runs` says."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from ledger_runs import (
    BRANCH,
    FINDING,
    PROJECT,
    REMEDIATION,
    Scanned,
    ThreeRuns,
    build_three_runs,
)
from ledger_story import sha
from ledger_support import CONTEXT, tamper

from patchpilot.audit.explain import Story, collect_story, explain, explain_data
from patchpilot.audit.ledger import Ledger
from patchpilot.audit.runs import Runs
from patchpilot.cli.main import main
from patchpilot.errors import LedgerError
from patchpilot.records import gate_record, revert_record, scan_record

ONE_RUN = ["scan", "plan", "branch", "verify", "decide", "merge", "gate"]


def story_of(three: ThreeRuns, ident: str, **how: object) -> Story:
    with Ledger.open(three.path) as ledger:
        return collect_story(ledger, ident, **how)  # type: ignore[arg-type]


def text_of(three: ThreeRuns, ident: str, **how: object) -> str:
    with Ledger.open(three.path) as ledger:
        return explain(ledger, ident, **how)  # type: ignore[arg-type]


def runs_of(three: ThreeRuns) -> Runs:
    with Ledger.open(three.path) as ledger:
        return Runs(ledger.run_marks())


def test_each_run_holds_its_scan_gate_and_steps(three: ThreeRuns) -> None:
    runs = runs_of(three)
    assert [r.number for r in runs.all] == [0, 1, 2, 3]
    assert [r.kind for r in runs.all[1:]] == ["scan", "scan", "scan"]
    assert {r.project for r in runs.all[1:]} == {PROJECT}
    by_run: dict[int, list[str]] = {}
    for ev in three.events:
        by_run.setdefault(runs.of(ev.seq).number, []).append(ev.kind)
    assert 0 not in by_run  # nothing before the first scan
    steps = ["scan", "suppress", "plan", "branch", "verify", "decide"]
    # each run's gate (same project, after its scan) joins it; the revert stays where recorded
    assert by_run[1] == [*steps, "merge", "gate"]
    assert by_run[2] == [*steps, "deliver", "gate", "revert", "reopen"]
    assert by_run[3] == [*steps, "merge", "gate"]
    assert three.levels == {1: 3, 2: 2, 3: 3}


def test_finding_story_is_the_latest_run_after_one_line_per_earlier_run(
    three: ThreeRuns,
) -> None:
    story = story_of(three, FINDING)
    runs = runs_of(three)
    assert story.scope == "latest"
    assert [n.run.number for n in story.told] == [3]
    assert [n.run.number for n in story.others] == [2, 1]
    assert story.more == 0
    assert [e.kind for e in story.events] == ONE_RUN
    assert all(runs.of(e.seq).number == 3 for e in story.events)
    # what happened in each earlier run, and the level granted there
    run2, run1 = story.others
    assert run2.levels == (2,)
    assert {"planned", "branched", "tested", "left for review", "reverted", "reopened"} <= set(
        run2.happened
    )
    assert run1.levels == (3,)
    assert {"found", "planned", "merged", "flagged by the CI gate"} <= set(run1.happened)

    text = text_of(three, FINDING)
    head, _, body = text.partition("\n\n")
    assert "Told in full: run 3 (`run` of " in head
    assert f"Earlier runs that named {FINDING}, newest first" in head
    lines = head.splitlines()
    line2 = next(i for i, line in enumerate(lines) if line.startswith("  run 2 ("))
    line1 = next(i for i, line in enumerate(lines) if line.startswith("  run 1 ("))
    assert line2 < line1
    assert "left for review" in lines[line2] and lines[line2].endswith("level 2")
    assert "merged" in lines[line1] and lines[line1].endswith("level 3")
    assert "2026-03-02" in lines[line1] and "2026-03-03" in lines[line2]
    # the story itself is run 3 alone: its action, none of the earlier ones
    assert three.actions[3] in body
    assert three.actions[1] not in text
    assert three.commits[2][:12] not in text
    assert "alice" not in text


def test_summary_lines_are_capped(three: ThreeRuns) -> None:
    text = text_of(three, FINDING, limit=1)
    assert "  run 2 (" in text
    assert "  run 1 (" not in text
    assert "  … and 1 earlier run\n" in text
    with Ledger.open(three.path) as ledger:
        data = explain_data(ledger, FINDING, limit=1)
    assert data["more_runs"] == 1
    assert [(r["run"], r["told"]) for r in data["runs"]] == [(3, True), (2, False)]


def test_all_tells_every_run(three: ThreeRuns) -> None:
    story = story_of(three, FINDING, all_runs=True)
    assert story.scope == "all"
    assert story.told == () and story.others == ()
    naming = {e.seq for e in three.events if FINDING in e.subjects}
    assert naming <= {e.seq for e in story.events}
    kinds = [e.kind for e in story.events]
    assert kinds.count("scan") == kinds.count("gate") == 3
    assert kinds.count("merge") == 2 and kinds.count("deliver") == 1
    assert "revert" in kinds and "reopen" in kinds
    text = text_of(three, FINDING, all_runs=True)
    assert "Told in full" not in text and "Earlier runs" not in text
    for n in (1, 3):
        assert three.actions[n] in text


def test_action_keeps_the_revert_a_later_invocation_recorded(three: ThreeRuns) -> None:
    runs = runs_of(three)
    story = story_of(three, three.actions[1])
    kinds = [e.kind for e in story.events]
    assert kinds == ["scan", "plan", "branch", "verify", "decide", "merge", "revert", "reopen"]
    where = {e.kind: runs.of(e.seq).number for e in story.events}
    assert where["revert"] == where["reopen"] == 2
    assert {n for k, n in where.items() if k not in ("revert", "reopen")} == {1}
    assert [n.run.number for n in story.told] == [1]
    # run 2 prepared a branch of the same name: none of its steps belongs to this story
    assert not [e for e in story.events if e.kind in ("deliver",)]
    assert story.others == ()  # run 2's revert and reopening are told above
    text = text_of(three, three.actions[1])
    assert "revert by alice" in text
    assert "canary error rate up after run 1's merge" in text
    assert f"Reopened {', '.join(three.ids)}" in text
    assert three.commits[2][:12] not in text
    # the revert commit and the merge commit tell the same story
    for handle in (three.revert_commit[:10], sha("run 1: merge")):
        assert [e.kind for e in story_of(three, handle).events] == kinds


def test_reused_branch_name_is_told_life_by_life(three: ThreeRuns) -> None:
    latest = story_of(three, BRANCH)
    assert [n.run.number for n in latest.told] == [2]
    assert [n.run.number for n in latest.others] == [1]
    assert [e.kind for e in latest.events] == [
        "scan",
        "plan",
        "branch",
        "verify",
        "decide",
        "deliver",
    ]
    first = story_of(three, BRANCH, run=1)
    assert [e.kind for e in first.events] == [
        "scan",
        "plan",
        "branch",
        "verify",
        "decide",
        "merge",
        "revert",
        "reopen",
    ]
    assert [n.run.number for n in first.others] == [2]


def test_run_and_since_choose_the_runs_told(three: ThreeRuns) -> None:
    runs = runs_of(three)
    second = story_of(three, FINDING, run=2)
    assert second.scope == "run"
    assert [n.run.number for n in second.told] == [2]
    assert [n.run.number for n in second.others] == [3, 1]
    # run 2 holds the revert of run 1's merge: that merge and the branch it merged are told,
    # not the rest of run 1
    earlier = [e.kind for e in second.events if runs.of(e.seq).number == 1]
    assert earlier == ["branch", "verify", "decide", "merge"]
    assert "Other runs that named" in text_of(three, FINDING, run=2)

    since = story_of(three, REMEDIATION, since=three.opened[2])
    assert since.scope == "since"
    assert [n.run.number for n in since.told] == [2, 3]
    assert [n.run.number for n in since.others] == [1]
    assert {e.kind for e in since.events if e.kind in ("merge", "deliver")} == {"merge", "deliver"}

    with pytest.raises(LedgerError, match="holds runs 0 to 3"):
        story_of(three, FINDING, run=7)
    with pytest.raises(LedgerError, match="does not appear in run 0"):
        story_of(three, FINDING, run=0)
    with pytest.raises(LedgerError, match=r"no run opened since .*latest run .* is run 3"):
        story_of(three, FINDING, since=three.opened[3] + timedelta(days=1))


def test_late_approval_tells_the_run_that_prepared_the_branch(
    scanned: Scanned, tmp_path: Path
) -> None:
    late = build_three_runs(tmp_path / "late.sqlite3", scanned, late_approval=True)
    assert late.approval is not None
    story = story_of(late, FINDING)
    runs = runs_of(late)
    approval = next(e for e in story.events if e.actor == "bob")
    assert runs.of(approval.seq).number == 3
    # bob merged the branch run 2 prepared: that branch's life is told with the latest run
    assert [n.run.number for n in story.told] == [3]
    assert [n.run.number for n in story.others] == [2, 1]
    from_run_2 = [e.kind for e in story.events if runs.of(e.seq).number == 2]
    assert from_run_2 == ["branch", "verify", "decide", "deliver"]
    text = text_of(late, FINDING)
    assert "bob approved it after review" in text
    assert "verdict not-reached" in text
    # the approval's own story is told from run 2, which prepared what bob merged; run 3's
    # branch (the same name, its next life) is not in it
    mine = story_of(late, late.approval)
    assert [n.run.number for n in mine.told] == [2]
    assert [e.kind for e in mine.events] == [
        "scan", "plan", "branch", "verify", "decide", "deliver", "merge",
    ]  # fmt: skip
    assert all(runs.of(e.seq).number == 2 for e in mine.events if e.actor != "bob")
    # the branch name had three lives; the latest is run 3's
    assert [n.run.number for n in story_of(late, BRANCH).told] == [3]


def test_explain_data_carries_runs_and_the_scoped_events(three: ThreeRuns) -> None:
    with Ledger.open(three.path) as ledger:
        data = explain_data(ledger, FINDING)
        every = explain_data(ledger, FINDING, all_runs=True)
    assert json.loads(json.dumps(data)) == data
    assert data["scope"] == "latest"
    told = [r for r in data["runs"] if r["told"]]
    assert [r["run"] for r in told] == [3]
    assert told[0]["opened_by"] == "scan" and told[0]["project"] == PROJECT
    assert told[0]["at"].startswith("2026-03-04")
    lo, hi = told[0]["span"]
    assert hi is None and all(e["seq"] >= lo for e in data["events"])
    assert [r["run"] for r in data["runs"] if not r["told"]] == [2, 1]
    assert [r["levels"] for r in data["runs"]] == [[3], [2], [3]]
    assert every["scope"] == "all" and every["runs"] == []
    assert len(every["events"]) > 2 * len(data["events"])


def test_cli_explain_run_since_and_all(
    three: ThreeRuns, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(three.path)
    assert main(["--db", db, "explain", FINDING, "--run", "1", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["scope"] == "run"
    assert three.actions[1] in {e["body"]["outcome"].get("action") for e in data["events"]}
    day = three.opened[2].date().isoformat()
    assert main(["--db", db, "explain", FINDING, "--since", day, "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["run"] for r in data["runs"] if r["told"]] == [2, 3]
    assert main(["--db", db, "explain", FINDING, "--all", "-f", "table"]) == 0
    assert three.actions[1] in capsys.readouterr().out
    assert main(["--db", db, "explain", FINDING, "--since", "last week"]) == 2
    assert "--since: not an ISO date" in capsys.readouterr().err
    assert main(["--db", db, "explain", FINDING, "--run", "9"]) == 2
    assert "holds runs 0 to 3" in capsys.readouterr().err
    assert main(["--db", db, "explain", FINDING, "--run", "1", "--all"]) == 2


def test_gates_of_other_projects_and_gate_only_projects_open_runs(
    scanned: Scanned, tmp_path: Path
) -> None:
    result = scanned.result
    other = "/srv/repos/other"
    with Ledger.open(tmp_path / "l.sqlite3", create=True) as ledger:
        before = ledger.append(
            revert_record(
                "act-0", [], target="main", merge_commit=sha("m"), revert_commit=sha("r"),
                reason="before any run", actor="carol",
            ),
            CONTEXT,
        )  # fmt: skip
        a_scan = ledger.append(scan_record(result, PROJECT, scanned.store_digest), CONTEXT)
        b_gate = ledger.append(gate_record(other, [], 0), CONTEXT)  # another project: opens
        a_gate = ledger.append(gate_record(PROJECT, [], 0), CONTEXT)  # after b's: opens
        a_gate2 = ledger.append(gate_record(PROJECT, [], 0), CONTEXT)  # gate run: opens
        a_scan2 = ledger.append(scan_record(result, PROJECT, scanned.store_digest), CONTEXT)
        a_gate3 = ledger.append(gate_record(PROJECT, [], 0), CONTEXT)  # joins the scan's run
        runs = Runs(ledger.run_marks())
        text = explain(ledger, "act-0")
    assert runs.of(before.seq).number == 0
    numbers = [runs.of(e.seq).number for e in (a_scan, b_gate, a_gate, a_gate2, a_scan2, a_gate3)]
    assert numbers == [1, 2, 3, 4, 5, 5]
    assert [r.project for r in runs.all[1:]] == [PROJECT, other, PROJECT, PROJECT, PROJECT]
    assert "Told in full: run 0 (events recorded before the first run)." in text


def test_run_marks_read_an_edited_body_and_old_ledgers_gain_the_index(
    three: ThreeRuns, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(three.path.read_bytes())
    tamper(
        copy,
        "DROP INDEX ledger_events_by_kind",
        "UPDATE ledger_events SET body = 'not json' WHERE seq = ("
        "SELECT MAX(seq) FROM ledger_events WHERE kind = 'gate')",
    )
    with Ledger.open(copy) as ledger:  # reading needs no index and adds none
        marks = ledger.run_marks()
    assert [m.project for m in marks if m.kind == "scan"] == [PROJECT] * 3
    assert marks[-1].kind == "gate" and marks[-1].project is None
    # the edited gate names no project, so it opens a run of its own
    assert [r.kind for r in Runs(marks).all[1:]] == ["scan", "scan", "scan", "gate"]

    def indexes() -> set[str]:
        with sqlite3.connect(copy) as db:
            return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}

    assert "ledger_events_by_kind" not in indexes()
    Ledger.open(copy, create=True).close()  # a writer (run, gate) adds it
    assert "ledger_events_by_kind" in indexes()
