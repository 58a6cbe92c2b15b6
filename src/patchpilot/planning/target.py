"""The choice of one target version per vulnerable component, with a reason for every refusal.

`choose_target` lists the component's releases from a `PackageIndex` and keeps as candidates
those newer than the current version that are not yanked (npm: deprecated), not pre-releases
(unless the current version is one) and within the user's upgrade ceiling. Going up from the
smallest, it re-queries the advisory store at each candidate (a copy of the component at that
version, matched by `matching.findings_for`): the target is the first candidate where none of
the current findings is left and no new one appears, and that is not younger than
`--min-release-age` (an unknown upload date does not refuse). Findings are compared by every
ID they are known by, since alias merging can pick another primary ID at another version.

Everything refused is said in `reasons`, grouped by identical wording in version order
(`5.4b1, 5.4b2: pre-release`). When nothing works, `none_reason` says why, in plain words, and
`mitigations` carries any workaround text the advisories give (a `Workarounds` or `Mitigation`
section of `details`, or such a key in `database_specific`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from packaging.version import Version

from patchpilot.advisories import versions
from patchpilot.advisories.matching import findings_for
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.advisories.versions import VersionKey
from patchpilot.model import Advisory, Component, Ecosystem, Finding, make_purl
from patchpilot.planning.index import PackageIndex, Release
from patchpilot.planning.levels import UpgradeConfig, UpgradeLevel, upgrade_level

# A group of refused versions longer than this is shortened in its reason line.
_GROUP_SHOWN = 6
_IDS_SHOWN = 5
_MITIGATION_CHARS = 2000


class ReleaseAge(StrEnum):
    """The release-age check of a target: old enough, too young, or no upload date known."""

    OK = "ok"
    TOO_YOUNG = "too-young"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Mitigation:
    """Workaround text an advisory record gives for a finding."""

    finding_id: str
    record_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """One release newer than the current version that was not chosen, and why."""

    version: str
    reason: str


@dataclass(frozen=True, slots=True)
class TargetChoice:
    """The version one component should move to, or why there is none.

    - `finding_ids`: the component's findings this choice is about.
    - `target`: the smallest acceptable version, None when there is none; `level` is the
      upgrade level of current → target (`none` without a target), `ceiling` the one allowed.
    - `newest_in_major`: the newest release in the current version's major line (by the
      ecosystem's level rules, so `0.3.x` for SemVer `0.3.1`), not yanked, for comparison.
    - `fixed` / `introduced`: finding IDs the target fixes (all of them) and new finding IDs
      at the target (none); both empty without a target.
    - `release_age` / `released`: the release-age check of the target and its upload date;
      without a target, `too-young` with the date of the first release that fixed everything
      but was too young, else `unknown` with no date.
    - `reasons`: every refused candidate class in plain words, in version order; `refused`
      holds the same one entry per version.
    - `none_reason`: why there is no target (None when there is one).
    - `mitigations`: workaround text from the findings' advisories, whether or not there is a
      target.
    """

    component: Component
    finding_ids: tuple[str, ...]
    target: str | None
    level: UpgradeLevel
    ceiling: UpgradeLevel
    newest_in_major: str | None
    fixed: tuple[str, ...]
    introduced: tuple[str, ...]
    release_age: ReleaseAge
    released: datetime | None
    reasons: tuple[str, ...]
    none_reason: str | None
    refused: tuple[Refusal, ...] = ()
    mitigations: tuple[Mitigation, ...] = ()


def choose_target(
    component: Component,
    findings: Sequence[Finding],
    *,
    store: AdvisoryStore,
    index: PackageIndex,
    config: UpgradeConfig,
    min_release_age_days: int | None,
    now: datetime,
) -> TargetChoice:
    """Choose the target version of `component` that fixes all of `findings` (see the module).

    `now` is the reference time of the release-age check (a naive time is read as UTC).
    Raises `IndexLookupError` when the index cannot list the package, and `StoreError` when
    the store cannot be read; everything else is answered as data.
    """
    ecosystem = component.ecosystem
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    advisories = store.lookup(ecosystem, component.name)
    ceiling = config.ceiling(ecosystem, component.name)
    base = TargetChoice(
        component=component,
        finding_ids=tuple(f.id for f in findings),
        target=None,
        level=UpgradeLevel.NONE,
        ceiling=ceiling,
        newest_in_major=None,
        fixed=(),
        introduced=(),
        release_age=ReleaseAge.UNKNOWN,
        released=None,
        reasons=(),
        none_reason=None,
        mitigations=_mitigations(findings, advisories),
    )
    scheme = versions.scheme_for(ecosystem)
    current_key = versions.key(scheme, component.version)
    if current_key is None:
        return replace(
            base,
            none_reason=f"the current version {component.version!r} is not a valid "
            f"{scheme.value} version",
        )
    if not findings:
        return replace(
            base, none_reason=f"{component.name} {component.version} has no findings to fix"
        )
    if not index.supports(ecosystem):
        return replace(
            base, none_reason=f"no package index lists {ecosystem.value} packages to upgrade to"
        )
    releases = index.releases(ecosystem, component.name)
    allow_pre = _is_prerelease(ecosystem, component.version)
    base = replace(
        base, newest_in_major=_newest_in_major(ecosystem, component.version, releases, allow_pre)
    )
    screen = _screen(component, releases, ceiling, current_key, allow_pre)
    requery = _Requery(component, findings, advisories)
    for release_key, release, level in screen.candidates:
        still, new = requery.at(release.version)
        if still or new:
            screen.refused.add(release_key, release.version, _open_words(still, new))
            screen.last_open = (release.version, still, new)
            continue
        age, words = _age(release, min_release_age_days, now)
        if age is ReleaseAge.TOO_YOUNG:
            screen.refused.add(release_key, release.version, words)
            screen.first_young = screen.first_young or release
            continue
        return replace(
            base,
            target=release.version,
            level=level,
            fixed=base.finding_ids,
            release_age=age,
            released=release.uploaded,
            reasons=screen.refused.lines(),
            refused=screen.refused.entries(),
        )
    choice = replace(
        base,
        reasons=screen.refused.lines(),
        refused=screen.refused.entries(),
        none_reason=_none_reason(base, screen, requery, min_release_age_days),
    )
    if screen.first_young is not None:
        choice = replace(
            choice, release_age=ReleaseAge.TOO_YOUNG, released=screen.first_young.uploaded
        )
    return choice


_Candidate = tuple[VersionKey, Release, UpgradeLevel]


@dataclass(slots=True)
class _Screen:
    """The releases newer than the current version, sorted into candidates and refusals."""

    refused: _Refusals
    candidates: list[_Candidate] = field(default_factory=list)
    over_ceiling: list[_Candidate] = field(default_factory=list)
    newer: int = 0
    first_young: Release | None = None
    last_open: tuple[str, tuple[str, ...], tuple[str, ...]] | None = None


def _screen(
    component: Component,
    releases: Sequence[Release],
    ceiling: UpgradeLevel,
    current_key: VersionKey,
    allow_pre: bool,
) -> _Screen:
    ecosystem = component.ecosystem
    scheme = versions.scheme_for(ecosystem)
    screen = _Screen(_Refusals())
    for release in releases:
        release_key = versions.key(scheme, release.version)
        if release_key is None or release_key <= current_key:
            continue
        screen.newer += 1
        if release.yanked:
            screen.refused.add(release_key, release.version, _yank_words(ecosystem, release))
            continue
        if not allow_pre and _is_prerelease(ecosystem, release.version):
            screen.refused.add(release_key, release.version, "pre-release")
            continue
        level = upgrade_level(ecosystem, component.version, release.version)
        if not ceiling.allows(level):
            why = f"{level.value} upgrade, above the ceiling {ceiling.value} for {component.name}"
            screen.refused.add(release_key, release.version, why)
            screen.over_ceiling.append((release_key, release, level))
            continue
        screen.candidates.append((release_key, release, level))
    screen.candidates.sort(key=lambda c: c[0])
    screen.over_ceiling.sort(key=lambda c: c[0])
    return screen


def _none_reason(
    base: TargetChoice, screen: _Screen, requery: _Requery, min_release_age_days: int | None
) -> str:
    name = base.component.name
    current = base.component.version
    ceiling = base.ceiling.value
    parts: list[str] = []
    if base.ceiling is UpgradeLevel.NONE:
        parts.append(f"upgrades of {name} are turned off (upgrade ceiling none)")
    elif screen.newer == 0:
        parts.append(f"no release of {name} newer than {current} is published")
    elif not screen.candidates:
        parts.append(
            f"no release of {name} newer than {current} is within the ceiling {ceiling} "
            "and neither yanked nor a pre-release"
        )
    elif screen.first_young is not None:
        young = screen.first_young
        parts.append(
            f"every release of {name} within the ceiling {ceiling} that fixes all findings is "
            f"younger than --min-release-age {min_release_age_days} days (the first, "
            f"{young.version}, was released {_date(young.uploaded)})"
        )
    elif screen.last_open is not None:
        version, still, new = screen.last_open
        parts.append(
            f"no release of {name} within the ceiling {ceiling} fixes every finding without "
            f"a new one (the newest candidate, {version}, is {_open_words(still, new)})"
        )
    unfixed = [finding_id for finding_id, fixes in requery.fixes if not fixes]
    if unfixed:
        parts.append(f"no fixed version is published in the advisories for {', '.join(unfixed)}")
    for _, release, level in screen.over_ceiling:
        still, new = requery.at(release.version)
        if not still and not new:
            parts.append(
                f"{release.version} would fix every finding but is a {level.value} upgrade, "
                f"above the ceiling {ceiling} for {name}"
            )
            break
    if base.mitigations:
        parts.append("the advisories describe a mitigation")
    return "; ".join(parts)


class _Requery:
    """Findings of the component at other versions, compared by every ID they carry."""

    def __init__(
        self, component: Component, findings: Sequence[Finding], advisories: Sequence[Advisory]
    ) -> None:
        self.component = component
        self.advisories = advisories
        self.current = [(f.id, _ids(f)) for f in findings]
        self.fixes = [(f.id, f.fixed_versions) for f in findings]
        # Findings at the current version that the caller left out (ignored ones, say) were
        # there before: meeting them again at a candidate is not "introducing" them.
        self.known: set[str] = set()
        for finding in (*findings, *findings_for(component, advisories)):
            self.known |= _ids(finding)
        self._memo: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def at(self, version: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(current finding IDs still open, IDs of new findings) at `version`."""
        known = self._memo.get(version)
        if known is not None:
            return known
        c = self.component
        candidate = replace(c, version=version, purl=make_purl(c.ecosystem, c.name, version))
        found = findings_for(candidate, self.advisories)
        still = tuple(fid for fid, ids in self.current if any(ids & _ids(other) for other in found))
        new = tuple(other.id for other in found if not _ids(other) & self.known)
        self._memo[version] = (still, new)
        return still, new


