"""A Markdown scan report, for pull-request comments, CI job summaries and issues.

GitHub-flavoured tables: the findings (each ID linking to its osv.dev page), then what was
skipped and which files were read. Advisory text is untrusted input, so every table cell is
escaped: `|` cannot end a cell, a newline cannot end a row, and `<`/`>`/`&` cannot open HTML.
"""

from __future__ import annotations

from patchpilot.formats._common import (
    dependency_path,
    display_location,
    display_path,
    notes_of,
    ordered,
    osv_url,
    scan_base,
    summary_text,
)
from patchpilot.model import Finding, ScanResult, Scope, Skipped, SourceRecord


def render(result: ScanResult) -> str:
    inv = result.inventory
    base = scan_base(inv)
    out: list[str] = ["# patchpilot scan report", ""]
    out.append(f"Scanned `{code_span(inv.root)}`. {escape_text(summary_text(result))}")
    out.append("")
    findings = ordered(result.findings)
    if findings:
        out += ["## Findings", ""]
        out += _table(
            ("Severity", "ID", "Package", "Dependency", "Fixed in", "Summary"),
            [_finding_row(f) for f in findings],
        )
        out.append("")
    if inv.skipped:
        out += [f"## Skipped ({len(inv.skipped)})", ""]
        out.append("Dependencies that could not be pinned to one version and were not checked.")
        out.append("")
        out += _table(
            ("Package", "Requirement", "Reason", "Location"),
            [_skipped_row(s, base) for s in inv.skipped],
        )
        out.append("")
    if inv.sources:
        out += ["## Sources", ""]
        out += _table(
            ("File", "Format", "Read", "Components", "Note"),
            [_source_row(s, base) for s in sorted(inv.sources, key=lambda s: s.path)],
        )
        out.append("")
    notes = notes_of(result)
    if notes:
        out += ["## Notes", ""]
        out += [f"- {escape_text(n)}" for n in notes]
        out.append("")
    return "\n".join(out)


def escape_cell(text: str) -> str:
    """`text` safe inside one GitHub-flavoured Markdown table cell, on one line."""
    text = escape_text(text).replace("|", "\\|")
    lines = [line.strip() for line in text.splitlines()]
    return "<br>".join(line for line in lines if line)


def escape_text(text: str) -> str:
    """`text` with backslashes and HTML-significant characters neutralised."""
    return (
        text.replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    )


def code_span(text: str) -> str:
    """`text` safe inside a single-backtick code span (backticks and newlines removed)."""
    return " ".join(text.replace("`", "'").split())


def _table(header: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _finding_row(f: Finding) -> list[str]:
    c = f.component
    sev = f.severity
    severity = sev.level.value if sev.score is None else f"{sev.level.value} ({sev.score:.1f})"
    ident = f"[{escape_cell(f.id)}]({osv_url(f.id)})"
    if f.aliases:
        ident += "<br>" + ", ".join(escape_cell(a) for a in sorted(f.aliases))
    dependency = "direct" if c.direct else "transitive: " + dependency_path(c, " → ")
    if c.scope is Scope.DEV:
        dependency += " (dev)"
    fixed = ", ".join(f.fixed_versions) if f.fixed_versions else "none published"
    return [
        severity,
        ident,
        escape_cell(f"{c.name}@{c.version}"),
        escape_cell(dependency),
        escape_cell(fixed),
        escape_cell(f.summary),
    ]


def _skipped_row(s: Skipped, base: str) -> list[str]:
    name = s.name if s.ecosystem is None else f"{s.name} ({s.ecosystem.value})"
    return [
        escape_cell(name),
        escape_cell(s.requirement or ""),
        escape_cell(s.reason),
        escape_cell(display_location(s.location, base)),
    ]


def _source_row(s: SourceRecord, base: str) -> list[str]:
    return [
        escape_cell(display_path(s.path, base)),
        escape_cell(s.format),
        "yes" if s.read else "no",
        str(s.components) if s.read else "",
        escape_cell(s.note),
    ]
