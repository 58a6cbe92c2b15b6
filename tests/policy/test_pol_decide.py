"""`decide`, exhaustively: the cartesian product of every Facts dimension the default policy
looks at (verify verdict x tests passed x reach share x kind x upgrade level x strategy x
codemod tier x breaking verdict x tier x test command x --max-level), each row checked
against the invariants and against an independent reading of the documented default policy;
then the same for a policy using the other conditions (severity, CVSS, EPSS, KEV, release
age, allow and deny lists); explicit rows for the stories the issue tells; hypothesis for
arbitrary facts and rules."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchpilot.errors import UsageError
from patchpilot.policy.decide import DEFAULT_RULE, Decision, check, decide
from patchpilot.policy.facts import Facts
from patchpilot.policy.load import default_policy, parse_policy
from patchpilot.policy.model import (
    BREAKING,
    CODEMOD_TIERS,
    CONDITION_KEYS,
    KINDS,
    REACHABILITY,
    SEVERITIES,
    STRATEGIES,
    UPGRADE_LEVELS,
    VERIFY_VERDICTS,
    Policy,
    Rule,
    make_policy,
)

TIERS = ("internal", "production", "regulated")
TIER_MAX = {"internal": 3, "production": 3, "regulated": 2}
# 3 and above never bind (no tier allows more than 3): `test_pol_decide_max_level_caps`.
MAX_LEVELS = (None, 1, 2)


def facts(**changes: Any) -> Facts:
    """A verified, in-place patch upgrade of PyYAML whose tests reach the vulnerable code."""
    base = Facts(
        remediation="PyPI:pyyaml@5.3.1",
        kind="upgrade",
        findings=("PYSEC-2021-142",),
        packages=("pyyaml",),
        ecosystem="PyPI",
        severity="critical",
        cvss=9.8,
        epss=None,
        kev=False,
        upgrade_level="patch",
        strategy="in-place",
        reachability="reachable",
        verify_verdict="verified",
        tests_passed=True,
        reach_share=0.5,
        breaking="compatible",
        release_age_days=30.0,
        codemod_tier=None,
        has_test_command=True,
    )
    return replace(base, **changes)


@pytest.fixture(scope="module")
def policies() -> dict[str, Policy]:
    """The embedded default under each tier, read through the loader."""
    return {tier: parse_policy(f'tier = "{tier}"\n', f"{tier}.toml") for tier in TIERS}


def assert_invariants(
    f: Facts, policy: Policy, max_level: int | None, d: Decision, *, scan: bool = True
) -> None:
    """What must hold for every decision, whatever the policy. `scan` re-checks every rule
    for first-match order (the tables have an oracle for that instead)."""
    assert d.level in (1, 2, 3)
    assert d.tier == policy.tier
    if policy.tier == "regulated":
        assert d.level <= 2
    assert d.level <= policy.max_level
    if max_level is not None:
        assert d.level <= max_level
    if f.kind == "none":
        assert d.level == 1
    if not f.has_test_command:
        assert d.level <= 2
    if d.level == 3:  # never merged without passing tests on a verified fix
        assert f.tests_passed is True
        assert f.verify_verdict not in (None, "regression", "still-vulnerable", "no-tests")
    if set(f.packages) & set(policy.packages_deny):
        assert d.level == 1
    assert d.reasons and all(isinstance(r, str) and r for r in d.reasons)
    rules = {r.name: r for r in policy.rules}
    if d.rule == DEFAULT_RULE:
        assert d.capped_by is None and d.level == 1
        assert not scan or all(check(r, f)[1] for r in policy.rules)  # no rule matched
    else:
        rule = rules[d.rule]
        if scan:
            assert not check(rule, f)[1]
            assert all(check(r, f)[1] for r in policy.rules[: rule.index])  # the first match
        assert d.level <= rule.level
        assert (d.capped_by is None) == (d.level == rule.level)
    assert decide(f, policy, max_level=max_level) == d  # pure and deterministic


# --- the default policy, every row ----------------------------------------------------------


def default_oracle(f: Facts, tier: str, max_level: int | None) -> tuple[int, str]:
    """The default policy as docs/policy.md states it, written out independently of decide."""
    evidence = (
        f.verify_verdict == "verified"
        and f.tests_passed is True
        and f.reach_share is not None
        and f.reach_share > 0
    )
    if f.breaking in ("breaks-project", "breaks-dependency"):
        granted, rule = 2, "breaking-needs-review"
    elif (
        f.kind in ("upgrade", "override")
        and evidence
        and f.upgrade_level == "patch"
        and f.strategy in ("in-place", "relax")
    ):
        granted, rule = 3, "merge-verified-patch"
    elif f.kind == "codemod" and evidence and f.codemod_tier == "A":
        granted, rule = 3, "merge-verified-codemod"
    elif f.kind in KINDS:
        granted, rule = 2, "review-every-fix"
    else:
        granted, rule = 1, DEFAULT_RULE
    caps = [granted, TIER_MAX[tier]]
    if f.kind == "none":
        caps.append(1)
    if not f.has_test_command:
        caps.append(2)
    if max_level is not None:
        caps.append(max_level)
    return min(caps), rule


def change_rows() -> Iterator[dict[str, object]]:
    """What the fix is: upgrades and overrides by level and strategy, codemods by tier, a
    config fix, and nothing to apply."""
    for kind, level, strategy in itertools.product(
        ("upgrade", "override"), (None, "none", *UPGRADE_LEVELS), (None, *STRATEGIES)
    ):
        yield {"kind": kind, "upgrade_level": level, "strategy": strategy, "codemod_tier": None}
    for tier in (None, *CODEMOD_TIERS):
        yield {"kind": "codemod", "upgrade_level": None, "strategy": None, "codemod_tier": tier}
    yield {"kind": "config", "upgrade_level": None, "strategy": None, "codemod_tier": None}
    yield {"kind": "none", "upgrade_level": "none", "strategy": None, "codemod_tier": None}


def test_pol_decide_default_policy_table(policies: dict[str, Policy]) -> None:
    rows = 0
    by_level = {1: 0, 2: 0, 3: 0}
    for (verdict, passed, share), change, breaking, tier, has_tests, max_level in itertools.product(
        itertools.product((None, *VERIFY_VERDICTS), (None, True, False), (None, 0.0, 0.5)),
        list(change_rows()),
        BREAKING,
        TIERS,
        (True, False),
        MAX_LEVELS,
    ):
        f = facts(
            verify_verdict=verdict,
            tests_passed=passed,
            reach_share=share,
            breaking=breaking,
            has_test_command=has_tests,
            **change,
        )
        policy = policies[tier]
        d = decide(f, policy, max_level=max_level)
        assert_invariants(f, policy, max_level, d, scan=False)
        level, rule = default_oracle(f, tier, max_level)
        assert (d.level, d.rule) == (level, rule), f
        if d.level == 3:
            # No merge without test evidence that the vulnerable code was executed.
            assert f.verify_verdict == "verified" and f.tests_passed is True
            assert f.reach_share is not None and f.reach_share > 0
            assert f.breaking not in ("breaks-project", "breaks-dependency")
            assert (f.upgrade_level == "patch" and f.strategy in ("in-place", "relax")) or (
                f.codemod_tier == "A"
            )
        rows += 1
        by_level[d.level] += 1
    assert rows == 54 * 57 * len(BREAKING) * len(TIERS) * 2 * len(MAX_LEVELS)
    assert all(by_level.values())  # the table reaches every level


# --- a policy using every other condition ---------------------------------------------------

CUSTOM = """
tier = "production"
packages_deny = ["Django"]

