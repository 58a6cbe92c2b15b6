"""Shared pieces of the npm, Cargo, Go and SBOM readers: components, graphs and JSON lines.

These formats name packages in other ecosystems than PyPI, record a dependency graph of
their own shape, and (for the JSON ones) do not say on which line an entry sits. This module
owns the rules they share: building a `Component` in any ecosystem, turning a graph of
package nodes into direct/transitive components with scopes, paths and parents, merging the
entries a file lists twice, and finding the line of a value inside a JSON document.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from patchpilot.model import (
    Component,
    Ecosystem,
    Location,
    Scope,
    make_purl,
    normalize_name,
)
from patchpilot.sources.interface import merge_components

JsonPath = tuple[str | int, ...]


def component(
    ecosystem: Ecosystem,
    name: str,
    version: str,
    *,
    direct: bool,
    scope: Scope,
    locations: Iterable[Location],
    paths: Iterable[tuple[str, ...]] = (),
    parents: Iterable[str] = (),
    purl: str | None = None,
) -> Component:
    """A component; a direct one gets its own name as its path when none is given."""
    norm = normalize_name(ecosystem, name)
    path_list = tuple(dict.fromkeys(paths))
    if direct and not path_list:
        path_list = ((norm,),)
    return Component(
        ecosystem=ecosystem,
        name=norm,
        version=version,
        purl=purl or make_purl(ecosystem, norm, version),
        direct=direct,
        scope=scope,
        locations=tuple(locations),
        paths=path_list,
        parents=tuple(sorted(set(parents))),
    )


@dataclass(frozen=True, slots=True)
class Node:
    """One package of a recorded graph.

    `key` identifies the node within the file (a node_modules path, `name@version`, a
    bom-ref, an SPDXID); `name` is what paths and parents show. A node with `emit` false is
    part of the graph (paths run through it) but is not a component: it was skipped, with
    its reason recorded by the reader, and may have no ecosystem patchpilot knows. `scope`
    is the scope the file states, if it does.
    """

    key: str
    ecosystem: Ecosystem | None
    name: str
    version: str
    line: int | None
    emit: bool = True
    scope: Scope | None = None
    purl: str | None = None


@dataclass(frozen=True, slots=True)
class Edge:
    """A dependency of one node on another, `dev` when only development needs it."""

    child: str
    dev: bool = False


def _walk(
    starts: Iterable[str], edges: Mapping[str, Sequence[Edge]], *, runtime_only: bool
) -> dict[str, tuple[str, ...]]:
    # Breadth-first from all starts at once: one shortest chain of keys to every node.
    paths: dict[str, tuple[str, ...]] = {}
    queue: deque[str] = deque()
    for key in starts:
        if key not in paths:
            paths[key] = (key,)
            queue.append(key)
    while queue:
        key = queue.popleft()
        for edge in edges.get(key, ()):
            if runtime_only and edge.dev:
                continue
            if edge.child not in paths:
                paths[edge.child] = (*paths[key], edge.child)
                queue.append(edge.child)
    return paths


def graph_components(
    path: str,
    nodes: Mapping[str, Node],
    edges: Mapping[str, Sequence[Edge]],
    direct: Mapping[str, bool],
) -> list[Component]:
    """Components of a recorded graph, from the keys the project depends on itself.

    `direct` maps each directly required key to whether only development needs it. A node
    reachable from a runtime root over runtime edges is runtime, one reachable only through
    a dev root or edge is dev, unless the file states the node's scope itself. A node no root
    reaches is kept as a transitive runtime component without a path: a lock or SBOM may
    list platform-specific or stale entries, and a scanner must not hide what may ship.
    """
    roots = [k for k in direct if k in nodes]
    runtime_roots = [k for k in roots if not direct[k]]
    runtime_paths = _walk(runtime_roots, edges, runtime_only=True)
    all_paths = _walk(roots, edges, runtime_only=False)
    parents: dict[str, set[str]] = {}
    for parent, children in edges.items():
        if parent not in nodes:
            continue
        for edge in children:
            parents.setdefault(edge.child, set()).add(nodes[parent].name)
    out: list[Component] = []
    for key, node in nodes.items():
        if not node.emit or node.ecosystem is None:
            continue
        chain = runtime_paths.get(key) or all_paths.get(key)
        if node.scope is not None:
            scope = node.scope
        elif key in all_paths and key not in runtime_paths:
            scope = Scope.DEV
        else:
            scope = Scope.RUNTIME
        is_direct = key in direct
        paths: list[tuple[str, ...]] = []
        if is_direct:
            paths.append((node.name,))
        if chain is not None and len(chain) > 1:
            paths.append(tuple(nodes[k].name for k in chain))
        out.append(
            component(
                node.ecosystem,
                node.name,
                node.version,
                direct=is_direct,
                scope=scope,
                locations=(Location(path, node.line),),
                paths=paths,
                parents=parents.get(key, ()),
                purl=node.purl,
            )
        )
    return list(merge_components(out))


# One JSON lexeme: a string, a structural character, or a bare literal (number, true, null).
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


def json_offsets(text: str, wanted: Callable[[JsonPath], bool]) -> dict[JsonPath, int]:
    """Where each wanted value of a JSON document starts, by its path of keys and indexes.

    `json` reports no positions, so the text is scanned once more: `text` must already have
    parsed. A path is the keys and array indexes leading to a value, e.g.
    `("packages", "node_modules/lodash")` or `("components", 3)`; `wanted` picks the paths to
    record, so a large lockfile costs one pass and a small dictionary.
    """
    found: dict[JsonPath, int] = {}
    # Each open container: its path, whether it is an object, the next array index, and
    # the key last read in it (an object's value follows its key and colon).
    stack: list[tuple[JsonPath, bool, list[int], list[str | None]]] = []
    expect_key = False
    for match in _JSON_TOKEN.finditer(text):
        lexeme = match.group()
        if lexeme in (":", ","):
            if lexeme == "," and stack and stack[-1][1]:
                expect_key = True
            continue
        if lexeme in ("}", "]"):
            if stack:
                stack.pop()
            expect_key = False
            continue
        if stack and stack[-1][1] and expect_key:
            if lexeme.startswith('"'):
                stack[-1][3][0] = _decode_key(lexeme)
            expect_key = False
            continue
        # A value: find its path from the container it sits in.
        if not stack:
            here: JsonPath = ()
        elif stack[-1][1]:
            key = stack[-1][3][0]
            here = (*stack[-1][0], key if key is not None else "")
        else:
            index = stack[-1][2]
            here = (*stack[-1][0], index[0])
            index[0] += 1
        if here and wanted(here):
            found[here] = match.start()
        if lexeme == "{":
            stack.append((here, True, [0], [None]))
            expect_key = True
        elif lexeme == "[":
            stack.append((here, False, [0], [None]))
    return found


def _decode_key(lexeme: str) -> str:
    if "\\" not in lexeme:
        return lexeme[1:-1]
    try:
        value = json.loads(lexeme)
    except ValueError:
        return lexeme[1:-1]
    return value if isinstance(value, str) else lexeme[1:-1]
