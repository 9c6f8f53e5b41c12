"""The one shape of an outbox row, for every writer (steps, the sweep, invitations, the digest).

Privacy lives here: the context a row carries is what ``notify.render.MailContext`` accepts (the
kind of message, a link to log in, and for some kinds a count or calendar facts), never case
data. A role nobody holds gives a ``no_recipient`` row, which the operator sees as an incident.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any


def outbox_row(*, template: str, role: str, user_id: int | None, address: str,
               case_id: int | None, context: Mapping[str, Any], now: datetime,
               message_id: str | None = None,
               missing: str = "nobody holds role {role} for this case") -> dict[str, Any]:
    """An outbox row for one recipient (``address`` empty: nobody to send it to)."""
    return {
        "message_id": message_id or f"<{uuid.uuid4().hex}@kovflow>", "case_id": case_id,
        "template": template, "recipient_role": role, "recipient_user_id": user_id,
        "to_address": address, "context": dict(context),
        "status": "pending" if address else "no_recipient", "attempts": 0,
        "created_at": now, "next_attempt_at": now, "sent_at": None,
        "last_error": "" if address else missing.format(role=role)}


def recipients_or_nobody(found: list[tuple[int, str]]) -> list[tuple[int | None, str]]:
    """The recipients, or one empty target so that a missing role becomes a visible row."""
    return [*found] or [(None, "")]
