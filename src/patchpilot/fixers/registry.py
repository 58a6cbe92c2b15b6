"""Which fixer edits which lockfile format, imported lazily like the readers."""

from __future__ import annotations

import importlib

from patchpilot.fixers.interface import LockFixer

_FIXERS: dict[str, tuple[str, str]] = {
    "uv.lock": ("uv_lock", "UvLockFixer"),
    "requirements.txt": ("requirements_txt", "RequirementsFixer"),
    "poetry.lock": ("poetry_lock", "PoetryLockFixer"),
    "package-lock.json": ("npm_lock", "NpmLockFixer"),
}


def fixer_for(fmt: str) -> LockFixer | None:
    """A fixer instance for the reader format `fmt`, or None when patchpilot has none."""
    entry = _FIXERS.get(fmt)
    if entry is None:
        return None
    module, name = entry
    cls: type[LockFixer] = getattr(importlib.import_module(f"patchpilot.fixers.{module}"), name)
    return cls()


def supported_formats() -> tuple[str, ...]:
    return tuple(_FIXERS)
