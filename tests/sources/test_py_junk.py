"""Junk fed to every Python reader ends in a `SourceError` or a result, never anything else.

Random text and bytes, random JSON/TOML documents, and real assets with one value anywhere
in them replaced by junk (the shape errors a hand-edited or half-merged lockfile has).
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
from patchpilot.sources.interface import Source
from patchpilot.sources.pipfile_lock import PipfileLockSource
from patchpilot.sources.poetry_lock import PoetryLockSource
from patchpilot.sources.pylock import PylockSource
from patchpilot.sources.pyproject import PyprojectSource
from patchpilot.sources.requirements_txt import RequirementsTxtSource
from patchpilot.sources.uv_lock import UvLockSource

ASSETS = Path(__file__).parent.parent / "assets" / "sources" / "python"

READERS: list[tuple[type[Source], str]] = [
    (RequirementsTxtSource, "requirements.txt"),
    (PyprojectSource, "pyproject.toml"),
    (UvLockSource, "uv.lock"),
    (PoetryLockSource, "poetry.lock"),
    (PipfileLockSource, "Pipfile.lock"),
    (PylockSource, "pylock.toml"),
]

# Real documents to corrupt: (reader, file name, asset).
REAL: list[tuple[type[Source], str, Path]] = [
    (PyprojectSource, "pyproject.toml", ASSETS / "uv-app" / "pyproject.toml"),
    (PyprojectSource, "pyproject.toml", ASSETS / "poetry1" / "pyproject.toml"),
    (PyprojectSource, "pyproject.toml", ASSETS / "poetry2" / "pyproject.toml"),
    (UvLockSource, "uv.lock", ASSETS / "uv-app" / "uv.lock"),
    (PoetryLockSource, "poetry.lock", ASSETS / "poetry1" / "poetry.lock"),
    (PoetryLockSource, "poetry.lock", ASSETS / "poetry2" / "poetry.lock"),
    (PipfileLockSource, "Pipfile.lock", ASSETS / "pipenv" / "Pipfile.lock"),
    (PylockSource, "pylock.toml", ASSETS / "pylock" / "pylock.pip.toml"),
]

JUNK = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

REQUIREMENT_BITS = [
    "-r", "-c", "-e", "-i", "--hash=sha256:00", "--requirement=", "-rrequirements.txt",
    "requests", "Jinja2", "pkg[extra]", "==", "===", ">=", "~=", "1.0", "1.*", ",", "[", "]",
    ";", "python_version", "<", '"3.8"', "'", "\\", "\n", "\r\n", "#", " ", "  ", "@",
    "git+https://x/y.git#egg=z", "https://u:p@h/p", "file:///tmp/x", "./x", "../x.whl",
    "${X}", "    # via", "#   ", "requests\n", "requirements.txt", "constraints.txt",
    "*", ".", "\x00", "\ufeff", "--no-binary", ":all:", "--unknown",
]  # fmt: skip

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
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
    """Read `path`; only a result or a `SourceError` naming a file may come out."""
    try:
        res = reader().read(path)
    except SourceError as e:
        assert str(e).startswith(str(e.path))
        return e
    assert isinstance(res, SourceResult)
    for comp in res.components:
        assert comp.version
        assert comp.name
    return res


def _dump_toml(doc: dict[str, Any]) -> str:
    return tomlkit.dumps(doc)


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


@JUNK
@given(bits=st.lists(st.sampled_from(REQUIREMENT_BITS) | st.text(max_size=6), max_size=40))
def test_requirement_shaped_junk(workdir: Path, bits: list[str]) -> None:
    path = workdir / "requirements.txt"
    path.write_text("".join(bits), encoding="utf-8", errors="surrogatepass")
    (workdir / "constraints.txt").write_text(
        "".join(reversed(bits)), encoding="utf-8", errors="surrogatepass"
    )
    attempt(RequirementsTxtSource, path)


@pytest.mark.parametrize(("reader", "name"), READERS)
@JUNK
@given(doc=documents)
def test_random_documents(
    workdir: Path, reader: type[Source], name: str, doc: dict[str, Any]
) -> None:
    path = workdir / name
    text = (
        json.dumps(doc)
        if name.endswith(".lock") and name.startswith("Pipfile")
        else _dump_toml(doc)
    )
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    attempt(reader, path)


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
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_real_documents_with_one_value_corrupted(
    workdir: Path, reader: type[Source], name: str, asset: Path, data: st.DataObject
) -> None:
    text = asset.read_text(encoding="utf-8")
    is_json = name == "Pipfile.lock"
    doc = json.loads(text) if is_json else tomllib.loads(text)
    broken = _corrupt(doc, data)
    if not isinstance(broken, dict):
        broken = {"root": broken}
    path = workdir / name
    out = json.dumps(broken, default=str) if is_json else _dump_toml(broken)
    path.write_text(out, encoding="utf-8", errors="surrogatepass")
    attempt(reader, path)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_lock_with_a_corrupted_sibling_manifest(workdir: Path, data: st.DataObject) -> None:
    """poetry.lock and Pipfile.lock also read the manifest beside them: corrupt that one."""
    sub = workdir / "sibling"
    sub.mkdir(exist_ok=True)
    for lock, manifest, reader in (
        (
            ASSETS / "poetry2" / "poetry.lock",
            ASSETS / "poetry2" / "pyproject.toml",
            PoetryLockSource,
        ),
        (ASSETS / "pipenv" / "Pipfile.lock", ASSETS / "pipenv" / "Pipfile", PipfileLockSource),
    ):
        (sub / lock.name).write_text(lock.read_text(encoding="utf-8"), encoding="utf-8")
        broken = _corrupt(tomllib.loads(manifest.read_text(encoding="utf-8")), data)
        if not isinstance(broken, dict):
            broken = {"root": broken}
        (sub / manifest.name).write_text(
            _dump_toml(broken), encoding="utf-8", errors="surrogatepass"
        )
        attempt(reader, sub / lock.name)
