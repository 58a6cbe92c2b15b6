"""The public-API difference between two versions of a distribution, as `ApiBreak` values.

Both source trees are loaded statically with griffe (no inspection, so no code of theirs
runs). griffe's own `find_breaking_changes` finds removed objects and incompatible signatures
(removed, moved, renamed or newly required parameters, changed defaults, changed return
annotations); a second pass over every module's names finds what griffe leaves out because it
only follows objects defined in the package: names a module imported from elsewhere and
re-exported (`jinja2.Markup` from markupsafe) that the new version no longer has. The result,
an `ApiDiff`, also keeps what call-site matching needs without the trees: each old public
name's canonical path, and which module-level names each version has. It is cached on disk
per (distribution, old, new) as JSON, so a second run reads one file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from patchpilot.errors import BreakingError
from patchpilot.planning.breaking import distributions

if TYPE_CHECKING:
    import griffe

_CACHE_FORMAT = 2
# Special methods that a caller never names; their removal says nothing about call sites.
_CALLED_DUNDERS = frozenset({"__init__", "__call__", "__new__"})


class BreakKind(StrEnum):
    """What changed incompatibly between two versions of one public object."""

    REMOVED_MODULE = "removed-module"
    REMOVED_CLASS = "removed-class"
    REMOVED_FUNCTION = "removed-function"
    REMOVED_ATTRIBUTE = "removed-attribute"
    REMOVED_NAME = "removed-name"  # a re-exported name whose old kind cannot be resolved
    REMOVED_PARAMETER = "removed-parameter"
    RENAMED_PARAMETER = "renamed-parameter"
    NEW_REQUIRED_PARAMETER = "new-required-parameter"
    PARAMETER_BECAME_REQUIRED = "parameter-became-required"
    PARAMETER_MOVED = "parameter-moved"
    PARAMETER_CHANGED_KIND = "parameter-changed-kind"
    CHANGED_DEFAULT = "changed-default"
    CHANGED_RETURN = "changed-return"
    CHANGED_KIND = "changed-kind"
    REMOVED_BASE = "removed-base"

    @property
    def is_removal(self) -> bool:
        return self.value.startswith("removed-") and self not in _NOT_OBJECT_REMOVALS


_NOT_OBJECT_REMOVALS = frozenset({BreakKind.REMOVED_PARAMETER, BreakKind.REMOVED_BASE})


@dataclass(frozen=True, slots=True)
class ApiBreak:
    """One incompatible change of the public API.

    `path` is the dotted path of the object (for parameter changes, of the function; for
    names a package re-exported, the public path such as `jinja2.Markup`). `detail` is one
    human sentence. For parameter changes `param` is the parameter's name and
    `old_position`/`new_position` its index in the old/new signature (None where it does not
    exist); `bound` says the first parameter is `self`/`cls`, which callers do not pass.
    """

    kind: BreakKind
    path: str
    detail: str
    param: str | None = None
    old_position: int | None = None
    new_position: int | None = None
    bound: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ApiBreak:
        return cls(
            kind=BreakKind(data["kind"]),
            path=str(data["path"]),
            detail=str(data["detail"]),
            param=data.get("param"),
            old_position=data.get("old_position"),
            new_position=data.get("new_position"),
            bound=bool(data.get("bound", False)),
        )


@dataclass(frozen=True, slots=True)
class ApiDiff:
    """The API breaks between `old` and `new` of distribution `name`, with lookup tables.

    `packages` are the import names the distribution provides. `canonical` maps an old public
    path that is an alias (`urllib3.Retry`) to where it is defined
    (`urllib3.util.retry.Retry`). `old_names`/`new_names` are every module and module-level
    name of each version; `dynamic` holds what a new module's `__getattr__` may still answer
    at run time: `mod.name` for each name it spells out, or `mod` itself when it forwards
    every name.
    """

    name: str
    old: str
    new: str
    packages: tuple[str, ...]
    breaks: tuple[ApiBreak, ...]
    canonical: Mapping[str, str] = field(default_factory=dict)
    old_names: frozenset[str] = frozenset()
    new_names: frozenset[str] = frozenset()
    dynamic: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        return {
            "format": _CACHE_FORMAT,
            "name": self.name,
            "old": self.old,
            "new": self.new,
            "packages": list(self.packages),
            "breaks": [b.to_json() for b in self.breaks],
            "canonical": dict(sorted(self.canonical.items())),
            "old_names": sorted(self.old_names),
            "new_names": sorted(self.new_names),
            "dynamic": sorted(self.dynamic),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ApiDiff:
        return cls(
            name=str(data["name"]),
            old=str(data["old"]),
            new=str(data["new"]),
            packages=tuple(data["packages"]),
            breaks=tuple(ApiBreak.from_json(b) for b in data["breaks"]),
            canonical=dict(data["canonical"]),
            old_names=frozenset(data["old_names"]),
            new_names=frozenset(data["new_names"]),
            dynamic=frozenset(data["dynamic"]),
        )

    def resolve(self, path: str) -> str:
        """`path` with its longest aliased prefix replaced by the canonical old path."""
        parts = path.split(".")
        for _ in range(8):  # alias chains are short; the bound guards against cycles
            for cut in range(len(parts), 0, -1):
                prefix = ".".join(parts[:cut])
                target = self.canonical.get(prefix)
                if target is not None and target != prefix:
                    parts = target.split(".") + parts[cut:]
                    break
            else:
                break
        return ".".join(parts)


def diff(name: str, old: str, new: str, cache_dir: Path) -> ApiDiff:
    """The API breaks of upgrading `name` from `old` to `new`, cached under `cache_dir`."""
    cached = _cache_path(cache_dir, name, old, new)
    if cached.is_file():
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(cached.read_text(encoding="utf-8"))
            if data.get("format") == _CACHE_FORMAT:
                return ApiDiff.from_json(data)
    old_tree = distributions.fetch(name, old, cache_dir)
    new_tree = distributions.fetch(name, new, cache_dir)
    packages = tuple(
        sorted(
            set(distributions.import_names(old_tree)) | set(distributions.import_names(new_tree))
        )
    )
    result = compare_trees(name, old, new, old_tree, new_tree, packages)
    _write_atomically(cached, json.dumps(result.to_json(), indent=1))
    return result


def compare_trees(
    name: str, old: str, new: str, old_tree: Path, new_tree: Path, packages: tuple[str, ...]
) -> ApiDiff:
    """Diff the public API of every package in `packages` between two source trees."""
    import griffe

    breaks: dict[tuple[str, str, str | None], ApiBreak] = {}
    canonical: dict[str, str] = {}
    old_names: set[str] = set()
    new_names: set[str] = set()
    dynamic: set[str] = set()
    # griffe warns through logging about unparsable files and odd objects; those are expected
    # in third-party trees and are not this tool's messages.
    griffe_logger = logging.getLogger("griffe")
    level = griffe_logger.level
    griffe_logger.setLevel(logging.CRITICAL)
    try:
        for package in packages:
            old_root = _load(name, old, package, old_tree)
            new_root = _load(name, new, package, new_tree)
            if old_root is None:
                continue
            old_surface = _surface(old_root)
            old_names.update(old_surface.names)
            canonical.update(old_surface.canonical)
            if new_root is None:
                breaks[(BreakKind.REMOVED_MODULE, package, None)] = ApiBreak(
                    BreakKind.REMOVED_MODULE, package, f"module {package} was removed in {new}"
                )
                continue
            new_surface = _surface(new_root)
            new_names.update(new_surface.names)
            dynamic.update(new_surface.dynamic)
            try:
                found = list(griffe.find_breaking_changes(old_root, new_root))
            except (griffe.AliasResolutionError, griffe.CyclicAliasError, RecursionError):
                found = []
            for breakage in found:
                converted = _convert(breakage, new)
                if converted is not None:
                    breaks.setdefault((converted.kind, converted.path, converted.param), converted)
            reported = {b.path for b in breaks.values() if b.kind.is_removal}
            for path in sorted(old_surface.public - new_surface.names):
                if _under_any(path, reported) or _module_is_dynamic(path, new_surface.dynamic):
                    continue
                kind = old_surface.kinds.get(path, BreakKind.REMOVED_NAME)
                brk = ApiBreak(kind, path, f"{path} was removed in {new}")
                breaks.setdefault((brk.kind, brk.path, None), brk)
                reported.add(path)
    finally:
        griffe_logger.setLevel(level)
    return ApiDiff(
        name=name,
        old=old,
        new=new,
        packages=packages,
        breaks=_mark_renames(tuple(sorted(breaks.values(), key=_order))),
        canonical=canonical,
        old_names=frozenset(old_names),
        new_names=frozenset(new_names),
        dynamic=frozenset(dynamic),
    )


def _order(brk: ApiBreak) -> tuple[str, str, str]:
    return (brk.path, brk.kind.value, brk.param or "")


def _under_any(path: str, prefixes: set[str]) -> bool:
    parts = path.split(".")
    return any(".".join(parts[:cut]) in prefixes for cut in range(1, len(parts) + 1))


def _module_is_dynamic(path: str, dynamic: set[str]) -> bool:
    return path in dynamic or path.rsplit(".", 1)[0] in dynamic


def _load(name: str, version: str, package: str, tree: Path) -> griffe.Object | None:
    import griffe

    if not (tree / package).is_dir() and not (tree / f"{package}.py").is_file():
        return None
    try:
        loaded = griffe.load(
            package,
            search_paths=[tree],
            allow_inspection=False,
            try_relative_path=False,
            store_source=False,
            resolve_aliases=False,
        )
    except (ImportError, griffe.LoadingError, OSError, SyntaxError, ValueError) as e:
        raise BreakingError(name, version, f"cannot read package {package}: {e}") from e
    except RecursionError as e:
        raise BreakingError(name, version, f"package {package} nests too deeply to read") from e
    if isinstance(loaded, griffe.Alias):
        return None
    return loaded


@dataclass(slots=True)
class _Surface:
    names: set[str] = field(default_factory=set)
    public: set[str] = field(default_factory=set)
    canonical: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, BreakKind] = field(default_factory=dict)
    dynamic: set[str] = field(default_factory=set)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _walk_modules(root: griffe.Module) -> Iterator[griffe.Module]:
    stack = [root]
    seen: set[str] = set()
    while stack:
        module = stack.pop()
        if module.path in seen:
            continue
        seen.add(module.path)
        yield module
        stack.extend(m for m in module.modules.values() if not m.is_alias)


def _surface(root: griffe.Object) -> _Surface:
    """Every module-level name of a package, which of them are public, and what aliases mean.

    Public: not underscored, in `__all__` where the module has one; otherwise an object the
    package defines, or a name it re-exports from a third-party package. Names imported from
    the standard library (`os`, `typing.Any`) are part of no one's API.
    """
    import griffe

    surface = _Surface()
    if not isinstance(root, griffe.Module):
        return surface
    top = root.path.split(".")[0]
    for module in _walk_modules(root):
        private_module = any(_is_private(part) for part in module.path.split("."))
        surface.names.add(module.path)
        if not private_module:
            surface.public.add(module.path)
            surface.kinds[module.path] = BreakKind.REMOVED_MODULE
        exports = _exports(module)
        if "__getattr__" in module.members:
            surface.dynamic.update(_dynamic_names(module))
        for member_name, member in module.members.items():
            if not member_name.isidentifier():
                continue  # griffe's placeholders for wildcard imports (`loader/*`)
            path = f"{module.path}.{member_name}"
            surface.names.add(path)
            if private_module or member_name.startswith("_"):
                continue
            if isinstance(member, griffe.Alias):
                target = _alias_target(member)
                if target is None:
                    continue
                target_path, target_kind = target
                surface.canonical[path] = target_path
                target_top = target_path.split(".")[0]
                stdlib = target_top in sys.stdlib_module_names or target_top == "builtins"
                foreign_module = target_kind is BreakKind.REMOVED_MODULE and target_top != top
                if exports is not None:
                    public = member_name in exports
                else:
                    public = not stdlib and not foreign_module
                if public:
                    surface.public.add(path)
                    surface.kinds[path] = target_kind
                continue
            if exports is not None and member_name not in exports and not member.is_module:
                continue
            surface.public.add(path)
            surface.kinds[path] = _kind_of(member)
    return surface


def _dynamic_names(module: griffe.Module) -> set[str]:
    """What a module-level `__getattr__` answers: `mod.name` for each name it spells out.

    The names are the string constants in the function's body and in module-level literals it
    reads (a `_deprecated = {"Markup": ...}` table). A `__getattr__` that spells out no name
    (it forwards everything) makes the whole module dynamic: the result is the module's own
    path. The file is parsed, never run.
    """
    import ast

    everything = {module.path}
    filepath = module.filepath
    if not isinstance(filepath, Path):
        return everything
    try:
        tree = ast.parse(filepath.read_bytes(), filename=str(filepath))
    except (SyntaxError, ValueError, OSError, RecursionError):
        return everything
    literals: dict[str, ast.AST] = {}
    hook: ast.AST | None = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            hook = node
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    literals[target.id] = node.value
    if hook is None:
        return everything
    sources = [hook] + [
        literals[n.id] for n in ast.walk(hook) if isinstance(n, ast.Name) and n.id in literals
    ]
    names = {
        f"{module.path}.{n.value}"
        for source in sources
        for n in ast.walk(source)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.isidentifier()
    }
    return names or everything


def _exports(module: griffe.Module) -> set[str] | None:
    exports = module.exports
    if exports is None:
        return None
    names: set[str] = set()
    for item in exports:
        names.add(item if isinstance(item, str) else str(getattr(item, "name", item)))
    return names


def _kind_of(obj: griffe.Object | griffe.Alias) -> BreakKind:
    if obj.is_module:
        return BreakKind.REMOVED_MODULE
    if obj.is_class:
        return BreakKind.REMOVED_CLASS
    if obj.is_function:
        return BreakKind.REMOVED_FUNCTION
    if obj.is_attribute:
        return BreakKind.REMOVED_ATTRIBUTE
    return BreakKind.REMOVED_NAME


def _alias_target(alias: griffe.Alias) -> tuple[str, BreakKind] | None:
    """Where an alias points and the kind of that object (`REMOVED_NAME` when unknown)."""
    import griffe

    try:
        target = alias.final_target
    except (griffe.AliasResolutionError, griffe.CyclicAliasError, RecursionError):
        try:
            return alias.target_path, BreakKind.REMOVED_NAME
        except (griffe.AliasResolutionError, griffe.CyclicAliasError, RecursionError):
            return None
    return target.path, _kind_of(target)


def _param_position(function: Any, param_name: str) -> int | None:
    for index, param in enumerate(function.parameters):
        if param.name == param_name:
            return index
    return None


def _is_bound(function: Any) -> bool:
    parent = getattr(function, "parent", None)
    labels: set[str] = getattr(function, "labels", set())
    return bool(parent is not None and parent.is_class and "staticmethod" not in labels)


def _convert(breakage: griffe.Breakage, new: str) -> ApiBreak | None:
    """One griffe breakage as an `ApiBreak`, or None for what callers cannot notice."""
    import griffe

    obj = breakage.obj
    try:
        path = obj.path if obj.is_alias else obj.canonical_path
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        path = obj.path
    kind = breakage.kind
    bk = griffe.BreakageKind
    old_param = breakage.old_value
    new_param = breakage.new_value
    if kind is bk.OBJECT_REMOVED:
        leaf = path.rsplit(".", 1)[-1]
        if leaf.startswith("__") and leaf.endswith("__") and leaf not in _CALLED_DUNDERS:
            return None
        try:
            removed_kind = _kind_of(obj.final_target if isinstance(obj, griffe.Alias) else obj)
        except (griffe.AliasResolutionError, griffe.CyclicAliasError, RecursionError):
            removed_kind = BreakKind.REMOVED_NAME
        return ApiBreak(removed_kind, path, f"{path} was removed in {new}")
    if kind is bk.OBJECT_CHANGED_KIND:
        return ApiBreak(
            BreakKind.CHANGED_KIND,
            path,
            f"{path} changed from {getattr(old_param, 'value', old_param)} to "
            f"{getattr(new_param, 'value', new_param)} in {new}",
        )
    if kind is bk.CLASS_REMOVED_BASE:
        old_bases = {str(b) for b in old_param or ()} - {"object"}
        new_bases = {str(b) for b in new_param or ()}
        lost = sorted(old_bases - new_bases)
        if not lost:
            return None
        return ApiBreak(
            BreakKind.REMOVED_BASE, path, f"{path} no longer derives from {', '.join(lost)}"
        )
    if kind is bk.RETURN_CHANGED_TYPE:
        return ApiBreak(
            BreakKind.CHANGED_RETURN,
            path,
            f"{path} returns {new_param} instead of {old_param} in {new}",
        )
    if kind is bk.ATTRIBUTE_CHANGED_TYPE:
        return ApiBreak(BreakKind.CHANGED_KIND, path, f"{path} changed type in {new}")
    table = _param_kind_table()
    if kind not in table:
        return None
    param = old_param if old_param is not None else new_param
    param_name = str(getattr(param, "name", "?"))
    old_function = _old_function_of(breakage)
    old_position = _param_position(old_function, param_name) if old_function else None
    new_position = _param_position(obj, param_name)
    bound = _is_bound(obj)
    ours, text = table[kind]
    detail = f"{path}: parameter {param_name} {text} in {new}"
    if kind is bk.PARAMETER_CHANGED_DEFAULT:
        detail = (
            f"{path}: default of {param_name} changed from {getattr(old_param, 'default', None)} "
            f"to {getattr(new_param, 'default', None)} in {new}"
        )
    return ApiBreak(ours, path, detail, param_name, old_position, new_position, bound)


def _old_function_of(breakage: griffe.Breakage) -> Any:
    old_param = breakage.old_value
    return getattr(old_param, "function", None) if old_param is not None else None


def _param_kind_table() -> dict[Any, tuple[BreakKind, str]]:
    import griffe

    bk = griffe.BreakageKind
    return {
        bk.PARAMETER_REMOVED: (BreakKind.REMOVED_PARAMETER, "was removed"),
        bk.PARAMETER_ADDED_REQUIRED: (BreakKind.NEW_REQUIRED_PARAMETER, "was added as required"),
        bk.PARAMETER_CHANGED_REQUIRED: (BreakKind.PARAMETER_BECAME_REQUIRED, "became required"),
        bk.PARAMETER_MOVED: (BreakKind.PARAMETER_MOVED, "moved position"),
        bk.PARAMETER_CHANGED_KIND: (BreakKind.PARAMETER_CHANGED_KIND, "changed kind"),
        bk.PARAMETER_CHANGED_DEFAULT: (BreakKind.CHANGED_DEFAULT, "changed default"),
    }


def _mark_renames(breaks: tuple[ApiBreak, ...]) -> tuple[ApiBreak, ...]:
    """A parameter removed where a new required one now stands is a rename (`nodes`→`values`).

    Positional callers are unaffected by a rename; keyword callers are not, so it stays a
    break, under its own kind.
    """
    added = {
        (b.path, b.new_position): b
        for b in breaks
        if b.kind is BreakKind.NEW_REQUIRED_PARAMETER and b.new_position is not None
    }
    out: list[ApiBreak] = []
    consumed: set[tuple[str, int | None]] = set()
    for brk in breaks:
        key = (brk.path, brk.old_position)
        if brk.kind is BreakKind.REMOVED_PARAMETER and key in added:
            successor = added[key]
            consumed.add(key)
            out.append(
                ApiBreak(
                    BreakKind.RENAMED_PARAMETER,
                    brk.path,
                    f"{brk.path}: parameter {brk.param} was renamed to {successor.param}"
                    + brk.detail.rsplit(" was removed", 1)[-1],
                    brk.param,
                    brk.old_position,
                    successor.new_position,
                    brk.bound,
                )
            )
        else:
            out.append(brk)
    return tuple(
        b
        for b in out
        if not (b.kind is BreakKind.NEW_REQUIRED_PARAMETER and (b.path, b.new_position) in consumed)
    )


def _cache_path(cache_dir: Path, name: str, old: str, new: str) -> Path:
    safe = f"{canonicalize_name(name)}--{old}--{new}".replace("/", "_")
    return cache_dir / "apidiff" / f"{safe}.json"


def _write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        Path(tmp).replace(path)
    except OSError:
        # The cache only saves time; a read-only cache directory must not fail the check.
        return
