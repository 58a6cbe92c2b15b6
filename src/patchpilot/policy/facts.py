"""The facts a decision may look at, and how they are drawn from a remediation and its evidence.

`Facts` is everything `decide` sees, as plain values, so a decision can be recorded (its facts
go into the ledger) and replayed. `facts_for_remediation` builds them from a planned
`Remediation`, the verify `Evidence` of its branch (None when it was not verified) and the
exploit signals of its findings. What is not known stays `None` (or `unknown`): a policy rule
that needs an unknown fact does not match, so missing evidence never grants autonomy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from packaging.utils import canonicalize_name

from patchpilot.model import Finding, SeverityLevel

if TYPE_CHECKING:
    from patchpilot.planning.plan import Remediation
    from patchpilot.verify.evidence import Evidence, PackageEvidence


class ExploitSignalsLike(Protocol):
    """What the facts need of one finding's exploit signals (CISA KEV, FIRST EPSS)."""

    @property
    def kev(self) -> bool: ...

    @property
    def epss(self) -> float | None: ...


# Breaking verdicts from worst to best; several packages combine to the worst one. `unknown`
# sits above the good verdicts: one package that could not be assessed makes the whole
# remediation unassessed.
BREAKING_ORDER: tuple[str, ...] = (
    "breaks-project",
    "breaks-dependency",
    "unknown",
    "api-changed-unused",
    "compatible",
)
NO_FIX = "none"
_LEVEL_RANK = {"none": 0, "patch": 1, "minor": 2, "major": 3}


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything `decide` may look at, about one remediation (or code/config fix).

    - `kind`: upgrade | override | codemod | config, or `none` when there is nothing to apply
      (no fixing version, or a fix patchpilot cannot make).
    - `severity`: the highest rated `SeverityLevel` value of the findings (`unknown` when none
      is rated); `cvss`, `epss`: the highest known scores; `kev`: any finding is in CISA KEV.
    - `upgrade_level`: patch/minor/major/none, the largest move among the package and the
      co-upgrades it implies; `strategy`: in-place/relax/override/co-upgrade.
    - `reachability`: static, from the project's code: reachable | unreachable | unknown.
    - `verify_verdict`: verified / not-reached / regression / still-vulnerable / no-tests,
      None when the branch was not verified; `tests_passed`: no regression and at least one
      passing test on the fix side; `reach_share`: the share (0..1) of target functions (for
      code fixes: changed lines) that passing tests executed.
    - `breaking`: breaks-project / breaks-dependency / api-changed-unused / compatible /
      unknown; `release_age_days`: the age of the target release; `codemod_tier`: A, A-, B, C.
    """

    remediation: str
    kind: str
    findings: tuple[str, ...]
    packages: tuple[str, ...]
    ecosystem: str
    severity: str
    cvss: float | None
    epss: float | None
    kev: bool
    upgrade_level: str | None
    strategy: str | None
    reachability: str
    verify_verdict: str | None
    tests_passed: bool | None
    reach_share: float | None
    breaking: str
    release_age_days: float | None
    codemod_tier: str | None
    has_test_command: bool

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (the ledger's `decide` inputs)."""
        data = asdict(self)
        data["findings"] = list(self.findings)
        data["packages"] = list(self.packages)
        return data


def facts_for_remediation(
    remediation: Remediation,
    evidence: Evidence | None,
    signals: Mapping[str, ExploitSignalsLike],
    *,
    now: datetime,
    has_test_command: bool,
) -> Facts:
    """The facts of one planned remediation, its branch's evidence and its findings' signals.

    `evidence` is None before (or without) verification; `signals` is keyed by finding ID
    (a finding without an entry has no KEV listing and no EPSS score known). `now` is the
    reference time of the release age (a naive time is read as UTC).
    """
    comp = remediation.component
    names = [comp.name, *(name for name, _, _ in remediation.co_upgrades)]
    packages = tuple(dict.fromkeys(canonicalize_name(n) for n in names))
    applicable = remediation.kind != NO_FIX and remediation.applicable
    findings = remediation.findings
    mine = _package_evidence(evidence, packages)
    released = remediation.choice.released
    age: float | None = None
    if released is not None:
        now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        released = released if released.tzinfo is not None else released.replace(tzinfo=UTC)
        age = (now - released).total_seconds() / 86400
    return Facts(
        remediation=remediation.id,
        kind=remediation.kind if applicable else NO_FIX,
        findings=tuple(f.id for f in findings),
        packages=packages,
        ecosystem=comp.ecosystem.value,
        severity=highest_severity(findings),
        cvss=_highest(f.severity.score for f in findings),
        epss=_highest(_signal_epss(signals, f) for f in findings),
        kev=any(_signal_kev(signals, f) for f in findings),
        upgrade_level=_upgrade_level(remediation),
        strategy=remediation.strategy.value if remediation.strategy is not None else None,
        reachability=_reachability(mine),
        verify_verdict=evidence.verdict if evidence is not None else None,
        tests_passed=_tests_passed(evidence),
        reach_share=_reach_share(evidence, mine),
        breaking=_breaking(remediation, mine),
        release_age_days=age,
        codemod_tier=None,
        has_test_command=has_test_command,
    )


