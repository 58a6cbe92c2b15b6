"""`harden-pyyaml`: PyYAML loads with a loader that can build arbitrary Python objects.

`yaml.load` / `load_all` without a Loader or with `Loader`, `UnsafeLoader` or `FullLoader` get
`SafeLoader` (`CSafeLoader` for the C loaders); `unsafe_load` and `full_load` (and their
`_all` forms) become `safe_load`. `BaseLoader` and the safe loaders are left alone. Refused:
a project that registers constructors on the non-safe loaders (`add_constructor`,
`add_multi_constructor`, `YAMLObject` subclasses) or keeps YAML with `!!python/` or application
tags (SafeLoader would reject those documents); a Loader coming from a variable; `*args` or
`**kwargs` in the call.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import ClassVar

import libcst as cst

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
    positional,
    splat,
)

_LOADS = frozenset({"yaml.load", "yaml.load_all"})
_RENAMES = {
    "yaml.unsafe_load": "safe_load",
    "yaml.unsafe_load_all": "safe_load_all",
    "yaml.full_load": "safe_load",
    "yaml.full_load_all": "safe_load_all",
}
_PY_UNSAFE = frozenset(
    f"yaml.{mod}{name}"
    for mod in ("", "loader.")
    for name in ("Loader", "UnsafeLoader", "FullLoader")
)
_C_UNSAFE = frozenset(
    f"yaml.{mod}{name}"
    for mod in ("", "cyaml.")
    for name in ("CLoader", "CUnsafeLoader", "CFullLoader")
)
_SAFE = frozenset(
    f"yaml.{mod}{name}"
    for mod in ("", "loader.", "cyaml.")
    for name in ("SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader")
)


@dataclass(frozen=True, slots=True)
class YamlHazard:
    """A repository fact that makes SafeLoader reject or mis-read the project's YAML."""

    path: str
    line: int
    what: str


def yaml_constructors(project: ProjectContext) -> tuple[YamlHazard, ...]:
    """Constructors registered on the non-safe loaders, and `YAMLObject` subclasses."""
    found: list[YamlHazard] = []
    for rel in project.python_files():
        text = project.read(rel)
        if text is None or ("constructor" not in text and "YAMLObject" not in text):
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in ("add_constructor", "add_multi_constructor") and not _safe_target(node):
                    found.append(YamlHazard(rel, node.lineno, f"`{name}` registration"))
            elif isinstance(node, ast.ClassDef):
                for base in node.bases:
                    base_name = (
                        base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                    )
                    if base_name == "YAMLObject":
                        found.append(
                            YamlHazard(rel, node.lineno, f"`YAMLObject` subclass `{node.name}`")
                        )
    return tuple(found)


def _safe_target(call: ast.Call) -> bool:
    # `add_constructor(tag, f, Loader=yaml.SafeLoader)` registers on the safe loader only: the
    # rewritten loads keep seeing it. A `SafeConstructor.add_constructor(...)` call does too.
    func = call.func
    if isinstance(func, ast.Attribute) and "Safe" in ast.unparse(func.value):
        return True
    loader = next((k.value for k in call.keywords if k.arg == "Loader"), None)
    if loader is None and len(call.args) >= 3:
        loader = call.args[2]
    return loader is not None and ast.unparse(loader).endswith("SafeLoader")


# Tags SafeLoader resolves (yaml.constructor.SafeConstructor); anything else is custom.
_SAFE_TAGS = frozenset(
    {"str", "int", "float", "bool", "null", "timestamp", "binary", "omap", "pairs", "set"}
    | {"seq", "map", "merge", "value", "yaml"}
)
_TAG = re.compile(r"(?:^|(?<=[\s\[{,]))(?P<tag>!!?[A-Za-z0-9_][\w./:%-]*)")
_COMMENT = re.compile(r"(?:^|\s)#.*$")
_YAML_LIMIT = 2_000_000


def yaml_tags(project: ProjectContext) -> tuple[YamlHazard, ...]:
    """`!!python/…`, other non-standard `!!` tags and application `!Tags` in repository YAML."""
    from patchpilot.fixers.codemods.project import walk_files

    found: list[YamlHazard] = []
    for rel in walk_files(project.root, (".yaml", ".yml")):
        path = project.root / rel
        try:
            if path.stat().st_size > _YAML_LIMIT:
                continue
        except OSError:
            continue
        text = project.read(rel)
        if text is None or "!" not in text:
            continue
        for number, raw in enumerate(text.splitlines(), start=1):
            line = _COMMENT.sub("", raw)
            if line.lstrip().startswith("%"):
                continue  # %TAG directives name handles, they are not tags on nodes
            for match in _TAG.finditer(line):
                tag = match.group("tag")
                if tag.startswith("!!") and tag[2:] in _SAFE_TAGS:
                    continue
                found.append(YamlHazard(rel, number, f"tag `{tag}`"))
    return tuple(found)


