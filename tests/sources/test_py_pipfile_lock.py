"""Pipfile.lock reader: a real lock written by pipenv, with and without its Pipfile; errors."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest

from patchpilot.errors import SourceError
from patchpilot.model import Component, Ecosystem, Location, Scope, SourceKind, SourceResult
from patchpilot.model import normalize_name as _normalize
from patchpilot.sources.pipfile_lock import PipfileLockSource

ASSETS = Path(__file__).parent.parent / "assets" / "sources" / "python" / "pipenv"
LOCK = ASSETS / "Pipfile.lock"


def read(path: Path) -> SourceResult:
    return PipfileLockSource().read(path)


def comp(res: SourceResult, name: str) -> Component:
    found = [c for c in res.components if c.name == name]
    assert len(found) == 1, found
    return found[0]


def test_sections_give_scope_and_pipfile_gives_direct() -> None:
    res = read(LOCK)
    assert (res.format, res.kind) == ("Pipfile.lock", SourceKind.LOCKFILE)
    lock = json.loads(LOCK.read_text(encoding="utf-8"))
    # Every versioned entry of each section is a component with that section's scope.
    for section, scope in (("default", Scope.RUNTIME), ("develop", Scope.DEV)):
        for name, entry in lock[section].items():
            if "version" in entry:
                c = comp(res, _normalize(Ecosystem.PYPI, name))
                assert (c.version, c.scope) == (entry["version"].removeprefix("=="), scope)
    pipfile = tomllib.loads((ASSETS / "Pipfile").read_text(encoding="utf-8"))
    asked = {
        _normalize(Ecosystem.PYPI, n) for s in ("packages", "dev-packages") for n in pipfile[s]
    }
    assert {c.name for c in res.components if c.direct} == asked - {"helper"}
    assert {c.name for c in res.components if c.direct} == {
        "jinja2",
        "pytest",
        "pyyaml",
        "requests",
    }
    assert comp(res, "requests").version == "2.19.1"
    assert comp(res, "jinja2").version == "3.1.6"  # `"*"` in the Pipfile, locked exactly
    urllib3 = comp(res, "urllib3")
    assert (urllib3.direct, urllib3.paths, urllib3.parents) == (False, (), ())
    assert comp(res, "requests").paths == (("requests",),)
    assert any("no dependency graph" in n for n in res.notes)


def test_exact_lines() -> None:
    res = read(LOCK)
    assert comp(res, "requests").locations == (Location(str(LOCK), 227),)
    assert comp(res, "pytest").locations == (Location(str(LOCK), 294),)
    lines = LOCK.read_text(encoding="utf-8").split("\n")
    for c in res.components:
        line = c.locations[0].line
        assert line is not None
        assert lines[line - 1].strip().startswith(f'"{c.name}": {{')


def test_editable_path_entry_is_skipped() -> None:
    res = read(LOCK)
    assert [(s.name, s.reason, s.location.line) for s in res.skipped] == [
        ("helper", "editable install: no version in the lock", 33)
    ]


def test_without_pipfile_direct_is_unknown(tmp_path: Path) -> None:
    shutil.copy(LOCK, tmp_path / "Pipfile.lock")
    res = read(tmp_path / "Pipfile.lock")
    assert res.components
    assert not any(c.direct for c in res.components)
    assert any("no Pipfile beside Pipfile.lock" in n for n in res.notes)


def test_git_entry_with_version_is_a_component_and_without_is_skipped(tmp_path: Path) -> None:
    lock = json.loads(LOCK.read_text(encoding="utf-8"))
    lock["default"]["gitdep"] = {"git": "https://example.org/gitdep.git", "ref": "abc123"}
    lock["default"]["vendored"] = {
        "git": "https://token@example.org/vendored.git",
        "ref": "def456",
        "version": "==1.0.0",
    }
    lock["default"]["ranged"] = {"version": ">=1"}
    path = tmp_path / "Pipfile.lock"
    path.write_text(json.dumps(lock, indent=4), encoding="utf-8")
    res = read(path)
    assert comp(res, "vendored").version == "1.0.0"
    assert any(
        "vendored 1.0.0 comes from git https://example.org/vendored.git" in n for n in res.notes
    )
    assert "token@" not in "\n".join(res.notes)
    reasons = {s.name: s.reason for s in res.skipped}
    assert reasons["gitdep"] == "git dependency: no version in the lock"
    assert reasons["ranged"] == "not pinned: ranged>=1 (a constraint, not a version)"


@pytest.mark.parametrize(
    ("mutate", "place", "fragment"),
    [
        (lambda d: d.__setitem__("default", []), "default", "a table/object"),
        (lambda d: d["default"].__setitem__("idna", "==2.7"), "default.idna", "a table/object"),
        (
            lambda d: d["develop"]["pytest"].__setitem__("version", 7),
            "develop.pytest.version",
            "a string",
        ),
    ],
)
def test_wrong_types_raise_source_error_naming_the_key(
    tmp_path: Path, mutate: object, place: str, fragment: str
) -> None:
    lock = json.loads(LOCK.read_text(encoding="utf-8"))
    assert callable(mutate)
    mutate(lock)
    path = tmp_path / "Pipfile.lock"
    path.write_text(json.dumps(lock, indent=4), encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read(path)
    assert (info.value.path, info.value.place) == (path, place)
    assert fragment in info.value.reason


def test_truncated_json_names_the_line(tmp_path: Path) -> None:
    text = LOCK.read_text(encoding="utf-8")
    cut = text.index('"pyyaml"')
    path = tmp_path / "Pipfile.lock"
    path.write_text(text[:cut], encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read(path)
    assert info.value.place == text[:cut].count("\n") + 1
    assert "invalid JSON" in info.value.reason


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    path = tmp_path / "Pipfile.lock"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(SourceError, match="expected a table/object, found an array"):
        read(path)


def test_matches_only_pipfile_lock() -> None:
    assert PipfileLockSource.matches(Path("x/Pipfile.lock"))
    assert not PipfileLockSource.matches(Path("x/Pipfile"))
    assert not PipfileLockSource.matches(Path("x/pipfile.lock.json"))
