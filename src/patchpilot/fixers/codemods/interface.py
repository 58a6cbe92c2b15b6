"""The seam every code-fix pattern ("codemod") implements, and the values a code fix reports.

A codemod is a small class: identity and metadata as class attributes (`id`, `cwe`, `tier`,
`title`, `rules`, an explanation in `docs/<id>.md`), guards at project and file scope
(`project_refusal`, `file_refusal`) and a libcst transformer (`transformer`) that rewrites
matching nodes and guards each node. The engine (`engine.run_codemods`) parses files, runs
codemods, checks post-conditions and turns every guard failure into a `Refusal`; a codemod
never writes files and never skips a candidate silently.

How to write a codemod
----------------------
1. Subclass `Codemod` in `fixers/codemods/<module>.py`; set `id` (kebab-case, stable: it is
   the name in reports, `--only` and the ledger), `cwe`, `tier`, `title`, `rules` (the Bandit,
   Ruff and Semgrep rule ids that flag the pattern: SARIF targeting and `# noqa: S506` /
   `# nosec B506` matching use them) and the prefilter that decides whether the codemod runs
   on a file at all: `hints` (substrings, one of which the file must contain, e.g.
   `("yaml",)`), `requires` (groups of words, the file holding a word of each group:
   `(("load", "full_load"),)`) and `modules` (top-level modules, a name under one of which
   must be able to resolve in the file: `("yaml",)`); override `relevant` for other tests
   (`FileContext.mentions`, `may_resolve` and `syntax` help). Parsing and libcst metadata
   are the expensive steps of a run, and most files need neither, so make the prefilter
   tight — but it must never reject a file the transformer would change or refuse. Derive
   it from what the transformer matches: each part of a qualified name libcst resolves is a
   word of the file (`os.chmod` needs `os` and `chmod`, whether spelled `os.chmod`, `o.chmod`
   after `import os as o` or `c` after `from os import chmod as c`), and its first part is a
   module the file imports from or a name it binds (`builtins.*` names are the exception).
   tests/codemods/test_cm_prefilter.py runs every codemod with and without prefilters and
   compares the results.
2. Write the PR text in `fixers/codemods/docs/<id>.md` (Markdown: what was unsafe, what the
   rewrite does, when it would not be safe and what patchpilot refuses). `explanation` reads it.
3. Project-wide guards go in `project_refusal(project)` and file-wide ones in
   `file_refusal(file, project)`; both return a `Veto(reason, detail)` or None. A veto does not
   hide anything: the engine still runs the transformer and records every site it would have
   changed as a `Refusal` with the veto's reason, and leaves the file untouched. Repository
   facts (YAML constructors registered anywhere, a global `socket.setdefaulttimeout`, …) are
   computed once per run with `project.fact(key, compute)`; `project.python_guard(...)` checks
   `requires-python`.
4. `transformer(run)` returns a `CodemodTransformer` subclass instance (a libcst
   `ContextAwareTransformer` with QualifiedName/Position/Parent/Scope metadata, each resolved
   on first use; the walk calls only the `visit_*` / `leave_*` methods the class defines and
   skips subtrees holding none of their node types, so keep all state in such methods).
   In `leave_*(original_node, updated_node)`:
   - match with `self.call_name(original_node, {"yaml.load", ...})` (alias-aware: it sees
     through `import yaml as y` and `from yaml import load as l`);
   - call `self.may_change(original_node)` first: it applies SARIF targeting and records a
     `suppressed` refusal for `# nosec` / `# noqa: S…` / `# pragma: no-remediate`;
   - on a node-level guard failure call `self.refuse(original_node, Reason.X, detail)` and
     return `updated_node` unchanged (every reason code is a `Reason` member: add one there,
     with a comment, rather than passing a string);
   - otherwise build the new node (use `append_arg` / `replace_arg` so commas, multi-line
     layout and comments are kept; `self.reference(original_node, "yaml", "SafeLoader")`
     spells a name with the file's existing import or schedules one, and returns None —
     refuse with `Reason.NAME_CONFLICT` — when the name is taken by something else; a name
     the rewrite replaced goes with `self.remove_unused_import_by_node(original_name)`), call
     `self.changed(original_node, "what changed")` and return it.
   Always pass original nodes to these helpers: metadata (lines, scopes) exists only for them.
   Other helpers: `origin_calls(expr)` (what call produced this name: `s = requests.Session()`,
   `with tarfile.open(p) as tf`), `find_arg`, `positional`, `splat`, `remove_arg`,
   `string_value`, `words_in` / `identifier_words` (name-based context guards).
5. Register an instance in `fixers/codemods/registry.py` and add golden `input.py → want.py`
   cases under `tests/assets/codemods/<id>/` plus one negative fixture per refusal reason.
The engine then keeps a file's rewrite only if it compiles, a second run changes nothing, and
`ruff --select F401,F821,F811` reports nothing new; otherwise every change becomes a refusal
(`postcondition-*`).
"""

from __future__ import annotations

import io
import re
import tokenize
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, ClassVar, TypeVar, cast

import libcst as cst
import libcst.matchers as m
from libcst.codemod import Codemod as LibcstCodemod
from libcst.codemod import CodemodContext, ContextAwareTransformer
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import (
    BaseMetadataProvider,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    QualifiedNameSource,
    Scope,
    ScopeProvider,
)

if TYPE_CHECKING:
    import ast

    from libcst.metadata import ProviderT
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    from patchpilot.model import Inventory

T = TypeVar("T")
_NodeT = TypeVar("_NodeT", bound=cst.CSTNode)


class Tier(StrEnum):
    """How far a codemod's rewrite can be trusted (fix-patterns.md).

    `A`: semantics-preserving under its guards (may be merged automatically when tests execute
    the changed line); `A-`: the same, behind a version or environment guard; `B`: deterministic
    but visibly changes behaviour (a reviewed change); `C`: detect and explain only.
    """

    A = "A"
    A_MINUS = "A-"
    B = "B"
    C = "C"


