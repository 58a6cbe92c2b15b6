"""The decision ledger: an append-only, hash-chained log of every step, kept in SQL.

`Ledger` owns three tables beside the advisory store's (same SQLite file by default, or any
SQLAlchemy URL such as `postgresql+psycopg://…`; the SQL is SQLAlchemy Core and portable):
`ledger_events` holds one row per `events.Record` (sequence number, a short id derived from the
hash, UTC time, kind, actor, summary, subjects and a body with the record's inputs, outcome and
the run's `LedgerContext`, all as canonical JSON text, the previous event's hash and its own);
`ledger_subjects` indexes every event under each subject it names, for lookups (an index on
the events' kind finds the `scan` and `gate` events that delimit runs); `ledger_meta` anchors the
tip (event count and last hash), updated in the same transaction as each append, so
deleting the newest events is noticed too. Each hash is sha256 over the previous hash and the
canonical JSON of the event, so `verify` finds any edited, reordered or deleted event and names
the first one. Appends are serialised: one transaction locks the anchor (`BEGIN IMMEDIATE` on
SQLite, `SELECT … FOR UPDATE` elsewhere), reads the tip and inserts. `export` writes JSONL that
`verify_jsonl` re-checks offline. Database errors never leave this module: they become
`LedgerError` naming the ledger.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path, PurePath
from types import TracebackType
from typing import IO, Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    create_engine,
    event,
    func,
    insert,
    inspect,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError

from patchpilot.errors import LedgerError
from patchpilot.events import Record, Reporter

SCHEMA_VERSION = 1
GENESIS = "0" * 64  # the "previous hash" of the first event
EVENT_ID_PREFIX = "ev-"
_BATCH = 1000
_QUERY_CHUNK = 400  # bound variables per IN (…), under SQLite's historic limit of 999
_MAX_DEPTH = 64
_HASH_RE = re.compile(r"[0-9a-f]{64}")
_EVENT_ID_RE = re.compile(r"ev-[0-9a-f]{12}")
_HEX_RE = re.compile(r"[0-9a-fA-F]{7,64}")
_MIN_SHA_PREFIX = 7
# Subject prefixes the engine uses; a bare identifier is tried under each of them.
SUBJECT_PREFIXES = ("remediation", "branch", "commit", "action", "codemod", "path")
# The kinds of event that open a run: `patchpilot run` records a scan first, `gate` a gate.
RUN_KINDS = ("scan", "gate")

_metadata = MetaData()
ledger_events = Table(
    "ledger_events",
    _metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("event_id", String(32), nullable=False, unique=True),
    Column("at", String(40), nullable=False),
    Column("kind", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("subjects", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ledger_events_by_kind", "kind", "seq"),
)
ledger_subjects = Table(
    "ledger_subjects",
    _metadata,
    Column("subject", Text, primary_key=True),
    Column("seq", Integer, ForeignKey("ledger_events.seq"), primary_key=True),
    Index("ledger_subjects_by_seq", "seq"),
)
ledger_meta = Table(
    "ledger_meta",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("schema_version", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("tip_hash", String(64), nullable=False),
)
_ANCHOR_ID = 1


# --- values -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerContext:
    """What every event of a run was based on; goes into each event's body as `context`."""

    patchpilot_version: str
    store_digest: str | None = None
    policy_digest: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "patchpilot_version": self.patchpilot_version,
            "store_digest": self.store_digest,
            "policy_digest": self.policy_digest,
        }


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One stored event. `body` holds `inputs`, `outcome` and `context`; `intact` says whether
    the event's own hash still matches its content (the chain as a whole is `Ledger.verify`'s
    business)."""

    seq: int
    event_id: str
    at: str
    kind: str
    actor: str
    summary: str
    subjects: tuple[str, ...]
    body: Mapping[str, Any]
    prev_hash: str
    hash: str
    intact: bool = True

    @property
    def inputs(self) -> Mapping[str, Any]:
        return _mapping(self.body.get("inputs"))

    @property
    def outcome(self) -> Mapping[str, Any]:
        return _mapping(self.body.get("outcome"))

    @property
    def context(self) -> Mapping[str, Any]:
        return _mapping(self.body.get("context"))

    def to_json(self) -> dict[str, Any]:
        """The event as one JSONL line of `export` holds it (hashes included)."""
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "at": self.at,
            "kind": self.kind,
            "actor": self.actor,
            "summary": self.summary,
            "subjects": list(self.subjects),
            "body": dict(self.body),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class EventHead:
    """Where an event naming `subject` sits and what kind it is, without its body."""

    subject: str
    seq: int
    kind: str


@dataclass(frozen=True, slots=True)
class RunMark:
    """A scan or gate event, the kind that opens a run, with the project its inputs name."""

    seq: int
    event_id: str
    at: str
    kind: str
    project: str | None


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """The first place the chain does not hold: the event's sequence number and id (None when
    they cannot be known, e.g. several deleted events), and why."""

    seq: int | None
    event_id: str | None
    reason: str

    def __str__(self) -> str:
        if self.seq is None:
            return self.reason
        name = f"event {self.seq}" + (f" ({self.event_id})" if self.event_id else "")
        return f"{name}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What `verify` found: how many events hold, the tip hash, and the first problem."""

    source: str
    events: int
    tip_hash: str | None
    problem: ChainProblem | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None

    def to_json(self) -> dict[str, Any]:
        problem = self.problem
        return {
            "source": self.source,
            "intact": self.intact,
            "events": self.events,
            "tip_hash": self.tip_hash,
            "problem": None
            if problem is None
            else {"seq": problem.seq, "event_id": problem.event_id, "reason": problem.reason},
        }


