"""Fixtures for breaking-change tests: one distribution/diff cache per test session.

Distributions are fetched from the real PyPI once per session and shared by every test that
asks for the same version, which keeps the network tests to a few downloads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

ProjectMaker = Callable[[dict[str, str]], Path]


@pytest.fixture(scope="session")
def brk_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory for `fetch`/`diff`/`assess`, shared by the session."""
    return tmp_path_factory.mktemp("breaking-cache")


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectMaker:
    """Writes a small project (relative path → source) under a fresh directory."""
    counter = iter(range(1_000_000))

    def make(files: dict[str, str]) -> Path:
        root = tmp_path / f"project{next(counter)}"
        for relative, text in files.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return root

    return make
