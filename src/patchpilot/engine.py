"""The one place that strings the steps together: inventory, matching, planning, fixing.

The CLI (and later the web app and workers) call these functions and only render what they
return. Each step takes immutable values and returns new ones; progress goes to the injected
`Reporter`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from patchpilot.advisories.matching import findings_for
from patchpilot.advisories.store import AdvisoryStore
from patchpilot.errors import StoreError
from patchpilot.events import Reporter
from patchpilot.model import Finding, Inventory, ScanResult, finding_order
from patchpilot.sources.discover import collect

if TYPE_CHECKING:
    from patchpilot.deliver.fix import FixResult
    from patchpilot.planning.plan import Plan, PlanOptions


def match(
    inventory: Inventory, store: AdvisoryStore, reporter: Reporter | None = None
) -> tuple[Finding, ...]:
    """Every finding for the inventory's components, one per vulnerability and component."""
    reporter = reporter or Reporter()
    if store.is_empty():
        raise StoreError(
            f"advisory store {store.path} is empty: run `patchpilot db import PATH` "
            "or `patchpilot db update` first"
        )
    components = inventory.components
    reporter.start("match", total=len(components))
    by_key = store.lookup_many({(c.ecosystem, c.name) for c in components})
    findings: list[Finding] = []
    for comp in components:
        advisories = by_key.get((comp.ecosystem, comp.name), ())
        if advisories:
            findings.extend(findings_for(comp, advisories))
        reporter.advance("match")
    reporter.finish("match")
    return tuple(sorted(findings, key=finding_order))


def scan(root: Path, store: AdvisoryStore, reporter: Reporter | None = None) -> ScanResult:
    """Inventory `root` and match it against the store."""
    inventory = collect(root, reporter)
    findings = match(inventory, store, reporter)
    return ScanResult(inventory=inventory, findings=findings, store=str(store.path))


def plan(
    root: Path, store: AdvisoryStore, options: PlanOptions, reporter: Reporter | None = None
) -> Plan:
    """Scan `root`, then choose and try a remediation for every vulnerable component."""
    from patchpilot.planning.plan import build_plan

    return build_plan(scan(root, store, reporter), store, options, reporter)


def fix(
    root: Path,
    store: AdvisoryStore,
    options: PlanOptions,
    *,
    group: str = "project",
    dry_run: bool = False,
    reporter: Reporter | None = None,
) -> FixResult:
    """Plan on a clean worktree of HEAD and prepare one branch per group (or diffs only)."""
    from patchpilot.deliver.fix import fix_branches

    def make_plan(project: Path) -> Plan:
        return plan(project, store, options, reporter)

    return fix_branches(root, make_plan, store, group=group, dry_run=dry_run, reporter=reporter)
