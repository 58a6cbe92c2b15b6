"""Runs: how the ledger's events group into the invocations that recorded them.

A ledger holds every `patchpilot run` and `gate` ever recorded in it, one after the other, and
the IDs they name (findings, remediations, codemods) come back in each. `Runs` splits the
ledger into runs by sequence number, from its `scan` and `gate` events (`Ledger.run_marks`):

- a `scan` event (the first record of `patchpilot run`) opens a run;
- a `gate` event opens a run too, except when the run in progress was opened by a `scan` of the
  same project (`inputs.project`): then it is the CI check of what that run left and joins it;
- every other event belongs to the run in progress, the one most recently opened at or before
  it, whatever its project (records other than scan and gate do not name one). A run so holds
  its opening event and everything after it up to the next event that opens a run;
- events recorded before the first opening event form run 0.

Run numbers count opening events from 1 in ledger order, so they stay the same as the ledger
grows. What this does not know: runs of different projects recorded at the same time in one
ledger interleave, and the events of one recorded after the other's opening event count in the
other's run; the stories in `explain` follow actions, commits and branches across runs, so such
events are still told.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from patchpilot.audit.ledger import RunMark


@dataclass(frozen=True, slots=True)
class Run:
    """One run: its number, the sequence numbers it spans (from `start` up to, not including,
    `end`; None: to the end of the ledger) and the event that opened it (None for run 0)."""

    number: int
    start: int
    end: int | None
    mark: RunMark | None

    @property
    def span(self) -> tuple[int, int | None]:
        return (self.start, self.end)

    def holds(self, seq: int) -> bool:
        return seq >= self.start and (self.end is None or seq < self.end)

    @property
    def kind(self) -> str | None:
        return self.mark.kind if self.mark is not None else None

    @property
    def project(self) -> str | None:
        return self.mark.project if self.mark is not None else None

    @property
    def at(self) -> str | None:
        return self.mark.at if self.mark is not None else None


class Runs:
    """The runs of one ledger, from its scan and gate events in order."""

    def __init__(self, marks: Sequence[RunMark]) -> None:
        openers: list[RunMark] = []
        current: RunMark | None = None
        for mark in sorted(marks, key=lambda m: m.seq):
            joins = (
                mark.kind == "gate"
                and current is not None
                and current.kind == "scan"
                and current.project == mark.project
            )
            if not joins:
                openers.append(mark)
                current = mark
        starts = [m.seq for m in openers]
        runs = [Run(0, 0, starts[0] if starts else None, None)]
        for number, mark in enumerate(openers, start=1):
            end = starts[number] if number < len(starts) else None
            runs.append(Run(number, mark.seq, end, mark))
        self._runs = tuple(runs)
        self._starts = [0, *starts]

    @property
    def all(self) -> tuple[Run, ...]:
        """Run 0 (possibly empty) and every opened run, in order."""
        return self._runs

    @property
    def last(self) -> int:
        """The number of the latest run."""
        return len(self._runs) - 1

    def of(self, seq: int) -> Run:
        """The run the event with sequence number `seq` belongs to."""
        return self._runs[max(bisect_right(self._starts, seq) - 1, 0)]

    def number(self, n: int) -> Run | None:
        return self._runs[n] if 0 <= n < len(self._runs) else None


def spans(runs: Sequence[Run]) -> list[tuple[int, int | None]]:
    """The sequence-number spans of `runs`, adjacent ones merged."""
    merged: list[tuple[int, int | None]] = []
    for run in sorted(runs, key=lambda r: r.start):
        if merged and merged[-1][1] == run.start:
            merged[-1] = (merged[-1][0], run.end)
        else:
            merged.append(run.span)
    return merged
