"""Ignores: findings a project has decided to live with, each with a reason and an expiry date.

An `Ignore` names a vulnerability by any of its IDs (the finding's primary ID or an alias) and
can be narrowed to one package and to a manifest path. It applies through its `expires` date
(inclusive) and not after: expired ignores are reported, never silently honoured, and so are
ignores that matched nothing (a fixed dependency leaves its ignore behind).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path

from packaging.utils import canonicalize_name

from patchpilot.model import Finding


@dataclass(frozen=True, slots=True)
class Ignore:
    """One `[[ignores]]` entry: `id` is any ID of the vulnerability, `package` a package name
    (compared normalised), `path` a manifest path relative to the project root, a directory
    holding manifests, or a glob (`services/*/requirements.txt`)."""

    id: str
    reason: str
    expires: date
    package: str | None = None
    path: str | None = None

    def expired(self, today: date) -> bool:
        return today > self.expires

    def matches(self, finding: Finding, root: Path | str | None = None) -> bool:
        """Whether this ignore names `finding` (expiry is not looked at here)."""
        wanted = self.id.casefold()
        if all(ident.casefold() != wanted for ident in (finding.id, *finding.aliases)):
            return False
        if self.package is not None and canonicalize_name(self.package) != canonicalize_name(
            finding.component.name
        ):
            return False
        if self.path is None:
            return True
        return any(_path_matches(loc.path, self.path, root) for loc in finding.component.locations)

    def as_dict(self) -> dict[str, str]:
        data = {"id": self.id, "reason": self.reason, "expires": self.expires.isoformat()}
        if self.package is not None:
            data["package"] = self.package
        if self.path is not None:
            data["path"] = self.path
        return data


@dataclass(frozen=True, slots=True)
class IgnoreReport:
    """Which findings were ignored (and by which ignore), and which ignores are stale.

    `applied` names findings by ID; one vulnerability can affect several packages and an
    ignore may be scoped to one of them, so `ignore_for` answers per finding.
    """

    applied: tuple[tuple[str, Ignore], ...]
    expired: tuple[Ignore, ...]
    unused: tuple[Ignore, ...]
    by_finding: Mapping[tuple[str, str], Ignore] = field(
        default_factory=dict, compare=False, hash=False
    )

    @property
    def ignored_ids(self) -> frozenset[str]:
        return frozenset(finding_id for finding_id, _ in self.applied)

    def ignore_for(self, finding: Finding) -> Ignore | None:
        """The ignore that applied to this finding (this vulnerability in this package)."""
        return self.by_finding.get((finding.id, finding.component.purl))


def apply_ignores(
    findings: Iterable[Finding],
    ignores: Sequence[Ignore],
    today: date,
    *,
    root: Path | str | None = None,
) -> IgnoreReport:
    """Match `ignores` against `findings` on `today`.

    Each finding is ignored by the first live ignore that names it. Expired ignores never
    apply and are listed in `expired`; live ignores that named no finding are `unused`.
    `root` is the project root that ignore paths are relative to; without it, a path matches
    a manifest location that ends with it.
    """
    live = [i for i in ignores if not i.expired(today)]
    used: set[int] = set()
    applied: list[tuple[str, Ignore]] = []
    by_finding: dict[tuple[str, str], Ignore] = {}
    for finding in findings:
        for n, ignore in enumerate(live):
            if ignore.matches(finding, root):
                applied.append((finding.id, ignore))
                by_finding[(finding.id, finding.component.purl)] = ignore
                used.add(n)
                break
    return IgnoreReport(
        by_finding=by_finding,
        applied=tuple(applied),
        expired=tuple(i for i in ignores if i.expired(today)),
        unused=tuple(i for n, i in enumerate(live) if n not in used),
    )


def _posix(path: str) -> str:
    return posixpath.normpath(path.replace(os.sep, "/").replace("\\", "/"))


def _path_matches(location: str, pattern: str, root: Path | str | None) -> bool:
    """Whether a manifest `location` is the ignore's `pattern`: the file, under the directory,
    or matching the glob. Relative to `root` when given (strictly); else by trailing parts."""
    want = _posix(pattern).strip("/")
    if want in ("", "."):
        return True
    loc = _posix(location)
    if root is not None:
        base = _posix(str(Path(root).absolute()))
        full = _posix(str(Path(location).absolute()))
        if full == base or full.startswith(base.rstrip("/") + "/"):
            rel = posixpath.relpath(full, base)
            return rel == want or rel.startswith(want + "/") or fnmatchcase(rel, want)
        return False
    return (
        loc == want
        or loc.endswith("/" + want)
        or loc.startswith(want + "/")
        or f"/{want}/" in loc
        or fnmatchcase(loc, want)
        or fnmatchcase(loc, "*/" + want)
    )
