"""Queries of the monitor passende kinderopvang (aggregates over route data).

Everything the monitor reports comes from what the routes already recorded (no double entry):
the ``plaatsing`` instance's step data (``startdatum``, ``vve_datum``, ``uitstroom_*``), the
participants of a case, the transitions in ``events`` and the data of the ``overbrugging`` and
``taakuren`` instances. The placement facts are kept per placement in ``monitor_placements``
(``monitor_tables``), rewritten from that route data by ``refresh_cases`` in the transaction of
every step that can change them, so that a year is a range scan instead of a JSON extraction per
placement; the small overbrugging and taakuren routes are read directly. The queries return
aggregate rows per location (never a case number or a name); the report module adds wijk and
organisation from the small ``locations`` table.

Dates in route data are ISO strings (``YYYY-MM-DD``), so comparing them as text orders them
correctly on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Index,
    String,
    and_,
    case,
    delete,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

# The table classes, not repo.py: tables.py imports this module at its end (to register the
# indexes), when repo.py may itself be half-imported.
from kovflow.store.monitor_tables import OPEN, MonitorPlacement, MonitorSupport
from kovflow.store.tables import Case, Event, Location, Participant, RouteInstance

cases = Case.__table__  # type: ignore[attr-defined]
events = Event.__table__  # type: ignore[attr-defined]
instances = RouteInstance.__table__  # type: ignore[attr-defined]
locations = Location.__table__  # type: ignore[attr-defined]
participants = Participant.__table__  # type: ignore[attr-defined]
placements = MonitorPlacement.__table__  # type: ignore[attr-defined]
support = MonitorSupport.__table__  # type: ignore[attr-defined]
LOCAL = ZoneInfo("Europe/Amsterdam")

# Disciplines (monitor names) deployed in a traject: a participant in one of these roles ...
PARTICIPANT_DISCIPLINES: dict[str, tuple[str, ...]] = {
    "coach": ("coach",), "logopedist": ("logopedist",), "jeugdverpleegkundige": ("jgz",),
    "wijkcoach": ("wijkcoach",), "ambulant_begeleider": ("ambulant_begeleider",),
    "thuisondersteuning": (),
}
# ... or a route that reached a state (a transition event into it) ...
EVENT_DISCIPLINES: dict[str, tuple[str, str]] = {
    "jeugdverpleegkundige": ("warme_overdracht_jgz", "gesprek_gevoerd"),
    "wijkcoach": ("wijkcoach", "betrokken"),
    "ambulant_begeleider": ("ambulante_inzet", "in_uitvoering"),
}
# ... or home support: an ambulante inzet whose intensity is begeleiding_thuis.
HOME_ROUTE, HOME_FIELD, HOME_VALUE = "ambulante_inzet", "intensiteit", "begeleiding_thuis"
DISCIPLINE_NAMES = tuple(PARTICIPANT_DISCIPLINES)

# The indexes these queries probe once per traject: a case's participants by role, and its
# transitions into a state by route (both lead with case_id: the probes are per case).
ix_participants_case_role = Index("ix_participants_case_role", participants.c.case_id,
                                  participants.c.role)
ix_events_case_route_state = Index("ix_events_case_route_state", events.c.case_id,
                                   events.c.route_id, events.c.to_state)


class json_text(ColumnElement[str]):
    """A text value of a JSON column, with the key written into the SQL (not a bound parameter),
    so that the statement text is stable and an expression index on it can be used:
    ``json_extract(col, '$.key')`` on SQLite, ``(col ->> 'key')`` on PostgreSQL."""

    inherit_cache = True
    type = String()
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),  # noqa: RUF012
                           ("key", InternalTraversal.dp_string)]

    def __init__(self, column: Any, key: str) -> None:
        if not _KEY.fullmatch(key):  # keys are route field names (slugs), never user input
            raise ValueError(f"not a field name: {key!r}")
        self.column, self.key = column, key


_KEY = re.compile(r"[a-z][a-z0-9_]*")


@compiles(json_text, "sqlite")
def _json_text_sqlite(element: json_text, compiler: Any, **kw: Any) -> str:
    return f"json_extract({compiler.process(element.column, **kw)}, '$.{element.key}')"


@compiles(json_text, "postgresql")
def _json_text_postgresql(element: json_text, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.column, **kw)} ->> '{element.key}')"


def _field(name: str, table: Any = instances) -> Any:
    """A text value of an instance's step data (``data ->> name``)."""
    return json_text(table.c.data, name)


def location_rows(conn: Connection) -> Sequence[Any]:
    return conn.execute(select(locations.c.id, locations.c.code, locations.c.name,
                               locations.c.wijk, locations.c.organisation)).all()


