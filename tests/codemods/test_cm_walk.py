"""The shortcuts that make a codemod run cheap agree with what they stand in for.

- `could_name` (and its `ast` twin behind `FileContext.calls`) rules a call out only when
  libcst cannot qualify it as the name asked for: checked against libcst's own qualified names
  for every call of real modules (pip's `_internal/utils`, as installed) and of every asset
  case.
- A `CodemodTransformer` without matcher decorators calls its own `visit_*` / `leave_*`
  methods directly and skips subtrees holding none of their node types; with those shortcuts
  off, libcst's generic walk must give the same rewrites and refusals, over every asset case
  and (slow) over a copy of pip.
- `scan_suppressions` skips tokenizing a file that holds no suppression word.
"""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import PositionProvider, QualifiedNameProvider

from patchpilot.fixers.codemods.engine import run_codemods
from patchpilot.fixers.codemods.interface import (
    Codemod,
    CodemodTransformer,
    FileContext,
    FileRun,
    could_name,
    scan_suppressions,
)
from patchpilot.fixers.codemods.registry import codemods

from .cases import Case
from .test_cm_prefilter import CASES, installed_copy, outcome


def pip_utils() -> list[Path]:
    spec = importlib.util.find_spec("pip")
    assert spec is not None
    assert spec.submodule_search_locations
    utils = Path(next(iter(spec.submodule_search_locations))) / "_internal" / "utils"
    found = sorted(utils.glob("*.py"))
    assert len(found) > 10
    return found


def calls_with_names(source: str) -> Iterator[tuple[cst.Call, int, set[str]]]:
    """Every call of `source` with its last line and libcst's qualified names of its function."""
    wrapper = cst.MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    names = wrapper.resolve(QualifiedNameProvider)
    positions = wrapper.resolve(PositionProvider)
    for node in names:
        if isinstance(node, cst.Call):
            found = wrapper.resolve(QualifiedNameProvider)[node.func]
            qualified = found() if callable(found) else found
            yield node, positions[node].end.line, {q.name for q in qualified}


@pytest.mark.parametrize(
    "path",
    [*pip_utils(), *(c.directory / "input.py" for c in CASES)],
    ids=lambda p: "/".join(Path(p).parts[-3:]),
)
def test_could_name_never_rules_out_a_name_libcst_gives(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    file = FileContext.build(path.parent, path.name, source)
    for call, last_line, names in calls_with_names(source):
        for name in names:
            assert could_name(call.func, name.split("."), file.aliases), (name, last_line)
            in_ast = file.calls([name])
            assert in_ast is not None
            assert last_line in {c.end_lineno for c in in_ast}, (name, last_line)


def test_could_name_rules_out_other_spellings() -> None:
    source = "import os\nimport tarfile\nfrom os import chmod as c\n"
    aliases = FileContext.build(Path(), "m.py", source).aliases
    assert aliases == {"c"}

    def expr(text: str) -> cst.BaseExpression:
        return cst.parse_expression(text)

    parts = ["os", "open"]
    assert could_name(expr("os.open"), parts, aliases)
    assert could_name(expr("open"), parts, aliases)  # `from os import open`
    assert could_name(expr("c"), parts, aliases)  # an alias may stand for anything
    assert could_name(expr("os.open(p).fileno"), ["os", "open", "fileno"], aliases)
    assert not could_name(expr("f().os.open"), parts, aliases)  # spelled `f.os.open`
    assert not could_name(expr("tarfile.open"), parts, aliases)
    assert not could_name(expr("self.path.open"), parts, aliases)
    assert not could_name(expr("os.fdopen"), parts, aliases)
    # libcst qualifies `super().__init__` and `" ".join` as the builtin they start with.
    assert could_name(expr("super().__init__"), ["builtins", "super"], aliases)


def libcst_walk(codemod: Codemod) -> Codemod:
    """`codemod` with its transformers on libcst's generic walk (every node visited, methods
    looked up by name, matcher bookkeeping on)."""

    def transformer(self: Codemod, run: FileRun) -> CodemodTransformer:
        made = type(codemod).transformer(self, run)
        made._hooks = None
        return made

    base = type(codemod)
    generic = type(base.__name__, (base,), {"transformer": transformer})
    clone = copy.copy(codemod)
    clone.__class__ = generic
    return clone


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fast_walk_matches_libcst_walk(case: Case, tmp_path: Path) -> None:
    root = case.build(tmp_path)
    fast = run_codemods(root)
    generic = run_codemods(root, codemods=[libcst_walk(c) for c in codemods()])
    assert outcome(fast) == outcome(generic)
    assert fast.changes or fast.refusals or case.want is None


@pytest.mark.slow
def test_fast_walk_matches_libcst_walk_on_pip(tmp_path: Path) -> None:
    root = installed_copy("pip", tmp_path)
    fast = run_codemods(root)
    generic = run_codemods(root, codemods=[libcst_walk(c) for c in codemods()])
    assert outcome(fast) == outcome(generic)
    assert fast.refusals


def test_scan_suppressions_reads_only_files_that_may_hold_one() -> None:
    assert scan_suppressions("import os\nos.chmod(p, 0o777)\n") == {}
    found = scan_suppressions("x = 1\nos.chmod(p, 0o777)  # NoSec B103\ns = '# noqa'\n")
    assert list(found) == [2]
    assert found[2].codes == {"B103"}
    assert scan_suppressions("y = 2  # pragma: no-remediate\n")[1].everything
