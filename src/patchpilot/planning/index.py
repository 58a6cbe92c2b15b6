"""Package indexes: which releases of a package exist, whether they are yanked, and when.

`PackageIndex` is the seam planning asks; `PypiIndex` reads PyPI's JSON simple API (PEP 691,
with the per-file `yanked` of PEP 592 and `upload-time` of PEP 700) and `NpmIndex` reads the npm
registry's package document (`versions`, `time`, and per-version `deprecated`, npm's nearest
thing to a yank). `EcosystemIndex` routes each ecosystem to its backend; `default_index` builds
the usual one. Answers are kept in an on-disk cache (one small JSON file per package, holding
the parsed releases, not the raw document) for a TTL, so repeated plans do not ask again;
`offline=True` answers from the cache alone, whatever its age. Every failure (no network, HTTP
error, no such package, a body that is not the expected JSON, a cache miss offline) is an
`IndexLookupError` naming the URL; no urllib or JSON exception leaves this module.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from patchpilot import __version__
from patchpilot.advisories import versions
from patchpilot.errors import IndexLookupError
from patchpilot.model import Ecosystem, normalize_name

DEFAULT_TTL = timedelta(hours=1)
DEFAULT_TIMEOUT = 30.0
PYPI_URL = "https://pypi.org/simple"
NPM_REGISTRY = "https://registry.npmjs.org"
# The largest npm documents (packages with thousands of versions) are tens of MiB.
MAX_BODY_BYTES = 128 * 1024 * 1024
_CACHE_FORMAT = 1
_PEP691_JSON = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True, slots=True)
class Release:
    """One published version of a package.

    `version` is spelled as the ecosystem normalises it (PEP 440 `5.4b1`, SemVer `1.2.6`).
    `yanked` means every file of the version is yanked (PyPI) or the version is deprecated
    (npm); `yanked_reason` is the index's text for it, when it gives one. `uploaded` is the
    earliest upload time of the version's files (UTC), None when the index does not say.
    """

    version: str
    yanked: bool = False
    yanked_reason: str | None = None
    uploaded: datetime | None = None


class PackageIndex(ABC):
    """Lists the releases of a package in one or more ecosystems."""

    def supports(self, ecosystem: Ecosystem) -> bool:
        """Whether `releases` can answer for packages of `ecosystem`."""
        return True

    @abstractmethod
    def releases(self, ecosystem: Ecosystem, name: str) -> tuple[Release, ...]:
        """Every release of the package, oldest version first; `IndexLookupError` on failure.

        A package the index does not know raises; a package whose every version was removed
        (npm unpublish) gives an empty tuple.
        """


class HttpIndex(PackageIndex):
    """The fetching and caching shared by the HTTP backends; subclasses parse one format."""

    ecosystem: ClassVar[Ecosystem]
    kind: ClassVar[str]  # names the cache sub-directory
    accept: ClassVar[str]
    url_variable: ClassVar[str]  # the environment variable naming a mirror
    default_url: ClassVar[str]

    def __init__(
        self,
        base_url: str | None = None,
        *,
        cache_dir: Path | None = None,
        ttl: timedelta = DEFAULT_TTL,
        offline: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """`base_url`, else the URL `url_variable` names, else `default_url`."""
        base_url = base_url or os.environ.get(self.url_variable) or self.default_url
        self.base_url = base_url.rstrip("/")
        self.ttl = ttl
        self.offline = offline
        self.timeout = timeout
        root = cache_dir if cache_dir is not None else default_cache_dir()
        # One directory per base URL: a mirror's answers never stand in for another index's.
        digest = hashlib.sha256(self.base_url.encode()).hexdigest()[:12]
        self.cache_dir = Path(root) / f"{self.kind}-{digest}"
        self._memo: dict[str, tuple[Release, ...]] = {}

    def supports(self, ecosystem: Ecosystem) -> bool:
        return ecosystem is self.ecosystem

    @abstractmethod
    def url_for(self, name: str) -> str:
        """The document URL of the (normalised) package name."""

    @abstractmethod
    def parse(self, url: str, body: bytes) -> tuple[Release, ...]:
        """The releases a document lists, sorted by version; `IndexLookupError` if malformed."""

    def releases(self, ecosystem: Ecosystem, name: str) -> tuple[Release, ...]:
        if ecosystem is not self.ecosystem:
            raise IndexLookupError(
                self.base_url, f"this {self.kind} index lists no {ecosystem.value} packages"
            )
        key = normalize_name(ecosystem, name)
        if not key:
            raise IndexLookupError(self.base_url, "empty package name")
        known = self._memo.get(key)
        if known is not None:
            return known
        url = self.url_for(key)
        cache_file = self.cache_dir / f"{urllib.parse.quote(key, safe='')}.json"
        cached = _read_cache(cache_file, url)
        if self.offline:
            if cached is None:
                raise IndexLookupError(
                    url, f"not in the index cache {cache_file} and working offline"
                )
            found = cached[1]
        elif cached is not None and time.time() - cached[0] < self.ttl.total_seconds():
            found = cached[1]
        else:
            found = self.parse(url, self._fetch(url, key))
            _write_cache(cache_file, url, found)
        self._memo[key] = found
        return found

    def _fetch(self, url: str, name: str) -> bytes:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise IndexLookupError(url, "only http and https package indexes can be read")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url, headers={"Accept": self.accept, "User-Agent": f"patchpilot/{__version__}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - scheme checked above
                body: bytes = response.read(MAX_BODY_BYTES + 1)
        except urllib.error.HTTPError as e:
            e.close()  # the error holds the open response; release its socket now
            if e.code in (404, 410):
                raise IndexLookupError(
                    url, f"HTTP {e.code} {e.reason}: no package {name!r} on this index"
                ) from e
            raise IndexLookupError(url, f"HTTP {e.code} {e.reason}") from e
        except urllib.error.URLError as e:
            raise IndexLookupError(url, f"cannot connect: {e.reason}") from e
        except (http.client.HTTPException, TimeoutError, OSError, ValueError) as e:
            raise IndexLookupError(url, f"request failed: {e}") from e
        if len(body) > MAX_BODY_BYTES:
            raise IndexLookupError(url, f"response larger than {MAX_BODY_BYTES} bytes")
        return body


class PypiIndex(HttpIndex):
    """PyPI (or a mirror) through the JSON simple API of PEP 691.

    Versions come from file names (wheels and sdists; eggs and installers, which pip no
    longer installs, are left out), so a version counts only if it has an installable file.
    """

    ecosystem = Ecosystem.PYPI
    kind = "pypi"
    accept = _PEP691_JSON
    url_variable = "PATCHPILOT_PYPI_URL"
    default_url = PYPI_URL

    def url_for(self, name: str) -> str:
        return f"{self.base_url}/{urllib.parse.quote(name, safe='')}/"

    def parse(self, url: str, body: bytes) -> tuple[Release, ...]:
        from packaging.utils import (
            InvalidSdistFilename,
            InvalidWheelFilename,
            parse_sdist_filename,
            parse_wheel_filename,
        )
        from packaging.version import InvalidVersion, Version

        document = _json_object(url, body, "a PEP 691 JSON project page")
        meta = document.get("meta")
        api = meta.get("api-version") if isinstance(meta, dict) else None
        if isinstance(api, str) and not api.startswith("1."):
            raise IndexLookupError(url, f"unsupported simple API version {api!r} (reads 1.x)")
        files = document.get("files")
        if not isinstance(files, list):
            raise IndexLookupError(url, "not a PEP 691 project page: no `files` list")
        seen: dict[Version, _Files] = {}
        for i, entry in enumerate(files):
            if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
                raise IndexLookupError(url, f"files[{i}]: expected an object with a filename")
            filename: str = entry["filename"]
            try:
                if filename.endswith(".whl"):
                    version = parse_wheel_filename(filename)[1]
                elif filename.endswith((".tar.gz", ".zip")):
                    version = parse_sdist_filename(filename)[1]
                else:
                    continue
            except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion, ValueError):
                continue  # legacy names that no installer resolves either
            seen.setdefault(version, _Files()).add(entry)
        releases = []
        for version in sorted(seen):
            state = seen[version]
            yanked = state.yanked == state.count
            releases.append(
                Release(
                    version=str(version),
                    yanked=yanked,
                    yanked_reason=state.reason if yanked else None,
                    uploaded=state.uploaded,
                )
            )
        return tuple(releases)


@dataclass(slots=True)
class _Files:
    """What the files of one PyPI version say, gathered while reading the project page."""

    count: int = 0
    yanked: int = 0
    reason: str | None = None
    uploaded: datetime | None = None

    def add(self, entry: dict[str, Any]) -> None:
        self.count += 1
        # PEP 592: `yanked` is false, true, or the reason as a string (true in JSON terms).
        yanked = entry.get("yanked", False)
        if yanked is True or isinstance(yanked, str):
            self.yanked += 1
            if isinstance(yanked, str) and yanked.strip() and self.reason is None:
                self.reason = yanked.strip()
        uploaded = _timestamp(entry.get("upload-time"))
        if uploaded is not None and (self.uploaded is None or uploaded < self.uploaded):
            self.uploaded = uploaded


class NpmIndex(HttpIndex):
    """The npm registry (or a mirror) through its full package document.

    A deprecated version counts as yanked, its deprecation message as the reason: npm cannot
    un-publish old versions, and deprecation is how maintainers say "do not use this".
    """

    ecosystem = Ecosystem.NPM
    kind = "npm"
    accept = "application/json"
    url_variable = "PATCHPILOT_NPM_REGISTRY"
    default_url = NPM_REGISTRY

    def url_for(self, name: str) -> str:
        # Scoped names keep their `@` and encode the slash, as the npm CLI asks for them.
        return f"{self.base_url}/{urllib.parse.quote(name, safe='@')}"

    def parse(self, url: str, body: bytes) -> tuple[Release, ...]:
        document = _json_object(url, body, "an npm package document")
        listed = document.get("versions", {})
        times = document.get("time", {})
        if not isinstance(listed, dict):
            raise IndexLookupError(url, "not an npm package document: `versions` is no object")
        if not isinstance(times, dict):
            times = {}
        keyed = []
        for text, manifest in listed.items():
            version_key = versions.key(versions.Scheme.SEMVER, text)
            if version_key is None:
                continue  # the registry refuses such versions; a mirror might not
            deprecated = manifest.get("deprecated") if isinstance(manifest, dict) else None
            reason = deprecated.strip() if isinstance(deprecated, str) else ""
            release = Release(
                version=text,
                yanked=bool(reason),
                yanked_reason=reason or None,
                uploaded=_timestamp(times.get(text)),
            )
            keyed.append((version_key, release))
        keyed.sort(key=lambda pair: pair[0])
        return tuple(release for _, release in keyed)


class EcosystemIndex(PackageIndex):
    """Routes each ecosystem to the backend that lists its packages."""

    def __init__(self, backends: Mapping[Ecosystem, PackageIndex]) -> None:
        self.backends = dict(backends)

    def supports(self, ecosystem: Ecosystem) -> bool:
        backend = self.backends.get(ecosystem)
        return backend is not None and backend.supports(ecosystem)

    def releases(self, ecosystem: Ecosystem, name: str) -> tuple[Release, ...]:
        backend = self.backends.get(ecosystem)
        if backend is None:
            raise IndexLookupError(
                f"{ecosystem.value}:{name}", f"no package index for {ecosystem.value} packages"
            )
        return backend.releases(ecosystem, name)


def default_index(
    *,
    cache_dir: Path | None = None,
    ttl: timedelta = DEFAULT_TTL,
    offline: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> EcosystemIndex:
    """PyPI and npm at their configured URLs (`PATCHPILOT_PYPI_URL`, `PATCHPILOT_NPM_REGISTRY`)."""
    options: dict[str, Any] = {
        "cache_dir": cache_dir,
        "ttl": ttl,
        "offline": offline,
        "timeout": timeout,
    }
    return EcosystemIndex(
        {Ecosystem.PYPI: PypiIndex(**options), Ecosystem.NPM: NpmIndex(**options)}
    )


def default_cache_dir() -> Path:
    """`index/` in the user's cache directory for patchpilot."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("patchpilot")) / "index"


