"""`patchpilot run`, `gate` and `revert`: the autonomy loop, the CI gate and the undo.

Each opens the advisory store and the ledger in the same SQLite file, subscribes the ledger to
the engine's records (next to the progress display) and renders what the engine returns.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from patchpilot import __version__
from patchpilot.cli.main import choose_format, emit, store_path
from patchpilot.cli.scan import reporter_for
from patchpilot.errors import ExitCode, LedgerError, UsageError
from patchpilot.events import Fanout, Reporter

if TYPE_CHECKING:
    from patchpilot.advisories.store import AdvisoryStore
    from patchpilot.audit.ledger import Ledger
    from patchpilot.deliver.forge import Forge
    from patchpilot.policy.model import Policy


@contextlib.contextmanager
def ledger_reporter(
    store: AdvisoryStore, policy: Policy | None, fmt: str, args: argparse.Namespace
) -> Iterator[tuple[Reporter, Ledger]]:
    """The progress reporter and the ledger (same file as the store), both listening."""
    from patchpilot.audit.ledger import Ledger, LedgerContext, LedgerReporter

    ledger = Ledger.open(store.path, create=True)
    try:
        context = LedgerContext(
            patchpilot_version=__version__,
            store_digest=store.digest(),
            policy_digest=policy.digest if policy is not None else None,
        )
        with reporter_for(fmt, args) as progress:
            yield Fanout([progress, LedgerReporter(ledger, context)]), ledger
    finally:
        ledger.close()


def _policy(args: argparse.Namespace, root: Path) -> Policy:
    from patchpilot.policy.load import load_policy

    return load_policy(root, getattr(args, "policy", None))


def run_time() -> datetime:
    # `PATCHPILOT_NOW` pins "today" (ignore expiry, release age) for reproducible runs.
    pinned = os.environ.get("PATCHPILOT_NOW")
    if not pinned:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(pinned)
    except ValueError as e:
        raise UsageError(f"PATCHPILOT_NOW: not an ISO date or time: {pinned!r}") from e
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def run_run(args: argparse.Namespace) -> ExitCode:
    from patchpilot import engine
    from patchpilot.advisories.store import AdvisoryStore
    from patchpilot.cli.fix import plan_options
    from patchpilot.formats.run_out import render_run

    fmt = choose_format(args.format)
    if fmt not in ("table", "json"):
        fmt = "table"
    if args.max_level is not None and not 1 <= args.max_level <= 3:
        raise UsageError(f"--max-level: expected 1, 2 or 3, got {args.max_level}")
    root = args.path.resolve()
    policy = _policy(args, root)
    options = engine.RunOptions(
        plan=plan_options(args),
        now=run_time(),
        max_level=args.max_level,
        target=args.target,
        vex=tuple(args.vex or ()),
        timeout=args.timeout,
        forge=forge_from(args.forge),
        codefix=args.codefix,
    )
    with (
        AdvisoryStore.open(store_path(args), create=False) as store,
        ledger_reporter(store, policy, fmt, args) as (reporter, _ledger),
    ):
        result = engine.run(root, store, policy, options, reporter)
    emit(render_run(result, fmt), args.output)
    if args.vex_out is not None:
        from patchpilot.formats.run_out import run_vex

        emit(run_vex(result, mitigations=policy.mitigations), args.vex_out)
    return ExitCode.OK


def run_gate(args: argparse.Namespace) -> ExitCode:
    from patchpilot import engine
    from patchpilot.advisories.store import AdvisoryStore
    from patchpilot.formats.run_out import render_gate

    fmt = args.format or ("table" if args.output is None and os.isatty(1) else "json")
    root = args.path.resolve()
    policy = _policy(args, root)
    with (
        AdvisoryStore.open(store_path(args), create=False) as store,
        ledger_reporter(store, policy, fmt, args) as (reporter, _ledger),
    ):
        outcome = engine.gate(
            root,
            store,
            policy,
            vex=tuple(args.vex or ()),
            today=run_time().date(),
            reporter=reporter,
        )
    emit(render_gate(outcome, fmt), args.output)
    return ExitCode.FINDINGS if outcome.violations else ExitCode.OK


def run_revert(args: argparse.Namespace) -> ExitCode:
    from patchpilot import engine
    from patchpilot.advisories.store import AdvisoryStore
    from patchpilot.deliver.git import repo_root

    fmt = choose_format(args.format)
    action = args.action.removeprefix("action:")
    actor = args.actor or _user()
    with (
        AdvisoryStore.open(store_path(args), create=False) as store,
        ledger_reporter(store, None, fmt, args) as (reporter, ledger),
    ):
        about = ledger.events_about([f"action:{action}"], kinds=["merge", "revert"])
        merge = next((ev for ev in about if ev.kind == "merge"), None)
        if merge is None:
            raise LedgerError(f"no merge action {action} in the ledger at {ledger.where}")
        done = [ev for ev in about if ev.kind == "revert"]
        if done:
            raise LedgerError(
                f"action {action} was already reverted ({done[-1].event_id}, "
                f"commit {str(done[-1].outcome.get('revert_commit', ''))[:12]})"
            )
        out = merge.outcome
        result = engine.revert(
            repo_root(args.path),
            action,
            target=str(out["target"]),
            merge_commit=str(out["merge_commit"]),
            finding_ids=[str(f) for f in out.get("findings", ())],
            reason=args.reason,
            actor=actor,
            reporter=reporter,
        )
    if fmt == "json":
        import json

        emit(
            json.dumps(
                {
                    "schema": "patchpilot.revert/1",
                    "action": result.action,
                    "target": result.target,
                    "merge_commit": result.merge_commit,
                    "revert_commit": result.revert_commit,
                    "reopened": list(result.reopened),
                },
                indent=2,
            )
            + "\n",
            args.output,
        )
    else:
        emit(
            f"reverted {result.action}: merge {result.merge_commit[:12]} undone on "
            f"{result.target} by {result.revert_commit[:12]}\n"
            f"reopened: {', '.join(result.reopened) or 'nothing'}\n",
            args.output,
        )
    return ExitCode.OK


def run_approve(args: argparse.Namespace) -> ExitCode:
    from patchpilot import engine
    from patchpilot.advisories.store import AdvisoryStore
    from patchpilot.deliver.git import repo_root

    fmt = choose_format(args.format)
    branch = args.branch.removeprefix("branch:")
    actor = args.actor or _user()
    root = repo_root(args.path)
    with (
        AdvisoryStore.open(store_path(args), create=False) as store,
        ledger_reporter(store, None, fmt, args) as (reporter, ledger),
    ):
        made = ledger.events_about([f"branch:{branch}"], kinds=["branch"])
        if not made:
            raise LedgerError(
                f"no branch {branch} in the ledger at {ledger.where}: only branches patchpilot "
                "made can be approved"
            )
        subjects = made[-1].subjects
        remediations = [
            s.removeprefix("remediation:") for s in subjects if s.startswith("remediation:")
        ]
        findings = [s for s in subjects if ":" not in s]
        done = engine.approve(
            root,
            branch,
            remediation_ids=remediations,
            finding_ids=findings,
            actor=actor,
            reason=args.reason,
            target=args.target,
            reporter=reporter,
        )
    if fmt == "json":
        import json

        emit(
            json.dumps(
                {
                    "schema": "patchpilot.approve/1",
                    "action": done.action,
                    "branch": done.branch,
                    "target": done.target,
                    "merge_commit": done.merge_commit,
                    "findings": list(done.findings),
                    "approved_by": actor,
                    "undo": f"patchpilot revert {done.action}",
                },
                indent=2,
            )
            + "\n",
            None,
        )
    else:
        emit(
            f"merged {done.branch} into {done.target} as {done.merge_commit[:12]}, approved by "
            f"{actor} (action {done.action}; undo: patchpilot revert {done.action})\n",
            None,
        )
    return ExitCode.OK


def forge_from(name: str) -> Forge | None:
    """The forge `run` opens and merges changes through; settings come from the environment,
    as CI systems provide them (GitHub Actions: GITHUB_REPOSITORY, GITHUB_API_URL; GitLab CI:
    CI_PROJECT_ID, CI_API_V4_URL) plus a token (GITHUB_TOKEN / GITLAB_TOKEN)."""
    from patchpilot.deliver.forge import GitHubForge, GitLabForge

    env = os.environ
    remote = env.get("PATCHPILOT_REMOTE", "origin")
    if name == "local":
        return None
    if name == "github":
        repository = env.get("GITHUB_REPOSITORY", "")
        owner, _, repo = repository.partition("/")
        token = env.get("GITHUB_TOKEN", "")
        if not owner or not repo or not token:
            raise UsageError("--forge github needs GITHUB_REPOSITORY=owner/repo and GITHUB_TOKEN")
        api = env.get("GITHUB_API_URL", "https://api.github.com")
        return GitHubForge(api, owner, repo, token, remote=remote)
    project = env.get("CI_PROJECT_ID", "")
    token = env.get("GITLAB_TOKEN", "")
    if not project or not token:
        raise UsageError("--forge gitlab needs CI_PROJECT_ID and GITLAB_TOKEN")
    api = env.get("CI_API_V4_URL", "https://gitlab.com/api/v4")
    return GitLabForge(api, project, token, remote=remote)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
