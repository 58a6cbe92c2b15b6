"""Helpers for the delivery tests: real git repositories and a byte-exact checkout snapshot.

`make_repo` makes a repository with the real git CLI: a small Python project (a uv project
from tests/assets/fixers/deltas, plus a source file) committed on `main`. `snapshot` records
what a fix must never change: the status, HEAD, the current branch, the index file's bytes
and every working-tree file's bytes. (A module of its own, not conftest.py, so test modules
can import it by a name no other directory uses.)
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "fixers" / "deltas"
TEST_IDENTITY = ("-c", "user.name=Test User", "-c", "user.email=test@example.org")


def git(repo: Path, *args: str, check: bool = True) -> str:
    """Run the real git in `repo` the way a user would (their config, their hooks)."""
    proc = subprocess.run(
        ["git", *TEST_IDENTITY, "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def snapshot(repo: Path) -> dict[str, Any]:
    """Everything about the user's checkout that a fix must leave byte-identical."""
    files = {
        p.relative_to(repo).as_posix(): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(repo).parts
    }
    return {
        "status": git(
            repo, "--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all"
        ),
        "head": git(repo, "rev-parse", "HEAD"),
        "branch": git(repo, "symbolic-ref", "-q", "HEAD", check=False),
        "index": (repo / ".git" / "index").read_bytes(),
        "files": files,
    }


def make_repo(path: Path, project: str = "requests-before") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copyfile(ASSETS / project / name, path / name)
    (path / "app.py").write_text("import requests\n\nprint(requests.__version__)\n")
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "Initial project")
    return path
