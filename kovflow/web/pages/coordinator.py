"""The coordinator's pages: stalled cases, monitor, rollout tracker, outbox incidents, downloads.

``/coordinator`` answers "where is it stuck, and who should move?" on one page: the stalled-case
audit with its filters (a GET form, so a filtered view can be bookmarked), the monitor over a
period (default: the last 12 months) with its SVG charts inline, the rollout step of every
location, and the mail that could not be delivered. ``/coordinator/casus/<nummer>`` is the
pseudonymised case record (no name, birth date or step data: the services give the coordinator
nothing else), and ``/coordinator/export/...`` serves the audit and the monitor as CSV or XLSX.

Every figure comes from a service or report that checks who asks and writes the access log; for
anyone but the coordinator and functioneel beheer they refuse, and the page answers with the same
404 as a page that does not exist. Query strings carry filter values only (codes, dates, numbers),
never personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from kovflow.actor import Actor
from kovflow.errors import InvalidInput, KovflowError, NotFound
from kovflow.services import App
from kovflow.web.deps import current_actor, kapp, render

if TYPE_CHECKING:
    from kovflow.reports.monitor import MonitorReport
    from kovflow.reports.stalled import StalledFilters, StalledReport

router = APIRouter()

PAGE_FINDINGS = 200  # the page lists the first findings; the download holds all of them
STALLED_HEADINGS = ("Ernst", "Casus", "Locatie", "Wijk", "Organisatie", "Route", "Stand",
                    "Sinds", "Werkdagen", "Rol", "Verantwoordelijke", "Regel", "Reden",
                    "Volgende stap")
_MEDIA = {"csv": "text/csv; charset=utf-8",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# Dutch names of the event kinds on the timeline (the coordinator sees no event data).
EVENT_LABELS = {"case_opened": "Casus geopend", "participant_added": "Betrokkene toegevoegd",
                "consent": "Toestemming vastgelegd", "consent_transfer": "Gegevens gedeeld",
                "dispute": "Geschil", "transition": "Stap", "start": "Route gestart",
                "closed": "Route gesloten", "migrated": "Naar nieuwe routeversie"}
# The monitor's grouping, as the form names it -> compute_monitor's ``by``.
GROUPINGS = {"locatie": "location", "wijk": "wijk", "organisatie": "organisation"}
MONITOR_KEYS = ("van", "tot", "per", "vergelijk")
AUDIT_KEYS = ("locatie", "wijk", "organisatie", "route", "regel", "min_werkdagen")
# Query parameter -> StalledFilters field.
_FILTER_PARAMS = (("locatie", "location"), ("wijk", "wijk"), ("organisatie", "organisation"),
                  ("route", "route"), ("regel", "rule"))


def _refused(exc: KovflowError) -> NotFound:
    """The reports refuse anyone but the coordinator and admin (and log it); the page then
    does not exist for them."""
    return NotFound("page", "coordinator")


def _report_errors() -> tuple[type[KovflowError], ...]:
    from kovflow.reports.monitor import MonitorRefused
    from kovflow.reports.stalled import AuditRefused

    return (AuditRefused, MonitorRefused)


@dataclass(frozen=True)
class Query:
    """The dashboard's query string, checked: the audit filters and the monitor period."""

    values: dict[str, str]  # the raw, non-empty values (to fill the forms and build links)
    filters: StalledFilters
    start: date
    end: date
    by: str | None = None  # the monitor's grouping (compute_monitor's ``by``)
    compare: tuple[date, date] | None = None  # the period before, of the same length

    def link(self, path: str, *keys: str) -> str:
        """``path`` with the given query values (all when no keys are named)."""
        wanted = {k: v for k, v in self.values.items() if not keys or k in keys}
        return f"{path}?{urlencode(wanted)}" if wanted else path


def _date(value: str, label: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{label} {value!r} is geen datum: schrijf JJJJ-MM-DD") from None


def default_period(today: date) -> tuple[date, date]:
    """The last 12 months up to and including ``today``."""
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)
    return year_ago + timedelta(days=1), today


