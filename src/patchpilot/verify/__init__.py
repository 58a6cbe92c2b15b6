"""Verify a fix: isolated environments, the project's tests before and after, and evidence.

`run_side` checks one revision out in a temporary worktree, builds its environment with uv
(`envs`), runs its detected test command (`testcmd`) in isolation (`runner`) and returns a
`SideResult`; `compare_sides` turns two of them into a `TestComparison` (`results`).
"""

from __future__ import annotations

from patchpilot.verify.envs import Env, build_env
from patchpilot.verify.results import (
    Outcome,
    SideResult,
    TestComparison,
    TestResult,
    Totals,
    compare_sides,
)
from patchpilot.verify.runner import RunOutput, checkout_at, run_side, run_tests, scrub_environment
from patchpilot.verify.testcmd import (
    Kind,
    TestCommand,
    VerifyConfig,
    detect_test_command,
    read_config,
)

__all__ = [
    "Env",
    "Kind",
    "Outcome",
    "RunOutput",
    "SideResult",
    "TestCommand",
    "TestComparison",
    "TestResult",
    "Totals",
    "VerifyConfig",
    "build_env",
    "checkout_at",
    "compare_sides",
    "detect_test_command",
    "read_config",
    "run_side",
    "run_tests",
    "scrub_environment",
]
