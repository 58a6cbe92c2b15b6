"""`subprocess-shell-false`: `shell=True` with a constant command string.

When the command is a string literal with no shell metacharacter (A.7's `SHELL_META` set) and
its first word is no shell builtin or keyword, `sh -c CMD` and running the split argument list
directly execute the same program with the same arguments; the literal becomes a list literal
and `shell=True` goes. Refused: metacharacters or a builtin (the shell does the work), a list
argv (`shell=True` passes its extra items to `sh` as positional parameters: dropping it changes
what runs, a reviewed change), a non-literal command, `executable=` (it replaces the shell),
and `*args` / `**kwargs`.
"""

from __future__ import annotations

import ast
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
    remove_arg,
    splat,
    string_value,
)

_CALLS = frozenset(
    f"subprocess.{name}" for name in ("run", "call", "check_call", "check_output", "Popen")
)

# A.7: any of these makes `sh -c` do something an argv list would not.
SHELL_META = frozenset("|&;<>()$`\\\"'*?[]#~=%{}\n\r")

# POSIX and bash builtins and keywords (run by `sh` itself, or behaving differently from the
# program of the same name), and cmd.exe builtins for Windows-targeted code.
SHELL_BUILTINS = frozenset(
    {
        ".", ":", "!", "[", "[[", "{", "alias", "bg", "bind", "break", "builtin", "caller",
        "case", "cd", "command", "compgen", "complete", "continue", "declare", "dirs",
        "disown", "do", "done", "echo", "elif", "else", "enable", "esac", "eval", "exec",
        "exit", "export", "false", "fc", "fg", "fi", "for", "function", "getopts", "hash",
        "help", "history", "if", "in", "jobs", "kill", "let", "local", "logout", "mapfile",
        "popd", "printf", "pushd", "pwd", "read", "readarray", "readonly", "return",
        "select", "set", "shift", "shopt", "source", "suspend", "test", "then", "time",
        "times", "trap", "true", "type", "typeset", "ulimit", "umask", "unalias", "unset",
        "until", "wait", "while",
        # cmd.exe
        "assoc", "call", "chdir", "cls", "color", "copy", "del", "dir", "endlocal", "erase",
        "ftype", "goto", "md", "mklink", "move", "path", "pause", "prompt", "rd", "rem",
        "ren", "setlocal", "start", "title", "ver", "vol",
    }
)  # fmt: skip


class SubprocessShellFalse(Codemod):
    """Run constant commands without a shell."""

    id: ClassVar[str] = "subprocess-shell-false"
    cwe: ClassVar[tuple[int, ...]] = (78,)
    tier: ClassVar[Tier] = Tier.A
    title: ClassVar[str] = "Run constant commands without a shell"
    rules: ClassVar[tuple[str, ...]] = (
        "B602",
        "S602",
        "subprocess-shell-true",
        "python.lang.security.audit.subprocess-shell-true.subprocess-shell-true",
    )
    hints: ClassVar[tuple[str, ...]] = ("subprocess",)

    # Only calls with a literal `shell=True` keyword are candidates.
    requires: ClassVar[tuple[tuple[str, ...], ...]] = (
        tuple(name.rsplit(".", 1)[1] for name in _CALLS),
        ("shell",),
        ("True",),
    )
    modules: ClassVar[tuple[str, ...]] = ("subprocess",)

    def relevant(self, file: FileContext) -> bool:
        if not super().relevant(file):
            return False
        calls = file.calls(_CALLS)
        return calls is None or any(
            k.arg == "shell" and isinstance(k.value, ast.Constant) and k.value.value is True
            for c in calls
            for k in c.keywords
        )

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


def _is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


class _Transformer(CodemodTransformer):
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if self.call_name(original_node, _CALLS) is None:
            return updated_node
        shell = find_arg(original_node, "shell")
        if shell is None or not _is_true(shell.value):
            return updated_node
        if not self.may_change(original_node):
            return updated_node
        star = splat(original_node)
        if star is not None:
            self.refuse(
                original_node,
                Reason.KWARGS_SPLAT if star == "**" else Reason.ARGS_SPLAT,
                f"the call passes `{star}` arguments, which may set `executable` or the command",
            )
            return updated_node
        if find_arg(original_node, "executable") is not None:
            self.refuse(
                original_node,
                Reason.EXECUTABLE_SET,
                "`executable=` replaces the shell that runs the command; without the shell it "
                "would replace the program instead",
            )
            return updated_node
        args = positional(original_node)
        command = args[0] if args else find_arg(original_node, "args")
        if command is None:
            return updated_node
        if isinstance(command.value, cst.List | cst.Tuple):
            self.refuse(
                original_node,
                Reason.SHELL_LIST_ARGV,
                "with shell=True only the first list item is the command and the rest become "
                "the shell's $0, $1…; dropping shell=True changes what runs (a reviewed change)",
            )
            return updated_node
        text = string_value(command.value)
        if text is None:
            self.refuse(
                original_node,
                Reason.NOT_A_LITERAL,
                "the command is not a string literal, so patchpilot cannot split it safely",
            )
            return updated_node
        meta = sorted(set(text) & SHELL_META)
        if meta:
            shown = " ".join(repr(c)[1:-1] for c in meta)
            self.refuse(
                original_node,
                Reason.SHELL_METACHARACTERS,
                f"the command uses shell syntax ({shown}); only the shell interprets it",
            )
            return updated_node
        words = text.split()
        if not words:
            self.refuse(original_node, Reason.EMPTY_COMMAND, "the command string is empty")
            return updated_node
        if words[0] in SHELL_BUILTINS:
            self.refuse(
                original_node,
                Reason.SHELL_BUILTIN,
                f"`{words[0]}` is a shell builtin or keyword; without a shell it would fail "
                "or run a different program",
            )
            return updated_node
        quote = _quote(command.value)
        argv = cst.List(
            [cst.Element(cst.SimpleString(f"{quote}{w}{quote}")) for w in words[:-1]]
            + [cst.Element(cst.SimpleString(f"{quote}{words[-1]}{quote}"))],
            lbracket=cst.LeftSquareBracket(),
            rbracket=cst.RightSquareBracket(),
        )
        argv = argv.with_changes(
            elements=[
                e.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                for e in argv.elements[:-1]
            ]
            + [argv.elements[-1]]
        )
        index = original_node.args.index(command)
        new_args = list(updated_node.args)
        new_args[index] = new_args[index].with_changes(value=argv)
        self.changed(original_node, f"`{text}` run as {len(words)}-item argv without a shell")
        return remove_arg(updated_node.with_changes(args=new_args), "shell")


def _quote(node: cst.BaseExpression) -> str:
    # Keep the file's quote style; the split words hold no quotes or backslashes (SHELL_META).
    first = node
    while isinstance(first, cst.ConcatenatedString):
        first = first.left
    if isinstance(first, cst.SimpleString) and first.quote in ("'", '"'):
        return first.quote
    return '"'
