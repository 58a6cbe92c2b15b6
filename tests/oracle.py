"""An independent reading of OSV records, for checking the matcher on real data.

It shares no code with `patchpilot.advisories`: it reads the zips with `zipfile`/`json`, turns
each range's events into explicit version intervals, and tests membership with packaging
(PyPI) or semver (everything else). Tests compare the engine's findings against it.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import semver
from packaging.version import InvalidVersion, Version

_SEP = re.compile(r"[-_.]+")


def _norm(ecosystem: str, name: str) -> str:
    if ecosystem == "PyPI":
        return _SEP.sub("-", name).lower()
    if ecosystem in ("npm", "crates.io"):
        return name.lower()
    return name


def _semver(text: str) -> semver.Version:
    text = text.removeprefix("v").removeprefix("go")
    core, sep, rest = text.partition("-")
    build = ""
    if "+" in core:
        core, build = core.split("+", 1)
    parts = core.split(".")
    while len(parts) < 3:
        parts.append("0")
    text = ".".join(parts) + (sep + rest if sep else "") + (f"+{build}" if build else "")
    return semver.Version.parse(text)


def _key(ecosystem: str, text: str) -> Any:
    if ecosystem == "PyPI":
        return Version(text)
    return _semver(text)


_UNSET = object()


def _intervals(ecosystem: str, events: list[dict[str, str]]) -> list[tuple[Any, Any, bool]]:
    """(low, high, high_inclusive) intervals; low None = from the start, high None = no end."""

    def order(e: dict[str, str]) -> Any:
        value = next(iter(e.values()))
        if value == "0":
            return (0, None)
        if value == "*":
            return (2, None)
        return (1, _key(ecosystem, value))

    spans: list[tuple[Any, Any, bool]] = []
    low: Any = _UNSET
    limit: Any = None
    for e in sorted(events, key=lambda e: (order(e)[0], order(e)[1] or _key(ecosystem, "0"))):
        if "introduced" in e:
            if low is _UNSET:
                low = None if e["introduced"] == "0" else _key(ecosystem, e["introduced"])
        elif "fixed" in e and low is not _UNSET:
            spans.append((low, _key(ecosystem, e["fixed"]), False))
            low = _UNSET
        elif "last_affected" in e and low is not _UNSET:
            spans.append((low, _key(ecosystem, e["last_affected"]), True))
            low = _UNSET
        elif "limit" in e and e["limit"] != "*":
            limit = _key(ecosystem, e["limit"])
    if low is not _UNSET:
        spans.append((low, None, False))
    if limit is not None:
        spans = [
            (
                lo,
                hi if hi is not None and hi < limit else limit,
                inc if hi is not None and hi < limit else False,
            )
            for lo, hi, inc in spans
        ]
    return spans


def _inside(v: Any, span: tuple[Any, Any, bool]) -> bool:
    low, high, inclusive = span
    if low is not None and v < low:
        return False
    if high is None:
        return True
    return v <= high if inclusive else v < high


def affected(record: dict[str, Any], ecosystem: str, name: str, version: str) -> bool:
    if record.get("withdrawn"):
        return False
    for entry in record.get("affected", []):
        pkg = entry.get("package", {})
        if pkg.get("ecosystem", "").split(":")[0] != ecosystem:
            continue
        if _norm(ecosystem, pkg.get("name", "")) != _norm(ecosystem, name):
            continue
        listed = entry.get("versions", [])
        if version in listed:
            return True
        try:
            v = _key(ecosystem, version)
        except (InvalidVersion, ValueError):
            continue
        if ecosystem == "PyPI" and any(_safe_eq(v, x) for x in listed):
            return True
        for rng in entry.get("ranges", []):
            if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue
            try:
                spans = _intervals(ecosystem, rng.get("events", []))
            except (InvalidVersion, ValueError):
                continue
            if any(_inside(v, s) for s in spans):
                return True
    return False


def _safe_eq(v: Version, text: str) -> bool:
    try:
        return Version(text) == v
    except InvalidVersion:
        return False


def load_records(zips: Iterable[Path]) -> list[dict[str, Any]]:
    records = []
    for z in zips:
        with zipfile.ZipFile(z) as zf:
            records.extend(
                json.loads(zf.read(name)) for name in zf.namelist() if name.endswith(".json")
            )
    return records


def matching_ids(
    records: list[dict[str, Any]], ecosystem: str, name: str, version: str
) -> set[str]:
    return {r["id"] for r in records if affected(r, ecosystem, name, version)}
