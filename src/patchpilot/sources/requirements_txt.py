"""Reads pip requirements and constraints files into components, following their includes.

It owns pip's line syntax: `\\` continuations, `#` comments, `-r`/`-c` includes resolved
against the including file (recursively, each file read once), index and build options
(accepted and ignored; index URLs are noted with credentials removed), `--hash` options,
extras and environment markers (kept as written and never evaluated against this machine).
A requirement pinned with `==`/`===` to one version is a component; everything else (ranges,
wildcards, editables, URLs, VCS and local paths) is a `Skipped` with the reason.

Direct or transitive: entries of the file and its `-r` includes are direct, pins that come
only from `-c` constraint files are transitive. Files compiled by pip-compile or
`uv pip compile` carry `# via` annotations; where they say a pin is there only because
other pinned packages need it, it is transitive and those packages are its parents.

Scope comes from the file name, since pip has no notion of dev dependencies: a name whose
words (split at `-`, `_`, `.`) include dev, devel, develop, development, test, tests,
testing, lint, linting, linters, doc, docs or documentation is dev (`requirements-dev.txt`,
`test_requirements.txt`, `requirements/docs.txt`), anything else runtime. An `-r` include is
scoped by its own name, a `-c` include takes the scope of the file including it.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from packaging.requirements import Requirement
from packaging.utils import parse_sdist_filename, parse_wheel_filename

from patchpilot.errors import SourceError
from patchpilot.model import (
    Component,
    Location,
    NormalizedName,
    Scope,
    Skipped,
    SourceKind,
    SourceResult,
)
from patchpilot.sources._python import (
    component,
    exact_version,
    parse_requirement,
    pypi_name,
    redact_url,
    requirement_label,
    skipped,
    unpinned_reason,
)
from patchpilot.sources.interface import Source, merge_components, read_text, result, shortest_paths

DEV_WORDS = frozenset(
    {
        "dev", "devel", "develop", "development", "test", "tests", "testing",
        "lint", "linting", "linters", "doc", "docs", "documentation",
    }
)  # fmt: skip

# pip: a `#` at the start of a line or after whitespace starts a comment.
_COMMENT_RE = re.compile(r"(^|\s+)#.*$")
# pip-compile / `uv pip compile` annotations, indented under the requirement they explain.
_VIA_RE = re.compile(r"^\s+#\s+via(?:\s+(?P<item>\S.*?))?\s*$")
_VIA_MORE_RE = re.compile(r"^\s+#\s{2,}(?P<item>\S.*?)\s*$")
_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_EGG_RE = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_VCS_RE = re.compile(r"^(git|hg|svn|bzr)\+", re.IGNORECASE)
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^file:", re.IGNORECASE)
_ENV_RE = re.compile(r"\$\{[A-Za-z0-9_]+\}")
_WINDOWS_PATH_RE = re.compile(r"^[A-Za-z]:[\\/]")
_ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar")

_INCLUDES = {"-r": False, "--requirement": False, "-c": True, "--constraint": True}
_EDITABLE = frozenset({"-e", "--editable"})
_INDEXES = frozenset({"-i", "--index-url", "--extra-index-url"})
# Options that take a value and do not change which versions are installed.
_VALUE_OPTIONS = frozenset(
    {
        "-f", "--find-links", "--trusted-host", "--no-binary", "--only-binary",
        "--use-feature", "--hash", "--config-settings", "--global-option", "--install-option",
    }
)  # fmt: skip
_FLAGS = frozenset({"--pre", "--prefer-binary", "--require-hashes", "--no-index"})
_SHORT_WITH_VALUE = frozenset({"-r", "-c", "-e", "-i", "-f"})


def is_dev_file(path: Path) -> bool:
    """Whether the file name marks development requirements (see the module docstring)."""
    name = path.name.lower()
    stem = name[: -len(".txt")] if name.endswith(".txt") else name
    return any(word in DEV_WORDS for word in re.split(r"[^a-z0-9]+", stem))


def is_constraints_file(path: Path) -> bool:
    return path.name.lower().startswith("constraints")


@dataclass(frozen=True, slots=True)
class _Entry:
    """A named requirement line, before constraints and annotations are applied."""

    name: NormalizedName
    text: str
    version: str | None
    reason: str
    location: Location
    constraint: bool
    scope: Scope
    direct: bool = True
    path: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()


@dataclass(slots=True)
class _Reader:
    """Accumulates what one top-level file and its includes yield."""

    entries: list[_Entry] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)


class RequirementsTxtSource(Source):
    """pip requirements files: `requirements*.txt`, `*-requirements.txt`, constraints."""

    format: ClassVar[str] = "requirements.txt"
    kind: ClassVar[SourceKind] = SourceKind.MANIFEST

    @classmethod
    def matches(cls, path: Path) -> bool:
        name = path.name.lower()
        if not name.endswith(".txt"):
            return False
        return (
            name.startswith(("requirements", "constraints"))
            or name.endswith(("-requirements.txt", "_requirements.txt"))
            or path.parent.name.lower() == "requirements"
        )

    def read(self, path: Path) -> SourceResult:
        state = _Reader()
        state.seen.add(_identity(path))
        scope = Scope.DEV if is_dev_file(path) else Scope.RUNTIME
        try:
            self._read_file(path, state, constraint=is_constraints_file(path), scope=scope)
        except RecursionError as e:
            raise SourceError(path, None, "includes nested too deeply") from e
        components, skips, notes = _resolve(state)
        return result(
            path,
            self.format,
            self.kind,
            merge_components(components),
            [*state.skipped, *skips],
            dict.fromkeys([*state.notes, *notes]),
            state.includes,
        )

    def _read_file(self, path: Path, state: _Reader, *, constraint: bool, scope: Scope) -> None:
        text = read_text(path)
        if scope is Scope.DEV and not constraint:
            state.notes.append(f"{path}: read as development requirements (from its file name)")
        raw: list[tuple[_Entry, list[str]]] = []
        last: list[str] | None = None
        in_via = False
        for number, line, is_comment in _logical_lines(text):
            if is_comment:
                match = _VIA_RE.match(line)
                if match and last is not None:
                    item = match.group("item")
                    if item:
                        last.append(item)
                    in_via = item is None
                    continue
                more = _VIA_MORE_RE.match(line) if in_via else None
                if more and last is not None:
                    last.append(more.group("item"))
                else:
                    in_via = False
                continue
            in_via = False
            last = None
            content = _COMMENT_RE.sub("", line).strip()
            if not content:
                continue
            where = Location(str(path), number)
            if content.startswith("-"):
                self._option_line(path, number, content, state, constraint=constraint, scope=scope)
                continue
            args, _options = _split_args(content)
            entry = _requirement(path, where, args, state, constraint=constraint, scope=scope)
            if entry is not None:
                last = []
                raw.append((entry, last))
        state.entries.extend(_annotate(raw))

    def _option_line(
        self,
        path: Path,
        number: int,
        content: str,
        state: _Reader,
        *,
        constraint: bool,
        scope: Scope,
    ) -> None:
        try:
            tokens = shlex.split(content)
        except ValueError as e:
            raise SourceError(path, number, f"cannot split options: {e}") from e
        for option, value in _options(path, number, tokens, state):
            if option in _INCLUDES:
                nested = _INCLUDES[option]
                self._include(path, number, value, state, constraint=nested, scope=scope)
            elif option in _EDITABLE:
                state.skipped.append(
                    skipped(
                        _target_name(value),
                        "editable install: version not pinned in the file",
                        path,
                        number,
                        f"-e {value}",
                    )
                )
            elif option in _INDEXES:
                state.notes.append(f"package index {redact_url(value)} ({path}:{number})")

    def _include(
        self,
        path: Path,
        number: int,
        value: str,
        state: _Reader,
        *,
        constraint: bool,
        scope: Scope,
    ) -> None:
        if _URL_RE.match(value):
            state.notes.append(f"{path}:{number}: remote include {redact_url(value)} not read")
            return
        target = Path(os.path.normpath(path.parent / value))
        try:
            found = target.is_file()
        except (OSError, ValueError) as e:
            raise SourceError(path, number, f"cannot read included file {value!r}: {e}") from e
        if not found:
            raise SourceError(
                path, number, f"included file {value!r} not found or not a file ({target})"
            )
        identity = _identity(target)
        if identity in state.seen:
            state.notes.append(f"{path}:{number}: {target} already read (include cycle or repeat)")
            return
        state.seen.add(identity)
        state.includes.append(str(target))
        if not constraint:
            scope = Scope.DEV if is_dev_file(target) else Scope.RUNTIME
        self._read_file(target, state, constraint=constraint, scope=scope)


def _identity(path: Path) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return str(path.absolute())


def _logical_lines(text: str) -> Iterator[tuple[int, str, bool]]:
    """(first line number, text, is a comment line) per logical line, as pip joins them.

    A line ending in `\\` continues on the next one; a comment line ends a continuation.
    Lines are split on `\\n` only, so numbers match what editors and SARIF viewers show.
    """
    text = text.removeprefix("\ufeff")
    buffer: list[str] = []
    start = 0
    for number, physical in enumerate(text.split("\n"), start=1):
        line = physical.removesuffix("\r")
        is_comment = _COMMENT_RE.match(line) is not None
        if is_comment or not line.endswith("\\"):
            if buffer:
                if not is_comment:
                    buffer.append(line)
                yield start, "".join(buffer), False
                buffer = []
                if is_comment:
                    yield number, line, True
            else:
                yield number, line, is_comment
        else:
            if not buffer:
                start = number
            buffer.append(line[:-1])
    if buffer:
        yield start, "".join(buffer), False


def _split_args(content: str) -> tuple[str, str]:
    """pip's split of a requirement line: words up to the first `-option` are the requirement."""
    words = content.split(" ")
    for i, word in enumerate(words):
        if word.startswith("-"):
            return " ".join(words[:i]).strip(), " ".join(words[i:])
    return content, ""


