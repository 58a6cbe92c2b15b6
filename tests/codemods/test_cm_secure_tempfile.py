"""`secure-tempfile`: golden cases, one refusal fixture per reason, the descriptor's fresh name
and the argument compatibility of `mktemp` and `mkstemp` that the rewrite relies on.

Cases live in tests/assets/codemods/secure-tempfile/ (see `cases.py`). The codemod instance is
run directly, so these tests do not depend on the registry.
"""

from __future__ import annotations

import inspect
import re
import tempfile
from pathlib import Path

import pytest

from patchpilot.fixers.codemods.interface import Reason, Tier
from patchpilot.fixers.codemods.secure_tempfile import (
    SecureTempfile,
)

from .cases import Case
from .cm_single import cases_of, check_want_is_fixed_point, ruff_findings, run_case

CASES = cases_of(SecureTempfile.id)
WANTS = [c for c in CASES if c.want is not None]
BY_NAME = {c.name: c for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    run_case(case, SecureTempfile(), tmp_path)


@pytest.mark.parametrize("case", WANTS, ids=[c.name for c in WANTS])
def test_golden_output_compiles_and_is_a_fixed_point(case: Case, tmp_path: Path) -> None:
    check_want_is_fixed_point(case, SecureTempfile(), tmp_path)


def test_golden_outputs_are_clean_under_ruff_f401_f821_f811() -> None:
    assert ruff_findings(CASES) == ""


def test_every_refusal_reason_has_a_fixture() -> None:
    reasons = {reason for case in CASES for (_, _, reason) in case.refusals}
    assert reasons == {
        Reason.NEEDS_ABSENT_PATH,
        Reason.NOT_SIMPLE_ASSIGNMENT,
        Reason.COMPOUND_STATEMENT,
        Reason.NAME_CONFLICT,
        Reason.SUPPRESSED,
    }


def test_mktemp_and_mkstemp_take_the_same_leading_arguments() -> None:
    # The rewrite keeps positional arguments as they are: this is why that is sound.
    old = list(inspect.signature(tempfile.mktemp).parameters)
    new = list(inspect.signature(tempfile.mkstemp).parameters)
    assert new[: len(old)] == old == ["suffix", "prefix", "dir"]


def test_rewritten_code_creates_the_file_with_the_same_name_shape(tmp_path: Path) -> None:
    # Run the golden output of `positional-dir` for real: mkstemp with the kept arguments.
    namespace: dict[str, object] = {}
    exec(BY_NAME["positional-dir"].want or "", namespace)  # noqa: S102 - our own golden file
    job_log = namespace["job_log"]
    assert callable(job_log)
    path = Path(job_log(str(tmp_path)))
    assert path.is_file() and path.read_bytes() == b""
    assert path.parent == tmp_path and path.name.startswith("job-") and path.suffix == ".log"
    assert path.stat().st_mode & 0o777 == 0o600
    path.unlink()


def test_the_descriptor_name_avoids_names_in_use(tmp_path: Path) -> None:
    case = BY_NAME["fd-name-taken"]
    result = run_case(case, SecureTempfile(), tmp_path)
    assert re.search(r"\bfd\b", case.input), "the case must already use the name `fd`"
    (change,) = result.changes
    assert "`tmp_fd` closed" in change.description


def test_absent_path_refusals_name_the_use(tmp_path: Path) -> None:
    case = BY_NAME["refuse-needs-absent-path"]
    result = run_case(case, SecureTempfile(), tmp_path)
    lines = case.input.splitlines()
    for refusal in result.refusals:
        assert refusal.line is not None
        name = lines[refusal.line - 1].split("=")[0].strip()
        assert f"`{name}` must not exist yet at line" in refusal.detail
    directory = [r for r in result.refusals if "mkdtemp" in r.detail]
    assert {r.line for r in directory} == {
        n for n, text in enumerate(lines, start=1) if "mktemp" in text and "mkdir" in lines[n]
    }


def test_metadata_and_explanation() -> None:
    codemod = SecureTempfile()
    assert (codemod.id, codemod.tier, codemod.cwe) == ("secure-tempfile", Tier.B, (377,))
    for word in ("mkstemp", "os.close", "mkdtemp", "needs-absent-path", "absolute", "0600"):
        assert word in codemod.explanation
