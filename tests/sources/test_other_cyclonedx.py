"""CycloneDX reader: SBOMs made by cyclonedx-py, npm and cyclonedx-npm, a Maven one, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from patchpilot.errors import SourceError
from patchpilot.model import Component, Ecosystem, Scope, SourceKind, SourceResult
from patchpilot.sources.cyclonedx import CycloneDxSource
from patchpilot.sources.npm_lock import NpmLockSource

SBOM = Path(__file__).parent.parent / "assets" / "sources" / "other" / "sbom"
PY_14 = SBOM / "py-env-1.4.cdx.json"
PY_15 = SBOM / "py-env-1.5.cdx.json"
PY_16 = SBOM / "py-env-1.6.cdx.json"
PY_REQ = SBOM / "py-req-1.5.cdx.json"
NPM_15 = SBOM / "npm-sbom-1.5.cdx.json"
CDX_NPM_16 = SBOM / "cyclonedx-npm-1.6.cdx.json"
MAVEN = SBOM / "maven-vex-example.cdx.json"
XML = SBOM / "py-env-1.6.cdx.xml"
NPM_LOCK = SBOM / "npm-source" / "package-lock.json"


def read(path: Path) -> SourceResult:
    return CycloneDxSource().read(path)


def comp(res: SourceResult, name: str, version: str | None = None) -> Component:
    found = [c for c in res.components if c.name == name and version in (None, c.version)]
    assert len(found) == 1, found
    return found[0]


def write(tmp_path: Path, doc: Any, name: str = "bom.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bom.json", "{}", True),
        ("sbom.json", "{}", True),
        ("sbom-prod.json", "{}", True),
        ("app.cdx.json", "{}", True),
        ("app.bom.json", "{}", True),
        ("report.json", '{"bomFormat": "CycloneDX", "specVersion": "1.6"}', True),
        ("report.json", '{"spdxVersion": "SPDX-2.3"}', False),
        ("sbom.json", '{"spdxVersion": "SPDX-2.3"}', False),
        ("package.json", '{"name": "x"}', False),
        ("bom.xml", "<bom/>", False),
    ],
)
def test_matches(tmp_path: Path, name: str, content: str, expected: bool) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert CycloneDxSource.matches(path) is expected


def test_real_files_are_recognised_by_name_or_content() -> None:
    for path in (PY_14, PY_15, PY_16, PY_REQ, NPM_15, CDX_NPM_16, MAVEN):
        assert CycloneDxSource.matches(path), path
    assert not CycloneDxSource.matches(SBOM / "npm-sbom.spdx.json")


@pytest.mark.parametrize("path", [PY_14, PY_15, PY_16], ids=["1.4", "1.5", "1.6"])
def test_python_environment_components(path: Path) -> None:
    res = read(path)
    assert (res.format, res.kind) == ("CycloneDX", SourceKind.SBOM)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert {(c.name, c.version, c.purl) for c in res.components} == {
        (comp_["name"].lower(), comp_["version"], comp_["purl"]) for comp_ in doc["components"]
    }
    assert all(c.ecosystem is Ecosystem.PYPI and c.scope is Scope.RUNTIME for c in res.components)
    urllib3 = comp(res, "urllib3")
    assert (urllib3.version, urllib3.direct) == ("1.23", False)
    assert urllib3.paths == (("requests", "urllib3"),)
    assert urllib3.parents == ("requests",)
    assert comp(res, "markupsafe").paths == (("jinja2", "markupsafe"),)


def test_root_component_decides_direct() -> None:
    res = read(PY_16)
    assert {c.name for c in res.components if c.direct} == {"jinja2", "requests"}
    assert res.notes == (
        "the SBOM describes other-sbom-pyapp@0.1.0: read as the project, not as a dependency",
    )
    # pip and setuptools are in the environment but not under the project: kept, no path.
    assert (comp(res, "setuptools").direct, comp(res, "setuptools").paths) == (False, ())
    assert comp(res, "pip").parents == ("setuptools",)


def test_without_root_the_unrequired_components_are_direct() -> None:
    res = read(PY_14)
    assert {c.name for c in res.components if c.direct} == {"jinja2", "requests", "setuptools"}
    assert res.notes == ()


def test_lines_point_at_component_entries() -> None:
    res = read(PY_16)
    lines = PY_16.read_text(encoding="utf-8").splitlines()
    # Reproducible output sorts keys: each component's "{" is right above its bom-ref.
    ref_line = next(i for i, ln in enumerate(lines) if '"bom-ref": "requests==2.19.0"' in ln)
    assert comp(res, "requests").locations[0].line == ref_line  # 1-based: the line above
    assert lines[ref_line - 1].strip() == "{"


def test_npm_sboms_match_the_lockfile_they_were_made_from() -> None:
    lock = NpmLockSource().read(NPM_LOCK)
    for path in (NPM_15, CDX_NPM_16):
        res = read(path)
        assert {(c.name, c.version, c.direct) for c in res.components} == {
            (c.name, c.version, c.direct) for c in lock.components
        }, path
        assert {(c.name, c.version, c.paths) for c in res.components} == {
            (c.name, c.version, c.paths) for c in lock.components
        }, path


def test_npm_dev_scope_from_properties_and_optional_scope() -> None:
    for path in (NPM_15, CDX_NPM_16):
        res = read(path)
        dev = {(c.name, c.version) for c in res.components if c.scope is Scope.DEV}
        # mkdirp and its minimist carry cdx:npm:package:development; the optional minimist
        # 1.2.0 has scope "optional", which CycloneDX defines as not needed at run time.
        assert dev == {("mkdirp", "0.5.1"), ("minimist", "0.0.8"), ("minimist", "1.2.0")}, path
        assert comp(res, "ms").paths == (("debug", "ms"),)


def test_nested_components_are_read() -> None:
    res = read(CDX_NPM_16)
    nested = comp(res, "minimist", "0.0.8")
    lines = CDX_NPM_16.read_text(encoding="utf-8").splitlines()
    ref = next(
        i
        for i, ln in enumerate(lines)
        if '"bom-ref": "other-sbom-app@1.0.0|mkdirp@0.5.1|minimist@0.0.8"' in ln
    )
    opening = max(i for i in range(ref) if lines[i].strip() == "{")
    assert nested.locations[0].line == opening + 1  # the "{" that opens the entry
    assert nested.purl == "pkg:npm/minimist@0.0.8"
    assert comp(res, "@xmldom/xmldom").purl == "pkg:npm/%40xmldom/xmldom@0.7.5"


def test_unsupported_ecosystem_is_skipped() -> None:
    res = read(MAVEN)
    assert res.components == ()
    assert [(s.name, s.reason) for s in res.skipped] == [
        ("com.fasterxml.jackson.core/jackson-databind", "ecosystem not supported: maven"),
        ("com.fasterxml.jackson.core/jackson-annotations", "ecosystem not supported: maven"),
        ("com.fasterxml.jackson.core/jackson-core", "ecosystem not supported: maven"),
    ]
    assert res.skipped[0].location.line == 67
    assert res.skipped[0].requirement == (
        "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar"
    )


def test_unpinned_and_purl_less_components_are_skipped() -> None:
    res = read(PY_REQ)
    assert {(c.name, c.version, c.direct) for c in res.components} == {
        ("requests", "2.19.0", True),
        ("urllib3", "1.23", True),
    }
    assert [(s.name, s.reason) for s in res.skipped] == [
        ("flask", "no version"),
        ("unknown", "no package URL (purl)"),
    ]


def test_xml_is_refused_clearly() -> None:
    with pytest.raises(SourceError) as err:
        read(XML)
    assert err.value.reason == "XML SBOMs are not supported; use JSON"
    assert err.value.path == XML


def test_truncated_json_names_the_line(tmp_path: Path) -> None:
    text = PY_16.read_text(encoding="utf-8")
    path = tmp_path / "bom.json"
    path.write_text(text[:2000], encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read(path)
    assert err.value.place == text[:2000].count("\n") + 1


@pytest.mark.parametrize(
    ("edit", "place", "reason"),
    [
        (lambda d: d.update(bomFormat="SPDX"), "bomFormat",
         'not a CycloneDX document (expected "CycloneDX")'),
        (lambda d: d.update(specVersion="2.0"), "specVersion",
         "unsupported CycloneDX version '2.0'"),
        (lambda d: d.update(specVersion=1.6), "specVersion", "expected a string, found float"),
        (lambda d: d.update(components={}), "components",
         "expected an array, found a table/object"),
        (lambda d: d["components"][1].update(purl=7), "components[1].purl",
         "expected a string, found int"),
        (lambda d: d["components"][0].update(components=[1]), "components[0].components[0]",
         "expected a table/object, found int"),
        (lambda d: d["dependencies"][0].update(dependsOn="x"), "dependencies[0].dependsOn",
         "expected an array, found a string"),
        (lambda d: d["metadata"].update(component=[]), "metadata.component",
         "expected a table/object, found an array"),
    ],
)  # fmt: skip
def test_wrong_types_name_the_key(tmp_path: Path, edit: Any, place: str, reason: str) -> None:
    doc = json.loads(PY_16.read_text(encoding="utf-8"))
    edit(doc)
    path = write(tmp_path, doc)
    with pytest.raises(SourceError) as err:
        read(path)
    assert (err.value.place, err.value.reason) == (place, reason)


def test_invalid_purl_is_skipped_with_the_reason(tmp_path: Path) -> None:
    doc = json.loads(PY_16.read_text(encoding="utf-8"))
    doc["components"][0]["purl"] = "jinja2@2.10"
    res = read(write(tmp_path, doc))
    (skip,) = res.skipped
    assert skip.name == "Jinja2"
    assert skip.reason.startswith("invalid package URL 'jinja2@2.10'")


def test_newer_spec_version_is_read_with_a_note(tmp_path: Path) -> None:
    doc = json.loads(PY_16.read_text(encoding="utf-8"))
    doc["specVersion"] = "1.7"
    res = read(write(tmp_path, doc))
    assert res.notes[0] == "CycloneDX 1.7 is newer than this reader knows; read as 1.6"
    assert len(res.components) == 9
