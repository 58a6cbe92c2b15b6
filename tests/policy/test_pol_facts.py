"""Facts from real remediations: real OSV findings (PyYAML, Jinja2, urllib3, PySpark), real KEV
entries, static evidence from scanning the real verify assets, and `Remediation`/`Evidence`
values built from their dataclasses as planning and verify build them. Test results are
compared with verify's own `compare_sides`, and the verdict is verify's own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pol_support import GHSA, PYPA, REPO, CatalogSignals, component, findings, kev_signals

from patchpilot.fixers.changeset import DeltaLevel, PackageDelta
from patchpilot.fixers.interface import Bump, BumpOutcome, FixOutcome, Strategy
from patchpilot.model import Ecosystem, Finding, SeverityLevel
from patchpilot.planning.breaking.apidiff import ApiBreak, BreakKind
from patchpilot.planning.breaking.dependents import DependentBreak
from patchpilot.planning.breaking.verdict import Site, Verdict, VerdictKind
from patchpilot.planning.levels import UpgradeLevel, upgrade_level
from patchpilot.planning.plan import Remediation, remediation_id
from patchpilot.planning.target import ReleaseAge, TargetChoice
from patchpilot.policy.facts import facts_for_remediation, highest_severity, worst_breaking
from patchpilot.verify.evidence import Evidence, PackageEvidence
from patchpilot.verify.evidence import _verdict as verify_verdict
from patchpilot.verify.reach import ReachEvidence, TargetReach
from patchpilot.verify.rescan import InstalledScan
from patchpilot.verify.results import Outcome, SideResult, TestResult, compare_sides
from patchpilot.verify.static import StaticEvidence, scan_project
from patchpilot.verify.targets import Target

REACH_ASSETS = REPO / "tests" / "assets" / "verify" / "reach"
NOW = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)
YAML_TARGETS = (
    Target("FullConstructor", "yaml.constructor", None, None, "advisory"),
    Target("load", "yaml", None, None, "advisory"),
)


def remediation(
    found: Sequence[Finding],
    target: str | None,
    *,
    strategy: Strategy | None = Strategy.IN_PLACE,
    released: datetime | None = None,
    co_upgrades: tuple[tuple[str, str, str], ...] = (),
    breaking: tuple[Verdict, ...] = (),
    dependent_breaks: tuple[DependentBreak, ...] = (),
) -> Remediation:
    """A remediation as `planning.plan.remediate` builds it for one component."""
    comp = found[0].component
    ids = tuple(f.id for f in found)
    level = upgrade_level(comp.ecosystem, comp.version, target) if target else UpgradeLevel.NONE
    choice = TargetChoice(
        component=comp,
        finding_ids=ids,
        target=target,
        level=level,
        ceiling=UpgradeLevel.MAJOR,
        newest_in_major=None,
        fixed=ids if target else (),
        introduced=(),
        release_age=ReleaseAge.OK if released else ReleaseAge.UNKNOWN,
        released=released,
        reasons=(),
        none_reason=None if target else "no fixing version",
    )
    kind = ("upgrade" if comp.direct else "override") if target else "none"
    outcome = None
    if target is not None:
        bump = Bump(comp.ecosystem, comp.name, comp.version, target, comp.direct)
        outcome = FixOutcome(
            lockfile="uv.lock",
            outcomes=(BumpOutcome(bump, strategy, target, co_upgrades, ""),),
            edits=(),
            commands=(),
        )
    return Remediation(
        id=remediation_id(comp),
        kind=kind,
        choice=choice,
        findings=tuple(found),
        lockfile="uv.lock" if target else None,
        strategy=strategy if target else None,
        resolved=target if strategy else None,
        co_upgrades=co_upgrades,
        deltas=(),
        fixed=ids if strategy else (),
        introduced=(),
        left_open=(),
        reason="",
        outcome=outcome,
        breaking=breaking,
        dependent_breaks=dependent_breaks,
    )


def side(rev: str, outcomes: dict[str, Outcome]) -> SideResult:
    return SideResult(
        rev=rev,
        commit=("a" if rev == "base" else "b") * 40,
        command=("python", "-m", "pytest"),
        python_version="3.11",
        installer="uv",
        returncode=int(any(o.failing for o in outcomes.values())),
        results=tuple(TestResult(test, outcome) for test, outcome in outcomes.items()),
    )


def evidence(
    before: dict[str, Outcome],
    after: dict[str, Outcome],
    packages: Sequence[PackageEvidence],
    reach: ReachEvidence | None,
) -> Evidence:
    """Evidence as `verify_branch` assembles it, its verdict from verify's own rules."""
    base, fix = side("base", before), side("fix", after)
    comparison = compare_sides(base, fix)
    verdict, summary = verify_verdict(comparison, reach, (), packages)
    return Evidence(
        repo=str(REACH_ASSETS),
        base=base,
        fix=fix,
        branch="patchpilot/fix",
        comparison=comparison,
        packages=tuple(packages),
        reach=reach,
        installed=InstalledScan((), ()),
        still_vulnerable=(),
        verdict=verdict,
        summary=summary,
        seconds=1.0,
    )


