"""The coordinator's dashboard: stalled cases with filters and drill-down, monitor with charts,
rollout tracker, mail incidents, CSV/XLSX downloads; refused (as a missing page) for others."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from kovflow.actor import Actor
from kovflow.clock import FixedClock
from kovflow.services import add_user, open_case
from kovflow.store import repo
from kovflow.store.db import write
from tests.conftest import World
from tests.web.conftest import PASSWORD, login

FIRST_NAME = "Zwaantje"  # a canary: must never reach the coordinator's pages or files


@pytest.fixture
def coordinator(world: World, web: Callable[..., TestClient]) -> Callable[[], TestClient]:
    """A logged-in coordinator (log in after moving the clock: sessions time out)."""
    from kovflow.services.accounts import set_password

    op = Actor.installation_operator()
    add_user(world.app, op, "coord", ["coordinator"], email="coord@example.org",
             organisation="Gemeente Arnhem")
    set_password(world.app, op, "coord", PASSWORD)

    def make() -> TestClient:
        client = web()
        assert login(client, "coord").status_code == 303  # type: ignore[attr-defined]
        return client

    return make


def _stalled_case(world: World, clock: FixedClock) -> str:
    """A case the coach opened and left alone for six weeks: its task is overdue."""
    opened = open_case(world.app, world.coach, first_name=FIRST_NAME, initial="Q",
                       birth_date=date(2024, 3, 14), location="ZON")
    clock.advance(timedelta(weeks=6))
    return opened.case_number


def test_the_coordinator_finds_a_stalled_case_and_drills_down(
        world: World, clock: FixedClock, coordinator: Callable[[], TestClient]) -> None:
    number = _stalled_case(world, clock)
    client = coordinator()

    page = client.get("/coordinator")
    assert page.status_code == 200
    assert number in page.text
    assert "Taak over tijd" in page.text
    assert "Vertrouwelijke routes (meldcode): 0" in page.text
    assert "<svg" in page.text and "Ingezette disciplines per traject" in page.text
    assert FIRST_NAME not in page.text

    record = client.get(f"/coordinator/casus/{number}")
    assert record.status_code == 200
    assert "Toeleiding en plaatsing" in record.text and "Aangemeld" in record.text
    assert "Plan de intake of plaats het kind" in record.text
    for secret in (FIRST_NAME, "2024-03-14", "14 maart 2024"):
        assert secret not in record.text


def test_filters_narrow_the_list_and_bad_values_are_named(
        world: World, clock: FixedClock, coordinator: Callable[[], TestClient]) -> None:
    from kovflow.services import add_location

    add_location(world.app, world.operator, "MAAN", "De Maan", "Malburgen", "Andere Opvang")
    number = _stalled_case(world, clock)
    client = coordinator()

    assert number in client.get("/coordinator", params={"locatie": "ZON"}).text
    assert number in client.get("/coordinator", params={"wijk": "Presikhaaf"}).text
    assert number not in client.get("/coordinator", params={"locatie": "MAAN"}).text
    assert number not in client.get("/coordinator", params={"regel": "uitrol_stap"}).text
    assert number not in client.get("/coordinator", params={"min_werkdagen": "200"}).text
    assert number in client.get("/coordinator", params={"min_werkdagen": "5"}).text

    bad = client.get("/coordinator", params={"min_werkdagen": "veel"})
    assert bad.status_code == 400 and "heel getal" in bad.text
    assert client.get("/coordinator", params={"regel": "bestaat_niet"}).status_code == 400
    reversed_period = client.get("/coordinator", params={"van": "2026-12-01", "tot": "2026-01-01"})
    assert reversed_period.status_code == 400 and "voor ze begint" in reversed_period.text
    assert client.get("/coordinator", params={"van": "1-1-2026"}).status_code == 400


def test_downloads_are_attachments_with_the_findings_and_no_names(
        world: World, clock: FixedClock, coordinator: Callable[[], TestClient]) -> None:
    number = _stalled_case(world, clock)
    client = coordinator()

    csv = client.get("/coordinator/export/vastgelopen.csv")
    assert csv.status_code == 200
    assert csv.headers["content-disposition"].startswith("attachment; filename=")
    text = csv.content.decode("utf-8-sig")
    assert "Vastgelopen casussen" in text and number in text and "Taak over tijd" in text
    assert FIRST_NAME not in text

    xlsx = client.get("/coordinator/export/vastgelopen.xlsx", params={"locatie": "ZON"})
    assert xlsx.status_code == 200
    assert "attachment" in xlsx.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert number in cells and "filters: locatie=ZON" in " ".join(cells)

    monitor = client.get("/coordinator/export/monitor.xlsx",
                         params={"van": "2026-01-01", "tot": "2026-12-31"})
    assert monitor.status_code == 200 and "attachment" in monitor.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(monitor.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Monitor passende kinderopvang"
    assert rows[1][:2] == ("Periode", "2026-01-01 t/m 2026-12-31")
    assert any(r[1] == "Trajecten" for r in rows)

    monitor_csv = client.get("/coordinator/export/monitor.csv")
    assert monitor_csv.status_code == 200
    assert "Indicator" in monitor_csv.content.decode("utf-8-sig")
    assert client.get("/coordinator/export/monitor.pdf").status_code == 404


def test_others_get_the_missing_page_and_the_refusal_is_logged(
        world: World, clock: FixedClock, login_as: Callable[[str], TestClient]) -> None:
    number = _stalled_case(world, clock)
    for username in ("coach", "wijkcoach", "jgz"):
        client = login_as(username)
        missing = client.get("/casus/KOV-99999")  # a case that does not exist
        assert missing.status_code == 404
        for path in ("/coordinator", f"/coordinator/casus/{number}",
                     "/coordinator/export/vastgelopen.csv", "/coordinator/export/monitor.xlsx"):
            answer = client.get(path)
            assert (answer.status_code, answer.text) == (404, missing.text), (username, path)
    with world.app.engine.connect() as conn:
        refused = [r for r in repo.access_rows(conn) if r.outcome == "refused"
                   and r.actor == "coach"]
    assert refused, "the refused audit runs are in the access log"


def test_admin_sees_the_dashboard_but_no_case_record(
        world: World, clock: FixedClock, login_as: Callable[[str], TestClient]) -> None:
    number = _stalled_case(world, clock)
    admin = login_as("admin")
    assert number in admin.get("/coordinator").text
    assert admin.get(f"/coordinator/casus/{number}").status_code == 404


def test_outbox_incidents_show_no_address(
        world: World, coordinator: Callable[[], TestClient]) -> None:
    now = world.app.clock.now()

    def dead_letter(conn: object) -> None:
        repo.add_rows(conn, repo.outbox, [{  # type: ignore[arg-type]
            "message_id": "<m1@kovflow>", "case_id": None, "template": "taak",
            "recipient_role": "coach", "recipient_user_id": None,
            "to_address": "anna.jansen@example.org", "context": {}, "status": "dead",
            "attempts": 8, "created_at": now, "next_attempt_at": now, "sent_at": None,
            "last_error": "550 5.1.1 <anna.jansen@example.org>: user unknown"}])

    write(world.app.engine, dead_letter)
    page = coordinator().get("/coordinator")
    assert "opgegeven" in page.text and "user unknown" in page.text
    assert "anna.jansen" not in page.text


def test_the_monitor_splits_per_location_and_compares_with_the_period_before(
        world: World, clock: FixedClock, coordinator: Callable[[], TestClient]) -> None:
    from kovflow.services import fire

    case = open_case(world.app, world.coach, first_name=FIRST_NAME, initial="Q",
                     birth_date=date(2024, 3, 14), location="ZON").case_number
    fire(world.app, world.coach, "plaatsing", "plaats", case=case, data={
        "groep": "Bijen", "startdatum": "2026-12-01", "mentor": "pm", "vve_indicatie": "nee"})
    client = coordinator()
    params = {"van": "2026-12-01", "tot": "2026-12-31", "per": "locatie", "vergelijk": "ja"}
    page = client.get("/coordinator", params=params)
    assert page.status_code == 200
    assert "Vergeleken met 31 oktober 2026 tot en met 30 november 2026" in page.text
    assert "<th scope=\"col\">Vorige periode</th>" in page.text
    assert "<td>De Zonnebloem</td><td>Trajecten</td>" in page.text
    assert "per=locatie" in page.text and "vergelijk=ja" in page.text  # the download links

    csv = client.get("/coordinator/export/monitor.csv", params=params).content.decode("utf-8-sig")
    lines = [line.split(";") for line in csv.splitlines()]
    assert lines[1] == ["Periode", "2026-12-01 t/m 2026-12-31 (vergeleken met 2026-10-31 t/m "
                                   "2026-11-30)"]
    trajecten = [row for row in lines if len(row) > 2 and row[1] == "Trajecten"]
    assert [row[0] for row in trajecten] == ["Totaal", "De Zonnebloem"]
    assert trajecten[0][2] == "1.0" and trajecten[0][6] == "0.0"  # 1 now, 0 the month before

    bad = client.get("/coordinator", params={"per": "straat"})
    assert bad.status_code == 400 and "kies locatie, wijk of organisatie" in bad.text
