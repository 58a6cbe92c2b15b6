"""Static evidence on real project code: alias-aware references to PyYAML's vulnerable
symbols, the distribution-to-import-name mapping read from a real installed PyYAML, and the
`unknown` verdict wherever dynamic code could hide a use."""

from __future__ import annotations

from pathlib import Path

import pytest
from vfy_reach_support import ASSETS, PYTHONS, REPO, make_venv, site_packages

from patchpilot.errors import VerifyError
from patchpilot.model import Location
from patchpilot.verify.static import import_names, references_by_target, scan_project
from patchpilot.verify.targets import Target

FULL = Target("FullConstructor", "yaml.constructor", None, None, "advisory")
CONSTRUCT = Target(
    "FullConstructor.construct_python_object", "yaml.constructor", None, None, "ast-diff"
)
LOAD = Target("load", "yaml", None, None, "advisory")


@pytest.mark.slow
@pytest.mark.network
def test_vfy_reach_import_names_from_installed_distribution(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    venv = make_venv(tmp_path_factory, "yaml531", PYTHONS["3.11"], ["pyyaml==5.3.1"])
    site = site_packages(venv)
    names = import_names(site, "PyYAML")
    assert "yaml" in names
    assert all((site / n).is_dir() or list(site.glob(f"{n}.*")) for n in names)
    # Spelling of the distribution name does not matter (PEP 503).
    assert import_names(site, "pyyaml") == names
    with pytest.raises(VerifyError, match="'jinja2' is not installed"):
        import_names(site, "jinja2")


def test_vfy_reach_import_names_from_record_only(tmp_path: Path) -> None:
    info = tmp_path / "Demo_Pkg-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text(
        "demo_pkg/__init__.py,sha256=x,1\ndemo_pkg/core.py,sha256=y,2\n"
        "_demo_speedups.cpython-311-x86_64-linux-gnu.so,sha256=z,3\n"
        "Demo_Pkg-1.0.dist-info/METADATA,,\n../../../bin/demo,,\n",
        encoding="utf-8",
    )
    assert import_names(tmp_path, "demo-pkg") == ("_demo_speedups", "demo_pkg")


def test_vfy_reach_alias_aware_reference(tmp_path: Path) -> None:
    evidence = scan_project(ASSETS / "reaches", "PyYAML", ["yaml"], [FULL, LOAD])
    assert evidence.verdict == "reachable"
    # `import yaml as y; y.load(...)` in app/config.py, line 7.
    assert evidence.imports == (Location("app/config.py", 3),)
    refs = references_by_target(evidence)
    assert refs == {"yaml:load": (Location("app/config.py", 7),)}
    assert "yaml.load at app/config.py:7" in evidence.reason


def test_vfy_reach_reexport_and_class_references(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        "from yaml import FullConstructor as FC\n"
        "import yaml.constructor as yc\n"
        "def f(node):\n"
        "    return FC.construct_python_object(None, 'x', node)\n"
        "def g():\n"
        "    return yc.FullConstructor\n",
        encoding="utf-8",
    )
    evidence = scan_project(tmp_path, "PyYAML", ["yaml"], [CONSTRUCT])
    kinds = {(r.location.line, r.kind) for r in evidence.references}
    # The first line imports the class through the parent package (a re-export).
    assert kinds == {(1, "class"), (4, "re-export"), (6, "class")}
    assert evidence.verdict == "reachable"


def test_vfy_reach_safe_api_only_is_not_referenced() -> None:
    evidence = scan_project(ASSETS / "noreach", "PyYAML", ["yaml"], [FULL, LOAD])
    assert evidence.imported
    assert evidence.references == ()
    assert evidence.escape_hatches == ()
    assert evidence.verdict == "not-referenced"


def test_vfy_reach_dynamic_import_makes_it_unknown() -> None:
    evidence = scan_project(ASSETS / "dynamic", "PyYAML", ["yaml"], [FULL, LOAD])
    assert evidence.references == ()
    assert evidence.verdict == "unknown"
    hatch = evidence.escape_hatches[0]
    assert hatch.location == Location("app/plugins.py", 7)
    assert "import_module() with a computed name" in hatch.construct
    assert "app/plugins.py:7" in evidence.reason


@pytest.mark.parametrize(
    ("source", "construct"),
    [
        ("import importlib as il\nm = il.import_module(name)\n", "import_module()"),
        ("from importlib import import_module\nm = import_module(name)\n", "import_module()"),
        ("m = __import__(name)\n", "__import__()"),
        ("eval(code)\n", "eval()"),
        ("exec(code)\n", "exec()"),
        ("f = getattr(obj, name)\n", "getattr() with a computed name"),
        ("from yaml import *\n", "from yaml import *"),
        ("def broken(:\n", "file does not parse"),
    ],
)
def test_vfy_reach_escape_hatches(tmp_path: Path, source: str, construct: str) -> None:
    (tmp_path / "code.py").write_text(source, encoding="utf-8")
    evidence = scan_project(tmp_path, "PyYAML", ["yaml"], [FULL])
    assert evidence.verdict == "unknown"
    assert any(construct in h.construct for h in evidence.escape_hatches)


def test_vfy_reach_literal_names_are_not_escape_hatches(tmp_path: Path) -> None:
    (tmp_path / "code.py").write_text(
        "import importlib\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import yaml\n"
        "j = importlib.import_module('json')\nv = getattr(j, 'dumps')\n",
        encoding="utf-8",
    )
    evidence = scan_project(tmp_path, "PyYAML", ["yaml"], [FULL])
    assert evidence.escape_hatches == ()
    assert not evidence.imported  # a TYPE_CHECKING import never runs
    assert evidence.verdict == "not-referenced"


def test_vfy_reach_static_on_the_example_webapp() -> None:
    evidence = scan_project(REPO / "examples" / "webapp", "PyYAML", ["yaml"], [LOAD, FULL])
    assert evidence.verdict == "reachable"
    want = (Location("src/notify/config.py", _yaml_load_line()),)
    assert references_by_target(evidence)["yaml:load"] == want


def _yaml_load_line() -> int:
    """The line of the example's `yaml.load(` call, read from the file itself."""
    text = (REPO / "examples" / "webapp" / "src" / "notify" / "config.py").read_text()
    return next(i for i, line in enumerate(text.splitlines(), 1) if "yaml.load(" in line)