def parse_query(request: Request, app: App, limit: int | None) -> Query:
    """Read the filters and the period; a wrong value is an ``InvalidInput`` naming it."""
    from kovflow.calendar import AMSTERDAM
    from kovflow.reports.stalled import StalledFilters

    params = request.query_params
    values = {k: params.get(k, "").strip() for k in (*AUDIT_KEYS, *MONITOR_KEYS)}
    values = {k: v for k, v in values.items() if v}
    chosen: dict[str, Any] = {field: values.get(param) for param, field in _FILTER_PARAMS}
    minimum = values.get("min_werkdagen")
    if minimum is not None:
        if not minimum.isdigit():
            raise InvalidInput(f"minimaal aantal werkdagen {minimum!r}: geef een heel getal, "
                               "0 of meer")
        chosen["min_werkdagen"] = int(minimum)
    filters = StalledFilters(limit=limit, **chosen)
    start, end = default_period(app.clock.now().astimezone(AMSTERDAM).date())
    if "van" in values:
        start = _date(values["van"], "begin van de periode")
    if "tot" in values:
        end = _date(values["tot"], "einde van de periode")
    if end < start:
        raise InvalidInput(f"de periode eindigt ({end.isoformat()}) voor ze begint "
                           f"({start.isoformat()})")
    by = None
    if "per" in values:
        if values["per"] not in GROUPINGS:
            raise InvalidInput(f"indeling {values['per']!r}: kies locatie, wijk of organisatie")
        by = GROUPINGS[values["per"]]
    compare = None
    if values.get("vergelijk") == "ja":
        length = end - start
        compare = (start - length - timedelta(days=1), start - timedelta(days=1))
    return Query(values, filters, start, end, by, compare)


def _stalled(app: App, actor: Actor, filters: StalledFilters) -> StalledReport:
    from kovflow.reports.stalled import find_stalled

    try:
        return find_stalled(app, actor, filters)
    except _report_errors() as exc:
        raise _refused(exc) from None


def _monitor(app: App, actor: Actor, query: Query) -> MonitorReport:
    from kovflow.reports.monitor import compute_monitor

    try:
        return compute_monitor(app, actor, query.start, query.end, by=query.by,
                               compare=query.compare)
    except _report_errors() as exc:
        raise _refused(exc) from None


def _choices(app: App, rollout_rows: list[Any]) -> dict[str, list[tuple[str, str]]]:
    """Options of the filter form: locations, wijken and organisations known from the rollout
    tracker (every location is listed there), routes and rules."""
    from kovflow.reports.stalled import RULES

    return {
        "locatie": [(r.location, f"{r.location} ({r.name})") for r in rollout_rows],
        "wijk": [(w, w) for w in sorted({r.wijk for r in rollout_rows if r.wijk})],
        "organisatie": [(o, o) for o in sorted({r.organisation for r in rollout_rows
                                                 if r.organisation})],
        "route": [(s.id, s.title) for s in app.catalog.latest()],
        "regel": [(code, rule.title) for code, rule in RULES.items()],
    }


@router.get("/coordinator")
def dashboard(request: Request, actor: Annotated[Actor, Depends(current_actor)],
              app: Annotated[App, Depends(kapp)]) -> Response:
    from markupsafe import Markup

    from kovflow.reports.charts import discipline_chart, uitstroom_chart
    from kovflow.reports.monitor import report_rows
    from kovflow.reports.rollout import rollout
    from kovflow.services.beheer import outbox_incidents

    query = parse_query(request, app, PAGE_FINDINGS)
    report = _stalled(app, actor, query.filters)
    try:
        rollout_rows = rollout(app, actor)
    except _report_errors() as exc:
        raise _refused(exc) from None
    monitor = _monitor(app, actor, query)
    headings, rows = report_rows(monitor)
    return render(
        request, "coordinator.html", report=report, query=query, choices=_choices(app, rollout_rows),
        rollout=rollout_rows, monitor=monitor, monitor_headings=headings, monitor_rows=rows,
        charts=[Markup(discipline_chart(monitor)), Markup(uitstroom_chart(monitor))],
        incidents=outbox_incidents(app, actor),
        links={fmt: {"audit": query.link(f"/coordinator/export/vastgelopen.{fmt}", *AUDIT_KEYS),
                     "monitor": query.link(f"/coordinator/export/monitor.{fmt}", *MONITOR_KEYS)}
               for fmt in ("csv", "xlsx")},
        hidden_audit={k: v for k, v in query.values.items() if k in AUDIT_KEYS},
        hidden_period={k: v for k, v in query.values.items() if k in MONITOR_KEYS})


