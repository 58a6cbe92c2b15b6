"""Build a plan: one remediation per vulnerable component, each proven by the real resolver.

For every component with findings, `target.choose_target` picks the smallest version that
fixes all of them without introducing new ones; the lockfile's fixer (uv, pip via uv, poetry)
then moves the package there on a private copy of the project, trying the least invasive
strategy first. The resulting lockfile is read back with the real reader and matched against
the store again, so each remediation states every package delta the resolution implies and the
findings it fixes, introduces and leaves open — measured, not assumed.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from patchpilot.advisories.matching import findings_for
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.errors import FixError, PatchpilotError
from patchpilot.events import Reporter
from patchpilot.fixers._workspace import copy_project
from patchpilot.fixers.changeset import ChangeSet, FileEdit, PackageDelta, write_changeset
from patchpilot.fixers.deltas import package_deltas
from patchpilot.fixers.interface import Bump, FixOutcome, LockFixer, Strategy
from patchpilot.fixers.registry import fixer_for
from patchpilot.model import Component, Ecosystem, Finding, ScanResult, SourceResult
from patchpilot.planning.breaking.dependents import DependentBreak
from patchpilot.planning.breaking.verdict import Verdict
from patchpilot.planning.index import PackageIndex
from patchpilot.planning.levels import UpgradeConfig, upgrade_level
from patchpilot.planning.target import TargetChoice, choose_target
from patchpilot.sources.registry import source_for


@dataclass(frozen=True, slots=True)
class Remediation:
    """One way to make a component's findings go away, with everything the resolver implied.

    `kind` follows the glossary: `upgrade` (a direct dependency), `override` (a transitive
    one), `none` (no version fixes it, or it cannot be applied: `reason` says why).
    """

    id: str
    kind: str
    choice: TargetChoice
    findings: tuple[Finding, ...]
    lockfile: str | None
    strategy: Strategy | None
    resolved: str | None
    co_upgrades: tuple[tuple[str, str, str], ...]
    deltas: tuple[PackageDelta, ...]
    fixed: tuple[str, ...]
    introduced: tuple[str, ...]
    left_open: tuple[tuple[str, str], ...]
    reason: str
    outcome: FixOutcome | None = field(default=None, compare=False)
    breaking: tuple[Verdict, ...] = ()
    dependent_breaks: tuple[DependentBreak, ...] = ()

    @property
    def component(self) -> Component:
        return self.choice.component

    @property
    def applicable(self) -> bool:
        return self.strategy is not None and self.outcome is not None


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """What shapes a plan: the index to list versions from, ceilings, cooldown, the clock.

    `config_text` keeps the `--upgrade-config` values as given, for the plan's output.
    """

    index: PackageIndex
    config: UpgradeConfig
    config_text: tuple[str, ...] = ()
    min_release_age_days: int | None = None
    now: datetime | None = None
    check_breaking: bool = True
    breaking_cache: Path | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    root: str
    scan: ScanResult
    remediations: tuple[Remediation, ...]
    upgrade_config: tuple[str, ...]
    min_release_age_days: int | None
    notes: tuple[str, ...] = ()


def remediation_id(component: Component) -> str:
    return f"{component.ecosystem.value}:{component.name}@{component.version}"


def build_plan(
    scan: ScanResult,
    store: AdvisoryStore,
    options: PlanOptions,
    reporter: Reporter | None = None,
) -> Plan:
    """A remediation for every vulnerable component of `scan`, each tried with its fixer."""
    reporter = reporter or Reporter()
    now = options.now or datetime.now(UTC)
    by_component: dict[Component, list[Finding]] = {}
    for f in scan.findings:
        by_component.setdefault(f.component, []).append(f)
    reporter.start("plan", total=len(by_component))
    remediations: list[Remediation] = []
    for component, findings in by_component.items():
        reporter.advance("plan", detail=f"{component.name} {component.version}")
        choice = choose_target(
            component,
            findings,
            store=store,
            index=options.index,
            config=options.config,
            min_release_age_days=options.min_release_age_days,
            now=now,
        )
        remediation = remediate(choice, findings, store, reporter)
        if options.check_breaking and remediation.applicable:
            remediation = with_breaking(remediation, options, reporter)
            if breaks(remediation):
                remediation = prefer_non_breaking(remediation, store, options, reporter)
        remediations.append(remediation)
    reporter.finish("plan")
    remediations.sort(key=lambda r: (r.component.ecosystem.value, r.component.name, r.id))
    return Plan(
        root=scan.inventory.root,
        scan=scan,
        remediations=tuple(remediations),
        upgrade_config=options.config_text,
        min_release_age_days=options.min_release_age_days,
    )


def remediate(
    choice: TargetChoice, findings: Sequence[Finding], store: AdvisoryStore, reporter: Reporter
) -> Remediation:
    """Try the chosen target with the component's lockfile fixer and measure the result."""
    comp = choice.component
    kind = "upgrade" if comp.direct else "override"
    base = Remediation(
        id=remediation_id(comp),
        kind=kind,
        choice=choice,
        findings=tuple(findings),
        lockfile=None,
        strategy=None,
        resolved=None,
        co_upgrades=(),
        deltas=(),
        fixed=(),
        introduced=(),
        left_open=tuple((f.id, "no remediation applied") for f in findings),
        reason="",
    )
    if choice.target is None:
        reason = choice.none_reason or "no fixing version"
        return _replace(
            base, kind="none", reason=reason, left_open=tuple((f.id, reason) for f in findings)
        )
    lockfile, fixer = _fixer_for_component(comp)
    if fixer is None or lockfile is None:
        where = comp.locations[0].path if comp.locations else "its manifest"
        reason = (
            f"patchpilot cannot edit {Path(where).name} yet: upgrade {comp.name} to "
            f"{choice.target} by hand"
        )
        return _replace(base, reason=reason, left_open=tuple((f.id, reason) for f in findings))
    bump = Bump(
        ecosystem=comp.ecosystem,
        name=comp.name,
        current=comp.version,
        target=choice.target,
        direct=comp.direct,
        parents=comp.parents,
    )
    outcome = fixer.fix(lockfile.parent, lockfile, [bump])
    measured = measure(lockfile, outcome, findings, store)
    result = outcome.outcomes[0]
    if result.strategy is None:
        reason = result.reason or "the resolver could not reach the target"
        return _replace(
            base,
            lockfile=str(lockfile),
            reason=reason,
            left_open=tuple((f.id, reason) for f in findings),
            outcome=outcome,
        )
    return _replace(
        base,
        lockfile=str(lockfile),
        strategy=result.strategy,
        resolved=result.resolved,
        co_upgrades=result.co_upgrades,
        deltas=measured.deltas,
        fixed=measured.fixed,
        introduced=measured.introduced,
        left_open=measured.left_open,
        reason=result.reason,
        outcome=outcome,
    )


