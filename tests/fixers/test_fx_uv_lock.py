"""The uv.lock fixer against the real uv and the real PyPI.

Projects are built in tmp_path and locked by the real uv. To lock an old transitive version,
the first `uv lock` runs with a `[tool.uv] constraint-dependencies` hold; the hold is then
removed and the project relocked, which keeps the locked versions (the way
examples/webapp/uv.lock was made). Locks are read here with tomllib, independently of the
code under test; versions the index offers are never hard-coded, only the inputs are.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pytest
from packaging.version import Version
from uv import find_uv_bin

from patchpilot.errors import FixError
from patchpilot.fixers.changeset import ChangeSet, write_changeset
from patchpilot.fixers.interface import Bump, FixOutcome, Strategy
from patchpilot.fixers.uv_lock import UvLockFixer, _copy_project
from patchpilot.model import Ecosystem, NormalizedName

REPO = Path(__file__).resolve().parents[2]
WEBAPP = REPO / "examples" / "webapp"
UV = find_uv_bin()


def _uv(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "UV_NO_PROGRESS": "1"}
    return subprocess.run(
        [UV, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120
    )


def _pyproject(name: str, dependencies: Sequence[str], hold: Sequence[str] = ()) -> str:
    lines = [
        "[project]",
        f'name = "{name}"',
        'version = "0.1.0"',
        'requires-python = ">=3.11"',
        "dependencies = [",
        *(f'    "{d}",' for d in dependencies),
        "]",
    ]
    if hold:
        lines += ["", "[tool.uv]", "constraint-dependencies = [", *(f'    "{h}",' for h in hold)]
        lines.append("]")
    return "\n".join(lines) + "\n"


def locked_project(root: Path, dependencies: Sequence[str], hold: Sequence[str] = ()) -> Path:
    """A uv project in `root`, locked for real; `hold` constrains only the first lock."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(_pyproject(root.name, dependencies, hold))
    first = _uv(root, "lock")
    assert first.returncode == 0, first.stderr
    if hold:
        (root / "pyproject.toml").write_text(_pyproject(root.name, dependencies))
        second = _uv(root, "lock")
        assert second.returncode == 0, second.stderr
    return root


