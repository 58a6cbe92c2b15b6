"""Reads go.mod: the modules a Go module requires, at the versions the build selects.

Since Go 1.17 go.mod lists every module of the build graph at its selected version, so each
`require` is an exact version: lines marked `// indirect` are transitive, the others direct
(go.mod records no graph, so transitive components carry no path). Versions keep Go's `v`
prefix. A `replace` with a version swaps in that module and version (for one version of the
old module, or all of them); a replacement by a local directory is skipped with the reason.
`exclude` and `retract` do not change what a build uses and are not read further. Go
advisories also name the standard library, so the `toolchain` version (else the `go`
version, the minimum the module needs) becomes a component `stdlib`, as osv-scanner does.

Lines are split into tokens the way the go command does (quoted and raw strings, `//`
comments, `(`/`)` blocks, `=>`), so comments and quoted paths cannot confuse the reader; a
line the go command would reject is a `SourceError` naming it. Directives this reader does
not know are noted and ignored, so a go.mod written for a newer Go still reads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import semver

from patchpilot.errors import SourceError
from patchpilot.model import (
    Component,
    Ecosystem,
    Location,
    Scope,
    Skipped,
    SourceKind,
    SourceResult,
)
from patchpilot.sources._graph import component
from patchpilot.sources.interface import Source, merge_components, read_text, result

GO = Ecosystem.GO
STDLIB = "stdlib"
KNOWN_VERBS = frozenset(
    {"module", "go", "toolchain", "godebug", "require", "exclude", "replace", "retract", "tool",
     "ignore"}
)  # fmt: skip
_PUNCT = frozenset("()[]{},")
# The go command's own patterns for `go` versions and toolchain names (golang.org/x/mod).
_GO_VERSION_RE = re.compile(
    r"^(?P<major>[1-9][0-9]*)\.(?P<minor>0|[1-9][0-9]*)(?:\.(?P<patch>0|[1-9][0-9]*))?"
    r"(?P<pre>(?P<kind>[a-z]+)(?P<num>[0-9]+))?$"
)
_TOOLCHAIN_RE = re.compile(r"^default$|^go1($|\.)")
# The release a toolchain name starts with (`go1.21.5` in `go1.21.5-corp`).
_TOOLCHAIN_VERSION_RE = re.compile(r"^go(?P<version>[0-9][0-9a-z.]*)")
_LOCAL_RE = re.compile(r"^(?:\./|\.\./|/|\.\\|\.\.\\|[A-Za-z]:[\\/]|\\\\)|^\.{1,2}$")


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    kind: str  # "word", "string", "punct" or "arrow"


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    tokens: tuple[_Token, ...]
    comment: str


def _lex(path: Path, number: int, line: str) -> _Line:
    """The tokens of one line, split as golang.org/x/mod/modfile does."""
    tokens: list[_Token] = []
    comment = ""
    i = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if ch.isspace():
            i += 1
        elif line.startswith("//", i):
            comment = line[i + 2 :].strip()
            break
        elif line.startswith("=>", i):
            tokens.append(_Token("=>", "arrow"))
            i += 2
        elif ch in _PUNCT:
            tokens.append(_Token(ch, "punct"))
            i += 1
        elif ch == '"':
            j = i + 1
            while j < n and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            if j >= n:
                raise SourceError(path, number, "unterminated quoted string")
            try:
                value = json.loads(line[i : j + 1])
            except ValueError as e:
                raise SourceError(path, number, f"invalid quoted string {line[i : j + 1]}") from e
            tokens.append(_Token(str(value), "string"))
            i = j + 1
        elif ch == "`":
            j = line.find("`", i + 1)
            if j < 0:
                raise SourceError(path, number, "unterminated raw string")
            tokens.append(_Token(line[i + 1 : j], "string"))
            i = j + 1
        else:
            # Like the go command, a word runs to the next space or punctuation character:
            # `//` or `=>` inside a word do not end it.
            j = i
            while j < n and not line[j].isspace() and line[j] not in _PUNCT:
                j += 1
            word = line[i:j]
            if not word.isprintable():
                raise SourceError(path, number, f"unexpected character in {word!r}")
            tokens.append(_Token(word, "word"))
            i = j
    return _Line(number, tuple(tokens), comment)


def _is_indirect(comment: str) -> bool:
    # The go command's rule: the comment is `indirect`, or starts with `indirect;`.
    return comment == "indirect" or comment.startswith("indirect;")


def _arg(path: Path, line: _Line, token: _Token, what: str) -> str:
    if token.kind not in ("word", "string") or not token.text:
        raise SourceError(path, line.number, f"expected {what}, found {token.text!r}")
    return token.text


@dataclass(frozen=True, slots=True)
class _Require:
    path: str
    version: str
    indirect: bool
    line: int


@dataclass(frozen=True, slots=True)
class _Replace:
    old_version: str | None
    new_path: str
    new_version: str | None
    line: int


@dataclass(slots=True)
class _GoMod:
    requires: list[_Require] = field(default_factory=list)
    replaces: dict[tuple[str, str | None], _Replace] = field(default_factory=dict)
    go: tuple[str, int] | None = None
    toolchain: tuple[str, int] | None = None
    notes: list[str] = field(default_factory=list)


class GoModSource(Source):
    format: ClassVar[str] = "go.mod"
    kind: ClassVar[SourceKind] = SourceKind.MANIFEST

    @classmethod
    def matches(cls, path: Path) -> bool:
        return path.name == "go.mod"

    def read(self, path: Path) -> SourceResult:
        mod = _parse(path, read_text(path))
        components: list[Component] = []
        skipped: list[Skipped] = []
        chosen = _selected(mod.requires)
        for req in chosen:
            located = [Location(str(path), req.line)]
            name, version = req.path, req.version
            rep = mod.replaces.get((req.path, req.version)) or mod.replaces.get((req.path, None))
            if rep is not None:
                if rep.new_version is None:
                    skipped.append(
                        Skipped(
                            name=req.path,
                            reason=f"replaced by local directory {rep.new_path} (line {rep.line})",
                            location=Location(str(path), req.line),
                            ecosystem=GO,
                            requirement=req.version,
                        )
                    )
                    continue
                name, version = rep.new_path, rep.new_version
                located.append(Location(str(path), rep.line))
            if not _is_module_version(version):
                skipped.append(
                    Skipped(
                        name=name,
                        reason=f"{version!r} is not a module version",
                        location=located[-1],
                        ecosystem=GO,
                        requirement=version,
                    )
                )
                continue
            components.append(
                component(
                    GO,
                    name,
                    version,
                    direct=not req.indirect,
                    scope=Scope.RUNTIME,
                    locations=located,
                )
            )
        stdlib = _stdlib(path, mod)
        if stdlib is not None:
            components.append(stdlib)
        return result(
            path, self.format, self.kind, merge_components(components), skipped, mod.notes
        )


def _parse(path: Path, text: str) -> _GoMod:
    mod = _GoMod()
    block: tuple[str, int] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _lex(path, number, raw)
        tokens = line.tokens
        if not tokens:
            continue
        if block is not None:
            if tokens[0].text == ")" and tokens[0].kind == "punct":
                if len(tokens) > 1:
                    raise SourceError(path, number, "unexpected text after ')'")
                block = None
                continue
            if block[0] in KNOWN_VERBS:
                _directive(path, mod, block[0], line, tokens)
            continue
        head = tokens[0]
        if head.kind != "word":
            raise SourceError(path, number, f"unexpected {head.text!r}: expected a directive")
        verb = head.text
        rest = tokens[1:]
        if verb not in KNOWN_VERBS:
            mod.notes.append(f"line {number}: unknown directive {verb!r} ignored")
        opens = bool(rest) and rest[0].kind == "punct" and rest[0].text == "("
        if opens:
            if len(rest) == 2 and rest[1].text == ")" and rest[1].kind == "punct":
                continue
            if len(rest) > 1:
                raise SourceError(path, number, "unexpected text after '('")
            block = (verb, number)
        elif verb in KNOWN_VERBS:
            _directive(path, mod, verb, line, rest)
    if block is not None:
        raise SourceError(path, block[1], f"'{block[0]} (' block is never closed")
    return mod


def _directive(path: Path, mod: _GoMod, verb: str, line: _Line, args: tuple[_Token, ...]) -> None:
    number = line.number
    if verb in ("module", "go", "toolchain") and len(args) != 1:
        raise SourceError(path, number, f"usage: {verb} {_USAGE[verb]}")
    if verb == "go":
        version = _arg(path, line, args[0], "a Go version")
        if not _GO_VERSION_RE.match(version):
            raise SourceError(path, number, f"invalid go version {version!r}")
        mod.go = (version, number)
    elif verb == "toolchain":
        name = _arg(path, line, args[0], "a toolchain name")
        if not _TOOLCHAIN_RE.match(name):
            raise SourceError(path, number, f"invalid toolchain name {name!r}")
        found = _TOOLCHAIN_VERSION_RE.match(name)
        # A custom build (`go1.21.5-corp`) still names the release it is built from.
        version = found.group("version") if found else ""
        if _GO_VERSION_RE.match(version):
            mod.toolchain = (version, number)
        elif name != "default":
            mod.notes.append(f"line {number}: toolchain {name!r} names no Go release")
    elif verb == "module":
        _arg(path, line, args[0], "a module path")
    elif verb == "require":
        if len(args) != 2:
            raise SourceError(path, number, "usage: require module/path v1.2.3")
        mod.requires.append(
            _Require(
                path=_arg(path, line, args[0], "a module path"),
                version=_arg(path, line, args[1], "a version"),
                indirect=_is_indirect(line.comment),
                line=number,
            )
        )
    elif verb == "exclude":
        if len(args) != 2:
            raise SourceError(path, number, "usage: exclude module/path v1.2.3")
    elif verb == "replace":
        _replace(path, mod, line, args)


_USAGE = {"module": "module/path", "go": "1.23", "toolchain": "go1.23.0"}
_REPLACE_USAGE = "usage: replace module/path [v1.2.3] => other/module v1.4 | local/directory"


def _replace(path: Path, mod: _GoMod, line: _Line, args: tuple[_Token, ...]) -> None:
    arrows = [i for i, t in enumerate(args) if t.kind == "arrow"]
    if len(arrows) != 1:
        raise SourceError(path, line.number, _REPLACE_USAGE)
    left, right = args[: arrows[0]], args[arrows[0] + 1 :]
    if not 1 <= len(left) <= 2 or not 1 <= len(right) <= 2:
        raise SourceError(path, line.number, _REPLACE_USAGE)
    old = _arg(path, line, left[0], "a module path")
    old_version = _arg(path, line, left[1], "a version") if len(left) == 2 else None
    new = _arg(path, line, right[0], "a module path or directory")
    new_version = _arg(path, line, right[1], "a version") if len(right) == 2 else None
    if new_version is None and not _LOCAL_RE.match(new):
        raise SourceError(
            path,
            line.number,
            f"replacement {new!r} without a version must be a directory path "
            "(rooted or starting with ./ or ../)",
        )
    mod.replaces[(old, old_version)] = _Replace(old_version, new, new_version, line.number)


def _semver(version: str) -> semver.Version | None:
    if not version.startswith("v"):
        return None
    core = version[1:].removesuffix("+incompatible")
    try:
        return semver.Version.parse(core)
    except ValueError:
        return None


def _is_module_version(version: str) -> bool:
    return _semver(version) is not None


def _selected(requires: list[_Require]) -> list[_Require]:
    """One requirement per module: the highest version, as the go command selects.

    It is direct when any of the module's requirements is.
    """
    best: dict[str, _Require] = {}
    for req in requires:
        held = best.get(req.path)
        if held is None:
            best[req.path] = req
            continue
        mine, theirs = _semver(req.version), _semver(held.version)
        winner = req if mine is not None and (theirs is None or mine > theirs) else held
        best[req.path] = _Require(
            winner.path, winner.version, req.indirect and held.indirect, winner.line
        )
    return list(best.values())


def _stdlib(path: Path, mod: _GoMod) -> Component | None:
    """The standard library at the toolchain version, else the `go` line's version."""
    if mod.toolchain is not None:
        text, number = mod.toolchain
    elif mod.go is not None:
        text, number = mod.go
        mod.notes.append(
            f"stdlib version taken from the go line ({text}), the minimum Go version; "
            "the toolchain that builds the module may be newer"
        )
    else:
        return None
    found = _GO_VERSION_RE.match(text)
    if found is None:
        return None
    version = f"v{found['major']}.{found['minor']}.{found['patch'] or 0}"
    if found["pre"]:
        # Go writes pre-releases as 1.21rc2; as SemVer that is v1.21.0-rc.2.
        version += f"-{found['kind']}.{found['num']}"
    return component(
        GO,
        STDLIB,
        version,
        direct=True,
        scope=Scope.RUNTIME,
        locations=(Location(str(path), number),),
    )
