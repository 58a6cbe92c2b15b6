"""Line-level evidence for code-fix branches on real git repositories: a tiny package with its
own pytest or unittest suite, a fix branch changing some of its lines, and real envs built by
uv (pytest and coverage come from PyPI, so these are network tests; the uv cache makes repeats
fast). The changed lines are computed from the two versions of the file, as a codefix would."""

from __future__ import annotations

import difflib
import json
import subprocess
from pathlib import Path

import pytest

from patchpilot.formats.codefix_evidence_out import SCHEMA, render_code_evidence
from patchpilot.verify.codefix_evidence import verify_code_branch

pytestmark = [pytest.mark.slow, pytest.mark.network]

CLIENT = "fetchy/client.py"

BASE_CLIENT = '''"""A tiny client: read a URL, make scratch files."""

import tempfile
import urllib.request

RETRIES = 1


def fetch(url):
    with urllib.request.urlopen(
        url,
    ) as response:
        return response.read()


def scratch_path():
    # a name for a scratch file
    return tempfile.mktemp(suffix=".txt")
'''

FIXED_CLIENT = '''"""A tiny client: read a URL, make scratch files."""

import os
import tempfile
import urllib.request

RETRIES = 2


def fetch(url):
    with urllib.request.urlopen(
        url,
        timeout=60,
    ) as response:
        return response.read()


def scratch_path():
    # a name for a scratch file that nobody else can take
    fd, name = tempfile.mkstemp(suffix=".txt")
    os.close(fd)
    return name
'''

PYTEST_TESTS = """import pytest

from fetchy.client import fetch


@pytest.mark.parametrize("body", [b"hello", b""])
def test_fetch_reads_file(tmp_path, body):
    page = tmp_path / "page.txt"
    page.write_bytes(body)
    assert fetch(page.as_uri()) == body


def test_arithmetic():
    assert 1 + 1 == 2
"""

UNITTEST_TESTS = """import tempfile
import unittest
from pathlib import Path

from fetchy.client import fetch


class FetchTest(unittest.TestCase):
    def test_fetch_reads_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            page = Path(tmp) / "page.txt"
            page.write_bytes(b"hello")
            self.assertEqual(fetch(page.as_uri()), b"hello")

    def test_arithmetic(self):
        self.assertEqual(1 + 1, 2)
"""


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def make_repo(root: Path, base: dict[str, str], fix: dict[str, str]) -> Path:
    """`base` committed on main, `fix` on top of it on branch `fix`; main checked out."""
    root.mkdir()
    write(root, base)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "switch", "-q", "-c", "fix")
    write(root, fix)
    git(root, "commit", "-qam", "fix")
    git(root, "switch", "-q", "main")
    return root


def changed(before: str, after: str) -> list[int]:
    """Line numbers (1-based, in `after`) that the fix inserted or replaced."""
    out: list[int] = []
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines())
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag in ("insert", "replace"):
            out.extend(range(j1 + 1, j2 + 1))
    return out


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def pytest_project(tests: str = PYTEST_TESTS) -> dict[str, str]:
    # A top-level conftest.py makes pytest the test command and puts the root on sys.path.
    return {
        "conftest.py": "",
        "fetchy/__init__.py": "",
        CLIENT: BASE_CLIENT,
        "tests/test_client.py": tests,
    }


