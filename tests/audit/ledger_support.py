"""Helpers for the ledger tests: a context, a run of engine-like records, a filled ledger file,
and plain-sqlite3 tampering."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from patchpilot.audit.ledger import ChainReport, Ledger, LedgerContext, LedgerEvent
from patchpilot.events import Record

CONTEXT = LedgerContext("0.1.0", "sha256:" + "ab" * 32, "sha256:" + "cd" * 32)


def simple_records(n: int) -> list[Record]:
    """`n` records of the kinds the engine emits, each about its own remediation."""
    kinds = ("scan", "plan", "branch", "verify", "decide", "merge")
    return [
        Record(
            kind=kinds[i % len(kinds)],
            summary=f"step {i} of the run",
            subjects=(f"PYSEC-2021-{100 + i}", f"remediation:rem-{i}"),
            inputs={"i": i, "digest": f"sha256:{i:064x}"},
            outcome={"ok": True, "share": i / 10},
        )
        for i in range(n)
    ]


def fill(path: Path, n: int) -> list[LedgerEvent]:
    with Ledger.open(path, create=True) as ledger:
        return [ledger.append(r, CONTEXT) for r in simple_records(n)]


def tamper(path: Path, *statements: str | tuple[str, Sequence[object]]) -> None:
    """Run SQL (with parameters, if given as a pair) against the ledger file with plain
    sqlite3, as someone with file access could."""
    db = sqlite3.connect(path)
    try:
        for statement in statements:
            sql, params = (statement, ()) if isinstance(statement, str) else statement
            db.execute(sql, tuple(params))
        db.commit()
    finally:
        db.close()


def verify(path: Path) -> ChainReport:
    with Ledger.open(path) as ledger:
        return ledger.verify()
