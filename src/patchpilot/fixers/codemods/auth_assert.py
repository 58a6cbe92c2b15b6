"""`harden-auth-assert`: authorization checks written as `assert`.

`python -O` strips asserts, so an `assert user.is_admin` guarding a privileged path silently
stops guarding it. Outside tests, an `assert` whose condition speaks of authentication,
permissions, roles, ownership or access becomes `if not cond: raise AssertionError(msg)`: the
same exception and message without `-O`, and the check now also runs under `-O`, which is
the intent. Test modules and conftest.py are refused; a line holding other statements besides
the assert (`assert x; y()`) is refused.
"""

from __future__ import annotations

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
    words_in,
)

_AUTH_PREFIXES = (
    "auth",
    "permission",
    "perm",
    "privilege",
    "allowed",
    "admin",
    "superuser",
    "staff",
    "owner",
    "role",
    "access",
    "login",
    "logged",
    "csrf",
    "acl",
    "grant",
    "authori",
    "authenticat",
)
# Case-insensitive, unanchored: a superset of what `auth_words` finds (camelCase included).
_AUTH_TEXT = re.compile("|".join(_AUTH_PREFIXES), re.IGNORECASE)
_NOT_AUTH = frozenset({"author", "authors"})


def auth_words(node: cst.CSTNode) -> list[str]:
    """Words of the identifiers and strings in `node` that speak of authorization."""
    return [w for w in words_in(node) if w not in _NOT_AUTH and w.startswith(_AUTH_PREFIXES)]


class HardenAuthAssert(Codemod):
    """Turn authorization asserts into checks that survive `python -O`."""

    id: ClassVar[str] = "harden-auth-assert"
    cwe: ClassVar[tuple[int, ...]] = (703, 617)
    tier: ClassVar[Tier] = Tier.A
    title: ClassVar[str] = "Keep authorization asserts under python -O"
    rules: ClassVar[tuple[str, ...]] = ("B101", "S101", "assert-used")
    hints: ClassVar[tuple[str, ...]] = ("assert",)
    refuse_in_tests: ClassVar[bool] = True

    def relevant(self, file: FileContext) -> bool:
        # An assert whose words speak of authorization: both must occur somewhere in the file.
        return "assert" in file.source and bool(_AUTH_TEXT.search(file.source))

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


def _negate(test: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        # `not not x` and `x` have the same truth value; `if x:` reads better.
        inner = test.expression
        if isinstance(inner, cst.BooleanOperation | cst.IfExp | cst.Lambda | cst.NamedExpr):
            return (
                inner
                if inner.lpar
                else inner.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            )
        return inner
    needs_parens = (
        isinstance(test, cst.BooleanOperation | cst.IfExp | cst.Lambda | cst.NamedExpr)
        and not test.lpar
    )
    operand = (
        test.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]) if needs_parens else test
    )
    return cst.UnaryOperation(operator=cst.Not(), expression=operand)


class _Transformer(CodemodTransformer):
    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement:
        asserts = [s for s in original_node.body if isinstance(s, cst.Assert)]
        if not asserts:
            return updated_node
        candidates = [a for a in asserts if auth_words(a.test)]
        if not candidates:
            return updated_node
        if not self.may_change(original_node):
            return updated_node
        if len(original_node.body) != 1:
            self.refuse(
                original_node,
                Reason.COMPOUND_STATEMENT,
                "the assert shares its line with other statements; split the line first",
            )
            return updated_node
        stmt = updated_node.body[0]
        assert isinstance(stmt, cst.Assert)  # noqa: S101 - mirrors original_node.body[0]
        words = sorted(set(auth_words(candidates[0].test)))
        args = [] if stmt.msg is None else [cst.Arg(stmt.msg)]
        raise_line = cst.SimpleStatementLine(
            [
                cst.Raise(
                    exc=cst.Call(cst.Name("AssertionError"), args=args)
                    if args
                    else cst.Name("AssertionError")
                )
            ]
        )
        self.changed(
            original_node,
            f"assert on {', '.join(f'`{w}`' for w in words)} now also checked under -O",
        )
        return cst.If(
            test=_negate(stmt.test),
            body=cst.IndentedBlock(body=[raise_line], header=updated_node.trailing_whitespace),
            leading_lines=updated_node.leading_lines,
        )
