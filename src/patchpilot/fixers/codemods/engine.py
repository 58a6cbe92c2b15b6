"""Run codemods over a project and keep only the rewrites whose post-conditions hold.

`run_codemods` walks the project's Python files, parses each with libcst (a file that does not
parse is a refusal, never a crash), applies every selected codemod in registry order and keeps
a codemod's rewrite of a file only when (a) the new text compiles, (b) running the codemod again
changes nothing, and (c) `ruff --select F401,F821,F811` reports nothing the old text did not
already have; project and file vetoes and every failed post-condition turn the codemod's
changes into refusals with their reason. The result is pure: a `ChangeSet` plus the changes
and refusals, all with line numbers of the original files; `write_changeset` writes it.
"""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import sys
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from patchpilot.errors import CodefixError, UsageError
from patchpilot.events import Record, Reporter
from patchpilot.fixers.changeset import ChangeSet, FileEdit
from patchpilot.fixers.codemods.interface import (
    CodeChange,
    Codemod,
    FileContext,
    FileRun,
    ProjectContext,
    Reason,
    Refusal,
    Veto,
)

if TYPE_CHECKING:
    import libcst as cst

    from patchpilot.fixers.codemods.sarif_targets import SarifTargets

ALL_CODEMODS = "*"
RUFF_RULES = "F401,F821,F811"
_MAX_BYTES = 2_000_000
_RUFF_TIMEOUT = 60
_R = TypeVar("_R", CodeChange, Refusal)


@dataclass(frozen=True, slots=True)
class CodemodCount:
    """What one codemod did in a run."""

    changes: int = 0
    refusals: int = 0
    files: int = 0


@dataclass(frozen=True, slots=True)
class CodefixResult:
    """The outcome of a code-fix run: the edits (not yet written), every change kept, every
    refusal with its reason, how many files were looked at, and counts per codemod id."""

    root: Path
    changeset: ChangeSet
    changes: tuple[CodeChange, ...]
    refusals: tuple[Refusal, ...]
    files_scanned: int
    counts: Mapping[str, CodemodCount]
    codemods: tuple[Codemod, ...]
    notes: tuple[str, ...] = ()

    def codemod(self, ident: str) -> Codemod | None:
        return next((c for c in self.codemods if c.id == ident), None)


