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

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, Index, and_, case, func, literal, or_, select, union

# The table classes, not repo.py: tables.py imports this module at its end (to register the
# indexes), when repo.py may itself be half-imported.
from kovflow.store.tables import Case, Event, Location, Participant, RouteInstance

cases = Case.__table__  # type: ignore[attr-defined]
events = Event.__table__  # type: ignore[attr-defined]
instances = RouteInstance.__table__  # type: ignore[attr-defined]
locations = Location.__table__  # type: ignore[attr-defined]
participants = Participant.__table__  # type: ignore[attr-defined]

# Disciplines (monitor names) deployed in a traject, read from participants by role ...
PARTICIPANT_DISCIPLINES: dict[str, str] = {
    "coach": "coach", "logopedist": "logopedist", "jgz": "jeugdverpleegkundige",
    "wijkcoach": "wijkcoach", "ambulant_begeleider": "ambulant_begeleider",
}
# ... and from the routes: a state a route reached (a transition event into it).
EVENT_DISCIPLINES: tuple[tuple[str, str, str], ...] = (
    ("warme_overdracht_jgz", "gesprek_gevoerd", "jeugdverpleegkundige"),
    ("wijkcoach", "betrokken", "wijkcoach"),
    ("ambulante_inzet", "in_uitvoering", "ambulant_begeleider"),
)
# ... and home support: an ambulante inzet whose intensity is begeleiding_thuis.
HOME_ROUTE, HOME_FIELD, HOME_VALUE = "ambulante_inzet", "intensiteit", "begeleiding_thuis"

# The indexes these queries use: transitions into a state by route (the discipline union), and
# participants by role (the other half of it). Both carry case_id so the union reads the index only.
ix_events_route_to_state = Index("ix_events_route_to_state", events.c.route_id, events.c.to_state,
                                 events.c.case_id)
ix_participants_role_case = Index("ix_participants_role_case", participants.c.role,
                                  participants.c.case_id)


def _field(name: str) -> Any:
    """A text value of the instance's step data (``data ->> name``)."""
    return instances.c.data[name].as_string()


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


def trajecten(conn: Connection, start: date, end: date) -> Sequence[Any]:
    """Per location: trajecten in the period and how many of them had a VVE-indicatie.

    VE = a ``vve_datum`` recorded (asked with ``vve_indicatie = ja`` at placement, and by
    ``vve_indicatie_tijdens_plaatsing``) on or before the end of the period.
    """
    vve = _field("vve_datum")
    with_ve = func.sum(func.coalesce(
        _case_when(and_(vve.is_not(None), vve <= _iso(end))), 0))
    q = (select(cases.c.location_id, func.count().label("n"), with_ve.label("ve"))
         .select_from(instances.join(cases, cases.c.id == instances.c.case_id))
         .where(_placed_in(start, end))
         .group_by(cases.c.location_id))
    return conn.execute(q).all()


def _case_when(condition: Any) -> Any:
    return case((condition, 1), else_=0)


def disciplines(conn: Connection, start: date, end: date) -> Sequence[Any]:
    """Per location and discipline: the number of trajecten in which it was deployed.

    One union of (case, discipline) pairs from participants, route transitions and home support;
    ``UNION`` (not ``UNION ALL``) makes a discipline count once per traject.
    """
    parts = [select(participants.c.case_id.label("case_id"), literal(d).label("discipline"))
             .where(participants.c.role == role) for role, d in PARTICIPANT_DISCIPLINES.items()]
    parts += [select(events.c.case_id.label("case_id"), literal(d).label("discipline"))
              .where(events.c.route_id == route, events.c.to_state == state,
                     events.c.case_id.is_not(None))
              for route, state, d in EVENT_DISCIPLINES]
    parts.append(select(instances.c.case_id.label("case_id"),
                        literal("thuisondersteuning").label("discipline"))
                 .where(instances.c.route_id == HOME_ROUTE,
                        _field(HOME_FIELD) == HOME_VALUE))
    deployed = union(*parts).subquery("deployed")
    traject = (select(instances.c.case_id, cases.c.location_id)
               .select_from(instances.join(cases, cases.c.id == instances.c.case_id))
               .where(_placed_in(start, end)).subquery("traject"))
    q = (select(traject.c.location_id, deployed.c.discipline, func.count().label("n"))
         .select_from(traject.join(deployed, deployed.c.case_id == traject.c.case_id))
         .group_by(traject.c.location_id, deployed.c.discipline))
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
