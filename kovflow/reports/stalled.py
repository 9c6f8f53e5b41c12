"""The stalled-case audit: where is a route stuck, and who should move? (ROUTES.md, issue 6).

A route instance is stalled when an open task is past its due moment, when no event happened for
longer than its state's idle threshold, when a planned conversation's date passed without the
conversation being recorded, when a consent stays undecided, when a beschikking request passes its
service norm or the 8-week maximum, or when a location's rollout step stays open too long.

Each rule is one set-based query (``kovflow.store.stalled_repo``): thresholds in werkdagen are
turned into cut-off moments here, on the installation's work calendar, so holidays move them. The
report is the coordinator's pseudonymised view; findings on the meldcode routes are never listed,
only counted in one aggregate. Who may run it: the coordinator, functioneel beheer (admin) and the
installation's operator; every run is access-logged as a search.

Thresholds are configurable in ``[audit]``::

    [audit]
    idle_werkdagen = 20          # default idle threshold of a state without its own
    toestemming_werkdagen = 10   # consent asked and undecided
    gesprek_werkdagen = 1        # werkdagen after a planned conversation's date
    [audit.idle]                 # per route (a number) or per route and state (a table)
    plaatsing = { aangemeld = 15 }
    evaluatie = 30
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from kovflow.access.policy import COMPARTMENTS, Action, Relation, allowed
from kovflow.actor import Actor
from kovflow.calendar import AMSTERDAM, WorkCalendar
from kovflow.config import feature_section
from kovflow.errors import ConfigError, InvalidInput, KovflowError
from kovflow.routes.spec import Duration, RouteSpec
from kovflow.services import access
from kovflow.services.context import App
from kovflow.store import stalled_repo
from kovflow.store.db import Connection, read, write

__all__ = ["RULES", "AuditRefused", "Finding", "Rule", "StalledFilters", "StalledReport",
           "find_stalled", "require_audit_reader", "stalled_counts"]

ROLLOUT_ROUTE = "locatie_uitrol"
BESCHIKKING_ROUTE = "opschaling_beschikking"
CONFIDENTIAL_ROUTES = tuple(sorted(COMPARTMENTS))  # meldcode, meldcode_medewerker

DEFAULT_IDLE_WERKDAGEN = 20
DEFAULT_CONSENT_WERKDAGEN = 10
DEFAULT_GESPREK_WERKDAGEN = 1
_AUDIT_KEYS = {"idle_werkdagen", "toestemming_werkdagen", "gesprek_werkdagen", "idle"}

SEVERITY_LABELS = {3: "hoog", 2: "middel", 1: "laag"}


@dataclass(frozen=True)
class Rule:
    """One audit rule: a stable code, its severity (3 high .. 1 low) and its Dutch texts."""

    code: str
    severity: int
    title: str
    next_step: str


# The rules, most severe first. The codes are stable: filters, exports and the digest use them.
RULES: Mapping[str, Rule] = {r.code: r for r in (
    Rule("beschikking_beslistermijn", 3, "Beschikking: beslistermijn van 8 weken verstreken",
         "Neem contact op met het wijkteam over het besluit op de aanvraag"),
    Rule("taak_over_tijd", 2, "Taak over tijd",
         "Vraag de verantwoordelijke de taak af te ronden of opnieuw te plannen"),
    Rule("gesprek_niet_vastgelegd", 2, "Gepland gesprek niet vastgelegd",
         "Vraag of het gesprek is gehouden en laat het vastleggen, of plan een nieuwe datum"),
    Rule("toestemming_onbeslist", 2, "Toestemming gevraagd maar niet beslist",
         "Vraag na of de ouders hebben beslist en leg het besluit vast"),
    Rule("beschikking_servicenorm", 2, "Beschikking: servicenorm verstreken",
         "Vraag de wijkcoach naar de stand van de aanvraag"),
    Rule("geen_voortgang", 1, "Geen voortgang",
         "Vraag de verantwoordelijke naar de volgende stap in de route"),
    Rule("uitrol_stap", 1, "Uitrolstap staat te lang open",
         "Bespreek met de locatie hoe de volgende stap van de uitrol gezet wordt"),
)}


class AuditRefused(KovflowError):
    """Only the coordinator, functioneel beheer or the operator may run the stalled-case audit."""

    exit_code = 3


@dataclass(frozen=True)
class StalledFilters:
    """Which findings to list (None: all). ``limit``: only the first findings (a page)."""

    location: str | None = None  # location code
    wijk: str | None = None
    organisation: str | None = None
    route: str | None = None
    rule: str | None = None  # a code of RULES
    min_werkdagen: int | None = None  # only findings at least this many werkdagen old
    limit: int | None = None

    def describe(self) -> str:
        """The filters as ``key=value`` words (for the access log and export titles)."""
        words = [f"{k}={v}" for k, v in (
            ("locatie", self.location), ("wijk", self.wijk), ("organisatie", self.organisation),
            ("route", self.route), ("regel", self.rule), ("min_werkdagen", self.min_werkdagen))
            if v is not None]
        return " ".join(words)


@dataclass(slots=True)
class Finding:
    """One stalled route instance (or consent) under one rule: pseudonymised, no child data."""

    case_number: str  # the case number; for the rollout route the location code
    location: str  # location code
    wijk: str
    organisation: str
    route: str  # route id ("" for a consent)
    route_title: str
    state: str
    state_label: str  # Dutch
    since: datetime  # aware UTC
    werkdagen: int  # age in werkdagen since ``since``
    role: str  # responsible role ("" when none is known)
    person: str  # responsible staff member's username ("" when none is assigned)
    person_name: str  # their display name
    rule: str  # stable code (RULES)
    reason: str  # Dutch
    severity: int  # 3 hoog, 2 middel, 1 laag
    severity_label: str
    next_step: str  # Dutch


@dataclass(frozen=True)
class StalledReport:
    """The audit at ``generated_at``: sorted findings, counts, and the confidential aggregate."""

    generated_at: datetime
    filters: StalledFilters
    findings: list[Finding]
    counts: dict[str, int]  # per rule code, listed findings only (complete runs only)
    confidential: int  # route instances on the meldcode routes with a finding
    complete: bool = True  # False when ``filters.limit`` cut the list (a first page)

    @property
    def confidential_line(self) -> str:
        return f"vertrouwelijke routes: {self.confidential}"


# --- access ------------------------------------------------------------------------------------

def may_read_audit(actor: Actor) -> bool:
    """The coordinator (pseudonymised reader), functioneel beheer and the operator."""
    return (actor.operator or "admin" in actor.roles
            or allowed(Relation.COORDINATOR, actor.roles, Action.READ_PSEUDONYMISED))


def require_audit_reader(app: App, actor: Actor, what: str) -> datetime:
    """Log the search (allowed or refused) and return the moment; raise ``AuditRefused``."""
    now = app.clock.now()
    ok = may_read_audit(actor)

    def work(conn: Connection) -> None:
        access.log(conn, actor, now, None, Action.SEARCH, what[:120],
                   outcome="allowed" if ok else "refused")

    write(app.engine, work)
    if not ok:
        raise AuditRefused(f"{actor.username} mag dit overzicht niet inzien: alleen de "
                           "coördinator, functioneel beheer of de beheerder van de installatie")
    return now


# --- thresholds ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Thresholds:
    idle_default: int
    consent: int
    gesprek: int
    idle_routes: Mapping[str, int]  # route -> werkdagen
    idle_states: Mapping[tuple[str, str], int]  # (route, state) -> werkdagen


def _count(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"[audit] {key}: give a whole number of werkdagen (>= 0), not {value!r}")
    return value


def _thresholds(app: App) -> _Thresholds:
    raw = feature_section(app.settings, "audit", _AUDIT_KEYS)
    routes: dict[str, int] = {}
    states: dict[tuple[str, str], int] = {}
    idle = raw.get("idle", {})
    if not isinstance(idle, Mapping):
        raise ConfigError("[audit] idle: give a table of routes")
    for route_id, value in idle.items():
        if route_id not in app.catalog:
            raise ConfigError(f"[audit.idle] {route_id}: no such route")
        if isinstance(value, Mapping):
            known = {s for spec in app.catalog if spec.id == route_id for s in spec.states}
            for state, n in value.items():
                if state not in known:
                    raise ConfigError(f"[audit.idle.{route_id}] {state}: no such state; "
                                      f"known: {', '.join(sorted(known))}")
                states[(route_id, state)] = _count(n, f"idle.{route_id}.{state}")
        else:
            routes[route_id] = _count(value, f"idle.{route_id}")
    return _Thresholds(
        idle_default=_count(raw.get("idle_werkdagen", DEFAULT_IDLE_WERKDAGEN), "idle_werkdagen"),
        consent=_count(raw.get("toestemming_werkdagen", DEFAULT_CONSENT_WERKDAGEN),
                       "toestemming_werkdagen"),
        gesprek=_count(raw.get("gesprek_werkdagen", DEFAULT_GESPREK_WERKDAGEN),
                       "gesprek_werkdagen"),
        idle_routes=routes, idle_states=states)


def latest_day(calendar: WorkCalendar, now: datetime, werkdagen: int) -> date:
    """The last Amsterdam date d with ``werkdagen_between(d, now) >= werkdagen``.

    ``werkdagen_between`` counts the werkdag dates after d up to today, so d lies the day before
    the ``werkdagen``-th werkdag counted back from today (today included).
    """
    day = now.astimezone(AMSTERDAM).date()
    if werkdagen <= 0:
        return day
    counted = 0
    while True:
        if calendar.is_werkdag(day):
            counted += 1
            if counted == werkdagen:
                return day - timedelta(days=1)
        day -= timedelta(days=1)


def _start_of_day_after(day: date) -> datetime:
    """Midnight (Amsterdam) after ``day``: a moment before it lies on ``day`` or earlier."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=AMSTERDAM)


