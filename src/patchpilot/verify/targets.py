"""Target functions of a package upgrade: the code whose execution by tests is the evidence.

In order of precision: (a) the vulnerable functions an advisory names for the package
(`affected[].ecosystem_specific.affected_functions`, GHSA style, or Go-style
`imports[].symbols` with their `path`); the values are free text, so each dotted name is split
into an importable module and a qualname by looking for the longest module prefix in the
installed package, and empty strings are dropped; (b) else the functions that differ between
the old and the new installed version of the package: both source trees are parsed with `ast`
and every function and method is fingerprinted (`ast.dump` without positions, docstring
dropped, nested definitions fingerprinted on their own, decorators and signature included);
functions changed or removed become targets, and so do functions that read a module-level
name whose assignment changed. Functions only added by the new version are not targets (their
callers changed, and those are). Diffing the fix commit itself is out of scope here: it needs
the project's forge, which verification does not reach.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from patchpilot.errors import VerifyError, where
from patchpilot.model import Advisory, Ecosystem, normalize_name

TargetSource = Literal["advisory", "ast-diff"]
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_SKIP_DIRS = frozenset(
    {"tests", "test", "testing", "__pycache__", "docs", "examples", "benchmarks"}
)


@dataclass(frozen=True, slots=True)
class Target:
    """One function (or class or module, standing for all its functions) to watch.

    `qualname` is empty for a whole module; nested functions use Python's own
    `outer.<locals>.inner` form. `file` and `lineno` point into the installed package when
    known (the new version's copy for a diff), else they are None.
    """

    qualname: str
    module: str
    file: str | None
    lineno: int | None
    source: TargetSource

    @property
    def id(self) -> str:
        """`module:qualname`, the key the tracer and the evidence use."""
        return f"{self.module}:{self.qualname}"

    @property
    def dotted(self) -> str:
        """`module.qualname`, as a user writes it (`yaml.load`)."""
        return f"{self.module}.{self.qualname}" if self.qualname else self.module


# --- (a) advisory-named functions -------------------------------------------------------


def advisory_symbols(advisory: Advisory, package: str) -> tuple[str, ...]:
    """The dotted symbol names an advisory gives for one PyPI package, empty strings dropped."""
    want = normalize_name(Ecosystem.PYPI, package)
    out: list[str] = []
    for affected in advisory.affected:
        if Ecosystem.from_osv(affected.ecosystem) is not Ecosystem.PYPI or affected.name != want:
            continue
        spec = affected.ecosystem_specific
        functions = spec.get("affected_functions")
        if isinstance(functions, list):
            out.extend(str(f).strip() for f in functions if isinstance(f, str))
        imports = spec.get("imports")
        if isinstance(imports, list):
            for item in imports:
                if not isinstance(item, dict):
                    continue
                path = str(item.get("path", "")).strip()
                symbols = item.get("symbols")
                if isinstance(symbols, list) and symbols:
                    out.extend(f"{path}.{s}".strip(".") for s in symbols if isinstance(s, str))
                elif path:
                    out.append(path)
    seen: dict[str, None] = {}
    for name in out:
        if name and name.replace(".", "").replace("_", "").isalnum():
            seen.setdefault(name, None)
    return tuple(seen)


def advisory_targets(
    advisory: Advisory, package: str, site_packages: Path | None = None
) -> tuple[Target, ...]:
    """Targets for the functions `advisory` names for `package` (PyPI).

    With `site_packages` (the environment the tests run in) each name is split at its longest
    importable module prefix and located in that module's source; without it, or when the
    module is not found there, the split falls back to "module path = the lower-case leading
    components", and `file`/`lineno` stay None.
    """
    return tuple(split_symbol(name, site_packages) for name in advisory_symbols(advisory, package))


def split_symbol(dotted: str, site_packages: Path | None = None) -> Target:
    """Split `yaml.constructor.FullConstructor` into module and qualname (`advisory_targets`)."""
    parts = dotted.split(".")
    if site_packages is not None:
        for cut in range(len(parts), 0, -1):
            module_file = _module_file(site_packages, parts[:cut])
            if module_file is not None:
                module, qualname = ".".join(parts[:cut]), ".".join(parts[cut:])
                lineno = _find_line(module_file, qualname)
                return Target(qualname, module, str(module_file), lineno, "advisory")
    # Without the installed code: modules are the lower-case leading components, and a dotted
    # name of lower-case words only ends in a function.
    cut = 1
    while cut < len(parts) - 1 and parts[cut][:1].islower():
        cut += 1
    return Target(".".join(parts[cut:]), ".".join(parts[:cut]), None, None, "advisory")


def _module_file(root: Path, parts: Sequence[str]) -> Path | None:
    base = root.joinpath(*parts)
    for candidate in (base / "__init__.py", base.with_name(base.name + ".py")):
        if candidate.is_file():
            return candidate
    return None


def _find_line(path: Path, qualname: str) -> int | None:
    if not qualname:
        return 1
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return None
    for name, node in _index(tree):
        if name == qualname and isinstance(node, _DEFS):
            return node.lineno
    return None


# --- (b) AST diff of two installed versions ----------------------------------------------


def diff_targets(old_root: Path, new_root: Path, import_names: Iterable[str]) -> tuple[Target, ...]:
    """Functions of the packages `import_names` that differ between two source trees.

    `old_root` and `new_root` are directories holding the packages: two site-packages, or two
    unpacked distributions (the package is then looked for below the root, e.g. in `src/` or
    `lib3/`). Files under tests/docs/examples directories are ignored. Raises `VerifyError`
    when an import name is in neither tree.
    """
    targets: list[Target] = []
    for name in import_names:
        old_pkg, new_pkg = _find_package(old_root, name), _find_package(new_root, name)
        if old_pkg is None and new_pkg is None:
            raise VerifyError(f"{where(old_root)} and {where(new_root)}: no package {name!r}")
        old_files = dict(_module_files(old_pkg, name)) if old_pkg else {}
        new_files = dict(_module_files(new_pkg, name)) if new_pkg else {}
        for module in sorted(old_files.keys() | new_files.keys()):
            old_file, new_file = old_files.get(module), new_files.get(module)
            if old_file is None:
                continue  # a module only the new version has: its callers are what changed
            targets.extend(_diff_module(module, old_file, new_file))
    return tuple(sorted(targets, key=lambda t: (t.module, t.qualname)))


def _find_package(root: Path, name: str) -> Path | None:
    for candidate in (root / name, root / f"{name}.py"):
        if candidate.exists():
            return candidate
    found = sorted(
        (p.parent for p in root.rglob(f"{name}/__init__.py") if not _skipped(p, root)),
        key=lambda p: (len(p.parts), str(p)),
    )
    return found[0] if found else None


def _skipped(path: Path, root: Path) -> bool:
    return any(part in _SKIP_DIRS or part.startswith(".") for part in path.relative_to(root).parts)


def _module_files(pkg: Path, name: str) -> Iterator[tuple[str, Path]]:
    if pkg.is_file():
        yield name, pkg
        return
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(pkg)
        if any(part in _SKIP_DIRS for part in rel.parts[:-1]):
            continue
        parts = [name, *rel.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError) as e:
        line = getattr(e, "lineno", None)
        raise VerifyError(f"{where(path, line)}: cannot parse: {e}") from e
    except OSError as e:
        raise VerifyError(f"{where(path)}: cannot read: {e.strerror}") from e


def _diff_module(module: str, old_file: Path, new_file: Path | None) -> list[Target]:
    old_tree = _parse(old_file)
    new_tree = _parse(new_file) if new_file is not None else ast.Module(body=[], type_ignores=[])
    old_defs = {q: n for q, n in _index(old_tree) if isinstance(n, _FUNCS)}
    new_defs = {q: n for q, n in _index(new_tree) if isinstance(n, _FUNCS)}
    changed = {q for q, n in old_defs.items() if q not in new_defs or _fp(n) != _fp(new_defs[q])}
    names = _changed_globals(old_tree, new_tree)
    if names:
        changed |= {q for q, n in new_defs.items() if _reads(n, names)}
    changed |= _named_by_changed_statements(old_tree, new_tree, old_defs.keys() | new_defs.keys())
    out = []
    for qualname in changed:
        node = new_defs.get(qualname)
        file, line = (
            (new_file, node.lineno) if node is not None else (old_file, old_defs[qualname].lineno)
        )
        out.append(Target(qualname, module, str(file), line, "ast-diff"))
    return out


def _index(tree: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """Every definition with Python's `__qualname__` for it."""

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, ast.AST]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _DEFS):
                qual = f"{prefix}{child.name}"
                yield qual, child
                inner = f"{qual}.<locals>." if isinstance(child, _FUNCS) else f"{qual}."
                yield from walk(child, inner)
            elif not isinstance(child, ast.expr):
                yield from walk(child, prefix)

    return walk(tree, "")


