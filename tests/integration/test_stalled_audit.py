"""The stalled-case audit: every rule at its threshold (and a werkdag before it), holidays, filters,
sorting, the meldcode aggregate, who may run it, and the CLI (table, JSON, CSV, XLSX)."""

from __future__ import annotations

import gc
import io
import json
import warnings
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from kovflow.access.policy import Action
from kovflow.cli import app as cli_app
from kovflow.config import Settings
from kovflow.errors import ConfigError, InvalidInput
from kovflow.reports.stalled import (
    AuditRefused,
    Finding,
    StalledFilters,
    find_stalled,
)
from kovflow.services import (
    add_location,
    add_user,
    fire,
    open_case,
    record_consent,
    resolve_actor,
    start_route,
)
from kovflow.store import repo
from tests.conftest import World

AMS = ZoneInfo("Europe/Amsterdam")


def _at(world: World, *args: int) -> None:
    world.app.clock.set(datetime(*args, tzinfo=AMS))  # type: ignore[attr-defined]


def _open(world: World, location: str | None = None) -> str:
    return open_case(world.app, world.coach, first_name="Canaryname", initial="Q",
                     birth_date=date(2024, 5, 1), location=location or world.location).case_number


def _found(world: World, rule: str, **filters: object) -> list[Finding]:
    report = find_stalled(world.app, world.operator, StalledFilters(rule=rule, **filters))  # type: ignore[arg-type]
    return report.findings


def _cases(world: World, rule: str, **filters: object) -> list[str]:
    return [f.case_number for f in _found(world, rule, **filters)]


# --- each rule at its threshold ------------------------------------------------------------------

def test_overdue_task_is_found_once_its_due_moment_passed(world: World) -> None:
    _at(world, 2026, 11, 23, 9)
    early = _open(world)  # task due 10 werkdagen later: Monday 7 December 09:00
    _at(world, 2026, 11, 24, 9)
    late = _open(world)  # one werkdag later: due Tuesday 8 December
    _at(world, 2026, 12, 7, 9, 1)
    assert _cases(world, "taak_over_tijd") == [early]
    [f] = _found(world, "taak_over_tijd")
    assert (f.role, f.route, f.state, f.state_label, f.werkdagen) == (
        "coach", "plaatsing", "aangemeld", "Aangemeld", 0)
    assert f.since == datetime(2026, 12, 7, 9, tzinfo=AMS)
    _at(world, 2026, 12, 8, 9, 1)
    assert _cases(world, "taak_over_tijd") == [early, late]


def test_no_progress_after_the_idle_threshold_and_kerst_moves_it(world: World) -> None:
    # plaatsing/aangemeld: 20 werkdagen. From Monday 14 December 2026, counting past Kerst (25
    # December) and Nieuwjaarsdag (1 January), the 20th werkdag is Wednesday 13 January 2027.
    _at(world, 2026, 12, 14, 9)
    case = _open(world)
    _at(world, 2027, 1, 11, 9)  # 20 weekdays, but two of them were holidays
    assert _cases(world, "geen_voortgang") == []
    _at(world, 2027, 1, 12, 23, 59)  # one werkdag before the threshold
    assert _cases(world, "geen_voortgang") == []
    _at(world, 2027, 1, 13, 0, 1)
    [f] = _found(world, "geen_voortgang")
    assert (f.case_number, f.werkdagen, f.role) == (case, 20, "coach")
    assert f.severity_label == "laag" and f.next_step


def test_idle_threshold_is_configurable_per_route_and_state(world: World) -> None:
    _at(world, 2026, 11, 23, 9)
    case = _open(world)
    _at(world, 2026, 11, 30, 9)  # 5 werkdagen later
    assert _cases(world, "geen_voortgang") == []
    world.app.settings = Settings(sections={"audit": {"idle": {"plaatsing": {"aangemeld": 5}}}})
    assert _cases(world, "geen_voortgang") == [case]
    world.app.settings = Settings(sections={"audit": {"idle": {"plaatsing": 6}}})
    assert _cases(world, "geen_voortgang") == []
    world.app.settings = Settings(sections={"audit": {"idle": {"plaatsing": {"nergens": 5}}}})
    with pytest.raises(ConfigError, match="nergens"):
        find_stalled(world.app, world.operator)
    world.app.settings = Settings(sections={"audit": {"idle_dagen": 5}})
    with pytest.raises(ConfigError, match="idle_dagen"):
        find_stalled(world.app, world.operator)


