"""`patchpilot run` merges two fixes that conflict with each other, in one run.

A small project pins urllib3 1.26.4 and werkzeug 3.0.0 on adjacent lines of a `requirements.txt`
compiled by `uv pip compile`; its tests call the code both fixes change. Both fixes are
patch-level and verified, so the default policy grants both level 3. Both branches start from
the same commit, so once the first is merged the second conflicts in `requirements.txt`:
`run` remakes that fix on top of the target's new tip (the stale branch is deleted and the
ledger says by which branch it was superseded), verifies, decides and merges it. Real PyPA
advisories, real PyPI resolution, real test runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from patchpilot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "tests" / "assets" / "e2e" / "refresh" / "project"
PYPA = ROOT.parent / "shared" / "osv" / "pypa-advisory-database.zip"
PACKAGES = {"urllib3", "werkzeug"}

pytestmark = [pytest.mark.slow, pytest.mark.network]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def uv() -> str:
    from uv import find_uv_bin

    return str(find_uv_bin())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store with every PyPA advisory about urllib3 or werkzeug, and nothing else."""
    if not PYPA.is_file():
        pytest.skip(f"{PYPA} is not there")
    records = tmp_path / "advisories"
    records.mkdir()
    with zipfile.ZipFile(PYPA) as z:
        for name in z.namelist():
            data = z.read(name)
            doc = json.loads(data)
            if any(a["package"]["name"].lower() in PACKAGES for a in doc.get("affected", [])):
                (records / name).write_bytes(data)
    path = tmp_path / "store.sqlite3"
    assert main(["--db", str(path), "-q", "db", "import", str(records), "-f", "json"]) == 0
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "tinyapp"
    shutil.copytree(PROJECT, repo)
    subprocess.run(
        [uv(), "pip", "compile", "--quiet", "requirements.in", "-o", "requirements.txt",
         "--no-annotate", "--python-version", "3.11",
         "-P", "urllib3==1.26.4", "-P", "werkzeug==3.0.0"],
        cwd=repo, check=True, capture_output=True,
    )  # fmt: skip
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    return repo


def json_out(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    capsys.readouterr()
    assert main(list(args)) == 0
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    return doc


def test_conflicting_fixes_both_merge_in_one_run(
    repo: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pins = repo / "requirements.txt"
    before = pins.read_text(encoding="utf-8").splitlines()
    assert "urllib3==1.26.4" in before and "werkzeug==3.0.0" in before
    # The two pins are neighbours: fixes made from the same commit cannot both merge as made.
    assert abs(before.index("urllib3==1.26.4") - before.index("werkzeug==3.0.0")) == 1
    base = git(repo, "rev-parse", "HEAD").strip()

    # The plan: one patch-level pin move per package, as the default policy merges them.
    plan = json_out(capsys, "--db", str(db), "-q", "plan", str(repo), "-f", "json")
    rems = plan["remediations"]
    assert isinstance(rems, list)
    assert {r["package"]["name"] for r in rems} == PACKAGES
    for r in rems:
        assert r["upgrade_level"] == "patch", r
        assert r["strategy"] in ("in-place", "relax"), r
    targets = {r["package"]["name"]: r["to"] for r in rems}

    doc = json_out(capsys, "--db", str(db), "-q", "run", str(repo), "-f", "json", "--no-codefix")
    actions = doc["actions"]
    assert isinstance(actions, list)
    assert len(actions) == 2, actions
    for a in actions:
        assert a["verify"] == "verified", a["summary"]
        assert a["decision"]["level"] == 3, a["decision"]
        assert a["delivered"] == "merged", a
    first, second = actions
    assert not first["notes"], first
    assert any("remade on main" in n for n in second["notes"]), second

    # Both fixes are on main, one merge after the other; the second was remade on the first.
    assert git(repo, "rev-parse", "main").strip() == second["merge_commit"]
    assert git(repo, "rev-parse", f"{first['merge_commit']}^1").strip() == base
    assert git(repo, "rev-parse", f"{second['merge_commit']}^1").strip() == first["merge_commit"]
    remade = git(repo, "rev-parse", f"{second['merge_commit']}^2").strip()
    assert git(repo, "rev-parse", f"{remade}^1").strip() == first["merge_commit"]
    after = pins.read_text(encoding="utf-8").splitlines()
    for name, version in targets.items():
        assert f"{name}=={version}" in after, (name, version, after)
    assert git(repo, "status", "--porcelain") == ""
    # The stale branch, and the merged ones, are gone.
    assert git(repo, "branch", "--list", "--format=%(refname:short)").split() == ["main"]
    capsys.readouterr()
    assert main(["--db", str(db), "-q", "scan", str(repo), "-f", "json"]) == 0

    # The ledger tells it: the stale branch superseded by the remade one, whose branch, verify,
    # decide and merge events name the same remediation and findings.
    out = repo.parent / "ledger.jsonl"
    assert main(["--db", str(db), "-q", "ledger", "export", "-o", str(out)]) == 0
    events = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    made = [e for e in events if e["kind"] == "branch"]
    stale = made[1]["body"]["outcome"]["branch"]
    assert stale != second["branch"]
    assert [e["body"]["outcome"]["branch"] for e in made] == [
        first["branch"],
        stale,
        second["branch"],
    ]
    superseded = [
        e for e in events if e["kind"] == "deliver" and f"branch:{stale}" in e["subjects"]
    ]
    assert len(superseded) == 1
    assert f"superseded by {second['branch']}" in superseded[0]["summary"]
    same = {s for s in made[1]["subjects"] if not s.startswith(("branch:", "commit:"))}
    assert f"remediation:{second['remediations'][0]}" in same
    for kind in ("branch", "verify", "decide", "merge"):
        mine = [
            e for e in events if e["kind"] == kind and f"branch:{second['branch']}" in e["subjects"]
        ]
        assert len(mine) == 1, (kind, mine)
        assert same <= set(mine[0]["subjects"]), (kind, same, mine[0]["subjects"])
    assert main(["--db", str(db), "-q", "ledger", "verify"]) == 0

    capsys.readouterr()
    finding = str(second["findings"][0])
    assert main(["--db", str(db), "-q", "explain", finding, "-f", "table"]) == 0
    story = capsys.readouterr().out
    for fact in (stale, "superseded", str(second["branch"]), str(second["action"])):
        assert fact in story, (fact, story)
    assert str(second["merge_commit"])[:12] in story
