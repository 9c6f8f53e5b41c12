"""Views for another organisation are limited to what consent covers.

A partner who takes part in a case (here the wijkcoach) sees the case, its routes, states and
tasks, and the data they recorded themselves; the child's name and the data of each route only
as far as a given, not withdrawn consent for their role covers the data category; medical data
only under explicit consent. What is left out is named ("niet gedeeld: ..."). The childcare
organisation's own view stays complete, and a refusal never blocks the child's care.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from kovflow.access.policy import (
    ROUTE_CATEGORIES,
    Category,
    ConsentFacts,
    concerns,
    scope_sides,
    shared_categories,
)
from kovflow.errors import InvalidInput
from kovflow.services import (
    case_overview,
    consents_of,
    fire,
    history,
    open_case,
    record_consent,
)
from kovflow.services.cases import search_cases
from tests.conftest import World, join_team

PLAATS = {"groep": "Kanariegroep", "startdatum": "2026-12-10", "mentor": "pm",
          "vve_indicatie": "nee"}
TO_WIJKCOACH = "kinderopvang_naar_wijkcoach"


def _case(world: World) -> str:
    """A placed child with a JGZ warm handover whose conversation the coach recorded."""
    case = open_case(world.app, world.coach, first_name="Kanarie", initial="K",
                     birth_date=date(2024, 5, 1), location=world.location,
                     routes=("plaatsing", "warme_overdracht_jgz")).case_number
    join_team(world.app, case, "wijkcoach", "jgz")
    fire(world.app, world.jgz, "warme_overdracht_jgz", "vraag_toestemming", case=case,
         data={"geplande_startdatum": "2026-12-10"})
    record_consent(world.app, world.jgz, case, "jgz_naar_kinderopvang", "gegeven",
                   categories=("medisch",), medical_explicit=True)
    fire(world.app, world.coach, "warme_overdracht_jgz", "plan_gesprek", case=case,
         data={"gesprek_datum": "2026-12-01", "deelnemers": "JGZ;ouders;coach"})
    fire(world.app, world.coach, "warme_overdracht_jgz", "voer_gesprek", case=case,
         data={"aandachtspunten": "Kanarie-aandachtspunt", "afspraken": "Kanarie-afspraak"})
    fire(world.app, world.coach, "warme_overdracht_jgz", "rond_af", case=case)
    fire(world.app, world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    return case


def _data_of(events: list[dict[str, Any]], route: str, trigger: str) -> dict[str, Any]:
    (event,) = [e for e in events if e["route"] == route and e["trigger"] == trigger]
    return event


def test_without_consent_a_partner_sees_the_case_but_not_the_child(world: World) -> None:
    case = _case(world)
    view = case_overview(world.app, world.wijkcoach, case)
    assert (view.first_name, view.initial, view.birth_date) == ("", "", None)
    assert {i.route for i in view.instances} >= {"plaatsing", "warme_overdracht_jgz", "wijkcoach"}
    assert view.open_tasks  # the work itself is visible: tasks and their roles
    assert {who for who, _, _ in view.participants} >= {"coach", "wijkcoach", "jgz"}
    assert set(view.withheld) == {f"niet gedeeld: geen toestemming voor {c}" for c in Category}
    events = history(world.app, world.wijkcoach, case)
    placed = _data_of(events, "plaatsing", "plaats")
    assert placed["data"] == {}
    assert placed["niet_gedeeld"] == "niet gedeeld: geen toestemming voor plaatsing"
    talk = _data_of(events, "warme_overdracht_jgz", "voer_gesprek")
    assert (talk["data"], talk["niet_gedeeld"]) == ({}, "niet gedeeld: geen toestemming voor medisch")
    assert "Kanarie" not in repr(events) + repr(view)
    # The wijkcoach does not find the child by name either; the case number still finds it.
    assert search_cases(world.app, world.wijkcoach, "Kanarie") == []
    (hit,) = search_cases(world.app, world.wijkcoach, case)
    assert hit["first_name"] == ""


def test_the_childcare_view_stays_complete(world: World) -> None:
    case = _case(world)
    view = case_overview(world.app, world.coach, case)
    assert (view.first_name, view.birth_date, view.withheld) == ("Kanarie", date(2024, 5, 1), ())
    events = history(world.app, world.coach, case)
    assert _data_of(events, "plaatsing", "plaats")["data"]["groep"] == "Kanariegroep"
    assert not any("niet_gedeeld" in e for e in events)
    assert [c["scope"] for c in consents_of(world.app, world.coach, case)] == [
        "jgz_naar_kinderopvang"]


def test_given_consent_shares_its_categories_and_medical_data_needs_explicit_consent(
        world: World) -> None:
    case = _case(world)
    record_consent(world.app, world.coach, case, TO_WIJKCOACH, "gegeven", form="schriftelijk")
    view = case_overview(world.app, world.wijkcoach, case)
    assert (view.first_name, view.birth_date) == ("Kanarie", date(2024, 5, 1))
    assert view.withheld == ("niet gedeeld: geen toestemming voor medisch",)
    events = history(world.app, world.wijkcoach, case)
    assert _data_of(events, "plaatsing", "plaats")["data"]["groep"] == "Kanariegroep"
    assert _data_of(events, "warme_overdracht_jgz", "voer_gesprek")["data"] == {}
    assert [h["first_name"] for h in search_cases(world.app, world.wijkcoach, "kana")] == [
        "Kanarie"]
    # Medical data: listed, and recorded as explicit consent; otherwise refused outright.
    with pytest.raises(InvalidInput, match="explicit"):
        record_consent(world.app, world.coach, case, TO_WIJKCOACH, "gegeven",
                       categories=("personalia", "medisch"))
    with pytest.raises(InvalidInput, match="unknown data category medische_info"):
        record_consent(world.app, world.coach, case, TO_WIJKCOACH, "gegeven",
                       categories=("personalia", "medische_info"))
    record_consent(world.app, world.coach, case, TO_WIJKCOACH, "gegeven",
                   categories=("personalia", "medisch"), medical_explicit=True)
    events = history(world.app, world.wijkcoach, case)
    talk = _data_of(events, "warme_overdracht_jgz", "voer_gesprek")["data"]
    assert talk["aandachtspunten"] == "Kanarie-aandachtspunt"
    # The newest consent of a scope counts: it lists no "plaatsing" any more.
    assert _data_of(events, "plaatsing", "plaats")["data"] == {}


def test_withdrawn_or_refused_consent_shares_nothing_more(world: World) -> None:
    case = _case(world)
    record_consent(world.app, world.coach, case, TO_WIJKCOACH, "gegeven")
    assert case_overview(world.app, world.wijkcoach, case).first_name == "Kanarie"
    record_consent(world.app, world.coach, case, TO_WIJKCOACH, "ingetrokken")
    assert case_overview(world.app, world.wijkcoach, case).first_name == ""
    record_consent(world.app, world.coach, case, TO_WIJKCOACH, "geweigerd")
    assert case_overview(world.app, world.wijkcoach, case).first_name == ""


def test_a_partner_sees_its_own_records_and_the_consents_about_its_role(world: World) -> None:
    case = _case(world)
    record_consent(world.app, world.coach, case, "kinderopvang_naar_ambulant", "gegeven")
    record_consent(world.app, world.coach, case, TO_WIJKCOACH, "geweigerd")
    # The JGZ sees the step it took itself, whatever the consents.
    events = history(world.app, world.jgz, case)
    assert _data_of(events, "warme_overdracht_jgz", "vraag_toestemming")["data"] == {
        "geplande_startdatum": "2026-12-10"}
    rows = consents_of(world.app, world.wijkcoach, case)
    assert [(r["scope"], r["status"]) for r in rows] == [
        (TO_WIJKCOACH, "geweigerd"), ("", "niet_gedeeld")]
    assert rows[-1]["betekenis"] == ("niet gedeeld: 2 toestemming(en) die andere organisaties "
                                     "betreffen")
    consent_events = [e for e in history(world.app, world.wijkcoach, case)
                      if e["kind"] == "consent"]
    assert [e["data"].get("scope") for e in consent_events] == [None, None, TO_WIJKCOACH]


def test_a_refusal_never_blocks_the_childs_own_care(world: World) -> None:
    case = _case(world)
    record_consent(world.app, world.coach, case, TO_WIJKCOACH, "geweigerd")
    fire(world.app, world.coach, "wijkcoach", "wijkcoach_betrokken", case=case)
    fire(world.app, world.coach, "wijkcoach", "toestemming_geweigerd", case=case)
    result = fire(world.app, world.coach, "plaatsing", "vve_indicatie_tijdens_plaatsing",
                  case=case, data={"vve_datum": "2027-01-10", "vve_afgever": "JGZ"})
    assert result.to_state == "geplaatst"
    # The wijkcoach, limited in what it reads, still acts on its own route.
    fire(world.app, world.wijkcoach, "wijkcoach", "opnieuw_gevraagd", case=case)


# --- the tables themselves --------------------------------------------------------------------

def test_every_child_route_has_a_category_or_is_a_compartment(world: World) -> None:
    child_routes = {s.id for s in world.app.catalog.latest() if s.per == "child"}
    assert child_routes - set(ROUTE_CATEGORIES) == {"meldcode", "meldcode_medewerker"}


def test_scopes_name_their_sides_and_medical_data_is_never_implied() -> None:
    assert scope_sides(TO_WIJKCOACH) == (frozenset({"pm", "coach", "manager",
                                                    "aandachtsfunctionaris", "houder"}),
                                         frozenset({"wijkcoach"}))
    assert scope_sides("kinderopvang_naar_ambulant")[1] == {"ambulant_begeleider"}
    assert scope_sides("iets_anders", recipient="logopedist")[1] == {"logopedist"}
    assert scope_sides("zonder_richting") == (frozenset(), frozenset())
    wijkcoach = frozenset({"wijkcoach"})
    given = ConsentFacts(TO_WIJKCOACH, "gegeven")
    assert Category.MEDISCH not in shared_categories(wijkcoach, [given])
    assert Category.GEZIN in shared_categories(wijkcoach, [given])
    listed = ConsentFacts(TO_WIJKCOACH, "gegeven", categories=("medisch",))
    assert shared_categories(wijkcoach, [listed]) == frozenset()
    explicit = ConsentFacts(TO_WIJKCOACH, "gegeven", categories=("medisch",),
                            medical_explicit=True)
    assert shared_categories(wijkcoach, [explicit]) == {Category.MEDISCH}
    for status in ("gevraagd", "geweigerd", "ingetrokken"):
        assert shared_categories(wijkcoach, [ConsentFacts(TO_WIJKCOACH, status)]) == frozenset()
    assert shared_categories(frozenset({"jgz"}), [given]) == frozenset()
    assert concerns(wijkcoach, "wijkcoach_naar_kinderopvang")
    assert not concerns(wijkcoach, "kinderopvang_naar_ambulant")
