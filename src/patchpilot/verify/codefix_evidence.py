"""Verify a code or configuration fix branch: the project's tests, and which of them execute
each changed line.

Both sides (the base commit and the fix branch) are checked out in temporary worktrees, get
their own virtualenvs built by uv and run the project's own test command in isolated, scrubbed
subprocesses, exactly as `verify.evidence.verify_branch` does for dependency fixes. The fix
side runs under coverage.py, restricted to the changed Python files, with one context per test
(`verify.lines`), so each changed line (numbered as in the branch) is tied to the passing tests
that executed it. The verdict:

- `regression`: a test fails only after the fix;
- `no-tests`: the test command ran no test;
- `verified`: no regression, and every changed line of code is executed by a passing test;
- `partly-reached`: some changed lines are, others are not;
- `not-reached`: no changed line is executed by a passing test (or none is code).

Nothing from either branch ever runs in patchpilot's own process.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from patchpilot.deliver.git import merge_base, repo_root, resolve_commit
from patchpilot.errors import VerifyError
from patchpilot.events import Reporter
from patchpilot.verify.envs import Env, build_env
from patchpilot.verify.lines import (
    LineReach,
    LineReport,
    changed_files,
    ensure_coverage,
    normalize_changes,
    prepare_trace,
    read_lines,
)
from patchpilot.verify.results import SideResult, TestComparison, compare_sides
from patchpilot.verify.runner import checkout_at, measure_side
from patchpilot.verify.testcmd import Kind, detect_test_command, read_config

VERDICTS = ("verified", "partly-reached", "not-reached", "regression", "no-tests")


@dataclass(frozen=True, slots=True)
class CodeEvidence:
    """What the project's tests prove about a code or config fix branch.

    `lines` holds one `LineReach` per changed line; `reach_share` is the share of changed code
    lines executed by a passing test (None when no changed line is code); `mechanism` says how
    lines were traced.
    """

    repo: str
    branch: str
    base: SideResult
    fix: SideResult
    comparison: TestComparison
    lines: tuple[LineReach, ...]
    reach_share: float | None
    verdict: str
    summary: str
    mechanism: str
    seconds: float
    notes: tuple[str, ...] = ()

    @property
    def tests(self) -> tuple[str, ...]:
        """The passing tests that execute at least one changed line (sorted)."""
        return tuple(sorted({t for r in self.lines for t in r.tests}))


def verify_code_branch(
    path: Path,
    branch: str,
    changed_lines: Mapping[str, Sequence[int]],
    *,
    base: str | None = None,
    timeout: float | None = None,
    cache_dir: Path | None = None,
    reporter: Reporter | None = None,
) -> CodeEvidence:
    """Run the project's tests on `base` (default: the merge base with HEAD) and on `branch`,
    tracing on the fix side the `changed_lines` (repository-relative paths, line numbers in
    the branch's version of each file)."""
    reporter = reporter or Reporter()
    started = time.monotonic()
    changes = normalize_changes(changed_lines)
    repo = repo_root(path)
    sub = path.resolve().relative_to(repo)
    branch_commit = resolve_commit(repo, branch)
    base_rev = base or _merge_base(repo, branch_commit)
    with (
        checkout_at(repo, base_rev) as (base_root, base_commit),
        checkout_at(repo, branch_commit) as (fix_root, fix_commit),
        tempfile.TemporaryDirectory(prefix="patchpilot-lines-") as tmp,
    ):
        files = changed_files(fix_root, changes)
        base_dir, fix_dir = base_root / sub, fix_root / sub
        base_cfg, fix_cfg = read_config(base_dir), read_config(fix_dir)
        base_cmd = detect_test_command(base_dir, base_cfg)
        fix_cmd = detect_test_command(fix_dir, fix_cfg)
        env_b = build_env(base_dir, cache_dir=cache_dir, need_pytest=base_cmd.kind is Kind.PYTEST,
                          reporter=reporter)  # fmt: skip
        env_a: Env | None = None
        try:
            env_a = build_env(fix_dir, cache_dir=cache_dir, need_pytest=fix_cmd.kind is Kind.PYTEST,
                              reporter=reporter)  # fmt: skip
            version, pytest_cov, installed = ensure_coverage(env_a, cache_dir)
            trace = prepare_trace(fix_cmd, files, Path(tmp) / "lines", coverage_version=version,
                                  pytest_cov=pytest_cov)  # fmt: skip
            t0 = time.monotonic()
            before = measure_side(env_b, base_cmd, base_dir, rev=base_rev, commit=base_commit,
                                  started=t0, timeout=timeout or base_cfg.timeout,
                                  reporter=reporter)  # fmt: skip
            t1 = time.monotonic()
            after = measure_side(env_a, trace.command, fix_dir, rev=branch, commit=fix_commit,
                                 started=t1, timeout=timeout or fix_cfg.timeout,
                                 reporter=reporter, extra_env=trace.extra_env)  # fmt: skip
            report = read_lines(trace, fix_root, changes, after)
        finally:
            shutil.rmtree(env_b.root, ignore_errors=True)
            if env_a is not None:
                shutil.rmtree(env_a.root, ignore_errors=True)
    comparison = compare_sides(before, after)
    verdict, summary = _verdict(comparison, report)
    return CodeEvidence(
        repo=str(repo),
        branch=branch,
        base=before,
        fix=after,
        comparison=comparison,
        lines=report.lines,
        reach_share=report.share,
        verdict=verdict,
        summary=summary,
        mechanism=report.mechanism,
        seconds=time.monotonic() - started,
        notes=(*installed, *report.notes),
    )


def _merge_base(repo: Path, commit: str) -> str:
    found = merge_base(repo, "HEAD", commit)
    if found is None:
        raise VerifyError(f"{repo}: no common ancestor of HEAD and {commit[:12]}")
    if found == commit:
        raise VerifyError(
            f"{repo}: the branch is HEAD itself or behind it; name the base with --base"
        )
    return found


def _places(lines: Sequence[LineReach], shown: int = 3) -> str:
    return ", ".join(r.place for r in lines[:shown]) + (", …" if len(lines) > shown else "")


def reach_summary(report: LineReport) -> str:
    """One line, e.g. `1 of 2 changed lines executed by passing tests (app/x.py:12 by
    tests/test_x.py::test_get); not executed: app/x.py:30`."""
    code = report.code_lines
    if not code:
        return "no changed line is code the tests can execute"
    executed = report.executed
    noun = "line" if len(code) == 1 else "lines"
    text = f"{len(executed)} of {len(code)} changed {noun} executed by passing tests"
    if executed:
        first = executed[0]
        more = f" and {len(first.tests) - 1} more" if len(first.tests) > 1 else ""
        text += f" ({first.place} by {first.tests[0]}{more})"
    missed = [r for r in code if not r.executed]
    if missed:
        text += f"; not executed: {_places(missed)}"
    return text


def _verdict(comparison: TestComparison, report: LineReport) -> tuple[str, str]:
    tests = comparison.summary()
    if comparison.regressions:
        return "regression", f"{tests}; verdict: regression"
    if comparison.after.total == 0:
        return "no-tests", f"{tests}; verdict: no-tests"
    reach = reach_summary(report)
    code, executed = report.code_lines, report.executed
    if code and len(executed) == len(code):
        verdict = "verified"
    elif executed:
        verdict = "partly-reached"
    else:
        verdict = "not-reached"
    return verdict, f"{tests}; {reach}; verdict: {verdict}"
