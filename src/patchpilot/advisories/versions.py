"""Version parsing and ordering per ecosystem, as OSV ranges need them.

PyPI versions follow PEP 440 (`packaging`); npm, crates.io and Go follow SemVer 2.0
(`python-semver`), read leniently the way their tools do: a leading `v`, a missing minor or patch
(`1.0` is `1.0.0`). Go adds its own spellings: module versions carry a `v` and may end in
`+incompatible` (build metadata, ignored when ordering), pseudo-versions are ordinary SemVer
pre-releases, and the `stdlib`/`toolchain` packages use Go release names (`go1.21`, `1.21rc1`)
that map onto SemVer the way the Go vulnerability database writes them (`1.21.0`,
`1.21.0-rc.1`). `SEMVER`-typed ranges always use SemVer, whatever the ecosystem.

Versions become *keys* that compare with `<`: `(1, parsed)` for a real version, and two
sentinels for the special OSV event values, `MINIMUM` (`introduced: "0"`) below every version and
`MAXIMUM` (`limit: "*"`) above every version. Parsing is cached: advisories repeat the same
boundary versions thousands of times.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from typing import Any

import semver
from packaging.version import Version

from patchpilot.model import Ecosystem

VersionKey = tuple[Any, ...]
"""A comparable key: `MINIMUM`, `MAXIMUM`, or `(1, parsed version)`."""

MINIMUM: VersionKey = (0,)
MAXIMUM: VersionKey = (2,)


class VersionError(ValueError):
    """A version string that the ecosystem's version scheme cannot read."""

    def __init__(self, scheme: str, text: str) -> None:
        self.scheme = scheme
        self.text = text
        super().__init__(f"invalid {scheme} version: {text!r}")


class Scheme(StrEnum):
    """How one range's versions are read and ordered."""

    PEP440 = "PEP 440"
    SEMVER = "SemVer"
    GO = "Go SemVer"


def scheme_for(ecosystem: Ecosystem, range_type: str = "ECOSYSTEM") -> Scheme:
    """The version scheme of `ecosystem`'s versions inside a range of `range_type`."""
    if ecosystem is Ecosystem.GO:
        return Scheme.GO
    if range_type == "SEMVER":
        return Scheme.SEMVER
    if ecosystem is Ecosystem.PYPI:
        return Scheme.PEP440
    return Scheme.SEMVER


def parse(scheme: Scheme, text: str) -> Version | semver.Version:
    """The parsed version; `VersionError` (a `ValueError`) when `text` is not one."""
    parsed = _parse_cached(scheme, text)
    if parsed is None:
        raise VersionError(scheme.value, text)
    return parsed


def parse_version(ecosystem: Ecosystem, text: str) -> Version | semver.Version:
    """`parse` with the ecosystem's own scheme (what a component's version is read with)."""
    return parse(scheme_for(ecosystem), text)


def is_valid(scheme: Scheme, text: str) -> bool:
    return _parse_cached(scheme, text) is not None


def key(scheme: Scheme, text: str) -> VersionKey | None:
    """The comparable key of a version, or None when it cannot be parsed."""
    return _key_cached(scheme, text)


@lru_cache(maxsize=1 << 16)
def _key_cached(scheme: Scheme, text: str) -> VersionKey | None:
    parsed = _parse_cached(scheme, text)
    if parsed is None:
        return None
    if isinstance(parsed, Version):
        return (1, parsed)
    return (1, _precedence(parsed))


def _precedence(version: semver.Version) -> tuple[Any, ...]:
    """SemVer 2.0 precedence (section 11) as a plain tuple, which compares much faster.

    A release sorts after its pre-releases; pre-release identifiers compare numerically when
    numeric, lexically otherwise, numeric before alphanumeric, a longer list after its prefix.
    Build metadata is ignored.
    """
    if version.prerelease is None:
        pre: tuple[Any, ...] = (1,)
    else:
        pre = (
            0,
            tuple(
                (0, int(part), "") if part.isdigit() else (1, 0, part)
                for part in str(version.prerelease).split(".")
            ),
        )
    return (version.major, version.minor, version.patch, pre)


def event_key(scheme: Scheme, kind: str, text: str) -> VersionKey | None:
    """The key of an OSV event's version, honouring the special values `0` and `*`."""
    if kind == "introduced" and text == "0":
        return MINIMUM
    if kind == "limit" and text == "*":
        return MAXIMUM
    return key(scheme, text)


def sort_key(scheme: Scheme, text: str) -> tuple[int, Any]:
    """Orders any strings: valid versions by version, then invalid ones by text."""
    parsed = _parse_cached(scheme, text)
    if parsed is None:
        return (1, text)
    return (0, parsed)


def canonical(scheme: Scheme, text: str) -> str | None:
    """The version in its scheme's normal spelling (`1.0.0` for SemVer `v1.0`), if valid."""
    parsed = _parse_cached(scheme, text)
    return None if parsed is None else str(parsed)


@lru_cache(maxsize=1 << 16)
def _parse_cached(scheme: Scheme, text: str) -> Version | semver.Version | None:
    # None stands for "invalid" so that failures are cached too (lru_cache skips exceptions).
    if scheme is Scheme.PEP440:
        try:
            return Version(text)
        except ValueError:  # InvalidVersion, or int() refusing thousands of digits
            return None
    if scheme is Scheme.GO:
        text = _go_to_semver(text)
    return _semver(text)


_LEADING_V = re.compile(r"^[vV=]")
# Go release names: go1.21, 1.21.4, 1.21rc1, 1.9beta2 (the `go` prefix optional).
_GO_RELEASE = re.compile(r"^(?:go)?(\d+)\.(\d+)(?:\.(\d+))?(?:(alpha|beta|rc)(\d+))?$")


def _go_to_semver(text: str) -> str:
    match = _GO_RELEASE.fullmatch(text)
    if match is None:
        return text
    major, minor, patch, pre, pre_number = match.groups()
    version = f"{major}.{minor}.{patch or 0}"
    return f"{version}-{pre}.{pre_number}" if pre else version


def _semver(text: str) -> semver.Version | None:
    text = _LEADING_V.sub("", text, count=1)
    if not text or not text[0].isdigit():
        return None
    try:
        return semver.Version.parse(text, optional_minor_and_patch=True)
    except (ValueError, TypeError):
        return None
