"""`harden-lxml`: lxml parsers that resolve external entities (XXE) and reach the network.

`lxml.etree.XMLParser(...)` without `resolve_entities` gets `resolve_entities=False` and, unless
the call sets it, `no_network=True`; `lxml.etree.parse` / `fromstring` / `XML` without a parser
get `parser=<etree>.XMLParser(resolve_entities=False, no_network=True)`, spelled with the file's
own name for `lxml.etree`. Where the project's locked lxml is 5.0 or newer the value is
`"internal"` instead: that is lxml's own default there (internal entities still expand, the
rewrite only makes it explicit), whereas lxml 4 treats `"internal"` as true and would resolve
external entities too. Refused: DTD features (`load_dtd`, `attribute_defaults`,
`dtd_validation`), XInclude in the file, an explicit `resolve_entities=True`, non-literal
flags, `*args` / `**kwargs`, and parse calls in a project that replaces lxml's default parser
(`set_default_parser`), whose settings an explicit parser would drop.
"""

from __future__ import annotations

import ast
from typing import ClassVar

import libcst as cst
from packaging.version import InvalidVersion, Version

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
    replace_arg,
    splat,
    string_value,
)

_ETREE = "lxml.etree"
_PARSER = frozenset({f"{_ETREE}.XMLParser"})
_PARSE = frozenset({f"{_ETREE}.parse", f"{_ETREE}.fromstring", f"{_ETREE}.XML"})
_DTD_FLAGS = ("load_dtd", "attribute_defaults", "dtd_validation")
# lxml 5.0 made `resolve_entities="internal"` the XMLParser default (and added the value).
_INTERNAL_SINCE = Version("5.0")


def locked_lxml(project: ProjectContext) -> Version | None:
    """The project's locked lxml version, None when unknown."""
    locked = project.locked.get("lxml")
    if locked is None:
        return None
    try:
        return Version(locked)
    except InvalidVersion:
        return None


def default_parser_changes(project: ProjectContext) -> tuple[tuple[str, int], ...]:
    """Places that call `set_default_parser` (lxml's process-wide parser)."""
    found: list[tuple[str, int]] = []
    for rel in project.python_files():
        text = project.read(rel)
        if text is None or "set_default_parser" not in text:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name == "set_default_parser":
                    found.append((rel, node.lineno))
    return tuple(found)


def xinclude_line(source: str) -> int | None:
    """The first line of a module that processes XInclude (`.xinclude()`, `XInclude`)."""
    if "xinclude" not in source.lower():
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("xinclude", "XInclude"):
            return node.lineno
        if isinstance(node, ast.Name) and node.id == "XInclude":
            return node.lineno
    return None


def _literal(value: cst.BaseExpression) -> tuple[bool, bool | str | None]:
    """Whether `value` is `True` / `False` / `None` or a string literal, and which."""
    if isinstance(value, cst.Name) and value.value in ("True", "False", "None"):
        return True, {"True": True, "False": False, "None": None}[value.value]
    text = string_value(value)
    return (True, text) if text is not None else (False, None)


class HardenLxml(Codemod):
    """Parse XML with lxml without resolving external entities or fetching from the network."""

    id: ClassVar[str] = "harden-lxml"
    cwe: ClassVar[tuple[int, ...]] = (611, 776)
    tier: ClassVar[Tier] = Tier.A
    title: ClassVar[str] = "Parse XML with lxml without external entities or network access"
    rules: ClassVar[tuple[str, ...]] = ("B320", "B410", "S320", "safe-lxml-parser-defaults")
    hints: ClassVar[tuple[str, ...]] = ("lxml",)

    def file_refusal(self, file: FileContext, project: ProjectContext) -> Veto | None:
        line = xinclude_line(file.source)
        if line is not None:
            return Veto(
                Reason.XINCLUDE,
                f"the module processes XInclude (line {line}), which loads the documents a "
                "hardened parser would refuse",
            )
        return super().file_refusal(file, project)

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


