"""Accounts: passwords, login with throttling, browser sessions, API tokens for machines.

Used by the web app (sessions, CSRF), the API (tokens) and the CLI (``kovflow users password|
token|tokens|revoke-token``). The actor of a session or token is built exactly like
``admin.resolve_actor`` builds the CLI's ``--as`` user, so the access policy treats them alike.

Privacy and security choices:
- passwords are argon2id hashes; the hash never leaves ``store.account_repo``;
- session and API tokens are random 256-bit values; the database holds only their SHA-256;
- unknown user, wrong password and inactive account get the same answer, in the same time;
- login attempts store digests of the typed username and the client address, never the values,
  and are removed once throttling no longer needs them (window + lockout, 30 minutes by default);
- the log carries ids and outcomes only (never a username typed at login, an address or a secret).

Argon2 runs outside the database transactions, so a slow hash never holds SQLite's write lock.
"""

from __future__ import annotations

import hmac
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kovflow.actor import Actor
from kovflow.auth import passwords, tokens
from kovflow.auth.settings import AuthSettings, auth_settings
from kovflow.auth.throttle import locked_until, lookback
from kovflow.errors import InvalidInput, KovflowError, NotFound
from kovflow.services.admin import _require_admin
from kovflow.services.context import App
from kovflow.store import account_repo, repo
from kovflow.store.db import Connection, read, write

log = logging.getLogger("kovflow.auth")

# A session's last-seen moment is written at most once a minute: a write transaction per page
# request would queue every reader behind SQLite's write lock; the idle timeout loses < 1 minute.
TOUCH_EVERY = timedelta(minutes=1)
LABEL_MAX = 100


class NotAuthenticated(KovflowError):
    """Niet ingelogd, of de sessie is verlopen: log opnieuw in."""

    exit_code = 2


class LoginRefused(KovflowError):
    """Onbekende gebruikersnaam of wachtwoord."""

    exit_code = 2


class LoginThrottled(LoginRefused):
    """Too many failed logins for this account or address; ``retry_after_seconds`` says when."""

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        minutes = max(1, math.ceil(retry_after_seconds / 60))
        super().__init__(f"Te veel mislukte inlogpogingen. Probeer het over {minutes} "
                         f"{'minuut' if minutes == 1 else 'minuten'} opnieuw.")


@dataclass(frozen=True)
class Session:
    """A live browser session as the web layer needs it."""

    # Secrets stay out of repr(), so a logged or printed Session cannot leak them.
    token: str = field(repr=False)  # opaque, for the cookie; only its hash is stored
    csrf_token: str = field(repr=False)
    actor: Actor
    expires_at: datetime  # the earlier of idle and absolute expiry


def _actor(row: Any) -> Actor:
    # Exactly as services.admin.resolve_actor: the policy must see web and CLI users alike.
    return Actor(row.username, frozenset(row.roles.split()), int(row.user_id))


def _may_manage(actor: Actor, username: str) -> bool:
    return actor.operator or "admin" in actor.roles or actor.username == username


# --- passwords -------------------------------------------------------------------------------

def set_password(app: App, actor: Actor, username: str, password: str) -> None:
    """Set a user's password (their own, or anyone's for admin/operator); ends their sessions."""
    cfg = auth_settings(app.settings)
    if not _may_manage(actor, username):
        _require_admin(actor, "set the password of another user")
    passwords.check_rule(username, password)
    hashed = passwords.hash_password(cfg, password)  # slow: before the transaction

    def work(conn: Connection) -> int:
        user = repo.user_by_name(conn, username)
        if user is None:
            raise NotFound("user", username)
        now = app.clock.now()
        account_repo.set_password_hash(conn, int(user.id), hashed, now)
        # A new password closes every door the old one opened (e.g. a stolen session).
        account_repo.end_user_sessions(conn, int(user.id), now)
        return int(user.id)

    user_id = write(app.engine, work)
    log.info("password set for user_id=%d by %s", user_id, _who(actor))


def _who(actor: Actor) -> str:
    return "operator" if actor.user_id is None else f"user_id={actor.user_id}"


# --- login -----------------------------------------------------------------------------------

