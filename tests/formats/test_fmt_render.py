"""`render_scan`, the entry point the CLI calls: dispatch, lazy imports, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from patchpilot.errors import OutputError
from patchpilot.formats import SCAN_FORMATS, render_scan
from patchpilot.model import ScanResult


@pytest.mark.parametrize("fmt", SCAN_FORMATS)
def test_every_format_renders_findings_and_an_empty_scan(
    fmt: str, scan_result: ScanResult, empty_result: ScanResult
) -> None:
    full = render_scan(scan_result, fmt, width=120)
    empty = render_scan(empty_result, fmt, width=120)
    assert full.endswith("\n")
    assert empty.endswith("\n")
    assert scan_result.findings[0].id in full
    assert scan_result.findings[0].id not in empty
    if fmt in ("json", "sarif", "cyclonedx"):
        json.loads(full)
        json.loads(empty)


def test_unknown_format_is_an_output_error(scan_result: ScanResult) -> None:
    with pytest.raises(OutputError, match=r"unknown output format 'xml'.*table, json"):
        render_scan(scan_result, "xml")


def test_color_only_reaches_the_table(scan_result: ScanResult) -> None:
    for fmt in ("json", "sarif", "markdown"):
        assert "\x1b[" not in render_scan(scan_result, fmt, color=True)
    assert "\x1b[" in render_scan(scan_result, "table", color=True, width=120)


def test_package_import_stays_light() -> None:
    # CLI start-up: importing the formats package must not pull in rich or cyclonedx.
    code = (
        "import sys, patchpilot.formats; "
        "print(sorted(m for m in ('rich', 'cyclonedx', 'jsonschema') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