def _describe(hazards: tuple[YamlHazard, ...]) -> str:
    shown = ", ".join(f"{h.what} at {h.path}:{h.line}" for h in hazards[:3])
    more = f" and {len(hazards) - 3} more" if len(hazards) > 3 else ""
    return shown + more


class HardenPyyaml(Codemod):
    """Use PyYAML's SafeLoader where a load could construct arbitrary Python objects."""

    id: ClassVar[str] = "harden-pyyaml"
    cwe: ClassVar[tuple[int, ...]] = (502,)
    tier: ClassVar[Tier] = Tier.A
    title: ClassVar[str] = "Load YAML with SafeLoader"
    rules: ClassVar[tuple[str, ...]] = (
        "B506",
        "S506",
        "python.lang.security.deserialization.avoid-pyyaml-load.avoid-pyyaml-load",
        "avoid-pyyaml-load",
    )
    hints: ClassVar[tuple[str, ...]] = ("yaml",)

    def relevant(self, file: FileContext) -> bool:
        if "yaml" not in file.source or "load" not in file.source:
            return False
        calls = file.calls(_LOADS | _RENAMES.keys())
        return calls is None or bool(calls)

    def project_refusal(self, project: ProjectContext) -> Veto | None:
        constructors = project.fact("yaml-constructors", yaml_constructors)
        if constructors:
            return Veto(
                Reason.CUSTOM_CONSTRUCTORS,
                "the project registers YAML constructors that SafeLoader would not see: "
                + _describe(constructors),
            )
        tags = project.fact("yaml-tags", yaml_tags)
        if tags:
            return Veto(
                Reason.CUSTOM_TAGS,
                "repository YAML uses tags SafeLoader rejects: " + _describe(tags),
            )
        return None

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


class _Transformer(CodemodTransformer):
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        load = self.call_name(original_node, _LOADS)
        rename = self.call_name(original_node, _RENAMES.keys())
        if load is None and rename is None:
            return updated_node
        if not self.may_change(original_node):
            return updated_node
        star = splat(original_node)
        if star is not None:
            reason = Reason.KWARGS_SPLAT if star == "**" else Reason.ARGS_SPLAT
            self.refuse(
                original_node,
                reason,
                f"the call passes `{star}` arguments, which may already carry a Loader",
            )
            return updated_node
        if rename is not None:
            return self._rename(original_node, updated_node, rename)
        return self._loader(original_node, updated_node)

    def _rename(self, original: cst.Call, updated: cst.Call, qualified: str) -> cst.BaseExpression:
        new_name = _RENAMES[qualified]
        func = self.reference(original, "yaml", new_name)
        if func is None:
            self.refuse(original, Reason.NAME_CONFLICT, f"no free name for `yaml.{new_name}`")
            return updated
        old_name = qualified.rsplit(".", 1)[1]
        if isinstance(original.func, cst.Name):
            # By node, so that `from yaml import unsafe_load as ul` goes too.
            self.remove_unused_import_by_node(original.func)
        self.changed(original, f"`{old_name}` → `{new_name}`")
        return updated.with_changes(func=func)

    def _loader(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        keyword = find_arg(original, "Loader")
        args = positional(original)
        given = keyword if keyword is not None else (args[1] if len(args) >= 2 else None)
        if given is None:
            safe = self.reference(original, "yaml", "SafeLoader")
            if safe is None:
                self.refuse(original, Reason.NAME_CONFLICT, "no free name for `yaml.SafeLoader`")
                return updated
            self.changed(original, "added `Loader=SafeLoader`")
            return append_arg(updated, "Loader", safe)
        names = self.qualified_names(given.value)
        if names & _SAFE:
            return updated
        if names & _C_UNSAFE:
            wanted = "CSafeLoader"
        elif names & _PY_UNSAFE:
            wanted = "SafeLoader"
        else:
            code = self.module.code_for_node(given.value)
            self.refuse(
                original,
                Reason.LOADER_FROM_VARIABLE,
                f"the Loader is `{code}`, which patchpilot cannot resolve to a PyYAML loader",
            )
            return updated
        safe = self.reference(original, "yaml", wanted)
        if safe is None:
            self.refuse(original, Reason.NAME_CONFLICT, f"no free name for `yaml.{wanted}`")
            return updated
        old = sorted(names & (_C_UNSAFE | _PY_UNSAFE))[0].rsplit(".", 1)[1]
        if isinstance(given.value, cst.Name):
            self.remove_unused_import_by_node(given.value)
        self.changed(original, f"`{old}` → `{wanted}`")
        index = original.args.index(given)
        new_args = list(updated.args)
        new_args[index] = new_args[index].with_changes(value=safe)
        return updated.with_changes(args=new_args)
