"""Targeting codemods with SARIF findings from Bandit, Semgrep or Ruff.

A SARIF 2.1.0 log's results name a rule (`B506`, `S506`, a Semgrep rule path ending in
`avoid-pyyaml-load`) and a location. Each result whose rule one of the codemods lists in
`rules` becomes a target: that codemod may then touch only nodes spanning the result's lines
(fuzzy column matching: tools disagree on column spans, so any column of the line counts).
Artifact URIs may be `file://` URIs, paths relative to the project root, to a `uriBaseId`, or
to the directory the tool ran in (Bandit); each is resolved to a file under the project root.
A log that is not SARIF raises `CodefixError` naming the file and the key at fault.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from patchpilot.errors import CodefixError
from patchpilot.fixers.codemods.interface import Codemod


@dataclass(frozen=True, slots=True)
class SarifResult:
    """One result of a SARIF log: the rule, the file (relative to the root) and its lines."""

    rule: str
    path: str
    start_line: int
    end_line: int


@dataclass(frozen=True, slots=True)
class SarifTargets:
    """Results of a SARIF log resolved to project files, and notes on the ones that were not."""

    source: str
    results: tuple[SarifResult, ...]
    notes: tuple[str, ...] = ()
    files: Mapping[str, Mapping[str, frozenset[int]]] = field(default_factory=dict)

    def for_codemods(self, codemods: Sequence[Codemod]) -> SarifTargets:
        """The targets per file and codemod id: lines of results whose rule the codemod lists."""
        files: dict[str, dict[str, set[int]]] = {}
        unmatched: set[str] = set()
        for result in self.results:
            wanted = [c for c in codemods if rule_matches(result.rule, c.rules)]
            if not wanted:
                unmatched.add(result.rule)
            for codemod in wanted:
                lines = files.setdefault(result.path, {}).setdefault(codemod.id, set())
                lines.update(range(result.start_line, result.end_line + 1))
        notes = list(self.notes)
        if unmatched:
            notes.append(
                f"{self.source}: no selected codemod fixes rule(s) {', '.join(sorted(unmatched))}"
            )
        return SarifTargets(
            self.source,
            self.results,
            tuple(notes),
            {p: {k: frozenset(v) for k, v in by.items()} for p, by in files.items()},
        )


def rule_matches(rule: str, rules: Sequence[str]) -> bool:
    """Whether a SARIF `ruleId` is one of `rules`: exactly, case-insensitively, or by the last
    dotted segment (Semgrep ids are paths such as `python.lang.security....avoid-pyyaml-load`)."""
    wanted = {r.lower() for r in rules}
    rule = rule.lower()
    return rule in wanted or rule.rsplit(".", 1)[-1] in wanted


def load_targets(path: Path, root: Path) -> SarifTargets:
    """Read a SARIF file and resolve its results to files under `root`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CodefixError(path, None, f"cannot read SARIF: {e}") from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CodefixError(path, e.lineno, f"not JSON: {e.msg}") from e
    return parse_sarif(data, Path(path), Path(root))


