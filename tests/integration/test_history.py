"""The event history is hash-chained: editing, deleting or reordering an event is detected."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from kovflow.services import fire, open_case
from kovflow.store.maintenance import verify_events
from tests.conftest import World


def _case_with_history(world: World) -> str:
    case = open_case(world.app, world.coach, first_name="Sam", initial="J",
                     birth_date=date(2024, 5, 1), location=world.location).case_number
    fire(world.app, world.coach, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2026-11-30"})
    fire(world.app, world.coach, "plaatsing", "annuleer", case=case, data={"reden": "verhuisd"})
    return case


def test_untouched_history_verifies(world: World) -> None:
    _case_with_history(world)
    count, breaks = verify_events(world.app.engine)
    assert count == 4 and breaks == []


def test_an_edited_event_is_detected(world: World) -> None:
    _case_with_history(world)
    with world.app.engine.begin() as conn:
        conn.execute(text("UPDATE events SET actor = 'iemand_anders' WHERE seq = 3"))
    _, breaks = verify_events(world.app.engine)
    assert [(b.seq, b.problem) for b in breaks] == [(3, "content does not match its hash (edited)")]


def test_a_deleted_event_is_detected(world: World) -> None:
    _case_with_history(world)
    with world.app.engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE seq = 2"))
    _, breaks = verify_events(world.app.engine)
    assert breaks and breaks[0].seq == 3


def test_a_recomputed_hash_still_breaks_the_next_link(world: World) -> None:
    from kovflow.history import event_hash
    from kovflow.store import repo

    _case_with_history(world)
    with world.app.engine.begin() as conn:
        row = next(dict(r._mapping) for r in repo.chain_events(conn) if r.seq == 2)
        row["actor"] = "iemand_anders"
        conn.execute(text("UPDATE events SET actor = :a, hash = :h WHERE seq = 2"),
                     {"a": row["actor"], "h": event_hash(row)})
    _, breaks = verify_events(world.app.engine)
    assert [(b.seq, b.problem) for b in breaks] == [(3, "link to the previous event is broken")]
