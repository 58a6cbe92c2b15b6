"""Django settings mitigations: DEBUG from the environment, secure and HTTP-only cookies.

This module owns the Django side of the configuration mitigations. It finds the production
settings module (the one `wsgi.py`/`asgi.py` name through `DJANGO_SETTINGS_MODULE`, else the
one `manage.py` names), asks the project's own `manage.py check --deploy` which security
warnings hold, and edits that module with libcst, keeping everything else byte for byte:
`DEBUG = True` becomes `DEBUG = os.environ.get("DJANGO_DEBUG") == "1"` (reusing an existing
`os` import or alias), `SESSION_COOKIE_SECURE`/`CSRF_COOKIE_SECURE` become `True` when `False`
or absent, `SESSION_COOKIE_HTTPONLY` becomes `True` when `False`. Each edit is kept only if a
second `check --deploy` run on a temporary copy of the project loses at least one security
warning and gains nothing. Values read from the environment or computed, settings assigned
under `if`/`try`, development/local/test settings modules, and turning DEBUG off while
`ALLOWED_HOSTS` is empty are refused with the reason; HSTS and `SECURE_SSL_REDIRECT` are
reported (Tier C), never written. The oracle imports the project's settings, so it runs the
project's code, in a subprocess, with the interpreter given (or the project's virtualenv).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from patchpilot.errors import CodefixError
from patchpilot.fixers.config.interface import (
    ConfigChange,
    ConfigRefusal,
    Mitigation,
    OracleCheck,
    Reason,
)

if TYPE_CHECKING:
    import libcst as cst

_DJANGO = ("pkg:pypi/django",)

DJANGO_DEBUG_ENV = Mitigation(
    id="django-debug-env",
    title="Django: DEBUG comes from the environment, off by default",
    tier="B",
    cwe=("CWE-489", "CWE-215"),
    packages=_DJANGO,
    explanation="""\
### Django: DEBUG off unless the environment turns it on

The production settings module set `DEBUG = True`. With DEBUG on, every error page shows
settings, local variables, SQL and file paths (CWE-215), and Django keeps every SQL query in
memory. The setting now reads `DEBUG = os.environ.get("DJANGO_DEBUG") == "1"`: off unless
`DJANGO_DEBUG=1` is set, which developers can export locally.

**Review:** local development needs `DJANGO_DEBUG=1` from now on (static files are no longer
served by `runserver` without it). `manage.py check --deploy` ran before and after: the
`security.W018` warning is gone and no new warning appeared.
""",
)

DJANGO_SECURE_COOKIES = Mitigation(
    id="django-secure-cookies",
    title="Django: session and CSRF cookies only over HTTPS, session cookie HTTP-only",
    tier="B",
    cwe=("CWE-614", "CWE-1004"),
    packages=_DJANGO,
    explanation="""\
### Django: secure cookie flags

`SESSION_COOKIE_SECURE` and `CSRF_COOKIE_SECURE` now are `True`, so browsers send the session
and CSRF cookies over HTTPS only and a network attacker cannot read them from a plain-HTTP
request (CWE-614). `SESSION_COOKIE_HTTPONLY` is `True` where it had been turned off, so
scripts in the page cannot read the session cookie (CWE-1004).

**Review:** logging in over plain HTTP (for example `runserver` without TLS) no longer keeps
the session. `manage.py check --deploy` ran before and after: the matching `security.W01x`
warnings are gone and no new warning appeared.
""",
)

DJANGO_HSTS = Mitigation(
    id="django-hsts",
    title="Django: SECURE_HSTS_SECONDS is not set (reported only)",
    tier="C",
    cwe=("CWE-319",),
    packages=_DJANGO,
    explanation="""\
### Django: no HSTS

`check --deploy` reports `security.W004`: no `Strict-Transport-Security` header. patchpilot
never sets `SECURE_HSTS_SECONDS`: browsers remember HSTS for the whole period, so a host that
later needs plain HTTP becomes unreachable. Set it by hand, starting with a small value.
""",
)

DJANGO_SSL_REDIRECT = Mitigation(
    id="django-ssl-redirect",
    title="Django: SECURE_SSL_REDIRECT is not set (reported only)",
    tier="C",
    cwe=("CWE-319",),
    packages=_DJANGO,
    explanation="""\
### Django: no redirect to HTTPS

