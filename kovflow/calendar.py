"""Dutch working-day ("werkdagen") arithmetic in Europe/Amsterdam.

Deadlines in the referral routes are expressed in werkdagen, calendar days, months or business
hours. They are counted on the *local* Amsterdam calendar, because that is the calendar the
families, providers and officers live by, while kovflow stores every moment in UTC. Every public
function therefore takes a timezone-aware moment, does its arithmetic on the Amsterdam wall
clock, and hands back an aware UTC moment.

A werkdag is Monday to Friday, minus the Dutch public holidays as the ``holidays`` package
reports them (category ``public``), minus any extra closing days from configuration. Note what
that package counts, because it is not the same as the Algemene termijnenwet:

* Goede Vrijdag *is* a public holiday in ``holidays`` NL, so it is not a werkdag here.
* Bevrijdingsdag (5 May) only counts in lustrum years (2025, 2030, ...), following common CAOs.
* Koningsdag moves to Saturday 26 April when 27 April is a Sunday (2025, 2031).

Organisations that close on other days (5 May every year, the days between Christmas and New
Year) add them as ``extra_closed``.

The module is pure: no I/O and no clock reads. The only state is a per-year cache of the
holiday list, which is derived deterministically from the ``holidays`` package.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

__all__ = ["AMSTERDAM", "WorkCalendar", "closing_days_from_config"]

AMSTERDAM: ZoneInfo = ZoneInfo("Europe/Amsterdam")

_ONE_DAY = timedelta(days=1)
# date.fromisoformat also accepts "20261224" and "2026-W52-4"; config should have one spelling.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@cache
def _dutch_holidays(year: int) -> frozenset[date]:
    """Dutch public holidays of one year, as the ``holidays`` package defines them.

    Cached per year because building a ``HolidayBase`` is far slower than a set lookup and
    deadline loops ask about the same few years over and over.
    """
    return frozenset(holidays.country_holidays("NL", years=year).keys())


def _require_aware(moment: datetime, name: str = "moment") -> None:
    # A naive datetime could be UTC or Amsterdam time; guessing would shift deadlines by an hour
    # or two, so refuse it loudly instead.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{name} {moment.isoformat()} is naive; give a timezone-aware datetime "
            "(e.g. with tzinfo=UTC or ZoneInfo('Europe/Amsterdam'))"
        )


def _to_local(moment: datetime, name: str = "moment") -> datetime:
    _require_aware(moment, name)
    return moment.astimezone(AMSTERDAM)


def _on_local_date(local: datetime, day: date) -> datetime:
    """``local``'s wall-clock time on ``day`` in Amsterdam, returned in UTC.

    On the DST switch days a wall-clock time can be missing (02:30 on the last Sunday of March)
    or occur twice (02:30 on the last Sunday of October). We reset ``fold`` to 0 so the outcome
    does not depend on which occurrence the start moment happened to be: zoneinfo then reads a
    missing time with the pre-switch offset (02:30 becomes 03:30 CEST, i.e. later, never
    earlier) and an ambiguous time as its first occurrence (CEST).
    """
    if day == local.date():
        # Same local date: keep the exact instant, including the fold of an ambiguous time.
        return local.astimezone(UTC)
    return local.replace(year=day.year, month=day.month, day=day.day, fold=0).astimezone(UTC)


def _local_instant(day: date, hour: int) -> datetime:
    """The UTC instant of ``hour``:00 Amsterdam time on ``day``; hour 24 is the next midnight."""
    extra_days, hour_of_day = divmod(hour, 24)
    local = datetime.combine(day + timedelta(days=extra_days), time(hour_of_day), tzinfo=AMSTERDAM)
    return local.astimezone(UTC)


def _weekdays_after(start: date, end: date) -> int:
    """Number of Monday-Friday dates d with start < d <= end (end >= start)."""
    full_weeks, rest = divmod((end - start).days, 7)
    # Every full week holds exactly five weekdays; only the leftover days need looking at.
    return full_weeks * 5 + sum(
        1 for offset in range(1, rest + 1) if (start + timedelta(days=offset)).weekday() < 5
    )


@dataclass(frozen=True)
class WorkCalendar:
    """Working days in Europe/Amsterdam.

    Mon-Fri minus Dutch public holidays minus extra closing days.
    ``extra_closed`` holds the organisation's own closing days (see ``closing_days_from_config``).
    """

    extra_closed: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Accept any iterable of dates (a set, a list from config) but store it immutably, so the
        # calendar stays hashable and cannot change under a running deadline computation.
        closed = frozenset(self.extra_closed)
        for day in closed:
            # datetime is a subclass of date but never equals one, so it would silently not match.
            if not isinstance(day, date) or isinstance(day, datetime):
                raise TypeError(f"extra_closed must contain dates, got {day!r}")
        object.__setattr__(self, "extra_closed", closed)

    def _is_closed(self, day: date) -> bool:
        """True for public holidays and extra closing days, whatever the weekday."""
        return day in self.extra_closed or day in _dutch_holidays(day.year)

    def is_werkdag(self, day: date) -> bool:
        """True if ``day`` (an Amsterdam calendar date) is a working day."""
        if isinstance(day, datetime):
            # A datetime's date depends on its zone; make the caller choose instead of guessing.
            raise TypeError(
                "is_werkdag takes a date; convert a moment first, "
                "e.g. moment.astimezone(AMSTERDAM).date()"
            )
        return day.weekday() < 5 and not self._is_closed(day)

    def add_werkdagen(self, moment: datetime, n: int) -> datetime:
        """Move ``moment`` by ``n`` werkdagen on the Amsterdam calendar, keeping the wall clock.

        The date steps one day at a time in the direction of ``n``; every step that lands on a
        werkdag counts as one. So +1 from Friday or Saturday is Monday, -1 from Monday or Sunday
        is Friday. ``n == 0`` returns the moment itself (in UTC), even on a non-werkdag.
        """
        local = _to_local(moment)
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        remaining = abs(n)
        day = local.date()
        while remaining:
            day += step
            if self.is_werkdag(day):
                remaining -= 1
        return _on_local_date(local, day)

    def add_days(self, moment: datetime, n: int) -> datetime:
        """Move ``moment`` by ``n`` calendar days in Amsterdam, keeping the wall clock.

        Across a DST switch the result is therefore 23 or 25 hours away, not 24: a 09:00
        appointment stays at 09:00.
        """
        local = _to_local(moment)
        return _on_local_date(local, local.date() + timedelta(days=n))

    def add_months(self, moment: datetime, n: int) -> datetime:
        """Move ``moment`` by ``n`` calendar months in Amsterdam, keeping the wall clock.

        The day of month is clamped to the length of the target month, so 31 January + 1 month
        is 28 (or 29) February.
        """
        local = _to_local(moment)
        year, month_index = divmod(local.year * 12 + (local.month - 1) + n, 12)
        month = month_index + 1
        first_of_next = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        last_day = (first_of_next - _ONE_DAY).day
        return _on_local_date(local, date(year, month, min(local.day, last_day)))

    def werkdagen_between(self, start: datetime, end: datetime) -> int:
        """Werkdagen from ``start`` to ``end``: the werkdag dates d with start < d <= end.

        Dates are Amsterdam dates, so the time of day does not matter: Friday to the next Monday
        is 1, two moments on the same date give 0. If ``end`` lies on an earlier date than
        ``start`` the count is negative (``werkdagen_between(a, b) == -werkdagen_between(b, a)``).
        """
        start_day = _to_local(start, "start").date()
        end_day = _to_local(end, "end").date()
        if end_day < start_day:
            return -self._werkdagen_after(end_day, start_day)
        return self._werkdagen_after(start_day, end_day)

    def _werkdagen_after(self, start: date, end: date) -> int:
        """Werkdag dates d with start < d <= end, for end >= start."""
        # Counted in closed form rather than day by day, so long spans (years) stay cheap.
        closed: set[date] = {d for d in self.extra_closed if start < d <= end}
        for year in range(start.year, end.year + 1):
            closed.update(d for d in _dutch_holidays(year) if start < d <= end)
        closed_weekdays = sum(1 for d in closed if d.weekday() < 5)
        return _weekdays_after(start, end) - closed_weekdays

    def add_business_hours(
        self, moment: datetime, hours: float, open_hour: int = 9, close_hour: int = 17
    ) -> datetime:
        """Add ``hours`` of opening time (``[open_hour, close_hour)`` local, on werkdagen).

        A moment outside opening hours starts counting at the next opening, so even ``hours=0``
        moves a Saturday or 20:00 moment to the next opening. A result that uses up a day exactly
        ends at closing time (16:00 + 1h is 17:00 the same day, not 09:00 the next werkdag).
        Hours are real elapsed hours, measured in UTC, which only differs from the wall clock if
        the opening window spans a DST switch at night.
        """
        _require_aware(moment)
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"hours must be a finite number >= 0, got {hours!r}")
        if not 0 <= open_hour < close_hour <= 24:
            raise ValueError(
                f"opening hours must satisfy 0 <= open_hour < close_hour <= 24, "
                f"got open_hour={open_hour}, close_hour={close_hour}"
            )
        cursor = moment.astimezone(UTC)
        remaining = timedelta(hours=hours)
        day = cursor.astimezone(AMSTERDAM).date()
        while True:
            if self.is_werkdag(day):
                start = max(cursor, _local_instant(day, open_hour))
                closes = _local_instant(day, close_hour)
                if start < closes:
                    available = closes - start
                    if remaining <= available:
                        return start + remaining
                    remaining -= available
            day += _ONE_DAY


def closing_days_from_config(values: Iterable[str]) -> frozenset[date]:
    """Parse ISO dates ('2026-12-24').

    Raise ValueError naming the bad value and the expected format (YYYY-MM-DD). Surrounding
    whitespace is ignored; duplicates collapse.
    """
    if isinstance(values, str):
        # A bare string is an Iterable[str] too, and would be parsed character by character.
        raise ValueError(
            f"closing days must be a list of dates in YYYY-MM-DD format, got the single string "
            f"{values!r}; write e.g. ['2026-12-24']"
        )
    days: set[date] = set()
    for value in values:
        text = value.strip() if isinstance(value, str) else None
        try:
            if text is None or not _ISO_DATE.fullmatch(text):
                raise ValueError
            days.add(date.fromisoformat(text))
        except ValueError:
            raise ValueError(
                f"invalid closing day {value!r}: expected an ISO date in YYYY-MM-DD format, "
                "e.g. '2026-12-24'"
            ) from None
    return frozenset(days)
