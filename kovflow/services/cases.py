"""Cases: opening one, its participants and consents, and what a user sees of it.

What a user sees is decided in three layers (``kovflow.access.policy``): the policy table (full,
pseudonymised or nothing: then the case answers like a missing one), the meldcode compartments
(routes that do not exist for the reader), and for partners the consent limits (data categories
no given consent covers are left out, and the view says so). ``search_cases`` applies the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, TypeVar

from kovflow.access.policy import (
    CASE_CATEGORIES,
    COMPARTMENTS,
    CONSENT_FREE,
    ROUTE_CATEGORIES,
    Action,
    Category,
    ConsentFacts,
    concerns,
    group_of,
    limited_view,
    scope_sides,
    shared_categories,
    withheld_note,
)
from kovflow.actor import Actor
from kovflow.errors import InvalidInput, NotFound, Reason, TransitionNotAllowed
from kovflow.routes.spec import ROLES
from kovflow.services import access
from kovflow.services.consultation import ConsultationItem, own_items
from kovflow.services.context import App
from kovflow.services.steps import _start, _Step
from kovflow.store import repo, search_repo
from kovflow.store.db import Connection, read, write

T = TypeVar("T")
CONSENT_STATUSES = ("gevraagd", "gegeven", "geweigerd", "ingetrokken")


@dataclass(frozen=True)
class OpenedCase:
    case_number: str
    case_id: int
    started: tuple[tuple[str, int, str], ...]


def open_case(app: App, actor: Actor, *, first_name: str, initial: str, birth_date: date,
              location: str, routes: Sequence[str] = ("plaatsing",),
              facts: Mapping[str, Any] | None = None) -> OpenedCase:
    """Open a case for one child at one location and start its first routes.

    Only the minimum is stored: first name, initial, birth date, location (never a BSN).
    """
    if not first_name.strip():
        raise InvalidInput("first name is required")
    if birth_date > app.clock.now().date():
        raise InvalidInput(f"birth date {birth_date.isoformat()} lies in the future")
    for route_id in routes:
        spec = app.catalog.get(route_id)
        if spec.per != "child":
            raise InvalidInput(f"route {route_id} runs per location, not per child")
        if not actor.may_start(spec.starters):
            raise TransitionNotAllowed(route_id, "", "start", [Reason(
                "role-not-allowed", ("alleen " + " of ".join(spec.starters)
                                     if spec.starters else "alleen een andere route")
                + " mag deze route starten")])
    now = app.clock.now()

    def work(conn: Connection) -> OpenedCase:
        loc = repo.location_by_code(conn, location)
        if loc is None:
            raise NotFound("location", location)
        # The id is chosen here, not by the database, so that it never repeats a removed case's.
        case_id = repo.next_case_id(conn)
        number = repo.case_number_for(app.settings.case_prefix, case_id)
        repo.add_rows(conn, repo.cases, [{
            "id": case_id, "case_number": number, "first_name": first_name.strip(),
            "initial": initial.strip(),
            "birth_date": birth_date, "location_id": loc.id, "facts": dict(facts or {}),
            "created_at": now, "created_by": actor.username}])
        step = _Step(conn, app, actor, now, case_id, loc.id)
        step.event(None, "case_opened", None, payload={"location": loc.code,
                                                       "facts": dict(facts or {})})
        if actor.user_id is not None:
            user = repo.user_by_name(conn, actor.username)
            role = next((r for r in ROLES if r in actor.roles), "")
            repo.add_rows(conn, repo.participants, [{
                "case_id": case_id, "user_id": actor.user_id, "name": "", "role": role,
                "organisation": user.organisation if user else "", "since": now, "until": None}])
        started = tuple(s for r in routes if (s := _start(step, r, "", {}, None)) is not None)
        step.flush()
        case_row = repo.case_by_id(conn, case_id)
        access.log(conn, actor, now, case_row, Action.WRITE, "open case")
        return OpenedCase(number, case_id, started)

    return write(app.engine, work)


def _case(conn: Connection, case_number: str) -> Any:
    row = repo.case_by_number(conn, case_number)
    if row is None:
        raise NotFound("case", case_number)
    return row


def add_participant(app: App, actor: Actor, case_number: str, role: str, *,
                    username: str | None = None, name: str = "", organisation: str = "") -> int:
    """Add a face around the child: a user (by username) or a person without an account."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if not username and not name.strip():
        raise InvalidInput("name a user (--user) or a person (--name)")
    now = app.clock.now()

    def work(conn: Connection) -> int:
        case_row = _case(conn, case_number)
        access.check(conn, actor, case_row, Action.WRITE, "add participant")
        access.log(conn, actor, now, case_row, Action.WRITE, f"add participant {role}")
        user_id = None
        org = organisation
        if username:
            user = repo.user_by_name(conn, username)
            if user is None:
                raise NotFound("user", username)
            user_id, org = user.id, organisation or user.organisation
        pid = repo.insert_returning_id(conn, repo.participants, {
            "case_id": case_row.id, "user_id": user_id, "name": name.strip(), "role": role,
            "organisation": org, "since": now, "until": None})
        step = _Step(conn, app, actor, now, case_row.id, case_row.location_id)
        step.event(None, "participant_added", None,
                   payload={"participant_id": pid, "role": role, "user": username or ""})
        step.flush()
        return pid

    return _guarded(app, actor, work)


