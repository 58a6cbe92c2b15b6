"""`tarfile-data-filter`: archive extraction that trusts member paths and modes.

`TarFile.extractall` / `extract` on an archive the code opened with `tarfile.open` (or
`TarFile`), and `shutil.unpack_archive`, get `filter="data"`: members escaping the target
directory, absolute paths, device files and dangerous links are rejected and permissions are
sanitised (PEP 706; Python 3.14's default). Tier A-: the filter exists only on Python 3.12+
and the 3.8.17 / 3.9.17 / 3.10.12 / 3.11.4 backports, so every Python the project's
`requires-python` allows must have it. Refused: a `members=` argument (a sanitiser of the
project's own may exist), `*args` / `**kwargs`, objects that may not be tar archives.
"""

from __future__ import annotations

import ast
from typing import ClassVar

import libcst as cst
from packaging.version import Version

from patchpilot.fixers.codemods.interface import (
    Codemod,
    CodemodTransformer,
    FileContext,
    FileRun,
    ProjectContext,
    Reason,
    Tier,
    Veto,
    append_arg,
    find_arg,
    positional,
    splat,
)

_OPENERS = frozenset(
    {"tarfile.open", "tarfile.TarFile", "tarfile.TarFile.open", "tarfile.TarFile.taropen"}
    | {"tarfile.TarFile.gzopen", "tarfile.TarFile.bz2open", "tarfile.TarFile.xzopen"}
)
_UNPACK = frozenset({"shutil.unpack_archive"})
# First release of each line with `tarfile.data_filter` (PEP 706 and its backports).
_BACKPORTS = {(3, 8): 17, (3, 9): 17, (3, 10): 12, (3, 11): 4}


def _unfiltered(call: ast.Call) -> bool:
    return not any(k.arg == "filter" for k in call.keywords)


def has_data_filter(version: Version) -> bool:
    """Whether a Python release has tarfile extraction filters."""
    if version.release[:2] >= (3, 12):
        return True
    line = (version.release[0], version.release[1])
    first = _BACKPORTS.get(line)
    return first is not None and version.micro >= first


class TarfileDataFilter(Codemod):
    """Extract tar archives with the `data` filter."""

    id: ClassVar[str] = "tarfile-data-filter"
    cwe: ClassVar[tuple[int, ...]] = (22,)
    tier: ClassVar[Tier] = Tier.A_MINUS
    title: ClassVar[str] = 'Extract tar archives with filter="data"'
    rules: ClassVar[tuple[str, ...]] = (
        "B202",
        "S202",
        "tarfile-extractall-traversal",
        "python.lang.security.audit.dangerous-tarfile-extractall.tarfile-extractall-traversal",
    )
    hints: ClassVar[tuple[str, ...]] = ("tarfile", "unpack_archive")

    def relevant(self, file: FileContext) -> bool:
        # `shutil.unpack_archive`, or `extract` / `extractall` on what a `tarfile` opener
        # returned (an opener call must be in the file), without `filter=`.
        if not super().relevant(file):
            return False
        unpacks = file.calls(_UNPACK)
        openers = file.calls(_OPENERS)
        if unpacks is None or openers is None or any(_unfiltered(c) for c in unpacks):
            return True
        return bool(openers) and any(
            isinstance(c.func, ast.Attribute) and _unfiltered(c)
            for method in ("extract", "extractall")
            for c in file.calls_ending(method) or ()
        )

    def project_refusal(self, project: ProjectContext) -> Veto | None:
        return project.python_guard(has_data_filter, "`tarfile` extraction filters")

    def transformer(self, run: FileRun) -> CodemodTransformer:
        return _Transformer(run)


class _Transformer(CodemodTransformer):
    def _kind(self, call: cst.Call) -> str | None:
        if self.call_name(call, _UNPACK):
            return "unpack_archive"
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("extract", "extractall"):
            return None
        origins = self.origin_calls(func.value)
        if origins and origins <= _OPENERS:
            return func.attr.value
        return None

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        kind = self._kind(original_node)
        if kind is None or find_arg(original_node, "filter") is not None:
            return updated_node
        if not self.may_change(original_node):
            return updated_node
        star = splat(original_node)
        if star is not None:
            self.refuse(
                original_node,
                Reason.KWARGS_SPLAT if star == "**" else Reason.ARGS_SPLAT,
                f"the call passes `{star}` arguments, which may already carry a filter",
            )
            return updated_node
        if kind == "extractall" and (
            find_arg(original_node, "members") is not None or len(positional(original_node)) >= 2
        ):
            self.refuse(
                original_node,
                Reason.MEMBERS_ARGUMENT,
                "the call selects its own members (perhaps a sanitiser already); a filter "
                "could reject members it means to keep",
            )
            return updated_node
        if kind == "unpack_archive" and len(positional(original_node)) >= 4:
            return updated_node  # filter given positionally is impossible (keyword-only)
        self.changed(original_node, f'`{kind}` given `filter="data"`')
        return append_arg(updated_node, "filter", cst.SimpleString('"data"'))
