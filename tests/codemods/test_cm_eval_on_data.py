"""`eval-on-data` (Tier C): builtin `eval` / `exec` calls are reported, nothing is changed.

Cases live in tests/assets/codemods/eval-on-data/ (see `cases.py`): each input must stay
byte-identical with exactly the listed refusals. Ruff's S307/S102 are the oracle for what is
the builtin (aliases and shadowing included); the `ast.literal_eval` suggestion is checked
against `eval` itself on the case's own constants.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from patchpilot.fixers.codemods.eval_on_data import EvalOnData
from patchpilot.fixers.codemods.interface import Reason, Tier
from patchpilot.fixers.codemods.tier_c import TIER_C

from .cases import Case
from .cm_single import cases_of, run_case
from .tier_c_checks import refusals_without_prefilter, reported_statements, ruff_statements

CASES = cases_of(EvalOnData.id)
BY_NAME = {c.name: c for c in CASES}
LITERAL = "`ast.literal_eval` gives the same value"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    result = run_case(case, EvalOnData(), tmp_path)
    assert not result.changes
    assert not result.changeset.edits


def test_cases_cover_every_outcome() -> None:
    reasons = {reason for case in CASES for (_, _, reason) in case.refusals}
    assert reasons == {TIER_C, Reason.SUPPRESSED, Reason.TEST_FILE}
    assert not BY_NAME["clean"].refusals
    assert all(c.want is None for c in CASES), "a detector has no golden rewrite"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reports_match_ruff(case: Case, tmp_path: Path) -> None:
    # Ruff resolves the builtins as patchpilot does: the same statements, apart from lines
    # Ruff's own `noqa` silences (patchpilot reports those as `suppressed`).
    result = run_case(case, EvalOnData(), tmp_path)
    flagged = ruff_statements(case, "S307,S102")
    silenced = {
        r.line for r in result.refusals if r.reason == Reason.SUPPRESSED and "noqa" in r.detail
    }
    assert flagged == reported_statements(case, result) - silenced


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_prefilter_hides_nothing(case: Case, tmp_path: Path) -> None:
    refusals_without_prefilter(case, EvalOnData(), tmp_path)


def test_data_is_the_dangerous_case(tmp_path: Path) -> None:
    result = run_case(BY_NAME["data"], EvalOnData(), tmp_path)
    for refusal in result.refusals:
        assert "that is code execution" in refusal.detail
        assert "No rewrite keeps the behaviour" in refusal.detail
        assert LITERAL not in refusal.detail
    by_line = {r.line: r.detail for r in result.refusals}
    assert "ast.literal_eval" in by_line[8] and "json.loads" in by_line[8]
    assert "importlib.import_module" in by_line[23]
    assert "no sandbox" in by_line[29]
    assert sum("no sandbox" in r.detail for r in result.refusals) == 1


def _evaluated_literals(source: str) -> dict[int, str]:
    """The string constant given to each `eval(...)` of a module, by line."""
    found: dict[int, str] = {}
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "eval"
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found[node.lineno] = node.args[0].value
    return found


def test_literal_eval_is_suggested_only_where_it_gives_the_same_value(tmp_path: Path) -> None:
    case = BY_NAME["literal"]
    result = run_case(case, EvalOnData(), tmp_path)
    suggested = {r.line or 0 for r in result.refusals if LITERAL in r.detail}
    assert all(r.detail.startswith("The code is a constant") for r in result.refusals)
    literals = _evaluated_literals(case.input)
    assert suggested == {1, 2} and set(literals) == {1, 2, 3}
    for line in suggested:
        # Our own fixture's constants: evaluating them is what the claim is about.
        assert ast.literal_eval(literals[line]) == eval(literals[line])  # noqa: S307
    with pytest.raises(ValueError, match="malformed"):
        ast.literal_eval(literals[3])


def test_methods_and_shadowing_functions_are_not_the_builtin(tmp_path: Path) -> None:
    case = BY_NAME["clean"]
    assert "model.eval()" in case.input and "def eval(value)" in case.input
    assert not run_case(case, EvalOnData(), tmp_path).refusals


def test_test_modules_keep_the_explanation(tmp_path: Path) -> None:
    assert EvalOnData.refuse_in_tests
    [refusal] = run_case(BY_NAME["refuse-test-file"], EvalOnData(), tmp_path).refusals
    assert refusal.detail.startswith("in a test module")
    assert "that is code execution" in refusal.detail


def test_metadata_and_explanation() -> None:
    codemod = EvalOnData()
    assert (codemod.id, codemod.tier, codemod.cwe) == ("eval-on-data", Tier.C, (94, 95))
    assert {"B307", "S307", "B102", "S102"} <= set(codemod.rules)
    for word in ("ast.literal_eval", "ValueError", "__builtins__", "json.loads", "exec"):
        assert word in codemod.explanation
    for reason in (TIER_C, Reason.TEST_FILE, Reason.SUPPRESSED):
        assert f"`{reason}`" in codemod.explanation
