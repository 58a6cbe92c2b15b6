"""Findings of the `saltapp` test project (tests/assets/assess/project), scanned for real.

The project pins old salt, jinja2 and PyYAML releases; the scan runs the real inventory readers
and matcher against the session's advisory store built from the real OSV zips in shared/osv.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from patchpilot import engine
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.model import Finding

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "assess"
PROJECT = ASSETS / "project"
KEV_FILE = (
    Path(__file__).resolve().parents[3] / "shared" / "kev" / "known_exploited_vulnerabilities.json"
)


@pytest.fixture(scope="session")
def saltapp_findings(osv_store: AdvisoryStore) -> tuple[Finding, ...]:
    findings = engine.scan(PROJECT, osv_store).findings
    assert {f.component.name for f in findings} == {"salt", "jinja2", "pyyaml"}
    return findings


@pytest.fixture(scope="session")
def kev_file() -> Path:
    if not KEV_FILE.is_file():
        pytest.fail(f"real KEV catalog missing (expected beside the checkout): {KEV_FILE}")
    return KEV_FILE
