"""Retention: how long a case is kept after its routes closed, and removing what has expired.

Each closed route instance has a result: the state it closed in. The ``[retention]`` section maps
results to terms (``"<route>.<state>"``, or ``"<route>"`` for all its results) over the shipped
defaults below; anything unnamed gets ``default``. A case may go when all its routes are closed
(an open meldcode route is an open route), no dispute (bezwaar or klacht) is recorded as open, and
the longest term of its results has passed since the file last changed: its last closing or its
last event, whichever is later (Jeugdwet art. 7.3.8 counts from the last change). Time is
``app.clock``.

Removal runs one transaction per case: delete the case and every row hanging off it, write an
access-log record (the witness) and a retention record without personal data. The legal basis
of every default is in docs/privacy.md, section "How long data is kept (Bewaartermijnen)".
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from kovflow.access.policy import Action
from kovflow.actor import Actor
from kovflow.config import Settings, feature_section
from kovflow.errors import ConfigError, InvalidInput, NotFound
from kovflow.routes.catalog import Catalog
from kovflow.services import access
from kovflow.services.context import App
from kovflow.services.steps import _Step
from kovflow.store import repo, retention_repo
from kovflow.store.db import Connection, read, write

UNITS = ("days", "weeks", "months", "years")
_TERM = re.compile(r"^\s*(\d+)\s*(day|days|week|weeks|month|months|year|years)\s*$")

# The shipped defaults (docs/privacy.md explains each). The kinderopvang child file has no
# statutory term: "default" is the organisation's policy and should be set by each installation.
DEFAULT_TERM = "2 years"
DEFAULT_TERMS: Mapping[str, str] = {
    # Jeugdhulp: 20 years from the last change of the file (Jeugdwet art. 7.3.8).
    "ambulante_inzet": "20 years",
    "opschaling_beschikking.afgerond": "20 years",
    "wijkcoach.afgesloten": "20 years",
    # A handover the parents did not consent to leaves nothing that must be kept; the other
    # results of the case still decide (the longest term applies).
    "warme_overdracht_jgz.geen_toestemming": "0 days",
}
KNOWN_KEYS = {"default", "terms"}

# Disputes are case facts: true while a bezwaar or klacht about the case is open.
DISPUTES = ("bezwaar", "klacht")


def dispute_fact(kind: str) -> str:
    return f"geschil_{kind}"


@dataclass(frozen=True, order=True)
class Term:
    """A retention term: an amount of days, weeks, months or years."""

    amount: int
    unit: str

    def __str__(self) -> str:
        return f"{self.amount} {self.unit[:-1] if self.amount == 1 else self.unit}"

    def after(self, moment: datetime) -> datetime:
        """``moment`` plus the term, by the calendar (29 February + 1 year = 28 February)."""
        if self.unit == "days":
            return moment + timedelta(days=self.amount)
        if self.unit == "weeks":
            return moment + timedelta(weeks=self.amount)
        months = self.amount * (12 if self.unit == "years" else 1)
        year, month0 = divmod(moment.month - 1 + months, 12)
        year += moment.year
        day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
        return moment.replace(year=year, month=month0 + 1, day=day)


def parse_term(text: object, where: str) -> Term:
    """``"20 years"``, ``"6 months"``, ``"0 days"``; anything else is a ``ConfigError``."""
    match = _TERM.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(f"{where}: {text!r} is not a term; write e.g. \"20 years\", "
                          "\"6 months\", \"8 weeks\" or \"30 days\"")
    unit = match.group(2) if match.group(2).endswith("s") else match.group(2) + "s"
    return Term(int(match.group(1)), unit)


@dataclass(frozen=True)
class RetentionPolicy:
    """The terms in force: per ``route`` or ``route.state``, and the default."""

    default: Term
    terms: Mapping[str, Term] = field(default_factory=dict)

    def rule_for(self, route: str, state: str) -> tuple[str, Term]:
        """The most specific rule for a result: ``route.state``, then ``route``, then default."""
        for key in (f"{route}.{state}", route):
            if key in self.terms:
                return key, self.terms[key]
        return "default", self.default


def policy_from_settings(settings: Settings, catalog: Catalog) -> RetentionPolicy:
    """The shipped defaults with the installation's ``[retention]`` applied and checked."""
    section = feature_section(settings, "retention", KNOWN_KEYS)
    default = parse_term(section.get("default", DEFAULT_TERM), "[retention] default")
    configured = section.get("terms", {})
    if not isinstance(configured, Mapping):
        raise ConfigError("[retention] terms must be a table of \"route\" or \"route.state\" = "
                          "\"<n> years\"")
    terms: dict[str, Term] = {}
    for key, value in {**DEFAULT_TERMS, **configured}.items():
        route, _, state = key.partition(".")
        if route not in catalog:
            raise ConfigError(f"[retention.terms] {key!r}: no route {route!r}; routes: "
                              f"{', '.join(r.id for r in catalog.latest())}")
        states = {s for spec in catalog if spec.id == route for s in spec.states}
        if state and state not in states:
            raise ConfigError(f"[retention.terms] {key!r}: route {route} has no state "
                              f"{state!r}; states: {', '.join(sorted(states))}")
        terms[key] = parse_term(value, f"[retention.terms] {key}")
    return RetentionPolicy(default, terms)


