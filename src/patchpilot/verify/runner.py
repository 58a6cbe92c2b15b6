"""Running a project's tests in isolation, and one side of a before/after comparison.

`run_tests` runs a test command with the env's interpreter first on PATH, in the checkout, with:
its own temporary directory as TMPDIR and HOME (removed afterwards), stdin closed, a timeout
(default 900 s) after which its whole process group gets SIGTERM and, 5 s later, SIGKILL (any
stragglers in the group are killed after a normal exit too; a process that starts its own
session escapes this), and an environment scrubbed of secrets (`scrub_environment`). pytest
runs get `--junitxml` and `-p no:cacheprovider`; unittest/Django runs get verbose output to
read per test; anything else is judged by its exit status. Project code only ever runs in that
child process, never in patchpilot's.

`checkout_at` gives a temporary detached `git worktree` of one revision (the user's tree,
index and branches untouched) and `run_side` strings it all together: checkout, env, run,
one rerun of the failing tests to spot flakes, results.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path

from patchpilot.deliver import git
from patchpilot.errors import GitError, VerifyError
from patchpilot.events import Reporter
from patchpilot.verify.envs import Env, build_env
from patchpilot.verify.results import (
    Outcome,
    SideResult,
    TestResult,
    parse_junit,
    parse_unittest,
    whole_command,
)
from patchpilot.verify.testcmd import Kind, TestCommand, detect_test_command, read_config

_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH")
_SECRET_PREFIXES = ("AWS_", "GITHUB_", "GITLAB_", "CI_JOB_")
# Variables that would change which interpreter, packages or pytest options the run uses,
# making the two sides differ for reasons outside the project.
_RUN_DROPPED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "CONDA_PREFIX")
_RUN_DROPPED_PREFIXES = ("PYTEST_", "UV_", "PIP_", "POETRY_", "COV_CORE_")
KILL_GRACE = 5.0
TAIL_LINES = 40
TASK = "verify: tests"


def is_secret(name: str) -> bool:
    """Whether an environment variable's name suggests it carries a credential."""
    upper = name.upper()
    return any(w in upper for w in _SECRET_WORDS) or upper.startswith(_SECRET_PREFIXES)


