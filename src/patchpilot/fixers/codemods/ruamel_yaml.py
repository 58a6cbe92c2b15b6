"""`harden-ruamel`: ruamel.yaml instances whose loader can build arbitrary Python objects.

`ruamel.yaml.YAML(typ="unsafe")` (and a literal list whose effective type is `"unsafe"`)
becomes `typ="safe"`. ruamel picks the first of `rt`, `safe`, `base`, `unsafe` found in a list,
so `["unsafe", "rt"]` is already round-trip and is left alone, as are `"base"` (strings only:
switching would change the loaded types), `"rt"`, `"safe"` and `"full"` (dump only). Refused:
a `typ` that is not a string literal or list of them, `**kwargs` without `typ`, an instance
that also dumps (the safe representer rejects objects and writes tuples as lists), and every
site in a project that registers custom types (`register_class`, `yaml_object`,
`add_constructor`, ruamel `YAMLObject` subclasses) or keeps YAML with `!!python/` tags.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import ClassVar

import libcst as cst
import libcst.matchers as m

from patchpilot.fixers.codemods.interface import (
    Codemod,
    CodemodTransformer,
    FileRun,
    ProjectContext,
    Reason,
    Tier,
    Veto,
    find_arg,
    splat,
    string_value,
)

_YAML = frozenset({"ruamel.yaml.YAML", "ruamel.yaml.main.YAML"})
# `YAML.__init__` tests the list in this order; the first type present wins.
_PRECEDENCE = ("rt", "safe", "base", "unsafe")
_DUMPS = frozenset({"dump", "dump_all"})
_PYYAML_IMPORT = re.compile(r"^\s*(?:import\s+yaml\b|from\s+yaml\b)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Registration:
    """A custom type registered with ruamel somewhere in the repository."""

    path: str
    line: int
    what: str


def ruamel_registrations(project: ProjectContext) -> tuple[Registration, ...]:
    """`register_class` / `yaml_object` / constructor registrations and ruamel `YAMLObject`
    subclasses: custom types the unsafe constructor may be relied on to build."""
    found: list[Registration] = []
    words = ("register_class", "yaml_object", "add_constructor", "YAMLObject")
    for rel in project.python_files():
        text = project.read(rel)
        if text is None or not any(w in text for w in words):
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        mentions_ruamel = "ruamel" in text
        # A PyYAML-only module's `add_constructor` registers on PyYAML's loaders.
        pyyaml_only = not mentions_ruamel and _PYYAML_IMPORT.search(text) is not None
        for node in ast.walk(tree):
            # Calls and decorators alike (`@yaml.register_class`, `@yaml_object(yaml)`).
            if isinstance(node, ast.Attribute | ast.Name):
                name = _called_name(node)
                if name in ("register_class", "yaml_object") or (
                    name in ("add_constructor", "add_multi_constructor") and not pyyaml_only
                ):
                    found.append(Registration(rel, node.lineno, f"`{name}`"))
            elif (
                isinstance(node, ast.ClassDef)
                and mentions_ruamel
                and any(_called_name(base) == "YAMLObject" for base in node.bases)
            ):
                found.append(Registration(rel, node.lineno, f"`YAMLObject` `{node.name}`"))
    return tuple(found)


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _python_tags(project: ProjectContext) -> tuple[tuple[str, int, str], ...]:
    # Shared with harden-pyyaml (same fact key); only `!!python/` tags matter here: any other
    # unregistered tag fails under the unsafe constructor just as under the safe one.
    from patchpilot.fixers.codemods.pyyaml import yaml_tags

    tags = project.fact("yaml-tags", yaml_tags)
    return tuple((t.path, t.line, t.what) for t in tags if "`!!python/" in t.what)


def _describe(places: list[tuple[str, int, str]]) -> str:
    shown = ", ".join(f"{what} at {path}:{line}" for path, line, what in places[:3])
    more = f" and {len(places) - 3} more" if len(places) > 3 else ""
    return shown + more


def effective_typ(value: cst.BaseExpression) -> tuple[str | None, bool]:
    """The type a literal `typ` selects and whether it is a literal at all.

    A string gives itself; a list of strings gives the first of `rt`, `safe`, `base`, `unsafe`
    it contains (ruamel's own order), else None. Anything else is not a literal.
    """
    text = string_value(value)
    if text is not None:
        return text, True
    if isinstance(value, cst.List):
        items: list[str] = []
        for element in value.elements:
            if not isinstance(element, cst.Element):
                return None, False
            item = string_value(element.value)
            if item is None:
                return None, False
            items.append(item)
        return next((t for t in _PRECEDENCE if t in items), None), True
    if isinstance(value, cst.Name) and value.value == "None":
        return "rt", True
    return None, False


def _safe_string(old: cst.BaseExpression) -> cst.SimpleString:
    """`"safe"` written with the quotes of the literal it replaces."""
    first = old
    while isinstance(first, cst.ConcatenatedString):
        first = first.left
    if isinstance(first, cst.SimpleString):
        return cst.SimpleString(f"{first.prefix}{first.quote}safe{first.quote}")
    return cst.SimpleString('"safe"')


class HardenRuamel(Codemod):
    """Use ruamel.yaml's safe loader instead of `typ="unsafe"`."""

    id: ClassVar[str] = "harden-ruamel"
    cwe: ClassVar[tuple[int, ...]] = (502,)
    tier: ClassVar[Tier] = Tier.A
    title: ClassVar[str] = 'Load YAML with ruamel.yaml typ="safe"'
    rules: ClassVar[tuple[str, ...]] = ("harden-ruamel",)
    hints: ClassVar[tuple[str, ...]] = ("ruamel",)

    def project_refusal(self, project: ProjectContext) -> Veto | None:
        registrations = project.fact("ruamel-registrations", ruamel_registrations)
        if registrations:
            return Veto(
                Reason.CUSTOM_CONSTRUCTORS,
                "the project registers custom YAML types that the safe loader would not "
                "build: " + _describe([(r.path, r.line, r.what) for r in registrations]),
            )
        tags = _python_tags(project)
        if tags:
            return Veto(
                Reason.CUSTOM_TAGS,
                "repository YAML uses `!!python/` tags, which only the unsafe loader builds: "
                + _describe(list(tags)),
            )
        return None

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


class _Transformer(CodemodTransformer):
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if self.call_name(original_node, _YAML) is None:
            return updated_node
        typ = find_arg(original_node, "typ")
        if typ is None:
            if splat(original_node) == "**" and self.may_change(original_node):
                self.refuse(
                    original_node,
                    Reason.KWARGS_SPLAT,
                    "`typ` may come from the `**` arguments, which patchpilot cannot read",
                )
            return updated_node
        chosen, literal = effective_typ(typ.value)
        if literal and chosen != "unsafe":
            return updated_node
        if not self.may_change(original_node):
            return updated_node
        if not literal:
            code = self.module.code_for_node(typ.value)
            self.refuse(
                original_node,
                Reason.NOT_A_LITERAL,
                f"`typ={code}` is not a string literal; patchpilot cannot tell which loader "
                "it selects",
            )
            return updated_node
        dumper = self._dumps(original_node)
        if dumper is not None:
            self.refuse(
                original_node,
                Reason.DUMPS_OBJECTS,
                f"the instance also dumps (line {dumper}); the safe representer rejects "
                "arbitrary objects and writes tuples as plain lists",
            )
            return updated_node
        self.changed(original_node, '`typ="unsafe"` → `typ="safe"`')
        return _retyped(updated_node)

    def _dumps(self, call: cst.Call) -> int | None:
        """The line of a `dump` / `dump_all` on the instance `call` creates, if this file has
        one: chained on the call, or on the name or attribute the call is bound to."""
        parent = self.parent(call)
        if isinstance(parent, cst.Attribute) and parent.attr.value in _DUMPS:
            return self.line(parent)
        bound: cst.BaseExpression | None = None
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            bound = parent.targets[0].target
        elif isinstance(parent, cst.AnnAssign):
            bound = parent.target
        elif isinstance(parent, cst.WithItem) and parent.asname is not None:
            bound = parent.asname.name
        if not isinstance(bound, cst.Name | cst.Attribute):
            return None
        spelled = self.module.code_for_node(bound)
        for found in m.findall(self.module, m.Call(func=m.Attribute())):
            func = found.func if isinstance(found, cst.Call) else None
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value in _DUMPS
                and self.module.code_for_node(func.value) == spelled
            ):
                return self.line(found)
        return None


def _retyped(call: cst.Call) -> cst.Call:
    args: list[cst.Arg] = []
    for arg in call.args:
        if arg.keyword is None or arg.keyword.value != "typ":
            args.append(arg)
            continue
        value = arg.value
        if isinstance(value, cst.List):
            elements = [
                e.with_changes(value=_safe_string(e.value))
                if isinstance(e, cst.Element) and string_value(e.value) == "unsafe"
                else e
                for e in value.elements
            ]
            args.append(arg.with_changes(value=value.with_changes(elements=elements)))
        else:
            args.append(arg.with_changes(value=_safe_string(value)))
    return call.with_changes(args=args)
