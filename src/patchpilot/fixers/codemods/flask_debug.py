"""`flask-debug-env`: the Werkzeug debugger (remote code execution) switched on in code.

`app.run(debug=True)` on a Flask app and Werkzeug's `run_simple(..., use_debugger=True)` get
`os.environ.get("FLASK_DEBUG") == "1"` instead of `True` (Flask's own switch), with `os`
spelled as the file imports it or imported. Tier A-: the debugger stays available to a
developer who sets `FLASK_DEBUG=1`, but the local workflow changes. Only development entry
points are touched: calls under `if __name__ == "__main__":` (directly or in a function that
guard calls) or in a module named like a dev entry (`__main__.py`, `run.py`, `dev.py`,
`devserver.py`, `run_*.py`, `dev_*.py`, `*_dev.py`…). Refused: a `.run` receiver that is not
built by `flask.Flask(...)` in the same file, a debug value that is neither a literal nor read
from the environment, calls outside a development entry point, and a file where `os` names
something else.
"""

from __future__ import annotations

import ast
import re
from pathlib import PurePosixPath
from typing import ClassVar

import libcst as cst
import libcst.matchers as m

from patchpilot.fixers.codemods.interface import (
    Codemod,
    CodemodTransformer,
    FileContext,
    FileRun,
    Reason,
    Tier,
    find_arg,
    names_in,
    positional,
)

_FLASK = frozenset({"flask.Flask", "flask.app.Flask"})
_RUN_SIMPLE = frozenset({"werkzeug.serving.run_simple", "werkzeug.run_simple"})
_DEV_STEMS = frozenset(
    {"__main__", "run", "dev", "develop", "devserver", "runserver", "rundev", "debug", "local"}
)
_ENV_WORDS = frozenset({"environ", "getenv"})
# Between the tokens of a call argument: spaces, line breaks, continuations, comments.
_GAP = r"(?:\s|\\|#[^\r\n]*+)*+"
# `debug=True` as a keyword argument (the value may be parenthesized).
_DEBUG_TRUE = re.compile(rf"\bdebug{_GAP}=(?:{_GAP}\()*+{_GAP}True\b")
_MAIN_TEST = m.Comparison(
    left=m.Name("__name__"),
    comparisons=[m.ComparisonTarget(operator=m.Equal(), comparator=m.SimpleString())],
) | m.Comparison(
    left=m.SimpleString(),
    comparisons=[m.ComparisonTarget(operator=m.Equal(), comparator=m.Name("__name__"))],
)


def _passes(call: ast.Call, keyword: str, index: int) -> bool:
    """Whether an `ast` call gives an argument as `keyword=` or at position `index`."""
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    return len(positional) > index or any(k.arg == keyword for k in call.keywords)


def _debug_true(call: ast.Call) -> bool:
    """Whether an `ast` call spells out `debug=True`."""
    return any(
        k.arg == "debug" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in call.keywords
    )


def is_dev_entry(path: str) -> bool:
    """Whether a module's name marks it as a development entry point."""
    stem = PurePosixPath(path).stem.lower()
    return (
        stem in _DEV_STEMS
        or stem.startswith(("dev_", "run_"))
        or stem.endswith(("_dev", "_devserver"))
    )


def _is_main_guard(node: cst.CSTNode) -> bool:
    if not isinstance(node, cst.If) or not m.matches(node.test, _MAIN_TEST):
        return False
    strings = [s for s in m.findall(node.test, m.SimpleString()) if isinstance(s, cst.SimpleString)]
    return any(s.evaluated_value == "__main__" for s in strings)


class FlaskDebugEnv(Codemod):
    """Take Flask's debug switch from `FLASK_DEBUG` instead of hard-coding it on."""

    id: ClassVar[str] = "flask-debug-env"
    cwe: ClassVar[tuple[int, ...]] = (94, 489)
    tier: ClassVar[Tier] = Tier.A_MINUS
    title: ClassVar[str] = "Enable the Flask debugger only through FLASK_DEBUG"
    rules: ClassVar[tuple[str, ...]] = (
        "B201",
        "S201",
        "debug-enabled",
        "python.flask.security.audit.debug-enabled.debug-enabled",
    )
    hints: ClassVar[tuple[str, ...]] = ("run",)

    def relevant(self, file: FileContext) -> bool:
        # `run_simple(...)`, or `.run(...)` on an app built by `flask.Flask` (any debug value
        # is then judged) or with `debug=True` spelled out (refused on another receiver).
        if file.mentions("run_simple") and file.may_resolve("werkzeug"):
            calls = file.calls(_RUN_SIMPLE)
            if calls is None or any(_passes(c, "use_debugger", 4) for c in calls):
                return True
        if not file.mentions("run"):
            return False
        flask_app = file.mentions("Flask") and file.may_resolve("flask")
        if not flask_app and not _DEBUG_TRUE.search(file.source):
            return False
        calls = file.calls_ending("run")
        return calls is None or any(
            isinstance(c.func, ast.Attribute)
            and ((flask_app and _passes(c, "debug", 2)) or _debug_true(c))
            for c in calls
        )

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


