"""Loading `.patchpilot.toml`: the embedded default, a project's file laid over it, one
`PolicyError` naming the file and the key path for every kind of mistake, the digest's
indifference to formatting, and the refusal to merge where no test command exists."""

from __future__ import annotations

import string
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchpilot.errors import ExitCode, PolicyError
from patchpilot.policy.load import (
    EMBEDDED,
    POLICY_FILE,
    default_policy,
    load_policy,
    parse_policy,
    policy_from_document,
    validate_for_project,
)
from patchpilot.policy.model import CONDITION_KEYS, DEFAULT_TIERS

DEFAULT_TEXT = (
    Path(__file__).resolve().parents[2] / "src" / "patchpilot" / "policy" / "default.toml"
).read_text(encoding="utf-8")


def write(root: Path, text: str) -> Path:
    path = root / POLICY_FILE
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> PolicyError:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path)
    assert caught.value.path == path
    assert caught.value.exit_code is ExitCode.INPUT_ERROR
    return caught.value


def test_pol_load_without_a_file_is_the_embedded_default(tmp_path: Path) -> None:
    policy = load_policy(tmp_path)
    assert policy is default_policy()
    assert policy.source == EMBEDDED
    assert policy.tier == "internal"
    assert dict(policy.tiers) == dict(DEFAULT_TIERS)
    assert policy.max_level == 3
    assert [r.name for r in policy.rules] == [
        "breaking-needs-review",
        "merge-verified-patch",
        "merge-verified-codemod",
        "review-every-fix",
    ]
    assert policy.digest.startswith("sha256:")
    assert len(policy.digest) == len("sha256:") + 64
    # The shipped file reads to the same policy as the package's loader makes of it.
    assert parse_policy(DEFAULT_TEXT, "default.toml").digest == policy.digest


def test_pol_load_project_file_over_the_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
tier = "regulated"
vex = ["vex/app.openvex.json"]

[gate]
fail_on = "high"
""",
    )
    policy = load_policy(tmp_path)
    base = default_policy()
    assert policy.source == str(path)
    assert policy.tier == "regulated"
    assert policy.max_level == 2
    assert policy.rules == base.rules  # no [[rules]]: the default rules stay
    assert policy.gate.fail_on == "high"
    assert policy.gate.kev is base.gate.kev  # a key left out keeps the default's value
    assert policy.vex == ("vex/app.openvex.json",)
    assert policy.digest != base.digest


def test_pol_load_rules_replace_the_default_rules(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
tier = "staging"
packages_deny = ["Django"]

[tiers.staging]
max_level = 2

[[rules]]
name = "critical-kev"
level = 2
description = "known exploited: get a branch up now"
kev = true
severity_at_least = "high"
cvss_at_least = 7
epss_at_least = 0.1
packages = ["PyYAML", "requests"]
packages_deny = ["Zope.Interface"]
release_age_days_at_least = 3

[[ignores]]
id = "CVE-2020-14343"
reason = "only trusted YAML is loaded"
expires = 2026-01-31
package = "PyYAML"
path = "requirements.txt"
""",
    )
    policy = load_policy(tmp_path)
    assert policy.tier == "staging"
    assert policy.max_level == 2
    assert policy.tiers["production"] == 3  # the default tiers are still defined
    assert policy.packages_deny == ("django",)
    (rule,) = policy.rules
    assert rule.name == "critical-kev"
    assert rule.place == "rules[0]"
    assert rule.description == "known exploited: get a branch up now"
    assert rule.cvss_at_least == 7.0
    assert rule.packages == ("pyyaml", "requests")  # normalised with packaging
    assert rule.packages_deny == ("zope-interface",)
    (ignore,) = policy.ignores
    assert ignore.expires == date(2026, 1, 31)
    assert ignore.package == "PyYAML"


