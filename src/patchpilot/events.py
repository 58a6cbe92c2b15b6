"""Progress and events: the core reports through an injected `Reporter`, never by printing.

The default `Reporter` does nothing. The CLI subscribes a rich progress display on a terminal;
the audit ledger subscribes to `record`, which carries one `Record` per step that decided or
changed something. Engine code only ever calls these methods, so it runs the same quietly in
tests, in CI and under `--format json`. `Fanout` lets several observers listen at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Record:
    """One step worth answering "why did the bot do this?" for.

    `kind` names the step (scan, plan, fix, verify, decide, merge, branch, revert, reopen,
    suppress, gate, codefix); `summary` says it in plain words; `subjects` are the IDs it is
    about (finding IDs, `branch:NAME`, `commit:SHA`, `remediation:ID`, `action:ID`); `inputs`
    and `outcome` are JSON-ready mappings (advisory IDs with their `modified` times, digests,
    the decision and its rule, links). `actor` is `patchpilot` or the person who approved.
    """

    kind: str
    summary: str
    subjects: tuple[str, ...] = ()
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outcome: Mapping[str, Any] = field(default_factory=dict)
    actor: str = "patchpilot"


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

    def record(self, record: Record) -> None:
        """A step decided or changed something; the ledger appends it."""


class RecordingReporter(Reporter):
    """Keeps every call as a tuple; used by tests and by callers that want a transcript."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.records: list[Record] = []

    def start(self, task: str, total: int | None = None) -> None:
        self.calls.append(("start", task, str(total)))

    def advance(self, task: str, amount: int = 1, detail: str = "") -> None:
        self.calls.append(("advance", task, str(amount), detail))

    def finish(self, task: str) -> None:
        self.calls.append(("finish", task))

    def note(self, message: str) -> None:
        self.calls.append(("note", message))

    def record(self, record: Record) -> None:
        self.calls.append(("record", record.kind, record.summary))
        self.records.append(record)


class Fanout(Reporter):
    """Passes every call on to each of `reporters`, in order."""

    def __init__(self, reporters: Sequence[Reporter]) -> None:
        self.reporters = tuple(reporters)

    def start(self, task: str, total: int | None = None) -> None:
        for r in self.reporters:
            r.start(task, total)

    def advance(self, task: str, amount: int = 1, detail: str = "") -> None:
        for r in self.reporters:
            r.advance(task, amount, detail)

    def finish(self, task: str) -> None:
        for r in self.reporters:
            r.finish(task)

    def note(self, message: str) -> None:
        for r in self.reporters:
            r.note(message)

    def record(self, record: Record) -> None:
        for r in self.reporters:
            r.record(record)
