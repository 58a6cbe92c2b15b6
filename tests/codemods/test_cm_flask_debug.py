"""`flask-debug-env`: golden cases, one refusal fixture per reason, and where it applies.

Cases live in tests/assets/codemods/flask-debug-env/ (see `cases.py`); the codemod instance is
run directly, so these tests do not depend on the registry.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from patchpilot.fixers.codemods.engine import run_codemods
from patchpilot.fixers.codemods.flask_debug import (
    FlaskDebugEnv,
    is_dev_entry,
)
from patchpilot.fixers.codemods.interface import Reason, Tier

from .cases import Case
from .cm_single import cases_of, check_want_is_fixed_point, ruff_findings, run_case

CASES = cases_of(FlaskDebugEnv.id)
WANTS = [c for c in CASES if c.want is not None]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    run_case(case, FlaskDebugEnv(), tmp_path)


@pytest.mark.parametrize("case", WANTS, ids=[c.name for c in WANTS])
def test_golden_output_compiles_and_is_a_fixed_point(case: Case, tmp_path: Path) -> None:
    check_want_is_fixed_point(case, FlaskDebugEnv(), tmp_path)


def test_golden_outputs_are_clean_under_ruff_f401_f821_f811() -> None:
    assert ruff_findings(CASES) == ""


def test_every_refusal_reason_has_a_fixture() -> None:
    reasons = {reason for case in CASES for (_, _, reason) in case.refusals}
    assert reasons == {
        Reason.UNKNOWN_RECEIVER,
        Reason.NOT_DEV_ENTRY,
        Reason.NOT_A_LITERAL,
        Reason.NAME_CONFLICT,
        Reason.SUPPRESSED,
    }


def test_metadata_and_explanation() -> None:
    codemod = FlaskDebugEnv()
    assert (codemod.id, codemod.tier, codemod.cwe) == ("flask-debug-env", Tier.A_MINUS, (94, 489))
    assert 'os.environ.get("FLASK_DEBUG") == "1"' in codemod.explanation


@pytest.mark.parametrize(
    ("path", "dev"),
    [
        ("run.py", True),
        ("app/__main__.py", True),
        ("scripts/dev_server.py", True),
        ("run_local.py", True),
        ("serve_dev.py", True),
        ("devserver.py", True),
        ("app/wsgi.py", False),
        ("app/main.py", False),
        ("app/views.py", False),
        ("runner.py", False),
    ],
)
def test_dev_entry_names(path: str, dev: bool) -> None:
    assert is_dev_entry(path) is dev


def _module(root: Path, text: str) -> Path:
    (root / "pyproject.toml").write_text(
        '[project]\nname = "t"\nversion = "0"\nrequires-python = ">=3.12"\n', encoding="utf-8"
    )
    (root / "app.py").write_text(text, encoding="utf-8")
    return root


def test_else_branch_of_the_main_guard_is_not_a_dev_entry(tmp_path: Path) -> None:
    root = _module(
        tmp_path,
        "from flask import Flask\n\napp = Flask(__name__)\n\n"
        'if __name__ == "__main__":\n    pass\nelse:\n    app.run(debug=True)\n',
    )
    result = run_codemods(root, codemods=[FlaskDebugEnv()])
    assert [(r.line, r.reason) for r in result.refusals] == [(8, Reason.NOT_DEV_ENTRY)]
    assert not result.changeset.edits


def test_other_run_methods_are_not_findings(tmp_path: Path) -> None:
    # Positional arguments of an unknown `.run` are not a debug flag; nothing is refused.
    root = _module(
        tmp_path,
        "import subprocess\n\n"
        'if __name__ == "__main__":\n    subprocess.run(["true"], -1, None, True)\n',
    )
    result = run_codemods(root, codemods=[FlaskDebugEnv()])
    assert not result.changes and not result.refusals


def test_a_reassigned_app_is_an_unknown_receiver(tmp_path: Path) -> None:
    root = _module(
        tmp_path,
        "from flask import Flask\nfrom werkzeug.middleware.proxy_fix import ProxyFix\n\n"
        "app = Flask(__name__)\napp = ProxyFix(app)\n\n"
        'if __name__ == "__main__":\n    app.run(debug=True)\n',
    )
    result = run_codemods(root, codemods=[FlaskDebugEnv()])
    assert [(r.line, r.reason) for r in result.refusals] == [(8, Reason.UNKNOWN_RECEIVER)]
