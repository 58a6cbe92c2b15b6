"""`torch-load-weights-only`: `torch.load` calls that unpickle arbitrary objects.

`torch.load(f)` without `weights_only` runs the pickle machinery on the checkpoint: a crafted
file executes code when it is loaded (before torch 2.6, where `weights_only=True` became the
default). Calls without the argument get `weights_only=True`. Tier B: a checkpoint holding
non-tensor objects (a whole `nn.Module`, optimizer state with custom classes) no longer loads
until its types are allowed with `torch.serialization.add_safe_globals`; the change
description says when the result feeds `load_state_dict` (the usual weights-only use) and
which torch version the project locks. Refused: an explicit `weights_only=False` or a value
from a variable (someone chose it), a custom `pickle_module` (torch rejects it together with
`weights_only=True`), `*args` / `**kwargs`, and every call in a project locking a torch that
predates the argument (1.13).
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst
from packaging.version import InvalidVersion, Version

from patchpilot.fixers.codemods.interface import (
    Codemod,
    CodemodTransformer,
    FileRun,
    ProjectContext,
    Reason,
    Tier,
    Veto,
    append_arg,
    find_arg,
    positional,
    replace_arg,
    splat,
)

_LOADS = frozenset({"torch.load", "torch.serialization.load"})
# `weights_only` arrived in torch 1.13; torch 2.6 made True the default.
FIRST_WITH_ARGUMENT = Version("1.13")
FIRST_SAFE_DEFAULT = Version("2.6")


def locked_torch(project: ProjectContext) -> Version | None:
    """The torch version the project locks, None when it locks none (or an unreadable one)."""
    raw = project.locked.get("torch")
    if raw is None:
        return None
    try:
        return Version(raw)
    except InvalidVersion:
        return None


class TorchLoadWeightsOnly(Codemod):
    """Load PyTorch checkpoints with `weights_only=True`."""

    id: ClassVar[str] = "torch-load-weights-only"
    cwe: ClassVar[tuple[int, ...]] = (502,)
    tier: ClassVar[Tier] = Tier.B
    title: ClassVar[str] = "Load PyTorch checkpoints with weights_only=True"
    rules: ClassVar[tuple[str, ...]] = ("B614", "TOR102")
    hints: ClassVar[tuple[str, ...]] = ("torch",)

    def project_refusal(self, project: ProjectContext) -> Veto | None:
        version = project.fact("torch-version", locked_torch)
        if version is not None and version.release[:2] < FIRST_WITH_ARGUMENT.release:
            return Veto(
                Reason.DEPENDENCY_TOO_OLD,
                f"the project locks torch {version}, whose `torch.load` has no `weights_only` "
                f"argument (added in {FIRST_WITH_ARGUMENT}); upgrade torch first",
            )
        return None

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


def _version_note(version: Version | None) -> str:
    if version is None:
        return (
            "the project locks no torch version: on torch < 2.6 checkpoints holding "
            "arbitrary objects now fail to load"
        )
    if version >= FIRST_SAFE_DEFAULT:
        return (
            f"torch {version} (locked) already defaults to `weights_only=True`; the explicit "
            "argument keeps older pins safe"
        )
    return (
        f"torch {version} (locked) defaults to full unpickling: checkpoints holding "
        "arbitrary objects now fail to load"
    )


class _Transformer(CodemodTransformer):
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if self.call_name(original_node, _LOADS) is None:
            return updated_node
        given = find_arg(original_node, "weights_only")
        if given is not None and _is_name(given.value, "True"):
            return updated_node
        if not self.may_change(original_node):
            return updated_node
        # An explicit `None` asks for torch's version-dependent default: made explicit too.
        default = given is not None and _is_name(given.value, "None")
        if given is not None and not default:
            code = self.module.code_for_node(given.value)
            if _is_name(given.value, "False"):
                self.refuse(
                    original_node,
                    Reason.WEIGHTS_ONLY_FALSE,
                    "the call asks for full unpickling with an explicit `weights_only=False`; "
                    "someone chose it, so review it by hand (trusted source? "
                    "`add_safe_globals` for the types it needs?)",
                )
            else:
                self.refuse(
                    original_node,
                    Reason.NOT_A_LITERAL,
                    f"`weights_only={code}` comes from an expression patchpilot cannot "
                    "evaluate; it may be False",
                )
            return updated_node
        star = splat(original_node)
        if star is not None:
            self.refuse(
                original_node,
                Reason.KWARGS_SPLAT if star == "**" else Reason.ARGS_SPLAT,
                f"the call passes `{star}` arguments, which may already carry "
                "`weights_only` or a `pickle_module`",
            )
            return updated_node
        if (
            find_arg(original_node, "pickle_module") is not None
            or len(positional(original_node)) >= 3
        ):
            self.refuse(
                original_node,
                Reason.PICKLE_MODULE,
                "the call passes its own `pickle_module`; torch refuses it together with "
                "`weights_only=True`",
            )
            return updated_node
        notes = []
        if self._feeds_load_state_dict(original_node):
            notes.append(
                "the result feeds `load_state_dict` (a plain state dict, which the weights-only "
                "unpickler reads)"
            )
        notes.append(_version_note(self.run.project.fact("torch-version", locked_torch)))
        if default:
            self.changed(original_node, "`weights_only=None` → `True`; " + "; ".join(notes))
            return replace_arg(updated_node, "weights_only", cst.Name("True"))
        self.changed(original_node, "added `weights_only=True`; " + "; ".join(notes))
        return append_arg(updated_node, "weights_only", cst.Name("True"))

    def _feeds_load_state_dict(self, call: cst.Call) -> bool:
        """`m.load_state_dict(torch.load(f))`, or `sd = torch.load(f)` followed by
        `m.load_state_dict(sd)` / `m.load_state_dict(sd["model"])` in the same scope."""
        if self._state_dict_argument(call):
            return True
        assign = self.parent(call)
        if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
            return False
        target = assign.targets[0].target
        scope = self.scope(target)
        if not isinstance(target, cst.Name) or scope is None:
            return False
        for assignment in scope.assignments[target.value]:
            if getattr(assignment, "node", None) is not target:
                continue
            for access in assignment.references:
                node: cst.CSTNode = access.node
                parent = self.parent(node)
                if isinstance(parent, cst.Subscript) and parent.value is node:
                    node = parent
                if isinstance(node, cst.BaseExpression) and self._state_dict_argument(node):
                    return True
        return False

    def _state_dict_argument(self, expr: cst.BaseExpression) -> bool:
        arg = self.parent(expr)
        if not isinstance(arg, cst.Arg):
            return False
        call = self.parent(arg)
        return (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "load_state_dict"
        )


def _is_name(node: cst.BaseExpression, value: str) -> bool:
    return isinstance(node, cst.Name) and node.value == value
