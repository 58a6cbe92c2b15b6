"""The decision: which autonomy level one remediation gets, by which rule, and why.

`decide(facts, policy, max_level=...)` is a pure function of its arguments. The policy's rules
are tried in order and the first whose conditions all hold grants its level; no match is the
`default` decision, level 1 (notify). A condition that needs a fact nobody knows (no CVSS
score, not verified, no trace) does not hold, so missing evidence never grants autonomy. The
granted level is then capped, each cap said in words: by the tier's maximum (a `regulated`
tier never goes past 2), by `--max-level`, to 1 when there is nothing to apply or a package is
on the policy's deny list, and to 2 when the project has no test command. The reasons name the
conditions that matched and, for every earlier rule that would have granted more, what it
lacked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.utils import canonicalize_name

from patchpilot.errors import UsageError
from patchpilot.policy.facts import NO_FIX, Facts
from patchpilot.policy.model import LEVEL_WORDS, SEVERITIES, Policy, Rule, tier_max

DEFAULT_RULE = "default"


@dataclass(frozen=True, slots=True)
class Decision:
    """The level granted (1 notify, 2 branch for review, 3 merge), the rule that granted it
    (`default` when none matched), the reasons in plain words, the policy's tier, and what
    lowered the rule's level, if anything: `tier`, `max-level`, `no-fix`, `deny` or
    `no-test-command`."""

    level: int
    rule: str
    reasons: tuple[str, ...]
    tier: str
    capped_by: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "rule": self.rule,
            "reasons": list(self.reasons),
            "tier": self.tier,
            "capped_by": self.capped_by,
        }


def decide(facts: Facts, policy: Policy, *, max_level: int | None = None) -> Decision:
    """The level `policy` grants the remediation described by `facts` (see the module)."""
    if max_level is not None and max_level < 1:
        raise UsageError(f"--max-level {max_level}: the lowest level is 1 (notify)")
    matched: Rule | None = None
    passed: list[str] = []
    missed: list[tuple[Rule, list[str]]] = []
    for rule in policy.rules:
        held, failed = check(rule, facts)
        if not failed:
            matched, passed = rule, held
            break
        missed.append((rule, failed))
    # Levels outside 1..3 only come from values built by hand (the loader refuses them).
    granted = min(max(matched.level, 1), 3) if matched is not None else 1
    reasons: list[str] = []
    if matched is None:
        reasons.append("no rule matched: level 1 (notify)")
    else:
        what = "; ".join(passed) if passed else "it has no conditions"
        reasons.append(f"rule {matched.name!r} ({matched.place}) matched: {what}")
        if matched.description:
            reasons.append(matched.description)
    for rule, failed in missed:
        if rule.level > granted:
            reasons.append(
                f"rule {rule.name!r} (level {rule.level}, {_words(rule.level)}) does not "
                f"apply: {'; '.join(failed)}"
            )
    level, capped_by, cap_reasons = _caps(granted, facts, policy, max_level)
    reasons.extend(cap_reasons)
    return Decision(
        level=level,
        rule=matched.name if matched is not None else DEFAULT_RULE,
        reasons=tuple(reasons),
        tier=policy.tier,
        capped_by=capped_by,
    )


def _caps(
    granted: int, facts: Facts, policy: Policy, max_level: int | None
) -> tuple[int, str | None, list[str]]:
    """The level after every cap, the cap that set it, and a reason for each cap that bit."""
    caps: list[tuple[int, str, str]] = []
    if facts.kind == NO_FIX:
        caps.append((1, "no-fix", "there is no fix to apply, so the finding is reported only"))
    denied = (
        sorted(set(_names(facts.packages)) & set(_names(policy.packages_deny)))
        if policy.packages_deny
        else []
    )
    if denied:
        caps.append((1, "deny", f"{', '.join(denied)} on the policy's packages_deny: notify only"))
    if not facts.has_test_command:
        caps.append(
            (2, "no-test-command", "the project has no test command: nothing is merged unproven")
        )
    elif not proven(facts):
        # Whatever a rule grants, a merge needs passing tests on the fix: a regression, a
        # still-vulnerable install, a suite that ran nothing or no verification at all is a
        # fix that passed static checks only, and a person looks at it.
        verdict = facts.verify_verdict or "not verified"
        caps.append(
            (
                2,
                "unproven",
                f"verify verdict {verdict}"
                + ("" if facts.tests_passed else ", no passing test on the fix")
                + ": nothing is merged unproven",
            )
        )
    limit = tier_max(policy.tiers, policy.tier)
    caps.append(
        (limit, "tier", f"tier {policy.tier!r} allows at most level {limit} ({_words(limit)})")
    )
    if max_level is not None:
        caps.append((max_level, "max-level", f"--max-level {max_level} caps the level"))
    level = max(1, min([granted, *(cap for cap, _, _ in caps)]))
    biting = [(cap, name, why) for cap, name, why in caps if cap < granted]
    capped_by = next((name for cap, name, _ in biting if cap == level), None)
    # Nothing to apply is said even when no rule granted more: it is why the level is 1.
    said = [why for cap, name, why in caps if cap < granted or name == "no-fix"]
    return level, capped_by, said


UNPROVEN_VERDICTS = frozenset({"regression", "still-vulnerable", "no-tests"})


def proven(facts: Facts) -> bool:
    """Whether the fix has the least evidence a merge needs: it was verified, the verdict is
    not a failure, and tests passed on it (no regression, at least one passing test)."""
    return (
        facts.verify_verdict is not None
        and facts.verify_verdict not in UNPROVEN_VERDICTS
        and facts.tests_passed is True
    )


def check(rule: Rule, facts: Facts) -> tuple[list[str], list[str]]:
    """The rule's conditions that hold and those that do not (or cannot be checked), in words."""
    held: list[str] = []
    failed: list[str] = []
    for key, wanted in rule.set_conditions:
        ok, text = _CHECKS[key](wanted, facts)
        (held if ok else failed).append(text)
    return held, failed


