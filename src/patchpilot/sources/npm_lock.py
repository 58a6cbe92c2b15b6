"""Reads npm's package-lock.json and npm-shrinkwrap.json, lockfile versions 1, 2 and 3.

Versions 2 and 3 list every installed package under `packages`, keyed by its place in the
tree (`node_modules/a/node_modules/b`); the root `""` and every workspace or local package
(keys outside `node_modules`) are the project's own code: they are roots, not components,
and what they declare (`dependencies`, `devDependencies`, `optionalDependencies`,
`peerDependencies`) is direct. Version 1 nests `dependencies` the way node_modules nests
directories and records no root declarations, so the `package.json` beside the lockfile
says which are direct; without one, the top-level packages no other package requires are.

Each dependency a package declares is found the way Node resolves `require()`: in the
package's own nested node_modules first, then in each enclosing one up to the root, so the
recorded paths are the ones that are really installed. `link: true` entries point at a
local directory; a link to a workspace or local package of the lockfile resolves to it,
any other link is skipped with the reason. An alias install (`"x": "npm:lodash@4.17.4"`) is
the real package (`lodash`); packages installed from git or local files, and entries with
no SemVer version, are skipped with the reason but still carry paths through them. Scope
comes from npm's own flags: `dev: true` is dev; `optional` and `devOptional` packages are
installed without dev dependencies too, so they are runtime. Bundled packages (`inBundle`)
ship inside their parent and are components like any other.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import semver

from patchpilot.errors import SourceError
from patchpilot.model import (
    Ecosystem,
    Location,
    Scope,
    Skipped,
    SourceKind,
    SourceResult,
    normalize_name,
)
from patchpilot.sources._graph import Edge, JsonPath, Node, graph_components, json_offsets
from patchpilot.sources.interface import LineIndex, Source, expect, load_json, read_text, result

NPM = Ecosystem.NPM
NAMES = ("package-lock.json", "npm-shrinkwrap.json")
_RUNTIME_FIELDS = ("dependencies", "optionalDependencies", "peerDependencies")
_ROOT_FIELDS = (*_RUNTIME_FIELDS, "devDependencies")
_GIT_PREFIXES = ("git+", "git:", "git@", "github:", "gitlab:", "bitbucket:", "gist:")
_LATEST_VERSION = 3


def _is_root(key: str) -> bool:
    """Whether a `packages` key is the project's own code rather than an installed package."""
    return not (key.startswith("node_modules/") or "/node_modules/" in key)


def _install_name(key: str) -> str:
    return key.rsplit("node_modules/", 1)[-1]


def _parent_dir(key: str) -> str | None:
    """The directory whose node_modules Node searches next, or None above the root."""
    if not key:
        return None
    cut = key.rfind("/node_modules/")
    if cut >= 0:
        return key[:cut]
    if key.startswith("node_modules/"):
        return ""
    return posixpath.dirname(key)


def _place(parent: str, key: str) -> str:
    return f'{parent}["{key}"]'


@dataclass(slots=True)
class _Tree:
    """The installed tree in lockfile v2/v3 shape, whichever version it was read from."""

    path: Path
    v1: bool = False
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    places: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int | None] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)

    def resolve(self, start: str, name: str) -> str | None:
        """The key `require(name)` finds from the package at `start`, links followed."""
        base: str | None = start
        seen: set[str] = set()
        while base is not None:
            candidate = f"{base}/node_modules/{name}" if base else f"node_modules/{name}"
            if candidate in self.entries or candidate in self.links:
                while candidate in self.links and candidate not in seen:
                    seen.add(candidate)
                    candidate = self.links[candidate]
                return candidate if candidate in self.entries else None
            base = _parent_dir(base)
        return None


