"""The base of Tier C detectors: codemods that never rewrite and report every site they find.

Some patterns have no rewrite that keeps behaviour (fix-patterns.md #27 to #30: cleartext
transports, unsafe deserialization, weak ciphers, `eval` on data): patchpilot detects them and
explains the risk and what a person should do instead. A detector is a `Codemod` with
`tier = Tier.C` whose transformer only looks: each site becomes a `Refusal` with the reason
`tier-c` and a detail naming the risk and the way out, so `codefix` and `run` list it and no
file changes. Suppression comments and SARIF targeting apply as for every codemod
(`may_change`: a suppressed site is reported as `suppressed`). With `refuse_in_tests`, a site
in a test module is reported as `test-file`, the explanation kept. The engine applies file
and project vetoes to changes only, and a detector has none, so the transformer decides the
reason itself; detectors have no project-scope guard.
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst

from patchpilot.fixers.codemods.interface import Codemod, CodemodTransformer, Reason, Tier

# The reason code of every Tier C report: detected, explained, never rewritten.
TIER_C = Reason.TIER_C
_IN_TESTS = (
    "in a test module, where this is usually a fixture or a test vector rather than code that "
    "runs in production; review it like the others if the module talks to real systems"
)


class TierCDetector(Codemod):
    """A codemod that only reports (Tier C)."""

    tier: ClassVar[Tier] = Tier.C


class DetectorTransformer(CodemodTransformer):
    """A transformer that never changes a node: `report` records a site as a refusal."""

    def report(self, node: cst.CSTNode, detail: str) -> None:
        """Record the original node `node` as a Tier C site (or a suppressed one, or one in a
        test module), with `detail` explaining the risk and what to do instead."""
        if not self.may_change(node):
            return
        if self.run.codemod.refuse_in_tests and self.run.file.is_test:
            self.refuse(node, Reason.TEST_FILE, f"{_IN_TESTS}. {detail}")
        else:
            self.refuse(node, Reason.TIER_C, detail)


def literal_text(node: cst.BaseExpression) -> str | bytes | None:
    """The value of a string or bytes literal (implicit concatenation included; no f-string),
    else None."""
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    if isinstance(node, cst.ConcatenatedString):
        left = literal_text(node.left)
        right = literal_text(node.right)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        if isinstance(left, bytes) and isinstance(right, bytes):
            return left + right
    return None


def argument(call: cst.Call, keyword: str, index: int | None = 0) -> cst.BaseExpression | None:
    """The argument given as `keyword=` or at positional `index` (None: keyword only); None
    when absent or when a `*args` before it hides its position."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    if index is None:
        return None
    position = 0
    for arg in call.args:
        if arg.keyword is not None or arg.star == "**":
            continue
        if arg.star == "*":
            return None
        if position == index:
            return arg.value
        position += 1
    return None
