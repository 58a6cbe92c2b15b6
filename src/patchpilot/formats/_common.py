"""What every scan renderer shares: finding order, severity counts, paths and links.

Each output format (table, JSON, SARIF, CycloneDX, Markdown) shows the same findings in the same
order and counts them the same way; keeping these rules here stops the formats drifting apart.
This module imports only the standard library and the model, so it is cheap to load.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from patchpilot.model import (
    SEVERITY_ORDER,
    Component,
    Finding,
    Inventory,
    Location,
    ScanResult,
    finding_order,
)

OSV_URL = "https://osv.dev/vulnerability/"


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=finding_order)


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Findings per severity level, every level present (zero when none), most severe first."""
    counts = dict.fromkeys((level.value for level in SEVERITY_ORDER), 0)
    for f in findings:
        counts[f.severity.level.value] += 1
    return counts


def summary_text(result: ScanResult) -> str:
    """One line for people: how many findings of which severity in how many components."""
    inv = result.inventory
    n_comp = len(inv.components)
    read = sum(1 for s in inv.sources if s.read)
    scope = (
        f"{n_comp} {plural(n_comp, 'component')} from {read} {plural(read, 'file')} read"
        if inv.sources
        else f"{n_comp} {plural(n_comp, 'component')}"
    )
    skipped = f", {len(inv.skipped)} skipped" if inv.skipped else ""
    if not result.findings:
        return f"No known vulnerabilities in {scope}{skipped}."
    counts = severity_counts(result.findings)
    parts = ", ".join(f"{n} {level}" for level, n in counts.items() if n)
    n_find = len(result.findings)
    n_vuln = len({f.id for f in result.findings})
    n_pkg = len({f.component.key for f in result.findings})
    return (
        f"{n_find} {plural(n_find, 'finding')} ({parts}): {n_vuln} "
        f"{plural(n_vuln, 'vulnerability', 'vulnerabilities')} in {n_pkg} "
        f"{plural(n_pkg, 'package')} (of {scope}{skipped})."
    )


def plural(n: int, one: str, many: str | None = None) -> str:
    return one if n == 1 else (many or one + "s")


def notes_of(result: ScanResult) -> list[str]:
    """Inventory notes then scan notes, each once, in the order they were made."""
    return list(dict.fromkeys((*result.inventory.notes, *result.notes)))


def osv_url(vuln_id: str) -> str:
    return OSV_URL + quote(vuln_id, safe="")


def dependency_path(component: Component, separator: str = " > ") -> str:
    """How the project pulls the component in: `direct`, or the shortest chain of parents."""
    if component.direct:
        return "direct"
    if component.paths:
        return separator.join(component.paths[0])
    if component.parents:
        return "transitive, required by " + ", ".join(component.parents)
    return "transitive"


def scan_base(inventory: Inventory) -> str:
    """The absolute directory relative paths are taken from: the root, or its parent for a file.

    Decided from the inventory alone (a root equal to one of its own sources is a file), so
    rendering never touches the file system.
    """
    abs_root = _absolute(inventory.root)
    if any(_absolute(s.path) == abs_root for s in inventory.sources):
        return str(Path(abs_root).parent)
    return abs_root


def relative_posix(path: str, base: str) -> str:
    """`path` relative to the directory `base`, with `/` separators.

    A path outside `base` (a requirements file included through `-r ../x.txt`) keeps its `..`
    steps, which relative URI references allow.
    """
    try:
        rel = os.path.relpath(_absolute(path), base)
    except ValueError:
        # Windows: no relative path between two drives; the absolute path is all there is.
        rel = _absolute(path)
    return posixpath.normpath(rel.replace(os.sep, "/"))


def display_path(path: str, base: str) -> str:
    """A path for people: relative to the scan base when inside it, else as recorded."""
    rel = relative_posix(path, base)
    return path if rel.startswith("../") or rel == ".." else rel


def display_location(location: Location, base: str) -> str:
    shown = display_path(location.path, base)
    return shown if location.line is None else f"{shown}:{location.line}"


def _absolute(path: str) -> str:
    # Lexical on purpose (no symlink resolution): the same spelling the sources recorded.
    return os.path.normpath(Path(path).absolute())


def locations_of(component: Component) -> tuple[Location, ...]:
    """The component's manifest locations, in a stable order, each once."""
    return tuple(sorted(set(component.locations), key=lambda loc: (loc.path, loc.line or 0)))
