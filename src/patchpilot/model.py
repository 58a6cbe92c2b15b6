"""The glossary in code: components, advisories, findings and scan results as frozen values.

Every step of the flow passes these forward and never mutates them. What could not be done is
data too (`Skipped`), never a silent `None`. Names are normalised once, when a component or an
advisory is built, with `normalize_name`; everything downstream compares normalised names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType

from packageurl import PackageURL
from packaging.utils import canonicalize_name

NormalizedName = NewType("NormalizedName", str)
AdvisoryId = NewType("AdvisoryId", str)


class Ecosystem(StrEnum):
    """Ecosystems patchpilot reads and matches; values are the OSV ecosystem names."""

    PYPI = "PyPI"
    NPM = "npm"
    GO = "Go"
    CRATES_IO = "crates.io"

    @property
    def purl_type(self) -> str:
        return _PURL_TYPES[self]

    @classmethod
    def from_osv(cls, name: str) -> Ecosystem | None:
        """The ecosystem an OSV `package.ecosystem` names (`Debian:11`-style suffixes dropped)."""
        base = name.split(":", 1)[0]
        for member in cls:
            if member.value == base:
                return member
        return None

    @classmethod
    def from_purl_type(cls, purl_type: str) -> Ecosystem | None:
        for member, value in _PURL_TYPES.items():
            if value == purl_type.lower():
                return member
        return None


_PURL_TYPES: dict[Ecosystem, str] = {
    Ecosystem.PYPI: "pypi",
    Ecosystem.NPM: "npm",
    Ecosystem.GO: "golang",
    Ecosystem.CRATES_IO: "cargo",
}


def normalize_name(ecosystem: Ecosystem, name: str) -> NormalizedName:
    """The name under which `ecosystem` considers two spellings the same package.

    PyPI: PEP 503 (case, runs of `-_.`); npm and crates.io: case-insensitive; Go module paths
    are case-sensitive and kept as written.
    """
    name = name.strip()
    if ecosystem is Ecosystem.PYPI:
        return NormalizedName(canonicalize_name(name))
    if ecosystem in (Ecosystem.NPM, Ecosystem.CRATES_IO):
        return NormalizedName(name.lower())
    return NormalizedName(name)


def make_purl(ecosystem: Ecosystem, name: str, version: str | None) -> str:
    """A package URL for a component (`pkg:pypi/jinja2@2.10`, `pkg:npm/%40babel/core@7.0.0`)."""
    namespace: str | None = None
    short = name
    if ecosystem in (Ecosystem.NPM, Ecosystem.GO) and "/" in name:
        namespace, short = name.rsplit("/", 1)
    return str(
        PackageURL(
            type=ecosystem.purl_type, namespace=namespace, name=short, version=version or None
        ).to_string()
    )


class Scope(StrEnum):
    """Whether a component is needed at run time or only to develop/test the project."""

    RUNTIME = "runtime"
    DEV = "dev"


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A place in a file: the manifest line a component is declared on, when known."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return self.path if self.line is None else f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class Component:
    """One resolved package in a project.

    `paths` holds chains of package names from a direct dependency down to this component
    (both ends included), shortest first, where the format records the dependency graph;
    a direct component's path is just its own name. `parents` are the names of the locked
    packages that depend on it directly, for direct components too (the project itself is not
    listed; empty when the format has no graph).
    """

    ecosystem: Ecosystem
    name: NormalizedName
    version: str
    purl: str
    direct: bool
    scope: Scope
    locations: tuple[Location, ...]
    paths: tuple[tuple[str, ...], ...] = ()
    parents: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[Ecosystem, NormalizedName, str]:
        return (self.ecosystem, self.name, self.version)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A dependency that could not be resolved to one version, with the reason why."""

    name: str
    reason: str
    location: Location
    ecosystem: Ecosystem | None = None
    requirement: str | None = None


class SourceKind(StrEnum):
    LOCKFILE = "lockfile"
    MANIFEST = "manifest"
    SBOM = "sbom"