def _throttled_until(conn: Connection, cfg: AuthSettings, account_key: str, address_key: str,
                     now: datetime) -> datetime | None:
    since = now - lookback(cfg.window, cfg.lockout)
    # A successful login of the account clears its count (not its address's: an attacker could
    # otherwise reset the count of their address by logging in to an account of their own).
    # (by id, not by moment: with a fixed clock a failure and a success share their moment)
    success_id = account_repo.last_success(conn, account_key, since)
    by_account = account_repo.failures_since(conn, "account_hash", account_key, since, success_id)
    by_address = account_repo.failures_since(conn, "address_hash", address_key, since)
    ends = [end for end in (locked_until(f, cfg.max_failures, cfg.window, cfg.lockout)
                            for f in (by_account, by_address)) if end is not None and end > now]
    return max(ends) if ends else None


def login(app: App, username: str, password: str, address: str,
          previous_token: str | None = None) -> Session:
    """Check the password and open a new session (the previous one, if given, is ended).

    Raises ``LoginThrottled`` when the account name or the address is locked (even with the
    right password) and ``LoginRefused`` for every other failure, with one message.
    """
    cfg = auth_settings(app.settings)
    now = app.clock.now()
    account_key, address_key = tokens.account_digest(username), tokens.address_digest(address)
    with read(app.engine) as conn:
        until = _throttled_until(conn, cfg, account_key, address_key, now)
        user = repo.user_by_name(conn, username)
        stored = account_repo.password_hash(conn, int(user.id)) if user is not None else None
    user_id = int(user.id) if user is not None else None

    def record(outcome: str) -> None:
        def work(conn: Connection) -> None:
            account_repo.add_attempt(conn, now, account_key, address_key, user_id, outcome)
            account_repo.purge_attempts(conn, now - lookback(cfg.window, cfg.lockout))
        write(app.engine, work)

    if until is not None:
        record("throttled")
        log.info("login throttled (%s)", _subject(user_id))
        raise LoginThrottled(max(1, math.ceil((until - now).total_seconds())))

    if user is None or not user.active or stored is None:
        passwords.spend_verify_time(cfg, password)
        stored = None
    if stored is None or not passwords.verify(cfg, stored, password):
        record("failed")
        log.info("login failed (%s)", _subject(user_id))
        raise LoginRefused()
    return _open_session(app, cfg, now, user, stored, password, account_key, address_key,
                         previous_token)


def _open_session(app: App, cfg: AuthSettings, now: datetime, user: Any, stored: str,
                  password: str, account_key: str, address_key: str,
                  previous_token: str | None) -> Session:
    """The second half of a successful login: record it, rotate and open the session."""
    user_id = int(user.id)
    rehashed = (passwords.hash_password(cfg, password)
                if passwords.needs_rehash(cfg, stored) else None)
    token, csrf = tokens.new_token(), tokens.new_token()

    def open_session(conn: Connection) -> None:
        account_repo.add_attempt(conn, now, account_key, address_key, user_id, "ok")
        account_repo.purge_attempts(conn, now - lookback(cfg.window, cfg.lockout))
        account_repo.purge_sessions(conn, now - cfg.absolute, now)
        if previous_token:
            account_repo.end_session(conn, tokens.digest(previous_token), now)
        if rehashed is not None:
            account_repo.set_password_hash(conn, user_id, rehashed, now)
        account_repo.add_session(conn, user_id, tokens.digest(token), csrf, now)

    write(app.engine, open_session)
    log.info("login ok user_id=%d%s", user_id, " (password rehashed)" if rehashed else "")
    return Session(token, csrf, _actor_of(user), min(now + cfg.idle, now + cfg.absolute))


def _subject(user_id: int | None) -> str:
    return "unknown account" if user_id is None else f"user_id={user_id}"


def _actor_of(user: Any) -> Actor:
    return Actor(user.username, frozenset(user.roles.split()), int(user.id))


# --- sessions --------------------------------------------------------------------------------

def session_for(app: App, token: str) -> Session:
    """The live session of ``token``; checks idle and absolute timeouts, refreshes last-seen."""
    cfg = auth_settings(app.settings)
    now = app.clock.now()
    if not token:
        raise NotAuthenticated()
    with read(app.engine) as conn:
        row = account_repo.session_by_hash(conn, tokens.digest(token))
    if row is None or not row.active:
        raise NotAuthenticated()
    absolute_end = row.created_at + cfg.absolute
    if now >= min(row.last_seen_at + cfg.idle, absolute_end):
        write(app.engine, lambda conn: account_repo.end_session_by_id(conn, int(row.id), now))
        log.info("session expired user_id=%d", int(row.user_id))
        raise NotAuthenticated()
    last_seen = row.last_seen_at
    if now - last_seen >= TOUCH_EVERY:
        write(app.engine, lambda conn: account_repo.touch_session(conn, int(row.id), now))
        last_seen = now
    return Session(token, str(row.csrf_token), _actor(row), min(last_seen + cfg.idle, absolute_end))


