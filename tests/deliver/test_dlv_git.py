"""The git wrapper and FixWorktree, on real repositories made with the real git CLI.

The promise under test: a fix branch is made in a separate worktree and the user's working
tree, index, HEAD and current branch stay byte-identical, after success, after a failure and
after an interrupt, with a clean or a dirty tree; a failed or empty fix leaves no branch and
no worktree behind.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from dlv_repos import git, make_repo, snapshot

from patchpilot.deliver.git import (
    FALLBACK_EMAIL,
    FALLBACK_NAME,
    FixWorktree,
    current_branch,
    diff_files,
    dirty_paths,
    head_commit,
    is_dirty,
    repo_root,
    show_file,
    unique_branch_name,
)
from patchpilot.errors import ExitCode, GitError

BRANCH = "patchpilot/fix-requests-2.31.0"


def branches(repo: Path) -> set[str]:
    return set(git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/").split())


def worktrees(repo: Path) -> list[str]:
    out = git(repo, "worktree", "list", "--porcelain")
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")]


def make_dirty(repo: Path) -> None:
    """Unstaged, staged and untracked changes, the way users leave a tree mid-work."""
    (repo / "app.py").write_text("print('work in progress')\n")
    (repo / "staged.txt").write_text("staged, not committed\n")
    git(repo, "add", "staged.txt")
    (repo / "notes.txt").write_text("untracked\n")
    (repo / "uv.lock").write_bytes((repo / "uv.lock").read_bytes() + b"\n# local edit\n")


@pytest.mark.parametrize("dirty", [False, True], ids=["clean", "dirty"])
def test_successful_fix_keeps_branch_and_leaves_checkout_identical(
    project_repo: Path, dirty: bool
) -> None:
    if dirty:
        make_dirty(project_repo)
    assert is_dirty(project_repo) is dirty
    before = snapshot(project_repo)
    base = head_commit(project_repo)

    with FixWorktree(project_repo, BRANCH) as wt:
        tree = wt.path
        # The worktree starts from HEAD: committed content, none of the uncommitted edits.
        assert (tree / "app.py").read_text() == git(project_repo, "show", "HEAD:app.py")
        assert not (tree / "notes.txt").exists()
        assert not (tree / "staged.txt").exists()
        (tree / "pyproject.toml").write_text(
            (tree / "pyproject.toml").read_text().replace("2.25.1", "2.31.0")
        )
        sha = wt.commit("Upgrade requests to 2.31.0")

    assert wt.kept
    assert wt.commits == [sha]
    assert snapshot(project_repo) == before
    assert BRANCH in branches(project_repo)
    assert git(project_repo, "rev-parse", BRANCH).strip() == sha
    assert git(project_repo, "rev-parse", f"{BRANCH}~1").strip() == base
    assert worktrees(project_repo) == [str(project_repo)]
    assert not tree.exists()
    assert not tree.parent.exists()
    assert diff_files(project_repo, base, BRANCH) == ["pyproject.toml"]


@pytest.mark.parametrize("dirty", [False, True], ids=["clean", "dirty"])
def test_failing_fix_deletes_branch_and_leaves_checkout_identical(
    project_repo: Path, dirty: bool
) -> None:
    if dirty:
        make_dirty(project_repo)
    before = snapshot(project_repo)
    before_branches = branches(project_repo)

    with (
        pytest.raises(RuntimeError, match="resolver failed"),
        FixWorktree(project_repo, BRANCH) as wt,
    ):
        tree = wt.path
        (tree / "uv.lock").write_text("half-written lock\n")
        wt.commit("First half of a fix")
        (tree / "pyproject.toml").write_text("broken\n")
        raise RuntimeError("resolver failed")

    assert not wt.kept
    assert snapshot(project_repo) == before
    assert branches(project_repo) == before_branches
    assert worktrees(project_repo) == [str(project_repo)]
    assert not tree.parent.exists()


def test_keyboard_interrupt_inside_the_block_cleans_up(project_repo: Path) -> None:
    before = snapshot(project_repo)
    with pytest.raises(KeyboardInterrupt), FixWorktree(project_repo, BRANCH) as wt:
        (wt.path / "app.py").write_text("changed\n")
        wt.commit("A fix")
        raise KeyboardInterrupt
    assert snapshot(project_repo) == before
    assert BRANCH not in branches(project_repo)
    assert worktrees(project_repo) == [str(project_repo)]


def test_real_sigint_to_a_running_fix_cleans_up(project_repo: Path) -> None:
    """Ctrl-C delivered as a real SIGINT to a separate Python process mid-fix."""
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from patchpilot.deliver.git import FixWorktree

        with FixWorktree(Path(sys.argv[1]), sys.argv[2]) as wt:
            (wt.path / "app.py").write_text("changed\\n")
            wt.commit("A fix that gets interrupted")
            print(wt.path, flush=True)
            time.sleep(120)
        """
    )
    before = snapshot(project_repo)
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(project_repo), BRANCH],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    tree = Path(proc.stdout.readline().strip())
    assert tree.is_dir()
    assert BRANCH in branches(project_repo)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in stderr
    assert not tree.parent.exists()
    assert BRANCH not in branches(project_repo)
    assert worktrees(project_repo) == [str(project_repo)]
    assert snapshot(project_repo) == before


