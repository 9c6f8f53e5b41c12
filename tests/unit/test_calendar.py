"""Unit tests for kovflow.calendar: werkdagen, calendar days, months and business hours.

Expected values were worked out by hand and checked against what ``holidays`` (NL, category
public) returns for the years used. Notably that package lists Goede Vrijdag as a public
holiday and Bevrijdingsdag only in lustrum years, so the tests follow it on both points.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import holidays
import pytest

from kovflow.calendar import AMSTERDAM, WorkCalendar, closing_days_from_config

CAL = WorkCalendar()


def ams(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A wall-clock moment in Amsterdam."""
    return datetime(year, month, day, hour, minute, tzinfo=AMSTERDAM)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def assert_utc_equal(result: datetime, expected: datetime) -> None:
    # Aware datetimes compare by instant; also insist the result is handed back in UTC.
    assert result.tzinfo is UTC
    assert result == expected, f"{result.astimezone(AMSTERDAM)} != {expected.astimezone(AMSTERDAM)}"


# --- the holiday data we rely on ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "is_holiday"),
    [
        pytest.param(date(2026, 1, 1), True, id="nieuwjaarsdag-2026"),
        # holidays NL lists Goede Vrijdag as public; the Algemene termijnenwet does not.
        pytest.param(date(2026, 4, 3), True, id="goede-vrijdag-2026-per-package"),
        pytest.param(date(2026, 4, 6), True, id="tweede-paasdag-2026"),
        pytest.param(date(2026, 4, 27), True, id="koningsdag-2026-monday"),
        # 27 April 2025 is a Sunday, so Koningsdag moves back to Saturday 26 April.
        pytest.param(date(2025, 4, 26), True, id="koningsdag-2025-moved-to-saturday"),
        pytest.param(date(2025, 4, 27), False, id="sunday-27-april-2025-not-koningsdag"),
        # Same in 2031: 27 April 2031 is a Sunday.
        pytest.param(date(2031, 4, 26), True, id="koningsdag-2031-moved-to-saturday"),
        # Bevrijdingsdag is only in holidays' public list when year % 5 == 0.
        pytest.param(date(2025, 5, 5), True, id="bevrijdingsdag-2025-lustrum"),
        pytest.param(date(2026, 5, 5), False, id="bevrijdingsdag-2026-not-public"),
        pytest.param(date(2026, 5, 14), True, id="hemelvaartsdag-2026"),
        pytest.param(date(2026, 5, 25), True, id="tweede-pinksterdag-2026"),
        pytest.param(date(2026, 12, 25), True, id="eerste-kerstdag-2026"),
        pytest.param(date(2026, 12, 26), True, id="tweede-kerstdag-2026"),
    ],
)
def test_holidays_package_agrees_with_expectations(day: date, is_holiday: bool) -> None:
    # Guards the assumptions below: if a holidays upgrade changes its NL rules, fail here first.
    assert (day in holidays.country_holidays("NL", years=day.year)) is is_holiday


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(date(2026, 1, 12), True, id="monday"),
        pytest.param(date(2026, 1, 16), True, id="friday"),
        pytest.param(date(2026, 1, 17), False, id="saturday"),
        pytest.param(date(2026, 1, 18), False, id="sunday"),
        pytest.param(date(2026, 1, 1), False, id="nieuwjaarsdag"),
        pytest.param(date(2026, 4, 3), False, id="goede-vrijdag-per-package"),
        pytest.param(date(2026, 4, 6), False, id="tweede-paasdag"),
        pytest.param(date(2026, 4, 27), False, id="koningsdag-2026"),
        pytest.param(date(2025, 4, 28), True, id="monday-after-saturday-koningsdag-2025"),
        pytest.param(date(2025, 5, 5), False, id="bevrijdingsdag-2025"),
        pytest.param(date(2026, 5, 5), True, id="5-mei-2026-is-werkdag"),
        pytest.param(date(2026, 5, 14), False, id="hemelvaartsdag"),
        pytest.param(date(2026, 5, 25), False, id="tweede-pinksterdag"),
        pytest.param(date(2026, 12, 24), True, id="christmas-eve"),
        pytest.param(date(2026, 12, 25), False, id="eerste-kerstdag"),
    ],
)
def test_is_werkdag(day: date, expected: bool) -> None:
    assert CAL.is_werkdag(day) is expected


