"""The package index clients against the real PyPI and npm registry (marked `network`), their
on-disk cache and offline mode, and every failure turned into an `IndexLookupError` naming the
URL: a real 404 from PyPI, a closed port on 127.0.0.1, a real local HTTP server that answers
HTML (a PEP 503-only index) instead of PEP 691 JSON, and junk documents fed to the parsers.
"""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.version import Version

from patchpilot.advisories import versions
from patchpilot.errors import IndexLookupError
from patchpilot.model import Ecosystem
from patchpilot.planning.index import (
    NPM_REGISTRY,
    PYPI_URL,
    NpmIndex,
    PypiIndex,
    Release,
    default_index,
)

# No project of this name exists on PyPI; a 404 for it is the index's real answer.
MISSING = "patchpilot-test-no-such-project-5c1d0e"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index-cache")


def _cache_file(index: PypiIndex | NpmIndex, name: str) -> Path:
    files = list(index.cache_dir.glob(f"{name}.json"))
    assert len(files) == 1
    return files[0]


@pytest.mark.network
def test_pypi_lists_pyyaml_with_yanks_and_upload_times(cache_dir: Path) -> None:
    releases = PypiIndex(PYPI_URL, cache_dir=cache_dir).releases(Ecosystem.PYPI, "PyYAML")
    by_version = {r.version: r for r in releases}
    parsed = [Version(r.version) for r in releases]
    assert parsed == sorted(parsed), "releases come oldest version first"
    assert len(set(parsed)) == len(parsed), "one release per version (sdists and wheels merged)"
    # PyYAML 5.4 (the fix for CVE-2020-14343) was uploaded on 2021-01-19/20.
    five_four = by_version["5.4"]
    assert five_four.uploaded is not None
    assert five_four.uploaded.tzinfo is not None
    assert (
        datetime(2021, 1, 19, tzinfo=UTC) <= five_four.uploaded < datetime(2021, 1, 21, tzinfo=UTC)
    )
    assert not five_four.yanked
    # Every file of 6.0.2rc1 was yanked with a reason (wrong python_requires).
    rc = by_version["6.0.2rc1"]
    assert rc.yanked
    assert rc.yanked_reason
    assert "python_requires" in rc.yanked_reason
    # Pre-releases are listed as versions too; choosing among them is the planner's job.
    assert "5.4b1" in by_version


@pytest.mark.network
def test_npm_lists_minimist(cache_dir: Path) -> None:
    releases = NpmIndex(NPM_REGISTRY, cache_dir=cache_dir).releases(Ecosystem.NPM, "minimist")
    keys = [versions.key(versions.Scheme.SEMVER, r.version) for r in releases]
    assert None not in keys
    assert keys == sorted(keys)  # type: ignore[type-var]
    names = [r.version for r in releases]
    assert {"1.2.0", "1.2.5", "1.2.6"} <= set(names)  # CVE-2021-44906 is fixed in 1.2.6
    assert all(r.uploaded is not None for r in releases)


@pytest.mark.network
def test_cache_answers_repeats_and_offline(cache_dir: Path) -> None:
    online = PypiIndex(PYPI_URL, cache_dir=cache_dir)
    first = online.releases(Ecosystem.PYPI, "pyyaml")
    cache_file = _cache_file(online, "pyyaml")
    fetched = json.loads(cache_file.read_text())["fetched"]
    # A new client within the TTL reads the cache: the fetch time stays the same.
    again = PypiIndex(PYPI_URL, cache_dir=cache_dir).releases(Ecosystem.PYPI, "PyYAML")
    assert again == first
    assert json.loads(cache_file.read_text())["fetched"] == fetched
    # Offline, the cache answers whatever its age.
    offline = PypiIndex(PYPI_URL, cache_dir=cache_dir, offline=True, ttl=timedelta(0))
    assert offline.releases(Ecosystem.PYPI, "pyyaml") == first
    # With no TTL left, the index is asked again and the cache rewritten.
    expired = PypiIndex(PYPI_URL, cache_dir=cache_dir, ttl=timedelta(0))
    assert expired.releases(Ecosystem.PYPI, "pyyaml") == first
    assert json.loads(cache_file.read_text())["fetched"] > fetched


