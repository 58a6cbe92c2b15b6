"""`tls-minimum-version`: SSL contexts that still accept SSLv3, TLS 1.0 or TLS 1.1.

An assignment `<context>.minimum_version = ssl.TLSVersion.SSLv3 | TLSv1 | TLSv1_1 |
MINIMUM_SUPPORTED` gets `TLSVersion.TLSv1_2`, spelled with the file's own alias for
`TLSVersion` (`s.TLSVersion`, `V` after `from ssl import TLSVersion as V`). Higher minimums are
left alone. Tier A-: peers that speak only TLS 1.0/1.1 (legacy devices) stop connecting, which
only access logs or an inventory can rule out. Refused: a minimum that is not a literal
`TLSVersion` member (a variable or a config value) in a module that imports `ssl`, and test
modules (they may exercise legacy protocols on purpose).
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst
import libcst.matchers as m

from patchpilot.fixers.codemods.interface import (
    Codemod,
    CodemodTransformer,
    FileRun,
    Reason,
    Tier,
)

_PREFIX = "ssl.TLSVersion."
_WEAK = frozenset({"SSLv3", "TLSv1", "TLSv1_1", "MINIMUM_SUPPORTED"})
_TARGET = "TLSv1_2"


class TlsMinimumVersion(Codemod):
    """Raise `SSLContext.minimum_version` to TLS 1.2."""

    id: ClassVar[str] = "tls-minimum-version"
    cwe: ClassVar[tuple[int, ...]] = (326,)
    tier: ClassVar[Tier] = Tier.A_MINUS
    title: ClassVar[str] = "Require TLS 1.2 or newer in SSL contexts"
    rules: ClassVar[tuple[str, ...]] = ("B502", "S502", "upgrade-sslcontext-minimum-version")
    hints: ClassVar[tuple[str, ...]] = ("minimum_version",)
    # A `TLSVersion` member resolves through `ssl`; a non-literal is refused only where the
    # module imports `ssl`.
    requires: ClassVar[tuple[tuple[str, ...], ...]] = (("minimum_version",),)
    modules: ClassVar[tuple[str, ...]] = ("ssl",)
    refuse_in_tests: ClassVar[bool] = True

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


def _plain_constant(value: cst.BaseExpression) -> bool:
    """Strings, numbers and None: values no `TLSVersion` can hide behind (some other object's
    `minimum_version`, such as a package's)."""
    constants = (
        cst.SimpleString,
        cst.ConcatenatedString,
        cst.FormattedString,
        cst.Integer,
        cst.Float,
        cst.Imaginary,
    )
    return isinstance(value, constants) or m.matches(value, m.Name("None"))


class _Transformer(CodemodTransformer):
    _imports_ssl: bool | None = None

    def leave_Assign(
        self, original_node: cst.Assign, updated_node: cst.Assign
    ) -> cst.BaseSmallStatement:
        if not any(
            isinstance(t.target, cst.Attribute) and t.target.attr.value == "minimum_version"
            for t in original_node.targets
        ):
            return updated_node
        value = original_node.value
        members = {
            name.removeprefix(_PREFIX)
            for name in self.qualified_names(value)
            if name.startswith(_PREFIX)
        }
        if members and isinstance(value, cst.Attribute):
            member = min(members)
            if member not in _WEAK or not self.may_change(original_node):
                return updated_node
            new_value = updated_node.value
            if not isinstance(new_value, cst.Attribute):
                return updated_node
            self.changed(original_node, f"minimum TLS version `{member}` → `{_TARGET}`")
            return updated_node.with_changes(value=new_value.with_changes(attr=cst.Name(_TARGET)))
        if _plain_constant(value) or not self._uses_ssl():
            return updated_node
        if self.may_change(original_node):
            code = self.module.code_for_node(value)
            self.refuse(
                original_node,
                Reason.NOT_A_LITERAL,
                f"the minimum version is `{code}`, not a literal `ssl.TLSVersion` member; "
                "patchpilot cannot tell which protocols it allows",
            )
        return updated_node

    def _uses_ssl(self) -> bool:
        if self._imports_ssl is None:
            found = False
            for imp in m.findall(self.module, m.Import() | m.ImportFrom()):
                if isinstance(imp, cst.Import):
                    found = found or any(
                        self.module.code_for_node(a.name).split(".")[0] == "ssl" for a in imp.names
                    )
                elif isinstance(imp, cst.ImportFrom) and imp.module is not None:
                    found = found or self.module.code_for_node(imp.module).split(".")[0] == "ssl"
            self._imports_ssl = found
        return self._imports_ssl