def with_breaking(r: Remediation, options: PlanOptions, reporter: Reporter) -> Remediation:
    """Hold the upgrade (and every co-upgrade it implies) against the project's own code.

    Only PyPI packages are diffed; the project is the lockfile's directory. A verdict that
    cannot be reached (no distribution, unreadable code) is `unknown` with the reason.
    """
    if r.component.ecosystem is not Ecosystem.PYPI or r.lockfile is None:
        return r
    from platformdirs import user_cache_dir

    from patchpilot.planning.breaking.verdict import assess

    cache = options.breaking_cache or Path(user_cache_dir("patchpilot")) / "breaking"
    project = Path(r.lockfile).parent
    moves: list[tuple[str, str, str]] = [
        (r.component.name, r.component.version, r.resolved or r.choice.target or ""),
        *r.co_upgrades,
    ]
    verdicts = tuple(
        assess(project, name, old, new, cache_dir=cache, reporter=reporter)
        for name, old, new in moves
        if old and new and old != new
    )
    dependents = _dependent_breaks(r, moves, cache, reporter)
    sites = [site for v in verdicts if v.verdict.is_breaking for site in v.sites]
    notes = [d.summary for d in dependents if d.sites]
    if sites or notes:
        # The target is already the smallest version that fixes every finding, so no smaller
        # one avoids the break: say what the fix costs instead of hiding it.
        what = sites[0].message if sites else notes[0]
        trade_off = (
            f"trade-off: {r.choice.target} is the smallest version that fixes "
            f"{len(r.fixed)} finding(s), and it breaks {len(sites) + len(notes)} use(s) "
            f"({what}); review before merging"
        )
        reason = f"{r.reason}; {trade_off}" if r.reason else trade_off
        return _replace(r, breaking=verdicts, dependent_breaks=dependents, reason=reason)
    return _replace(r, breaking=verdicts, dependent_breaks=dependents)


