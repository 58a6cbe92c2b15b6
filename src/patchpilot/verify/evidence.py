"""`patchpilot verify`: the evidence that a fix branch works and that its tests prove it.

Both sides (the base commit and the fix branch) are checked out in temporary worktrees, each
gets its own virtualenv built by uv, and the project's own test command runs on both in
isolated, scrubbed subprocesses. The fix side runs with the reach tracer watching the target
functions of every upgraded package: the functions the advisories name, else the functions
that differ between the two installed versions. Static evidence (imports and references in the
project's code) and a re-scan of what is really installed complete the picture, and a verdict
sums it up:

- `regression`: a test fails only after the fix;
- `verified`: tests pass on the fix side and at least one of them executes a target;
- `not-reached`: tests pass, but none executes a target, so they prove nothing about the fix;
- `still-vulnerable`: the fix environment still installs a version a fixed finding affects;
- `no-tests`: the test command ran no test.
Nothing from the fix branch ever runs in patchpilot's own process.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from patchpilot.advisories.matching import findings_for
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.deliver.git import merge_base, repo_root, resolve_commit
from patchpilot.errors import VerifyError
from patchpilot.events import Reporter
from patchpilot.fixers.changeset import PackageDelta
from patchpilot.fixers.deltas import package_deltas
from patchpilot.model import (
    Component,
    Ecosystem,
    Finding,
    Location,
    NormalizedName,
    Scope,
    make_purl,
    normalize_name,
)
from patchpilot.planning.breaking.verdict import Verdict
from patchpilot.sources.discover import collect
from patchpilot.verify.envs import Env, build_env
from patchpilot.verify.reach import ReachEvidence, reach_env, read_reach
from patchpilot.verify.rescan import InstalledScan, scan_installed
from patchpilot.verify.results import SideResult, TestComparison, compare_sides
from patchpilot.verify.runner import checkout_at, measure_side
from patchpilot.verify.static import StaticEvidence, import_names, scan_project
from patchpilot.verify.targets import Target, advisory_targets, diff_targets
from patchpilot.verify.testcmd import Kind, detect_test_command, read_config


@dataclass(frozen=True, slots=True)
class PackageEvidence:
    """One upgraded package: the findings the upgrade fixes, its targets and static uses."""

    delta: PackageDelta
    fixed: tuple[str, ...]
    targets: tuple[Target, ...]
    target_source: str  # advisory, ast-diff or none
    static: StaticEvidence | None
    breaking: Verdict | None = None
    breaking_status: str = ""  # confirmed, not-exercised or "" (no predicted break)
    confirmed_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Evidence:
    repo: str
    base: SideResult
    fix: SideResult
    branch: str
    comparison: TestComparison
    packages: tuple[PackageEvidence, ...]
    reach: ReachEvidence | None
    installed: InstalledScan
    still_vulnerable: tuple[str, ...]
    verdict: str
    summary: str
    seconds: float
    notes: tuple[str, ...] = ()


def _site_packages(env: Env) -> Path:
    found = sorted(env.root.glob("lib/python*/site-packages"))
    if not found:
        raise VerifyError(f"{env.root}: no site-packages in the environment")
    return found[0]


def _findings(
    ecosystem: Ecosystem, name: NormalizedName, version: str, store: AdvisoryStore
) -> list[Finding]:
    comp = Component(
        ecosystem=ecosystem,
        name=name,
        version=version,
        purl=make_purl(ecosystem, name, version),
        direct=False,
        scope=Scope.RUNTIME,
        locations=(Location(path="-"),),
    )
    return findings_for(comp, store.lookup(ecosystem, comp.name))


def _targets_for(
    delta: PackageDelta, store: AdvisoryStore, old_site: Path, new_site: Path
) -> tuple[tuple[Target, ...], str, tuple[str, ...]]:
    """Targets of one upgrade, the most precise kind available, and the findings it fixes."""
    name = normalize_name(delta.ecosystem, delta.name)
    before = _findings(delta.ecosystem, name, delta.before or "", store)
    after = _findings(delta.ecosystem, name, delta.after or "", store)
    after_ids = {i for f in after for i in (f.id, *f.aliases)}
    fixed = [f for f in before if not ({f.id, *f.aliases} & after_ids)]
    named: list[Target] = []
    for advisory in store.lookup(delta.ecosystem, name):
        if any(rid == advisory.id for f in fixed for rid, _ in f.records):
            named.extend(advisory_targets(advisory, delta.name, new_site))
    if named:
        unique = {t.id: t for t in named}
        return tuple(unique.values()), "advisory", tuple(f.id for f in fixed)
    names = import_names(new_site, delta.name)
    changed = diff_targets(old_site, new_site, names)
    return changed, "ast-diff" if changed else "none", tuple(f.id for f in fixed)


def verify_branch(  # noqa: PLR0915 - one linear story: checkouts, envs, targets, runs
    path: Path,
    branch: str,
    store: AdvisoryStore,
    *,
    base: str | None = None,
    timeout: float | None = None,
    cache_dir: Path | None = None,
    reporter: Reporter | None = None,
) -> Evidence:
    """Run the project's tests on `base` (default: the merge base with HEAD) and on `branch`."""
    reporter = reporter or Reporter()
    started = time.monotonic()
    repo = repo_root(path)
    sub = path.resolve().relative_to(repo)
    branch_commit = resolve_commit(repo, branch)
    base_rev = base or _merge_base(repo, branch_commit)
    notes: list[str] = []
    with (
        checkout_at(repo, base_rev) as (base_root, base_commit),
        checkout_at(repo, branch_commit) as (fix_root, fix_commit),
        tempfile.TemporaryDirectory(prefix="patchpilot-verify-") as tmp,
    ):
        base_dir, fix_dir = base_root / sub, fix_root / sub
        base_cfg, fix_cfg = read_config(base_dir), read_config(fix_dir)
        base_cmd = detect_test_command(base_dir, base_cfg)
        fix_cmd = detect_test_command(fix_dir, fix_cfg)
        env_b = build_env(base_dir, cache_dir=cache_dir, need_pytest=base_cmd.kind is Kind.PYTEST,
                          reporter=reporter)  # fmt: skip
        env_a: Env | None = None
        try:
            env_a = build_env(fix_dir, cache_dir=cache_dir, need_pytest=fix_cmd.kind is Kind.PYTEST,
                              reporter=reporter)  # fmt: skip
            deltas = [
                d
                for d in package_deltas(collect(base_dir), collect(fix_dir))
                if d.before and d.after and d.ecosystem is Ecosystem.PYPI
            ]
            old_site, new_site = _site_packages(env_b), _site_packages(env_a)
            packages: list[PackageEvidence] = []
            all_targets: list[Target] = []
            for delta in deltas:
                targets, source, fixed = _targets_for(delta, store, old_site, new_site)
                if not fixed:
                    continue  # moved along by the resolution; it fixes nothing
                names = import_names(new_site, delta.name)
                static = scan_project(fix_dir, delta.name, names, targets) if names else None
                predicted = _predicted_break(fix_dir, delta, cache_dir, reporter)
                packages.append(PackageEvidence(delta, fixed, targets, source, static, predicted))
                all_targets.extend(targets)
            t0 = time.monotonic()
            before = measure_side(env_b, base_cmd, base_dir, rev=base_rev, commit=base_commit,
                                  started=t0, timeout=timeout or base_cfg.timeout,
                                  reporter=reporter)  # fmt: skip
            reach: ReachEvidence | None = None
            extra: dict[str, str] | None = None
            out = Path(tmp) / "reach.json"
            if all_targets and fix_cmd.kind is Kind.PYTEST:
                extra = reach_env(all_targets, out)
            elif all_targets:
                notes.append("test-reach tracing needs pytest; this project's tests run otherwise")
            t1 = time.monotonic()
            after = measure_side(env_a, fix_cmd, fix_dir, rev=branch, commit=fix_commit,
                                 started=t1, timeout=timeout or fix_cfg.timeout,
                                 reporter=reporter, extra_env=extra)  # fmt: skip
            if extra is not None:
                reach = read_reach(out, all_targets)
            installed = scan_installed(env_a, store)
        finally:
            shutil.rmtree(env_b.root, ignore_errors=True)
            if env_a is not None:
                shutil.rmtree(env_a.root, ignore_errors=True)
    comparison = compare_sides(before, after)
    packages = [_tie(p, comparison, after) for p in packages]
    fixed_ids = {i for p in packages for i in p.fixed}
    still = tuple(sorted(f.id for f in installed.findings if ({f.id, *f.aliases} & fixed_ids)))
    verdict, summary = _verdict(comparison, reach, still, packages)
    return Evidence(
        repo=str(repo),
        base=before,
        fix=after,
        branch=branch,
        comparison=comparison,
        packages=tuple(packages),
        reach=reach,
        installed=installed,
        still_vulnerable=still,
        verdict=verdict,
        summary=summary,
        seconds=time.monotonic() - started,
        notes=tuple(notes),
    )


