"""`requests-verify-enabled`: golden cases, one refusal fixture per reason, and the endpoint
classification behind `internal-endpoint`.

Cases live in tests/assets/codemods/requests-verify-enabled/ (see `cases.py`). The codemod
instance is run directly, so these tests do not depend on the registry.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from patchpilot.fixers.codemods.interface import Reason, Tier
from patchpilot.fixers.codemods.requests_verify import (
    RequestsVerifyEnabled,
    internal_host,
    url_host,
)

from .cases import Case
from .cm_single import cases_of, check_want_is_fixed_point, ruff_findings, run_case

CASES = cases_of(RequestsVerifyEnabled.id)
WANTS = [c for c in CASES if c.want is not None]
BY_NAME = {c.name: c for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    run_case(case, RequestsVerifyEnabled(), tmp_path)


@pytest.mark.parametrize("case", WANTS, ids=[c.name for c in WANTS])
def test_golden_output_compiles_and_is_a_fixed_point(case: Case, tmp_path: Path) -> None:
    check_want_is_fixed_point(case, RequestsVerifyEnabled(), tmp_path)


def test_golden_outputs_are_clean_under_ruff_f401_f821_f811() -> None:
    assert ruff_findings(CASES) == ""


def test_every_refusal_reason_has_a_fixture() -> None:
    reasons = {reason for case in CASES for (_, _, reason) in case.refusals}
    assert reasons == {
        Reason.NOT_A_LITERAL,
        Reason.TEST_FILE,
        Reason.INTERNAL_ENDPOINT,
        Reason.SUPPRESSED,
    }


def test_internal_refusals_name_the_host(tmp_path: Path) -> None:
    case = BY_NAME["refuse-internal-endpoint"]
    result = run_case(case, RequestsVerifyEnabled(), tmp_path)
    lines = case.input.splitlines()
    constants = {
        name.strip(): value.strip().strip('"')
        for name, value in (line.split("=", 1) for line in lines if line[:1].isupper())
    }
    for refusal in result.refusals:
        assert refusal.line is not None
        url = _url_literal(lines[refusal.line - 1])
        host = url_host(url, lambda name: constants.get(name.value))
        assert host is not None
        assert f"`{host}`" in refusal.detail
        assert "CA bundle" in refusal.detail


def _url_literal(line: str) -> cst.BaseExpression:
    """The first string argument (plain or f-string) of the call on a source line."""
    statement = cst.parse_statement(line.strip())
    assert isinstance(statement, cst.SimpleStatementLine)
    small = statement.body[0]
    assert isinstance(small, cst.Expr | cst.Return)
    expr = small.value
    assert isinstance(expr, cst.Call)
    for arg in expr.args:
        if isinstance(arg.value, cst.SimpleString | cst.FormattedString | cst.BinaryOperation):
            return arg.value
    raise AssertionError(f"no URL literal on {line!r}")


def test_descriptions_name_the_ca_variable_of_each_library(tmp_path: Path) -> None:
    requests_run = run_case(BY_NAME["session-methods"], RequestsVerifyEnabled(), tmp_path / "r")
    httpx_run = run_case(BY_NAME["httpx-calls"], RequestsVerifyEnabled(), tmp_path / "h")
    assert all("REQUESTS_CA_BUNDLE" in c.description for c in requests_run.changes)
    assert all("SSL_CERT_FILE" in c.description for c in httpx_run.changes)


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST", "api.localhost", "127.0.0.1", "127.8.9.1", "::1", "[::1]",
     "10.0.0.1", "172.16.0.1", "192.168.0.10", "169.254.169.254", "fd00::1", "0.0.0.0",  # noqa: S104 - a host name to classify, not a bind
     "db.internal", "printer.local", "nas.home.arpa"],
)  # fmt: skip
def test_internal_hosts(host: str) -> None:
    assert internal_host(host) is not None


@pytest.mark.parametrize(
    "host", ["example.com", "pypi.org", "8.8.8.8", "2606:4700:4700::1111", "localhost.example.com"]
)
def test_public_hosts(host: str) -> None:
    assert internal_host(host) is None


@pytest.mark.parametrize(
    ("code", "host"),
    [
        ('"https://example.com/x"', "example.com"),
        ('"https://" "10.0.0.1:8443/"', "10.0.0.1"),
        ('f"https://localhost:{port}/admin"', "localhost"),
        ('f"https://[::1]/{path}"', "::1"),
        ('f"https://{host}/api"', None),
        ('f"{base}/api"', None),
        ("url", None),
        ('b"https://localhost/"', None),
    ],
)
def test_url_host(code: str, host: str | None) -> None:
    assert url_host(cst.parse_expression(code)) == host


@pytest.mark.parametrize(
    ("code", "host"),
    [
        ('BASE + "/x"', "10.1.2.3"),
        ('f"{BASE}/x"', "10.1.2.3"),
        ('f"https://{NAME}.example.com/"', "svc.example.com"),
        ('f"{UNKNOWN}/x"', None),
        ('UNKNOWN + "/x"', None),
        ('"https://" + UNKNOWN', None),
    ],
)
def test_url_host_through_constants(code: str, host: str | None) -> None:
    constants = {"BASE": "https://10.1.2.3:8443", "NAME": "svc"}
    assert url_host(cst.parse_expression(code), lambda n: constants.get(n.value)) == host


def test_metadata_and_explanation() -> None:
    codemod = RequestsVerifyEnabled()
    assert (codemod.id, codemod.tier, codemod.cwe) == ("requests-verify-enabled", Tier.B, (295,))
    assert codemod.refuse_in_tests
    for word in ("REQUESTS_CA_BUNDLE", "internal-endpoint", "self-signed", "httpx"):
        assert word in codemod.explanation
