"""`patchpilot codefix` end to end on the bundled example: Level 4 through the same gate.

The example has three code patterns and one weak TLS configuration:
- `requests.head` without a timeout and an MD5 digest used as a fingerprint, both executed by
  the example's tests: Tier A rewrites whose changed lines a passing test executes, merged at
  level 3 under the default policy;
- `yaml.load(..., Loader=yaml.FullLoader)`: the Tier A rewrite to SafeLoader passes every static
  check, but the example's own test feeds it a `!!python/tuple`: verify finds the regression and
  the fix stops at level 2 for review;
- nginx `ssl_protocols TLSv1 TLSv1.1 TLSv1.2` and an RC4 cipher: a Tier B mitigation validated by
  the real `nginx -t`, left as a branch for review (no test can execute a config line).
Every branch is verified with the example's tests in uv-built environments (PyPI).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from patchpilot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "webapp"

pytestmark = [pytest.mark.slow, pytest.mark.network]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def example_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "notify"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    return repo


def by_ident(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    actions = doc["actions"]
    assert isinstance(actions, list)
    return {a["remediations"][0]: a for a in actions}


@pytest.mark.skipif(
    shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
    reason="nginx is not installed (make test installs it as root)",
)
def test_codefix_merges_tier_a_with_reached_lines_and_reviews_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = example_repo(tmp_path)
    base = git(repo, "rev-parse", "HEAD").strip()
    files = git(repo, "ls-files").split()
    db = tmp_path / "store.sqlite3"
    capsys.readouterr()
    assert main(["--db", str(db), "codefix", str(repo), "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "patchpilot.codefix/1"
    actions = by_ident(doc)

    for ident in ("codemod:add-requests-timeout", "codemod:hashlib-usedforsecurity"):
        a = actions[ident]
        decision = a["decision"]
        assert isinstance(decision, dict)
        assert a["verify"] == "verified", a["summary"]
        assert (decision["level"], decision["rule"]) == (3, "merge-verified-codemod")
        assert a["delivered"] == "merged"

    yaml_fix = actions["codemod:harden-pyyaml"]
    assert yaml_fix["verify"] == "regression"
    assert "test_parse_reads_channels" in str(yaml_fix["summary"])
    assert yaml_fix["decision"]["level"] == 2  # type: ignore[index]
    assert yaml_fix["delivered"] == "branch"

    config = next(a for k, a in actions.items() if k.startswith("config:"))
    assert config["decision"]["level"] == 2  # type: ignore[index]
    assert config["delivered"] == "branch"
    nginx = git(repo, "show", f"{config['branch']}:deploy/nginx/conf.d/notify.conf")
    assert "ssl_protocols TLSv1.2;" in nginx
    assert "RC4" not in nginx
    assert "# Kept from the old load balancer" in nginx  # comments survive
    assert "Strict-Transport-Security" not in nginx  # HSTS is never added

    # main now holds exactly the two merged rewrites; every other file is byte for byte the base.
    deliver = git(repo, "show", "main:src/notify/deliver.py")
    assert "requests.head(url, allow_redirects=False, timeout=60)" in deliver
    assert 'hashlib.md5(body.encode("utf-8"), usedforsecurity=False)' in deliver
    compile(deliver, "deliver.py", "exec")
    changed = set(git(repo, "diff", "--name-only", base, "main").split())
    assert changed == {"src/notify/deliver.py"}
    assert set(git(repo, "ls-files").split()) == set(files)
    assert git(repo, "status", "--porcelain") == ""

    # Refusals are reported, never silent: the tarfile-free example still lists HSTS (Tier C).
    refusals = doc["config"]["refusals"]
    assert any(r["reason"] == "tier-c" for r in refusals)

    # The ledger tells the story of a codemod from its change to the merge.
    capsys.readouterr()
    assert main(["--db", str(db), "explain", "codemod:add-requests-timeout", "-f", "table"]) == 0
    story = capsys.readouterr().out
    assert "merge-verified-codemod" in story
    assert "src/notify/deliver.py" in story
    assert main(["--db", str(db), "ledger", "verify"]) == 0


def test_codefix_dry_run_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = example_repo(tmp_path)
    before = {p: (repo / p).read_bytes() for p in git(repo, "ls-files").split()}
    capsys.readouterr()
    assert main(["codefix", str(repo), "--dry-run", "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dry_run"] is True
    assert {c["codemod"] for c in doc["changes"]} >= {
        "add-requests-timeout",
        "hashlib-usedforsecurity",
        "harden-pyyaml",
    }
    assert git(repo, "branch", "--list").split() == ["*", "main"]
    assert {p: (repo / p).read_bytes() for p in before} == before
