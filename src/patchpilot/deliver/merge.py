"""Merging a fix branch into its target branch, and reverting that merge, with local git.

Both operations are made in a temporary worktree detached at the target's tip, so a conflict
only ever happens there: it is abandoned with that worktree and reported as a `DeliverError`
listing the conflicting files, and the user's working trees, index and refs are left exactly
as they were. The finished commit is then published in one step. When the target branch is
not checked out anywhere, its ref moves with a compare-and-swap `git update-ref` (it fails if
the branch moved meanwhile). When it is checked out in a worktree, that worktree must be clean
(untracked files count) and have no merge, rebase, cherry-pick or revert in progress; it is
then fast-forwarded to the new commit, which updates its files the way a `git merge` there
would have. A branch that some worktree is rebasing or bisecting is refused outright.

Every merge is `--no-ff`, so `revert_merge` can undo it with `git revert -m 1`; the revert's
message carries git's own "This reverts commit …" line, which `reverted_by` reads back to
refuse reverting the same merge twice.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from patchpilot.deliver.git import (
    _FATAL,
    _DeferredInterrupts,
    _git,
    _identity_config,
    _out,
    branch_exists,
    check_branch_name,
    current_branch,
    dirty_paths,
    merge_base,
    repo_root,
    resolve_commit,
)
from patchpilot.errors import DeliverError, GitError

_HEADS = "refs/heads/"
_SHOWN_PATHS = 10
_REVERTS = re.compile(r"This reverts commit ([0-9a-f]{40,64})")
# Files in a worktree's git directory that mean an operation is half-way through there.
_IN_PROGRESS = (
    ("MERGE_HEAD", "a merge"),
    ("CHERRY_PICK_HEAD", "a cherry-pick"),
    ("REVERT_HEAD", "a revert"),
    ("rebase-merge", "a rebase"),
    ("rebase-apply", "a rebase or `git am`"),
    ("sequencer", "a cherry-pick or revert sequence"),
)
# Never record conflict resolutions from an abandoned scratch merge in the user's rr-cache.
_NO_RERERE = ("-c", "rerere.enabled=false")


@dataclass(frozen=True, slots=True)
class MergeResult:
    """A `--no-ff` merge made: the target branch moved from `previous_tip` to `merge_commit`,
    whose second parent is `branch_commit`. `revert_merge(repo, merge_commit, target=target,
    message=…)` undoes it."""

    target: str
    merge_commit: str
    previous_tip: str
    branch_commit: str

    @property
    def undo(self) -> dict[str, str | int]:
        """How to undo this merge, as JSON-ready data for the ledger."""
        return {
            "operation": "revert_merge",
            "merge_commit": self.merge_commit,
            "mainline": 1,
            "target": self.target,
            "restores_tree_of": self.previous_tip,
        }


@dataclass(frozen=True, slots=True)
class RevertResult:
    """A merge reverted: `revert_commit` is the new tip of `target`."""

    target: str
    revert_commit: str


@dataclass(frozen=True, slots=True)
class Worktree:
    """One entry of `git worktree list`: its directory, HEAD and checked-out branch."""

    path: Path
    head: str | None
    branch: str | None  # short name; None when detached or bare
    bare: bool = False
    missing: bool = False  # git calls it prunable: the directory is gone


def worktrees(repo: Path | str) -> tuple[Worktree, ...]:
    """Every worktree of the repository that holds `repo`, the main one first."""
    proc = _git(Path(repo), ["worktree", "list", "--porcelain"], what="cannot list worktrees")
    found: list[Worktree] = []
    for block in _out(proc).split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, _, value = line.partition(" ")
            fields[key] = value
        if "worktree" not in fields:
            continue
        ref = fields.get("branch")
        found.append(
            Worktree(
                path=Path(fields["worktree"]),
                head=fields.get("HEAD"),
                branch=ref.removeprefix(_HEADS) if ref and ref.startswith(_HEADS) else None,
                bare="bare" in fields,
                missing="prunable" in fields,
            )
        )
    return tuple(found)


def default_branch(repo: Path | str) -> str:
    """The repository's default branch: the one `origin/HEAD` names, else the configured
    `init.defaultBranch`, else `main` or `master`; the first of these that exists locally."""
    root = repo_root(repo)
    candidates: list[str] = []
    proc = _git(
        root,
        ["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"],
        what="cannot read origin/HEAD",
        ok=(0, 1, _FATAL),
    )
    if proc.returncode == 0 and "/" in _out(proc):
        candidates.append(_out(proc).split("/", 1)[1])
    proc = _git(
        root,
        ["config", "--get", "init.defaultBranch"],
        what="cannot read the git configuration",
        ok=(0, 1),
    )
    if proc.returncode == 0 and _out(proc):
        candidates.append(_out(proc))
    candidates += ["main", "master"]
    for name in candidates:
        if branch_exists(root, name):
            return name
    raise DeliverError(
        f"{root}: no target branch given, the main worktree has no branch checked out, and "
        f"none of {', '.join(dict.fromkeys(candidates))} exists: name the target branch"
    )


def merge_branch(
    repo: Path | str,
    branch: str,
    *,
    target: str | None = None,
    message: str,
    expected_commit: str | None = None,
) -> MergeResult:
    """Merge local branch `branch` into `target` with a `--no-ff` merge commit.

    `target` defaults to the branch checked out in the main worktree, else the default
    branch. `expected_commit` (when given) must be the branch's tip, so that exactly the
    commit that was verified is merged. Refused, with nothing changed: unrelated histories,
    a branch already contained in the target, a dirty or busy target worktree, a conflict.
    """
    root = repo_root(repo)
    _need_message(root, message)
    if target is None:
        main = worktrees(root)[0]
        target = main.branch if main.branch and not main.bare else default_branch(root)
    target = _local_branch(root, target, "target branch")
    branch = _local_branch(root, branch, "branch")
    if branch == target:
        raise DeliverError(f"{root}: cannot merge branch {branch} into itself")
    previous_tip = resolve_commit(root, _HEADS + target)
    branch_commit = resolve_commit(root, _HEADS + branch)
    if expected_commit is not None and resolve_commit(root, expected_commit) != branch_commit:
        raise DeliverError(
            f"{root}: branch {branch} is at {branch_commit}, not at the expected commit "
            f"{expected_commit}: it changed after it was checked; nothing was merged"
        )
    if merge_base(root, previous_tip, branch_commit) is None:
        raise DeliverError(
            f"{root}: branch {branch} shares no history with {target} (unrelated histories); "
            "nothing was merged"
        )
    if _is_ancestor(root, branch_commit, previous_tip):
        raise DeliverError(
            f"{root}: branch {branch} ({branch_commit[:12]}) is already part of {target}; "
            "nothing to merge"
        )
    _guard(root, target)
    identity = _identity_config(root)
    with _scratch(root, previous_tip) as (work, temp):
        note = temp / "MERGE_MSG"
        note.write_text(message, encoding="utf-8")
        proc = _git(
            work,
            [
                "merge",
                "--quiet",
                "--no-ff",
                "--no-edit",
                "--no-squash",
                "--no-log",
                "--no-verify",
                "--cleanup=whitespace",
                f"--file={note}",
                branch_commit,
            ],
            what=f"cannot merge {branch} into {target}",
            ok=(0, 1),
            config=[*_NO_RERERE, *identity],
            shown=root,
        )
        if proc.returncode != 0:
            _raise_conflict(root, work, proc.stderr, f"cannot merge {branch} into {target}")
        merge_commit = resolve_commit(work, "HEAD")
    _land(root, target, previous_tip, merge_commit, f"patchpilot: merge {branch}")
    return MergeResult(
        target=target,
        merge_commit=merge_commit,
        previous_tip=previous_tip,
        branch_commit=branch_commit,
    )


def revert_merge(repo: Path | str, merge_commit: str, *, target: str, message: str) -> RevertResult:
    """Revert merge commit `merge_commit` on `target` with `git revert -m 1`.

    Refused, with nothing changed: a commit that is not a merge, one that is not in
    `target`'s history, a merge already reverted there, a revert that would change nothing,
    a dirty or busy target worktree, a conflict.
    """
    root = repo_root(repo)
    _need_message(root, message)
    target = _local_branch(root, target, "target branch")
    merge = resolve_commit(root, merge_commit)
    parents = _parents(root, merge)
    if len(parents) < 2:
        raise DeliverError(f"{root}: commit {merge[:12]} is not a merge commit; nothing reverted")
    tip = resolve_commit(root, _HEADS + target)
    if not _is_ancestor(root, merge, tip):
        raise DeliverError(
            f"{root}: merge {merge[:12]} is not in the history of {target}; nothing reverted"
        )
    undone_by = reverted_by(root, merge, target=target)
    if undone_by is not None:
        raise DeliverError(
            f"{root}: merge {merge[:12]} is already reverted on {target} by commit "
            f"{undone_by[:12]}; nothing reverted"
        )
    _guard(root, target)
    text = message.rstrip()
    if f"This reverts commit {merge}" not in text:
        text += f"\n\nThis reverts commit {merge}, reversing\nchanges made to {parents[0]}.\n"
    identity = _identity_config(root)
    with _scratch(root, tip) as (work, _):
        proc = _git(
            work,
            ["revert", "--no-commit", "--mainline", "1", merge],
            what=f"cannot revert {merge[:12]} on {target}",
            ok=(0, 1),
            config=_NO_RERERE,
            shown=root,
        )
        if proc.returncode != 0:
            _raise_conflict(root, work, proc.stderr, f"cannot revert {merge[:12]} on {target}")
        staged = _git(
            work,
            ["diff", "--cached", "--quiet", "--no-ext-diff"],
            what="cannot compare the revert",
            ok=(0, 1),
            shown=root,
        )
        if staged.returncode == 0:
            raise DeliverError(
                f"{root}: reverting merge {merge[:12]} would change nothing on {target} "
                "(its changes are already undone there); nothing reverted"
            )
        _git(
            work,
            ["commit", "--quiet", "--no-verify", "--cleanup=whitespace", "--file=-"],
            what=f"cannot commit the revert of {merge[:12]}",
            stdin=text.encode("utf-8"),
            config=identity,
            shown=root,
        )
        revert_commit = resolve_commit(work, "HEAD")
    _land(root, target, tip, revert_commit, f"patchpilot: revert {merge[:12]}")
    return RevertResult(target=target, revert_commit=revert_commit)


def reverted_by(repo: Path | str, merge_commit: str, *, target: str) -> str | None:
    """The commit on `target` that currently undoes `merge_commit`, or None.

    Reverts are found by git's "This reverts commit <id>" line. A revert of that revert
    applies the merge again, and a later revert of the merge takes it out once more.
    """
    root = repo_root(repo)
    merge = resolve_commit(root, merge_commit)
    tip = resolve_commit(root, _HEADS + _local_branch(root, target, "target branch"))
    proc = _git(
        root,
        [
            "log",
            "--reverse",
            "--fixed-strings",
            "--grep=This reverts commit ",
            "--format=%H%x1f%B%x1e",
            f"{merge}..{tip}",
            "--",
        ],
        what=f"cannot read the history of {target}",
    )
    # +1 for a commit that applies the merge's changes, -1 for one that takes them out.
    sign = {merge: 1}
    level, undone_by = 1, None
    for record in proc.stdout.decode("utf-8", "replace").split("\x1e"):
        sha, _, body = record.strip().partition("\x1f")
        undone = next((x for x in _REVERTS.findall(body) if x in sign), None)
        if sha and undone is not None:
            sign[sha] = -sign[undone]
            level += sign[sha]
            undone_by = sha if sign[sha] < 0 else undone_by
    return undone_by if level <= 0 else None


def _need_message(root: Path, message: str) -> None:
    if not message.strip():
        raise DeliverError(f"{root}: a merge or revert needs a commit message; none was given")


def _local_branch(root: Path, name: str, what: str) -> str:
    short = name.removeprefix(_HEADS)
    try:
        check_branch_name(root, short)
    except GitError as e:
        raise DeliverError(f"{root}: {what} {name!r} is not a valid branch name") from e
    if not branch_exists(root, short):
        raise DeliverError(f"{root}: {what} {short} does not exist")
    return short


def _is_ancestor(root: Path, ancestor: str, descendant: str) -> bool:
    proc = _git(
        root,
        ["merge-base", "--is-ancestor", ancestor, descendant],
        what=f"cannot compare {ancestor[:12]} with {descendant[:12]}",
        ok=(0, 1),
    )
    return proc.returncode == 0


def _parents(root: Path, commit: str) -> list[str]:
    proc = _git(
        root,
        ["rev-list", "--parents", "-n", "1", commit, "--"],
        what=f"cannot read the parents of {commit[:12]}",
    )
    return _out(proc).split()[1:]


def _git_dir(worktree: Path) -> Path:
    proc = _git(worktree, ["rev-parse", "--absolute-git-dir"], what="cannot find the git directory")
    return Path(_out(proc))


def _common_dir(root: Path) -> Path:
    proc = _git(root, ["rev-parse", "--git-common-dir"], what="cannot find the git directory")
    return (root / _out(proc)).resolve()


def _busy(root: Path, target: str) -> str | None:
    """Why `target` must not move now because some worktree is rebasing or bisecting it."""
    common = _common_dir(root)
    admin = [common, *sorted(p for p in (common / "worktrees").glob("*") if p.is_dir())]
    for gitdir in admin:
        for state in ("rebase-merge", "rebase-apply"):
            head_name = gitdir / state / "head-name"
            if head_name.is_file() and head_name.read_text("utf-8", "replace").strip() == (
                _HEADS + target
            ):
                return f"{target} is being rebased in a worktree ({gitdir})"
        bisect = gitdir / "BISECT_START"
        if bisect.is_file() and bisect.read_text("utf-8", "replace").strip() == target:
            return f"a bisect started from {target} is in progress ({gitdir})"
    return None


def _holder(root: Path, target: str) -> Worktree | None:
    """The worktree that has `target` checked out, after checking it may be changed."""
    reason = _busy(root, target)
    if reason is not None:
        raise DeliverError(f"{root}: {reason}; finish or abort it first: nothing was changed")
    held = next((w for w in worktrees(root) if w.branch == target), None)
    if held is None:
        return None
    if held.missing or not held.path.is_dir():
        raise DeliverError(
            f"{root}: {target} is checked out in a worktree whose directory is gone "
            f"({held.path}); run `git worktree prune` or restore it: nothing was changed"
        )
    gitdir = _git_dir(held.path)
    for name, operation in _IN_PROGRESS:
        if (gitdir / name).exists():
            raise DeliverError(
                f"{held.path}: {operation} is in progress in the worktree where {target} is "
                "checked out; finish or abort it first: nothing was changed"
            )
    dirty = dirty_paths(held.path)
    if dirty:
        shown = ", ".join(dirty[:_SHOWN_PATHS])
        if len(dirty) > _SHOWN_PATHS:
            shown += f" and {len(dirty) - _SHOWN_PATHS} more"
        raise DeliverError(
            f"{held.path}: {target} is checked out here with {len(dirty)} uncommitted "
            f"change(s) ({shown}); commit or stash them and run again: nothing was changed"
        )
    return held


def _guard(root: Path, target: str) -> None:
    """Refuse early, before any work, when `target` cannot be moved safely."""
    _holder(root, target)


def _land(root: Path, target: str, old: str, new: str, reflog: str) -> None:
    """Move `target` from `old` to `new`, updating the worktree that has it checked out."""
    deferred = _DeferredInterrupts()
    with deferred.held():
        held = _holder(root, target)  # again: the user may have switched branches meanwhile
        if held is None:
            proc = _git(
                root,
                ["update-ref", "-m", reflog, _HEADS + target, new, old],
                what=f"cannot update {target}",
                ok=(0, 1, _FATAL),
                shielded=True,
            )
            if proc.returncode != 0:
                raise DeliverError(
                    f"{root}: {target} moved while the new commit was being made (it is no "
                    f"longer at {old[:12]}); nothing was changed"
                )
        else:
            if current_branch(held.path) != target or resolve_commit(held.path, "HEAD") != old:
                raise DeliverError(
                    f"{held.path}: {target} moved while the new commit was being made; "
                    "nothing was changed"
                )
            _git(
                held.path,
                [
                    "merge",
                    "--quiet",
                    "--ff-only",
                    "--no-autostash",
                    "--no-verify-signatures",
                    new,
                ],
                what=f"cannot bring the worktree of {target} up to the new commit",
                shielded=True,
                shown=held.path,
            )
    if deferred.received:
        raise KeyboardInterrupt


def _raise_conflict(root: Path, work: Path, stderr: bytes, what: str) -> None:
    """Raise the `DeliverError` for a conflicted scratch merge/revert, or the `GitError`."""
    proc = _git(
        work,
        ["diff", "--name-only", "-z", "--diff-filter=U", "--no-ext-diff"],
        what="cannot list the conflicting files",
        shown=root,
    )
    conflicted = sorted({p for p in proc.stdout.decode("utf-8", "replace").split("\0") if p})
    if not conflicted:
        raise GitError(root, what, stderr=stderr.decode("utf-8", "replace"))
    raise DeliverError(
        f"{root}: {what}: {len(conflicted)} conflicting file(s): {', '.join(conflicted)}; "
        "the attempt was abandoned and nothing was changed"
    )


@contextmanager
def _scratch(root: Path, commit: str) -> Iterator[tuple[Path, Path]]:
    """A temporary worktree detached at `commit` (and its temporary parent directory).

    It is removed on leaving whatever happened; an interrupt during the removal is held
    until it is done.
    """
    temp = Path(tempfile.mkdtemp(prefix="patchpilot-merge-"))
    path = temp / root.name
    created = False
    deferred = _DeferredInterrupts()
    try:
        _git(
            root,
            ["worktree", "add", "--quiet", "--detach", str(path), commit],
            what="cannot create a temporary worktree",
        )
        created = True
        yield path, temp
    except BaseException as e:
        with deferred.held():
            problems = _remove_scratch(root, path, temp, created=created)
        if problems:
            e.add_note(f"clean-up: {problems}")
        raise
    with deferred.held():
        problems = _remove_scratch(root, path, temp, created=created)
    if problems:
        raise GitError(root, "clean-up of the temporary worktree failed: " + problems)
    if deferred.received:
        raise KeyboardInterrupt


def _remove_scratch(root: Path, path: Path, temp: Path, *, created: bool) -> str:
    problems: list[str] = []
    if created:
        try:
            # A worktree holding a conflicted merge is removed whole: no MERGE_HEAD survives.
            _git(
                root,
                ["worktree", "remove", "--force", "--force", str(path)],
                what="cannot remove the temporary worktree",
                shielded=True,
            )
        except GitError as e:
            problems.append(str(e))
    shutil.rmtree(temp, ignore_errors=True)
    if problems:
        try:
            _git(root, ["worktree", "prune"], what="cannot prune worktrees", shielded=True)
        except GitError as e:
            problems.append(str(e))
    return "; ".join(problems)