_Check = Callable[[Any, Facts], tuple[bool, str]]


def _pct(share: float) -> str:
    return f"{share * 100:.4g}%"


def _severity(wanted: str, facts: Facts) -> tuple[bool, str]:
    if facts.severity not in SEVERITIES:
        return False, f"the severity is {facts.severity}, so severity_at_least cannot be checked"
    ok = SEVERITIES.index(facts.severity) >= SEVERITIES.index(wanted)
    return ok, f"severity {facts.severity} is {'at least' if ok else 'below'} {wanted}"


def _at_least(
    label: str, get: Callable[[Facts], float | None], unknown: str, show: Callable[[float], str]
) -> _Check:
    def check(wanted: float, facts: Facts) -> tuple[bool, str]:
        value = get(facts)
        if value is None:
            return False, unknown
        ok = value >= wanted
        return ok, f"{label} {show(value)} is {'at least' if ok else 'below'} {show(wanted)}"

    return check


def _above(wanted: float, facts: Facts) -> tuple[bool, str]:
    share = facts.reach_share
    if share is None:
        return False, "no test-reach evidence (the tests' execution was not traced)"
    ok = share > wanted
    verb = "above" if ok else "not above"
    return ok, f"tests executed {_pct(share)} of the target code, {verb} {_pct(wanted)}"


def _one_of(label: str, get: Callable[[Facts], str | None], unknown: str) -> _Check:
    def check(wanted: Sequence[str], facts: Facts) -> tuple[bool, str]:
        value = get(facts)
        if value is None:
            return False, unknown
        if value in wanted:
            return True, f"{label} {value} is one of {', '.join(wanted)}"
        return False, f"{label} {value} is not one of {', '.join(wanted)}"

    return check


def _flag(yes: str, no: str, get: Callable[[Facts], bool | None], unknown: str) -> _Check:
    def check(wanted: bool, facts: Facts) -> tuple[bool, str]:
        value = get(facts)
        if value is None:
            return False, unknown
        return value == wanted, yes if value else no

    return check


def _packages(wanted: Sequence[str], facts: Facts) -> tuple[bool, str]:
    names = _names(facts.packages)
    wanted = _names(wanted)
    if not names:
        return False, "the remediation names no package, so packages cannot be checked"
    outside = [n for n in names if n not in wanted]
    if outside:
        return False, f"{', '.join(outside)} not among the rule's packages"
    return True, f"{', '.join(names)} among the rule's packages"


def _packages_deny(wanted: Sequence[str], facts: Facts) -> tuple[bool, str]:
    deny = set(_names(wanted))
    denied = [n for n in _names(facts.packages) if n in deny]
    if denied:
        return False, f"{', '.join(denied)} on the rule's packages_deny"
    return True, "no package on the rule's packages_deny"


_CHECKS: dict[str, _Check] = {
    "severity_at_least": _severity,
    "cvss_at_least": _at_least(
        "CVSS score", lambda f: f.cvss, "no CVSS score is known", lambda v: f"{v:g}"
    ),
    "epss_at_least": _at_least(
        "EPSS score", lambda f: f.epss, "no EPSS score is known", lambda v: f"{v:g}"
    ),
    "kev": _flag(
        "a finding is in CISA KEV",
        "no finding is in CISA KEV",
        lambda f: f.kev,
        "KEV membership is not known",
    ),
    "upgrade_level": _one_of(
        "upgrade level", lambda f: f.upgrade_level, "the upgrade level is not known"
    ),
    "strategy": _one_of("strategy", lambda f: f.strategy, "no strategy was applied"),
    "kind": _one_of("kind", lambda f: f.kind, "the kind is not known"),
    "reachability": _one_of(
        "static reachability", lambda f: f.reachability, "the reachability is not known"
    ),
    "verify": _one_of(
        "verify verdict", lambda f: f.verify_verdict, "the fix was not verified (no verdict)"
    ),
    "tests_passed": _flag(
        "the tests passed on the fix",
        "the tests did not pass on the fix",
        lambda f: f.tests_passed,
        "no test results for the fix",
    ),
    "reach_share_at_least": _at_least(
        "test reach",
        lambda f: f.reach_share,
        "no test-reach evidence (the tests' execution was not traced)",
        _pct,
    ),
    "reach_share_above": _above,
    "breaking": _one_of("breaking-change verdict", lambda f: f.breaking, "not assessed"),
    "release_age_days_at_least": _at_least(
        "release age (days)",
        lambda f: f.release_age_days,
        "the release date of the target is not known",
        lambda v: f"{v:.1f}",
    ),
    "packages": _packages,
    "packages_deny": _packages_deny,
    "codemod_tier": _one_of("codemod tier", lambda f: f.codemod_tier, "not a codemod fix"),
}


def _names(packages: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(canonicalize_name(p) for p in packages))


def _words(level: int) -> str:
    return LEVEL_WORDS.get(level, "above merge")
