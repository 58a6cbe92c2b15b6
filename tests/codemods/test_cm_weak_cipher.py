"""`weak-cipher` (Tier C): weak ciphers and ECB mode are reported, nothing is changed.

Cases live in tests/assets/codemods/weak-cipher/ (see `cases.py`): each input must stay
byte-identical with exactly the listed refusals. Ruff's S304/S305 are the oracle for what
counts as a weak cipher or mode; the detector also knows pycryptodome's `MODE_ECB` and
`ARC4` / `CAST` / `DES3` calls, which Ruff does not.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from patchpilot.fixers.codemods.interface import Reason, Tier
from patchpilot.fixers.codemods.tier_c import TIER_C
from patchpilot.fixers.codemods.weak_cipher import WeakCipher

from .cases import Case
from .cm_single import cases_of, run_case
from .tier_c_checks import refusals_without_prefilter, reported_statements, ruff_statements

CASES = cases_of(WeakCipher.id)
BY_NAME = {c.name: c for c in CASES}
ECB = "ECB mode encrypts equal plaintext blocks"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    result = run_case(case, WeakCipher(), tmp_path)
    assert not result.changes
    assert not result.changeset.edits


def test_cases_cover_every_outcome() -> None:
    reasons = {reason for case in CASES for (_, _, reason) in case.refusals}
    assert reasons == {TIER_C, Reason.SUPPRESSED, Reason.TEST_FILE}
    assert not BY_NAME["clean"].refusals
    assert all(c.want is None for c in CASES), "a detector has no golden rewrite"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_site_ruff_flags_is_reported(case: Case, tmp_path: Path) -> None:
    result = run_case(case, WeakCipher(), tmp_path)
    flagged = ruff_statements(case, "S304,S305")
    assert flagged <= reported_statements(case, result)
    if case.name == "clean":
        assert flagged == set()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_prefilter_hides_nothing(case: Case, tmp_path: Path) -> None:
    refusals_without_prefilter(case, WeakCipher(), tmp_path)


def test_a_constructor_is_one_report_with_its_mode(tmp_path: Path) -> None:
    result = run_case(BY_NAME["pycryptodome"], WeakCipher(), tmp_path)
    per_line = Counter(r.line for r in result.refusals)
    by_line = {r.line: r.detail for r in result.refusals}
    # `DES3.new(key, DES3.MODE_ECB)`: one site, both problems.
    assert per_line[13] == 1
    assert "Triple DES" in by_line[13] and ECB in by_line[13]
    # Two constructors on one line are two sites.
    assert per_line[21] == 2
    # AES is fine, its ECB mode is not, whether in the call (a multi-line one) or apart.
    assert by_line[29].startswith(ECB) and by_line[40].startswith(ECB)
    assert "DES has a 56-bit key" in by_line[8] and ECB not in by_line[8]


def test_cryptography_modes_join_their_cipher(tmp_path: Path) -> None:
    result = run_case(BY_NAME["cryptography"], WeakCipher(), tmp_path)
    per_line = Counter(r.line for r in result.refusals)
    by_line = {r.line: r.detail for r in result.refusals}
    assert "Blowfish" in by_line[26] and ECB in by_line[26] and per_line[26] == 1
    # Ruff points at `modes.ECB()` on line 20; the report is the `Cipher(` call holding it.
    assert by_line[18].startswith(ECB)
    assert per_line[30] == 2  # CAST5 and SEED from `hazmat.decrepit`
    # Algorithm and mode built apart from `Cipher(...)`: a site each.
    assert "IDEA" in by_line[34] and by_line[35].startswith(ECB)


def test_every_detail_says_what_to_do(tmp_path: Path) -> None:
    for case in CASES:
        result = run_case(case, WeakCipher(), tmp_path / case.name)
        for refusal in result.refusals:
            if refusal.reason != Reason.SUPPRESSED:
                assert "AES-GCM or ChaCha20-Poly1305" in refusal.detail
                assert "migration" in refusal.detail


def test_test_modules_keep_the_explanation(tmp_path: Path) -> None:
    assert WeakCipher.refuse_in_tests
    [refusal] = run_case(BY_NAME["refuse-test-file"], WeakCipher(), tmp_path).refusals
    assert refusal.detail.startswith("in a test module")
    assert "DES has a 56-bit key" in refusal.detail and ECB in refusal.detail


def test_metadata_and_explanation() -> None:
    codemod = WeakCipher()
    assert (codemod.id, codemod.tier, codemod.cwe) == ("weak-cipher", Tier.C, (327,))
    assert {"B304", "S304", "B305", "S305"} <= set(codemod.rules)
    for word in ("DES", "Triple DES", "RC4", "Blowfish", "IDEA", "ECB", "AES-GCM", "Sweet32"):
        assert word in codemod.explanation
    for reason in (TIER_C, Reason.TEST_FILE, Reason.SUPPRESSED):
        assert f"`{reason}`" in codemod.explanation