def reach_of(executed: dict[Target, tuple[str, ...]]) -> ReachEvidence:
    return ReachEvidence(
        targets=tuple(
            TargetReach(t, bool(tests), tests, (), resolved=True) for t, tests in executed.items()
        ),
        mechanism="sys.monitoring",
        python="3.12",
        tests_run=3,
    )


def static(project: str, distribution: str, names: tuple[str, ...]) -> StaticEvidence:
    """Static evidence from the real scanner over one of the verify assets."""
    return scan_project(REACH_ASSETS / project, distribution, names, YAML_TARGETS)


@pytest.fixture(scope="module")
def pyyaml() -> tuple[Finding, ...]:
    comp = component(Ecosystem.PYPI, "PyYAML", "5.3.1", locations=("uv.lock",))
    return findings(comp, (PYPA, "PYSEC-2021-142"), (GHSA, "GHSA-8q59-q68h-6hv4"))


def yaml_package(project: str, executed: bool) -> tuple[PackageEvidence, ReachEvidence]:
    delta = PackageDelta(Ecosystem.PYPI, "pyyaml", "5.3.1", "5.4", DeltaLevel.MINOR, True)
    reach = reach_of(
        {
            YAML_TARGETS[0]: ("tests/test_config.py::test_tuple",) if executed else (),
            YAML_TARGETS[1]: (),
        }
    )
    package = PackageEvidence(
        delta=delta,
        fixed=("PYSEC-2021-142",),
        targets=YAML_TARGETS,
        target_source="advisory",
        static=static(project, "pyyaml", ("yaml",)),
    )
    return package, reach


def test_pol_facts_verified_pyyaml_upgrade(pyyaml: tuple[Finding, ...]) -> None:
    released = datetime(2021, 1, 20, 8, 0, tzinfo=UTC)
    rem = remediation(pyyaml, "5.4", released=released)
    package, reach = yaml_package("reaches", executed=True)
    passing = {
        "tests/test_config.py::test_tuple": Outcome.PASSED,
        "tests/test_config.py::test_plain": Outcome.PASSED,
    }
    ev = evidence(passing, passing, [package], reach)
    assert ev.verdict == "verified"
    facts = facts_for_remediation(rem, ev, kev_signals(pyyaml), now=NOW, has_test_command=True)

    assert facts.remediation == rem.id
    assert facts.kind == "upgrade"
    assert facts.findings == tuple(f.id for f in pyyaml)
    assert facts.packages == ("pyyaml",)
    assert facts.ecosystem == "PyPI"
    # The GHSA record carries the CVSS vector; the merged finding takes its score.
    assert facts.cvss == max(f.severity.score for f in pyyaml if f.severity.score is not None)
    assert facts.severity == SeverityLevel.from_score(facts.cvss).value
    assert facts.kev is False  # CVE-2020-14343 is not in the KEV catalog
    assert facts.epss is None
    assert facts.upgrade_level == "minor"  # 5.3.1 -> 5.4 by PEP 440 release segments
    assert facts.strategy == "in-place"
    assert facts.reachability == "reachable"  # app/config.py imports yaml
    assert facts.verify_verdict == "verified"
    assert facts.tests_passed is True
    assert facts.reach_share == 0.5  # one of the two targets executed
    assert facts.breaking == "unknown"  # never assessed
    assert facts.release_age_days == pytest.approx((NOW - released).total_seconds() / 86400)
    assert facts.codemod_tier is None
    assert facts.has_test_command is True
    assert facts.as_dict()["findings"] == list(facts.findings)


