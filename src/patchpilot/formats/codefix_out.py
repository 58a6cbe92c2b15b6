"""The `patchpilot.codefix/1` document: what the code fixes and configuration mitigations
found (changes, refusals with reasons, diffs, native-checker runs), shared by `codefix
--dry-run`/`--write` and, with each branch's outcome added, by `codefix` and `run`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from patchpilot.fixers.codemods.engine import CodefixResult
    from patchpilot.fixers.config.interface import MitigationResult

SCHEMA_NAME = "patchpilot.codefix/1"


def codefix_to_dict(
    result: CodefixResult, *, dry_run: bool, config: MitigationResult | None = None
) -> dict[str, Any]:
    """The `patchpilot.codefix/1` document: codemods with counts, changes, refusals, diffs,
    and the configuration mitigations when they ran."""
    doc = _codemods_dict(result, dry_run=dry_run)
    if config is not None:
        doc["config"] = {
            "changes": [
                {
                    "mitigation": c.mitigation,
                    "path": c.path,
                    "line": c.line,
                    "key": c.key,
                    "before": c.before,
                    "after": c.after,
                    "description": c.description,
                }
                for c in config.changes
            ],
            "refusals": [
                {
                    "mitigation": r.mitigation,
                    "path": r.path,
                    "line": r.line,
                    "reason": r.reason.value,
                    "detail": r.detail,
                }
                for r in config.refusals
            ],
            "checks": [
                {
                    "tool": c.tool,
                    "target": c.target,
                    "stage": c.stage,
                    "ok": c.ok,
                    "command": list(c.command),
                    "warnings": list(c.warnings),
                }
                for c in config.checks
            ],
            "files": [{"path": e.path, "diff": e.unified_diff()} for e in config.changeset.edits],
        }
        doc["written"] = doc["written"] or (not dry_run and bool(config.changeset.edits))
    return doc


def _codemods_dict(result: CodefixResult, *, dry_run: bool) -> dict[str, Any]:
    return {
        "schema": SCHEMA_NAME,
        "root": str(result.root),
        "dry_run": dry_run,
        "written": not dry_run and bool(result.changeset.edits),
        "files_scanned": result.files_scanned,
        "codemods": [
            {
                "id": c.id,
                "title": c.title,
                "tier": str(c.tier),
                "cwe": [f"CWE-{n}" for n in c.cwe],
                "rules": list(c.rules),
                "changes": result.counts[c.id].changes,
                "refusals": result.counts[c.id].refusals,
                "files": result.counts[c.id].files,
            }
            for c in result.codemods
        ],
        "changes": [
            {"codemod": c.codemod, "path": c.path, "line": c.line, "description": c.description}
            for c in sorted(result.changes, key=lambda c: (c.path, c.line, c.codemod))
        ],
        "refusals": [
            {
                "codemod": r.codemod,
                "path": r.path,
                "line": r.line,
                "reason": str(r.reason),
                "detail": r.detail,
            }
            for r in sorted(result.refusals, key=lambda r: (r.path, r.line or 0, r.codemod))
        ],
        "files": [{"path": e.path, "diff": e.unified_diff()} for e in result.changeset.edits],
        "notes": list(result.notes),
    }