def test_is_werkdag_rejects_datetime() -> None:
    with pytest.raises(TypeError, match="takes a date"):
        CAL.is_werkdag(ams(2026, 1, 12))


def test_werkdagen_in_2026() -> None:
    # 261 weekdays in 2026 minus 7 weekday holidays (1 Jan, 3 Apr, 6 Apr, 27 Apr, 14 May,
    # 25 May, 25 Dec; 26 Dec is a Saturday).
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    assert sum(CAL.is_werkdag(d) for d in days) == 254


# --- add_werkdagen ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        pytest.param(ams(2026, 1, 12), 0, ams(2026, 1, 12), id="zero-is-unchanged"),
        pytest.param(ams(2026, 1, 17), 0, ams(2026, 1, 17), id="zero-on-saturday-is-unchanged"),
        pytest.param(ams(2026, 1, 12), 1, ams(2026, 1, 13), id="monday+1=tuesday"),
        pytest.param(ams(2026, 1, 12), 4, ams(2026, 1, 16), id="monday+4=friday"),
        pytest.param(ams(2026, 1, 12), 5, ams(2026, 1, 19), id="monday+5=next-monday"),
        pytest.param(ams(2026, 1, 12), 10, ams(2026, 1, 26), id="monday+10=two-weeks"),
        pytest.param(ams(2026, 1, 16), 1, ams(2026, 1, 19), id="friday+1=monday"),
        pytest.param(ams(2026, 1, 17), 1, ams(2026, 1, 19), id="saturday+1=monday"),
        pytest.param(ams(2026, 1, 18), 1, ams(2026, 1, 19), id="sunday+1=monday"),
        pytest.param(ams(2026, 1, 17), 2, ams(2026, 1, 20), id="saturday+2=tuesday"),
        # Goede Vrijdag (package), weekend and Tweede Paasdag are all skipped.
        pytest.param(ams(2026, 4, 2), 1, ams(2026, 4, 7), id="easter-2026-thu+1=tue"),
        pytest.param(ams(2026, 4, 24), 1, ams(2026, 4, 28), id="koningsdag-2026-fri+1=tue"),
        # Koningsdag 2025 fell on Saturday 26 April: no weekday is lost.
        pytest.param(ams(2025, 4, 25), 1, ams(2025, 4, 28), id="koningsdag-2025-fri+1=mon"),
        pytest.param(ams(2025, 5, 2), 1, ams(2025, 5, 6), id="bevrijdingsdag-2025-fri+1=tue"),
        pytest.param(ams(2026, 5, 4), 1, ams(2026, 5, 5), id="5-mei-2026-counts"),
        pytest.param(ams(2026, 5, 13), 1, ams(2026, 5, 15), id="hemelvaart-2026-wed+1=fri"),
        pytest.param(ams(2026, 5, 22), 1, ams(2026, 5, 26), id="pinksteren-2026-fri+1=tue"),
        pytest.param(ams(2026, 12, 24), 1, ams(2026, 12, 28), id="christmas-2026-thu+1=mon"),
        pytest.param(ams(2026, 12, 31), 1, ams(2027, 1, 4), id="new-year-2027-thu+1=mon"),
        # Negative n steps backwards the same way.
        pytest.param(ams(2026, 1, 19), -1, ams(2026, 1, 16), id="monday-1=friday"),
        pytest.param(ams(2026, 1, 18), -1, ams(2026, 1, 16), id="sunday-1=friday"),
        pytest.param(ams(2026, 1, 19), -5, ams(2026, 1, 12), id="monday-5=previous-monday"),
        pytest.param(ams(2026, 4, 7), -1, ams(2026, 4, 2), id="tue-after-easter-1=thursday"),
        pytest.param(ams(2026, 4, 7), -2, ams(2026, 4, 1), id="tue-after-easter-2=wednesday"),
        pytest.param(ams(2026, 12, 28), -1, ams(2026, 12, 24), id="mon-after-christmas-1=thu"),
        pytest.param(ams(2027, 1, 4), -1, ams(2026, 12, 31), id="back-across-new-year"),
    ],
)
def test_add_werkdagen(start: datetime, n: int, expected: datetime) -> None:
    assert_utc_equal(CAL.add_werkdagen(start, n), expected)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # Spring forward on Sunday 29 March 2026: 09:00 CET = 08:00 UTC, 09:00 CEST = 07:00 UTC.
        pytest.param(utc(2026, 3, 27, 8), 1, utc(2026, 3, 30, 7), id="spring-switch-forward"),
        pytest.param(utc(2026, 3, 30, 7), -1, utc(2026, 3, 27, 8), id="spring-switch-backward"),
        # Fall back on Sunday 25 October 2026: 09:00 CEST = 07:00 UTC, 09:00 CET = 08:00 UTC.
        pytest.param(utc(2026, 10, 23, 7), 1, utc(2026, 10, 26, 8), id="autumn-switch-forward"),
        pytest.param(utc(2026, 10, 26, 8), -1, utc(2026, 10, 23, 7), id="autumn-switch-backward"),
    ],
)
def test_add_werkdagen_keeps_wall_clock_across_dst(
    start: datetime, n: int, expected: datetime
) -> None:
    result = CAL.add_werkdagen(start, n)
    assert_utc_equal(result, expected)
    assert result.astimezone(AMSTERDAM).hour == 9


