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
from patchpilot.fixers import _workspace
from patchpilot.planning import plan as planner
from patchpilot.planning.index import default_index
from patchpilot.planning.levels import parse_upgrade_config
from patchpilot.planning.plan import PlanOptions

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "inputs" / "plan-uv"
DEFAULT_OSV = HERE.parent.parent / "shared" / "osv"

spent = {"subprocess": 0.0, "index": 0.0, "breaking": 0.0}


inside: list[str] = []


def timed(kind: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add `fn`'s time to `kind`, unless an outer timed call already counts it."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if inside:
            return fn(*args, **kwargs)
        inside.append(kind)
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[kind] += time.perf_counter() - start
            inside.pop()

    return wrapper


def measure(label: str, work: Callable[[], Any]) -> Any:
    for key in spent:
        spent[key] = 0.0
    start = time.perf_counter()
    result = work()
    wall = time.perf_counter() - start
    own = wall - spent["subprocess"] - spent["index"] - spent["breaking"]
    print(f"{label}: wall {wall:.2f} s = resolver/git subprocesses {spent['subprocess']:.2f} s "
          f"+ index {spent['index']:.2f} s + breaking-change check {spent['breaking']:.2f} s "
          f"+ patchpilot {own:.2f} s (target < 2 s)")  # fmt: skip
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--osv", type=Path, default=DEFAULT_OSV)
    args = ap.parse_args()
    subprocess.run = timed("subprocess", subprocess.run)  # type: ignore[assignment]
    # The fixers start their resolvers through this (imported lazily, after this patch).
    _workspace.run_tool = timed("subprocess", _workspace.run_tool)  # type: ignore[assignment]
    # Downloads and API diffs of the breaking-change check: reported on their own line.
    planner.with_breaking = timed("breaking", planner.with_breaking)  # type: ignore[assignment]
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
            options = PlanOptions(index, parse_upgrade_config([]), breaking_cache=base / "api")
            quick = PlanOptions(index, parse_upgrade_config([]), check_breaking=False)
            measure("plan --no-breaking-check (cold index cache)", lambda: engine.plan(
                repo, store, quick))  # fmt: skip
            measure("plan --no-breaking-check (warm)", lambda: engine.plan(
                repo, store, quick))  # fmt: skip
            plan = measure("plan (breaking check, cold cache)", lambda: engine.plan(
                repo, store, options))  # fmt: skip
            plan = measure("plan (breaking check, warm cache)", lambda: engine.plan(
                repo, store, options))  # fmt: skip
            done = sum(1 for r in plan.remediations if r.applicable)
            print(f"      {len(plan.scan.inventory.components)} components, "
                  f"{len(plan.scan.findings)} findings, {len(plan.remediations)} remediations, "
                  f"{done} applicable")  # fmt: skip
            fixed = measure("fix  (warm caches)", lambda: engine.fix(
                repo, store, options))  # fmt: skip
            for b in fixed.branches:
                print(f"      branch {b.branch}: {len(b.fixed)} findings fixed, "
                      f"{len(b.deltas)} package deltas")  # fmt: skip


if __name__ == "__main__":
    main()
