"""Retention: terms per route result, holds (meldcode, disputes), removal, and the chains after it."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, insert, select, text
from typer.testing import CliRunner

from kovflow.cli import app as cli
from kovflow.clock import FixedClock
from kovflow.config import Settings
from kovflow.errors import ConfigError, InvalidInput, NotFound
from kovflow.services import (
    App,
    add_participant,
    fire,
    open_case,
    record_consent,
    start_route,
)
from kovflow.services.retention import record_dispute, run_retention
from kovflow.store import repo
from kovflow.store.maintenance import (
    chain_heads,
    verify_access_log,
    verify_against_anchor,
    verify_events,
)
from kovflow.store.retention_repo import highest_removed_case_id, records
from tests.conftest import START, World

CANARY = "Kanariepiet"
START_UTC = FixedClock(START).now()
BORN = date(2023, 7, 14)


def _closed_case(world: World, name: str = CANARY) -> str:
    """A case with participants, consent, a planned intake (task, deadline, mail), then cancelled."""
    case = open_case(world.app, world.coach, first_name=name, initial="Z", birth_date=BORN,
                     location=world.location).case_number
    add_participant(world.app, world.coach, case, "voogd", name=f"Voogd {name}")
    record_consent(world.app, world.coach, case, "kinderopvang_naar_wijkcoach", "gegeven",
                   purpose=f"overleg over {name}", form="schriftelijk")
    fire(world.app, world.coach, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2026-11-30"})
    fire(world.app, world.coach, "plaatsing", "annuleer", case=case,
         data={"reden": f"{name} is verhuisd"})
    return case


def _at(world: World) -> FixedClock:
    clock = world.app.clock
    assert isinstance(clock, FixedClock)
    return clock


def _exists(app: App, case: str) -> bool:
    with app.engine.connect() as conn:
        return repo.case_by_number(conn, case) is not None


def _everything(app: App) -> dict[str, list[str]]:
    """Every row of every table, as text (to search for personal data, or to compare)."""
    meta = MetaData()
    meta.reflect(app.engine)
    with app.engine.connect() as conn:
        return {name: sorted(str(tuple(r)) for r in conn.execute(select(table)))
                for name, table in meta.tables.items()}


def test_a_case_just_past_its_term_goes_and_one_a_day_younger_stays(world: World) -> None:
    clock = _at(world)
    closed = clock.now()
    old = _closed_case(world)
    clock.advance(timedelta(days=1))
    young = _closed_case(world, "Merel")
    end = closed.replace(year=closed.year + 2)  # default term: 2 years after the last change
    clock.set(end - timedelta(seconds=1))
    assert run_retention(world.app, world.admin).removed == ()
    assert _exists(world.app, old)

    clock.set(end)
    report = run_retention(world.app, world.admin)
    assert [(d.case_number, d.rule, d.term) for d in report.removed] == [(old, "default", "2 years")]
    assert report.removed[0].term_end == end.isoformat()
    assert report.removed[0].counts["events"] >= 4 and report.removed[0].counts["participants"] == 2
    assert not _exists(world.app, old) and _exists(world.app, young)

    clock.advance(timedelta(days=1))
    assert [d.case_number for d in run_retention(world.app, world.operator).removed] == [young]


def test_dry_run_lists_without_changing_anything(world: World) -> None:
    clock = _at(world)
    case = _closed_case(world)
    clock.set(clock.now() + timedelta(days=3 * 365))
    before = _everything(world.app)
    report = run_retention(world.app, world.admin, dry_run=True)
    assert report.dry_run and [d.case_number for d in report.removed] == [case]
    assert report.removed[0].counts["cases"] == 1 and report.removed[0].counts["tasks"] >= 1
    assert CANARY not in json.dumps(dataclasses.asdict(report))  # no names, only numbers
    assert _everything(world.app) == before


def test_the_longest_term_of_the_results_applies_and_configuration_is_checked(
        world: World) -> None:
    clock = _at(world)
    case = _closed_case(world)
    kapp = dataclasses.replace(world.app, settings=Settings(sections={"retention": {
        "default": "1 year", "terms": {"plaatsing.geannuleerd": "3 years",
                                       "wijkcoach": "5 years"}}}))
    clock.set(clock.now() + timedelta(days=2 * 366))
    assert run_retention(kapp, world.admin).removed == ()  # 3 years for a cancelled placement
    clock.set(clock.now() + timedelta(days=366))
    removed = run_retention(kapp, world.admin).removed
    assert [(d.case_number, d.rule, d.term) for d in removed] == [
        (case, "plaatsing.geannuleerd", "3 years")]

    for section, says in (({"terms": {"plaatsen": "1 year"}}, "no route 'plaatsen'"),
                          ({"terms": {"plaatsing.weg": "1 year"}}, "has no state 'weg'"),
                          ({"default": "twintig jaar"}, "is not a term"),
                          ({"bewaar": "1 year"}, "unknown key")):
        bad = dataclasses.replace(world.app, settings=Settings(sections={"retention": section}))
        with pytest.raises(ConfigError, match=says):
            run_retention(bad, world.admin, dry_run=True)


def test_an_open_meldcode_or_dispute_holds_the_case(world: World) -> None:
    clock = _at(world)
    with_meldcode = _closed_case(world)
    start_route(world.app, world.coach, "meldcode", case=with_meldcode)
    disputed = _closed_case(world, "Merel")
    record_dispute(world.app, world.coach, disputed, "klacht", open_=True)
    with pytest.raises(InvalidInput, match="al een open klacht"):
        record_dispute(world.app, world.coach, disputed, "klacht", open_=True)
    clock.set(clock.now() + timedelta(days=30 * 365))

    report = run_retention(world.app, world.admin)
    assert report.removed == ()
    # An open meldcode is an open route: not even listed (the list must not reveal a meldcode).
    assert [(d.case_number, d.held) for d in report.held] == [(disputed, "geschil open: klacht")]
    assert _exists(world.app, with_meldcode) and _exists(world.app, disputed)

    record_dispute(world.app, world.coach, disputed, "klacht", open_=False)
    clock.set(clock.now() + timedelta(days=3 * 365))  # settling changed the file: a new term
    assert [d.case_number for d in run_retention(world.app, world.admin).removed] == [disputed]
    assert _exists(world.app, with_meldcode)


def test_disputes_are_recorded_only_by_who_may_change_the_case(world: World) -> None:
    case = _closed_case(world)
    with pytest.raises(NotFound, match="No case"):
        record_dispute(world.app, world.wijkcoach, case, "bezwaar", open_=True)
    with pytest.raises(InvalidInput, match="bezwaar, klacht"):
        record_dispute(world.app, world.coach, case, "ruzie", open_=True)


def test_only_admin_or_operator_runs_retention(world: World) -> None:
    for actor in (world.coach, world.manager, world.wijkcoach):
        with pytest.raises(InvalidInput, match="functioneel beheer"):
            run_retention(world.app, actor, dry_run=True)


def test_after_removal_no_row_holds_the_child_and_the_chains_still_verify(world: World) -> None:
    from kovflow.services.consultation import ask

    clock = _at(world)
    gone = _closed_case(world)
    kept = _closed_case(world, "Merel")
    ask(world.app, world.coach, gone, "wijkcoach", "Hoe gaan we om met driftbuien?")
    anchor = chain_heads(world.app.engine)
    clock.set(clock.now() + timedelta(days=2 * 366))
    record_dispute(world.app, world.coach, kept, "bezwaar", open_=True)  # keeps Merel
    removed = run_retention(world.app, world.admin).removed
    assert [d.case_number for d in removed] == [gone]
    assert removed[0].counts["consultations"] == 1

    everything = _everything(world.app)
    holding = [t for t, rows in everything.items() if any(CANARY in r for r in rows)]
    assert holding == []
    assert not any(BORN.isoformat() in r for r in everything["cases"])
    assert any("Merel" in r for r in everything["cases"])

    assert verify_events(world.app.engine)[1] == []
    assert verify_access_log(world.app.engine)[1] == []
    assert verify_against_anchor(world.app.engine, anchor) == []
    with world.app.engine.connect() as conn:
        record = conn.execute(select(records)).one()
    assert (record.case_number, record.rule, record.removed_by) == (gone, "default", "admin")
    assert CANARY not in str(tuple(record))

    # A deletion nobody recorded is still found: all of Merel's events, by hand.
    kept_id = _case_id(world.app, kept)
    with world.app.engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE case_id = :c"), {"c": kept_id})
    problems = [b.problem for b in verify_events(world.app.engine)[1]]
    assert problems == ["every event of this case is missing (deleted)"]
    problems = [b.problem for b in verify_against_anchor(world.app.engine, anchor)]
    assert problems == ["chain is shorter than the exported anchor (truncated)"]


def test_a_forged_retention_record_does_not_excuse_a_deletion(world: World) -> None:
    case = _closed_case(world)
    anchor = chain_heads(world.app.engine)
    case_id = _case_id(world.app, case)
    chain = f"case:{case_id}"
    with world.app.engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE case_id = :c"), {"c": case_id})
        head = anchor[chain]
        conn.execute(insert(records).values(
            case_id=case_id, case_number=case, chain=chain, chain_seq=head["seq"],
            chain_hash=head["hash"], rule="default", term="2 years", term_start=START_UTC,
            term_end=START_UTC, removed_at=START_UTC, removed_by="admin",
            access_seq=1, counts={}))  # access record 1 is not its witness
    problems = [b.problem for b in verify_against_anchor(world.app.engine, anchor)]
    assert problems == ["chain is shorter than the exported anchor (truncated)"]


def _case_id(app: App, case: str) -> int:
    with app.engine.connect() as conn:
        row = repo.case_by_number(conn, case)
    assert row is not None
    return int(row.id)


def test_retention_from_the_command_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    runner = CliRunner()

    def invoke(*args: str, now: str = "2026-11-23T09:00") -> tuple[int, str]:
        result = runner.invoke(cli, ["--db", db, "--now", now, *args])
        return result.exit_code, result.output

    for args in (["db", "upgrade"], ["locations", "add", "ZON", "--name", "Z"],
                 ["users", "add", "anna", "--role", "coach", "--location", "ZON"],
                 ["users", "add", "beh", "--role", "admin"],
                 ["--as", "anna", "case", "open", "--first-name", CANARY, "--birth-date",
                  "2024-01-01", "--location", "ZON"],
                 ["--as", "anna", "case", "fire", "KOV-00001", "plaatsing", "annuleer", "--set",
                  "reden=verhuisd"]):
        assert invoke(*args)[0] == 0, args
    anchor = tmp_path / "anchor.json"
    assert invoke("audit", "anchor", "--out", str(anchor))[0] == 0
    later = "2028-11-24T09:00"
    code, out = invoke("--as", "anna", "retention", "run", "--dry-run", now=later)
    assert code == 2 and "functioneel beheer" in out
    code, out = invoke("--as", "beh", "retention", "run", "--dry-run", now=later)
    assert code == 0 and "KOV-00001" in out and "proefdraai" in out and CANARY not in out
    code, out = invoke("--as", "beh", "retention", "run", "--json", now=later)
    assert code == 0 and [d["case_number"] for d in json.loads(out)["removed"]] == ["KOV-00001"]
    assert invoke("audit", "verify", "--anchor", str(anchor), now=later)[0] == 0
    code, out = invoke("--as", "beh", "retention", "list", now=later)
    assert code == 0 and "KOV-00001  default (2 years)" in out
    code, out = invoke("--as", "anna", "case", "show", "KOV-00001", now=later)
    assert code == 4


def test_a_case_opened_after_the_newest_was_removed_inherits_nothing(world: World) -> None:
    from kovflow.services.subject_access import export_case

    clock = _at(world)
    gone = _closed_case(world)
    anchor = chain_heads(world.app.engine)
    clock.set(clock.now() + timedelta(days=3 * 365))
    assert [d.case_number for d in run_retention(world.app, world.admin).removed] == [gone]
    new = open_case(world.app, world.coach, first_name="Merel", initial="", birth_date=BORN,
                    location=world.location).case_number
    chain = f"case:{_case_id(world.app, new)}"
    if chain in anchor:  # SQLite gave the new case the removed one's id: grow its chain to the
        opened = True    # anchored length, so only the recorded removal tells the two apart
        while int(str(chain_heads(world.app.engine)[chain]["seq"])) < int(anchor[chain]["seq"]):
            record_dispute(world.app, world.coach, new, "klacht", open_=opened)
            opened = not opened
    report = export_case(world.app, world.coach, new)["inzage"]
    assert all(a["moment"] >= clock.now().isoformat() for a in report)
    assert verify_against_anchor(world.app.engine, anchor) == []
    assert verify_events(world.app.engine)[1] == []
    with world.app.engine.connect() as conn:
        assert highest_removed_case_id(conn) == 1  # for open_case: the next id must be higher


def test_terms_count_by_the_calendar() -> None:
    from datetime import datetime

    from kovflow.services.retention import parse_term

    leap = datetime(2024, 2, 29, 9, 0, tzinfo=START.tzinfo)
    assert parse_term("1 year", "x").after(leap) == leap.replace(year=2025, day=28)
    assert parse_term(" 20 years ", "x").after(leap) == leap.replace(year=2044)
    assert parse_term("13 months", "x").after(leap.replace(month=1, day=31)) == leap.replace(
        year=2025, month=2, day=28)
    assert parse_term("2 weeks", "x").after(leap) == leap + timedelta(days=14)
    assert (str(parse_term("1 day", "x")), str(parse_term("3 month", "x"))) == ("1 day", "3 months")
    for bad in ("20", "twintig jaar", "-1 years", 20):
        with pytest.raises(ConfigError, match="is not a term"):
            parse_term(bad, "[retention] default")
