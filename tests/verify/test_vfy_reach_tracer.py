"""The reach tracer in real test runs: small projects' own pytest suites run in real
virtualenvs (PyYAML 5.3.1 from PyPI) as subprocesses, with the plugin activated only through
the environment `reach_env` returns. Python 3.11 uses bytecode probes (setprofile for what a
probe cannot take), 3.12 uses sys.monitoring; both are run when a 3.12 interpreter exists."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from vfy_reach_support import (
    OSV_DIR,
    PY312,
    PYTHONS,
    REPO,
    copy_project,
    make_venv,
    run_pytest,
    site_packages,
)

from patchpilot.advisories.osv import parse_record
from patchpilot.errors import VerifyError
from patchpilot.verify.reach import OUTSIDE_TESTS, reach_env, read_reach
from patchpilot.verify.targets import Target, advisory_targets, diff_targets, split_symbol

pytestmark = [pytest.mark.slow, pytest.mark.network]

VERSIONS = [
    "3.11",
    pytest.param(
        "3.12", marks=pytest.mark.skipif(not PY312.exists(), reason="no Python 3.12 here")
    ),
]
MECHANISM = {"3.11": "probes", "3.12": "sys.monitoring"}


def yaml_venv(factory: pytest.TempPathFactory, version: str) -> Path:
    return make_venv(factory, f"yaml531-{version}", PYTHONS[version], ["pyyaml==5.3.1", "pytest"])


def cve_2020_14343_targets(site: Path) -> tuple[Target, ...]:
    with zipfile.ZipFile(OSV_DIR / "ghsa-sample.zip") as zf:
        record = json.loads(zf.read("GHSA-8q59-q68h-6hv4.json"))
    advisory = parse_record(record, "GHSA-8q59-q68h-6hv4")
    return (
        *advisory_targets(advisory, "PyYAML", site),
        split_symbol("yaml.load", site),
        split_symbol("yaml.no_such_function", site),
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_vfy_reach_tests_executing_the_vulnerable_loader(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, version: str
) -> None:
    venv = yaml_venv(tmp_path_factory, version)
    targets = cve_2020_14343_targets(site_packages(venv))
    project = copy_project("reaches", tmp_path)
    out = tmp_path / "reach.json"
    result, _ = run_pytest(venv, project, reach_env(targets, out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout

    evidence = read_reach(out, targets)
    assert evidence.mechanism == MECHANISM[version]
    assert evidence.python.startswith(version)
    assert evidence.tests_run == 3
    by_id = {t.target.id: t for t in evidence.targets}
    tuple_test = "tests/test_config.py::test_loads_python_tuple"
    plain_test = "tests/test_config.py::test_loads_plain_mapping"
    # Only the !!python/tuple document runs FullConstructor's own code.
    full = by_id["yaml.constructor:FullConstructor"]
    assert full.executed and full.tests == (tuple_test,)
    assert full.call_path[-1] == "app/config.py:7"
    assert full.call_path[0] == "tests/test_config.py:5"
    assert not by_id["yaml.constructor:UnsafeConstructor"].executed
    # yaml.load runs in both yaml tests, attributed per test (re-armed after each test).
    assert by_id["yaml:load"].tests == (tuple_test, plain_test)
    missing = by_id["yaml:no_such_function"]
    assert not missing.resolved and not missing.executed and "no_such_function" in missing.note
    assert evidence.tests == (plain_test, tuple_test)
    assert evidence.share == pytest.approx(2 / 4)
    summary = evidence.summary()
    assert summary.startswith("2 tests execute the vulnerable functions the advisory names")
    assert "via app/config.py:7" in summary


@pytest.mark.parametrize("version", VERSIONS)
def test_vfy_reach_tests_that_do_not_reach_the_vulnerable_code(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, version: str
) -> None:
    venv = yaml_venv(tmp_path_factory, version)
    targets = cve_2020_14343_targets(site_packages(venv))[:2]
    project = copy_project("noreach", tmp_path)
    out = tmp_path / "reach.json"
    result, _ = run_pytest(venv, project, reach_env(targets, out))
    assert result.returncode == 0, result.stdout + result.stderr
    evidence = read_reach(out, targets)
    assert evidence.tests_run == 1
    assert all(t.resolved and not t.executed for t in evidence.targets)
    assert evidence.share == 0.0 and evidence.tests == ()
    assert evidence.summary().startswith("no test executes the vulnerable functions")


def test_vfy_reach_ast_diff_targets_on_the_example_webapp(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """The bundled example: its config tests go through PyYAML code the 5.4 fix changed."""
    example = REPO / "examples" / "webapp"
    requirements = ["pyyaml==5.3.1", "jinja2==2.11.2", "markupsafe==2.0.1", "requests==2.25.1"]
    venv = make_venv(tmp_path_factory, "webapp-3.11", PYTHONS["3.11"], [*requirements, "pytest"])
    new = make_venv(tmp_path_factory, "yaml54", PYTHONS["3.11"], ["pyyaml==5.4"])
    targets = diff_targets(site_packages(venv), site_packages(new), ["yaml"])
    project = tmp_path / "webapp"
    shutil.copytree(example, project, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    out = tmp_path / "reach.json"
    env = reach_env(targets, out)
    env["PYTHONPATH"] += f":{project / 'src'}"
    result, _ = run_pytest(venv, project, env)
    assert result.returncode == 0, result.stdout + result.stderr
    evidence = read_reach(out, targets)
    resolve = next(
        t for t in evidence.targets if t.target.id == "yaml.resolver:BaseResolver.resolve"
    )
    assert resolve.executed
    assert "tests/test_config.py::test_parse_reads_channels" in resolve.tests
    assert "tests/test_app.py::test_notify_posts_rendered_message" in resolve.tests
    assert resolve.call_site == f"src/notify/config.py:{_yaml_load_line()}"
    # The unsafe python/object constructors the fix unregisters are never run by these tests.
    unsafe = [t for t in evidence.targets if "construct_python_object" in t.target.qualname]
    assert unsafe and not any(t.executed for t in unsafe)
    assert "code changed by the fix" in evidence.summary()
    assert OUTSIDE_TESTS not in evidence.tests


def test_vfy_reach_probes_keep_a_real_suite_green(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """Every function of the example's dependencies probed at once (namedtuple methods,
    generators, properties, decorated functions): the suite still passes."""
    example = REPO / "examples" / "webapp"
    requirements = ["pyyaml==5.3.1", "jinja2==2.11.2", "markupsafe==2.0.1", "requests==2.25.1"]
    venv = make_venv(tmp_path_factory, "webapp-3.11", PYTHONS["3.11"], [*requirements, "pytest"])
    site = site_packages(venv)
    modules = []
    for package in ("yaml", "jinja2", "markupsafe", "requests", "urllib3", "idna"):
        for path in sorted((site / package).rglob("*.py")):
            parts = list(path.relative_to(site).with_suffix("").parts)
            if parts[-1] == "__main__" or {"contrib", "packages"} & set(parts):
                continue
            if parts[-1] == "__init__":
                parts.pop()
            modules.append(".".join(parts))
    targets = [Target("", m, None, None, "ast-diff") for m in modules]
    project = tmp_path / "webapp"
    shutil.copytree(example, project, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    out = tmp_path / "reach.json"
    env = reach_env(targets, out)
    env["PYTHONPATH"] += f":{project / 'src'}"
    result, _ = run_pytest(venv, project, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
    evidence = read_reach(out, targets)
    assert evidence.mechanism == "probes"
    executed = {t.target.module for t in evidence.executed}
    assert {"yaml", "jinja2.environment", "requests.sessions", "urllib3.connectionpool"} <= executed


def test_vfy_reach_read_errors_are_verify_errors(tmp_path: Path) -> None:
    targets = [Target("load", "yaml", None, None, "advisory")]
    out = tmp_path / "reach.json"
    with pytest.raises(VerifyError, match="wrote no reach results"):
        read_reach(out, targets)
    out.write_text("{not json", encoding="utf-8")
    with pytest.raises(VerifyError, match=r"reach\.json: not JSON"):
        read_reach(out, targets)
    out.write_text('{"targets": []}', encoding="utf-8")
    with pytest.raises(VerifyError, match="targets: not an object"):
        read_reach(out, targets)


def test_vfy_reach_env_keeps_the_runner_settings(tmp_path: Path) -> None:
    targets = [Target("load", "yaml", None, None, "advisory")]
    out = tmp_path / "r.json"
    env = reach_env(targets, out, {"PYTHONPATH": "/p/src", "PYTEST_ADDOPTS": "-x"})
    assert env["PYTHONPATH"].endswith(":/p/src")
    assert Path(env["PYTHONPATH"].split(":")[0], "patchpilot_reach.py").is_file()
    assert env["PYTEST_ADDOPTS"] == "-p patchpilot_reach -x"
    written = json.loads(Path(env["PATCHPILOT_REACH_TARGETS"]).read_text(encoding="utf-8"))
    assert written["targets"] == [{"id": "yaml:load", "module": "yaml", "qualname": "load"}]


def _yaml_load_line() -> int:
    """The line of the example's `yaml.load(` call, read from the file itself."""
    text = (REPO / "examples" / "webapp" / "src" / "notify" / "config.py").read_text()
    return next(i for i, line in enumerate(text.splitlines(), 1) if "yaml.load(" in line)
