"""Administration and other refusals that say exactly what is wrong and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import text

from kovflow.errors import InvalidInput
from kovflow.services import add_location, add_participant, add_user, open_case, record_consent
from kovflow.services.access_report import access_report
from kovflow.services.mail import outbox, requeue
from tests.conftest import World


def _tables(world: World) -> dict[str, int]:
    with world.app.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("users", "locations", "participants", "consents", "outbox")}


CASES: dict[str, tuple[Callable[[World, str], object], str]] = {
    "coach adds a user": (lambda w, c: add_user(w.app, w.coach, "x", ["pm"]),
                          "may not manage users or locations"),
    "coach adds a location": (lambda w, c: add_location(w.app, w.coach, "L2", "Twee"),
                              "may not manage users or locations"),
    "duplicate user": (lambda w, c: add_user(w.app, w.operator, "coach", ["coach"]),
                       "exists already"),
    "duplicate location": (lambda w, c: add_location(w.app, w.operator, "ZON", "Zon"),
                           "exists already"),
    "unknown role": (lambda w, c: add_user(w.app, w.operator, "x", ["kapper"]), "unknown role"),
    "username with a space": (lambda w, c: add_user(w.app, w.operator, "a b", ["pm"]),
                              "one word without spaces"),
    "participant with an unknown role": (
        lambda w, c: add_participant(w.app, w.coach, c, "kapper", name="X"), "unknown role"),
    "participant nobody": (lambda w, c: add_participant(w.app, w.coach, c, "pm"),
                           "name a user"),
    "consent status": (lambda w, c: record_consent(w.app, w.coach, c, "s", "misschien"),
                       "consent status must be one of"),
    "coach lists the outbox": (lambda w, c: outbox(w.app, w.coach), "manage outgoing mail"),
    "coach requeues mail": (lambda w, c: requeue(w.app, w.coach), "manage outgoing mail"),
    "coach asks an access report": (lambda w, c: access_report(w.app, w.coach, c),
                                    "functioneel beheer"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_refusal_says_what_is_wrong_and_writes_nothing(world: World, name: str) -> None:
    case = open_case(world.app, world.coach, first_name="Sam", initial="J",
                     birth_date=date(2024, 5, 1), location=world.location).case_number
    call, says = CASES[name]
    before = _tables(world)
    with pytest.raises(InvalidInput, match=says):
        call(world, case)
    assert _tables(world) == before


def test_an_admin_may_do_what_the_coach_may_not(world: World) -> None:
    case = open_case(world.app, world.coach, first_name="Sam", initial="J",
                     birth_date=date(2024, 5, 1), location=world.location).case_number
    add_user(world.app, world.admin, "nieuw", ["pm"], location=world.location)
    assert outbox(world.app, world.admin) == []
    assert requeue(world.app, world.admin, [1, 2]) == 0
    assert [r["action"] for r in access_report(world.app, world.admin, case)] == ["write"]
