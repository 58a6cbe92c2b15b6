"""The ledger in a real SQLite file: appends, lookups, and `verify` against rows tampered with
plain sqlite3 (edited, reordered, deleted in the middle and at the end)."""

from __future__ import annotations

import dataclasses
import itertools
import sqlite3
import threading
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath

import pytest
from ledger_story import ADVISORIES
from ledger_support import CONTEXT, fill, simple_records, tamper, verify

from patchpilot.advisories.store import AdvisoryStore
from patchpilot.audit.ledger import (
    GENESIS,
    Ledger,
    LedgerContext,
    LedgerEvent,
    LedgerReporter,
    chain_hash,
    event_id_for,
)
from patchpilot.errors import ExitCode, LedgerError
from patchpilot.events import Fanout, Record, RecordingReporter

Six = tuple[Path, list[LedgerEvent]]


# --- appending --------------------------------------------------------------------------------


def test_appended_events_chain_from_genesis(six: Six) -> None:
    path, events = six
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    for e in events:
        assert e.event_id == event_id_for(e.hash)
        assert e.context == CONTEXT.as_dict()
    report = verify(path)
    assert report.intact
    assert report.events == 6
    assert report.tip_hash == events[-1].hash
    with Ledger.open(path) as ledger:
        assert ledger.tip() == (6, events[-1].hash)
        stored = list(ledger.events())
    assert stored == events


def test_hash_is_sha256_of_previous_hash_and_canonical_event(six: Six) -> None:
    _, events = six
    e = events[2]
    again = chain_hash(
        e.prev_hash,
        seq=e.seq,
        at=e.at,
        kind=e.kind,
        actor=e.actor,
        summary=e.summary,
        subjects=e.subjects,
        body=dict(e.body),
    )
    assert again == e.hash
    assert e.body["inputs"] == {"i": 2, "digest": f"sha256:{2:064x}"}
    assert e.at.endswith("Z")


def test_records_are_normalised_to_json_data(tmp_path: Path) -> None:
    class Tier(StrEnum):
        INTERNAL = "internal"

    @dataclasses.dataclass(frozen=True)
    class Facts:
        tier: Tier
        path: PurePosixPath
        when: datetime
        packages: tuple[str, ...]
        seen: frozenset[str]

    facts = Facts(
        Tier.INTERNAL,
        PurePosixPath("src/app.py"),
        datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        ("pyyaml",),
        frozenset({"b", "a"}),
    )
    with Ledger.open(tmp_path / "l.sqlite3", create=True) as ledger:
        ev = ledger.append(
            Record("decide", "level 2", ("remediation:r1", "remediation:r1"), {"facts": facts}),
            CONTEXT,
        )
        assert ledger.verify().intact
    assert ev.subjects == ("remediation:r1",)  # duplicates collapse, order kept
    assert ev.inputs["facts"] == {
        "tier": "internal",
        "path": "src/app.py",
        "when": "2024-05-01T12:00:00+00:00",
        "packages": ["pyyaml"],
        "seen": ["a", "b"],
    }


@pytest.mark.parametrize(
    ("record", "named"),
    [
        (Record("plan", "x", outcome={"reach_share": float("nan")}), "outcome.reach_share"),
        (Record("plan", "x", inputs={"when": object()}), "inputs.when"),
        (Record("plan", "x", inputs={"raw": b"bytes"}), "inputs.raw"),
        (Record("plan", "x", inputs={(1, 2): "tuple key"}), "inputs"),  # type: ignore[dict-item]
        (Record("plan", "nul \x00 in summary"), "summary"),
        (Record("plan", "x", subjects=("branch:a", 3)), "subjects[1]"),  # type: ignore[arg-type]
        (Record("plan", "x", subjects="branch:a"), "subjects"),  # type: ignore[arg-type]
        (Record("", "x"), "kind"),
        (Record("plan", "x", inputs={"s": "\ud800"}), "inputs.s"),
    ],
)
def test_unrecordable_values_raise_ledger_error_naming_the_key(
    tmp_path: Path, record: Record, named: str
) -> None:
    with Ledger.open(tmp_path / "l.sqlite3", create=True) as ledger:
        with pytest.raises(LedgerError) as err:
            ledger.append(record, CONTEXT)
        assert named in str(err.value)
        assert ledger.tip()[0] == 0  # nothing half-written
        assert ledger.verify().intact


