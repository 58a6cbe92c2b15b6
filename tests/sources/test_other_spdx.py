"""SPDX reader: SPDX 2.3 JSON made by npm, sbom4python and sbom4rust, and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from patchpilot.errors import SourceError
from patchpilot.model import Component, Ecosystem, Scope, SourceKind, SourceResult
from patchpilot.sources.cargo_lock import CargoLockSource
from patchpilot.sources.npm_lock import NpmLockSource
from patchpilot.sources.spdx import SpdxSource

OTHER = Path(__file__).parent.parent / "assets" / "sources" / "other"
SBOM = OTHER / "sbom"
NPM = SBOM / "npm-sbom.spdx.json"
PYTHON = SBOM / "sbom4python-requests.spdx.json"
RUST = SBOM / "sbom4rust-sudoku.spdx.json"


def read(path: Path) -> SourceResult:
    return SpdxSource().read(path)


def comp(res: SourceResult, name: str, version: str | None = None) -> Component:
    found = [c for c in res.components if c.name == name and version in (None, c.version)]
    assert len(found) == 1, found
    return found[0]


def write(tmp_path: Path, doc: Any, name: str = "sbom.spdx.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def test_matches(tmp_path: Path) -> None:
    for path in (NPM, PYTHON, RUST):
        assert SpdxSource.matches(path)
    assert not SpdxSource.matches(SBOM / "py-env-1.6.cdx.json")
    plain = tmp_path / "inventory.json"
    plain.write_text('{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"}', "utf-8")
    assert SpdxSource.matches(plain)
    other = tmp_path / "data.json"
    other.write_text('{"name": "x"}', encoding="utf-8")
    assert not SpdxSource.matches(other)


def test_npm_document_matches_the_lockfile_it_was_made_from() -> None:
    res = read(NPM)
    assert (res.format, res.kind) == ("SPDX", SourceKind.SBOM)
    lock = NpmLockSource().read(SBOM / "npm-source" / "package-lock.json")
    assert {(c.name, c.version, c.direct, c.scope, c.paths, c.parents) for c in res.components} == {
        (c.name, c.version, c.direct, c.scope, c.paths, c.parents) for c in lock.components
    }
    assert res.notes == (
        "the SBOM describes other-sbom-app@1.0.0: read as the project, not as a dependency",
    )


def test_dev_relationships_make_dev_components() -> None:
    res = read(NPM)
    # mkdirp is DEV_DEPENDENCY_OF the app; its own minimist is reached only through it.
    assert comp(res, "mkdirp").scope is Scope.DEV
    assert comp(res, "minimist", "0.0.8").scope is Scope.DEV
    assert comp(res, "minimist", "0.0.8").paths == (("mkdirp", "minimist"),)
    # OPTIONAL_DEPENDENCY_OF ships: runtime.
    assert comp(res, "minimist", "1.2.0").scope is Scope.RUNTIME
    assert comp(res, "ms").paths == (("debug", "ms"),)


def test_lines_and_purls() -> None:
    res = read(NPM)
    lines = NPM.read_text(encoding="utf-8").splitlines()
    spdxid = next(
        i for i, ln in enumerate(lines) if '"SPDXID": "SPDXRef-Package-lodash-4.17.15"' in ln
    )
    opening = max(i for i in range(spdxid) if lines[i].strip() == "{")
    lodash = comp(res, "lodash")
    assert lodash.locations[0].line == opening + 1  # the "{" that opens the entry
    assert lodash.purl == "pkg:npm/lodash@4.17.15"
    assert comp(res, "@xmldom/xmldom").purl == "pkg:npm/%40xmldom/xmldom@0.7.5"


def test_described_module_is_the_root() -> None:
    res = read(PYTHON)
    assert {(c.name, c.version, c.direct) for c in res.components} == {
        ("certifi", "2026.10.19.post1", True),
        ("chardet", "3.0.4", True),
        ("idna", "2.7", True),
        ("urllib3", "1.23", True),
    }
    assert all(c.ecosystem is Ecosystem.PYPI for c in res.components)
    # chardet CONTAINS files; they are not packages and are left alone.
    assert res.skipped == ()
    assert res.notes == (
        "the SBOM describes requests@2.19.0: read as the project, not as a dependency",
    )


def test_document_depends_on_gives_direct() -> None:
    res = read(RUST)
    cargo = CargoLockSource().read(OTHER / "cargo-v2" / "Cargo.lock")
    # The same crates as the Cargo.lock the SBOM was made from, plus the application itself,
    # which sbom4rust lists as a package nothing depends on.
    assert {(c.name, c.version) for c in res.components} == {
        (c.name, c.version) for c in cargo.components
    } | {("sudoku", "1.0.1")}
    assert {c.name for c in res.components if c.direct} == {
        c.name for c in cargo.components if c.direct
    }
    for name in ("atty", "hermit-abi", "rand_core", "winapi"):
        assert comp(res, name).parents == comp(cargo, name).parents
    assert comp(res, "atty").paths == (("clap", "atty"),)
    assert (comp(res, "sudoku").direct, comp(res, "sudoku").paths) == (False, ())


def test_package_without_purl_is_skipped(tmp_path: Path) -> None:
    doc = json.loads(NPM.read_text(encoding="utf-8"))
    lodash = next(p for p in doc["packages"] if p["name"] == "lodash")
    del lodash["externalRefs"]
    res = read(write(tmp_path, doc))
    (skip,) = res.skipped
    assert (skip.name, skip.reason, skip.requirement) == (
        "lodash",
        "no package URL (purl)",
        "4.17.15",
    )
    assert "lodash" not in {c.name for c in res.components}


def test_version_comes_from_version_info_when_the_purl_has_none(tmp_path: Path) -> None:
    doc = json.loads(NPM.read_text(encoding="utf-8"))
    lodash = next(p for p in doc["packages"] if p["name"] == "lodash")
    lodash["externalRefs"][0]["referenceLocator"] = "pkg:npm/lodash"
    res = read(write(tmp_path, doc))
    assert comp(res, "lodash").version == "4.17.15"


def test_flat_document_without_relationships(tmp_path: Path) -> None:
    """Every package described and no dependency recorded: all are direct components."""
    doc = json.loads(NPM.read_text(encoding="utf-8"))
    doc["packages"] = doc["packages"][1:]  # without the application itself
    doc["relationships"] = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
         "relatedSpdxElement": p["SPDXID"]}
        for p in doc["packages"]
    ]  # fmt: skip
    doc["documentDescribes"] = []
    res = read(write(tmp_path, doc))
    assert all(c.direct for c in res.components)
    assert len(res.components) == 7
    assert res.notes == ()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n",
         "SPDX tag-value documents are not supported; use JSON"),
        ('<?xml version="1.0"?>\n<rdf:RDF/>', "SPDX RDF/XML documents are not supported; use JSON"),
        ('{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []}',
         "SPDX 3 documents are not supported; use SPDX 2.3"),
        ('{"spdxVersion": "SPDX-3.0"}', "unsupported SPDX version 'SPDX-3.0'"),
        ('{"bomFormat": "CycloneDX"}', "a CycloneDX document, not SPDX"),
        ("{}", "missing: not an SPDX document"),
    ],
)  # fmt: skip
def test_other_formats_are_refused(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "sbom.spdx.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read(path)
    assert err.value.reason == reason


def test_truncated_json_names_the_line(tmp_path: Path) -> None:
    text = NPM.read_text(encoding="utf-8")
    path = tmp_path / "sbom.spdx.json"
    path.write_text(text[:3000], encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read(path)
    assert err.value.place == text[:3000].count("\n") + 1


@pytest.mark.parametrize(
    ("edit", "place", "reason"),
    [
        (lambda d: d.update(packages={}), "packages", "expected an array, found a table/object"),
        (lambda d: d["packages"][2].update(SPDXID=3), "packages[2].SPDXID",
         "expected a string, found int"),
        (lambda d: d["packages"][2].update(externalRefs="purl"), "packages[2].externalRefs",
         "expected an array, found a string"),
        (lambda d: d["relationships"][1].pop("relationshipType"),
         "relationships[1].relationshipType", "expected a string, found NoneType"),
        (lambda d: d.update(spdxVersion=2.3), "spdxVersion", "expected a string, found float"),
    ],
)  # fmt: skip
def test_wrong_types_name_the_key(tmp_path: Path, edit: Any, place: str, reason: str) -> None:
    doc = json.loads(NPM.read_text(encoding="utf-8"))
    edit(doc)
    path = write(tmp_path, doc)
    with pytest.raises(SourceError) as err:
        read(path)
    assert (err.value.place, err.value.reason) == (place, reason)
    assert str(err.value) == f"{path}: {place}: {reason}"
