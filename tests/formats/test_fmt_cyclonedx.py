"""CycloneDX 1.6 SBOM output, checked with cyclonedx-python-lib's strict JSON validator."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from patchpilot import __version__
from patchpilot.errors import OutputError
from patchpilot.formats import cyclonedx
from patchpilot.model import ScanResult, Scope, SeverityLevel


def render(result: ScanResult) -> dict[str, Any]:
    text = cyclonedx.render(result)
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, str(error)
    doc: dict[str, Any] = json.loads(text)
    return doc


@pytest.fixture(scope="module")
def sbom(scan_result: ScanResult) -> dict[str, Any]:
    # Strict validation of a document this size takes seconds: validate it once per module.
    return render(scan_result)


def test_strict_validation_and_header(sbom: dict[str, Any]) -> None:
    doc = sbom
    assert doc["bomFormat"] == "CycloneDX"
    assert doc["specVersion"] == "1.6"
    tools = doc["metadata"]["tools"]["components"]
    assert {"name": "patchpilot", "type": "application", "version": __version__} in tools
    assert doc["metadata"]["component"]["type"] == "application"


def test_every_component_with_purl_and_scope(scan_result: ScanResult, sbom: dict[str, Any]) -> None:
    doc = sbom
    by_ref = {c["bom-ref"]: c for c in doc["components"]}
    assert set(by_ref) == {c.purl for c in scan_result.inventory.components}
    for comp in scan_result.inventory.components:
        out = by_ref[comp.purl]
        assert out["purl"] == comp.purl
        assert out["version"] == comp.version
        assert out["scope"] == ("excluded" if comp.scope is Scope.DEV else "required")
        props = {(p["name"], p["value"]) for p in out["properties"]}
        assert ("patchpilot:direct", str(comp.direct).lower()) in props


def test_dependency_graph_follows_recorded_paths(
    scan_result: ScanResult, sbom: dict[str, Any]
) -> None:
    doc = sbom
    deps = {d["ref"]: set(d.get("dependsOn", [])) for d in doc["dependencies"]}
    refs = {c.name: c.purl for c in scan_result.inventory.components}
    # requests -> urllib3 in uv.lock; minimatch -> brace-expansion -> balanced-match in npm's.
    assert refs["urllib3"] in deps[refs["requests"]]
    assert refs["brace-expansion"] in deps[refs["minimatch"]]
    assert refs["balanced-match"] in deps[refs["brace-expansion"]]
    root = doc["metadata"]["component"]["bom-ref"]
    direct = {c.purl for c in scan_result.inventory.components if c.direct}
    assert deps[root] == direct
    # Edges never cross ecosystems.
    eco = {c.purl: c.ecosystem for c in scan_result.inventory.components}
    for parent, children in deps.items():
        if parent != root:
            assert {eco[c] for c in children} <= {eco[parent]}


def test_vulnerabilities_affect_their_components(
    scan_result: ScanResult, sbom: dict[str, Any]
) -> None:
    doc = sbom
    vulns = {v["id"]: v for v in doc["vulnerabilities"]}
    assert set(vulns) == {f.id for f in scan_result.findings}
    components = {c["bom-ref"] for c in doc["components"]}
    for f in scan_result.findings:
        v = vulns[f.id]
        refs = {a["ref"] for a in v["affects"]}
        assert f.component.purl in refs
        assert refs <= components
        assert v["source"]["url"].endswith("/" + f.id)
        assert {r["id"] for r in v.get("references", [])} == set(f.aliases)
        for version in f.fixed_versions:
            assert version in v["recommendation"]
        if f.severity.score is not None:
            scores = [r["score"] for r in v["ratings"] if "score" in r]
            assert max(scores) == pytest.approx(f.severity.score)


def test_rating_methods(scan_result: ScanResult, sbom: dict[str, Any]) -> None:
    doc = sbom
    vulns = {v["id"]: v for v in doc["vulnerabilities"]}
    cvss31 = next(
        f for f in scan_result.findings if (f.severity.vector or "").startswith("CVSS:3.1/")
    )
    assert {r["method"] for r in vulns[cvss31.id]["ratings"]} == {"CVSSv31"}
    # GitHub's CRITICAL label without a vector: a rating with the severity only.
    (label_only,) = vulns["GHSA-crh6-fp67-6883"]["ratings"]
    assert label_only["severity"] == "critical"
    assert "score" not in label_only
    unrated = [f.id for f in scan_result.findings if f.severity.level is SeverityLevel.UNKNOWN]
    for vuln_id in unrated:
        assert vulns[vuln_id].get("ratings", []) == []


def test_cvss_v4_vectors_are_rated_as_v4(scan_result: ScanResult, sbom: dict[str, Any]) -> None:
    # idna 2.10's advisory (GHSA-jjg7-2v4v-x38h among its IDs) states CVSS 3.1 and 4.0 vectors.
    (finding,) = [f for f in scan_result.findings if f.component.name == "idna"]
    assert "GHSA-jjg7-2v4v-x38h" in {finding.id, *finding.aliases}
    (idna,) = [v for v in sbom["vulnerabilities"] if v["id"] == finding.id]
    assert {r["method"] for r in idna["ratings"]} == {"CVSSv31", "CVSSv4"}


def test_empty_result(empty_result: ScanResult) -> None:
    doc = render(empty_result)
    assert doc.get("vulnerabilities", []) == []
    assert len(doc["components"]) == len(empty_result.inventory.components)


def test_bad_purl_is_an_output_error(scan_result: ScanResult) -> None:
    comp = scan_result.inventory.components[0]
    broken = dataclasses.replace(comp, purl="not a purl")
    inventory = dataclasses.replace(scan_result.inventory, components=(broken,))
    with pytest.raises(OutputError, match="package URL"):
        cyclonedx.render(dataclasses.replace(scan_result, inventory=inventory, findings=()))
