"""Scan results built from real files for the renderer tests.

The inventory comes from real lockfiles in tests/assets/formats (a uv.lock made by uv, a
package-lock.json made by npm, a hand-written requirements file) read here with tomllib/json;
the findings come from real OSV records in shared/osv, read with the project's OSV reader
(`advisories.osv.parse_record`) and matched with the independent reading in tests/oracle.py.
Components and findings are built with the model constructors, so the renderers are tested
without depending on the inventory readers or the matcher.
"""

from __future__ import annotations

import json
import re
import tomllib
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import semver
from packaging.version import Version

import oracle  # tests/oracle.py: tests/ is on sys.path through tests/conftest.py
from patchpilot.advisories.osv import parse_record
from patchpilot.model import (
    Advisory,
    Component,
    Ecosystem,
    Finding,
    Inventory,
    Location,
    ScanResult,
    Scope,
    Severity,
    SeverityLevel,
    Skipped,
    SourceKind,
    SourceRecord,
    make_purl,
    normalize_name,
)
from patchpilot.sources.interface import LineIndex, parents_of, shortest_paths

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "tests" / "assets" / "formats"
OSV_DIR = REPO.parent / "shared" / "osv"
OSV_ZIPS = (OSV_DIR / "pypa-advisory-database.zip", OSV_DIR / "ghsa-sample.zip")


_DB_LEVELS = {
    "CRITICAL": SeverityLevel.CRITICAL,
    "HIGH": SeverityLevel.HIGH,
    "MODERATE": SeverityLevel.MEDIUM,
    "MEDIUM": SeverityLevel.MEDIUM,
    "LOW": SeverityLevel.LOW,
}


def uv_lock_components(path: Path) -> list[Component]:
    """Components of a real uv.lock: the editable project's dependencies are the direct ones."""
    text = path.read_text(encoding="utf-8")
    lock = tomllib.loads(text)
    index = LineIndex(text)
    packages = lock["package"]
    project = next(p for p in packages if p.get("source", {}).get("editable") == ".")
    runtime_roots = [d["name"] for d in project.get("dependencies", [])]
    dev_roots = [d["name"] for g in project.get("dev-dependencies", {}).values() for d in g]
    edges = {p["name"]: [d["name"] for d in p.get("dependencies", [])] for p in packages}
    runtime = shortest_paths(runtime_roots, edges)
    every = shortest_paths([*runtime_roots, *dev_roots], edges)
    parents = parents_of({k: v for k, v in edges.items() if k != project["name"]})
    out = []
    for p in packages:
        if p is project:
            continue
        name = normalize_name(Ecosystem.PYPI, p["name"])
        out.append(
            Component(
                ecosystem=Ecosystem.PYPI,
                name=name,
                version=p["version"],
                purl=make_purl(Ecosystem.PYPI, name, p["version"]),
                direct=p["name"] in runtime_roots or p["name"] in dev_roots,
                scope=Scope.RUNTIME if p["name"] in runtime else Scope.DEV,
                locations=(Location(str(path), _package_line(index, p["name"])),),
                paths=(every[p["name"]],) if p["name"] in every else (),
                parents=tuple(sorted(parents.get(p["name"], []))),
            )
        )
    return out


def _package_line(index: LineIndex, name: str) -> int | None:
    # The `name = ...` line of the package's own table, not a mention in a dependency list.
    line = index.line_of(f'[[package]]\nname = "{name}"')
    return None if line is None else line + 1


def npm_lock_components(path: Path) -> list[Component]:
    """Components of a real package-lock.json (v3): the root package's dependencies are direct."""
    text = path.read_text(encoding="utf-8")
    lock = json.loads(text)
    index = LineIndex(text)
    pkgs = lock["packages"]
    roots = list(pkgs[""].get("dependencies", {}))
    edges = {
        key.removeprefix("node_modules/"): list(entry.get("dependencies", {}))
        for key, entry in pkgs.items()
        if key
    }
    paths = shortest_paths(roots, edges)
    parents = parents_of(edges)
    out = []
    for key, entry in pkgs.items():
        if not key:
            continue
        raw = key.removeprefix("node_modules/")
        name = normalize_name(Ecosystem.NPM, raw)
        out.append(
            Component(
                ecosystem=Ecosystem.NPM,
                name=name,
                version=entry["version"],
                purl=make_purl(Ecosystem.NPM, raw, entry["version"]),
                direct=raw in roots,
                scope=Scope.DEV if entry.get("dev") else Scope.RUNTIME,
                locations=(Location(str(path), index.line_of(f'"{key}":')),),
                paths=(paths[raw],) if raw in paths else (),
                parents=tuple(sorted(parents.get(raw, []))),
            )
        )
    return out


