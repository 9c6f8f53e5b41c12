"""Every documented path of the shipped routes, driven through the services with persistence.

After every step the state is read back from the database (a fresh read transaction), so a step
that only changed memory would fail here.
"""

from __future__ import annotations

from datetime import date

import pytest

from kovflow.services import case_overview, fire, open_case, record_consent
from tests.conftest import World, join_team
from tests.scenarios.steps import Step

PLAATS = {"groep": "Bijen", "startdatum": "2026-12-01", "mentor": "pm", "vve_indicatie": "ja",
          "vve_datum": "2026-10-01", "vve_afgever": "JGZ"}


PLACED = (Step("plaatsing", "plaats", "coach", "geplaatst", PLAATS),)

PATHS: dict[str, tuple[tuple[str, ...], tuple[Step, ...]]] = {
    "plaatsing: intake, plaatsing, uitstroom": ((), (
        Step("plaatsing", "plan_intake", "coach", "intake_gepland", {"intake_datum": "2026-11-30"}),
        Step("plaatsing", "plaats", "manager", "geplaatst", PLAATS),
        Step("plaatsing", "vve_indicatie_tijdens_plaatsing", "coach", "geplaatst",
             {"vve_datum": "2027-01-10", "vve_afgever": "JGZ"}),
        Step("plaatsing", "stroom_uit", "coach", "uitgestroomd",
             {"uitstroom_datum": "2028-05-01", "uitstroom_reden": "basisonderwijs",
              "passend_geboden": "ja"}),
    )),
    "plaatsing: annuleren na aanmelding": ((), (
        Step("plaatsing", "annuleer", "coach", "geannuleerd", {"reden": "verhuisd"}),
    )),
    "plaatsing: annuleren na intake": ((), (
        Step("plaatsing", "plan_intake", "coach", "intake_gepland", {"intake_datum": "2026-11-30"}),
        Step("plaatsing", "annuleer", "manager", "geannuleerd", {"reden": "andere opvang"}),
    )),
    "warme overdracht: afgerond, dan plaatsing": (("warme_overdracht_jgz",), (
        Step("warme_overdracht_jgz", "vraag_toestemming", "jgz", "toestemming_gevraagd"),
        Step("warme_overdracht_jgz", "toestemming_gegeven", "jgz", "toestemming_gevraagd",
             consents=("jgz_naar_kinderopvang",)),
        Step("warme_overdracht_jgz", "plan_gesprek", "jgz", "gesprek_gepland",
             {"gesprek_datum": "2026-11-27", "deelnemers": "jgz; ouders; coach"}),
        Step("warme_overdracht_jgz", "voer_gesprek", "coach", "gesprek_gevoerd",
             {"aandachtspunten": "taal", "afspraken": "logopedie"}),
        Step("warme_overdracht_jgz", "rond_af", "coach", "afgerond"),
        *PLACED,
    )),
    "warme overdracht: geen toestemming, dan plaatsing": (("warme_overdracht_jgz",), (
        Step("warme_overdracht_jgz", "vraag_toestemming", "jgz", "toestemming_gevraagd"),
        Step("warme_overdracht_jgz", "toestemming_geweigerd", "jgz", "geen_toestemming"),
        *PLACED,
    )),
    "wijkcoach: niet nodig": ((), (
        *PLACED, Step("wijkcoach", "geen_wijkcoach_nodig", "pm", "geen_wijkcoach_nodig"),
    )),
    "wijkcoach scenario 1 tot borging": ((), (
        *PLACED,
        Step("wijkcoach", "wijkcoach_nodig", "coach", "motiveren"),
        Step("wijkcoach", "ouders_stemmen_in", "coach", "kennismaking_gepland",
             {"datum": "2026-12-03", "plaats": "thuis", "collega_kinderopvang": "pm"}),
        Step("wijkcoach", "kennismaking_gehouden", "wijkcoach", "betrokken"),
        Step("wijkcoach", "plan_eerste_gesprek", "wijkcoach", "eerste_gesprek_gepland",
             {"datum": "2026-12-10"}),
        Step("wijkcoach", "voer_eerste_gesprek", "wijkcoach", "borging",
             {"doelen": "zindelijk; praten", "acties": "ouders: oefenen",
              "datum_voortgangsgesprek": "2027-02-01",
              "deelnemers_voortgangsgesprek": "ouders; pm; wijkcoach"}),
        Step("wijkcoach", "sluit_af", "wijkcoach", "afgesloten", {"reden": "doelen behaald"}),
    )),
    "wijkcoach scenario 2 met toestemming": ((), (
        *PLACED,
        Step("wijkcoach", "wijkcoach_betrokken", "pm", "toestemming_contact"),
        Step("wijkcoach", "toestemming_gegeven", "coach", "betrokken",
             {"contactniveau": "samenwerking"},
             consents=("kinderopvang_naar_wijkcoach", "wijkcoach_naar_kinderopvang")),
        Step("wijkcoach", "sluit_af", "coach", "afgesloten", {"reden": "verhuisd"}),
    )),
    "wijkcoach scenario 2 geweigerd, opnieuw, warme overdracht": ((), (
        *PLACED,
        Step("wijkcoach", "wijkcoach_betrokken", "coach", "toestemming_contact"),
        Step("wijkcoach", "toestemming_geweigerd", "coach", "toestemming_geweigerd"),
        Step("wijkcoach", "opnieuw_gevraagd", "wijkcoach", "toestemming_contact"),
        Step("wijkcoach", "plan_warme_overdracht", "coach", "warme_overdracht_gepland",
             {"datum": "2026-12-15"}),
        Step("wijkcoach", "warme_overdracht_gehouden", "wijkcoach", "betrokken"),
        Step("wijkcoach", "sluit_af", "wijkcoach", "afgesloten", {"reden": "afgerond"}),
    )),
    "wijkcoach scenario 3: ouders houden af": ((), (
        *PLACED,
        Step("wijkcoach", "wijkcoach_nodig", "coach", "motiveren"),
        Step("wijkcoach", "ouders_weigeren", "pm", "ouders_houden_af"),
        Step("wijkcoach", "anoniem_overleg", "coach", "ouders_houden_af",
             {"advies": "blijf in gesprek"}),
        Step("wijkcoach", "ouders_heroverwegen", "coach", "motiveren"),
        Step("wijkcoach", "ouders_weigeren", "coach", "ouders_houden_af"),
        Step("wijkcoach", "sluit_af", "coach", "afgesloten", {"reden": "uitgestroomd"}),
    )),
}


def _state(world: World, case: str, route: str) -> str:
    views = [i for i in case_overview(world.app, world.coach, case).instances if i.route == route]
    assert views, f"no {route} instance on {case}"
    return views[-1].state


@pytest.mark.parametrize("name", list(PATHS))
def test_path_reaches_its_end_and_persists_every_step(world: World, name: str) -> None:
    extra_routes, steps = PATHS[name]
    opened = open_case(world.app, world.coach, first_name="Sam", initial="J",
                       birth_date=date(2024, 5, 1), location=world.location,
                       routes=("plaatsing", *extra_routes))
    join_team(world.app, opened.case_number)
    for step in steps:
        for scope in step.consents:
            record_consent(world.app, world.coach, opened.case_number, scope, "gegeven")
        actor = getattr(world, step.who)
        result = fire(world.app, actor, step.route, step.trigger, case=opened.case_number,
                      data=step.data)
        assert result.to_state == step.to
        assert _state(world, opened.case_number, step.route) == step.to
    last = steps[-1]
    route = world.app.catalog.get(last.route)
    assert route.states[last.to].final or last.to == "geplaatst"
