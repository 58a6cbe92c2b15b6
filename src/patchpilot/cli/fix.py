"""`patchpilot plan` and `patchpilot fix`: choose remediations, then prepare them as branches."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from patchpilot.cli.main import choose_format, emit, store_path
from patchpilot.cli.scan import reporter_for
from patchpilot.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from patchpilot.planning.plan import PlanOptions


def plan_options(args: argparse.Namespace) -> PlanOptions:
    from patchpilot.planning.index import default_index
    from patchpilot.planning.levels import parse_upgrade_config
    from patchpilot.planning.plan import PlanOptions

    days = args.min_release_age
    if days is not None and days < 0:
        raise UsageError(f"--min-release-age: expected a number of days >= 0, got {days}")
    values = tuple(args.upgrade_config or ())
    return PlanOptions(
        index=default_index(offline=args.offline),
        config=parse_upgrade_config(values),
        config_text=values,
        min_release_age_days=days,
        check_breaking=args.breaking_check,
    )


def run_plan(args: argparse.Namespace) -> ExitCode:
    from patchpilot import engine
    from patchpilot.advisories.store import AdvisoryStore
    from patchpilot.formats.plan_out import render_plan

    fmt = choose_format(args.format)
    options = plan_options(args)
    with (
        AdvisoryStore.open(store_path(args), create=False) as store,
        reporter_for(fmt, args) as reporter,
    ):
        plan = engine.plan(args.path, store, options, reporter)
    emit(render_plan(plan, fmt, color=args.output is None and sys.stdout.isatty()), args.output)
    return ExitCode.OK


def run_fix(args: argparse.Namespace) -> ExitCode:
    from patchpilot import engine
    from patchpilot.advisories.store import AdvisoryStore
    from patchpilot.formats.plan_out import render_fix

    fmt = choose_format(args.format)
    options = plan_options(args)
    with (
        AdvisoryStore.open(store_path(args), create=False) as store,
        reporter_for(fmt, args) as reporter,
    ):
        result = engine.fix(
            args.path, store, options, group=args.group, dry_run=args.dry_run, reporter=reporter
        )
    emit(render_fix(result, fmt, color=args.output is None and sys.stdout.isatty()), args.output)
    return ExitCode.OK
