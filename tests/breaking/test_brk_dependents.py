"""Transitive breaks on real distributions from PyPI: an old Flask that imports `jinja2.Markup`
breaks when Jinja2 goes 2.11.3 → 3.1.4 and a newer Flask cures it; a dependent that uses only
kept API does not break; a dependent that cannot be fetched is reported, not raised."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from patchpilot.events import RecordingReporter
from patchpilot.model import Ecosystem
from patchpilot.planning.breaking import callsites, distributions
from patchpilot.planning.breaking.apidiff import diff
from patchpilot.planning.breaking.dependents import (
    MAX_CANDIDATES,
    admits,
    assess_dependents,
    candidates,
)
from patchpilot.planning.index import PackageIndex, default_index

pytestmark = [pytest.mark.network, pytest.mark.slow]


@pytest.fixture(scope="module")
def pypi(brk_cache: Path) -> PackageIndex:
    return default_index(cache_dir=brk_cache / "index")


def test_old_flask_breaks_on_jinja2_31_and_a_newer_flask_cures_it(
    brk_cache: Path, pypi: PackageIndex
) -> None:
    reporter = RecordingReporter()
    found = assess_dependents(
        "Jinja2",
        "2.11.3",
        "3.1.4",
        [("Flask", "1.1.2")],
        cache_dir=brk_cache,
        reporter=reporter,
        index=pypi,
    )
    (brk,) = found
    assert (brk.dependent, brk.version, brk.unknown) == ("Flask", "1.1.2", None)
    symbols = {(s.path, s.symbol) for s in brk.sites}
    assert ("flask/__init__.py", "jinja2.Markup") in symbols
    assert ("flask/__init__.py", "jinja2.escape") in symbols
    # Each site points at a line of Flask's own code that really names the removed API.
    tree = distributions.fetch("Flask", "1.1.2", brk_cache)
    for site in brk.sites:
        line = (tree / site.path).read_text(encoding="utf-8").splitlines()[site.line - 1]
        assert site.symbol.rsplit(".", 1)[-1] in line
        assert site.api_break.kind.is_removal

    assert brk.cure is not None
    assert Version(brk.cure) >= Version("2.0")
    assert brk.cure_reason.startswith(f"co-upgrade Flask to {brk.cure} cures it")
    assert brk.summary.startswith("Flask 1.1.2: flask/__init__.py:")
    assert brk.cure_reason in brk.summary
    # The cure really is one: its code names none of the removed API and it admits 3.1.4.
    assert (
        assess_dependents(
            "Jinja2", "2.11.3", "3.1.4", [("Flask", brk.cure)], cache_dir=brk_cache, index=pypi
        )
        == ()
    )
    assert admits("Flask", brk.cure, "Jinja2", "3.1.4", brk_cache)[0] is True
    assert ("finish", "breaking-dependents Jinja2 2.11.3→3.1.4") in reporter.calls
    assert ("note", brk.summary) in reporter.calls


def test_declared_requirement_decides_whether_a_release_admits_the_upgrade(
    brk_cache: Path,
) -> None:
    # Flask 1.1.4 capped Jinja2 below 3.0; 1.1.2 declared only a lower bound.
    accepted, spec = admits("Flask", "1.1.4", "jinja2", "3.1.4", brk_cache)
    assert accepted is False
    assert "<3.0" in spec
    accepted, spec = admits("Flask", "1.1.2", "jinja2", "3.1.4", brk_cache)
    assert accepted is True
    assert spec.lower().startswith("jinja2>=2.10.1")
    # A release that does not depend on the package at all admits any version of it.
    assert admits("Flask", "1.1.2", "PyYAML", "6.0", brk_cache) == (True, "")


def test_cure_candidates_are_few_newer_final_releases_ascending(pypi: PackageIndex) -> None:
    releases = pypi.releases(Ecosystem.PYPI, "flask")
    chosen = [Version(v) for v in candidates("1.1.2", releases)]
    assert 1 < len(chosen) <= MAX_CANDIDATES
    assert chosen == sorted(chosen)
    assert all(v > Version("1.1.2") and not v.is_prerelease for v in chosen)
    finals = sorted(
        Version(r.version)
        for r in releases
        if not Version(r.version).is_prerelease and not r.yanked
    )
    assert chosen[-1] == finals[-1]
    # The newest patch of 1.1.x (a possible compatibility fix) comes first, then 2.0's first.
    assert chosen[0] == max(v for v in finals if v.release[:2] == (1, 1))
    assert chosen[1] == min(v for v in finals if v.release[:2] == (2, 0))
    assert candidates(str(finals[-1]), releases) == ()
    assert candidates("not a version", releases) == ()


def test_dependent_that_uses_only_kept_api_does_not_break(
    brk_cache: Path, pypi: PackageIndex
) -> None:
    # jinja2-time's extension imports jinja2.nodes and jinja2.ext.Extension, both still there.
    tree = distributions.fetch("jinja2-time", "0.2.0", brk_cache)
    used = {u.symbol for u in callsites.scan(tree, ("jinja2",)).uses}
    assert "jinja2.ext.Extension" in used
    assert diff("Jinja2", "2.11.3", "3.1.4", brk_cache).breaks
    found = assess_dependents(
        "Jinja2", "2.11.3", "3.1.4", [("jinja2-time", "0.2.0")], cache_dir=brk_cache, index=pypi
    )
    assert found == ()


def test_dependent_that_cannot_be_fetched_is_reported_unknown(
    brk_cache: Path, pypi: PackageIndex
) -> None:
    found = assess_dependents(
        "Jinja2",
        "2.11.3",
        "3.1.4",
        [("Flask", "0.0.0.99"), ("Flask", "not-a-version"), ("jinja2-time", "0.2.0")],
        cache_dir=brk_cache,
        index=pypi,
    )
    assert [(b.dependent, b.version) for b in found] == [
        ("Flask", "0.0.0.99"),
        ("Flask", "not-a-version"),
    ]
    for brk in found:
        assert brk.unknown is not None
        assert brk.unknown.startswith("cannot fetch: Flask")
        assert (brk.sites, brk.cure) == ((), None)
        assert brk.summary.startswith(f"Flask {brk.version}: not checked, cannot fetch")
    assert "not a valid version" in (found[1].unknown or "")


def test_upgrade_that_cannot_be_diffed_leaves_every_dependent_unknown(
    brk_cache: Path, pypi: PackageIndex
) -> None:
    found = assess_dependents(
        "Jinja2", "2.11.3", "0.0.0.99", [("Flask", "1.1.2")], cache_dir=brk_cache, index=pypi
    )
    (brk,) = found
    assert brk.unknown is not None
    assert brk.unknown.startswith("cannot diff Jinja2: Jinja2 0.0.0.99")
