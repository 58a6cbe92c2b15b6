"""package-lock.json reader: real lockfiles of versions 1, 2 and 3 made by npm, and errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from patchpilot.errors import SourceError
from patchpilot.model import Component, Ecosystem, Scope, SourceKind, SourceResult
from patchpilot.sources.npm_lock import NpmLockSource

ASSETS = Path(__file__).parent.parent / "assets" / "sources" / "other"
V1 = ASSETS / "npm-v1" / "package-lock.json"
V2 = ASSETS / "npm-v2" / "package-lock.json"
V3 = ASSETS / "npm-v3" / "package-lock.json"
WORKSPACE = ASSETS / "npm-workspace" / "package-lock.json"
LOCAL = ASSETS / "npm-local" / "app" / "package-lock.json"


def read(path: Path) -> SourceResult:
    return NpmLockSource().read(path)


def comp(res: SourceResult, name: str, version: str | None = None) -> Component:
    found = [c for c in res.components if c.name == name and version in (None, c.version)]
    assert len(found) == 1, found
    return found[0]


def line_of(path: Path, snippet: str, after: str | None = None) -> int:
    """The 1-based line holding `snippet` (after the first line holding `after`)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = 0 if after is None else next(i for i, ln in enumerate(lines) if after in ln)
    return next(i for i, ln in enumerate(lines) if i >= start and snippet in ln) + 1


def shape(res: SourceResult) -> set[tuple[Any, ...]]:
    return {(c.name, c.version, c.direct, c.scope, c.paths, c.parents) for c in res.components}


def test_matches_lockfile_names_only() -> None:
    assert NpmLockSource.matches(Path("a/package-lock.json"))
    assert NpmLockSource.matches(Path("npm-shrinkwrap.json"))
    assert not NpmLockSource.matches(Path("package.json"))
    assert not NpmLockSource.matches(Path("yarn.lock"))


def test_v3_components_are_every_installed_package() -> None:
    res = read(V3)
    assert (res.format, res.kind) == ("package-lock.json", SourceKind.LOCKFILE)
    # Independent reading: every node_modules entry, under its real (alias-resolved) name.
    packages = json.loads(V3.read_text(encoding="utf-8"))["packages"]
    listed = {
        (entry.get("name", key.rsplit("node_modules/", 1)[-1]), entry["version"])
        for key, entry in packages.items()
        if key
    }
    assert {(c.name, c.version) for c in res.components} == listed
    assert len(res.components) == 56
    assert all(c.ecosystem is Ecosystem.NPM for c in res.components)
    assert res.skipped == ()


def test_direct_dependencies_and_scopes() -> None:
    res = read(V3)
    direct = {(c.name, c.version, c.scope) for c in res.components if c.direct}
    assert direct == {
        ("@xmldom/xmldom", "0.7.5", Scope.RUNTIME),
        ("express", "4.17.1", Scope.RUNTIME),
        ("lodash", "4.17.15", Scope.RUNTIME),
        ("lodash", "4.17.4", Scope.RUNTIME),  # the alias lodash-old
        ("ms", "2.1.1", Scope.RUNTIME),  # optionalDependencies ship: runtime
        ("minimist", "1.2.0", Scope.DEV),
        ("mkdirp", "0.5.1", Scope.DEV),
    }
    # The project itself is the root, not a component.
    assert "other-npm-app" not in {c.name for c in res.components}


def test_nested_versions_follow_node_resolution() -> None:
    res = read(V3)
    # debug@2.6.9 requires ms 2.0.0, installed in debug's own node_modules; send requires
    # ms 2.1.1, found in the top-level node_modules.
    nested_ms = comp(res, "ms", "2.0.0")
    assert (nested_ms.direct, nested_ms.scope) == (False, Scope.RUNTIME)
    assert nested_ms.paths == (("express", "debug", "ms"),)
    assert nested_ms.parents == ("debug",)
    assert comp(res, "ms", "2.1.1").parents == ("send",)
    # A dev-only subtree: mkdirp's own minimist 0.0.8.
    old = comp(res, "minimist", "0.0.8")
    assert (old.direct, old.scope, old.paths, old.parents) == (
        False,
        Scope.DEV,
        (("mkdirp", "minimist"),),
        ("mkdirp",),
    )
    debug = comp(res, "debug")
    assert debug.parents == ("body-parser", "express", "finalhandler", "send")
    assert debug.paths == (("express", "debug"),)


