"""Fixtures for the API tests: the web application on the test database, API tokens per user,
and a small two-location world in which every relation of the access policy occurs.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from kovflow.actor import Actor
from kovflow.services import App, add_location, add_user, open_case

CANARY_NAME = "Zyxqwvanka"  # a first name that appears nowhere else: found in output = leaked


def _test_client_class() -> Any:
    # Starlette warns that its TestClient will move to httpx2; the warning is about the test
    # tool, not about kovflow, and pytest turns warnings into errors.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    return TestClient


@dataclass
class Api:
    """A client for ``/api/v1`` with one API token per username."""

    app: App
    client: Any
    tokens: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, user: str | None = None, *,
             headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        all_headers = dict(headers or {})
        if user is not None:
            all_headers["Authorization"] = f"Bearer {self.tokens[user]}"
        return self.client.request(method, f"/api/v1{path}", headers=all_headers, **kwargs)

    def get(self, path: str, user: str | None = None, **kwargs: Any) -> Any:
        return self.call("GET", path, user, **kwargs)

    def post(self, path: str, user: str | None = None, **kwargs: Any) -> Any:
        return self.call("POST", path, user, **kwargs)


# username -> (roles, location, organisation). ZON and MAAN belong to different organisations.
USERS: dict[str, tuple[list[str], str | None, str]] = {
    "coach": (["coach"], "ZON", "Kinderopvang Arnhem"),
    "pm": (["pm"], "ZON", "Kinderopvang Arnhem"),
    "jgz": (["jgz"], "ZON", "GGD"),
    "wijkcoach": (["wijkcoach"], "ZON", "Gemeente"),
    "coach_maan": (["coach"], "MAAN", "Kinderopvang Elders"),
    "wijkcoach_maan": (["wijkcoach"], "MAAN", "Gemeente"),
    "coordinator": (["coordinator"], None, "Gemeente"),
    "admin": (["admin"], None, "Gemeente"),
}


@pytest.fixture
def api(app: App) -> Iterator[Api]:
    """Two locations, one user per row of ``USERS`` with an API token, and a client."""
    from kovflow.services.accounts import create_api_token
    from kovflow.web.app import create_app

    op = Actor.installation_operator()
    add_location(app, op, "ZON", "De Zonnebloem", "Presikhaaf", "Kinderopvang Arnhem")
    add_location(app, op, "MAAN", "De Maan", "Malburgen", "Kinderopvang Elders")
    tokens = {}
    for username, (roles, location, organisation) in USERS.items():
        add_user(app, op, username, roles, email=f"{username}@example.org",
                 organisation=organisation, location=location)
        tokens[username] = create_api_token(app, op, username, "tests")[1]
    with _test_client_class()(create_app(app)) as client:
        yield Api(app, client, tokens)


def open_child_case(api: Api, user: str = "coach", **extra: Any) -> str:
    """A case at ZON opened through the API (the coach becomes its participant)."""
    body = {"first_name": CANARY_NAME, "initial": "J", "birth_date": "2024-05-01",
            "location": "ZON", **extra}
    res = api.post("/cases", user, json=body)
    assert res.status_code == 201, res.text
    return str(res.json()["case_number"])


def open_case_directly(app: App, actor: Actor) -> str:
    """A case opened through the service, for tests that exercise something else."""
    return open_case(app, actor, first_name=CANARY_NAME, initial="J",
                     birth_date=date(2024, 5, 1), location="ZON").case_number


def assert_problem(res: Any, status: int, slug: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem of this status and type, without personal data."""
    assert res.status_code == status, res.text
    assert res.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = res.json()
    assert body["type"] == f"urn:kovflow:problem:{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert CANARY_NAME.lower() not in res.text.lower()
    assert "Traceback" not in res.text
    return body
