"""Benchmarks of Level 1, printed rather than asserted.

Each benchmark runs in a fresh child process so peak memory (ru_maxrss) is its own:
- import: the three zips in ../shared/osv (PyPI, Go, crates.io; ~8,000 records) into a new store;
- scan in-process: real lockfiles of 2,187 (npm) and 1,315 (uv) packages against that store
  plus the GHSA sample (best of 5, warm);
- scan CLI: the whole `patchpilot scan --format json` process, start-up included (best of 5).

Usage: python bench/run.py [--osv DIR] [--lockfile FILE ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OSV = ROOT.parent / "shared" / "osv"
DEFAULT_LOCKS = (
    HERE / "inputs" / "big-npm" / "package-lock.json",
    HERE / "inputs" / "big-uv" / "uv.lock",
)
# Imported after the timed import so the npm lockfile has advisories to match too.
EXTRA_ZIPS = ("ghsa-sample.zip",)
ZIPS = ("pypa-advisory-database.zip", "go-vulndb.zip", "rustsec-advisory-db.zip")

CHILD_IMPORT = """
import resource, sys, time
from pathlib import Path
from patchpilot.advisories.store import AdvisoryStore
db, zips = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
t = time.perf_counter()
with AdvisoryStore.open(db, create=True) as store:
    reports = store.import_paths(zips)
elapsed = time.perf_counter() - t
records = sum(r.imported + r.replaced for r in reports)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{elapsed:.3f} {records} {rss:.1f}")
"""

CHILD_SCAN = """
import resource, sys, time
from pathlib import Path
from patchpilot import engine
from patchpilot.advisories.store import AdvisoryStore
db, lock = Path(sys.argv[1]), Path(sys.argv[2])
best = None
from patchpilot.sources import interface
with AdvisoryStore.open(db, create=False) as store:
    for _ in range(5):
        interface._parse_toml.cache_clear()  # every run parses the lockfile afresh
        t = time.perf_counter()
        result = engine.scan(lock, store)
        elapsed = time.perf_counter() - t
        best = elapsed if best is None else min(best, elapsed)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{best:.3f} {len(result.inventory.components)} {len(result.findings)} {rss:.1f}")
"""


def child(code: str, *args: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    ).stdout
    return out.split()


def cli_scan(db: Path, lock: Path) -> tuple[float, float]:
    exe = Path(sys.executable).with_name("patchpilot")
    best = float("inf")
    peak = 0.0
    for _ in range(5):
        t = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M", str(exe), "--db", str(db), "scan", str(lock),
             "--format", "json"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        best = min(best, time.perf_counter() - t)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"scan failed ({proc.returncode}): {proc.stderr}")
        json.loads(proc.stdout)
        peak = max(peak, int(proc.stderr.strip().splitlines()[-1]) / 1024)
    return best, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--osv", type=Path, default=DEFAULT_OSV)
    ap.add_argument("--lockfile", type=Path, action="append", dest="lockfiles")
    args = ap.parse_args()
    zips = [args.osv / z for z in ZIPS]
    missing = [z for z in zips if not z.exists()]
    if missing:
        raise SystemExit(f"missing advisory zips: {', '.join(map(str, missing))}")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        secs, records, rss = child(CHILD_IMPORT, str(db), *map(str, zips))
        print(f"import  {records} records from {len(zips)} zips: {float(secs):.2f} s "
              f"(target < 10 s), peak RSS {rss} MiB")  # fmt: skip
        child(CHILD_IMPORT, str(db), *(str(args.osv / z) for z in EXTRA_ZIPS))
        for lock in args.lockfiles or DEFAULT_LOCKS:
            name = f"{lock.parent.name}/{lock.name}"
            secs, comps, findings, rss = child(CHILD_SCAN, str(db), str(lock))
            ms = float(secs) * 1000
            print(f"scan    {name}: {comps} components, {findings} findings, in-process "
                  f"{ms:.0f} ms best of 5 (target < 500 ms), peak RSS {rss} MiB")  # fmt: skip
            wall, peak = cli_scan(db, lock)
            print(f"scan    {name}: whole CLI process {wall * 1000:.0f} ms best of 5 "
                  f"(target < 1500 ms), peak RSS {peak:.1f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
