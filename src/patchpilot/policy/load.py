"""Reading and validating `.patchpilot.toml`, over the embedded default policy.

`load_policy(root)` reads `<root>/.patchpilot.toml` when it exists, else the embedded default
(`default.toml`, shipped in the package). A project's file is laid over the default: a key it
leaves out keeps the default's value, `tiers` add to or change the default tiers, and `rules`,
when given, replace the default rules as a whole (an ordered list cannot be merged without
guessing). Everything is checked before anything is used: an unknown key, a wrong type, a bad
date or level, a rule without a name, a duplicate rule name or an ignore without a reason or an
expiry raises one `PolicyError` naming the file and the key path (`rules[2].level`); a TOML
syntax error names the line. `validate_for_project` then refuses a policy that would merge
(level 3) in a project that has no test command to prove a fix with.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from patchpilot.errors import PolicyError
from patchpilot.policy.ignores import Ignore
from patchpilot.policy.model import (
    BREAKING,
    CODEMOD_TIERS,
    DEFAULT_TIERS,
    GATE_SEVERITIES,
    KINDS,
    LEVELS,
    REACHABILITY,
    REGULATED,
    REGULATED_MAX,
    SEVERITIES,
    STRATEGIES,
    UPGRADE_LEVELS,
    VERIFY_VERDICTS,
    GateSettings,
    MitigationLink,
    Policy,
    Rule,
    make_policy,
)

POLICY_FILE = ".patchpilot.toml"
EMBEDDED = "embedded default"
# A policy file is a few kilobytes; anything this big is not one.
MAX_POLICY_BYTES = 1024 * 1024

# `[verify]` (the test command and timeout) and `[codefix]` share the file but belong to
# `verify.testcmd` and the code fixes, which read and check them; they are not policy and do
# not enter its digest.
_OTHER_TABLES = ("verify", "codefix")
_TOP_KEYS = (
    "tier",
    "tiers",
    "rules",
    "ignores",
    "gate",
    "vex",
    "packages_deny",
    "mitigations",
    *_OTHER_TABLES,
)
_MITIGATION_KEYS = ("id", "mitigation", "expires", "reason")
_TIER_KEYS = ("max_level",)
_IGNORE_KEYS = ("id", "reason", "expires", "package", "path")
_GATE_KEYS = ("fail_on", "kev", "epss_at_least")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class _Spec:
    """How one rule condition is written: a list of `words`, a number in [low, high] (`open`:
    the high end excluded), a boolean, one severity word, or a list of package names."""

    kind: str
    words: tuple[str, ...] = ()
    low: float = 0.0
    high: float = math.inf
    open: bool = False


_CONDITIONS: dict[str, _Spec] = {
    "severity_at_least": _Spec("word", SEVERITIES),
    "cvss_at_least": _Spec("number", low=0.0, high=10.0),
    "epss_at_least": _Spec("number", low=0.0, high=1.0),
    "kev": _Spec("bool"),
    "upgrade_level": _Spec("words", UPGRADE_LEVELS),
    "strategy": _Spec("words", STRATEGIES),
    "kind": _Spec("words", KINDS),
    "reachability": _Spec("words", REACHABILITY),
    "verify": _Spec("words", VERIFY_VERDICTS),
    "tests_passed": _Spec("bool"),
    "reach_share_at_least": _Spec("number", low=0.0, high=1.0),
    "reach_share_above": _Spec("number", low=0.0, high=1.0, open=True),
    "breaking": _Spec("words", BREAKING),
    "release_age_days_at_least": _Spec("number", low=0.0),
    "packages": _Spec("names"),
    "packages_deny": _Spec("names"),
    "codemod_tier": _Spec("words", CODEMOD_TIERS),
}
_RULE_KEYS = ("name", "level", "description", *_CONDITIONS)


def load_policy(project_root: Path | str, path: Path | str | None = None) -> Policy:
    """The policy of the project at `project_root`: `path` when given (it must exist), else
    `<root>/.patchpilot.toml` when present, else the embedded default."""
    if path is None:
        candidate = Path(project_root) / POLICY_FILE
        if not candidate.exists():
            return default_policy()
        path = candidate
    file = Path(path)
    try:
        if not file.is_file():
            what = "not a regular file" if file.exists() else "no such policy file"
            raise PolicyError(file, None, what)
        size = file.stat().st_size
        if size > MAX_POLICY_BYTES:
            raise PolicyError(file, None, f"too large for a policy file ({size} bytes)")
        data = file.read_bytes()
    except OSError as e:
        raise PolicyError(file, None, f"cannot read: {e.strerror or e}") from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PolicyError(file, None, f"not UTF-8 text (byte {e.start})") from e
    return parse_policy(text, file)


def parse_policy(text: str, source: Path | str) -> Policy:
    """The policy written in `text` (`source` names it in messages), laid over the default."""
    return policy_from_document(_parse_toml(text, source), source)


def policy_from_document(doc: Mapping[str, Any], source: Path | str) -> Policy:
    """The policy a parsed TOML document describes, laid over the default."""
    return _build(_Reader(source).read(doc), _default_parts(), str(source))


@functools.cache
def default_policy() -> Policy:
    """The embedded default policy (`default.toml`)."""
    return _build(_default_parts(), None, EMBEDDED)


def validate_for_project(policy: Policy, root: Path | str, has_test_command: bool) -> None:
    """Refuse a policy that could merge (level 3) in a project without a test command.

    A rule granting level 3 that the tier allows must require test evidence
    (`tests_passed = true`, `verify = ["verified"]` or a reach share): without a test command
    nothing can prove that a fix works, so nothing may be merged on the policy's word alone.
    """
    if has_test_command or policy.max_level < 3:
        return
    for rule in policy.rules:
        if rule.level >= 3 and not rule.requires_test_evidence:
            raise PolicyError(
                policy.source,
                f"{rule.place}.level",
                f"rule {rule.name!r} grants level 3 (merge) without requiring test evidence, "
                f"but {root} has no test command, so nothing can show that a fix works; "
                f"lower the rule to level 2, require `tests_passed = true`, or configure a "
                f"test command",
            )


# --- parsing ------------------------------------------------------------------------------


def _parse_toml(text: str, source: Path | str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        line = int(found.group(1)) if found else None
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message) if found else message
        if found is None and "end of document" in message:
            line = text.count("\n") + 1
        raise PolicyError(source, line, f"invalid TOML: {reason}") from e
    except RecursionError as e:
        raise PolicyError(source, None, "invalid TOML: nested too deeply") from e


@dataclass(frozen=True, slots=True)
class _Parts:
    """What one file sets; None where it says nothing."""

    tier: str | None = None
    tiers: Mapping[str, int] | None = None
    rules: tuple[Rule, ...] | None = None
    ignores: tuple[Ignore, ...] | None = None
    gate: Mapping[str, Any] | None = None
    vex: tuple[str, ...] | None = None
    packages_deny: tuple[str, ...] | None = None
    mitigations: tuple[MitigationLink, ...] | None = None


@functools.cache
def _default_parts() -> _Parts:
    text = resources.files("patchpilot.policy").joinpath("default.toml").read_text("utf-8")
    return _Reader(EMBEDDED).read(_parse_toml(text, EMBEDDED))


def _build(own: _Parts, base: _Parts | None, source: str) -> Policy:
    """`own` laid over `base` (the default), checked as a whole, as a `Policy`."""
    tiers = dict(DEFAULT_TIERS)
    gate: dict[str, Any] = {}
    for parts in (base, own):
        if parts is None:
            continue
        tiers.update(parts.tiers or {})
        gate.update(parts.gate or {})

    def pick(name: str) -> Any:
        value = getattr(own, name)
        if value is None and base is not None:
            value = getattr(base, name)
        return value

    tier = pick("tier") or "internal"
    if tier not in tiers:
        raise PolicyError(
            source,
            "tier",
            f"tier {tier!r} is not defined; defined tiers: {', '.join(sorted(tiers))} "
            f"(add a [tiers.{_key(tier)}] table with max_level)",
        )
    return make_policy(
        tier=tier,
        tiers=tiers,
        rules=pick("rules") or (),
        ignores=pick("ignores") or (),
        gate=GateSettings(**gate),
        vex=pick("vex") or (),
        packages_deny=pick("packages_deny") or (),
        source=source,
        mitigations=pick("mitigations") or (),
    )


class _Reader:
    """Walks one parsed document, checking every key; errors name `source` and the key path."""

    def __init__(self, source: Path | str) -> None:
        self.source = source

    def fail(self, place: str, message: str) -> PolicyError:
        return PolicyError(self.source, place, message)

    def read(self, doc: object) -> _Parts:
        doc = self.keys(doc, "", _TOP_KEYS)
        tier = doc.get("tier")
        if tier is not None:
            tier = self.text(tier, "tier")
        return _Parts(
            tier=tier,
            tiers=self.tiers(doc["tiers"]) if "tiers" in doc else None,
            rules=self.rules(doc["rules"]) if "rules" in doc else None,
            ignores=self.ignores(doc["ignores"]) if "ignores" in doc else None,
            gate=self.gate(doc["gate"]) if "gate" in doc else None,
            vex=self.paths(doc["vex"], "vex") if "vex" in doc else None,
            packages_deny=(
                self.names(doc["packages_deny"], "packages_deny", allow_empty=True)
                if "packages_deny" in doc
                else None
            ),
            mitigations=self.mitigations(doc["mitigations"]) if "mitigations" in doc else None,
        )

    # --- structure

    def keys(self, table: object, place: str, allowed: Sequence[str]) -> Mapping[str, Any]:
        if not isinstance(table, dict):
            raise self.fail(place, f"expected a table, found {_what(table)}")
        for key in table:
            if key not in allowed:
                near = difflib.get_close_matches(key, allowed, n=1)
                hint = (
                    f"did you mean {near[0]!r}?"
                    if near
                    else f"expected one of: {', '.join(allowed)}"
                )
                raise self.fail(_join(place, key), f"unknown key {key!r}; {hint}")
        return table

    def table_list(self, value: object, place: str) -> list[Mapping[str, Any]]:
        if not isinstance(value, list):
            raise self.fail(
                place, f"expected an array of tables ([[{place}]]), found {_what(value)}"
            )
        for n, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(f"{place}[{n}]", f"expected a table, found {_what(item)}")
        return value

    # --- values

    def text(self, value: object, place: str, *, allow_empty: bool = False) -> str:
        if not isinstance(value, str):
            raise self.fail(place, f"expected a string, found {_what(value)}")
        if not allow_empty and not value.strip():
            raise self.fail(place, "must not be empty")
        return value

    def boolean(self, value: object, place: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(place, f"expected true or false, found {_what(value)}")
        return value

    def number(self, value: object, place: str, spec: _Spec) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(place, f"expected a number, found {_what(value)}")
        number = float(value)
        too_high = number >= spec.high if spec.open else number > spec.high
        if not math.isfinite(number) or number < spec.low or too_high:
            expected = f"at least {spec.low:g}"
            if not math.isinf(spec.high):
                expected += f" and {'below' if spec.open else 'at most'} {spec.high:g}"
            raise self.fail(place, f"{_show(value)} is out of range; expected {expected}")
        return number

    def level(self, value: object, place: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value not in LEVELS:
            raise self.fail(
                place,
                f"{_show(value)} is not a level; expected 1 (notify), 2 (branch for review) "
                "or 3 (merge)",
            )
        return value

    def word(self, value: object, place: str, words: Sequence[str]) -> str:
        if not isinstance(value, str) or value not in words:
            raise self.fail(place, f"{_show(value)} is not one of: {', '.join(words)}")
        return value

    def words(self, value: object, place: str, words: Sequence[str]) -> tuple[str, ...]:
        items = self.array(value, place)
        return tuple(
            dict.fromkeys(self.word(v, f"{place}[{n}]", words) for n, v in enumerate(items))
        )

    def names(self, value: object, place: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        items = self.array(value, place, allow_empty=allow_empty)
        names = (
            canonicalize_name(self.text(v, f"{place}[{n}]").strip()) for n, v in enumerate(items)
        )
        return tuple(sorted(set(names)))

    def paths(self, value: object, place: str) -> tuple[str, ...]:
        items = self.array(value, place, allow_empty=True)
        return tuple(self.text(v, f"{place}[{n}]") for n, v in enumerate(items))

    def array(self, value: object, place: str, *, allow_empty: bool = False) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(place, f"expected an array, found {_what(value)}")
        if not value and not allow_empty:
            raise self.fail(place, "an empty list never matches; leave the key out instead")
        return value

    def day(self, value: object, place: str) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.fail(place, f"{_show(value)} is not a date; write it as YYYY-MM-DD")

    # --- sections

    def tiers(self, value: object) -> dict[str, int]:
        if not isinstance(value, dict):
            raise self.fail("tiers", f"expected a table of tiers, found {_what(value)}")
        out: dict[str, int] = {}
        for name, body in value.items():
            place = f"tiers.{_key(name)}"
            if not name.strip():
                raise self.fail(place, "a tier needs a name")
            self.keys(body, place, _TIER_KEYS)
            if "max_level" not in body:
                raise self.fail(place, "missing max_level (1, 2 or 3)")
            level = self.level(body["max_level"], f"{place}.max_level")
            if name == REGULATED and level > REGULATED_MAX:
                raise self.fail(
                    f"{place}.max_level",
                    f"the regulated tier never goes past level {REGULATED_MAX} "
                    f"(branch for review); {level} is not allowed",
                )
            out[name] = level
        return out

    def rules(self, value: object) -> tuple[Rule, ...]:
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for n, body in enumerate(self.table_list(value, "rules")):
            place = f"rules[{n}]"
            self.keys(body, place, _RULE_KEYS)
            if "name" not in body:
                raise self.fail(place, "a rule needs a name")
            name = self.text(body["name"], f"{place}.name").strip()
            if name in seen:
                raise self.fail(
                    f"{place}.name", f"duplicate rule name {name!r} (also rules[{seen[name]}])"
                )
            seen[name] = n
            if "level" not in body:
                raise self.fail(place, f"rule {name!r} needs a level (1, 2 or 3)")
            level = self.level(body["level"], f"{place}.level")
            description = body.get("description", "")
            description = self.text(description, f"{place}.description", allow_empty=True)
            conditions: dict[str, Any] = {}
            for key, spec in _CONDITIONS.items():
                if key in body:
                    conditions[key] = self.condition(body[key], f"{place}.{key}", spec)
            rules.append(
                Rule(name=name, level=level, index=n, description=description.strip(), **conditions)
            )
        return tuple(rules)

    def condition(self, value: object, place: str, spec: _Spec) -> Any:
        if spec.kind == "word":
            return self.word(value, place, spec.words)
        if spec.kind == "words":
            return self.words(value, place, spec.words)
        if spec.kind == "bool":
            return self.boolean(value, place)
        if spec.kind == "names":
            return self.names(value, place)
        return self.number(value, place, spec)

    def ignores(self, value: object) -> tuple[Ignore, ...]:
        out: list[Ignore] = []
        for n, body in enumerate(self.table_list(value, "ignores")):
            place = f"ignores[{n}]"
            self.keys(body, place, _IGNORE_KEYS)
            for required, why in (
                ("id", "the ID of the vulnerability to ignore"),
                ("reason", "why the finding can be lived with"),
                ("expires", "a date (YYYY-MM-DD) after which the ignore no longer applies"),
            ):
                if required not in body:
                    raise self.fail(place, f"an ignore needs {required!r}: {why}")
            package = body.get("package")
            path = body.get("path")
            out.append(
                Ignore(
                    id=self.text(body["id"], f"{place}.id").strip(),
                    reason=self.text(body["reason"], f"{place}.reason").strip(),
                    expires=self.day(body["expires"], f"{place}.expires"),
                    package=None if package is None else self.text(package, f"{place}.package"),
                    path=None if path is None else self.text(path, f"{place}.path"),
                )
            )
        return tuple(out)

    def mitigations(self, value: object) -> tuple[MitigationLink, ...]:
        from patchpilot.fixers.config import MITIGATIONS

        out: list[MitigationLink] = []
        for n, body in enumerate(self.table_list(value, "mitigations")):
            place = f"mitigations[{n}]"
            self.keys(body, place, _MITIGATION_KEYS)
            for required, why in (
                ("id", "the ID of the finding the mitigation stands in for"),
                ("mitigation", "a configuration mitigation ID, e.g. django-debug-env"),
                ("expires", "the date (YYYY-MM-DD) by which the real fix must be merged"),
            ):
                if required not in body:
                    raise self.fail(place, f"a mitigation link needs {required!r}: {why}")
            ident = self.text(body["mitigation"], f"{place}.mitigation").strip()
            if ident not in MITIGATIONS:
                raise self.fail(
                    f"{place}.mitigation",
                    f"unknown mitigation {ident!r}; known: {', '.join(sorted(MITIGATIONS))}",
                )
            reason = body.get("reason", "")
            out.append(
                MitigationLink(
                    id=self.text(body["id"], f"{place}.id").strip(),
                    mitigation=ident,
                    expires=self.day(body["expires"], f"{place}.expires"),
                    reason="" if reason == "" else self.text(reason, f"{place}.reason").strip(),
                )
            )
        return tuple(out)

    def gate(self, value: object) -> dict[str, Any]:
        table = self.keys(value, "gate", _GATE_KEYS)
        out: dict[str, Any] = {}
        if "fail_on" in table:
            out["fail_on"] = self.word(table["fail_on"], "gate.fail_on", GATE_SEVERITIES)
        if "kev" in table:
            out["kev"] = self.boolean(table["kev"], "gate.kev")
        if "epss_at_least" in table:
            out["epss_at_least"] = self.number(
                table["epss_at_least"], "gate.epss_at_least", _CONDITIONS["epss_at_least"]
            )
        return out


def _join(place: str, key: str) -> str:
    return _key(key) if not place else f"{place}.{_key(key)}"


def _key(key: str) -> str:
    """A key as TOML would write it in a dotted path (quoted unless bare)."""
    if _BARE_KEY.match(key):
        return key
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _what(value: object) -> str:
    """How a TOML value is called, for messages (`an integer (3)`)."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a float ({value})"
    if isinstance(value, str):
        return f"a string ({_show(value)})"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, time):
        return "a time"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