def test_offline_cache_miss_names_the_url(tmp_path: Path) -> None:
    index = PypiIndex(PYPI_URL, cache_dir=tmp_path, offline=True)
    with pytest.raises(IndexLookupError) as caught:
        index.releases(Ecosystem.PYPI, "PyYAML")
    assert caught.value.url == f"{PYPI_URL}/pyyaml/"
    assert "offline" in str(caught.value)


def test_damaged_cache_file_is_a_miss(tmp_path: Path) -> None:
    index = NpmIndex(NPM_REGISTRY, cache_dir=tmp_path, offline=True)
    index.cache_dir.mkdir(parents=True)
    (index.cache_dir / "minimist.json").write_text('{"format": 1, "releases": [[1, 2]]')
    with pytest.raises(IndexLookupError, match="not in the index cache"):
        index.releases(Ecosystem.NPM, "minimist")


def test_cache_is_kept_per_base_url(tmp_path: Path) -> None:
    a = PypiIndex("https://pypi.org/simple", cache_dir=tmp_path)
    b = PypiIndex("https://mirror.example/simple/", cache_dir=tmp_path)
    assert a.cache_dir != b.cache_dir
    assert b.url_for("pyyaml") == "https://mirror.example/simple/pyyaml/"


def test_base_urls_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATCHPILOT_PYPI_URL", "https://pypi.mirror.test/simple/")
    monkeypatch.setenv("PATCHPILOT_NPM_REGISTRY", "https://npm.mirror.test")
    index = default_index(cache_dir=Path("unused"))
    assert PypiIndex().url_for("pyyaml") == "https://pypi.mirror.test/simple/pyyaml/"
    assert NpmIndex().url_for("@babel/core") == "https://npm.mirror.test/@babel%2Fcore"
    assert index.supports(Ecosystem.PYPI)
    assert index.supports(Ecosystem.NPM)
    assert not index.supports(Ecosystem.GO)


def test_ecosystem_without_an_index(tmp_path: Path) -> None:
    with pytest.raises(IndexLookupError, match="no package index for Go"):
        default_index(cache_dir=tmp_path).releases(Ecosystem.GO, "golang.org/x/net")
    with pytest.raises(IndexLookupError, match="lists no npm packages"):
        PypiIndex(cache_dir=tmp_path).releases(Ecosystem.NPM, "minimist")


@pytest.mark.network
def test_unknown_pypi_project_is_a_404_naming_the_url(tmp_path: Path) -> None:
    index = PypiIndex(PYPI_URL, cache_dir=tmp_path)
    with pytest.raises(IndexLookupError) as caught:
        index.releases(Ecosystem.PYPI, MISSING)
    assert caught.value.url == f"{PYPI_URL}/{MISSING}/"
    assert "404" in str(caught.value)
    assert MISSING in str(caught.value)