@dataclass(frozen=True, slots=True)
class SourceResult:
    """What one source file yielded: components, what was skipped, and notes for the user.

    `includes` lists further files this one pulled in (requirements `-r`/`-c`), so discovery
    does not read them twice.
    """

    path: str
    format: str
    kind: SourceKind
    components: tuple[Component, ...]
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A file discovery found, and whether it was read or why not (superseded by a lockfile)."""

    path: str
    format: str
    kind: SourceKind
    read: bool
    components: int = 0
    note: str = ""


@dataclass(frozen=True, slots=True)
class Inventory:
    """All components of a scan root, merged across files, plus the skipped and the sources."""

    root: str
    components: tuple[Component, ...]
    skipped: tuple[Skipped, ...]
    sources: tuple[SourceRecord, ...]
    notes: tuple[str, ...] = ()


class SeverityLevel(StrEnum):
    """Qualitative severity, CVSS bands (none < low < medium < high < critical)."""

    UNKNOWN = "unknown"
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def from_score(cls, score: float) -> SeverityLevel:
        if score >= 9.0:
            return cls.CRITICAL
        if score >= 7.0:
            return cls.HIGH
        if score >= 4.0:
            return cls.MEDIUM
        if score > 0.0:
            return cls.LOW
        return cls.NONE


_SEVERITY_RANK = {
    SeverityLevel.NONE: 0,
    SeverityLevel.LOW: 1,
    SeverityLevel.MEDIUM: 2,
    SeverityLevel.HIGH: 3,
    SeverityLevel.CRITICAL: 4,
    # Unknown severity sorts above everything: a threshold never lets an unrated finding pass.
    SeverityLevel.UNKNOWN: 5,
}


@dataclass(frozen=True, slots=True)
class Score:
    """One CVSS vector as an advisory states it, scored by the cvss library."""

    type: str  # OSV severity type: CVSS_V2, CVSS_V3, CVSS_V4
    vector: str
    score: float | None


@dataclass(frozen=True, slots=True)
class Severity:
    """The severity of a finding: the highest CVSS base score, else the database's own label.

    `source` says where `level` came from: `cvss` or `database` or `none`.
    """

    level: SeverityLevel
    score: float | None
    vector: str | None
    source: str
    scores: tuple[Score, ...] = ()


@dataclass(frozen=True, slots=True)
class Reference:
    type: str
    url: str


@dataclass(frozen=True, slots=True)
class Event:
    """One OSV range event; exactly one of the fields is set."""

    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    limit: str | None = None


@dataclass(frozen=True, slots=True)
class Range:
    type: str  # ECOSYSTEM, SEMVER or GIT
    events: tuple[Event, ...]
    repo: str | None = None


@dataclass(frozen=True, slots=True)
class Affected:
    """One `affected[]` entry of an OSV record, the package name normalised."""

    ecosystem: str  # as the record writes it; `Ecosystem.from_osv` maps it
    name: NormalizedName
    raw_name: str
    ranges: tuple[Range, ...]
    versions: tuple[str, ...]
    ecosystem_specific: dict[str, object] = field(default_factory=dict, hash=False)
    database_specific: dict[str, object] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class Advisory:
    """One OSV record as stored; aliases are merged later, per component, into findings."""

    id: AdvisoryId
    modified: str
    published: str | None
    withdrawn: str | None
    aliases: tuple[str, ...]
    related: tuple[str, ...]
    summary: str
    details: str
    severity: tuple[Score, ...]
    database_severity: str | None  # e.g. GHSA `database_specific.severity`: HIGH, MODERATE
    affected: tuple[Affected, ...]
    references: tuple[Reference, ...]
    schema_version: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """A vulnerability affecting a component: one per vulnerability, aliases merged.

    `id` is the primary ID (chosen deterministically, see `advisories.aliases`); `aliases` are
    all other IDs the vulnerability is known by; `records` are the store records that matched,
    each with its `modified` time, so a decision can name exactly what it was based on.
    """

    id: str
    aliases: tuple[str, ...]
    component: Component
    severity: Severity
    fixed_versions: tuple[str, ...]
    summary: str
    references: tuple[Reference, ...]
    records: tuple[tuple[str, str], ...]  # (record id, modified)


# Display order of severities, most severe first. Unrated findings come after the rated ones
# but before `none`: a reader sees real criticals first, and an unknown severity is never shown
# as harmless.
SEVERITY_ORDER: tuple[SeverityLevel, ...] = (
    SeverityLevel.CRITICAL,
    SeverityLevel.HIGH,
    SeverityLevel.MEDIUM,
    SeverityLevel.LOW,
    SeverityLevel.UNKNOWN,
    SeverityLevel.NONE,
)
_SEVERITY_POSITION = {level: i for i, level in enumerate(SEVERITY_ORDER)}


def finding_order(f: Finding) -> tuple[int, str, str, str, str]:
    """Most severe first, then ecosystem, package, version and ID: stable in every output."""
    c = f.component
    return (_SEVERITY_POSITION[f.severity.level], c.ecosystem.value, c.name, c.version, f.id)


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The result of `patchpilot scan`: the inventory and its findings, sorted."""

    inventory: Inventory
    findings: tuple[Finding, ...]
    store: str
    notes: tuple[str, ...] = ()
