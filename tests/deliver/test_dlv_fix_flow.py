"""The delivery plumbing end to end: a real uv relock inside a FixWorktree of a real repository.

uv resolves against PyPI (with `--exclude-newer`, so the resolution is the one the frozen
assets record); the deltas are read from the lockfile at the base commit and on the new
branch; the PR body goes into the commit message. A resolver failure leaves no branch.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from dlv_repos import git, snapshot

from patchpilot.deliver.git import (
    FixWorktree,
    diff_files,
    head_commit,
    is_dirty,
    unique_branch_name,
)
from patchpilot.deliver.prbody import pr_body
from patchpilot.fixers.changeset import ChangeSet, DeltaLevel, FileEdit, write_changeset
from patchpilot.fixers.deltas import package_deltas, read_lock_at
from patchpilot.sources.uv_lock import UvLockSource

UV = Path(sys.executable).with_name("uv")
EXCLUDE_NEWER = "2024-06-01T00:00:00Z"  # the cut-off the assets were locked with

pytestmark = pytest.mark.network


def uv_lock(project: Path) -> None:
    subprocess.run(
        [str(UV), "lock", "--exclude-newer", EXCLUDE_NEWER, "--quiet"],
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
    )


def upgrade_edit(root: Path, pin: str) -> ChangeSet:
    text = (root / "pyproject.toml").read_bytes().decode()
    return ChangeSet(
        ("requests-upgrade",),
        (FileEdit("pyproject.toml", text, text.replace("requests==2.25.1", pin)),),
    )


def test_relock_in_a_worktree_gives_an_honest_branch(project_repo: Path) -> None:
    (project_repo / "app.py").write_text("# uncommitted work\n")
    assert is_dirty(project_repo)
    before = snapshot(project_repo)
    base = head_commit(project_repo)
    branch = unique_branch_name(project_repo, "patchpilot/fix-requests-2.31.0")

    with FixWorktree(project_repo, branch) as wt:
        changeset = upgrade_edit(wt.path, "requests==2.31.0")
        write_changeset(changeset, wt.path, dry_run=False)
        uv_lock(wt.path)
        deltas = package_deltas(
            read_lock_at(project_repo, base, "uv.lock", UvLockSource),
            UvLockSource().read(wt.path / "uv.lock"),
        )
        body = pr_body(
            "Upgrade requests to 2.31.0",
            [],
            [],
            deltas,
            commands=[f"uv lock --exclude-newer {EXCLUDE_NEWER}"],
        )
        sha = wt.commit(body)

    assert wt.kept
    assert snapshot(project_repo) == before
    assert sorted(diff_files(project_repo, base, branch)) == ["pyproject.toml", "uv.lock"]
    on_branch = read_lock_at(project_repo, branch, "uv.lock", UvLockSource)
    at_base = read_lock_at(project_repo, base, "uv.lock", UvLockSource)
    assert on_branch is not None
    assert at_base is not None
    assert package_deltas(at_base, on_branch) == deltas
    # uv keeps what still fits (a minimal relock): only packages whose pin moved are listed.
    kept = {(c.name, c.version) for c in at_base.components} & {
        (c.name, c.version) for c in on_branch.components
    }
    assert kept
    assert not {(d.name, d.before) for d in deltas} & kept
    requests = next(d for d in deltas if d.name == "requests")
    assert (requests.before, requests.after, requests.direct) == ("2.25.1", "2.31.0", True)
    assert any(not d.direct for d in deltas)  # the relock moved transitive packages too
    message = git(project_repo, "log", "-1", "--format=%B", sha)
    for d in deltas:
        assert f"| {d.name} |" in message
    assert ("**major**" in message) is any(d.level is DeltaLevel.MAJOR for d in deltas)


def test_resolver_failure_leaves_nothing_behind(project_repo: Path) -> None:
    before = snapshot(project_repo)
    branches_before = git(project_repo, "branch", "--list")
    branch = "patchpilot/fix-requests-impossible"
    with (
        pytest.raises(subprocess.CalledProcessError) as err,
        FixWorktree(project_repo, branch) as wt,
    ):
        write_changeset(upgrade_edit(wt.path, "requests==99.0.0"), wt.path, dry_run=False)
        wt.commit("Manifest edit before the relock")
        uv_lock(wt.path)
    assert "requests" in err.value.stderr
    assert not wt.kept
    assert snapshot(project_repo) == before
    assert git(project_repo, "branch", "--list") == branches_before
    assert git(project_repo, "worktree", "list").count("\n") == 1
