"""What `run` does when a level-3 merge conflicts, on real repositories made with the real git
CLI: the conflicting files are read from the merge's refusal, the remake hook is asked for a
replacement, and when it gives none the branch is left for review with every reason noted.

(The remake itself, on a real project with real advisories, resolver and tests, is in
tests/e2e/test_e2e_run_refresh.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dlv_repos import git, make_repo

from patchpilot.deliver.forge import LocalForge
from patchpilot.deliver.merge import merge_branch
from patchpilot.engine import Action, _conflicting_files, _deliver
from patchpilot.errors import DeliverError
from patchpilot.events import Record, Reporter
from patchpilot.policy.decide import Decision

PINS = "urllib3==1.26.4\nwerkzeug==3.0.0\n"
MERGE = Decision(3, "merge-verified-patch", ("verified",), "internal", None)


class Records(Reporter):
    def __init__(self) -> None:
        self.records: list[Record] = []

    def record(self, record: Record) -> None:
        self.records.append(record)


def branch_from(repo: Path, branch: str, start: str, text: str) -> str:
    git(repo, "checkout", "--quiet", "-b", branch, start)
    (repo / "requirements.txt").write_text(text)
    git(repo, "commit", "--quiet", "-am", f"Fix on {branch}")
    git(repo, "checkout", "--quiet", "main")
    return git(repo, "rev-parse", branch).strip()


@pytest.fixture
def two_fixes(tmp_path: Path) -> Path:
    """`main` with two adjacent pins, and one branch per pin moved, both from the same commit."""
    repo = make_repo(tmp_path / "project")
    (repo / "requirements.txt").write_text(PINS)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "Pins")
    start = git(repo, "rev-parse", "main").strip()
    branch_from(repo, "fix-urllib3", start, PINS.replace("1.26.4", "1.26.18"))
    branch_from(repo, "fix-werkzeug", start, PINS.replace("3.0.0", "3.0.1"))
    return repo


def test_the_conflicting_files_are_read_from_the_refusal(two_fixes: Path) -> None:
    merge_branch(two_fixes, "fix-urllib3", target="main", message="first")
    with pytest.raises(DeliverError) as conflict:
        merge_branch(two_fixes, "fix-werkzeug", target="main", message="second")
    assert _conflicting_files(conflict.value) == ("requirements.txt",)
    with pytest.raises(DeliverError) as merged:
        merge_branch(two_fixes, "fix-urllib3", target="main", message="again")
    assert "already part of" in str(merged.value)
    assert _conflicting_files(merged.value) == ()


@pytest.mark.parametrize("why", [None, "not remade again: already remade once"])
def test_a_conflict_without_a_remake_is_left_for_review_with_the_reasons(
    two_fixes: Path, why: str | None
) -> None:
    merge_branch(two_fixes, "fix-urllib3", target="main", message="first")
    main_before = git(two_fixes, "rev-parse", "main").strip()
    asked: list[tuple[str, tuple[str, ...]]] = []

    def remake(target: str, files: tuple[str, ...]) -> Action | str | None:
        asked.append((target, files))
        return why

    reporter = Records()
    sha = git(two_fixes, "rev-parse", "fix-werkzeug").strip()
    action = _deliver(
        two_fixes, "fix-werkzeug", sha, "# Fix werkzeug\n", ("PyPI:werkzeug@3.0.0",),
        ("PYSEC-2023-221",), "verified", "ok", MERGE, LocalForge(), "main", reporter, [],
        on_conflict=remake,
    )  # fmt: skip

    assert asked == [("main", ("requirements.txt",))]
    assert action.delivered == "branch"
    assert action.notes[0].startswith("merge refused, left for review: ")
    assert "conflicting file(s): requirements.txt" in action.notes[0]
    assert action.notes[1:] == ((why,) if why else ())
    assert git(two_fixes, "rev-parse", "main").strip() == main_before
    assert git(two_fixes, "rev-parse", "fix-werkzeug").strip() == sha
    assert [r.kind for r in reporter.records] == ["deliver"]
    assert reporter.records[0].outcome["level"] == 2


def test_a_remake_replaces_the_conflicting_delivery(two_fixes: Path) -> None:
    merge_branch(two_fixes, "fix-urllib3", target="main", message="first")
    remade = Action(
        ("PyPI:werkzeug@3.0.0",), ("PYSEC-2023-221",), "fix-werkzeug-2", "verified", "ok",
        MERGE, "merged",
    )  # fmt: skip
    sha = git(two_fixes, "rev-parse", "fix-werkzeug").strip()
    action = _deliver(
        two_fixes, "fix-werkzeug", sha, "# Fix werkzeug\n", ("PyPI:werkzeug@3.0.0",),
        ("PYSEC-2023-221",), "verified", "ok", MERGE, LocalForge(), "main", Records(), [],
        on_conflict=lambda target, files: remade,
    )  # fmt: skip
    assert action is remade