class NpmLockSource(Source):
    format: ClassVar[str] = "package-lock.json"
    kind: ClassVar[SourceKind] = SourceKind.LOCKFILE

    @classmethod
    def matches(cls, path: Path) -> bool:
        return path.name in NAMES

    def read(self, path: Path) -> SourceResult:
        text = read_text(path)
        doc = expect(load_json(path, text), dict, path, "(top level)")
        version = doc.get("lockfileVersion", 1)
        if isinstance(version, bool) or not isinstance(version, int):
            raise SourceError(path, "lockfileVersion", "expected an integer")
        notes: list[str] = []
        skipped: list[Skipped] = []
        index = LineIndex(text)
        if version >= 2:
            if "packages" not in doc:
                raise SourceError(path, "packages", f"missing (lockfileVersion {version})")
            if version > _LATEST_VERSION:
                notes.append(
                    f"lockfileVersion {version} is newer than this reader knows; "
                    f"read as version {_LATEST_VERSION}"
                )
            tree = _tree_from_packages(path, doc, text, index, skipped)
            direct = _declared(tree, [k for k in tree.entries if _is_root(k)])
        elif version == 1:
            tree = _tree_from_v1(path, doc, text, index)
            direct = _v1_direct(path, tree, notes)
        else:
            raise SourceError(path, "lockfileVersion", f"unsupported lockfileVersion {version}")
        nodes, edges = _graph(tree, skipped)
        components = graph_components(str(path), nodes, edges, direct)
        return result(path, self.format, self.kind, components, skipped, notes)


def _tree_from_packages(
    path: Path, doc: dict[str, Any], text: str, index: LineIndex, skipped: list[Skipped]
) -> _Tree:
    packages = expect(doc["packages"], dict, path, "packages")
    offsets = json_offsets(text, lambda p: len(p) == 2 and p[0] == "packages")
    tree = _Tree(path)
    for key, raw in packages.items():
        place = _place("packages", key)
        entry = expect(raw, dict, path, place)
        offset = offsets.get(("packages", key))
        line = None if offset is None else index.line_at(offset)
        if entry.get("link") is True:
            target = expect(entry.get("resolved"), str, path, f"{place}.resolved")
            # Link targets are directories relative to the project root; "" is the root.
            normal = posixpath.normpath(target)
            tree.links[key] = "" if normal == "." else normal
            continue
        tree.entries[key] = entry
        tree.places[key] = place
        tree.lines[key] = line
    for key, target in tree.links.items():
        if target not in tree.entries and target not in tree.links:
            name = _install_name(key)
            offset = offsets.get(("packages", key))
            skipped.append(
                Skipped(
                    name=name,
                    reason=f"linked to local directory {target!r}, which the lockfile "
                    "does not list",
                    location=Location(str(path), None if offset is None else index.line_at(offset)),
                    ecosystem=NPM,
                )
            )
    return tree


def _tree_from_v1(path: Path, doc: dict[str, Any], text: str, index: LineIndex) -> _Tree:
    offsets = json_offsets(text, _is_v1_entry_path)
    tree = _Tree(path, v1=True)

    def walk(deps: Any, parent_key: str, parent_place: str, json_path: JsonPath) -> None:
        for name, raw in expect(deps, dict, path, parent_place).items():
            place = _place(parent_place, name)
            entry = expect(raw, dict, path, place)
            key = f"{parent_key}/node_modules/{name}" if parent_key else f"node_modules/{name}"
            here = (*json_path, name)
            offset = offsets.get(here)
            tree.entries[key] = entry
            tree.places[key] = place
            tree.lines[key] = None if offset is None else index.line_at(offset)
            if "dependencies" in entry:
                walk(entry["dependencies"], key, f"{place}.dependencies", (*here, "dependencies"))

    tree.entries[""] = {}
    tree.places[""] = "(top level)"
    tree.lines[""] = None
    if "dependencies" in doc:
        walk(doc["dependencies"], "", "dependencies", ("dependencies",))
    return tree


def _is_v1_entry_path(p: JsonPath) -> bool:
    # ("dependencies", name, "dependencies", name, ...): an entry at any depth.
    return len(p) % 2 == 0 and all(p[i] == "dependencies" for i in range(0, len(p), 2))


def _dep_names(tree: _Tree, key: str, fields: tuple[str, ...]) -> list[tuple[str, bool]]:
    """(name, dev) for every dependency the entry at `key` declares in `fields`."""
    entry = tree.entries[key]
    out: list[tuple[str, bool]] = []
    for name_field in fields:
        if name_field not in entry:
            continue
        declared = expect(entry[name_field], dict, tree.path, f"{tree.places[key]}.{name_field}")
        out.extend((str(name), name_field == "devDependencies") for name in declared)
    return out


