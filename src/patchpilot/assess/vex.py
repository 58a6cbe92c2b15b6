"""VEX in: OpenVEX 0.2.0 and CycloneDX (1.4 to 1.6) VEX documents, and which findings they suppress.

Both formats are read into one value, `VexStatement`, whose `status` uses the OpenVEX words
(CycloneDX `analysis.state` is mapped: `not_affected`/`false_positive` → not_affected,
`exploitable` → affected, `in_triage` → under_investigation, `resolved`/`resolved_with_pedigree`
→ fixed; the state as written stays in `state`). `apply_vex` then decides, finding by finding:

- a statement applies when one of its vulnerability names or aliases is the finding's id or
  one of its aliases, and one of its products or subcomponents is the finding's package — by
  package URL, qualifiers and subpath ignored, names compared as the ecosystem normalises them,
  and a purl without a version matching every version;
- of the statements that apply, the latest (`last_updated`, else its `timestamp`, else the
  document's) wins, as OpenVEX prescribes; on a tie, the one read last;
- only a winning `not_affected` that says why suppresses: OpenVEX needs a `justification` or an
  `impact_statement`, CycloneDX the state `not_affected` with an `analysis.justification`. One
  without a reason is not applied, and a note says so. `affected`, `under_investigation` and
  `fixed` never suppress.

OpenVEX subcomponents count as products: VEX files are read from the project's own tree (or paths
its policy names), so a statement about the project's copy of a package is about this project.
A CycloneDX `affects[].ref` is resolved through the document's `bom-ref`s (a BOM-Link's fragment
too); a ref that names no component with a purl stays as written and matches nothing. A document
that is not valid is a `VexError` naming the file and the key path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Final
from urllib.parse import unquote

from patchpilot.errors import VexError, where
from patchpilot.events import Record
from patchpilot.model import Component, Ecosystem, Finding, normalize_name

OPENVEX = "openvex"
CYCLONEDX = "cyclonedx"
OPENVEX_CONTEXT_PREFIX: Final = "https://openvex.dev/ns"
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
CYCLONEDX_VERSIONS: Final = ("1.4", "1.5", "1.6")


class VexStatus(StrEnum):
    """OpenVEX statuses; CycloneDX states are mapped onto these."""

    NOT_AFFECTED = "not_affected"
    AFFECTED = "affected"
    FIXED = "fixed"
    UNDER_INVESTIGATION = "under_investigation"


# OpenVEX 0.2.0's justification labels (the only ones an OpenVEX document may use).
OPENVEX_JUSTIFICATIONS: Final = (
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
)
CYCLONEDX_JUSTIFICATIONS: Final = (
    "code_not_present",
    "code_not_reachable",
    "requires_configuration",
    "requires_dependency",
    "requires_environment",
    "protected_by_compiler",
    "protected_at_runtime",
    "protected_at_perimeter",
    "protected_by_mitigating_control",
)
_CYCLONEDX_STATES: Final = {
    "resolved": VexStatus.FIXED,
    "resolved_with_pedigree": VexStatus.FIXED,
    "exploitable": VexStatus.AFFECTED,
    "in_triage": VexStatus.UNDER_INVESTIGATION,
    "false_positive": VexStatus.NOT_AFFECTED,
    "not_affected": VexStatus.NOT_AFFECTED,
}
_CYCLONEDX_RESPONSES: Final = (
    "can_not_fix",
    "will_not_fix",
    "update",
    "rollback",
    "workaround_available",
)


@dataclass(frozen=True, slots=True)
class VexStatement:
    """One VEX statement about one vulnerability in some products.

    `products` are product identifiers (package URLs where the document gives them) and
    `subcomponents` the packages inside them the statement is about; `impact` is the OpenVEX
    `impact_statement` (CycloneDX `analysis.detail`), `action` the `action_statement` (CycloneDX
    responses and recommendation), `notes` the `status_notes`. `source` says where it was read
    (`file: statements[2]`); `timestamp` is UTC ISO 8601. `format` is openvex or cyclonedx and
    `state` the status word as the document wrote it.
    """

    vulnerability: str
    aliases: tuple[str, ...]
    products: tuple[str, ...]
    status: VexStatus
    justification: str | None
    impact: str | None
    action: str | None
    source: str
    timestamp: str | None
    subcomponents: tuple[str, ...] = ()
    notes: str | None = None
    format: str = OPENVEX
    state: str | None = None

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(i.upper() for i in (self.vulnerability, *self.aliases))

    @property
    def justified(self) -> bool:
        """A `not_affected` that gives the reason its format requires (so it may suppress)."""
        if self.status is not VexStatus.NOT_AFFECTED:
            return False
        if self.format == CYCLONEDX:
            return self.state == "not_affected" and bool(self.justification)
        return bool(self.justification or self.impact)

    @property
    def reason(self) -> str:
        """Why a finding is suppressed, in one line (for reports, the gate and the ledger)."""
        why = self.justification or self.impact or ""
        return f"VEX {self.status.value} ({why}) in {self.source}"


@dataclass(frozen=True, slots=True)
class VexOutcome:
    """Findings split by VEX: suppressed ones with the statement that did it, the rest kept."""

    suppressed: tuple[tuple[Finding, VexStatement], ...]
    kept: tuple[Finding, ...]
    notes: tuple[str, ...]

    def reasons(self) -> dict[str, str]:
        """Suppressed finding id → reason, as `policy.gate` takes it."""
        return {f.id: s.reason for f, s in self.suppressed}

    def records(self) -> tuple[Record, ...]:
        """One `suppress` ledger record per suppressed finding."""
        return tuple(
            Record(
                kind="suppress",
                summary=f"{f.id} in {f.component.name} {f.component.version} suppressed: "
                f"{s.reason}",
                subjects=(f.id,),
                inputs={"by": "vex", "source": s.source, "format": s.format},
                outcome={
                    "status": s.status.value,
                    "justification": s.justification or s.impact,
                    "impact": s.impact,
                    "timestamp": s.timestamp,
                },
            )
            for f, s in self.suppressed
        )


# Finding the documents


def find_vex_files(root: Path) -> tuple[Path, ...]:
    """VEX documents a project keeps under conventional names.

    `*.openvex.json`, `*.vex.json` (which covers `*.cdx.vex.json`) at the project root, and every
    `*.json` in its `vex/` and `.vex/` directories. A file given as root looks beside itself.
    """
    base = Path(root)
    if not base.is_dir():
        base = base.parent
    found: set[Path] = set()
    for pattern in ("*.openvex.json", "*.vex.json", "vex/*.json", ".vex/*.json"):
        found.update(p for p in base.glob(pattern) if p.is_file())
    return tuple(sorted(found))


# Reading


def load_vex(paths: Iterable[Path]) -> tuple[VexStatement, ...]:
    """Every statement of every document, in file order then statement order."""
    out: list[VexStatement] = []
    for path in paths:
        out.extend(load_document(Path(path)))
    return tuple(out)


def load_document(path: Path) -> tuple[VexStatement, ...]:
    """The statements of one OpenVEX or CycloneDX VEX document."""
    data = _read_json(path)
    if not isinstance(data, dict):
        raise VexError(path, None, "a VEX document is a JSON object")
    context = data.get("@context")
    if isinstance(context, str) and context.startswith(OPENVEX_CONTEXT_PREFIX):
        return _openvex(path, data)
    if data.get("bomFormat") == "CycloneDX":
        return _cyclonedx(path, data)
    raise VexError(
        path,
        None,
        "neither an OpenVEX document (`@context` https://openvex.dev/ns/…) nor a CycloneDX "
        'one (`"bomFormat": "CycloneDX"`)',
    )


def _read_json(path: Path) -> object:
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise VexError(path, None, f"too large for a VEX document ({size} bytes)")
        raw = path.read_bytes()
    except OSError as e:
        raise VexError(path, None, f"cannot read: {e.strerror or e}") from e
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise VexError(path, None, f"not UTF-8 text (byte {e.start})") from e
    except json.JSONDecodeError as e:
        raise VexError(path, e.lineno, f"not valid JSON: {e.msg}") from e
    except RecursionError as e:
        raise VexError(path, None, "not valid JSON: nested too deeply") from e


class _Doc:
    """Typed access to one parsed document, raising `VexError` with the key path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, place: str, message: str) -> VexError:
        return VexError(self.path, place, message)

    def obj(self, value: object, place: str) -> Mapping[str, object]:
        if not isinstance(value, dict):
            raise self.error(place, "not an object")
        return value

    def items(self, value: object, place: str) -> list[object]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(place, "not a list")
        return value

    def text(self, value: object, place: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(place, "not a string")
        return value

    def need(self, value: object, place: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(place, "missing or not a non-empty string")
        return value.strip()

    def time(self, value: object, place: str) -> str | None:
        text = self.text(value, place)
        if text is None:
            return None
        try:
            return format_timestamp(datetime.fromisoformat(text))
        except (ValueError, OverflowError) as e:
            raise self.error(place, f"not an ISO 8601 date-time: {text!r}") from e

    def purl(self, value: object, place: str) -> str:
        text = self.need(value, place)
        if parsed_purl(text) is None:
            raise self.error(place, f"not a valid package URL: {text!r}")
        return text


def _openvex(path: Path, data: Mapping[str, object]) -> tuple[VexStatement, ...]:
    doc = _Doc(path)
    doc.time(data.get("last_updated"), "last_updated")
    # A statement without a time of its own inherits the document's `timestamp` (OpenVEX 0.2.0).
    doc_time = doc.time(data.get("timestamp"), "timestamp")
    if "statements" not in data:
        raise doc.error("statements", "missing")
    out: list[VexStatement] = []
    for i, raw in enumerate(doc.items(data.get("statements"), "statements")):
        place = f"statements[{i}]"
        st = doc.obj(raw, place)
        name, aliases = _openvex_vulnerability(
            doc, st.get("vulnerability"), f"{place}.vulnerability"
        )
        status_text = doc.need(st.get("status"), f"{place}.status")
        try:
            status = VexStatus(status_text)
        except ValueError as e:
            raise doc.error(
                f"{place}.status",
                f"{status_text!r} is not one of {', '.join(s.value for s in VexStatus)}",
            ) from e
        justification = doc.text(st.get("justification"), f"{place}.justification")
        if justification is not None and justification not in OPENVEX_JUSTIFICATIONS:
            raise doc.error(
                f"{place}.justification",
                f"{justification!r} is not one of {', '.join(OPENVEX_JUSTIFICATIONS)}",
            )
        products: list[str] = []
        subcomponents: list[str] = []
        for j, product in enumerate(doc.items(st.get("products"), f"{place}.products")):
            at = f"{place}.products[{j}]"
            prod = doc.obj(product, at)
            ident = _openvex_component(doc, prod, at)
            if ident is not None:
                products.append(ident)
            for k, sub in enumerate(doc.items(prod.get("subcomponents"), f"{at}.subcomponents")):
                sub_at = f"{at}.subcomponents[{k}]"
                sub_ident = _openvex_component(doc, doc.obj(sub, sub_at), sub_at)
                if sub_ident is not None:
                    subcomponents.append(sub_ident)
        stamp = (
            doc.time(st.get("last_updated"), f"{place}.last_updated")
            or doc.time(st.get("timestamp"), f"{place}.timestamp")
            or doc_time
        )
        out.append(
            VexStatement(
                vulnerability=name,
                aliases=aliases,
                products=tuple(dict.fromkeys(products)),
                status=status,
                justification=justification,
                impact=_blank_none(
                    doc.text(st.get("impact_statement"), f"{place}.impact_statement")
                ),
                action=_blank_none(
                    doc.text(st.get("action_statement"), f"{place}.action_statement")
                ),
                source=where(path, place),
                timestamp=stamp,
                subcomponents=tuple(dict.fromkeys(subcomponents)),
                notes=_blank_none(doc.text(st.get("status_notes"), f"{place}.status_notes")),
                format=OPENVEX,
                state=status.value,
            )
        )
    return tuple(out)


def _openvex_vulnerability(doc: _Doc, value: object, place: str) -> tuple[str, tuple[str, ...]]:
    # OpenVEX before 0.2.0 wrote the vulnerability as a bare string; such documents are common.
    if isinstance(value, str):
        return doc.need(value, place), ()
    vuln = doc.obj(value, place)
    name = doc.need(vuln.get("name"), f"{place}.name")
    aliases = []
    for i, alias in enumerate(doc.items(vuln.get("aliases"), f"{place}.aliases")):
        aliases.append(doc.need(alias, f"{place}.aliases[{i}]"))
    return name, tuple(dict.fromkeys(a for a in aliases if a != name))


def _openvex_component(doc: _Doc, comp: Mapping[str, object], place: str) -> str | None:
    """A product's package URL if it has one, else its `@id` (a path, a URL), else None (CPE)."""
    identifiers = comp.get("identifiers")
    if identifiers is not None:
        ids = doc.obj(identifiers, f"{place}.identifiers")
        if ids.get("purl") is not None:
            return doc.purl(ids.get("purl"), f"{place}.identifiers.purl")
        for key in ("cpe22", "cpe23"):
            doc.text(ids.get(key), f"{place}.identifiers.{key}")
    ident = doc.text(comp.get("@id"), f"{place}.@id")
    if ident is None:
        return None
    if ident.startswith("pkg:"):
        return doc.purl(ident, f"{place}.@id")
    return ident


def _cyclonedx(path: Path, data: Mapping[str, object]) -> tuple[VexStatement, ...]:
    doc = _Doc(path)
    spec = data.get("specVersion")
    if spec not in CYCLONEDX_VERSIONS:
        raise doc.error(
            "specVersion",
            f"{spec!r}: CycloneDX VEX is read from spec versions {', '.join(CYCLONEDX_VERSIONS)}",
        )
    metadata = doc.obj(data.get("metadata", {}), "metadata")
    doc_time = doc.time(metadata.get("timestamp"), "metadata.timestamp")
    refs: dict[str, str] = {}
    if metadata.get("component") is not None:
        _collect_refs(doc, metadata.get("component"), "metadata.component", refs)
    for i, comp in enumerate(doc.items(data.get("components"), "components")):
        _collect_refs(doc, comp, f"components[{i}]", refs)
    out: list[VexStatement] = []
    for i, raw in enumerate(doc.items(data.get("vulnerabilities"), "vulnerabilities")):
        place = f"vulnerabilities[{i}]"
        vuln = doc.obj(raw, place)
        name = doc.need(vuln.get("id"), f"{place}.id")
        aliases: list[str] = []
        for j, ref in enumerate(doc.items(vuln.get("references"), f"{place}.references")):
            alias = doc.need(
                doc.obj(ref, f"{place}.references[{j}]").get("id"), f"{place}.references[{j}].id"
            )
            if alias != name:
                aliases.append(alias)
        if vuln.get("analysis") is None:
            continue  # a vulnerability without an analysis reports it; it states nothing
        analysis = doc.obj(vuln.get("analysis"), f"{place}.analysis")
        state = doc.text(analysis.get("state"), f"{place}.analysis.state")
        if state is None:
            continue
        if state not in _CYCLONEDX_STATES:
            raise doc.error(
                f"{place}.analysis.state", f"{state!r} is not one of {', '.join(_CYCLONEDX_STATES)}"
            )
        justification = doc.text(analysis.get("justification"), f"{place}.analysis.justification")
        if justification is not None and justification not in CYCLONEDX_JUSTIFICATIONS:
            raise doc.error(
                f"{place}.analysis.justification",
                f"{justification!r} is not one of {', '.join(CYCLONEDX_JUSTIFICATIONS)}",
            )
        responses = []
        for j, response in enumerate(
            doc.items(analysis.get("response"), f"{place}.analysis.response")
        ):
            text = doc.need(response, f"{place}.analysis.response[{j}]")
            if text not in _CYCLONEDX_RESPONSES:
                raise doc.error(
                    f"{place}.analysis.response[{j}]",
                    f"{text!r} is not one of {', '.join(_CYCLONEDX_RESPONSES)}",
                )
            responses.append(text)
        recommendation = doc.text(vuln.get("recommendation"), f"{place}.recommendation")
        workaround = doc.text(vuln.get("workaround"), f"{place}.workaround")
        action = "; ".join(
            part
            for part in (", ".join(responses), recommendation, workaround)
            if part and part.strip()
        )
        products: list[str] = []
        for j, affect in enumerate(doc.items(vuln.get("affects"), f"{place}.affects")):
            at = f"{place}.affects[{j}]"
            ref = doc.need(doc.obj(affect, at).get("ref"), f"{at}.ref")
            products.append(_resolve_ref(ref, refs))
        stamp = (
            doc.time(analysis.get("lastUpdated"), f"{place}.analysis.lastUpdated")
            or doc.time(analysis.get("firstIssued"), f"{place}.analysis.firstIssued")
            or doc.time(vuln.get("updated"), f"{place}.updated")
            or doc.time(vuln.get("published"), f"{place}.published")
            or doc.time(vuln.get("created"), f"{place}.created")
            or doc_time
        )
        out.append(
            VexStatement(
                vulnerability=name,
                aliases=tuple(dict.fromkeys(aliases)),
                products=tuple(dict.fromkeys(products)),
                status=_CYCLONEDX_STATES[state],
                justification=justification,
                impact=_blank_none(doc.text(analysis.get("detail"), f"{place}.analysis.detail")),
                action=action or None,
                source=where(path, place),
                timestamp=stamp,
                format=CYCLONEDX,
                state=state,
            )
        )
    return tuple(out)


def _collect_refs(doc: _Doc, value: object, place: str, refs: dict[str, str]) -> None:
    comp = doc.obj(value, place)
    ref = doc.text(comp.get("bom-ref"), f"{place}.bom-ref")
    purl = doc.text(comp.get("purl"), f"{place}.purl")
    if purl is not None:
        purl = doc.purl(purl, f"{place}.purl")
    if ref is not None and purl is not None:
        refs.setdefault(ref, purl)  # bom-refs are unique in a valid BOM; keep the first
    for i, child in enumerate(doc.items(comp.get("components"), f"{place}.components")):
        _collect_refs(doc, child, f"{place}.components[{i}]", refs)


def _resolve_ref(ref: str, refs: Mapping[str, str]) -> str:
    if ref in refs:
        return refs[ref]
    # A BOM-Link (`urn:cdx:SERIAL/VERSION#bom-ref`) may point into this very document.
    if ref.startswith("urn:cdx:") and "#" in ref:
        fragment = unquote(ref.split("#", 1)[1])
        if fragment in refs:
            return refs[fragment]
    return ref


def _blank_none(text: str | None) -> str | None:
    return text if text is not None and text.strip() else None


def format_timestamp(moment: datetime) -> str:
    """UTC ISO 8601 with a `Z`; a time without a zone is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    spec = "microseconds" if utc.microsecond else "seconds"
    return utc.isoformat(timespec=spec).replace("+00:00", "Z")


# Matching


@lru_cache(maxsize=4096)
def parsed_purl(text: str) -> tuple[str, str | None, str, str | None] | None:
    """(type, namespace, name, version) of a package URL, or None if it is not one."""
    from packageurl import PackageURL

    try:
        purl = PackageURL.from_string(text)
    except ValueError:
        return None
    return (str(purl.type).lower(), purl.namespace, str(purl.name), purl.version)


def product_matches(product: str, component: Component) -> bool:
    """Whether a statement's product (a purl) is this component, at its version if it names one."""
    parsed = parsed_purl(product) if product.startswith("pkg:") else None
    if parsed is None:
        return False
    ptype, namespace, name, version = parsed
    if Ecosystem.from_purl_type(ptype) is not component.ecosystem:
        return False
    full = f"{namespace}/{name}" if namespace else name
    if normalize_name(component.ecosystem, full) != component.name:
        return False
    if not version:
        return True
    return _same_version(component.ecosystem, version, component.version)


def _same_version(ecosystem: Ecosystem, a: str, b: str) -> bool:
    if a == b:
        return True
    if ecosystem is Ecosystem.PYPI:
        from packaging.version import InvalidVersion, Version

        try:
            return Version(a) == Version(b)
        except InvalidVersion:
            return False
    if ecosystem is Ecosystem.GO:
        return a.removeprefix("v") == b.removeprefix("v")
    return False


def applies_to(statement: VexStatement, finding: Finding) -> bool:
    """Same vulnerability (by id or alias) and the finding's package among its products."""
    ids = {finding.id.upper(), *(a.upper() for a in finding.aliases)}
    if not ids & statement.ids:
        return False
    return any(
        product_matches(p, finding.component)
        for p in (*statement.products, *statement.subcomponents)
    )


_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _when(statement: VexStatement) -> datetime:
    """The statement's time for "latest wins"; one without a (readable) time counts as oldest."""
    if statement.timestamp is None:
        return _EARLIEST
    try:
        moment = datetime.fromisoformat(statement.timestamp)
    except ValueError:
        return _EARLIEST
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def apply_vex(findings: Sequence[Finding], statements: Sequence[VexStatement]) -> VexOutcome:
    """Split findings into those a justified `not_affected` statement suppresses and the rest."""
    by_id: dict[str, list[int]] = {}
    for index, st in enumerate(statements):
        for ident in st.ids:
            by_id.setdefault(ident, []).append(index)
    suppressed: list[tuple[Finding, VexStatement]] = []
    kept: list[Finding] = []
    notes: dict[str, None] = {}
    named: set[int] = set()
    for finding in findings:
        candidates = sorted(
            {i for ident in (finding.id, *finding.aliases) for i in by_id.get(ident.upper(), [])}
        )
        named.update(candidates)
        matching = [(i, statements[i]) for i in candidates if applies_to(statements[i], finding)]
        if not matching:
            kept.append(finding)
            continue
        _, winner = max(matching, key=lambda pair: (_when(pair[1]), pair[0]))
        what = f"{finding.id} in {finding.component.name} {finding.component.version}"
        if winner.justified:
            suppressed.append((finding, winner))
            continue
        kept.append(finding)
        if winner.status is VexStatus.NOT_AFFECTED:
            if winner.format == OPENVEX:
                why = "no justification or impact statement"
            elif winner.state == "not_affected":
                why = "CycloneDX state not_affected with no justification"
            else:
                why = f"CycloneDX state {winner.state}, which is not `not_affected`"
            notes[f"{what}: VEX not_affected in {winner.source} not applied ({why})"] = None
        elif winner.status is VexStatus.FIXED:
            notes[
                f"{what}: VEX says fixed in {winner.source}, but this version is still affected"
            ] = None
        overridden = [s for _, s in matching if s is not winner and s.justified]
        for st in overridden:
            notes[
                f"{what}: VEX not_affected in {st.source} superseded by the later "
                f"{winner.status.value} in {winner.source}"
            ] = None
    for index in sorted(named):
        st = statements[index]
        if not any(
            p.startswith("pkg:") and parsed_purl(p) is not None
            for p in (*st.products, *st.subcomponents)
        ):
            notes[
                f"VEX statement in {st.source} about {st.vulnerability} names no package URL "
                "patchpilot can match to a component"
            ] = None
    return VexOutcome(suppressed=tuple(suppressed), kept=tuple(kept), notes=tuple(notes))
