"""The support routes (evaluatie, opschaling_beschikking, ambulante_inzet, taakuren) and the
wijkcoach additions (meldcode start, NB-1, NB-2, borging), driven through the services.

Every documented path is walked from its start to each final state; after every step the state is
read back from the database in a fresh read transaction, so a step that only changed memory fails.
The refusals ROUTES.md names are asserted with their reason codes and messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest

from kovflow.actor import Actor
from kovflow.calendar import AMSTERDAM
from kovflow.errors import TransitionNotAllowed
from kovflow.routes.catalog import load_catalog
from kovflow.services import add_user, fire, open_case, record_consent, resolve_actor, start_route
from kovflow.store import repo
from kovflow.store.db import read
from tests.conftest import World, join_team
from tests.scenarios.steps import PLAATS, Step


@dataclass(frozen=True)
class Start:
    """Start ``route`` by hand as ``role`` (in its initial state); it must stand in ``to``."""

    route: str
    role: str
    to: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Path:
    steps: tuple[Step | Start, ...]
    # Other routes the path must have left running (or closed) in a state: (route, state).
    also: tuple[tuple[str, str], ...] = ()


@dataclass
class Crew:
    """The world's actors plus an ambulant begeleider (the world fixture has none)."""

    world: World
    ab: Actor

    def actor(self, role: str) -> Actor:
        return self.ab if role == "ab" else getattr(self.world, role)


@pytest.fixture
def crew(world: World) -> Crew:
    add_user(world.app, world.operator, "ab", ["ambulant_begeleider"], email="ab@example.org",
             organisation="Driestroom", location=world.location)
    return Crew(world, resolve_actor(world.app, "ab"))


# --- shared data and preludes ----------------------------------------------------------------------

PLACED = (Step("plaatsing", "plaats", "coach", "geplaatst", PLAATS),)
WIJKCOACH_BETROKKEN = (
    *PLACED,
    Step("wijkcoach", "wijkcoach_betrokken", "coach", "toestemming_contact"),
    Step("wijkcoach", "toestemming_gegeven", "coach", "betrokken", {"contactniveau": "samenwerking"},
         consents=("kinderopvang_naar_wijkcoach", "wijkcoach_naar_kinderopvang")),
)
EERSTE_GESPREK = {"doelen": "zindelijk worden; meer praten", "acties": "ouders: oefenen thuis",
                  "datum_voortgangsgesprek": "2027-02-01",
                  "deelnemers_voortgangsgesprek": "ouders; pm; wijkcoach"}
BORGING = (
    *WIJKCOACH_BETROKKEN,
    Step("wijkcoach", "plan_eerste_gesprek", "wijkcoach", "eerste_gesprek_gepland",
         {"datum": "2026-12-10"}),
    Step("wijkcoach", "voer_eerste_gesprek", "wijkcoach", "borging", EERSTE_GESPREK),
)
GESPREK = {"resultaten": "zindelijk: deels; praten: behaald", "aantekeningen": "goede stappen",
           "verslag_akkoord": "ja"}
HOUD = Step("evaluatie", "houd_gesprek", "wijkcoach", "gehouden", GESPREK)
OPSCHALING = Start("opschaling_beschikking", "coach", "voorgesteld")
AANVRAAG = {"soort": "ambulante_begeleiding_groep", "aanvraagdatum": "2026-11-23"}
TOEKENNING = {"aanbieder": "Driestroom", "periode_start": "2026-12-01",
              "periode_eind": "2027-06-01", "in_een_hand": "ja"}
AMBULANT = Start("ambulante_inzet", "coach", "hulpvraag")
DIEN_IN = Step("ambulante_inzet", "dien_in", "coach", "toegewezen",
               {"vraag": "omgaan met driftbuien", "expertise": "gedrag", "begeleider": "ab"},
               consents=("kinderopvang_naar_ambulant",))
START_INZET = Step("ambulante_inzet", "start", "ab", "in_uitvoering",
                   {"intensiteit": "begeleiding_groep", "doelen": "rustmomenten; taal",
                    "einddatum": "2027-03-01"})
EVALUEER_INZET = Step("ambulante_inzet", "evalueer", "ab", "geevalueerd",
                      {"resultaat": "deels", "toelichting": "meer tijd nodig"})
TAAKUREN = Start("taakuren", "coach", "aangevraagd",
                 {"uren_per_week": "2", "einddatum": "2027-03-01", "doel": "een-op-een voorlezen",
                  "mentor": "pm"})
EVALUEER_UREN = Step("taakuren", "evalueer", "coach", "geevalueerd",
                     {"resultaat": "behaald", "toelichting": "kind praat meer"})

