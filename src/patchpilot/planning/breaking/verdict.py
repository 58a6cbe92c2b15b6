"""Whether upgrading one package breaks a project's own code, and at which lines.

`assess(project_dir, name, old, new, cache_dir=...)` holds the API breaks of `old → new`
(`apidiff.diff`) against the project's uses of the package (`callsites.scan`) and returns a
`Verdict`: `breaks-project` with the `Site`s that hit a break, `api-changed-unused` when the
API changed but nothing in the project uses the changed parts, `compatible` when nothing public
changed incompatibly, `unknown` with the reason when a version could not be fetched or read.
A site is a use of a removed name (an import counts, since it fails at import time), a call
that omits a parameter that became required, passes by keyword a parameter that was removed or
renamed, or passes positionally a parameter that was removed or moved. Breaks that only change
behaviour (defaults, return annotations, bases) are reported with the API change but make no
site. Whether the project's installed dependencies use the removed API (`breaks-dependency`)
needs those dependencies' code and is assessed by the caller, which can run `callsites.scan`
over each installed dependency's tree with the same `ApiDiff`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from patchpilot.errors import BreakingError
from patchpilot.events import Reporter
from patchpilot.planning.breaking import apidiff, callsites
from patchpilot.planning.breaking.apidiff import ApiBreak, ApiDiff, BreakKind
from patchpilot.planning.breaking.callsites import Use, UseKind


class VerdictKind(StrEnum):
    """The answer to "does this upgrade break the project?"."""

    BREAKS_PROJECT = "breaks-project"
    API_CHANGED_UNUSED = "api-changed-unused"
    COMPATIBLE = "compatible"
    UNKNOWN = "unknown"

    @property
    def is_breaking(self) -> bool:
        return self is VerdictKind.BREAKS_PROJECT


@dataclass(frozen=True, slots=True)
class Site:
    """One place in the project (`path` relative to it, POSIX; `line` 1-based) hit by a break."""

    path: str
    line: int
    symbol: str
    api_break: ApiBreak
    message: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verdict on upgrading `name` from `old` to `new` for one project.

    `breaks` are all incompatible API changes between the versions (used or not), `sites` the
    project's uses that hit one, `notes` what the scan could not read.
    """

    name: str
    old: str
    new: str
    verdict: VerdictKind
    reason: str
    breaks: tuple[ApiBreak, ...] = ()
    sites: tuple[Site, ...] = ()
    notes: tuple[str, ...] = ()


def assess(
    project_dir: Path,
    name: str,
    old: str,
    new: str,
    *,
    cache_dir: Path,
    reporter: Reporter | None = None,
) -> Verdict:
    """The verdict on upgrading `name` from `old` to `new` for the project at `project_dir`."""
    reporter = reporter or Reporter()
    task = f"breaking-changes {name} {old}→{new}"
    reporter.start(task, 2)
    try:
        try:
            diff = apidiff.diff(name, old, new, cache_dir)
        except BreakingError as e:
            return Verdict(name, old, new, VerdictKind.UNKNOWN, str(e))
        reporter.advance(task, detail="api diff")
        scan = callsites.scan(project_dir, diff.packages)
        reporter.advance(task, detail="call sites")
    finally:
        reporter.finish(task)
    notes = tuple(f"{s.path}: skipped, {s.reason}" for s in scan.skipped)
    for note in notes:
        reporter.note(note)
    return judge(diff, scan.uses, notes)


def judge(diff: ApiDiff, uses: tuple[Use, ...], notes: tuple[str, ...] = ()) -> Verdict:
    """The verdict from an API diff and the project's uses of the package."""
    if not diff.packages:
        return Verdict(
            diff.name,
            diff.old,
            diff.new,
            VerdictKind.UNKNOWN,
            "the distribution provides no Python package to compare",
            notes=notes,
        )
    sites: dict[tuple[str, int, str, ApiBreak], Site] = {}
    for use in uses:
        for site in sites_of(diff, use):
            sites.setdefault((site.path, site.line, site.symbol, site.api_break), site)
    ordered = tuple(sorted(sites.values(), key=lambda s: (s.path, s.line, s.symbol, s.message)))
    if ordered:
        where = list(dict.fromkeys(f"{s.path}:{s.line}" for s in ordered))
        reason = f"{len(ordered)} use(s) hit an API break: {', '.join(where[:5])}" + (
            "…" if len(where) > 5 else ""
        )
        kind = VerdictKind.BREAKS_PROJECT
    elif diff.breaks:
        used = sorted({u.symbol for u in uses})
        reason = f"{len(diff.breaks)} API change(s) between {diff.old} and {diff.new}; " + (
            f"none at the {len(used)} name(s) the project uses"
            if used
            else f"the project does not use {', '.join(diff.packages)}"
        )
        kind = VerdictKind.API_CHANGED_UNUSED
    else:
        reason = f"no incompatible public API change between {diff.old} and {diff.new}"
        kind = VerdictKind.COMPATIBLE
    return Verdict(diff.name, diff.old, diff.new, kind, reason, diff.breaks, ordered, notes)


