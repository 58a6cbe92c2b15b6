"""Package deltas: every package two readings of a lockfile disagree on, with its level.

The readings come from the real readers in `patchpilot.sources` (the same code a scan uses),
applied to the lockfile before and after a fix, and `read_lock_at` reads one as it is at a git
revision. Every added, removed or changed package counts, transitive ones included. A name
locked at several versions (uv's forked resolutions, npm's nested copies) is paired version by
version: identical versions cancel out, then versions on the same major line pair up, then
what is left pairs in version order; the rest is added or removed.

Levels of upgrades are the plan's own (`planning.levels.upgrade_level`: PEP 440 release
components for PyPI, caret-style SemVer for the others, so `0.x` minors are majors there);
`downgrade` when the new version sorts lower in the ecosystem's order (`advisories.versions`);
`unknown` when a version is not one the scheme can read.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from patchpilot.advisories import versions
from patchpilot.deliver.git import show_file
from patchpilot.errors import SourceError
from patchpilot.fixers.changeset import DeltaLevel, PackageDelta
from patchpilot.model import Component, Ecosystem, Inventory, Location, SourceResult
from patchpilot.planning.levels import UpgradeLevel, upgrade_level
from patchpilot.sources.interface import Source

Reading = Inventory | SourceResult


def change_level(ecosystem: Ecosystem, before: str | None, after: str | None) -> DeltaLevel | None:
    """The level of a change from `before` to `after` (None for a side where it is absent).

    None when both sides name the same version (or are both absent). Upgrades are classified
    by `planning.levels.upgrade_level`, so a plan and the deltas it causes agree.
    """
    if before is None or after is None:
        if before == after:
            return None
        return DeltaLevel.ADDED if before is None else DeltaLevel.REMOVED
    scheme = versions.scheme_for(ecosystem)
    old_key, new_key = versions.key(scheme, before), versions.key(scheme, after)
    if old_key is None or new_key is None:
        return None if before == after else DeltaLevel.UNKNOWN
    if old_key == new_key:
        return None
    if new_key < old_key:
        return DeltaLevel.DOWNGRADE
    try:
        level = upgrade_level(ecosystem, before, after)
    except ValueError:
        return DeltaLevel.UNKNOWN
    return _LEVELS[level]


_LEVELS: dict[UpgradeLevel, DeltaLevel | None] = {
    UpgradeLevel.NONE: None,
    UpgradeLevel.PATCH: DeltaLevel.PATCH,
    UpgradeLevel.MINOR: DeltaLevel.MINOR,
    UpgradeLevel.MAJOR: DeltaLevel.MAJOR,
}


def _same_line(ecosystem: Ecosystem, a: str, b: str) -> bool:
    """Whether moving between `a` and `b` stays on one major line (either direction)."""
    try:
        return upgrade_level(ecosystem, a, b) is not UpgradeLevel.MAJOR
    except ValueError:
        return False


def package_deltas(before: Reading | None, after: Reading | None) -> tuple[PackageDelta, ...]:
    """Every package added, removed or changed from `before` to `after` (None: no lockfile)."""
    old = _index(before)
    new = _index(after)
    deltas: list[PackageDelta] = []
    for key in sorted(old.keys() | new.keys()):
        ecosystem, _ = key
        was = old.get(key, {})
        now = new.get(key, {})
        for prev, nxt in _pairs(ecosystem, was.keys() - now.keys(), now.keys() - was.keys()):
            level = change_level(ecosystem, prev, nxt)
            if level is None:
                continue
            component = now[nxt] if nxt is not None else was[prev or ""]
            deltas.append(
                PackageDelta(
                    ecosystem=ecosystem,
                    name=component.name,
                    before=prev,
                    after=nxt,
                    level=level,
                    direct=component.direct,
                )
            )
    return tuple(deltas)


def _index(reading: Reading | None) -> dict[tuple[Ecosystem, str], dict[str, Component]]:
    out: dict[tuple[Ecosystem, str], dict[str, Component]] = {}
    if reading is None:
        return out
    for c in reading.components:
        by_version = out.setdefault((c.ecosystem, c.name), {})
        # A name listed twice at one version (several files of an inventory) is direct if
        # any listing says so.
        if c.version not in by_version or c.direct:
            by_version[c.version] = c
    return out


def _pairs(
    ecosystem: Ecosystem, gone: Iterable[str], came: Iterable[str]
) -> list[tuple[str | None, str | None]]:
    scheme = versions.scheme_for(ecosystem)
    olds = sorted(gone, key=lambda v: versions.sort_key(scheme, v))
    news = sorted(came, key=lambda v: versions.sort_key(scheme, v))
    pairs: list[tuple[str | None, str | None]] = []
    for prev in list(olds):
        match = next((n for n in news if _same_line(ecosystem, prev, n)), None)
        if match is not None:
            pairs.append((prev, match))
            olds.remove(prev)
            news.remove(match)
    pairs += list(zip(olds, news, strict=False))
    pairs += [(prev, None) for prev in olds[len(news) :]]
    pairs += [(None, nxt) for nxt in news[len(olds) :]]
    return sorted(pairs, key=lambda p: versions.sort_key(scheme, p[0] or p[1] or ""))


def read_lock_at(
    repo: Path | str,
    rev: str,
    relpath: str,
    source_cls: type[Source],
    *,
    with_files: Sequence[str] = (),
) -> SourceResult | None:
    """The lockfile `relpath` (relative to the repository root) as it is at `rev`, read by
    `source_cls`; None when the file does not exist at that revision.

    The file is written under its own name in a temporary directory and read there by the
    real reader; `with_files` are further repository paths written beside it first, for
    readers that follow includes. Paths in the result and in errors read `rev:relpath`.
    """
    text = show_file(repo, rev, relpath)
    if text is None:
        return None
    display = f"{rev}:{relpath}"
    with tempfile.TemporaryDirectory(prefix="patchpilot-lock-") as tmp:
        base = Path(tmp)
        for extra in with_files:
            content = show_file(repo, rev, extra)
            if content is not None:
                _materialise(base / extra, content)
        target = base / relpath
        _materialise(target, text)
        try:
            reading = source_cls().read(target)
        except SourceError as e:
            raise SourceError(display, e.place, e.reason) from e
        return _relocate(reading, str(target), display)


def _materialise(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def _relocate(reading: SourceResult, tmp: str, display: str) -> SourceResult:
    """`reading` with the temporary file's path replaced by `rev:relpath` everywhere."""

    def loc(location: Location) -> Location:
        if location.path != tmp:
            return location
        return dataclasses.replace(location, path=display)

    components = tuple(
        dataclasses.replace(c, locations=tuple(loc(x) for x in c.locations))
        for c in reading.components
    )
    skipped = tuple(dataclasses.replace(s, location=loc(s.location)) for s in reading.skipped)
    return dataclasses.replace(
        reading,
        path=display,
        components=components,
        skipped=skipped,
        notes=tuple(n.replace(tmp, display) for n in reading.notes),
    )
