"""`secure-tempfile`: `tempfile.mktemp`, a temporary path another process can claim first.

`mktemp` only picks a name: between that and the code creating the file, an attacker can create
it (or a symlink there) and have the program write through it. `p = tempfile.mktemp(...)` as a
statement of its own becomes `fd, p = tempfile.mkstemp(...)` followed by `os.close(fd)`:
the file is created atomically (`O_EXCL`, mode 0600) and its name kept. The arguments carry
over unchanged: `mktemp(suffix, prefix, dir)` and `mkstemp(suffix, prefix, dir, text)` take
the same first three in the same order with equivalent defaults. Tier B: the file now exists
(empty) and its path is absolute. Refused: a path the same code then needs to be absent
(`mkdir`, `mkfifo`, binding a UNIX socket, `os.rename`, existence checks, exclusive `open`),
and a `mktemp` that is not the whole right-hand side of a one-target assignment on a line of
its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import libcst as cst
import libcst.matchers as m

from patchpilot.fixers.codemods.interface import (
    Codemod,
    CodemodTransformer,
    FileRun,
    Reason,
    Tier,
    find_arg,
    positional,
    string_value,
)

_MKTEMP = frozenset({"tempfile.mktemp"})
# Calls that need the path to be absent (or behave differently once it exists).
_ABSENT_FUNCTIONS = {
    "os.mkdir": "creates a directory at it",
    "os.makedirs": "creates a directory at it",
    "os.mkfifo": "creates a FIFO at it",
    "os.mknod": "creates a special file at it",
    "os.symlink": "creates a link at it",
    "os.link": "creates a link at it",
    "os.rename": "renames onto or from it (fails on Windows when the target exists)",
    "os.path.exists": "checks whether it exists",
    "os.path.lexists": "checks whether it exists",
    "os.path.isfile": "checks whether it exists",
    "os.path.isdir": "checks whether it is a directory",
    "shutil.copytree": "copies a tree to it (fails when it exists)",
}
_PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})
_ABSENT_PATH_METHODS = {
    "mkdir": "creates a directory at it",
    "exists": "checks whether it exists",
    "is_file": "checks whether it exists",
    "is_dir": "checks whether it is a directory",
    "symlink_to": "creates a link at it",
    "hardlink_to": "creates a link at it",
}
_FD_NAMES = ("fd", "tmp_fd", "temp_fd", *(f"fd_{n}" for n in range(1, 100)))


class SecureTempfile(Codemod):
    """Create temporary files with `mkstemp` instead of naming them with `mktemp`."""

    id: ClassVar[str] = "secure-tempfile"
    cwe: ClassVar[tuple[int, ...]] = (377,)
    tier: ClassVar[Tier] = Tier.B
    title: ClassVar[str] = "Create temporary files with mkstemp instead of mktemp"
    rules: ClassVar[tuple[str, ...]] = (
        "B306",
        "S306",
        "python.lang.correctness.tempfile.mktemp.tempfile-insecure",
        "tempfile-insecure",
    )
    hints: ClassVar[tuple[str, ...]] = ("mktemp",)

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


@dataclass(frozen=True, slots=True)
class _Site:
    call: cst.Call
    fd: str
    description: str


class _Transformer(CodemodTransformer):
    def __init__(self, run: FileRun) -> None:
        super().__init__(run)
        self._sites: dict[cst.SimpleStatementLine, _Site] = {}
        self._names: set[str] | None = None

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if self.call_name(original_node, _MKTEMP) is None:
            return updated_node
        if not self.may_change(original_node):
            return updated_node
        assign = self.parent(original_node)
        line = self.parent(assign) if assign is not None else None
        target = _single_name_target(assign, original_node)
        if target is None:
            self.refuse(
                original_node,
                Reason.NOT_SIMPLE_ASSIGNMENT,
                "`mktemp` is not the whole right-hand side of a one-name assignment "
                "(`p = tempfile.mktemp(...)`), so there is no place for the file descriptor; "
                "rewrite it by hand",
            )
            return updated_node
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
            self.refuse(
                original_node,
                Reason.COMPOUND_STATEMENT,
                "the assignment shares its line with other statements; split the line first",
            )
            return updated_node
        need = self._absent_use(target)
        if need is not None:
            where, what = need
            self.refuse(
                original_node,
                Reason.NEEDS_ABSENT_PATH,
                f"`{target.value}` must not exist yet at line {where}, which {what}; "
                "`mkstemp` would already have created the file"
                + ("; use `tempfile.mkdtemp` for a directory" if "directory at" in what else ""),
            )
            return updated_node
        fd = self._fresh_name()
        if fd is None:
            self.refuse(original_node, Reason.NAME_CONFLICT, "no free name for the descriptor")
            return updated_node
        described = f"`mktemp` → `mkstemp`: the file is created empty (mode 0600), `{fd}` closed"
        if find_arg(original_node, "dir") is not None or len(positional(original_node)) >= 3:
            described += "; the returned path is absolute even for a relative `dir`"
        self._sites[line] = _Site(original_node, fd, described)
        return updated_node

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        site = self._sites.get(original_node)
        if site is None:
            return updated_node
        mkstemp = self.reference(site.call, "tempfile", "mkstemp")
        close = self.reference(site.call, "os", "close") if mkstemp is not None else None
        if mkstemp is None or close is None:
            missing = "tempfile.mkstemp" if mkstemp is None else "os.close"
            self.refuse(site.call, Reason.NAME_CONFLICT, f"no free name for `{missing}`")
            return updated_node
        assign = updated_node.body[0]
        if not isinstance(assign, cst.Assign) or not isinstance(assign.value, cst.Call):
            return updated_node  # cannot happen: the original was checked to be this shape
        if isinstance(site.call.func, cst.Name):
            # By node, so that `from tempfile import mktemp as name` goes too.
            self.remove_unused_import_by_node(site.call.func)
        pair = cst.Tuple(
            [
                cst.Element(
                    cst.Name(site.fd), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                ),
                cst.Element(assign.targets[0].target),
            ],
            lpar=[],
            rpar=[],
        )
        new_assign = assign.with_changes(
            targets=[assign.targets[0].with_changes(target=pair)],
            value=assign.value.with_changes(func=mkstemp),
        )
        closing = cst.SimpleStatementLine(
            [cst.Expr(cst.Call(func=close, args=[cst.Arg(cst.Name(site.fd))]))]
        )
        self.changed(site.call, site.description)
        return cst.FlattenSentinel([updated_node.with_changes(body=[new_assign]), closing])

    def _fresh_name(self) -> str | None:
        # Any identifier of the module is avoided, not only those of this scope: a clash
        # with a closure, a global or a later use is then impossible.
        if self._names is None:
            self._names = {
                found.value
                for found in m.findall(self.module, m.Name())
                if isinstance(found, cst.Name)
            }
        return next((n for n in _FD_NAMES if n not in self._names), None)

    def _absent_use(self, target: cst.Name) -> tuple[int, str] | None:
        """The first use of the assigned name in its scope (any assignment of it: a loop may
        re-assign it before a check) or in a nested one that needs the path not to exist."""
        scope = self.scope(target)
        if scope is None:
            return None
        uses: set[cst.CSTNode] = {access.node for access in scope.accesses[target.value]}
        for assignment in scope.assignments[target.value]:
            uses.update(access.node for access in assignment.references)
        for use in sorted(uses, key=self.line):
            what = self._needs_absence(use)
            if what is not None:
                return self.line(use), what
        return None

    def _needs_absence(self, use: cst.CSTNode) -> str | None:
        arg = self.parent(use)
        if not isinstance(arg, cst.Arg) or arg.value is not use:
            return None
        call = self.parent(arg)
        if not isinstance(call, cst.Call):
            return None
        names = self.qualified_names(call.func)
        hits = sorted(names & _ABSENT_FUNCTIONS.keys())
        if hits:
            return f"{_ABSENT_FUNCTIONS[hits[0]]} (`{hits[0]}`)"
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "bind":
            return "binds a socket to it"
        if "builtins.open" in names and _exclusive_mode(call):
            return "opens it for exclusive creation (mode `x`)"
        if "os.open" in names and _has_o_excl(call):
            return "opens it with `O_EXCL`"
        if names & _PATH_CLASSES:
            method = self.parent(call)
            if isinstance(method, cst.Attribute) and method.value is call:
                what = _ABSENT_PATH_METHODS.get(method.attr.value)
                if what is not None:
                    return f"{what} (`Path.{method.attr.value}`)"
        return None


def _single_name_target(assign: cst.CSTNode | None, call: cst.Call) -> cst.Name | None:
    if not isinstance(assign, cst.Assign) or assign.value is not call or len(assign.targets) != 1:
        return None
    target = assign.targets[0].target
    return target if isinstance(target, cst.Name) else None


def _exclusive_mode(call: cst.Call) -> bool:
    given = find_arg(call, "mode")
    args = positional(call)
    value = given.value if given is not None else (args[1].value if len(args) >= 2 else None)
    mode = string_value(value) if value is not None else None
    return mode is not None and "x" in mode


def _has_o_excl(call: cst.Call) -> bool:
    given = find_arg(call, "flags")
    args = positional(call)
    value = given.value if given is not None else (args[1].value if len(args) >= 2 else None)
    if value is None:
        return False
    return any(
        isinstance(found, cst.Name) and found.value == "O_EXCL"
        for found in m.findall(value, m.Name())
    )