def test_add_werkdagen_uses_the_amsterdam_date() -> None:
    # 23:30 UTC on Friday is already 00:30 on Saturday in Amsterdam, so +1 is Monday 00:30 local.
    assert_utc_equal(CAL.add_werkdagen(utc(2026, 1, 9, 23, 30), 1), ams(2026, 1, 12, 0, 30))


def test_add_werkdagen_zero_returns_same_instant_in_utc() -> None:
    # The second 02:30 of 25 October 2026 (CET) must not be swapped for the first one.
    second_0230 = utc(2026, 10, 25, 1, 30)
    assert_utc_equal(CAL.add_werkdagen(second_0230.astimezone(AMSTERDAM), 0), second_0230)


# --- extra closing days ---------------------------------------------------------------------


CLOSED_CAL = WorkCalendar(extra_closed=closing_days_from_config(["2026-12-24", "2026-12-31"]))


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        pytest.param(ams(2026, 12, 23), 1, ams(2026, 12, 28), id="christmas-eve-closed"),
        pytest.param(ams(2026, 12, 30), 1, ams(2027, 1, 4), id="new-years-eve-closed"),
        pytest.param(ams(2026, 12, 28), -1, ams(2026, 12, 23), id="backwards-over-closed-days"),
        pytest.param(ams(2026, 12, 21), 2, ams(2026, 12, 23), id="before-closed-days"),
    ],
)
def test_add_werkdagen_with_extra_closing_days(start: datetime, n: int, expected: datetime) -> None:
    assert_utc_equal(CLOSED_CAL.add_werkdagen(start, n), expected)


def test_extra_closing_days_do_not_leak_into_default_calendar() -> None:
    assert CAL.is_werkdag(date(2026, 12, 24))
    assert not CLOSED_CAL.is_werkdag(date(2026, 12, 24))


def test_extra_closed_accepts_any_iterable_and_stays_immutable() -> None:
    cal = WorkCalendar(extra_closed={date(2026, 12, 24)})  # type: ignore[arg-type]
    assert cal.extra_closed == frozenset({date(2026, 12, 24)})
    assert isinstance(cal.extra_closed, frozenset)
    assert hash(cal) == hash(WorkCalendar(extra_closed=frozenset({date(2026, 12, 24)})))