def select_codemods(only: Sequence[str] | None = None) -> tuple[Codemod, ...]:
    """The registered codemods, or those named in `only` (unknown ids: `UsageError`)."""
    from patchpilot.fixers.codemods.registry import codemods

    available = codemods()
    if not only:
        return available
    known = {c.id: c for c in available}
    unknown = [ident for ident in only if ident not in known]
    if unknown:
        raise UsageError(f"unknown codemod {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    wanted = set(only)
    return tuple(c for c in available if c.id in wanted)


def run_codemods(
    root: Path,
    *,
    only: Sequence[str] | None = None,
    targets: Path | SarifTargets | None = None,
    reporter: Reporter | None = None,
    codemods: Sequence[Codemod] | None = None,
    project: ProjectContext | None = None,
) -> CodefixResult:
    """Apply the codemods to every Python file under `root`; nothing is written.

    `only` names codemod ids to run (all registered ones by default; `codemods` passes
    instances directly). `targets` is a SARIF file (or loaded targets) from Bandit, Semgrep or
    Ruff: codemods then touch only nodes on lines a matching result points at.
    """
    reporter = reporter or Reporter()
    root = Path(root)
    if not root.is_dir():
        raise CodefixError(root, None, "not a directory")
    selected = tuple(codemods) if codemods is not None else select_codemods(only)
    project = project or ProjectContext.load(root)
    notes: list[str] = []
    loaded: SarifTargets | None = None
    if targets is not None:
        from patchpilot.fixers.codemods.sarif_targets import SarifTargets, load_targets

        loaded = targets if isinstance(targets, SarifTargets) else load_targets(targets, root)
        loaded = loaded.for_codemods(selected)
        notes.extend(loaded.notes)
        files = sorted(loaded.files)
    else:
        files = list(project.python_files())
    vetoes = {c.id: c.project_refusal(project) for c in selected}
    ruff = _Ruff()
    edits: list[FileEdit] = []
    changes: list[CodeChange] = []
    refusals: list[Refusal] = []
    reporter.start("codefix", total=len(files))
    for rel in files:
        file_targets = loaded.files.get(rel) if loaded is not None else None
        outcome = _fix_file(root, rel, selected, project, vetoes, file_targets, ruff)
        changes.extend(outcome.changes)
        refusals.extend(outcome.refusals)
        if outcome.after is not None and outcome.after != outcome.before:
            edits.append(FileEdit(rel, outcome.before, outcome.after))
        reporter.advance("codefix", detail=rel)
    reporter.finish("codefix")
    notes.extend(project.notes)
    for note in notes:
        reporter.note(note)
    counts = _counts(selected, changes, refusals)
    ids = tuple(f"codemod:{c.id}" for c in selected if counts[c.id].changes)
    return CodefixResult(
        root=root,
        changeset=ChangeSet(remediation_ids=ids, edits=tuple(edits), notes=tuple(notes)),
        changes=tuple(changes),
        refusals=tuple(refusals),
        files_scanned=len(files),
        counts=counts,
        codemods=selected,
        notes=tuple(dict.fromkeys(notes)),
    )


def codefix_records(result: CodefixResult, *, branch: str | None = None) -> list[Record]:
    """One ledger `codefix` record per codemod that changed or refused something."""
    records: list[Record] = []
    for codemod in result.codemods:
        count = result.counts[codemod.id]
        if not count.changes and not count.refusals:
            continue
        mine = [c for c in result.changes if c.codemod == codemod.id]
        refused = [r for r in result.refusals if r.codemod == codemod.id]
        paths = sorted({c.path for c in mine} | {r.path for r in refused})
        subjects = (f"codemod:{codemod.id}", *(f"path:{p}" for p in paths))
        if branch:
            subjects = (*subjects, f"branch:{branch}")
        records.append(
            Record(
                kind="codefix",
                summary=f"{codemod.id}: {count.changes} change(s), {count.refusals} refusal(s)",
                subjects=subjects,
                outcome={
                    "changes": [
                        {"path": c.path, "line": c.line, "description": c.description} for c in mine
                    ],
                    "refusals": [
                        {"path": r.path, "line": r.line, "reason": r.reason, "detail": r.detail}
                        for r in refused
                    ],
                    "tier": str(codemod.tier),
                },
            )
        )
    return records


# ---------------------------------------------------------------------------------------------
# One file


@dataclass(slots=True)
class _FileOutcome:
    before: str | None
    after: str | None
    changes: list[CodeChange] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)


