"""Target choice on real data: the advisory store built from the real OSV zips (`osv_store`)
and the real PyPI and npm indexes (marked `network`; their answers cached in a temporary
directory for the module). Expectations are derived from the advisories' own fixed versions
and the index's own release list, and every refusal is checked against an independent
re-query of the store.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from packaging.version import Version

from patchpilot.advisories import versions
from patchpilot.advisories.matching import findings_for
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.model import (
    Advisory,
    Component,
    Ecosystem,
    Finding,
    NormalizedName,
    Scope,
    make_purl,
    normalize_name,
)
from patchpilot.planning.index import PackageIndex, Release, default_index
from patchpilot.planning.levels import UpgradeConfig, UpgradeLevel, parse_upgrade_config
from patchpilot.planning.target import ReleaseAge, TargetChoice, choose_target, mitigation_text

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> PackageIndex:
    return default_index(cache_dir=tmp_path_factory.mktemp("plan-index-cache"))


def component(ecosystem: Ecosystem, name: str, version: str) -> Component:
    normal = normalize_name(ecosystem, name)
    return Component(
        ecosystem=ecosystem,
        name=normal,
        version=version,
        purl=make_purl(ecosystem, normal, version),
        direct=True,
        scope=Scope.RUNTIME,
        locations=(),
    )


def findings_at(store: AdvisoryStore, c: Component, version: str | None = None) -> list[Finding]:
    if version is not None:
        c = replace(c, version=version, purl=make_purl(c.ecosystem, c.name, version))
    return findings_for(c, store.lookup(c.ecosystem, c.name))


def choose(
    store: AdvisoryStore,
    index: PackageIndex,
    c: Component,
    *,
    config: UpgradeConfig | None = None,
    min_age: int | None = None,
    now: datetime = NOW,
) -> TargetChoice:
    return choose_target(
        c,
        findings_at(store, c),
        store=store,
        index=index,
        config=config or UpgradeConfig(),
        min_release_age_days=min_age,
        now=now,
    )


def pep440_releases(index: PackageIndex, name: str) -> dict[Version, Release]:
    return {Version(r.version): r for r in index.releases(Ecosystem.PYPI, name)}


@pytest.mark.network
def test_pyyaml_531_moves_to_54_a_minor_upgrade(
    osv_store: AdvisoryStore, index: PackageIndex
) -> None:
    c = component(Ecosystem.PYPI, "PyYAML", "5.3.1")
    found = findings_at(osv_store, c)
    assert any("CVE-2020-14343" in f.aliases for f in found)
    choice = choose(osv_store, index, c)

    fixes = {v for f in found for v in f.fixed_versions}
    assert choice.target == "5.4"
    assert choice.target in fixes
    assert not any(Version(v).release[:2] == (5, 3) for v in fixes), "5.3.x has no fix"
    assert choice.level is UpgradeLevel.MINOR
    assert choice.fixed == choice.finding_ids == tuple(f.id for f in found)
    assert choice.introduced == ()
    assert choice.none_reason is None
    assert findings_at(osv_store, c, choice.target) == []
    assert choice.release_age is ReleaseAge.OK
    assert choice.released is not None

    releases = pep440_releases(index, "pyyaml")
    refused = {r.version: r.reason for r in choice.refused}
    current = Version("5.3.1")
    for version, release in releases.items():
        if version <= current:
            assert release.version not in refused
        elif release.yanked:
            assert refused[release.version].startswith("yanked")
        elif version.is_prerelease:
            assert refused[release.version] == "pre-release"
    # The pre-releases just below the fix and the yanked 6.0.2rc1 are said in plain words.
    assert any(line.startswith("5.4b1, 5.4b2") and "pre-release" in line for line in choice.reasons)
    assert any(line.startswith("6.0.2rc1: yanked (") for line in choice.reasons)
    newest = max(
        v for v, r in releases.items() if v.major == 5 and not r.yanked and not v.is_prerelease
    )
    assert choice.newest_in_major == str(newest)


@pytest.mark.network
def test_urllib3_1264_moves_to_the_first_1_26_release_fixing_everything(
    osv_store: AdvisoryStore, index: PackageIndex
) -> None:
    c = component(Ecosystem.PYPI, "urllib3", "1.26.4")
    found = findings_at(osv_store, c)
    assert len(found) >= 2
    # Each advisory's fix on the 1.26 line; the target must carry all of them.
    line_fixes = [
        max(Version(v) for v in f.fixed_versions if Version(v).release[:2] == (1, 26))
        for f in found
    ]
    expected = max(line_fixes)
    releases = pep440_releases(index, "urllib3")
    assert expected in releases and not releases[expected].yanked

    for config in (UpgradeConfig(), parse_upgrade_config(["urllib3:patch"])):
        choice = choose(osv_store, index, c, config=config)
        assert choice.target == str(expected)
        assert choice.level is UpgradeLevel.PATCH
        assert set(choice.fixed) == {f.id for f in found}
        assert findings_at(osv_store, c, choice.target) == []
        refused = {r.version: r.reason for r in choice.refused}
        # Every 1.26.x between the current version and the target is really still affected.
        between = [v for v in releases if Version("1.26.4") < v < expected]
        assert between
        for version in between:
            assert refused[str(version)].startswith("still affected by")
            assert findings_at(osv_store, c, str(version))
        ceiling_refusals = [v for v, why in refused.items() if "above the ceiling" in why]
        if config.ceiling(Ecosystem.PYPI, "urllib3") is UpgradeLevel.PATCH:
            assert ceiling_refusals
            assert all(Version(v).major >= 2 for v in ceiling_refusals)
            assert all(
                refused[v] == "major upgrade, above the ceiling patch for urllib3"
                for v in ceiling_refusals
            )
        else:
            assert ceiling_refusals == []
        newest_126 = max(v for v, r in releases.items() if v.major == 1 and not r.yanked)
        assert choice.newest_in_major == str(newest_126)


@pytest.mark.network
def test_pyyaml_patch_ceiling_gives_no_target_and_says_why(
    osv_store: AdvisoryStore, index: PackageIndex
) -> None:
    c = component(Ecosystem.PYPI, "pyyaml", "5.3.1")
    choice = choose(osv_store, index, c, config=parse_upgrade_config(["PyYAML:patch"]))
    assert choice.target is None
    assert choice.level is UpgradeLevel.NONE
    assert choice.ceiling is UpgradeLevel.PATCH
    assert choice.fixed == ()
    assert choice.none_reason is not None
    assert "within the ceiling patch" in choice.none_reason
    assert "5.4 would fix every finding but is a minor upgrade" in choice.none_reason
    refused = {r.version: r.reason for r in choice.refused}
    assert refused["5.4"] == "minor upgrade, above the ceiling patch for pyyaml"
    assert refused["6.0"] == "major upgrade, above the ceiling patch for pyyaml"


@pytest.mark.network
def test_min_release_age_refuses_a_fix_released_days_before(
    osv_store: AdvisoryStore, index: PackageIndex
) -> None:
    c = component(Ecosystem.PYPI, "pyyaml", "5.3.1")
    uploaded = pep440_releases(index, "pyyaml")[Version("5.4")].uploaded
    assert uploaded is not None
    now = uploaded + timedelta(days=3, hours=1)

    young = choose(osv_store, index, c, min_age=7, now=now)
    assert young.target is None
    assert young.release_age is ReleaseAge.TOO_YOUNG
    assert young.released == uploaded
    refused = {r.version: r.reason for r in young.refused}
    assert refused["5.4"] == (
        f"released 3 days ago ({uploaded.date().isoformat()}), younger than --min-release-age 7"
    )
    assert young.none_reason is not None
    assert "younger than --min-release-age 7 days (the first, 5.4" in young.none_reason

    old_enough = choose(osv_store, index, c, min_age=2, now=now)
    assert old_enough.target == "5.4"
    assert old_enough.release_age is ReleaseAge.OK
    assert old_enough.released == uploaded


class _ReleasesWithoutDates(PackageIndex):
    """Fake of an index mirror that publishes no upload times (PEP 691 API 1.0), which tests
    cannot reach: the real index's releases with their dates removed."""

    def __init__(self, real: PackageIndex) -> None:
        self.real = real

    def releases(self, ecosystem: Ecosystem, name: str) -> tuple[Release, ...]:
        return tuple(replace(r, uploaded=None) for r in self.real.releases(ecosystem, name))


