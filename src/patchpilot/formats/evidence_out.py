"""The `patchpilot.evidence/1` JSON document and the short human summary of `verify`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from patchpilot import __version__

if TYPE_CHECKING:
    from patchpilot.verify.evidence import Evidence, PackageEvidence
    from patchpilot.verify.results import SideResult

SCHEMA = "patchpilot.evidence/1"


def _side(s: SideResult) -> dict[str, Any]:
    totals = s.totals
    return {
        "rev": s.rev,
        "commit": s.commit,
        "command": list(s.command),
        "python": s.python_version,
        "installer": s.installer,
        "returncode": s.returncode,
        "totals": {
            "passed": totals.passed,
            "failed": totals.failed,
            "error": totals.error,
            "skipped": totals.skipped,
        },
        "flaky": list(s.flaky),
        "seconds": {
            "environment": round(s.env_seconds, 3),
            "tests": round(s.test_seconds, 3),
            "rerun": round(s.rerun_seconds, 3),
        },
    }


def _package(p: PackageEvidence) -> dict[str, Any]:
    static = p.static
    return {
        "name": p.delta.name,
        "from": p.delta.before,
        "to": p.delta.after,
        "findings_fixed": list(p.fixed),
        "target_source": p.target_source,
        "targets": [t.dotted for t in p.targets],
        "breaking": None
        if p.breaking is None
        else {
            "verdict": p.breaking.verdict.value,
            "reason": p.breaking.reason,
            "sites": [{"at": f"{x.path}:{x.line}", "message": x.message} for x in p.breaking.sites],
            "status": p.breaking_status or None,
            "confirmed_by": list(p.confirmed_by),
        },
        "static": None
        if static is None
        else {
            "verdict": static.verdict,
            "reason": static.reason,
            "import_names": list(static.import_names),
            "imports": [str(loc) for loc in static.imports],
            "references": [{"name": r.name, "at": str(r.location)} for r in static.references],
            "dynamic_constructs": [
                {"construct": h.construct, "at": str(h.location)} for h in static.escape_hatches
            ],
        },
    }


def evidence_to_dict(e: Evidence) -> dict[str, Any]:
    c = e.comparison
    reach = e.reach
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
        "packages": [_package(p) for p in e.packages],
        "reach": None
        if reach is None
        else {
            "mechanism": reach.mechanism,
            "python": reach.python,
            "share_executed": round(reach.share, 3),
            "tests": list(reach.tests),
            "targets": [
                {
                    "target": t.target.dotted,
                    "source": t.target.source,
                    "executed": t.executed,
                    "tests": list(t.tests),
                    "call_path": list(t.call_path),
                    "note": t.note,
                }
                for t in reach.targets
            ],
            "summary": reach.summary(),
        },
        "installed": {
            "packages": len(e.installed.components),
            "findings": sorted({f.id for f in e.installed.findings}),
            "still_vulnerable": list(e.still_vulnerable),
        },
        "seconds": round(e.seconds, 3),
        "notes": list(e.notes),
    }


def render_evidence(e: Evidence, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(evidence_to_dict(e), indent=2)
    lines = [e.summary]
    if e.reach is not None:
        for t in e.reach.executed:
            tests = ", ".join(t.tests[:3]) + (" …" if len(t.tests) > 3 else "")
            via = f" via {t.call_site}" if t.call_site else ""
            lines.append(f"  executed {t.target.dotted}{via} by {tests}")
    lines.extend(f"note: {n}" for n in e.notes)
    return "\n".join(lines)
