"""Progress and events: the core reports through an injected `Reporter`, never by printing.

The default `Reporter` does nothing. The CLI subscribes a rich progress display on a terminal;
the ledger (a later subsystem) subscribes to the same calls. Engine code only ever calls these
methods, so it runs the same quietly in tests, in CI and under `--format json`.
"""

from __future__ import annotations


class Reporter:
    """No-op observer of long-running work; subclasses render or record it."""

    def start(self, task: str, total: int | None = None) -> None:
        """Work named `task` begins; `total` units of it, if known."""

    def advance(self, task: str, amount: int = 1, detail: str = "") -> None:
        """`amount` more units of `task` are done; `detail` names the current item."""

    def finish(self, task: str) -> None:
        """`task` is over."""

    def note(self, message: str) -> None:
        """A one-line remark a user should see (e.g. a skipped broken record)."""


class RecordingReporter(Reporter):
    """Keeps every call as a tuple; used by tests and by callers that want a transcript."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def start(self, task: str, total: int | None = None) -> None:
        self.calls.append(("start", task, str(total)))

    def advance(self, task: str, amount: int = 1, detail: str = "") -> None:
        self.calls.append(("advance", task, str(amount), detail))

    def finish(self, task: str) -> None:
        self.calls.append(("finish", task))

    def note(self, message: str) -> None:
        self.calls.append(("note", message))