@pytest.mark.network
def test_unknown_release_date_does_not_refuse_fake_mirror_without_dates(
    osv_store: AdvisoryStore, index: PackageIndex
) -> None:
    c = component(Ecosystem.PYPI, "pyyaml", "5.3.1")
    uploaded = pep440_releases(index, "pyyaml")[Version("5.4")].uploaded
    assert uploaded is not None
    choice = choose(
        osv_store, _ReleasesWithoutDates(index), c, min_age=7, now=uploaded + timedelta(days=3)
    )
    assert choice.target == "5.4"
    assert choice.release_age is ReleaseAge.UNKNOWN
    assert choice.released is None


@pytest.mark.network
def test_a_fix_that_introduces_a_new_finding_is_refused(
    osv_store: AdvisoryStore, index: PackageIndex
) -> None:
    c = component(Ecosystem.PYPI, "apache-airflow", "2.2.3")
    current_ids = {i for f in findings_at(osv_store, c) for i in (f.id, *f.aliases)}
    choice = choose(osv_store, index, c)
    assert choice.target is not None
    assert findings_at(osv_store, c, choice.target) == []
    # Candidates that fixed every current finding yet were refused for a new one.
    only_new = [r for r in choice.refused if r.reason.startswith("introduces ")]
    assert only_new
    for refusal in only_new:
        assert Version(refusal.version) < Version(choice.target)
        at = findings_at(osv_store, c, refusal.version)
        assert at
        assert all(not ({f.id, *f.aliases} & current_ids) for f in at)
        assert refusal.reason == f"introduces {', '.join(f.id for f in at)}"