class Reason(StrEnum):
    """Reason codes of refusals (kebab-case; reports, tests and the ledger use the values).

    `Refusal.reason` is a plain `str` (the ledger stores it as such), but every code a
    codemod reports is a member here, so that reports can explain each one and a new codemod
    reuses an existing code before it invents one.
    """

    # engine and file scope
    PARSE_ERROR = "parse-error"
    UNREADABLE = "unreadable"
    SUPPRESSED = "suppressed"
    TEST_FILE = "test-file"
    POSTCONDITION_COMPILE = "postcondition-compile"
    POSTCONDITION_IDEMPOTENCE = "postcondition-idempotence"
    POSTCONDITION_RUFF = "postcondition-ruff"
    # Tier C: a known-vulnerable pattern with no deterministic fix; reported with advice only.
    TIER_C = "tier-c"
    # project scope
    PYTHON_TOO_OLD = "python-too-old"
    PYTHON_UNKNOWN = "python-unknown"
    CUSTOM_CONSTRUCTORS = "custom-constructors"
    CUSTOM_TAGS = "custom-tags"
    GLOBAL_SOCKET_TIMEOUT = "global-socket-timeout"
    # node scope
    KWARGS_SPLAT = "kwargs-splat"
    ARGS_SPLAT = "args-splat"
    LOADER_FROM_VARIABLE = "loader-from-variable"
    NOT_A_LITERAL = "not-a-literal"
    NAME_CONFLICT = "name-conflict"  # no free spelling for a name the rewrite needs
    SHELL_METACHARACTERS = "shell-metacharacters"
    SHELL_BUILTIN = "shell-builtin"
    SHELL_LIST_ARGV = "shell-list-argv"
    EXECUTABLE_SET = "executable-set"
    SECURITY_CONTEXT = "security-context"
    MEMBERS_ARGUMENT = "members-argument"
    STREAMING = "streaming"
    COMPOUND_STATEMENT = "compound-statement"
    EMPTY_COMMAND = "empty-command"
    CODEMOD_ERROR = "codemod-error"
    ROUNDTRIP = "roundtrip"
    # node scope, particular to one pattern (the codemod module named in the comment)
    DUMPS_OBJECTS = "dumps-objects"  # ruamel: the instance also dumps arbitrary objects
    NEEDS_DTD = "needs-dtd"  # lxml: the parser loads the DTD or validates against it
    XINCLUDE = "xinclude"  # lxml: the module processes XInclude (file scope)
    ENTITIES_REQUESTED = "entities-requested"  # lxml: `resolve_entities=True` spelled out
    DEFAULT_PARSER = "default-parser"  # lxml: the project replaces the default parser
    UNKNOWN_RECEIVER = "unknown-receiver"  # flask, paramiko: the object is not shown to be one
    NOT_DEV_ENTRY = "not-dev-entry"  # flask: the server start is no development entry point
    NON_LITERAL_SIZE = "non-literal-size"  # rsa-key-size: the key size is not a literal
    NON_LITERAL_CURVE = "non-literal-curve"  # rsa-key-size: the curve is not a literal
    WEIGHTS_ONLY_FALSE = "weights-only-false"  # torch: `weights_only=False` chosen explicitly
    PICKLE_MODULE = "pickle-module"  # torch: a custom `pickle_module` (weights_only rejects it)
    DEPENDENCY_TOO_OLD = "dependency-too-old"  # torch: the locked version lacks the argument
    INTERNAL_ENDPOINT = "internal-endpoint"  # requests-verify: a loopback or private host
    NEEDS_ABSENT_PATH = "needs-absent-path"  # tempfile: later code needs the path not to exist
    NOT_SIMPLE_ASSIGNMENT = "not-simple-assignment"  # tempfile: no `p = mktemp()` to rewrite
    NON_LITERAL_MODE = "non-literal-mode"  # world-writable: the mode depends on run time
    UNEVALUABLE_MODE = "unevaluable-mode"  # world-writable: an expression not evaluated
    STICKY_DIRECTORY = "sticky-directory"  # world-writable: sticky bit, shared by design
    NOT_A_STATEMENT = "not-a-statement"  # paramiko: the call is inside a larger expression


@dataclass(frozen=True, slots=True)
class CodeChange:
    """One rewrite a codemod made: the file (relative, `/`), the 1-based line, in plain words."""

    codemod: str
    path: str
    line: int
    description: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """One place a codemod would have rewritten but did not, with the reason code and why.

    `line` is None for a refusal about a whole file (a file that does not parse).
    """

    codemod: str
    path: str
    line: int | None
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Veto:
    """A project- or file-scope guard that failed: every site in scope becomes a refusal."""

    reason: str
    detail: str


# ---------------------------------------------------------------------------------------------
# Files


@dataclass(frozen=True, slots=True)
class Suppression:
    """The suppression comment on one line: `everything` for a bare `# nosec`, a bare `# noqa`
    or `# pragma: no-remediate`; otherwise the rule codes it names (`B506`, `S506`)."""

    comment: str
    everything: bool
    codes: frozenset[str]

    def covers(self, rules: Collection[str]) -> bool:
        return self.everything or any(rule.upper() in self.codes for rule in rules)


_NOSEC = re.compile(r"#\s*nosec\b(?P<rest>[^#]*)", re.IGNORECASE)
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z0-9,\s]+))?", re.IGNORECASE)
_PRAGMA = re.compile(r"#\s*pragma:\s*no-remediate\b", re.IGNORECASE)
_CODE = re.compile(r"\b[A-Z]+[0-9]+\b")


def parse_suppression(comment: str) -> Suppression | None:
    """The suppression a comment carries, or None (`# nosec B506,B602`, `# noqa: S506`)."""
    text = comment.strip()
    if _PRAGMA.search(text):
        return Suppression(text, True, frozenset())
    codes: set[str] = set()
    everything = False
    nosec = _NOSEC.search(text)
    if nosec:
        named = _CODE.findall(nosec.group("rest").upper())
        everything = everything or not named
        codes.update(named)
    noqa = _NOQA.search(text)
    if noqa:
        named = _CODE.findall((noqa.group("codes") or "").upper())
        everything = everything or not named
        codes.update(named)
    if not nosec and not noqa:
        return None
    return Suppression(text, everything, frozenset(codes))


# Every comment `parse_suppression` accepts contains one of these; a file without any has no
# suppression, and tokenizing it (pure Python, the slow part) can be skipped.
_MAY_SUPPRESS = re.compile(r"nosec|noqa|no-remediate", re.IGNORECASE)


def scan_suppressions(source: str) -> dict[int, Suppression]:
    """Suppression comments by 1-based line; real comments only (tokenize), not strings."""
    found: dict[int, Suppression] = {}
    if not _MAY_SUPPRESS.search(source):
        return found
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                sup = parse_suppression(tok.string)
                if sup is not None:
                    found[tok.start[0]] = sup
    except (tokenize.TokenError, SyntaxError, ValueError):
        # A file tokenize cannot read (libcst may still parse it): fall back to every `#`.
        for number, line in enumerate(source.splitlines(), start=1):
            if "#" in line:
                sup = parse_suppression(line[line.index("#") :])
                if sup is not None:
                    found[number] = sup
    return found


