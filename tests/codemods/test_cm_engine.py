"""The codemod engine: guards at engine scope, post-conditions, line bookkeeping, writing.

Post-conditions a correct codemod never trips (a rewrite that leaves an unused import, a
rewrite that is not idempotent, a codemod that crashes) are exercised with small codemods
written in this file against the real `Codemod` interface, named for the fault they carry.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import libcst as cst
import pytest

from patchpilot.errors import CodefixError, UsageError
from patchpilot.events import RecordingReporter
from patchpilot.fixers.changeset import write_changeset
from patchpilot.fixers.codemods.engine import (
    ALL_CODEMODS,
    codefix_records,
    run_codemods,
    select_codemods,
)
from patchpilot.fixers.codemods.interface import (
    Codemod,
    CodemodTransformer,
    FileRun,
    ProjectContext,
    Reason,
    Tier,
    append_arg,
    find_arg,
    is_test_path,
    parse_suppression,
    scan_suppressions,
)
from patchpilot.fixers.codemods.pyyaml import HardenPyyaml
from patchpilot.fixers.codemods.requests_timeout import AddRequestsTimeout

PYPROJECT = '[project]\nname = "t"\nversion = "0"\nrequires-python = ">=3.12"\n'


def project(root: Path, files: dict[str, str | bytes]) -> Path:
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return root


# -- codemods with a deliberate fault, written against the real interface ----------------------


class _UnusedImportTransformer(CodemodTransformer):
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if (
            self.call_name(original_node, {"yaml.load"})
            and find_arg(original_node, "Loader") is None
            and self.may_change(original_node)
        ):
            # Fault: schedules an import the rewrite never uses (ruff F401).
            from libcst.codemod.visitors import AddImportsVisitor

            AddImportsVisitor.add_needed_import(self.context, "os.path", "join")
            self.changed(original_node, "imports os.path.join for nothing")
            return append_arg(updated_node, "Loader", cst.parse_expression("yaml.SafeLoader"))
        return updated_node


class AddsUnusedImport(Codemod):
    id: ClassVar[str] = "adds-unused-import"
    cwe: ClassVar[tuple[int, ...]] = (502,)
    tier: ClassVar[Tier] = Tier.A
    title: ClassVar[str] = "faulty: leaves an unused import"
    rules: ClassVar[tuple[str, ...]] = ("S506",)

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _UnusedImportTransformer(run)


class _AppendsForeverTransformer(CodemodTransformer):
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if self.call_name(original_node, {"builtins.print"}) and self.may_change(original_node):
            self.changed(original_node, "appends another flush=True")
            return append_arg(updated_node, "flush", cst.Name("True"))
        return updated_node


class AppendsForever(Codemod):
    id: ClassVar[str] = "appends-forever"
    cwe: ClassVar[tuple[int, ...]] = (0,)
    tier: ClassVar[Tier] = Tier.A
    title: ClassVar[str] = "faulty: not idempotent"
    rules: ClassVar[tuple[str, ...]] = ()

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _AppendsForeverTransformer(run)


class _CrashingTransformer(CodemodTransformer):
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        raise RuntimeError("bug in a codemod")


class Crashes(Codemod):
    id: ClassVar[str] = "crashes"
    cwe: ClassVar[tuple[int, ...]] = (0,)
    tier: ClassVar[Tier] = Tier.C
    title: ClassVar[str] = "faulty: raises"
    rules: ClassVar[tuple[str, ...]] = ()

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _CrashingTransformer(run)


# -- post-conditions ---------------------------------------------------------------------------


def test_unused_import_fails_the_ruff_post_condition(tmp_path: Path) -> None:
    text = "import yaml\n\n\ndef f(s):\n    return yaml.load(s)\n"
    root = project(tmp_path, {"m.py": text})
    result = run_codemods(root, codemods=[AddsUnusedImport()])
    assert not result.changeset.edits and not result.changes
    [refusal] = result.refusals
    assert (refusal.path, refusal.line, refusal.reason) == ("m.py", 5, Reason.POSTCONDITION_RUFF)
    assert "F401" in refusal.detail and "os.path.join" in refusal.detail
    assert (root / "m.py").read_text(encoding="utf-8") == text


def test_a_rewrite_that_changes_again_fails_idempotence(tmp_path: Path) -> None:
    root = project(tmp_path, {"m.py": "print('hi')\n"})
    result = run_codemods(root, codemods=[AppendsForever()])
    assert not result.changeset.edits
    [refusal] = result.refusals
    assert refusal.reason == Reason.POSTCONDITION_IDEMPOTENCE
    assert "flush=True, flush=True" in refusal.detail


def test_a_vetoed_codemod_does_not_undo_the_others_in_the_final_check(tmp_path: Path) -> None:
    # requests-verify-enabled refuses test files; its change never applies, so the final
    # "the whole set settles" check must not hold that against the timeout it left alone.
    from patchpilot.fixers.codemods.requests_verify import RequestsVerifyEnabled

    text = "import requests\n\n\ndef test_get(url):\n    requests.get(url, verify=False)\n"
    root = project(tmp_path, {"tests/test_x.py": text})
    result = run_codemods(root, codemods=[AddRequestsTimeout(), RequestsVerifyEnabled()])
    assert [(c.codemod, c.line) for c in result.changes] == [("add-requests-timeout", 5)]
    assert [(r.codemod, r.reason) for r in result.refusals] == [
        ("requests-verify-enabled", Reason.TEST_FILE)
    ]
    [edit] = result.changeset.edits
    assert edit.after is not None and "verify=False, timeout=60)" in edit.after


def test_a_crashing_codemod_refuses_its_file_and_the_run_goes_on(tmp_path: Path) -> None:
    root = project(tmp_path, {"m.py": "import yaml\nyaml.load(s)\n"})
    result = run_codemods(root, codemods=[Crashes(), HardenPyyaml()])
    assert [(r.codemod, r.reason) for r in result.refusals] == [("crashes", Reason.CODEMOD_ERROR)]
    assert "RuntimeError: bug in a codemod" in result.refusals[0].detail
    assert result.counts["harden-pyyaml"].changes == 1


def test_original_that_does_not_compile_is_refused_not_rewritten(tmp_path: Path) -> None:
    # libcst parses a module-level `return`; compile() rejects it before and after.
    text = "import yaml\n\nreturn yaml.load(open('c.yml'))\n"
    root = project(tmp_path, {"m.py": text})
    result = run_codemods(root, only=["harden-pyyaml"])
    assert not result.changeset.edits
    [refusal] = result.refusals
    assert (refusal.line, refusal.reason) == (3, Reason.POSTCONDITION_COMPILE)
    assert "'return' outside function" in refusal.detail


# -- engine-scope refusals ---------------------------------------------------------------------


def test_unparseable_and_non_utf8_files_are_refusals_not_crashes(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "broken.py": "import yaml\ndef f(:\n    yaml.load(x)\n",
            "latin1.py": "# caf\xe9\nimport yaml\n".encode("latin-1"),
            "good.py": "import yaml\nyaml.load(s)\n",
            "unrelated_broken.py": "def f(:\n",
        },
    )
    result = run_codemods(root)
    by_path = {r.path: r for r in result.refusals}
    assert by_path["broken.py"].reason == Reason.PARSE_ERROR
    assert by_path["broken.py"].codemod == ALL_CODEMODS
    assert by_path["latin1.py"].reason == Reason.UNREADABLE
    assert "unrelated_broken.py" not in by_path, "no codemod concerns it"
    assert [e.path for e in result.changeset.edits] == ["good.py"]
    assert result.files_scanned == 4


def test_name_conflict_is_refused(tmp_path: Path) -> None:
    # `yaml` is shadowed locally and SafeLoader is bound to something else: no safe spelling.
    text = (
        "from yaml import load\n\nSafeLoader = object\n\n\n"
        "def f(s, yaml=None):\n    return load(s)\n"
    )
    root = project(tmp_path, {"m.py": text})
    result = run_codemods(root, only=["harden-pyyaml"])
    assert [(r.line, r.reason) for r in result.refusals] == [(7, Reason.NAME_CONFLICT)]


def test_skip_dirs_and_virtualenvs_are_not_walked(tmp_path: Path) -> None:
    code = "import yaml\nyaml.load(s)\n"
    root = project(
        tmp_path,
        {
            "app.py": code,
            ".venv/lib/x.py": code,
            "node_modules/p/x.py": code,
            "build/lib/x.py": code,
            "env/lib/x.py": code,
            "env/pyvenv.cfg": "home = /usr\n",
        },
    )
    result = run_codemods(root)
    assert [e.path for e in result.changeset.edits] == ["app.py"]
    assert result.files_scanned == 1


# -- line bookkeeping, counts, records, writing -------------------------------------------------


def test_lines_are_those_of_the_original_file_after_earlier_rewrites(tmp_path: Path) -> None:
    text = (
        "from yaml import load\nimport requests\n\n\n"
        "def f(s, url):\n    data = load(s)\n    assert data\n    return requests.get(url)\n"
    )
    root = project(tmp_path, {"m.py": text})
    result = run_codemods(root, codemods=[HardenPyyaml(), AddRequestsTimeout(timeout=12.5)])
    # harden-pyyaml adds an import line first; the requests change still reports line 8.
    assert sorted((c.codemod, c.line) for c in result.changes) == [
        ("add-requests-timeout", 8),
        ("harden-pyyaml", 6),
    ]
    [edit] = result.changeset.edits
    assert edit.after is not None
    assert "requests.get(url, timeout=12.5)" in edit.after
    assert "from yaml import SafeLoader, load" in edit.after


def test_counts_records_and_writing(tmp_path: Path) -> None:
    text = "import yaml\n\nA = yaml.load(s)\nB = yaml.load(s, **kw)\n"
    root = project(tmp_path, {"pkg/m.py": text})
    reporter = RecordingReporter()
    result = run_codemods(root, only=["harden-pyyaml"], reporter=reporter)
    count = result.counts["harden-pyyaml"]
    assert (count.changes, count.refusals, count.files) == (1, 1, 1)
    assert result.changeset.remediation_ids == ("codemod:harden-pyyaml",)
    assert ("finish", "codefix") in reporter.calls
    [record] = codefix_records(result, branch="patchpilot/codefix")
    assert record.kind == "codefix"
    assert record.subjects == (
        "codemod:harden-pyyaml",
        "path:pkg/m.py",
        "branch:patchpilot/codefix",
    )
    assert record.outcome["tier"] == "A"
    assert record.outcome["refusals"][0]["reason"] == "kwargs-splat"

    write_changeset(result.changeset, root, dry_run=True)
    assert (root / "pkg/m.py").read_text(encoding="utf-8") == text
    write_changeset(result.changeset, root, dry_run=False)
    written = (root / "pkg/m.py").read_text(encoding="utf-8")
    assert written == result.changeset.edits[0].after
    assert "yaml.load(s, Loader=yaml.SafeLoader)" in written
    assert not run_codemods(root, only=["harden-pyyaml"]).changeset.edits


def test_file_libcst_cannot_reproduce_is_refused(tmp_path: Path) -> None:
    # Found by the round-trip property: libcst drops the whitespace-only `\t\r\n` line.
    text = "import yaml\n\nyaml.load(s)\n\n    \t\r\n"
    root = project(tmp_path, {"m.py": text.encode()})
    result = run_codemods(root)
    assert not result.changeset.edits
    assert [(r.line, r.reason) for r in result.refusals] == [(3, Reason.ROUNDTRIP)]


def test_crlf_files_keep_their_newlines(tmp_path: Path) -> None:
    text = "import yaml\r\n\r\n\r\ndef f(s):\r\n    return yaml.load(s)\r\n"
    root = project(tmp_path, {"m.py": text.encode()})
    [edit] = run_codemods(root).changeset.edits
    assert edit.after == text.replace("yaml.load(s)", "yaml.load(s, Loader=yaml.SafeLoader)")


def test_only_selects_and_rejects_unknown_ids() -> None:
    assert [c.id for c in select_codemods(["tarfile-data-filter", "harden-pyyaml"])] == [
        "harden-pyyaml",
        "tarfile-data-filter",
    ]
    with pytest.raises(UsageError, match="unknown codemod no-such"):
        select_codemods(["no-such"])


def test_root_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(CodefixError, match="not a directory"):
        run_codemods(tmp_path / "missing")


# -- small parts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "everything", "codes"),
    [
        ("# nosec", True, set()),
        ("# nosec B506, B602", False, {"B506", "B602"}),
        ("# noqa", True, set()),
        ("# noqa: S506,E501", False, {"S506", "E501"}),
        ("# NOQA:S101 - reason", False, {"S101"}),
        ("# pragma: no-remediate", True, set()),
        ("# just a comment", None, None),
    ],
)
def test_suppression_comments(comment: str, everything: bool | None, codes: set[str]) -> None:
    sup = parse_suppression(comment)
    if everything is None:
        assert sup is None
    else:
        assert sup is not None
        assert (sup.everything, set(sup.codes)) == (everything, codes)


def test_suppressions_are_read_from_comments_not_strings() -> None:
    source = 'x = "# nosec"\ny = 1  # nosec B506\n'
    assert set(scan_suppressions(source)) == {2}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_a.py", True),
        ("pkg/tests/helpers.py", True),
        ("conftest.py", True),
        ("pkg/a_test.py", True),
        ("pkg/contest.py", False),
        ("pkg/testing_tools.py", False),
    ],
)
def test_test_paths(path: str, expected: bool) -> None:
    assert is_test_path(path) is expected


def test_python_guard_reads_requires_python(tmp_path: Path) -> None:
    def has_walrus(v: object) -> bool:
        from packaging.version import Version

        assert isinstance(v, Version)
        return v >= Version("3.8")

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "t"\nversion = "0"\nrequires-python = ">=3.7"\n', encoding="utf-8"
    )
    veto = ProjectContext.load(tmp_path).python_guard(has_walrus, "walrus")
    assert veto is not None and veto.reason == Reason.PYTHON_TOO_OLD and "3.7.0" in veto.detail
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "t"\nversion = "0"\nrequires-python = ">=3.8,<4"\n', encoding="utf-8"
    )
    assert ProjectContext.load(tmp_path).python_guard(has_walrus, "walrus") is None
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "t"\nversion = "0"\nrequires-python = "three"\n', encoding="utf-8"
    )
    ctx = ProjectContext.load(tmp_path)
    assert ctx.requires_python is None and "not a valid specifier" in ctx.notes[0]
    veto = ctx.python_guard(has_walrus, "walrus")
    assert veto is not None and veto.reason == Reason.PYTHON_UNKNOWN


def test_setup_cfg_python_requires(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text("[options]\npython_requires = >=3.10\n", encoding="utf-8")
    assert str(ProjectContext.load(tmp_path).requires_python) == ">=3.10"


def test_locked_versions_come_from_the_inventory(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("PyYAML==5.3.1\nrequests==2.25.1\n", "utf-8")
    locked = ProjectContext.load(tmp_path).locked
    assert locked == {"pyyaml": "5.3.1", "requests": "2.25.1"}


def test_explanations_ship_with_the_package() -> None:
    for codemod in select_codemods():
        text = codemod.explanation
        assert text.startswith("## "), codemod.id
        assert f"CWE-{codemod.cwe[0]}" in text, codemod.id
