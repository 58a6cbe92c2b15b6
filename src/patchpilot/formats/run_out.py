"""Rendering of `patchpilot run` and `patchpilot gate`: JSON documents and terminal text.

`patchpilot.run/1` lists, per remediation group, the branch, the verify verdict, the decision
(level, rule, reasons) and what was delivered (merged with its action ID and undo command, left
as a branch for review, or reported only), plus the findings suppressed by VEX or ignores and
the ignores that expired or matched nothing. `patchpilot.gate/1` lists violations and
suppressions. The table form says the same in plain lines for a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from patchpilot import __version__
from patchpilot.errors import OutputError

if TYPE_CHECKING:
    from patchpilot.engine import Action, CodefixRun, GateOutcome, RunResult, Triage
    from patchpilot.model import Finding
    from patchpilot.policy.model import MitigationLink

RUN_SCHEMA = "patchpilot.run/1"
GATE_SCHEMA = "patchpilot.gate/1"

_DELIVERED = {
    "merged": "merged",
    "branch": "branch left for review",
    "reported": "reported only",
    "no-fix": "no fix",
}


def _action(a: Action) -> dict[str, Any]:
    return {
        "remediations": list(a.remediation_ids),
        "findings": list(a.finding_ids),
        "branch": a.branch,
        "verify": a.verdict,
        "summary": a.summary,
        "decision": {
            "level": a.decision.level,
            "rule": a.decision.rule,
            "reasons": list(a.decision.reasons),
            "tier": a.decision.tier,
            "capped_by": a.decision.capped_by,
        },
        "delivered": a.delivered,
        "action": a.action,
        "merge_commit": a.merge_commit,
        "target": a.target,
        "change": a.change,
        "undo": f"patchpilot revert {a.action}" if a.action else None,
        "notes": list(a.notes),
    }


def _triage(t: Triage) -> dict[str, Any]:
    return {
        "suppressed": [
            {
                "finding": s.finding.id,
                "package": s.finding.component.name,
                "version": s.finding.component.version,
                "by": s.by,
                "source": s.source,
                "reason": s.reason,
                "expires": s.expires,
            }
            for s in t.suppressed
        ],
        "expired_ignores": list(t.expired_ignores),
        "unused_ignores": list(t.unused_ignores),
    }


def _triage_lines(t: Triage) -> list[str]:
    lines = [
        f"  suppressed {s.finding.id} ({s.finding.component.name} "
        f"{s.finding.component.version}) by {s.by}: {s.reason}"
        for s in t.suppressed
    ]
    lines.extend(f"  ignore: {n}" for n in (*t.expired_ignores, *t.unused_ignores))
    return lines


def run_to_dict(r: RunResult) -> dict[str, Any]:
    return {
        "schema": RUN_SCHEMA,
        "patchpilot": __version__,
        "project": r.project,
        "policy": {"source": r.policy_source, "digest": r.policy_digest, "tier": r.tier},
        "base_commit": r.base_commit,
        "findings": len(r.scan.findings),
        **_triage(r.triage),
        "actions": [_action(a) for a in r.actions],
        "codefix": codefix_to_dict(r.codefix) if r.codefix is not None else None,
        "notes": list(r.notes),
    }


def codefix_to_dict(c: CodefixRun) -> dict[str, Any]:
    """`patchpilot.codefix/1`: every change and refusal found on the scratch copy (the same
    document as `codefix --dry-run`), then what happened to each branch (as `run`'s actions)."""
    from patchpilot.formats.codefix_out import codefix_to_dict as found_to_dict

    doc = found_to_dict(c.found, dry_run=not c.actions, config=c.config)
    doc["project"] = c.project
    doc["base_commit"] = c.base_commit
    doc["actions"] = [_action(a) for a in c.actions]
    doc["notes"] = [*doc["notes"], *c.notes]
    return doc


def _at(line: int | None) -> str:
    return "" if line is None else f":{line}"


def render_codefix(c: CodefixRun, fmt: str) -> str:
    if fmt == "json":
        return _dump(codefix_to_dict(c))
    found = c.found
    lines = [f"code and config fixes in {c.project} ({found.files_scanned} Python files)"]
    lines += [f"  fix     {x.path}:{x.line}  [{x.codemod}] {x.description}" for x in found.changes]
    lines += [
        f"  refused {r.path}{_at(r.line)}  [{r.codemod}] {r.reason}: {r.detail}"
        for r in found.refusals
    ]
    if c.config is not None:
        lines += [
            f"  fix     {y.path}:{y.line}  [{y.mitigation}] {y.description}"
            for y in c.config.changes
        ]
        lines += [
            f"  refused {z.path}{_at(z.line)}  [{z.mitigation}] {z.reason.value}: {z.detail}"
            for z in c.config.refusals
        ]
    if not c.actions:
        edits = (*found.changeset.edits, *(c.config.changeset.edits if c.config else ()))
        if edits:
            lines.append("")
            lines.extend(e.unified_diff().rstrip("\n") for e in edits)
    else:
        lines.append("")
        lines.extend(_action_lines(c.actions))
    lines.extend(f"note: {n}" for n in c.notes)
    return "\n".join(lines) + "\n"


def _dump(data: dict[str, Any]) -> str:
    try:
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as e:
        raise OutputError(f"cannot serialise the result as JSON: {e}") from e


def render_run(r: RunResult, fmt: str) -> str:
    if fmt == "json":
        return _dump(run_to_dict(r))
    lines = [
        f"patchpilot run on {r.project}",
        f"policy: {r.policy_source} (tier {r.tier}, {r.policy_digest[:19]})",
        f"{len(r.scan.findings)} findings; {len(r.triage.suppressed)} suppressed",
        "",
    ]
    lines.extend(_triage_lines(r.triage))
    if r.triage.suppressed or r.triage.expired_ignores or r.triage.unused_ignores:
        lines.append("")
    lines.extend(_action_lines(r.actions))
    if r.codefix is not None:
        lines.append("")
        lines.append(render_codefix(r.codefix, "table").rstrip("\n"))
    lines.extend(f"note: {n}" for n in r.notes)
    return "\n".join(lines) + "\n"


def _action_lines(actions: Sequence[Action]) -> list[str]:
    lines: list[str] = []
    for a in actions:
        head = a.branch or ", ".join(a.remediation_ids)
        lines.append(
            f"level {a.decision.level}  {_DELIVERED.get(a.delivered, a.delivered):<22} {head}"
        )
        if a.finding_ids:
            lines.append(f"    findings: {', '.join(a.finding_ids)}")
        if a.verdict:
            lines.append(f"    verify: {a.verdict} — {a.summary}")
        elif a.summary:
            lines.append(f"    {a.summary}")
        reasons = a.decision.reasons
        if a.delivered == "no-fix":
            # Which higher rules did not apply is noise when there is nothing to apply.
            reasons = tuple(r for r in reasons if "does not apply" not in r)
        lines.extend(f"    - {r}" for r in reasons)
        if a.action:
            lines.append(
                f"    merged into {a.target} as {(a.merge_commit or '')[:12]}; "
                f"undo: patchpilot revert {a.action}"
            )
        lines.extend(f"    note: {n}" for n in a.notes)

    return lines


def gate_to_dict(g: GateOutcome) -> dict[str, Any]:
    return {
        "schema": GATE_SCHEMA,
        "patchpilot": __version__,
        "project": g.scan.inventory.root,
        "policy": {"source": g.policy_source, "digest": g.policy_digest},
        "passed": not g.violations,
        "violations": [
            {
                "finding": f.id,
                "aliases": list(f.aliases),
                "package": f.component.name,
                "version": f.component.version,
                "severity": f.severity.level.value,
                "why": g.why.get((f.id, f.component.purl), ""),
            }
            for f in g.violations
        ],
        **_triage(g.triage),
    }


def render_gate(g: GateOutcome, fmt: str) -> str:
    if fmt == "json":
        return _dump(gate_to_dict(g))
    if fmt == "sarif":
        from patchpilot.formats.sarif import render

        return render(g.scan, g.marks)
    lines = [f"gate on {g.scan.inventory.root}: " + ("FAILED" if g.violations else "passed")]
    for f in g.violations:
        why = g.why.get((f.id, f.component.purl), "")
        lines.append(
            f"  {f.severity.level.value:<8} {f.id:<22} {f.component.name} {f.component.version}"
            + (f"  ({why})" if why else "")
        )
    lines.extend(_triage_lines(g.triage))
    return "\n".join(lines) + "\n"


def run_vex(
    r: RunResult,
    *,
    product: str | None = None,
    mitigations: Sequence[MitigationLink] = (),
) -> str:
    """An OpenVEX document of the run's outcome for the project (`product`, default its
    `file:` URL): `fixed` for findings merged at level 3 (naming the merge commit), `affected`
    with an action statement for every other open finding. `not_affected` is never claimed
    from a run's evidence: tests that do not reach a function do not prove it unreachable.
    Findings already suppressed by the project's own VEX or ignores are left out.

    `mitigations` are the policy's links from a finding to the configuration mitigation that
    stands in for its fix: once that mitigation is merged, the finding is `not_affected`
    (`inline_mitigations_already_exist`) until the link's expiry (judged on the run's clock),
    and the statement names the real fix, due by then; while it waits for review, the
    `affected` statement names it. A link matches the finding's ID or an alias, in any case."""
    from datetime import UTC, datetime
    from pathlib import Path

    from patchpilot.fixers.config import mitigation_vex
    from patchpilot.formats.openvex import (
        affected_statement,
        fixed_statement,
        not_affected_statement,
        openvex_document,
        project_iri,
    )

    ident = product or project_iri(Path(r.project))
    # The run's own "today" (PATCHPILOT_NOW pins it), so a link expires on the same clock as
    # the policy's ignores.
    now = r.now or datetime.now(UTC)
    merged: dict[str, Action] = {}
    planned: dict[str, Action] = {}
    for a in r.actions:
        for fid in a.finding_ids:
            (merged if a.delivered == "merged" else planned)[fid] = a
    statements = []
    suppressed = {s.finding.id for s in r.triage.suppressed}
    config_actions = [
        a
        for a in (r.codefix.actions if r.codefix else ())
        if a.remediation_ids[0].startswith("config:")
    ]
    config_changes = r.codefix.config.changes if r.codefix and r.codefix.config else ()
    today = now.date()
    for f in r.scan.findings:
        if f.id in suppressed:
            continue
        done = merged.get(f.id)
        if done is not None and done.merge_commit:
            statements.append(
                fixed_statement(
                    f,
                    ident,
                    fixed_by=f"merge {done.merge_commit} into {done.target} "
                    f"(patchpilot action {done.action})",
                    timestamp=now,
                )
            )
            continue
        names = {i.upper() for i in (f.id, *f.aliases)}
        link = next(
            (m for m in mitigations if m.id.upper() in names and m.expires >= today),
            None,
        )
        change = (
            next((c for c in config_changes if c.mitigation == link.mitigation), None)
            if link
            else None
        )
        carrier = (
            next((a for a in config_actions if link.mitigation in a.remediation_ids[0]), None)
            if link
            else None
        )
        if link and change and carrier and carrier.delivered == "merged":
            data = mitigation_vex(change, [f.id], link.expires)
            statements.append(
                not_affected_statement(
                    f,
                    ident,
                    data.justification,
                    f"{data.impact_statement} {data.action_statement} {_real_fix(f)}",
                    timestamp=now,
                )
            )
            continue
        pending = planned.get(f.id)
        if link and carrier and carrier.delivered == "branch":
            action = (
                f"review and merge branch {carrier.branch}, whose {link.mitigation} mitigates "
                f"this until {link.expires.isoformat()}; the real fix is due by then"
            )
            statements.append(affected_statement(f, ident, action, timestamp=now))
            continue
        if pending is None:
            action = "no fix is available yet; follow the advisory's workaround"
        elif pending.delivered == "branch":
            action = f"review and merge branch {pending.branch} ({pending.summary})"
        else:
            action = f"no automatic fix: {pending.summary}"
        statements.append(affected_statement(f, ident, action, timestamp=now))
    return openvex_document(
        statements,
        author="patchpilot",
        doc_id=f"https://openvex.dev/docs/patchpilot/{r.base_commit[:16] or 'run'}",
        timestamp=now,
    )


def _real_fix(f: Finding) -> str:
    """The upgrade a mitigation only stands in for: the lowest fixed version above the one
    installed, by the ecosystem's version order."""
    from patchpilot.advisories.versions import key, scheme_for

    c = f.component
    scheme = scheme_for(c.ecosystem)
    here = key(scheme, c.version)
    above = sorted(
        (k, v)
        for v in f.fixed_versions
        if (k := key(scheme, v)) is not None and (here is None or k > here)
    )
    if not above:
        return f"No fixed version of {c.name} is published yet."
    return f"The real fix: {c.name} {above[0][1]} or later ({c.version} is installed)."
