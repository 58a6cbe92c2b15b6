"""Benchmark of the autonomy loop: `patchpilot run` end to end and `patchpilot gate`, on the
bundled example, printed rather than asserted.

Each `run` gets a fresh git copy of examples/webapp and a fresh store (examples/advisories;
the ledger in the same file), and runs as its own CLI process (`patchpilot.cli.main.main`
in a child interpreter): first with `--upgrade-config none --upgrade-config urllib3:patch`
(one fix branch), then with default options (every fix, its breaking-change check, and the
codemods and config mitigations). Fixes resolve with uv against PyPI and the example's tests
run in uv-built environments, so uv's cache (the user's own) is warm after the first run, as
it is for a user.

The child swaps the CLI's progress display for a reporter that stamps `time.perf_counter()`
on every task start and finish and every ledger record, and stamps the start and end of
`engine.run` and `engine.codefix`. The time between consecutive records is charged to the
step the later record closes (records are reported when a step ends): start-up, scan,
triage, plan + fix branches, per branch its verification and its decision and delivery,
codefix (codemods and config on a scratch worktree, its branches and their verification),
and the output. Task spans (planning, breaking-change checks, uv lock, environments, test
runs) are shown inside each step. Peak RSS is that of patchpilot's own process (Linux counts
a child's peak from the RSS it inherited at fork, so the children's own peaks are not shown).

`gate` is timed as a whole CLI process (`patchpilot gate -f json`), best and median of 5, with
its peak RSS.

Usage: python bench/autonomy.py [--skip-full]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
EXAMPLE = ROOT / "examples" / "webapp"
ADVISORIES = ROOT / "examples" / "advisories"
RESTRICTED = ("--upgrade-config", "none", "--upgrade-config", "urllib3:patch")


# --- the child: one CLI process with a stopwatch on the reporter -------------------------------


def child_run(timeline: str, *argv: str) -> int:
    zero = time.perf_counter()
    marks: list[list[Any]] = []

    def mark(*what: Any) -> None:
        marks.append([time.perf_counter() - zero, *what])

    import patchpilot.cli.run as cli_run
    from patchpilot import engine
    from patchpilot.cli.main import main
    from patchpilot.events import Record, Reporter

    class Stopwatch(Reporter):
        def start(self, task: str, total: int | None = None) -> None:
            mark("start", task)

        def finish(self, task: str) -> None:
            mark("finish", task)

        def record(self, record: Record) -> None:
            branch = next((s[7:] for s in record.subjects if s.startswith("branch:")), "")
            mark("record", record.kind, branch)

    @contextlib.contextmanager
    def stopwatch(fmt: str, args: argparse.Namespace) -> Iterator[Reporter]:
        del fmt, args
        yield Stopwatch()

    def bracket(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            mark("begin", name)
            try:
                return fn(*args, **kwargs)
            finally:
                mark("end", name)

        return wrapper

    cli_run.reporter_for = stopwatch  # type: ignore[attr-defined]
    engine.run = bracket("run", engine.run)
    engine.codefix = bracket("codefix", engine.codefix)
    mark("imported")
    code = main(list(argv))
    mark("exit")
    Path(timeline).write_text(
        json.dumps(
            {"marks": marks, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        ),
        encoding="utf-8",
    )
    return code


# --- phases from the marks --------------------------------------------------------------------


def task_spans(marks: Sequence[Sequence[Any]]) -> list[tuple[float, float, str]]:
    """(start, end, name) of every task, breaking-change tasks named by kind only."""
    open_at: dict[str, list[float]] = {}
    spans = []
    for t, what, *rest in marks:
        if what not in ("start", "finish"):
            continue
        name = rest[0].split(" ")[0] if rest[0].startswith("breaking-") else rest[0]
        if what == "start":
            open_at.setdefault(name, []).append(t)
        elif open_at.get(name):
            spans.append((open_at[name].pop(), t, name))
    return spans


def step_of(kind: str, branch: str, inside_codefix: bool) -> tuple[str, str]:
    """The (category, label) of the step a record of `kind` closes."""
    if inside_codefix and kind == "codefix" and not branch:
        label = "codefix: codemods + config mitigations on a scratch worktree"
    elif inside_codefix and kind == "codefix":
        label = f"codefix: make branch {branch}"
    elif kind == "scan":
        label = "scan"
    elif kind == "suppress":
        label = "triage (VEX, ignores)"
    elif kind in ("plan", "decide") and not branch:
        label = "plan + fix branches (resolver, breaking checks, commits)"
    elif kind == "branch":
        label = "branch bookkeeping"
    elif kind == "verify":
        label = f"verify {branch}"
    else:
        label = f"decide + deliver {branch}"
    if inside_codefix:
        return "codefix", label
    if label.startswith("verify"):
        return "verify", label
    if label.startswith("decide"):
        return "deliver", label
    if kind in ("scan", "suppress"):
        return "scan", label
    return "fix", label


def phases(marks: Sequence[Sequence[Any]]) -> list[tuple[str, str, float, float, float]]:
    """(category, label, seconds, from, to) per step, consecutive equal labels merged."""
    run_at = next(t for t, what, *rest in marks if what == "begin" and rest == ["run"])
    run_end = next(t for t, what, *rest in marks if what == "end" and rest == ["run"])
    cf = [t for t, what, *rest in marks if what in ("begin", "end") and rest == ["codefix"]]
    cf_at, cf_end = (cf[0], cf[1]) if len(cf) == 2 else (run_end, run_end)
    exit_at = next(t for t, what, *_ in marks if what == "exit")
    steps: list[list[Any]] = [["start-up", "start-up: imports, store, ledger, policy", 0.0, run_at]]
    prev = run_at

    def add(category: str, label: str, until: float) -> None:
        nonlocal prev
        if steps and steps[-1][1] == label:
            steps[-1][3] = until
        else:
            steps.append([category, label, prev, until])
        prev = until

    for t, what, *rest in marks:
        if what == "begin" and rest == ["codefix"]:
            if t > prev:
                add("other", "between steps", t)
            continue
        if what == "end" and rest == ["codefix"]:
            add("codefix", "codefix: wrap-up", t)
            continue
        if what != "record":
            continue
        kind, branch = rest
        category, label = step_of(kind, branch, cf_at <= t <= cf_end)
        add(category, label, t)
    if run_end > prev:
        add("other", "run: wrap-up", run_end)
    add("other", "output and exit", exit_at)
    return [(c, lab, end - start, start, end) for c, lab, start, end in steps]


# --- the parent ------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=b", "-c", "user.email=b@b", *args],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def example(base: Path) -> tuple[Path, Path]:
    """A git copy of the example and a store holding its advisories, under `base`."""
    from patchpilot.advisories.store import AdvisoryStore

    repo = base / "notify"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(
        ".venv", "__pycache__", ".pytest_cache"))  # fmt: skip
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    db = base / "store.sqlite3"
    with AdvisoryStore.open(db, create=True) as store:
        store.import_paths([ADVISORIES])
    return repo, db


def bench_run(label: str, extra: Sequence[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-autonomy-") as tmp:
        repo, db = example(Path(tmp))
        timeline = Path(tmp) / "timeline.json"
        argv = ["--db", str(db), "run", str(repo), "-f", "json", *extra]
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(HERE), "--child", str(timeline), *argv],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        wall = time.perf_counter() - start
        if done.returncode != 0 or not timeline.exists():
            print(f"run {label}: failed (exit {done.returncode}) after {wall:.1f} s: "
                  f"{done.stderr.strip()[-2000:]}")  # fmt: skip
            return
        doc = json.loads(done.stdout)
        data = json.loads(timeline.read_text(encoding="utf-8"))
    marks = data["marks"]
    steps = phases(marks)
    inside = marks[-1][0]
    print(f"run {label}: wall {wall:.1f} s (interpreter start {wall - inside:.2f} s), "
          f"peak RSS of patchpilot's process {data['rss']:.0f} MiB")  # fmt: skip
    print(f"    {summary(doc)}")
    spans = task_spans(marks)
    hidden = 0
    for _category, step, secs, lo, hi in steps:
        if secs < 0.005:
            hidden += 1
            continue
        inner: dict[str, float] = {}
        for a, b, name in spans:
            if lo <= a < hi:
                inner[name] = inner.get(name, 0.0) + (min(b, hi) - a)
        detail = ", ".join(f"{k} {v:.1f} s" for k, v in inner.items() if v >= 0.05)
        print(f"    {step:<66} {secs:7.2f} s {secs / wall:6.1%}"
              + (f"  ({detail})" if detail else ""))  # fmt: skip
    if hidden:
        print(f"    ({hidden} steps under 5 ms not shown: bookkeeping between branches, wrap-up)")
    shares: dict[str, float] = {}
    for category, _step, secs, _lo, _hi in steps:
        shares[category] = shares.get(category, 0.0) + secs
    shares["other"] = shares.get("other", 0.0) + wall - inside
    shares["start-up"] = shares.pop("start-up", 0.0)
    code_branches = sum(1 for x in steps if x[0] == "codefix" and x[1].startswith("verify"))
    names = {
        "start-up": "start-up",
        "scan": "scan + triage",
        "fix": "plan + fix",
        "verify": f"verify ({sum(1 for x in steps if x[0] == 'verify')} dependency branches)",
        "deliver": "decide + deliver",
        "codefix": f"codefix ({code_branches} branches, verification included)",
        "other": "other",
    }
    print("    shares: " + ", ".join(
        f"{names[c]} {shares.get(c, 0.0) / wall:.0%}" for c in names))  # fmt: skip


def summary(doc: dict[str, Any]) -> str:
    actions = doc.get("actions") or []
    how: dict[str, int] = {}
    for a in actions:
        how[str(a.get("delivered"))] = how.get(str(a.get("delivered")), 0) + 1
    text = ", ".join(f"{v} {k}" for k, v in sorted(how.items()))
    code = doc.get("codefix") or {}
    code_actions = code.get("actions") or [] if isinstance(code, dict) else []
    code_how: dict[str, int] = {}
    for a in code_actions:
        code_how[str(a.get("delivered"))] = code_how.get(str(a.get("delivered")), 0) + 1
    code_text = ", ".join(f"{v} {k}" for k, v in sorted(code_how.items())) or "none"
    return f"dependency actions: {text or 'none'}; codefix actions: {code_text}"


def bench_gate() -> None:
    exe = Path(sys.executable).with_name("patchpilot")
    with tempfile.TemporaryDirectory(prefix="bench-autonomy-") as tmp:
        repo, db = example(Path(tmp))
        times: list[float] = []
        peak = 0.0
        for _ in range(5):
            start = time.perf_counter()
            proc = subprocess.run(
                ["/usr/bin/time", "-f", "%M", str(exe), "--db", str(db), "gate", str(repo),
                 "-f", "json"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            times.append(time.perf_counter() - start)
            if proc.returncode not in (0, 1):
                print(f"gate failed ({proc.returncode}): {proc.stderr.strip()}")
                return
            peak = max(peak, int(proc.stderr.strip().splitlines()[-1]) / 1024)
        violations = len(json.loads(proc.stdout).get("violations") or [])
    print(f"gate examples/webapp: whole CLI process best {min(times) * 1000:.0f} ms, median "
          f"{statistics.median(times) * 1000:.0f} ms of 5 (exit {proc.returncode}, "
          f"{violations} violations), peak RSS {peak:.1f} MiB")  # fmt: skip


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["--child"]:
        return child_run(argv[1], *argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-full", action="store_true", help="only the restricted run and gate")
    args = ap.parse_args(argv)
    bench_gate()
    bench_run(" ".join(RESTRICTED), RESTRICTED)
    if not args.skip_full:
        bench_run("(default options)", ())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
