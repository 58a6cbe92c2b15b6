"""A thin wrapper over the real `git` command line, and fix branches in separate worktrees.

Every call runs `git -C <repo> …` with an argument list, never a shell, with prompts off
(`GIT_TERMINAL_PROMPT=0`), optional index refreshes off (`GIT_OPTIONAL_LOCKS=0`, so even
`git status` leaves the user's index alone), the repository's hooks and fsmonitor disabled
(patchpilot never runs code the repository configures), and the environment variables that
would point git at another directory or index removed. A commit passes a fallback identity
only for the parts (name, email) the repository does not configure.

`FixWorktree` is the promise the fix command stands on: the user's working tree, index and
current branch are never touched. It makes a new branch in a `git worktree` under a temporary
directory, always removes that directory on leaving, and deletes the branch too unless the
block ended normally with at least one commit and was not discarded; an interrupt (Ctrl-C)
cleans up the same way, and a second one during the clean-up is held until it is done.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from types import FrameType, TracebackType

from patchpilot.errors import GitError

FALLBACK_NAME = "patchpilot"
FALLBACK_EMAIL = "patchpilot@localhost"

# Variables that redirect git away from the repository named with `-C`; GIT_INDEX_FILE in
# particular would make a worktree's commands write the user's index.
_REDIRECTING_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)
# `core.hooksPath` pointing at a device means no hook file is ever found; fsmonitor can name
# a program to run, so it is switched off as well.
_SAFE_CONFIG = ("-c", f"core.hooksPath={os.devnull}", "-c", "core.fsmonitor=false")
_FATAL = 128
_SYMLINK_MODE = "120000"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REDIRECTING_ENV}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env["GIT_EDITOR"] = "true"
    return env


def _git(
    repo: Path,
    args: Sequence[str],
    *,
    what: str,
    ok: tuple[int, ...] = (0,),
    stdin: bytes = b"",
    config: Sequence[str] = (),
    shielded: bool = False,
    shown: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run `git -C repo args`; a status outside `ok` is a `GitError` saying `what` failed.

    Errors name `shown` when given (the user's repository, for commands run in a worktree).

    `shielded` runs git in its own process group, so a Ctrl-C typed at the terminal reaches
    only patchpilot (which defers it) and not a clean-up command half-way through.
    """
    cmd = ["git", *_SAFE_CONFIG, *config, "-C", str(repo), *args]
    named = repo if shown is None else shown
    group = 0 if shielded and os.name == "posix" else None
    try:
        proc = subprocess.run(
            cmd, input=stdin, capture_output=True, env=_env(), check=False, process_group=group
        )
    except FileNotFoundError as e:
        raise GitError(named, "git is not installed or not on PATH", args) from e
    except OSError as e:
        raise GitError(named, f"cannot run git: {e.strerror or e}", args) from e
    if proc.returncode not in ok:
        raise GitError(named, what, args, proc.stderr.decode("utf-8", "replace"))
    return proc


def _out(proc: subprocess.CompletedProcess[bytes]) -> str:
    return os.fsdecode(proc.stdout).strip()


def repo_root(path: Path | str) -> Path:
    """The top directory of the git working tree that holds `path` (a file or directory)."""
    given = Path(path)
    start = given if given.is_dir() else given.parent
    if not start.is_dir():
        raise GitError(given, "does not exist")
    proc = _git(start, ["rev-parse", "--show-toplevel"], what="", ok=(0, _FATAL))
    if proc.returncode != 0:
        raise GitError(
            given,
            "not inside a git working tree: a fix is made on a new branch of the project's "
            "repository (run `git init` and commit the project first)",
            stderr=proc.stderr.decode("utf-8", "replace"),
        )
    return Path(_out(proc))


def resolve_commit(repo: Path | str, rev: str) -> str:
    """The full commit id `rev` names in `repo`."""
    if rev.startswith("-"):
        raise GitError(repo, f"not a revision: {rev!r}")
    proc = _git(
        Path(repo),
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
        what="",
        ok=(0, 1, _FATAL),
    )
    if proc.returncode != 0:
        if rev == "HEAD":
            raise GitError(repo, "has no commits yet: commit the project before fixing it")
        stderr = proc.stderr.decode("utf-8", "replace")
        raise GitError(repo, f"no commit named {rev!r}", stderr=stderr)
    return _out(proc)


