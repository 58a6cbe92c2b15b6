"""Reads pipenv's `Pipfile.lock` (JSON) into components.

`default` holds the runtime packages, `develop` the dev ones, each pinned as
`"version": "==x"`; pipenv's custom package categories are read as dev. Entries installed
from git, a local path, a file or in editable mode carry no version and are skipped with
the reason. The lock records no dependency graph, so
direct dependencies are the names the sibling `Pipfile` lists; without a `Pipfile` every
component is marked transitive and a note says direct-ness is unknown.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from patchpilot.model import Component, Location, Scope, Skipped, SourceKind, SourceResult
from patchpilot.sources._python import component, pypi_name, redact_url, skipped
from patchpilot.sources.interface import (
    LineIndex,
    Source,
    expect,
    load_json,
    load_toml,
    merge_components,
    read_text,
    result,
)

SECTIONS = (("default", Scope.RUNTIME), ("develop", Scope.DEV))
_VERSIONLESS = ("git", "hg", "svn", "bzr", "path", "file", "editable")
# Pipfile tables that are settings, not package categories.
_PIPFILE_SETTINGS = frozenset({"source", "requires", "pipenv", "scripts"})


class PipfileLockSource(Source):
    """`Pipfile.lock`, with direct dependencies from the sibling `Pipfile`."""

    format: ClassVar[str] = "Pipfile.lock"
    kind: ClassVar[SourceKind] = SourceKind.LOCKFILE

    @classmethod
    def matches(cls, path: Path) -> bool:
        return path.name == "Pipfile.lock"

    def read(self, path: Path) -> SourceResult:
        text = read_text(path)
        data = expect(load_json(path, text), dict, path, "(document)")
        notes: list[str] = ["Pipfile.lock records no dependency graph: paths are not known"]
        direct = _pipfile_names(path.parent / "Pipfile", notes)
        index = LineIndex(text)
        components: list[Component] = []
        skips: list[Skipped] = []
        for section, scope in _sections(data):
            entries = expect(data.get(section, {}), dict, path, section)
            start = index.line_of(f"{json.dumps(section)}: {{") or 1
            for name, raw in entries.items():
                place = f"{section}.{name}"
                entry = expect(raw, dict, path, place)
                line = index.line_of(f"{json.dumps(name)}: {{", start)
                version = entry.get("version")
                if version is None:
                    kind = next((k for k in _VERSIONLESS if k in entry), None)
                    skips.append(skipped(pypi_name(name), _no_version(kind, entry), path, line))
                    continue
                pinned = _pinned(expect(version, str, path, f"{place}.version"))
                if pinned is None:
                    skips.append(
                        skipped(
                            pypi_name(name),
                            f"not pinned: {name}{version} (a constraint, not a version)",
                            path,
                            line,
                            f"{name}{version}",
                        )
                    )
                    continue
                vcs = next((k for k in _VERSIONLESS[:4] if k in entry), None)
                if vcs is not None:
                    url = redact_url(str(entry[vcs]))
                    notes.append(
                        f"{pypi_name(name)} {pinned} comes from {vcs} {url}: "
                        "matched by name and version like a PyPI release"
                    )
                components.append(
                    component(
                        name,
                        pinned,
                        direct=direct is not None and pypi_name(name) in direct,
                        scope=scope,
                        locations=(Location(str(path), line),),
                    )
                )
        return result(path, self.format, self.kind, merge_components(components), skips, notes)


def _sections(data: dict[str, Any]) -> list[tuple[str, Scope]]:
    """`default` and `develop`, then any custom package category (pipenv 2023+), as dev."""
    extra = [
        (key, Scope.DEV)
        for key, value in data.items()
        if key not in ("_meta", "default", "develop") and isinstance(value, dict)
    ]
    return [*SECTIONS, *extra]


def _pinned(version: str) -> str | None:
    for prefix in ("===", "=="):
        if version.startswith(prefix):
            pinned = version[len(prefix) :].strip()
            return pinned if pinned and "*" not in pinned else None
    return None


def _no_version(kind: str | None, entry: dict[str, Any]) -> str:
    if kind == "editable" or entry.get("editable") is True:
        return "editable install: no version in the lock"
    if kind in ("path", "file"):
        return f"local {kind} dependency: no version in the lock"
    if kind is not None:
        return f"{kind} dependency: no version in the lock"
    return "no version in the lock"


def _pipfile_names(pipfile: Path, notes: list[str]) -> set[str] | None:
    """Normalised names the Pipfile asks for, or None (and a note) when there is none."""
    if not pipfile.is_file():
        notes.append(
            "no Pipfile beside Pipfile.lock: which packages are direct is unknown, "
            "all are marked transitive"
        )
        return None
    data = load_toml(pipfile)
    names: set[str] = set()
    for section, table in data.items():
        if section in _PIPFILE_SETTINGS:
            continue
        names.update(pypi_name(name) for name in expect(table, dict, pipfile, section))
    return names
