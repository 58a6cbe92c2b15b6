"""Fixtures for the delivery tests: a committed project repository and a directory outside
any repository (helpers in dlv_repos.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dlv_repos import make_repo


@pytest.fixture
def project_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project")


@pytest.fixture
def plain_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory in no git repository: discovery stops at tmp_path, wherever that is."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", os.fspath(tmp_path))
    path = tmp_path / "plain"
    path.mkdir()
    (path / "requirements.txt").write_text("requests==2.25.1\n")
    return path
