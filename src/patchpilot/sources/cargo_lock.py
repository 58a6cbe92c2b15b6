"""Reads Cargo.lock, lockfile versions 1 to 4.

Every `[[package]]` has a name and version; those with a `source` come from a registry or
git, those without are the workspace's own crates (members and path dependencies). The
latter are roots, not components, and the crates they depend on are direct. A dependency
entry names a package as `name`, `name version` or `name version (source)`, as precisely
as needed to tell it from other packages of the lock (version 1 always writes all three and
keeps checksums in `[metadata]`, which this reader does not need).

Only crates.io packages are components: a crate from git or another registry is not the
crates.io release advisories are about, so it is skipped with the reason, but stays in
the graph so that paths through it are still shown. Cargo.lock does not say which crates
only dev-dependencies or build scripts need, so every component is runtime.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import semver

from patchpilot.errors import SourceError
from patchpilot.model import (
    Ecosystem,
    Location,
    Skipped,
    SourceKind,
    SourceResult,
    normalize_name,
)
from patchpilot.sources._graph import Edge, Node, graph_components
from patchpilot.sources.interface import LineIndex, Source, expect, load_toml, read_text, result

CRATES = Ecosystem.CRATES_IO
# crates.io as Cargo records it: the git index, or the sparse index some Cargo versions write.
CRATES_IO_SOURCES = frozenset(
    {
        "registry+https://github.com/rust-lang/crates.io-index",
        "sparse+https://index.crates.io/",
    }
)
_LATEST_VERSION = 4
_HEADER_RE = re.compile(r"^[ \t]*\[\[[ \t]*package[ \t]*\]\][ \t]*(?:#.*)?$", re.MULTILINE)
_NAME_RE = re.compile(r"^[ \t]*name[ \t]*=", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class _Package:
    name: str
    version: str
    source: str | None
    dependencies: tuple[str, ...]
    place: str
    line: int | None

    @property
    def key(self) -> str:
        return f"{self.name} {self.version} ({self.source or 'local'})"


class CargoLockSource(Source):
    format: ClassVar[str] = "Cargo.lock"
    kind: ClassVar[SourceKind] = SourceKind.LOCKFILE

    @classmethod
    def matches(cls, path: Path) -> bool:
        return path.name == "Cargo.lock"

    def read(self, path: Path) -> SourceResult:
        text = read_text(path)
        doc = load_toml(path, text)
        notes: list[str] = []
        version = doc.get("version")
        if version is not None:
            if isinstance(version, bool) or not isinstance(version, int):
                raise SourceError(path, "version", "expected an integer")
            if version > _LATEST_VERSION:
                notes.append(
                    f"lockfile version {version} is newer than this reader knows; "
                    f"read as version {_LATEST_VERSION}"
                )
        if "metadata" in doc:
            expect(doc["metadata"], dict, path, "metadata")
        packages = _packages(path, text, expect(doc.get("package", []), list, path, "package"))
        by_name: dict[str, list[_Package]] = {}
        for pkg in packages:
            by_name.setdefault(pkg.name, []).append(pkg)

        skipped: list[Skipped] = []
        nodes: dict[str, Node] = {}
        for pkg in packages:
            if pkg.source is None or pkg.key in nodes:
                continue
            reason = _skip_reason(pkg)
            if reason is not None:
                skipped.append(
                    Skipped(
                        name=pkg.name,
                        reason=reason,
                        location=Location(str(path), pkg.line),
                        ecosystem=CRATES,
                        requirement=pkg.version,
                    )
                )
            nodes[pkg.key] = Node(
                key=pkg.key,
                ecosystem=CRATES,
                name=normalize_name(CRATES, pkg.name),
                version=pkg.version,
                line=pkg.line,
                emit=reason is None,
            )
        edges: dict[str, list[Edge]] = {}
        direct: dict[str, bool] = {}
        for pkg in packages:
            for j, dep in enumerate(pkg.dependencies):
                target = _resolve(path, f"{pkg.place}.dependencies[{j}]", dep, by_name)
                if target.source is None:
                    continue
                if pkg.source is None:
                    direct[target.key] = False
                elif target.key != pkg.key:
                    edges.setdefault(pkg.key, []).append(Edge(target.key))
        components = graph_components(str(path), nodes, edges, direct)
        return result(path, self.format, self.kind, components, skipped, notes)


def _packages(path: Path, text: str, raw: list[Any]) -> list[_Package]:
    index = LineIndex(text)
    headers = [m.end() for m in _HEADER_RE.finditer(text)]
    out: list[_Package] = []
    for i, item in enumerate(raw):
        place = f"package[{i}]"
        entry = expect(item, dict, path, place)
        name = _string(path, entry, "name", place)
        version = _string(path, entry, "version", place)
        source = entry.get("source")
        if source is not None:
            source = expect(source, str, path, f"{place}.source")
        deps = expect(entry.get("dependencies", []), list, path, f"{place}.dependencies")
        for j, dep in enumerate(deps):
            expect(dep, str, path, f"{place}.dependencies[{j}]")
        line: int | None = None
        if len(headers) == len(raw):
            # Arrays of tables keep their order: the i-th header opens the i-th package.
            found = _NAME_RE.search(text, headers[i])
            line = index.line_at(found.start() if found else headers[i])
        else:
            line = index.line_of(f'name = "{name}"\nversion = "{version}"') or index.line_of(
                f'name = "{name}"'
            )
        out.append(_Package(name, version, source, tuple(deps), place, line))
    return out


def _string(path: Path, entry: dict[str, Any], key: str, place: str) -> str:
    if key not in entry:
        raise SourceError(path, place, f"missing {key!r}")
    value: str = expect(entry[key], str, path, f"{place}.{key}")
    if not value.strip():
        raise SourceError(path, f"{place}.{key}", "empty")
    return value


def _skip_reason(pkg: _Package) -> str | None:
    source = pkg.source or ""
    if source.startswith("git+"):
        return f"from git ({source}), not a crates.io release"
    if source not in CRATES_IO_SOURCES:
        return f"from {source}, not crates.io"
    if not semver.Version.is_valid(pkg.version):
        return f"version {pkg.version!r} is not a SemVer version"
    return None


def _resolve(path: Path, place: str, text: str, by_name: dict[str, list[_Package]]) -> _Package:
    """The package a dependency entry (`name`, `name version`, `name version (source)`) names."""
    parts = text.split(" ", 2)
    name = parts[0]
    version = parts[1] if len(parts) > 1 else None
    source: str | None = None
    if len(parts) > 2:
        rest = parts[2]
        if not (rest.startswith("(") and rest.endswith(")")):
            raise SourceError(path, place, f"malformed dependency {text!r}")
        source = rest[1:-1]
    candidates: Sequence[_Package] = by_name.get(name, ())
    if version is not None:
        candidates = [p for p in candidates if p.version == version]
    if source is not None:
        candidates = [p for p in candidates if p.source == source]
    if not candidates:
        raise SourceError(path, place, f"dependency {text!r} names no package of the lockfile")
    if len({p.key for p in candidates}) > 1:
        raise SourceError(path, place, f"dependency {text!r} matches several packages")
    return candidates[0]
