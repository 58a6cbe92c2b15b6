"""The plumbing the lockfile fixers share (`fixers._workspace`), with real files and processes.

The tool runs use the machine's `sh` (POSIX) and the running Python: a timeout must stop the
tool and every process it started, and a run is recorded however it ended.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from patchpilot.errors import FixError
from patchpilot.fixers._workspace import (
    ToolRun,
    copy_project,
    first_lines,
    locate,
    read_exact,
    run_tool,
)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "uv.lock").write_text("version = 1\n")
    return root


def test_locate_reads_a_relative_lockfile_against_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    found = locate(Path("project"), Path("sub/uv.lock"))
    assert found.root == root.resolve()
    assert found.path == (root / "sub" / "uv.lock").resolve()
    assert found.rel == Path("sub/uv.lock")
    assert found.shown == Path("project/sub/uv.lock")
    # A path relative to the working directory, as the engine passes it, works too.
    assert locate(Path("project/sub"), Path("project/sub/uv.lock")).rel == Path("uv.lock")


def test_locate_refuses_what_no_fixer_can_work_on(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (tmp_path / "elsewhere.lock").write_text("")
    with pytest.raises(FixError, match=r"elsewhere\.lock: not inside the project"):
        locate(root, tmp_path / "elsewhere.lock")
    with pytest.raises(FixError, match=r"missing\.lock: cannot be read"):
        locate(root, Path("missing.lock"))
    with pytest.raises(FixError, match=r"sub: not a file"):
        locate(root, Path("sub"))
    with pytest.raises(FixError, match=r"the project cannot be used"):
        locate(tmp_path / "no-such-project", Path("uv.lock"))
    with pytest.raises(FixError, match=r"the project is not a directory"):
        locate(root / "sub" / "uv.lock", Path("uv.lock"))


def test_copy_project_leaves_out_vcs_data_environments_and_caches(tmp_path: Path) -> None:
    root = _project(tmp_path)
    for skipped in (".git", "node_modules", "__pycache__", ".mypy_cache", "env"):
        (root / skipped).mkdir()
        (root / skipped / "x").write_text("x")
    (root / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (root / "dist").mkdir()
    (root / "dist" / "pkg-1.0.tar.gz").write_bytes(b"\x1f\x8b")
    copy = copy_project(root, tmp_path / "copy")
    copied = {p.relative_to(copy).as_posix() for p in copy.rglob("*")}
    assert copied == {"sub", "sub/uv.lock", "dist", "dist/pkg-1.0.tar.gz"}


def test_read_exact_names_the_file_it_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\xe9\r\n".encode("latin-1"))
    with pytest.raises(FixError, match=r"shown\.txt: not UTF-8 text \(byte 3\)"):
        read_exact(path, "shown.txt")
    path.write_bytes(b"a\r\nb")
    assert read_exact(path) == "a\r\nb"


def test_run_tool_records_each_run_and_decodes_its_output(tmp_path: Path) -> None:
    runs: list[ToolRun] = []
    done = run_tool(
        [sys.executable, "-c", "import sys; print('out'); sys.stderr.write('err\\r\\n'); exit(3)"],
        shown="python -c …",
        cwd=tmp_path,
        timeout=60,
        on_run=runs.append,
    )
    assert (done.returncode, done.ok, done.stdout, done.stderr) == (3, False, "out\n", "err\n")
    assert [(r.command, r.returncode) for r in runs] == [("python -c …", 3)]
    assert runs[0].seconds == done.seconds > 0


def test_run_tool_closes_stdin(tmp_path: Path) -> None:
    done = run_tool(
        [sys.executable, "-c", "import sys; print(repr(sys.stdin.read()))"],
        shown="read stdin",
        cwd=tmp_path,
        timeout=60,
    )
    assert done.stdout == "''\n"


def test_run_tool_that_cannot_start_is_a_fix_error(tmp_path: Path) -> None:
    runs: list[ToolRun] = []
    with pytest.raises(FixError, match=r"uv\.lock: cannot run `no-such-tool lock`"):
        run_tool(
            [str(tmp_path / "no-such-tool"), "lock"],
            shown="no-such-tool lock",
            cwd=tmp_path,
            timeout=60,
            where="uv.lock",
            on_run=runs.append,
        )
    assert [r.returncode for r in runs] == [-1]


@posix_only
def test_a_timeout_kills_the_tool_and_every_process_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {pid_file}; wait"
    runs: list[ToolRun] = []
    began = time.perf_counter()
    with pytest.raises(FixError, match=r"`sh -c …` did not finish within 2 s"):
        run_tool(["sh", "-c", script], shown="sh -c …", cwd=tmp_path, timeout=2, on_run=runs.append)
    assert time.perf_counter() - began < 30
    assert [r.returncode for r in runs] == [-1]
    child = int(pid_file.read_text())
    # The grandchild was killed with the group: it is gone (or a zombie awaiting its reaper).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.is_file():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False
    return True


def test_first_lines_keeps_the_start_of_a_long_message() -> None:
    output = "Resolved 3 packages\n" + "\n".join(f"  line {i}" for i in range(12)) + "\n\n"
    assert first_lines(output, drop=("Resolved ",)).splitlines() == [
        "  line 0",
        *(f"  line {i}" for i in range(1, 8)),
        "…",
    ]
    assert first_lines(" a \n\n b ", joiner="|", keep_indent=False) == "a|b"
    assert first_lines("\n \n", empty="nothing") == "nothing"
