"""`paramiko-reject-policy`: golden cases, one refusal fixture per reason, and where the host
keys are loaded.

Cases live in tests/assets/codemods/paramiko-reject-policy/ (see `cases.py`). The codemod
instance is run directly, so these tests do not depend on the registry.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import libcst.matchers as m
import pytest

from patchpilot.fixers.codemods.interface import Reason, Tier
from patchpilot.fixers.codemods.paramiko_policy import (
    ParamikoRejectPolicy,
)

from .cases import Case
from .cm_single import cases_of, check_want_is_fixed_point, ruff_findings, run_case

CASES = cases_of(ParamikoRejectPolicy.id)
WANTS = [c for c in CASES if c.want is not None]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    run_case(case, ParamikoRejectPolicy(), tmp_path)


@pytest.mark.parametrize("case", WANTS, ids=[c.name for c in WANTS])
def test_golden_output_compiles_and_is_a_fixed_point(case: Case, tmp_path: Path) -> None:
    check_want_is_fixed_point(case, ParamikoRejectPolicy(), tmp_path)


def test_golden_outputs_are_clean_under_ruff_f401_f821_f811() -> None:
    assert ruff_findings(CASES) == ""


def test_every_refusal_reason_has_a_fixture() -> None:
    reasons = {reason for case in CASES for (_, _, reason) in case.refusals}
    assert reasons == {
        Reason.UNKNOWN_RECEIVER,
        Reason.NOT_A_STATEMENT,
        Reason.COMPOUND_STATEMENT,
        Reason.NOT_A_LITERAL,
        Reason.SUPPRESSED,
    }


def _policy_calls(source: str) -> list[tuple[str, str]]:
    """(receiver, policy) of every `set_missing_host_key_policy` call."""
    found = []
    for call in m.findall(cst.parse_module(source), m.Call(func=m.Attribute())):
        assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
        if call.func.attr.value == "set_missing_host_key_policy":
            found.append(
                (
                    cst.Module([]).code_for_node(call.func.value),
                    cst.Module([]).code_for_node(call.args[0].value),
                )
            )
    return found


@pytest.mark.parametrize("case", WANTS, ids=[c.name for c in WANTS])
def test_every_client_rejects_and_has_host_keys(case: Case) -> None:
    want = case.want
    assert want is not None
    calls = _policy_calls(want)
    assert calls
    lines = want.splitlines()
    for receiver, policy in calls:
        assert policy.endswith("RejectPolicy()")
        loads = [n for n, text in enumerate(lines) if f"{receiver}.load_system_host_keys()" in text]
        loads += [n for n, text in enumerate(lines) if f"{receiver}.load_host_keys(" in text]
        assert loads, f"{case.name}: {receiver} loads no host keys"


def test_no_second_load_when_keys_are_loaded(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "keys-already-loaded")
    result = run_case(case, ParamikoRejectPolicy(), tmp_path)
    assert "load_system_host_keys" not in (case.want or "")
    assert all("added before it" not in c.description for c in result.changes)


def test_metadata_and_explanation() -> None:
    codemod = ParamikoRejectPolicy()
    assert (codemod.id, codemod.tier, codemod.cwe) == ("paramiko-reject-policy", Tier.B, (295, 322))
    for word in ("RejectPolicy", "load_system_host_keys", "known_hosts", "unknown-receiver"):
        assert word in codemod.explanation
