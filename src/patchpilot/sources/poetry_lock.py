"""Reads `poetry.lock` (lock-version 1.x and 2.x) into components with their graph.

The lock lists every package with its `[package.dependencies]`, which give the graph. It
does not say which packages the project asked for: those come from the sibling
`pyproject.toml` (Poetry tables or PEP 621 and PEP 735, read by `pyproject`). Without one,
the packages no other locked package depends on are taken as the direct ones, and a note
says so. Scope comes from the lock where Poetry records it (`category` in 1.x, `groups` in
2.1: runtime when `main` is among them), else from which roots reach the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from patchpilot.errors import SourceError
from patchpilot.model import Scope, SourceKind, SourceResult
from patchpilot.sources._python import (
    Node,
    graph_components,
    link,
    lock_line,
    node_keys,
    pypi_name,
    redact_url,
)
from patchpilot.sources.interface import LineIndex, Source, expect, load_toml, read_text, result
from patchpilot.sources.pyproject import declared_dependencies

_LOCAL_SOURCES = ("directory", "file")


class PoetryLockSource(Source):
    """`poetry.lock`, with direct dependencies from the sibling `pyproject.toml`."""

    format: ClassVar[str] = "poetry.lock"
    kind: ClassVar[SourceKind] = SourceKind.LOCKFILE

    @classmethod
    def matches(cls, path: Path) -> bool:
        return path.name == "poetry.lock"

    def read(self, path: Path) -> SourceResult:
        text = read_text(path)
        data = load_toml(path, text)
        if "metadata" not in data:
            raise SourceError(path, "metadata", "missing: not a poetry.lock file")
        metadata = expect(data["metadata"], dict, path, "metadata")
        lock_version = expect(
            metadata.get("lock-version", "1.0"), str, path, "metadata.lock-version"
        )
        notes: list[str] = []
        if not lock_version.startswith(("1.", "2.")):
            notes.append(f"poetry.lock lock-version {lock_version} is newer than 2.x: read as 2.x")
        packages = expect(data.get("package", []), list, path, "package")
        entries = [_entry(path, i, raw) for i, raw in enumerate(packages)]
        keys = node_keys((pypi_name(e["name"]), e["version"]) for e in entries)
        by_name: dict[str, list[str]] = {}
        for key, entry in zip(keys, entries, strict=True):
            by_name.setdefault(pypi_name(entry["name"]), []).append(key)

        index = LineIndex(text)
        nodes: dict[str, Node] = {}
        edges: dict[str, list[str]] = {}
        scopes: dict[str, Scope] = {}
        for key, entry in zip(keys, entries, strict=True):
            name, version = entry["name"], entry["version"]
            line = lock_line(index, name, version)
            nodes[key] = Node(key, pypi_name(name), version, line)
            # Dependencies absent from the lock are optional or excluded by markers/python.
            edges[key] = [t for dep in entry["deps"] for t in link(dep, None, by_name)]
            if entry["scope"] is not None:
                scopes[key] = entry["scope"]
            if entry["source"] is not None:
                notes.append(
                    f"{pypi_name(name)} {version} comes from {entry['source']}: "
                    "matched by name and version like a PyPI release"
                )

        runtime_roots, dev_roots = self._roots(path, nodes, edges, by_name, notes)
        components = graph_components(
            path,
            nodes,
            edges=edges,
            runtime_roots=runtime_roots,
            dev_roots=dev_roots,
            scopes=scopes or None,
        )
        return result(path, self.format, self.kind, components, (), notes)

    @staticmethod
    def _roots(
        path: Path,
        nodes: dict[str, Node],
        edges: dict[str, list[str]],
        by_name: dict[str, list[str]],
        notes: list[str],
    ) -> tuple[list[str], list[str]]:
        manifest = path.parent / "pyproject.toml"
        if manifest.is_file():
            text = read_text(manifest)
            declared, skips, _ = declared_dependencies(manifest, load_toml(manifest, text), text)
            runtime: list[str] = []
            dev: list[str] = []
            names = [(d.name, d.scope) for d in declared] + [
                (pypi_name(s.name), Scope.RUNTIME) for s in skips
            ]
            for name, scope in names:
                (runtime if scope is Scope.RUNTIME else dev).extend(by_name.get(name, ()))
            if runtime or dev or not nodes:
                return runtime, dev
            notes.append(
                f"{manifest} declares none of the locked packages: direct dependencies are "
                "taken to be the locked packages no other locked package depends on"
            )
        else:
            notes.append(
                "no pyproject.toml beside poetry.lock: direct dependencies are taken to be the "
                "locked packages no other locked package depends on"
            )
        depended = {t for targets in edges.values() for t in targets}
        return [k for k in nodes if k not in depended], []


def _entry(path: Path, i: int, raw: Any) -> dict[str, Any]:
    place = f"package[{i}]"
    pkg = expect(raw, dict, path, place)
    name = expect(pkg.get("name"), str, path, f"{place}.name")
    version = expect(pkg.get("version"), str, path, f"{place}.version")
    scope: Scope | None = None
    if "category" in pkg:
        category = expect(pkg["category"], str, path, f"{place}.category")
        scope = Scope.RUNTIME if category == "main" else Scope.DEV
    if "groups" in pkg:
        groups = expect(pkg["groups"], list, path, f"{place}.groups")
        for j, group in enumerate(groups):
            expect(group, str, path, f"{place}.groups[{j}]")
        scope = Scope.RUNTIME if "main" in groups else Scope.DEV
    deps = expect(pkg.get("dependencies", {}), dict, path, f"{place}.dependencies")
    for dep, spec in deps.items():
        where = f"{place}.dependencies.{dep}"
        for one in spec if isinstance(spec, list) else [spec]:
            expect(one, (str, dict), path, where)
    source = expect(pkg.get("source", {}), dict, path, f"{place}.source")
    origin: str | None = None
    if source:
        kind = expect(source.get("type", ""), str, path, f"{place}.source.type")
        url = expect(source.get("url", ""), str, path, f"{place}.source.url")
        if kind == "git":
            origin = f"git {redact_url(url)}"
        elif kind in _LOCAL_SOURCES:
            origin = f"the local path {url}"
        elif kind == "url":
            origin = f"the URL {redact_url(url)}"
    return {
        "name": name,
        "version": version,
        "scope": scope,
        "deps": list(deps),
        "source": origin,
    }