def breaks(r: Remediation) -> bool:
    """Whether the remediation breaks the project's code or a locked dependency's."""
    return any(v.verdict.is_breaking for v in r.breaking) or any(
        d.sites for d in r.dependent_breaks
    )


# How many newer fixing release lines to try when the smallest fixing version breaks.
MAX_ALTERNATIVES = 3


def prefer_non_breaking(
    r: Remediation, store: AdvisoryStore, options: PlanOptions, reporter: Reporter
) -> Remediation:
    """When the smallest fixing version breaks, try the first release of the next few newer
    release lines (within the ceiling, not yanked, not pre-releases) that also fix every
    finding; take the first whose verdict is not breaking, else keep `r` and say what was tried.
    """
    from packaging.version import InvalidVersion, Version

    comp, target = r.component, r.choice.target or ""
    try:
        floor = Version(target)
        releases = sorted(
            (Version(x.version), x)
            for x in options.index.releases(comp.ecosystem, comp.name)
            if not x.yanked and not Version(x.version).is_prerelease
        )
    except (InvalidVersion, PatchpilotError):
        return r
    lines: dict[tuple[int, int], str] = {}
    for version, release in releases:
        if version > floor and (version.major, version.minor) > (floor.major, floor.minor):
            lines.setdefault((version.major, version.minor), release.version)
    advisories = store.lookup(comp.ecosystem, comp.name)
    tried: list[str] = []
    for candidate in list(lines.values())[:MAX_ALTERNATIVES]:
        level = upgrade_level(comp.ecosystem, comp.version, candidate)
        if not options.config.allows(comp.ecosystem, comp.name, level):
            break
        if findings_for(dataclasses.replace(comp, version=candidate), advisories):
            continue  # not a fix at all (or brings a new finding)
        tried.append(candidate)
        choice = dataclasses.replace(
            r.choice,
            target=candidate,
            level=level,
            reasons=(
                *r.choice.reasons,
                f"{target}: fixes every finding but breaks the project; trying {candidate}",
            ),
        )
        alternative = with_breaking(remediate(choice, r.findings, store, reporter), options,
                                    reporter)  # fmt: skip
        if alternative.applicable and not breaks(alternative):
            note = (
                f"prefers {candidate} over {target}: both fix every finding, and {target} "
                "breaks the project while this one does not"
            )
            reason = f"{alternative.reason}; {note}" if alternative.reason else note
            return _replace(alternative, reason=reason)
    if not tried:
        return r
    note = f"also checked {', '.join(tried)}: every fixing version checked breaks something"
    return _replace(r, reason=f"{r.reason}; {note}")


def _dependent_breaks(
    r: Remediation, moves: Sequence[tuple[str, str, str]], cache: Path, reporter: Reporter
) -> tuple[DependentBreak, ...]:
    """Locked packages (after the fix) whose own code uses an API one of the moves removes."""
    from patchpilot.planning.breaking.dependents import assess_dependents

    if r.lockfile is None or r.outcome is None:
        return ()
    lockfile = Path(r.lockfile)
    cls = source_for(lockfile)
    if cls is None:
        return ()
    after = read_after(lockfile, r.outcome.edits, cls().read)
    versions: dict[str, str] = {c.name: c.version for c in after.components}
    moved = {name for name, _, _ in moves}
    found: list[DependentBreak] = []
    for name, old, new in moves:
        comp = next((c for c in after.components if c.name == name), None)
        if comp is None or not old or not new or old == new:
            continue
        dependents = [(p, versions[p]) for p in comp.parents if p in versions and p not in moved]
        if dependents:
            found.extend(
                assess_dependents(name, old, new, dependents, cache_dir=cache, reporter=reporter)
            )
    return tuple(found)


