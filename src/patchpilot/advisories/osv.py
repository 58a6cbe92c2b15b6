"""Reading one OSV record (schema 1.0 to 1.7) into a `model.Advisory`, checking its structure.

`parse_record` takes the decoded JSON of one record and either returns an `Advisory` or raises
`RecordError(origin, "key.path", message)` naming the first field that is missing or of the
wrong type; it never lets a `KeyError` or `TypeError` out. It is strict about what matching
relies on (`id`, `modified`, the shape of `affected`, `ranges` and `events`) and lenient about
the rest: a JSON `null` counts as an absent optional field, and unknown fields are ignored.

Package names are normalised with `model.normalize_name` for the ecosystems patchpilot knows
(`Ecosystem.from_osv`); other ecosystems' names are kept, lowercased. Package-level
`affected[].severity` scores (schema 1.5+) are folded into the record's `severity`, since the
schema forbids both levels in one record. `database_severity` is the database's own label:
`database_specific.severity` (GHSA), else the first `affected[]` entry carrying one in its
`ecosystem_specific` or `database_specific`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from patchpilot.advisories.severity import score_vector
from patchpilot.errors import RecordError
from patchpilot.model import (
    Advisory,
    AdvisoryId,
    Affected,
    Ecosystem,
    Event,
    NormalizedName,
    Range,
    Reference,
    Score,
    normalize_name,
)

EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")


def parse_record(data: object, origin: str) -> Advisory:
    """The advisory `data` describes; `RecordError` naming `origin` and the key if malformed."""
    return _Reader(origin).record(data)


@lru_cache(maxsize=1024)
def ecosystem_of(raw: str) -> Ecosystem | None:
    """`Ecosystem.from_osv`, cached: every `affected[]` entry asks it."""
    return Ecosystem.from_osv(raw)


def timestamp_key(text: str) -> str:
    """An RFC 3339 timestamp as fixed-width UTC text, so string order is time order.

    Raises `ValueError` for text that is not a timestamp. A timestamp without an offset is
    taken as UTC.
    """
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError) as e:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}") from e
    return moment.isoformat(timespec="microseconds") + "Z"


class _Reader:
    """Walks one record, keeping the origin for error messages."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, place: str | None, message: str) -> RecordError:
        return RecordError(self.origin, place, message)

    def record(self, data: object) -> Advisory:
        doc = self.mapping(data, None, required=True)
        record_id = self.need(doc, "id", None)
        if not record_id.strip():
            raise self.fail("id", "must not be empty")
        modified = self.need(doc, "modified", None)
        try:
            timestamp_key(modified)
        except ValueError as e:
            raise self.fail("modified", str(e)) from e
        severity = list(self.scores(doc.get("severity"), "severity"))
        affected: list[Affected] = []
        labels: list[str] = []
        top_db = self.mapping(doc.get("database_specific"), "database_specific")
        if isinstance(top_db.get("severity"), str):
            labels.append(top_db["severity"])
        for i, entry in enumerate(self.array(doc.get("affected"), "affected")):
            item, item_scores, item_labels = self.affected(entry, f"affected[{i}]")
            affected.append(item)
            severity.extend(s for s in item_scores if s not in severity)
            labels.extend(item_labels)
        return Advisory(
            id=AdvisoryId(record_id),
            modified=modified,
            published=self.text(doc, "published", None),
            withdrawn=self.text(doc, "withdrawn", None),
            aliases=self.strings(doc.get("aliases"), "aliases"),
            related=self.strings(doc.get("related"), "related"),
            summary=self.text(doc, "summary", None) or "",
            details=self.text(doc, "details", None) or "",
            severity=tuple(severity),
            database_severity=labels[0] if labels else None,
            affected=tuple(affected),
            references=tuple(self.references(doc.get("references"))),
            schema_version=self.text(doc, "schema_version", None),
        )

    def affected(self, data: object, place: str) -> tuple[Affected, list[Score], list[str]]:
        entry = self.mapping(data, place, required=True)
        package = self.mapping(entry.get("package"), f"{place}.package")
        ecosystem = ""
        raw_name = ""
        if package:
            ecosystem = self.need(package, "ecosystem", f"{place}.package")
            raw_name = self.need(package, "name", f"{place}.package")
        known = ecosystem_of(ecosystem)
        name = normalize_name(known, raw_name) if known else NormalizedName(raw_name.lower())
        ranges = tuple(
            self.range(r, f"{place}.ranges[{j}]")
            for j, r in enumerate(self.array(entry.get("ranges"), f"{place}.ranges"))
        )
        eco_specific = self.mapping(entry.get("ecosystem_specific"), f"{place}.ecosystem_specific")
        db_specific = self.mapping(entry.get("database_specific"), f"{place}.database_specific")
        labels = [
            value
            for value in (eco_specific.get("severity"), db_specific.get("severity"))
            if isinstance(value, str)
        ]
        item = Affected(
            ecosystem=ecosystem,
            name=name,
            raw_name=raw_name,
            ranges=ranges,
            versions=self.strings(entry.get("versions"), f"{place}.versions"),
            ecosystem_specific=eco_specific,
            database_specific=db_specific,
        )
        return item, list(self.scores(entry.get("severity"), f"{place}.severity")), labels

    def range(self, data: object, place: str) -> Range:
        entry = self.mapping(data, place, required=True)
        range_type = self.need(entry, "type", place)
        events = self.array(entry.get("events"), f"{place}.events", required=True)
        return Range(
            type=range_type,
            events=tuple(self.event(e, f"{place}.events[{k}]") for k, e in enumerate(events)),
            repo=self.text(entry, "repo", place),
        )

    def event(self, data: object, place: str) -> Event:
        entry = self.mapping(data, place, required=True)
        kinds = [kind for kind in EVENT_KINDS if entry.get(kind) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            raise self.fail(
                place, f"an event needs exactly one of {', '.join(EVENT_KINDS)} (found {found})"
            )
        kind = kinds[0]
        value = self.need(entry, kind, place)
        return Event(**{kind: value})

    def scores(self, data: object, place: str) -> list[Score]:
        result: list[Score] = []
        for i, item in enumerate(self.array(data, place)):
            entry = self.mapping(item, f"{place}[{i}]", required=True)
            kind = self.need(entry, "type", f"{place}[{i}]")
            vector = self.need(entry, "score", f"{place}[{i}]")
            result.append(Score(type=kind, vector=vector, score=score_vector(kind, vector)))
        return result

    def references(self, data: object) -> list[Reference]:
        result: list[Reference] = []
        for i, item in enumerate(self.array(data, "references")):
            entry = self.mapping(item, f"references[{i}]", required=True)
            url = self.need(entry, "url", f"references[{i}]")
            kind = self.text(entry, "type", f"references[{i}]") or "WEB"
            result.append(Reference(type=kind, url=url))
        return result

    # Typed accessors: each returns the value or raises naming the key path.

    def mapping(
        self, value: object, place: str | None, *, required: bool = False
    ) -> dict[str, Any]:
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            raise self.fail(place, f"expected an object, found {_kind(value)}")
        return value

    def array(self, value: object, place: str, *, required: bool = False) -> list[Any]:
        if value is None:
            if required:
                raise self.fail(place, "missing")
            return []
        if not isinstance(value, list):
            raise self.fail(place, f"expected an array, found {_kind(value)}")
        return value

    def text(self, doc: dict[str, Any], key: str, parent: str | None) -> str | None:
        value = doc.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            place = f"{parent}.{key}" if parent else key
            raise self.fail(place, f"expected a string, found {_kind(value)}")
        return value

    def need(self, doc: dict[str, Any], key: str, parent: str | None) -> str:
        value = self.text(doc, key, parent)
        if value is None:
            raise self.fail(f"{parent}.{key}" if parent else key, "missing")
        return value

    def strings(self, value: object, place: str) -> tuple[str, ...]:
        items = self.array(value, place)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise self.fail(f"{place}[{i}]", f"expected a string, found {_kind(item)}")
        return tuple(items)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