PATHS: dict[str, Path] = {
    # wijkcoach: what this file adds (the scenarios themselves are in test_route_paths.py)
    "wijkcoach: meldcode bij navraag door de kinderopvang": Path((
        *PLACED,
        Step("wijkcoach", "veiligheid_in_geding", "coach", "navraag", {"gestart_door": "kinderopvang"}),
        Step("wijkcoach", "geen_wijkcoach_nodig", "coach", "geen_wijkcoach_nodig"),
    ), also=(("meldcode", "signalen"),)),
    "wijkcoach: meldcode in scenario 3": Path((
        *PLACED,
        Step("wijkcoach", "wijkcoach_nodig", "coach", "motiveren"),
        Step("wijkcoach", "ouders_weigeren", "pm", "ouders_houden_af"),
        Step("wijkcoach", "veiligheid_in_geding", "pm", "ouders_houden_af",
             {"gestart_door": "kinderopvang"}),
        Step("wijkcoach", "sluit_af", "coach", "afgesloten", {"reden": "uitgestroomd"}),
    ), also=(("meldcode", "signalen"),)),
    "wijkcoach: meldcode door de wijkcoach in scenario 2": Path((
        *WIJKCOACH_BETROKKEN,
        Step("wijkcoach", "veiligheid_in_geding", "wijkcoach", "betrokken",
             {"gestart_door": "wijkcoach"}),
        Step("wijkcoach", "sluit_af", "wijkcoach", "afgesloten", {"reden": "overgedragen"}),
    ), also=(("meldcode", "signalen"),)),
    "wijkcoach: voogd betrokken en weer niet": Path((
        *PLACED,
        Step("wijkcoach", "wijkcoach_betrokken", "coach", "toestemming_contact"),
        Step("wijkcoach", "voogd_betrokken", "wijkcoach", "toestemming_contact",
             {"voogd_contact": "J. Jansen, gezinsvoogd"}),
        Step("wijkcoach", "voogd_niet_meer_betrokken", "coach", "toestemming_contact"),
        Step("wijkcoach", "toestemming_gegeven", "coach", "betrokken", {"contactniveau": "intensief"},
             consents=("kinderopvang_naar_wijkcoach", "wijkcoach_naar_kinderopvang")),
        Step("wijkcoach", "sluit_af", "coach", "afgesloten", {"reden": "afgerond"}),
    )),
    "wijkcoach: borging start evaluatie": Path((
        *BORGING,
        Step("wijkcoach", "sluit_af", "wijkcoach", "afgesloten", {"reden": "doelen behaald"}),
    ), also=(("evaluatie", "gepland"),)),
    # evaluatie
    "evaluatie: vervolg, dan afschalen": Path((
        *BORGING, HOUD,
        Step("evaluatie", "vervolg", "coach", "gepland", {"datum": "2027-04-01"}),
        Step("evaluatie", "houd_gesprek", "pm", "gehouden", GESPREK),
        Step("evaluatie", "afschalen", "coach", "afgesloten",
             {"route_terug": "alleen nog mentorgesprekken"}),
    )),
    "evaluatie: opschalen, dan afsluiten": Path((
        *BORGING, HOUD,
        Step("evaluatie", "opschalen", "wijkcoach", "gepland",
             {"reden_opschaling": "nader onderzoek nodig"}),
        Step("evaluatie", "houd_gesprek", "coach", "gehouden", GESPREK),
        Step("evaluatie", "afsluiten", "wijkcoach", "afgesloten", {"reden": "uitgestroomd"}),
    ), also=(("opschaling_beschikking", "voorgesteld"),)),
    "evaluatie: afsluiten voor het gesprek": Path((
        *BORGING,
        Step("evaluatie", "afsluiten", "coach", "afgesloten", {"reden": "verhuisd"}),
    )),
    "evaluatie: met de hand gestart": Path((
        Start("evaluatie", "coach", "gepland",
              {"datum": "2026-12-14", "deelnemers": "ouders; coach"}),
        Step("evaluatie", "houd_gesprek", "coach", "gehouden", GESPREK),
        Step("evaluatie", "afsluiten", "coach", "afgesloten", {"reden": "traject klaar"}),
    )),
    # opschaling_beschikking
    "opschaling: onderzoek, toegekend, afgerond": Path((
        *WIJKCOACH_BETROKKEN, OPSCHALING,
        Step("opschaling_beschikking", "vraag_aan", "coach", "aangevraagd", AANVRAAG),
        Step("opschaling_beschikking", "start_onderzoek", "wijkcoach", "in_onderzoek",
             {"onderzoeker": "Karakter"}),
        Step("opschaling_beschikking", "ken_toe", "wijkcoach", "toegekend", TOEKENNING),
        Step("opschaling_beschikking", "start_uitvoering", "ab", "in_uitvoering",
             {"startdatum": "2026-12-01"}),
        Step("opschaling_beschikking", "rond_af", "wijkcoach", "afgerond",
             {"resultaat": "doelen behaald", "resultaten_gedeeld": "ja"}),
    )),
    "opschaling: direct toegekend, afgerond": Path((
        *WIJKCOACH_BETROKKEN, OPSCHALING,
        Step("opschaling_beschikking", "vraag_aan", "ab", "aangevraagd",
             {"soort": "behandeling", "aanvraagdatum": "2026-11-20"}),
        Step("opschaling_beschikking", "ken_toe", "wijkcoach", "toegekend",
             {"aanbieder": "Entrea Lindenhout", "periode_start": "2027-01-04",
              "periode_eind": "2027-07-01"}),
        Step("opschaling_beschikking", "start_uitvoering", "coach", "in_uitvoering",
             {"startdatum": "2027-01-04"}),
        Step("opschaling_beschikking", "rond_af", "coach", "afgerond", {"resultaat": "klaar"}),
    )),
    "opschaling: afgewezen": Path((
        *WIJKCOACH_BETROKKEN, OPSCHALING,
        Step("opschaling_beschikking", "vraag_aan", "wijkcoach", "aangevraagd", AANVRAAG),
        Step("opschaling_beschikking", "wijs_af", "wijkcoach", "afgewezen",
             {"reden": "voorliggende inzet volstaat"}),
    )),
    "opschaling: afgewezen na onderzoek": Path((
        *WIJKCOACH_BETROKKEN, OPSCHALING,
        Step("opschaling_beschikking", "vraag_aan", "coach", "aangevraagd",
             {"soort": "onderzoek", "aanvraagdatum": "2026-11-23"}),
        Step("opschaling_beschikking", "start_onderzoek", "wijkcoach", "in_onderzoek"),
        Step("opschaling_beschikking", "wijs_af", "wijkcoach", "afgewezen",
             {"reden": "geen indicatie"}),
    )),
    "opschaling: vanuit de evaluatie, wijkcoach in borging": Path((
        *BORGING, HOUD,
        Step("evaluatie", "opschalen", "coach", "gepland", {"reden_opschaling": "behandeling"}),
        Step("opschaling_beschikking", "vraag_aan", "wijkcoach", "aangevraagd", AANVRAAG),
        Step("opschaling_beschikking", "ken_toe", "wijkcoach", "toegekend", TOEKENNING),
        Step("opschaling_beschikking", "start_uitvoering", "wijkcoach", "in_uitvoering",
             {"startdatum": "2026-12-01"}),
        Step("opschaling_beschikking", "rond_af", "wijkcoach", "afgerond", {"resultaat": "klaar"}),
    ), also=(("evaluatie", "gepland"), ("wijkcoach", "borging"))),
    # ambulante_inzet
    "ambulant: evalueren, verlengen, afronden": Path((
        AMBULANT, DIEN_IN, START_INZET, EVALUEER_INZET,
        Step("ambulante_inzet", "verleng", "coach", "in_uitvoering", {"einddatum": "2027-06-01"}),
        Step("ambulante_inzet", "evalueer", "coach", "geevalueerd",
             {"resultaat": "behaald", "toelichting": "klaar"}),
        Step("ambulante_inzet", "rond_af", "ab", "afgerond", {"afronding": "overdracht aan pm"}),
    )),
    "ambulant: opschalen tijdens de inzet": Path((
        AMBULANT, DIEN_IN, START_INZET,
        Step("ambulante_inzet", "schaal_op", "ab", "opgeschaald", {"reden": "behandeling nodig"}),
    ), also=(("opschaling_beschikking", "voorgesteld"),)),
    "ambulant: opschalen na evaluatie": Path((
        AMBULANT, DIEN_IN, START_INZET, EVALUEER_INZET,
        Step("ambulante_inzet", "schaal_op", "coach", "opgeschaald", {"reden": "onderzoek nodig"}),
    ), also=(("opschaling_beschikking", "voorgesteld"),)),
    "ambulant: hulpvraag ingetrokken": Path((
        AMBULANT,
        Step("ambulante_inzet", "trek_in", "coach", "afgerond", {"reden": "ouders willen niet"}),
    )),
    "ambulant: ingetrokken na toewijzing": Path((
        AMBULANT, DIEN_IN,
        Step("ambulante_inzet", "trek_in", "coach", "afgerond", {"reden": "vraag opgelost"}),
    )),
    "ambulant: gezinsproblematiek zonder wijkcoach, met taakuren": Path((
        AMBULANT, DIEN_IN, START_INZET,
        Step("ambulante_inzet", "informeer_ouders_over_wijkcoach", "pm", "in_uitvoering",
             {"geinformeerd_op": "2026-11-23"}),
        Step("ambulante_inzet", "bredere_gezinsproblematiek", "ab", "in_uitvoering",
             {"signaal": "zorgen over de thuissituatie"}),
        Step("ambulante_inzet", "combineer_taakuren", "coach", "in_uitvoering",
             {"uren_per_week": "3", "taakuren_einddatum": "2027-02-01",
              "taakuren_doel": "spelbegeleiding", "mentor": "pm"}),
        EVALUEER_INZET,
        Step("ambulante_inzet", "rond_af", "coach", "afgerond"),
    ), also=(("wijkcoach", "motiveren"), ("taakuren", "aangevraagd"))),
    "ambulant: thuisinzet met betrokken wijkcoach": Path((
        *WIJKCOACH_BETROKKEN, AMBULANT, DIEN_IN,
        Step("ambulante_inzet", "start", "ab", "in_uitvoering",
             {"intensiteit": "begeleiding_thuis", "doelen": "spelen thuis",
              "einddatum": "2027-03-01"}),
        Step("ambulante_inzet", "stem_af_met_wijkcoach", "coach", "in_uitvoering",
             {"afstemming_over": "thuisinzet", "afspraken": "start 1 december, wekelijks"}),
        Step("ambulante_inzet", "bredere_gezinsproblematiek", "ab", "in_uitvoering",
             {"signaal": "schulden"}),
        EVALUEER_INZET,
        Step("ambulante_inzet", "rond_af", "ab", "afgerond"),
    ), also=(("wijkcoach", "betrokken"),)),
    # taakuren
    "taakuren: toegekend, verlengd, afgerond": Path((
        TAAKUREN,
        Step("taakuren", "ken_toe", "manager", "toegekend"),
        Step("taakuren", "start_uitvoering", "pm", "in_uitvoering", {"startdatum": "2026-12-01"}),
        EVALUEER_UREN,
        Step("taakuren", "verleng", "manager", "in_uitvoering",
             {"einddatum": "2027-06-01", "uren_per_week": "1"}),
        Step("taakuren", "evalueer", "pm", "geevalueerd", {"resultaat": "deels", "toelichting": "-"}),
        Step("taakuren", "rond_af", "coach", "afgerond"),
    )),
    "taakuren: afgerond door de goedkeurder": Path((
        TAAKUREN,
        Step("taakuren", "ken_toe", "manager", "toegekend"),
        Step("taakuren", "start_uitvoering", "coach", "in_uitvoering", {"startdatum": "2026-12-01"}),
        EVALUEER_UREN,
        Step("taakuren", "rond_af", "manager", "afgerond"),
    )),
    "taakuren: afgewezen": Path((
        TAAKUREN,
        Step("taakuren", "wijs_af", "manager", "afgewezen", {"reden": "geen budget"}),
    )),
}