def _ids(finding: Finding) -> set[str]:
    return {finding.id, *finding.aliases}


class _Refusals:
    """Refused versions with their reason, rendered as one line per reason in version order."""

    def __init__(self) -> None:
        self._items: list[tuple[VersionKey, str, str]] = []

    def add(self, key: VersionKey, version: str, why: str) -> None:
        self._items.append((key, version, why))

    def entries(self) -> tuple[Refusal, ...]:
        ordered = sorted(self._items, key=lambda item: item[0])
        return tuple(Refusal(version, why) for _, version, why in ordered)

    def lines(self) -> tuple[str, ...]:
        groups: dict[str, list[str]] = {}
        for refusal in self.entries():
            groups.setdefault(refusal.reason, []).append(refusal.version)
        return tuple(f"{_version_list(found)}: {why}" for why, found in groups.items())


def _version_list(found: list[str]) -> str:
    if len(found) <= _GROUP_SHOWN:
        return ", ".join(found)
    head = ", ".join(found[: _GROUP_SHOWN - 2])
    return f"{head}, … {found[-1]} ({len(found)} versions)"


def _yank_words(ecosystem: Ecosystem, release: Release) -> str:
    word = "deprecated" if ecosystem is Ecosystem.NPM else "yanked"
    if not release.yanked_reason:
        return word
    reason = " ".join(release.yanked_reason.split())
    if len(reason) > 160:
        reason = reason[:159] + "…"
    return f"{word} ({reason})"


