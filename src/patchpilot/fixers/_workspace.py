"""The plumbing every lockfile fixer shares: its lockfile, its private copy, its tool runs.

`locate` checks that the lockfile a fixer is asked to fix is a file inside the project,
`copy_project` makes the private copy a fixer works in (without VCS data, virtualenvs,
`node_modules` and caches: the directories discovery skips, build output aside),
`read_exact`/`write_exact` move exact texts in and out of it, and `each_bump` drives the
bumps through it as progress. `run_tool` runs a resolver (uv, npm, Poetry) with stdin
closed, under a timeout, in a process group of its own so that a timeout stops the tool's
children too, and reports each run as a `ToolRun`; `first_lines` turns what a tool printed
when it failed into the first lines of a message. Every failure here is a `FixError` naming
the file or the command.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from patchpilot.errors import FixError
from patchpilot.events import Reporter
from patchpilot.fixers.interface import Bump, BumpOutcome
from patchpilot.sources.discover import SKIP_DIRS

# Build output may hold what a project installs from a path (`dist/*.whl`, `file:build/…`),
# which a resolver then reads: it is copied, unlike the rest of what discovery skips.
_BUILD_OUTPUT = frozenset({"dist", "build", "target", "site-packages", ".eggs"})
COPY_SKIP_DIRS = SKIP_DIRS - _BUILD_OUTPUT
ERROR_LINES = 8
# How long a killed tool's pipes are waited on before they are abandoned.
_REAP_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Located:
    """A lockfile checked to be a file inside its project."""

    root: Path  # the project directory, resolved
    path: Path  # the lockfile, resolved
    rel: Path  # the lockfile relative to `root`
    shown: Path  # the lockfile as named (a relative name joined to the project as named)


def locate(project: Path, lockfile: Path) -> Located:
    """Find `lockfile` (absolute, or relative to the project unless only the working
    directory has it) and check it is a file inside `project`; `FixError` otherwise."""
    project = Path(project)
    lockfile = Path(lockfile)
    shown = lockfile
    if not lockfile.is_absolute() and ((project / lockfile).exists() or not lockfile.exists()):
        shown = project / lockfile
    try:
        root = project.resolve(strict=True)
    except OSError as e:
        raise FixError(f"{project}: the project cannot be used: {e.strerror or e}") from e
    if not root.is_dir():
        raise FixError(f"{project}: the project is not a directory")
    try:
        path = shown.resolve(strict=True)
    except OSError as e:
        raise FixError(f"{shown}: cannot be read: {e.strerror or e}") from e
    if not path.is_relative_to(root):
        raise FixError(f"{shown}: not inside the project {project}")
    if not path.is_file():
        raise FixError(f"{shown}: not a file")
    return Located(root=root, path=path, rel=path.relative_to(root), shown=shown)


def copy_project(source: Path, target: Path) -> Path:
    """Copy `source` to `target` (symbolic links kept as links) without VCS data,
    virtualenvs, `node_modules` and caches; `target`."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        base = Path(directory)
        return {n for n in names if n in COPY_SKIP_DIRS or (base / n / "pyvenv.cfg").is_file()}

    try:
        shutil.copytree(source, target, symlinks=True, ignore=ignore)
    except (OSError, shutil.Error) as e:
        raise FixError(f"{source}: cannot copy the project to a private directory: {e}") from e
    return target


def read_exact(path: Path, shown: Path | str | None = None) -> str:
    """A file's exact text (no newline translation); `FixError` naming `shown` (else
    `path`) when it cannot be read or is not UTF-8."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise FixError(f"{shown or path}: not UTF-8 text (byte {e.start})") from e
    except OSError as e:
        raise FixError(f"{shown or path}: cannot read: {e.strerror or e}") from e


def write_exact(path: Path, text: str, shown: Path | str | None = None) -> None:
    """Write `text` exactly (UTF-8, newlines as given) into the private copy."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    except OSError as e:
        raise FixError(
            f"{shown or path}: cannot write in the private copy: {e.strerror or e}"
        ) from e


def each_bump(
    bumps: Sequence[Bump],
    one: Callable[[Bump], BumpOutcome],
    *,
    check: Callable[[], None],
    reporter: Reporter,
    task: str,
) -> list[BumpOutcome]:
    """`check()` the private copy, then `one(bump)` for each bump in turn, as progress of
    `task`."""
    try:
        reporter.start(task, total=len(bumps))
        check()
        outcomes = []
        for bump in bumps:
            outcomes.append(one(bump))
            reporter.advance(task, detail=bump.name)
        return outcomes
    finally:
        reporter.finish(task)


# ---------------------------------------------------------------------------------------------
# Tool runs


@dataclass(frozen=True, slots=True)
class ToolRun:
    """One tool command that ran (as a user could re-run it), how long it took, how it
    ended (-1: it did not finish, or could not start)."""

    command: str
    seconds: float
    returncode: int


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """What a finished tool printed (decoded as UTF-8, newlines made `\\n`) and returned."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_tool(
    argv: Sequence[str],
    *,
    shown: str,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    where: Path | str | None = None,
    on_run: Callable[[ToolRun], None] | None = None,
) -> ToolOutput:
    """Run `argv` in `cwd` with stdin closed; `FixError` when it cannot start or runs past
    `timeout` seconds (its whole process group is then killed). `shown` is the command as
    messages and `on_run` see it; `where`, when given, opens the error messages."""
    prefix = f"{where}: " if where else ""
    started = time.perf_counter()

    def record(returncode: int) -> float:
        seconds = time.perf_counter() - started
        if on_run is not None:
            on_run(ToolRun(shown, seconds, returncode))
        return seconds

    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # A group of its own, so a timeout can stop whatever the tool started too.
            start_new_session=True,
        )
    except OSError as e:
        record(-1)
        raise FixError(f"{prefix}cannot run `{shown}` ({argv[0]}): {e.strerror or e}") from e
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as e:
        _stop(proc)
        record(-1)
        raise FixError(f"{prefix}`{shown}` did not finish within {timeout:g} s") from e
    except BaseException:
        _stop(proc)
        raise
    seconds = record(proc.returncode)
    return ToolOutput(proc.returncode, _decoded(out), _decoded(err), seconds)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill the tool's process group and reap it."""
    if sys.platform == "win32":
        proc.kill()
    else:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    try:
        proc.communicate(timeout=_REAP_SECONDS)
    except subprocess.TimeoutExpired:
        # A descendant that left the group still holds the pipes: stop reading them.
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.kill()
        proc.wait()


def _decoded(data: bytes) -> str:
    return data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")


def run_recorder(runs: list[ToolRun], reporter: Reporter, task: str) -> Callable[[ToolRun], None]:
    """An `on_run` that keeps each run in `runs` and shows it as a detail of `task`."""

    def on_run(run: ToolRun) -> None:
        runs.append(run)
        reporter.advance(task, amount=0, detail=f"{run.command} ({run.seconds:.2f} s)")

    return on_run


def first_lines(
    text: str,
    *,
    empty: str = "no message",
    joiner: str = "\n",
    drop: tuple[str, ...] = (),
    keep_indent: bool = True,
) -> str:
    """The first `ERROR_LINES` non-blank lines of a tool's message (`…` when there are more),
    leaving out lines that start with one of `drop`; `empty` when none is left."""
    lines = [line.rstrip() if keep_indent else line.strip() for line in text.strip().splitlines()]
    lines = [line for line in lines if line and not (drop and line.startswith(drop))]
    shown = lines[:ERROR_LINES]
    if len(lines) > len(shown):
        shown.append("…")
    return joiner.join(shown) or empty
