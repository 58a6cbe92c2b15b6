"""Static evidence: does the project's own code import a distribution and name its targets?

A distribution maps to the import names it installs (`top_level.txt`, else the `RECORD` of
its `.dist-info` in a given site-packages). The project's Python files are parsed with `ast`
and every import is followed through its aliases (`import yaml as y; y.load`, `from yaml
import load as ld`, `import yaml.constructor as yc`), so a reference is a dotted name resolved
back to the distribution's modules, with file and line. A reference matches a target when it
names it, names it through a parent package that re-exports it, or names the class that
defines a target method. The verdict is `reachable` when some target is referenced,
`not-referenced` only when nothing is referenced *and* no escape hatch exists; escape hatches
are dynamic imports (`importlib.import_module`/`__import__` with a computed name),
`eval`/`exec`/`compile`, `getattr` with a computed name, a star import of the distribution and
files that do not parse. With any of them the verdict is `unknown`, naming their places.
Imports under `if TYPE_CHECKING:` are not imports at run time and are ignored.
"""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.utils import canonicalize_name

from patchpilot.errors import VerifyError, where
from patchpilot.model import Location
from patchpilot.verify.targets import Target

Verdict = Literal["reachable", "not-referenced", "unknown"]
_SKIP_DIRS = frozenset(
    {"site-packages", "node_modules", "__pycache__", "build", "dist", "venv", "env", ".venv"}
)
_EVAL = frozenset({"eval", "exec", "compile"})


@dataclass(frozen=True, slots=True)
class SymbolReference:
    """A place in the project's code that names a target (`kind`: exact, re-export, class)."""

    target: str  # Target.id
    name: str  # the dotted name as resolved, e.g. `yaml.load`
    location: Location
    kind: str


@dataclass(frozen=True, slots=True)
class EscapeHatch:
    """A construct that could use the distribution without naming it statically."""

    construct: str
    location: Location


@dataclass(frozen=True, slots=True)
class StaticEvidence:
    """What the project's code says about one distribution and its targets."""

    distribution: str
    import_names: tuple[str, ...]
    imports: tuple[Location, ...]
    references: tuple[SymbolReference, ...]
    escape_hatches: tuple[EscapeHatch, ...]
    files_scanned: int
    verdict: Verdict
    reason: str

    @property
    def imported(self) -> bool:
        return bool(self.imports)


# --- distribution -> import names -------------------------------------------------------


def import_names(site_packages: Path, distribution: str) -> tuple[str, ...]:
    """The top-level import names `distribution` installs into `site_packages`.

    `RECORD` (what was really installed) comes first; `top_level.txt` is only a fallback, as
    it can name modules a build left out (PyYAML's `_yaml` when built without libyaml).
    Raises `VerifyError` when the distribution is not installed there.
    """
    info = _dist_info(site_packages, distribution)
    record = info / "RECORD"
    if record.is_file():
        out: set[str] = set()
        for row in csv.reader(io.StringIO(_read(record))):
            path = row[0] if row else ""
            first = path.split("/", 1)[0]
            if (
                not path
                or first.endswith((".dist-info", ".data"))
                or first in {"..", "__pycache__"}
            ):
                continue
            if "/" in path:
                out.add(first)
            elif path.endswith((".py", ".so", ".pyd")):
                out.add(first.split(".", 1)[0])
        return tuple(sorted(n for n in out if n.isidentifier()))
    top = info / "top_level.txt"
    if not top.is_file():
        raise VerifyError(f"{where(info)}: neither RECORD nor top_level.txt")
    names = [n.strip().replace("/", ".").split(".")[0] for n in _read(top).splitlines()]
    return tuple(sorted({n for n in names if n.isidentifier()}))


def _dist_info(site_packages: Path, distribution: str) -> Path:
    want = canonicalize_name(distribution)
    try:
        entries = sorted(site_packages.iterdir())
    except OSError as e:
        raise VerifyError(f"{where(site_packages)}: cannot list: {e.strerror}") from e
    for entry in entries:
        if entry.suffix == ".dist-info" and entry.is_dir():
            name = entry.name[: -len(".dist-info")].rsplit("-", 1)[0]
            if canonicalize_name(name) == want:
                return entry
    raise VerifyError(f"{where(site_packages)}: distribution {distribution!r} is not installed")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise VerifyError(f"{where(path)}: cannot read: {e.strerror}") from e


# --- project scan -----------------------------------------------------------------------


def project_files(root: Path, exclude: Iterable[str] = ()) -> tuple[Path, ...]:
    """The project's Python files: hidden directories, virtualenvs and builds left out."""
    skip = _SKIP_DIRS | set(exclude)
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).parts[:-1]
        if any(p in skip or p.startswith(".") for p in rel):
            continue
        if any((root.joinpath(*rel[: i + 1]) / "pyvenv.cfg").exists() for i in range(len(rel))):
            continue
        out.append(path)
    return tuple(out)


