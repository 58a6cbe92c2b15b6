"""Version schemes: keys order exactly as packaging / python-semver order, Go and npm spellings
are read the way their tools read them, and invalid versions raise a clean `VersionError`.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import semver
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import InvalidVersion, Version

from patchpilot.advisories import versions
from patchpilot.advisories.versions import MAXIMUM, MINIMUM, Scheme, VersionError
from patchpilot.model import Ecosystem

REPO = Path(__file__).resolve().parents[2]
OSV_DIR = REPO.parent / "shared" / "osv"

numbers = st.integers(min_value=0, max_value=30)
identifier = st.one_of(
    numbers.map(str),
    st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=6),
).filter(lambda s: not s.isdigit() or s == str(int(s)))
semver_text = st.builds(
    lambda core, pre, build: (
        ".".join(map(str, core))
        + (f"-{'.'.join(pre)}" if pre else "")
        + (f"+{'.'.join(build)}" if build else "")
    ),
    st.tuples(numbers, numbers, numbers),
    st.lists(identifier, max_size=3),
    st.lists(st.sampled_from(["build", "1", "incompatible", "sha-1"]), max_size=2),
)
pep440_text = st.builds(
    lambda epoch, release, pre, post, dev: (
        (f"{epoch}!" if epoch else "")
        + ".".join(map(str, release))
        + (f"{pre[0]}{pre[1]}" if pre else "")
        + (f".post{post}" if post is not None else "")
        + (f".dev{dev}" if dev is not None else "")
    ),
    st.integers(0, 2),
    st.lists(numbers, min_size=1, max_size=4),
    st.none() | st.tuples(st.sampled_from(["a", "b", "rc"]), numbers),
    st.none() | numbers,
    st.none() | numbers,
)


@given(semver_text, semver_text)
def test_semver_keys_order_like_python_semver(a: str, b: str) -> None:
    key_a = versions.key(Scheme.SEMVER, a)
    key_b = versions.key(Scheme.SEMVER, b)
    assert key_a is not None
    assert key_b is not None
    want = semver.Version.parse(a).compare(semver.Version.parse(b))
    got = (key_a > key_b) - (key_a < key_b)
    assert got == want


@given(pep440_text, pep440_text)
def test_pep440_keys_order_like_packaging(a: str, b: str) -> None:
    key_a = versions.key(Scheme.PEP440, a)
    key_b = versions.key(Scheme.PEP440, b)
    assert key_a is not None
    assert key_b is not None
    assert (key_a < key_b) == (Version(a) < Version(b))
    assert (key_a == key_b) == (Version(a) == Version(b))


@given(st.text(max_size=20))
def test_any_text_parses_or_raises_version_error(text: str) -> None:
    for scheme in Scheme:
        try:
            versions.parse(scheme, text)
        except VersionError as e:
            assert isinstance(e, ValueError)
            assert e.text == text
            assert versions.key(scheme, text) is None
        else:
            assert versions.key(scheme, text) is not None


def test_special_event_values_bound_every_version() -> None:
    for scheme, lowest in ((Scheme.PEP440, "0.dev0"), (Scheme.SEMVER, "0.0.0-0")):
        low = versions.key(scheme, lowest)
        assert low is not None
        assert versions.event_key(scheme, "introduced", "0") == MINIMUM < low
        assert versions.event_key(scheme, "limit", "*") == MAXIMUM
        assert low < MAXIMUM
    # `0` is special only for `introduced`, `*` only for `limit`.
    assert versions.event_key(Scheme.PEP440, "fixed", "0") == versions.key(Scheme.PEP440, "0")
    assert versions.event_key(Scheme.SEMVER, "fixed", "*") is None


@pytest.mark.parametrize(
    ("spelled", "same_as"),
    [
        ("v1.2.3", "1.2.3"),
        ("go1.21", "1.21.0"),
        ("1.21", "1.21.0"),
        ("1.21rc1", "1.21.0-rc.1"),
        ("go1.9beta2", "1.9.0-beta.2"),
        ("v2.0.0+incompatible", "2.0.0"),
    ],
)
def test_go_spellings(spelled: str, same_as: str) -> None:
    assert versions.key(Scheme.GO, spelled) == versions.key(Scheme.GO, same_as)


def test_go_order_of_pseudo_versions_and_releases() -> None:
    ordered = [
        "v0.0.0-20190301021747-ccb9e902956d",
        "v0.0.0-20220906165146-f3363e06e74c",
        "v1.3.1-0.20190301021747-ccb9e902956d",  # pseudo-version after v1.3.0, before v1.3.1
        "v1.3.1",
        "1.19.0-0",  # the Go database's "start of the 1.19 series"
        "go1.19rc1",
        "1.19.0",
        "v1.19.1",
    ]
    keys = [versions.key(Scheme.GO, v) for v in ordered]
    assert None not in keys
    assert keys == sorted(keys)  # type: ignore[type-var]
    assert len(set(keys)) == len(keys)


def test_lenient_semver_for_npm_and_crates() -> None:
    assert versions.scheme_for(Ecosystem.NPM) is Scheme.SEMVER
    assert versions.scheme_for(Ecosystem.CRATES_IO) is Scheme.SEMVER
    assert versions.key(Scheme.SEMVER, "1.0") == versions.key(Scheme.SEMVER, "1.0.0")
    assert versions.key(Scheme.SEMVER, "v1.0.0") == versions.key(Scheme.SEMVER, "1.0.0")
    for bad in ("7.2.4, 6.11.4", "latest", "", "1.2.3.4", "01.2.3"):
        with pytest.raises(VersionError, match="invalid SemVer version"):
            versions.parse(Scheme.SEMVER, bad)


def test_schemes_per_ecosystem_and_range_type() -> None:
    assert versions.scheme_for(Ecosystem.PYPI) is Scheme.PEP440
    assert versions.scheme_for(Ecosystem.PYPI, "SEMVER") is Scheme.SEMVER
    assert versions.scheme_for(Ecosystem.GO, "SEMVER") is Scheme.GO
    assert versions.scheme_for(Ecosystem.GO, "ECOSYSTEM") is Scheme.GO
    assert isinstance(versions.parse_version(Ecosystem.PYPI, "1.0.post1"), Version)


def test_sort_key_puts_invalid_versions_last() -> None:
    texts = ["2019-09-12", "1.10", "1.9", "1.0rc1", "not a version"]
    ordered = sorted(texts, key=lambda t: versions.sort_key(Scheme.PEP440, t))
    assert ordered == ["1.0rc1", "1.9", "1.10", "2019-09-12", "not a version"]


def test_canonical_spelling() -> None:
    assert versions.canonical(Scheme.PEP440, "1.0.0-RC1") == str(Version("1.0.0-RC1"))
    assert versions.canonical(Scheme.SEMVER, "v1.0") == "1.0.0"
    assert versions.canonical(Scheme.SEMVER, "bad") is None


def _event_values(zip_name: str) -> set[str]:
    values: set[str] = set()
    with zipfile.ZipFile(OSV_DIR / zip_name) as archive:
        for name in archive.namelist():
            record = json.loads(archive.read(name))
            for entry in record.get("affected", []):
                for rng in entry.get("ranges", []):
                    if rng["type"] != "GIT":
                        for event in rng["events"]:
                            values.update(v for v in event.values() if v != "0")
    return values


def test_real_pypi_event_versions_agree_with_packaging() -> None:
    values = _event_values("pypa-advisory-database.zip")
    assert len(values) > 1000
    for text in values:
        try:
            Version(text)
        except InvalidVersion:
            assert not versions.is_valid(Scheme.PEP440, text)
        else:
            assert versions.is_valid(Scheme.PEP440, text)


@pytest.mark.parametrize(
    ("zip_name", "scheme"),
    [("go-vulndb.zip", Scheme.GO), ("rustsec-advisory-db.zip", Scheme.SEMVER)],
)
def test_real_semver_event_versions_all_parse(zip_name: str, scheme: Scheme) -> None:
    values = _event_values(zip_name)
    assert len(values) > 500
    for text in values:
        key = versions.key(scheme, text)
        assert key is not None, text
        assert key == versions.key(scheme, str(semver.Version.parse(text)))