# --- helpers -----------------------------------------------------------------------------------


def _open(world: World) -> str:
    opened = open_case(world.app, world.coach, first_name="Sam", initial="J",
                       birth_date=date(2024, 5, 1), location=world.location)
    join_team(world.app, opened.case_number)
    return opened.case_number


def _instances(world: World, case: str, route: str) -> list[Any]:
    """The case's instances of ``route``, oldest first, read in a fresh transaction."""
    with read(world.app.engine) as conn:
        row = repo.case_by_number(conn, case)
        assert row is not None
        return [i for i in repo.case_instances(conn, row.id) if i.route_id == route]


def _instance(world: World, case: str, route: str) -> Any:
    found = _instances(world, case, route)
    assert found, f"no {route} instance on {case}"
    return found[-1]


def _state(world: World, case: str, route: str) -> str:
    return str(_instance(world, case, route).state)


def _local_day(moment: datetime) -> date:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(AMSTERDAM).date()


def _open_task(world: World, instance_id: int) -> Any:
    with read(world.app.engine) as conn:
        tasks = [t for t in repo.instance_tasks(conn, instance_id) if t.closed_at is None]
    assert len(tasks) == 1
    return tasks[0]


def _deadlines(world: World, instance_id: int) -> dict[str, Any]:
    """Open deadlines of an instance by rule."""
    with read(world.app.engine) as conn:
        rows = repo.instance_deadlines(conn, instance_id)
    return {d.rule: d for d in rows if d.cancelled_at is None and d.fired_at is None}


