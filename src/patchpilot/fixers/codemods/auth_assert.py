"""`harden-auth-assert`: authorization checks written as `assert`.

`python -O` strips asserts, so an `assert user.is_admin` guarding a privileged path silently
stops guarding it. Outside tests, an `assert` whose condition speaks of authentication,
permissions, roles, ownership or access becomes `if not cond: raise AssertionError(msg)`: the
same exception and message without `-O`, and the check now also runs under `-O`, which is
the intent. The negation reads as a person would write it: `assert x in y` gives
`if x not in y:` (`is` gives `is not`, and back), `assert not x` gives `if x:`, and boolean
operations and other comparisons go in parentheses (`if not (a and b):`). Test modules and
conftest.py are refused; a line holding other statements besides the assert (`assert x; y()`)
is refused.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterable, Iterator
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
_LINE_END = re.compile(r"\r\n|\r|\n")


def auth_words(node: cst.CSTNode) -> list[str]:
    """Words of the identifiers and strings in `node` that speak of authorization."""
    return [w for w in words_in(node) if w not in _NOT_AUTH and w.startswith(_AUTH_PREFIXES)]


def asserts_mention_auth(source: str) -> bool:
    """Whether the condition of an `assert` in `source` holds an authorization word (or the
    text cannot be parsed by `ast` and so cannot be ruled out). A superset of the asserts the
    codemod treats, found at C speed: `_AUTH_TEXT` over each condition's source text."""
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences and the like warn while parsing; they do not matter.
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    lines: list[str] | None = None
    for node in _asserts(tree.body):
        test = node.test
        if lines is None:
            # The parser's lines: only \r\n, \r and \n end one (str.splitlines splits more).
            lines = _LINE_END.split(source)
        first, last = test.lineno - 1, (test.end_lineno or test.lineno) - 1
        text = "\n".join(lines[first : last + 1]).encode("utf-8")
        # Offsets are in UTF-8 bytes: cut the last line's end, then the first line's start.
        end = len(text) - len(lines[last].encode("utf-8")) + (test.end_col_offset or 0)
        segment = text[test.col_offset : end].decode("utf-8", errors="replace")
        if _AUTH_TEXT.search(segment):
            return True
    return False


def _asserts(body: Iterable[ast.AST]) -> Iterator[ast.Assert]:
    """Every `assert` statement in a body, nested blocks included (statements only: no
    expression holds one)."""
    for stmt in body:
        if isinstance(stmt, ast.Assert):
            yield stmt
            continue
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            inner = getattr(stmt, name, None)
            if isinstance(inner, list):
                yield from _asserts(inner)


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
        # An assert whose condition speaks of authorization.
        return (
            file.mentions("assert")
            and bool(_AUTH_TEXT.search(file.source))
            and asserts_mention_auth(file.source)
        )

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


def _negate(test: cst.BaseExpression) -> cst.BaseExpression:
    """The condition under which the assert fails, as a reader (and ruff's E713/E714) would
    write it: `x not in y` for `x in y`, `x is y` for `x is not y`, `x` for `not x`, and
    `not (…)` around boolean operations and other comparisons, whose precedence under a bare
    `not` reads ambiguously."""
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
    inverted = _inverted(test)
    if inverted is not None:
        return inverted
    needs_parens = isinstance(test, _BINDS_LOOSER) and not test.lpar
    operand = (
        test.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]) if needs_parens else test
    )
    return cst.UnaryOperation(operator=cst.Not(), expression=operand)


# Expressions a bare `not` in front of would seem to bind into (`not a and b`, `not a == b`).
_BINDS_LOOSER = (cst.BooleanOperation, cst.Comparison, cst.IfExp, cst.Lambda, cst.NamedExpr)


def _inverted(test: cst.BaseExpression) -> cst.Comparison | None:
    """A single `in` / `not in` / `is` / `is not` comparison with the opposite operator:
    `not (x in y)` is what `x not in y` means, and `not (x is y)` what `x is not y` means."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    op = target.operator
    new_op: cst.BaseCompOp
    if isinstance(op, cst.In):
        new_op = cst.NotIn(
            whitespace_before=op.whitespace_before, whitespace_after=op.whitespace_after
        )
    elif isinstance(op, cst.Is):
        new_op = cst.IsNot(
            whitespace_before=op.whitespace_before, whitespace_after=op.whitespace_after
        )
    elif isinstance(op, cst.NotIn | cst.IsNot) and _plain_space(op.whitespace_between):
        # Only a plain space between the two words: a comment or line break there would go.
        kind = cst.In if isinstance(op, cst.NotIn) else cst.Is
        new_op = kind(whitespace_before=op.whitespace_before, whitespace_after=op.whitespace_after)
    else:
        return None
    return test.with_changes(comparisons=[target.with_changes(operator=new_op)])


def _plain_space(ws: cst.BaseParenthesizableWhitespace) -> bool:
    return isinstance(ws, cst.SimpleWhitespace) and "\\" not in ws.value


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
