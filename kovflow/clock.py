"""Time as a dependency: the one place that reads the wall clock.

Services take a ``Clock``; tests and ``--now`` use ``FixedClock`` so that runs are reproducible.
All moments are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the current moment (aware, UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until it is moved: for tests, demos and ``--now``."""

    def __init__(self, moment: datetime) -> None:
        self._moment = ensure_utc(moment)

    def now(self) -> datetime:
        return self._moment

    def set(self, moment: datetime) -> None:
        self._moment = ensure_utc(moment)

    def advance(self, delta: timedelta) -> datetime:
        self._moment += delta
        return self._moment


def ensure_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; a naive moment is refused because its zone is a guess."""
    if moment.tzinfo is None:
        raise ValueError(f"moment {moment.isoformat()} has no timezone; give one (e.g. +01:00 or Z)")
    return moment.astimezone(UTC)


def parse_moment(text: str) -> datetime:
    """Parse an ISO-8601 moment; a date or naive time is read in Europe/Amsterdam."""
    from zoneinfo import ZoneInfo

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO-8601 moment; use e.g. 2026-11-23 or 2026-11-23T09:00+01:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("Europe/Amsterdam"))
    return moment.astimezone(UTC)