def test_unreachable_index_names_the_url(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The socket is closed again: nothing listens on that port now.
    base = f"http://127.0.0.1:{port}/simple"
    index = PypiIndex(base, cache_dir=tmp_path, timeout=5)
    with pytest.raises(IndexLookupError) as caught:
        index.releases(Ecosystem.PYPI, "pyyaml")
    assert caught.value.url == f"{base}/pyyaml/"
    assert "cannot connect" in str(caught.value)
    assert not list(tmp_path.rglob("*.json")), "a failure caches nothing"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def html_index(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving a PEP 503 (HTML-only) simple index."""
    page = tmp_path / "www" / "simple" / "pyyaml"
    page.mkdir(parents=True)
    (page / "index.html").write_text(
        '<!DOCTYPE html><html><body><a href="PyYAML-5.4.tar.gz">PyYAML-5.4.tar.gz</a>'
        "</body></html>\n"
    )
    handler = functools.partial(_QuietHandler, directory=str(tmp_path / "www"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_html_answer_is_not_json(html_index: str, tmp_path: Path) -> None:
    index = PypiIndex(html_index, cache_dir=tmp_path / "cache")
    with pytest.raises(IndexLookupError) as caught:
        index.releases(Ecosystem.PYPI, "pyyaml")
    assert caught.value.url == f"{html_index}/pyyaml/"
    assert "PEP 691" in str(caught.value)


def test_pypi_document_rules() -> None:
    url = "https://pypi.org/simple/demo/"
    body = {
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "files": [
            {"filename": "demo-1.0.tar.gz", "yanked": False, "upload-time": "2020-01-02T00:00:00Z"},
            {"filename": "demo-1.0-py3-none-any.whl", "upload-time": "2020-01-01T10:00:00Z"},
            {"filename": "demo-1.1.tar.gz", "yanked": "broken build"},
            {"filename": "demo-1.1-py3-none-any.whl", "yanked": True},
            {"filename": "demo-1.2.tar.gz", "yanked": "bad"},
            {"filename": "demo-1.2-py3-none-any.whl", "yanked": False},
            {"filename": "demo-0.9.win32.exe"},
            {"filename": "demo-0.9-py2.7.egg"},
        ],
    }
    releases = PypiIndex(PYPI_URL).parse(url, json.dumps(body).encode())
    assert releases == (
        Release("1.0", False, None, datetime(2020, 1, 1, 10, tzinfo=UTC)),
        Release("1.1", True, "broken build", None),
        Release("1.2", False, None, None),  # one file left unyanked: still installable
    )
    with pytest.raises(IndexLookupError, match="simple API version"):
        PypiIndex(PYPI_URL).parse(url, b'{"meta": {"api-version": "2.0"}, "files": []}')


def test_npm_document_rules() -> None:
    url = "https://registry.npmjs.org/demo"
    body = {
        "name": "demo",
        "versions": {
            "1.0.0": {"deprecated": "use 2.x"},
            "0.1.0": {},
            "2.0.0-beta.1": {"deprecated": ""},
        },
        "time": {"created": "2020", "1.0.0": "2020-05-01T00:00:00.000Z"},
    }
    releases = NpmIndex(NPM_REGISTRY).parse(url, json.dumps(body).encode())
    assert [r.version for r in releases] == ["0.1.0", "1.0.0", "2.0.0-beta.1"]
    assert releases[1] == Release("1.0.0", True, "use 2.x", datetime(2020, 5, 1, tzinfo=UTC))
    assert not releases[2].yanked  # an empty message means un-deprecated
    unpublished = {"name": "gone", "time": {"unpublished": {"time": "2021-01-01"}}}
    assert NpmIndex(NPM_REGISTRY).parse(url, json.dumps(unpublished).encode()) == ()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_keys = st.sampled_from(["files", "filename", "yanked", "upload-time", "meta", "versions", "time"])
_documents = st.dictionaries(_keys, _json, max_size=4) | _json


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(st.one_of(_documents.map(lambda d: json.dumps(d).encode()), st.binary(max_size=64)))
def test_junk_documents_give_only_index_errors(body: bytes) -> None:
    for index in (PypiIndex(PYPI_URL), NpmIndex(NPM_REGISTRY)):
        url = index.url_for("junk")
        try:
            releases = index.parse(url, body)
        except IndexLookupError as e:
            assert e.url == url
            continue
        assert all(isinstance(r, Release) for r in releases)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "filename": st.sampled_from(
                    [
                        "x-1.0.tar.gz",
                        "x-1.0-py3-none-any.whl",
                        "x-2.0.zip",
                        "x-junk.tar.gz",
                        "x.whl",
                    ]
                ),
                "yanked": st.one_of(st.booleans(), st.text(max_size=5), st.integers()),
                "upload-time": st.one_of(st.text(max_size=25), st.none(), st.integers()),
            }
        ),
        max_size=6,
    )
)
def test_junk_pypi_files_give_releases_or_index_errors(files: list[dict[str, object]]) -> None:
    body = json.dumps({"meta": {"api-version": "1.0"}, "files": files}).encode()
    releases = PypiIndex(PYPI_URL).parse("https://pypi.org/simple/x/", body)
    assert [r.version for r in releases] == sorted({r.version for r in releases}, key=Version)