def _options(
    path: Path, number: int, tokens: list[str], state: _Reader
) -> Iterator[tuple[str, str]]:
    """(option, value) pairs of an option line; flags and unknown options yield nothing."""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--"):
            option, eq, inline = token.partition("=")
            has_inline = bool(eq)
        elif token.startswith("-") and len(token) > 2 and token[:2] in _SHORT_WITH_VALUE:
            option, inline, has_inline = token[:2], token[2:], True
        else:
            option, inline, has_inline = token, "", False
        takes_value = option in _INCLUDES or option in _EDITABLE or option in _INDEXES
        if takes_value or option in _VALUE_OPTIONS:
            if has_inline:
                value = inline
            else:
                i += 1
                if i >= len(tokens):
                    raise SourceError(path, number, f"option {option} needs a value")
                value = tokens[i]
            if takes_value:
                yield option, value
        elif option not in _FLAGS:
            state.notes.append(f"{path}:{number}: unknown option {option!r} ignored")
            return
        i += 1


def _requirement(
    path: Path,
    where: Location,
    text: str,
    state: _Reader,
    *,
    constraint: bool,
    scope: Scope,
) -> _Entry | None:
    """The entry a requirement line declares, or None when it went to `state.skipped`."""
    line = where.line
    if not text:
        raise SourceError(path, line, "options without a requirement")
    head = text.split(";", 1)[0].strip()
    reason: str | None = None
    if _VCS_RE.match(head):
        reason = "VCS requirement: version not pinned in the file"
    elif _URL_RE.match(head):
        reason = "direct URL: version not pinned in the file"
    elif _looks_like_path(head):
        reason = "local path: version not pinned in the file"
    elif _ENV_RE.search(text):
        reason = "uses an environment variable: version not known from the file"
    if reason is not None:
        if reason.startswith("uses"):
            name = re.split(r"[\s\[=<>!~;@]", head, maxsplit=1)[0] or head
        else:
            name = _target_name(head)
        state.skipped.append(skipped(name, reason, path, line, text))
        return None
    req = parse_requirement(text, path, line or 0)
    if req.url is not None:
        state.skipped.append(skipped(pypi_name(req.name), _url_reason(req), path, line, text))
        return None
    version = exact_version(req.specifier)
    return _Entry(
        name=pypi_name(req.name),
        text=text,
        version=version,
        reason="" if version else unpinned_reason(requirement_label(text), bool(req.specifier)),
        location=where,
        constraint=constraint,
        scope=scope,
    )


