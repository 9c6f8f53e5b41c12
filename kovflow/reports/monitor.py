"""The monitor passende kinderopvang, computed from route data (no double entry).

Definitions (ROUTES.md "Monitor passende kinderopvang"; the published Arnhem figures are the shape):

- **traject**: a case (kindgebonden traject) whose ``plaatsing`` placement overlaps the period:
  ``startdatum`` (step ``plaats``) on or before the period's end, and no ``uitstroom_datum`` before
  its start. Referrals that were never placed are not trajecten.
- **VE**: the traject has a VVE-indicatie: a ``vve_datum`` recorded at placement (``vve_indicatie =
  ja``) or during it (``vve_indicatie_tijdens_plaatsing``), dated on or before the period's end.
- **disciplines**: a discipline counts once per traject when the case has a participant in that
  role or a route shows it at work: coach (participant ``coach``), logopedist (``logopedist``),
  jeugdverpleegkundige (``jgz``, or a warme overdracht that reached ``gesprek_gevoerd``), wijkcoach
  (``wijkcoach``, or the wijkcoach route reached ``betrokken``), ambulant begeleider
  (``ambulant_begeleider``, or ``ambulante_inzet`` reached ``in_uitvoering``), thuisondersteuning
  (an ``ambulante_inzet`` with intensity ``begeleiding_thuis``). Shares are of all trajecten.
- **uitstroom**: placements with ``uitstroom_datum`` in the period. Passend geboden, basisonderwijs
  and voortijdig (younger than 4 at the outflow date, from the birth date) are shares of ALL
  leavers, as published; voortijdig splits into behandelsetting and overig (also shares of all).
- **wachttijden** in calendar days (median and mean): aanmelding -> plaatsing (start of the
  ``plaatsing`` instance to ``startdatum``, placements starting in the period; a start date
  recorded as lying before the referral is left out), and the overbrugging
  waiting time (``wachtlijst_sinds`` -> ``doorstroom_datum``, moved on in the period); plus the
  number of children on a waiting list (overbrugging) during the period.
- **taakuren**: ``taakuren`` carried out (``startdatum`` recorded) overlapping the period: trajecten
  with extra hours and the hours in the period (hours per week x overlapping days / 7; the last
  recorded hours and end date count, an extension changes both).

Only aggregates leave this module: no case numbers, names or birth dates; meldcode routes are not
read. Coordinator, admin and the operator may run it; each run is logged as a search (NEN 7513).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from kovflow.access.policy import Action, Relation, allowed
from kovflow.actor import Actor
from kovflow.errors import InvalidInput, KovflowError
from kovflow.services import access
from kovflow.services.context import App
from kovflow.store import monitor_repo
from kovflow.store.db import Connection, read, write
from kovflow.store.monitor_tables import OPEN

Grouping = Literal["location", "wijk", "organisation"]
GROUPINGS: tuple[str, ...] = ("location", "wijk", "organisation")
LOCAL = ZoneInfo("Europe/Amsterdam")

# Monitor names and Dutch labels, in the order of the published figures.
DISCIPLINES: tuple[tuple[str, str], ...] = (
    ("coach", "Coach passende kinderopvang"),
    ("logopedist", "Logopedist"),
    ("jeugdverpleegkundige", "Jeugdverpleegkundige"),
    ("wijkcoach", "Wijkcoach"),
    ("ambulant_begeleider", "Ambulant begeleider"),
    ("thuisondersteuning", "Thuisondersteuning"),
)
UITSTROOM: tuple[tuple[str, str], ...] = (
    ("passend", "Passende kinderopvang geboden"),
    ("basisonderwijs", "Naar basisonderwijs"),
    ("voortijdig", "Voortijdig (voor 4 jaar)"),
    ("voortijdig_behandelsetting", "Voortijdig: naar behandelsetting"),
    ("voortijdig_overig", "Voortijdig: overige redenen"),
)


class MonitorRefused(KovflowError):
    """Only the coordinator and functioneel beheer may run the monitor."""

    exit_code = 3


@dataclass(frozen=True)
class Share:
    """``count`` of ``base``; ``percent`` is None when the base is 0 (nothing to divide)."""

    count: int
    base: int

    @property
    def percent(self) -> float | None:
        return None if self.base == 0 else 100.0 * self.count / self.base

    @property
    def rounded(self) -> int | None:
        """Whole percents, half up (as the published figures are rounded)."""
        p = self.percent
        return None if p is None else int(p + 0.5)

    def to_dict(self) -> dict[str, Any]:
        p = self.percent
        return {"count": self.count, "base": self.base,
                "percent": None if p is None else round(p, 1)}


@dataclass(frozen=True)
class Duration:
    """A waiting time over ``count`` children, in calendar days."""

    count: int
    median_days: float | None
    mean_days: float | None

    @classmethod
    def of(cls, days: Sequence[int]) -> Duration:
        if not days:
            return cls(0, None, None)
        return cls(len(days), float(statistics.median(days)), round(statistics.fmean(days), 1))

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "median_days": self.median_days,
                "mean_days": self.mean_days}


@dataclass(frozen=True)
class MonitorFigures:
    """The indicators for one group (or the total) over one period."""

    trajecten: int
    ve: Share
    disciplines: Mapping[str, Share]  # keys: the names in DISCIPLINES, in that order
    leavers: int
    uitstroom: Mapping[str, Share]  # keys: the names in UITSTROOM (shares of all leavers)
    wachttijd_plaatsing: Duration  # aanmelding -> startdatum of placements starting in the period
    overbrugging_wachttijd: Duration  # wachtlijst_sinds -> doorstroom_datum, moved on in period
    overbrugging_wachtend: int  # children on an overbrugging waiting list during the period
    taakuren_trajecten: int
    taakuren_uren: float  # extra hours within the period

    def to_dict(self) -> dict[str, Any]:
        return {
            "trajecten": self.trajecten, "ve": self.ve.to_dict(),
            "disciplines": {k: v.to_dict() for k, v in self.disciplines.items()},
            "leavers": self.leavers,
            "uitstroom": {k: v.to_dict() for k, v in self.uitstroom.items()},
            "wachttijd_plaatsing": self.wachttijd_plaatsing.to_dict(),
            "overbrugging_wachttijd": self.overbrugging_wachttijd.to_dict(),
            "overbrugging_wachtend": self.overbrugging_wachtend,
            "taakuren_trajecten": self.taakuren_trajecten, "taakuren_uren": self.taakuren_uren,
        }


@dataclass(frozen=True)
class MonitorGroup:
    """One location, wijk or organisation (``key`` = code or name; ``label`` for people)."""

    key: str
    label: str
    figures: MonitorFigures

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "figures": self.figures.to_dict()}


@dataclass(frozen=True)
class Change:
    """How one indicator moved from the comparison period to this one (total only).

    ``delta`` is in percentage points for shares, in units (trajecten, days, hours) otherwise.
    """

    indicator: str
    label: str
    current: float | None
    previous: float | None
    unit: str  # "%" (percentage points in delta), "aantal", "dagen" or "uren"

    @property
    def delta(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return round(self.current - self.previous, 1)

    def to_dict(self) -> dict[str, Any]:
        return {"indicator": self.indicator, "label": self.label, "current": self.current,
                "previous": self.previous, "delta": self.delta, "unit": self.unit}


@dataclass(frozen=True)
class MonitorReport:
    """The monitor over ``start``..``end`` (inclusive), optionally grouped and compared."""

    start: date
    end: date
    generated_at: datetime
    total: MonitorFigures
    by: str | None = None
    groups: tuple[MonitorGroup, ...] = ()
    previous: MonitorReport | None = None  # the comparison period, when asked
    changes: tuple[Change, ...] = field(default=())

    @property
    def period(self) -> str:
        return f"{self.start.isoformat()} t/m {self.end.isoformat()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(), "end": self.end.isoformat(),
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "by": self.by, "total": self.total.to_dict(),
            "groups": [g.to_dict() for g in self.groups],
            "previous": None if self.previous is None else self.previous.to_dict(),
            "changes": [c.to_dict() for c in self.changes],
        }


# --- computing ---------------------------------------------------------------------------------

def compute_monitor(app: App, actor: Actor, start: date, end: date, by: str | None = None,
                    compare: tuple[date, date] | None = None) -> MonitorReport:
    """The monitor for ``start``..``end`` (both inclusive), grouped ``by`` location, wijk or
    organisation, and compared with the period ``compare`` when given.

    Raises ``InvalidInput`` for a reversed period or an unknown grouping and ``MonitorRefused``
    for anyone but the coordinator, functioneel beheer (admin) and the operator; every run, also
    a refused one, is recorded in the access log as a search.
    """
    _check_period(start, end, "period")
    if compare is not None:
        _check_period(compare[0], compare[1], "comparison period")
    if by is not None and by not in GROUPINGS:
        raise InvalidInput(f"unknown grouping {by!r}: use location, wijk or organisation")
    now = app.clock.now()
    what = f"monitor {start.isoformat()}..{end.isoformat()}"
    if not may_run_monitor(actor):
        write(app.engine, lambda conn: access.log(conn, actor, now, None, Action.SEARCH, what,
                                                  outcome="refused"))
        raise MonitorRefused("de monitor passende kinderopvang is alleen voor de coördinator en "
                             "functioneel beheer")

    # The search is logged first, in its own short write transaction: the reads that follow may
    # take a while on a large database and must not hold SQLite's write lock meanwhile.
    write(app.engine, lambda conn: access.log(conn, actor, now, None, Action.SEARCH, what))
    with read(app.engine) as conn:
        return _report(conn, start, end, by, compare, now)


def may_run_monitor(actor: Actor) -> bool:
    """The coordinator (the policy's pseudonymised reader), functioneel beheer and the operator."""
    return (actor.operator or "admin" in actor.roles
            or allowed(Relation.COORDINATOR, actor.roles, Action.READ_PSEUDONYMISED))


def _check_period(start: date, end: date, name: str) -> None:
    if end < start:
        raise InvalidInput(f"the {name} ends ({end.isoformat()}) before it starts "
                           f"({start.isoformat()})")


def _report(conn: Connection, start: date, end: date, by: str | None,
            compare: tuple[date, date] | None, now: datetime) -> MonitorReport:
    locs = {r.id: r for r in monitor_repo.location_rows(conn)}
    per_location = _per_location(conn, start, end)
    total = _merge(list(per_location.values()), start, end)
    groups: tuple[MonitorGroup, ...] = ()
    if by is not None:
        groups = _grouped(per_location, locs, by, start, end)
    previous = changes = None
    if compare is not None:
        previous = _report(conn, compare[0], compare[1], by, None, now)
        changes = _changes(total, previous.total)
    return MonitorReport(start, end, now, total, by, groups, previous, changes or ())


@dataclass
class _Leavers:
    """Counts of the placements that ended in the period (shares are of ``n``)."""

    n: int = 0
    passend: int = 0
    basisonderwijs: int = 0
    voortijdig: int = 0
    behandelsetting: int = 0  # voortijdig and to a behandelsetting

    def add(self, other: _Leavers) -> None:
        self.n += other.n
        self.passend += other.passend
        self.basisonderwijs += other.basisonderwijs
        self.voortijdig += other.voortijdig
        self.behandelsetting += other.behandelsetting


@dataclass
class _Raw:
    """What the queries return for one location, before it becomes shares."""

    trajecten: int = 0
    ve: int = 0
    disciplines: dict[str, int] = field(default_factory=dict)
    leavers: _Leavers = field(default_factory=_Leavers)
    plaatsing_days: list[int] = field(default_factory=list)
    overbrugging_days: list[int] = field(default_factory=list)
    wachtend: int = 0
    taakuren_cases: set[int] = field(default_factory=set)
    taakuren_uren: float = 0.0


def _per_location(conn: Connection, start: date, end: date) -> dict[int, _Raw]:
    raw: dict[int, _Raw] = {}

    def at(location_id: int) -> _Raw:
        return raw.setdefault(location_id, _Raw())

    for r in monitor_repo.placements_in(conn, start, end):
        here = at(r.location_id)
        here.trajecten, here.ve = int(r.n), int(r.ve or 0)
        here.disciplines = {d: int(r._mapping[d] or 0) for d in monitor_repo.DISCIPLINE_NAMES}
        here.leavers = _Leavers(int(r.left or 0), int(r.passend or 0),
                                int(r.basisonderwijs or 0), int(r.voortijdig or 0),
                                int(r.behandelsetting or 0))
    for r in monitor_repo.placements_started(conn, start, end):
        at(r.location_id).plaatsing_days.extend([int(r.wachtdagen)] * int(r.n))
    for r in monitor_repo.bridging(conn, start, end):
        moved = None if r.until == OPEN else r.until
        if moved is not None and start <= moved <= end:
            at(r.location_id).overbrugging_days.append(max(0, (moved - r.begin).days))
        # On the list during the period: not moved on, or closed otherwise, before it started.
        if moved is None and r.closed_on is not None and r.closed_on < start:
            continue
        at(r.location_id).wachtend += 1
    for r in monitor_repo.taakuren(conn, start, end):
        begin = max(start, r.begin)
        until = min(end, r.until)
        days = (until - begin).days + 1
        if days > 0 and r.uren:
            at(r.location_id).taakuren_cases.add(int(r.case_id))
            at(r.location_id).taakuren_uren += int(r.uren) * days / 7
    return raw


def _merge(parts: Iterable[_Raw], start: date, end: date) -> MonitorFigures:
    """Add location figures together (a case has one location, so counts add up exactly)."""
    acc = _Raw()
    for p in parts:
        acc.trajecten += p.trajecten
        acc.ve += p.ve
        for k, v in p.disciplines.items():
            acc.disciplines[k] = acc.disciplines.get(k, 0) + v
        acc.leavers.add(p.leavers)
        acc.plaatsing_days += p.plaatsing_days
        acc.overbrugging_days += p.overbrugging_days
        acc.wachtend += p.wachtend
        acc.taakuren_cases |= p.taakuren_cases
        acc.taakuren_uren += p.taakuren_uren
    left = acc.leavers
    n_left = left.n
    uitstroom = {
        "passend": Share(left.passend, n_left),
        "basisonderwijs": Share(left.basisonderwijs, n_left),
        "voortijdig": Share(left.voortijdig, n_left),
        "voortijdig_behandelsetting": Share(left.behandelsetting, n_left),
        "voortijdig_overig": Share(left.voortijdig - left.behandelsetting, n_left),
    }
    return MonitorFigures(
        trajecten=acc.trajecten, ve=Share(acc.ve, acc.trajecten),
        disciplines={k: Share(acc.disciplines.get(k, 0), acc.trajecten) for k, _ in DISCIPLINES},
        leavers=n_left, uitstroom=uitstroom,
        wachttijd_plaatsing=Duration.of(acc.plaatsing_days),
        overbrugging_wachttijd=Duration.of(acc.overbrugging_days),
        overbrugging_wachtend=acc.wachtend,
        taakuren_trajecten=len(acc.taakuren_cases), taakuren_uren=round(acc.taakuren_uren, 1))


def _grouped(per_location: Mapping[int, _Raw], locs: Mapping[int, Any], by: str,
             start: date, end: date) -> tuple[MonitorGroup, ...]:
    """Groups for every location (or wijk, organisation) that has one, also with no trajecten:
    a location missing from the report would look like a gap in the data."""
    key_of: Callable[[Any], tuple[str, str]] = {
        "location": lambda loc: (loc.code, loc.name),
        "wijk": lambda loc: (loc.wijk or "", loc.wijk or "(geen wijk)"),
        "organisation": lambda loc: (loc.organisation or "",
                                     loc.organisation or "(geen organisatie)"),
    }[by]
    members: dict[tuple[str, str], list[_Raw]] = {}
    for loc_id, loc in locs.items():
        members.setdefault(key_of(loc), []).append(per_location.get(loc_id, _Raw()))
    return tuple(MonitorGroup(key, label, _merge(parts, start, end))
                 for (key, label), parts in sorted(members.items()))


def indicators(figures: MonitorFigures) -> list[tuple[str, str, float | None, str]]:
    """The report's indicators as (name, Dutch label, value, unit), in the published order.

    Shares are percents (one decimal); durations are median days. Used by the comparison, the
    table and the exports, so they always list the same indicators.
    """
    def pct(s: Share) -> float | None:
        p = s.percent
        return None if p is None else round(p, 1)

    rows: list[tuple[str, str, float | None, str]] = [
        ("trajecten", "Trajecten", float(figures.trajecten), "aantal"),
        ("ve", "Met VE-indicatie", pct(figures.ve), "%"),
    ]
    rows += [(f"discipline_{k}", f"Ingezet: {label}", pct(figures.disciplines[k]), "%")
             for k, label in DISCIPLINES]
    rows.append(("uitstroom", "Uitstroom (kinderen)", float(figures.leavers), "aantal"))
    rows += [(f"uitstroom_{k}", label, pct(figures.uitstroom[k]), "%") for k, label in UITSTROOM]
    rows += [
        ("wachttijd_plaatsing", "Wachttijd aanmelding tot plaatsing (mediaan, dagen)",
         figures.wachttijd_plaatsing.median_days, "dagen"),
        ("overbrugging_wachttijd", "Wachttijd overbrugging tot doorstroom (mediaan, dagen)",
         figures.overbrugging_wachttijd.median_days, "dagen"),
        ("overbrugging_wachtend", "Kinderen op een wachtlijst (overbrugging)",
         float(figures.overbrugging_wachtend), "aantal"),
        ("taakuren_trajecten", "Trajecten met extra taakuren", float(figures.taakuren_trajecten),
         "aantal"),
        ("taakuren_uren", "Extra taakuren in de periode", figures.taakuren_uren, "uren"),
    ]
    return rows


def _changes(current: MonitorFigures, previous: MonitorFigures) -> tuple[Change, ...]:
    before = {name: value for name, _, value, _ in indicators(previous)}
    return tuple(Change(name, label, value, before[name], unit)
                 for name, label, value, unit in indicators(current))


# --- tables for people and files ---------------------------------------------------------------

HEADINGS = ("Groep", "Indicator", "Waarde", "Eenheid", "Aantal", "Basis")
COMPARE_HEADINGS = ("Vorige periode", "Verschil")


def report_rows(report: MonitorReport) -> tuple[list[str], list[list[Any]]]:
    """Headings and rows (long format: one row per group and indicator) for table and exports."""
    headings = list(HEADINGS) + (list(COMPARE_HEADINGS) if report.previous is not None else [])
    previous = ({name: value for name, _, value, _ in indicators(report.previous.total)}
                if report.previous is not None else {})
    groups = [("Totaal", report.total)] + [(g.label, g.figures) for g in report.groups]
    rows: list[list[Any]] = []
    for group, figures in groups:
        counts = _counts(figures)
        for name, label, value, unit in indicators(figures):
            count, base = counts.get(name, (None, None))
            row: list[Any] = [group, label, value, unit, count, base]
            if report.previous is not None:
                before = previous.get(name) if group == "Totaal" else None
                row += [before, None if before is None or value is None
                        else round(value - before, 1)]
            rows.append(row)
    return headings, rows


def _counts(figures: MonitorFigures) -> dict[str, tuple[int, int]]:
    out = {"ve": (figures.ve.count, figures.ve.base)}
    out.update({f"discipline_{k}": (s.count, s.base) for k, s in figures.disciplines.items()})
    out.update({f"uitstroom_{k}": (s.count, s.base) for k, s in figures.uitstroom.items()})
    return out


def report_text(report: MonitorReport) -> str:
    """A readable plain-text table (the CLI's default output and the demo's ending)."""
    headings, rows = report_rows(report)
    lines = [f"Monitor passende kinderopvang, {report.period} "
             f"(gegenereerd {report.generated_at.astimezone(LOCAL):%Y-%m-%d %H:%M})"]
    if report.previous is not None:
        lines.append(f"Vergeleken met {report.previous.period}")
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headings)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(headings, widths, strict=True)).rstrip())
    for r in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}" if value == int(value) else f"{value:.1f}"
    return str(value)

