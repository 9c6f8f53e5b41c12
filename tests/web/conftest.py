"""Fixtures of the page tests: the web application on the test database, logged-in clients.

``client`` is a Starlette TestClient (httpx) on ``create_app(app)``; ``login_as(username)`` gives
a client with a session of that user of the ``world`` (every world user gets ``PASSWORD``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator

import pytest

# Starlette 1.x warns that its TestClient prefers the ``httpx2`` package; the installed httpx
# works. Silenced here, for this import only (pytest turns warnings into errors).
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from kovflow.actor import Actor
from kovflow.services import App
from tests.conftest import World

PASSWORD = "een-lang-wachtwoord-42"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = CSRF.search(html)
    assert found, "the page has no form with a csrf_token"
    return found.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD,
          next_path: str = "/") -> object:
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_of(page.text), "next": next_path},
                       follow_redirects=False)


@pytest.fixture
def web(world: World) -> Iterator[Callable[..., TestClient]]:
    """A factory of clients on one web app; every user of the world has ``PASSWORD``."""
    from kovflow.services.accounts import set_password
    from kovflow.web.app import create_app

    op = Actor.installation_operator()
    for username in ("coach", "pm", "manager", "jgz", "wijkcoach", "admin"):
        set_password(world.app, op, username, PASSWORD)
    asgi = create_app(world.app)
    clients: list[TestClient] = []

    def make(base_url: str = "http://testserver") -> TestClient:
        client = TestClient(asgi, base_url=base_url)
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def login_as(web: Callable[..., TestClient]) -> Callable[[str], TestClient]:
    def make(username: str) -> TestClient:
        client = web()
        response = login(client, username)
        assert response.status_code == 303, response.text  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def kapp(world: World) -> App:
    return world.app
