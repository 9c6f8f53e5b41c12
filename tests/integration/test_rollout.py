"""The rollout tracker: per location the locatie_uitrol step, since when, and whether it is late."""

from __future__ import annotations

import gc
import json
import warnings
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from kovflow.cli import app as cli_app
from kovflow.reports.rollout import rollout
from kovflow.reports.stalled import AuditRefused
from kovflow.services import add_location, add_user, fire, resolve_actor, start_route
from tests.conftest import World

AMS = ZoneInfo("Europe/Amsterdam")


def _at(world: World, *args: int) -> None:
    world.app.clock.set(datetime(*args, tzinfo=AMS))  # type: ignore[attr-defined]


def test_each_location_with_its_step_and_age_in_werkdagen(world: World) -> None:
    add_location(world.app, world.operator, "MAAN", "De Maan", "Malburgen", "Stichting Maan")
    add_location(world.app, world.operator, "STER", "De Ster", "Malburgen", "Stichting Maan")
    _at(world, 2026, 11, 23, 9)
    start_route(world.app, world.manager, "locatie_uitrol", location="ZON")
    start_route(world.app, world.operator, "locatie_uitrol", location="MAAN")
    _at(world, 2026, 11, 25, 9)
    fire(world.app, world.manager, "locatie_uitrol", "team_geinformeerd", location="ZON",
         data={"team_geinformeerd_op": "2026-11-25"})
    _at(world, 2026, 12, 7, 9)  # MAAN: 10 werkdagen in step 1 (threshold 10); ZON: 8 in step 2
    rows = {r.location: r for r in rollout(world.app, world.operator)}
    assert list(rows) == ["MAAN", "STER", "ZON"]
    zon, maan, ster = rows["ZON"], rows["MAAN"], rows["STER"]
    assert (zon.step, zon.state, zon.werkdagen, zon.overdue) == (2, "coach_informeren", 8, True)
    assert zon.state_label.startswith("2. ")
    assert zon.since == datetime(2026, 11, 25, 9, tzinfo=AMS)
    assert (maan.step, maan.werkdagen, maan.overdue) == (1, 10, True)
    assert (ster.step, ster.state, ster.since, ster.werkdagen) == (None, "", None, None)
    assert ster.state_label == "Niet gestart" and not ster.overdue
    _at(world, 2026, 12, 4, 9)  # a werkdag earlier: MAAN not yet late; ZON (5 werkdagen) is
    rows = {r.location: r for r in rollout(world.app, world.operator)}
    assert (rows["MAAN"].werkdagen, rows["MAAN"].overdue) == (9, False)
    assert (rows["ZON"].werkdagen, rows["ZON"].overdue) == (7, True)


def test_only_the_coordinator_admin_and_operator(world: World) -> None:
    add_user(world.app, world.operator, "coordinator", ["coordinator"], email="co@example.org")
    assert [r.location for r in rollout(world.app, resolve_actor(world.app, "coordinator"))] == [
        "ZON"]
    assert rollout(world.app, world.admin)[0].state == ""
    with pytest.raises(AuditRefused):
        rollout(world.app, world.manager)


def test_cli_rollout_table_and_json(world: World, db_url: str) -> None:
    _at(world, 2026, 11, 23, 9)
    start_route(world.app, world.manager, "locatie_uitrol", location="ZON")
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli_app, ["--db", db_url, "--now", "2026-12-07T09:00", *args])
        code, output = result.exit_code, result.output
        del result  # its exception info holds the CLI's App (and engine) until collected
        with warnings.catch_warnings():  # the CLI's engine, left to the collector as at exit
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
        return code, output

    code, out = run("rollout")
    assert code == 0 and out.splitlines()[0].split()[:3] == ["Locatie", "Naam", "Wijk"]
    assert "ZON" in out and "1. Management informeert het team" in out
    code, out = run("rollout", "--json")
    [row] = json.loads(out)
    assert code == 0 and (row["location"], row["step"], row["werkdagen"], row["overdue"]) == (
        "ZON", 1, 10, True)
    code, out = run("--as", "coach", "rollout")
    assert code == 3
