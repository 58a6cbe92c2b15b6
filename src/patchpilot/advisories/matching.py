"""Matching: which advisories affect a component, merged into one finding per vulnerability.

`is_affected` is the OSV schema's evaluation algorithm ("Evaluation" in the spec): a version is
affected when it is listed in `versions` or lies in any `ECOSYSTEM` or `SEMVER` range. A range
is walked event by event in version order — `introduced` turns "vulnerable" on, `fixed` (at or
above) and `last_affected` (strictly above) turn it off — and only counts below one of its
`limit` events when it has any. `GIT` ranges name commits, not versions, and are ignored here.

Choices the spec leaves open, made explicit:
- Events are sorted by version with a stable sort, so two events at the same version keep the
  record's order (`fixed: 1.0` then `introduced: 1.0` re-opens at 1.0; `introduced: 1.0` then
  `fixed: 1.0` is an empty range).
- An event whose version cannot be read in the range's scheme is dropped from the range; a
  dropped `fixed` leaves the range open, which errs towards reporting.
- A component version the ecosystem cannot parse still matches a `versions` list (by text), but
  no range: ordering it against the range's versions is impossible.
- `versions` entries match by text, or by the component version's canonical spelling in its
  scheme (PEP 440 `3.010` is `3.10`; SemVer `v1.2.3` is `1.2.3`).
- Withdrawn records never match.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from patchpilot.advisories import aliases, versions
from patchpilot.advisories.osv import ecosystem_of, timestamp_key
from patchpilot.advisories.severity import severity_of
from patchpilot.advisories.versions import Scheme, VersionKey
from patchpilot.model import (
    Advisory,
    Affected,
    Component,
    Ecosystem,
    Event,
    Finding,
    Range,
    Reference,
)

VERSION_RANGE_TYPES = ("ECOSYSTEM", "SEMVER")


def is_affected(affected: Affected, ecosystem: Ecosystem, version: str) -> bool:
    """Whether `version` of the package `affected` describes is affected by it.

    The caller has checked that `affected` names the package; `ecosystem` selects the version
    scheme (PEP 440 for PyPI, SemVer for npm, crates.io and Go).
    """
    if _in_versions(affected.versions, ecosystem, version):
        return True
    for rng in affected.ranges:
        if rng.type not in VERSION_RANGE_TYPES:
            continue
        scheme = versions.scheme_for(ecosystem, rng.type)
        here = versions.key(scheme, version)
        if here is not None and _in_range(_prepared(rng, scheme), here):
            return True
    return False


def names_package(affected: Affected, component: Component) -> bool:
    """Whether an `affected[]` entry is about the component's package."""
    return (
        affected.name == component.name and ecosystem_of(affected.ecosystem) is component.ecosystem
    )


def findings_for(component: Component, advisories: Iterable[Advisory]) -> list[Finding]:
    """The findings for `component`: one per vulnerability, its records merged by alias.

    - Only records that affect the component count (not withdrawn, an `affected[]` entry for
      its package whose versions or ranges hold its version). A record seen twice counts once,
      its newest `modified` winning.
    - Records are merged when their IDs (`id` + `aliases`, never `related`) meet, transitively
      (see `advisories.aliases`).
    - `id` is the primary ID by the rule in `advisories.aliases`: an ID of the ecosystem's own
      database (PYSEC for PyPI, GO for Go, RUSTSEC for crates.io) first, then GHSA, then CVE,
      then any other, the lowest ID (numbers compared as numbers) breaking ties. `aliases` are
      every other ID of the merged records and of their aliases, sorted the same way.
    - `fixed_versions` are the `fixed` events of the version ranges of every entry for this
      package in the merged records (a record listing the package once per range contributes
      each range's fix), deduplicated and in version order; fixes that are not valid versions
      of the ecosystem are left out, since no upgrade can target them.
    - `summary` is the primary record's, else the first non-empty summary of the merged records
      (in primary-ID order), else the first non-empty line of their details.
    - `references` are merged in that order, a URL kept once; `records` are each matched
      record's `(id, modified)`, sorted by ID; severity comes from `severity.severity_of`.
    """
    matched: dict[str, Advisory] = {}
    for advisory in advisories:
        if advisory.withdrawn:
            continue
        entries = [a for a in advisory.affected if names_package(a, component)]
        if not any(is_affected(a, component.ecosystem, component.version) for a in entries):
            continue
        known = matched.get(advisory.id)
        if known is None or _modified_key(advisory) > _modified_key(known):
            matched[advisory.id] = advisory
    ordered = sorted(matched.values(), key=lambda a: aliases.id_rank(component.ecosystem, a.id))
    findings = [_finding(component, records) for records in aliases.group(ordered)]
    return sorted(findings, key=lambda f: aliases.id_rank(component.ecosystem, f.id))


