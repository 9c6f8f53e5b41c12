"""Consent: scope guards, withdrawal before and after transfer, medical data needs explicit consent,
and a refusal that never blocks the child's own care."""

from __future__ import annotations

from datetime import date

import pytest

from kovflow.errors import InvalidInput, TransitionNotAllowed
from kovflow.services import (
    consents_of,
    fire,
    mark_transferred,
    open_case,
    record_consent,
)
from tests.conftest import World, join_team

PLAATS = {"groep": "Bijen", "startdatum": "2026-12-01", "mentor": "pm", "vve_indicatie": "nee"}
SCOPES = ("kinderopvang_naar_wijkcoach", "wijkcoach_naar_kinderopvang")


def _scenario_2(world: World) -> str:
    case = open_case(world.app, world.coach, first_name="Sam", initial="J",
                     birth_date=date(2024, 5, 1), location=world.location).case_number
    join_team(world.app, case)
    fire(world.app, world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    fire(world.app, world.coach, "wijkcoach", "wijkcoach_betrokken", case=case)
    return case


def test_scope_guard_needs_every_named_consent(world: World) -> None:
    case = _scenario_2(world)
    record_consent(world.app, world.coach, case, SCOPES[0], "gegeven", form="schriftelijk")
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(world.app, world.coach, "wijkcoach", "toestemming_gegeven", case=case,
             data={"contactniveau": "samenwerking"})
    assert [r.code for r in refused.value.reasons] == ["consent-missing"]
    record_consent(world.app, world.coach, case, SCOPES[1], "gegeven", form="mondeling")
    fire(world.app, world.coach, "wijkcoach", "toestemming_gegeven", case=case,
         data={"contactniveau": "samenwerking"})


def test_withdrawal_before_transfer_stops_sharing_without_remainder(world: World) -> None:
    case = _scenario_2(world)
    record_consent(world.app, world.coach, case, SCOPES[0], "gegeven")
    record_consent(world.app, world.coach, case, SCOPES[0], "ingetrokken")
    (status,) = consents_of(world.app, world.coach, case)
    assert (status["status"], status["transferred"]) == ("ingetrokken", False)
    assert status["betekenis"] == "niets meer delen"
    with pytest.raises(InvalidInput, match="zonder gegeven toestemming"):
        mark_transferred(world.app, world.coach, case, SCOPES[0])


def test_withdrawal_after_transfer_says_what_was_shared_stays(world: World) -> None:
    case = _scenario_2(world)
    record_consent(world.app, world.coach, case, SCOPES[0], "gegeven")
    mark_transferred(world.app, world.coach, case, SCOPES[0])
    record_consent(world.app, world.coach, case, SCOPES[0], "ingetrokken")
    (status,) = consents_of(world.app, world.coach, case)
    assert status["transferred"] is True
    assert "wat al gedeeld is, blijft bij de ontvanger" in status["betekenis"]
    # From now on the guard refuses what needs this consent.
    record_consent(world.app, world.coach, case, SCOPES[1], "gegeven")
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(world.app, world.coach, "wijkcoach", "toestemming_gegeven", case=case,
             data={"contactniveau": "samenwerking"})
    assert "is ingetrokken" in refused.value.reasons[0].message


def test_only_given_consent_can_be_withdrawn_and_medical_data_needs_explicit_consent(
        world: World) -> None:
    case = _scenario_2(world)
    with pytest.raises(InvalidInput, match="om in te trekken"):
        record_consent(world.app, world.coach, case, SCOPES[0], "ingetrokken")
    with pytest.raises(InvalidInput, match="explicit"):
        record_consent(world.app, world.coach, case, "jgz_naar_kinderopvang", "gegeven",
                       categories=("medisch",))
    record_consent(world.app, world.coach, case, "jgz_naar_kinderopvang", "gegeven",
                   categories=("medisch",), medical_explicit=True)


def test_a_refusal_never_blocks_the_childs_own_care(world: World) -> None:
    case = _scenario_2(world)
    record_consent(world.app, world.coach, case, SCOPES[0], "geweigerd")
    fire(world.app, world.coach, "wijkcoach", "toestemming_geweigerd", case=case)
    # The placement itself goes on: an outflow step is still possible for the coach.
    (status,) = consents_of(world.app, world.coach, case)
    assert "de zorg voor het kind gaat gewoon door" in status["betekenis"]
    result = fire(world.app, world.coach, "plaatsing", "vve_indicatie_tijdens_plaatsing", case=case,
                  data={"vve_datum": "2027-01-10", "vve_afgever": "JGZ"})
    assert result.to_state == "geplaatst"