def _outbox_roles(world: World, case: str) -> list[str]:
    with read(world.app.engine) as conn:
        row = repo.case_by_number(conn, case)
        assert row is not None
        return [str(o.recipient_role) for o in repo.outbox_rows(conn, row.id)]


def _run(crew: Crew, case: str, steps: tuple[Step | Start, ...]) -> None:
    app = crew.world.app
    for step in steps:
        if isinstance(step, Start):
            result = start_route(app, crew.actor(step.role), step.route, case=case, data=step.data)
        else:
            for scope in step.consents:
                record_consent(app, crew.world.coach, case, scope, "gegeven")
            result = fire(app, crew.actor(step.who), step.route, step.trigger, case=case,
                          data=step.data)
        assert result.to_state == step.to, step
        assert _state(crew.world, case, step.route) == step.to, step


def _refused(crew: Crew, case: str, step: Step) -> list[tuple[str, str]]:
    """Fire a step that must be refused; return the (code, message) of every reason."""
    before = _state(crew.world, case, step.route)
    with pytest.raises(TransitionNotAllowed) as info:
        fire(crew.world.app, crew.actor(step.who), step.route, step.trigger, case=case,
             data=step.data)
    assert _state(crew.world, case, step.route) == before  # a refusal writes nothing
    return [(r.code, r.message) for r in info.value.reasons]