def _fp(node: ast.AST) -> tuple[str, ...]:
    assert isinstance(node, _FUNCS)  # noqa: S101 - only functions are indexed for diffing
    body = [s for s in node.body if not isinstance(s, _DEFS)]
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        body = body[1:] if isinstance(first.value.value, str) else body
    parts = [ast.dump(d) for d in node.decorator_list]
    parts.append(ast.dump(node.args))
    parts.append(ast.dump(node.returns) if node.returns else "")
    parts.extend(ast.dump(s) for s in body)
    return tuple(parts)


def _globals(tree: ast.Module) -> dict[str, str]:
    out: dict[str, str] = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            value = ast.dump(stmt.value) if stmt.value is not None else ""
            for target in targets:
                for node in ast.walk(target):
                    if isinstance(node, ast.Name):
                        out[node.id] = out.get(node.id, "") + value
    return out


def _toplevel_statements(tree: ast.Module) -> dict[str, ast.stmt]:
    skip = (*_DEFS, ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.AugAssign)
    return {ast.dump(s): s for s in tree.body if not isinstance(s, skip)}


def _named_by_changed_statements(old: ast.Module, new: ast.Module, defs: Iterable[str]) -> set[str]:
    """Functions a changed module-level statement names (a registration such as
    `FullConstructor.add_multi_constructor(tag, FullConstructor.construct_python_object)`).

    `Class.method` through a subclass defined in the same module resolves to the class that
    defines the method, so `Sub.meth` finds `Base.meth`.
    """
    a, b = _toplevel_statements(old), _toplevel_statements(new)
    statements = [a[k] for k in a.keys() - b.keys()] + [b[k] for k in b.keys() - a.keys()]
    if not statements:
        return set()
    known = set(defs)
    bases = {**_class_bases(old), **_class_bases(new)}
    out: set[str] = set()
    for statement in statements:
        # The function a registration calls is the mechanism, not what changed; skip it.
        callee = _outer_callee(statement)
        for node in ast.walk(statement):
            if node is callee:
                continue
            if isinstance(node, ast.Name) and node.id in known:
                out.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                found = _lookup(node.value.id, node.attr, known, bases, 0)
                if found:
                    out.add(found)
    return out


def _outer_callee(statement: ast.stmt) -> ast.AST | None:
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        return statement.value.func
    return None


def _class_bases(tree: ast.Module) -> dict[str, list[str]]:
    return {
        s.name: [b.id for b in s.bases if isinstance(b, ast.Name)]
        for s in tree.body
        if isinstance(s, ast.ClassDef)
    }


def _lookup(cls: str, attr: str, known: set[str], bases: dict[str, list[str]], depth: int) -> str:
    if f"{cls}.{attr}" in known:
        return f"{cls}.{attr}"
    if depth > 20:
        return ""
    for base in bases.get(cls, []):
        found = _lookup(base, attr, known, bases, depth + 1)
        if found:
            return found
    return ""


def _changed_globals(old: ast.Module, new: ast.Module) -> set[str]:
    a, b = _globals(old), _globals(new)
    return {name for name in a.keys() | b.keys() if a.get(name) != b.get(name)}


def _reads(func: ast.AST, names: set[str]) -> bool:
    return any(
        isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in names
        for n in ast.walk(func)
    )
