"""pyproject.toml reader: PEP 621, PEP 735 and Poetry tables of real projects, and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchpilot.errors import SourceError
from patchpilot.model import Component, Location, Scope, SourceKind, SourceResult
from patchpilot.sources.pyproject import PyprojectSource, poetry_exact

ASSETS = Path(__file__).parent.parent / "assets" / "sources" / "python"


def read(path: Path) -> SourceResult:
    return PyprojectSource().read(path)


def pins(res: SourceResult) -> dict[tuple[str, str], Component]:
    return {(c.name, c.version): c for c in res.components}


def reasons(res: SourceResult) -> dict[str, str]:
    return {s.name: s.reason for s in res.skipped}


def test_pep621_dependencies_extras_and_groups() -> None:
    path = ASSETS / "uv-app" / "pyproject.toml"
    res = read(path)
    assert (res.format, res.kind) == ("pyproject.toml", SourceKind.MANIFEST)
    found = pins(res)
    assert set(found) == {
        ("flask", "2.0.1"),
        ("pyyaml", "5.3"),
        ("urllib3", "1.24.1"),
        ("urllib3", "1.24.2"),
        ("requests", "2.20.0"),
        ("pytest", "7.0.0"),
    }
    assert all(c.direct for c in res.components)
    assert found["flask", "2.0.1"].locations == (Location(str(path), 6),)
    assert found["urllib3", "1.24.2"].locations == (Location(str(path), 9),)
    # An optional extra ships when asked for: runtime, with a note naming the extra.
    assert found["requests", "2.20.0"].scope is Scope.RUNTIME
    assert found["requests", "2.20.0"].locations == (Location(str(path), 14),)
    assert any("optional extra 'http'" in n and "requests" in n for n in res.notes)
    # PEP 735 groups are dev; `dev` includes `test`, which is where pytest is written.
    assert found["pytest", "7.0.0"].scope is Scope.DEV
    assert found["pytest", "7.0.0"].locations == (Location(str(path), 17),)
    assert reasons(res) == {
        "helper": "path source (tool.uv.sources): version not pinned in the manifest",
        "iniconfig": "not pinned: iniconfig>=1 (a constraint, not a version) (group 'dev')",
    }
    assert any("a lockfile gives exact results" in n for n in res.notes)


def test_poetry1_tables_bare_exact_double_equals_and_caret() -> None:
    path = ASSETS / "poetry1" / "pyproject.toml"
    res = read(path)
    found = pins(res)
    assert set(found) == {
        ("urllib3", "1.24.1"),  # bare "1.24.1" is exact in Poetry
        ("pyyaml", "5.3"),  # "==5.3"
        ("jinja2", "2.10"),  # { version = "2.10" }
        ("pytest", "6.2.5"),
    }
    assert found["pyyaml", "5.3"].locations == (Location(str(path), 10),)
    assert found["pytest", "6.2.5"].scope is Scope.DEV
    assert found["pytest", "6.2.5"].locations == (Location(str(path), 15),)
    assert found["urllib3", "1.24.1"].scope is Scope.RUNTIME
    # The python constraint is not a dependency; the caret is a range.
    assert reasons(res) == {"six": "not pinned: six ^1.15 (a constraint, not a version)"}
    assert res.skipped[0].location == Location(str(path), 12)


def test_poetry2_pep621_with_poetry_groups() -> None:
    path = ASSETS / "poetry2" / "pyproject.toml"
    res = read(path)
    found = pins(res)
    assert set(found) == {
        ("requests", "2.19.1"),
        ("jinja2", "2.10"),  # "jinja2 (==2.10)", the parenthesised PEP 508 form
        ("pytest", "7.0.0"),
        ("markdown", "3.3.4"),
    }
    assert found["jinja2", "2.10"].locations == (Location(str(path), 8),)
    assert found["markdown", "3.3.4"].scope is Scope.DEV
    assert found["requests", "2.19.1"].scope is Scope.RUNTIME
    assert reasons(res) == {
        "click": "not pinned: click>=7 (a constraint, not a version)",
        "pyyaml": "not pinned: pyyaml ^5.3 (a constraint, not a version)",
    }


def test_poetry_sources_and_optional_dependencies(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        "[tool.poetry]\nname = 'x'\n\n"
        "[tool.poetry.dependencies]\n"
        'python = "^3.11"\n'
        'mylib = { git = "https://example.org/mylib.git", tag = "v1" }\n'
        'localpkg = { path = "../localpkg" }\n'
        'pyyaml = { version = "5.3", optional = true }\n'
        'urllib3 = [\n  { version = "1.24.1", python = "<3.12" },\n'
        '  { version = "^2", python = ">=3.12" },\n]\n',
        encoding="utf-8",
    )
    res = read(path)
    assert [(c.name, c.version, c.locations[0].line) for c in res.components] == [
        ("pyyaml", "5.3", 8),
        ("urllib3", "1.24.1", 9),
    ]
    assert any("pyyaml 5.3" in n and "optional" in n for n in res.notes)
    assert reasons(res) == {
        "mylib": "git dependency: version not pinned in the manifest",
        "localpkg": "path dependency: version not pinned in the manifest",
        "urllib3": "not pinned: urllib3 ^2 (a constraint, not a version)",
    }


def test_dynamic_dependencies_are_noted(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\ndynamic = ["dependencies"]\n', encoding="utf-8")
    res = read(path)
    assert res.components == ()
    assert any("dynamic" in n for n in res.notes)


@pytest.mark.parametrize(
    ("constraint", "version"),
    [
        ("1.2.3", "1.2.3"),
        ("==1.2.3", "1.2.3"),
        ("=1.2.3", "1.2.3"),
        (" == 2.0.1 ", "2.0.1"),
        ("^1.2", None),
        ("~1.2", None),
        ("~=1.2", None),
        (">=1.2", None),
        ("1.2.*", None),
        ("*", None),
        ("latest", None),
        (">=1,<2", None),
    ],
)
def test_poetry_exact_pins(constraint: str, version: str | None) -> None:
    assert poetry_exact(constraint) == version


@pytest.mark.parametrize(
    ("content", "place", "fragment"),
    [
        ('[project]\ndependencies = "flask"\n', "project.dependencies", "expected an array"),
        ('[project]\ndependencies = ["flask==2", 3]\n', "project.dependencies[1]", "a string"),
        (
            '[project]\ndependencies = ["flask=="]\n',
            "project.dependencies[0]",
            "invalid requirement",
        ),
        ("project = 1\n", "project", "expected a table/object"),
        (
            "[project.optional-dependencies]\nhttp = 'requests'\n",
            "project.optional-dependencies.http",
            "expected an array",
        ),
        (
            '[dependency-groups]\ndev = [{include-group = "nope"}]\n',
            "dependency-groups.dev[0]",
            "unknown group 'nope'",
        ),
        (
            '[dependency-groups]\na = [{include-group = "b"}]\nb = [{include-group = "a"}]\n',
            "dependency-groups.a",
            "include-group cycle",
        ),
        (
            "[tool.poetry.dependencies]\nflask = 2\n",
            "tool.poetry.dependencies.flask",
            "expected a string",
        ),
        (
            "[tool.poetry.dependencies]\nflask = { version = 2 }\n",
            "tool.poetry.dependencies.flask.version",
            "expected a string",
        ),
        ("[tool.poetry]\ngroup = []\n", "tool.poetry.group", "expected a table/object"),
    ],
)
def test_wrong_types_raise_source_error_naming_the_key(
    tmp_path: Path, content: str, place: str, fragment: str
) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read(path)
    assert (info.value.path, info.value.place) == (path, place)
    assert fragment in info.value.reason


def test_truncated_toml_names_the_line(tmp_path: Path) -> None:
    text = (ASSETS / "poetry2" / "pyproject.toml").read_text(encoding="utf-8")
    path = tmp_path / "pyproject.toml"
    path.write_text(text[: text.index('"click>=7"') + 5], encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read(path)
    assert info.value.path == path
    assert info.value.place == 9
    assert "invalid TOML" in info.value.reason


def test_matches_only_pyproject_toml() -> None:
    assert PyprojectSource.matches(Path("a/pyproject.toml"))
    assert not PyprojectSource.matches(Path("a/pyproject.toml.bak"))
    assert not PyprojectSource.matches(Path("a/Pipfile"))