_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;#]+)")


def requirements_inventory(path: Path) -> tuple[list[Component], list[Skipped]]:
    """Pinned lines become direct components; anything else is skipped, as a reader would."""
    comps: list[Component] = []
    skipped: list[Skipped] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        req = line.split("#", 1)[0].strip()
        if not req:
            continue
        m = _PIN.match(req)
        if m:
            name = normalize_name(Ecosystem.PYPI, m.group(1))
            comps.append(
                Component(
                    ecosystem=Ecosystem.PYPI,
                    name=name,
                    version=m.group(2),
                    purl=make_purl(Ecosystem.PYPI, name, m.group(2)),
                    direct=True,
                    scope=Scope.RUNTIME,
                    locations=(Location(str(path), number),),
                    paths=((name,),),
                )
            )
        else:
            bare = re.split(r"[<>=!~ ;\[]", req, maxsplit=1)[0]
            skipped.append(
                Skipped(
                    name=bare,
                    reason="not pinned to one version (use a lockfile or `==`)",
                    location=Location(str(path), number),
                    ecosystem=Ecosystem.PYPI,
                    requirement=req,
                )
            )
    return comps, skipped


def _severity(records: list[Advisory]) -> Severity:
    """The highest CVSS base score stated, else the database's label, else unknown."""
    scores = tuple(s for r in records for s in r.severity)
    rated = [s for s in scores if s.score is not None]
    if rated:
        best = max(rated, key=lambda s: s.score or 0.0)
        assert best.score is not None
        return Severity(
            level=SeverityLevel.from_score(best.score),
            score=best.score,
            vector=best.vector,
            source="cvss",
            scores=scores,
        )
    for r in records:
        if r.database_severity and r.database_severity.upper() in _DB_LEVELS:
            level = _DB_LEVELS[r.database_severity.upper()]
            return Severity(level, None, None, "database", scores)
    return Severity(SeverityLevel.UNKNOWN, None, None, "none", scores)


def _version_key(ecosystem: Ecosystem, text: str) -> Any:
    if ecosystem is Ecosystem.PYPI:
        return Version(text)
    return semver.Version.parse(text)


def _fixed_versions(comp: Component, records: list[Advisory]) -> tuple[str, ...]:
    current = _version_key(comp.ecosystem, comp.version)
    fixed = {
        e.fixed
        for r in records
        for a in r.affected
        if a.name == comp.name
        for rng in a.ranges
        if rng.type != "GIT"
        for e in rng.events
        if e.fixed
    }
    # One spelling per version: records write the same PEP 440 version differently (2022.12.07).
    later = {_version_key(comp.ecosystem, v): v for v in sorted(fixed)}
    return tuple(later[k] for k in sorted(later) if k > current)


_OWN_DATABASE = {Ecosystem.PYPI: "PYSEC", Ecosystem.GO: "GO", Ecosystem.CRATES_IO: "RUSTSEC"}


def _primary(ecosystem: Ecosystem, ids: Iterable[str]) -> str:
    # The project's documented rule: the ecosystem's own database, then GHSA, CVE, the rest.
    def rank(i: str) -> tuple[int, str]:
        prefix = i.split("-", 1)[0]
        tiers = {_OWN_DATABASE.get(ecosystem): 0, "GHSA": 1, "CVE": 2}
        return (tiers.get(prefix, 3), i)

    return min(ids, key=rank)


