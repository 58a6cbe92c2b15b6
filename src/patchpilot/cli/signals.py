"""`patchpilot db import-kev FILE` and `db import-epss FILE`: load exploit signals into the store.

Each handler imports one published data file (the CISA KEV catalog JSON, a FIRST EPSS CSV,
gzipped or not) into the advisory store named by `--db`, replacing the previous import of that
data set, and prints what was imported: the data set's version and date, the row count and the
store. `--format json` prints the same as a document; `--quiet` silences the table output.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from patchpilot.cli.main import choose_format, emit, quiet, store_path
from patchpilot.errors import ExitCode

if TYPE_CHECKING:
    from patchpilot.assess.exploit import SignalImport


def run_import_kev(args: argparse.Namespace) -> ExitCode:
    from patchpilot.assess.exploit import import_kev

    db = store_path(args)
    result = import_kev(db, Path(args.file))
    _show(db, result, args)
    return ExitCode.OK


def run_import_epss(args: argparse.Namespace) -> ExitCode:
    from patchpilot.assess.exploit import import_epss

    db = store_path(args)
    result = import_epss(db, Path(args.file))
    _show(db, result, args)
    return ExitCode.OK


def import_dict(entry: SignalImport) -> dict[str, object]:
    """One import as JSON-ready data (also for `db status`)."""
    return {
        "kind": entry.kind,
        "file": entry.file,
        "version": entry.version,
        "released": entry.released,
        "count": entry.count,
        "imported_at": entry.imported_at,
    }


def import_line(entry: SignalImport) -> str:
    """One import in words (also for `db status`)."""
    what = "KEV entries" if entry.kind == "kev" else "EPSS scores"
    released = f", released {entry.released}" if entry.released else ""
    return (
        f"{entry.label}: {entry.count} {what} from {entry.file}{released}; "
        f"imported {entry.imported_at}"
    )


def _show(db: Path, entry: SignalImport, args: argparse.Namespace) -> None:
    fmt = choose_format(getattr(args, "format", None))
    if fmt == "json":
        doc = {"schema": "patchpilot.signal-import/1", "store": str(db), **import_dict(entry)}
        emit(json.dumps(doc, indent=2), None)
    elif not quiet(args):
        emit(f"store: {db}\n{import_line(entry)}", None)