# --- the paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PATHS))
def test_path_reaches_its_end_and_persists_every_step(crew: Crew, name: str) -> None:
    path = PATHS[name]
    case = _open(crew.world)
    _run(crew, case, path.steps)
    last = path.steps[-1]
    assert crew.world.app.catalog.get(last.route).states[last.to].final
    assert _instance(crew.world, case, last.route).closed_at is not None
    for route, state in path.also:
        assert _state(crew.world, case, route) == state, route


def test_every_final_state_of_the_support_routes_is_reached_by_a_path(crew: Crew) -> None:
    reached = {(s.route, s.to) for p in PATHS.values() for s in p.steps}
    for route in ("evaluatie", "opschaling_beschikking", "ambulante_inzet", "taakuren",
                  "wijkcoach"):
        spec = crew.world.app.catalog.get(route)
        for final in spec.final_states:
            assert (route, final) in reached, (route, final)


# --- wijkcoach: meldcode, NB-1, NB-2, borging ------------------------------------------------------


def test_veiligheid_in_geding_starts_meldcode_and_records_who(crew: Crew) -> None:
    case = _open(crew.world)
    _run(crew, case, (*PLACED, Step("wijkcoach", "veiligheid_in_geding", "wijkcoach", "navraag",
                                    {"gestart_door": "wijkcoach"})))
    meldcode = _instance(crew.world, case, "meldcode")
    assert meldcode.state == "signalen"
    assert meldcode.data["gestart_door"] == "wijkcoach"
    assert _instance(crew.world, case, "wijkcoach").data["gestart_door"] == "wijkcoach"
    # no consent was recorded on this case: the step does not need it
    bad = _refused(crew, case, Step("wijkcoach", "veiligheid_in_geding", "coach", "navraag",
                                    {"gestart_door": "ouders"}))
    assert [c for c, _ in bad] == ["field-invalid"]


def test_entering_betrokken_notifies_the_wijkcoach(crew: Crew) -> None:
    """NB-1: every step into 'betrokken' sends a melding to the (location) wijkcoach."""
    case = _open(crew.world)
    _run(crew, case, (*PLACED, Step("wijkcoach", "wijkcoach_nodig", "coach", "motiveren"),
                      Step("wijkcoach", "ouders_stemmen_in", "coach", "kennismaking_gepland",
                           {"datum": "2026-12-03", "plaats": "locatie",
                            "collega_kinderopvang": "pm"})))
    before = _outbox_roles(crew.world, case).count("wijkcoach")
    _run(crew, case, (Step("wijkcoach", "kennismaking_gehouden", "wijkcoach", "betrokken"),))
    assert _outbox_roles(crew.world, case).count("wijkcoach") == before + 1


def test_voogd_becomes_first_contact_for_wijkcoach_messages(crew: Crew) -> None:
    """NB-2: after voogd_betrokken a message meant for the wijkcoach goes to role voogd."""
    world = crew.world
    case = _open(world)
    _run(crew, case, (*PLACED, Step("wijkcoach", "wijkcoach_nodig", "coach", "motiveren"),
                      Step("wijkcoach", "ouders_stemmen_in", "coach", "kennismaking_gepland",
                           {"datum": "2026-12-03", "plaats": "thuis",
                            "collega_kinderopvang": "pm"}),
                      Step("wijkcoach", "voogd_betrokken", "coach", "kennismaking_gepland",
                           {"voogd_contact": "J. Jansen, gezinsvoogd"})))
    assert _instance(world, case, "wijkcoach").data["voogd_betrokken"] is True
    roles = _outbox_roles(world, case)
    _run(crew, case, (Step("wijkcoach", "kennismaking_gehouden", "coach", "betrokken"),))
    with world.app.engine.connect() as conn:
        case_id = repo.case_by_number(conn, case).id
        new_rows = list(repo.outbox_rows(conn, case_id))[len(roles):]
    assert [r.recipient_role for r in new_rows] == ["voogd"]
    assert new_rows[0].template == "melding"


