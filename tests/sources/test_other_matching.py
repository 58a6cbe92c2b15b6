"""Components read from the npm, Cargo, Go and SBOM assets match the real OSV advisories.

The names, versions and ecosystems the readers produce (Go's `v` prefix, `stdlib`, scoped
npm names, crates.io build metadata) must be the ones advisories use: each component's
findings from the advisory store are compared with the independent reading in
tests/oracle.py over the same zips, and a few known advisories are named outright.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import oracle  # tests/oracle.py: tests/ is on sys.path through tests/conftest.py
from patchpilot.advisories.matching import findings_for
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.model import Component
from patchpilot.sources.cargo_lock import CargoLockSource
from patchpilot.sources.cyclonedx import CycloneDxSource
from patchpilot.sources.go_mod import GoModSource
from patchpilot.sources.interface import Source
from patchpilot.sources.npm_lock import NpmLockSource
from patchpilot.sources.spdx import SpdxSource

OTHER = Path(__file__).parent.parent / "assets" / "sources" / "other"
# The same zips the session's `osv_store` fixture imports (tests/conftest.py).
OSV_ZIPS = sorted((Path(__file__).resolve().parents[3] / "shared" / "osv").glob("*.zip"))

ASSETS: list[tuple[type[Source], Path]] = [
    (NpmLockSource, OTHER / "npm-v3" / "package-lock.json"),
    (NpmLockSource, OTHER / "npm-workspace" / "package-lock.json"),
    (CargoLockSource, OTHER / "cargo-workspace" / "Cargo.lock"),
    (CargoLockSource, OTHER / "cargo-v2" / "Cargo.lock"),
    (GoModSource, OTHER / "go-silk" / "go.mod"),
    (CycloneDxSource, OTHER / "sbom" / "py-env-1.6.cdx.json"),
    (CycloneDxSource, OTHER / "sbom" / "cyclonedx-npm-1.6.cdx.json"),
    (SpdxSource, OTHER / "sbom" / "sbom4rust-sudoku.spdx.json"),
]


@pytest.fixture(scope="module")
def oracle_index() -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every OSV record, by (ecosystem, normalised name) of each package it names."""
    index: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in oracle.load_records(OSV_ZIPS):
        for affected in record.get("affected", []):
            pkg = affected.get("package", {})
            eco = pkg.get("ecosystem", "").split(":")[0]
            key = (eco, oracle._norm(eco, pkg.get("name", "")))
            bucket = index.setdefault(key, [])
            if record not in bucket:
                bucket.append(record)
    return index


def expected_ids(index: dict[tuple[str, str], list[dict[str, Any]]], c: Component) -> set[str]:
    records = index.get((c.ecosystem.value, oracle._norm(c.ecosystem.value, c.name)), [])
    return oracle.matching_ids(records, c.ecosystem.value, c.name, c.version)


def matched_ids(store: AdvisoryStore, c: Component) -> set[str]:
    found = findings_for(c, store.lookup(c.ecosystem, c.name))
    return {record_id for f in found for record_id, _ in f.records}


@pytest.mark.parametrize(("reader", "path"), ASSETS, ids=lambda v: getattr(v, "name", ""))
def test_findings_agree_with_the_oracle(
    osv_store: AdvisoryStore,
    oracle_index: dict[tuple[str, str], list[dict[str, Any]]],
    reader: type[Source],
    path: Path,
) -> None:
    res = reader().read(path)
    hits = 0
    for c in res.components:
        want = expected_ids(oracle_index, c)
        assert matched_ids(osv_store, c) == want, (c.name, c.version)
        hits += bool(want)
    assert hits > 0, "each asset was chosen to have components with advisories"


@pytest.mark.parametrize(
    ("reader", "path", "name", "version", "advisory"),
    [
        (CargoLockSource, OTHER / "cargo-workspace" / "Cargo.lock", "time", "0.1.45",
         "RUSTSEC-2020-0071"),
        (CargoLockSource, OTHER / "cargo-v2" / "Cargo.lock", "atty", "0.2.14",
         "RUSTSEC-2021-0145"),
        (GoModSource, OTHER / "go-silk" / "go.mod", "golang.org/x/net", "v0.10.0",
         "GO-2024-2687"),
        (GoModSource, OTHER / "go-silk" / "go.mod", "google.golang.org/grpc", "v1.55.0",
         "GO-2023-2153"),
        (NpmLockSource, OTHER / "npm-v3" / "package-lock.json", "lodash", "4.17.15",
         "GHSA-35jh-r3h4-6jhm"),
        (NpmLockSource, OTHER / "npm-v1" / "package-lock.json", "@xmldom/xmldom", "0.7.5",
         "GHSA-crh6-fp67-6883"),
        (SpdxSource, OTHER / "sbom" / "npm-sbom.spdx.json", "lodash", "4.17.15",
         "GHSA-p6mc-m468-83gw"),
    ],
)  # fmt: skip
def test_known_advisories_are_found(
    osv_store: AdvisoryStore,
    reader: type[Source],
    path: Path,
    name: str,
    version: str,
    advisory: str,
) -> None:
    res = reader().read(path)
    (c,) = [c for c in res.components if c.name == name and c.version == version]
    assert advisory in matched_ids(osv_store, c)


def test_go_stdlib_matches_go_advisories(osv_store: AdvisoryStore) -> None:
    res = GoModSource().read(OTHER / "go-silk" / "go.mod")
    (std,) = [c for c in res.components if c.name == "stdlib"]
    assert std.version == "v1.20.0"
    ids = matched_ids(osv_store, std)
    assert ids
    assert all(i.startswith("GO-") for i in ids)
