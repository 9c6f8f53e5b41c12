"""Password hashing and rule, the throttling rule and the [auth] settings, without a database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kovflow.auth import passwords, tokens
from kovflow.auth.settings import AuthSettings, auth_settings, parse_auth
from kovflow.auth.throttle import locked_until
from kovflow.config import Settings, load_settings
from kovflow.errors import ConfigError, InvalidInput

CFG = AuthSettings()
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_the_hash_is_argon2id_with_at_least_the_owasp_floor() -> None:
    stored = passwords.hash_password(CFG, "een lang wachtwoord")
    m = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+", stored)
    assert m is not None, stored
    memory, time_cost, parallelism = map(int, m.groups())
    assert memory >= 19456 and time_cost >= 2 and parallelism == 1
    assert "een lang wachtwoord" not in stored


def test_verify_accepts_the_password_only() -> None:
    stored = passwords.hash_password(CFG, "een lang wachtwoord")
    assert passwords.verify(CFG, stored, "een lang wachtwoord")
    assert not passwords.verify(CFG, stored, "een lang wachtwoorD")
    assert not passwords.verify(CFG, "not a hash", "een lang wachtwoord")


def test_two_hashes_of_one_password_differ_by_salt() -> None:
    assert passwords.hash_password(CFG, "een lang wachtwoord") != \
        passwords.hash_password(CFG, "een lang wachtwoord")


def test_a_higher_configured_cost_asks_for_a_rehash() -> None:
    stored = passwords.hash_password(CFG, "een lang wachtwoord")
    assert not passwords.needs_rehash(CFG, stored)
    stronger = AuthSettings(argon2_time_cost=3)
    assert passwords.needs_rehash(stronger, stored)
    assert passwords.verify(stronger, stored, "een lang wachtwoord")  # old hashes still work


@pytest.mark.parametrize(("username", "password", "message"), [
    ("anna", "kort", "minstens 12 tekens"),
    ("anna", "elf tekens.", "minstens 12 tekens"),
    ("annavandijk1", "AnnaVanDijk1", "niet gelijk zijn aan de gebruikersnaam"),
])
def test_the_password_rule_refuses_in_dutch(username: str, password: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        passwords.check_rule(username, password)


def test_the_password_rule_accepts_twelve_characters() -> None:
    passwords.check_rule("anna", "twaalf teken")


def test_tokens_are_random_and_stored_as_sha256() -> None:
    a, b = tokens.new_token(), tokens.new_token()
    assert a != b and len(a) >= 43
    assert re.fullmatch(r"[0-9a-f]{64}", tokens.digest(a))
    assert tokens.digest(a) != tokens.digest(b)
    assert tokens.new_api_token().startswith(tokens.API_TOKEN_PREFIX)
    # the typed username is throttled regardless of case; the address digest hides the address
    assert tokens.account_digest(" Anna") == tokens.account_digest("anna")
    assert "10.0.0.1" not in tokens.address_digest("10.0.0.1")


def _minutes(*offsets: float) -> list[datetime]:
    return [T0 + timedelta(minutes=m) for m in offsets]


def test_five_failures_within_the_window_lock_for_the_lockout() -> None:
    window, lockout = timedelta(minutes=15), timedelta(minutes=15)
    assert locked_until(_minutes(0, 1, 2, 3), 5, window, lockout) is None
    assert locked_until(_minutes(0, 1, 2, 3, 14), 5, window, lockout) == T0 + timedelta(minutes=29)
    # spread over more than the window: no lockout
    assert locked_until(_minutes(0, 4, 8, 12, 16), 5, window, lockout) is None


def test_after_a_lockout_the_count_starts_afresh() -> None:
    window, lockout = timedelta(minutes=15), timedelta(minutes=15)
    # locked at minute 4 until 19; one more failure at 19 does not lock again at once
    assert locked_until(_minutes(0, 1, 2, 3, 4, 19), 5, window, lockout) == \
        T0 + timedelta(minutes=19)
    assert locked_until(_minutes(0, 1, 2, 3, 4, 19, 20, 21, 22, 23), 5, window, lockout) == \
        T0 + timedelta(minutes=38)


def test_auth_settings_defaults_and_overrides() -> None:
    assert auth_settings(Settings()) == AuthSettings()
    cfg = auth_settings(Settings(sections={"auth": {"idle_minutes": 10, "max_failures": 3}}))
    assert cfg.idle == timedelta(minutes=10) and cfg.max_failures == 3


@pytest.mark.parametrize(("values", "message"), [
    ({"idle_minute": 10}, "unknown key.*idle_minute.*known:.*idle_minutes"),
    ({"argon2_memory_kib": 4096}, "argon2_memory_kib must be at least 19456"),
    ({"argon2_time_cost": 1}, "argon2_time_cost must be at least 2"),
    ({"max_failures": "5"}, "max_failures must be a whole number"),
    ({"idle_minutes": True}, "idle_minutes must be a whole number"),
])
def test_bad_auth_settings_are_config_errors(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        auth_settings(Settings(sections={"auth": values}))


def test_parse_auth_reads_every_key() -> None:
    cfg = parse_auth({"idle_minutes": 5, "absolute_hours": 2, "max_failures": 2,
                      "window_minutes": 3, "lockout_minutes": 4, "argon2_time_cost": 3,
                      "argon2_memory_kib": 20000, "argon2_parallelism": 2})
    assert cfg == AuthSettings(timedelta(minutes=5), timedelta(hours=2), 2, timedelta(minutes=3),
                               timedelta(minutes=4), 3, 20000, 2)


def test_auth_settings_from_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "kovflow.toml"
    path.write_text("[auth]\nidle_minutes = 20\nlockout_minutes = 30\n", encoding="utf-8")
    cfg = auth_settings(load_settings(path, env={}))
    assert cfg.idle == timedelta(minutes=20) and cfg.lockout == timedelta(minutes=30)
    path.write_text("[auth]\nidle = 20\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) idle in \[auth\]"):
        auth_settings(load_settings(path, env={}))
