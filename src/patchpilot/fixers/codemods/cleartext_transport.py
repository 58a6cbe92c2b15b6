"""`cleartext-transport` (Tier C): network clients that send data unencrypted.

Reported (fix-patterns.md #27): `ftplib.FTP(...)` (not `FTP_TLS`), `smtplib.SMTP(...)` with no
`starttls()` call in the same function, `telnetlib.Telnet(...)`, `urllib3.HTTPConnectionPool`
and `http.client.HTTPConnection`, and `http://` URLs given to requests, httpx, urllib and
urllib3 calls (module functions, methods of a `requests.Session`, `httpx.Client` or
`urllib3.PoolManager` the code created, httpx's `base_url`). A URL is a literal, an f-string
or a `+` concatenation with a literal head, or a name bound once to one of these. Left out,
because no cleartext crosses a network there or because they name a document rather than an
endpoint: loopback, private, link-local (cloud metadata, `169.254.169.254`) and unspecified
addresses, `localhost` and internal names (`*.internal`, `*.local`, single-label names such as
a compose service), and XML namespace or schema URIs; the same holds for a client whose host is
such a literal. Whether the endpoint offers TLS is not visible in the code, so nothing is
rewritten: each site is a `tier-c` refusal naming the TLS alternative. Test modules are
reported with the reason `test-file` (fixtures and mocked endpoints).
"""

from __future__ import annotations

import ast
import ipaddress
import re
from collections.abc import Iterator
from typing import ClassVar
from urllib.parse import SplitResult, urlsplit

import libcst as cst
import libcst.matchers as m

from patchpilot.fixers.codemods.interface import CodemodTransformer, FileContext, FileRun
from patchpilot.fixers.codemods.tier_c import (
    DetectorTransformer,
    TierCDetector,
    argument,
    literal_text,
)

_PLAIN = "travel readable and changeable by anyone on the path (a proxy, a shared network, an ISP)"
_UNKNOWN_TLS = (
    "patchpilot does not rewrite it because whether the server offers TLS is not visible in "
    "the code"
)
_SSH = "Use SSH instead (paramiko, asyncssh, or the `ssh` command)"
# Clients that speak a cleartext protocol: what to use instead.
_CLIENTS: dict[str, str] = {
    "ftplib.FTP": (
        f"`ftplib.FTP` sends the user name, the password and every file in clear text: they "
        f"{_PLAIN}. Use `ftplib.FTP_TLS` and call `prot_p()` after `login()` so that the data "
        f"connections are encrypted too, or SFTP; {_UNKNOWN_TLS}"
    ),
    "telnetlib.Telnet": (
        f"Telnet sends everything in clear text: passwords and commands {_PLAIN}, and no "
        f"server is authenticated. {_SSH}; `telnetlib` is also gone from Python 3.13"
    ),
    **dict.fromkeys(
        ("urllib3.HTTPConnectionPool", "urllib3.connectionpool.HTTPConnectionPool"),
        f"`HTTPConnectionPool` speaks plain HTTP: requests, responses, cookies and credentials "
        f"{_PLAIN}. Use `urllib3.HTTPSConnectionPool` (it verifies certificates by default) "
        f"if the endpoint serves HTTPS; {_UNKNOWN_TLS}",
    ),
    "http.client.HTTPConnection": (
        f"`http.client.HTTPConnection` speaks plain HTTP: requests, responses, cookies and "
        f"credentials {_PLAIN}. Use `http.client.HTTPSConnection` with "
        f"`context=ssl.create_default_context()` if the endpoint serves HTTPS; {_UNKNOWN_TLS}"
    ),
}
_SMTP = frozenset({"smtplib.SMTP"})
_CLIENT_NAMES = frozenset(_CLIENTS) | _SMTP
_SMTP_DETAIL = (
    f"`smtplib.SMTP` with no `starttls()` in the same function sends the mail, and the "
    f"password of any `login()`, in clear text: they {_PLAIN}. Call "
    f"`starttls(context=ssl.create_default_context())` before `login()` (submission port 587), "
    f"or use `smtplib.SMTP_SSL` (port 465); {_UNKNOWN_TLS}"
)