def record_consent(app: App, actor: Actor, case_number: str, scope: str, status: str, *,
                   purpose: str = "", categories: Sequence[str] = (), form: str = "",
                   recipient: str = "", medical_explicit: bool = False) -> int:
    """Record that consent for ``scope`` was asked, given, refused or withdrawn (audited)."""
    if status not in CONSENT_STATUSES:
        raise InvalidInput(f"consent status must be one of {', '.join(CONSENT_STATUSES)}")
    unknown = sorted(set(categories) - {c.value for c in Category})
    if unknown:
        raise InvalidInput(f"unknown data categor{'y' if len(unknown) == 1 else 'ies'} "
                           f"{', '.join(unknown)}; categories: "
                           f"{', '.join(c.value for c in Category)}")
    if "medisch" in categories and status == "gegeven" and not medical_explicit:
        raise InvalidInput("medical data needs explicit consent: record it as explicit")
    giving, receiving = scope_sides(scope, recipient)
    direction = f"{' '.join(sorted(giving))} -> {' '.join(sorted(receiving))}" \
        if giving or receiving else ""
    now = app.clock.now()

    def work(conn: Connection) -> int:
        case_row = _case(conn, case_number)
        access.check(conn, actor, case_row, Action.WRITE, "record consent")
        access.log(conn, actor, now, case_row, Action.WRITE, f"consent {scope} {status}")
        earlier = repo.consent_rows(conn, case_row.id, scope)
        if status == "ingetrokken" and (not earlier or earlier[-1].status != "gegeven"):
            raise InvalidInput(f"er is geen gegeven toestemming '{scope}' om in te trekken")
        # Withdrawal works for what has not been transferred yet [002:L2216]; the event says
        # whether data had already crossed the border, so the case shows it.
        transferred = bool(earlier) and earlier[-1].transferred_at is not None
        cid = repo.insert_returning_id(conn, repo.consents, {
            "case_id": case_row.id, "scope": scope, "direction": direction[:200],
            "purpose": purpose,
            "categories": list(categories), "medical_explicit": medical_explicit,
            "asked_by": actor.username, "recipient": recipient, "status": status, "form": form,
            "asked_at": now, "decided_at": None if status == "gevraagd" else now,
            "transferred_at": None})
        step = _Step(conn, app, actor, now, case_row.id, case_row.location_id)
        payload: dict[str, Any] = {"scope": scope, "status": status}
        if status == "ingetrokken":
            payload["na_overdracht"] = transferred
        step.event(None, "consent", None, payload=payload)
        step.flush()
        return cid

    return _guarded(app, actor, work)


