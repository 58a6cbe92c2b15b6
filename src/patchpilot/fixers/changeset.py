"""Changesets: the concrete edit a remediation makes, and the one step that writes it.

A `ChangeSet` holds whole-file edits (`FileEdit`: the text before and after, `None` for a file
that does not exist on that side) and every package version the edit changes (`PackageDelta`,
transitive ones included), so a plan can show a unified diff and the full list of deltas
before anything is written. `write_changeset` is the only writer: it refuses any path that
leaves the project root (`..`, absolute paths, symbolic links pointing outside), refuses a
file that no longer holds the text the edit was computed from, replaces each file atomically,
puts back the files it already replaced when a later one fails, and writes nothing on a dry
run. Texts are exact file contents: no newline translation on either side.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath, PureWindowsPath

from patchpilot.errors import ChangeSetError
from patchpilot.fsutil import write_atomic
from patchpilot.model import Ecosystem


class DeltaLevel(StrEnum):
    """How one package changed between two readings of a lockfile.

    `major`, `minor`, `patch` are upgrades classified by the ecosystem's version rules
    (`fixers.deltas.change_level`); `unknown` is a change between versions the ecosystem's
    scheme cannot order, which a reviewer must look at like a major one.
    """

    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"
    ADDED = "added"
    REMOVED = "removed"
    DOWNGRADE = "downgrade"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class FileEdit:
    """One file's whole text before and after (None: the file is absent on that side).

    `path` is relative to the project root, with `/` separators.
    """

    path: str
    before: str | None
    after: str | None

    def unified_diff(self, context: int = 3) -> str:
        """The edit as a git-style unified diff (`a/`/`b/` prefixes, `/dev/null` sides)."""
        if self.before == self.after:
            return ""
        old = (self.before or "").splitlines(keepends=True)
        new = (self.after or "").splitlines(keepends=True)
        lines = difflib.unified_diff(
            old,
            new,
            fromfile="/dev/null" if self.before is None else f"a/{self.path}",
            tofile="/dev/null" if self.after is None else f"b/{self.path}",
            n=context,
        )
        return "".join(_terminated(lines))


def _terminated(lines: Iterator[str]) -> Iterator[str]:
    # A last line without a newline gets git's marker, so the diff still applies with git.
    for line in lines:
        if line.endswith("\n"):
            yield line
        else:
            yield line + "\n\\ No newline at end of file\n"


@dataclass(frozen=True, slots=True)
class PackageDelta:
    """One package version a changeset adds, removes or changes (`before`/`after` None when
    the package is absent on that side); `direct` says whether the project asks for it."""

    ecosystem: Ecosystem
    name: str
    before: str | None
    after: str | None
    level: DeltaLevel
    direct: bool

    @property
    def is_major(self) -> bool:
        return self.level is DeltaLevel.MAJOR

    def describe(self) -> str:
        """`name before → after` for messages (`added`/`removed` for one-sided deltas)."""
        if self.before is None:
            return f"{self.name} {self.after} (added)"
        if self.after is None:
            return f"{self.name} {self.before} (removed)"
        return f"{self.name} {self.before} → {self.after}"


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """The edits of one or more remediations, with every package delta they imply."""

    remediation_ids: tuple[str, ...]
    edits: tuple[FileEdit, ...]
    deltas: tuple[PackageDelta, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(e.path for e in self.edits)

    @property
    def majors(self) -> tuple[PackageDelta, ...]:
        return tuple(d for d in self.deltas if d.is_major)

    def unified_diff(self) -> str:
        """Every edit's diff, one after the other, in `git apply` form."""
        return "".join(e.unified_diff() for e in self.edits)


def write_changeset(changeset: ChangeSet, root: Path, *, dry_run: bool) -> None:
    """Write every edit under `root`, or only check them when `dry_run`.

    All edits are checked before the first write: each path must stay inside `root` and each
    file must still hold the edit's `before` text. Files are replaced one at a time, each
    atomically; if one fails, the ones already replaced get their `before` text back.
    """
    try:
        base = Path(root).resolve(strict=True)
    except OSError as e:
        raise ChangeSetError(root, f"project root cannot be used: {e.strerror or e}") from e
    if not base.is_dir():
        raise ChangeSetError(root, "project root is not a directory")
    targets: list[tuple[FileEdit, Path]] = []
    seen: set[Path] = set()
    for edit in changeset.edits:
        target = _target(base, edit.path)
        if target in seen:
            raise ChangeSetError(target, "edited twice in one changeset")
        seen.add(target)
        _check_unchanged(edit, target)
        targets.append((edit, target))
    if dry_run:
        return
    done: list[tuple[FileEdit, Path]] = []
    for edit, target in targets:
        try:
            _apply(target, edit.after)
        except OSError as e:
            problems = _restore(done)
            message = f"cannot write: {e.strerror or e}"
            if problems:
                message += "; could not restore " + ", ".join(problems)
            raise ChangeSetError(target, message) from e
        done.append((edit, target))


def _target(base: Path, rel: str) -> Path:
    """The file `rel` names under `base`, or a `ChangeSetError` if it leaves `base`."""
    posix = PurePosixPath(rel)
    if (
        not rel
        or "\0" in rel
        or posix.is_absolute()
        or PureWindowsPath(rel).is_absolute()
        or PureWindowsPath(rel).drive
        or ".." in posix.parts
        or ".." in PureWindowsPath(rel).parts
        or str(posix) == "."
    ):
        raise ChangeSetError(rel, "path escapes the project root (absolute, empty or with `..`)")
    lexical = base / posix
    resolved = lexical.resolve()
    if not resolved.is_relative_to(base):
        raise ChangeSetError(
            lexical, f"path escapes the project root through a symbolic link (to {resolved})"
        )
    return resolved


def _check_unchanged(edit: FileEdit, target: Path) -> None:
    current = _read(target)
    if current == edit.before:
        return
    if edit.before is None:
        raise ChangeSetError(target, "exists already; the changeset was made for a new file")
    if current is None:
        raise ChangeSetError(target, "no longer exists; make the changeset again")
    raise ChangeSetError(target, "changed since the changeset was made; make it again")


def _read(target: Path) -> str | None:
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except OSError as e:
        raise ChangeSetError(target, f"cannot read: {e.strerror or e}") from e
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ChangeSetError(target, f"not UTF-8 text (byte {e.start})") from e


def _apply(target: Path, text: str | None) -> None:
    if text is None:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, text)


def _restore(done: list[tuple[FileEdit, Path]]) -> list[str]:
    """Put back the `before` text of files already replaced; the paths that failed."""
    problems: list[str] = []
    for edit, target in reversed(done):
        try:
            _apply(target, edit.before)
        except OSError:
            problems.append(str(target))
    return problems
