"""The ``[auth]`` section of the configuration: timeouts, throttling and hashing cost.

Every key is optional; ``config.example.toml`` documents them. Values are checked here, so a wrong
value stops kovflow with a ``ConfigError`` that names the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from kovflow.config import Settings, feature_section
from kovflow.errors import ConfigError

# argon2id floor from the OWASP password storage cheat sheet (m = 19 MiB, t = 2, p = 1): an
# installation may raise the cost, never lower it below this.
MIN_TIME_COST = 2
MIN_MEMORY_KIB = 19456

# key -> (default, smallest allowed value)
_INT_KEYS: dict[str, tuple[int, int]] = {
    "idle_minutes": (30, 1),
    "absolute_hours": (12, 1),
    "max_failures": (5, 1),
    "window_minutes": (15, 1),
    "lockout_minutes": (15, 1),
    "argon2_time_cost": (MIN_TIME_COST, MIN_TIME_COST),
    "argon2_memory_kib": (MIN_MEMORY_KIB, MIN_MEMORY_KIB),
    "argon2_parallelism": (1, 1),
}
AUTH_KEYS = frozenset(_INT_KEYS)


@dataclass(frozen=True)
class AuthSettings:
    """Checked values of ``[auth]``."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    argon2_time_cost: int = MIN_TIME_COST
    argon2_memory_kib: int = MIN_MEMORY_KIB
    argon2_parallelism: int = 1


def parse_auth(values: Mapping[str, Any]) -> AuthSettings:
    """Check a raw ``[auth]`` table (unknown keys were refused by ``feature_section``)."""
    got: dict[str, int] = {}
    for key, (default, smallest) in _INT_KEYS.items():
        value = values.get(key, default)
        # bool is an int subclass; `idle_minutes = true` is a mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"[auth] {key} must be a whole number, not {value!r}")
        if value < smallest:
            raise ConfigError(f"[auth] {key} must be at least {smallest}, not {value}")
        got[key] = value
    return AuthSettings(
        idle=timedelta(minutes=got["idle_minutes"]),
        absolute=timedelta(hours=got["absolute_hours"]),
        max_failures=got["max_failures"],
        window=timedelta(minutes=got["window_minutes"]),
        lockout=timedelta(minutes=got["lockout_minutes"]),
        argon2_time_cost=got["argon2_time_cost"],
        argon2_memory_kib=got["argon2_memory_kib"],
        argon2_parallelism=got["argon2_parallelism"],
    )


def auth_settings(settings: Settings) -> AuthSettings:
    """The installation's ``[auth]`` settings; unknown keys and bad values are a ``ConfigError``."""
    return parse_auth(feature_section(settings, "auth", set(AUTH_KEYS)))
