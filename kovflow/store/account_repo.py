"""Queries and writes of the account tables, in SQLAlchemy Core.

The password hash is read only by ``password_hash`` and written only by ``set_password_hash``;
it never leaves this layer in any other shape (no ``select *`` of ``credentials``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, or_, select, update

from kovflow.store.account_tables import ApiToken, Credential, LoginAttempt, LoginSession
from kovflow.store.repo import users

credentials = Credential.__table__  # type: ignore[attr-defined]
sessions = LoginSession.__table__  # type: ignore[attr-defined]
attempts = LoginAttempt.__table__  # type: ignore[attr-defined]
api_tokens = ApiToken.__table__  # type: ignore[attr-defined]

_ACTOR_COLUMNS = (users.c.id.label("user_id"), users.c.username, users.c.roles, users.c.active)


# --- credentials -----------------------------------------------------------------------------

def password_hash(conn: Connection, user_id: int) -> str | None:
    q = select(credentials.c.password_hash).where(credentials.c.user_id == user_id)
    value = conn.execute(q).scalar_one_or_none()
    return None if value is None else str(value)


def set_password_hash(conn: Connection, user_id: int, value: str, now: datetime) -> None:
    """Insert or replace the user's hash (one statement on both databases would need dialect
    specific upserts; the row is per user, so update-then-insert is race free enough here:
    the write transaction serialises writers on SQLite and the primary key guards PostgreSQL)."""
    done = conn.execute(update(credentials).where(credentials.c.user_id == user_id)
                        .values(password_hash=value, updated_at=now)).rowcount
    if not done:
        conn.execute(insert(credentials).values(user_id=user_id, password_hash=value,
                                                updated_at=now))


# --- login attempts --------------------------------------------------------------------------

def add_attempt(conn: Connection, at: datetime, account_hash: str, address_hash: str,
                user_id: int | None, outcome: str) -> None:
    conn.execute(insert(attempts).values(at=at, account_hash=account_hash,
                                         address_hash=address_hash, user_id=user_id,
                                         outcome=outcome))


def failures_since(conn: Connection, column: str, key: str, since: datetime,
                   after_id: int = 0) -> list[datetime]:
    """Moments of failed attempts of one key (``account_hash`` or ``address_hash``) after
    ``since`` and recorded after attempt ``after_id``."""
    col = attempts.c[column]
    q = (select(attempts.c.at)
         .where(col == key, attempts.c.at > since, attempts.c.id > after_id,
                attempts.c.outcome == "failed")
         .order_by(attempts.c.at))
    return [r.at for r in conn.execute(q)]


def last_success(conn: Connection, account_hash: str, since: datetime) -> int:
    """The id of the account name's last successful attempt after ``since`` (0: none)."""
    q = (select(func.max(attempts.c.id))
         .where(attempts.c.account_hash == account_hash, attempts.c.at > since,
                attempts.c.outcome == "ok"))
    return int(conn.execute(q).scalar_one() or 0)


def purge_attempts(conn: Connection, before: datetime) -> int:
    return int(conn.execute(delete(attempts).where(attempts.c.at < before)).rowcount)


# --- sessions --------------------------------------------------------------------------------

def add_session(conn: Connection, user_id: int, token_hash: str, csrf_token: str,
                now: datetime) -> None:
    conn.execute(insert(sessions).values(user_id=user_id, token_hash=token_hash,
                                         csrf_token=csrf_token, created_at=now,
                                         last_seen_at=now))


def session_by_hash(conn: Connection, token_hash: str) -> Any:
    """The live session with its user's actor columns (a Row; None when unknown or ended)."""
    q = (select(sessions.c.id, sessions.c.csrf_token, sessions.c.created_at,
                sessions.c.last_seen_at, *_ACTOR_COLUMNS)
         .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
         .where(sessions.c.token_hash == token_hash, sessions.c.ended_at.is_(None)))
    return conn.execute(q).first()


def touch_session(conn: Connection, session_id: int, now: datetime) -> None:
    conn.execute(update(sessions).where(sessions.c.id == session_id).values(last_seen_at=now))


def end_session(conn: Connection, token_hash: str, now: datetime) -> bool:
    result = conn.execute(update(sessions)
                          .where(sessions.c.token_hash == token_hash, sessions.c.ended_at.is_(None))
                          .values(ended_at=now))
    return bool(result.rowcount)


def end_session_by_id(conn: Connection, session_id: int, now: datetime) -> None:
    conn.execute(update(sessions).where(sessions.c.id == session_id).values(ended_at=now))


def end_user_sessions(conn: Connection, user_id: int, now: datetime) -> int:
    result = conn.execute(update(sessions)
                          .where(sessions.c.user_id == user_id, sessions.c.ended_at.is_(None))
                          .values(ended_at=now))
    return int(result.rowcount)


def purge_sessions(conn: Connection, created_before: datetime, ended_before: datetime) -> int:
    """Remove sessions past any possible use: created before the absolute timeout, or ended."""
    result = conn.execute(delete(sessions).where(or_(
        sessions.c.created_at < created_before, sessions.c.ended_at < ended_before)))
    return int(result.rowcount)


# --- API tokens ------------------------------------------------------------------------------

def add_api_token(conn: Connection, user_id: int, token_hash: str, label: str, now: datetime,
                  created_by: str) -> int:
    result = conn.execute(insert(api_tokens).returning(api_tokens.c.id).values(
        user_id=user_id, token_hash=token_hash, label=label, created_at=now,
        created_by=created_by))
    return int(result.scalar_one())


def api_token_by_hash(conn: Connection, token_hash: str) -> Any:
    """The unrevoked token with its user's actor columns."""
    q = (select(api_tokens.c.id, api_tokens.c.last_used_at, *_ACTOR_COLUMNS)
         .select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id))
         .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None)))
    return conn.execute(q).first()


def api_token_by_id(conn: Connection, token_id: int) -> Row[Any] | None:
    q = select(api_tokens.c.id, api_tokens.c.revoked_at).where(api_tokens.c.id == token_id)
    return conn.execute(q).first()


def mark_api_token_used(conn: Connection, token_id: int, now: datetime) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now))


def revoke_api_token(conn: Connection, token_id: int, now: datetime) -> bool:
    result = conn.execute(update(api_tokens)
                          .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                          .values(revoked_at=now))
    return bool(result.rowcount)


def list_api_tokens(conn: Connection, user_id: int | None = None) -> Sequence[Any]:
    """Tokens without their digests (nothing secret), oldest first."""
    q = (select(api_tokens.c.id, users.c.username, api_tokens.c.label, api_tokens.c.created_at,
                api_tokens.c.created_by, api_tokens.c.last_used_at, api_tokens.c.revoked_at)
         .select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id))
         .order_by(api_tokens.c.id))
    if user_id is not None:
        q = q.where(api_tokens.c.user_id == user_id)
    return conn.execute(q).all()