_VERBS = ("get", "options", "head", "post", "put", "patch", "delete")
# Functions taking a URL: the position of the URL argument (it may also be given as `url=`).
_URL_FUNCTIONS: dict[str, int] = {
    **{f"requests.{api}{verb}": 0 for api in ("", "api.") for verb in _VERBS},
    "requests.request": 1,
    "requests.api.request": 1,
    **{f"httpx.{verb}": 0 for verb in _VERBS},
    "httpx.request": 1,
    "httpx.stream": 1,
    "urllib.request.urlopen": 0,
    "urllib.request.Request": 0,
    "urllib.request.urlretrieve": 0,
    "urllib3.request": 1,
    "urllib3.connection_from_url": 0,
    "urllib3.connectionpool.connection_from_url": 0,
}
# Objects whose methods take a URL, and those methods with the URL's position.
_CLIENT_CLASSES = frozenset(
    {
        "requests.Session",
        "requests.session",
        "requests.sessions.Session",
        "requests.sessions.session",
        "httpx.Client",
        "httpx.AsyncClient",
        "urllib3.PoolManager",
        "urllib3.poolmanager.PoolManager",
    }
)
_METHODS: dict[str, int] = {
    **dict.fromkeys(_VERBS, 0),
    **dict.fromkeys(("request", "stream", "urlopen", "request_encode_url"), 1),
    "request_encode_body": 1,
}
_BASE_URL = frozenset({"httpx.Client", "httpx.AsyncClient"})
_HOLE = "\uffff"

# Names that resolve only inside a host, a site or a cluster.
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet")
# Hosts of XML namespace and schema identifiers: URIs that name a vocabulary, not an endpoint.
_SCHEMA_HOSTS = frozenset(
    {
        "www.w3.org",
        "w3.org",
        "schemas.xmlsoap.org",
        "schemas.microsoft.com",
        "schemas.openxmlformats.org",
        "schemas.android.com",
        "purl.org",
        "xmlns.com",
        "xmlns.jcp.org",
        "java.sun.com",
        "ns.adobe.com",
        "www.opengis.net",
        "docs.oasis-open.org",
        "json-schema.org",
    }
)
# The scheme as the literal at a URL's head spells it (`"http://`, `f"HTTP://{host}`).
_HTTP = re.compile("http://", re.IGNORECASE)
# Every client class's name holds one of these.
_SPELLINGS = ("FTP", "SMTP", "Telnet", "HTTPConnection")


