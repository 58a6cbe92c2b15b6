"""Entry point of the `patchpilot` command: options in, engine call, rendered result out.

Settings come from the command line, then the environment (`PATCHPILOT_DB`), then defaults.
Every handler returns an `ExitCode`; `main` turns `PatchpilotError` into its one-line message
and exit status, and anything unexpected into exit 3 with a short note (the traceback only with
`PATCHPILOT_DEBUG=1`). Heavy modules are imported inside the handlers to keep start-up fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from patchpilot import __version__
from patchpilot.errors import ExitCode, OutputError, PatchpilotError, UsageError
from patchpilot.formats import SCAN_FORMATS

FAIL_ON = ("any", "low", "medium", "high", "critical")

EPILOG = """\
exit status: 0 nothing at or above the --fail-on threshold, 1 findings,
2 usage or input error (the message names the file and the place), 3 internal error.
"""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        type=Path,
        default=argparse.SUPPRESS,
        help="advisory store (SQLite file); default: $PATCHPILOT_DB, else the user data dir",
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress output"
    )
    parser = argparse.ArgumentParser(
        prog="patchpilot",
        description="Progressive autonomous vulnerability remediation.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"patchpilot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    scan = sub.add_parser(
        "scan",
        parents=[common],
        help="scan a project's dependencies against the advisory store",
        description=(
            "Scan manifests, lockfiles and SBOMs under PATH against the advisory store. "
            "Reads requirements files, pyproject.toml, uv.lock, poetry.lock, Pipfile.lock, "
            "pylock.toml, package-lock.json, Cargo.lock, go.mod, CycloneDX and SPDX JSON."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scan.add_argument("path", type=Path, nargs="?", default=Path(), help="project dir or file")
    scan.add_argument(
        "--format",
        "-f",
        choices=SCAN_FORMATS,
        default=None,
        help="output format (default: table on a terminal, json otherwise)",
    )
    scan.add_argument("--output", "-o", type=Path, help="write the report to FILE")
    scan.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="any",
        help="lowest severity that makes the exit status 1 (unrated findings always count)",
    )

    planning = argparse.ArgumentParser(add_help=False)
    planning.add_argument("path", type=Path, nargs="?", default=Path(), help="project directory")
    planning.add_argument("--format", "-f", choices=("table", "json", "markdown"), default=None)
    planning.add_argument("--output", "-o", type=Path, help="write the report to FILE")
    planning.add_argument(
        "--upgrade-config",
        action="append",
        metavar="[PKG:]LEVEL",
        help="highest upgrade allowed: major, minor, patch or none, globally or per package "
        "(repeatable; default major)",
    )
    planning.add_argument(
        "--min-release-age",
        type=int,
        metavar="DAYS",
        help="refuse versions released fewer than DAYS days ago (supply-chain cooldown)",
    )
    planning.add_argument(
        "--offline", action="store_true", help="use only the cached package index listings"
    )
    planning.add_argument(
        "--no-breaking-check",
        dest="breaking_check",
        action="store_false",
        help="skip the API diff of each upgrade against the project's call sites",
    )
    sub.add_parser(
        "plan",
        parents=[common, planning],
        help="choose a remediation for every finding, tried with the real resolver",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fix = sub.add_parser(
        "fix",
        parents=[common, planning],
        help="prepare the plan's fixes as git branches (in a separate worktree)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fix.add_argument("--dry-run", action="store_true", help="show the plan and diffs only")
    fix.add_argument(
        "--group",
        choices=("project", "package"),
        default="project",
        help="one branch for the project (default) or one per remediation",
    )

    verify = sub.add_parser(
        "verify",
        parents=[common],
        help="run the project's tests on the base and a fix branch, and measure test reach",
        epilog="exit status: 0 verified, 1 any other verdict (regression, not-reached, "
        "still-vulnerable, no-tests), 2 usage or input error, 3 internal error.",
    )
    verify.add_argument("path", type=Path, nargs="?", default=Path(), help="project directory")
    verify.add_argument("--branch", required=True, help="the fix branch to verify")
    verify.add_argument("--base", help="base revision (default: merge base with HEAD)")
    verify.add_argument("--timeout", type=float, help="seconds per test run (default 900)")
    verify.add_argument("--format", "-f", choices=("table", "json"), default=None)
    verify.add_argument("--output", "-o", type=Path, help="write the evidence to FILE")

    db = sub.add_parser("db", parents=[common], help="manage the advisory store")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION")
    imp = dbsub.add_parser(
        "import",
        parents=[common],
        help="import OSV zips (osv.dev all.zip layout) or directories of OSV JSON",
    )
    imp.add_argument("paths", type=Path, nargs="+", metavar="PATH")
    imp.add_argument("--format", "-f", choices=("table", "json"), default=None)
    upd = dbsub.add_parser(
        "update", parents=[common], help="download osv.dev's per-ecosystem zips and import them"
    )
    upd.add_argument(
        "--ecosystem",
        action="append",
        dest="ecosystems",
        metavar="NAME",
        help="OSV ecosystem name (repeatable; default: PyPI, npm, Go, crates.io)",
    )
    upd.add_argument("--base-url", default=None, help=argparse.SUPPRESS)
    upd.add_argument("--format", "-f", choices=("table", "json"), default=None)
    status = dbsub.add_parser("status", parents=[common], help="what the store holds")
    status.add_argument("--format", "-f", choices=("table", "json"), default=None)
    kev = dbsub.add_parser(
        "import-kev",
        parents=[common],
        help="import the CISA KEV catalog (known_exploited_vulnerabilities.json)",
    )
    kev.add_argument("file", type=Path, metavar="FILE")
    kev.add_argument("--format", "-f", choices=("table", "json"), default=None)
    epss = dbsub.add_parser(
        "import-epss", parents=[common], help="import FIRST EPSS scores (CSV, gzipped or not)"
    )
    epss.add_argument("file", type=Path, metavar="FILE")
    epss.add_argument("--format", "-f", choices=("table", "json"), default=None)

    _add_autonomy(sub, common, planning)
    return parser


def _add_codefix(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    policy: argparse.ArgumentParser,
) -> None:
    codefix = sub.add_parser(
        "codefix",
        parents=[common, policy],
        help="fix known-vulnerable code patterns and insecure settings (branch, verify, decide)",
        description=(
            "Rewrite known-vulnerable code patterns (yaml.load, shell=True, missing timeouts, "
            "weak TLS settings in code, …) and configuration (nginx TLS, Django settings) "
            "under PATH. Each codemod gets its own branch, verified with the project's tests "
            "(which test executes each changed line) and decided by the policy, like `run`. "
            "Every refusal is listed with its reason."
        ),
        epilog="exit status: 0 done, 2 usage or input error, 3 internal error.",
    )
    codefix.add_argument("path", type=Path, nargs="?", default=Path(), help="project directory")
    mode = codefix.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run", action="store_true", help="show the changes, refusals and diffs only"
    )
    mode.add_argument(
        "--write",
        action="store_true",
        help="rewrite the working tree in place (no branch, tests or policy)",
    )
    codefix.add_argument(
        "--only", action="append", metavar="ID[,ID]", help="run only these codemods (repeatable)"
    )
    codefix.add_argument(
        "--sarif", type=Path, help="fix only the findings of this Bandit, Semgrep or Ruff SARIF"
    )
    codefix.add_argument(
        "--no-config",
        dest="config",
        action="store_false",
        help="skip the configuration mitigations",
    )
    codefix.add_argument("--max-level", type=int, metavar="N", help="never go past level N")
    codefix.add_argument("--target", help="branch merges go into (default: the checked-out one)")
    codefix.add_argument("--timeout", type=float, help="seconds per test run (default 900)")
    codefix.add_argument("--format", "-f", choices=("table", "json"), default=None)
    codefix.add_argument("--output", "-o", type=Path, help="write the report to FILE")


def _add_autonomy(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    planning: argparse.ArgumentParser,
) -> None:
    """`run`, `gate`, `revert`, `explain` and `ledger`: the policy-driven commands."""
    policy = argparse.ArgumentParser(add_help=False)
    policy.add_argument(
        "--policy", type=Path, help="policy file (default: PATH/.patchpilot.toml, else built-in)"
    )
    policy.add_argument(
        "--vex",
        type=Path,
        action="append",
        metavar="FILE",
        help="OpenVEX or CycloneDX VEX document (repeatable; the project's own are always read)",
    )
    run = sub.add_parser(
        "run",
        parents=[common, planning, policy],
        help="scan, fix, verify, decide and deliver each fix at the level the policy grants",
        description=(
            "The whole loop: scan, suppress what VEX statements and ignores cover, prepare one "
            "branch per fix, verify it with the project's tests, decide its autonomy level with "
            "the policy (1 report, 2 branch for review, 3 merge) and act on it. Every step is "
            "recorded in the ledger."
        ),
        epilog="exit status: 0 done (whatever the levels), 2 usage or input error, 3 internal.",
    )
    run.add_argument("--max-level", type=int, metavar="N", help="never go past level N (1, 2 or 3)")
    run.add_argument("--target", help="branch merges go into (default: the checked-out branch)")
    run.add_argument("--timeout", type=float, help="seconds per test run (default 900)")
    run.add_argument(
        "--vex-out", type=Path, metavar="FILE", help="write an OpenVEX document of the outcome"
    )
    run.add_argument(
        "--no-codefix",
        dest="codefix",
        action="store_false",
        help="skip the code fixes and configuration mitigations (dependencies only)",
    )
    run.add_argument(
        "--forge",
        choices=("local", "github", "gitlab"),
        default="local",
        help="where branches go for review and merges happen (default: local git; github and "
        "gitlab read GITHUB_REPOSITORY/GITHUB_TOKEN or CI_PROJECT_ID/GITLAB_TOKEN)",
    )
    gate = sub.add_parser(
        "gate",
        parents=[common, policy],
        help="CI gate: fail when findings violate the policy (no valid ignore or VEX statement)",
        epilog="exit status: 0 passed, 1 violations, 2 usage or input error, 3 internal error.",
    )
    gate.add_argument("path", type=Path, nargs="?", default=Path(), help="project directory")
    gate.add_argument("--format", "-f", choices=("table", "json", "sarif"), default=None)
    gate.add_argument("--output", "-o", type=Path, help="write the report to FILE")
    revert = sub.add_parser(
        "revert",
        parents=[common],
        help="revert a merge patchpilot made and reopen its findings",
        epilog="exit status: 0 reverted, 2 unknown action, already reverted or conflict, "
        "3 internal error.",
    )
    revert.add_argument("action", help="the action ID (from `run` or `explain`)")
    revert.add_argument("path", type=Path, nargs="?", default=Path(), help="repository")
    revert.add_argument("--reason", required=True, help="why (recorded in the ledger)")
    revert.add_argument("--actor", help="who asks (default: the current user)")
    revert.add_argument("--format", "-f", choices=("table", "json"), default=None)
    revert.add_argument("--output", "-o", type=Path, help=argparse.SUPPRESS)

    _add_codefix(sub, common, policy)
    approve = sub.add_parser(
        "approve",
        parents=[common],
        help="a person approves a branch left for review: merge it, recorded with their name",
        epilog="exit status: 0 merged, 2 unknown branch, dirty target or conflict, 3 internal.",
    )
    approve.add_argument("branch", help="a branch `run` or `codefix` left for review")
    approve.add_argument("path", type=Path, nargs="?", default=Path(), help="repository")
    approve.add_argument("--reason", required=True, help="why it may go in (recorded)")
    approve.add_argument("--actor", help="who approves (default: the current user)")
    approve.add_argument("--target", help="branch to merge into (default: the checked-out one)")
    approve.add_argument("--format", "-f", choices=("table", "json"), default=None)

    ledger_common = argparse.ArgumentParser(add_help=False)
    ledger_common.add_argument(
        "--ledger",
        metavar="URL",
        default=None,
        help="ledger database as a SQLAlchemy URL (e.g. postgresql+psycopg://…); "
        "default: the --db file",
    )
    ledger = sub.add_parser("ledger", parents=[common], help="check or export the decision ledger")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", metavar="ACTION")
    ledger_verify = ledger_sub.add_parser(
        "verify",
        parents=[common, ledger_common],
        help="check the hash chain: any edited, reordered or deleted event is named",
        epilog="exit status: 0 intact, 1 broken (the first bad event is named), "
        "2 the ledger cannot be read, 3 internal error.",
    )
    ledger_verify.add_argument("--format", "-f", choices=("table", "json"), default=None)
    ledger_export = ledger_sub.add_parser(
        "export",
        parents=[common, ledger_common],
        help="write every event as one JSON line, hashes included",
    )
    ledger_export.add_argument("--output", "-o", type=Path, help="write to FILE, not stdout")
    explain = sub.add_parser(
        "explain",
        parents=[common, ledger_common],
        help="tell the story of a finding, branch, commit or action from the ledger",
        epilog="exit status: 0 told, 2 unknown ID or unreadable ledger, 3 internal error.",
    )
    explain.add_argument(
        "ident",
        metavar="ID",
        help="finding ID or alias, branch, commit SHA (7+ hex digits), action, remediation "
        "or event id",
    )
    explain.add_argument("--format", "-f", choices=("table", "json"), default=None)
    explain.add_argument("--output", "-o", type=Path, help="write the story to FILE")
    scope = explain.add_mutually_exclusive_group()
    scope.add_argument(
        "--all",
        dest="all_runs",
        action="store_true",
        help="tell every run that names ID (default: the latest, and one line per earlier run)",
    )
    scope.add_argument(
        "--run", type=int, metavar="N", help="tell run N (the numbers the story shows)"
    )
    scope.add_argument(
        "--since", metavar="DATE", help="tell every run opened since DATE (ISO date or time, UTC)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(e.code or 0)
    try:
        return int(dispatch(parser, args))
    except PatchpilotError as e:
        print(f"patchpilot: error: {e}", file=sys.stderr)
        return int(e.exit_code)
    except KeyboardInterrupt:
        print("patchpilot: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if os.environ.get("PATCHPILOT_DEBUG"):
            raise
        print(
            f"patchpilot: internal error: {type(e).__name__}: {e} "
            "(set PATCHPILOT_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return int(ExitCode.INTERNAL_ERROR)


def dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> ExitCode:
    if args.command == "scan":
        from patchpilot.cli.scan import run_scan

        return run_scan(args)
    if args.command in ("plan", "fix"):
        from patchpilot.cli import fix

        return fix.run_plan(args) if args.command == "plan" else fix.run_fix(args)
    if args.command == "verify":
        from patchpilot.cli.verify import run_verify

        return run_verify(args)
    if args.command == "ledger":
        from patchpilot.cli import ledger

        if args.ledger_command == "verify":
            return ledger.run_ledger_verify(args)
        if args.ledger_command == "export":
            return ledger.run_ledger_export(args)
        raise UsageError("ledger: choose an action: verify or export")
    if args.command == "codefix":
        from patchpilot.cli.codefix import run_codefix

        return run_codefix(args)
    if args.command == "explain":
        from patchpilot.cli.ledger import run_explain

        return run_explain(args)
    if args.command in ("run", "gate", "revert", "approve"):
        from patchpilot.cli import run

        handlers = {
            "run": run.run_run,
            "gate": run.run_gate,
            "revert": run.run_revert,
            "approve": run.run_approve,
        }
        return handlers[args.command](args)
    if args.command == "db":
        from patchpilot.cli import db

        if args.db_command in ("import-kev", "import-epss"):
            from patchpilot.cli import signals

            if args.db_command == "import-kev":
                return signals.run_import_kev(args)
            return signals.run_import_epss(args)
        if args.db_command == "import":
            return db.run_import(args)
        if args.db_command == "update":
            return db.run_update(args)
        if args.db_command == "status":
            return db.run_status(args)
        raise UsageError("db: choose an action: import, update, status, import-kev or import-epss")
    parser.print_help(sys.stderr)
    return ExitCode.INPUT_ERROR


def store_path(args: argparse.Namespace) -> Path:
    from patchpilot.advisories.store import default_store_path

    db: Path | None = getattr(args, "db", None)
    return db if db is not None else default_store_path()


def quiet(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "quiet", False))


def choose_format(requested: str | None) -> str:
    """Humans get a table, pipes and files get JSON, unless the user says otherwise."""
    if requested:
        return requested
    return "table" if sys.stdout.isatty() else "json"


def emit(text: str, output: Path | None) -> None:
    """Write the rendered report to `output` (atomically) or stdout."""
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        return
    from patchpilot.fsutil import write_atomic

    try:
        write_atomic(output, text if text.endswith("\n") else text + "\n")
    except OSError as e:
        raise OutputError(f"{output}: cannot write: {e.strerror or e}") from e


if __name__ == "__main__":
    sys.exit(main())
