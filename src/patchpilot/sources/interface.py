"""The seam every inventory format implements, and the helpers they share.

A `Source` recognises its files by name (`matches`) and reads one file into a `SourceResult`
(`read`). It raises `SourceError` naming the file and the line or key for anything malformed;
a dependency it cannot pin to one version becomes a `Skipped` with the reason, never a silent
omission.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
import tomllib
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from patchpilot.errors import SourceError
from patchpilot.model import Component, Location, Scope, SourceKind, SourceResult

# Manifests or lockfiles bigger than this are refused rather than read into memory.
MAX_FILE_BYTES = 64 * 1024 * 1024


class Source(ABC):
    """Reads one kind of file (`format` names it, e.g. `uv.lock`) into components."""

    format: ClassVar[str]
    kind: ClassVar[SourceKind]

    @classmethod
    @abstractmethod
    def matches(cls, path: Path) -> bool:
        """Whether `path` (by its name, and at most a cheap peek) is a file of this format."""

    @abstractmethod
    def read(self, path: Path) -> SourceResult:
        """Read `path`; raise `SourceError` naming the place for anything malformed."""


def read_text(path: Path) -> str:
    """The file's text, or a `SourceError` saying why it cannot be read."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SourceError(path, None, f"file too large ({size} bytes)")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise SourceError(path, None, f"not UTF-8 text (byte {e.start})") from e
    except OSError as e:
        raise SourceError(path, None, f"cannot read: {e.strerror or e}") from e


def load_json(path: Path, text: str | None = None) -> Any:
    """Parse JSON, turning a syntax error into a `SourceError` at its line."""
    text = read_text(path) if text is None else text
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SourceError(path, e.lineno, f"invalid JSON: {e.msg}") from e
    except RecursionError as e:
        raise SourceError(path, None, "invalid JSON: nested too deeply") from e


def load_toml(path: Path, text: str | None = None) -> dict[str, Any]:
    """Parse TOML (read-only: editing uses tomlkit), turning errors into a `SourceError`.

    Parses are memoised by text: planning reads the same lockfile before and after every
    resolver run, and a large uv.lock costs tens of milliseconds to parse. The returned
    document is shared between callers and must not be modified.
    """
    text = read_text(path) if text is None else text
    try:
        return _parse_toml(text)
    except tomllib.TOMLDecodeError as e:
        line = _toml_error_line(str(e))
        if line is None and str(e).endswith("(at end of document)"):
            # A truncated file fails at its end: name the last line, as editors number it.
            line = text.count("\n") + (0 if text.endswith("\n") else 1)
        raise SourceError(path, line, f"invalid TOML: {e}") from e
    except RecursionError as e:
        raise SourceError(path, None, "invalid TOML: nested too deeply") from e