def test_pol_facts_not_reached_and_regression(pyyaml: tuple[Finding, ...]) -> None:
    rem = remediation(pyyaml, "5.4")
    package, reach = yaml_package("noreach", executed=False)
    passing = {"tests/test_store.py::test_roundtrip": Outcome.PASSED}
    ev = evidence(passing, passing, [package], reach)
    facts = facts_for_remediation(rem, ev, {}, now=NOW, has_test_command=True)
    assert ev.verdict == "not-reached"
    assert facts.verify_verdict == "not-reached"
    assert facts.tests_passed is True
    assert facts.reach_share == 0.0
    # noreach imports yaml (safe_load only): the package is reachable, its targets are not.
    assert facts.reachability == "reachable"
    assert facts.release_age_days is None

    broken = {"tests/test_store.py::test_roundtrip": Outcome.FAILED}
    ev = evidence(passing, broken, [package], reach)
    facts = facts_for_remediation(rem, ev, {}, now=NOW, has_test_command=True)
    assert facts.verify_verdict == "regression"
    assert facts.tests_passed is False


def test_pol_facts_pre_existing_failure_does_not_fail_the_fix(
    pyyaml: tuple[Finding, ...],
) -> None:
    before = {"t::a": Outcome.PASSED, "t::old": Outcome.FAILED}
    after = {"t::a": Outcome.PASSED, "t::old": Outcome.FAILED}
    package, reach = yaml_package("reaches", executed=True)
    ev = evidence(before, after, [package], reach)
    assert ev.comparison.pre_existing == ("t::old",)
    facts = facts_for_remediation(
        remediation(pyyaml, "5.4"), ev, {}, now=NOW, has_test_command=True
    )
    assert facts.tests_passed is True


def test_pol_facts_without_evidence(pyyaml: tuple[Finding, ...]) -> None:
    facts = facts_for_remediation(
        remediation(pyyaml, "5.4"), None, {}, now=NOW, has_test_command=False
    )
    assert facts.verify_verdict is None
    assert facts.tests_passed is None
    assert facts.reach_share is None
    assert facts.reachability == "unknown"
    assert facts.has_test_command is False


def test_pol_facts_static_reachability_is_sound_or_unknown() -> None:
    """`unreachable` only when nothing imports the package and nothing could hide a use."""
    comp = component(Ecosystem.PYPI, "jinja2", "2.11.2")
    found = findings(comp, (PYPA, "PYSEC-2021-66"))
    rem = remediation(found, "2.11.3")
    passing = {"t::a": Outcome.PASSED}
    delta = PackageDelta(Ecosystem.PYPI, "Jinja2", "2.11.2", "2.11.3", DeltaLevel.PATCH, True)

    def reachability(project: str) -> str:
        evidence_static = scan_project(REACH_ASSETS / project, "jinja2", ("jinja2",), ())
        package = PackageEvidence(delta, (found[0].id,), (), "none", evidence_static)
        ev = evidence(passing, passing, [package], None)
        return facts_for_remediation(rem, ev, {}, now=NOW, has_test_command=True).reachability

    assert reachability("noreach") == "unreachable"  # no jinja2 import, no escape hatch
    assert reachability("dynamic") == "unknown"  # importlib.import_module(name) at plugins.py
    # No static evidence at all (the package's import names were not found): unknown.
    package = PackageEvidence(delta, (found[0].id,), (), "none", None)
    ev = evidence(passing, passing, [package], None)
    assert facts_for_remediation(rem, ev, {}, now=NOW, has_test_command=True).reachability == (
        "unknown"
    )


