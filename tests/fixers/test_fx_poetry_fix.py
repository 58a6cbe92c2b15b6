"""The Poetry fixer end to end: real Poetry 2 projects, real `poetry`, real PyPI.

The projects in tests/assets/fixers/poetry were locked by Poetry 2.5.1 (README there). What a
fix gives is checked without the fixer's own code: the new lock is read with tomllib, the
result must satisfy `poetry check --lock`, and uv's resolver confirms the co-upgrade chose
the smallest parent that admits the target.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pytest
from packaging.version import Version

from patchpilot.errors import FixError
from patchpilot.fixers.changeset import ChangeSet, write_changeset
from patchpilot.fixers.interface import Bump, FixOutcome, Strategy
from patchpilot.fixers.poetry_lock import INSTALL_HINT, PoetryLockFixer, find_poetry
from patchpilot.fixers.requirements_txt import uv_binary
from patchpilot.model import Ecosystem, NormalizedName

pytestmark = [pytest.mark.slow, pytest.mark.network]

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "fixers" / "poetry"
PYPI = Ecosystem.PYPI


def bump(name: str, current: str, target: str, *, direct: bool = False) -> Bump:
    return Bump(PYPI, NormalizedName(name), current, target, direct)


def project(tmp_path: Path, asset: str) -> Path:
    root = tmp_path / "project"
    shutil.copytree(ASSETS / asset, root)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))}


def fix(root: Path, bumps: Sequence[Bump]) -> FixOutcome:
    """Run the fixer and check that the user's files are byte-identical afterwards."""
    before = snapshot(root)
    outcome = PoetryLockFixer().fix(root, Path("poetry.lock"), bumps)
    assert snapshot(root) == before
    return outcome


def applied(tmp_path: Path, root: Path, outcome: FixOutcome) -> Path:
    out = tmp_path / "applied"
    shutil.copytree(root, out)
    write_changeset(ChangeSet(("test",), outcome.edits), out, dry_run=False)
    return out


def locked(folder: Path) -> dict[str, str]:
    data = tomllib.loads((folder / "poetry.lock").read_text())
    return {p["name"]: p["version"] for p in data["package"]}