@functools.lru_cache(maxsize=32)
def _parse_toml(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def _toml_error_line(message: str) -> int | None:
    # tomllib reports "... (at line 3, column 7)"; Python 3.14 adds attributes, 3.11 has none.
    marker = "(at line "
    start = message.rfind(marker)
    if start < 0:
        return None
    digits = message[start + len(marker) :].split(",", 1)[0]
    return int(digits) if digits.isdigit() else None


def expect(value: Any, kind: type | tuple[type, ...], path: Path, place: str) -> Any:
    """`value` if it is of `kind`, else a `SourceError` naming the key path `place`."""
    if not isinstance(value, kind):
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        got = type(value).__name__
        raise SourceError(path, place, f"expected {_json_kind(want)}, found {_json_kind(got)}")
    return value


_JSON_NAMES = {"dict": "a table/object", "list": "an array", "str": "a string", "bool": "a boolean"}


def _json_kind(name: str) -> str:
    return " or ".join(_JSON_NAMES.get(part, part) for part in name.split(" or "))


class LineIndex:
    """Finds the first line a text holds a given snippet on, for locating components.

    Lockfile parsers (TOML, JSON) do not report positions; searching the raw text for the
    entry's distinctive snippet (`name = "jinja2"`, `"node_modules/lodash":`) gives the line
    users see in their editor. For lockfiles with thousands of entries, `first_lines` reads
    every entry header in one pass instead of one search per component.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self._patterns: dict[str, dict[tuple[str, ...], int]] = {}

    def line_of(self, snippet: str, start_line: int = 1) -> int | None:
        offset = self._starts[start_line - 1] if 0 < start_line <= len(self._starts) else 0
        pos = self._text.find(snippet, offset)
        if pos < 0:
            return None
        return self.line_at(pos)

    def first_lines(self, pattern: str) -> dict[tuple[str, ...], int]:
        """For a regex (multiline mode), the first line each distinct group tuple occurs on.

        Computed once per pattern and kept, so repeated lookups are dictionary hits.
        """
        found = self._patterns.get(pattern)
        if found is None:
            found = {}
            for m in re.finditer(pattern, self._text, re.MULTILINE):
                found.setdefault(m.groups(), self.line_at(m.start()))
            self._patterns[pattern] = found
        return found

    def line_at(self, offset: int) -> int:
        return bisect.bisect_right(self._starts, offset)


def shortest_paths(
    roots: Iterable[str], edges: Mapping[str, Iterable[str]]
) -> dict[str, tuple[str, ...]]:
    """One shortest chain of node keys from any root to every reachable node (both ends in).

    A breadth-first walk from all roots at once, so the cost is linear in the graph's size
    even for lockfiles with thousands of packages. Keys are whatever the caller uses to name
    nodes (name, or name@version where a lockfile holds several versions of one name).
    """
    paths: dict[str, tuple[str, ...]] = {}
    queue: deque[str] = deque()
    for root in roots:
        if root not in paths:
            paths[root] = (root,)
            queue.append(root)
    while queue:
        node = queue.popleft()
        for child in edges.get(node, ()):
            if child not in paths:
                paths[child] = (*paths[node], child)
                queue.append(child)
    return paths


def parents_of(edges: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Invert a dependency graph: for every node, the nodes that depend on it directly."""
    parents: dict[str, list[str]] = {}
    for parent, children in edges.items():
        for child in children:
            bucket = parents.setdefault(child, [])
            if parent not in bucket:
                bucket.append(parent)
    return parents


def result(
    path: Path,
    fmt: str,
    kind: SourceKind,
    components: Iterable[Any],
    skipped: Iterable[Any] = (),
    notes: Iterable[str] = (),
    includes: Iterable[str] = (),
) -> SourceResult:
    """Build a `SourceResult` from iterables (kept sorted for deterministic output)."""
    return SourceResult(
        path=str(path),
        format=fmt,
        kind=kind,
        components=tuple(sorted(components, key=lambda c: (c.name, c.version))),
        skipped=tuple(skipped),
        notes=tuple(notes),
        includes=tuple(includes),
    )


MAX_PATHS = 5


def merge_components(components: Iterable[Component]) -> tuple[Component, ...]:
    """One component per (ecosystem, name, version), with locations and paths unioned.

    Used within one file (npm installs one version at several places in node_modules, SBOMs
    list a package once per place it was found, requirements files pin through includes) and
    across the files of a scan. Direct wins over transitive and runtime over dev: a package
    declared directly anywhere is a direct dependency, and one needed at run time anywhere
    ships. The shortest `MAX_PATHS` paths are kept.
    """
    merged: dict[tuple[str, str, str], list[Component]] = {}
    for comp in components:
        merged.setdefault(comp.key, []).append(comp)
    out: list[Component] = []
    for group in merged.values():
        first = group[0]
        if len(group) == 1:
            out.append(first)
            continue
        locations: tuple[Location, ...] = tuple(
            sorted({loc for c in group for loc in c.locations}, key=_loc_key)
        )
        paths = tuple(
            sorted({p for c in group for p in c.paths}, key=lambda p: (len(p), p))[:MAX_PATHS]
        )
        parents = tuple(sorted({p for c in group for p in c.parents}))
        out.append(
            Component(
                ecosystem=first.ecosystem,
                name=first.name,
                version=first.version,
                purl=first.purl,
                direct=any(c.direct for c in group),
                scope=Scope.RUNTIME if any(c.scope is Scope.RUNTIME for c in group) else Scope.DEV,
                locations=locations,
                paths=paths,
                parents=parents,
            )
        )
    out.sort(key=lambda c: (c.ecosystem.value, c.name, c.version))
    return tuple(out)


def _loc_key(loc: Location) -> tuple[str, int]:
    return (loc.path, loc.line or 0)
