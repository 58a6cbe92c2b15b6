"""Test-command detection and the `[verify]` table of .patchpilot.toml, on real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchpilot.errors import VerifyError
from patchpilot.verify.testcmd import Kind, detect_test_command, read_config


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_config_command_wins_over_everything(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".patchpilot.toml": '[verify]\ntest-command = ["python", "-m", "pytest", "-q"]\n'
            "timeout = 30\n",
            "pytest.ini": "[pytest]\n",
            "manage.py": "",
        },
    )
    cmd = detect_test_command(tmp_path)
    assert cmd.argv == ("python", "-m", "pytest", "-q")
    assert cmd.kind is Kind.PYTEST
    assert "verify.test-command" in cmd.source
    assert read_config(tmp_path).timeout == 30.0


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[verify]\ntest-command = "" \n', "verify.test-command"),
        ("[verify]\ntest-command = [1, 2]\n", "verify.test-command"),
        ("[verify]\ntest-command = []\n", "verify.test-command"),
        ('[verify]\ntimeout = "soon"\n', "verify.timeout"),
        ("[verify]\ntimeout = -1\n", "verify.timeout"),
        ('verify = "x"\n', "verify"),
        ("[verify\n", "not valid TOML"),
    ],
)
def test_invalid_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    write(tmp_path, {".patchpilot.toml": text})
    with pytest.raises(VerifyError, match=r"\.patchpilot\.toml") as info:
        detect_test_command(tmp_path)
    assert key in str(info.value)


@pytest.mark.parametrize(
    ("files", "argv", "kind"),
    [
        ({"pyproject.toml": "[tool.pytest.ini_options]\n"}, ("python", "-m", "pytest"), "pytest"),
        ({"setup.cfg": "[tool:pytest]\naddopts = -q\n"}, ("python", "-m", "pytest"), "pytest"),
        (
            {"tox.ini": "[pytest]\n[testenv]\ncommands = make x\n"},
            ("python", "-m", "pytest"),
            "pytest",
        ),
        ({"tests/unit/test_a.py": ""}, ("python", "-m", "pytest"), "pytest"),
        ({"manage.py": "", "tests/test_a.py": ""}, ("python", "manage.py", "test"), "unittest"),
        (
            {"tox.ini": "[testenv]\ndeps = pytest\ncommands =\n    pytest -x {posargs:tests}\n"},
            ("pytest", "-x", "tests"),
            "pytest",
        ),
        (
            {
                "noxfile.py": "import nox\n\n@nox.session\ndef tests(session):\n"
                "    session.install('.')\n    session.run('pytest', '-q')\n"
            },
            ("pytest", "-q"),
            "pytest",
        ),
        ({"Makefile": "lint:\n\truff .\n\ntest: lint\n\tpytest\n"}, ("make", "test"), "other"),
    ],
)
def test_detects_each_kind(
    tmp_path: Path, files: dict[str, str], argv: tuple[str, ...], kind: str
) -> None:
    cmd = detect_test_command(write(tmp_path, files))
    assert cmd.argv == argv
    assert cmd.kind == kind


def test_makefile_without_test_target_is_no_command(tmp_path: Path) -> None:
    write(tmp_path, {"Makefile": "tests-data:\n\ttrue\nTEST := 1\n", "README.md": "x"})
    with pytest.raises(VerifyError, match=r"no test command found; set \[verify\] test-command"):
        detect_test_command(tmp_path)


def test_tox_without_a_literal_command_says_what_to_do(tmp_path: Path) -> None:
    write(tmp_path, {"tox.ini": "[testenv]\ncommands =\n    {envpython} -m x\n    coverage run\n"})
    with pytest.raises(VerifyError, match=r"tox\.ini: testenv\.commands"):
        detect_test_command(tmp_path)


def test_the_bundled_example_runs_pytest() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "webapp"
    cmd = detect_test_command(example)
    assert cmd.kind is Kind.PYTEST
    assert cmd.source == "pyproject.toml: tool.pytest"