def test_lines_point_at_package_entries() -> None:
    res = read(V3)
    assert comp(res, "lodash", "4.17.15").locations[0].line == line_of(
        V3, '"node_modules/lodash": {'
    )
    assert comp(res, "ms", "2.0.0").locations[0].line == line_of(
        V3, '"node_modules/debug/node_modules/ms": {'
    )
    assert comp(res, "express").locations[0].line == 161
    assert str(comp(res, "express").locations[0]) == f"{V3}:161"


def test_alias_is_the_real_package() -> None:
    res = read(V3)
    alias = comp(res, "lodash", "4.17.4")
    assert alias.purl == "pkg:npm/lodash@4.17.4"
    assert alias.locations[0].line == line_of(V3, '"node_modules/lodash-old": {')
    scoped = comp(res, "@xmldom/xmldom")
    assert scoped.purl == "pkg:npm/%40xmldom/xmldom@0.7.5"


@pytest.mark.parametrize("lock", [V1, V2], ids=["v1", "v2"])
def test_every_lockfile_version_reads_the_same_tree(lock: Path) -> None:
    assert shape(read(lock)) == shape(read(V3))


def test_v1_lines_find_nested_entries() -> None:
    res = read(V1)
    # The nested ms sits inside debug's "dependencies"; the top-level one further down.
    assert comp(res, "ms", "2.0.0").locations[0].line == line_of(V1, '"ms": {', after='"debug": {')
    top_ms = [
        i + 1
        for i, ln in enumerate(V1.read_text(encoding="utf-8").splitlines())
        if ln == '    "ms": {'
    ]
    assert comp(res, "ms", "2.1.1").locations[0].line == top_ms[0]
    assert comp(res, "lodash", "4.17.4").locations[0].line == line_of(V1, '"lodash-old": {')


def test_v1_without_package_json_infers_direct(tmp_path: Path) -> None:
    lock = tmp_path / "package-lock.json"
    shutil.copy(V1, lock)
    res = read(lock)
    assert any("no readable package.json" in note for note in res.notes)
    direct = {(c.name, c.version) for c in res.components if c.direct}
    # ms 2.1.1 is required by send, so nothing marks it as the project's own dependency.
    assert direct == {
        ("@xmldom/xmldom", "0.7.5"),
        ("express", "4.17.1"),
        ("lodash", "4.17.15"),
        ("lodash", "4.17.4"),
        ("minimist", "1.2.0"),
        ("mkdirp", "0.5.1"),
    }
    assert comp(res, "mkdirp").scope is Scope.DEV


def test_v1_with_a_broken_package_json_notes_it(tmp_path: Path) -> None:
    lock = tmp_path / "package-lock.json"
    shutil.copy(V1, lock)
    (tmp_path / "package.json").write_text('{"dependencies": ["lodash"]}', encoding="utf-8")
    res = read(lock)
    assert any("package.json" in note and "could not be read" in note for note in res.notes)
    assert comp(res, "express").direct


def test_workspace_members_are_roots() -> None:
    res = read(WORKSPACE)
    names = {c.name for c in res.components}
    assert not names & {"@acme/api", "@acme/util", "other-npm-workspace"}
    direct = {(c.name, c.version, c.scope) for c in res.components if c.direct}
    assert direct == {
        ("minimist", "1.2.5", Scope.RUNTIME),  # root
        ("semver", "7.5.1", Scope.DEV),  # root devDependencies
        ("qs", "6.5.2", Scope.RUNTIME),  # packages/api
        ("minimist", "0.2.1", Scope.RUNTIME),  # packages/api/node_modules, member-local
        ("ms", "2.1.3", Scope.RUNTIME),  # peer dependency of packages/api
        ("ansi-regex", "5.0.0", Scope.RUNTIME),  # packages/util
        ("json5", "2.2.1", Scope.DEV),  # packages/util devDependencies
    }
    lru = comp(res, "lru-cache")
    assert (lru.direct, lru.scope, lru.paths) == (False, Scope.DEV, (("semver", "lru-cache"),))
    assert comp(res, "minimist", "0.2.1").locations[0].line == line_of(
        WORKSPACE, '"packages/api/node_modules/minimist": {'
    )
    assert res.skipped == ()


