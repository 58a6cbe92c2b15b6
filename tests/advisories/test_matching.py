"""Matching: `is_affected` against an independent interval reading (hypothesis), and findings
on real records — ranges per ecosystem, `last_affected`, withdrawn records, alias merging, the
primary-ID rule, fixed versions and summaries.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import semver
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from patchpilot.advisories import aliases
from patchpilot.advisories.matching import findings_for, is_affected
from patchpilot.advisories.osv import parse_record
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.model import (
    Advisory,
    AdvisoryId,
    Affected,
    Component,
    Ecosystem,
    Event,
    NormalizedName,
    Range,
    Scope,
    SeverityLevel,
    make_purl,
    normalize_name,
)

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "tests" / "assets" / "advisories"
OSV_DIR = REPO.parent / "shared" / "osv"


def record(name: str) -> Advisory:
    return parse_record(json.loads((ASSETS / f"{name}.json").read_text("utf-8")), name)


def zip_record(zip_name: str, record_id: str) -> Advisory:
    with zipfile.ZipFile(OSV_DIR / zip_name) as archive:
        return parse_record(json.loads(archive.read(f"{record_id}.json")), record_id)


def component(ecosystem: Ecosystem, name: str, version: str) -> Component:
    return Component(
        ecosystem=ecosystem,
        name=normalize_name(ecosystem, name),
        version=version,
        purl=make_purl(ecosystem, name, version),
        direct=True,
        scope=Scope.RUNTIME,
        locations=(),
    )


def affected_ids(comp: Component, advisories: list[Advisory]) -> set[str]:
    return {rid for f in findings_for(comp, advisories) for rid, _ in f.records}


# Property: is_affected agrees with explicit intervals built the other way round.
#
# A case is a sorted list of distinct versions and a set of disjoint intervals over their
# indices; the events are generated *from* the intervals (then shuffled), and membership is
# read off the intervals directly, so the check shares nothing with the matcher's event walk.

semver_texts = st.builds(
    lambda a, b, c, pre: f"{a}.{b}.{c}" + (f"-{pre}" if pre else ""),
    st.integers(0, 4),
    st.integers(0, 4),
    st.integers(0, 4),
    st.sampled_from(["", "", "", "0", "alpha", "alpha.1", "beta.2", "rc.1"]),
)
pep440_texts = st.builds(
    lambda rel, pre, post, dev: ".".join(map(str, rel)) + pre + post + dev,
    st.lists(st.integers(0, 4), min_size=1, max_size=3),
    st.sampled_from(["", "", "", "a1", "b2", "rc1"]),
    st.sampled_from(["", "", "", ".post1"]),
    st.sampled_from(["", "", "", ".dev0"]),
).filter(lambda t: t != "0")  # the text "0" is the special "before everything" bound


@dataclasses.dataclass
class Case:
    texts: list[str]
    intervals: list[tuple[int, int | None]]  # index bounds; lo -1 = introduced "0"
    closing: str  # fixed or last_affected
    limit: int | None  # index of a limit event; None = no limit
    listed: list[int]
    events: list[Event]

    def member(self, index: int) -> bool:
        if index in self.listed:
            return True
        if self.limit is not None and index >= self.limit:
            return False
        for lo, hi in self.intervals:
            if index < lo:
                continue
            if hi is None or index < hi or (self.closing == "last_affected" and index == hi):
                return True
        return False


def cases(texts: st.SearchStrategy[str], key: Callable[[str], Any]) -> st.SearchStrategy[Case]:
    @st.composite
    def build(draw: st.DrawFn) -> Case:
        universe = sorted(draw(st.lists(texts, min_size=2, max_size=10, unique_by=key)), key=key)
        n = len(universe)
        cuts = sorted(draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n)))
        if draw(st.booleans()):
            cuts.insert(0, -1)  # the first interval starts at introduced "0"
        intervals = [
            (cuts[i], cuts[i + 1] if i + 1 < len(cuts) else None) for i in range(0, len(cuts), 2)
        ]
        closing = draw(st.sampled_from(["fixed", "last_affected"]))
        limit = draw(st.none() | st.integers(0, n - 1))
        listed = draw(st.lists(st.integers(0, n - 1), max_size=2))
        events = []
        for lo, hi in intervals:
            events.append(Event(introduced="0" if lo < 0 else universe[lo]))
            if hi is not None:
                events.append(Event(**{closing: universe[hi]}))
        if limit is not None:
            events.append(Event(limit=universe[limit]))
        elif draw(st.booleans()):
            events.append(Event(limit="*"))
        events = draw(st.permutations(events))
        return Case(universe, intervals, closing, limit, listed, events)

    return build()


def check(case: Case, ecosystem: Ecosystem, range_type: str) -> None:
    entry = Affected(
        ecosystem=ecosystem.value,
        name=NormalizedName("pkg"),
        raw_name="pkg",
        ranges=(Range(type=range_type, events=tuple(case.events)),),
        versions=tuple(case.texts[i] for i in case.listed),
    )
    for index, text in enumerate(case.texts):
        assert is_affected(entry, ecosystem, text) == case.member(index), (index, text)


@given(cases(pep440_texts, Version))
def test_pypi_ranges_match_explicit_intervals(case: Case) -> None:
    check(case, Ecosystem.PYPI, "ECOSYSTEM")


@given(cases(semver_texts, semver.Version.parse), st.sampled_from(["ECOSYSTEM", "SEMVER"]))
def test_npm_ranges_match_explicit_intervals(case: Case, range_type: str) -> None:
    check(case, Ecosystem.NPM, range_type)


@given(cases(semver_texts, semver.Version.parse))
def test_crates_and_go_semver_ranges_match_explicit_intervals(case: Case) -> None:
    check(case, Ecosystem.CRATES_IO, "SEMVER")
    check(case, Ecosystem.GO, "SEMVER")


@given(cases(semver_texts, semver.Version.parse))
def test_git_ranges_never_match_by_version(case: Case) -> None:
    entry = Affected(
        ecosystem="npm",
        name=NormalizedName("pkg"),
        raw_name="pkg",
        ranges=(Range(type="GIT", events=tuple(case.events), repo="https://example.invalid"),),
        versions=(),
    )
    assert not any(is_affected(entry, Ecosystem.NPM, t) for t in case.texts)


def test_events_at_one_version_keep_the_record_order() -> None:
    def entry(*events: Event) -> Affected:
        return Affected("PyPI", NormalizedName("pkg"), "pkg", (Range("ECOSYSTEM", events),), ())

    reopened = entry(Event(introduced="0"), Event(fixed="1.0"), Event(introduced="1.0"))
    assert is_affected(reopened, Ecosystem.PYPI, "1.0")
    empty = entry(Event(introduced="1.0"), Event(fixed="1.0"))
    assert not is_affected(empty, Ecosystem.PYPI, "1.0")


# Real records.


def test_pyyaml_5_3_1_is_affected_by_pysec_2021_142_and_5_4_is_not() -> None:
    pysec = record("PYSEC-2021-142")
    (entry,) = pysec.affected
    assert is_affected(entry, Ecosystem.PYPI, "5.3.1")
    assert not is_affected(entry, Ecosystem.PYPI, "5.4")
    assert not is_affected(entry, Ecosystem.PYPI, "6.0.1")
    # 5.4b1 is a pre-release of the fix: below 5.4, so still affected.
    assert is_affected(entry, Ecosystem.PYPI, "5.4b1")


def test_pysec_and_ghsa_pair_merge_into_one_finding() -> None:
    pysec, ghsa = record("PYSEC-2021-142"), record("GHSA-8q59-q68h-6hv4")
    for order in ([pysec, ghsa], [ghsa, pysec]):
        (finding,) = findings_for(component(Ecosystem.PYPI, "PyYAML", "5.3.1"), order)
        assert finding.id == "PYSEC-2021-142"
        assert finding.aliases == ("GHSA-8q59-q68h-6hv4", "CVE-2020-14343")
        assert finding.records == (
            ("GHSA-8q59-q68h-6hv4", ghsa.modified),
            ("PYSEC-2021-142", pysec.modified),
        )
        assert finding.fixed_versions == ("5.4",)
        # PyPA records have no summary: the GHSA one stands in; severity is GHSA's CVSS.
        assert finding.summary == ghsa.summary
        assert finding.severity.source == "cvss"
        assert finding.severity.vector == ghsa.severity[0].vector
        assert finding.severity.level is SeverityLevel.from_score(ghsa.severity[0].score or 0)
        refs = [r.url for r in finding.references]
        assert len(refs) == len(set(refs))
        assert {r.url for r in (*pysec.references, *ghsa.references)} == set(refs)
    assert findings_for(component(Ecosystem.PYPI, "pyyaml", "5.4"), [pysec, ghsa]) == []


def test_related_ids_do_not_merge() -> None:
    # PYSEC-2023-175 (pillow) lists CVE-2023-4863 under `related`; GHSA-j7hp-h8jx-5ppr has it
    # as an alias. They stay two findings.
    pysec = zip_record("pypa-advisory-database.zip", "PYSEC-2023-175")
    ghsa = zip_record("ghsa-sample.zip", "GHSA-j7hp-h8jx-5ppr")
    assert "CVE-2023-4863" in pysec.related
    assert "CVE-2023-4863" in ghsa.aliases
    findings = findings_for(component(Ecosystem.PYPI, "Pillow", "10.0.0"), [pysec, ghsa])
    assert [f.id for f in findings] == ["PYSEC-2023-175", "GHSA-j7hp-h8jx-5ppr"]


def test_merging_is_transitive_through_shared_aliases() -> None:
    # The GHSA record no longer lists the CVE, and the PYSEC record no longer lists the GHSA:
    # a third record holding both links them.
    pysec, ghsa = record("PYSEC-2021-142"), record("GHSA-8q59-q68h-6hv4")
    pysec = dataclasses.replace(pysec, aliases=("CVE-2020-14343",))
    ghsa = dataclasses.replace(ghsa, aliases=())
    apart = findings_for(component(Ecosystem.PYPI, "pyyaml", "5.1"), [pysec, ghsa])
    assert len(apart) == 2
    bridge = dataclasses.replace(
        record("GHSA-8q59-q68h-6hv4"),
        id=AdvisoryId("GHSA-xxxx-bridge"),
        aliases=("CVE-2020-14343", "GHSA-8q59-q68h-6hv4"),
    )
    (merged,) = findings_for(component(Ecosystem.PYPI, "pyyaml", "5.1"), [pysec, ghsa, bridge])
    assert merged.id == "PYSEC-2021-142"
    assert {rid for rid, _ in merged.records} == {pysec.id, ghsa.id, bridge.id}


def test_last_affected_includes_that_version_only() -> None:
    ghsa = record("GHSA-w3h3-4rj7-4ph4")
    (entry,) = ghsa.affected
    assert entry.ranges[0].events[-1].last_affected == "21.2.0"
    assert is_affected(entry, Ecosystem.PYPI, "21.2.0")
    assert is_affected(entry, Ecosystem.PYPI, "19.9.0")
    assert not is_affected(entry, Ecosystem.PYPI, "21.2.1")
    assert not is_affected(entry, Ecosystem.PYPI, "22.0.0")
    (finding,) = findings_for(component(Ecosystem.PYPI, "gunicorn", "21.2.0"), [ghsa])
    assert finding.fixed_versions == ()


@pytest.mark.parametrize(
    ("name", "version", "hit"),
    [
        ("stdlib", "1.18.5", True),
        ("stdlib", "go1.18.6", False),
        ("stdlib", "1.19rc1", True),  # the 1.19 range starts at 1.19.0-0, before every rc
        ("stdlib", "1.19.0", True),
        ("stdlib", "1.19.1", False),
        ("stdlib", "1.20", False),
        ("golang.org/x/net", "v0.0.0-20220826154423-83b083e8dc8b", True),
        ("golang.org/x/net", "v0.0.0-20220906165146-f3363e06e74c", False),
        ("golang.org/x/net", "v0.1.0", False),
        ("golang.org/x/net", "not-a-version", False),
    ],
)
def test_go_record_with_semver_ranges(name: str, version: str, hit: bool) -> None:
    go = record("GO-2022-0969")
    found = findings_for(component(Ecosystem.GO, name, version), [go])
    assert bool(found) is hit
    if hit:
        assert found[0].id == "GO-2022-0969"  # the Go database's own ID leads
        assert set(found[0].aliases) == set(go.aliases)


def test_go_fixed_versions_are_per_package() -> None:
    go = record("GO-2022-0969")
    (std,) = findings_for(component(Ecosystem.GO, "stdlib", "1.18"), [go])
    assert std.fixed_versions == ("1.18.6", "1.19.1")
    (net,) = findings_for(component(Ecosystem.GO, "golang.org/x/net", "v0.0.0-20200101"), [go])
    assert net.fixed_versions == ("0.0.0-20220906165146-f3363e06e74c",)


def test_crates_io_record() -> None:
    rustsec = record("RUSTSEC-2021-0078")
    assert affected_ids(component(Ecosystem.CRATES_IO, "hyper", "0.14.9"), [rustsec]) == {
        "RUSTSEC-2021-0078"
    }
    assert affected_ids(component(Ecosystem.CRATES_IO, "hyper", "0.10.0"), [rustsec])
    assert not affected_ids(component(Ecosystem.CRATES_IO, "hyper", "0.14.10"), [rustsec])
    assert not affected_ids(component(Ecosystem.CRATES_IO, "hyper", "1.0.0"), [rustsec])
    # Same name, other ecosystem: no match.
    assert not affected_ids(component(Ecosystem.NPM, "hyper", "0.14.9"), [rustsec])


def test_withdrawn_record_never_matches() -> None:
    withdrawn = record("RUSTSEC-2020-0053")
    assert withdrawn.withdrawn
    comp = component(Ecosystem.CRATES_IO, "dirs", "1.0.0")
    assert findings_for(comp, [withdrawn]) == []
    # The same record, not withdrawn, would match: the flag is what keeps it out.
    assert findings_for(comp, [dataclasses.replace(withdrawn, withdrawn=None)])


def test_npm_record_with_several_entries_and_prereleases() -> None:
    ghsa = record("GHSA-crh6-fp67-6883")
    hits = {
        v: bool(findings_for(component(Ecosystem.NPM, "@xmldom/xmldom", v), [ghsa]))
        for v in ("0.7.6", "0.7.7", "0.8.3", "0.8.4", "0.9.0-beta.3", "0.9.0-beta.4", "0.9.0")
    }
    assert hits == {
        "0.7.6": True,
        "0.7.7": False,
        "0.8.3": True,
        "0.8.4": False,
        "0.9.0-beta.3": True,
        "0.9.0-beta.4": False,
        "0.9.0": False,
    }
    (finding,) = findings_for(component(Ecosystem.NPM, "@xmldom/xmldom", "0.8.0"), [ghsa])
    # Every entry's fix for this package, in SemVer order (not text order).
    assert finding.fixed_versions == ("0.7.7", "0.8.4", "0.9.0-beta.4")
    assert finding.severity.source == "database"
    assert finding.severity.level is SeverityLevel.CRITICAL
    # The old `xmldom` package is in the same record with `last_affected`.
    assert findings_for(component(Ecosystem.NPM, "xmldom", "0.6.0"), [ghsa])
    assert not findings_for(component(Ecosystem.NPM, "xmldom", "0.6.1"), [ghsa])


def test_npm_bound_written_without_patch() -> None:
    ghsa = record("GHSA-r683-j2x4-v87g")
    entry, _ = ghsa.affected
    assert entry.ranges[0].events[0].introduced == "1.0"
    assert is_affected(entry, Ecosystem.NPM, "1.0.0")
    assert is_affected(entry, Ecosystem.NPM, "3.1.0")
    assert not is_affected(entry, Ecosystem.NPM, "0.9.9")
    assert not is_affected(entry, Ecosystem.NPM, "3.1.1")
    # The record's second entry for node-fetch covers everything below 2.6.7.
    assert findings_for(component(Ecosystem.NPM, "node-fetch", "0.9.9"), [ghsa])
    (finding,) = findings_for(component(Ecosystem.NPM, "node-fetch", "2.6.6"), [ghsa])
    assert finding.fixed_versions == ("2.6.7", "3.1.1")
    assert not findings_for(component(Ecosystem.NPM, "node-fetch", "3.1.1"), [ghsa])


def test_unreadable_fix_leaves_the_range_open_and_out_of_fixed_versions() -> None:
    # GHSA-h755-8qp9-cq85 writes `fixed: "7.2.4, 6.11.4"`, which is no version.
    ghsa = zip_record("ghsa-sample.zip", "GHSA-h755-8qp9-cq85")
    assert ghsa.affected[0].ranges[0].events[1].fixed == "7.2.4, 6.11.4"
    (finding,) = findings_for(component(Ecosystem.NPM, "protobufjs", "7.3.0"), [ghsa])
    assert finding.fixed_versions == ()
    assert not findings_for(component(Ecosystem.NPM, "protobufjs", "6.9.0"), [ghsa])


def test_unparseable_component_version_matches_only_listed_versions() -> None:
    pysec = zip_record("pypa-advisory-database.zip", "PYSEC-2018-19")
    (entry,) = pysec.affected
    assert "0.1-bulbasaur" in entry.versions
    # Not PEP 440, but listed verbatim: affected.
    assert findings_for(component(Ecosystem.PYPI, "paramiko", "0.1-bulbasaur"), [pysec])
    # Not PEP 440 and not listed: the ranges cannot place it, so no finding.
    assert not findings_for(component(Ecosystem.PYPI, "paramiko", "0.1-pikachu"), [pysec])


def test_fixed_versions_of_a_multi_branch_record_in_version_order() -> None:
    pysec = zip_record("pypa-advisory-database.zip", "PYSEC-2018-19")
    (finding,) = findings_for(component(Ecosystem.PYPI, "paramiko", "2.0.3"), [pysec])
    events = [e.fixed for r in pysec.affected[0].ranges for e in r.events if e.fixed]
    ecosystem_fixes = [
        e.fixed
        for r in pysec.affected[0].ranges
        if r.type == "ECOSYSTEM"
        for e in r.events
        if e.fixed
    ]
    assert len(events) > len(ecosystem_fixes)  # GIT commits are not versions
    assert list(finding.fixed_versions) == sorted(set(ecosystem_fixes), key=Version)


def test_pypi_versions_list_matches_canonical_spelling() -> None:
    pysec = record("PYSEC-2021-142")
    entry = dataclasses.replace(pysec.affected[0], ranges=())
    assert "3.10" in entry.versions
    assert is_affected(entry, Ecosystem.PYPI, "3.10")
    assert is_affected(entry, Ecosystem.PYPI, "3.10.0") is ("3.10.0" in entry.versions)
    assert is_affected(entry, Ecosystem.PYPI, "3.010")  # PEP 440 reads it as 3.10


def test_semver_versions_list_matches_canonical_spelling() -> None:
    entry = Affected("Go", NormalizedName("example.com/mod"), "example.com/mod", (), ("1.2.3",))
    assert is_affected(entry, Ecosystem.GO, "v1.2.3")
    assert is_affected(entry, Ecosystem.GO, "1.2.3")
    assert not is_affected(entry, Ecosystem.GO, "v1.2.4")


def test_primary_id_rule() -> None:
    ids = ["CVE-2020-14343", "GHSA-8q59-q68h-6hv4", "PYSEC-2021-142", "OSV-2020-1"]
    assert aliases.primary_id(Ecosystem.PYPI, ids) == "PYSEC-2021-142"
    assert aliases.primary_id(Ecosystem.NPM, ids) == "GHSA-8q59-q68h-6hv4"
    assert aliases.primary_id(Ecosystem.NPM, ["OSV-2020-1", "CVE-2020-14343"]) == "CVE-2020-14343"
    assert aliases.primary_id(Ecosystem.GO, ["GHSA-69cg-p879-7622", "GO-2022-0969"]) == (
        "GO-2022-0969"
    )
    # Ties: the lowest ID, numbers compared as numbers.
    assert aliases.primary_id(Ecosystem.PYPI, ["PYSEC-2021-142", "PYSEC-2021-66"]) == (
        "PYSEC-2021-66"
    )


def test_findings_on_the_whole_store_are_merged_and_consistent(osv_store: AdvisoryStore) -> None:
    # Every component that the stored records name, at the versions they list or bound:
    # findings never share an ID, carry all IDs of their records, and are sorted.
    keys = [
        (Ecosystem.PYPI, "pyyaml"),
        (Ecosystem.PYPI, "django"),
        (Ecosystem.PYPI, "pillow"),
        (Ecosystem.PYPI, "jinja2"),
        (Ecosystem.GO, "stdlib"),
        (Ecosystem.GO, "golang.org/x/net"),
        (Ecosystem.CRATES_IO, "hyper"),
        (Ecosystem.NPM, "lodash"),
    ]
    looked_up = osv_store.lookup_many((e, NormalizedName(n)) for e, n in keys)
    checked = 0
    for (ecosystem, name), advisories in looked_up.items():
        probe_versions = {
            value
            for a in advisories
            for entry in a.affected
            for rng in entry.ranges
            if rng.type != "GIT"
            for event in rng.events
            for value in (event.introduced, event.fixed, event.last_affected)
            if value and value != "0"
        }
        for version in sorted(probe_versions)[:40]:
            comp = component(ecosystem, name, version)
            findings = findings_for(comp, advisories)
            seen: set[str] = set()
            for finding in findings:
                ids = {finding.id, *finding.aliases}
                assert not ids & seen
                seen |= ids
                by_id: dict[str, Advisory] = {a.id: a for a in advisories}
                for rid, modified in finding.records:
                    assert by_id[rid].modified == modified
                    assert not by_id[rid].withdrawn
                    assert aliases.ids_of(by_id[rid]) <= ids
                assert finding.id == aliases.primary_id(ecosystem, ids)
                checked += 1
    assert checked > 100