def versions(lock: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pkg in tomllib.loads(lock)["package"]:
        if "editable" in pkg["source"] or "virtual" in pkg["source"]:
            continue
        out.setdefault(pkg["name"], []).append(pkg["version"])
    return out


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def bump(
    name: str, current: str, target: str, *, direct: bool, parents: tuple[str, ...] = ()
) -> Bump:
    return Bump(Ecosystem.PYPI, NormalizedName(name), current, target, direct, parents)


def edit(outcome: FixOutcome, path: str) -> tuple[str, str]:
    found = [e for e in outcome.edits if e.path == path]
    assert len(found) == 1, [e.path for e in outcome.edits]
    before, after = found[0].before, found[0].after
    assert before is not None and after is not None
    return before, after


def applied_in_sync(project: Path, outcome: FixOutcome, tmp: Path) -> None:
    """Write the edits into a fresh copy and let uv confirm the pair is consistent."""
    copy = tmp / "applied"
    shutil.copytree(project, copy)
    write_changeset(ChangeSet(("test",), outcome.edits), copy, dry_run=False)
    check = _uv(copy, "lock", "--check")
    assert check.returncode == 0, check.stderr


@pytest.fixture
def webapp(tmp_path: Path) -> Path:
    target = tmp_path / "webapp"
    shutil.copytree(WEBAPP, target, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    return target


@pytest.mark.slow
@pytest.mark.network
def test_webapp_urllib3_in_place_and_pyyaml_relax_in_one_call(webapp: Path, tmp_path: Path) -> None:
    before = snapshot(webapp)
    old = versions((webapp / "uv.lock").read_text())
    fixer = UvLockFixer()
    outcome = fixer.fix(
        webapp,
        webapp / "uv.lock",
        [
            bump("urllib3", "1.26.4", "1.26.19", direct=False, parents=("requests",)),
            bump("pyyaml", "5.3.1", "5.4", direct=True),
        ],
    )
    assert snapshot(webapp) == before  # the user's files are byte-identical
    assert outcome.ok
    urllib3, pyyaml = outcome.outcomes
    assert (urllib3.strategy, urllib3.resolved, urllib3.co_upgrades) == (
        Strategy.IN_PLACE,
        "1.26.19",
        (),
    )
    assert (pyyaml.strategy, pyyaml.resolved) == (Strategy.RELAX, "5.4")
    assert outcome.commands == (
        "uv lock --check",
        "uv lock --upgrade-package urllib3==1.26.19",
        "uv lock --upgrade-package pyyaml==5.4",
    )
    assert [r.command for r in fixer.runs] == list(outcome.commands)
    assert all(r.returncode == 0 and r.seconds > 0 for r in fixer.runs)

    manifest_before, manifest_after = edit(outcome, "pyproject.toml")
    assert manifest_after == manifest_before.replace('"pyyaml==5.3.1"', '"pyyaml==5.4"')
    lock_before, lock_after = edit(outcome, "uv.lock")
    assert lock_before == (webapp / "uv.lock").read_text()
    new = versions(lock_after)
    changed = {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}
    assert changed == {"urllib3", "pyyaml"}
    assert new["urllib3"] == ["1.26.19"] and new["pyyaml"] == ["5.4"]
    applied_in_sync(webapp, outcome, tmp_path)


@pytest.mark.slow
@pytest.mark.network
def test_transitive_held_low_only_by_the_lock_moves_in_place(tmp_path: Path) -> None:
    project = locked_project(tmp_path / "inplace", ["requests>=2.31"], hold=["idna==3.4"])
    assert versions((project / "uv.lock").read_text())["idna"] == ["3.4"]
    outcome = UvLockFixer().fix(
        project, project / "uv.lock", [bump("idna", "3.4", "3.7", direct=False)]
    )
    (result,) = outcome.outcomes
    assert (result.strategy, result.resolved, result.co_upgrades) == (Strategy.IN_PLACE, "3.7", ())
    assert [e.path for e in outcome.edits] == ["uv.lock"]  # no manifest change
    old = versions((project / "uv.lock").read_text())
    new = versions(edit(outcome, "uv.lock")[1])
    assert {n for n in new if new[n] != old.get(n)} == {"idna"}


@pytest.mark.slow
@pytest.mark.network
def test_override_when_the_exact_target_cannot_be_locked(tmp_path: Path) -> None:
    # requests 2.26.0 needs charset-normalizer~=2.0.0, which the direct pin 2.1.1 forbids;
    # later requests accept it. `--upgrade-package requests==2.26.0` must fail, and only the
    # constraint `requests>=2.26.0` lets uv pick a version that fits.
    project = locked_project(
        tmp_path / "override",
        ["charset-normalizer==2.1.1", "requests-toolbelt"],
        hold=["requests==2.25.1"],
    )
    assert versions((project / "uv.lock").read_text())["requests"] == ["2.25.1"]
    fixer = UvLockFixer()
    outcome = fixer.fix(
        project,
        project / "uv.lock",
        [bump("requests", "2.25.1", "2.26.0", direct=False, parents=("requests-toolbelt",))],
    )
    (result,) = outcome.outcomes
    assert result.strategy is Strategy.OVERRIDE
    assert result.resolved is not None and Version(result.resolved) >= Version("2.26.0")
    in_place = [r for r in fixer.runs if r.command == "uv lock --upgrade-package requests==2.26.0"]
    assert [r.returncode for r in in_place] == [1]
    assert "charset-normalizer" in result.reason
    _, manifest = edit(outcome, "pyproject.toml")
    assert tomllib.loads(manifest)["tool"]["uv"]["constraint-dependencies"] == ["requests>=2.26.0"]
    new = versions(edit(outcome, "uv.lock")[1])
    assert new["requests"] == [result.resolved]
    assert new["charset-normalizer"] == ["2.1.1"]  # the direct pin is respected
    applied_in_sync(project, outcome, tmp_path)


@pytest.mark.slow
@pytest.mark.network
def test_a_parent_uv_moves_by_itself_is_reported_as_a_co_upgrade(tmp_path: Path) -> None:
    # requests is only held at 2.25.1 (idna<3) by the lock: the exact target makes uv move it.
    project = locked_project(
        tmp_path / "moves", ["requests>=2.25"], hold=["requests==2.25.1", "idna==2.10"]
    )
    outcome = UvLockFixer().fix(
        project, project / "uv.lock", [bump("idna", "2.10", "3.7", direct=False)]
    )
    (result,) = outcome.outcomes
    assert result.strategy is Strategy.CO_UPGRADE
    assert result.resolved == "3.7"
    new = versions(edit(outcome, "uv.lock")[1])
    assert result.co_upgrades == (("requests", "2.25.1", new["requests"][0]),)
    assert outcome.commands == ("uv lock --check", "uv lock --upgrade-package idna==3.7")
    assert [e.path for e in outcome.edits] == ["uv.lock"]


@pytest.mark.slow
@pytest.mark.network
def test_co_upgrade_moves_a_pinned_parent(tmp_path: Path) -> None:
    project = locked_project(tmp_path / "coup", ["requests==2.25.1"])
    old = versions((project / "uv.lock").read_text())
    assert Version(old["idna"][0]) < Version("3")
    outcome = UvLockFixer().fix(
        project,
        project / "uv.lock",
        [
            bump("idna", old["idna"][0], "3.7", direct=False, parents=("requests",)),
            # Already past its target once idna's co-upgrade moved it: nothing more to run.
            bump("requests", "2.25.1", "2.26.0", direct=True),
            bump("flask", "1.0", "2.0", direct=True),  # not in this lock at all
        ],
    )
    result, follower, absent = outcome.outcomes
    assert result.strategy is Strategy.CO_UPGRADE
    assert result.resolved == "3.7"
    new = versions(edit(outcome, "uv.lock")[1])
    assert result.co_upgrades == (("requests", "2.25.1", new["requests"][0]),)
    assert Version(new["requests"][0]) >= Version("2.26")  # the first to allow idna 3
    _, manifest = edit(outcome, "pyproject.toml")
    data = tomllib.loads(manifest)
    assert data["project"]["dependencies"] == ["requests>=2.25.1"]
    assert data["tool"]["uv"]["constraint-dependencies"] == ["idna>=3.7"]
    assert outcome.commands[-1] == "uv lock --upgrade-package idna==3.7 --upgrade-package requests"
    assert (follower.strategy, follower.resolved) == (Strategy.IN_PLACE, new["requests"][0])
    assert (absent.strategy, absent.resolved) == (None, None)
    assert "flask is not in" in absent.reason
    applied_in_sync(project, outcome, tmp_path)


@pytest.mark.slow
@pytest.mark.network
def test_an_impossible_bump_reports_the_resolvers_reason_and_changes_nothing(
    tmp_path: Path,
) -> None:
    # Every requests the project allows (<2.26) requires idna<3: no parent version fits.
    project = locked_project(tmp_path / "stuck", ["requests>=2.24,<2.26"])
    before = snapshot(project)
    idna = versions((project / "uv.lock").read_text())["idna"][0]
    outcome = UvLockFixer().fix(
        project,
        project / "uv.lock",
        [bump("idna", idna, "3.7", direct=False, parents=("requests",))],
    )
    (result,) = outcome.outcomes
    assert result.strategy is None and result.resolved is None
    assert not outcome.ok
    assert "requests" in result.reason and "idna" in result.reason
    assert "your project depends on requests>=2.24,<2.26" in result.reason  # uv's own words
    assert outcome.edits == ()  # the failed bump's manifest edits were rolled back
    assert snapshot(project) == before


@pytest.mark.slow
@pytest.mark.network
def test_a_package_locked_at_two_versions_keeps_the_copy_above_the_target(tmp_path: Path) -> None:
    project = locked_project(
        tmp_path / "fork",
        ["urllib3==1.26.5; python_version < '3.12'", "urllib3==2.0.2; python_version >= '3.12'"],
    )
    outcome = UvLockFixer().fix(
        project, project / "uv.lock", [bump("urllib3", "1.26.5", "1.26.18", direct=True)]
    )
    (result,) = outcome.outcomes
    assert result.strategy is Strategy.RELAX
    new = versions(edit(outcome, "uv.lock")[1])
    assert sorted(new["urllib3"], key=Version) == ["1.26.18", "2.0.2"]
    _, manifest = edit(outcome, "pyproject.toml")
    assert tomllib.loads(manifest)["project"]["dependencies"] == [
        "urllib3==1.26.18; python_version < '3.12'",
        "urllib3==2.0.2; python_version >= '3.12'",
    ]


@pytest.mark.network
def test_an_out_of_sync_lock_is_a_fix_error(webapp: Path) -> None:
    manifest = webapp / "pyproject.toml"
    manifest.write_text(manifest.read_text().replace("pyyaml==5.3.1", "pyyaml==5.4"))
    with pytest.raises(
        FixError,
        match=r"webapp/uv\.lock: uv\.lock is out of sync with pyproject\.toml: run `uv lock`",
    ):
        UvLockFixer().fix(webapp, webapp / "uv.lock", [bump("pyyaml", "5.3.1", "5.4", direct=True)])


def test_an_unreachable_index_is_a_fix_error_with_uvs_message(
    webapp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A closed local port stands for an index that cannot be reached.
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    with pytest.raises(FixError, match=r"uv lock --check.*failed") as caught:
        UvLockFixer().fix(webapp, webapp / "uv.lock", [bump("pyyaml", "5.3.1", "5.4", direct=True)])
    assert "127.0.0.1:9" in str(caught.value)


def test_missing_uv_is_a_fix_error(webapp: Path, tmp_path: Path) -> None:
    fixer = UvLockFixer(uv=tmp_path / "no-such-uv")
    with pytest.raises(FixError, match="uv not found"):
        fixer.fix(webapp, webapp / "uv.lock", [bump("pyyaml", "5.3.1", "5.4", direct=True)])


def test_a_uv_run_past_its_timeout_is_a_fix_error(webapp: Path) -> None:
    with pytest.raises(FixError, match=r"`uv lock --check` did not finish within"):
        UvLockFixer(timeout=0.001).fix(
            webapp, webapp / "uv.lock", [bump("pyyaml", "5.3.1", "5.4", direct=True)]
        )


def test_a_lockfile_without_a_pyproject_is_a_fix_error(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_bytes((WEBAPP / "uv.lock").read_bytes())
    with pytest.raises(FixError, match=r"uv\.lock: no pyproject\.toml beside it"):
        UvLockFixer().fix(
            tmp_path, tmp_path / "uv.lock", [bump("pyyaml", "5.3.1", "5.4", direct=True)]
        )
    (tmp_path / "sub").mkdir()
    with pytest.raises(FixError, match="not inside the project"):
        UvLockFixer().fix(tmp_path / "sub", tmp_path / "uv.lock", [])


def test_no_bumps_run_nothing(webapp: Path) -> None:
    fixer = UvLockFixer()
    outcome = fixer.fix(webapp, webapp / "uv.lock", [])
    assert (outcome.lockfile, outcome.outcomes, outcome.edits, outcome.commands) == (
        "uv.lock",
        (),
        (),
        (),
    )
    assert fixer.runs == ()


def test_the_private_copy_leaves_out_vcs_virtualenvs_and_caches(
    webapp: Path, tmp_path: Path
) -> None:
    for junk in (".git/HEAD", "node_modules/x/index.js", "env/pyvenv.cfg", "src/__pycache__/a.pyc"):
        (webapp / junk).parent.mkdir(parents=True, exist_ok=True)
        (webapp / junk).write_text("x")
    _copy_project(webapp, tmp_path / "copy")
    copied = set(snapshot(tmp_path / "copy"))
    assert {"pyproject.toml", "uv.lock", "README.md"} <= copied
    assert not {c for c in copied if c.split("/")[0] in (".git", "node_modules", "env")}
    assert not any("__pycache__" in c for c in copied)
