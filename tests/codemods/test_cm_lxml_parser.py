"""`harden-lxml`: golden cases, one refusal fixture per reason and the lxml-version choice.

Cases live in tests/assets/codemods/harden-lxml/ (see `cases.py`); the lockfiles of the two
version cases were made by `uv pip compile` (README there). The codemod instance is run
directly, so these tests do not depend on the registry.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from patchpilot.fixers.codemods.engine import run_codemods
from patchpilot.fixers.codemods.interface import ProjectContext, Reason, Tier
from patchpilot.fixers.codemods.lxml_parser import (
    HardenLxml,
    default_parser_changes,
    locked_lxml,
    xinclude_line,
)

from .cases import Case
from .cm_single import cases_of, check_want_is_fixed_point, ruff_findings, run_case

CASES = cases_of(HardenLxml.id)
WANTS = [c for c in CASES if c.want is not None]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    run_case(case, HardenLxml(), tmp_path)


@pytest.mark.parametrize("case", WANTS, ids=[c.name for c in WANTS])
def test_golden_output_compiles_and_is_a_fixed_point(case: Case, tmp_path: Path) -> None:
    check_want_is_fixed_point(case, HardenLxml(), tmp_path)


def test_golden_outputs_are_clean_under_ruff_f401_f821_f811() -> None:
    assert ruff_findings(CASES) == ""


def test_every_refusal_reason_has_a_fixture() -> None:
    reasons = {reason for case in CASES for (_, _, reason) in case.refusals}
    assert reasons == {
        Reason.NEEDS_DTD,
        Reason.XINCLUDE,
        Reason.ENTITIES_REQUESTED,
        Reason.DEFAULT_PARSER,
        Reason.NOT_A_LITERAL,
        Reason.KWARGS_SPLAT,
        Reason.ARGS_SPLAT,
        Reason.SUPPRESSED,
    }


def test_metadata_and_explanation() -> None:
    codemod = HardenLxml()
    assert (codemod.id, codemod.tier, codemod.cwe) == ("harden-lxml", Tier.A, (611, 776))
    text = codemod.explanation
    assert "resolve_entities=False" in text and '"internal"' in text


def _locked_in(case_name: str) -> str:
    lock = next(c for c in CASES if c.name == case_name).directory / "extra" / "requirements.txt"
    pins = [line for line in lock.read_text(encoding="utf-8").splitlines() if "==" in line]
    (pin,) = pins
    return pin.split("==")[1].strip()


@pytest.mark.parametrize(
    ("case_name", "internal"), [("lxml5-internal", True), ("lxml4-false", False)]
)
def test_the_value_follows_the_locked_lxml(case_name: str, internal: bool, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == case_name)
    root = case.build(tmp_path)
    version = locked_lxml(ProjectContext.load(root))
    assert version is not None and str(version) == _locked_in(case_name)
    assert (version.major >= 5) is internal
    result = run_codemods(root, codemods=[HardenLxml()])
    assert result.changes
    for change in result.changes:
        # The description says why a no-op-looking change was made on lxml 5+.
        assert (f"lxml {version} already defaults" in change.description) is internal
        assert ('"internal"' in change.description) is internal


def test_unknown_lxml_version_uses_false(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "xmlparser-plain")
    root = case.build(tmp_path)
    assert locked_lxml(ProjectContext.load(root)) is None
    result = run_codemods(root, codemods=[HardenLxml()])
    assert all("resolve_entities=False" in c.description for c in result.changes)


def test_default_parser_and_xinclude_detection(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        "from lxml import etree\n# set_default_parser is mentioned here only\n"
        "etree.set_default_parser(etree.XMLParser())\n",
        encoding="utf-8",
    )
    (tmp_path / "b.py").write_text("set_default_parser = None\n", encoding="utf-8")
    assert default_parser_changes(ProjectContext.load(tmp_path)) == (("a.py", 3),)
    assert xinclude_line("tree = parse(p)\n# xinclude() is not called\n") is None
    assert xinclude_line("from lxml.etree import XInclude\nXInclude()(root)\n") == 2
    assert xinclude_line("x = 1\ntree.xinclude()\n") == 2