def test_nested_too_deep_is_refused(tmp_path: Path) -> None:
    deep: dict[str, object] = {}
    node = deep
    for _ in range(100):
        node["x"] = {}
        node = node["x"]  # type: ignore[assignment]
    with Ledger.open(tmp_path / "l.sqlite3", create=True) as ledger, pytest.raises(LedgerError):
        ledger.append(Record("plan", "deep", outcome=deep), CONTEXT)


def test_reporter_appends_every_record_it_gets(tmp_path: Path) -> None:
    transcript = RecordingReporter()
    with Ledger.open(tmp_path / "l.sqlite3", create=True) as ledger:
        recorder = LedgerReporter(ledger, CONTEXT)
        fan = Fanout([transcript, recorder])
        fan.start("scan", 3)
        for r in simple_records(3):
            fan.record(r)
        fan.note("progress is not recorded")
        recorder.context = LedgerContext("0.2.0", None, "sha256:" + "ef" * 32)
        fan.record(Record("gate", "gate passed", outcome={"violations": [], "exit": 0}))
        stored = list(ledger.events())
    assert [e.kind for e in stored] == ["scan", "plan", "branch", "gate"]
    assert stored == recorder.appended
    assert [r.summary for r in transcript.records] == [e.summary for e in stored]
    assert stored[-1].context["patchpilot_version"] == "0.2.0"
    assert stored[0].context["patchpilot_version"] == "0.1.0"


