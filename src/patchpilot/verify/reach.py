"""Test-reach evidence: activate the tracer in a project's test run and read what it saw.

`reach_env` writes the targets for the tracer plugin (`_tracer/patchpilot_reach.py`) and
returns the environment variables that load it into the test process the runner starts:
the plugin directory prefixed to `PYTHONPATH`, `-p patchpilot_reach` in `PYTEST_ADDOPTS`,
and the targets and results files. Nothing of the project runs in this process: the runner
starts the tests in their own environment. `read_reach` reads the results file (and the
per-worker files pytest-xdist leaves) into `ReachEvidence`: for each target whether a test
executed it, which tests, and one call path from project code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from patchpilot.errors import VerifyError, where
from patchpilot.verify.targets import Target

TRACER_DIR = Path(__file__).resolve().parent / "_tracer"
PLUGIN = "patchpilot_reach"
TARGETS_ENV = "PATCHPILOT_REACH_TARGETS"
OUT_ENV = "PATCHPILOT_REACH_OUT"
OUTSIDE_TESTS = "<outside tests>"


@dataclass(frozen=True, slots=True)
class TargetReach:
    """What the tests did with one target.

    `call_path` is `file:line` frames from project code, outermost first, at the first hit;
    `note` says why an unresolved target could not be watched (import failed, native code).
    """

    target: Target
    executed: bool
    tests: tuple[str, ...]
    call_path: tuple[str, ...]
    resolved: bool
    note: str = ""

    @property
    def call_site(self) -> str:
        """The innermost project frame: where project code enters the package."""
        return self.call_path[-1] if self.call_path else ""


@dataclass(frozen=True, slots=True)
class ReachEvidence:
    """Which targets the test run executed, and by which tests."""

    targets: tuple[TargetReach, ...]
    mechanism: str
    python: str
    tests_run: int
    error: str = ""

    @property
    def executed(self) -> tuple[TargetReach, ...]:
        return tuple(t for t in self.targets if t.executed)

    @property
    def tests(self) -> tuple[str, ...]:
        """Test ids that executed at least one target (sorted)."""
        return tuple(sorted({test for t in self.targets for test in t.tests}))

    @property
    def share(self) -> float:
        """The share of targets executed (0.0 when there are none)."""
        return len(self.executed) / len(self.targets) if self.targets else 0.0

    def summary(self) -> str:
        """One line: `14 tests execute code changed by the fix (yaml.load via app/config.py:12)`."""
        if not self.targets:
            return "no target functions to trace"
        what = (
            "the vulnerable functions the advisory names"
            if all(t.target.source == "advisory" for t in self.targets)
            else "code changed by the fix"
        )
        executed = self.executed
        if not executed:
            unresolved = sum(1 for t in self.targets if not t.resolved)
            extra = f"; {unresolved} could not be traced" if unresolved else ""
            return f"no test executes {what} (0 of {len(self.targets)} targets{extra})"
        tests = [t for t in self.tests if t != OUTSIDE_TESTS]
        first = max(executed, key=lambda t: (len(t.tests), t.target.id))
        via = f" via {first.call_site}" if first.call_site else ""
        noun = "test executes" if len(tests) == 1 else "tests execute"
        return (
            f"{len(tests)} {noun} {what} ({first.target.dotted}{via}); "
            f"{len(executed)} of {len(self.targets)} targets executed"
        )


def write_targets(targets: Sequence[Target], path: Path) -> None:
    """Write the tracer's targets file."""
    data = {
        "version": 1,
        "targets": [{"id": t.id, "module": t.module, "qualname": t.qualname} for t in targets],
    }
    try:
        path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    except OSError as e:
        raise VerifyError(f"{where(path)}: cannot write the tracer's targets: {e.strerror}") from e


def reach_env(
    targets: Sequence[Target], out_path: Path, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment variables that make a pytest run record `targets` into `out_path`.

    Writes the targets beside `out_path` (`<out>.targets.json`) and removes stale results.
    With `base` (the environment the runner will use), `PYTHONPATH` and `PYTEST_ADDOPTS`
    keep their values after the tracer's; the result holds only the keys to set.
    """
    out_path = Path(out_path).resolve()
    targets_file = out_path.with_name(out_path.name + ".targets.json")
    write_targets(targets, targets_file)
    for stale in _result_files(out_path):
        stale.unlink(missing_ok=True)
    base = base or {}
    pythonpath = os.pathsep.join(p for p in (str(TRACER_DIR), base.get("PYTHONPATH", "")) if p)
    addopts = " ".join(p for p in (f"-p {PLUGIN}", base.get("PYTEST_ADDOPTS", "")) if p)
    return {
        "PYTHONPATH": pythonpath,
        "PYTEST_ADDOPTS": addopts,
        TARGETS_ENV: str(targets_file),
        OUT_ENV: str(out_path),
    }


def _result_files(out_path: Path) -> list[Path]:
    # pytest-xdist workers write `<out>.gw0`, `<out>.gw1`, ...
    found = [out_path] if out_path.exists() else []
    found.extend(sorted(out_path.parent.glob(out_path.name + ".gw*")))
    return found


def read_reach(out_path: Path, targets: Sequence[Target]) -> ReachEvidence:
    """Read the tracer's results for `targets`; raises `VerifyError` when none were written."""
    files = _result_files(Path(out_path).resolve())
    if not files:
        raise VerifyError(
            f"{where(out_path)}: the test run wrote no reach results "
            f"(was pytest run with the environment from reach_env?)"
        )
    tests: dict[str, list[str]] = {t.id: [] for t in targets}
    paths: dict[str, list[str]] = {}
    resolved: dict[str, bool] = {}
    notes: dict[str, str] = {}
    mechanism, python, errors, run = "", "", [], 0
    for file in files:
        data = _load(file)
        mechanism = str(data.get("mechanism", ""))
        python = str(data.get("python", ""))
        run += _int(data.get("tests_run", 0))
        if data.get("error"):
            errors.append(str(data["error"]))
        seen = data.get("targets")
        if not isinstance(seen, dict):
            raise VerifyError(f"{where(file, 'targets')}: not an object")
        for target in targets:
            item = seen.get(target.id)
            if not isinstance(item, dict):
                continue
            resolved[target.id] = resolved.get(target.id, False) or bool(item.get("resolved"))
            if item.get("note"):
                notes[target.id] = str(item["note"])
            tests[target.id].extend(str(t) for t in item.get("tests") or [])
            path = item.get("call_path") or []
            if path and target.id not in paths:
                paths[target.id] = [str(p) for p in path]
    reaches = tuple(
        TargetReach(
            target=t,
            executed=bool(tests[t.id]),
            tests=tuple(dict.fromkeys(tests[t.id])),
            call_path=tuple(paths.get(t.id, ())),
            resolved=resolved.get(t.id, False),
            note=notes.get(t.id, "" if t.id in resolved else "not in the tracer's results"),
        )
        for t in targets
    )
    return ReachEvidence(reaches, mechanism, python, run, "; ".join(dict.fromkeys(errors)))


def _load(file: Path) -> dict[str, object]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as e:
        raise VerifyError(f"{where(file)}: cannot read: {e.strerror}") from e
    except ValueError as e:
        raise VerifyError(f"{where(file)}: not JSON: {e}") from e
    if not isinstance(data, dict):
        raise VerifyError(f"{where(file)}: not a JSON object")
    return data


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