@router.get("/coordinator/casus/{case_number}")
def case_record(request: Request, case_number: str,
                actor: Annotated[Actor, Depends(current_actor)],
                app: Annotated[App, Depends(kapp)]) -> Response:
    """The pseudonymised record of a case: location, routes, states, open tasks, the timeline
    of steps (no data recorded with them), the roles around the child."""
    from kovflow.services import case_overview, history

    if not actor.roles & {"coordinator", "admin"}:
        # The drill-down belongs to the dashboard; staff open a case on its own page.
        raise NotFound("page", request.url.path)
    overview = case_overview(app, actor, case_number)
    events = history(app, actor, case_number)
    opened = next((e["at"] for e in events if e["kind"] == "case_opened"), None)
    return render(request, "coordinator_case.html", case=overview, opened=opened,
                  events=[_timeline_entry(app, e) for e in reversed(events)])


def _timeline_entry(app: App, event: dict[str, Any]) -> dict[str, str]:
    """One line of the timeline in Dutch: what happened, on which route, to which state."""
    route, state = event["route"], event["to"]
    if route:
        try:
            spec = app.catalog.get(route, event["version"] or None)
        except KovflowError:  # a version no longer loaded: show the ids
            pass
        else:
            target = spec.states.get(state)
            route, state = spec.title, target.label if target is not None else state
    return {"at": event["at"], "label": EVENT_LABELS.get(event["kind"], event["kind"]),
            "route": route, "state": state}


def stalled_rows(report: StalledReport) -> list[list[Any]]:
    """The findings as export rows (the same columns as ``kovflow audit stalled``)."""
    from kovflow.calendar import AMSTERDAM

    return [[f.severity_label, f.case_number, f.location, f.wijk, f.organisation,
             f.route_title, f.state_label, f.since.astimezone(AMSTERDAM).date().isoformat(),
             f.werkdagen, f.role, f.person_name or f.person, f.rule, f.reason, f.next_step]
            for f in report.findings]


def _download(data: bytes, fmt: str, filename: str) -> Response:
    return Response(data, media_type=_MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})


def _format(fmt: str) -> str:
    if fmt not in _MEDIA:
        raise NotFound("page", f"export .{fmt}")
    return fmt


@router.get("/coordinator/export/vastgelopen.{fmt}")
def export_stalled(request: Request, fmt: str, actor: Annotated[Actor, Depends(current_actor)],
                   app: Annotated[App, Depends(kapp)]) -> Response:
    from kovflow.reports.export import table_bytes

    fmt = _format(fmt)
    query = parse_query(request, app, None)
    report = _stalled(app, actor, query.filters)
    title = "Vastgelopen casussen"
    described = query.filters.describe()
    data = table_bytes(fmt, title, STALLED_HEADINGS, stalled_rows(report),  # type: ignore[arg-type]
                       report.generated_at, f"filters: {described}" if described else None)
    day = report.generated_at.date().isoformat()
    return _download(data, fmt, f"vastgelopen-{day}.{fmt}")


@router.get("/coordinator/export/monitor.{fmt}")
def export_monitor(request: Request, fmt: str, actor: Annotated[Actor, Depends(current_actor)],
                   app: Annotated[App, Depends(kapp)]) -> Response:
    from kovflow.reports.export import table_bytes
    from kovflow.reports.monitor import report_rows

    fmt = _format(fmt)
    query = parse_query(request, app, None)
    report = _monitor(app, actor, query)
    headings, rows = report_rows(report)
    period = report.period
    if report.previous is not None:
        period += f" (vergeleken met {report.previous.period})"
    data = table_bytes(fmt, "Monitor passende kinderopvang", headings, rows,  # type: ignore[arg-type]
                       report.generated_at, period)
    return _download(data, fmt,
                     f"monitor-{report.start.isoformat()}-{report.end.isoformat()}.{fmt}")
