"""Forge adapters: where a fix branch becomes a reviewable change, and how that change is merged.

`Forge` is the seam: `open_change` proposes a branch for a target, `merge_change` merges it
and returns the merge commit, `close_change` closes it unmerged. `LocalForge` needs nothing
but git: the change is the branch itself and merging is `merge.merge_branch`. `GitHubForge`
and `GitLabForge` push the branch to a git remote (`git push <remote> <branch>`, through the
git wrapper) and then speak the forges' REST APIs (GitHub pull requests, GitLab merge requests)
with urllib and JSON. Merges are always real merge commits (so `revert_merge` can undo them)
and name the commit that was pushed, so a branch that moved on the forge is not merged blind.
An HTTP error is a `DeliverError` with the status and the forge's own message; redirects are
refused rather than followed, so the token is never sent to another address.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import IO, ClassVar

from patchpilot import __version__
from patchpilot.deliver.git import _git, branch_exists, repo_root, resolve_commit
from patchpilot.deliver.merge import merge_branch
from patchpilot.errors import DeliverError

_HEADS = "refs/heads/"
_MAX_BODY = 4 * 1024 * 1024
_SHOWN_ERROR = 300


@dataclass(frozen=True, slots=True)
class ChangeRef:
    """A change proposed for review: a local branch, a GitHub pull request or a GitLab merge
    request. `id` is the forge's number for it (the branch name for a local change)."""

    kind: str
    id: str
    url: str
    branch: str
    target: str


class Forge(ABC):
    """Where changes are proposed and merged."""

    kind: ClassVar[str]

    @abstractmethod
    def open_change(
        self, repo: Path | str, branch: str, target: str, title: str, body: str
    ) -> ChangeRef:
        """Propose local branch `branch` for `target`, titled `title` and described by `body`."""

    @abstractmethod
    def merge_change(self, repo: Path | str, ref: ChangeRef, message: str) -> str:
        """Merge the change with a merge commit whose message is `message`; its commit id."""

    @abstractmethod
    def close_change(self, repo: Path | str, ref: ChangeRef) -> None:
        """Close the change without merging it (its branch stays)."""

    def _own(self, ref: ChangeRef) -> None:
        if ref.kind != self.kind:
            raise DeliverError(f"{ref.url or ref.id}: a {ref.kind} is not a {self.kind}")


class LocalForge(Forge):
    """Git alone: the change is the branch, merging it is a local `--no-ff` merge.

    The title and body are not stored anywhere by git; the caller keeps them (the PR body is
    also the branch's commit message). Closing leaves the branch in place, as a forge keeps a
    closed pull request's branch.
    """

    kind = "local-branch"

    def open_change(
        self, repo: Path | str, branch: str, target: str, title: str, body: str
    ) -> ChangeRef:
        root = repo_root(repo)
        for name, what in ((branch, "branch"), (target, "target branch")):
            if not branch_exists(root, name.removeprefix(_HEADS)):
                raise DeliverError(f"{root}: {what} {name} does not exist")
        return ChangeRef(
            kind=self.kind,
            id=branch.removeprefix(_HEADS),
            url=root.as_uri(),
            branch=branch.removeprefix(_HEADS),
            target=target.removeprefix(_HEADS),
        )

    def merge_change(self, repo: Path | str, ref: ChangeRef, message: str) -> str:
        self._own(ref)
        return merge_branch(repo, ref.branch, target=ref.target, message=message).merge_commit

    def close_change(self, repo: Path | str, ref: ChangeRef) -> None:
        self._own(ref)
        root = repo_root(repo)
        if not branch_exists(root, ref.branch):
            raise DeliverError(f"{root}: branch {ref.branch} does not exist")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turns a redirect into an HTTP error: urllib would resend the token to the new host."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


