"""Moves packages of a `uv.lock` with the real uv resolver, on a private copy of the project.

`UvLockFixer.fix` copies the directory that holds the lockfile and its `pyproject.toml` to a
temporary directory (without `.git`, virtualenvs, `node_modules` and caches), checks there
that the lock is in sync (`uv lock --check`), and then escalates each bump, least invasive
first, until the new lock holds the package at or above its target:

1. **in-place** — `uv lock --upgrade-package NAME==TARGET`, no manifest change (skipped when
   the manifest itself forbids the target: uv would refuse it);
2. **relax** (a package the manifest names) — `pyproject_edit.relax_dependency` rewrites each
   requirement that forbids the target, then `uv lock --upgrade-package NAME==TARGET`;
3. **override** (a transitive package, or a direct one with nothing to relax) —
   `NAME>=TARGET` in `[tool.uv] constraint-dependencies` (a constraint, unlike an override,
   keeps every parent's own requirement in force), then `uv lock --upgrade-package NAME`;
4. **co-upgrade** — the parents that forbid the target (named by uv's explanation and found
   among the package's ancestors in the lock, else the bump's `parents` and the lock's) may
   move too: their `==` pins in the manifest become `>=`, the edits of step 2 or 3 stay, and
   `uv lock --upgrade-package NAME==TARGET --upgrade-package PARENT…` runs, then the same
   with `NAME` unpinned; a parent the explanation names next joins for another round.

Any step after which an ancestor of the package moved reports `co-upgrade` with those moves,
whatever the command was: uv may move a parent on its own when only the lock held it back.
A name uv locked at several versions (one per fork) is upgraded unpinned, `--upgrade-package
NAME`: a pin would apply to every fork and drag the copies above the target down to it.
Bumps are made one after the other on the same copy, so edits accumulate into one lockfile;
a bump that fails leaves the copy as it found it and reports uv's explanation. uv only ever
resolves here (`uv lock`): nothing is installed or synced and Python downloads are off, though
uv may still build a source distribution when that is the only way to read its metadata.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from packaging.version import InvalidVersion, Version

from patchpilot.errors import FixError, SourceError
from patchpilot.events import Reporter
from patchpilot.fixers import pyproject_edit
from patchpilot.fixers._workspace import (
    ToolRun,
    each_bump,
    first_lines,
    locate,
    read_exact,
    run_recorder,
    run_tool,
    write_exact,
)
from patchpilot.fixers._workspace import copy_project as _copy_project
from patchpilot.fixers.changeset import FileEdit
from patchpilot.fixers.interface import Bump, BumpOutcome, FixOutcome, LockFixer, Strategy
from patchpilot.model import Ecosystem, NormalizedName, normalize_name
from patchpilot.sources.interface import load_toml

DEFAULT_TIMEOUT = 300.0
# Lines of uv's message kept in a failed bump's reason.
EXPLANATION_LINES = 20
# Rounds of co-upgrade: each may add the parents uv's last explanation named.
CO_UPGRADE_ROUNDS = 3

# Variables that would make `uv lock` refuse to write the lock.
_DROPPED_ENV = ("UV_FROZEN", "UV_LOCKED")
_NETWORK = re.compile(
    r"Failed to fetch|error sending request|tcp connect error|dns error|Connection refused|"
    r"connection reset|timed out|Could not connect|network is unreachable|offline mode|"
    r"Network connectivity is disabled|certificate",
    re.IGNORECASE,
)
_NO_SOLUTION = "No solution found"
_RESOLVING_DESPITE = re.compile(r"Resolving despite existing lockfile due to ([^\n]+)")
_OUT_OF_SYNC = re.compile(r"needs to be updated|out of date|does not match", re.IGNORECASE)
# `requests==2.25.1 depends on`, `requests>=2.24.0,<=2.25.1 depends on`,
# `all versions of requests depend on`, in uv's PubGrub explanations.
_DEPENDER = re.compile(
    r"(?:all versions of\s+)?\b([A-Za-z0-9][A-Za-z0-9._-]*)"
    r"(?:(?:===|==|!=|<=|>=|~=|<|>)[^\s]*)?\s+depends?\s+on\s"
)


@dataclass(frozen=True, slots=True)
class _Result:
    ok: bool
    stderr: str
    explanation: str


@dataclass(frozen=True, slots=True)
class _Lock:
    """One reading of the lock: versions by name, and who depends on whom (by name)."""

    versions: Mapping[str, tuple[str, ...]]
    dependents: Mapping[str, frozenset[str]]

    def ancestors(self, name: str) -> set[str]:
        """Every package that depends on `name`, directly or not (project roots excluded)."""
        seen: set[str] = set()
        todo = [name]
        while todo:
            for parent in self.dependents.get(todo.pop(), ()):
                if parent not in seen and parent != name:
                    seen.add(parent)
                    todo.append(parent)
        return seen


class UvLockFixer(LockFixer):
    """`uv.lock`: bumps through `uv lock --upgrade-package` and `pyproject.toml` edits."""

    format: ClassVar[str] = "uv.lock"

    def __init__(
        self,
        *,
        uv: Path | str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        reporter: Reporter | None = None,
    ) -> None:
        self._uv = Path(uv) if uv is not None else None
        self._timeout = timeout
        self._reporter = reporter or Reporter()
        self.runs: tuple[ToolRun, ...] = ()  # the uv commands of the last `fix`, with timings

    def fix(self, project: Path, lockfile: Path, bumps: Sequence[Bump]) -> FixOutcome:
        found = locate(project, lockfile)
        lock_path, lockfile = found.path, found.shown
        manifest_path = lock_path.parent / "pyproject.toml"
        if not manifest_path.is_file():
            raise FixError(f"{lockfile}: no pyproject.toml beside it")
        lock_rel = found.rel.as_posix()
        manifest_rel = manifest_path.relative_to(found.root).as_posix()
        self.runs = ()
        if not bumps:
            return FixOutcome(lockfile=lock_rel, outcomes=(), edits=(), commands=())
        uv = self._uv_binary()
        with tempfile.TemporaryDirectory(prefix="patchpilot-uv-") as tmp:
            work = Path(tmp) / "project"
            _copy_project(lock_path.parent, work)
            session = _Session(
                uv=uv,
                work=work,
                lock_name=lock_path.name,
                display=lockfile,
                timeout=self._timeout,
                reporter=self._reporter,
            )
            manifest_before = session.manifest
            lock_before = session.lock
            try:
                outcomes = each_bump(
                    bumps,
                    lambda bump: _bump(session, bump),
                    check=session.check,
                    reporter=self._reporter,
                    task="uv lock",
                )
            finally:
                self.runs = tuple(session.runs)
            edits: list[FileEdit] = []
            if session.manifest != manifest_before:
                edits.append(FileEdit(manifest_rel, manifest_before, session.manifest))
            if session.lock != lock_before:
                edits.append(FileEdit(lock_rel, lock_before, session.lock))
        return FixOutcome(
            lockfile=lock_rel,
            outcomes=tuple(outcomes),
            edits=tuple(edits),
            commands=tuple(run.command for run in session.runs),
            notes=tuple(session.notes),
        )

    def _uv_binary(self) -> Path:
        if self._uv is not None:
            if not self._uv.is_file():
                raise FixError(f"uv not found at {self._uv}")
            return self._uv
        try:
            from uv import find_uv_bin

            return Path(find_uv_bin())
        except (ImportError, FileNotFoundError) as e:
            raise FixError(f"uv is not installed: {e}") from e


@dataclass
class _Session:
    """The private copy one `fix` works in, its uv runs and the current file texts."""

    uv: Path
    work: Path
    lock_name: str
    display: Path
    timeout: float
    reporter: Reporter
    runs: list[ToolRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    manifest: str = ""
    lock: str = ""
    initial: frozenset[str] = frozenset()  # the names the lock held before any bump

    def __post_init__(self) -> None:
        self.manifest = self._read(self.work / "pyproject.toml")
        self.lock = self._read(self.work / self.lock_name)

    def _read(self, path: Path) -> str:
        return read_exact(path, self.display.parent / path.name)

    def _write(self, name: str, text: str) -> None:
        write_exact(self.work / name, text, self.display.parent / name)

    def set_manifest(self, text: str) -> None:
        self._write("pyproject.toml", text)
        self.manifest = text

    def restore(self, manifest: str, lock: str) -> None:
        """Put both files back to the given texts (after an attempt that did not do)."""
        if manifest != self.manifest:
            self.set_manifest(manifest)
        if lock != self._read(self.work / self.lock_name):
            self._write(self.lock_name, lock)
        self.lock = lock

    def reading(self) -> _Lock:
        return _read_lock(self.work / self.lock_name, self.display, self.lock)

    def check(self) -> None:
        """`uv lock --check`: the lock must already match pyproject.toml."""
        result = self.uv_lock(["--check"])
        if result.ok:
            self.initial = frozenset(self.reading().versions)
            return
        if _OUT_OF_SYNC.search(result.stderr) and not _NETWORK.search(result.stderr):
            why = _RESOLVING_DESPITE.search(result.stderr)
            raise FixError(
                f"{self.display}: uv.lock is out of sync with pyproject.toml: run `uv lock`"
                + (f" (uv: {why[1]})" if why else "")
            )
        raise FixError(f"{self.display}: `uv lock --check` failed: {_first_lines(result)}")

    def uv_lock(self, args: Sequence[str]) -> _Result:
        """Run `uv lock ARGS` in the copy; a failure for reasons other than the
        resolution (uv missing, no network, a timeout) is a `FixError`."""
        shown = shlex.join(["uv", "lock", *args])
        done = run_tool(
            [str(self.uv), "lock", *args],
            shown=shown,
            cwd=self.work,
            timeout=self.timeout,
            env=_environment(os.environ),
            where=self.display,
            on_run=run_recorder(self.runs, self.reporter, "uv lock"),
        )
        stderr = done.stderr
        result = _Result(done.ok, stderr, _explanation(stderr))
        if not result.ok and _NO_SOLUTION not in stderr and _NETWORK.search(stderr):
            raise FixError(f"{self.display}: `{shown}` failed: {_first_lines(result)}")
        if result.ok:
            self.lock = self._read(self.work / self.lock_name)
        return result


def _environment(base: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in _DROPPED_ENV}
    env["UV_NO_PROGRESS"] = "1"
    env["NO_COLOR"] = "1"
    # Resolution must not install anything, a Python interpreter included.
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    return env


def _explanation(stderr: str) -> str:
    """uv's error from its `error:` line on, without the `cause:` labels and progress lines."""
    lines = stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("error:")), None)
    if start is None:
        kept = [line for line in lines if line.strip()]
    else:
        kept = [line for line in lines[start:] if line.strip()]
    out: list[str] = []
    for line in kept:
        text = line.rstrip()
        for prefix in ("error: ", "  cause: ", "  Caused by: ", "  ╰─▶ "):
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        out.append(text)
    return "\n".join(out[:EXPLANATION_LINES])