def _duration_day(calendar: WorkCalendar, now: datetime, d: Duration) -> date:
    """The last date d0 such that d0 + ``d`` lies on or before today."""
    if d.unit == "werkdagen":
        return latest_day(calendar, now, d.amount)
    local = now.astimezone(AMSTERDAM)
    if d.unit == "days":
        return local.date() - timedelta(days=d.amount)
    if d.unit == "weeks":
        return local.date() - timedelta(weeks=d.amount)
    return calendar.add_months(local, -d.amount).astimezone(AMSTERDAM).date()


def idle_cutoff(calendar: WorkCalendar, now: datetime, d: Duration) -> datetime:
    return _start_of_day_after(_duration_day(calendar, now, d))


# --- the audit ---------------------------------------------------------------------------------

@dataclass
class _Plan:
    """What to ask the store for, built from the catalog, the thresholds and the filters."""

    idle_default: datetime
    idle_cutoffs: dict[tuple[str, str], datetime] = field(default_factory=dict)
    finals: set[tuple[str, str]] = field(default_factory=set)
    gesprek: list[tuple[str, str, str]] = field(default_factory=list)
    servicenorm: dict[date, list[tuple[str, str, str]]] = field(default_factory=dict)
    beslistermijn: dict[date, list[tuple[str, str, str]]] = field(default_factory=dict)

    @property
    def idle_latest(self) -> datetime:
        """The latest cut-off of any state: rows after it are never idle."""
        return max([self.idle_default, *self.idle_cutoffs.values()])