def test_block_without_commit_leaves_no_branch(project_repo: Path) -> None:
    with FixWorktree(project_repo, BRANCH) as wt:
        (wt.path / "app.py").write_text("edited but never committed\n")
    assert not wt.kept
    assert BRANCH not in branches(project_repo)


def test_keep_false_discards_a_committed_branch(project_repo: Path) -> None:
    with FixWorktree(project_repo, BRANCH) as wt:
        (wt.path / "app.py").write_text("changed\n")
        wt.commit("A fix the re-scan rejects")
        wt.keep(False)
    assert not wt.kept
    assert BRANCH not in branches(project_repo)


def test_commit_with_nothing_changed_is_a_git_error(project_repo: Path) -> None:
    with FixWorktree(project_repo, BRANCH) as wt:
        with pytest.raises(GitError, match="nothing to commit") as err:
            wt.commit("Empty")
        assert err.value.exit_code == ExitCode.INPUT_ERROR
        (wt.path / "app.py").write_text("changed\n")
        wt.commit("Real change")
    assert wt.kept


def test_commit_paths_stages_only_those_files_and_deletions(project_repo: Path) -> None:
    with FixWorktree(project_repo, BRANCH) as wt:
        (wt.path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
        (wt.path / "app.py").unlink()
        (wt.path / "scratch.txt").write_text("not part of the fix\n")
        sha = wt.commit("Only the manifest and the deletion", paths=["pyproject.toml", "app.py"])
    changed = git(project_repo, "show", "--name-status", "--format=", sha).split("\n")
    assert sorted(line for line in changed if line) == ["D\tapp.py", "M\tpyproject.toml"]
    assert show_file(project_repo, sha, "scratch.txt") is None


def test_commit_message_is_kept_verbatim_markdown_included(project_repo: Path) -> None:
    message = "Fix GHSA-j8r2-6x86-q33q\n\n# Advisories fixed\n\n| id | pkg |\n|---|---|\n"
    with FixWorktree(project_repo, BRANCH) as wt:
        (wt.path / "app.py").write_text("changed\n")
        sha = wt.commit(message)
    assert git(project_repo, "log", "-1", "--format=%B", sha).rstrip("\n") == message.rstrip("\n")


def test_worktree_starts_from_the_given_base(project_repo: Path) -> None:
    first = head_commit(project_repo)
    (project_repo / "app.py").write_text("second version\n")
    git(project_repo, "commit", "--quiet", "-am", "Second commit")
    with FixWorktree(project_repo, BRANCH, base=first) as wt:
        assert (wt.path / "app.py").read_text() == show_file(project_repo, first, "app.py")
        (wt.path / "new.txt").write_text("new\n")
        wt.commit("Fix on the first commit")
    assert git(project_repo, "rev-parse", f"{BRANCH}~1").strip() == first


def test_existing_branch_is_refused_and_left_alone(project_repo: Path) -> None:
    git(project_repo, "branch", BRANCH)
    tip = git(project_repo, "rev-parse", BRANCH)
    with pytest.raises(GitError, match="already exists"), FixWorktree(project_repo, BRANCH):
        pass
    assert git(project_repo, "rev-parse", BRANCH) == tip


def test_invalid_base_leaves_nothing_behind(project_repo: Path) -> None:
    before = branches(project_repo)
    with (
        pytest.raises(GitError, match="no commit named"),
        FixWorktree(project_repo, BRANCH, base="no-such-branch"),
    ):
        pass
    assert branches(project_repo) == before
    assert worktrees(project_repo) == [str(project_repo)]


def test_repository_hooks_never_run(project_repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "hook-ran"
    hooks = project_repo / ".git" / "hooks"
    for name in ("post-checkout", "pre-commit", "commit-msg", "post-commit"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho {name} >> '{marker}'\n")
        hook.chmod(0o755)
    # The same hook does run under plain git, so its silence below means something.
    git(project_repo, "commit", "--quiet", "--allow-empty", "-m", "hooks check")
    assert "pre-commit" in marker.read_text()
    marker.unlink()

    with FixWorktree(project_repo, BRANCH) as wt:
        (wt.path / "app.py").write_text("changed\n")
        wt.commit("A fix")
    assert wt.kept
    assert not marker.exists()


def test_user_index_untouched_even_when_git_env_points_at_it(
    project_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As inside a git hook, where GIT_DIR and GIT_INDEX_FILE name the user's repository."""
    make_dirty(project_repo)
    before = snapshot(project_repo)
    with monkeypatch.context() as env:
        env.setenv("GIT_DIR", str(project_repo / ".git"))
        env.setenv("GIT_INDEX_FILE", str(project_repo / ".git" / "index"))
        env.setenv("GIT_WORK_TREE", str(project_repo))
        with FixWorktree(project_repo, BRANCH) as wt:
            (wt.path / "app.py").write_text("changed\n")
            wt.commit("A fix")
    assert snapshot(project_repo) == before
    assert show_file(project_repo, BRANCH, "app.py") == "changed\n"


def test_fallback_identity_only_for_what_the_repository_lacks(
    project_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty.gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "EMAIL",
    ):
        monkeypatch.delenv(var, raising=False)

    def fix(branch: str) -> str:
        with FixWorktree(project_repo, branch) as wt:
            (wt.path / "app.py").write_text(f"{branch}\n")
            sha = wt.commit("A fix")
        return git(project_repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha).strip()

    fallback = f"{FALLBACK_NAME} <{FALLBACK_EMAIL}>"
    assert fix("fix-a") == f"{fallback}|{fallback}"

    git(project_repo, "config", "user.name", "Jane Maintainer")
    assert fix("fix-b") == (
        f"Jane Maintainer <{FALLBACK_EMAIL}>|Jane Maintainer <{FALLBACK_EMAIL}>"
    )

    git(project_repo, "config", "user.email", "jane@example.org")
    assert fix("fix-c") == "Jane Maintainer <jane@example.org>|Jane Maintainer <jane@example.org>"


def test_not_a_repository_is_a_clear_input_error(plain_dir: Path) -> None:
    with pytest.raises(GitError) as err:
        repo_root(plain_dir / "requirements.txt")
    assert err.value.exit_code == ExitCode.INPUT_ERROR
    assert int(err.value.exit_code) == 2
    message = str(err.value)
    assert str(plain_dir / "requirements.txt") in message
    assert "not inside a git working tree" in message
    assert "not a git repository" in message  # git's own words follow
    with (
        pytest.raises(GitError, match="not inside a git working tree"),
        FixWorktree(plain_dir, BRANCH),
    ):
        pass


def test_missing_path_is_a_git_error(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="does not exist"):
        repo_root(tmp_path / "nowhere" / "deeper")


def test_repo_root_from_a_subdirectory_and_a_file(project_repo: Path) -> None:
    sub = project_repo / "src" / "pkg"
    sub.mkdir(parents=True)
    assert repo_root(sub) == project_repo.resolve()
    assert repo_root(project_repo / "app.py") == project_repo.resolve()


def test_head_branch_and_dirty_state(project_repo: Path, tmp_path: Path) -> None:
    assert current_branch(project_repo) == "main"
    assert dirty_paths(project_repo) == ()
    make_dirty(project_repo)
    assert set(dirty_paths(project_repo)) == {"app.py", "staged.txt", "notes.txt", "uv.lock"}
    git(project_repo, "checkout", "--quiet", "--detach")
    assert current_branch(project_repo) is None

    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "--quiet")
    with pytest.raises(GitError, match="has no commits yet"):
        head_commit(empty)


def test_unique_branch_names_count_up_past_taken_ones(project_repo: Path) -> None:
    base = "patchpilot/fix-pyyaml-5.4"
    assert unique_branch_name(project_repo, base) == base
    git(project_repo, "branch", base)
    assert unique_branch_name(project_repo, base) == f"{base}-2"
    git(project_repo, "branch", f"{base}-2")
    assert unique_branch_name(project_repo, base) == f"{base}-3"
    # A remote-tracking branch of that name would collide on push.
    head = head_commit(project_repo)
    git(project_repo, "update-ref", f"refs/remotes/origin/{base}-3", head)
    assert unique_branch_name(project_repo, base) == f"{base}-4"


def test_unique_branch_names_avoid_directory_file_conflicts(project_repo: Path) -> None:
    # git cannot create `deps` while `deps/x` exists: the name gets a suffix, and the chosen
    # name really can be created.
    git(project_repo, "branch", "deps/x")
    name = unique_branch_name(project_repo, "deps")
    assert name == "deps-2"
    with FixWorktree(project_repo, name) as wt:
        (wt.path / "app.py").write_text(name)
        wt.commit("A fix")
    assert name in branches(project_repo)
    # Nor `patchpilot/fix` while a branch `patchpilot` exists, whatever the suffix.
    git(project_repo, "branch", "patchpilot")
    with pytest.raises(GitError, match="a branch 'patchpilot' exists"):
        unique_branch_name(project_repo, "patchpilot/fix")
    with pytest.raises(GitError):
        git_made = FixWorktree(project_repo, "patchpilot/fix")
        with git_made:
            pass
    assert "patchpilot/fix" not in branches(project_repo)
    assert worktrees(project_repo) == [str(project_repo)]


@pytest.mark.parametrize("bad", ["", "-x", "a..b", "has space", "ends.lock", "x@{1}", "a/"])
def test_invalid_branch_names_are_refused(project_repo: Path, bad: str) -> None:
    with pytest.raises(GitError, match="not a valid branch name"):
        unique_branch_name(project_repo, bad)


def test_show_file_at_revisions(project_repo: Path) -> None:
    first = head_commit(project_repo)
    assert show_file(project_repo, first, "uv.lock") == (project_repo / "uv.lock").read_text()
    assert show_file(project_repo, first, "missing.lock") is None
    (project_repo / "sub").mkdir()
    (project_repo / "sub" / "req.txt").write_text("x==1\n")
    git(project_repo, "add", "sub")
    git(project_repo, "commit", "--quiet", "-m", "sub")
    assert show_file(project_repo, "HEAD", "sub/req.txt") == "x==1\n"
    assert show_file(project_repo, first, "sub/req.txt") is None
    with pytest.raises(GitError, match="not a file"):
        show_file(project_repo, "HEAD", "sub")
    with pytest.raises(GitError, match="no commit named"):
        show_file(project_repo, "v9.9", "uv.lock")
    with pytest.raises(GitError, match="not a path inside"):
        show_file(project_repo, "HEAD", "../outside.txt")
    assert diff_files(project_repo, first, "HEAD") == ["sub/req.txt"]


def test_git_error_names_repo_command_and_git_message(project_repo: Path) -> None:
    with FixWorktree(project_repo, BRANCH) as wt:
        with pytest.raises(GitError) as err:
            wt.commit("A fix", paths=["no-such-file.txt"])
        (wt.path / "app.py").write_text("changed\n")
        wt.commit("A fix")
    text = str(err.value)
    assert text.startswith(f"{wt.repo}: cannot stage the changes on {BRANCH}")
    assert "git --literal-pathspecs add --all -- no-such-file.txt" in text
    assert "did not match any files" in text  # git's stderr, quoted


def test_second_repository_is_independent(tmp_path: Path) -> None:
    """Two projects fixed one after the other: branches land only in their own repository."""
    one = make_repo(tmp_path / "one")
    two = make_repo(tmp_path / "two", project="fork-before")
    for repo in (one, two):
        with FixWorktree(repo, BRANCH) as wt:
            (wt.path / "app.py").write_text(f"{repo.name}\n")
            wt.commit("A fix")
    assert show_file(one, BRANCH, "app.py") == "one\n"
    assert show_file(two, BRANCH, "app.py") == "two\n"