`check --deploy` reports `security.W008`. patchpilot never sets `SECURE_SSL_REDIRECT`: behind
a TLS-terminating proxy without `SECURE_PROXY_SSL_HEADER` every request would redirect to
itself. Redirect at the proxy, or set both settings by hand.
""",
)

MITIGATIONS: tuple[Mitigation, ...] = (
    DJANGO_DEBUG_ENV,
    DJANGO_SECURE_COOKIES,
    DJANGO_HSTS,
    DJANGO_SSL_REDIRECT,
)

DEBUG = "DEBUG"
SESSION_SECURE = "SESSION_COOKIE_SECURE"
CSRF_SECURE = "CSRF_COOKIE_SECURE"
SESSION_HTTPONLY = "SESSION_COOKIE_HTTPONLY"
ALLOWED_HOSTS = "ALLOWED_HOSTS"
HSTS_SECONDS = "SECURE_HSTS_SECONDS"
SSL_REDIRECT = "SECURE_SSL_REDIRECT"

# The settings each mitigation edits, in the order they are tried, and the `check --deploy`
# warnings that say the setting is insecure.
EDITED: tuple[str, ...] = (DEBUG, SESSION_SECURE, CSRF_SECURE, SESSION_HTTPONLY)
WARNINGS: Mapping[str, frozenset[str]] = {
    DEBUG: frozenset({"security.W018"}),
    SESSION_SECURE: frozenset({"security.W010", "security.W011", "security.W012"}),
    CSRF_SECURE: frozenset({"security.W016"}),
    SESSION_HTTPONLY: frozenset({"security.W013", "security.W014", "security.W015"}),
}
_MITIGATION_OF = {
    DEBUG: DJANGO_DEBUG_ENV.id,
    SESSION_SECURE: DJANGO_SECURE_COOKIES.id,
    CSRF_SECURE: DJANGO_SECURE_COOKIES.id,
    SESSION_HTTPONLY: DJANGO_SECURE_COOKIES.id,
}
_W_ALLOWED_HOSTS = "security.W020"
_W_HSTS = "security.W004"
_W_SSL_REDIRECT = "security.W008"
_KEYS = frozenset({*EDITED, ALLOWED_HOSTS, HSTS_SECONDS, SSL_REDIRECT})

_ENV_NAMES = frozenset({"environ", "getenv", "env", "Env", "config", "getenv_bool"})
_DEV_STEMS = frozenset(
    {"dev", "develop", "development", "local", "test", "tests", "testing", "ci", "debug"}
)
_SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".nox",
        "site-packages",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)
_ENTRY_FILES = ("wsgi.py", "asgi.py", "manage.py")
_CHECK_TIMEOUT = 180
_OUTPUT_CHARS = 4000
_CHECK_ID = re.compile(r"\(([a-z_][\w.]*\.[CEWID]\d{3})\)")
_MAX_FILE_BYTES = 2 * 1024 * 1024


# --- facts about a settings module -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assignment:
    """One top-level assignment of a setting: its line, value code and what kind it is.

    `kind`: `true`/`false` (the literals), `empty` (an empty list or tuple), `env` (reads the
    environment), `shared` (assigned together with other names), or `computed`.
    """

    key: str
    line: int
    code: str
    kind: str


@dataclass(slots=True)
class SettingsFacts:
    """What a settings module assigns at top level (last assignment wins) and what it assigns
    only under a compound statement."""

    assigned: dict[str, Assignment] = field(default_factory=dict)
    conditional: dict[str, int] = field(default_factory=dict)
    os_module: str | None = None  # the name `os` is bound to at top level
    environ: str | None = None  # the name `os.environ` is bound to (`from os import environ`)


def _kind(value: cst.BaseExpression) -> str:
    import libcst as cst

    if isinstance(value, cst.Name) and value.value in ("True", "False"):
        return value.value.lower()
    if isinstance(value, cst.List | cst.Tuple) and not value.elements:
        return "empty"
    if _reads_environment(value):
        return "env"
    return "computed"


def _reads_environment(value: cst.CSTNode) -> bool:
    import libcst as cst

    found = False

    class _Finder(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            nonlocal found
            if node.value in _ENV_NAMES:
                found = True

        def visit_Attribute(self, node: cst.Attribute) -> None:
            nonlocal found
            if node.attr.value in ("environ", "getenv"):
                found = True

    value.visit(_Finder())
    return found


def settings_facts(module: cst.Module, lines: Mapping[cst.CSTNode, int]) -> SettingsFacts:
    """Read the top-level assignments of the settings this module's mitigations care about."""
    import libcst as cst

    facts = SettingsFacts()
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                _small_facts(module, small, lines.get(stmt, 0), facts)
        else:
            for key, line in _assigned_inside(stmt, lines):
                facts.conditional.setdefault(key, line)
    return facts


