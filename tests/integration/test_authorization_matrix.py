"""The authorization matrix: role x relation x action x route, through the services.

One world per database, built once for the module: three locations (the case's, another of the
same organisation, one of another organisation), for every role of ROUTES.md one user per
relation to the case (participant, same location, same organisation elsewhere, other
organisation; the coordinator and functioneel beheer outside any location), and one case on
which every child route of the catalogue runs (``locatie_uitrol`` runs per location and holds
no case data). Every user then reads, searches and writes the case through the services, and
each outcome is compared with what ``policy.POLICY`` and ``policy.COMPARTMENTS`` say for the
relation the user was given. A refusal must be exactly the answer for a missing case number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from kovflow.access.policy import (
    CHILDCARE_ROLES,
    COMPARTMENTS,
    Action,
    Relation,
    allowed,
    sees_route,
)
from kovflow.actor import Actor
from kovflow.clock import FixedClock
from kovflow.config import Settings
from kovflow.errors import KovflowError, NotFound
from kovflow.routes.spec import ROLES
from kovflow.services import (
    App,
    add_location,
    add_participant,
    add_user,
    build_app,
    case_overview,
    consents_of,
    fire,
    history,
    my_tasks,
    open_case,
    record_consent,
    resolve_actor,
)
from kovflow.services.access import relation
from kovflow.services.cases import search_cases
from kovflow.store import repo
from kovflow.store.migrate import upgrade
from tests.conftest import START, backends, fresh_database

# How a user of a role stands to the case, and the relation the policy must compute for it.
VARIANTS = ("participant", "same_location", "same_organisation", "other")
MISSING = "KOV-99999"


def expected_relation(variant: str, role: str) -> Relation:
    # The coordinator and functioneel beheer stand outside every case, whatever their account's
    # location or a participation says: they never see more than the table gives them.
    if role in ("coordinator", "admin"):
        return Relation.COORDINATOR if role == "coordinator" else Relation.ADMIN
    if variant == "participant":
        return Relation.PARTICIPANT
    if variant in ("same_location", "same_organisation"):
        return Relation.SAME_LOCATION
    return {"coordinator": Relation.COORDINATOR, "admin": Relation.ADMIN}.get(role,
                                                                             Relation.OTHER)


@dataclass
class Matrix:
    app: App
    case: str
    routes: tuple[str, ...]
    people: dict[tuple[str, str], Actor]  # (role, variant) -> actor
    betrokkene: Actor  # the staff member concerned of meldcode_medewerker, a participant


@pytest.fixture(scope="module", params=backends())
def matrix(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Matrix]:
    with fresh_database(request.param, tmp_path_factory.mktemp("matrix")) as url:
        kapp = build_app(Settings(), clock=FixedClock(START), database_url=url)
        upgrade(kapp.engine)
        yield _build(kapp)
        kapp.engine.dispose()


def _build(kapp: App) -> Matrix:
    op = Actor.installation_operator()
    add_location(kapp, op, "ZON", "De Zonnebloem", "Presikhaaf", "KO Arnhem")
    add_location(kapp, op, "ZON2", "De Zonnewijzer", "Geitenkamp", "KO Arnhem")
    add_location(kapp, op, "ELDERS", "Elders", "Schuytgraaf", "Andere KO")
    place = {"participant": (None, "Andere KO"), "same_location": ("ZON", "KO Arnhem"),
             "same_organisation": ("ZON2", "KO Arnhem"), "other": (None, "Andere KO")}
    names: dict[tuple[str, str], str] = {}
    for role in ROLES:
        for variant in VARIANTS:
            location, organisation = place[variant]
            if role in ("coordinator", "admin") and variant == "other":
                location, organisation = None, "Gemeente"
            name = f"{role}_{variant}"
            add_user(kapp, op, name, [role], location=location, organisation=organisation)
            names[role, variant] = name
    add_user(kapp, op, "betrokkene", ["aandachtsfunctionaris"], location="ZON",
             organisation="KO Arnhem")
    routes = tuple(s.id for s in kapp.catalog.latest() if s.per == "child")
    case = open_case(kapp, op, first_name="Matrix", initial="M", birth_date=date(2024, 3, 1),
                     location="ZON", routes=routes).case_number
    for (role, variant), name in names.items():
        if variant == "participant":
            add_participant(kapp, op, case, role, username=name)
    add_participant(kapp, op, case, "aandachtsfunctionaris", username="betrokkene")
    fire(kapp, op, "meldcode_medewerker", "meld_bij_houder", case=case, data={
        "signalen": "feit met bron", "melding_door": "ouder", "meld_datum": "2026-11-23",
        "betrokken_medewerker": "betrokkene"})
    people = {key: resolve_actor(kapp, name) for key, name in names.items()}
    return Matrix(kapp, case, routes, people, resolve_actor(kapp, "betrokkene"))


def _refusal(call: Callable[[], Any]) -> KovflowError | None:
    try:
        call()
    except KovflowError as exc:
        return exc
    return None


def _like_missing(exc: KovflowError | None, case: str) -> bool:
    """Exactly the answer for a missing case number: same type, same message but the number."""
    return (type(exc) is NotFound and str(exc) == f"No case {case!r} was found"
            and exc.kind == "case")


def test_the_missing_case_answer(matrix: Matrix) -> None:
    coach = matrix.people["coach", "same_location"]
    for call in (lambda: case_overview(matrix.app, coach, MISSING),
                 lambda: history(matrix.app, coach, MISSING),
                 lambda: consents_of(matrix.app, coach, MISSING),
                 lambda: record_consent(matrix.app, coach, MISSING, "x", "gevraagd"),
                 lambda: fire(matrix.app, coach, "plaatsing", "plaats", case=MISSING)):
        assert _like_missing(_refusal(call), MISSING)
    assert search_cases(matrix.app, coach, MISSING) == []


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_role_relation_action_route(matrix: Matrix, role: str, variant: str) -> None:
    app, case, actor = matrix.app, matrix.case, matrix.people[role, variant]
    rel = expected_relation(variant, role)
    with app.engine.connect() as conn:
        case_row = repo.case_by_number(conn, case)
        assert relation(conn, actor, case_row) is rel  # the world is what we meant it to be
    may = {a: allowed(rel, actor.roles, a) for a in Action}
    sees = {r: sees_route(r, actor.roles, actor.username) for r in matrix.routes}
    deviations: list[str] = []

    def expect(what: str, ok: bool, outcome: KovflowError | None, granted: bool) -> None:
        if granted and not ok:
            deviations.append(f"{what}: refused ({outcome!r}) but the policy grants it")
        if not granted and not (ok is False and _like_missing(outcome, case)):
            deviations.append(f"{what}: {'allowed' if ok else repr(outcome)}; the policy "
                              "refuses it, answered like a missing case")

    # read_pseudonymised: the case overview at all (full readers get it too).
    overview: Any = None

    def look() -> None:
        nonlocal overview
        overview = case_overview(app, actor, case)

    refused = _refusal(look)
    expect("read_pseudonymised", refused is None, refused,
           may[Action.READ] or may[Action.READ_PSEUDONYMISED])
    # read: the history with its data, and the consents.
    events: list[dict[str, Any]] = []

    def read_history() -> None:
        events.extend(history(app, actor, case))

    refused = _refusal(read_history)
    expect("read_pseudonymised (history)", refused is None, refused,
           may[Action.READ] or may[Action.READ_PSEUDONYMISED])
    with_data = any(e["data"] or "niet_gedeeld" in e for e in events)
    if with_data != may[Action.READ]:
        deviations.append(f"read (history data): {with_data}, policy says {may[Action.READ]}")
    refused = _refusal(lambda: consents_of(app, actor, case))
    expect("read (consents)", refused is None, refused, may[Action.READ])
    if overview is not None:
        named = overview.birth_date is not None or any(who for who, _, _ in overview.participants)
        if not may[Action.READ] and named:
            deviations.append("the pseudonymised record shows a name or birth date")
    # write: recording consent; taking a step on every route (an unknown trigger: the engine
    # refuses it after access was granted, so the probe writes nothing).
    refused = _refusal(lambda: record_consent(app, actor, case, "matrix_probe", "gevraagd"))
    expect("write (consent)", refused is None, refused, may[Action.WRITE])
    for route in matrix.routes:
        outcome = _refusal(lambda r=route: fire(app, actor, r, "matrix_probe", case=case))  # type: ignore[misc]
        ok = isinstance(outcome, NotFound) and outcome.kind == "trigger"
        expect(f"write {route}", ok, outcome, may[Action.WRITE] and sees[route])
    # search: by case number; the hit lists the routes the searcher may see, no other.
    hits = search_cases(app, actor, case)
    if bool(hits) != may[Action.SEARCH]:
        deviations.append(f"search: {len(hits)} hit(s), policy says {may[Action.SEARCH]}")
    # The routes every view shows are exactly the routes the compartments let this user see.
    visible = {r for r in matrix.routes if sees[r]}
    if overview is not None and {i.route for i in overview.instances} != visible:
        deviations.append(f"overview routes {sorted(i.route for i in overview.instances)}")
    if {e["route"] for e in events if e["route"]} - visible:
        deviations.append("history shows a hidden route")
    for hit in hits:
        if set(hit["routes"]) != visible:
            deviations.append(f"search routes {hit['routes']}")
        for route in COMPARTMENTS:
            found = search_cases(app, actor, case, route=route)
            if bool(found) != (route in visible):
                deviations.append(f"search with route {route}: {len(found)} hit(s)")
    if actor.user_id is not None and {t["route"] for t in my_tasks(app, actor)} - visible:
        deviations.append("my_tasks lists a task of a hidden route")
    if overview is not None and (role in CHILDCARE_ROLES or variant == "participant"):
        hidden_titles = {t.title for r in set(matrix.routes) - visible
                         for s in app.catalog.get(r).states.values() if (t := s.task)}
        if {title for _, title, _ in overview.open_tasks} & hidden_titles - {
                t.task.title for r in visible for t in app.catalog.get(r).states.values()
                if t.task}:
            deviations.append("the overview lists a task of a hidden route")
    assert deviations == []


def test_the_staff_member_concerned_never_finds_meldcode_medewerker(matrix: Matrix) -> None:
    """Excluded by name: as an aandachtsfunctionaris and a participant they see the case, but
    the route answers exactly like a missing case, in every service."""
    app, case, who = matrix.app, matrix.case, matrix.betrokkene
    colleague = matrix.people["aandachtsfunctionaris", "participant"]
    assert "meldcode_medewerker" in {i.route for i in case_overview(app, colleague, case).instances}
    assert "meldcode_medewerker" not in {i.route for i in case_overview(app, who, case).instances}
    assert all(e["route"] != "meldcode_medewerker" for e in history(app, who, case))
    assert all(t["route"] != "meldcode_medewerker" for t in my_tasks(app, who))
    assert search_cases(app, who, case, route="meldcode_medewerker") == []
    assert "meldcode_medewerker" not in search_cases(app, who, case)[0]["routes"]
    for trigger in ("matrix_probe", "overleg_gevoerd"):
        outcome = _refusal(lambda t=trigger: fire(app, who, "meldcode_medewerker", t, case=case))  # type: ignore[misc]
        assert _like_missing(outcome, case)
    # Whatever other role they hold: the exclusion is by name.
    houder_too = Actor(who.username, frozenset({"houder", "aandachtsfunctionaris"}), who.user_id)
    assert _like_missing(_refusal(lambda: fire(app, houder_too, "meldcode_medewerker",
                                               "overleg_gevoerd", case=case)), case)
