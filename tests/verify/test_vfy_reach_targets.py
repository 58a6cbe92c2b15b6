"""Target functions: advisory-named symbols (real GHSA records) and the AST diff of two real
installed PyYAML versions (5.3.1, vulnerable to CVE-2020-14343, and 5.4, the fix)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vfy_reach_support import OSV_DIR, PYTHONS, make_venv, site_packages

from patchpilot.advisories.osv import parse_record
from patchpilot.errors import VerifyError
from patchpilot.model import Advisory
from patchpilot.verify.targets import (
    Target,
    advisory_symbols,
    advisory_targets,
    diff_targets,
    split_symbol,
)


def ghsa(record_id: str) -> Advisory:
    with zipfile.ZipFile(OSV_DIR / "ghsa-sample.zip") as zf:
        data = json.loads(zf.read(f"{record_id}.json"))
    return parse_record(data, record_id)


@pytest.fixture(scope="session")
def old_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return site_packages(make_venv(tmp_path_factory, "yaml531", PYTHONS["3.11"], ["pyyaml==5.3.1"]))


@pytest.fixture(scope="session")
def new_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return site_packages(make_venv(tmp_path_factory, "yaml54", PYTHONS["3.11"], ["pyyaml==5.4"]))


def def_line(target: Target) -> str:
    assert target.file is not None and target.lineno is not None
    return Path(target.file).read_text(encoding="utf-8").splitlines()[target.lineno - 1]


def test_vfy_reach_advisory_symbols_drop_empty_strings() -> None:
    # GHSA-g4mx-q9vg-27p4 carries a single empty string: no function information at all.
    empty = ghsa("GHSA-g4mx-q9vg-27p4")
    package = empty.affected[0].raw_name
    assert advisory_symbols(empty, package) == ()
    yaml_adv = ghsa("GHSA-8q59-q68h-6hv4")
    assert advisory_symbols(yaml_adv, "PyYAML") == (
        "yaml.constructor.FullConstructor",
        "yaml.constructor.UnsafeConstructor",
    )
    assert advisory_symbols(yaml_adv, "jinja2") == ()


def test_vfy_reach_split_symbol_without_installed_code() -> None:
    assert split_symbol("werkzeug.http.parse_cookie").id == "werkzeug.http:parse_cookie"
    assert split_symbol("yaml.constructor.FullConstructor").id == "yaml.constructor:FullConstructor"
    method = split_symbol("requests.sessions.SessionRedirectMixin.rebuild_proxies")
    assert (method.module, method.qualname) == (
        "requests.sessions",
        "SessionRedirectMixin.rebuild_proxies",
    )
    assert method.file is None and method.source == "advisory"


@pytest.mark.slow
@pytest.mark.network
def test_vfy_reach_advisory_targets_located_in_installed_package(old_yaml: Path) -> None:
    targets = advisory_targets(ghsa("GHSA-8q59-q68h-6hv4"), "pyyaml", old_yaml)
    assert [t.id for t in targets] == [
        "yaml.constructor:FullConstructor",
        "yaml.constructor:UnsafeConstructor",
    ]
    for target in targets:
        assert Path(target.file or "") == old_yaml / "yaml" / "constructor.py"
        assert def_line(target).startswith(f"class {target.qualname}(")
    # A re-exported function resolves at the longest module prefix that exists.
    load = split_symbol("yaml.load", old_yaml)
    assert load.id == "yaml:load" and def_line(load).startswith("def load(")


@pytest.mark.slow
@pytest.mark.network
def test_vfy_reach_ast_diff_finds_the_fix(old_yaml: Path, new_yaml: Path) -> None:
    targets = diff_targets(old_yaml, new_yaml, ["yaml"])
    ids = {t.id for t in targets}
    # 5.4 stops registering python/object constructors on FullConstructor (CVE-2020-14343):
    # a module-level change, which names the functions it (un)registers.
    assert "yaml.constructor:FullConstructor.construct_python_object" in ids
    assert "yaml.constructor:FullConstructor.construct_python_object_new" in ids
    # and changes how implicit resolvers are combined.
    assert "yaml.resolver:BaseResolver.resolve" in ids
    for target in targets:
        assert target.source == "ast-diff"
        name = target.qualname.rsplit(".", 1)[-1]
        assert re.match(rf"\s*(async\s+)?def {re.escape(name)}\(", def_line(target)), target
    # cyaml.py changed only an import line; the registration function itself is not a target.
    assert not any(t.module == "yaml.cyaml" for t in targets)
    assert "yaml.constructor:BaseConstructor.add_multi_constructor" not in ids
    assert diff_targets(old_yaml, old_yaml, ["yaml"]) == ()


def test_vfy_reach_ast_diff_ignores_docstrings_and_formatting(tmp_path: Path) -> None:
    old, new = tmp_path / "old" / "pkg", tmp_path / "new" / "pkg"
    old.mkdir(parents=True)
    new.mkdir(parents=True)
    (old / "__init__.py").write_text(
        'def same(a):\n    """Old words."""\n    return a + 1\n\n'
        "def changed(a):\n    return a + 1\n\n"
        "class K:\n    def meth(self):\n        def inner():\n            return 1\n"
        "        return inner\n",
        encoding="utf-8",
    )
    (new / "__init__.py").write_text(
        'def same(a):\n    """New words."""\n\n    return (a +\n            1)  # comment\n\n'
        "def changed(a):\n    return a + 2\n\n"
        "class K:\n    def meth(self):\n        def inner():\n            return 2\n"
        "        return inner\n",
        encoding="utf-8",
    )
    ids = [t.id for t in diff_targets(old.parent, new.parent, ["pkg"])]
    assert ids == ["pkg:K.meth.<locals>.inner", "pkg:changed"]


def test_vfy_reach_ast_diff_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(VerifyError, match="no package 'absent'"):
        diff_targets(tmp_path, tmp_path, ["absent"])
    for side in ("old", "new"):
        (tmp_path / side / "pkg").mkdir(parents=True)
    (tmp_path / "old" / "pkg" / "mod.py").write_text("def f(:\n", encoding="utf-8")
    (tmp_path / "new" / "pkg" / "mod.py").write_text("def f():\n    pass\n", encoding="utf-8")
    with pytest.raises(VerifyError, match=r"mod\.py:1: cannot parse"):
        diff_targets(tmp_path / "old", tmp_path / "new", ["pkg"])


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_vfy_reach_ast_diff_junk_source_raises_only_verify_error(junk: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for side in ("old", "new"):
            (root / side / "pkg").mkdir(parents=True)
            (root / side / "pkg" / "__init__.py").write_text("def f():\n    return 1\n")
        (root / "old" / "pkg" / "junk.py").write_text(junk, encoding="utf-8", errors="replace")
        (root / "new" / "pkg" / "junk.py").write_text("x = 1\n", encoding="utf-8")
        try:
            targets = diff_targets(root / "old", root / "new", ["pkg"])
        except VerifyError as e:
            assert "junk.py" in str(e)
        else:
            assert all(t.module == "pkg.junk" for t in targets)
