"""`patchpilot run` with a configuration mitigation standing in for a Django upgrade.

The project is the real `django-admin startproject` output (tests/assets/config/django/mysite)
in a fresh git repository, made production-like but careless: `ALLOWED_HOSTS` names a host,
`DEBUG = True`, and both cookie flags are set to `False`. It pins Django 4.0.1, which
PYSEC-2022-19 (CVE-2022-22818: the `{% debug %}` template tag renders the context unescaped)
and other real PyPA advisories affect; it has two tests that Django's `manage.py test` runs,
and a `.venv` made with uv from its `requirements.txt` (git-ignored, as in a real checkout),
which the mitigations' oracle, the project's own `manage.py check --deploy`, runs with.

Its `.patchpilot.toml` links CVE-2022-22818 to the `django-debug-env` mitigation until a date
and merges configuration fixes whose tests pass. `run --upgrade-config none` plans no
upgrade, so the mitigation is all there is:
- the settings branch (DEBUG from the environment, secure cookies) is verified with the
  project's tests and merged at level 3; `check --deploy` on the merged settings no longer
  warns about DEBUG or the cookies;
- the OpenVEX out says `not_affected` (`inline_mitigations_already_exist`) for the linked
  finding, naming the mitigation, the expiry and the upgrade still due, and `affected` for
  every other finding;
- the same run on the same commit with `PATCHPILOT_NOW` past the expiry merges the same
  mitigation again, but writes `affected`: an expired link hides nothing.

Environments are built with uv from PyPI; the advisories are the PyPA database's Django
records from ../shared/osv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from patchpilot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
STARTPROJECT = ROOT / "tests" / "assets" / "config" / "django" / "mysite"
PYPA_ZIP = ROOT.parent / "shared" / "osv" / "pypa-advisory-database.zip"
OPENVEX_SCHEMA = ROOT / "tests" / "assets" / "assess" / "openvex_json_schema.json"
UV = Path(sys.executable).parent / "uv"

DJANGO_PIN = "4.0.1"
LINKED = "PYSEC-2022-19"  # aliases CVE-2022-22818, GHSA-95rw-fx8r-36v6
LINKED_ALIAS = "CVE-2022-22818"
FIXED_IN = "4.0.2"

TESTS_PY = """\
from django.test import SimpleTestCase


class AdminLoginTests(SimpleTestCase):
    def test_login_page_renders_a_csrf_form(self):
        response = self.client.get("/admin/login/")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "csrfmiddlewaretoken")

    def test_unknown_page_is_a_404(self):
        self.assertEqual(self.client.get("/nowhere/").status_code, 404)
"""

POLICY = """\
[[rules]]
name = "merge-tested-config"
level = 3
description = "a configuration mitigation whose tests pass on its branch"
kind = ["config"]
tests_passed = true

[[rules]]
name = "review-every-fix"
level = 2
kind = ["upgrade", "override", "codemod", "config"]

[[mitigations]]
id = "{alias}"
mitigation = "django-debug-env"
expires = {expires}
reason = "production runs with DEBUG off until the Django upgrade is deployed"
"""

pytestmark = [pytest.mark.slow, pytest.mark.network, pytest.mark.timeout(900)]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def _uv() -> str:
    found = str(UV) if UV.exists() else shutil.which("uv")
    if found is None:
        pytest.fail(
            "uv is needed to build the project's virtualenv (it is a patchpilot dependency)"
        )
    return found


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store holding the PyPA database's Django records (extracted: a faster import)."""
    if not PYPA_ZIP.is_file():
        pytest.fail(f"real OSV data missing (expected beside the checkout): {PYPA_ZIP}")
    records = tmp_path / "django-advisories"
    records.mkdir()
    with zipfile.ZipFile(PYPA_ZIP) as z:
        for name in z.namelist():
            raw = z.read(name)
            doc = json.loads(raw)
            names = {a.get("package", {}).get("name", "").lower() for a in doc.get("affected", [])}
            if "django" in names:
                (records / name).write_bytes(raw)
    assert (records / f"{LINKED}.json").is_file()
    path = tmp_path / "store.sqlite3"
    assert main(["--db", str(path), "db", "import", str(records), "-f", "json"]) == 0
    return path


def _settings(text: str) -> str:
    """The startproject settings (`DEBUG = True` kept) with a host and insecure cookies."""
    assert text.count("\nDEBUG = True\n") == 1
    assert text.count("ALLOWED_HOSTS = []") == 1
    text = text.replace("ALLOWED_HOSTS = []", "ALLOWED_HOSTS = ['www.example.com']")
    return text + "\nSESSION_COOKIE_SECURE = False\nCSRF_COOKIE_SECURE = False\n"


