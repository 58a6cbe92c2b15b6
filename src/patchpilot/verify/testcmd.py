"""Which command runs a project's tests, and the `[verify]` table of `.patchpilot.toml`.

`detect_test_command` looks, in this order, for: `[verify] test-command = [...]` in
`.patchpilot.toml`; an explicit pytest configuration (`[tool.pytest.ini_options]` in
pyproject.toml, pytest.ini, `[tool:pytest]` in setup.cfg, `[pytest]` in tox.ini, a top-level
conftest.py); Django's `manage.py test`; a tests/ (or test/) directory holding `test_*.py` or
`*_test.py` files (pytest); tox and nox, whose underlying command is run directly in our own
environment rather than through tox/nox (which would build environments of their own from
unlocked `deps`): the `commands` of tox's `[testenv]`, or the `session.run(...)` of a nox
session named like `test*`, when that is a literal command; and last a Makefile `test` target.
Nothing found is a `VerifyError` saying how to configure one. Files are only read (TOML,
INI, Python's AST), never executed.
"""

from __future__ import annotations

import ast
import configparser
import re
import shlex
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from patchpilot.errors import VerifyError, where

CONFIG_FILE = ".patchpilot.toml"
DEFAULT_TIMEOUT = 900.0


class Kind(StrEnum):
    """How results are read: pytest (JUnit XML), unittest-style output, or the exit status."""

    PYTEST = "pytest"
    UNITTEST = "unittest"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class TestCommand:
    """A test command; `python` as its first word means the environment's interpreter."""

    argv: tuple[str, ...]
    kind: Kind
    source: str

    __test__ = False  # not a pytest test class, despite the name

    def display(self) -> str:
        return shlex.join(self.argv)


@dataclass(frozen=True, slots=True)
class VerifyConfig:
    """The `[verify]` table: an explicit test command and the per-run timeout (seconds)."""

    test_command: TestCommand | None = None
    timeout: float = DEFAULT_TIMEOUT


PYTEST = ("python", "-m", "pytest")


def kind_of(argv: tuple[str, ...]) -> Kind:
    """pytest when the command runs pytest, unittest for Django's and unittest's runners."""
    words = [Path(w).name for w in argv[:4]]
    if words[:1] in (["pytest"], ["py.test"]) or words[1:3] == ["-m", "pytest"]:
        return Kind.PYTEST
    if words[1:3] == ["-m", "unittest"] or (
        len(words) >= 3 and words[1:3] == ["manage.py", "test"]
    ):
        return Kind.UNITTEST
    return Kind.OTHER