# --- the per-placement table: written with the route data ---------------------------------------

# What can change a case's monitor rows: any step of a route whose data the rows hold, a
# transition into a state that shows a discipline at work, a participant in a discipline's role.
# Any other step (a consent, a meldcode, a voortgangsgesprek, most wijkcoach steps) leaves them.
DATA_ROUTES = frozenset({"plaatsing", HOME_ROUTE, "overbrugging", "taakuren"})
DISCIPLINE_STATES = frozenset(EVENT_DISCIPLINES.values())
DISCIPLINE_ROLES = frozenset(r for roles in PARTICIPANT_DISCIPLINES.values() for r in roles)


def concerns(event: Mapping[str, Any]) -> bool:
    """True when ``event`` (a row about to be appended) may change the case's monitor rows."""
    if event.get("kind") == "participant_added":
        return (event.get("payload") or {}).get("role") in DISCIPLINE_ROLES
    return (event.get("route_id") in DATA_ROUTES
            or (event.get("route_id"), event.get("to_state")) in DISCIPLINE_STATES)


def _deployed(discipline: str) -> Any:
    """1 when the traject's case shows ``discipline`` at work (participant, route or both: one
    EXISTS per source, so a discipline counts once per traject), else 0."""
    case_id = instances.c.case_id
    found = [exists().where(participants.c.case_id == case_id, participants.c.role == role)
             for role in PARTICIPANT_DISCIPLINES[discipline]]
    if discipline in EVENT_DISCIPLINES:
        route, state = EVENT_DISCIPLINES[discipline]
        found.append(exists().where(events.c.case_id == case_id, events.c.route_id == route,
                                    events.c.to_state == state))
    if discipline == "thuisondersteuning":
        other = instances.alias("home")
        found.append(exists().where(other.c.case_id == case_id,
                                    other.c.route_id == HOME_ROUTE,
                                    _field(HOME_FIELD, other) == HOME_VALUE))
    return case((or_(*found), 1), else_=0)


def _sources(where: Any) -> Any:
    """The placed ``plaatsing`` instances matching ``where``, with what a monitor row needs."""
    return (select(instances.c.id, instances.c.case_id, cases.c.location_id, cases.c.birth_date,
                   instances.c.started_at, _field("startdatum").label("startdatum"),
                   _field("uitstroom_datum").label("uitstroom_datum"),
                   _field("vve_datum").label("vve_datum"),
                   _field("uitstroom_reden").label("uitstroom_reden"),
                   instances.c.data["passend_geboden"].as_boolean().label("passend"),
                   *(_deployed(d).label(d) for d in DISCIPLINE_NAMES))
            .select_from(instances.join(cases, cases.c.id == instances.c.case_id))
            .where(instances.c.route_id == "plaatsing", _field("startdatum").is_not(None), where))