# --- canonical form and hashing -----------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, ASCII only: one text per value, on every platform."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def chain_hash(
    prev_hash: str,
    *,
    seq: int,
    at: str,
    kind: str,
    actor: str,
    summary: str,
    subjects: Sequence[str],
    body: Any,
) -> str:
    """sha256 over the previous hash and the canonical JSON of the event.

    The event id is derived from this hash (`event_id_for`), so it is checked against the hash
    instead of being part of it.
    """
    material = canonical_json(
        {
            "seq": seq,
            "at": at,
            "kind": kind,
            "actor": actor,
            "summary": summary,
            "subjects": list(subjects),
            "body": body,
        }
    )
    # surrogatepass: a tampered export may carry lone surrogates; they must hash, not crash.
    return hashlib.sha256((prev_hash + material).encode("utf-8", "surrogatepass")).hexdigest()


def event_id_for(hash_hex: str) -> str:
    """The short, stable id of the event whose hash is `hash_hex`."""
    return EVENT_ID_PREFIX + hash_hex[:12]


# --- the ledger -------------------------------------------------------------------------------


class Ledger:
    """One ledger database, open. Use as a context manager; `open` is the way in."""

    def __init__(self, engine: Engine, where: str) -> None:
        self._engine = engine
        self.where = where

    @classmethod
    def open(cls, target: str | Path, *, create: bool = False) -> Ledger:
        """Open the ledger in `target`: a SQLite file path or a SQLAlchemy URL.

        With `create`, missing tables (and a missing SQLite file) are made; without it, a
        missing file or a database that holds no ledger yet raise `LedgerError`. Open the
        advisory store first when both share a new file: the store refuses a non-empty file
        that it did not create.
        """
        engine, where, path = _engine_for(target)
        if path is not None and not create:
            if not path.exists():
                engine.dispose()
                raise LedgerError(f"no ledger at {path}: the file does not exist")
            if path.is_dir():
                engine.dispose()
                raise LedgerError(f"{path} is a directory, not a ledger database")
        if path is not None and create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                engine.dispose()
                raise LedgerError(f"cannot create {path.parent}: {e.strerror or e}") from e
        ledger = cls(engine, where)
        try:
            ledger._prepare(create)
        except BaseException:
            engine.dispose()
            raise
        return ledger

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Schema

    def _prepare(self, create: bool) -> None:
        with self._guard("open the ledger"):
            tables = set(inspect(self._engine).get_table_names())
        if "ledger_events" not in tables or "ledger_meta" not in tables:
            if not create:
                if "ledger_events" not in tables:
                    raise LedgerError(
                        f"{self.where} holds no ledger: nothing has been recorded there yet"
                    )
                return  # events without their anchor: `verify` reports it, `append` refuses
            with self._guard("create the ledger"), self._write() as conn:
                _metadata.create_all(conn, checkfirst=True)
                if not tables & {"ledger_events", "ledger_meta"}:
                    conn.execute(
                        insert(ledger_meta).values(
                            id=_ANCHOR_ID,
                            schema_version=SCHEMA_VERSION,
                            events=0,
                            tip_hash=GENESIS,
                        )
                    )
            return
        if create:
            self._add_missing_indexes()
        with self._guard("read the ledger"), self._engine.connect() as conn:
            version = conn.execute(
                select(ledger_meta.c.schema_version).where(ledger_meta.c.id == _ANCHOR_ID)
            ).scalar()
        if version is not None and int(version) > SCHEMA_VERSION:
            raise LedgerError(
                f"{self.where} was written by a newer patchpilot (ledger schema {version}, "
                f"this version reads {SCHEMA_VERSION})"
            )

    def _add_missing_indexes(self) -> None:
        """Indexes added after a ledger was created (reads work without them, only slower)."""
        for index in ledger_events.indexes:
            try:
                with self._write() as conn:
                    index.create(conn, checkfirst=True)
            except SQLAlchemyError:  # a read-only file, or another writer made it meanwhile
                continue

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction that holds the write lock from its first statement."""
        with self._engine.connect() as conn:
            conn.execution_options(patchpilot_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A transaction that sees one consistent snapshot (SQLite: a read lock; PostgreSQL:
        repeatable read)."""
        with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as e:
            raise LedgerError(f"ledger {self.where}: cannot {action}: {_db_message(e)}") from e

    # Appending

    def append(
        self, record: Record, context: LedgerContext, *, at: datetime | None = None
    ) -> LedgerEvent:
        """Append `record` as the next event, in one serialised transaction; return it."""
        prepared = _prepare_record(record, context)
        when = _utc_text(at or datetime.now(UTC))
        with self._guard(f"append a {prepared.kind} event"), self._write() as conn:
            anchor = conn.execute(
                select(ledger_meta.c.events, ledger_meta.c.tip_hash)
                .where(ledger_meta.c.id == _ANCHOR_ID)
                .with_for_update()
            ).first()
            if anchor is None:
                raise LedgerError(
                    f"ledger {self.where}: its tip anchor is missing, so nothing more can be "
                    "appended; run `patchpilot ledger verify`"
                )
            count, prev = int(anchor[0]), str(anchor[1])
            seq = count + 1
            digest = chain_hash(
                prev,
                seq=seq,
                at=when,
                kind=prepared.kind,
                actor=prepared.actor,
                summary=prepared.summary,
                subjects=prepared.subjects,
                body=prepared.body,
            )
            ev = LedgerEvent(
                seq=seq,
                event_id=event_id_for(digest),
                at=when,
                kind=prepared.kind,
                actor=prepared.actor,
                summary=prepared.summary,
                subjects=prepared.subjects,
                body=prepared.body,
                prev_hash=prev,
                hash=digest,
            )
            try:
                conn.execute(
                    insert(ledger_events).values(
                        seq=ev.seq,
                        event_id=ev.event_id,
                        at=ev.at,
                        kind=ev.kind,
                        actor=ev.actor,
                        summary=ev.summary,
                        subjects=canonical_json(list(ev.subjects)),
                        body=canonical_json(ev.body),
                        prev_hash=ev.prev_hash,
                        hash=ev.hash,
                    )
                )
            except IntegrityError as e:
                raise LedgerError(
                    f"ledger {self.where}: event {seq} already exists although the tip anchor "
                    "says otherwise; run `patchpilot ledger verify`"
                ) from e
            if ev.subjects:
                conn.execute(
                    insert(ledger_subjects), [{"subject": s, "seq": seq} for s in ev.subjects]
                )
            moved = conn.execute(
                update(ledger_meta)
                .where(ledger_meta.c.id == _ANCHOR_ID, ledger_meta.c.events == count)
                .values(events=seq, tip_hash=digest)
            )
            if moved.rowcount != 1:
                raise LedgerError(f"ledger {self.where}: the tip moved during an append")
        return ev

    # Reading

    def tip(self) -> tuple[int, str]:
        """The anchor: how many events the ledger holds and the last one's hash."""
        with self._guard("read the ledger"), self._engine.connect() as conn:
            anchor = conn.execute(
                select(ledger_meta.c.events, ledger_meta.c.tip_hash).where(
                    ledger_meta.c.id == _ANCHOR_ID
                )
            ).first()
        if anchor is None:
            raise LedgerError(f"ledger {self.where}: its tip anchor is missing")
        return int(anchor[0]), str(anchor[1])

    def events(self, *, kinds: Iterable[str] | None = None) -> Iterator[LedgerEvent]:
        """Every event in order (of the given kinds only, if any)."""
        wanted = tuple(kinds) if kinds is not None else None
        last = 0
        while True:
            query = select(ledger_events).where(ledger_events.c.seq > last)
            if wanted is not None:
                query = query.where(ledger_events.c.kind.in_(wanted))
            query = query.order_by(ledger_events.c.seq).limit(_BATCH)
            with self._guard("read the ledger"), self._engine.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            for row in rows:
                yield self._event(row)
            last = int(rows[-1].seq)

    def get(self, event_id: str) -> LedgerEvent | None:
        with self._guard("read the ledger"), self._engine.connect() as conn:
            row = conn.execute(
                select(ledger_events).where(ledger_events.c.event_id == event_id.lower())
            ).first()
        return None if row is None else self._event(row)

    def events_about(
        self, subjects: Iterable[str], *, kinds: Iterable[str] | None = None
    ) -> tuple[LedgerEvent, ...]:
        """Every event that names any of `subjects`, in order."""
        wanted = sorted(set(subjects))
        kind_list = tuple(kinds) if kinds is not None else None
        seqs: set[int] = set()
        with self._guard("read the ledger"), self._engine.connect() as conn:
            for chunk in _chunks(wanted, _QUERY_CHUNK):
                seqs.update(
                    int(s)
                    for s in conn.execute(
                        select(ledger_subjects.c.seq).where(ledger_subjects.c.subject.in_(chunk))
                    ).scalars()
                )
            found: list[LedgerEvent] = []
            for chunk_seqs in _chunks(sorted(seqs), _QUERY_CHUNK):
                query = select(ledger_events).where(ledger_events.c.seq.in_(chunk_seqs))
                if kind_list is not None:
                    query = query.where(ledger_events.c.kind.in_(kind_list))
                found.extend(self._event(row) for row in conn.execute(query))
        return tuple(sorted(found, key=lambda e: e.seq))

    def events_within(
        self,
        subjects: Iterable[str],
        spans: Sequence[tuple[int, int | None]],
        *,
        kinds: Iterable[str] | None = None,
    ) -> tuple[LedgerEvent, ...]:
        """The events naming any of `subjects` whose sequence number lies in one of `spans`
        (each from its first number up to, not including, its second; None: to the end)."""
        wanted = sorted(set(subjects))
        if not wanted or not spans:
            return ()
        seq = ledger_subjects.c.seq
        inside = or_(*(seq >= lo if hi is None else and_(seq >= lo, seq < hi) for lo, hi in spans))
        seqs: set[int] = set()
        with self._guard("read the ledger"), self._engine.connect() as conn:
            for chunk in _chunks(wanted, _QUERY_CHUNK):
                seqs.update(
                    int(s)
                    for s in conn.execute(
                        select(seq).where(ledger_subjects.c.subject.in_(chunk), inside)
                    ).scalars()
                )
        return self.events_at(seqs, kinds=kinds)

    def events_at(
        self, seqs: Iterable[int], *, kinds: Iterable[str] | None = None
    ) -> tuple[LedgerEvent, ...]:
        """The events with these sequence numbers (of the given kinds only, if any), in order."""
        wanted = sorted(set(seqs))
        kind_list = tuple(kinds) if kinds is not None else None
        found: list[LedgerEvent] = []
        with self._guard("read the ledger"), self._engine.connect() as conn:
            for chunk in _chunks(wanted, _QUERY_CHUNK):
                query = select(ledger_events).where(ledger_events.c.seq.in_(chunk))
                if kind_list is not None:
                    query = query.where(ledger_events.c.kind.in_(kind_list))
                found.extend(self._event(row) for row in conn.execute(query))
        return tuple(sorted(found, key=lambda e: e.seq))

    def heads_about(self, subjects: Iterable[str]) -> tuple[EventHead, ...]:
        """Which events name each of `subjects` and their kinds, ordered by sequence number,
        read from the subject index without loading any event's body."""
        wanted = sorted(set(subjects))
        heads: list[EventHead] = []
        with self._guard("read the ledger"), self._engine.connect() as conn:
            for chunk in _chunks(wanted, _QUERY_CHUNK):
                rows = conn.execute(
                    select(ledger_subjects.c.subject, ledger_subjects.c.seq, ledger_events.c.kind)
                    .join(ledger_events, ledger_events.c.seq == ledger_subjects.c.seq)
                    .where(ledger_subjects.c.subject.in_(chunk))
                )
                heads.extend(EventHead(str(s), int(q), str(k)) for s, q, k in rows)
        return tuple(sorted(heads, key=lambda h: (h.seq, h.subject)))

    def run_marks(self) -> tuple[RunMark, ...]:
        """Every scan and gate event in order, with the project its inputs name (None when
        they name none). The project is read in SQL where the database can (SQLite's and
        PostgreSQL's JSON functions), else from each event's body."""
        columns = (
            ledger_events.c.seq,
            ledger_events.c.event_id,
            ledger_events.c.at,
            ledger_events.c.kind,
        )
        where = ledger_events.c.kind.in_(RUN_KINDS)
        with self._guard("read the ledger"), self._engine.connect() as conn:
            project = _project_in_sql(conn.dialect.name)
            if project is not None:
                try:
                    rows = conn.execute(
                        select(*columns, project).where(where).order_by(ledger_events.c.seq)
                    ).all()
                except DBAPIError:  # a body that is not JSON (edited): read them one by one
                    conn.rollback()
                else:
                    return tuple(
                        RunMark(int(q), str(i), str(a), str(k), p if isinstance(p, str) else None)
                        for q, i, a, k, p in rows
                    )
            rows = conn.execute(
                select(*columns, ledger_events.c.body).where(where).order_by(ledger_events.c.seq)
            ).all()
        return tuple(
            RunMark(int(q), str(i), str(a), str(k), _project_of(str(b))) for q, i, a, k, b in rows
        )

    def subjects_matching(self, ident: str) -> tuple[str, ...]:
        """The stored subjects `ident` names: itself, itself under each subject prefix, a
        finding ID in another letter case, or a commit SHA prefix (7 hex digits or more)."""
        ident = ident.strip()
        if not ident:
            return ()
        candidates = {ident}
        prefix, sep, rest = ident.partition(":")
        if not sep or prefix not in SUBJECT_PREFIXES:
            candidates.update(f"{p}:{ident}" for p in SUBJECT_PREFIXES)
            head, dash, tail = ident.partition("-")
            if dash:
                for t in (tail, tail.lower(), tail.upper()):
                    candidates.add(f"{head.upper()}-{t}")
        sha = rest if prefix == "commit" and sep else ident
        found: set[str] = set()
        with self._guard("read the ledger"), self._engine.connect() as conn:
            for chunk in _chunks(sorted(candidates), _QUERY_CHUNK):
                found.update(
                    str(s)
                    for s in conn.execute(
                        select(ledger_subjects.c.subject)
                        .where(ledger_subjects.c.subject.in_(chunk))
                        .distinct()
                    ).scalars()
                )
            if _HEX_RE.fullmatch(sha):
                stem = "commit:" + sha.lower()
                found.update(
                    str(s)
                    for s in conn.execute(
                        select(ledger_subjects.c.subject)
                        .where(ledger_subjects.c.subject.startswith(stem, autoescape=True))
                        .distinct()
                    ).scalars()
                    if str(s).startswith(stem)
                )
        return tuple(sorted(found))

    def findings_with_alias(self, alias: str) -> tuple[str, ...]:
        """Finding IDs that a scan, plan or gate event recorded with `alias` among their
        aliases (case-insensitive)."""
        wanted = alias.strip().lower()
        owners: set[str] = set()
        if not wanted:
            return ()
        # Every run records the same briefs again, so each distinct body is read once; and
        # bodies are canonical JSON (ASCII, escaped), so an ASCII alias can only be in those
        # holding it as json.dumps writes it (compared ignoring case, as below).
        query = (
            select(ledger_events.c.body)
            .where(ledger_events.c.kind.in_(("scan", "plan", "gate")))
            .distinct()
        )
        if wanted.isascii():
            needle = json.dumps(wanted)
            query = query.where(ledger_events.c.body.icontains(needle, autoescape=True))
        with self._guard("read the ledger"), self._engine.connect() as conn:
            bodies = [str(b) for b in conn.execute(query).scalars()]
        for text in bodies:
            try:
                body = json.loads(text)
            except ValueError:  # an edited row: `ledger verify` names it
                continue
            if not isinstance(body, dict):
                continue
            for brief in _finding_briefs(body):
                aliases = brief.get("aliases")
                fid = brief.get("id")
                if not isinstance(fid, str) or not isinstance(aliases, list):
                    continue
                if any(isinstance(a, str) and a.lower() == wanted for a in aliases):
                    owners.add(fid)
        return tuple(sorted(owners))

    def find(self, ident: str) -> tuple[LedgerEvent, ...]:
        """Events about `ident`: an event id, a subject (exact, bare or prefixed), a commit
        SHA prefix, or a finding alias recorded by a scan."""
        ident = ident.strip()
        if _EVENT_ID_RE.fullmatch(ident.lower()):
            hit = self.get(ident)
            if hit is not None:
                return (hit,)
        subjects = self.subjects_matching(ident)
        if not subjects:
            subjects = self.findings_with_alias(ident)
        return self.events_about(subjects) if subjects else ()

    def _event(self, row: Any) -> LedgerEvent:
        raw = _RawEvent.from_row(row)
        if raw.error is not None:
            raise LedgerError(
                f"ledger {self.where}: event {raw.seq} ({raw.event_id}) cannot be read: "
                f"{raw.error}; run `patchpilot ledger verify`"
            )
        body = raw.body if isinstance(raw.body, Mapping) else {}
        subjects = tuple(raw.subjects) if isinstance(raw.subjects, list) else ()
        return LedgerEvent(
            seq=raw.seq,
            event_id=raw.event_id,
            at=raw.at,
            kind=raw.kind,
            actor=raw.actor,
            summary=raw.summary,
            subjects=tuple(str(s) for s in subjects),
            body=body,
            prev_hash=raw.prev_hash,
            hash=raw.hash,
            intact=raw.self_consistent(),
        )

    # Verifying and exporting

    def verify(self) -> ChainReport:
        """Walk the chain from the first event to the anchor; stop at the first problem."""
        with self._guard("read the ledger"), self._read() as conn:
            has_anchor_table = "ledger_meta" in set(inspect(conn).get_table_names())
            anchor: tuple[int, str] | None = None
            if has_anchor_table:
                row = conn.execute(
                    select(ledger_meta.c.events, ledger_meta.c.tip_hash).where(
                        ledger_meta.c.id == _ANCHOR_ID
                    )
                ).first()
                anchor = None if row is None else (int(row[0]), str(row[1]))
            checker = _ChainChecker(
                locate=lambda h: _locate(conn, h), anchor=anchor, use_anchor=True
            )
            last = 0
            while True:
                rows = conn.execute(
                    select(ledger_events)
                    .where(ledger_events.c.seq > last)
                    .order_by(ledger_events.c.seq)
                    .limit(_BATCH)
                ).all()
                if not rows:
                    break
                lo, hi = int(rows[0].seq), int(rows[-1].seq)
                index = _subject_index(conn, lo, hi)
                for row in rows:
                    raw = _RawEvent.from_row(row)
                    problem = checker.feed(raw)
                    if problem is None and isinstance(raw.subjects, list):
                        indexed = index.get(raw.seq, set())
                        if indexed != {str(s) for s in raw.subjects}:
                            problem = ChainProblem(
                                raw.seq,
                                raw.event_id,
                                "edited: its subject index (ledger_subjects) does not match the "
                                "subjects it recorded",
                            )
                    if problem is not None:
                        return checker.report(self.where, problem)
                last = hi
            return checker.report(self.where, checker.finish())

    def export(self, stream: IO[str]) -> int:
        """Write every event as one JSON line (hashes included); return how many."""
        count = 0
        last = 0
        while True:
            with self._guard("read the ledger"), self._engine.connect() as conn:
                rows = conn.execute(
                    select(ledger_events)
                    .where(ledger_events.c.seq > last)
                    .order_by(ledger_events.c.seq)
                    .limit(_BATCH)
                ).all()
            if not rows:
                return count
            for row in rows:
                stream.write(json.dumps(_RawEvent.from_row(row).export_line()))
                stream.write("\n")
                count += 1
            last = int(rows[-1].seq)