def merge_base(repo: Path | str, a: str, b: str) -> str | None:
    """The best common ancestor of commits `a` and `b`, or None when they share none."""
    proc = _git(
        Path(repo),
        ["merge-base", "--end-of-options", a, b],
        what=f"cannot find the common ancestor of {a} and {b}",
        ok=(0, 1),
    )
    return (_out(proc) or None) if proc.returncode == 0 else None


def head_commit(repo: Path | str) -> str:
    """The commit id HEAD points at."""
    return resolve_commit(repo, "HEAD")


def current_branch(repo: Path | str) -> str | None:
    """The checked-out branch's short name, or None on a detached HEAD."""
    proc = _git(
        Path(repo),
        ["symbolic-ref", "--quiet", "--short", "HEAD"],
        what="cannot read the current branch",
        ok=(0, 1),
    )
    return (_out(proc) or None) if proc.returncode == 0 else None


def dirty_paths(repo: Path | str) -> tuple[str, ...]:
    """Paths (relative to the repository root) with uncommitted changes, untracked included."""
    proc = _git(
        Path(repo),
        ["status", "--porcelain=v1", "-z", "--untracked-files=normal"],
        what="cannot read the working tree's status",
    )
    out: list[str] = []
    fields = os.fsdecode(proc.stdout).split("\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        out.append(entry[3:])
        if entry[0] in "RC":
            i += 1  # a rename or copy is followed by its source path
    return tuple(out)


def is_dirty(repo: Path | str) -> bool:
    """Whether the working tree differs from HEAD (untracked files count).

    A dirty tree is allowed: a fix starts from HEAD in a separate worktree, so uncommitted
    changes are neither used nor touched. The caller says so.
    """
    return bool(dirty_paths(repo))


def branch_exists(repo: Path | str, name: str) -> bool:
    proc = _git(
        Path(repo),
        ["show-ref", "--verify", "--quiet", f"refs/heads/{name}"],
        what="cannot list branches",
        ok=(0, 1),
    )
    return proc.returncode == 0


def check_branch_name(repo: Path | str, name: str) -> None:
    """A `GitError` unless `name` is a valid new branch name."""
    if not name or name.startswith("-") or "@{" in name:
        raise GitError(repo, f"not a valid branch name: {name!r}")
    proc = _git(Path(repo), ["check-ref-format", "--branch", name], what="", ok=(0, 1, _FATAL))
    if proc.returncode != 0:
        raise GitError(repo, f"not a valid branch name: {name!r}")


def unique_branch_name(repo: Path | str, base_name: str) -> str:
    """`base_name`, or `base_name-2`, `-3`, … : the first that no branch takes.

    Local and remote-tracking branches both count (a remote one would collide on push), and
    so does `a` when `a/b` exists, which git cannot create beside it. A branch named like one
    of `base_name`'s directories (`a` for `a/b`) blocks every suffix: that is a `GitError`.
    """
    check_branch_name(repo, base_name)
    proc = _git(
        Path(repo),
        ["for-each-ref", "--format=%(refname)", "refs/heads/", "refs/remotes/"],
        what="cannot list branches",
    )
    taken: set[str] = set()
    for ref in os.fsdecode(proc.stdout).splitlines():
        parts = ref.split("/")
        if parts[:2] == ["refs", "heads"]:
            taken.add("/".join(parts[2:]))
        elif parts[:2] == ["refs", "remotes"] and len(parts) > 3:
            taken.add("/".join(parts[3:]))
    parts = base_name.split("/")
    blocking = sorted(taken & {"/".join(parts[:n]) for n in range(1, len(parts))})
    if blocking:
        raise GitError(
            repo,
            f"cannot make a branch {base_name!r}: a branch {blocking[0]!r} exists, and git "
            "keeps branch names and their directories apart",
        )
    directories = {"/".join(t.split("/")[:n]) for t in taken for n in range(1, t.count("/") + 1)}
    n = 1
    candidate = base_name
    while candidate in taken or candidate in directories:
        n += 1
        candidate = f"{base_name}-{n}"
    return candidate


def diff_files(repo: Path | str, a: str, b: str) -> list[str]:
    """Paths (relative to the repository root) that differ between revisions `a` and `b`."""
    root = repo_root(repo)
    old, new = resolve_commit(root, a), resolve_commit(root, b)
    proc = _git(
        root,
        ["diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", old, new, "--"],
        what=f"cannot compare {a} with {b}",
    )
    return [p for p in os.fsdecode(proc.stdout).split("\0") if p]


def show_file(repo: Path | str, rev: str, path: str) -> str | None:
    """The text of `path` (relative to the repository root) at `rev`, or None if absent there.

    A directory, submodule or symbolic link at that path, or bytes that are not UTF-8, are a
    `GitError`: a lockfile is none of these.
    """
    root = repo_root(repo)
    commit = resolve_commit(root, rev)
    rel = PurePosixPath(path.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or str(rel) in ("", "."):
        raise GitError(root, f"not a path inside the repository: {path!r}")
    proc = _git(
        root,
        ["--literal-pathspecs", "ls-tree", "--full-tree", "-z", commit, "--", str(rel)],
        what=f"cannot list {path} at {rev}",
    )
    entries = [e for e in os.fsdecode(proc.stdout).split("\0") if e]
    entry = next((e for e in entries if e.split("\t", 1)[-1] == str(rel)), None)
    if entry is None:
        return None
    mode, kind, oid = entry.split("\t", 1)[0].split()
    if kind != "blob" or mode == _SYMLINK_MODE:
        what = "a symbolic link" if mode == _SYMLINK_MODE else f"a {kind}, not a file"
        raise GitError(root, f"{path} is {what} at {rev}")
    blob = _git(root, ["cat-file", "blob", oid], what=f"cannot read {path} at {rev}")
    try:
        return blob.stdout.decode("utf-8")
    except UnicodeDecodeError as e:
        raise GitError(root, f"{path} at {rev} is not UTF-8 text (byte {e.start})") from e


def _identity_config(repo: Path) -> list[str]:
    """`-c user.name=…`/`-c user.email=…` for whichever the repository does not configure."""
    flags: list[str] = []
    for key, fallback, env_names in (
        ("name", FALLBACK_NAME, ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME")),
        ("email", FALLBACK_EMAIL, ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")),
    ):
        if all(os.environ.get(v) for v in env_names):
            continue
        if key == "email" and os.environ.get("EMAIL"):
            continue
        proc = _git(
            repo,
            ["config", "--get", f"user.{key}"],
            what="cannot read the git configuration",
            ok=(0, 1),
        )
        if proc.returncode != 0 or not _out(proc):
            flags += ["-c", f"user.{key}={fallback}"]
    return flags


class _DeferredInterrupts:
    """Holds SIGINT while clean-up runs (main thread only); `received` says if one came."""

    def __init__(self) -> None:
        self.received = False

    @contextmanager
    def held(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def hold(signum: int, frame: FrameType | None) -> None:
            self.received = True

        previous = signal.signal(signal.SIGINT, hold)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


class FixWorktree:
    """A new branch checked out in a temporary `git worktree`, for one fix.

    ```
    with FixWorktree(repo, unique_branch_name(repo, "patchpilot/fix-pyyaml-5.4")) as wt:
        edit files under wt.path
        wt.commit("Fix …")            # at least one commit, or the branch is deleted
    wt.kept                           # True: the branch stays, the worktree is gone
    ```
    Leaving the block always removes the worktree. The branch is deleted as well when the
    block raised (KeyboardInterrupt included), made no commit, or called `keep(False)`.
    """

    def __init__(
        self,
        repo: Path | str,
        branch: str,
        base: str = "HEAD",
        *,
        temp_parent: Path | str | None = None,
    ) -> None:
        self.repo = Path(repo)
        self.branch = branch
        self.base = base
        self.base_commit = ""
        self.commits: list[str] = []
        self.kept = False
        self._temp_parent = None if temp_parent is None else Path(temp_parent)
        self._temp: Path | None = None
        self._path: Path | None = None
        self._keep = True
        self._owns_branch = False
        self._identity: list[str] = []

    @property
    def path(self) -> Path:
        """The worktree's directory (only while the block runs)."""
        if self._path is None:
            raise GitError(self.repo, f"the worktree of branch {self.branch} is not open")
        return self._path

    def __enter__(self) -> FixWorktree:
        self.repo = repo_root(self.repo)
        check_branch_name(self.repo, self.branch)
        if branch_exists(self.repo, self.branch):
            raise GitError(self.repo, f"branch {self.branch} already exists")
        self.base_commit = resolve_commit(self.repo, self.base)
        self._identity = _identity_config(self.repo)
        try:
            self._temp = Path(tempfile.mkdtemp(prefix="patchpilot-fix-", dir=self._temp_parent))
            self._path = self._temp / self.repo.name
            self._owns_branch = True
            _git(
                self.repo,
                [
                    "worktree",
                    "add",
                    "--quiet",
                    "--no-track",
                    "-b",
                    self.branch,
                    str(self._path),
                    self.base_commit,
                ],
                what=f"cannot create a worktree for branch {self.branch}",
            )
        except BaseException as e:
            self._finish(discard=True, pending=e)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._finish(discard=exc is not None or not self._keep or not self.commits, pending=exc)

    def keep(self, value: bool = True) -> None:
        """Whether the branch survives the block (it does by default once committed to)."""
        self._keep = value

    def commit(self, message: str, paths: Sequence[str] | None = None) -> str:
        """Commit `paths` (relative to the worktree; default: every change) and return the id.

        The message is kept as written (Markdown headings included). A commit that would
        change nothing is a `GitError`.
        """
        where = self.path
        if paths is not None and not paths:
            raise GitError(self.repo, f"nothing to commit on {self.branch}: no paths given")
        add = ["--literal-pathspecs", "add", "--all", "--"]
        _git(
            where,
            [*add, *(paths or ())],
            what=f"cannot stage the changes on {self.branch}",
            shown=self.repo,
        )
        staged = _git(
            where,
            ["diff", "--cached", "--quiet", "--no-ext-diff"],
            what=f"cannot compare the changes on {self.branch}",
            ok=(0, 1),
            shown=self.repo,
        )
        if staged.returncode == 0:
            raise GitError(self.repo, f"nothing to commit on {self.branch}: no file changed")
        _git(
            where,
            ["commit", "--quiet", "--no-verify", "--cleanup=whitespace", "--file=-"],
            what=f"cannot commit on {self.branch}",
            stdin=message.encode("utf-8"),
            config=self._identity,
            shown=self.repo,
        )
        sha = _out(
            _git(where, ["rev-parse", "HEAD"], what="cannot read the new commit", shown=self.repo)
        )
        self.commits.append(sha)
        return sha

    def _finish(self, *, discard: bool, pending: BaseException | None) -> None:
        """Remove the worktree, and the branch when discarding, whatever else happens."""
        deferred = _DeferredInterrupts()
        problems: list[str] = []
        with deferred.held():
            if self._path is not None and self._temp is not None:
                try:
                    _git(
                        self.repo,
                        ["worktree", "remove", "--force", "--force", str(self._path)],
                        what="cannot remove the fix worktree",
                        ok=(0, _FATAL),
                        shielded=True,
                    )
                except GitError as e:
                    problems.append(str(e))
                shutil.rmtree(self._temp, ignore_errors=True)
                try:
                    _git(
                        self.repo,
                        ["worktree", "prune"],
                        what="cannot prune worktrees",
                        shielded=True,
                    )
                except GitError as e:
                    problems.append(str(e))
            elif self._temp is not None:
                shutil.rmtree(self._temp, ignore_errors=True)
            self._path = None
            if discard and self._owns_branch:
                try:
                    if branch_exists(self.repo, self.branch):
                        _git(
                            self.repo,
                            ["branch", "--quiet", "-D", "--", self.branch],
                            what=f"cannot delete the unfinished branch {self.branch}",
                            shielded=True,
                        )
                except GitError as e:
                    problems.append(str(e))
            self.kept = not discard and self._owns_branch
        if pending is not None:
            for problem in problems:
                pending.add_note(f"clean-up: {problem}")
            return
        if problems:
            raise GitError(self.repo, "clean-up of the fix worktree failed: " + "; ".join(problems))
        if deferred.received:
            raise KeyboardInterrupt


def delete_branch(repo: Path | str, name: str) -> None:
    """Delete the local branch `name` (it must not be checked out anywhere)."""
    _git(Path(repo), ["branch", "-D", "--", name], what=f"cannot delete branch {name}")


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def changed_lines(repo: Path | str, base: str, head: str) -> dict[str, list[int]]:
    """The lines `head` adds or changes relative to `base`, per file (repository-relative,
    `/`-separated; line numbers in `head`'s version). Deleted files are left out."""
    proc = _git(
        Path(repo),
        ["diff", "--no-color", "--no-ext-diff", "--unified=0", "--no-renames", base, head],
        what=f"cannot diff {base[:12]}..{head[:12]}",
    )
    out: dict[str, list[int]] = {}
    path: str | None = None
    for line in os.fsdecode(proc.stdout).splitlines():
        if line.startswith("+++ "):
            name = line[4:]
            path = name[2:] if name.startswith("b/") else None
            continue
        match = _HUNK.match(line)
        if match and path is not None:
            start, count = int(match.group(1)), int(match.group(2) or "1")
            out.setdefault(path, []).extend(range(start, start + count))
    return {p: sorted(set(v)) for p, v in out.items() if v}