class _RestForge(Forge):
    """What GitHub and GitLab share: pushing the branch, and JSON over HTTPS with a token."""

    name: ClassVar[str]

    def __init__(self, api_url: str, *, remote: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DeliverError(f"{api_url}: the {self.name} API address must be an http(s) URL")
        if not remote or remote.startswith("-"):
            raise DeliverError(f"not a git remote: {remote!r}")
        self.api_url = api_url.rstrip("/")
        self.remote = remote
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect())

    @abstractmethod
    def _headers(self) -> dict[str, str]:
        """The forge's authentication and media-type headers."""

    def push(self, repo: Path | str, branch: str) -> str:
        """Push local `branch` to the remote under the same name; the commit pushed."""
        root = repo_root(repo)
        name = branch.removeprefix(_HEADS)
        if not branch_exists(root, name):
            raise DeliverError(f"{root}: branch {name} does not exist")
        commit = resolve_commit(root, _HEADS + name)
        _git(
            root,
            ["push", "--quiet", "--no-verify", self.remote, f"{_HEADS}{name}:{_HEADS}{name}"],
            what=f"cannot push {name} to {self.remote}",
        )
        return commit

    def _call(self, method: str, path: str, payload: dict[str, object]) -> dict[str, object]:
        """One API request; the decoded JSON object answered. `DeliverError` on any failure."""
        url = self.api_url + path
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            url,
            data=json.dumps(payload).encode("utf-8"),
            method=method,
            headers={
                **self._headers(),
                "Content-Type": "application/json",
                "User-Agent": f"patchpilot/{__version__}",
            },
        )
        failed = f"{self.name}: {method} {url} failed"
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read(_MAX_BODY)
        except urllib.error.HTTPError as e:
            try:
                detail = _error_text(e.read(_MAX_BODY))
            except (OSError, http.client.HTTPException):
                detail = ""
            finally:
                e.close()  # the error holds the open response; release its socket now
            reason = f"HTTP {e.code} {e.reason}".strip()
            raise DeliverError(f"{failed}: {reason}" + (f": {detail}" if detail else "")) from e
        except urllib.error.URLError as e:
            raise DeliverError(f"{failed}: cannot connect: {e.reason}") from e
        except TimeoutError as e:
            raise DeliverError(f"{failed}: no answer within {self.timeout:g} s") from e
        except (http.client.HTTPException, OSError, ValueError) as e:
            raise DeliverError(f"{failed}: {e}") from e
        try:
            answer = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DeliverError(f"{failed}: the answer is not JSON ({e})") from e
        if not isinstance(answer, dict):
            raise DeliverError(f"{failed}: the answer is not a JSON object")
        return answer

    def _field(self, answer: dict[str, object], key: str, kind: type, where: str) -> object:
        value = answer.get(key)
        # bool is an int to isinstance; a number field must not accept `true`, nor the reverse.
        if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
            raise DeliverError(f"{self.name}: {where}: the answer has no valid {key!r}")
        return value


class GitHubForge(_RestForge):
    """GitHub pull requests through the REST API (api.github.com or a GitHub Enterprise
    server's `/api/v3`), authenticated with a token."""

    kind = "github-pull-request"
    name = "GitHub"
    MERGE_METHODS = ("merge",)  # a squash or rebase leaves no merge commit to revert

    def __init__(
        self,
        api_url: str,
        owner: str,
        repo: str,
        token: str,
        *,
        remote: str = "origin",
        timeout: float = 30.0,
    ) -> None:
        super().__init__(api_url, remote=remote, timeout=timeout)
        if not token:
            raise DeliverError("GitHub: a token is needed to open and merge pull requests")
        self.owner = owner
        self.repo = repo
        self._token = token
        self._base = (
            f"/repos/{urllib.parse.quote(owner, safe='')}/{urllib.parse.quote(repo, safe='')}"
        )

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self._token}",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def open_change(
        self, repo: Path | str, branch: str, target: str, title: str, body: str
    ) -> ChangeRef:
        name, base = branch.removeprefix(_HEADS), target.removeprefix(_HEADS)
        self.push(repo, name)
        where = f"pull request for {name}"
        answer = self._call(
            "POST",
            f"{self._base}/pulls",
            {"title": title, "head": name, "base": base, "body": body},
        )
        number = self._field(answer, "number", int, where)
        url = self._field(answer, "html_url", str, where)
        return ChangeRef(self.kind, str(number), str(url), name, base)

    def merge_change(self, repo: Path | str, ref: ChangeRef, message: str) -> str:
        self._own(ref)
        head = resolve_commit(repo_root(repo), _HEADS + ref.branch)
        title, _, rest = message.strip().partition("\n")
        answer = self._call(
            "PUT",
            f"{self._base}/pulls/{urllib.parse.quote(ref.id, safe='')}/merge",
            {
                "merge_method": "merge",
                "commit_title": title,
                "commit_message": rest.strip(),
                "sha": head,
            },
        )
        where = f"merge of pull request #{ref.id}"
        if self._field(answer, "merged", bool, where) is not True:
            detail = answer.get("message")
            raise DeliverError(
                f"GitHub: pull request #{ref.id} was not merged"
                + (f": {detail}" if isinstance(detail, str) else "")
            )
        return str(self._field(answer, "sha", str, where))

    def close_change(self, repo: Path | str, ref: ChangeRef) -> None:
        self._own(ref)
        answer = self._call(
            "PATCH",
            f"{self._base}/pulls/{urllib.parse.quote(ref.id, safe='')}",
            {"state": "closed"},
        )
        if answer.get("state") != "closed":
            raise DeliverError(f"GitHub: pull request #{ref.id} is still {answer.get('state')}")


