"""Fixes `poetry.lock` through Poetry itself, in a private copy of the project.

Poetry is found beside the running Python (the `patchpilot[poetry]` extra installs it there),
else on PATH; `PATCHPILOT_POETRY` names another binary. It runs with `--no-interaction
--no-ansi`, without creating or touching any virtualenv (`POETRY_VIRTUALENVS_CREATE=false`),
under a timeout, and only ever rewrites the lock (`poetry lock`, `poetry update --lock`):
nothing is installed. Before any bump, `poetry check --lock` must agree that the lock
matches `pyproject.toml` (Poetry 2; Poetry 1 relocks with `--no-update` and is not asked).

Each bump takes the least invasive strategy that reaches the target, checked by reading
the new lock with the `poetry.lock` reader:
- in-place: `poetry update --lock NAME`, when the manifest allows the target (Poetry moves
  the package to the newest version allowed, which may be above the target);
- relax (direct dependencies): the constraint in `pyproject.toml` is rewritten to admit the
  target (PEP 621/735 requirement strings by `pyproject_edit`, Poetry tables here: a caret
  or tilde moves to the target, an exact pin is re-pinned, a range gets the target as its
  floor), then `poetry lock`, which keeps every other locked version it can;
- override (transitive dependencies): the package becomes a direct dependency with
  `>=TARGET`, Poetry's way to pin a transitive one, then `poetry lock`;
- co-upgrade: when a parent forbids the target, the parents are moved with it
  (`poetry update --lock NAME PARENT…`); a parent the manifest pins is first relaxed to the
  smallest version that admits the target, found by uv's resolver (`--resolution
  lowest-direct`).
Edits of `pyproject.toml` go through tomlkit, so comments and layout survive.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from patchpilot.errors import FixError, SourceError
from patchpilot.fixers._workspace import copy_project, locate, read_exact, run_tool, write_exact
from patchpilot.fixers.changeset import FileEdit
from patchpilot.fixers.interface import Bump, BumpOutcome, FixOutcome, LockFixer, Strategy
from patchpilot.fixers.requirements_txt import (
    DEFAULT_PYTHON,
    ResolveFailed,
    UvCompiler,
    looks_offline,
    tool_message,
)
from patchpilot.model import Ecosystem, NormalizedName, Scope

DEFAULT_TIMEOUT = 600.0
INSTALL_HINT = "poetry is not installed: pip install 'patchpilot[poetry]'"
# Where Poetry reads dependency tables (its own syntax), as key paths; `*` is every key.
_POETRY_TABLES: tuple[tuple[str, ...], ...] = (
    ("tool", "poetry", "dependencies"),
    ("tool", "poetry", "dev-dependencies"),
    ("tool", "poetry", "group", "*", "dependencies"),
)
# PEP 621 and PEP 735 requirement strings, which Poetry 2 reads too.
_PEP_ARRAYS: tuple[tuple[str, ...], ...] = (
    ("project", "dependencies"),
    ("project", "optional-dependencies", "*"),
    ("dependency-groups", "*"),
)
_VERSION_RE = re.compile(r"Poetry(?: \(version)? ?(?:version )?(\d+)\.(\d+)(?:\.(\d+))?")


def find_poetry() -> str:
    """The poetry binary: `PATCHPILOT_POETRY`, beside `sys.executable`, else on PATH."""
    chosen = os.environ.get("PATCHPILOT_POETRY")
    if chosen:
        if Path(chosen).is_file() or shutil.which(chosen):
            return chosen
        raise FixError(f"PATCHPILOT_POETRY={chosen}: no such program")
    for folder in (Path(sys.executable).parent, Path(sys.prefix) / "bin"):
        for name in ("poetry", "poetry.exe"):
            candidate = folder / name
            if candidate.is_file():
                return str(candidate)
    found = shutil.which("poetry")
    if found:
        return found
    raise FixError(INSTALL_HINT)


class PoetryLockFixer(LockFixer):
    """`poetry.lock` (lock-version 1.x and 2.x) with its `pyproject.toml`, through Poetry.

    `python_version` is the Python uv resolves for when it looks for a parent's smallest
    admitting version. After `fix`, `resolver_seconds` holds the time spent in Poetry and uv.
    """

    format: ClassVar[str] = "poetry.lock"

    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT, python_version: str | None = None
    ) -> None:
        self.timeout = timeout
        self.python_version = python_version
        self.resolver_seconds = 0.0

    def fix(self, project: Path, lockfile: Path, bumps: Sequence[Bump]) -> FixOutcome:
        found = locate(project, lockfile)
        if found.rel.name != "poetry.lock":
            raise FixError(f"{found.rel}: not a poetry.lock file")
        poetry = find_poetry()
        with tempfile.TemporaryDirectory(prefix="patchpilot-poetry-") as tmp:
            work = copy_project(found.root, Path(tmp) / "project")
            run = _Run(self, poetry, work, Path(tmp), found.rel)
            try:
                return run.fix(bumps)
            finally:
                self.resolver_seconds = run.seconds + run.uv.seconds


class _Failed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Locked:
    """One reading of the lock: versions per package, and who depends on whom."""

    versions: dict[NormalizedName, tuple[str, ...]]
    parents: dict[NormalizedName, tuple[str, ...]]
    direct: dict[NormalizedName, bool]
    scope: dict[NormalizedName, Scope]

    def highest(self, name: NormalizedName) -> str | None:
        found = self.versions.get(name, ())
        return max(found, key=_key) if found else None


class _Run:
    """One `fix` call: the work copy, the two files it may edit, and the commands run."""

    def __init__(
        self, fixer: PoetryLockFixer, poetry: str, work: Path, scratch: Path, lock: Path
    ) -> None:
        self.poetry = poetry
        self.work = work
        self.scratch = scratch
        self.timeout = fixer.timeout
        self.lock = lock.as_posix()
        self.folder = work / lock.parent
        self.manifest = (lock.parent / "pyproject.toml").as_posix()
        if not (work / self.manifest).is_file():
            raise FixError(f"{self.lock}: no pyproject.toml beside it")
        self.before = {p: read_exact(work / p) for p in (self.lock, self.manifest)}
        self.notes: list[str] = []
        self.seconds = 0.0
        self.env = {
            **os.environ,
            "POETRY_VIRTUALENVS_CREATE": "false",
            "POETRY_NO_INTERACTION": "1",
            "NO_COLOR": "1",
        }
        self.uv = UvCompiler(python_version=fixer.python_version or DEFAULT_PYTHON,
                             timeout=min(fixer.timeout, 300.0))  # fmt: skip
        # One list for both tools, so the commands read in the order they ran.
        self.commands = self.uv.commands
        self.major = self._version()

    # -- Poetry ------------------------------------------------------------------------------

    def _poetry(self, *args: str) -> tuple[bool, str]:
        argv = [*args, "--no-interaction", "--no-ansi"]
        display = shlex.join(["poetry", *argv])
        self.commands.append(display)
        done = run_tool(
            [self.poetry, *argv], shown=display, cwd=self.folder, timeout=self.timeout,
            env=self.env,
        )  # fmt: skip
        self.seconds += done.seconds
        output = f"{done.stdout}\n{done.stderr}".strip()
        if done.returncode != 0 and looks_offline(output):
            raise FixError(
                f"{self.lock}: poetry cannot reach the package index (`{display}`):\n"
                f"{tool_message(output)}"
            )
        return done.returncode == 0, output

    def _version(self) -> int:
        try:
            done = run_tool(
                [self.poetry, "--version", "--no-ansi"], shown="poetry --version",
                cwd=self.folder, timeout=60.0, env=self.env,
            )  # fmt: skip
        except FixError as e:
            raise FixError(f"{INSTALL_HINT} ({e})") from e
        self.seconds += done.seconds
        m = _VERSION_RE.search(done.stdout)
        if done.returncode != 0 or m is None:
            raise FixError(f"{self.poetry} is not a working poetry: {tool_message(done.stderr)}")
        self.notes.append(f"locked by Poetry {m.group(0).split()[-1].rstrip(')')}")
        return int(m.group(1))

    def _lock(self) -> tuple[bool, str]:
        """Relock after a manifest edit, keeping every other locked version Poetry can."""
        return self._poetry("lock") if self.major >= 2 else self._poetry("lock", "--no-update")

    # -- files -------------------------------------------------------------------------------

    def _text(self, rel: str) -> str:
        return read_exact(self.work / rel)

    def _snapshot(self) -> dict[str, str]:
        return {p: self._text(p) for p in (self.lock, self.manifest)}

    def _restore(self, snapshot: dict[str, str]) -> None:
        for path, text in snapshot.items():
            write_exact(self.work / path, text)

    def _read(self) -> _Locked:
        from patchpilot.sources.poetry_lock import PoetryLockSource

        try:
            result = PoetryLockSource().read(self.work / self.lock)
        except SourceError as e:
            raise FixError(f"{self.lock}: cannot be read: {e.reason}") from e
        versions: dict[NormalizedName, list[str]] = {}
        parents: dict[NormalizedName, set[str]] = {}
        direct: dict[NormalizedName, bool] = {}
        scope: dict[NormalizedName, Scope] = {}
        for c in result.components:
            versions.setdefault(c.name, []).append(c.version)
            parents.setdefault(c.name, set()).update(c.parents)
            direct[c.name] = direct.get(c.name, False) or c.direct
            if scope.get(c.name) is not Scope.RUNTIME:
                scope[c.name] = c.scope
        return _Locked(
            {k: tuple(v) for k, v in versions.items()},
            {k: tuple(sorted(v)) for k, v in parents.items()},
            direct,
            scope,
        )

    # -- driving -----------------------------------------------------------------------------

    def fix(self, bumps: Sequence[Bump]) -> FixOutcome:
        if self.major < 2:
            self.notes.append(
                f"Poetry {self.major}.x: the lock was not checked against the manifest"
            )
            ok, output = True, ""
        else:
            ok, output = self._poetry("check", "--lock")
        if not ok:
            raise FixError(
                f"{self.lock}: does not match {self.manifest} (`poetry check --lock`):\n"
                f"{tool_message(output)}"
            )
        outcomes = []
        for bump in bumps:
            snapshot = self._snapshot()
            try:
                outcomes.append(self._bump(bump))
            except _Failed as e:
                self._restore(snapshot)
                outcomes.append(BumpOutcome(bump, None, None, reason=e.reason))
        edits = []
        for path in (self.manifest, self.lock):
            after = self._text(path)
            if after != self.before[path]:
                edits.append(FileEdit(path, self.before[path], after))
        return FixOutcome(
            lockfile=self.lock,
            outcomes=tuple(outcomes),
            edits=tuple(edits),
            commands=tuple(self.commands),
            notes=tuple(dict.fromkeys(self.notes)),
        )

    def _bump(self, bump: Bump) -> BumpOutcome:
        if bump.ecosystem is not Ecosystem.PYPI:
            raise _Failed(f"{bump.ecosystem.value} packages are not in poetry.lock")
        name = NormalizedName(canonicalize_name(bump.name))
        try:
            target = Version(bump.target)
        except InvalidVersion as e:
            raise _Failed(f"target {bump.target!r} is not a PEP 440 version") from e
        locked = self._read()
        current = locked.highest(name)
        if current is None:
            raise _Failed(f"{name} is not in {self.lock}")
        if all(_reaches(v, target) for v in locked.versions[name]):
            if current == bump.current:
                raise _Failed(f"{name} is locked at {current}, not below the target")
            return BumpOutcome(
                bump, Strategy.IN_PLACE, current,
                reason=f"already locked at {current} (the bump expected {bump.current})",
            )  # fmt: skip
        text = self._text(self.manifest)
        forbidding = _forbidding(text, name, bump.target)
        direct = locked.direct.get(name, False) or bool(_declarations(text, name))
        reasons: list[str] = []
        if not forbidding:
            done = self._in_place(bump, name, target, locked)
            if done is not None:
                return done
            reasons.append(f"`poetry update --lock {name}` does not reach {bump.target}")
        # A direct dependency's constraint is edited; a transitive one is declared first.
        first = self._relax if direct else self._override
        for step in (first, self._co_upgrade):
            snapshot = self._snapshot()
            try:
                return step(bump, name, target, locked)
            except _Failed as e:
                self._restore(snapshot)
                reasons.append(e.reason)
        raise _Failed("; ".join(reasons))

    def _outcome(
        self,
        bump: Bump,
        name: NormalizedName,
        target: Version,
        before: _Locked,
        strategy: Strategy,
        why: str,
        command: str,
    ) -> BumpOutcome:
        after = self._read()
        got = after.highest(name)
        if got is None or not all(_reaches(v, target) for v in after.versions.get(name, ())):
            raise _Failed(f"after {command} {name} is locked at {got}, below {bump.target}")
        co = tuple(
            (p, old, new)
            for p in before.parents.get(name, ())
            if (old := before.highest(NormalizedName(p)))
            and (new := after.highest(NormalizedName(p)))
            and old != new
        )
        if co and strategy is not Strategy.CO_UPGRADE:
            why += "; the lock moved " + ", ".join(f"{p} {a} → {b}" for p, a, b in co)
        return BumpOutcome(bump, strategy, got, co_upgrades=co, reason=why)

    # -- strategies --------------------------------------------------------------------------

    def _in_place(
        self, bump: Bump, name: NormalizedName, target: Version, locked: _Locked
    ) -> BumpOutcome | None:
        snapshot = self._snapshot()
        ok, output = self._poetry("update", "--lock", name)
        if not ok:
            raise FixError(
                f"{self.lock}: `poetry update --lock {name}` fails:\n{tool_message(output)}"
            )
        try:
            return self._outcome(
                bump, name, target, locked, Strategy.IN_PLACE,
                f"updated within the constraints of {self.manifest}", "poetry update",
            )  # fmt: skip
        except _Failed:
            self._restore(snapshot)
            return None

    def _relax(
        self, bump: Bump, name: NormalizedName, target: Version, locked: _Locked
    ) -> BumpOutcome:
        text = self._text(self.manifest)
        new, changes = _relax_manifest(text, name, bump.target, self.manifest)
        if not changes:
            raise _Failed(f"no constraint on {name} in {self.manifest} forbids {bump.target}")
        write_exact(self.work / self.manifest, new)
        ok, output = self._lock()
        if not ok:
            raise _Failed(f"with {'; '.join(changes)}, poetry lock fails: {tool_message(output)}")
        return self._outcome(
            bump, name, target, locked, Strategy.RELAX,
            f"{self.manifest}: {'; '.join(changes)}", "poetry lock",
        )  # fmt: skip

    def _override(
        self, bump: Bump, name: NormalizedName, target: Version, locked: _Locked
    ) -> BumpOutcome:
        text = self._text(self.manifest)
        dev = locked.scope.get(name) is Scope.DEV
        new, where = _add_dependency(text, bump.name, bump.target, dev=dev, path=self.manifest)
        write_exact(self.work / self.manifest, new)
        ok, output = self._lock()
        entry = f"{bump.name}>={bump.target}"
        if not ok:
            raise _Failed(f"with {entry} in {where}, poetry lock fails: {tool_message(output)}")
        return self._outcome(
            bump, name, target, locked, Strategy.OVERRIDE,
            f"{name} is transitive; {entry} added to {where} of {self.manifest}", "poetry lock",
        )  # fmt: skip

    def _co_upgrade(
        self, bump: Bump, name: NormalizedName, target: Version, locked: _Locked
    ) -> BumpOutcome:
        parents = [NormalizedName(p) for p in locked.parents.get(name, ())]
        if not parents:
            raise _Failed(f"no package in {self.lock} depends on {name}: nothing to co-upgrade")
        text = self._text(self.manifest)
        changes: list[str] = []
        pinned = [p for p in parents if _declarations(text, p)]
        if pinned:
            wanted = [f"{p}>={locked.highest(p)}" for p in pinned]
            try:
                lowest = self.uv.lowest(self.scratch, [*wanted, f"{name}>={bump.target}"])
            except ResolveFailed as e:
                if e.offline:
                    raise FixError(
                        f"{self.lock}: uv cannot reach the package index:\n{e.message}"
                    ) from e
                raise _Failed(
                    f"no versions of {', '.join(pinned)} allow {name} {bump.target}: {e.message}"
                ) from e
            for parent in pinned:
                version = lowest.version(parent)
                if version is None:
                    continue
                text, done = _relax_manifest(text, parent, version, self.manifest)
                changes.extend(done)
            write_exact(self.work / self.manifest, text)
        ok, output = self._poetry("update", "--lock", name, *parents)
        if not ok:
            raise _Failed(f"`poetry update --lock {name} {' '.join(parents)}` fails: "
                          f"{tool_message(output)}")  # fmt: skip
        why = (
            f"{', '.join(f'{p} {locked.highest(p)}' for p in parents)} kept {name} below "
            f"{bump.target}; moved with it (`poetry update --lock {name} {' '.join(parents)}`)"
        )
        if changes:
            why += f"; {self.manifest}: {'; '.join(changes)}"
        return self._outcome(bump, name, target, locked, Strategy.CO_UPGRADE, why, "poetry update")


# ---------------------------------------------------------------------------------------------
# pyproject.toml: Poetry tables and PEP 621/735 arrays


def _parse(text: str, path: str) -> Any:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        return tomlkit.parse(text)
    except TOMLKitError as e:
        raise FixError(f"{path}: invalid TOML: {e}") from e


def _tables(doc: Any) -> Iterator[tuple[str, Any]]:
    """(dotted key, table) for each Poetry dependency table the document has."""
    for spec in _POETRY_TABLES:
        nodes: list[tuple[str, Any]] = [("", doc)]
        for part in spec:
            step: list[tuple[str, Any]] = []
            for key, node in nodes:
                if not isinstance(node, dict):
                    continue
                if part == "*":
                    step.extend((f"{key}.{k}".lstrip("."), v) for k, v in node.items())
                elif part in node:
                    step.append((f"{key}.{part}".lstrip("."), node[part]))
            nodes = step
        yield from ((k, n) for k, n in nodes if isinstance(n, dict))


def _entries(doc: Any, name: str) -> Iterator[tuple[str, Any, str, Any]]:
    """(key, owner, field, constraint text) for every Poetry constraint on `name`.

    `owner[field]` holds the text: the table itself for `name = "^1.2"`, the inline table
    for `name = {version = "^1.2"}`, each table of a multiple-constraints list.
    """
    wanted = canonicalize_name(name)
    for key, table in _tables(doc):
        for dep, value in table.items():
            if canonicalize_name(str(dep)) != wanted:
                continue
            if isinstance(value, str):
                yield f"{key}.{dep}", table, dep, value
            elif isinstance(value, dict) and isinstance(value.get("version"), str):
                yield f"{key}.{dep}.version", value, "version", value["version"]
            elif isinstance(value, list):
                for i, one in enumerate(value):
                    if isinstance(one, dict) and isinstance(one.get("version"), str):
                        yield f"{key}.{dep}[{i}].version", one, "version", one["version"]


def _declarations(text: str, name: str) -> list[str]:
    from patchpilot.fixers.pyproject_edit import declared

    try:
        doc = _parse(text, "pyproject.toml")
    except FixError:
        return []
    found = [key for key, _, _, _ in _entries(doc, name)]
    found += [d.key for d in declared(text, name, _PEP_ARRAYS)]
    return found


def _forbidding(text: str, name: str, target: str) -> list[str]:
    """The declarations of `name` whose constraint does not admit `target`."""
    from patchpilot.fixers.pyproject_edit import excluding

    doc = _parse(text, "pyproject.toml")
    found = [key for key, _, _, value in _entries(doc, name) if not poetry_allows(value, target)]
    found += [d.key for d in excluding(text, name, target, _PEP_ARRAYS)]
    return found


def _relax_manifest(text: str, name: str, target: str, path: str) -> tuple[str, list[str]]:
    """`text` with every constraint on `name` that forbids `target` rewritten to admit it."""
    import tomlkit

    from patchpilot.fixers.pyproject_edit import RelaxError, relax_dependency

    change = relax_dependency(text, name, target, _PEP_ARRAYS, path=path)
    changes = [f"{c.before!r} → {c.after!r}" for c in change.changes]
    doc = _parse(change.text, path)
    edited = False
    for key, owner, field, value in list(_entries(doc, name)):
        try:
            new = relax_poetry(value, target)
        except RelaxError as e:
            raise _Failed(f"{path}: {key}: {e}") from e
        if new is None:
            continue
        owner[field] = tomlkit.string(new)
        changes.append(f"{key} {value!r} → {new!r}")
        edited = True
    return (tomlkit.dumps(doc) if edited else change.text), changes


def _add_dependency(text: str, name: str, target: str, *, dev: bool, path: str) -> tuple[str, str]:
    """`text` with `name>=target` declared where the project declares its other dependencies."""
    import tomlkit

    doc = _parse(text, path)
    spec = f">={target}"
    project = doc.get("project")
    poetry = doc.get("tool", {}).get("poetry", {})
    if not dev:
        if isinstance(project, dict) and isinstance(project.get("dependencies"), list):
            project["dependencies"].append(f"{name}{spec}")
            return tomlkit.dumps(doc), "project.dependencies"
        table = poetry.get("dependencies") if isinstance(poetry, dict) else None
        if isinstance(table, dict):
            table[name] = spec
            return tomlkit.dumps(doc), "tool.poetry.dependencies"
        if isinstance(project, dict):
            project["dependencies"] = [f"{name}{spec}"]
            return tomlkit.dumps(doc), "project.dependencies"
        raise _Failed(f"{path}: no [project] or [tool.poetry.dependencies] to add {name} to")
    groups = poetry.get("group", {}) if isinstance(poetry, dict) else {}
    dev_group = groups.get("dev", {}).get("dependencies") if isinstance(groups, dict) else None
    if isinstance(dev_group, dict):
        dev_group[name] = spec
        return tomlkit.dumps(doc), "tool.poetry.group.dev.dependencies"
    pep735 = doc.get("dependency-groups", {})
    if isinstance(pep735, dict) and isinstance(pep735.get("dev"), list):
        pep735["dev"].append(f"{name}{spec}")
        return tomlkit.dumps(doc), "dependency-groups.dev"
    old = poetry.get("dev-dependencies") if isinstance(poetry, dict) else None
    if isinstance(old, dict):
        old[name] = spec
        return tomlkit.dumps(doc), "tool.poetry.dev-dependencies"
    if not isinstance(poetry, dict) or "tool" not in doc:
        raise _Failed(f"{path}: no [tool.poetry] table to add a dev dependency {name} to")
    group = tomlkit.table()
    group[name] = spec
    poetry.setdefault("group", tomlkit.table(is_super_table=True))
    poetry["group"]["dev"] = tomlkit.table(is_super_table=True)
    poetry["group"]["dev"]["dependencies"] = group
    return tomlkit.dumps(doc), "tool.poetry.group.dev.dependencies"


# ---------------------------------------------------------------------------------------------
# Poetry's constraint syntax


def poetry_specifier(constraint: str) -> str:
    """A Poetry version constraint as a PEP 440 specifier (`^1.2` → `>=1.2,<2.0`).

    Understood: `*`, bare and `==` exact versions (with `.*` wildcards), carets, tildes,
    `~=`, comparison operators, and clauses joined by commas or spaces. `RelaxError` for
    anything else (`||` unions among them).
    """
    from patchpilot.fixers.pyproject_edit import RelaxError

    c = constraint.strip()
    if c in ("", "*"):
        return ""
    if "||" in c or "|" in c:
        raise RelaxError(f"union constraints are not rewritten: {constraint!r}")
    c = re.sub(r"(\^|~=|~|===|==|!=|<=|>=|<|>)\s+", r"\1", c)
    clauses = [p for p in re.split(r"\s*,\s*|\s+", c) if p]
    out: list[str] = []
    for clause in clauses:
        op = re.match(r"^(\^|~=|~|===|==|!=|<=|>=|<|>)?\s*(.+)$", clause)
        if op is None:
            raise RelaxError(f"not a version constraint: {constraint!r}")
        sign, version = op.group(1) or "", op.group(2).strip()
        if not re.fullmatch(r"[0-9][0-9A-Za-z.*+!-]*", version):
            raise RelaxError(f"not a version constraint: {constraint!r}")
        if sign in ("^", "~"):
            out += _bounds(sign, version, constraint)
        elif sign == "":
            out.append(f"=={version}")
        else:
            out.append(f"{sign}{version}")
    return ",".join(out)


def _bounds(sign: str, version: str, constraint: str) -> list[str]:
    from patchpilot.fixers.pyproject_edit import RelaxError

    parts = version.split(".")
    try:
        Version(version)
        numbers = [int(p) for p in re.findall(r"\d+", ".".join(parts[:3]))][: len(parts)]
    except (InvalidVersion, ValueError) as e:
        raise RelaxError(f"not a version constraint: {constraint!r}") from e
    if sign == "^":
        first = next((i for i, n in enumerate(numbers) if n), len(numbers) - 1)
        upper = [*numbers[:first], numbers[first] + 1]
    else:
        keep = 1 if len(numbers) == 1 else 2
        upper = [*numbers[: keep - 1], numbers[keep - 1] + 1]
    return [f">={version}", f"<{'.'.join(str(n) for n in upper)}"]


def poetry_allows(constraint: str, target: str) -> bool:
    """Whether a Poetry constraint admits `target` (unreadable constraints: assume not)."""
    from patchpilot.fixers.pyproject_edit import RelaxError

    try:
        spec = SpecifierSet(poetry_specifier(constraint))
        return spec.contains(Version(target), prereleases=True)
    except (RelaxError, InvalidSpecifier, InvalidVersion):
        return False


def relax_poetry(constraint: str, target: str) -> str | None:
    """A Poetry constraint rewritten to admit `target`; None when it admits it already.

    A caret or tilde moves to the target (`^5.3` → `^6.0.1`), an exact version is re-pinned
    in the same spelling, anything else is read as PEP 440 and rewritten by
    `pyproject_edit.relax_specifier` (the target becomes the floor).
    """
    from patchpilot.fixers.pyproject_edit import relax_specifier

    if poetry_allows(constraint, target):
        return None
    c = constraint.strip()
    if re.fullmatch(r"[\^~]\s*[0-9][^,\s]*", c):
        return f"{c[0]}{target}"
    if re.fullmatch(r"(==)?\s*[0-9][^,\s*]*", c):
        return f"=={target}" if c.startswith("==") else target
    return relax_specifier(poetry_specifier(c), target)


def _key(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def _reaches(version: str, target: Version) -> bool:
    try:
        return Version(version) >= target
    except InvalidVersion:
        return False
