"""The monitor's tables: one row per placement (and per overbrugging or taakuren period), in
plain columns, kept with the route data.

The monitor passende kinderopvang counts trajecten, disciplines and uitstroom over a period. Read
straight from route data that means extracting JSON from every ``plaatsing`` instance and probing
participants and events per traject: a minute for a year on a million cases. This table holds the
same facts per placement in plain, indexed columns, so that a year is one range scan.

It is derived, never entered: ``monitor_repo.refresh_cases`` rewrites a case's rows in the same
transaction as every step, participant or route change of that case (``services.steps``), and
``monitor_repo.rebuild`` recomputes the whole table from route data (migration 0010, the
benchmark loaders, ``kovflow monitor --rebuild``). A row exists only for a placed child
(``startdatum`` recorded). It holds no name, case number or birth date: ``voortijdig`` (younger
than 4 at the outflow date) is computed when the row is written. ``monitor_support`` does the same
for the two small routes the monitor reads, ``overbrugging`` (waiting list) and ``taakuren``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class MonitorPlacement(SQLModel, table=True):
    __tablename__ = "monitor_placements"

    # The ``plaatsing`` instance. Named ``id`` (and linked to the case) so that retention removes
    # the row with the case, as it does every row that hangs off a case.
    id: int = Field(primary_key=True, foreign_key="route_instances.id")
    case_id: int = Field(foreign_key="cases.id", index=True)
    location_id: int | None = Field(default=None, foreign_key="locations.id")
    startdatum: date
    uitstroom_datum: date | None = None
    # The outflow date, or OPEN (far in the future) while the child is placed: a period's
    # trajecten are then one range on (placed_until, startdatum), with no OR over NULL.
    placed_until: date
    vve_datum: date | None = None
    uitstroom_reden: str = Field(default="", max_length=60)
    passend: int = 0  # 0/1 (integers, so that sums work alike on SQLite and PostgreSQL)
    voortijdig: int = 0  # 0/1: younger than 4 on the outflow date
    wachtdagen: int  # calendar days from the referral (instance start) to startdatum
    # Disciplines deployed in the traject, 0/1 each (the monitor's names, see monitor_repo).
    coach: int = 0
    logopedist: int = 0
    jeugdverpleegkundige: int = 0
    wijkcoach: int = 0
    ambulant_begeleider: int = 0
    thuisondersteuning: int = 0


OPEN = date(9999, 12, 31)  # placed_until of a placement that has not ended

_t = MonitorPlacement.__table__  # type: ignore[attr-defined]

# Covering indexes: each monitor query reads one range of one index and never the table. A
# period's trajecten and leavers: placed_until on or after the period's start (started by its
# end); the columns they sum follow. Placements started in the period: startdatum.
PERIOD_COLUMNS = ("placed_until", "startdatum", "location_id", "vve_datum", "passend",
                  "voortijdig", "uitstroom_reden", "coach", "logopedist", "jeugdverpleegkundige",
                  "wijkcoach", "ambulant_begeleider", "thuisondersteuning")
START_COLUMNS = ("startdatum", "wachtdagen", "location_id")
Index("ix_monitor_placements_period", *(_t.c[c] for c in PERIOD_COLUMNS))
Index("ix_monitor_placements_start", *(_t.c[c] for c in START_COLUMNS))


class MonitorSupport(SQLModel, table=True):
    """An ``overbrugging`` (on the waiting list from ``begin``, moved on at ``until``) or a
    ``taakuren`` period (``uren`` a week from ``begin`` to ``until``) that has started."""

    __tablename__ = "monitor_support"

    id: int = Field(primary_key=True, foreign_key="route_instances.id")
    case_id: int = Field(foreign_key="cases.id", index=True)
    location_id: int | None = Field(default=None, foreign_key="locations.id")
    route_id: str = Field(max_length=40)
    begin: date  # wachtlijst_sinds / startdatum
    until: date  # doorstroom_datum / einddatum, or OPEN when none is recorded
    closed_on: date | None = None  # the day the route instance closed (local time)
    uren: int = 0  # taakuren: hours per week


_s = MonitorSupport.__table__  # type: ignore[attr-defined]
SUPPORT_COLUMNS = ("route_id", "until", "begin", "location_id", "closed_on", "uren", "case_id")
Index("ix_monitor_support_period", *(_s.c[c] for c in SUPPORT_COLUMNS))