def test_extra_closed_rejects_datetimes() -> None:
    with pytest.raises(TypeError, match="must contain dates"):
        WorkCalendar(extra_closed=frozenset({ams(2026, 12, 24)}))


# --- closing_days_from_config -----------------------------------------------------------------


def test_closing_days_from_config_parses_iso_dates() -> None:
    assert closing_days_from_config(["2026-12-24", " 2026-12-31 ", "2026-12-24"]) == frozenset(
        {date(2026, 12, 24), date(2026, 12, 31)}
    )
    assert closing_days_from_config([]) == frozenset()


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("24-12-2026", id="dutch-order"),
        pytest.param("2026-12-32", id="no-such-day"),
        pytest.param("2026-02-29", id="not-a-leap-year"),
        pytest.param("20261224", id="basic-iso"),
        pytest.param("2026-W52-4", id="iso-week"),
        pytest.param("2026-12-24T00:00", id="datetime"),
        pytest.param("", id="empty"),
    ],
)
def test_closing_days_from_config_names_bad_value_and_format(bad: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        closing_days_from_config(["2026-12-31", bad])
    message = str(excinfo.value)
    assert repr(bad) in message
    assert "YYYY-MM-DD" in message


def test_closing_days_from_config_rejects_single_string() -> None:
    with pytest.raises(ValueError, match="single string"):
        closing_days_from_config("2026-12-24")


# --- werkdagen_between -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cal", "start", "end", "expected"),
    [
        pytest.param(CAL, ams(2026, 1, 12, 9), ams(2026, 1, 12, 17), 0, id="same-day"),
        pytest.param(CAL, ams(2026, 1, 12), ams(2026, 1, 13), 1, id="monday-to-tuesday"),
        pytest.param(CAL, ams(2026, 1, 16), ams(2026, 1, 19), 1, id="friday-to-monday"),
        pytest.param(CAL, ams(2026, 1, 16), ams(2026, 1, 18), 0, id="friday-to-sunday"),
        pytest.param(CAL, ams(2026, 1, 12), ams(2026, 1, 19), 5, id="one-week"),
        pytest.param(CAL, ams(2026, 4, 2), ams(2026, 4, 7), 1, id="over-easter-2026"),
        pytest.param(CAL, ams(2026, 12, 24), ams(2026, 12, 31), 4, id="over-christmas-2026"),
        pytest.param(CAL, ams(2025, 12, 31), ams(2026, 12, 31), 254, id="all-of-2026"),
        pytest.param(CAL, ams(2026, 1, 19), ams(2026, 1, 16), -1, id="monday-to-friday-neg"),
        pytest.param(CAL, ams(2026, 4, 7), ams(2026, 4, 2), -1, id="back-over-easter-neg"),
        pytest.param(CAL, ams(2026, 1, 12, 17), ams(2026, 1, 12, 9), 0, id="same-day-backwards"),
        # 24 and 31 Dec closed, 25 Dec and 1 Jan holidays: only 28, 29, 30 Dec and 4 Jan count.
        pytest.param(
            CLOSED_CAL, ams(2026, 12, 23), ams(2027, 1, 4), 4, id="extra-closed-days-skipped"
        ),
        # 23:30 UTC Friday is Saturday in Amsterdam; Saturday -> Monday crosses one werkdag.
        pytest.param(CAL, utc(2026, 1, 9, 23, 30), ams(2026, 1, 12), 1, id="amsterdam-dates"),
    ],
)
def test_werkdagen_between(
    cal: WorkCalendar, start: datetime, end: datetime, expected: int
) -> None:
    assert cal.werkdagen_between(start, end) == expected
    assert cal.werkdagen_between(end, start) == -expected


def test_werkdagen_between_inverts_add_werkdagen() -> None:
    # From a werkdag, counting back what add_werkdagen stepped gives n again, in both directions.
    # Spans Easter, Koningsdag, Hemelvaart and Pinksteren 2026 and the turn of the year.
    for start_day in (date(2026, 3, 20) + timedelta(days=i) for i in range(90)):
        start = ams(start_day.year, start_day.month, start_day.day)
        for n in range(-12, 13):
            if n < 0 and not CAL.is_werkdag(start_day):
                continue  # from a weekend, -1 and the Friday before are zero werkdagen apart
            assert CAL.werkdagen_between(start, CAL.add_werkdagen(start, n)) == n, (start, n)


