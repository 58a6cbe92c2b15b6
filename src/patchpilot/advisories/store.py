"""The advisory store: OSV records in one SQLite file, indexed by package for lookups.

Tables (schema version in `meta`): `records` holds each record's JSON once, keyed by ID, with
its `modified` time (as written, and as fixed-width UTC text for comparison) and whether it is
withdrawn; `packages` indexes every record under each (raw ecosystem, normalised name) its
`affected[]` names; `imports` logs every import (source, when, counts). The SQL is kept plain
(no SQLite-only upserts) so the same schema can move to another database.

Imports take OSV zips in osv.dev's `all.zip` layout, directories of OSV JSON files (searched
recursively), or single JSON files. A record replaces the stored one only when its `modified`
is newer; a broken record is skipped, counted and named, and the import goes on. Each source is
one transaction, so a failed source leaves the store as it was.

Lookups parse each record once per store object and keep it; `lookup_many` answers a whole
inventory with a few queries. sqlite3 errors never leave this module: they become `StoreError`
naming the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from patchpilot.advisories.osv import ecosystem_of, parse_record, timestamp_key
from patchpilot.errors import RecordError, StoreError
from patchpilot.events import Reporter
from patchpilot.model import Advisory, Ecosystem, NormalizedName

SCHEMA_VERSION = 1
STORE_FORMAT = "patchpilot-advisories"
# A single OSV record is a few KiB; anything this large is not one (and may be a zip bomb).
MAX_RECORD_BYTES = 32 * 1024 * 1024
_BATCH = 500
_QUERY_CHUNK = 400  # bound variables per query, under SQLite's historic limit of 999

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE imports (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        kind TEXT NOT NULL,
        started TEXT NOT NULL,
        seconds REAL NOT NULL DEFAULT 0,
        imported INTEGER NOT NULL DEFAULT 0,
        replaced INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        broken INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE records (
        id TEXT PRIMARY KEY,
        modified TEXT NOT NULL,
        modified_utc TEXT NOT NULL,
        withdrawn INTEGER NOT NULL,
        import_id INTEGER NOT NULL REFERENCES imports (id),
        body TEXT NOT NULL
    )""",
    """CREATE TABLE packages (
        ecosystem TEXT NOT NULL,
        family TEXT NOT NULL,
        name TEXT NOT NULL,
        record_id TEXT NOT NULL REFERENCES records (id),
        PRIMARY KEY (family, name, record_id, ecosystem)
    )""",
    "CREATE INDEX packages_by_record ON packages (record_id)",
)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What importing one source did: counts, and the message of every broken record."""

    source: str
    kind: str  # zip, directory or file
    imported: int
    replaced: int
    unchanged: int
    broken: int
    errors: tuple[str, ...]
    seconds: float

    @property
    def total(self) -> int:
        return self.imported + self.replaced + self.unchanged + self.broken


@dataclass(frozen=True, slots=True)
class EcosystemStatus:
    """Records stored for one ecosystem as the records spell it (`PyPI`, `Debian:11`)."""

    ecosystem: str
    records: int
    withdrawn: int
    newest_modified: str | None


@dataclass(frozen=True, slots=True)
class ImportLogEntry:
    """One past import, as the `imports` table keeps it."""

    source: str
    kind: str
    when: str
    seconds: float
    imported: int
    replaced: int
    unchanged: int
    broken: int


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """What the store holds; a record naming several ecosystems counts under each."""

    path: str
    schema_version: int
    records: int
    withdrawn: int
    ecosystems: tuple[EcosystemStatus, ...]
    imports: tuple[ImportLogEntry, ...]
    digest: str


def default_store_path() -> Path:
    """`$PATCHPILOT_DB`, else `patchpilot.sqlite3` in the user's data directory."""
    configured = os.environ.get("PATCHPILOT_DB")
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("patchpilot")) / "patchpilot.sqlite3"


