"""The helpers of the codemod interface every pattern shares: `reference` (spelling a name with
the file's imports), `append_arg` (format-preserving argument insertion) and the `Reason`
codes the patterns report.

`reference` is exercised through a small codemod written in this file against the real
interface and run by the real engine, so its answers also pass the engine's post-conditions
(compiles, idempotent, no new ruff F401/F821/F811).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import ClassVar

import libcst as cst
import pytest

import patchpilot.fixers.codemods as codemods_package
from patchpilot.fixers.codemods.engine import run_codemods
from patchpilot.fixers.codemods.interface import (
    Codemod,
    CodemodTransformer,
    FileRun,
    Reason,
    Tier,
    append_arg,
)

from .cases import load_cases

PYPROJECT = '[project]\nname = "t"\nversion = "0"\nrequires-python = ">=3.12"\n'


class _SpellTransformer(CodemodTransformer):
    def __init__(self, run: FileRun, module: str, name: str) -> None:
        super().__init__(run)
        self.wanted = (module, name)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not (isinstance(original_node.func, cst.Name) and original_node.func.value == "spell"):
            return updated_node
        spelled = self.reference(original_node, *self.wanted)
        if spelled is None:
            self.refuse(original_node, Reason.NAME_CONFLICT, "no free name")
            return updated_node
        self.changed(original_node, "spelled")
        return spelled


class Spell(Codemod):
    """Replaces each `spell()` call by `reference(call, module, name)`."""

    id: ClassVar[str] = "spell"
    cwe: ClassVar[tuple[int, ...]] = (0,)
    tier: ClassVar[Tier] = Tier.C
    title: ClassVar[str] = "test codemod: spells a name with the file's imports"
    rules: ClassVar[tuple[str, ...]] = ()

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _SpellTransformer(run, self.module, self.name)


def _spell(tmp_path: Path, source: str, module: str, name: str) -> str | None:
    """The file after the `Spell` codemod; None when it refused with `name-conflict`."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "m.py").write_text(source, encoding="utf-8")
    result = run_codemods(tmp_path, codemods=[Spell(module, name)])
    reasons = {r.reason for r in result.refusals}
    if reasons:
        assert reasons == {Reason.NAME_CONFLICT}, result.refusals
        assert not result.changeset.edits
        return None
    [edit] = result.changeset.edits
    return edit.after


