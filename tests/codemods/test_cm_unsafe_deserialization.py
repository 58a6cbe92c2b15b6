"""`unsafe-deserialization` (Tier C): every pickle-family load is reported, nothing is changed.

Cases live in tests/assets/codemods/unsafe-deserialization/ (see `cases.py`): each input must
stay byte-identical with exactly the listed refusals. Ruff's S301/S302 are the oracle for what
counts as a load, and Ruff's SARIF output targets the detector like any codemod.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from patchpilot.fixers.codemods.engine import run_codemods
from patchpilot.fixers.codemods.interface import Reason, Tier
from patchpilot.fixers.codemods.tier_c import TIER_C
from patchpilot.fixers.codemods.unsafe_deserialization import UnsafeDeserialization

from .cases import Case
from .cm_single import cases_of, run_case
from .tier_c_checks import refusals_without_prefilter, reported_statements, ruff_statements

CASES = cases_of(UnsafeDeserialization.id)
BY_NAME = {c.name: c for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    result = run_case(case, UnsafeDeserialization(), tmp_path)
    assert not result.changes
    assert not result.changeset.edits


def test_cases_cover_every_outcome() -> None:
    reasons = {reason for case in CASES for (_, _, reason) in case.refusals}
    assert reasons == {TIER_C, Reason.SUPPRESSED}
    assert not BY_NAME["clean"].refusals
    assert all(c.want is None for c in CASES), "a detector has no golden rewrite"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_load_ruff_flags_is_reported(case: Case, tmp_path: Path) -> None:
    result = run_case(case, UnsafeDeserialization(), tmp_path)
    flagged = ruff_statements(case, "S301,S302")
    assert flagged <= reported_statements(case, result)
    if case.name == "clean":
        assert flagged == set()


def test_aliases_ruff_misses_are_reported(tmp_path: Path) -> None:
    # `_pickle`, `cPickle` and `jsonpickle.loads` are loads too; Ruff's S301 does not know them.
    case = BY_NAME["aliased-import"]
    result = run_case(case, UnsafeDeserialization(), tmp_path)
    extra = reported_statements(case, result) - ruff_statements(case, "S301,S302")
    lines = case.input.splitlines()
    assert {lines[n - 1].split("=")[1].split("(")[0].strip() for n in extra} == {
        "_pickle.loads",
        "cPickle.loads",
        "jp_loads",
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_prefilter_hides_nothing(case: Case, tmp_path: Path) -> None:
    refusals_without_prefilter(case, UnsafeDeserialization(), tmp_path)


def test_details_name_the_call_and_the_way_out(tmp_path: Path) -> None:
    case = BY_NAME["plain"]
    result = run_case(case, UnsafeDeserialization(), tmp_path)
    lines = case.input.splitlines()
    for refusal in result.refusals:
        assert refusal.line is not None
        called = lines[refusal.line - 1].split("(")[0].split()[-1]
        assert f"`{called}`" in refusal.detail
        assert "No rewrite keeps the behaviour" in refusal.detail
        assert "JSON" in refusal.detail
        pickle_based = not called.startswith(("marshal.", "jsonpickle."))
        assert ("fickling" in refusal.detail) == pickle_based
        assert ("Parquet" in refusal.detail) == called.startswith("pandas.")


def test_constant_data_is_said_to_be_constant(tmp_path: Path) -> None:
    case = BY_NAME["constant-data"]
    result = run_case(case, UnsafeDeserialization(), tmp_path)
    by_line = {r.line: r.detail for r in result.refusals}
    assert by_line[4].startswith("The data is a constant in the source")
    assert "constant" not in by_line[8]


def test_suppression_names_the_comment(tmp_path: Path) -> None:
    result = run_case(BY_NAME["refuse-suppressed"], UnsafeDeserialization(), tmp_path)
    details = {r.line: r.detail for r in result.refusals if r.reason == Reason.SUPPRESSED}
    assert details == {
        7: "suppressed by `# nosec B301`",
        11: "suppressed by `# noqa: S301`",
    }


def test_test_modules_are_reported_as_tier_c(tmp_path: Path) -> None:
    case = BY_NAME["test-module"]
    assert case.path.startswith("tests/")
    assert not UnsafeDeserialization.refuse_in_tests
    result = run_case(case, UnsafeDeserialization(), tmp_path)
    assert {str(r.reason) for r in result.refusals} == {TIER_C}


def test_ruff_sarif_targets_the_detector(tmp_path: Path) -> None:
    # Real Ruff SARIF: only the loads Ruff flags are looked at; the others stay unreported.
    case = BY_NAME["aliased-import"]
    root = case.build(tmp_path / "project")
    sarif = tmp_path / "ruff.sarif"
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--exit-zero",
         "--select", "S301", "--output-format", "sarif", "--output-file", str(sarif), "."],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    flagged = {
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]["results"]
    }
    assert flagged
    result = run_codemods(root, targets=sarif, codemods=[UnsafeDeserialization()])
    assert {r.line for r in result.refusals} == flagged
    assert {(p, line, reason) for (p, line, reason) in case.refusals if line in flagged} == {
        (r.path, r.line, str(r.reason)) for r in result.refusals
    }


def test_metadata_and_explanation() -> None:
    codemod = UnsafeDeserialization()
    assert (codemod.id, codemod.tier, codemod.cwe) == ("unsafe-deserialization", Tier.C, (502,))
    assert {"B301", "S301", "B302", "S302", "B403"} <= set(codemod.rules)
    for word in ("pickle", "marshal", "shelve", "jsonpickle", "dill", "read_pickle", "HMAC"):
        assert word in codemod.explanation
    for reason in (TIER_C, Reason.SUPPRESSED):
        assert f"`{reason}`" in codemod.explanation
