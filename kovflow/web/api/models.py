"""Request and response bodies of the API, as Pydantic models (they make the OpenAPI document).

Strings that reach the database refuse control characters (PostgreSQL cannot store NUL, and no
name or code needs them); free text keeps tabs and line breaks. Identifiers in paths have
patterns, so a malformed one is a 422 problem before any service runs.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

# Single-line text: no C0 control characters, no DEL.
SINGLE_LINE = r"^[^\x00-\x1f\x7f]*$"
# Free text: line breaks and tabs allowed, other control characters (NUL above all) not.
FREE_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
CASE_NUMBER = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
NAME = r"^[a-z][a-z0-9_]{0,63}$"  # route ids, triggers, scopes, roles, field names
CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$"  # location codes

Line = Annotated[str, StringConstraints(max_length=200, pattern=SINGLE_LINE)]
Text = Annotated[str, StringConstraints(max_length=10_000, pattern=FREE_TEXT)]
Name = Annotated[str, StringConstraints(pattern=NAME)]
Code = Annotated[str, StringConstraints(pattern=CODE)]
Scalar = Text | int | bool | None
FieldValue = Scalar | list[Text | int | bool]


# --- cases -----------------------------------------------------------------------------------


class CaseOpen(BaseModel):
    """Open a case for one child at one location (never a BSN)."""

    first_name: Annotated[str, StringConstraints(min_length=1, max_length=100,
                                                 pattern=SINGLE_LINE)]
    initial: Annotated[str, StringConstraints(max_length=5, pattern=SINGLE_LINE)] = ""
    birth_date: date
    location: Code = Field(examples=["ZON"])
    routes: list[Name] = Field(default_factory=lambda: ["plaatsing"], max_length=12)
    facts: dict[Name, bool] = Field(default_factory=dict,
                                    description="Referral facts, e.g. {\"jgz_zorgen\": true}")


class StartedRoute(BaseModel):
    route: str
    instance_id: int
    state: str


class CaseOpened(BaseModel):
    case_number: str
    started: list[StartedRoute]


class CaseSummary(BaseModel):
    """One case in a list: pseudonymous (no name, no birth date)."""

    case_number: str
    location: str
    routes: list[StartedRoute] = Field(description="The routes the actor may see, with their state")


class CaseList(BaseModel):
    items: list[CaseSummary]
    next_after: str | None = Field(None, description="Pass as ?after= for the next page")


class Participant(BaseModel):
    who: str = Field(description="User name or person; empty in a pseudonymised record")
    role: str
    organisation: str


class Step(BaseModel):
    trigger: str
    label: str


class Instance(BaseModel):
    id: int
    route: str
    version: int
    title: str
    state: str
    state_label: str
    revision: int = Field(description="Send it back as If-Match: \"<revision>\" to take a step")
    closed: bool
    steps: list[Step] = Field(description="Steps available from the current state")


class OpenTask(BaseModel):
    role: str
    title: str
    due: str = Field(description="ISO date, empty when the task has no due date")


class Case(BaseModel):
    """A case as the actor may see it.

    The coordinator's pseudonymised record leaves the child's data and the people empty; a
    partner organisation sees only what the parents' consents share, and ``withheld`` says in
    Dutch which data categories are not shared.
    """

    case_number: str
    first_name: str
    initial: str
    birth_date: date | None
    location: str
    pseudonymised: bool
    participants: list[Participant]
    routes: list[Instance]
    open_tasks: list[OpenTask]
    withheld: list[str] = Field(description="Data categories not shared with this reader")


# --- steps -----------------------------------------------------------------------------------


class StepInput(BaseModel):
    """The data of a step: field name -> value (dates as JJJJ-MM-DD, lists as arrays)."""

    data: dict[Name, FieldValue] = Field(default_factory=dict,
                                         examples=[{"intake_datum": "2026-11-30"}])


class StartInput(StepInput):
    """The data of the route's start fields."""


class Closed(BaseModel):
    route: str
    instance_id: int


class StepResult(BaseModel):
    case_number: str | None
    instance_id: int
    route: str
    trigger: str
    from_state: str
    to_state: str
    revision: int
    started: list[StartedRoute]
    closed: list[Closed]


# --- history, consents, tasks, access ---------------------------------------------------------


class Event(BaseModel):
    seq: int
    at: str
    actor: str
    kind: str
    route: str
    version: int
    trigger: str
    from_: str = Field(alias="from")
    to: str
    data: dict[str, Any]

    model_config = {"populate_by_name": True}


class ConsentInput(BaseModel):
    scope: Name = Field(examples=["kinderopvang_naar_wijkcoach"])
    status: Annotated[str, Field(pattern=r"^(gevraagd|gegeven|geweigerd|ingetrokken)$")]
    purpose: Line = ""
    categories: list[Name] = Field(default_factory=list, max_length=20)
    form: Line = ""
    recipient: Line = ""
    medical_explicit: bool = False


class ConsentRecorded(BaseModel):
    id: int


class Consent(BaseModel):
    scope: str
    status: str
    form: str
    transferred: bool
    betekenis: str = Field(description="What the status means for sharing, in Dutch")


class Task(BaseModel):
    task: int
    case: str | None
    route: str
    state: str
    role: str
    title: str
    due: str | None


class AccessRecord(BaseModel):
    at: str
    actor: str
    action: str
    what: str
    outcome: str
    zin: str = Field(description="The record as a Dutch sentence, for the parents")


def dump(model: type[BaseModel], value: Any) -> Any:
    """Validate a service's plain value against a response model (the type checker sees Any)."""
    return model.model_validate(value, from_attributes=True)
