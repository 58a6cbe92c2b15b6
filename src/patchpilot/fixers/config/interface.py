"""The values a configuration mitigation produces: what it is, what it changed, what it refused.

A `Mitigation` describes one kind of configuration change (id, tier, CWE, Markdown text for the
pull request). A run over a project yields a `MitigationResult`: one `ChangeSet` with every
kept edit, a `ConfigChange` per edited setting, a `ConfigRefusal` per place that was left alone
and why (never a silent skip), and the `OracleCheck` runs (`nginx -t`, `manage.py check
--deploy`) that judged the edits before and after. `mitigation_vex` turns a kept change into
the data of an OpenVEX `not_affected` statement for the findings it mitigates, with an expiry,
so the mitigation is re-examined once the real fix can land.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from patchpilot.fixers.changeset import ChangeSet


class Reason(StrEnum):
    """Why a configuration place was left as it is (`ConfigRefusal.reason`)."""

    # The oracle fails on the untouched configuration: nothing can be proven about an edit.
    INVALID_BEFORE = "invalid-before"
    # The oracle rejected the edited configuration (nginx -t), so the edit was dropped.
    POSTCONDITION_NGINX_T = "postcondition-nginx-t"
    # `check --deploy` did not lose a warning, or gained one, with the edit: dropped.
    POSTCONDITION_CHECK_DEPLOY = "postcondition-check-deploy"
    # The setting is already stricter than the profile: applying the profile would lower it.
    ALREADY_STRICTER = "already-stricter"
    # No nginx binary to validate with.
    NO_NGINX = "no-nginx"
    # No Python interpreter that can import Django to run `check --deploy`.
    NO_ORACLE = "no-oracle"
    # DEBUG cannot be turned off: ALLOWED_HOSTS is empty and runserver would refuse to start.
    ALLOWED_HOSTS_EMPTY = "allowed-hosts-empty"
    # The settings module is not the production one (dev/local/test), or which one is
    # production cannot be told.
    SPLIT_SETTINGS = "split-settings"
    # No manage.py, wsgi.py or asgi.py names a settings module.
    NO_SETTINGS_MODULE = "no-settings-module"
    # The value is read from the environment (os.environ, env.bool, config(...)).
    ENV_DRIVEN = "env-driven"
    # The value is computed by an expression whose result cannot be edited safely.
    COMPUTED_VALUE = "computed-value"
    # The module's own value is already secure, yet an insecure one is in effect: something
    # after it (an import, a later module) sets it again.
    OVERRIDDEN = "overridden"
    # The setting is assigned under if/try/for/with: which assignment wins is not static.
    CONDITIONAL = "conditional"
    # The file uses syntax whose exact text positions cannot be followed (a Lua block):
    # it is read, but never edited in place.
    UNSUPPORTED_SYNTAX = "unsupported-syntax"
    # Detected and explained only (HSTS, forced HTTPS redirects): never applied automatically.
    TIER_C = "tier-c"


@dataclass(frozen=True, slots=True)
class Mitigation:
    """One kind of configuration mitigation.

    `tier` follows the fix-pattern tiers (A, A-, B, C: C is reported only); `cwe` lists CWE
    ids; `packages` are the purls (without version) of the software whose findings this
    mitigation can stand in for until they are fixed; `explanation` is Markdown for the pull
    request body.
    """

    id: str
    title: str
    tier: str
    cwe: tuple[str, ...]
    explanation: str
    packages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One setting a mitigation changed.

    `path` is relative to the project root (`/` separators); `line` is the setting's line in
    the file as changed (1-based); `before` is the value as written before (None: the setting
    was absent and has been added), `after` the value written.
    """

    mitigation: str
    path: str
    line: int
    key: str
    before: str | None
    after: str
    description: str


@dataclass(frozen=True, slots=True)
class ConfigRefusal:
    """A place a mitigation applies to but left alone; `line` in the untouched file (None when
    the setting is absent from it), `detail` says why in plain words."""

    mitigation: str
    path: str
    line: int | None
    reason: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class OracleCheck:
    """One run of the native checker on a temporary copy of the configuration.

    `tool` is `nginx -t` or `manage.py check --deploy`; `target` the project-relative file the
    run checked (the main nginx file, the settings module); `stage` is `before` (untouched
    copy) or `after` (with the accepted edits plus `trying`, the key being tried); `warnings`
    are the check ids Django reported (empty for nginx); `output` the tool's own words
    (shortened); `notes` what the copy had to stand in for (e.g. a missing certificate).
    """

    tool: str
    target: str
    stage: str
    ok: bool
    command: tuple[str, ...]
    output: str
    warnings: tuple[str, ...] = ()
    trying: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MitigationResult:
    """Everything one run of the configuration mitigations found, kept and refused.

    `changeset` holds the kept edits only (write it with `write_changeset`); `changes` and
    `refusals` are sorted by path, line and mitigation.
    """

    changeset: ChangeSet
    changes: tuple[ConfigChange, ...]
    refusals: tuple[ConfigRefusal, ...]
    checks: tuple[OracleCheck, ...]

    @property
    def mitigations(self) -> tuple[str, ...]:
        """Ids of the mitigations that changed something, in first-change order."""
        return tuple(dict.fromkeys(c.mitigation for c in self.changes))


@dataclass(frozen=True, slots=True)
class MitigationVex:
    """The data of one OpenVEX statement for findings a configuration change mitigates.

    `status` is always `not_affected` with justification `inline_mitigations_already_exist`;
    `expires` is the date after which the statement must not be trusted any more (the date
    by which the real fix, an upgrade, is expected), so a mitigation never hides a finding
    for good.
    """

    vulnerabilities: tuple[str, ...]
    mitigation: str
    path: str
    line: int
    impact_statement: str
    action_statement: str
    expires: date
    status: str = "not_affected"
    justification: str = "inline_mitigations_already_exist"


def mitigation_vex(
    change: ConfigChange, finding_ids: Sequence[str], expires: date
) -> MitigationVex:
    """The VEX data saying `finding_ids` are mitigated by `change` until `expires`.

    The finding ids are kept in the given order without duplicates; at least one is needed.
    """
    ids = tuple(dict.fromkeys(i.strip() for i in finding_ids if i.strip()))
    if not ids:
        raise ValueError("a mitigation VEX statement needs at least one finding id")
    where = f"{change.path}:{change.line}"
    shown_before = "unset" if change.before is None else change.before
    impact = (
        f"Mitigated by configuration: {change.key} is {change.after} (was {shown_before}) "
        f"in {where} ({change.mitigation})."
    )
    action = (
        f"Temporary: apply the upgrade that fixes {', '.join(ids)} by "
        f"{expires.isoformat()}; this statement expires then."
    )
    return MitigationVex(
        vulnerabilities=ids,
        mitigation=change.mitigation,
        path=change.path,
        line=change.line,
        impact_statement=impact,
        action_statement=action,
        expires=expires,
    )