def test_local_file_dependencies_are_skipped_or_resolved() -> None:
    res = read(LOCAL)
    assert [(c.name, c.version, c.direct) for c in res.components] == [("lodash", "4.17.15", True)]
    # The file: directory is a local package (a root); the tarball is skipped with the reason.
    (skip,) = res.skipped
    assert skip.name == "vendored-tool"
    assert skip.reason == "installed from a local file (file:vendor/vendored-tool-2.0.0.tgz)"
    assert skip.location.line == line_of(LOCAL, '"node_modules/vendored-tool": {')


def _write(tmp_path: Path, doc: Any, name: str = "package-lock.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def test_git_installs_are_skipped_but_keep_paths(tmp_path: Path) -> None:
    """The real v3 lock with express marked as installed from git (as npm writes it)."""
    doc = json.loads(V3.read_text(encoding="utf-8"))
    doc["packages"]["node_modules/express"]["resolved"] = (
        "git+ssh://git@github.com/expressjs/express.git#e1b45ebd050b6f06aa38cda5aaf0c21708b0c71e"
    )
    res = read(_write(tmp_path, doc))
    (skip,) = res.skipped
    assert skip.name == "express"
    assert skip.reason.startswith("installed from git (git+ssh://")
    assert "express" not in {c.name for c in res.components}
    # Its dependencies are still there, reached through it.
    assert comp(res, "ms", "2.0.0").paths == (("express", "debug", "ms"),)


def test_dangling_link_is_skipped(tmp_path: Path) -> None:
    doc = json.loads(LOCAL.read_text(encoding="utf-8"))
    del doc["packages"]["../lib"]
    res = read(_write(tmp_path, doc))
    reasons = {s.name: s.reason for s in res.skipped}
    assert reasons["local-lib"] == (
        "linked to local directory '../lib', which the lockfile does not list"
    )


def test_truncated_json_names_the_line(tmp_path: Path) -> None:
    text = V3.read_text(encoding="utf-8")
    path = tmp_path / "package-lock.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read(path)
    assert err.value.path == path
    assert isinstance(err.value.place, int)
    assert "invalid JSON" in str(err.value)


@pytest.mark.parametrize(
    ("edit", "place"),
    [
        (lambda d: d.update(packages=[]), "packages"),
        (lambda d: d.update(lockfileVersion="3"), "lockfileVersion"),
        (
            lambda d: d["packages"]["node_modules/lodash"].update(version=4),
            'packages["node_modules/lodash"].version',
        ),
        (
            lambda d: d["packages"]["node_modules/debug"].update(dependencies=["ms"]),
            'packages["node_modules/debug"].dependencies',
        ),
        (
            lambda d: d["packages"]["node_modules/lodash"].update(dev="yes"),
            'packages["node_modules/lodash"].dev',
        ),
        (
            lambda d: d["packages"].update({"node_modules/x": "1.0.0"}),
            'packages["node_modules/x"]',
        ),
    ],
)
def test_wrong_types_name_the_key(tmp_path: Path, edit: Any, place: str) -> None:
    doc = json.loads(V3.read_text(encoding="utf-8"))
    edit(doc)
    path = _write(tmp_path, doc)
    with pytest.raises(SourceError) as err:
        read(path)
    assert err.value.place == place
    assert str(err.value).startswith(f"{path}: {place}: ")


def test_newer_lockfile_version_is_read_with_a_note(tmp_path: Path) -> None:
    doc = json.loads(V3.read_text(encoding="utf-8"))
    doc["lockfileVersion"] = 4
    res = read(_write(tmp_path, doc))
    assert res.notes == ("lockfileVersion 4 is newer than this reader knows; read as version 3",)
    assert shape(res) == shape(read(V3))


def test_bundled_and_dev_optional_flags(tmp_path: Path) -> None:
    """The real v3 lock with flags npm writes for bundled and dev-and-optional packages."""
    doc = json.loads(V3.read_text(encoding="utf-8"))
    # mkdirp shipping its minimist inside its own tarball (bundleDependencies).
    doc["packages"]["node_modules/mkdirp"]["bundleDependencies"] = ["minimist"]
    doc["packages"]["node_modules/mkdirp/node_modules/minimist"]["inBundle"] = True
    # A package both a dev dependency and an optional one needs: installed without dev too.
    entry = doc["packages"]["node_modules/minimist"]
    del entry["dev"]
    entry["devOptional"] = True
    res = read(_write(tmp_path, doc))
    bundled = comp(res, "minimist", "0.0.8")
    assert (bundled.scope, bundled.paths) == (Scope.DEV, (("mkdirp", "minimist"),))
    assert comp(res, "minimist", "1.2.0").scope is Scope.RUNTIME
