"""`torch-load-weights-only`: golden cases, one refusal fixture per reason, and the change
descriptions that depend on the torch version the project locks.

Cases live in tests/assets/codemods/torch-load-weights-only/ (see `cases.py`; the lockfiles
were made by `uv pip compile`, README there). The codemod instance is run directly, so these
tests do not depend on the registry.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.version import Version

from patchpilot.fixers.codemods.interface import Reason, Tier
from patchpilot.fixers.codemods.torch_load import (
    FIRST_SAFE_DEFAULT,
    TorchLoadWeightsOnly,
)

from .cases import Case
from .cm_single import cases_of, check_want_is_fixed_point, ruff_findings, run_case

CASES = cases_of(TorchLoadWeightsOnly.id)
WANTS = [c for c in CASES if c.want is not None]
BY_NAME = {c.name: c for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    run_case(case, TorchLoadWeightsOnly(), tmp_path)


@pytest.mark.parametrize("case", WANTS, ids=[c.name for c in WANTS])
def test_golden_output_compiles_and_is_a_fixed_point(case: Case, tmp_path: Path) -> None:
    check_want_is_fixed_point(case, TorchLoadWeightsOnly(), tmp_path)


def test_golden_outputs_are_clean_under_ruff_f401_f821_f811() -> None:
    assert ruff_findings(CASES) == ""


def test_every_refusal_reason_has_a_fixture() -> None:
    reasons = {reason for case in CASES for (_, _, reason) in case.refusals}
    assert reasons == {
        Reason.WEIGHTS_ONLY_FALSE,
        Reason.NOT_A_LITERAL,
        Reason.PICKLE_MODULE,
        Reason.KWARGS_SPLAT,
        Reason.ARGS_SPLAT,
        Reason.DEPENDENCY_TOO_OLD,
        Reason.SUPPRESSED,
    }


def _locked_torch(case: Case) -> Version:
    text = (case.directory / "extra" / "requirements.txt").read_text(encoding="utf-8")
    found = re.search(r"^torch==(\S+)$", text, re.MULTILINE)
    assert found is not None
    return Version(found.group(1))


@pytest.mark.parametrize("name", ["torch25-locked", "torch26-locked"])
def test_description_names_the_locked_torch(name: str, tmp_path: Path) -> None:
    case = BY_NAME[name]
    result = run_case(case, TorchLoadWeightsOnly(), tmp_path)
    version = _locked_torch(case)
    (change,) = result.changes
    assert f"torch {version} (locked)" in change.description
    assert "feeds `load_state_dict`" in change.description
    safe_default = version >= FIRST_SAFE_DEFAULT
    assert ("already defaults to `weights_only=True`" in change.description) is safe_default
    assert ("now fail to load" in change.description) is not safe_default


def test_state_dict_use_is_noted_and_missing_lock_said(tmp_path: Path) -> None:
    case = BY_NAME["checkpoints"]
    result = run_case(case, TorchLoadWeightsOnly(), tmp_path)
    noted = {c.line: "feeds `load_state_dict`" in c.description for c in result.changes}
    lines = case.input.splitlines()
    # `checkpoint = torch.load(...)` whose entries go to `load_state_dict`, and a direct
    # `model.load_state_dict(torch.load(path))`; the memory-mapped tensor table is neither.
    expected = {
        number: "checkpoint" in text or "load_state_dict" in text
        for number, text in enumerate(lines, start=1)
        if "load(" in text and "def " not in text and "load_state_dict(checkpoint" not in text
    }
    assert noted == expected
    assert sorted(noted.values()) == [False, False, True, True]
    assert all("locks no torch version" in c.description for c in result.changes)


def test_refusing_an_old_torch_names_its_version(tmp_path: Path) -> None:
    case = BY_NAME["refuse-dependency-too-old"]
    result = run_case(case, TorchLoadWeightsOnly(), tmp_path)
    assert all(f"torch {_locked_torch(case)}" in r.detail for r in result.refusals)


def test_metadata_and_explanation() -> None:
    codemod = TorchLoadWeightsOnly()
    assert (codemod.id, codemod.tier, codemod.cwe) == ("torch-load-weights-only", Tier.B, (502,))
    text = codemod.explanation
    for word in (
        "weights_only=True",
        "load_state_dict",
        "2.6",
        "pickle_module",
        "add_safe_globals",
    ):
        assert word in text
