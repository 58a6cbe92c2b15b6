"""Round-trip properties: a file no codemod changes comes back byte-identical, every kept
rewrite compiles and is a fixed point, and no change happens without a reported change.

Programs come from hypothesmith (random valid Python from the grammar) and from a small
generator mixing real vulnerable calls with layout variety (comments, blank lines, tabs,
CRLF, continuation lines, missing final newline).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesmith
import libcst as cst
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from patchpilot.fixers.codemods.engine import apply_codemod, run_codemods
from patchpilot.fixers.codemods.interface import FileContext, ProjectContext, Reason
from patchpilot.fixers.codemods.registry import codemods

PYPROJECT = '[project]\nname = "t"\nversion = "0"\nrequires-python = ">=3.12"\n'


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(hypothesmith.from_grammar())
def test_grammar_programs_come_back_identical_or_as_clean_rewrites(source: str) -> None:
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        assume(False)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        project = ProjectContext(root, None)
        file = FileContext.build(root, "m.py", source)
        for codemod in codemods():
            text, changes, _ = apply_codemod(codemod, file, project, module)
            if not changes:
                assert text == source, codemod.id
        (root / "m.py").write_bytes(source.encode())
        result = run_codemods(root, project=project)
        known = {str(r) for r in Reason}
        assert {str(r.reason) for r in result.refusals} <= known
        for edit in result.changeset.edits:
            assert edit.after is not None
            compile(edit.after, edit.path, "exec", dont_inherit=True)


_SNIPPETS = [
    "x = yaml.load(s)",
    "x = yaml.load(s, Loader=yaml.BaseLoader)",
    "x = y.load(\n    s,\n)",
    "r = requests.get(url)",
    "r = requests.get(url, **kw)",
    "h = hashlib.md5(b).hexdigest()",
    "pw_hash = hashlib.md5(password).hexdigest()",
    "subprocess.run('ls -l', shell=True)",
    "subprocess.run('ls | wc', shell=True)",
    "assert user.is_admin, 'no'",
    "assert total > 0",
    "t.extractall(dest)",
    "v = [1,\n     2]  # list",
    "z = f(a, \\\n      b)",
    "# just a comment with yaml.load(x)",
    "s = 'requests.get(url)'",
    "if flag:\n\tw = yaml.load(s)  # tab-indented",
]
_HEADER = (
    "import hashlib\nimport subprocess\nimport tarfile\n\nimport requests\nimport yaml\n"
    "import yaml as y\n\nt = tarfile.open(p)\n"
)


@st.composite
def _programs(draw: st.DrawFn) -> str:
    body = draw(st.lists(st.sampled_from(_SNIPPETS), min_size=1, max_size=8))
    gaps = draw(st.lists(st.sampled_from(["", "\n", "   \n", "# note\n"]), min_size=len(body),
                         max_size=len(body)))  # fmt: skip
    lines = [g + b for g, b in zip(gaps, body, strict=True)]
    text = _HEADER + "\n".join(lines)
    if draw(st.booleans()):
        text += "\n"
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_programs(), _programs())
def test_engine_keeps_untouched_files_and_rewrites_to_fixed_points(a: str, b: str) -> None:
    plain = "import os\n\n\ndef f():\n    return os.getcwd()  # untouched\n"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
        for rel, text in {"a.py": a, "b.py": b, "plain.py": plain}.items():
            (root / rel).write_bytes(text.encode())
        result = run_codemods(root)
        edited = {e.path for e in result.changeset.edits}
        assert edited == {c.path for c in result.changes}
        assert "plain.py" not in edited
        for edit in result.changeset.edits:
            assert edit.after is not None and edit.after != edit.before
            compile(edit.after, edit.path, "exec", dont_inherit=True)
            (root / edit.path).write_bytes(edit.after.encode())
        again = run_codemods(root)
        assert not again.changeset.edits
        assert (root / "plain.py").read_bytes() == plain.encode()
