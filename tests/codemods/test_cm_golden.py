"""Golden `input → want` cases and one refusal fixture per reason, for every codemod.

Cases live under tests/assets/codemods/<id>/<case>/ (see `cases.py`). Each is laid out as a
small project, the codemod runs on it, and the rewrite must equal `want.py` byte for byte (or
the file must stay byte-identical), with exactly the refusals the case lists.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from patchpilot.fixers.codemods.engine import RUFF_RULES, run_codemods
from patchpilot.fixers.codemods.interface import Reason, Tier
from patchpilot.fixers.codemods.registry import codemods

from .cases import Case, load_cases

REGISTERED = {c.id for c in codemods()}
# Cases of codemods not (yet) in the registry are run by their own test modules (cm_single).
CASES = [c for c in load_cases() if c.codemod in REGISTERED]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    root = case.build(tmp_path)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    result = run_codemods(root, only=[case.codemod])
    edits = {e.path: e for e in result.changeset.edits}
    want = case.want
    if want is None:
        assert case.path not in edits
        assert not [c for c in result.changes if c.path == case.path]
    else:
        assert edits[case.path].before == case.input
        assert edits[case.path].after == want
        assert result.counts[case.codemod].changes == len(result.changes) > 0
    assert set(edits) <= {case.path}, "only the case's own file may change"
    got = {(r.path, r.line, str(r.reason)) for r in result.refusals}
    assert got == case.refusals
    # run_codemods is pure: nothing on disk changed.
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_every_refusal_reason_of_the_patterns_has_a_fixture() -> None:
    covered = {reason for case in CASES for (_, _, reason) in case.refusals}
    engine_only = {
        Reason.PARSE_ERROR,
        Reason.UNREADABLE,
        Reason.POSTCONDITION_COMPILE,
        Reason.POSTCONDITION_IDEMPOTENCE,
        Reason.POSTCONDITION_RUFF,
        Reason.CODEMOD_ERROR,
        Reason.NAME_CONFLICT,
        Reason.ROUNDTRIP,
    }  # covered by test_cm_engine.py
    assert {str(r) for r in Reason} - {str(r) for r in engine_only} <= covered


def test_every_registered_codemod_has_golden_and_refusal_cases() -> None:
    tiers = {c.id: c.tier for c in codemods()}
    for ident in REGISTERED:
        mine = [c for c in CASES if c.codemod == ident]
        # Tier C detectors never rewrite: their golden cases are the refusals they report.
        assert tiers[ident] == Tier.C or any(c.want is not None for c in mine), ident
        assert any(c.refusals for c in mine), ident


WANTS = [c for c in CASES if c.want is not None]


@pytest.mark.parametrize("case", WANTS, ids=[c.id for c in WANTS])
def test_golden_output_compiles_and_is_a_fixed_point(case: Case, tmp_path: Path) -> None:
    want = case.want
    assert want is not None
    compile(want, case.path, "exec", dont_inherit=True)
    case.build(tmp_path / "again")
    (tmp_path / "again" / case.path).write_text(want, encoding="utf-8")
    again = run_codemods(tmp_path / "again")
    assert not again.changeset.edits, "every codemod leaves a golden output alone"


def test_golden_outputs_are_clean_under_ruff_f_rules() -> None:
    wants = [str(c.directory / "want.py") for c in WANTS]
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select", "F",
         "--output-format", "concise", *wants],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert RUFF_RULES == "F401,F821,F811"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_all_codemods_together_keep_post_conditions(case: Case, tmp_path: Path) -> None:
    root = case.build(tmp_path)
    result = run_codemods(root)
    for edit in result.changeset.edits:
        assert edit.after is not None
        compile(edit.after, edit.path, "exec", dont_inherit=True)
    own = [r for r in result.refusals if r.codemod == case.codemod]
    assert {(r.path, r.line, str(r.reason)) for r in own} == case.refusals
