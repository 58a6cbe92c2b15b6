"""`world-writable-mode`: file modes that let every local user write.

`os.chmod` / `lchmod` / `fchmod`, `os.mkdir` / `makedirs` / `open` and `pathlib.Path`'s
`chmod` / `lchmod` / `mkdir` with a mode that has the others-write bit (`0o002`) get that bit
cleared: `0o777` becomes `0o775`, written in the base the source used, and in a `|` of `stat`
constants `S_IWOTH` is dropped and `S_IRWXO` becomes `S_IROTH | S_IXOTH`. Tier B: a user or
service outside the owner and group that wrote there stops being able to. Refused: modes that
are not literals (`non-literal-mode`), expressions patchpilot does not evaluate
(`unevaluable-mode`: anything but `|` of integers and `stat` permission constants), and
sticky-bit modes (`0o1777`: a shared directory such as /tmp, world-writable by design).
"""

from __future__ import annotations

import ast
import re
from typing import ClassVar

import libcst as cst

from patchpilot.fixers.codemods.interface import (
    Codemod,
    CodemodTransformer,
    FileContext,
    FileRun,
    Reason,
    Tier,
    find_arg,
    positional,
    replace_arg,
)

# Where the mode sits: positional index (it is also accepted as `mode=`).
_FUNCTIONS = {
    "os.chmod": 1,
    "os.lchmod": 1,
    "os.fchmod": 1,
    "os.mkdir": 1,
    "os.makedirs": 1,
    "os.open": 2,
}
_OS_NAMES = frozenset(name.rsplit(".", 1)[1] for name in _FUNCTIONS) - {"open"}
# Between two tokens: spaces, line breaks, continuations, comments (inside brackets).
_GAP = r"(?:\s|\\|#[^\r\n]*+)*+"
# `os.open` spelled `<module>.open` or imported by `from os import ... open`.
_OS_OPEN = re.compile(rf"\.{_GAP}open\b|\bfrom{_GAP}os{_GAP}import\b")
_CREATES = frozenset({"os.mkdir", "os.makedirs", "os.open", "mkdir"})
_PATH_METHODS = {"chmod": 0, "lchmod": 0, "mkdir": 0}
_PATH_ORIGINS = frozenset(
    f"pathlib.{cls}{ctor}"
    for cls in ("Path", "PosixPath", "WindowsPath")
    for ctor in ("", ".home", ".cwd")
)
# The permission bits of the `stat` module (POSIX values, the same on every platform).
_STAT = {
    f"stat.{name}": value
    for name, value in {
        "S_ISUID": 0o4000,
        "S_ISGID": 0o2000,
        "S_ISVTX": 0o1000,
        "S_IRWXU": 0o700,
        "S_IRUSR": 0o400,
        "S_IWUSR": 0o200,
        "S_IXUSR": 0o100,
        "S_IREAD": 0o400,
        "S_IWRITE": 0o200,
        "S_IEXEC": 0o100,
        "S_IRWXG": 0o070,
        "S_IRGRP": 0o040,
        "S_IWGRP": 0o020,
        "S_IXGRP": 0o010,
        "S_IRWXO": 0o007,
        "S_IROTH": 0o004,
        "S_IWOTH": 0o002,
        "S_IXOTH": 0o001,
    }.items()
}
OTHERS_WRITE = 0o002
STICKY = 0o1000


def _passes_mode(call: ast.Call, index: int) -> bool:
    """Whether an `ast` call gives a mode: `mode=`, or a positional argument at `index`."""
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    return len(positional) > index or any(k.arg == "mode" for k in call.keywords)


def format_like(original: str, value: int) -> str:
    """`value` written like the integer literal `original`: same base, prefix case, hex digit
    case and at least as many digits (`0o0777` → `0o0775`, `0x1FF` → `0x1FD`, `511` → `509`)."""
    text = original.replace("_", "")
    if len(text) > 2 and text[0] == "0" and text[1] in "oOxXbB":
        prefix, digits = text[:2], text[2:]
        body = format(value, prefix[1].lower())
        if any(c.isupper() for c in digits):
            body = body.upper()
        return prefix + body.zfill(len(digits))
    return str(value)


class WorldWritableMode(Codemod):
    """Clear the others-write bit of literal file and directory modes."""

    id: ClassVar[str] = "world-writable-mode"
    cwe: ClassVar[tuple[int, ...]] = (732,)
    tier: ClassVar[Tier] = Tier.B
    title: ClassVar[str] = "Do not make files or directories world-writable"
    rules: ClassVar[tuple[str, ...]] = (
        "B103",
        "S103",
        "python.lang.security.audit.insecure-file-permissions.insecure-file-permissions",
        "insecure-file-permissions",
    )
    hints: ClassVar[tuple[str, ...]] = ("chmod", "mkdir", "makedirs", "open")

    def relevant(self, file: FileContext) -> bool:
        # A call passing a mode to an `os` function (`os.chmod`, however imported; `open`
        # only as an attribute or imported from `os`: the builtin is everywhere) or to a
        # `pathlib` path's method.
        os_call = (
            file.mentions(*_OS_NAMES) or bool(_OS_OPEN.search(file.source))
        ) and file.may_resolve("os")
        path_call = file.mentions(*_PATH_METHODS) and file.may_resolve("pathlib")
        if not os_call and not path_call:
            return False
        if os_call:
            for name, index in _FUNCTIONS.items():
                calls = file.calls([name])
                if calls is None or any(_passes_mode(c, index) for c in calls):
                    return True
        if path_call:
            calls = file.calls([f"pathlib.Path.{method}" for method in _PATH_METHODS])
            return calls is None or any(
                isinstance(c.func, ast.Attribute) and _passes_mode(c, 0) for c in calls
            )
        return False

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