@pytest.mark.network
def test_no_fixed_version_gives_none_with_the_advisory_mitigation(
    osv_store: AdvisoryStore, index: PackageIndex
) -> None:
    c = component(Ecosystem.NPM, "babel-traverse", "6.26.0")
    found = findings_at(osv_store, c)
    assert found
    assert all(not f.fixed_versions for f in found)
    choice = choose(osv_store, index, c)
    assert choice.target is None
    assert choice.none_reason is not None
    assert f"no fixed version is published in the advisories for {found[0].id}" in (
        choice.none_reason
    )
    assert "mitigation" in choice.none_reason
    [mitigation] = choice.mitigations
    assert mitigation.finding_id == found[0].id
    [record] = [a for a in osv_store.lookup(c.ecosystem, c.name) if a.id == mitigation.record_id]
    position = record.details.index(mitigation.text)
    heading = record.details[:position].rstrip().splitlines()[-1]
    assert heading.lstrip("# ").lower().startswith("workaround")


@pytest.mark.network
def test_npm_minimist_moves_to_its_fix_on_the_same_major(
    osv_store: AdvisoryStore, index: PackageIndex
) -> None:
    c = component(Ecosystem.NPM, "minimist", "1.2.0")
    found = findings_at(osv_store, c)
    scheme = versions.Scheme.SEMVER
    same_major = [
        v for f in found for v in f.fixed_versions if versions.parse(scheme, v).major == 1
    ]
    choice = choose(osv_store, index, c)
    assert choice.target == max(same_major, key=semver_key)
    assert choice.level is UpgradeLevel.PATCH
    assert findings_at(osv_store, c, choice.target) == []
    releases = index.releases(Ecosystem.NPM, "minimist")
    ones = [r for r in releases if versions.parse(scheme, r.version).major == 1 and not r.yanked]
    assert choice.newest_in_major == ones[-1].version
    refused = {r.version: r.reason for r in choice.refused}
    low, high = semver_key("1.2.0"), semver_key(choice.target)
    between = [r.version for r in releases if low < semver_key(r.version) < high]
    assert between
    for version in between:
        assert refused[version].startswith("still affected by GHSA-")
        assert findings_at(osv_store, c, version)


