"""Find the files to read under a scan root, read them, and merge their components.

Discovery walks the tree (skipping VCS metadata, virtualenvs, `node_modules` and build
output), picks a reader for each file it knows, and applies two rules users expect: a lockfile
wins over the manifest it locks (the manifest is listed as superseded, not read), and a
requirements file pulled in by another one through `-r`/`-c` is read once, through its
includer. Components found in several files are merged into one, keeping every location.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from patchpilot.errors import SourceError
from patchpilot.events import Reporter
from patchpilot.model import (
    Inventory,
    SourceKind,
    SourceRecord,
    SourceResult,
)
from patchpilot.sources.interface import Source, merge_components
from patchpilot.sources.registry import source_for

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "node_modules",
        "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis",
        "site-packages", "dist", "build", "target", ".eggs", ".idea", ".vscode",
    }
)  # fmt: skip

# Lockfiles and the manifests in the same directory they make redundant.
LOCKS: dict[str, tuple[str, ...]] = {
    "uv.lock": ("pyproject.toml",),
    "poetry.lock": ("pyproject.toml",),
    "Pipfile.lock": ("pyproject.toml",),
    "pylock.toml": ("pyproject.toml",),
}

# Manifests patchpilot does not read because only their lockfile holds exact versions.
UNLOCKED_MANIFESTS: dict[str, str] = {
    "package.json": "package-lock.json",
    "Cargo.toml": "Cargo.lock",
    "Pipfile": "Pipfile.lock",
}


def walk(root: Path) -> Iterator[Path]:
    """Files under `root` in a stable order, pruning directories no project declares deps in."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not (here / d / "pyvenv.cfg").exists()
        )
        for name in sorted(filenames):
            yield here / name


def _lock_of(path: Path) -> str | None:
    name = path.name
    if name.startswith("pylock.") and name.endswith(".toml"):
        return "pylock.toml"
    return name if name in LOCKS else None


def plan_reads(
    root: Path, files: Iterable[Path]
) -> tuple[list[tuple[Path, type[Source]]], list[SourceRecord]]:
    """Which files to read with which reader, and records for the files deliberately not read."""
    found: list[tuple[Path, type[Source]]] = []
    names_by_dir: dict[Path, set[str]] = {}
    for path in files:
        names_by_dir.setdefault(path.parent, set()).add(path.name)
        cls = source_for(path)
        if cls is not None:
            found.append((path, cls))
    superseded: dict[Path, str] = {}
    for path, _ in found:
        lock = _lock_of(path)
        if lock is not None:
            for manifest in LOCKS[lock]:
                superseded.setdefault(path.parent / manifest, path.name)
    reads: list[tuple[Path, type[Source]]] = []
    records: list[SourceRecord] = []
    for path, cls in found:
        if path in superseded:
            records.append(
                SourceRecord(
                    path=str(path),
                    format=cls.format,
                    kind=cls.kind,
                    read=False,
                    note=f"superseded by {superseded[path]} (the lockfile holds exact versions)",
                )
            )
        else:
            reads.append((path, cls))
    for directory, names in sorted(names_by_dir.items()):
        for manifest, lock in UNLOCKED_MANIFESTS.items():
            if manifest in names and lock not in names:
                records.append(
                    SourceRecord(
                        path=str(directory / manifest),
                        format=manifest,
                        kind=SourceKind.MANIFEST,
                        read=False,
                        note=f"not read: no {lock} beside it, so no exact versions to match",
                    )
                )
    return reads, records


def collect(root: Path, reporter: Reporter | None = None) -> Inventory:
    """Read every dependency file under `root` (or `root` itself when it is a file)."""
    reporter = reporter or Reporter()
    if not root.exists():
        raise SourceError(root, None, "no such file or directory")
    if root.is_file():
        cls = source_for(root)
        if cls is None:
            raise SourceError(
                root,
                None,
                "unknown format: not a manifest, lockfile or SBOM patchpilot reads "
                "(see `patchpilot scan --help` for the list)",
            )
        reads: list[tuple[Path, type[Source]]] = [(root, cls)]
        records: list[SourceRecord] = []
    elif root.is_dir():
        reads, records = plan_reads(root, walk(root))
    else:
        raise SourceError(root, None, "not a regular file or directory")

    reporter.start("read", total=len(reads))
    results: list[SourceResult] = []
    for path, cls in reads:
        results.append(cls().read(path))
        reporter.advance("read", detail=str(path))
    reporter.finish("read")

    kept, via_include = _drop_included(results)
    for res in kept:
        records.append(
            SourceRecord(
                path=res.path,
                format=res.format,
                kind=res.kind,
                read=True,
                components=len(res.components),
                note="; ".join(res.notes),
            )
        )
    for res, includer in via_include:
        records.append(
            SourceRecord(
                path=res.path,
                format=res.format,
                kind=res.kind,
                read=True,
                components=len(res.components),
                note=f"read through {includer}",
            )
        )
    records.sort(key=lambda r: r.path)
    components = merge_components(c for res in kept for c in res.components)
    skipped = tuple(s for res in kept for s in res.skipped)
    notes = tuple(dict.fromkeys(n for res in kept for n in res.notes))
    if not records:
        notes = (*notes, f"no manifest, lockfile or SBOM found under {root}")
    return Inventory(
        root=str(root), components=components, skipped=skipped, sources=tuple(records), notes=notes
    )


def _drop_included(
    results: list[SourceResult],
) -> tuple[list[SourceResult], list[tuple[SourceResult, str]]]:
    """Keep top-level files; a file another kept file includes is read through that one.

    Files nobody includes come first; a file inside an include cycle with no outside includer
    is kept when it is the first of its cycle reached, and the rest of the cycle is covered.
    """
    included_by: dict[str, str] = {}
    for res in results:
        for inc in res.includes:
            included_by.setdefault(_key(inc), res.path)
    kept: list[SourceResult] = []
    via_include: list[tuple[SourceResult, str]] = []
    covered: set[str] = set()
    for res in sorted(results, key=lambda r: (_key(r.path) in included_by, r.path)):
        key = _key(res.path)
        if key in covered:
            via_include.append((res, included_by.get(key, "")))
            continue
        kept.append(res)
        covered.add(key)
        covered.update(_key(inc) for inc in res.includes)
    return kept, via_include


def _key(path: str) -> str:
    return str(Path(path).resolve())
