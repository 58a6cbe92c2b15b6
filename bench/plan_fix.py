"""Benchmark of Level 2: plan and fix a real uv.lock of 114 packages with many findings.

Reports wall time, the time spent in resolver subprocesses (uv) and in package-index requests,
and patchpilot's own overhead (the rest). The index cache is warmed by a first plan, so the
measured runs are what a user sees on the second run within the cache's hour.

Usage: python bench/plan_fix.py [--osv DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from patchpilot import engine
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.planning.index import default_index
from patchpilot.planning.levels import parse_upgrade_config
from patchpilot.planning.plan import PlanOptions

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "inputs" / "plan-uv"
DEFAULT_OSV = HERE.parent.parent / "shared" / "osv"

spent = {"subprocess": 0.0, "index": 0.0}


def timed(kind: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[kind] += time.perf_counter() - start

    return wrapper


def measure(label: str, work: Callable[[], Any]) -> Any:
    spent["subprocess"] = spent["index"] = 0.0
    start = time.perf_counter()
    result = work()
    wall = time.perf_counter() - start
    own = wall - spent["subprocess"] - spent["index"]
    print(f"{label}: wall {wall:.2f} s = resolver/git subprocesses {spent['subprocess']:.2f} s "
          f"+ index {spent['index']:.2f} s + patchpilot {own:.2f} s (target < 2 s)")  # fmt: skip
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--osv", type=Path, default=DEFAULT_OSV)
    args = ap.parse_args()
    subprocess.run = timed("subprocess", subprocess.run)  # type: ignore[assignment]
    urllib.request.urlopen = timed("index", urllib.request.urlopen)  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        db = base / "store.sqlite3"
        with AdvisoryStore.open(db, create=True) as store:
            store.import_paths(sorted(args.osv.glob("*.zip")))
            repo = base / "project"
            shutil.copytree(PROJECT, repo)
            for cmd in (
                ["init", "-q", "-b", "main"],
                ["add", "-A"],
                ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "base"],
            ):
                subprocess.run(["git", "-C", str(repo), *cmd], check=True)  # fmt: skip
            index = default_index(cache_dir=base / "index-cache")
            options = PlanOptions(index, parse_upgrade_config([]))
            plan = measure("plan (cold index cache)", lambda: engine.plan(
                repo, store, options))  # fmt: skip
            plan = measure("plan (warm index cache)", lambda: engine.plan(
                repo, store, options))  # fmt: skip
            done = sum(1 for r in plan.remediations if r.applicable)
            print(f"      {len(plan.scan.inventory.components)} components, "
                  f"{len(plan.scan.findings)} findings, {len(plan.remediations)} remediations, "
                  f"{done} applicable")  # fmt: skip
            fixed = measure("fix  (warm index cache)", lambda: engine.fix(
                repo, store, options))  # fmt: skip
            for b in fixed.branches:
                print(f"      branch {b.branch}: {len(b.fixed)} findings fixed, "
                      f"{len(b.deltas)} package deltas")  # fmt: skip


if __name__ == "__main__":
    main()