_TEST_DIRS = frozenset({"test", "tests", "testing"})
_WORDS = re.compile(r"\w+")
# `as`, then spaces, line breaks, continuations or comments (inside brackets), then a name.
_AS_NAME = re.compile(r"\bas(?:\s|\\|#[^\r\n]*+)++(\w+)")


def is_test_path(path: str) -> bool:
    """Test modules by the usual conventions: under `tests/`, `test_*.py`, `*_test.py`,
    `conftest.py`."""
    p = PurePosixPath(path)
    name = p.name
    return (
        name == "conftest.py"
        or name.startswith("test_")
        or name.endswith("_test.py")
        or any(part in _TEST_DIRS for part in p.parts[:-1])
    )


@dataclass(frozen=True, slots=True)
class FileContext:
    """One Python file as codemods see it.

    `path` is relative to `root` with `/` separators; `suppressions` maps 1-based lines to the
    suppression comment on them; `targets`, when given, restricts each codemod (by id) to nodes
    on those lines (SARIF targeting; a codemod missing from the mapping touches nothing).
    """

    root: Path
    path: str
    source: str
    is_test: bool
    suppressions: Mapping[int, Suppression]
    targets: Mapping[str, frozenset[int]] | None = None
    _cache: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        root: Path,
        path: str,
        source: str,
        targets: Mapping[str, frozenset[int]] | None = None,
    ) -> FileContext:
        return cls(root, path, source, is_test_path(path), scan_suppressions(source), targets)

    def suppression(self, rules: Collection[str], first: int, last: int) -> Suppression | None:
        """The comment suppressing any of `rules` on lines `first..last`, if any."""
        for line in range(first, last + 1):
            sup = self.suppressions.get(line)
            if sup is not None and sup.covers(rules):
                return sup
        return None

    # -- prefilter helpers (cheap, computed once per text) ----------------------------------

    @property
    def words(self) -> frozenset[str]:
        """Every word of the text (a maximal run of letters, digits and `_`), in code,
        comments and strings alike. Each identifier of the file is one of them, so each part
        of a qualified name libcst resolves here (`os` and `chmod` of `os.chmod`, through
        `import os as o` or `from os import chmod as c` alike) is one too."""
        if "words" not in self._cache:
            self._cache["words"] = frozenset(_WORDS.findall(self.source))
        return cast("frozenset[str]", self._cache["words"])

    def mentions(self, *words: str) -> bool:
        """Whether any of `words` is a word of the file (see `words`)."""
        return not self.words.isdisjoint(words)

    @property
    def aliases(self) -> frozenset[str]:
        """Every name following an `as` (`import numpy as np`, `from os import chmod as c`;
        `with` and `except` targets too): the only names whose qualified name can end in
        another word (`c` is `os.chmod`)."""
        if "aliases" not in self._cache:
            self._cache["aliases"] = frozenset(_AS_NAME.findall(self.source))
        return cast("frozenset[str]", self._cache["aliases"])

    @property
    def syntax(self) -> ast.Module | None:
        """The text parsed by the standard `ast` module (C speed, unlike libcst), None when
        it does not parse on this Python; for prefilters."""
        if "syntax" not in self._cache:
            import ast
            import warnings

            tree: ast.Module | None
            try:
                with warnings.catch_warnings():
                    # Invalid escape sequences and the like warn while parsing; no matter here.
                    warnings.simplefilter("ignore")
                    tree = ast.parse(self.source)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                tree = None
            self._cache["syntax"] = tree
        return cast("ast.Module | None", self._cache["syntax"])

    def may_resolve(self, *roots: str) -> bool:
        """Whether a qualified name under one of `roots` (top-level modules: `requests` for
        `requests.get`, `os` for `os.chmod`) can resolve in the file.

        libcst qualifies a name through the import or the binding that defines it, so the
        file must import from such a module (`import requests.api as api`, `from requests
        import get`) or bind that very name itself (`requests = make_session()`, a function
        or a parameter named `requests`). Sharper than `mentions(root)`, which comments, strings
        and other packages' paths (`from pip._vendor import requests`) also satisfy. True
        when `ast` cannot parse the file: nothing is ruled out then.
        """
        index = self._index()
        return index is None or not index.roots.isdisjoint(roots)

    def calls(self, names: Collection[str]) -> list[ast.Call] | None:
        """The calls (`ast` nodes) whose function libcst could qualify as one of `names`
        (`could_name`), in file order; None when `ast` cannot parse the file."""
        index = self._index()
        if index is None:
            return None
        if any(name.startswith("builtins.") for name in names):
            return list(index.every_call)
        found: dict[int, ast.Call] = {}
        for name in names:
            parts = name.split(".")
            for word in (parts[-1], _ANY_CALLEE, *(self.aliases & index.calls.keys())):
                for call in index.calls.get(word, ()):
                    if id(call) not in found and _could_name_ast(call.func, parts, self.aliases):
                        found[id(call)] = call
        return sorted(found.values(), key=lambda c: (c.lineno, c.col_offset))

    def calls_ending(self, word: str) -> list[ast.Call] | None:
        """The calls (`ast` nodes) whose function's spelling ends in `word` (`x.run(...)`,
        `run(...)`, `f().run[0](...)`), in walk order; None when `ast` cannot parse the file."""
        index = self._index()
        return None if index is None else list(index.calls.get(word, ()))

    def _index(self) -> _Index | None:
        if "index" not in self._cache:
            tree = self.syntax
            self._cache["index"] = None if tree is None else _Index.of(tree)
        return cast("_Index | None", self._cache["index"])

    def targeted(self, codemod: str, first: int, last: int) -> bool:
        """Whether a node on lines `first..last` is a target (always, without targeting)."""
        if self.targets is None:
            return True
        lines = self.targets.get(codemod, frozenset())
        return any(line in lines for line in range(first, last + 1))


_ANY_CALLEE = "*"  # calls of an expression `could_name` does not rule out anything for