def _small_facts(
    module: cst.Module, small: cst.BaseSmallStatement, line: int, facts: SettingsFacts
) -> None:
    import libcst as cst

    if isinstance(small, cst.Import):
        for alias in small.names:
            dotted = module.code_for_node(alias.name)
            if dotted == "os" or dotted.startswith("os."):
                if alias.asname is None:
                    facts.os_module = "os"
                elif dotted == "os" and isinstance(alias.asname.name, cst.Name):
                    facts.os_module = alias.asname.name.value
        return
    if isinstance(small, cst.ImportFrom):
        if (
            small.relative
            or small.module is None
            or module.code_for_node(small.module) != "os"
            or isinstance(small.names, cst.ImportStar)
        ):
            return
        for alias in small.names:
            if module.code_for_node(alias.name) == "environ":
                bound = alias.asname.name if alias.asname else alias.name
                if isinstance(bound, cst.Name):
                    facts.environ = bound.value
        return
    targets: list[cst.BaseExpression] = []
    value: cst.BaseExpression | None = None
    if isinstance(small, cst.Assign):
        targets = [t.target for t in small.targets]
        value = small.value
    elif isinstance(small, cst.AnnAssign):
        targets = [small.target]
        value = small.value
    elif isinstance(small, cst.AugAssign):
        targets = [small.target]
    names = [t.value for t in targets if isinstance(t, cst.Name)]
    for key in names:
        if key not in _KEYS:
            continue
        if value is None:
            code, kind = module.code_for_node(small), "computed"
        else:
            code = module.code_for_node(value)
            kind = "shared" if len(targets) > 1 else _kind(value)
        facts.assigned[key] = Assignment(key, line, code, kind)
    for target in targets:
        if not isinstance(target, cst.Name):
            for inner in _names_in(target):
                if inner in _KEYS:
                    facts.assigned[inner] = Assignment(
                        inner, line, module.code_for_node(small), "shared"
                    )


def _names_in(node: cst.CSTNode) -> Iterator[str]:
    import libcst as cst

    found: list[str] = []

    class _Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.append(node.value)

    node.visit(_Names())
    yield from found


def _assigned_inside(
    stmt: cst.BaseCompoundStatement | cst.BaseStatement, lines: Mapping[cst.CSTNode, int]
) -> Iterator[tuple[str, int]]:
    """Settings assigned anywhere inside a compound statement (not inside functions or
    classes, whose names are not module settings)."""
    import libcst as cst

    found: list[tuple[str, int]] = []

    class _Assigned(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
            for small in node.body:
                targets: list[cst.BaseExpression] = []
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, cst.AnnAssign | cst.AugAssign):
                    targets = [small.target]
                line = lines.get(node, 0)
                found.extend(
                    (name, line) for t in targets for name in _names_in(t) if name in _KEYS
                )

    if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
        return iter(())
    stmt.visit(_Assigned())
    return iter(found)


@dataclass(slots=True)
class _Module:
    path: Path
    rel: str
    text: str
    tree: cst.Module | None
    facts: SettingsFacts
    error: str | None = None
    error_line: int | None = None


def _read_module(path: Path, root: Path) -> _Module:
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    rel = path.relative_to(root).as_posix()
    try:
        size = path.stat().st_size
        if size > _MAX_FILE_BYTES:
            raise CodefixError(rel, None, f"file too large ({size} bytes)")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise CodefixError(rel, None, f"not UTF-8 text (byte {e.start})") from e
    except OSError as e:
        raise CodefixError(rel, None, f"cannot read: {e.strerror or e}") from e
    try:
        parsed = cst.parse_module(text)
    except cst.ParserSyntaxError as e:
        return _Module(
            path, rel, text, None, SettingsFacts(), f"invalid Python: {e.message}", e.raw_line
        )
    except RecursionError:
        return _Module(path, rel, text, None, SettingsFacts(), "invalid Python: nested too deeply")
    wrapper = MetadataWrapper(parsed)
    positions = wrapper.resolve(PositionProvider)
    lines = {node: pos.start.line for node, pos in positions.items()}
    tree = wrapper.module
    return _Module(path, rel, text, tree, settings_facts(tree, lines))


