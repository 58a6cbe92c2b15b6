"""`cleartext-transport` (Tier C): cleartext clients and `http://` endpoints are reported,
nothing is changed.

Cases live in tests/assets/codemods/cleartext-transport/ (see `cases.py`): each input must
stay byte-identical with exactly the listed refusals. `local-endpoints` holds the same call
shapes as `http-urls` with hosts that cross no public network (or URIs that name no endpoint):
swapping a public host in shows that the host alone keeps each one out.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import libcst as cst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchpilot.fixers.codemods.cleartext_transport import (
    CleartextTransport,
    local_host,
    schema_uri,
)
from patchpilot.fixers.codemods.engine import apply_codemod, run_codemods
from patchpilot.fixers.codemods.interface import FileContext, ProjectContext, Reason, Tier
from patchpilot.fixers.codemods.tier_c import TIER_C

from .cases import Case
from .cm_single import cases_of, run_case
from .tier_c_checks import refusals_without_prefilter

CASES = cases_of(CleartextTransport.id)
BY_NAME = {c.name: c for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    result = run_case(case, CleartextTransport(), tmp_path)
    assert not result.changes
    assert not result.changeset.edits


def test_cases_cover_every_outcome() -> None:
    reasons = {reason for case in CASES for (_, _, reason) in case.refusals}
    assert reasons == {TIER_C, Reason.SUPPRESSED, Reason.TEST_FILE}
    assert not BY_NAME["local-endpoints"].refusals
    assert all(c.want is None for c in CASES), "a detector has no golden rewrite"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_prefilter_hides_nothing(case: Case, tmp_path: Path) -> None:
    refusals_without_prefilter(case, CleartextTransport(), tmp_path)


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("localhost", "the loopback name"),
        ("LOCALHOST.", "the loopback name"),
        ("127.0.0.1", "a loopback address"),
        ("127.8.0.1", "a loopback address"),
        ("[::1]", "a loopback address"),
        ("0.0.0.0", "the unspecified address"),  # noqa: S104 - a host to classify, not bound
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("10.0.3.7", "a private address"),
        ("172.20.0.2", "a private address"),
        ("192.168.1.20", "a private address"),
        ("fd12:3456:789a::1", "a private address"),
        ("metadata.google.internal", "an internal name"),
        ("printer.local", "an internal name"),
        ("elasticsearch", "a single-label name, resolved only inside its network"),
        ("api.example.com", None),
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
        ("172.32.0.1", None),
    ],
)
def test_local_hosts(host: str, why: str | None) -> None:
    assert local_host(host) == why


@pytest.mark.parametrize(
    ("url", "schema"),
    [
        ("http://www.w3.org/2001/XMLSchema", True),
        ("http://schemas.xmlsoap.org/soap/envelope/", True),
        ("http://purl.org/dc/elements/1.1/", True),
        ("http://example.com/schemas/order.xsd", True),
        ("http://example.com/dtd/book.DTD", True),
        ("http://example.com/api/schema", False),
    ],
)
def test_schema_uris(url: str, schema: bool) -> None:
    assert schema_uri(urlsplit(url)) is schema


def test_the_host_alone_keeps_local_endpoints_out(tmp_path: Path) -> None:
    # The same file with every local host replaced by a public one: each `http://` call that
    # was left out is now reported (the `https://` one and the XSD prefix still are not).
    case = BY_NAME["local-endpoints"]
    public = re.sub(
        r"http://(\[[^\]]*\]|[^/\"]+)",
        "http://api.example.com",
        case.input.replace('"localhost"', '"api.example.com"')
        .replace('"127.0.0.1"', '"api.example.com"')
        .replace('"localhost:8080"', '"api.example.com:8080"'),
    )
    project = case.build(tmp_path)
    (project / case.path).write_text(public, encoding="utf-8")
    result = run_codemods(project, codemods=[CleartextTransport()])
    lines = public.splitlines()
    calls = {
        n
        for n, text in enumerate(lines, start=1)
        if re.search(r"requests\.(get|post)\(\"http://|\(METADATA|ftplib|smtplib|urllib3\.H", text)
        and "import" not in text
    }
    assert {r.line for r in result.refusals} == calls - {
        n for n, text in enumerate(lines, start=1) if ".xsd" in text
    }
    assert len(calls) == 19


_SHAPES = (
    "requests.get({url})",
    "requests.request('GET', {url})",
    "httpx.Client(base_url={url})",
    "ftplib.FTP({url})",
    "urllib3.HTTPConnectionPool({url}, port=80)",
    "requests.get(f'{{prefix}}' + {url})",
)


@settings(max_examples=150, deadline=None)
@given(
    url=st.one_of(
        st.text(max_size=40),
        st.from_regex(r"\A[hH][tT][tT][pP]s?://[^\s]{0,30}\Z"),
    ),
    shape=st.sampled_from(_SHAPES),
)
def test_junk_urls_and_hosts_never_break_the_detector(url: str, shape: str) -> None:
    # Any text as a URL or host: malformed IPv6 brackets, bad ports, control characters.
    source = "import ftplib, httpx, requests, urllib3\n" + shape.format(url=repr(url)) + "\n"
    file = FileContext.build(Path(), "app/module.py", source)
    project = ProjectContext(Path(), None)
    new, changes, refusals = apply_codemod(
        CleartextTransport(), file, project, cst.parse_module(source)
    )
    assert new == source and not changes
    assert all(r.reason == TIER_C and r.line == 2 for r in refusals)
    if shape.startswith(("requests", "httpx")) and not url.strip().lower().startswith("http://"):
        assert not refusals


def test_clients_say_what_to_use_instead(tmp_path: Path) -> None:
    result = run_case(BY_NAME["clients"], CleartextTransport(), tmp_path)
    by_line = {r.line: r.detail for r in result.refusals}
    assert "FTP_TLS" in by_line[12] and "prot_p()" in by_line[12]
    assert "starttls(context=ssl.create_default_context())" in by_line[25]
    assert "SSH" in by_line[36]
    assert "HTTPSConnectionPool" in by_line[41]
    assert "HTTPSConnection" in by_line[45]
    for line, detail in by_line.items():
        # Telnet has no TLS variant to switch to; every other client has one.
        offered = "whether the server offers TLS is not visible in the code" in detail
        assert offered == (line != 36)


def test_starttls_counts_in_the_same_function_only(tmp_path: Path) -> None:
    case = BY_NAME["smtp-starttls"]
    result = run_case(case, CleartextTransport(), tmp_path)
    lines = case.input.splitlines()
    assert "starttls" in case.input.split("def connect")[1].split("def local_relay")[0]
    assert {lines[(r.line or 0) - 1].strip() for r in result.refusals} == {
        'return smtplib.SMTP("smtp.example.com", 587)',
        "server = smtplib.SMTP()",
    }


def test_url_details(tmp_path: Path) -> None:
    result = run_case(BY_NAME["http-urls"], CleartextTransport(), tmp_path)
    by_line = {r.line: r.detail for r in result.refusals}
    # The URL as the code builds it: a constant joined with a literal, an f-string's holes.
    assert by_line[18].startswith("`http://api.partner.example/v1/orders` is plain HTTP")
    assert by_line[22].startswith("`http://api.partner.example/v1/accounts/{…}` is plain HTTP")
    assert "the host is computed at run time" in by_line[28]
    assert "port 80" in by_line[36] and "port 80" not in by_line[35]
    assert by_line[42].startswith("`HTTP://FEEDS.PARTNER.EXAMPLE/rates`")
    assert all("Use `https://`" in detail for detail in by_line.values())


def test_test_modules_keep_the_explanation(tmp_path: Path) -> None:
    assert CleartextTransport.refuse_in_tests
    [refusal] = run_case(BY_NAME["refuse-test-file"], CleartextTransport(), tmp_path).refusals
    assert refusal.detail.startswith("in a test module")
    assert "is plain HTTP" in refusal.detail


def test_metadata_and_explanation() -> None:
    codemod = CleartextTransport()
    assert (codemod.id, codemod.tier, codemod.cwe) == ("cleartext-transport", Tier.C, (319,))
    assert {"B321", "S321", "B312", "S312", "B402"} <= set(codemod.rules)
    for word in ("FTP_TLS", "prot_p()", "starttls", "HTTPSConnectionPool", "169.254.169.254"):
        assert word in codemod.explanation
    for reason in (TIER_C, Reason.TEST_FILE, Reason.SUPPRESSED):
        assert f"`{reason}`" in codemod.explanation
