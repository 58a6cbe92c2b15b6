"""Properties of the chain, over random records: every sequence of appends verifies (in the
database and as JSONL), and changing any single byte of any stored body is noticed and named."""

from __future__ import annotations

import io
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_support import CONTEXT

from patchpilot.audit.ledger import Ledger, verify_jsonl
from patchpilot.events import Record

KINDS = ("scan", "suppress", "plan", "branch", "verify", "decide", "merge", "revert", "reopen")
text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
subjects = st.lists(
    st.one_of(
        st.from_regex(r"(PYSEC|GHSA|CVE)-[0-9a-z]{4}-[0-9a-z]{2,6}", fullmatch=True),
        st.builds(
            lambda p, s: f"{p}:{s}",
            st.sampled_from(["branch", "action", "remediation", "commit"]),
            text,
        ),
    ),
    max_size=5,
)
records = st.builds(
    Record,
    kind=st.sampled_from(KINDS),
    summary=text,
    subjects=subjects.map(tuple),
    inputs=st.dictionaries(text, json_values, max_size=4),
    outcome=st.dictionaries(text, json_values, max_size=4),
    actor=st.sampled_from(["patchpilot", "alice", "Zoë Ødegård"]),
)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ledger_with(path: Path, recs: list[Record]) -> list[Any]:
    with Ledger.open(path, create=True) as ledger:
        return [ledger.append(r, CONTEXT) for r in recs]


@SETTINGS
@given(st.lists(records, min_size=0, max_size=8))
def test_any_sequence_of_records_verifies(recs: list[Record]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "l.sqlite3"
        appended = _ledger_with(path, recs)
        with Ledger.open(path) as ledger:
            report = ledger.verify()
            assert report.intact, report.problem
            assert report.events == len(recs)
            assert list(ledger.events()) == appended
            buf = io.StringIO()
            ledger.export(buf)
        offline = verify_jsonl(buf.getvalue().splitlines())
        assert offline.intact, offline.problem
        assert offline.tip_hash == report.tip_hash


@SETTINGS
@given(st.lists(records, min_size=1, max_size=5), st.data())
def test_any_single_byte_change_to_any_body_is_named(
    recs: list[Record], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "l.sqlite3"
        appended = _ledger_with(path, recs)
        target = data.draw(st.sampled_from(appended))
        db = sqlite3.connect(path)
        (body,) = db.execute(
            "SELECT body FROM ledger_events WHERE seq = ?", (target.seq,)
        ).fetchone()
        raw = bytearray(body.encode("utf-8"))
        at = data.draw(st.integers(0, len(raw) - 1))
        new = data.draw(st.integers(0, 255).filter(lambda b: b != raw[at]))
        raw[at] = new
        db.execute(
            "UPDATE ledger_events SET body = CAST(? AS TEXT) WHERE seq = ?",
            (bytes(raw), target.seq),
        )
        db.commit()
        db.close()
        with Ledger.open(path) as ledger:
            report = ledger.verify()
        assert report.problem is not None
        assert (report.problem.seq, report.problem.event_id) == (target.seq, target.event_id)
