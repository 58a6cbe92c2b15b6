"""Fixtures shared across the test suite.

`osv_store_path` builds one advisory store per test session from the four real OSV zips in
`../shared/osv` (PyPA, Go, RustSec and the GHSA sample); `osv_store` is that store, open.
Tests must not import into it: they get a store of their own for that.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from patchpilot.advisories.store import AdvisoryStore

REPO = Path(__file__).resolve().parents[1]
OSV_DIR = REPO.parent / "shared" / "osv"
OSV_ZIPS = (
    OSV_DIR / "pypa-advisory-database.zip",
    OSV_DIR / "go-vulndb.zip",
    OSV_DIR / "rustsec-advisory-db.zip",
    OSV_DIR / "ghsa-sample.zip",
)


@pytest.fixture(scope="session")
def osv_store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An advisory store file holding every record of the four zips in shared/osv."""
    missing = [str(z) for z in OSV_ZIPS if not z.is_file()]
    if missing:
        pytest.fail(f"real OSV data missing (expected beside the checkout): {', '.join(missing)}")
    path = tmp_path_factory.mktemp("osv-store") / "advisories.sqlite3"
    with AdvisoryStore.open(path, create=True) as store:
        store.import_paths(OSV_ZIPS)
    return path


@pytest.fixture(scope="session")
def osv_store(osv_store_path: Path) -> Iterator[AdvisoryStore]:
    """The session's advisory store, open for lookups."""
    with AdvisoryStore.open(osv_store_path, create=False) as store:
        yield store
