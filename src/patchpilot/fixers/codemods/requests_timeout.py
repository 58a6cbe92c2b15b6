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
_IMPORTS_REQUESTS = re.compile(r"^\s*(?:from\s+requests\b|import\s[^#\n]*\brequests\b)", re.M)
_SETDEFAULT = re.compile(r"\bsetdefaulttimeout\s*\(")


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
        # A call this codemod can resolve needs `requests` imported in the file (module
        # functions, or the Session() call) or `urlopen`; mere mentions in text do not count.
        return "urlopen" in file.source or bool(_IMPORTS_REQUESTS.search(file.source))

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
