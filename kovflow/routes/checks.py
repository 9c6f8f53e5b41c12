"""Graph and reference checks over parsed routes.

Each problem has a stable code (documented in ``workflows/README.md``) so that CI, the CLI and the
admin page can show it the same way. The checks never stop at the first problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from kovflow.errors import Problem
from kovflow.routes import guards
from kovflow.routes.spec import ROLES, RouteSpec, TransitionSpec

_Add = Callable[..., None]

CODES: Mapping[str, str] = {
    "toml-syntax": "the file is not valid TOML",
    "unreadable": "the file cannot be read",
    "missing-key": "a required key is missing",
    "unknown-key": "a key is not part of the format (often a typo)",
    "bad-type": "a value has the wrong type",
    "bad-value": "a value is not one of the allowed ones",
    "bad-name": "a name is not a lower-case slug",
    "bad-duration": "a duration is not written as { unit = amount }",
    "file-mismatch": "id or version differ from the file's place",
    "duplicate-route": "two files define the same route version",
    "duplicate-field": "a transition declares a field twice",
    "unknown-field-type": "a field has a type that does not exist",
    "unknown-state": "a transition, deadline or start names a state that does not exist",
    "unknown-guard": "a guard name is not in the allow-listed registry",
    "bad-guard-params": "a guard's parameters do not fit the guard",
    "unknown-template": "a notification template has no .txt and .html file",
    "unknown-role": "a role is not one of the roles of ROUTES.md",
    "unknown-route": "a start or close effect names a route that does not exist",
    "unknown-field": "a condition or carry names a field that is not declared",
    "unreachable-state": "no path leads from the initial state to this state",
    "no-exit": "a non-final state has no transition out",
    "final-unreachable": "no final state can be reached",
    "no-final-state": "the route has no final state",
    "duplicate-trigger": "the same trigger is defined twice from one state",
    "deadline-missing-field": "a deadline is relative to a field no incoming step provides",
    "final-has-exit": "a final state has a transition out",
    "unknown-trigger": "a fire effect names a step the other route does not have",
    "unknown-param": "a { param = ... } or @role names a parameter missing from [params]",
}


def check_route(route: RouteSpec, templates: frozenset[str] | None) -> list[Problem]:
    """Reference and graph problems of one route (cross-route references excluded)."""
    out: list[Problem] = []

    def add(code: str, path: str, message: str, hint: str = "") -> None:
        out.append(Problem(code, route.file, path, message, hint))

    states = route.states
    known = ", ".join(states)
    if route.initial not in states:
        add("unknown-state", "initial", f"initial state {route.initial!r} is not defined",
            f"defined: {known}")
    for s in states.values():
        if s.task and s.task.role not in ROLES:
            add("unknown-role", f"states.{s.name}.task.role", f"unknown role {s.task.role!r}",
                f"roles: {', '.join(ROLES)}")
        for d in s.deadlines:
            if d.instead_role and d.instead_role not in ROLES:
                add("unknown-role", f"states.{s.name}.deadlines[{d.rule}].instead",
                    f"unknown role {d.instead_role!r}", f"roles: {', '.join(ROLES)}")
            _check_deadline(route, s.name, d.rule, d.role, d.template, d.escalate_role,
                            d.escalate_template if d.escalate_after else "", templates, add)
            if d.relative_to != "entered":
                _check_deadline_field(route, s.name, d.rule, d.relative_to, add)
    for role in route.starters:
        if role not in ROLES:
            add("unknown-role", "starters", f"unknown role {role!r}", f"roles: {', '.join(ROLES)}")
    seen: dict[tuple[str, str], int] = {}
    for i, t in enumerate(route.transitions):
        _check_transition(route, i, t, templates, add)
        for src in t.sources:
            if (t.trigger, src) in seen:
                add("duplicate-trigger", f"transitions[{i}]",
                    f"trigger {t.trigger!r} from {src!r} is also defined in "
                    f"transitions[{seen[(t.trigger, src)]}]", "merge them or rename one")
            seen[(t.trigger, src)] = i
    _check_graph(route, add)
    return out


def _check_deadline(route: RouteSpec, state: str, rule: str, role: str, template: str,
                    esc_role: str, esc_template: str, templates: frozenset[str] | None,
                    add: _Add) -> None:
    path = f"states.{state}.deadlines[{rule}]"
    for r in (role, esc_role):
        if r and r not in ROLES:
            add("unknown-role", path, f"unknown role {r!r}", f"roles: {', '.join(ROLES)}")
    for tpl in (template, esc_template):
        if tpl and templates is not None and tpl not in templates:
            add("unknown-template", path, f"template {tpl!r} has no .txt and .html in notifications/",
                "add notifications/<name>.txt and .html")


def _check_deadline_field(route: RouteSpec, state: str, rule: str, field: str, add: _Add) -> None:
    incoming = [t for t in route.transitions if t.dest == state]
    provided = {f.name for t in incoming for f in t.fields} | {f.name for f in route.start_fields}
    if field not in provided:
        add("deadline-missing-field", f"states.{state}.deadlines[{rule}].relative_to",
            f"field {field!r} is not provided by any step into {state!r}",
            "declare the field on a transition into this state, in start_fields, or use 'entered'")


def _check_transition(route: RouteSpec, i: int, t: TransitionSpec,
                      templates: frozenset[str] | None, add: _Add) -> None:
    path = f"transitions[{i}]"
    for src in t.sources:
        if src not in route.states:
            add("unknown-state", f"{path}.from", f"state {src!r} is not defined",
                f"defined: {', '.join(route.states)}")
        elif route.states[src].final:
            add("final-has-exit", f"{path}.from", f"{src!r} is final but {t.trigger!r} leaves it",
                "remove final = true or the transition")
    if not t.sources:
        add("missing-key", f"{path}.from", f"{t.trigger!r} has no source state",
            'list the states it leaves from, or ["*"] for every state that is not final')
    if t.dest and t.dest not in route.states:
        add("unknown-state", f"{path}.to", f"state {t.dest!r} is not defined",
            f"defined: {', '.join(route.states)}")
    for role in t.roles:
        if role not in ROLES:
            add("unknown-role", f"{path}.roles", f"unknown role {role!r}", f"roles: {', '.join(ROLES)}")
    for g in t.guards:
        if g.name not in guards.REGISTRY:
            add("unknown-guard", f"{path}.guards", f"unknown guard {g.name!r}",
                f"known guards: {', '.join(sorted(guards.REGISTRY))}")
        for msg in guards.check_params(g):
            add("bad-guard-params", f"{path}.guards[{g.name}]", msg)
    for n in t.notify:
        if n.instead_role and n.instead_role not in ROLES:
            add("unknown-role", f"{path}.notify", f"unknown role {n.instead_role!r}",
                f"roles: {', '.join(ROLES)}")
        if n.role not in ROLES:
            add("unknown-role", f"{path}.notify", f"unknown role {n.role!r}",
                f"roles: {', '.join(ROLES)}")
        if templates is not None and n.template not in templates:
            add("unknown-template", f"{path}.notify", f"template {n.template!r} has no .txt and "
                ".html in notifications/", "add notifications/<name>.txt and .html")
    names = {f.name for f in t.fields}
    if t.invite is not None:
        if not 1 <= t.invite.minutes <= 1440:
            add("bad-value", f"{path}.invite.minutes", f"{t.invite.minutes} minutes is not a "
                "meeting length", "use 1 to 1440 minutes")
        for role in t.invite.roles:
            if role not in ROLES:
                add("unknown-role", f"{path}.invite.roles", f"unknown role {role!r}",
                    f"roles: {', '.join(ROLES)}")
        field_type = {f.name: f.type for f in t.fields}.get(t.invite.field)
        if not t.invite.cancel and t.invite.field not in names:
            add("unknown-field", f"{path}.invite.field",
                f"field {t.invite.field!r} is not declared on this transition",
                "an invitation needs the date (or date and time) field of the conversation")
        elif field_type is not None and field_type not in ("date", "datetime"):
            # Any other type could carry free text into the calendar invitation.
            add("bad-value", f"{path}.invite.field", f"field {t.invite.field!r} is a "
                f"{field_type}, not a date", "point the invitation at a date or datetime field")
    for f in t.fields:
        if f.required_if and f.required_if.field not in names:
            add("unknown-field", f"{path}.fields[{f.name}].required_if",
                f"field {f.required_if.field!r} is not declared on this transition")
    for s in t.start:
        for target, src_field in s.carry.items():
            if src_field not in names:
                add("unknown-field", f"{path}.start[{s.route}].carry.{target}",
                    f"field {src_field!r} is not declared on this transition")


def _check_graph(route: RouteSpec, add: _Add) -> None:
    if route.initial not in route.states:
        return
    edges: dict[str, set[str]] = {s: set() for s in route.states}
    for t in route.transitions:
        for src in t.sources:
            if src in edges and t.dest in route.states:
                edges[src].add(t.dest)
    reachable = _reach(route.initial, edges)
    for name, state in route.states.items():
        if name not in reachable:
            add("unreachable-state", f"states.{name}", f"{name!r} cannot be reached from "
                f"{route.initial!r}", "add a transition into it or remove it")
        if not state.final and not any(name in t.sources for t in route.transitions):
            add("no-exit", f"states.{name}", f"{name!r} is not final and has no way out",
                "add a transition out of it or mark it final = true")
    finals = set(route.final_states)
    if not finals:
        add("no-final-state", "states", "no state is final", "mark the end states final = true")
    elif not finals & reachable:
        add("final-unreachable", "states", "no final state can be reached from "
            f"{route.initial!r}")


def _reach(start: str, edges: Mapping[str, Iterable[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def check_cross_routes(routes: Iterable[RouteSpec]) -> list[Problem]:
    """Start and close effects must name routes (and states) that exist in the catalog."""
    latest: dict[str, RouteSpec] = {}
    for r in routes:
        if r.id not in latest or r.version > latest[r.id].version:
            latest[r.id] = r
    out = []
    for r in routes:
        for s_name, state in r.states.items():
            for d in state.deadlines:
                if d.instead_route and d.instead_route not in latest:
                    out.append(Problem("unknown-route", r.file,
                                       f"states.{s_name}.deadlines[{d.rule}].instead",
                                       f"route {d.instead_route!r} does not exist"))
        for a in r.also_start:
            if a.route not in latest:
                out.append(Problem("unknown-route", r.file, "also_start",
                                   f"route {a.route!r} does not exist"))
        for i, t in enumerate(r.transitions):
            for s in t.start:
                target = latest.get(s.route)
                if target is None:
                    out.append(Problem("unknown-route", r.file, f"transitions[{i}].start",
                                       f"route {s.route!r} does not exist",
                                       f"routes: {', '.join(sorted(latest))}"))
                elif s.state and s.state not in target.states:
                    out.append(Problem("unknown-state", r.file, f"transitions[{i}].start",
                                       f"route {s.route!r} has no state {s.state!r}"))
            for f in t.fire:
                target = latest.get(f.route)
                if target is None:
                    out.append(Problem("unknown-route", r.file, f"transitions[{i}].fire",
                                       f"route {f.route!r} does not exist"))
                elif not target.transitions_for(f.trigger):
                    out.append(Problem("unknown-trigger", r.file, f"transitions[{i}].fire",
                                       f"route {f.route!r} has no step {f.trigger!r}"))
            for n in t.notify:
                if n.instead_route and n.instead_route not in latest:
                    out.append(Problem("unknown-route", r.file, f"transitions[{i}].notify",
                                       f"route {n.instead_route!r} does not exist"))
            for name in t.close_routes:
                if name not in latest:
                    out.append(Problem("unknown-route", r.file, f"transitions[{i}].close_routes",
                                       f"route {name!r} does not exist"))
    return out
