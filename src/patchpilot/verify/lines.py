"""Line-level evidence: which tests execute each line a code or config fix changed.

coverage.py measures the fix side's test run, restricted to the changed Python files, with one
dynamic context per test:

- pytest runs load our plugin (`_tracer/patchpilot_lines.py`, `-p patchpilot_lines` through
  `PYTEST_ADDOPTS`), which names each context after the pytest node id, the same id the
  JUnit results carry; when pytest-cov is installed it gets `--no-cov`, since two coverage
  measurements in one process stop each other;
- unittest and Django runs are wrapped in `python -m coverage run` with
  `dynamic_context = test_function`, whose context names (`module.Class.test_x`) are the ids
  their verbose output carries.

coverage is installed into the fix side's environment by uv when the project's lock does not
bring it (`ensure_coverage`); nothing of the project runs in patchpilot's process, which only
reads the data files (`coverage.CoverageData`).

A changed line counts through the statement it belongs to (`code_units`): coverage records the
lines the interpreter reports, which for a statement spread over several lines may be any of
them, so a line is executed when any line of its statement is. A line in a `def` or `class`
header (decorators, signature, defaults) counts when the function or class body runs, not just
when it is defined. Blank lines, comments, docstrings and bare `else:`/`try:`/`finally:` lines
are not code: they are reported, but cannot be executed and do not count. Lines that run only
outside any test (at import or collection time, in a unittest `setUp`) are marked so but are
not "executed by a test".
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from patchpilot.errors import VerifyError, where
from patchpilot.verify.envs import Env, _run, installer_env, uv_bin
from patchpilot.verify.results import Outcome, SideResult
from patchpilot.verify.testcmd import Kind, TestCommand

TRACER_DIR = Path(__file__).resolve().parent / "_tracer"
PLUGIN = "patchpilot_lines"
DATA_ENV = "PATCHPILOT_LINES_DATA"
FILES_ENV = "PATCHPILOT_LINES_FILES"
DATA_NAME = "cov"
STATUS_PREFIX = "status-"
INSTALL_TIMEOUT = 600.0
# The oldest coverage with dynamic contexts (`switch_context`, `dynamic_context`).
MIN_COVERAGE = (5, 0)
NOT_CODE = "blank, comment, docstring or a bare else/try/finally: nothing to execute"


@dataclass(frozen=True, slots=True)
class LineReach:
    """What the fix side's tests did with one changed line (numbered as in the branch).

    `executed` means a passing test ran it, and `tests` names those tests. `other_tests` ran it
    but did not pass (failed, errored or skipped); `outside_tests` says it also ran outside any
    test (import or collection time). `code` is False for lines that hold nothing to execute
    (blank, comment, docstring, a non-Python file); `note` says why when that matters.
    """

    path: str
    line: int
    executed: bool
    tests: tuple[str, ...]
    code: bool = True
    outside_tests: bool = False
    other_tests: tuple[str, ...] = ()
    note: str = ""

    @property
    def place(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class LineTrace:
    """How one test run is measured: the command to run, its extra environment, the data dir."""

    command: TestCommand
    extra_env: Mapping[str, str]
    data_dir: Path
    mechanism: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LineReport:
    """Every changed line's reach, and what the measurement itself said."""

    lines: tuple[LineReach, ...]
    mechanism: str
    measured: bool
    notes: tuple[str, ...] = field(default=())

    @property
    def code_lines(self) -> tuple[LineReach, ...]:
        return tuple(r for r in self.lines if r.code)

    @property
    def executed(self) -> tuple[LineReach, ...]:
        return tuple(r for r in self.lines if r.code and r.executed)

    @property
    def share(self) -> float | None:
        """Executed changed code lines over changed code lines; None when none is code."""
        code = self.code_lines
        return len(self.executed) / len(code) if code else None

    @property
    def tests(self) -> tuple[str, ...]:
        """The passing tests that execute at least one changed line (sorted)."""
        return tuple(sorted({t for r in self.lines for t in r.tests}))


