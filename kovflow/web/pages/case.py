"""The case page (``/casus/{case_number}``): the child, the faces around it, every route with its
diagram and next steps, consents, planned conversations, the timeline, the anonymous consultation.

Everything is read through the services (``case_overview``, ``history``, ``consents_of``), which
check access and write the access log; a case the visitor may not see answers the same 404 page
as a missing one. Step forms are generated from the route data (field types, required fields,
Dutch labels) and carry the instance's revision: a step on a stale page is refused with
``ConcurrentUpdate`` and the page shows the new state with the entered values kept. A refused
step shows every reason next to its form. Case numbers are pseudonymous and may be in URLs;
names never are.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from kovflow.actor import Actor
from kovflow.routes.spec import FieldSpec, RouteSpec, TransitionSpec
from kovflow.services import App
from kovflow.web.deps import current_actor, kapp, redirect, render, require_csrf

router = APIRouter()

CONSENT_STATUSES = ("gevraagd", "gegeven", "geweigerd", "ingetrokken")
CONSENT_FORMS = ("mondeling", "schriftelijk")
CONSULT_ROLES = ("wijkcoach", "jgz")


@dataclass
class FormField:
    """One input of a step form, ready for the template."""

    id: str
    name: str
    label: str
    widget: str  # textarea, input, select, bool
    input_type: str = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    hint: str = ""
    value: str = ""
    minimum: int | None = None
    maximum: int | None = None


@dataclass
class StepForm:
    trigger: str
    label: str
    roles: tuple[str, ...]
    allowed: bool
    fields: list[FormField]
    reasons: list[str] = field(default_factory=list)
    conflict: bool = False
    error: str = ""


@dataclass
class RouteBlock:
    id: int
    route: str
    title: str
    state: str
    state_label: str
    revision: int
    closed: bool
    svg: str
    steps: list[StepForm]


@dataclass
class Attempt:
    """What the visitor just tried (to show next to its form), with the entered values."""

    instance_id: int
    trigger: str
    values: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    conflict: bool = False
    error: str = ""


def _hint(f: FieldSpec, labels: dict[str, str]) -> str:
    parts = []
    if f.help:
        parts.append(f.help)
    if f.type == "list":
        parts.append("Scheid meerdere waarden met ;")
    if f.required_if is not None:
        want = "ja" if f.required_if.equals is True else str(f.required_if.equals)
        other = labels.get(f.required_if.field, f.required_if.field)
        parts.append(f"Verplicht als '{other}' {want} is.")
    return " ".join(parts)


def _form_field(prefix: str, f: FieldSpec, value: str, labels: dict[str, str]) -> FormField:
    widget, input_type = "input", "text"
    if f.type == "text":
        widget = "textarea"
    elif f.type == "date":
        input_type = "date"
    elif f.type == "datetime":
        input_type = "datetime-local"
    elif f.type == "int":
        input_type = "number"
    elif f.type == "enum":
        widget = "select"
    elif f.type == "bool":
        widget = "bool"
    # A conditionally required field cannot be 'required' for the browser; the server checks it.
    required = f.required and f.required_if is None and f.default_after is None
    return FormField(id=f"{prefix}-{f.name}", name=f.name, label=f.label, widget=widget,
                     input_type=input_type, required=required, choices=f.choices,
                     hint=_hint(f, labels), value=value, minimum=f.minimum, maximum=f.maximum)


def _step_form(actor: Actor, inst_id: int, t: TransitionSpec, attempt: Attempt | None) -> StepForm:
    mine = attempt if attempt and attempt.instance_id == inst_id \
        and attempt.trigger == t.trigger else None
    values = mine.values if mine else {}
    prefix = f"i{inst_id}-{t.trigger}"
    labels = {f.name: f.label for f in t.fields}
    return StepForm(trigger=t.trigger, label=t.label, roles=t.roles,
                    allowed=actor.may_act_as(t.roles),
                    fields=[_form_field(prefix, f, values.get(f.name, ""), labels)
                            for f in t.fields],
                    reasons=mine.reasons if mine else [], conflict=bool(mine and mine.conflict),
                    error=mine.error if mine else "")


def _planned(spec: RouteSpec, events: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """Conversations still ahead: the dates of this route's calendar invitations, unless a later
    step cancelled them (the route data names them: ``invite = { field = ... }``)."""
    fields: dict[str, str] = {}
    cancels: dict[str, str] = {}
    for t in spec.transitions:
        if t.invite is None:
            continue
        if t.invite.cancel:
            cancels[t.trigger] = t.invite.field
            continue
        label = next((f.label for f in t.fields if f.name == t.invite.field), t.invite.field)
        fields.setdefault(t.invite.field, label)
    planned: dict[str, str] = {}
    for e in events:
        if e["route"] != spec.id:
            continue
        if e["trigger"] in cancels:
            planned.pop(cancels[e["trigger"]], None)
            continue
        for name in fields:
            value = e["data"].get(name)
            if isinstance(value, str) and value:
                planned[name] = value
    out = []
    for name, value in planned.items():
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            continue
        if day >= today:
            what = fields[name]
            what = what[6:] if what.lower().startswith("datum ") else what
            out.append({"route": spec.title, "what": what[:1].upper() + what[1:], "date": day})
    return out


def _since(events: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """When each (user, role) joined, from the audited events of the case."""
    found: dict[tuple[str, str], str] = {}
    for e in events:
        if e["kind"] == "case_opened":
            found.setdefault((e["actor"], "*"), e["at"])
        elif e["kind"] == "participant_added":
            key = (str(e["data"].get("user") or ""), str(e["data"].get("role") or ""))
            found.setdefault(key, e["at"])
    return found


_KINDS = {"case_opened": "Casus geopend", "participant_added": "Deelnemer toegevoegd",
          "consent": "Toestemming", "consent_transfer": "Gegevens gedeeld"}


def _event_text(app: App, e: dict[str, Any]) -> str:
    """One line of the timeline in Dutch, from the route data (labels), never from free text."""
    route = e["route"]
    spec = app.catalog.get(route, e["version"]) if route and route in app.catalog else None
    title = spec.title if spec else (route or "")
    if e["kind"] == "start":
        return f"Route '{title}' gestart"
    if e["kind"] == "transition" and spec is not None:
        label = next((t.label for t in spec.transitions_for(e["trigger"])), e["trigger"])
        to = spec.states.get(e["to"] or "")
        return f"{title}: {label}" + (f" (nu: {to.label})" if to and e["to"] != e["from"] else "")
    if e["kind"] == "consent":
        return f"Toestemming '{e['data'].get('scope', '')}': {e['data'].get('status', '')}"
    if e["kind"] == "participant_added":
        return f"Deelnemer toegevoegd ({e['data'].get('role', '')})"
    kind = str(e["kind"])
    return _KINDS.get(kind, kind.replace("_", " "))


def _field_labels(app: App, e: dict[str, Any]) -> dict[str, str]:
    """The Dutch labels of the fields a step recorded (the timeline shows labels, not names)."""
    route = e["route"]
    if e["kind"] != "transition" or not route or route not in app.catalog:
        return {}
    spec = app.catalog.get(route, e["version"])
    return {f.name: f.label for t in spec.transitions_for(e["trigger"]) for f in t.fields}


def _consult_available() -> bool:
    return importlib.util.find_spec("kovflow.services.consultation") is not None


def _consent_scopes(app: App) -> list[str]:
    scopes = {str(g.params["scope"]) for spec in app.catalog for t in spec.transitions
              for g in t.guards if g.name == "consent_given" and "scope" in g.params}
    return sorted(scopes)


def case_context(app: App, actor: Actor, case_number: str,
                 attempt: Attempt | None = None) -> dict[str, Any]:
    """Everything the case page shows (each read is access-checked by its service; the page view
    is one access record)."""
    from kovflow.services import case_overview, consents_of, history
    from kovflow.services.cases import one_read_record
    from kovflow.web.diagram import route_svg

    # One page view is one access record, naming the views it showed.
    with one_read_record(app, actor, "casuspagina"):
        overview = case_overview(app, actor, case_number)
        # The coordinator reads a pseudonymised record: no birth date, no names, no step data.
        # A partner whose consents do not share the personalia reads the case without them, and
        # the overview says what is withheld.
        withheld = tuple(getattr(overview, "withheld", ()))
        full = overview.birth_date is not None or bool(withheld)
        events = history(app, actor, case_number)
        consents = consents_of(app, actor, case_number) if full else []
    today = app.clock.now().date()
    blocks, planned = [], []
    for inst in overview.instances:
        spec = app.catalog.get(inst.route, inst.version)
        steps = [] if inst.closed or not full else [
            _step_form(actor, inst.id, t, attempt) for t in spec.available(inst.state)]
        blocks.append(RouteBlock(inst.id, inst.route, inst.title, inst.state, inst.state_label,
                                 inst.revision, inst.closed,
                                 route_svg(spec, inst.state, inst.closed), steps))
        if not inst.closed and full:
            planned.extend(_planned(spec, events, today))
    planned.sort(key=lambda p: p["date"])
    consult = full and _consult_available()
    asked: list[Any] = list(getattr(overview, "consultations", ()))
    since = _since(events)
    opener = next((e["actor"] for e in events if e["kind"] == "case_opened"), "")
    faces = []
    for who, role, organisation in overview.participants:
        joined = since.get((who, role)) or (since.get((who, "*")) if who == opener else None)
        faces.append({"who": who, "role": role, "organisation": organisation,
                      "since": datetime.fromisoformat(joined) if joined else None})
    timeline = [{**e, "at": datetime.fromisoformat(e["at"]), "text": _event_text(app, e),
                 "labels": _field_labels(app, e)} for e in reversed(events)]
    return {
        "case": overview, "full": full, "withheld": withheld, "routes": blocks, "faces": faces,
        "consents": consents, "consent_scopes": _consent_scopes(app),
        "consent_statuses": CONSENT_STATUSES, "consent_forms": CONSENT_FORMS,
        "planned": planned, "timeline": timeline,
        "consult": consult, "consult_roles": CONSULT_ROLES, "consultations": asked,
        "consult_error": "", "consult_question": "", "consent_error": "",
        "route_titles": {s.id: s.title for s in app.catalog},
        "attempt": attempt,
    }


@router.get("/casus/{case_number}")
def case_page(request: Request, case_number: str,
              actor: Annotated[Actor, Depends(current_actor)],
              app: Annotated[App, Depends(kapp)]) -> Response:
    return render(request, "case.html", **case_context(app, actor, case_number))


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.post("/casus/{case_number}/stap", dependencies=[Depends(require_csrf)])
async def fire_step(request: Request, case_number: str,
                    actor: Annotated[Actor, Depends(current_actor)],
                    app: Annotated[App, Depends(kapp)]) -> Response:
    form = await request.form()
    values = {key: _text(form, key) for key in form if key != "csrf_token"}
    # The services block (database, argon2-free but I/O): off the event loop.
    return await run_in_threadpool(_fire_step, request, app, actor, case_number, values)


def _fire_step(request: Request, app: App, actor: Actor, case_number: str,
               form: dict[str, str]) -> Response:
    from kovflow.errors import ConcurrentUpdate, InvalidInput, TransitionNotAllowed
    from kovflow.services import fire

    route, trigger = form.get("route", ""), form.get("trigger", "")
    try:
        instance_id = int(form.get("instance", ""))
        revision = int(form.get("expected_revision", ""))
    except ValueError:
        raise InvalidInput("het formulier mist de route of de revisie; laad de pagina "
                           "opnieuw") from None
    spec_fields = _fields_of(app, route, trigger)
    values = {name: form.get(name, "") for name, _label in spec_fields}
    data = {name: value for name, value in values.items() if value}
    attempt = Attempt(instance_id, trigger, values, dict(spec_fields))
    try:
        fire(app, actor, route, trigger, case=case_number, data=data,
             expected_revision=revision, instance_id=instance_id)
    except TransitionNotAllowed as refused:
        attempt.reasons = [r.message for r in refused.reasons]
        return render(request, "case.html", status_code=422,
                      **case_context(app, actor, case_number, attempt))
    except ConcurrentUpdate:
        attempt.conflict = True
        return render(request, "case.html", status_code=409,
                      **case_context(app, actor, case_number, attempt))
    except InvalidInput as exc:
        attempt.error = str(exc)
        return render(request, "case.html", status_code=400,
                      **case_context(app, actor, case_number, attempt))
    label = next((t.label for t in app.catalog.get(route).transitions if t.trigger == trigger),
                 trigger) if route in app.catalog else trigger
    return redirect(f"/casus/{case_number}#route-{route}",
                    flash=f"Stap '{label}' is vastgelegd.")


def _fields_of(app: App, route: str, trigger: str) -> list[tuple[str, str]]:
    """(name, label) of the fields any version of ``route`` asks for with ``trigger`` (unknown:
    none; the service then refuses the step with its own reasons)."""
    if route not in app.catalog:
        return []
    fields: dict[str, str] = {}
    for spec in app.catalog:
        if spec.id != route:
            continue
        for t in spec.transitions_for(trigger):
            for f in t.fields:
                fields.setdefault(f.name, f.label)
    return list(fields.items())


@router.post("/casus/{case_number}/toestemming", dependencies=[Depends(require_csrf)])
async def consent(request: Request, case_number: str,
                  actor: Annotated[Actor, Depends(current_actor)],
                  app: Annotated[App, Depends(kapp)]) -> Response:
    form = await request.form()
    return await run_in_threadpool(_consent, request, app, actor, case_number,
                                   _text(form, "scope"), _text(form, "status"),
                                   _text(form, "form"))


def _consent(request: Request, app: App, actor: Actor, case_number: str, scope: str,
             status: str, how: str) -> Response:
    from kovflow.errors import InvalidInput
    from kovflow.services import record_consent

    if scope not in _consent_scopes(app):
        raise InvalidInput("kies waarvoor de toestemming geldt")
    if status not in CONSENT_STATUSES:
        raise InvalidInput(f"kies de stand van de toestemming: {', '.join(CONSENT_STATUSES)}")
    if how and how not in CONSENT_FORMS:
        raise InvalidInput(f"de vorm is {' of '.join(CONSENT_FORMS)}")
    try:
        record_consent(app, actor, case_number, scope, status, form=how)
    except InvalidInput as exc:
        ctx = case_context(app, actor, case_number)
        ctx["consent_error"] = str(exc)
        return render(request, "case.html", status_code=400, **ctx)
    word = "ingetrokken" if status == "ingetrokken" else "vastgelegd"
    return redirect(f"/casus/{case_number}#toestemming",
                    flash=f"Toestemming '{scope}' is {word} ({status}).")


@router.post("/casus/{case_number}/consultatie", dependencies=[Depends(require_csrf)])
async def consult(request: Request, case_number: str,
                  actor: Annotated[Actor, Depends(current_actor)],
                  app: Annotated[App, Depends(kapp)]) -> Response:
    form = await request.form()
    return await run_in_threadpool(_consult, request, app, actor, case_number,
                                   _text(form, "to_role"), _text(form, "question"))


def _consult(request: Request, app: App, actor: Actor, case_number: str, to_role: str,
             question: str) -> Response:
    from kovflow.errors import InvalidInput, NotFound

    if not _consult_available():
        raise NotFound("page", "consultatie")
    from kovflow.services import consultation  # type: ignore[attr-defined,unused-ignore]

    if to_role not in CONSULT_ROLES:
        raise InvalidInput("kies aan wie u de vraag stelt: wijkcoach of jgz")
    if not question:
        ctx = case_context(app, actor, case_number)
        ctx.update(consult_error="Schrijf uw vraag (zonder naam of andere gegevens van het kind).")
        return render(request, "case.html", status_code=400, **ctx)
    try:
        consultation.ask(app, actor, case_number, to_role, question)
    except InvalidInput as exc:
        # E.g. the question names the child: say so and give the text back to edit.
        ctx = case_context(app, actor, case_number)
        ctx.update(consult_error=str(exc), consult_question=question)
        return render(request, "case.html", status_code=400, **ctx)
    return redirect(f"/casus/{case_number}#consultatie",
                    flash="Uw vraag is anoniem gesteld.")
