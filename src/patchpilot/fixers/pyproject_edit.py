"""Format-preserving edits of `pyproject.toml` requirements, for the uv fixer.

Three edits, each on the file's text through tomlkit so that every comment, quote style,
blank line and the order of entries survive, and each touching only the requirement strings
that name one package: `relax_dependency` rewrites the specifiers that forbid a target version
(PEP 621 `dependencies` and `optional-dependencies`, PEP 735 `dependency-groups`, uv's
`dev-dependencies`, `constraint-dependencies` and `override-dependencies`); `add_constraint`
adds or raises a `[tool.uv] constraint-dependencies` floor; `unpin_dependency` turns `==` pins
of a parent into `>=` so the resolver may move it. Inside a requirement only the specifier
text changes: the name as written, extras, marker, spacing around them and a parenthesised
specifier are kept. `relax_specifier` documents the exact rewriting rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from patchpilot.errors import FixError

# Where a pyproject.toml declares requirements, as key paths; `*` is every key of a table.
DECLARED: tuple[tuple[str, ...], ...] = (
    ("project", "dependencies"),
    ("project", "optional-dependencies", "*"),
    ("dependency-groups", "*"),
    ("tool", "uv", "dev-dependencies"),
)
CONSTRAINTS = ("tool", "uv", "constraint-dependencies")
OVERRIDES = ("tool", "uv", "override-dependencies")
EVERYWHERE: tuple[tuple[str, ...], ...] = (*DECLARED, CONSTRAINTS, OVERRIDES)

_CLAUSE = re.compile(r"^\s*(~=|===|==|!=|<=|>=|<|>)(\s*)([^\s,;()]+)\s*$")
_HEAD = re.compile(r"^(\s*)([A-Za-z0-9][A-Za-z0-9._-]*)(\s*(?:\[[^\]]*\])?\s*)(.*?)(\s*)$", re.S)
_FLOORS = (">=", ">", "~=")


class RelaxError(ValueError):
    """A specifier the rules below cannot rewrite into one that admits the target."""


@dataclass(frozen=True, slots=True)
class RequirementChange:
    """One requirement string edited (`before` None: a new entry), at its TOML key."""

    key: str
    before: str | None
    after: str


@dataclass(frozen=True, slots=True)
class ManifestChange:
    """The new file text, what changed in it, and the requirements left alone with why."""

    text: str
    changes: tuple[RequirementChange, ...] = ()
    left: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def describe(self) -> str:
        """`key: before → after` for each change, `; `-separated, for reasons and notes."""
        return "; ".join(
            f"{c.key}: {c.after!r} added"
            if c.before is None
            else f"{c.key}: {c.before!r} → {c.after!r}"
            for c in self.changes
        )


@dataclass(frozen=True, slots=True)
class Declared:
    """One requirement string of the file that names the package asked about."""

    key: str
    text: str
    requirement: Requirement


# ---------------------------------------------------------------------------------------------
# Specifier rewriting


def relax_specifier(specifier: str, target: str, *, floor: bool = False) -> str | None:
    """`specifier` (the text after the name, e.g. `>=1.0, <2`) rewritten to admit `target`.

    None when it admits `target` already (and, with `floor`, already has no lower bound
    below it). Otherwise each comma-separated clause is rewritten, in place and in order:

    - `==V` / `===V` (an exact pin) becomes `==T` / `===T`;
    - `==P.*` (a release series) becomes the series of T at the same depth (`==5.3.*` with
      T 5.4 → `==5.4.*`);
    - `!=V` and `!=P.*` are kept when they admit T and dropped when they forbid it;
    - every lower bound (`>=V`, `>V`) becomes `>=T`: an edited requirement never admits the
      versions below the fix again (several lower bounds collapse into the first);
    - `~=V` with n release components becomes `~=T` written with n components when T fits
      in n (`~=5.3.1`, T 5.4 → `~=5.4.0`), else `>=T,<S` where S is the series bound that
      `~=` would have given (`~=2.25`, T 3.0.5 → `>=3.0.5,<4`);
    - an upper bound that forbids T is lifted minimally at its own precision: `<V` with k
      release components becomes `<` T's first k components with the last one incremented
      (`<1.27`, T 1.27.1 → `<1.28`; `<2`, T 2.0.1 → `<3`); `<=V` becomes `<=T`; upper
      bounds that admit T stay;
    - when no exact pin and no lower bound is left, `>=T` is put first.

    Clauses keep their own spacing between operator and version; the separator of the
    original (`,` or `, `) joins them (for a single clause: `,` when it has no spaces). The
    result is checked to admit `target`; `RelaxError` when it cannot be made to (a clause
    that is not PEP 440, a target that is not a version).
    """
    try:
        want = Version(target)
    except InvalidVersion as e:
        raise RelaxError(f"target {target!r} is not a PEP 440 version") from e
    clauses = _clauses(specifier)
    spec = _specifier_set(specifier)
    admits = spec.contains(want, prereleases=True)
    if admits and (not floor or not _has_low_floor(clauses, want)):
        return None
    separator = _separator(specifier)
    out: list[tuple[str, str, str]] = []
    has_floor = False
    for op, gap, version in clauses:
        single = _single(op, version)
        keeps = single.contains(want, prereleases=True)
        if op in ("==", "===") and not version.endswith(".*"):
            out.append((op, gap, target if not keeps else version))
            has_floor = True
        elif op == "==":
            depth = len(version[:-2].split("."))
            out.append((op, gap, f"{_series(want, depth)}.*" if not keeps else version))
        elif op == "!=":
            if keeps:
                out.append((op, gap, version))
        elif op in (">=", ">"):
            if not has_floor:
                out.append((">=", gap, target))
                has_floor = True
        elif op == "~=":
            if not has_floor:
                out.extend(_compatible(version, want, target, gap))
                has_floor = True
            else:
                # A lower bound came first: keep only the series bound `~=` implies.
                depth = len(Version(version).release) - 1
                out.append(("<", gap, _next_series(want if not keeps else Version(version), depth)))
        elif op == "<":
            if keeps:
                out.append((op, gap, version))
            else:
                out.append((op, gap, _next_series(want, len(Version(version).release))))
        elif op == "<=":
            out.append((op, gap, version if keeps else target))
    if not has_floor:
        out.insert(0, (">=", "", target))
    text = separator.join(f"{op}{gap}{version}" for op, gap, version in out)
    if not _specifier_set(text).contains(want, prereleases=True):
        raise RelaxError(f"cannot rewrite {specifier!r} to admit {target}")
    return text


def unpin_specifier(specifier: str) -> str | None:
    """`specifier` with each exact pin `==V` / `===V` turned into `>=V`; None without pins."""
    clauses = _clauses(specifier)
    if not any(op in ("==", "===") and not v.endswith(".*") for op, _, v in clauses):
        return None
    return _separator(specifier).join(
        f"{'>=' if op in ('==', '===') and not v.endswith('.*') else op}{gap}{v}"
        for op, gap, v in clauses
    )


def _separator(specifier: str) -> str:
    """The original's clause separator; for one clause, `,` when written without spaces."""
    if "," in specifier:
        return ", " if re.search(r",\s", specifier) else ","
    return ", " if re.search(r"\s", specifier.strip()) else ","


