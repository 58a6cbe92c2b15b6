"""The engine's findings on real lockfiles equal an independent reading of the OSV records.

Every lockfile, manifest and SBOM under tests/assets/sources (real files made by the real
tools) and the bundled example is scanned against a store holding all four zips of
../shared/osv; for every component, the set of records that match must be exactly the set the
independent reader in `oracle.py` finds, and alias merging must put every record of a finding
into one alias group.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from oracle import load_records, matching_ids
from patchpilot import engine
from patchpilot.advisories.store import AdvisoryStore

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OSV = ROOT.parent / "shared" / "osv"
ZIPS = sorted(OSV.glob("*.zip"))


@pytest.fixture(scope="module")
def records() -> list[dict[str, object]]:
    return load_records(ZIPS)


def scan_roots() -> list[Path]:
    roots = [ROOT / "examples" / "webapp"]
    assets = HERE / "assets" / "sources"
    if assets.is_dir():
        roots.extend(sorted(p for p in assets.iterdir() if p.is_dir()))
    return roots


@pytest.mark.parametrize("root", scan_roots(), ids=lambda p: p.name)
def test_findings_equal_independent_reading(
    root: Path, osv_store: AdvisoryStore, records: list[dict[str, object]]
) -> None:
    result = engine.scan(root, osv_store)
    assert result.inventory.components, f"no components read under {root}"
    got: dict[tuple[str, str, str], set[str]] = {}
    for f in result.findings:
        key = (f.component.ecosystem.value, f.component.name, f.component.version)
        got.setdefault(key, set()).update(rid for rid, _ in f.records)
    want: dict[tuple[str, str, str], set[str]] = {}
    for c in result.inventory.components:
        ids = matching_ids(records, c.ecosystem.value, c.name, c.version)
        if ids:
            want[(c.ecosystem.value, c.name, c.version)] = ids
    assert got == want


def test_example_has_the_documented_findings(osv_store: AdvisoryStore) -> None:
    result = engine.scan(ROOT / "examples" / "webapp", osv_store)
    by_pkg: dict[str, set[str]] = {}
    for f in result.findings:
        by_pkg.setdefault(f.component.name, set()).update({f.id, *f.aliases})
    # CVE-2020-14343 (FullLoader arbitrary code execution) fixed in PyYAML 5.4
    assert "CVE-2020-14343" in by_pkg["pyyaml"]
    # CVE-2020-28493 (urlize ReDoS) fixed in Jinja2 2.11.3
    assert "CVE-2020-28493" in by_pkg["jinja2"]
    # urllib3 is transitive, through requests
    urllib3 = [f for f in result.findings if f.component.name == "urllib3"]
    assert urllib3 and all(not f.component.direct for f in urllib3)
    assert all(f.component.paths[0] == ("requests", "urllib3") for f in urllib3)


def test_one_finding_per_vulnerability(osv_store: AdvisoryStore) -> None:
    result = engine.scan(ROOT / "examples" / "webapp", osv_store)
    for comp in result.inventory.components:
        ids_seen: set[str] = set()
        for f in (f for f in result.findings if f.component == comp):
            every = {f.id, *f.aliases}
            assert not (every & ids_seen), f"{f.id} overlaps another finding of {comp.name}"
            ids_seen |= every
