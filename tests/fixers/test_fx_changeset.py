"""Changesets: unified diffs that real `git apply` accepts, and the one writing step.

The texts edited are real project files (the uv projects in tests/assets/fixers/deltas);
diffs are checked by applying them with the real git to a copy of the original; writes are
checked on the file system (atomic replacement, dry run, refusal of paths outside the root,
stale files, and putting earlier files back when a later one fails).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchpilot.errors import ChangeSetError, ExitCode
from patchpilot.fixers.changeset import ChangeSet, FileEdit, write_changeset

DELTAS = Path(__file__).resolve().parents[1] / "assets" / "fixers" / "deltas"
BEFORE = DELTAS / "requests-before"
AFTER = DELTAS / "requests-after"


def real_edits() -> tuple[FileEdit, ...]:
    """The real edit of upgrading requests 2.25.1 to 2.31.0: manifest and lockfile."""
    return tuple(
        FileEdit(
            name,
            (BEFORE / name).read_bytes().decode(),
            (AFTER / name).read_bytes().decode(),
        )
        for name in ("pyproject.toml", "uv.lock")
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(BEFORE, root)
    return root


def git_apply(root: Path, diff: str) -> None:
    subprocess.run(
        ["git", "apply", "--verbose", "-"],
        cwd=root,
        input=diff,
        text=True,
        check=True,
        capture_output=True,
    )


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_unified_diff_applies_with_real_git(project: Path, tmp_path: Path) -> None:
    edits = (
        *real_edits(),
        FileEdit("constraints.txt", None, "urllib3>=2.2.2\n"),
        FileEdit("app.txt", None, "no newline at the end"),
    )
    changeset = ChangeSet(("R1",), edits)
    diff = changeset.unified_diff()
    assert "--- a/uv.lock\n+++ b/uv.lock\n" in diff
    assert "--- /dev/null\n+++ b/constraints.txt\n" in diff
    assert "\\ No newline at end of file\n" in diff
    git_apply(project, diff)
    for edit in edits:
        assert (project / edit.path).read_bytes().decode() == edit.after


def test_deletion_and_missing_final_newline_apply_with_real_git(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "old.txt").write_text("one\ntwo\n")
    (root / "tail.txt").write_text("alpha\nbeta")
    edits = (
        FileEdit("old.txt", "one\ntwo\n", None),
        FileEdit("tail.txt", "alpha\nbeta", "alpha\nbeta\ngamma\n"),
    )
    diff = ChangeSet(("R1",), edits).unified_diff()
    assert "+++ /dev/null" in diff
    git_apply(root, diff)
    assert not (root / "old.txt").exists()
    assert (root / "tail.txt").read_text() == "alpha\nbeta\ngamma\n"


def test_unchanged_edit_has_no_diff() -> None:
    text = (BEFORE / "pyproject.toml").read_text()
    assert FileEdit("pyproject.toml", text, text).unified_diff() == ""


def test_write_replaces_files_atomically_and_keeps_their_mode(project: Path) -> None:
    lock = project / "uv.lock"
    lock.chmod(0o640)
    old_inode = lock.stat().st_ino
    changeset = ChangeSet(("R1",), (*real_edits(), FileEdit("sub/dir/new.txt", None, "new\n")))
    write_changeset(changeset, project, dry_run=False)
    assert lock.read_bytes() == (AFTER / "uv.lock").read_bytes()
    assert (project / "pyproject.toml").read_bytes() == (AFTER / "pyproject.toml").read_bytes()
    assert (project / "sub" / "dir" / "new.txt").read_text() == "new\n"
    # Replaced by a rename (a new inode), not rewritten in place; mode carried over.
    assert lock.stat().st_ino != old_inode
    assert lock.stat().st_mode & 0o777 == 0o640
    assert not list(project.rglob("*.tmp"))


def test_dry_run_writes_nothing(project: Path) -> None:
    before = tree_bytes(project)
    mtimes = {p: p.stat().st_mtime_ns for p in project.rglob("*")}
    edits = (*real_edits(), FileEdit("new.txt", None, "x\n"))
    write_changeset(ChangeSet(("R1",), edits), project, dry_run=True)
    assert tree_bytes(project) == before
    assert {p: p.stat().st_mtime_ns for p in project.rglob("*")} == mtimes


def test_dry_run_still_refuses_bad_paths(project: Path) -> None:
    with pytest.raises(ChangeSetError, match="escapes the project root"):
        write_changeset(ChangeSet(("R1",), (FileEdit("../x", None, "x"),)), project, dry_run=True)


def test_deletion(project: Path) -> None:
    text = (project / "uv.lock").read_bytes().decode()
    write_changeset(ChangeSet(("R1",), (FileEdit("uv.lock", text, None),)), project, dry_run=False)
    assert not (project / "uv.lock").exists()


@pytest.mark.parametrize(
    "path",
    [
        "../outside.txt",
        "sub/../../outside.txt",
        "/etc/passwd",
        "",
        ".",
        "C:\\x.txt",
        "a\\..\\..\\b",
    ],
)
def test_paths_escaping_the_root_are_refused(project: Path, path: str) -> None:
    before = tree_bytes(project.parent)
    with pytest.raises(ChangeSetError, match="escapes the project root") as err:
        write_changeset(ChangeSet(("R1",), (FileEdit(path, None, "x\n"),)), project, dry_run=False)
    assert err.value.exit_code == ExitCode.INPUT_ERROR
    assert tree_bytes(project.parent) == before


def test_symlinks_pointing_outside_are_refused(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("keep\n")
    (project / "link-dir").symlink_to(outside)
    (project / "link-file").symlink_to(outside / "secret.txt")
    for rel in ("link-dir/new.txt", "link-dir/secret.txt", "link-file"):
        before = "keep\n" if rel != "link-dir/new.txt" else None
        edit = FileEdit(rel, before, "overwritten\n")
        with pytest.raises(ChangeSetError, match="symbolic link") as err:
            write_changeset(ChangeSet(("R1",), (edit,)), project, dry_run=False)
        assert rel.split("/")[0] in str(err.value)
    assert (outside / "secret.txt").read_text() == "keep\n"
    assert not (outside / "new.txt").exists()


def test_symlink_inside_the_root_writes_its_target(project: Path) -> None:
    (project / "locks").mkdir()
    (project / "uv.lock").rename(project / "locks" / "uv.lock")
    (project / "uv.lock").symlink_to(Path("locks") / "uv.lock")
    edit = next(e for e in real_edits() if e.path == "uv.lock")
    write_changeset(ChangeSet(("R1",), (edit,)), project, dry_run=False)
    assert (project / "uv.lock").is_symlink()
    assert (project / "locks" / "uv.lock").read_bytes() == (AFTER / "uv.lock").read_bytes()


def test_stale_files_are_refused_before_anything_is_written(project: Path) -> None:
    (project / "uv.lock").write_text((project / "uv.lock").read_text() + "# edited meanwhile\n")
    before = tree_bytes(project)
    with pytest.raises(ChangeSetError, match="changed since the changeset was made"):
        write_changeset(ChangeSet(("R1",), real_edits()), project, dry_run=False)
    assert tree_bytes(project) == before
    (project / "exists.txt").write_text("here\n")
    with pytest.raises(ChangeSetError, match="exists already"):
        write_changeset(
            ChangeSet(("R1",), (FileEdit("exists.txt", None, "x\n"),)), project, dry_run=False
        )
    with pytest.raises(ChangeSetError, match="no longer exists"):
        write_changeset(
            ChangeSet(("R1",), (FileEdit("gone.txt", "x\n", "y\n"),)), project, dry_run=False
        )


def test_a_failed_write_puts_earlier_files_back(project: Path) -> None:
    """The second edit's parent is a file, so creating it fails after the first was written."""
    before = tree_bytes(project)
    edits = (*real_edits(), FileEdit("pyproject.toml/inner.txt", None, "x\n"))
    with pytest.raises(ChangeSetError, match="cannot write") as err:
        write_changeset(ChangeSet(("R1",), edits), project, dry_run=False)
    assert "pyproject.toml/inner.txt" in str(err.value)
    assert tree_bytes(project) == before
    assert not list(project.rglob("*.tmp"))