def _clauses(specifier: str) -> list[tuple[str, str, str]]:
    if not specifier.strip():
        return []
    out: list[tuple[str, str, str]] = []
    for part in specifier.split(","):
        m = _CLAUSE.match(part)
        if m is None:
            raise RelaxError(f"not a version specifier clause: {part.strip()!r}")
        out.append((m[1], m[2], m[3]))
    return out


def _specifier_set(text: str) -> SpecifierSet:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier as e:
        raise RelaxError(f"invalid specifier {text!r}") from e


def _single(op: str, version: str) -> Specifier:
    try:
        return Specifier(f"{op}{version}")
    except InvalidSpecifier as e:
        raise RelaxError(f"invalid specifier {op}{version!r}") from e


def _has_low_floor(clauses: list[tuple[str, str, str]], want: Version) -> bool:
    """Whether the clauses leave versions below `want` allowed (no pin, or a floor below)."""
    if any(op in ("==", "===") and not v.endswith(".*") for op, _, v in clauses):
        return False
    floors = [v for op, _, v in clauses if op in _FLOORS]
    if not floors:
        return True
    try:
        return all(Version(v) < want for v in floors)
    except InvalidVersion as e:
        raise RelaxError(f"invalid version in {floors!r}") from e


def _release_text(want: Version, release: tuple[int, ...]) -> str:
    text = ".".join(str(n) for n in release)
    return f"{want.epoch}!{text}" if want.epoch else text


