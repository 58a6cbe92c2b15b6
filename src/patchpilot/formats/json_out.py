"""The `patchpilot.scan/1` JSON document: the whole scan result for programs to read.

`scan_to_dict` is the contract (described field by field in the README and checked by
`schemas/scan.schema.json`, shipped with the package); `render` serialises it. Every list is in
a deterministic order so two scans of the same tree give byte-identical output apart from the
paths they were given. Fields are only ever added within schema `patchpilot.scan/1`; removing
or changing one means a new schema name.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

from patchpilot import __version__
from patchpilot.errors import OutputError
from patchpilot.formats._common import locations_of, notes_of, ordered, severity_counts
from patchpilot.model import Component, Finding, ScanResult, Skipped, SourceRecord

SCHEMA_NAME = "patchpilot.scan/1"
SCHEMA_RESOURCE = "scan.schema.json"


def scan_to_dict(result: ScanResult) -> dict[str, Any]:
    """The scan as plain JSON values (dicts, lists, strings, numbers, booleans, null)."""
    inv = result.inventory
    findings = ordered(result.findings)
    return {
        "schema": SCHEMA_NAME,
        "patchpilot_version": __version__,
        "root": inv.root,
        "store": result.store,
        "summary": {
            "components": len(inv.components),
            "findings": len(findings),
            "vulnerabilities": len({f.id for f in findings}),
            "vulnerable_components": len({f.component.key for f in findings}),
            "skipped": len(inv.skipped),
            "by_severity": severity_counts(findings),
        },
        "findings": [_finding(f) for f in findings],
        "skipped": [_skipped(s) for s in sorted(inv.skipped, key=_skipped_key)],
        "sources": [_source(s) for s in sorted(inv.sources, key=lambda s: s.path)],
        "notes": notes_of(result),
    }


def render(result: ScanResult) -> str:
    """The JSON document, indented, with a final newline."""
    try:
        return (
            json.dumps(scan_to_dict(result), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        )
    except (TypeError, ValueError, RecursionError) as e:
        raise OutputError(f"cannot serialise the scan result as JSON: {e}") from e


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the document `scan_to_dict` returns."""
    try:
        text = files("patchpilot.formats").joinpath("schemas", SCHEMA_RESOURCE).read_text("utf-8")
        loaded: dict[str, Any] = json.loads(text)
    except (OSError, ValueError) as e:
        raise OutputError(f"cannot load the bundled {SCHEMA_RESOURCE}: {e}") from e
    return loaded


def _finding(f: Finding) -> dict[str, Any]:
    sev = f.severity
    return {
        "id": f.id,
        "aliases": sorted(f.aliases),
        "package": _package(f.component),
        "severity": {
            "level": sev.level.value,
            "score": sev.score,
            "vector": sev.vector,
            "source": sev.source,
            "scores": [{"type": s.type, "vector": s.vector, "score": s.score} for s in sev.scores],
        },
        "fixed_versions": list(f.fixed_versions),
        "summary": f.summary,
        "references": [{"type": r.type, "url": r.url} for r in f.references],
        "records": [{"id": rid, "modified": modified} for rid, modified in sorted(f.records)],
    }


def _package(c: Component) -> dict[str, Any]:
    return {
        "ecosystem": c.ecosystem.value,
        "name": c.name,
        "version": c.version,
        "purl": c.purl,
        "direct": c.direct,
        "scope": c.scope.value,
        "paths": [list(p) for p in c.paths],
        "parents": list(c.parents),
        "locations": [{"path": loc.path, "line": loc.line} for loc in locations_of(c)],
    }


def _skipped_key(s: Skipped) -> tuple[str, int, str]:
    return (s.location.path, s.location.line or 0, s.name)


def _skipped(s: Skipped) -> dict[str, Any]:
    return {
        "name": s.name,
        "ecosystem": s.ecosystem.value if s.ecosystem is not None else None,
        "requirement": s.requirement,
        "reason": s.reason,
        "location": {"path": s.location.path, "line": s.location.line},
    }


def _source(s: SourceRecord) -> dict[str, Any]:
    return {
        "path": s.path,
        "format": s.format,
        "kind": s.kind.value,
        "read": s.read,
        "components": s.components,
        "note": s.note,
    }