# --- add_days and add_months -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        pytest.param(ams(2026, 1, 12), 0, ams(2026, 1, 12), id="zero"),
        pytest.param(ams(2026, 1, 12), 14, ams(2026, 1, 26), id="two-weeks"),
        pytest.param(ams(2026, 1, 12), -12, ams(2025, 12, 31), id="negative-across-year"),
        pytest.param(utc(2026, 3, 28, 8), 1, utc(2026, 3, 29, 7), id="spring-switch-23h"),
        pytest.param(utc(2026, 10, 24, 7), 1, utc(2026, 10, 25, 8), id="autumn-switch-25h"),
        # 02:30 does not exist on 29 March 2026; read with the pre-switch offset: 03:30 CEST.
        pytest.param(ams(2026, 3, 28, 2, 30), 1, utc(2026, 3, 29, 1, 30), id="nonexistent-time"),
        # 02:30 happens twice on 25 October 2026; the first (CEST, 00:30 UTC) is chosen.
        pytest.param(ams(2026, 10, 24, 2, 30), 1, utc(2026, 10, 25, 0, 30), id="ambiguous-time"),
    ],
)
def test_add_days(start: datetime, n: int, expected: datetime) -> None:
    assert_utc_equal(CAL.add_days(start, n), expected)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        pytest.param(ams(2026, 1, 31), 1, ams(2026, 2, 28), id="31-jan+1=28-feb"),
        pytest.param(ams(2028, 1, 31), 1, ams(2028, 2, 29), id="31-jan+1=29-feb-leap-year"),
        pytest.param(ams(2026, 3, 31), -1, ams(2026, 2, 28), id="31-mar-1=28-feb"),
        pytest.param(ams(2026, 5, 31), 1, ams(2026, 6, 30), id="31-may+1=30-jun"),
        pytest.param(ams(2026, 1, 15), 0, ams(2026, 1, 15), id="zero"),
        pytest.param(ams(2026, 11, 15), 3, ams(2027, 2, 15), id="across-year-end"),
        pytest.param(ams(2026, 1, 15), -1, ams(2025, 12, 15), id="back-across-year-start"),
        pytest.param(ams(2026, 1, 15), 12, ams(2027, 1, 15), id="twelve-months"),
        pytest.param(ams(2026, 1, 15), -25, ams(2023, 12, 15), id="minus-25-months"),
        # 09:00 CET = 08:00 UTC in March, 09:00 CEST = 07:00 UTC in April.
        pytest.param(utc(2026, 3, 15, 8), 1, utc(2026, 4, 15, 7), id="wall-clock-across-dst"),
        # 23:30 UTC on 31 January is 00:30 on 1 February in Amsterdam: +1 month is 1 March.
        pytest.param(utc(2026, 1, 31, 23, 30), 1, ams(2026, 3, 1, 0, 30), id="amsterdam-date"),
    ],
)
def test_add_months(start: datetime, n: int, expected: datetime) -> None:
    assert_utc_equal(CAL.add_months(start, n), expected)