@dataclass(frozen=True, slots=True)
class _Index:
    """What prefilters ask of a file's `ast`, gathered in one walk. `roots`: the first part of
    every qualified name the file can give a name (builtins aside): the top-level modules it
    imports from, and every name it binds other than by an import. `calls`: every call by the
    word its function's spelling ends in (`c` of `a.b().c[0](...)`)."""

    roots: frozenset[str]
    calls: Mapping[str, list[ast.Call]]
    every_call: tuple[ast.Call, ...]

    @classmethod
    def of(cls, tree: ast.Module) -> _Index:
        import ast

        roots: set[str] = set()
        calls: dict[str, list[ast.Call]] = {}
        every: list[ast.Call] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                every.append(node)
                calls.setdefault(_last_word(node.func), []).append(node)
            elif isinstance(node, ast.Import):
                roots.update(alias.name.split(".", 1)[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if not node.level and node.module:
                    roots.add(node.module.split(".", 1)[0])
            elif isinstance(node, ast.Name):
                if not isinstance(node.ctx, ast.Load):
                    roots.add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                roots.add(node.name)
            elif isinstance(node, ast.arg):
                roots.add(node.arg)
            elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
                if node.name:
                    roots.add(node.name)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                roots.add(node.rest)
        return cls(frozenset(roots), calls, tuple(every))


def _last_word(func: ast.expr) -> str:
    import ast

    while True:
        if isinstance(func, ast.Call):
            func = func.func
        elif isinstance(func, ast.Subscript):
            func = func.value
        elif isinstance(func, ast.Attribute):
            return func.attr
        elif isinstance(func, ast.Name):
            return func.id
        else:
            return _ANY_CALLEE


def _could_name_ast(expr: ast.expr, parts: Sequence[str], aliases: Collection[str]) -> bool:
    """`could_name` for an `ast` expression: the same spelling rules."""
    import ast

    if parts[0] == "builtins":
        return True
    while True:
        if isinstance(expr, ast.Call):
            expr = expr.func
        elif isinstance(expr, ast.Subscript):
            expr = expr.value
        elif isinstance(expr, ast.Attribute):
            if len(parts) < 2 or expr.attr != parts[-1]:
                return False
            expr, parts = expr.value, parts[:-1]
        elif isinstance(expr, ast.Name):
            return expr.id == parts[-1] or expr.id in aliases
        else:
            return True


# ---------------------------------------------------------------------------------------------
# Project


# Every Python release line a `requires-python` could allow; patch levels up to 40 cover every
# release made so far (3.6.15, 3.7.17, 3.8.20 are the highest).
_PYTHONS = tuple(f"2.7.{p}" for p in range(19)) + tuple(
    f"3.{minor}.{patch}" for minor in range(20) for patch in range(41)
)


@dataclass(frozen=True, slots=True)
class ProjectContext:
    """The project a run looks at: its root, `requires-python` (None when undeclared), locked
    versions (lazily read with `patchpilot.sources.discover.collect` unless an inventory is
    given) and repository facts computed once and cached (`fact`)."""

    root: Path
    requires_python: SpecifierSet | None
    inventory: Inventory | None = None
    notes: list[str] = field(default_factory=list, compare=False, repr=False)
    _facts: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def load(cls, root: Path, *, inventory: Inventory | None = None) -> ProjectContext:
        """Read `requires-python` from `pyproject.toml` or `setup.cfg` under `root`."""
        from patchpilot.fixers.codemods.project import read_requires_python

        spec, notes = read_requires_python(root)
        return cls(Path(root), spec, inventory, list(notes))

    def fact(self, key: str, compute: Callable[[ProjectContext], T]) -> T:
        """`compute(self)`, computed once per run and cached under `key`."""
        if key not in self._facts:
            self._facts[key] = compute(self)
        return cast("T", self._facts[key])

    @property
    def locked(self) -> Mapping[str, str]:
        """Locked PyPI versions by normalized name (empty when no lockfile can be read)."""
        from patchpilot.fixers.codemods.project import locked_versions

        return self.fact("locked", locked_versions)

    def python_files(self) -> tuple[str, ...]:
        """Every `.py` file of the project (relative, `/`), skipping virtualenvs and builds."""
        from patchpilot.fixers.codemods.project import python_files

        return self.fact("python-files", python_files)

    def read(self, rel: str) -> str | None:
        """A project file's text (cached), None when unreadable or not UTF-8."""
        from patchpilot.fixers.codemods.project import read_text

        return self.fact(f"text:{rel}", lambda p: read_text(p.root, rel))

    def python_guard(self, supported: Callable[[Version], bool], feature: str) -> Veto | None:
        """A `python-too-old` veto when some Python the project allows lacks `feature`
        (`supported(version)` False), `python-unknown` when `requires-python` is undeclared."""
        from packaging.version import Version

        if self.requires_python is None:
            return Veto(
                Reason.PYTHON_UNKNOWN,
                f"{feature} depends on the Python version; declare `requires-python` so "
                "patchpilot can tell which versions the project supports",
            )
        allowed = [Version(v) for v in self.requires_python.filter(_PYTHONS)]
        lacking = [v for v in allowed if not supported(v)]
        if lacking:
            return Veto(
                Reason.PYTHON_TOO_OLD,
                f"{feature} is missing on Python {lacking[0]}, which requires-python "
                f"`{self.requires_python}` allows",
            )
        return None


# ---------------------------------------------------------------------------------------------
# Codemods


@dataclass(slots=True)
class FileRun:
    """One codemod applied to one file: the inputs and what it found (filled by the
    transformer through `CodemodTransformer.changed` / `refuse`)."""

    codemod: Codemod
    file: FileContext
    project: ProjectContext
    context: CodemodContext
    changes: list[CodeChange] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)


class Codemod(ABC):
    """One known-pattern code fix. Subclasses set the class attributes and `transformer`."""

    id: ClassVar[str]
    cwe: ClassVar[tuple[int, ...]]
    tier: ClassVar[Tier]
    title: ClassVar[str]
    rules: ClassVar[tuple[str, ...]]
    hints: ClassVar[tuple[str, ...]] = ()
    requires: ClassVar[tuple[tuple[str, ...], ...]] = ()
    modules: ClassVar[tuple[str, ...]] = ()
    refuse_in_tests: ClassVar[bool] = False

    @property
    def explanation(self) -> str:
        """The Markdown PR text: `docs/<id>.md` shipped with the package, else the docstring."""
        from importlib.resources import files

        doc = files("patchpilot.fixers.codemods").joinpath("docs", f"{self.id}.md")
        try:
            return doc.read_text(encoding="utf-8")
        except (FileNotFoundError, OSError):
            return (type(self).__doc__ or self.title).strip()

    def relevant(self, file: FileContext) -> bool:
        """Cheap prefilter, tests in rising cost: the file contains one of `hints`
        (substrings), for each group of `requires` one of its words (`FileContext.mentions`),
        and a name under one of `modules` can resolve in it (`FileContext.may_resolve`).
        Each test left empty passes."""
        if self.hints and not any(h in file.source for h in self.hints):
            return False
        if not all(file.mentions(*group) for group in self.requires):
            return False
        return not self.modules or file.may_resolve(*self.modules)

    def project_refusal(self, project: ProjectContext) -> Veto | None:
        """A project-wide reason not to apply this codemod anywhere, or None."""
        del project
        return None

    def file_refusal(self, file: FileContext, project: ProjectContext) -> Veto | None:
        """A reason not to apply this codemod in `file`; by default test modules are refused
        when `refuse_in_tests` is set."""
        del project
        if self.refuse_in_tests and file.is_test:
            return Veto(Reason.TEST_FILE, "test modules are left alone by this codemod")
        return None

    @abstractmethod
    def transformer(self, run: FileRun) -> CodemodTransformer:
        """A fresh transformer for one file (`run` carries the file, project and context)."""


@dataclass(frozen=True, slots=True)
class _Imported:
    module: str
    obj: str | None
    alias: str | None


class _OnDemand(Mapping["ProviderT", Mapping[cst.CSTNode, object]]):
    """A wrapper's metadata by provider, each resolved on first access.

    Most walks meet no candidate node and never ask for positions or parents, and some
    codemods never ask for scopes: each of these is a full pass over the tree. The wrapper
    keeps what it resolved, so later codemods on the same text share it.
    """

    def __init__(self, wrapper: cst.MetadataWrapper, providers: Collection[ProviderT]) -> None:
        self._wrapper = wrapper
        self._providers = frozenset(providers)
        self._resolved: dict[ProviderT, Mapping[cst.CSTNode, object]] = {}

    def __getitem__(self, key: ProviderT) -> Mapping[cst.CSTNode, object]:
        found = self._resolved.get(key)
        if found is None:
            if key not in self._providers:
                raise KeyError(key)
            found = self._resolved[key] = self._wrapper.resolve(key)
        return found

    def __contains__(self, key: object) -> bool:
        return key in self._providers

    def __iter__(self) -> Iterator[ProviderT]:
        return iter(self._providers)

    def __len__(self) -> int:
        return len(self._providers)


@dataclass(frozen=True, slots=True)
class _Hooks:
    """The `visit_*` / `leave_*` methods a transformer class really defines: libcst's typed
    base class defines a no-op for every node type and child attribute, and looking each up
    by name on every node (and every attribute of it) is most of the cost of a walk."""

    visit: frozenset[str]
    leave: frozenset[str]
    attributes: bool

    @classmethod
    def of(cls, transformer: type[cst.CSTTransformer]) -> _Hooks:
        visit: set[str] = set()
        leave: set[str] = set()
        attributes = False
        for name in dir(transformer):
            kind, _, node_type = name.partition("_")
            if kind not in ("visit", "leave") or getattr(transformer, name) is getattr(
                cst.CSTTransformer, name, None
            ):
                continue
            if "_" in node_type:  # `visit_Call_func`: no node type has a `_` in its name
                attributes = True
            (visit if kind == "visit" else leave).add(node_type)
        return cls(frozenset(visit), frozenset(leave), attributes)


class _SubtreeTypes(BaseMetadataProvider[int]):
    """libcst metadata: the node types in each node's subtree (its own included), as a bit
    mask (`mask`). Computed by a plain recursion over the nodes' dataclass fields — the
    children libcst visits — several times faster than a libcst walk; a transformer then
    skips every subtree holding none of the node types it has methods for."""

    _bits: ClassVar[dict[str, int]] = {}
    _fields: ClassVar[dict[type[cst.CSTNode], tuple[str, ...]]] = {}

    @classmethod
    def mask(cls, names: Iterable[str]) -> int:
        """The mask of the node types named `names` (a type no tree held yet has no bit)."""
        found = 0
        for name in names:
            found |= cls._bits.get(name, 0)
        return found

    def _gen_impl(self, module: cst.Module) -> None:
        import dataclasses

        bits, fields = self._bits, self._fields
        computed: dict[cst.CSTNode, int] = {}

        def walk(node: cst.CSTNode) -> int:
            kind = type(node)
            own = bits.get(kind.__name__)
            if own is None:
                own = bits[kind.__name__] = 1 << len(bits)
            names = fields.get(kind)
            if names is None:
                names = fields[kind] = tuple(f.name for f in dataclasses.fields(kind))
            found = own
            for name in names:
                value = getattr(node, name)
                if isinstance(value, cst.CSTNode):
                    found |= walk(value)
                elif isinstance(value, tuple | list):
                    for item in value:
                        if isinstance(item, cst.CSTNode):
                            found |= walk(item)
            computed[node] = found
            return found

        walk(module)
        for node, found in computed.items():
            self.set_metadata(node, found)


# Transformer classes seen so far: their hooks, or None for a class with matcher decorators.
_PLAIN: dict[type[cst.CSTTransformer], _Hooks | None] = {}


class CodemodTransformer(ContextAwareTransformer):
    """Base of every codemod transformer: metadata, guards, reporting and import helpers.

    The metadata below is resolved on first use (`get_metadata` works as usual), and a class
    without libcst matcher decorators (`@m.visit`, `@m.call_if_inside`, …) calls only the
    `visit_*` / `leave_*` methods it defines, in the order libcst would.
    """

    METADATA_DEPENDENCIES = (
        QualifiedNameProvider,
        PositionProvider,
        ParentNodeProvider,
        ScopeProvider,
    )

    def __init__(self, run: FileRun) -> None:
        cls = type(self)
        if _PLAIN.get(cls) is not None:
            # libcst's constructor scans all ~1600 methods for matcher decorators, for every
            # instance; the first instance of this class showed it has none.
            LibcstCodemod.__init__(self, run.context)
            self._extra_visit_funcs = {}
            self._extra_leave_funcs = {}
            self._matchers = {}
        else:
            super().__init__(run.context)
            decorated = self._matchers or self._extra_visit_funcs or self._extra_leave_funcs
            _PLAIN[cls] = None if decorated else _Hooks.of(cls)
        self._hooks = _PLAIN[cls]
        self._prune: tuple[Mapping[cst.CSTNode, int], int] | None = None
        self.run = run
        self._imports: list[_Imported] | None = None

    # -- walking ----------------------------------------------------------------------------

    @contextmanager
    def resolve(self, wrapper: cst.MetadataWrapper) -> Iterator[None]:
        self.metadata = _OnDemand(wrapper, self.get_inherited_dependencies())
        hooks = self._hooks
        if hooks is not None and not hooks.attributes:
            masks = wrapper.resolve(_SubtreeTypes)
            self._prune = (masks, _SubtreeTypes.mask(hooks.visit | hooks.leave))
        try:
            yield
        finally:
            self.metadata = {}
            self._prune = None

    def on_visit(self, node: cst.CSTNode) -> bool:
        hooks = self._hooks
        if hooks is None:
            return super().on_visit(node)
        name = type(node).__name__
        if name in hooks.visit and getattr(self, f"visit_{name}")(node) is False:
            return False
        # A subtree without a node this class has a method for is left as it is, unvisited.
        prune = self._prune
        return prune is None or bool(prune[0].get(node, -1) & prune[1])

    def on_leave(self, original_node: _NodeT, updated_node: _NodeT) -> _NodeT | cst.RemovalSentinel:
        hooks = self._hooks
        if hooks is None:
            return super().on_leave(original_node, updated_node)
        name = type(original_node).__name__
        if name in hooks.leave:
            left: _NodeT | cst.RemovalSentinel = getattr(self, f"leave_{name}")(
                original_node, updated_node
            )
            return left
        return updated_node

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        if self._hooks is None or self._hooks.attributes:
            super().on_visit_attribute(node, attribute)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        if self._hooks is None or self._hooks.attributes:
            super().on_leave_attribute(original_node, attribute)

    # -- locating ---------------------------------------------------------------------------

    def lines(self, node: cst.CSTNode) -> tuple[int, int]:
        """First and last 1-based line of an original node."""
        pos = self.get_metadata(PositionProvider, node)
        return pos.start.line, pos.end.line

    def line(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        """Fully qualified names an original expression can refer to (alias-aware)."""
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def call_name(self, node: cst.Call, names: Collection[str]) -> str | None:
        """The name among `names` that the called function resolves to, or None."""
        if not self._may_name(node.func, names):
            return None
        found = self.qualified_names(node.func) & set(names)
        return min(found) if found else None

    def _may_name(self, func: cst.BaseExpression, names: Collection[str]) -> bool:
        """Whether `func` can resolve to one of `names` at all, told without metadata: most
        calls of a file cannot, and a file where none can never resolves its scopes."""
        aliases = self.run.file.aliases
        return any(could_name(func, name.split("."), aliases) for name in names)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.get_metadata(ParentNodeProvider, node, None)

    def scope(self, node: cst.CSTNode) -> Scope | None:
        return self.get_metadata(ScopeProvider, node, None)

    def origin_calls(self, expr: cst.BaseExpression) -> set[str]:
        """Qualified names of the callables whose result `expr` (an original node) holds.

        A call gives its own function's names; a plain name gives the functions called in
        every assignment to it that the scope knows (`s = requests.Session()`,
        `with tarfile.open(p) as tf`, annotated assignments). Empty when any assignment is not
        such a call (a parameter, an import, a loop variable): the type is unknown.
        """
        if isinstance(expr, cst.Call):
            return self.qualified_names(expr.func)
        if not isinstance(expr, cst.Name):
            return set()
        scope = self.scope(expr)
        if scope is None:
            return set()
        assignments = list(scope[expr.value])
        found: set[str] = set()
        for assignment in assignments:
            node = getattr(assignment, "node", None)
            value = self._assigned_value(node) if isinstance(node, cst.CSTNode) else None
            if not isinstance(value, cst.Call):
                return set()
            found |= self.qualified_names(value.func)
        return found

    def _assigned_value(self, target: cst.CSTNode) -> cst.BaseExpression | None:
        parent = self.parent(target)
        if isinstance(parent, cst.AssignTarget):
            assign = self.parent(parent)
            if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
                return assign.value
        if isinstance(parent, cst.AnnAssign) and parent.target is target:
            return parent.value
        if isinstance(parent, cst.AsName):
            item = self.parent(parent)
            if isinstance(item, cst.WithItem):
                return item.item
        return None

    # -- guards and reporting ---------------------------------------------------------------

    def may_change(self, node: cst.CSTNode) -> bool:
        """Targeting and suppression guard for an original node. Untargeted nodes are left
        alone quietly (no finding points at them); suppressed ones are recorded as refusals."""
        first, last = self.lines(node)
        codemod = self.run.codemod
        if not self.run.file.targeted(codemod.id, first, last):
            return False
        sup = self.run.file.suppression(codemod.rules, first, last)
        if sup is not None:
            self.refuse(node, Reason.SUPPRESSED, f"suppressed by `{sup.comment}`")
            return False
        return True

    def changed(self, node: cst.CSTNode, description: str) -> None:
        self.run.changes.append(
            CodeChange(self.run.codemod.id, self.run.file.path, self.line(node), description)
        )

    def refuse(self, node: cst.CSTNode, reason: str, detail: str) -> None:
        self.run.refusals.append(
            Refusal(self.run.codemod.id, self.run.file.path, self.line(node), reason, detail)
        )

    # -- imports ----------------------------------------------------------------------------

    def _gathered(self) -> list[_Imported]:
        if self._imports is None:
            found: list[_Imported] = []
            for imp in m.findall(self.module, m.Import() | m.ImportFrom()):
                if isinstance(imp, cst.Import):
                    for alias in imp.names:
                        name = _dotted(alias.name)
                        found.append(_Imported(name, None, _asname(alias)))
                elif isinstance(imp, cst.ImportFrom) and not imp.relative and imp.module:
                    if isinstance(imp.names, cst.ImportStar):
                        continue
                    module = _dotted(imp.module)
                    found.extend(
                        _Imported(module, _dotted(alias.name), _asname(alias))
                        for alias in imp.names
                    )
            self._imports = found
        return self._imports

    def _spellings(self, module: str, name: str) -> list[str]:
        """Every way the file's imports can spell `module.name`, in file order:
        `y.SafeLoader` (`import yaml as y`), `SafeLoader` (`from yaml import SafeLoader`),
        `etree.XMLParser` (`from lxml import etree`: a submodule imported from its package)."""
        spellings: list[str] = []
        for imp in self._gathered():
            if imp.obj is None:
                if imp.module == module:
                    spellings.append(f"{imp.alias or module}.{name}")
            elif imp.module == module and imp.obj == name:
                spellings.append(imp.alias or name)
            elif f"{imp.module}.{imp.obj}" == module:
                spellings.append(f"{imp.alias or imp.obj}.{name}")
        return list(dict.fromkeys(spellings))

    def _imports_only(self, scope: Scope, spelling: str, qualified: str) -> bool:
        """Whether `spelling` (`os`, `etree.XMLParser`) means `qualified` and nothing else at
        `scope`: every binding of its first name that the scope sees is an import (not a
        variable, parameter, function or class of that name, which a reader of `os.environ`
        would get instead), outside `if TYPE_CHECKING:`, and the name resolves to `qualified`
        through each of them."""
        head = spelling.split(".", maxsplit=1)[0]
        bindings = list(scope[head])
        if not bindings:
            return False
        for binding in bindings:
            node = getattr(binding, "node", None)
            if not isinstance(node, cst.Import | cst.ImportFrom) or self._type_checking_only(node):
                return False
        resolved = scope.get_qualified_names_for(spelling)
        return bool(resolved) and all(
            q.name == qualified and q.source is QualifiedNameSource.IMPORT for q in resolved
        )

    def _type_checking_only(self, node: cst.CSTNode) -> bool:
        parent = self.parent(node)
        while parent is not None:
            if isinstance(parent, cst.If) and m.matches(
                parent.test, m.Name("TYPE_CHECKING") | m.Attribute(attr=m.Name("TYPE_CHECKING"))
            ):
                return True
            parent = self.parent(parent)
        return False

    def reference(
        self,
        site: cst.CSTNode,
        module: str,
        name: str,
        *,
        like: cst.BaseExpression | None = None,
    ) -> cst.BaseExpression | None:
        """An expression for `module.name` valid at the original node `site`, or None.

        `like`, an original expression at `site` naming another member of `module` through
        the module (`etree.parse`, `ec.SECP192R1`), gives the spelling to follow: the same
        module expression (`etree.XMLParser`, `ec.SECP256R1`). Otherwise the file's own
        spelling is reused (`y.SafeLoader` after `import yaml as y`, `SafeLoader` after
        `from yaml import SafeLoader`, `etree.XMLParser` after `from lxml import etree`) where
        its first name is bound only by that import at `site`; otherwise an import is
        scheduled in the file's style (`from yaml import SafeLoader` where the file
        from-imports `yaml`, else `import yaml`) when the name it binds is free at `site` or
        already names the same module. None when every spelling clashes with something else
        of that name (a variable `os = ...`, a parameter `yaml`): the codemod then refuses
        with `Reason.NAME_CONFLICT`.
        """
        scope = self.scope(site)
        if scope is None:
            return None
        target = f"{module}.{name}"
        if (
            isinstance(like, cst.Attribute)
            and _dotted(like.value)
            and self.qualified_names(like.value) == {module}
        ):
            return cst.Attribute(value=like.value.deep_clone(), attr=cst.Name(name))
        for spelling in self._spellings(module, name):
            if self._imports_only(scope, spelling, target):
                return cst.parse_expression(spelling)
        from_style = any(i.module == module and i.obj is not None for i in self._gathered())
        if from_style and name not in scope:
            AddImportsVisitor.add_needed_import(self.context, module, name)
            return cst.Name(name)
        top = module.split(".", maxsplit=1)[0]
        if top not in scope or self._imports_only(scope, top, top):
            AddImportsVisitor.add_needed_import(self.context, module)
            return cst.parse_expression(target)
        return None

    def remove_unused_import_by_node(self, node: cst.CSTNode) -> None:
        """Schedule removal of the imports binding the names in the original node `node`, each
        kept if still used after the rewrite: pass the name a rewrite replaced (`ul` of
        `from yaml import unsafe_load as ul`), and its import goes whatever its alias."""
        try:
            RemoveImportsVisitor.remove_unused_import_by_node(self.context, node)
        except ValueError:
            # A relative import binds one of the names; libcst cannot name its module without
            # the package, so that import stays (the ruff post-condition reports it if unused).
            return

    def remove_unused_import(self, module: str, obj: str | None = None) -> None:
        """Schedule removal of `import module` / `from module import obj` (without an alias)
        if now unused; for a name in the code prefer `remove_unused_import_by_node`, which
        also finds `from module import obj as alias`."""
        RemoveImportsVisitor.remove_unused_import(self.context, module, obj)


def could_name(expr: cst.BaseExpression, parts: Sequence[str], aliases: Collection[str]) -> bool:
    """Whether libcst could give `expr` the qualified name `parts` (`["os", "chmod"]`); False
    only when it cannot. libcst qualifies the dotted spelling of an expression (`a.b().c[0]`
    is spelled `a.b.c`) by replacing its first name with what that name's binding stands for,
    and keeps the rest: so each attribute must be the matching part from the right, and the
    first name must be the part left over — unless it is an import alias (`aliases`:
    `c` of `from os import chmod as c` stands for `os.chmod`), which may stand for anything.
    A builtin's binding ignores the rest (`super().__init__`, even `" ".join`, are qualified
    `builtins.super`, `builtins.None`), so a `builtins.` name is never ruled out."""
    if parts[0] == "builtins":
        return True
    while True:
        if isinstance(expr, cst.Call):
            expr = expr.func
        elif isinstance(expr, cst.Subscript):
            expr = expr.value
        elif isinstance(expr, cst.Attribute):
            if len(parts) < 2 or expr.attr.value != parts[-1]:
                return False
            expr, parts = expr.value, parts[:-1]
        elif isinstance(expr, cst.Name):
            return expr.value == parts[-1] or expr.value in aliases
        else:
            return True


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _asname(alias: cst.ImportAlias) -> str | None:
    if alias.asname is None:
        return None
    return _dotted(cast("cst.BaseExpression", alias.asname.name))


# ---------------------------------------------------------------------------------------------
# Argument helpers (format-preserving)


def find_arg(call: cst.Call, keyword: str) -> cst.Arg | None:
    """The `keyword=` argument of `call`, if present."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg
    return None


def positional(call: cst.Call) -> list[cst.Arg]:
    """Plain positional arguments (no keyword, no star)."""
    return [a for a in call.args if a.keyword is None and not a.star]


def splat(call: cst.Call) -> str | None:
    """`"**"` if the call has `**kwargs`, `"*"` if it has `*args`, else None."""
    stars = {a.star for a in call.args}
    if "**" in stars:
        return "**"
    if "*" in stars:
        return "*"
    return None


def append_arg(call: cst.Call, keyword: str, value: cst.BaseExpression) -> cst.Call:
    """`call` with `keyword=value` appended, laid out like the arguments before it, every
    comment staying with the argument it annotates.

    The new argument goes where the next one would (on its own line when the arguments are one
    a line, with their indentation; after `, ` when they share a line), and takes over what
    followed the old last argument (a trailing comma, the line break before `)`):
    `f(\n    a,  # why\n)` becomes `f(\n    a,  # why\n    k=v,\n)`,
    `f(\n    a  # why\n)` becomes `f(\n    a,  # why\n    k=v\n)`, and `f(a  # why\n)`
    becomes `f(a, k=v  # why\n)`: a comment ending the line the new argument joins ends it
    still.
    """
    new = cst.Arg(
        value=value,
        keyword=cst.Name(keyword),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""),
            whitespace_after=cst.SimpleWhitespace(""),
        ),
    )
    args = list(call.args)
    if not args:
        # `f(\n)` / `f(  # why\n)`: what stood before `)` now follows the argument.
        return call.with_changes(
            args=[new.with_changes(whitespace_after_arg=call.whitespace_before_args)],
            whitespace_before_args=cst.SimpleWhitespace(""),
        )
    # The separator the next argument would get: the one between the last two arguments,
    # else the line break after `(`, else `, `; never a comment of theirs.
    before_comma: cst.BaseParenthesizableWhitespace = cst.SimpleWhitespace("")
    if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma):
        next_arg = _blank_first_line(args[-2].comma.whitespace_after)
        before_comma = args[-2].comma.whitespace_before
    elif isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
        next_arg = _blank_first_line(call.whitespace_before_args)
    else:
        next_arg = cst.SimpleWhitespace(" ")
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        # A trailing comma: the last argument keeps its comma (and the comment after it); the
        # new one takes the closing layout and a trailing comma of its own.
        after, closing = _split_layout(last.comma.whitespace_after, next_arg)
        args[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=after))
        new = new.with_changes(comma=last.comma.with_changes(whitespace_after=closing))
    else:
        after, closing = _split_layout(last.whitespace_after_arg, next_arg)
        args[-1] = last.with_changes(
            whitespace_after_arg=cst.SimpleWhitespace(""),
            comma=cst.Comma(whitespace_before=before_comma, whitespace_after=after),
        )
        new = new.with_changes(whitespace_after_arg=closing)
    return call.with_changes(args=[*args, new])


def _blank_first_line(ws: cst.BaseParenthesizableWhitespace) -> cst.BaseParenthesizableWhitespace:
    """`ws` without the comment (and comment lines) ending the line it starts on."""
    if isinstance(ws, cst.ParenthesizedWhitespace):
        return ws.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
    return ws


def _split_layout(
    own: cst.BaseParenthesizableWhitespace, next_arg: cst.BaseParenthesizableWhitespace
) -> tuple[cst.BaseParenthesizableWhitespace, cst.BaseParenthesizableWhitespace]:
    """What follows the old last argument (`own`: up to `)` or after its trailing comma),
    split in two: the whitespace after its new comma, and what follows the new argument.

    When both the old layout and the next argument's break the line, the old last argument
    keeps its line's comment (and any comment lines after it) and the new argument gets the
    bare closing layout; otherwise the new argument joins the old last one's line and the
    layout (comment included) moves behind it whole.
    """
    if isinstance(own, cst.ParenthesizedWhitespace) and isinstance(
        next_arg, cst.ParenthesizedWhitespace
    ):
        kept = own.with_changes(indent=next_arg.indent, last_line=next_arg.last_line)
        return kept, _blank_first_line(own)
    return next_arg, own


def replace_arg(call: cst.Call, keyword: str, value: cst.BaseExpression) -> cst.Call:
    """`call` with the value of its `keyword=` argument replaced (layout kept)."""
    args = [
        a.with_changes(value=value) if a.keyword is not None and a.keyword.value == keyword else a
        for a in call.args
    ]
    return call.with_changes(args=args)


def remove_arg(call: cst.Call, keyword: str) -> cst.Call:
    """`call` without its `keyword=` argument. The argument before it takes its comma, but
    keeps a comment of its own: `"a",  # why\n    k=v,\n)` becomes `"a",  # why\n)`."""
    args = list(call.args)
    for i, arg in enumerate(args):
        if arg.keyword is None or arg.keyword.value != keyword:
            continue
        if i > 0:
            prev = args[i - 1]
            prev_ws = prev.comma.whitespace_after if isinstance(prev.comma, cst.Comma) else None
            if (
                isinstance(prev.comma, cst.Comma)
                and isinstance(prev_ws, cst.ParenthesizedWhitespace)
                and (prev_ws.first_line.comment is not None or prev_ws.empty_lines)
            ):
                removed_ws = (
                    arg.comma.whitespace_after if isinstance(arg.comma, cst.Comma) else None
                )
                if isinstance(removed_ws, cst.ParenthesizedWhitespace):
                    closing = prev_ws.with_changes(
                        indent=removed_ws.indent, last_line=removed_ws.last_line
                    )
                else:
                    closing = prev_ws.with_changes(last_line=cst.SimpleWhitespace(""))
                args[i - 1] = prev.with_changes(
                    comma=prev.comma.with_changes(whitespace_after=closing)
                )
            elif isinstance(arg.comma, cst.Comma) or not isinstance(
                arg.whitespace_after_arg, cst.ParenthesizedWhitespace
            ):
                args[i - 1] = prev.with_changes(comma=arg.comma)
            else:
                # The removed argument was last and its line break closed the call.
                args[i - 1] = prev.with_changes(
                    comma=arg.comma, whitespace_after_arg=arg.whitespace_after_arg
                )
        del args[i]
        break
    return call.with_changes(args=args)


def string_value(node: cst.BaseExpression) -> str | None:
    """The value of a plain string literal (implicit concatenation included), else None;
    f-strings and byte strings are not literals for this purpose."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left = string_value(node.left)
        right = string_value(node.right)
        return None if left is None or right is None else left + right
    return None


_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z]|[0-9]|\b|_)|[A-Z]?[a-z]+|[0-9]+")


def identifier_words(name: str) -> list[str]:
    """The lower-case words of an identifier: `checkPassword_v2` → check, password, v, 2."""
    return [w.lower() for w in _WORD.findall(name)]


def names_in(node: cst.CSTNode) -> Iterable[str]:
    """Every identifier appearing in a node (names and attribute names), lower-cased."""
    for found in m.findall(node, m.Name()):
        yield cast("cst.Name", found).value.lower()


def words_in(node: cst.CSTNode) -> list[str]:
    """The identifier words of every name, attribute name and string literal in `node`
    (`request.user.is_admin` → request, user, is, admin)."""
    words: list[str] = []
    for found in m.findall(node, m.Name() | m.SimpleString()):
        if isinstance(found, cst.Name | cst.SimpleString):
            words += identifier_words(found.value)
    return words
