"""`patchpilot verify`: run the project's tests on the base and on a fix branch, with evidence."""

from __future__ import annotations

import argparse

from patchpilot.cli.main import choose_format, emit, store_path
from patchpilot.cli.scan import reporter_for
from patchpilot.errors import ExitCode


def run_verify(args: argparse.Namespace) -> ExitCode:
    from patchpilot.advisories.store import AdvisoryStore
    from patchpilot.formats.evidence_out import render_evidence
    from patchpilot.verify.evidence import verify_branch

    fmt = choose_format(args.format)
    with (
        AdvisoryStore.open(store_path(args), create=False) as store,
        reporter_for(fmt, args) as reporter,
    ):
        evidence = verify_branch(
            args.path,
            args.branch,
            store,
            base=args.base,
            timeout=args.timeout,
            reporter=reporter,
        )
    emit(render_evidence(evidence, fmt), args.output)
    return ExitCode.OK if evidence.verdict == "verified" else ExitCode.FINDINGS