# --- the changed lines asked about -------------------------------------------------------------


def normalize_changes(changed: Mapping[str, Sequence[int]]) -> dict[str, tuple[int, ...]]:
    """Changed lines by repository-relative POSIX path, each line once and in order.

    A path that is absolute or leaves the repository, or a line that is not a positive whole
    number, is a `VerifyError` naming it.
    """
    out: dict[str, set[int]] = {}
    for raw, lines in changed.items():
        text = str(raw).replace("\\", "/")
        rel = PurePosixPath(text)
        if not text or rel.is_absolute() or ".." in rel.parts or str(rel) == ".":
            raise VerifyError(f"{raw!r}: a changed file must be a path relative to the repository")
        seen = out.setdefault(rel.as_posix(), set())
        for line in lines:
            if isinstance(line, bool) or not isinstance(line, int) or line < 1:
                raise VerifyError(f"{rel.as_posix()}: {line!r} is not a line number")
            seen.add(line)
    return {path: tuple(sorted(lines)) for path, lines in sorted(out.items()) if lines}


# --- changed line → the lines that execute it ---------------------------------------------------

_SKIPPED_TOKENS = frozenset(
    {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
        tokenize.ENDMARKER,
    }
)
_STRUCTURAL = frozenset({"else", "try", "finally"})
_HEADED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _token_lines(source: bytes) -> tuple[set[int], set[int]]:
    """Lines holding Python tokens, and those whose only tokens are `else:`/`try:`/`finally:`."""
    words: dict[int, list[str]] = {}
    for tok in tokenize.tokenize(io.BytesIO(source).readline):
        if tok.type in _SKIPPED_TOKENS:
            continue
        for n in range(tok.start[0], tok.end[0] + 1):
            words.setdefault(n, []).append(tok.string if tok.start[0] == tok.end[0] else "")
    structural = {
        n for n, w in words.items() if len(w) == 2 and w[0] in _STRUCTURAL and w[1] == ":"
    }
    return set(words), structural


def _docstring_lines(tree: ast.Module) -> set[int]:
    # Docstrings compile to no executed instruction inside functions and classes.
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                out.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return out


def _span(node: ast.AST) -> tuple[int, int] | None:
    """First and last line of a unit: a statement (with its decorators), an `except` clause,
    or a `case` header."""
    if isinstance(node, ast.stmt | ast.ExceptHandler):
        decorators = getattr(node, "decorator_list", [])
        start = min([node.lineno, *(d.lineno for d in decorators)])
        return start, node.end_lineno or node.lineno
    if isinstance(node, ast.match_case):
        last = node.guard if node.guard is not None else node.pattern
        end = last.end_lineno or last.lineno
        # Up to the line before the body: a guard's closing `):` belongs to the header.
        body = node.body[0].lineno if node.body else end
        return node.pattern.lineno, max(end, body - 1)
    return None


def _owners(tree: ast.Module) -> tuple[dict[int, ast.AST], dict[ast.AST, tuple[int, int]]]:
    """Each line's innermost unit (statement, `except` clause, `case` header) and every span."""
    owners: dict[int, ast.AST] = {}
    spans: dict[ast.AST, tuple[int, int]] = {}
    stack: list[ast.AST] = [tree]
    while stack:  # pre-order: a unit is placed before the units nested in it override it
        node = stack.pop()
        span = _span(node)
        if span is not None:
            spans[node] = span
            for n in range(span[0], span[1] + 1):
                owners[n] = node
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return owners, spans


