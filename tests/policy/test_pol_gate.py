"""Ignores and the CI gate on real findings: PyYAML 5.3.1 (CVE-2020-14343, rated critical by
its GHSA record), Jinja2 2.11.2 (CVE-2020-28493, unrated in the PyPA record), urllib3 1.26.17
(CVE-2023-45803, a CVSS vector) and PySpark 3.2.1 (CVE-2022-33891, in the real CISA KEV
catalog), matched by the real matcher from the real OSV zips."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from pol_support import GHSA, PYPA, CatalogSignals, component, findings, kev_signals

from patchpilot.model import Ecosystem, Finding, Location, SeverityLevel
from patchpilot.policy.gate import gate, violates
from patchpilot.policy.ignores import Ignore, apply_ignores
from patchpilot.policy.load import default_policy, parse_policy
from patchpilot.policy.model import GateSettings

TODAY = date(2025, 9, 1)


@pytest.fixture(scope="module")
def found() -> dict[str, Finding]:
    pyyaml = component(Ecosystem.PYPI, "PyYAML", "5.3.1", locations=("services/api/uv.lock",))
    jinja2 = component(Ecosystem.PYPI, "Jinja2", "2.11.2", locations=("services/web/uv.lock",))
    urllib3 = component(Ecosystem.PYPI, "urllib3", "1.26.17", locations=("requirements.txt",))
    pyspark = component(Ecosystem.PYPI, "pyspark", "3.2.1", locations=("jobs/requirements.txt",))
    out = {
        "pyyaml": findings(pyyaml, (PYPA, "PYSEC-2021-142"), (GHSA, "GHSA-8q59-q68h-6hv4"))[0],
        "jinja2": findings(jinja2, (PYPA, "PYSEC-2021-66"))[0],
        "urllib3": findings(urllib3, (PYPA, "PYSEC-2023-212"))[0],
        "pyspark": findings(pyspark, (PYPA, "PYSEC-2022-236"))[0],
    }
    # What the scenarios below rely on, checked on the real records rather than assumed.
    assert out["pyyaml"].severity.level is SeverityLevel.CRITICAL
    assert out["jinja2"].severity.level is SeverityLevel.UNKNOWN
    assert out["urllib3"].severity.level.rank < SeverityLevel.HIGH.rank
    assert "CVE-2020-14343" in out["pyyaml"].aliases
    assert "CVE-2020-28493" in out["jinja2"].aliases
    return out


def ignore(ident: str, days: int = 30, **scope: str) -> Ignore:
    return Ignore(ident, "reviewed: input is trusted", TODAY + timedelta(days=days), **scope)


# --- ignores --------------------------------------------------------------------------------


def test_pol_ignores_match_by_id_or_alias(found: dict[str, Finding]) -> None:
    pyyaml, jinja2 = found["pyyaml"], found["jinja2"]
    by_alias = ignore("CVE-2020-14343")
    by_id = ignore(jinja2.id.lower())  # IDs compare without case
    nothing = ignore("CVE-1999-0001")
    report = apply_ignores([pyyaml, jinja2], [by_alias, by_id, nothing], TODAY)
    assert report.applied == ((pyyaml.id, by_alias), (jinja2.id, by_id))
    assert report.unused == (nothing,)
    assert report.expired == ()
    assert report.ignored_ids == {pyyaml.id, jinja2.id}


def test_pol_ignores_expiry_is_inclusive_and_reported(found: dict[str, Finding]) -> None:
    pyyaml = found["pyyaml"]
    today = ignore("CVE-2020-14343", days=0)
    assert apply_ignores([pyyaml], [today], TODAY).applied == ((pyyaml.id, today),)
    stale = ignore("CVE-2020-14343", days=-1)
    report = apply_ignores([pyyaml], [stale], TODAY)
    assert report.applied == ()
    assert report.expired == (stale,)
    assert report.unused == ()  # expired is said once, as expired


def test_pol_ignores_package_and_path_scope(found: dict[str, Finding], tmp_path: Path) -> None:
    pyyaml = found["pyyaml"]
    assert ignore("CVE-2020-14343", package="pyyaml").matches(pyyaml)
    assert ignore("CVE-2020-14343", package="PyYAML").matches(pyyaml)
    assert not ignore("CVE-2020-14343", package="jinja2").matches(pyyaml)
    assert ignore("CVE-2020-14343", path="services/api/uv.lock").matches(pyyaml)
    assert ignore("CVE-2020-14343", path="services/api").matches(pyyaml)
    assert ignore("CVE-2020-14343", path="services/*/uv.lock").matches(pyyaml)
    assert not ignore("CVE-2020-14343", path="services/web").matches(pyyaml)
    # With the project root, paths are relative to it, strictly.
    placed = pyyaml.component.locations[0].path
    moved = replace(pyyaml.component, locations=(Location(str(tmp_path / placed)),))
    at_root = replace(pyyaml, component=moved)
    assert ignore("CVE-2020-14343", path="services/api").matches(at_root, tmp_path)
    assert not ignore("CVE-2020-14343", path="api/uv.lock").matches(at_root, tmp_path)
    assert ignore("CVE-2020-14343", path="api/uv.lock").matches(at_root)  # trailing parts
    assert not ignore("CVE-2020-14343", path="services").matches(at_root, tmp_path / "other")


def test_pol_ignores_first_live_ignore_wins(found: dict[str, Finding]) -> None:
    pyyaml = found["pyyaml"]
    first, second = ignore("CVE-2020-14343"), ignore("GHSA-8q59-q68h-6hv4", days=60)
    report = apply_ignores([pyyaml], [first, second], TODAY)
    assert report.applied == ((pyyaml.id, first),)
    assert report.unused == (second,)


# --- the gate -------------------------------------------------------------------------------


def test_pol_gate_default_fails_on_every_finding(found: dict[str, Finding]) -> None:
    every = list(found.values())
    result = gate(every, default_policy(), signals=kev_signals(every), suppressed={}, today=TODAY)
    assert result.violations == tuple(every)
    assert not result.passed
    assert result.reasons[found["jinja2"].id] == ("severity unknown, which counts as at least low",)
    assert "in CISA KEV (known exploited)" in result.reasons[found["pyspark"].id]


def test_pol_gate_threshold_kev_and_epss(found: dict[str, Finding]) -> None:
    every = list(found.values())
    signals = kev_signals(every, {found["urllib3"].id: 0.7})
    high = parse_policy('[gate]\nfail_on = "high"\nkev = false\n', "p.toml")
    result = gate(every, high, signals=signals, suppressed={}, today=TODAY)
    # urllib3 is rated below high; an unrated finding is never let through by a threshold.
    assert result.violations == (found["pyyaml"], found["jinja2"], found["pyspark"])

    kev_only = parse_policy('[gate]\nfail_on = "never"\n', "p.toml")
    result = gate(every, kev_only, signals=signals, suppressed={}, today=TODAY)
    assert result.violations == (found["pyspark"],)
    assert result.reasons == {found["pyspark"].id: ("in CISA KEV (known exploited)",)}

    epss = parse_policy('[gate]\nfail_on = "never"\nkev = false\nepss_at_least = 0.5\n', "p.toml")
    result = gate(every, epss, signals=signals, suppressed={}, today=TODAY)
    assert result.violations == (found["urllib3"],)
    assert result.reasons[found["urllib3"].id] == ("EPSS 0.7 is at least 0.5",)

    quiet = parse_policy('[gate]\nfail_on = "never"\nkev = false\n', "p.toml")
    assert gate(every, quiet, signals=signals, suppressed={}, today=TODAY).passed


def test_pol_gate_vex_and_ignores_take_findings_out(found: dict[str, Finding]) -> None:
    every = list(found.values())
    policy = parse_policy(
        """