def _fix_file(
    root: Path,
    rel: str,
    selected: Sequence[Codemod],
    project: ProjectContext,
    vetoes: Mapping[str, Veto | None],
    targets: Mapping[str, frozenset[int]] | None,
    ruff: _Ruff,
) -> _FileOutcome:
    import libcst as cst

    read = _read_source(root / rel, rel)
    if isinstance(read, Refusal):
        return _FileOutcome(None, None, refusals=[read])
    raw, source = read
    outcome = _FileOutcome(source, source)
    file = FileContext.build(root, rel, source, targets)
    relevant = [c for c in selected if (targets is None or c.id in targets) and c.relevant(file)]
    if not relevant:
        return outcome
    if len(raw) > _MAX_BYTES:
        outcome.refusals.append(
            Refusal(ALL_CODEMODS, rel, None, Reason.UNREADABLE, "larger than 2 MB; not parsed")
        )
        return outcome
    module = _parse(rel, source)
    if isinstance(module, Refusal):
        outcome.refusals.append(module)
        return outcome

    # libcst reproduces almost every file exactly; one it cannot (odd whitespace-only lines
    # with mixed newlines) would be rewritten beyond the changed nodes.
    exact = module.code == source
    wrapper = cst.MetadataWrapper(module, unsafe_skip_copy=True)
    current = source
    lines = _LineMap.identity()
    ran: list[Codemod] = []
    # Codemods whose changes were refused (a veto or a failed post-condition) would change
    # the file again by definition: the final check that the set settles leaves them out.
    blocked: set[str] = set()
    runs = _Runs()
    for codemod in relevant:
        try:
            new, found, refused = runs.apply(codemod, file, project, wrapper)
        except Exception as e:  # a codemod bug refuses its file, not the whole run
            outcome.refusals.append(
                Refusal(codemod.id, rel, None, Reason.CODEMOD_ERROR, f"{type(e).__name__}: {e}")
            )
            continue
        ran.append(codemod)
        outcome.refusals.extend(_back(refused, lines))
        if not found:
            continue
        veto = vetoes.get(codemod.id) or codemod.file_refusal(file, project)
        if veto is None and not exact:
            veto = Veto(
                Reason.ROUNDTRIP,
                "libcst cannot reproduce this file byte for byte (whitespace-only lines with "
                "mixed newlines); normalise its line endings first",
            )
        checked = veto or _postconditions(codemod, file, project, new, ruff, runs)
        if not isinstance(checked, cst.MetadataWrapper):
            blocked.add(codemod.id)
            outcome.refusals.extend(
                _back(
                    [
                        Refusal(c.codemod, c.path, c.line, checked.reason, checked.detail)
                        for c in found
                    ],
                    lines,
                )
            )
            continue
        outcome.changes.extend(_back(found, lines))
        lines = lines.then(_LineMap.between(current, new))
        current = new
        # The post-condition parsed the new text (and resolved what it needed) already.
        wrapper = checked
        file = FileContext.build(root, rel, current, _shift(targets, lines))

    if current != source:
        final = _whole_run_settles(
            [c for c in ran if c.id not in blocked], project, file, wrapper, runs
        )
        if final is not None:
            outcome.refusals.extend(
                Refusal(c.codemod, c.path, c.line, final.reason, final.detail)
                for c in outcome.changes
            )
            outcome.changes.clear()
            current = source
    outcome.after = current
    return outcome


class _Runs:
    """`apply_codemod` with its results remembered: it is pure, and the final check that
    the whole set settles would otherwise repeat the runs made on the final text."""

    def __init__(self) -> None:
        self._done: list[tuple[Codemod, FileContext, str]] = []

    def apply(
        self,
        codemod: Codemod,
        file: FileContext,
        project: ProjectContext,
        tree: cst.MetadataWrapper,
    ) -> tuple[str, list[CodeChange], list[Refusal]]:
        new, found, refused = apply_codemod(codemod, file, project, tree)
        self._done.append((codemod, file, new))
        return new, found, refused

    def known(self, codemod: Codemod, file: FileContext) -> str | None:
        """The text `codemod` made of `file` (same text, path and targets) earlier, if any."""
        for done, seen, new in self._done:
            if (
                done is codemod
                and seen.source == file.source
                and seen.path == file.path
                and seen.targets == file.targets
            ):
                return new
        return None


def _parse(rel: str, source: str) -> cst.Module | Refusal:
    import libcst as cst

    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as e:
        return Refusal(ALL_CODEMODS, rel, e.raw_line, Reason.PARSE_ERROR, _syntax_message(e))
    except (RecursionError, ValueError) as e:
        return Refusal(ALL_CODEMODS, rel, None, Reason.PARSE_ERROR, f"libcst cannot parse it: {e}")


def _read_source(path: Path, rel: str) -> tuple[bytes, str] | Refusal:
    try:
        raw = path.read_bytes()
    except OSError as e:
        return Refusal(ALL_CODEMODS, rel, None, Reason.UNREADABLE, str(e.strerror or e))
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return Refusal(ALL_CODEMODS, rel, None, Reason.UNREADABLE, f"not UTF-8 (byte {e.start})")


def apply_codemod(
    codemod: Codemod,
    file: FileContext,
    project: ProjectContext,
    tree: cst.Module | cst.MetadataWrapper,
) -> tuple[str, list[CodeChange], list[Refusal]]:
    """Run one codemod's transformer (then the import adders/removers it scheduled) on a
    parsed file: the new text (`file.source` itself when nothing changed), the changes and
    the node-level refusals. Pure. Passing one `MetadataWrapper` for several codemods on the
    same text shares the metadata (scopes, qualified names), resolved once."""
    import libcst as cst
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

    wrapper = tree if isinstance(tree, cst.MetadataWrapper) else cst.MetadataWrapper(tree)
    context = CodemodContext(filename=file.path, wrapper=wrapper)
    run = FileRun(codemod, file, project, context)
    transformer = codemod.transformer(run)
    with transformer.resolve(wrapper):
        new_tree = wrapper.module.visit(transformer)
    if not run.changes:
        return file.source, run.changes, run.refusals
    if context.scratch.get(AddImportsVisitor.CONTEXT_KEY):
        new_tree = AddImportsVisitor(context).transform_module(new_tree)
    if context.scratch.get(RemoveImportsVisitor.CONTEXT_KEY):
        new_tree = RemoveImportsVisitor(context).transform_module(new_tree)
    return new_tree.code, run.changes, run.refusals


