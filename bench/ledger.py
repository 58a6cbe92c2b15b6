"""Benchmark of the decision ledger on SQLite and PostgreSQL, printed rather than asserted.

The records are the engine's own (`patchpilot.records` builders, `codefix_records`, the real
default policy's `decide`) about a real scan of examples/webapp against examples/advisories
and a real codemod run on it, so bodies have the size `run` gives them (a scan event carries
every finding, about 5 KB). One simulated `run` of that project yields about 50 events: scan,
a VEX suppression, a plan per vulnerable package, per fix branch its branch, verify, decide
and merge or review events, the codemods' records and their branches, and a CI gate. Runs
repeat with new branch names, commits and action IDs until the ledger holds N events; finding
IDs and remediation IDs stay the same, as they do for one project scanned day after day. The
plan records' remediations are built from each package's findings (the lowest fixed version
above the locked one, in place) rather than resolved against PyPI, so the benchmark runs
offline.

For each N (default 1,000 and 10,000), in a fresh ledger, each step runs in its own child
process so its peak RSS is its own:
- append: every event through `LedgerReporter`, one transaction per append, as `run` does
  (building the records is not timed);
- verify: `Ledger.verify()`, the whole chain;
- export: `Ledger.export` to a JSONL file;
- verify JSONL: `verify_jsonl` of that file, with the tip hash `verify` printed;
- explain: `explain` of one finding (PYSEC-2023-192, met in every run) and of one branch of
  the second run; a remediation's ID (`PyPI:urllib3@1.26.4`) is the same in every run and
  links them, so both stories grow with the number of runs in the ledger;
then the database size (SQLite file; PostgreSQL `pg_database_size`). PostgreSQL runs on a
throwaway cluster (Debian's `initdb`/`pg_ctl`, unix socket only) when the server binaries and
psycopg are installed; otherwise it is skipped with the reason.

Usage: python bench/ledger.py [--sizes 1000 10000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import pwd
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
EXAMPLE = ROOT / "examples" / "webapp"
ADVISORIES = ROOT / "examples" / "advisories"
PROJECT = "/srv/repos/notify"
FINDING = "PYSEC-2023-192"  # urllib3: fixed by the one patch-level fix of every run
NOW = datetime(2026, 11, 27, tzinfo=UTC)


def sha(text: str) -> str:
    """A commit-like id (40 hex digits) for a named commit of the simulated runs."""
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - an identifier, not security


# --- the records ------------------------------------------------------------------------------


def build_records(n: int, scratch: Path) -> tuple[list[Any], Any]:
    """`n` engine records of repeated runs on the example, and the run's ledger context."""
    from packaging.version import Version

    from patchpilot import __version__
    from patchpilot.advisories.store import AdvisoryStore
    from patchpilot.audit.ledger import LedgerContext
    from patchpilot.engine import scan
    from patchpilot.fixers.codemods.engine import run_codemods
    from patchpilot.fixers.interface import Strategy
    from patchpilot.planning.breaking.verdict import Verdict, VerdictKind
    from patchpilot.planning.levels import UpgradeLevel, upgrade_level
    from patchpilot.planning.plan import Remediation, remediation_id
    from patchpilot.planning.target import ReleaseAge, TargetChoice
    from patchpilot.policy.load import default_policy

    with AdvisoryStore.open(scratch / "store.sqlite3", create=True) as store:
        store.import_paths([ADVISORIES])
        result = scan(EXAMPLE, store)
        store_digest = store.digest()
    code = run_codemods(EXAMPLE)
    policy = default_policy()
    by_component: dict[Any, list[Any]] = {}
    for f in result.findings:
        by_component.setdefault(f.component, []).append(f)
    remediations = []
    for comp, findings in by_component.items():
        current = Version(comp.version)
        target = str(
            max(
                min(v for v in (Version(x) for x in f.fixed_versions) if v > current)
                for f in findings
            )
        )
        ids = tuple(f.id for f in findings)
        level = upgrade_level(comp.ecosystem, comp.version, target)
        choice = TargetChoice(
            component=comp,
            finding_ids=ids,
            target=target,
            level=level,
            ceiling=UpgradeLevel.MAJOR,
            newest_in_major=None,
            fixed=ids,
            introduced=(),
            release_age=ReleaseAge.UNKNOWN,
            released=None,
            reasons=(),
            none_reason=None,
        )
        verdict = Verdict(
            comp.name, comp.version, target, VerdictKind.COMPATIBLE, "no API the project uses"
        )
        remediations.append(
            Remediation(
                id=remediation_id(comp),
                kind="upgrade" if comp.direct else "override",
                choice=choice,
                findings=tuple(findings),
                lockfile="uv.lock",
                strategy=Strategy.IN_PLACE,
                resolved=target,
                co_upgrades=(),
                deltas=(),
                fixed=ids,
                introduced=(),
                left_open=(),
                reason="lowest release that fixes every finding of the package",
                breaking=(verdict,),
            )
        )
    suppressed = next(f for f in result.findings if f.component.name == "requests")
    context = LedgerContext(__version__, store_digest, policy.digest)
    records: list[Any] = []
    for cycle in itertools.count(1):
        if len(records) >= n:
            break
        records.extend(one_run(cycle, result, store_digest, remediations, suppressed, code, policy))
    return records[:n], context


