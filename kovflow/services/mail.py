"""Outgoing mail as the operator sees it: list the outbox, requeue dead letters (admin only)."""

from __future__ import annotations

from collections.abc import Sequence

from kovflow.actor import Actor
from kovflow.notify.outbox import OutboxEntry, list_outbox, retry_dead
from kovflow.services.admin import _require_admin
from kovflow.services.context import App


def outbox(app: App, actor: Actor, status: str | None = None, limit: int = 50) -> list[OutboxEntry]:
    """The newest outgoing messages with their delivery state (never their content)."""
    _require_admin(actor, "manage outgoing mail")
    return list(list_outbox(app, status, limit))


def requeue(app: App, actor: Actor, ids: Sequence[int] | None = None) -> int:
    """Put dead letters (all, or ``ids``) back in the queue; returns how many."""
    _require_admin(actor, "manage outgoing mail")
    return retry_dead(app, list(ids) if ids else None)