def test_the_same_file_twice_is_refused(project: Path) -> None:
    text = (project / "uv.lock").read_text()
    edits = (FileEdit("uv.lock", text, "a"), FileEdit("./uv.lock", text, "b"))
    with pytest.raises(ChangeSetError, match="edited twice"):
        write_changeset(ChangeSet(("R1",), edits), project, dry_run=True)


def test_missing_root_is_a_changeset_error(tmp_path: Path) -> None:
    with pytest.raises(ChangeSetError, match="project root"):
        write_changeset(ChangeSet(("R1",), ()), tmp_path / "missing", dry_run=True)


_segment = st.sampled_from(["..", ".", "a", "b", "link", "", "c.txt", "/", "\\", "~", "..."])


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_segment, min_size=1, max_size=6), lead=st.sampled_from(["", "/", "./"]))
def test_any_path_is_written_inside_the_root_or_refused_cleanly(
    tmp_path: Path, parts: list[str], lead: str
) -> None:
    base = tmp_path / "h"
    root = base / "root"
    if not root.exists():
        root.mkdir(parents=True)
        (root / "link").symlink_to(base)  # a link out of the root
    rel = lead + "/".join(parts)
    try:
        write_changeset(ChangeSet(("R",), (FileEdit(rel, None, "x"),)), root, dry_run=True)
    except ChangeSetError as e:
        assert str(e)
        return
    # Accepted: the file it would write lies inside the root, links resolved.
    target = (root / rel.lstrip("/")).resolve()
    assert target.is_relative_to(root.resolve())
    assert os.path.commonpath([target, root.resolve()]) == str(root.resolve())
