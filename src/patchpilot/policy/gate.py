"""The CI gate: which findings violate the policy's `[gate]` settings, after ignores and VEX.

A finding violates the gate when its severity is at or above `fail_on` (an unrated finding
always counts as at or above: a threshold never lets an unknown severity pass), when it is in
CISA KEV and `kev` is on, or when its EPSS score reaches `epss_at_least`, unless a VEX
statement suppresses it (the caller maps such finding IDs to the statement's justification) or
a live ignore names it. The result says all of it, stale ignores included; rendering (table,
SARIF) and the exit status are the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeVar

from patchpilot.model import Finding, SeverityLevel
from patchpilot.policy.facts import ExploitSignalsLike
from patchpilot.policy.ignores import Ignore, apply_ignores
from patchpilot.policy.model import GateSettings, Policy

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class GateResult:
    """What the gate found.

    - `violations`: findings that fail the gate, in the order given; `reasons` maps each of
      their IDs to why (`severity high is at least medium`, `in CISA KEV`, …).
    - `suppressed`: (finding, reason) for findings a VEX statement suppresses.
    - `ignored`: (finding, ignore) for findings a live ignore names (a finding VEX already
      suppresses is listed there, not here).
    - `expired_ignores`, `unused_ignores`: ignores that are past their date, or named nothing.
    """

    violations: tuple[Finding, ...]
    suppressed: tuple[tuple[Finding, str], ...]
    ignored: tuple[tuple[Finding, Ignore], ...]
    expired_ignores: tuple[Ignore, ...]
    unused_ignores: tuple[Ignore, ...]
    reasons: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    @property
    def passed(self) -> bool:
        return not self.violations


def gate(
    findings: Iterable[Finding],
    policy: Policy,
    *,
    signals: Mapping[str, ExploitSignalsLike],
    suppressed: Mapping[str, str],
    today: date,
    root: Path | str | None = None,
) -> GateResult:
    """Hold `findings` against `policy.gate` (see the module); `signals` and `suppressed` are
    keyed by finding ID (an alias works too); `root` is what ignore paths are relative to."""
    found = list(findings)
    report = apply_ignores(found, policy.ignores, today, root=root)
    violations: list[Finding] = []
    vex: list[tuple[Finding, str]] = []
    ignored: list[tuple[Finding, Ignore]] = []
    reasons: dict[str, tuple[str, ...]] = {}
    for finding in found:
        statement = _lookup(suppressed, finding)
        if statement is not None:
            vex.append((finding, statement))
            continue
        ignore = report.ignore_for(finding)
        if ignore is not None:
            ignored.append((finding, ignore))
            continue
        why = violates(finding, policy.gate, _lookup(signals, finding))
        if why:
            violations.append(finding)
            reasons[finding.id] = why
    return GateResult(
        violations=tuple(violations),
        suppressed=tuple(vex),
        ignored=tuple(ignored),
        expired_ignores=report.expired,
        unused_ignores=report.unused,
        reasons=reasons,
    )


def violates(
    finding: Finding, settings: GateSettings, signal: ExploitSignalsLike | None
) -> tuple[str, ...]:
    """Why `finding` fails the gate (empty when it does not)."""
    why: list[str] = []
    level = finding.severity.level
    if settings.fail_on != "never":
        threshold = SeverityLevel(settings.fail_on)
        if level is SeverityLevel.UNKNOWN:
            why.append(f"severity unknown, which counts as at least {threshold.value}")
        elif level.rank >= threshold.rank:
            why.append(f"severity {level.value} is at least {threshold.value}")
    if settings.kev and signal is not None and signal.kev:
        why.append("in CISA KEV (known exploited)")
    epss = signal.epss if signal is not None else None
    if settings.epss_at_least is not None and epss is not None and epss >= settings.epss_at_least:
        why.append(f"EPSS {epss:g} is at least {settings.epss_at_least:g}")
    return tuple(why)


def _lookup(table: Mapping[str, _T], finding: Finding) -> _T | None:
    for ident in (finding.id, *finding.aliases):
        found = table.get(ident)
        if found is not None:
            return found
    return None