def findings_for(comp: Component, records: list[dict[str, Any]]) -> list[Finding]:
    """One finding per vulnerability: matching records whose IDs or aliases overlap merge.

    Which records affect the component is decided by tests/oracle.py on the raw JSON; the
    records themselves are read with the project's OSV reader.
    """
    hits = [
        parse_record(r, f"{r['id']}.json")
        for r in records
        if oracle.affected(r, comp.ecosystem.value, comp.name, comp.version)
    ]
    groups: list[tuple[set[str], list[Advisory]]] = []
    for adv in hits:
        ids = {adv.id, *adv.aliases}
        joined = [g for g in groups if g[0] & ids]
        merged_ids, merged = set(ids), [adv]
        for g in joined:
            merged_ids |= g[0]
            merged.extend(g[1])
            groups.remove(g)
        groups.append((merged_ids, merged))
    out = []
    for ids, group in groups:
        primary = _primary(comp.ecosystem, ids)
        ordered_group = sorted(group, key=lambda a: a.id != primary)
        summary = next((a.summary for a in ordered_group if a.summary), "")
        summary = summary or next((a.details for a in ordered_group if a.details), "")
        refs = {(ref.type, ref.url): ref for a in ordered_group for ref in a.references}
        out.append(
            Finding(
                id=primary,
                aliases=tuple(sorted(ids - {primary})),
                component=comp,
                severity=_severity(ordered_group),
                fixed_versions=_fixed_versions(comp, group),
                summary=summary.strip(),
                references=tuple(refs.values()),
                records=tuple(sorted((a.id, a.modified) for a in group)),
            )
        )
    return out


@pytest.fixture(scope="session")
def osv_records() -> list[dict[str, Any]]:
    return [r for r in oracle.load_records(OSV_ZIPS) if not r.get("withdrawn")]


@pytest.fixture(scope="session")
def scan_result(osv_records: list[dict[str, Any]]) -> ScanResult:
    """A scan of tests/assets/formats: a uv project, an npm project and a requirements file."""
    uv_lock = ASSETS / "webapp" / "uv.lock"
    npm_lock = ASSETS / "npm-app" / "package-lock.json"
    reqs = ASSETS / "tools" / "requirements.txt"
    py = uv_lock_components(uv_lock)
    js = npm_lock_components(npm_lock)
    tools, skipped = requirements_inventory(reqs)
    components = sorted([*py, *js, *tools], key=lambda c: (c.ecosystem.value, c.name, c.version))
    names = {c.name for c in components}
    relevant = [
        r
        for r in osv_records
        if any(
            normalize_name(Ecosystem.NPM, a["package"]["name"]) in names
            or normalize_name(Ecosystem.PYPI, a["package"]["name"]) in names
            for a in r.get("affected", [])
        )
    ]
    findings = [f for c in components for f in findings_for(c, relevant)]
    sources = (
        SourceRecord(str(npm_lock), "package-lock.json", SourceKind.LOCKFILE, True, len(js)),
        SourceRecord(
            str(ASSETS / "webapp" / "pyproject.toml"),
            "pyproject.toml",
            SourceKind.MANIFEST,
            False,
            note="superseded by uv.lock (the lockfile holds exact versions)",
        ),
        SourceRecord(str(uv_lock), "uv.lock", SourceKind.LOCKFILE, True, len(py)),
        SourceRecord(str(reqs), "requirements.txt", SourceKind.MANIFEST, True, len(tools)),
    )
    inventory = Inventory(
        root=str(ASSETS),
        components=tuple(components),
        skipped=tuple(skipped),
        sources=sources,
        notes=(f"{len(skipped)} requirements in tools/requirements.txt are not pinned",),
    )
    return ScanResult(
        inventory=inventory,
        findings=tuple(findings),
        store=str(REPO / ".venv" / "formats-test-advisories.sqlite3"),
    )


@pytest.fixture(scope="session")
def empty_result() -> ScanResult:
    """A scan that found components but no advisories for them (the npm project alone)."""
    npm_lock = ASSETS / "npm-app" / "package-lock.json"
    comps = npm_lock_components(npm_lock)
    clean = tuple(c for c in comps if c.name in ("balanced-match", "concat-map"))
    inventory = Inventory(
        root=str(npm_lock),
        components=clean,
        skipped=(),
        sources=(SourceRecord(str(npm_lock), "package-lock.json", SourceKind.LOCKFILE, True, 2),),
    )
    return ScanResult(inventory=inventory, findings=(), store="advisories.sqlite3")


@pytest.fixture(scope="session")
def osv_record() -> Callable[[str, str], dict[str, Any]]:
    """Reads one record, as published, from one of the shared OSV zips."""

    def read(zip_name: str, vuln_id: str) -> dict[str, Any]:
        with zipfile.ZipFile(OSV_DIR / zip_name) as zf:
            data: dict[str, Any] = json.loads(zf.read(f"{vuln_id}.json"))
        return data

    return read
