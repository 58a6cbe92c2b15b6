"""Fixes pip requirements files: line-level pin edits, checked and completed by uv's resolver.

It owns the editing of requirements and constraints files (the top file and the `-r`/`-c`
files it includes): a pin `NAME==OLD` becomes `NAME==TARGET` on the line that holds it, and
nothing else on the line moves (extras, markers, comments, continuations, `# via` blocks,
ordering). Where the file uses `--hash` options, the pin's hash lines are regenerated for the
new version, in the file's layout, from `uv pip compile --generate-hashes` (every file the
index lists for that version, sorted, as uv and pip-compile write them), so hashes come from
the same index the file resolves against. A package the files do not pin at all is held by
an override: `NAME>=TARGET` in a constraints file the requirements file includes with `-c`.

Every edit is checked by the real resolver, `uv pip compile` of the edited files for the
project's Python version (`--python-version`, from the compile header, `.python-version`,
or 3.11): a pin some parent forbids makes the resolution fail, and the fixer then looks for
the smallest versions of the parents that allow it (the same files with those parents
unpinned, resolved with `--resolution lowest-direct`) and moves them too (`co-upgrade`). In
a compiled file (one with `# via` annotations) the resolution also keeps the file complete:
packages the new versions need are added in name order with hashes and annotations, pins
no package needs any more are removed, and `# via` blocks follow the new graph. The user's
files are never written: all work happens in a private copy of the project.

`UvCompiler` and `tool_message` are shared with the Poetry fixer, which asks uv for the
smallest parent version that admits a target the same way.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import ClassVar

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from patchpilot.errors import FixError, SourceError
from patchpilot.fixers._workspace import (
    copy_project,
    first_lines,
    locate,
    read_exact,
    run_tool,
    write_exact,
)
from patchpilot.fixers.changeset import FileEdit
from patchpilot.fixers.interface import Bump, BumpOutcome, FixOutcome, LockFixer, Strategy
from patchpilot.model import Ecosystem, NormalizedName

DEFAULT_PYTHON = "3.11"
DEFAULT_TIMEOUT = 300.0
# uv's progress lines, which say nothing about a failure.
_PROGRESS = ("Resolved ", "Updating ", "Using ")

_COMMENT_RE = re.compile(r"(^|\s+)#.*$")
_COMMENT_LINE_RE = re.compile(r"^\s*#")
_VIA_RE = re.compile(r"^(?P<indent>\s+)#\s+via(?:\s+(?P<item>\S.*?))?\s*$")
_VIA_MORE_RE = re.compile(r"^\s+#\s{2,}(?P<item>\S.*?)\s*$")
_HASH_RE = re.compile(r"--hash(?:=|\s+)([^\s\\]+)")
_HASH_TOKEN_RE = re.compile(r"\s*--hash(?:=|\s+)[^\s\\]+")
_HEADER_RE = re.compile(r"^#\s+(?:uv\s+pip\s+compile|pip-compile)\s(?P<args>.*)$")
# Messages of uv and poetry that mean the index could not be reached, not that a version
# cannot be had: those stop the whole fix instead of failing one bump.
_OFFLINE_RE = re.compile(
    r"failed to fetch|error sending request|dns error|connection refused|could not connect"
    r"|network is unreachable|timed out|temporary failure in name resolution"
    r"|name or service not known|max retries exceeded|connectionerror|offline mode"
    r"|network was disabled|all attempts to connect",
    re.IGNORECASE,
)


# ---------------------------------------------------------------------------------------------
# Tools


def tool_message(output: str) -> str:
    """The first lines of a resolver's complaint, for reasons and errors."""
    return first_lines(output, drop=_PROGRESS)


def looks_offline(output: str) -> bool:
    """Whether a resolver failed because the package index could not be reached."""
    return _OFFLINE_RE.search(output) is not None


# ---------------------------------------------------------------------------------------------
# Requirements text model


@dataclass(frozen=True, slots=True)
class _Req:
    """One requirement line of a file: its physical line span and what it says.

    `start`/`end` index the physical lines of the requirement (continuations included);
    `block_end` also covers the `# via` block under it.
    """

    start: int
    end: int
    block_end: int
    name: NormalizedName
    requirement: str
    version: str | None
    hashes: tuple[str, ...]
    via: tuple[str, ...]
    via_indent: str | None

    @property
    def package_parents(self) -> tuple[NormalizedName, ...]:
        return tuple(_via_name(item) for item in self.via if not item.startswith("-"))

    @property
    def file_refs(self) -> tuple[str, ...]:
        return tuple(item for item in self.via if item.startswith("-"))