def _prefixes(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:cut]) for cut in range(len(parts), 0, -1)]


def sites_of(diff: ApiDiff, use: Use) -> list[Site]:
    """The sites one use hits: removed names first, then incompatible calls."""
    spelled = {use.symbol, diff.resolve(use.symbol)}
    found: list[Site] = []
    removal = _removal_hit(diff, spelled)
    if removal is not None:
        verb = "imports" if use.kind is UseKind.IMPORT else "uses"
        if use.kind is UseKind.CALL:
            verb = "calls"
        found.append(
            _site(use, removal, f"{verb} {use.symbol}; {removal.path} was removed in {diff.new}")
        )
        return found
    if use.kind is not UseKind.CALL:
        return found
    for brk in diff.breaks:
        if brk.param is None:
            continue
        if brk.path in spelled:
            # Called through an instance, `self` is implicit; called through the class
            # (`Cls.method(...)`) whether it is passed explicitly is unknown, so only keyword
            # arguments are judged.
            offset: int | None = (1 if use.instance else None) if brk.bound else 0
        elif brk.path.endswith(".__init__") and brk.path.removesuffix(".__init__") in spelled:
            offset = 1
        else:
            continue
        message = _call_problem(use, brk, offset, diff.new)
        if message is not None:
            found.append(_site(use, brk, message))
    return found


def _removal_hit(diff: ApiDiff, spelled: set[str]) -> ApiBreak | None:
    """The removal break a used path falls under, if any.

    The diff's removal breaks are looked up first; a name the old version had at module level
    and the new one lacks is a removal too (covering names the public-API rules left out),
    unless the new module answers missing names through a module `__getattr__`.
    """
    removals = {b.path: b for b in diff.breaks if b.kind.is_removal}
    for path in spelled:
        for prefix in _prefixes(path):
            if prefix in removals:
                return removals[prefix]
    for path in spelled:
        for prefix in _prefixes(path):
            if prefix in diff.old_names:
                parent = prefix.rsplit(".", 1)[0]
                dynamic = prefix in diff.dynamic or parent in diff.dynamic
                if prefix not in diff.new_names and not dynamic:
                    if parent != prefix and parent not in diff.new_names:
                        continue  # the module went away: its own removal is the real cause
                    return ApiBreak(
                        BreakKind.REMOVED_NAME, prefix, f"{prefix} was removed in {diff.new}"
                    )
                break
    return None


def _call_problem(use: Use, brk: ApiBreak, offset: int | None, new: str) -> str | None:
    """Why a call hits a parameter break, or None when the call is unaffected."""
    param = brk.param or "?"
    by_keyword = param in use.keywords

    def passed_at(position: int | None) -> bool:
        if offset is None or position is None or use.star_args:
            return False
        return use.positional > position - offset

    call = f"calls {use.symbol}"
    if brk.kind is BreakKind.REMOVED_PARAMETER:
        if by_keyword:
            return f"{call} with {param}=; parameter {param} was removed in {new}"
        if passed_at(brk.old_position):
            return f"{call} passing {param} positionally; parameter {param} was removed in {new}"
        return None
    if brk.kind is BreakKind.RENAMED_PARAMETER:
        if by_keyword:
            return f"{call} with {param}=; {brk.detail}"
        return None
    if brk.kind in (BreakKind.PARAMETER_BECAME_REQUIRED, BreakKind.NEW_REQUIRED_PARAMETER):
        if by_keyword or use.star_args or use.star_kwargs or offset is None:
            return None
        if passed_at(brk.new_position):
            return None
        became = (
            "became required"
            if brk.kind is BreakKind.PARAMETER_BECAME_REQUIRED
            else ("was added as required")
        )
        return f"{call} without {param}; {param} {became} in {new}"
    if brk.kind is BreakKind.PARAMETER_MOVED:
        if not by_keyword and passed_at(brk.old_position):
            return f"{call} passing {param} positionally; {param} moved position in {new}"
        return None
    return None


def _site(use: Use, brk: ApiBreak, what: str) -> Site:
    return Site(use.path, use.line, use.symbol, brk, f"{use.path}:{use.line} {what}")
