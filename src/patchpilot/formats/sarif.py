"""SARIF 2.1.0 output, shaped for code-scanning UIs such as GitHub's.

One run; one rule per vulnerability (its primary ID), carrying the text a reviewer needs (aliases,
fixed versions, references) and `security-severity`, the numeric score GitHub ranks alerts by;
one result per finding and manifest location, pointing at the manifest or lockfile line that
declares the package, relative to `%SRCROOT%` (the scan root). `partialFingerprints` depend on
the vulnerability, the package URL and the file only, so an alert survives lines moving and
closes when the package is upgraded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from patchpilot import __version__
from patchpilot.errors import OutputError
from patchpilot.formats._common import (
    dependency_path,
    locations_of,
    ordered,
    osv_url,
    relative_posix,
    scan_base,
)
from patchpilot.model import Finding, ScanResult, Scope, SeverityLevel, finding_order

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://pypi.org/project/patchpilot/"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "patchpilot/v1"

_LEVELS = {
    SeverityLevel.CRITICAL: "error",
    SeverityLevel.HIGH: "error",
    SeverityLevel.MEDIUM: "warning",
    SeverityLevel.UNKNOWN: "warning",
    SeverityLevel.LOW: "note",
    SeverityLevel.NONE: "note",
}

# GitHub derives an alert's severity only from `security-severity`. An advisory rated by its
# database but without a CVSS vector gets a score inside the band of its label, so the alert
# lands in the same band (critical >= 9.0, high >= 7.0, medium >= 4.0, low > 0).
_BAND_SCORES = {
    SeverityLevel.CRITICAL: 9.5,
    SeverityLevel.HIGH: 8.0,
    SeverityLevel.MEDIUM: 5.5,
    SeverityLevel.LOW: 2.0,
    SeverityLevel.NONE: 0.0,
}


@dataclass(frozen=True, slots=True)
class GateMarks:
    """What `patchpilot gate` concluded about each finding, keyed by (finding ID, purl).

    `violations` fail the gate; `suppressed` maps a finding to (kind, justification), where kind
    is `vex` or `ignore`; both become SARIF `suppressions`, so code-scanning UIs show them as
    dismissed, with the reason.
    """

    violations: frozenset[tuple[str, str]]
    suppressed: Mapping[tuple[str, str], tuple[str, str]]


def scan_to_sarif(result: ScanResult, gate: GateMarks | None = None) -> dict[str, Any]:
    """The SARIF log as plain JSON values; with `gate`, results carry the gate's verdicts."""
    findings = ordered(result.findings)
    base = scan_base(result.inventory)
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    for vuln_id, group in _by_vulnerability(findings).items():
        rule_index[vuln_id] = len(rules)
        rules.append(_rule(vuln_id, group))
    results: list[dict[str, Any]] = []
    for f in findings:
        produced = _results(f, rule_index[f.id], base)
        if gate is not None:
            produced = [_mark(r, f, gate) for r in produced]
        results.extend(produced)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "patchpilot",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(base)}},
                "results": results,
                "properties": {
                    "root": result.inventory.root,
                    "store": result.store,
                    "components": len(result.inventory.components),
                },
            }
        ],
    }


def _mark(result: dict[str, Any], f: Finding, gate: GateMarks) -> dict[str, Any]:
    key = (f.id, f.component.purl)
    properties = dict(result["properties"])
    marked = dict(result)
    if key in gate.suppressed:
        source, justification = gate.suppressed[key]
        marked["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": justification}
        ]
        properties["gate"] = source
    elif key in gate.violations:
        properties["gate"] = "violation"
        marked["level"] = "error"
    else:
        properties["gate"] = "below-threshold"
    marked["properties"] = properties
    return marked


def render(result: ScanResult, gate: GateMarks | None = None) -> str:
    try:
        return (
            json.dumps(scan_to_sarif(result, gate), indent=2, ensure_ascii=False, allow_nan=False)
            + "\n"
        )
    except (TypeError, ValueError, RecursionError) as e:
        raise OutputError(f"cannot serialise the scan result as SARIF: {e}") from e


