"""`patchpilot db import | update | status`: fill and inspect the advisory store."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from patchpilot.cli.main import choose_format, emit, quiet, store_path
from patchpilot.cli.progress import RichReporter, StderrNotes, wants_progress
from patchpilot.errors import ExitCode
from patchpilot.events import Reporter

if TYPE_CHECKING:
    from patchpilot.advisories.store import ImportReport, StoreStatus


@contextlib.contextmanager
def _reporter(fmt: str, args: argparse.Namespace) -> Iterator[Reporter]:
    if fmt == "table" and wants_progress(quiet(args)):
        with RichReporter() as reporter:
            yield reporter
    else:
        yield StderrNotes()


def run_import(args: argparse.Namespace) -> ExitCode:
    from patchpilot.advisories.store import AdvisoryStore

    fmt = choose_format(args.format)
    with (
        AdvisoryStore.open(store_path(args), create=True) as store,
        _reporter(fmt, args) as reporter,
    ):
        reports = store.import_paths(args.paths, reporter)
        path = str(store.path)
    emit(_render_reports(path, reports, fmt), None)
    return ExitCode.OK


def run_update(args: argparse.Namespace) -> ExitCode:
    from patchpilot.advisories import update as online
    from patchpilot.advisories.store import AdvisoryStore

    fmt = choose_format(args.format)
    ecosystems = args.ecosystems or list(online.DEFAULT_ECOSYSTEMS)
    base_url = args.base_url or online.OSV_BASE_URL
    with (
        AdvisoryStore.open(store_path(args), create=True) as store,
        _reporter(fmt, args) as reporter,
    ):
        reports = online.update(store, ecosystems, base_url=base_url, reporter=reporter)
        path = str(store.path)
    emit(_render_reports(path, reports, fmt), None)
    return ExitCode.OK


def run_status(args: argparse.Namespace) -> ExitCode:
    from patchpilot.advisories.store import AdvisoryStore

    fmt = choose_format(args.format)
    from patchpilot.assess.exploit import ExploitIndex
    from patchpilot.cli.signals import import_dict, import_line

    with AdvisoryStore.open(store_path(args), create=False) as store:
        status = store.status()
    signals = ExploitIndex.open(store_path(args)).status()
    current = [entry for entry in (signals.kev, signals.epss) if entry is not None]
    if fmt == "json":
        doc = json.loads(_render_status(status, fmt))
        doc["signals"] = [import_dict(entry) for entry in current]
        emit(json.dumps(doc, indent=2), None)
        return ExitCode.OK
    text = _render_status(status, fmt)
    lines = [import_line(entry) for entry in current] or [
        "exploit signals: none imported (db import-kev FILE, db import-epss FILE)"
    ]
    emit(text + "\n".join(lines) + "\n", None)
    return ExitCode.OK


def _report_dict(r: ImportReport) -> dict[str, object]:
    return {
        "source": r.source,
        "kind": r.kind,
        "imported": r.imported,
        "replaced": r.replaced,
        "unchanged": r.unchanged,
        "broken": r.broken,
        "errors": list(r.errors),
        "seconds": round(r.seconds, 3),
    }


def _render_reports(store: str, reports: Sequence[ImportReport], fmt: str) -> str:
    if fmt == "json":
        doc = {
            "schema": "patchpilot.db-import/1",
            "store": store,
            "imports": [_report_dict(r) for r in reports],
        }
        return json.dumps(doc, indent=2)
    lines = [f"store: {store}"]
    for r in reports:
        lines.append(
            f"{r.source}: {r.imported} new, {r.replaced} replaced by a newer `modified`, "
            f"{r.unchanged} unchanged, {r.broken} broken ({r.seconds:.2f} s)"
        )
        lines.extend(f"  skipped: {e}" for e in r.errors[:20])
        if len(r.errors) > 20:
            lines.append(f"  … and {len(r.errors) - 20} more (see --format json)")
    return "\n".join(lines)


def _render_status(status: StoreStatus, fmt: str) -> str:
    if fmt == "json":
        doc = {
            "schema": "patchpilot.db-status/1",
            "store": status.path,
            "schema_version": status.schema_version,
            "records": status.records,
            "withdrawn": status.withdrawn,
            "digest": status.digest,
            "ecosystems": [
                {
                    "ecosystem": e.ecosystem,
                    "records": e.records,
                    "withdrawn": e.withdrawn,
                    "newest_modified": e.newest_modified,
                }
                for e in status.ecosystems
            ],
            "imports": [
                {
                    "source": i.source,
                    "kind": i.kind,
                    "when": i.when,
                    "seconds": i.seconds,
                    "imported": i.imported,
                    "replaced": i.replaced,
                    "unchanged": i.unchanged,
                    "broken": i.broken,
                }
                for i in status.imports
            ],
        }
        return json.dumps(doc, indent=2)
    from rich import box
    from rich.console import Console
    from rich.table import Table

    eco = Table(title=f"{status.path}: {status.records} records", box=box.SIMPLE_HEAD)
    for col in ("ecosystem", "records", "withdrawn", "newest modified"):
        eco.add_column(col, justify="right" if col in ("records", "withdrawn") else "left")
    for e in status.ecosystems:
        eco.add_row(e.ecosystem, str(e.records), str(e.withdrawn), e.newest_modified or "-")
    log = Table(title="imports", box=box.SIMPLE_HEAD)
    for col in ("when", "source", "new", "replaced", "unchanged", "broken"):
        log.add_column(col)
    for i in status.imports:
        log.add_row(
            i.when, i.source, str(i.imported), str(i.replaced), str(i.unchanged), str(i.broken)
        )
    out = io.StringIO()
    Console(file=out, width=120, color_system=None, highlight=False).print(eco, log)
    return out.getvalue()