class LedgerReporter(Reporter):
    """A reporter that appends every `Record` it is given to `ledger`, with `context`.

    `context` may be replaced between steps (e.g. once the policy digest is known).
    """

    def __init__(self, ledger: Ledger, context: LedgerContext) -> None:
        self.ledger = ledger
        self.context = context
        self.appended: list[LedgerEvent] = []

    def record(self, record: Record) -> None:
        self.appended.append(self.ledger.append(record, self.context))


def verify_jsonl(lines: Iterable[str | bytes], *, expected_tip: str | None = None) -> ChainReport:
    """Re-check an `export` offline: the same chain rules, line by line.

    An export carries no anchor of its own; pass `expected_tip` (the tip hash `ledger verify`
    printed) to notice removed last lines as well.
    """
    parsed: list[_RawEvent] = []
    for number, line in enumerate(lines, start=1):
        text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        if not text.strip():
            continue
        raw = _RawEvent.from_line(number, text)
        if isinstance(raw, ChainProblem):
            return ChainReport("JSONL", len(parsed), None, raw)
        parsed.append(raw)
    by_hash = {r.hash: r.seq for r in parsed}
    checker = _ChainChecker(locate=by_hash.get, anchor=None, use_anchor=False)
    for raw in parsed:
        problem = checker.feed(raw)
        if problem is not None:
            return checker.report("JSONL", problem)
    if expected_tip is not None and checker.last_hash != expected_tip.strip().lower():
        tip = expected_tip.strip().lower()
        return checker.report(
            "JSONL",
            ChainProblem(
                checker.last_seq + 1,
                event_id_for(tip) if _HASH_RE.fullmatch(tip) else None,
                "the export does not end at the expected tip: its last events were removed "
                "or replaced",
            ),
        )
    return checker.report("JSONL", None)


