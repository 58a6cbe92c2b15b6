"""Merging a fix branch and reverting the merge, on real repositories made with the real git CLI.

The promises under test: a merge lands as a `--no-ff` merge commit on the target branch,
updating the target's worktree only when it is clean; a target that is not checked out moves
while the user's checkout stays byte-identical; a dirty or busy target, a conflict, unrelated
histories or a stale branch are refused with nothing changed (no ref moved, no MERGE_HEAD, no
worktree left); a revert restores the target's tree to the one before the merge, and a second
revert of the same merge is refused.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from dlv_repos import git, make_repo, snapshot

from patchpilot.deliver import merge as merge_module
from patchpilot.deliver.merge import (
    merge_branch,
    revert_merge,
    reverted_by,
    worktrees,
)
from patchpilot.errors import DeliverError

MESSAGE = "Merge the requests upgrade\n\n# Why\n\nFixes GHSA-j8r2-6x86-q33q.\n"


def commit_files(
    repo: Path, branch: str, files: dict[str, str], message: str, *, start: str | None = None
) -> str:
    """Commit `files` on `branch` (made from `start` when given), then go back where HEAD was."""
    back = git(repo, "symbolic-ref", "--short", "HEAD").strip()
    if start is None:
        git(repo, "checkout", "--quiet", branch)
    else:
        git(repo, "checkout", "--quiet", "-b", branch, start)
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)
    sha = tip(repo, branch)
    git(repo, "checkout", "--quiet", back)
    return sha


def tip(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", f"{ref}^{{commit}}").strip()


def tree(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", f"{ref}^{{tree}}").strip()


def parents(repo: Path, ref: str) -> list[str]:
    return git(repo, "rev-list", "--parents", "-n", "1", ref).split()[1:]


def refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


def leftovers(repo: Path) -> list[str]:
    """Signs of a half-done merge or revert anywhere in the repository's git directory."""
    gitdir = repo / ".git"
    names = ("MERGE_HEAD", "MERGE_MSG", "REVERT_HEAD", "CHERRY_PICK_HEAD", "rr-cache")
    found = [p.relative_to(gitdir).as_posix() for n in names for p in gitdir.rglob(n)]
    admin = gitdir / "worktrees"
    found += [p.name for p in admin.iterdir()] if admin.is_dir() else []
    return found


def checkout_state(path: Path) -> tuple[str, dict[str, bytes]]:
    """Status and file bytes of a linked worktree (its index lives in the main git dir)."""
    files = {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != ".git"
    }
    return git(path, "--no-optional-locks", "status", "--porcelain=v1", "-z"), files


def make_dirty(repo: Path) -> None:
    (repo / "app.py").write_text("print('work in progress')\n")
    (repo / "staged.txt").write_text("staged, not committed\n")
    git(repo, "add", "staged.txt")
    (repo / "notes.txt").write_text("untracked\n")


@pytest.fixture
def scratch_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where temporary worktrees go during a test, to check that none is left behind."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


@pytest.fixture
def history(tmp_path: Path, scratch_parent: Path) -> Path:
    """`main` (checked out) one commit past the start; from the start: `feature` (compatible
    with main), `clash` (edits main's line of app.py differently) and `release`."""
    repo = make_repo(tmp_path / "project")
    start = tip(repo, "main")
    commit_files(
        repo,
        "feature",
        {
            "app.py": "import requests  # pinned by the fix\n\nprint(requests.__version__)\n",
            "feature.py": "FEATURE = True\n",
        },
        "Upgrade requests",
        start=start,
    )
    commit_files(
        repo, "clash", {"app.py": "import requests\n\nprint('clash')\n"}, "Clash", start=start
    )
    commit_files(repo, "release", {"CHANGES.md": "# 1.0\n"}, "Release notes", start=start)
    commit_files(
        repo,
        "main",
        {"app.py": "import requests\n\nprint(requests.__version__, 'main')\n", "README.md": "hi\n"},
        "Main moves on",
    )
    return repo


