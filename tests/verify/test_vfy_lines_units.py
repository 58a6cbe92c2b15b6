"""Line-level evidence without the network: which lines execute a changed line (`code_units`),
the changed-lines input, and real traced test runs of small projects in patchpilot's own
virtualenv (it has pytest and coverage), through the same runner the verify step uses."""

from __future__ import annotations

import platform
import sys
import time
import tokenize
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchpilot.errors import VerifyError
from patchpilot.events import Reporter
from patchpilot.verify.envs import Env
from patchpilot.verify.lines import (
    LineTrace,
    changed_files,
    code_units,
    ensure_coverage,
    normalize_changes,
    prepare_trace,
    read_lines,
)
from patchpilot.verify.results import Outcome, SideResult
from patchpilot.verify.runner import measure_side
from patchpilot.verify.testcmd import Kind, TestCommand

SAMPLE = '''"""Module docstring."""

import functools

LIMIT = (
    10
)


@functools.lru_cache(
    maxsize=8,
)
def load(path, *, timeout=60):
    """Read a file."""
    # read it all
    with open(
        path,
        encoding="utf-8",
    ) as f:
        text = f.read()
    if not text: return ""

    try:
        value = int(text)
    except ValueError as e:
        raise RuntimeError(
            "not a number"
        ) from e
    else:
        return value
    finally:
        pass


def kind(x):
    match x:
        case {"a": 1} if (
            x
        ):
            return "a"
        case _:
            return "other"
'''


def at(text: str, needle: str) -> int:
    """The 1-based number of the only line of `text` holding `needle`."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(found) == 1, (needle, found)
    return found[0]


def span(text: str, first: str, last: str) -> frozenset[int]:
    return frozenset(range(at(text, first), at(text, last) + 1))


def test_each_changed_line_maps_to_the_lines_that_execute_it() -> None:
    lines = list(range(1, len(SAMPLE.splitlines()) + 1))
    units = code_units(SAMPLE.encode(), lines)
    s = SAMPLE

    # Nothing to execute: docstrings, comments, blank lines, bare else/try/finally.
    for needle in ('"""Module', '"""Read', "# read it all", "    try:", "    else:", "finally:"):
        assert units[at(s, needle)] is None, needle
    assert units[at(s, "import functools") + 1] is None

    # A statement over several lines: any of its lines stands for all of them.
    assert units[at(s, "    10")] == span(s, "LIMIT = (", "LIMIT = (") | {
        at(s, "    10"),
        at(s, "    10") + 1,
    }
    with_header = span(s, "with open(", ") as f:")
    assert units[at(s, 'encoding="utf-8"')] == with_header
    assert units[at(s, "text = f.read()")] == frozenset({at(s, "text = f.read()")})
    assert units[at(s, 'if not text: return ""')] == frozenset({at(s, 'if not text: return ""')})
    assert units[at(s, "except ValueError")] == frozenset({at(s, "except ValueError")})
    assert units[at(s, '"not a number"')] == span(s, "raise RuntimeError(", ") from e")
    assert units[at(s, "        pass")] == frozenset({at(s, "        pass")})

    # Decorators and the signature count when the function body runs.
    whole = units[at(s, "def load(")]
    assert whole is not None
    assert units[at(s, "maxsize=8")] == whole
    assert {at(s, "@functools"), at(s, "text = f.read()"), at(s, "return value")} <= whole
    assert at(s, "# read it all") not in whole and at(s, '"""Read') not in whole

    # A case header with a guard spread over lines, up to its body.
    assert units[at(s, "            x")] == span(s, 'case {"a": 1}', "        ):")
    assert units[at(s, 'return "a"')] == frozenset({at(s, 'return "a"')})


def test_changed_lines_are_normalised_and_checked() -> None:
    assert normalize_changes({"pkg\\mod.py": [3, 1, 3], "./a.py": [2], "b.py": []}) == {
        "a.py": (2,),
        "pkg/mod.py": (1, 3),
    }
    for bad in ({"/etc/passwd": [1]}, {"../x.py": [1]}, {"": [1]}, {".": [1]}):
        with pytest.raises(VerifyError, match="relative to the repository"):
            normalize_changes(bad)
    for line in (0, -2, True, 1.5, "3"):
        with pytest.raises(VerifyError, match="is not a line number"):
            normalize_changes({"a.py": [line]})  # type: ignore[list-item]


def test_changed_files_must_exist_and_hold_the_lines(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\ny = 2\n", encoding="utf-8")
    (tmp_path / "nginx.conf").write_text("ssl_protocols TLSv1.2;\n", encoding="utf-8")
    assert changed_files(tmp_path, {"a.py": (2,), "nginx.conf": (1,)}) == [
        (tmp_path / "a.py").resolve()
    ]
    with pytest.raises(VerifyError, match=r"a\.py:3: beyond the end of the file"):
        changed_files(tmp_path, {"a.py": (3,)})
    with pytest.raises(VerifyError, match=r"gone\.py: no such file on the fix branch"):
        changed_files(tmp_path, {"gone.py": (1,)})


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_junk_source_raises_only_the_documented_errors(data: bytes) -> None:
    try:
        units = code_units(data, [1, 2, 3])
    except (SyntaxError, ValueError, tokenize.TokenError):
        return
    assert set(units) == {1, 2, 3}
    for unit in units.values():
        assert unit is None or all(n >= 1 for n in unit)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=20),
        st.lists(st.one_of(st.integers(), st.booleans(), st.floats(), st.text(max_size=3))),
        max_size=4,
    )
)
def test_junk_changed_lines_raise_only_verify_errors(changes: dict[str, list[object]]) -> None:
    try:
        out = normalize_changes(changes)  # type: ignore[arg-type]
    except VerifyError:
        return
    for path, lines in out.items():
        assert not path.startswith("/") and ".." not in path.split("/")
        assert all(isinstance(n, int) and n >= 1 for n in lines)