@dataclass(frozen=True, slots=True)
class _Text:
    """A requirements file cut into physical lines, with its requirement lines and includes."""

    lines: tuple[str, ...]
    reqs: tuple[_Req, ...]
    constraints: tuple[str, ...]
    newline: str
    option_ends: tuple[int, ...] = ()

    @property
    def compiled(self) -> bool:
        return any(r.via_indent is not None for r in self.reqs)

    @property
    def hashed(self) -> bool:
        return any(r.hashes for r in self.reqs)

    def pins(self, name: str) -> list[_Req]:
        return [r for r in self.reqs if r.name == name and r.version is not None]

    def find(self, name: str) -> list[_Req]:
        return [r for r in self.reqs if r.name == name]


def _physical(text: str) -> list[str]:
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _bare(line: str) -> str:
    return line.removesuffix("\n").removesuffix("\r")


def _eol(line: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    return "\n" if line.endswith("\n") else ""


def _via_name(item: str) -> NormalizedName:
    return NormalizedName(canonicalize_name(re.split(r"[\s\[(]", item.strip(), maxsplit=1)[0]))


def parse_requirements(text: str) -> _Text:
    """The line model of a requirements file (or of `uv pip compile` output)."""
    lines = _physical(text)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    reqs: list[_Req] = []
    constraints: list[str] = []
    option_ends: list[int] = []
    i, n = 0, len(lines)
    while i < n:
        raw = _bare(lines[i])
        if not raw.strip() or _COMMENT_LINE_RE.match(raw):
            i += 1
            continue
        start = i
        parts = [raw]
        while raw.endswith("\\") and i + 1 < n and not _COMMENT_LINE_RE.match(_bare(lines[i + 1])):
            i += 1
            raw = _bare(lines[i])
            parts.append(raw)
        end = i + 1
        i = end
        logical = " ".join(p[:-1] if p.endswith("\\") else p for p in parts)
        content = _COMMENT_RE.sub("", logical).strip()
        if not content:
            continue
        if content.startswith("-"):
            constraints.extend(_constraint_values(content))
            option_ends.append(end)
            continue
        words = content.split()
        cut = next((k for k, w in enumerate(words) if w.startswith("-")), len(words))
        requirement = " ".join(words[:cut])
        try:
            req = Requirement(requirement)
        except InvalidRequirement:
            continue  # paths, URLs and the like: nothing this fixer edits
        if req.url is not None:
            continue
        via, via_indent, i = _via_block(lines, end)
        j = i
        reqs.append(
            _Req(
                start=start,
                end=end,
                block_end=j,
                name=NormalizedName(canonicalize_name(req.name)),
                requirement=requirement,
                version=_exact(req),
                hashes=tuple(_HASH_RE.findall(" ".join(words[cut:]))),
                via=tuple(via),
                via_indent=via_indent,
            )
        )
    return _Text(tuple(lines), tuple(reqs), tuple(constraints), newline, tuple(option_ends))


def _via_block(lines: Sequence[str], at: int) -> tuple[list[str], str | None, int]:
    """The `# via` annotation starting at line `at`: (items, indent, index past it)."""
    via: list[str] = []
    if at >= len(lines) or not (m := _VIA_RE.match(_bare(lines[at]))):
        return via, None, at
    at += 1
    item = m.group("item")
    if item:
        via.extend(x.strip() for x in item.split(",") if x.strip())
    else:
        while at < len(lines) and (more := _VIA_MORE_RE.match(_bare(lines[at]))):
            via.append(more.group("item"))
            at += 1
    return via, m.group("indent"), at


def _exact(req: Requirement) -> str | None:
    pins = [s for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
    return pins[0].version if len(pins) == 1 else None


def _constraint_values(content: str) -> list[str]:
    try:
        tokens = shlex.split(content)
    except ValueError:
        return []
    out: list[str] = []
    for k, token in enumerate(tokens):
        if token in ("-c", "--constraint") and k + 1 < len(tokens):
            out.append(tokens[k + 1])
        elif token.startswith("--constraint="):
            out.append(token.partition("=")[2])
        elif token.startswith("-c") and len(token) > 2:
            out.append(token[2:])
    return out


def _splice(text: str, start: int, end: int, new: Sequence[str]) -> str:
    lines = _physical(text)
    return "".join([*lines[:start], *new, *lines[end:]])


def set_pin(text: str, req: _Req, version: str, hashes: Sequence[str] | None = None) -> str:
    """`text` with `req`'s exact pin set to `version` (and its hashes to `hashes`, if given).

    Only the version text changes on the requirement's line; hash options are rewritten in
    the layout the line had (one per continuation line, or all on the line).
    """
    if req.version is None:
        raise ValueError(f"{req.name} is not pinned")
    lines = _physical(text)
    seg = [_bare(line) for line in lines[req.start : req.end]]
    endings = [_eol(line) for line in lines[req.start : req.end]]
    pattern = re.compile(r"(===?)(\s*)" + re.escape(req.version) + r"(?![\w.+!*-])")
    for k, line in enumerate(seg):
        code = _COMMENT_RE.sub("", line)
        m = pattern.search(code)
        if m:
            seg[k] = line[: m.start()] + m.group(1) + m.group(2) + version + line[m.end() :]
            break
    else:
        raise ValueError(f"no `=={req.version}` found for {req.name}")
    if hashes is not None and req.hashes:
        seg, endings = _rehash(seg, endings, list(hashes))
    return "".join([*lines[: req.start], *(s + e for s, e in zip(seg, endings, strict=True)),
                    *lines[req.end :]])  # fmt: skip


def _rehash(seg: list[str], endings: list[str], hashes: list[str]) -> tuple[list[str], list[str]]:
    own_lines = [k for k, line in enumerate(seg) if k and line.lstrip().startswith("--hash")]
    first = seg[own_lines[0]] if own_lines else "    "
    indent = first[: len(first) - len(first.lstrip())]
    kept: list[str] = []
    for k, line in enumerate(seg):
        body = _HASH_TOKEN_RE.sub("", line).rstrip()
        body = body.removesuffix("\\").rstrip()
        if k == 0 or body.strip():
            kept.append(body)
    eol = endings[0] or endings[-1] or "\n"
    last_eol = endings[-1]
    tokens = [f"--hash={h}" for h in hashes]
    if own_lines:
        out = [*kept, *(indent + t for t in tokens)]
    else:
        tail = kept[-1]
        comment = _COMMENT_RE.search(tail)
        code, note = (tail[: comment.start()], tail[comment.start() :]) if comment else (tail, "")
        kept[-1] = " ".join([code.rstrip(), *tokens]) + note
        out = kept
    new_seg = [line + " \\" if k < len(out) - 1 else line for k, line in enumerate(out)]
    new_endings = [eol] * (len(new_seg) - 1) + [last_eol]
    return new_seg, new_endings


def _via_lines(items: Sequence[str], indent: str, eol: str) -> list[str]:
    if not items:
        return []
    if len(items) == 1:
        return [f"{indent}# via {items[0]}{eol}"]
    return [f"{indent}# via{eol}", *(f"{indent}#   {item}{eol}" for item in items)]


def _pin_lines(req: _Req, *, hashed: bool, via: Sequence[str], indent: str, eol: str) -> list[str]:
    if hashed and req.hashes:
        head = [f"{req.requirement} \\{eol}"]
        body = [f"{indent}--hash={h} \\{eol}" for h in req.hashes[:-1]]
        body.append(f"{indent}--hash={req.hashes[-1]}{eol}")
        out = head + body
    else:
        out = [f"{req.requirement}{eol}"]
    return out + _via_lines(via, indent, eol)


# ---------------------------------------------------------------------------------------------
# The resolver


@dataclass(frozen=True, slots=True)
class Resolution:
    """What one `uv pip compile` run resolved: each package's pin, hashes and parents."""

    pins: Mapping[NormalizedName, _Req]

    def version(self, name: str) -> str | None:
        pin = self.pins.get(NormalizedName(canonicalize_name(name)))
        return pin.version if pin is not None else None

    def parents(self, name: str) -> tuple[NormalizedName, ...]:
        pin = self.pins.get(NormalizedName(canonicalize_name(name)))
        return pin.package_parents if pin is not None else ()


class ResolveFailed(Exception):
    """The resolver found no solution; `message` is what it said."""

    def __init__(self, message: str, *, offline: bool) -> None:
        super().__init__(message)
        self.message = message
        self.offline = offline


@dataclass(slots=True)
class UvCompiler:
    """Runs `uv pip compile` (the uv shipped as the `uv` Python package) and reads its output.

    `commands` collects each command line as a user could re-run it (with `uv` for the
    binary), `seconds` the time spent in the resolver.
    """

    python_version: str = DEFAULT_PYTHON
    timeout: float = DEFAULT_TIMEOUT
    universal: bool = False
    platform: str | None = None
    commands: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def compile(
        self,
        cwd: Path,
        source: str,
        *,
        hashes: bool = False,
        lowest_direct: bool = False,
    ) -> Resolution:
        """Resolve the requirements file `source` (relative to `cwd`); `ResolveFailed` if not."""
        args = [
            "pip", "compile", source, "--no-header", "--annotation-style", "split",
            "--python-version", self.python_version,
        ]  # fmt: skip
        if self.universal:
            args.append("--universal")
        if self.platform:
            args += ["--python-platform", self.platform]
        if hashes:
            args.append("--generate-hashes")
        if lowest_direct:
            args += ["--resolution", "lowest-direct"]
        display = shlex.join(["uv", *args])
        self.commands.append(display)
        # uv builds sdists for metadata with this interpreter whatever `--python-version`
        # says; without it uv would try to download a Python matching that version.
        env = {
            **os.environ,
            "UV_NO_PROGRESS": "1",
            "UV_PYTHON": sys.executable,
            "UV_PYTHON_DOWNLOADS": "never",
        }
        done = run_tool([uv_binary(), *args], shown=display, cwd=cwd, timeout=self.timeout, env=env)
        self.seconds += done.seconds
        if done.returncode != 0:
            output = done.stderr or done.stdout
            raise ResolveFailed(tool_message(output), offline=looks_offline(output))
        parsed = parse_requirements(done.stdout)
        return Resolution({r.name: r for r in parsed.reqs})

    def lowest(
        self,
        work: Path,
        requirements: Iterable[str],
    ) -> Resolution:
        """Resolve `requirements` (one per line) with the lowest versions of each that fit."""
        path = work / "patchpilot-lowest.in"
        write_exact(path, "".join(f"{r}\n" for r in requirements))
        try:
            return self.compile(work, path.name, lowest_direct=True)
        finally:
            path.unlink(missing_ok=True)


def uv_binary() -> str:
    """The uv binary installed with patchpilot (the `uv` package), else `uv` on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise FixError("uv is not installed: pip install uv (patchpilot needs it to resolve)")


# ---------------------------------------------------------------------------------------------
# The fixer


@dataclass(slots=True)
class _File:
    before: str | None
    text: str


class _Failed(Exception):
    """One bump could not be made; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RequirementsFixer(LockFixer):
    """pip requirements files, including compiled ones with `# via` and `--hash` lines.

    `python_version` is the Python the files are resolved for (default: from the compile
    header or `.python-version`, else 3.11). After `fix`, `resolver_seconds` holds the time
    spent inside `uv pip compile`.
    """

    format: ClassVar[str] = "requirements.txt"

    def __init__(
        self, *, python_version: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.python_version = python_version
        self.timeout = timeout
        self.resolver_seconds = 0.0

    def fix(self, project: Path, lockfile: Path, bumps: Sequence[Bump]) -> FixOutcome:
        found = locate(project, lockfile)
        with tempfile.TemporaryDirectory(prefix="patchpilot-req-") as tmp:
            work = copy_project(found.root, Path(tmp) / "project")
            run = _Run(self, found.root, work, found.rel)
            try:
                return run.fix(bumps)
            finally:
                self.resolver_seconds = run.uv.seconds


class _Run:
    """One `fix` call: the files in the work copy, their texts, and the last resolution."""

    def __init__(self, fixer: RequirementsFixer, root: Path, work: Path, top: Path) -> None:
        self.root = root
        self.work = work
        self.top = top.as_posix()
        self.files: dict[str, _File] = {}
        self.notes: list[str] = []
        self.direct: dict[NormalizedName, bool] = {}
        self._load()
        header = self._header()
        python = fixer.python_version or header.get("python") or self._python_file()
        self.uv = UvCompiler(
            python_version=python or DEFAULT_PYTHON,
            timeout=fixer.timeout,
            universal="universal" in header,
            platform=header.get("platform"),
        )
        self.resolution = Resolution({})

    # -- set-up ------------------------------------------------------------------------------

    def _load(self) -> None:
        from patchpilot.sources.requirements_txt import RequirementsTxtSource

        # Read in the user's tree (readers never write), so that an include outside the
        # project, which the work copy lacks, is named as such.
        try:
            read = RequirementsTxtSource().read(self.root / self.top)
        except SourceError as e:
            raise FixError(f"{self.top}: cannot be read: {e}") from e
        names = [self.top]
        for include in read.includes:
            path = Path(include).resolve()
            if not path.is_relative_to(self.root):
                raise FixError(
                    f"{self.top}: includes {include}, outside the project: cannot fix it here"
                )
            names.append(path.relative_to(self.root).as_posix())
        for name in names:
            text = read_exact(self.work / name)
            self.files[name] = _File(text, text)
        for comp in read.components:
            self.direct[comp.name] = self.direct.get(comp.name, False) or comp.direct

    def _header(self) -> dict[str, str]:
        for line in self.files[self.top].text.splitlines()[:12]:
            m = _HEADER_RE.match(line.strip())
            if not m:
                continue
            try:
                words = shlex.split(m.group("args"))
            except ValueError:
                return {}
            found: dict[str, str] = {}
            for k, word in enumerate(words):
                option, eq, value = word.partition("=")
                if not eq and k + 1 < len(words):
                    value = words[k + 1]
                if option == "--python-version" and value:
                    found["python"] = value
                elif option == "--python-platform" and value:
                    found["platform"] = value
                elif option == "--universal":
                    found["universal"] = "yes"
            return found
        return {}

    def _python_file(self) -> str | None:
        here = (self.work / self.top).parent
        for folder in (here, *here.parents):
            candidate = folder / ".python-version"
            if candidate.is_file():
                first = read_exact(candidate).strip().splitlines()
                m = re.match(r"^(?:cpython-|python)?(\d+\.\d+)", first[0]) if first else None
                if m:
                    return m.group(1)
            if folder == self.work:
                break
        return None

    # -- driving -----------------------------------------------------------------------------

    def fix(self, bumps: Sequence[Bump]) -> FixOutcome:
        try:
            self.resolution = self._compile()
        except ResolveFailed as e:
            raise FixError(
                f"{self.top}: does not resolve as it is (`{self.uv.commands[-1]}`):\n{e.message}"
            ) from e
        self.notes.append(f"resolved for Python {self.uv.python_version} by uv pip compile")
        outcomes = []
        for bump in bumps:
            snapshot = {k: f.text for k, f in self.files.items()}
            known = set(self.files)
            resolution = self.resolution
            try:
                outcomes.append(self._bump(bump))
            except _Failed as e:
                self._restore(snapshot, known)
                self.resolution = resolution
                outcomes.append(BumpOutcome(bump, None, None, reason=e.reason))
        edits = tuple(
            FileEdit(path, f.before, f.text)
            for path, f in sorted(self.files.items())
            if f.text != f.before
        )
        return FixOutcome(
            lockfile=self.top,
            outcomes=tuple(outcomes),
            edits=edits,
            commands=tuple(self.uv.commands),
            notes=tuple(dict.fromkeys(self.notes)),
        )

    def _restore(self, snapshot: Mapping[str, str], known: set[str]) -> None:
        for path in list(self.files):
            if path not in known:
                before = self.files.pop(path).before
                if before is None:
                    (self.work / path).unlink(missing_ok=True)
                else:
                    write_exact(self.work / path, before)
        for path, text in snapshot.items():
            self.files[path].text = text
            write_exact(self.work / path, text)

    def _set(self, path: str, text: str) -> None:
        self.files[path].text = text
        write_exact(self.work / path, text)

    def _parsed(self) -> dict[str, _Text]:
        return {path: parse_requirements(f.text) for path, f in self.files.items()}

    @property
    def _hashed(self) -> bool:
        return any(t.hashed for t in self._parsed().values())

    def _compile(self, *, lowest_direct: bool = False) -> Resolution:
        cwd = (self.work / self.top).parent
        return self.uv.compile(
            cwd, Path(self.top).name, hashes=self._hashed, lowest_direct=lowest_direct
        )

    def _checked(self, *, lowest_direct: bool = False) -> Resolution:
        try:
            return self._compile(lowest_direct=lowest_direct)
        except ResolveFailed as e:
            if e.offline:
                raise FixError(
                    f"{self.top}: the resolver cannot reach the package index "
                    f"(`{self.uv.commands[-1]}`):\n{e.message}"
                ) from e
            raise _Failed(f"the resolver refuses it: {e.message}") from e

    # -- one bump ----------------------------------------------------------------------------

    def _bump(self, bump: Bump) -> BumpOutcome:
        if bump.ecosystem is not Ecosystem.PYPI:
            raise _Failed(f"{bump.ecosystem.value} packages are not in requirements files")
        name = NormalizedName(canonicalize_name(bump.name))
        try:
            target = Version(bump.target)
        except InvalidVersion as e:
            raise _Failed(f"target {bump.target!r} is not a PEP 440 version") from e
        pins = [(path, r) for path, t in self._parsed().items() for r in t.pins(name)]
        if not pins:
            return self._override(bump, name, target)
        held = {r.version for _, r in pins if r.version is not None}
        if len(held) == 1:
            pinned = held.pop()
            if _at_least(pinned, target):
                if pinned == bump.current:
                    raise _Failed(f"{name} is pinned at {pinned}, not below the target")
                return BumpOutcome(
                    bump, Strategy.IN_PLACE, pinned,
                    reason=f"already pinned at {pinned} (the bump expected {bump.current})",
                )  # fmt: skip
        return self._move_pin(bump, name, pins)

    def _move_pin(
        self, bump: Bump, name: NormalizedName, pins: list[tuple[str, _Req]]
    ) -> BumpOutcome:
        before = self.resolution
        for path, _ in pins:
            self._edit_pins(path, name, bump.target)
        moved, after = self._parents_for(name, bump.target)
        for parent, (_, new) in moved.items():
            for path in list(self.files):
                self._edit_pins(path, parent, new)
        if after is None:
            after = self._checked()
        self._check_pins(after)
        resolved = after.version(name) or bump.target
        self._complete(before, after, {name, *moved})
        self.resolution = after
        where = ", ".join(sorted({path for path, _ in pins}))
        co = tuple((p, old, new) for p, (old, new) in sorted(moved.items()))
        if co:
            parents = ", ".join(f"{p} {old}" for p, old, _ in co)
            verb = "forbids" if len(co) == 1 else "forbid"
            moves = ", ".join(f"{p} → {new}" for p, _, new in co)
            return BumpOutcome(
                bump,
                Strategy.CO_UPGRADE,
                resolved,
                co_upgrades=co,
                reason=(
                    f"{parents} {verb} {name} {bump.target}; moved to the smallest versions "
                    f"that allow it ({moves}); pins edited in {where}"
                ),
            )
        if self.direct.get(name, False):
            return BumpOutcome(
                bump, Strategy.RELAX, resolved, reason=f"pin {name}=={bump.target} in {where}"
            )
        return BumpOutcome(
            bump,
            Strategy.IN_PLACE,
            resolved,
            reason=f"pin {name}=={bump.target} in {where}; every package needing it allows it",
        )

    def _edit_pins(
        self,
        path: str,
        name: NormalizedName,
        version: str | None,
        hashes: Sequence[str] | None = None,
    ) -> None:
        """Set every pin of `name` in `path` to `version` (None: keep it) and `hashes`.

        Pins are edited last line first, so the line indexes of earlier ones still hold.
        """
        text = self.files[path].text
        for req in sorted(parse_requirements(text).pins(name), key=lambda r: -r.start):
            try:
                text = set_pin(text, req, version or req.version or "", hashes)
            except ValueError as e:
                raise _Failed(f"{path}: cannot edit the pin of {name}: {e}") from e
        if text != self.files[path].text:
            self._set(path, text)

    def _parents_for(
        self, name: NormalizedName, target: str
    ) -> tuple[dict[NormalizedName, tuple[str, str]], Resolution | None]:
        """The parents that must move for `name==target`, as {parent: (old, new)}, and the
        resolution of the files as they are when none must."""
        pinned = {r.name: r.version for t in self._parsed().values() for r in t.reqs if r.version}
        parents = [p for p in self.resolution.parents(name) if p in pinned]
        try:
            return {}, self._checked()
        except _Failed as e:
            if not parents:
                raise
            failure = e.reason
        ancestors = self._ancestors(name, set(pinned))
        attempts = [parents] if set(ancestors) == set(parents) else [parents, ancestors]
        for relaxed in attempts:
            snapshot = {k: f.text for k, f in self.files.items()}
            try:
                for parent in relaxed:
                    for path in list(self.files):
                        text = self.files[path].text
                        reqs = parse_requirements(text).pins(parent)
                        for req in sorted(reqs, key=lambda r: -r.start):
                            text = _unpin(text, req)
                        self._set(path, text)
                try:
                    found = self._checked(lowest_direct=True)
                except _Failed as e:
                    failure = e.reason
                    continue
            finally:
                for path, text in snapshot.items():
                    self._set(path, text)
            moves: dict[NormalizedName, tuple[str, str]] = {}
            for parent in relaxed:
                old, new = pinned[parent], found.version(parent)
                if old and new and new != old:
                    moves[parent] = (old, new)
            return moves, None
        raise _Failed(f"no versions of {', '.join(parents)} allow {name} {target}; {failure}")

    def _ancestors(self, name: NormalizedName, pinned: set[NormalizedName]) -> list[NormalizedName]:
        seen: list[NormalizedName] = []
        todo = list(self.resolution.parents(name))
        while todo:
            parent = todo.pop(0)
            if parent in seen:
                continue
            seen.append(parent)
            todo.extend(self.resolution.parents(parent))
        return [p for p in seen if p in pinned]

    def _check_pins(self, after: Resolution) -> None:
        """Every pin, as written, is what the resolver picked (when it picked the package)."""
        for path, t in self._parsed().items():
            for req in t.reqs:
                got = after.version(req.name)
                if req.version and got and not _same(got, req.version):
                    raise _Failed(f"{path}: {req.name}=={req.version} resolves to {got} instead")

    def _complete(self, before: Resolution, after: Resolution, moved: set[NormalizedName]) -> None:
        """Keep hashes right and compiled files complete after pins moved."""
        for path in list(self.files):
            if not parse_requirements(self.files[path].text).hashed:
                continue
            for name in sorted(moved):
                pin = after.pins.get(name)
                if not any(r.hashes for r in parse_requirements(self.files[path].text).pins(name)):
                    continue
                if pin is None or not pin.hashes:
                    raise _Failed(f"the resolver gave no hashes for {name}")
                self._edit_pins(path, name, None, pin.hashes)
        # Files that hold a whole resolution: annotated by a compiler, or hashed (pip's
        # hash-checking mode refuses any package without a pinned, hashed line).
        compiled = [
            path
            for path, f in self.files.items()
            if (parsed := parse_requirements(f.text)).compiled or parsed.hashed
        ]
        if not compiled:
            return
        pinned = {r.name for f in self.files.values() for r in parse_requirements(f.text).reqs}
        removed = self._orphans(before, after, compiled)
        for path in compiled:
            parsed = parse_requirements(self.files[path].text)
            if parsed.compiled:
                continue
            # Without `# via` lines the file does not say which pins only served others.
            self.notes.extend(
                f"{r.name} {r.version} in {path} may no longer be needed: no package "
                "depends on it now"
                for r in parsed.reqs
                if before.parents(r.name) and not after.parents(r.name)
            )
        for path in compiled:
            text = self.files[path].text
            gone = [r for r in parse_requirements(text).reqs if r.name in removed]
            for req in sorted(gone, key=lambda r: -r.start):
                text = _splice(text, req.start, req.block_end, [])
                self.notes.append(
                    f"{req.name} {req.version} removed from {path}: no package needs it any more"
                )
            self._set(path, text)
        for name in sorted(set(after.pins) - pinned - set(before.pins)):
            pin = after.pins[name]
            parents = [p for p in pin.package_parents if p not in removed]
            path = self._home(parents, compiled)
            t = parse_requirements(self.files[path].text)
            at = next((r.start for r in t.reqs if r.name > name), None)
            if at is None:
                at = t.reqs[-1].block_end if t.reqs else len(t.lines)
            indent = next((r.via_indent for r in t.reqs if r.via_indent), "    ")
            via = parents if t.compiled else []
            lines = _pin_lines(pin, hashed=t.hashed, via=via, indent=indent, eol=t.newline)
            self._set(path, _splice(self.files[path].text, at, at, lines))
            needed = ", ".join(parents) or "the resolution"
            self.notes.append(f"{name} {pin.version} added to {path}: needed by {needed}")
        for path in compiled:
            text = self.files[path].text
            parsed = parse_requirements(text)
            for req in sorted(parsed.reqs, key=lambda r: -r.start):
                if req.via_indent is None or req.name not in after.pins:
                    continue
                old = set(before.parents(req.name))
                new = sorted(p for p in after.parents(req.name) if p not in removed)
                if old == set(new):
                    continue
                lines = _via_lines([*req.file_refs, *new], req.via_indent, parsed.newline)
                text = _splice(text, req.end, req.block_end, lines)
            self._set(path, text)

    def _orphans(
        self, before: Resolution, after: Resolution, compiled: Sequence[str]
    ) -> set[NormalizedName]:
        """Pins that were there only for other packages, none of which needs them now."""
        candidates = [
            r
            for path in compiled
            for r in parse_requirements(self.files[path].text).reqs
            if r.package_parents and not r.file_refs
        ]
        removed: set[NormalizedName] = set()
        changed = True
        while changed:
            changed = False
            for req in candidates:
                if req.name in removed:
                    continue
                now = [p for p in after.parents(req.name) if p not in removed]
                if before.parents(req.name) and not now:
                    removed.add(req.name)
                    changed = True
        return removed

    def _home(self, parents: Sequence[NormalizedName], compiled: Sequence[str]) -> str:
        for parent in parents:
            for path in compiled:
                if parse_requirements(self.files[path].text).find(parent):
                    return path
        return self.top if self.top in compiled else compiled[0]

    # -- override ----------------------------------------------------------------------------

    def _override(self, bump: Bump, name: NormalizedName, target: Version) -> BumpOutcome:
        from patchpilot.fixers.pyproject_edit import RelaxError, relax_requirement

        before = self.resolution
        if before.version(name) is None:
            raise _Failed(
                f"{name} is neither pinned in {self.top} nor part of its resolution for "
                f"Python {self.uv.python_version}"
            )
        path = self._constraints_file()
        text = self.files[path].text
        entry = f"{bump.name}>={bump.target}"
        existing = parse_requirements(text).find(name)
        if existing:
            req = existing[0]
            try:
                relaxed = relax_requirement(req.requirement, bump.target, floor=True)
            except RelaxError as e:
                raise _Failed(f"{path}: cannot raise {req.requirement!r}: {e}") from e
            if relaxed is not None:
                line = parse_requirements(text).lines[req.start]
                edited = line.replace(req.requirement, relaxed, 1)
                self._set(path, _splice(text, req.start, req.start + 1, [edited]))
        else:
            t = parse_requirements(text)
            if text and not text.endswith("\n"):
                text += t.newline
            self._set(path, text + entry + t.newline)
        # A pinned parent may forbid the floor: it then moves to its smallest admitting version.
        moved, after = self._parents_for(name, bump.target)
        for parent, (_, new) in moved.items():
            for file in list(self.files):
                self._edit_pins(file, parent, new)
        if after is None:
            after = self._checked()
        self._check_pins(after)
        got = after.version(name)
        if got is None or not _at_least(got, target):
            raise _Failed(f"with {entry} in {path} the resolver still picks {name} {got}")
        self._complete(before, after, set(moved))
        co = tuple(
            (p, was, now)
            for p in before.parents(name)
            if (was := before.version(p)) and (now := after.version(p)) and was != now
        )
        self.resolution = after
        why = f"{name} is not pinned in {self.top}; constraint {entry} added to {path}"
        if moved:
            why += "; " + ", ".join(
                f"{p} {old} forbids it and moved to {new}, the smallest version that allows it"
                for p, (old, new) in sorted(moved.items())
            )
        return BumpOutcome(
            bump,
            Strategy.CO_UPGRADE if moved else Strategy.OVERRIDE,
            got,
            co_upgrades=co,
            reason=why,
        )

    def _constraints_file(self) -> str:
        """The constraints file to hold overrides, included from the top file with `-c`."""
        top = self.work / self.top
        from patchpilot.sources.requirements_txt import is_constraints_file

        if is_constraints_file(top):
            return self.top
        parsed = parse_requirements(self.files[self.top].text)
        for value in parsed.constraints:
            if "://" in value:
                continue
            path = Path(os.path.normpath(top.parent / value))
            rel = path.relative_to(self.work).as_posix() if path.is_relative_to(self.work) else ""
            if rel in self.files:
                return rel
        path = top.parent / "constraints.txt"
        rel = path.relative_to(self.work).as_posix()
        if rel not in self.files:
            before = read_exact(path) if path.is_file() else None
            self.files[rel] = _File(before, before or "")
            write_exact(path, before or "")
        include = f"-c {PurePosixPath(rel).relative_to(PurePosixPath(self.top).parent)}"
        at = _include_point(parsed)
        text = self.files[self.top].text
        if at == len(parsed.lines) and text and not text.endswith("\n"):
            text += parsed.newline
        self._set(self.top, _splice(text, at, at, [include + parsed.newline]))
        self.notes.append(
            f"{rel} holds constraints for transitive packages ({include} in {self.top})"
        )
        return rel


def _include_point(parsed: _Text) -> int:
    """Where a new `-c` line goes: after the options that open the file, else above the
    first requirement and the comments attached to it (a compile header stays first)."""
    lines = parsed.lines
    first = parsed.reqs[0].start if parsed.reqs else len(lines)
    options = [end for end in parsed.option_ends if end <= first]
    if options:
        return max(options)
    at = first
    while at > 0 and _COMMENT_LINE_RE.match(_bare(lines[at - 1])):
        at -= 1
    if any(_HEADER_RE.match(_bare(line).strip()) for line in lines[at:first]):
        return first
    return at


def _unpin(text: str, req: _Req) -> str:
    """`req`'s line replaced by `NAME>=VERSION` (marker kept, options dropped): the parent
    may move, never below the version pinned now."""
    try:
        parsed = Requirement(req.requirement)
    except InvalidRequirement:
        return text
    extras = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
    marker = f" ; {parsed.marker}" if parsed.marker else ""
    eol = _eol(_physical(text)[req.end - 1]) or "\n"
    return _splice(text, req.start, req.end, [f"{parsed.name}{extras}>={req.version}{marker}{eol}"])


def _same(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _at_least(version: str, target: Version) -> bool:
    try:
        return Version(version) >= target
    except InvalidVersion:
        return False


__all__ = [
    "RequirementsFixer",
    "Resolution",
    "ResolveFailed",
    "UvCompiler",
    "looks_offline",
    "parse_requirements",
    "set_pin",
    "tool_message",
    "uv_binary",
]
