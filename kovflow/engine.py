"""The pure decision of one step: ``decide(...)`` -> ``Decision``.

No I/O, no clock: the caller passes ``now``, the case facts and the calendar. The decision lists
everything the step changes (new state, tasks, deadlines, notifications, routes to start or close);
the service writes it in one transaction. A refusal raises ``TransitionNotAllowed`` with every
unmet condition, so a coach fixes all of them at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from kovflow.actor import Actor
from kovflow.calendar import AMSTERDAM, WorkCalendar
from kovflow.errors import NotFound, Reason, TransitionNotAllowed
from kovflow.routes import guards
from kovflow.routes.fields import validate
from kovflow.routes.machine import machine_for
from kovflow.routes.spec import Duration, NotifySpec, RouteSpec, StateSpec, TransitionSpec

# A deadline relative to a date field (no time) falls at the start of the working day.
DAY_START = time(9, 0)
# An escalation row is named after its reminder: "<rule>__escalatie".
ESCALATION_SUFFIX = "__escalatie"


@dataclass(frozen=True, slots=True)
class TaskPlan:
    role: str
    title: str
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeadlinePlan:
    rule: str
    kind: str
    due_at: datetime
    role: str
    template: str
    every: Duration | None = None


@dataclass(frozen=True, slots=True)
class StartPlan:
    route: str
    state: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FirePlan:
    route: str
    trigger: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Entry:
    """What entering a state asks for: its task and its deadlines."""

    task: TaskPlan | None = None
    deadlines: tuple[DeadlinePlan, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """Everything one step changes; written by the service in one transaction."""

    route: str
    trigger: str
    from_state: str
    to_state: str
    data: Mapping[str, Any]
    entry: Entry = field(default_factory=Entry)
    notifications: tuple[NotifySpec, ...] = ()
    starts: tuple[StartPlan, ...] = ()
    close_routes: tuple[str, ...] = ()
    fires: tuple[FirePlan, ...] = ()

    @property
    def changed(self) -> bool:
        """True when the state changes: tasks close and deadlines are cancelled."""
        return self.from_state != self.to_state


@dataclass(frozen=True, slots=True)
class CaseView:
    """What the engine may know about the case beyond the instance itself."""

    route_states: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    consents: Mapping[str, str] = field(default_factory=dict)
    facts: Mapping[str, Any] = field(default_factory=dict)


def shift(calendar: WorkCalendar, moment: datetime, by: Duration) -> datetime:
    """``moment`` moved by ``by`` (werkdagen skip weekends and Dutch public holidays)."""
    if by.unit == "werkdagen":
        return calendar.add_werkdagen(moment, by.amount)
    if by.unit == "days":
        return calendar.add_days(moment, by.amount)
    if by.unit == "weeks":
        return calendar.add_days(moment, 7 * by.amount)
    return calendar.add_months(moment, by.amount)


def base_moment(value: Any) -> datetime | None:
    """A stored date or moment as an aware moment: a date (no time) is 09:00 in Amsterdam, a
    naive time is read in Amsterdam; None when the value is not a date."""
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        if len(text) == 10:  # a date: the start of that working day in Amsterdam
            return datetime.combine(parsed.date(), DAY_START, AMSTERDAM)
        value = parsed
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=AMSTERDAM)
    if isinstance(value, date):
        return datetime.combine(value, DAY_START, AMSTERDAM)
    return None


def enter(state: StateSpec, data: Mapping[str, Any], now: datetime,
          calendar: WorkCalendar) -> Entry:
    """The task and deadlines of entering ``state`` at ``now`` with the instance's ``data``."""
    task = None
    if state.task is not None:
        due = shift(calendar, now, state.task.due) if state.task.due else None
        task = TaskPlan(state.task.role, state.task.title, due)
    plans: list[DeadlinePlan] = []
    for d in state.deadlines:
        base = now if d.relative_to == "entered" else base_moment(data.get(d.relative_to))
        if base is None:
            continue  # an optional date left empty sets no reminder
        due = shift(calendar, base, d.after)
        plans.append(DeadlinePlan(d.rule, d.kind, due, d.role, d.template, d.every))
        if d.escalate_after is not None:
            plans.append(DeadlinePlan(f"{d.rule}{ESCALATION_SUFFIX}", "escalation",
                                      shift(calendar, due, d.escalate_after), d.escalate_role,
                                      d.escalate_template))
    return Entry(task, tuple(plans))


def _find(route: RouteSpec, trigger: str, state: str) -> tuple[TransitionSpec, list[Reason]]:
    candidates = route.transitions_for(trigger)
    if not candidates:
        available = ", ".join(t.trigger for t in route.available(state)) or "geen"
        raise NotFound("trigger", f"{trigger} (route {route.id}; stappen vanuit '{state}': {available})")
    chosen = route.transition(trigger, state)
    if chosen is not None:
        return chosen, []
    sources = sorted({s for t in candidates for s in t.sources})
    labels = " of ".join(route.states[s].label for s in sources if s in route.states)
    current = route.states[state].label if state in route.states else state
    return candidates[0], [Reason("wrong-state", f"deze stap kan alleen vanuit '{labels}'; "
                                  f"de route staat op '{current}'")]


def decide(route: RouteSpec, state: str, instance_data: Mapping[str, Any], trigger: str,
           actor: Actor, data: Mapping[str, Any], case: CaseView, now: datetime,
           calendar: WorkCalendar) -> Decision:
    """Decide one step, or raise ``TransitionNotAllowed`` listing every unmet condition."""
    transition, reasons = _find(route, trigger, state)
    if not actor.may_act_as(transition.roles):
        reasons.append(Reason("role-not-allowed", "alleen " + " of ".join(transition.roles)
                              + " mag deze stap zetten"))
    clean, field_reasons = validate(transition.fields, data)
    reasons.extend(field_reasons)
    for f in transition.fields:  # an empty date with a default interval gets that date
        if f.default_after is not None and f.name not in clean:
            local = shift(calendar, now, f.default_after).astimezone(AMSTERDAM)
            clean[f.name] = local.date().isoformat()
    ctx = guards.GuardContext(route.id, state, clean, instance_data, case.route_states,
                              case.consents, case.facts, now)
    for ref in transition.guards:
        failure = guards.evaluate(ref, ctx)
        if failure is not None:
            reasons.append(failure)
    to_state = None if reasons else machine_for(route).next_state(state, trigger)
    if to_state is None and not reasons:  # the graph disagrees with the spec lookup: never write
        reasons.append(Reason("wrong-state", f"deze stap kan niet vanuit '{state}'"))
    if reasons or to_state is None:
        raise TransitionNotAllowed(route.id, state, trigger, reasons)
    clean.update(transition.sets)  # constants the step records, e.g. voogd_betrokken = true
    merged = {**instance_data, **clean}
    entry = enter(route.states[to_state], merged, now, calendar) if to_state != state else Entry()
    starts = tuple(
        StartPlan(s.route, s.state, {k: merged[v] for k, v in s.carry.items() if v in merged})
        for s in transition.start
    )
    fires = tuple(
        FirePlan(f.route, f.trigger, {k: merged[v] for k, v in f.carry.items() if v in merged})
        for f in transition.fire
    )
    return Decision(route.id, trigger, state, to_state, clean, entry, transition.notify, starts,
                    transition.close_routes, fires)