def scan_project(
    root: Path,
    distribution: str,
    names: Sequence[str],
    targets: Sequence[Target],
    exclude: Iterable[str] = (),
) -> StaticEvidence:
    """Static evidence for `distribution` (installing import `names`) in the project at `root`."""
    imports: list[Location] = []
    refs: list[SymbolReference] = []
    hatches: list[EscapeHatch] = []
    files = project_files(root, exclude)
    for path in files:
        rel = path.relative_to(root).as_posix()
        try:
            tree = ast.parse(path.read_bytes(), filename=rel)
        except (SyntaxError, ValueError) as e:
            line = getattr(e, "lineno", None)
            hatches.append(EscapeHatch("file does not parse", Location(rel, line)))
            continue
        except OSError as e:
            hatches.append(EscapeHatch(f"file cannot be read: {e.strerror}", Location(rel)))
            continue
        visitor = _Visitor(rel, tuple(names))
        visitor.visit(tree)
        imports.extend(visitor.imports)
        hatches.extend(visitor.hatches)
        for name, line in visitor.names:
            for target in targets:
                kind = _match(name, target)
                if kind:
                    refs.append(SymbolReference(target.id, name, Location(rel, line), kind))
    verdict, reason = _verdict(imports, refs, hatches, targets)
    return StaticEvidence(
        distribution=distribution,
        import_names=tuple(names),
        imports=tuple(sorted(set(imports))),
        references=tuple(sorted(set(refs), key=lambda r: (r.location, r.target))),
        escape_hatches=tuple(sorted(set(hatches), key=lambda h: h.location)),
        files_scanned=len(files),
        verdict=verdict,
        reason=reason,
    )


def _match(name: str, target: Target) -> str:
    full = target.dotted
    if name == full:
        return "exact"
    # `yaml.FullConstructor` for `yaml.constructor.FullConstructor`: a parent package re-export.
    if target.qualname:
        module_parts = target.module.split(".")
        for cut in range(1, len(module_parts)):
            if name == ".".join([*module_parts[:cut], target.qualname]):
                return "re-export"
        owner = target.qualname.rsplit(".", 1)[0] if "." in target.qualname else ""
        if owner and "<locals>" not in owner:
            for cut in range(1, len(module_parts) + 1):
                if name == ".".join([*module_parts[:cut], owner]):
                    return "class"
    return ""


def _verdict(
    imports: Sequence[Location],
    refs: Sequence[SymbolReference],
    hatches: Sequence[EscapeHatch],
    targets: Sequence[Target],
) -> tuple[Verdict, str]:
    if refs:
        first = min(refs, key=lambda r: r.location)
        n = len({r.target for r in refs})
        return "reachable", f"{n} target(s) referenced, first {first.name} at {first.location}"
    if hatches:
        shown = ", ".join(f"{h.construct} at {h.location}" for h in hatches[:3])
        more = f" and {len(hatches) - 3} more" if len(hatches) > 3 else ""
        return "unknown", f"no target referenced, but code could hide a use: {shown}{more}"
    if imports and not targets:
        return "unknown", f"imported at {imports[0]}, and no target functions are known"
    if imports:
        return "not-referenced", f"imported at {imports[0]}, but no target is referenced"
    return "not-referenced", "the project's code neither imports the package nor names a target"


class _Visitor(ast.NodeVisitor):
    """Collects imports of the package, resolved dotted names, and escape hatches of a file."""

    def __init__(self, path: str, names: tuple[str, ...]) -> None:
        self.path = path
        self.packages = names
        self.aliases: dict[str, str] = {}
        self.every: dict[str, str] = {}
        self.imports: list[Location] = []
        self.names: list[tuple[str, int]] = []
        self.hatches: list[EscapeHatch] = []

    def _ours(self, module: str) -> bool:
        return module.split(".", 1)[0] in self.packages

    def _at(self, node: ast.AST) -> Location:
        return Location(self.path, getattr(node, "lineno", None))

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
        if name == "TYPE_CHECKING":
            for stmt in node.orelse:
                self.visit(stmt)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.every[alias.asname] = alias.name
            if not self._ours(alias.name):
                continue
            self.imports.append(self._at(node))
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".", 1)[0]
                self.aliases[top] = top
            self.names.append((alias.name, node.lineno))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            self.every[alias.asname or alias.name] = f"{module}.{alias.name}"
        if node.level or not self._ours(module):
            return
        self.imports.append(self._at(node))
        for alias in node.names:
            if alias.name == "*":
                self.hatches.append(EscapeHatch(f"from {module} import *", self._at(node)))
                continue
            full = f"{module}.{alias.name}"
            self.aliases[alias.asname or alias.name] = full
            self.names.append((full, node.lineno))

    def visit_Call(self, node: ast.Call) -> None:
        func = self._dotted(node.func)
        short = func.rsplit(".", 1)[-1]
        arg = node.args[0] if node.args else None
        if func in {"importlib.import_module", "import_module", "__import__"}:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                if self._ours(arg.value):
                    self.imports.append(self._at(node))
                    self.names.append((arg.value, node.lineno))
            else:
                self.hatches.append(EscapeHatch(f"{short}() with a computed name", self._at(node)))
        elif func in _EVAL:
            self.hatches.append(EscapeHatch(f"{func}()", self._at(node)))
        elif func == "getattr" and len(node.args) >= 2:
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                base = self._resolve(node.args[0])
                if base:
                    self.names.append((f"{base}.{name.value}", node.lineno))
            else:
                self.hatches.append(EscapeHatch("getattr() with a computed name", self._at(node)))
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        resolved = self._resolve(node)
        if resolved:
            self.names.append((resolved, node.lineno))
            return  # the inner parts of a resolved chain are prefixes, not separate uses
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and node.id in self.aliases:
            self.names.append((self.aliases[node.id], node.lineno))

    def _resolve(self, node: ast.AST) -> str:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.aliases:
            return ".".join([self.aliases[node.id], *reversed(parts)])
        return ""

    def _dotted(self, node: ast.AST) -> str:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            head = self.every.get(node.id, node.id)
            if head == "importlib.import_module":
                head = "import_module"
            return ".".join([head, *reversed(parts)])
        return ""


def references_by_target(evidence: StaticEvidence) -> dict[str, tuple[Location, ...]]:
    """The places each target is referenced at, keyed by `Target.id`."""
    out: dict[str, list[Location]] = {}
    for ref in evidence.references:
        out.setdefault(ref.target, []).append(ref.location)
    return {k: tuple(v) for k, v in out.items()}
