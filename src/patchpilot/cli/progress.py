"""Progress on a terminal: a `Reporter` that draws rich progress bars on stderr.

Used only when stderr is a terminal, the output format is for humans and `CI` is not set;
otherwise the CLI passes the silent default reporter, so JSON output and CI logs stay clean.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import TYPE_CHECKING

from patchpilot.events import Reporter

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

_LABELS = {
    "read": "Reading manifests",
    "match": "Matching advisories",
    "import": "Importing advisories",
    "download": "Downloading",
}


def wants_progress(quiet: bool) -> bool:
    """Progress bars only for a person watching a terminal."""
    return not quiet and sys.stderr.isatty() and not os.environ.get("CI")


class RichReporter(Reporter):
    """Draws one bar per task; notes are printed above the bars."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._console = Console(stderr=True)
        self._progress: Progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[detail]}"),
            console=self._console,
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichReporter:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def start(self, task: str, total: int | None = None) -> None:
        label = _LABELS.get(task, task)
        self._tasks[task] = self._progress.add_task(label, total=total, detail="")

    def advance(self, task: str, amount: int = 1, detail: str = "") -> None:
        if task in self._tasks:
            self._progress.update(self._tasks[task], advance=amount, detail=detail[-60:])

    def finish(self, task: str) -> None:
        task_id = self._tasks.pop(task, None)
        if task_id is not None:
            self._progress.remove_task(task_id)

    def note(self, message: str) -> None:
        self._progress.console.print(f"[yellow]note:[/] {message}", highlight=False)


class StderrNotes(Reporter):
    """No bars; notes still go to stderr as plain lines (for CI logs and piped runs)."""

    def note(self, message: str) -> None:
        print(f"note: {message}", file=sys.stderr)
