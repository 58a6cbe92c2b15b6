"""A realistic ledger for the audit tests.

The bundled example (`examples/webapp`) is scanned against its real OSV records
(`examples/advisories`) in a fresh advisory store, and the ledger is kept in the same SQLite
file. The scan record and the branch, verify, merge, revert, reopen and suppress records come
from the engine's own builders (`patchpilot.records`); the plan and decide records follow the
same builders' keys by hand, with a real `policy.facts.Facts`, because building a real plan
needs the package index. One pyyaml fix goes all the way (merged at level 3, reverted by a
person, finding reopened); one jinja2 fix stops at level 2; one requests finding is suppressed
by a VEX statement.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from patchpilot import __version__
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.audit.ledger import Ledger, LedgerContext, LedgerReporter
from patchpilot.engine import scan
from patchpilot.events import Record
from patchpilot.model import Finding
from patchpilot.policy.facts import Facts
from patchpilot.records import (
    branch_record,
    deliver_record,
    merge_record,
    reopen_record,
    revert_record,
    scan_record,
    suppress_record,
    verify_record,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "webapp"
ADVISORIES = REPO / "examples" / "advisories"
DEFAULT_POLICY = REPO / "src" / "patchpilot" / "policy" / "default.toml"


@dataclass(frozen=True)
class StoryLedger:
    path: Path
    findings: tuple[Finding, ...]
    pyyaml: Finding
    jinja: tuple[Finding, ...]
    suppressed: Finding
    remediation: str
    branch: str
    branch_commit: str
    base_commit: str
    merge_commit: str
    previous_tip: str
    revert_commit: str
    action: str
    jinja_branch: str
    store_digest: str
    policy_digest: str


def sha(text: str) -> str:
    """A commit-like id (40 hex digits) for a named commit of the story."""
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 — an identifier, not security


def build_story(db: Path) -> StoryLedger:
    with AdvisoryStore.open(db, create=True) as store:
        store.import_paths([ADVISORIES])
        result = scan(EXAMPLE, store)
        store_digest = store.digest()
    findings = result.findings
    pyyaml = next(f for f in findings if f.component.name == "pyyaml")
    jinja = tuple(f for f in findings if f.component.name == "jinja2")
    suppressed = next(f for f in findings if f.component.name == "requests")
    policy_digest = "sha256:" + hashlib.sha256(DEFAULT_POLICY.read_bytes()).hexdigest()
    story = StoryLedger(
        path=db,
        findings=findings,
        pyyaml=pyyaml,
        jinja=jinja,
        suppressed=suppressed,
        remediation="rem-pyyaml-5.4",
        branch="patchpilot/pyyaml-5.4",
        branch_commit=sha("fix pyyaml"),
        base_commit=sha("base"),
        merge_commit=sha("merge pyyaml"),
        previous_tip=sha("main before merge"),
        revert_commit=sha("revert pyyaml"),
        action="act-3f9a1c2b7d",
        jinja_branch="patchpilot/jinja2-3.1.4",
        store_digest=store_digest,
        policy_digest=policy_digest,
    )
    with Ledger.open(db, create=True) as ledger:
        reporter = LedgerReporter(ledger, LedgerContext(__version__, store_digest, None))
        reporter.record(scan_record(result, str(EXAMPLE), store_digest))
        reporter.context = LedgerContext(__version__, store_digest, policy_digest)
        reporter.record(
            suppress_record(
                suppressed, "vex", "examples/webapp/vex.json", "vulnerable_code_not_in_execute_path"
            )
        )
        _pyyaml_story(reporter, story)
        _jinja_story(reporter, story)
        _after_the_fact(story, ledger)
    return story


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


def _facts(story: StoryLedger, finding: Finding, *, verdict: str, share: float) -> Facts:
    return Facts(
        remediation=story.remediation,
        kind="upgrade",
        findings=(finding.id,),
        packages=(finding.component.name,),
        ecosystem="PyPI",
        severity=finding.severity.level.value,
        cvss=finding.severity.score,
        epss=None,
        kev=False,
        upgrade_level="minor",
        strategy="in-place",
        reachability="reachable",
        verify_verdict=verdict,
        tests_passed=True,
        reach_share=share,
        breaking="compatible",
        release_age_days=1200.0,
        codemod_tier=None,
        has_test_command=True,
    )


def _pyyaml_story(reporter: LedgerReporter, s: StoryLedger) -> None:
    f = s.pyyaml
    reporter.record(
        Record(
            kind="plan",
            summary=f"planned upgrade of pyyaml {f.component.version} → 5.4 (minor, in-place)",
            subjects=(f"remediation:{s.remediation}", f.id),
            inputs={"findings": [_brief(f)]},
            outcome={
                "remediation": s.remediation,
                "kind": "upgrade",
                "package": "pyyaml",
                "from": f.component.version,
                "to": "5.4",
                "strategy": "in-place",
                "upgrade_level": "minor",
                "reason": "lowest release that fixes every finding in pyyaml",
                "fixed": [f.id],
                "left_open": [],
                "breaking": [
                    {"package": "pyyaml", "from": "5.3.1", "to": "5.4", "verdict": "compatible"}
                ],
            },
        )
    )
    reporter.record(
        branch_record(
            s.branch,
            s.branch_commit,
            [s.remediation],
            [f.id],
            ["uv.lock", "pyproject.toml"],
            s.base_commit,
        )
    )
    reporter.record(
        verify_record(
            s.branch,
            [s.remediation],
            [f.id],
            verdict="verified",
            summary="12 tests pass before and after; they execute yaml.load",
            tests_before={"passed": 12, "failed": 0, "error": 0},
            tests_after={"passed": 12, "failed": 0, "error": 0},
            reach_share=1.0,
            evidence={"targets": ["yaml.constructor.FullConstructor"], "executed": True},
        )
    )
    facts = _facts(s, f, verdict="verified", share=1.0)
    reporter.record(
        Record(
            kind="decide",
            summary=f"level 3 for {s.branch} by rule 'verified-reached'",
            subjects=(f"remediation:{s.remediation}", f"branch:{s.branch}", f.id),
            inputs={"facts": facts.as_dict(), "policy_digest": s.policy_digest},
            outcome={
                "level": 3,
                "rule": "verified-reached",
                "reasons": [
                    "tests passed on the fix branch",
                    "passing tests executed 100% of the vulnerable functions",
                ],
                "tier": "internal",
                "capped_by": None,
            },
        )
    )
    reporter.record(
        merge_record(
            s.action,
            s.branch,
            [s.remediation],
            [f.id],
            target="main",
            merge_commit=s.merge_commit,
            previous_tip=s.previous_tip,
            branch_commit=s.branch_commit,
        )
    )


def _jinja_story(reporter: LedgerReporter, s: StoryLedger) -> None:
    ids = [f.id for f in s.jinja]
    remediation = "rem-jinja2-3.1.4"
    reporter.record(
        branch_record(
            s.jinja_branch, sha("fix jinja2"), [remediation], ids, ["uv.lock"], s.base_commit
        )
    )
    reporter.record(
        verify_record(
            s.jinja_branch,
            [remediation],
            ids,
            verdict="not-reached",
            summary="tests pass but never call the patched functions",
            tests_before={"passed": 12, "failed": 0, "error": 0},
            tests_after={"passed": 12, "failed": 0, "error": 0},
            reach_share=0.0,
            evidence={"targets": ["jinja2.filters.do_xmlattr"], "executed": False},
        )
    )
    reporter.record(
        deliver_record(s.jinja_branch, [remediation], ids, 2, "left for review with its PR body")
    )


def _after_the_fact(s: StoryLedger, ledger: Ledger) -> None:
    """A person reverts the merge later; the run's context is the same store and policy."""
    context = LedgerContext(__version__, s.store_digest, s.policy_digest)
    ledger.append(
        revert_record(
            s.action,
            [s.pyyaml.id],
            target="main",
            merge_commit=s.merge_commit,
            revert_commit=s.revert_commit,
            reason="staging smoke test failed after the upgrade",
            actor="alice",
        ),
        context,
    )
    ledger.append(
        reopen_record(s.action, [s.pyyaml.id], "the merge that fixed it was reverted", "alice"),
        context,
    )
