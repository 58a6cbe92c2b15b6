"""pylock.toml reader (PEP 751): real files from `uv export` and `pip lock`, and errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from patchpilot.errors import SourceError
from patchpilot.model import Location, Scope, SourceKind, SourceResult
from patchpilot.sources.pylock import PylockSource

ASSETS = Path(__file__).parent.parent / "assets" / "sources" / "python" / "pylock"
UV = ASSETS / "pylock.toml"
PIP = ASSETS / "pylock.pip.toml"


def read(path: Path) -> SourceResult:
    return PylockSource().read(path)


def test_uv_export_every_versioned_package_is_a_transitive_component() -> None:
    res = read(UV)
    assert (res.format, res.kind) == ("pylock.toml", SourceKind.LOCKFILE)
    raw = tomllib.loads(UV.read_text(encoding="utf-8"))["packages"]
    assert sorted((c.name, c.version) for c in res.components) == sorted(
        (p["name"], p["version"]) for p in raw if "version" in p
    )
    assert ("urllib3", "1.24.1") in {(c.name, c.version) for c in res.components}
    assert ("urllib3", "1.24.2") in {(c.name, c.version) for c in res.components}
    assert not any(c.direct for c in res.components)
    assert all(c.scope is Scope.RUNTIME and c.paths == () for c in res.components)
    assert any("all components are marked transitive" in n for n in res.notes)
    assert any("no dependency graph" in n for n in res.notes)


def test_directory_entries_without_version_are_skipped() -> None:
    res = read(UV)
    assert sorted((s.name, s.reason) for s in res.skipped) == [
        ("helper", "directory source without a version in the lock"),
        ("uv-app", "directory source without a version in the lock"),
    ]
    helper = next(s for s in res.skipped if s.name == "helper")
    assert helper.location == Location(str(UV), 57)


def test_exact_lines_for_both_lockers() -> None:
    uv = read(UV)
    lines = {(c.name, c.version): c.locations[0].line for c in uv.components}
    assert lines["urllib3", "1.24.2"] == 345
    assert lines["flask", "2.0.1"] == 50
    pip = read(PIP)
    assert [(c.name, c.version, c.locations[0].line) for c in pip.components] == [
        ("certifi", "2026.10.19.post1", 5),
        ("chardet", "3.0.4", 16),
        ("idna", "2.7", 27),
        ("requests", "2.20.0", 38),
        ("urllib3", "1.24.1", 49),
    ]


def test_group_marker_outside_default_groups_is_dev(tmp_path: Path) -> None:
    text = PIP.read_text(encoding="utf-8")
    text = (
        text.replace('created-by = "pip"\n', 'created-by = "pip"\ndefault-groups = ["default"]\n')
        .replace(
            'name = "urllib3"\nversion = "1.24.1"\n',
            'name = "urllib3"\nversion = "1.24.1"\nmarker = "\'dev\' in dependency_groups"\n',
        )
        .replace(
            'name = "idna"\nversion = "2.7"\n',
            'name = "idna"\nversion = "2.7"\nmarker = "\'default\' in dependency_groups"\n',
        )
    )
    path = tmp_path / "pylock.toml"
    path.write_text(text, encoding="utf-8")
    scopes = {c.name: c.scope for c in read(path).components}
    assert scopes["urllib3"] is Scope.DEV
    assert scopes["idna"] is Scope.RUNTIME
    assert scopes["requests"] is Scope.RUNTIME


def test_recorded_dependencies_give_parents(tmp_path: Path) -> None:
    text = PIP.read_text(encoding="utf-8").replace(
        'name = "requests"\nversion = "2.20.0"\n',
        'name = "requests"\nversion = "2.20.0"\n'
        'dependencies = [{ name = "urllib3" }, { name = "idna" }]\n',
    )
    path = tmp_path / "pylock.web.toml"
    path.write_text(text, encoding="utf-8")
    res = read(path)
    parents = {c.name: c.parents for c in res.components}
    assert parents["urllib3"] == ("requests",)
    assert parents["certifi"] == ()
    assert not any("no dependency graph" in n for n in res.notes)


@pytest.mark.parametrize(
    ("edit", "place", "fragment"),
    [
        (('lock-version = "1.0"\n', ""), "lock-version", "missing"),
        (('lock-version = "1.0"', 'lock-version = "2.0"'), "lock-version", "not supported"),
        (('lock-version = "1.0"', "lock-version = 1.0"), "lock-version", "a string"),
        (
            ('name = "idna"\nversion = "2.7"', 'name = "idna"\nversion = 2.7'),
            "packages[2].version",
            "a string",
        ),
        (('name = "idna"', "name = 7"), "packages[2].name", "a string"),
        (
            ('created-by = "pip"', 'created-by = "pip"\ndefault-groups = "dev"'),
            "default-groups",
            "an array",
        ),
    ],
)
def test_wrong_shapes_raise_source_error_naming_the_key(
    tmp_path: Path, edit: tuple[str, str], place: str, fragment: str
) -> None:
    text = PIP.read_text(encoding="utf-8")
    assert edit[0] in text
    path = tmp_path / "pylock.toml"
    path.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read(path)
    assert (info.value.path, info.value.place) == (path, place)
    assert fragment in info.value.reason


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pylock.toml", True),
        ("pylock.web.toml", True),
        ("pylock.pip.toml", True),
        ("pylock..toml", False),
        ("pylock.a.b.toml", False),
        ("my-pylock.toml", False),
        ("pylock.toml.bak", False),
    ],
)
def test_matches_pep751_names(name: str, expected: bool) -> None:
    assert PylockSource.matches(Path("x") / name) is expected