def mark_transferred(app: App, actor: Actor, case_number: str, scope: str) -> None:
    """Record that data under the given consent for ``scope`` crossed to the recipient now."""
    now = app.clock.now()

    def work(conn: Connection) -> None:
        case_row = _case(conn, case_number)
        access.check(conn, actor, case_row, Action.WRITE, "record transfer")
        rows = repo.consent_rows(conn, case_row.id, scope)
        if not rows or rows[-1].status != "gegeven":
            raise InvalidInput(f"zonder gegeven toestemming '{scope}' mag niets worden gedeeld")
        repo.mark_transferred(conn, rows[-1].id, now)
        access.log(conn, actor, now, case_row, Action.WRITE, f"transfer {scope}")
        step = _Step(conn, app, actor, now, case_row.id, case_row.location_id)
        step.event(None, "consent_transfer", None, payload={"scope": scope})
        step.flush()

    _guarded(app, actor, work)


def consents_of(app: App, actor: Actor, case_number: str) -> list[dict[str, Any]]:
    """The current consent per scope, with what a withdrawal means for it, in Dutch.

    A partner sees the scopes about their own role (given or received by it); the others are
    summed up in one closing line that says they are not shared.
    """
    with read(app.engine) as conn:
        case_row = _case(conn, case_number)
        if not access.permits(conn, actor, case_row, Action.READ):
            denied = access.Denied(case_row.case_number, case_row.id, Action.READ, "consents")
        else:
            denied = None
            rows = repo.consent_rows(conn, case_row.id)
    if denied is not None:
        raise access.refused(app, actor, denied)
    current: dict[str, Any] = {}
    transferred: dict[str, bool] = {}
    for r in rows:
        transferred[r.scope] = transferred.get(r.scope, False) or r.transferred_at is not None
        current[r.scope] = r
    limited = not actor.operator and limited_view(actor.roles)
    out, omitted = [], 0
    for scope, r in current.items():
        if limited and not concerns(actor.roles, scope, r.recipient):
            omitted += 1
            continue
        meaning = {"gegeven": "gegevens mogen worden gedeeld",
                   "gevraagd": "nog niet beslist: niets delen",
                   "geweigerd": "niet delen; de zorg voor het kind gaat gewoon door",
                   "ingetrokken": "niets meer delen" + (
                       "; wat al gedeeld is, blijft bij de ontvanger" if transferred[scope]
                       else "")}[r.status]
        out.append({"scope": scope, "status": r.status, "form": r.form,
                    "transferred": transferred[scope], "betekenis": meaning})
    if omitted:
        out.append({"scope": "", "status": "niet_gedeeld", "form": "", "transferred": False,
                    "betekenis": f"niet gedeeld: {omitted} toestemming(en) die andere "
                                 "organisaties betreffen"})
    _log_read(app, actor, case_row, "consents")
    return out


def _guarded(app: App, actor: Actor, work: Callable[[Connection], T]) -> T:
    """Run a write; a policy refusal is logged and answered like a missing case."""
    try:
        return write(app.engine, work)
    except access.Denied as denied:
        raise access.refused(app, actor, denied) from None


def _read_allowed(conn: Connection, actor: Actor, row: Any, what: str) -> bool:
    """Whether the actor reads the full case (True) or a pseudonymised record (False)."""
    if access.permits(conn, actor, row, Action.READ):
        return True
    if access.permits(conn, actor, row, Action.READ_PSEUDONYMISED):
        return False
    raise access.Denied(row.case_number, row.id, Action.READ, what)


# Reads collected by ``one_read_record`` (None: each read writes its own record at once).
_COLLECTED: ContextVar[list[tuple[Any, str]] | None] = ContextVar("kovflow_reads", default=None)


def _log_read(app: App, actor: Actor, row: Any, what: str) -> None:
    collected = _COLLECTED.get()
    if collected is not None:
        collected.append((row, what))
        return
    now = app.clock.now()
    write(app.engine, lambda conn: access.log(conn, actor, now, row, Action.READ, what))