def _finding(component: Component, records: Sequence[Advisory]) -> Finding:
    ecosystem = component.ecosystem
    all_ids: set[str] = set()
    for record in records:
        all_ids |= aliases.ids_of(record)
    primary = aliases.primary_id(ecosystem, all_ids)
    others = sorted(all_ids - {primary}, key=lambda i: aliases.id_rank(ecosystem, i))
    # The primary record (when the group holds it) leads; the rest follow in primary-ID order.
    records = sorted(records, key=lambda r: (r.id != primary, aliases.id_rank(ecosystem, r.id)))
    return Finding(
        id=primary,
        aliases=tuple(others),
        component=component,
        severity=severity_of(records),
        fixed_versions=_fixed_versions(component, records),
        summary=_summary(records),
        references=_references(records),
        records=tuple(sorted((r.id, r.modified) for r in records)),
    )


def _fixed_versions(component: Component, records: Sequence[Advisory]) -> tuple[str, ...]:
    scheme = versions.scheme_for(component.ecosystem)
    seen: dict[str, VersionKey] = {}
    for record in records:
        for entry in record.affected:
            if not names_package(entry, component):
                continue
            for rng in entry.ranges:
                if rng.type not in VERSION_RANGE_TYPES:
                    continue
                for event in rng.events:
                    if event.fixed is None or event.fixed in seen:
                        continue
                    fix_key = versions.key(scheme, event.fixed)
                    if fix_key is not None:
                        seen[event.fixed] = fix_key
    # Spellings of one version (`1.0` and `1.0.0`) collapse to the first seen.
    unique: dict[VersionKey, str] = {}
    for text, fix_key in seen.items():
        unique.setdefault(fix_key, text)
    return tuple(unique[k] for k in sorted(unique))


def _summary(records: Sequence[Advisory]) -> str:
    for record in records:
        if record.summary.strip():
            return record.summary.strip()
    for record in records:
        for line in record.details.splitlines():
            if line.strip():
                return line.strip()
    return ""


def _references(records: Sequence[Advisory]) -> tuple[Reference, ...]:
    # One URL once, under the type its first mention gives it (databases disagree on types).
    seen: dict[str, Reference] = {}
    for record in records:
        for ref in record.references:
            seen.setdefault(ref.url, ref)
    return tuple(seen.values())


def _modified_key(advisory: Advisory) -> str:
    try:
        return timestamp_key(advisory.modified)
    except ValueError:
        return ""


def _in_versions(listed: tuple[str, ...], ecosystem: Ecosystem, version: str) -> bool:
    if not listed:
        return False
    if version in listed:
        return True
    normal = versions.canonical(versions.scheme_for(ecosystem), version)
    return normal is not None and normal != version and normal in listed


# (version key, event kind) pairs in evaluation order, and the range's limits (empty: none).
_Prepared = tuple[tuple[tuple[VersionKey, str], ...], tuple[VersionKey, ...]]


@lru_cache(maxsize=1 << 15)
def _prepared(rng: Range, scheme: Scheme) -> _Prepared:
    events: list[tuple[VersionKey, str]] = []
    limits: list[VersionKey] = []
    for event in rng.events:
        found = _kind_and_text(event)
        if found is None:
            continue
        kind, text = found
        event_key = versions.event_key(scheme, kind, text)
        if event_key is None:
            continue
        if kind == "limit":
            limits.append(event_key)
        else:
            events.append((event_key, kind))
    events.sort(key=lambda pair: pair[0])  # stable: ties keep the record's order
    return tuple(events), tuple(limits)


def _in_range(prepared: _Prepared, here: VersionKey) -> bool:
    events, limits = prepared
    if limits and not any(here < limit for limit in limits):
        return False
    vulnerable = False
    for event_key, kind in events:
        if kind == "introduced":
            if here >= event_key:
                vulnerable = True
        elif kind == "fixed":
            if here >= event_key:
                vulnerable = False
        elif here > event_key:  # last_affected
            vulnerable = False
    return vulnerable


def _kind_and_text(event: Event) -> tuple[str, str] | None:
    for kind, value in (
        ("introduced", event.introduced),
        ("fixed", event.fixed),
        ("last_affected", event.last_affected),
        ("limit", event.limit),
    ):
        if value is not None:
            return kind, value
    return None
