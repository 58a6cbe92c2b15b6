"""Distributions from the package index, unpacked into source trees that can be read statically.

`fetch(name, version, cache_dir)` returns a directory holding the distribution's importable
packages and modules (the directory to put on a static loader's search path). A wheel is
preferred (pure-Python, or one built for this interpreter), fetched with the environment's own
`pip download --only-binary=:all:` so that pip's index configuration applies; when no wheel
fits, the sdist is taken from the index's PEP 691 JSON listing and checked against its
sha256. Nothing from a distribution is ever executed: pip is never asked for an sdist (it
would run the build backend to read metadata), archives are unpacked member by member with
paths checked, and only Python sources and packaging metadata are kept. Trees are cached
under `cache_dir/dists/<name>/<version>/` and reused. `import_names(tree)` says which
top-level names the distribution provides (`PyYAML` → `yaml`), from `top_level.txt` or the
wheel's `RECORD`, else from the tree itself. Every failure is a `BreakingError` naming the
package and version.
"""

from __future__ import annotations

import ast
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from patchpilot import __version__
from patchpilot.errors import BreakingError

DEFAULT_INDEX = "https://pypi.org/simple"
TIMEOUT = 60.0
# Source trees only need Python files and the metadata that names the import packages.
_KEPT_SUFFIXES = (".py", ".pyi")
_KEPT_METADATA = ("top_level.txt", "RECORD")
_MAX_ARCHIVE_BYTES = 512 * 1024 * 1024
_DONE = ".patchpilot-tree-v2"
_PEP691_JSON = "application/vnd.pypi.simple.v1+json"
# Directories of an sdist that hold tests, docs or tooling rather than the shipped packages.
_NOT_SHIPPED = frozenset(
    {"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks", "bench"}
    | {"scripts", "tools", "build", "dist", "ci", ".github", "packaging", "setup"}
)


def fetch(name: str, version: str, cache_dir: Path) -> Path:
    """The unpacked source tree of `name==version`, downloading it on first use."""
    key = canonicalize_name(name)
    try:
        spelled = str(Version(version))
    except InvalidVersion as e:
        raise BreakingError(name, version, "not a valid version") from e
    home = cache_dir / "dists" / key / spelled
    tree = home / "tree"
    if (tree / _DONE).is_file():
        return tree
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BreakingError(name, version, f"cannot create cache directory {home}: {e}") from e
    with tempfile.TemporaryDirectory(dir=home, prefix="fetch-") as scratch:
        work = Path(scratch)
        archive = _download_wheel(name, spelled, work / "wheel")
        if archive is None:
            archive = _download_sdist(name, spelled, work / "sdist")
        unpacked = work / "tree"
        if archive.name.endswith(".whl"):
            _unpack_wheel(name, spelled, archive, unpacked)
        else:
            _unpack_sdist(name, spelled, archive, unpacked)
        _mark_namespace_subpackages(unpacked)
        (unpacked / _DONE).write_text(archive.name + "\n", encoding="utf-8")
        if tree.exists():
            shutil.rmtree(tree)
        unpacked.rename(tree)
    return tree


def archive_name(tree: Path) -> str:
    """The file name of the wheel or sdist a cached tree was made from."""
    marker = tree / _DONE
    return marker.read_text(encoding="utf-8").strip() if marker.is_file() else ""


def import_names(tree: Path) -> tuple[str, ...]:
    """Top-level import names a tree provides, sorted (`yaml` and `_yaml` for PyYAML).

    `top_level.txt` is the distribution's own statement; without it, the first path segment
    of every Python file in `RECORD`; without that, the packages and modules in the tree.
    """
    names: set[str] = set()
    for meta in sorted(tree.glob("*.dist-info")) + sorted(tree.glob("*.egg-info")):
        top = meta / "top_level.txt"
        if top.is_file():
            names.update(
                line.strip().replace("/", ".").split(".")[0]
                for line in top.read_text(encoding="utf-8", errors="replace").splitlines()
                if line.strip()
            )
    if not names:
        for record in sorted(tree.glob("*.dist-info/RECORD")):
            for line in record.read_text(encoding="utf-8", errors="replace").splitlines():
                path = PurePosixPath(line.split(",", 1)[0])
                if path.suffix in _KEPT_SUFFIXES and path.parts and ".." not in path.parts:
                    first = path.parts[0]
                    names.add(first if len(path.parts) > 1 else path.stem)
    present = {
        child.name if child.is_dir() else child.stem
        for child in tree.iterdir()
        if (child.is_dir() and (child / "__init__.py").is_file())
        or (child.is_file() and child.suffix == ".py")
    }
    if names:
        # `top_level.txt` may list modules that were not shipped as Python (C extensions).
        kept = {n for n in names if n in present or (tree / n).is_dir()}
        return tuple(sorted(kept or names))
    return tuple(sorted(n for n in present if n.isidentifier() and n not in ("setup", "conftest")))


