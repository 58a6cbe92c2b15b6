"""The ledger's view of each step: one `events.Record` builder per kind of step.

The engine calls these after each step and hands the record to its reporter, so the ledger (a
subscriber) learns what ran, on which inputs and with what outcome, without the steps knowing
about it. Payloads are JSON-ready and follow the kinds and keys listed in `events.Record`:
subjects name what a record is about (finding IDs bare, `remediation:ID`, `branch:NAME`,
`commit:SHA`, `action:ID`), so `patchpilot explain` can follow a finding from its advisory to
the action taken on it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from patchpilot.events import Record
from patchpilot.model import Finding, ScanResult


def _finding_ids(findings: Iterable[Finding]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f.id for f in findings))


def _finding_brief(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "aliases": list(f.aliases),
        "package": f.component.name,
        "ecosystem": f.component.ecosystem.value,
        "version": f.component.version,
        "severity": f.severity.level.value,
        "fixed_versions": list(f.fixed_versions),
        "records": dict(f.records),
    }


def digest_of(data: Any) -> str:
    """sha256 of the canonical JSON of `data` (sorted keys, no spaces)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def scan_record(result: ScanResult, project: str, store_digest: str) -> Record:
    advisories = {rid: modified for f in result.findings for rid, modified in f.records}
    packages = len({(f.component.ecosystem, f.component.name) for f in result.findings})
    return Record(
        kind="scan",
        summary=(
            f"scanned {project}: {len(result.inventory.components)} components, "
            f"{len(result.findings)} findings in {packages} packages"
        ),
        subjects=_finding_ids(result.findings),
        inputs={"project": project, "store_digest": store_digest, "advisories": advisories},
        outcome={"findings": [_finding_brief(f) for f in result.findings]},
    )


def suppress_record(
    finding: Finding, by: str, source: str, reason: str, expires: str | None = None
) -> Record:
    outcome: dict[str, Any] = {"reason": reason}
    if expires is not None:
        outcome["expires"] = expires
    return Record(
        kind="suppress",
        summary=(
            f"{finding.id} in {finding.component.name} {finding.component.version} "
            f"suppressed by {by} ({source}): {reason}"
        ),
        subjects=(finding.id,),
        inputs={"by": by, "source": source, "package": finding.component.name},
        outcome=outcome,
    )


def plan_record(remediation: Any) -> Record:
    """`remediation` is a `planning.plan.Remediation`."""
    r = remediation
    choice = r.choice
    breaking = [
        {"package": v.name, "from": v.old, "to": v.new, "verdict": v.verdict.value}
        for v in r.breaking
    ]
    target = choice.target
    summary = (
        f"planned {r.kind} of {r.component.name} {r.component.version} → {target} "
        f"({choice.level.value}, {r.strategy.value if r.strategy else 'no strategy'})"
        if target
        else f"no fix for {r.component.name} {r.component.version}: {r.reason}"
    )
    return Record(
        kind="plan",
        summary=summary,
        subjects=(f"remediation:{r.id}", *_finding_ids(r.findings)),
        inputs={"findings": [_finding_brief(f) for f in r.findings]},
        outcome={
            "remediation": r.id,
            "kind": r.kind,
            "package": r.component.name,
            "from": r.component.version,
            "to": target,
            "strategy": r.strategy.value if r.strategy else None,
            "upgrade_level": choice.level.value,
            "reason": r.reason,
            "fixed": list(r.fixed),
            "left_open": [list(x) for x in r.left_open],
            "breaking": breaking,
        },
    )


def branch_record(
    branch: str,
    commit: str,
    remediation_ids: Sequence[str],
    finding_ids: Sequence[str],
    files: Sequence[str],
    base_commit: str,
) -> Record:
    return Record(
        kind="branch",
        summary=f"prepared branch {branch} at {commit[:12]} from {base_commit[:12]}",
        subjects=(
            *(f"remediation:{i}" for i in remediation_ids),
            f"branch:{branch}",
            f"commit:{commit}",
            *finding_ids,
        ),
        inputs={"base_commit": base_commit},
        outcome={"branch": branch, "commit": commit, "files": list(files)},
    )


def verify_record(
    branch: str,
    remediation_ids: Sequence[str],
    finding_ids: Sequence[str],
    *,
    verdict: str,
    summary: str,
    tests_before: Mapping[str, int] | None,
    tests_after: Mapping[str, int] | None,
    reach_share: float | None,
    evidence: Mapping[str, Any] | None,
) -> Record:
    return Record(
        kind="verify",
        summary=f"verified {branch}: {verdict} — {summary}",
        subjects=(f"branch:{branch}", *(f"remediation:{i}" for i in remediation_ids), *finding_ids),
        outcome={
            "verdict": verdict,
            "summary": summary,
            "tests_before": dict(tests_before) if tests_before else None,
            "tests_after": dict(tests_after) if tests_after else None,
            "reach_share": reach_share,
            "evidence_digest": digest_of(evidence) if evidence is not None else None,
        },
    )


