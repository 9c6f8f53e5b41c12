"""Tables of the anonymous consultation (anoniem overleg, ROUTES.md "Concepts").

A professional of a case asks the location's wijkcoach or JGZ nurse a question. The row keeps the
case (``case_id``) for the asker only; what the consulted party is shown is copied here at asking
time and holds nothing that identifies the child: an age band, the wijk of the location and the
question text the asker wrote. The consulted party is found by role and location
(``to_role``, ``location_id``), never by the case.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class Consultation(SQLModel, table=True):
    __tablename__ = "consultations"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)  # for the asker's case view only
    location_id: int = Field(foreign_key="locations.id", index=True)  # whose wijkcoach/JGZ
    asked_by_user_id: int = Field(foreign_key="users.id")
    to_role: str = Field(max_length=40)  # wijkcoach | jgz
    age_band: str = Field(max_length=20)  # e.g. "2-3 jaar"
    wijk: str = Field(default="", max_length=100)
    question: str = Field(max_length=4000)
    asked_at: datetime
    answered_at: datetime | None = None
    answered_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    advice: str = Field(default="", max_length=4000)
