"""Reads SPDX 2.x SBOMs in JSON (2.3, and 2.2 and older 2.x documents) into components.

Each package with an `externalRefs` entry of `referenceType: "purl"` is named by that purl:
a purl of an ecosystem patchpilot matches with a version (the purl's, else `versionInfo`)
makes a component; a package without a purl, or with an unsupported or unversioned one, is
skipped with the reason.

The graph comes from `relationships`: `A DEPENDS_ON B`, `A CONTAINS B` and `B *_OF A`
(`DEPENDENCY_OF`, `RUNTIME_DEPENDENCY_OF`, `OPTIONAL_DEPENDENCY_OF`, ...) are edges from A
to B. Edges named `DEV_DEPENDENCY_OF`, `DEV_TOOL_OF`, `TEST_DEPENDENCY_OF`, `TEST_TOOL_OF`,
`BUILD_DEPENDENCY_OF` and `BUILD_TOOL_OF` mean B is needed only to develop, test or build A:
a package reached only through such edges is dev. The roots are found the way the tools
that write SPDX use it: when the document itself depends on packages (`SPDXRef-DOCUMENT
DEPENDS_ON x`), those are direct; otherwise the packages the document `DESCRIBES` are the
project, not components, and what they depend on is direct (a described package that
depends on nothing is itself a direct component, as in flat package lists). With neither,
the packages nothing depends on are direct. Tag-value, RDF and SPDX 3 documents are
refused with a `SourceError` that says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from patchpilot.errors import SourceError
from patchpilot.model import Location, Skipped, SourceKind, SourceResult
from patchpilot.sources._graph import Edge, Node, graph_components, json_offsets
from patchpilot.sources._sbom import Identity, head, identify, sources_of, subject_note
from patchpilot.sources.interface import LineIndex, Source, expect, load_json, read_text, result

DOCUMENT = "SPDXRef-DOCUMENT"
# Relationship types whose element depends on (or contains) the related element.
FORWARD = frozenset({"DEPENDS_ON", "CONTAINS"})
# Types whose related element depends on the element (`B DEPENDENCY_OF A`: A needs B).
BACKWARD = frozenset(
    {
        "DEPENDENCY_OF", "RUNTIME_DEPENDENCY_OF", "OPTIONAL_DEPENDENCY_OF",
        "PROVIDED_DEPENDENCY_OF", "CONTAINED_BY",
    }
)  # fmt: skip
BACKWARD_DEV = frozenset(
    {
        "DEV_DEPENDENCY_OF", "DEV_TOOL_OF", "TEST_DEPENDENCY_OF", "TEST_TOOL_OF",
        "BUILD_DEPENDENCY_OF", "BUILD_TOOL_OF",
    }
)  # fmt: skip
_VERSION_RE = re.compile(r"^SPDX-2\.(?P<minor>[0-9]+)$")


@dataclass(frozen=True, slots=True)
class _Relationship:
    element: str
    kind: str
    related: str


class SpdxSource(Source):
    format: ClassVar[str] = "SPDX"
    kind: ClassVar[SourceKind] = SourceKind.SBOM

    @classmethod
    def matches(cls, path: Path) -> bool:
        name = path.name.lower()
        if name.endswith(".spdx.json"):
            return True
        return name.endswith(".json") and '"spdxVersion"' in head(path)

    def read(self, path: Path) -> SourceResult:
        text = read_text(path)
        stripped = text.lstrip("\ufeff \t\r\n")
        if stripped.startswith("SPDXVersion:"):
            raise SourceError(path, 1, "SPDX tag-value documents are not supported; use JSON")
        if stripped.startswith("<"):
            raise SourceError(path, None, "SPDX RDF/XML documents are not supported; use JSON")
        doc = expect(load_json(path, text), dict, path, "(top level)")
        _check_version(path, doc)
        doc_id = doc.get("SPDXID", DOCUMENT)
        doc_id = expect(doc_id, str, path, "SPDXID")

        packages = expect(doc.get("packages", []), list, path, "packages")
        offsets = json_offsets(text, lambda p: len(p) == 2 and p[0] == "packages")
        index = LineIndex(text)
        nodes: dict[str, Node] = {}
        pending: list[tuple[Node, Skipped | None]] = []
        for i, raw in enumerate(packages):
            offset = offsets.get(("packages", i))
            line = None if offset is None else index.line_at(offset)
            pending.append(_node(path, expect(raw, dict, path, f"packages[{i}]"), i, line))
        for node, _ in pending:
            nodes.setdefault(node.key, node)

        edges, direct, subjects = _roots_and_edges(path, doc, doc_id, nodes)
        notes: list[str] = []
        skipped: list[Skipped] = []
        for node, skip in pending:
            if node.key in subjects:
                notes.append(subject_note(node.name, node.version))
            elif skip is not None:
                skipped.append(skip)
        for key in subjects:
            # The described project is the root: not a component, nor anyone's parent.
            nodes.pop(key, None)
            edges.pop(key, None)
        components = graph_components(str(path), nodes, edges, direct)
        return result(path, self.format, self.kind, components, skipped, notes)


def _roots_and_edges(
    path: Path, doc: dict[str, Any], doc_id: str, nodes: dict[str, Node]
) -> tuple[dict[str, list[Edge]], dict[str, bool], set[str]]:
    """The graph's edges, its direct keys (with whether only dev needs them), its subjects."""
    edges: dict[str, list[Edge]] = {}
    described: list[str] = []
    doc_children: list[Edge] = []
    for rel in _relationships(path, doc):
        if rel.kind == "DESCRIBES" and rel.element == doc_id:
            described.append(rel.related)
            continue
        if rel.kind == "DESCRIBED_BY" and rel.related == doc_id:
            described.append(rel.element)
            continue
        found = _edge(rel)
        if found is None:
            continue
        parent, edge = found
        if parent == doc_id and edge.child in nodes:
            doc_children.append(edge)
        elif parent in nodes and edge.child in nodes and edge.child != parent:
            edges.setdefault(parent, []).append(edge)
    described.extend(_document_describes(path, doc))

    subjects: set[str] = set()
    direct: dict[str, bool] = {}
    if doc_children:
        for edge in doc_children:
            direct[edge.child] = direct.get(edge.child, True) and edge.dev
    elif any(k in nodes for k in described):
        for key in dict.fromkeys(k for k in described if k in nodes):
            if edges.get(key):
                subjects.add(key)
                for edge in edges[key]:
                    direct[edge.child] = direct.get(edge.child, True) and edge.dev
            else:
                direct.setdefault(key, False)
    else:
        direct = dict.fromkeys(sources_of(nodes, edges), False)
    return edges, direct, subjects


