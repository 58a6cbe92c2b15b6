"""Reads PEP 751 lockfiles (`pylock.toml`, `pylock.<name>.toml`) into components.

Each `[[packages]]` entry names one package; with a `version` it is a component, without
one (a VCS checkout or a local directory may omit it) it is skipped with the reason. The
format does not say which packages the project requires itself, so every component is
marked transitive and a note says direct-ness is unknown; `packages.dependencies`, when a
locker writes it, gives the parents. Scope is kept simple: a package is dev only when its
`marker` selects it by dependency group (`'dev' in dependency_groups`) and none of the groups
it names is among the lock's `default-groups`; anything else is runtime.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from patchpilot.errors import SourceError
from patchpilot.model import Component, Location, Scope, Skipped, SourceKind, SourceResult
from patchpilot.sources._python import component, lock_line, pypi_name, skipped
from patchpilot.sources.interface import (
    LineIndex,
    Source,
    expect,
    load_toml,
    merge_components,
    read_text,
    result,
)

_NAME_RE = re.compile(r"^pylock\.[^./\\]+\.toml$")
_GROUP_RE = re.compile(r"""['"]([^'"]+)['"]\s+in\s+dependency_groups""")
_SOURCES = ("vcs", "directory", "archive", "sdist", "wheels")


class PylockSource(Source):
    """PEP 751 `pylock.toml`."""

    format: ClassVar[str] = "pylock.toml"
    kind: ClassVar[SourceKind] = SourceKind.LOCKFILE

    @classmethod
    def matches(cls, path: Path) -> bool:
        return path.name == "pylock.toml" or _NAME_RE.match(path.name) is not None

    def read(self, path: Path) -> SourceResult:
        text = read_text(path)
        data = load_toml(path, text)
        if "lock-version" not in data:
            raise SourceError(path, "lock-version", "missing: not a PEP 751 lockfile")
        lock_version = expect(data["lock-version"], str, path, "lock-version")
        if lock_version.split(".", 1)[0] != "1":
            raise SourceError(
                path, "lock-version", f"lock-version {lock_version} is not supported (only 1.x)"
            )
        defaults: set[str] = {
            pypi_name(expect(g, str, path, f"default-groups[{i}]"))
            for i, g in enumerate(
                expect(data.get("default-groups", []), list, path, "default-groups")
            )
        }
        packages = expect(data.get("packages", []), list, path, "packages")
        index = LineIndex(text)
        notes = [
            f"{path.name} does not record which packages the project requires itself: "
            "all components are marked transitive"
        ]
        parsed = [_package(path, i, raw) for i, raw in enumerate(packages)]
        if not any(deps for *_, deps in parsed):
            notes.append(f"{path.name} records no dependency graph: paths are not known")
        parents: dict[str, set[str]] = {}
        for name, _, _, _, deps in parsed:
            for dep in deps:
                parents.setdefault(dep, set()).add(name)
        components: list[Component] = []
        skips: list[Skipped] = []
        for name, version, marker, source, _ in parsed:
            norm = pypi_name(name)
            line = lock_line(index, name, version)
            if version is None:
                reason = f"{source or 'unknown'} source without a version in the lock"
                skips.append(skipped(norm, reason, path, line))
                continue
            if source in ("vcs", "directory", "archive"):
                notes.append(
                    f"{norm} {version} comes from a {source} source: "
                    "matched by name and version like a PyPI release"
                )
            components.append(
                component(
                    norm,
                    version,
                    direct=False,
                    scope=_scope(marker, defaults),
                    locations=(Location(str(path), line),),
                    parents=parents.get(norm, ()),
                )
            )
        return result(path, self.format, self.kind, merge_components(components), skips, notes)


def _package(
    path: Path, i: int, raw: Any
) -> tuple[str, str | None, str | None, str | None, list[str]]:
    place = f"packages[{i}]"
    pkg = expect(raw, dict, path, place)
    name = expect(pkg.get("name"), str, path, f"{place}.name")
    version = pkg.get("version")
    if version is not None:
        expect(version, str, path, f"{place}.version")
    marker = pkg.get("marker")
    if marker is not None:
        expect(marker, str, path, f"{place}.marker")
    source = next((k for k in _SOURCES if k in pkg), None)
    if source in ("vcs", "directory", "archive"):
        expect(pkg[source], dict, path, f"{place}.{source}")
    deps: list[str] = []
    for j, dep in enumerate(
        expect(pkg.get("dependencies", []), list, path, f"{place}.dependencies")
    ):
        where = f"{place}.dependencies[{j}]"
        entry = expect(dep, dict, path, where)
        deps.append(pypi_name(expect(entry.get("name"), str, path, f"{where}.name")))
    return name, version, marker, source, deps


def _scope(marker: str | None, defaults: set[str]) -> Scope:
    if marker is None:
        return Scope.RUNTIME
    groups = {pypi_name(g) for g in _GROUP_RE.findall(marker)}
    if groups and not groups & defaults:
        return Scope.DEV
    return Scope.RUNTIME
