"""The ledger's schema on PostgreSQL: a throwaway cluster (the Debian `postgresql` package's
initdb/pg_ctl, in a temporary directory, unix socket only, no TCP) holds a ledger that is
appended to (also concurrently), verified, explained (run by run), exported, and tampered with.

Skipped, with the reason, only when the PostgreSQL server binaries are not installed.
"""

from __future__ import annotations

import io
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_runs import FINDING, PROJECT, ThreeRuns
from ledger_story import StoryLedger
from ledger_support import CONTEXT, simple_records

from patchpilot.audit.explain import collect_story
from patchpilot.audit.ledger import ChainReport, Ledger, LedgerEvent, verify_jsonl
from patchpilot.errors import LedgerError
from patchpilot.events import Record

pytestmark = pytest.mark.slow

psycopg = pytest.importorskip("psycopg", reason="psycopg (dev dependency) is not installed")

FULL_CHAIN = ["scan", "plan", "branch", "verify", "decide", "merge", "revert", "reopen"]


def _server_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    """A PostgreSQL cluster of its own in `base`, reachable on a unix socket there."""

    def __init__(self, bindir: Path, base: Path, run_as: list[str]) -> None:
        self.bindir = bindir
        self.base = base
        self.run_as = run_as
        self.data = base / "data"
        self.port = 50000 + os.getpid() % 10000
        self.names = itertools.count()

    def pg(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self.run_as, str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}\n{done.stderr}")

    def start(self) -> None:
        self.pg("initdb", "-D", str(self.data), "-U", "ledger", "--auth=trust", "-E", "UTF8")
        options = f"-k {self.base} -c listen_addresses='' -p {self.port}"
        self.pg(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.base / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self.pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:  # type: ignore[name-defined]
        return psycopg.connect(
            host=str(self.base), port=self.port, user="ledger", dbname=dbname, autocommit=True
        )

    def new_database(self) -> str:
        name = f"ledger_{next(self.names)}"
        with self.connect() as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return name

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://ledger@/{dbname}?host={self.base}&port={self.port}"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    bindir = _server_bin()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not installed: apt-get install postgresql"
        )
    base = Path(tempfile.mkdtemp(prefix="pp-pg-"))  # short: unix socket paths are limited
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            user = pwd.getpwnam("nobody")
        os.chown(base, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", user.pw_name, "--"]
    c = Cluster(bindir, base, run_as)
    try:
        c.start()
        yield c
    finally:
        try:
            c.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg(cluster: Cluster) -> tuple[Cluster, str]:
    """A fresh, empty database in the cluster, and its SQLAlchemy URL."""
    name = cluster.new_database()
    return cluster, name


def filled(cluster: Cluster, name: str, n: int) -> list[LedgerEvent]:
    with Ledger.open(cluster.url(name), create=True) as ledger:
        return [ledger.append(r, CONTEXT) for r in simple_records(n)]


def tamper(cluster: Cluster, name: str, *statements: str) -> None:
    with cluster.connect(name) as conn:
        conn.execute("SET session_replication_role = replica")  # foreign keys off, as a DBA could
        for sql in statements:
            conn.execute(sql)


def verify(cluster: Cluster, name: str) -> ChainReport:
    with Ledger.open(cluster.url(name)) as ledger:
        return ledger.verify()


def test_story_on_postgresql(pg: tuple[Cluster, str], story: StoryLedger) -> None:
    cluster, name = pg
    with Ledger.open(cluster.url(name), create=True) as target:
        with Ledger.open(story.path) as source:
            for ev in source.events():
                target.append(
                    Record(ev.kind, ev.summary, ev.subjects, ev.inputs, ev.outcome, ev.actor),
                    CONTEXT,
                )
        report = target.verify()
        assert report.intact, report.problem
        assert "ledger@/" in target.where
        kinds = [e.kind for e in collect_story(target, story.pyyaml.id).events]
        assert kinds == FULL_CHAIN
        assert [e.kind for e in target.find(story.merge_commit[:9])] == ["merge", "revert"]
        buf = io.StringIO()
        target.export(buf)
    offline = verify_jsonl(buf.getvalue().splitlines(), expected_tip=report.tip_hash)
    assert offline.intact, offline.problem


def test_runs_on_postgresql(pg: tuple[Cluster, str], three: ThreeRuns) -> None:
    cluster, name = pg
    with Ledger.open(cluster.url(name), create=True) as target:
        with Ledger.open(three.path) as source:
            for ev in source.events():
                target.append(
                    Record(ev.kind, ev.summary, ev.subjects, ev.inputs, ev.outcome, ev.actor),
                    CONTEXT,
                )
        marks = target.run_marks()
        story = collect_story(target, FINDING)
        action = collect_story(target, three.actions[1])
    assert [(m.kind, m.project) for m in marks] == [("scan", PROJECT), ("gate", PROJECT)] * 3
    assert [n.run.number for n in story.told] == [3]
    assert [n.run.number for n in story.others] == [2, 1]
    assert [e.kind for e in action.events][-2:] == ["revert", "reopen"]


def test_tampering_on_postgresql_is_named(cluster: Cluster) -> None:
    cases = {
        "edited": ("UPDATE ledger_events SET summary = 'x' WHERE seq = 3",),
        "reordered": (
            "UPDATE ledger_events SET seq = -3 WHERE seq = 3",
            "UPDATE ledger_events SET seq = 3 WHERE seq = 4",
            "UPDATE ledger_events SET seq = 4 WHERE seq = -3",
        ),
        "deleted": ("DELETE FROM ledger_events WHERE seq = 3",),
        "deleted last": ("DELETE FROM ledger_events WHERE seq = 6",),
    }
    for case, statements in cases.items():
        name = cluster.new_database()
        events = filled(cluster, name, 6)
        assert verify(cluster, name).intact
        tamper(cluster, name, *statements)
        report = verify(cluster, name)
        assert report.problem is not None, case
        want = {
            "edited": (3, events[2].event_id),
            "reordered": (3, events[3].event_id),
            "deleted": (3, events[2].event_id),
            "deleted last": (6, events[5].event_id),
        }[case]
        assert (report.problem.seq, report.problem.event_id) == want, case


def test_concurrent_appends_on_postgresql(pg: tuple[Cluster, str]) -> None:
    cluster, name = pg
    filled(cluster, name, 1)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with Ledger.open(cluster.url(name)) as ledger:
                for i in range(10):
                    ledger.append(Record("plan", f"{n}/{i}", (f"remediation:{n}",)), CONTEXT)
        except BaseException as e:  # surfaced below, on the test's thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify(cluster, name)
    assert report.intact, report.problem
    assert report.events == 41


def test_empty_postgresql_database_holds_no_ledger(pg: tuple[Cluster, str]) -> None:
    cluster, name = pg
    with pytest.raises(LedgerError, match="holds no ledger"):
        Ledger.open(cluster.url(name))
    with pytest.raises(LedgerError):
        Ledger.open(cluster.url("no_such_database"))