def _gist(explanation: str) -> str:
    """The line of uv's explanation that says why (not the `No solution found` header)."""
    lines = [line.strip() for line in explanation.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(_NO_SOLUTION)]
    text = (useful or lines or ["failed"])[0]
    return text if len(text) <= 240 else text[:239] + "…"


def _first_lines(result: _Result) -> str:
    return first_lines(
        result.explanation,
        empty=f"uv exited with an error and printed nothing ({result.stderr!r})",
        joiner="\n  ",
        keep_indent=False,
    )


def _read_lock(path: Path, display: Path, text: str) -> _Lock:
    """Versions through the project's own reader; the full dependency graph by name."""
    from patchpilot.sources.uv_lock import UvLockSource

    try:
        read = UvLockSource().read(path)
    except SourceError as e:
        raise FixError(f"{display}: the lock cannot be read: {e}") from e
    versions: dict[str, list[str]] = {}
    for comp in read.components:
        versions.setdefault(comp.name, []).append(comp.version)
    data = load_toml(path, text)
    dependents: dict[str, set[str]] = {}
    for pkg in _dicts(data.get("package")):
        source = pkg.get("source")
        if isinstance(source, dict) and ("editable" in source or "virtual" in source):
            continue  # the project and its workspace members: not packages uv can move
        parent = _name(pkg.get("name"))
        if parent is None:
            continue
        for dep in _dependencies(pkg):
            child = _name(dep.get("name"))
            if child is not None:
                dependents.setdefault(child, set()).add(parent)
    return _Lock(
        versions={k: tuple(v) for k, v in versions.items()},
        dependents={k: frozenset(v) for k, v in dependents.items()},
    )


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _name(value: Any) -> str | None:
    return normalize_name(Ecosystem.PYPI, value) if isinstance(value, str) else None