def _predicted_break(
    project: Path, delta: PackageDelta, cache_dir: Path | None, reporter: Reporter
) -> Verdict | None:
    """The breaking-change prediction for this upgrade, to hold against the test results."""
    from platformdirs import user_cache_dir

    from patchpilot.planning.breaking.verdict import assess

    cache = (cache_dir or Path(user_cache_dir("patchpilot"))) / "breaking"
    return assess(project, delta.name, delta.before or "", delta.after or "", cache_dir=cache,
                  reporter=reporter)  # fmt: skip


def _tie(p: PackageEvidence, comparison: TestComparison, after: SideResult) -> PackageEvidence:
    """A predicted break is confirmed by the regressions, or was not exercised by the tests.

    Regressions are matched to a prediction when the predicted site's file appears in the
    failing test's message or id; a predicted break with no regression means no test ran the
    broken use (the tests pass on the fix branch).
    """
    v = p.breaking
    if v is None or not v.sites:
        return p
    failing = {r.id: r.message for r in after.results if r.id in comparison.regressions}
    files = {site.path for site in v.sites}
    confirmed = tuple(
        sorted(
            test
            for test, message in failing.items()
            if any(f in message or Path(f).stem in test for f in files)
        )
        or sorted(failing)
    )
    return dataclasses.replace(
        p, breaking_status="confirmed" if confirmed else "not-exercised", confirmed_by=confirmed
    )


