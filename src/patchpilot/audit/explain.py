"""`patchpilot explain ID`: the story of a finding, branch, commit, action or remediation, told
in plain words from the ledger alone.

`collect_story` starts from the events `ID` names (a finding ID or an alias a scan recorded, a
branch, a commit SHA or prefix, an action, a remediation or an event id) and follows shared
subjects: remediation, branch, commit, action and codemod subjects link transitively, so a
finding leads to its plan, the branch, its verification, the decision, the merge, a revert and
the reopening. Project-wide events (scan, gate) are shown but not followed, and findings met on
the way only bring in the scan and suppression events that describe them, so one story does not
swallow every other finding of the project. `explain_data` returns the story as JSON-ready data
and `explain` as text: one paragraph per event, in the order they were recorded, written from
the payload keys each kind of record carries (a missing key leaves a shorter sentence, never an
error).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from patchpilot.audit.ledger import Ledger, LedgerEvent
from patchpilot.errors import LedgerError

LINK_PREFIXES = ("remediation:", "branch:", "commit:", "action:", "codemod:")
# Events about a whole project: shown when they name a subject of the story, never followed.
HUB_KINDS = frozenset({"scan", "gate"})
# What a finding met along the way (not the one asked about) contributes to the story.
CONTEXT_KINDS = ("scan", "suppress")
LEVELS = {1: "notify (report only)", 2: "branch for review", 3: "merge", 4: "fix kind", 5: "deploy"}


@dataclass(frozen=True, slots=True)
class Story:
    """The events connected to `query`, in ledger order; `findings` are those it is about."""

    query: str
    matched: tuple[str, ...]
    findings: tuple[str, ...]
    events: tuple[LedgerEvent, ...]


def collect_story(ledger: Ledger, ident: str) -> Story:
    """Every event connected to `ident`; `LedgerError` when the ledger knows nothing of it."""
    query = ident.strip()
    start: list[LedgerEvent] = []
    hit = ledger.get(query) if query.lower().startswith("ev-") else None
    if hit is not None:
        start.append(hit)
        matched: tuple[str, ...] = (hit.event_id,)
    else:
        matched = ledger.subjects_matching(query)
        if not matched:
            matched = ledger.findings_with_alias(query)
    if not matched:
        raise LedgerError(
            f"{query!r}: no ledger event is about this id in {ledger.where} (tried findings and "
            "their aliases, branch, commit (7+ hex digits), action, remediation and event ids)"
        )
    events: dict[int, LedgerEvent] = {}
    followed: set[str] = set()
    frontier: set[str] = {s for s in matched if not s.startswith("ev-")}
    met_findings: set[str] = set()
    asked_findings = {s for s in frontier if _is_finding(s)}

    def take(ev: LedgerEvent) -> None:
        if ev.seq in events:
            return
        events[ev.seq] = ev
        if ev.kind in HUB_KINDS:
            return
        for s in ev.subjects:
            if s.startswith(LINK_PREFIXES) and s not in followed:
                frontier.add(s)
            elif _is_finding(s):
                met_findings.add(s)

    for ev in start:
        take(ev)
    while frontier:
        batch = frontier - followed
        followed.update(batch)
        frontier.clear()
        for ev in ledger.events_about(batch):
            take(ev)
    context = met_findings - asked_findings
    if context:
        for ev in ledger.events_about(context, kinds=CONTEXT_KINDS):
            events.setdefault(ev.seq, ev)
    ordered = tuple(events[k] for k in sorted(events))
    findings = tuple(sorted(asked_findings | met_findings))
    return Story(query=query, matched=tuple(matched), findings=findings, events=ordered)


def explain_data(ledger: Ledger, ident: str) -> dict[str, Any]:
    """The story as JSON-ready data: each event with its payload and its plain-words text."""
    story = collect_story(ledger, ident)
    return _story_data(story)


def explain(ledger: Ledger, ident: str) -> str:
    """The story as text, one paragraph per event."""
    return render_story(explain_data(ledger, ident))


def render_story(data: Mapping[str, Any]) -> str:
    events: list[Mapping[str, Any]] = list(data.get("events", []))
    lines = [_headline(data)]
    if not data.get("intact", True):
        lines.append(
            "WARNING: some events below no longer match their hashes (they were edited); "
            "run `patchpilot ledger verify`."
        )
    for number, ev in enumerate(events, start=1):
        lines.append("")
        who = str(ev.get("actor") or "unknown")
        lines.append(
            f"{number}. {_when(ev.get('at'))} — {ev.get('kind')} by {who} ({ev.get('event_id')})"
        )
        lines.extend(f"   {sentence}" for sentence in ev.get("text", []))
    return "\n".join(lines) + "\n"


# --- building the data --------------------------------------------------------------------------


def _story_data(story: Story) -> dict[str, Any]:
    findings = set(story.findings)
    rendered: list[dict[str, Any]] = []
    previous_context: Mapping[str, Any] | None = None
    for ev in story.events:
        text = describe(ev, findings)
        if ev.context and ev.context != previous_context:
            note = _context_note(ev.context)
            if note:
                text.append(note)
            previous_context = ev.context
        if not ev.intact:
            text.append("WARNING: this event's content no longer matches its hash (edited).")
        rendered.append({**ev.to_json(), "intact": ev.intact, "text": text})
    return {
        "query": story.query,
        "matched": list(story.matched),
        "findings": list(story.findings),
        "intact": all(ev.intact for ev in story.events),
        "events": rendered,
    }


def _headline(data: Mapping[str, Any]) -> str:
    events: list[Mapping[str, Any]] = list(data.get("events", []))
    query = str(data.get("query"))
    matched = [str(m) for m in data.get("matched", [])]
    about = f"Story of {query}"
    if matched and matched != [query]:
        about += f" ({', '.join(matched)})"
    if not events:
        return f"{about}: no events."
    span = f"from {_when(events[0].get('at'))} to {_when(events[-1].get('at'))}"
    count = f"{len(events)} event" + ("" if len(events) == 1 else "s")
    return f"{about}: {count} {span}."


def describe(ev: LedgerEvent, findings: Iterable[str] = ()) -> list[str]:
    """Plain-words sentences for one event; falls back to its summary."""
    handler = _DESCRIBERS.get(ev.kind)
    wanted = set(findings)
    try:
        text = handler(ev, wanted) if handler is not None else []
    except (TypeError, ValueError, AttributeError):  # a payload of an unexpected shape
        text = []
    text = [t for t in text if t]
    return text or [_sentence(ev.summary) or f"{ev.kind} event."]


def _scan(ev: LedgerEvent, wanted: set[str]) -> list[str]:
    project = _text(ev.inputs.get("project"))
    briefs = [b for b in _list(ev.outcome.get("findings")) if isinstance(b, Mapping)]
    advisories = _mapping(ev.inputs.get("advisories"))
    shown = [b for b in briefs if _text(b.get("id")) in wanted] or ([] if wanted else briefs)
    where = f"Scanning {project}" if project else "A scan"
    out: list[str] = []
    if shown:
        found = "; ".join(_finding_phrase(b, advisories) for b in shown)
        out.append(f"{where} found {found}.")
    if len(briefs) > len(shown):
        others = len(briefs) - len(shown)
        out.append(
            f"{'It' if shown else where} reported {others} other finding"
            f"{'' if others == 1 else 's'} ({len(briefs)} in all)."
        )
    elif not briefs:
        out.append(f"{where} found nothing.")
    digest = _text(ev.inputs.get("store_digest"))
    if digest:
        out.append(f"Matched against the advisory store with digest {_short(digest)}.")
    return out


def _finding_phrase(brief: Mapping[str, Any], advisories: Mapping[str, Any]) -> str:
    fid = _text(brief.get("id")) or "an advisory"
    records = _mapping(brief.get("records"))
    modified = _text(records.get(fid)) or _text(advisories.get(fid))
    head = f"advisory {fid}" + (f" (modified {modified})" if modified else "")
    aliases = [a for a in (_text(x) for x in _list(brief.get("aliases"))) if a]
    if aliases:
        head += ", also known as " + ", ".join(aliases)
    other_records = [
        f"{rid} modified {mod}" for rid, mod in records.items() if rid != fid and _text(mod)
    ]
    if other_records:
        head += " (records " + ", ".join(other_records) + ")"
    package = _text(brief.get("package"))
    version = _text(brief.get("version"))
    ecosystem = _text(brief.get("ecosystem"))
    if package:
        head += f", in {package}" + (f" {version}" if version else "")
        if ecosystem:
            head += f" ({ecosystem})"
    severity = _text(brief.get("severity"))
    if severity:
        head += f", severity {severity}"
    fixed = [f for f in (_text(x) for x in _list(brief.get("fixed_versions"))) if f]
    if fixed:
        head += ", fixed in " + ", ".join(fixed)
    return head


def _suppress(ev: LedgerEvent, wanted: set[str]) -> list[str]:
    by = _text(ev.inputs.get("by"))
    source = _text(ev.inputs.get("source"))
    how = {"vex": "a VEX statement", "ignore": "a policy ignore"}.get(by or "", by or "")
    why = _text(ev.outcome.get("justification")) or _text(ev.outcome.get("reason"))
    subjects = _findings_of(ev) or ["The finding"]
    text = f"{', '.join(subjects)} suppressed"
    if how:
        text += f" by {how}"
    if source:
        text += f" from {source}"
    if why:
        text += f": {why}"
    expires = _text(ev.outcome.get("expires"))
    if expires:
        text += f" (until {expires})"
    return [text + "."]


def _plan(ev: LedgerEvent, wanted: set[str]) -> list[str]:
    o = ev.outcome
    rid = _text(o.get("remediation")) or _prefixed(ev, "remediation:")
    kind = _text(o.get("kind")) or "fix"
    package = _text(o.get("package"))
    old, new = _text(o.get("from")), _text(o.get("to"))
    for_findings = _findings_of(ev)
    head = f"Planned {kind}" + (f" {rid}" if rid else "")
    if for_findings:
        head += f" for {', '.join(for_findings)}"
    if package and new:
        head += f": {package} from {old or '?'} to {new}"
    elif package:
        head += f": no fixing version of {package} {old or ''}".rstrip()
    details = []
    level = _text(o.get("upgrade_level"))
    if level:
        details.append(f"{level}-level upgrade" if level != "none" else "no upgrade")
    strategy = _text(o.get("strategy"))
    if strategy:
        details.append(f"strategy {strategy}")
    if details:
        head += f" ({', '.join(details)})"
    out = [head + "."]
    reason = _text(o.get("reason"))
    if reason:
        out.append(f"Why: {_sentence(reason)}")
    breaking = o.get("breaking")
    if isinstance(breaking, str) and breaking:
        out.append(f"Breaking-change check: {breaking}.")
    elif isinstance(breaking, list) and breaking:
        parts = []
        for b in breaking:
            if isinstance(b, Mapping):
                name = _text(b.get("package")) or "?"
                verdict = _text(b.get("verdict")) or "unknown"
                move = f" {b.get('from')}→{b.get('to')}" if b.get("to") else ""
                parts.append(f"{name}{move}: {verdict}")
        if parts:
            out.append("Breaking-change check: " + "; ".join(parts) + ".")
    left = [x for x in _list(o.get("left_open")) if x]
    if left:
        out.append(f"Left open by this fix: {', '.join(_flat(x) for x in left)}.")
    return out


def _branch(ev: LedgerEvent, wanted: set[str]) -> list[str]:
    o = ev.outcome
    branch = _text(o.get("branch")) or _prefixed(ev, "branch:")
    commit = _text(o.get("commit")) or _prefixed(ev, "commit:")
    base = _text(ev.inputs.get("base_commit"))
    text = f"Prepared branch {branch or '?'}"
    if commit:
        text += f" at commit {_sha(commit)}"
    if base:
        text += f" from {_sha(base)}"
    rems = _all_prefixed(ev, "remediation:")
    if rems:
        text += f" for {', '.join(rems)}"
    out = [text + "."]
    files = [f for f in (_text(x) for x in _list(o.get("files"))) if f]
    if files:
        out.append(f"Changed files: {', '.join(files)}.")
    return out


def _verify(ev: LedgerEvent, wanted: set[str]) -> list[str]:
    o = ev.outcome
    branch = _prefixed(ev, "branch:")
    verdict = _text(o.get("verdict")) or "unknown"
    text = f"Tests on {branch or 'the branch'}: verdict {verdict}"
    summary = _text(o.get("summary"))
    if summary:
        text += f" — {summary}"
    out = [_sentence(text)]
    before, after = _counts(o.get("tests_before")), _counts(o.get("tests_after"))
    if before or after:
        out.append(f"Before the fix: {before or 'not run'}; after: {after or 'not run'}.")
    share = o.get("reach_share")
    if isinstance(share, int | float) and not isinstance(share, bool):
        out.append(f"Passing tests executed {share:.0%} of the vulnerable code.")
    elif "reach_share" in o:
        out.append("Whether tests execute the vulnerable code was not measured.")
    digest = _text(o.get("evidence_digest"))
    if digest:
        out.append(f"Evidence digest {_short(digest)}.")
    return out


def _decide(ev: LedgerEvent, wanted: set[str]) -> list[str]:
    o = ev.outcome
    level = o.get("level")
    rule = _text(o.get("rule"))
    tier = _text(o.get("tier"))
    name = LEVELS.get(level, "") if isinstance(level, int) else ""
    granted = f"level {level}" + (f" ({name})" if name else "") if level is not None else "a level"
    text = "Policy" + (f" rule {rule!r}" if rule else "") + f" granted {granted}"
    if tier:
        text += f" under tier {tier!r}"
    branch = _prefixed(ev, "branch:")
    if branch:
        text += f" to {branch}"
    capped = _text(o.get("capped_by"))
    if capped:
        text += f", capped by {capped}"
    reasons = [r for r in (_text(x) for x in _list(o.get("reasons"))) if r]
    out = [text + (": " + "; ".join(reasons) if reasons else "") + "."]
    facts = _mapping(ev.inputs.get("facts"))
    fact_text = _facts_phrase(facts)
    if fact_text:
        out.append(f"It looked at: {fact_text}.")
    digest = _text(ev.inputs.get("policy_digest"))
    if digest:
        out.append(f"Policy digest {_short(digest)}.")
    return out


def _facts_phrase(facts: Mapping[str, Any]) -> str:
    parts: list[str] = []
    labels = (
        ("severity", "severity {}"),
        ("cvss", "CVSS {}"),
        ("epss", "EPSS {}"),
        ("upgrade_level", "{} upgrade"),
        ("strategy", "strategy {}"),
        ("reachability", "reachability {}"),
        ("verify_verdict", "verify verdict {}"),
        ("breaking", "breaking-change verdict {}"),
        ("codemod_tier", "codemod tier {}"),
    )
    for key, label in labels:
        value = facts.get(key)
        if value is not None and value != "":
            parts.append(label.format(value))
    if facts.get("kev") is True:
        parts.append("in CISA KEV")
    passed = facts.get("tests_passed")
    if isinstance(passed, bool):
        parts.append("tests passed" if passed else "tests did not pass")
    share = facts.get("reach_share")
    if isinstance(share, int | float) and not isinstance(share, bool):
        parts.append(f"tests executed {share:.0%} of the vulnerable code")
    if facts.get("has_test_command") is False:
        parts.append("no test command")
    return ", ".join(parts)


def _merge(ev: LedgerEvent, wanted: set[str]) -> list[str]:
    o = ev.outcome
    action = _text(o.get("action")) or _prefixed(ev, "action:")
    branch = _prefixed(ev, "branch:")
    target = _text(o.get("target"))
    commit = _text(o.get("merge_commit")) or _prefixed(ev, "commit:")
    text = f"Merged {branch or 'the branch'}"
    if target:
        text += f" into {target}"
    if commit:
        text += f" as commit {_sha(commit)}"
    extra = []
    if action:
        extra.append(f"action {action}")
    previous = _text(o.get("previous_tip"))
    if previous:
        extra.append(f"{target or 'the target'} was at {_sha(previous)} before")
    if extra:
        text += f" ({'; '.join(extra)})"
    out = [text + "."]
    approver = _text(o.get("approved_by"))
    if approver:
        why = _text(o.get("reason"))
        out.append(f"{approver} approved it after review" + (f": {why}." if why else "."))
    undo = _text(o.get("undo")) or (f"patchpilot revert {action}" if action else None)
    if undo:
        out.append(f"To undo: {undo}.")
    return out


def _revert(ev: LedgerEvent, wanted: set[str]) -> list[str]:
    o = ev.outcome
    action = _prefixed(ev, "action:")
    revert_commit = _text(o.get("revert_commit"))
    commits = [c for c in _all_prefixed(ev, "commit:") if c != revert_commit]
    text = f"Reverted {action or 'the merge'}"
    if commits:
        text += f" (merge {_sha(commits[0])})"
    target = _text(o.get("target"))
    if target:
        text += f" on {target}"
    if revert_commit:
        text += f" with commit {_sha(revert_commit)}"
    reason = _text(o.get("reason"))
    return [text + (f": {reason}" if reason else "") + "."]


def _reopen(ev: LedgerEvent, wanted: set[str]) -> list[str]:
    found = _findings_of(ev) or [_text(x) or "" for x in _list(ev.outcome.get("findings"))]
    action = _prefixed(ev, "action:")
    text = f"Reopened {', '.join(f for f in found if f) or 'the findings'}"
    if action:
        text += f" after {action} was reverted"
    reason = _text(ev.outcome.get("reason"))
    return [text + (f": {reason}" if reason else "") + "."]


def _deliver(ev: LedgerEvent, wanted: set[str]) -> list[str]:
    how = _text(ev.outcome.get("how"))
    level = ev.outcome.get("level")
    branch = _prefixed(ev, "branch:")
    name = LEVELS.get(level, "") if isinstance(level, int) else ""
    text = f"Delivered {branch or 'the fix'}"
    if level is not None:
        text += f" at level {level}" + (f" ({name})" if name else "")
    return [text + (f": {how}" if how else "") + "."]


def _codefix(ev: LedgerEvent, wanted: set[str]) -> list[str]:
    o = ev.outcome
    codemods = _all_prefixed(ev, "codemod:")
    paths = _all_prefixed(ev, "path:")
    branch = _prefixed(ev, "branch:")
    text = f"Code fix {', '.join(codemods) or ''}".rstrip()
    if paths:
        text += f" in {', '.join(paths)}"
    if branch:
        text += f" on {branch}"
    changes, refusals = _how_many(o.get("changes")), _how_many(o.get("refusals"))
    counts = []
    if changes is not None:
        counts.append(f"{changes} change{'' if changes == 1 else 's'}")
    if refusals is not None:
        counts.append(f"{refusals} refusal{'' if refusals == 1 else 's'}")
    tier = _text(o.get("tier"))
    if tier:
        counts.append(f"tier {tier}")
    if counts:
        text += f": {', '.join(counts)}"
    return [text + "."]


def _gate(ev: LedgerEvent, wanted: set[str]) -> list[str]:
    violations = [v for v in _list(ev.outcome.get("violations")) if v]
    project = _text(ev.inputs.get("project"))
    text = "CI gate" + (f" on {project}" if project else "")
    ids = [(_text(v.get("id")) if isinstance(v, Mapping) else _text(v)) or "?" for v in violations]
    shown = [i for i in ids if i in wanted] or ids
    if violations:
        text += f": {len(violations)} finding{'' if len(violations) == 1 else 's'} violate"
        text += f"{'s' if len(violations) == 1 else ''} the policy ({', '.join(shown[:10])})"
    else:
        text += ": passed"
    exit_code = ev.outcome.get("exit")
    if exit_code is not None:
        text += f"; exit status {exit_code}"
    return [text + "."]


_DESCRIBERS: dict[str, Callable[[LedgerEvent, set[str]], list[str]]] = {
    "scan": _scan,
    "suppress": _suppress,
    "plan": _plan,
    "branch": _branch,
    "verify": _verify,
    "decide": _decide,
    "merge": _merge,
    "revert": _revert,
    "reopen": _reopen,
    "deliver": _deliver,
    "codefix": _codefix,
    "gate": _gate,
}


# --- small helpers ------------------------------------------------------------------------------


def _is_finding(subject: str) -> bool:
    return ":" not in subject


def _findings_of(ev: LedgerEvent) -> list[str]:
    return [s for s in ev.subjects if _is_finding(s)]


def _prefixed(ev: LedgerEvent, prefix: str) -> str | None:
    for s in ev.subjects:
        if s.startswith(prefix):
            return s[len(prefix) :]
    return None


def _all_prefixed(ev: LedgerEvent, prefix: str) -> list[str]:
    return [s[len(prefix) :] for s in ev.subjects if s.startswith(prefix)]


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _flat(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _how_many(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, list):
        return len(value)
    return None


def _counts(value: Any) -> str | None:
    counts = _mapping(value)
    parts = [f"{counts[k]} {k}" for k in ("passed", "failed", "error", "skipped") if k in counts]
    return ", ".join(parts) or None


def _sha(commit: str) -> str:
    return commit[:12]


def _short(digest: str) -> str:
    algo, sep, hexpart = digest.partition(":")
    if not sep:
        algo, hexpart = "", digest
    if len(hexpart) <= 16:
        return digest
    return f"{algo}{sep}{hexpart[:16]}…"


def _sentence(text: str | None) -> str:
    if not text:
        return ""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _when(at: Any) -> str:
    if not isinstance(at, str) or "T" not in at:
        return str(at)
    day, _, clock = at.partition("T")
    return f"{day} {clock[:8]} UTC"


def _context_note(context: Mapping[str, Any]) -> str:
    parts = []
    version = _text(context.get("patchpilot_version"))
    if version:
        parts.append(f"patchpilot {version}")
    store = _text(context.get("store_digest"))
    if store:
        parts.append(f"advisory store {_short(store)}")
    policy = _text(context.get("policy_digest"))
    if policy:
        parts.append(f"policy {_short(policy)}")
    return f"(Recorded by {', '.join(parts)}.)" if parts else ""
