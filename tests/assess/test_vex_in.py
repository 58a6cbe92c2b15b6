"""VEX in: real-shaped OpenVEX and CycloneDX VEX documents applied to findings of real scans.

The documents in tests/assets/assess are written for these tests and checked against the
published OpenVEX 0.2.0 schema (jsonschema) and the CycloneDX schemas (cyclonedx-python-lib);
the findings come from scanning real projects against the real OSV data.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchpilot import engine
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.assess.vex import (
    VexStatus,
    apply_vex,
    find_vex_files,
    load_document,
    load_vex,
)
from patchpilot.errors import VexError
from patchpilot.model import Finding

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "tests" / "assets" / "assess"
PROJECT = ASSETS / "project"
SCHEMA = json.loads((ASSETS / "openvex_json_schema.json").read_text(encoding="utf-8"))
OPENVEX_DOCS = (PROJECT / "app.openvex.json", PROJECT / "vex" / "pyyaml.json")
CDX_DOC = PROJECT / "salt.cdx.vex.json"
UNJUSTIFIED = ASSETS / "unjustified.openvex.json"


def schema_errors(doc: object) -> list[str]:
    validator = jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return [e.message for e in validator.iter_errors(doc)]


def by_cve(findings: tuple[Finding, ...], ident: str) -> Finding:
    (hit,) = [f for f in findings if ident == f.id or ident in f.aliases]
    return hit


def write(tmp: Path, name: str, doc: object) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def openvex(
    statements: list[dict[str, Any]], *, timestamp: str = "2024-06-01T00:00:00Z"
) -> dict[str, Any]:
    doc = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.org/vex/test",
        "author": "Test Author",
        "timestamp": timestamp,
        "version": 1,
        "statements": statements,
    }
    assert schema_errors(doc) == []
    return doc


# The assets themselves


def test_openvex_assets_are_valid_openvex_0_2_0() -> None:
    for path in OPENVEX_DOCS:
        assert schema_errors(json.loads(path.read_text(encoding="utf-8"))) == [], path
    # The unjustified statement is what the schema forbids and what the reader must not apply.
    assert schema_errors(json.loads(UNJUSTIFIED.read_text(encoding="utf-8")))


def test_cyclonedx_asset_is_valid_cyclonedx_1_5() -> None:
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(CDX_DOC.read_text()) is None


def test_find_vex_files_uses_conventional_names(tmp_path: Path) -> None:
    wanted = [
        "app.openvex.json",
        "service.vex.json",
        "bom.cdx.vex.json",
        "vex/jinja2.json",
        ".vex/salt.json",
    ]
    for name in [*wanted, "package.json", "vex/notes.txt", "deep/x.openvex.json", "openvex.md"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    assert find_vex_files(tmp_path) == tuple(sorted(tmp_path / n for n in wanted))
    assert find_vex_files(tmp_path / "package.json") == find_vex_files(tmp_path)
    assert set(find_vex_files(PROJECT)) == {*OPENVEX_DOCS, CDX_DOC}


# Applying the project's VEX to its real findings


def test_saltapp_vex_suppresses_only_justified_not_affected(
    saltapp_findings: tuple[Finding, ...],
) -> None:
    statements = load_vex(find_vex_files(PROJECT))
    outcome = apply_vex(saltapp_findings, statements)
    suppressed = {f.id: s for f, s in outcome.suppressed}
    expect = {
        # OpenVEX: subcomponent purl with the version, justification + impact
        "CVE-2019-10906": "app.openvex.json: statements[0]",
        # OpenVEX: versionless `pkg:pypi/Jinja2` matches jinja2 2.10 (PEP 503 names)
        "CVE-2020-28493": "app.openvex.json: statements[1]",
        # OpenVEX: an impact statement alone is enough; later than the under_investigation one
        "CVE-2024-34064": "app.openvex.json: statements[3]",
        # OpenVEX: purl qualifiers are ignored
        "CVE-2020-11652": "app.openvex.json: statements[5]",
        # CycloneDX: not_affected with a justification, ref resolved through bom-ref
        "CVE-2020-16846": "salt.cdx.vex.json: vulnerabilities[0]",
        # CycloneDX: ref given as a BOM-Link into the same document
        "CVE-2022-22934": "salt.cdx.vex.json: vulnerabilities[5]",
        # CycloneDX: vulnerability named by its GHSA id, CVE in references
        "CVE-2022-22967": "salt.cdx.vex.json: vulnerabilities[6]",
    }
    assert set(suppressed) == {by_cve(saltapp_findings, c).id for c in expect}
    for cve, source in expect.items():
        st_ = suppressed[by_cve(saltapp_findings, cve).id]
        assert st_.source.endswith(source)
        assert st_.justified
    assert {f.id for f in outcome.kept} == {f.id for f in saltapp_findings} - set(suppressed)
    assert len(outcome.kept) + len(outcome.suppressed) == len(saltapp_findings)

    notes = "\n".join(outcome.notes)
    unjustified = by_cve(saltapp_findings, "CVE-2021-25281")
    assert f"{unjustified.id} in salt 3000.1: VEX not_affected" in notes
    assert "CycloneDX state not_affected with no justification" in notes
    assert "CycloneDX state false_positive" in notes
    assert (
        f"{by_cve(saltapp_findings, 'CVE-2020-17490').id} in salt 3000.1: VEX says fixed" in notes
    )
    superseded = by_cve(saltapp_findings, "CVE-2020-14343")
    assert f"{superseded.id} in pyyaml 5.3: VEX not_affected in" in notes
    assert "superseded by the later affected in" in notes
    assert "about CVE-2021-3144 names no package URL" in notes
    # A statement about another salt version neither applies nor needs a note.
    other_version = by_cve(saltapp_findings, "CVE-2020-11651")
    assert other_version in outcome.kept
    assert other_version.id not in notes

    reasons = outcome.reasons()
    assert set(reasons) == set(suppressed)
    first = by_cve(saltapp_findings, "CVE-2019-10906").id
    assert "vulnerable_code_not_in_execute_path" in reasons[first]
    assert "app.openvex.json" in reasons[first]

    records = {r.subjects: r for r in outcome.records()}
    assert set(records) == {(fid,) for fid in suppressed}
    record = records[(first,)]
    assert record.kind == "suppress"
    assert record.inputs["by"] == "vex"
    assert record.inputs["source"] == suppressed[first].source
    assert record.outcome["justification"] == "vulnerable_code_not_in_execute_path"
    json.dumps([dict(r.inputs) | dict(r.outcome) for r in records.values()])  # JSON-ready


def test_latest_statement_wins_whatever_the_file_order(
    saltapp_findings: tuple[Finding, ...],
) -> None:
    forward = apply_vex(saltapp_findings, load_vex(OPENVEX_DOCS))
    backward = apply_vex(saltapp_findings, load_vex(reversed(OPENVEX_DOCS)))
    target = by_cve(saltapp_findings, "CVE-2020-14343")
    for outcome in (forward, backward):
        assert target in outcome.kept
        assert {f.id for f, _ in outcome.suppressed} == {f.id for f, _ in forward.suppressed}


def test_equal_timestamps_the_statement_read_last_wins(
    tmp_path: Path, saltapp_findings: tuple[Finding, ...]
) -> None:
    finding = by_cve(saltapp_findings, "CVE-2024-22195")
    product = [{"@id": "pkg:pypi/jinja2@2.10"}]
    not_affected = {
        "vulnerability": {"name": "CVE-2024-22195"},
        "products": product,
        "status": "not_affected",
        "justification": "vulnerable_code_not_in_execute_path",
    }
    affected = {
        "vulnerability": {"name": "CVE-2024-22195"},
        "products": product,
        "status": "affected",
        "action_statement": "Upgrade jinja2.",
    }
    a = write(tmp_path, "a.openvex.json", openvex([not_affected]))
    b = write(tmp_path, "b.openvex.json", openvex([affected]))
    assert finding in apply_vex([finding], load_vex([a, b])).kept
    assert apply_vex([finding], load_vex([b, a])).suppressed[0][0] == finding


def test_unjustified_openvex_not_affected_is_noted_not_applied(
    saltapp_findings: tuple[Finding, ...],
) -> None:
    (statement,) = load_document(UNJUSTIFIED)
    assert statement.status is VexStatus.NOT_AFFECTED
    assert not statement.justified
    finding = by_cve(saltapp_findings, "CVE-2024-22195")
    outcome = apply_vex(saltapp_findings, [statement])
    assert outcome.suppressed == ()
    assert finding in outcome.kept
    assert outcome.notes == (
        f"{finding.id} in jinja2 2.10: VEX not_affected in {statement.source} not applied "
        "(no justification or impact statement)",
    )


@pytest.mark.parametrize("status", ["affected", "fixed", "under_investigation"])
def test_other_statuses_never_suppress(
    tmp_path: Path, saltapp_findings: tuple[Finding, ...], status: str
) -> None:
    finding = by_cve(saltapp_findings, "CVE-2024-22195")
    statement: dict[str, Any] = {
        "vulnerability": {"name": "CVE-2024-22195"},
        "products": [{"@id": "pkg:pypi/jinja2@2.10"}],
        "status": status,
        # A justification on another status is allowed by the schema and means nothing.
        "justification": "vulnerable_code_not_present",
        "impact_statement": "irrelevant",
    }
    if status == "affected":
        statement["action_statement"] = "Upgrade jinja2 to 3.1.3."
    path = write(tmp_path, "x.openvex.json", openvex([statement]))
    outcome = apply_vex([finding], load_vex([path]))
    assert outcome.suppressed == ()
    assert outcome.kept == (finding,)


def test_npm_scoped_and_go_purls_match(osv_store: AdvisoryStore, tmp_path: Path) -> None:
    npm = engine.scan(REPO / "tests" / "assets" / "formats" / "npm-app", osv_store).findings
    go = engine.scan(
        REPO / "tests" / "assets" / "sources" / "other" / "go-silk", osv_store
    ).findings
    xmldom = next(f for f in npm if f.component.name == "@xmldom/xmldom")
    pgx = next(f for f in go if f.component.name == "github.com/jackc/pgx")
    statements = [
        {
            "vulnerability": {"name": xmldom.id},
            "products": [{"@id": f"pkg:npm/%40xmldom/xmldom@{xmldom.component.version}"}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
        },
        {
            "vulnerability": {"name": pgx.id},
            "products": [{"identifiers": {"purl": "pkg:golang/github.com/jackc/pgx"}}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_present",
        },
        {
            # Go module paths are case-sensitive: this names another module.
            "vulnerability": {"name": pgx.id},
            "products": [{"@id": "pkg:golang/github.com/JackC/pgx"}],
            "status": "affected",
            "action_statement": "n/a",
            "timestamp": "2030-01-01T00:00:00Z",
        },
    ]
    path = write(tmp_path, "deps.openvex.json", openvex(statements))
    outcome = apply_vex([*npm, *go], load_vex([path]))
    assert {f.id for f, _ in outcome.suppressed} >= {xmldom.id, pgx.id}
    assert all(
        f.component.name in {"@xmldom/xmldom", "github.com/jackc/pgx"}
        for f, _ in outcome.suppressed
    )


def test_cyclonedx_1_4_and_1_6_documents_are_read(
    tmp_path: Path, saltapp_findings: tuple[Finding, ...]
) -> None:
    base = json.loads(CDX_DOC.read_text(encoding="utf-8"))
    want = {f.id for f, _ in apply_vex(saltapp_findings, load_document(CDX_DOC)).suppressed}
    assert want
    for spec, schema in (("1.4", SchemaVersion.V1_4), ("1.6", SchemaVersion.V1_6)):
        doc = copy.deepcopy(base)
        doc["specVersion"] = spec
        if spec == "1.4":  # firstIssued/lastUpdated arrived in 1.5
            for vuln in doc["vulnerabilities"]:
                vuln.get("analysis", {}).pop("firstIssued", None)
                vuln.get("analysis", {}).pop("lastUpdated", None)
        text = json.dumps(doc)
        assert JsonStrictValidator(schema).validate_str(text) is None
        path = write(tmp_path, f"bom-{spec}.cdx.vex.json", doc)
        got = {f.id for f, _ in apply_vex(saltapp_findings, load_document(path)).suppressed}
        assert got == want


# Bad documents


def mutate(doc: dict[str, Any], keys: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node: Any = out
    for key in keys[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return out


_DELETE = object()


@pytest.mark.parametrize(
    ("source", "keys", "value", "place"),
    [
        (OPENVEX_DOCS[0], ("statements", 2, "status"), "maybe", "statements[2].status"),
        (
            OPENVEX_DOCS[0],
            ("statements", 0, "justification"),
            "code_not_reachable",
            "statements[0].justification",
        ),
        (
            OPENVEX_DOCS[0],
            ("statements", 1, "vulnerability"),
            _DELETE,
            "statements[1].vulnerability",
        ),
        (
            OPENVEX_DOCS[0],
            ("statements", 3, "timestamp"),
            "last tuesday",
            "statements[3].timestamp",
        ),
        (
            OPENVEX_DOCS[0],
            ("statements", 4, "products", 0, "@id"),
            "pkg:",
            "statements[4].products[0].@id",
        ),
        (
            OPENVEX_DOCS[0],
            ("statements", 0, "products", 0, "subcomponents"),
            {"a": 1},
            "statements[0].products[0].subcomponents",
        ),
        (OPENVEX_DOCS[0], ("statements",), _DELETE, "statements"),
        (OPENVEX_DOCS[1], ("statements", 0), ["x"], "statements[0]"),
        (CDX_DOC, ("specVersion",), "1.3", "specVersion"),
        (
            CDX_DOC,
            ("vulnerabilities", 1, "analysis", "state"),
            "fine",
            "vulnerabilities[1].analysis.state",
        ),
        (
            CDX_DOC,
            ("vulnerabilities", 0, "analysis", "justification"),
            "vulnerable_code_not_present",
            "vulnerabilities[0].analysis.justification",
        ),
        (
            CDX_DOC,
            ("vulnerabilities", 3, "analysis", "response"),
            ["pray"],
            "vulnerabilities[3].analysis.response[0]",
        ),
        (
            CDX_DOC,
            ("vulnerabilities", 2, "affects", 0),
            {"ref": 7},
            "vulnerabilities[2].affects[0].ref",
        ),
        (CDX_DOC, ("components", 0, "purl"), "pkg:/salt", "components[0].purl"),
        (CDX_DOC, ("vulnerabilities", 4, "id"), _DELETE, "vulnerabilities[4].id"),
    ],
)
def test_bad_documents_name_file_and_key_path(
    tmp_path: Path, source: Path, keys: tuple[Any, ...], value: Any, place: str
) -> None:
    doc = mutate(json.loads(source.read_text(encoding="utf-8")), keys, value)
    path = write(tmp_path, source.name, doc)
    with pytest.raises(VexError) as caught:
        load_vex([path])
    assert caught.value.path == path
    assert caught.value.place == place
    assert str(caught.value).startswith(f"{path}: {place}: ")


def test_unknown_or_broken_files_are_vex_errors(tmp_path: Path) -> None:
    spdx = write(tmp_path, "sbom.vex.json", {"spdxVersion": "SPDX-2.3"})
    with pytest.raises(VexError, match="neither an OpenVEX document"):
        load_vex([spdx])
    cut = tmp_path / "cut.openvex.json"
    cut.write_text(OPENVEX_DOCS[0].read_text(encoding="utf-8")[:900])
    with pytest.raises(VexError) as caught:
        load_vex([cut])
    assert isinstance(caught.value.place, int)
    with pytest.raises(VexError, match="cannot read"):
        load_vex([tmp_path / "missing.openvex.json"])


# Junk in, only VexError out

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
REAL_DOCS = [json.loads(p.read_text(encoding="utf-8")) for p in (*OPENVEX_DOCS, CDX_DOC)]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    doc = draw(st.sampled_from(REAL_DOCS))
    keys = draw(st.sampled_from(_paths(doc)))
    return mutate(doc, keys, draw(st.one_of(json_values, st.just(_DELETE))))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, mutated_documents()))
def test_junk_documents_raise_only_vex_error(doc: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "junk.vex.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        try:
            statements = load_vex([path])
        except VexError as e:
            assert e.path == path
            return
        outcome = apply_vex([], statements)
        assert outcome.kept == ()


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_junk_bytes_raise_only_vex_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "junk.openvex.json"
        path.write_bytes(raw)
        try:
            load_vex([path])
        except VexError as e:
            assert e.path == path
