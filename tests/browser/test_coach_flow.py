"""A coach and a wijkcoach at work in a real browser (chromium via Playwright, real server).

Placement, wijkcoach scenario 2 with consent, planning and holding a voortgangsgesprek, a refused
step with its reasons, a conflict between two browser sessions. Screenshots of the main pages go
to var/test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kovflow.services import case_overview, fire, open_case
from tests.browser.conftest import LiveServer
from tests.conftest import join_team

pytest.importorskip("playwright")

from playwright.sync_api import Locator, Page, expect

Login = Callable[[str], Page]
Shot = Callable[[Page, str], Path]
PLAATS = {"groep": "Bijen", "startdatum": "2026-12-07", "mentor": "pm", "vve_indicatie": "nee"}


def _open(server: LiveServer, **facts: bool) -> str:
    return open_case(server.app, server.world.coach, first_name="Sam", initial="J",
                     birth_date=date(2024, 5, 1), location="ZON", facts=facts).case_number


def _label(server: LiveServer, route: str, trigger: str) -> str:
    return server.app.catalog.get(route).transitions_for(trigger)[0].label


def _step(page: Page, label: str) -> Locator:
    """The step form ``label`` on the case page, opened."""
    step = page.locator("details.step").filter(
        has=page.locator("summary", has_text=label))
    expect(step).to_have_count(1)
    if step.get_attribute("open") is None:
        step.locator("summary").click()
    return step


def _state(page: Page, route_title: str) -> Locator:
    return page.locator("article.route").filter(
        has=page.get_by_role("heading", name=route_title)).locator(".state-label")


def _states(server: LiveServer, case: str) -> dict[str, str]:
    return {i.route: i.state for i in case_overview(server.app, server.world.coach,
                                                    case).instances}


def test_a_coach_places_a_child(server: LiveServer, login: Login, shot: Shot) -> None:
    case = _open(server)
    page = login("coach")
    expect(page.locator("tr.task")).to_have_count(1)
    expect(page.locator("tr.task")).to_contain_text("over 10 werkdagen")
    shot(page, "mijn-taken")
    page.get_by_role("link", name=case).click()
    expect(page.get_by_role("heading", name=f"Casus {case}", level=1)).to_be_visible()
    expect(page.locator("svg title").first).to_contain_text("huidige stand Aangemeld")

    step = _step(page, "Intake plannen")
    step.get_by_label("Datum intake").fill("2026-11-30")
    step.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_have_text("Stap 'Intake plannen' is vastgelegd.")
    expect(_state(page, "Toeleiding en plaatsing")).to_have_text("Intake gepland")
    expect(page.locator("#gesprekken + ul, section[aria-labelledby=gesprekken]")
           .first).to_contain_text("30 november 2026")

    step = _step(page, "Kind plaatsen")
    step.get_by_label("Groep").fill(PLAATS["groep"])
    step.get_by_label("Startdatum").fill(PLAATS["startdatum"])
    step.get_by_label("Mentor (pm)").fill(PLAATS["mentor"])
    step.get_by_role("radio", name="nee").check()
    step.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_have_text("Stap 'Kind plaatsen' is vastgelegd.")
    expect(_state(page, "Toeleiding en plaatsing")).to_have_text("Geplaatst")
    expect(page.get_by_role("heading", name="Wijkcoach: navraag", exact=False)).to_be_visible()
    assert "Sam" not in page.url
    shot(page, "casus-geplaatst")
    assert _states(server, case)["plaatsing"] == "geplaatst"


def test_wijkcoach_scenario_2_with_consent(server: LiveServer, login: Login, shot: Shot) -> None:
    case = _open(server)
    fire(server.app, server.world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    page = login("coach")
    page.goto(f"/casus/{case}")
    _step(page, _label(server, "wijkcoach", "wijkcoach_betrokken")) \
        .locator("button[type=submit]").click()
    expect(_state(page, "Wijkcoach: navraag, scenario's 1-3 en borging")).to_have_text(
        "Scenario 2: toestemming voor contact")

    consent_step = _label(server, "wijkcoach", "toestemming_gegeven")
    step = _step(page, consent_step)
    step.get_by_label("Contactniveau").select_option("samenwerking")
    step.locator("button[type=submit]").click()
    reasons = _step(page, consent_step).locator(".refused li")
    expect(reasons).to_have_count(2)
    expect(reasons.nth(0)).to_contain_text("kinderopvang_naar_wijkcoach")
    expect(reasons.nth(1)).to_contain_text("wijkcoach_naar_kinderopvang")
    shot(page, "casus-toestemming-ontbreekt")

    for scope in ("kinderopvang_naar_wijkcoach", "wijkcoach_naar_kinderopvang"):
        form = page.locator("#toestemming-vastleggen")
        form.locator("summary").click()
        form.get_by_label("Waarvoor").select_option(scope)
        form.get_by_label("Stand").select_option("gegeven")
        form.get_by_label("Vorm").select_option("schriftelijk")
        form.locator("button[type=submit]").click()
        expect(page.locator(".flash")).to_contain_text(scope)
    expect(page.locator("section[aria-labelledby=toestemming] tbody tr")).to_have_count(2)

    step = _step(page, consent_step)
    expect(step.get_by_label("Contactniveau")).to_have_value("")
    step.get_by_label("Contactniveau").select_option("samenwerking")
    step.locator("button[type=submit]").click()
    expect(_state(page, "Wijkcoach: navraag, scenario's 1-3 en borging")).to_have_text(
        "Wijkcoach betrokken")
    shot(page, "casus-wijkcoach-betrokken")

    # The wijkcoach of the case now sees it, with the consents and the step she can take.
    join_team(server.app, case, "wijkcoach")
    eva = login("wijkcoach")
    eva.goto(f"/casus/{case}")
    expect(eva.locator("section[aria-labelledby=toestemming]")).to_contain_text("gegeven")
    expect(_step(eva, _label(server, "wijkcoach", "plan_eerste_gesprek"))).to_be_visible()


def test_planning_and_holding_a_voortgangsgesprek(server: LiveServer, login: Login,
                                                   shot: Shot) -> None:
    case = _open(server)
    w, app = server.world, server.app
    fire(app, w.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    fire(app, w.coach, "wijkcoach", "wijkcoach_nodig", case=case)
    fire(app, w.coach, "wijkcoach", "ouders_stemmen_in", case=case,
         data={"datum": "2026-12-01", "plaats": "thuis", "collega_kinderopvang": "pm"})
    join_team(app, case, "wijkcoach")
    fire(app, w.wijkcoach, "wijkcoach", "kennismaking_gehouden", case=case)
    fire(app, w.wijkcoach, "wijkcoach", "plan_eerste_gesprek", case=case,
         data={"datum": "2026-12-10"})

    eva = login("wijkcoach")
    eva.goto(f"/casus/{case}")
    step = _step(eva, "Eerste gesprek vastleggen")
    step.get_by_label("Doelen").fill("taal; zindelijkheid")
    step.get_by_label("Afspraken met eigenaar").fill("ouders: voorlezen")
    step.get_by_label("Datum eerste voortgangsgesprek").fill("2027-01-20")
    step.get_by_label("Deelnemers voortgangsgesprek").fill("ouders; pm; wijkcoach")
    step.locator("button[type=submit]").click()
    expect(_state(eva, "Voortgangsgesprekken (evaluatie)")).to_have_text(
        "Voortgangsgesprek gepland")
    planned = eva.locator("section[aria-labelledby=gesprekken]")
    expect(planned).to_contain_text("20 januari 2027")
    shot(eva, "casus-voortgangsgesprek-gepland")

    server.clock.set(datetime(2027, 1, 20, 11, 0, tzinfo=ZoneInfo("Europe/Amsterdam")))
    coach = login("coach")
    expect(coach.locator("tr.task", has_text="voortgangsgesprek")).to_contain_text(
        "Zorg dat het voortgangsgesprek doorgaat")
    coach.locator("tr.task", has_text="voortgangsgesprek").get_by_role("link").click()
    step = _step(coach, "Voortgangsgesprek vastleggen")
    step.get_by_label("Resultaat per doel").fill("taal: deels; zindelijkheid: behaald")
    step.get_by_label("Aantekeningen").fill("goed gesprek")
    step.get_by_role("radio", name="ja").check()
    step.locator("button[type=submit]").click()
    expect(_state(coach, "Voortgangsgesprekken (evaluatie)")).to_have_text(
        "Voortgangsgesprek gehouden")

    step = _step(coach, "Volgend voortgangsgesprek plannen")
    step.locator("button[type=submit]").click()  # empty date: the default interval (8 weeks)
    expect(_state(coach, "Voortgangsgesprekken (evaluatie)")).to_have_text(
        "Voortgangsgesprek gepland")
    expect(coach.locator("section[aria-labelledby=gesprekken]")).to_contain_text(
        "17 maart 2027")
    expect(coach.locator("ol.timeline")).to_contain_text("Voortgangsgesprek vastleggen")
    shot(coach, "casus-voortgangsgesprek-vervolg")


def test_a_refused_step_shows_its_reasons_and_gets_focus(server: LiveServer, login: Login,
                                                         shot: Shot) -> None:
    case = _open(server, jgz_zorgen=True)
    page = login("coach")
    page.goto(f"/casus/{case}")
    step = _step(page, "Kind plaatsen")
    step.get_by_label("Groep").fill("Vlinders")
    step.get_by_label("Startdatum").fill("2026-12-07")
    step.get_by_label("Mentor (pm)").fill("pm")
    step.get_by_role("radio", name="nee").check()
    step.locator("button[type=submit]").click()
    refused = page.locator(".refused")
    expect(refused).to_contain_text("Deze stap kan nu niet")
    expect(refused).to_contain_text("warme overdracht door de JGZ is nog niet afgerond")
    expect(refused).to_be_focused()  # kovflow.js: a keyboard user lands on the reasons
    expect(_step(page, "Kind plaatsen").get_by_label("Groep")).to_have_value("Vlinders")
    shot(page, "casus-stap-geweigerd")
    assert _states(server, case)["plaatsing"] == "aangemeld"


def test_a_conflict_between_two_browser_sessions(server: LiveServer, login: Login,
                                                 shot: Shot) -> None:
    case = _open(server)
    anna, carla = login("coach"), login("manager")
    for page in (anna, carla):
        page.goto(f"/casus/{case}")
    step = _step(carla, "Intake plannen")
    step.get_by_label("Datum intake").fill("2026-12-03")
    step.locator("button[type=submit]").click()
    expect(_state(carla, "Toeleiding en plaatsing")).to_have_text("Intake gepland")

    step = _step(anna, "Intake plannen")  # anna's page is stale
    step.get_by_label("Datum intake").fill("2026-12-01")
    step.locator("button[type=submit]").click()
    conflict = anna.locator(".conflict")
    expect(conflict).to_contain_text("Deze casus is intussen gewijzigd")
    expect(conflict).to_contain_text("De route staat nu op: Intake gepland")
    expect(conflict).to_contain_text("2026-12-01")  # what anna typed is still there
    shot(anna, "casus-conflict")
    fire_again = _step(anna, "Kind plaatsen")  # and she can go on from the new state
    expect(fire_again).to_be_visible()