def test_pol_load_explicit_path(tmp_path: Path) -> None:
    other = tmp_path / "policies" / "strict.toml"
    other.parent.mkdir()
    other.write_text('tier = "production"\n', encoding="utf-8")
    write(tmp_path, 'tier = "regulated"\n')
    assert load_policy(tmp_path, other).tier == "production"
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy(tmp_path, tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "place", "words"),
    [
        ("tier = 3", "tier", "expected a string, found an integer (3)"),
        ('tier = "prod"', "tier", "tier 'prod' is not defined"),
        ("colour = 1", "colour", "unknown key 'colour'"),
        ("[tiers.internal]\nmax_level = 5", "tiers.internal.max_level", "not a level"),
        ("[tiers.internal]\nmax_levl = 3", "tiers.internal.max_levl", "did you mean 'max_level'"),
        ("[tiers.qa]", "tiers.qa", "missing max_level"),
        ('[tiers."my tier"]\nmax_level = true', 'tiers."my tier".max_level', "not a level"),
        ("[tiers.regulated]\nmax_level = 3", "tiers.regulated.max_level", "never goes past"),
        ('rules = "all"', "rules", "expected an array of tables"),
        ("[[rules]]\nlevel = 2", "rules[0]", "a rule needs a name"),
        ('[[rules]]\nname = ""\nlevel = 2', "rules[0].name", "must not be empty"),
        ('[[rules]]\nname = "a"', "rules[0]", "needs a level"),
        ('[[rules]]\nname = "a"\nlevel = 0', "rules[0].level", "0 is not a level"),
        ('[[rules]]\nname = "a"\nlevel = 2.0', "rules[0].level", "2.0 is not a level"),
        ('[[rules]]\nname = "a"\nlevel = true', "rules[0].level", "True is not a level"),
        (
            '[[rules]]\nname = "a"\nlevel = 1\n[[rules]]\nname = "b"\nlevel = 2\n'
            '[[rules]]\nname = "c"\nlevel = 4',
            "rules[2].level",
            "4 is not a level",
        ),
        (
            '[[rules]]\nname = "a"\nlevel = 1\n[[rules]]\nname = "a"\nlevel = 2',
            "rules[1].name",
            "duplicate rule name 'a' (also rules[0])",
        ),
        (
            '[[rules]]\nname = "a"\nlevel = 1\nsevrity_at_least = "high"',
            "rules[0].sevrity_at_least",
            "did you mean 'severity_at_least'",
        ),
        (
            '[[rules]]\nname = "a"\nlevel = 1\nseverity_at_least = "severe"',
            "rules[0].severity_at_least",
            "not one of: none, low, medium, high, critical",
        ),
        (
            '[[rules]]\nname = "a"\nlevel = 1\ncvss_at_least = 11',
            "rules[0].cvss_at_least",
            "out of range; expected at least 0 and at most 10",
        ),
        (
            '[[rules]]\nname = "a"\nlevel = 1\nepss_at_least = "high"',
            "rules[0].epss_at_least",
            "expected a number, found a string",
        ),
        (
            '[[rules]]\nname = "a"\nlevel = 1\nreach_share_above = 1.0',
            "rules[0].reach_share_above",
            "below 1",
        ),
        (
            '[[rules]]\nname = "a"\nlevel = 1\ncvss_at_least = nan',
            "rules[0].cvss_at_least",
            "out of range",
        ),
        (
            '[[rules]]\nname = "a"\nlevel = 1\nkev = "yes"',
            "rules[0].kev",
            "expected true or false",
        ),
        (
            '[[rules]]\nname = "a"\nlevel = 1\nupgrade_level = "patch"',
            "rules[0].upgrade_level",
            "expected an array",
        ),
        (
            '[[rules]]\nname = "a"\nlevel = 1\nupgrade_level = ["patch", "huge"]',
            "rules[0].upgrade_level[1]",
            "'huge' is not one of: patch, minor, major",
        ),
        (
            '[[rules]]\nname = "a"\nlevel = 1\nverify = []',
            "rules[0].verify",
            "an empty list never matches",
        ),
        (
            '[[rules]]\nname = "a"\nlevel = 1\npackages = ["ok", 3]',
            "rules[0].packages[1]",
            "expected a string",
        ),
        (
            '[[rules]]\nname = "a"\nlevel = 1\ncodemod_tier = ["D"]',
            "rules[0].codemod_tier[0]",
            "not one of: A, A-, B, C",
        ),
        ('[[ignores]]\nreason = "r"\nexpires = 2030-01-01', "ignores[0]", "needs 'id'"),
        ('[[ignores]]\nid = "CVE-1"\nexpires = 2030-01-01', "ignores[0]", "needs 'reason'"),
        ('[[ignores]]\nid = "CVE-1"\nreason = "r"', "ignores[0]", "needs 'expires'"),
        (
            '[[ignores]]\nid = "CVE-1"\nreason = " "\nexpires = 2030-01-01',
            "ignores[0].reason",
            "must not be empty",
        ),
        (
            '[[ignores]]\nid = "CVE-1"\nreason = "r"\nexpires = "next year"',
            "ignores[0].expires",
            "not a date; write it as YYYY-MM-DD",
        ),
        (
            '[[ignores]]\nid = "CVE-1"\nreason = "r"\nexpires = 12:00:00',
            "ignores[0].expires",
            "not a date",
        ),
        (
            '[[ignores]]\nid = "CVE-1"\nreason = "r"\nexpires = 2030-01-01\nuntil = 1',
            "ignores[0].until",
            "unknown key",
        ),
        ('[gate]\nfail_on = "severe"', "gate.fail_on", "not one of: low, medium, high"),
        ("[gate]\nkev = 1", "gate.kev", "expected true or false, found an integer"),
        ("[gate]\nepss_at_least = 2", "gate.epss_at_least", "out of range"),
        ("gate = 1", "gate", "expected a table"),
        ('vex = "a.json"', "vex", "expected an array"),
        ("vex = [1]", "vex[0]", "expected a string"),
    ],
)
def test_pol_load_invalid_policy_names_file_and_key(
    tmp_path: Path, text: str, place: str, words: str
) -> None:
    err = error_of(tmp_path, text)
    assert err.place == place
    assert words in err.reason
    assert str(err) == f"{tmp_path / POLICY_FILE}: {place}: {err.reason}"