class _Transformer(CodemodTransformer):
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if self.call_name(original_node, _RUN_SIMPLE):
            keyword, index, flask_run = "use_debugger", 4, False
        elif isinstance(func, cst.Attribute) and func.attr.value == "run":
            keyword, index, flask_run = "debug", 2, True
        else:
            return updated_node
        arg = find_arg(original_node, keyword)
        if arg is None:
            args = positional(original_node)
            arg = args[index] if len(args) > index else None
        if arg is None:
            return updated_node
        value = arg.value
        literal_true = m.matches(value, m.Name("True"))
        if not literal_true and (
            m.matches(value, m.Name("False") | m.Name("None") | m.Integer("0"))
            or _ENV_WORDS & set(names_in(value))
        ):
            return updated_node
        flask_app = flask_run and self._flask_receiver(func)
        if flask_run and not flask_app and (not literal_true or arg.keyword is None):
            # Neither a known app nor `debug=True` spelled out: `x.run(a, b, True)` is any
            # method named run, and nothing flags a non-literal on an unknown receiver.
            return updated_node
        if not self.may_change(original_node):
            return updated_node
        if flask_run and not flask_app:
            receiver = (
                self.module.code_for_node(func.value) if isinstance(func, cst.Attribute) else "?"
            )
            self.refuse(
                original_node,
                Reason.UNKNOWN_RECEIVER,
                f"`{receiver}` is not built by `flask.Flask(...)` in this file; patchpilot "
                "cannot tell that `.run` starts a Flask development server",
            )
            return updated_node
        if not literal_true:
            code = self.module.code_for_node(value)
            self.refuse(
                original_node,
                Reason.NOT_A_LITERAL,
                f"`{keyword}={code}` is not the literal `True` and not read from the "
                "environment; patchpilot cannot tell when the debugger is on",
            )
            return updated_node
        if not self._dev_entry(original_node):
            self.refuse(
                original_node,
                Reason.NOT_DEV_ENTRY,
                'the call is neither under `if __name__ == "__main__":` nor in a development '
                "entry module; the server may run this way in production, so changing it is "
                "left to review",
            )
            return updated_node
        environ = self.reference(original_node, "os", "environ")
        if environ is None:
            self.refuse(
                original_node,
                Reason.NAME_CONFLICT,
                "`os` names something other than the os module here; no free name for `os.environ`",
            )
            return updated_node
        spelled = cst.Module([]).code_for_node(environ)
        switch = cst.parse_expression(f'{spelled}.get("FLASK_DEBUG") == "1"')
        self.changed(
            original_node, f'`{keyword}=True` → `{keyword}={spelled}.get("FLASK_DEBUG") == "1"`'
        )
        index_of = original_node.args.index(arg)
        new_args = list(updated_node.args)
        new_args[index_of] = new_args[index_of].with_changes(value=switch)
        return updated_node.with_changes(args=new_args)

    def _flask_receiver(self, func: cst.BaseExpression) -> bool:
        if not isinstance(func, cst.Attribute):
            return False
        origins = self.origin_calls(func.value)
        return bool(origins) and origins <= _FLASK

    def _dev_entry(self, node: cst.CSTNode) -> bool:
        """Under a `__main__` guard, in a module-level function such a guard calls, or in a
        development entry module."""
        if is_dev_entry(self.run.file.path):
            return True
        child: cst.CSTNode = node
        outermost: str | None = None
        parent = self.parent(child)
        while parent is not None:
            if _is_main_guard(parent) and isinstance(parent, cst.If) and parent.body is child:
                return True
            if isinstance(parent, cst.FunctionDef) and isinstance(self.parent(parent), cst.Module):
                outermost = parent.name.value
            child, parent = parent, self.parent(parent)
        return outermost is not None and self._guard_calls(outermost)

    def _guard_calls(self, function: str) -> bool:
        for statement in self.module.body:
            if _is_main_guard(statement) and isinstance(statement, cst.If):
                for call in m.findall(statement.body, m.Call(func=m.Name(function))):
                    if isinstance(call, cst.Call):
                        return True
        return False