def scrub_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without secrets and without variables that redirect Python or pytest."""
    return {
        k: v
        for k, v in environ.items()
        if not is_secret(k)
        and k not in _RUN_DROPPED
        and not k.upper().startswith(_RUN_DROPPED_PREFIXES)
    }


@dataclass(frozen=True, slots=True)
class RunOutput:
    """One run of a test command: its argv, exit status, results and how long it took."""

    argv: tuple[str, ...]
    returncode: int
    results: tuple[TestResult, ...]
    per_test: bool
    seconds: float
    output_tail: str


def _argv(command: TestCommand, env: Env, junit: Path, select: Sequence[str]) -> list[str]:
    argv = list(command.argv)
    if argv[0] == "python":
        argv[0] = str(env.python)
    if command.kind is Kind.PYTEST:
        argv += [f"--junitxml={junit}", "-p", "no:cacheprovider", "-o", "junit_family=xunit2"]
    elif command.kind is Kind.UNITTEST and not {"-v", "--verbose"} & set(argv):
        # Right after `-m unittest` / `manage.py test`: argparse takes no option after the
        # test labels that may follow, and labels selected for a rerun go last.
        # `-m unittest discover` takes its own options (-s, -t, -p) after `discover`, so the
        # flag goes after that word.
        verbose = ["-v", "2"] if "manage.py" in argv[1:2] else ["-v"]
        at = 4 if argv[3:4] == ["discover"] else 3
        argv[at:at] = verbose
    return argv + list(select)


def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def run_tests(
    env: Env,
    command: TestCommand,
    checkout: Path,
    *,
    timeout: float,
    select: Sequence[str] = (),
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> RunOutput:
    """Run `command` in `checkout` with `env` (see the module text); `select` names tests.

    `extra_args` go after the command's own arguments (e.g. a pytest plugin), `extra_env` over
    the scrubbed environment. A timeout kills the process group and is a `VerifyError`.
    """
    work = Path(tempfile.mkdtemp(prefix="patchpilot-run-"))
    try:
        tmp, home = work / "tmp", work / "home"
        tmp.mkdir()
        home.mkdir()
        junit = work / "junit.xml"
        argv = [*_argv(command, env, junit, ()), *extra_args, *select]
        run_env = scrub_environment(os.environ)
        run_env.update(
            TMPDIR=str(tmp),
            TMP=str(tmp),
            TEMP=str(tmp),
            HOME=str(home),
            VIRTUAL_ENV=str(env.root),
            PATH=str(env.bin_dir) + os.pathsep + run_env.get("PATH", os.defpath),
            PYTHONDONTWRITEBYTECODE="1",
        )
        run_env.update(extra_env or {})
        log = work / "output.txt"
        started = time.monotonic()
        with log.open("wb") as out:
            try:
                proc = subprocess.Popen(
                    argv,
                    cwd=checkout,
                    env=run_env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as e:
                raise VerifyError(
                    f"{checkout}: cannot run `{command.display()}`: {e.strerror or e}"
                ) from e
            try:
                returncode = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc, signal.SIGTERM)
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=KILL_GRACE)
                _kill_group(proc, signal.SIGKILL)
                proc.wait()
                raise VerifyError(
                    f"{checkout}: `{command.display()}` did not finish within {timeout:g} s; "
                    "its process group was killed (raise [verify] timeout in .patchpilot.toml)"
                ) from None
            finally:
                # Servers or workers the tests left behind in the group go with it.
                _kill_group(proc, signal.SIGKILL)
        seconds = time.monotonic() - started
        output = log.read_text(encoding="utf-8", errors="replace")
        tail = "\n".join(output.splitlines()[-TAIL_LINES:])
        results, per_test = _results(command, checkout, junit, output, returncode)
        return RunOutput(tuple(argv), returncode, results, per_test, seconds, tail)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# pytest's exit statuses for "ran, some failed" (1) and "nothing collected" (5).
_PYTEST_RAN = (0, 1, 5)
_UNITTEST_COUNTS = re.compile(r"^Ran (\d+) tests? in", re.MULTILINE)


def _results(
    command: TestCommand, checkout: Path, junit: Path, output: str, returncode: int
) -> tuple[tuple[TestResult, ...], bool]:
    if command.kind is Kind.PYTEST:
        if not junit.is_file() and returncode not in _PYTEST_RAN:
            tail = "\n  ".join(output.strip().splitlines()[-12:])
            raise VerifyError(
                f"{checkout}: `{command.display()}` stopped before running tests "
                f"(exit {returncode}):\n  {tail}"
            )
        results = parse_junit(junit, checkout)
        if returncode not in _PYTEST_RAN and not any(r.outcome.failing for r in results):
            # An internal error or interrupted session after some tests: keep it visible.
            results = (*results, *whole_command(command.display(), returncode))
        return results, True
    if command.kind is Kind.UNITTEST:
        results = parse_unittest(output)
        if results:
            if returncode != 0 and not any(r.outcome.failing for r in results):
                results = (*results, *whole_command(command.display(), returncode))
            return results, True
        if _UNITTEST_COUNTS.search(output) is None and returncode != 0:
            tail = "\n  ".join(output.strip().splitlines()[-12:])
            raise VerifyError(
                f"{checkout}: `{command.display()}` ran no tests (exit {returncode}):\n  {tail}"
            )
    return whole_command(command.display(), returncode), False


@contextmanager
def checkout_at(repo: Path | str, rev: str) -> Iterator[tuple[Path, str]]:
    """`(directory, commit)`: `rev` checked out in a temporary detached worktree.

    When `repo` is a sub-directory of its repository, the directory is that sub-directory of
    the worktree. The worktree is removed on leaving, whatever happened.
    """
    given = Path(repo).resolve()
    root = git.repo_root(given)
    commit = git.resolve_commit(root, rev)
    temp = Path(tempfile.mkdtemp(prefix="patchpilot-verify-"))
    path = temp / root.name
    try:
        git._git(  # git.py's one safe runner: hooks off, env cleaned
            root,
            ["worktree", "add", "--quiet", "--detach", str(path), commit],
            what=f"cannot check out {rev} in a temporary worktree",
        )
        yield path / given.relative_to(root), commit
    finally:
        with suppress(GitError):
            git._git(
                root,
                ["worktree", "remove", "--force", "--force", str(path)],
                what="cannot remove the temporary worktree",
                ok=(0, 128),
                shielded=True,
            )
        shutil.rmtree(temp, ignore_errors=True)
        with suppress(GitError):
            git._git(root, ["worktree", "prune"], what="", shielded=True)


def _rerun_ids(command: TestCommand, failing: Sequence[str]) -> list[str] | None:
    """The arguments that select just `failing` again, or None when they cannot be selected."""
    if command.kind is Kind.PYTEST:
        # Only real node ids select anything; a bare `classname::name` would be an error.
        ids = [i for i in failing if i.split("::", 1)[0].endswith(".py")]
        return ids or None
    if command.kind is Kind.UNITTEST and "discover" not in command.argv:
        return list(failing)
    return None


def run_side(
    repo: Path | str,
    rev: str,
    *,
    reporter: Reporter | None = None,
    timeout: float | None = None,
    cache_dir: Path | None = None,
    python: str | None = None,
    rerun_failures: bool = True,
) -> SideResult:
    """Check out `rev`, build its env, run its tests, rerun failures once, and parse it all.

    `timeout` (seconds per run) defaults to `[verify] timeout` of the side's .patchpilot.toml,
    else 900.
    """
    report = reporter or Reporter()
    started = time.monotonic()
    with checkout_at(repo, rev) as (checkout, commit):
        config = read_config(checkout)
        command = detect_test_command(checkout, config)
        limit = timeout if timeout is not None else config.timeout
        env = build_env(
            checkout,
            python=python,
            cache_dir=cache_dir,
            need_pytest=command.kind is Kind.PYTEST,
            reporter=report,
        )
        try:
            return measure_side(
                env,
                command,
                checkout,
                rev=rev,
                commit=commit,
                started=started,
                timeout=limit,
                reporter=report,
                rerun_failures=rerun_failures,
            )
        finally:
            shutil.rmtree(env.root, ignore_errors=True)


def measure_side(
    env: Env,
    command: TestCommand,
    checkout: Path,
    *,
    rev: str,
    commit: str,
    started: float,
    timeout: float,
    reporter: Reporter,
    rerun_failures: bool = True,
    extra_env: Mapping[str, str] | None = None,
) -> SideResult:
    """Run the tests of one side in its built env, rerun failures once to spot flakes."""
    reporter.start(TASK, None)
    reporter.advance(TASK, 1, f"{rev}: {command.display()}")
    first = run_tests(env, command, checkout, timeout=timeout, extra_env=extra_env)
    results, rerun_seconds = first.results, 0.0
    flaky: tuple[str, ...] = ()
    failing = [r.id for r in results if r.outcome.failing]
    select = _rerun_ids(command, failing) if first.per_test else []
    if rerun_failures and failing and (select is not None or not first.per_test):
        reporter.advance(TASK, 1, f"{rev}: rerunning {len(failing)} failing")
        again = run_tests(
            env, command, checkout, timeout=timeout, select=select or (), extra_env=extra_env
        )
        rerun_seconds = again.seconds
        passed_now = {r.id for r in again.results if r.outcome is Outcome.PASSED}
        flaky = tuple(i for i in failing if i in passed_now)
        results = tuple(replace(r, outcome=Outcome.PASSED) if r.id in flaky else r for r in results)
    reporter.finish(TASK)
    return SideResult(
        rev=rev,
        commit=commit,
        command=first.argv,
        python_version=env.python_version,
        installer=env.installer,
        returncode=first.returncode,
        results=results,
        flaky=flaky,
        per_test=first.per_test,
        env_seconds=env.seconds,
        test_seconds=first.seconds,
        rerun_seconds=rerun_seconds,
        total_seconds=time.monotonic() - started,
        output_tail=first.output_tail,
    )