# --- finding the production settings module --------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """A file that names the settings module: its path, the module and the line."""

    path: Path
    module: str
    line: int

    @property
    def serves(self) -> bool:
        """wsgi.py/asgi.py are what production servers load; manage.py is for commands."""
        return self.path.name != "manage.py"


def _walk_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in _SKIP_DIRS and not d.endswith(".egg-info")
        )
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _settings_module_named(text: str) -> tuple[str, int] | None:
    """The `DJANGO_SETTINGS_MODULE` a manage.py/wsgi.py/asgi.py sets, with its line."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call | ast.Assign):
            continue
        value: ast.expr | None = None
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "DJANGO_SETTINGS_MODULE"
        ):
            value = node.args[1]
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.slice, ast.Constant)
                and target.slice.value == "DJANGO_SETTINGS_MODULE"
            ):
                value = node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value, node.lineno
    return None


def _base_dir(entry: Path) -> Path:
    """The directory the settings module name is resolved from (what is on sys.path)."""
    if entry.name == "manage.py":
        return entry.parent
    here = entry.parent
    while (here / "__init__.py").is_file() and here.parent != here:
        here = here.parent
    return here


def _module_file(base: Path, module: str) -> Path | None:
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", module):
        return None
    parts = module.split(".")
    for candidate in (
        base.joinpath(*parts).with_suffix(".py"),
        base.joinpath(*parts, "__init__.py"),
    ):
        if candidate.is_file():
            return candidate
    return None


def is_dev_module(path: Path) -> bool:
    """A development, local or test settings module, by its name."""
    stem = path.stem.lower()
    if stem == "__init__":
        stem = path.parent.name.lower()
    words = re.split(r"[_\-.]", stem)
    return stem in _DEV_STEMS or any(w in _DEV_STEMS for w in words)


def _is_settings_file(path: Path) -> bool:
    return path.suffix == ".py" and (path.name == "settings.py" or path.parent.name == "settings")


@dataclass(slots=True)
class _Project:
    base: Path
    entries: list[EntryPoint] = field(default_factory=list)


# --- the oracle ------------------------------------------------------------------------------


def find_python(root: Path, base: Path, python: Path | str | None) -> tuple[Path | None, str]:
    """An interpreter that can import Django, and how it was chosen (or why none was)."""
    if python is not None:
        path = Path(python)
        if _imports_django(path):
            return path, f"{path}"
        return None, f"{path} cannot import django"
    candidates = [
        d / sub / "bin" / "python"
        for d in dict.fromkeys((base, root))
        for sub in (".venv", "venv", "env")
    ]
    candidates.append(Path(sys.executable))
    for candidate in candidates:
        if candidate.exists() and _imports_django(candidate):
            return candidate, str(candidate)
    return None, "no interpreter that can import django (the project's .venv or venv, or this one)"


def _imports_django(python: Path) -> bool:
    try:
        done = subprocess.run(
            [str(python), "-c", "import django"],
            check=False,
            capture_output=True,
            timeout=60,
            env=_oracle_env(),
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _oracle_env() -> dict[str, str]:
    env = dict(os.environ)
    # The check must see production defaults: no settings module or debug switch from the
    # caller's shell, and no bytecode written into the copy.
    for name in ("DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG", "PYTHONSTARTUP"):
        env.pop(name, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@dataclass(frozen=True, slots=True)
class CheckRun:
    ok: bool
    ids: frozenset[str]
    command: tuple[str, ...]
    output: str

    @property
    def security(self) -> frozenset[str]:
        return frozenset(i for i in self.ids if i.startswith("security."))


def run_check(python: Path, project: Path, module: str) -> CheckRun:
    """`manage.py check --deploy --settings MODULE` in `project` (or `python -m django` when
    the project has no manage.py), with the warning and error ids it printed."""
    if (project / "manage.py").is_file():
        command = [str(python), "manage.py", "check", "--deploy", "--settings", module]
    else:
        command = [
            str(python),
            "-m",
            "django",
            "check",
            "--deploy",
            "--settings",
            module,
            "--pythonpath",
            ".",
        ]
    try:
        done = subprocess.run(
            command,
            check=False,
            capture_output=True,
            text=True,
            timeout=_CHECK_TIMEOUT,
            cwd=project,
            env=_oracle_env(),
        )
    except subprocess.TimeoutExpired:
        return CheckRun(False, frozenset(), tuple(command), f"timed out after {_CHECK_TIMEOUT} s")
    except OSError as e:
        return CheckRun(False, frozenset(), tuple(command), f"cannot run: {e.strerror or e}")
    output = (done.stderr + done.stdout).replace(f"{project}/", "").strip()
    ids = frozenset(_CHECK_ID.findall(output))
    return CheckRun(done.returncode == 0, ids, tuple(command), output[-_OUTPUT_CHARS:])


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if re.search(r"\.E\d{3}\)|Error|error", line)]
    return (errors or lines or ["no output"])[-1]


# --- editing ---------------------------------------------------------------------------------


def _new_value(key: str, facts: SettingsFacts) -> str:
    if key != DEBUG:
        return "True"
    if facts.os_module is None and facts.environ is not None:
        return f'{facts.environ}.get("DJANGO_DEBUG") == "1"'
    return f'{facts.os_module or "os"}.environ.get("DJANGO_DEBUG") == "1"'


def render(module: _Module, keys: Sequence[str]) -> str:
    """The module's text with `keys` set to their secure values: the effective top-level
    assignment rewritten in place, or a new assignment appended when there is none."""
    import libcst as cst
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    tree = module.tree
    if tree is None or not keys:
        return module.text
    facts = module.facts
    values = {key: _new_value(key, facts) for key in keys}
    in_place = {k for k in keys if k in facts.assigned}
    last: dict[str, cst.SimpleStatementLine] = {}
    for stmt in tree.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                for name in _assigned_names(small):
                    if name in in_place:
                        last[name] = stmt

    class _Set(cst.CSTTransformer):
        def leave_SimpleStatementLine(
            self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
        ) -> cst.SimpleStatementLine:
            wanted = [k for k, s in last.items() if s is original_node]
            if not wanted:
                return updated_node
            body: list[cst.BaseSmallStatement] = []
            for small in updated_node.body:
                names = _assigned_names(small)
                key = names[0] if len(names) == 1 and names[0] in wanted else None
                if key is not None and isinstance(small, cst.Assign | cst.AnnAssign):
                    body.append(small.with_changes(value=cst.parse_expression(values[key])))
                else:
                    body.append(small)
            return updated_node.with_changes(body=body)

    new_tree = tree.visit(_Set())
    added = [k for k in keys if k not in in_place]
    if added:
        statements: list[cst.SimpleStatementLine] = []
        for i, key in enumerate(added):
            stmt = cst.parse_statement(f"{key} = {values[key]}\n")
            if not isinstance(stmt, cst.SimpleStatementLine):  # pragma: no cover - by build
                raise TypeError(stmt)
            if i == 0 and new_tree.body:
                stmt = stmt.with_changes(leading_lines=[cst.EmptyLine()])
            statements.append(stmt)
        new_tree = new_tree.with_changes(body=[*new_tree.body, *statements])
    if DEBUG in keys and facts.os_module is None and facts.environ is None:
        context = CodemodContext()
        AddImportsVisitor.add_needed_import(context, "os")
        new_tree = AddImportsVisitor(context).transform_module(new_tree)
    return new_tree.code


def _assigned_names(small: cst.BaseSmallStatement) -> list[str]:
    import libcst as cst

    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        return [target.value] if isinstance(target, cst.Name) else []
    if isinstance(small, cst.AnnAssign) and small.value is not None:
        return [small.target.value] if isinstance(small.target, cst.Name) else []
    return []


def _line_in(text: str, key: str) -> int:
    """The line of the last top-level assignment of `key` in `text`."""
    found = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"{key}\s*(:[^=]*)?=(?!=)", line):
            found = number
    return found


# --- the mitigation run ----------------------------------------------------------------------


@dataclass(slots=True)
class DjangoOutcome:
    """What the Django mitigations produced: whole-file texts, changes, refusals, checks."""

    texts: dict[str, tuple[str, str]] = field(default_factory=dict)
    changes: list[ConfigChange] = field(default_factory=list)
    refusals: list[ConfigRefusal] = field(default_factory=list)
    checks: list[OracleCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _insecure_literals(facts: SettingsFacts) -> list[tuple[str, int | None, str]]:
    """Settings a module visibly leaves insecure: (key, line, why), without any oracle."""
    found: list[tuple[str, int | None, str]] = []
    debug = facts.assigned.get(DEBUG)
    if debug is not None and debug.kind == "true":
        found.append((DEBUG, debug.line, "DEBUG = True"))
    for key in (SESSION_SECURE, CSRF_SECURE, SESSION_HTTPONLY):
        a = facts.assigned.get(key)
        if a is not None and a.kind == "false":
            found.append((key, a.line, f"{key} = False"))
        elif a is None and key != SESSION_HTTPONLY:
            found.append((key, None, f"{key} is not set (Django's default is False)"))
    return found


def _refusal(
    key: str, module: _Module, line: int | None, reason: Reason, detail: str
) -> ConfigRefusal:
    return ConfigRefusal(_MITIGATION_OF[key], module.rel, line, reason, detail)


def run_django(root: Path, *, python: Path | str | None = None) -> DjangoOutcome:
    """Find, check, edit and validate the production settings of every Django project under
    `root`. Nothing under `root` is written."""
    outcome = DjangoOutcome()
    projects: dict[Path, _Project] = {}
    settings_files: list[Path] = []
    for path in _walk_files(root):
        if path.name in _ENTRY_FILES and not path.is_symlink():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                outcome.notes.append(f"{path.relative_to(root).as_posix()}: not readable")
                continue
            named = _settings_module_named(text)
            if named is not None:
                base = _base_dir(path)
                projects.setdefault(base, _Project(base)).entries.append(
                    EntryPoint(path, named[0], named[1])
                )
        if _is_settings_file(path) and not path.is_symlink():
            settings_files.append(path)
    handled: set[Path] = set()
    for base in sorted(projects):
        handled.update(_run_project(root, projects[base], python, outcome))
    bases = sorted(projects)
    for path in settings_files:
        if path in handled:
            continue
        in_project = any(path.is_relative_to(base) for base in bases)
        dev = is_dev_module(path)
        if in_project and not dev:
            # Part of a project whose production module is known (a shared base module,
            # say): what it leaves insecure shows up in that module's check.
            continue
        module = _read_module(path, root)
        for key, line, what in _insecure_literals(module.facts):
            if dev:
                detail = (
                    f"{what} in a development/local/test settings module; only the "
                    "production settings module is changed"
                )
                outcome.refusals.append(_refusal(key, module, line, Reason.SPLIT_SETTINGS, detail))
            else:
                detail = (
                    f"{what}, but no manage.py, wsgi.py or asgi.py names this module as "
                    "DJANGO_SETTINGS_MODULE, so it cannot be checked"
                )
                outcome.refusals.append(
                    _refusal(key, module, line, Reason.NO_SETTINGS_MODULE, detail)
                )
    return outcome


def _production_entry(project: _Project) -> tuple[EntryPoint | None, str]:
    serving = sorted({e.module for e in project.entries if e.serves})
    if len(serving) > 1:
        return None, "wsgi.py/asgi.py name different settings modules: " + ", ".join(serving)
    if serving:
        return next(e for e in project.entries if e.serves and e.module == serving[0]), ""
    managing = sorted({e.module for e in project.entries})
    if len(managing) > 1:
        return None, "manage.py files name different settings modules: " + ", ".join(managing)
    return next(e for e in project.entries if e.module == managing[0]), ""


def _run_project(
    root: Path, project: _Project, python: Path | str | None, outcome: DjangoOutcome
) -> set[Path]:
    """Mitigate one Django project; the settings files it accounted for."""
    handled: set[Path] = set()
    entry, problem = _production_entry(project)
    named = {e.module: _module_file(project.base, e.module) for e in project.entries}
    for e in project.entries:
        path = named[e.module]
        if path is None:
            outcome.refusals.append(
                ConfigRefusal(
                    DJANGO_DEBUG_ENV.id,
                    e.path.relative_to(root).as_posix(),
                    e.line,
                    Reason.NO_SETTINGS_MODULE,
                    f"DJANGO_SETTINGS_MODULE names {e.module}, which is not in the project",
                )
            )
    prod = named.get(entry.module) if entry is not None else None
    # Settings modules of this project that are not the production one.
    for e in project.entries:
        path = named[e.module]
        if path is None or path == prod or path in handled:
            continue
        handled.add(path)
        module = _read_module(path, root)
        for key, line, what in _insecure_literals(module.facts):
            why = problem or f"the production settings module is {entry.module if entry else '?'}"
            detail = f"{what} in {e.module}, not the production settings module ({why})"
            outcome.refusals.append(_refusal(key, module, line, Reason.SPLIT_SETTINGS, detail))
    if entry is None or prod is None:
        return handled
    handled.add(prod)
    module = _read_module(prod, root)
    if is_dev_module(prod):
        for key, line, what in _insecure_literals(module.facts):
            detail = (
                f"{what} in {entry.module}, a development/local/test settings module; "
                "no production settings module is named"
            )
            outcome.refusals.append(_refusal(key, module, line, Reason.SPLIT_SETTINGS, detail))
        return handled
    if module.tree is None:
        for key in (DEBUG, SESSION_SECURE):
            outcome.refusals.append(
                _refusal(
                    key,
                    module,
                    module.error_line,
                    Reason.INVALID_BEFORE,
                    module.error or "invalid Python",
                )
            )
        return handled
    interpreter, how = find_python(root, project.base, python)
    if interpreter is None:
        _static_only(module, how, outcome)
        return handled
    with tempfile.TemporaryDirectory(prefix="patchpilot-django-") as tmp:
        copy = Path(tmp) / "project"
        _copy_project(project.base, copy)
        _with_oracle(module, entry.module, interpreter, project.base, copy, outcome)
    return handled


def _copy_project(base: Path, copy: Path) -> None:
    shutil.copytree(
        base,
        copy,
        symlinks=True,
        ignore=shutil.ignore_patterns(*_SKIP_DIRS, "*.pyc", "*.egg-info"),
    )


def _guard(key: str, module: _Module, warnings: frozenset[str]) -> tuple[Reason, str] | None:
    """Why `key` must not be edited in this module, if it must not."""
    facts = module.facts
    if key in facts.conditional:
        return Reason.CONDITIONAL, (
            f"{key} is assigned under if/try/for/with (line {facts.conditional[key]}): which "
            "value is in effect is not static"
        )
    current = facts.assigned.get(key)
    if current is not None:
        if current.kind == "env":
            return Reason.ENV_DRIVEN, (
                f"{key} = {current.code} reads the environment; set it there (values read from "
                "the environment are never edited)"
            )
        if current.kind in ("computed", "shared", "empty"):
            return Reason.COMPUTED_VALUE, (
                f"{key} = {current.code} is computed or assigned together with other names; "
                "it is not rewritten"
            )
        insecure = "true" if key == DEBUG else "false"
        if current.kind != insecure:
            return Reason.OVERRIDDEN, (
                f"{key} is {current.code} here but not in effect: something after this line "
                "(an import or a later module) sets it again"
            )
    if key == DEBUG and _W_ALLOWED_HOSTS in warnings:
        return Reason.ALLOWED_HOSTS_EMPTY, (
            "ALLOWED_HOSTS is empty: with DEBUG off, runserver refuses to start and every "
            "request is rejected; set ALLOWED_HOSTS first"
        )
    return None


def _static_only(module: _Module, how: str, outcome: DjangoOutcome) -> None:
    """No oracle: report what the module visibly leaves insecure, changing nothing."""
    facts = module.facts
    for key, line, what in _insecure_literals(facts):
        static_warnings = frozenset({_W_ALLOWED_HOSTS}) if _hosts_empty(facts) else frozenset()
        guard = _guard(key, module, static_warnings)
        if guard is not None:
            outcome.refusals.append(_refusal(key, module, line, guard[0], guard[1]))
            continue
        detail = f"{what}, but `manage.py check --deploy` cannot be run: {how}"
        outcome.refusals.append(_refusal(key, module, line, Reason.NO_ORACLE, detail))
    _tier_c_static(module, outcome)


def _hosts_empty(facts: SettingsFacts) -> bool:
    hosts = facts.assigned.get(ALLOWED_HOSTS)
    return hosts is None or hosts.kind == "empty"


def _tier_c_static(module: _Module, outcome: DjangoOutcome) -> None:
    facts = module.facts
    hsts = facts.assigned.get(HSTS_SECONDS)
    if hsts is None or hsts.code.strip() in ("0", "None"):
        outcome.refusals.append(_tier_c(DJANGO_HSTS, module, hsts))
    redirect = facts.assigned.get(SSL_REDIRECT)
    if redirect is None or redirect.kind == "false":
        outcome.refusals.append(_tier_c(DJANGO_SSL_REDIRECT, module, redirect))


_TIER_C_WHY = {
    DJANGO_HSTS.id: "browsers remember HSTS, so a host that later needs plain HTTP breaks",
    DJANGO_SSL_REDIRECT.id: "behind a TLS-terminating proxy without SECURE_PROXY_SSL_HEADER "
    "every request redirects to itself",
}


def _tier_c(mitigation: Mitigation, module: _Module, at: Assignment | None) -> ConfigRefusal:
    setting = HSTS_SECONDS if mitigation is DJANGO_HSTS else SSL_REDIRECT
    return ConfigRefusal(
        mitigation.id,
        module.rel,
        None if at is None else at.line,
        Reason.TIER_C,
        f"{setting} is not enabled; it is never set automatically: " + _TIER_C_WHY[mitigation.id],
    )


def _with_oracle(
    module: _Module,
    settings: str,
    python: Path,
    base: Path,
    copy: Path,
    outcome: DjangoOutcome,
) -> None:
    target = copy / module.path.relative_to(base)
    before = run_check(python, copy, settings)
    outcome.checks.append(_as_check(module, before, "before", None))
    if not before.ok:
        failure = _last_line(before.output)
        for key, line, what in _insecure_literals(module.facts):
            detail = f"{what}; `manage.py check --deploy` fails on the untouched project: {failure}"
            outcome.refusals.append(_refusal(key, module, line, Reason.INVALID_BEFORE, detail))
        return
    facts = module.facts
    if _W_HSTS in before.ids:
        outcome.refusals.append(_tier_c(DJANGO_HSTS, module, facts.assigned.get(HSTS_SECONDS)))
    if _W_SSL_REDIRECT in before.ids:
        outcome.refusals.append(
            _tier_c(DJANGO_SSL_REDIRECT, module, facts.assigned.get(SSL_REDIRECT))
        )
    kept: list[str] = []
    current = before
    for key in EDITED:
        warned = WARNINGS[key] & before.ids
        if not warned:
            continue
        at = facts.assigned.get(key)
        line = facts.conditional.get(key) if at is None else at.line
        guard = _guard(key, module, before.ids)
        if guard is not None:
            outcome.refusals.append(_refusal(key, module, line, guard[0], guard[1]))
            continue
        text = render(module, [*kept, key])
        target.write_text(text, encoding="utf-8")
        after = run_check(python, copy, settings)
        outcome.checks.append(_as_check(module, after, "after", key))
        new_ids = after.ids - current.ids
        if after.ok and after.security < current.security and not new_ids:
            kept.append(key)
            current = after
            continue
        outcome.refusals.append(
            _refusal(
                key,
                module,
                line,
                Reason.POSTCONDITION_CHECK_DEPLOY,
                _postcondition_detail(current, after),
            )
        )
    final = render(module, kept)
    target.write_text(final, encoding="utf-8")
    if not kept:
        return
    outcome.texts[module.rel] = (module.text, final)
    for key in kept:
        at = facts.assigned.get(key)
        outcome.changes.append(
            ConfigChange(
                mitigation=_MITIGATION_OF[key],
                path=module.rel,
                line=_line_in(final, key),
                key=key,
                before=None if at is None else at.code,
                after=_new_value(key, facts),
                description=_describe(key, at, sorted(WARNINGS[key] & before.ids)),
            )
        )


def _describe(key: str, at: Assignment | None, warnings: Sequence[str]) -> str:
    was = "unset" if at is None else at.code
    fixed = ", ".join(warnings)
    if key == DEBUG:
        return f"DEBUG {was} → off unless DJANGO_DEBUG=1 (clears {fixed})"
    return f"{key} {was} → True (clears {fixed})"


def _postcondition_detail(before: CheckRun, after: CheckRun) -> str:
    if not after.ok:
        return f"`check --deploy` fails with the edit: {_last_line(after.output)}"
    new = sorted(after.ids - before.ids)
    if new:
        return "`check --deploy` reports new issues with the edit: " + ", ".join(new)
    still = sorted(after.security)
    return (
        "`check --deploy` loses no security warning with the edit (still: "
        + (", ".join(still) or "none")
        + "): the setting is overridden elsewhere"
    )


def _as_check(module: _Module, run: CheckRun, stage: str, trying: str | None) -> OracleCheck:
    return OracleCheck(
        tool="manage.py check --deploy",
        target=module.rel,
        stage=stage,
        ok=run.ok,
        command=run.command,
        output=run.output,
        warnings=tuple(sorted(run.ids)),
        trying=trying,
    )
