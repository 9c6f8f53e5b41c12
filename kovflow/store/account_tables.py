"""Tables of the accounts: password credentials, sessions, login attempts, API tokens.

Nothing here holds a secret in a form that can be used: passwords are argon2id hashes, session
and API tokens are SHA-256 digests of random values, client addresses and the usernames typed at
login are SHA-256 digests (kept only as long as throttling needs them, see ``services.accounts``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class Credential(SQLModel, table=True):
    """A user's local password, as an argon2id hash string (parameters and salt included)."""

    __tablename__ = "credentials"

    user_id: int = Field(primary_key=True, foreign_key="users.id")
    password_hash: str = Field(max_length=200)
    updated_at: datetime


class LoginSession(SQLModel, table=True):
    """A browser session: only the SHA-256 of the cookie's token is stored."""

    __tablename__ = "sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    # The CSRF token is stored as is: it is useless without the session cookie, whose token is
    # not recoverable from this table, and the web forms must be able to show it again.
    csrf_token: str = Field(max_length=64)
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None = None


class LoginAttempt(SQLModel, table=True):
    """One login attempt, for throttling per account name and per client address.

    ``account_hash`` digests the username as typed (so unknown names are throttled exactly like
    known ones: no enumeration), ``address_hash`` the client address; ``user_id`` is set when the
    name belongs to an account. Rows older than the throttling window are removed at login.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_account_at", "account_hash", "at"),
        Index("ix_login_attempts_address_at", "address_hash", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    account_hash: str = Field(max_length=64)
    address_hash: str = Field(max_length=64)
    user_id: int | None = Field(default=None, foreign_key="users.id")
    outcome: str = Field(max_length=10)  # ok | failed | throttled


class ApiToken(SQLModel, table=True):
    """A machine's bearer token for a user: shown once, stored as its SHA-256."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    label: str = Field(max_length=100)
    created_at: datetime
    created_by: str = Field(max_length=100)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
