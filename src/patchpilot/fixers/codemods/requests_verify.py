"""`requests-verify-enabled`: HTTPS calls that switch certificate verification off.

`verify=False` on `requests` calls (module functions and methods of a `requests.Session()` the
code created) and on `httpx` calls, clients and transports is removed, so the default
(verification on) applies: requests then also honours `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE`
and a session's own `verify`, httpx honours `SSL_CERT_FILE` / `SSL_CERT_DIR`. Tier B: a server
with a self-signed or private-CA certificate stops working until its CA bundle is configured.
Refused: test modules, a `verify` value from a variable or config flag (it may be False only in
development), and calls whose URL (a literal, an f-string or `+` with a fixed host, a constant
holding one) names a loopback, private or internal host (a self-signed internal endpoint,
which needs its CA bundle rather than the public roots).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import ClassVar
from urllib.parse import urlsplit

import libcst as cst

from patchpilot.fixers.codemods.interface import (
    Codemod,
    CodemodTransformer,
    FileRun,
    Reason,
    Tier,
    find_arg,
    positional,
    remove_arg,
    string_value,
)

_VERBS = ("get", "options", "head", "post", "put", "patch", "delete")
_REQUESTS = frozenset(
    f"requests.{mod}{verb}" for mod in ("", "api.") for verb in (*_VERBS, "request")
)
_SESSIONS = frozenset(
    {
        "requests.Session",
        "requests.session",
        "requests.sessions.Session",
        "requests.sessions.session",
    }
)
_HTTPX = frozenset(f"httpx.{verb}" for verb in (*_VERBS, "request", "stream"))
_HTTPX_CLIENTS = frozenset({"httpx.Client", "httpx.AsyncClient"})
_HTTPX_TRANSPORTS = frozenset({"httpx.HTTPTransport", "httpx.AsyncHTTPTransport"})
# Names that only resolve inside a site, a home network or a cluster.
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet")
_HOLE = "\uffff"


def internal_host(host: str) -> str | None:
    """Why `host` is a loopback, private or internal endpoint, or None for a public one."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return "the loopback name"
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return "an internal name" if name.endswith(_INTERNAL_SUFFIXES) else None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    return None


Resolve = Callable[[cst.Name], str | None]


def url_text(node: cst.BaseExpression, resolve: Resolve | None = None) -> str | None:
    """The text of a URL literal. In an f-string or a `+` concatenation each part that is not
    a literal becomes a hole character (so a host spelled out before it is still known);
    `resolve` gives the text of a name bound to a string constant (None: unknown)."""
    plain = string_value(node)
    if plain is not None:
        return plain
    if isinstance(node, cst.Name) and resolve is not None:
        return resolve(node)
    if isinstance(node, cst.FormattedString):
        parts: list[str] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            elif isinstance(part, cst.FormattedStringExpression) and not part.format_spec:
                inner = url_text(part.expression, resolve)
                parts.append(_HOLE if inner is None else inner)
            else:
                parts.append(_HOLE)
        return "".join(parts)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left = url_text(node.left, resolve)
        if left is None:
            return None
        return left + (url_text(node.right, resolve) or _HOLE)
    return None


def host_of(text: str) -> str | None:
    """The host of a URL text, None when absent or computed (a hole in it)."""
    try:
        host = urlsplit(text.strip()).hostname
    except ValueError:
        return None
    if not host or _HOLE in host:
        return None
    return host


def url_host(node: cst.BaseExpression, resolve: Resolve | None = None) -> str | None:
    """The host a URL expression names, None when it is not known before run time."""
    text = url_text(node, resolve)
    return None if text is None else host_of(text)