def _plan(app: App, now: datetime, th: _Thresholds) -> _Plan:
    cal = app.calendar
    memo: dict[Duration, datetime] = {}

    def cut(d: Duration) -> datetime:
        if d not in memo:  # many states share a threshold: count the werkdagen once
            memo[d] = idle_cutoff(cal, now, d)
        return memo[d]

    plan = _Plan(idle_default=cut(Duration(th.idle_default, "werkdagen")))
    for spec in app.catalog:
        for name, state in spec.states.items():
            key = (spec.id, name)
            if key in plan.idle_cutoffs or key in plan.finals:
                continue  # the first version listed decides (versions share their thresholds)
            if state.final:
                plan.finals.add(key)
                continue
            idle: Duration | None = None
            if key in th.idle_states:
                idle = Duration(th.idle_states[key], "werkdagen")
            elif spec.id in th.idle_routes:
                idle = Duration(th.idle_routes[spec.id], "werkdagen")
            elif state.idle is not None:
                idle = state.idle
            if idle is not None:
                plan.idle_cutoffs[key] = cut(idle)
            for dl in state.deadlines:
                if spec.id == BESCHIKKING_ROUTE and dl.rule in ("servicenorm", "beslistermijn"):
                    target = plan.servicenorm if dl.rule == "servicenorm" else plan.beslistermijn
                    day = _duration_day(cal, now, dl.after)
                    target.setdefault(day, []).append((spec.id, name, dl.relative_to))
        for t in spec.transitions:
            # A state entered with a calendar invitation is a planned conversation.
            if t.invite is not None and not t.invite.cancel:
                item = (spec.id, t.dest, t.invite.field)
                if item not in plan.gesprek:
                    plan.gesprek.append(item)
    return plan


