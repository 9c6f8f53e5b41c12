"""The subject-access export (AVG art. 15): complete, readable, refused like a missing case, logged."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kovflow.cli import app as cli
from kovflow.errors import InvalidInput, NotFound
from kovflow.services import (
    add_location,
    add_participant,
    add_user,
    case_overview,
    fire,
    open_case,
    record_consent,
    resolve_actor,
    start_route,
)
from kovflow.services.consultation import ask
from kovflow.services.subject_access import MELDCODE_NOTE, export_case, render
from kovflow.store import repo
from tests.conftest import World

NAME = "Zwaantje<b>"  # markup in a name must come out as text in the HTML


def _case(world: World) -> str:
    case = open_case(world.app, world.coach, first_name=NAME, initial="Q",
                     birth_date=date(2024, 2, 29), location=world.location).case_number
    add_participant(world.app, world.coach, case, "voogd", name="Voogd Vink", organisation="GI")
    record_consent(world.app, world.coach, case, "kinderopvang_naar_wijkcoach", "gegeven",
                   purpose="overleg met de wijkcoach", form="schriftelijk")
    fire(world.app, world.coach, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2026-11-30"})
    ask(world.app, world.coach, case, "wijkcoach", "Hoe gaan we om met driftbuien?")
    case_overview(world.app, world.pm, case)  # a read by someone else, for the access report
    return case


def _access(world: World, case: str) -> list[tuple[str, str, str]]:
    with world.app.engine.connect() as conn:
        row = repo.case_by_number(conn, case)
        assert row is not None
        return [(r.actor, r.what, r.outcome) for r in repo.access_rows(conn, row.id)]


def test_the_export_holds_the_case_and_its_access_report_and_is_logged(world: World) -> None:
    case = _case(world)
    doc = export_case(world.app, world.coach, case)
    assert doc["casus"] == case
    assert doc["kind"]["voornaam"] == NAME and doc["kind"]["geboortedatum"] == "2024-02-29"
    assert {(p["wie"], p["rol"]) for p in doc["betrokkenen"]} == {("coach", "coach"),
                                                                 ("Voogd Vink", "voogd")}
    assert [(r["route"], r["stand"]) for r in doc["routes"]] == [("plaatsing", "intake_gepland")]
    assert doc["routes"][0]["stand_omschrijving"] != "intake_gepland"  # the Dutch label
    assert doc["routes"][0]["gegevens"]["intake_datum"] == "2026-11-30"
    kinds = [e["soort"] for e in doc["tijdlijn"]]
    assert kinds[0] == "case_opened" and "consent" in kinds and len(kinds) >= 5
    assert [(c["onderwerp"], c["status"]) for c in doc["toestemmingen"]] == [
        ("kinderopvang_naar_wijkcoach", "gegeven")]
    assert [(c["aan"], c["vraag"]) for c in doc["consultaties"]] == [
        ("wijkcoach", "Hoe gaan we om met driftbuien?")]
    sentences = [a["zin"] for a in doc["inzage"]]
    assert any("pm" in s and "bekeek" in s and "case overview" in s for s in sentences)
    assert "inzageverzoek (export)" in sentences[-1]  # the export itself is in its report
    assert _access(world, case)[-1] == ("coach", "inzageverzoek (export)", "allowed")
    assert json.loads(render(doc, "json")) == doc


def test_strangers_get_the_missing_case_answer_and_are_logged(world: World) -> None:
    case = _case(world)
    add_location(world.app, world.operator, "ELDERS", "Elders", "Schuytgraaf", "Andere KO")
    add_user(world.app, world.operator, "coach2", ["coach"], location="ELDERS",
             organisation="Andere KO")
    add_user(world.app, world.operator, "coord", ["coordinator"], organisation="Gemeente")
    with pytest.raises(NotFound) as missing:
        export_case(world.app, world.coach, "KOV-99999")
    before = len(_access(world, case))
    for stranger in (resolve_actor(world.app, "coach2"), resolve_actor(world.app, "coord"),
                     world.wijkcoach):
        with pytest.raises(NotFound) as refused:
            export_case(world.app, stranger, case)
        assert str(refused.value) == str(missing.value).replace("KOV-99999", case)
    assert [(a, o) for a, _, o in _access(world, case)[before:]] == [
        ("coach2", "refused"), ("coord", "refused"), ("wijkcoach", "refused")]
    # A participating partner reads the case but answers an AVG request from its own file.
    from tests.conftest import join_team

    join_team(world.app, case, "wijkcoach")
    with pytest.raises(NotFound):
        export_case(world.app, world.wijkcoach, case)
    for allowed in (world.pm, world.admin, world.operator):
        assert export_case(world.app, allowed, case)["casus"] == case


def test_the_meldcode_stays_out_and_its_absence_reads_the_same(world: World) -> None:
    plain = _case(world)
    with_meldcode = _case(world)
    start_route(world.app, world.coach, "meldcode", case=with_meldcode)
    counts = []
    for case in (plain, with_meldcode):
        doc = export_case(world.app, world.coach, case)
        assert doc["meldcode"] == MELDCODE_NOTE
        assert [r["route"] for r in doc["routes"]] == ["plaatsing"]
        assert "meldcode" not in json.dumps([doc["routes"], doc["tijdlijn"], doc["inzage"]])
        counts.append((render(doc, "json").count("meldcode"), render(doc, "html").count("meldcode")))
    assert counts[0] == counts[1]
    assert any("beschermd onderdeel" in a["zin"]
               for a in export_case(world.app, world.coach, with_meldcode)["inzage"])


def test_the_html_is_dutch_self_contained_and_escaped(world: World) -> None:
    case = _case(world)
    page = render(export_case(world.app, world.coach, case), "html")
    assert '<html lang="nl">' in page and f"Inzage in het dossier {case}" in page
    assert "Zwaantje&lt;b&gt;" in page and NAME not in page
    assert "dossier geopend" in page and "Intake gepland" in page
    assert "29-02-2024" in page and "Voogd Vink" in page and "kinderopvang_naar_wijkcoach" in page
    assert "Hoe gaan we om met driftbuien?" in page and "nog niet beantwoord" in page
    assert "Wie heeft het dossier ingezien" in page and "inzageverzoek (export)" in page
    assert not re.search(r"<script|\bsrc=|<link|@import|url\(|https?://", page)
    with pytest.raises(InvalidInput, match="json, html"):
        render(export_case(world.app, world.coach, case), "pdf")


def test_export_from_the_command_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'e.db'}"
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["--db", db, "--now", "2026-11-23T09:00", *args])
        return result.exit_code, result.output

    for args in (["db", "upgrade"], ["locations", "add", "ZON", "--name", "Z"],
                 ["users", "add", "anna", "--role", "coach", "--location", "ZON"],
                 ["--as", "anna", "case", "open", "--first-name", "Sam", "--birth-date",
                  "2024-01-01", "--location", "ZON"]):
        assert invoke(*args)[0] == 0, args
    code, out = invoke("--as", "anna", "case", "export", "KOV-00001")
    assert code == 0 and json.loads(out)["kind"]["voornaam"] == "Sam"
    target = tmp_path / "inzage.html"
    code, out = invoke("--as", "anna", "case", "export", "KOV-00001", "--format", "html",
                       "--out", str(target))
    assert code == 0 and "Sam" in target.read_text(encoding="utf-8")
    code, out = invoke("--as", "anna", "case", "export", "KOV-00001", "--format", "pdf")
    assert code == 2 and "json, html" in out
    code, out = invoke("--as", "anna", "case", "export", "KOV-00009")
    assert code == 4