def test_voogd_no_longer_involved_gives_messages_back_to_the_wijkcoach(crew: Crew) -> None:
    case = _open(crew.world)
    _run(crew, case, (*PLACED, Step("wijkcoach", "wijkcoach_betrokken", "coach",
                                    "toestemming_contact")))
    refused = _refused(crew, case, Step("wijkcoach", "voogd_niet_meer_betrokken", "coach",
                                        "toestemming_contact"))
    assert [c for c, _ in refused] == ["not-recorded"]
    _run(crew, case, (Step("wijkcoach", "voogd_betrokken", "wijkcoach", "toestemming_contact",
                           {"voogd_contact": "Jeugdbescherming Gelderland"}),
                      Step("wijkcoach", "voogd_niet_meer_betrokken", "wijkcoach",
                           "toestemming_contact")))
    assert _instance(crew.world, case, "wijkcoach").data["voogd_betrokken"] is False
    refused = _refused(crew, case, Step("wijkcoach", "voogd_niet_meer_betrokken", "coach",
                                        "toestemming_contact"))
    assert [c for c, _ in refused] == ["value-forbids"]
    roles = _outbox_roles(crew.world, case)
    _run(crew, case, (Step("wijkcoach", "toestemming_gegeven", "coach", "betrokken",
                           {"contactniveau": "weten_van_elkaar"},
                           consents=("kinderopvang_naar_wijkcoach",
                                     "wijkcoach_naar_kinderopvang")),))
    assert _outbox_roles(crew.world, case)[len(roles):] == ["wijkcoach"]


def test_borging_needs_goals_and_date_and_starts_evaluatie(crew: Crew) -> None:
    case = _open(crew.world)
    _run(crew, case, BORGING[:-1])
    no_goals = {k: v for k, v in EERSTE_GESPREK.items() if k != "doelen"}
    reasons = _refused(crew, case, Step("wijkcoach", "voer_eerste_gesprek", "wijkcoach", "borging",
                                        no_goals))
    assert [c for c, _ in reasons] == ["field-missing"]
    assert "Doelen" in reasons[0][1]
    no_date = {k: v for k, v in EERSTE_GESPREK.items() if k != "datum_voortgangsgesprek"}
    reasons = _refused(crew, case, Step("wijkcoach", "voer_eerste_gesprek", "wijkcoach", "borging",
                                        no_date))
    assert [c for c, _ in reasons] == ["field-missing"]
    assert "voortgangsgesprek" in reasons[0][1]
    assert _instances(crew.world, case, "evaluatie") == []

    _run(crew, case, BORGING[-1:])
    evaluatie = _instance(crew.world, case, "evaluatie")
    assert evaluatie.state == "gepland"
    assert evaluatie.data["datum"] == "2027-02-01"
    assert evaluatie.data["deelnemers"] == ["ouders", "pm", "wijkcoach"]


def test_config_override_changes_the_navraag_deadline(crew: Crew) -> None:
    world = crew.world
    case = _open(world)
    _run(crew, case, PLACED)
    default_due = _open_task(world, _instance(world, case, "wijkcoach").id).due_at
    assert _local_day(default_due) == date(2026, 12, 7)  # 10 werkdagen after Mon 23 Nov 2026

    world.app.catalog = load_catalog(overrides={"wijkcoach": {"navraag_termijn": {"werkdagen": 15}}})
    case = _open(world)
    _run(crew, case, PLACED)
    task = _open_task(world, _instance(world, case, "wijkcoach").id)
    assert task.title == "Vraag de ouders of er een wijkcoach betrokken is"
    assert _local_day(task.due_at) == date(2026, 12, 14)  # 15 werkdagen


# --- evaluatie ---------------------------------------------------------------------------------


def test_evaluatie_reminders_follow_the_planned_date(crew: Crew) -> None:
    case = _open(crew.world)
    _run(crew, case, BORGING)
    due = {rule: (d.role, _local_day(d.due_at))
           for rule, d in _deadlines(crew.world, _instance(crew.world, case, "evaluatie").id).items()}
    assert due == {
        "herinnering_coach": ("coach", date(2027, 1, 25)),       # 5 werkdagen before 1 Feb
        "herinnering_wijkcoach": ("wijkcoach", date(2027, 1, 25)),
        "gesprek_verstreken_coach": ("coach", date(2027, 2, 2)),
        "gesprek_verstreken_coach__escalatie": ("coach", date(2027, 2, 9)),
        "gesprek_verstreken_wijkcoach": ("wijkcoach", date(2027, 2, 2)),
    }