# --- chain checking -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RawEvent:
    """An event as stored, before trusting it: `error` says why its JSON parts are unusable."""

    seq: int
    event_id: str
    at: str
    kind: str
    actor: str
    summary: str
    subjects: Any
    body: Any
    prev_hash: str
    hash: str
    error: str | None = None
    subjects_text: str | None = None
    body_text: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> _RawEvent:
        subjects_text, body_text = str(row.subjects), str(row.body)
        error: str | None = None
        subjects: Any = None
        body: Any = None
        try:
            subjects = json.loads(subjects_text)
            body = json.loads(body_text)
        except ValueError:
            error = "its subjects or body are not valid JSON"
        else:
            if not isinstance(subjects, list) or not all(isinstance(s, str) for s in subjects):
                error = "its subjects are not a list of text"
            elif not isinstance(body, dict):
                error = "its body is not a JSON object"
            elif canonical_json(subjects) != subjects_text or canonical_json(body) != body_text:
                error = "its subjects or body are not in the canonical form they were written in"
            elif not _encodable([subjects, body]):
                error = "its subjects or body hold text that is not valid Unicode"
        return cls(
            seq=int(row.seq),
            event_id=str(row.event_id),
            at=str(row.at),
            kind=str(row.kind),
            actor=str(row.actor),
            summary=str(row.summary),
            subjects=subjects,
            body=body,
            prev_hash=str(row.prev_hash),
            hash=str(row.hash),
            error=error,
            subjects_text=subjects_text,
            body_text=body_text,
        )

    @classmethod
    def from_line(cls, number: int, text: str) -> _RawEvent | ChainProblem:
        try:
            data = json.loads(text)
        except ValueError as e:
            return ChainProblem(None, None, f"line {number}: not valid JSON ({e})")
        if not isinstance(data, dict):
            return ChainProblem(None, None, f"line {number}: not a JSON object")
        for key, kind in (
            ("seq", int),
            ("event_id", str),
            ("at", str),
            ("kind", str),
            ("actor", str),
            ("summary", str),
            ("prev_hash", str),
            ("hash", str),
        ):
            value = data.get(key)
            if not isinstance(value, kind) or isinstance(value, bool):
                return ChainProblem(
                    None,
                    data.get("event_id") if isinstance(data.get("event_id"), str) else None,
                    f"line {number}: key {key!r} is missing or not {kind.__name__}",
                )
        if "subjects" not in data or "body" not in data:
            return ChainProblem(
                data["seq"], data["event_id"], f"line {number}: subjects or body missing"
            )
        return cls(
            seq=data["seq"],
            event_id=data["event_id"],
            at=data["at"],
            kind=data["kind"],
            actor=data["actor"],
            summary=data["summary"],
            subjects=data["subjects"],
            body=data["body"],
            prev_hash=data["prev_hash"],
            hash=data["hash"],
        )

    def computed_hash(self) -> str:
        return chain_hash(
            self.prev_hash,
            seq=self.seq,
            at=self.at,
            kind=self.kind,
            actor=self.actor,
            summary=self.summary,
            subjects=self.subjects if isinstance(self.subjects, list) else [self.subjects],
            body=self.body,
        )

    def self_consistent(self) -> bool:
        try:
            digest = self.computed_hash()
        except (TypeError, ValueError):  # a value JSON cannot hold (NaN from an export)
            return False
        return self.error is None and digest == self.hash and self.event_id == event_id_for(digest)

    def export_line(self) -> dict[str, Any]:
        # What cannot be exported faithfully as parsed JSON goes out as the stored text, so
        # offline verification fails on it just as `verify` does.
        good = self.error is None
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "at": self.at,
            "kind": self.kind,
            "actor": self.actor,
            "summary": self.summary,
            "subjects": self.subjects if good else self.subjects_text,
            "body": self.body if good else self.body_text,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


