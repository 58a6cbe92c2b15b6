"""`world-writable-mode`: golden cases, one refusal fixture per reason, literal formatting in
the source's base, and the evaluation of `stat` expressions.

Cases live in tests/assets/codemods/world-writable-mode/ (see `cases.py`). The codemod instance
is run directly, so these tests do not depend on the registry.
"""

from __future__ import annotations

import ast
import stat
from pathlib import Path

import pytest

from patchpilot.fixers.codemods.interface import Reason, Tier
from patchpilot.fixers.codemods.world_writable import (
    OTHERS_WRITE,
    WorldWritableMode,
    format_like,
)

from .cases import Case
from .cm_single import cases_of, check_want_is_fixed_point, ruff_findings, run_case

CASES = cases_of(WorldWritableMode.id)
WANTS = [c for c in CASES if c.want is not None]
BY_NAME = {c.name: c for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    run_case(case, WorldWritableMode(), tmp_path)


@pytest.mark.parametrize("case", WANTS, ids=[c.name for c in WANTS])
def test_golden_output_compiles_and_is_a_fixed_point(case: Case, tmp_path: Path) -> None:
    check_want_is_fixed_point(case, WorldWritableMode(), tmp_path)


def test_golden_outputs_are_clean_under_ruff_f401_f821_f811() -> None:
    assert ruff_findings(CASES) == ""


def test_every_refusal_reason_has_a_fixture() -> None:
    reasons = {reason for case in CASES for (_, _, reason) in case.refusals}
    assert reasons == {
        Reason.NON_LITERAL_MODE,
        Reason.UNEVALUABLE_MODE,
        Reason.STICKY_DIRECTORY,
        Reason.SUPPRESSED,
    }


def _mode(code: str) -> int:
    """The value of a mode written as `|` of integers and `stat` constants, computed with the
    interpreter's own `stat` module (independently of the codemod's table)."""

    def value(node: ast.expr) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return value(node.left) | value(node.right)
        if isinstance(node, ast.Attribute | ast.Name):
            found = getattr(stat, node.attr if isinstance(node, ast.Attribute) else node.id)
            assert isinstance(found, int)
            return found
        raise AssertionError(ast.dump(node))

    return value(ast.parse(code, mode="eval").body)


@pytest.mark.parametrize("name", ["literals", "stat-constants", "aliased-import"])
def test_rewritten_modes_equal_the_old_ones_minus_others_write(name: str, tmp_path: Path) -> None:
    result = run_case(BY_NAME[name], WorldWritableMode(), tmp_path)
    assert result.changes
    for change in result.changes:
        old, new = change.description.split("`")[1::2][:2]
        assert _mode(new) == _mode(old) & ~OTHERS_WRITE
        assert _mode(old) & OTHERS_WRITE


def test_creation_calls_mention_the_umask(tmp_path: Path) -> None:
    result = run_case(BY_NAME["literals"], WorldWritableMode(), tmp_path)
    lines = BY_NAME["literals"].input.splitlines()
    for change in result.changes:
        creates = any(f"os.{f}(" in lines[change.line - 1] for f in ("mkdir", "makedirs", "open"))
        assert ("umask" in change.description) is creates


@pytest.mark.parametrize(
    ("original", "value", "written"),
    [
        ("0o777", 0o775, "0o775"),
        ("0O777", 0o775, "0O775"),
        ("0o0777", 0o775, "0o0775"),
        ("0o7_77", 0o775, "0o775"),
        ("511", 509, "509"),
        ("0x1FF", 0x1FD, "0x1FD"),
        ("0x1ff", 0x1FD, "0x1fd"),
        ("0b111111111", 0o775, "0b111111101"),
        ("0o002", 0, "0o000"),
    ],
)
def test_format_like_keeps_the_base(original: str, value: int, written: str) -> None:
    assert format_like(original, value) == written
    assert int(written, 0) == value


def test_metadata_and_explanation() -> None:
    codemod = WorldWritableMode()
    assert (codemod.id, codemod.tier, codemod.cwe) == ("world-writable-mode", Tier.B, (732,))
    for word in ("0o775", "non-literal-mode", "unevaluable-mode", "sticky", "umask", "S_IRWXO"):
        assert word in codemod.explanation