def _plan_of_day(app: App, now: datetime, th: _Thresholds) -> _Plan:
    """``_plan`` depends on ``now`` only through its Amsterdam date (every cut-off lies at a
    day's start): it is computed once per day and kept on the app, one day at a time."""
    key = (now.astimezone(AMSTERDAM).date(), th)
    kept = app.derived.get("stalled_plan")
    if kept is None or kept[0] != key:
        kept = (key, _plan(app, now, th))
        app.derived["stalled_plan"] = kept
    plan: _Plan = kept[1]
    return plan


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_Collector = Callable[[stalled_repo.Scope], Sequence[Any]]


def _scope(filters: StalledFilters, confidential: bool, limit: int | None) -> stalled_repo.Scope:
    routes: tuple[str, ...] | None = None
    if filters.route is not None:
        routes = (filters.route,)
    if confidential:
        routes = tuple(r for r in (routes or CONFIDENTIAL_ROUTES) if r in CONFIDENTIAL_ROUTES)
        exclude: tuple[str, ...] = ()
    else:
        exclude = CONFIDENTIAL_ROUTES
    return stalled_repo.Scope(location=filters.location, wijk=filters.wijk,
                              organisation=filters.organisation, routes=routes,
                              exclude_routes=exclude, limit=limit)


def _collectors(app: App, conn: Connection, now: datetime, th: _Thresholds,
                filters: StalledFilters) -> tuple[list[tuple[str, _Collector]], _HitCounter]:
    """One query per rule (in severity order), each taking the scope it runs in; and the
    confidential pass's count of overdue or idle instances."""
    cal = app.calendar
    plan = _plan_of_day(app, now, th)
    min_day = latest_day(cal, now, filters.min_werkdagen) if filters.min_werkdagen else None
    before = _start_of_day_after(min_day) if min_day is not None else None
    far = now + timedelta(days=1)

    gesprek_day = latest_day(cal, now, th.gesprek)
    # The dated rules, most severe first: one statement answers all of them (per scope), each
    # instance under the first rule it passes (past 8 weeks is not also past the service norm).
    groups: list[stalled_repo.DatedGroup] = []
    for code, by_day in (("beschikking_beslistermijn", plan.beslistermijn),
                         ("gesprek_niet_vastgelegd", {gesprek_day: plan.gesprek}),
                         ("beschikking_servicenorm", plan.servicenorm)):
        if filters.rule not in (None, code):
            continue  # a rule filter: the statement must not spend its limit on other rules
        for day, targets in by_day.items():
            last = day if min_day is None else min(day, min_day)
            groups.append((code, RULES[code].severity, last, tuple(targets)))
    dated_rows: dict[stalled_repo.Scope, dict[str, list[Any]]] = {}

    def dated(code: str) -> _Collector:
        def run(scope: stalled_repo.Scope) -> list[Any]:
            # The first dated rule asks for all of them; their rows come most severe first, so
            # its limit leaves each later rule every row the page can still take.
            key = replace(scope, limit=None)
            if key not in dated_rows:
                by_rule: dict[str, list[Any]] = {}
                for row in stalled_repo.date_field_passed(conn, groups, scope):
                    by_rule.setdefault(row.rule, []).append(row)
                dated_rows[key] = by_rule
            return dated_rows[key].get(code, [])
        return run

    consent_cut = idle_cutoff(cal, now, Duration(th.consent, "werkdagen"))
    if before is not None:
        consent_cut = min(consent_cut, before)

    def idle_keep(row: Any) -> bool:
        key = (row.route_id, row.state)
        if key in plan.finals:
            return False
        since = _aware(row.since)
        return since < plan.idle_cutoffs.get(key, plan.idle_default) and (
            before is None or since < before)

    def idle(scope: stalled_repo.Scope) -> list[Any]:
        return stalled_repo.idle_instances(conn, plan.idle_latest, idle_keep, scope)

    def candidates(scope: stalled_repo.Scope, besides: set[int]) -> int:
        # The confidential pass: overdue task or idle, decided and counted in SQL.
        due = min(now, before or far) if filters.rule in (None, "taak_over_tijd") else None
        idle_on = filters.rule in (None, "geen_voortgang")

        def cap(cut: datetime) -> datetime:
            return cut if before is None else min(cut, before)

        cutoffs = {k: cap(v) for k, v in plan.idle_cutoffs.items()} if idle_on else None
        return stalled_repo.confidential_hits(conn, scope, due, cutoffs, cap(plan.idle_default),
                                              plan.finals, besides)

    return [
        ("beschikking_beslistermijn", dated("beschikking_beslistermijn")),
        ("taak_over_tijd", lambda scope: stalled_repo.overdue_tasks(
            conn, now, before or far, replace(scope, exclude_routes=(
                *scope.exclude_routes, ROLLOUT_ROUTE)), _location_routes(app, scope))),
        ("gesprek_niet_vastgelegd", dated("gesprek_niet_vastgelegd")),
        ("toestemming_onbeslist", lambda scope: stalled_repo.undecided_consents(
            conn, consent_cut, scope)),
        ("beschikking_servicenorm", dated("beschikking_servicenorm")),
        ("geen_voortgang", lambda scope: idle(
            replace(scope, exclude_routes=(*scope.exclude_routes, ROLLOUT_ROUTE)))),
        ("uitrol_stap", lambda scope: idle(replace(scope, routes=(ROLLOUT_ROUTE,)))),
    ], candidates


