"""OpenVEX out: statements built from real findings, checked against the published schema.

Findings come from scanning tests/assets/assess/project against the real OSV data; every
document written is validated with jsonschema against the OpenVEX 0.2.0 schema (a copy in
tests/assets/assess) and read back with the project's own VEX reader.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from patchpilot import engine
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.assess.vex import (
    OPENVEX_JUSTIFICATIONS,
    VexStatus,
    apply_vex,
    load_document,
    load_vex,
)
from patchpilot.errors import OutputError
from patchpilot.formats.openvex import (
    OPENVEX_CONTEXT,
    affected_statement,
    fixed_statement,
    not_affected_statement,
    openvex_document,
    project_iri,
)
from patchpilot.model import Finding

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "assess"
SCHEMA = json.loads((ASSETS / "openvex_json_schema.json").read_text(encoding="utf-8"))
PRODUCT = "pkg:github/example/saltapp@1.4.0"
WHEN = datetime(2025, 8, 26, 10, 0, tzinfo=UTC)


def schema_errors(doc: object) -> list[str]:
    validator = jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(doc)]


@pytest.fixture(scope="module")
def findings(osv_store: AdvisoryStore) -> tuple[Finding, ...]:
    return engine.scan(ASSETS / "project", osv_store).findings


def pick(findings: tuple[Finding, ...], package: str, *, aliased: bool = False) -> Finding:
    return next(f for f in findings if f.component.name == package and (f.aliases or not aliased))


def document(statements: Any, **kw: Any) -> str:
    return openvex_document(
        statements,
        author=kw.get("author", "patchpilot <https://example.org/patchpilot>"),
        doc_id=kw.get("doc_id", "https://example.org/vex/saltapp/run-1"),
        timestamp=kw.get("timestamp", WHEN),
    )


def test_builders_write_a_valid_document_that_reads_back(
    findings: tuple[Finding, ...], tmp_path: Path
) -> None:
    salt = pick(findings, "salt")
    jinja = pick(findings, "jinja2", aliased=True)
    yaml = pick(findings, "pyyaml", aliased=True)
    built = [
        fixed_statement(salt, PRODUCT, fixed_by="upgrading salt 3000.1 to 3000.6 (merge 1a2b3c4)"),
        not_affected_statement(
            jinja,
            PRODUCT,
            "vulnerable_code_not_in_execute_path",
            "No test or entry point reaches the vulnerable function.",
            timestamp=WHEN - timedelta(hours=1),
        ),
        affected_statement(yaml, PRODUCT, "Upgrade PyYAML to 5.4 (branch patchpilot/pyyaml)."),
    ]
    text = document(built)
    doc = json.loads(text)
    assert schema_errors(doc) == []
    assert doc["@context"] == OPENVEX_CONTEXT
    assert doc["timestamp"] == "2025-08-26T10:00:00Z"
    fixed, not_affected, affected = doc["statements"]
    assert fixed["status_notes"].startswith("fixed by upgrading salt")
    # After a fix the vulnerable version is gone: the fixed statement names the package only.
    assert fixed["products"][0]["subcomponents"] == [
        {"@id": "pkg:pypi/salt", "identifiers": {"purl": "pkg:pypi/salt"}}
    ]
    assert not_affected["products"][0]["@id"] == PRODUCT
    assert not_affected["products"][0]["subcomponents"][0]["@id"] == jinja.component.purl
    assert not_affected["vulnerability"] == {"name": jinja.id, "aliases": list(jinja.aliases)}
    assert not_affected["timestamp"] == "2025-08-26T09:00:00Z"
    assert affected["action_statement"].startswith("Upgrade PyYAML")

    path = tmp_path / "saltapp.openvex.json"
    path.write_text(text, encoding="utf-8")
    read = load_document(path)
    assert [(s.vulnerability, s.aliases, s.status, s.justification) for s in read] == [
        (s.vulnerability, s.aliases, s.status, s.justification) for s in built
    ]
    assert [(s.products, s.subcomponents) for s in read] == [
        (s.products, s.subcomponents) for s in built
    ]
    outcome = apply_vex(findings, read)
    assert [f for f, _ in outcome.suppressed] == [jinja]
    assert salt in outcome.kept
    assert yaml in outcome.kept


def test_product_may_be_a_project_path(findings: tuple[Finding, ...], tmp_path: Path) -> None:
    finding = pick(findings, "jinja2")
    project = tmp_path / "salt app"
    doc = json.loads(
        document(
            [
                not_affected_statement(finding, project_iri(project), "component_not_present", ""),
                not_affected_statement(
                    finding, finding.component.purl, "inline_mitigations_already_exist", "WAF"
                ),
            ]
        )
    )
    assert schema_errors(doc) == []
    first, second = doc["statements"]
    assert first["products"][0]["@id"] == project.resolve().as_uri()
    assert "identifiers" not in first["products"][0]
    assert "impact_statement" not in first
    # A statement about the package itself carries no subcomponent.
    assert "subcomponents" not in second["products"][0]


def test_duplicate_statements_are_written_once(findings: tuple[Finding, ...]) -> None:
    finding = pick(findings, "salt")
    statement = affected_statement(finding, PRODUCT, "Upgrade salt.")
    doc = json.loads(document([statement, statement]))
    assert len(doc["statements"]) == 1
    assert schema_errors(doc) == []


def test_statements_read_from_openvex_are_written_back_valid() -> None:
    read = load_vex([ASSETS / "project" / "app.openvex.json"])
    writable = [s for s in read if s.products]
    doc = json.loads(document(writable))
    assert schema_errors(doc) == []
    assert len(doc["statements"]) == len(writable)


@pytest.mark.parametrize(
    "justification",
    ["code_not_reachable", "requires_configuration", "", "not_relevant", "Component_Not_Present"],
)
def test_not_affected_builder_refuses_other_justifications(
    findings: tuple[Finding, ...], justification: str
) -> None:
    with pytest.raises(OutputError, match="not an OpenVEX justification"):
        not_affected_statement(pick(findings, "salt"), PRODUCT, justification, "because")


def test_cyclonedx_justifications_cannot_be_written_as_openvex() -> None:
    read = load_document(ASSETS / "project" / "salt.cdx.vex.json")
    justified = [s for s in read if s.status is VexStatus.NOT_AFFECTED and s.justification]
    with pytest.raises(OutputError, match="is not one of OpenVEX's"):
        document(justified)


def test_builders_and_writer_refuse_what_the_schema_would_reject(
    findings: tuple[Finding, ...],
) -> None:
    finding = pick(findings, "salt")
    with pytest.raises(OutputError, match="action statement"):
        affected_statement(finding, PRODUCT, "  ")
    with pytest.raises(OutputError, match="what fixed it"):
        fixed_statement(finding, PRODUCT, fixed_by="")
    with pytest.raises(OutputError, match="not a valid package URL"):
        affected_statement(finding, "pkg:", "Upgrade.")
    with pytest.raises(OutputError, match="product identifier is empty"):
        affected_statement(finding, " ", "Upgrade.")
    with pytest.raises(OutputError, match="is not an IRI"):
        affected_statement(finding, "saltapp/requirements.txt", "Upgrade.")
    with pytest.raises(OutputError, match="no time zone"):
        affected_statement(finding, PRODUCT, "Upgrade.", timestamp=datetime(2025, 1, 1))
    statement = affected_statement(finding, PRODUCT, "Upgrade.")
    with pytest.raises(OutputError, match="at least one statement"):
        document([])
    with pytest.raises(OutputError, match="author"):
        document([statement], author=" ")
    with pytest.raises(OutputError, match="@id"):
        document([statement], doc_id="")
    with pytest.raises(OutputError, match="is not an IRI"):
        document([statement], doc_id="run 1")
    with pytest.raises(OutputError, match="no time zone"):
        document([statement], timestamp=datetime(2025, 1, 1))


@settings(max_examples=60, deadline=None)
@given(
    justification=st.sampled_from(OPENVEX_JUSTIFICATIONS),
    impact=st.text(max_size=40),
    action=st.text(min_size=1, max_size=40).filter(str.strip),
    product=st.one_of(
        st.just(PRODUCT),
        st.builds(
            "{}:{}".format,
            st.sampled_from(["pkg", "https", "file", "urn", "a"]),
            st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
        ),
    ),
    offset=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_any_built_document_validates(
    findings: tuple[Finding, ...],
    justification: str,
    impact: str,
    action: str,
    product: str,
    offset: int,
) -> None:
    finding = pick(findings, "jinja2", aliased=True)
    when = datetime(2025, 3, 1, 12, tzinfo=timezone(timedelta(minutes=offset)))
    try:
        statements = [
            not_affected_statement(finding, product, justification, impact, timestamp=when),
            affected_statement(finding, product, action),
            fixed_statement(finding, product, fixed_by=action),
        ]
    except OutputError as e:
        assert "not an IRI" in str(e) or "not a valid package URL" in str(e)
        assume(False)
    assert schema_errors(json.loads(document(statements, timestamp=when))) == []
