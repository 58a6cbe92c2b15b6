"""Shared builders for the policy tests: real OSV records, real KEV entries, real findings.

Advisories are read straight out of the real OSV zips in `../shared/osv` (the same files the
store imports) and matched with the real matcher, so every `Finding` here is what a scan
would produce. Exploit signals come from the real CISA KEV catalog in `../shared/kev`; they
are held in `CatalogSignals`, a plain value with the two attributes the policy reads of
`assess.exploit.ExploitSignals` (`kev`, `epss`). No EPSS data file is kept in the repository,
so EPSS scores are given by the tests that need one.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from patchpilot.advisories.matching import findings_for
from patchpilot.advisories.osv import parse_record
from patchpilot.model import (
    Advisory,
    Component,
    Ecosystem,
    Finding,
    Location,
    Scope,
    make_purl,
    normalize_name,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
OSV = SHARED / "osv"
KEV_FILE = SHARED / "kev" / "known_exploited_vulnerabilities.json"
PYPA = "pypa-advisory-database.zip"
GHSA = "ghsa-sample.zip"


@cache
def osv_record(zip_name: str, record_id: str) -> Advisory:
    """One real OSV record from one of the shared zips, parsed by the store's own reader."""
    with zipfile.ZipFile(OSV / zip_name) as zf:
        data = json.loads(zf.read(f"{record_id}.json"))
    return parse_record(data, f"{zip_name}:{record_id}.json")


def component(
    ecosystem: Ecosystem,
    name: str,
    version: str,
    *,
    direct: bool = True,
    locations: Iterable[str] = ("requirements.txt",),
) -> Component:
    normal = normalize_name(ecosystem, name)
    return Component(
        ecosystem=ecosystem,
        name=normal,
        version=version,
        purl=make_purl(ecosystem, normal, version),
        direct=direct,
        scope=Scope.RUNTIME,
        locations=tuple(Location(path) for path in locations),
    )


def findings(comp: Component, *records: tuple[str, str]) -> tuple[Finding, ...]:
    """The findings the real matcher makes of `records` ((zip, id) pairs) for `comp`."""
    found = findings_for(comp, [osv_record(z, i) for z, i in records])
    assert found, f"{comp.name} {comp.version} is not affected by {records}"
    return tuple(found)


@dataclass(frozen=True, slots=True)
class CatalogSignals:
    """Exploit signals of one finding: `kev` from the real KEV catalog, `epss` as given."""

    kev: bool
    epss: float | None = None


@cache
def kev_ids() -> frozenset[str]:
    data = json.loads(KEV_FILE.read_text(encoding="utf-8"))
    return frozenset(v["cveID"] for v in data["vulnerabilities"])


def kev_signals(
    found: Iterable[Finding], epss: dict[str, float] | None = None
) -> dict[str, CatalogSignals]:
    """Signals keyed by finding ID: in KEV when any ID of the finding is in the catalog."""
    epss = epss or {}
    return {
        f.id: CatalogSignals(kev=bool({f.id, *f.aliases} & kev_ids()), epss=epss.get(f.id))
        for f in found
    }
