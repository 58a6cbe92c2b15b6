"""VEX out: OpenVEX 0.2.0 documents from patchpilot's evidence.

The builders turn a finding into a statement about a product (the project, named by a package
URL or another IRI the caller keeps for it: a repository URL, `project_iri`'s `file:` URL) with
the vulnerable package as the statement's subcomponent: `fixed_statement` after a fix is merged,
`not_affected_statement` only with one of OpenVEX's five justifications (anything else is
refused), `affected_statement` with the action to take. `openvex_document` writes statements
(built here or read by `assess.vex`) as one document that validates against the published
OpenVEX 0.2.0 schema; a statement the schema would reject is an `OutputError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from patchpilot import __version__
from patchpilot.assess.vex import (
    OPENVEX_JUSTIFICATIONS,
    VexStatement,
    VexStatus,
    format_timestamp,
    parsed_purl,
)
from patchpilot.errors import OutputError
from patchpilot.model import Finding, make_purl

OPENVEX_CONTEXT = "https://openvex.dev/ns/v0.2.0"
SOURCE = "patchpilot"

# Identifiers (`@id`) must be IRIs. This accepts a conservative subset (ASCII, a scheme, a plain
# host if there is an authority) that is always valid: package URLs, https and file URLs, URNs.
_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})"
_IRI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:"
    r"(?://(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*(?::[0-9]*)?(?=[/?#]|$)|(?!//))"
    rf"{_PCHAR}*(?:\?(?:{_PCHAR}|\?)*)?(?:#(?:{_PCHAR}|\?)*)?"
)


def project_iri(root: Path) -> str:
    """A product identifier for a project known only by its directory: its `file:` URL."""
    return Path(root).resolve().as_uri()


def fixed_statement(
    finding: Finding, product_purl: str, *, fixed_by: str, timestamp: datetime | None = None
) -> VexStatement:
    """`fixed`: the product no longer carries the vulnerable version; `fixed_by` says how
    (e.g. the upgrade and its merge commit). The subcomponent is the package without a version,
    since the version that was vulnerable is no longer there."""
    if not fixed_by.strip():
        raise OutputError(f"{finding.id}: a fixed statement needs to say what fixed it")
    c = finding.component
    return _statement(
        finding,
        product_purl,
        VexStatus.FIXED,
        subcomponent=make_purl(c.ecosystem, c.name, None),
        notes=f"fixed by {fixed_by.strip()}",
        timestamp=timestamp,
    )


def not_affected_statement(
    finding: Finding,
    product_purl: str,
    justification: str,
    impact: str,
    *,
    timestamp: datetime | None = None,
) -> VexStatement:
    """`not_affected` with one of OpenVEX's justifications and an impact statement saying why."""
    if justification not in OPENVEX_JUSTIFICATIONS:
        raise OutputError(
            f"{finding.id}: {justification!r} is not an OpenVEX justification "
            f"(one of {', '.join(OPENVEX_JUSTIFICATIONS)})"
        )
    return _statement(
        finding,
        product_purl,
        VexStatus.NOT_AFFECTED,
        subcomponent=finding.component.purl,
        justification=justification,
        impact=impact.strip() or None,
        timestamp=timestamp,
    )


def affected_statement(
    finding: Finding, product_purl: str, action: str, *, timestamp: datetime | None = None
) -> VexStatement:
    """`affected`, with the action that remediates or mitigates it (OpenVEX requires one)."""
    if not action.strip():
        raise OutputError(f"{finding.id}: an affected statement needs an action statement")
    return _statement(
        finding,
        product_purl,
        VexStatus.AFFECTED,
        subcomponent=finding.component.purl,
        action=action.strip(),
        timestamp=timestamp,
    )


def _statement(
    finding: Finding,
    product: str,
    status: VexStatus,
    *,
    subcomponent: str,
    justification: str | None = None,
    impact: str | None = None,
    action: str | None = None,
    notes: str | None = None,
    timestamp: datetime | None,
) -> VexStatement:
    product = _product_id(product, finding.id)
    return VexStatement(
        vulnerability=finding.id,
        aliases=tuple(a for a in dict.fromkeys(finding.aliases) if a != finding.id),
        products=(product,),
        status=status,
        justification=justification,
        impact=impact,
        action=action,
        source=SOURCE,
        timestamp=None if timestamp is None else _stamp(timestamp),
        # A statement about the package itself needs no subcomponent.
        subcomponents=() if subcomponent == product else (subcomponent,),
        notes=notes,
        state=status.value,
    )