def csrf_ok(session: Session, submitted: str | None) -> bool:
    """True when a form's CSRF field matches the session's token (constant-time comparison)."""
    return bool(submitted) and hmac.compare_digest(session.csrf_token.encode(),
                                                   (submitted or "").encode())


def logout(app: App, token: str) -> None:
    """End the session of ``token``; an unknown or already ended token is no error."""
    now = app.clock.now()
    if token and write(app.engine,
                       lambda conn: account_repo.end_session(conn, tokens.digest(token), now)):
        log.info("logout")


# --- API tokens ------------------------------------------------------------------------------

def create_api_token(app: App, actor: Actor, username: str, label: str) -> tuple[int, str]:
    """A new API token for ``username`` (admin/operator only): (id, the token, shown only now)."""
    _require_admin(actor, "make API tokens")
    label = label.strip()
    if not label:
        raise InvalidInput("an API token needs a label (--label), e.g. the system that uses it")
    if len(label) > LABEL_MAX:
        raise InvalidInput(f"the label is {len(label)} characters; at most {LABEL_MAX}")
    token = tokens.new_api_token()

    def work(conn: Connection) -> int:
        user = repo.user_by_name(conn, username)
        if user is None:
            raise NotFound("user", username)
        if not user.active:
            raise InvalidInput(f"user {username!r} is not active; a token would never work")
        return account_repo.add_api_token(conn, int(user.id), tokens.digest(token), label,
                                          app.clock.now(), actor.username)

    token_id = write(app.engine, work)
    log.info("api token %d created by %s", token_id, _who(actor))
    return token_id, token


def token_actor(app: App, token: str) -> Actor:
    """The user an API token acts for; refuses unknown, revoked and inactive-user tokens."""
    now = app.clock.now()
    if not token:
        raise NotAuthenticated()
    with read(app.engine) as conn:
        row = account_repo.api_token_by_hash(conn, tokens.digest(token))
    if row is None or not row.active:
        raise NotAuthenticated()
    # Like a session's last-seen, written at most once a minute (see TOUCH_EVERY).
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        write(app.engine, lambda conn: account_repo.mark_api_token_used(conn, int(row.id), now))
    return _actor(row)


def revoke_api_token(app: App, actor: Actor, token_id: int) -> None:
    """Revoke a token at once (admin/operator only); unknown or already revoked: an error."""
    _require_admin(actor, "revoke API tokens")

    def work(conn: Connection) -> None:
        row = account_repo.api_token_by_id(conn, token_id)
        if row is None:
            raise NotFound("API token", token_id)
        if row.revoked_at is not None:
            raise InvalidInput(f"API token {token_id} was revoked already "
                               f"({row.revoked_at.isoformat(timespec='seconds')})")
        account_repo.revoke_api_token(conn, token_id, app.clock.now())

    write(app.engine, work)
    log.info("api token %d revoked by %s", token_id, _who(actor))


def list_api_tokens(app: App, actor: Actor, username: str | None = None) -> list[dict[str, Any]]:
    """API tokens (never their secrets): all or one user's for admin/operator, else one's own."""
    if username is None and not (actor.operator or "admin" in actor.roles):
        username = actor.username
    if username is not None and not _may_manage(actor, username):
        _require_admin(actor, "list the API tokens of another user")
    with read(app.engine) as conn:
        user_id = None
        if username is not None:
            user = repo.user_by_name(conn, username)
            if user is None:
                raise NotFound("user", username)
            user_id = int(user.id)
        rows = account_repo.list_api_tokens(conn, user_id)
    return [{"id": int(r.id), "username": r.username, "label": r.label,
             "created_at": _iso(r.created_at), "created_by": r.created_by,
             "last_used_at": _iso(r.last_used_at), "revoked_at": _iso(r.revoked_at),
             "active": r.revoked_at is None} for r in rows]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


# --- housekeeping ----------------------------------------------------------------------------

def purge_expired(app: App) -> dict[str, int]:
    """Remove login attempts throttling no longer needs and sessions past any use.

    Login does this too; the worker may call it so that nothing lingers on a quiet installation.
    """
    cfg = auth_settings(app.settings)
    now = app.clock.now()

    def work(conn: Connection) -> dict[str, int]:
        return {"login_attempts": account_repo.purge_attempts(
                    conn, now - lookback(cfg.window, cfg.lockout)),
                "sessions": account_repo.purge_sessions(conn, now - cfg.absolute, now)}

    return write(app.engine, work)
