"""Error roots, one per subsystem, and the exit statuses they map to.

Every error a user can cause (bad input, bad options) derives from `PatchpilotError` and carries
a message that names the file and the line or key at fault. The CLI prints that one message and
exits with the error's `exit_code`; anything else escaping the engine is an internal error (3).
Library exceptions are caught at the layer that calls the library and re-raised as one of these,
chained with `from`.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Documented exit statuses of every patchpilot command."""

    OK = 0
    FINDINGS = 1
    INPUT_ERROR = 2
    INTERNAL_ERROR = 3


def where(path: Path | str, place: int | str | None = None) -> str:
    """Format a location for messages: `file`, `file:12` or `file: key.path`."""
    if place is None or place == "":
        return str(path)
    if isinstance(place, int):
        return f"{path}:{place}"
    return f"{path}: {place}"


class PatchpilotError(Exception):
    """Root of every error patchpilot reports to users."""

    exit_code: ExitCode = ExitCode.INPUT_ERROR


class UsageError(PatchpilotError):
    """Options that do not fit together, or name something that does not exist."""


class SourceError(PatchpilotError):
    """A manifest, lockfile or SBOM that cannot be read.

    `path` is the file, `place` a line number or a key path inside it.
    """

    def __init__(self, path: Path | str, place: int | str | None, message: str) -> None:
        self.path = Path(path)
        self.place = place
        self.reason = message
        super().__init__(f"{where(path, place)}: {message}")


class AdvisoryError(PatchpilotError):
    """Root of advisory-store errors (import, update, lookups)."""


class RecordError(AdvisoryError):
    """One OSV record that is not valid; imports count and name these and go on."""

    def __init__(self, origin: str, place: str | None, message: str) -> None:
        self.origin = origin
        self.place = place
        self.reason = message
        super().__init__(f"{where(origin, place)}: {message}")


class StoreError(AdvisoryError):
    """The advisory store is missing, empty, corrupted or cannot be written."""


class DownloadError(AdvisoryError):
    """An online update could not fetch or read a published database."""


class OutputError(PatchpilotError):
    """A result could not be rendered or written to the requested output."""


class GitError(PatchpilotError):
    """A git command failed, or a path is not inside a git repository.

    `repo` is the repository (or the path that should have been one), `command` the git
    arguments that failed (empty when no command ran) and `stderr` git's own message; the
    first lines of it end the text shown to users.
    """

    STDERR_LINES = 6

    def __init__(
        self, repo: Path | str, message: str, command: Sequence[str] = (), stderr: str = ""
    ) -> None:
        self.repo = Path(repo)
        self.command = tuple(command)
        self.stderr = stderr
        self.reason = message
        text = f"{repo}: {message}"
        if self.command:
            text += f" (`{shlex.join(('git', *self.command))}`)"
        lines = [line.rstrip() for line in stderr.strip().splitlines() if line.strip()]
        if lines:
            shown = lines[: self.STDERR_LINES]
            if len(lines) > len(shown):
                shown.append("…")
            text += ":\n  " + "\n  ".join(shown)
        super().__init__(text)


class ChangeSetError(PatchpilotError):
    """A changeset that cannot be written: a path outside the project, or a stale file."""

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = Path(path)
        self.reason = message
        super().__init__(f"{where(path)}: {message}")


class IndexLookupError(PatchpilotError):
    """A package index (PyPI, the npm registry) could not list a package's releases.

    `url` is the address asked (or that would have been asked, for a cache miss offline).
    """

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.reason = message
        super().__init__(f"{url}: {message}")


class FixError(PatchpilotError):
    """A fix cannot be prepared at all: resolver missing or failing, lockfile out of sync."""


class VerifyError(PatchpilotError):
    """A fix cannot be verified: no test command, an environment that cannot be built, a test
    run that timed out or left no readable results."""


class BreakingError(PatchpilotError):
    """A distribution needed for an API comparison cannot be fetched, unpacked or read.

    `package` and `version` name the distribution; the message says what failed.
    """

    def __init__(self, package: str, version: str, message: str) -> None:
        self.package = package
        self.version = version
        self.reason = message
        super().__init__(f"{package} {version}: {message}")


class _PlacedError(PatchpilotError):
    """An error in one file at one place (a line number or a key path)."""

    def __init__(self, path: Path | str, place: int | str | None, message: str) -> None:
        self.path = Path(path)
        self.place = place
        self.reason = message
        super().__init__(f"{where(path, place)}: {message}")


class PolicyError(_PlacedError):
    """A policy file (`.patchpilot.toml`) that is invalid, or that cannot hold for the project
    (e.g. it grants merges where no test command exists). `place` is the key path."""


class SignalError(_PlacedError):
    """An exploit-signal data file (CISA KEV catalog, FIRST EPSS scores) that cannot be read."""


class VexError(_PlacedError):
    """A VEX document (OpenVEX, CycloneDX VEX) that cannot be read or is not valid."""


class LedgerError(PatchpilotError):
    """The decision ledger cannot be opened, read or appended to, or an event does not exist."""


class DeliverError(PatchpilotError):
    """A branch cannot be merged or a merge cannot be reverted (conflicts, a dirty target
    worktree, an unknown action). Nothing is left half-done when this is raised."""


class CodefixError(_PlacedError):
    """A source or configuration file that a code or config fix cannot read or rewrite."""
