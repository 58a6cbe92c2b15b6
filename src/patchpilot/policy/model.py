"""The policy as values: tiers, ordered rules with their conditions, gate settings, and digest.

A `Policy` is what `load.load_policy` makes of a `.patchpilot.toml` (or of the embedded
default): names are normalised and every list is a tuple, so equal policies are equal values.
Its `digest` is the SHA-256 of a canonical JSON form of that content (`canonical`), so a
decision recorded in the ledger names exactly the policy it was made under, and reformatting
the file (comments, order of keys, quoting) does not change it. The words every condition
accepts are listed here, once, for the loader, `decide` and the documentation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from patchpilot.policy.ignores import Ignore

LEVELS: tuple[int, ...] = (1, 2, 3)
LEVEL_WORDS = {1: "notify", 2: "branch for review", 3: "merge"}
DEFAULT_TIERS: Mapping[str, int] = {"internal": 3, "production": 3, "regulated": 2}
# A regulated project never goes past a branch for review, whatever its policy file says.
REGULATED = "regulated"
REGULATED_MAX = 2

SEVERITIES: tuple[str, ...] = ("none", "low", "medium", "high", "critical")
GATE_SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical", "never")
UPGRADE_LEVELS: tuple[str, ...] = ("patch", "minor", "major")
STRATEGIES: tuple[str, ...] = ("in-place", "relax", "override", "co-upgrade")
KINDS: tuple[str, ...] = ("upgrade", "override", "codemod", "config")
REACHABILITY: tuple[str, ...] = ("reachable", "unreachable", "unknown")
VERIFY_VERDICTS: tuple[str, ...] = (
    "verified",
    "not-reached",
    "regression",
    "still-vulnerable",
    "no-tests",
)
BREAKING: tuple[str, ...] = (
    "breaks-project",
    "breaks-dependency",
    "api-changed-unused",
    "compatible",
    "unknown",
)
CODEMOD_TIERS: tuple[str, ...] = ("A", "A-", "B", "C")


# Every condition a rule can set, in the order the schema documents them.
CONDITION_KEYS: tuple[str, ...] = (
    "severity_at_least",
    "cvss_at_least",
    "epss_at_least",
    "kev",
    "upgrade_level",
    "strategy",
    "kind",
    "reachability",
    "verify",
    "tests_passed",
    "reach_share_at_least",
    "reach_share_above",
    "breaking",
    "release_age_days_at_least",
    "packages",
    "packages_deny",
    "codemod_tier",
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One `[[rules]]` entry: a name, the level it grants, and conditions that must all hold.

    A condition left out (None) is not checked. `index` is the rule's position in the file,
    for key paths in messages (`rules[2]`). `description` is optional text shown with the
    decision.
    """

    name: str
    level: int
    index: int
    description: str = ""
    severity_at_least: str | None = None
    cvss_at_least: float | None = None
    epss_at_least: float | None = None
    kev: bool | None = None
    upgrade_level: tuple[str, ...] | None = None
    strategy: tuple[str, ...] | None = None
    kind: tuple[str, ...] | None = None
    reachability: tuple[str, ...] | None = None
    verify: tuple[str, ...] | None = None
    tests_passed: bool | None = None
    reach_share_at_least: float | None = None
    reach_share_above: float | None = None
    breaking: tuple[str, ...] | None = None
    release_age_days_at_least: float | None = None
    packages: tuple[str, ...] | None = None
    packages_deny: tuple[str, ...] | None = None
    codemod_tier: tuple[str, ...] | None = None
    # (key, value) of every condition set, in schema order; worked out once, since `decide`
    # walks it for every remediation.
    set_conditions: tuple[tuple[str, Any], ...] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        found = tuple(
            (name, getattr(self, name))
            for name in CONDITION_KEYS
            if getattr(self, name) is not None
        )
        object.__setattr__(self, "set_conditions", found)

    @property
    def place(self) -> str:
        return f"rules[{self.index}]"

    def conditions(self) -> dict[str, Any]:
        """The conditions this rule sets, by key, in schema order (lists as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.set_conditions}

    @property
    def requires_test_evidence(self) -> bool:
        """Whether the rule can only match after tests ran and passed on the fix branch."""
        return (
            self.tests_passed is True
            or (self.verify is not None and set(self.verify) <= {"verified"})
            or self.reach_share_above is not None
            or (self.reach_share_at_least is not None and self.reach_share_at_least > 0)
        )

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "level": self.level}
        if self.description:
            data["description"] = self.description
        data.update(self.conditions())
        return data


@dataclass(frozen=True, slots=True)
class GateSettings:
    """`[gate]`: fail on findings at or above `fail_on` (`never`: not by severity), on any
    finding in CISA KEV when `kev`, and on an EPSS score at or above `epss_at_least`."""

    fail_on: str = "low"
    kev: bool = True
    epss_at_least: float | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"fail_on": self.fail_on, "kev": self.kev}
        if self.epss_at_least is not None:
            data["epss_at_least"] = self.epss_at_least
        return data


@dataclass(frozen=True, slots=True)
class MitigationLink:
    """A finding that a configuration mitigation stands in for until its real fix lands.

    `id` is the finding's ID or an alias; `mitigation` the configuration mitigation's ID (e.g.
    `django-debug-env`); `expires` the date by which the real fix must be merged: the OpenVEX
    `not_affected` (`inline_mitigations_already_exist`) statement patchpilot writes once the
    mitigation is merged says so, and is not written after that date.
    """

    id: str
    mitigation: str
    expires: date
    reason: str = ""

    def as_dict(self) -> dict[str, str]:
        data = {"id": self.id, "mitigation": self.mitigation, "expires": self.expires.isoformat()}
        if self.reason:
            data["reason"] = self.reason
        return data


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy: the project's `tier`, every tier's maximum level, the ordered
    `rules`, `ignores`, `gate` settings, VEX files (`vex`, relative to the project root), the
    packages never granted more than level 1 (`packages_deny`, normalised), the `digest` of
    the content and where it came from (`source`: a path or `embedded default`)."""

    tier: str
    tiers: Mapping[str, int] = field(hash=False)
    rules: tuple[Rule, ...]
    ignores: tuple[Ignore, ...]
    gate: GateSettings
    vex: tuple[str, ...]
    packages_deny: tuple[str, ...]
    source: str
    digest: str
    mitigations: tuple[MitigationLink, ...] = ()

    @property
    def max_level(self) -> int:
        """The highest level the project's tier allows (1 for a tier the policy lacks)."""
        return tier_max(self.tiers, self.tier)

    def as_dict(self) -> dict[str, Any]:
        return content(
            self.tier,
            self.tiers,
            self.rules,
            self.ignores,
            self.gate,
            self.vex,
            self.packages_deny,
            self.mitigations,
        )


