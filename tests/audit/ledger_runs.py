"""A ledger of three `patchpilot run`s of the bundled example, one after the other.

The example (`examples/webapp`) is scanned once against its real OSV records
(`examples/advisories`); each run records what `run` records for it (scan, VEX suppression,
the urllib3 plan, its branch, verification, decision, merge or review) and then a CI `gate` of
the same project, with the engine's builders (`patchpilot.records`) and the real default
policy's `decide`. The plan record follows `plan_record`'s keys by hand, as in ledger_story.py,
because a real plan needs the package index. Finding and remediation IDs are the same in every
run, as they are for one project run day after day:

- run 1 merges the urllib3 fix (level 3) from branch `patchpilot/fix-urllib3-1.26.19`;
- run 2 prepares a branch of the same name again (the first was deleted when merged), whose
  tests do not reach the fix: left for review (level 2). After its gate, a person reverts run
  1's merge and the findings reopen (a later invocation naming run 1's action);
- run 3 merges the fix again (level 3) from `patchpilot/fix-urllib3-1.26.19-2`, the first name
  being taken by run 2's branch.

With `late_approval`, a person approves (merges) run 2's branch after run 3's scan, so run 3
prepares its branch under the first name again: three lives of one branch name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ledger_story import ADVISORIES, EXAMPLE, sha

from patchpilot import __version__
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.audit.ledger import Ledger, LedgerContext, LedgerEvent
from patchpilot.engine import scan
from patchpilot.events import Record
from patchpilot.model import Finding, ScanResult
from patchpilot.policy.decide import decide
from patchpilot.policy.facts import Facts
from patchpilot.policy.load import default_policy
from patchpilot.records import (
    branch_record,
    decide_record,
    deliver_record,
    gate_record,
    merge_record,
    reopen_record,
    revert_record,
    scan_record,
    suppress_record,
    verify_record,
)

PROJECT = str(EXAMPLE)
REMEDIATION = "PyPI:urllib3@1.26.4"
BRANCH = "patchpilot/fix-urllib3-1.26.19"
FINDING = "PYSEC-2023-192"
FIRST_DAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

Add = Callable[[Record, datetime], LedgerEvent]


@dataclass(frozen=True)
class Scanned:
    """The example's real scan, and the digest of the store it was matched against."""

    result: ScanResult
    store_digest: str


@dataclass
class ThreeRuns:
    path: Path
    urllib3: tuple[Finding, ...]
    branches: dict[int, str] = field(default_factory=dict)
    commits: dict[int, str] = field(default_factory=dict)
    actions: dict[int, str] = field(default_factory=dict)
    levels: dict[int, int] = field(default_factory=dict)
    opened: dict[int, datetime] = field(default_factory=dict)
    revert_commit: str = ""
    approval: str | None = None
    events: list[LedgerEvent] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [f.id for f in self.urllib3]


def scan_example(scratch: Path) -> Scanned:
    with AdvisoryStore.open(scratch / "store.sqlite3", create=True) as store:
        store.import_paths([ADVISORIES])
        result = scan(EXAMPLE, store)
        digest = store.digest()
    return Scanned(result, digest)


def _clock(day: datetime) -> Iterator[datetime]:
    when = day
    while True:
        yield when
        when += timedelta(minutes=1)


def _brief(f: Finding) -> dict[str, object]:
    return {
        "id": f.id,
        "aliases": list(f.aliases),
        "package": f.component.name,
        "ecosystem": f.component.ecosystem.value,
        "version": f.component.version,
        "severity": f.severity.level.value,
        "fixed_versions": list(f.fixed_versions),
        "records": dict(f.records),
    }


def _plan(findings: tuple[Finding, ...]) -> Record:
    return Record(
        kind="plan",
        summary="planned override of urllib3 1.26.4 → 1.26.19 (patch, in-place)",
        subjects=(f"remediation:{REMEDIATION}", *(f.id for f in findings)),
        inputs={"findings": [_brief(f) for f in findings]},
        outcome={
            "remediation": REMEDIATION,
            "kind": "override",
            "package": "urllib3",
            "from": "1.26.4",
            "to": "1.26.19",
            "strategy": "in-place",
            "upgrade_level": "patch",
            "reason": "lowest release that fixes every finding of the package",
            "fixed": [f.id for f in findings],
            "left_open": [],
            "breaking": [
                {"package": "urllib3", "from": "1.26.4", "to": "1.26.19", "verdict": "compatible"}
            ],
        },
    )


