"""Online update: download osv.dev's per-ecosystem `all.zip` files and import them.

Each ecosystem's zip (`{base_url}/{ecosystem}/all.zip`) is streamed to a temporary file with
progress reported as bytes against `Content-Length`, checked to be a zip, and imported like a
local zip (the import log names the URL). Anything that goes wrong while fetching — no
connection, an HTTP error status, a truncated or non-zip body — is a `DownloadError` naming the
URL; the store keeps what it had.
"""

from __future__ import annotations

import http.client
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path

from patchpilot import __version__
from patchpilot.advisories.store import AdvisoryStore, ImportReport
from patchpilot.errors import DownloadError
from patchpilot.events import Reporter

OSV_BASE_URL = "https://osv-vulnerabilities.storage.googleapis.com"
DEFAULT_ECOSYSTEMS = ("PyPI", "npm", "Go", "crates.io")
_CHUNK = 256 * 1024


def zip_url(base_url: str, ecosystem: str) -> str:
    """Where osv.dev publishes the zip of every record of `ecosystem`."""
    return f"{base_url.rstrip('/')}/{urllib.parse.quote(ecosystem, safe='')}/all.zip"


def update(
    store: AdvisoryStore,
    ecosystems: Sequence[str] | None,
    *,
    base_url: str | None = OSV_BASE_URL,
    reporter: Reporter | None = None,
    timeout: float = 60,
) -> list[ImportReport]:
    """Download and import each ecosystem's zip, in order; one `ImportReport` per ecosystem.

    `ecosystems` are OSV ecosystem names (`PyPI`, `crates.io`); None means `DEFAULT_ECOSYSTEMS`.
    `base_url` None means osv.dev's bucket. The first failure stops the update: ecosystems
    imported before it stay imported.
    """
    reporter = reporter or Reporter()
    base_url = base_url or OSV_BASE_URL
    if ecosystems is None:
        ecosystems = DEFAULT_ECOSYSTEMS
    reports: list[ImportReport] = []
    for ecosystem in ecosystems:
        url = zip_url(base_url, ecosystem)
        with tempfile.TemporaryDirectory(prefix="patchpilot-update-") as tmp:
            target = Path(tmp) / "all.zip"
            download(url, target, reporter=reporter, timeout=timeout, label=ecosystem)
            if not zipfile.is_zipfile(target):
                size = target.stat().st_size
                raise DownloadError(f"{url}: the response is not a zip archive ({size} bytes)")
            reports.append(store.import_path(target, kind="zip", label=url, reporter=reporter))
    return reports


def download(
    url: str,
    target: Path,
    *,
    reporter: Reporter | None = None,
    timeout: float = 60,
    label: str = "",
) -> int:
    """Stream `url` into `target`; the number of bytes written. `DownloadError` on failure."""
    reporter = reporter or Reporter()
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise DownloadError(f"{url}: only http and https URLs can be downloaded")
    request = urllib.request.Request(url, headers={"User-Agent": f"patchpilot/{__version__}"})  # noqa: S310 - scheme checked above
    written = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            reporter.start("download", total=total)
            try:
                with target.open("wb") as out:
                    while chunk := response.read(_CHUNK):
                        out.write(chunk)
                        written += len(chunk)
                        reporter.advance("download", len(chunk), label or url)
            finally:
                reporter.finish("download")
            if total is not None and written != total:
                raise DownloadError(f"{url}: download ended after {written} of {total} bytes")
    except urllib.error.HTTPError as e:
        e.close()  # the error carries the open response; release its socket now
        raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from e
    except urllib.error.URLError as e:
        raise DownloadError(f"{url}: cannot connect: {e.reason}") from e
    except (http.client.HTTPException, TimeoutError, OSError, ValueError) as e:
        raise DownloadError(f"{url}: download failed: {e}") from e
    return written
