"""pytest plugin `patchpilot_lines`: per-test line coverage of the files a fix changed.

Loaded inside the project's test process with `-p patchpilot_lines` (this directory on
PYTHONPATH), in an environment that has coverage.py installed. `PATCHPILOT_LINES_DATA` is the
base name of the coverage data files and `PATCHPILOT_LINES_FILES` a JSON file
`{"include": [patterns]}` restricting measurement to the changed files, so the rest of the
project runs at full speed. Coverage starts before the project's conftest files are loaded (so
import-time lines are seen) and switches its dynamic context to the pytest node id when each
test starts (setup, call and teardown alike) and back to the empty context when it ends: lines
run at import or collection time carry no test. Each process (pytest-xdist workers too) writes
its own data file (coverage's `.host.pid.random` suffix), and a JSON status file beside it
with the coverage version, the number of tests seen and any error. The plugin imports
only the standard library and coverage, and never lets its own failure break the test run.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

DATA_ENV = "PATCHPILOT_LINES_DATA"
FILES_ENV = "PATCHPILOT_LINES_FILES"
STATUS_PREFIX = "status-"


class _State:
    """Everything the plugin keeps for one process."""

    def __init__(self) -> None:
        self.cov: Any = None
        self.started = False
        self.finished = False
        self.tests_run = 0
        self.version = ""
        self.error = ""


_S = _State()


def _start() -> None:
    if _S.started:
        return
    _S.started = True
    base = os.environ.get(DATA_ENV, "")
    if not base:
        return
    try:
        spec = json.loads(Path(os.environ.get(FILES_ENV, "")).read_text(encoding="utf-8"))
        include = [str(p) for p in spec["include"]]
        import coverage

        _S.version = str(coverage.__version__)
        if coverage.version_info < (5, 0):
            _S.error = f"coverage {_S.version} cannot switch contexts (5.0 or later needed)"
            return
        cov = coverage.Coverage(
            data_file=base, data_suffix=True, config_file=False, include=include
        )
        with warnings.catch_warnings():
            # The project's own warning filters (often "error") must not see coverage's.
            warnings.simplefilter("ignore")
            cov.start()
            cov.switch_context("")
        _S.cov = cov
    except Exception as e:  # recorded in the status file, never raised into the test run
        _S.error = f"cannot start coverage: {type(e).__name__}: {e}"
        _S.cov = None


def _switch(context: str) -> None:
    if _S.cov is None:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _S.cov.switch_context(context)
    except Exception as e:
        _S.error = f"cannot switch context: {type(e).__name__}: {e}"


def _finish() -> None:
    if _S.finished or not _S.started:
        return
    _S.finished = True
    base = os.environ.get(DATA_ENV, "")
    if not base:
        return
    if _S.cov is not None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _S.cov.stop()
                _S.cov.save()
        except Exception as e:
            _S.error = f"cannot save coverage data: {type(e).__name__}: {e}"
    status = {
        "version": 1,
        "coverage": _S.version,
        "python": ".".join(str(n) for n in sys.version_info[:3]),
        "worker": os.environ.get("PYTEST_XDIST_WORKER", ""),
        "tests_run": _S.tests_run,
        "error": _S.error,
    }
    out = Path(base).with_name(f"{STATUS_PREFIX}{os.getpid()}.json")
    try:
        out.write_text(json.dumps(status), encoding="utf-8")
    except OSError as e:
        sys.stderr.write(f"patchpilot_lines: cannot write {out}: {e}\n")


# pytest hooks. Arguments are typed loosely: the project's pytest version is not ours to pick.


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: Any, parser: Any, args: Any) -> None:
    # Called for `-p` plugins before the project's conftest files import its code.
    _start()


def pytest_configure(config: Any) -> None:
    _start()


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    _S.tests_run += 1
    _switch(nodeid)


def pytest_runtest_logfinish(nodeid: str, location: object) -> None:
    _switch("")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: Any, exitstatus: object) -> None:
    _finish()


def pytest_unconfigure(config: Any) -> None:
    _finish()