def test_merge_into_the_checked_out_clean_branch(history: Path, scratch_parent: Path) -> None:
    old_main, feature = tip(history, "main"), tip(history, "feature")

    result = merge_branch(history, "feature", message=MESSAGE)

    assert result.target == "main"  # the default: the branch checked out in the main worktree
    assert (result.previous_tip, result.branch_commit) == (old_main, feature)
    assert tip(history, "main") == tip(history, "HEAD") == result.merge_commit
    assert parents(history, result.merge_commit) == [old_main, feature]
    assert git(history, "log", "-1", "--format=%B", result.merge_commit) == MESSAGE + "\n"
    # The user's tree now holds the merge: both sides' changes, nothing left uncommitted.
    assert git(history, "status", "--porcelain", "--untracked-files=all") == ""
    assert (history / "feature.py").read_text() == "FEATURE = True\n"
    assert (history / "app.py").read_text() == (
        "import requests  # pinned by the fix\n\nprint(requests.__version__, 'main')\n"
    )
    assert (history / "README.md").is_file()
    assert leftovers(history) == []
    assert [w.path for w in worktrees(history)] == [history]
    assert list(scratch_parent.iterdir()) == []


@pytest.mark.parametrize("dirty", [False, True], ids=["clean", "dirty"])
def test_merge_into_a_branch_not_checked_out_leaves_the_checkout_identical(
    history: Path, scratch_parent: Path, dirty: bool
) -> None:
    if dirty:
        make_dirty(history)
    before = snapshot(history)
    old_release, feature = tip(history, "release"), tip(history, "feature")
    other = {r for r in refs(history).splitlines() if "refs/heads/release " not in r}

    result = merge_branch(history, "feature", target="release", message=MESSAGE)

    assert snapshot(history) == before
    assert result.target == "release"
    assert tip(history, "release") == result.merge_commit
    assert parents(history, result.merge_commit) == [old_release, feature]
    assert git(history, "show", "release:feature.py") == "FEATURE = True\n"
    assert git(history, "show", "release:CHANGES.md") == "# 1.0\n"
    assert git(history, "reflog", "-1", "--format=%gs", "release").strip() == (
        "patchpilot: merge feature"
    )
    assert {r for r in refs(history).splitlines() if "refs/heads/release " not in r} == other
    assert leftovers(history) == []
    assert [w.path for w in worktrees(history)] == [history]
    assert list(scratch_parent.iterdir()) == []


@pytest.mark.parametrize("where", ["main-worktree", "linked-worktree"])
def test_dirty_target_is_refused_with_nothing_changed(
    history: Path, tmp_path: Path, where: str
) -> None:
    if where == "main-worktree":
        target, tree_dir = "main", history
    else:
        target, tree_dir = "release", tmp_path / "side"
        git(history, "worktree", "add", "--quiet", str(tree_dir), "release")
    make_dirty(tree_dir)
    before, refs_before = snapshot(history), refs(history)
    side_before = checkout_state(tree_dir) if tree_dir != history else None
    listed = worktrees(history)

    with pytest.raises(DeliverError) as caught:
        merge_branch(history, "feature", target=target, message=MESSAGE)

    text = str(caught.value)
    assert str(tree_dir) in text
    assert "3 uncommitted change(s)" in text
    for path in ("app.py", "staged.txt", "notes.txt"):
        assert path in text
    assert "nothing was changed" in text
    assert snapshot(history) == before
    assert refs(history) == refs_before
    if side_before is not None:
        assert checkout_state(tree_dir) == side_before
    assert worktrees(history) == listed


@pytest.mark.parametrize("checked_out", [True, False], ids=["checked-out", "not-checked-out"])
def test_conflict_is_abandoned_cleanly(
    history: Path, scratch_parent: Path, checked_out: bool
) -> None:
    if not checked_out:
        git(history, "checkout", "--quiet", "release")
    before, refs_before = snapshot(history), refs(history)

    with pytest.raises(DeliverError) as caught:
        merge_branch(history, "clash", target="main", message=MESSAGE)

    assert "cannot merge clash into main: 1 conflicting file(s): app.py" in str(caught.value)
    assert snapshot(history) == before
    assert refs(history) == refs_before
    assert leftovers(history) == []
    assert [w.path for w in worktrees(history)] == [history]
    assert list(scratch_parent.iterdir()) == []


