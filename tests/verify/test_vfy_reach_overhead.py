"""What the reach tracer costs: real suites run 3x without and 3x with the plugin, the fastest
run of each compared. The worst case is watched: every function of PyYAML is a target while
the heavy suite parses YAML in a loop (pure Python: PyYAML 5.3.1 built without libyaml), next
to a test of pure-Python recursion outside the targets. Numbers are printed (`-s` shows them);
the assertion is the < 30 % budget, with 0.25 s of slack for start-up noise on a busy machine."""

from __future__ import annotations

from pathlib import Path

import pytest
from vfy_reach_support import PY312, PYTHONS, copy_project, make_venv, run_pytest, site_packages

from patchpilot.verify.reach import reach_env, read_reach
from patchpilot.verify.targets import Target

pytestmark = [pytest.mark.slow, pytest.mark.network]

RUNS = 3


def every_yaml_function(site: Path) -> list[Target]:
    modules = []
    for path in sorted((site / "yaml").glob("*.py")):
        name = path.stem
        if name != "cyaml":  # needs libyaml, which this build does not have
            modules.append("yaml" if name == "__init__" else f"yaml.{name}")
    return [Target("", m, None, None, "ast-diff") for m in modules]


@pytest.mark.parametrize(
    "version",
    [
        "3.11",
        pytest.param(
            "3.12", marks=pytest.mark.skipif(not PY312.exists(), reason="no Python 3.12 here")
        ),
    ],
)
@pytest.mark.parametrize("project_name", ["heavy", "reaches"])
def test_vfy_reach_tracer_overhead(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, version: str, project_name: str
) -> None:
    venv = make_venv(
        tmp_path_factory, f"yaml531-{version}", PYTHONS[version], ["pyyaml==5.3.1", "pytest"]
    )
    targets = every_yaml_function(site_packages(venv))
    project = copy_project(project_name, tmp_path)
    out = tmp_path / "reach.json"
    env = reach_env(targets, out)
    run_pytest(venv, project)  # warm the file cache
    plain, traced = [], []
    for _ in range(RUNS):
        result, seconds = run_pytest(venv, project)
        assert result.returncode == 0, result.stdout + result.stderr
        plain.append(seconds)
        result, seconds = run_pytest(venv, project, env)
        assert result.returncode == 0, result.stdout + result.stderr
        traced.append(seconds)
    evidence = read_reach(out, targets)
    assert evidence.executed, "the tracer saw none of PyYAML's functions run"
    overhead = min(traced) / min(plain) - 1
    print(
        f"\n[reach overhead] {project_name} on {version} ({evidence.mechanism}): "
        f"plain {[round(s, 3) for s in plain]} s, traced {[round(s, 3) for s in traced]} s, "
        f"overhead {overhead:+.1%}"
    )
    assert min(traced) <= 1.3 * min(plain) + 0.25