# --- real traced runs in this virtualenv ------------------------------------------------------

LIB = """def parse(text):
    return int(
        text,
        base=10,
    )


def unused():
    return "never"
"""

PYTEST_SUITE = """from lib import parse


class TestParse:
    def test_digits(self):
        assert parse("12") == 12


def test_broken_on_both_sides():
    assert parse("7") == 8
"""

UNITTEST_SUITE = """import unittest

from lib import parse


class ParseTest(unittest.TestCase):
    def test_digits(self):
        self.assertEqual(parse("12"), 12)

    def test_nothing(self):
        self.assertTrue(True)
"""


def own_env(checkout: Path) -> Env:
    """patchpilot's own virtualenv, which has pytest and coverage, as a test env."""
    return Env(
        root=Path(sys.prefix),
        python=Path(sys.executable),
        python_version=platform.python_version(),
        checkout=checkout,
        installer="patchpilot's own virtualenv",
        seconds=0.0,
    )


def project(root: Path, suite: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in {"lib.py": LIB, **suite}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def traced_run(
    root: Path, command: TestCommand, data: Path, changes: Mapping[str, tuple[int, ...]]
) -> tuple[LineTrace, list[str], SideResult]:
    env = own_env(root)
    version, pytest_cov, notes = ensure_coverage(env)
    assert notes == ()  # already installed here: nothing to add
    trace = prepare_trace(
        command,
        changed_files(root, changes),
        data,
        coverage_version=version,
        pytest_cov=pytest_cov,
    )
    side = measure_side(
        env,
        trace.command,
        root,
        rev="work",
        commit="0" * 40,
        started=time.monotonic(),
        timeout=120,
        reporter=Reporter(),
        extra_env=trace.extra_env,
    )
    return trace, [r.id for r in side.results], side


def test_pytest_plugin_names_tests_by_node_id(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"conftest.py": "", "tests/test_lib.py": PYTEST_SUITE})
    changes = {"lib.py": (at(LIB, "base=10"), at(LIB, '"never"'))}
    command = TestCommand(("python", "-m", "pytest"), Kind.PYTEST, "conftest.py")
    trace, ids, side = traced_run(root, command, tmp_path / "data", changes)
    assert sorted(ids) == [
        "tests/test_lib.py::TestParse::test_digits",
        "tests/test_lib.py::test_broken_on_both_sides",
    ]
    report = read_lines(trace, root, changes, side)
    base10, never = report.lines
    assert base10.tests == ("tests/test_lib.py::TestParse::test_digits",)
    # The failing test ran it too (and again in the rerun of failures), but proves nothing.
    assert base10.other_tests == ("tests/test_lib.py::test_broken_on_both_sides",)
    assert not never.executed and never.code and never.other_tests == ()
    assert report.share == 0.5
    assert report.measured and "pytest plugin" in report.mechanism


def test_unittest_discover_runs_under_coverage_with_test_function_contexts(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "u", {"tests/__init__.py": "", "tests/test_lib.py": UNITTEST_SUITE})
    changes = {"lib.py": (at(LIB, "base=10"),)}
    argv = ("python", "-m", "unittest", "discover", "-s", "tests", "-t", ".")
    command = TestCommand(argv, Kind.UNITTEST, ".patchpilot.toml")
    trace, ids, side = traced_run(root, command, tmp_path / "data", changes)
    # `-v` goes after `discover`, where unittest accepts it.
    assert trace.command.argv[5:10] == ("-m", "unittest", "discover", "-v", "-s")
    assert sorted(ids) == [
        "tests.test_lib.ParseTest.test_digits",
        "tests.test_lib.ParseTest.test_nothing",
    ]
    assert all(r.outcome is Outcome.PASSED for r in side.results)
    (line,) = read_lines(trace, root, changes, side).lines
    assert line.executed and line.tests == ("tests.test_lib.ParseTest.test_digits",)


def test_unreadable_coverage_data_is_a_verify_error(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {})
    changes = {"lib.py": (2,)}
    command = TestCommand(("python", "-m", "pytest"), Kind.PYTEST, "conftest.py")
    trace = prepare_trace(
        command, changed_files(root, changes), tmp_path / "data", coverage_version="7",
        pytest_cov=False,
    )  # fmt: skip
    junk = trace.data_dir / "cov.host.1.x"
    junk.write_bytes(b"this is not a SQLite database" * 40)
    side = SideResult("r", "c", ("python",), "3.11", "-", 0, ())
    with pytest.raises(VerifyError, match=r"cov\.host\.1\.x: not readable coverage data"):
        read_lines(trace, root, changes, side)