class AdvisoryStore:
    """One advisory store file, open for lookups and imports. Use as a context manager."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection
        self._parsed: dict[str, Advisory] = {}
        self._lookups: dict[tuple[Ecosystem, NormalizedName], tuple[Advisory, ...]] = {}

    # Opening and closing

    @classmethod
    def open(cls, path: Path, *, create: bool) -> AdvisoryStore:
        """Open the store at `path`; with `create`, make a new one if there is none.

        A missing file (without `create`), a file that is not a patchpilot store, a store made
        by a newer patchpilot, or a corrupted file raise `StoreError` naming the path.
        """
        path = Path(path)
        try:
            if path.is_dir():
                raise StoreError(f"{path} is a directory, not an advisory store file")
            exists = path.exists()
            size = path.stat().st_size if exists else 0
        except OSError as e:
            raise StoreError(f"cannot open advisory store {path}: {e.strerror or e}") from e
        if not exists and not create:
            raise StoreError(
                f"no advisory store at {path}; run `patchpilot db import` or "
                "`patchpilot db update` first"
            )
        fresh = size == 0
        if fresh and not create:
            raise StoreError(f"{path} is not a patchpilot advisory store (the file is empty)")
        try:
            if not exists:
                path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open advisory store {path}: {e}") from e
        store = cls(path, connection)
        try:
            if fresh:
                store._create_schema()
            else:
                store._check_schema()
        except BaseException:
            connection.close()
            raise
        return store

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> AdvisoryStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _create_schema(self) -> None:
        with self._guard("create the store"):
            self._db.execute("BEGIN")
            try:
                for statement in _SCHEMA:
                    self._db.execute(statement)
                self._db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("format", STORE_FORMAT), ("schema_version", str(SCHEMA_VERSION))],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _check_schema(self) -> None:
        try:
            rows = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as e:
            if "no such table" in str(e) or "not a database" in str(e):
                raise StoreError(f"{self.path} is not a patchpilot advisory store ({e})") from e
            raise self._error("read the store", e) from e
        if rows.get("format") != STORE_FORMAT:
            raise StoreError(f"{self.path} is not a patchpilot advisory store")
        version = rows.get("schema_version", "")
        if not version.isdigit() or int(version) > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer patchpilot (store schema {version!r}, "
                f"this version reads {SCHEMA_VERSION}); upgrade patchpilot or use another --db"
            )

    def _error(self, action: str, e: sqlite3.Error) -> StoreError:
        if isinstance(e, sqlite3.DatabaseError) and (
            "malformed" in str(e) or "not a database" in str(e)
        ):
            return StoreError(
                f"advisory store {self.path} is corrupted ({e}); delete it and import again"
            )
        return StoreError(f"advisory store {self.path}: cannot {action}: {e}")

    def _guard(self, action: str) -> _Guard:
        return _Guard(self, action)

    # Imports

    def import_paths(
        self, paths: Sequence[Path], reporter: Reporter | None = None
    ) -> list[ImportReport]:
        """Import every path (zip, directory of JSON, or JSON file), one transaction each.

        Every path is checked before anything is imported, so a typo in the last path does not
        leave the first ones half-done.
        """
        reporter = reporter or Reporter()
        kinds = [(Path(p), source_kind(Path(p))) for p in paths]
        return [self.import_path(path, kind=kind, reporter=reporter) for path, kind in kinds]

    def import_path(
        self,
        path: Path,
        *,
        kind: str | None = None,
        label: str | None = None,
        reporter: Reporter | None = None,
    ) -> ImportReport:
        """Import one source; `label` names it in the log instead of the path (e.g. a URL)."""
        reporter = reporter or Reporter()
        kind = kind or source_kind(path)
        source = label or str(path)
        started = time.perf_counter()
        with _open_source(path, kind) as entries:
            counts = self._import_entries(source, kind, entries, reporter, started)
        if counts.errors:
            reporter.note(
                f"{source}: skipped {len(counts.errors)} broken record(s), e.g. {counts.errors[0]}"
            )
        self._parsed.clear()
        self._lookups.clear()
        return ImportReport(
            source=source,
            kind=kind,
            imported=counts.imported,
            replaced=counts.replaced,
            unchanged=counts.unchanged,
            broken=len(counts.errors),
            errors=tuple(counts.errors),
            seconds=counts.seconds,
        )

    def _import_entries(
        self, source: str, kind: str, entries: _Entries, reporter: Reporter, started: float
    ) -> _Counts:
        counts = _Counts()
        reporter.start("import", total=entries.count)
        with self._guard(f"import {source}"):
            self._db.execute("BEGIN")
            try:
                cursor = self._db.execute(
                    "INSERT INTO imports (source, kind, started) VALUES (?, ?, ?)",
                    (source, kind, _now()),
                )
                counts.log_id = int(cursor.lastrowid or 0)
                batch: list[_Parsed] = []
                for origin, raw in entries.items:
                    parsed = _parse_entry(origin, raw, counts)
                    if parsed is not None:
                        batch.append(parsed)
                    if len(batch) >= _BATCH:
                        self._write(batch, counts)
                        reporter.advance("import", len(batch), source)
                        batch = []
                    elif parsed is None:
                        reporter.advance("import", 1, source)
                self._write(batch, counts)
                reporter.advance("import", len(batch), source)
                counts.seconds = time.perf_counter() - started
                self._db.execute(
                    "UPDATE imports SET seconds = ?, imported = ?, replaced = ?, unchanged = ?,"
                    " broken = ? WHERE id = ?",
                    (
                        round(counts.seconds, 3),
                        counts.imported,
                        counts.replaced,
                        counts.unchanged,
                        len(counts.errors),
                        counts.log_id,
                    ),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            finally:
                reporter.finish("import")
        return counts

    def _write(self, batch: list[_Parsed], counts: _Counts) -> None:
        if not batch:
            return
        # Later entries of one batch win over earlier ones with the same ID if newer.
        latest: dict[str, _Parsed] = {}
        for item in batch:
            previous = latest.get(item.id)
            if previous is None:
                latest[item.id] = item
            elif item.modified_utc > previous.modified_utc:
                latest[item.id] = item
                counts.replaced += 1
            else:
                counts.unchanged += 1
        stored = self._stored_modified(list(latest))
        inserts: list[_Parsed] = []
        updates: list[_Parsed] = []
        for record_id, item in latest.items():
            old = stored.get(record_id)
            if old is None:
                inserts.append(item)
                counts.imported += 1
            elif item.modified_utc > old:
                updates.append(item)
                counts.replaced += 1
            else:
                counts.unchanged += 1
        if updates:
            self._db.executemany(
                "DELETE FROM packages WHERE record_id = ?", [(u.id,) for u in updates]
            )
            self._db.executemany(
                "UPDATE records SET modified = ?, modified_utc = ?, withdrawn = ?,"
                " import_id = ?, body = ? WHERE id = ?",
                [
                    (u.modified, u.modified_utc, u.withdrawn, counts.log_id, u.body, u.id)
                    for u in updates
                ],
            )
        if inserts:
            self._db.executemany(
                "INSERT INTO records (id, modified, modified_utc, withdrawn, import_id, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (i.id, i.modified, i.modified_utc, i.withdrawn, counts.log_id, i.body)
                    for i in inserts
                ],
            )
        self._db.executemany(
            "INSERT INTO packages (ecosystem, family, name, record_id) VALUES (?, ?, ?, ?)",
            [(*key, item.id) for item in (*inserts, *updates) for key in item.packages],
        )

    def _stored_modified(self, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(ids, _QUERY_CHUNK):
            marks = ",".join("?" * len(chunk))
            found.update(
                self._db.execute(
                    f"SELECT id, modified_utc FROM records WHERE id IN ({marks})",  # noqa: S608 - placeholders only
                    chunk,
                ).fetchall()
            )
        return found

    # Lookups

    def lookup(self, ecosystem: Ecosystem, name: NormalizedName) -> tuple[Advisory, ...]:
        """Every stored record (withdrawn ones included) naming the package, sorted by ID."""
        return self.lookup_many([(ecosystem, name)]).get((ecosystem, name), ())

    def lookup_many(
        self, keys: Iterable[tuple[Ecosystem, NormalizedName]]
    ) -> dict[tuple[Ecosystem, NormalizedName], tuple[Advisory, ...]]:
        """`lookup` for many packages at once; packages without records are left out."""
        requested = set(keys)
        wanted = requested - self._lookups.keys()
        by_family: dict[Ecosystem, list[str]] = {}
        for ecosystem, name in wanted:
            by_family.setdefault(ecosystem, []).append(name)
        found: dict[tuple[Ecosystem, NormalizedName], dict[str, Advisory]] = {}
        with self._guard("look up advisories"):
            for ecosystem, names in by_family.items():
                for chunk in _chunks(sorted(names), _QUERY_CHUNK):
                    marks = ",".join("?" * len(chunk))
                    rows = self._db.execute(
                        "SELECT p.name, r.id, r.body FROM packages p"  # noqa: S608 - only ? marks
                        " JOIN records r ON r.id = p.record_id"
                        f" WHERE p.family = ? AND p.name IN ({marks})",
                        [ecosystem.value, *chunk],
                    ).fetchall()
                    for name, record_id, body in rows:
                        bucket = found.setdefault((ecosystem, NormalizedName(name)), {})
                        bucket[record_id] = self._advisory(record_id, body)
        for key in wanted:
            records = found.get(key, {})
            self._lookups[key] = tuple(records[i] for i in sorted(records))
        return {key: self._lookups[key] for key in requested if self._lookups[key]}

    def _advisory(self, record_id: str, body: str) -> Advisory:
        advisory = self._parsed.get(record_id)
        if advisory is None:
            try:
                advisory = parse_record(json.loads(body), f"{self.path}: record {record_id}")
            except (ValueError, RecordError) as e:
                raise StoreError(
                    f"advisory store {self.path} is corrupted: record {record_id}: {e}"
                ) from e
            self._parsed[record_id] = advisory
        return advisory

    # Summaries

    def is_empty(self) -> bool:
        with self._guard("read the store"):
            return self._db.execute("SELECT 1 FROM records LIMIT 1").fetchone() is None

    def digest(self) -> str:
        """SHA-256 over every record's (id, modified), in ID order: equal stores, equal digests."""
        sha = hashlib.sha256()
        with self._guard("read the store"):
            for record_id, modified in self._db.execute(
                "SELECT id, modified FROM records ORDER BY id"
            ):
                sha.update(f"{record_id}\x00{modified}\n".encode())
        return sha.hexdigest()

    def status(self) -> StoreStatus:
        with self._guard("read the store"):
            total, withdrawn = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(withdrawn), 0) FROM records"
            ).fetchone()
            ecosystems = tuple(
                EcosystemStatus(
                    ecosystem=eco,
                    records=count,
                    withdrawn=gone,
                    newest_modified=_display_time(newest),
                )
                for eco, count, gone, newest in self._db.execute(
                    "SELECT p.ecosystem, COUNT(*), COALESCE(SUM(r.withdrawn), 0),"
                    " MAX(r.modified_utc)"
                    " FROM (SELECT DISTINCT ecosystem, record_id FROM packages) p"
                    " JOIN records r ON r.id = p.record_id"
                    " GROUP BY p.ecosystem ORDER BY p.ecosystem"
                )
            )
            imports = tuple(
                ImportLogEntry(*row)
                for row in self._db.execute(
                    "SELECT source, kind, started, seconds, imported, replaced, unchanged, broken"
                    " FROM imports ORDER BY id"
                )
            )
        return StoreStatus(
            path=str(self.path),
            schema_version=SCHEMA_VERSION,
            records=int(total),
            withdrawn=int(withdrawn),
            ecosystems=ecosystems,
            imports=imports,
            digest=self.digest(),
        )


