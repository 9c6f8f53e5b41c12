"""The access policy in the service layer, the meldcode compartments and the access log."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from kovflow.cli import app as cli
from kovflow.errors import NotFound
from kovflow.services import (
    add_location,
    add_user,
    case_overview,
    fire,
    history,
    my_tasks,
    open_case,
    record_consent,
    resolve_actor,
    start_route,
)
from kovflow.services.access_report import access_report
from kovflow.store.maintenance import verify_access_log
from tests.conftest import World, join_team

PLAATS = {"groep": "Bijen", "startdatum": "2026-12-01", "mentor": "pm", "vve_indicatie": "nee"}


def _case(world: World) -> str:
    return open_case(world.app, world.coach, first_name="Zwaantje", initial="Q",
                     birth_date=date(2024, 2, 29), location=world.location).case_number


@pytest.fixture
def outsiders(world: World) -> dict[str, object]:
    """A coach of another organisation and a coordinator of the municipality."""
    add_location(world.app, world.operator, "ELDERS", "Elders", "Schuytgraaf", "Andere KO")
    add_user(world.app, world.operator, "coach2", ["coach"], location="ELDERS",
             organisation="Andere KO")
    add_user(world.app, world.operator, "coord", ["coordinator"], organisation="Gemeente")
    return {"coach2": resolve_actor(world.app, "coach2"),
            "coord": resolve_actor(world.app, "coord")}


def test_other_organisation_and_non_participant_partner_get_the_missing_case_answer(
        world: World, outsiders: dict[str, object]) -> None:
    case = _case(world)
    missing = "No case 'KOV-99999' was found"
    with pytest.raises(NotFound, match="KOV-99999") as absent:
        case_overview(world.app, world.coach, "KOV-99999")
    assert str(absent.value) == missing
    for probe in (outsiders["coach2"], world.wijkcoach):
        for call in (lambda a: case_overview(world.app, a, case),
                     lambda a: history(world.app, a, case),
                     lambda a: fire(world.app, a, "plaatsing", "plaats", case=case, data=PLAATS),
                     lambda a: record_consent(world.app, a, case, "x", "gegeven")):
            with pytest.raises(NotFound) as refused:
                call(probe)
            assert str(refused.value) == missing.replace("KOV-99999", case)
    join_team(world.app, case, "wijkcoach")  # as a participant the wijkcoach sees it,
    assert case_overview(world.app, world.wijkcoach, case).case_number == case
    # and the child's name once the parents consented to sharing with the wijkcoach.
    assert case_overview(world.app, world.wijkcoach, case).first_name == ""
    record_consent(world.app, world.coach, case, "kinderopvang_naar_wijkcoach", "gegeven")
    assert case_overview(world.app, world.wijkcoach, case).first_name == "Zwaantje"


def test_the_coordinator_sees_a_pseudonymised_record_only(
        world: World, outsiders: dict[str, object]) -> None:
    case = _case(world)
    record = case_overview(world.app, outsiders["coord"], case)  # type: ignore[arg-type]
    assert (record.case_number, record.first_name, record.initial, record.birth_date) == (
        case, "", "", None)
    assert [i.route for i in record.instances] == ["plaatsing"]
    assert all(who == "" for who, _, _ in record.participants)
    with pytest.raises(NotFound):
        fire(world.app, outsiders["coord"], "plaatsing", "annuleer", case=case,  # type: ignore[arg-type]
             data={"reden": "x"})


def test_the_meldcode_is_invisible_outside_its_compartment(world: World) -> None:
    case = _case(world)
    join_team(world.app, case, "wijkcoach")
    fire(world.app, world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    start_route(world.app, world.pm, "meldcode", case=case)  # the mentor is the initiator
    routes = {i.route for i in case_overview(world.app, world.wijkcoach, case).instances}
    assert "meldcode" not in routes and "plaatsing" in routes
    assert all(e["route"] != "meldcode" for e in history(world.app, world.wijkcoach, case))
    assert "meldcode" in {i.route for i in case_overview(world.app, world.pm, case).instances}
    assert "meldcode" in {i.route for i in case_overview(world.app, world.coach, case).instances}
    add_user(world.app, world.operator, "pm2", ["pm"], location=world.location)
    pm2 = resolve_actor(world.app, "pm2")
    assert "meldcode" not in {i.route for i in case_overview(world.app, pm2, case).instances}
    assert all(t["route"] != "meldcode" for t in my_tasks(world.app, pm2))
    assert any(t["route"] == "meldcode" for t in my_tasks(world.app, world.pm))


def test_every_read_write_and_refusal_is_logged_and_chained(
        world: World, outsiders: dict[str, object], tmp_path: Path) -> None:
    case = _case(world)
    case_overview(world.app, world.coach, case)
    with pytest.raises(NotFound):
        case_overview(world.app, outsiders["coach2"], case)  # type: ignore[arg-type]
    report = access_report(world.app, world.operator, case)
    assert [(r["actor"], r["action"], r["outcome"]) for r in report] == [
        ("coach", "write", "allowed"), ("coach", "read", "allowed"),
        ("coach2", "read", "refused")]
    assert "geweigerd" in report[-1]["zin"]
    count, breaks = verify_access_log(world.app.engine)
    assert (count, breaks) == (3, [])
    with world.app.engine.begin() as conn:
        conn.execute(text("UPDATE access_log SET outcome = 'allowed' WHERE actor = 'coach2'"))
    _, breaks = verify_access_log(world.app.engine)
    assert [b.problem for b in breaks] == ["content does not match its hash (edited)"]


def test_truncation_is_found_against_an_exported_anchor(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    fixed = ["--now", "2026-11-23T09:00"]
    runner = CliRunner()
    for args in (["db", "upgrade"], ["locations", "add", "ZON", "--name", "Z"],
                 ["case", "open", "--first-name", "A", "--birth-date", "2024-01-01",
                  "--location", "ZON"],
                 ["case", "show", "KOV-00001"]):
        assert runner.invoke(cli, ["--db", db, *fixed, *args]).exit_code == 0
    anchor = tmp_path / "anchor.json"
    assert runner.invoke(cli, ["--db", db, *fixed, "audit", "anchor", "--out", str(anchor)]).exit_code == 0
    assert runner.invoke(cli, ["--db", db, *fixed, "audit", "verify", "--anchor", str(anchor)]).exit_code == 0
    from sqlalchemy import create_engine

    engine = create_engine(db)
    with engine.begin() as conn:  # drop the newest access record: the chain itself stays valid
        conn.execute(text("DELETE FROM access_log WHERE seq = (SELECT max(seq) FROM access_log)"))
    engine.dispose()
    result = runner.invoke(cli, ["--db", db, *fixed, "audit", "verify", "--anchor", str(anchor), "--json"])
    assert result.exit_code == 1
    problems = [b["problem"] for b in json.loads(result.output)["breaks"]]
    assert any("truncated" in p for p in problems)


def test_no_personal_data_reaches_log_output(world: World, caplog: pytest.LogCaptureFixture
                                             ) -> None:
    """Every logger at DEBUG while a case with canary data moves: no canary in any record."""
    import logging

    from kovflow.notify.mailers import MemoryMailer
    from kovflow.scheduling.worker import build_scheduler, run_until

    caplog.set_level(logging.DEBUG)
    case = open_case(world.app, world.coach, first_name="Kanarie", initial="Z",
                     birth_date=date(2023, 7, 14), location=world.location).case_number
    join_team(world.app, case)
    fire(world.app, world.coach, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2026-11-26"})
    fire(world.app, world.coach, "plaatsing", "plaats", case=case, data={
        **PLAATS, "groep": "Kanariegroep", "mentor": "Kanariementor"})
    fire(world.app, world.coach, "wijkcoach", "wijkcoach_nodig", case=case)
    fire(world.app, world.coach, "wijkcoach", "ouders_weigeren", case=case)
    fire(world.app, world.coach, "wijkcoach", "anoniem_overleg", case=case,
         data={"advies": "Kanarie-advies over het gezin"})
    start_route(world.app, world.coach, "meldcode", case=case)
    with pytest.raises(NotFound):
        case_overview(world.app, world.admin, case)  # a refusal is logged too: in the access log
    run_until(world.app, MemoryMailer(), world.app.clock.now().replace(year=2027, month=1))
    for job in build_scheduler(world.app, MemoryMailer(), holder="test:1").get_jobs():
        job.func()  # the worker's tick and digest: the places where kovflow itself logs
    assert any(r.name.startswith("kovflow") for r in caplog.records)
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for canary in ("Kanarie", "2023-07-14", "14-07-2023", case, "meldcode"):
        assert canary.lower() not in text.lower(), canary
