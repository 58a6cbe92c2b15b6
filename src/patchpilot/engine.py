"""The one place that strings the steps together: inventory, matching, planning, fixing,
verifying, deciding and delivering.

The CLI (and later the web app and workers) call these functions and only render what they
return. Each step takes immutable values and returns new ones; progress goes to the injected
`Reporter`, and every step that decides or changes something reports a `Record` (built in
`records`), which the audit ledger appends: the engine never calls the ledger.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from patchpilot.advisories.matching import findings_for
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.errors import DeliverError, GitError, StoreError, VerifyError
from patchpilot.events import Record, Reporter
from patchpilot.fixers.changeset import write_changeset
from patchpilot.model import Finding, Inventory, ScanResult, finding_order
from patchpilot.records import (
    branch_record,
    decide_record,
    deliver_record,
    gate_record,
    merge_record,
    plan_record,
    reopen_record,
    revert_record,
    scan_record,
    suppress_record,
    verify_record,
)
from patchpilot.sources.discover import collect

if TYPE_CHECKING:
    from patchpilot.assess.exploit import ExploitSignals
    from patchpilot.deliver.fix import BranchResult, FixResult
    from patchpilot.deliver.forge import Forge
    from patchpilot.deliver.merge import MergeResult
    from patchpilot.fixers.codemods.engine import CodefixResult
    from patchpilot.fixers.codemods.interface import Codemod
    from patchpilot.fixers.config.interface import MitigationResult
    from patchpilot.formats.sarif import GateMarks
    from patchpilot.planning.plan import Plan, PlanOptions, Remediation
    from patchpilot.policy.decide import Decision
    from patchpilot.policy.model import Policy
    from patchpilot.verify.codefix_evidence import CodeEvidence
    from patchpilot.verify.evidence import Evidence
    from patchpilot.verify.results import Totals


def match(
    inventory: Inventory, store: AdvisoryStore, reporter: Reporter | None = None
) -> tuple[Finding, ...]:
    """Every finding for the inventory's components, one per vulnerability and component."""
    reporter = reporter or Reporter()
    if store.is_empty():
        raise StoreError(
            f"advisory store {store.path} is empty: run `patchpilot db import PATH` "
            "or `patchpilot db update` first"
        )
    components = inventory.components
    reporter.start("match", total=len(components))
    by_key = store.lookup_many({(c.ecosystem, c.name) for c in components})
    findings: list[Finding] = []
    for comp in components:
        advisories = by_key.get((comp.ecosystem, comp.name), ())
        if advisories:
            findings.extend(findings_for(comp, advisories))
        reporter.advance("match")
    reporter.finish("match")
    return tuple(sorted(findings, key=finding_order))


def scan(root: Path, store: AdvisoryStore, reporter: Reporter | None = None) -> ScanResult:
    """Inventory `root` and match it against the store."""
    inventory = collect(root, reporter)
    findings = match(inventory, store, reporter)
    return ScanResult(inventory=inventory, findings=findings, store=str(store.path))


def plan(
    root: Path, store: AdvisoryStore, options: PlanOptions, reporter: Reporter | None = None
) -> Plan:
    """Scan `root`, then choose and try a remediation for every vulnerable component."""
    from patchpilot.planning.plan import build_plan

    return build_plan(scan(root, store, reporter), store, options, reporter)


def fix(
    root: Path,
    store: AdvisoryStore,
    options: PlanOptions,
    *,
    group: str = "project",
    dry_run: bool = False,
    reporter: Reporter | None = None,
) -> FixResult:
    """Plan on a clean worktree of HEAD and prepare one branch per group (or diffs only)."""
    from patchpilot.deliver.fix import fix_branches

    def make_plan(project: Path) -> Plan:
        return plan(project, store, options, reporter)

    return fix_branches(root, make_plan, store, group=group, dry_run=dry_run, reporter=reporter)