def test_vervolg_without_a_date_plans_eight_weeks_ahead(crew: Crew) -> None:
    case = _open(crew.world)
    _run(crew, case, (*BORGING, HOUD, Step("evaluatie", "vervolg", "wijkcoach", "gepland")))
    evaluatie = _instance(crew.world, case, "evaluatie")
    assert evaluatie.data["datum"] == "2027-01-18"  # Mon 23 Nov 2026 + 8 weeks
    reminders = _deadlines(crew.world, evaluatie.id)
    assert _local_day(reminders["herinnering_coach"].due_at) == date(2027, 1, 11)


def test_houd_gesprek_without_agreement_needs_an_explanation(crew: Crew) -> None:
    case = _open(crew.world)
    _run(crew, case, BORGING)
    data = {**GESPREK, "verslag_akkoord": "nee"}
    reasons = _refused(crew, case, Step("evaluatie", "houd_gesprek", "coach", "gehouden", data))
    assert [c for c, _ in reasons] == ["field-missing"]
    _run(crew, case, (Step("evaluatie", "houd_gesprek", "coach", "gehouden",
                           {**data, "toelichting_verslag": "vader wil het anders verwoord"}),))
    assert _instance(crew.world, case, "evaluatie").data["verslag_akkoord"] is False


# --- opschaling_beschikking ------------------------------------------------------------------------


def test_vraag_aan_without_an_involved_wijkcoach_is_refused(crew: Crew) -> None:
    case = _open(crew.world)
    _run(crew, case, (OPSCHALING,))
    reasons = _refused(crew, case, Step("opschaling_beschikking", "vraag_aan", "coach",
                                        "aangevraagd", AANVRAAG))
    assert [c for c, _ in reasons] == ["route-state"]
    assert "wijkteam" in reasons[0][1] and "scenario 1" in reasons[0][1]
    # a wijkcoach route that is not yet 'betrokken' (scenario 1 running) is not enough either
    _run(crew, case, (*PLACED, Step("wijkcoach", "wijkcoach_nodig", "coach", "motiveren")))
    reasons = _refused(crew, case, Step("opschaling_beschikking", "vraag_aan", "ab",
                                        "aangevraagd", AANVRAAG))
    assert [c for c, _ in reasons] == ["route-state"]


def test_beschikking_clock_runs_from_the_request_date(crew: Crew) -> None:
    case = _open(crew.world)
    _run(crew, case, (*WIJKCOACH_BETROKKEN, OPSCHALING,
                      Step("opschaling_beschikking", "vraag_aan", "coach", "aangevraagd",
                           {"soort": "onderzoek", "aanvraagdatum": "2026-11-16"})))
    inst = _instance(crew.world, case, "opschaling_beschikking")
    due = {rule: (d.role, _local_day(d.due_at)) for rule, d in _deadlines(crew.world, inst.id).items()}
    assert due == {"servicenorm": ("wijkcoach", date(2026, 12, 14)),
                   "beslistermijn": ("coordinator", date(2027, 1, 11))}
    _run(crew, case, (Step("opschaling_beschikking", "start_onderzoek", "wijkcoach",
                           "in_onderzoek"),))
    due = {rule: (d.role, _local_day(d.due_at)) for rule, d in _deadlines(crew.world, inst.id).items()}
    assert due == {"beslistermijn": ("coordinator", date(2027, 1, 11))}
    task = _open_task(crew.world, inst.id)
    assert task.role == "wijkcoach" and "resultaten" in task.title
    reasons = _refused(crew, case, Step("opschaling_beschikking", "ken_toe", "wijkcoach",
                                        "toegekend", {**TOEKENNING, "periode_eind": "2026-11-01"}))
    assert [c for c, _ in reasons] == ["date-too-late"]
    reasons = _refused(crew, case, Step("opschaling_beschikking", "ken_toe", "coach",
                                        "toegekend", TOEKENNING))
    assert [c for c, _ in reasons] == ["role-not-allowed"]


# --- ambulante_inzet -----------------------------------------------------------------------------


def test_dien_in_needs_consent(crew: Crew) -> None:
    case = _open(crew.world)
    _run(crew, case, (AMBULANT,))
    step = Step("ambulante_inzet", "dien_in", "coach", "toegewezen", DIEN_IN.data)
    assert [c for c, _ in _refused(crew, case, step)] == ["consent-missing"]
    record_consent(crew.world.app, crew.world.coach, case, "kinderopvang_naar_ambulant", "geweigerd")
    assert [c for c, _ in _refused(crew, case, step)] == ["consent-missing"]
    record_consent(crew.world.app, crew.world.coach, case, "kinderopvang_naar_ambulant", "gegeven")
    _run(crew, case, (step,))
    task = _open_task(crew.world, _instance(crew.world, case, "ambulante_inzet").id)
    assert task.role == "ambulant_begeleider"
    assert _local_day(task.due_at) == date(2026, 12, 7)  # first contact within 10 werkdagen