def _syntax_message(e: Exception) -> str:
    first = str(e).strip().splitlines()
    return f"libcst cannot parse it: {first[0] if first else type(e).__name__}"


# ---------------------------------------------------------------------------------------------
# Post-conditions


def _postconditions(
    codemod: Codemod,
    file: FileContext,
    project: ProjectContext,
    new: str,
    ruff: _Ruff,
    runs: _Runs,
) -> Veto | cst.MetadataWrapper:
    """The first post-condition the rewrite `new` of `file` fails, as a veto; when all hold,
    `new` parsed (for the codemods after this one)."""
    import libcst as cst

    compiled = _compiles(new, file.path)
    if compiled is not None:
        before = _compiles(file.source, file.path)
        detail = (
            f"the original does not compile on Python {sys.version_info.major}."
            f"{sys.version_info.minor} either ({before}), so the rewrite cannot be checked"
            if before is not None
            else f"the rewritten file does not compile: {compiled}"
        )
        return Veto(Reason.POSTCONDITION_COMPILE, detail)
    shifted = _shift(file.targets, _LineMap.between(file.source, new))
    again_file = FileContext.build(file.root, file.path, new, shifted)
    wrapper = cst.MetadataWrapper(cst.parse_module(new), unsafe_skip_copy=True)
    again, _, _ = runs.apply(codemod, again_file, project, wrapper)
    if again != new:
        return Veto(
            Reason.POSTCONDITION_IDEMPOTENCE,
            "a second run would change the file again: " + _first_diff(new, again),
        )
    added = ruff.new_diagnostics(file.path, file.source, new)
    if added:
        return Veto(
            Reason.POSTCONDITION_RUFF,
            "the rewrite adds ruff diagnostics: " + "; ".join(added[:3]),
        )
    return wrapper


def _whole_run_settles(
    relevant: Sequence[Codemod],
    project: ProjectContext,
    file: FileContext,
    wrapper: cst.MetadataWrapper,
    runs: _Runs,
) -> Veto | None:
    """Idempotence of the whole set: running every codemod again on the final `file`
    (`wrapper` holds its text parsed) changes nothing."""
    text = file.source
    for codemod in relevant:
        new = runs.known(codemod, file)
        if new is None:
            new, _, _ = runs.apply(codemod, file, project, wrapper)
        if new != text:
            return Veto(
                Reason.POSTCONDITION_IDEMPOTENCE,
                f"after all codemods ran, {codemod.id} would change the file again: "
                + _first_diff(text, new),
            )
    return None