class _Guard:
    """Turns sqlite3 errors inside a `with` block into `StoreError` naming the store."""

    def __init__(self, store: AdvisoryStore, action: str) -> None:
        self.store = store
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, sqlite3.Error):
            raise self.store._error(self.action, exc) from exc


# Reading sources


def source_kind(path: Path) -> str:
    """`zip`, `directory` or `file` for an importable path; `StoreError` for anything else."""
    try:
        if path.is_dir():
            return "directory"
        if not path.exists():
            raise StoreError(f"{path}: cannot import: no such file or directory")
        if zipfile.is_zipfile(path):
            return "zip"
        if path.suffix.lower() == ".json":
            return "file"
    except OSError as e:
        raise StoreError(f"{path}: cannot import: {e.strerror or e}") from e
    raise StoreError(f"{path}: cannot import: not a zip archive, a directory or an OSV .json file")


@dataclass(slots=True)
class _Entries:
    count: int
    items: Iterator[tuple[str, bytes | RecordError]]


@contextlib.contextmanager
def _open_source(path: Path, kind: str) -> Iterator[_Entries]:
    """The JSON entries of one source: (origin, bytes), or (origin, why it cannot be read)."""
    if kind == "zip":
        try:
            archive = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile, ValueError) as e:
            raise StoreError(f"{path}: cannot import: not a readable zip archive: {e}") from e
        with archive:
            members = [
                m
                for m in archive.infolist()
                if not m.is_dir() and m.filename.lower().endswith(".json")
            ]
            yield _Entries(len(members), _zip_items(path, archive, members))
        return
    if kind == "directory":
        try:
            files = sorted(p for p in path.rglob("*.json") if p.is_file())
        except OSError as e:
            raise StoreError(f"{path}: cannot import: {e.strerror or e}") from e
        yield _Entries(len(files), _file_items(files))
        return
    yield _Entries(1, _file_items([path]))


