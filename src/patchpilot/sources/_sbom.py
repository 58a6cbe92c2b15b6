"""Shared pieces of the CycloneDX and SPDX readers: package URLs, graph roots, sniffing.

An SBOM names each package by a package URL (purl); its type says the ecosystem. This
module owns turning a purl into a component identity, or into the reason it cannot be one
(no purl, an invalid one, an ecosystem patchpilot does not match, no version); deciding
which packages are direct when an SBOM records no root; and the cheap look at a file's
first bytes that lets explicitly named `*.json` SBOMs be recognised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packageurl import PackageURL

from patchpilot.model import Ecosystem, NormalizedName, normalize_name
from patchpilot.sources._graph import Edge

SNIFF_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Identity:
    """The ecosystem, normalised name, version and purl of one SBOM package."""

    ecosystem: Ecosystem
    name: NormalizedName
    version: str
    purl: str


def identify(purl: str | None, version: str | None) -> Identity | str:
    """The package `purl` names (at `version` when the purl has none), or why it is not one."""
    if not purl:
        return "no package URL (purl)"
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError as e:
        return f"invalid package URL {purl!r}: {e}"
    ecosystem = Ecosystem.from_purl_type(parsed.type)
    if ecosystem is None:
        return f"ecosystem not supported: {parsed.type}"
    name = parsed.name
    if parsed.namespace and ecosystem in (Ecosystem.NPM, Ecosystem.GO):
        name = f"{parsed.namespace}/{name}"
    exact = parsed.version or version
    if not exact:
        return "no version"
    return Identity(ecosystem, normalize_name(ecosystem, name), exact, purl)


def subject_note(name: str, version: str | None) -> str:
    """The note saying which package an SBOM describes, and that it is not a dependency."""
    label = f"{name}@{version}" if version else name
    return f"the SBOM describes {label}: read as the project, not as a dependency"


def sources_of(keys: Iterable[str], edges: Mapping[str, Sequence[Edge]]) -> list[str]:
    """The keys no other key depends on: the direct ones when an SBOM names no root."""
    depended = {
        edge.child
        for parent, children in edges.items()
        for edge in children
        if edge.child != parent
    }
    return [k for k in keys if k not in depended]


def head(path: Path) -> str:
    """The first bytes of a file as text, or "" when it cannot be read."""
    try:
        with path.open("rb") as f:
            return f.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return ""
