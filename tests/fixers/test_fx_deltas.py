"""Package deltas between two readings of real uv.lock files, and lockfiles at git revisions.

The lockfiles in tests/assets/fixers/deltas were made by the real `uv lock` (see the README
there). The expected deltas are computed here independently: the lockfiles are read with
tomllib and the versions compared with `packaging`, never with the code under test.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from patchpilot.errors import SourceError
from patchpilot.fixers.changeset import DeltaLevel, PackageDelta
from patchpilot.fixers.deltas import change_level, package_deltas, read_lock_at
from patchpilot.model import (
    Component,
    Ecosystem,
    Location,
    Scope,
    SourceKind,
    SourceResult,
    make_purl,
    normalize_name,
)
from patchpilot.sources.discover import collect
from patchpilot.sources.uv_lock import UvLockSource

DELTAS = Path(__file__).resolve().parents[1] / "assets" / "fixers" / "deltas"
PYPI = Ecosystem.PYPI


def lock_versions(path: Path) -> dict[str, set[str]]:
    """name -> versions of the registry packages a uv.lock lists (the project itself left out)."""
    data = tomllib.loads(path.read_text())
    out: dict[str, set[str]] = defaultdict(set)
    for pkg in data["package"]:
        if "registry" in pkg.get("source", {}):
            out[normalize_name(PYPI, pkg["name"])].add(pkg["version"])
    return out


def direct_names(project: Path) -> set[str]:
    data = tomllib.loads((project / "pyproject.toml").read_text())
    return {
        normalize_name(PYPI, d.split("=")[0].split(";")[0].strip())
        for d in data["project"]["dependencies"]
    }


def oracle_level(old: str, new: str) -> str:
    a, b = Version(old), Version(new)
    if b < a:
        return "downgrade"
    ra, rb = (*a.release, 0, 0), (*b.release, 0, 0)
    if ra[0] != rb[0]:
        return "major"
    if ra[1] != rb[1]:
        return "minor"
    return "patch"


def oracle_deltas(before: Path, after: Path) -> set[tuple[str, str | None, str | None, str]]:
    """Pair versions of one name by major line, then in order; the rest added or removed."""
    old, new = lock_versions(before / "uv.lock"), lock_versions(after / "uv.lock")
    out: set[tuple[str, str | None, str | None, str]] = set()
    for name in old.keys() | new.keys():
        gone = sorted(old.get(name, set()) - new.get(name, set()), key=Version)
        came = sorted(new.get(name, set()) - old.get(name, set()), key=Version)
        for prev in list(gone):
            match = next((n for n in came if Version(n).major == Version(prev).major), None)
            if match:
                out.add((name, prev, match, oracle_level(prev, match)))
                gone.remove(prev)
                came.remove(match)
        for prev, nxt in zip(gone, came, strict=False):
            out.add((name, prev, nxt, oracle_level(prev, nxt)))
        out |= {(name, prev, None, "removed") for prev in gone[len(came) :]}
        out |= {(name, None, nxt, "added") for nxt in came[len(gone) :]}
    return out


def as_set(deltas: tuple[PackageDelta, ...]) -> set[tuple[str, str | None, str | None, str]]:
    return {(d.name, d.before, d.after, d.level.value) for d in deltas}


def read(project: str) -> SourceResult:
    return UvLockSource().read(DELTAS / project / "uv.lock")


def test_requests_upgrade_lists_every_change_transitive_included() -> None:
    deltas = package_deltas(read("requests-before"), read("requests-after"))
    expected = oracle_deltas(DELTAS / "requests-before", DELTAS / "requests-after")
    assert as_set(deltas) == expected
    assert len(deltas) == len(expected)
    direct = direct_names(DELTAS / "requests-after")
    for d in deltas:
        assert d.direct is (d.name in direct)
        assert d.ecosystem is PYPI
    # The lock moved transitive packages too, across majors: that is what the PR must admit.
    transitive = [d for d in deltas if not d.direct]
    assert transitive
    assert any(d.level is DeltaLevel.MAJOR for d in transitive)
    assert {d.level for d in deltas} >= {DeltaLevel.ADDED, DeltaLevel.REMOVED}
    unchanged = {
        n
        for n, v in lock_versions(DELTAS / "requests-before" / "uv.lock").items()
        if lock_versions(DELTAS / "requests-after" / "uv.lock").get(n) == v
    }
    assert unchanged  # certifi stayed: it must not be listed
    assert not unchanged & {d.name for d in deltas}


def test_reverse_direction_is_downgrades_and_swapped_additions() -> None:
    forward = package_deltas(read("requests-before"), read("requests-after"))
    backward = package_deltas(read("requests-after"), read("requests-before"))
    assert as_set(backward) == oracle_deltas(DELTAS / "requests-after", DELTAS / "requests-before")
    assert {(d.name, d.after, d.before) for d in forward} == {
        (d.name, d.before, d.after) for d in backward
    }
    for d in backward:
        if d.before and d.after:
            assert d.level is DeltaLevel.DOWNGRADE


def test_names_locked_at_several_versions_pair_by_major_line() -> None:
    deltas = package_deltas(read("fork-before"), read("fork-after"))
    expected = oracle_deltas(DELTAS / "fork-before", DELTAS / "fork-after")
    assert as_set(deltas) == expected
    several = [
        n for n, v in lock_versions(DELTAS / "fork-before" / "uv.lock").items() if len(v) > 1
    ]
    assert several  # the fork really locks one name twice
    for name in several:
        pairs = [d for d in deltas if d.name == name]
        assert len(pairs) == 2
        for d in pairs:
            assert d.before and d.after
            assert Version(d.before).major == Version(d.after).major


def test_identical_readings_have_no_delta_and_none_means_no_lockfile() -> None:
    reading = read("fork-after")
    assert package_deltas(reading, reading) == ()
    created = package_deltas(None, reading)
    assert {(d.name, d.after) for d in created} == {(c.name, c.version) for c in reading.components}
    assert all(d.level is DeltaLevel.ADDED and d.before is None for d in created)
    assert all(d.level is DeltaLevel.REMOVED for d in package_deltas(reading, None))


def test_inventories_compare_like_source_results(tmp_path: Path) -> None:
    for name in ("requests-before", "requests-after"):
        shutil.copytree(DELTAS / name, tmp_path / name)
    from_inventories = package_deltas(
        collect(tmp_path / "requests-before"), collect(tmp_path / "requests-after")
    )
    assert from_inventories == package_deltas(read("requests-before"), read("requests-after"))


# -- lockfiles at git revisions ------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.org", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def commit_project(repo: Path, project: str, sub: str, message: str) -> str:
    target = repo / sub
    target.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copyfile(DELTAS / project / name, target / name)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.mark.parametrize("sub", ["", "services/api"], ids=["root", "subdirectory"])
def test_read_lock_at_revisions_of_a_real_repository(tmp_path: Path, sub: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet")
    (repo / "README").write_text("project\n")
    git(repo, "add", "README")
    git(repo, "commit", "--quiet", "-m", "start")
    start = git(repo, "rev-parse", "HEAD")
    old = commit_project(repo, "requests-before", sub, "lock requests 2.25.1")
    new = commit_project(repo, "requests-after", sub, "lock requests 2.31.0")
    rel = f"{sub}/uv.lock" if sub else "uv.lock"

    assert read_lock_at(repo, start, rel, UvLockSource) is None
    before = read_lock_at(repo, old, rel, UvLockSource)
    after = read_lock_at(repo / sub if sub else repo, new, rel, UvLockSource)
    assert before is not None
    assert after is not None
    assert before.path == f"{old}:{rel}"
    assert all(loc.path == f"{old}:{rel}" for c in before.components for loc in c.locations)
    direct_reading = read("requests-before")
    assert {(c.name, c.version, c.direct) for c in before.components} == {
        (c.name, c.version, c.direct) for c in direct_reading.components
    }
    assert [c.locations[0].line for c in before.components] == [
        c.locations[0].line for c in direct_reading.components
    ]
    assert package_deltas(before, after) == package_deltas(direct_reading, read("requests-after"))


def test_read_lock_at_names_revision_and_path_in_errors(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet")
    text = (DELTAS / "requests-before" / "uv.lock").read_text()
    (repo / "uv.lock").write_text(text.replace("[[package]]", "[[package]", 1))
    git(repo, "add", "uv.lock")
    git(repo, "commit", "--quiet", "-m", "broken lock")
    with pytest.raises(SourceError) as err:
        read_lock_at(repo, "HEAD", "uv.lock", UvLockSource)
    assert str(err.value).startswith("HEAD:uv.lock:")
    assert "invalid TOML" in str(err.value)


# -- level classification ------------------------------------------------------------------

_release = st.lists(st.integers(0, 12), min_size=1, max_size=4).map(
    lambda parts: ".".join(map(str, parts))
)
_pep440 = st.builds(
    lambda release, suffix: release + suffix,
    _release,
    st.sampled_from(["", "", "", "rc1", "a2", ".post1", ".dev3", "+local"]),
)
_semver = st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5)).map(
    lambda t: "{}.{}.{}".format(*t)
)


@given(_pep440, _pep440)
def test_pypi_levels_follow_release_components(a: str, b: str) -> None:
    level = change_level(PYPI, a, b)
    va, vb = Version(a), Version(b)
    if va == vb:
        assert level is None
        return
    if vb < va:
        assert level is DeltaLevel.DOWNGRADE
        assert change_level(PYPI, b, a) is not DeltaLevel.DOWNGRADE
        return
    ra, rb = (*va.release, 0, 0), (*vb.release, 0, 0)
    if ra[0] != rb[0]:
        assert level is DeltaLevel.MAJOR
    elif ra[1] != rb[1]:
        assert level is DeltaLevel.MINOR
    else:
        assert level is DeltaLevel.PATCH


@given(_semver, _semver, st.sampled_from([Ecosystem.NPM, Ecosystem.CRATES_IO]))
def test_semver_levels_treat_zero_x_minors_as_major(a: str, b: str, eco: Ecosystem) -> None:
    level = change_level(eco, a, b)
    ta, tb = tuple(map(int, a.split("."))), tuple(map(int, b.split(".")))
    if ta == tb:
        assert level is None
    elif tb < ta:
        assert level is DeltaLevel.DOWNGRADE
    elif ta[0] != tb[0] or (ta[0] == 0 and ta[1] != tb[1]):
        assert level is DeltaLevel.MAJOR
    elif ta[0] >= 1 and ta[1] != tb[1]:
        assert level is DeltaLevel.MINOR
    elif ta[0] >= 1:
        assert level is DeltaLevel.PATCH
    else:  # 0.0.x: caret ranges make it breaking, or at least not more than a patch
        assert level in (DeltaLevel.MAJOR, DeltaLevel.PATCH)


@given(st.text(max_size=12), st.one_of(st.none(), st.text(max_size=12)))
def test_junk_versions_never_raise(a: str, b: str | None) -> None:
    for eco in Ecosystem:
        level = change_level(eco, a, b)
        assert level is None or isinstance(level, DeltaLevel)
        if b is None:
            assert level is DeltaLevel.REMOVED


def _component(name: str, version: str) -> Component:
    return Component(
        ecosystem=PYPI,
        name=normalize_name(PYPI, name),
        version=version,
        purl=make_purl(PYPI, name, version),
        direct=False,
        scope=Scope.RUNTIME,
        locations=(Location("uv.lock"),),
    )


def _reading(versions: set[str]) -> SourceResult:
    return SourceResult(
        path="uv.lock",
        format="uv.lock",
        kind=SourceKind.LOCKFILE,
        components=tuple(_component("urllib3", v) for v in sorted(versions)),
    )


@given(st.sets(_release, max_size=5), st.sets(_release, max_size=5))
def test_every_vanished_and_new_version_is_accounted_for_once(old: set[str], new: set[str]) -> None:
    # Equal spellings only: `1.0` and `1.0.0` are one PEP 440 version, compared separately.
    old = {v for v in old if not any(Version(v) == Version(w) and v != w for w in new)}
    deltas = package_deltas(_reading(old), _reading(new))
    befores = [d.before for d in deltas if d.before is not None]
    afters = [d.after for d in deltas if d.after is not None]
    assert sorted(befores) == sorted(old - new)
    assert sorted(afters) == sorted(new - old)
    added = sum(d.level is DeltaLevel.ADDED for d in deltas)
    removed = sum(d.level is DeltaLevel.REMOVED for d in deltas)
    assert added == max(0, len(new - old) - len(old - new))
    assert removed == max(0, len(old - new) - len(new - old))
