"""Queries and writes of the anonymous consultation, in SQLAlchemy Core.

The consulted party's queries select by role and location only and never return the case
(``inbox_rows``); the asker's query selects by case and asking user (``asker_rows``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from kovflow.store.consultation_tables import Consultation
from kovflow.store.repo import insert_returning_id

consultations = Consultation.__table__  # type: ignore[attr-defined]

# What the consulted party may see of a consultation: no case, no asker.
_PUBLIC = (consultations.c.id, consultations.c.age_band, consultations.c.wijk,
           consultations.c.to_role, consultations.c.question, consultations.c.asked_at,
           consultations.c.answered_at, consultations.c.advice)


def add(conn: Connection, values: dict[str, Any]) -> int:
    return insert_returning_id(conn, consultations, values)


def inbox_rows(conn: Connection, location_id: int | None, roles: Iterable[str]
               ) -> Sequence[Row[Any]]:
    """Questions to one of ``roles`` at ``location_id``: unanswered first, then newest first."""
    role_list = list(roles)
    if location_id is None or not role_list:
        return []
    q = (select(*_PUBLIC)
         .where(consultations.c.location_id == location_id,
                consultations.c.to_role.in_(role_list))
         .order_by(consultations.c.answered_at.is_not(None), consultations.c.asked_at.desc(),
                   consultations.c.id.desc()))
    return list(conn.execute(q))


def by_id(conn: Connection, consultation_id: int) -> Row[Any] | None:
    return conn.execute(select(consultations)
                        .where(consultations.c.id == consultation_id)).first()


def asker_rows(conn: Connection, case_id: int, user_id: int) -> Sequence[Row[Any]]:
    """The consultations ``user_id`` asked about case ``case_id``, oldest first."""
    q = (select(*_PUBLIC).where(consultations.c.case_id == case_id,
                                consultations.c.asked_by_user_id == user_id)
         .order_by(consultations.c.asked_at, consultations.c.id))
    return list(conn.execute(q))


def record_advice(conn: Connection, consultation_id: int, user_id: int, advice: str,
                  now: datetime) -> bool:
    """Store the advice once; False when it was answered meanwhile (first answer wins)."""
    stmt = (update(consultations)
            .where(consultations.c.id == consultation_id, consultations.c.answered_at.is_(None))
            .values(advice=advice, answered_at=now, answered_by_user_id=user_id))
    return conn.execute(stmt).rowcount == 1


def location_wijk(conn: Connection, location_id: int) -> str:
    """The wijk of a location ("" when none was recorded)."""
    from kovflow.store.repo import locations

    row = conn.execute(select(locations.c.wijk).where(locations.c.id == location_id)).first()
    return "" if row is None else str(row.wijk)


def active_user_address(conn: Connection, user_id: int) -> list[tuple[int, str]]:
    """[(id, e-mail)] of an active user, [] otherwise (the asker of a consultation)."""
    from kovflow.store.repo import users

    row = conn.execute(select(users.c.id, users.c.email)
                       .where(users.c.id == user_id, users.c.active.is_(True))).first()
    return [] if row is None else [(int(row.id), str(row.email))]
