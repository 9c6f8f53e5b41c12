"""Accessibility basics in chromium: axe-core (vendored, WCAG 2 A/AA incl. contrast and labels),
headings in order, and every action reachable with the keyboard alone."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date

import pytest

from kovflow.services import fire, open_case
from tests.browser.conftest import LiveServer, axe_violations

pytest.importorskip("playwright")

from playwright.sync_api import Page, expect

Login = Callable[[str], Page]


def _case(server: LiveServer) -> str:
    case = open_case(server.app, server.world.coach, first_name="Sam", initial="J",
                     birth_date=date(2024, 5, 1), location="ZON").case_number
    fire(server.app, server.world.coach, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2026-12-01"})
    return case


def _summary(violations: list[dict[str, object]]) -> str:
    return "\n".join(f"{v['id']}: {v['help']} ({len(v['nodes'])} x)"  # type: ignore[arg-type]
                     for v in violations)


def test_axe_finds_no_violations_on_the_main_pages(server: LiveServer, login: Login,
                                                   browser: object) -> None:
    case = _case(server)
    page = login("coach")
    assert axe_violations(page) == [], _summary(axe_violations(page))
    page.goto(f"/casus/{case}")
    # Open every step form so its fields are checked too.
    for summary in page.locator("details.step > summary").all():
        summary.click()
    violations = axe_violations(page)
    assert violations == [], _summary(violations)
    page.goto("/bestaat-niet")
    assert axe_violations(page) == []
    page.context.clear_cookies()
    page.goto("/login")
    assert axe_violations(page) == []
    # The check itself works: an unlabeled field and faint text are found.
    page.set_content('<html lang="nl"><body><main><input>'
                     '<p><font color="#bbb">vaag</font></p></main></body></html>')
    found = {v["id"] for v in axe_violations(page)}
    assert {"label", "color-contrast"} <= found, found


def test_headings_are_in_order_on_the_case_page(server: LiveServer, login: Login) -> None:
    page = login("coach")
    page.goto(f"/casus/{_case(server)}")
    levels = page.eval_on_selector_all("h1,h2,h3,h4,h5,h6",
                                       "els => els.map(e => Number(e.tagName[1]))")
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels


def _focused(page: Page) -> str:
    return str(page.evaluate(
        "() => { const e = document.activeElement; return e.tagName + '|' + "
        "(e.getAttribute('href') || '') + '|' + (e.innerText || e.value || '').trim() }"))


def test_a_keyboard_user_reaches_every_action(server: LiveServer, login: Login) -> None:
    case = _case(server)
    page = login("coach")
    page.goto(f"/casus/{case}")
    page.keyboard.press("Tab")
    assert _focused(page).startswith("A|#inhoud|Naar de inhoud")  # the skip link comes first
    page.keyboard.press("Enter")
    seen = []
    for _ in range(200):
        page.keyboard.press("Tab")
        seen.append(_focused(page))
    reached = "\n".join(seen)
    for action in ("SUMMARY||Kind plaatsen", "SUMMARY||Aanmelding annuleren",
                   "SUMMARY||Toestemming vastleggen", "BUTTON||Vraag anoniem stellen"):
        assert action in reached, action
    # Open a step with the keyboard only and send it.
    page.goto(f"/casus/{case}")
    summary = page.locator("details.step > summary", has_text="Aanmelding annuleren")
    summary.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("ouders kozen een andere opvang")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_have_text("Stap 'Aanmelding annuleren' is vastgelegd.")
    # The header actions, from Mijn taken: the menu and Uitloggen.
    page.goto("/")
    header = []
    for _ in range(4):
        page.keyboard.press("Tab")
        header.append(_focused(page))
    assert any(h.startswith("A|/|Mijn taken") for h in header), header
    assert any(h.startswith("BUTTON||Uitloggen") for h in header), header