def _series(want: Version, depth: int) -> str:
    """T's first `depth` release components (zero-padded): the series T belongs to."""
    release = (*want.release, *(0,) * depth)[:depth]
    return _release_text(want, release)


def _next_series(want: Version, depth: int) -> str:
    """The first version after T's series of `depth` components (`<` bound at that depth)."""
    depth = max(depth, 1)
    release = list((*want.release, *(0,) * depth)[:depth])
    release[-1] += 1
    return _release_text(want, tuple(release))


def _compatible(version: str, want: Version, target: str, gap: str) -> list[tuple[str, str, str]]:
    try:
        depth = len(Version(version).release)
    except InvalidVersion as e:
        raise RelaxError(f"invalid version {version!r}") from e
    simple = not (want.pre or want.post is not None or want.dev is not None or want.local)
    if simple and len(want.release) <= depth:
        return [("~=", gap, _series(want, depth))]
    return [(">=", gap, target), ("<", gap, _next_series(want, depth - 1))]


# ---------------------------------------------------------------------------------------------
# Requirement strings


def _split(text: str) -> tuple[str, str, str, str, str, bool] | None:
    """A requirement string cut into (before the name, the name, extras part, specifier,
    the rest (marker and trailing space), parenthesised); None for URL requirements."""
    head, sep, marker = text.partition(";")
    m = _HEAD.match(head)
    if m is None:
        return None
    lead, name, extras, spec, trail = m[1], m[2], m[3], m[4], m[5]
    if spec.startswith("@"):
        return None
    parens = spec.startswith("(") and spec.endswith(")")
    if parens:
        spec = spec[1:-1]
    return lead, name, extras, spec, trail + sep + marker, parens


def rewrite_requirement(text: str, new_specifier: str) -> str:
    """`text` with its specifier replaced by `new_specifier`, everything else as written."""
    parts = _split(text)
    if parts is None:
        raise RelaxError(f"cannot edit the requirement {text!r}")
    lead, name, extras, _spec, rest, parens = parts
    body = f"({new_specifier})" if parens else new_specifier
    return f"{lead}{name}{extras}{body}{rest}"


def relax_requirement(text: str, target: str, *, floor: bool = False) -> str | None:
    """The requirement `text` rewritten so its specifier admits `target` (see
    `relax_specifier`); None when it admits it already."""
    parts = _split(text)
    if parts is None:
        raise RelaxError(f"a URL requirement has no version to relax: {text!r}")
    new = relax_specifier(parts[3], target, floor=floor)
    return None if new is None else _checked(text, rewrite_requirement(text, new))


def unpin_requirement(text: str) -> str | None:
    """The requirement `text` with `==V` pins turned into `>=V`; None when it has none."""
    parts = _split(text)
    if parts is None:
        return None
    new = unpin_specifier(parts[3])
    return None if new is None else _checked(text, rewrite_requirement(text, new))


def _checked(before: str, after: str) -> str:
    """`after`, once it parses to the same name, extras and marker as `before`."""
    try:
        old, new = Requirement(before), Requirement(after)
    except InvalidRequirement as e:
        raise RelaxError(f"the edit of {before!r} gave an invalid requirement {after!r}") from e
    if (
        canonicalize_name(old.name) != canonicalize_name(new.name)
        or old.extras != new.extras
        or str(old.marker) != str(new.marker)
    ):
        raise RelaxError(f"the edit of {before!r} changed more than its specifier: {after!r}")
    return after