class _ChainChecker:
    """Feeds events in order and returns the first problem; shared by the database and JSONL.

    `locate(hash)` answers which sequence number holds an event with that hash, so a broken
    link can be told apart as reordering, removal or rewriting.
    """

    def __init__(
        self,
        *,
        locate: Callable[[str], int | None],
        anchor: tuple[int, str] | None,
        use_anchor: bool,
    ) -> None:
        self._locate = locate
        self._anchor = anchor
        self._use_anchor = use_anchor
        self.count = 0
        self.last_seq = 0
        self.last_hash = GENESIS
        self.last_id: str | None = None

    def feed(self, ev: _RawEvent) -> ChainProblem | None:
        expected = self.last_seq + 1
        if ev.seq != expected:
            if ev.seq < expected:
                return ChainProblem(
                    ev.seq,
                    ev.event_id,
                    f"out of order: event {ev.seq} comes after event {self.last_seq}",
                )
            return self._missing(expected, ev.seq - 1, ev.prev_hash)
        if self._use_anchor and self._anchor is not None and ev.seq > self._anchor[0]:
            return ChainProblem(
                ev.seq,
                ev.event_id,
                f"not covered by the tip anchor, which records {self._anchor[0]} events: "
                "added outside patchpilot, or the anchor was rolled back",
            )
        if ev.prev_hash != self.last_hash:
            return ChainProblem(ev.seq, ev.event_id, self._broken_link(ev))
        if ev.error is not None:
            return ChainProblem(ev.seq, ev.event_id, f"edited: {ev.error}")
        try:
            digest = ev.computed_hash()
        except (TypeError, ValueError):
            return ChainProblem(ev.seq, ev.event_id, "edited: its body holds values JSON cannot")
        if digest != ev.hash:
            return ChainProblem(
                ev.seq, ev.event_id, "edited: its content no longer matches its hash"
            )
        if ev.event_id != event_id_for(digest):
            return ChainProblem(
                ev.seq, ev.event_id, f"edited: its id should be {event_id_for(digest)}"
            )
        self.count += 1
        self.last_seq, self.last_hash, self.last_id = ev.seq, ev.hash, ev.event_id
        return None

    def _missing(self, lo: int, hi: int, next_prev: str) -> ChainProblem:
        known = event_id_for(next_prev) if _HASH_RE.fullmatch(next_prev) else None
        if lo == hi:
            return ChainProblem(lo, known, f"event {lo} is missing (deleted)")
        last = f"; the last of them was {known}" if known else ""
        return ChainProblem(lo, None, f"events {lo} to {hi} are missing (deleted){last}")

    def _broken_link(self, ev: _RawEvent) -> str:
        if self.last_seq == 0:
            return (
                "the first event does not start the chain: earlier events were deleted "
                "and the rest renumbered"
            )
        where = self._locate(ev.prev_hash)
        if where is not None and where > ev.seq:
            return (
                f"out of order: it was appended after event {where}, which now comes after "
                "it (events were reordered)"
            )
        if where is not None and where < self.last_seq:
            return (
                f"it was appended after event {where}, not after event {self.last_seq}: "
                "events between them were deleted and the rest renumbered"
            )
        return (
            f"it does not link to event {self.last_seq} ({self.last_id}): that event was "
            "rewritten, or events between them were deleted and the rest renumbered"
        )

    def finish(self) -> ChainProblem | None:
        if not self._use_anchor:
            return None
        if self._anchor is None:
            return ChainProblem(
                self.last_seq or None,
                self.last_id,
                "the tip anchor (ledger_meta) is missing, so deleted last events cannot be ruled "
                "out",
            )
        count, tip = self._anchor
        if count > self.last_seq:
            gone = count - self.last_seq
            tip_id = event_id_for(tip) if _HASH_RE.fullmatch(tip) else None
            if gone == 1:
                return ChainProblem(
                    count,
                    tip_id,
                    f"the last event was deleted: the tip anchor records {count} events",
                )
            return ChainProblem(
                self.last_seq + 1,
                None,
                f"the last {gone} events ({self.last_seq + 1} to {count}) were deleted: the tip "
                f"anchor records {count} events, the last being {tip_id}",
            )
        if tip != self.last_hash:
            return ChainProblem(
                self.last_seq,
                self.last_id,
                "the last event does not match the tip anchor: it was replaced",
            )
        return None

    def report(self, source: str, problem: ChainProblem | None) -> ChainReport:
        return ChainReport(
            source=source,
            events=self.count,
            tip_hash=self.last_hash if self.count else None,
            problem=problem,
        )


