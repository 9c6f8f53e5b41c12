"""Queries of the monitor passende kinderopvang (aggregates over route data).

Everything the monitor reports is read from what the routes already recorded (no double entry):
the ``plaatsing`` instance's step data (``startdatum``, ``vve_datum``, ``uitstroom_*``), the
participants of a case, the transitions in ``events`` and the data of the ``overbrugging`` and
``taakuren`` instances. The queries return aggregate rows per location (never a case number or a
name); the report module adds wijk and organisation from the small ``locations`` table.

Dates in route data are ISO strings (``YYYY-MM-DD``), so comparing them as text orders them
correctly on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, Index, String, and_, case, exists, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

# The table classes, not repo.py: tables.py imports this module at its end (to register the
# indexes), when repo.py may itself be half-imported.
from kovflow.store.tables import Case, Event, Location, Participant, RouteInstance

cases = Case.__table__  # type: ignore[attr-defined]
events = Event.__table__  # type: ignore[attr-defined]
instances = RouteInstance.__table__  # type: ignore[attr-defined]
locations = Location.__table__  # type: ignore[attr-defined]
participants = Participant.__table__  # type: ignore[attr-defined]

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


def _iso(day: date) -> str:
    return day.isoformat()


def _placed_in(start: date, end: date) -> Any:
    """``plaatsing`` instances whose placement overlaps the period: started on or before its end,
    not left before its start. This is a traject in the period."""
    startdatum, uitstroom = _field("startdatum"), _field("uitstroom_datum")
    return and_(instances.c.route_id == "plaatsing", startdatum.is_not(None),
                startdatum <= _iso(end), or_(uitstroom.is_(None), uitstroom >= _iso(start)))


def location_rows(conn: Connection) -> Sequence[Any]:
    return conn.execute(select(locations.c.id, locations.c.code, locations.c.name,
                               locations.c.wijk, locations.c.organisation)).all()


def _deployed(discipline: str) -> Any:
    """True when the traject's case shows ``discipline`` at work (participant, route or both:
    one EXISTS per source, so a discipline counts once per traject)."""
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
    return func.sum(case((or_(*found), 1), else_=0))


def trajecten(conn: Connection, start: date, end: date) -> Sequence[Any]:
    """Per location: the trajecten in the period, how many had a VVE-indicatie, and in how many
    each discipline was deployed (columns named as in ``DISCIPLINE_NAMES``).

    VE = a ``vve_datum`` recorded (asked with ``vve_indicatie = ja`` at placement, and by
    ``vve_indicatie_tijdens_plaatsing``) on or before the end of the period.
    """
    vve = _field("vve_datum")
    with_ve = func.sum(case((and_(vve.is_not(None), vve <= _iso(end)), 1), else_=0))
    q = (select(cases.c.location_id, func.count().label("n"), with_ve.label("ve"),
                *(_deployed(d).label(d) for d in DISCIPLINE_NAMES))
         .select_from(instances.join(cases, cases.c.id == instances.c.case_id))
         .where(_placed_in(start, end))
         .group_by(cases.c.location_id))
    return conn.execute(q).all()


def leavers(conn: Connection, start: date, end: date) -> Sequence[Any]:
    """One row per placement that ended (``uitstroom_datum``) in the period: location, birth
    date, reason, passend geboden and the date (no case number, no name)."""
    uitstroom = _field("uitstroom_datum")
    q = (select(cases.c.location_id, cases.c.birth_date, uitstroom.label("datum"),
                _field("uitstroom_reden").label("reden"),
                instances.c.data["passend_geboden"].as_boolean().label("passend"))
         .select_from(instances.join(cases, cases.c.id == instances.c.case_id))
         .where(instances.c.route_id == "plaatsing", uitstroom >= _iso(start),
                uitstroom <= _iso(end)))
    return conn.execute(q).all()


def placements_started(conn: Connection, start: date, end: date) -> Sequence[Any]:
    """Placements that started in the period, with the moment of referral (the instance start,
    i.e. aanmelding) for the waiting time aanmelding -> plaatsing."""
    startdatum = _field("startdatum")
    q = (select(cases.c.location_id, instances.c.started_at, startdatum.label("startdatum"))
         .select_from(instances.join(cases, cases.c.id == instances.c.case_id))
         .where(instances.c.route_id == "plaatsing", startdatum >= _iso(start),
                startdatum <= _iso(end)))
    return conn.execute(q).all()


def bridging(conn: Connection, start: date, end: date) -> Sequence[Any]:
    """``overbrugging`` instances on the waiting list during the period (since on or before its
    end, not moved on before its start): waiting-list start, move-on date, state."""
    since, moved = _field("wachtlijst_sinds"), _field("doorstroom_datum")
    q = (select(cases.c.location_id, since.label("sinds"), moved.label("doorstroom"),
                instances.c.state, instances.c.closed_at)
         .select_from(instances.join(cases, cases.c.id == instances.c.case_id))
         .where(instances.c.route_id == "overbrugging", since.is_not(None),
                since <= _iso(end), or_(moved.is_(None), moved >= _iso(start))))
    return conn.execute(q).all()


def taakuren(conn: Connection, start: date, end: date) -> Sequence[Any]:
    """``taakuren`` carried out (``startdatum`` recorded by start_uitvoering) overlapping the
    period: hours per week, start and end of the period of the extra hours."""
    begin, until = _field("startdatum"), _field("einddatum")
    q = (select(cases.c.location_id, instances.c.case_id,
                instances.c.data["uren_per_week"].as_integer().label("uren"),
                begin.label("begin"), until.label("einde"))
         .select_from(instances.join(cases, cases.c.id == instances.c.case_id))
         .where(instances.c.route_id == "taakuren", begin.is_not(None), begin <= _iso(end),
                or_(until.is_(None), until >= _iso(start))))
    return conn.execute(q).all()
