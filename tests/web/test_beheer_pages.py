"""Beheer: admin lists and adds users and locations, sets a password, sees the route files and
their check; others get the missing page; forged forms and wrong values change nothing."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kovflow.resources import workflows_dir
from kovflow.services import App
from kovflow.store import repo
from tests.conftest import World
from tests.web.conftest import csrf_of, login

NEW_PASSWORD = "nog-een-lang-wachtwoord-7"


def _users(app: App) -> dict[str, object]:
    with app.engine.connect() as conn:
        return {u.username: u for u in repo.all_users(conn)}


def _locations(app: App) -> list[str]:
    with app.engine.connect() as conn:
        return [loc.code for loc in repo.all_locations(conn)]


def test_admin_adds_a_location_and_a_user_with_a_password_who_can_then_log_in(
        world: World, web: Callable[..., TestClient],
        login_as: Callable[[str], TestClient]) -> None:
    admin = login_as("admin")
    page = admin.get("/beheer")
    assert page.status_code == 200
    for text in ("Gebruikers", "Locaties", "Routebestanden", "plaatsing", "v1 (nieuwste)",
                 "De controle van de map vindt geen problemen"):
        assert text in page.text
    # The location's coach and location wijkcoach are the users tied to it.
    assert "<td>coach</td>" in page.text and "<td>wijkcoach</td>" in page.text

    token = csrf_of(page.text)
    added = admin.post("/beheer/locaties", data={
        "csrf_token": token, "code": "MAAN", "naam": "De Maan", "wijk": "Malburgen",
        "organisatie": "Kinderopvang Arnhem"}, follow_redirects=False)
    assert added.status_code == 303
    assert "MAAN" in _locations(world.app)

    user = admin.post("/beheer/gebruikers", data={
        "csrf_token": token, "gebruikersnaam": "bram", "naam": "Bram B.",
        "email": "bram@example.org", "organisatie": "Kinderopvang Arnhem", "locatie": "MAAN",
        "rollen": ["coach", "pm"]}, follow_redirects=False)
    assert user.status_code == 303
    bram = _users(world.app)["bram"]
    assert sorted(bram.roles.split()) == ["coach", "pm"]  # type: ignore[attr-defined]

    listed = admin.get("/beheer")
    assert "De gebruiker is toegevoegd" in listed.text
    assert "<td>bram</td>" in listed.text  # MAAN's coach is listed with the location

    password = admin.post("/beheer/wachtwoord", data={
        "csrf_token": token, "gebruiker": "bram", "wachtwoord": NEW_PASSWORD,
        "herhaal": NEW_PASSWORD}, follow_redirects=False)
    assert password.status_code == 303
    assert login(web(), "bram", NEW_PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_wrong_values_are_named_beside_the_form_and_change_nothing(
        world: World, login_as: Callable[[str], TestClient]) -> None:
    admin = login_as("admin")
    token = csrf_of(admin.get("/beheer").text)
    before_users, before_locations = set(_users(world.app)), _locations(world.app)

    cases = [
        ("/beheer/gebruikers", {"gebruikersnaam": "two words", "rollen": ["pm"]},
         "one word"),
        ("/beheer/gebruikers", {"gebruikersnaam": "els"}, "kies minstens één rol"),
        ("/beheer/gebruikers", {"gebruikersnaam": "els", "rollen": ["tovenaar"]},
         "unknown role"),
        ("/beheer/gebruikers", {"gebruikersnaam": "els", "rollen": ["pm"], "locatie": "NERGENS"},
         "Die locatie bestaat niet."),
        ("/beheer/gebruikers", {"gebruikersnaam": "coach", "rollen": ["pm"]}, "exists already"),
        ("/beheer/locaties", {"code": "", "naam": "Leeg"}, "vul de code en de naam"),
        ("/beheer/locaties", {"code": "ZON", "naam": "Dubbel"}, "exists already"),
        ("/beheer/wachtwoord", {"gebruiker": "pm", "wachtwoord": "kort", "herhaal": "kort"},
         "minstens 12 tekens"),
        ("/beheer/wachtwoord", {"gebruiker": "pm", "wachtwoord": NEW_PASSWORD,
                                "herhaal": NEW_PASSWORD + "x"}, "niet gelijk"),
        ("/beheer/wachtwoord", {"gebruiker": "niemand", "wachtwoord": NEW_PASSWORD,
                                "herhaal": NEW_PASSWORD}, "Die gebruiker bestaat niet."),
    ]
    for path, data, message in cases:
        answer = admin.post(path, data={"csrf_token": token, **data})
        assert answer.status_code == 400, (path, data)
        assert message in answer.text, (path, data)
        assert 'role="alert"' in answer.text
        assert NEW_PASSWORD not in answer.text  # a typed password is never echoed
    assert set(_users(world.app)) == before_users
    assert _locations(world.app) == before_locations
    kept = admin.post("/beheer/locaties", data={"csrf_token": token, "code": "ZON",
                                                "naam": "Dubbel", "wijk": "Elders"})
    assert 'value="Elders"' in kept.text  # the typed values stay in the form


def test_forged_forms_change_nothing(world: World, login_as: Callable[[str], TestClient]) -> None:
    admin = login_as("admin")
    for path, data in (("/beheer/locaties", {"code": "X", "naam": "X"}),
                       ("/beheer/gebruikers", {"gebruikersnaam": "x", "rollen": ["pm"]}),
                       ("/beheer/wachtwoord", {"gebruiker": "pm", "wachtwoord": NEW_PASSWORD,
                                               "herhaal": NEW_PASSWORD})):
        assert admin.post(path, data=data).status_code == 403
        assert admin.post(path, data={**data, "csrf_token": "vals"}).status_code == 403
    assert "X" not in _locations(world.app) and "x" not in _users(world.app)
    assert login_as("pm").get("/").status_code == 200  # pm's password still works


def test_other_roles_get_the_missing_page(
        world: World, login_as: Callable[[str], TestClient]) -> None:
    for username in ("coach", "manager", "wijkcoach"):
        client = login_as(username)
        missing = client.get("/casus/KOV-99999")
        page = client.get("/beheer")
        assert (page.status_code, page.text) == (404, missing.text)
        token = csrf_of(page.text)
        answer = client.post("/beheer/locaties", data={"csrf_token": token, "code": "X",
                                                       "naam": "X"})
        assert answer.status_code == 404
    assert "X" not in _locations(world.app)


def test_a_broken_route_file_on_disk_is_reported(
        world: World, tmp_path: Path, login_as: Callable[[str], TestClient]) -> None:
    """The running catalog was checked at start; the page re-checks the folder now."""
    folder = tmp_path / "workflows"
    shutil.copytree(workflows_dir(), folder)
    # A route file edited after start: its initial state no longer exists.
    target = folder / "taakuren" / "v1.toml"
    target.write_text(target.read_text(encoding="utf-8").replace(
        'initial = "', 'initial = "bestaat_niet_', 1), encoding="utf-8")
    world.app.settings = replace(world.app.settings, workflows_dir=folder)
    page = login_as("admin").get("/beheer")
    assert "geen problemen" not in page.text and "kovflow start niet meer opnieuw" in page.text
    assert "taakuren" in page.text and "bestaat_niet_" in page.text


def test_the_lists_behind_the_pages_refuse_other_roles(world: World) -> None:
    from kovflow.errors import InvalidInput, NotFound
    from kovflow.services.beheer import list_locations, list_users, outbox_incidents, route_files

    for lister in (list_users, list_locations, route_files):
        with pytest.raises(InvalidInput, match="role admin needed"):
            lister(world.app, world.coach)
    with pytest.raises(NotFound):
        outbox_incidents(world.app, world.coach)
    assert outbox_incidents(world.app, world.admin) == []
    (zon,) = list_locations(world.app, world.admin)
    assert (zon.code, zon.coaches, zon.wijkcoaches) == ("ZON", ("coach",), ("wijkcoach",))
