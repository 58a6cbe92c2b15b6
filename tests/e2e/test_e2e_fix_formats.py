"""`patchpilot fix` end to end on requirements files (plain and hashed) and poetry.lock.

Each case is a real project (files made by `uv pip compile` and Poetry 2, see
tests/assets/fixers/*/README.md) committed to a fresh git repository. The vulnerable transitive
idna 2.10 can only move to 3.7 together with its parent requests (requests 2.25.1 requires
idna<3), so the branch must carry a co-upgrade; it must re-scan clean, list every package delta
in its PR body, and leave the original branch and working tree byte-identical.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from patchpilot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
FIXERS = ROOT / "tests" / "assets" / "fixers"

pytestmark = [pytest.mark.slow, pytest.mark.network]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def make_repo(tmp_path: Path, files: dict[str, Path]) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    for name, source in files.items():
        shutil.copy(source, repo / name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    return repo


def tree(repo: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in repo.iterdir() if p.is_file()}


def run_fix(
    repo: Path, db: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, object]:
    head = git(repo, "rev-parse", "HEAD")
    files = tree(repo)
    capsys.readouterr()
    code = main(["--db", str(db), "fix", str(repo), "-f", "json", *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "branch", "--show-current").strip() == "main"
    assert tree(repo) == files
    assert git(repo, "status", "--porcelain") == ""
    doc: dict[str, object] = json.loads(out)
    return doc


def check_branch(
    repo: Path, db: Path, doc: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    branches = doc["branches"]
    assert isinstance(branches, list) and len(branches) == 1
    branch = branches[0]
    body = branch["pr_body"]
    for delta in branch["deltas"]:
        assert delta["name"] in body, delta
    assert git(repo, "log", "-1", "--format=%B", branch["branch"]).strip() == body.strip()
    check = repo.parent / "check"
    git(repo, "worktree", "add", "-q", str(check), branch["branch"])
    try:
        capsys.readouterr()
        main(["--db", str(db), "scan", str(check), "-f", "json"])
        after = json.loads(capsys.readouterr().out)
        remaining = {i for f in after["findings"] for i in (f["id"], *f["aliases"])}
        assert not remaining & set(branch["findings_fixed"])
        assert "idna" not in {f["package"]["name"] for f in after["findings"]}
    finally:
        git(repo, "worktree", "remove", "--force", str(check))


@pytest.mark.parametrize("variant", ["requirements.txt", "requirements-hashes.txt"])
def test_requirements_transitive_co_upgrade(
    tmp_path: Path, osv_store_path: Path, capsys: pytest.CaptureFixture[str], variant: str
) -> None:
    compiled = FIXERS / "req" / "compiled"
    repo = make_repo(tmp_path, {"requirements.txt": compiled / variant})
    doc = run_fix(repo, osv_store_path, capsys, "--upgrade-config", "minor",
                  "--upgrade-config", "idna:major")  # fmt: skip
    plan = doc["plan"]
    assert isinstance(plan, dict)
    idna = next(r for r in plan["remediations"] if r["package"]["name"] == "idna")
    assert idna["package"]["direct"] is False
    assert idna["strategy"] in ("co-upgrade", "override")
    assert "requests" in {c["package"] for c in idna["co_upgrades"]}
    check_branch(repo, osv_store_path, doc, capsys)
    new = git(repo, "show", f"{doc['branch']}:requirements.txt")
    if variant == "requirements-hashes.txt":
        for line in new.splitlines():
            if line.startswith("idna=="):
                assert line.startswith("idna==3.7")
        assert "--hash=sha256:" in new


def test_poetry_transitive_co_upgrade(
    tmp_path: Path, osv_store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pinned = FIXERS / "poetry" / "pinned"
    repo = make_repo(
        tmp_path,
        {"pyproject.toml": pinned / "pyproject.toml", "poetry.lock": pinned / "poetry.lock"},
    )
    doc = run_fix(repo, osv_store_path, capsys, "--upgrade-config", "none",
                  "--upgrade-config", "idna:major")  # fmt: skip
    plan = doc["plan"]
    assert isinstance(plan, dict)
    idna = next(r for r in plan["remediations"] if r["package"]["name"] == "idna")
    assert idna["strategy"] in ("co-upgrade", "override")
    check_branch(repo, osv_store_path, doc, capsys)
