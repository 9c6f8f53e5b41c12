"""Tasks, the access report, the coordinator's reports and the anonymous consultations.

Like ``cases.py``, handlers only translate; the services and reports decide who may see what
(the audit and the monitor refuse everyone but the coordinator and functioneel beheer with 403:
that refusal is about the role, not about a case, so it reveals nothing).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from kovflow.services import my_tasks
from kovflow.web.api import models as m
from kovflow.web.api import report_models as rm
from kovflow.web.api.auth import ActorDep, KappDep
from kovflow.web.api.cases import CaseNumber
from kovflow.web.api.problems import responses

router = APIRouter()


@router.get("/tasks", response_model=list[m.Task], responses=responses(), tags=["tasks"],
            summary="Open tasks of the actor and their roles, oldest due first")
def get_tasks(kapp: KappDep, actor: ActorDep) -> list[m.Task]:
    return [m.Task.model_validate(t) for t in my_tasks(kapp, actor)]


@router.get("/cases/{case_number}/access-report", response_model=list[m.AccessRecord],
            responses=responses(400, 404), tags=["audit"],
            summary="Who accessed the case, in Dutch (functioneel beheer)")
def get_access_report(kapp: KappDep, actor: ActorDep,
                      case_number: CaseNumber) -> list[m.AccessRecord]:
    from kovflow.services.access_report import access_report

    return [m.AccessRecord.model_validate(r) for r in access_report(kapp, actor, case_number)]


@router.get("/audit/stalled", response_model=rm.StalledReport, responses=responses(400, 403),
            tags=["audit"], summary="The stalled-case audit (coordinator, functioneel beheer)")
def get_stalled(
    kapp: KappDep, actor: ActorDep,
    location: Annotated[str | None, Query(pattern=m.CODE)] = None,
    wijk: Annotated[str | None, Query(max_length=100, pattern=m.SINGLE_LINE)] = None,
    organisation: Annotated[str | None, Query(max_length=100, pattern=m.SINGLE_LINE)] = None,
    route: Annotated[str | None, Query(pattern=m.NAME)] = None,
    rule: Annotated[str | None, Query(pattern=m.NAME)] = None,
    min_werkdagen: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> rm.StalledReport:
    from kovflow.reports.stalled import StalledFilters, find_stalled

    report = find_stalled(kapp, actor, StalledFilters(
        location=location, wijk=wijk, organisation=organisation, route=route, rule=rule,
        min_werkdagen=min_werkdagen, limit=limit))
    return rm.StalledReport(
        generated_at=report.generated_at,
        findings=[rm.Finding.model_validate(f, from_attributes=True) for f in report.findings],
        counts=report.counts, confidential=report.confidential, complete=report.complete)


@router.get("/monitor", response_model=rm.MonitorReport, responses=responses(400, 403),
            tags=["audit"], summary="The monitor passende kinderopvang for a period")
def get_monitor(
    kapp: KappDep, actor: ActorDep,
    start: Annotated[date, Query(alias="from", description="First day (inclusive)")],
    end: Annotated[date, Query(alias="to", description="Last day (inclusive)")],
    by: Annotated[Literal["location", "wijk", "organisation"] | None, Query()] = None,
    compare_from: Annotated[date | None, Query(description="Comparison period: first day")] = None,
    compare_to: Annotated[date | None, Query(description="Comparison period: last day")] = None,
) -> rm.MonitorReport:
    from kovflow.errors import InvalidInput
    from kovflow.reports.monitor import compute_monitor

    if (compare_from is None) != (compare_to is None):
        raise InvalidInput("a comparison period needs both compare_from and compare_to")
    compare = (compare_from, compare_to) if compare_from and compare_to else None
    report = compute_monitor(kapp, actor, start, end, by=by, compare=compare)
    return rm.MonitorReport.model_validate(report.to_dict())


@router.get("/consultations", response_model=list[rm.Consultation], responses=responses(),
            tags=["consultations"],
            summary="The consultatie inbox of a wijkcoach or JGZ nurse (anonymous questions)")
def get_inbox(kapp: KappDep, actor: ActorDep) -> list[rm.Consultation]:
    from kovflow.services.consultation import inbox

    return [rm.Consultation.model_validate(i, from_attributes=True) for i in inbox(kapp, actor)]


@router.post("/consultations/{consultation_id}/answer", status_code=204,
             responses=responses(404), tags=["consultations"],
             summary="Answer a question in the inbox; the asker is told by mail")
def post_answer(kapp: KappDep, actor: ActorDep,
                consultation_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                body: rm.ConsultationAnswer) -> None:
    from kovflow.services.consultation import answer

    answer(kapp, actor, consultation_id, body.advice)


@router.get("/cases/{case_number}/consultations", response_model=list[rm.Consultation],
            responses=responses(404), tags=["consultations"],
            summary="The actor's own anonymous consultations about the case, with the advice")
def get_case_consultations(kapp: KappDep, actor: ActorDep,
                           case_number: CaseNumber) -> list[rm.Consultation]:
    from kovflow.services.consultation import for_case

    return [rm.Consultation.model_validate(i, from_attributes=True)
            for i in for_case(kapp, actor, case_number)]


@router.post("/cases/{case_number}/consultations", status_code=201, response_model=rm.Asked,
             responses=responses(404), tags=["consultations"],
             summary="Ask the location's wijkcoach or JGZ nurse anonymously about the case")
def post_consultation(kapp: KappDep, actor: ActorDep, case_number: CaseNumber,
                      body: rm.ConsultationAsk) -> rm.Asked:
    from kovflow.services.consultation import ask

    return rm.Asked(id=ask(kapp, actor, case_number, body.to_role, body.question))