def test_each_changed_line_is_tied_to_the_passing_tests_that_execute_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "fetchy", pytest_project(), {CLIENT: FIXED_CLIENT})
    lines = changed(BASE_CLIENT, FIXED_CLIENT)
    e = verify_code_branch(repo, "fix", {CLIENT: lines}, timeout=300)

    assert e.comparison.regressions == ()
    assert e.fix.totals.passed == 3
    by_line = {r.line: r for r in e.lines}
    assert sorted(by_line) == lines
    fetching = {r.id for r in e.fix.results if "test_fetch_reads_file" in r.id}
    assert len(fetching) == 2

    # The added keyword, inside a call spread over several lines, is executed by both cases.
    timeout = by_line[line_of(FIXED_CLIENT, "timeout=60")]
    assert timeout.code and timeout.executed
    assert set(timeout.tests) == fetching
    assert timeout.other_tests == ()

    # scratch_path() is never called: its new lines are code nobody executes.
    for needle in ("mkstemp", "os.close(fd)", "return name"):
        r = by_line[line_of(FIXED_CLIENT, needle)]
        assert r.code and not r.executed and r.tests == () and not r.outside_tests, needle

    # Module-level lines run when the test module imports the package, before any test.
    for needle in ("import os", "RETRIES = 2"):
        r = by_line[line_of(FIXED_CLIENT, needle)]
        assert r.code and not r.executed and r.outside_tests, needle
        assert "outside tests" in r.note

    comment = by_line[line_of(FIXED_CLIENT, "# a name")]
    assert not comment.code and not comment.executed

    code = [r for r in e.lines if r.code]
    assert e.reach_share == pytest.approx(1 / len(code))
    assert e.verdict == "partly-reached"
    assert e.tests == tuple(sorted(fetching))
    assert e.summary.endswith("verdict: partly-reached")
    assert f"{CLIENT}:{timeout.line} by " in e.summary
    assert e.mechanism.startswith("coverage ") and "pytest plugin" in e.mechanism
    # The user's repository is untouched and no worktree is left registered.
    assert git(repo, "status", "--porcelain") == ""
    assert len(git(repo, "worktree", "list").splitlines()) == 1

    doc = json.loads(render_code_evidence(e, "json"))
    assert doc["schema"] == SCHEMA
    assert doc["verdict"] == "partly-reached"
    assert doc["tests"]["after"]["totals"]["passed"] == 3
    assert doc["lines"]["reach_share"] == round(1 / len(code), 3)
    shown = {(c["path"], c["line"]): c for c in doc["lines"]["changed"]}
    assert set(shown[(CLIENT, timeout.line)]["tests"]) == fetching
    text = render_code_evidence(e, "text")
    assert f"{CLIENT}:{timeout.line} executed by" in text
    assert f"{CLIENT}:{comment.line} is not code" in text


def test_a_change_that_breaks_the_test_executing_it_is_a_regression(tmp_path: Path) -> None:
    broken = FIXED_CLIENT.replace("return response.read()", "return response.read().decode()")
    repo = make_repo(tmp_path / "fetchy", pytest_project(), {CLIENT: broken})
    e = verify_code_branch(repo, "fix", {CLIENT: changed(BASE_CLIENT, broken)}, timeout=300)

    fetching = {r.id for r in e.base.results if "test_fetch_reads_file" in r.id}
    assert set(e.comparison.regressions) == fetching
    assert e.verdict == "regression"
    decoded = next(r for r in e.lines if r.line == line_of(broken, ".decode()"))
    # Executed, but only by the failing tests: it proves nothing.
    assert decoded.code and not decoded.executed
    assert set(decoded.other_tests) == fetching


def test_unittest_suite_executing_every_changed_line_verifies_it(tmp_path: Path) -> None:
    only_timeout = BASE_CLIENT.replace("        url,\n", "        url,\n        timeout=60,\n")
    files = {
        ".patchpilot.toml": (
            '[verify]\ntest-command = ["python", "-m", "unittest", "tests.test_client"]\n'
        ),
        "fetchy/__init__.py": "",
        CLIENT: BASE_CLIENT,
        "tests/__init__.py": "",
        "tests/test_client.py": UNITTEST_TESTS,
    }
    repo = make_repo(tmp_path / "fetchy", files, {CLIENT: only_timeout})
    lines = changed(BASE_CLIENT, only_timeout)
    assert lines == [line_of(only_timeout, "timeout=60")]
    e = verify_code_branch(repo, "fix", {CLIENT: lines}, timeout=300)

    assert e.fix.per_test and e.fix.totals.passed == 2
    wanted = next(r.id for r in e.fix.results if r.id.endswith(".test_fetch_reads_file"))
    (reach,) = e.lines
    assert reach.executed and reach.tests == (wanted,)
    assert e.reach_share == 1.0
    assert e.verdict == "verified"
    assert "coverage run" in e.mechanism


def test_a_suite_without_tests_gives_no_tests(tmp_path: Path) -> None:
    helpers_only = "from fetchy.client import fetch\n\n\ndef helper():\n    return fetch\n"
    repo = make_repo(tmp_path / "fetchy", pytest_project(helpers_only), {CLIENT: FIXED_CLIENT})
    e = verify_code_branch(repo, "fix", {CLIENT: changed(BASE_CLIENT, FIXED_CLIENT)}, timeout=300)
    assert e.fix.totals.total == 0
    assert e.verdict == "no-tests"
    assert not any(r.executed for r in e.lines)
