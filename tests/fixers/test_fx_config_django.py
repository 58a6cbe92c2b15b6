"""Django settings mitigations on a real `django-admin startproject` project and variants of it,
judged by the project's real `manage.py check --deploy` run with a real Django.

The Django interpreter is a uv virtualenv with Django 5.2 from PyPI, built once and kept in
pytest's cache directory; tests that use it are marked `network` and `slow`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchpilot.errors import CodefixError
from patchpilot.fixers.changeset import write_changeset
from patchpilot.fixers.config import Reason, run_config_mitigations
from patchpilot.fixers.config.django import is_dev_module, render, run_check
from patchpilot.fixers.config.interface import ConfigChange, MitigationResult

DJANGO = Path(__file__).resolve().parents[1] / "assets" / "config" / "django"
CASES = DJANGO / "cases"
UV = Path(sys.executable).parent / "uv"


def _uv() -> str:
    found = str(UV) if UV.exists() else shutil.which("uv")
    if found is None:
        pytest.fail("uv is needed to build the test interpreters (it is a patchpilot dependency)")
    return found


@pytest.fixture(scope="session")
def django_python(request: pytest.FixtureRequest) -> Path:
    """An interpreter with Django 5.2 installed (the newest Django for Python 3.11)."""
    # Kept between runs in pytest's cache; a run without the cache plugin builds it afresh.
    cache = getattr(request.config, "cache", None)
    base = (
        Path(cache.mkdir("patchpilot-config-django"))
        if cache is not None
        else request.getfixturevalue("tmp_path_factory").mktemp("django")
    )
    venv = base / "venv"
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import django; assert django.VERSION[:2] == (5, 2)"]
    if python.exists() and subprocess.run(probe, check=False, capture_output=True).returncode == 0:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    uv = _uv()
    steps = (
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [uv, "pip", "install", "--quiet", "--python", str(python), "django>=5.2,<5.3"],
    )
    for step in steps:
        done = subprocess.run(step, check=False, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            pytest.fail(f"cannot build the Django interpreter ({' '.join(step)}): {done.stderr}")
    return python


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An interpreter without Django (a fresh virtualenv; no network needed)."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run(
        [_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)],
        check=True,
        capture_output=True,
    )
    return venv / "bin" / "python"


def _project(tmp_path: Path, case: str) -> Path:
    root = tmp_path / "mysite"
    shutil.copytree(DJANGO / "mysite", root)
    here = CASES / case
    remove = here / "remove.txt"
    if remove.exists():
        for rel in remove.read_text().split():
            (root / rel).unlink()
    files = here / "files"
    if files.exists():
        for source in sorted(files.rglob("*")):
            if source.is_file():
                target = root / source.relative_to(files)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _wants(case: str) -> dict[str, str]:
    want = CASES / case / "want"
    if not want.exists():
        return {}
    return {p.relative_to(want).as_posix(): p.read_text() for p in want.rglob("*") if p.is_file()}


def _reasons(result: MitigationResult) -> set[tuple[str, str, str]]:
    return {(r.mitigation, r.path, r.reason.value) for r in result.refusals}


TIER_C = {
    ("django-hsts", "mysite/settings.py", "tier-c"),
    ("django-ssl-redirect", "mysite/settings.py", "tier-c"),
}

GOLDEN = {
    "startproject": (
        {"SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"},
        TIER_C | {("django-debug-env", "mysite/settings.py", "allowed-hosts-empty")},
    ),
    "debug-env": ({"DEBUG"}, TIER_C),
    "debug-env-os": ({"DEBUG"}, TIER_C),
    "secure-cookies": (
        {"SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE"},
        TIER_C,
    ),
    "split-settings": (
        {"SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"},
        {
            ("django-hsts", "mysite/settings/production.py", "tier-c"),
            ("django-ssl-redirect", "mysite/settings/production.py", "tier-c"),
            ("django-debug-env", "mysite/settings/dev.py", "split-settings"),
            ("django-secure-cookies", "mysite/settings/dev.py", "split-settings"),
        },
    ),
}


@pytest.mark.parametrize("case", sorted(GOLDEN))
@pytest.mark.network
@pytest.mark.slow
def test_golden_edit_clears_check_deploy_warnings(
    tmp_path: Path, case: str, django_python: Path
) -> None:
    root = _project(tmp_path, case)
    before = _files(root)
    wants = _wants(case)
    keys, refusals = GOLDEN[case]

    result = run_config_mitigations(root, python=django_python)

    assert {e.path: e.after for e in result.changeset.edits} == wants
    assert {c.key for c in result.changes} == keys
    assert _reasons(result) == refusals
    for change in result.changes:
        line = wants[change.path].splitlines()[change.line - 1]
        assert line.startswith(f"{change.key} = {change.after}")
    # The oracle ran before and after every kept edit, and each one removed a warning.
    first, *afters = result.checks
    assert first.stage == "before" and first.ok
    assert [c.trying for c in afters] == [c.key for c in _in_edit_order(result)]
    seen = set(first.warnings)
    for check in afters:
        assert check.ok and set(check.warnings) < seen
        seen = set(check.warnings)

    write_changeset(result.changeset, root, dry_run=False)
    after = _files(root)
    for rel, data in before.items():
        if rel in wants:
            assert after[rel].decode() == wants[rel]
        else:
            assert after[rel] == data, f"{rel} changed"

    # The real check agrees, and a second run changes nothing.
    module = "mysite.settings.production" if case == "split-settings" else "mysite.settings"
    final = run_check(django_python, root, module)
    assert final.ok and final.ids == frozenset(afters[-1].warnings)
    again = run_config_mitigations(root, python=django_python)
    assert again.changes == ()
    assert _reasons(again) == refusals


def _in_edit_order(result: MitigationResult) -> list[ConfigChange]:
    order = ["DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY"]
    return sorted(result.changes, key=lambda c: order.index(c.key))


NEGATIVE = {
    "env-driven": ("django-debug-env", "env-driven", "reads the environment"),
    "computed-value": ("django-debug-env", "computed-value", "DEPLOYMENT != 'production'"),
    "conditional": ("django-debug-env", "conditional", "under if/try/for/with"),
    "overridden": ("django-secure-cookies", "overridden", "SESSION_COOKIE_SECURE is True here"),
    "postcondition": ("django-debug-env", "postcondition-check-deploy", "security.W018"),
    "invalid-before": ("django-debug-env", "invalid-before", "KeyError: 'DJANGO_SECRET_KEY'"),
}


@pytest.mark.parametrize("case", sorted(NEGATIVE))
@pytest.mark.network
@pytest.mark.slow
def test_refused_cases_leave_every_file_byte_identical(
    tmp_path: Path, case: str, django_python: Path
) -> None:
    root = _project(tmp_path, case)
    before = _files(root)
    mitigation, reason, detail = NEGATIVE[case]

    result = run_config_mitigations(root, python=django_python)

    assert result.changeset.edits == ()
    matching = [r for r in result.refusals if r.mitigation == mitigation]
    assert [r.reason.value for r in matching] == [reason]
    assert detail in matching[0].detail
    assert matching[0].path == "mysite/settings.py"
    write_changeset(result.changeset, root, dry_run=False)
    assert _files(root) == before


@pytest.mark.network
@pytest.mark.slow
def test_postcondition_records_the_warnings_that_stayed(
    tmp_path: Path, django_python: Path
) -> None:
    root = _project(tmp_path, "postcondition")
    result = run_config_mitigations(root, python=django_python)
    before, after = result.checks
    assert (before.stage, after.stage, after.trying) == ("before", "after", "DEBUG")
    assert "security.W018" in before.warnings and "security.W018" in after.warnings


def test_without_django_nothing_is_applied(tmp_path: Path, bare_python: Path) -> None:
    root = _project(tmp_path, "startproject")
    result = run_config_mitigations(root, python=bare_python)
    assert result.changeset.edits == ()
    assert result.checks == ()
    assert _reasons(result) == TIER_C | {
        ("django-debug-env", "mysite/settings.py", "allowed-hosts-empty"),
        ("django-secure-cookies", "mysite/settings.py", "no-oracle"),
    }
    assert all(
        "cannot import django" in r.detail for r in result.refusals if r.reason is Reason.NO_ORACLE
    )


def test_settings_no_entry_point_names_are_refused(tmp_path: Path) -> None:
    root = _project(tmp_path, "no-settings-module")
    result = run_config_mitigations(root, python=tmp_path / "no-python")
    assert result.changeset.edits == ()
    assert _reasons(result) == {
        ("django-debug-env", "mysite/settings.py", "no-settings-module"),
        ("django-secure-cookies", "mysite/settings.py", "no-settings-module"),
    }


def test_entry_point_naming_a_missing_module_is_refused(tmp_path: Path) -> None:
    root = _project(tmp_path, "startproject")
    manage = root / "manage.py"
    manage.write_text(manage.read_text().replace("'mysite.settings'", "'mysite.nowhere'"))
    result = run_config_mitigations(root, python=tmp_path / "no-python")
    assert ("django-debug-env", "manage.py", "no-settings-module") in _reasons(result)


def test_settings_that_do_not_parse_are_refused(tmp_path: Path) -> None:
    root = _project(tmp_path, "startproject")
    settings_py = root / "mysite" / "settings.py"
    settings_py.write_text(settings_py.read_text().replace("DEBUG = True", "DEBUG = = True"))
    result = run_config_mitigations(root, python=tmp_path / "no-python")
    assert result.changeset.edits == ()
    assert {r.reason for r in result.refusals} == {Reason.INVALID_BEFORE}
    assert all(r.detail.startswith("invalid Python") for r in result.refusals)


def test_not_utf8_settings_are_a_clean_error(tmp_path: Path) -> None:
    root = _project(tmp_path, "startproject")
    (root / "mysite" / "settings.py").write_bytes(b"DEBUG = True  # \xff\n")
    with pytest.raises(CodefixError, match=r"mysite/settings\.py: not UTF-8"):
        run_config_mitigations(root, python=tmp_path / "no-python")


def test_render_reuses_from_os_import_environ(tmp_path: Path) -> None:
    from patchpilot.fixers.config.django import _read_module

    path = tmp_path / "settings.py"
    path.write_text("from os import environ as env_\n\nDEBUG: bool = True\n")
    module = _read_module(path, tmp_path)
    assert render(module, ["DEBUG"]) == (
        'from os import environ as env_\n\nDEBUG: bool = env_.get("DJANGO_DEBUG") == "1"\n'
    )


@pytest.mark.parametrize(
    ("name", "dev"),
    [
        ("settings/dev.py", True),
        ("settings/local_settings.py", True),
        ("settings/test.py", True),
        ("settings/production.py", False),
        ("settings/base.py", False),
        ("mysite/settings.py", False),
    ],
)
def test_development_modules_are_told_by_name(name: str, dev: bool) -> None:
    assert is_dev_module(Path(name)) is dev


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            ["DEBUG", " = ", "True", "False", "\n", "if x:\n    ", "os.environ", "(", ")", "[",
             "]", "SESSION_COOKIE_SECURE", "import os\n", "try:\n", "except:\n", "#", '"', ",", "*"]
        ),
        max_size=40,
    ).map("".join)
)  # fmt: skip
def test_junk_settings_give_refusals_or_nothing(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "app").mkdir()
        (root / "manage.py").write_text(
            "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'app.settings')\n"
        )
        (root / "app" / "settings.py").write_text(text)
        result = run_config_mitigations(root, python=root / "no-python")
    assert result.changeset.edits == ()
    assert {r.reason for r in result.refusals} <= {
        Reason.INVALID_BEFORE,
        Reason.NO_ORACLE,
        Reason.ALLOWED_HOSTS_EMPTY,
        Reason.TIER_C,
        Reason.ENV_DRIVEN,
        Reason.COMPUTED_VALUE,
        Reason.CONDITIONAL,
    }