def _url_reason(req: Requirement) -> str:
    url = req.url or ""
    if _VCS_RE.match(url):
        return "VCS requirement: version not pinned in the file"
    if url.lower().startswith("file:"):
        return "local path: version not pinned in the file"
    return "direct URL: version not pinned in the file"


def _looks_like_path(head: str) -> bool:
    if head.startswith((".", "/", "~", "\\")) or _WINDOWS_PATH_RE.match(head):
        return True
    if " @ " in head or "@" in head:
        return False
    return "/" in head or "\\" in head or head.lower().endswith(_ARCHIVES)


def _target_name(target: str) -> str:
    """The best name for an editable/URL/path target: `#egg=`, archive name, or last segment."""
    egg = _EGG_RE.search(target)
    if egg:
        return pypi_name(egg.group(1))
    base = re.split(r"[#?]", target, maxsplit=1)[0].rstrip("/\\")
    filename = re.split(r"[/\\]", base)[-1]
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[0]
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)[0]
    except ValueError:
        pass
    if filename and filename not in (".", "..") and _NAME_RE.match(filename):
        return pypi_name(filename)
    return target


def _annotate(raw: list[tuple[_Entry, list[str]]]) -> list[_Entry]:
    """Apply `# via` annotations of one file: transitive pins get parents and a path."""
    if not any(via for _, via in raw):
        return [entry for entry, _ in raw]
    here = {entry.name for entry, _ in raw if not entry.constraint}
    parents: dict[str, list[str]] = {}
    for entry, via in raw:
        refs = [v for v in via if not v.startswith("-c")]
        names: list[str] = [pypi_name(v) for v in refs if _NAME_RE.match(v)]
        if refs and len(names) == len(refs) and all(n in here for n in names):
            parents[entry.name] = names
    edges: dict[str, list[str]] = {}
    for child, ps in parents.items():
        for parent in ps:
            edges.setdefault(parent, []).append(child)
    roots = [entry.name for entry, _ in raw if entry.name not in parents]
    paths = shortest_paths(roots, edges)
    out: list[_Entry] = []
    for entry, _ in raw:
        found = parents.get(entry.name)
        if found is None or entry.constraint:
            out.append(entry)
            continue
        path = paths.get(entry.name, ())
        out.append(replace(entry, direct=False, path=path, parents=tuple(found)))
    return out


