"""The coordinator on Monday morning, in a real browser (chromium via Playwright, real server).

A coach opens a case and nothing happens for weeks (the injected clock moves; nobody sleeps).
The coordinator logs in, finds the case on the stalled list, narrows the list with the filter
form, drills down to the pseudonymised record and downloads the list as CSV. Screenshots go to
var/test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from kovflow.services import open_case
from tests.browser.conftest import PASSWORD, LiveServer, axe_violations

pytest.importorskip("playwright")

from playwright.sync_api import Page, expect

Login = Callable[[str], Page]
Shot = Callable[[Page, str], Path]
FIRST_NAME = "Zwaantje"  # a canary: the coordinator never sees it


def _municipal_coordinator(server: LiveServer) -> None:
    """The municipality's coordinator: an account of the Gemeente tied to no location."""
    from kovflow.actor import Actor
    from kovflow.services import add_user
    from kovflow.services.accounts import set_password

    op = Actor.installation_operator()
    add_user(server.app, op, "gemeente", ["coordinator"], email="gemeente@example.org",
             organisation="Gemeente Arnhem")
    set_password(server.app, op, "gemeente", PASSWORD)


def test_the_coordinator_finds_the_stalled_case_drills_down_and_downloads(
        server: LiveServer, login: Login, shot: Shot, tmp_path: Path) -> None:
    case = open_case(server.app, server.world.coach, first_name=FIRST_NAME, initial="Q",
                     birth_date=date(2024, 3, 14), location="ZON").case_number
    server.clock.advance(timedelta(weeks=6))  # six quiet weeks: the intake task is overdue
    _municipal_coordinator(server)

    page = login("gemeente")
    page.get_by_role("link", name="Coördinator").click()
    expect(page.get_by_role("heading", name="Coördinator", level=1)).to_be_visible()
    stalled = page.locator("table.stalled")
    rows = stalled.locator("tr.finding").filter(has=page.get_by_role("link", name=case))
    expect(rows).to_have_count(2)  # its task is overdue, and nothing happened for 20 werkdagen
    row = rows.filter(has_text="Taak over tijd")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("coach passende kinderopvang")
    expect(page.locator("figure.chart svg").first).to_be_visible()
    assert FIRST_NAME not in page.content()
    shot(page, "coordinator-dashboard")
    serious = [v["id"] for v in axe_violations(page)
               if v["impact"] in ("serious", "critical")]
    assert serious == [], serious

    # The filter form is a GET form: the list narrows and the URL can be bookmarked.
    page.get_by_label("Locatie", exact=True).select_option("ZON")
    page.get_by_label("Regel", exact=True).select_option("taak_over_tijd")
    page.get_by_role("button", name="Filter").click()
    assert "regel=taak_over_tijd" in page.url
    expect(page.locator("table.stalled tr.finding")).to_have_count(1)

    page.get_by_role("link", name=case).click()
    expect(page.get_by_role("heading", name=f"Casus {case}")).to_be_visible()
    expect(page.get_by_text("Plan de intake of plaats het kind")).to_be_visible()
    assert FIRST_NAME not in page.content() and "14 maart 2024" not in page.content()
    shot(page, "coordinator-casus")

    page.get_by_role("link", name="Terug naar de vastgelopen casussen").click()
    with page.expect_download() as info:
        page.get_by_role("link", name="vastgelopen casussen (CSV)").click()
    download = info.value
    assert download.suggested_filename.startswith("vastgelopen-")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    text = target.read_bytes().decode("utf-8-sig")
    assert case in text and "Taak over tijd" in text and FIRST_NAME not in text


def test_beheer_and_the_inbox_work_by_keyboard_and_pass_axe(
        server: LiveServer, login: Login, shot: Shot) -> None:
    from kovflow.services.consultation import ask

    case = open_case(server.app, server.world.coach, first_name=FIRST_NAME, initial="Q",
                     birth_date=date(2024, 3, 14), location="ZON").case_number
    ask(server.app, server.world.coach, case, "wijkcoach",
        "Peuter bijt vaak andere kinderen; ouders willen geen hulp. Wat raadt u aan?")

    admin = login("admin")
    admin.get_by_role("link", name="Beheer").click()
    expect(admin.get_by_role("heading", name="Routebestanden")).to_be_visible()
    admin.get_by_label("Code (kort, uniek)").fill("MAAN")
    admin.get_by_label("Naam", exact=True).last.fill("De Maan")
    admin.get_by_label("Naam", exact=True).last.press("Enter")  # submit by keyboard
    expect(admin.get_by_role("status")).to_contain_text("De locatie is toegevoegd")
    expect(admin.locator("table.locations")).to_contain_text("De Maan")
    shot(admin, "beheer")
    serious = [v["id"] for v in axe_violations(admin) if v["impact"] in ("serious", "critical")]
    assert serious == [], serious

    wijkcoach = login("wijkcoach")
    wijkcoach.get_by_role("link", name="Consultaties").click()
    expect(wijkcoach.get_by_text("Peuter bijt vaak")).to_be_visible()
    assert FIRST_NAME not in wijkcoach.content() and case not in wijkcoach.content()
    serious = [v["id"] for v in axe_violations(wijkcoach)
               if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
    wijkcoach.get_by_label("Uw advies").fill("Observeer twee weken en bel mij daarna.")
    wijkcoach.get_by_role("button", name="Advies versturen").click()
    expect(wijkcoach.get_by_role("status")).to_contain_text("Uw advies is opgeslagen")
    expect(wijkcoach.locator("table.consultations")).to_contain_text("Observeer twee weken")
    shot(wijkcoach, "consultaties")
