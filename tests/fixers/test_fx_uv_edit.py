"""pyproject.toml edits for the uv fixer: golden before/after texts and specifier properties.

The goldens are whole files: an edit must change the one requirement it names (its specifier
only) and leave every other byte — comments, quotes, blank lines, order — as it was.
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from patchpilot.errors import FixError
from patchpilot.fixers.pyproject_edit import (
    ManifestChange,
    RelaxError,
    add_constraint,
    excluding,
    relax_dependency,
    relax_requirement,
    relax_specifier,
    unpin_dependency,
    unpin_requirement,
)

PYPROJECT = """\
# The notify service.
[project]
name = "notify"
version = "1.4.0"
dependencies = [
    "PyYAML == 5.3.1",  # config loader: keep the comment
    'jinja2>=2.10,<2.12 ; python_version >= "3.8"',
    "requests[socks] (==2.25.1)",
    # a comment between entries
    "markupsafe",
]

[project.optional-dependencies]
cli = ["click==7.1.2", "pyyaml>=5.1,<5.4"]

[dependency-groups]
dev = ["pytest>=7", {include-group = "lint"}]
lint = ["ruff==0.1.0"]

[tool.hatch.build.targets.wheel]
packages = ["src/notify"]
"""


def test_relax_rewrites_only_the_requirements_that_forbid_the_target() -> None:
    change = relax_dependency(PYPROJECT, "pyyaml", "5.4")
    want = PYPROJECT.replace('"PyYAML == 5.3.1"', '"PyYAML == 5.4"').replace(
        '"pyyaml>=5.1,<5.4"', '"pyyaml>=5.4,<5.5"'
    )
    assert change.text == want
    assert [(c.key, c.before, c.after) for c in change.changes] == [
        ("project.dependencies[0]", "PyYAML == 5.3.1", "PyYAML == 5.4"),
        ("project.optional-dependencies.cli[1]", "pyyaml>=5.1,<5.4", "pyyaml>=5.4,<5.5"),
    ]


def test_relax_keeps_literal_quotes_extras_markers_and_parentheses() -> None:
    change = relax_dependency(PYPROJECT, "jinja2", "3.1.4")
    assert change.text == PYPROJECT.replace(
        "'jinja2>=2.10,<2.12 ; python_version >= \"3.8\"'",
        "'jinja2>=3.1.4,<3.2 ; python_version >= \"3.8\"'",
    )
    change = relax_dependency(PYPROJECT, "requests", "2.31.0")
    assert change.text == PYPROJECT.replace("(==2.25.1)", "(==2.31.0)")


def test_relax_leaves_a_requirement_that_already_allows_the_target() -> None:
    change = relax_dependency(PYPROJECT, "markupsafe", "2.1.5")
    assert not change.changed
    assert change.text == PYPROJECT
    assert not relax_dependency(PYPROJECT, "pytest", "8.0").changed


def test_relax_reaches_dependency_groups_but_skips_include_tables() -> None:
    change = relax_dependency(PYPROJECT, "ruff", "0.4.0")
    assert change.text == PYPROJECT.replace('"ruff==0.1.0"', '"ruff==0.4.0"')
    assert change.changes[0].key == "dependency-groups.lint[0]"


def test_excluding_names_the_forbidding_requirements() -> None:
    keys = [d.key for d in excluding(PYPROJECT, "pyyaml", "5.4")]
    assert keys == ["project.dependencies[0]", "project.optional-dependencies.cli[1]"]
    assert excluding(PYPROJECT, "markupsafe", "2.1.5") == ()


def test_add_constraint_creates_the_uv_table_after_the_last_one() -> None:
    change = add_constraint(PYPROJECT, "idna", "3.7")
    assert change.text == PYPROJECT + '\n[tool.uv]\nconstraint-dependencies = ["idna>=3.7"]\n'
    assert tomllib.loads(change.text)["tool"]["uv"]["constraint-dependencies"] == ["idna>=3.7"]


def test_add_constraint_appends_to_a_multiline_array_keeping_comments() -> None:
    before = """\
[project]
name = "x"

