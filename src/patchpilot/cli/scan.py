"""`patchpilot scan`: inventory a project, match it, render the report, pick the exit status."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator

from patchpilot.cli.main import choose_format, emit, quiet, store_path
from patchpilot.cli.progress import RichReporter, StderrNotes, wants_progress
from patchpilot.errors import ExitCode
from patchpilot.events import Reporter
from patchpilot.model import ScanResult, SeverityLevel


@contextlib.contextmanager
def reporter_for(fmt: str, args: argparse.Namespace) -> Iterator[Reporter]:
    """Progress bars for people at a terminal with a human format; plain notes otherwise."""
    if fmt in ("table", "markdown") and wants_progress(quiet(args)):
        with RichReporter() as rich_reporter:
            yield rich_reporter
    else:
        yield StderrNotes()


def run_scan(args: argparse.Namespace) -> ExitCode:
    from patchpilot import engine
    from patchpilot.advisories.store import AdvisoryStore
    from patchpilot.formats import render_scan

    fmt = choose_format(args.format)
    with (
        AdvisoryStore.open(store_path(args), create=False) as store,
        reporter_for(fmt, args) as reporter,
    ):
        result = engine.scan(args.path, store, reporter)
    color = args.output is None and sys.stdout.isatty()
    emit(render_scan(result, fmt, color=color), args.output)
    return exit_status(result, args.fail_on)


def exit_status(result: ScanResult, fail_on: str) -> ExitCode:
    """1 when any finding is at or above `fail_on` ("any" counts every finding)."""
    if fail_on == "any":
        failing = bool(result.findings)
    else:
        threshold = SeverityLevel(fail_on).rank
        failing = any(f.severity.level.rank >= threshold for f in result.findings)
    return ExitCode.FINDINGS if failing else ExitCode.OK