def _declared(tree: _Tree, roots: list[str]) -> dict[str, bool]:
    """Installed keys the roots declare, each with whether only dev declarations name it."""
    direct: dict[str, bool] = {}
    for root in roots:
        for name, dev in _dep_names(tree, root, _ROOT_FIELDS):
            key = tree.resolve(root, name)
            if key is None or _is_root(key):
                continue
            direct[key] = direct.get(key, True) and dev
    return direct


def _v1_direct(path: Path, tree: _Tree, notes: list[str]) -> dict[str, bool]:
    manifest = path.with_name("package.json")
    if manifest.is_file():
        try:
            declared = expect(load_json(manifest), dict, manifest, "(top level)")
            for name_field in _ROOT_FIELDS:
                expect(declared.get(name_field, {}), dict, manifest, name_field)
        except SourceError as e:
            notes.append(f"package.json beside the lockfile could not be read ({e})")
        else:
            tree.entries[""] = declared
            return _declared(tree, [""])
    required: set[str] = set()
    for key in tree.entries:
        if key:
            for name, _ in _dep_names(tree, key, ("requires",)):
                found = tree.resolve(key, name)
                if found is not None:
                    required.add(found)
    notes.append(
        "lockfile version 1 does not record the project's own dependencies and no readable "
        "package.json is beside it: top-level packages nothing else requires are taken as direct"
    )
    return {
        key: _flag(tree, key, "dev")
        for key in tree.entries
        if key.count("node_modules/") == 1 and key not in required
    }


def _flag(tree: _Tree, key: str, name: str) -> bool:
    value = tree.entries[key].get(name, False)
    return bool(expect(value, bool, tree.path, f"{tree.places[key]}.{name}"))


def _identity(tree: _Tree, key: str) -> tuple[str, str | None, str | None]:
    """(name, version, reason it is skipped) of the package installed at `key`."""
    entry = tree.entries[key]
    place = tree.places[key]
    name = _install_name(key)
    if "name" in entry:
        name = expect(entry["name"], str, tree.path, f"{place}.name")
    raw_version = entry.get("version")
    if raw_version is None:
        return name, None, "no version in the lockfile"
    version: str = expect(raw_version, str, tree.path, f"{place}.version")
    resolved = entry.get("resolved")
    if resolved is not None:
        resolved = expect(resolved, str, tree.path, f"{place}.resolved")
    if version.startswith("npm:"):
        # Lockfile v1 writes an alias install's version as `npm:<real name>@<version>`.
        real, _, version = version[len("npm:") :].rpartition("@")
        name = real or name
    source = resolved if resolved is not None else version
    if source.startswith(_GIT_PREFIXES):
        return name, version, f"installed from git ({source}), not a registry release"
    if source.startswith("file:"):
        return name, version, f"installed from a local file ({source})"
    if not semver.Version.is_valid(version):
        return name, version, f"version {version!r} is not a SemVer version"
    return name, version, None


def _graph(tree: _Tree, skipped: list[Skipped]) -> tuple[dict[str, Node], dict[str, list[Edge]]]:
    nodes: dict[str, Node] = {}
    for key in tree.entries:
        if _is_root(key):
            continue
        name, version, reason = _identity(tree, key)
        if reason is not None:
            skipped.append(
                Skipped(
                    name=name,
                    reason=reason,
                    location=Location(str(tree.path), tree.lines.get(key)),
                    ecosystem=NPM,
                    requirement=version,
                )
            )
        nodes[key] = Node(
            key=key,
            ecosystem=NPM,
            name=normalize_name(NPM, name),
            version=version or "",
            line=tree.lines.get(key),
            emit=reason is None,
            scope=Scope.DEV if _flag(tree, key, "dev") else Scope.RUNTIME,
        )
    edges: dict[str, list[Edge]] = {}
    fields = ("requires",) if tree.v1 else _RUNTIME_FIELDS
    for key in nodes:
        children: list[Edge] = []
        for name, _ in _dep_names(tree, key, fields):
            child = tree.resolve(key, name)
            if child is not None and child in nodes and child != key:
                children.append(Edge(child))
        if children:
            edges[key] = children
    return nodes, edges