@pytest.mark.parametrize("checked_out", [True, False], ids=["checked-out", "not-checked-out"])
def test_revert_restores_the_tree_before_the_merge(
    history: Path, scratch_parent: Path, checked_out: bool
) -> None:
    if not checked_out:
        git(history, "checkout", "--quiet", "release")
    before = snapshot(history)
    merged = merge_branch(history, "feature", target="main", message=MESSAGE)
    assert tree(history, "main") != tree(history, merged.previous_tip)

    reverted = revert_merge(
        history, merged.merge_commit, target="main", message="Revert the requests upgrade"
    )

    assert merged.undo["merge_commit"] == merged.merge_commit
    assert merged.undo["restores_tree_of"] == merged.previous_tip
    assert reverted.target == "main"
    assert tip(history, "main") == reverted.revert_commit
    assert parents(history, reverted.revert_commit) == [merged.merge_commit]
    assert tree(history, "main") == tree(history, merged.previous_tip)
    body = git(history, "log", "-1", "--format=%B", reverted.revert_commit)
    assert body.startswith("Revert the requests upgrade\n\n")
    assert f"This reverts commit {merged.merge_commit}" in body
    assert reverted_by(history, merged.merge_commit, target="main") == reverted.revert_commit
    if checked_out:
        # Back to the files the user had before the merge, and a clean status.
        after = snapshot(history)
        assert after["files"] == before["files"]
        assert after["status"] == ""
    else:
        assert snapshot(history) == before
    assert leftovers(history) == []
    assert list(scratch_parent.iterdir()) == []


def test_second_revert_is_refused_until_the_revert_is_itself_reverted(history: Path) -> None:
    merged = merge_branch(history, "feature", message=MESSAGE)
    first = revert_merge(history, merged.merge_commit, target="main", message="Revert")
    refs_before = refs(history)

    with pytest.raises(
        DeliverError, match=f"already reverted on main by commit {first.revert_commit[:12]}"
    ):
        revert_merge(history, merged.merge_commit, target="main", message="Revert again")
    assert refs(history) == refs_before

    # A user re-applies the merge by reverting the revert: the merge counts as live again.
    git(history, "revert", "--no-edit", first.revert_commit)
    assert reverted_by(history, merged.merge_commit, target="main") is None
    second = revert_merge(history, merged.merge_commit, target="main", message="Revert again")
    assert tree(history, "main") == tree(history, merged.previous_tip)
    assert reverted_by(history, merged.merge_commit, target="main") == second.revert_commit


def test_revert_refuses_a_commit_that_is_not_a_merge_or_not_on_the_target(
    history: Path,
) -> None:
    elsewhere = merge_branch(history, "feature", target="release", message=MESSAGE)
    refs_before = refs(history)
    with pytest.raises(DeliverError, match="is not a merge commit"):
        revert_merge(history, tip(history, "feature"), target="main", message="Revert")
    with pytest.raises(DeliverError, match="is not in the history of main"):
        revert_merge(history, elsewhere.merge_commit, target="main", message="Revert")
    assert refs(history) == refs_before


def test_conflicting_revert_is_abandoned_cleanly(history: Path) -> None:
    merged = merge_branch(history, "feature", message=MESSAGE)
    # Later work edits the very line the merge brought in: undoing the merge now conflicts.
    git(history, "checkout", "--quiet", "main")
    (history / "app.py").write_text(
        "import requests  # pinned, and reviewed\n\nprint(requests.__version__, 'main')\n"
    )
    git(history, "commit", "--quiet", "-am", "Review the pin")
    before, refs_before = snapshot(history), refs(history)

    with pytest.raises(DeliverError) as caught:
        revert_merge(history, merged.merge_commit, target="main", message="Revert")

    assert "1 conflicting file(s): app.py" in str(caught.value)
    assert snapshot(history) == before
    assert refs(history) == refs_before
    assert leftovers(history) == []