def local_host(host: str) -> str | None:
    """Why traffic to `host` does not cross a public network (loopback, private, link-local,
    unspecified or internal name), or None for a public or unknown host."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return "the loopback name"
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        if name.endswith(_INTERNAL_SUFFIXES):
            return "an internal name"
        if name and "." not in name and ":" not in name and _HOLE not in name:
            return "a single-label name, resolved only inside its network"
        return None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    return None


def _host_part(text: str) -> str:
    """The host of a client's `host` argument, which may carry a port (`"db:8080"`,
    `"[::1]:80"`) or be a bare IPv6 address."""
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        try:
            return urlsplit(f"//{text}").hostname or text
        except ValueError:
            return text
    return text


def schema_uri(parts: SplitResult) -> bool:
    """Whether a URL is an XML namespace or schema identifier (`http://www.w3.org/2001/
    XMLSchema`, a `.xsd` or `.dtd` document)."""
    host = (parts.hostname or "").lower()
    return host in _SCHEMA_HOSTS or parts.path.lower().endswith((".xsd", ".dtd"))


def _code_strings(tree: ast.Module) -> Iterator[str]:
    """The string constants of a module other than docstrings (f-string parts included)."""
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.value


def _assigned_urls(tree: ast.Module) -> frozenset[str]:
    """Names assigned a value holding an `http://` string, or holding such a name."""
    values: list[tuple[list[str], ast.expr]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            values.append((targets, node.value))
        elif (
            isinstance(node, ast.AnnAssign)
            and node.value is not None
            and isinstance(node.target, ast.Name)
        ):
            values.append(([node.target.id], node.value))
    found: set[str] = set()
    for _ in range(4):  # a URL through up to three names, as the transformer follows it
        for targets, value in values:
            for part in ast.walk(value):
                if (
                    isinstance(part, ast.Constant)
                    and isinstance(part.value, str)
                    and _HTTP.search(part.value)
                ) or (isinstance(part, ast.Name) and part.id in found):
                    found.update(targets)
                    break
    return frozenset(found)


class CleartextTransport(TierCDetector):
    """Report FTP, Telnet, SMTP without STARTTLS and plain-HTTP endpoints."""

    id: ClassVar[str] = "cleartext-transport"
    cwe: ClassVar[tuple[int, ...]] = (319,)
    title: ClassVar[str] = "Network traffic sent in clear text (report only)"
    rules: ClassVar[tuple[str, ...]] = (
        "B321",
        "S321",
        "B402",
        "S402",
        "B312",
        "S312",
        "B401",
        "S401",
        # Semgrep (matched by the last part of a rule path)
        "request-with-http",
        "request-session-with-http",
        "insecure-urlopen",
        "insecure-request-object",
        "use-ftp-tls",
        "telnetlib",
    )
    refuse_in_tests: ClassVar[bool] = True
    modules: ClassVar[tuple[str, ...]] = (
        "requests",
        "httpx",
        "urllib",
        "urllib3",
        "ftplib",
        "smtplib",
        "telnetlib",
        "http",
    )

    def relevant(self, file: FileContext) -> bool:
        if not file.may_resolve(*self.modules):
            return False
        if any(w in file.source for w in _SPELLINGS):
            return True
        # A reported URL spells `http://` (any case) in a string literal at its head, which is
        # no docstring: most files mention `http://` only in docstrings and comments.
        if not _HTTP.search(file.source):
            return False
        tree = file.syntax
        return tree is None or any(_HTTP.search(text) for text in _code_strings(tree))

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


class _Transformer(DetectorTransformer):
    def __init__(self, run: FileRun) -> None:
        super().__init__(run)
        self._starttls: dict[cst.CSTNode, bool] = {}
        self._http_names: frozenset[str] | None = None

    def visit_Call(self, node: cst.Call) -> None:
        client = self.call_name(node, _CLIENT_NAMES)
        if client is not None:
            self._client(node, client)
            return
        # A URL is passed first, second, as `url=` or as `base_url=`: unless one of these is
        # spelled with `http://`, the call's names (costly metadata) are never needed.
        candidates = [a.value for a in node.args[:2] if a.keyword is None and not a.star]
        candidates += [
            a.value
            for a in node.args
            if a.keyword is not None and a.keyword.value in ("url", "base_url")
        ]
        if not any(self._spelled_http(c) for c in candidates):
            return
        url = self._url_argument(node)
        if url is not None:
            self._url(node, url)

    # -- clients ----------------------------------------------------------------------------

    def _client(self, call: cst.Call, name: str) -> None:
        host = argument(call, "host")
        text = literal_text(host) if host is not None else None
        if isinstance(text, str) and local_host(_host_part(text)) is not None:
            return
        if name in _SMTP:
            if self._has_starttls(call):
                return
            detail = _SMTP_DETAIL
        else:
            detail = _CLIENTS[name]
        self.report(call, f"{detail}.")

    def _has_starttls(self, call: cst.Call) -> bool:
        """Whether the function around `call` (the module, outside any) calls `starttls`."""
        scope: cst.CSTNode | None = self.parent(call)
        while scope is not None and not isinstance(scope, cst.FunctionDef | cst.Module):
            scope = self.parent(scope)
        if scope is None:
            return False
        if scope not in self._starttls:
            self._starttls[scope] = (
                m.findall(scope, m.Call(func=m.Attribute(attr=m.Name("starttls")))) != []
            )
        return self._starttls[scope]

    # -- URLs -------------------------------------------------------------------------------

    def _url_argument(self, call: cst.Call) -> cst.BaseExpression | None:
        """The URL argument of a call that takes one (None when it has none or is no such
        call)."""
        name = self.call_name(call, _URL_FUNCTIONS.keys())
        if name is not None:
            return argument(call, "url", _URL_FUNCTIONS[name])
        if self.call_name(call, _BASE_URL) is not None:
            return argument(call, "base_url", None)
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in _METHODS:
            url = argument(call, "url", _METHODS[func.attr.value])
            # `.get(...)` is everywhere (dicts, mappings): look at the URL before asking what
            # the receiver is, which needs the scopes of the file.
            if (
                url is not None
                and self._spelled_http(url)
                and self.origin_calls(func.value) & _CLIENT_CLASSES
            ):
                return url
        return None

    def _spelled_http(self, url: cst.BaseExpression) -> bool:
        head = self._head(url)
        return head is not None and bool(_HTTP.search(self.module.code_for_node(head)))

    def _url(self, call: cst.Call, url: cst.BaseExpression) -> None:
        if not self._spelled_http(url):
            return
        text = self._text(url)
        if text is None:
            return
        try:
            parts = urlsplit(text.strip())
            port = parts.port if _HOLE not in parts.netloc else None
        except ValueError:
            return
        if parts.scheme.lower() != "http" or schema_uri(parts):
            return
        host = parts.hostname or ""
        if _HOLE not in host and local_host(host) is not None:
            return
        shown = text.strip().replace(_HOLE, "{…}")
        shown = shown if len(shown) <= 80 else f"{shown[:77]}..."
        detail = (
            f"`{shown}` is plain HTTP: the request, the response and any credentials, cookies "
            f"or tokens in them {_PLAIN}. Use `https://` if the endpoint serves it, with "
            f"certificate verification left on; {_UNKNOWN_TLS}"
        )
        if _HOLE in host or not host:
            detail += (
                "; the host is computed at run time: if it is always a loopback or private "
                "address, mark the line `# pragma: no-remediate` with a comment saying so"
            )
        if port == 80:
            detail += "; the URL names port 80, which changes with the scheme (443)"
        self.report(call, f"{detail}.")

    def _head(self, node: cst.BaseExpression, depth: int = 0) -> cst.CSTNode | None:
        """The literal at the head of a URL expression (where its scheme is spelled)."""
        if isinstance(node, cst.FormattedString) and node.parts:
            first = node.parts[0]
            if isinstance(first, cst.FormattedStringExpression):
                return self._head(first.expression, depth + 1) if depth < 3 else None
            return node
        if isinstance(node, cst.SimpleString):
            return node
        if isinstance(node, cst.ConcatenatedString):
            return self._head(node.left, depth)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            return self._head(node.left, depth)
        if isinstance(node, cst.Name) and depth < 3 and node.value in self._names_of_urls():
            value = self._constant(node)
            return None if value is None else self._head(value, depth + 1)
        return None

    def _names_of_urls(self) -> frozenset[str]:
        """Names assigned anywhere in the module a value holding an `http://` string, or one
        of these names; read from `ast`, which is far cheaper than resolving scopes."""
        if self._http_names is None:
            tree = self.run.file.syntax
            if tree is None:  # `ast` cannot read what libcst could: every name may hold one
                self._http_names = frozenset(
                    n.value for n in m.findall(self.module, m.Name()) if isinstance(n, cst.Name)
                )
            else:
                self._http_names = _assigned_urls(tree)
        return self._http_names

    def _text(self, node: cst.BaseExpression, depth: int = 0) -> str | None:
        """The text of a URL expression; a part not known before run time is a hole."""
        if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
            value = literal_text(node)
            return value if isinstance(value, str) else None
        if isinstance(node, cst.FormattedString):
            parts: list[str] = []
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    parts.append(part.value)
                elif isinstance(part, cst.FormattedStringExpression) and not part.format_spec:
                    inner = self._text(part.expression, depth + 1) if depth < 3 else None
                    parts.append(_HOLE if inner is None else inner)
                else:
                    parts.append(_HOLE)
            return "".join(parts)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            left = self._text(node.left, depth + 1)
            if left is None:
                return None
            return left + (self._text(node.right, depth + 1) or _HOLE)
        if isinstance(node, cst.Name) and depth < 3:
            bound = self._constant(node)
            return None if bound is None else self._text(bound, depth + 1)
        return None

    def _constant(self, name: cst.Name) -> cst.BaseExpression | None:
        """The value of the one assignment binding `name` (`BASE = "http://..."`, annotated
        or not), None when there are several, or another kind of binding."""
        scope = self.scope(name)
        if scope is None:
            return None
        assignments = list(scope[name.value])
        if len(assignments) != 1:
            return None
        target = getattr(assignments[0], "node", None)
        if not isinstance(target, cst.Name):
            return None
        parent = self.parent(target)
        if isinstance(parent, cst.AnnAssign) and parent.target is target:
            return parent.value
        if isinstance(parent, cst.AssignTarget):
            assign = self.parent(parent)
            if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
                return assign.value
        return None
