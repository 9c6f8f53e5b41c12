"""Cases, their route instances, steps, history and consents (``/api/v1/cases...``).

Handlers translate only: path, query and body to a service call with the token's actor, the
result to a response model. Access, validation of step data and the audit trail are the
services' work, so the API answers exactly as the CLI and the pages do.

Steps use optimistic concurrency with HTTP preconditions: ``GET .../routes/{id}`` gives the
instance's revision as its ``ETag``; ``POST .../fire/{trigger}`` needs ``If-Match`` with that
ETag (428 without it; ``If-Match: *`` takes the step on whatever revision is current). When the
ETag is no longer current the step is not tried (412, with the current ETag); when another
writer changes the instance while the step runs, the service refuses it (409). Nothing is lost
either way: the client reloads and decides again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response

from kovflow.actor import Actor
from kovflow.errors import InvalidInput, NotFound
from kovflow.services import (
    App,
    case_overview,
    consents_of,
    fire,
    history,
    open_case,
    record_consent,
    start_route,
)
from kovflow.services.case_list import visible_cases
from kovflow.services.cases import CaseOverview, InstanceView
from kovflow.services.steps import FireResult
from kovflow.web.api import models as m
from kovflow.web.api.auth import ActorDep, KappDep
from kovflow.web.api.problems import ApiProblem, responses

router = APIRouter(tags=["cases"])

CaseNumber = Annotated[str, Path(pattern=m.CASE_NUMBER, examples=["KOV-00001"],
                                 description="The case number (pseudonymous)")]
RouteId = Annotated[str, Path(pattern=m.NAME, examples=["plaatsing"])]
Trigger = Annotated[str, Path(pattern=m.NAME, examples=["plan_intake"])]
InstanceId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _etag(revision: int) -> str:
    return f'"{revision}"'


def _started(items: tuple[tuple[str, int, str], ...]) -> list[m.StartedRoute]:
    return [m.StartedRoute(route=r, instance_id=i, state=s) for r, i, s in items]


def _instance(view: InstanceView) -> m.Instance:
    return m.Instance(id=view.id, route=view.route, version=view.version, title=view.title,
                      state=view.state, state_label=view.state_label, revision=view.revision,
                      closed=view.closed,
                      steps=[m.Step(trigger=t, label=label) for t, label in view.steps])


def _case(ov: CaseOverview) -> m.Case:
    withheld = list(getattr(ov, "withheld", ()))
    # A pseudonymised record has no name and nothing withheld by consent (it withholds all).
    return m.Case(
        case_number=ov.case_number, first_name=ov.first_name, initial=ov.initial,
        birth_date=ov.birth_date, location=ov.location,
        pseudonymised=not ov.first_name and not withheld, withheld=withheld,
        participants=[m.Participant(who=w, role=r, organisation=o) for w, r, o in ov.participants],
        routes=[_instance(v) for v in ov.instances],
        open_tasks=[m.OpenTask(role=r, title=t, due=d) for r, t, d in ov.open_tasks])


def _step_result(res: FireResult) -> m.StepResult:
    return m.StepResult(case_number=res.case_number, instance_id=res.instance_id, route=res.route,
                        trigger=res.trigger, from_state=res.from_state, to_state=res.to_state,
                        revision=res.revision, started=_started(res.started),
                        closed=[m.Closed(route=r, instance_id=i) for r, i in res.closed])


@router.get("/cases", response_model=m.CaseList, responses=responses(400, 404),
            summary="Cases the actor may see (pseudonymous list)")
def list_cases(
    kapp: KappDep, actor: ActorDep,
    location: Annotated[str | None, Query(pattern=m.CODE, description="Location code")] = None,
    route: Annotated[str | None, Query(pattern=m.NAME, description="Only cases with this route")]
    = None,
    state: Annotated[str | None, Query(pattern=m.NAME, description="... in this state")] = None,
    after: Annotated[str | None, Query(pattern=m.CASE_NUMBER, description="Cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> m.CaseList:
    rows, next_after = visible_cases(kapp, actor, location=location, route=route, state=state,
                                     after=after, limit=limit)
    return m.CaseList(items=[m.CaseSummary(case_number=r.case_number, location=r.location,
                                           routes=_started(r.routes)) for r in rows],
                      next_after=next_after)


@router.post("/cases", status_code=201, response_model=m.CaseOpened, responses=responses(404),
             summary="Open a case and start its first routes")
def open_case_endpoint(kapp: KappDep, actor: ActorDep, body: m.CaseOpen, request: Request,
                       response: Response) -> m.CaseOpened:
    opened = open_case(kapp, actor, first_name=body.first_name, initial=body.initial,
                       birth_date=body.birth_date, location=body.location,
                       routes=tuple(body.routes), facts=body.facts)
    response.headers["Location"] = str(request.url_for("get_case", case_number=opened.case_number))
    return m.CaseOpened(case_number=opened.case_number, started=_started(opened.started))


@router.get("/cases/{case_number}", response_model=m.Case, responses=responses(404),
            summary="The case: child (unless pseudonymised), participants, routes, open tasks")
def get_case(kapp: KappDep, actor: ActorDep, case_number: CaseNumber) -> m.Case:
    return _case(case_overview(kapp, actor, case_number))


@router.get("/cases/{case_number}/routes", response_model=list[m.Instance],
            responses=responses(404), summary="The route instances of the case")
def list_routes(kapp: KappDep, actor: ActorDep, case_number: CaseNumber) -> list[m.Instance]:
    return [_instance(v) for v in case_overview(kapp, actor, case_number).instances]


@router.get("/cases/{case_number}/routes/{instance_id}", response_model=m.Instance,
            responses=responses(404),
            summary="One route instance; its ETag is the revision to send as If-Match")
def get_route(kapp: KappDep, actor: ActorDep, case_number: CaseNumber, instance_id: InstanceId,
              response: Response) -> m.Instance:
    view = next((v for v in case_overview(kapp, actor, case_number).instances
                 if v.id == instance_id), None)
    if view is None:
        raise NotFound("route instance", instance_id)
    response.headers["ETag"] = _etag(view.revision)
    return _instance(view)


@router.post("/cases/{case_number}/routes/{route}/start", status_code=201,
             response_model=m.StepResult, responses=responses(404),
             summary="Start a route on the case by hand (e.g. meldcode)")
def start(kapp: KappDep, actor: ActorDep, case_number: CaseNumber, route: RouteId,
          body: m.StartInput, request: Request, response: Response) -> m.StepResult:
    res = start_route(kapp, actor, route, case=case_number, data=dict(body.data))
    response.headers["ETag"] = _etag(res.revision)
    response.headers["Location"] = str(request.url_for(
        "get_route", case_number=case_number, instance_id=res.instance_id))
    return _step_result(res)


def _revisions(if_match: str) -> list[int] | None:
    """The revisions named by If-Match, or None for ``*``; 400 for anything else."""
    if if_match.strip() == "*":
        return None
    out = []
    for tag in if_match.split(","):
        tag = tag.strip()
        # Weak tags never match under If-Match's strong comparison (RFC 9110 13.1.1).
        if tag.startswith("W/"):
            continue
        digits = tag[1:-1]
        if len(tag) < 3 or not (tag[0] == tag[-1] == '"') or not (digits.isascii()
                                                                   and digits.isdigit()):
            raise ApiProblem(400, "bad-precondition", "Ongeldige If-Match",
                             'If-Match is "<revisie>" (het ETag van de route) of *.')
        out.append(int(digits))
    return out


def current_instance(kapp: App, actor: Actor, case_number: str, route: str,
                     instance_id: int | None) -> InstanceView:
    """The instance a step will act on, as the actor sees it (same choice as the service)."""
    views = [v for v in case_overview(kapp, actor, case_number).instances if v.route == route]
    if instance_id is not None:
        views = [v for v in views if v.id == instance_id]
    if not views:
        raise NotFound("route instance", f"{route} on {case_number}")
    running = [v for v in views if not v.closed]
    if len(running) > 1:
        ids = ", ".join(str(v.id) for v in running)
        raise InvalidInput(f"route {route} runs {len(running)} times here (instances {ids}); "
                           "name the instance with ?instance=")
    return (running or views)[-1]


@router.post("/cases/{case_number}/routes/{route}/fire/{trigger}", response_model=m.StepResult,
             responses=responses(400, 404, 409, 412, 428),
             summary="Take a step; needs If-Match with the instance's ETag")
def fire_step(
    kapp: KappDep, actor: ActorDep, case_number: CaseNumber, route: RouteId, trigger: Trigger,
    body: m.StepInput, response: Response,
    if_match: Annotated[str | None, Header(
        max_length=200, pattern=m.SINGLE_LINE,
        description='"<revision>" from the ETag of the instance, or * for any revision')] = None,
    instance: Annotated[int | None, Query(
        ge=1, le=2**31 - 1, description="The instance, when the route runs more than once")] = None,
) -> m.StepResult:
    if if_match is None:
        raise ApiProblem(428, "precondition-required", "If-Match vereist",
                         'Stuur If-Match: "<revisie>" mee (het ETag van de route), of * om de '
                         "stap op de huidige revisie te zetten.")
    wanted = _revisions(if_match)
    view = current_instance(kapp, actor, case_number, route, instance)
    if wanted is not None and view.revision not in wanted:
        raise ApiProblem(412, "precondition-failed", "Casus intussen gewijzigd",
                         f"De route staat op revisie {view.revision}; laad hem opnieuw.",
                         headers={"ETag": _etag(view.revision)})
    res = fire(kapp, actor, route, trigger, case=case_number, data=dict(body.data),
               expected_revision=view.revision if wanted is not None else None,
               instance_id=view.id)
    response.headers["ETag"] = _etag(res.revision)
    return _step_result(res)


@router.get("/cases/{case_number}/history", response_model=list[m.Event],
            responses=responses(404), summary="The case's audited events, oldest first")
def get_history(kapp: KappDep, actor: ActorDep, case_number: CaseNumber) -> list[m.Event]:
    return [m.Event.model_validate(e) for e in history(kapp, actor, case_number)]


@router.get("/cases/{case_number}/consents", response_model=list[m.Consent],
            responses=responses(404), summary="The current consent per scope")
def get_consents(kapp: KappDep, actor: ActorDep, case_number: CaseNumber) -> list[m.Consent]:
    return [m.Consent.model_validate(c) for c in consents_of(kapp, actor, case_number)]


@router.post("/cases/{case_number}/consents", status_code=201, response_model=m.ConsentRecorded,
             responses=responses(404),
             summary="Record that consent was asked, given, refused or withdrawn")
def post_consent(kapp: KappDep, actor: ActorDep, case_number: CaseNumber,
                 body: m.ConsentInput) -> m.ConsentRecorded:
    cid = record_consent(kapp, actor, case_number, body.scope, body.status, purpose=body.purpose,
                         categories=tuple(body.categories), form=body.form,
                         recipient=body.recipient, medical_explicit=body.medical_explicit)
    return m.ConsentRecorded(id=cid)
