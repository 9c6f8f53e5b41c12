"""Parse route files into frozen ``RouteSpec`` objects, collecting every problem at once.

The loader checks shape and types (key paths, stable codes, hints); ``checks`` adds the graph and
cross-reference checks. ``load_catalog`` is what services use: it refuses to return a catalog
with problems, so a broken route never reaches a coach.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from kovflow.errors import Problem
from kovflow.routes.spec import (
    DURATION_UNITS,
    FIELD_TYPES,
    AlsoStart,
    Condition,
    DeadlineSpec,
    Duration,
    FieldSpec,
    FireSpec,
    GuardRef,
    InviteSpec,
    NotifySpec,
    RouteSpec,
    StartSpec,
    StateSpec,
    TaskSpec,
    TransitionSpec,
    index_transitions,
)

_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_FILE_NAME = re.compile(r"^v([1-9][0-9]*)\.toml$")


class _Reader:
    """Reads one TOML document, remembering problems with their key paths."""

    def __init__(self, file: str, params: Mapping[str, Any] | None = None) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.params: Mapping[str, Any] = params or {}

    def param(self, name: object, path: str) -> Any:
        """The value of route parameter ``name`` (after configuration overrides)."""
        if not isinstance(name, str) or name not in self.params:
            self.problem("unknown-param", path, f"parameter {name!r} is not declared in [params]",
                         f"declared: {', '.join(self.params) or 'none'}")
            return None
        return self.params[name]

    def role(self, table: Mapping[str, Any], key: str, path: str, required: bool = True) -> str:
        """One role; "@name" takes it from parameter ``name`` (which must hold one role)."""
        value = cast(str, self.get(table, key, path, str, "", required))
        if not value.startswith("@"):
            return value
        resolved = self.param(value[1:], f"{path}.{key}".lstrip("."))
        if resolved is not None and not isinstance(resolved, str):
            self.problem("bad-type", f"params.{value[1:]}", "used as a single role here, so it "
                         "must be one role, not a list")
            return ""
        return resolved or ""

    def roles(self, table: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        """A role list; an entry "@name" takes the role(s) from parameter ``name``."""
        out: list[str] = []
        for role in self.strings(table, key, path):
            if not role.startswith("@"):
                out.append(role)
                continue
            value = self.param(role[1:], f"{path}.{key}".lstrip("."))
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                out.extend(value)
            elif value is not None:
                self.problem("bad-type", f"params.{role[1:]}", "a role parameter must be a role "
                             "or a list of roles")
        return tuple(out)

    def problem(self, code: str, path: str, message: str, hint: str = "") -> None:
        self.problems.append(Problem(code, self.file, path, message, hint))

    def keys(self, table: Mapping[str, Any], path: str, allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        for key in table:
            if key not in allowed:
                self.problem("unknown-key", f"{path}.{key}".lstrip("."), f"unknown key {key!r}",
                             f"known keys here: {', '.join(sorted(allowed))}")

    def get(self, table: Mapping[str, Any], key: str, path: str, kind: type, default: Any = None,
            required: bool = False) -> Any:
        full = f"{path}.{key}".lstrip(".")
        if key not in table:
            if required:
                self.problem("missing-key", full, f"{key!r} is required")
            return default
        value = table[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            self.problem("bad-type", full, f"must be a {_kind_name(kind)}, not {type(value).__name__}")
            return default
        return value

    def slug(self, table: Mapping[str, Any], key: str, path: str, required: bool = True) -> str:
        value = cast(str, self.get(table, key, path, str, "", required))
        if value and not _SLUG.match(value):
            self.problem("bad-name", f"{path}.{key}".lstrip("."),
                         f"{value!r} is not a valid name", "use lower case letters, digits and _")
        return value

    def strings(self, table: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = self.get(table, key, path, list, [])
        if not all(isinstance(v, str) for v in value):
            self.problem("bad-type", f"{path}.{key}".lstrip("."), "must be a list of strings")
            return ()
        return tuple(value)

    def tables(self, table: Mapping[str, Any], key: str, path: str) -> list[tuple[str, dict[str, Any]]]:
        value = self.get(table, key, path, list, [])
        out = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                out.append((f"{path}.{key}[{i}]".lstrip("."), item))
            else:
                self.problem("bad-type", f"{path}.{key}[{i}]".lstrip("."), "must be a table")
        return out

    def duration(self, table: Mapping[str, Any], key: str, path: str) -> Duration | None:
        value = self.get(table, key, path, dict)
        if value is None:
            return None
        full = f"{path}.{key}".lstrip(".")
        hint = ("write e.g. { werkdagen = 10 }, { days = -1 }, { weeks = 6 }, { months = 1 } "
                'or { param = "name" }')
        if set(value) == {"param"}:
            value = self.param(value["param"], full)
            if value is None:
                return None
            if not isinstance(value, dict):
                self.problem("bad-duration", full, "the parameter is not a duration", hint)
                return None
        if len(value) != 1:
            self.problem("bad-duration", full, "a duration has exactly one unit", hint)
            return None
        unit, amount = next(iter(value.items()))
        if unit not in DURATION_UNITS or not isinstance(amount, int) or isinstance(amount, bool):
            self.problem("bad-duration", full, f"{unit} = {amount!r} is not a duration", hint)
            return None
        return Duration(amount, unit)


def _kind_name(kind: type) -> str:
    return {str: "string", int: "whole number", bool: "true/false", list: "list",
            dict: "table"}.get(kind, kind.__name__)


def _field(r: _Reader, path: str, t: dict[str, Any]) -> FieldSpec | None:
    r.keys(t, path, ("name", "type", "label", "required", "choices", "items", "min_items", "min",
                     "max", "required_if", "default_after", "help"))
    name = r.slug(t, "name", path)
    ftype = r.get(t, "type", path, str, "", required=True)
    if ftype and ftype not in FIELD_TYPES:
        r.problem("unknown-field-type", f"{path}.type", f"unknown field type {ftype!r}",
                  f"use one of {', '.join(FIELD_TYPES)}")
        return None
    choices = r.strings(t, "choices", path)
    if ftype == "enum" and not choices:
        r.problem("missing-key", f"{path}.choices", "an enum field needs choices")
    items = r.get(t, "items", path, str, None)
    if items is not None and items not in FIELD_TYPES:
        r.problem("unknown-field-type", f"{path}.items", f"unknown item type {items!r}")
    cond = r.get(t, "required_if", path, dict)
    condition = None
    if cond is not None:
        r.keys(cond, f"{path}.required_if", ("field", "equals"))
        if "field" in cond and "equals" in cond:
            condition = Condition(str(cond["field"]), cond["equals"])
        else:
            r.problem("missing-key", f"{path}.required_if", "needs 'field' and 'equals'")
    if not name or not ftype:
        return None
    return FieldSpec(
        name=name, type=ftype, label=r.get(t, "label", path, str, name),
        required=r.get(t, "required", path, bool, condition is None), choices=choices,
        items=items, min_items=r.get(t, "min_items", path, int, 0),
        minimum=r.get(t, "min", path, int), maximum=r.get(t, "max", path, int),
        required_if=condition, default_after=r.duration(t, "default_after", path),
        help=r.get(t, "help", path, str, ""),
    )


def _fields(r: _Reader, table: Mapping[str, Any], key: str, path: str) -> tuple[FieldSpec, ...]:
    out = []
    seen: set[str] = set()
    for fpath, t in r.tables(table, key, path):
        spec = _field(r, fpath, t)
        if spec is None:
            continue
        if spec.name in seen:
            r.problem("duplicate-field", fpath, f"field {spec.name!r} is declared twice")
        seen.add(spec.name)
        out.append(spec)
    return tuple(out)


def _deadline(r: _Reader, path: str, t: dict[str, Any]) -> DeadlineSpec | None:
    r.keys(t, path, ("rule", "kind", "after", "relative_to", "role", "template", "every",
                     "escalate", "instead"))
    condition, instead_role, instead_route = _instead(r, t, path)
    rule = r.slug(t, "rule", path)
    kind = r.get(t, "kind", path, str, "reminder")
    if kind not in ("reminder", "escalation", "recurring"):
        r.problem("bad-value", f"{path}.kind", f"unknown deadline kind {kind!r}",
                  "use reminder, escalation or recurring")
    after = r.duration(t, "after", path)
    if "after" not in t:
        r.problem("missing-key", f"{path}.after", "'after' is required")
    every = r.duration(t, "every", path)
    if kind == "recurring" and every is None:
        r.problem("missing-key", f"{path}.every", "a recurring deadline needs 'every'")
    esc = r.get(t, "escalate", path, dict, {})
    r.keys(esc, f"{path}.escalate", ("role", "after", "template"))
    esc_after = r.duration(esc, "after", f"{path}.escalate") if esc else None
    if esc and esc_after is None:
        r.problem("missing-key", f"{path}.escalate.after", "an escalation needs 'after'")
    if not rule or after is None:
        return None
    return DeadlineSpec(
        rule=rule, kind=kind, after=after, role=r.role(t, "role", path),
        template=r.get(t, "template", path, str, "", required=True),
        relative_to=r.get(t, "relative_to", path, str, "entered"), every=every,
        escalate_role=r.role(esc, "role", f"{path}.escalate", required=bool(esc)),
        escalate_after=esc_after,
        escalate_template=r.get(esc, "template", f"{path}.escalate", str, "escalatie"),
        instead=condition, instead_role=instead_role, instead_route=instead_route,
    )


def _instead(r: _Reader, t: Mapping[str, Any], path: str) -> tuple[Condition | None, str, str]:
    """``instead = { field, equals, role [, route] }``: another recipient while the instance (or
    the case's instance of ``route``) has recorded ``field`` = ``equals``."""
    instead = r.get(t, "instead", path, dict)
    if instead is None:
        return None, "", ""
    r.keys(instead, f"{path}.instead", ("field", "equals", "role", "route"))
    if not {"field", "equals", "role"} <= set(instead):
        r.problem("missing-key", f"{path}.instead", "needs 'field', 'equals' and 'role'")
        return None, "", ""
    return (Condition(str(instead["field"]), instead["equals"]), r.role(instead, "role", path),
            r.get(instead, "route", f"{path}.instead", str, ""))


def _state(r: _Reader, name: str, t: dict[str, Any]) -> StateSpec:
    path = f"states.{name}"
    r.keys(t, path, ("label", "final", "task", "idle", "deadlines", "source", "note"))
    if not _SLUG.match(name):
        r.problem("bad-name", path, f"{name!r} is not a valid state name",
                  "use lower case letters, digits and _")
    task = None
    task_t = r.get(t, "task", path, dict)
    if task_t is not None:
        r.keys(task_t, f"{path}.task", ("role", "title", "due"))
        task = TaskSpec(role=r.role(task_t, "role", f"{path}.task"),
                        title=r.get(task_t, "title", f"{path}.task", str, "", required=True),
                        due=r.duration(task_t, "due", f"{path}.task"))
    deadlines = []
    for dpath, d in r.tables(t, "deadlines", path):
        spec = _deadline(r, dpath, d)
        if spec is not None:
            deadlines.append(spec)
    return StateSpec(
        name=name, label=r.get(t, "label", path, str, name, required=True),
        final=r.get(t, "final", path, bool, False), task=task, idle=r.duration(t, "idle", path),
        deadlines=tuple(deadlines), source=r.get(t, "source", path, str, ""),
        note=r.get(t, "note", path, str, ""),
    )


_GUARD_META = ("name", "message")


def _transition(r: _Reader, path: str, t: dict[str, Any],
                states: Mapping[str, StateSpec]) -> TransitionSpec | None:
    r.keys(t, path, ("trigger", "from", "to", "label", "roles", "fields", "guards", "notify",
                     "start", "close_routes", "fire", "set", "invite", "source", "note"))
    invite = None
    invite_t = r.get(t, "invite", path, dict)
    if invite_t is not None:
        ipath = f"{path}.invite"
        r.keys(invite_t, ipath, ("field", "roles", "cancel", "minutes"))
        invite = InviteSpec(r.get(invite_t, "field", ipath, str, "", required=True),
                            r.roles(invite_t, "roles", ipath),
                            r.get(invite_t, "cancel", ipath, bool, False),
                            r.get(invite_t, "minutes", ipath, int, 60))
    trigger = r.slug(t, "trigger", path)
    sources = r.strings(t, "from", path)
    if "*" in sources:  # any state that is not final, for steps such as acuut_melden
        sources = tuple(s.name for s in states.values() if not s.final)
    guards = []
    for gpath, g in r.tables(t, "guards", path):
        gname = r.get(g, "name", gpath, str, "", required=True)
        params = MappingProxyType({k: v for k, v in g.items() if k not in _GUARD_META})
        guards.append(GuardRef(gname, params, r.get(g, "message", gpath, str, "")))
    notify = []
    for npath, n in r.tables(t, "notify", path):
        r.keys(n, npath, ("template", "role", "instead"))
        condition, instead_role, instead_route = _instead(r, n, npath)
        notify.append(NotifySpec(r.get(n, "template", npath, str, "", required=True),
                                 r.role(n, "role", npath),
                                 condition, instead_role, instead_route))
    fires = []
    for fpath, f in r.tables(t, "fire", path):
        r.keys(f, fpath, ("route", "trigger", "carry"))
        carry = r.get(f, "carry", fpath, dict, {})
        fires.append(FireSpec(r.get(f, "route", fpath, str, "", required=True),
                              r.get(f, "trigger", fpath, str, "", required=True),
                              MappingProxyType({str(k): str(v) for k, v in carry.items()})))
    starts = []
    for spath, s in r.tables(t, "start", path):
        r.keys(s, spath, ("route", "state", "carry"))
        carry = r.get(s, "carry", spath, dict, {})
        starts.append(StartSpec(r.get(s, "route", spath, str, "", required=True),
                                r.get(s, "state", spath, str, ""),
                                MappingProxyType({str(k): str(v) for k, v in carry.items()})))
    if not trigger:
        return None
    return TransitionSpec(
        trigger=trigger, sources=sources, dest=r.get(t, "to", path, str, ""),
        label=r.get(t, "label", path, str, trigger), roles=r.roles(t, "roles", path),
        fields=_fields(r, t, "fields", path), guards=tuple(guards), notify=tuple(notify),
        start=tuple(starts), close_routes=r.strings(t, "close_routes", path), fire=tuple(fires),
        sets=MappingProxyType(dict(r.get(t, "set", path, dict, {}))), invite=invite,
        source=r.get(t, "source", path, str, ""), note=r.get(t, "note", path, str, ""),
    )


def _param_value_ok(value: object) -> bool:
    if isinstance(value, dict):
        return len(value) == 1 and next(iter(value)) in DURATION_UNITS
    if isinstance(value, list):
        return all(isinstance(v, str) for v in value)
    return isinstance(value, str | int) and not isinstance(value, bool)


def _params(r: _Reader, doc: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The route's ``[params]`` with the installation's overrides applied."""
    declared = r.get(doc, "params", "", dict, {})
    for key, value in declared.items():
        if not _param_value_ok(value):
            r.problem("bad-type", f"params.{key}", "a parameter is a duration table, a role, a list "
                      "of roles or a whole number", "keys written after [params] belong to it: put "
                      "the top-level keys before the first [table]")
    params = dict(declared)
    for key, value in overrides.items():
        if key not in declared:
            r.problem("unknown-param", f"params.{key}", f"configuration sets parameter {key!r}, "
                      "which this route does not declare", f"declared: {', '.join(declared) or 'none'}")
        elif type(value) is not type(declared[key]):
            r.problem("bad-type", f"params.{key}", f"configuration gives a {type(value).__name__} "
                      f"where the route declares a {type(declared[key]).__name__}")
        else:
            params[key] = value
    return params


def parse_route(file: Path, text: str | None = None,
                overrides: Mapping[str, Any] | None = None) -> tuple[RouteSpec | None, list[Problem]]:
    """Parse one route file; return the spec (None when unusable) and its shape problems.

    ``overrides`` are this installation's values for the route's ``[params]`` (configuration).
    """
    name = str(file)
    r = _Reader(name)
    try:
        doc = tomllib.loads(text if text is not None else file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        r.problem("toml-syntax", "", f"not valid TOML: {exc}", "check quotes, brackets and commas")
        return None, r.problems
    except OSError as exc:
        r.problem("unreadable", "", f"cannot read the file: {exc.strerror}")
        return None, r.problems
    except UnicodeDecodeError:
        r.problem("unreadable", "", "the file is not UTF-8 text", "save the file as UTF-8")
        return None, r.problems
    r.keys(doc, "", ("id", "version", "title", "per", "initial", "source", "note", "states",
                     "transitions", "start_fields", "starters", "params", "also_start"))
    r.params = _params(r, doc, overrides or {})
    route_id = r.slug(doc, "id", "")
    version = r.get(doc, "version", "", int, 0, required=True)
    match = _FILE_NAME.match(file.name)
    if route_id and file.parent.name != route_id:
        r.problem("file-mismatch", "id", f"id {route_id!r} differs from its folder {file.parent.name!r}",
                  "keep route files at workflows/<id>/v<version>.toml")
    if version and (match is None or int(match.group(1)) != version):
        r.problem("file-mismatch", "version", f"version {version} differs from file name {file.name!r}",
                  "keep route files at workflows/<id>/v<version>.toml")
    per = r.get(doc, "per", "", str, "child")
    if per not in ("child", "location"):
        r.problem("bad-value", "per", f"per must be 'child' or 'location', not {per!r}")
    state_tables = r.get(doc, "states", "", dict, {}, required=True)
    states: dict[str, StateSpec] = {}
    for sname, st in state_tables.items():
        if isinstance(st, dict):
            states[sname] = _state(r, sname, st)
        else:
            r.problem("bad-type", f"states.{sname}", "must be a table")
    transitions = []
    for tpath, t in r.tables(doc, "transitions", ""):
        spec = _transition(r, tpath, t, states)
        if spec is not None:
            transitions.append(spec)
    initial = r.get(doc, "initial", "", str, "", required=True)
    title = r.get(doc, "title", "", str, route_id, required=True)
    start_fields = _fields(r, doc, "start_fields", "")
    starters = r.roles(doc, "starters", "")
    source, note = r.get(doc, "source", "", str, ""), r.get(doc, "note", "", str, "")
    also = []
    for apath, a in r.tables(doc, "also_start", ""):
        r.keys(a, apath, ("route", "when_fact"))
        also.append(AlsoStart(r.get(a, "route", apath, str, "", required=True),
                              r.get(a, "when_fact", apath, str, "", required=True)))
    if not route_id or not version or not initial:
        return None, r.problems
    all_transitions = tuple(transitions)
    route = RouteSpec(
        id=route_id, version=version, title=title,
        per=per, initial=initial, states=MappingProxyType(states), transitions=all_transitions,
        start_fields=start_fields, starters=starters, params=MappingProxyType(dict(r.params)),
        also_start=tuple(also), file=name, source=source, note=note,
        _by_trigger=index_transitions(all_transitions),
    )
    return route, r.problems


def route_files(folder: Path) -> list[Path]:
    """Every ``<route>/v<N>.toml`` below ``folder``, sorted."""
    return sorted(p for p in folder.glob("*/*.toml"))