def read_config(project: Path) -> VerifyConfig:
    """The `[verify]` table of `project/.patchpilot.toml` (defaults when absent)."""
    path = project / CONFIG_FILE
    if not path.is_file():
        return VerifyConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise VerifyError(f"{path}: cannot read: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise VerifyError(f"{path}: not valid TOML: {e}") from e
    table = data.get("verify", {})
    if not isinstance(table, dict):
        raise VerifyError(f"{where(path, 'verify')}: must be a table")
    command: TestCommand | None = None
    raw = table.get("test-command")
    if raw is not None:
        if isinstance(raw, str):
            raw = shlex.split(raw)
        if not isinstance(raw, list) or not raw or not all(isinstance(w, str) and w for w in raw):
            raise VerifyError(
                f"{where(path, 'verify.test-command')}: must be a non-empty list of strings "
                '(e.g. ["python", "-m", "pytest", "-q"])'
            )
        argv = tuple(raw)
        command = TestCommand(argv, kind_of(argv), f"{CONFIG_FILE}: verify.test-command")
    timeout = table.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise VerifyError(f"{where(path, 'verify.timeout')}: must be a positive number of seconds")
    return VerifyConfig(command, float(timeout))


def _pytest_config(project: Path) -> str | None:
    pyproject = project / "pyproject.toml"
    if pyproject.is_file():
        try:
            tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise VerifyError(f"{pyproject}: cannot read: {e}") from e
        if isinstance(tool, dict) and "pytest" in tool:
            return "pyproject.toml: tool.pytest"
    if (project / "pytest.ini").is_file():
        return "pytest.ini"
    for name, section in (("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
        ini = _ini(project / name)
        if ini is not None and ini.has_section(section):
            return f"{name}: [{section}]"
    if (project / "conftest.py").is_file():
        return "conftest.py"
    return None


def _ini(path: Path) -> configparser.RawConfigParser | None:
    if not path.is_file():
        return None
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (OSError, UnicodeDecodeError, configparser.Error) as e:
        raise VerifyError(f"{path}: cannot read: {e}") from e
    return parser


def _tests_dir(project: Path) -> str | None:
    for name in ("tests", "test"):
        d = project / name
        if d.is_dir() and (any(d.rglob("test_*.py")) or any(d.rglob("*_test.py"))):
            return f"{name}/"
    return None


_POSARGS = re.compile(r"\{posargs(?::([^}]*))?\}")


def _tox_command(project: Path) -> TestCommand | None:
    ini = _ini(project / "tox.ini")
    if ini is None or not ini.has_option("testenv", "commands"):
        return None
    lines: list[str] = []
    for line in ini.get("testenv", "commands").splitlines():
        text = _POSARGS.sub(lambda m: m.group(1) or "", line).strip()
        if text and not text.startswith("#"):
            lines.append(text)
    source = "tox.ini: testenv.commands"
    for text in lines:
        if "{" in text or text.startswith("-"):
            continue
        try:
            argv = tuple(shlex.split(text))
        except ValueError:
            continue
        if argv and (kind_of(argv) is Kind.PYTEST or len(lines) == 1):
            return TestCommand(argv, kind_of(argv), source)
    raise VerifyError(
        f"{where(project / 'tox.ini', 'testenv.commands')}: no single literal test command "
        f"to run; set [verify] test-command in {CONFIG_FILE}"
    )


def _nox_command(project: Path) -> TestCommand | None:
    path = project / "noxfile.py"
    if not path.is_file():
        return None
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as e:
        raise VerifyError(f"{path}: cannot read: {e}") from e
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not node.name.startswith("test"):
            continue
        for call in ast.walk(node):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "run"
            ):
                continue
            words = [a.value for a in call.args if isinstance(a, ast.Constant)]
            if len(words) != len(call.args) or not all(isinstance(w, str) for w in words):
                continue
            argv = tuple(str(w) for w in words)
            if argv:
                return TestCommand(argv, kind_of(argv), f"noxfile.py:{call.lineno}")
    raise VerifyError(
        f"{path}: no test session with a literal `session.run(...)` command; "
        f"set [verify] test-command in {CONFIG_FILE}"
    )


_MAKE_TEST = re.compile(r"^test\s*:(?!=)", re.MULTILINE)


def detect_test_command(project: Path, config: VerifyConfig | None = None) -> TestCommand:
    """The command that runs `project`'s tests (see the module text for the order)."""
    config = config or read_config(project)
    if config.test_command is not None:
        return config.test_command
    found = _pytest_config(project)
    if found is not None:
        return TestCommand(PYTEST, Kind.PYTEST, found)
    if (project / "manage.py").is_file():
        return TestCommand(("python", "manage.py", "test"), Kind.UNITTEST, "manage.py")
    found = _tests_dir(project)
    if found is not None:
        return TestCommand(PYTEST, Kind.PYTEST, found)
    command = _tox_command(project) or _nox_command(project)
    if command is not None:
        return command
    makefile = project / "Makefile"
    if makefile.is_file():
        try:
            text = makefile.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise VerifyError(f"{makefile}: cannot read: {e}") from e
        if _MAKE_TEST.search(text):
            return TestCommand(("make", "test"), Kind.OTHER, "Makefile: test")
    raise VerifyError(
        f"{project}: no test command found; set [verify] test-command in {CONFIG_FILE}"
    )
