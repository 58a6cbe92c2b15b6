"""Isolated virtual environments for test runs, built with uv from what the project locks.

`build_env` makes one virtualenv per checkout (one per side of a fix) with the `uv` binary of
the installed `uv` package, on the lowest installed CPython that satisfies the project's
`requires-python` (uv lists the installed interpreters; it never downloads one here:
`UV_PYTHON_DOWNLOADS=never`). It then installs the project's dependencies as locked:

- `uv.lock` → `uv sync --frozen --all-groups` into that env (`UV_PROJECT_ENVIRONMENT`), the
  project itself editable, exactly the locked versions, dev groups included;
- `poetry.lock` → `poetry install --all-groups --no-interaction` inside the env
  (`VIRTUAL_ENV`): Poetry itself is the only tool that reads its lock with all its markers and
  sources faithfully, and it installs into an activated virtualenv;
- requirements files (`requirements*.txt`, `*requirements.txt`, `requirements/*.txt`) →
  `uv pip install -r …`, plus the project itself editable when it has a pyproject.toml or
  setup.py;
- nothing locked but a pyproject.toml or setup.py → the project itself, editable.

pytest is added when the test command needs it and the lock does not bring it. uv's cache makes
the second side fast (same wheels, linked or copied from the cache). Installing may run the
project's build backend (a setup.py, build hooks): that happens in uv's or Poetry's own
processes, never in patchpilot's. The installers keep the caller's environment (a private
index's credentials live there); only the test runs get a scrubbed one (see `runner`).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from patchpilot.errors import VerifyError
from patchpilot.events import Reporter

# Variables that would point uv, Poetry or pip at another environment or interpreter than the
# one being built.
_REDIRECTING_ENV = (
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "UV_PYTHON",
    "UV_PROJECT_ENVIRONMENT",
    "UV_SYSTEM_PYTHON",
    "UV_NO_SYNC",
    "UV_FROZEN",
    "UV_LOCKED",
    "PIP_PYTHON",
    "PYTHONPATH",
    "PYTHONHOME",
    "POETRY_VIRTUALENVS_PATH",
    "POETRY_VIRTUALENVS_IN_PROJECT",
    "POETRY_VIRTUALENVS_CREATE",
)
INSTALL_TIMEOUT = 900.0
_ERROR_LINES = 12
TASK = "verify: environment"


@dataclass(frozen=True, slots=True)
class Env:
    """A built virtualenv: where it is, its interpreter, and how its packages got there."""

    root: Path
    python: Path
    python_version: str
    checkout: Path
    installer: str
    seconds: float

    @property
    def bin_dir(self) -> Path:
        return self.python.parent


def uv_bin() -> str:
    """The uv executable that ships with the installed `uv` package."""
    try:
        from uv import find_uv_bin
    except ImportError as e:  # pragma: no cover - uv is a declared dependency
        raise VerifyError("the `uv` package is not installed: pip install uv") from e
    try:
        return str(find_uv_bin())
    except FileNotFoundError as e:  # pragma: no cover - a broken uv installation
        raise VerifyError(f"the uv binary is missing from the uv package: {e}") from e


def installer_env(env_dir: Path, cache_dir: Path | None) -> dict[str, str]:
    """The environment uv and Poetry run with: the caller's, pointed at `env_dir`."""
    env = {k: v for k, v in os.environ.items() if k not in _REDIRECTING_ENV}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_PROJECT_ENVIRONMENT"] = str(env_dir)
    env["UV_NO_PROGRESS"] = "1"
    env["POETRY_VIRTUALENVS_CREATE"] = "false"
    env["POETRY_NO_INTERACTION"] = "1"
    if cache_dir is not None:
        env["UV_CACHE_DIR"] = str(cache_dir)
    return env


def _run(
    argv: list[str], *, cwd: Path, env: dict[str, str], what: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise VerifyError(f"{cwd}: {what} did not finish within {timeout:g} s") from e
    except OSError as e:
        raise VerifyError(f"{cwd}: cannot run {argv[0]}: {e.strerror or e}") from e
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).strip().splitlines() if ln.strip()]
        shown = "\n  ".join(lines[-_ERROR_LINES:])
        raise VerifyError(f"{cwd}: {what} failed (exit {proc.returncode}):\n  {shown}")
    return proc


def requires_python(checkout: Path) -> str | None:
    """The project's `requires-python` (pyproject.toml, else uv.lock), if it states one."""
    for name, keys in (("pyproject.toml", ("project", "requires-python")), ("uv.lock", ())):
        path = checkout / name
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise VerifyError(f"{path}: cannot read: {e}") from e
        value: object = data
        for key in keys or ("requires-python",):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
        if value is not None:
            raise VerifyError(f"{path}: requires-python: not a string")
    return None


def installed_pythons(uv: str, env: dict[str, str]) -> list[tuple[str, str]]:
    """(version, path) of every installed CPython uv finds, in uv's order of preference."""
    proc = _run(
        [uv, "python", "list", "--only-installed", "--output-format", "json"],
        cwd=Path.cwd(),
        env=env,
        what="`uv python list`",
        timeout=120,
    )
    try:
        entries = json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise VerifyError(f"`uv python list` printed no JSON: {e}") from e
    found: list[tuple[str, str]] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("implementation") != "cpython":
            continue
        version, path = entry.get("version"), entry.get("path")
        if isinstance(version, str) and isinstance(path, str):
            found.append((version, path))
    return found