def test_planned_conversation_passed_unrecorded_and_koningsdag_moves_it(world: World) -> None:
    _at(world, 2027, 4, 1, 9)
    case = _open(world)
    fire(world.app, world.coach, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2027-04-26"})  # Monday; Tuesday 27 April is Koningsdag
    _at(world, 2027, 4, 27, 18)
    assert _cases(world, "gesprek_niet_vastgelegd") == []
    _at(world, 2027, 4, 28, 8)
    [f] = _found(world, "gesprek_niet_vastgelegd")
    assert (f.case_number, f.state, f.werkdagen) == (case, "intake_gepland", 1)
    assert "2027-04-26" in f.reason
    fire(world.app, world.coach, "plaatsing", "plaats", case=case, data={
        "groep": "Bijen", "startdatum": "2027-05-03", "mentor": "pm", "vve_indicatie": "nee"})
    assert _cases(world, "gesprek_niet_vastgelegd") == []  # recorded: no longer a finding


def test_consent_undecided_after_ten_werkdagen(world: World) -> None:
    _at(world, 2026, 11, 23, 9)
    case = _open(world)
    record_consent(world.app, world.coach, case, "kinderopvang_naar_wijkcoach", "gevraagd")
    _at(world, 2026, 12, 4, 23)  # 9 werkdagen
    assert _cases(world, "toestemming_onbeslist") == []
    _at(world, 2026, 12, 7, 8)
    [f] = _found(world, "toestemming_onbeslist")
    assert (f.case_number, f.werkdagen, f.person, f.person_name) == (case, 10, "coach", "coach")
    record_consent(world.app, world.coach, case, "kinderopvang_naar_wijkcoach", "gegeven")
    assert _cases(world, "toestemming_onbeslist") == []


def test_beschikking_past_service_norm_then_past_eight_weeks(world: World) -> None:
    _at(world, 2026, 11, 23, 9)
    case = _open(world)
    start_route(world.app, world.operator, "opschaling_beschikking", case=case,
                state="aangevraagd", data={"aanvraagdatum": "2026-11-23"})
    _at(world, 2026, 12, 20, 12)  # 4 weeks minus a day
    assert _cases(world, "beschikking_servicenorm") == []
    _at(world, 2026, 12, 21, 8)
    assert _cases(world, "beschikking_servicenorm") == [case]
    assert _cases(world, "beschikking_beslistermijn") == []
    _at(world, 2027, 1, 17, 12)
    assert _cases(world, "beschikking_beslistermijn") == []
    _at(world, 2027, 1, 18, 8)
    report = find_stalled(world.app, world.operator, StalledFilters(route="opschaling_beschikking"))
    rules = [f.rule for f in report.findings]
    # Past 8 weeks is also past the service norm: only the worse one is listed.
    assert "beschikking_beslistermijn" in rules and "beschikking_servicenorm" not in rules
    assert report.findings[0].rule == "beschikking_beslistermijn"
    assert report.findings[0].severity_label == "hoog"


def test_rollout_step_open_longer_than_its_threshold(world: World) -> None:
    _at(world, 2026, 11, 23, 9)
    start_route(world.app, world.manager, "locatie_uitrol", location=world.location)
    _at(world, 2026, 12, 4, 23)  # team_informeren: 10 werkdagen; this is 9
    assert _cases(world, "uitrol_stap") == []
    _at(world, 2026, 12, 7, 8)
    [f] = _found(world, "uitrol_stap")
    assert (f.case_number, f.location, f.route, f.state, f.role, f.werkdagen) == (
        "ZON", "ZON", "locatie_uitrol", "team_informeren", "manager", 10)
    assert _cases(world, "taak_over_tijd") == [] and _cases(world, "geen_voortgang") == []


# --- privacy and access ----------------------------------------------------------------------

def test_meldcode_findings_only_in_the_aggregate(world: World) -> None:
    add_user(world.app, world.operator, "af", ["aandachtsfunctionaris"], email="af@example.org",
             location=world.location)
    _at(world, 2026, 11, 23, 9)
    secret = open_case(world.app, world.coach, first_name="Canaryname", initial="Q",
                       birth_date=date(2024, 5, 1), location=world.location, routes=()).case_number
    start_route(world.app, resolve_actor(world.app, "af"), "meldcode", case=secret)
    _at(world, 2027, 2, 1, 9)
    report = find_stalled(world.app, world.operator)
    assert report.confidential == 1 and report.confidential_line == "vertrouwelijke routes: 1"
    assert secret not in {f.case_number for f in report.findings}
    assert not [f for f in report.findings if f.route.startswith("meldcode")]
    only = find_stalled(world.app, world.operator, StalledFilters(route="meldcode"))
    assert only.findings == [] and only.confidential == 1
    text = json.dumps([asdict(f) for f in report.findings], default=str)
    assert "Canaryname" not in text and "2024-05-01" not in text


def test_coordinator_and_admin_may_run_it_a_wijkcoach_and_a_coach_are_refused(
        world: World) -> None:
    add_user(world.app, world.operator, "coordinator", ["coordinator"],
             email="coordinator@example.org")
    _open(world)
    coordinator = resolve_actor(world.app, "coordinator")
    assert find_stalled(world.app, coordinator).findings == []
    assert find_stalled(world.app, world.admin).findings == []
    for actor in (world.wijkcoach, world.coach):
        with pytest.raises(AuditRefused) as refused:
            find_stalled(world.app, actor)
        assert refused.value.exit_code == 3
    with world.app.engine.connect() as conn:
        rows = [(r.actor, r.action, r.outcome) for r in repo.access_rows(conn)
                if r.what.startswith("stalled-case audit")]
    assert rows == [("coordinator", Action.SEARCH.value, "allowed"),
                    ("admin", "search", "allowed"), ("wijkcoach", "search", "refused"),
                    ("coach", "search", "refused")]


def test_bad_filters_are_refused_with_a_clear_message(world: World) -> None:
    with pytest.raises(InvalidInput, match="onbekende regel"):
        find_stalled(world.app, world.operator, StalledFilters(rule="traag"))
    with pytest.raises(InvalidInput, match="onbekende route"):
        find_stalled(world.app, world.operator, StalledFilters(route="nergens"))
    with pytest.raises(InvalidInput, match="min-werkdagen"):
        find_stalled(world.app, world.operator, StalledFilters(min_werkdagen=-1))


# --- filters and order -------------------------------------------------------------------------

def _two_locations(world: World) -> tuple[str, str, str]:
    add_location(world.app, world.operator, "MAAN", "De Maan", "Malburgen", "Stichting Maan")
    add_user(world.app, world.operator, "coach2", ["coach"], email="c2@example.org",
             location="MAAN")
    _at(world, 2026, 11, 23, 9)
    zon = _open(world)
    record_consent(world.app, world.coach, zon, "kinderopvang_naar_wijkcoach", "gevraagd")
    _at(world, 2026, 12, 1, 9)
    maan = open_case(world.app, resolve_actor(world.app, "coach2"), first_name="X", initial="",
                     birth_date=date(2024, 1, 1), location="MAAN").case_number
    start_route(world.app, world.operator, "opschaling_beschikking", case=maan,
                state="aangevraagd", data={"aanvraagdatum": "2026-11-01"})
    _at(world, 2027, 1, 11, 9)
    return zon, maan, "MAAN"


def test_filters_by_location_wijk_organisation_route_rule_and_age(world: World) -> None:
    zon, maan, _ = _two_locations(world)
    op = world.operator

    def cases(**kw: object) -> set[str]:
        return {f.case_number for f in find_stalled(
            world.app, op, StalledFilters(**kw)).findings}  # type: ignore[arg-type]

    assert cases() == {zon, maan}
    assert cases(location="MAAN") == {maan}
    assert cases(wijk="Presikhaaf") == {zon}
    assert cases(organisation="Stichting Maan") == {maan}
    assert cases(route="opschaling_beschikking") == {maan}
    assert cases(rule="toestemming_onbeslist") == {zon}
    ages = {f.werkdagen for f in find_stalled(world.app, op).findings}
    cut = sorted(ages)[len(ages) // 2]
    assert {f.werkdagen >= cut for f in find_stalled(
        world.app, op, StalledFilters(min_werkdagen=cut)).findings} == {True}
    assert len(find_stalled(world.app, op, StalledFilters(min_werkdagen=cut)).findings) < len(
        find_stalled(world.app, op).findings)


def test_overdue_tasks_by_location_and_route_the_route_copied_onto_its_tasks(world: World
                                                                               ) -> None:
    zon, maan, _ = _two_locations(world)  # both have an overdue task: plaatsing/aangemeld
    with world.app.engine.connect() as conn:
        assert {r.route_id for r in conn.execute(repo.tasks.select())} == {
            "plaatsing", "opschaling_beschikking"}
    assert set(_cases(world, "taak_over_tijd")) == {zon, maan}
    assert _cases(world, "taak_over_tijd", location="MAAN") == [maan]
    assert _cases(world, "taak_over_tijd", wijk="Presikhaaf") == [zon]
    assert _cases(world, "taak_over_tijd", organisation="Stichting Maan") == [maan]
    assert set(_cases(world, "taak_over_tijd", route="plaatsing")) == {zon, maan}
    assert _cases(world, "taak_over_tijd", route="evaluatie") == []
    for page in (1, 2):  # a first page filtered by location holds that location only
        assert _cases(world, "taak_over_tijd", location="ZON", limit=page) == [zon]


_LOCATION_ROUTE = """id = "locatie_scholing"
version = 1
title = "Scholing van het team"
per = "location"
initial = "plannen"
starters = ["manager"]
source = "test"

[states.plannen]
label = "Scholing plannen"
task = { role = "manager", title = "Plan de scholing", due = { werkdagen = 5 } }

[states.klaar]
label = "Klaar"
final = true

[[transitions]]
trigger = "afronden"
from = ["plannen"]
to = "klaar"
roles = ["manager"]
"""


def test_overdue_tasks_of_a_location_route_beside_case_tasks(world: World, db_url: str,
                                                             tmp_path: Path) -> None:
    import shutil

    from kovflow.services import build_app

    folder = tmp_path / "workflows"
    shutil.copytree(Path(__file__).resolve().parents[2] / "workflows", folder)
    (folder / "locatie_scholing").mkdir()
    (folder / "locatie_scholing" / "v1.toml").write_text(_LOCATION_ROUTE, encoding="utf-8")
    app = build_app(Settings(workflows_dir=folder), clock=world.app.clock, database_url=db_url)
    try:
        add_location(app, world.operator, "MAAN", "De Maan", "Malburgen", "Stichting Maan")
        _at(world, 2026, 11, 23, 9)
        case = _open(world)  # plaatsing task due 7 December
        start_route(app, world.manager, "locatie_scholing", location="ZON")  # due 30 November
        start_route(app, world.operator, "locatie_scholing", location="MAAN")
        _at(world, 2026, 12, 8, 9)

        def overdue(**kw: object) -> list[tuple[str, str]]:
            return [(f.case_number, f.route) for f in find_stalled(app, world.operator, StalledFilters(
                rule="taak_over_tijd", **kw)).findings]  # type: ignore[arg-type]

        assert overdue() == [("MAAN", "locatie_scholing"), ("ZON", "locatie_scholing"),
                             (case, "plaatsing")]
        assert overdue(location="ZON") == [("ZON", "locatie_scholing"), (case, "plaatsing")]
        assert overdue(location="ZON", limit=1) == [("ZON", "locatie_scholing")]
        assert overdue(route="locatie_scholing", wijk="Malburgen") == [
            ("MAAN", "locatie_scholing")]
        assert overdue(route="plaatsing") == [(case, "plaatsing")]
    finally:
        app.engine.dispose()


def test_sorted_by_severity_then_age_and_a_first_page_is_the_same_prefix(world: World) -> None:
    _two_locations(world)
    _at(world, 2026, 12, 1, 9)  # and a planned intake that passed unrecorded
    fire(world.app, world.coach, "plaatsing", "plan_intake", case=_open(world),
         data={"intake_datum": "2026-12-14"})
    _at(world, 2027, 1, 11, 9)
    full = find_stalled(world.app, world.operator).findings
    assert {"beschikking_beslistermijn", "gesprek_niet_vastgelegd", "taak_over_tijd",
            "toestemming_onbeslist"} <= {f.rule for f in full}
    keys = [(-f.severity, -f.werkdagen) for f in full]
    assert keys == sorted(keys) and len({f.severity for f in full}) >= 2
    page = find_stalled(world.app, world.operator, StalledFilters(limit=3))
    assert not page.complete
    assert [(f.case_number, f.rule) for f in page.findings] == [
        (f.case_number, f.rule) for f in full[:3]]
    # Every page size, so each rule's limited query (the dated rules share one) is cut at
    # every place in the order.
    for size in range(1, len(full) + 1):
        page = find_stalled(world.app, world.operator, StalledFilters(limit=size))
        assert [(f.case_number, f.rule, f.route) for f in page.findings] == [
            (f.case_number, f.rule, f.route) for f in full[:size]], size


# --- CLI -------------------------------------------------------------------------------------

@pytest.fixture
def cli(world: World, db_url: str) -> object:
    runner = CliRunner()

    def invoke(*args: str, as_user: str | None = None) -> tuple[int, str]:
        prefix = ["--db", db_url, "--now", "2027-01-11T09:00"]
        if as_user:
            prefix += ["--as", as_user]
        result = runner.invoke(cli_app, [*prefix, *args])
        code, output = result.exit_code, result.output
        del result  # its exception info holds the CLI's App (and engine) until collected
        # Each call builds its own engine and leaves its pool to the garbage collector, as a
        # process does at exit; on PostgreSQL collecting it warns about open connections.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
        return code, output

    return invoke


def test_cli_table_json_csv_and_xlsx(world: World, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    zon, maan, _ = _two_locations(world)
    code, out = cli("audit", "stalled")
    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["Ernst", "Casus", "Locatie"]
    assert zon in out and maan in out and "vertrouwelijke routes: 0" in out
    code, out = cli("audit", "stalled", "--location", "MAAN", "--json")
    doc = json.loads(out)
    assert code == 0 and {f["case_number"] for f in doc["findings"]} == {maan}
    assert doc["findings"][0]["rule"] == "beschikking_beslistermijn"
    code, out = cli("audit", "stalled", "--rule", "traag", "--json")
    assert code == 2 and json.loads(out)["error"] == "InvalidInput"
    code, out = cli("audit", "stalled", "--json", as_user="wijkcoach")
    assert code == 3

    csv_file = tmp_path / "stalled.csv"
    code, out = cli("audit", "stalled", "--format", "csv", "--out", str(csv_file))
    assert code == 0
    lines = csv_file.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "Vastgelopen routes" and lines[2].startswith("Gegenereerd op;2027-01-11")
    assert lines[4].split(";")[:2] == ["Ernst", "Casus"]
    assert code == 0 and cli("audit", "stalled", "--format", "csv")[0] == 2  # --out missing

    from openpyxl import load_workbook

    xlsx = tmp_path / "stalled.xlsx"
    assert cli("audit", "stalled", "--format", "xlsx", "--out", str(xlsx))[0] == 0
    ws = load_workbook(io.BytesIO(xlsx.read_bytes())).active
    assert ws is not None
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0][0] == "Vastgelopen routes"
    assert rows[1][0] == "Periode" and "vertrouwelijke routes: 0" in str(rows[1][1])
    assert rows[2][0] == "Gegenereerd op" and str(rows[2][1]).startswith("2027-01-11")
    assert list(rows[4][:3]) == ["Ernst", "Casus", "Locatie"]
    assert {r[1] for r in rows[5:]} == {zon, maan}


def test_a_finding_holds_no_child_data(world: World) -> None:
    _two_locations(world)
    for f in find_stalled(world.app, world.operator).findings:
        values = json.dumps(asdict(f), default=str)
        assert "Canaryname" not in values and "2024-05-01" not in values
