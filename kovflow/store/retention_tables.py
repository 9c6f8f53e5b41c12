"""Tables of retention: what was removed, when, by which rule (no personal data).

One row per case whose personal data ``kovflow retention run`` removed. It keeps the case id and
number (pseudonymous: they name no child), the rule and term that applied, counts of the removed
rows, and the head of the case's event chain at removal (``chain``, ``chain_seq``,
``chain_hash``). ``access_seq`` points at the access-log record written in the same transaction:
the access log is hash-chained and anchored, so ``audit verify`` accepts a chain as removed by
retention only when both records agree, and still reports any deletion nobody recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from kovflow.store.tables import Deadline, Outbox, Task


class RetentionRecord(SQLModel, table=True):
    __tablename__ = "retention_records"

    id: int | None = Field(default=None, primary_key=True)
    # No foreign key: the case row is gone. Not unique either: SQLite may hand a removed case's
    # id out again, and a second removal must still be recorded.
    case_id: int = Field(index=True)
    case_number: str = Field(max_length=40)
    chain: str = Field(max_length=40, index=True)  # "case:<id>"
    chain_seq: int  # the last event of the chain at removal (0: it had none)
    chain_hash: str = Field(max_length=64)
    rule: str = Field(max_length=120)  # e.g. "opschaling_beschikking.afgerond" or "default"
    term: str = Field(max_length=30)  # e.g. "20 years"
    term_start: datetime  # the last change of the file: last closing or last event
    term_end: datetime
    removed_at: datetime
    removed_by: str = Field(max_length=100)
    access_seq: int  # the witnessing access-log record
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# Removal finds a case's rows by their case id (``retention_repo``); these tables had no index on
# it, so every removed case cost a scan of the whole outbox, task and deadline tables.
Index("ix_tasks_case_id", Task.__table__.c.case_id)  # type: ignore[attr-defined]
Index("ix_deadlines_case_id", Deadline.__table__.c.case_id)  # type: ignore[attr-defined]
Index("ix_outbox_case_id", Outbox.__table__.c.case_id)  # type: ignore[attr-defined]
