"""Checks shared by the per-codemod test modules: one codemod instance over its asset cases.

The instance is passed to `run_codemods(codemods=[...])` directly, so a codemod is tested the
same way whether or not the registry lists it. The checks are those of a golden case (the
rewrite equals `want.py`, exactly the listed refusals, nothing written) plus the post-
conditions every golden output must meet on its own: it compiles, the codemod leaves it alone,
and `ruff --select F401,F821,F811` finds nothing in it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from patchpilot.fixers.codemods.engine import RUFF_RULES, CodefixResult, run_codemods
from patchpilot.fixers.codemods.interface import Codemod

from .cases import Case, load_cases


def cases_of(ident: str) -> list[Case]:
    found = [c for c in load_cases() if c.codemod == ident]
    assert found, f"no asset cases for {ident}"
    return found


def run_case(case: Case, codemod: Codemod, root: Path) -> CodefixResult:
    """Lay `case` out under `root`, run `codemod` on it and check the golden expectations."""
    assert codemod.id == case.codemod
    case.build(root)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    result = run_codemods(root, codemods=[codemod])
    edits = {e.path: e for e in result.changeset.edits}
    assert set(edits) <= {case.path}, "only the case's own file may change"
    want = case.want
    if want is None:
        assert not edits
        assert not result.changes
    else:
        assert edits[case.path].before == case.input
        assert edits[case.path].after == want
        assert result.changes
        assert all(c.codemod == codemod.id and c.path == case.path for c in result.changes)
    got = {(r.path, r.line, str(r.reason)) for r in result.refusals}
    assert got == case.refusals
    assert all(r.detail for r in result.refusals), "every refusal says why"
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    return result


def check_want_is_fixed_point(case: Case, codemod: Codemod, root: Path) -> None:
    """The golden output compiles and a second run of the codemod changes and refuses
    nothing in it."""
    want = case.want
    assert want is not None
    compile(want, case.path, "exec", dont_inherit=True)
    case.build(root)
    (root / case.path).write_text(want, encoding="utf-8")
    again = run_codemods(root, codemods=[codemod])
    assert not again.changeset.edits
    assert not again.changes
    assert not again.refusals


def ruff_findings(cases: list[Case]) -> str:
    """`ruff check --select F401,F821,F811` over the golden outputs; empty when clean."""
    wants = [str(c.directory / "want.py") for c in cases if c.want is not None]
    assert wants
    beside = Path(sys.executable).with_name("ruff")
    command = [str(beside)] if beside.is_file() else [sys.executable, "-m", "ruff"]
    proc = subprocess.run(
        [*command, "check", "--isolated", "--no-cache", "--select", RUFF_RULES,
         "--output-format", "concise", *wants],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return "" if proc.returncode == 0 else proc.stdout + proc.stderr