@contextmanager
def one_read_record(app: App, actor: Actor, page: str) -> Iterator[None]:
    """Log the reads made inside as one access record per case, naming every view.

    A page that shows several views of one case (overview, history, consents) is one access by
    one person; one record keeps the log true and saves a write transaction per view.
    """
    token = _COLLECTED.set([])
    try:
        yield
    finally:
        collected = _COLLECTED.get() or []
        _COLLECTED.reset(token)
        by_case: dict[int, tuple[Any, list[str]]] = {}
        for row, what in collected:
            by_case.setdefault(row.id, (row, []))[1].append(what)
        if by_case:
            now = app.clock.now()

            def work(conn: Connection) -> None:
                for row, whats in by_case.values():
                    access.log(conn, actor, now, row, Action.READ,
                               f"{page}: {', '.join(whats)}"[:120])

            write(app.engine, work)


@dataclass(frozen=True)
class InstanceView:
    id: int
    route: str
    version: int
    title: str
    state: str
    state_label: str
    revision: int
    closed: bool
    steps: tuple[tuple[str, str], ...]  # (trigger, label) available from this state


@dataclass(frozen=True)
class CaseOverview:
    case_number: str
    first_name: str
    initial: str
    birth_date: date | None
    location: str
    participants: tuple[tuple[str, str, str], ...]  # (who, role, organisation)
    instances: tuple[InstanceView, ...]
    open_tasks: tuple[tuple[str, str, str], ...]  # (role, title, due)
    # For a partner: one Dutch line per data category no consent shares ("niet gedeeld: ...").
    withheld: tuple[str, ...] = ()
    # The reader's own anonymous consultations about this case, with the advice (asker only).
    consultations: tuple[ConsultationItem, ...] = ()


@dataclass(frozen=True)
class _Limit:
    """What a partner participant may read: the categories their consents share."""

    shared: frozenset[Category]
    username: str

    def shows(self, category: Category) -> bool:
        return category in self.shared


def _limit(conn: Connection, actor: Actor, row: Any, full: bool) -> _Limit | None:
    """None for a complete view (childcare, the operator) or a pseudonymised record."""
    if not full or actor.operator or not limited_view(actor.roles):
        return None
    latest: dict[str, Any] = {}
    for c in repo.consent_rows(conn, row.id):
        latest[c.scope] = c
    facts = [ConsentFacts(c.scope, c.status, c.recipient, tuple(c.categories or ()),
                          bool(c.medical_explicit)) for c in latest.values()]
    return _Limit(shared_categories(actor.roles, facts), actor.username)


def case_overview(app: App, actor: Actor, case_number: str) -> CaseOverview:
    """Where every route of the case stands and what can be done next."""
    try:
        with read(app.engine) as conn:
            row = _case(conn, case_number)
            full = _read_allowed(conn, actor, row, "case overview")
            limit = _limit(conn, actor, row, full)
            personal = full and (limit is None or limit.shows(Category.PERSONALIA))
            loc = repo.location_by_id(conn, row.location_id)
            # Professionals are named to those who read the case; people without an account
            # (parents, a voogd) are personal data of the family.
            people = tuple(((p.username or "") if full and p.username else
                            (p.name if personal else ""), p.role, p.organisation)
                           for p in repo.case_participants(conn, row.id))
            overview = _overview(conn, app, actor, row, loc, people, full, personal)
            if limit is not None:
                overview = replace(overview, withheld=tuple(
                    withheld_note(c) for c in Category if not limit.shows(c)))
            if full:
                overview = replace(overview, consultations=tuple(own_items(conn, actor, row.id)))
    except access.Denied as denied:
        raise access.refused(app, actor, denied) from None
    _log_read(app, actor, row, "case overview" if full else "pseudonymised record")
    return overview