def semver_key(text: str | None) -> versions.VersionKey:
    found = versions.key(versions.Scheme.SEMVER, text or "")
    assert found is not None
    return found


def test_invalid_current_version_is_answered_as_data(
    osv_store: AdvisoryStore, tmp_path: Path
) -> None:
    real = component(Ecosystem.PYPI, "pyyaml", "5.3.1")
    broken = replace(real, version="five point three")
    choice = choose_target(
        broken,
        findings_at(osv_store, real),
        store=osv_store,
        index=default_index(cache_dir=tmp_path, offline=True),
        config=UpgradeConfig(),
        min_release_age_days=None,
        now=NOW,
    )
    assert choice.target is None
    assert (
        choice.none_reason
        == "the current version 'five point three' is not a valid PEP 440 version"
    )


def test_ecosystem_without_an_index_is_answered_as_data(
    osv_store: AdvisoryStore, tmp_path: Path
) -> None:
    c = component(Ecosystem.GO, "golang.org/x/text", "v0.3.5")
    found = findings_at(osv_store, c)
    assert found
    choice = choose_target(
        c,
        found,
        store=osv_store,
        index=default_index(cache_dir=tmp_path, offline=True),
        config=UpgradeConfig(),
        min_release_age_days=None,
        now=NOW,
    )
    assert choice.target is None
    assert choice.finding_ids == tuple(f.id for f in found)
    assert choice.none_reason == "no package index lists Go packages to upgrade to"


def record(store: AdvisoryStore, ecosystem: Ecosystem, name: str, record_id: str) -> Advisory:
    [found] = [a for a in store.lookup(ecosystem, NormalizedName(name)) if a.id == record_id]
    return found


def test_mitigation_is_the_workarounds_section(osv_store: AdvisoryStore) -> None:
    advisory = record(osv_store, Ecosystem.NPM, "xmldom", "GHSA-crh6-fp67-6883")
    # The section as the record lays it out: between its own heading and the next one.
    section = advisory.details.split("### Workarounds", 1)[1].split("\n###", 1)[0].strip()
    assert mitigation_text(advisory, "xmldom") == section
    assert section.startswith("One of the following approaches")


def test_mitigation_drops_the_template_prompt(osv_store: AdvisoryStore) -> None:
    advisory = record(osv_store, Ecosystem.PYPI, "aiohttp", "GHSA-v6wp-4m6f-gcjg")
    text = mitigation_text(advisory, "aiohttp")
    assert text is not None
    assert "normalize_path_middleware" in text
    assert "_Is there a way" not in text
    assert text in advisory.details


@pytest.mark.parametrize(
    ("name", "record_id"),
    [
        ("node-fetch", "GHSA-w7rc-rwvf-8q5r"),  # "None, it is strongly recommended to update"
        ("next", "GHSA-fr5h-rqp8-mj6g"),  # "There are no official workarounds"
        ("pyyaml", "PYSEC-2021-142"),  # no such section at all
    ],
)
def test_no_mitigation_when_the_advisory_offers_none(
    osv_store: AdvisoryStore, name: str, record_id: str
) -> None:
    ecosystem = Ecosystem.PYPI if record_id.startswith("PYSEC") else Ecosystem.NPM
    assert mitigation_text(record(osv_store, ecosystem, name, record_id), name) is None