class RequestsVerifyEnabled(Codemod):
    """Stop disabling TLS certificate verification in requests and httpx calls."""

    id: ClassVar[str] = "requests-verify-enabled"
    cwe: ClassVar[tuple[int, ...]] = (295,)
    tier: ClassVar[Tier] = Tier.B
    title: ClassVar[str] = "Verify TLS certificates in HTTP calls"
    rules: ClassVar[tuple[str, ...]] = (
        "B501",
        "S501",
        "python.requests.security.disabled-cert-validation.disabled-cert-validation",
        "disabled-cert-validation",
    )
    hints: ClassVar[tuple[str, ...]] = ("verify",)
    requires: ClassVar[tuple[tuple[str, ...], ...]] = (("verify",),)
    modules: ClassVar[tuple[str, ...]] = ("requests", "httpx")
    refuse_in_tests: ClassVar[bool] = True

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


class _Transformer(CodemodTransformer):
    def _kind(self, call: cst.Call) -> tuple[str, str] | None:
        """What the call is — `requests`, `httpx`, `client` (URL in `base_url`) or `transport`
        (no URL) — and its verb; None when it is none of the covered calls."""
        for kind, names in (
            ("requests", _REQUESTS),
            ("httpx", _HTTPX),
            ("client", _HTTPX_CLIENTS),
            ("transport", _HTTPX_TRANSPORTS),
        ):
            found = self.call_name(call, names)
            if found is not None:
                return kind, found.rsplit(".", 1)[1]
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in (*_VERBS, "request"):
            origins = self.origin_calls(func.value)
            if origins and origins <= _SESSIONS:
                return "requests", func.attr.value
        return None

    def _url(self, call: cst.Call, kind: str, verb: str) -> cst.BaseExpression | None:
        if kind == "client":
            base = find_arg(call, "base_url")
            return None if base is None else base.value
        if kind == "transport":
            return None
        given = find_arg(call, "url")
        if given is not None:
            return given.value
        args = positional(call)
        index = 1 if verb in ("request", "stream") else 0  # (method, url, ...)
        return args[index].value if len(args) > index else None

    def _constant(self, name: cst.Name) -> str | None:
        """The string a name is bound to when every binding visible here assigns the same
        string literal (`API = "https://10.0.0.5"`); None otherwise."""
        scope = self.scope(name)
        if scope is None:
            return None
        values: set[str] = set()
        for assignment in scope[name.value]:
            target = getattr(assignment, "node", None)
            holder = self.parent(target) if isinstance(target, cst.CSTNode) else None
            assign = self.parent(holder) if isinstance(holder, cst.AssignTarget) else holder
            value = assign.value if isinstance(assign, cst.Assign | cst.AnnAssign) else None
            text = string_value(value) if value is not None else None
            if text is None:
                return None
            values.add(text)
        return values.pop() if len(values) == 1 else None

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        verify = find_arg(original_node, "verify")
        if verify is None:
            return updated_node
        found = self._kind(original_node)
        if found is None:
            return updated_node
        kind, verb = found
        value = verify.value
        if isinstance(value, cst.Name) and value.value in ("True", "None"):
            return updated_node
        if string_value(value) is not None:
            return updated_node  # a CA bundle path: verification is on
        if not self.may_change(original_node):
            return updated_node
        code = self.module.code_for_node(value)
        if not (isinstance(value, cst.Name) and value.value == "False"):
            self.refuse(
                original_node,
                Reason.NOT_A_LITERAL,
                f"`verify={code}` comes from a variable or setting that may be False only in "
                "some environments; fix the setting (or its default) by hand",
            )
            return updated_node
        url = self._url(original_node, kind, verb)
        host = url_host(url, self._constant) if url is not None else None
        why = internal_host(host) if host is not None else None
        if host is not None and why is not None:
            self.refuse(
                original_node,
                Reason.INTERNAL_ENDPOINT,
                f"`{host}` is {why}, most likely a self-signed internal endpoint: point "
                "`verify` (or REQUESTS_CA_BUNDLE / SSL_CERT_FILE) at its CA bundle instead",
            )
            return updated_node
        honoured = "REQUESTS_CA_BUNDLE" if kind == "requests" else "SSL_CERT_FILE"
        self.changed(
            original_node,
            f"removed `verify=False`: certificates are verified again ({honoured} honoured)",
        )
        return remove_arg(updated_node, "verify")