def _merge_base(repo: Path, commit: str) -> str:
    base = merge_base(repo, "HEAD", commit)
    if base is None:
        raise VerifyError(f"{repo}: no common ancestor of HEAD and {commit[:12]}")
    if base == commit:
        raise VerifyError(
            f"{repo}: the branch is HEAD itself or behind it; name the base with --base"
        )
    return base


def _verdict(
    comparison: TestComparison,
    reach: ReachEvidence | None,
    still: Sequence[str],
    packages: Sequence[PackageEvidence],
) -> tuple[str, str]:
    tests = comparison.summary()
    if comparison.regressions:
        return "regression", f"{tests}; verdict: regression"
    if still:
        return "still-vulnerable", (
            f"{tests}; the fix environment still installs versions affected by "
            f"{', '.join(still)}; verdict: still-vulnerable"
        )
    if comparison.after.total == 0:
        return "no-tests", f"{tests}; verdict: no-tests"
    if reach is not None and reach.executed:
        return "verified", f"{tests}; {reach.summary()}; verdict: verified"
    why = (
        reach.summary()
        if reach is not None
        else (
            "no target functions could be traced"
            if packages
            else "no upgraded package fixes a finding"
        )
    )
    return "not-reached", f"{tests}; {why}; verdict: not-reached"
