"""Reading OSV records: every real record parses, fields land where they belong, and anything
malformed (including arbitrary junk from hypothesis) comes out as a `RecordError` naming the key.
"""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchpilot.advisories.osv import parse_record, timestamp_key
from patchpilot.errors import RecordError
from patchpilot.model import Ecosystem, normalize_name

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "tests" / "assets" / "advisories"
OSV_DIR = REPO.parent / "shared" / "osv"
ZIPS = ("pypa-advisory-database.zip", "go-vulndb.zip", "rustsec-advisory-db.zip", "ghsa-sample.zip")


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ASSETS / name).read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("zip_name", ZIPS)
def test_every_real_record_parses_and_keeps_its_facts(zip_name: str) -> None:
    with zipfile.ZipFile(OSV_DIR / zip_name) as archive:
        names = [n for n in archive.namelist() if n.endswith(".json")]
        assert names
        for name in names:
            raw = json.loads(archive.read(name))
            advisory = parse_record(raw, f"{zip_name}!{name}")
            assert advisory.id == raw["id"] == name.removesuffix(".json")
            assert advisory.modified == raw["modified"]
            assert advisory.withdrawn == raw.get("withdrawn")
            assert advisory.aliases == tuple(raw.get("aliases") or ())
            assert len(advisory.affected) == len(raw.get("affected") or ())
            for entry, raw_entry in zip(advisory.affected, raw.get("affected") or (), strict=True):
                package = raw_entry["package"]
                assert entry.ecosystem == package["ecosystem"]
                assert entry.raw_name == package["name"]
                known = Ecosystem.from_osv(package["ecosystem"])
                want = normalize_name(known, package["name"]) if known else package["name"].lower()
                assert entry.name == want
                assert entry.versions == tuple(raw_entry.get("versions") or ())
                events = [e for r in raw_entry.get("ranges") or () for e in r["events"]]
                parsed = [e for r in entry.ranges for e in r.events]
                assert len(parsed) == len(events)
                for event, raw_event in zip(parsed, events, strict=True):
                    (kind, value), *_ = raw_event.items()
                    assert getattr(event, kind) == value


def test_pysec_and_ghsa_records_of_pyyaml() -> None:
    pysec = parse_record(load("PYSEC-2021-142.json"), "PYSEC-2021-142.json")
    ghsa = parse_record(load("GHSA-8q59-q68h-6hv4.json"), "GHSA-8q59-q68h-6hv4.json")
    # GHSA spells the package `PyYAML`; both normalise to the PEP 503 name.
    assert pysec.affected[0].name == ghsa.affected[0].name == "pyyaml"
    assert ghsa.affected[0].raw_name == "PyYAML"
    assert "GHSA-8q59-q68h-6hv4" in pysec.aliases
    assert "CVE-2020-14343" in ghsa.aliases
    assert ghsa.database_severity == "CRITICAL"
    assert pysec.database_severity is None
    (score,) = ghsa.severity
    assert score.type == "CVSS_V3"
    assert score.vector.startswith("CVSS:3.1/")
    assert score.score is not None
    assert ghsa.summary
    assert not pysec.summary  # PyPA records carry details only
    assert ghsa.schema_version == "1.2.0"


def test_go_record_keeps_ecosystem_specific_data_and_case() -> None:
    advisory = parse_record(load("GO-2022-0969.json"), "GO-2022-0969.json")
    names = [a.name for a in advisory.affected]
    assert names == ["stdlib", "golang.org/x/net"]
    assert all(r.type == "SEMVER" for a in advisory.affected for r in a.ranges)
    imports = advisory.affected[0].ecosystem_specific["imports"]
    assert isinstance(imports, list)
    assert imports[0]["path"] == "net/http"


def test_unknown_ecosystem_names_are_lowercased() -> None:
    with zipfile.ZipFile(OSV_DIR / "ghsa-sample.zip") as archive:
        raw = json.loads(archive.read("GHSA-8hfj-j24r-96c4.json"))
    advisory = parse_record(raw, "GHSA-8hfj-j24r-96c4.json")
    nuget = [a for a in advisory.affected if a.ecosystem == "NuGet"]
    assert nuget
    for entry in nuget:
        assert entry.name == entry.raw_name.lower()


def test_package_level_severity_and_labels_are_collected() -> None:
    # Schema 1.5+ puts scores and labels at package level; the GHSA record is re-shaped so
    # that its real vector and label sit there instead of at the top.
    raw = load("GHSA-8q59-q68h-6hv4.json")
    vector = raw["severity"][0]["score"]
    raw["affected"][0]["severity"] = raw.pop("severity")
    raw["affected"][0]["database_specific"] = {"severity": raw.pop("database_specific")["severity"]}
    advisory = parse_record(raw, "reshaped")
    assert [s.vector for s in advisory.severity] == [vector]
    assert advisory.database_severity == "CRITICAL"