def django_repo(tmp_path: Path, expires: date) -> Path:
    repo = tmp_path / "mysite"
    shutil.copytree(STARTPROJECT, repo)
    settings = repo / "mysite" / "settings.py"
    settings.write_text(_settings(settings.read_text(encoding="utf-8")), encoding="utf-8")
    (repo / "mysite" / "tests.py").write_text(TESTS_PY, encoding="utf-8")
    (repo / "requirements.txt").write_text(f"django=={DJANGO_PIN}\n", encoding="utf-8")
    (repo / ".gitignore").write_text(".venv/\n__pycache__/\ndb.sqlite3\n", encoding="utf-8")
    policy = POLICY.format(alias=LINKED_ALIAS, expires=expires.isoformat())
    (repo / ".patchpilot.toml").write_text(policy, encoding="utf-8")
    uv = _uv()
    python = repo / ".venv" / "bin" / "python"
    for step in (
        [uv, "venv", "--quiet", "--python", sys.executable, str(repo / ".venv")],
        [uv, "pip", "install", "--quiet", "--python", str(python), "-r", "requirements.txt"],
    ):
        done = subprocess.run(step, cwd=repo, check=False, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    assert not any(p.startswith(".venv/") for p in git(repo, "ls-files").split())
    return repo


def run(
    repo: Path, db: Path, vex_out: Path, capsys: pytest.CaptureFixture[str]
) -> dict[str, object]:
    capsys.readouterr()
    args = ["--db", str(db), "run", str(repo), "-f", "json", "--upgrade-config", "none"]
    assert main([*args, "--vex-out", str(vex_out)]) == 0
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "patchpilot.run/1"
    return doc


def config_action(doc: dict[str, object]) -> dict[str, object]:
    codefix = doc["codefix"]
    assert isinstance(codefix, dict)
    found = [a for a in codefix["actions"] if a["remediations"][0].startswith("config:")]
    assert len(found) == 1, codefix["actions"]
    action: dict[str, object] = found[0]
    return action


def statements(vex_out: Path) -> dict[str, dict[str, object]]:
    vex = json.loads(vex_out.read_text(encoding="utf-8"))
    jsonschema.validate(vex, json.loads(OPENVEX_SCHEMA.read_text(encoding="utf-8")))
    return {st["vulnerability"]["name"]: st for st in vex["statements"]}


def check_deploy(repo: Path) -> str:
    """The project's own `check --deploy` on its checked-out settings, production defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    done = subprocess.run(
        [str(repo / ".venv" / "bin" / "python"), "manage.py", "check", "--deploy"],
        cwd=repo, check=False, capture_output=True, text=True, env=env,
    )  # fmt: skip
    return done.stdout + done.stderr


def test_merged_mitigation_is_not_affected_until_the_link_expires(
    tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PATCHPILOT_NOW", raising=False)
    expires = datetime.now(UTC).date() + timedelta(days=90)
    repo = django_repo(tmp_path, expires)
    base = git(repo, "rev-parse", "HEAD").strip()
    before = check_deploy(repo)
    for warning in ("security.W012", "security.W016", "security.W018"):
        assert warning in before, before

    vex_out = tmp_path / "mysite.openvex.json"
    doc = run(repo, db, vex_out, capsys)

    # No upgrade is planned (ceiling none): every Django finding is reported at level 1.
    actions = doc["actions"]
    assert isinstance(actions, list)
    upgrade_findings = {fid for a in actions for fid in a["findings"]}
    assert LINKED in upgrade_findings
    assert all(a["branch"] is None and a["decision"]["level"] == 1 for a in actions), actions

    # The mitigation branch: verified with the project's tests, merged by the policy's rule.
    config = config_action(doc)
    remediation = str(config["remediations"][0])  # type: ignore[index]
    assert "django-debug-env" in remediation
    assert "django-secure-cookies" in remediation
    assert config["verify"] is not None
    assert config["verify"] != "regression", config["summary"]
    assert "2 passed" in str(config["summary"]), config["summary"]
    decision = config["decision"]
    assert isinstance(decision, dict)
    assert (decision["level"], decision["rule"]) == (3, "merge-tested-config"), decision
    assert config["delivered"] == "merged"
    merge = str(config["merge_commit"])
    assert git(repo, "rev-parse", "main").strip() == merge
    assert git(repo, "rev-parse", f"{merge}^1").strip() == base
    assert git(repo, "status", "--porcelain") == ""

    # DEBUG is now env-driven on main, the cookies are secure, nothing else changed.
    settings = git(repo, "show", "main:mysite/settings.py")
    assert 'DEBUG = os.environ.get("DJANGO_DEBUG") == "1"' in settings
    assert "DEBUG = True" not in settings
    assert "SESSION_COOKIE_SECURE = True" in settings
    assert "CSRF_COOKIE_SECURE = True" in settings
    assert git(repo, "diff", "--name-only", base, "main").split() == ["mysite/settings.py"]
    after = check_deploy(repo)
    for warning in ("security.W012", "security.W016", "security.W018"):
        assert warning not in after, after

    # OpenVEX: the linked finding is not_affected through the mitigation, until the expiry,
    # and the statement names the upgrade still due; every other finding stays affected.
    status = statements(vex_out)
    linked = status[LINKED]
    assert linked["status"] == "not_affected"
    assert linked["justification"] == "inline_mitigations_already_exist"
    impact = str(linked["impact_statement"])
    for fact in ("django-debug-env", "mysite/settings.py", expires.isoformat(), FIXED_IN):
        assert fact in impact, (fact, impact)
    others = {fid: st for fid, st in status.items() if fid != LINKED}
    assert others
    assert all(st["status"] == "affected" and st["action_statement"] for st in others.values())
    assert set(status) == upgrade_findings

    # Past the expiry the same mitigation, merged again from the same commit, hides nothing.
    git(repo, "reset", "-q", "--hard", base)
    monkeypatch.setenv("PATCHPILOT_NOW", (expires + timedelta(days=1)).isoformat())
    late_out = tmp_path / "late.openvex.json"
    late = run(repo, db, late_out, capsys)
    again = config_action(late)
    assert again["delivered"] == "merged", again
    assert "DJANGO_DEBUG" in git(repo, "show", "main:mysite/settings.py")
    expired = statements(late_out)
    assert set(expired) == upgrade_findings
    assert expired[LINKED]["status"] == "affected"
    assert expired[LINKED]["action_statement"]
    assert all(st["status"] == "affected" for st in expired.values())
