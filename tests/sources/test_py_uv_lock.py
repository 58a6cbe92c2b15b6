"""uv.lock reader: real locks made by uv (forked versions, path and git sources), and errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patchpilot.errors import SourceError
from patchpilot.model import Component, Location, Scope, SourceKind, SourceResult
from patchpilot.sources.pylock import PylockSource
from patchpilot.sources.uv_lock import UvLockSource

ASSETS = Path(__file__).parent.parent / "assets" / "sources" / "python"
APP = ASSETS / "uv-app" / "uv.lock"
GIT = ASSETS / "uv-git" / "uv.lock"


def read(path: Path) -> SourceResult:
    return UvLockSource().read(path)


def comp(res: SourceResult, name: str, version: str | None = None) -> Component:
    found = [c for c in res.components if c.name == name and version in (None, c.version)]
    assert len(found) == 1, found
    return found[0]


def test_roots_give_direct_runtime_and_dev() -> None:
    res = read(APP)
    assert (res.format, res.kind) == ("uv.lock", SourceKind.LOCKFILE)
    direct = {(c.name, c.version, c.scope) for c in res.components if c.direct}
    assert direct == {
        ("flask", "2.0.1", Scope.RUNTIME),
        ("pyyaml", "5.3", Scope.RUNTIME),
        ("urllib3", "1.24.1", Scope.RUNTIME),
        ("urllib3", "1.24.2", Scope.RUNTIME),
        ("helper", "0.3.0", Scope.RUNTIME),
        ("requests", "2.20.0", Scope.RUNTIME),  # optional extra `http`: still runtime
        ("pytest", "7.0.0", Scope.DEV),
        ("iniconfig", "2.3.1", Scope.DEV),
    }
    # The project itself is the root, not a component.
    assert "uv-app" not in {c.name for c in res.components}
    assert len(res.components) == 24


def test_transitive_paths_parents_and_scope() -> None:
    res = read(APP)
    werkzeug = comp(res, "werkzeug")
    assert (werkzeug.direct, werkzeug.scope) == (False, Scope.RUNTIME)
    assert werkzeug.paths == (("flask", "werkzeug"),)
    assert werkzeug.parents == ("flask",)
    markupsafe = comp(res, "markupsafe")
    assert markupsafe.paths == (("flask", "jinja2", "markupsafe"),)
    assert markupsafe.parents == ("jinja2", "werkzeug")
    # Reached only from the dev group: dev.
    tomli = comp(res, "tomli")
    assert (tomli.direct, tomli.scope, tomli.paths) == (False, Scope.DEV, (("pytest", "tomli"),))
    # A package of a local path dependency is reached through it.
    six = comp(res, "six")
    assert (six.scope, six.paths) == (Scope.RUNTIME, (("helper", "six"),))
    # Direct components list the locked packages that also need them (planning uses this).
    assert comp(res, "iniconfig").parents == ("pytest",)
    assert comp(res, "urllib3", "1.24.1").paths == (("urllib3",),)


def test_forked_versions_and_exact_lines() -> None:
    res = read(APP)
    assert comp(res, "urllib3", "1.24.1").locations == (Location(str(APP), 402),)
    assert comp(res, "urllib3", "1.24.2").locations == (Location(str(APP), 414),)
    assert comp(res, "flask").locations == (Location(str(APP), 60),)
    lines = APP.read_text(encoding="utf-8").split("\n")
    for c in res.components:
        line = c.locations[0].line
        assert line is not None
        assert lines[line - 1] == f'name = "{c.name}"'
        assert lines[line] == f'version = "{c.version}"'


def test_local_and_git_sources_are_components_with_a_note() -> None:
    res = read(APP)
    assert comp(res, "helper").version == "0.3.0"
    assert any("helper 0.3.0" in n and "libs/helper" in n for n in res.notes)
    git = read(GIT)
    gitdep = comp(git, "gitdep")
    assert (gitdep.version, gitdep.direct) == ("1.2.0", True)
    assert any("gitdep 1.2.0 comes from git file:///tmp/gitdep" in n for n in git.notes)
    assert comp(git, "idna").paths == (("gitdep", "idna"),)
    # The virtual root (a project without a build system) is not a component either.
    assert {c.name for c in git.components} == {"gitdep", "idna", "jinja2", "markupsafe"}


def test_workspace_members_are_roots_and_their_dependencies_direct() -> None:
    res = read(ASSETS / "uv-workspace" / "uv.lock")
    names = {c.name for c in res.components}
    assert not names & {"ws-root", "ws-lib"}
    direct = {(c.name, c.scope) for c in res.components if c.direct}
    assert direct == {
        ("pyyaml", Scope.RUNTIME),
        ("urllib3", Scope.RUNTIME),  # needed by the member ws-lib
        ("pytest", Scope.DEV),
        ("pyflakes", Scope.DEV),  # the member's own dev group
    }
    assert comp(res, "pluggy").paths == (("pytest", "pluggy"),)


def test_agrees_with_the_pylock_uv_exported_from_the_same_lock() -> None:
    locked = {(c.name, c.version) for c in read(APP).components}
    exported = PylockSource().read(ASSETS / "pylock" / "pylock.toml")
    # The export lists `helper` as a directory without a version: skipped there.
    assert {(c.name, c.version) for c in exported.components} == locked - {("helper", "0.3.0")}


def test_lock_without_a_project_package_falls_back_to_nothing_depends_on_it(
    tmp_path: Path,
) -> None:
    text = GIT.read_text(encoding="utf-8")
    root = text.index('[[package]]\nname = "uv-git"')
    path = tmp_path / "uv.lock"
    path.write_text(text[:root], encoding="utf-8")
    res = read(path)
    assert {c.name for c in res.components if c.direct} == {"gitdep", "jinja2"}
    assert any("names no project package" in n for n in res.notes)


def test_versionless_local_package_is_skipped(tmp_path: Path) -> None:
    text = APP.read_text(encoding="utf-8").replace(
        'name = "helper"\nversion = "0.3.0"\n', 'name = "helper"\n'
    )
    path = tmp_path / "uv.lock"
    path.write_text(text, encoding="utf-8")
    res = read(path)
    assert "helper" not in {c.name for c in res.components}
    skip = next(s for s in res.skipped if s.name == "helper")
    assert skip.reason == "no version in the lock (the local path libs/helper)"
    assert skip.location.line == 75


@pytest.mark.parametrize(
    ("edit", "place", "fragment"),
    [
        (("version = 1\n", ""), "version", "missing"),
        (("version = 1\n", 'version = "1"\n'), "version", "expected int"),
        (
            ('name = "flask"\nversion = "2.0.1"', 'name = "flask"\nversion = 2'),
            "package[6].version",
            "a string",
        ),
        (('{ name = "click" },', '{ name = "clack" },'), "package[6].dependencies[0]", "'clack'"),
        (('{ name = "click" },', '"click",'), "package[6].dependencies[0]", "a table/object"),
        (
            ('source = { editable = "." }', "source = { editable = 1 }"),
            "package[23].source.editable",
            "a string",
        ),
        (
            (
                "[package.optional-dependencies]\nhttp = [",
                "[package.optional-dependencies]\nhttp = 1\nx = [",
            ),
            "package[23].optional-dependencies.http",
            "an array",
        ),
    ],
)
def test_wrong_shapes_raise_source_error_naming_the_key(
    tmp_path: Path, edit: tuple[str, str], place: str, fragment: str
) -> None:
    text = APP.read_text(encoding="utf-8")
    assert edit[0] in text
    path = tmp_path / "uv.lock"
    path.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read(path)
    assert (info.value.path, info.value.place) == (path, place)
    assert fragment in info.value.reason


def test_truncated_lock_names_a_line(tmp_path: Path) -> None:
    text = APP.read_text(encoding="utf-8")
    path = tmp_path / "uv.lock"
    cut = text.index('name = "werkzeug"') + 12
    path.write_text(text[:cut], encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read(path)
    assert info.value.place == text[:cut].count("\n") + 1
    assert "invalid TOML" in info.value.reason


def test_matches_only_uv_lock(tmp_path: Path) -> None:
    assert UvLockSource.matches(Path("x/uv.lock"))
    assert not UvLockSource.matches(Path("x/poetry.lock"))
    copy = tmp_path / "uv.lock"
    shutil.copy(GIT, copy)
    assert {c.name for c in read(copy).components} == {c.name for c in read(GIT).components}
