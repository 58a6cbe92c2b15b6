"""poetry.lock reader: real locks from Poetry 1.1 (lock-version 1.1) and 2.5 (2.1), errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patchpilot.errors import SourceError
from patchpilot.model import Component, Location, Scope, SourceKind, SourceResult
from patchpilot.sources.poetry_lock import PoetryLockSource
from patchpilot.sources.pyproject import PyprojectSource

ASSETS = Path(__file__).parent.parent / "assets" / "sources" / "python"
LOCK1 = ASSETS / "poetry1" / "poetry.lock"
LOCK2 = ASSETS / "poetry2" / "poetry.lock"


def read(path: Path) -> SourceResult:
    return PoetryLockSource().read(path)


def comp(res: SourceResult, name: str) -> Component:
    found = [c for c in res.components if c.name == name]
    assert len(found) == 1, found
    return found[0]


def declared_names(pyproject: Path) -> set[str]:
    res = PyprojectSource().read(pyproject)
    return {c.name for c in res.components} | {s.name for s in res.skipped}


def test_lock_version_1_1_with_categories() -> None:
    res = read(LOCK1)
    assert (res.format, res.kind) == ("poetry.lock", SourceKind.LOCKFILE)
    assert "1.1" in LOCK1.read_text(encoding="utf-8").split("lock-version = ")[1][:5]
    # Direct = what the sibling pyproject declares (caret `six` included, `python` not).
    assert {c.name for c in res.components if c.direct} == declared_names(
        ASSETS / "poetry1" / "pyproject.toml"
    )
    assert {c.name for c in res.components if c.direct} == {
        "jinja2", "pytest", "pyyaml", "six", "urllib3",
    }  # fmt: skip
    assert (comp(res, "six").version, comp(res, "six").scope) == ("1.17.0", Scope.RUNTIME)
    assert comp(res, "pytest").scope is Scope.DEV
    # `category = "dev"` in the lock; reached through pytest.
    toml = comp(res, "toml")
    assert (toml.direct, toml.scope, toml.paths, toml.parents) == (
        False, Scope.DEV, (("pytest", "toml"),), ("pytest",),
    )  # fmt: skip
    markupsafe = comp(res, "markupsafe")
    assert (markupsafe.scope, markupsafe.paths) == (Scope.RUNTIME, (("jinja2", "markupsafe"),))
    assert comp(res, "urllib3").locations == (Location(str(LOCK1), 194),)
    assert comp(res, "jinja2").locations == (Location(str(LOCK1), 54),)


def test_lock_version_2_1_with_groups() -> None:
    res = read(LOCK2)
    assert {c.name for c in res.components if c.direct} == declared_names(
        ASSETS / "poetry2" / "pyproject.toml"
    )
    assert comp(res, "pyyaml").version == "5.4.1"  # `^5.3` resolved by Poetry
    assert comp(res, "pyyaml").scope is Scope.DEV  # groups = ["dev"]
    assert comp(res, "markdown").scope is Scope.DEV  # groups = ["docs"]
    assert comp(res, "click").scope is Scope.RUNTIME
    urllib3 = comp(res, "urllib3")
    assert (urllib3.version, urllib3.direct, urllib3.paths) == (
        "1.22", False, (("requests", "urllib3"),),
    )  # fmt: skip
    assert comp(res, "requests").locations == (Location(str(LOCK2), 474),)
    lines = LOCK2.read_text(encoding="utf-8").split("\n")
    for c in res.components:
        line = c.locations[0].line
        assert line is not None
        assert lines[line - 1] == f'name = "{c.name}"'
    # Marker-guarded dependency (atomicwrites on win32) is still part of the graph.
    assert comp(res, "atomicwrites").paths == (("pytest", "atomicwrites"),)


def test_without_pyproject_nothing_depends_on_the_direct_ones(tmp_path: Path) -> None:
    shutil.copy(LOCK2, tmp_path / "poetry.lock")
    res = read(tmp_path / "poetry.lock")
    with_manifest = read(LOCK2)
    # For this project the heuristic finds exactly what the pyproject declares.
    assert {c.name for c in res.components if c.direct} == {
        c.name for c in with_manifest.components if c.direct
    }
    # Scope still comes from the lock's groups.
    assert [(c.name, c.scope) for c in res.components] == [
        (c.name, c.scope) for c in with_manifest.components
    ]
    assert any("no pyproject.toml beside poetry.lock" in n for n in res.notes)


def test_lock_2_0_without_groups_scopes_from_the_graph(tmp_path: Path) -> None:
    text = LOCK2.read_text(encoding="utf-8")
    stripped = "\n".join(line for line in text.split("\n") if not line.startswith("groups = "))
    (tmp_path / "poetry.lock").write_text(stripped, encoding="utf-8")
    shutil.copy(ASSETS / "poetry2" / "pyproject.toml", tmp_path / "pyproject.toml")
    res = read(tmp_path / "poetry.lock")
    assert [(c.name, c.scope) for c in res.components] == [
        (c.name, c.scope) for c in read(LOCK2).components
    ]


@pytest.mark.parametrize(
    ("edit", "place", "fragment"),
    [
        (
            ('[metadata]\nlock-version = "2.1"', '[other]\nlock-version = "2.1"'),
            "metadata",
            "missing",
        ),
        (('lock-version = "2.1"', "lock-version = 2.1"), "metadata.lock-version", "a string"),
        (
            ('name = "click"\nversion = "8.5.1"', 'name = "click"\nversion = 8'),
            "package[4].version",
            "a string",
        ),
        (('groups = ["main"]', 'groups = "main"'), "package[2].groups", "an array"),
        (
            ("[package.dependencies]\nMarkupSafe", "[package.dependencies]\nx = 1\nMarkupSafe"),
            "package[8].dependencies.x",
            "a string or a table/object",
        ),
        (
            ('[package.source]\ntype = "legacy"', "[package.source]\ntype = 3"),
            "package[0].source.type",
            "a string",
        ),
    ],
)
def test_wrong_shapes_raise_source_error_naming_the_key(
    tmp_path: Path, edit: tuple[str, str], place: str, fragment: str
) -> None:
    text = LOCK2.read_text(encoding="utf-8")
    assert edit[0] in text
    path = tmp_path / "poetry.lock"
    path.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read(path)
    assert (info.value.path, info.value.place) == (path, place)
    assert fragment in info.value.reason


def test_broken_sibling_pyproject_is_reported_on_that_file(tmp_path: Path) -> None:
    shutil.copy(LOCK1, tmp_path / "poetry.lock")
    (tmp_path / "pyproject.toml").write_text("[tool.poetry.dependencies\n", encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read(tmp_path / "poetry.lock")
    assert info.value.path == tmp_path / "pyproject.toml"
    assert info.value.place == 1


def test_truncated_lock_names_a_line(tmp_path: Path) -> None:
    text = LOCK1.read_text(encoding="utf-8")
    cut = text.index("[package.dependencies]") + 9
    (tmp_path / "poetry.lock").write_text(text[:cut], encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read(tmp_path / "poetry.lock")
    assert info.value.place == text[:cut].count("\n") + 1
