"""pytest plugin `patchpilot_reach`: record which target functions each test executes.

Loaded inside the project's test process with `-p patchpilot_reach` (this directory on
PYTHONPATH). `PATCHPILOT_REACH_TARGETS` names a JSON file `{"targets": [{"id", "module",
"qualname"}]}` and `PATCHPILOT_REACH_OUT` the JSON file written at session end. At the first
test the target modules are imported and each qualname is resolved to its functions (a class
or a module stands for every function defined in it). Calls are then seen only on those:
- Python 3.12+: `sys.monitoring` local `PY_START` events on the targets' code objects (nested
  ones too). A hit returns `DISABLE`; the next test re-arms just the code objects that fired
  by resetting their local events, never with `restart_events()`, which would also re-arm
  other tools such as coverage.
- Python 3.11: a start-of-function probe in each target's bytecode
  (`patchpilot_reach_probe`), since `sys.setprofile` would slow every function of the run.
- Otherwise, and for code a probe cannot be put into (nested functions, unusual bytecode):
  `sys.setprofile` with a dictionary lookup on `frame.f_code`, removed for the rest of a test
  once every target has been seen in it.
Hits are attributed to the running test id (setup, call and teardown alike); the first hit of
each target keeps one call path: the stack frames outside site-packages and the standard
library, as `file:line`, outermost first. Probes are removed at session end. The plugin
imports nothing outside the standard library and never lets its own failure break the test
run: problems are written into the results.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import sys
import sysconfig
import threading
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

TARGETS_ENV = "PATCHPILOT_REACH_TARGETS"
OUT_ENV = "PATCHPILOT_REACH_OUT"
OUTSIDE_TESTS = "<outside tests>"
_TOOL_NAME = "patchpilot-reach"
PROBE_HOOK = "__patchpilot_reach_hit__"
_MAX_FRAMES = 40


class _State:
    """Everything the plugin keeps for one session."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.specs: list[tuple[str, str]] = []
        self.notes: dict[int, str] = {}
        self.resolved: set[int] = set()
        self.code_targets: dict[types.CodeType, tuple[int, ...]] = {}
        self.func_targets: dict[types.FunctionType, tuple[int, ...]] = {}
        self.direct_codes: dict[types.CodeType, tuple[int, ...]] = {}
        self.probes: list[tuple[int, ...]] = []
        self.patched: list[tuple[types.FunctionType, types.CodeType]] = []
        self.tests: dict[int, list[str]] = {}
        self.paths: dict[int, list[str]] = {}
        self.first_test: dict[int, str] = {}
        self.current: str | None = None
        self.hit_now: set[int] = set()
        self.disabled: list[types.CodeType] = []
        self.mechanism = "none"
        self.error = ""
        self.started = False
        self.tests_run = 0
        self.root = Path.cwd()
        self.tool: int | None = None
        self.excluded: tuple[str, ...] = ()


_S = _State()
# Probes seen in the running test; one set object, cleared in place, bound into `_probe_hit`.
_PROBES_SEEN: set[int] = set()


def _load_targets() -> None:
    name = os.environ.get(TARGETS_ENV, "")
    if not name:
        _S.error = f"{TARGETS_ENV} is not set"
        return
    try:
        data = json.loads(Path(name).read_text(encoding="utf-8"))
        for item in data["targets"]:
            _S.ids.append(str(item["id"]))
            _S.specs.append((str(item["module"]), str(item.get("qualname", ""))))
    except (OSError, ValueError, KeyError, TypeError) as e:
        _S.error = f"{name}: cannot read targets: {type(e).__name__}: {e}"
        _S.ids.clear()
        _S.specs.clear()


