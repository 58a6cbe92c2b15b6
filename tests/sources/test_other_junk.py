"""Junk fed to the npm, Cargo, Go and SBOM readers ends in a `SourceError` or a result.

Random text and bytes, random JSON/TOML documents (also under the right format header),
go.mod-shaped token soup, and real assets with one value anywhere in them replaced by junk:
nothing but a result or the project's own error may come out.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchpilot.errors import SourceError
from patchpilot.model import SourceResult
from patchpilot.sources.cargo_lock import CargoLockSource
from patchpilot.sources.cyclonedx import CycloneDxSource
from patchpilot.sources.go_mod import GoModSource
from patchpilot.sources.interface import Source
from patchpilot.sources.npm_lock import NpmLockSource
from patchpilot.sources.spdx import SpdxSource

ASSETS = Path(__file__).parent.parent / "assets" / "sources" / "other"

READERS: list[tuple[type[Source], str]] = [
    (NpmLockSource, "package-lock.json"),
    (CargoLockSource, "Cargo.lock"),
    (GoModSource, "go.mod"),
    (CycloneDxSource, "bom.cdx.json"),
    (SpdxSource, "sbom.spdx.json"),
]

# Real documents to corrupt: (reader, file name, asset).
REAL: list[tuple[type[Source], str, Path]] = [
    (NpmLockSource, "package-lock.json", ASSETS / "npm-v1" / "package-lock.json"),
    (NpmLockSource, "package-lock.json", ASSETS / "npm-v3" / "package-lock.json"),
    (NpmLockSource, "package-lock.json", ASSETS / "npm-workspace" / "package-lock.json"),
    (NpmLockSource, "package-lock.json", ASSETS / "npm-local" / "app" / "package-lock.json"),
    (CargoLockSource, "Cargo.lock", ASSETS / "cargo-v2" / "Cargo.lock"),
    (CycloneDxSource, "bom.cdx.json", ASSETS / "sbom" / "py-env-1.6.cdx.json"),
    (CycloneDxSource, "bom.cdx.json", ASSETS / "sbom" / "cyclonedx-npm-1.6.cdx.json"),
    (CycloneDxSource, "bom.cdx.json", ASSETS / "sbom" / "py-req-1.5.cdx.json"),
    (SpdxSource, "sbom.spdx.json", ASSETS / "sbom" / "npm-sbom.spdx.json"),
    (SpdxSource, "sbom.spdx.json", ASSETS / "sbom" / "sbom4rust-sudoku.spdx.json"),
]

# Documents carrying the right format marker, so junk reaches past the first checks.
HEADERS: list[tuple[type[Source], str, dict[str, Any]]] = [
    (NpmLockSource, "package-lock.json", {"lockfileVersion": 3}),
    (NpmLockSource, "package-lock.json", {"lockfileVersion": 1}),
    (CycloneDxSource, "bom.cdx.json", {"bomFormat": "CycloneDX", "specVersion": "1.6"}),
    (SpdxSource, "sbom.spdx.json", {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"}),
    (CargoLockSource, "Cargo.lock", {"version": 3}),
]

GO_BITS = [
    "module", "go", "toolchain", "require", "replace", "exclude", "retract", "godebug", "tool",
    " ", "\t", "\n", "(", ")", "[", "]", ",", "=>", "//", "// indirect", "indirect;", '"', "`",
    "\\", "example.com/m", "golang.org/x/net", "./local", "../up", "/abs", "C:\\x",
    "v1.2.3", "v0.0.0-20190311183353-d8887717615a", "v2.0.0+incompatible", "1.21", "1.21rc2",
    "go1.22.3", "default", "master", "\x00", "\ufeff", "\r\n",
]  # fmt: skip

JUNK = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        ["node_modules/x", "", "SPDXRef-DOCUMENT", "DEPENDS_ON", "pkg:npm/x@1.0.0",
         "registry+https://github.com/rust-lang/crates.io-index", "x 1.0.0", "1.0.0", "npm:y@2"]
    ),
)  # fmt: skip
structures = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
documents = st.dictionaries(st.text(max_size=10), structures, max_size=5)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("junk")


def attempt(reader: type[Source], path: Path) -> SourceResult | SourceError:
    """Read `path`; only a result or a `SourceError` naming the file may come out."""
    try:
        res = reader().read(path)
    except SourceError as e:
        assert str(e).startswith(str(e.path))
        return e
    assert isinstance(res, SourceResult)
    for comp in res.components:
        assert comp.name
        assert comp.version
        assert comp.purl.startswith("pkg:")
        assert all(loc.path == str(path) for loc in comp.locations)
    return res


def _tomlable(value: Any) -> Any:
    # TOML has no null: junk None becomes an empty string there.
    if value is None:
        return ""
    if isinstance(value, dict):
        return {k: _tomlable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tomlable(v) for v in value]
    return value


def _dump(name: str, doc: Any) -> str:
    if name == "Cargo.lock":
        return tomlkit.dumps(_tomlable(doc))
    return json.dumps(doc, default=str)


@pytest.mark.parametrize(("reader", "name"), READERS)
@JUNK
@given(text=st.text(max_size=300))
def test_random_text(workdir: Path, reader: type[Source], name: str, text: str) -> None:
    path = workdir / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    attempt(reader, path)


@pytest.mark.parametrize(("reader", "name"), READERS)
@JUNK
@given(data=st.binary(max_size=300))
def test_random_bytes(workdir: Path, reader: type[Source], name: str, data: bytes) -> None:
    path = workdir / name
    path.write_bytes(data)
    attempt(reader, path)


@pytest.mark.parametrize(("reader", "name"), [r for r in READERS if r[1] != "go.mod"])
@JUNK
@given(doc=documents)
def test_random_documents(
    workdir: Path, reader: type[Source], name: str, doc: dict[str, Any]
) -> None:
    path = workdir / name
    path.write_text(_dump(name, doc), encoding="utf-8", errors="surrogatepass")
    attempt(reader, path)


@pytest.mark.parametrize(("reader", "name", "header"), HEADERS)
@JUNK
@given(doc=documents)
def test_random_documents_with_a_format_header(
    workdir: Path, reader: type[Source], name: str, header: dict[str, Any], doc: dict[str, Any]
) -> None:
    path = workdir / name
    path.write_text(_dump(name, {**doc, **header}), encoding="utf-8", errors="surrogatepass")
    attempt(reader, path)


@JUNK
@given(bits=st.lists(st.sampled_from(GO_BITS) | st.text(max_size=5), max_size=50))
def test_go_mod_shaped_junk(workdir: Path, bits: list[str]) -> None:
    path = workdir / "go.mod"
    path.write_text("".join(bits), encoding="utf-8", errors="surrogatepass")
    attempt(GoModSource, path)


@JUNK
@given(data=st.data())
def test_real_go_mod_with_one_line_replaced(workdir: Path, data: st.DataObject) -> None:
    lines = (ASSETS / "go-silk" / "go.mod").read_text(encoding="utf-8").splitlines()
    i = data.draw(st.integers(0, len(lines) - 1), label="line")
    bits = data.draw(st.lists(st.sampled_from(GO_BITS), max_size=8), label="junk")
    lines[i] = " ".join(bits)
    path = workdir / "go.mod"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    attempt(GoModSource, path)


def _corrupt(value: Any, data: st.DataObject) -> Any:
    """`value` with one node, chosen by hypothesis, replaced by a junk structure."""
    if isinstance(value, dict) and value and data.draw(st.booleans(), label="descend"):
        key = data.draw(st.sampled_from(sorted(value)), label="key")
        return {**value, key: _corrupt(value[key], data)}
    if isinstance(value, list) and value and data.draw(st.booleans(), label="descend"):
        i = data.draw(st.integers(0, len(value) - 1), label="index")
        return [*value[:i], _corrupt(value[i], data), *value[i + 1 :]]
    return data.draw(structures, label="junk")


@pytest.mark.parametrize(("reader", "name", "asset"), REAL, ids=lambda v: str(v).split("/")[-1])
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_real_documents_with_one_value_corrupted(
    workdir: Path, reader: type[Source], name: str, asset: Path, data: st.DataObject
) -> None:
    text = asset.read_text(encoding="utf-8")
    doc = tomllib.loads(text) if name == "Cargo.lock" else json.loads(text)
    broken = _corrupt(doc, data)
    if not isinstance(broken, dict):
        broken = {"root": broken}
    path = workdir / name
    path.write_text(_dump(name, broken), encoding="utf-8", errors="surrogatepass")
    attempt(reader, path)