def _json_object(url: str, body: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise IndexLookupError(url, f"the response is not {what} (invalid JSON: {e})") from e
    if not isinstance(document, dict):
        raise IndexLookupError(url, f"the response is not {what} (no JSON object)")
    return document


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # A time without an offset is read as UTC, the zone both indexes write.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _read_cache(path: Path, url: str) -> tuple[float, tuple[Release, ...]] | None:
    """(fetch time, releases) from a cache file, or None when absent, unreadable or stale-format.

    A damaged cache file is a miss, never an error: the index is the source of truth.
    """
    try:
        data = json.loads(path.read_bytes())
        if data.get("format") != _CACHE_FORMAT or data.get("url") != url:
            return None
        fetched = float(data["fetched"])
        releases = tuple(
            Release(
                version=str(version),
                yanked=bool(yanked),
                yanked_reason=reason if isinstance(reason, str) else None,
                uploaded=_timestamp(uploaded),
            )
            for version, yanked, reason, uploaded in data["releases"]
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    return fetched, releases


def _write_cache(path: Path, url: str, releases: tuple[Release, ...]) -> None:
    data = {
        "format": _CACHE_FORMAT,
        "url": url,
        "fetched": time.time(),
        "releases": [
            [r.version, r.yanked, r.yanked_reason, r.uploaded.isoformat() if r.uploaded else None]
            for r in releases
        ],
    }
    # A cache that cannot be written (read-only home, full disk) only costs speed: the answer
    # in hand is still right, so the plan goes on.
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, separators=(",", ":"))
            Path(temp).replace(path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