def _locate(conn: Connection, hash_hex: str) -> int | None:
    found = conn.execute(
        select(ledger_events.c.seq).where(ledger_events.c.hash == hash_hex).limit(1)
    ).scalar()
    return None if found is None else int(found)


def _subject_index(conn: Connection, lo: int, hi: int) -> dict[int, set[str]]:
    index: dict[int, set[str]] = {}
    rows = conn.execute(
        select(ledger_subjects.c.seq, ledger_subjects.c.subject).where(
            ledger_subjects.c.seq >= lo, ledger_subjects.c.seq <= hi
        )
    )
    for seq, subject in rows:
        index.setdefault(int(seq), set()).add(str(subject))
    return index


# --- preparing records --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Prepared:
    kind: str
    actor: str
    summary: str
    subjects: tuple[str, ...]
    body: dict[str, Any]


def _prepare_record(record: Record, context: LedgerContext) -> _Prepared:
    """Check and normalise a record into plain JSON values, or say which key cannot be kept."""
    kind: Any = record.kind
    if not isinstance(kind, str) or not kind.strip():
        raise LedgerError(f"cannot record an event: its kind {kind!r} is not a name")
    where = f"cannot record the {kind} event"
    for name in ("kind", "actor", "summary"):
        value = getattr(record, name)
        if not isinstance(value, str):
            raise LedgerError(f"{where}: {name} is a {type(value).__name__}, not text")
        _check_column_text(value, f"{where}: {name}")
    if isinstance(record.subjects, str | bytes) or not isinstance(record.subjects, Iterable):
        raise LedgerError(f"{where}: subjects must be a sequence of text")
    subjects: list[str] = []
    for i, s in enumerate(record.subjects):
        if not isinstance(s, str):
            raise LedgerError(f"{where}: subjects[{i}] is a {type(s).__name__}, not text")
        _check_column_text(s, f"{where}: subjects[{i}]")
        subjects.append(s)
    body = {
        "inputs": _jsonable(record.inputs, f"{where}: inputs", 0),
        "outcome": _jsonable(record.outcome, f"{where}: outcome", 0),
        "context": _jsonable(context.as_dict(), f"{where}: context", 0),
    }
    for key in ("inputs", "outcome"):
        if not isinstance(body[key], dict):
            raise LedgerError(f"{where}: {key} must be a mapping")
    return _Prepared(
        kind=kind,
        actor=record.actor,
        summary=record.summary,
        subjects=tuple(dict.fromkeys(subjects)),
        body=body,
    )