def test_pol_load_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    err = error_of(tmp_path, 'tier = "internal"\n\n[gate]\nfail_on = "high"\nkev = yes\n')
    assert err.place == 5
    assert err.reason.startswith("invalid TOML")
    assert str(err).startswith(f"{tmp_path / POLICY_FILE}:5: ")
    # A bad date is a TOML error too, at its line.
    assert error_of(tmp_path, '[[ignores]]\nid = "X"\nexpires = 2020-13-01\n').place == 3


def test_pol_load_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / POLICY_FILE
    path.write_bytes(b'tier = "\xff"\n')
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(tmp_path)
    path.unlink()
    path.mkdir()
    with pytest.raises(PolicyError, match="not a regular file"):
        load_policy(tmp_path, path)


FORMATTED_A = """
tier = "production"
[[rules]]
name = "patch"
level = 3
upgrade_level = ["patch"]
tests_passed = true
cvss_at_least = 7
packages = ["PyYAML"]
[[ignores]]
id = "CVE-2020-14343"
reason = "trusted input"
expires = 2030-01-01
"""
FORMATTED_B = """# the same policy, written differently
tier = 'production'   # single quotes

[[ignores]]
expires = "2030-01-01"
reason = "trusted input"
id = "CVE-2020-14343"

[[rules]]
tests_passed = true
packages = ["pyyaml"]       # normalised spelling
cvss_at_least = 7.0
upgrade_level = [ "patch", ]
level = 3
name = "patch"
"""


def test_pol_load_digest_ignores_formatting(tmp_path: Path) -> None:
    a = parse_policy(FORMATTED_A, tmp_path / "a.toml")
    b = parse_policy(FORMATTED_B, tmp_path / "b.toml")
    assert a.source != b.source
    assert a.digest == b.digest
    changed = parse_policy(FORMATTED_A.replace("level = 3", "level = 2"), tmp_path / "a.toml")
    assert changed.digest != a.digest
    later = parse_policy(FORMATTED_A.replace("2030-01-01", "2030-01-02"), tmp_path / "a.toml")
    assert later.digest != a.digest


def test_pol_load_every_condition_key_is_accepted(tmp_path: Path) -> None:
    values: dict[str, str] = {
        "severity_at_least": '"medium"',
        "cvss_at_least": "4.0",
        "epss_at_least": "0.2",
        "kev": "false",
        "upgrade_level": '["patch", "minor"]',
        "strategy": '["in-place"]',
        "kind": '["upgrade"]',
        "reachability": '["reachable", "unknown"]',
        "verify": '["verified"]',
        "tests_passed": "true",
        "reach_share_at_least": "0.5",
        "reach_share_above": "0",
        "breaking": '["compatible"]',
        "release_age_days_at_least": "7",
        "packages": '["pyyaml"]',
        "packages_deny": '["django"]',
        "codemod_tier": '["A", "A-"]',
    }
    assert set(values) == set(CONDITION_KEYS)
    body = "\n".join(f"{k} = {v}" for k, v in values.items())
    (rule,) = parse_policy(f'[[rules]]\nname = "all"\nlevel = 2\n{body}\n', "p.toml").rules
    assert list(rule.conditions()) == list(CONDITION_KEYS)
    assert rule.reach_share_above == 0.0


