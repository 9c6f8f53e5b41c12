"""The care routes (meldcode, meldcode_medewerker, beeindiging_plaatsing, overbrugging,
locatie_uitrol) and the plaatsing / warme_overdracht_jgz extensions, driven through the services.

Every documented path is walked from its start to each final state; after every step the state is
read back from the database in a fresh read transaction, so a step that only changed memory fails.
The refusals ROUTES.md names are asserted with their reason codes and messages, and a refusal must
leave the instance where it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from kovflow.actor import Actor
from kovflow.errors import TransitionNotAllowed
from kovflow.services import (
    add_user,
    case_overview,
    fire,
    open_case,
    record_consent,
    resolve_actor,
    start_route,
)
from kovflow.store import repo
from kovflow.store.db import read
from tests.conftest import World, join_team
from tests.scenarios.steps import PLAATS, Step

# --- the crew: the world's actors plus the roles the world fixture lacks --------------------------


@dataclass
class Crew:
    world: World
    extra: dict[str, Actor]

    def actor(self, name: str) -> Actor:
        return self.extra[name] if name in self.extra else getattr(self.world, name)


@pytest.fixture
def crew(world: World) -> Crew:
    extra = {"af": ["aandachtsfunctionaris"], "houder": ["houder"], "coordinator": ["coordinator"]}
    for username, roles in extra.items():
        add_user(world.app, world.operator, username, roles, email=f"{username}@example.org",
                 location=world.location)
    return Crew(world, {u: resolve_actor(world.app, u) for u in extra})




# --- reading back from the database ---------------------------------------------------------------


def _instance(crew: Crew, case: str, route: str) -> Any:
    with read(crew.world.app.engine) as conn:
        case_row = repo.case_by_number(conn, case)
        rows = [r for r in repo.case_instances(conn, case_row.id) if r.route_id == route]
    assert rows, f"no {route} instance on {case}"
    return rows[-1]


def _state(crew: Crew, case: str, route: str) -> str:
    # Route 2 of the meldcode is a compartment of the houder and the aandachtsfunctionaris.
    reader = crew.actor("af") if route == "meldcode_medewerker" else crew.world.coach
    views = [i for i in case_overview(crew.world.app, reader, case).instances
             if i.route == route]
    assert views, f"no {route} instance on {case}"
    return views[-1].state


def _location_instance(crew: Crew, route: str) -> Any:
    with read(crew.world.app.engine) as conn:
        loc = repo.location_by_code(conn, crew.world.location)
        rows = [r for r in repo.location_instances(conn, loc.id) if r.route_id == route]
    assert rows, f"no {route} instance on {crew.world.location}"
    return rows[-1]


def _deadlines(crew: Crew, instance_id: int) -> dict[str, str]:
    """Open deadlines of an instance: rule -> due moment (UTC, ISO)."""
    with read(crew.world.app.engine) as conn:
        rows = repo.instance_deadlines(conn, instance_id)
    return {d.rule: d.due_at.isoformat() for d in rows if d.cancelled_at is None}


def _open(crew: Crew, *routes: str, facts: Mapping[str, Any] | None = None) -> str:
    case = open_case(crew.world.app, crew.world.coach, first_name="Sam", initial="J",
                     birth_date=date(2024, 5, 1), location=crew.world.location, routes=routes,
                     facts=facts).case_number
    join_team(crew.world.app, case)
    return case


def _walk(crew: Crew, case: str, steps: tuple[Step, ...]) -> None:
    for step in steps:
        for scope in step.consents:
            record_consent(crew.world.app, crew.world.coach, case, scope, "gegeven")
        result = fire(crew.world.app, crew.actor(step.who), step.route, step.trigger, case=case,
                      data=dict(step.data))
        assert result.to_state == step.to, step
        assert _state(crew, case, step.route) == step.to, step


def _refused(crew: Crew, who: str, route: str, trigger: str, data: Mapping[str, Any] | None = None,
             **target: str) -> TransitionNotAllowed:
    """Fire a step that must be refused; the instance must not move."""
    before = (_state(crew, target["case"], route) if "case" in target
              else _location_instance(crew, route).state)
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(crew.world.app, crew.actor(who), route, trigger, data=dict(data or {}), **target)
    after = (_state(crew, target["case"], route) if "case" in target
             else _location_instance(crew, route).state)
    assert after == before
    return refused.value


def _codes(refusal: TransitionNotAllowed) -> list[str]:
    return [r.code for r in refusal.reasons]


def _text(refusal: TransitionNotAllowed) -> str:
    return " ".join(r.message for r in refusal.reasons)


# --- meldcode (route 1) ---------------------------------------------------------------------------

SIGNALEN = Step("meldcode", "signalen_vastgelegd", "pm", "consultatie", {
    "signalen": "blauwe plek op arm (gezien door mentor); kind schrikt bij aanraken (mentor)",
    "hypothesen": "mogelijk fysiek geweld thuis (hypothese mentor)"})
CONSULTATIE = Step("meldcode", "consultatie_vastgelegd", "af", "gesprek", {
    "geconsulteerd": "af", "consultatie_uitkomst": "af coördineert; mentor observeert",
    "veilig_thuis_geraadpleegd": "ja", "veilig_thuis_anoniem": "ja",
    "veilig_thuis_advies": "gesprek met ouders voeren"})
GESPREK = Step("meldcode", "gesprek_vastgelegd", "pm", "wegen", {
    "gesprek_met_ouders": "gevoerd", "gesprek_datum": "2026-11-24",
    "gesprek_verslag": "ouders herkennen de zorgen; afspraak opvoedondersteuning"})
TOT_WEGEN = (SIGNALEN, CONSULTATIE, GESPREK)


def _weeg(vraag_2: str) -> Step:
    return Step("meldcode", "weeg", "af", "beslissen",
                {"vraag_2_acuut_structureel": vraag_2, "afweging_toelichting": "zie dossier"})


def _vragen_3_4(vraag_3: str, vraag_4: str | None = None) -> Step:
    data = {"vraag_3_hulp_mogelijk": vraag_3}
    if vraag_4 is not None:
        data["vraag_4_hulp_aanvaard"] = vraag_4
    return Step("meldcode", "beantwoord_vragen_3_4", "af", "beslissen", data)


MELD = Step("meldcode", "meld", "manager", "gemeld",
            {"meld_datum": "2026-11-25", "ouders_geinformeerd": "ja"})
HULP = Step("meldcode", "hulp_en_monitoring", "af", "hulp_en_monitoring",
            {"hulp_afspraken": "opvoedondersteuning via wijkcoach", "evaluatiedatum": "2027-01-15"})
HULP_NA_MELDING = Step("meldcode", "hulp_en_monitoring", "af", "hulp_en_monitoring",
                       {"hulp_afspraken": "Veilig Thuis legt de hulp bij het lokale veld",
                        "evaluatiedatum": "2027-02-01"})
EVALUATIE_JA = Step("meldcode", "evalueer_hulp", "af", "hulp_en_monitoring",
                    {"vraag_5_duurzaam_veilig": "ja", "evaluatie_verslag": "veilig"})
SLUIT_HULP_AFGEROND = Step("meldcode", "sluit_af", "af", "afgesloten",
                           {"vervolgdatum": "2027-06-01", "monitoring_afspraken": "mentor let op"})
SLUIT_NA_MELDING = Step("meldcode", "sluit_af", "af", "afgesloten", {"vervolgdatum": "2027-03-01"})

MELDCODE_PATHS: dict[str, tuple[tuple[Step, ...], str]] = {
    "vraag 1 nee: geen vermoeden": ((
        *TOT_WEGEN,
        Step("meldcode", "sluit_af", "af", "afgesloten", {"toelichting": "verklaarbaar"}),
    ), "geen_vermoeden"),
    "vraag 2 ja: melden, afsluiten na melding": ((
        *TOT_WEGEN, _weeg("ja"), MELD, SLUIT_NA_MELDING,
    ), "gemeld_veilig_thuis"),
    "vraag 2 ja: melden, dan hulp en monitoring tot afgerond": ((
        *TOT_WEGEN, _weeg("ja"), _vragen_3_4("ja", "ja"), MELD, HULP_NA_MELDING, EVALUATIE_JA,
        SLUIT_HULP_AFGEROND,
    ), "hulp_afgerond"),
    "vraag 2-4 hulp mogelijk en aanvaard, vraag 5 ja: hulp afgerond": ((
        *TOT_WEGEN, _weeg("nee"), _vragen_3_4("ja", "ja"), HULP, EVALUATIE_JA, SLUIT_HULP_AFGEROND,
    ), "hulp_afgerond"),
    "vraag 3 nee: melden": ((
        *TOT_WEGEN, _weeg("nee"), _vragen_3_4("nee"), MELD, SLUIT_NA_MELDING,
    ), "gemeld_veilig_thuis"),
    "vraag 4 nee: melden": ((
        *TOT_WEGEN, _weeg("nee"), _vragen_3_4("ja", "nee"), MELD, SLUIT_NA_MELDING,
    ), "gemeld_veilig_thuis"),
    "vraag 5 nee: opnieuw melden, daarna hulp afgerond": ((
        *TOT_WEGEN, _weeg("nee"), _vragen_3_4("ja", "ja"), HULP,
        Step("meldcode", "evalueer_hulp", "af", "hulp_en_monitoring",
             {"vraag_5_duurzaam_veilig": "nee", "evaluatie_verslag": "zorgen blijven"}),
        Step("meldcode", "meld", "af", "gemeld",
             {"meld_datum": "2027-01-20", "ouders_geinformeerd": "nee",
              "reden_niet_geinformeerd": "veiligheid van het kind"}),
        HULP_NA_MELDING, EVALUATIE_JA, SLUIT_HULP_AFGEROND,
    ), "hulp_afgerond"),
    "stap 5 heroverweging: toch geen vermoeden": ((
        *TOT_WEGEN, _weeg("nee"), _vragen_3_4("ja", "ja"),
        Step("meldcode", "sluit_af", "manager", "afgesloten",
             {"toelichting": "na advies Veilig Thuis geen vermoeden"}),
    ), "geen_vermoeden"),
    "acuut melden bij disclosure": ((
        SIGNALEN,
        Step("meldcode", "acuut_melden", "pm", "gemeld",
             {"aanleiding_acuut": "disclosure", "meld_datum": "2026-11-23",
              "ouders_geinformeerd": "nee", "reden_niet_geinformeerd": "veiligheid van het kind"}),
        SLUIT_NA_MELDING,
    ), "gemeld_veilig_thuis"),
    "gesprek overgeslagen met reden, daarna acuut melden vanuit wegen": ((
        SIGNALEN, CONSULTATIE,
        Step("meldcode", "gesprek_vastgelegd", "coach", "wegen",
             {"gesprek_met_ouders": "uitzondering",
              "uitzondering_reden": "verwacht contactverlies"}),
        # The coach of the location (a reader of the meldcode compartment) reports; a wijkcoach
        # who did not start this meldcode does not see it at all.
        Step("meldcode", "acuut_melden", "coach", "gemeld",
             {"aanleiding_acuut": "acuut_gevaar", "meld_datum": "2026-11-24",
              "ouders_geinformeerd": "ja"}),
        HULP_NA_MELDING, EVALUATIE_JA, SLUIT_HULP_AFGEROND,
    ), "hulp_afgerond"),
}


def _meldcode_case(crew: Crew, who: str = "pm") -> str:
    case = _open(crew, "plaatsing")
    result = start_route(crew.world.app, crew.actor(who), "meldcode", case=case)
    assert result.to_state == "signalen"
    assert _state(crew, case, "meldcode") == "signalen"
    return case


@pytest.mark.parametrize("name", list(MELDCODE_PATHS))
def test_meldcode_path_reaches_afgesloten(crew: Crew, name: str) -> None:
    steps, resultaat = MELDCODE_PATHS[name]
    case = _meldcode_case(crew)
    _walk(crew, case, steps)
    inst = _instance(crew, case, "meldcode")
    assert inst.closed_at is not None
    assert inst.data["resultaat"] == resultaat
    if resultaat == "geen_vermoeden":
        assert inst.data["vraag_1_vermoeden"] is False
        assert "vervolgdatum" not in inst.data
    else:
        assert inst.data["vervolgdatum"]
        assert _deadlines(crew, inst.id)["vervolg"]  # follow-up reminder on the follow-up date


def test_meldcode_vraag_2_ja_closes_every_path_but_melden(crew: Crew) -> None:
    case = _meldcode_case(crew)
    _walk(crew, case, (*TOT_WEGEN, _weeg("ja"), _vragen_3_4("ja", "ja")))
    target = {"case": case}
    hulp = _refused(crew, "af", "meldcode", "hulp_en_monitoring", HULP.data, **target)
    assert _codes(hulp) == ["value-forbids"]
    assert "afwegingsvraag 2" in _text(hulp) and "melden" in _text(hulp)
    sluit = _refused(crew, "af", "meldcode", "sluit_af", {"toelichting": "x"}, **target)
    assert _codes(sluit) == ["value-forbids"]
    assert "Veilig Thuis is verplicht" in _text(sluit)
    # The only way on is melden; the answer to vraag 2 cannot be changed (no way back to wegen).
    weeg = _refused(crew, "af", "meldcode", "weeg", _weeg("nee").data, **target)
    assert _codes(weeg) == ["wrong-state"]
    _walk(crew, case, (MELD,))
    assert _instance(crew, case, "meldcode").data["vraag_2_acuut_structureel"] is True


@pytest.mark.parametrize(("vragen", "field"), [
    (("nee", None), "vraag_3_hulp_mogelijk"),
    (("ja", "nee"), "vraag_4_hulp_aanvaard"),
])
def test_meldcode_nee_at_vraag_3_or_4_makes_melden_mandatory(
        crew: Crew, vragen: tuple[str, str | None], field: str) -> None:
    case = _meldcode_case(crew)
    _walk(crew, case, (*TOT_WEGEN, _weeg("nee"), _vragen_3_4(*vragen)))
    for trigger, data in (("hulp_en_monitoring", HULP.data), ("sluit_af", {"toelichting": "x"})):
        refusal = _refused(crew, "af", "meldcode", trigger, data, case=case)
        assert "value-forbids" in _codes(refusal)
        assert "melden bij Veilig Thuis is verplicht" in _text(refusal)
    # An answer that makes melden mandatory cannot be changed afterwards.
    again = _refused(crew, "af", "meldcode", "beantwoord_vragen_3_4", _vragen_3_4("ja", "ja").data,
                     case=case)
    assert "value-forbids" in _codes(again)
    assert _instance(crew, case, "meldcode").data[field] is False
    _walk(crew, case, (MELD,))


def test_meldcode_hulp_needs_answers_to_vraag_3_and_4(crew: Crew) -> None:
    case = _meldcode_case(crew)
    _walk(crew, case, (*TOT_WEGEN, _weeg("nee")))
    refusal = _refused(crew, "af", "meldcode", "hulp_en_monitoring", HULP.data, case=case)
    assert _codes(refusal) == ["not-recorded", "not-recorded"]
    assert "afwegingsvraag 3" in _text(refusal)
    missing = _refused(crew, "af", "meldcode", "hulp_en_monitoring", {}, case=case)
    assert _codes(missing).count("field-missing") == 2  # hulp_afspraken, evaluatiedatum


def test_meldcode_vraag_5_nee_closes_hulp_afgerond(crew: Crew) -> None:
    case = _meldcode_case(crew)
    _walk(crew, case, (*TOT_WEGEN, _weeg("nee"), _vragen_3_4("ja", "ja"), HULP))
    refusal = _refused(crew, "af", "meldcode", "sluit_af", SLUIT_HULP_AFGEROND.data, case=case)
    assert _codes(refusal) == ["not-recorded"]  # vraag 5 not answered yet
    _walk(crew, case, (Step("meldcode", "evalueer_hulp", "af", "hulp_en_monitoring",
                            {"vraag_5_duurzaam_veilig": "nee", "evaluatie_verslag": "onveilig"}),))
    refusal = _refused(crew, "af", "meldcode", "sluit_af", SLUIT_HULP_AFGEROND.data, case=case)
    assert _codes(refusal) == ["value-forbids"]
    again = _refused(crew, "af", "meldcode", "evalueer_hulp", EVALUATIE_JA.data, case=case)
    assert _codes(again) == ["value-forbids"]
    _walk(crew, case, (Step("meldcode", "meld", "af", "gemeld", MELD.data),))
    # The melding clears vraag 5: the help is weighed anew after it.
    assert _instance(crew, case, "meldcode").data["vraag_5_duurzaam_veilig"] in ("", None)


def test_meldcode_meld_with_parents_not_informed_needs_a_reason(crew: Crew) -> None:
    case = _meldcode_case(crew)
    _walk(crew, case, (*TOT_WEGEN, _weeg("ja")))
    refusal = _refused(crew, "af", "meldcode", "meld",
                       {"meld_datum": "2026-11-25", "ouders_geinformeerd": "nee"}, case=case)
    assert _codes(refusal) == ["field-missing"]
    assert "Reden waarom de ouders niet zijn geïnformeerd is verplicht" in _text(refusal)
    not_allowed = _refused(crew, "pm", "meldcode", "meld", MELD.data, case=case)
    assert _codes(not_allowed) == ["role-not-allowed"]
    _walk(crew, case, (Step("meldcode", "meld", "af", "gemeld",
                            {"meld_datum": "2026-11-25", "ouders_geinformeerd": "nee",
                             "reden_niet_geinformeerd": "verwacht contactverlies"}),))


def test_meldcode_step_data_and_idle_reminder(crew: Crew) -> None:
    case = _meldcode_case(crew)
    inst = _instance(crew, case, "meldcode")
    # Monday 23 November + 5 werkdagen = Monday 30 November, 09:00 local.
    assert _deadlines(crew, inst.id) == {"stap_stil": "2026-11-30T08:00:00+00:00"}
    no_signals = _refused(crew, "pm", "meldcode", "signalen_vastgelegd", {}, case=case)
    assert _codes(no_signals) == ["field-missing"]
    _walk(crew, case, (SIGNALEN, CONSULTATIE))
    refusal = _refused(crew, "pm", "meldcode", "gesprek_vastgelegd",
                       {"gesprek_met_ouders": "uitzondering"}, case=case)
    assert _codes(refusal) == ["field-missing"]
    assert "Reden om het gesprek niet te voeren is verplicht" in _text(refusal)
    vt = _refused(crew, "af", "meldcode", "consultatie_vastgelegd", CONSULTATIE.data, case=case)
    assert _codes(vt) == ["wrong-state"]


def test_meldcode_starters(crew: Crew) -> None:
    case = _open(crew, "plaatsing")
    with pytest.raises(TransitionNotAllowed) as refused:
        start_route(crew.world.app, crew.world.jgz, "meldcode", case=case)
    assert _codes(refused.value) == ["role-not-allowed"]
    start_route(crew.world.app, crew.actor("af"), "meldcode", case=case,
                data={"aanleiding": "signaal mentor", "gestart_door": "kinderopvang"})
    assert _state(crew, case, "meldcode") == "signalen"


# --- meldcode_medewerker (route 2) ---------------------------------------------------------------

MELD_BIJ_HOUDER = Step("meldcode_medewerker", "meld_bij_houder", "af", "gemeld_bij_houder", {
    "signalen": "kind vertelt over hardhandig optreden", "melding_door": "ouder",
    "meld_datum": "2026-11-23", "betrokken_medewerker": "medewerker X"})
OVERLEG = Step("meldcode_medewerker", "overleg_gevoerd", "houder", "overleg_vertrouwensinspecteur",
               {"overleg_datum": "2026-11-23", "advies_vertrouwensinspecteur": "aangifte doen"})
NA_AANGIFTE = (
    Step("meldcode_medewerker", "handel", "houder", "handelen",
         {"uitkomst": "medewerker geschorst in afwachting van onderzoek"}),
    Step("meldcode_medewerker", "start_nazorg", "af", "nazorg",
         {"nazorg_afspraken": "gesprek met ouders en team"}),
    Step("meldcode_medewerker", "sluit_af", "houder", "afgesloten", {"evaluatie": "geëvalueerd"}),
)

MEDEWERKER_PATHS: dict[str, tuple[str, tuple[Step, ...]]] = {
    "aangifte": ("houder", (
        MELD_BIJ_HOUDER, OVERLEG,
        Step("meldcode_medewerker", "doe_aangifte", "houder", "aangifte",
             {"aangifte_datum": "2026-11-24"}),
        *NA_AANGIFTE,
    )),
    "geen aangifte, met reden": ("manager", (
        MELD_BIJ_HOUDER, OVERLEG,
        Step("meldcode_medewerker", "geen_aangifte", "houder", "geen_aangifte",
             {"reden_geen_aangifte": "geen redelijk vermoeden na overleg"}),
        *NA_AANGIFTE,
    )),
    "houder zelf betrokken: rechtstreeks aangifte": ("af", (
        Step("meldcode_medewerker", "houder_betrokken_aangifte", "af", "aangifte",
             {"aangifte_datum": "2026-11-23", "toelichting_aangifte": "houder is verdachte"}),
        Step("meldcode_medewerker", "handel", "af", "handelen", {"uitkomst": "politieonderzoek"}),
        Step("meldcode_medewerker", "start_nazorg", "af", "nazorg", {"nazorg_afspraken": "team"}),
        Step("meldcode_medewerker", "sluit_af", "af", "afgesloten", {"evaluatie": "geëvalueerd"}),
    )),
}


@pytest.mark.parametrize("name", list(MEDEWERKER_PATHS))
def test_meldcode_medewerker_path_reaches_afgesloten(crew: Crew, name: str) -> None:
    starter, steps = MEDEWERKER_PATHS[name]
    case = _open(crew, "plaatsing")
    start_route(crew.world.app, crew.actor(starter), "meldcode_medewerker", case=case)
    assert _state(crew, case, "meldcode_medewerker") == "signalen"
    _walk(crew, case, steps)
    assert _instance(crew, case, "meldcode_medewerker").closed_at is not None
    spec = crew.world.app.catalog.get("meldcode_medewerker")
    assert not any("gesprek" in s for s in spec.states)  # never a parent conversation step


def test_meldcode_medewerker_tells_the_houder_at_once_and_sets_the_consultation_term(
        crew: Crew) -> None:
    case = _open(crew, "plaatsing")
    with pytest.raises(TransitionNotAllowed) as refused:
        start_route(crew.world.app, crew.world.pm, "meldcode_medewerker", case=case)
    assert _codes(refused.value) == ["role-not-allowed"]
    start_route(crew.world.app, crew.actor("af"), "meldcode_medewerker", case=case)
    _walk(crew, case, (MELD_BIJ_HOUDER,))
    inst = _instance(crew, case, "meldcode_medewerker")
    with read(crew.world.app.engine) as conn:
        sent = [(o.template, o.recipient_role, o.to_address)
                for o in repo.outbox_rows(conn, inst.case_id)]
    assert ("melding", "houder", "houder@example.org") in sent
    # One werkdag after Monday 23 November 09:00, escalated one werkdag later.
    assert _deadlines(crew, inst.id) == {
        "overleg_vertrouwensinspecteur": "2026-11-24T08:00:00+00:00",
        "overleg_vertrouwensinspecteur__escalatie": "2026-11-25T08:00:00+00:00"}
    only_houder = _refused(crew, "af", "meldcode_medewerker", "overleg_gevoerd", OVERLEG.data,
                           case=case)
    assert _codes(only_houder) == ["role-not-allowed"]
    _walk(crew, case, (OVERLEG,))
    no_reason = _refused(crew, "houder", "meldcode_medewerker", "geen_aangifte", {}, case=case)
    assert _codes(no_reason) == ["field-missing"]
    assert "Reden om geen aangifte te doen is verplicht" in _text(no_reason)


# --- beeindiging_plaatsing -----------------------------------------------------------------------

START_OVERLEG = Step("beeindiging_plaatsing", "start_overleg", "manager", "overleg_ouders", {
    "zwaarwegende_reden": "de opvang van het kind belemmert de opvang van de groep onevenredig",
    "zorgprotocol": "Zorgprotocol De Zonnebloem, versie 2026-01"})
OVERLEG_VASTGELEGD = Step("beeindiging_plaatsing", "leg_overleg_vast", "coach", "overleg_ouders",
                          {"overleg_datum": "2027-01-10",
                           "overleg_verslag": "kleinere groep en extra pm onderzocht"})
OPZEGGING = {"opzegdatum": "2027-01-15", "einddatum": "2027-02-15",
             "motivering": "ondanks extra inzet niet passend te maken", "opzegbrief": "BR-2027-004"}
UITSTROOM = {"uitstroom_datum": "2027-02-15", "uitstroom_reden": "behandelsetting",
             "passend_geboden": "nee"}


def _placed_case(crew: Crew, *also: str) -> str:
    case = _open(crew, "plaatsing")
    _walk(crew, case, (Step("plaatsing", "plaats", "coach", "geplaatst", PLAATS),))
    for route in also:
        start_route(crew.world.app, crew.world.manager, route, case=case,
                    **({"data": OVERBRUGGING_START} if route == "overbrugging" else {}))
    return case


def test_beeindiging_ends_the_placement_through_stroom_uit(crew: Crew) -> None:
    case = _placed_case(crew, "beeindiging_plaatsing")
    assert _state(crew, case, "beeindiging_plaatsing") == "overwogen"
    assert _state(crew, case, "wijkcoach") == "navraag"
    _walk(crew, case, (START_OVERLEG, OVERLEG_VASTGELEGD))
    _walk(crew, case, (Step("beeindiging_plaatsing", "verstuur_opzegging", "manager",
                            "opzegging_verstuurd", OPZEGGING),))
    inst = _instance(crew, case, "beeindiging_plaatsing")
    assert _deadlines(crew, inst.id) == {"einddatum_bereikt": "2027-02-15T08:00:00+00:00"}
    result = fire(crew.world.app, crew.actor("houder"), "beeindiging_plaatsing", "beeindig",
                  case=case, data=UITSTROOM)
    assert result.to_state == "beeindigd"
    assert _state(crew, case, "beeindiging_plaatsing") == "beeindigd"
    plaatsing = _instance(crew, case, "plaatsing")
    assert plaatsing.state == "uitgestroomd" and plaatsing.closed_at is not None
    assert plaatsing.data["uitstroom_reden"] == "behandelsetting"
    assert plaatsing.data["uitstroom_datum"] == "2027-02-15"
    assert plaatsing.data["passend_geboden"] is False
    wijkcoach = _instance(crew, case, "wijkcoach")
    assert wijkcoach.closed_at is not None and wijkcoach.state == "navraag"
    assert _instance(crew, case, "beeindiging_plaatsing").closed_at is not None


def test_beeindiging_refuses_a_notice_before_the_parent_consultation(crew: Crew) -> None:
    case = _placed_case(crew, "beeindiging_plaatsing")
    early = _refused(crew, "manager", "beeindiging_plaatsing", "verstuur_opzegging", OPZEGGING,
                     case=case)
    assert _codes(early)[0] == "wrong-state"
    assert "overleg met de ouders is nog niet vastgelegd" in _text(early)
    _walk(crew, case, (START_OVERLEG,))
    unrecorded = _refused(crew, "manager", "beeindiging_plaatsing", "verstuur_opzegging",
                          OPZEGGING, case=case)
    assert _codes(unrecorded) == ["not-recorded"]
    assert "overleg met de ouders is nog niet vastgelegd" in _text(unrecorded)
    _walk(crew, case, (Step("beeindiging_plaatsing", "leg_overleg_vast", "manager",
                            "overleg_ouders", {"overleg_datum": "2027-01-20",
                                               "overleg_verslag": "na de opzegging"}),))
    after = _refused(crew, "manager", "beeindiging_plaatsing", "verstuur_opzegging", OPZEGGING,
                     case=case)
    assert _codes(after) == ["date-too-late"]
    assert "vóór de datum van opzegging" in _text(after)


def test_beeindiging_refuses_a_notice_shorter_than_one_month(crew: Crew) -> None:
    case = _placed_case(crew, "beeindiging_plaatsing")
    _walk(crew, case, (START_OVERLEG, OVERLEG_VASTGELEGD))
    short = _refused(crew, "manager", "beeindiging_plaatsing", "verstuur_opzegging",
                     {**OPZEGGING, "einddatum": "2027-02-14"}, case=case)
    assert _codes(short) == ["date-too-early"]
    assert "minimaal één maand" in _text(short)
    unreasoned = _refused(crew, "manager", "beeindiging_plaatsing", "verstuur_opzegging",
                          {"opzegdatum": "2027-01-15", "einddatum": "2027-02-15"}, case=case)
    assert _codes(unreasoned) == ["field-missing", "field-missing"]  # motivering, opzegbrief
    _walk(crew, case, (Step("beeindiging_plaatsing", "verstuur_opzegging", "manager",
                            "opzegging_verstuurd", OPZEGGING),))
    too_soon = _refused(crew, "manager", "beeindiging_plaatsing", "beeindig",
                        {**UITSTROOM, "uitstroom_datum": "2027-02-01"}, case=case)
    assert _codes(too_soon) == ["date-too-early"]
    assert _state(crew, case, "plaatsing") == "geplaatst"


def test_beeindiging_needs_a_placement(crew: Crew) -> None:
    case = _open(crew, "plaatsing")
    start_route(crew.world.app, crew.world.manager, "beeindiging_plaatsing", case=case)
    _walk(crew, case, (START_OVERLEG, OVERLEG_VASTGELEGD))
    refusal = _refused(crew, "manager", "beeindiging_plaatsing", "verstuur_opzegging", OPZEGGING,
                       case=case)
    assert _codes(refusal) == ["route-state"]
    assert "niet geplaatst" in _text(refusal)


@pytest.mark.parametrize("prefix", [(), (START_OVERLEG,), (
    START_OVERLEG, OVERLEG_VASTGELEGD,
    Step("beeindiging_plaatsing", "verstuur_opzegging", "manager", "opzegging_verstuurd",
         OPZEGGING))], ids=["overwogen", "overleg_ouders", "opzegging_verstuurd"])
def test_beeindiging_can_be_withdrawn(crew: Crew, prefix: tuple[Step, ...]) -> None:
    case = _placed_case(crew, "beeindiging_plaatsing")
    _walk(crew, case, (*prefix, Step("beeindiging_plaatsing", "trek_in", "manager",
                                     "ingetrokken", {"reden": "oplossing gevonden"})))
    assert _instance(crew, case, "beeindiging_plaatsing").closed_at is not None
    assert _state(crew, case, "plaatsing") == "geplaatst"


def test_stroom_uit_closes_the_termination_and_the_bridging(crew: Crew) -> None:
    case = _placed_case(crew, "beeindiging_plaatsing", "overbrugging")
    result = fire(crew.world.app, crew.world.coach, "plaatsing", "stroom_uit", case=case,
                  data={"uitstroom_datum": "2027-01-01", "uitstroom_reden": "verhuisd",
                        "passend_geboden": "ja"})
    assert {r for r, _ in result.closed} == {"wijkcoach", "beeindiging_plaatsing", "overbrugging"}
    for route in ("beeindiging_plaatsing", "overbrugging", "wijkcoach"):
        assert _instance(crew, case, route).closed_at is not None


# --- overbrugging --------------------------------------------------------------------------------

OVERBRUGGING_START = {
    "vervolgvoorziening": "medisch kinderdagverblijf", "wachtlijst_sinds": "2026-10-01",
    "casusregisseur": "jgz", "doelen": "groep houdbaar; kind voelt zich veilig",
    "evaluatiedata": "2026-12-21; 2027-01-18", "minder_dagdelen": "ja", "dagdelen_per_week": 3,
    "extra_pm": "ja", "extra_expertise": "nee"}
EVALUEER = Step("overbrugging", "evalueer", "jgz", "evaluatie", {
    "evaluatie_datum": "2026-12-21", "houdbaar": "ja", "evaluatie_verslag": "houdbaar"})

OVERBRUGGING_PATHS: dict[str, tuple[Step, ...]] = {
    "doorgestroomd na evaluaties": (
        EVALUEER, Step("overbrugging", "verder_wachten", "coach", "wacht_op_plek"),
        EVALUEER, Step("overbrugging", "doorstromen", "coach", "doorgestroomd",
                       {"doorstroom_datum": "2027-02-01", "voorziening": "MKD De Vlinder"}),
    ),
    "direct doorgestroomd": (
        Step("overbrugging", "doorstromen", "jgz", "doorgestroomd",
             {"doorstroom_datum": "2026-12-01", "voorziening": "MKD De Vlinder"}),
    ),
    "terug naar regulier": (
        EVALUEER, Step("overbrugging", "terug_regulier", "manager", "terug_regulier",
                       {"reden": "kind loopt in ontwikkeling in"}),
    ),
    "beeindigd vanuit wachten": (
        Step("overbrugging", "beeindig", "coach", "beeindigd", {"reden": "ouders zien af"}),
    ),
    "beeindigd na evaluatie": (
        EVALUEER, Step("overbrugging", "beeindig", "jgz", "beeindigd", {"reden": "niet houdbaar"}),
    ),
}


@pytest.mark.parametrize("name", list(OVERBRUGGING_PATHS))
def test_overbrugging_path_reaches_its_end(crew: Crew, name: str) -> None:
    case = _placed_case(crew, "overbrugging")
    assert _state(crew, case, "overbrugging") == "wacht_op_plek"
    _walk(crew, case, OVERBRUGGING_PATHS[name])
    assert _instance(crew, case, "overbrugging").closed_at is not None


def test_overbrugging_start_needs_the_plan_and_evaluates_every_four_weeks(crew: Crew) -> None:
    case = _placed_case(crew)
    with pytest.raises(TransitionNotAllowed) as refused:
        start_route(crew.world.app, crew.world.coach, "overbrugging", case=case,
                    data={**OVERBRUGGING_START, "dagdelen_per_week": "", "doelen": ""})
    assert _codes(refused.value) == ["field-missing", "field-missing"]
    assert "Aantal dagdelen per week is verplicht" in _text(refused.value)
    start_route(crew.world.app, crew.world.jgz, "overbrugging", case=case,
                data=OVERBRUGGING_START)
    inst = _instance(crew, case, "overbrugging")
    assert inst.data["evaluatiedata"] == ["2026-12-21", "2027-01-18"]
    assert inst.data["minder_dagdelen"] is True and inst.data["dagdelen_per_week"] == 3
    # 4 weeks after Monday 23 November 09:00, for the coach and the (default) casusregisseur.
    assert _deadlines(crew, inst.id) == {
        "periodieke_evaluatie": "2026-12-21T08:00:00+00:00",
        "periodieke_evaluatie_casusregisseur": "2026-12-21T08:00:00+00:00"}
    not_allowed = _refused(crew, "pm", "overbrugging", "evalueer", EVALUEER.data, case=case)
    assert _codes(not_allowed) == ["role-not-allowed"]


# --- locatie_uitrol ------------------------------------------------------------------------------

UITROL = (
    ("team_geinformeerd", "manager", "coach_informeren", {"team_geinformeerd_op": "2026-11-25"}),
    ("coach_geinformeerd", "manager", "afstemmingsgesprek_plannen",
     {"coach_geinformeerd_op": "2026-11-26"}),
    ("afstemmingsgesprek_gepland", "coach", "deelnemers_afstemmen",
     {"locatiewijkcoach": "wijkcoach", "gesprek_datum": "2026-12-10"}),
    ("deelnemers_afgestemd", "coach", "afstemmingsgesprek",
     {"deelnemers": "manager; pm; coach; wijkcoach"}),
    ("afstemmingsgesprek_gehouden", "manager", "gestart",
     {"loopt_al": "ouderavond", "in_gang_zetten": "foto wijkcoach bij de teamfoto's"}),
    ("plan_evaluatie", "coordinator", "evaluatie_gepland", {"evaluatie_datum": "2027-06-10"}),
    ("evalueer", "coach", "geevalueerd",
     {"bevindingen": "wijkcoach is een gezicht op de locatie", "teruggekoppeld_op": "2027-06-12"}),
)


@pytest.mark.parametrize("starter", ["manager", "coordinator", "coach"])
def test_locatie_uitrol_walks_the_seven_steps(crew: Crew, starter: str) -> None:
    result = start_route(crew.world.app, crew.actor(starter), "locatie_uitrol",
                         location=crew.world.location)
    assert result.to_state == "team_informeren"
    assert _location_instance(crew, "locatie_uitrol").state == "team_informeren"
    for trigger, who, to, data in UITROL:
        step = fire(crew.world.app, crew.actor(who), "locatie_uitrol", trigger,
                    location=crew.world.location, data=data)
        assert step.to_state == to and step.case_number is None
        inst = _location_instance(crew, "locatie_uitrol")
        assert inst.state == to
        if to == "afstemmingsgesprek":
            assert _deadlines(crew, inst.id) == {"gesprek_vandaag": "2026-12-10T08:00:00+00:00"}
        if to == "gestart":  # step 7: plan the evaluation after 6 months (default)
            # Summer time then: 09:00 local is 07:00 UTC.
            assert _deadlines(crew, inst.id) == {"plan_evaluatie": "2027-05-23T07:00:00+00:00",
                                                 "plan_evaluatie_coach": "2027-05-23T07:00:00+00:00"}
    assert _location_instance(crew, "locatie_uitrol").closed_at is not None


def test_locatie_uitrol_roles_and_tasks(crew: Crew) -> None:
    with pytest.raises(TransitionNotAllowed) as refused:
        start_route(crew.world.app, crew.world.pm, "locatie_uitrol", location=crew.world.location)
    assert _codes(refused.value) == ["role-not-allowed"]
    start_route(crew.world.app, crew.world.manager, "locatie_uitrol", location=crew.world.location)
    target = {"location": crew.world.location}
    by_coach = _refused(crew, "coach", "locatie_uitrol", "team_geinformeerd",
                        {"team_geinformeerd_op": "2026-11-25"}, **target)
    assert _codes(by_coach) == ["role-not-allowed"]
    skip = _refused(crew, "coach", "locatie_uitrol", "afstemmingsgesprek_gepland",
                    {"locatiewijkcoach": "wijkcoach", "gesprek_datum": "2026-12-10"}, **target)
    assert _codes(skip) == ["wrong-state"]
    inst = _location_instance(crew, "locatie_uitrol")
    with read(crew.world.app.engine) as conn:
        tasks = repo.instance_tasks(conn, inst.id)
    assert [(t.role, t.due_at.isoformat()) for t in tasks] == [
        ("manager", "2026-12-07T08:00:00+00:00")]  # 10 werkdagen (default threshold)


# --- plaatsing + warme overdracht JGZ -------------------------------------------------------------

TOESTEMMING = (
    Step("warme_overdracht_jgz", "vraag_toestemming", "jgz", "toestemming_gevraagd",
         {"geplande_startdatum": "2027-01-11"}),
    Step("warme_overdracht_jgz", "toestemming_gegeven", "jgz", "toestemming_gevraagd",
         consents=("jgz_naar_kinderopvang",)),
)
GESPREK_GEPLAND = Step("warme_overdracht_jgz", "plan_gesprek", "coach", "gesprek_gepland",
                       {"gesprek_datum": "2026-12-14", "deelnemers": "jgz; ouders; coach; pm"})


def _plaats_refused(crew: Crew, case: str) -> None:
    refusal = _refused(crew, "coach", "plaatsing", "plaats", PLAATS, case=case)
    assert _codes(refusal) == ["route-state"]
    assert "warme overdracht" in _text(refusal)


def test_jgz_concern_starts_the_handover_and_holds_the_placement(crew: Crew) -> None:
    opened = open_case(crew.world.app, crew.world.jgz, first_name="Sam", initial="J",
                       birth_date=date(2024, 5, 1), location=crew.world.location,
                       routes=("plaatsing",), facts={"jgz_zorgen": True})
    case = opened.case_number
    join_team(crew.world.app, case, "wijkcoach")  # the JGZ nurse opened it: a participant already
    assert [(r, s) for r, _, s in opened.started] == [("plaatsing", "aangemeld")]
    assert _state(crew, case, "warme_overdracht_jgz") == "gesignaleerd"
    _plaats_refused(crew, case)
    _walk(crew, case, TOESTEMMING)
    inst = _instance(crew, case, "warme_overdracht_jgz")
    # 10 werkdagen before Monday 11 January 2027 (1 January and Christmas are holidays).
    assert _deadlines(crew, inst.id) == {
        "gesprek_nog_niet_gepland_jgz": "2026-12-24T08:00:00+00:00",
        "gesprek_nog_niet_gepland_coach": "2026-12-24T08:00:00+00:00",
        "startdatum_zonder_gesprek": "2027-01-12T08:00:00+00:00"}
    late = _refused(crew, "coach", "warme_overdracht_jgz", "plan_gesprek",
                    {**GESPREK_GEPLAND.data, "gesprek_datum": "2027-01-11"}, case=case)
    assert _codes(late) == ["date-too-late"]
    assert "vóór de geplande startdatum" in _text(late)
    _walk(crew, case, (GESPREK_GEPLAND,))
    assert set(_deadlines(crew, inst.id)) == {"herinnering_gesprek", "startdatum_zonder_gesprek"}
    _plaats_refused(crew, case)
    _walk(crew, case, (Step("warme_overdracht_jgz", "voer_gesprek", "jgz", "gesprek_gevoerd",
                            {"aandachtspunten": "taal", "afspraken": "logopedie"}),))
    _plaats_refused(crew, case)
    _walk(crew, case, (Step("warme_overdracht_jgz", "rond_af", "coach", "afgerond"),))
    # Optional check-in 6 weeks after the planned start date.
    assert _deadlines(crew, inst.id) == {"checkin_jgz": "2027-02-22T08:00:00+00:00",
                                         "checkin_coach": "2027-02-22T08:00:00+00:00"}
    _walk(crew, case, (Step("plaatsing", "plaats", "coach", "geplaatst", PLAATS),))


def test_refused_consent_lets_the_placement_go_ahead(crew: Crew) -> None:
    case = _open(crew, "plaatsing", facts={"jgz_zorgen": True})
    _plaats_refused(crew, case)
    _walk(crew, case, (
        Step("warme_overdracht_jgz", "vraag_toestemming", "jgz", "toestemming_gevraagd"),
        Step("warme_overdracht_jgz", "toestemming_geweigerd", "jgz", "geen_toestemming"),
        Step("plaatsing", "plaats", "manager", "geplaatst", PLAATS),
    ))
    inst = _instance(crew, case, "warme_overdracht_jgz")
    assert inst.closed_at is not None and _deadlines(crew, inst.id) == {}


def test_handover_without_consent_or_start_date(crew: Crew) -> None:
    case = _open(crew, "plaatsing", facts={"jgz_zorgen": True})
    _walk(crew, case, (Step("warme_overdracht_jgz", "vraag_toestemming", "jgz",
                            "toestemming_gevraagd"),))
    assert _deadlines(crew, _instance(crew, case, "warme_overdracht_jgz").id) == {}
    no_consent = _refused(crew, "jgz", "warme_overdracht_jgz", "plan_gesprek",
                          GESPREK_GEPLAND.data, case=case)
    assert _codes(no_consent) == ["consent-missing"]
    record_consent(crew.world.app, crew.world.jgz, case, "jgz_naar_kinderopvang", "gegeven")
    # Without a planned start date the date check has nothing to compare with.
    _walk(crew, case, (GESPREK_GEPLAND,))


def test_start_date_given_at_the_start_sets_the_reminders_at_once(crew: Crew) -> None:
    case = _open(crew, "plaatsing")
    start_route(crew.world.app, crew.world.jgz, "warme_overdracht_jgz", case=case,
                data={"geplande_startdatum": "2027-01-11"})
    inst = _instance(crew, case, "warme_overdracht_jgz")
    assert inst.state == "gesignaleerd"
    assert set(_deadlines(crew, inst.id)) == {
        "gesprek_nog_niet_gepland_jgz", "gesprek_nog_niet_gepland_coach",
        "startdatum_zonder_gesprek"}


def test_no_jgz_concern_no_handover(crew: Crew) -> None:
    opened = open_case(crew.world.app, crew.world.coach, first_name="Sam", initial="J",
                       birth_date=date(2024, 5, 1), location=crew.world.location,
                       routes=("plaatsing",), facts={"jgz_zorgen": False})
    assert [r for r, _, _ in opened.started] == ["plaatsing"]
    overview = case_overview(crew.world.app, crew.world.coach, opened.case_number)
    assert [i.route for i in overview.instances] == ["plaatsing"]
    _walk(crew, opened.case_number, (Step("plaatsing", "plaats", "coach", "geplaatst", PLAATS),))