def _day(value: Any) -> date | None:
    """A route field's ISO date, or None when absent or (it never should be) not a date."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _local_day(moment: datetime) -> date:
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL).date()


def _age_years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _row(src: Any) -> dict[str, Any] | None:
    start = _day(src.startdatum)
    if start is None:
        return None
    left = _day(src.uitstroom_datum)
    return {
        "id": src.id, "case_id": src.case_id, "location_id": src.location_id,
        "startdatum": start, "uitstroom_datum": left, "placed_until": left or OPEN,
        "vve_datum": _day(src.vve_datum),
        "uitstroom_reden": (src.uitstroom_reden or "")[:60], "passend": int(bool(src.passend)),
        "voortijdig": int(left is not None and _age_years(src.birth_date, left) < 4),
        "wachtdagen": (start - _local_day(src.started_at)).days,
        **{d: int(src._mapping[d] or 0) for d in DISCIPLINE_NAMES},
    }


# The support routes: which field starts and which ends the period.
SUPPORT_FIELDS = {"overbrugging": ("wachtlijst_sinds", "doorstroom_datum"),
                  "taakuren": ("startdatum", "einddatum")}


def _support_sources(where: Any) -> Any:
    """The ``overbrugging`` and ``taakuren`` instances matching ``where``."""
    keys = sorted({k for pair in SUPPORT_FIELDS.values() for k in pair})
    return (select(instances.c.id, instances.c.case_id, cases.c.location_id,
                   instances.c.route_id, instances.c.closed_at,
                   instances.c.data["uren_per_week"].as_integer().label("uren"),
                   *(_field(k).label(k) for k in keys))
            .select_from(instances.join(cases, cases.c.id == instances.c.case_id))
            .where(instances.c.route_id.in_(tuple(SUPPORT_FIELDS)), where))


def _support_row(src: Any) -> dict[str, Any] | None:
    first, last = SUPPORT_FIELDS[src.route_id]
    begin = _day(src._mapping[first])
    if begin is None:  # not on the waiting list / not carried out yet
        return None
    return {"id": src.id, "case_id": src.case_id, "location_id": src.location_id,
            "route_id": src.route_id, "begin": begin,
            "until": _day(src._mapping[last]) or OPEN,
            "closed_on": None if src.closed_at is None else _local_day(src.closed_at),
            "uren": int(src.uren or 0)}


def _write(conn: Connection, where: Any) -> int:
    rows = [r for src in conn.execute(_sources(where)) if (r := _row(src)) is not None]
    if rows:
        conn.execute(placements.insert(), rows)
    more = [r for src in conn.execute(_support_sources(where))
            if (r := _support_row(src)) is not None]
    if more:
        conn.execute(support.insert(), more)
    return len(rows)


def refresh_cases(conn: Connection, case_ids: Collection[int]) -> None:
    """Rewrite the monitor rows of these cases from their route data (in the caller's
    transaction, so the table never disagrees with the steps that were committed)."""
    ids = sorted(case_ids)
    for table in (placements, support):
        conn.execute(delete(table).where(table.c.case_id.in_(ids)))
    _write(conn, instances.c.case_id.in_(ids))


def rebuild(conn: Connection, chunk: int = 20_000) -> int:
    """Recompute the whole table from route data, ``chunk`` case ids at a time; returns the
    number of placement rows. For the migration that creates the tables and for bulk-loaded
    data."""
    conn.execute(delete(placements))
    conn.execute(delete(support))
    top = conn.execute(select(func.max(cases.c.id))).scalar() or 0
    written = 0
    for low in range(0, int(top) + 1, chunk):
        written += _write(conn, instances.c.case_id.between(low, low + chunk - 1))
    return written


# --- the monitor's queries over the table --------------------------------------------------------

def placements_in(conn: Connection, start: date, end: date) -> Sequence[Any]:
    """Per location, in one range of the period index: the trajecten in the period (placed on or
    before its end, not left before its start), how many had a VVE-indicatie dated by its end,
    in how many each discipline was deployed (columns named as in ``DISCIPLINE_NAMES``); and of
    the placements that ended in the period (``left``) how many were passend geboden, went to
    basisonderwijs, left voortijdig, and voortijdig to a behandelsetting (counts only)."""
    p = placements.c
    left = p.placed_until <= end

    def count(*conditions: Any) -> Any:
        return func.sum(case((and_(*conditions), 1), else_=0))

    q = (select(p.location_id, func.count().label("n"),
                count(p.vve_datum.is_not(None), p.vve_datum <= end).label("ve"),
                *(func.sum(p[d]).label(d) for d in DISCIPLINE_NAMES),
                count(left).label("left"), count(left, p.passend == 1).label("passend"),
                count(left, p.uitstroom_reden == "basisonderwijs").label("basisonderwijs"),
                count(left, p.voortijdig == 1).label("voortijdig"),
                count(left, p.voortijdig == 1, p.uitstroom_reden == "behandelsetting")
                .label("behandelsetting"))
         .where(p.placed_until >= start, p.startdatum <= end)
         .group_by(p.location_id))
    return conn.execute(q).all()


def placements_started(conn: Connection, start: date, end: date) -> Sequence[Any]:
    """Per location and waiting time (aanmelding -> startdatum, in days): how many placements
    started in the period. A start date recorded as lying before the referral is no wait."""
    p = placements.c
    q = (select(p.location_id, p.wachtdagen, func.count().label("n"))
         .where(p.startdatum >= start, p.startdatum <= end, p.wachtdagen >= 0)
         .group_by(p.location_id, p.wachtdagen))
    return conn.execute(q).all()


def bridging(conn: Connection, start: date, end: date) -> Sequence[Any]:
    """``overbrugging`` instances on the waiting list during the period (since on or before its
    end, not moved on before its start): waiting-list start, move-on date (``OPEN`` when none),
    the day the route closed."""
    m = support.c
    q = (select(m.location_id, m.begin, m.until, m.closed_on)
         .where(m.route_id == "overbrugging", m.until >= start, m.begin <= end))
    return conn.execute(q).all()


def taakuren(conn: Connection, start: date, end: date) -> Sequence[Any]:
    """``taakuren`` carried out (``startdatum`` recorded by start_uitvoering) overlapping the
    period: hours per week, start and end (``OPEN`` when none) of the extra hours."""
    m = support.c
    q = (select(m.location_id, m.case_id, m.uren, m.begin, m.until)
         .where(m.route_id == "taakuren", m.until >= start, m.begin <= end))
    return conn.execute(q).all()
