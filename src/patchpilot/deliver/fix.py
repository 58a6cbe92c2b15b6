"""Turn a plan into honest git branches: edit in a worktree, re-scan, commit, or leave nothing.

Everything happens in separate `git worktree`s created from HEAD (or another base commit, such
as a target branch's tip when a fix is remade there), so the user's working tree, index and
current branch are never touched (a dirty tree is allowed and said: its uncommitted changes are
not part of the fix). The plan is made on a scratch worktree of the base; then each group of
remediations (the whole project by default, one remediation with `--group package`) gets its
own branch from the same commit, where the lockfile fixers run again on exactly that group, the
edits are written, and the branch is re-scanned with the real readers against the store: every
targeted finding must be gone and none introduced, or the branch is deleted and the failure
reported.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from patchpilot.advisories.store import AdvisoryStore
from patchpilot.deliver.git import FixWorktree, dirty_paths, repo_root, unique_branch_name
from patchpilot.deliver.prbody import pr_body
from patchpilot.errors import FixError
from patchpilot.events import Reporter
from patchpilot.fixers.changeset import ChangeSet, FileEdit, PackageDelta, write_changeset
from patchpilot.fixers.interface import Bump, FixOutcome
from patchpilot.fixers.registry import fixer_for
from patchpilot.model import Finding
from patchpilot.planning.plan import Plan, Remediation, compare, read_after
from patchpilot.sources.registry import source_for


@dataclass(frozen=True, slots=True)
class BranchResult:
    """One fix branch: its name, commits, the remediations in it and the PR body."""

    branch: str | None  # None on a dry run
    commits: tuple[str, ...]
    remediation_ids: tuple[str, ...]
    fixed: tuple[str, ...]
    still_open: tuple[tuple[str, str], ...]
    introduced: tuple[str, ...]
    deltas: tuple[PackageDelta, ...]
    edits: tuple[FileEdit, ...]  # paths relative to the repository root
    commands: tuple[str, ...]
    body: str


@dataclass(frozen=True, slots=True)
class FixResult:
    plan: Plan
    repo: str
    base_commit: str
    dirty: tuple[str, ...]
    dry_run: bool
    branches: tuple[BranchResult, ...]
    notes: tuple[str, ...] = ()
    failed: tuple[tuple[tuple[str, ...], str], ...] = ()  # (remediation IDs, why), keep_going


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:60] or "deps"


def groups_of(plan: Plan, group: str) -> list[list[Remediation]]:
    applicable = [r for r in plan.remediations if r.applicable]
    if not applicable:
        return []
    if group == "package":
        return [[r] for r in applicable]
    return [applicable]


def branch_name(group: Sequence[Remediation], mode: str) -> str:
    if mode == "package" or len(group) == 1:
        r = group[0]
        return f"patchpilot/fix-{_slug(r.component.name)}-{_slug(r.choice.target or '')}"
    return "patchpilot/fix-dependencies"


def apply_group(
    project: Path, group: Sequence[Remediation], rel_root: Path
) -> tuple[list[FileEdit], list[FixOutcome], list[tuple[Path, FixOutcome]]]:
    """Run each lockfile's fixer once for all bumps of `group` inside the worktree copy."""
    by_lock: dict[str, list[Remediation]] = {}
    for r in group:
        if r.lockfile is not None:
            by_lock.setdefault(r.lockfile, []).append(r)
    edits: list[FileEdit] = []
    outcomes: list[FixOutcome] = []
    runs: list[tuple[Path, FixOutcome]] = []
    for lock_text, members in sorted(by_lock.items()):
        lock = _in_worktree(Path(lock_text), project, rel_root)
        cls = source_for(lock)
        fixer = fixer_for(cls.format) if cls is not None else None
        if fixer is None:  # pragma: no cover - the plan only keeps fixable remediations
            raise FixError(f"{lock}: no fixer for this file")
        bumps = [
            Bump(
                ecosystem=r.component.ecosystem,
                name=r.component.name,
                current=r.component.version,
                target=r.choice.target or "",
                direct=r.component.direct,
                parents=r.component.parents,
            )
            for r in members
        ]
        outcome = fixer.fix(lock.parent, lock, bumps)
        failed = [o for o in outcome.outcomes if o.strategy is None]
        if failed:
            raise FixError(
                f"{lock}: the resolver could not apply "
                + "; ".join(f"{o.bump.name} {o.bump.target}: {o.reason}" for o in failed)
            )
        prefix = lock.parent.relative_to(project)
        edits.extend(
            FileEdit(path=(prefix / e.path).as_posix(), before=e.before, after=e.after)
            for e in outcome.edits
        )
        outcomes.append(outcome)
        runs.append((lock, outcome))
    return edits, outcomes, runs


def _in_worktree(path: Path, project: Path, rel_root: Path) -> Path:
    """Map a lockfile path from the scanned tree into the same place in the worktree."""
    return project / path.resolve().relative_to(rel_root.resolve())


def rescan(
    runs: Sequence[tuple[Path, FixOutcome]],
    targeted: Sequence[Finding],
    store: AdvisoryStore,
) -> tuple[list[str], list[tuple[str, str]], list[str], list[PackageDelta]]:
    """Fixed, still open (with reason), introduced and deltas, read from the edited lockfiles."""
    fixed: list[str] = []
    still: list[tuple[str, str]] = []
    introduced: set[str] = set()
    deltas: list[PackageDelta] = []
    for lock, outcome in runs:
        cls = source_for(lock)
        if cls is None:  # pragma: no cover - a fixer was found through the same reader
            raise FixError(f"{lock}: no reader for this file")
        before = cls().read(lock)
        keys = {c.key for c in before.components}
        mine = [f for f in targeted if f.component.key in keys]
        measured = compare(before, read_after(lock, outcome.edits, cls().read), mine, store)
        fixed.extend(measured.fixed)
        still.extend(measured.left_open)
        introduced.update(measured.introduced)
        deltas.extend(measured.deltas)
    return fixed, still, sorted(introduced), deltas