def code_units(source: bytes, lines: Sequence[int]) -> dict[int, frozenset[int] | None]:
    """For each of `lines`, the lines whose execution executes it, or None if it is no code.

    Raises `SyntaxError`, `ValueError` or `tokenize.TokenError` for source that is not Python.
    """
    with warnings.catch_warnings():
        # The branch's own invalid escapes and the like are not ours to report.
        warnings.simplefilter("ignore")
        tree = ast.parse(source)
    code, structural = _token_lines(source)
    code -= _docstring_lines(tree) | structural
    owners, spans = _owners(tree)
    members: dict[ast.AST, set[int]] = {}
    for n, owner in owners.items():
        if n in code:
            members.setdefault(owner, set()).add(n)
    out: dict[int, frozenset[int] | None] = {}
    for line in lines:
        node = owners.get(line)
        if line not in code or node is None:
            out[line] = None
        elif isinstance(node, _HEADED) and line < _body_start(node):
            first, last = spans[node]
            out[line] = frozenset(n for n in range(first, last + 1) if n in code)
        else:
            out[line] = frozenset(members[node])
    return out


def _body_start(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> int:
    return min(s.lineno for s in node.body) if node.body else (node.end_lineno or node.lineno)


# --- the test environment and command -----------------------------------------------------------

_PROBE = (
    "import importlib.metadata as m, json\n"
    "def v(n):\n"
    "    try:\n"
    "        return m.version(n)\n"
    "    except m.PackageNotFoundError:\n"
    "        return None\n"
    "print(json.dumps({'coverage': v('coverage'), 'pytest-cov': v('pytest-cov')}))\n"
)


def _installed(env: Env, run_env: dict[str, str]) -> dict[str, str | None]:
    proc = _run(
        [str(env.python), "-I", "-c", _PROBE],
        cwd=env.checkout,
        env=run_env,
        what="the env's python",
        timeout=60,
    )
    try:
        found = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        raise VerifyError(f"{env.root}: cannot list the env's coverage tools: {e}") from e
    if not isinstance(found, dict):
        raise VerifyError(f"{env.root}: cannot list the env's coverage tools")
    return {k: (v if isinstance(v, str) else None) for k, v in found.items()}


def _too_old(version: str | None) -> bool:
    from packaging.version import InvalidVersion, Version

    if version is None:
        return True
    try:
        return Version(version).release[:2] < MIN_COVERAGE
    except InvalidVersion:
        return True


def ensure_coverage(env: Env, cache_dir: Path | None = None) -> tuple[str, bool, tuple[str, ...]]:
    """`(coverage version, pytest-cov installed, notes)` for `env`, installing coverage with uv
    when the env lacks it (or has one older than 5.0, which has no per-test contexts)."""
    run_env = installer_env(env.root, cache_dir)
    found = _installed(env, run_env)
    notes: list[str] = []
    have = found.get("coverage")
    if _too_old(have):
        _run(
            [uv_bin(), "pip", "install", "--quiet", "--python", str(env.python), "coverage>=5"],
            cwd=env.checkout,
            env=run_env,
            what="`uv pip install coverage`",
            timeout=INSTALL_TIMEOUT,
        )
        found = _installed(env, run_env)
        if found.get("coverage") is None:
            raise VerifyError(f"{env.root}: coverage is still missing after installing it")
        old = f" (replacing coverage {have})" if have else ""
        notes.append(
            f"coverage {found['coverage']} was installed into the fix side's environment{old} "
            "to trace the changed lines"
        )
    return str(found["coverage"]), found.get("pytest-cov") is not None, tuple(notes)


def _pattern(path: Path) -> str:
    # coverage reads these as globs; a glob character in a path becomes `?` (any one character).
    text = path.as_posix()
    for ch in "*?[]":
        text = text.replace(ch, "?")
    return text


def _ini_value(text: str) -> str:
    return text.replace("$", "$$")  # coverage expands $VAR in its configuration files


def _verbose(argv: list[str]) -> list[str]:
    """unittest/Django argv with verbose output, the form whose test ids can be read."""
    if {"-v", "--verbose"} & set(argv):
        return argv
    if "manage.py" in (Path(w).name for w in argv[1:2]) and "test" in argv[2:3]:
        return [*argv[:3], "-v", "2", *argv[3:]]
    if argv[1:3] == ["-m", "unittest"]:
        # `discover` must come first after `-m unittest`; its own options follow it.
        at = 4 if argv[3:4] == ["discover"] else 3
        return [*argv[:at], "-v", *argv[at:]]
    return argv


def prepare_trace(
    command: TestCommand,
    files: Sequence[Path],
    data_dir: Path,
    *,
    coverage_version: str,
    pytest_cov: bool,
) -> LineTrace:
    """The command and environment that measure `files` (absolute) during `command`'s run.

    Data files go into `data_dir` (created if needed; stale files removed).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    for stale in data_dir.iterdir():
        stale.unlink()
    base = data_dir / DATA_NAME
    include = [_pattern(p) for p in files]
    core = {"COVERAGE_CORE": "ctrace"}  # coverage's sys.monitoring core has no contexts yet
    if command.kind is Kind.UNITTEST:
        rcfile = data_dir / "coveragerc"
        lines = [
            "[run]",
            f"data_file = {_ini_value(str(base))}",
            "parallel = True",
            "dynamic_context = test_function",
            "disable_warnings = no-data-collected, module-not-imported, module-not-measured",
            "include =",
            *(f"    {_ini_value(p)}" for p in include),
        ]
        try:
            rcfile.write_text("\n".join(lines) + "\n", encoding="utf-8")
        except OSError as e:
            raise VerifyError(f"{rcfile}: cannot write: {e.strerror}") from e
        argv = _verbose(list(command.argv))
        wrapped = (argv[0], "-m", "coverage", "run", f"--rcfile={rcfile}", *argv[1:])
        return LineTrace(
            TestCommand(wrapped, Kind.UNITTEST, command.source),
            core,
            data_dir,
            f"coverage {coverage_version} (coverage run, test-function contexts)",
        )
    spec = data_dir / "include.json"
    try:
        spec.write_text(json.dumps({"include": include}), encoding="utf-8")
    except OSError as e:
        raise VerifyError(f"{spec}: cannot write: {e.strerror}") from e
    addopts = f"-p {PLUGIN}" + (" --no-cov" if pytest_cov else "")
    notes = (
        ("pytest-cov was turned off (--no-cov) on the fix side: its measurement would stop ours",)
        if pytest_cov
        else ()
    )
    if command.kind is Kind.OTHER:
        notes = (
            *notes,
            f"`{command.display()}` is not run as pytest or unittest; changed lines are traced "
            "only if it runs pytest",
        )
    extra = {
        **core,
        "PYTHONPATH": str(TRACER_DIR),
        "PYTEST_ADDOPTS": addopts,
        DATA_ENV: str(base),
        FILES_ENV: str(spec),
    }
    return LineTrace(
        command,
        extra,
        data_dir,
        f"coverage {coverage_version} (pytest plugin, per-test contexts)",
        notes,
    )


# --- reading the results ------------------------------------------------------------------------


def _contexts(data_dir: Path) -> tuple[dict[Path, dict[int, set[str]]], list[str], bool]:
    """Contexts per line per measured file (resolved path), status errors, and whether any
    data file was written."""
    from coverage import CoverageData
    from coverage.exceptions import CoverageException

    measured: dict[Path, dict[int, set[str]]] = {}
    errors: list[str] = []
    files = sorted(p for p in data_dir.glob(f"{DATA_NAME}.*") if p.is_file())
    for file in files:
        try:
            data = CoverageData(basename=str(file))
            data.read()
            for name in data.measured_files():
                per_line = measured.setdefault(Path(name).resolve(), {})
                for line, contexts in data.contexts_by_lineno(name).items():
                    per_line.setdefault(line, set()).update(contexts)
        except (CoverageException, OSError) as e:
            raise VerifyError(f"{where(file)}: not readable coverage data: {e}") from e
    for status in sorted(data_dir.glob(f"{STATUS_PREFIX}*.json")):
        try:
            item = json.loads(status.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise VerifyError(f"{where(status)}: not readable: {e}") from e
        if isinstance(item, dict) and item.get("error"):
            errors.append(str(item["error"]))
    return measured, list(dict.fromkeys(errors)), bool(files)


def read_lines(
    trace: LineTrace,
    root: Path,
    changes: Mapping[str, Sequence[int]],
    side: SideResult,
) -> LineReport:
    """Each changed line's reach in the run `trace` measured; `root` is the fix checkout's
    repository root and `side` that run's results (which tests passed)."""
    measured, errors, written = _contexts(trace.data_dir)
    passed = {r.id for r in side.results if r.outcome is Outcome.PASSED}
    known = {r.id for r in side.results}
    # Without per-test results a command that exited 0 passed every test it ran.
    all_passed = not side.per_test and side.returncode == 0
    unmatched: set[str] = set()
    notes = [*trace.notes, *errors]
    if not written:
        notes.append("the test run wrote no coverage data, so no changed line could be traced")
    out: list[LineReach] = []
    for path, lines in changes.items():
        file = root / path
        if file.suffix != ".py":
            out.extend(LineReach(path, n, False, (), code=False, note="not Python source")
                       for n in lines)  # fmt: skip
            continue
        try:
            units = code_units(file.read_bytes(), lines)
        except OSError as e:
            raise VerifyError(f"{where(file)}: cannot read: {e.strerror}") from e
        except (SyntaxError, ValueError, tokenize.TokenError) as e:
            out.extend(LineReach(path, n, False, (), code=False,
                                 note=f"does not parse as Python: {e}") for n in lines)  # fmt: skip
            continue
        per_line = measured.get(file.resolve())
        for n in lines:
            unit = units[n]
            if unit is None:
                out.append(LineReach(path, n, False, (), code=False, note=NOT_CODE))
                continue
            contexts = set().union(*((per_line or {}).get(u, set()) for u in unit))
            tests = {c for c in contexts if c}
            ok = tuple(sorted(t for t in tests if all_passed or t in passed))
            unmatched.update(t for t in tests if not all_passed and t not in known)
            note = ""
            if per_line is None and written:
                note = "the tests never imported this file"
            elif "" in contexts and not ok:
                note = "runs only outside tests, at import or collection time"
            out.append(
                LineReach(
                    path,
                    n,
                    bool(ok),
                    ok,
                    outside_tests="" in contexts,
                    other_tests=tuple(sorted(t for t in tests if t not in ok)),
                    note=note,
                )
            )
    if unmatched:
        shown = ", ".join(sorted(unmatched)[:3]) + (", …" if len(unmatched) > 3 else "")
        notes.append(
            f"{len(unmatched)} traced test(s) have no result of their own to tell whether they "
            f"passed, so they do not count: {shown}"
        )
    return LineReport(tuple(out), trace.mechanism, written, tuple(notes))


def changed_files(root: Path, changes: Mapping[str, Sequence[int]]) -> list[Path]:
    """The changed Python files under `root` (absolute, resolved), checking every changed file
    exists and every line is inside it."""
    out: list[Path] = []
    for path, lines in changes.items():
        file = root / path
        try:
            count = len(file.read_bytes().splitlines())
        except FileNotFoundError as e:
            raise VerifyError(f"{where(path)}: no such file on the fix branch") from e
        except OSError as e:
            raise VerifyError(f"{where(file)}: cannot read: {e.strerror}") from e
        beyond = [n for n in lines if n > count]
        if beyond:
            raise VerifyError(
                f"{where(path, beyond[0])}: beyond the end of the file on the fix branch "
                f"({count} lines)"
            )
        if file.suffix == ".py":
            out.append(file.resolve())
    return out