def test_concurrent_appends_are_serialised(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    fill(path, 1)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with Ledger.open(path) as ledger:
                for i in range(15):
                    ledger.append(
                        Record("plan", f"worker {n} step {i}", (f"remediation:{n}",)), CONTEXT
                    )
        except BaseException as e:  # surfaced below, on the test's thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify(path)
    assert report.intact, report.problem
    assert report.events == 1 + 4 * 15
    with Ledger.open(path) as ledger:
        for n in range(4):
            assert len(ledger.find(f"remediation:{n}")) == 15


def test_event_time_must_be_timezone_aware(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3", create=True) as ledger:
        ev = ledger.append(Record("scan", "x"), CONTEXT, at=datetime(2025, 3, 1, 10, tzinfo=UTC))
        assert ev.at == "2025-03-01T10:00:00.000000Z"
        with pytest.raises(LedgerError):
            ledger.append(Record("scan", "x"), CONTEXT, at=datetime(2025, 3, 1, 10))


# --- the same file as the advisory store ---------------------------------------------------------


def test_ledger_shares_the_advisory_store_file(tmp_path: Path) -> None:
    db = tmp_path / "patchpilot.sqlite3"
    with AdvisoryStore.open(db, create=True) as store:
        store.import_paths([ADVISORIES])
        digest = store.digest()
    with Ledger.open(db, create=True) as ledger:
        ledger.append(Record("scan", "scanned", ("PYSEC-2021-142",)), CONTEXT)
    with AdvisoryStore.open(db, create=False) as store:
        assert store.digest() == digest
        assert store.status().records > 0
    with Ledger.open(db) as ledger:
        assert ledger.verify().intact
        assert [e.kind for e in ledger.find("PYSEC-2021-142")] == ["scan"]


# --- opening ----------------------------------------------------------------------------------


def test_open_without_create_needs_an_existing_ledger(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite3"
    with pytest.raises(LedgerError, match="does not exist") as err:
        Ledger.open(missing)
    assert err.value.exit_code == ExitCode.INPUT_ERROR
    assert not missing.exists()
    store_only = tmp_path / "store.sqlite3"
    with AdvisoryStore.open(store_only, create=True):
        pass
    with pytest.raises(LedgerError, match="holds no ledger"):
        Ledger.open(store_only)
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database, just text " * 200)
    with pytest.raises(LedgerError, match=str(garbage)):
        Ledger.open(garbage)
    with pytest.raises(LedgerError, match="directory"):
        Ledger.open(tmp_path)


@pytest.mark.parametrize(
    "url", ["nosuchdialect://x/y", "sqlite://", "sqlite:///:memory:", "postgresql+nodriver://h/db"]
)
def test_unusable_urls_raise_ledger_error(url: str) -> None:
    with pytest.raises(LedgerError):
        Ledger.open(url, create=True)


def test_sqlite_url_opens_the_same_file(six: Six) -> None:
    path, events = six
    with Ledger.open(f"sqlite:///{path}") as ledger:
        assert ledger.tip() == (6, events[-1].hash)


def test_newer_schema_is_refused(six: Six) -> None:
    path, _ = six
    tamper(path, "UPDATE ledger_meta SET schema_version = 99")
    with pytest.raises(LedgerError, match="newer patchpilot"):
        Ledger.open(path)


# --- lookups ----------------------------------------------------------------------------------


def test_find_by_subject_bare_name_commit_prefix_and_event_id(tmp_path: Path) -> None:
    sha = "9fceb02d0ae598e95dc970b74767f19372d61af8"
    with Ledger.open(tmp_path / "l.sqlite3", create=True) as ledger:
        a = ledger.append(
            Record("branch", "b", ("branch:fix/x", f"commit:{sha}", "GHSA-8q59-q68h-6hv4")), CONTEXT
        )
        b = ledger.append(Record("merge", "m", ("action:act-1", "branch:fix/x")), CONTEXT)
        assert ledger.find("branch:fix/x") == (a, b)
        assert ledger.find("fix/x") == (a, b)
        assert ledger.find("act-1") == (b,)
        assert ledger.find(sha[:7]) == (a,)
        assert ledger.find(sha[:7].upper()) == (a,)
        assert ledger.find(f"commit:{sha[:10]}") == (a,)
        assert ledger.find(sha[:6]) == ()  # too short to be taken as a SHA prefix
        assert ledger.find("ghsa-8q59-q68h-6hv4") == (a,)
        assert ledger.find(b.event_id) == (b,)
        assert ledger.find(b.event_id.upper()) == (b,)
        assert ledger.find("unknown") == ()
        assert ledger.find("") == ()


# --- verify against tampering -----------------------------------------------------------------


def test_edited_summary_is_named(six: Six) -> None:
    path, events = six
    tamper(path, "UPDATE ledger_events SET summary = 'nothing happened here' WHERE seq = 3")
    report = verify(path)
    assert not report.intact
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (3, events[2].event_id)
    assert "edited" in report.problem.reason
    assert report.events == 2


def test_edited_body_is_named(six: Six) -> None:
    path, events = six
    tamper(
        path,
        (
            "UPDATE ledger_events SET body = replace(body, ?, ?) WHERE seq = 5",
            ('"ok":true', '"ok":false'),
        ),
    )
    report = verify(path)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (5, events[4].event_id)


def test_non_canonical_body_with_same_meaning_is_caught(six: Six) -> None:
    path, _ = six
    tamper(
        path,
        (
            "UPDATE ledger_events SET body = replace(body, ?, ?) WHERE seq = 2",
            ('"ok":true', '"ok": true'),
        ),
    )
    report = verify(path)
    assert report.problem is not None
    assert report.problem.seq == 2
    assert "canonical" in report.problem.reason


def test_body_that_is_not_utf8_is_reported_not_crashed(six: Six) -> None:
    path, events = six
    db = sqlite3.connect(path)
    db.execute("UPDATE ledger_events SET body = CAST(? AS TEXT) WHERE seq = 4", (b'{"\xff":1}',))
    db.commit()
    db.close()
    report = verify(path)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (4, events[3].event_id)


def test_edited_event_id_is_named(six: Six) -> None:
    path, _ = six
    tamper(path, "UPDATE ledger_events SET event_id = 'ev-000000000000' WHERE seq = 2")
    report = verify(path)
    assert report.problem is not None
    assert report.problem.seq == 2
    assert "id" in report.problem.reason


def test_edited_subject_index_is_named(six: Six) -> None:
    path, events = six
    tamper(
        path,
        "UPDATE ledger_subjects SET subject = 'remediation:someone-else' "
        "WHERE seq = 4 AND subject LIKE 'remediation:%'",
    )
    report = verify(path)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (4, events[3].event_id)
    assert "subject index" in report.problem.reason


def test_swapped_rows_are_named_as_reordered(six: Six) -> None:
    path, events = six
    tamper(
        path,
        "UPDATE ledger_events SET seq = -3 WHERE seq = 3",
        "UPDATE ledger_events SET seq = 3 WHERE seq = 4",
        "UPDATE ledger_events SET seq = 4 WHERE seq = -3",
    )
    report = verify(path)
    assert report.problem is not None
    assert report.problem.seq == 3
    assert report.problem.event_id == events[3].event_id  # the event now sitting at seq 3
    assert "order" in report.problem.reason


def test_deleted_middle_row_is_named_with_its_id(six: Six) -> None:
    path, events = six
    tamper(
        path, "DELETE FROM ledger_subjects WHERE seq = 3", "DELETE FROM ledger_events WHERE seq = 3"
    )
    report = verify(path)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (3, events[2].event_id)
    assert "missing" in report.problem.reason


def test_deleted_first_row_is_named(six: Six) -> None:
    path, events = six
    tamper(path, "DELETE FROM ledger_events WHERE seq = 1")
    report = verify(path)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (1, events[0].event_id)


def test_deleted_rows_renumbered_are_caught(six: Six) -> None:
    path, events = six
    tamper(
        path,
        "DELETE FROM ledger_events WHERE seq = 3",
        "UPDATE ledger_events SET seq = seq - 1 WHERE seq > 3",
        "UPDATE ledger_subjects SET seq = seq - 1 WHERE seq > 3",
    )
    report = verify(path)
    assert report.problem is not None
    assert report.problem.seq == 3
    assert report.problem.event_id == events[3].event_id


def test_deleted_last_row_is_caught_by_the_tip_anchor(six: Six) -> None:
    path, events = six
    tamper(
        path, "DELETE FROM ledger_subjects WHERE seq = 6", "DELETE FROM ledger_events WHERE seq = 6"
    )
    report = verify(path)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (6, events[5].event_id)
    assert "last event was deleted" in report.problem.reason
    assert report.events == 5


def test_deleted_last_rows_are_caught(six: Six) -> None:
    path, events = six
    tamper(path, "DELETE FROM ledger_events WHERE seq >= 5")
    report = verify(path)
    assert report.problem is not None
    assert report.problem.seq == 5
    assert events[5].event_id in report.problem.reason


def test_appending_after_a_deleted_tip_keeps_the_gap_visible(six: Six) -> None:
    path, events = six
    tamper(
        path, "DELETE FROM ledger_subjects WHERE seq = 6", "DELETE FROM ledger_events WHERE seq = 6"
    )
    with Ledger.open(path) as ledger:
        ledger.append(Record("scan", "a later run"), CONTEXT)
        report = ledger.verify()
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (6, events[5].event_id)


def test_rewritten_and_rehashed_row_breaks_the_next_link(six: Six) -> None:
    path, events = six
    e = events[2]
    body = dict(e.body)
    forged = chain_hash(
        e.prev_hash,
        seq=3,
        at=e.at,
        kind=e.kind,
        actor=e.actor,
        summary="forged",
        subjects=e.subjects,
        body=body,
    )
    tamper(
        path,
        (
            "UPDATE ledger_events SET summary = 'forged', hash = ?, event_id = ? WHERE seq = 3",
            (forged, event_id_for(forged)),
        ),
    )
    report = verify(path)
    assert report.problem is not None
    assert report.problem.seq == 4
    assert events[2].event_id not in report.problem.reason
    assert event_id_for(forged) in report.problem.reason  # names the rewritten predecessor


def test_missing_anchor_is_reported_and_blocks_appends(six: Six) -> None:
    path, _ = six
    tamper(path, "DELETE FROM ledger_meta")
    report = verify(path)
    assert report.problem is not None
    assert "anchor" in report.problem.reason
    with Ledger.open(path) as ledger, pytest.raises(LedgerError, match="anchor"):
        ledger.append(Record("scan", "x"), CONTEXT)


def test_events_beyond_the_anchor_are_named(six: Six) -> None:
    path, events = six
    tamper(path, ("UPDATE ledger_meta SET events = 4, tip_hash = ?", (events[3].hash,)))
    report = verify(path)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (5, events[4].event_id)
    assert "anchor" in report.problem.reason


def test_replaced_tip_hash_is_named(six: Six) -> None:
    path, events = six
    tamper(path, ("UPDATE ledger_meta SET tip_hash = ?", ("1" * 64,)))
    report = verify(path)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.event_id) == (6, events[5].event_id)


def test_empty_ledger_is_intact(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3", create=True) as ledger:
        report = ledger.verify()
    assert report.intact
    assert (report.events, report.tip_hash) == (0, None)


def test_reading_a_tampered_event_raises_ledger_error(six: Six) -> None:
    path, _ = six
    tamper(path, "UPDATE ledger_events SET body = 'not json' WHERE seq = 2")
    with Ledger.open(path) as ledger, pytest.raises(LedgerError, match="ledger verify"):
        list(ledger.events())