def _zip_items(
    path: Path, archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]
) -> Iterator[tuple[str, bytes | RecordError]]:
    for member in members:
        origin = f"{path}!{member.filename}"
        if member.file_size > MAX_RECORD_BYTES:
            yield origin, RecordError(origin, None, f"too large ({member.file_size} bytes)")
            continue
        try:
            yield origin, archive.read(member)
        except (OSError, zipfile.BadZipFile, ValueError, EOFError) as e:
            # A damaged member (bad CRC, truncated data) spoils that record only.
            yield origin, RecordError(origin, None, f"cannot read from the zip: {e}")


def _file_items(files: list[Path]) -> Iterator[tuple[str, bytes | RecordError]]:
    for file in files:
        origin = str(file)
        try:
            size = file.stat().st_size
            if size > MAX_RECORD_BYTES:
                yield origin, RecordError(origin, None, f"too large ({size} bytes)")
                continue
            data = file.read_bytes()
        except OSError as e:
            yield origin, RecordError(origin, None, f"cannot read: {e.strerror or e}")
            continue
        yield origin, data


@dataclass(slots=True)
class _Counts:
    log_id: int = 0
    seconds: float = 0.0
    imported: int = 0
    replaced: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Parsed:
    id: str
    modified: str
    modified_utc: str
    withdrawn: int
    body: str
    packages: tuple[tuple[str, str, str], ...]  # (raw ecosystem, family, normalised name)


def _parse_entry(origin: str, raw: bytes | RecordError, counts: _Counts) -> _Parsed | None:
    if isinstance(raw, RecordError):
        counts.errors.append(str(raw))
        return None
    try:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as e:
            raise RecordError(origin, None, f"invalid JSON: {e}") from e
        advisory = parse_record(data, origin)
    except RecordError as e:
        counts.errors.append(str(e))
        return None
    packages: dict[tuple[str, str, str], None] = {}
    for entry in advisory.affected:
        if not entry.ecosystem or not entry.name:
            continue
        known = ecosystem_of(entry.ecosystem)
        family = known.value if known else entry.ecosystem
        packages[(entry.ecosystem, family, entry.name)] = None
    return _Parsed(
        id=advisory.id,
        modified=advisory.modified,
        modified_utc=timestamp_key(advisory.modified),
        withdrawn=1 if advisory.withdrawn else 0,
        body=json.dumps(data, separators=(",", ":")),
        packages=tuple(packages),
    )


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _display_time(utc: str | None) -> str | None:
    if utc is None:
        return None
    return utc.replace(".000000Z", "Z")