def highest_severity(findings: Iterable[Finding]) -> str:
    """The highest rated severity of `findings`; `unknown` when none is rated."""
    rated = [f.severity.level for f in findings if f.severity.level is not SeverityLevel.UNKNOWN]
    if not rated:
        return SeverityLevel.UNKNOWN.value
    return max(rated, key=lambda level: level.rank).value


def worst_breaking(verdicts: Iterable[str]) -> str:
    """The worst of several breaking verdicts (`unknown` for none, or for unknown words)."""
    found = [v if v in BREAKING_ORDER else "unknown" for v in verdicts]
    if not found:
        return "unknown"
    return min(found, key=BREAKING_ORDER.index)


def _highest(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _signal(signals: Mapping[str, ExploitSignalsLike], f: Finding) -> ExploitSignalsLike | None:
    for ident in (f.id, *f.aliases):
        found = signals.get(ident)
        if found is not None:
            return found
    return None


def _signal_kev(signals: Mapping[str, ExploitSignalsLike], f: Finding) -> bool:
    found = _signal(signals, f)
    return bool(found is not None and found.kev)


def _signal_epss(signals: Mapping[str, ExploitSignalsLike], f: Finding) -> float | None:
    found = _signal(signals, f)
    return found.epss if found is not None else None


def _upgrade_level(r: Remediation) -> str | None:
    """The largest move the remediation makes: its own package and every co-upgrade.

    A co-upgrade of a parent can be a bigger step than the package's own patch release, and
    it lands in the same branch, so the remediation is as big as its biggest move.
    """
    from patchpilot.advisories.versions import VersionError
    from patchpilot.planning.levels import upgrade_level

    comp = r.component
    if r.choice.target is None:
        return r.choice.level.value
    moves = [(comp.version, r.resolved or r.choice.target), *((a, b) for _, a, b in r.co_upgrades)]
    levels: list[str] = []
    for old, new in moves:
        try:
            levels.append(upgrade_level(comp.ecosystem, old, new).value)
        except VersionError:
            # A version the ecosystem cannot order is a move nobody can size: as big as any.
            levels.append("major")
    return max(levels, key=_LEVEL_RANK.__getitem__)


def _package_evidence(
    evidence: Evidence | None, packages: Sequence[str]
) -> tuple[PackageEvidence, ...]:
    """The evidence of the upgraded packages that belong to this remediation."""
    if evidence is None:
        return ()
    wanted = set(packages)
    return tuple(p for p in evidence.packages if canonicalize_name(p.delta.name) in wanted)


def _reachability(packages: Sequence[PackageEvidence]) -> str:
    """`reachable` when the project's code imports or names a package; `unreachable` only when
    the scan is sound for every package (nothing imported, no escape hatch); else `unknown`."""
    statics = [p.static for p in packages]
    if not statics:
        return "unknown"
    if any(s is not None and (s.references or s.imports) for s in statics):
        return "reachable"
    if all(s is not None and not s.escape_hatches and s.files_scanned > 0 for s in statics):
        return "unreachable"
    return "unknown"


def _tests_passed(evidence: Evidence | None) -> bool | None:
    """No regression and at least one passing test after the fix (pre-existing failures and
    flaky tests do not count against a fix, as in the verify verdict)."""
    if evidence is None:
        return None
    return evidence.comparison.ok and evidence.comparison.after.passed > 0


def _reach_share(evidence: Evidence | None, packages: Sequence[PackageEvidence]) -> float | None:
    """The share of this remediation's target functions that the fix-side tests executed.

    Targets of other packages the same branch upgrades are left out; with no package evidence
    of its own the share of the whole run is taken. None when no trace was recorded.
    """
    if evidence is None or evidence.reach is None:
        return None
    reach = evidence.reach
    ids = {t.id for p in packages for t in p.targets}
    mine = [t for t in reach.targets if t.target.id in ids] if ids else list(reach.targets)
    if not mine:
        return 0.0
    return sum(1 for t in mine if t.executed) / len(mine)


def _breaking(r: Remediation, packages: Sequence[PackageEvidence]) -> str:
    """The worst verdict over every move of the remediation and the verify-time prediction.

    A dependency whose own code hits a removed API is `breaks-dependency`; a dependency that
    could not be read leaves the question `unknown`. No assessment at all is `unknown`.
    """
    verdicts = [v.verdict.value for v in r.breaking]
    for d in r.dependent_breaks:
        if d.sites:
            verdicts.append("breaks-dependency")
        elif d.unknown is not None:
            verdicts.append("unknown")
    for p in packages:
        if p.breaking is not None:
            verdicts.append(p.breaking.verdict.value)
        if p.breaking_status == "confirmed":
            verdicts.append("breaks-project")
    return worst_breaking(verdicts)