def _compiles(text: str, filename: str) -> str | None:
    with warnings.catch_warnings():
        # Invalid escape sequences and the like warn at compile time; they are not errors.
        warnings.simplefilter("ignore")
        try:
            compile(text, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as e:
            return str(e)
    return None


def _first_diff(old: str, new: str) -> str:
    changed = [
        line
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    added = [line for line in changed if line.startswith("+")]
    shown = (added or changed or ["(whitespace only)"])[0]
    return f"`{shown.lstrip('+-').strip()}`"


class _Ruff:
    """`ruff check --select F401,F821,F811` on texts through stdin, old results cached."""

    def __init__(self) -> None:
        self._command: list[str] | None = None
        self._cache: dict[tuple[str, str], Counter[str]] = {}

    def command(self) -> list[str]:
        if self._command is None:
            beside = Path(sys.executable).with_name("ruff")
            if beside.is_file():
                self._command = [str(beside)]
            elif found := shutil.which("ruff"):
                self._command = [found]
            else:
                self._command = [sys.executable, "-m", "ruff"]
        return self._command

    def diagnostics(self, rel: str, text: str) -> Counter[str]:
        key = (rel, text)
        if key in self._cache:
            return self._cache[key]
        args = [
            *self.command(),
            "check",
            "--isolated",
            "--no-cache",
            "--exit-zero",
            "--select",
            RUFF_RULES,
            "--output-format",
            "json",
            "--stdin-filename",
            rel,
            "-",
        ]
        try:
            proc = subprocess.run(
                args,
                input=text,
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=_RUFF_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise CodefixError(rel, None, f"ruff could not run for the post-condition: {e}") from e
        try:
            found = json.loads(proc.stdout)
            counted: Counter[str] = Counter(
                f"{d['code']} {d['message']}" for d in found if isinstance(d, dict)
            )
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            message = (proc.stderr or proc.stdout).strip().splitlines()[:1]
            raise CodefixError(rel, None, f"ruff gave no readable result ({message or e})") from e
        self._cache[key] = counted
        return counted

    def new_diagnostics(self, rel: str, old: str, new: str) -> list[str]:
        # Compared by code and message, not position: an added import shifts every line.
        extra = self.diagnostics(rel, new) - self.diagnostics(rel, old)
        return sorted(extra.elements())


# ---------------------------------------------------------------------------------------------
# Line bookkeeping: changes and refusals are reported in lines of the original file, and SARIF
# targets (lines of the original) follow the text through earlier rewrites.


@dataclass(frozen=True, slots=True)
class _LineMap:
    """Maps lines of the current text back to the original and forward again (1-based)."""

    back_map: Mapping[int, int] | None
    forward_map: Mapping[int, int] | None

    @classmethod
    def identity(cls) -> _LineMap:
        return cls(None, None)

    @classmethod
    def between(cls, old: str, new: str) -> _LineMap:
        a, b = old.splitlines(), new.splitlines()
        back: dict[int, int] = {}
        forward: dict[int, int] = {}
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                for k in range(i2 - i1):
                    back[j1 + k + 1] = i1 + k + 1
                    forward[i1 + k + 1] = j1 + k + 1
            else:
                # Replaced or inserted lines belong to the first old line of the block; an old
                # line that was rewritten maps to the first line replacing it.
                for j in range(j1, j2):
                    back[j + 1] = min(i1 + (j - j1), max(i2 - 1, i1)) + 1
                for i in range(i1, i2):
                    forward[i + 1] = min(j1 + (i - i1), max(j2 - 1, j1)) + 1
        return cls(back, forward)

    def back(self, line: int) -> int:
        return line if self.back_map is None else self.back_map.get(line, line)

    def forward(self, line: int) -> int:
        return line if self.forward_map is None else self.forward_map.get(line, line)

    def then(self, later: _LineMap) -> _LineMap:
        """This map followed by `later` (current text → its rewrite)."""
        if later.back_map is None or later.forward_map is None:
            return self
        back = {new: self.back(old) for new, old in later.back_map.items()}
        if self.forward_map is None:
            forward = dict(later.forward_map)
        else:
            forward = {orig: later.forward(cur) for orig, cur in self.forward_map.items()}
        return _LineMap(back, forward)


def _shift(
    targets: Mapping[str, frozenset[int]] | None, lines: _LineMap
) -> Mapping[str, frozenset[int]] | None:
    if targets is None or lines.forward_map is None:
        return targets
    return {k: frozenset(lines.forward(n) for n in v) for k, v in targets.items()}


def _back(items: Iterable[_R], lines: _LineMap) -> list[_R]:
    if lines.back_map is None:
        return list(items)
    return [
        item if item.line is None else replace(item, line=lines.back(item.line)) for item in items
    ]


def _counts(
    selected: Sequence[Codemod], changes: Sequence[CodeChange], refusals: Sequence[Refusal]
) -> dict[str, CodemodCount]:
    counts: dict[str, CodemodCount] = {}
    for codemod in selected:
        mine = [c for c in changes if c.codemod == codemod.id]
        counts[codemod.id] = CodemodCount(
            changes=len(mine),
            refusals=sum(1 for r in refusals if r.codemod == codemod.id),
            files=len({c.path for c in mine}),
        )
    return counts
