"""Login, logout, CSRF and the security headers of the pages (real database, real accounts)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from kovflow.services import App
from tests.conftest import World
from tests.web.conftest import PASSWORD, csrf_of, login

Web = Callable[..., TestClient]


def test_pages_need_a_login_and_come_back_after_it(web: Web) -> None:
    client = web()
    first = client.get("/casus/KOV-00001", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=/casus/KOV-00001"
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    page = client.get("/login?next=/casus/KOV-00001")
    assert 'name="next" value="/casus/KOV-00001"' in page.text
    done = login(client, "coach", next_path="/casus/KOV-00001")
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert done.headers["location"] == "/casus/KOV-00001"  # type: ignore[attr-defined]


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "\\\\evil"])
def test_login_never_redirects_off_site(web: Web, target: str) -> None:
    done = login(web(), "coach", next_path=target)
    assert done.headers["location"] == "/"  # type: ignore[attr-defined]


def test_wrong_password_and_unknown_user_get_the_same_dutch_answer(web: Web) -> None:
    client = web()
    wrong = login(client, "coach", "niet-het-wachtwoord-1")
    unknown = login(client, "niemand", "niet-het-wachtwoord-1")
    for answer in (wrong, unknown):
        assert answer.status_code == 401  # type: ignore[attr-defined]
        assert "Onbekende gebruikersnaam of wachtwoord." in answer.text  # type: ignore[attr-defined]
    assert "kovflow_sessie" not in client.cookies
    assert client.get("/", follow_redirects=False).status_code == 303


def test_throttled_login_says_when_to_try_again_even_with_the_right_password(web: Web) -> None:
    client = web()
    for _ in range(5):
        login(client, "coach", "niet-het-wachtwoord-1")
    answer = login(client, "coach", PASSWORD)
    assert answer.status_code == 429  # type: ignore[attr-defined]
    assert "Te veel mislukte inlogpogingen" in answer.text  # type: ignore[attr-defined]
    assert re.search(r"over \d+ minuten? opnieuw", answer.text)  # type: ignore[attr-defined]
    assert "kovflow_sessie" not in client.cookies


def test_login_form_without_its_csrf_token_is_refused(web: Web) -> None:
    client = web()
    client.get("/login")
    answer = client.post("/login", data={"username": "coach", "password": PASSWORD},
                         follow_redirects=False)
    assert answer.status_code == 403
    assert "Formulier verlopen" in answer.text
    assert "kovflow_sessie" not in client.cookies


def test_session_cookie_flags_and_headers_over_plain_http(web: Web) -> None:
    client = web()
    client.get("/login")
    page = client.get("/login")
    answer = client.post("/login", data={"username": "coach", "password": PASSWORD,
                                         "csrf_token": csrf_of(page.text)},
                         follow_redirects=False)
    cookie = next(v for v in answer.headers.get_list("set-cookie")
                  if v.startswith("kovflow_sessie="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # a browser would drop a Secure cookie on http
    home = client.get("/")
    csp = home.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp
    assert home.headers["x-content-type-options"] == "nosniff"
    assert home.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in home.headers


def test_over_tls_the_cookie_is_secure_and_hsts_is_sent(web: Web) -> None:
    client = web("https://testserver")
    page = client.get("/login")
    assert page.headers["strict-transport-security"].startswith("max-age=")
    answer = client.post("/login", data={"username": "coach", "password": PASSWORD,
                                         "csrf_token": csrf_of(page.text)},
                         follow_redirects=False)
    cookie = next(v for v in answer.headers.get_list("set-cookie")
                  if v.startswith("kovflow_sessie="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_pages_carry_no_inline_script_or_style(login_as: Callable[[str], TestClient]) -> None:
    client = login_as("coach")
    for path in ("/", "/login"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers
        assert " style=" not in html, path
    assert client.get("/static/kovflow.js").status_code == 200
    assert client.get("/static/kovflow.css").status_code == 200


def test_logout_needs_the_csrf_token_and_ends_the_session(
        login_as: Callable[[str], TestClient], world: World) -> None:
    from kovflow.services.accounts import NotAuthenticated, session_for

    client = login_as("coach")
    token = client.cookies["kovflow_sessie"]
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still logged in
    home = client.get("/")
    done = client.post("/logout", data={"csrf_token": csrf_of(home.text)},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert "U bent uitgelogd." in client.get("/login").text
    with pytest.raises(NotAuthenticated):
        session_for(world.app, token)
    client.cookies.set("kovflow_sessie", token)  # a copied old cookie does not work either
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_new_login_rotates_the_session(login_as: Callable[[str], TestClient],
                                         world: World) -> None:
    from kovflow.services.accounts import NotAuthenticated, session_for

    client = login_as("coach")
    old = client.cookies["kovflow_sessie"]
    assert login(client, "coach").status_code == 303  # type: ignore[attr-defined]
    new = client.cookies["kovflow_sessie"]
    assert new != old
    assert session_for(world.app, new).actor.username == "coach"
    with pytest.raises(NotAuthenticated):
        session_for(world.app, old)


def test_an_expired_session_sends_back_to_login(login_as: Callable[[str], TestClient],
                                                app: App) -> None:
    from datetime import timedelta

    from kovflow.clock import FixedClock

    client = login_as("coach")
    assert isinstance(app.clock, FixedClock)
    app.clock.advance(timedelta(hours=13))  # past the absolute timeout (12 h by default)
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"


def test_unknown_pages_get_the_dutch_404_page(login_as: Callable[[str], TestClient]) -> None:
    answer = login_as("coach").get("/bestaat-niet")
    assert answer.status_code == 404
    assert "Niet gevonden" in answer.text and '<html lang="nl">' in answer.text


def test_navigation_follows_the_roles(login_as: Callable[[str], TestClient]) -> None:
    coach = login_as("coach").get("/").text
    assert "Mijn taken" in coach and "/beheer" not in coach and "/consultaties" not in coach
    wijkcoach = login_as("wijkcoach").get("/").text
    assert "/consultaties" in wijkcoach
    assert "/beheer" in login_as("admin").get("/").text



def test_a_form_sent_after_the_session_ended_leads_to_login_then_my_tasks(web: Web) -> None:
    answer = web().post("/casus/KOV-00001/stap", data={"csrf_token": "x"},
                        follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
