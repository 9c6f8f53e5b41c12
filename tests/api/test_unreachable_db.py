"""An API whose database cannot be reached answers with a problem, without the address."""

from __future__ import annotations

from typing import Any

from kovflow.config import Settings
from kovflow.services import build_app
from tests.api.conftest import _test_client_class, assert_problem

# Port 9 (discard) on loopback: nothing listens, so the connection is refused at once.
UNREACHABLE = "postgresql+psycopg://kovflow@127.0.0.1:9/kovflow"


def _ask() -> Any:
    from kovflow.web.app import create_app

    kapp = build_app(Settings(), database_url=UNREACHABLE)
    with _test_client_class()(create_app(kapp), raise_server_exceptions=False) as client:
        res = client.get("/api/v1/tasks", headers={"Authorization": "Bearer some-token"})
    kapp.engine.dispose()
    return res


def test_an_unreachable_database_gives_a_problem_without_details() -> None:
    res = _ask()
    assert res.status_code in (500, 503)
    assert res.headers["content-type"] == "application/problem+json"
    assert "127.0.0.1" not in res.text and "kovflow@" not in res.text
    assert "Traceback" not in res.text and "psycopg" not in res.text


def test_an_unreachable_database_is_a_503_problem() -> None:
    res = _ask()
    assert_problem(res, 503, "database-unavailable")
    assert res.headers["retry-after"] == "30"