def test_ambulante_inzet_start_sets_the_period_end_reminder(crew: Crew) -> None:
    case = _open(crew.world)
    _run(crew, case, (AMBULANT, DIEN_IN))
    refused = _refused(crew, case, Step("ambulante_inzet", "start", "coach", "in_uitvoering",
                                        START_INZET.data))
    assert [c for c, _ in refused] == ["role-not-allowed"]
    _run(crew, case, (START_INZET,))
    inst = _instance(crew.world, case, "ambulante_inzet")
    assert inst.data["doelen"] == ["rustmomenten", "taal"]
    due = {rule: (d.role, _local_day(d.due_at)) for rule, d in _deadlines(crew.world, inst.id).items()}
    assert due == {"evaluatie_einde_periode": ("ambulant_begeleider", date(2027, 3, 1)),
                   "evaluatie_einde_periode_coach": ("coach", date(2027, 3, 1))}
    refused = _refused(crew, case, Step("ambulante_inzet", "stem_af_met_wijkcoach", "coach",
                                        "in_uitvoering",
                                        {"afstemming_over": "thuisinzet", "afspraken": "-"}))
    assert {c for c, _ in refused} == {"route-state", "consent-missing"}


def test_bredere_gezinsproblematiek_does_not_start_a_second_wijkcoach(crew: Crew) -> None:
    case = _open(crew.world)
    _run(crew, case, (*PLACED, AMBULANT, DIEN_IN, START_INZET,
                      Step("ambulante_inzet", "bredere_gezinsproblematiek", "coach",
                           "in_uitvoering", {"signaal": "zorgen"})))
    wijkcoach = _instances(crew.world, case, "wijkcoach")
    assert [(w.state, w.closed_at) for w in wijkcoach] == [("navraag", None)]


def test_combineer_taakuren_carries_the_request(crew: Crew) -> None:
    case = _open(crew.world)
    _run(crew, case, PATHS["ambulant: gezinsproblematiek zonder wijkcoach, met taakuren"].steps[:6])
    taakuren = _instance(crew.world, case, "taakuren")
    assert taakuren.state == "aangevraagd"
    assert {k: taakuren.data[k] for k in ("uren_per_week", "einddatum", "doel", "mentor")} == {
        "uren_per_week": 3, "einddatum": "2027-02-01", "doel": "spelbegeleiding", "mentor": "pm"}
    assert _instance(crew.world, case, "wijkcoach").data["aanleiding"] == "zorgen over de thuissituatie"


# --- taakuren ----------------------------------------------------------------------------------


def test_taakuren_request_is_checked_and_sets_the_evaluation_reminder(crew: Crew) -> None:
    case = _open(crew.world)
    with pytest.raises(TransitionNotAllowed) as info:
        start_route(crew.world.app, crew.world.coach, "taakuren", case=case,
                    data={**TAAKUREN.data, "uren_per_week": "0"})
    assert [r.code for r in info.value.reasons] == ["field-invalid"]
    assert _instances(crew.world, case, "taakuren") == []
    _run(crew, case, (TAAKUREN,))
    assert [c for c, _ in _refused(crew, case, Step("taakuren", "ken_toe", "coach",
                                                    "toegekend"))] == ["role-not-allowed"]
    _run(crew, case, (Step("taakuren", "ken_toe", "manager", "toegekend"),))
    reasons = _refused(crew, case, Step("taakuren", "start_uitvoering", "pm", "in_uitvoering",
                                        {"startdatum": "2027-04-01"}))
    assert [c for c, _ in reasons] == ["date-too-late"]
    _run(crew, case, (Step("taakuren", "start_uitvoering", "pm", "in_uitvoering",
                           {"startdatum": "2026-12-01"}),))
    inst = _instance(crew.world, case, "taakuren")
    due = {rule: (d.role, _local_day(d.due_at)) for rule, d in _deadlines(crew.world, inst.id).items()}
    assert due == {"evaluatie_einde_periode": ("coach", date(2027, 3, 1))}


def test_taakuren_approver_is_configurable(crew: Crew) -> None:
    world = crew.world
    world.app.catalog = load_catalog(overrides={"taakuren": {"goedkeurder": "coordinator"}})
    case = _open(world)
    _run(crew, case, (TAAKUREN,))
    reasons = _refused(crew, case, Step("taakuren", "ken_toe", "manager", "toegekend"))
    assert [c for c, _ in reasons] == ["role-not-allowed"]
    assert "coordinator" in reasons[0][1]