def fix_branches(
    root: Path,
    make_plan: Callable[[Path], Plan],
    store: AdvisoryStore,
    *,
    group: str = "project",
    dry_run: bool = False,
    keep_going: bool = False,
    reporter: Reporter | None = None,
    base: str = "HEAD",
) -> FixResult:
    """Plan on a scratch worktree of `base`, then make one branch per group (or diffs only).

    `make_plan` is called with the scanned directory inside the scratch worktree. A group whose
    fix fails stops everything, unless `keep_going`: then its branch is deleted and the failure
    is listed in `FixResult.failed`. Every branch starts from the commit `base` named when the
    plan was made (`FixResult.base_commit`).
    """
    reporter = reporter or Reporter()
    repo = repo_root(root)
    sub = root.resolve().relative_to(repo)
    dirty = dirty_paths(repo)
    notes: list[str] = []
    # Uncommitted changes only matter when the fix starts from what is checked out.
    if dirty and base == "HEAD":
        notes.append(
            f"the working tree has {len(dirty)} uncommitted change(s); the fix starts from "
            "HEAD and does not include them"
        )
    branches: list[BranchResult] = []
    failed: list[tuple[tuple[str, ...], str]] = []
    with FixWorktree(
        repo, unique_branch_name(repo, "patchpilot/plan-scratch"), base=base
    ) as scratch:
        scratch.keep(False)
        plan = make_plan(scratch.path / sub)
        base_commit = scratch.base_commit
        for members in groups_of(plan, group):
            if dry_run:
                branches.append(_prepare(None, members, scratch.path, scratch.path, store))
                continue
            branch = unique_branch_name(repo, branch_name(members, group))
            reporter.note(f"preparing branch {branch}")
            try:
                result = _branch(repo, branch, members, scratch.path, store, base=base_commit)
            except FixError as e:
                if not keep_going:
                    raise
                failed.append((tuple(r.id for r in members), str(e)))
                reporter.note(f"no branch for {', '.join(r.id for r in members)}: {e}")
                continue
            branches.append(result)
    return FixResult(
        plan=plan,
        repo=str(repo),
        base_commit=base_commit,
        dirty=dirty,
        dry_run=dry_run,
        branches=tuple(branches),
        notes=tuple(notes),
        failed=tuple(failed),
    )


def _branch(
    repo: Path,
    branch: str,
    members: Sequence[Remediation],
    planned_in: Path,
    store: AdvisoryStore,
    *,
    base: str = "HEAD",
) -> BranchResult:
    """Make, check and commit the branch of one group from `base`; on any failure the branch
    is gone."""
    with FixWorktree(repo, branch, base=base) as wt:
        result = _prepare(branch, members, wt.path, planned_in, store)
        if result.still_open or result.introduced:
            raise FixError(
                f"branch {branch} was not kept: the re-scan of the edited lockfiles found "
                + ", ".join(
                    [f"{i} still open" for i, _ in result.still_open]
                    + [f"{i} introduced" for i in result.introduced]
                )
            )
        write_changeset(ChangeSet(result.remediation_ids, result.edits), wt.path, dry_run=False)
        sha = wt.commit(result.body)
    return dataclasses.replace(result, commits=(sha,))


def _prepare(
    branch: str | None,
    members: Sequence[Remediation],
    worktree: Path,
    planned_in: Path,
    store: AdvisoryStore,
) -> BranchResult:
    """Fix, re-scan and describe one group inside `worktree` (nothing is written there)."""
    edits, outcomes, runs = apply_group(worktree, members, planned_in)
    targeted = [f for r in members for f in r.findings]
    fixed, still, introduced, deltas = rescan(runs, targeted, store)
    by_id = {f.id: f for f in targeted}
    commands = tuple(c for o in outcomes for c in o.commands)
    notes = [f"the resolution introduces {i}" for i in introduced]
    notes += [
        f"breaking change: {site.message}" for r in members for v in r.breaking for site in v.sites
    ]
    notes += [f"breaks a dependency: {d.summary}" for r in members for d in r.dependent_breaks]
    notes += [
        f"{v.name} {v.old} → {v.new}: {v.verdict.value} ({v.reason})"
        for r in members
        for v in r.breaking
        if not v.sites
    ]
    notes += [n for o in outcomes for n in o.notes]
    body = pr_body(
        _title(members),
        [by_id[i] for i in fixed],
        [(by_id[i], why) for i, why in still],
        deltas,
        notes,
        commands=commands,
    )
    return BranchResult(
        branch=branch,
        commits=(),
        remediation_ids=tuple(r.id for r in members),
        fixed=tuple(fixed),
        still_open=tuple(still),
        introduced=tuple(introduced),
        deltas=tuple(deltas),
        edits=tuple(edits),
        commands=commands,
        body=body,
    )


def _title(members: Sequence[Remediation]) -> str:
    if len(members) == 1:
        r = members[0]
        return (
            f"Fix {len(r.findings)} {'advisory' if len(r.findings) == 1 else 'advisories'}: "
            f"{r.component.name} {r.component.version} → {r.choice.target}"
        )
    names = ", ".join(f"{r.component.name} → {r.choice.target}" for r in members[:4])
    more = f" and {len(members) - 4} more" if len(members) > 4 else ""
    count = sum(len(r.findings) for r in members)
    return f"Fix {count} advisories: {names}{more}"