def test_pol_validate_for_project_refuses_merge_without_tests(tmp_path: Path) -> None:
    # The default's merge rules demand test evidence: fine without a test command.
    validate_for_project(default_policy(), tmp_path, has_test_command=False)
    text = """
[[rules]]
name = "review"
level = 2
[[rules]]
name = "merge-patches"
level = 3
upgrade_level = ["patch"]
"""
    policy = parse_policy(text, tmp_path / POLICY_FILE)
    validate_for_project(policy, tmp_path, has_test_command=True)
    with pytest.raises(PolicyError) as caught:
        validate_for_project(policy, tmp_path, has_test_command=False)
    err = caught.value
    assert err.place == "rules[1].level"
    assert "'merge-patches' grants level 3" in err.reason
    assert str(tmp_path) in err.reason and "no test command" in err.reason
    # A regulated tier never merges, so the rule cannot grant 3 there.
    regulated = parse_policy('tier = "regulated"\n' + text, tmp_path / POLICY_FILE)
    validate_for_project(regulated, tmp_path, has_test_command=False)
    # Requiring passing tests is enough: such a rule cannot match without a test command.
    guarded = parse_policy(text + "tests_passed = true\n", tmp_path / POLICY_FILE)
    validate_for_project(guarded, tmp_path, has_test_command=False)


# --- [[mitigations]]: a finding linked to the configuration mitigation standing in for it ---

LINK = (
    '[[mitigations]]\nid = "CVE-2022-22818"\nmitigation = "django-debug-env"\n'
    "expires = 2030-06-30\n"
)


def test_pol_load_mitigation_links(tmp_path: Path) -> None:
    text = (
        LINK
        + 'reason = "  DEBUG stays off until the upgrade ships "\n'
        + '[[mitigations]]\nid = "PYSEC-2021-142"\nmitigation = " nginx-tls-protocols "\n'
        + 'expires = "2031-01-15"\n'
    )
    policy = parse_policy(text, tmp_path / POLICY_FILE)
    first, second = policy.mitigations
    assert (first.id, first.mitigation, first.expires) == (
        "CVE-2022-22818",
        "django-debug-env",
        date(2030, 6, 30),
    )
    assert first.reason == "DEBUG stays off until the upgrade ships"
    assert (second.mitigation, second.expires, second.reason) == (
        "nginx-tls-protocols",
        date(2031, 1, 15),
        "",
    )
    # Links are part of the policy's meaning, so of its digest; the default has none.
    assert default_policy().mitigations == ()
    assert policy.digest != parse_policy("", tmp_path / POLICY_FILE).digest
    later = parse_policy(text.replace("2030-06-30", "2030-07-01"), tmp_path / POLICY_FILE)
    assert later.digest != policy.digest
    # The rest of the policy is the default's.
    assert policy.rules == default_policy().rules


@pytest.mark.parametrize(
    ("text", "place", "words"),
    [
        ('mitigations = "django-debug-env"', "mitigations", "expected an array of tables"),
        ("mitigations = [1]", "mitigations[0]", "expected a table, found an integer"),
        (
            '[[mitigations]]\nmitigation = "django-debug-env"\nexpires = 2030-06-30',
            "mitigations[0]",
            "a mitigation link needs 'id': the ID of the finding",
        ),
        (
            '[[mitigations]]\nid = "CVE-2022-22818"\nexpires = 2030-06-30',
            "mitigations[0]",
            "a mitigation link needs 'mitigation': a configuration mitigation ID",
        ),
        (
            '[[mitigations]]\nid = "CVE-2022-22818"\nmitigation = "django-debug-env"',
            "mitigations[0]",
            "a mitigation link needs 'expires': the date (YYYY-MM-DD) by which the real fix",
        ),
        (
            LINK + '[[mitigations]]\nid = "CVE-1"\nmitigation = "django-debug"\n'
            "expires = 2030-06-30",
            "mitigations[1].mitigation",
            "unknown mitigation 'django-debug'; known: django-debug-env, django-hsts,",
        ),
        (
            LINK.replace("2030-06-30", '"next year"'),
            "mitigations[0].expires",
            "'next year' is not a date; write it as YYYY-MM-DD",
        ),
        (
            LINK.replace("2030-06-30", '"2030-02-30"'),
            "mitigations[0].expires",
            "'2030-02-30' is not a date",
        ),
        (LINK.replace("2030-06-30", "12:00:00"), "mitigations[0].expires", "not a date"),
        (LINK.replace('"CVE-2022-22818"', "22818"), "mitigations[0].id", "expected a string"),
        (LINK.replace('"CVE-2022-22818"', '" "'), "mitigations[0].id", "must not be empty"),
        (
            LINK.replace('"django-debug-env"', '["django-debug-env"]'),
            "mitigations[0].mitigation",
            "expected a string, found an array",
        ),
        (LINK + 'reason = " "', "mitigations[0].reason", "must not be empty"),
        (LINK + "reason = 1", "mitigations[0].reason", "expected a string"),
        (LINK + "expiry = 2030-06-30", "mitigations[0].expiry", "did you mean 'expires'?"),
    ],
)
def test_pol_load_invalid_mitigation_links_name_the_key(
    tmp_path: Path, text: str, place: str, words: str
) -> None:
    err = error_of(tmp_path, text)
    assert err.place == place
    assert words in err.reason
    assert str(err) == f"{tmp_path / POLICY_FILE}: {place}: {err.reason}"