def _open_words(still: Sequence[str], new: Sequence[str]) -> str:
    words = []
    if still:
        words.append(f"still affected by {_id_list(still)}")
    if new:
        words.append(f"introduces {_id_list(new)}")
    return "; ".join(words)


def _id_list(ids: Sequence[str]) -> str:
    if len(ids) <= _IDS_SHOWN:
        return ", ".join(ids)
    return f"{', '.join(ids[: _IDS_SHOWN - 1])}, … ({len(ids)} in all)"


def _age(release: Release, minimum_days: int | None, now: datetime) -> tuple[ReleaseAge, str]:
    if release.uploaded is None:
        return ReleaseAge.UNKNOWN, "release date unknown"
    if minimum_days is None:
        return ReleaseAge.OK, ""
    age = now - release.uploaded
    if age >= timedelta(days=minimum_days):
        return ReleaseAge.OK, ""
    when = _date(release.uploaded)
    if age < timedelta(0):
        # Grouped under one wording: the dates of releases after `now` say nothing useful.
        return ReleaseAge.TOO_YOUNG, "released after the time of this plan"
    days = age.days
    ago = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
    return (
        ReleaseAge.TOO_YOUNG,
        f"released {ago} ({when}), younger than --min-release-age {minimum_days}",
    )


def _date(moment: datetime | None) -> str:
    return "on an unknown date" if moment is None else moment.date().isoformat()