# --- the autonomy loop: scan → triage → plan → fix → verify → decide → deliver ---------------


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How far `run` may go, and on what.

    `max_level` caps every decision (the CLI's `--max-level`); `target` is the branch merges go
    into (default: the branch checked out in the repository); `vex` are VEX documents given on
    the command line, on top of the project's own and the policy's; `forge` opens and merges
    changes (default: plain local git).
    """

    plan: PlanOptions
    now: datetime
    max_level: int | None = None
    target: str | None = None
    vex: tuple[Path, ...] = ()
    timeout: float | None = None
    forge: Forge | None = None
    codefix: bool = True


@dataclass(frozen=True, slots=True)
class Suppression:
    """A finding left alone: a VEX `not_affected` statement or a policy ignore."""

    finding: Finding
    by: str  # vex or ignore
    source: str
    reason: str
    expires: str | None = None


@dataclass(frozen=True, slots=True)
class Triage:
    """The findings of a scan split into those to act on and those suppressed, with why."""

    active: tuple[Finding, ...]
    suppressed: tuple[Suppression, ...]
    expired_ignores: tuple[str, ...]
    unused_ignores: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Action:
    """What `run` did with one remediation group: its branch, evidence, decision and delivery.

    `delivered` is `merged` (level 3), `branch` (level 2: left for review with its PR body),
    `reported` (level 1: the branch was removed, the findings are reported) or `no-fix`.
    """

    remediation_ids: tuple[str, ...]
    finding_ids: tuple[str, ...]
    branch: str | None
    verdict: str | None
    summary: str
    decision: Decision
    delivered: str
    action: str | None = None
    merge_commit: str | None = None
    target: str | None = None
    change: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunResult:
    project: str
    policy_source: str
    policy_digest: str
    tier: str
    scan: ScanResult
    triage: Triage
    actions: tuple[Action, ...]
    base_commit: str
    notes: tuple[str, ...] = ()
    codefix: CodefixRun | None = None
    # The run's "today" (`RunOptions.now`): what policy expiries are judged against, in the
    # outputs too.
    now: datetime | None = None


def triage(
    result: ScanResult,
    root: Path,
    policy: Policy,
    *,
    vex: Sequence[Path] = (),
    today: date,
    reporter: Reporter | None = None,
) -> Triage:
    """Apply the policy's ignores and every VEX `not_affected` statement to `result`."""
    from patchpilot.assess.vex import apply_vex, find_vex_files, load_vex
    from patchpilot.policy.ignores import apply_ignores

    reporter = reporter or Reporter()
    base = Path(result.inventory.root)
    paths = [*find_vex_files(root), *(base / p for p in policy.vex), *vex]
    statements = load_vex(list(dict.fromkeys(paths))) if paths else ()
    outcome = apply_vex(result.findings, statements)
    suppressed: list[Suppression] = []
    for finding, st in outcome.suppressed:
        reason = st.justification or st.impact or "not affected"
        suppressed.append(Suppression(finding, "vex", st.source, reason))
    report = apply_ignores(outcome.kept, policy.ignores, today, root=base)
    active: list[Finding] = []
    for f in outcome.kept:
        ig = report.ignore_for(f)
        if ig is None:
            active.append(f)
        else:
            suppressed.append(
                Suppression(f, "ignore", policy.source, ig.reason, ig.expires.isoformat())
            )
    for s in suppressed:
        reporter.record(suppress_record(s.finding, s.by, s.source, s.reason, s.expires))
    expired = tuple(f"{i.id} (expired {i.expires.isoformat()}: {i.reason})" for i in report.expired)
    unused = tuple(f"{i.id} ({i.reason})" for i in report.unused)
    notes = [*outcome.notes]
    notes += [f"ignore {e} no longer applies" for e in expired]
    notes += [f"ignore {u} matches no finding" for u in unused]
    for n in notes:
        reporter.note(n)
    return Triage(tuple(active), tuple(suppressed), expired, unused, tuple(notes))


def run(
    root: Path,
    store: AdvisoryStore,
    policy: Policy,
    options: RunOptions,
    reporter: Reporter | None = None,
) -> RunResult:
    """Scan, triage, fix, verify, decide and deliver every remediation at its granted level."""
    from patchpilot.assess.exploit import ExploitIndex
    from patchpilot.deliver.fix import fix_branches
    from patchpilot.deliver.forge import LocalForge
    from patchpilot.planning.plan import build_plan
    from patchpilot.policy.decide import decide
    from patchpilot.policy.facts import facts_for_remediation
    from patchpilot.policy.load import validate_for_project
    from patchpilot.verify.testcmd import detect_test_command

    reporter = reporter or Reporter()
    root = root.resolve()
    has_tests = _has_test_command(root, detect_test_command)
    validate_for_project(policy, root, has_tests)
    forge = options.forge or LocalForge()

    scanned = scan(root, store, reporter)
    reporter.record(scan_record(scanned, str(root), store.digest()))
    sorted_out = triage(
        scanned, root, policy, vex=options.vex, today=options.now.date(), reporter=reporter
    )
    active_ids = {(f.id, f.component.purl) for f in sorted_out.active}
    signals = ExploitIndex.open(store.path).for_findings(sorted_out.active)

    def make_plan(project: Path) -> Plan:
        fresh = scan(project, store, reporter)
        kept = tuple(f for f in fresh.findings if (f.id, f.component.purl) in active_ids)
        return build_plan(dataclasses.replace(fresh, findings=kept), store, options.plan, reporter)

    fixed = fix_branches(
        root, make_plan, store, group="package", keep_going=True, reporter=reporter
    )
    by_id = {r.id: r for r in fixed.plan.remediations}
    for r in fixed.plan.remediations:
        reporter.record(plan_record(r))
    actions: list[Action] = []
    refresher = _Refresher(root, store, policy, signals, has_tests, forge, options, reporter)
    for r in fixed.plan.remediations:
        if r.applicable:
            continue
        facts = facts_for_remediation(r, None, signals, now=options.now, has_test_command=has_tests)
        decision = decide(facts, policy, max_level=options.max_level)
        ids = tuple(f.id for f in r.findings)
        reporter.record(decide_record(None, (r.id,), ids, facts, decision, policy.digest))
        actions.append(Action((r.id,), ids, None, None, r.reason, decision, "no-fix"))
    for rem_ids, why in fixed.failed:
        members = [by_id[i] for i in rem_ids]
        ids = tuple(f.id for m in members for f in m.findings)
        facts = facts_for_remediation(
            members[0], None, signals, now=options.now, has_test_command=has_tests
        )
        decision = decide(facts, policy, max_level=min(options.max_level or 1, 1))
        reporter.record(decide_record(None, rem_ids, ids, facts, decision, policy.digest))
        actions.append(Action(rem_ids, ids, None, None, why, decision, "no-fix"))
    for b in fixed.branches:
        if b.branch is None:
            continue
        members = [by_id[i] for i in b.remediation_ids]
        action = _act_on_branch(
            root,
            b,
            members,
            fixed.base_commit,
            store,
            policy,
            signals,
            has_tests,
            forge,
            options,
            reporter,
            refresher=refresher,
        )
        refresher.delivered(action)
        actions.append(action)
    code = (
        codefix(
            root,
            policy,
            CodefixOptions(
                now=options.now,
                max_level=options.max_level,
                target=options.target,
                timeout=options.timeout,
                forge=options.forge,
            ),
            reporter,
        )
        if options.codefix
        else None
    )
    return RunResult(
        project=str(root),
        policy_source=policy.source,
        policy_digest=policy.digest,
        tier=policy.tier,
        scan=scanned,
        triage=sorted_out,
        actions=tuple(actions),
        base_commit=fixed.base_commit,
        notes=(*fixed.notes, *sorted_out.notes),
        codefix=code,
        now=options.now,
    )


def _has_test_command(root: Path, detect: Callable[[Path], object]) -> bool:
    try:
        detect(root)
    except VerifyError:
        return False
    return True


def _act_on_branch(
    root: Path,
    b: BranchResult,
    members: Sequence[Remediation],
    base_commit: str,
    store: AdvisoryStore,
    policy: Policy,
    signals: Mapping[str, ExploitSignals],
    has_tests: bool,
    forge: Forge,
    options: RunOptions,
    reporter: Reporter,
    *,
    refresher: _Refresher | None = None,
) -> Action:
    """Verify, decide and deliver one fix branch; `refresher` remakes it once when its
    level-3 merge conflicts with an earlier merge of the same run."""
    from patchpilot.policy.decide import decide
    from patchpilot.policy.facts import facts_for_remediation
    from patchpilot.verify.evidence import verify_branch

    branch = b.branch or ""
    rem_ids = b.remediation_ids
    finding_ids = tuple(dict.fromkeys(f.id for m in members for f in m.findings))
    reporter.record(
        branch_record(
            branch, b.commits[-1], rem_ids, finding_ids, [e.path for e in b.edits], base_commit
        )
    )
    evidence: Evidence | None = None
    notes: list[str] = []
    if has_tests:
        try:
            evidence = verify_branch(
                root, branch, store, base=base_commit, timeout=options.timeout, reporter=reporter
            )
        except VerifyError as e:
            notes.append(f"verify failed: {e}")
    verdict = evidence.verdict if evidence is not None else None
    summary = evidence.summary if evidence is not None else (notes[0] if notes else "not verified")
    reporter.record(_verify_record(branch, rem_ids, finding_ids, evidence, summary))
    decisions = []
    for m in members:
        facts = facts_for_remediation(
            m, evidence, signals, now=options.now, has_test_command=has_tests
        )
        decisions.append((facts, decide(facts, policy, max_level=options.max_level)))
    facts, decision = min(decisions, key=lambda fd: fd[1].level)
    reporter.record(decide_record(branch, rem_ids, finding_ids, facts, decision, policy.digest))

    def remake(target: str, files: tuple[str, ...]) -> Action | str | None:
        if refresher is None:
            return None
        return refresher.remake(b, members, finding_ids, target, files)

    return _deliver(
        root,
        branch,
        b.commits[-1],
        b.body,
        rem_ids,
        finding_ids,
        verdict,
        summary,
        decision,
        forge,
        options.target,
        reporter,
        notes,
        on_conflict=remake,
    )


class _Refresher:
    """Remakes a fix whose level-3 merge conflicts because an earlier merge of the same run
    moved the target branch: every branch of a run starts from the same commit, so two fixes
    that edit neighbouring lines of one file (two pins of a requirements file) cannot both
    merge as made.

    The remake happens once per remediation and only with local git (the refresh starts from
    the target's local tip): the remediation's findings are planned and fixed again on a
    scratch worktree of that tip, the new branch replaces the stale one (which is deleted, and
    a `deliver` record says by which branch), and the new branch is verified, decided and
    delivered like any other. If it cannot be made, the stale branch stays for review; if the
    new one conflicts as well, it stays for review.
    """

    def __init__(
        self,
        root: Path,
        store: AdvisoryStore,
        policy: Policy,
        signals: Mapping[str, ExploitSignals],
        has_tests: bool,
        forge: Forge,
        options: RunOptions,
        reporter: Reporter,
    ) -> None:
        self.root = root
        self.store = store
        self.policy = policy
        self.signals = signals
        self.has_tests = has_tests
        self.forge = forge
        self.options = options
        self.reporter = reporter
        self.moved: set[str] = set()  # target branches a merge of this run has moved
        self.remade: set[str] = set()  # remediation IDs already remade once

    def delivered(self, action: Action) -> None:
        """Note what a delivery did: a merge moves its target."""
        if action.delivered == "merged" and action.target:
            self.moved.add(action.target)

    def remake(
        self,
        stale: BranchResult,
        members: Sequence[Remediation],
        finding_ids: tuple[str, ...],
        target: str,
        files: tuple[str, ...],
    ) -> Action | str | None:
        """The delivered remake of `stale`, whose merge into `target` conflicted in `files`;
        else why it was not remade (None: no refresh applies, the conflict is not this run's)."""
        from patchpilot.deliver.forge import LocalForge

        if target not in self.moved or not isinstance(self.forge, LocalForge):
            return None
        rem_ids = stale.remediation_ids
        if self.remade & set(rem_ids):
            return (
                f"not remade again: this fix was already remade once on {target} in this run "
                "after a merge conflict"
            )
        self.remade.update(rem_ids)
        return self._remake(stale, members, finding_ids, target, files)

    def _remake(
        self,
        stale: BranchResult,
        members: Sequence[Remediation],
        finding_ids: tuple[str, ...],
        target: str,
        files: tuple[str, ...],
    ) -> Action | str:
        from patchpilot.deliver.fix import fix_branches
        from patchpilot.deliver.git import delete_branch, resolve_commit
        from patchpilot.errors import PatchpilotError
        from patchpilot.planning.plan import build_plan

        old = stale.branch or ""
        store, reporter = self.store, self.reporter
        wanted = {(f.id, f.component.purl) for m in members for f in m.findings}
        conflicted = ", ".join(files)
        try:
            tip = resolve_commit(self.root, f"refs/heads/{target}")
        except GitError as e:
            return f"not remade on {target}: {e}"
        reporter.note(
            f"{old}: an earlier merge of this run moved {target} and the merge conflicts in "
            f"{conflicted}; remaking the fix on {target} ({tip[:12]})"
        )

        def make_plan(project: Path) -> Plan:
            fresh = scan(project, store, reporter)
            kept = tuple(f for f in fresh.findings if (f.id, f.component.purl) in wanted)
            return build_plan(
                dataclasses.replace(fresh, findings=kept), store, self.options.plan, reporter
            )

        try:
            redone = fix_branches(
                self.root,
                make_plan,
                store,
                group="package",
                keep_going=True,
                reporter=reporter,
                base=tip,
            )
        except PatchpilotError as e:
            return f"the fix could not be remade on {target} ({tip[:12]}): {e}"
        for r in redone.plan.remediations:
            reporter.record(plan_record(r))
        made = [b for b in redone.branches if b.branch is not None]
        if not made:
            why = [w for _, w in redone.failed]
            why += [r.reason for r in redone.plan.remediations if not r.applicable]
            told = "; ".join(why) or "its findings are no longer open there"
            return f"the fix could not be remade on {target} ({tip[:12]}): {told}"
        new = made[0]
        new_branch = new.branch or ""
        try:
            delete_branch(self.root, old)
        except GitError as e:
            # Two branches for one fix would confuse review: the remake goes, the stale stays.
            with contextlib.suppress(GitError):
                delete_branch(self.root, new_branch)
            return f"the fix was remade on {target} but {old} could not be replaced: {e}"
        reporter.record(
            deliver_record(
                old,
                stale.remediation_ids,
                finding_ids,
                3,
                f"superseded by {new_branch}, the same fix remade on {target} at {tip[:12]}: "
                f"its own merge conflicted in {conflicted} after an earlier merge of this run "
                f"moved {target}; it was deleted unmerged",
            )
        )
        by_id = {r.id: r for r in redone.plan.remediations}
        action = _act_on_branch(
            self.root,
            new,
            [by_id[i] for i in new.remediation_ids],
            redone.base_commit,
            store,
            self.policy,
            self.signals,
            self.has_tests,
            self.forge,
            self.options,
            reporter,
            refresher=self,
        )
        note = (
            f"remade on {target} at {tip[:12]} as {new_branch}: {old} conflicted in {conflicted} "
            f"after an earlier merge of this run; {old} was deleted"
        )
        return dataclasses.replace(action, notes=(note, *action.notes))


def _verify_record(
    branch: str,
    rem_ids: Sequence[str],
    finding_ids: Sequence[str],
    evidence: Evidence | None,
    summary: str,
) -> Record:
    from patchpilot.formats.evidence_out import evidence_to_dict

    if evidence is None:
        return verify_record(
            branch,
            rem_ids,
            finding_ids,
            verdict="not-verified",
            summary=summary,
            tests_before=None,
            tests_after=None,
            reach_share=None,
            evidence=None,
        )
    data = evidence_to_dict(evidence)
    before = evidence.comparison.before
    after = evidence.comparison.after
    return verify_record(
        branch,
        rem_ids,
        finding_ids,
        verdict=evidence.verdict,
        summary=evidence.summary,
        tests_before=_totals(before),
        tests_after=_totals(after),
        reach_share=_reach_share(evidence),
        evidence=data,
    )


def _reach_share(evidence: Evidence) -> float | None:
    if evidence.reach is None or not evidence.reach.targets:
        return None
    hit = sum(1 for t in evidence.reach.targets if t.executed)
    return hit / len(evidence.reach.targets)


def _deliver(
    root: Path,
    branch: str,
    commit: str,
    body: str,
    rem_ids: tuple[str, ...],
    finding_ids: tuple[str, ...],
    verdict: str | None,
    summary: str,
    decision: Decision,
    forge: Forge,
    target: str | None,
    reporter: Reporter,
    notes: list[str],
    *,
    on_conflict: Callable[[str, tuple[str, ...]], Action | str | None] | None = None,
) -> Action:
    """Merge (level 3, then the branch is deleted), leave for review (level 2) or remove
    (level 1) the branch.

    When the merge conflicts, `on_conflict(target, files)` may deliver a remade fix instead
    (its `Action` is returned) or say why it did not (a note); otherwise the branch is left
    for review."""
    from patchpilot.deliver.forge import LocalForge
    from patchpilot.deliver.git import delete_branch

    title = body.splitlines()[0].lstrip("# ").strip() if body else branch
    level = decision.level
    target = target or _default_target(root)
    if level >= 3:
        action = "act-" + secrets.token_hex(5)
        message = (
            f"Merge {branch}: {title}\n\n"
            f"patchpilot action {action}, level 3 by policy rule {decision.rule!r}:\n"
            + "".join(f"- {r}\n" for r in decision.reasons)
            + f"\nFindings: {', '.join(finding_ids)}\nUndo: patchpilot revert {action}\n"
        )
        try:
            merged = _merge(root, forge, branch, target, title, body, commit, message)
        except (DeliverError, GitError) as e:
            files = _conflicting_files(e)
            redone = on_conflict(target, files) if on_conflict is not None and files else None
            if isinstance(redone, Action):
                return redone
            notes.append(f"merge refused, left for review: {e}")
            if redone:
                notes.append(redone)
            reporter.note(f"{branch}: merge refused ({e}); left for review")
            level = 2
        else:
            if isinstance(forge, LocalForge):
                # The merge commit keeps the branch's commit; the branch itself is done.
                delete_branch(root, branch)
            reporter.record(
                merge_record(
                    action,
                    branch,
                    rem_ids,
                    finding_ids,
                    target=merged.target,
                    merge_commit=merged.merge_commit,
                    previous_tip=merged.previous_tip,
                    branch_commit=merged.branch_commit,
                )
            )
            return Action(
                rem_ids,
                finding_ids,
                branch,
                verdict,
                summary,
                decision,
                "merged",
                action=action,
                merge_commit=merged.merge_commit,
                target=merged.target,
                notes=tuple(notes),
            )
    if level == 2:
        ref = forge.open_change(root, branch, target, title, body)
        how = f"left for review as {ref.kind} {ref.url or ref.id}"
        reporter.record(deliver_record(branch, rem_ids, finding_ids, 2, how))
        return Action(
            rem_ids,
            finding_ids,
            branch,
            verdict,
            summary,
            decision,
            "branch",
            change=ref.url or ref.id,
            target=target,
            notes=tuple(notes),
        )
    delete_branch(root, branch)
    reporter.record(
        deliver_record(branch, rem_ids, finding_ids, 1, "report only: the branch was removed")
    )
    return Action(
        rem_ids, finding_ids, None, verdict, summary, decision, "reported", notes=tuple(notes)
    )


_CONFLICT = re.compile(r"\d+ conflicting file\(s\): (?P<files>.+?); the attempt was abandoned")


def _conflicting_files(error: Exception) -> tuple[str, ...]:
    """The files a refused merge conflicted in, as `merge_branch` names them (else none)."""
    found = _CONFLICT.search(str(error)) if isinstance(error, DeliverError) else None
    return tuple(found.group("files").split(", ")) if found else ()


def _default_target(root: Path) -> str:
    from patchpilot.deliver.git import current_branch
    from patchpilot.deliver.merge import default_branch

    return current_branch(root) or default_branch(root)


def _merge(
    root: Path,
    forge: Forge,
    branch: str,
    target: str,
    title: str,
    body: str,
    commit: str,
    message: str,
) -> MergeResult:
    """Merge through the forge; locally, `merge_branch` also gives the tip to undo to."""
    from patchpilot.deliver.forge import LocalForge
    from patchpilot.deliver.git import resolve_commit
    from patchpilot.deliver.merge import MergeResult, merge_branch

    if isinstance(forge, LocalForge):
        return merge_branch(root, branch, target=target, message=message, expected_commit=commit)
    previous = resolve_commit(root, target)
    ref = forge.open_change(root, branch, target, title, body)
    sha = forge.merge_change(root, ref, message)
    return MergeResult(target=target, merge_commit=sha, previous_tip=previous, branch_commit=commit)


@dataclass(frozen=True, slots=True)
class GateOutcome:
    """`patchpilot gate`: the findings that violate the policy, and why; the rest suppressed
    (VEX, ignores) or below the policy's thresholds. `marks` feed the SARIF output."""

    scan: ScanResult
    triage: Triage
    violations: tuple[Finding, ...]
    why: Mapping[tuple[str, str], str]
    marks: GateMarks
    policy_source: str
    policy_digest: str


def gate(
    root: Path,
    store: AdvisoryStore,
    policy: Policy,
    *,
    vex: Sequence[Path] = (),
    today: date,
    reporter: Reporter | None = None,
) -> GateOutcome:
    """Scan `root` and hold every finding not suppressed by VEX or an ignore against the
    policy's `[gate]` thresholds (severity, KEV membership, EPSS)."""
    from patchpilot.assess.exploit import ExploitIndex
    from patchpilot.formats.sarif import GateMarks
    from patchpilot.policy.gate import violates

    reporter = reporter or Reporter()
    scanned = scan(root, store, reporter)
    sorted_out = triage(scanned, root, policy, vex=vex, today=today, reporter=reporter)
    signals = ExploitIndex.open(store.path).for_findings(sorted_out.active)
    violations: list[Finding] = []
    why: dict[tuple[str, str], str] = {}
    for f in sorted_out.active:
        reasons = violates(f, policy.gate, signals.get(f.id))
        if reasons:
            violations.append(f)
            why[(f.id, f.component.purl)] = "; ".join(reasons)
    marks = GateMarks(
        violations=frozenset(why),
        suppressed={
            (s.finding.id, s.finding.component.purl): (s.by, f"{s.by}: {s.reason}")
            for s in sorted_out.suppressed
        },
    )
    reporter.record(gate_record(str(root), violations, 1 if violations else 0))
    return GateOutcome(
        scan=scanned,
        triage=sorted_out,
        violations=tuple(violations),
        why=why,
        marks=marks,
        policy_source=policy.source,
        policy_digest=policy.digest,
    )


@dataclass(frozen=True, slots=True)
class Reverted:
    action: str
    target: str
    merge_commit: str
    revert_commit: str
    reopened: tuple[str, ...]


def revert(
    root: Path,
    action: str,
    *,
    target: str,
    merge_commit: str,
    finding_ids: Sequence[str],
    reason: str,
    actor: str,
    reporter: Reporter | None = None,
) -> Reverted:
    """Revert the merge commit of `action` on `target` and reopen its findings.

    The caller finds `target`, `merge_commit` and `finding_ids` in the ledger's `merge` record.
    """
    from patchpilot.deliver.merge import revert_merge

    reporter = reporter or Reporter()
    message = (
        f"Revert patchpilot action {action}\n\n{reason}\n\n"
        f"Reopens: {', '.join(finding_ids)}\nRequested by: {actor}\n"
    )
    done = revert_merge(root, merge_commit, target=target, message=message)
    reporter.record(
        revert_record(
            action,
            finding_ids,
            target=done.target,
            merge_commit=merge_commit,
            revert_commit=done.revert_commit,
            reason=reason,
            actor=actor,
        )
    )
    reporter.record(reopen_record(action, finding_ids, reason, actor))
    return Reverted(action, done.target, merge_commit, done.revert_commit, tuple(finding_ids))


# --- Level 4: code fixes and configuration mitigations through the same gate ---------------


@dataclass(frozen=True, slots=True)
class CodefixOptions:
    """`only` limits the codemods by ID; `sarif` restricts them to a scanner's findings;
    `config` includes the configuration mitigations (nginx TLS, Django settings)."""

    now: datetime
    only: tuple[str, ...] | None = None
    sarif: Path | None = None
    config: bool = True
    dry_run: bool = False
    max_level: int | None = None
    target: str | None = None
    timeout: float | None = None
    forge: Forge | None = None


@dataclass(frozen=True, slots=True)
class CodefixRun:
    """What the code and config fixes found (changes and refusals, on a scratch copy of HEAD),
    and, unless a dry run, what happened to each branch: one per codemod, one for config."""

    project: str
    found: CodefixResult
    config: MitigationResult | None
    actions: tuple[Action, ...]
    base_commit: str
    notes: tuple[str, ...] = ()


def codefix(
    root: Path, policy: Policy, options: CodefixOptions, reporter: Reporter | None = None
) -> CodefixRun:
    """Find known-bad code patterns and insecure settings; fix, verify, decide and deliver.

    Codemods and mitigations run first on a scratch worktree of HEAD (nothing in the user's
    tree changes). Then each codemod with a kept change gets its own branch, made by running
    that codemod alone on a fresh worktree, and the config mitigations one more; each branch is
    verified with the project's tests (tracing the changed lines) and decided by the policy
    like any other fix: Tier A whose changed lines a passing test executes may be merged,
    Tier B is a reviewed change, Tier C is only reported.
    """
    from patchpilot.deliver.forge import LocalForge
    from patchpilot.deliver.git import FixWorktree, repo_root, unique_branch_name
    from patchpilot.fixers.codemods.engine import codefix_records, run_codemods
    from patchpilot.fixers.config import run_config_mitigations
    from patchpilot.policy.load import validate_for_project
    from patchpilot.verify.testcmd import detect_test_command

    reporter = reporter or Reporter()
    root = root.resolve()
    repo = repo_root(root)
    sub = root.relative_to(repo)
    has_tests = _has_test_command(root, detect_test_command)
    validate_for_project(policy, root, has_tests)
    forge = options.forge or LocalForge()
    python = _oracle_python(root) if options.config else None
    with FixWorktree(repo, unique_branch_name(repo, "patchpilot/codefix-scratch")) as scratch:
        scratch.keep(False)
        found = run_codemods(
            scratch.path / sub, only=options.only, targets=options.sarif, reporter=reporter
        )
        config = (
            run_config_mitigations(scratch.path / sub, reporter=reporter, python=python)
            if options.config
            else None
        )
        base_commit = scratch.base_commit
    for rec in codefix_records(found):
        reporter.record(rec)
    if config is not None:
        reporter.record(_config_record(config, None))
    if options.dry_run:
        return CodefixRun(str(root), found, config, (), base_commit)
    made: list[_CodeBranch] = []
    by_id = {c.id: c for c in found.codemods}
    for cid in dict.fromkeys(c.codemod for c in found.changes):
        made.extend(_codemod_branch(repo, sub, by_id[cid], base_commit, options, reporter))
    if config is not None and config.changes:
        made.extend(_config_branch(repo, sub, base_commit, reporter, python))
    actions = [
        _act_on_code_branch(
            root, repo, cb, base_commit, has_tests, policy, forge, options, reporter
        )
        for cb in made
    ]
    return CodefixRun(str(root), found, config, tuple(actions), base_commit)


@dataclass(frozen=True, slots=True)
class _CodeBranch:
    """A committed code or config fix branch, before verification."""

    branch: str
    commit: str
    body: str
    ident: str  # codemod:ID or config:ID,ID
    kind: str  # codemod or config
    tier: str


def _codemod_branch(
    repo: Path,
    sub: Path,
    codemod: Codemod,
    base_commit: str,
    options: CodefixOptions,
    reporter: Reporter,
) -> list[_CodeBranch]:
    """The branch of one codemod alone, run on a fresh worktree of the base (none if the
    codemod changes nothing there)."""
    from patchpilot.deliver.git import FixWorktree, unique_branch_name
    from patchpilot.fixers.codemods.engine import codefix_records, run_codemods

    branch = unique_branch_name(repo, f"patchpilot/codefix-{codemod.id}")
    with FixWorktree(repo, branch, base=base_commit) as wt:
        alone = run_codemods(
            wt.path / sub, codemods=[codemod], targets=options.sarif, reporter=reporter
        )
        if not alone.changes:
            wt.keep(False)
            return []
        write_changeset(alone.changeset, wt.path / sub, dry_run=False)
        body = _codemod_body(codemod, alone, sub)
        sha = wt.commit(body)
    for rec in codefix_records(alone, branch=branch):
        reporter.record(rec)
    return [_CodeBranch(branch, sha, body, f"codemod:{codemod.id}", "codemod", str(codemod.tier))]


def _oracle_python(root: Path) -> Path | None:
    """The interpreter that runs Django's `check --deploy`, looked up in the user's project:
    its virtualenv is git-ignored, so the worktrees the mitigations run on do not have it."""
    from patchpilot.fixers.config.django import find_python

    return find_python(root, root, None)[0]


def _config_branch(
    repo: Path, sub: Path, base_commit: str, reporter: Reporter, python: Path | None = None
) -> list[_CodeBranch]:
    """One branch with every configuration mitigation (none if nothing is kept there)."""
    from patchpilot.deliver.git import FixWorktree, unique_branch_name
    from patchpilot.fixers.config import run_config_mitigations

    branch = unique_branch_name(repo, "patchpilot/config-mitigations")
    with FixWorktree(repo, branch, base=base_commit) as wt:
        again = run_config_mitigations(wt.path / sub, reporter=reporter, python=python)
        if not again.changes:
            wt.keep(False)
            return []
        write_changeset(again.changeset, wt.path / sub, dry_run=False)
        body = _config_body(again, sub)
        sha = wt.commit(body)
    reporter.record(_config_record(again, branch))
    ids = ",".join(dict.fromkeys(c.mitigation for c in again.changes))
    return [_CodeBranch(branch, sha, body, f"config:{ids}", "config", _config_tier(again))]


def _codemod_body(codemod: Codemod, result: CodefixResult, sub: Path) -> str:
    where = "" if str(sub) == "." else f"{sub.as_posix()}/"
    lines = [
        f"# Code fix: {codemod.title}",
        "",
        f"`{codemod.id}` · Tier {codemod.tier} · " + ", ".join(f"CWE-{c}" for c in codemod.cwe),
        "",
        codemod.explanation.strip(),
        "",
        "## Changes",
        "",
    ]
    lines += [f"- `{where}{c.path}:{c.line}`: {c.description}" for c in result.changes]
    refused = [r for r in result.refusals if r.codemod == codemod.id]
    if refused:
        lines += ["", "## Left alone, and why", ""]
        lines += [
            f"- `{where}{r.path}{'' if r.line is None else f':{r.line}'}` ({r.reason}): {r.detail}"
            for r in refused
        ]
    return "\n".join(lines) + "\n"


def _config_tier(result: MitigationResult) -> str:
    from patchpilot.fixers.config import mitigation

    tiers = {mitigation(c.mitigation).tier for c in result.changes}
    for tier in ("C", "B", "A-", "A"):
        if tier in tiers:
            return tier
    return "B"


def _config_body(result: MitigationResult, sub: Path) -> str:
    from patchpilot.fixers.config import mitigation

    where = "" if str(sub) == "." else f"{sub.as_posix()}/"
    ids = list(dict.fromkeys(c.mitigation for c in result.changes))
    lines = ["# Configuration mitigations: " + ", ".join(ids), ""]
    for ident in ids:
        m = mitigation(ident)
        lines += [f"## {m.title}", "", f"`{m.id}` · Tier {m.tier}", "", m.explanation.strip(), ""]
        lines += [
            f"- `{where}{c.path}:{c.line}` {c.key}: {c.description}"
            for c in result.changes
            if c.mitigation == ident
        ]
        lines.append("")
    checks = [c for c in result.checks if c.stage in ("before", "after")]
    if checks:
        lines += ["## Checked with the native tools", ""]
        lines += [
            f"- {c.stage}: `{' '.join(c.command)}` — {'ok' if c.ok else 'failed'}"
            + (f" (warnings: {', '.join(c.warnings)})" if c.warnings else "")
            for c in checks
        ]
        lines.append("")
    if result.refusals:
        lines += ["## Left alone, and why", ""]
        lines += [f"- `{where}{r.path}` ({r.reason.value}): {r.detail}" for r in result.refusals]
    return "\n".join(lines) + "\n"


def _config_record(result: MitigationResult, branch: str | None) -> Record:
    subjects = tuple(dict.fromkeys(f"codemod:{c.mitigation}" for c in result.changes))
    subjects += tuple(dict.fromkeys(f"path:{c.path}" for c in result.changes))
    if branch:
        subjects += (f"branch:{branch}",)
    return Record(
        kind="codefix",
        summary=(
            f"config mitigations: {len(result.changes)} change(s), "
            f"{len(result.refusals)} refusal(s)"
        ),
        subjects=subjects,
        outcome={
            "changes": [
                {"path": c.path, "line": c.line, "key": c.key, "description": c.description}
                for c in result.changes
            ],
            "refusals": [
                {"path": r.path, "line": r.line, "reason": r.reason.value, "detail": r.detail}
                for r in result.refusals
            ],
            "checks": [
                {"tool": c.tool, "stage": c.stage, "ok": c.ok, "warnings": list(c.warnings)}
                for c in result.checks
            ],
        },
    )


def _act_on_code_branch(
    root: Path,
    repo: Path,
    cb: _CodeBranch,
    base_commit: str,
    has_tests: bool,
    policy: Policy,
    forge: Forge,
    options: CodefixOptions,
    reporter: Reporter,
) -> Action:
    """Verify a code/config fix branch line by line, decide, deliver."""
    from patchpilot.deliver.git import changed_lines
    from patchpilot.formats.codefix_evidence_out import code_evidence_to_dict
    from patchpilot.policy.decide import decide
    from patchpilot.policy.facts import Facts
    from patchpilot.verify.codefix_evidence import verify_code_branch

    branch, sha, body, ident, kind, tier = (
        cb.branch,
        cb.commit,
        cb.body,
        cb.ident,
        cb.kind,
        cb.tier,
    )
    lines = changed_lines(repo, base_commit, sha)
    evidence: CodeEvidence | None = None
    notes: list[str] = []
    if has_tests:
        try:
            evidence = verify_code_branch(
                root, branch, lines, base=base_commit, timeout=options.timeout, reporter=reporter
            )
        except VerifyError as e:
            notes.append(f"verify failed: {e}")
    verdict = evidence.verdict if evidence is not None else None
    summary = evidence.summary if evidence is not None else (notes[0] if notes else "not verified")
    tests_passed: bool | None = None
    if evidence is not None:
        after = evidence.comparison.after
        tests_passed = not evidence.comparison.regressions and after.passed > 0
    reporter.record(
        verify_record(
            branch,
            (ident,),
            (),
            verdict=verdict or "not-verified",
            summary=summary,
            tests_before=_totals(evidence.comparison.before) if evidence else None,
            tests_after=_totals(evidence.comparison.after) if evidence else None,
            reach_share=evidence.reach_share if evidence else None,
            evidence=code_evidence_to_dict(evidence) if evidence else None,
        )
    )
    facts = Facts(
        remediation=ident,
        kind=kind,
        findings=(),
        packages=(),
        ecosystem="",
        severity="unknown",
        cvss=None,
        epss=None,
        kev=False,
        upgrade_level=None,
        strategy=None,
        reachability="unknown",
        verify_verdict=verdict,
        tests_passed=tests_passed,
        reach_share=evidence.reach_share if evidence else None,
        breaking="unknown",
        release_age_days=None,
        codemod_tier=tier,
        has_test_command=has_tests,
    )
    decision = decide(facts, policy, max_level=options.max_level)
    reporter.record(decide_record(branch, (ident,), (), facts, decision, policy.digest))
    return _deliver(
        root,
        branch,
        sha,
        body,
        (ident,),
        (),
        verdict,
        summary,
        decision,
        forge,
        options.target,
        reporter,
        notes,
    )


def _totals(t: Totals) -> dict[str, int]:
    return {"passed": t.passed, "failed": t.failed, "error": t.error}


@dataclass(frozen=True, slots=True)
class Approved:
    action: str
    branch: str
    target: str
    merge_commit: str
    findings: tuple[str, ...]


def approve(
    root: Path,
    branch: str,
    *,
    remediation_ids: Sequence[str],
    finding_ids: Sequence[str],
    actor: str,
    reason: str,
    target: str | None = None,
    reporter: Reporter | None = None,
) -> Approved:
    """A person approves a branch left for review: merge it, recorded with their name.

    The caller finds the branch's remediations and findings in the ledger. The merge gets an
    action ID like a level-3 merge, so `revert` undoes it the same way.
    """
    from patchpilot.deliver.git import delete_branch, resolve_commit
    from patchpilot.deliver.merge import merge_branch

    reporter = reporter or Reporter()
    target = target or _default_target(root)
    action = "act-" + secrets.token_hex(5)
    commit = resolve_commit(root, branch)
    message = (
        f"Merge {branch}\n\nApproved by {actor}: {reason}\n"
        f"patchpilot action {action}\n"
        + (f"Findings: {', '.join(finding_ids)}\n" if finding_ids else "")
        + f"Undo: patchpilot revert {action}\n"
    )
    merged = merge_branch(root, branch, target=target, message=message, expected_commit=commit)
    delete_branch(root, branch)
    reporter.record(
        merge_record(
            action,
            branch,
            remediation_ids,
            finding_ids,
            target=merged.target,
            merge_commit=merged.merge_commit,
            previous_tip=merged.previous_tip,
            branch_commit=merged.branch_commit,
            actor=actor,
            reason=reason,
        )
    )
    return Approved(action, branch, merged.target, merged.merge_commit, tuple(finding_ids))
