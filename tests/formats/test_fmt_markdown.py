"""The Markdown report: table structure, escaping of advisory text, links and sections."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from patchpilot.formats import markdown
from patchpilot.formats._common import ordered
from patchpilot.model import ScanResult

# A cell boundary is a `|` not preceded by an odd number of backslashes.
_CELL_SPLIT = re.compile(r"(?<!\\)(?:\\\\)*\|")


def cells(row: str) -> list[str]:
    parts = _CELL_SPLIT.split(row.strip())
    return [p.strip() for p in parts[1:-1]]


def section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"## {title}"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), None)
    return lines[start:end]


def table_rows(lines: list[str]) -> list[list[str]]:
    rows = [line for line in lines if line.startswith("|")]
    return [cells(r) for r in rows[2:]]  # header and delimiter rows first


def test_findings_table_one_row_per_finding_in_order(scan_result: ScanResult) -> None:
    text = markdown.render(scan_result)
    rows = table_rows(section(text, "Findings"))
    assert len(rows) == len(scan_result.findings)
    for row, finding in zip(rows, ordered(scan_result.findings), strict=True):
        assert len(row) == 6, row
        assert row[0].startswith(finding.severity.level.value)
        assert row[1].startswith(f"[{finding.id}](https://osv.dev/vulnerability/{finding.id})")
        assert f"{finding.component.name}@{finding.component.version}" in row[2]
        if finding.component.direct:
            assert row[3] == "direct"
        else:
            assert row[3].startswith("transitive: ")
            assert finding.component.paths[0][0] in row[3]


def test_pipe_in_advisory_text_is_escaped(
    scan_result: ScanResult, osv_record: Callable[[str, str], dict[str, Any]]
) -> None:
    # PYSEC-2020-25's only text is "Autobahn|Python before 20.12.3 allows ...".
    record = osv_record("pypa-advisory-database.zip", "PYSEC-2020-25")
    assert "|" in record["details"]
    text = markdown.render(scan_result)
    (row,) = [r for r in table_rows(section(text, "Findings")) if "PYSEC-2020-25" in r[1]]
    assert len(row) == 6
    assert row[5] == record["details"].strip().replace("|", "\\|")


def test_newlines_in_advisory_text_stay_in_one_cell(
    scan_result: ScanResult, osv_record: Callable[[str, str], dict[str, Any]]
) -> None:
    # PYSEC-2023-197's details run over two lines.
    record = osv_record("pypa-advisory-database.zip", "PYSEC-2023-197")
    assert "\n" in record["details"]
    finding = dataclasses.replace(scan_result.findings[0], summary=record["details"])
    text = markdown.render(dataclasses.replace(scan_result, findings=(finding,)))
    rows = table_rows(section(text, "Findings"))
    assert len(rows) == 1
    assert len(rows[0]) == 6
    assert "<br>" in rows[0][5]
    assert "Users of Apache Airflow" in rows[0][5]


def test_skipped_and_sources_sections(scan_result: ScanResult) -> None:
    text = markdown.render(scan_result)
    skipped = table_rows(section(text, "Skipped"))
    assert [r[1] for r in skipped] == [
        markdown.escape_cell(s.requirement or "") for s in scan_result.inventory.skipped
    ]
    assert all(r[3].startswith("tools/requirements.txt:") for r in skipped)
    sources = table_rows(section(text, "Sources"))
    assert len(sources) == len(scan_result.inventory.sources)
    not_read = [r for r in sources if r[2] == "no"]
    assert [r[0] for r in not_read] == ["webapp/pyproject.toml"]
    assert "superseded" in not_read[0][4]


def test_summary_line_counts(scan_result: ScanResult) -> None:
    text = markdown.render(scan_result)
    n = len(scan_result.findings)
    assert f"{n} findings" in text
    assert "1 unknown" in text


def test_empty_result(empty_result: ScanResult) -> None:
    text = markdown.render(empty_result)
    assert "No known vulnerabilities" in text
    assert "## Findings" not in text
    assert "## Sources" in text


@given(st.text())
def test_escaped_cell_never_breaks_the_table(value: str) -> None:
    cell = markdown.escape_cell(value)
    assert "\n" not in cell
    assert "\r" not in cell
    assert "<" not in cell.replace("<br>", "")
    # The row built from the cell still has exactly the columns it was given.
    assert len(cells(f"| a | {cell} | b |")) == 3