class GitLabForge(_RestForge):
    """GitLab merge requests through the REST API v4 (`https://gitlab.com/api/v4` or a
    self-managed server's), authenticated with a personal, project or group access token.
    `project` is the numeric id or the full path (`group/name`)."""

    kind = "gitlab-merge-request"
    name = "GitLab"

    def __init__(
        self,
        api_url: str,
        project: str | int,
        token: str,
        *,
        remote: str = "origin",
        timeout: float = 30.0,
    ) -> None:
        super().__init__(api_url, remote=remote, timeout=timeout)
        if not token:
            raise DeliverError("GitLab: a token is needed to open and merge merge requests")
        self.project = str(project)
        self._token = token
        # A path's slashes are part of the id, so they are encoded (group%2Fname).
        self._base = f"/projects/{urllib.parse.quote(self.project, safe='')}"

    def _headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "PRIVATE-TOKEN": self._token}

    def open_change(
        self, repo: Path | str, branch: str, target: str, title: str, body: str
    ) -> ChangeRef:
        name, base = branch.removeprefix(_HEADS), target.removeprefix(_HEADS)
        self.push(repo, name)
        where = f"merge request for {name}"
        answer = self._call(
            "POST",
            f"{self._base}/merge_requests",
            {
                "source_branch": name,
                "target_branch": base,
                "title": title,
                "description": body,
                "remove_source_branch": False,
            },
        )
        iid = self._field(answer, "iid", int, where)
        url = self._field(answer, "web_url", str, where)
        return ChangeRef(self.kind, str(iid), str(url), name, base)

    def merge_change(self, repo: Path | str, ref: ChangeRef, message: str) -> str:
        self._own(ref)
        head = resolve_commit(repo_root(repo), _HEADS + ref.branch)
        answer = self._call(
            "PUT",
            f"{self._base}/merge_requests/{urllib.parse.quote(ref.id, safe='')}/merge",
            {
                "merge_commit_message": message.strip(),
                "sha": head,
                "squash": False,
                "should_remove_source_branch": False,
            },
        )
        if answer.get("state") != "merged":
            raise DeliverError(
                f"GitLab: merge request !{ref.id} was not merged (state {answer.get('state')})"
            )
        sha = answer.get("merge_commit_sha")
        if not isinstance(sha, str) or not sha:
            raise DeliverError(
                f"GitLab: merge request !{ref.id} was merged without a merge commit (the "
                "project merges by fast-forward); there is no merge commit to revert later"
            )
        return sha

    def close_change(self, repo: Path | str, ref: ChangeRef) -> None:
        self._own(ref)
        answer = self._call(
            "PUT",
            f"{self._base}/merge_requests/{urllib.parse.quote(ref.id, safe='')}",
            {"state_event": "close"},
        )
        if answer.get("state") != "closed":
            raise DeliverError(f"GitLab: merge request !{ref.id} is still {answer.get('state')}")


def _error_text(raw: bytes) -> str:
    """The forge's own words from an error body: its JSON messages, else the text itself.

    GitHub answers `{"message": …, "errors": [{"message": …} or {"field": …, "code": …}]}`;
    GitLab `{"message": "…"}`, `{"message": ["…"]}`, `{"message": {"field": ["…"]}}` or
    `{"error": "…"}`.
    """
    text = raw.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return " ".join(text.split())[:_SHOWN_ERROR]
    messages: list[str] = []

    def collect(value: object, label: str = "") -> None:
        if isinstance(value, str):
            messages.append(f"{label}: {value}" if label else value)
        elif isinstance(value, list):
            for item in value:
                collect(item, label)
        elif isinstance(value, dict):
            known = [k for k in ("message", "error", "error_description", "errors") if k in value]
            if known:
                for key in known:
                    collect(value[key], label)
            elif "code" in value:
                collect(str(value["code"]), str(value.get("field", label)))
            else:
                for key, item in value.items():
                    collect(item, f"{label}.{key}" if label else str(key))

    collect(data)
    found = "; ".join(dict.fromkeys(messages)) if messages else " ".join(text.split())
    return found[:_SHOWN_ERROR]
