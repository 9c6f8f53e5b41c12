"""Accounts on a real database: passwords, throttled login, sessions with timeouts, API tokens."""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from kovflow.actor import Actor
from kovflow.clock import FixedClock
from kovflow.errors import ConfigError, InvalidInput, NotFound
from kovflow.services import App, resolve_actor
from kovflow.services import accounts as acc
from tests.conftest import World

PASSWORD = "zonnebloem-2026!"
REFUSED = "Onbekende gebruikersnaam of wachtwoord."


def _rows(app: App, sql: str) -> list[Any]:
    with app.engine.connect() as conn:
        return list(conn.execute(text(sql)).all())


def _with_auth(app: App, **values: Any) -> None:
    app.settings = dataclasses.replace(app.settings, sections={"auth": values})


def _refusal(app: App, username: str, password: str, address: str = "10.0.0.1") -> str:
    with pytest.raises(acc.LoginRefused) as info:
        acc.login(app, username, password, address)
    assert not isinstance(info.value, acc.LoginThrottled)
    return str(info.value)


@pytest.fixture
def coach(world: World) -> Actor:
    acc.set_password(world.app, world.operator, "coach", PASSWORD)
    return world.coach


# --- passwords -------------------------------------------------------------------------------

def test_the_stored_hash_is_argon2id_in_its_own_table(app: App, coach: Actor) -> None:
    [(stored,)] = _rows(app, f"SELECT password_hash FROM credentials WHERE user_id = {coach.user_id}")
    m = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$.+", stored)
    assert m is not None
    memory, time_cost, parallelism = map(int, m.groups())
    assert memory >= 19456 and time_cost >= 2 and parallelism == 1
    users = _rows(app, "SELECT * FROM users")
    assert "argon2" not in repr(users) and PASSWORD not in repr(users)


def test_a_user_sets_their_own_password_and_nobody_else_s(world: World) -> None:
    acc.set_password(world.app, world.pm, "pm", "mijn eigen wachtwoord")
    assert acc.login(world.app, "pm", "mijn eigen wachtwoord", "10.0.0.1").actor == world.pm
    with pytest.raises(InvalidInput, match="role admin needed"):
        acc.set_password(world.app, world.pm, "coach", "een ander wachtwoord")
    assert _rows(world.app, f"SELECT * FROM credentials WHERE user_id = {world.coach.user_id}") == []
    acc.set_password(world.app, world.admin, "coach", "door beheer gezet")
    assert acc.login(world.app, "coach", "door beheer gezet", "10.0.0.1").actor == world.coach


def test_a_weak_password_or_unknown_user_changes_nothing(world: World, coach: Actor) -> None:
    before = _rows(world.app, "SELECT * FROM credentials")
    with pytest.raises(InvalidInput, match="minstens 12 tekens"):
        acc.set_password(world.app, world.operator, "coach", "kort")
    with pytest.raises(InvalidInput, match="niet gelijk zijn aan de gebruikersnaam"):
        acc.set_password(world.app, world.operator, "wijkcoach", "WIJKCOACH")
    with pytest.raises(NotFound):
        acc.set_password(world.app, world.operator, "niemand", "een lang wachtwoord")
    assert _rows(world.app, "SELECT * FROM credentials") == before


def test_a_new_password_ends_the_sessions_of_the_old_one(world: World, coach: Actor) -> None:
    session = acc.login(world.app, "coach", PASSWORD, "10.0.0.1")
    acc.set_password(world.app, world.coach, "coach", "een nieuw wachtwoord")
    with pytest.raises(acc.NotAuthenticated):
        acc.session_for(world.app, session.token)
    assert _refusal(world.app, "coach", PASSWORD) == REFUSED


def test_login_rehashes_when_the_configured_cost_grew(app: App, coach: Actor) -> None:
    query = f"SELECT password_hash FROM credentials WHERE user_id = {coach.user_id}"
    assert ",t=2," in _rows(app, query)[0][0]
    _with_auth(app, argon2_time_cost=3)
    acc.login(app, "coach", PASSWORD, "10.0.0.1")
    assert ",t=3," in _rows(app, query)[0][0]
    acc.login(app, "coach", PASSWORD, "10.0.0.1")  # and the new hash verifies