def test_pol_facts_reach_share_counts_only_this_remediations_targets(
    pyyaml: tuple[Finding, ...],
) -> None:
    """A branch upgrading two packages: the share is over this package's targets only."""
    package, _ = yaml_package("reaches", executed=True)
    other_target = Target("escape", "jinja2.utils", None, None, "ast-diff")
    other = PackageEvidence(
        PackageDelta(Ecosystem.PYPI, "jinja2", "2.11.2", "2.11.3", DeltaLevel.PATCH, False),
        ("PYSEC-2021-66",),
        (other_target,),
        "ast-diff",
        None,
    )
    reach = reach_of({YAML_TARGETS[0]: ("t::a",), YAML_TARGETS[1]: ("t::a",), other_target: ()})
    ev = evidence({"t::a": Outcome.PASSED}, {"t::a": Outcome.PASSED}, [package, other], reach)
    facts = facts_for_remediation(
        remediation(pyyaml, "5.4"), ev, {}, now=NOW, has_test_command=True
    )
    assert facts.reach_share == 1.0
    assert reach.share < 1.0


def test_pol_facts_kev_and_epss_from_signals() -> None:
    """PySpark 3.2.1: CVE-2022-33891 is in the real KEV catalog (joined through the alias)."""
    comp = component(Ecosystem.PYPI, "pyspark", "3.2.1")
    found = findings(comp, (PYPA, "PYSEC-2022-236"))
    assert "CVE-2022-33891" in found[0].aliases
    signals = kev_signals(found, {found[0].id: 0.94})
    facts = facts_for_remediation(
        remediation(found, "3.2.2"), None, signals, now=NOW, has_test_command=True
    )
    assert facts.kev is True
    assert facts.epss == 0.94
    assert facts.upgrade_level == "patch"
    # Signals keyed by an alias (the CVE) are found too.
    by_alias = {"CVE-2022-33891": CatalogSignals(kev=True, epss=0.5)}
    facts = facts_for_remediation(
        remediation(found, "3.2.2"), None, by_alias, now=NOW, has_test_command=True
    )
    assert (facts.kev, facts.epss) == (True, 0.5)


def test_pol_facts_co_upgrade_sizes_the_remediation() -> None:
    """A patch release of the package that drags a parent across a major line is major."""
    comp = component(Ecosystem.PYPI, "urllib3", "1.26.17", direct=False)
    found = findings(comp, (PYPA, "PYSEC-2023-212"))
    rem = remediation(
        found,
        "1.26.18",
        strategy=Strategy.CO_UPGRADE,
        co_upgrades=(("requests", "1.2.0", "2.31.0"),),
    )
    facts = facts_for_remediation(rem, None, {}, now=NOW, has_test_command=True)
    assert rem.choice.level is UpgradeLevel.PATCH
    assert facts.upgrade_level == "major"
    assert facts.kind == "override"
    assert facts.strategy == "co-upgrade"
    assert facts.packages == ("urllib3", "requests")


def test_pol_facts_no_fix_is_kind_none(pyyaml: tuple[Finding, ...]) -> None:
    facts = facts_for_remediation(
        remediation(pyyaml, None), None, {}, now=NOW, has_test_command=True
    )
    assert facts.kind == "none"
    assert facts.upgrade_level == "none"
    assert facts.strategy is None
    # A target the fixer could not reach is nothing to apply either.
    stuck = remediation(pyyaml, "5.4", strategy=None)
    assert not stuck.applicable
    assert facts_for_remediation(stuck, None, {}, now=NOW, has_test_command=True).kind == "none"


