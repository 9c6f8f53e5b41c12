"""The candidate query of case search (``services.cases.search_cases``), in SQLAlchemy Core.

It returns candidates only: which of them the searcher may find is the service layer's decision
(policy, compartments, consent), made per case.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, or_, select

from kovflow.store.repo import cases


def candidate_cases(conn: Connection, text: str, limit: int) -> Sequence[Row[Any]]:
    """Cases whose number is ``text`` or whose first name starts with it (case-insensitive)."""
    needle = text.strip().lower()
    prefix = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    q = (select(cases)
         .where(or_(func.lower(cases.c.case_number) == needle,
                    func.lower(cases.c.first_name).like(prefix, escape="\\")))
         .order_by(cases.c.id).limit(limit))
    return list(conn.execute(q))