def test_unrelated_histories_are_refused(history: Path) -> None:
    git(history, "checkout", "--quiet", "--orphan", "lonely")
    git(history, "rm", "--quiet", "-r", "--cached", ".")
    (history / "other.txt").write_text("another project\n")
    git(history, "add", "other.txt")
    git(history, "commit", "--quiet", "-m", "Unrelated root")
    git(history, "checkout", "--quiet", "--force", "main")
    git(history, "clean", "--quiet", "-fdx")
    refs_before = refs(history)

    with pytest.raises(DeliverError, match="unrelated histories"):
        merge_branch(history, "lonely", target="main", message=MESSAGE)
    assert refs(history) == refs_before


def test_a_branch_already_merged_is_refused(history: Path) -> None:
    merge_branch(history, "feature", message=MESSAGE)
    refs_before = refs(history)
    with pytest.raises(DeliverError, match="is already part of main"):
        merge_branch(history, "feature", message=MESSAGE)
    assert refs(history) == refs_before


def test_a_branch_that_moved_after_verification_is_refused(history: Path) -> None:
    verified = tip(history, "feature")
    commit_files(history, "feature", {"late.py": "x = 1\n"}, "A late commit")
    refs_before = refs(history)
    with pytest.raises(DeliverError, match="not at the expected commit"):
        merge_branch(history, "feature", message=MESSAGE, expected_commit=verified)
    assert refs(history) == refs_before


def test_a_target_being_rebased_elsewhere_is_refused(history: Path, tmp_path: Path) -> None:
    side = tmp_path / "side"
    git(history, "worktree", "add", "--quiet", str(side), "release")
    # An interactive rebase of release paused at a `break`: release is detached, mid-rebase.
    env = {**os.environ, "GIT_SEQUENCE_EDITOR": "sed -i 1ibreak"}
    subprocess.run(
        ["git", "-C", str(side), "rebase", "--quiet", "-i", "main"],
        env=env,
        check=True,
        capture_output=True,
    )
    assert git(side, "symbolic-ref", "-q", "HEAD", check=False) == ""
    refs_before = refs(history)

    with pytest.raises(DeliverError, match="release is being rebased in a worktree"):
        merge_branch(history, "feature", target="release", message=MESSAGE)
    assert refs(history) == refs_before


def test_default_target_on_a_detached_head_is_the_default_branch(history: Path) -> None:
    git(history, "checkout", "--quiet", "--detach", "release")
    before = snapshot(history)

    result = merge_branch(history, "feature", message=MESSAGE)

    assert result.target == "main"
    assert tip(history, "main") == result.merge_commit
    assert snapshot(history) == before


def test_target_that_moved_meanwhile_is_not_overwritten(history: Path) -> None:
    """The compare-and-swap of the final step: a stale old tip leaves the branch alone."""
    stale = tip(history, "release")
    current = commit_files(history, "release", {"hotfix.txt": "x\n"}, "Hotfix")
    merge_commit = tip(history, "feature")

    with pytest.raises(DeliverError, match="release moved while the new commit was being made"):
        merge_module._land(history, "release", stale, merge_commit, "test")
    assert tip(history, "release") == current


def test_message_and_names_are_checked(history: Path) -> None:
    with pytest.raises(DeliverError, match="needs a commit message"):
        merge_branch(history, "feature", message="  \n")
    with pytest.raises(DeliverError, match="branch nope does not exist"):
        merge_branch(history, "nope", message=MESSAGE)
    with pytest.raises(DeliverError, match="not a valid branch name"):
        merge_branch(history, "feature", target="-x", message=MESSAGE)
    with pytest.raises(DeliverError, match="into itself"):
        merge_branch(history, "main", target="refs/heads/main", message=MESSAGE)


def test_a_merge_in_progress_in_the_target_worktree_is_refused(history: Path) -> None:
    git(history, "merge", "--quiet", "--no-ff", "--no-commit", "release")
    before, refs_before = snapshot(history), refs(history)
    with pytest.raises(DeliverError, match="a merge is in progress in the worktree where main"):
        merge_branch(history, "feature", message=MESSAGE)
    assert snapshot(history) == before
    assert refs(history) == refs_before
