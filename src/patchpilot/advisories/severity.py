"""Severity: CVSS vectors scored with the `cvss` library, and one `Severity` per finding.

`score_vector` scores one OSV `severity[]` entry (CVSS v2, v3.x or v4 base score); a vector
the library rejects keeps its text with score None, never an error, because a database's typo
must not stop a scan. `severity_of` takes the records merged into one finding: the highest
base score among them gives the level by the CVSS bands (`SeverityLevel.from_score`); without
any score, the databases' own labels decide (GHSA's LOW/MODERATE/HIGH/CRITICAL, the highest
wins); without either, the level is `unknown`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from patchpilot.model import Advisory, Score, Severity, SeverityLevel

CVSS_TYPES = ("CVSS_V2", "CVSS_V3", "CVSS_V4")

_LABELS = {
    "NONE": SeverityLevel.NONE,
    "LOW": SeverityLevel.LOW,
    "MODERATE": SeverityLevel.MEDIUM,
    "MEDIUM": SeverityLevel.MEDIUM,
    "HIGH": SeverityLevel.HIGH,
    "CRITICAL": SeverityLevel.CRITICAL,
}


@lru_cache(maxsize=4096)
def score_vector(kind: str, vector: str) -> float | None:
    """The CVSS base score of `vector`, or None if `kind` is not CVSS or the vector is bad.

    The vector's own prefix (`CVSS:3.1/`, `CVSS:4.0/`) wins over `kind`, since databases
    sometimes file a v4 vector under `CVSS_V3`.
    """
    if kind not in CVSS_TYPES:
        return None
    from cvss import CVSS2, CVSS3, CVSS4

    text = vector.strip()
    try:
        if text.startswith("CVSS:4"):
            return float(CVSS4(text).base_score)
        if text.startswith("CVSS:3"):
            return float(CVSS3(text).scores()[0])
        if kind == "CVSS_V2":
            return float(CVSS2(text).scores()[0])
    # The library raises its own CVSSError for most bad vectors, but arbitrary text can also
    # reach plain ValueError/KeyError/IndexError inside it; any failure means "no score".
    except Exception:
        return None
    return None


def level_of_label(label: str | None) -> SeverityLevel | None:
    """The level a database label names (`MODERATE` is medium), or None if unrecognised."""
    if label is None:
        return None
    return _LABELS.get(label.strip().upper())


def severity_of(advisories: Iterable[Advisory]) -> Severity:
    """The severity of a vulnerability known through `advisories` (aliases of one another)."""
    records = list(advisories)
    scores: list[Score] = []
    for advisory in records:
        scores.extend(s for s in advisory.severity if s not in scores)
    rated = [(s.score, s.type, s.vector) for s in scores if s.score is not None]
    if rated:
        # Highest score first; among equal scores the newest CVSS version, then the vector text,
        # so the reported vector does not depend on the order records came in.
        score, _, vector = max(rated)
        return Severity(
            level=SeverityLevel.from_score(score),
            score=score,
            vector=vector,
            source="cvss",
            scores=tuple(scores),
        )
    levels = [lvl for a in records if (lvl := level_of_label(a.database_severity)) is not None]
    if levels:
        return Severity(
            level=max(levels, key=lambda lvl: lvl.rank),
            score=None,
            vector=None,
            source="database",
            scores=tuple(scores),
        )
    return Severity(
        level=SeverityLevel.UNKNOWN, score=None, vector=None, source="none", scores=tuple(scores)
    )
