"""Response bodies of the coordinator's reports (stalled-case audit, monitor) and consultations.

They mirror ``kovflow.reports.stalled.Finding``/``StalledReport``, ``MonitorReport.to_dict()`` and
``kovflow.services.consultation.ConsultationItem``, so the OpenAPI document says exactly what a
client gets. None of them carries a name or a birth date.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from kovflow.web.api.models import Text


class Finding(BaseModel):
    case_number: str = Field(description="The case number; for the rollout route the location code")
    location: str
    wijk: str
    organisation: str
    route: str
    route_title: str
    state: str
    state_label: str
    since: datetime
    werkdagen: int
    role: str = Field(description="The responsible role")
    person: str = Field(description="The responsible staff member's username, if assigned")
    person_name: str
    rule: str
    reason: str
    severity: int = Field(description="3 hoog, 2 middel, 1 laag")
    severity_label: str
    next_step: str


class StalledReport(BaseModel):
    generated_at: datetime
    findings: list[Finding]
    counts: dict[str, int] = Field(description="Findings per rule code")
    confidential: int = Field(description="Meldcode route instances with a finding (a count only)")
    complete: bool = Field(description="False when limit cut the list")


class Share(BaseModel):
    count: int
    base: int
    percent: float | None


class WaitingTime(BaseModel):
    count: int
    median_days: float | None
    mean_days: float | None


class MonitorFigures(BaseModel):
    trajecten: int
    ve: Share
    disciplines: dict[str, Share]
    leavers: int
    uitstroom: dict[str, Share]
    wachttijd_plaatsing: WaitingTime
    overbrugging_wachttijd: WaitingTime
    overbrugging_wachtend: int
    taakuren_trajecten: int
    taakuren_uren: float


class MonitorGroup(BaseModel):
    key: str
    label: str
    figures: MonitorFigures


class Change(BaseModel):
    indicator: str
    label: str
    current: float | None
    previous: float | None
    delta: float | None
    unit: str


class MonitorPeriod(BaseModel):
    start: date
    end: date
    generated_at: datetime
    by: str | None
    total: MonitorFigures
    groups: list[MonitorGroup]
    changes: list[Change]


class MonitorReport(MonitorPeriod):
    previous: MonitorPeriod | None = Field(description="The comparison period, when asked")


class Consultation(BaseModel):
    """An anonymous question: age band and wijk, never the case number or the child."""

    id: int
    age_band: str
    wijk: str
    to_role: str
    question: str
    asked_at: datetime
    answered_at: datetime | None
    advice: str


class ConsultationAsk(BaseModel):
    to_role: str = Field(pattern=r"^(wijkcoach|jgz)$")
    question: Text = Field(min_length=1, description="Geen naam, geboortedatum of casusnummer")


class ConsultationAnswer(BaseModel):
    advice: Text = Field(min_length=1)


class Asked(BaseModel):
    id: int