def _dependencies(pkg: dict[str, Any]) -> Iterable[dict[str, Any]]:
    yield from _dicts(pkg.get("dependencies"))
    for table in ("optional-dependencies", "dev-dependencies"):
        groups = pkg.get(table)
        if isinstance(groups, dict):
            for items in groups.values():
                yield from _dicts(items)


# ---------------------------------------------------------------------------------------------
# One bump


@dataclass
class _Attempt:
    """What the escalation of one bump has learned so far."""

    bump: Bump
    name: NormalizedName
    target: Version
    before: _Lock
    failures: list[str] = field(default_factory=list)
    explanation: str = ""
    manifest_edits: list[str] = field(default_factory=list)


def _bump(session: _Session, bump: Bump) -> BumpOutcome:
    if bump.ecosystem is not Ecosystem.PYPI:
        return BumpOutcome(bump, None, None, reason=f"not a PyPI package ({bump.ecosystem})")
    try:
        target = Version(bump.target)
    except InvalidVersion:
        return BumpOutcome(bump, None, None, reason=f"target {bump.target!r} is not a version")
    name = normalize_name(Ecosystem.PYPI, bump.name)
    manifest0, lock0 = session.manifest, session.lock
    attempt = _Attempt(bump, name, target, session.reading())

    held = attempt.before.versions.get(name, ())
    if not held:
        if name not in session.initial:
            return BumpOutcome(bump, None, None, reason=f"{name} is not in {session.display}")
        return BumpOutcome(
            bump, Strategy.IN_PLACE, None, reason=f"an earlier bump removed {name} from the lock"
        )
    if _reached(held, target):
        return BumpOutcome(
            bump,
            Strategy.IN_PLACE,
            ", ".join(held),
            reason=f"the lock already holds {name} {', '.join(held)} (moved by an earlier bump)",
        )

    # A pin would apply to every copy of a name uv locked at several versions (one per fork)
    # and drag the copies already above the target down to it: those move unpinned.
    pinned = name if len(held) > 1 else f"{name}=={bump.target}"
    blocking = pyproject_edit.excluding(session.manifest, name, bump.target)

    # 1. in-place
    if blocking:
        attempt.failures.append(
            "in-place: pyproject.toml forbids it ("
            + ", ".join(f"{d.key} = {d.text!r}" for d in blocking)
            + ")"
        )
    else:
        outcome = _try(session, attempt, Strategy.IN_PLACE, ["--upgrade-package", pinned])
        if outcome is not None:
            return outcome

    # 2. relax
    relaxed = False
    if blocking or bump.direct:
        change = pyproject_edit.relax_dependency(session.manifest, name, bump.target)
        session.notes.extend(f"pyproject.toml {left}" for left in change.left)
        if change.changed:
            relaxed = True
            session.set_manifest(change.text)
            attempt.manifest_edits.append(change.describe())
            outcome = _try(session, attempt, Strategy.RELAX, ["--upgrade-package", pinned])
            if outcome is not None:
                return outcome
        elif bump.direct and not blocking:
            attempt.failures.append("relax: the manifest's requirements already allow it")

    # 3. override
    if not relaxed:
        change = pyproject_edit.add_constraint(session.manifest, name, bump.target)
        session.set_manifest(change.text)
        attempt.manifest_edits.append(change.describe())
        outcome = _try(session, attempt, Strategy.OVERRIDE, ["--upgrade-package", name])
        if outcome is not None:
            return outcome

    # 4. co-upgrade
    outcome = _co_upgrade(session, attempt, pinned)
    if outcome is not None:
        return outcome
    session.restore(manifest0, lock0)
    return BumpOutcome(
        bump,
        None,
        None,
        reason=f"{name} {bump.target} cannot be reached: "
        + "; ".join(attempt.failures)
        + (f"\nuv: {attempt.explanation}" if attempt.explanation else ""),
    )