def _is_prerelease(ecosystem: Ecosystem, text: str) -> bool:
    parsed = versions.parse_version(ecosystem, text)
    if isinstance(parsed, Version):
        return parsed.is_prerelease
    return parsed.prerelease is not None


def _newest_in_major(
    ecosystem: Ecosystem, current: str, releases: Sequence[Release], allow_pre: bool
) -> str | None:
    scheme = versions.scheme_for(ecosystem)
    best: tuple[VersionKey, str] | None = None
    for release in releases:
        release_key = versions.key(scheme, release.version)
        if release_key is None or release.yanked:
            continue
        if not allow_pre and _is_prerelease(ecosystem, release.version):
            continue
        if upgrade_level(ecosystem, current, release.version) is UpgradeLevel.MAJOR:
            continue
        if best is None or release_key > best[0]:
            best = (release_key, release.version)
    return None if best is None else best[1]


# A Markdown heading (or a line in bold) that opens a workaround section.
_SECTION = re.compile(
    r"^(?:#{1,6}[ \t]*|\*\*)[ \t]*(?:workarounds?|mitigations?)\b[^\n]*$", re.IGNORECASE | re.M
)
_NEXT_SECTION = re.compile(r"^(?:#{1,6}[ \t]|\*\*[^\n]+\*\*:?[ \t]*$)", re.M)
# Texts that say there is no workaround, in the ways advisories put it.
_NOTHING = re.compile(
    r"^(?:none|no|n/?a|unknown|not applicable)\b|\bno (?:\w+ )?(?:workarounds?|mitigations?)\b",
    re.IGNORECASE,
)
# GitHub's advisory template keeps its italic prompt line inside the section.
_PROMPT = re.compile(r"^_[^\n]*\?_[ \t]*$", re.M)
_KEY = re.compile(r"workaround|mitigation", re.IGNORECASE)


def _mitigations(
    findings: Sequence[Finding], advisories: Sequence[Advisory]
) -> tuple[Mitigation, ...]:
    by_id: dict[str, Advisory] = {a.id: a for a in advisories}
    found: list[Mitigation] = []
    for finding in findings:
        # The primary record first, then the others of the merged group.
        record_ids = sorted((r for r, _ in finding.records), key=lambda r: r != finding.id)
        for record_id in record_ids:
            advisory = by_id.get(record_id)
            text = mitigation_text(advisory, finding.component.name) if advisory else None
            if text:
                found.append(Mitigation(finding.id, record_id, text))
                break
    return tuple(found)


def mitigation_text(advisory: Advisory, name: str) -> str | None:
    """The workaround an advisory gives for package `name` (normalised), if any.

    The body of a `Workarounds`/`Mitigation(s)` section of `details` (a Markdown heading or a
    bold line opens it, the next one closes it), else a string under a `database_specific`
    key naming a workaround or mitigation in the package's `affected[]` entries. A section
    that only says there is none ("None", "There are no known workarounds") does not count.
    Long texts are cut at 2,000 characters.
    """
    texts: list[str] = []
    match = _SECTION.search(advisory.details)
    if match is not None:
        rest = advisory.details[match.end() :]
        following = _NEXT_SECTION.search(rest)
        texts.append(rest[: following.start()] if following else rest)
    specific: list[dict[str, object]] = [
        entry.database_specific for entry in advisory.affected if entry.name == name
    ]
    for table in specific:
        for key, value in table.items():
            if _KEY.search(key):
                texts.extend(_strings(value))
    for raw in texts:
        text = _PROMPT.sub("", raw).strip()
        if text and not _NOTHING.search(text):
            if len(text) > _MITIGATION_CHARS:
                return text[: _MITIGATION_CHARS - 1] + "…"
            return text
    return None


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []
