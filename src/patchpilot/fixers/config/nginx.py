"""nginx TLS mitigations: legacy protocols and weak ciphers, edited in place, proven by `nginx -t`.

This module owns the nginx side of the configuration mitigations. It finds a project's nginx
files (`nginx.conf`, `sites-*/*`, `conf.d/*.conf`), reads them with crossplane (contexts, line
numbers, arguments) and follows `include` the way nginx does, but only into the project: an
absolute `/etc/nginx/...` include is looked up under the directory holding `nginx.conf`, and
anything outside the project is never read. Values come from the vendored Mozilla Server Side
TLS data (`profiles/`), `intermediate` configuration: `ssl_protocols` drops SSLv2/SSLv3/TLSv1/
TLSv1.1, `ssl_ciphers` keeps only the profile's suites, and a `server` that listens with TLS
and has no `ssl_protocols` in effect gets one at server scope. An edit only ever removes what
the profile rejects (it never enables a protocol or suite the file had not enabled, unless
nothing would be left), a setting stricter than the profile is refused as `already-stricter`,
and HSTS or HTTPS redirects are reported (Tier C), never written. Edits replace exact token
ranges of the original text, so comments, indentation and everything else stay byte for byte.
Every edit must pass a real `nginx -t` on a temporary copy of the configuration, before and
after; the copy replaces missing certificates, keys and DH parameters by throwaway stand-ins
and sends logs and the pid file to the temporary directory, nothing else.
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from patchpilot.errors import CodefixError
from patchpilot.fixers.config.interface import (
    ConfigChange,
    ConfigRefusal,
    Mitigation,
    OracleCheck,
    Reason,
)

PROFILE_FILE = "server-side-tls-5.1.json"
PROFILE_NAME = "intermediate"

NGINX_TLS_PROTOCOLS = Mitigation(
    id="nginx-tls-protocols",
    title="nginx: disable SSLv3, TLS 1.0 and TLS 1.1",
    tier="B",
    cwe=("CWE-326", "CWE-327"),
    explanation="""\
### nginx: only TLS 1.2 and TLS 1.3

`ssl_protocols` enabled protocols that Mozilla's *intermediate* Server Side TLS profile
(version 5.1) no longer allows: SSLv2/SSLv3 and TLS 1.0/1.1 are deprecated (RFC 8996) and
exposed to downgrade and padding-oracle attacks (POODLE, BEAST). This change removes them and
keeps the protocols the file already enabled that the profile allows. A `server` that listens
with TLS and has no `ssl_protocols` in effect gets one at server scope, because the built-in
default of nginx before 1.23.4 still enables TLS 1.0 and 1.1.

**Review:** clients that only speak TLS 1.0/1.1 (very old Android, Java 7, embedded devices)
can no longer connect. Log `$ssl_protocol` for a while to see whether any still do. The
configuration passed `nginx -t` before and after the change.
""",
)

NGINX_TLS_CIPHERS = Mitigation(
    id="nginx-tls-ciphers",
    title="nginx: restrict ssl_ciphers to Mozilla intermediate suites",
    tier="B",
    cwe=("CWE-326", "CWE-327"),
    explanation="""\
### nginx: strong cipher suites only

`ssl_ciphers` allowed suites outside Mozilla's *intermediate* Server Side TLS profile
(version 5.1): CBC-mode, static-RSA key exchange, RC4, 3DES, export or anonymous suites,
depending on the string. The new value keeps the suites the old string enabled that the
profile lists (ECDHE/DHE with AES-GCM or ChaCha20-Poly1305), in the profile's order; when none
remain it is the profile's full list. The value is generated from Mozilla's data, never
written by hand. TLS 1.3 suites are not affected by `ssl_ciphers`.

**Review:** clients that only offer the removed suites can no longer connect. The
configuration passed `nginx -t` before and after the change.
""",
)

NGINX_HSTS = Mitigation(
    id="nginx-hsts",
    title="nginx: Strict-Transport-Security is not sent (reported only)",
    tier="C",
    cwe=("CWE-319",),
    explanation="""\
### nginx: no HSTS header

A `server` that serves TLS does not send `Strict-Transport-Security`. patchpilot never adds
it: HSTS is sticky in browsers for its whole `max-age` (Mozilla suggests 63072000 s), and a
site that later needs plain HTTP on any covered host becomes unreachable. Add it by hand once
every host is HTTPS-only:
`add_header Strict-Transport-Security "max-age=63072000" always;`
""",
)

NGINX_HTTPS_REDIRECT = Mitigation(
    id="nginx-https-redirect",
    title="nginx: plain-HTTP server without a redirect to HTTPS (reported only)",
    tier="C",
    cwe=("CWE-319",),
    explanation="""\
### nginx: plain HTTP is served next to HTTPS

A `server` listens without TLS and does not redirect to HTTPS, while the configuration also
serves TLS. patchpilot never adds the redirect: behind a TLS-terminating proxy or load
balancer it causes redirect loops, and health checks or ACME challenges may need plain HTTP.
""",
)

MITIGATIONS: tuple[Mitigation, ...] = (
    NGINX_TLS_PROTOCOLS,
    NGINX_TLS_CIPHERS,
    NGINX_HSTS,
    NGINX_HTTPS_REDIRECT,
)

LEGACY_PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")
_PROTOCOLS = {p.lower(): p for p in (*LEGACY_PROTOCOLS, "TLSv1.2", "TLSv1.3")}

# Directories never searched for configuration (dependencies, virtualenvs, VCS data).
_SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".nox"}
)
# Debian's and most distributions' nginx configuration directory, which absolute includes
# in a project's copy of it name.
_SYSTEM_CONF_DIR = "/etc/nginx"
_MAX_INCLUDE_DEPTH = 16
_MAX_FILE_BYTES = 4 * 1024 * 1024
_NGINX_TIMEOUT = 60
_OUTPUT_CHARS = 2000

# Cipher-string elements that enable something weak when not negated (`!`/`-`).
_WEAK_CIPHER_WORDS = ("RC4", "DES", "NULL", "EXP", "MD5", "ADH", "AECDH", "IDEA", "SEED", "RC2")
_WEAK_CIPHER_EXACT = frozenset({"LOW", "SSLV2", "SSLV3"})

# Directives naming a file that only exists on the server (secrets): a missing one is stood
# in for in the validation copy, by kind.
_SECRET_FILES = {
    "ssl_certificate": "cert",
    "ssl_certificate_key": "key",
    "ssl_trusted_certificate": "cert",
    "ssl_client_certificate": "cert",
    "ssl_dhparam": "dh",
}
_LOG_FILES = frozenset({"error_log", "access_log", "pid"})
_LOG_KEEP = ("off", "stderr", "syslog:", "memory:")


@dataclass(frozen=True, slots=True)
class TlsProfile:
    """One configuration of Mozilla's Server Side TLS data, as nginx values."""

    name: str
    version: str
    protocols: tuple[str, ...]
    ciphers: tuple[str, ...]
    ciphersuites: tuple[str, ...]
    hsts_min_age: int

    @property
    def ssl_protocols(self) -> str:
        return " ".join(self.protocols)

    @property
    def ssl_ciphers(self) -> str:
        return ":".join(self.ciphers)