[[ignores]]
id = "CVE-2020-28493"
reason = "templates are ours; no untrusted input reaches the regex"
expires = 2025-12-31

[[ignores]]
id = "CVE-2023-45803"
reason = "was waiting for a release"
expires = 2025-06-30

[[ignores]]
id = "CVE-2014-1402"
reason = "old jinja2 ignore left behind"
expires = 2026-01-01
""",
        "p.toml",
    )
    live, stale, unused = policy.ignores
    suppressed = {"CVE-2020-14343": "vulnerable_code_not_in_execute_path"}  # keyed by alias
    result = gate(every, policy, signals=kev_signals(every), suppressed=suppressed, today=TODAY)
    assert result.suppressed == ((found["pyyaml"], "vulnerable_code_not_in_execute_path"),)
    assert result.ignored == ((found["jinja2"], live),)
    assert result.violations == (found["urllib3"], found["pyspark"])  # the stale ignore fails
    assert result.expired_ignores == (stale,)
    assert result.unused_ignores == (unused,)


def test_pol_gate_violates_needs_a_signal_for_kev(found: dict[str, Finding]) -> None:
    pyspark = found["pyspark"]
    settings = GateSettings(fail_on="never", kev=True)
    assert violates(pyspark, settings, None) == ()
    assert violates(pyspark, settings, CatalogSignals(kev=True)) == (
        "in CISA KEV (known exploited)",
    )
