"""Output formats of `patchpilot scan`: one module per format, chosen by name at render time.

`render_scan` is the one entry point the CLI calls. It imports a format's module only when that
format is asked for, so `patchpilot --help` or a JSON scan never pays for rich or
cyclonedx-python-lib. Every renderer takes a `ScanResult` and returns the whole document as a
string; anything that goes wrong while building or serialising it is an `OutputError`.
"""

from __future__ import annotations

from importlib import import_module

from patchpilot.errors import OutputError
from patchpilot.model import ScanResult

SCAN_FORMATS = ("table", "json", "sarif", "cyclonedx", "markdown")

# Format name -> module under `patchpilot.formats`, imported on first use.
_MODULES = {
    "table": "table",
    "json": "json_out",
    "sarif": "sarif",
    "cyclonedx": "cyclonedx",
    "markdown": "markdown",
}


def render_scan(
    result: ScanResult, fmt: str, *, color: bool = False, width: int | None = None
) -> str:
    """`result` rendered in the format named `fmt` (one of `SCAN_FORMATS`).

    `color` and `width` only affect the terminal table; the other formats are plain documents.
    """
    module_name = _MODULES.get(fmt)
    if module_name is None:
        raise OutputError(f"unknown output format {fmt!r}: choose one of {', '.join(SCAN_FORMATS)}")
    module = import_module(f"{__name__}.{module_name}")
    text: str = (
        module.render(result, color=color, width=width) if fmt == "table" else module.render(result)
    )
    return text
