"""The seam every lockfile fixer implements: move packages to target versions, for real.

A `LockFixer` works on a private copy of the project (never the user's tree): it edits the
manifest where it must (format-preserving) and runs the real resolver of its ecosystem (uv,
poetry, npm, pip's via uv) to produce the new lockfile. It returns what it did as data — the
strategy each bump took, the co-upgrades it needed, and whole-file edits — and the caller
decides whether to only show them (`plan`, `fix --dry-run`) or commit them on a branch (`fix`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from patchpilot.fixers.changeset import FileEdit
from patchpilot.model import Ecosystem, NormalizedName


class Strategy(StrEnum):
    """How a bump was made, least invasive first (the order fixers try them in).

    - `in-place`: only the lockfile changes, inside the manifest's existing constraints;
    - `relax`: the manifest's constraint on a direct dependency is edited, then relocked;
    - `override`: a transitive dependency is pinned from the project (uv
      `constraint-dependencies`, a pip constraints file, a Poetry direct dependency, npm
      `overrides`), then relocked;
    - `co-upgrade`: a parent whose own requirement forbids the fixed version is upgraded too.
    """

    IN_PLACE = "in-place"
    RELAX = "relax"
    OVERRIDE = "override"
    CO_UPGRADE = "co-upgrade"


@dataclass(frozen=True, slots=True)
class Bump:
    """One package to move: from its locked version to at least `target`."""

    ecosystem: Ecosystem
    name: NormalizedName
    current: str
    target: str
    direct: bool
    parents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BumpOutcome:
    """What happened to one bump: the version it ended at, how, and which parents moved."""

    bump: Bump
    strategy: Strategy | None  # None: could not be done (see `reason`)
    resolved: str | None  # the version the new lockfile holds
    co_upgrades: tuple[tuple[str, str, str], ...] = ()  # (parent, from, to)
    reason: str = ""  # why, in plain words; on failure, what the resolver said


@dataclass(frozen=True, slots=True)
class FixOutcome:
    """The result of one fixer run over one lockfile: per-bump outcomes and the file edits."""

    lockfile: str  # relative to the project root
    outcomes: tuple[BumpOutcome, ...]
    edits: tuple[FileEdit, ...]  # manifest and lockfile, relative paths
    commands: tuple[str, ...]  # resolver commands that ran, for the PR body and the ledger
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(o.strategy is not None for o in self.outcomes)


class LockFixer(ABC):
    """Moves packages of one lockfile format (`format` equals the reader's `format`)."""

    format: ClassVar[str]

    @abstractmethod
    def fix(self, project: Path, lockfile: Path, bumps: Sequence[Bump]) -> FixOutcome:
        """Apply `bumps` on a private copy of `project`; the user's files are never written.

        `lockfile` is inside `project`. Raise `FixError` (errors.py) for a project the fixer
        cannot work on at all (lockfile out of sync with its manifest, resolver missing or
        failing for reasons unrelated to the bumps, no network); a bump that cannot be made
        is reported in its `BumpOutcome` instead.
        """
