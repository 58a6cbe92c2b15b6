"""`patchpilot plan` and `patchpilot fix` end to end on the bundled example, for real.

The example is copied into a fresh git repository; uv resolves against PyPI. The user's
branch and working tree must be byte-identical afterwards, the fix branch must re-scan clean
for every targeted finding, and the PR body must list every package delta of the lockfile.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from patchpilot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "webapp"
ADVISORIES = ROOT / "examples" / "advisories"

pytestmark = [pytest.mark.slow, pytest.mark.network]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    project = tmp_path / "notify"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "initial")
    return project


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite3"
    assert main(["--db", str(path), "db", "import", str(ADVISORIES), "-f", "json"]) == 0
    return path


def snapshot(repo: Path) -> tuple[str, str, str, dict[str, bytes]]:
    files = {
        str(p.relative_to(repo)): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }
    return (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "branch", "--show-current"),
        git(repo, "status", "--porcelain"),
        files,
    )


def test_plan_reports_strategies_and_deltas(
    repo: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--db", str(db), "plan", str(repo), "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "patchpilot.plan/1"
    by_name = {r["package"]["name"]: r for r in doc["remediations"]}
    urllib3 = by_name["urllib3"]
    assert urllib3["package"]["direct"] is False
    assert urllib3["kind"] == "override"
    assert urllib3["upgrade_level"] == "patch"
    assert urllib3["strategy"] == "in-place"
    assert urllib3["findings_left_open"] == []
    assert urllib3["findings_introduced"] == []
    pyyaml = by_name["pyyaml"]
    assert (pyyaml["from"], pyyaml["to"], pyyaml["upgrade_level"]) == ("5.3.1", "5.4", "minor")
    assert pyyaml["strategy"] == "relax"
    # idna 3.7 is forbidden by requests 2.25.1 (idna<3): requests must move with it
    idna = by_name["idna"]
    assert idna["strategy"] == "co-upgrade"
    assert [c["package"] for c in idna["co_upgrades"]] == ["requests"]
    # Jinja2 only fixes its advisories in 3.x, which removed jinja2.Markup (render.py uses it)
    jinja2 = by_name["jinja2"]
    (verdict,) = jinja2["breaking"]
    assert verdict["verdict"] == "breaks-project"
    render = (repo / "src" / "notify" / "render.py").read_text().splitlines()
    markup_import = next(
        i for i, line in enumerate(render, 1) if "import" in line and "Markup" in line
    )
    assert {"path": "src/notify/render.py", "line": markup_import} in [
        {"path": x["path"], "line": x["line"]} for x in verdict["sites"]
    ]
    assert pyyaml["breaking"][0]["verdict"] in ("compatible", "api-changed-unused")


def test_fix_makes_an_honest_branch_and_leaves_the_tree_alone(
    repo: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "scratch.txt").write_text("uncommitted\n", encoding="utf-8")
    before = snapshot(repo)
    capsys.readouterr()
    code = main(["--db", str(db), "fix", str(repo), "-f", "json", "--upgrade-config", "minor"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert snapshot(repo) == before
    branch = doc["branch"]
    assert branch.startswith("patchpilot/fix-")
    assert git(repo, "rev-parse", "--verify", branch).strip() == doc["branches"][0]["commits"][0]
    assert any("uncommitted" in n for n in doc["notes"])
    # every delta of the lockfile diff is in the PR body, and the commit carries the body
    body = doc["branches"][0]["pr_body"]
    message = git(repo, "log", "-1", "--format=%B", branch)
    assert message.strip() == body.strip()
    for delta in doc["branches"][0]["deltas"]:
        assert f"| {delta['name']} |" in body or delta["name"] in body
    # re-scan of the branch: the fixed findings are gone
    worktree = repo.parent / "check"
    git(repo, "worktree", "add", "-q", str(worktree), branch)
    try:
        capsys.readouterr()
        main(["--db", str(db), "scan", str(worktree), "-f", "json"])
        after = json.loads(capsys.readouterr().out)
        left = {f["id"] for f in after["findings"]}
        assert not left & set(doc["branches"][0]["findings_fixed"])
    finally:
        git(repo, "worktree", "remove", "--force", str(worktree))


def test_fix_dry_run_writes_nothing(
    repo: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(repo)
    branches = git(repo, "branch", "--list")
    capsys.readouterr()
    assert main(["--db", str(db), "fix", str(repo), "--dry-run", "-f", "json",
                 "--upgrade-config", "urllib3:patch", "--upgrade-config", "none"]) == 0  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert snapshot(repo) == before
    assert git(repo, "branch", "--list") == branches
    assert doc["branch"] is None
    assert (
        '+version = "1.26.19"' in doc["branches"][0]["diff"]
        or "1.26.19" in doc["branches"][0]["diff"]
    )


def test_fix_outside_git_is_a_clean_error(
    tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "plain"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".venv"))
    capsys.readouterr()
    code = main(["--db", str(db), "fix", str(project), "-f", "json"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "not a git repository" in err.lower() or "git" in err


def test_plan_npm_transitive_copies_are_measured_separately(
    tmp_path: Path, osv_store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # minimist is locked twice (0.0.8 under mkdirp, 1.2.0 under rc): each remediation is
    # measured on its own copy, so fixing one is not reported as open because of the other.
    project = tmp_path / "npm"
    shutil.copytree(ROOT / "tests" / "assets" / "fixers" / "npm" / "transitive", project)
    capsys.readouterr()
    assert main(["--db", str(osv_store_path), "plan", str(project), "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    minimist = [r for r in doc["remediations"] if r["package"]["name"] == "minimist"]
    assert {r["from"] for r in minimist} == {"0.0.8", "1.2.0"}
    for r in minimist:
        assert r["strategy"] is not None, r
        assert r["findings_left_open"] == [], r
        assert r["findings_fixed"] == r["finding_ids"]


def test_fix_group_package_makes_one_branch_per_remediation(
    repo: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(repo)
    capsys.readouterr()
    code = main(["--db", str(db), "fix", str(repo), "-f", "json", "--group", "package",
                 "--upgrade-config", "none", "--upgrade-config", "urllib3:patch",
                 "--upgrade-config", "pyyaml:minor"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert snapshot(repo) == before
    names = sorted(b["branch"] for b in doc["branches"])
    assert names == ["patchpilot/fix-pyyaml-5.4", "patchpilot/fix-urllib3-1.26.19"]
    for b in doc["branches"]:
        changed = git(repo, "diff", "--name-only", "main", b["branch"]).split()
        assert "uv.lock" in changed
        assert len(git(repo, "rev-list", f"main..{b['branch']}").split()) == 1


def test_plan_reports_a_dependency_the_upgrade_breaks_and_its_cure(
    tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Flask 1.1.2 declares Jinja2>=2.10.1 with no upper bound, so the resolver lets Jinja2 move
    # to 3.1.4 (which fixes its advisories) - but Flask 1.1.2 itself imports jinja2.Markup.
    project = tmp_path / "site"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "site"\nversion = "1"\nrequires-python = ">=3.11"\n'
        'dependencies = ["flask==1.1.2", "jinja2==2.11.3", "werkzeug<2", "itsdangerous<2",'
        ' "markupsafe<2.1"]\n',
        encoding="utf-8",
    )
    (project / "app.py").write_text("import flask\n\napp = flask.Flask(__name__)\n")
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    assert uv is not None
    subprocess.run([uv, "lock", "-q"], cwd=project, check=True)
    capsys.readouterr()
    assert main(["--db", str(db), "plan", str(project), "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    jinja2 = next(r for r in doc["remediations"] if r["package"]["name"] == "jinja2")
    assert jinja2["to"] == "3.1.4"
    (flask,) = [d for d in jinja2["breaking_dependents"] if d["dependent"] == "flask"]
    assert flask["verdict"] == "breaks-dependency"
    assert any("jinja2.Markup" in s["message"] or "jinja2.escape" in s["message"]
               for s in flask["sites"])  # fmt: skip
    assert flask["cure"] is not None
    assert int(flask["cure"].split(".")[0]) >= 2
    assert "trade-off" in jinja2["reason"]
