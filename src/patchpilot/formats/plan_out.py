"""Renderings of `patchpilot plan` and `patchpilot fix`: JSON (`patchpilot.plan/1`,
`patchpilot.fix/1`), a terminal table, and Markdown (the PR bodies).

The JSON documents list, per remediation, the finding IDs, the package, the from and to
versions, the upgrade level and ceiling, the strategy the real resolver needed, every other
package delta that resolution implies, and the findings fixed, introduced and left open.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

from patchpilot import __version__

if TYPE_CHECKING:
    from patchpilot.deliver.fix import BranchResult, FixResult
    from patchpilot.fixers.changeset import PackageDelta
    from patchpilot.planning.plan import Plan, Remediation

PLAN_SCHEMA = "patchpilot.plan/1"
FIX_SCHEMA = "patchpilot.fix/1"


def _delta(d: PackageDelta) -> dict[str, Any]:
    return {
        "ecosystem": d.ecosystem.value,
        "name": d.name,
        "before": d.before,
        "after": d.after,
        "level": d.level.value,
        "direct": d.direct,
    }


def remediation_to_dict(r: Remediation) -> dict[str, Any]:
    c = r.choice
    return {
        "id": r.id,
        "kind": r.kind,
        "finding_ids": [f.id for f in r.findings],
        "package": {
            "ecosystem": r.component.ecosystem.value,
            "name": r.component.name,
            "purl": r.component.purl,
            "direct": r.component.direct,
        },
        "from": r.component.version,
        "to": c.target,
        "resolved": r.resolved,
        "upgrade_level": c.level.value,
        "ceiling": c.ceiling.value,
        "newest_in_major": c.newest_in_major,
        "strategy": r.strategy.value if r.strategy is not None else None,
        "lockfile": r.lockfile,
        "co_upgrades": [{"package": p, "from": a, "to": b} for p, a, b in r.co_upgrades],
        "deltas": [_delta(d) for d in r.deltas if d.name != r.component.name],
        "findings_fixed": list(r.fixed),
        "findings_introduced": list(r.introduced),
        "findings_left_open": [{"id": i, "reason": why} for i, why in r.left_open],
        "release_age": {
            "check": c.release_age.value,
            "released": c.released.isoformat() if c.released else None,
        },
        "reason": r.reason or c.none_reason,
        "reasons": list(c.reasons),
        "mitigations": [{"finding": m.finding_id, "text": m.text} for m in c.mitigations],
        "commands": list(r.outcome.commands) if r.outcome is not None else [],
        "breaking": [
            {
                "package": v.name,
                "from": v.old,
                "to": v.new,
                "verdict": v.verdict.value,
                "reason": v.reason,
                "sites": [
                    {"path": x.path, "line": x.line, "symbol": x.symbol, "message": x.message}
                    for x in v.sites
                ],
            }
            for v in r.breaking
        ],
        "breaking_dependents": [
            {
                "dependent": d.dependent,
                "version": d.version,
                "verdict": "breaks-dependency" if d.sites else "unknown",
                "sites": [
                    {"path": x.path, "line": x.line, "symbol": x.symbol, "message": x.message}
                    for x in d.sites
                ],
                "cure": d.cure,
                "cure_reason": d.cure_reason,
                "unknown": d.unknown,
                "summary": d.summary,
            }
            for d in r.dependent_breaks
        ],
    }


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "schema": PLAN_SCHEMA,
        "patchpilot_version": __version__,
        "root": plan.root,
        "store": plan.scan.store,
        "options": {
            "upgrade_config": list(plan.upgrade_config),
            "min_release_age_days": plan.min_release_age_days,
        },
        "summary": {
            "findings": len(plan.scan.findings),
            "remediations": len(plan.remediations),
            "applicable": sum(1 for r in plan.remediations if r.applicable),
            "none": sum(1 for r in plan.remediations if r.kind == "none"),
        },
        "remediations": [remediation_to_dict(r) for r in plan.remediations],
        "notes": list(plan.notes),
    }


def _branch(b: BranchResult) -> dict[str, Any]:
    return {
        "branch": b.branch,
        "commits": list(b.commits),
        "remediations": list(b.remediation_ids),
        "findings_fixed": list(b.fixed),
        "findings_left_open": [{"id": i, "reason": why} for i, why in b.still_open],
        "findings_introduced": list(b.introduced),
        "deltas": [_delta(d) for d in b.deltas],
        "files": [e.path for e in b.edits],
        "diff": "".join(e.unified_diff() for e in b.edits),
        "commands": list(b.commands),
        "pr_body": b.body,
    }


def fix_to_dict(result: FixResult) -> dict[str, Any]:
    branches = [_branch(b) for b in result.branches]
    return {
        "schema": FIX_SCHEMA,
        "patchpilot_version": __version__,
        "repo": result.repo,
        "base_commit": result.base_commit,
        "dry_run": result.dry_run,
        "dirty": list(result.dirty),
        "branch": branches[0]["branch"] if len(branches) == 1 else None,
        "branches": branches,
        "plan": plan_to_dict(result.plan),
        "notes": list(result.notes),
    }


def render_plan(plan: Plan, fmt: str, *, color: bool = False) -> str:
    if fmt == "json":
        return json.dumps(plan_to_dict(plan), indent=2)
    if fmt == "markdown":
        return _plan_markdown(plan)
    return _plan_table(plan, color=color)


def render_fix(result: FixResult, fmt: str, *, color: bool = False) -> str:
    if fmt == "json":
        return json.dumps(fix_to_dict(result), indent=2)
    if fmt == "markdown":
        return "\n\n---\n\n".join(b.body for b in result.branches) or "Nothing to fix.\n"
    lines = [_plan_table(result.plan, color=color)]
    for b in result.branches:
        if b.branch is None:
            lines.append("".join(e.unified_diff() for e in b.edits))
        else:
            lines.append(
                f"branch {b.branch} ({b.commits[0][:12]}): fixes {len(b.fixed)} "
                f"finding(s), {len(b.deltas)} package change(s)"
            )
    lines.extend(f"note: {n}" for n in result.notes)
    return "\n".join(lines)


def _plan_markdown(plan: Plan) -> str:
    from patchpilot.formats.markdown import escape_cell

    out = [
        "# Remediation plan",
        "",
        "| package | from | to | level | strategy | fixes | other changes | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in plan.remediations:
        others = ", ".join(d.describe() for d in r.deltas if d.name != r.component.name)
        out.append(
            "| "
            + " | ".join(
                escape_cell(x)
                for x in (
                    r.component.name,
                    r.component.version,
                    r.choice.target or "-",
                    r.choice.level.value,
                    r.strategy.value if r.strategy else "-",
                    ", ".join(r.fixed) or "-",
                    others or "-",
                    r.reason or r.choice.none_reason or "",
                )
            )
            + " |"
        )
    return "\n".join(out) + "\n"


def _plan_table(plan: Plan, *, color: bool) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Remediation plan", box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("package", "from", "to", "level", "strategy", "fixes", "other changes / why"):
        table.add_column(col)
    for r in plan.remediations:
        others = ", ".join(d.describe() for d in r.deltas if d.name != r.component.name)
        why = others or r.reason or r.choice.none_reason or ""
        broken = [x.message for v in r.breaking for x in v.sites]
        if broken:
            why = f"BREAKS: {'; '.join(broken[:2])}" + (
                f" (+{len(broken) - 2})" if len(broken) > 2 else ""
            )
        table.add_row(
            Text(r.component.name),
            Text(r.component.version),
            Text(r.choice.target or "-"),
            Text(r.choice.level.value),
            Text(r.strategy.value if r.strategy else "-"),
            Text(str(len(r.fixed)) + f"/{len(r.findings)}"),
            Text(why),
        )
    out = io.StringIO()
    console = Console(
        file=out, width=120, force_terminal=color, color_system=None if not color else "auto"
    )
    console.print(table)
    return out.getvalue()
