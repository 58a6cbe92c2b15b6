"""Where a project's own Python code uses a package: imports, references and calls, with lines.

`scan(project_dir, packages)` parses every `.py` file under the project (skipping virtualenvs,
caches and VCS folders) with libcst and resolves each name through the file's imports with
`QualifiedNameProvider`, so `import yaml; yaml.load`, `from yaml import load as l; l` and
`import jinja2 as j; j.Markup` all come out as the fully qualified `yaml.load` or
`jinja2.Markup`. Each `Use` records the file, the line, the qualified symbol and how it is
used: imported, referenced, or called (then with the keyword names passed, the count of
positional arguments, and whether `*args`/`**kwargs` make the count unknowable). Attributes of
a variable the file binds to an instance of the package's class (`app = Flask(__name__)`,
then `@app.before_first_request`) are uses of the class's attribute. Files that do
not parse or cannot be read are listed in `Scan.skipped` with the reason; scanning goes on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import libcst as cst

# Folders that hold other people's code or generated files, never the project's own.
_SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "env", ".env", ".tox", ".nox", "node_modules"}
    | {"__pycache__", "site-packages", ".mypy_cache", ".ruff_cache", ".pytest_cache", "build"}
    | {"dist", ".eggs"}
)


class UseKind(StrEnum):
    """How a line of the project uses a package's name."""

    IMPORT = "import"
    REFERENCE = "reference"
    CALL = "call"


