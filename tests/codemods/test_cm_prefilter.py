"""Prefilters (`Codemod.relevant`) decide which files a codemod runs on at all; they must never
hide a change or a refusal.

Every registered codemod runs twice over the same project — with its prefilter, and with one
that accepts every file — and the two runs must agree on every change, every codemod's
refusals and every rewritten text. The projects: each golden and refusal case under
tests/assets/codemods, and copies of pip and setuptools as installed in this virtualenv
(real, large code bases; copied to a temporary directory, the installed files are only read).
Engine-level refusals of a whole file (`parse-error`, `unreadable`) are made only for files
some codemod accepts, so the filtered run may have fewer of them, never others.
"""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import shutil
from pathlib import Path

import pytest

from patchpilot.fixers.codemods.engine import ALL_CODEMODS, CodefixResult, run_codemods
from patchpilot.fixers.codemods.interface import Codemod, FileContext, ProjectContext
from patchpilot.fixers.codemods.registry import codemods

from .cases import Case, load_cases

REGISTERED = {c.id for c in codemods()}
# Cases of codemods not (yet) in the registry are left to their own test modules.
CASES = [c for c in load_cases() if c.codemod in REGISTERED]


def accept_everything(codemod: Codemod) -> Codemod:
    """`codemod` (same class behaviour, same options) with a prefilter accepting every file."""
    base = type(codemod)
    unfiltered = type(base.__name__, (base,), {"relevant": lambda self, file: True})
    clone = copy.copy(codemod)
    clone.__class__ = unfiltered
    return clone


Outcome = tuple[
    list[tuple[str, str, int, str]],
    list[tuple[str, str, int, str, str]],
    dict[str, str | None],
]


def outcome(result: CodefixResult) -> Outcome:
    """Changes, codemods' refusals and rewritten texts of a run, in a comparable order."""
    changes = sorted((c.codemod, c.path, c.line, c.description) for c in result.changes)
    refusals = sorted(
        (r.codemod, r.path, r.line or 0, str(r.reason), r.detail)
        for r in result.refusals
        if r.codemod != ALL_CODEMODS
    )
    return changes, refusals, {e.path: e.after for e in result.changeset.edits}


def engine_refusals(result: CodefixResult) -> set[tuple[str, int, str]]:
    return {
        (r.path, r.line or 0, str(r.reason)) for r in result.refusals if r.codemod == ALL_CODEMODS
    }


def both_runs(root: Path) -> tuple[CodefixResult, CodefixResult]:
    filtered = run_codemods(root)
    unfiltered = run_codemods(root, codemods=[accept_everything(c) for c in codemods()])
    return filtered, unfiltered


def test_accept_everything_changes_only_the_prefilter() -> None:
    empty = FileContext.build(Path(), "empty.py", "")
    for codemod in codemods():
        clone = accept_everything(codemod)
        assert isinstance(clone, type(codemod))
        assert clone.id == codemod.id
        assert vars(clone) == vars(codemod)
        assert clone.relevant(empty)
        if codemod.hints:
            assert not codemod.relevant(empty)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_results_do_not_depend_on_prefilters(case: Case, tmp_path: Path) -> None:
    root = case.build(tmp_path)
    filtered, unfiltered = both_runs(root)
    assert outcome(filtered) == outcome(unfiltered)
    assert engine_refusals(filtered) <= engine_refusals(unfiltered)
    # The case's own codemod found what the case is about through its prefilter.
    own = filtered.counts[case.codemod]
    assert own.changes or own.refusals or case.want is None


def installed_copy(name: str, dest: Path, *, vendored: bool = False) -> Path:
    """The installed package `name` copied as a project of its own, with the
    `requires-python` its metadata declares; its vendored copies of other projects
    (`_vendor/`) only when `vendored`, which keeps the slow tests within the suite's budget."""
    spec = importlib.util.find_spec(name)
    assert spec is not None
    assert spec.submodule_search_locations
    source = Path(next(iter(spec.submodule_search_locations)))
    root = dest / name
    skipped = ("__pycache__",) if vendored else ("__pycache__", "_vendor")
    shutil.copytree(source, root / name, ignore=shutil.ignore_patterns(*skipped))
    meta = importlib.metadata.metadata(name)
    requires = (meta.get_all("Requires-Python") or [""])[0]
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "{meta["Version"]}"\n'
        f'requires-python = "{requires}"\n',
        encoding="utf-8",
    )
    return root


@pytest.mark.slow
@pytest.mark.parametrize("package", ["pip"])
def test_site_packages_results_do_not_depend_on_prefilters(package: str, tmp_path: Path) -> None:
    root = installed_copy(package, tmp_path)
    filtered, unfiltered = both_runs(root)
    assert outcome(filtered) == outcome(unfiltered)
    assert engine_refusals(filtered) <= engine_refusals(unfiltered)
    assert filtered.files_scanned == unfiltered.files_scanned > 100
    # The prefilters do their job: most file-codemod pairs are never parsed for.
    project = ProjectContext.load(root)
    pairs = accepted = 0
    for rel in project.python_files():
        text = project.read(rel)
        if text is None:
            continue
        file = FileContext.build(root, rel, text)
        for codemod in codemods():
            pairs += 1
            accepted += codemod.relevant(file)
    assert accepted * 10 < pairs
