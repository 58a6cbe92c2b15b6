"""Upgrade levels (none / patch / minor / major) by each ecosystem's rules, and the ceiling a
user sets per package with `--upgrade-config [pkg:]major|minor|patch|none`.

PyPI versions are compared on their PEP 440 release tuple: a different epoch or first
component is a major upgrade, a different second component a minor one, and any other
difference (later components, pre-, post- or dev-release, local label) a patch. npm, crates.io
and Go use SemVer, read as Cargo and npm's caret (`^`) ranges read it: below 1.0.0 the leftmost
non-zero component is the breaking one, so `0.3.1 → 0.4.0` is a major upgrade, and below 0.1.0
every change is (`0.0.3 → 0.0.4` is major); from 1.0.0 on, major / minor / patch are the three
components, and a change in pre-release only is a patch. Build metadata never counts.

A ceiling allows every level up to and including itself; `none` allows no upgrade at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from packaging.version import Version

from patchpilot.advisories import versions
from patchpilot.errors import UsageError
from patchpilot.model import Ecosystem, normalize_name


class UpgradeLevel(StrEnum):
    """How far an upgrade moves, or how far a ceiling lets it move; ordered by `rank`."""

    NONE = "none"
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, level: UpgradeLevel) -> bool:
        """Whether this ceiling lets an upgrade of `level` through."""
        return level.rank <= self.rank


_RANK = {UpgradeLevel.NONE: 0, UpgradeLevel.PATCH: 1, UpgradeLevel.MINOR: 2, UpgradeLevel.MAJOR: 3}


def upgrade_level(ecosystem: Ecosystem, old: str, new: str) -> UpgradeLevel:
    """The level of moving from `old` to `new` (either direction) by `ecosystem`'s rules.

    Equal versions (`1.0` and `1.0.0` in PEP 440, `1.0.0+a` and `1.0.0+b` in SemVer) are
    `none`. Raises `versions.VersionError` (a `ValueError`) when either is not a version of the
    ecosystem's scheme; callers pass versions they have already parsed.
    """
    before = versions.parse_version(ecosystem, old)
    after = versions.parse_version(ecosystem, new)
    if isinstance(before, Version) and isinstance(after, Version):
        return _pep440_level(before, after)
    if isinstance(before, Version) or isinstance(after, Version):  # one scheme reads both
        raise versions.VersionError("mixed", f"{old} / {new}")
    scheme = versions.scheme_for(ecosystem)
    same = versions.key(scheme, old) == versions.key(scheme, new)
    b = (before.major, before.minor, before.patch)
    a = (after.major, after.minor, after.patch)
    if b == a:
        return UpgradeLevel.NONE if same else UpgradeLevel.PATCH
    if b[0] != a[0]:
        return UpgradeLevel.MAJOR
    if b[0] == 0:
        # Caret semantics: 0.y is its own major line, and so is every 0.0.z.
        if b[1] != a[1] or b[1] == 0:
            return UpgradeLevel.MAJOR
        return UpgradeLevel.PATCH
    return UpgradeLevel.MINOR if b[1] != a[1] else UpgradeLevel.PATCH


def _pep440_level(before: Version, after: Version) -> UpgradeLevel:
    if before == after:
        return UpgradeLevel.NONE
    if before.epoch != after.epoch:
        return UpgradeLevel.MAJOR
    width = max(len(before.release), len(after.release), 2)
    b = before.release + (0,) * (width - len(before.release))
    a = after.release + (0,) * (width - len(after.release))
    if b[0] != a[0]:
        return UpgradeLevel.MAJOR
    if b[1] != a[1]:
        return UpgradeLevel.MINOR
    return UpgradeLevel.PATCH


@dataclass(frozen=True, slots=True)
class UpgradeConfig:
    """Upgrade ceilings: one for every package (`default`) and some per package.

    `packages` keeps the names as the user wrote them, in order; they are normalised by the
    ecosystem asked about, so `PyYAML:patch` applies to PyPI's `pyyaml` and `Zope.Interface`
    to `zope-interface`. A name applies in every ecosystem that spells it the same way.
    """

    default: UpgradeLevel = UpgradeLevel.MAJOR
    packages: tuple[tuple[str, UpgradeLevel], ...] = ()

    def ceiling(self, ecosystem: Ecosystem, name: str) -> UpgradeLevel:
        """The highest upgrade level allowed for the package; per-package entries win over the
        default, and among entries naming the same package the later one wins."""
        wanted = normalize_name(ecosystem, name)
        found = self.default
        for configured, level in self.packages:
            if normalize_name(ecosystem, configured) == wanted:
                found = level
        return found

    def allows(self, ecosystem: Ecosystem, name: str, level: UpgradeLevel) -> bool:
        """Whether an upgrade of `level` is within the package's ceiling."""
        return self.ceiling(ecosystem, name).allows(level)


def parse_upgrade_config(values: Sequence[str]) -> UpgradeConfig:
    """Read repeated `--upgrade-config` values (`minor`, `pyyaml:patch`, `@babel/core:none`).

    A bare level sets the default ceiling (the last one given wins); `name:level` sets one
    package's. Levels are case-insensitive. An unknown level, an empty name or a name with
    white space raises `UsageError` naming the value.
    """
    default = UpgradeLevel.MAJOR
    packages: list[tuple[str, UpgradeLevel]] = []
    for value in values:
        text = value.strip()
        name, sep, level_text = text.rpartition(":")
        level = _level(value, level_text)
        if not sep:
            default = level
            continue
        name = name.strip()
        if not name:
            raise UsageError(f"--upgrade-config {value!r}: the package name before ':' is empty")
        if any(ch.isspace() or not ch.isprintable() for ch in name):
            raise UsageError(
                f"--upgrade-config {value!r}: {name!r} is not a package name (white space "
                "or control characters)"
            )
        packages.append((name, level))
    return UpgradeConfig(default=default, packages=tuple(packages))


def _level(value: str, text: str) -> UpgradeLevel:
    try:
        return UpgradeLevel(text.strip().lower())
    except ValueError:
        choices = "|".join(level.value for level in reversed(UpgradeLevel))
        raise UsageError(
            f"--upgrade-config {value!r}: {text.strip()!r} is not an upgrade level; "
            f"expected [package:]{choices}"
        ) from None
