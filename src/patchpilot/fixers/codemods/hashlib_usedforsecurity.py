"""`hashlib-usedforsecurity`: MD5 and SHA-1 used for checksums, cache keys and the like.

`hashlib.md5(...)`, `hashlib.sha1(...)` (and `md4`) and `hashlib.new("md5" | "sha1" | ...)`
get `usedforsecurity=False`, which documents that the digest is not a security control and keeps
the code working on FIPS-restricted builds; the digest itself does not change. Refused: a
security context — the call, its arguments, the name it is assigned to, the enclosing function
or class, or the module name speak of passwords, tokens, signatures, authentication, secrets,
HMAC, salts or nonces, or the result flows into `hmac` / `compare_digest` — where the algorithm
itself must change (a reviewed change); `*args` / `**kwargs`; and any project whose
`requires-python` allows a Python before 3.9, where the argument does not exist.
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from pathlib import PurePosixPath
from typing import ClassVar

import libcst as cst
import libcst.matchers as m
from packaging.version import Version

from patchpilot.fixers.codemods.interface import (
    Codemod,
    CodemodTransformer,
    FileContext,
    FileRun,
    ProjectContext,
    Reason,
    Tier,
    Veto,
    append_arg,
    find_arg,
    identifier_words,
    positional,
    splat,
    string_value,
    words_in,
)

_WEAK = ("md4", "md5", "sha1")
_CONSTRUCTORS = frozenset(f"hashlib.{name}" for name in _WEAK)
_NEW = frozenset({"hashlib.new"})
_WEAK_NAMES = frozenset({"md4", "md5", "sha1", "sha", "ripemd160"})
_SECURITY_PREFIXES = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "token",
    "sign",
    "auth",
    "oauth",
    "secret",
    "hmac",
    "credential",
    "salt",
    "nonce",
    "otp",
    "apikey",
    "jwt",
    "csrf",
)
_NOT_SECURITY = frozenset({"signal", "signals", "design", "assign"})
_SINKS = frozenset({"hmac.compare_digest", "secrets.compare_digest", "hmac.new", "hmac.digest"})


def _may_be_weak(call: ast.Call, aliases: Collection[str]) -> bool:
    """Whether an `ast` call of a `hashlib` constructor (or of `hashlib.new`) may be one the
    codemod treats: no `usedforsecurity=`, and for `new` a weak name as a string literal."""
    if any(k.arg == "usedforsecurity" for k in call.keywords):
        return False
    if _last_part(call.func) != "new" or "new" in aliases:
        return True  # a constructor, or an alias that may stand for one
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    given = (
        positional[0]
        if positional
        else next((k.value for k in call.keywords if k.arg == "name"), None)
    )
    if not isinstance(given, ast.Constant) or not isinstance(given.value, str):
        return False
    return given.value.lower() in _WEAK_NAMES


def _last_part(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def security_words(words: list[str]) -> list[str]:
    """The words among `words` that suggest a security use (password, token, signature…)."""
    return [w for w in words if w not in _NOT_SECURITY and w.startswith(_SECURITY_PREFIXES)]


class HashlibUsedForSecurity(Codemod):
    """Mark MD5/SHA-1 digests that are not security controls with `usedforsecurity=False`."""

    id: ClassVar[str] = "hashlib-usedforsecurity"
    cwe: ClassVar[tuple[int, ...]] = (327, 328)
    tier: ClassVar[Tier] = Tier.A
    title: ClassVar[str] = "Mark non-security MD5/SHA-1 digests with usedforsecurity=False"
    rules: ClassVar[tuple[str, ...]] = (
        "B324",
        "S324",
        "B303",
        "S303",
        "insecure-hash-algorithm-md5",
        "insecure-hash-algorithm-sha1",
        "insecure-hash-function",
    )
    hints: ClassVar[tuple[str, ...]] = ("hashlib",)
    requires: ClassVar[tuple[tuple[str, ...], ...]] = ((*_WEAK, "new"),)
    modules: ClassVar[tuple[str, ...]] = ("hashlib",)

    def relevant(self, file: FileContext) -> bool:
        # A weak constructor, or `hashlib.new` with a weak name spelled out, called without
        # `usedforsecurity=`.
        if not super().relevant(file):
            return False
        calls = file.calls(_CONSTRUCTORS | _NEW)
        return calls is None or any(_may_be_weak(c, file.aliases) for c in calls)

    def project_refusal(self, project: ProjectContext) -> Veto | None:
        return project.python_guard(
            lambda v: v >= Version("3.9"), "hashlib's `usedforsecurity` argument (Python 3.9)"
        )

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


class _Transformer(CodemodTransformer):
    def __init__(self, run: FileRun) -> None:
        super().__init__(run)
        self.stack: list[str] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.stack.append(node.name.value)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.stack.pop()
        return updated_node

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.stack.append(node.name.value)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self.stack.pop()
        return updated_node

    def _algorithm(self, call: cst.Call) -> str | None:
        name = self.call_name(call, _CONSTRUCTORS)
        if name is not None:
            return name.rsplit(".", 1)[1]
        if self.call_name(call, _NEW):
            args = positional(call)
            given = args[0] if args else find_arg(call, "name")
            value = string_value(given.value) if given is not None else None
            if value is not None and value.lower() in _WEAK_NAMES:
                return value.lower()
        return None

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        algorithm = self._algorithm(original_node)
        if algorithm is None or find_arg(original_node, "usedforsecurity") is not None:
            return updated_node
        if not self.may_change(original_node):
            return updated_node
        star = splat(original_node)
        if star is not None:
            self.refuse(
                original_node,
                Reason.KWARGS_SPLAT if star == "**" else Reason.ARGS_SPLAT,
                f"the call passes `{star}` arguments, which may already set usedforsecurity",
            )
            return updated_node
        evidence = self._security_context(original_node, self.run.file)
        if evidence:
            self.refuse(
                original_node,
                Reason.SECURITY_CONTEXT,
                f"{algorithm} looks security-relevant here ({evidence}); the algorithm itself "
                "must change, which is a reviewed change",
            )
            return updated_node
        self.changed(original_node, f"`{algorithm}` marked `usedforsecurity=False`")
        return append_arg(updated_node, "usedforsecurity", cst.Name("False"))

    def _security_context(self, call: cst.Call, file: FileContext) -> str:
        words: list[str] = []
        for name in self.stack:
            words += identifier_words(name)
        for arg in call.args:
            words += words_in(arg.value)
        targets = self._assigned_names(call)
        for target in targets:
            words += identifier_words(target)
        words += identifier_words(PurePosixPath(file.path).stem)
        hits = security_words(words)
        if hits:
            return "mentions " + ", ".join(f"`{w}`" for w in dict.fromkeys(hits))
        sink = self._flows_into_sink(call, targets)
        return f"the digest flows into `{sink}`" if sink else ""

    def _statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        current: cst.CSTNode | None = node
        while current is not None and not isinstance(
            current, cst.SimpleStatementLine | cst.BaseCompoundStatement
        ):
            current = self.parent(current)
        return current

    def _assigned_names(self, call: cst.Call) -> list[str]:
        statement = self._statement(call)
        if statement is None:
            return []
        names: list[str] = []
        for found in m.findall(statement, m.AssignTarget() | m.AnnAssign() | m.AugAssign()):
            target = getattr(found, "target", None)
            if target is not None:
                names += [n.value for n in m.findall(target, m.Name()) if isinstance(n, cst.Name)]
                names += [
                    a.attr.value
                    for a in m.findall(target, m.Attribute())
                    if isinstance(a, cst.Attribute)
                ]
        return names

    def _flows_into_sink(self, call: cst.Call, targets: list[str]) -> str | None:
        node: cst.CSTNode | None = self.parent(call)
        while node is not None:
            if isinstance(node, cst.Call):
                sink = self.call_name(node, _SINKS)
                if sink:
                    return sink
            node = self.parent(node)
        scope = self.scope(call)
        if scope is None:
            return None
        for name in targets:
            for access in scope.accesses[name] if name in scope else ():
                parent: cst.CSTNode | None = access.node
                while parent is not None:
                    if isinstance(parent, cst.Call):
                        sink = self.call_name(parent, _SINKS)
                        if sink:
                            return sink
                    parent = self.parent(parent)
        return None
