"""The package-lock.json fixer against the real npm and the real npm registry.

The projects under tests/assets/fixers/npm were locked by the real npm (see the README
there). Targets come from the real GHSA records in shared/osv/ghsa-sample.zip: the largest
`fixed` version among the ranges that hold the locked version. Versions the registry offers
above the target are never hard-coded: the tests compare against the target and against
what the asset locks record.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import semver

from patchpilot.errors import FixError
from patchpilot.fixers.changeset import ChangeSet, write_changeset
from patchpilot.fixers.interface import Bump, FixOutcome, Strategy
from patchpilot.fixers.npm_lock import ENV_NPM, NpmLockFixer
from patchpilot.model import Ecosystem, NormalizedName

TESTS = Path(__file__).resolve().parents[1]
ASSETS = TESTS / "assets" / "fixers" / "npm"
GHSA = TESTS.parents[1] / "shared" / "osv" / "ghsa-sample.zip"
V1_LOCK = TESTS / "assets" / "sources" / "other" / "npm-v1"
NPM = shutil.which("npm")
FLAGS = ("--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund")


@functools.cache
def target(name: str, current: str) -> str:
    """The smallest version outside every GHSA-sample range that holds `name` `current`."""
    held = semver.Version.parse(current)
    fixes: list[semver.Version] = []
    with zipfile.ZipFile(GHSA) as archive:
        for member in archive.namelist():
            record = json.loads(archive.read(member))
            for affected in record.get("affected", []):
                package = affected.get("package", {})
                if package.get("ecosystem") != "npm" or package.get("name", "").lower() != name:
                    continue
                for rng in affected.get("ranges", []):
                    low = semver.Version(0)
                    for event in rng.get("events", []):
                        if "introduced" in event:
                            low = semver.Version.parse(event["introduced"], True)
                        elif "fixed" in event:
                            fixed = semver.Version.parse(event["fixed"])
                            if low <= held < fixed:
                                fixes.append(fixed)
    assert fixes, f"no GHSA-sample record holds {name} {current}"
    return str(max(fixes))


def project(tmp_path: Path, name: str) -> Path:
    copy = tmp_path / name
    shutil.copytree(ASSETS / name, copy)
    return copy


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def bump(name: str, current: str, *, direct: bool, parents: tuple[str, ...] = ()) -> Bump:
    return Bump(
        Ecosystem.NPM, NormalizedName(name), current, target(name, current), direct, parents
    )


def edit(outcome: FixOutcome, path: str) -> tuple[str, str]:
    found = [e for e in outcome.edits if e.path == path]
    assert len(found) == 1, [e.path for e in outcome.edits]
    before, after = found[0].before, found[0].after
    assert before is not None and after is not None
    return before, after


def installed(lock_text: str) -> dict[str, dict[str, Any]]:
    packages: dict[str, dict[str, Any]] = json.loads(lock_text)["packages"]
    return {k: v for k, v in packages.items() if "node_modules/" in k}


def copies(lock_text: str, name: str) -> list[str]:
    return sorted(
        (
            v["version"]
            for k, v in installed(lock_text).items()
            if k.endswith(f"node_modules/{name}")
        ),
        key=semver.Version.parse,
    )


def npm(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert NPM is not None
    return subprocess.run(
        [NPM, *args, *FLAGS],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def applied_in_sync(root: Path, outcome: FixOutcome, tmp: Path) -> Path:
    """Write the edits into a fresh copy; npm must then find nothing to change or complain of."""
    copy = tmp / "applied"
    shutil.copytree(root, copy)
    write_changeset(ChangeSet(("test",), outcome.edits), copy, dry_run=False)
    locked = (copy / "package-lock.json").read_text()
    again = npm(copy, "install")
    assert again.returncode == 0, again.stderr
    assert {k: v["version"] for k, v in installed(locked).items()} == {
        k: v["version"] for k, v in installed((copy / "package-lock.json").read_text()).items()
    }
    listing = npm(copy, "ls", "--all")
    assert listing.returncode == 0, listing.stdout + listing.stderr
    return copy


@pytest.mark.slow
@pytest.mark.network
def test_direct_in_place_at_the_target_and_pinned_dev_dependency_relaxed(tmp_path: Path) -> None:
    root = project(tmp_path, "direct")
    before = snapshot(root)
    lodash = bump("lodash", "4.17.15", direct=True)
    minimist = bump("minimist", "1.2.0", direct=True)
    absent = Bump(Ecosystem.NPM, NormalizedName("left-pad"), "1.0.0", "1.3.0", True)
    fixer = NpmLockFixer()

    outcome = fixer.fix(root, root / "package-lock.json", [lodash, minimist, absent])

    assert snapshot(root) == before  # the user's files are never written
    first, second, third = outcome.outcomes
    assert (first.strategy, first.resolved) == (Strategy.IN_PLACE, lodash.target)
    assert (second.strategy, second.resolved) == (Strategy.RELAX, minimist.target)
    assert third.strategy is None and "not in" in third.reason
    assert not outcome.ok
    # The manifest keeps lodash's caret range; minimist's exact pin stays exact.
    manifest_before, manifest_after = edit(outcome, "package.json")
    assert manifest_after == manifest_before.replace(
        '"minimist": "1.2.0"', f'"minimist": "{minimist.target}"'
    )
    lock_before, lock_after = edit(outcome, "package-lock.json")
    after = installed(lock_after)
    assert after["node_modules/lodash"]["version"] == lodash.target
    assert after["node_modules/minimist"]["version"] == minimist.target
    assert after["node_modules/minimist"]["dev"] is True
    # The lock recorded registry URLs, so the new entries do too.
    assert "resolved" in installed(lock_before)["node_modules/lodash"]
    assert after["node_modules/lodash"]["resolved"].endswith(f"lodash-{lodash.target}.tgz")
    assert f"npm install lodash@{lodash.target} " + " ".join(FLAGS) in " ".join(outcome.commands)
    assert all(cmd.startswith("npm ") and "--package-lock-only" in cmd for cmd in outcome.commands)
    assert [r.command for r in fixer.runs] == list(outcome.commands)
    applied_in_sync(root, outcome, tmp_path)


@pytest.mark.slow
@pytest.mark.network
def test_transitive_in_place_within_the_parent_range_then_co_upgrade(tmp_path: Path) -> None:
    root = project(tmp_path, "transitive")
    original = (root / "package-lock.json").read_text()
    locked = installed(original)
    # Two copies of minimist: one under rc's `^1.2.0`, one under mkdirp 0.5.1's exact pin.
    assert locked["node_modules/minimist"]["version"] == "1.2.0"
    assert locked["node_modules/mkdirp/node_modules/minimist"]["version"] == "0.0.8"
    newer = bump("minimist", "1.2.0", direct=False, parents=("rc",))
    older = bump("minimist", "0.0.8", direct=False, parents=("mkdirp",))

    outcome = NpmLockFixer().fix(root, root / "package-lock.json", [newer, older])

    first, second = outcome.outcomes
    assert first.strategy is Strategy.IN_PLACE, first.reason
    assert second.strategy is Strategy.CO_UPGRADE, second.reason
    parents = {p: (a, b) for p, a, b in second.co_upgrades}
    assert parents["mkdirp"][0] == "0.5.1"
    assert semver.Version.parse(parents["mkdirp"][1]) > semver.Version.parse("0.5.1")
    assert "override" in second.reason and "0.0.8" in second.reason  # tried and held back
    assert [e.path for e in outcome.edits] == ["package-lock.json"]  # no manifest change
    _, lock_after = edit(outcome, "package-lock.json")
    after = installed(lock_after)
    assert after["node_modules/rc"]["version"] == locked["node_modules/rc"]["version"]
    assert after["node_modules/mkdirp"]["version"] == parents["mkdirp"][1]
    assert all(
        semver.Version.parse(v) >= semver.Version.parse(newer.target)
        for v in copies(lock_after, "minimist")
    )
    applied_in_sync(root, outcome, tmp_path)


@pytest.mark.slow
@pytest.mark.network
def test_override_forced_when_no_parent_version_allows_the_target(tmp_path: Path) -> None:
    root = project(tmp_path, "forced")
    before = snapshot(root)
    original = (root / "package-lock.json").read_text()
    range_ = installed(original)["node_modules/optimist"]["dependencies"]["minimist"]
    minimist = bump("minimist", "0.0.10", direct=False, parents=("optimist",))

    outcome = NpmLockFixer().fix(root, root / "package-lock.json", [minimist])

    assert snapshot(root) == before
    (result,) = outcome.outcomes
    assert result.strategy is Strategy.OVERRIDE, result.reason
    assert result.resolved == minimist.target  # `^0.2.4`: no later 0.2.x exists
    assert "co-upgrade" in result.reason  # tried before forcing
    assert f'"{range_}" from node_modules/optimist' in result.reason
    manifest_before, manifest_after = edit(outcome, "package.json")
    assert json.loads(manifest_after)["overrides"] == {"minimist": f"^{minimist.target}"}
    assert manifest_after.startswith(manifest_before.removesuffix("\t}\n}\n"))
    assert f'\t"overrides": {{\n\t\t"minimist": "^{minimist.target}"\n\t}}\n}}\n' in manifest_after
    _, lock_after = edit(outcome, "package-lock.json")
    assert json.loads(lock_after)["lockfileVersion"] == 2
    assert lock_after.startswith("{\n\t")  # npm kept the file's tab indentation
    assert copies(lock_after, "minimist") == [minimist.target]
    applied_in_sync(root, outcome, tmp_path)


@pytest.mark.slow
@pytest.mark.network
def test_override_keyed_to_the_vulnerable_window_leaves_other_copies(tmp_path: Path) -> None:
    root = project(tmp_path, "transitive")
    manifest = root / "package.json"
    # A hyphen range the locked mkdirp 0.5.1 still satisfies, but no later mkdirp does.
    manifest.write_text(manifest.read_text().replace('"^0.5.1"', '"0.5.0 - 0.5.1"'))
    older = bump("minimist", "0.0.8", direct=False, parents=("mkdirp",))

    outcome = NpmLockFixer().fix(root, root / "package-lock.json", [older])

    (result,) = outcome.outcomes
    assert result.strategy is Strategy.OVERRIDE, result.reason
    _, manifest_after = edit(outcome, "package.json")
    key = f"minimist@>=0.0.8 <{older.target}"
    assert json.loads(manifest_after)["overrides"] == {key: f"^{older.target}"}
    _, lock_after = edit(outcome, "package-lock.json")
    after = installed(lock_after)
    assert after["node_modules/minimist"]["version"] == "1.2.0"  # rc's copy is not touched
    nested = after["node_modules/mkdirp/node_modules/minimist"]["version"]
    assert semver.Version.parse(nested) >= semver.Version.parse(older.target)
    assert nested.startswith("0.2.")


@pytest.mark.slow
@pytest.mark.network
def test_lock_out_of_sync_with_package_json_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path, "direct")
    manifest = root / "package.json"
    manifest.write_text(manifest.read_text().replace('"^4.17.15"', '"^4.17.20"'))
    before = snapshot(root)
    with pytest.raises(FixError, match=r"out of sync with package\.json") as caught:
        NpmLockFixer().fix(
            root, root / "package-lock.json", [bump("lodash", "4.17.15", direct=True)]
        )
    assert "node_modules/lodash 4.17.15 →" in str(caught.value)
    assert snapshot(root) == before


def test_broken_lockfiles_are_refused_before_npm_runs(tmp_path: Path) -> None:
    root = project(tmp_path, "direct")
    lock = root / "package-lock.json"
    text = lock.read_text()
    minimist = Bump(Ecosystem.NPM, NormalizedName("minimist"), "1.2.0", "1.2.6", True)
    # An npm that does not exist: nothing here may get as far as running it.
    fixer = NpmLockFixer(npm=tmp_path / "no-npm")

    lock.write_text(text[: len(text) // 2])
    with pytest.raises(FixError, match=r"package-lock.json:\d+: invalid JSON"):
        fixer.fix(root, lock, [minimist])

    lock.write_text(text.replace('"lockfileVersion": 3', '"lockfileVersion": 4'))
    with pytest.raises(FixError, match="lockfileVersion 4 is not supported"):
        fixer.fix(root, lock, [minimist])

    doc = json.loads(text)
    doc["packages"]["node_modules/lodash"] = ["not", "an", "entry"]
    lock.write_text(json.dumps(doc))
    with pytest.raises(FixError, match="the lock cannot be read"):
        fixer.fix(root, lock, [minimist])

    lock.write_text(text)
    (root / "package.json").write_text('{"dependencies": ["lodash"]}')
    with pytest.raises(FixError, match="dependencies: expected an object"):
        fixer.fix(root, lock, [minimist])

    (root / "package.json").unlink()
    with pytest.raises(FixError, match=r"no package\.json beside it"):
        fixer.fix(root, lock, [minimist])


def test_lockfile_version_1_asks_for_a_newer_npm(tmp_path: Path) -> None:
    root = tmp_path / "v1"
    shutil.copytree(V1_LOCK, root)
    assert json.loads((root / "package-lock.json").read_text())["lockfileVersion"] == 1
    if not (root / "package.json").exists():
        (root / "package.json").write_text('{"name": "v1"}\n')
    with pytest.raises(FixError, match="lockfileVersion 1 is not supported for fixing: run npm"):
        NpmLockFixer().fix(root, root / "package-lock.json", [])


def test_npm_missing_is_a_fix_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path, "direct")
    lodash = Bump(Ecosystem.NPM, NormalizedName("lodash"), "4.17.15", "4.17.21", True)
    with pytest.raises(FixError, match="npm not found at"):
        NpmLockFixer(npm=tmp_path / "nowhere" / "npm").fix(
            root, root / "package-lock.json", [lodash]
        )
    monkeypatch.setenv(ENV_NPM, str(tmp_path / "nowhere" / "npm"))
    with pytest.raises(FixError, match=f"npm not found at .*{ENV_NPM}"):
        NpmLockFixer().fix(root, root / "package-lock.json", [lodash])
    monkeypatch.delenv(ENV_NPM)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(FixError, match="npm is not installed"):
        NpmLockFixer().fix(root, root / "package-lock.json", [lodash])
