"""Test results as values: per-test outcomes, one side's run, and the before/after comparison.

`parse_junit` reads the JUnit XML pytest writes (one `TestResult` per `testcase`, its id the
pytest node id when the test file can be found, else `classname::name`); `parse_unittest`
reads the verbose output of unittest and Django's runner (`test_x (mod.Case.test_x) ... ok`),
falling back to the counts of its last line. A command whose results cannot be read per test
is one pseudo-test named after the command, passed or failed by its exit status.
`compare_sides` classifies every failure: a **regression** fails only after the fix, a
**pre-existing** failure fails on both sides, a **fixed** test fails only before, and a
**flaky** one failed and then passed when rerun once (on either side).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from patchpilot.errors import VerifyError


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"

    @property
    def failing(self) -> bool:
        return self in (Outcome.FAILED, Outcome.ERROR)


@dataclass(frozen=True, slots=True)
class TestResult:
    """One test's outcome in one run; `time` in seconds, `message` the failure's first line."""

    id: str
    outcome: Outcome
    time: float = 0.0
    message: str = ""

    __test__ = False


@dataclass(frozen=True, slots=True)
class Totals:
    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.error + self.skipped

    @classmethod
    def of(cls, results: Iterable[TestResult]) -> Totals:
        c = Counter(r.outcome for r in results)
        return cls(c[Outcome.PASSED], c[Outcome.FAILED], c[Outcome.ERROR], c[Outcome.SKIPPED])


@dataclass(frozen=True, slots=True)
class SideResult:
    """One side's test run: where, with what, every result, and which failures were flaky.

    `results` holds each test's final outcome (a flaky test counts as passed there and is named
    in `flaky`). `per_test` is False when only counts or an exit status could be read.
    """

    rev: str
    commit: str
    command: tuple[str, ...]
    python_version: str
    installer: str
    returncode: int
    results: tuple[TestResult, ...]
    flaky: tuple[str, ...] = ()
    per_test: bool = True
    env_seconds: float = 0.0
    test_seconds: float = 0.0
    rerun_seconds: float = 0.0
    total_seconds: float = 0.0
    output_tail: str = ""

    @property
    def totals(self) -> Totals:
        return Totals.of(self.results)

    @property
    def failing(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.results if r.outcome.failing)


@dataclass(frozen=True, slots=True)
class TestComparison:
    """Before against after: totals and the failures sorted into their four kinds."""

    before: Totals
    after: Totals
    regressions: tuple[str, ...] = ()
    pre_existing: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()
    flaky: tuple[str, ...] = ()
    only_before: tuple[str, ...] = field(default=())

    __test__ = False

    @property
    def ok(self) -> bool:
        """No regression (pre-existing failures and flakes do not count against a fix)."""
        return not self.regressions

    def summary(self, shown: int = 3) -> str:
        """One line, e.g. `233 passed before and after; 1 regression: tests/test_x.py::test_y`."""
        b, a = self.before, self.after
        if b.passed == a.passed:
            parts = [f"{a.passed} passed before and after"]
        else:
            parts = [f"{b.passed} passed before, {a.passed} after"]
        for ids, one, many in (
            (self.regressions, "regression", "regressions"),
            (self.pre_existing, "pre-existing failure", "pre-existing failures"),
            (self.fixed, "fixed", "fixed"),
            (self.flaky, "flaky", "flaky"),
            (self.only_before, "test gone after", "tests gone after"),
        ):
            if ids:
                names = ", ".join(ids[:shown]) + (", …" if len(ids) > shown else "")
                parts.append(f"{len(ids)} {one if len(ids) == 1 else many}: {names}")
        return "; ".join(parts)


def compare_sides(before: SideResult, after: SideResult) -> TestComparison:
    """Sort every failure of either side into regression, pre-existing, fixed or flaky."""
    flaky = set(before.flaky) | set(after.flaky)
    failed_before = set(before.failing) - flaky
    failed_after = set(after.failing) - flaky
    ran_after = {r.id for r in after.results}
    return TestComparison(
        before=before.totals,
        after=after.totals,
        regressions=tuple(sorted(failed_after - failed_before)),
        pre_existing=tuple(sorted(failed_after & failed_before)),
        fixed=tuple(sorted(i for i in failed_before - failed_after if i in ran_after)),
        flaky=tuple(sorted(flaky)),
        only_before=tuple(sorted({r.id for r in before.results} - ran_after)),
    )


def _node_id(root: Path, classname: str, name: str) -> str:
    """pytest's node id from JUnit's dotted classname, when the module file is found."""
    parts = classname.split(".") if classname else []
    for cut in range(len(parts), 0, -1):
        module = "/".join(parts[:cut]) + ".py"
        if (root / module).is_file():
            return "::".join([module, *parts[cut:], name])
    return f"{classname}::{name}" if classname else name


def parse_junit(path: Path, root: Path) -> tuple[TestResult, ...]:
    """Every `testcase` of the JUnit XML file `path`; ids resolved against `root`."""
    from xml.etree import ElementTree as ET

    try:
        # Written by the project's test run, read once: expat (>= 2.4.1 in every supported
        # Python) bounds entity expansion and ElementTree never fetches external entities.
        tree = ET.parse(path)  # noqa: S314
    except FileNotFoundError as e:
        raise VerifyError(f"{path}: the test run wrote no JUnit XML report") from e
    except (OSError, ET.ParseError) as e:
        raise VerifyError(f"{path}: not a readable JUnit XML report: {e}") from e
    out: list[TestResult] = []
    for case in tree.getroot().iter("testcase"):
        name = case.get("name", "")
        if not name:
            raise VerifyError(f"{path}: a testcase without a name")
        try:
            seconds = float(case.get("time") or 0.0)
        except ValueError:
            seconds = 0.0
        outcome, message = Outcome.PASSED, ""
        for child in case:
            tag = child.tag
            if tag in ("failure", "error", "skipped"):
                outcome = {"failure": Outcome.FAILED, "error": Outcome.ERROR}.get(
                    tag, Outcome.SKIPPED
                )
                message = next(iter((child.get("message") or "").splitlines()), "")
                if outcome.failing:
                    break
        out.append(
            TestResult(_node_id(root, case.get("classname", ""), name), outcome, seconds, message)
        )
    return tuple(out)


_UNITTEST_LINE = re.compile(
    r"^(?P<name>\w+) \((?P<where>[\w.]+)\)(?:\n.*?)?\s\.\.\.\s"
    r"(?P<result>ok|FAIL|ERROR|skipped|expected failure|unexpected success)",
    re.MULTILINE,
)
_RESULT = {
    "ok": Outcome.PASSED,
    "expected failure": Outcome.PASSED,
    "FAIL": Outcome.FAILED,
    "unexpected success": Outcome.FAILED,
    "ERROR": Outcome.ERROR,
    "skipped": Outcome.SKIPPED,
}


def parse_unittest(output: str) -> tuple[TestResult, ...]:
    """Per-test outcomes from unittest's / Django's verbose (`-v 2`) output."""
    out: dict[str, TestResult] = {}
    for m in _UNITTEST_LINE.finditer(output):
        where_ = m.group("where")
        # Python >= 3.11 prints the full dotted id; older ones the class path only.
        test_id = (
            where_ if where_.endswith("." + m.group("name")) else f"{where_}.{m.group('name')}"
        )
        out.setdefault(test_id, TestResult(test_id, _RESULT[m.group("result")]))
    return tuple(out.values())


def whole_command(name: str, returncode: int) -> tuple[TestResult, ...]:
    """The pseudo-test standing for a command whose results are known only by exit status."""
    return (TestResult(name, Outcome.PASSED if returncode == 0 else Outcome.FAILED),)