def one_run(
    cycle: int,
    result: Any,
    store_digest: str,
    remediations: Sequence[Any],
    suppressed: Any,
    code: Any,
    policy: Any,
) -> list[Any]:
    """The records one `run` (plus one CI `gate`) of the example appends, in `run`'s order."""
    from patchpilot.fixers.codemods.engine import codefix_records
    from patchpilot.policy.decide import decide
    from patchpilot.policy.facts import Facts, facts_for_remediation
    from patchpilot.records import (
        branch_record,
        decide_record,
        deliver_record,
        gate_record,
        merge_record,
        plan_record,
        scan_record,
        suppress_record,
        verify_record,
    )

    suffix = "" if cycle == 1 else f"-{cycle}"
    base = sha(f"{cycle}:base")
    out = [
        scan_record(result, PROJECT, store_digest),
        suppress_record(
            suppressed, "vex", "vex/notify.openvex.json", "vulnerable_code_not_in_execute_path"
        ),
    ]
    out.extend(plan_record(r) for r in remediations)

    def deliver(branch: str, rem_ids: Sequence[str], ids: Sequence[str], facts: Any) -> None:
        decision = decide(facts, policy)
        out.append(decide_record(branch, rem_ids, ids, facts, decision, policy.digest))
        if decision.level >= 3:
            action = "act-" + sha(f"{cycle}:{branch}:action")[:10]
            out.append(
                merge_record(
                    action,
                    branch,
                    rem_ids,
                    ids,
                    target="main",
                    merge_commit=sha(f"{cycle}:{branch}:merge"),
                    previous_tip=base,
                    branch_commit=sha(f"{cycle}:{branch}"),
                )
            )
        else:
            how = f"left for review as branch {branch}"
            out.append(deliver_record(branch, rem_ids, ids, decision.level, how))

    for r in remediations:
        branch = f"patchpilot/fix-{r.component.name}-{r.choice.target}{suffix}"
        ids = [f.id for f in r.findings]
        reached = FINDING in ids
        out.append(branch_record(branch, sha(f"{cycle}:{branch}"), [r.id], ids, ["uv.lock"], base))
        tests = {"passed": 9, "failed": 0, "error": 0}
        out.append(
            verify_record(
                branch,
                [r.id],
                ids,
                verdict="verified" if reached else "not-reached",
                summary=(
                    "9 tests pass before and after; they execute the fixed code"
                    if reached
                    else "9 tests pass before and after, but none executes the fixed code"
                ),
                tests_before=tests,
                tests_after=tests,
                reach_share=1.0 if reached else 0.0,
                evidence={"targets": [f"{r.component.name}.fixed"], "executed": reached},
            )
        )
        facts = replace(
            facts_for_remediation(r, None, {}, now=NOW, has_test_command=True),
            kind=r.kind,
            verify_verdict="verified" if reached else "not-reached",
            tests_passed=True,
            reach_share=1.0 if reached else 0.0,
            breaking="compatible",
        )
        deliver(branch, [r.id], ids, facts)

    out.extend(codefix_records(code))
    for codemod in code.codemods:
        if not code.counts[codemod.id].changes:
            continue
        branch = f"patchpilot/codefix-{codemod.id}{suffix}"
        mine = f"codemod:{codemod.id}"
        out.extend(rec for rec in codefix_records(code, branch=branch) if rec.subjects[0] == mine)
        tests = {"passed": 9, "failed": 0, "error": 0}
        out.append(
            verify_record(
                branch,
                [mine],
                [],
                verdict="verified",
                summary="9 tests pass before and after; a passing test executes every changed line",
                tests_before=tests,
                tests_after=tests,
                reach_share=1.0,
                evidence={"lines": [c.line for c in code.changes if c.codemod == codemod.id]},
            )
        )
        facts = Facts(
            remediation=mine,
            kind="codemod",
            findings=(),
            packages=(),
            ecosystem="",
            severity="unknown",
            cvss=None,
            epss=None,
            kev=False,
            upgrade_level=None,
            strategy=None,
            reachability="unknown",
            verify_verdict="verified",
            tests_passed=True,
            reach_share=1.0,
            breaking="unknown",
            release_age_days=None,
            codemod_tier=str(codemod.tier),
            has_test_command=True,
        )
        deliver(branch, [mine], [], facts)
    active = [f for f in result.findings if f is not suppressed]
    out.append(gate_record(PROJECT, active, 1))
    return out


