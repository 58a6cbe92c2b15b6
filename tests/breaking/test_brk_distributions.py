"""Fetching and unpacking real distributions: wheels via pip, sdists from the index's JSON
listing (PyYAML 5.4 has no wheel for CPython 3.11), import names from the metadata, and clean
`BreakingError`s for what cannot be fetched or unpacked."""

from __future__ import annotations

import ast
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from patchpilot.errors import BreakingError
from patchpilot.planning.breaking import distributions
from patchpilot.planning.breaking.distributions import archive_name, fetch, import_names


@pytest.mark.network
@pytest.mark.slow
def test_fetch_wheel_unpacks_sources_and_names_the_import_package(brk_cache: Path) -> None:
    tree = fetch("Jinja2", "2.11.3", brk_cache)
    assert archive_name(tree).endswith(".whl")
    assert (tree / "jinja2" / "__init__.py").is_file()
    assert "from markupsafe import Markup" in (tree / "jinja2" / "__init__.py").read_text()
    assert import_names(tree) == ("jinja2",)
    # Only sources and metadata are kept: no templates, no license files.
    kept = {
        p.suffix
        for p in tree.rglob("*")
        if p.is_file() and not p.name.startswith(".patchpilot-tree")
    }
    assert kept <= {".py", ".pyi", ".txt", ""}
    # A second call reuses the cached tree.
    assert fetch("jinja2", "2.11.3", brk_cache) == tree


@pytest.mark.network
@pytest.mark.slow
def test_fetch_falls_back_to_the_sdist_without_building_it(brk_cache: Path) -> None:
    tree = fetch("PyYAML", "5.4", brk_cache)
    assert archive_name(tree) == "PyYAML-5.4.tar.gz"
    init = (tree / "yaml" / "__init__.py").read_text(encoding="utf-8")
    assert "def load(stream, Loader=None):" in init
    # The Python 3 copy of the package (the sdist also ships a Python 2 one in lib/).
    assert "from .loader import *" in init
    for module in (tree / "yaml").glob("*.py"):
        ast.parse(module.read_bytes(), filename=str(module))
    assert "yaml" in import_names(tree)
    assert not list(tree.rglob("*.so")), "nothing was compiled"
    assert not (tree / "setup.py").exists()


@pytest.mark.network
def test_fetch_unknown_version_is_a_breaking_error(brk_cache: Path) -> None:
    with pytest.raises(BreakingError) as caught:
        fetch("PyYAML", "0.0.0.999", brk_cache)
    assert caught.value.package == "PyYAML"
    assert caught.value.version == "0.0.0.999"
    assert "PyYAML 0.0.0.999" in str(caught.value)


def test_invalid_version_is_a_breaking_error(tmp_path: Path) -> None:
    with pytest.raises(BreakingError, match="not a valid version"):
        fetch("PyYAML", "six point oh", tmp_path)


def test_wheel_members_escaping_the_tree_are_not_written(tmp_path: Path) -> None:
    archive = tmp_path / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("evil/__init__.py", "X = 1\n")
        zf.writestr("../outside.py", "print('escaped')\n")
        zf.writestr("/abs.py", "print('absolute')\n")
        zf.writestr("evil-1.0.data/purelib/extra.py", "Y = 2\n")
        zf.writestr("evil-1.0.dist-info/RECORD", "evil/__init__.py,,\nextra.py,,\n")
    dest = tmp_path / "tree"
    distributions._unpack_wheel("evil", "1.0", archive, dest)
    assert (dest / "evil" / "__init__.py").is_file()
    assert (dest / "extra.py").is_file()
    assert not (tmp_path / "outside.py").exists()
    assert not (dest / "abs.py").exists()
    assert import_names(dest) == ("evil", "extra")


def test_sdist_with_src_layout_picks_the_package_root(tmp_path: Path) -> None:
    archive = tmp_path / "demo-1.0.tar.gz"
    files = {
        "demo-1.0/setup.py": "raise SystemExit('never run')\n",
        "demo-1.0/src/demo/__init__.py": "def f(): ...\n",
        "demo-1.0/tests/__init__.py": "",
        "demo-1.0/docs/conf.py": "",
    }
    with tarfile.open(archive, "w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    dest = tmp_path / "tree"
    distributions._unpack_sdist("demo", "1.0", archive, dest)
    assert (dest / "demo" / "__init__.py").is_file()
    assert import_names(dest) == ("demo",)


def test_corrupt_archives_are_breaking_errors(tmp_path: Path) -> None:
    bad_wheel = tmp_path / "bad-1.0-py3-none-any.whl"
    bad_wheel.write_bytes(b"not a zip at all")
    with pytest.raises(BreakingError, match=r"bad 1\.0: .*cannot unpack wheel"):
        distributions._unpack_wheel("bad", "1.0", bad_wheel, tmp_path / "w")
    bad_sdist = tmp_path / "bad-1.0.tar.gz"
    bad_sdist.write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(BreakingError, match="cannot unpack sdist"):
        distributions._unpack_sdist("bad", "1.0", bad_sdist, tmp_path / "s" / "tree")
