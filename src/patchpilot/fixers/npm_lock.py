"""Moves packages of an npm `package-lock.json` with the real npm, on a private copy of the project.

`NpmLockFixer.fix` copies the directory that holds the lockfile and its `package.json` to a
temporary directory (without `node_modules`, `.git` and caches) and runs the machine's npm
there (`PATCHPILOT_NPM` names another one) with `--package-lock-only --ignore-scripts
--no-audit --no-fund`, stdin closed and a timeout: npm only ever resolves and writes the lock,
it never fills `node_modules` nor runs a script. Lockfile versions 2 and 3 are supported;
first `npm install` must leave every locked version as it is (else the lock is out of sync
with `package.json`). Each bump then escalates, least invasive first, until no copy of the
package in the lock is left between its current version and the target (copies below the
current version are other bumps' business):

1. **in-place** — a dependency `package.json` declares is installed at exactly the target
   (`npm install NAME@TARGET`, then `package.json` is put back and `npm install` brings the
   lock's own record of it in line); a transitive one, or copies left nested, move with
   `npm update NAME` (newest within each parent's range: npm has no way to name the version);
2. **relax** (declared and pinned or ranged below the target) — each declaration is rewritten
   in the same operator style (`4.17.15` → `4.17.21`, `~1.2.0` → `~1.2.6`, anything more
   complex → `^TARGET`), then installed as in step 1;
3. **override** (copies npm cannot move) — `"overrides": {"NAME": "^TARGET"}` in `package.json`,
   npm's documented way to pin a transitive dependency (keyed `NAME@>=CURRENT <TARGET` when
   other copies of the name lie outside that window, so only the vulnerable ones move), then
   `npm install`. An override wins over a parent's own range, so npm is asked afterwards
   (`npm ls NAME --json` against `package.json` without the override) whether any parent's
   range is now broken; if one is, the override is held back while step 4 is tried;
4. **co-upgrade** — the parents of the vulnerable copies (then their parents, for up to
   three rounds) move with `npm update PARENT…`; a parent `package.json` pins to one version
   is widened to `^VERSION` first;
5. a held-back override is applied after all when no co-upgrade reaches the target, and its
   reason names each parent range it overrides.

`package.json` is edited as text, one string value or one inserted member at a time, so its
indentation, key order and trailing newline stay. Whether the lock records registry
`resolved` URLs is kept as the user's lock had it, whatever the machine's npm configuration
says. Bumps run one after the other on the same copy, so their edits accumulate; a bump that
fails leaves the copy as it found it and reports npm's explanation.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import semver

from patchpilot.errors import FixError, SourceError
from patchpilot.events import Reporter
from patchpilot.fixers._workspace import (
    ERROR_LINES,
    ToolRun,
    each_bump,
    first_lines,
    locate,
    read_exact,
    run_recorder,
    run_tool,
    write_exact,
)
from patchpilot.fixers._workspace import copy_project as _copy_project
from patchpilot.fixers.changeset import FileEdit
from patchpilot.fixers.interface import Bump, BumpOutcome, FixOutcome, LockFixer, Strategy
from patchpilot.model import Ecosystem, NormalizedName, normalize_name
from patchpilot.sources._graph import json_offsets

NPM = Ecosystem.NPM
DEFAULT_TIMEOUT = 300.0
ENV_NPM = "PATCHPILOT_NPM"
LOCK_NAMES = ("package-lock.json", "npm-shrinkwrap.json")
MANIFEST = "package.json"
NPM_FLAGS = ("--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund")
# Output switches that change nothing npm writes: left out of the recorded commands.
_QUIET_FLAGS = ("--color=false", "--progress=false", "--update-notifier=false")
SUPPORTED_LOCK_VERSIONS = (2, 3)
# `overrides` arrived in npm 8.3; lockfile versions 2 and 3 in npm 7.
MIN_NPM = semver.Version(8, 3, 0)
# Lines of npm's message kept in a failed bump's reason (`ERROR_LINES` in a `FixError`).
EXPLANATION_LINES = 20
# Rounds of co-upgrade: each adds the parents of the previous round's packages.
CO_UPGRADE_ROUNDS = 3
DECLARING_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")

# npm settings from the environment that would stop the lock from being written the way
# these commands mean it (a dry run, a global install, a different lockfile format).
_DROPPED_ENV = frozenset(
    {
        "npm_config_dry_run",
        "npm_config_global",
        "npm_config_location",
        "npm_config_package_lock",
        "npm_config_package_lock_only",
        "npm_config_lockfile_version",
        "npm_config_save",
        "npm_config_omit_lockfile_registry_resolved",
    }
)
_NETWORK = re.compile(
    r"\b(?:ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKETTIMEDOUT|ENETUNREACH|"
    r"EHOSTUNREACH|ENETDOWN|ECONNABORTED|ENOTCACHED|E401|E403|ERR_SOCKET_TIMEOUT|"
    r"UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN|CERT_HAS_EXPIRED)\b|"
    r"network request to|request to \S+ failed",
)
# `4.17.15`, `=4.17.15`, `v4.17.15`, `^4.17.15`, `~4.17.15`, `>=4.17.15`: one operator and one
# full version, which a relaxed declaration keeps.
_SIMPLE_SPEC = re.compile(
    r"^\s*(?P<op>\^|~|>=|=)?\s*v?(?P<version>\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)\s*$"
)
_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*$")
_DECODER = json.JSONDecoder()


class NpmLockFixer(LockFixer):
    """`package-lock.json` (and `npm-shrinkwrap.json`): bumps through npm and `package.json`."""

    format: ClassVar[str] = "package-lock.json"

    def __init__(
        self,
        *,
        npm: Path | str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        reporter: Reporter | None = None,
    ) -> None:
        self._npm = str(npm) if npm is not None else None
        self._timeout = timeout
        self._reporter = reporter or Reporter()
        self.runs: tuple[ToolRun, ...] = ()  # the npm commands of the last `fix`, with timings

    def fix(self, project: Path, lockfile: Path, bumps: Sequence[Bump]) -> FixOutcome:
        found = locate(project, lockfile)
        lock_path, lockfile = found.path, found.shown
        if lock_path.name not in LOCK_NAMES:
            raise FixError(f"{lockfile}: not an npm lockfile ({' or '.join(LOCK_NAMES)})")
        if lock_path.name == "package-lock.json" and lock_path.with_name(LOCK_NAMES[1]).exists():
            raise FixError(
                f"{lockfile}: npm-shrinkwrap.json beside it takes precedence; fix that one"
            )
        manifest_path = lock_path.parent / MANIFEST
        if not manifest_path.is_file():
            raise FixError(f"{lockfile}: no package.json beside it")
        lock_rel = found.rel.as_posix()
        prefix = found.rel.parent
        self.runs = ()
        lock_text = read_exact(lock_path, lockfile)
        doc = _lock_document(lock_text, lockfile)
        _read_manifest(read_exact(manifest_path, manifest_path), manifest_path)
        _read_lock(lock_path, lockfile)  # the reader must accept it before npm sees it
        if not bumps:
            return FixOutcome(lockfile=lock_rel, outcomes=(), edits=(), commands=())
        npm = self._npm_binary()
        with tempfile.TemporaryDirectory(prefix="patchpilot-npm-") as tmp:
            work = Path(tmp) / "project"
            _copy_project(lock_path.parent, work)
            session = _Session(
                npm=npm,
                work=work,
                lock_name=lock_path.name,
                display=lockfile,
                timeout=self._timeout,
                reporter=self._reporter,
                flags=_style_flags(doc),
                workspaces=_workspace_dirs(doc, work),
            )
            files_before = dict(session.files)
            lock_before = session.lock
            try:
                outcomes = each_bump(
                    bumps,
                    lambda bump: _bump(session, bump),
                    check=session.check,
                    reporter=self._reporter,
                    task="npm lock",
                )
            finally:
                self.runs = tuple(session.runs)
            edits: list[FileEdit] = []
            for rel, text in sorted(session.files.items()):
                before = files_before.get(rel)
                if before is not None and text != before:
                    edits.append(FileEdit((prefix / rel).as_posix(), before, text))
            if session.lock != lock_before:
                edits.append(FileEdit(lock_rel, lock_before, session.lock))
        return FixOutcome(
            lockfile=lock_rel,
            outcomes=tuple(outcomes),
            edits=tuple(edits),
            commands=tuple(run.command for run in session.runs),
            notes=tuple(dict.fromkeys(session.notes)),
        )

    def _npm_binary(self) -> str:
        named = self._npm or os.environ.get(ENV_NPM)
        if named:
            found = shutil.which(named)
            if found is None:
                source = "" if self._npm else f" ({ENV_NPM})"
                raise FixError(f"npm not found at {named}{source}")
            return found
        found = shutil.which("npm")
        if found is None:
            raise FixError(
                f"npm is not installed (not on PATH): install Node.js with npm >= 7, or set "
                f"{ENV_NPM} to the npm to use"
            )
        return found


# ---------------------------------------------------------------------------------------------
# Reading and checking the user's files


def _loads(text: str, display: Path | str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FixError(f"{display}:{e.lineno}: invalid JSON: {e.msg}") from e
    except RecursionError as e:
        raise FixError(f"{display}: invalid JSON: nested too deeply") from e


def _lock_document(text: str, display: Path) -> dict[str, Any]:
    doc = _loads(text, display)
    if not isinstance(doc, dict):
        raise FixError(f"{display}: expected a JSON object at the top level")
    version = doc.get("lockfileVersion", 1)
    if isinstance(version, bool) or not isinstance(version, int):
        raise FixError(f"{display}: lockfileVersion: expected an integer")
    if version == 1:
        raise FixError(
            f"{display}: lockfileVersion 1 is not supported for fixing: run npm install with "
            "npm >= 7 first"
        )
    if version not in SUPPORTED_LOCK_VERSIONS:
        raise FixError(f"{display}: lockfileVersion {version} is not supported for fixing")
    packages = doc.get("packages")
    if not isinstance(packages, dict):
        raise FixError(f"{display}: packages: expected an object (lockfileVersion {version})")
    return doc


def _read_manifest(text: str, display: Path | str) -> dict[str, Any]:
    doc = _loads(text, display)
    if not isinstance(doc, dict):
        raise FixError(f"{display}: expected a JSON object at the top level")
    for name in (*DECLARING_FIELDS, "overrides"):
        if name in doc and not isinstance(doc[name], dict):
            raise FixError(f"{display}: {name}: expected an object")
    return doc


def _style_flags(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """Keep the lock's own choice of recording registry URLs, whatever npm's config says."""
    installed = [
        entry
        for key, entry in doc["packages"].items()
        if isinstance(entry, dict) and "node_modules/" in key and not entry.get("link")
    ]
    if not installed:
        return ()
    recorded = any("resolved" in entry for entry in installed)
    return (f"--omit-lockfile-registry-resolved={'false' if recorded else 'true'}",)


def _workspace_dirs(doc: Mapping[str, Any], work: Path) -> tuple[str, ...]:
    """The lock's workspace and local packages inside the project (their package.json)."""
    out: list[str] = []
    for key, entry in doc["packages"].items():
        if not key or "node_modules/" in key or not isinstance(entry, dict):
            continue
        parts = Path(key).parts
        if Path(key).is_absolute() or ".." in parts:
            continue
        if (work / key / MANIFEST).is_file():
            out.append(Path(key).as_posix())
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Lock:
    """One reading of the lock: versions by name, which are declared, who depends on whom."""

    versions: Mapping[str, tuple[str, ...]]
    declared: Mapping[str, frozenset[str]]  # versions a workspace root depends on directly
    parents: Mapping[tuple[str, str], frozenset[str]]  # (name, version) -> parent names

    def parents_of(self, name: str, versions: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for version in versions:
            out |= self.parents.get((name, version), frozenset())
        out.discard(name)
        return out

    def ancestors(self, name: str) -> set[str]:
        """Every package that depends on `name`, directly or not (project roots excluded)."""
        seen: set[str] = set()
        todo = [name]
        while todo:
            here = todo.pop()
            for parent in self.parents_of(here, self.versions.get(here, ())):
                if parent not in seen and parent != name:
                    seen.add(parent)
                    todo.append(parent)
        return seen


def _read_lock(path: Path, display: Path) -> _Lock:
    from patchpilot.sources.npm_lock import NpmLockSource

    try:
        read = NpmLockSource().read(path)
    except SourceError as e:
        raise FixError(f"{display}: the lock cannot be read: {e}") from e
    versions: dict[str, list[str]] = {}
    declared: dict[str, set[str]] = {}
    parents: dict[tuple[str, str], set[str]] = {}
    for comp in read.components:
        versions.setdefault(comp.name, []).append(comp.version)
        if comp.direct:
            declared.setdefault(comp.name, set()).add(comp.version)
        parents.setdefault((comp.name, comp.version), set()).update(comp.parents)
    return _Lock(
        versions={k: tuple(_sorted_versions(v)) for k, v in versions.items()},
        declared={k: frozenset(v) for k, v in declared.items()},
        parents={k: frozenset(v) for k, v in parents.items()},
    )


def _version(text: str) -> semver.Version | None:
    try:
        return semver.Version.parse(text)
    except (ValueError, TypeError):
        return None


def _sorted_versions(versions: Iterable[str]) -> list[str]:
    unique = dict.fromkeys(versions)
    parsed = [(v, _version(v)) for v in unique]
    good = sorted((p, v) for v, p in parsed if p is not None)
    return [v for _, v in good] + sorted(v for v, p in parsed if p is None)


def _installed_map(text: str, display: Path) -> dict[str, str]:
    """What a lock installs where: `{"node_modules/a": "1.2.3", …}` (links by their target)."""
    doc = _loads(text, display)
    packages = doc.get("packages") if isinstance(doc, dict) else None
    out: dict[str, str] = {}
    if isinstance(packages, dict):
        for key, entry in packages.items():
            if "node_modules/" not in key or not isinstance(entry, dict):
                continue
            if entry.get("link"):
                out[key] = f"link:{entry.get('resolved')}"
            else:
                out[key] = str(entry.get("version"))
    return out


def _differences(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if old is None:
            out.append(f"{key} {new} (missing from the lock)")
        elif new is None:
            out.append(f"{key} {old} (no longer needed)")
        else:
            out.append(f"{key} {old} → {new}")
    return out


# ---------------------------------------------------------------------------------------------
# The private copy and npm


@dataclass(frozen=True, slots=True)
class _Result:
    ok: bool
    stdout: str
    stderr: str
    explanation: str


@dataclass(frozen=True, slots=True)
class _Snapshot:
    files: Mapping[str, str]
    lock: str


@dataclass
class _Session:
    """The private copy one `fix` works in, its npm runs and the current file texts."""

    npm: str
    work: Path
    lock_name: str
    display: Path
    timeout: float
    reporter: Reporter
    flags: tuple[str, ...]
    workspaces: tuple[str, ...]
    runs: list[ToolRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # package.json files, by relative path
    lock: str = ""
    initial: frozenset[str] = frozenset()  # the names the lock held before any bump

    def __post_init__(self) -> None:
        for rel in (MANIFEST, *(f"{w}/{MANIFEST}" for w in self.workspaces)):
            self.files[rel] = self._read(rel)
        self.lock = self._read(self.lock_name)

    def _read(self, rel: str) -> str:
        return read_exact(self.work / rel, self.display.parent / rel)

    def _write(self, rel: str, text: str) -> None:
        write_exact(self.work / rel, text, self.display.parent / rel)

    def set_file(self, rel: str, text: str) -> None:
        self._write(rel, text)
        self.files[rel] = text

    def snapshot(self) -> _Snapshot:
        return _Snapshot(dict(self.files), self.lock)

    def restore(self, snap: _Snapshot) -> None:
        """Put every tracked file and the lock back to the snapshot's texts."""
        for rel, text in snap.files.items():
            self.set_file(rel, text)
        self.sync_manifests()
        if self._read(self.lock_name) != snap.lock:
            self._write(self.lock_name, snap.lock)
        self.lock = snap.lock

    def sync_manifests(self) -> bool:
        """Write back any package.json npm rewrote; whether one had to be."""
        changed = False
        for rel, text in self.files.items():
            if self._read(rel) != text:
                self._write(rel, text)
                changed = True
        return changed

    def reading(self) -> _Lock:
        return _read_lock(self.work / self.lock_name, self.display)

    def manifest(self, rel: str = MANIFEST) -> dict[str, Any]:
        return _read_manifest(self.files[rel], self.display.parent / rel)

    def check(self) -> None:
        """npm must be recent enough, and `npm install` on the untouched copy must keep
        every locked version."""
        self.check_version()
        before = self.lock
        result = self.npm_run(["install"])
        if not result.ok:
            raise FixError(
                f"{self.display}: `npm install --package-lock-only` fails on the project as it "
                f"is: {_first_lines(result)}"
            )
        self.sync_manifests()
        changed = _differences(
            _installed_map(before, self.display), _installed_map(self.lock, self.display)
        )
        if changed:
            shown = changed[:ERROR_LINES] + (["…"] if len(changed) > ERROR_LINES else [])
            raise FixError(
                f"{self.display}: package-lock.json is out of sync with package.json: run "
                "`npm install` and commit the lock first (npm would change "
                + "; ".join(shown)
                + ")"
            )
        # The bumps start from the user's own lock, not from npm's rewrite of it.
        self._write(self.lock_name, before)
        self.lock = before
        self.initial = frozenset(self.reading().versions)

    def check_version(self) -> None:
        done = run_tool(
            [self.npm, "--version"],
            shown="npm --version",
            cwd=self.work,
            timeout=self.timeout,
            env=_environment(os.environ),
            where=self.display,
        )
        printed = done.stdout.strip()
        version = _version(printed)
        if not done.ok or version is None:
            raise FixError(f"{self.npm}: `npm --version` did not print a version ({printed!r})")
        if version < MIN_NPM:
            raise FixError(
                f"npm {version} ({self.npm}) is too old to fix package-lock.json: npm >= {MIN_NPM} "
                "is needed (for `overrides`)"
            )

    def npm_run(self, args: Sequence[str], *, lock_only: bool = True) -> _Result:
        """Run `npm ARGS` in the copy; a failure for reasons other than the resolution
        (npm missing, no network, a timeout) is a `FixError`."""
        flags = [*NPM_FLAGS, *self.flags] if lock_only else ["--package-lock-only"]
        argv = [self.npm, *args, *flags, *_QUIET_FLAGS]
        shown = shlex.join(["npm", *args, *flags])
        done = run_tool(
            argv,
            shown=shown,
            cwd=self.work,
            timeout=self.timeout,
            env=_environment(os.environ),
            where=self.display,
            on_run=run_recorder(self.runs, self.reporter, "npm lock"),
        )
        stderr = done.stderr
        result = _Result(done.ok, done.stdout, stderr, _explanation(stderr))
        if not result.ok and _NETWORK.search(stderr):
            raise FixError(f"{self.display}: `{shown}` failed: {_first_lines(result)}")
        if result.ok and lock_only:
            self.lock = self._read(self.lock_name)
        return result

    def invalid_under(self, spelled: str, manifest: str, target: semver.Version) -> list[str]:
        """Which parents' ranges the lock breaks for `spelled` when `manifest` (package.json
        without the new override) is the project's: npm's own `invalid` verdicts."""
        current = self.files[MANIFEST]
        self._write(MANIFEST, manifest)
        try:
            result = self.npm_run(["ls", spelled, "--json", "--all"], lock_only=False)
        finally:
            self._write(MANIFEST, current)
        try:
            tree = json.loads(result.stdout)
        except json.JSONDecodeError as e:
            raise FixError(
                f"{self.display}: `npm ls {spelled} --json` did not print JSON: "
                f"{_first_lines(result)}"
            ) from e
        found: list[str] = []
        for name, node in _ls_nodes(tree):
            invalid = node.get("invalid")
            version = node.get("version")
            if name.lower() != spelled.lower() or not isinstance(invalid, str):
                continue
            parsed = _version(version) if isinstance(version, str) else None
            if parsed is not None and parsed >= target:
                found.append(f"{name} {version} is outside {invalid}")
        return list(dict.fromkeys(found))


def _ls_nodes(tree: Any) -> Iterable[tuple[str, dict[str, Any]]]:
    todo = [tree]
    while todo:
        node = todo.pop()
        deps = node.get("dependencies") if isinstance(node, dict) else None
        if not isinstance(deps, dict):
            continue
        for name, child in deps.items():
            if isinstance(child, dict):
                yield str(name), child
                todo.append(child)


def _environment(base: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k.lower() not in _DROPPED_ENV}
    env["NO_COLOR"] = "1"
    env["npm_config_update_notifier"] = "false"
    return env


def _explanation(stderr: str) -> str:
    """npm's `npm error` lines without their prefix and the pointer to its debug log."""
    kept: list[str] = []
    for line in stderr.splitlines():
        text = line.rstrip()
        if not text.startswith(("npm error", "npm ERR!")):
            continue
        text = text.removeprefix("npm error").removeprefix("npm ERR!").strip()
        if not text or text.startswith(("A complete log of this run", "Log files were not")):
            continue
        kept.append(text)
    if not kept:
        kept = [line.strip() for line in stderr.splitlines() if line.strip()][-ERROR_LINES:]
    return "\n".join(kept[:EXPLANATION_LINES])


def _gist(explanation: str) -> str:
    """The line of npm's explanation that says why (not the bare `code EXXX` line)."""
    lines = [line.strip() for line in explanation.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("code ")]
    text = " ".join((useful or lines or ["failed"])[:2])
    return text if len(text) <= 240 else text[:239] + "…"


def _first_lines(result: _Result) -> str:
    return first_lines(
        result.explanation,
        empty=f"npm exited with an error and printed nothing ({result.stderr!r})",
        joiner="\n  ",
        keep_indent=False,
    )


# ---------------------------------------------------------------------------------------------
# Editing package.json as text


class EditRefused(Exception):
    """A `package.json` edit the fixer will not make (the reason is the message)."""


def relaxed_spec(spec: str, target: str) -> str | None:
    """`spec` rewritten to admit `target` in the same style, or None when it names no
    registry range (a tag, a URL, a git or file source)."""
    if spec.startswith("npm:"):
        real, sep, inner = spec[len("npm:") :].rpartition("@")
        if not sep or not real:
            return None
        relaxed = relaxed_spec(inner, target)
        return None if relaxed is None else f"npm:{real}@{relaxed}"
    match = _SIMPLE_SPEC.match(spec)
    if match:
        return f"{match['op'] or ''}{target}"
    stripped = spec.strip()
    if ":" in stripped or "/" in stripped:
        return None
    if _TAG.match(stripped) and stripped.lower() not in ("x",):
        return None
    return f"^{target}"


def exact_spec(spec: str) -> str | None:
    """The version an exact pin (`1.2.3`, `=1.2.3`, `v1.2.3`) names, else None."""
    match = _SIMPLE_SPEC.match(spec)
    if match and (match["op"] or "=") == "=":
        return match["version"]
    return None


def set_string(text: str, path: Sequence[str], value: str) -> str:
    """`text` with the JSON string at `path` (object keys) replaced by `value`, all else kept."""
    doc = _loads(text, MANIFEST)
    key = tuple(path)
    found = json_offsets(text, lambda p: p == key).get(key)
    parent: Any = doc
    for part in key[:-1]:
        parent = parent.get(part) if isinstance(parent, dict) else None
    if found is None or not isinstance(parent, dict) or not isinstance(parent.get(key[-1]), str):
        raise EditRefused(f"{'.'.join(key)} is not a string in package.json")
    _, end = _DECODER.raw_decode(text, found)
    new = text[:found] + json.dumps(value, ensure_ascii=False) + text[end:]
    expected = copy.deepcopy(doc)
    target = expected
    for part in key[:-1]:
        target = target[part]
    target[key[-1]] = value
    return _checked(text, new, expected)


def add_override(text: str, key: str, value: str) -> str:
    """`text` with `"overrides": {key: value}` added (the object made when absent)."""
    doc = _loads(text, MANIFEST)
    if not isinstance(doc, dict):
        raise EditRefused("package.json is not a JSON object")
    expected = copy.deepcopy(doc)
    if "overrides" not in doc:
        expected["overrides"] = {key: value}
        start = _first_value(text)
        indent = _member_indent(text, start) or "  "
        inner = _indent_unit(text)
        newline = _newline(text)
        body = (
            f"{{{newline}{indent}{inner}{json.dumps(key)}: {json.dumps(value)}{newline}{indent}}}"
            if _multiline(text, start)
            else f"{{{json.dumps(key)}: {json.dumps(value)}}}"
        )
        return _checked(text, _insert_member(text, start, '"overrides": ' + body), expected)
    overrides = doc["overrides"]
    if not isinstance(overrides, dict):
        raise EditRefused("`overrides` in package.json is not an object")
    if key in overrides:
        if isinstance(overrides[key], str):
            return set_string(text, ("overrides", key), value)
        raise EditRefused(f"package.json already overrides {key!r} with an object")
    expected["overrides"][key] = value
    start = json_offsets(text, lambda p: p == ("overrides",))[("overrides",)]
    return _checked(
        text, _insert_member(text, start, f"{json.dumps(key)}: {json.dumps(value)}"), expected
    )


def _first_value(text: str) -> int:
    for i, ch in enumerate(text):
        if not ch.isspace() and ch != "\ufeff":
            return i
    raise EditRefused("package.json is empty")


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _multiline(text: str, start: int) -> bool:
    """Whether the object at `start` puts its members on lines of their own."""
    _, end = _DECODER.raw_decode(text, start)
    return "\n" in text[start:end]


def _member_indent(text: str, start: int) -> str | None:
    """The indentation of the first member of the object at `start` (None: none on a line)."""
    quote = text.find('"', start + 1)
    _, end = _DECODER.raw_decode(text, start)
    if quote < 0 or quote >= end:
        return None
    gap = text[start + 1 : quote]
    if "\n" not in gap:
        return None
    return gap.rsplit("\n", 1)[1].replace("\r", "")


def _indent_unit(text: str) -> str:
    """One level of the file's indentation, as the top-level members show it."""
    return _member_indent(text, _first_value(text)) or "  "


def _insert_member(text: str, start: int, member: str) -> str:
    """`member` added as the last member of the object that opens at `start`."""
    _, end = _DECODER.raw_decode(text, start)
    close = end - 1
    inside = text[start + 1 : close]
    newline = _newline(text)
    if not inside.strip():
        depth = _line_indent(text, start)
        unit = _indent_unit(text)
        if _multiline(text, _first_value(text)):
            filled = f"{{{newline}{depth}{unit}{member}{newline}{depth}}}"
        else:
            filled = f"{{{member}}}"
        return text[:start] + filled + text[end:]
    last = start + 1 + len(inside.rstrip())
    indent = _member_indent(text, start)
    sep = f",{newline}{indent}" if indent is not None else ", "
    return text[:last] + sep + member + text[last:]


def _line_indent(text: str, offset: int) -> str:
    """The leading whitespace of the line `offset` is on."""
    line_start = text.rfind("\n", 0, offset) + 1
    line = text[line_start:offset]
    return line[: len(line) - len(line.lstrip(" \t"))]


def _checked(original: str, new: str, expected: Any) -> str:
    """`new` if it reads back as `expected`, else `expected` serialised in the file's style."""
    try:
        if json.loads(new) == expected:
            return new
    except json.JSONDecodeError:
        pass
    unit = _indent_unit(original)
    text = json.dumps(expected, indent=unit, ensure_ascii=False)
    if original.endswith(("\n", "\r\n")):
        text += "\n"
    return text.replace("\n", "\r\n") if _newline(original) == "\r\n" else text


# ---------------------------------------------------------------------------------------------
# One bump


@dataclass(frozen=True, slots=True)
class _Declaration:
    """One place a package.json names the package: file, field, key and range."""

    file: str
    field: str
    key: str
    spec: str


@dataclass
class _Attempt:
    """What the escalation of one bump has learned so far."""

    bump: Bump
    name: NormalizedName
    spelled: str  # the name as npm knows it (the lock's spelling)
    target: semver.Version
    current: semver.Version | None
    before: _Lock
    failures: list[str] = field(default_factory=list)
    explanation: str = ""
    manifest_edits: list[str] = field(default_factory=list)

    def window(self, lock: _Lock) -> list[str]:
        """The copies still to move: at or above the current version, below the target."""
        out: list[str] = []
        for version in lock.versions.get(self.name, ()):
            parsed = _version(version)
            if parsed is None or parsed >= self.target:
                continue
            if self.current is None or parsed >= self.current:
                out.append(version)
        return out


_HELD_BACK = "override: held back, it breaks a parent's range"


@dataclass(frozen=True, slots=True)
class _Held:
    """An override that reached the target by breaking a parent's range, kept in reserve."""

    snapshot: _Snapshot
    after: _Lock
    shown: str
    broken: tuple[str, ...]
    edits: tuple[str, ...]


def _bump(session: _Session, bump: Bump) -> BumpOutcome:
    if bump.ecosystem is not NPM:
        return BumpOutcome(bump, None, None, reason=f"not an npm package ({bump.ecosystem})")
    target = _version(bump.target)
    if target is None:
        return BumpOutcome(bump, None, None, reason=f"target {bump.target!r} is not a version")
    name = normalize_name(NPM, bump.name)
    before = session.reading()
    attempt = _Attempt(bump, name, _spelling(session, name), target, _version(bump.current), before)
    held = before.versions.get(name, ())
    if not held:
        if name not in session.initial:
            return BumpOutcome(bump, None, None, reason=f"{name} is not in {session.display}")
        return BumpOutcome(
            bump, Strategy.IN_PLACE, None, reason=f"an earlier bump removed {name} from the lock"
        )
    if not attempt.window(before):
        return BumpOutcome(
            bump,
            Strategy.IN_PLACE,
            ", ".join(held),
            reason=f"the lock already holds {name} {', '.join(held)} (moved by an earlier bump)",
        )
    start = session.snapshot()
    declarations = _declarations(session, name)
    declared_low = any(v in attempt.window(before) for v in before.declared.get(name, ()))

    # 1. in-place
    outcome = _in_place(session, attempt, declarations, declared_low)
    if outcome is not None:
        return outcome

    # 2. relax
    if declarations and declared_low:
        outcome = _relax(session, attempt, declarations)
        if outcome is not None:
            return outcome

    # 3. override
    outcome, held_back = _override(session, attempt)
    if outcome is not None:
        return outcome

    # 4. co-upgrade
    outcome = _co_upgrade(session, attempt)
    if outcome is not None:
        return outcome

    # 5. the override that breaks a parent's range, as the last resort
    if held_back is not None:
        session.restore(held_back.snapshot)
        attempt.manifest_edits = list(held_back.edits)
        attempt.failures = [f for f in attempt.failures if not f.startswith(_HELD_BACK)]
        result = _success(attempt, Strategy.OVERRIDE, held_back.after, held_back.shown)
        reason = (
            "forced past a parent's own range: "
            + "; ".join(held_back.broken)
            + " (npm overrides win over it; check that parent still works)"
        )
        return BumpOutcome(
            bump=result.bump,
            strategy=result.strategy,
            resolved=result.resolved,
            co_upgrades=result.co_upgrades,
            reason=f"{result.reason}; {reason}",
        )
    session.restore(start)
    return BumpOutcome(
        bump,
        None,
        None,
        reason=f"{name} {bump.target} cannot be reached: "
        + "; ".join(attempt.failures)
        + (f"\nnpm: {attempt.explanation}" if attempt.explanation else ""),
    )


def _spelling(session: _Session, name: str) -> str:
    """The package's name as the lock spells it (npm names are compared case-insensitively)."""
    doc = _loads(session.lock, session.display)
    for key, entry in doc.get("packages", {}).items():
        if "node_modules/" not in key:
            continue
        installed = key.rsplit("node_modules/", 1)[1]
        real = entry.get("name") if isinstance(entry, dict) else None
        for candidate in (real, installed):
            if isinstance(candidate, str) and candidate.lower() == name:
                return candidate
    return name


def _declarations(session: _Session, name: str) -> list[_Declaration]:
    out: list[_Declaration] = []
    for rel in session.files:
        doc = session.manifest(rel)
        for field_name in DECLARING_FIELDS:
            deps = doc.get(field_name)
            if not isinstance(deps, dict):
                continue
            for key, spec in deps.items():
                if not isinstance(spec, str):
                    continue
                real = key
                if spec.startswith("npm:"):
                    real = spec[len("npm:") :].rpartition("@")[0] or spec[len("npm:") :]
                if real.lower() == name:
                    out.append(_Declaration(rel, field_name, key, spec))
    return out


def _pinned_install(attempt: _Attempt) -> list[list[str]]:
    """`npm install NAME@TARGET`, then package.json put back and `npm install` to match it."""
    return [["install", f"{attempt.spelled}@{attempt.bump.target}"], ["install"]]


def _can_pin(declarations: Sequence[_Declaration]) -> bool:
    # `npm install NAME@X` in the root adds NAME to the root package.json: fine when only the
    # root declares it under its own name; a workspace's or an alias's would be added beside.
    return all(d.file == MANIFEST and not d.spec.startswith("npm:") for d in declarations)


def _in_place(
    session: _Session,
    attempt: _Attempt,
    declarations: Sequence[_Declaration],
    declared_low: bool,
) -> BumpOutcome | None:
    if declarations and declared_low:
        pins = [d for d in declarations if exact_spec(d.spec) is not None]
        if pins:
            attempt.failures.append(
                "in-place: package.json pins it ("
                + ", ".join(f"{d.field}.{d.key} = {d.spec!r}" for d in pins)
                + ")"
            )
            return None
        if _can_pin(declarations):
            outcome = _try(session, attempt, Strategy.IN_PLACE, _pinned_install(attempt))
            if outcome is not None:
                return outcome
    return _try(session, attempt, Strategy.IN_PLACE, [["update", attempt.spelled]])


def _relax(
    session: _Session, attempt: _Attempt, declarations: Sequence[_Declaration]
) -> BumpOutcome | None:
    changed = False
    for decl in declarations:
        new = relaxed_spec(decl.spec, attempt.bump.target)
        if new is None:
            attempt.failures.append(
                f"relax: {decl.file} {decl.field}.{decl.key} = {decl.spec!r} is not a version range"
            )
            continue
        if new == decl.spec:
            continue
        try:
            text = set_string(session.files[decl.file], (decl.field, decl.key), new)
        except EditRefused as e:
            attempt.failures.append(f"relax: {e}")
            continue
        session.set_file(decl.file, text)
        attempt.manifest_edits.append(
            f"{decl.file} {decl.field}.{decl.key}: {decl.spec!r} → {new!r}"
        )
        changed = True
    if not changed:
        attempt.failures.append("relax: nothing in package.json to change")
        return None
    steps = _pinned_install(attempt) if _can_pin(declarations) else [["install"]]
    return _try(session, attempt, Strategy.RELAX, steps)


def _override_key(attempt: _Attempt, lock: _Lock) -> str:
    """The plain name when every copy moves, else a range key naming only the ones that do."""
    window = attempt.window(lock)
    if attempt.current is None or set(window) == set(lock.versions.get(attempt.name, ())):
        return attempt.spelled
    return f"{attempt.spelled}@>={attempt.current} <{attempt.target}"


def _override(session: _Session, attempt: _Attempt) -> tuple[BumpOutcome | None, _Held | None]:
    before = session.snapshot()
    manifest = session.files[MANIFEST]
    key = _override_key(attempt, session.reading())
    value = f"^{attempt.bump.target}"
    try:
        text = add_override(manifest, key, value)
    except EditRefused as e:
        attempt.failures.append(f"override: {e}")
        return None, None
    session.set_file(MANIFEST, text)
    edits_before = list(attempt.manifest_edits)
    attempt.manifest_edits.append(f"package.json overrides: {json.dumps(key)}: {value!r}")
    outcome = _try(session, attempt, Strategy.OVERRIDE, [["install"]])
    if outcome is None:
        session.restore(before)
        attempt.manifest_edits = edits_before
        return None, None
    broken = session.invalid_under(attempt.spelled, manifest, attempt.target)
    if not broken:
        return outcome, None
    held = _Held(
        snapshot=session.snapshot(),
        after=session.reading(),
        shown="`npm install`",
        broken=tuple(broken),
        edits=tuple(attempt.manifest_edits),
    )
    attempt.failures.append(f"{_HELD_BACK} (" + "; ".join(broken) + ")")
    session.restore(before)
    attempt.manifest_edits = edits_before
    return None, held


def _co_upgrade(session: _Session, attempt: _Attempt) -> BumpOutcome | None:
    lock = session.reading()
    level = sorted(lock.parents_of(attempt.name, attempt.window(lock)))
    if not level:
        level = sorted(normalize_name(NPM, p) for p in attempt.bump.parents)
    if not level:
        attempt.failures.append("co-upgrade: no parent in the lock to move")
        return None
    tried: list[str] = []
    for _ in range(CO_UPGRADE_ROUNDS):
        new = [p for p in level if p not in tried and p != attempt.name]
        if not new:
            break
        tried.extend(new)
        for parent in new:
            _widen_pin(session, attempt, parent, lock)
        spelled = [_spelling(session, p) for p in tried]
        outcome = _try(session, attempt, Strategy.CO_UPGRADE, [["update", *spelled]])
        if outcome is not None:
            return outcome
        level = sorted(_up(lock, new))
    return None


def _up(lock: _Lock, names: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for name in names:
        out |= lock.parents_of(name, lock.versions.get(name, ()))
    return out


def _widen_pin(session: _Session, attempt: _Attempt, parent: str, lock: _Lock) -> None:
    """A parent the root package.json pins to one version may move within its major."""
    if parent not in lock.declared:
        return
    for decl in _declarations(session, parent):
        if decl.file != MANIFEST:
            continue
        pinned = exact_spec(decl.spec)
        if pinned is None or decl.spec.startswith("npm:"):
            continue
        try:
            text = set_string(session.files[MANIFEST], (decl.field, decl.key), f"^{pinned}")
        except EditRefused:
            continue
        session.set_file(MANIFEST, text)
        attempt.manifest_edits.append(
            f"package.json {decl.field}.{decl.key}: {decl.spec!r} → '^{pinned}'"
        )


def _try(
    session: _Session, attempt: _Attempt, strategy: Strategy, steps: Sequence[Sequence[str]]
) -> BumpOutcome | None:
    """Run the npm commands of one strategy; the outcome when the lock reached the target.

    Between commands, and after the last, any package.json npm rewrote gets the text this
    fixer chose back (npm sorts and re-serialises it when it saves); a rewrite after the last
    command is followed by one more `npm install` so the lock records that text's ranges.
    """
    lock_before = session.lock
    shown_all: list[str] = []
    for i, args in enumerate(steps):
        shown = shlex.join(["npm", *args])
        shown_all.append(shown)
        result = session.npm_run(args)
        rewritten = session.sync_manifests()
        if not result.ok:
            attempt.explanation = result.explanation
            attempt.failures.append(f"{strategy}: `{shown}`: {_gist(result.explanation)}")
            session.restore(_Snapshot(dict(session.files), lock_before))
            return None
        if rewritten and i == len(steps) - 1:
            shown_all.append("npm install")
            follow = session.npm_run(["install"])
            session.sync_manifests()
            if not follow.ok:
                attempt.explanation = follow.explanation
                attempt.failures.append(f"{strategy}: `npm install`: {_gist(follow.explanation)}")
                session.restore(_Snapshot(dict(session.files), lock_before))
                return None
    after = session.reading()
    left = attempt.window(after)
    if left:
        attempt.failures.append(
            f"{strategy}: `{shown_all[-1]}` kept {attempt.name} {', '.join(left)}"
        )
        session.restore(_Snapshot(dict(session.files), lock_before))
        return None
    return _success(attempt, strategy, after, " && ".join(f"`{s}`" for s in shown_all))


def _success(attempt: _Attempt, strategy: Strategy, after: _Lock, shown: str) -> BumpOutcome:
    name = attempt.name
    before = attempt.before
    old = before.versions.get(name, ())
    new = after.versions.get(name, ())
    moved: list[tuple[str, str, str]] = []
    for parent in sorted(before.ancestors(name)):
        was = before.versions.get(parent, ())
        now = after.versions.get(parent, ())
        if was and now and was != now:
            moved.append((parent, ", ".join(was), ", ".join(now)))
    arrived = [v for v in new if v not in old]
    if not arrived:
        arrived = [v for v in new if (p := _version(v)) is not None and p >= attempt.target]
    parts: list[str] = []
    if new:
        parts.append(f"{shown} moved {name} {', '.join(old)} → {', '.join(new)}")
    else:
        parts.append(f"{shown} removed {name} from the lock")
    if attempt.manifest_edits:
        parts.append("edited " + "; ".join(attempt.manifest_edits))
    if moved:
        parts.append("parents moved too: " + ", ".join(f"{p} {a} → {b}" for p, a, b in moved))
        strategy = Strategy.CO_UPGRADE
    if attempt.failures:
        parts.append("tried first: " + "; ".join(attempt.failures))
    return BumpOutcome(
        bump=attempt.bump,
        strategy=strategy,
        resolved=", ".join(arrived) if arrived else None,
        co_upgrades=tuple(moved),
        reason="; ".join(parts),
    )
