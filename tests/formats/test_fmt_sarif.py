"""SARIF 2.1.0 output: validity against the OASIS schema and what GitHub code scanning reads."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from patchpilot import __version__
from patchpilot.formats import sarif
from patchpilot.model import Location, ScanResult, SeverityLevel

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "formats"


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads((ASSETS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


def render(result: ScanResult) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(sarif.render(result))
    return doc


def test_validates_against_the_official_schema(
    scan_result: ScanResult, sarif_validator: jsonschema.Draft4Validator
) -> None:
    doc = render(scan_result)
    errors = sorted(sarif_validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert doc["version"] == "2.1.0"
    assert len(doc["runs"]) == 1
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["name"] == "patchpilot"
    assert driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")


def test_one_rule_per_vulnerability(scan_result: ScanResult) -> None:
    run = render(scan_result)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    assert set(ids) == {f.id for f in scan_result.findings}
    for finding in scan_result.findings:
        rule = rules[ids.index(finding.id)]
        props = rule["properties"]
        assert props["tags"][:2] == ["security", "vulnerability"]
        assert finding.component.ecosystem.value in props["tags"]
        assert rule["shortDescription"]["text"]
        for alias in finding.aliases:
            assert alias in rule["help"]["text"]
        for version in finding.fixed_versions:
            assert version in rule["help"]["text"]
        if finding.severity.score is not None:
            assert props["security-severity"] == f"{finding.severity.score:.1f}"


def test_security_severity_without_cvss_stays_in_its_band(scan_result: ScanResult) -> None:
    # GHSA-crh6-fp67-6883 has only GitHub's CRITICAL label, no vector.
    rules = render(scan_result)["runs"][0]["tool"]["driver"]["rules"]
    rule = next(r for r in rules if r["id"] == "GHSA-crh6-fp67-6883")
    assert float(rule["properties"]["security-severity"]) >= 9.0
    # An unrated advisory gets no number GitHub would mistake for a rating.
    unknown = {f.id for f in scan_result.findings if f.severity.level is SeverityLevel.UNKNOWN}
    assert unknown
    for r in rules:
        if r["id"] in unknown:
            assert "security-severity" not in r["properties"]


def test_results_point_at_the_manifest_line(scan_result: ScanResult) -> None:
    run = render(scan_result)["runs"][0]
    base = Path(scan_result.inventory.root)
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == base.resolve().as_uri() + "/"
    assert len(run["results"]) == sum(len(f.component.locations) for f in scan_result.findings)
    for result in run["results"]:
        loc = result["locations"][0]["physicalLocation"]
        uri = loc["artifactLocation"]["uri"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not uri.startswith("/")
        assert "\\" not in uri
        line = loc["region"]["startLine"]
        text = (base / uri).read_text(encoding="utf-8").splitlines()[line - 1]
        name = result["properties"]["purl"].split("/")[-1].split("@")[0]
        # The declaring line of that package: uv.lock's `name = "x"`, package-lock's
        # `"node_modules/x": {`, or the requirement itself.
        assert name.replace("%40", "@") in text.lower(), (uri, line, text)
        assert text.startswith(('name = "', '    "node_modules/')) or "==" in text, text


def test_levels_follow_severity(scan_result: ScanResult) -> None:
    want = {
        SeverityLevel.CRITICAL: "error",
        SeverityLevel.HIGH: "error",
        SeverityLevel.MEDIUM: "warning",
        SeverityLevel.UNKNOWN: "warning",
        SeverityLevel.LOW: "note",
    }
    results = render(scan_result)["runs"][0]["results"]
    by_key = {(r["ruleId"], r["properties"]["purl"]): r["level"] for r in results}
    seen = set()
    for f in scan_result.findings:
        assert by_key[(f.id, f.component.purl)] == want[f.severity.level]
        seen.add(f.severity.level)
    # The fixture really covers every level the mapping distinguishes.
    assert seen >= set(want)


def test_fingerprints_are_stable_and_distinct(scan_result: ScanResult) -> None:
    first = render(scan_result)["runs"][0]["results"]
    shifted = _move_lines(scan_result, 7)
    second = render(shifted)["runs"][0]["results"]
    prints = [r["partialFingerprints"]["patchpilot/v1"] for r in first]
    assert prints == [r["partialFingerprints"]["patchpilot/v1"] for r in second]
    assert len(set(prints)) == len(prints)
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in second] == [
        r["locations"][0]["physicalLocation"]["region"]["startLine"] + 7 for r in first
    ]


def _move_lines(result: ScanResult, by: int) -> ScanResult:
    findings = []
    for f in result.findings:
        c = f.component
        moved = tuple(Location(loc.path, (loc.line or 0) + by) for loc in c.locations)
        findings.append(dataclasses.replace(f, component=dataclasses.replace(c, locations=moved)))
    return dataclasses.replace(result, findings=tuple(findings))


def test_single_file_root_and_empty_result(
    empty_result: ScanResult, sarif_validator: jsonschema.Draft4Validator
) -> None:
    doc = render(empty_result)
    sarif_validator.validate(doc)
    run = doc["runs"][0]
    assert run["results"] == []
    assert run["tool"]["driver"]["rules"] == []
    lock = Path(empty_result.inventory.root)
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == lock.parent.as_uri() + "/"


def test_single_file_root_names_the_file(scan_result: ScanResult) -> None:
    lock = next(s.path for s in scan_result.inventory.sources if s.path.endswith("uv.lock"))
    findings = tuple(f for f in scan_result.findings if f.component.locations[0].path == lock)
    inventory = dataclasses.replace(
        scan_result.inventory,
        root=lock,
        sources=tuple(s for s in scan_result.inventory.sources if s.path == lock),
    )
    doc = render(dataclasses.replace(scan_result, inventory=inventory, findings=findings))
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in doc["runs"][0]["results"]
    }
    assert uris == {"uv.lock"}


def test_component_without_location_still_reported(scan_result: ScanResult) -> None:
    # An SBOM entry can carry no file position; the result then has no location at all.
    f = scan_result.findings[0]
    bare = dataclasses.replace(f, component=dataclasses.replace(f.component, locations=()))
    doc = render(dataclasses.replace(scan_result, findings=(bare,)))
    (result,) = doc["runs"][0]["results"]
    assert "locations" not in result
    assert result["ruleId"] == f.id
