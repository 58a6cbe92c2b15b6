"""Forge adapters: LocalForge on real repositories; GitHubForge and GitLabForge against a fake.

GitHub and GitLab cannot be reached from the test machine, so their REST APIs are played by
`FakeForgeApi`, a local HTTP stand-in (http.server in a thread) and the only fake here; every
test using it says so in its name. It is backed by a real bare repository that the adapters
really `git push` to, and it merges pull/merge requests for real in that repository (a
`--no-ff` merge in a temporary worktree), so the commit ids it answers are genuine. The tests
check each request's method, raw path, headers and JSON body, and that API errors come out as
`DeliverError`s carrying the status and the forge's own message (never the token).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from dlv_repos import git, make_repo

from patchpilot import __version__
from patchpilot.deliver.forge import (
    ChangeRef,
    Forge,
    GitHubForge,
    GitLabForge,
    LocalForge,
)
from patchpilot.errors import DeliverError, GitError

TOKEN = "fake-token-0123456789"
GITHUB_BASE = "/repos/acme/widget"
GITLAB_BASE = "/api/v4/projects/acme%2Fwidget"
MESSAGE = "Merge the requests upgrade\n\nFixes GHSA-j8r2-6x86-q33q."
BODY = "## Fixed\n\n- GHSA-j8r2-6x86-q33q\n"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: object


@dataclass
class Change:
    number: int
    head: str
    base: str
    state: str = "open"


@dataclass
class FakeForgeApi:
    """GitHub's and GitLab's REST APIs, played locally over a real bare repository."""

    bare: Path
    seen: list[Seen] = field(default_factory=list)
    changes: dict[int, Change] = field(default_factory=dict)
    scripted: dict[tuple[str, str], tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    fast_forward_only: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: object
    ) -> tuple[int, dict[str, str], bytes]:
        self.seen.append(Seen(method, path, headers, body))
        if (method, path) in self.scripted:
            status, extra, raw = self.scripted.pop((method, path))
            if status == 0:  # hang: answer nothing until the test is over
                self.release.wait(10)
                return 500, {}, b""
            return status, extra, raw
        assert isinstance(body, dict)
        if path.startswith(GITHUB_BASE + "/"):
            if headers.get("authorization") != f"Bearer {TOKEN}":
                return self.json(401, {"message": "Bad credentials"})
            return self.github(method, path.removeprefix(GITHUB_BASE), body)
        if path.startswith(GITLAB_BASE + "/"):
            if headers.get("private-token") != TOKEN:
                return self.json(401, {"message": "401 Unauthorized"})
            return self.gitlab(method, path.removeprefix(GITLAB_BASE), body)
        return self.json(404, {"message": "Not Found"})

    @staticmethod
    def json(status: int, payload: object) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()

    def tip(self, branch: str) -> str | None:
        out = git(
            self.bare, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False
        )
        return out.strip() or None

    def open(self, head: str, base: str) -> Change | None:
        if any(c.head == head and c.state == "open" for c in self.changes.values()):
            return None
        change = Change(len(self.changes) + 1, head, base)
        self.changes[change.number] = change
        return change

    def merge(self, change: Change, message: str) -> str | None:
        """Merge for real in the bare repository; None on a conflict."""
        old, head = self.tip(change.base), self.tip(change.head)
        assert old is not None and head is not None
        if self.fast_forward_only:
            git(self.bare, "update-ref", f"refs/heads/{change.base}", head, old)
            return head
        work = Path(tempfile.mkdtemp(prefix="fake-forge-")) / "work"
        try:
            git(self.bare, "worktree", "add", "--quiet", "--detach", str(work), old)
            git(work, "merge", "--quiet", "--no-ff", "-m", message, head, check=False)
            if git(work, "diff", "--name-only", "--diff-filter=U"):
                return None
            new = git(work, "rev-parse", "HEAD").strip()
            git(self.bare, "update-ref", f"refs/heads/{change.base}", new, old)
            return new
        finally:
            git(self.bare, "worktree", "remove", "--force", "--force", str(work), check=False)
            shutil.rmtree(work.parent, ignore_errors=True)

    def github(
        self, method: str, path: str, body: dict[str, object]
    ) -> tuple[int, dict[str, str], bytes]:
        if method == "POST" and path == "/pulls":
            head, base = str(body["head"]), str(body["base"])
            if self.tip(head) is None or self.tip(base) is None:
                return self.json(
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
                    },
                )
            change = self.open(head, base)
            if change is None:
                return self.json(
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [
                            {
                                "resource": "PullRequest",
                                "code": "custom",
                                "message": f"A pull request already exists for acme:{head}.",
                            }
                        ],
                        "documentation_url": "https://docs.github.com/rest/pulls/pulls",
                    },
                )
            n = change.number
            return self.json(201, {"number": n, "html_url": f"{self.url}/acme/widget/pull/{n}"})
        found = re.fullmatch(r"/pulls/(\d+)(/merge)?", path)
        change = self.changes.get(int(found[1])) if found else None
        if found is None or change is None:
            return self.json(404, {"message": "Not Found"})
        if method == "PUT" and found[2]:
            if change.state != "open":
                return self.json(405, {"message": "Pull Request is not mergeable"})
            if body.get("sha") != self.tip(change.head):
                return self.json(
                    409, {"message": "Head branch was modified. Review and try the merge again."}
                )
            sha = self.merge(change, f"{body['commit_title']}\n\n{body['commit_message']}")
            if sha is None:
                return self.json(405, {"message": "Pull Request is not mergeable"})
            change.state = "closed"
            return self.json(
                200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}
            )
        if method == "PATCH" and not found[2]:
            change.state = str(body.get("state", change.state))
            return self.json(200, {"number": change.number, "state": change.state})
        return self.json(404, {"message": "Not Found"})

    def gitlab(
        self, method: str, path: str, body: dict[str, object]
    ) -> tuple[int, dict[str, str], bytes]:
        if method == "POST" and path == "/merge_requests":
            head, base = str(body["source_branch"]), str(body["target_branch"])
            if not body.get("title"):
                return self.json(400, {"error": "title is missing"})
            if self.tip(head) is None:
                return self.json(422, {"message": {"source_branch": ["does not exist"]}})
            change = self.open(head, base)
            if change is None:
                return self.json(
                    409,
                    {
                        "message": [
                            "Another open merge request already exists for this source branch: !1"
                        ]
                    },
                )
            n = change.number
            return self.json(
                201,
                {
                    "id": 1000 + n,
                    "iid": n,
                    "state": "opened",
                    "web_url": f"{self.url}/acme/widget/-/merge_requests/{n}",
                },
            )
        found = re.fullmatch(r"/merge_requests/(\d+)(/merge)?", path)
        change = self.changes.get(int(found[1])) if found else None
        if found is None or change is None:
            return self.json(404, {"message": "404 Not found"})
        if method == "PUT" and found[2]:
            if body.get("sha") != self.tip(change.head):
                return self.json(409, {"message": "SHA does not match HEAD of source branch"})
            sha = self.merge(change, str(body["merge_commit_message"]))
            if sha is None:
                return self.json(406, {"message": "Branch cannot be merged"})
            change.state = "merged"
            merge_sha = None if self.fast_forward_only else sha
            return self.json(
                200,
                {"iid": change.number, "state": "merged", "merge_commit_sha": merge_sha},
            )
        if method == "PUT" and body.get("state_event") == "close":
            change.state = "closed"
            return self.json(200, {"iid": change.number, "state": "closed"})
        return self.json(404, {"message": "404 Not found"})


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        body = json.loads(raw) if raw else None
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, out = self.server.fake.answer(self.command, self.path, headers, body)
        self.send_response(status)
        for key, value in extra.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_POST = do_PUT = do_PATCH = do_GET = _serve

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    fake: FakeForgeApi


def serve(fake: FakeForgeApi) -> Iterator[FakeForgeApi]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in listens on the loopback interface: no proxy may sit in between."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project on `main` with a fix branch `patchpilot/fix-requests` one commit ahead, and
    a bare repository as its `origin` that holds `main` only."""
    repo = make_repo(tmp_path / "project")
    git(repo, "checkout", "--quiet", "-b", "patchpilot/fix-requests")
    (repo / "app.py").write_text("import requests  # 2.31.0\n\nprint(requests.__version__)\n")
    git(repo, "commit", "--quiet", "-am", "Upgrade requests")
    git(repo, "checkout", "--quiet", "main")
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "--quiet", "origin", "main")
    return repo


