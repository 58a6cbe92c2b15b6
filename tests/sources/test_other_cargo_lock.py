"""Cargo.lock reader: real version 2 and 3 lockfiles, versions 1 and 4 derived from them.

crates.io is not reachable here, so the version 1 and 4 inputs are the real files rewritten
in the test the way Cargo writes those versions (documented at each helper).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from patchpilot.errors import SourceError
from patchpilot.model import Component, Ecosystem, Scope, SourceKind, SourceResult
from patchpilot.sources.cargo_lock import CargoLockSource

ASSETS = Path(__file__).parent.parent / "assets" / "sources" / "other"
WORKSPACE = ASSETS / "cargo-workspace" / "Cargo.lock"
V2 = ASSETS / "cargo-v2" / "Cargo.lock"
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"


def read(path: Path) -> SourceResult:
    return CargoLockSource().read(path)


def comp(res: SourceResult, name: str, version: str | None = None) -> Component:
    found = [c for c in res.components if c.name == name and version in (None, c.version)]
    assert len(found) == 1, found
    return found[0]


def name_line(path: Path, name: str, version: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines[:-1]):
        if line == f'name = "{name}"' and lines[i + 1] == f'version = "{version}"':
            return i + 1
    raise AssertionError(name)


def shape(res: SourceResult) -> set[tuple[Any, ...]]:
    return {(c.name, c.version, c.direct, c.scope, c.paths, c.parents) for c in res.components}


def test_matches() -> None:
    assert CargoLockSource.matches(Path("x/Cargo.lock"))
    assert not CargoLockSource.matches(Path("Cargo.toml"))


def test_workspace_members_are_roots_and_registry_crates_components() -> None:
    res = read(WORKSPACE)
    assert (res.format, res.kind) == ("Cargo.lock", SourceKind.LOCKFILE)
    packages = tomllib.loads(WORKSPACE.read_text(encoding="utf-8"))["package"]
    local = {p["name"] for p in packages if "source" not in p}
    registry = {(p["name"], p["version"]) for p in packages if p.get("source") == CRATES_IO}
    assert {"axhal", "axlog", "allocator", "crate_interface"} <= local
    assert {(c.name, c.version) for c in res.components} == registry
    assert not local & {c.name for c in res.components}
    assert all(c.ecosystem is Ecosystem.CRATES_IO and c.scope is Scope.RUNTIME
               for c in res.components)  # fmt: skip


def test_direct_are_what_local_crates_depend_on() -> None:
    res = read(WORKSPACE)
    packages = tomllib.loads(WORKSPACE.read_text(encoding="utf-8"))["package"]
    by_name: dict[str, list[dict[str, Any]]] = {}
    for p in packages:
        by_name.setdefault(p["name"], []).append(p)
    expected = set()
    for p in packages:
        if "source" in p:
            continue
        for dep in p.get("dependencies", []):
            name, _, version = dep.partition(" ")
            (target,) = [t for t in by_name[name] if not version or t["version"] == version]
            if target.get("source") == CRATES_IO:
                expected.add((name, target["version"]))
    assert {(c.name, c.version) for c in res.components if c.direct} == expected
    assert ("chrono", "0.4.26") in expected
    assert ("raw-cpuid", "11.0.1") in expected


def test_transitive_paths_and_versions_told_apart() -> None:
    res = read(WORKSPACE)
    time = comp(res, "time")
    assert (time.version, time.direct) == ("0.1.45", False)
    assert time.paths == (("chrono", "time"),)
    assert time.parents == ("chrono",)
    assert time.purl == "pkg:cargo/time@0.1.45"
    # Two raw-cpuid versions: 11.0.1 direct (axhal), 10.7.0 only through x2apic and x86.
    old = comp(res, "raw-cpuid", "10.7.0")
    assert (old.direct, old.paths, old.parents) == (
        False,
        (("x2apic", "raw-cpuid"),),
        ("x2apic", "x86"),
    )
    wasi = comp(res, "wasi", "0.10.0+wasi-snapshot-preview1")
    assert wasi.paths == (("chrono", "time", "wasi"),)
    assert time.locations[0].line == name_line(WORKSPACE, "time", "0.1.45") == 1067


def test_git_crate_is_skipped_but_keeps_paths() -> None:
    res = read(WORKSPACE)
    (skip,) = res.skipped
    assert skip.name == "bitmap-allocator"
    assert skip.reason == (
        "from git (git+https://github.com/rcore-os/bitmap-allocator.git?rev=88e871a"
        "#88e871a54f28a3d6795478f237466b3332e2fb1d), not a crates.io release"
    )
    assert skip.location.line == name_line(WORKSPACE, "bitmap-allocator", "0.1.0")
    assert skip.ecosystem is Ecosystem.CRATES_IO
    assert "bitmap-allocator" in comp(res, "bit_field").parents


def test_v2_lockfile() -> None:
    res = read(V2)
    assert {c.name for c in res.components if c.direct} == {
        "clap",
        "rand",
        "rand_pcg",
        "rand_seeder",
    }
    atty = comp(res, "atty")
    assert (atty.version, atty.direct, atty.paths) == ("0.2.14", False, (("clap", "atty"),))
    assert comp(res, "rand_core").parents == (
        "rand",
        "rand_chacha",
        "rand_hc",
        "rand_pcg",
        "rand_seeder",
    )
    assert "sudoku" not in {c.name for c in res.components}
    assert len(res.components) == 23
    assert res.notes == ()


def to_v1(text: str) -> str:
    """A version 2 lock as Cargo 1.40 and older wrote it: every dependency as
    `name version (source)` and the checksums moved to a `[metadata]` table."""
    doc = tomllib.loads(text)
    packages = doc["package"]
    by_name = {p["name"]: p for p in packages}
    out: list[str] = []
    checksums: list[str] = []
    for p in packages:
        out.append("[[package]]")
        out.append(f'name = "{p["name"]}"')
        out.append(f'version = "{p["version"]}"')
        if "source" in p:
            out.append(f'source = "{p["source"]}"')
            checksums.append(
                f'"checksum {p["name"]} {p["version"]} ({p["source"]})" = "{p["checksum"]}"'
            )
        if p.get("dependencies"):
            out.append("dependencies = [")
            for dep in p["dependencies"]:
                t = by_name[dep]
                out.append(f' "{t["name"]} {t["version"]} ({t["source"]})",')
            out.append("]")
        out.append("")
    return "\n".join([*out, "[metadata]", *checksums, ""])


def test_v1_lockfile_reads_like_v2(tmp_path: Path) -> None:
    path = tmp_path / "Cargo.lock"
    path.write_text(to_v1(V2.read_text(encoding="utf-8")), encoding="utf-8")
    res = read(path)
    assert shape(res) == shape(read(V2))
    text = path.read_text(encoding="utf-8")
    assert '"atty 0.2.14 (registry+' in text
    assert comp(res, "atty").locations[0].line == name_line(path, "atty", "0.2.14")


def test_v4_lockfile_reads_like_v3(tmp_path: Path) -> None:
    """Version 4 differs from 3 in how git URLs are encoded, not in shape."""
    path = tmp_path / "Cargo.lock"
    path.write_text(
        WORKSPACE.read_text(encoding="utf-8").replace("version = 3", "version = 4", 1),
        encoding="utf-8",
    )
    res = read(path)
    assert shape(res) == shape(read(WORKSPACE))
    assert res.notes == ()


def test_unknown_version_is_read_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "Cargo.lock"
    path.write_text(
        V2.read_text(encoding="utf-8").replace("[[package]]", "version = 9\n\n[[package]]", 1),
        encoding="utf-8",
    )
    res = read(path)
    assert res.notes == ("lockfile version 9 is newer than this reader knows; read as version 4",)


def test_other_registry_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "Cargo.lock"
    text = V2.read_text(encoding="utf-8")
    # atty from a company registry instead of crates.io (the only atty: names stay unique).
    text = text.replace(
        'name = "atty"\nversion = "0.2.14"\nsource = "registry+https://github.com/rust-lang/crates.io-index"',
        'name = "atty"\nversion = "0.2.14"\nsource = "sparse+https://cargo.example.com/index/"',
    )
    path.write_text(text, encoding="utf-8")
    res = read(path)
    (skip,) = res.skipped
    assert (skip.name, skip.reason) == (
        "atty",
        "from sparse+https://cargo.example.com/index/, not crates.io",
    )
    assert "atty" not in {c.name for c in res.components}
    assert comp(res, "hermit-abi").paths == (("clap", "atty", "hermit-abi"),)


def test_truncated_toml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "Cargo.lock"
    text = V2.read_text(encoding="utf-8")
    path.write_text(
        text[: text.index('checksum = "03b07a08')] + 'checksum = "03b0\n', encoding="utf-8"
    )
    with pytest.raises(SourceError) as err:
        read(path)
    assert err.value.place == text[: text.index('checksum = "03b07a08')].count("\n") + 1
    assert "invalid TOML" in str(err.value)


@pytest.mark.parametrize(
    ("old", "new", "place", "reason"),
    [
        ('name = "ansi_term"\n', "", "package[0]", "missing 'name'"),
        ('version = "0.11.0"', "version = 11", "package[0].version",
         "expected a string, found int"),
        (' "winapi",\n]', ' "winapi-x",\n]', "package[0].dependencies[0]",
         "dependency 'winapi-x' names no package of the lockfile"),
        (' "winapi",\n]', ' "winapi 0.3.9 registry",\n]', "package[0].dependencies[0]",
         "malformed dependency 'winapi 0.3.9 registry'"),
        (' "winapi",\n]', " 3,\n]", "package[0].dependencies[0]", "expected a string, found int"),
    ],
)  # fmt: skip
def test_wrong_shapes_name_the_key(
    tmp_path: Path, old: str, new: str, place: str, reason: str
) -> None:
    path = tmp_path / "Cargo.lock"
    text = V2.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read(path)
    assert (err.value.place, err.value.reason) == (place, reason)


def test_package_not_an_array_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "Cargo.lock"
    path.write_text('version = 3\npackage = "none"\n', encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read(path)
    assert (err.value.place, err.value.reason) == ("package", "expected an array, found a string")


def test_ambiguous_dependency_is_an_error(tmp_path: Path) -> None:
    # bitflags has two versions in the workspace lock: a bare name cannot say which.
    path = tmp_path / "Cargo.lock"
    text = WORKSPACE.read_text(encoding="utf-8")
    path.write_text(text.replace(' "bitflags 1.3.2",', ' "bitflags",', 1), encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read(path)
    assert err.value.reason == "dependency 'bitflags' matches several packages"
    assert re.fullmatch(r"package\[\d+\]\.dependencies\[\d+\]", str(err.value.place))