[tool.uv]
package = false
constraint-dependencies = [
    "six>=1.16",  # why six is held
    'certifi>=2024.7.4',
]
"""
    change = add_constraint(before, "idna", "3.7")
    assert change.text == before.replace(
        "'certifi>=2024.7.4',\n", "'certifi>=2024.7.4',\n    \"idna>=3.7\",\n"
    )


def test_add_constraint_raises_an_existing_entry_instead_of_adding_one() -> None:
    before = '[tool.uv]\nconstraint-dependencies = ["idna<3", "six"]\n'
    change = add_constraint(before, "IDNA", "3.7")
    assert change.text == '[tool.uv]\nconstraint-dependencies = ["idna>=3.7,<4", "six"]\n'
    floor = add_constraint('[tool.uv]\nconstraint-dependencies = ["idna>=2.5"]\n', "idna", "3.7")
    assert floor.text == '[tool.uv]\nconstraint-dependencies = ["idna>=3.7"]\n'


def test_add_constraint_relaxes_an_override_that_forbids_the_target() -> None:
    before = '[tool.uv]\noverride-dependencies = ["idna==2.10"]\n'
    change = add_constraint(before, "idna", "3.7")
    assert tomllib.loads(change.text)["tool"]["uv"] == {
        "override-dependencies": ["idna==3.7"],
        "constraint-dependencies": ["idna>=3.7"],
    }


def test_unpin_turns_exact_pins_into_floors_only() -> None:
    change = unpin_dependency(PYPROJECT, "requests")
    assert change.text == PYPROJECT.replace("(==2.25.1)", "(>=2.25.1)")
    assert not unpin_dependency(PYPROJECT, "jinja2").changed
    assert unpin_requirement("a==1.*") is None


def test_invalid_toml_is_a_fix_error_naming_the_file() -> None:
    with pytest.raises(FixError, match=r"proj/pyproject\.toml: invalid TOML"):
        relax_dependency("[project\n", "x", "1", path="proj/pyproject.toml")


def test_a_url_requirement_is_left_with_a_reason() -> None:
    text = '[project]\ndependencies = ["pyyaml @ https://example.org/pyyaml-5.3.1.tar.gz"]\n'
    change = relax_dependency(text, "pyyaml", "5.4")
    assert not change.changed
    assert change.left and "URL requirement" in change.left[0]


@pytest.mark.parametrize(
    ("spec", "target", "want"),
    [
        ("==5.3.1", "5.4", "==5.4"),
        ("===5.3.1", "5.4", "===5.4"),
        (">=1.0,<1.27", "1.27.1", ">=1.27.1,<1.28"),
        (">=1.0, <2", "2.0.1", ">=2.0.1, <3"),
        ("~=5.3.1", "5.4", "~=5.4.0"),
        ("~=2.25", "3.0.5", ">=3.0.5,<4"),
        ("==5.3.*", "5.4", ">=5.4,==5.4.*"),
        ("!=5.4,>=5", "5.4", ">=5.4"),
        ("<=2.0", "2.1", ">=2.1,<=2.1"),
        (">= 2.0 , < 3", "3.1", ">= 3.1, < 4"),
        (">3", "2", ">=2"),
        ("< 2", "2.0.1", ">=2.0.1, < 3"),
        (">=1.0,<2", "1.5", None),
    ],
)
def test_relax_specifier_rules(spec: str, target: str, want: str | None) -> None:
    assert relax_specifier(spec, target) == want


_VERSIONS = st.builds(
    lambda parts: ".".join(str(p) for p in parts),
    st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=4),
)
_CLAUSE = st.one_of(
    st.tuples(st.sampled_from(["==", "!=", "<=", ">=", "<", ">", "==="]), _VERSIONS).map("".join),
    st.tuples(st.just("~="), _VERSIONS.filter(lambda v: "." in v)).map("".join),
    st.tuples(st.sampled_from(["==", "!="]), _VERSIONS).map(lambda t: f"{t[0]}{t[1]}.*"),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_CLAUSE, min_size=0, max_size=4), _VERSIONS, st.sampled_from([",", ", "]))
def test_relaxed_specifier_admits_the_target(clauses: list[str], target: str, sep: str) -> None:
    spec = sep.join(clauses)
    try:
        original = SpecifierSet(spec)
    except InvalidSpecifier:
        with pytest.raises(RelaxError):
            relax_specifier(spec, target)
        return
    new = relax_specifier(spec, target)
    want = Version(target)
    if original.contains(want, prereleases=True):
        assert new is None
        return
    assert new is not None
    relaxed = SpecifierSet(new)
    assert relaxed.contains(want, prereleases=True)
    # An edited requirement never admits versions below the target again.
    below = [v for v in ("0", "0.1", target + ".dev0") if Version(v) < want]
    assert not any(relaxed.contains(v, prereleases=True) for v in below)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["PyYAML", "py-yaml", "a.b_c"]),
    st.sampled_from(["", "[socks]", " [a,b] "]),
    st.sampled_from(["==5.3.1", " == 5.3.1", "(==5.3.1)", ">=5,<5.4", "~=5.3.0"]),
    st.sampled_from(["", ' ; python_version >= "3.8"', ";sys_platform=='linux'"]),
    _VERSIONS.map(lambda v: "5.4." + v),
)
def test_relaxed_requirement_keeps_name_extras_and_marker(
    name: str, extras: str, spec: str, marker: str, target: str
) -> None:
    text = f"{name}{extras}{spec}{marker}"
    new = relax_requirement(text, target)
    assert new is not None
    before, after = Requirement(text), Requirement(new)
    assert (after.name, after.extras, str(after.marker)) == (
        before.name,
        before.extras,
        str(before.marker),
    )
    assert after.specifier.contains(target, prereleases=True)
    assert new.startswith(f"{name}{extras}")
    assert new.endswith(marker)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.text(max_size=12))
def test_junk_specifiers_raise_only_relax_errors(spec: str, target: str) -> None:
    with contextlib.suppress(RelaxError):
        relax_specifier(spec, target)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_junk_pyproject_raises_only_fix_errors(text: str) -> None:
    edits: list[Callable[[], ManifestChange]] = [
        lambda: relax_dependency(text, "x", "1.0"),
        lambda: add_constraint(text, "x", "1.0"),
        lambda: unpin_dependency(text, "x"),
    ]
    for edit in edits:
        try:
            change = edit()
        except FixError:
            continue
        tomllib.loads(change.text)


@pytest.mark.parametrize(
    "text",
    [
        "tool = 1\n",
        'tool.uv = "fast"\n',
        "[tool.uv]\nconstraint-dependencies = 3\n",
        '[tool]\nuv = ["a"]\n',
    ],
)
def test_a_constraint_table_of_the_wrong_type_is_a_fix_error(text: str) -> None:
    with pytest.raises(FixError, match=r"pyproject\.toml: tool"):
        add_constraint(text, "idna", "3.7")


def test_requirement_arrays_of_the_wrong_shape_are_ignored() -> None:
    text = '[project]\ndependencies = "pyyaml==5.3.1"\n[dependency-groups]\ndev = 3\n'
    assert not relax_dependency(text, "pyyaml", "5.4").changed
