"""`patchpilot codefix`: fix known-vulnerable code patterns and insecure settings.

By default it runs the same pipeline as `run` for dependency fixes (`engine.codefix`): one
branch per codemod (and one for the configuration mitigations), verified with the project's
tests — which tests execute each changed line — then decided by the policy and delivered at
the level it grants. `--dry-run` only shows what would change and what is refused, on the
working tree as it is (no git needed); `--write` rewrites the working tree in place, without
branches, tests or policy (for a developer at their own desk). Both render the changes and
refusals (a rich table at a terminal, the `patchpilot.codefix/1` JSON document otherwise).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from patchpilot.cli.main import choose_format, emit, quiet
from patchpilot.errors import ExitCode
from patchpilot.formats.codefix_out import SCHEMA_NAME, codefix_to_dict

__all__ = ["SCHEMA_NAME", "codefix_to_dict", "render_codefix", "run_codefix"]

if TYPE_CHECKING:
    from patchpilot.fixers.codemods.engine import CodefixResult
    from patchpilot.fixers.config.interface import MitigationResult


def run_codefix(args: argparse.Namespace) -> ExitCode:
    """Options: `path`, `dry_run`, `only` (codemod ids or None), `sarif` (Path or None),
    `format` (table | json | None); optional `output`, `write`, `config`, `max_level`,
    `policy`, `target`, `timeout`."""
    if not args.dry_run and not getattr(args, "write", False):
        return _run_pipeline(args)
    return _run_in_place(args)


def _run_pipeline(args: argparse.Namespace) -> ExitCode:
    from pathlib import Path

    from patchpilot import engine
    from patchpilot.advisories.store import AdvisoryStore
    from patchpilot.cli.main import store_path
    from patchpilot.cli.run import forge_from, ledger_reporter, run_time
    from patchpilot.errors import UsageError
    from patchpilot.formats.run_out import render_codefix as render_run_codefix
    from patchpilot.policy.load import load_policy

    fmt = choose_format(args.format)
    if fmt not in ("table", "json"):
        fmt = "table"
    max_level = getattr(args, "max_level", None)
    if max_level is not None and not 1 <= max_level <= 3:
        raise UsageError(f"--max-level: expected 1, 2 or 3, got {max_level}")
    root = Path(args.path).resolve()
    policy = load_policy(root, getattr(args, "policy", None))
    options = engine.CodefixOptions(
        now=run_time(),
        only=tuple(_ids(getattr(args, "only", None)) or ()) or None,
        sarif=getattr(args, "sarif", None),
        config=bool(getattr(args, "config", True)),
        max_level=max_level,
        target=getattr(args, "target", None),
        timeout=getattr(args, "timeout", None),
        forge=forge_from(getattr(args, "forge", "local")),
    )
    # The ledger shares the advisory store's file; a project without a store gets one made.
    with (
        AdvisoryStore.open(store_path(args), create=True) as store,
        ledger_reporter(store, policy, fmt, args) as (reporter, _ledger),
    ):
        result = engine.codefix(root, policy, options, reporter)
    emit(render_run_codefix(result, fmt), getattr(args, "output", None))
    return ExitCode.OK


def _run_in_place(args: argparse.Namespace) -> ExitCode:
    from pathlib import Path

    from patchpilot.cli.scan import reporter_for
    from patchpilot.fixers.changeset import write_changeset
    from patchpilot.fixers.codemods.engine import run_codemods
    from patchpilot.fixers.config import run_config_mitigations

    fmt = choose_format(args.format)
    only = _ids(getattr(args, "only", None))
    root = Path(args.path)
    dry_run = bool(args.dry_run)
    with reporter_for(fmt, args) as reporter:
        result = run_codemods(
            root, only=only, targets=getattr(args, "sarif", None), reporter=reporter
        )
        config = (
            run_config_mitigations(root, reporter=reporter)
            if getattr(args, "config", True) and only is None
            else None
        )
    write_changeset(result.changeset, root, dry_run=dry_run)
    if config is not None:
        write_changeset(config.changeset, root, dry_run=dry_run)
    output = getattr(args, "output", None)
    color = output is None and sys.stdout.isatty()
    emit(render_codefix(result, fmt, dry_run=dry_run, color=color, config=config), output)
    written = len(result.changeset.edits) + (len(config.changeset.edits) if config else 0)
    if not quiet(args) and fmt == "table" and not dry_run and written:
        print(f"wrote {written} file(s)", file=sys.stderr)
    return ExitCode.OK


def _ids(values: Sequence[str] | None) -> list[str] | None:
    # `--only a,b --only c` and `--only a b` all mean the same three ids.
    if not values:
        return None
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


def render_codefix(
    result: CodefixResult,
    fmt: str,
    *,
    dry_run: bool,
    color: bool = False,
    config: MitigationResult | None = None,
) -> str:
    if fmt == "json":
        return json.dumps(codefix_to_dict(result, dry_run=dry_run, config=config), indent=2)
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
    if config is not None and (config.changes or config.refusals):
        table = Table(title="Configuration", box=box.SIMPLE_HEAD, title_justify="left")
        for col in ("file:line", "mitigation", "change or refusal"):
            table.add_column(col)
        for cc in config.changes:
            table.add_row(Text(f"{cc.path}:{cc.line}"), Text(cc.mitigation), Text(cc.description))
        for cr in config.refusals:
            where = cr.path if cr.line is None else f"{cr.path}:{cr.line}"
            table.add_row(
                Text(where), Text(cr.mitigation), Text(f"refused ({cr.reason.value}): {cr.detail}")
            )
        console.print(table)
    if dry_run and result.changeset.edits:
        console.print(Text(result.changeset.unified_diff()))
    if dry_run and config is not None and config.changeset.edits:
        console.print(Text(config.changeset.unified_diff()))
    for note in result.notes:
        console.print(Text(f"note: {note}"))
    return out.getvalue()
