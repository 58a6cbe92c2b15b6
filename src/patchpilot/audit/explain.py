"""`patchpilot explain ID`: the story of a finding, branch, commit, action or remediation, told
in plain words from the ledger alone.

`collect_story` starts from the events `ID` names (a finding ID or an alias a scan recorded, a
branch, a commit SHA or prefix, an action, a remediation or an event id) and follows shared
subjects: remediation, branch, commit, action and codemod subjects link transitively, so a
finding leads to its plan, the branch, its verification, the decision, the merge, a revert and
the reopening. Project-wide events (scan, gate) are shown but not followed, and findings met on
the way only bring in the scan and suppression events that describe them, so one story does not
swallow every other finding of the project.

Stories are told run by run. The ledger splits into runs as `audit.runs` says: a `scan` event
(the first record of `patchpilot run`) opens a run; a `gate` event opens one too, unless the run
in progress was opened by a `scan` of the same project (`inputs.project`), which it then joins
as the CI check of what that run left; every other event belongs to the run most recently
opened at or before it (by sequence number), and events before the first opening event form
run 0.

Which runs are told: finding, remediation and codemod IDs come back in every run of a project,
so by default the story is the latest run holding an event that names `ID`, told in full, after
one line per other run that named it (newest first, at most `SUMMARY_LINES`, then how many more)
saying what happened to it there (found, suppressed, planned, branched, tested, merged, left for
review, reverted, reopened) and the levels granted. An action, a commit SHA, a branch or an
event id (their own, or the earliest of the actions, commits and branch lives linked to them)
belongs to one run: the story is told from that run, so a revert or an approval recorded later
tells the run whose work it acted on. `run=N` tells run N, `since=` every run opened since that
time that names `ID`, `all_runs=True` every run, linked through all of them as one story.

How links are followed inside the runs told: recurring subjects (findings, remediations,
codemods) only within those runs; actions and commits through the whole ledger, and a branch
through the life it was met in (from the run that prepared it, by a `branch` or `codefix` event,
up to the next run that prepares a branch of the same name: names are reused once a branch is
gone). So a revert, reopening or approval recorded by a later invocation stays in the story of
what it acted on, and a run's story shows the earlier merge or branch its late events acted on,
without the rest of that earlier run. The lookup reads the subject index for the ID's events
and the scan and gate events for the runs, then the bodies of the events it tells (and of the
decisions in the runs its summary lines list) only.

`explain_data` returns the story as JSON-ready data (the runs told and summarised, and the
events) and `explain` as text: one paragraph per event, in the order they were recorded,
written from the payload keys each kind of record carries (a missing key leaves a shorter
sentence, never an error).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from patchpilot.audit.ledger import EventHead, Ledger, LedgerEvent
from patchpilot.audit.runs import Run, Runs, spans
from patchpilot.errors import LedgerError

LINK_PREFIXES = ("remediation:", "branch:", "commit:", "action:", "codemod:")
# Subjects one run creates and no other run names but to act on them again (revert, reopen).
UNIQUE_PREFIXES = ("action:", "commit:")
BRANCH_PREFIX = "branch:"
# Events that prepare a branch: the first of them in a run begins a new life of its name.
BRANCH_MAKERS = frozenset({"branch", "codefix"})
# Events about a whole project: shown when they name a subject of the story, never followed.
HUB_KINDS = frozenset({"scan", "gate"})
# What a finding met along the way (not the one asked about) contributes to the story.
CONTEXT_KINDS = ("scan", "suppress")
LEVELS = {1: "notify (report only)", 2: "branch for review", 3: "merge", 4: "fix kind", 5: "deploy"}
SUMMARY_LINES = 20
# What an event of each kind did to the ID it names, in a run's summary line.
_HAPPENED = {
    "scan": "found",
    "gate": "flagged by the CI gate",
    "suppress": "suppressed",
    "plan": "planned",
    "branch": "branched",
    "codefix": "code-fixed",
    "verify": "tested",
    "merge": "merged",
    "revert": "reverted",
    "reopen": "reopened",
}
_DELIVERED = {1: "reported only", 2: "left for review"}


@dataclass(frozen=True, slots=True)
class RunNote:
    """A run of the story: what happened there to the ID asked about, and the levels granted."""

    run: Run
    happened: tuple[str, ...]
    levels: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Story:
    """The events connected to `query`, in ledger order; `findings` are those it is about.

    `scope` says which runs were told (`latest`, `run`, `since`, `event` or `all`); `told` are
    those runs, `others` the other runs that named the ID (newest first, at most the limit
    asked for) and `more` how many further runs did."""

    query: str
    matched: tuple[str, ...]
    findings: tuple[str, ...]
    events: tuple[LedgerEvent, ...]
    scope: str = "all"
    told: tuple[RunNote, ...] = ()
    others: tuple[RunNote, ...] = ()
    more: int = 0


def collect_story(
    ledger: Ledger,
    ident: str,
    *,
    all_runs: bool = False,
    run: int | None = None,
    since: datetime | None = None,
    limit: int = SUMMARY_LINES,
) -> Story:
    """The events connected to `ident` in the runs to tell (see the module's docstring);
    `LedgerError` when the ledger knows nothing of it or it is not in the runs asked for."""
    query = ident.strip()
    hit = ledger.get(query) if query.lower().startswith("ev-") else None
    if hit is not None:
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
    asked = {s for s in matched if _is_finding(s)}
    subjects = list(matched) if hit is None else []
    if all_runs:
        walk = _Walk(ledger, None, None)
        if hit is not None:
            walk.take(hit)
        walk.follow(subjects)
        walk.walk()
        return _story(query, matched, asked, walk, "all")
    runs = Runs(ledger.run_marks())
    heads = ledger.heads_about(subjects)
    recurring = [h for h in heads if not h.subject.startswith((*UNIQUE_PREFIXES, BRANCH_PREFIX))]
    if hit is not None:
        how, scope = "event", _origin(ledger, runs, heads, hit)
    elif run is not None:
        how, scope = "run", _asked_run(ledger, runs, heads, query, run)
    elif since is not None:
        how, scope = "since", _runs_since(runs, heads, query, since)
    elif recurring:
        how, scope = "latest", {runs.of(recurring[-1].seq).number}
    else:
        how, scope = "latest", _origin(ledger, runs, heads, None)
    walk = _Walk(ledger, runs, scope)
    walk.prime(heads)
    if hit is not None:
        walk.take(hit)
    walk.follow(subjects)
    walk.walk()
    story = _story(query, matched, asked, walk, how)
    told, others, more = _notes(ledger, runs, walk, heads, limit)
    return replace(story, told=told, others=others, more=more)


def explain_data(
    ledger: Ledger,
    ident: str,
    *,
    all_runs: bool = False,
    run: int | None = None,
    since: datetime | None = None,
    limit: int = SUMMARY_LINES,
) -> dict[str, Any]:
    """The story as JSON-ready data: the runs told and summarised, and each event told with
    its payload and its plain-words text."""
    story = collect_story(ledger, ident, all_runs=all_runs, run=run, since=since, limit=limit)
    return _story_data(story)


def explain(
    ledger: Ledger,
    ident: str,
    *,
    all_runs: bool = False,
    run: int | None = None,
    since: datetime | None = None,
    limit: int = SUMMARY_LINES,
) -> str:
    """The story as text: the runs, then one paragraph per event."""
    data = explain_data(ledger, ident, all_runs=all_runs, run=run, since=since, limit=limit)
    return render_story(data)


def render_story(data: Mapping[str, Any]) -> str:
    events: list[Mapping[str, Any]] = list(data.get("events", []))
    lines = [_headline(data)]
    lines.extend(_runs_lines(data))
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


# --- choosing the runs to tell ------------------------------------------------------------------


def _origin(
    ledger: Ledger, runs: Runs, heads: Sequence[EventHead], hit: LedgerEvent | None
) -> set[int]:
    """For an event, an action, a commit or a branch (its latest life): the run where the
    earliest of the actions, commits and branch lives linked to it began, so a revert or an
    approval recorded later tells the run whose work it acted on."""
    probe = _Walk(ledger, runs, set())  # an empty scope: only actions, commits and branches
    probe.prime(heads)
    if hit is not None:
        probe.origins.append(hit.seq)
        probe.take(hit)
    for subject, mine in _by_subject(heads).items():
        if subject.startswith(BRANCH_PREFIX):
            probe.follow_life(subject, _lives(mine, runs)[-1])
        else:
            probe.follow([subject])
    probe.walk()
    return {runs.of(min(probe.origins)).number} if probe.origins else set()


def _asked_run(
    ledger: Ledger, runs: Runs, heads: Sequence[EventHead], query: str, number: int
) -> set[int]:
    chosen = runs.number(number)
    if chosen is None:
        raise LedgerError(f"run {number}: {ledger.where} holds runs 0 to {runs.last}")
    if not any(chosen.holds(h.seq) for h in heads):
        named = sorted({runs.of(h.seq).number for h in heads}, reverse=True)
        listed = ", ".join(str(n) for n in named[:10]) + (", …" if len(named) > 10 else "")
        raise LedgerError(
            f"{query!r} does not appear in run {number}"
            + (f"; runs that name it: {listed}" if named else "")
        )
    return {number}


def _runs_since(runs: Runs, heads: Sequence[EventHead], query: str, since: datetime) -> set[int]:
    when = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    chosen: set[int] = set()
    latest: Run | None = None
    for h in heads:
        r = runs.of(h.seq)
        latest = r
        opened = _parse_at(r.at)
        if opened is not None and opened >= when:
            chosen.add(r.number)
    if not chosen:
        stamp = when.astimezone(UTC).isoformat().replace("+00:00", "Z")
        last = (
            f"; the latest run that names it is run {latest.number}, opened {_when(latest.at)}"
            if latest is not None and latest.mark is not None
            else ""
        )
        raise LedgerError(f"{query!r} appears in no run opened since {stamp}{last}")
    return chosen


def _lives(heads: Sequence[EventHead], runs: Runs) -> list[int]:
    """Where each life of a branch name begins: its first event, and the first event that
    prepares it in each later run (one run never prepares the same name twice)."""
    starts: list[int] = []
    seen: set[int] = set()
    for h in heads:
        if h.kind in BRANCH_MAKERS:
            number = runs.of(h.seq).number
            if number not in seen:
                seen.add(number)
                starts.append(h.seq)
    if heads and (not starts or heads[0].seq < starts[0]):
        starts.insert(0, heads[0].seq)
    return starts


def _by_subject(heads: Iterable[EventHead]) -> dict[str, list[EventHead]]:
    out: dict[str, list[EventHead]] = {}
    for h in heads:
        out.setdefault(h.subject, []).append(h)
    return out


# --- following the links ------------------------------------------------------------------------


class _Walk:
    """Collects a story's events. With `runs` None it follows every link through the whole
    ledger; otherwise recurring subjects stay inside `scope` (run numbers), while actions and
    commits are followed everywhere and branches through their lives, wherever they lead (their
    events are told, their runs are not)."""

    def __init__(self, ledger: Ledger, runs: Runs | None, scope: set[int] | None) -> None:
        self.ledger = ledger
        self.runs = runs
        self.scope = frozenset(scope) if scope is not None else None
        self._spans = spans([runs.all[n] for n in scope]) if runs and scope is not None else []
        self.events: dict[int, LedgerEvent] = {}
        self.met: set[str] = set()
        self._followed: set[str] = set()
        self._todo: set[str] = set()
        self._unique_done: set[str] = set()
        self._unique_todo: set[str] = set()
        self._branches: list[tuple[str, int]] = []
        self._lives_done: set[tuple[str, int]] = set()
        self._heads: dict[str, list[EventHead]] = {}
        self.origins: list[int] = []  # where each action, commit and branch life reached began

    def prime(self, heads: Iterable[EventHead]) -> None:
        """Heads already read (the ID's own), so branch lives need not read them again."""
        for subject, mine in _by_subject(heads).items():
            self._heads.setdefault(subject, mine)

    def follow(self, subjects: Iterable[str]) -> None:
        """Start from `subjects` (a branch's lives follow from its events in the scope)."""
        for s in subjects:
            self._queue(s)

    def follow_life(self, subject: str, seq: int) -> None:
        """Follow the life of branch `subject` that holds the event numbered `seq`."""
        self._branches.append((subject, seq))

    def take(self, ev: LedgerEvent) -> None:
        if ev.seq in self.events:
            return
        self.events[ev.seq] = ev
        if ev.kind in HUB_KINDS:
            return
        for s in ev.subjects:
            if s.startswith(LINK_PREFIXES):
                self._queue(s)
                if self.runs is not None and s.startswith(BRANCH_PREFIX):
                    self._branches.append((s, ev.seq))
            elif _is_finding(s):
                self.met.add(s)

    def _queue(self, s: str) -> None:
        if self.runs is not None and s.startswith(UNIQUE_PREFIXES):
            if s not in self._unique_done:
                self._unique_todo.add(s)
        elif s not in self._followed:
            self._todo.add(s)

    def walk(self) -> None:
        while self._todo or self._unique_todo or self._branches:
            if self._todo:
                batch = self._todo - self._followed
                self._followed.update(batch)
                self._todo = set()
                for ev in self.about(batch):
                    self.take(ev)
            if self._unique_todo:
                batch = self._unique_todo - self._unique_done
                self._unique_done.update(batch)
                self._unique_todo = set()
                heads = self.ledger.heads_about(batch)
                self.origins.extend(mine[0].seq for mine in _by_subject(heads).values())
                for ev in self.ledger.events_at(h.seq for h in heads):
                    self.take(ev)
            if self._branches:
                pending, self._branches = self._branches, []
                for subject, seq in pending:
                    self._branch_life(subject, seq)

    def about(
        self, subjects: Iterable[str], kinds: Iterable[str] | None = None
    ) -> tuple[LedgerEvent, ...]:
        """Events naming `subjects` inside the scope."""
        if self.scope is None:
            return self.ledger.events_about(subjects, kinds=kinds)
        return self.ledger.events_within(subjects, self._spans, kinds=kinds)

    def _branch_life(self, subject: str, seq: int) -> None:
        if self.runs is None:  # every run: branches are followed like any other link
            return
        heads = self._heads_of(subject)
        lives = _lives(heads, self.runs)
        if not lives:
            return
        i = max(bisect_right(lives, seq) - 1, 0)
        lo, hi = lives[i], (lives[i + 1] if i + 1 < len(lives) else None)
        if (subject, lo) in self._lives_done:
            return
        self._lives_done.add((subject, lo))
        self.origins.append(lo)
        inside = [h.seq for h in heads if h.seq >= lo and (hi is None or h.seq < hi)]
        for ev in self.ledger.events_at(s for s in inside if s not in self.events):
            self.take(ev)

    def _heads_of(self, subject: str) -> list[EventHead]:
        if subject not in self._heads:
            self._heads[subject] = list(self.ledger.heads_about([subject]))
        return self._heads[subject]


def _story(query: str, matched: tuple[str, ...], asked: set[str], walk: _Walk, how: str) -> Story:
    context = walk.met - asked
    if context:
        for ev in walk.about(context, kinds=CONTEXT_KINDS):
            walk.events.setdefault(ev.seq, ev)
    ordered = tuple(walk.events[k] for k in sorted(walk.events))
    findings = tuple(sorted(asked | walk.met))
    return Story(query=query, matched=matched, findings=findings, events=ordered, scope=how)


def _notes(
    ledger: Ledger, runs: Runs, walk: _Walk, heads: Sequence[EventHead], limit: int
) -> tuple[tuple[RunNote, ...], tuple[RunNote, ...], int]:
    """The runs told, and the other runs whose events naming the ID were not told (newest
    first, at most `limit`, and how many more)."""
    scope: frozenset[int] = walk.scope or frozenset()
    by_run: dict[int, list[EventHead]] = {}
    for h in heads:
        by_run.setdefault(runs.of(h.seq).number, []).append(h)
    others = sorted(
        (
            n
            for n, mine in by_run.items()
            if n not in scope and any(h.seq not in walk.events for h in mine)
        ),
        reverse=True,
    )
    shown = others[: max(limit, 0)]
    listed = [*sorted(scope), *shown]
    wanted = {
        h.seq
        for n in listed
        for h in by_run.get(n, [])
        if h.kind in ("decide", "deliver") and h.seq not in walk.events
    }
    loaded = {ev.seq: ev for ev in ledger.events_at(wanted)} if wanted else {}
    loaded.update(walk.events)

    def note(n: int) -> RunNote:
        run = runs.all[n]  # numbers from `runs.of` and the scope
        happened: list[str] = []
        levels: set[int] = set()
        for h in by_run.get(n, []):
            ev = loaded.get(h.seq)
            level = ev.outcome.get("level") if ev is not None else None
            if isinstance(level, int) and not isinstance(level, bool):
                levels.add(level)
            if h.kind == "deliver":
                what = _DELIVERED.get(level, "delivered") if isinstance(level, int) else "delivered"
            elif h.kind == "decide":
                continue
            else:
                what = _HAPPENED.get(h.kind, h.kind)
            if what not in happened:
                happened.append(what)
        return RunNote(run, tuple(happened), tuple(sorted(levels)))

    told = tuple(note(n) for n in sorted(scope))
    return told, tuple(note(n) for n in shown), len(others) - len(shown)


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
        "scope": story.scope,
        "runs": [
            *(_note_data(n, told=True) for n in story.told),
            *(_note_data(n, told=False) for n in story.others),
        ],
        "more_runs": story.more,
        "intact": all(ev.intact for ev in story.events),
        "events": rendered,
    }


def _note_data(note: RunNote, *, told: bool) -> dict[str, Any]:
    run = note.run
    return {
        "run": run.number,
        "told": told,
        "opened_by": run.kind,
        "event_id": run.mark.event_id if run.mark is not None else None,
        "at": run.at,
        "project": run.project,
        "span": [run.start, run.end],
        "happened": list(note.happened),
        "levels": list(note.levels),
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


def _runs_lines(data: Mapping[str, Any]) -> list[str]:
    """Which runs the story tells, then one line per other run that named the ID."""
    runs: list[Mapping[str, Any]] = [r for r in data.get("runs", []) if isinstance(r, Mapping)]
    told = [r for r in runs if r.get("told")]
    others = [r for r in runs if not r.get("told")]
    more = data.get("more_runs")
    more = more if isinstance(more, int) and not isinstance(more, bool) else 0
    if data.get("scope") == "all" or not (told or others):
        return []
    lines = []
    if told:
        label = "Told in full: run" + ("s " if len(told) > 1 else " ")
        lines.append(label + "; ".join(_run_phrase(r) for r in told) + ".")
    if others:
        first_told = min((_int(r.get("run")) for r in told), default=None)
        earlier = first_told is not None and all(_int(r.get("run")) < first_told for r in others)
        total = len(others) + more
        query = str(data.get("query"))
        lines.append(
            f"{'Earlier' if earlier else 'Other'} run{'' if total == 1 else 's'} that named "
            f"{query}, newest first (`--run N` tells one, `--all` every run):"
        )
        lines.extend(f"  run {_run_phrase(r)}: {_happened_phrase(r)}" for r in others)
        if more:
            which = "earlier" if earlier else "other"
            lines.append(f"  … and {more} {which} run" + ("s" if more > 1 else ""))
    return lines


def _run_phrase(run: Mapping[str, Any]) -> str:
    number = run.get("run")
    opened_by = _text(run.get("opened_by"))
    if not opened_by:
        return f"{number} (events recorded before the first run)"
    what = {"scan": "`run`", "gate": "`gate`"}.get(opened_by, opened_by)
    project = _text(run.get("project"))
    where = f" of {project}" if project else ""
    return f"{number} ({what}{where}, {_when(run.get('at'))})"


def _happened_phrase(run: Mapping[str, Any]) -> str:
    happened = [h for h in (_text(x) for x in _list(run.get("happened"))) if h]
    levels = [x for x in _list(run.get("levels")) if isinstance(x, int)]
    text = ", ".join(happened) or "named"
    if levels:
        text += f"; level{'s' if len(levels) > 1 else ''} " + ", ".join(str(x) for x in levels)
    return text


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def _parse_at(at: str | None) -> datetime | None:
    if not at:
        return None
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


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