@dataclass(frozen=True, slots=True)
class Use:
    """One use of a package's name at `path:line` (path relative to the project, POSIX).

    For calls, `keywords` are the keyword argument names passed, `positional` the number of
    plain positional arguments, and `star_args`/`star_kwargs` whether `*x`/`**x` were passed
    (which make the positional count or the keyword set open-ended). `instance` marks a use
    through a variable bound in the same file to an instance of the package's class
    (`app = Flask(...)`; `app.run` is then `flask.Flask.run`), found by a simple local pass.
    """

    path: str
    line: int
    symbol: str
    kind: UseKind
    keywords: tuple[str, ...] = ()
    positional: int = 0
    star_args: bool = False
    star_kwargs: bool = False
    instance: bool = False


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that could not be scanned, and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Scan:
    """Every use of the asked packages in a project, and the files that could not be read."""

    uses: tuple[Use, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    files: int = field(default=0)


def python_files(project_dir: Path) -> list[Path]:
    """The project's own `.py` files, sorted, without virtualenvs, caches and VCS folders."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(project_dir):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in _SKIPPED_DIRS
            and not d.endswith((".egg-info", ".dist-info"))
            and not (Path(dirpath, d) / "pyvenv.cfg").exists()
        )
        found.extend(Path(dirpath, f) for f in sorted(filenames) if f.endswith(".py"))
    return found


def scan(project_dir: Path, packages: tuple[str, ...] | list[str]) -> Scan:
    """All uses of the top-level import names `packages` in the project's Python files."""
    wanted = tuple(sorted(set(packages)))
    uses: list[Use] = []
    skipped: list[Skipped] = []
    files = python_files(project_dir)
    for file in files:
        relative = file.relative_to(project_dir).as_posix()
        try:
            source = file.read_bytes()
        except OSError as e:
            skipped.append(Skipped(relative, f"cannot read: {e.strerror or e}"))
            continue
        # Most files never mention the package; skipping them saves a full parse each.
        if not any(name.encode() in source for name in wanted):
            continue
        found = scan_source(source, relative, wanted)
        if isinstance(found, Skipped):
            skipped.append(found)
        else:
            uses.extend(found)
    return Scan(tuple(uses), tuple(skipped), len(files))


def scan_source(source: bytes, relative: str, packages: tuple[str, ...]) -> list[Use] | Skipped:
    """The uses of `packages` in one file's source, or why it could not be parsed."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper

    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as e:
        return Skipped(relative, f"not valid Python: line {e.raw_line}: {e.message}")
    # libcst's native parser also rejects some inputs with validation, value or recursion
    # errors (and others not documented); any of them only means this file cannot be scanned.
    except Exception as e:
        return Skipped(relative, f"cannot parse: {type(e).__name__}: {e}")
    try:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        collector, uses = _make_collector(relative, packages)
        wrapper.visit(collector)
    except RecursionError:
        return Skipped(relative, "nests too deeply to analyse")
    except Exception as e:
        return Skipped(relative, f"cannot analyse: {type(e).__name__}: {e}")
    return uses


def _belongs(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _dotted(node: cst.BaseExpression) -> str | None:
    import libcst as cst

    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


def _make_collector(relative: str, packages: tuple[str, ...]) -> tuple[cst.CSTVisitor, list[Use]]:
    """A libcst visitor and the list it fills (the class is built here so that importing
    this module does not import libcst)."""
    import libcst as cst
    from libcst.metadata import PositionProvider, QualifiedNameProvider, QualifiedNameSource

    class Collector(cst.CSTVisitor):
        METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

        def __init__(self) -> None:
            super().__init__()
            self.uses: list[Use] = []
            self._consumed: set[int] = set()
            # Names bound to an instance of one of the package's classes in this file
            # (`app = Flask(__name__)`), so that `app.before_first_request` is a use of
            # `flask.Flask.before_first_request`. Last binding wins; scopes are not told apart.
            self._instances: dict[str, str] = {}

        def _line(self, node: cst.CSTNode) -> int:
            return int(self.get_metadata(PositionProvider, node).start.line)

        def _names(self, node: cst.CSTNode) -> list[str]:
            try:
                names = self.get_metadata(QualifiedNameProvider, node, set())
            except KeyError:
                return []
            return sorted(
                q.name
                for q in names
                if q.source is QualifiedNameSource.IMPORT and _belongs(q.name, packages)
            )

        def _resolve(self, node: cst.CSTNode) -> tuple[list[str], bool]:
            """The qualified names of an expression, and whether it goes through an instance."""
            names = self._names(node)
            if names:
                return names, False
            if (
                isinstance(node, cst.Attribute)
                and isinstance(node.value, cst.Name)
                and node.value.value in self._instances
            ):
                return [f"{self._instances[node.value.value]}.{node.attr.value}"], True
            return [], False

        def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
            if not isinstance(target, cst.Name):
                return
            made = self._names(value.func) if isinstance(value, cst.Call) else []
            if made:
                self._instances[target.value] = made[0]
            else:
                self._instances.pop(target.value, None)

        def visit_Assign(self, node: cst.Assign) -> bool:
            if len(node.targets) == 1:
                self._bind(node.targets[0].target, node.value)
            return True

        def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
            self._bind(node.target, node.value)
            return True

        def visit_Import(self, node: cst.Import) -> bool:
            for alias in node.names:
                dotted = _dotted(alias.name)
                if dotted and _belongs(dotted, packages):
                    self.uses.append(Use(relative, self._line(node), dotted, UseKind.IMPORT))
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            if node.relative or node.module is None:
                return False
            base = _dotted(node.module)
            if base is None or not _belongs(base, packages):
                return False
            line = self._line(node)
            if isinstance(node.names, cst.ImportStar):
                self.uses.append(Use(relative, line, base, UseKind.IMPORT))
                return False
            for alias in node.names:
                leaf = _dotted(alias.name)
                if leaf:
                    self.uses.append(Use(relative, line, f"{base}.{leaf}", UseKind.IMPORT))
            return False

        def visit_Call(self, node: cst.Call) -> bool:
            names, instance = self._resolve(node.func)
            if not names:
                return True
            self._consumed.add(id(node.func))
            keywords = tuple(a.keyword.value for a in node.args if a.keyword is not None)
            positional = sum(1 for a in node.args if a.keyword is None and not a.star)
            star_args = any(a.star == "*" for a in node.args)
            star_kwargs = any(a.star == "**" for a in node.args)
            line = self._line(node)
            for name in names:
                self.uses.append(
                    Use(
                        relative,
                        line,
                        name,
                        UseKind.CALL,
                        keywords,
                        positional,
                        star_args,
                        star_kwargs,
                        instance,
                    )
                )
            return True

        def _reference(self, node: cst.Name | cst.Attribute) -> bool:
            if id(node) in self._consumed:
                self._consumed.discard(id(node))
                return False
            names, instance = self._resolve(node)
            if not names:
                return True
            line = self._line(node)
            for name in names:
                self.uses.append(Use(relative, line, name, UseKind.REFERENCE, instance=instance))
            # The inner parts of `a.b.c` name prefixes of the same use; one entry is enough.
            return False

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            return self._reference(node)

        def visit_Name(self, node: cst.Name) -> bool:
            return self._reference(node)

    collector = Collector()
    return collector, collector.uses