def decide_record(
    branch: str | None,
    remediation_ids: Sequence[str],
    finding_ids: Sequence[str],
    facts: Any,
    decision: Any,
    policy_digest: str,
) -> Record:
    """`facts` is a `policy.facts.Facts`, `decision` a `policy.decide.Decision`."""
    fact_data = (
        dataclasses.asdict(facts)
        if dataclasses.is_dataclass(facts) and not isinstance(facts, type)
        else dict(facts)
    )
    where = f" for {branch}" if branch else ""
    return Record(
        kind="decide",
        summary=(
            f"level {decision.level}{where} by rule {decision.rule!r}: "
            + "; ".join(decision.reasons)
        ),
        subjects=(
            *(f"remediation:{i}" for i in remediation_ids),
            *((f"branch:{branch}",) if branch else ()),
            *finding_ids,
        ),
        inputs={"facts": fact_data, "policy_digest": policy_digest},
        outcome={
            "level": decision.level,
            "rule": decision.rule,
            "reasons": list(decision.reasons),
            "tier": decision.tier,
            "capped_by": decision.capped_by,
        },
    )


def merge_record(
    action: str,
    branch: str,
    remediation_ids: Sequence[str],
    finding_ids: Sequence[str],
    *,
    target: str,
    merge_commit: str,
    previous_tip: str,
    branch_commit: str,
    actor: str = "patchpilot",
    reason: str = "",
) -> Record:
    """A merge: by patchpilot at level 3, or by a person who approved a branch for review."""
    undo = f"patchpilot revert {action}"
    approved = (
        ""
        if actor == "patchpilot"
        else f", approved by {actor}" + (f": {reason}" if reason else "")
    )
    return Record(
        kind="merge",
        summary=f"merged {branch} into {target} as {merge_commit[:12]}{approved} (undo: {undo})",
        subjects=(
            f"action:{action}",
            *(f"remediation:{i}" for i in remediation_ids),
            f"branch:{branch}",
            f"commit:{merge_commit}",
            *finding_ids,
        ),
        inputs={"branch_commit": branch_commit},
        outcome={
            "action": action,
            "target": target,
            "merge_commit": merge_commit,
            "previous_tip": previous_tip,
            "findings": list(finding_ids),
            "undo": undo,
            **({"approved_by": actor, "reason": reason} if actor != "patchpilot" else {}),
        },
        actor=actor,
    )


def deliver_record(
    branch: str, remediation_ids: Sequence[str], finding_ids: Sequence[str], level: int, how: str
) -> Record:
    """A branch left for review (level 2) or removed after a report-only decision (level 1)."""
    return Record(
        kind="deliver",
        summary=f"{branch}: {how}",
        subjects=(f"branch:{branch}", *(f"remediation:{i}" for i in remediation_ids), *finding_ids),
        outcome={"level": level, "how": how},
    )


def revert_record(
    action: str,
    finding_ids: Sequence[str],
    *,
    target: str,
    merge_commit: str,
    revert_commit: str,
    reason: str,
    actor: str,
) -> Record:
    return Record(
        kind="revert",
        summary=(
            f"reverted {action} (merge {merge_commit[:12]}) on {target} as {revert_commit[:12]}: "
            f"{reason}"
        ),
        subjects=(
            f"action:{action}",
            f"commit:{revert_commit}",
            f"commit:{merge_commit}",
            *finding_ids,
        ),
        outcome={"revert_commit": revert_commit, "target": target, "reason": reason},
        actor=actor,
    )


def reopen_record(action: str, finding_ids: Sequence[str], reason: str, actor: str) -> Record:
    return Record(
        kind="reopen",
        summary=f"reopened {', '.join(finding_ids)} after reverting {action}: {reason}",
        subjects=(*finding_ids, f"action:{action}"),
        outcome={"reason": reason, "findings": list(finding_ids)},
        actor=actor,
    )


def gate_record(project: str, violations: Sequence[Finding], exit_code: int) -> Record:
    return Record(
        kind="gate",
        summary=(
            f"gate on {project}: {len(violations)} finding(s) violate the policy"
            if violations
            else f"gate on {project}: passed"
        ),
        subjects=_finding_ids(violations),
        inputs={"project": project},
        outcome={"violations": [_finding_brief(f) for f in violations], "exit": exit_code},
    )
