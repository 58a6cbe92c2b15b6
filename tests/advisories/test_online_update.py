"""Online update against a local HTTP server standing in for osv.dev (which tests cannot
reach): a real OSV zip is served from a temporary directory laid out like osv.dev's bucket
(`<ecosystem>/all.zip`); missing ecosystems give 404, and broken bodies are served on purpose.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from patchpilot.advisories.store import AdvisoryStore
from patchpilot.advisories.update import update, zip_url
from patchpilot.errors import DownloadError
from patchpilot.events import RecordingReporter
from patchpilot.model import Ecosystem, NormalizedName

REPO = Path(__file__).resolve().parents[2]
RUSTSEC_ZIP = REPO.parent / "shared" / "osv" / "rustsec-advisory-db.zip"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files from a directory; `/truncated/all.zip` promises more bytes than it sends."""

    def do_GET(self) -> None:
        if self.path == "/truncated/all.zip":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"PK\x03\x04" + b"\x00" * 100)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def local_osv_stand_in(tmp_path: Path) -> Iterator[str]:
    """Base URL of a local stand-in for osv.dev's bucket: crates.io (real zip) and npm (junk)."""
    root = tmp_path / "bucket"
    (root / "crates.io").mkdir(parents=True)
    shutil.copy(RUSTSEC_ZIP, root / "crates.io" / "all.zip")
    (root / "npm").mkdir()
    (root / "npm" / "all.zip").write_bytes(b"<html>Service Unavailable</html>")
    handler = functools.partial(_Handler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_update_downloads_and_imports_from_local_stand_in_for_osv_dev(
    tmp_path: Path, local_osv_stand_in: str
) -> None:
    reporter = RecordingReporter()
    with AdvisoryStore.open(tmp_path / "a.sqlite3", create=True) as store:
        (report,) = update(store, ["crates.io"], base_url=local_osv_stand_in, reporter=reporter)
        url = f"{local_osv_stand_in}/crates.io/all.zip"
        assert report.source == url
        with zipfile.ZipFile(RUSTSEC_ZIP) as archive:
            assert report.imported == len(archive.namelist())
        assert store.status().imports[-1].source == url
        assert store.lookup(Ecosystem.CRATES_IO, NormalizedName("hyper"))
        # Updating again finds nothing new.
        (again,) = update(store, ["crates.io"], base_url=local_osv_stand_in)
        assert again.imported == 0
        assert again.unchanged == report.imported
    size = RUSTSEC_ZIP.stat().st_size
    assert ("start", "download", str(size)) in reporter.calls
    downloaded = sum(int(c[2]) for c in reporter.calls if c[:2] == ("advance", "download"))
    assert downloaded == size
    assert ("finish", "download") in reporter.calls


def test_update_404_from_local_stand_in_names_the_url(
    tmp_path: Path, local_osv_stand_in: str
) -> None:
    with AdvisoryStore.open(tmp_path / "a.sqlite3", create=True) as store:
        update(store, ["crates.io"], base_url=local_osv_stand_in)
        digest = store.digest()
        with pytest.raises(DownloadError) as caught:
            update(store, ["PyPI"], base_url=local_osv_stand_in)
        assert str(caught.value) == f"{local_osv_stand_in}/PyPI/all.zip: HTTP 404 File not found"
        assert store.digest() == digest  # the store keeps what it had
        # No ecosystems named: the defaults, PyPI first.
        with pytest.raises(DownloadError, match=re.escape("/PyPI/all.zip: HTTP 404")):
            update(store, None, base_url=local_osv_stand_in)


def test_update_garbage_body_from_local_stand_in_is_refused(
    tmp_path: Path, local_osv_stand_in: str
) -> None:
    with AdvisoryStore.open(tmp_path / "a.sqlite3", create=True) as store:
        with pytest.raises(DownloadError, match=r"npm/all\.zip: the response is not a zip archive"):
            update(store, ["npm"], base_url=local_osv_stand_in)
        assert store.is_empty()


def test_update_truncated_body_from_local_stand_in(tmp_path: Path, local_osv_stand_in: str) -> None:
    with AdvisoryStore.open(tmp_path / "a.sqlite3", create=True) as store:
        with pytest.raises(DownloadError, match=r"truncated/all\.zip: "):
            update(store, ["truncated"], base_url=local_osv_stand_in)
        assert store.is_empty()


def test_update_without_a_server_names_the_url(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with AdvisoryStore.open(tmp_path / "a.sqlite3", create=True) as store:
        with pytest.raises(DownloadError, match=re.escape(f"{base}/Go/all.zip: cannot connect")):
            update(store, ["Go"], base_url=base, timeout=5)
        with pytest.raises(DownloadError, match="only http and https"):
            update(store, ["Go"], base_url=f"file://{tmp_path}")


def test_zip_urls_follow_the_osv_bucket_layout() -> None:
    base = "https://osv-vulnerabilities.storage.googleapis.com"
    assert zip_url(base, "PyPI") == f"{base}/PyPI/all.zip"
    assert zip_url(base + "/", "crates.io") == f"{base}/crates.io/all.zip"
    assert zip_url(base, "GitHub Actions") == f"{base}/GitHub%20Actions/all.zip"
