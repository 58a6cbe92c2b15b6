"""Severity: real CVSS v2/v3/v4 vectors scored like the `cvss` library scores them, the highest
score across merged records deciding, database labels as the fallback, bad vectors kept unscored.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from cvss import CVSS2, CVSS3, CVSS4
from hypothesis import given
from hypothesis import strategies as st

from patchpilot.advisories.osv import parse_record
from patchpilot.advisories.severity import level_of_label, score_vector, severity_of
from patchpilot.model import Advisory, SeverityLevel

REPO = Path(__file__).resolve().parents[2]
OSV_DIR = REPO.parent / "shared" / "osv"


def ghsa(record_id: str) -> Advisory:
    with zipfile.ZipFile(OSV_DIR / "ghsa-sample.zip") as archive:
        return parse_record(json.loads(archive.read(f"{record_id}.json")), record_id)


def test_every_real_vector_is_scored() -> None:
    seen = 0
    for zip_name in ("pypa-advisory-database.zip", "rustsec-advisory-db.zip", "ghsa-sample.zip"):
        with zipfile.ZipFile(OSV_DIR / zip_name) as archive:
            for name in archive.namelist():
                for entry in json.loads(archive.read(name)).get("severity") or ():
                    vector = entry["score"]
                    score = score_vector(entry["type"], vector)
                    if vector.startswith("CVSS:4"):
                        want = CVSS4(vector).base_score
                    else:
                        want = CVSS3(vector).scores()[0]
                    assert score == float(want), (name, vector)
                    seen += 1
    assert seen > 700


def test_cvss_v2_vector_is_scored() -> None:
    vector = "AV:N/AC:L/Au:N/C:P/I:P/A:P"
    assert score_vector("CVSS_V2", vector) == CVSS2(vector).scores()[0]


@pytest.mark.parametrize(
    ("kind", "vector"),
    [
        ("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H"),  # A: missing
        ("CVSS_V3", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
        ("CVSS_V4", "CVSS:4.0/AV:N"),
        ("CVSS_V2", "not a vector"),
        ("Ubuntu", "medium"),
    ],
)
def test_unusable_vectors_have_no_score(kind: str, vector: str) -> None:
    assert score_vector(kind, vector) is None


@given(st.sampled_from(["CVSS_V2", "CVSS_V3", "CVSS_V4"]), st.text(max_size=80))
def test_junk_vectors_never_raise(kind: str, vector: str) -> None:
    score = score_vector(kind, vector)
    assert score is None or 0.0 <= score <= 10.0


@given(
    st.sampled_from(["CVSS_V3"]),
    st.lists(
        st.sampled_from(["AV:N", "AV:L", "AC:L", "AC:H", "PR:N", "UI:N", "S:U", "S:C", "C:H"])
        | st.sampled_from(["I:H", "A:H", "A:N", "I:L", "C:N", "PR:H", "UI:R", "AV:P", "E:X"]),
        max_size=10,
    ),
)
def test_near_miss_vectors_never_raise(kind: str, parts: list[str]) -> None:
    score = score_vector(kind, "/".join(["CVSS:3.1", *parts]))
    assert score is None or 0.0 <= score <= 10.0


def test_highest_score_across_v3_and_v4_decides() -> None:
    record = ghsa("GHSA-44wm-f244-xhp3")  # pillow: CVSS v3 and CVSS v4 disagree
    v3, v4 = record.severity
    assert v3.score is not None
    assert v4.score is not None
    assert v3.score != v4.score
    severity = severity_of([record])
    best = max(v3, v4, key=lambda s: s.score or 0.0)
    assert severity.score == best.score
    assert severity.vector == best.vector
    assert severity.level is SeverityLevel.from_score(best.score or 0.0)
    assert severity.source == "cvss"
    assert severity.scores == (v3, v4)


def test_merged_records_take_the_highest_score() -> None:
    low = ghsa("GHSA-44wm-f244-xhp3")
    high = ghsa("GHSA-8q59-q68h-6hv4")
    severity = severity_of([low, high])
    scores = [s.score for s in (*low.severity, *high.severity) if s.score is not None]
    assert severity.score == max(scores)
    swapped = severity_of([high, low])
    assert (swapped.level, swapped.score, swapped.vector) == (
        severity.level,
        severity.score,
        severity.vector,
    )


@pytest.mark.parametrize(
    "record_id", ["GHSA-37q5-v5qm-c9v8", "GHSA-4wf5-vphf-c2xc", "GHSA-4xc9-xhrj-v574"]
)
def test_database_label_when_no_vector(record_id: str) -> None:
    record = ghsa(record_id)
    assert record.severity == ()
    severity = severity_of([record])
    assert severity.source == "database"
    assert severity.score is None
    assert severity.level is level_of_label(record.database_severity)
    assert severity.level is not None


def test_labels_map_to_levels() -> None:
    assert level_of_label("MODERATE") is SeverityLevel.MEDIUM
    assert level_of_label("low") is SeverityLevel.LOW
    assert level_of_label("HIGH") is SeverityLevel.HIGH
    assert level_of_label("CRITICAL") is SeverityLevel.CRITICAL
    assert level_of_label("severe") is None
    assert level_of_label(None) is None


def test_unknown_without_scores_or_labels() -> None:
    with zipfile.ZipFile(OSV_DIR / "pypa-advisory-database.zip") as archive:
        record = parse_record(json.loads(archive.read("PYSEC-2021-142.json")), "PYSEC-2021-142")
    severity = severity_of([record])
    assert severity.level is SeverityLevel.UNKNOWN
    assert severity.source == "none"
    assert severity.score is None
