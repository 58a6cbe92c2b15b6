"""Poetry's version constraint syntax, as the Poetry fixer reads and relaxes it.

The oracle is poetry-core's own parser (`poetry.core.constraints.version`, installed with
the `patchpilot[poetry]` extra): whatever `poetry_allows` says about a constraint and a
version must be what Poetry itself says.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchpilot.fixers.poetry_lock import poetry_allows, poetry_specifier, relax_poetry
from patchpilot.fixers.pyproject_edit import RelaxError

poetry_version = pytest.importorskip("poetry.core.constraints.version")

releases = st.lists(st.integers(0, 12), min_size=1, max_size=3).map(
    lambda parts: ".".join(map(str, parts))
)
constraints = st.one_of(
    releases.map(lambda v: f"^{v}"),
    releases.map(lambda v: f"~{v}"),
    releases,
    releases.map(lambda v: f"=={v}"),
    st.tuples(releases, releases).map(lambda pair: f">={pair[0]},<{pair[1]}"),
    st.tuples(releases, releases).map(lambda pair: f">={pair[0]} <{pair[1]}"),
    releases.map(lambda v: f"~={v}.0"),
    st.just("*"),
)


def poetry_says(constraint: str, version: str) -> bool:
    parsed = poetry_version.parse_constraint(constraint)
    return bool(parsed.allows(poetry_version.Version.parse(version)))


@settings(max_examples=400, deadline=None)
@given(constraints, releases)
def test_admission_agrees_with_poetry_core(constraint: str, version: str) -> None:
    assert poetry_allows(constraint, version) == poetry_says(constraint, version)


@settings(max_examples=300, deadline=None)
@given(constraints, releases)
def test_a_relaxed_constraint_admits_the_target_for_poetry(constraint: str, target: str) -> None:
    relaxed = relax_poetry(constraint, target)
    if relaxed is None:
        assert poetry_says(constraint, target)
    else:
        assert not poetry_says(constraint, target)
        assert poetry_says(relaxed, target)


@pytest.mark.parametrize(
    ("constraint", "target", "want"),
    [
        ("^5.3", "6.0.1", "^6.0.1"),
        ("~1.2", "1.3.4", "~1.3.4"),
        ("2.25.1", "2.31.0", "2.31.0"),
        ("==2.25.1", "2.31.0", "==2.31.0"),
        (">=1.0,<2.0", "2.1", ">=2.1,<2.2"),  # the upper bound lifted at its own precision
        ("^5.3", "5.4.1", None),
        ("*", "9", None),
    ],
)
def test_relaxing_keeps_the_constraint_style(constraint: str, target: str, want: str) -> None:
    assert relax_poetry(constraint, target) == want


def test_caret_and_tilde_bounds() -> None:
    assert poetry_specifier("^1.2.3") == ">=1.2.3,<2"
    assert poetry_specifier("^0.2.3") == ">=0.2.3,<0.3"
    assert poetry_specifier("^0.0.3") == ">=0.0.3,<0.0.4"
    assert poetry_specifier("~1.2.3") == ">=1.2.3,<1.3"
    assert poetry_specifier("~1") == ">=1,<2"
    assert poetry_specifier(">= 1.0, < 2") == ">=1.0,<2"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_junk_constraints_give_clean_answers(junk: str) -> None:
    assert poetry_allows(junk, "1.0") in (True, False)
    with contextlib.suppress(RelaxError):
        relax_poetry(junk, "1.0")