def poetry_check(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POETRY_VIRTUALENVS_CREATE": "false"}
    return subprocess.run(
        [find_poetry(), "check", "--lock", "--no-interaction", "--no-ansi"],
        cwd=folder, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def newest_allowed(tmp_path: Path, requirements: Sequence[str], name: str) -> str:
    source = tmp_path / "oracle.in"
    source.write_text("".join(f"{r}\n" for r in requirements))
    done = subprocess.run(
        [uv_binary(), "pip", "compile", str(source), "--no-header", "--no-annotate",
         "--python-version", "3.11"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    pins = dict(line.split("==", 1) for line in done.stdout.split() if "==" in line)
    return pins[name]


def test_a_transitive_package_is_updated_in_place(tmp_path: Path) -> None:
    root = project(tmp_path, "pinned")
    outcome = fix(root, [bump("urllib3", "1.26.4", "1.26.19")])
    (result,) = outcome.outcomes
    assert result.strategy is Strategy.IN_PLACE
    # Poetry moves it to the newest version requests 2.25.1 allows, at or above the target.
    assert result.resolved == newest_allowed(tmp_path, ["requests==2.25.1", "urllib3"], "urllib3")
    assert Version(result.resolved or "0") >= Version("1.26.19")
    assert [e.path for e in outcome.edits] == ["poetry.lock"]
    assert "poetry update --lock urllib3 --no-interaction --no-ansi" in outcome.commands
    fixed = applied(tmp_path, root, outcome)
    before, after = locked(root), locked(fixed)
    assert after["urllib3"] == result.resolved
    assert {k: v for k, v in after.items() if k != "urllib3"} == {
        k: v for k, v in before.items() if k != "urllib3"
    }
    assert poetry_check(fixed).returncode == 0


def test_direct_constraints_are_relaxed_in_their_own_syntax(tmp_path: Path) -> None:
    root = project(tmp_path, "pinned")
    bumps = [
        bump("jinja2", "2.11.2", "2.11.3", direct=True),
        bump("pyyaml", "5.4.1", "6.0.1", direct=True),
    ]
    outcome = fix(root, bumps)
    assert [o.strategy for o in outcome.outcomes] == [Strategy.RELAX, Strategy.RELAX]
    manifest = next(e for e in outcome.edits if e.path == "pyproject.toml")
    original = (root / "pyproject.toml").read_text()
    assert manifest.after == original.replace('"jinja2 (==2.11.2)"', '"jinja2 (==2.11.3)"').replace(
        'pyyaml = "^5.3"  # config', 'pyyaml = "^6.0.1"  # config'
    )
    fixed = applied(tmp_path, root, outcome)
    before, after = locked(root), locked(fixed)
    assert after["jinja2"] == "2.11.3"
    assert Version("6.0.1") <= Version(after["pyyaml"]) < Version("7")
    assert outcome.outcomes[1].resolved == after["pyyaml"]
    # `poetry lock` kept every other locked version.
    assert {k: v for k, v in after.items() if k not in ("jinja2", "pyyaml")} == {
        k: v for k, v in before.items() if k not in ("jinja2", "pyyaml")
    }
    assert poetry_check(fixed).returncode == 0


def test_a_transitive_package_a_pinned_parent_forbids_co_upgrades_it(tmp_path: Path) -> None:
    root = project(tmp_path, "pinned")
    outcome = fix(root, [bump("idna", "2.10", "3.7")])
    (result,) = outcome.outcomes
    assert result.strategy is Strategy.CO_UPGRADE
    ((parent, old, new),) = result.co_upgrades
    assert (parent, old) == ("requests", "2.25.1")
    # uv refuses every requests below the chosen one together with idna 3.7.
    source = tmp_path / "below.in"
    source.write_text(f"requests>=2.25.1,<{new}\nidna>=3.7\n")
    below = subprocess.run(
        [uv_binary(), "pip", "compile", str(source), "--python-version", "3.11"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert below.returncode != 0
    manifest = next(e for e in outcome.edits if e.path == "pyproject.toml")
    assert manifest.after == (manifest.before or "").replace(
        '"requests==2.25.1"', f'"requests=={new}"'
    )
    fixed = applied(tmp_path, root, outcome)
    after = locked(fixed)
    assert after["requests"] == new
    assert Version(after["idna"]) >= Version("3.7")
    assert result.resolved == after["idna"]
    assert poetry_check(fixed).returncode == 0
    assert any(c.startswith("uv pip compile") for c in outcome.commands)


def test_a_transitive_package_gets_an_override(tmp_path: Path) -> None:
    root = project(tmp_path, "ranged")
    outcome = fix(root, [bump("idna", "2.10", "3.7")])
    (result,) = outcome.outcomes
    assert result.strategy is Strategy.OVERRIDE
    manifest = next(e for e in outcome.edits if e.path == "pyproject.toml")
    assert manifest.after == (manifest.before or "").replace(
        'dependencies = ["requests>=2.25,<3"]', 'dependencies = ["requests>=2.25,<3", "idna>=3.7"]'
    )
    fixed = applied(tmp_path, root, outcome)
    after = locked(fixed)
    assert Version(after["idna"]) >= Version("3.7")
    # requests 2.25.1 forbids idna 3: the lock had to move it, and the outcome says so.
    assert [(p, o) for p, o, _ in result.co_upgrades] == [("requests", "2.25.1")]
    assert result.co_upgrades[0][2] == after["requests"]
    assert poetry_check(fixed).returncode == 0


def test_a_bump_poetry_cannot_make_fails_alone(tmp_path: Path) -> None:
    root = project(tmp_path, "ranged")
    certifi = locked(root)["certifi"]
    bumps = [
        bump("idna", "2.10", "99.0"),
        bump("left-pad", "1.0", "2.0"),
        bump("certifi", certifi, "2017.4.17"),  # a target below the locked version
    ]
    outcome = fix(root, bumps)
    bad, absent, already = outcome.outcomes
    assert bad.strategy is None
    assert "idna" in bad.reason
    assert absent.strategy is None
    assert "not in poetry.lock" in absent.reason
    assert already.strategy is None
    assert outcome.edits == ()


def test_a_lock_out_of_sync_is_a_fix_error(tmp_path: Path) -> None:
    root = project(tmp_path, "ranged")
    manifest = root / "pyproject.toml"
    manifest.write_text(manifest.read_text().replace('"requests>=2.25,<3"', '"requests>=2.26"'))
    with pytest.raises(FixError, match=r"does not match pyproject\.toml"):
        fix(root, [bump("idna", "2.10", "3.7")])


def test_no_network_is_a_fix_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy address on a closed local port and an empty cache: the index is unreachable,
    # as without network (Poetry retries five times with back-off first: about 8 s).
    root = project(tmp_path, "pinned")
    for variable in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    monkeypatch.setenv("POETRY_CACHE_DIR", str(tmp_path / "poetry-cache"))
    with pytest.raises(FixError, match="cannot reach the package index"):
        fix(root, [bump("urllib3", "1.26.4", "1.26.19")])


def test_missing_poetry_and_missing_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path, "ranged")
    monkeypatch.setenv("PATCHPILOT_POETRY", str(tmp_path / "no-such-poetry"))
    with pytest.raises(FixError, match="PATCHPILOT_POETRY"):
        fix(root, [])
    monkeypatch.delenv("PATCHPILOT_POETRY")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setattr(sys, "executable", str(empty / "python"))
    monkeypatch.setattr(sys, "prefix", str(empty))
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(FixError) as caught:
        find_poetry()
    assert str(caught.value) == INSTALL_HINT
    monkeypatch.undo()
    (root / "pyproject.toml").unlink()
    with pytest.raises(FixError, match=r"no pyproject\.toml"):
        fix(root, [])
    with pytest.raises(FixError, match=r"not a poetry\.lock"):
        PoetryLockFixer().fix(ASSETS / "pinned", Path("pyproject.toml"), [])
