"""Local passwords: argon2id hashes (argon2-cffi) and the minimal password rule.

The hash string carries its own parameters and salt, so raising the cost in ``[auth]`` takes
effect for each account at its next successful login (``needs_rehash``).
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from kovflow.auth.settings import AuthSettings
from kovflow.errors import InvalidInput

MIN_LENGTH = 12


class WeakPassword(InvalidInput):
    """The password does not meet the password rule."""


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism,
                          hash_len=32, salt_len=16, type=Type.ID)


def hasher(settings: AuthSettings) -> PasswordHasher:
    """The argon2id hasher for the configured cost."""
    return _hasher(settings.argon2_time_cost, settings.argon2_memory_kib,
                   settings.argon2_parallelism)


def check_rule(username: str, password: str) -> None:
    """Raise ``WeakPassword`` (Dutch message) unless the password may be used."""
    if password.strip().casefold() == username.strip().casefold():
        raise WeakPassword("Het wachtwoord mag niet gelijk zijn aan de gebruikersnaam.")
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Het wachtwoord moet minstens {MIN_LENGTH} tekens lang zijn.")


def hash_password(settings: AuthSettings, password: str) -> str:
    """An argon2id hash string (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``)."""
    return hasher(settings).hash(password)


def verify(settings: AuthSettings, stored: str, password: str) -> bool:
    """True when ``password`` matches ``stored``; a malformed stored hash never matches."""
    try:
        return hasher(settings).verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(settings: AuthSettings, stored: str) -> bool:
    """True when ``stored`` was made with other parameters than the configured ones."""
    return hasher(settings).check_needs_rehash(stored)


@lru_cache(maxsize=8)
def _dummy(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_kib, parallelism).hash("kovflow-no-such-account")


def spend_verify_time(settings: AuthSettings, password: str) -> None:
    """Verify against a throw-away hash, so that an unknown account answers as slowly as a
    known one with a wrong password (no account enumeration by timing)."""
    verify(settings, _dummy(settings.argon2_time_cost, settings.argon2_memory_kib,
                            settings.argon2_parallelism), password)
