"""Reads `uv.lock` into components, with the dependency graph uv records.

The project itself (and every workspace member) is an `editable` or `virtual` package of the
lock: it is the root, not a component. Its `dependencies` and `optional-dependencies` are the
direct runtime dependencies, its `dev-dependencies` groups the direct dev ones; everything
else is transitive, dev when only dev roots reach it. A name uv locked at several versions
(forked resolution for different markers) is one component per version, and the graph follows
the `version` uv writes on such dependency edges. Packages from git, a URL or a local path are
components when the lock gives them a version, with a note naming their source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from patchpilot.errors import SourceError
from patchpilot.model import Skipped, SourceKind, SourceResult
from patchpilot.sources._python import (
    Node,
    graph_components,
    link,
    lock_line,
    node_keys,
    pypi_name,
    redact_url,
    skipped,
)
from patchpilot.sources.interface import LineIndex, Source, expect, load_toml, read_text, result

KNOWN_VERSION = 1
_SOURCE_KINDS = ("registry", "editable", "virtual", "git", "path", "directory", "url")
_ROOT_KINDS = ("editable", "virtual")


class UvLockSource(Source):
    """`uv.lock`: uv's universal lockfile."""

    format: ClassVar[str] = "uv.lock"
    kind: ClassVar[SourceKind] = SourceKind.LOCKFILE

    @classmethod
    def matches(cls, path: Path) -> bool:
        return path.name == "uv.lock"

    def read(self, path: Path) -> SourceResult:
        text = read_text(path)
        data = load_toml(path, text)
        notes: list[str] = []
        if "version" not in data:
            raise SourceError(path, "version", "missing: not a uv.lock file")
        version = expect(data["version"], int, path, "version")
        if isinstance(version, bool):
            raise SourceError(path, "version", "expected an integer, found a boolean")
        if version > KNOWN_VERSION:
            notes.append(f"uv.lock version {version} is newer than {KNOWN_VERSION}: read as such")
        packages = expect(data.get("package", []), list, path, "package")
        manifest = expect(data.get("manifest", {}), dict, path, "manifest")
        members: set[str] = {
            pypi_name(expect(m, str, path, f"manifest.members[{i}]"))
            for i, m in enumerate(
                expect(manifest.get("members", []), list, path, "manifest.members")
            )
        }

        entries = [_entry(path, i, pkg) for i, pkg in enumerate(packages)]
        keys = node_keys((pypi_name(e["name"]), e["version"] or "") for e in entries)
        by_name: dict[str, list[str]] = {}
        for key, entry in zip(keys, entries, strict=True):
            by_name.setdefault(pypi_name(entry["name"]), []).append(key)

        deps = {key: _dependencies(path, i, entries[i]) for i, key in enumerate(keys)}
        resolved = {
            key: {group: _resolve(path, where, by_name) for group, where in groups.items()}
            for key, groups in deps.items()
        }
        roots = _roots(keys, entries, members, resolved)
        index = LineIndex(text)
        nodes: dict[str, Node] = {}
        skips: list[Skipped] = []
        for key, entry in zip(keys, entries, strict=True):
            if key in roots:
                continue
            name = entry["name"]
            line = lock_line(index, name, entry["version"])
            if entry["version"] is None:
                skips.append(
                    skipped(
                        pypi_name(name),
                        f"no version in the lock ({_describe(entry)})",
                        path,
                        line,
                    )
                )
                continue
            nodes[key] = Node(key, pypi_name(name), entry["version"], line)
            if entry["kind"] not in ("registry", None):
                notes.append(
                    f"{pypi_name(name)} {entry['version']} comes from {_describe(entry)}: "
                    "matched by name and version like a PyPI release"
                )

        runtime_roots: list[str] = []
        dev_roots: list[str] = []
        edges: dict[str, list[str]] = {}
        for key, groups in resolved.items():
            if key in roots:
                for group, targets in groups.items():
                    bucket = dev_roots if group.startswith("dev:") else runtime_roots
                    bucket.extend(t for t in targets if t not in roots)
            else:
                edges[key] = [t for targets in groups.values() for t in targets if t in nodes]
        if not roots:
            notes.append(
                "uv.lock names no project package (editable or virtual): direct dependencies "
                "are taken to be the packages nothing else depends on"
            )
            depended = {t for targets in edges.values() for t in targets}
            runtime_roots = [k for k in nodes if k not in depended]
        components = graph_components(
            path, nodes, edges=edges, runtime_roots=runtime_roots, dev_roots=dev_roots
        )
        return result(path, self.format, self.kind, components, skips, notes)


