"""Shared pieces of the Python readers: exact pins, PyPI components and lockfile graphs.

Every Python format ends in the same place: a normalised PyPI name, one exact version, a
location, and (for lockfiles) a dependency graph that decides which components are direct,
which are only needed for development, and the chain of packages that pulls each one in.
This module owns those rules so the six readers apply them identically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet

from patchpilot.errors import SourceError
from patchpilot.model import (
    Component,
    Ecosystem,
    Location,
    NormalizedName,
    Scope,
    Skipped,
    make_purl,
    normalize_name,
)
from patchpilot.sources.interface import LineIndex, parents_of, shortest_paths

PYPI = Ecosystem.PYPI

MANIFEST_NOTE = (
    "this manifest holds version constraints, not exact versions: only exact pins were read; "
    "a lockfile gives exact results"
)


def pypi_name(name: str) -> NormalizedName:
    return normalize_name(PYPI, name)


def component(
    name: str,
    version: str,
    *,
    direct: bool,
    scope: Scope,
    locations: Iterable[Location],
    paths: Iterable[tuple[str, ...]] = (),
    parents: Iterable[str] = (),
) -> Component:
    """A PyPI component; a direct one gets its own name as its path when none is given."""
    norm = pypi_name(name)
    path_list = tuple(paths)
    if direct and not path_list:
        path_list = ((norm,),)
    return Component(
        ecosystem=PYPI,
        name=norm,
        version=version,
        purl=make_purl(PYPI, norm, version),
        direct=direct,
        scope=scope,
        locations=tuple(locations),
        paths=path_list,
        parents=tuple(sorted(set(parents))),
    )


def skipped(
    name: str, reason: str, path: Path | str, line: int | None, requirement: str | None = None
) -> Skipped:
    return Skipped(
        name=name,
        reason=reason,
        location=Location(str(path), line),
        ecosystem=PYPI,
        requirement=requirement,
    )


def exact_version(specifier: SpecifierSet) -> str | None:
    """The one version `specifier` pins with `==`/`===`, or None when it is a range.

    A wildcard (`==1.*`) matches many versions, so it is not a pin; two different exact
    pins contradict each other and pin nothing.
    """
    exact = {
        spec.version
        for spec in specifier
        if spec.operator in ("==", "===") and not spec.version.endswith(".*")
    }
    return exact.pop() if len(exact) == 1 else None


def parse_requirement(text: str, path: Path, place: int | str) -> Requirement:
    """A PEP 508 requirement, or a `SourceError` at `place` saying why it is not one."""
    try:
        return Requirement(text)
    except InvalidRequirement as e:
        message = str(e).splitlines()[0] if str(e) else "invalid requirement"
        raise SourceError(path, place, f"invalid requirement {text!r}: {message}") from e


def requirement_label(text: str) -> str:
    """A requirement as written, without its marker and with whitespace collapsed."""
    return " ".join(text.split(";", 1)[0].split())


def unpinned_reason(label: str, has_specifier: bool) -> str:
    """Why a declared dependency is not a component: it names a range, or no version."""
    if not has_specifier:
        return f"not pinned: {label} (no version given)"
    return f"not pinned: {label} (a constraint, not a version)"


def redact_url(url: str) -> str:
    """`url` without a user name or password, so tokens never reach reports."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return re.sub(r"//[^/@]*@", "//", url)
    if host is None or (parts.username is None and parts.password is None):
        return url
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True, slots=True)
class Node:
    """One locked package: `key` is its name, or `name@version` when a lock holds several."""

    key: str
    name: NormalizedName
    version: str
    line: int | None


def graph_components(
    path: Path,
    nodes: Mapping[str, Node],
    *,
    edges: Mapping[str, Sequence[str]],
    runtime_roots: Iterable[str],
    dev_roots: Iterable[str],
    scopes: Mapping[str, Scope] | None = None,
) -> list[Component]:
    """Components of a locked graph, direct and scoped from the project's own roots.

    Roots are the keys the project depends on itself. A package reachable from a runtime root
    is runtime; one reachable only from dev roots is dev; `scopes` overrides that where the
    lockfile records it. Direct components list the locked packages that depend on them
    too (the project itself is not a package). A package no root reaches is kept (a lock may
    hold platform-specific or stale entries) as transitive runtime: a scanner must not hide
    what may ship.
    """
    runtime = [k for k in dict.fromkeys(runtime_roots) if k in nodes]
    dev = [k for k in dict.fromkeys(dev_roots) if k in nodes]
    direct = set(runtime) | set(dev)
    runtime_paths = shortest_paths(runtime, edges)
    all_paths = shortest_paths([*runtime, *dev], edges)
    parents = parents_of(edges)
    out: list[Component] = []
    for key, node in nodes.items():
        chain = runtime_paths.get(key) or all_paths.get(key)
        if scopes is not None and key in scopes:
            scope = scopes[key]
        elif key in all_paths and key not in runtime_paths:
            scope = Scope.DEV
        else:
            scope = Scope.RUNTIME
        paths: list[tuple[str, ...]] = []
        if key in direct:
            paths.append((node.name,))
        if chain is not None and len(chain) > 1:
            paths.append(tuple(nodes[k].name for k in chain))
        out.append(
            component(
                node.name,
                node.version,
                direct=key in direct,
                scope=scope,
                locations=(Location(str(path), node.line),),
                paths=paths,
                parents=(nodes[p].name for p in parents.get(key, ()) if p in nodes),
            )
        )
    return out


def link(name: str, version: str | None, by_name: Mapping[str, Sequence[str]]) -> list[str]:
    """The node keys a dependency on `name` (at `version`, when the lock says) refers to."""
    keys = by_name.get(pypi_name(name), ())
    if version is None:
        return list(keys)
    return [k for k in keys if k.split("#", 1)[0].endswith(f"@{version}")] or list(keys)


def node_keys(entries: Iterable[tuple[NormalizedName, str]]) -> list[str]:
    """A key per (name, version): the bare name when it is unique in the lock."""
    pairs = list(entries)
    counts: dict[str, int] = {}
    for name, _ in pairs:
        counts[name] = counts.get(name, 0) + 1
    keys: list[str] = []
    seen: set[str] = set()
    for name, version in pairs:
        key = name if counts[name] == 1 else f"{name}@{version}"
        # The same name and version from two sources (index and git, say) stay two nodes.
        base, n = key, 1
        while key in seen:
            n += 1
            key = f"{base}#{n}"
        seen.add(key)
        keys.append(key)
    return keys


# An entry header of a TOML lockfile: `name = "x"` at the start of a line, then its version.
_LOCK_ENTRY = r'^name = "([^"\n]*)"\r?\nversion = "([^"\n]*)"'


def lock_line(index: LineIndex, name: str, version: str | None) -> int | None:
    """The line of a TOML lock entry's `name = "x"`, the one followed by its version if known."""
    if version is not None:
        line = index.first_lines(_LOCK_ENTRY).get((name, version))
        if line is not None:
            return line
    return index.line_of(f'name = "{name}"')