def parse_sarif(data: Any, path: Path, root: Path) -> SarifTargets:
    """Results of a parsed SARIF log (`path` names it in errors)."""
    if not isinstance(data, dict):
        raise CodefixError(path, None, "not a SARIF log: the top level is not an object")
    runs = data.get("runs")
    if not isinstance(runs, list):
        raise CodefixError(path, "runs", "not a SARIF log: `runs` is missing or not a list")
    base = root.resolve()
    results: list[SarifResult] = []
    notes: list[str] = []
    outside: set[str] = set()
    for r, run in enumerate(runs):
        if not isinstance(run, dict):
            raise CodefixError(path, f"runs[{r}]", "not an object")
        bases = _uri_bases(run.get("originalUriBaseIds"), path, f"runs[{r}].originalUriBaseIds")
        rule_ids = _rule_ids(run)
        found = run.get("results", [])
        if not isinstance(found, list):
            raise CodefixError(path, f"runs[{r}].results", "not a list")
        for i, result in enumerate(found):
            key = f"runs[{r}].results[{i}]"
            if not isinstance(result, dict):
                raise CodefixError(path, key, "not an object")
            rule = result.get("ruleId")
            if rule is None and isinstance(result.get("ruleIndex"), int):
                index = result["ruleIndex"]
                rule = rule_ids[index] if 0 <= index < len(rule_ids) else None
            if not isinstance(rule, str) or not rule:
                raise CodefixError(path, f"{key}.ruleId", "missing or not a string")
            locations = result.get("locations", [])
            if not isinstance(locations, list):
                raise CodefixError(path, f"{key}.locations", "not a list")
            for j, location in enumerate(locations):
                where = f"{key}.locations[{j}].physicalLocation"
                physical = location.get("physicalLocation") if isinstance(location, dict) else None
                if not isinstance(physical, dict):
                    raise CodefixError(path, where, "missing or not an object")
                uri, start, end = _location(physical, path, where)
                rel = _resolve(uri, physical, bases, base)
                if rel is None:
                    outside.add(uri)
                    continue
                results.append(SarifResult(rule, rel, start, end))
    if outside:
        shown = ", ".join(sorted(outside)[:3])
        notes.append(f"{path}: results for files outside {root} ignored ({shown})")
    return SarifTargets(str(path), tuple(results), tuple(notes))


def _rule_ids(run: dict[str, Any]) -> list[str | None]:
    tool = run.get("tool")
    driver = tool.get("driver") if isinstance(tool, dict) else None
    rules = driver.get("rules") if isinstance(driver, dict) else None
    if not isinstance(rules, list):
        return []
    return [r.get("id") if isinstance(r, dict) else None for r in rules]


def _uri_bases(raw: Any, path: Path, key: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CodefixError(path, key, "not an object")
    bases: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, dict) and isinstance(value.get("uri"), str):
            bases[name] = value["uri"]
    return bases


def _location(physical: dict[str, Any], path: Path, where: str) -> tuple[str, int, int]:
    artifact = physical.get("artifactLocation")
    uri = artifact.get("uri") if isinstance(artifact, dict) else None
    if not isinstance(uri, str) or not uri:
        raise CodefixError(path, f"{where}.artifactLocation.uri", "missing or not a string")
    region = physical.get("region")
    if not isinstance(region, dict):
        raise CodefixError(path, f"{where}.region", "missing or not an object")
    start = region.get("startLine")
    if not isinstance(start, int) or isinstance(start, bool) or start < 1:
        raise CodefixError(path, f"{where}.region.startLine", "missing or not a positive integer")
    end = region.get("endLine", start)
    if not isinstance(end, int) or isinstance(end, bool) or end < start:
        raise CodefixError(path, f"{where}.region.endLine", "not an integer ≥ startLine")
    return uri, start, end


def _resolve(
    uri: str, physical: dict[str, Any], bases: Mapping[str, str], root: Path
) -> str | None:
    """The file `uri` names, relative to `root` (`/`), or None when it is not under it."""
    artifact = physical.get("artifactLocation", {})
    base_id = artifact.get("uriBaseId") if isinstance(artifact, dict) else None
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return _under(Path(unquote(parsed.path)), root)
    if parsed.scheme and len(parsed.scheme) > 1:
        return None  # http: and the like name no local file
    rel = PurePosixPath(unquote(uri))
    if isinstance(base_id, str) and base_id in bases:
        base_uri = urlparse(bases[base_id])
        if base_uri.scheme == "file":
            return _under(Path(unquote(base_uri.path)) / rel, root)
        rel = PurePosixPath(unquote(bases[base_id])) / rel
    if rel.is_absolute():
        return _under(Path(rel), root)
    if (root / rel).is_file():
        return _under(root / rel, root)
    # Bandit and Semgrep write paths relative to the directory they ran in: the longest
    # suffix of the path that names a file under the root is the file meant.
    parts = rel.parts
    for i in range(1, len(parts)):
        candidate = root.joinpath(*parts[i:])
        if candidate.is_file():
            return _under(candidate, root)
    return _under(Path.cwd() / rel, root)


def _under(path: Path, root: Path) -> str | None:
    try:
        resolved = path.resolve()
    except OSError:
        return None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved.relative_to(root).as_posix()
