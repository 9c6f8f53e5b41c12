"""The existence of a meldcode never leaks outside its compartment.

Twin cases: the same child, the same people, the same steps, but case A also runs both meldcode
routes. Everyone outside the compartments (a pm who did not start it, the wijkcoach and the
ambulant begeleider of the case, the coordinator, the staff member concerned) must see exactly the
same of A as of B: counts and titles of tasks, the case overview and its task list, the history
(numbering included), search, consents, and the mail they get. The compartment's own members see
the meldcode (so the twins are not equal simply because everything is hidden), and its mails read
exactly like any other notification.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

import pytest

from kovflow.actor import Actor
from kovflow.errors import KovflowError, NotFound
from kovflow.notify.render import MailContext, render
from kovflow.services import (
    add_participant,
    add_user,
    case_overview,
    consents_of,
    fire,
    history,
    my_tasks,
    open_case,
    record_consent,
    resolve_actor,
    start_route,
)
from kovflow.services.access_report import access_report
from kovflow.services.cases import search_cases
from kovflow.store import repo
from tests.conftest import World, join_team

PLAATS = {"groep": "Bijen", "startdatum": "2026-12-01", "mentor": "pm", "vve_indicatie": "nee"}
MELDING = {"signalen": "feit met bron", "melding_door": "ouder", "meld_datum": "2026-11-23",
           "betrokken_medewerker": "bm"}
COMPARTMENTS = ("meldcode", "meldcode_medewerker")
IDS = ("id", "task", "participant_id", "started_by_instance")  # database ids differ per twin


def _people(world: World) -> dict[str, Actor]:
    op = world.operator
    for name, role in (("pm2", "pm"), ("af", "aandachtsfunctionaris"), ("houder", "houder"),
                       ("bm", "pm"), ("amb", "ambulant_begeleider")):
        add_user(world.app, op, name, [role], email=f"{name}@example.org",
                 organisation="Kinderopvang Arnhem" if name != "amb" else "Zorg BV",
                 location=world.location if name != "amb" else None)
    add_user(world.app, op, "coord", ["coordinator"], email="coord@example.org",
             organisation="Gemeente")
    return {n: resolve_actor(world.app, n) for n in ("pm2", "af", "houder", "bm", "amb", "coord")}


def _twin(world: World, with_meldcode: bool) -> str:
    case = open_case(world.app, world.coach, first_name="Tweeling", initial="T",
                     birth_date=date(2024, 4, 4), location=world.location).case_number
    join_team(world.app, case, "wijkcoach", "amb")
    add_participant(world.app, world.operator, case, "pm", username="bm")
    record_consent(world.app, world.coach, case, "kinderopvang_naar_wijkcoach", "gegeven")
    fire(world.app, world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    if with_meldcode:
        start_route(world.app, world.pm, "meldcode", case=case)  # the mentor is the initiator
        houder = resolve_actor(world.app, "houder")
        start_route(world.app, houder, "meldcode_medewerker", case=case)
        fire(world.app, houder, "meldcode_medewerker", "meld_bij_houder", case=case, data=MELDING)
    return case


@pytest.fixture
def twins(world: World) -> tuple[dict[str, Actor], str, str]:
    people = _people(world)
    return people, _twin(world, True), _twin(world, False)


def _same(value: Any, case: str) -> Any:
    """A view with the case number and the database ids taken out."""
    if isinstance(value, dict):
        return {k: _same(v, case) for k, v in value.items() if k not in IDS}
    if isinstance(value, list | tuple):
        return [_same(v, case) for v in value]
    return "<case>" if value == case else value


def _views(world: World, actor: Actor, case: str) -> dict[str, Any]:
    app = world.app
    out: dict[str, Any] = {}
    for name, call in (("overview", lambda: asdict(case_overview(app, actor, case))),
                       ("history", lambda: history(app, actor, case)),
                       ("consents", lambda: consents_of(app, actor, case)),
                       ("search", lambda: search_cases(app, actor, case)),
                       ("search_meldcode", lambda: [search_cases(app, actor, case, route=r)
                                                    for r in COMPARTMENTS])):
        try:
            out[name] = _same(call(), case)
        except KovflowError as exc:
            out[name] = type(exc).__name__ + ": " + str(exc).replace(case, "<case>")
    out["tasks"] = _same([t for t in my_tasks(app, actor) if t["case"] == case], case)
    return out


def test_outside_the_compartments_the_twins_look_the_same(
        world: World, twins: tuple[dict[str, Actor], str, str]) -> None:
    people, a, b = twins
    outsiders = [people["pm2"], world.wijkcoach, people["amb"], people["coord"], people["bm"],
                 world.jgz, world.admin]
    for actor in outsiders:
        assert _views(world, actor, a) == _views(world, actor, b), actor.username
    # Counts: the same number of open tasks in total, with or without a meldcode.
    for actor in (people["pm2"], people["bm"], world.wijkcoach):
        titles = [t["title"] for t in my_tasks(world.app, actor)]
        meldcode_titles = {s.task.title for r in COMPARTMENTS
                           for s in world.app.catalog.get(r).states.values() if s.task}
        assert not set(titles) & meldcode_titles
        assert len([t for t in my_tasks(world.app, actor) if t["case"] == a]) == len(
            [t for t in my_tasks(world.app, actor) if t["case"] == b])


def test_inside_the_compartments_the_meldcode_is_there(
        world: World, twins: tuple[dict[str, Actor], str, str]) -> None:
    people, a, _ = twins
    for actor, routes in ((world.pm, {"meldcode"}), (world.coach, {"meldcode"}),
                          (people["af"], set(COMPARTMENTS)), (people["houder"], {"meldcode_medewerker"})):
        seen = {i.route for i in case_overview(world.app, actor, a).instances}
        assert seen & set(COMPARTMENTS) == routes, actor.username
        assert search_cases(world.app, actor, a, route=sorted(routes)[0])
    assert any(t["route"] == "meldcode" and t["case"] == a for t in my_tasks(world.app, world.pm))


def test_meldcode_mails_read_like_every_other_notification(
        world: World, twins: tuple[dict[str, Actor], str, str]) -> None:
    _, a, b = twins
    base = world.app.settings.base_url
    with world.app.engine.connect() as conn:
        rows_a, rows_b = repo.outbox_rows(conn, repo.case_by_number(conn, a).id), \
            repo.outbox_rows(conn, repo.case_by_number(conn, b).id)
    extra = [r for r in rows_a if r.to_address in ("houder@example.org", "af@example.org")]
    assert extra  # the houder was told at once (meld_bij_houder)
    # Nobody outside the compartment gets a mail more, or another mail, for twin A.
    outside = sorted((r.to_address, r.template) for r in rows_a if r not in extra)
    assert outside == sorted((r.to_address, r.template) for r in rows_b)
    generic = render("melding", MailContext("melding", f"{base}/taken"))
    for r in extra:
        # The generic templates and context: the mail is the very same as any other melding.
        assert (r.template, r.context) == ("melding", {"soort": "melding",
                                                       "link": f"{base}/taken"})
        mail = render(r.template, MailContext.from_stored(r.context, base))
        assert mail == generic
        assert "meldcode" not in (mail.subject + mail.text + mail.html).lower()


def test_the_step_that_starts_the_meldcode_is_hidden_from_others(world: World) -> None:
    people = _people(world)
    case = _twin(world, False)
    fire(world.app, world.wijkcoach, "wijkcoach", "veiligheid_in_geding", case=case,
         data={"gestart_door": "wijkcoach"})

    def triggers(actor: Actor) -> list[str]:
        return [e["trigger"] for e in history(world.app, actor, case)]

    assert "veiligheid_in_geding" in triggers(world.wijkcoach)  # its actor, and the initiator
    assert "veiligheid_in_geding" in triggers(world.coach)  # a compartment member
    for outsider in (people["amb"], people["pm2"], people["coord"]):
        assert "veiligheid_in_geding" not in triggers(outsider), outsider.username
        assert [e["seq"] for e in history(world.app, outsider, case)] == list(
            range(1, len(triggers(outsider)) + 1))


def _answer(call: Any) -> str:
    try:
        call()
    except NotFound as exc:
        return str(exc)
    return "no refusal"


def test_firing_a_hidden_meldcode_answers_like_firing_a_missing_one(
        world: World, twins: tuple[dict[str, Actor], str, str]) -> None:
    people, a, b = twins
    pm2 = people["pm2"]
    hidden = _answer(lambda: fire(world.app, pm2, "meldcode", "consulteer", case=a))
    missing = _answer(lambda: fire(world.app, pm2, "meldcode", "consulteer", case=b))
    assert hidden.replace(a, "<case>") == missing.replace(b, "<case>")


def test_an_outsider_firing_on_an_existing_case_gets_the_missing_case_answer(
        world: World, twins: tuple[dict[str, Actor], str, str]) -> None:
    people, _, b = twins
    outsider = people["coord"]
    assert _answer(lambda: fire(world.app, outsider, "meldcode", "x", case=b)) == (
        f"No case {b!r} was found")


def test_the_access_report_for_the_parents_names_no_meldcode(
        world: World, twins: tuple[dict[str, Actor], str, str]) -> None:
    _, with_meldcode, _ = twins
    report = access_report(world.app, world.operator, with_meldcode)
    sentences = " ".join(r["zin"] + r["what"] for r in report)
    assert "een beschermd onderdeel" in sentences  # the meldcode steps are there, unnamed
    assert "meldcode" not in sentences.lower()