# --- add_business_hours ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        pytest.param(ams(2026, 1, 16, 16), 2, ams(2026, 1, 19, 10), id="friday-16h+2=monday-10h"),
        pytest.param(ams(2026, 1, 12, 20), 1, ams(2026, 1, 13, 10), id="evening-starts-next-day"),
        pytest.param(ams(2026, 1, 12, 7), 1, ams(2026, 1, 12, 10), id="early-starts-at-opening"),
        pytest.param(ams(2026, 1, 17, 10), 1, ams(2026, 1, 19, 10), id="saturday-starts-monday"),
        pytest.param(ams(2026, 1, 12, 10), 0, ams(2026, 1, 12, 10), id="zero-within-hours"),
        pytest.param(ams(2026, 1, 12, 20), 0, ams(2026, 1, 13, 9), id="zero-after-hours"),
        pytest.param(ams(2026, 1, 12, 16), 1, ams(2026, 1, 12, 17), id="ends-at-closing"),
        pytest.param(ams(2026, 1, 12, 17), 1, ams(2026, 1, 13, 10), id="at-closing-is-closed"),
        pytest.param(ams(2026, 1, 12, 16, 45), 0.5, ams(2026, 1, 13, 9, 15), id="half-hour"),
        pytest.param(ams(2026, 1, 12, 9), 16, ams(2026, 1, 13, 17), id="two-full-days"),
        pytest.param(ams(2026, 1, 12, 9), 17, ams(2026, 1, 14, 10), id="into-third-day"),
        pytest.param(ams(2026, 4, 2, 16), 2, ams(2026, 4, 7, 10), id="over-easter-2026"),
        pytest.param(ams(2026, 12, 24, 16), 2, ams(2026, 12, 28, 10), id="over-christmas-2026"),
        # Spring switch: Monday 10:00 CEST is 08:00 UTC.
        pytest.param(ams(2026, 3, 27, 16), 2, utc(2026, 3, 30, 8), id="over-dst-switch"),
    ],
)
def test_add_business_hours(start: datetime, hours: float, expected: datetime) -> None:
    assert_utc_equal(CAL.add_business_hours(start, hours), expected)


def test_add_business_hours_custom_opening_hours() -> None:
    result = CAL.add_business_hours(ams(2026, 1, 12, 11), 2, open_hour=8, close_hour=12)
    assert_utc_equal(result, ams(2026, 1, 13, 9))


def test_add_business_hours_respects_extra_closing_days() -> None:
    result = CLOSED_CAL.add_business_hours(ams(2026, 12, 23, 16), 2)
    assert_utc_equal(result, ams(2026, 12, 28, 10))


@pytest.mark.parametrize(
    "hours",
    [
        pytest.param(-1.0, id="negative"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="infinite"),
    ],
)
def test_add_business_hours_rejects_bad_hours(hours: float) -> None:
    with pytest.raises(ValueError, match="hours must be"):
        CAL.add_business_hours(ams(2026, 1, 12), hours)


@pytest.mark.parametrize(
    ("open_hour", "close_hour"),
    [
        pytest.param(17, 9, id="closes-before-opening"),
        pytest.param(9, 9, id="empty-window"),
        pytest.param(-1, 17, id="negative-open"),
        pytest.param(9, 25, id="close-after-midnight"),
    ],
)
def test_add_business_hours_rejects_bad_opening_hours(open_hour: int, close_hour: int) -> None:
    with pytest.raises(ValueError, match="opening hours"):
        CAL.add_business_hours(ams(2026, 1, 12), 1, open_hour=open_hour, close_hour=close_hour)


# --- naive datetimes ----------------------------------------------------------------------------

NAIVE = datetime(2026, 1, 12, 10, 0)

NAIVE_CALLS: list[tuple[str, Callable[[], object]]] = [
    ("add_werkdagen", lambda: CAL.add_werkdagen(NAIVE, 1)),
    ("add_werkdagen-zero", lambda: CAL.add_werkdagen(NAIVE, 0)),
    ("add_days", lambda: CAL.add_days(NAIVE, 1)),
    ("add_months", lambda: CAL.add_months(NAIVE, 1)),
    ("werkdagen_between-start", lambda: CAL.werkdagen_between(NAIVE, ams(2026, 1, 13))),
    ("werkdagen_between-end", lambda: CAL.werkdagen_between(ams(2026, 1, 13), NAIVE)),
    ("add_business_hours", lambda: CAL.add_business_hours(NAIVE, 1)),
]


@pytest.mark.parametrize("call", [pytest.param(c, id=name) for name, c in NAIVE_CALLS])
def test_naive_datetime_rejected(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="naive; give a timezone-aware datetime"):
        call()
