"""The pull-request body, from real findings and the real deltas of two uv.lock files.

Findings come from scanning the requests-before and requests-after projects
(tests/assets/fixers/deltas, locked by the real uv) against the real OSV store of the session;
deltas from the same two lockfiles read by the real uv.lock reader.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from patchpilot import __version__, engine
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.deliver.prbody import pr_body
from patchpilot.fixers.changeset import DeltaLevel, PackageDelta
from patchpilot.fixers.deltas import package_deltas
from patchpilot.model import Finding
from patchpilot.sources.uv_lock import UvLockSource

DELTAS = Path(__file__).resolve().parents[1] / "assets" / "fixers" / "deltas"
OSV = "https://osv.dev/vulnerability/"


def deltas_of(old: str, new: str) -> tuple[PackageDelta, ...]:
    read = UvLockSource().read
    return package_deltas(read(DELTAS / old / "uv.lock"), read(DELTAS / new / "uv.lock"))


@pytest.fixture(scope="module")
def scans(
    osv_store: AdvisoryStore, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[Finding], list[tuple[Finding, str]]]:
    """(fixed, still open) of the requests upgrade, by scanning both projects for real."""
    root = tmp_path_factory.mktemp("prbody")
    found = {}
    for name in ("requests-before", "requests-after"):
        shutil.copytree(DELTAS / name, root / name)
        found[name] = engine.scan(root / name, osv_store).findings
    after_ids = {(f.component.name, f.id) for f in found["requests-after"]}
    fixed = [f for f in found["requests-before"] if (f.component.name, f.id) not in after_ids]
    still_open = [
        (f, f"fixed only in {', '.join(f.fixed_versions) or 'no release'} | outside the\nplan")
        for f in found["requests-after"]
    ]
    assert fixed, "the requests 2.25.1 lock has known advisories"
    return fixed, still_open


def table_rows(body: str, heading: str) -> list[str]:
    section = body.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ")][1:]


def cells(row: str) -> list[str]:
    # Split on pipes that are not escaped: what a Markdown table renderer does.
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_body_admits_every_delta_and_flags_majors(
    scans: tuple[list[Finding], list[tuple[Finding, str]]],
) -> None:
    fixed, still_open = scans
    deltas = deltas_of("requests-before", "requests-after")
    body = pr_body(
        "Upgrade requests to 2.31.0",
        fixed,
        still_open,
        deltas,
        notes=["The working tree had uncommitted changes | they are not part of this branch."],
        commands=["patchpilot fix . --group package", "uv lock --upgrade-package requests"],
    )
    assert body.startswith("# Upgrade requests to 2.31.0\n")

    rows = table_rows(body, "Every package change")
    assert len(rows) == len(deltas)
    by_name = {cells(r)[0]: cells(r) for r in rows}
    for d in deltas:
        row = next(c for r in rows if (c := cells(r))[0] == d.name and c[2] == (d.before or "—"))
        assert row[3] == (d.after or "—")
        assert row[5] == ("direct" if d.direct else "transitive")
        if d.level is DeltaLevel.MAJOR:
            assert row[4] == "**major**"
        else:
            assert row[4] == d.level.value
    majors = [d for d in deltas if d.level is DeltaLevel.MAJOR]
    assert majors
    warning = next(line for line in body.splitlines() if line.startswith("> **Warning:**"))
    assert f"{len(majors)} major upgrades" in warning
    for d in majors:
        assert d.name in warning
    assert "charset-normalizer" in by_name  # transitive additions are listed too

    fixed_rows = table_rows(body, f"Advisories fixed ({len(fixed)})")
    assert len(fixed_rows) == len(fixed)
    for f in fixed:
        row = next(cells(r) for r in fixed_rows if f"[{f.id}]({OSV}{f.id})" in r)
        assert row[3] == f.component.name
        moved = next(d for d in deltas if d.name == f.component.name)
        assert row[4] == f"{f.component.version} → {moved.after or 'removed'}"
        for alias in f.aliases:
            assert alias in row[1]
        assert row[2].startswith(f.severity.level.value)

    open_rows = table_rows(body, f"Still open ({len(still_open)})")
    assert len(open_rows) == len(still_open)
    for line in open_rows:
        assert len(cells(line)) == 4
        assert "\\|" in line
        assert "<br>" in line  # the reason's newline cannot end the row

    assert "they are not part of this branch" in body
    assert "changes \\| they" in body
    assert f"patchpilot {__version__}" in body
    assert "- `patchpilot fix . --group package`" in body
    assert "- `uv lock --upgrade-package requests`" in body


def test_no_major_means_no_warning_and_nothing_bold() -> None:
    deltas = deltas_of("fork-before", "fork-after")
    assert deltas
    assert not any(d.level is DeltaLevel.MAJOR for d in deltas)
    body = pr_body("Upgrade urllib3", [], [], deltas)
    assert "**Warning:**" not in body
    assert "**major**" not in body
    assert len(table_rows(body, "Every package change")) == len(deltas)
    assert "## Advisories fixed (0)\n\nNone." in body
    assert "## Still open (0)\n\nNone." in body


def test_downgrades_are_flagged_for_review() -> None:
    deltas = deltas_of("requests-after", "requests-before")
    body = pr_body("Revert", [], [], deltas)
    downgrades = [d for d in deltas if d.level is DeltaLevel.DOWNGRADE]
    assert downgrades
    check = next(line for line in body.splitlines() if line.startswith("> **Check:**"))
    for d in downgrades:
        assert d.name in check
    assert body.count("**downgrade**") == len(downgrades)


def test_untrusted_text_cannot_break_the_table_or_inject_html() -> None:
    delta = PackageDelta(
        ecosystem=deltas_of("fork-before", "fork-after")[0].ecosystem,
        name="evil|name<script>",
        before="1.0",
        after="2.0\n| injected | row |",
        level=DeltaLevel.MAJOR,
        direct=False,
    )
    body = pr_body("Title with\nnewline <b>", [], [], [delta], notes=["<img src=x>"])
    assert body.splitlines()[0] == "# Title with newline &lt;b&gt;"
    rows = table_rows(body, "Every package change")
    assert len(rows) == 1
    assert len(cells(rows[0])) == 6
    assert "<script>" not in body
    assert "<img" not in body
    # No line outside the table can start a row either (the warning names the package).
    table_lines = [line for line in body.splitlines() if line.startswith("|")]
    assert len(table_lines) == 3