[[rules]]
name = "lxml-notify"
level = 1
packages = ["lxml"]

[[rules]]
name = "kev-fast"
level = 3
kev = true
tests_passed = true
packages_deny = ["PyYAML"]

[[rules]]
name = "severe"
level = 3
severity_at_least = "high"
cvss_at_least = 7.0
epss_at_least = 0.1
release_age_days_at_least = 3
verify = ["verified"]

[[rules]]
name = "seasoned"
level = 2
release_age_days_at_least = 7
reachability = ["reachable", "unknown"]
"""


def custom_oracle(f: Facts) -> str:
    """The first CUSTOM rule that matches `f`, written out independently of decide."""
    known = f.severity in SEVERITIES
    if set(f.packages) <= {"lxml"}:
        return "lxml-notify"
    if f.kev and f.tests_passed is True and "pyyaml" not in f.packages:
        return "kev-fast"
    if (
        known
        and SEVERITIES.index(f.severity) >= SEVERITIES.index("high")
        and f.cvss is not None
        and f.cvss >= 7.0
        and f.epss is not None
        and f.epss >= 0.1
        and f.release_age_days is not None
        and f.release_age_days >= 3
        and f.verify_verdict == "verified"
    ):
        return "severe"
    if (
        f.release_age_days is not None
        and f.release_age_days >= 7
        and f.reachability in ("reachable", "unknown")
    ):
        return "seasoned"
    return DEFAULT_RULE


def test_pol_decide_custom_policy_table() -> None:
    levels = {"lxml-notify": 1, "kev-fast": 3, "severe": 3, "seasoned": 2, DEFAULT_RULE: 1}
    policies = {
        tier: parse_policy(CUSTOM.replace("production", tier), "custom.toml")
        for tier in ("production", "regulated")
    }
    keys = (
        "severity",
        "cvss",
        "epss",
        "kev",
        "release_age_days",
        "packages",
        "tests_passed",
        "verify_verdict",
        "reachability",
    )
    rows = 0
    for values, tier, max_level in itertools.product(
        itertools.product(
            ("unknown", *SEVERITIES),
            (None, 5.0, 9.8),
            (None, 0.05, 0.9),
            (False, True),
            (None, 1.0, 30.0),
            (("pyyaml",), ("django",), ("lxml",), ("requests", "django"), ("requests",)),
            (None, True),
            (None, "verified"),
            REACHABILITY,
        ),
        ("production", "regulated"),
        (None, 2),
    ):
        f = facts(**dict(zip(keys, values, strict=True)))
        policy = policies[tier]
        d = decide(f, policy, max_level=max_level)
        assert_invariants(f, policy, max_level, d, scan=False)
        rule = custom_oracle(f)
        assert d.rule == rule, f
        expected = min(levels[rule], TIER_MAX[tier], max_level or 3)
        if not (f.tests_passed is True and f.verify_verdict == "verified"):
            expected = min(expected, 2)  # the `unproven` cap
        if "django" in f.packages:
            expected = 1
            if levels[rule] > 1:
                assert d.capped_by == "deny"
        assert d.level == expected, f
        rows += 1
    assert rows == (len(SEVERITIES) + 1) * 3 * 3 * 2 * 3 * 5 * 2 * 2 * len(REACHABILITY) * 2 * 2


# --- explicit rows: the stories the issue tells -----------------------------------------------


def test_pol_decide_verified_patch_merges() -> None:
    d = decide(facts(), default_policy())
    assert (d.level, d.rule, d.capped_by, d.tier) == (3, "merge-verified-patch", None, "internal")
    assert d.reasons[0].startswith("rule 'merge-verified-patch' (rules[1]) matched: ")
    assert "verify verdict verified is one of verified" in d.reasons[0]
    assert "tests executed 50% of the target code, above 0%" in d.reasons[0]


def test_pol_decide_not_reached_stops_at_review_with_the_reason() -> None:
    d = decide(facts(verify_verdict="not-reached", reach_share=0.0), default_policy())
    assert (d.level, d.rule, d.capped_by) == (2, "review-every-fix", None)
    missed = [r for r in d.reasons if r.startswith("rule 'merge-verified-patch'")]
    assert missed == [
        "rule 'merge-verified-patch' (level 3, merge) does not apply: verify verdict "
        "not-reached is not one of verified; tests executed 0% of the target code, not above 0%"
    ]


def test_pol_decide_regulated_never_merges(policies: dict[str, Policy]) -> None:
    d = decide(facts(), policies["regulated"])
    assert (d.level, d.rule, d.capped_by) == (2, "merge-verified-patch", "tier")
    assert "tier 'regulated' allows at most level 2 (branch for review)" in d.reasons
    # Even a policy value claiming more (built by hand, not loaded) is held to 2.
    forced = make_policy(
        tier="regulated", tiers={"regulated": 3}, rules=default_policy().rules, source="test"
    )
    assert decide(facts(), forced).level == 2


def test_pol_decide_max_level_caps() -> None:
    d = decide(facts(), default_policy(), max_level=1)
    assert (d.level, d.rule, d.capped_by) == (1, "merge-verified-patch", "max-level")
    assert "--max-level 1 caps the level" in d.reasons
    assert decide(facts(), default_policy(), max_level=3) == decide(facts(), default_policy())
    assert decide(facts(), default_policy(), max_level=5).level == 3
    with pytest.raises(UsageError):
        decide(facts(), default_policy(), max_level=0)


def test_pol_decide_breaking_goes_to_review_with_a_reason() -> None:
    for verdict in ("breaks-project", "breaks-dependency"):
        d = decide(facts(breaking=verdict), default_policy())
        assert (d.level, d.rule) == (2, "breaking-needs-review")
        assert f"breaking-change verdict {verdict} is one of" in d.reasons[0]
        assert "a person reviews it" in d.reasons[1]


def test_pol_decide_no_fix_is_notify_only() -> None:
    d = decide(facts(kind="none", upgrade_level="none", strategy=None), default_policy())
    assert (d.level, d.rule) == (1, DEFAULT_RULE)
    assert d.reasons[0] == "no rule matched: level 1 (notify)"
    assert "there is no fix to apply, so the finding is reported only" in d.reasons


def test_pol_decide_codemod_tiers() -> None:
    codemod = {"kind": "codemod", "upgrade_level": None, "strategy": None, "breaking": "unknown"}
    assert decide(facts(codemod_tier="A", **codemod), default_policy()).level == 3
    d = decide(facts(codemod_tier="B", **codemod), default_policy())
    assert (d.level, d.rule) == (2, "review-every-fix")
    assert any("codemod tier B is not one of A" in r for r in d.reasons)


def test_pol_decide_minor_and_override_strategy_go_to_review() -> None:
    assert decide(facts(upgrade_level="minor"), default_policy()).level == 2
    assert decide(facts(strategy="override"), default_policy()).level == 2
    assert decide(facts(kind="override"), default_policy()).level == 3


def test_pol_decide_unknown_facts_do_not_match() -> None:
    policy = parse_policy('[[rules]]\nname = "high-cvss"\nlevel = 3\ncvss_at_least = 7\n', "p.toml")
    d = decide(facts(cvss=None), policy)
    assert (d.level, d.rule) == (1, DEFAULT_RULE)
    assert "rule 'high-cvss' (level 3, merge) does not apply: no CVSS score is known" in d.reasons


def test_pol_decide_no_test_command_caps_at_review() -> None:
    d = decide(facts(has_test_command=False), default_policy())
    assert (d.level, d.capped_by) == (2, "no-test-command")


def test_pol_decide_deny_list_caps_at_notify() -> None:
    policy = parse_policy('packages_deny = ["PyYAML"]\n', "p.toml")
    d = decide(facts(), policy)
    assert (d.level, d.rule, d.capped_by) == (1, "merge-verified-patch", "deny")
    assert "pyyaml on the policy's packages_deny: notify only" in d.reasons


def test_pol_decide_every_condition_has_a_check() -> None:
    rule = Rule(
        name="all",
        level=2,
        index=0,
        severity_at_least="low",
        cvss_at_least=1.0,
        epss_at_least=0.0,
        kev=False,
        upgrade_level=("patch",),
        strategy=("in-place",),
        kind=("upgrade",),
        reachability=("reachable",),
        verify=("verified",),
        tests_passed=True,
        reach_share_at_least=0.1,
        reach_share_above=0.0,
        breaking=("compatible",),
        release_age_days_at_least=1.0,
        packages=("pyyaml",),
        packages_deny=("django",),
        codemod_tier=None,
    )
    held, failed = check(rule, facts(epss=0.2))
    assert failed == []
    assert len(held) == len(CONDITION_KEYS) - 1
    held, failed = check(replace(rule, codemod_tier=("A",)), facts(epss=0.2))
    assert failed == ["not a codemod fix"]


def test_pol_decide_as_dict_is_json_ready() -> None:
    d = decide(facts(), default_policy())
    assert d.as_dict() == {
        "level": d.level,
        "rule": d.rule,
        "reasons": list(d.reasons),
        "tier": d.tier,
        "capped_by": d.capped_by,
    }


# --- arbitrary facts and rules never break decide ---------------------------------------------

_WORD = st.text(max_size=12)
_FLOAT = st.none() | st.floats(allow_nan=True, allow_infinity=True)
_FACTS = st.builds(
    Facts,
    remediation=_WORD,
    kind=st.sampled_from([*KINDS, "none"]) | _WORD,
    findings=st.lists(_WORD, max_size=3).map(tuple),
    packages=st.lists(st.sampled_from(["pyyaml", "Django", "lxml"]) | _WORD, max_size=3).map(tuple),
    ecosystem=_WORD,
    severity=st.sampled_from(["unknown", *SEVERITIES]) | _WORD,
    cvss=_FLOAT,
    epss=_FLOAT,
    kev=st.booleans(),
    upgrade_level=st.none() | st.sampled_from(UPGRADE_LEVELS) | _WORD,
    strategy=st.none() | st.sampled_from(STRATEGIES) | _WORD,
    reachability=st.sampled_from(REACHABILITY) | _WORD,
    verify_verdict=st.none() | st.sampled_from(VERIFY_VERDICTS) | _WORD,
    tests_passed=st.none() | st.booleans(),
    reach_share=_FLOAT,
    breaking=st.sampled_from(BREAKING) | _WORD,
    release_age_days=_FLOAT,
    codemod_tier=st.none() | st.sampled_from(CODEMOD_TIERS) | _WORD,
    has_test_command=st.booleans(),
)


def _words(choices: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...] | None]:
    return st.none() | st.lists(st.sampled_from(choices), min_size=1, max_size=3).map(tuple)


_RULE = st.builds(
    Rule,
    name=st.uuids().map(str),
    level=st.sampled_from([1, 2, 3]),
    index=st.just(0),
    severity_at_least=st.none() | st.sampled_from(SEVERITIES),
    cvss_at_least=st.none() | st.floats(0, 10),
    epss_at_least=st.none() | st.floats(0, 1),
    kev=st.none() | st.booleans(),
    upgrade_level=_words(UPGRADE_LEVELS),
    strategy=_words(STRATEGIES),
    kind=_words(KINDS),
    reachability=_words(REACHABILITY),
    verify=_words(VERIFY_VERDICTS),
    tests_passed=st.none() | st.booleans(),
    reach_share_at_least=st.none() | st.floats(0, 1),
    reach_share_above=st.none() | st.floats(0, 1, exclude_max=True),
    breaking=_words(BREAKING),
    release_age_days_at_least=st.none() | st.floats(0, 1000),
    packages=_words(("pyyaml", "django")),
    packages_deny=_words(("pyyaml", "lxml")),
    codemod_tier=_words(CODEMOD_TIERS),
)


@st.composite
def _policies(draw: st.DrawFn) -> Policy:
    rules = draw(st.lists(_RULE, max_size=4, unique_by=lambda r: r.name))
    return make_policy(
        tier=draw(st.sampled_from(TIERS)),
        tiers=dict(TIER_MAX),
        rules=tuple(replace(r, index=n) for n, r in enumerate(rules)),
        packages_deny=draw(st.sampled_from([(), ("django",)])),
        source="hypothesis",
    )


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_FACTS, st.none() | _policies(), st.none() | st.integers(1, 5))
def test_pol_decide_never_raises(f: Facts, policy: Policy | None, max_level: int | None) -> None:
    policy = policy or default_policy()
    d = decide(f, policy, max_level=max_level)
    assert 1 <= d.level <= 3
    assert_invariants(f, policy, max_level, d)