def _entry(path: Path, i: int, raw: Any) -> dict[str, Any]:
    place = f"package[{i}]"
    pkg = expect(raw, dict, path, place)
    name = expect(pkg.get("name"), str, path, f"{place}.name")
    version = pkg.get("version")
    if version is not None:
        expect(version, str, path, f"{place}.version")
    source = expect(pkg.get("source", {}), dict, path, f"{place}.source")
    kind = next((k for k in _SOURCE_KINDS if k in source), None)
    location = source.get(kind) if kind else None
    if location is not None and not isinstance(location, str):
        raise SourceError(path, f"{place}.source.{kind}", "expected a string")
    return {
        "name": name,
        "version": version,
        "kind": kind,
        "location": location,
        "raw": pkg,
        "place": place,
    }


def _dependencies(path: Path, i: int, entry: dict[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """Dependency lists of one package by group: `run`, `extra:<x>`, `dev:<group>`."""
    pkg = entry["raw"]
    place = entry["place"]
    groups: dict[str, list[tuple[str, Any]]] = {}
    plain = expect(pkg.get("dependencies", []), list, path, f"{place}.dependencies")
    groups["run"] = [(f"{place}.dependencies[{j}]", d) for j, d in enumerate(plain)]
    for table, prefix in (("optional-dependencies", "extra:"), ("dev-dependencies", "dev:")):
        tables = expect(pkg.get(table, {}), dict, path, f"{place}.{table}")
        for group, items in tables.items():
            where = f"{place}.{table}.{group}"
            listed = expect(items, list, path, where)
            groups[f"{prefix}{group}"] = [(f"{where}[{j}]", d) for j, d in enumerate(listed)]
    return groups


def _resolve(path: Path, deps: list[tuple[str, Any]], by_name: dict[str, list[str]]) -> list[str]:
    out: list[str] = []
    for place, raw in deps:
        dep = expect(raw, dict, path, place)
        name = expect(dep.get("name"), str, path, f"{place}.name")
        version = dep.get("version")
        if version is not None:
            expect(version, str, path, f"{place}.version")
        targets = link(name, version, by_name)
        if not targets:
            raise SourceError(path, place, f"depends on {name!r}, which the lock does not list")
        out.extend(targets)
    return out


def _roots(
    keys: list[str],
    entries: list[dict[str, Any]],
    members: set[str],
    resolved: dict[str, dict[str, list[str]]],
) -> set[str]:
    """The project packages: workspace members, else editable/virtual packages no one needs."""
    if members:
        return {k for k, e in zip(keys, entries, strict=True) if pypi_name(e["name"]) in members}
    local = {k for k, e in zip(keys, entries, strict=True) if e["kind"] in _ROOT_KINDS}
    needed = {
        t
        for key, groups in resolved.items()
        if key not in local
        for targets in groups.values()
        for t in targets
    }
    return local - needed


def _describe(entry: dict[str, Any]) -> str:
    kind = entry["kind"]
    location = redact_url(entry["location"] or "")
    if kind in ("path", "directory", "editable", "virtual"):
        return f"the local path {location}"
    if kind == "git":
        return f"git {location}"
    if kind == "url":
        return f"the URL {location}"
    return "an unknown source"
