"""The case page: child, faces, routes with diagram and step forms, refusals, conflicts, consents,
planned conversations, timeline, and the same 404 for a stranger as for a missing case."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import date

from starlette.testclient import TestClient

from kovflow.services import case_overview, consents_of, fire, open_case
from tests.conftest import World, join_team
from tests.web.conftest import csrf_of

Login = Callable[[str], TestClient]


def _case(world: World, **facts: bool) -> str:
    routes = ("plaatsing",)
    return open_case(world.app, world.coach, first_name="Sam", initial="J",
                     birth_date=date(2024, 5, 1), location="ZON", routes=routes,
                     facts=facts).case_number


def _revision(page: str, route: str) -> str:
    found = re.search(rf'name="route" value="{route}">\s*<input type="hidden" name="instance" '
                      r'value="(\d+)">\s*<input type="hidden" name="trigger" value="[a-z_]+">\s*'
                      r'<input type="hidden" name="expected_revision" value="(\d+)">', page)
    assert found, f"no step form for {route}"
    return found.group(2)


def _instance(page: str, route: str) -> str:
    found = re.search(rf'name="route" value="{route}">\s*<input type="hidden" name="instance" '
                      r'value="(\d+)">', page)
    assert found
    return found.group(1)


def _step(client: TestClient, case: str, page: str, route: str, trigger: str,
          **data: str) -> object:
    form = {"csrf_token": csrf_of(page), "route": route, "instance": _instance(page, route),
            "trigger": trigger, "expected_revision": _revision(page, route), **data}
    return client.post(f"/casus/{case}/stap", data=form, follow_redirects=False)


def test_case_page_shows_child_faces_diagram_and_generated_forms(world: World,
                                                                 login_as: Login) -> None:
    case = _case(world)
    page = login_as("coach").get(f"/casus/{case}")
    assert page.status_code == 200
    html = page.text
    assert f"<h1>Casus {case}</h1>" in html
    assert "Sam J" in html and "1 mei 2024" in html
    assert "Gezichten rond dit kind" in html
    faces = re.search(r'id="gezichten".*?</table>', html, re.S)
    assert faces and "coach passende kinderopvang" in faces.group(0)
    assert "23 november 2026" in faces.group(0)  # since
    # The diagram: an SVG with a text alternative naming the current state, highlighted.
    assert "<svg" in html and "huidige stand Aangemeld" in html
    assert re.search(r'<g class="state current" data-state="aangemeld">', html)
    assert 'class="state current"' not in html.replace(
        '<g class="state current" data-state="aangemeld">', "")
    # Forms from the route data: a date field with its Dutch label, required.
    assert '<label for="i1-plan_intake-intake_datum">Datum intake' in html
    assert re.search(r'id="i1-plan_intake-intake_datum" name="intake_datum" type="date"[^>]*'
                     r"required", html)
    assert re.search(r'<select id="i1-stroom_uit-uitstroom_reden"', html) is None  # not yet
    assert 'type="radio" id="i1-plaats-vve_indicatie-ja"' in html  # a bool: ja/nee
    assert 'name="expected_revision" value="0"' in html


def test_every_form_field_has_a_label(world: World, login_as: Login) -> None:
    html = login_as("coach").get(f"/casus/{_case(world)}").text
    ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html)
    assert ids
    for field_id in ids:
        if field_id.endswith(("-ja", "-nee")):  # radio buttons sit inside their label
            assert re.search(rf'<label class="inline"><input type="radio" id="{field_id}"', html)
        else:
            assert f'<label for="{field_id}"' in html, field_id
    unlabeled = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")(?![^>]*\bid=)'
                           r'[^>]*>', html)
    assert unlabeled == []


def test_a_step_from_the_page_moves_the_route_and_says_so(world: World,
                                                          login_as: Login) -> None:
    case = _case(world)
    client = login_as("coach")
    page = client.get(f"/casus/{case}").text
    done = _step(client, case, page, "plaatsing", "plan_intake", intake_datum="2026-12-01")
    assert done.status_code == 303  # type: ignore[attr-defined]
    location = done.headers["location"]  # type: ignore[attr-defined]
    assert location == f"/casus/{case}#route-plaatsing" and "Sam" not in location
    after = client.get(location).text
    assert "Stap &#39;Intake plannen&#39; is vastgelegd." in after
    assert "huidige stand Intake gepland" in after
    assert "Er staan geen gesprekken gepland." not in after
    planned = re.search(r'id="gesprekken".*?</section>', after, re.S)
    assert planned and "1 december 2026" in planned.group(0) and "Intake" in planned.group(0)
    # The timeline names the step and the data recorded with it.
    assert "Toeleiding en plaatsing: Intake plannen (nu: Intake gepland)" in after
    timeline = re.search(r'id="tijdlijn".*?</section>', after, re.S)
    assert timeline and "<li>Datum intake: 2026-12-01</li>" in timeline.group(0)
    assert 'name="expected_revision" value="1"' in after
    # The flash is shown once.
    assert "is vastgelegd" not in client.get(f"/casus/{case}").text


def test_a_refused_step_shows_every_reason_and_keeps_the_entered_values(
        world: World, login_as: Login) -> None:
    case = _case(world, jgz_zorgen=True)  # the warme overdracht JGZ starts and must finish first
    client = login_as("coach")
    page = client.get(f"/casus/{case}").text
    refused = _step(client, case, page, "plaatsing", "plaats", groep="Vlinders",
                    vve_indicatie="ja")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    html = refused.text  # type: ignore[attr-defined]
    box = re.search(r'<div class="refused" role="alert" id="redenen-\d+-plaats">(.*?)</div>',
                    html, re.S)
    assert box, "no reasons next to the form"
    reasons = re.findall(r"<li>(.*?)</li>", box.group(1))
    assert any("warme overdracht door de JGZ is nog niet afgerond" in r for r in reasons)
    assert any("Startdatum is verplicht" in r for r in reasons)
    assert any("Datum VVE-indicatie is verplicht" in r for r in reasons)
    assert 'name="groep"' in html and ">Vlinders</textarea>" in html  # nothing lost
    assert re.search(r'id="i1-plaats-vve_indicatie-ja" name="vve_indicatie" value="ja" checked',
                     html)
    assert re.search(r'<details class="step" id="stap-1-plaats" open>', html)
    assert case_overview(world.app, world.coach, case).instances[0].state == "aangemeld"


def test_a_conflict_says_the_case_changed_and_loses_nothing(world: World,
                                                            login_as: Login) -> None:
    case = _case(world)
    client = login_as("coach")
    stale = client.get(f"/casus/{case}").text
    fire(world.app, world.manager, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2026-12-03"})  # someone else, meanwhile
    answer = _step(client, case, stale, "plaatsing", "plan_intake", intake_datum="2026-12-01")
    assert answer.status_code == 409  # type: ignore[attr-defined]
    html = answer.text  # type: ignore[attr-defined]
    box = re.search(r'<div class="conflict" role="alert">(.*?)</div>', html, re.S)
    assert box and "Deze casus is intussen gewijzigd" in box.group(1)
    assert "De route staat nu op: <strong>Intake gepland</strong>" in box.group(1)
    assert "Datum intake: 2026-12-01" in box.group(1)
    assert 'name="expected_revision" value="1"' in html  # the form now has the new revision
    data = next(i for i in case_overview(world.app, world.coach, case).instances
            if i.route == "plaatsing")
    assert data.revision == 1  # the stale step wrote nothing


def test_a_step_without_csrf_token_changes_nothing(world: World, login_as: Login) -> None:
    case = _case(world)
    client = login_as("coach")
    page = client.get(f"/casus/{case}").text
    answer = client.post(f"/casus/{case}/stap", data={
        "route": "plaatsing", "instance": _instance(page, "plaatsing"), "trigger": "plan_intake",
        "expected_revision": "0", "intake_datum": "2026-12-01", "csrf_token": "vervalst"})
    assert answer.status_code == 403 and "Er is niets gewijzigd" in answer.text
    assert case_overview(world.app, world.coach, case).instances[0].state == "aangemeld"


def test_a_stranger_gets_exactly_the_page_of_a_missing_case(world: World,
                                                            login_as: Login) -> None:
    case = _case(world)
    client = login_as("wijkcoach")  # a partner who is not part of this case
    hidden = client.get(f"/casus/{case}")
    missing = client.get("/casus/KOV-99999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text == missing.text
    assert "Sam" not in hidden.text
    page = login_as("coach").get(f"/casus/{case}").text
    refused = client.post(f"/casus/{case}/stap", data={
        "csrf_token": csrf_of(client.get("/").text), "route": "plaatsing",
        "instance": _instance(page, "plaatsing"), "trigger": "plan_intake",
        "expected_revision": "0", "intake_datum": "2026-12-01"})
    assert refused.status_code == 404 and refused.text == missing.text
    join_team(world.app, case, "wijkcoach")
    assert client.get(f"/casus/{case}").status_code == 200


def test_consent_is_recorded_and_withdrawn_from_the_page(world: World, login_as: Login) -> None:
    case = _case(world)
    client = login_as("coach")
    page = client.get(f"/casus/{case}").text
    token = csrf_of(page)
    given = client.post(f"/casus/{case}/toestemming", data={
        "csrf_token": token, "scope": "kinderopvang_naar_wijkcoach", "status": "gegeven",
        "form": "schriftelijk"}, follow_redirects=False)
    assert given.status_code == 303
    html = client.get(given.headers["location"]).text
    assert "gegevens mogen worden gedeeld" in html
    assert 'aria-label="Toestemming kinderopvang_naar_wijkcoach intrekken"' in html
    withdrawn = client.post(f"/casus/{case}/toestemming", data={
        "csrf_token": token, "scope": "kinderopvang_naar_wijkcoach", "status": "ingetrokken"},
        follow_redirects=False)
    assert withdrawn.status_code == 303
    assert "niets meer delen" in client.get(f"/casus/{case}").text
    assert consents_of(world.app, world.coach, case)[0]["status"] == "ingetrokken"


def test_bad_consent_input_gets_a_clear_answer_and_changes_nothing(world: World,
                                                                   login_as: Login) -> None:
    case = _case(world)
    client = login_as("coach")
    token = csrf_of(client.get(f"/casus/{case}").text)
    unknown = client.post(f"/casus/{case}/toestemming", data={
        "csrf_token": token, "scope": "alles", "status": "gegeven"})
    assert unknown.status_code == 400 and "kies waarvoor de toestemming geldt" in unknown.text
    nothing_given = client.post(f"/casus/{case}/toestemming", data={
        "csrf_token": token, "scope": "kinderopvang_naar_wijkcoach", "status": "ingetrokken"})
    assert nothing_given.status_code == 400
    assert "geen gegeven toestemming" in nothing_given.text
    assert consents_of(world.app, world.coach, case) == []


def test_a_step_form_missing_its_revision_is_refused_clearly(world: World,
                                                             login_as: Login) -> None:
    case = _case(world)
    client = login_as("coach")
    token = csrf_of(client.get(f"/casus/{case}").text)
    answer = client.post(f"/casus/{case}/stap", data={
        "csrf_token": token, "route": "plaatsing", "trigger": "plan_intake"})
    assert answer.status_code == 400 and "laad de pagina opnieuw" in answer.text


def test_headings_are_in_order(world: World, login_as: Login) -> None:
    html = login_as("coach").get(f"/casus/{_case(world)}").text
    levels = [int(n) for n in re.findall(r"<h([1-6])\b", html)]
    assert levels[0] == 1 and levels.count(1) == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, levels


def test_the_anonymous_consultation_keeps_a_question_that_names_the_child(
        world: World, login_as: Login) -> None:
    case = _case(world)
    client = login_as("coach")
    token = csrf_of(client.get(f"/casus/{case}").text)
    named = client.post(f"/casus/{case}/consultatie", data={
        "csrf_token": token, "to_role": "wijkcoach", "question": "Sam praat weinig, wat nu?"})
    assert named.status_code == 400
    assert "herkenbaar" in named.text
    assert ">Sam praat weinig, wat nu?</textarea>" in named.text  # given back to edit
    asked = client.post(f"/casus/{case}/consultatie", data={
        "csrf_token": token, "to_role": "wijkcoach",
        "question": "Een peuter praat weinig op de groep; wanneer verwijzen?"},
        follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"].endswith("#consultatie")
    page = client.get(asked.headers["location"]).text
    assert "Uw vraag is anoniem gesteld." in page
    assert "Uw eerdere vragen" in page and "wanneer verwijzen?" in page
    assert "nog geen antwoord" in page


def test_one_page_view_is_one_access_record_naming_its_views(world: World,
                                                              login_as: Login) -> None:
    from kovflow.store import repo
    from kovflow.store.db import read

    case = _case(world)
    with read(world.app.engine) as conn:
        case_id = repo.case_by_number(conn, case).id
        before = len(repo.access_rows(conn, case_id))
    assert login_as("coach").get(f"/casus/{case}").status_code == 200
    with read(world.app.engine) as conn:
        rows = repo.access_rows(conn, case_id)[before:]
    assert [(r.actor, r.action, r.outcome) for r in rows] == [("coach", "read", "allowed")]
    assert rows[0].what == "casuspagina: case overview, history, consents"