# ---------------------------------------------------------------------------------------------
# pyproject.toml documents


def declared(
    text: str, name: str, where: tuple[tuple[str, ...], ...] = EVERYWHERE, *, path: str = ""
) -> tuple[Declared, ...]:
    """Every requirement string in `where` that names `name` (PEP 503-normalised)."""
    doc = _parse(text, path)
    return tuple(d for d, _, _ in _matching(doc, name, where))


def excluding(
    text: str, name: str, target: str, where: tuple[tuple[str, ...], ...] = EVERYWHERE
) -> tuple[Declared, ...]:
    """The requirements of `name` in `where` that hold it below `target`: they forbid it
    and are not already above it (see `above`)."""
    try:
        want = Version(target)
    except InvalidVersion:
        return ()
    return tuple(
        d
        for d in declared(text, name, where)
        if d.requirement.url is None
        and not d.requirement.specifier.contains(want, prereleases=True)
        and not above(d.requirement.specifier, want)
    )


def above(specifier: SpecifierSet, target: Version) -> bool:
    """Whether `specifier` only admits versions above `target` (a pin or a lower bound past
    it): such a requirement, e.g. one fork of a package pinned per Python version, does not
    hold the package back and relaxing it to `target` would move it down."""
    for spec in specifier:
        version = spec.version.removesuffix(".*")
        if spec.operator == "===" or spec.operator not in ("==", ">=", ">", "~="):
            continue
        try:
            bound = Version(version)
        except InvalidVersion:
            continue
        if spec.version.endswith(".*"):
            if bound > target and target.release[: len(bound.release)] != bound.release:
                return True
        elif bound > target or (spec.operator == ">" and bound == target):
            return True
    return False


def relax_dependency(
    text: str,
    name: str,
    target: str,
    where: tuple[tuple[str, ...], ...] = EVERYWHERE,
    *,
    path: str = "pyproject.toml",
) -> ManifestChange:
    """Rewrite every requirement of `name` in `where` that forbids `target` to admit it;
    a requirement already above `target` (`above`) stays as it is."""
    want = _version(target)
    doc = _parse(text, path)
    changes: list[RequirementChange] = []
    left: list[str] = []
    for found, array, index in _matching(doc, name, where):
        if want is not None and above(found.requirement.specifier, want):
            continue
        try:
            new = relax_requirement(found.text, target)
        except RelaxError as e:
            left.append(f"{found.key}: {e}")
            continue
        if new is not None:
            _replace(array, index, new)
            changes.append(RequirementChange(found.key, found.text, new))
    return _result(doc, text, changes, left)


def unpin_dependency(
    text: str,
    name: str,
    where: tuple[tuple[str, ...], ...] = EVERYWHERE,
    *,
    path: str = "pyproject.toml",
) -> ManifestChange:
    """Turn every `==V` pin of `name` in `where` into `>=V`."""
    doc = _parse(text, path)
    changes: list[RequirementChange] = []
    left: list[str] = []
    for found, array, index in _matching(doc, name, where):
        try:
            new = unpin_requirement(found.text)
        except RelaxError as e:
            left.append(f"{found.key}: {e}")
            continue
        if new is not None:
            _replace(array, index, new)
            changes.append(RequirementChange(found.key, found.text, new))
    return _result(doc, text, changes, left)