def _replace(base: Remediation, **changes: Any) -> Remediation:
    return dataclasses.replace(base, **changes)


def _fixer_for_component(comp: Component) -> tuple[Path | None, LockFixer | None]:
    for loc in comp.locations:
        path = Path(loc.path)
        cls = source_for(path)
        if cls is None:
            continue
        fixer = fixer_for(cls.format)
        if fixer is not None:
            return path, fixer
    return None, None


@dataclass(frozen=True, slots=True)
class Measured:
    deltas: tuple[PackageDelta, ...]
    fixed: tuple[str, ...]
    introduced: tuple[str, ...]
    left_open: tuple[tuple[str, str], ...]


def measure(
    lockfile: Path, outcome: FixOutcome, findings: Sequence[Finding], store: AdvisoryStore
) -> Measured:
    """Read the lockfile before and after the fixer's edits and compare them (see `compare`)."""
    cls = source_for(lockfile)
    if cls is None:  # pragma: no cover - the fixer was found through the same reader
        raise FixError(f"{lockfile}: no reader for this file")
    return compare(cls().read(lockfile), read_after(lockfile, outcome.edits, cls().read),
                   findings, store)  # fmt: skip


def compare(
    before: SourceResult, after: SourceResult, findings: Sequence[Finding], store: AdvisoryStore
) -> Measured:
    """Match both readings against the store: what the edit fixed, left and introduced.

    `fixed` are the given findings gone from the copy that was moved; `left_open` those that
    still affect it; `introduced` findings (of any package) present after and not before, by
    primary ID. When a lockfile holds several copies of one package, the copies the edit did
    not target (same name, another version that is still there) are left out of the check.
    """
    before_ids = {(key, i) for key, f in _findings(before.components, store) for i in _ids(f)}
    after_findings = _findings(after.components, store)
    fixed: list[str] = []
    left: list[tuple[str, str]] = []
    for f in findings:
        key = (f.component.ecosystem.value, f.component.name)
        others = {
            c.version
            for c in before.components
            if (c.ecosystem.value, c.name) == key and c.version != f.component.version
        }
        still = {
            i
            for k, g in after_findings
            if k == key and g.component.version not in others
            for i in _ids(g)
        }
        if still & set(_ids(f)):
            left.append((f.id, "still affects the resolved version"))
        else:
            fixed.append(f.id)
    introduced = sorted(
        {f.id for key, f in after_findings if not any((key, i) in before_ids for i in _ids(f))}
    )
    return Measured(
        deltas=package_deltas(before, after),
        fixed=tuple(fixed),
        introduced=tuple(introduced),
        left_open=tuple(left),
    )


def _ids(f: Finding) -> tuple[str, ...]:
    return (f.id, *f.aliases)


def _findings(
    components: Iterable[Component], store: AdvisoryStore
) -> list[tuple[tuple[str, str], Finding]]:
    """Every finding of `components`, keyed by (ecosystem, name)."""
    comps = list(components)
    by_key = store.lookup_many({(c.ecosystem, c.name) for c in comps})
    return [
        ((c.ecosystem.value, c.name), f)
        for c in comps
        for f in findings_for(c, by_key.get((c.ecosystem, c.name), ()))
    ]


def read_after(
    lockfile: Path, edits: Sequence[FileEdit], read: Callable[[Path], SourceResult]
) -> SourceResult:
    """Read `lockfile` as it is after `edits`, on a private copy of its project directory."""
    project = lockfile.parent
    with tempfile.TemporaryDirectory(prefix="patchpilot-after-") as tmp:
        copy = copy_project(project, Path(tmp) / project.name)
        write_changeset(ChangeSet(remediation_ids=(), edits=tuple(edits)), copy, dry_run=False)
        return read(copy / lockfile.name)