def _location_routes(app: App, scope: stalled_repo.Scope) -> tuple[str, ...]:
    """The routes per location (not per child) whose overdue tasks the scope reports: none in
    the usual catalog, where the rollout is the only one and has its own rule."""
    return tuple(sorted({
        spec.id for spec in app.catalog
        if spec.per == "location" and spec.id != ROLLOUT_ROUTE
        and spec.id not in scope.exclude_routes
        and (scope.routes is None or spec.id in scope.routes)}))


# The confidential pass's count of the instances that are overdue or idle, besides those given.
_HitCounter = Callable[[stalled_repo.Scope, set[int]], int]


def _confidential(filters: StalledFilters, collectors: list[tuple[str, _Collector]],
                  count_hits: _HitCounter, scope: stalled_repo.Scope) -> int:
    """How many of the open confidential instances have a finding (they are counted, not
    listed; every query of this pass is limited to the open instances of the confidential
    routes). The dated rules come first (no query when the routes have no such date), so that
    the overdue and idle rules count only the instances those did not find."""
    found: set[int] = set()
    for code, run in collectors:
        if code not in ("taak_over_tijd", "geen_voortgang") and _wanted(filters, code, True):
            found.update(r.instance_id for r in run(scope))
    return len(found) + count_hits(scope, found)


