"""`rsa-key-size`: RSA, DSA and elliptic-curve keys generated too weak to resist factoring.

At key generation only: `cryptography`'s `rsa.generate_private_key` and
`dsa.generate_private_key` and pycryptodome's (`Crypto` / `Cryptodome`) `RSA.generate` /
`DSA.generate` with a literal size below 2048 bits get 2048; larger sizes are never touched
(a fix never lowers one). `ec.generate_private_key` with a curve under 224 bits (`SECP192R1`,
`SECT163K1`, `SECT163R2`) gets `SECP256R1`, and pycryptodome's `ECC.generate(curve="P-192")`
gets `"P-256"`, with the file's own spelling of the `ec` module. Tier A-: interoperability with
fixed-size hardware or protocols cannot be seen in code. Refused: sizes and curves that are not
literals (read from configuration; a module constant is followed, and one of 2048 or more is
fine), `*args` / `**kwargs` that may carry the size, and test modules, which generate small keys
for speed.
"""

from __future__ import annotations

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
    splat,
    string_value,
)

MIN_BITS = 2048
_ASYM = "cryptography.hazmat.primitives.asymmetric"
_EC = f"{_ASYM}.ec"
# qualified name → (keyword, position of the size argument, algorithm)
_SIZED: dict[str, tuple[str, int, str]] = {
    f"{_ASYM}.rsa.generate_private_key": ("key_size", 1, "RSA"),
    f"{_ASYM}.dsa.generate_private_key": ("key_size", 0, "DSA"),
}
for _package in ("Crypto", "Cryptodome"):
    _SIZED[f"{_package}.PublicKey.RSA.generate"] = ("bits", 0, "RSA")
    _SIZED[f"{_package}.PublicKey.DSA.generate"] = ("bits", 0, "DSA")
_EC_GENERATE = frozenset({f"{_EC}.generate_private_key"})
_ECC_GENERATE = frozenset({"Crypto.PublicKey.ECC.generate", "Cryptodome.PublicKey.ECC.generate"})
# Curves below 224 bits (Bandit B505's EC threshold) and what replaces them.
_WEAK_CURVES = frozenset({"SECP192R1", "SECT163K1", "SECT163R2"})
_CURVE = "SECP256R1"
_WEAK_ECC = frozenset({"p-192", "p192", "nist p-192", "prime192v1", "secp192r1"})
_ECC_CURVE = "P-256"


def int_literal(node: cst.BaseExpression) -> int | None:
    """The value of an integer literal (`1024`, `0x400`, `1_024`), else None."""
    if isinstance(node, cst.Integer):
        try:
            return int(node.value, 0)
        except ValueError:
            return None
    return None


class RsaKeySize(Codemod):
    """Generate RSA and DSA keys of at least 2048 bits and EC keys on a 256-bit curve."""

    id: ClassVar[str] = "rsa-key-size"
    cwe: ClassVar[tuple[int, ...]] = (326,)
    tier: ClassVar[Tier] = Tier.A_MINUS
    title: ClassVar[str] = "Generate keys of at least 2048 bits (RSA, DSA) or 256 bits (EC)"
    rules: ClassVar[tuple[str, ...]] = (
        "B505",
        "S505",
        "insufficient-rsa-key-size",
        "insufficient-dsa-key-size",
        "insufficient-ec-key-size",
    )
    hints: ClassVar[tuple[str, ...]] = ("generate",)
    refuse_in_tests: ClassVar[bool] = True

    def relevant(self, file: FileContext) -> bool:
        # `cryptography`'s `generate_private_key`, or pycryptodome's `PublicKey.*.generate`.
        if file.mentions("generate_private_key") and file.may_resolve("cryptography"):
            return True
        return (
            file.mentions("generate")
            and file.mentions("PublicKey")
            and file.may_resolve("Crypto", "Cryptodome")
        )

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