def _check_version(path: Path, doc: dict[str, Any]) -> None:
    if "@context" in doc or "@graph" in doc:
        raise SourceError(path, "@context", "SPDX 3 documents are not supported; use SPDX 2.3")
    version = doc.get("spdxVersion")
    if version is None:
        if doc.get("bomFormat") == "CycloneDX":
            raise SourceError(path, "spdxVersion", "a CycloneDX document, not SPDX")
        raise SourceError(path, "spdxVersion", "missing: not an SPDX document")
    version = expect(version, str, path, "spdxVersion")
    if not _VERSION_RE.match(version):
        raise SourceError(path, "spdxVersion", f"unsupported SPDX version {version!r}")


def _purl(path: Path, pkg: dict[str, Any], place: str) -> str | None:
    refs = expect(pkg.get("externalRefs", []), list, path, f"{place}.externalRefs")
    for j, raw in enumerate(refs):
        ref = expect(raw, dict, path, f"{place}.externalRefs[{j}]")
        if ref.get("referenceType") == "purl":
            locator: str = expect(
                ref.get("referenceLocator"),
                str,
                path,
                f"{place}.externalRefs[{j}].referenceLocator",
            )
            return locator
    return None


def _node(path: Path, pkg: dict[str, Any], i: int, line: int | None) -> tuple[Node, Skipped | None]:
    place = f"packages[{i}]"
    key = expect(pkg.get("SPDXID"), str, path, f"{place}.SPDXID")
    name = pkg.get("name", "(unnamed)")
    name = expect(name, str, path, f"{place}.name") or "(unnamed)"
    version = pkg.get("versionInfo")
    if version is not None:
        version = expect(version, str, path, f"{place}.versionInfo")
    purl = _purl(path, pkg, place)
    ident = identify(purl, version)
    if isinstance(ident, Identity):
        node = Node(
            key=key,
            ecosystem=ident.ecosystem,
            name=ident.name,
            version=ident.version,
            line=line,
            purl=ident.purl,
        )
        return node, None
    skip = Skipped(
        name=name,
        reason=ident,
        location=Location(str(path), line),
        requirement=purl or version,
    )
    return Node(
        key=key, ecosystem=None, name=name, version=version or "", line=line, emit=False
    ), skip


def _relationships(path: Path, doc: dict[str, Any]) -> list[_Relationship]:
    out: list[_Relationship] = []
    raw = expect(doc.get("relationships", []), list, path, "relationships")
    for i, item in enumerate(raw):
        place = f"relationships[{i}]"
        rel = expect(item, dict, path, place)
        out.append(
            _Relationship(
                element=expect(rel.get("spdxElementId"), str, path, f"{place}.spdxElementId"),
                kind=expect(rel.get("relationshipType"), str, path, f"{place}.relationshipType"),
                related=expect(
                    rel.get("relatedSpdxElement"), str, path, f"{place}.relatedSpdxElement"
                ),
            )
        )
    # Relationships may also sit on packages (SPDX 2.2 JSON allowed this).
    for i, pkg in enumerate(expect(doc.get("packages", []), list, path, "packages")):
        if isinstance(pkg, dict) and "relationships" in pkg:
            nested = expect(pkg["relationships"], list, path, f"packages[{i}].relationships")
            for j, item in enumerate(nested):
                place = f"packages[{i}].relationships[{j}]"
                rel = expect(item, dict, path, place)
                out.append(
                    _Relationship(
                        element=expect(
                            rel.get("spdxElementId", pkg.get("SPDXID")), str, path, place
                        ),
                        kind=expect(rel.get("relationshipType"), str, path, place),
                        related=expect(rel.get("relatedSpdxElement"), str, path, place),
                    )
                )
    return out


def _document_describes(path: Path, doc: dict[str, Any]) -> list[str]:
    raw = expect(doc.get("documentDescribes", []), list, path, "documentDescribes")
    return [expect(v, str, path, f"documentDescribes[{i}]") for i, v in enumerate(raw)]


def _edge(rel: _Relationship) -> tuple[str, Edge] | None:
    """(depending element, edge to what it needs), or None for other relationships."""
    kind = rel.kind.upper()
    if kind in FORWARD:
        return rel.element, Edge(rel.related)
    if kind in BACKWARD:
        return rel.related, Edge(rel.element)
    if kind in BACKWARD_DEV:
        return rel.related, Edge(rel.element, dev=True)
    return None
