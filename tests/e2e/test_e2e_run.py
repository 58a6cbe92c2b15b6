"""`patchpilot run`, `explain`, `ledger verify`, `revert` and `gate` end to end on the example.

The bundled example is copied into a fresh git repository; fixes resolve against PyPI with uv,
the example's own tests run before and after in uv-built environments, and the policy decides:
- the urllib3 1.26.4 → 1.26.19 patch, whose tests execute the changed code, is merged (level 3)
  under the default policy, and the ledger alone tells the story;
- the same fix without the test that posts over HTTP stops at level 2, saying the tests do not
  reach it;
- a `regulated` project never goes past level 2;
- editing one ledger row makes `ledger verify` fail, naming the event;
- `revert` undoes the merge, reopens the findings, and refuses a second time.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import jsonschema
import pytest

from patchpilot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "webapp"
ADVISORIES = ROOT / "examples" / "advisories"
OPENVEX_SCHEMA = ROOT / "tests" / "assets" / "assess" / "openvex_json_schema.json"
URLLIB3 = {"PYSEC-2021-108", "PYSEC-2023-192", "GHSA-34jh-p97f-mpxf", "PYSEC-2023-212"}

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


def example_repo(
    tmp_path: Path, *, drop_tests: tuple[str, ...] = (), policy: str | None = None
) -> Path:
    repo = tmp_path / "notify"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    for name in drop_tests:
        (repo / "tests" / name).unlink()
    if policy is not None:
        (repo / ".patchpilot.toml").write_text(policy, encoding="utf-8")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    return repo


def run(repo: Path, db: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    capsys.readouterr()
    args = ["--db", str(db), "run", str(repo), "-f", "json", "--upgrade-config", "none"]
    args += ["--upgrade-config", "urllib3:patch", "--no-codefix", *extra]
    assert main(args) == 0
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "patchpilot.run/1"
    return doc


def urllib3_action(doc: dict[str, object]) -> dict[str, object]:
    actions = doc["actions"]
    assert isinstance(actions, list)
    found = [a for a in actions if URLLIB3 & set(a["findings"])]
    assert len(found) == 1, actions
    action: dict[str, object] = found[0]
    return action


def test_verified_patch_is_merged_explained_and_reverted(
    tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = example_repo(tmp_path)
    base = git(repo, "rev-parse", "HEAD").strip()
    vex_out = tmp_path / "notify.openvex.json"
    doc = run(repo, db, capsys, "--vex-out", str(vex_out))
    action = urllib3_action(doc)
    decision = action["decision"]
    assert isinstance(decision, dict)
    assert action["verify"] == "verified", action["summary"]
    assert decision["level"] == 3, decision
    assert action["delivered"] == "merged"
    merge = str(action["merge_commit"])
    assert git(repo, "rev-parse", "main").strip() == merge
    assert git(repo, "rev-parse", f"{merge}^1").strip() == base
    assert "urllib3" in git(repo, "show", "--stat", merge)
    assert git(repo, "status", "--porcelain") == ""
    assert str(action["branch"]) not in git(repo, "branch", "--list")  # merged, then deleted
    # Findings without a fix inside the ceiling are reported at level 1, never branched.
    others = [a for a in doc["actions"] if a is not action]  # type: ignore[union-attr]
    assert others
    assert all(a["decision"]["level"] == 1 and a["branch"] is None for a in others)

    # OpenVEX of the outcome: `fixed` (naming the merge) for the merged findings, `affected`
    # with an action for the rest; valid against the published schema.
    vex = json.loads(vex_out.read_text(encoding="utf-8"))
    jsonschema.validate(vex, json.loads(OPENVEX_SCHEMA.read_text(encoding="utf-8")))
    status = {st["vulnerability"]["name"]: st for st in vex["statements"]}
    for fid in URLLIB3:
        assert status[fid]["status"] == "fixed"
    assert status["PYSEC-2021-142"]["status"] == "affected"
    assert status["PYSEC-2021-142"]["action_statement"]

    # The ledger alone tells the story, from the advisory to the merge.
    capsys.readouterr()
    assert main(["--db", str(db), "explain", "PYSEC-2023-192", "-f", "table"]) == 0
    story = capsys.readouterr().out
    for fact in ("urllib3", "1.26.4", "1.26.19", "merge-verified-patch", merge[:12]):
        assert fact in story, (fact, story)
    assert str(action["action"]) in story

    assert main(["--db", str(db), "ledger", "verify"]) == 0

    # Undo: the merge is reverted, the tree is back to the base, the findings reopen.
    capsys.readouterr()
    code = main(
        ["--db", str(db), "revert", str(action["action"]), str(repo), "--reason",
         "canary error rate up", "--actor", "alice", "-f", "json"]
    )  # fmt: skip
    assert code == 0
    reverted = json.loads(capsys.readouterr().out)
    assert set(reverted["reopened"]) == set(action["findings"])  # type: ignore[arg-type]
    assert git(repo, "diff", base, "main") == ""
    capsys.readouterr()
    assert main(["--db", str(db), "scan", str(repo), "-f", "json"]) == 1
    scanned = {f["id"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert scanned >= set(action["findings"])  # type: ignore[arg-type]
    assert main(["--db", str(db), "explain", str(action["action"]), "-f", "table"]) == 0
    story = capsys.readouterr().out
    assert "alice" in story and "canary error rate up" in story
    # A second revert is refused with a clear message.
    assert main(["--db", str(db), "revert", str(action["action"]), str(repo), "--reason", "x"]) == 2
    assert "already reverted" in capsys.readouterr().err

    # Editing one ledger row breaks the chain, and `ledger verify` names the event.
    with sqlite3.connect(db) as conn:
        (seq,) = conn.execute(
            "SELECT seq FROM ledger_events WHERE kind = 'merge' ORDER BY seq LIMIT 1"
        ).fetchone()
        conn.execute(
            "UPDATE ledger_events SET summary = summary || ' (edited)' WHERE seq = ?", (seq,)
        )
    capsys.readouterr()
    assert main(["--db", str(db), "ledger", "verify", "-f", "json"]) == 1
    report = capsys.readouterr().out
    assert str(seq) in report


def test_fix_the_tests_do_not_reach_stops_at_level_2(
    tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = example_repo(tmp_path, drop_tests=("test_app.py",))
    base = git(repo, "rev-parse", "HEAD").strip()
    doc = run(repo, db, capsys)
    action = urllib3_action(doc)
    decision = action["decision"]
    assert isinstance(decision, dict)
    assert action["verify"] == "not-reached", action["summary"]
    assert decision["level"] == 2
    assert action["delivered"] == "branch"
    assert any("not-reached" in r for r in decision["reasons"]), decision
    assert git(repo, "rev-parse", "main").strip() == base
    assert str(action["branch"]) in git(repo, "branch", "--list")

    # A person reviews it and approves: merged, recorded with their name, revertable.
    capsys.readouterr()
    code = main(
        ["--db", str(db), "approve", str(action["branch"]), str(repo), "--actor", "bob",
         "--reason", "read the changelog; urllib3 patch releases are safe", "-f", "json"]
    )  # fmt: skip
    assert code == 0
    approved = json.loads(capsys.readouterr().out)
    assert approved["approved_by"] == "bob"
    assert git(repo, "rev-parse", "main").strip() == approved["merge_commit"]
    assert set(approved["findings"]) == URLLIB3
    assert main(["--db", str(db), "explain", approved["action"], "-f", "table"]) == 0
    story = capsys.readouterr().out
    assert "bob" in story and "changelog" in story and "not-reached" in story
    assert main(["--db", str(db), "revert", approved["action"], str(repo), "--reason", "x"]) == 0
    assert git(repo, "diff", base, "main") == ""


def test_regulated_tier_never_merges(
    tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = example_repo(tmp_path, policy='tier = "regulated"\n')
    base = git(repo, "rev-parse", "HEAD").strip()
    doc = run(repo, db, capsys)
    action = urllib3_action(doc)
    decision = action["decision"]
    assert isinstance(decision, dict)
    assert action["verify"] == "verified"
    assert decision["level"] == 2
    assert decision["capped_by"] == "tier"
    assert any("regulated" in r for r in decision["reasons"]), decision
    assert git(repo, "rev-parse", "main").strip() == base
    actions = doc["actions"]
    assert isinstance(actions, list)
    assert all(a["decision"]["level"] <= 2 for a in actions)