def _wanted(filters: StalledFilters, code: str, confidential: bool) -> bool:
    if filters.rule is not None and filters.rule != code:
        return False
    if code == "toestemming_onbeslist":
        # Consents belong to the case, not to a route: a route filter leaves them out, and they
        # are never part of a confidential route.
        return filters.route is None and not confidential
    if code == "uitrol_stap":
        return not confidential and filters.route in (None, ROLLOUT_ROUTE)
    return True


def _validate(app: App, filters: StalledFilters) -> None:
    if filters.rule is not None and filters.rule not in RULES:
        raise InvalidInput(f"onbekende regel {filters.rule!r}; bekend: {', '.join(RULES)}")
    if filters.route is not None and filters.route not in app.catalog:
        raise InvalidInput(f"onbekende route {filters.route!r}")
    if filters.min_werkdagen is not None and filters.min_werkdagen < 0:
        raise InvalidInput("min-werkdagen moet 0 of meer zijn")
    if filters.limit is not None and filters.limit < 1:
        raise InvalidInput("limit moet 1 of meer zijn")


class _Labels:
    """Route title, Dutch state label and the state's task role, once per (route, version, state).

    The role is the one the state's task is for: who is expected to move.
    """

    def __init__(self, app: App) -> None:
        self.app = app
        self.cache: dict[tuple[str, int, str], tuple[str, str, str]] = {}

    def __call__(self, route_id: str, version: int, state: str) -> tuple[str, str, str]:
        key = (route_id, version, state)
        found = self.cache.get(key)
        if found is None:
            spec: RouteSpec | None = None
            for candidate in (version or None, None):
                try:
                    spec = self.app.catalog.get(route_id, candidate)
                    break
                except KovflowError:
                    continue
            st = spec.states.get(state) if spec is not None else None
            found = (spec.title if spec else route_id, st.label if st else state,
                     st.task.role if st is not None and st.task is not None else "")
            self.cache[key] = found
        return found


def _since(row: Any, code: str) -> datetime:
    if code in ("gesprek_niet_vastgelegd", "beschikking_servicenorm",
                "beschikking_beslistermijn") and row.extra:
        # The planned date (or the request date), at 09:00 as the engine's deadlines use it.
        day = date.fromisoformat(str(row.extra)[:10])
        return datetime.combine(day, time(9), tzinfo=AMSTERDAM).astimezone(UTC)
    moment: datetime = row.since
    if moment.tzinfo is None:  # a column read through a label may come back naive (UTC)
        moment = moment.replace(tzinfo=UTC)
    return moment


def _reason(rule: Rule, row: Any, age: int) -> str:
    if rule.code == "toestemming_onbeslist":
        return f"{rule.title} (toestemming {row.extra}, {age} werkdagen)"
    if rule.code in ("gesprek_niet_vastgelegd",):
        return f"{rule.title}: gepland op {row.extra}, {age} werkdagen geleden"
    if rule.code.startswith("beschikking_"):
        return f"{rule.title} (aangevraagd op {row.extra}, {age} werkdagen)"
    if rule.code == "taak_over_tijd":
        return f"{rule.title}: {age} werkdagen na de uiterste datum"
    if rule.code == "uitrol_stap":
        return f"{rule.title}: {age} werkdagen in deze stap"
    return f"{rule.title}: {age} werkdagen geen gebeurtenis"