def _by_vulnerability(findings: list[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.id, []).append(f)
    return groups


def _rule(vuln_id: str, group: list[Finding]) -> dict[str, Any]:
    # The findings of one vulnerability share its advisory text; the most severe one (first in
    # display order) speaks for the rule.
    lead = min(group, key=finding_order)
    aliases = sorted({a for f in group for a in f.aliases})
    ecosystems = sorted({f.component.ecosystem.value for f in group})
    fixed = _fixed_by_package(group)
    references = list(dict.fromkeys(r.url for f in group for r in f.references))
    summary = lead.summary or vuln_id
    properties: dict[str, Any] = {"tags": ["security", "vulnerability", *ecosystems]}
    score = _security_severity(lead)
    if score is not None:
        properties["security-severity"] = score
    properties["patchpilot-severity"] = lead.severity.level.value
    if aliases:
        properties["aliases"] = aliases
    return {
        "id": vuln_id,
        "name": _rule_name(vuln_id),
        "shortDescription": {"text": _one_line(summary)},
        "fullDescription": {"text": summary},
        "helpUri": osv_url(vuln_id),
        "help": {
            "text": _help_text(vuln_id, summary, aliases, fixed, references),
            "markdown": _help_markdown(vuln_id, summary, aliases, fixed, references),
        },
        "defaultConfiguration": {"level": _LEVELS[lead.severity.level]},
        "properties": properties,
    }


def _rule_name(vuln_id: str) -> str:
    # SARIF recommends a rule name that is an identifier; IDs such as GHSA-xxxx-... are close.
    return "".join(ch if ch.isalnum() else "_" for ch in vuln_id)


def _security_severity(f: Finding) -> str | None:
    sev = f.severity
    if sev.score is not None:
        return f"{sev.score:.1f}"
    band = _BAND_SCORES.get(sev.level)
    return None if band is None else f"{band:.1f}"


def _fixed_by_package(group: list[Finding]) -> list[tuple[str, tuple[str, ...]]]:
    seen: dict[str, tuple[str, ...]] = {}
    for f in group:
        seen.setdefault(f.component.name, f.fixed_versions)
    return sorted(seen.items())


def _help_text(
    vuln_id: str,
    summary: str,
    aliases: list[str],
    fixed: list[tuple[str, tuple[str, ...]]],
    references: list[str],
) -> str:
    lines = [f"{vuln_id}: {summary}"]
    if aliases:
        lines.append("Also known as: " + ", ".join(aliases))
    for name, versions in fixed:
        lines.append(
            f"Fixed versions of {name}: " + (", ".join(versions) if versions else "none published")
        )
    lines.append(f"Details: {osv_url(vuln_id)}")
    if references:
        lines.append("References:")
        lines.extend(f"- {url}" for url in references)
    return "\n".join(lines)


def _help_markdown(
    vuln_id: str,
    summary: str,
    aliases: list[str],
    fixed: list[tuple[str, tuple[str, ...]]],
    references: list[str],
) -> str:
    lines = [f"**[{vuln_id}]({osv_url(vuln_id)})**: {summary}", ""]
    if aliases:
        lines.append("Also known as: " + ", ".join(f"`{a}`" for a in aliases))
        lines.append("")
    for name, versions in fixed:
        shown = ", ".join(f"`{v}`" for v in versions) if versions else "none published"
        lines.append(f"Fixed versions of `{name}`: {shown}")
    if references:
        lines.extend(["", "References:", *(f"- <{url}>" for url in references)])
    return "\n".join(lines).strip()


def _results(f: Finding, index: int, base: str) -> list[dict[str, Any]]:
    c = f.component
    fixed = ", ".join(f.fixed_versions) if f.fixed_versions else "no fixed version published"
    how = "Direct dependency" if c.direct else f"Transitive dependency: {dependency_path(c)}"
    if c.scope is Scope.DEV:
        how += " (development only)"
    summary = _one_line(f.summary).rstrip(".") or "known vulnerability"
    message = f"{c.name} {c.version} is affected by {f.id}: {summary}. Fixed in: {fixed}. {how}."
    common: dict[str, Any] = {
        "ruleId": f.id,
        "ruleIndex": index,
        "level": _LEVELS[f.severity.level],
        "message": {"text": message},
        "properties": {"purl": c.purl, "ecosystem": c.ecosystem.value, "direct": c.direct},
    }
    locations = locations_of(c)
    if not locations:
        # An SBOM entry may carry no file position; the result still names the package.
        return [{**common, "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(f, "")}}]
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for loc in locations:
        uri = quote(relative_posix(loc.path, base), safe="/")
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": SRCROOT}}
        if loc.line is not None and loc.line >= 1:
            physical["region"] = {"startLine": loc.line}
        key = f"{uri}:{loc.line}"
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {
                **common,
                "locations": [{"physicalLocation": physical}],
                "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(f, uri)},
            }
        )
    return out


def _fingerprint(f: Finding, uri: str) -> str:
    # The file is part of the key so that one package declared in two manifests yields two
    # alerts rather than one that flips between files.
    material = "\0".join((f.id, f.component.purl, uri))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _directory_uri(base: str) -> str:
    uri = Path(base).as_uri()
    return uri if uri.endswith("/") else uri + "/"