def test_pol_load_mitigation_bad_toml_date_names_the_line(tmp_path: Path) -> None:
    err = error_of(tmp_path, LINK.replace("2030-06-30", "2030-13-01"))
    assert err.place == 4
    assert err.reason.startswith("invalid TOML")


# --- junk in, only PolicyError out ----------------------------------------------------------

_KEYS = st.sampled_from(
    [
        "tier",
        "tiers",
        "rules",
        "ignores",
        "gate",
        "vex",
        "packages_deny",
        "name",
        "level",
        "max_level",
        "internal",
        "regulated",
        "id",
        "reason",
        "expires",
        "fail_on",
        "mitigations",
        "mitigation",
        *CONDITION_KEYS,
    ]
) | st.text(string.ascii_letters + "_-. ", max_size=8)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-5, 12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(
        [
            "internal",
            "regulated",
            "patch",
            "high",
            "A",
            "verified",
            "2030-01-01",
            "django-debug-env",
        ]
    )
    | st.text(max_size=6)
    | st.dates()
    | st.datetimes()
    | st.times()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=5))
def test_pol_load_junk_documents_raise_only_policy_errors(doc: dict[str, Any]) -> None:
    try:
        policy = policy_from_document(doc, "junk.toml")
    except PolicyError as e:
        assert str(e).startswith("junk.toml")
        return
    assert 1 <= policy.max_level <= 3
    assert policy.digest.startswith("sha256:")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_pol_load_junk_text_raises_only_policy_errors(text: str) -> None:
    try:
        parse_policy(text, "junk.toml")
    except PolicyError as e:
        assert str(e).startswith("junk.toml")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                'tier = "regulated"',
                "[[rules]]",
                'name = "r"',
                "level = 3",
                'upgrade_level = ["patch"]',
                "tests_passed = true",
                "[tiers.regulated]",
                "max_level = 2",
                "[[ignores]]",
                'id = "CVE-2020-14343"',
                'reason = "x"',
                "expires = 2030-01-01",
                "[[mitigations]]",
                'mitigation = "django-debug-env"',
                'mitigation = "no-such-mitigation"',
                "[gate]",
                'fail_on = "high"',
                "kev = false",
                "= broken",
            ]
        ),
        max_size=12,
    )
)
def test_pol_load_shuffled_lines_raise_only_policy_errors(lines: list[str]) -> None:
    try:
        policy = parse_policy("\n".join(lines), "junk.toml")
    except PolicyError as e:
        assert str(e).startswith("junk.toml")
        return
    # Whatever loads obeys the regulated ceiling.
    if policy.tier == "regulated":
        assert policy.max_level <= 2


def test_pol_load_dates_in_every_toml_form() -> None:
    for written, expected in (
        ("2030-01-31", date(2030, 1, 31)),
        ('"2030-01-31"', date(2030, 1, 31)),
        ("2030-01-31T10:00:00Z", date(2030, 1, 31)),
        ("2030-01-31 23:59:00", date(2030, 1, 31)),
    ):
        text = f'[[ignores]]\nid = "X"\nreason = "r"\nexpires = {written}\n'
        (ignore,) = parse_policy(text, "p.toml").ignores
        assert ignore.expires == expected


def test_pol_load_condition_keys_are_the_rule_fields() -> None:
    from dataclasses import fields

    from patchpilot.policy.model import Rule

    own = {"name", "level", "index", "description", "set_conditions"}
    assert [f.name for f in fields(Rule) if f.name not in own] == list(CONDITION_KEYS)
