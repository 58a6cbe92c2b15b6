"""`harden-ruamel`: golden cases, one refusal fixture per reason, and the guards' parts.

Cases live in tests/assets/codemods/harden-ruamel/ (see `cases.py`); the codemod instance is
run directly, so these tests do not depend on the registry.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from patchpilot.fixers.codemods.engine import run_codemods
from patchpilot.fixers.codemods.interface import ProjectContext, Reason, Tier
from patchpilot.fixers.codemods.ruamel_yaml import (
    HardenRuamel,
    effective_typ,
    ruamel_registrations,
)

from .cases import Case
from .cm_single import cases_of, check_want_is_fixed_point, ruff_findings, run_case

CASES = cases_of(HardenRuamel.id)
WANTS = [c for c in CASES if c.want is not None]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    run_case(case, HardenRuamel(), tmp_path)


@pytest.mark.parametrize("case", WANTS, ids=[c.name for c in WANTS])
def test_golden_output_compiles_and_is_a_fixed_point(case: Case, tmp_path: Path) -> None:
    check_want_is_fixed_point(case, HardenRuamel(), tmp_path)


def test_golden_outputs_are_clean_under_ruff_f401_f821_f811() -> None:
    assert ruff_findings(CASES) == ""


def test_every_refusal_reason_has_a_fixture() -> None:
    reasons = {reason for case in CASES for (_, _, reason) in case.refusals}
    assert reasons == {
        Reason.NOT_A_LITERAL,
        Reason.KWARGS_SPLAT,
        Reason.CUSTOM_CONSTRUCTORS,
        Reason.CUSTOM_TAGS,
        Reason.SUPPRESSED,
        Reason.DUMPS_OBJECTS,
    }


def test_metadata_and_explanation() -> None:
    codemod = HardenRuamel()
    assert (codemod.id, codemod.tier, codemod.cwe) == ("harden-ruamel", Tier.A, (502,))
    text = codemod.explanation
    assert text.startswith("## ") and 'typ="safe"' in text
    assert "dumps-objects" in text and "custom-constructors" in text


@pytest.mark.parametrize(
    ("code", "chosen", "literal"),
    [
        ('"unsafe"', "unsafe", True),
        ("'safe'", "safe", True),
        ('["unsafe"]', "unsafe", True),
        ('["unsafe", "rt"]', "rt", True),
        ('["base", "unsafe"]', "base", True),
        ('["unsafe", "safe"]', "safe", True),
        ('["jinja2"]', None, True),
        ("None", "rt", True),
        ('("unsafe",)', None, False),
        ("mode", None, False),
        ('["unsafe", mode]', None, False),
        ('f"{mode}"', None, False),
    ],
)
def test_effective_typ_follows_ruamels_order(code: str, chosen: str | None, literal: bool) -> None:
    assert effective_typ(cst.parse_expression(code)) == (chosen, literal)


def _project(root: Path, files: dict[str, str]) -> Path:
    (root / "pyproject.toml").write_text(
        '[project]\nname = "t"\nversion = "0"\nrequires-python = ">=3.12"\n', encoding="utf-8"
    )
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def test_registrations_are_found_in_every_form(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "a.py": "from ruamel.yaml import YAML, yaml_object\nyaml = YAML()\n\n\n"
            "@yaml_object(yaml)\nclass A:\n    pass\n",
            "b.py": "import ruamel.yaml\n\n\nclass B(ruamel.yaml.YAMLObject):\n"
            "    yaml_tag = '!B'\n",
            "c.py": "def setup(y):\n    y.constructor.add_constructor('!c', lambda c, n: n)\n",
            # PyYAML's own registrations do not concern ruamel's loaders.
            "d.py": "import yaml\n\nyaml.add_constructor('!d', lambda l, n: n)\n",
            "e.py": "class E(YAMLObject):\n    pass\n",
        },
    )
    found = ruamel_registrations(ProjectContext.load(root))
    assert {(r.path, r.line) for r in found} == {("a.py", 5), ("b.py", 4), ("c.py", 2)}


def test_chained_dump_is_refused_and_a_load_only_instance_is_not(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "m.py": "import sys\nfrom ruamel.yaml import YAML\n\n"
            'YAML(typ="unsafe").dump({"a": (1, 2)}, sys.stdout)\n'
            'data = YAML(typ="unsafe").load("a: 1")\n'
        },
    )
    result = run_codemods(root, codemods=[HardenRuamel()])
    assert [(r.line, r.reason) for r in result.refusals] == [(4, Reason.DUMPS_OBJECTS)]
    assert [c.line for c in result.changes] == [5]
    (edit,) = result.changeset.edits
    assert edit.after is not None
    assert 'YAML(typ="unsafe").dump' in edit.after
    assert 'data = YAML(typ="safe").load' in edit.after
