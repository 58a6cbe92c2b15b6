"""The terminal table: content, colour on request only, and fitting the terminal width."""

from __future__ import annotations

import dataclasses
import re

import pytest

from patchpilot.formats import table
from patchpilot.model import ScanResult

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_every_finding_is_listed(scan_result: ScanResult) -> None:
    text = table.render(scan_result, width=140)
    for f in scan_result.findings:
        assert f.id in text
        assert f.component.name in text
        for version in f.fixed_versions:
            assert version in text
    # Alias counts, not the aliases themselves, to keep rows short.
    pyyaml = next(f for f in scan_result.findings if f.component.name == "pyyaml")
    assert f"{pyyaml.id} +{len(pyyaml.aliases)} aliases" in text
    # Transitive packages show how they are pulled in.
    assert "via requests > urllib3" in text


def test_skipped_sources_and_summary(scan_result: ScanResult) -> None:
    text = table.render(scan_result, width=120)
    for s in scan_result.inventory.skipped:
        assert s.requirement is not None
        assert s.requirement in text
        assert f"tools/requirements.txt:{s.location.line}" in text
    assert "webapp/uv.lock" in text
    assert "not read: superseded by uv.lock" in text
    # The summary closes the report (wrapped over the last lines at this width).
    tail = " ".join(text.rstrip().splitlines()[-2:])
    assert f"{len(scan_result.findings)} findings" in tail
    assert "1 unknown" in tail
    assert tail.endswith("2 skipped).")


def test_plain_without_color_and_ansi_with_it(scan_result: ScanResult) -> None:
    plain = table.render(scan_result, color=False, width=120)
    colored = table.render(scan_result, color=True, width=120)
    assert not ANSI.search(plain)
    assert ANSI.search(colored)
    # Colour changes the presentation, never the words.
    assert [line.rstrip() for line in ANSI.sub("", colored).splitlines()] == plain.splitlines()


@pytest.mark.parametrize("width", [80, 100, 160])
def test_fits_the_width(scan_result: ScanResult, width: int) -> None:
    text = table.render(scan_result, width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    # Nothing is cut off at the edge: every ID stays whole on one line.
    for f in scan_result.findings:
        assert f.id in text


def test_markup_in_advisory_text_is_printed_literally(scan_result: ScanResult) -> None:
    # Summaries are untrusted: a rich markup tag in one must show as typed, not style text.
    finding = dataclasses.replace(scan_result.findings[0], summary="[bold red]x[/bold red] y")
    text = table.render(dataclasses.replace(scan_result, findings=(finding,)), width=120)
    assert "[bold red]x[/bold red] y" in text


def test_empty_result(empty_result: ScanResult) -> None:
    text = table.render(empty_result, width=100)
    assert "Vulnerabilities" not in text
    assert text.rstrip().endswith("No known vulnerabilities in 2 components from 1 file read.")