def tier_max(tiers: Mapping[str, int], tier: str) -> int:
    level = tiers.get(tier, LEVELS[0])
    return min(level, REGULATED_MAX) if tier == REGULATED else level


def content(
    tier: str,
    tiers: Mapping[str, int],
    rules: tuple[Rule, ...],
    ignores: tuple[Ignore, ...],
    gate: GateSettings,
    vex: tuple[str, ...],
    packages_deny: tuple[str, ...],
    mitigations: tuple[MitigationLink, ...] = (),
) -> dict[str, Any]:
    """The policy's content as JSON-ready data (what the digest is taken of)."""
    data: dict[str, Any] = {
        "tier": tier,
        "tiers": {name: {"max_level": level} for name, level in sorted(tiers.items())},
        "rules": [r.as_dict() for r in rules],
        "ignores": [i.as_dict() for i in ignores],
        "gate": gate.as_dict(),
        "vex": list(vex),
        "packages_deny": list(packages_deny),
    }
    # Only present when used, so policies without links keep their digests.
    if mitigations:
        data["mitigations"] = [m.as_dict() for m in mitigations]
    return data


def canonical(data: Mapping[str, Any]) -> str:
    """Canonical JSON: sorted keys, no insignificant white space, UTF-8 kept as is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def make_policy(
    *,
    tier: str,
    tiers: Mapping[str, int],
    rules: tuple[Rule, ...],
    ignores: tuple[Ignore, ...] = (),
    gate: GateSettings | None = None,
    vex: tuple[str, ...] = (),
    packages_deny: tuple[str, ...] = (),
    source: str,
    mitigations: tuple[MitigationLink, ...] = (),
) -> Policy:
    """A `Policy` with its digest computed from its content (the source is not part of it)."""
    gate = gate or GateSettings()
    data = content(tier, tiers, rules, ignores, gate, vex, packages_deny, mitigations)
    digest = "sha256:" + hashlib.sha256(canonical(data).encode("utf-8")).hexdigest()
    return Policy(
        tier=tier,
        tiers=dict(tiers),
        rules=rules,
        ignores=ignores,
        gate=gate,
        vex=vex,
        packages_deny=packages_deny,
        source=source,
        digest=digest,
        mitigations=mitigations,
    )
