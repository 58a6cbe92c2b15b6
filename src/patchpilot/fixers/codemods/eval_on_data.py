"""`eval-on-data` (Tier C): `eval` and `exec`, which run whatever code a string holds.

Every call of the builtins `eval` and `exec` (alias-aware: `builtins.eval`, `from builtins
import eval as e`; a local function or method of that name is not the builtin) is reported as a
`tier-c` refusal (fix-patterns.md #30). The detail depends on the code argument: not a string
literal (a name, a call, an f-string, a concatenation with data) is the dangerous case and
names the safer parsers; a string literal is still reported, as constant, and when the literal
is itself a Python literal (`eval("[1, 2]")`) the detail suggests `ast.literal_eval` or the
value itself. No rewrite is made even then: `ast.literal_eval` rejects names and calls with
`ValueError`, which changes the failure mode of the code around it. Test modules are reported
with the reason `test-file` (`eval(repr(x)) == x` round trips are common there).
"""

from __future__ import annotations

import ast
import warnings
from typing import ClassVar

import libcst as cst
import libcst.matchers as m

from patchpilot.fixers.codemods.interface import CodemodTransformer, FileContext, FileRun
from patchpilot.fixers.codemods.tier_c import (
    DetectorTransformer,
    TierCDetector,
    argument,
    literal_text,
)

_BUILTINS = {"builtins.eval": "eval", "builtins.exec": "exec"}
_DATA = {
    "eval": (
        "`eval` runs whatever Python expression the string holds, with this process's rights: if "
        "any part of it comes from a request, a file, a message, the environment or a database, "
        "that is code execution. No rewrite keeps the behaviour. Parse the data instead: "
        "`json.loads` for JSON, `ast.literal_eval` for Python literals (numbers, strings, "
        "tuples, lists, dicts, sets, booleans, None; it raises ValueError on names and calls, "
        "so the error handling around it changes), a dict of allowed names or functions for "
        "lookups, `operator` for arithmetic"
    ),
    "exec": (
        "`exec` runs whatever Python statements the string holds, with this process's rights: "
        "if any part of it comes from a request, a file, a message, the environment or a "
        "database, that is code execution. No rewrite keeps the behaviour. Replace it with "
        "code: a dict of allowed functions, `importlib.import_module` for plugins, a data "
        "format (`json`, `tomllib`) for configuration"
    ),
}
_SANDBOX = (
    "; an empty or trimmed `__builtins__` is no sandbox: the string can reach every class "
    "through `().__class__.__mro__`"
)


class EvalOnData(TierCDetector):
    """Report `eval` / `exec` calls: code built from data runs with the process's rights."""

    id: ClassVar[str] = "eval-on-data"
    cwe: ClassVar[tuple[int, ...]] = (94, 95)
    title: ClassVar[str] = "eval or exec of a string that may hold data (report only)"
    rules: ClassVar[tuple[str, ...]] = (
        "B307",
        "S307",
        "B102",
        "S102",
        "python.lang.security.audit.eval-detected.eval-detected",
        "eval-detected",
        "python.lang.security.audit.exec-detected.exec-detected",
        "exec-detected",
    )
    refuse_in_tests: ClassVar[bool] = True
    # A builtin is spelled `eval` / `exec` or imported from `builtins` by that name.
    hints: ClassVar[tuple[str, ...]] = ("eval", "exec")
    requires: ClassVar[tuple[tuple[str, ...], ...]] = (("eval", "exec"),)

    def relevant(self, file: FileContext) -> bool:
        # `exec` is also a word of `compile(..., "exec")` and of prose: look for calls. The
        # transformer matches calls spelled `eval(...)`, `exec(...)`, `x.eval(...)` or by an
        # alias (`from builtins import eval as e`).
        if not super().relevant(file):
            return False
        spellings = ("eval", "exec", *file.aliases)
        return any(file.calls_ending(word) != [] for word in spellings)

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


class _Transformer(DetectorTransformer):
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        # The builtins' spellings: `eval`, an alias of it, `builtins.eval` (`b.eval` after
        # `import builtins as b`); checked before any metadata, which `model.eval()` and the
        # like never need.
        if isinstance(func, cst.Name):
            if func.value not in ("eval", "exec") and func.value not in self.run.file.aliases:
                return
        elif not (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("eval", "exec")
            and isinstance(func.value, cst.Name)
            and (func.value.value == "builtins" or func.value.value in self.run.file.aliases)
        ):
            return
        names = self.qualified_names(func) & _BUILTINS.keys()
        if not names:
            return
        self.report(node, _detail(_BUILTINS[min(names)], node))


def _detail(builtin: str, call: cst.Call) -> str:
    code = argument(call, "source")
    sandbox = _SANDBOX if _names_builtins(call) else ""
    value = None if code is None else literal_text(code)
    if value is None:
        return f"{_DATA[builtin]}{sandbox}."
    constant = (
        f"The code is a constant string literal, so no outside data reaches this `{builtin}` "
        "today; it only hides code from linters and readers"
    )
    if builtin == "eval" and isinstance(value, str) and _is_literal(value):
        return (
            f"{constant}. It holds a Python literal: `ast.literal_eval` gives the same value "
            "without evaluating code, or write the value itself."
        )
    return f"{constant}: write the code itself instead of a string{sandbox}."


def _is_literal(text: str) -> bool:
    """Whether `ast.literal_eval` accepts `text` (then `eval` would return the same value)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.literal_eval(text.strip(" \t"))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _names_builtins(call: cst.Call) -> bool:
    """Whether the globals or locals given to the call mention `__builtins__` (an attempt at
    restricting what the code can reach)."""
    return any(
        isinstance(found, cst.SimpleString) and found.evaluated_value == "__builtins__"
        for arg in call.args[1:]
        for found in m.findall(arg.value, m.SimpleString())
    )