def _facts(findings: tuple[Finding, ...], *, reached: bool) -> Facts:
    return Facts(
        remediation=REMEDIATION,
        kind="override",
        findings=tuple(f.id for f in findings),
        packages=("urllib3",),
        ecosystem="PyPI",
        severity="high",
        cvss=max((f.severity.score or 0.0) for f in findings) or None,
        epss=None,
        kev=False,
        upgrade_level="patch",
        strategy="in-place",
        reachability="unknown",
        verify_verdict="verified" if reached else "not-reached",
        tests_passed=True,
        reach_share=1.0 if reached else 0.0,
        breaking="compatible",
        release_age_days=400.0,
        codemod_tier=None,
        has_test_command=True,
    )


def build_three_runs(db: Path, scanned: Scanned, *, late_approval: bool = False) -> ThreeRuns:
    result = scanned.result
    urllib3 = tuple(f for f in result.findings if f.component.name == "urllib3")
    suppressed = next(f for f in result.findings if f.component.name == "requests")
    active = [f for f in result.findings if f is not suppressed]
    policy = default_policy()
    context = LedgerContext(__version__, scanned.store_digest, policy.digest)
    runs = ThreeRuns(db, urllib3)
    ids = runs.ids
    with Ledger.open(db, create=True) as ledger:

        def add(record: Record, when: datetime) -> LedgerEvent:
            ev = ledger.append(record, context, at=when)
            runs.events.append(ev)
            return ev

        for n in (1, 2, 3):
            clock = _clock(FIRST_DAY + timedelta(days=n - 1))
            runs.opened[n] = FIRST_DAY + timedelta(days=n - 1)
            branch = BRANCH if n < 3 or late_approval else f"{BRANCH}-2"
            commit, base = sha(f"run {n}: fix urllib3"), sha(f"run {n}: base")
            runs.branches[n], runs.commits[n] = branch, commit
            reached = n != 2
            add(scan_record(result, PROJECT, scanned.store_digest), next(clock))
            add(
                suppress_record(
                    suppressed,
                    "vex",
                    "examples/webapp/vex.json",
                    "vulnerable_code_not_in_execute_path",
                ),
                next(clock),
            )
            if n == 3 and late_approval:
                runs.approval = _approve(add, runs, next(clock))
            add(_plan(urllib3), next(clock))
            add(branch_record(branch, commit, [REMEDIATION], ids, ["uv.lock"], base), next(clock))
            tests = {"passed": 9, "failed": 0, "error": 0}
            add(
                verify_record(
                    branch,
                    [REMEDIATION],
                    ids,
                    verdict="verified" if reached else "not-reached",
                    summary="9 tests pass before and after"
                    + ("; they execute the fixed code" if reached else ", none reaches the fix"),
                    tests_before=tests,
                    tests_after=tests,
                    reach_share=1.0 if reached else 0.0,
                    evidence={"targets": ["urllib3.response"], "executed": reached},
                ),
                next(clock),
            )
            facts = _facts(urllib3, reached=reached)
            decision = decide(facts, policy)
            runs.levels[n] = decision.level
            add(
                decide_record(branch, [REMEDIATION], ids, facts, decision, policy.digest),
                next(clock),
            )
            if decision.level >= 3:
                action = "act-" + sha(f"run {n}: action")[:10]
                runs.actions[n] = action
                add(
                    merge_record(
                        action,
                        branch,
                        [REMEDIATION],
                        ids,
                        target="main",
                        merge_commit=sha(f"run {n}: merge"),
                        previous_tip=base,
                        branch_commit=commit,
                    ),
                    next(clock),
                )
            else:
                how = f"left for review as branch {branch}"
                add(deliver_record(branch, [REMEDIATION], ids, decision.level, how), next(clock))
            add(gate_record(PROJECT, active, 1), next(clock))
            if n == 2:
                runs.revert_commit = sha("revert run 1")
                add(
                    revert_record(
                        runs.actions[1],
                        ids,
                        target="main",
                        merge_commit=sha("run 1: merge"),
                        revert_commit=runs.revert_commit,
                        reason="canary error rate up after run 1's merge",
                        actor="alice",
                    ),
                    next(clock),
                )
                add(
                    reopen_record(
                        runs.actions[1], ids, "the merge that fixed them was reverted", "alice"
                    ),
                    next(clock),
                )
    return runs


def _approve(add: Add, runs: ThreeRuns, when: datetime) -> str:
    """A person merges run 2's branch, left for review, once run 3 has begun."""
    action = "act-" + hashlib.sha1(b"approval").hexdigest()[:10]  # noqa: S324 — an identifier
    record = merge_record(
        action,
        runs.branches[2],
        [REMEDIATION],
        runs.ids,
        target="main",
        merge_commit=sha("approved merge"),
        previous_tip=sha("run 3: base"),
        branch_commit=runs.commits[2],
        actor="bob",
        reason="read the changelog; urllib3 patch releases are safe",
    )
    add(record, when)
    return action