@dataclass(frozen=True)
class Due:
    """A case whose term has passed: removed (or, in a dry run, to be removed) or held."""

    case_number: str
    case_id: int
    rule: str
    term: str
    term_start: str
    term_end: str
    held: str = ""  # why it stays although the term has passed ("" = removable)
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RetentionReport:
    dry_run: bool
    removed: tuple[Due, ...]
    held: tuple[Due, ...]


def _may_run(actor: Actor) -> None:
    if not (actor.operator or "admin" in actor.roles):
        raise InvalidInput("retention is run by functioneel beheer (role admin) or the operator")


def _due(conn: Connection, policy: RetentionPolicy, now: datetime,
         case_id: int | None = None) -> list[Due]:
    """Every case (or the one) whose routes are all closed and whose term has passed, oldest
    end first."""
    closed = [r for r in retention_repo.case_summaries(conn, case_id) if int(r.open_routes) == 0]
    out: list[Due] = []
    # In batches: a statement has a limited number of parameters (SQLite: 32766).
    for first in range(0, len(closed), _BATCH):
        out += _due_batch(conn, policy, now, closed[first:first + _BATCH])
    return sorted(out, key=lambda d: (d.term_end, d.case_id))


_BATCH = 500


def _due_batch(conn: Connection, policy: RetentionPolicy, now: datetime,
               closed: list[Any]) -> list[Due]:
    ids = [int(r.id) for r in closed]
    results = retention_repo.closed_results(conn, ids)
    changed = retention_repo.last_event_moments(conn, ids)
    facts = retention_repo.case_facts(conn, ids)
    out = []
    for r in closed:
        cid = int(r.id)
        start = max(m for m in (r.last_closed, changed.get(cid), r.created_at) if m is not None)
        rules = [policy.rule_for(route, state) for route, state in results[cid]] \
            or [("default", policy.default)]
        # The longest term wins; on a tie, the most specific (named) rule is reported.
        rule, term = max(rules, key=lambda rt: (rt[1].after(start), rt[0] != "default"))
        end = term.after(start)
        if end > now:
            continue
        open_disputes = [k for k in DISPUTES if facts.get(cid, {}).get(dispute_fact(k)) is True]
        held = ("geschil open: " + ", ".join(open_disputes)) if open_disputes else ""
        out.append(Due(str(r.case_number), cid, rule, str(term), start.isoformat(),
                       end.isoformat(), held))
    return out