def _overview(conn: Connection, app: App, actor: Actor, row: Any, loc: Any,
              people: tuple[tuple[str, str, str], ...], full: bool,
              personal: bool) -> CaseOverview:
    views, tasks = [], []
    open_tasks: dict[int, list[Any]] = {}
    for t in repo.open_case_tasks(conn, row.id):
        open_tasks.setdefault(t.instance_id, []).append(t)
    for inst in access.visible_instances(conn, actor, repo.case_instances(conn, row.id)):
        spec = app.catalog.get(inst.route_id, inst.route_version)
        state = spec.states.get(inst.state)
        steps = () if inst.closed_at else tuple((t.trigger, t.label)
                                                 for t in spec.available(inst.state))
        views.append(InstanceView(inst.id, spec.id, spec.version, spec.title, inst.state,
                                  state.label if state else inst.state, inst.revision,
                                  inst.closed_at is not None, steps))
        for t in open_tasks.get(inst.id, ()):
            due = t.due_at.date().isoformat() if t.due_at else ""
            tasks.append((t.role, t.title, due))
    # The coordinator's pseudonymised record, and a partner without consent for personalia:
    # no name, initial or birth date.
    return CaseOverview(row.case_number, row.first_name if personal else "",
                        row.initial if personal else "", row.birth_date if personal else None,
                        loc.code if loc else "", people, tuple(views), tuple(tasks))


def _event_category(e: Any) -> Category | str | None:
    """The category of an event's data; None: always shown (consent-free or basis data)."""
    if e.instance_id is not None:
        if e.route_id in CONSENT_FREE:
            return None
        return ROUTE_CATEGORIES.get(e.route_id, f"de gegevens van route {e.route_id}")
    if e.kind == "participant_added":
        return None  # role and username of a professional: basis data of the case
    return CASE_CATEGORIES.get(e.kind, "deze gegevens")


def _event_data(e: Any, full: bool, limit: _Limit | None, roles: frozenset[str]
                ) -> dict[str, Any]:
    """The event's data as this reader may see it, or a note saying why it is left out."""
    if not full:
        return {"data": {}}
    payload = dict(e.payload or {})
    if limit is None or not payload or e.actor == limit.username:
        return {"data": payload}  # complete view, nothing to hide, or their own record
    if e.kind in ("consent", "consent_transfer"):
        if concerns(roles, str(payload.get("scope", ""))):
            return {"data": payload}
        return {"data": {}, "niet_gedeeld": "niet gedeeld: toestemming die een andere "
                                            "organisatie betreft"}
    category = _event_category(e)
    if category is None or (isinstance(category, Category) and limit.shows(category)):
        return {"data": payload}
    return {"data": {}, "niet_gedeeld": withheld_note(category)}


def _reveals_compartment(app: App, e: Any, hidden: set[str], actor: Actor) -> bool:
    """A step that starts a hidden compartment route (``veiligheid_in_geding`` starts the
    meldcode) would show that the meldcode exists: only its own actor sees it."""
    if e.kind != "transition" or not hidden or e.actor == actor.username:
        return False
    spec = app.catalog.get(e.route_id, e.route_version)
    transition = spec.transition(e.trigger, e.from_state)
    return transition is not None and any(s.route in hidden for s in transition.start)


def history(app: App, actor: Actor, case_number: str) -> list[dict[str, Any]]:
    """The case's events, oldest first, as far as this reader may see them."""
    try:
        with read(app.engine) as conn:
            row = _case(conn, case_number)
            full = _read_allowed(conn, actor, row, "history")
            limit = _limit(conn, actor, row, full)
            all_instances = repo.case_instances(conn, row.id)
            seen_rows = access.visible_instances(conn, actor, all_instances)
            seen = {i.id for i in seen_rows}
            hidden = set(COMPARTMENTS) - {i.route_id for i in seen_rows}
            shown = [e for e in repo.case_events(conn, row.id)
                     if (e.instance_id is None or e.instance_id in seen)
                     and not _reveals_compartment(app, e, hidden, actor)]
            # Numbered in the reader's list: the chain's own numbers would show a gap where a
            # compartment's events are (for a complete reader both are the same, 1..n).
            events = [
                {"seq": n, "at": e.at.isoformat(), "actor": e.actor, "kind": e.kind,
                 "route": e.route_id, "version": e.route_version, "trigger": e.trigger,
                 "from": e.from_state, "to": e.to_state,
                 **_event_data(e, full, limit, actor.roles)}
                for n, e in enumerate(shown, start=1)
            ]
    except access.Denied as denied:
        raise access.refused(app, actor, denied) from None
    _log_read(app, actor, row, "history")
    return events


