"""`db import-kev` / `db import-epss` handlers, called with the options argparse would give them.

The KEV catalog is the real one in shared/kev; the EPSS file is a stand-in in FIRST's published
layout, since the real download cannot be reached here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from patchpilot.assess.exploit import ExploitIndex
from patchpilot.cli.signals import run_import_epss, run_import_kev
from patchpilot.errors import ExitCode, SignalError

KEV_FILE = (
    Path(__file__).resolve().parents[3] / "shared" / "kev" / "known_exploited_vulnerabilities.json"
)


def args(db: Path, file: Path, *, fmt: str | None, quiet: bool = False) -> argparse.Namespace:
    return argparse.Namespace(db=db, file=file, format=fmt, quiet=quiet)


def test_import_kev_prints_version_and_count_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = json.loads(KEV_FILE.read_text(encoding="utf-8"))
    db = tmp_path / "store.sqlite3"
    assert run_import_kev(args(db, KEV_FILE, fmt="json")) == ExitCode.OK
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "patchpilot.signal-import/1"
    assert doc["store"] == str(db)
    assert (doc["kind"], doc["version"], doc["count"]) == (
        "kev",
        catalog["catalogVersion"],
        len(catalog["vulnerabilities"]),
    )
    with ExploitIndex.open(db) as index:
        kev = index.status().kev
    assert kev is not None
    assert doc["imported_at"] == kev.imported_at


def test_import_epss_stand_in_table_output_and_quiet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stand_in = tmp_path / "epss_scores-2025-08-25.csv"
    stand_in.write_text(
        "#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z\n"
        "cve,epss,percentile\nCVE-2020-11651,0.97462,0.99971\n"
    )
    db = tmp_path / "store.sqlite3"
    assert run_import_epss(args(db, stand_in, fmt="table")) == ExitCode.OK
    out = capsys.readouterr().out
    assert "FIRST EPSS v2025.03.14" in out
    assert "1 EPSS scores" in out
    assert run_import_epss(args(db, stand_in, fmt="table", quiet=True)) == ExitCode.OK
    assert capsys.readouterr().out == ""
    with ExploitIndex.open(db) as index:
        assert len(index.status().history) == 2


def test_bad_file_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "kev.json"
    bad.write_text('{"catalogVersion": "1", "vulnerabilities": [{"cveID": "nope"}]}')
    with pytest.raises(SignalError) as caught:
        run_import_kev(args(tmp_path / "store.sqlite3", bad, fmt="json"))
    assert caught.value.exit_code == ExitCode.INPUT_ERROR
    assert caught.value.place == "vulnerabilities[0].cveID"