class _Transformer(CodemodTransformer):
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if self.call_name(original_node, _PARSER):
            return self._parser(original_node, updated_node)
        if self.call_name(original_node, _PARSE):
            return self._parse(original_node, updated_node)
        return updated_node

    def _setting(self) -> tuple[cst.BaseExpression, str]:
        """The `resolve_entities` value for this project and a note for the description."""
        version = self.run.project.fact("lxml-version", locked_lxml)
        if version is not None and version >= _INTERNAL_SINCE:
            return (
                cst.SimpleString('"internal"'),
                f" (lxml {version} already defaults to `'internal'`; now explicit)",
            )
        return cst.Name("False"), ""

    def _splat(self, call: cst.Call, what: str) -> bool:
        star = splat(call)
        if star is None:
            return False
        self.refuse(
            call,
            Reason.KWARGS_SPLAT if star == "**" else Reason.ARGS_SPLAT,
            f"the call passes `{star}` arguments, which may already carry {what}",
        )
        return True

    def _parser(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        resolve = find_arg(original, "resolve_entities")
        if resolve is not None:
            literal, value = _literal(resolve.value)
            if literal and value is not True:
                return updated
            if not self.may_change(original):
                return updated
            if literal:
                self.refuse(
                    original,
                    Reason.ENTITIES_REQUESTED,
                    "the parser asks for entity resolution explicitly (`resolve_entities=True`)",
                )
            else:
                code = self.module.code_for_node(resolve.value)
                self.refuse(
                    original,
                    Reason.NOT_A_LITERAL,
                    f"`resolve_entities={code}` is not a literal; patchpilot cannot tell "
                    "whether external entities are resolved",
                )
            return updated
        if not self.may_change(original) or self._splat(original, "`resolve_entities`"):
            return updated
        if self._needs_dtd(original):
            return updated
        setting, note = self._setting()
        spelled = self.module.code_for_node(setting)
        new = append_arg(updated, "resolve_entities", setting)
        added = f"`resolve_entities={spelled}`"
        if find_arg(original, "no_network") is None:
            new = append_arg(new, "no_network", cst.Name("True"))
            added += ", `no_network=True`"
        self.changed(original, f"added {added} to `XMLParser`{note}")
        return new

    def _needs_dtd(self, call: cst.Call) -> bool:
        for flag in _DTD_FLAGS:
            arg = find_arg(call, flag)
            if arg is None:
                continue
            literal, value = _literal(arg.value)
            if literal and not value:
                continue
            if literal:
                self.refuse(
                    call,
                    Reason.NEEDS_DTD,
                    f"`{flag}=True`: the code relies on the document's DTD, which a "
                    "hardened parser may no longer load",
                )
            else:
                code = self.module.code_for_node(arg.value)
                self.refuse(
                    call,
                    Reason.NOT_A_LITERAL,
                    f"`{flag}={code}` is not a literal; the code may rely on the DTD",
                )
            return True
        return False

    def _parse(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        keyword = find_arg(original, "parser")
        if keyword is not None and _literal(keyword.value) != (True, None):
            return updated
        if keyword is None and len(positional(original)) >= 2:
            return updated
        name = self.call_name(original, _PARSE) or ""
        function = name.rsplit(".", 1)[-1]
        if not self.may_change(original) or self._splat(original, "a parser"):
            return updated
        places = self.run.project.fact("lxml-default-parser", default_parser_changes)
        if places:
            rel, line = places[0]
            self.refuse(
                original,
                Reason.DEFAULT_PARSER,
                f"the project replaces lxml's default parser (`set_default_parser` at "
                f"{rel}:{line}); an explicit parser would drop its settings",
            )
            return updated
        factory = self.reference(original, _ETREE, "XMLParser", like=original.func)
        if factory is None:
            self.refuse(original, Reason.NAME_CONFLICT, "no free name for `lxml.etree.XMLParser`")
            return updated
        value, note = self._setting()
        parser = append_arg(
            append_arg(cst.Call(func=factory), "resolve_entities", value),
            "no_network",
            cst.Name("True"),
        )
        spelled = self.module.code_for_node(value)
        self.changed(
            original,
            f"`{function}` now uses `XMLParser(resolve_entities={spelled}, no_network=True)`"
            + note,
        )
        if keyword is not None:
            return replace_arg(updated, "parser", parser)
        return append_arg(updated, "parser", parser)
