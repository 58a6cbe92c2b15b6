"""`add-requests-timeout`: HTTP calls that can wait for a response forever.

`requests` calls (module functions and methods of a `requests.Session()` the code created) and
`urllib.request.urlopen` without a timeout get `timeout=<seconds>` (60 by default, an option of
the codemod). Refused: calls with `*args` or `**kwargs` (a timeout inside them would become a
duplicate keyword), streaming calls (`stream=True`: long-lived streams may idle longer than a
read timeout), and every call in a project that sets `socket.setdefaulttimeout`, which these
calls honour today and an explicit timeout would override. An explicit `timeout=None` is a
deliberate choice and is left alone.
"""

from __future__ import annotations

import ast
import re
from typing import ClassVar

import libcst as cst

from patchpilot.fixers.codemods.interface import (
    Codemod,
    CodemodTransformer,
    FileContext,
    FileRun,
    ProjectContext,
    Reason,
    Tier,
    Veto,
    append_arg,
    find_arg,
    positional,
    splat,
)

_VERBS = ("get", "options", "head", "post", "put", "patch", "delete", "request")
_FUNCTIONS = frozenset(f"requests.{v}" for v in _VERBS) | frozenset(
    f"requests.api.{v}" for v in _VERBS
)
_SESSIONS = frozenset(
    {
        "requests.Session",
        "requests.session",
        "requests.sessions.Session",
        "requests.sessions.session",
    }
)
_URLOPEN = frozenset({"urllib.request.urlopen"})
_SETDEFAULT = re.compile(r"\bsetdefaulttimeout\s*\(")


def _untimed(call: ast.Call) -> bool:
    return not any(k.arg == "timeout" for k in call.keywords)


def _positional(call: ast.Call) -> int:
    return sum(1 for a in call.args if not isinstance(a, ast.Starred))


def socket_default_timeouts(project: ProjectContext) -> tuple[tuple[str, int], ...]:
    """Places that set a process-wide socket timeout (`socket.setdefaulttimeout(...)`)."""
    found: list[tuple[str, int]] = []
    for rel in project.python_files():
        text = project.read(rel)
        if text is None or "setdefaulttimeout" not in text:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            code = line.split("#", 1)[0]
            if _SETDEFAULT.search(code):
                found.append((rel, number))
    return tuple(found)


class AddRequestsTimeout(Codemod):
    """Give HTTP requests a timeout so a silent server cannot hang the caller forever."""

    id: ClassVar[str] = "add-requests-timeout"
    cwe: ClassVar[tuple[int, ...]] = (400, 1088)
    tier: ClassVar[Tier] = Tier.A
    title: ClassVar[str] = "Add a timeout to HTTP requests"
    rules: ClassVar[tuple[str, ...]] = (
        "B113",
        "S113",
        "python.requests.best-practice.use-timeout.use-timeout",
        "use-timeout",
    )
    hints: ClassVar[tuple[str, ...]] = ("requests", "urlopen")

    def relevant(self, file: FileContext) -> bool:
        # A call without a timeout of `urlopen`, of a `requests` function, or of a method of
        # a session (which needs a `requests.Session()` call in the file).
        if file.mentions("urlopen") and file.may_resolve("urllib"):
            calls = file.calls(_URLOPEN)
            if calls is None or any(_untimed(c) and _positional(c) < 3 for c in calls):
                return True
        if not file.mentions(*_VERBS, "Session", "session") or not file.may_resolve("requests"):
            return False
        calls = file.calls(_FUNCTIONS)
        sessions = file.calls(_SESSIONS)
        if calls is None or sessions is None or any(_untimed(c) for c in calls):
            return True
        return bool(sessions) and any(
            isinstance(c.func, ast.Attribute) and _untimed(c)
            for verb in _VERBS
            for c in file.calls_ending(verb) or ()
        )

    def __init__(self, timeout: float = 60) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.timeout = timeout

    def project_refusal(self, project: ProjectContext) -> Veto | None:
        places = project.fact("socket-default-timeout", socket_default_timeouts)
        if places:
            shown = ", ".join(f"{p}:{n}" for p, n in places[:3])
            return Veto(
                Reason.GLOBAL_SOCKET_TIMEOUT,
                f"the project sets a global socket timeout ({shown}) that these calls use "
                "today; an explicit timeout would override it",
            )
        return None

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run, self.timeout)


class _Transformer(CodemodTransformer):
    def __init__(self, run: FileRun, timeout: float) -> None:
        super().__init__(run)
        self.timeout = timeout

    def _kind(self, call: cst.Call) -> str | None:
        if self.call_name(call, _FUNCTIONS):
            return "requests"
        if self.call_name(call, _URLOPEN):
            return "urlopen"
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in _VERBS
            and self.origin_calls(func.value) & _SESSIONS
            and self.origin_calls(func.value) <= _SESSIONS
        ):
            return "requests"
        return None

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        kind = self._kind(original_node)
        if kind is None or find_arg(original_node, "timeout") is not None:
            return updated_node
        if kind == "urlopen" and len(positional(original_node)) >= 3:
            return updated_node  # urlopen(url, data, timeout): already given positionally
        if not self.may_change(original_node):
            return updated_node
        star = splat(original_node)
        if star is not None:
            self.refuse(
                original_node,
                Reason.KWARGS_SPLAT if star == "**" else Reason.ARGS_SPLAT,
                f"the call passes `{star}` arguments, which may already carry a timeout",
            )
            return updated_node
        stream = find_arg(original_node, "stream")
        if stream is not None and not (
            isinstance(stream.value, cst.Name) and stream.value.value in ("False", "None")
        ):
            self.refuse(
                original_node,
                Reason.STREAMING,
                "a streaming response may legitimately idle longer than a read timeout; "
                "choose its timeout by hand",
            )
            return updated_node
        value = cst.parse_expression(_number(self.timeout))
        self.changed(original_node, f"added `timeout={_number(self.timeout)}`")
        return append_arg(updated_node, "timeout", value)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
