"""The patchpilot.scan/1 JSON document: schema, content, order and determinism."""

from __future__ import annotations

import dataclasses
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchpilot import __version__
from patchpilot.errors import OutputError
from patchpilot.formats import json_out
from patchpilot.formats._common import SEVERITY_ORDER
from patchpilot.model import ScanResult, Severity

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "src" / "patchpilot" / "formats" / "schemas" / "scan.schema.json"


def validator() -> jsonschema.Draft202012Validator:
    schema = json_out.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def test_schema_ships_as_package_data() -> None:
    # Loaded through importlib.resources, the way an installed wheel serves it.
    shipped = files("patchpilot.formats").joinpath("schemas", "scan.schema.json").read_text()
    assert json.loads(shipped) == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert json_out.schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_document_validates_and_carries_every_finding(scan_result: ScanResult) -> None:
    doc = json.loads(json_out.render(scan_result))
    validator().validate(doc)
    assert doc["schema"] == "patchpilot.scan/1"
    assert doc["patchpilot_version"] == __version__
    assert doc["root"] == scan_result.inventory.root
    assert doc["store"] == scan_result.store
    got = {(f["id"], f["package"]["purl"]) for f in doc["findings"]}
    want = {(f.id, f.component.purl) for f in scan_result.findings}
    assert got == want
    assert len(doc["findings"]) == len(scan_result.findings)
    assert len(doc["sources"]) == len(scan_result.inventory.sources)
    assert {s["name"] for s in doc["skipped"]} == {s.name for s in scan_result.inventory.skipped}


def test_summary_counts_match_the_findings(scan_result: ScanResult) -> None:
    summary = json_out.scan_to_dict(scan_result)["summary"]
    findings = scan_result.findings
    assert summary["components"] == len(scan_result.inventory.components)
    assert summary["findings"] == len(findings)
    assert summary["skipped"] == len(scan_result.inventory.skipped)
    assert summary["vulnerabilities"] == len({f.id for f in findings})
    assert summary["vulnerable_components"] == len({f.component.key for f in findings})
    for level in SEVERITY_ORDER:
        assert summary["by_severity"][level.value] == sum(
            1 for f in findings if f.severity.level is level
        )
    assert sum(summary["by_severity"].values()) == len(findings)


def test_findings_are_ordered_most_severe_first(scan_result: ScanResult) -> None:
    doc = json_out.scan_to_dict(scan_result)
    position = {level.value: i for i, level in enumerate(SEVERITY_ORDER)}
    keys = [
        (
            position[f["severity"]["level"]],
            f["package"]["ecosystem"],
            f["package"]["name"],
            f["package"]["version"],
            f["id"],
        )
        for f in doc["findings"]
    ]
    assert keys == sorted(keys)
    # The order does not depend on the order the engine handed the findings over in.
    shuffled = dataclasses.replace(scan_result, findings=tuple(reversed(scan_result.findings)))
    assert json_out.render(shuffled) == json_out.render(scan_result)


def test_finding_fields_follow_the_model(scan_result: ScanResult) -> None:
    doc = json_out.scan_to_dict(scan_result)
    by_key = {(f["id"], f["package"]["purl"]): f for f in doc["findings"]}
    for finding in scan_result.findings:
        out = by_key[(finding.id, finding.component.purl)]
        comp = finding.component
        assert out["aliases"] == sorted(finding.aliases)
        assert out["package"]["direct"] is comp.direct
        assert out["package"]["scope"] == comp.scope.value
        assert out["package"]["paths"] == [list(p) for p in comp.paths]
        assert [(loc["path"], loc["line"]) for loc in out["package"]["locations"]] == [
            (loc.path, loc.line) for loc in comp.locations
        ]
        assert out["severity"]["level"] == finding.severity.level.value
        assert out["severity"]["score"] == finding.severity.score
        assert out["fixed_versions"] == list(finding.fixed_versions)
        assert out["records"] == [{"id": i, "modified": m} for i, m in sorted(finding.records)]
        assert {r["url"] for r in out["references"]} == {r.url for r in finding.references}


def test_transitive_and_scoped_packages(scan_result: ScanResult) -> None:
    doc = json_out.scan_to_dict(scan_result)
    urllib3 = [f for f in doc["findings"] if f["package"]["name"] == "urllib3"]
    assert urllib3
    assert all(not f["package"]["direct"] for f in urllib3)
    assert all(f["package"]["paths"][0] == ["requests", "urllib3"] for f in urllib3)
    xmldom = next(f for f in doc["findings"] if f["package"]["name"] == "@xmldom/xmldom")
    assert xmldom["package"]["purl"] == "pkg:npm/%40xmldom/xmldom@0.7.5"
    # Rated only by GitHub's label: a level without a score.
    assert xmldom["severity"] == {
        "level": "critical",
        "score": None,
        "vector": None,
        "source": "database",
        "scores": [],
    }


def test_empty_result(empty_result: ScanResult) -> None:
    doc = json.loads(json_out.render(empty_result))
    validator().validate(doc)
    assert doc["findings"] == []
    assert doc["summary"]["findings"] == 0
    assert doc["summary"]["components"] == len(empty_result.inventory.components)
    assert set(doc["summary"]["by_severity"].values()) == {0}


def test_schema_rejects_a_document_missing_a_field(scan_result: ScanResult) -> None:
    doc: dict[str, Any] = json_out.scan_to_dict(scan_result)
    del doc["findings"][0]["package"]["purl"]
    with pytest.raises(jsonschema.ValidationError):
        validator().validate(doc)


def test_nan_score_is_an_output_error(scan_result: ScanResult) -> None:
    # NaN is not JSON; writing it would produce a document no strict parser reads.
    first = scan_result.findings[0]
    broken = dataclasses.replace(
        first,
        severity=Severity(first.severity.level, float("nan"), None, "cvss"),
    )
    result = dataclasses.replace(scan_result, findings=(broken,))
    with pytest.raises(OutputError, match="JSON"):
        json_out.render(result)


@settings(max_examples=50, deadline=None)
@given(summary=st.text(), note=st.text())
def test_any_text_round_trips(scan_result: ScanResult, summary: str, note: str) -> None:
    first = dataclasses.replace(scan_result.findings[0], summary=summary)
    result = dataclasses.replace(scan_result, findings=(first,), notes=(note,))
    doc = json.loads(json_out.render(result))
    assert doc["findings"][0]["summary"] == summary
    assert note in doc["notes"]
