"""Checks shared by the Tier C detector tests (`test_cm_<detector>.py`).

A detector never rewrites: each case must stay byte-identical with exactly its listed refusals
(`cm_single.run_case`). On top of that: Ruff's own rules for the pattern serve as an oracle
(every statement Ruff flags in a case is one the detector reports, and a clean case is clean
for Ruff too), and the detector's prefilter must not change what it reports.
"""

from __future__ import annotations

import ast
import copy
import json
import subprocess
import sys
from pathlib import Path

from patchpilot.fixers.codemods.engine import CodefixResult, run_codemods
from patchpilot.fixers.codemods.interface import Codemod

from .cases import Case


def statement_of(source: str, line: int) -> int:
    """The first line of the innermost statement holding `line` (a compound statement by its
    header: `with open(p) as f:`): Ruff and patchpilot may point at different lines of one
    multi-line statement."""
    best: tuple[int, int] | None = None
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.stmt):
            continue
        body = getattr(node, "body", None)
        if isinstance(body, list) and body:
            end = body[0].lineno - 1
        else:
            end = node.end_lineno or node.lineno
        if node.lineno <= line <= end and (best is None or end - node.lineno < best[1]):
            best = (node.lineno, end - node.lineno)
    assert best is not None, f"no statement at line {line}"
    return best[0]


def ruff_statements(case: Case, codes: str) -> set[int]:
    """Statements (first lines) of the case's input that `ruff --select codes` flags."""
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--exit-zero",
         "--select", codes, "--output-format", "json", str(case.directory / "input.py")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    return {statement_of(case.input, item["location"]["row"]) for item in found}


def reported_statements(case: Case, result: CodefixResult) -> set[int]:
    """Statements (first lines) of the case's file that the run reported, for any reason."""
    return {
        statement_of(case.input, r.line)
        for r in result.refusals
        if r.path == case.path and r.line is not None
    }


def accept_everything(codemod: Codemod) -> Codemod:
    """`codemod` with a prefilter that accepts every file."""
    base = type(codemod)
    unfiltered = type(base.__name__, (base,), {"relevant": lambda self, file: True})
    clone = copy.copy(codemod)
    clone.__class__ = unfiltered
    return clone


def refusals_without_prefilter(case: Case, codemod: Codemod, root: Path) -> None:
    """The case reports the same refusals (details included) with and without the
    detector's prefilter, and changes nothing either way."""
    case.build(root)

    def seen(result: CodefixResult) -> list[tuple[str, int, str, str]]:
        return sorted((r.path, r.line or 0, str(r.reason), r.detail) for r in result.refusals)

    filtered = run_codemods(root, codemods=[codemod])
    unfiltered = run_codemods(root, codemods=[accept_everything(codemod)])
    assert seen(filtered) == seen(unfiltered)
    assert not filtered.changeset.edits and not unfiltered.changeset.edits