def my_tasks(app: App, actor: Actor) -> list[dict[str, Any]]:
    """Open tasks of the acting user and their roles, oldest due first."""
    if actor.user_id is None:
        raise InvalidInput("tasks belong to a user: pass --as USERNAME")
    with read(app.engine) as conn:
        user = repo.user_by_name(conn, actor.username)
        # Partners (wijkcoach, JGZ, ...) see tasks only on the cases they take part in.
        partner = group_of(actor.roles) == "partner"
        location_id = None if partner else (user.location_id if user else None)
        rows = repo.open_tasks_for(conn, actor.user_id, actor.roles, location_id)
        visible = {r.id for r in access.visible_instances(conn, actor, [
            repo.instance_by_id(conn, t.instance_id) for t in rows
            if t.route_id in ("meldcode", "meldcode_medewerker")])}
        rows = [t for t in rows if t.route_id not in ("meldcode", "meldcode_medewerker")
                or t.instance_id in visible]
    return [
        {"task": t.id, "case": t.case_number, "route": t.route_id, "state": t.state,
         "role": t.role, "title": t.title, "due": t.due_at.isoformat() if t.due_at else None,
         "location": t.location_code}
        for t in rows
    ]


SEARCH_LIMIT = 50


def search_cases(app: App, actor: Actor, text: str, *, route: str | None = None
                 ) -> list[dict[str, Any]]:
    """Cases the actor may find, by case number or by the start of the child's first name.

    The same three layers as reading: the policy's ``search`` action per case; a name matches only
    where the searcher may read the child's name (consent, for a partner); the ``route`` filter
    counts only routes the searcher may see, so a hidden meldcode never makes a case match.
    Logged: one search record (never the search text, it may be a name) and one per case found.
    """
    needle = text.strip()
    if len(needle) < 2:
        raise InvalidInput("zoek op minstens 2 tekens: een casusnummer of het begin van een "
                           "voornaam")
    if route is not None and route not in app.catalog:
        raise InvalidInput(f"onbekende route {route!r}")
    now = app.clock.now()

    def work(conn: Connection) -> list[dict[str, Any]]:
        codes = {loc.id: loc.code for loc in repo.all_locations(conn)}
        hits: list[dict[str, Any]] = []
        for row in search_repo.candidate_cases(conn, needle, SEARCH_LIMIT * 4):
            if not access.permits(conn, actor, row, Action.SEARCH):
                continue
            limit = _limit(conn, actor, row, access.permits(conn, actor, row, Action.READ))
            personal = limit is None or limit.shows(Category.PERSONALIA)
            if row.case_number.lower() != needle.lower() and not personal:
                continue  # a name may not find a case whose name the searcher may not read
            routes = sorted({i.route_id for i in access.visible_instances(
                conn, actor, repo.case_instances(conn, row.id))})
            if route is not None and route not in routes:
                continue
            hits.append({"case": row.case_number, "location": codes.get(row.location_id, ""),
                         "first_name": row.first_name if personal else "", "routes": routes})
            access.log(conn, actor, now, row, Action.SEARCH, "zoekresultaat")
            if len(hits) >= SEARCH_LIMIT:
                break
        access.log(conn, actor, now, None, Action.SEARCH, f"zoeken: {len(hits)} treffer(s)")
        return hits

    return write(app.engine, work)