# --- the child steps ------------------------------------------------------------------------


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_append(target: str, n: int) -> dict[str, Any]:
    from patchpilot.audit.ledger import Ledger, LedgerReporter, canonical_json

    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as scratch:
        records, context = build_records(n, Path(scratch))
    body = sum(
        len(canonical_json({"inputs": dict(r.inputs), "outcome": dict(r.outcome)})) for r in records
    )
    with Ledger.open(target, create=True) as ledger:
        reporter = LedgerReporter(ledger, context)
        each: list[float] = []
        start = time.perf_counter()
        for rec in records:
            t = time.perf_counter()
            reporter.record(rec)
            each.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
    kinds: dict[str, int] = {}
    for r in records:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
    window = min(1000, len(each))
    ordered = sorted(each)
    return {
        "seconds": elapsed,
        "events": len(records),
        "first": window / sum(each[:window]),
        "last": window / sum(each[-window:]),
        "median_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1000,
        "mean_body": body / len(records),
        "kinds": kinds,
        "rss": peak_mib(),
    }


def child_verify(target: str) -> dict[str, Any]:
    from patchpilot.audit.ledger import Ledger

    with Ledger.open(target) as ledger:
        start = time.perf_counter()
        report = ledger.verify()
        elapsed = time.perf_counter() - start
    return {
        "seconds": elapsed,
        "events": report.events,
        "intact": report.intact,
        "tip": report.tip_hash,
        "rss": peak_mib(),
    }


def child_export(target: str, out: str) -> dict[str, Any]:
    from patchpilot.audit.ledger import Ledger

    with Ledger.open(target) as ledger, Path(out).open("w", encoding="utf-8") as stream:
        start = time.perf_counter()
        count = ledger.export(stream)
        elapsed = time.perf_counter() - start
    return {
        "seconds": elapsed,
        "events": count,
        "bytes": Path(out).stat().st_size,
        "rss": peak_mib(),
    }


def child_verify_jsonl(path: str, tip: str) -> dict[str, Any]:
    from patchpilot.audit.ledger import verify_jsonl

    start = time.perf_counter()
    with Path(path).open(encoding="utf-8") as stream:
        report = verify_jsonl(stream, expected_tip=tip)
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "events": report.events, "intact": report.intact, "rss": peak_mib()}


def child_explain(target: str, ident: str) -> dict[str, Any]:
    from patchpilot.audit.explain import collect_story, explain
    from patchpilot.audit.ledger import Ledger

    with Ledger.open(target) as ledger:
        start = time.perf_counter()
        text = explain(ledger, ident)
        elapsed = time.perf_counter() - start
        story = collect_story(ledger, ident)
    return {
        "seconds": elapsed,
        "story_events": len(story.events),
        "chars": len(text),
        "rss": peak_mib(),
    }


CHILDREN = {
    "append": lambda a: child_append(a[0], int(a[1])),
    "verify": lambda a: child_verify(a[0]),
    "export": lambda a: child_export(a[0], a[1]),
    "verify-jsonl": lambda a: child_verify_jsonl(a[0], a[1]),
    "explain": lambda a: child_explain(a[0], a[1]),
}


