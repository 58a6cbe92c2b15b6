"""`tls-minimum-version`: golden cases, one refusal fixture per reason, and what it ignores.

Cases live in tests/assets/codemods/tls-minimum-version/ (see `cases.py`); the codemod
instance is run directly, so these tests do not depend on the registry.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from patchpilot.fixers.codemods.engine import run_codemods
from patchpilot.fixers.codemods.interface import Reason, Tier
from patchpilot.fixers.codemods.tls_minimum_version import TlsMinimumVersion

from .cases import Case
from .cm_single import cases_of, check_want_is_fixed_point, ruff_findings, run_case

CASES = cases_of(TlsMinimumVersion.id)
WANTS = [c for c in CASES if c.want is not None]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    run_case(case, TlsMinimumVersion(), tmp_path)


@pytest.mark.parametrize("case", WANTS, ids=[c.name for c in WANTS])
def test_golden_output_compiles_and_is_a_fixed_point(case: Case, tmp_path: Path) -> None:
    check_want_is_fixed_point(case, TlsMinimumVersion(), tmp_path)


def test_golden_outputs_are_clean_under_ruff_f401_f821_f811() -> None:
    assert ruff_findings(CASES) == ""


def test_every_refusal_reason_has_a_fixture() -> None:
    reasons = {reason for case in CASES for (_, _, reason) in case.refusals}
    assert reasons == {Reason.NOT_A_LITERAL, Reason.TEST_FILE, Reason.SUPPRESSED}


def test_metadata_and_explanation() -> None:
    codemod = TlsMinimumVersion()
    assert (codemod.id, codemod.tier, codemod.cwe) == ("tls-minimum-version", Tier.A_MINUS, (326,))
    assert "TLSv1_2" in codemod.explanation and "not-a-literal" in codemod.explanation


def _module(root: Path, text: str) -> Path:
    (root / "pyproject.toml").write_text(
        '[project]\nname = "t"\nversion = "0"\nrequires-python = ">=3.12"\n', encoding="utf-8"
    )
    (root / "m.py").write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("member", [m.name for m in ssl.TLSVersion])
def test_every_real_tlsversion_member(member: str, tmp_path: Path) -> None:
    # Every member the running Python's ssl module has: the ones below TLS 1.2 are raised to
    # it, the others are left alone.
    root = _module(
        tmp_path,
        "import ssl\n\nctx = ssl.create_default_context()\n"
        f"ctx.minimum_version = ssl.TLSVersion.{member}\n",
    )
    result = run_codemods(root, codemods=[TlsMinimumVersion()])
    weak = member in {"SSLv3", "TLSv1", "TLSv1_1", "MINIMUM_SUPPORTED"}
    assert not result.refusals
    if weak:
        (edit,) = result.changeset.edits
        assert edit.after is not None
        assert edit.after.endswith("ctx.minimum_version = ssl.TLSVersion.TLSv1_2\n")
        namespace: dict[str, object] = {}
        exec(compile(edit.after, "m.py", "exec"), namespace)  # noqa: S102 - the fixed module
        ctx = namespace["ctx"]
        assert isinstance(ctx, ssl.SSLContext)
        assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    else:
        assert not result.changeset.edits


def test_non_literals_outside_ssl_modules_are_not_tls_settings(tmp_path: Path) -> None:
    root = _module(tmp_path, "def pin(package, wanted):\n    package.minimum_version = wanted\n")
    result = run_codemods(root, codemods=[TlsMinimumVersion()])
    assert not result.changes and not result.refusals
