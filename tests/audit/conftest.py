"""Fixtures for the ledger tests: a small chain of records in a real SQLite file, the
realistic story ledger of the bundled example (built by ledger_story.py), and three runs of it
(built by ledger_runs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ledger_runs import Scanned, ThreeRuns, build_three_runs, scan_example
from ledger_story import StoryLedger, build_story
from ledger_support import fill

from patchpilot.audit.ledger import LedgerEvent


@pytest.fixture
def six(tmp_path: Path) -> tuple[Path, list[LedgerEvent]]:
    """A ledger file with six events, and the events as appended."""
    path = tmp_path / "ledger.sqlite3"
    return path, fill(path, 6)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> StoryLedger:
    """The bundled example's story; tests must not write to it."""
    return build_story(tmp_path_factory.mktemp("story") / "patchpilot.sqlite3")


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    """The bundled example scanned against its real OSV records."""
    return scan_example(tmp_path_factory.mktemp("scan"))


@pytest.fixture(scope="module")
def three(scanned: Scanned, tmp_path_factory: pytest.TempPathFactory) -> ThreeRuns:
    """Three runs of the bundled example; tests must not write to it."""
    return build_three_runs(tmp_path_factory.mktemp("runs") / "patchpilot.sqlite3", scanned)