def _resolve(state: _Reader) -> tuple[list[Component], list[Skipped], list[str]]:
    """Turn entries into components: pins directly, bare requirements through constraints."""
    pins: dict[NormalizedName, list[_Entry]] = {}
    for entry in state.entries:
        if entry.constraint and entry.version is not None:
            pins.setdefault(entry.name, []).append(entry)
    components: list[Component] = []
    skips: list[Skipped] = []
    notes: list[str] = []
    required: set[NormalizedName] = set()
    for entry in state.entries:
        if entry.constraint:
            continue
        required.add(entry.name)
        locations = [entry.location]
        version = entry.version
        if version is None:
            versions = {c.version for c in pins.get(entry.name, ()) if c.version is not None}
            if len(versions) != 1:
                skips.append(
                    skipped(
                        entry.name,
                        entry.reason,
                        entry.location.path,
                        entry.location.line,
                        entry.text,
                    )
                )
                continue
            version = versions.pop()
            locations += [c.location for c in pins[entry.name]]
        else:
            notes.extend(
                f"{entry.location}: {entry.name}=={version} conflicts with the "
                f"constraint {pin.name}=={pin.version} at {pin.location}"
                for pin in pins.get(entry.name, ())
                if pin.version != version
            )
        components.append(
            component(
                entry.name,
                version,
                direct=entry.direct,
                scope=entry.scope,
                locations=locations,
                paths=(entry.path,) if entry.path else (),
                parents=entry.parents,
            )
        )
    for name, entries in pins.items():
        if name in required:
            continue
        components.extend(
            component(
                pin.name,
                pin.version or "",
                direct=False,
                scope=pin.scope,
                locations=(pin.location,),
            )
            for pin in entries
        )
    if any(s.reason.startswith("not pinned") for s in skips):
        notes.append(
            "some requirements are ranges, not exact pins: compile them "
            "(uv pip compile, pip-compile) for exact results"
        )
    return components, skips, notes