def _nested(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _nested(const)


def _functions_of(obj: object, depth: int = 0) -> list[types.FunctionType]:
    """The Python functions behind a function, method wrapper, property, class or module."""
    if depth > 4:
        return []
    if isinstance(obj, (staticmethod, classmethod)):
        return _functions_of(obj.__func__, depth + 1)
    if isinstance(obj, property):
        return [f for g in (obj.fget, obj.fset, obj.fdel) for f in _functions_of(g, depth + 1)]
    if isinstance(obj, types.ModuleType):
        out: list[types.FunctionType] = []
        for value in list(vars(obj).values()):
            if getattr(value, "__module__", None) == obj.__name__:
                out.extend(_functions_of(value, depth + 1))
        return out
    if isinstance(obj, type):
        out = []
        prefix = obj.__qualname__ + "."
        for value in list(vars(obj).values()):
            if isinstance(value, type) and not value.__qualname__.startswith(prefix):
                continue
            out.extend(_functions_of(value, depth + 1))
        return out
    if callable(obj):
        try:
            func = inspect.unwrap(obj)
        except ValueError:
            func = obj
        if isinstance(func, types.FunctionType):
            return [func]
    return []


def _qualname(code: types.CodeType) -> str:
    return str(getattr(code, "co_qualname", code.co_name))


def _resolve_one(
    module: str, qualname: str
) -> tuple[list[types.FunctionType], list[types.CodeType], str]:
    """Functions (to instrument) and code objects (to watch) of one target, or why none."""
    try:
        obj: object = importlib.import_module(module)
    except BaseException as e:  # a failing import is recorded, never raised
        return [], [], f"cannot import {module}: {type(e).__name__}: {e}"
    outer, _, inner = qualname.partition(".<locals>.")
    if outer:
        for part in outer.split("."):
            try:
                obj = inspect.getattr_static(obj, part)
            except AttributeError:
                return [], [], f"{module} has no {outer}"
    funcs = _functions_of(obj)
    codes = [c for f in funcs for c in _nested(f.__code__)]
    if inner:
        # Nested functions exist only while their outer function runs: watch their code.
        funcs = []
        codes = [n for c in codes if _qualname(c) == qualname for n in _nested(c)]
    if not codes:
        kind = type(obj).__name__
        return [], [], f"{module}:{qualname} has no Python code to trace ({kind}, native or empty)"
    return funcs, codes, ""


def _resolve() -> None:
    """Map functions (to probe, on 3.11) and code objects (to watch) to target indexes."""
    direct: dict[types.CodeType, list[int]] = {}
    funcs: dict[types.FunctionType, list[int]] = {}
    for index, (module, qualname) in enumerate(_S.specs):
        found_funcs, found_codes, note = _resolve_one(module, qualname)
        if note:
            _S.notes[index] = note
            continue
        _S.resolved.add(index)
        if found_funcs:
            for func in found_funcs:
                funcs.setdefault(func, []).append(index)
        else:
            for code in found_codes:
                direct.setdefault(code, []).append(index)
    _S.func_targets = {func: tuple(indexes) for func, indexes in funcs.items()}
    _S.direct_codes = {code: tuple(indexes) for code, indexes in direct.items()}


def _watch(
    table: dict[types.CodeType, list[int]], func: types.FunctionType, indexes: tuple[int, ...]
) -> None:
    for code in _nested(func.__code__):
        table.setdefault(code, []).extend(indexes)


def _code_table(
    funcs: dict[types.FunctionType, tuple[int, ...]],
) -> dict[types.CodeType, tuple[int, ...]]:
    table: dict[types.CodeType, list[int]] = {c: list(i) for c, i in _S.direct_codes.items()}
    for func, indexes in funcs.items():
        _watch(table, func, indexes)
    return {code: tuple(dict.fromkeys(indexes)) for code, indexes in table.items()}


def _probe_hit(key: int, _seen: set[int] = _PROBES_SEEN) -> None:
    """Called by the 3.11 probes from inside a target's frame, on every call: keep it short."""
    if key in _seen:
        return
    _seen.add(key)
    # A probe must never change the behaviour of the code it sits in.
    with contextlib.suppress(Exception):
        _record(_S.probes[key], sys._getframe(1))


def _install_probes() -> dict[types.FunctionType, tuple[int, ...]]:
    """Probe every target function it can; returns the ones left for the profile hook."""
    try:
        # The sibling module, imported by its top-level name inside the test process.
        from patchpilot_reach_probe import add_probe  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return dict(_S.func_targets)
    import builtins

    setattr(builtins, PROBE_HOOK, _probe_hit)
    left: dict[types.FunctionType, tuple[int, ...]] = {}
    real = (builtins, vars(builtins))
    for func, indexes in _S.func_targets.items():
        original = func.__code__
        # The probe finds its hook among the builtins; code made by `eval`/`exec` with builtins
        # of its own (namedtuple's `__new__`) gets it in its private namespace instead.
        if not any(func.__globals__.get("__builtins__") is b for b in real):
            func.__globals__.setdefault(PROBE_HOOK, _probe_hit)
        probed = add_probe(original, PROBE_HOOK, len(_S.probes))
        if probed is None:
            left[func] = indexes
            continue
        try:
            func.__code__ = probed
        except (ValueError, TypeError):
            left[func] = indexes
            continue
        _S.probes.append(indexes)
        _S.patched.append((func, original))
    return left


def _excluded_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    out = {
        str(Path(paths[key]).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib")
    }
    out.add(str(Path(__file__).resolve().parent))
    return tuple(sorted(out))


def _is_project_file(filename: str) -> bool:
    if filename.startswith("<") or "site-packages" in filename or "dist-packages" in filename:
        return False
    try:
        real = str(Path(filename).resolve())
    except OSError:
        return False
    return not real.startswith(_S.excluded)


def _call_path(frame: types.FrameType | None) -> list[str]:
    shown: list[str] = []
    fallback: list[str] = []
    while frame is not None and len(fallback) < 200:
        filename = frame.f_code.co_filename
        place = f"{_relative(filename)}:{frame.f_lineno}"
        if _is_project_file(filename):
            shown.append(place)
        elif "_pytest" not in filename and "pluggy" not in filename:
            fallback.append(place)
        frame = frame.f_back
    chosen = shown or fallback
    return list(reversed(chosen[:_MAX_FRAMES]))


def _relative(filename: str) -> str:
    try:
        return Path(filename).resolve().relative_to(_S.root).as_posix()
    except (ValueError, OSError):
        return filename


def _record(indexes: tuple[int, ...], frame: types.FrameType | None) -> None:
    test = _S.current or OUTSIDE_TESTS
    for index in indexes:
        if index in _S.hit_now:
            continue
        _S.hit_now.add(index)
        _S.tests.setdefault(index, []).append(test)
        if index not in _S.paths:
            _S.paths[index] = _call_path(frame)
            _S.first_test[index] = test


def _on_py_start(code: types.CodeType, offset: int) -> object:
    indexes = _S.code_targets.get(code)
    if indexes is not None:
        _record(indexes, sys._getframe(1))
    _S.disabled.append(code)
    return sys.monitoring.DISABLE  # type: ignore[attr-defined,unused-ignore]


def _profile(frame: types.FrameType, event: str, arg: object) -> None:
    if event == "call":
        indexes = _S.code_targets.get(frame.f_code)
        if indexes is not None:
            _record(indexes, frame)
            if len(_S.hit_now) >= len(_S.resolved):
                sys.setprofile(None)


def _start_monitoring() -> None:
    monitoring: Any = getattr(sys, "monitoring", None)
    if monitoring is not None:
        for tool in (3, 4, 2, 1):
            if monitoring.get_tool(tool) is None:
                monitoring.use_tool_id(tool, _TOOL_NAME)
                _S.tool = tool
                break
    if monitoring is not None and _S.tool is not None:
        _S.code_targets = _code_table(_S.func_targets)
        monitoring.register_callback(_S.tool, monitoring.events.PY_START, _on_py_start)
        for code in _S.code_targets:
            monitoring.set_local_events(_S.tool, code, monitoring.events.PY_START)
        _S.mechanism = "sys.monitoring"
        return
    left = _install_probes() if sys.version_info[:2] == (3, 11) else dict(_S.func_targets)
    _S.code_targets = _code_table(left)
    if _S.patched and not _S.code_targets:
        _S.mechanism = "probes"
    elif _S.patched:
        _S.mechanism = "probes+setprofile"
    else:
        _S.mechanism = "setprofile"
    if _S.code_targets:
        sys.setprofile(_profile)
        threading.setprofile(_profile)


def _begin_test(nodeid: str) -> None:
    _S.current = nodeid
    _S.hit_now = set()
    _PROBES_SEEN.clear()
    _S.tests_run += 1
    if _S.mechanism == "sys.monitoring" and _S.disabled:
        monitoring: Any = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
        events = monitoring.events.PY_START
        for code in set(_S.disabled):
            monitoring.set_local_events(_S.tool, code, 0)
            monitoring.set_local_events(_S.tool, code, events)
        _S.disabled.clear()
    elif "setprofile" in _S.mechanism and _S.code_targets and sys.getprofile() is None:
        sys.setprofile(_profile)


def _start(rootpath: Path) -> None:
    _S.started = True
    _S.root = rootpath.resolve()
    _S.excluded = _excluded_prefixes()
    _load_targets()
    if _S.ids:
        _resolve()
    _start_monitoring()


# pytest hooks. Arguments are typed loosely: the project's pytest version is not ours to pick.


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    if not _S.started:
        return
    _begin_test(nodeid)


def pytest_runtest_setup(item: Any) -> None:
    if not _S.started:
        _start(Path(str(item.config.rootpath)))
        _begin_test(item.nodeid)


def pytest_runtest_logfinish(nodeid: str, location: object) -> None:
    _S.current = None
    _S.hit_now = set()
    _PROBES_SEEN.clear()


def _out_path() -> Path | None:
    name = os.environ.get(OUT_ENV, "")
    if not name:
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return Path(f"{name}.{worker}") if worker else Path(name)


def pytest_sessionfinish(session: Any, exitstatus: object) -> None:
    if _S.mechanism == "sys.monitoring" and _S.tool is not None:
        monitoring: Any = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
        monitoring.register_callback(_S.tool, monitoring.events.PY_START, None)
        for code in _S.code_targets:
            monitoring.set_local_events(_S.tool, code, 0)
        monitoring.free_tool_id(_S.tool)
    elif "setprofile" in _S.mechanism:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type,unused-ignore]
    for func, original in _S.patched:
        func.__code__ = original
    if _S.patched:
        import builtins

        with contextlib.suppress(AttributeError):
            delattr(builtins, PROBE_HOOK)
    out = _out_path()
    if out is None:
        return
    targets = {
        target_id: {
            "resolved": index in _S.resolved,
            "note": _S.notes.get(index, ""),
            "tests": _S.tests.get(index, []),
            "first_test": _S.first_test.get(index, ""),
            "call_path": _S.paths.get(index, []),
        }
        for index, target_id in enumerate(_S.ids)
    }
    result = {
        "version": 1,
        "python": ".".join(str(n) for n in sys.version_info[:3]),
        "mechanism": _S.mechanism,
        "tests_run": _S.tests_run,
        "error": _S.error if _S.started else "no test ran",
        "targets": targets,
    }
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(json.dumps(result, indent=1), encoding="utf-8")
        tmp.replace(out)
    except OSError as e:
        sys.stderr.write(f"patchpilot_reach: cannot write {out}: {e}\n")
