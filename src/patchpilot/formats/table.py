"""The terminal report: rich tables of findings, skipped dependencies and sources, then a summary.

Rendered into a string (the CLI decides where it goes), in colour only when asked. All text
from advisories and lockfiles goes in as `rich.text.Text`, never as console markup, so a `[` in
a summary cannot be read as a style tag. rich is imported at module level because
`patchpilot.formats` loads this module only when a table is asked for.
"""

from __future__ import annotations

import io
import shutil

from rich import box
from rich.console import Console
from rich.errors import ConsoleError, StyleError
from rich.table import Table
from rich.text import Text

from patchpilot.errors import OutputError
from patchpilot.formats._common import (
    dependency_path,
    display_location,
    display_path,
    notes_of,
    ordered,
    plural,
    scan_base,
    summary_text,
)
from patchpilot.model import Finding, ScanResult, Scope, SeverityLevel

SEVERITY_STYLES = {
    SeverityLevel.CRITICAL: "bold white on red",
    SeverityLevel.HIGH: "bold red",
    SeverityLevel.MEDIUM: "yellow",
    SeverityLevel.LOW: "cyan",
    SeverityLevel.UNKNOWN: "magenta",
    SeverityLevel.NONE: "dim",
}
DEFAULT_WIDTH = 120


def render(result: ScanResult, *, color: bool = False, width: int | None = None) -> str:
    """The report as text; ANSI colours only with `color`; `width` defaults to the terminal's."""
    if width is None:
        width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=max(width, 40),
        force_terminal=color,
        color_system="auto" if color else None,
        no_color=not color,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
        legacy_windows=False,
    )
    try:
        _write(console, result)
    except (ConsoleError, StyleError, ValueError, OSError) as e:
        raise OutputError(f"cannot render the scan table: {e}") from e
    text = buffer.getvalue().lstrip("\n")
    if color:
        return text
    # rich pads every row to the full width; plain text is easier to diff and paste without.
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def _write(console: Console, result: ScanResult) -> None:
    inv = result.inventory
    base = scan_base(inv)
    findings = ordered(result.findings)
    if findings:
        table = Table(
            title="Vulnerabilities", box=box.SIMPLE_HEAD, title_justify="left", show_lines=True
        )
        table.add_column("Severity", no_wrap=True)
        # The summary goes under the ID rather than in a column of its own, so the table
        # stays readable in an 80-column terminal; this column takes the remaining width.
        table.add_column("Vulnerability", ratio=1, min_width=20, overflow="fold")
        table.add_column("Package", max_width=32, overflow="fold")
        table.add_column("Version", max_width=16, overflow="fold")
        table.add_column("Fixed in", max_width=18, overflow="fold")
        for f in findings:
            table.add_row(*_finding_row(f))
        console.print(table)

    if inv.skipped:
        console.print()
        console.print(
            Text(f"Skipped ({len(inv.skipped)}): not pinned to one version, not checked", "italic")
        )
        grid = Table.grid(padding=(0, 2), pad_edge=True)
        grid.add_column(overflow="fold")
        grid.add_column(overflow="fold")
        for s in inv.skipped:
            grid.add_row(
                Text(s.requirement or s.name),
                Text(display_location(s.location, base), style="dim") + Text(f"  {s.reason}"),
            )
        console.print(grid)

    if inv.sources:
        console.print()
        console.print(Text("Sources", "italic"))
        grid = Table.grid(padding=(0, 2), pad_edge=True)
        grid.add_column(overflow="fold")
        grid.add_column(overflow="fold")
        for rec in sorted(inv.sources, key=lambda r: r.path):
            if rec.read:
                what = f"{rec.format}, {rec.components} {plural(rec.components, 'package')}"
                detail = Text(what + (f"; {rec.note}" if rec.note else ""))
            else:
                detail = Text(f"not read: {rec.note}" if rec.note else "not read", style="dim")
            grid.add_row(
                Text(display_path(rec.path, base), style="" if rec.read else "dim"), detail
            )
        console.print(grid)

    console.print()
    for note in notes_of(result):
        console.print(Text("note: ", style="bold") + Text(note))
    style = "bold green" if not findings else _summary_style(findings)
    console.print(Text(summary_text(result), style=style))


def _finding_row(f: Finding) -> list[Text]:
    c = f.component
    sev = f.severity
    label = sev.level.value.upper()
    if sev.score is not None:
        # The score on its own line keeps the column narrow enough for 80-column terminals.
        label += f"\n{sev.score:.1f}"
    vuln = Text(f.id, style="bold")
    if f.aliases:
        n = len(f.aliases)
        vuln.append(f" +{n} alias" + ("" if n == 1 else "es"), style="dim")
    summary = " ".join(f.summary.split())
    if summary:
        vuln.append("\n" + summary)
    package = Text(c.name)
    if not c.direct:
        package.append("\nvia " + dependency_path(c), style="dim")
    if c.scope is Scope.DEV:
        package.append(" (dev)", style="dim")
    fixed = ", ".join(f.fixed_versions) if f.fixed_versions else "-"
    return [
        Text(label, style=SEVERITY_STYLES[sev.level]),
        vuln,
        package,
        Text(c.version),
        Text(fixed, style="green" if f.fixed_versions else "dim"),
    ]


def _summary_style(findings: list[Finding]) -> str:
    worst = findings[0].severity.level
    return SEVERITY_STYLES[worst] if worst is not SeverityLevel.NONE else "bold"