def add_constraint(
    text: str, name: str, target: str, *, path: str = "pyproject.toml"
) -> ManifestChange:
    """Make `[tool.uv] constraint-dependencies` hold `name>=target`.

    Existing entries for `name` are rewritten to admit `target` with `target` as their floor
    (`relax_specifier(..., floor=True)`); without a marker-free entry, `name>=target` is
    appended (the table and the array are created when missing). `override-dependencies`
    entries for `name` that forbid `target` are relaxed too, since an override replaces every
    other requirement and would keep the resolver from ever reaching it.
    """
    doc = _parse(text, path)
    changes: list[RequirementChange] = []
    left: list[str] = []
    unconditional = False
    for found, array, index in _matching(doc, name, (CONSTRAINTS, OVERRIDES)):
        is_constraint = found.key.startswith("tool.uv.constraint-dependencies")
        try:
            new = relax_requirement(found.text, target, floor=is_constraint)
        except RelaxError as e:
            left.append(f"{found.key}: {e}")
            continue
        if is_constraint and found.requirement.marker is None:
            unconditional = True
        if new is not None:
            _replace(array, index, new)
            changes.append(RequirementChange(found.key, found.text, new))
    if not unconditional:
        array = _constraint_array(doc, path)
        entry = f"{name}>={target}"
        array.append(entry)
        changes.append(
            RequirementChange(f"tool.uv.constraint-dependencies[{len(array) - 1}]", None, entry)
        )
    return _result(doc, text, changes, left)


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _parse(text: str, path: str) -> Any:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        return tomlkit.parse(text)
    except TOMLKitError as e:
        raise FixError(f"{path or 'pyproject.toml'}: invalid TOML: {e}") from e


def _result(
    doc: Any, text: str, changes: list[RequirementChange], left: list[str]
) -> ManifestChange:
    if not changes:
        return ManifestChange(text, (), tuple(left))
    import tomlkit

    return ManifestChange(tomlkit.dumps(doc), tuple(changes), tuple(left))


def _arrays(doc: Any, where: tuple[tuple[str, ...], ...]) -> Iterator[tuple[str, Any]]:
    """Each (dotted key, tomlkit array) the key paths in `where` name in the document."""
    from tomlkit.items import Array

    for spec in where:
        nodes: list[tuple[str, Any]] = [("", doc)]
        for part in spec:
            step: list[tuple[str, Any]] = []
            for key, node in nodes:
                if not hasattr(node, "items") or isinstance(node, Array):
                    continue
                if part == "*":
                    step.extend((f"{key}.{k}".lstrip("."), v) for k, v in node.items())
                elif part in node:
                    step.append((f"{key}.{part}".lstrip("."), node[part]))
            nodes = step
        yield from ((key, node) for key, node in nodes if isinstance(node, Array))


def _matching(
    doc: Any, name: str, where: tuple[tuple[str, ...], ...]
) -> Iterator[tuple[Declared, Any, int]]:
    wanted = canonicalize_name(name)
    for key, array in _arrays(doc, where):
        for index, item in enumerate(array):
            if not isinstance(item, str):
                continue  # `{include-group = ...}` tables of dependency groups
            try:
                requirement = Requirement(str(item))
            except InvalidRequirement:
                continue
            if canonicalize_name(requirement.name) == wanted:
                yield Declared(f"{key}[{index}]", str(item), requirement), array, index


def _replace(array: Any, index: int, text: str) -> None:
    """Put `text` at `index`, in the original's quoting where the text allows it."""
    import tomlkit
    from tomlkit.items import String, StringType

    old = array[index]
    literal = isinstance(old, String) and old.type in (StringType.SLL, StringType.MLL)
    if literal and ("'" in text or "\n" in text):
        literal = False
    array[index] = tomlkit.string(text, literal=literal)


def _constraint_array(doc: Any, path: str) -> Any:
    import tomlkit
    from tomlkit.items import Array

    tool = doc.get("tool")
    if tool is None:
        doc["tool"] = tomlkit.table(is_super_table=True)
        tool = doc["tool"]
    if not hasattr(tool, "get"):
        raise FixError(f"{path}: tool: expected a table")
    uv = tool.get("uv")
    if uv is None:
        tool["uv"] = tomlkit.table()
        uv = tool["uv"]
    if not hasattr(uv, "get"):
        raise FixError(f"{path}: tool.uv: expected a table")
    array = uv.get("constraint-dependencies")
    if array is None:
        uv["constraint-dependencies"] = tomlkit.array()
        array = uv["constraint-dependencies"]
    if not isinstance(array, Array):
        raise FixError(f"{path}: tool.uv.constraint-dependencies: expected an array")
    return array
