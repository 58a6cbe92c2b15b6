"""The `patchpilot.code-evidence/1` JSON document and the short human summary of verifying a
code or config fix: test results on both sides and, per changed line, the passing tests that
executed it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from patchpilot import __version__
from patchpilot.formats.evidence_out import _side

if TYPE_CHECKING:
    from patchpilot.verify.codefix_evidence import CodeEvidence
    from patchpilot.verify.lines import LineReach

SCHEMA = "patchpilot.code-evidence/1"


def _line(r: LineReach) -> dict[str, Any]:
    return {
        "path": r.path,
        "line": r.line,
        "code": r.code,
        "executed": r.executed,
        "tests": list(r.tests),
        "other_tests": list(r.other_tests),
        "outside_tests": r.outside_tests,
        "note": r.note,
    }


def code_evidence_to_dict(e: CodeEvidence) -> dict[str, Any]:
    c = e.comparison
    return {
        "schema": SCHEMA,
        "patchpilot_version": __version__,
        "repo": e.repo,
        "branch": e.branch,
        "verdict": e.verdict,
        "summary": e.summary,
        "tests": {
            "before": _side(e.base),
            "after": _side(e.fix),
            "regressions": list(c.regressions),
            "pre_existing": list(c.pre_existing),
            "fixed": list(c.fixed),
            "flaky": list(c.flaky),
        },
        "lines": {
            "mechanism": e.mechanism,
            "reach_share": None if e.reach_share is None else round(e.reach_share, 3),
            "tests": list(e.tests),
            "changed": [_line(r) for r in e.lines],
        },
        "seconds": round(e.seconds, 3),
        "notes": list(e.notes),
    }


def render_code_evidence(e: CodeEvidence, fmt: str) -> str:
    """`json` for the document, anything else for the lines people read."""
    if fmt == "json":
        return json.dumps(code_evidence_to_dict(e), indent=2)
    lines = [e.summary]
    for r in e.lines:
        if r.executed:
            tests = ", ".join(r.tests[:3]) + (" …" if len(r.tests) > 3 else "")
            lines.append(f"  {r.place} executed by {tests}")
        elif r.code:
            lines.append(f"  {r.place} not executed by a passing test" + (
                f" ({r.note})" if r.note else ""))  # fmt: skip
        else:
            lines.append(f"  {r.place} is not code" + (f" ({r.note})" if r.note else ""))
    lines.extend(f"note: {n}" for n in e.notes)
    return "\n".join(lines)
