"""CycloneDX 1.6 JSON output: the inventory as an SBOM, the findings as its vulnerabilities.

Built with cyclonedx-python-lib, so the document follows the library's model of the standard
rather than hand-written JSON. The scanned project is the BOM's subject; every component is a
library with its package URL as `bom-ref`; the dependency graph is taken from the components'
recorded paths and parents where the lockfile had them; each vulnerability (one per primary ID)
lists its ratings, aliases as references, fix recommendation, and `affects` entries pointing at
the affected components. The library is imported at module level because `patchpilot.formats`
loads this module only when a CycloneDX document is asked for.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path

from cyclonedx.exception import CycloneDxException
from cyclonedx.exception.model import InvalidUriException
from cyclonedx.model import Property, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.component import ComponentScope, ComponentType
from cyclonedx.model.impact_analysis import ImpactAnalysisAffectedStatus
from cyclonedx.model.vulnerability import (
    BomTarget,
    BomTargetVersionRange,
    Vulnerability,
    VulnerabilityAdvisory,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilityScoreSource,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from patchpilot import __version__
from patchpilot.errors import OutputError
from patchpilot.formats._common import dependency_path, locations_of, ordered, osv_url, scan_base
from patchpilot.model import (
    Component,
    Ecosystem,
    Finding,
    ScanResult,
    Scope,
    SeverityLevel,
    normalize_name,
)

ROOT_REF = "patchpilot:scan-root"
PROPERTY_PREFIX = "patchpilot:"


def render(result: ScanResult) -> str:
    """The SBOM as CycloneDX 1.6 JSON, indented, with a final newline."""
    try:
        bom = scan_to_bom(result)
        with warnings.catch_warnings():
            # The library warns about graph gaps it repairs itself; the CLI must not print them.
            warnings.simplefilter("ignore", UserWarning)
            return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"
    except (CycloneDxException, ValueError, TypeError) as e:
        raise OutputError(f"cannot build the CycloneDX SBOM: {e}") from e


def scan_to_bom(result: ScanResult) -> Bom:
    """The scan as a cyclonedx-python-lib `Bom` (components, dependencies, vulnerabilities)."""
    inv = result.inventory
    bom = Bom()
    bom.metadata.tools.components.add(
        CdxComponent(type=ComponentType.APPLICATION, name="patchpilot", version=__version__)
    )
    subject = CdxComponent(
        type=ComponentType.APPLICATION,
        name=Path(scan_base(inv)).name or inv.root,
        bom_ref=ROOT_REF,
    )
    bom.metadata.component = subject

    by_key: dict[tuple[str, str, str], CdxComponent] = {}
    for comp in sorted(inv.components, key=lambda c: (c.ecosystem.value, c.name, c.version)):
        cdx = _component(comp)
        by_key[_key(comp)] = cdx
        bom.components.add(cdx)

    direct = [by_key[_key(c)] for c in inv.components if c.direct]
    # Without any component marked direct (an SBOM with no graph), every component is a top
    # level one as far as the scan knows; saying so keeps the graph complete.
    bom.register_dependency(subject, direct or list(by_key.values()))
    for parent_key, children in sorted(_edges(inv.components).items()):
        bom.register_dependency(by_key[parent_key], [by_key[k] for k in sorted(children)])
    for cdx in by_key.values():
        bom.register_dependency(cdx)

    groups: dict[str, list[Finding]] = {}
    for f in ordered(result.findings):
        groups.setdefault(f.id, []).append(f)
    for vuln_id, group in groups.items():
        bom.vulnerabilities.add(_vulnerability(vuln_id, group, by_key))
    return bom


def _key(c: Component) -> tuple[str, str, str]:
    return (c.ecosystem.value, c.name, c.version)


def _component(c: Component) -> CdxComponent:
    try:
        purl = PackageURL.from_string(c.purl)
    except ValueError as e:
        raise OutputError(f"component {c.name} {c.version}: invalid package URL {c.purl!r}") from e
    properties = [
        Property(name=PROPERTY_PREFIX + "ecosystem", value=c.ecosystem.value),
        Property(name=PROPERTY_PREFIX + "direct", value="true" if c.direct else "false"),
        Property(name=PROPERTY_PREFIX + "scope", value=c.scope.value),
    ]
    if not c.direct:
        properties.append(Property(name=PROPERTY_PREFIX + "path", value=dependency_path(c)))
    properties.extend(
        Property(name=PROPERTY_PREFIX + "location", value=str(loc)) for loc in locations_of(c)
    )
    return CdxComponent(
        type=ComponentType.LIBRARY,
        name=c.name,
        version=c.version,
        purl=purl,
        bom_ref=c.purl,
        # CycloneDX documents test and build-only components as `excluded` from the runtime.
        scope=ComponentScope.EXCLUDED if c.scope is Scope.DEV else ComponentScope.REQUIRED,
        properties=properties,
    )


def _edges(
    components: Iterable[Component],
) -> dict[tuple[str, str, str], set[tuple[str, str, str]]]:
    """Parent -> children edges from recorded paths and parents, where a name is unambiguous.

    Paths and parents name packages (`name`, or `name@version` where a lockfile holds several
    versions of one name); a bare name that several versions share is skipped rather than
    guessed.
    """
    comps = list(components)
    by_name: dict[tuple[Ecosystem, str], list[Component]] = {}
    for c in comps:
        by_name.setdefault((c.ecosystem, c.name), []).append(c)

    def resolve(ecosystem: Ecosystem, label: str) -> Component | None:
        candidates = by_name.get((ecosystem, normalize_name(ecosystem, label)))
        if candidates is not None:
            return candidates[0] if len(candidates) == 1 else None
        name, sep, version = label.rpartition("@")
        if sep and name:
            for cand in by_name.get((ecosystem, normalize_name(ecosystem, name)), ()):
                if cand.version == version:
                    return cand
        return None

    edges: dict[tuple[str, str, str], set[tuple[str, str, str]]] = {}
    for c in comps:
        pairs: list[tuple[Component | None, Component | None]] = []
        for path in c.paths:
            nodes = [resolve(c.ecosystem, label) for label in path]
            pairs.extend(pairwise(nodes))
        pairs.extend((resolve(c.ecosystem, p), c) for p in c.parents)
        for parent, child in pairs:
            if parent is not None and child is not None and parent is not child:
                edges.setdefault(_key(parent), set()).add(_key(child))
    return edges


def _vulnerability(
    vuln_id: str, group: list[Finding], by_key: dict[tuple[str, str, str], CdxComponent]
) -> Vulnerability:
    lead = group[0]
    affects = [
        BomTarget(
            ref=by_key[_key(f.component)].bom_ref.value or f.component.purl,
            versions=[
                BomTargetVersionRange(
                    version=f.component.version, status=ImpactAnalysisAffectedStatus.AFFECTED
                )
            ],
        )
        for f in group
        if _key(f.component) in by_key
    ]
    aliases = sorted({a for f in group for a in f.aliases})
    urls = list(dict.fromkeys(r.url for f in group for r in f.references))
    return Vulnerability(
        # The ID itself is a stable, unique reference; the library would otherwise invent one.
        bom_ref=vuln_id,
        id=vuln_id,
        source=VulnerabilitySource(name="OSV", url=XsUri(osv_url(vuln_id))),
        references=[_alias_reference(a) for a in aliases],
        ratings=_ratings(lead),
        description=lead.summary or None,
        recommendation=_recommendation(group),
        advisories=_advisories(urls),
        updated=_latest(f.records for f in group),
        affects=affects,
        properties=[
            Property(name=PROPERTY_PREFIX + "severity", value=lead.severity.level.value),
            Property(name=PROPERTY_PREFIX + "severity-source", value=lead.severity.source),
            *(
                Property(name=PROPERTY_PREFIX + "record", value=f"{rid}@{modified}")
                for rid, modified in sorted({r for f in group for r in f.records})
            ),
        ],
    )


def _ratings(f: Finding) -> list[VulnerabilityRating]:
    sev = f.severity
    ratings: list[VulnerabilityRating] = []
    for s in sev.scores:
        score: Decimal | None = None
        level = SeverityLevel.UNKNOWN
        if s.score is not None:
            try:
                score = Decimal(str(s.score))
            except InvalidOperation:
                score = None
            level = SeverityLevel.from_score(s.score)
        ratings.append(
            VulnerabilityRating(
                score=score,
                severity=VulnerabilitySeverity(level.value),
                method=VulnerabilityScoreSource.get_from_vector(s.vector),
                vector=s.vector,
            )
        )
    if not ratings and sev.level is not SeverityLevel.UNKNOWN:
        # Rated by the advisory database's own label, with no CVSS vector behind it.
        ratings.append(
            VulnerabilityRating(
                severity=VulnerabilitySeverity(sev.level.value),
                method=VulnerabilityScoreSource.OTHER,
                justification=f"severity label of the advisory database ({sev.source})",
            )
        )
    return ratings


def _alias_reference(alias: str) -> VulnerabilityReference:
    if alias.startswith("CVE-"):
        source = VulnerabilitySource(
            name="NVD", url=XsUri(f"https://nvd.nist.gov/vuln/detail/{alias}")
        )
    elif alias.startswith("GHSA-"):
        source = VulnerabilitySource(
            name="GitHub", url=XsUri(f"https://github.com/advisories/{alias}")
        )
    else:
        source = VulnerabilitySource(name="OSV", url=XsUri(osv_url(alias)))
    return VulnerabilityReference(id=alias, source=source)


def _advisories(urls: list[str]) -> list[VulnerabilityAdvisory]:
    out: list[VulnerabilityAdvisory] = []
    for url in urls:
        try:
            out.append(VulnerabilityAdvisory(url=XsUri(url)))
        except InvalidUriException:
            # A malformed reference URL in an advisory record must not cost the whole SBOM;
            # the vulnerability still links to its OSV page through `source`.
            continue
    return out


def _recommendation(group: list[Finding]) -> str:
    lines: list[str] = []
    for f in group:
        c = f.component
        if f.fixed_versions:
            lines.append(
                f"Upgrade {c.name} {c.version} to a fixed version: {', '.join(f.fixed_versions)}."
            )
        else:
            lines.append(f"No fixed version of {c.name} is published.")
    return " ".join(dict.fromkeys(lines))


def _latest(records: Iterable[tuple[tuple[str, str], ...]]) -> datetime | None:
    latest: datetime | None = None
    for group in records:
        for _, modified in group:
            try:
                when = datetime.fromisoformat(modified)
            except ValueError:
                continue
            if when.tzinfo is None:
                continue
            if latest is None or when > latest:
                latest = when
    return latest