@pytest.mark.parametrize(
    ("source", "module", "name", "expected"),
    [
        # The file's own import is reused, whatever its alias.
        ("import os\n\nx = spell()\n", "os", "environ", "import os\n\nx = os.environ\n"),
        (
            "import yaml as y\n\nx = spell()\n",
            "yaml",
            "SafeLoader",
            "import yaml as y\n\nx = y.SafeLoader\n",
        ),
        (
            "from os import environ as env\n\nx = spell()\n",
            "os",
            "environ",
            "from os import environ as env\n\nx = env\n",
        ),
        # A submodule imported from its package is the module's spelling.
        (
            "from lxml import etree\n\nx = spell()\n",
            "lxml.etree",
            "XMLParser",
            "from lxml import etree\n\nx = etree.XMLParser\n",
        ),
        (
            "from lxml import etree as ET\n\nx = spell()\n",
            "lxml.etree",
            "XMLParser",
            "from lxml import etree as ET\n\nx = ET.XMLParser\n",
        ),
        (
            "from cryptography.hazmat.primitives.asymmetric import ec\n\nx = spell()\n",
            "cryptography.hazmat.primitives.asymmetric.ec",
            "SECP256R1",
            "from cryptography.hazmat.primitives.asymmetric import ec\n\nx = ec.SECP256R1\n",
        ),
        (
            "import lxml.etree\n\nx = spell()\n",
            "lxml.etree",
            "XMLParser",
            "import lxml.etree\n\nx = lxml.etree.XMLParser\n",
        ),
        # Nothing to reuse: an import in the file's style.
        (
            "x = spell()\n",
            "lxml.etree",
            "XMLParser",
            "import lxml.etree\n\nx = lxml.etree.XMLParser\n",
        ),
        (
            "from yaml import load\n\nx = spell()\n",
            "yaml",
            "SafeLoader",
            "from yaml import SafeLoader, load\n\nx = SafeLoader\n",
        ),
        (
            "import os.path\n\nx = spell()\n",
            "os",
            "environ",
            "import os.path\nimport os\n\nx = os.environ\n",
        ),
        # A name bound by an import and by something else is not reused; the module is
        # imported under its own name when that is free.
        (
            "from os import environ\n\nsettings = dict(environ)\nenviron = {}\nx = spell()\n",
            "os",
            "environ",
            "from os import environ\nimport os\n\n"
            "settings = dict(environ)\nenviron = {}\nx = os.environ\n",
        ),
        # An import that exists for type checkers only does not exist at run time.
        (
            "from typing import TYPE_CHECKING\n\nfrom yaml import load\n\nif TYPE_CHECKING:\n"
            "    from yaml import SafeLoader\n\nx = spell()\n",
            "yaml",
            "SafeLoader",
            "from typing import TYPE_CHECKING\n\nfrom yaml import load\nimport yaml\n\n"
            "if TYPE_CHECKING:\n    from yaml import SafeLoader\n\nx = yaml.SafeLoader\n",
        ),
        # The module's name is a variable, a parameter or a string: no spelling is free.
        ("import platform\n\nos = platform.system()\nx = spell()\n", "os", "environ", None),
        ("import os\n\nos = os.getcwd()\nx = spell()\n", "os", "environ", None),
        ('tempfile = "scratch"\nx = spell()\n', "tempfile", "mkstemp", None),
        ("def f(yaml):\n    return spell()\n", "yaml", "SafeLoader", None),
        ("from platform import os\n\nx = spell()\n", "os", "environ", None),
    ],
)
def test_reference_spells_with_imports_of_the_module_only(
    tmp_path: Path, source: str, module: str, name: str, expected: str | None
) -> None:
    assert _spell(tmp_path, source, module, name) == expected


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("f()", "f(k=v)"),
        ("f(\n)", "f(k=v\n)"),
        ("f(  # c\n)", "f(k=v  # c\n)"),
        ("f(a, b)", "f(a, b, k=v)"),
        ("f( a )", "f( a, k=v )"),
        ("f(a , b)", "f(a , b , k=v)"),
        ("f(a, b,)", "f(a, b, k=v,)"),
        ("f(*a)", "f(*a, k=v)"),
        # One argument a line: the new one gets its own line, each comment stays put.
        ("f(\n    a,  # c1\n    b,  # c2\n)", "f(\n    a,  # c1\n    b,  # c2\n    k=v,\n)"),
        ("f(\n    a,  # c1\n    b  # c2\n)", "f(\n    a,  # c1\n    b,  # c2\n    k=v\n)"),
        ("f(a,\n  b)", "f(a,\n  b,\n  k=v)"),
        ("f(\n    a\n)", "f(\n    a,\n    k=v\n)"),
        ("f(  # c0\n    a,\n)", "f(  # c0\n    a,\n    k=v,\n)"),
        ("f(\n    a,\n\n    # lead\n    b,\n)", "f(\n    a,\n\n    # lead\n    b,\n    k=v,\n)"),
        (
            "f(\n    a,  # c1\n    b  # c2\n    # c3\n)",
            "f(\n    a,  # c1\n    b,  # c2\n    # c3\n    k=v\n)",
        ),
        # Arguments sharing a line: the new one joins it, before the comment ending it.
        ("f(a\n)", "f(a, k=v\n)"),
        ("f(a\n    )", "f(a, k=v\n    )"),
        ("f(a  # c\n)", "f(a, k=v  # c\n)"),
        ("f(a, b  # c\n)", "f(a, b, k=v  # c\n)"),
        ("f(a, b,  # c\n)", "f(a, b, k=v,  # c\n)"),
        ("f(\n    a, b,\n)", "f(\n    a, b, k=v,\n)"),
    ],
)
def test_append_arg_keeps_each_comment_on_its_line(before: str, after: str) -> None:
    call = cst.parse_expression(before)
    assert isinstance(call, cst.Call)
    got = cst.Module([]).code_for_node(append_arg(call, "k", cst.Name("v")))
    assert got == after
    compile(got, "<call>", "eval")


# -- reason codes ------------------------------------------------------------------------------


def _is_reason(expr: ast.expr, function: ast.AST | None) -> bool:
    """`Reason.X`, a conditional between such, or a local name only ever assigned those."""
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        return expr.value.id == "Reason" and expr.attr in Reason.__members__
    if isinstance(expr, ast.IfExp):
        return _is_reason(expr.body, function) and _is_reason(expr.orelse, function)
    if isinstance(expr, ast.Name) and function is not None:
        values = [
            node.value
            for node in ast.walk(function)
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == expr.id for t in node.targets)
        ]
        return bool(values) and all(_is_reason(v, None) for v in values)
    return False


def _reason_arguments(tree: ast.Module) -> list[tuple[int, ast.expr, ast.AST | None]]:
    """The reason argument of every `self.refuse(node, reason, detail)` and
    `Veto(reason, detail)`, with its line and enclosing function."""
    found: list[tuple[int, ast.expr, ast.AST | None]] = []

    def walk(node: ast.AST, function: ast.AST | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.FunctionDef) else function
            if isinstance(child, ast.Call):
                func = child.func
                if isinstance(func, ast.Attribute) and func.attr == "refuse" and child.args:
                    found.append((child.lineno, child.args[1], inner))
                elif isinstance(func, ast.Name) and func.id == "Veto" and child.args:
                    found.append((child.lineno, child.args[0], inner))
            walk(child, inner)

    walk(tree, None)
    return found


def test_every_reason_a_codemod_reports_is_a_reason_member() -> None:
    package = Path(codemods_package.__file__).parent
    checked = 0
    for module in sorted(package.glob("*.py")):
        if module.name in ("engine.py", "interface.py"):
            continue  # they pass on the codemods' reasons and their own, typed as `Veto`
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for line, reason, function in _reason_arguments(tree):
            checked += 1
            code = ast.unparse(reason)
            assert _is_reason(reason, function), f"{module.name}:{line}: reason `{code}`"
    assert checked >= 50


def test_every_reason_in_the_fixtures_is_a_reason_member() -> None:
    values = {str(r) for r in Reason}
    used = {reason for case in load_cases() for (_, _, reason) in case.refusals}
    assert used
    assert used <= values, used - values