def test_nulls_count_as_absent_optional_fields() -> None:
    raw = load("RUSTSEC-2021-0078.json")
    raw["summary"] = None
    raw["aliases"] = None
    raw["affected"][0]["ecosystem_specific"] = None
    advisory = parse_record(raw, "x")
    assert advisory.summary == ""
    assert advisory.aliases == ()
    assert advisory.affected[0].ecosystem_specific == {}


@pytest.mark.parametrize(
    ("mutate", "place"),
    [
        (lambda r: r.pop("id"), "id"),
        (lambda r: r.pop("modified"), "modified"),
        (lambda r: r.__setitem__("modified", "last tuesday"), "modified"),
        (lambda r: r.__setitem__("id", 42), "id"),
        (lambda r: r.__setitem__("aliases", "CVE-2020-14343"), "aliases"),
        (lambda r: r["aliases"].append(7), "aliases[2]"),
        (lambda r: r.__setitem__("affected", {}), "affected"),
        (lambda r: r["affected"][0]["package"].pop("name"), "affected[0].package.name"),
        (lambda r: r["affected"][0]["ranges"][0].pop("type"), "affected[0].ranges[0].type"),
        (lambda r: r["affected"][0]["ranges"][0].pop("events"), "affected[0].ranges[0].events"),
        (
            lambda r: r["affected"][0]["ranges"][0]["events"][1].__setitem__("introduced", "1"),
            "affected[0].ranges[0].events[1]",
        ),
        (
            lambda r: r["affected"][0]["ranges"][0]["events"].__setitem__(0, {}),
            "affected[0].ranges[0].events[0]",
        ),
        (
            lambda r: r["affected"][0]["ranges"][0]["events"][0].__setitem__("introduced", 0),
            "affected[0].ranges[0].events[0].introduced",
        ),
        (lambda r: r["affected"][0].__setitem__("versions", "3.1"), "affected[0].versions"),
        (lambda r: r["references"][0].pop("url"), "references[0].url"),
        (lambda r: r.__setitem__("severity", [{"type": "CVSS_V3"}]), "severity[0].score"),
    ],
)
def test_malformed_records_name_the_key(mutate: Any, place: str) -> None:
    raw = copy.deepcopy(load("PYSEC-2021-142.json"))
    mutate(raw)
    with pytest.raises(RecordError) as caught:
        parse_record(raw, "PYSEC-2021-142.json")
    assert caught.value.place == place
    assert caught.value.origin == "PYSEC-2021-142.json"
    assert str(caught.value).startswith(f"PYSEC-2021-142.json: {place}: ")


@pytest.mark.parametrize("top", [[], "PYSEC-2021-142", 3, None, True])
def test_a_record_must_be_an_object(top: object) -> None:
    with pytest.raises(RecordError, match="expected an object"):
        parse_record(top, "origin.json")


def test_timestamps_compare_in_utc() -> None:
    later = timestamp_key("2021-08-27T05:22:18+02:00")
    assert later == timestamp_key("2021-08-27T03:22:18Z")
    assert timestamp_key("2021-08-27T03:22:18.913334Z") > timestamp_key("2021-08-27T03:22:18Z")
    # Go's placeholder `modified` (year 1) sorts first and keeps four digits.
    assert timestamp_key("0001-01-01T00:00:00Z") < timestamp_key("1970-01-01T00:00:00Z")
    with pytest.raises(ValueError, match="RFC 3339"):
        timestamp_key("2021-13-01T00:00:00Z")


# Junk: JSON-like values of every shape, and real records with parts replaced by junk.

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)
record_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(), json_values),
        "modified": st.one_of(st.just("2024-01-01T00:00:00Z"), st.text(), json_values),
        "aliases": json_values,
        "affected": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "package": st.one_of(
                        json_values,
                        st.fixed_dictionaries(
                            {"ecosystem": st.sampled_from(["PyPI", "npm", "Go", "x"]) | json_values}
                        ),
                    ),
                    "ranges": json_values,
                    "versions": json_values,
                },
            ),
            max_size=3,
        )
        | json_values,
        "severity": json_values,
        "references": json_values,
    },
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, record_like))
def test_junk_gives_only_record_errors(data: object) -> None:
    try:
        advisory = parse_record(data, "junk.json")
    except RecordError as e:
        assert e.origin == "junk.json"
        assert str(e).startswith("junk.json")
    else:
        assert isinstance(data, dict)
        assert advisory.id == data["id"]


@settings(max_examples=300)
@given(
    key=st.sampled_from(["id", "modified", "aliases", "affected", "severity", "references"]),
    path=st.lists(st.sampled_from([0, "package", "ranges", "events", "name"]), max_size=4),
    junk=json_values,
)
def test_real_record_with_a_part_replaced_by_junk(key: str, path: list[Any], junk: object) -> None:
    raw = load("GHSA-crh6-fp67-6883.json")
    target: Any = raw
    place = [key, *path]
    for step in place[:-1]:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            return
    try:
        target[place[-1]] = junk
    except (IndexError, TypeError):
        return
    try:
        parse_record(raw, "GHSA-crh6-fp67-6883.json")
    except RecordError as e:
        assert e.origin == "GHSA-crh6-fp67-6883.json"
