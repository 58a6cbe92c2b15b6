"""Result parsers fed junk (only clean `VerifyError`s come out) and the comparison rules."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from patchpilot.errors import VerifyError
from patchpilot.verify.results import (
    Outcome,
    SideResult,
    TestResult,
    compare_sides,
    parse_junit,
    parse_unittest,
)
from patchpilot.verify.testcmd import read_config

XMLISH = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: f"<testsuite><testcase {t}").map(str.encode),
    st.text(max_size=300)
    .map(lambda t: f'<testsuites><testcase name="{t}" time="{t}"/></testsuites>')
    .map(str.encode),
)


@settings(max_examples=200, deadline=None)
@given(XMLISH)
def test_junk_junit_gives_only_verify_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "junit.xml"
        path.write_bytes(data)
        try:
            results = parse_junit(path, Path(d))
        except VerifyError as e:
            assert str(path) in str(e)
        else:
            assert all(isinstance(r.outcome, Outcome) and r.id for r in results)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_junk_unittest_output_never_raises(text: str) -> None:
    for r in parse_unittest(text):
        assert r.outcome in Outcome


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_junk_patchpilot_toml_gives_only_verify_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / ".patchpilot.toml").write_bytes(b"[verify]\n" + data)
        try:
            read_config(Path(d))
        except VerifyError as e:
            assert ".patchpilot.toml" in str(e)


def side(results: dict[str, Outcome], flaky: tuple[str, ...] = ()) -> SideResult:
    return SideResult(
        rev="r",
        commit="0" * 40,
        command=("pytest",),
        python_version="3.11",
        installer="uv sync",
        returncode=int(any(o.failing for o in results.values())),
        results=tuple(TestResult(i, o) for i, o in results.items()),
        flaky=flaky,
    )


def test_comparison_sorts_every_kind_of_failure() -> None:
    p, f, e = Outcome.PASSED, Outcome.FAILED, Outcome.ERROR
    before = side({"a": p, "b": f, "c": f, "d": p, "gone": p, "wobbly": p}, flaky=("wobbly",))
    after = side({"a": e, "b": f, "c": p, "d": p, "new": f, "wobbly": f})
    cmp = compare_sides(before, after)
    assert cmp.regressions == ("a", "new")
    assert cmp.pre_existing == ("b",)
    assert cmp.fixed == ("c",)
    assert cmp.flaky == ("wobbly",)
    assert cmp.only_before == ("gone",)
    assert cmp.before.passed == 4 and cmp.after.passed == 2
    assert cmp.summary(shown=1) == (
        "4 passed before, 2 after; 2 regressions: a, …; 1 pre-existing failure: b; "
        "1 fixed: c; 1 flaky: wobbly; 1 test gone after: gone"
    )
