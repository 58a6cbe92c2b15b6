"""Reads the dependencies a `pyproject.toml` declares: PEP 621, PEP 735 groups and Poetry.

A manifest states constraints; only a dependency pinned to one exact version (`==1.2`,
`===1.2`, Poetry's bare `"1.2"` or `"==1.2"`) becomes a component, every other one is a
`Skipped` saying it is a constraint, not a pin. `[project].dependencies` and
`[project.optional-dependencies]` are runtime (an optional extra still ships when asked
for, so it is noted, not demoted); `[dependency-groups]` (PEP 735) and Poetry's
`dev-dependencies` and `group.<name>` tables are dev. `declared_dependencies` is shared with
the lockfile readers, which take direct-ness and scope from the sibling pyproject.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from packaging.version import InvalidVersion, Version

from patchpilot.errors import SourceError
from patchpilot.model import Location, NormalizedName, Scope, Skipped, SourceKind, SourceResult
from patchpilot.sources._python import (
    MANIFEST_NOTE,
    component,
    exact_version,
    parse_requirement,
    pypi_name,
    requirement_label,
    skipped,
    unpinned_reason,
)
from patchpilot.sources.interface import (
    LineIndex,
    Source,
    expect,
    load_toml,
    merge_components,
    read_text,
    result,
)

_HEADER_RE = re.compile(r"^\s*\[\[?\s*(?P<name>[^\]]+?)\s*\]\]?\s*(#.*)?$")
_POETRY_EXACT_RE = re.compile(r"^(?:==?)?\s*(?P<version>[0-9A-Za-z][0-9A-Za-z.+!_-]*)$")
_POETRY_SOURCES = ("git", "path", "url", "file")


@dataclass(frozen=True, slots=True)
class Declared:
    """One dependency a manifest declares: its pin when it has one, else why not.

    `origin` says where it was declared (`project.dependencies`, `extra 'http'`,
    `group 'dev'`, `tool.poetry.dependencies`), for notes and skip reasons.
    """

    name: NormalizedName
    text: str
    version: str | None
    reason: str
    scope: Scope
    line: int | None
    origin: str
    optional: bool = False


class TomlLines:
    """Line numbers of tables and keys in TOML text, which `tomllib` does not report."""

    def __init__(self, text: str) -> None:
        self.index = LineIndex(text)
        self._lines = text.split("\n")
        self._headers: dict[str, int] = {}
        self._starts: list[int] = []
        for number, line in enumerate(self._lines, start=1):
            match = _HEADER_RE.match(line)
            if match:
                name = re.sub(r"\s*\.\s*", ".", match.group("name")).replace('"', "")
                self._headers.setdefault(name.replace("'", ""), number)
                self._starts.append(number)

    def table(self, *names: str) -> int | None:
        """The header line of the first of `names` present (`project.optional-dependencies`)."""
        for name in names:
            if name in self._headers:
                return self._headers[name]
        return None

    def key(self, key: str, start: int | None) -> int | None:
        """The first line at or after `start` that assigns `key` (bare or quoted)."""
        escaped = re.escape(key)
        pattern = re.compile(rf"""^\s*(?:{escaped}|"{escaped}"|'{escaped}')\s*=""")
        first = max(start or 1, 1)
        # Within the table that starts at `start`: stop at the next table header.
        end = next((h for h in self._starts if h > first), len(self._lines) + 1)
        for number in range(first, end):
            if pattern.match(self._lines[number - 1]):
                return number
        return None

    def string(self, value: str, start: int | None) -> int | None:
        """The first line at or after `start` holding `value` as a quoted string."""
        for quoted in (f'"{value}"', f"'{value}'"):
            line = self.index.line_of(quoted, start or 1)
            if line is not None:
                return line
        return None


class PyprojectSource(Source):
    """`pyproject.toml`: PEP 621 dependencies, PEP 735 groups, Poetry tables."""

    format: ClassVar[str] = "pyproject.toml"
    kind: ClassVar[SourceKind] = SourceKind.MANIFEST

    @classmethod
    def matches(cls, path: Path) -> bool:
        return path.name == "pyproject.toml"

    def read(self, path: Path) -> SourceResult:
        text = read_text(path)
        data = load_toml(path, text)
        declared, skips, notes = declared_dependencies(path, data, text)
        components = []
        for dep in declared:
            if dep.version is None:
                # Name the extra or group, unless the origin is a plain dependency table.
                plain = dep.origin.startswith(("project.", "tool."))
                reason = dep.reason if plain else f"{dep.reason} ({dep.origin})"
                skips.append(skipped(dep.name, reason, path, dep.line, dep.text))
                continue
            components.append(
                component(
                    dep.name,
                    dep.version,
                    direct=True,
                    scope=dep.scope,
                    locations=(Location(str(path), dep.line),),
                )
            )
            if dep.optional:
                notes.append(
                    f"{dep.name} {dep.version} is declared in the {dep.origin}: read as runtime"
                )
        if any(s.reason.startswith("not pinned") for s in skips):
            notes.append(MANIFEST_NOTE)
        return result(path, self.format, self.kind, merge_components(components), skips, notes)


def declared_dependencies(
    path: Path, data: Mapping[str, Any], text: str
) -> tuple[list[Declared], list[Skipped], list[str]]:
    """Every dependency `data` (a parsed pyproject) declares, with skips and notes.

    Dependencies that name no version source at all (git, path, URL) are skips already;
    the rest are `Declared`, pinned or with the reason they are not.
    """
    lines = TomlLines(text)
    declared: list[Declared] = []
    skips: list[Skipped] = []
    notes: list[str] = []
    project = expect(data.get("project", {}), dict, path, "project")
    project_line = lines.table("project")
    deps = expect(project.get("dependencies", []), list, path, "project.dependencies")
    start = lines.key("dependencies", project_line)
    for i, item in enumerate(deps):
        place = f"project.dependencies[{i}]"
        text_item = expect(item, str, path, place)
        declared.append(
            _pep508(
                path,
                place,
                text_item,
                scope=Scope.RUNTIME,
                lines=lines,
                start=start,
                origin="project.dependencies",
            )
        )
    dynamic = expect(project.get("dynamic", []), list, path, "project.dynamic")
    if "dependencies" in dynamic or "optional-dependencies" in dynamic:
        notes.append(f"{path}: dependencies are dynamic (computed at build time) and not read")
    optional = expect(
        project.get("optional-dependencies", {}), dict, path, "project.optional-dependencies"
    )
    table = lines.table("project.optional-dependencies") or project_line
    for extra, items in optional.items():
        key = f"project.optional-dependencies.{extra}"
        start = lines.key(extra, table)
        for i, item in enumerate(expect(items, list, path, key)):
            place = f"{key}[{i}]"
            dep = _pep508(
                path,
                place,
                expect(item, str, path, place),
                scope=Scope.RUNTIME,
                lines=lines,
                start=start,
                origin=f"optional extra '{extra}'",
            )
            declared.append(_optional(dep))
    declared.extend(_dependency_groups(path, data, lines))
    poetry_declared, poetry_skips = _poetry(path, data, lines)
    declared.extend(poetry_declared)
    skips.extend(poetry_skips)
    return _uv_sources(path, data, declared), skips, notes


def _uv_sources(path: Path, data: Mapping[str, Any], declared: list[Declared]) -> list[Declared]:
    """Say so when `[tool.uv.sources]` takes an unpinned dependency from git, a path or a URL."""
    tool = expect(data.get("tool", {}), dict, path, "tool")
    uv = expect(tool.get("uv", {}), dict, path, "tool.uv")
    sources = expect(uv.get("sources", {}), dict, path, "tool.uv.sources")
    kinds: dict[str, str] = {}
    for name, spec in sources.items():
        for one in spec if isinstance(spec, list) else [spec]:
            if isinstance(one, dict):
                kind = next((k for k in ("git", "path", "url", "workspace") if k in one), None)
                if kind is not None:
                    kinds[pypi_name(name)] = kind
    out: list[Declared] = []
    for dep in declared:
        kind = kinds.get(dep.name)
        if dep.version is None and kind is not None:
            reason = f"{kind} source (tool.uv.sources): version not pinned in the manifest"
            out.append(replace(dep, reason=reason))
        else:
            out.append(dep)
    return out


def _optional(dep: Declared) -> Declared:
    return replace(dep, optional=True)


def _pep508(
    path: Path,
    place: str,
    text: str,
    *,
    scope: Scope,
    lines: TomlLines,
    start: int | None,
    origin: str,
) -> Declared:
    line = lines.string(text, start)
    req = parse_requirement(text, path, place)
    if line is None:
        line = lines.index.line_of(req.name, start or 1)
    name = pypi_name(req.name)
    if req.url is not None:
        reason = "direct URL or VCS reference: version not pinned in the manifest"
        return Declared(name, text, None, reason, scope, line, origin)
    version = exact_version(req.specifier)
    reason = "" if version else unpinned_reason(requirement_label(text), bool(req.specifier))
    return Declared(name, text, version, reason, scope, line, origin)


def _dependency_groups(path: Path, data: Mapping[str, Any], lines: TomlLines) -> list[Declared]:
    """PEP 735 groups: every requirement is dev; `include-group` references are checked."""
    groups = expect(data.get("dependency-groups", {}), dict, path, "dependency-groups")
    by_norm: dict[str, str] = {pypi_name(g): g for g in groups}
    table = lines.table("dependency-groups")
    out: list[Declared] = []
    includes: dict[str, list[str]] = {}
    for group, items in groups.items():
        key = f"dependency-groups.{group}"
        start = lines.key(group, table)
        for i, item in enumerate(expect(items, list, path, key)):
            place = f"{key}[{i}]"
            if isinstance(item, dict):
                target = expect(item.get("include-group"), str, path, f"{place}.include-group")
                if pypi_name(target) not in by_norm:
                    raise SourceError(path, place, f"includes unknown group {target!r}")
                includes.setdefault(pypi_name(group), []).append(pypi_name(target))
                continue
            dep = _pep508(
                path,
                place,
                expect(item, str, path, place),
                scope=Scope.DEV,
                lines=lines,
                start=start,
                origin=f"group '{group}'",
            )
            out.append(dep)
    _check_cycles(path, includes, by_norm)
    return out


def _check_cycles(path: Path, includes: Mapping[str, list[str]], names: Mapping[str, str]) -> None:
    """Refuse `include-group` cycles (PEP 735 forbids them); iterative, so depth is no limit."""
    done: set[str] = set()
    for first in includes:
        if first in done:
            continue
        trail: list[str] = [first]
        on_trail = {first}
        pending: list[list[str]] = [list(includes.get(first, ()))]
        while pending:
            if not pending[-1]:
                pending.pop()
                node = trail.pop()
                on_trail.discard(node)
                done.add(node)
                continue
            target = pending[-1].pop()
            if target in on_trail:
                cycle = " -> ".join(names.get(g, g) for g in (*trail, target))
                raise SourceError(
                    path,
                    f"dependency-groups.{names.get(target, target)}",
                    f"include-group cycle: {cycle}",
                )
            if target in done:
                continue
            trail.append(target)
            on_trail.add(target)
            pending.append(list(includes.get(target, ())))


def _poetry(
    path: Path, data: Mapping[str, Any], lines: TomlLines
) -> tuple[list[Declared], list[Skipped]]:
    tool = expect(data.get("tool", {}), dict, path, "tool")
    poetry = expect(tool.get("poetry", {}), dict, path, "tool.poetry")
    tables: list[tuple[str, Any, Scope]] = [
        ("tool.poetry.dependencies", poetry.get("dependencies", {}), Scope.RUNTIME),
        ("tool.poetry.dev-dependencies", poetry.get("dev-dependencies", {}), Scope.DEV),
    ]
    groups = expect(poetry.get("group", {}), dict, path, "tool.poetry.group")
    for group, raw_body in groups.items():
        body = expect(raw_body, dict, path, f"tool.poetry.group.{group}")
        # Poetry's implicit `main` group is the runtime one; every named group is for development.
        scope = Scope.RUNTIME if group == "main" else Scope.DEV
        tables.append(
            (f"tool.poetry.group.{group}.dependencies", body.get("dependencies", {}), scope)
        )
    declared: list[Declared] = []
    skips: list[Skipped] = []
    for key, raw_table, scope in tables:
        table = expect(raw_table, dict, path, key)
        start = lines.table(key)
        for name, spec in table.items():
            if name.lower() == "python":
                continue
            place = f"{key}.{name}"
            line = lines.key(name, start)
            specs = spec if isinstance(spec, list) else [spec]
            for i, one in enumerate(specs):
                where = place if len(specs) == 1 else f"{place}[{i}]"
                dep = _poetry_dependency(path, where, name, one, scope=scope, line=line, origin=key)
                if isinstance(dep, Skipped):
                    skips.append(dep)
                else:
                    declared.append(dep)
    return declared, skips


def _poetry_dependency(
    path: Path, place: str, name: str, spec: Any, *, scope: Scope, line: int | None, origin: str
) -> Declared | Skipped:
    optional = False
    if isinstance(spec, dict):
        for source in _POETRY_SOURCES:
            if source in spec:
                value = expect(spec[source], str, path, f"{place}.{source}")
                return skipped(
                    pypi_name(name),
                    f"{source} dependency: version not pinned in the manifest",
                    path,
                    line,
                    f"{name} = {{{source} = {value!r}}}",
                )
        optional = expect(spec.get("optional", False), bool, path, f"{place}.optional")
        spec = expect(spec.get("version", "*"), str, path, f"{place}.version")
    constraint = expect(spec, str, path, place).strip()
    norm = pypi_name(name)
    version = poetry_exact(constraint)
    label = f"{name} {constraint}"
    reason = "" if version else unpinned_reason(label, constraint not in ("", "*"))
    where = f"optional extra of {origin}" if optional else origin
    return Declared(norm, label, version, reason, scope, line, where, optional=optional)


def poetry_exact(constraint: str) -> str | None:
    """The version a Poetry constraint pins: bare `1.2.3`, `==1.2.3` or `=1.2.3`, else None."""
    match = _POETRY_EXACT_RE.match(constraint.strip())
    if match is None:
        return None
    version = match.group("version")
    try:
        Version(version)
    except InvalidVersion:
        return None
    return version