class _Transformer(CodemodTransformer):
    def _target(self, call: cst.Call) -> tuple[str, int] | None:
        """The function (`os.chmod`, or the Path method name) and the mode's position."""
        found = self.call_name(call, _FUNCTIONS.keys())
        if found is not None:
            return found, _FUNCTIONS[found]
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in _PATH_METHODS:
            origins = self.origin_calls(func.value)
            if origins and origins <= _PATH_ORIGINS:
                return func.attr.value, _PATH_METHODS[func.attr.value]
        return None

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        target = self._target(original_node)
        if target is None:
            return updated_node
        function, index = target
        keyword = find_arg(original_node, "mode")
        args = positional(original_node)
        given = keyword if keyword is not None else (args[index] if len(args) > index else None)
        if given is None:
            return updated_node  # the default mode, masked by the umask
        mode = given.value
        value = self._evaluate(mode)
        if isinstance(value, int) and not value & OTHERS_WRITE:
            return updated_node
        if not self.may_change(original_node):
            return updated_node
        code = self.module.code_for_node(mode)
        if value == Reason.NON_LITERAL_MODE:
            self.refuse(
                original_node,
                Reason.NON_LITERAL_MODE,
                f"the mode `{code}` depends on a variable or call: patchpilot cannot tell "
                "which bits it sets at run time; review it by hand",
            )
            return updated_node
        if not isinstance(value, int):
            self.refuse(
                original_node,
                Reason.UNEVALUABLE_MODE,
                f"the mode `{code}` is an expression patchpilot does not evaluate (only `|` of "
                "integers and `stat` permission constants)",
            )
            return updated_node
        if value & STICKY:
            self.refuse(
                original_node,
                Reason.STICKY_DIRECTORY,
                f"the mode `{code}` sets the sticky bit: a shared directory (like /tmp) that "
                "is world-writable by design",
            )
            return updated_node
        new_mode = self._cleared(original_node, mode)
        if new_mode is None:
            self.refuse(original_node, Reason.NAME_CONFLICT, "no free name for a `stat` constant")
            return updated_node
        new_code = self.module.code_for_node(new_mode)
        note = " (the umask still applies)" if function in _CREATES else ""
        self.changed(
            original_node,
            f"mode `{code}` → `{new_code}`: others can no longer write{note}",
        )
        if keyword is not None:
            return replace_arg(updated_node, "mode", new_mode)
        position = original_node.args.index(given)
        new_args = list(updated_node.args)
        new_args[position] = new_args[position].with_changes(value=new_mode)
        return updated_node.with_changes(args=new_args)

    def _evaluate(self, expr: cst.BaseExpression) -> int | Reason:
        """The mode's value, or why it has none: `non-literal-mode` when a variable, call or
        attribute other than a `stat` constant takes part, `unevaluable-mode` for operators
        other than `|`."""
        if isinstance(expr, cst.Integer):
            return int(expr.value, 0)
        if isinstance(expr, cst.Name | cst.Attribute):
            found = sorted(self.qualified_names(expr) & _STAT.keys())
            return _STAT[found[0]] if found else Reason.NON_LITERAL_MODE
        if isinstance(expr, cst.BinaryOperation):
            left, right = self._evaluate(expr.left), self._evaluate(expr.right)
            if Reason.NON_LITERAL_MODE in (left, right):
                return Reason.NON_LITERAL_MODE
            if isinstance(expr.operator, cst.BitOr) and isinstance(left, int):
                return left | right if isinstance(right, int) else Reason.UNEVALUABLE_MODE
            return Reason.UNEVALUABLE_MODE
        if isinstance(expr, cst.UnaryOperation):
            inner = self._evaluate(expr.expression)
            return (
                Reason.NON_LITERAL_MODE
                if inner == Reason.NON_LITERAL_MODE
                else Reason.UNEVALUABLE_MODE
            )
        return Reason.NON_LITERAL_MODE

    def _cleared(self, site: cst.Call, expr: cst.BaseExpression) -> cst.BaseExpression | None:
        """`expr` (an evaluable mode) without the others-write bit; None on a name clash."""
        try:
            fixed = self._clear(site, expr)
        except _NoName:
            return None
        return cst.Integer("0o000") if fixed is None else fixed

    def _clear(self, site: cst.Call, expr: cst.BaseExpression) -> cst.BaseExpression | None:
        # Returns None when the operand contributed only others-write and must go.
        if isinstance(expr, cst.Integer):
            value = int(expr.value, 0)
            if not value & OTHERS_WRITE:
                return expr
            return expr.with_changes(value=format_like(expr.value, value & ~OTHERS_WRITE))
        if isinstance(expr, cst.BinaryOperation):
            left, right = self._clear(site, expr.left), self._clear(site, expr.right)
            if left is None or right is None:
                return right if left is None else left
            return expr.with_changes(left=left, right=right)
        names = self.qualified_names(expr) & _STAT.keys()
        if "stat.S_IWOTH" in names:
            if isinstance(expr, cst.Name):
                self.remove_unused_import_by_node(expr)
            return None
        if "stat.S_IRWXO" in names:
            read = self.reference(site, "stat", "S_IROTH")
            execute = self.reference(site, "stat", "S_IXOTH")
            if read is None or execute is None:
                raise _NoName
            if isinstance(expr, cst.Name):
                self.remove_unused_import_by_node(expr)
            return cst.BinaryOperation(
                left=read,
                operator=cst.BitOr(),
                right=execute,
                lpar=list(expr.lpar),
                rpar=list(expr.rpar),
            )
        return expr


class _NoName(Exception):
    """No spelling of a `stat` constant is free at the call."""