class _Transformer(CodemodTransformer):
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        sized = self.call_name(original_node, _SIZED.keys())
        if sized is not None:
            return self._size(original_node, updated_node, *_SIZED[sized])
        if self.call_name(original_node, _EC_GENERATE):
            return self._curve(original_node, updated_node)
        if self.call_name(original_node, _ECC_GENERATE):
            return self._ecc(original_node, updated_node)
        return updated_node

    def _argument(self, call: cst.Call, keyword: str, index: int | None) -> cst.Arg | None:
        arg = find_arg(call, keyword)
        if arg is None and index is not None:
            args = positional(call)
            arg = args[index] if len(args) > index else None
        return arg

    def _splat(self, call: cst.Call, what: str) -> None:
        """A refusal when `*args` / `**kwargs` may carry the missing argument."""
        star = splat(call)
        if star is not None and self.may_change(call):
            self.refuse(
                call,
                Reason.KWARGS_SPLAT if star == "**" else Reason.ARGS_SPLAT,
                f"the {what} may come from the `{star}` arguments, which patchpilot cannot read",
            )

    def _constant(self, node: cst.BaseExpression) -> tuple[int | None, int | None]:
        """The integer a name is bound to exactly once in its scope, and that line."""
        if not isinstance(node, cst.Name):
            return None, None
        scope = self.scope(node)
        if scope is None:
            return None, None
        assignments = list(scope[node.value])
        if len(assignments) != 1:
            return None, None
        target = getattr(assignments[0], "node", None)
        if not isinstance(target, cst.Name):
            return None, None
        holder = self.parent(target)
        assign = self.parent(holder) if isinstance(holder, cst.AssignTarget) else holder
        if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
            bound: cst.BaseExpression | None = assign.value
        elif isinstance(assign, cst.AnnAssign):
            bound = assign.value
        else:
            return None, None
        value = int_literal(bound) if bound is not None else None
        return value, self.line(target) if value is not None else None

    def _size(
        self, original: cst.Call, updated: cst.Call, keyword: str, index: int, algorithm: str
    ) -> cst.BaseExpression:
        arg = self._argument(original, keyword, index)
        if arg is None:
            self._splat(original, "key size")
            return updated
        bits = int_literal(arg.value)
        if bits is not None and bits >= MIN_BITS:
            return updated
        constant, line = self._constant(arg.value) if bits is None else (None, None)
        if constant is not None and constant >= MIN_BITS:
            return updated
        if not self.may_change(original):
            return updated
        if bits is None:
            code = self.module.code_for_node(arg.value)
            where = (
                f"; `{code}` is {constant} (line {line}): raise the constant itself, which "
                "other code may share"
                if constant is not None
                else ""
            )
            self.refuse(
                original,
                Reason.NON_LITERAL_SIZE,
                f"the {algorithm} key size `{code}` is not a literal{where}",
            )
            return updated
        self.changed(original, f"{algorithm} key size {bits} → {MIN_BITS} bits")
        index_of = original.args.index(arg)
        new_args = list(updated.args)
        new_args[index_of] = new_args[index_of].with_changes(value=cst.Integer(str(MIN_BITS)))
        return updated.with_changes(args=new_args)

    def _curve(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        arg = self._argument(original, "curve", 0)
        if arg is None:
            self._splat(original, "curve")
            return updated
        # `ec.SECP192R1()` (an instance) or the bare class.
        given = arg.value
        named = given.func if isinstance(given, cst.Call) and not given.args else given
        curves = {
            n.removeprefix(f"{_EC}.")
            for n in self.qualified_names(named)
            if n.startswith(f"{_EC}.") and n.count(".") == _EC.count(".") + 1
        }
        if curves and not curves & _WEAK_CURVES:
            return updated
        if not self.may_change(original):
            return updated
        if not curves:
            code = self.module.code_for_node(given)
            self.refuse(
                original,
                Reason.NON_LITERAL_CURVE,
                f"the curve `{code}` is not a literal `ec` curve; patchpilot cannot tell its size",
            )
            return updated
        weak = min(curves & _WEAK_CURVES)
        replacement = self.reference(original, _EC, _CURVE, like=named)
        if replacement is not None and isinstance(named, cst.Name):
            # By node, so that `from ...ec import SECP192R1 as WEAK` goes too.
            self.remove_unused_import_by_node(named)
        if replacement is None:
            self.refuse(original, Reason.NAME_CONFLICT, f"no free name for `ec.{_CURVE}`")
            return updated
        new_value = (
            given.with_changes(func=replacement) if isinstance(given, cst.Call) else replacement
        )
        index_of = original.args.index(arg)
        new_args = list(updated.args)
        new_args[index_of] = new_args[index_of].with_changes(value=new_value)
        self.changed(original, f"EC curve `{weak}` → `{_CURVE}`")
        return updated.with_changes(args=new_args)

    def _ecc(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        arg = self._argument(original, "curve", None)
        if arg is None:
            self._splat(original, "curve")
            return updated
        name = string_value(arg.value)
        if name is not None and name.strip().lower() not in _WEAK_ECC:
            return updated
        if not self.may_change(original):
            return updated
        if name is None or not isinstance(arg.value, cst.SimpleString):
            code = self.module.code_for_node(arg.value)
            self.refuse(
                original,
                Reason.NON_LITERAL_CURVE,
                f"the curve `{code}` is not a string literal; patchpilot cannot tell its size",
            )
            return updated
        old = arg.value
        value = cst.SimpleString(f"{old.prefix}{old.quote}{_ECC_CURVE}{old.quote}")
        index_of = original.args.index(arg)
        new_args = list(updated.args)
        new_args[index_of] = new_args[index_of].with_changes(value=value)
        self.changed(original, f'ECC curve "{name}" → "{_ECC_CURVE}"')
        return updated.with_changes(args=new_args)
