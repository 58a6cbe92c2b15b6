"""Breaking-change detection: does upgrading a package break the project's own code, and where?

`distributions` fetches and unpacks the old and new distribution without running any of it;
`apidiff` diffs their public API statically with griffe into `ApiBreak` values (cached per
package pair); `callsites` finds the project's uses of the package with libcst, alias-aware;
`verdict.assess` holds one against the other and answers with a `Verdict` and its `Site`s.
"""

from patchpilot.planning.breaking.apidiff import ApiBreak, ApiDiff, BreakKind, diff
from patchpilot.planning.breaking.verdict import Site, Verdict, VerdictKind, assess

__all__ = [
    "ApiBreak",
    "ApiDiff",
    "BreakKind",
    "Site",
    "Verdict",
    "VerdictKind",
    "assess",
    "diff",
]
