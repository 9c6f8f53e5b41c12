"""The monitor passende kinderopvang on small hand-built populations: one test per indicator,
grouping, comparison between periods, who may run it, exports and the CLI.

Every case is built through the services (open_case, fire, start_route, add_participant), so the
monitor reads exactly what the routes record.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kovflow.actor import Actor
from kovflow.clock import FixedClock
from kovflow.errors import InvalidInput
from kovflow.reports.monitor import MonitorRefused, compute_monitor, report_rows
from kovflow.services import (
    App,
    add_location,
    add_participant,
    add_user,
    fire,
    open_case,
    record_consent,
    resolve_actor,
    start_route,
)
from kovflow.services.retention import run_retention
from kovflow.store import monitor_repo, repo
from tests.conftest import World

OP = Actor.installation_operator()
YEAR = (date(2026, 1, 1), date(2026, 12, 31))


def _case(world: World, *, born: date = date(2024, 1, 1), location: str = "ZON",
          by: Actor | None = None, **facts: Any) -> str:
    routes = ("plaatsing", "warme_overdracht_jgz") if facts.get("jgz_zorgen") else ("plaatsing",)
    return open_case(world.app, by or world.coach, first_name="Kind", initial="K", birth_date=born,
                     location=location, routes=routes, facts=facts).case_number


def _place(world: World, case: str, start: str, vve: str | None = None) -> None:
    data: dict[str, Any] = {"groep": "Bijen", "startdatum": start, "mentor": "pm",
                            "vve_indicatie": "ja" if vve else "nee"}
    if vve:
        data.update(vve_datum=vve, vve_afgever="JGZ")
    fire(world.app, OP, "plaatsing", "plaats", case=case, data=data)


def _leave(world: World, case: str, day: str, reason: str, passend: bool) -> None:
    fire(world.app, OP, "plaatsing", "stroom_uit", case=case,
         data={"uitstroom_datum": day, "uitstroom_reden": reason,
               "passend_geboden": "ja" if passend else "nee"})


def _monitor(app: App, period: tuple[date, date] = YEAR, **kw: Any) -> Any:
    return compute_monitor(app, OP, period[0], period[1], **kw)


def test_trajecten_and_ve_at_entry_or_during_placement(world: World) -> None:
    a = _case(world)
    _place(world, a, "2026-03-02", vve="2026-02-15")  # VE at entry
    b = _case(world)
    _place(world, b, "2026-03-02")
    fire(world.app, OP, "plaatsing", "vve_indicatie_tijdens_plaatsing", case=b,
         data={"vve_datum": "2026-06-01", "vve_afgever": "JGZ"})  # VE during placement
    _case(world)  # referred, never placed: no traject
    gone = _case(world)
    _place(world, gone, "2025-01-06", vve="2025-01-01")
    _leave(world, gone, "2025-12-19", "basisonderwijs", True)  # left before the period
    later = _case(world)
    _place(world, later, "2027-02-01", vve="2026-12-01")  # starts after the period

    year = _monitor(world.app).total
    assert (year.trajecten, year.ve.count, year.ve.rounded) == (2, 2, 100)
    spring = _monitor(world.app, (date(2026, 1, 1), date(2026, 4, 30))).total
    # The indicatie of b is dated after April: in spring b was a traject without VE.
    assert (spring.trajecten, spring.ve.count, spring.ve.rounded) == (2, 1, 50)
    # A placement that ended in the period is still a traject of it.
    assert _monitor(world.app, (date(2025, 12, 1), date(2025, 12, 31))).total.trajecten == 1


def test_a_discipline_counts_once_per_traject_from_participants_and_routes(world: World) -> None:
    app = world.app
    add_user(app, OP, "ab", ["ambulant_begeleider"], organisation="Zorg BV")
    # X: the coach opened it (participant coach) and a logopedist takes part.
    x = _case(world)
    _place(world, x, "2026-02-02")
    add_participant(app, OP, x, "logopedist", name="L. Logo", organisation="Logopedie Oost")
    # Y: warm handover held by JGZ (route) and JGZ as participant; wijkcoach reached betrokken
    # (route) and the wijkcoach as participant: each discipline still counts once.
    y = _case(world, jgz_zorgen=True)
    add_participant(app, OP, y, "jgz", username="jgz")
    add_participant(app, OP, y, "wijkcoach", username="wijkcoach")
    fire(app, OP, "warme_overdracht_jgz", "vraag_toestemming", case=y, data={})
    record_consent(app, OP, y, "jgz_naar_kinderopvang", "gegeven", form="schriftelijk")
    fire(app, OP, "warme_overdracht_jgz", "plan_gesprek", case=y,
         data={"gesprek_datum": "2026-01-20", "deelnemers": "jgz; ouders; coach"})
    fire(app, OP, "warme_overdracht_jgz", "voer_gesprek", case=y,
         data={"aandachtspunten": "spraak", "afspraken": "logopedie"})
    fire(app, OP, "warme_overdracht_jgz", "rond_af", case=y, data={})
    _place(world, y, "2026-02-02")
    fire(app, OP, "wijkcoach", "wijkcoach_betrokken", case=y, data={})
    for scope in ("kinderopvang_naar_wijkcoach", "wijkcoach_naar_kinderopvang"):
        record_consent(app, OP, y, scope, "gegeven", form="mondeling")
    fire(app, OP, "wijkcoach", "toestemming_gegeven", case=y,
         data={"contactniveau": "samenwerking"})
    # Z: ambulante inzet at home, from the route alone (no ambulant begeleider participant).
    z = _case(world)
    _place(world, z, "2026-02-02")
    start_route(app, world.coach, "ambulante_inzet", case=z)
    record_consent(app, OP, z, "kinderopvang_naar_ambulant", "gegeven", form="schriftelijk")
    fire(app, OP, "ambulante_inzet", "dien_in", case=z,
         data={"vraag": "spel", "expertise": "gedrag", "begeleider": "ab"})
    fire(app, OP, "ambulante_inzet", "start", case=z,
         data={"intensiteit": "begeleiding_thuis", "doelen": "samen spelen",
               "einddatum": "2026-06-30"})
    # W: opened by the operator (no coach among its participants), nothing else deployed.
    w = _case(world, by=OP)
    _place(world, w, "2026-02-02")

    d = _monitor(app).total.disciplines
    assert {k: (s.count, s.base) for k, s in d.items()} == {
        "coach": (3, 4), "logopedist": (1, 4), "jeugdverpleegkundige": (1, 4),
        "wijkcoach": (1, 4), "ambulant_begeleider": (1, 4), "thuisondersteuning": (1, 4)}
    assert d["coach"].rounded == 75


def _table(app: App, table: Any = monitor_repo.placements) -> list[tuple[Any, ...]]:
    with app.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(table.select().order_by(table.c.id))]


def test_the_per_placement_table_follows_every_step_and_equals_a_rebuild(world: World) -> None:
    """The monitor reads ``monitor_placements``, rewritten in each step's transaction: after
    placing, a participant joining later, VE during the placement and the outflow, the table is
    exactly what a rebuild from the route data gives."""
    app = world.app
    a = _case(world, born=date(2023, 1, 10))
    assert _table(app) == []  # referred, not placed: no row
    _place(world, a, "2026-02-02")
    rows = _table(app)
    assert len(rows) == 1 and rows[0][3] == date(2026, 2, 2)
    add_participant(app, OP, a, "logopedist", name="L. Logo", organisation="Logopedie Oost")
    fire(app, OP, "plaatsing", "vve_indicatie_tijdens_plaatsing", case=a,
         data={"vve_datum": "2026-03-01", "vve_afgever": "JGZ"})
    _leave(world, a, "2026-09-01", "behandelsetting", False)
    b = _case(world)
    _place(world, b, "2026-04-01", vve="2026-03-15")
    start_route(app, world.coach, "overbrugging", case=b, data={
        "vervolgvoorziening": "MKD", "wachtlijst_sinds": "2026-05-01", "casusregisseur": "jgz",
        "doelen": "veilig spelen", "evaluatiedata": "2026-06-01", "minder_dagdelen": "nee",
        "extra_pm": "ja", "extra_expertise": "nee"})
    maintained = _table(app)
    support = _table(app, monitor_repo.support)
    assert [(r[3], r[4], r[5]) for r in support] == [
        ("overbrugging", date(2026, 5, 1), date(9999, 12, 31))]
    row = dict(zip(monitor_repo.placements.c.keys(), maintained[0], strict=True))
    assert (row["logopedist"], row["vve_datum"], row["uitstroom_datum"], row["voortijdig"],
            row["uitstroom_reden"], row["passend"]) == (
        1, date(2026, 3, 1), date(2026, 9, 1), 1, "behandelsetting", 0)
    with app.engine.begin() as conn:
        assert monitor_repo.rebuild(conn) == 2
    assert _table(app) == maintained
    assert _table(app, monitor_repo.support) == support


def test_retention_removes_a_case_with_its_monitor_rows(world: World, clock: FixedClock) -> None:
    a = _case(world)
    _place(world, a, "2026-11-02")
    _leave(world, a, "2026-11-20", "verhuisd", True)
    assert len(_table(world.app)) == 1
    clock.advance(timedelta(days=3 * 366))  # past the default term after the last change
    assert [d.case_number for d in run_retention(world.app, world.admin).removed] == [a]
    assert _table(world.app) == []


def test_uitstroom_shares_are_of_all_leavers(world: World) -> None:
    leavers = [  # born, left, reason, passend
        (date(2020, 1, 1), "2026-06-01", "basisonderwijs", True),
        (date(2022, 7, 1), "2026-07-01", "basisonderwijs", True),  # 4 that day: not voortijdig
        (date(2023, 1, 1), "2026-06-01", "behandelsetting", False),
        (date(2023, 2, 1), "2026-06-01", "verhuisd", True),
        (date(2020, 1, 1), "2025-12-31", "basisonderwijs", True),  # before the period
    ]
    for born, day, reason, passend in leavers:
        case = _case(world, born=born)
        _place(world, case, "2025-01-06")
        _leave(world, case, day, reason, passend)

    t = _monitor(world.app).total
    assert t.leavers == 4
    assert {k: (s.count, s.base) for k, s in t.uitstroom.items()} == {
        "passend": (3, 4), "basisonderwijs": (2, 4), "voortijdig": (2, 4),
        "voortijdig_behandelsetting": (1, 4), "voortijdig_overig": (1, 4)}


def test_waiting_and_bridging_times_in_calendar_days(world: World, clock: FixedClock) -> None:
    app = world.app
    # Aanmelding -> plaatsing: referred on the clock's day, placed 14 and 28 days later.
    for days in (14, 28):
        case = _case(world)
        _place(world, case, (clock.now().date() + timedelta(days=days)).isoformat())
    for since, moved in (("2026-01-05", "2026-03-02"), ("2026-02-01", "2026-02-11"),
                         ("2026-03-01", None)):
        case = _case(world)
        _place(world, case, "2025-09-01")
        start_route(app, world.coach, "overbrugging", case=case, data={
            "vervolgvoorziening": "MKD", "wachtlijst_sinds": since, "casusregisseur": "jgz",
            "doelen": "veilig spelen", "evaluatiedata": "2026-03-01", "minder_dagdelen": "nee",
            "extra_pm": "ja", "extra_expertise": "nee"})
        if moved:
            fire(app, OP, "overbrugging", "doorstromen", case=case,
                 data={"doorstroom_datum": moved, "voorziening": "MKD"})

    t = _monitor(app, (date(2026, 1, 1), date(2027, 1, 31))).total
    assert (t.wachttijd_plaatsing.count, t.wachttijd_plaatsing.median_days,
            t.wachttijd_plaatsing.mean_days) == (2, 21.0, 21.0)
    # 56 and 10 days on the list before moving on; the third child is still waiting.
    assert (t.overbrugging_wachttijd.count, t.overbrugging_wachttijd.median_days,
            t.overbrugging_wachttijd.mean_days) == (2, 33.0, 33.0)
    assert t.overbrugging_wachtend == 3
    # After both moved on only the third child is on a waiting list.
    assert _monitor(app, (date(2026, 4, 1), date(2026, 4, 30))).total.overbrugging_wachtend == 1


def test_taakuren_hours_within_the_period(world: World) -> None:
    app = world.app
    case = _case(world)
    _place(world, case, "2026-01-05")
    start_route(app, world.coach, "taakuren", case=case, data={
        "uren_per_week": "4", "einddatum": "2026-03-29", "doel": "taal", "mentor": "pm"})
    fire(app, OP, "taakuren", "ken_toe", case=case, data={})
    fire(app, OP, "taakuren", "start_uitvoering", case=case, data={"startdatum": "2026-03-02"})
    requested = _case(world)  # requested only: no hours were made
    start_route(app, world.coach, "taakuren", case=requested, data={
        "uren_per_week": "8", "einddatum": "2026-06-01", "doel": "taal", "mentor": "pm"})

    t = _monitor(app).total
    assert (t.taakuren_trajecten, t.taakuren_uren) == (1, 16.0)  # 4 weeks of 4 hours
    march = _monitor(app, (date(2026, 3, 16), date(2026, 3, 22))).total
    assert (march.taakuren_trajecten, march.taakuren_uren) == (1, 4.0)


def _two_locations(world: World) -> None:
    add_location(world.app, OP, "REG", "De Regenboog", "Malburgen", "Kinderopvang Arnhem")
    add_location(world.app, OP, "KAS", "Het Kasteel", "Presikhaaf", "Partou")
    for loc, vve in (("ZON", "2026-01-01"), ("ZON", None), ("REG", "2026-01-01"),
                     ("KAS", None)):
        case = _case(world, location=loc, by=OP)
        _place(world, case, "2026-02-02", vve=vve)


def test_grouping_by_location_wijk_and_organisation(world: World) -> None:
    _two_locations(world)
    by_loc = {g.key: (g.label, g.figures.trajecten, g.figures.ve.count)
              for g in _monitor(world.app, by="location").groups}
    assert by_loc == {"ZON": ("De Zonnebloem", 2, 1), "REG": ("De Regenboog", 1, 1),
                      "KAS": ("Het Kasteel", 1, 0)}
    by_wijk = {g.key: (g.figures.trajecten, g.figures.ve.rounded)
               for g in _monitor(world.app, by="wijk").groups}
    assert by_wijk == {"Presikhaaf": (3, 33), "Malburgen": (1, 100)}
    by_org = {g.key: g.figures.trajecten
              for g in _monitor(world.app, by="organisation").groups}
    assert by_org == {"Kinderopvang Arnhem": 3, "Partou": 1}
    assert _monitor(world.app, by="wijk").total.trajecten == 4


def test_comparison_between_two_periods(world: World) -> None:
    _two_locations(world)  # 4 trajecten from February 2026, 2 with VE
    case = _case(world)
    _place(world, case, "2025-03-03", vve="2025-03-01")
    _leave(world, case, "2025-12-19", "basisonderwijs", True)  # 2025: 1 traject, VE 100%
    report = _monitor(world.app, compare=(date(2025, 1, 1), date(2025, 12, 31)))
    changes = {c.indicator: c for c in report.changes}
    assert report.previous is not None and report.previous.total.trajecten == 1
    assert (changes["trajecten"].previous, changes["trajecten"].current,
            changes["trajecten"].delta) == (1.0, 4.0, 3.0)
    assert (changes["ve"].previous, changes["ve"].current, changes["ve"].delta,
            changes["ve"].unit) == (100.0, 50.0, -50.0, "%")
    assert changes["uitstroom"].delta == -1.0
    headings, rows = report_rows(report)
    assert headings[-2:] == ["Vorige periode", "Verschil"]
    ve_row = next(r for r in rows if r[0] == "Totaal" and r[1] == "Met VE-indicatie")
    assert ve_row[2:] == [50.0, "%", 2, 4, 100.0, -50.0]


@pytest.mark.parametrize("who", ["coach", "wijkcoach", "pm", "jgz"])
def test_only_coordinator_admin_and_operator_may_run_it(world: World, who: str) -> None:
    app = world.app
    add_user(app, OP, "coordinator", ["coordinator"], organisation="Gemeente Arnhem")
    with pytest.raises(MonitorRefused) as refused:
        compute_monitor(app, getattr(world, who), *YEAR)
    assert refused.value.exit_code == 3
    compute_monitor(app, resolve_actor(app, "coordinator"), *YEAR)
    compute_monitor(app, world.admin, *YEAR)
    with app.engine.connect() as conn:
        log = [(r.actor, r.action, r.outcome, r.case_number) for r in repo.access_rows(conn)
               if r.what.startswith("monitor")]
    assert log == [(who, "search", "refused", ""), ("coordinator", "search", "allowed", ""),
                   ("admin", "search", "allowed", "")]


def test_bad_input_is_refused_with_a_clear_error(world: World) -> None:
    with pytest.raises(InvalidInput, match=r"ends .* before it starts"):
        compute_monitor(world.app, OP, date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(InvalidInput, match="unknown grouping 'stad'"):
        compute_monitor(world.app, OP, *YEAR, by="stad")
    with pytest.raises(InvalidInput, match="comparison period"):
        compute_monitor(world.app, OP, *YEAR, compare=(date(2025, 2, 1), date(2025, 1, 1)))


def test_report_has_no_case_numbers_or_names(world: World) -> None:
    case = open_case(world.app, world.coach, first_name="Zwaantje", initial="Q",
                     birth_date=date(2023, 5, 5), location="ZON").case_number
    _place(world, case, "2026-02-02", vve="2026-01-01")
    doc = json.dumps(_monitor(world.app, by="location").to_dict())
    assert case not in doc and "Zwaantje" not in doc and "2023-05-05" not in doc


# --- CLI and exports ---------------------------------------------------------------------------

def _cli(app: App, *args: str) -> Any:
    from kovflow.cli import app as cli

    url = app.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli, ["--db", url, "--now", "2026-11-23T09:00", *args])


def test_cli_json_table_and_refusal(world: World) -> None:
    _two_locations(world)
    result = _cli(world.app, "monitor", "--from", "2026-01-01", "--to", "2026-12-31",
                  "--by", "wijk", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["total"]["trajecten"] == 4 and doc["total"]["ve"]["percent"] == 50.0
    assert [g["key"] for g in doc["groups"]] == ["Malburgen", "Presikhaaf"]
    text = _cli(world.app, "monitor", "--from", "2026-01-01", "--to", "2026-12-31")
    assert text.exit_code == 0 and "Met VE-indicatie" in text.output and "50" in text.output
    refused = _cli(world.app, "--as", "coach", "monitor", "--from", "2026-01-01",
                   "--to", "2026-12-31")
    assert refused.exit_code == 3 and "coördinator" in refused.output
    bad = _cli(world.app, "monitor", "--from", "2026-13-01", "--to", "2026-12-31")
    assert bad.exit_code == 2 and "--from" in bad.output


def test_cli_csv_and_xlsx_exports(world: World, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    _two_locations(world)
    out = tmp_path / "monitor.csv"
    result = _cli(world.app, "monitor", "--from", "2026-01-01", "--to", "2026-12-31",
                  "--compare-from", "2025-01-01", "--compare-to", "2025-12-31",
                  "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == ["Monitor passende kinderopvang"]
    assert lines[1] == ["Periode", "2026-01-01 t/m 2026-12-31 (vergeleken met 2025-01-01 t/m "
                                   "2025-12-31)"]
    assert lines[2][0] == "Gegenereerd op" and lines[2][1].startswith("2026-11-23T")
    assert lines[4] == ["Groep", "Indicator", "Waarde", "Eenheid", "Aantal", "Basis",
                        "Vorige periode", "Verschil"]
    assert ["Totaal", "Met VE-indicatie", "50.0", "%", "2", "4", "", ""] in lines

    xlsx = tmp_path / "monitor.xlsx"
    result = _cli(world.app, "monitor", "--from", "2026-01-01", "--to", "2026-12-31",
                  "--by", "location", "--format", "xlsx", "--out", str(xlsx))
    assert result.exit_code == 0, result.output
    ws = load_workbook(xlsx).active
    assert ws is not None
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[1][:2] == ["Periode", "2026-01-01 t/m 2026-12-31"]
    assert ["De Regenboog", "Trajecten", 1, "aantal", None, None] in values
    assert ["Totaal", "Ingezet: Coach passende kinderopvang", 0, "%", 0, 4] in values


def test_cli_charts(world: World, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    _two_locations(world)
    result = _cli(world.app, "monitor", "--from", "2026-01-01", "--to", "2026-12-31",
                  "--charts", str(tmp_path / "charts"))
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "charts").iterdir())
    assert files == ["disciplines.svg", "uitstroom.svg"]
    root = ET.parse(tmp_path / "charts" / "disciplines.svg").getroot()
    assert root.tag.endswith("svg")