def child(step: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(HERE), "--child", step, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{step} failed ({done.returncode}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- one backend ------------------------------------------------------------------------------


def bench_backend(
    label: str, sizes: Sequence[int], target_for: Any, size_of: Any, scratch: Path
) -> None:
    for n in sizes:
        target = target_for(n)
        tag = f"{label} {n:>6,}"
        app = child("append", target, str(n))
        rate = app["events"] / app["seconds"]
        print(f"{tag} append   {app['events']:,} events in {app['seconds']:.2f} s: {rate:,.0f} "
              f"appends/s ({app['seconds'] / app['events'] * 1000:.2f} ms each), mean body "
              f"{app['mean_body']:,.0f} B, peak RSS {app['rss']:.1f} MiB")  # fmt: skip
        print(f"{tag} append   first 1,000 {app['first']:,.0f}/s, last 1,000 {app['last']:,.0f}/s; "
              f"median {app['median_ms']:.2f} ms, p99 {app['p99_ms']:.2f} ms")  # fmt: skip
        ver = child("verify", target)
        state = "intact" if ver["intact"] else "BROKEN"
        print(f"{tag} verify   {ver['seconds']:.2f} s ({ver['events']:,} events, {state}), "
              f"peak RSS {ver['rss']:.1f} MiB")  # fmt: skip
        out = scratch / f"{label}-{n}.jsonl"
        exp = child("export", target, str(out))
        print(f"{tag} export   {exp['seconds']:.2f} s ({exp['events']:,} lines, "
              f"{exp['bytes'] / 2**20:.1f} MiB JSONL), peak RSS {exp['rss']:.1f} MiB")  # fmt: skip
        off = child("verify-jsonl", str(out), ver["tip"])
        state = "intact" if off["intact"] else "BROKEN"
        print(f"{tag} jsonl    verify_jsonl {off['seconds']:.2f} s ({off['events']:,} events, "
              f"{state}), peak RSS {off['rss']:.1f} MiB")  # fmt: skip
        fin = child("explain", target, FINDING)
        print(f"{tag} explain  {FINDING}: {fin['seconds']:.2f} s, story of "
              f"{fin['story_events']:,} events ({fin['chars']:,} chars), "
              f"peak RSS {fin['rss']:.1f} MiB")  # fmt: skip
        branch = "patchpilot/fix-urllib3-1.26.19-2"
        one = child("explain", target, branch)
        print(f"{tag} explain  {branch}: {one['seconds']:.2f} s, story of "
              f"{one['story_events']:,} events ({one['chars']:,} chars)")  # fmt: skip
        print(f"{tag} size     {size_of(n) / 2**20:.1f} MiB")


# --- PostgreSQL -------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    """A throwaway PostgreSQL cluster in `base`, reachable on a unix socket there only."""

    def __init__(self, bindir: Path, base: Path, run_as: list[str]) -> None:
        self.bindir = bindir
        self.base = base
        self.run_as = run_as
        self.data = base / "data"
        self.port = 50000 + os.getpid() % 10000

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
        self.pg("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.base / "log"),
                "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self.pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def sql(self, statement: str, dbname: str = "postgres") -> Any:
        import psycopg

        with psycopg.connect(
            host=str(self.base), port=self.port, user="ledger", dbname=dbname, autocommit=True
        ) as conn:
            cur = conn.execute(statement)
            row = cur.fetchone() if cur.description is not None else None
            return None if row is None else row[0]

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://ledger@/{dbname}?host={self.base}&port={self.port}"


@contextlib.contextmanager
def cluster() -> Iterator[Cluster | str]:
    """A running cluster, or the reason there is none."""
    try:
        import psycopg  # noqa: F401 - only to know whether the driver is installed
    except ImportError:
        yield "psycopg (dev dependency) is not installed"
        return
    bindir = postgres_bin()
    if bindir is None:
        yield "no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql"
        return
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
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            if (c.data / "postmaster.pid").exists():
                c.stop()
        shutil.rmtree(base, ignore_errors=True)


def main(argv: Sequence[str]) -> None:
    if argv[:1] == ["--child"]:
        print(json.dumps(CHILDREN[argv[1]](list(argv[2:]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        scratch = Path(tmp)

        def sqlite_file(n: int) -> str:
            return str(scratch / f"ledger-{n}.sqlite3")

        bench_backend(
            "sqlite",
            args.sizes,
            sqlite_file,
            lambda n: Path(sqlite_file(n)).stat().st_size,
            scratch,
        )
        if args.no_postgres:
            print("postgres skipped: --no-postgres")
            return
        with cluster() as pg:
            if isinstance(pg, str):
                print(f"postgres skipped: {pg}")
                return
            version = pg.sql("SHOW server_version")

            def pg_db(n: int) -> str:
                pg.sql(f"CREATE DATABASE ledger_{n}")
                return pg.url(f"ledger_{n}")

            def pg_size(n: int) -> int:
                return int(pg.sql(f"SELECT pg_database_size('ledger_{n}')"))

            print(f"postgres {version} (throwaway cluster, unix socket, default settings)")
            bench_backend("postgres", args.sizes, pg_db, pg_size, scratch)


if __name__ == "__main__":
    main(sys.argv[1:])