def choose_python(spec: str | None, pythons: list[tuple[str, str]], where: Path) -> str:
    """The path of the lowest installed Python satisfying `spec` (the first listed on a tie)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        wanted = SpecifierSet(spec or "")
    except InvalidSpecifier as e:
        raise VerifyError(f"{where}: requires-python {spec!r} is not a version range") from e
    best: tuple[Version, int, str] | None = None
    for order, (text, path) in enumerate(pythons):
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if version.is_prerelease or not wanted.contains(version):
            continue
        if best is None or (version, order) < best[:2]:
            best = (version, order, path)
    if best is None:
        have = ", ".join(sorted({v for v, _ in pythons})) or "none"
        raise VerifyError(
            f"{where}: no installed Python satisfies requires-python {spec!r} "
            f"(installed: {have}); install one, or pass a Python explicitly"
        )
    return best[2]


_REQUIREMENT_GLOBS = (
    "requirements*.txt",
    "*requirements.txt",
    "requirements/*.txt",
)


def requirement_files(checkout: Path) -> list[Path]:
    """The project's requirements files, every variant (dev and test ones included)."""
    found: set[Path] = set()
    for pattern in _REQUIREMENT_GLOBS:
        found.update(p for p in checkout.glob(pattern) if p.is_file())
    return sorted(found)


def _has_module(python: Path, module: str, env: dict[str, str]) -> bool:
    # Asked of the env's interpreter: the env is never imported into patchpilot's process.
    proc = subprocess.run(
        [
            str(python),
            "-I",
            "-c",
            f"import importlib.util,sys; sys.exit(importlib.util.find_spec({module!r}) is None)",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
        timeout=60,
    )
    return proc.returncode == 0


def _env_python(root: Path) -> Path:
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def build_env(
    checkout: Path,
    *,
    python: str | None = None,
    cache_dir: Path | None = None,
    env_dir: Path | None = None,
    need_pytest: bool = True,
    reporter: Reporter | None = None,
    timeout: float = INSTALL_TIMEOUT,
) -> Env:
    """A virtualenv with `checkout`'s locked dependencies installed (see the module text).

    `python` overrides the interpreter choice (a version like `3.12` or a path); `env_dir`
    defaults to a new temporary directory the caller removes (`Env.root`).
    """
    report = reporter or Reporter()
    started = time.monotonic()
    checkout = checkout.resolve()
    uv = uv_bin()
    root = env_dir or Path(tempfile.mkdtemp(prefix="patchpilot-env-"))
    env = installer_env(root, cache_dir)
    report.start(TASK, 3)
    if python is None:
        spec = requires_python(checkout)
        python = choose_python(spec, installed_pythons(uv, env), checkout)
    report.advance(TASK, 1, f"python {python}")
    _run(
        [uv, "venv", "--quiet", "--allow-existing", "--python", python, str(root)],
        cwd=checkout,
        env=env,
        what=f"`uv venv --python {python}`",
        timeout=timeout,
    )
    interpreter = _env_python(root)
    has_project = (checkout / "pyproject.toml").is_file() or (checkout / "setup.py").is_file()
    if (checkout / "uv.lock").is_file() and (checkout / "pyproject.toml").is_file():
        installer = "uv sync --frozen --all-groups"
        argv = [uv, "sync", "--frozen", "--all-groups", "--quiet", "--python", str(interpreter)]
        _run(argv, cwd=checkout, env=env, what=f"`{installer}`", timeout=timeout)
    elif (checkout / "poetry.lock").is_file() and (checkout / "pyproject.toml").is_file():
        installer = "poetry install --all-groups"
        env["VIRTUAL_ENV"] = str(root)
        env["PATH"] = str(interpreter.parent) + os.pathsep + env.get("PATH", "")
        _run(
            [_poetry_bin(), "install", "--all-groups", "--no-interaction", "--no-ansi"],
            cwd=checkout,
            env=env,
            what=f"`{installer}`",
            timeout=timeout,
        )
    else:
        files = requirement_files(checkout)
        argv = [uv, "pip", "install", "--quiet", "--python", str(interpreter)]
        for f in files:
            argv += ["-r", str(f.relative_to(checkout))]
        if has_project:
            argv += ["-e", "."]
        installer = " ".join(["uv pip install", *argv[6:]]) if len(argv) > 6 else "nothing"
        if len(argv) > 6:
            _run(argv, cwd=checkout, env=env, what=f"`{installer}`", timeout=timeout)
    report.advance(TASK, 1, installer)
    if need_pytest and not _has_module(interpreter, "pytest", env):
        _run(
            [uv, "pip", "install", "--quiet", "--python", str(interpreter), "pytest"],
            cwd=checkout,
            env=env,
            what="`uv pip install pytest`",
            timeout=timeout,
        )
        installer += " + pytest"
    report.advance(TASK, 1, "ready")
    report.finish(TASK)
    version = _run(
        [str(interpreter), "-I", "-c", "import platform; print(platform.python_version())"],
        cwd=checkout,
        env=env,
        what="the env's python",
        timeout=60,
    ).stdout.strip()
    return Env(
        root=root,
        python=interpreter,
        python_version=version,
        checkout=checkout,
        installer=installer,
        seconds=time.monotonic() - started,
    )


def _poetry_bin() -> str:
    import shutil
    import sys

    beside = Path(sys.executable).parent / "poetry"
    if beside.is_file():
        return str(beside)
    found = shutil.which("poetry")
    if found is None:
        raise VerifyError(
            "a poetry.lock project needs Poetry to install it: pip install 'patchpilot[poetry]'"
        )
    return found
