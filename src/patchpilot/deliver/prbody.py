"""The pull-request description of a fix branch, in GitHub-flavoured Markdown.

It admits everything the branch does: the advisories it fixes (each linking to osv.dev, with
aliases, severity and the package's move), **every** package the lockfiles changed, transitive
ones included, with major upgrades in bold and a warning above the table, the advisories still
open and why, and how the branch was made. Advisory text and package names are untrusted, so
every cell goes through the scan report's Markdown escaping (`formats.markdown`).
"""

from __future__ import annotations

from collections.abc import Sequence

from patchpilot import __version__
from patchpilot.fixers.changeset import DeltaLevel, PackageDelta
from patchpilot.formats._common import osv_url, plural
from patchpilot.formats.markdown import _table as table
from patchpilot.formats.markdown import code_span, escape_cell, escape_text
from patchpilot.model import Finding, finding_order

# Levels a reviewer must look at before merging: shown in bold in the delta table.
_FLAGGED = (DeltaLevel.MAJOR, DeltaLevel.DOWNGRADE, DeltaLevel.UNKNOWN)


def pr_body(
    title: str,
    fixed: Sequence[Finding],
    still_open: Sequence[tuple[Finding, str]],
    deltas: Sequence[PackageDelta],
    notes: Sequence[str] = (),
    *,
    commands: Sequence[str] = (),
) -> str:
    """The Markdown body: title, fixed advisories, every package delta, what is still open,
    notes, and how it was made (`commands`: the command lines that made the branch)."""
    out: list[str] = [f"# {escape_text(' '.join(title.split()))}", ""]
    ordered_deltas = sorted(deltas, key=_delta_order)
    out += _fixed_section(fixed, ordered_deltas)
    out += _delta_section(ordered_deltas)
    out += _open_section(still_open)
    if notes:
        out += ["## Notes", ""]
        out += [f"- {escape_cell(n)}" for n in notes]
        out.append("")
    out += ["## How this was made", ""]
    out.append(
        f"Made by patchpilot {__version__} on a new branch, in a separate git worktree; the "
        "package changes above are read from the lockfiles before and after."
    )
    if commands:
        out.append("")
        out += [f"- `{code_span(c)}`" for c in commands]
    out.append("")
    return "\n".join(out)


def _delta_order(d: PackageDelta) -> tuple[str, str, str, str]:
    return (d.ecosystem.value, d.name, d.before or "", d.after or "")


def _fixed_section(fixed: Sequence[Finding], deltas: Sequence[PackageDelta]) -> list[str]:
    out = [f"## Advisories fixed ({len(fixed)})", ""]
    if not fixed:
        return [*out, "None.", ""]
    rows = []
    for f in sorted(fixed, key=finding_order):
        c = f.component
        sev = f.severity
        severity = sev.level.value if sev.score is None else f"{sev.level.value} ({sev.score:.1f})"
        rows.append(
            [
                f"[{escape_cell(f.id)}]({osv_url(f.id)})",
                escape_cell(", ".join(sorted(f.aliases))),
                severity,
                escape_cell(c.name),
                escape_cell(f"{c.version} → {_moved_to(f, deltas)}"),
            ]
        )
    return [*out, *table(("Advisory", "Aliases", "Severity", "Package", "Change"), rows), ""]


def _moved_to(f: Finding, deltas: Sequence[PackageDelta]) -> str:
    """Where the finding's package went: its new version, `removed`, or `?` if no delta says."""
    c = f.component
    for d in deltas:
        if d.ecosystem is c.ecosystem and d.name == c.name and d.before == c.version:
            return d.after if d.after is not None else "removed"
    return "?"


def _delta_section(deltas: Sequence[PackageDelta]) -> list[str]:
    out = [f"## Every package change ({len(deltas)})", ""]
    if not deltas:
        return [*out, "The lockfiles show no package change.", ""]
    majors = [d for d in deltas if d.level is DeltaLevel.MAJOR]
    if majors:
        names = ", ".join(escape_cell(d.describe()) for d in majors)
        out.append(
            f"> **Warning:** {len(majors)} major {plural(len(majors), 'upgrade')} "
            f"({names}): a major version may break the API; review before merging."
        )
        out.append("")
    others = [d for d in deltas if d.level in (DeltaLevel.DOWNGRADE, DeltaLevel.UNKNOWN)]
    if others:
        names = ", ".join(escape_cell(d.describe()) for d in others)
        out.append(f"> **Check:** downgraded or not comparable: {names}.")
        out.append("")
    n_transitive = sum(1 for d in deltas if not d.direct)
    out.append(
        f"{len(deltas)} {plural(len(deltas), 'package')} changed, {n_transitive} of them "
        "transitive."
    )
    out.append("")
    rows = [
        [
            escape_cell(d.name),
            escape_cell(d.ecosystem.value),
            escape_cell(d.before or "—"),
            escape_cell(d.after or "—"),
            f"**{d.level.value}**" if d.level in _FLAGGED else d.level.value,
            "direct" if d.direct else "transitive",
        ]
        for d in deltas
    ]
    out += table(("Package", "Ecosystem", "From", "To", "Change", "Dependency"), rows)
    out.append("")
    return out


def _open_section(still_open: Sequence[tuple[Finding, str]]) -> list[str]:
    out = [f"## Still open ({len(still_open)})", ""]
    if not still_open:
        return [*out, "None.", ""]
    rows = [
        [
            f"[{escape_cell(f.id)}]({osv_url(f.id)})",
            f.severity.level.value,
            escape_cell(f"{f.component.name}@{f.component.version}"),
            escape_cell(reason),
        ]
        for f, reason in sorted(still_open, key=lambda item: finding_order(item[0]))
    ]
    return [*out, *table(("Advisory", "Severity", "Package", "Reason"), rows), ""]
