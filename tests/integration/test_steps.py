"""The transaction of one step: refusals write nothing, conflicts are detected, failures roll back."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from kovflow.errors import ConcurrentUpdate, NotFound, TransitionNotAllowed
from kovflow.services import case_overview, fire, open_case, start_route
from kovflow.store import repo
from tests.conftest import World, join_team

PLAATS = {"groep": "Bijen", "startdatum": "2026-12-01", "mentor": "pm", "vve_indicatie": "nee"}


def _open(world: World, *routes: str) -> str:
    return open_case(world.app, world.coach, first_name="Sam", initial="J",
                     birth_date=date(2024, 5, 1), location=world.location,
                     routes=routes or ("plaatsing",)).case_number


def _counts(world: World) -> dict[str, int]:
    with world.app.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("events", "route_instances", "tasks", "deadlines", "outbox")}


def _instance(world: World, case: str, route: str) -> Any:
    with world.app.engine.connect() as conn:
        case_row = repo.case_by_number(conn, case)
        return [r for r in repo.case_instances(conn, case_row.id) if r.route_id == route][-1]


def test_refusal_lists_every_unmet_condition_and_writes_nothing(world: World) -> None:
    case = _open(world, "plaatsing", "warme_overdracht_jgz")
    before = _counts(world)
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(world.app, world.pm, "plaatsing", "plaats", case=case,
             data={"groep": "Bijen", "startdatum": "1 december", "onbekend": "x"})
    codes = [r.code for r in refused.value.reasons]
    assert codes.count("role-not-allowed") == 1
    assert "field-invalid" in codes  # the date that does not parse
    assert "field-unknown" in codes
    assert codes.count("field-missing") == 2  # mentor, vve_indicatie
    assert "route-state" in codes  # the JGZ handover is not finished
    messages = " ".join(r.message for r in refused.value.reasons)
    assert "warme overdracht" in messages and "Startdatum" in messages
    assert _counts(world) == before
    assert _instance(world, case, "plaatsing").state == "aangemeld"


def test_wrong_state_is_refused_with_the_states_it_needs(world: World) -> None:
    case = _open(world)
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(world.app, world.coach, "plaatsing", "stroom_uit", case=case,
             data={"uitstroom_datum": "2027-01-01", "uitstroom_reden": "verhuisd",
                   "passend_geboden": "ja"})
    assert [r.code for r in refused.value.reasons] == ["wrong-state"]
    assert "Geplaatst" in refused.value.reasons[0].message


def test_a_step_closes_and_opens_tasks_and_deadlines(world: World) -> None:
    case = _open(world)
    fire(world.app, world.coach, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2026-11-30"})
    inst = _instance(world, case, "plaatsing")
    with world.app.engine.connect() as conn:
        tasks = repo.instance_tasks(conn, inst.id)
        deadlines = repo.instance_deadlines(conn, inst.id)
    assert [t.state for t in tasks] == ["aangemeld", "intake_gepland"]
    assert tasks[0].closed_at is not None and tasks[1].closed_at is None
    # One werkdag before the intake on Monday 30 November is Friday 27 November, 09:00 local.
    assert [d.due_at.isoformat() for d in deadlines] == ["2026-11-27T08:00:00+00:00"]
    fire(world.app, world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    with world.app.engine.connect() as conn:
        assert all(d.cancelled_at is not None for d in repo.instance_deadlines(conn, inst.id))
        assert all(t.closed_at is not None for t in repo.instance_tasks(conn, inst.id))


def test_placement_starts_wijkcoach_in_the_same_transaction(world: World) -> None:
    case = _open(world)
    result = fire(world.app, world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    assert [(r, s) for r, _, s in result.started] == [("wijkcoach", "navraag")]
    overview = case_overview(world.app, world.coach, case)
    assert {(i.route, i.state) for i in overview.instances} == {
        ("plaatsing", "geplaatst"), ("wijkcoach", "navraag")}


def test_outflow_closes_routes_that_cannot_outlive_the_placement(world: World) -> None:
    case = _open(world)
    fire(world.app, world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    result = fire(world.app, world.coach, "plaatsing", "stroom_uit", case=case,
                  data={"uitstroom_datum": "2027-01-01", "uitstroom_reden": "verhuisd",
                        "passend_geboden": "ja"})
    assert [r for r, _ in result.closed] == ["wijkcoach"]
    wijkcoach = _instance(world, case, "wijkcoach")
    assert wijkcoach.closed_at is not None
    with world.app.engine.connect() as conn:
        assert all(t.closed_at is not None for t in repo.instance_tasks(conn, wijkcoach.id))


def test_stale_revision_is_refused_and_writes_nothing(world: World) -> None:
    case = _open(world)
    seen = _instance(world, case, "plaatsing").revision
    fire(world.app, world.coach, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2026-11-30"}, expected_revision=seen)
    before = _counts(world)
    with pytest.raises(ConcurrentUpdate) as conflict:
        fire(world.app, world.manager, "plaatsing", "annuleer", case=case,
             data={"reden": "x"}, expected_revision=seen)
    assert (conflict.value.expected, conflict.value.actual) == (seen, seen + 1)
    assert _counts(world) == before


def test_two_concurrent_writers_exactly_one_wins(world: World) -> None:
    case = _open(world)
    seen = _instance(world, case, "plaatsing").revision
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def writer(actor: Any, trigger: str, data: dict[str, str]) -> None:
        barrier.wait()
        try:
            fire(world.app, actor, "plaatsing", trigger, case=case, data=data,
                 expected_revision=seen)
            outcomes.append(trigger)
        except ConcurrentUpdate:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(world.coach, "plan_intake",
                                                     {"intake_datum": "2026-11-30"})),
               threading.Thread(target=writer, args=(world.manager, "annuleer", {"reden": "x"}))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes).count("conflict") == 1
    winner = next(o for o in outcomes if o != "conflict")
    inst = _instance(world, case, "plaatsing")
    assert inst.revision == seen + 1
    assert inst.state == {"plan_intake": "intake_gepland", "annuleer": "geannuleerd"}[winner]
    with world.app.engine.connect() as conn:
        steps = [e for e in repo.case_events(conn, inst.case_id) if e.kind == "transition"]
    assert [e.trigger for e in steps] == [winner]


def test_control_without_revision_check_loses_an_update(world: World) -> None:
    """What the revision check prevents: two read-modify-writes, the second overwrites the first."""
    case = _open(world)
    inst = _instance(world, case, "plaatsing")
    table = repo.instances
    with world.app.engine.connect() as a, world.app.engine.connect() as b:
        data_a = dict(a.execute(select(table.c.data).where(table.c.id == inst.id)).scalar_one())
        data_b = dict(b.execute(select(table.c.data).where(table.c.id == inst.id)).scalar_one())
        a.rollback()
        b.rollback()
        for conn, data, key in ((a, data_a, "from_a"), (b, data_b, "from_b")):
            with conn.begin():
                conn.execute(update(table).where(table.c.id == inst.id)
                             .values(data={**data, key: True}))
    blind = _instance(world, case, "plaatsing").data
    assert "from_b" in blind and "from_a" not in blind  # a's acknowledged write is lost
    # The same two writes through compare-and-set: the second one is detected, not lost.
    with world.app.engine.connect() as a, world.app.engine.connect() as b:
        current = _instance(world, case, "plaatsing")
        with a.begin():
            assert repo.compare_and_set(a, inst.id, current.revision, {"data": {"a": 1}})
        with b.begin():
            assert not repo.compare_and_set(b, inst.id, current.revision, {"data": {"b": 1}})


def _inject_task_failure(world: World) -> None:
    with world.app.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("CREATE TRIGGER fail_tasks BEFORE INSERT ON tasks "
                              "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"))
        else:
            conn.execute(text("CREATE FUNCTION fail_tasks() RETURNS trigger AS $$ BEGIN "
                              "RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER fail_tasks BEFORE INSERT ON tasks "
                              "FOR EACH ROW EXECUTE FUNCTION fail_tasks()"))


def test_a_failing_write_rolls_back_the_whole_step(world: World) -> None:
    case = _open(world)
    before = _counts(world)
    _inject_task_failure(world)
    with pytest.raises(DBAPIError, match="injected failure"):
        fire(world.app, world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    assert _counts(world) == before
    inst = _instance(world, case, "plaatsing")
    assert (inst.state, inst.revision) == ("aangemeld", 0)


def test_bad_targets_get_specific_errors(world: World) -> None:
    case = _open(world)
    with pytest.raises(NotFound, match="case"):
        fire(world.app, world.coach, "plaatsing", "plaats", case="KOV-99999", data=PLAATS)
    with pytest.raises(NotFound, match="route"):
        fire(world.app, world.coach, "bestaat_niet", "plaats", case=case)
    with pytest.raises(NotFound, match="trigger"):
        fire(world.app, world.coach, "plaatsing", "vlieg", case=case)
    with pytest.raises(NotFound, match="route instance"):
        fire(world.app, world.coach, "wijkcoach", "wijkcoach_nodig", case=case)
    with pytest.raises(NotFound, match="location"):
        open_case(world.app, world.coach, first_name="A", initial="B", birth_date=date(2024, 1, 1),
                  location="NERGENS")


def test_routes_cannot_be_started_twice_or_by_the_wrong_role(world: World) -> None:
    case = _open(world)
    join_team(world.app, case)
    with pytest.raises(TransitionNotAllowed) as refused:
        start_route(world.app, world.wijkcoach, "warme_overdracht_jgz", case=case)
    assert refused.value.reasons[0].code == "role-not-allowed"
    start_route(world.app, world.jgz, "warme_overdracht_jgz", case=case)
    from kovflow.errors import InvalidInput

    with pytest.raises(InvalidInput, match="already runs"):
        start_route(world.app, world.jgz, "warme_overdracht_jgz", case=case)


def test_notifications_become_outbox_rows_without_personal_data(world: World) -> None:
    case = _open(world)
    fire(world.app, world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    fire(world.app, world.coach, "wijkcoach", "wijkcoach_betrokken", case=case)
    for scope in ("kinderopvang_naar_wijkcoach", "wijkcoach_naar_kinderopvang"):
        from kovflow.services import record_consent

        record_consent(world.app, world.coach, case, scope, "gegeven")
    fire(world.app, world.coach, "wijkcoach", "toestemming_gegeven", case=case,
         data={"contactniveau": "samenwerking"})
    with world.app.engine.connect() as conn:
        rows = repo.outbox_rows(conn)
    assert [(r.template, r.recipient_role, r.to_address, r.status) for r in rows] == [
        ("melding", "wijkcoach", "wijkcoach@example.org", "pending")]
    assert rows[0].context == {"soort": "melding", "link": "http://127.0.0.1:8000/taken"}
    assert rows[0].message_id.endswith("@kovflow>")
    assert case not in str(rows[0]._mapping) and "Sam" not in str(rows[0]._mapping)


def test_a_refused_consent_guard_says_which_consent_is_missing(world: World) -> None:
    case = _open(world)
    fire(world.app, world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    fire(world.app, world.coach, "wijkcoach", "wijkcoach_betrokken", case=case)
    from kovflow.services import record_consent

    record_consent(world.app, world.coach, case, "kinderopvang_naar_wijkcoach", "gegeven")
    record_consent(world.app, world.coach, case, "wijkcoach_naar_kinderopvang", "geweigerd")
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(world.app, world.coach, "wijkcoach", "toestemming_gegeven", case=case,
             data={"contactniveau": "samenwerking"})
    assert [(r.code, "wijkcoach_naar_kinderopvang" in r.message) for r in refused.value.reasons] \
        == [("consent-missing", True)]


def test_cases_opened_concurrently_get_distinct_numbers(world: World) -> None:
    numbers: list[str] = []

    def opener() -> None:
        numbers.append(_open(world))

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(numbers)) == 4


def test_a_role_that_may_not_start_a_route_cannot_open_a_case_with_it(world: World) -> None:
    with pytest.raises(TransitionNotAllowed) as refused:
        open_case(world.app, world.wijkcoach, first_name="A", initial="B",
                  birth_date=date(2024, 1, 1), location=world.location)
    assert refused.value.reasons[0].code == "role-not-allowed"


def test_only_the_operator_or_admin_start_a_route_in_another_state(world: World) -> None:
    case = _open(world)
    with pytest.raises(TransitionNotAllowed) as refused:
        start_route(world.app, world.jgz, "warme_overdracht_jgz", case=case, state="afgerond")
    assert refused.value.reasons[0].code == "role-not-allowed"
    result = start_route(world.app, world.operator, "warme_overdracht_jgz", case=case,
                         state="gesprek_gepland")
    assert result.to_state == "gesprek_gepland"