def _mark_namespace_subpackages(tree: Path) -> None:
    """Give every sub-directory of a package that holds Python files an empty `__init__.py`.

    Python imports such directories as implicit namespace packages (Flask 3's `flask/sansio/`),
    but a static loader only descends into directories with an `__init__.py`; without one the
    classes defined there, and everything other classes inherit from them, would look removed.
    """
    tops = [p for p in sorted(tree.iterdir()) if (p / "__init__.py").is_file()]
    for top in tops:
        for directory in sorted(p for p in top.rglob("*") if p.is_dir()):
            marker = directory / "__init__.py"
            if not marker.exists() and any(directory.glob("*.py")):
                marker.write_bytes(b"")


def _download_wheel(name: str, version: str, dest: Path) -> Path | None:
    """A wheel from pip for this interpreter, or None when the index has none that fits."""
    dest.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--dest",
        str(dest),
        f"{name}=={version}",
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT * 5, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BreakingError(name, version, f"pip download failed: {e}") from e
    wheels = sorted(dest.glob("*.whl"))
    if done.returncode == 0 and wheels:
        return wheels[0]
    text = done.stderr + done.stdout
    if "No module named pip" in text:
        return _download_from_index(name, version, dest, wheel=True)
    if "No matching distribution" in text or "Could not find a version" in text:
        return None
    last = [line for line in text.strip().splitlines() if line.strip()][-1:] or ["no output"]
    raise BreakingError(name, version, f"pip download failed: {last[0].strip()}")


def _download_sdist(name: str, version: str, dest: Path) -> Path:
    found = _download_from_index(name, version, dest, wheel=False)
    if found is None:
        raise BreakingError(name, version, "the index has neither a usable wheel nor an sdist")
    return found


def _index_url() -> str:
    return os.environ.get("PIP_INDEX_URL", DEFAULT_INDEX).rstrip("/")


def _get(url: str, name: str, version: str, accept: str | None = None) -> bytes:
    headers = {"User-Agent": f"patchpilot/{__version__}"}
    if accept:
        headers["Accept"] = accept
    if not url.startswith(("https://", "http://")):
        raise BreakingError(name, version, f"refusing to fetch {url!r}: not an http(s) URL")
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked above)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            body: bytes = response.read(_MAX_ARCHIVE_BYTES + 1)
    except urllib.error.HTTPError as e:
        raise BreakingError(name, version, f"{url}: HTTP {e.code}") from e
    except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as e:
        raise BreakingError(name, version, f"{url}: {e}") from e
    if len(body) > _MAX_ARCHIVE_BYTES:
        raise BreakingError(name, version, f"{url}: larger than {_MAX_ARCHIVE_BYTES} bytes")
    return body


def _download_from_index(name: str, version: str, dest: Path, *, wheel: bool) -> Path | None:
    """The sdist (or a compatible wheel) of `name==version` from the PEP 691 listing."""
    from packaging.tags import sys_tags

    url = f"{_index_url()}/{canonicalize_name(name)}/"
    body = _get(url, name, version, accept=_PEP691_JSON)
    try:
        listing = json.loads(body)
        files = listing["files"]
        if not isinstance(files, list):
            raise TypeError("files is not a list")
    except (ValueError, KeyError, TypeError) as e:
        raise BreakingError(name, version, f"{url}: not a PEP 691 JSON listing: {e}") from e
    wanted = canonicalize_version(version)
    supported = {str(tag) for tag in sys_tags()} if wheel else set()
    for entry in files:
        if not isinstance(entry, dict) or entry.get("yanked") not in (None, False):
            continue
        filename = str(entry.get("filename", ""))
        try:
            if wheel:
                if not filename.endswith(".whl"):
                    continue
                _, got, _, tags = parse_wheel_filename(filename)
                if not {str(t) for t in tags} & supported:
                    continue
            else:
                if not filename.endswith((".tar.gz", ".zip")):
                    continue
                _, got = parse_sdist_filename(filename)
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
        if canonicalize_version(got) != wanted:
            continue
        file_url = urllib.parse.urljoin(url, str(entry.get("url", "")))
        data = _get(file_url, name, version)
        hashes = entry.get("hashes") or {}
        expected = hashes.get("sha256") if isinstance(hashes, dict) else None
        if expected and hashlib.sha256(data).hexdigest() != expected:
            raise BreakingError(name, version, f"{filename}: sha256 does not match the index")
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / PurePosixPath(filename).name
        target.write_bytes(data)
        return target
    return None


