"""The allow-listed guard registry.

Route files name guards (``guards = [{ name = "consent_given", scope = "..." }]``); the loader
resolves every name and checks the parameters here, so a typo fails when routes load, not when a
coach presses a button. A guard returns ``None`` when satisfied or a ``Reason`` in Dutch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kovflow.errors import Reason
from kovflow.routes.spec import EMPTY, GuardRef


@dataclass(frozen=True, slots=True)
class GuardContext:
    """What a guard may look at: the instance, the submitted data and facts about the case."""

    route: str
    state: str
    data: Mapping[str, Any]
    instance_data: Mapping[str, Any]
    route_states: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: EMPTY)
    consents: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    case_facts: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    now: datetime | None = None

    def value(self, name: str) -> Any:
        """A field from the submitted data, else from what the instance recorded earlier."""
        if name in self.data:
            return self.data[name]
        return self.instance_data.get(name)


GuardFn = Callable[[GuardContext, Mapping[str, Any]], str | None]


@dataclass(frozen=True, slots=True)
class GuardDef:
    """A registered guard: its function, its parameters (name -> type, required) and a code."""

    name: str
    fn: GuardFn
    params: Mapping[str, tuple[type, bool]]
    code: str
    doc: str


REGISTRY: dict[str, GuardDef] = {}


def guard(
    name: str, code: str, **params: tuple[type, bool]
) -> Callable[[GuardFn], GuardFn]:
    """Register ``fn`` as guard ``name`` with typed parameters ``params``."""

    def register(fn: GuardFn) -> GuardFn:
        REGISTRY[name] = GuardDef(name, fn, params, code, (fn.__doc__ or "").strip())
        return fn

    return register


def check_params(ref: GuardRef) -> list[str]:
    """Problems with the parameters of ``ref`` (empty when they fit the guard)."""
    gdef = REGISTRY.get(ref.name)
    if gdef is None:
        return []
    problems = []
    for pname, (ptype, required) in gdef.params.items():
        if pname not in ref.params:
            if required:
                problems.append(f"parameter {pname!r} is required")
            continue
        if not _is_type(ref.params[pname], ptype):
            problems.append(f"parameter {pname!r} must be {ptype.__name__}")
    for pname in ref.params:
        if pname not in gdef.params:
            problems.append(f"unknown parameter {pname!r} (known: {', '.join(gdef.params)})")
    return problems


def _is_type(value: object, ptype: type) -> bool:
    if ptype is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if ptype is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, ptype)


def evaluate(ref: GuardRef, ctx: GuardContext) -> Reason | None:
    """Run guard ``ref``; a route-file ``message`` replaces the guard's own sentence."""
    gdef = REGISTRY[ref.name]
    failure = gdef.fn(ctx, ref.params)
    if failure is None:
        return None
    return Reason(gdef.code, ref.message or failure)


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value).date()
        except ValueError:
            return None
    return None


def _add_months(day: date, months: int) -> date:
    import calendar

    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@guard("route_in_state", "route-state", route=(str, True), states=(list, True),
       missing_ok=(bool, False))
def route_in_state(ctx: GuardContext, p: Mapping[str, Any]) -> str | None:
    """An instance of ``route`` on the case stands in one of ``states``.

    With ``missing_ok`` the guard also passes when the case has no such instance.
    """
    found = ctx.route_states.get(p["route"], ())
    if not found and p.get("missing_ok", False):
        return None
    if any(s in p["states"] for s in found):
        return None
    wanted = " of ".join(p["states"])
    if not found:
        return f"de route '{p['route']}' loopt niet voor dit kind; die moet op '{wanted}' staan"
    return f"de route '{p['route']}' staat op '{found[0]}' en moet eerst op '{wanted}' staan"


@guard("route_not_in_state", "route-state", route=(str, True), states=(list, True))
def route_not_in_state(ctx: GuardContext, p: Mapping[str, Any]) -> str | None:
    """No instance of ``route`` on the case stands in one of ``states``."""
    found = [s for s in ctx.route_states.get(p["route"], ()) if s in p["states"]]
    if not found:
        return None
    return f"de route '{p['route']}' staat op '{found[0]}'"


@guard("consent_given", "consent-missing", scope=(str, True))
def consent_given(ctx: GuardContext, p: Mapping[str, Any]) -> str | None:
    """The parents gave consent for ``scope`` and did not withdraw it."""
    status = ctx.consents.get(p["scope"])
    if status == "gegeven":
        return None
    if status is None:
        return f"er is geen toestemming '{p['scope']}' vastgelegd; vraag de ouders eerst"
    return f"de toestemming '{p['scope']}' is {status}, niet gegeven"


@guard("case_fact_not", "case-fact", fact=(str, True), equals=(bool, True))
def case_fact_not(ctx: GuardContext, p: Mapping[str, Any]) -> str | None:
    """A fact recorded on the case (e.g. ``jgz_zorgen``) does not have the value ``equals``."""
    if ctx.case_facts.get(p["fact"]) == p["equals"]:
        return f"dit kan niet zolang '{p['fact']}' {_ja_nee(p['equals'])} is"
    return None


@guard("recorded_value_is_not", "value-forbids", field=(str, True), equals=(bool, True))
def recorded_value_is_not(ctx: GuardContext, p: Mapping[str, Any]) -> str | None:
    """The instance has not recorded ``field`` = ``equals`` (e.g. a mandatory report)."""
    if ctx.instance_data.get(p["field"]) == p["equals"]:
        return f"'{p['field']}' is met {_ja_nee(p['equals'])} beantwoord; deze weg is daarom gesloten"
    return None


@guard("recorded", "not-recorded", field=(str, True))
def recorded(ctx: GuardContext, p: Mapping[str, Any]) -> str | None:
    """The instance recorded ``field`` in an earlier step."""
    if ctx.instance_data.get(p["field"]) in (None, "", []):
        return f"'{p['field']}' is nog niet vastgelegd; doe die stap eerst"
    return None


@guard("date_at_least_after", "date-too-early", field=(str, True), after=(str, True),
       months=(int, False), days=(int, False))
def date_at_least_after(ctx: GuardContext, p: Mapping[str, Any]) -> str | None:
    """Date ``field`` lies at least ``months``/``days`` after date ``after``."""
    later, earlier = _as_date(ctx.value(p["field"])), _as_date(ctx.value(p["after"]))
    if later is None or earlier is None:
        return None  # missing dates are reported by the field checks
    months, days = int(p.get("months", 0)), int(p.get("days", 0))
    bound = _add_months(earlier, months)
    bound = date.fromordinal(bound.toordinal() + days)
    if later >= bound:
        return None
    term = " en ".join(x for x in (f"{months} maand(en)" if months else "",
                                    f"{days} dag(en)" if days else "") if x)
    return (f"'{p['field']}' ({later.isoformat()}) moet minstens {term} na '{p['after']}' "
            f"({earlier.isoformat()}) liggen: op of na {bound.isoformat()}")


@guard("date_before", "date-too-late", field=(str, True), before=(str, True))
def date_before(ctx: GuardContext, p: Mapping[str, Any]) -> str | None:
    """Date ``field`` lies before date ``before`` (submitted or recorded earlier)."""
    first, second = _as_date(ctx.value(p["field"])), _as_date(ctx.value(p["before"]))
    if first is None or second is None or first < second:
        return None
    return f"'{p['field']}' ({first.isoformat()}) moet vóór '{p['before']}' ({second.isoformat()}) liggen"


def _ja_nee(value: object) -> str:
    return "ja" if value is True else "nee" if value is False else repr(value)
