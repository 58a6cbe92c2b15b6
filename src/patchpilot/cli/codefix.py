"""`patchpilot codefix`: rewrite known-vulnerable code patterns, or show what would change.

The handler runs the codemod engine (`fixers.codemods.engine.run_codemods`), renders the
changes and refusals (a rich table for people at a terminal, the `patchpilot.codefix/1` JSON
document otherwise) and writes the changeset in place unless `--dry-run`. Writing is a separate
step after rendering, so a dry run and a real run report the same result.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from patchpilot.cli.main import choose_format, emit, quiet
from patchpilot.errors import ExitCode

if TYPE_CHECKING:
    from patchpilot.fixers.codemods.engine import CodefixResult

SCHEMA_NAME = "patchpilot.codefix/1"


def run_codefix(args: argparse.Namespace) -> ExitCode:
    """Options: `path`, `dry_run`, `only` (codemod ids or None), `sarif` (Path or None),
    `format` (table | json | None); optional `output`."""
    from pathlib import Path

    from patchpilot.cli.scan import reporter_for
    from patchpilot.fixers.changeset import write_changeset
    from patchpilot.fixers.codemods.engine import run_codemods

    fmt = choose_format(args.format)
    only = _ids(getattr(args, "only", None))
    root = Path(args.path)
    with reporter_for(fmt, args) as reporter:
        result = run_codemods(
            root, only=only, targets=getattr(args, "sarif", None), reporter=reporter
        )
    write_changeset(result.changeset, root, dry_run=bool(args.dry_run))
    output = getattr(args, "output", None)
    color = output is None and sys.stdout.isatty()
    emit(render_codefix(result, fmt, dry_run=bool(args.dry_run), color=color), output)
    if not quiet(args) and fmt == "table" and not args.dry_run and result.changeset.edits:
        print(f"wrote {len(result.changeset.edits)} file(s)", file=sys.stderr)
    return ExitCode.OK


def _ids(values: Sequence[str] | None) -> list[str] | None:
    # `--only a,b --only c` and `--only a b` all mean the same three ids.
    if not values:
        return None
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


def codefix_to_dict(result: CodefixResult, *, dry_run: bool) -> dict[str, Any]:
    """The `patchpilot.codefix/1` document: codemods with counts, changes, refusals, diffs."""
    return {
        "schema": SCHEMA_NAME,
        "root": str(result.root),
        "dry_run": dry_run,
        "written": not dry_run and bool(result.changeset.edits),
        "files_scanned": result.files_scanned,
        "codemods": [
            {
                "id": c.id,
                "title": c.title,
                "tier": str(c.tier),
                "cwe": [f"CWE-{n}" for n in c.cwe],
                "rules": list(c.rules),
                "changes": result.counts[c.id].changes,
                "refusals": result.counts[c.id].refusals,
                "files": result.counts[c.id].files,
            }
            for c in result.codemods
        ],
        "changes": [
            {"codemod": c.codemod, "path": c.path, "line": c.line, "description": c.description}
            for c in sorted(result.changes, key=lambda c: (c.path, c.line, c.codemod))
        ],
        "refusals": [
            {
                "codemod": r.codemod,
                "path": r.path,
                "line": r.line,
                "reason": str(r.reason),
                "detail": r.detail,
            }
            for r in sorted(result.refusals, key=lambda r: (r.path, r.line or 0, r.codemod))
        ],
        "files": [{"path": e.path, "diff": e.unified_diff()} for e in result.changeset.edits],
        "notes": list(result.notes),
    }


def render_codefix(result: CodefixResult, fmt: str, *, dry_run: bool, color: bool = False) -> str:
    if fmt == "json":
        return json.dumps(codefix_to_dict(result, dry_run=dry_run), indent=2)
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    out = io.StringIO()
    console = Console(
        file=out, width=120, force_terminal=color, color_system=None if not color else "auto"
    )
    tiers = {c.id: str(c.tier) for c in result.codemods}
    if result.changes:
        table = Table(
            title="Code changes" + (" (dry run: nothing written)" if dry_run else ""),
            box=box.SIMPLE_HEAD,
            title_justify="left",
        )
        for col in ("file:line", "codemod", "tier", "change"):
            table.add_column(col)
        for c in sorted(result.changes, key=lambda c: (c.path, c.line, c.codemod)):
            table.add_row(
                Text(f"{c.path}:{c.line}"),
                Text(c.codemod),
                Text(tiers.get(c.codemod, "")),
                Text(c.description),
            )
        console.print(table)
    if result.refusals:
        table = Table(title="Refused", box=box.SIMPLE_HEAD, title_justify="left")
        for col in ("file:line", "codemod", "reason", "why"):
            table.add_column(col)
        for r in sorted(result.refusals, key=lambda r: (r.path, r.line or 0, r.codemod)):
            where = r.path if r.line is None else f"{r.path}:{r.line}"
            table.add_row(Text(where), Text(r.codemod), Text(str(r.reason)), Text(r.detail))
        console.print(table)
    if not result.changes and not result.refusals:
        console.print(f"No known-vulnerable code pattern in {result.files_scanned} file(s).")
    if dry_run and result.changeset.edits:
        console.print(Text(result.changeset.unified_diff()))
    for note in result.notes:
        console.print(Text(f"note: {note}"))
    return out.getvalue()
