"""`rsa-key-size`: golden cases, one refusal fixture per reason, and the never-lower rule.

Cases live in tests/assets/codemods/rsa-key-size/ (see `cases.py`); the codemod instance is
run directly, so these tests do not depend on the registry.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from patchpilot.fixers.codemods.engine import run_codemods
from patchpilot.fixers.codemods.interface import Reason, Tier
from patchpilot.fixers.codemods.rsa_key_size import (
    MIN_BITS,
    RsaKeySize,
    int_literal,
)

from .cases import Case
from .cm_single import cases_of, check_want_is_fixed_point, ruff_findings, run_case

CASES = cases_of(RsaKeySize.id)
WANTS = [c for c in CASES if c.want is not None]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    run_case(case, RsaKeySize(), tmp_path)


@pytest.mark.parametrize("case", WANTS, ids=[c.name for c in WANTS])
def test_golden_output_compiles_and_is_a_fixed_point(case: Case, tmp_path: Path) -> None:
    check_want_is_fixed_point(case, RsaKeySize(), tmp_path)


def test_golden_outputs_are_clean_under_ruff_f401_f821_f811() -> None:
    assert ruff_findings(CASES) == ""


def test_every_refusal_reason_has_a_fixture() -> None:
    reasons = {reason for case in CASES for (_, _, reason) in case.refusals}
    assert reasons == {
        Reason.NON_LITERAL_SIZE,
        Reason.NON_LITERAL_CURVE,
        Reason.KWARGS_SPLAT,
        Reason.ARGS_SPLAT,
        Reason.TEST_FILE,
        Reason.SUPPRESSED,
    }


def test_metadata_and_explanation() -> None:
    codemod = RsaKeySize()
    assert (codemod.id, codemod.tier, codemod.cwe) == ("rsa-key-size", Tier.A_MINUS, (326,))
    assert "non-literal-size" in codemod.explanation and "SECP256R1" in codemod.explanation


@pytest.mark.parametrize(("code", "value"), [("1024", 1024), ("0x400", 1024), ("1_024", 1024)])
def test_int_literal(code: str, value: int) -> None:
    assert int_literal(cst.parse_expression(code)) == value


@pytest.mark.parametrize("code", ["1024.0", "bits", "'1024'", "-1024"])
def test_non_integers_are_not_int_literals(code: str) -> None:
    assert int_literal(cst.parse_expression(code)) is None


ASYM = "cryptography.hazmat.primitives.asymmetric"
CALLS = [
    (f"from {ASYM} import rsa", "rsa.generate_private_key(65537, {})"),
    (f"from {ASYM} import dsa", "dsa.generate_private_key(key_size={})"),
    ("from Crypto.PublicKey import RSA", "RSA.generate({})"),
    ("import Cryptodome.PublicKey.DSA as D", "D.generate(bits={})"),
]


@pytest.mark.parametrize(("imports", "call"), CALLS)
@pytest.mark.parametrize("bits", [512, 1024, 2047, 2048, 3072, 4096, 8192])
def test_sizes_are_raised_to_the_minimum_and_never_lowered(
    imports: str, call: str, bits: int, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "t"\nversion = "0"\nrequires-python = ">=3.12"\n', encoding="utf-8"
    )
    source = f"{imports}\n\nKEY = {call.format(bits)}\n"
    (tmp_path / "keys.py").write_text(source, encoding="utf-8")
    result = run_codemods(tmp_path, codemods=[RsaKeySize()])
    assert not result.refusals
    expected = source.replace(call.format(bits), call.format(max(bits, MIN_BITS)))
    after = result.changeset.edits[0].after if result.changeset.edits else source
    assert after == expected