# --- login -----------------------------------------------------------------------------------

def test_login_gives_the_same_actor_as_the_cli(world: World, coach: Actor) -> None:
    session = acc.login(world.app, "coach", PASSWORD, "10.0.0.1")
    assert session.actor == resolve_actor(world.app, "coach") == world.coach
    assert acc.session_for(world.app, session.token).actor == world.coach
    assert session.token != session.csrf_token and len(session.csrf_token) >= 43


def test_csrf_check_and_no_secrets_in_repr(app: App, coach: Actor) -> None:
    session = acc.login(app, "coach", PASSWORD, "10.0.0.1")
    assert acc.csrf_ok(session, session.csrf_token)
    for wrong in (None, "", session.token, session.csrf_token[:-1]):
        assert not acc.csrf_ok(session, wrong)
    other = acc.login(app, "coach", PASSWORD, "10.0.0.1")
    assert not acc.csrf_ok(session, other.csrf_token)  # per session, not per user
    assert session.token not in repr(session) and session.csrf_token not in repr(session)


def test_one_answer_for_unknown_user_wrong_password_inactive_or_no_password(
        world: World, coach: Actor) -> None:
    acc.set_password(world.app, world.operator, "pm", PASSWORD)
    with world.app.engine.begin() as conn:
        conn.execute(text("UPDATE users SET active = false WHERE username = 'pm'"))
    answers = {
        _refusal(world.app, "coach", "verkeerd wachtwoord", "10.0.0.1"),
        _refusal(world.app, "niemand", PASSWORD, "10.0.0.2"),
        _refusal(world.app, "pm", PASSWORD, "10.0.0.3"),  # inactive, right password
        _refusal(world.app, "manager", PASSWORD, "10.0.0.4"),  # no password set
    }
    assert answers == {REFUSED}


def test_the_database_keeps_no_secret_usable_after_login(world: World, coach: Actor) -> None:
    session = acc.login(world.app, "coach", PASSWORD, "192.0.2.77")
    _refusal(world.app, "geheime-naam", "fout-wachtwoord-123", "192.0.2.78")
    dump = repr([_rows(world.app, f"SELECT * FROM {t}")
                 for t in ("sessions", "login_attempts", "credentials")])
    for secret in (session.token, PASSWORD, "fout-wachtwoord-123", "192.0.2.77", "192.0.2.78",
                   "geheime-naam"):
        assert secret not in dump