def _product_id(product: str, finding_id: str) -> str:
    text = product.strip()
    if not text:
        raise OutputError(f"{finding_id}: the product identifier is empty")
    if text.startswith("pkg:") and parsed_purl(text) is None:
        raise OutputError(f"{finding_id}: {text!r} is not a valid package URL")
    _check_iri(text, finding_id)
    return text


def _check_iri(text: str, what: str) -> None:
    if not _IRI.fullmatch(text):
        raise OutputError(
            f"{what}: {text!r} is not an IRI; name the product by a package URL or a URL such "
            "as https://github.com/OWNER/REPO or file:///PATH (see `project_iri`)"
        )


def _stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise OutputError(f"timestamp {moment.isoformat()} has no time zone")
    return format_timestamp(moment)


def openvex_document(
    statements: Sequence[VexStatement],
    *,
    author: str,
    doc_id: str,
    timestamp: datetime,
    version: int = 1,
) -> str:
    """One OpenVEX 0.2.0 document (JSON text) holding `statements`, duplicates dropped."""
    if not author.strip():
        raise OutputError("an OpenVEX document needs an author")
    if not doc_id.strip():
        raise OutputError("an OpenVEX document needs an @id (an IRI)")
    _check_iri(doc_id.strip(), "document @id")
    if version < 1:
        raise OutputError(f"an OpenVEX document version starts at 1, not {version}")
    if not statements:
        raise OutputError("an OpenVEX document needs at least one statement")
    rendered: dict[str, dict[str, object]] = {}
    for st in statements:
        body = _statement_json(st)
        rendered.setdefault(json.dumps(body, sort_keys=True), body)
    doc = {
        "@context": OPENVEX_CONTEXT,
        "@id": doc_id.strip(),
        "author": author.strip(),
        "timestamp": _stamp(timestamp),
        "version": version,
        "tooling": f"patchpilot {__version__}",
        "statements": list(rendered.values()),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _statement_json(st: VexStatement) -> dict[str, object]:
    where = f"statement about {st.vulnerability} ({st.source})"
    if not st.products:
        raise OutputError(f"{where}: names no product")
    vulnerability: dict[str, object] = {"name": st.vulnerability}
    aliases = [a for a in dict.fromkeys(st.aliases) if a != st.vulnerability]
    if aliases:
        vulnerability["aliases"] = aliases
    for ident in (*st.products, *st.subcomponents):
        _check_iri(ident, where)
    subcomponents = [_component(s) for s in dict.fromkeys(st.subcomponents)]
    products = []
    for p in dict.fromkeys(st.products):
        product = _component(p)
        if subcomponents:
            product["subcomponents"] = subcomponents
        products.append(product)
    out: dict[str, object] = {"vulnerability": vulnerability}
    if st.timestamp is not None:
        out["timestamp"] = st.timestamp
    out["products"] = products
    out["status"] = st.status.value
    if st.notes:
        out["status_notes"] = st.notes
    if st.justification is not None:
        if st.justification not in OPENVEX_JUSTIFICATIONS:
            raise OutputError(
                f"{where}: justification {st.justification!r} is not one of OpenVEX's "
                f"({', '.join(OPENVEX_JUSTIFICATIONS)})"
            )
        out["justification"] = st.justification
    if st.impact:
        out["impact_statement"] = st.impact
    if st.action:
        out["action_statement"] = st.action
    if st.status is VexStatus.NOT_AFFECTED and "justification" not in out and not st.impact:
        raise OutputError(f"{where}: not_affected needs a justification or an impact statement")
    if st.status is VexStatus.AFFECTED and not st.action:
        raise OutputError(f"{where}: affected needs an action statement")
    return out


def _component(ident: str) -> dict[str, object]:
    if ident.startswith("pkg:"):
        return {"@id": ident, "identifiers": {"purl": ident}}
    return {"@id": ident}