def run_retention(app: App, actor: Actor, *, dry_run: bool = False) -> RetentionReport:
    """Remove every case whose term has passed (``dry_run``: only say which, change nothing)."""
    _may_run(actor)
    policy = policy_from_settings(app.settings, app.catalog)
    now = app.clock.now()
    with read(app.engine) as conn:
        due = _due(conn, policy, now)
        if dry_run:
            due = [d if d.held else replace(d, counts=retention_repo.count_case_rows(conn, d.case_id))
                   for d in due]
    held = tuple(d for d in due if d.held)
    if dry_run:
        return RetentionReport(True, tuple(d for d in due if not d.held), held)
    removed = []
    for d in due:
        if not d.held:
            counts = write(app.engine, _remover(app, actor, policy, d, now))
            if counts is not None:
                removed.append(replace(d, counts=counts))
    return RetentionReport(False, tuple(removed), held)


def _remover(app: App, actor: Actor, policy: RetentionPolicy, due: Due, now: datetime
             ) -> Callable[[Connection], dict[str, int] | None]:
    return lambda conn: _remove(conn, app, actor, policy, due, now)


def _remove(conn: Connection, app: App, actor: Actor, policy: RetentionPolicy, due: Due,
            now: datetime) -> dict[str, int] | None:
    """One case in one transaction; re-checked inside it (a step may have reopened the case)."""
    again = next(iter(_due(conn, policy, now, due.case_id)), None)
    case_row = repo.case_by_id(conn, due.case_id)
    if again is None or again.held or case_row is None:
        return None
    chain = f"case:{due.case_id}"
    seq, digest = repo.chain_head(conn, chain)
    counts = retention_repo.remove_case(conn, due.case_id)
    access.log(conn, actor, now, case_row, Action.WRITE, retention_repo.witness(chain, seq, digest))
    access_seq, _ = repo.access_head(conn)
    retention_repo.add_record(conn, {
        "case_id": due.case_id, "case_number": due.case_number, "chain": chain,
        "chain_seq": seq, "chain_hash": digest, "rule": again.rule, "term": again.term,
        "term_start": datetime.fromisoformat(again.term_start),
        "term_end": datetime.fromisoformat(again.term_end), "removed_at": now,
        "removed_by": actor.username, "access_seq": access_seq, "counts": counts})
    return counts


def removal_records(app: App, actor: Actor) -> list[dict[str, Any]]:
    """What retention removed so far (no personal data), oldest first."""
    _may_run(actor)
    with read(app.engine) as conn:
        rows = retention_repo.all_records(conn)
    return [{"case_number": r.case_number, "rule": r.rule, "term": r.term,
             "term_end": r.term_end.isoformat(), "removed_at": r.removed_at.isoformat(),
             "removed_by": r.removed_by, "counts": dict(r.counts)} for r in rows]


def record_dispute(app: App, actor: Actor, case_number: str, kind: str, *, open_: bool) -> None:
    """Record that a bezwaar or klacht about the case was lodged (``open_``) or settled.

    While one is open the case is not removed, whatever its term. Audited as an event of the
    case and in the access log; only who may change the case may record it.
    """
    if kind not in DISPUTES:
        raise InvalidInput(f"a dispute is one of {', '.join(DISPUTES)}, not {kind!r}")
    now = app.clock.now()
    what = f"geschil {kind} {'open' if open_ else 'gesloten'}"

    def work(conn: Connection) -> None:
        case_row = repo.case_by_number(conn, case_number)
        if case_row is None:
            raise NotFound("case", case_number)
        access.check(conn, actor, case_row, Action.WRITE, what)
        facts = dict(case_row.facts or {})
        if bool(facts.get(dispute_fact(kind))) == open_:
            raise InvalidInput(f"er is al {'een open' if open_ else 'geen open'} {kind} "
                               f"vastgelegd voor {case_number}")
        facts[dispute_fact(kind)] = open_
        retention_repo.set_facts(conn, case_row.id, facts)
        access.log(conn, actor, now, case_row, Action.WRITE, what)
        step = _Step(conn, app, actor, now, case_row.id, case_row.location_id)
        step.event(None, "dispute", None, payload={"kind": kind, "open": open_})
        step.flush()

    try:
        write(app.engine, work)
    except access.Denied as denied:
        raise access.refused(app, actor, denied) from None