def test_login_logs_ids_only(world: World, coach: Actor, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kovflow")
    acc.login(world.app, "coach", PASSWORD, "198.51.100.7")
    _refusal(world.app, "coach", "fout-wachtwoord-123", "198.51.100.7")
    _refusal(world.app, "Canary-Name", "fout-wachtwoord-123", "198.51.100.7")
    logged = caplog.text
    assert f"login ok user_id={coach.user_id}" in logged
    assert f"login failed (user_id={coach.user_id})" in logged
    assert "login failed (unknown account)" in logged
    for secret in (PASSWORD, "fout-wachtwoord-123", "198.51.100.7", "Canary-Name"):
        assert secret not in logged


# --- throttling ------------------------------------------------------------------------------

def test_throttling_per_account_from_many_addresses(app: App, clock: FixedClock,
                                                     coach: Actor) -> None:
    for i in range(5):
        _refusal(app, "coach", "verkeerd wachtwoord", f"10.0.1.{i}")
        clock.advance(timedelta(minutes=1))
    # locked at the fifth failure (minute 4) for 15 minutes, even with the right password
    with pytest.raises(acc.LoginThrottled) as info:
        acc.login(app, "coach", PASSWORD, "10.0.2.1")
    assert info.value.retry_after_seconds == 14 * 60
    assert "Probeer het over 14 minuten opnieuw" in str(info.value)
    clock.advance(timedelta(minutes=13, seconds=59))
    with pytest.raises(acc.LoginThrottled) as info:
        acc.login(app, "coach", PASSWORD, "10.0.2.1")
    assert info.value.retry_after_seconds == 1
    clock.advance(timedelta(seconds=1))
    assert acc.login(app, "coach", PASSWORD, "10.0.2.1").actor == coach


def test_throttling_per_address_for_many_accounts(world: World, clock: FixedClock,
                                                   coach: Actor) -> None:
    for name in ("pm", "manager", "jgz", "niemand", "admin"):
        _refusal(world.app, name, "verkeerd wachtwoord", "203.0.113.9")
    with pytest.raises(acc.LoginThrottled):
        acc.login(world.app, "coach", PASSWORD, "203.0.113.9")
    # the account itself is not locked: from another address the coach gets in
    assert acc.login(world.app, "coach", PASSWORD, "203.0.113.10").actor == coach
    clock.advance(timedelta(minutes=15))
    assert acc.login(world.app, "coach", PASSWORD, "203.0.113.9").actor == coach


def test_unknown_names_are_throttled_like_accounts(app: App) -> None:
    for i in range(5):
        _refusal(app, "niemand", "verkeerd wachtwoord", f"10.0.3.{i}")
    with pytest.raises(acc.LoginThrottled):
        acc.login(app, "niemand", "verkeerd wachtwoord", "10.0.3.99")


def test_failures_spread_beyond_the_window_do_not_lock(app: App, clock: FixedClock,
                                                        coach: Actor) -> None:
    for _ in range(6):
        _refusal(app, "coach", "verkeerd wachtwoord", "10.0.4.1")
        clock.advance(timedelta(minutes=4))
    assert acc.login(app, "coach", PASSWORD, "10.0.4.1").actor == coach


def test_a_successful_login_clears_the_account_count(app: App, clock: FixedClock,
                                                     coach: Actor) -> None:
    for _ in range(4):
        _refusal(app, "coach", "verkeerd wachtwoord", "10.0.5.1")
        clock.advance(timedelta(minutes=1))
    acc.login(app, "coach", PASSWORD, "10.0.5.2")
    clock.advance(timedelta(minutes=1))
    _refusal(app, "coach", "verkeerd wachtwoord", "10.0.5.3")
    clock.advance(timedelta(minutes=1))
    assert acc.login(app, "coach", PASSWORD, "10.0.5.3").actor == coach
    # the count restarted at the last success: the fifth failure after it locks
    for _ in range(5):
        _refusal(app, "coach", "verkeerd wachtwoord", "10.0.5.4")
    with pytest.raises(acc.LoginThrottled):
        acc.login(app, "coach", PASSWORD, "10.0.5.5")


def test_throttling_follows_the_configuration(app: App, clock: FixedClock, coach: Actor) -> None:
    _with_auth(app, max_failures=2, window_minutes=5, lockout_minutes=60)
    _refusal(app, "coach", "verkeerd wachtwoord", "10.0.6.1")
    _refusal(app, "coach", "verkeerd wachtwoord", "10.0.6.2")
    with pytest.raises(acc.LoginThrottled) as info:
        acc.login(app, "coach", PASSWORD, "10.0.6.3")
    assert info.value.retry_after_seconds == 3600


def test_old_login_attempts_are_removed(app: App, clock: FixedClock, coach: Actor) -> None:
    _refusal(app, "coach", "verkeerd wachtwoord", "10.0.7.1")
    clock.advance(timedelta(minutes=31))  # window + lockout
    acc.login(app, "coach", PASSWORD, "10.0.7.1")
    assert [r.outcome for r in _rows(app, "SELECT outcome FROM login_attempts")] == ["ok"]


def test_an_unknown_auth_key_is_a_config_error(app: App, coach: Actor) -> None:
    _with_auth(app, idle_minuten=10)
    with pytest.raises(ConfigError, match="idle_minuten"):
        acc.login(app, "coach", PASSWORD, "10.0.0.1")


# --- sessions --------------------------------------------------------------------------------

def test_idle_timeout(app: App, clock: FixedClock, coach: Actor) -> None:
    session = acc.login(app, "coach", PASSWORD, "10.0.0.1")
    assert session.expires_at == clock.now() + timedelta(minutes=30)
    clock.advance(timedelta(minutes=29))
    again = acc.session_for(app, session.token)  # activity moves the idle expiry
    assert again.expires_at == clock.now() + timedelta(minutes=30)
    assert again.csrf_token == session.csrf_token
    clock.advance(timedelta(minutes=29))
    acc.session_for(app, session.token)
    clock.advance(timedelta(minutes=30))
    with pytest.raises(acc.NotAuthenticated):
        acc.session_for(app, session.token)
    clock.advance(timedelta(seconds=-1))  # ended for good, also if the clock were earlier
    with pytest.raises(acc.NotAuthenticated):
        acc.session_for(app, session.token)


def test_absolute_timeout_despite_activity(app: App, clock: FixedClock, coach: Actor) -> None:
    session = acc.login(app, "coach", PASSWORD, "10.0.0.1")
    end = clock.now() + timedelta(hours=12)
    while clock.now() + timedelta(minutes=20) < end:
        clock.advance(timedelta(minutes=20))
        assert acc.session_for(app, session.token).expires_at <= end
    assert acc.session_for(app, session.token).expires_at == end
    clock.set(end)
    with pytest.raises(acc.NotAuthenticated):
        acc.session_for(app, session.token)


def test_timeouts_follow_the_configuration(app: App, clock: FixedClock, coach: Actor) -> None:
    _with_auth(app, idle_minutes=5, absolute_hours=1)
    session = acc.login(app, "coach", PASSWORD, "10.0.0.1")
    assert session.expires_at == clock.now() + timedelta(minutes=5)
    clock.advance(timedelta(minutes=5))
    with pytest.raises(acc.NotAuthenticated):
        acc.session_for(app, session.token)


def test_login_rotates_the_session(app: App, coach: Actor) -> None:
    first = acc.login(app, "coach", PASSWORD, "10.0.0.1")
    second = acc.login(app, "coach", PASSWORD, "10.0.0.1", previous_token=first.token)
    assert second.token != first.token and second.csrf_token != first.csrf_token
    with pytest.raises(acc.NotAuthenticated):
        acc.session_for(app, first.token)
    assert acc.session_for(app, second.token).actor == coach
    # a stale or foreign previous token does not stop a login
    third = acc.login(app, "coach", PASSWORD, "10.0.0.1", previous_token="onzin")
    assert acc.session_for(app, third.token).actor == coach


def test_logout_ends_the_session(app: App, coach: Actor) -> None:
    session = acc.login(app, "coach", PASSWORD, "10.0.0.1")
    other = acc.login(app, "coach", PASSWORD, "10.0.0.2")
    acc.logout(app, session.token)
    with pytest.raises(acc.NotAuthenticated):
        acc.session_for(app, session.token)
    acc.logout(app, session.token)  # twice: harmless
    assert acc.session_for(app, other.token).actor == coach  # other devices stay logged in


def test_unknown_or_empty_tokens_are_not_authenticated(app: App) -> None:
    for token in ("", "onzin"):
        with pytest.raises(acc.NotAuthenticated):
            acc.session_for(app, token)
        with pytest.raises(acc.NotAuthenticated):
            acc.token_actor(app, token)


def test_a_deactivated_user_loses_the_session(world: World, coach: Actor) -> None:
    session = acc.login(world.app, "coach", PASSWORD, "10.0.0.1")
    with world.app.engine.begin() as conn:
        conn.execute(text("UPDATE users SET active = false WHERE username = 'coach'"))
    with pytest.raises(acc.NotAuthenticated):
        acc.session_for(world.app, session.token)


# --- API tokens ------------------------------------------------------------------------------

def test_api_tokens_are_stored_hashed_and_act_as_the_user(world: World, clock: FixedClock) -> None:
    token_id, token = acc.create_api_token(world.app, world.admin, "jgz", "koppeling GGD")
    dump = repr(_rows(world.app, "SELECT * FROM api_tokens"))
    assert token not in dump and token.removeprefix("kovflow_") not in dump
    [listed] = acc.list_api_tokens(world.app, world.admin)
    assert listed["last_used_at"] is None and listed["active"]
    assert acc.token_actor(world.app, token) == resolve_actor(world.app, "jgz") == world.jgz
    [listed] = acc.list_api_tokens(world.app, world.admin, "jgz")
    assert listed == {"id": token_id, "username": "jgz", "label": "koppeling GGD",
                      "created_at": clock.now().isoformat(), "created_by": "admin",
                      "last_used_at": clock.now().isoformat(), "revoked_at": None,
                      "active": True}
    assert token not in repr(listed)


def test_a_revoked_token_is_refused(world: World) -> None:
    token_id, token = acc.create_api_token(world.app, world.operator, "jgz", "koppeling")
    keep_id, keep = acc.create_api_token(world.app, world.operator, "jgz", "tweede")
    acc.revoke_api_token(world.app, world.admin, token_id)
    with pytest.raises(acc.NotAuthenticated):
        acc.token_actor(world.app, token)
    assert acc.token_actor(world.app, keep) == world.jgz
    with pytest.raises(InvalidInput, match="revoked already"):
        acc.revoke_api_token(world.app, world.admin, token_id)
    with pytest.raises(NotFound):
        acc.revoke_api_token(world.app, world.admin, 999)
    states = {t["id"]: t["active"] for t in acc.list_api_tokens(world.app, world.admin)}
    assert states == {token_id: False, keep_id: True}


def test_only_admin_or_operator_manage_tokens(world: World) -> None:
    token_id, _ = acc.create_api_token(world.app, world.operator, "coach", "eigen script")
    with pytest.raises(InvalidInput, match="role admin needed"):
        acc.create_api_token(world.app, world.coach, "coach", "nog een")
    with pytest.raises(InvalidInput, match="role admin needed"):
        acc.revoke_api_token(world.app, world.coach, token_id)
    with pytest.raises(InvalidInput, match="role admin needed"):
        acc.list_api_tokens(world.app, world.pm, "coach")
    assert [t["id"] for t in acc.list_api_tokens(world.app, world.coach)] == [token_id]
    assert acc.list_api_tokens(world.app, world.pm) == []
    assert len(_rows(world.app, "SELECT * FROM api_tokens")) == 1


def test_bad_token_requests_change_nothing(world: World) -> None:
    with pytest.raises(InvalidInput, match="needs a label"):
        acc.create_api_token(world.app, world.admin, "jgz", "  ")
    with pytest.raises(InvalidInput, match="at most 100"):
        acc.create_api_token(world.app, world.admin, "jgz", "x" * 101)
    with pytest.raises(NotFound):
        acc.create_api_token(world.app, world.admin, "niemand", "label")
    assert _rows(world.app, "SELECT * FROM api_tokens") == []


def test_a_token_of_a_deactivated_user_is_refused(world: World) -> None:
    _, token = acc.create_api_token(world.app, world.admin, "jgz", "koppeling")
    with world.app.engine.begin() as conn:
        conn.execute(text("UPDATE users SET active = false WHERE username = 'jgz'"))
    with pytest.raises(acc.NotAuthenticated):
        acc.token_actor(world.app, token)
    with pytest.raises(InvalidInput, match="not active"):
        acc.create_api_token(world.app, world.admin, "jgz", "nog een")


def test_purge_removes_what_no_longer_matters(app: App, clock: FixedClock, coach: Actor) -> None:
    session = acc.login(app, "coach", PASSWORD, "10.0.0.1")
    _refusal(app, "coach", "verkeerd wachtwoord", "10.0.0.1")
    acc.logout(app, session.token)
    clock.advance(timedelta(hours=12, seconds=1))
    assert acc.purge_expired(app) == {"login_attempts": 2, "sessions": 1}
    assert _rows(app, "SELECT * FROM sessions") == []