@functools.cache
def mozilla_profile(name: str = PROFILE_NAME) -> TlsProfile:
    """The named configuration (`modern`, `intermediate`, `old`) of the vendored data."""
    raw = resources.files("patchpilot.fixers.config").joinpath("profiles").joinpath(PROFILE_FILE)
    data = json.loads(raw.read_text(encoding="utf-8"))
    try:
        conf = data["configurations"][name]
        return TlsProfile(
            name=name,
            version=str(data["version"]),
            protocols=tuple(str(p) for p in conf["tls_versions"]),
            ciphers=tuple(str(c) for c in conf["ciphers"]["openssl"]),
            ciphersuites=tuple(str(c) for c in conf["ciphersuites"]),
            hsts_min_age=int(conf["hsts_min_age"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{PROFILE_FILE}: no usable {name!r} configuration ({e})") from e


# --- lexing with offsets ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    """One nginx token as crossplane's lexer yields it, plus where it sits in the text.

    `value` is crossplane's token (quotes removed, escaped quotes unescaped); `start`/`end`
    are offsets of its raw text (quotes included), so it can be replaced exactly.
    """

    value: str
    line: int
    quoted: bool
    start: int
    end: int


class _EndOfText(Exception):
    pass


class _Chars:
    """Characters the way crossplane reads them: universal newlines (CR LF and a lone CR
    read as LF), a backslash and the character after it as one, lines counted on LF."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def _newline_end(self, at: int) -> int:
        return at + 2 if self.text[at + 1 : at + 2] == "\n" else at + 1

    def next(self) -> tuple[str, int, int, int]:
        text = self.text
        start = self.pos
        if start >= len(text):
            raise _EndOfText
        char = text[start]
        end = start + 1
        if char == "\r":
            char, end = "\n", self._newline_end(start)
        elif char == "\\":
            if start + 1 >= len(text):
                # crossplane drops a backslash that ends the text.
                self.pos = len(text)
                raise _EndOfText
            if text[start + 1] == "\r":
                char, end = "\\\n", self._newline_end(start + 1)
            else:
                char, end = text[start : start + 2], start + 2
        self.pos = end
        if char.endswith("\n"):
            self.line += 1
        return char, self.line, start, end


def lex(text: str) -> list[Token]:  # noqa: PLR0915 - one statement per crossplane statement
    """Tokens of nginx configuration text, exactly as `crossplane.lex` produces them.

    crossplane gives values and line numbers only; edits need offsets, so this follows the
    same rules (quotes, escapes, `${...}`, comments, `{`, `}`, `;`) and records them. A token
    still open when the text ends is dropped, as crossplane drops it. crossplane's Lua-block
    extension is not followed: files that use it are compared against crossplane and refused.
    """
    tokens: list[Token] = []
    chars = _Chars(text)
    token = ""
    token_line = 0
    start = end = 0
    try:
        while True:
            char, line, c_start, c_end = chars.next()
            if char.isspace():
                if token:
                    tokens.append(Token(token, token_line, False, start, end))
                    token = ""
                while char.isspace():
                    char, line, c_start, c_end = chars.next()
            if not token and char == "#":
                comment_line, comment_start = line, c_start
                while not char.endswith("\n"):
                    token += char
                    end = c_end
                    char, _, c_start, c_end = chars.next()
                tokens.append(Token(token, comment_line, False, comment_start, end))
                token = ""
                continue
            if not token:
                token_line = line
                start = c_start
            if token and token[-1] == "$" and char == "{":
                while token[-1] != "}" and not char.isspace():
                    token += char
                    end = c_end
                    char, line, c_start, c_end = chars.next()
            if char in ('"', "'"):
                if token:
                    token += char
                    end = c_end
                    continue
                quote = char
                start = c_start
                char, line, c_start, c_end = chars.next()
                while char != quote:
                    token += quote if char == "\\" + quote else char
                    char, line, c_start, c_end = chars.next()
                tokens.append(Token(token, token_line, True, start, c_end))
                token = ""
                continue
            if char in ("{", "}", ";"):
                if token:
                    tokens.append(Token(token, token_line, False, start, end))
                    token = ""
                tokens.append(Token(char, line, False, c_start, c_end))
                continue
            if not token:
                start = c_start
            token += char
            end = c_end
    except _EndOfText:
        pass
    return tokens


@dataclass(frozen=True, slots=True)
class Statement:
    """A directive's tokens: its name, its arguments (comments left out) and its terminator
    (`;`, `{`, or None when the text ends first)."""

    name: Token
    args: tuple[Token, ...]
    term: Token | None


def statements(tokens: Sequence[Token]) -> dict[tuple[int, str], list[Statement]]:
    """Every directive of a file, keyed by (line, name) in text order, the way crossplane's
    parser groups tokens into directives."""
    found: dict[tuple[int, str], list[Statement]] = {}
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        i += 1
        if not tok.quoted and (tok.value == "}" or tok.value.startswith("#")):
            continue
        args: list[Token] = []
        term: Token | None = None
        while i < n:
            cur = tokens[i]
            i += 1
            if not cur.quoted and cur.value in ("{", ";", "}"):
                term = cur
                break
            if not cur.quoted and cur.value.startswith("#"):
                continue
            args.append(cur)
        found.setdefault((tok.line, tok.value), []).append(Statement(tok, tuple(args), term))
        if term is not None and term.value == "}":
            # crossplane treats a `}` ending a directive as that directive's end and the
            # block's; the next token starts a new directive either way.
            continue
    return found


# --- the configuration tree ------------------------------------------------------------------


@dataclass(slots=True)
class _File:
    path: Path  # resolved, inside the project
    rel: str
    text: str
    stmts: dict[tuple[int, str], list[Statement]]
    exact: bool  # our offsets agree with crossplane's tokens
    parsed: list[dict[str, Any]] | None = None
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Node:
    name: str
    args: tuple[str, ...]
    line: int
    file: _File
    stmt: Statement | None
    ctx: tuple[str, ...]
    block: tuple[_Node, ...] | None
    # For `include`: the project files it reads, or None when it points outside the project.
    included: tuple[Path, ...] | None = None


@dataclass(slots=True)
class _Tree:
    """One configuration nginx would load: a project `nginx.conf`, or a lone site file that
    the system's nginx.conf would include inside `http {}`."""

    label: str  # project-relative path of the main file or of the lone site file
    main: _File | None  # None: a lone site file, wrapped for validation
    conf_dir: Path
    files: dict[Path, _File] = field(default_factory=dict)
    nodes: tuple[_Node, ...] = ()
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace `text[start:end]` of the file at `path` (original offsets) with `text`."""

    path: Path
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class _Candidate:
    mitigation: str
    file: _File
    line: int
    key: str
    before: str | None
    after: str
    description: str
    edit: Edit
    # The TLS servers (file, index of the server in that file) the edit must leave without
    # legacy protocols; checked on the validated copy, includes from outside the project too.
    servers: tuple[tuple[str, int], ...] = ()


@dataclass(slots=True)
class NginxOutcome:
    """What the nginx mitigations produced: whole-file texts, changes, refusals, checks."""

    texts: dict[str, tuple[str, str]] = field(default_factory=dict)  # rel -> (before, after)
    changes: list[ConfigChange] = field(default_factory=list)
    refusals: list[ConfigRefusal] = field(default_factory=list)
    checks: list[OracleCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def discover(root: Path) -> list[Path]:
    """The nginx files under `root`: `nginx.conf`, `sites-*/*`, `conf.d/*.conf`."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        here = Path(dirpath)
        for name in sorted(filenames):
            path = here / name
            parent = here.name
            if (
                name == "nginx.conf"
                or parent.startswith("sites-")
                or (parent == "conf.d" and name.endswith(".conf"))
            ):
                found.append(path)
    return found


def _read(path: Path, root: Path) -> str:
    try:
        size = path.stat().st_size
        if size > _MAX_FILE_BYTES:
            raise CodefixError(path.relative_to(root), None, f"file too large ({size} bytes)")
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise CodefixError(path.relative_to(root), None, f"not UTF-8 text (byte {e.start})") from e
    except OSError as e:
        raise CodefixError(path.relative_to(root), None, f"cannot read: {e.strerror or e}") from e


class _Loader:
    """Reads and parses project nginx files once each, and follows includes into the project."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[Path, _File] = {}

    def inside(self, path: Path) -> Path | None:
        """`path` resolved, if it is a regular file inside the project."""
        try:
            real = path.resolve()
        except OSError:
            return None
        if not real.is_relative_to(self.root) or not real.is_file():
            return None
        return real

    def load(self, real: Path) -> _File:
        cached = self.files.get(real)
        if cached is not None:
            return cached
        import crossplane

        text = _read(real, self.root)
        tokens = lex(text)
        exact = True
        errors: list[str] = []
        try:
            theirs = [(t, line, q) for t, line, q in crossplane.lex(str(real))]
            exact = theirs == [(t.value, t.line, t.quoted) for t in tokens]
        except Exception as e:  # crossplane raises OSError, its own and bare errors alike
            errors.append(_crossplane_message(e, real, self.root))
        file = _File(real, real.relative_to(self.root).as_posix(), text, statements(tokens), exact)
        try:
            payload = crossplane.parse(
                str(real),
                single=True,
                comments=False,
                check_ctx=False,
                check_args=False,
                catch_errors=True,
            )
        except Exception as e:  # any parser failure means a file nginx would reject
            errors.append(_crossplane_message(e, real, self.root))
            payload = None
        if payload is not None:
            for err in payload.get("errors", ()):
                line = err.get("line")
                where = file.rel if line is None else f"{file.rel}:{line}"
                errors.append(f"{where}: {_strip_location(str(err.get('error', '')))}")
            configs = payload.get("config") or [{}]
            file.parsed = list(configs[0].get("parsed") or [])
        file.errors = list(dict.fromkeys(errors))
        self.files[real] = file
        return file


def _crossplane_message(e: Exception, path: Path, root: Path) -> str:
    line = getattr(e, "lineno", None)
    rel = path.relative_to(root).as_posix()
    where = rel if line is None else f"{rel}:{line}"
    return f"{where}: {_strip_location(str(e))}"


def _strip_location(message: str) -> str:
    return re.sub(r" in \S+:\d+$| in \S+$", "", message)


class _TreeBuilder:
    def __init__(self, loader: _Loader, tree: _Tree) -> None:
        self.loader = loader
        self.tree = tree

    def file_nodes(self, file: _File, ctx: tuple[str, ...], stack: tuple[Path, ...]) -> list[_Node]:
        self.tree.files[file.path] = file
        for err in file.errors:
            if err not in self.tree.errors:
                self.tree.errors.append(err)
        if file.parsed is None:
            return []
        # Statements are matched to their text spans in order, afresh for each inclusion.
        used: dict[tuple[int, str], int] = {}
        return self.nodes(file, file.parsed, ctx, (*stack, file.path), used)

    def nodes(
        self,
        file: _File,
        raw: list[dict[str, Any]],
        ctx: tuple[str, ...],
        stack: tuple[Path, ...],
        used: dict[tuple[int, str], int],
    ) -> list[_Node]:
        out: list[_Node] = []
        for stmt in raw:
            name = str(stmt.get("directive", ""))
            line = int(stmt.get("line", 0))
            args = tuple(str(a) for a in stmt.get("args", ()))
            index = used.get((line, name), 0)
            used[(line, name)] = index + 1
            candidates = file.stmts.get((line, name), [])
            span = candidates[index] if file.exact and index < len(candidates) else None
            block = stmt.get("block")
            if name == "include" and args and block is None:
                included = self.include(args[0], file, ctx, stack, line)
                out.append(_Node(name, args, line, file, span, ctx, None, included[0]))
                out.extend(included[1])
                continue
            children: tuple[_Node, ...] | None = None
            if isinstance(block, list):
                children = tuple(self.nodes(file, block, (*ctx, name), stack, used))
            out.append(_Node(name, args, line, file, span, ctx, children))
        return out

    def include(
        self,
        pattern: str,
        file: _File,
        ctx: tuple[str, ...],
        stack: tuple[Path, ...],
        line: int,
    ) -> tuple[tuple[Path, ...] | None, list[_Node]]:
        targets = _project_matches(pattern, self.tree.conf_dir, self.loader)
        if targets is None:
            return None, []
        if len(stack) >= _MAX_INCLUDE_DEPTH:
            self.tree.errors.append(f"{file.rel}:{line}: includes nested too deeply")
            return tuple(targets), []
        nodes: list[_Node] = []
        for target in targets:
            if target in stack:
                self.tree.errors.append(f"{file.rel}:{line}: include cycle through {pattern}")
                continue
            nodes.extend(self.file_nodes(self.loader.load(target), ctx, stack))
        return tuple(targets), nodes


def _project_matches(pattern: str, conf_dir: Path, loader: _Loader) -> list[Path] | None:
    """The project files an include pattern reads, or None when it reads outside the project.

    nginx resolves a relative pattern against its configuration directory; an absolute one
    under /etc/nginx is what a project's copy of that directory holds, so it is looked up
    there first. A pattern whose directory does not exist in the project reads the system's.
    """
    candidate = _project_pattern(pattern, conf_dir, loader.root)
    if candidate is None:
        return None
    if glob.has_magic(str(candidate)):
        if not candidate.parent.is_dir() and not glob.has_magic(str(candidate.parent)):
            return None
        # glob(3) rules, as nginx uses them (`*` skips dot files, unlike Path.glob).
        matches = sorted(glob.glob(str(candidate)))  # noqa: PTH207
    else:
        if not candidate.exists():
            return None
        matches = [str(candidate)]
    found: list[Path] = []
    for m in matches:
        real = loader.inside(Path(m))
        if real is not None and real not in found:
            found.append(real)
    return found


def _project_pattern(pattern: str, conf_dir: Path, root: Path) -> Path | None:
    if not pattern or "\0" in pattern:
        return None
    if Path(pattern).is_absolute():
        path = Path(pattern)
        if path.is_relative_to(root):
            return path
        system = Path(_SYSTEM_CONF_DIR)
        if path.is_relative_to(system):
            return conf_dir / path.relative_to(system)
        return None
    joined = conf_dir / pattern
    try:
        if not joined.resolve().is_relative_to(root):
            return None
    except OSError:
        return None
    return joined


def _conf_dir_of(path: Path) -> Path:
    """Where nginx would resolve relative paths for a lone site file: the directory that holds
    its `sites-*`/`conf.d` directory (as /etc/nginx holds sites-enabled), else its own."""
    parent = path.parent
    if parent.name.startswith("sites-") or parent.name == "conf.d":
        return parent.parent
    return parent


def load_trees(root: Path) -> tuple[list[_Tree], list[str]]:
    """Every configuration in the project: each `nginx.conf` with what it includes, then each
    site file no `nginx.conf` includes, on its own. Notes name files left out."""
    loader = _Loader(root)
    notes: list[str] = []
    paths: list[Path] = []
    for path in discover(root):
        real = loader.inside(path)
        if real is None:
            rel = path.relative_to(root).as_posix()
            notes.append(f"{rel}: not read (a link leaving the project, or not a regular file)")
            continue
        if real not in paths:
            paths.append(real)
    trees: list[_Tree] = []
    reached: set[Path] = set()
    for real in paths:
        if real.name != "nginx.conf":
            continue
        file = loader.load(real)
        tree = _Tree(label=file.rel, main=file, conf_dir=real.parent)
        tree.nodes = tuple(_TreeBuilder(loader, tree).file_nodes(file, (), ()))
        reached.update(tree.files)
        trees.append(tree)
    for real in paths:
        if real in reached:
            continue
        file = loader.load(real)
        tree = _Tree(label=file.rel, main=None, conf_dir=_conf_dir_of(real))
        tree.nodes = tuple(_TreeBuilder(loader, tree).file_nodes(file, ("http",), ()))
        reached.update(tree.files)
        trees.append(tree)
    return trees, notes


def _walk(nodes: Sequence[_Node]) -> Iterator[_Node]:
    for node in nodes:
        yield node
        if node.block:
            yield from _walk(node.block)


# --- analysis --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Analysis:
    candidates: list[_Candidate] = field(default_factory=list)
    refusals: list[ConfigRefusal] = field(default_factory=list)


def _direct(nodes: Sequence[_Node] | None, name: str) -> list[_Node]:
    return [n for n in nodes or () if n.name == name]


def _is_tls_server(server: _Node) -> bool:
    for node in server.block or ():
        if node.name == "listen" and any(a in ("ssl", "quic") for a in node.args[1:]):
            return True
        if node.name == "ssl" and node.args[:1] == ("on",):
            return True
    return False


def _has_hsts(nodes: Sequence[_Node] | None) -> bool:
    for node in nodes or ():
        if node.name == "add_header" and [a.lower() for a in node.args[:1]] == [_HSTS]:
            return True
        if node.name == "more_set_headers" and any(a.lower().startswith(_HSTS) for a in node.args):
            return True
    return False


_HSTS = "strict-transport-security"


def _redirects_to_https(server: _Node) -> bool:
    for node in _walk(server.block or ()):
        redirect = node.name == "rewrite" or (
            node.name == "return" and node.args[:1] and node.args[0] in _REDIRECT_CODES
        )
        if redirect and len(node.args) >= 2 and node.args[1].lower().startswith("https://"):
            return True
    return False


_REDIRECT_CODES = frozenset({"301", "302", "303", "307", "308"})


def _protocol_candidate(
    node: _Node, profile: TlsProfile, out: _Analysis, servers: tuple[tuple[str, int], ...]
) -> None:
    wanted = [_PROTOCOLS.get(a.lower()) for a in node.args]
    if any(w is None for w in wanted) or not wanted:
        # Unknown words: nginx -t will judge the file; nothing here to rewrite safely.
        return
    enabled = [w for w in wanted if w is not None]
    legacy = [p for p in enabled if p in LEGACY_PROTOCOLS]
    allowed = set(profile.protocols)
    if not legacy:
        if set(enabled) < allowed:
            out.refusals.append(
                ConfigRefusal(
                    NGINX_TLS_PROTOCOLS.id,
                    node.file.rel,
                    node.line,
                    Reason.ALREADY_STRICTER,
                    f"ssl_protocols {' '.join(node.args)} is stricter than Mozilla "
                    f"{profile.name} {profile.version} ({profile.ssl_protocols}); left as is",
                )
            )
        return
    if node.stmt is None or not node.stmt.args:
        out.refusals.append(_inexact(NGINX_TLS_PROTOCOLS.id, node))
        return
    kept = [p for p in profile.protocols if p in enabled] or list(profile.protocols)
    new = " ".join(kept)
    old = " ".join(node.args)
    out.candidates.append(
        _Candidate(
            mitigation=NGINX_TLS_PROTOCOLS.id,
            file=node.file,
            line=node.line,
            key="ssl_protocols",
            before=old,
            after=new,
            description=(
                f"ssl_protocols {old} → {new}: drops {' '.join(legacy)} "
                f"(Mozilla {profile.name} {profile.version})"
            ),
            edit=Edit(node.file.path, node.stmt.args[0].start, node.stmt.args[-1].end, new),
            servers=servers,
        )
    )


def _inexact(mitigation: str, node: _Node) -> ConfigRefusal:
    return ConfigRefusal(
        mitigation,
        node.file.rel,
        node.line,
        Reason.UNSUPPORTED_SYNTAX,
        "the file uses syntax whose exact text positions cannot be followed (e.g. a Lua "
        "block), so it cannot be edited in place",
    )


def cipher_names(value: str) -> tuple[str, ...] | None:
    """The TLS 1.2-and-older suites an OpenSSL cipher string selects, in OpenSSL's order,
    per this Python's OpenSSL; None when it selects nothing or is not valid."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.set_ciphers(value)
    except (ssl.SSLError, ValueError):
        return None
    return tuple(str(c["name"]) for c in context.get_ciphers() if c.get("protocol") != "TLSv1.3")


def weak_cipher_words(value: str) -> tuple[str, ...]:
    """Elements of a cipher string that enable weak algorithms (RC4, DES/3DES, NULL, export,
    MD5, anonymous key exchange, …) whether or not this machine's OpenSSL still has them."""
    weak: list[str] = []
    for element in re.split(r"[:, ]+", value):
        if not element or element[0] in "!-+@":
            if element.upper().startswith("@SECLEVEL=0"):
                weak.append(element)
            continue
        upper = element.upper()
        parts = upper.split("+")
        if upper in _WEAK_CIPHER_EXACT or any(
            word in part for part in parts for word in _WEAK_CIPHER_WORDS
        ):
            weak.append(element)
    return tuple(weak)


def _cipher_candidate(node: _Node, profile: TlsProfile, out: _Analysis) -> None:
    if len(node.args) != 1:
        return
    value = node.args[0]
    selected = cipher_names(value)
    words = weak_cipher_words(value)
    allowed = set(profile.ciphers)
    outside = [c for c in selected or () if c not in allowed]
    if not words and not outside:
        if selected is not None and set(selected) < allowed:
            out.refusals.append(
                ConfigRefusal(
                    NGINX_TLS_CIPHERS.id,
                    node.file.rel,
                    node.line,
                    Reason.ALREADY_STRICTER,
                    f"ssl_ciphers selects {len(set(selected))} of the {len(allowed)} suites of "
                    f"Mozilla {profile.name} {profile.version} and nothing else; left as is",
                )
            )
        return
    if node.stmt is None or len(node.stmt.args) != 1:
        out.refusals.append(_inexact(NGINX_TLS_CIPHERS.id, node))
        return
    kept = [c for c in profile.ciphers if c in (selected or ())] or list(profile.ciphers)
    new = ":".join(kept)
    token = node.stmt.args[0]
    raw = node.file.text[token.start : token.end]
    quote = raw[0] if token.quoted and raw[:1] in ("'", '"') else ""
    reasons = list(words) + [c for c in outside if c not in words]
    shown = ", ".join(reasons[:6]) + (", …" if len(reasons) > 6 else "")
    out.candidates.append(
        _Candidate(
            mitigation=NGINX_TLS_CIPHERS.id,
            file=node.file,
            line=node.line,
            key="ssl_ciphers",
            before=value,
            after=new,
            description=(
                f"ssl_ciphers: {len(kept)} suites of Mozilla {profile.name} {profile.version} "
                f"instead of a string that also allowed {shown}"
            ),
            edit=Edit(node.file.path, token.start, token.end, f"{quote}{new}{quote}"),
        )
    )


def _insertion(server: _Node, profile: TlsProfile) -> Edit | None:
    """Where `ssl_protocols` goes in a server block: after its last `listen` in the file that
    opens the block (else right after the `{`), with that line's indentation."""
    file = server.file
    if server.stmt is None or server.stmt.term is None or server.stmt.term.value != "{":
        return None
    listens = [n for n in server.block or () if n.name == "listen" and n.file is file and n.stmt]
    text = file.text
    directive = f"ssl_protocols {profile.ssl_protocols};"
    anchor = listens[-1].stmt if listens else None
    if anchor is not None and anchor.term is not None:
        indent = _indentation(text, anchor.name.start)
        after = anchor.term.end
    else:
        outer = _indentation(text, server.stmt.name.start)
        indent = outer + ("\t" if "\n\t" in text else "    ")
        after = server.stmt.term.end
    line_end = text.find("\n", after)
    rest = text[after:] if line_end == -1 else text[after:line_end]
    if line_end != -1 and (not rest.strip() or rest.strip().startswith("#")):
        return Edit(file.path, line_end + 1, line_end + 1, f"{indent}{directive}\n")
    return Edit(file.path, after, after, f" {directive}")


def _indentation(text: str, offset: int) -> str:
    line_start = text.rfind("\n", 0, offset) + 1
    line = text[line_start:offset]
    return line[: len(line) - len(line.lstrip(" \t"))]


def http_servers(tree: _Tree) -> list[tuple[tuple[str, int], _Node]]:
    """The `server` blocks inside `http`, each with its key: the file that opens it and its
    index among that file's servers (stable when lines move)."""
    if tree.main is None:
        nodes = [n for n in tree.nodes if n.name == "server" and n.ctx == ("http",)]
    else:
        nodes = _direct(_http_block(tree), "server")
    seen: dict[str, int] = {}
    out: list[tuple[tuple[str, int], _Node]] = []
    for node in nodes:
        index = seen.get(node.file.rel, 0)
        seen[node.file.rel] = index + 1
        out.append(((node.file.rel, index), node))
    return out


def _http_block(tree: _Tree) -> tuple[_Node, ...] | None:
    for node in tree.nodes:
        if node.name == "http" and node.ctx == () and node.block is not None:
            return node.block
    return None


def analyse(tree: _Tree, profile: TlsProfile) -> _Analysis:
    """Candidate edits and refusals of one configuration."""
    out = _Analysis()
    http_level = _http_block(tree)
    servers = http_servers(tree)
    tls = [(key, s) for key, s in servers if _is_tls_server(s)]
    inheriting = tuple(k for k, s in tls if not _direct(s.block, "ssl_protocols"))
    covers: dict[int, tuple[tuple[str, int], ...]] = {
        id(n): inheriting for n in _direct(http_level, "ssl_protocols")
    }
    for key, server in tls:
        for node in _direct(server.block, "ssl_protocols"):
            covers[id(node)] = (key,)
    for node in _walk(tree.nodes):
        if node.name == "ssl_protocols":
            _protocol_candidate(node, profile, out, covers.get(id(node), ()))
        elif node.name == "ssl_ciphers":
            _cipher_candidate(node, profile, out)
    http_protocols = bool(_direct(http_level, "ssl_protocols"))
    http_hsts = _has_hsts(http_level)
    for key, server in tls:
        if not http_protocols and not _direct(server.block, "ssl_protocols"):
            _missing_protocols(server, key, profile, out)
        own_headers = bool(_direct(server.block, "add_header"))
        if not (_has_hsts(server.block) or (not own_headers and http_hsts)):
            out.refusals.append(
                ConfigRefusal(
                    NGINX_HSTS.id,
                    server.file.rel,
                    server.line,
                    Reason.TIER_C,
                    "this TLS server sends no Strict-Transport-Security header; HSTS is "
                    "never added automatically (it is sticky in browsers)",
                )
            )
    out.candidates = _merged(out.candidates)
    tls_ids = {id(s) for _, s in tls}
    for _, server in servers:
        if tls and id(server) not in tls_ids and not _redirects_to_https(server):
            out.refusals.append(
                ConfigRefusal(
                    NGINX_HTTPS_REDIRECT.id,
                    server.file.rel,
                    server.line,
                    Reason.TIER_C,
                    "this plain-HTTP server does not redirect to HTTPS; redirects are never "
                    "added automatically (loops behind TLS-terminating proxies)",
                )
            )
    return out


def _merged(candidates: Sequence[_Candidate]) -> list[_Candidate]:
    """One candidate per edit: a file included in several places yields the same edit for
    each; the merged one must satisfy every server any of them covers."""
    merged: dict[tuple[Path, int, int, str], _Candidate] = {}
    for cand in candidates:
        key = (cand.edit.path, cand.edit.start, cand.edit.end, cand.edit.text)
        first = merged.get(key)
        if first is None:
            merged[key] = cand
        else:
            servers = tuple(dict.fromkeys((*first.servers, *cand.servers)))
            merged[key] = dataclasses.replace(first, servers=servers)
    return list(merged.values())


def _missing_protocols(
    server: _Node, key: tuple[str, int], profile: TlsProfile, out: _Analysis
) -> None:
    edit = _insertion(server, profile)
    if edit is None:
        out.refusals.append(_inexact(NGINX_TLS_PROTOCOLS.id, server))
        return
    out.candidates.append(
        _Candidate(
            mitigation=NGINX_TLS_PROTOCOLS.id,
            file=server.file,
            line=server.line,
            key="ssl_protocols",
            before=None,
            after=profile.ssl_protocols,
            description=(
                f"ssl_protocols {profile.ssl_protocols} added to a TLS server that had none in "
                f"effect (nginx's built-in default before 1.23.4 enables TLSv1 and TLSv1.1)"
            ),
            edit=edit,
            servers=(key,),
        )
    )


# --- text edits ------------------------------------------------------------------------------


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """`text` with every edit applied (offsets of the original text; edits must not overlap)."""
    out = text
    last = len(text) + 1
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        if edit.end > last:
            raise ValueError("overlapping edits")
        out = out[: edit.start] + edit.text + out[edit.end :]
        last = edit.start
    return out


def _changed_line(text: str, edits: Sequence[Edit], target: Edit) -> int:
    """The 1-based line of `target`'s new text once all `edits` are applied to `text`."""
    shift = sum(len(e.text) - (e.end - e.start) for e in edits if e.start < target.start)
    new_text = apply_edits(text, edits)
    offset = target.start + shift
    skipped = len(target.text) - len(target.text.lstrip("\n "))
    return new_text.count("\n", 0, offset + skipped) + 1


# --- validation with nginx -t ----------------------------------------------------------------


def find_nginx(binary: Path | str | None) -> Path | None:
    """The nginx to validate with: `binary` if given and runnable, else one on PATH or in the
    usual sbin directories (not on a normal user's PATH on Debian)."""
    if binary is not None:
        path = Path(binary)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    found = shutil.which("nginx")
    if found:
        return Path(found)
    for candidate in ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"):
        path = Path(candidate)
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


@functools.cache
def _nginx_version(binary: Path) -> tuple[int, ...]:
    try:
        done = subprocess.run(
            [str(binary), "-v"], check=False, capture_output=True, text=True, timeout=_NGINX_TIMEOUT
        )
    except (OSError, subprocess.SubprocessError):
        return ()
    m = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", done.stderr + done.stdout)
    return tuple(int(x) for x in m.groups()) if m else ()


class _Standins:
    """Throwaway certificate, key and DH parameters for files that only exist on a server."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.paths: dict[str, Path] | None = None
        self.failed = False

    def get(self, kind: str) -> Path | None:
        if self.paths is None and not self.failed:
            self.paths = self._make()
            self.failed = self.paths is None
        return None if self.paths is None else self.paths.get(kind)

    def _make(self) -> dict[str, Path] | None:
        openssl = shutil.which("openssl")
        if openssl is None:
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        cert = self.directory / "standin-cert.pem"
        key = self.directory / "standin-key.pem"
        dh = self.directory / "standin-dhparam.pem"
        commands = (
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=patchpilot-nginx-check",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            [
                openssl,
                "genpkey",
                "-genparam",
                "-algorithm",
                "DH",
                "-pkeyopt",
                "dh_param:ffdhe2048",
                "-out",
                str(dh),
            ],
        )
        for command in commands:
            try:
                done = subprocess.run(
                    command, check=False, capture_output=True, timeout=_NGINX_TIMEOUT
                )
            except (OSError, subprocess.SubprocessError):
                return None
            if done.returncode != 0:
                return None
        return {"cert": cert, "key": key, "dh": dh}


def _quote(path: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./:@%+=,-]+", path):
        return path
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(slots=True)
class _Copy:
    """A temporary copy of one configuration that nginx -t can check."""

    tree: _Tree
    base: Path  # the copy of the project root
    main: Path
    prefix: Path
    rewrites: dict[Path, list[Edit]]
    notes: list[str]


def _prepare_copy(tree: _Tree, root: Path, tmp: Path, standins: _Standins) -> _Copy:
    base = tmp / "tree"
    prefix = tmp / "prefix"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    rewrites: dict[Path, list[Edit]] = {path: [] for path in tree.files}
    notes: list[str] = []
    log_count = 0

    def in_copy(path: Path) -> Path:
        return base / path.relative_to(root)

    done: set[tuple[Path, int]] = set()
    for node in _walk(tree.nodes):
        if node.stmt is None or not node.stmt.args or node.file.path not in rewrites:
            continue
        first = node.stmt.args[0]
        # A file included in several places is rewritten once.
        if (node.file.path, first.start) in done:
            continue
        done.add((node.file.path, first.start))
        edits = rewrites[node.file.path]
        if node.name == "include":
            new = _include_in_copy(node.args[0], tree.conf_dir, root, base, node.included)
            if new is not None:
                edits.append(Edit(node.file.path, first.start, first.end, _quote(new)))
        elif node.name in _LOG_FILES:
            value = node.args[0]
            if "$" in value or value.startswith(_LOG_KEEP):
                continue
            log_count += 1
            target = prefix / "logs" / f"{node.name}-{log_count}.log"
            edits.append(Edit(node.file.path, first.start, first.end, _quote(str(target))))
        elif node.name in _SECRET_FILES:
            value = node.args[0]
            if "$" in value or value.startswith("data:"):
                continue
            real = Path(value) if Path(value).is_absolute() else tree.conf_dir / value
            if real.exists():
                edits.append(Edit(node.file.path, first.start, first.end, _quote(str(real))))
                continue
            standin = standins.get(_SECRET_FILES[node.name])
            if standin is None:
                continue
            edits.append(Edit(node.file.path, first.start, first.end, _quote(str(standin))))
            notes.append(
                f"{node.file.rel}:{node.line}: {node.name} {value} is missing here; a "
                "throwaway stand-in was used for the check"
            )
    conf_copy = in_copy(tree.conf_dir) if tree.conf_dir.is_relative_to(root) else base
    if tree.main is not None:
        main = in_copy(tree.main.path)
    else:
        only = next(iter(tree.files.values()))
        main = conf_copy / ".patchpilot-nginx-check.conf"
        wrapper = (
            "# Validation wrapper: a site file is included inside http {} by nginx.conf.\n"
            f"events {{}}\nhttp {{\n    include {_quote(str(in_copy(only.path)))};\n}}\n"
        )
        main.parent.mkdir(parents=True, exist_ok=True)
        main.write_text(wrapper, encoding="utf-8")
    return _Copy(tree, base, main, prefix, rewrites, notes)


def _include_in_copy(
    pattern: str, conf_dir: Path, root: Path, base: Path, included: tuple[Path, ...] | None
) -> str | None:
    """The include argument for the copy: project files point into the copy; a relative one
    missing from the project points where the system's nginx would read it."""
    if included is not None:
        mapped = _project_pattern(pattern, conf_dir, root)
        if mapped is None:
            return None
        try:
            return str(base / mapped.relative_to(root))
        except ValueError:
            return None
    if not Path(pattern).is_absolute():
        return str(Path(_SYSTEM_CONF_DIR) / pattern)
    return None


def _write_copy(copy: _Copy, root: Path, extra: Sequence[Edit]) -> None:
    for path, file in copy.tree.files.items():
        edits = copy.rewrites[path] + [e for e in extra if e.path == path]
        target = copy.base / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(apply_edits(file.text, edits), encoding="utf-8")


def _run_nginx(binary: Path, copy: _Copy) -> tuple[bool, tuple[str, ...], str]:
    command = [str(binary), "-t", "-c", str(copy.main), "-p", f"{copy.prefix}/"]
    if _nginx_version(binary) >= (1, 19, 5):
        command += ["-e", "stderr"]
    try:
        done = subprocess.run(
            command,
            check=False,
            capture_output=True,
            text=True,
            timeout=_NGINX_TIMEOUT,
            cwd=copy.prefix,
        )
    except subprocess.TimeoutExpired:
        return False, tuple(command), f"nginx -t did not finish in {_NGINX_TIMEOUT} s"
    except OSError as e:
        return False, tuple(command), f"nginx could not be run: {e.strerror or e}"
    output = _project_paths((done.stderr + done.stdout).strip(), copy)
    return done.returncode == 0, tuple(command), output[-_OUTPUT_CHARS:]


def _project_paths(output: str, copy: _Copy) -> str:
    """nginx's message with paths of the copy shown as the project's own paths."""
    return output.replace(f"{copy.base}/", "")


def _first_error(output: str) -> str:
    for line in output.splitlines():
        if "[emerg]" in line or "[crit]" in line or "[alert]" in line:
            return _message(line.split("] ", 1)[-1])
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "nginx -t failed"


# --- the mitigation run ----------------------------------------------------------------------


def run_nginx(root: Path, *, nginx_binary: Path | str | None = None) -> NginxOutcome:
    """Find, check, edit and validate every nginx configuration under `root`.

    Nothing under `root` is written: the outcome holds the new texts of changed files.
    """
    profile = mozilla_profile()
    outcome = NginxOutcome()
    trees, notes = load_trees(root)
    outcome.notes.extend(notes)
    binary = find_nginx(nginx_binary) if trees else None
    claimed: dict[Path, str] = {}
    kept: list[_Candidate] = []
    with tempfile.TemporaryDirectory(prefix="patchpilot-nginx-") as tmp_name:
        tmp = Path(tmp_name)
        standins = _Standins(tmp / "standins")
        for index, tree in enumerate(trees):
            analysis = analyse(tree, profile)
            outcome.refusals.extend(analysis.refusals)
            if tree.errors:
                outcome.refusals.extend(_unparsed(tree, analysis.candidates))
            candidates = []
            for cand in analysis.candidates:
                owner = claimed.get(cand.file.path)
                if owner is not None and owner != tree.label:
                    outcome.notes.append(
                        f"{cand.file.rel}:{cand.line}: also part of {owner}; edited there"
                    )
                    continue
                candidates.append(cand)
            if not candidates:
                continue
            accepted = _validate(
                tree, candidates, root, tmp / f"t{index}", binary, standins, outcome
            )
            for cand in accepted:
                claimed[cand.file.path] = tree.label
            kept.extend(accepted)
    edits: dict[Path, list[Edit]] = {}
    for cand in kept:
        edits.setdefault(cand.file.path, []).append(cand.edit)
    for cand in kept:
        # Lines are those of the final text, after every kept edit of the file.
        line = _changed_line(cand.file.text, edits[cand.file.path], cand.edit)
        outcome.changes.append(
            ConfigChange(
                mitigation=cand.mitigation,
                path=cand.file.rel,
                line=line,
                key=cand.key,
                before=cand.before,
                after=cand.after,
                description=cand.description,
            )
        )
        text = cand.file.text
        outcome.texts[cand.file.rel] = (text, apply_edits(text, edits[cand.file.path]))
    return outcome


def _unparsed(tree: _Tree, candidates: Sequence[_Candidate]) -> list[ConfigRefusal]:
    """Refusals for TLS directives in a configuration that does not parse, where the parse
    stopped before they could be looked at."""
    seen = {(c.file.rel, c.line) for c in candidates}
    detail = "configuration does not parse: " + "; ".join(tree.errors[:3])
    mitigation = {"ssl_protocols": NGINX_TLS_PROTOCOLS.id, "ssl_ciphers": NGINX_TLS_CIPHERS.id}
    out: list[ConfigRefusal] = []
    for file in tree.files.values():
        for line, name in sorted(file.stmts):
            if name in mitigation and (file.rel, line) not in seen:
                seen.add((file.rel, line))
                out.append(
                    ConfigRefusal(mitigation[name], file.rel, line, Reason.INVALID_BEFORE, detail)
                )
    return out


def _validate(
    tree: _Tree,
    candidates: Sequence[_Candidate],
    root: Path,
    tmp: Path,
    binary: Path | None,
    standins: _Standins,
    outcome: NginxOutcome,
) -> list[_Candidate]:
    """The candidates that keep `nginx -t` passing, tried one at a time on top of the kept."""
    if binary is None:
        for cand in candidates:
            outcome.refusals.append(
                _refuse(
                    cand,
                    Reason.NO_NGINX,
                    "no nginx binary to validate the edit with "
                    "(install Debian's `nginx` package or pass its path)",
                )
            )
        return []
    if tree.errors:
        detail = "configuration does not parse: " + "; ".join(tree.errors[:3])
        for cand in candidates:
            outcome.refusals.append(_refuse(cand, Reason.INVALID_BEFORE, detail))
        return []
    copy = _prepare_copy(tree, root, tmp, standins)
    _write_copy(copy, root, [])
    ok, command, output = _run_nginx(binary, copy)
    outcome.checks.append(
        OracleCheck("nginx -t", tree.label, "before", ok, command, output, notes=tuple(copy.notes))
    )
    if not ok:
        detail = f"nginx -t fails on the untouched configuration: {_first_error(output)}"
        for cand in candidates:
            outcome.refusals.append(_refuse(cand, Reason.INVALID_BEFORE, detail))
        return []
    version = _nginx_version(binary)
    state = _copy_legacy(copy, version)
    warnings = _warnings(output)
    kept: list[_Candidate] = []
    for cand in sorted(candidates, key=lambda c: (c.file.rel, c.edit.start)):
        _write_copy(copy, root, [c.edit for c in kept] + [cand.edit])
        ok, command, output = _run_nginx(binary, copy)
        outcome.checks.append(
            OracleCheck(
                "nginx -t",
                tree.label,
                "after",
                ok,
                command,
                output,
                trying=f"{cand.key}@{cand.file.rel}:{cand.line}",
                notes=tuple(copy.notes),
            )
        )
        after = _copy_legacy(copy, version) if ok else None
        problem = _postcondition(cand, ok, output, warnings, state, after)
        if problem is not None:
            outcome.refusals.append(_refuse(cand, Reason.POSTCONDITION_NGINX_T, problem))
            continue
        kept.append(cand)
        warnings = _warnings(output)
        state = after
    return kept


def _postcondition(
    cand: _Candidate,
    ok: bool,
    output: str,
    warnings: frozenset[str],
    before: dict[tuple[str, int], frozenset[str]] | None,
    after: dict[tuple[str, int], frozenset[str]] | None,
) -> str | None:
    """Why the edited copy is not acceptable, or None: nginx -t must pass without new
    warnings, and a protocol edit must leave its servers without legacy protocols (nginx
    merges repeated `ssl_protocols`, so an include from outside the project can keep them)."""
    if not ok:
        return f"nginx -t fails with the edit: {_first_error(output)}"
    new = sorted(_warnings(output) - warnings)
    if new:
        return f"nginx -t warns with the edit: {new[0]}"
    if cand.mitigation != NGINX_TLS_PROTOCOLS.id:
        return None
    if after is None:
        return "the edited configuration could not be read back to confirm the protocols"
    for key, legacy in sorted(after.items()):
        grown = legacy - (before or {}).get(key, legacy)
        if grown:
            return f"server {key[1] + 1} of {key[0]} would enable {' '.join(sorted(grown))}"
    for key in cand.servers:
        left = after.get(key)
        if left is None:
            return f"server {key[1] + 1} of {key[0]} is not in the checked configuration"
        if left:
            return (
                f"server {key[1] + 1} of {key[0]} still enables {' '.join(sorted(left))} "
                "(nginx merges every ssl_protocols of a server, including ones in files "
                "outside the project)"
            )
    return None


def _warnings(output: str) -> frozenset[str]:
    return frozenset(
        _message(line.split("[warn] ", 1)[1]) for line in output.splitlines() if "[warn] " in line
    )


def _message(text: str) -> str:
    """An nginx log message without the `pid#tid: ` prefix that differs on every run."""
    return re.sub(r"^\d+#\d+: ", "", text.strip())


def _copy_legacy(
    copy: _Copy, version: tuple[int, ...]
) -> dict[tuple[str, int], frozenset[str]] | None:
    """Legacy protocols each TLS server of the validated copy enables, reading every file
    nginx reads on this machine (includes outside the project too); None if unreadable."""
    loader = _Loader(Path("/"))
    try:
        main = loader.load(copy.main.resolve())
        tree = _Tree(label=copy.tree.label, main=main, conf_dir=copy.main.parent)
        tree.nodes = tuple(_TreeBuilder(loader, tree).file_nodes(main, (), ()))
    except CodefixError:
        return None
    if tree.errors:
        return None
    base = copy.base.resolve()
    default = frozenset() if version >= (1, 23, 4) else frozenset(("TLSv1", "TLSv1.1"))
    http_set = _protocol_union(_direct(_http_block(tree), "ssl_protocols"))
    out: dict[tuple[str, int], frozenset[str]] = {}
    counts: dict[str, int] = {}
    for _, server in http_servers(tree):
        path = server.file.path
        name = path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)
        index = counts.get(name, 0)
        counts[name] = index + 1
        if not _is_tls_server(server):
            continue
        own = _protocol_union(_direct(server.block, "ssl_protocols"))
        enabled = own if own is not None else http_set if http_set is not None else default
        out[(name, index)] = frozenset(p for p in enabled if p in LEGACY_PROTOCOLS)
    return out


def _protocol_union(nodes: Sequence[_Node]) -> frozenset[str] | None:
    if not nodes:
        return None
    return frozenset(_PROTOCOLS.get(a.lower(), a) for n in nodes for a in n.args)


def _refuse(cand: _Candidate, reason: Reason, detail: str) -> ConfigRefusal:
    return ConfigRefusal(cand.mitigation, cand.file.rel, cand.line, reason, detail)
