"""The formats patchpilot reads, in one list, imported lazily.

Each entry names the module and class of a `Source`; modules are imported the first time a
file of that kind is seen, so a scan of a Python project never imports the npm or SBOM readers.
Order matters where names overlap: lockfiles before manifests, SBOM sniffing last.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

from patchpilot.sources.interface import Source

_SOURCES: tuple[tuple[str, str], ...] = (
    ("uv_lock", "UvLockSource"),
    ("poetry_lock", "PoetryLockSource"),
    ("pipfile_lock", "PipfileLockSource"),
    ("pylock", "PylockSource"),
    ("npm_lock", "NpmLockSource"),
    ("cargo_lock", "CargoLockSource"),
    ("go_mod", "GoModSource"),
    ("pyproject", "PyprojectSource"),
    ("requirements_txt", "RequirementsTxtSource"),
    ("cyclonedx", "CycloneDxSource"),
    ("spdx", "SpdxSource"),
)


@cache
def source_class(module: str, name: str) -> type[Source]:
    mod = importlib.import_module(f"patchpilot.sources.{module}")
    cls: type[Source] = getattr(mod, name)
    return cls


def all_sources() -> tuple[type[Source], ...]:
    return tuple(source_class(module, name) for module, name in _SOURCES)


def source_for(path: Path) -> type[Source] | None:
    """The reader for `path`, or None when patchpilot does not know the file."""
    for cls in all_sources():
        if cls.matches(path):
            return cls
    return None