def _check_column_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise LedgerError(f"{where}: contains a NUL character")
    _check_encodable(text, where)


def _check_encodable(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise LedgerError(f"{where}: not valid Unicode text ({e.reason})") from e


def _jsonable(value: Any, where: str, depth: int) -> Any:
    """`value` as plain JSON data (dict, list, str, int, float, bool, None)."""
    if depth > _MAX_DEPTH:
        raise LedgerError(f"{where}: nested more than {_MAX_DEPTH} levels deep")
    if isinstance(value, Enum):
        return _jsonable(value.value, where, depth + 1)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        _check_encodable(value, where)
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LedgerError(f"{where}: {value} is not a finite number")
        return float(value)
    if isinstance(value, PurePath):
        return _jsonable(str(value), where, depth + 1)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _jsonable(getattr(value, f.name), f"{where}.{f.name}", depth + 1)
            for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = k.value if isinstance(k, Enum) else k
            if isinstance(key, bool) or not isinstance(key, str | int):
                raise LedgerError(f"{where}: key {key!r} is not text")
            text = str(key)
            _check_encodable(text, where)
            if text in out:
                raise LedgerError(f"{where}: key {text!r} appears twice")
            out[text] = _jsonable(v, f"{where}.{text}", depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_jsonable(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, set | frozenset):
        items = [_jsonable(v, f"{where}[]", depth + 1) for v in value]
        return sorted(items, key=canonical_json)
    raise LedgerError(f"{where}: a {type(value).__name__} cannot be recorded (not JSON data)")


# --- helpers ------------------------------------------------------------------------------------


def _engine_for(target: str | Path) -> tuple[Engine, str, Path | None]:
    """An engine for a path or URL, the name to show in messages, and the SQLite file if any."""
    text = str(target)
    path: Path | None = None
    if "://" in text:
        try:
            url = make_url(text)
        except ArgumentError as e:
            raise LedgerError(f"{text}: not a database URL ({e})") from e
        if url.get_backend_name() == "sqlite":
            if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
                raise LedgerError(f"{text}: the ledger needs a SQLite file, not a memory database")
            path = Path(url.database)
        where = url.render_as_string(hide_password=True)
    else:
        path = Path(target)
        url = URL.create("sqlite", database=str(path))
        where = str(path)
    try:
        if url.get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(url)
    except (ArgumentError, ImportError) as e:  # unknown dialect or a driver not installed
        raise LedgerError(f"{where}: cannot use this database: {e}") from e
    return engine, where, path


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (below), so writers can take the lock up front.
    dbapi_connection.isolation_level = None
    # Stored text that is not UTF-8 (a tampered row) must be read, so verify can report it.
    dbapi_connection.text_factory = _lenient_text


def _sqlite_begin(conn: Connection) -> None:
    write = bool(conn.get_execution_options().get("patchpilot_write"))
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _db_message(e: SQLAlchemyError) -> str:
    if isinstance(e, DBAPIError) and e.orig is not None:
        return str(e.orig).strip().splitlines()[0] if str(e.orig).strip() else type(e.orig).__name__
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _utc_text(when: datetime) -> str:
    if when.tzinfo is None:
        raise LedgerError("event time must be timezone-aware")
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _project_in_sql(dialect: str) -> ColumnElement[Any] | None:
    """`inputs.project` of an event's body as an SQL expression, where the dialect has one:
    text when it is a JSON string (SQLite), or the JSON value itself (PostgreSQL), so the
    caller keeps strings only."""
    body = ledger_events.c.body
    if dialect == "sqlite":
        # json_valid first (CASE evaluates in order): the other JSON functions raise on a
        # body that is not JSON.
        path = "$.inputs.project"
        text = case((func.json_type(body, path) == "text", func.json_extract(body, path)))
        return case((func.json_valid(body) == 1, text), else_=null()).label("project")
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSON

        # json, not jsonb: parsing once per row is what costs, and json parses faster.
        return cast(body, JSON)["inputs"]["project"].label("project")
    return None


def _project_of(body_text: str) -> str | None:
    try:
        body = json.loads(body_text)
    except ValueError:
        return None
    inputs = body.get("inputs") if isinstance(body, dict) else None
    project = inputs.get("project") if isinstance(inputs, dict) else None
    return project if isinstance(project, str) else None


def _finding_briefs(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The finding summaries an event's body carries (scan and gate outcomes, plan inputs)."""
    inputs, outcome = _mapping(body.get("inputs")), _mapping(body.get("outcome"))
    out: list[Mapping[str, Any]] = []
    for part, key in (
        (outcome, "findings"),
        (outcome, "violations"),
        (inputs, "findings"),
    ):
        items = part.get(key)
        if isinstance(items, list):
            out.extend(i for i in items if isinstance(i, Mapping))
    return out


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