def _try(
    session: _Session, attempt: _Attempt, strategy: Strategy, args: Sequence[str]
) -> BumpOutcome | None:
    """Run one `uv lock` for `strategy`; the outcome when the lock reached the target."""
    lock_before = session.lock
    result = session.uv_lock(args)
    shown = shlex.join(["uv", "lock", *args])
    if not result.ok:
        attempt.explanation = result.explanation
        attempt.failures.append(f"{strategy}: `{shown}`: {_gist(result.explanation)}")
        session.restore(session.manifest, lock_before)
        return None
    after = session.reading()
    held = after.versions.get(attempt.name, ())
    if held and not _reached(held, attempt.target):
        attempt.failures.append(f"{strategy}: `{shown}` kept {attempt.name} {', '.join(held)}")
        session.restore(session.manifest, lock_before)
        return None
    return _success(attempt, strategy, after, held, shown)


def _co_upgrade(session: _Session, attempt: _Attempt, pinned: str) -> BumpOutcome | None:
    ancestors = attempt.before.ancestors(attempt.name)
    parents = _blockers(attempt.explanation, ancestors, attempt.name)
    if not parents:
        fallback: set[str] = {normalize_name(Ecosystem.PYPI, p) for p in attempt.bump.parents}
        fallback |= attempt.before.dependents.get(attempt.name, frozenset())
        parents = [p for p in sorted(fallback) if p in ancestors]
    if not parents:
        attempt.failures.append("co-upgrade: no parent in the lock to move")
        return None
    tried: list[str] = []
    for _ in range(CO_UPGRADE_ROUNDS):
        for parent in parents:
            if parent in tried:
                continue
            tried.append(parent)
            change = pyproject_edit.unpin_dependency(session.manifest, parent)
            if change.changed:
                session.set_manifest(change.text)
                attempt.manifest_edits.append(change.describe())
        moving = [arg for p in tried for arg in ("--upgrade-package", p)]
        for package in dict.fromkeys((pinned, attempt.name)):
            outcome = _try(
                session, attempt, Strategy.CO_UPGRADE, ["--upgrade-package", package, *moving]
            )
            if outcome is not None:
                return outcome
        more = [
            p for p in _blockers(attempt.explanation, ancestors, attempt.name) if p not in tried
        ]
        if not more:
            break
        parents = more
    return None


