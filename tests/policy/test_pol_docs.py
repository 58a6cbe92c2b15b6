"""docs/policy.md is a contract: every TOML example loads, the default policy shown is the one
shipped, every condition is documented, and the sample messages are the ones patchpilot
prints."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from patchpilot.errors import PolicyError
from patchpilot.policy.decide import decide
from patchpilot.policy.facts import Facts
from patchpilot.policy.load import default_policy, parse_policy, validate_for_project
from patchpilot.policy.model import CONDITION_KEYS

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", TEXT, flags=re.DOTALL)


def blocks(kind: str) -> list[str]:
    return [body for lang, body in BLOCKS if lang == kind]


@pytest.mark.parametrize("body", blocks("toml"))
def test_pol_docs_toml_examples_load(body: str) -> None:
    policy = parse_policy(body, DOC)
    assert policy.rules or "[[rules]]" not in body


def test_pol_docs_show_the_shipped_default() -> None:
    shipped = resources.files("patchpilot.policy").joinpath("default.toml").read_text("utf-8")
    shown = TEXT.split("<!-- default-policy -->\n```toml\n", 1)[1].split("```", 1)[0]
    assert shown == shipped
    assert parse_policy(shown, DOC).digest == default_policy().digest


def test_pol_docs_document_every_condition() -> None:
    for key in CONDITION_KEYS:
        assert f"| `{key}` |" in TEXT, key


def test_pol_docs_decision_example_is_real() -> None:
    (example,) = [b for b in blocks("text") if b.startswith("level ")]
    facts = Facts(
        remediation="PyPI:pyyaml@5.3.1",
        kind="upgrade",
        findings=("PYSEC-2021-142",),
        packages=("pyyaml",),
        ecosystem="PyPI",
        severity="critical",
        cvss=9.8,
        epss=None,
        kev=False,
        upgrade_level="patch",
        strategy="in-place",
        reachability="reachable",
        verify_verdict="not-reached",
        tests_passed=True,
        reach_share=0.0,
        breaking="unknown",
        release_age_days=None,
        codemod_tier=None,
        has_test_command=True,
    )
    d = decide(facts, default_policy())
    lines = example.strip().splitlines()
    assert lines[0] == f"level {d.level}, rule {d.rule}"
    shown = [line.removeprefix("- ") for line in lines[1:]]
    assert all(line in d.reasons for line in shown), (shown, d.reasons)


def test_pol_docs_error_examples_are_real(tmp_path: Path) -> None:
    (example,) = [b for b in blocks("text") if "rules[2].level" in b]
    inputs = [
        '[[rules]]\nname = "a"\nlevel = 1\n[[rules]]\nname = "b"\nlevel = 2\n'
        '[[rules]]\nname = "c"\nlevel = 4\n',
        '[[rules]]\nname = "a"\nlevel = 1\nsevrity_at_least = "high"\n',
        '[[rules]]\nname = "patches"\nlevel = 1\n[[rules]]\nname = "patches"\nlevel = 2\n',
        '[[ignores]]\nid = "CVE-2020-14343"\nreason = "trusted"\n',
        "[tiers.regulated]\nmax_level = 3\n",
        'tier = "internal"\n\n[gate]\nfail_on = "high"\nkev = yes\n',
    ]
    shown = example.strip().splitlines()
    assert len(shown) == len(inputs)
    for text, line in zip(inputs, shown, strict=True):
        with pytest.raises(PolicyError) as caught:
            parse_policy(text, ".patchpilot.toml")
        assert str(caught.value) == line


def test_pol_docs_test_command_example_is_real() -> None:
    (example,) = [b for b in blocks("text") if "no test command" in b]
    policy = parse_policy(
        '[[rules]]\nname = "review"\nlevel = 2\n'
        '[[rules]]\nname = "merge-patches"\nlevel = 3\nupgrade_level = ["patch"]\n',
        ".patchpilot.toml",
    )
    with pytest.raises(PolicyError) as caught:
        validate_for_project(policy, "/src/app", has_test_command=False)
    assert str(caught.value) == example.strip()
