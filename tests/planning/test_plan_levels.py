"""Upgrade levels by ecosystem rules and `--upgrade-config` parsing: worked examples from the
rules stated in `planning.levels`, and hypothesis properties (bumping one component of a
version gives that component's level; junk options give only `UsageError`).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patchpilot.advisories.versions import VersionError
from patchpilot.errors import UsageError
from patchpilot.model import Ecosystem
from patchpilot.planning.levels import (
    UpgradeConfig,
    UpgradeLevel,
    parse_upgrade_config,
    upgrade_level,
)

NONE, PATCH, MINOR, MAJOR = (
    UpgradeLevel.NONE,
    UpgradeLevel.PATCH,
    UpgradeLevel.MINOR,
    UpgradeLevel.MAJOR,
)
SEMVER_ECOSYSTEMS = (Ecosystem.NPM, Ecosystem.CRATES_IO, Ecosystem.GO)


@pytest.mark.parametrize(
    ("old", "new", "level"),
    [
        ("5.3.1", "5.4", MINOR),  # the PyYAML fix for CVE-2020-14343
        ("1.26.4", "1.26.19", PATCH),
        ("1.26.4", "2.0.0", MAJOR),
        ("1.0", "1.0.0", NONE),  # PEP 440: trailing zeros do not make another version
        ("2.0", "2.0.post1", PATCH),
        ("2.0rc1", "2.0", PATCH),
        ("1.2.3.4", "1.2.3.5", PATCH),
        ("1", "1.1", MINOR),
        ("1!1.0", "1.0", MAJOR),  # another epoch is another numbering altogether
        ("3.2", "2.2", MAJOR),  # a downgrade has a level too
    ],
)
def test_pep440_levels(old: str, new: str, level: UpgradeLevel) -> None:
    assert upgrade_level(Ecosystem.PYPI, old, new) is level


@pytest.mark.parametrize(
    ("old", "new", "level"),
    [
        ("1.2.0", "1.2.6", PATCH),  # minimist, CVE-2021-44906
        ("4.17.15", "4.17.21", PATCH),
        ("1.2.0", "1.3.0", MINOR),
        ("1.9.9", "2.0.0", MAJOR),
        ("0.3.1", "0.3.2", PATCH),  # caret: ^0.3.1 allows 0.3.2 ...
        ("0.3.1", "0.4.0", MAJOR),  # ... but not 0.4.0
        ("0.0.3", "0.0.4", MAJOR),  # ^0.0.3 allows only 0.0.3
        ("0.9.0", "1.0.0", MAJOR),
        ("1.0.0-rc.1", "1.0.0", PATCH),
        ("1.0.0+build.1", "1.0.0+build.2", NONE),  # build metadata never counts
    ],
)
def test_semver_levels(old: str, new: str, level: UpgradeLevel) -> None:
    for ecosystem in SEMVER_ECOSYSTEMS:
        assert upgrade_level(ecosystem, old, new) is level


def test_go_versions_with_v_prefix() -> None:
    assert upgrade_level(Ecosystem.GO, "v1.2.3", "v1.3.0") is MINOR
    assert upgrade_level(Ecosystem.GO, "v0.3.0", "v0.4.1") is MAJOR


def test_invalid_version_raises_version_error() -> None:
    with pytest.raises(VersionError, match="not-a-version"):
        upgrade_level(Ecosystem.PYPI, "not-a-version", "1.0")
    with pytest.raises(VersionError, match=r"x\.y\.z"):
        upgrade_level(Ecosystem.NPM, "1.0.0", "x.y.z")


_component = st.integers(min_value=0, max_value=10_000)


@given(st.lists(_component, min_size=1, max_size=5), st.integers(0, 4), st.integers(1, 50))
def test_pep440_bumping_one_component_gives_its_level(
    release: list[int], position: int, step: int
) -> None:
    padded = release + [0] * (position + 1 - len(release))
    bumped = list(padded)
    bumped[position] += step
    old = ".".join(map(str, release))
    new = ".".join(map(str, bumped))
    want = MAJOR if position == 0 else MINOR if position == 1 else PATCH
    assert upgrade_level(Ecosystem.PYPI, old, new) is want
    assert upgrade_level(Ecosystem.PYPI, new, old) is want  # same distance either way
    assert upgrade_level(Ecosystem.PYPI, old, old + ".0") is NONE


@given(
    st.tuples(_component, _component, _component),
    st.integers(0, 2),
    st.integers(1, 50),
    st.sampled_from(SEMVER_ECOSYSTEMS),
)
def test_semver_bumping_one_component_gives_its_caret_level(
    triple: tuple[int, int, int], position: int, step: int, ecosystem: Ecosystem
) -> None:
    bumped = list(triple)
    bumped[position] += step
    old = "{}.{}.{}".format(*triple)
    new = "{}.{}.{}".format(*bumped)
    # The breaking component is the leftmost non-zero one of the old version (or the last).
    breaking = next((i for i, part in enumerate(triple) if part != 0), 2)
    if position <= breaking:
        want = MAJOR
    elif triple[0] == 0:
        want = PATCH  # below 1.0.0 there is no minor level: 0.y.z → 0.y.(z+n)
    else:
        want = MINOR if position == 1 else PATCH
    assert upgrade_level(ecosystem, old, new) is want
    assert upgrade_level(ecosystem, old, old) is NONE


@given(st.text(max_size=20), st.text(max_size=20), st.sampled_from(list(Ecosystem)))
def test_junk_versions_give_only_version_errors(old: str, new: str, eco: Ecosystem) -> None:
    try:
        level = upgrade_level(eco, old, new)
    except VersionError:
        return
    assert isinstance(level, UpgradeLevel)


def test_ceiling_allows_levels_up_to_itself() -> None:
    order = [NONE, PATCH, MINOR, MAJOR]
    for i, ceiling in enumerate(order):
        assert [ceiling.allows(level) for level in order] == [j <= i for j in range(4)]


def test_upgrade_config_defaults_to_major() -> None:
    config = parse_upgrade_config([])
    assert config == UpgradeConfig()
    assert config.ceiling(Ecosystem.PYPI, "anything") is MAJOR


def test_upgrade_config_global_and_per_package() -> None:
    config = parse_upgrade_config(["minor", "PyYAML:patch", "@babel/core:none"])
    assert config.ceiling(Ecosystem.PYPI, "pyyaml") is PATCH
    assert config.ceiling(Ecosystem.PYPI, "PyYaml") is PATCH
    assert config.ceiling(Ecosystem.NPM, "@babel/core") is NONE
    assert config.ceiling(Ecosystem.NPM, "@Babel/Core") is NONE  # npm names are case-blind
    assert config.ceiling(Ecosystem.PYPI, "urllib3") is MINOR
    assert config.allows(Ecosystem.PYPI, "pyyaml", PATCH)
    assert not config.allows(Ecosystem.PYPI, "pyyaml", MINOR)


def test_upgrade_config_names_are_normalised_per_ecosystem() -> None:
    config = parse_upgrade_config(["Zope.Interface:none"])
    assert config.ceiling(Ecosystem.PYPI, "zope-interface") is NONE  # PEP 503
    assert config.ceiling(Ecosystem.NPM, "zope.interface") is NONE
    assert config.ceiling(Ecosystem.NPM, "zope-interface") is MAJOR  # npm keeps punctuation


def test_upgrade_config_later_wins_and_packages_beat_the_default() -> None:
    config = parse_upgrade_config(["PyYAML:patch", "pyyaml:minor", "none", "patch"])
    assert config.ceiling(Ecosystem.PYPI, "pyyaml") is MINOR
    assert config.ceiling(Ecosystem.PYPI, "requests") is PATCH
    assert parse_upgrade_config([" Minor "]).default is MINOR


@pytest.mark.parametrize(
    "value", ["huge", "pyyaml:", ":minor", "py yaml:minor", "pyyaml:patch:", "", "pyyaml:maj"]
)
def test_invalid_upgrade_config_names_the_value(value: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_upgrade_config(["minor", value])
    assert repr(value) in str(caught.value)
    assert "--upgrade-config" in str(caught.value)


_names = st.from_regex(r"[A-Za-z0-9@][A-Za-z0-9._/@-]{0,20}", fullmatch=True)
_levels = st.sampled_from(list(UpgradeLevel))


@given(st.lists(st.tuples(_names, _levels), max_size=6), _levels)
def test_upgrade_config_round_trips_generated_entries(
    entries: list[tuple[str, UpgradeLevel]], default: UpgradeLevel
) -> None:
    values = [f"{name}:{level.value}" for name, level in entries] + [default.value.upper()]
    config = parse_upgrade_config(values)
    assert config.default is default
    for name, _ in entries:
        last = [lvl for n, lvl in entries if n.lower() == name.lower()][-1]
        assert config.ceiling(Ecosystem.NPM, name) is last


@given(st.lists(st.text(max_size=30), max_size=5))
def test_junk_upgrade_config_gives_only_usage_errors(values: list[str]) -> None:
    try:
        config = parse_upgrade_config(values)
    except UsageError as e:
        assert "--upgrade-config" in str(e)
        return
    assert isinstance(config.default, UpgradeLevel)