def _safe_member(raw: str) -> PurePosixPath | None:
    """The member's relative path, or None for absolute paths and `..` escapes."""
    path = PurePosixPath(raw.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return path


def _kept(path: PurePosixPath) -> bool:
    if path.suffix in _KEPT_SUFFIXES:
        return True
    return path.name in _KEPT_METADATA and path.parent.name.endswith((".dist-info", ".egg-info"))


def _unpack_wheel(name: str, version: str, archive: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                path = _safe_member(info.filename)
                if path is None or info.is_dir() or not _kept(path):
                    continue
                # `pkg-1.0.data/purelib/...` holds files installed next to the packages.
                if len(path.parts) > 2 and path.parts[0].endswith(".data"):
                    if path.parts[1] not in ("purelib", "platlib"):
                        continue
                    path = PurePosixPath(*path.parts[2:])
                target = dest.joinpath(*path.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise BreakingError(name, version, f"{archive.name}: cannot unpack wheel: {e}") from e


def _unpack_sdist(name: str, version: str, archive: Path, dest: Path) -> None:
    raw = dest.parent / "sdist-raw"
    raw.mkdir(parents=True)
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    path = _safe_member(info.filename)
                    if path is None or info.is_dir() or not _kept(path):
                        continue
                    target = raw.joinpath(*path.parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(zf.read(info))
        else:
            with tarfile.open(archive, "r:*") as tf:
                for member in tf:
                    path = _safe_member(member.name)
                    if path is None or not member.isfile() or not _kept(path):
                        continue
                    source = tf.extractfile(member)
                    if source is None:
                        continue
                    target = raw.joinpath(*path.parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(source.read())
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as e:
        raise BreakingError(name, version, f"{archive.name}: cannot unpack sdist: {e}") from e
    tops = [child for child in raw.iterdir() if child.is_dir()]
    project = tops[0] if len(tops) == 1 else raw
    root = _source_root(project, canonicalize_name(name))
    if root is None:
        raise BreakingError(name, version, f"{archive.name}: no Python package found in the sdist")
    shutil.copytree(root, dest)
    for meta in sorted(project.glob("*.egg-info")) + sorted(project.glob("src/*.egg-info")):
        if not (dest / meta.name).exists():
            shutil.copytree(meta, dest / meta.name)


def _parses(path: Path) -> bool:
    """Whether a file is Python 3 source (an sdist may also ship a Python 2 copy)."""
    try:
        ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return False
    return True


def _source_root(project: Path, key: str) -> Path | None:
    """The directory of an unpacked sdist whose children are the importable packages.

    Candidates are `src/`, the project directory, and any other directory holding a
    top-level package (PyYAML 5 keeps `lib/` and `lib3/`); the one whose packages match the
    distribution's name and whose files all parse as Python 3 wins (an `__init__.py` with
    implicit relative imports parses either way; the modules beside it tell), then the one
    with the most packages.
    """
    candidates: dict[Path, list[Path]] = {}
    for init in sorted(project.rglob("__init__.py")):
        package = init.parent
        relative = package.relative_to(project).parts
        if (package.parent / "__init__.py").is_file() or any(
            part in _NOT_SHIPPED or part.startswith(".") for part in relative
        ):
            continue
        candidates.setdefault(package.parent, []).append(package)
    for module in sorted(project.glob("*.py")) + sorted(project.glob("src/*.py")):
        if module.stem not in ("setup", "conftest", "noxfile", "fabfile"):
            candidates.setdefault(module.parent, []).append(module)
    if not candidates:
        return None

    def score(item: tuple[Path, list[Path]]) -> tuple[int, int, int, int]:
        root, packages = item
        named = any(canonicalize_name(p.stem) in (key, key.removeprefix("py")) for p in packages)
        files = [f for p in packages for f in ([p] if p.is_file() else sorted(p.rglob("*.py")))]
        broken = sum(1 for f in files if not _parses(f))
        return (-broken, int(named), len(packages), -len(root.parts))

    return max(candidates.items(), key=score)[0]
