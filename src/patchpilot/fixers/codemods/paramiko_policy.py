"""`paramiko-reject-policy`: SSH clients that trust any host key.

`client.set_missing_host_key_policy(paramiko.AutoAddPolicy())` (or `WarningPolicy`, or the
class itself, which paramiko instantiates) connects to whatever host answers, so a
man-in-the-middle gets the credentials and the session. The policy becomes
`paramiko.RejectPolicy()`, and `client.load_system_host_keys()` is added before the call unless
the same function (or module, at top level) already loads host keys into that client. Tier B:
a host missing from known_hosts now fails to connect until its key is provisioned. Refused: a
receiver that cannot be shown to be a `paramiko.SSHClient` created in the same scope, a call
that is not a statement of its own, a policy held in a variable, and a line with other
statements when a statement has to be added.
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
    find_arg,
    positional,
)

_MODULES = ("paramiko", "paramiko.client")
_TRUSTING = frozenset(
    f"{module}.{policy}" for module in _MODULES for policy in ("AutoAddPolicy", "WarningPolicy")
)
_CLIENTS = frozenset(f"{module}.SSHClient" for module in _MODULES)
_LOADERS = frozenset({"load_system_host_keys", "load_host_keys"})


class ParamikoRejectPolicy(Codemod):
    """Reject unknown SSH host keys instead of trusting them."""

    id: ClassVar[str] = "paramiko-reject-policy"
    cwe: ClassVar[tuple[int, ...]] = (295, 322)
    tier: ClassVar[Tier] = Tier.B
    title: ClassVar[str] = "Reject unknown SSH host keys"
    rules: ClassVar[tuple[str, ...]] = (
        "B507",
        "S507",
        "python.lang.security.audit.paramiko-implicit-trust-host-key."
        "paramiko-implicit-trust-host-key",
        "paramiko-implicit-trust-host-key",
    )
    hints: ClassVar[tuple[str, ...]] = ("set_missing_host_key_policy",)

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


class _Transformer(CodemodTransformer):
    def __init__(self, run: FileRun) -> None:
        super().__init__(run)
        # Statement lines that get `<receiver>.load_system_host_keys()` before them.
        self._inserts: dict[cst.SimpleStatementLine, str] = {}

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "set_missing_host_key_policy":
            return updated_node
        given = find_arg(original_node, "policy")
        args = positional(original_node)
        policy = given if given is not None else (args[0] if args else None)
        if policy is None:
            return updated_node
        value = policy.value
        trusting = self._trusting(value)
        if trusting is None:
            return updated_node
        if not self.may_change(original_node):
            return updated_node
        if isinstance(value, cst.Name) and not (self.qualified_names(value) & _TRUSTING):
            self.refuse(
                original_node,
                Reason.NOT_A_LITERAL,
                f"the policy is the variable `{value.value}` (a `{trusting}`); change it where "
                "it is created",
            )
            return updated_node
        receiver = func.value
        origins = self.origin_calls(receiver)
        if not isinstance(receiver, cst.Name) or not origins or not origins <= _CLIENTS:
            code = self.module.code_for_node(receiver)
            self.refuse(
                original_node,
                Reason.UNKNOWN_RECEIVER,
                f"`{code}` is not shown to be a `paramiko.SSHClient` created in this scope; "
                "patchpilot cannot tell where to load its host keys",
            )
            return updated_node
        expr = self.parent(original_node)
        line = self.parent(expr) if expr is not None else None
        if not isinstance(expr, cst.Expr) or expr.value is not original_node:
            self.refuse(
                original_node,
                Reason.NOT_A_STATEMENT,
                "the call is part of a larger expression; rewrite it as a statement first",
            )
            return updated_node
        loads = self._loads_keys(receiver)
        if not loads and (not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1):
            self.refuse(
                original_node,
                Reason.COMPOUND_STATEMENT,
                "the call shares its line with other statements, so `load_system_host_keys()` "
                "has no place of its own; split the line first",
            )
            return updated_node
        named = value.func if isinstance(value, cst.Call) else value
        reject: cst.BaseExpression | None
        if isinstance(named, cst.Attribute):
            # `pm.AutoAddPolicy` → `pm.RejectPolicy`: `paramiko` and `paramiko.client` both
            # export it, so the module spelling the code already uses stays.
            reject = named.with_changes(attr=cst.Name("RejectPolicy"))
        else:
            # The package's public name: one spelling per file even when the trusting
            # policies were imported from both `paramiko` and `paramiko.client`.
            reject = self.reference(original_node, "paramiko", "RejectPolicy")
        if reject is None:
            self.refuse(
                original_node, Reason.NAME_CONFLICT, "no free name for `paramiko.RejectPolicy`"
            )
            return updated_node
        old = trusting.rsplit(".", 1)[1]
        if isinstance(named, cst.Name):
            # By node, so that `from paramiko import AutoAddPolicy as Trust` goes too.
            self.remove_unused_import_by_node(named)
        description = f"`{old}` → `RejectPolicy()`"
        if not loads and isinstance(line, cst.SimpleStatementLine):
            self._inserts[line] = receiver.value
            description += f"; `{receiver.value}.load_system_host_keys()` added before it"
        self.changed(original_node, description)
        index = original_node.args.index(policy)
        new_args = list(updated_node.args)
        new_args[index] = new_args[index].with_changes(value=cst.Call(func=reject))
        return updated_node.with_changes(args=new_args)

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        receiver = self._inserts.get(original_node)
        if receiver is None:
            return updated_node
        load = cst.SimpleStatementLine(
            [
                cst.Expr(
                    cst.Call(
                        func=cst.Attribute(
                            value=cst.Name(receiver),
                            attr=cst.Name("load_system_host_keys"),
                        )
                    )
                )
            ],
            leading_lines=updated_node.leading_lines,
        )
        return cst.FlattenSentinel([load, updated_node.with_changes(leading_lines=[])])

    def _trusting(self, value: cst.BaseExpression) -> str | None:
        """The trusting policy `value` is (its class, an instance, or a variable holding an
        instance), as a qualified name; None for anything else."""
        target = value.func if isinstance(value, cst.Call) and not value.args else value
        found = sorted(self.qualified_names(target) & _TRUSTING)
        if found:
            return found[0]
        if isinstance(value, cst.Name):
            origins = self.origin_calls(value)
            held = sorted(origins & _TRUSTING)
            if held and origins <= _TRUSTING:
                return held[0]
        return None

    def _loads_keys(self, receiver: cst.Name) -> bool:
        """Whether the enclosing function (or module) calls `load_system_host_keys` or
        `load_host_keys` on the receiver's name."""
        return any(
            isinstance(found, cst.Call)
            and isinstance(found.func, cst.Attribute)
            and found.func.attr.value in _LOADERS
            and isinstance(found.func.value, cst.Name)
            and found.func.value.value == receiver.value
            for found in m.findall(self._enclosing(receiver), m.Call())
        )

    def _enclosing(self, node: cst.CSTNode) -> cst.CSTNode:
        current: cst.CSTNode | None = node
        while current is not None and not isinstance(current, cst.FunctionDef | cst.Module):
            current = self.parent(current)
        return current if current is not None else self.module