def _blockers(explanation: str, ancestors: set[str], name: str) -> list[str]:
    """The ancestors of `name` that uv's explanation names as depending on something."""
    found: list[str] = []
    for m in _DEPENDER.finditer(explanation):
        candidate = normalize_name(Ecosystem.PYPI, m[1])
        if candidate != name and candidate in ancestors and candidate not in found:
            found.append(candidate)
    return found


def _reached(versions: Iterable[str], target: Version) -> bool:
    try:
        return all(Version(v) >= target for v in versions)
    except InvalidVersion:
        return False


def _success(
    attempt: _Attempt, strategy: Strategy, after: _Lock, held: tuple[str, ...], shown: str
) -> BumpOutcome:
    name = attempt.name
    before = attempt.before
    moved: list[tuple[str, str, str]] = []
    for parent in sorted(before.ancestors(name)):
        old = before.versions.get(parent, ())
        new = after.versions.get(parent, ())
        if old and new and old != new:
            moved.append((parent, ", ".join(old), ", ".join(new)))
    parts: list[str] = []
    if held:
        parts.append(
            f"`{shown}` moved {name} {', '.join(before.versions.get(name, ()))} → {', '.join(held)}"
        )
    else:
        parts.append(f"`{shown}` removed {name} from the lock")
    if attempt.manifest_edits:
        parts.append("pyproject.toml: " + "; ".join(e for e in attempt.manifest_edits if e))
    if moved:
        parts.append("parents moved too: " + ", ".join(f"{p} {a} → {b}" for p, a, b in moved))
        strategy = Strategy.CO_UPGRADE
    if attempt.failures:
        parts.append("tried first: " + "; ".join(attempt.failures))
    return BumpOutcome(
        bump=attempt.bump,
        strategy=strategy,
        resolved=", ".join(held) if held else None,
        co_upgrades=tuple(moved),
        reason="; ".join(parts),
    )
