"""`patchpilot ledger verify|export` and `patchpilot explain ID`: read the decision ledger.

The ledger lives in the advisory store's file (`--db`), or in any database a SQLAlchemy URL
names (`--ledger`). `ledger verify` exits 0 when the chain is intact, 1 when an event was
edited, reordered or deleted (naming the first one), 2 when the ledger cannot be read.
`explain` tells the latest run that names the ID (`--run N`, `--since DATE`, `--all` for
others; see `audit.explain`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from patchpilot.cli.main import choose_format, emit, store_path
from patchpilot.errors import ExitCode, OutputError, UsageError

if TYPE_CHECKING:
    from patchpilot.audit.ledger import ChainReport, Ledger


def _open_ledger(args: argparse.Namespace) -> Ledger:
    from patchpilot.audit.ledger import Ledger

    url: str | None = getattr(args, "ledger", None)
    return Ledger.open(url if url else store_path(args))


def run_ledger_verify(args: argparse.Namespace) -> ExitCode:
    with _open_ledger(args) as ledger:
        report = ledger.verify()
    fmt = getattr(args, "format", None) or "table"
    if fmt == "json":
        emit(json.dumps(report.to_json(), indent=2), getattr(args, "output", None))
    else:
        emit(render_report(report), getattr(args, "output", None))
    return ExitCode.OK if report.intact else ExitCode.FINDINGS


def render_report(report: ChainReport) -> str:
    if report.problem is None:
        if not report.events:
            return f"ledger {report.source}: intact, no events yet"
        return f"ledger {report.source}: intact, {report.events} events; tip hash {report.tip_hash}"
    return (
        f"ledger {report.source}: BROKEN at {report.problem}\n"
        f"({report.events} events before it hold)"
    )


def run_ledger_export(args: argparse.Namespace) -> ExitCode:
    output: Path | None = getattr(args, "output", None)
    with _open_ledger(args) as ledger:
        if output is None:
            ledger.export(sys.stdout)
            sys.stdout.flush()
            return ExitCode.OK
        _export_to_file(ledger, output)
    return ExitCode.OK


def _export_to_file(ledger: Ledger, output: Path) -> None:
    """Stream the export beside `output`, then rename it into place: never half a file."""
    directory = output.parent if str(output.parent) else Path()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise OutputError(f"{output}: cannot write: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            ledger.export(fh)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(output)
    except OSError as e:
        raise OutputError(f"{output}: cannot write: {e.strerror or e}") from e
    finally:
        Path(tmp).unlink(missing_ok=True)


def run_explain(args: argparse.Namespace) -> ExitCode:
    from patchpilot.audit.explain import explain_data, render_story

    fmt = choose_format(getattr(args, "format", None))
    since = _since(getattr(args, "since", None))
    with _open_ledger(args) as ledger:
        data = explain_data(
            ledger,
            args.ident,
            all_runs=bool(getattr(args, "all_runs", False)),
            run=getattr(args, "run", None),
            since=since,
        )
    text = json.dumps(data, indent=2, ensure_ascii=False) if fmt == "json" else render_story(data)
    emit(text, getattr(args, "output", None))
    return ExitCode.OK


def _since(text: str | None) -> datetime | None:
    """`--since`: an ISO date or date and time; without a zone, UTC."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise UsageError(f"--since: not an ISO date or time: {text!r}") from e
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