@pytest.fixture
def fake_api(project: Path) -> Iterator[FakeForgeApi]:
    yield from serve(FakeForgeApi(project.parent / "remote.git"))


def tip(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", f"{ref}^{{commit}}").strip()


def github(
    fake: FakeForgeApi, token: str = TOKEN, *, remote: str = "origin", timeout: float = 30.0
) -> GitHubForge:
    return GitHubForge(fake.url, "acme", "widget", token, remote=remote, timeout=timeout)


def gitlab(fake: FakeForgeApi, token: str = TOKEN) -> GitLabForge:
    return GitLabForge(fake.url + "/api/v4", "acme/widget", token)


def test_local_forge_opens_merges_and_closes_branches(project: Path) -> None:
    forge: Forge = LocalForge()
    old_main, fix = tip(project, "main"), tip(project, "patchpilot/fix-requests")

    ref = forge.open_change(project, "patchpilot/fix-requests", "main", "Fix requests", BODY)
    assert ref == ChangeRef(
        "local-branch",
        "patchpilot/fix-requests",
        project.as_uri(),
        "patchpilot/fix-requests",
        "main",
    )
    sha = forge.merge_change(project, ref, MESSAGE)

    assert tip(project, "main") == sha
    assert git(project, "rev-list", "--parents", "-n", "1", sha).split()[1:] == [old_main, fix]
    assert git(project, "log", "-1", "--format=%B", sha).strip() == MESSAGE
    assert git(project, "status", "--porcelain") == ""
    forge.close_change(project, ref)  # the branch stays, like a closed pull request's
    assert tip(project, "patchpilot/fix-requests") == fix
    with pytest.raises(DeliverError, match="branch nope does not exist"):
        forge.open_change(project, "nope", "main", "t", "b")
    foreign = ChangeRef("github-pull-request", "1", "https://github.com/a/b/pull/1", "x", "main")
    with pytest.raises(DeliverError, match="is not a local-branch"):
        forge.merge_change(project, foreign, MESSAGE)


def test_github_forge_against_fake_api(project: Path, fake_api: FakeForgeApi) -> None:
    forge = github(fake_api)
    bare = fake_api.bare
    fix = tip(project, "patchpilot/fix-requests")

    ref = forge.open_change(project, "patchpilot/fix-requests", "main", "Fix requests", BODY)

    assert tip(bare, "patchpilot/fix-requests") == fix  # pushed before the pull request
    assert ref == ChangeRef(
        "github-pull-request",
        "1",
        f"{fake_api.url}/acme/widget/pull/1",
        "patchpilot/fix-requests",
        "main",
    )
    opened = fake_api.seen[-1]
    assert (opened.method, opened.path) == ("POST", f"{GITHUB_BASE}/pulls")
    assert opened.body == {
        "title": "Fix requests",
        "head": "patchpilot/fix-requests",
        "base": "main",
        "body": BODY,
    }
    assert opened.headers["authorization"] == f"Bearer {TOKEN}"
    assert opened.headers["accept"] == "application/vnd.github+json"
    assert opened.headers["x-github-api-version"] == "2022-11-28"
    assert opened.headers["content-type"] == "application/json"
    assert opened.headers["user-agent"] == f"patchpilot/{__version__}"

    old_main = tip(bare, "main")
    sha = forge.merge_change(project, ref, MESSAGE)

    merged = fake_api.seen[-1]
    assert (merged.method, merged.path) == ("PUT", f"{GITHUB_BASE}/pulls/1/merge")
    assert merged.body == {
        "merge_method": "merge",
        "commit_title": "Merge the requests upgrade",
        "commit_message": "Fixes GHSA-j8r2-6x86-q33q.",
        "sha": fix,
    }
    # The answer is the real merge commit on the remote's main.
    assert tip(bare, "main") == sha
    assert git(bare, "rev-list", "--parents", "-n", "1", sha).split()[1:] == [old_main, fix]
    assert git(bare, "log", "-1", "--format=%B", sha).strip() == MESSAGE

    second = forge.open_change(project, "patchpilot/fix-requests", "main", "Again", BODY)
    forge.close_change(project, second)
    closed = fake_api.seen[-1]
    assert (closed.method, closed.path, closed.body) == (
        "PATCH",
        f"{GITHUB_BASE}/pulls/2",
        {"state": "closed"},
    )
    assert fake_api.changes[2].state == "closed"


def test_github_forge_reports_api_errors_against_fake_api(
    project: Path, fake_api: FakeForgeApi
) -> None:
    with pytest.raises(DeliverError) as caught:
        github(fake_api, token="wrong-token").open_change(
            project, "patchpilot/fix-requests", "main", "Fix", BODY
        )
    text = str(caught.value)
    assert "GitHub: POST" in text
    assert "HTTP 401" in text
    assert "Bad credentials" in text
    assert "wrong-token" not in text

    forge = github(fake_api)
    ref = forge.open_change(project, "patchpilot/fix-requests", "main", "Fix", BODY)
    with pytest.raises(DeliverError, match=r"HTTP 422 .*Validation Failed; A pull request already"):
        forge.open_change(project, "patchpilot/fix-requests", "main", "Fix", BODY)
    with pytest.raises(DeliverError, match=r"HTTP 422 .*Validation Failed; head: invalid"):
        forge.open_change(project, "patchpilot/fix-requests", "gone", "Fix", BODY)

    # The branch moved locally after it was pushed: the forge refuses to merge a stale head.
    git(project, "checkout", "--quiet", "patchpilot/fix-requests")
    (project / "late.py").write_text("LATE = 1\n")
    git(project, "add", "late.py")
    git(project, "commit", "--quiet", "-m", "A late commit")
    git(project, "checkout", "--quiet", "main")
    main_before = tip(fake_api.bare, "main")
    with pytest.raises(DeliverError, match=r"HTTP 409 .*Head branch was modified"):
        forge.merge_change(project, ref, MESSAGE)
    assert tip(fake_api.bare, "main") == main_before

    missing = ChangeRef("github-pull-request", "99", "", "patchpilot/fix-requests", "main")
    with pytest.raises(DeliverError, match=r"HTTP 404 .*Not Found"):
        forge.merge_change(project, missing, MESSAGE)
    with pytest.raises(DeliverError, match="is not a github-pull-request"):
        forge.merge_change(project, ChangeRef("local-branch", "x", "", "x", "main"), MESSAGE)


def test_github_forge_push_failure_sends_no_request_against_fake_api(
    project: Path, fake_api: FakeForgeApi
) -> None:
    forge = github(fake_api, remote="nowhere")
    with pytest.raises(GitError, match="cannot push patchpilot/fix-requests to nowhere"):
        forge.open_change(project, "patchpilot/fix-requests", "main", "Fix", BODY)
    assert fake_api.seen == []


def test_gitlab_forge_against_fake_api(project: Path, fake_api: FakeForgeApi) -> None:
    forge = gitlab(fake_api)
    bare = fake_api.bare
    fix = tip(project, "patchpilot/fix-requests")

    ref = forge.open_change(project, "patchpilot/fix-requests", "main", "Fix requests", BODY)

    assert tip(bare, "patchpilot/fix-requests") == fix
    assert ref == ChangeRef(
        "gitlab-merge-request",
        "1",
        f"{fake_api.url}/acme/widget/-/merge_requests/1",
        "patchpilot/fix-requests",
        "main",
    )
    opened = fake_api.seen[-1]
    # The project path is one URL segment: its slash travels encoded.
    assert (opened.method, opened.path) == ("POST", f"{GITLAB_BASE}/merge_requests")
    assert opened.body == {
        "source_branch": "patchpilot/fix-requests",
        "target_branch": "main",
        "title": "Fix requests",
        "description": BODY,
        "remove_source_branch": False,
    }
    assert opened.headers["private-token"] == TOKEN
    assert "authorization" not in opened.headers
    assert opened.headers["content-type"] == "application/json"
    assert opened.headers["user-agent"] == f"patchpilot/{__version__}"

    old_main = tip(bare, "main")
    sha = forge.merge_change(project, ref, MESSAGE)

    merged = fake_api.seen[-1]
    assert (merged.method, merged.path) == ("PUT", f"{GITLAB_BASE}/merge_requests/1/merge")
    assert merged.body == {
        "merge_commit_message": MESSAGE,
        "sha": fix,
        "squash": False,
        "should_remove_source_branch": False,
    }
    assert tip(bare, "main") == sha
    assert git(bare, "rev-list", "--parents", "-n", "1", sha).split()[1:] == [old_main, fix]

    second = forge.open_change(project, "patchpilot/fix-requests", "main", "Again", BODY)
    forge.close_change(project, second)
    closed = fake_api.seen[-1]
    assert (closed.method, closed.path, closed.body) == (
        "PUT",
        f"{GITLAB_BASE}/merge_requests/2",
        {"state_event": "close"},
    )


def test_gitlab_forge_reports_api_errors_against_fake_api(
    project: Path, fake_api: FakeForgeApi
) -> None:
    with pytest.raises(DeliverError, match=r"GitLab: POST .*HTTP 401 .*401 Unauthorized"):
        gitlab(fake_api, token="wrong").open_change(
            project, "patchpilot/fix-requests", "main", "Fix", BODY
        )
    forge = gitlab(fake_api)
    with pytest.raises(DeliverError, match=r"HTTP 400 .*title is missing"):
        forge.open_change(project, "patchpilot/fix-requests", "main", "", BODY)
    ref = forge.open_change(project, "patchpilot/fix-requests", "main", "Fix", BODY)
    with pytest.raises(DeliverError, match=r"HTTP 409 .*Another open merge request already"):
        forge.open_change(project, "patchpilot/fix-requests", "main", "Fix", BODY)

    # main moves on the forge with a clashing edit: the merge request cannot be merged.
    clone = project.parent / "other-clone"
    git(project.parent, "clone", "--quiet", "-b", "main", str(fake_api.bare), str(clone))
    (clone / "app.py").write_text("import requests  # someone else\n\nprint(1)\n")
    git(clone, "commit", "--quiet", "-am", "Clashing edit")
    git(clone, "push", "--quiet", "origin", "main")
    main_before = tip(fake_api.bare, "main")
    with pytest.raises(DeliverError, match=r"HTTP 406 .*Branch cannot be merged"):
        forge.merge_change(project, ref, MESSAGE)
    assert tip(fake_api.bare, "main") == main_before


def test_gitlab_forge_field_errors_and_fast_forward_projects_against_fake_api(
    project: Path, fake_api: FakeForgeApi
) -> None:
    git(project, "branch", "--quiet", "second-fix", "patchpilot/fix-requests")
    forge = gitlab(fake_api)
    # GitLab's validation errors map each field at fault to its messages.
    fake_api.scripted[("POST", f"{GITLAB_BASE}/merge_requests")] = FakeForgeApi.json(
        422, {"message": {"source_branch": ["does not exist"], "title": ["is too long"]}}
    )
    with pytest.raises(
        DeliverError, match=r"HTTP 422 .*source_branch: does not exist; title: is too long"
    ):
        forge.open_change(project, "second-fix", "main", "Fix", BODY)

    fake_api.fast_forward_only = True
    ref = forge.open_change(project, "patchpilot/fix-requests", "main", "Fix", BODY)
    with pytest.raises(DeliverError, match="merged without a merge commit"):
        forge.merge_change(project, ref, MESSAGE)


def test_http_failures_are_deliver_errors_against_fake_api(
    project: Path, fake_api: FakeForgeApi
) -> None:
    forge = github(fake_api, timeout=0.5)
    pulls = f"{GITHUB_BASE}/pulls"

    fake_api.scripted[("POST", pulls)] = (
        502,
        {"Content-Type": "text/html"},
        b"<html><body><h1>502 Bad Gateway</h1>\n</body></html>",
    )
    with pytest.raises(DeliverError, match="HTTP 502 Bad Gateway: <html><body><h1>502 Bad"):
        forge.open_change(project, "patchpilot/fix-requests", "main", "Fix", BODY)

    fake_api.scripted[("POST", pulls)] = (200, {}, b"{not json")
    with pytest.raises(DeliverError, match="the answer is not JSON"):
        forge.open_change(project, "patchpilot/fix-requests", "main", "Fix", BODY)

    fake_api.scripted[("POST", pulls)] = FakeForgeApi.json(201, {"number": "1", "html_url": "x"})
    with pytest.raises(DeliverError, match="the answer has no valid 'number'"):
        forge.open_change(project, "patchpilot/fix-requests", "main", "Fix", BODY)

    fake_api.scripted[("POST", pulls)] = (0, {}, b"")
    with pytest.raises(DeliverError, match=r"no answer within 0.5 s"):
        forge.open_change(project, "patchpilot/fix-requests", "main", "Fix", BODY)


def test_redirects_are_refused_and_the_token_stays_home_against_fake_api(
    project: Path, fake_api: FakeForgeApi, tmp_path: Path
) -> None:
    for elsewhere in serve(FakeForgeApi(tmp_path / "unused.git")):
        fake_api.scripted[("POST", f"{GITHUB_BASE}/pulls")] = (
            301,
            {"Location": f"{elsewhere.url}{GITHUB_BASE}/pulls"},
            b"",
        )
        with pytest.raises(DeliverError, match="HTTP 301"):
            github(fake_api).open_change(project, "patchpilot/fix-requests", "main", "Fix", BODY)
        assert elsewhere.seen == []


def test_unreachable_api_and_bad_settings(project: Path) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    forge = GitHubForge(f"http://127.0.0.1:{port}", "acme", "widget", TOKEN, remote="origin")
    with pytest.raises(DeliverError, match="cannot connect"):
        forge.close_change(project, ChangeRef("github-pull-request", "1", "", "b", "main"))
    with pytest.raises(DeliverError, match="must be an http"):
        GitHubForge("file:///etc", "acme", "widget", TOKEN)
    with pytest.raises(DeliverError, match="a token is needed"):
        GitLabForge("https://gitlab.example.org/api/v4", "acme/widget", "")
    with pytest.raises(DeliverError, match="not a git remote"):
        GitLabForge("https://gitlab.example.org/api/v4", 42, TOKEN, remote="--upload-pack=x")