def _collect(app: App, now: datetime, filters: StalledFilters) -> StalledReport:
    """Run the rule queries in one read transaction and build the report (no access check)."""
    th = _thresholds(app)
    labels = _Labels(app)
    ages: dict[date, int] = {}
    findings: list[Finding] = []
    confidential = 0
    limit = filters.limit
    complete = True

    def age_of(moment: datetime) -> int:
        day = moment.astimezone(AMSTERDAM).date()
        if day not in ages:  # few distinct dates: count each once
            ages[day] = max(0, app.calendar.werkdagen_between(moment, now))
        return ages[day]

    with read(app.engine) as conn:
        collectors, count_hits = _collectors(app, conn, now, th, filters)
        secret_scope = _scope(filters, True, None)
        if secret_scope.routes:
            # The few open meldcode instances: only counted.
            confidential = _confidential(filters, collectors, count_hits,
                                         replace(secret_scope, open_only=True))
        seen: set[tuple[Any, str]] = set()
        beslist: set[Any] = set()
        last_severity = 0
        # (sort key, rule, row, since): Findings are built after sorting, for the kept ones.
        # The age in werkdagen only grows with an earlier ``since``, so ordering by ``since``
        # is ordering by age, oldest first: the age is counted for the kept rows only.
        hits: list[tuple[tuple[Any, ...], Rule, Any, datetime]] = []
        for code, run in collectors:
            if not _wanted(filters, code, confidential=False):
                continue
            rule = RULES[code]
            # With a limit, every rule still gives its ``limit`` oldest rows (rules of one
            # severity interleave by age); a lower severity is only read while the page is short.
            if limit is not None and len(hits) >= limit and rule.severity < last_severity:
                complete = False
                break
            last_severity = rule.severity
            rows = run(_scope(filters, False, None if limit is None else limit + len(beslist)))
            for row in rows:
                key = (row.instance_id if row.instance_id is not None
                       else (row.case_number, row.extra), code)
                if key in seen:
                    continue  # an instance with two open tasks is one finding
                seen.add(key)
                if code == "beschikking_beslistermijn":
                    beslist.add(row.instance_id)
                elif code == "beschikking_servicenorm" and row.instance_id in beslist:
                    continue  # past 8 weeks is also past the service norm: report the worse
                since = _since(row, code)
                number = row.case_number or row.location_code
                hits.append(((-rule.severity, since, number, code), rule, row, since))
        hits.sort(key=lambda h: h[0])
        if limit is not None and len(hits) > limit:
            hits, complete = hits[:limit], False
        # Rules that join the user give the name; the others' persons are looked up here.
        names = stalled_repo.display_names(conn, {h[2].person for h in hits
                                                  if h[2].person and not h[2].person_name})
    findings = []
    for _, rule, row, since in hits:
        age = age_of(since)
        title, label, role = labels(row.route_id, row.route_version, row.state)
        if rule.code == "toestemming_onbeslist":
            title, label, role = "Toestemming", f"Gevraagd: {row.extra}", ""
        findings.append(Finding(
            case_number=row.case_number or row.location_code, location=row.location_code,
            wijk=row.wijk, organisation=row.organisation, route=row.route_id, route_title=title,
            state=row.state, state_label=label, since=since, werkdagen=age,
            role=row.role or role, person=row.person or "",
            person_name=(row.person_name or names.get(row.person, "")) if row.person else "",
            rule=rule.code,
            reason=_reason(rule, row, age), severity=rule.severity,
            severity_label=SEVERITY_LABELS[rule.severity], next_step=rule.next_step))
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.rule] = counts.get(f.rule, 0) + 1
    return StalledReport(generated_at=now, filters=filters, findings=findings, counts=counts,
                         confidential=confidential, complete=complete)


def find_stalled(app: App, actor: Actor, filters: StalledFilters | None = None) -> StalledReport:
    """The stalled-case audit for the coordinator, sorted by severity, then age (oldest first).

    Raises ``AuditRefused`` for anyone but the coordinator, admin or the operator (logged),
    ``InvalidInput`` for an unknown rule or route or a negative minimum.
    """
    filters = filters or StalledFilters()
    _validate(app, filters)
    what = " ".join(["stalled-case audit", filters.describe()]).strip()
    now = require_audit_reader(app, actor, what)
    return _collect(app, now, filters)


def stalled_counts(app: App, now: datetime, filters: StalledFilters | None = None
                   ) -> tuple[dict[str, int], int]:
    """Findings per rule code and the confidential aggregate, for the weekly digest.

    The system's own use (no person reads a case here): the digest carries the counts only.
    """
    report = _collect(app, now, filters or StalledFilters())
    return report.counts, report.confidential