def test_pol_facts_breaking_verdicts_combine_to_the_worst(pyyaml: tuple[Finding, ...]) -> None:
    markup = ApiBreak(BreakKind.REMOVED_NAME, "jinja2.Markup", "jinja2.Markup was removed in 3.1.0")
    site = Site("flask/__init__.py", 14, "jinja2.Markup", markup, "imports jinja2.Markup")
    flask = DependentBreak("flask", "1.1.2", (site,), "2.0.0", "flask 2.0.0 drops the import")
    unreadable = DependentBreak("flask", "1.1.2", (), None, "", unknown="no wheel")

    def verdict(kind: VerdictKind) -> Verdict:
        return Verdict("pyyaml", "5.3.1", "5.4", kind, kind.value)

    def breaking(**changes: Any) -> str:
        rem = replace(remediation(pyyaml, "5.4"), **changes)
        return facts_for_remediation(rem, None, {}, now=NOW, has_test_command=True).breaking

    assert breaking() == "unknown"
    assert breaking(breaking=(verdict(VerdictKind.COMPATIBLE),)) == "compatible"
    assert (
        breaking(
            breaking=(verdict(VerdictKind.COMPATIBLE), verdict(VerdictKind.API_CHANGED_UNUSED))
        )
        == "api-changed-unused"
    )
    assert (
        breaking(breaking=(verdict(VerdictKind.COMPATIBLE), verdict(VerdictKind.UNKNOWN)))
        == "unknown"
    )
    assert (
        breaking(breaking=(verdict(VerdictKind.COMPATIBLE),), dependent_breaks=(flask,))
        == "breaks-dependency"
    )
    assert (
        breaking(breaking=(verdict(VerdictKind.COMPATIBLE),), dependent_breaks=(unreadable,))
        == "unknown"
    )
    assert (
        breaking(breaking=(verdict(VerdictKind.BREAKS_PROJECT),), dependent_breaks=(flask,))
        == "breaks-project"
    )


def test_pol_facts_confirmed_break_at_verify_time(pyyaml: tuple[Finding, ...]) -> None:
    package, reach = yaml_package("reaches", executed=True)
    predicted = Verdict("pyyaml", "5.3.1", "5.4", VerdictKind.BREAKS_PROJECT, "1 use")
    package = replace(package, breaking=predicted, breaking_status="confirmed")
    ev = evidence({"t::a": Outcome.PASSED}, {"t::a": Outcome.FAILED}, [package], reach)
    facts = facts_for_remediation(
        remediation(pyyaml, "5.4"), ev, {}, now=NOW, has_test_command=True
    )
    assert facts.breaking == "breaks-project"


def test_pol_facts_severity_and_helpers() -> None:
    comp = component(Ecosystem.PYPI, "jinja2", "2.11.2")
    unrated = findings(comp, (PYPA, "PYSEC-2021-66"))
    assert all(f.severity.level is SeverityLevel.UNKNOWN for f in unrated)
    assert highest_severity(unrated) == "unknown"
    urllib3 = findings(component(Ecosystem.PYPI, "urllib3", "1.26.17"), (PYPA, "PYSEC-2023-212"))
    rated = urllib3[0].severity.level
    assert rated is not SeverityLevel.UNKNOWN
    # An unrated finding beside a rated one does not hide the rating.
    assert highest_severity([*unrated, *urllib3]) == rated.value
    assert worst_breaking([]) == "unknown"
    assert worst_breaking(["compatible", "no-such-verdict"]) == "unknown"


def test_pol_facts_naive_clock_is_utc(pyyaml: tuple[Finding, ...]) -> None:
    released = datetime(2021, 1, 20)  # naive, as an index without a zone would give it
    rem = remediation(pyyaml, "5.4", released=released)
    naive_now = NOW.replace(tzinfo=None)
    facts = facts_for_remediation(rem, None, {}, now=naive_now, has_test_command=True)
    assert facts.release_age_days == pytest.approx((naive_now - released) / timedelta(days=1))
