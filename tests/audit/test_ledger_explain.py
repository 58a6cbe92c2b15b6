"""`explain` tells each story of the bundled example's ledger from the ledger alone: a pyyaml
fix from its advisory to the merge, its revert and the reopened finding; a jinja2 fix that
stopped at level 2; a suppressed requests finding."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ledger_story import StoryLedger
from ledger_support import CONTEXT, tamper

from patchpilot.audit.explain import collect_story, describe, explain, explain_data
from patchpilot.audit.ledger import Ledger
from patchpilot.errors import LedgerError
from patchpilot.events import Record

FULL_CHAIN = ["scan", "plan", "branch", "verify", "decide", "merge", "revert", "reopen"]


def story_text(story: StoryLedger, ident: str) -> str:
    with Ledger.open(story.path) as ledger:
        return explain(ledger, ident)


def test_finding_story_runs_from_advisory_to_reopen(story: StoryLedger) -> None:
    f = story.pyyaml
    text = story_text(story, f.id)
    with Ledger.open(story.path) as ledger:
        kinds = [e.kind for e in collect_story(ledger, f.id).events]
    assert kinds == FULL_CHAIN
    # which advisory, with its modified time, found in which package
    for record_id, modified in f.records:
        assert record_id in text
        assert modified in text
    for alias in f.aliases:
        assert alias in text
    assert f"pyyaml {f.component.version} (PyPI)" in text
    assert f"severity {f.severity.level.value}" in text
    assert story.store_digest[:16] in text
    # what fix was planned, on which branch and commit
    assert f"pyyaml from {f.component.version} to 5.4" in text
    assert "minor-level upgrade" in text
    assert "pyyaml 5.3.1→5.4: compatible" in text
    assert f"branch {story.branch} at commit {story.branch_commit[:12]}" in text
    assert "uv.lock, pyproject.toml" in text
    # what the tests measured
    assert "verdict verified" in text
    assert "12 passed, 0 failed" in text
    assert "executed 100% of the vulnerable code" in text
    # which rule granted which level, and why
    assert "rule 'verified-reached' granted level 3 (merge) under tier 'internal'" in text
    assert "tests passed on the fix branch" in text
    assert story.policy_digest[:23] in text
    # what was merged, how to undo it, the revert and the reopening, and by whom
    assert f"into main as commit {story.merge_commit[:12]}" in text
    assert f"action {story.action}" in text
    assert f"To undo: patchpilot revert {story.action}." in text
    assert f"with commit {story.revert_commit[:12]}" in text
    assert "staging smoke test failed after the upgrade" in text
    assert f"Reopened {f.id}" in text
    assert "revert by alice" in text
    assert "reopen by alice" in text
    # only this story: not the jinja2 branch, not the suppressed finding
    assert story.jinja_branch not in text
    assert "suppressed" not in text
    # in time order
    positions = [text.index(f"— {kind} by") for kind in FULL_CHAIN]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    "ident",
    [
        "alias",
        "alias-lower",
        "branch",
        "branch-subject",
        "commit-prefix",
        "merge-commit",
        "revert-commit",
        "action",
        "remediation",
    ],
)
def test_every_handle_tells_the_same_story(story: StoryLedger, ident: str) -> None:
    cve = next(a for a in story.pyyaml.aliases if a.startswith("CVE-"))
    handles = {
        "alias": cve,
        "alias-lower": cve.lower(),
        "branch": story.branch,
        "branch-subject": f"branch:{story.branch}",
        "commit-prefix": story.branch_commit[:7],
        "merge-commit": story.merge_commit,
        "revert-commit": story.revert_commit[:10],
        "action": story.action,
        "remediation": story.remediation,
    }
    with Ledger.open(story.path) as ledger:
        kinds = [e.kind for e in collect_story(ledger, handles[ident]).events]
    assert kinds == FULL_CHAIN


def test_event_id_starts_a_story(story: StoryLedger) -> None:
    with Ledger.open(story.path) as ledger:
        merge = next(e for e in ledger.events(kinds=["merge"]))
        kinds = [e.kind for e in collect_story(ledger, merge.event_id).events]
    assert kinds == FULL_CHAIN


def test_level_two_story_says_why_it_stopped(story: StoryLedger) -> None:
    text = story_text(story, story.jinja_branch)
    assert "verdict not-reached" in text
    assert "executed 0% of the vulnerable code" in text
    assert "at level 2 (branch for review): left for review with its PR body" in text
    for f in story.jinja:
        assert f.id in text
    assert "Merged" not in text
    assert story.pyyaml.id not in text


def test_suppressed_finding_story(story: StoryLedger) -> None:
    f = story.suppressed
    text = story_text(story, f.id)
    assert f"{f.id} suppressed by a VEX statement from examples/webapp/vex.json" in text
    assert "vulnerable_code_not_in_execute_path" in text
    assert f"requests {f.component.version}" in text
    assert story.branch not in text


def test_explain_data_is_json_with_text_per_event(story: StoryLedger) -> None:
    with Ledger.open(story.path) as ledger:
        data = explain_data(ledger, story.pyyaml.id)
    again = json.loads(json.dumps(data))
    assert again == data
    assert data["matched"] == [story.pyyaml.id]
    assert data["intact"] is True
    assert [e["kind"] for e in data["events"]] == FULL_CHAIN
    decide = next(e for e in data["events"] if e["kind"] == "decide")
    assert decide["body"]["outcome"]["level"] == 3
    assert any("verified-reached" in line for line in decide["text"])
    assert all(e["hash"] and e["prev_hash"] for e in data["events"])


def test_unknown_id_is_a_clear_ledger_error(story: StoryLedger) -> None:
    with Ledger.open(story.path) as ledger, pytest.raises(LedgerError) as err:
        explain(ledger, "GHSA-0000-0000-0000")
    assert "GHSA-0000-0000-0000" in str(err.value)
    assert "no ledger event" in str(err.value)
    assert err.value.exit_code == 2


def test_edited_event_is_flagged_in_the_story(story: StoryLedger, tmp_path: Path) -> None:
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(story.path, copy)
    tamper(copy, "UPDATE ledger_events SET actor = 'mallory' WHERE kind = 'merge'")
    with Ledger.open(copy) as ledger:
        text = explain(ledger, story.action)
    assert "merge by mallory" in text
    assert "WARNING" in text
    assert "no longer matches its hash" in text


def test_missing_keys_degrade_to_shorter_sentences(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3", create=True) as ledger:
        bare = [
            ledger.append(Record(kind, f"{kind} without payload", ("remediation:r",)), CONTEXT)
            for kind in (*FULL_CHAIN, "suppress", "deliver", "codefix", "gate", "custom")
        ]
        odd = ledger.append(
            Record(
                "verify",
                "odd shapes",
                ("remediation:r",),
                outcome={"verdict": ["not", "text"], "tests_before": 3, "reach_share": "all"},
            ),
            CONTEXT,
        )
        text = explain(ledger, "r")
    for ev in (*bare, odd):
        assert describe(ev)  # never empty, never an exception
    assert "custom without payload." in text
    assert "Merged the branch." in text
    assert "Tests on the branch: verdict unknown." in text
    assert text.count("— ") == len(bare) + 1
