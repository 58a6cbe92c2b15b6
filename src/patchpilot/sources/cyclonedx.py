"""Reads CycloneDX SBOMs in JSON (specVersion 1.2 to 1.6) into components.

Every entry of `components`, nested ones included, is a package named by its purl: a purl
of an ecosystem patchpilot matches (pypi, npm, golang, cargo) with a version makes a
component, keeping the SBOM's own purl; anything else is skipped with the reason (no purl,
an unsupported ecosystem such as maven, no version). `metadata.component` is the project
the SBOM describes: it is the root, not a component, and what its `dependencies` entry
lists is direct. Without that entry, the components nothing else depends on are direct;
without any `dependencies`, all are. Paths follow the `dependencies` graph.

Scope: a component whose `scope` is `optional` or `excluded` (CycloneDX's words for "not
needed at run time"), or that carries a property marking a development dependency
(`cdx:npm:package:development` = `true`, as npm and cyclonedx-npm write), is dev; every
other component is runtime. Only JSON is read: an XML document is refused with a
`SourceError` that says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from patchpilot.errors import SourceError
from patchpilot.model import Location, Scope, Skipped, SourceKind, SourceResult
from patchpilot.sources._graph import Edge, JsonPath, Node, graph_components, json_offsets
from patchpilot.sources._sbom import Identity, head, identify, sources_of, subject_note
from patchpilot.sources.interface import LineIndex, Source, expect, load_json, read_text, result

NAMES = frozenset({"bom.json", "sbom.json"})
SUFFIXES = (".cdx.json", ".bom.json")
DEV_SCOPES = frozenset({"optional", "excluded"})
# Properties tools write on components that only development needs.
DEV_PROPERTIES = frozenset({"cdx:npm:package:development"})
_SPEC_RE = re.compile(r"^1\.(?P<minor>[0-9]+)$")
_OLDEST_MINOR = 2  # the first CycloneDX version with a JSON format
_NEWEST_MINOR = 6


@dataclass(frozen=True, slots=True)
class _Entry:
    data: dict[str, Any]
    place: str
    json_path: JsonPath


class CycloneDxSource(Source):
    format: ClassVar[str] = "CycloneDX"
    kind: ClassVar[SourceKind] = SourceKind.SBOM

    @classmethod
    def matches(cls, path: Path) -> bool:
        name = path.name.lower()
        if not name.endswith(".json"):
            return False
        if name.endswith(SUFFIXES):
            return True
        start = head(path)
        if name in NAMES or (name.startswith("sbom") and name.endswith(".json")):
            # An SPDX document named sbom*.json is the SPDX reader's.
            return '"spdxVersion"' not in start
        return '"bomFormat"' in start and "CycloneDX" in start

    def read(self, path: Path) -> SourceResult:
        text = read_text(path)
        if text.lstrip("\ufeff \t\r\n").startswith("<"):
            raise SourceError(path, None, "XML SBOMs are not supported; use JSON")
        doc = expect(load_json(path, text), dict, path, "(top level)")
        notes: list[str] = []
        _check_format(path, doc, notes)
        metadata = expect(doc.get("metadata", {}), dict, path, "metadata")
        root = metadata.get("component")
        root_ref: str | None = None
        if root is not None:
            root = expect(root, dict, path, "metadata.component")
            root_ref = _optional_str(path, root, "bom-ref", "metadata.component")

        entries = list(_entries(path, doc.get("components", []), "components", ("components",)))
        offsets = json_offsets(text, _is_component_path)
        index = LineIndex(text)
        nodes: dict[str, Node] = {}
        skipped: list[Skipped] = []
        for entry in entries:
            offset = offsets.get(entry.json_path)
            line = None if offset is None else index.line_at(offset)
            node = _node(path, entry, line, skipped)
            nodes.setdefault(node.key, node)

        dependencies = list(_dependencies(path, doc))
        edges = _edges(dependencies, nodes)
        root_children: list[str] | None = None
        for ref, children in dependencies:
            if root_ref is not None and ref == root_ref:
                root_children = [*(root_children or []), *(c for c in children if c in nodes)]
        if root_children is not None:
            direct_keys = root_children
        elif edges:
            direct_keys = sources_of(nodes, edges)
        else:
            direct_keys = list(nodes)
        direct = {k: nodes[k].scope is Scope.DEV for k in direct_keys if k in nodes}
        if root is not None:
            _note_root(root, notes)
        components = graph_components(str(path), nodes, edges, direct)
        return result(path, self.format, self.kind, components, skipped, notes)


def _check_format(path: Path, doc: dict[str, Any], notes: list[str]) -> None:
    if doc.get("bomFormat") != "CycloneDX":
        if "spdxVersion" in doc:
            raise SourceError(path, "bomFormat", "an SPDX document, not CycloneDX")
        raise SourceError(path, "bomFormat", 'not a CycloneDX document (expected "CycloneDX")')
    spec = doc.get("specVersion")
    if spec is None:
        raise SourceError(path, "specVersion", "missing")
    spec = expect(spec, str, path, "specVersion")
    found = _SPEC_RE.match(spec)
    if found is None or int(found["minor"]) < _OLDEST_MINOR:
        raise SourceError(path, "specVersion", f"unsupported CycloneDX version {spec!r}")
    if int(found["minor"]) > _NEWEST_MINOR:
        notes.append(f"CycloneDX {spec} is newer than this reader knows; read as 1.6")


def _optional_str(path: Path, data: dict[str, Any], key: str, place: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    text: str = expect(value, str, path, f"{place}.{key}")
    return text


def _entries(path: Path, value: Any, place: str, json_path: JsonPath) -> Iterator[_Entry]:
    items = expect(value, list, path, place)
    for i, item in enumerate(items):
        here = f"{place}[{i}]"
        data = expect(item, dict, path, here)
        yield _Entry(data, here, (*json_path, i))
        if "components" in data:
            yield from _entries(
                path, data["components"], f"{here}.components", (*json_path, i, "components")
            )


def _is_component_path(p: JsonPath) -> bool:
    # ("components", i) or ("components", i, "components", j, ...): an entry at any depth.
    return (
        len(p) % 2 == 0
        and all(p[k] == "components" for k in range(0, len(p), 2))
        and all(isinstance(p[k], int) for k in range(1, len(p), 2))
    )


def _is_dev(path: Path, entry: _Entry) -> bool:
    data = entry.data
    scope = _optional_str(path, data, "scope", entry.place)
    if scope in DEV_SCOPES:
        return True
    props = expect(data.get("properties", []), list, path, f"{entry.place}.properties")
    for i, raw in enumerate(props):
        prop = expect(raw, dict, path, f"{entry.place}.properties[{i}]")
        if prop.get("name") in DEV_PROPERTIES and str(prop.get("value", "")).lower() == "true":
            return True
    return False


def _node(path: Path, entry: _Entry, line: int | None, skipped: list[Skipped]) -> Node:
    data = entry.data
    ref = _optional_str(path, data, "bom-ref", entry.place)
    name = _optional_str(path, data, "name", entry.place) or "(unnamed)"
    group = _optional_str(path, data, "group", entry.place)
    version = _optional_str(path, data, "version", entry.place)
    purl = _optional_str(path, data, "purl", entry.place)
    dev = _is_dev(path, entry)
    key = ref if ref is not None else f"#{entry.place}"
    ident = identify(purl, version)
    if isinstance(ident, Identity):
        return Node(
            key=key,
            ecosystem=ident.ecosystem,
            name=ident.name,
            version=ident.version,
            line=line,
            scope=Scope.DEV if dev else Scope.RUNTIME,
            purl=ident.purl,
        )
    shown = f"{group}/{name}" if group else name
    skipped.append(
        Skipped(
            name=shown,
            reason=ident,
            location=Location(str(path), line),
            requirement=purl or version,
        )
    )
    return Node(key=key, ecosystem=None, name=shown, version=version or "", line=line, emit=False)


def _dependencies(path: Path, doc: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    """(ref, dependsOn) for every entry of `dependencies`."""
    deps = expect(doc.get("dependencies", []), list, path, "dependencies")
    for i, item in enumerate(deps):
        place = f"dependencies[{i}]"
        data = expect(item, dict, path, place)
        ref = expect(data.get("ref"), str, path, f"{place}.ref")
        children = expect(data.get("dependsOn", []), list, path, f"{place}.dependsOn")
        for j, child in enumerate(children):
            expect(child, str, path, f"{place}.dependsOn[{j}]")
        yield ref, children


def _edges(
    dependencies: list[tuple[str, list[str]]], nodes: dict[str, Node]
) -> dict[str, list[Edge]]:
    edges: dict[str, list[Edge]] = {}
    for ref, children in dependencies:
        if ref not in nodes:
            continue
        for child in children:
            if child in nodes and child != ref:
                edges.setdefault(ref, []).append(Edge(child))
    return edges


def _note_root(root: dict[str, Any], notes: list[str]) -> None:
    name = root.get("name")
    version = root.get("version")
    if isinstance(name, str):
        notes.append(subject_note(name, version if isinstance(version, str) else None))
