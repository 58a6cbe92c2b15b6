"""Transitive breaks: installed dependencies whose own code uses the API an upgrade removes.

`assess_dependents(name, old, new, dependents, cache_dir=...)` takes the packages of a
project's lock that depend on `name` (each as distribution name and locked version), fetches
each one's distribution (`distributions.fetch`, never built or run), scans its code with
`callsites.scan` and holds the uses against the same `ApiDiff` the project's own verdict uses.
A dependent with a hit becomes a `DependentBreak` (an old Flask importing `jinja2.Markup`,
which Jinja2 3.1 removed), together with its cure: the smallest newer, final, unyanked release
of the dependent whose code no longer hits any break and whose declared requirement on `name`
admits `new`. The cure search is capped (`MAX_CANDIDATES` fetches per dependent): it tries the
newest release of the dependent's own minor line, the first release of each newer minor line,
and the newest release, in ascending order, stopping at the first cure. Requirements are read
with packaging from the candidate's core metadata (the tree's `METADATA` when the fetch kept
it, else the index's PEP 658 metadata file, else the archive's own `METADATA`/`PKG-INFO`).
What could not be checked is data, never an exception: a dependent that cannot be fetched or
read comes back with `unknown` set to the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tarfile
import urllib.parse
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from pathlib import Path, PurePosixPath

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from patchpilot.errors import BreakingError, IndexLookupError
from patchpilot.events import Reporter
from patchpilot.model import Ecosystem
from patchpilot.planning.breaking import apidiff, callsites, distributions, verdict
from patchpilot.planning.breaking.apidiff import ApiDiff
from patchpilot.planning.breaking.verdict import Site
from patchpilot.planning.index import PackageIndex, Release, default_index

# Each candidate costs one download and one scan; a handful finds the usual cure (the next
# major line) and bounds the work for dependents with dozens of release lines.
MAX_CANDIDATES = 5
_METADATA_BYTES = 4 * 1024 * 1024
_PEP691_JSON = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True, slots=True)
class DependentBreak:
    """A dependency of the project, at its locked version, that the upgrade of a package breaks.

    `sites` are the places in the dependent's own code (paths relative to its installed tree,
    e.g. `flask/__init__.py`) that hit an API break. `cure` is the release of the dependent to
    co-upgrade to, None when none was found; `cure_reason` says why (or why not), naming the
    releases checked. `unknown` is set, with `sites` empty, when the dependent could not be
    fetched or read, so whether it breaks is not known. `notes` list files of the dependent
    that could not be scanned and candidates that could not be checked.
    """

    dependent: str
    version: str
    sites: tuple[Site, ...]
    cure: str | None
    cure_reason: str
    unknown: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """One sentence: which dependency breaks where, and which co-upgrade cures it."""
        if self.unknown is not None:
            return f"{self.dependent} {self.version}: not checked, {self.unknown}"
        first = self.sites[0]
        text = f"{self.dependent} {self.version}: {first.message}"
        if len(self.sites) > 1:
            text += f" (and {len(self.sites) - 1} more site(s))"
        return f"{text}; {self.cure_reason}"


def assess_dependents(
    name: str,
    old: str,
    new: str,
    dependents: Sequence[tuple[str, str]],
    *,
    cache_dir: Path,
    reporter: Reporter | None = None,
    index: PackageIndex | None = None,
) -> tuple[DependentBreak, ...]:
    """The `dependents` (name, version) whose code hits a break of upgrading `name` old → new.

    Dependents that do not use any changed API are left out; those that could not be checked
    are included with `unknown` set. `index` lists the dependents' releases for the cure
    search (`default_index()` when not given). The result follows the order of `dependents`.
    """
    reporter = reporter or Reporter()
    task = f"breaking-dependents {name} {old}→{new}"
    reporter.start(task, len(dependents))
    try:
        try:
            diff = apidiff.diff(name, old, new, cache_dir)
        except BreakingError as e:
            return tuple(
                DependentBreak(dep, ver, (), None, "", unknown=f"cannot diff {name}: {e}")
                for dep, ver in dependents
            )
        if not diff.packages:
            reason = f"{name} provides no Python package to compare"
            return tuple(
                DependentBreak(dep, ver, (), None, "", unknown=reason) for dep, ver in dependents
            )
        found: list[DependentBreak] = []
        lister = index
        for dependent, version in dependents:
            if not diff.breaks:
                reporter.advance(task, detail=dependent)
                continue
            outcome = _hits(diff, dependent, version, cache_dir)
            if isinstance(outcome, str):
                found.append(DependentBreak(dependent, version, (), None, "", unknown=outcome))
            elif outcome[0]:
                sites, notes = outcome
                if lister is None:
                    lister = default_index()
                cure, cure_reason, cure_notes = _find_cure(
                    diff, dependent, version, cache_dir, lister
                )
                found.append(
                    DependentBreak(
                        dependent, version, sites, cure, cure_reason, notes=notes + cure_notes
                    )
                )
            reporter.advance(task, detail=dependent)
    finally:
        reporter.finish(task)
    for item in found:
        reporter.note(item.summary)
    return tuple(found)


def _hits(
    diff: ApiDiff, dependent: str, version: str, cache_dir: Path
) -> tuple[tuple[Site, ...], tuple[str, ...]] | str:
    """The sites of `dependent==version` that hit a break and the scan's notes, or why the
    dependent could not be checked."""
    try:
        tree = distributions.fetch(dependent, version, cache_dir)
    except BreakingError as e:
        return f"cannot fetch: {e}"
    scan = callsites.scan(tree, diff.packages)
    notes = tuple(f"{dependent} {version}: {s.path}: skipped, {s.reason}" for s in scan.skipped)
    return verdict.judge(diff, scan.uses, notes).sites, notes


def candidates(
    current: str, releases: Sequence[Release], limit: int = MAX_CANDIDATES
) -> tuple[str, ...]:
    """The releases to try as cures, ascending: at most `limit` of them.

    Newer final releases that are not yanked: the newest of `current`'s own minor line (a
    compatibility patch), the first of each newer minor line, and the newest of all. When
    that is more than `limit`, the smallest ones and the newest are kept.
    """
    try:
        base = Version(current)
    except InvalidVersion:
        return ()
    newer: list[Version] = []
    for release in releases:
        try:
            v = Version(release.version)
        except InvalidVersion:
            continue
        if v > base and not v.is_prerelease and not v.is_devrelease and not release.yanked:
            newer.append(v)
    if not newer or limit < 1:
        return ()
    newer.sort()
    chosen: dict[Version, None] = {}
    same_line = [v for v in newer if v.release[:2] == base.release[:2]]
    if same_line:
        chosen[same_line[-1]] = None
    lines: set[tuple[int, ...]] = {base.release[:2]}
    for v in newer:
        line = v.release[:2]
        if line not in lines:
            lines.add(line)
            chosen[v] = None
    ordered = sorted(chosen)
    newest = newer[-1]
    if newest not in chosen:
        ordered.append(newest)
    if len(ordered) > limit:
        ordered = [*ordered[: limit - 1], newest]
    return tuple(str(v) for v in ordered)


def _find_cure(
    diff: ApiDiff, dependent: str, version: str, cache_dir: Path, index: PackageIndex
) -> tuple[str | None, str, tuple[str, ...]]:
    """(cure, why, notes): the first candidate that no longer hits and admits `diff.new`."""
    try:
        releases = index.releases(Ecosystem.PYPI, dependent)
    except IndexLookupError as e:
        return None, f"no cure known: cannot list the releases of {dependent}: {e}", ()
    tried = candidates(version, releases)
    if not tried:
        return None, f"no cure known: {dependent} has no final release newer than {version}", ()
    notes: list[str] = []
    still_hit: list[str] = []
    excluded: list[str] = []
    for candidate in tried:
        outcome = _hits(diff, dependent, candidate, cache_dir)
        if isinstance(outcome, str):
            notes.append(f"{dependent} {candidate}: {outcome}")
            continue
        if outcome[0]:
            still_hit.append(candidate)
            continue
        accepted, requirement = admits(dependent, candidate, diff.name, diff.new, cache_dir)
        if accepted is False:
            excluded.append(f"{candidate} requires {requirement}, which excludes {diff.new}")
            continue
        asides: list[str] = []
        if accepted is None:
            asides.append(f"its requirement on {diff.name} could not be read: {requirement}")
        elif requirement:
            asides.append(f"{dependent} {candidate} requires {requirement}")
        if still_hit:
            asides.append(f"{', '.join(still_hit)} still hit(s) it")
        reason = f"co-upgrade {dependent} to {candidate} cures it"
        if asides:
            reason += f" ({'; '.join(asides)})"
        return candidate, _with_rejects(reason, excluded), tuple(notes)
    checked = ", ".join(tried)
    parts = []
    if still_hit:
        parts.append(f"{', '.join(still_hit)} still hit it")
    reason = f"no cure found among the releases checked ({checked})"
    if parts:
        reason += f": {'; '.join(parts)}"
    return None, _with_rejects(reason, excluded), tuple(notes)


def _with_rejects(reason: str, excluded: list[str]) -> str:
    if not excluded:
        return reason
    return f"{reason}; not a cure: {'; '.join(excluded)}"


def admits(
    dependent: str, version: str, name: str, new: str, cache_dir: Path
) -> tuple[bool | None, str]:
    """Whether `dependent==version` declares a requirement on `name` that admits `new`.

    (True, spec) when it does or declares none on `name` (spec empty then); (False, spec)
    when it excludes it; (None, why) when the core metadata could not be read.
    """
    try:
        metadata = core_metadata(dependent, version, cache_dir)
    except BreakingError as e:
        return None, str(e)
    if metadata is None:
        return None, "the distribution has no core metadata listing its requirements"
    message, from_wheel = metadata
    if not _lists_requirements(message, from_wheel):
        return None, "its sdist metadata does not list requirements statically"
    wanted = canonicalize_name(name)
    target = Version(new)
    specs: list[str] = []
    admitted = True
    for raw in message.get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(str(raw))
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) != wanted:
            continue
        try:
            applies = requirement.marker is None or requirement.marker.evaluate({"extra": ""})
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
            applies = True
        if not applies:
            continue
        specs.append(str(requirement))
        if not requirement.specifier.contains(target, prereleases=True):
            admitted = False
    return admitted, ", ".join(specs)


def _lists_requirements(metadata: Message, from_wheel: bool) -> bool:
    """Whether the metadata's Requires-Dist is the full, static list of requirements.

    A wheel's METADATA always is; an sdist's PKG-INFO only from Metadata-Version 2.2 on, and
    not when it marks Requires-Dist as `Dynamic` (older sdists keep requirements elsewhere).
    """
    if from_wheel:
        return True
    try:
        declared = Version(str(metadata.get("Metadata-Version", "1.0")))
    except InvalidVersion:
        return False
    dynamic = {str(d).strip().lower() for d in metadata.get_all("Dynamic") or []}
    return declared >= Version("2.2") and "requires-dist" not in dynamic


def core_metadata(name: str, version: str, cache_dir: Path) -> tuple[Message, bool] | None:
    """The core metadata of the archive `fetch` used for `name==version`, and whether that
    archive is a wheel (whose METADATA is authoritative) rather than an sdist (PKG-INFO).

    Read from the tree when it kept the file; otherwise fetched once (the index's PEP 658
    `.metadata` file when it offers one, else the archive itself, checked against the index's
    sha256) and cached beside the tree. None when the archive holds no core metadata.
    """
    tree = distributions.fetch(name, version, cache_dir)
    for found in sorted(tree.glob("*.dist-info/METADATA")):
        return _parse_metadata(found.read_bytes()), True
    filename = distributions.archive_name(tree)
    if not filename:
        return None
    from_wheel = filename.endswith(".whl")
    cached = tree.parent / ("METADATA" if from_wheel else "PKG-INFO")
    if cached.is_file():
        return _parse_metadata(cached.read_bytes()), from_wheel
    body = _fetch_metadata(name, version, filename)
    if body is None:
        return None
    # The cache only saves a download next time; a read-only one costs nothing else.
    with contextlib.suppress(OSError):
        cached.write_bytes(body)
    return _parse_metadata(body), from_wheel


def _parse_metadata(body: bytes) -> Message:
    return BytesParser().parsebytes(body, headersonly=True)


def _fetch_metadata(name: str, version: str, filename: str) -> bytes | None:
    # The same index and the same guarded HTTP fetch `distributions.fetch` downloaded from,
    # so a mirror configured for one is used for the other.
    index_url = distributions._index_url()
    url = f"{index_url}/{canonicalize_name(name)}/"
    body = distributions._get(url, name, version, accept=_PEP691_JSON)
    try:
        files = json.loads(body)["files"]
        entry = next(f for f in files if isinstance(f, dict) and f.get("filename") == filename)
    except (ValueError, KeyError, TypeError, StopIteration) as e:
        raise BreakingError(name, version, f"{url}: no entry for {filename}: {e}") from e
    file_url = urllib.parse.urljoin(url, str(entry.get("url", "")))
    offered = entry.get("core-metadata") or entry.get("data-dist-info-metadata")
    if offered:
        meta = distributions._get(file_url + ".metadata", name, version)
        expected = offered.get("sha256") if isinstance(offered, dict) else None
        if expected and hashlib.sha256(meta).hexdigest() != expected:
            raise BreakingError(name, version, f"{filename}.metadata: sha256 does not match")
        return meta
    data = distributions._get(file_url, name, version)
    hashes = entry.get("hashes")
    expected = hashes.get("sha256") if isinstance(hashes, dict) else None
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise BreakingError(name, version, f"{filename}: sha256 does not match the index")
    return _metadata_in_archive(name, version, filename, data)


def _metadata_in_archive(name: str, version: str, filename: str, data: bytes) -> bytes | None:
    """`*.dist-info/METADATA` of a wheel, or the top `PKG-INFO` of an sdist; read, not run."""
    try:
        if filename.endswith((".whl", ".zip")):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    path = PurePosixPath(info.filename)
                    if _is_metadata(path) and info.file_size <= _METADATA_BYTES:
                        return zf.read(info)
            return None
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
            for member in tf:
                path = PurePosixPath(member.name)
                if member.isfile() and _is_metadata(path) and member.size <= _METADATA_BYTES:
                    source = tf.extractfile(member)
                    return None if source is None else source.read()
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as e:
        raise BreakingError(name, version, f"{filename}: cannot read metadata: {e}") from e
    return None


def _is_metadata(path: PurePosixPath) -> bool:
    if len(path.parts) != 2:
        return False
    if path.name == "METADATA":
        return path.parts[0].endswith(".dist-info")
    return path.name == "PKG-INFO"
