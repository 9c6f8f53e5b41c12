"""`kovflow users password|token|tokens|revoke-token` on a real database."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from kovflow import services
from kovflow.cli import app as cli
from kovflow.services import App, build_app
from kovflow.services import accounts as acc
from tests.conftest import World

Run = Callable[..., tuple[int, str]]


@pytest.fixture
def run(world: World, monkeypatch: pytest.MonkeyPatch) -> Run:
    url = world.app.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    # Each command builds its own App, as a CLI process does; a process would exit and close its
    # connections, so here they are closed after each command (PostgreSQL warns otherwise).
    engines: list[Engine] = []

    def tracked_build_app(*args: Any, **kwargs: Any) -> App:
        built = build_app(*args, **kwargs)
        engines.append(built.engine)
        return built

    monkeypatch.setattr(services, "build_app", tracked_build_app)

    def invoke(*args: str, as_user: str | None = None, stdin: str | None = None) -> tuple[int, str]:
        prefix = ["--db", url, "--now", "2026-11-23T09:00"]
        if as_user:
            prefix += ["--as", as_user]
        try:
            result = runner.invoke(cli, [*prefix, *args], input=stdin)
        finally:
            while engines:
                engines.pop().dispose()
        return result.exit_code, result.output

    return invoke


def test_password_from_stdin_then_login(world: World, run: Run) -> None:
    code, out = run("users", "password", "coach", "--password-stdin", "--json",
                    stdin="een lang wachtwoord\n")
    assert code == 0 and json.loads(out) == {"status": "ok", "username": "coach"}
    assert "een lang wachtwoord" not in out
    assert acc.login(world.app, "coach", "een lang wachtwoord", "10.0.0.1").actor == world.coach


def test_password_by_hidden_prompt(world: World, run: Run) -> None:
    code, out = run("users", "password", "pm", stdin="prompt wachtwoord\nprompt wachtwoord\n")
    assert code == 0, out
    assert "prompt wachtwoord" not in out  # not echoed
    assert acc.login(world.app, "pm", "prompt wachtwoord", "10.0.0.1").actor == world.pm


def test_password_refusals_change_nothing(world: World, run: Run) -> None:
    code, out = run("users", "password", "coach", "--password-stdin", stdin="kort\n")
    assert code == 2 and "minstens 12 tekens" in out
    code, out = run("users", "password", "coach", "--password-stdin", stdin="\n")
    assert code == 2 and "held no password" in out
    code, out = run("users", "password", "coach", "--password-stdin", "--json", as_user="pm",
                    stdin="een lang wachtwoord\n")
    assert code == 2 and "role admin needed" in json.loads(out)["message"]
    code, out = run("users", "password", "niemand", "--password-stdin",
                    stdin="een lang wachtwoord\n")
    assert code == 4
    # a user may set their own password
    code, _ = run("users", "password", "pm", "--password-stdin", as_user="pm",
                  stdin="mijn eigen wachtwoord\n")
    assert code == 0
    with world.app.engine.connect() as conn:
        assert conn.execute(text("SELECT user_id FROM credentials")).scalars().all() == \
            [world.pm.user_id]


def test_token_lifecycle(world: World, run: Run) -> None:
    code, out = run("users", "token", "jgz", "--label", "koppeling GGD", "--json", as_user="admin")
    assert code == 0
    made = json.loads(out)
    assert made["username"] == "jgz" and made["token"].startswith("kovflow_")
    assert acc.token_actor(world.app, made["token"]) == world.jgz

    code, out = run("users", "tokens", "--json")
    listed = json.loads(out)
    assert code == 0 and [t["id"] for t in listed] == [made["id"]]
    assert made["token"] not in out and listed[0]["label"] == "koppeling GGD"
    code, out = run("users", "tokens", "jgz")
    assert code == 0 and "koppeling GGD" in out and "active" in out and made["token"] not in out

    code, out = run("users", "revoke-token", str(made["id"]), "--json")
    assert code == 0 and json.loads(out) == {"status": "revoked", "id": made["id"]}
    with pytest.raises(acc.NotAuthenticated):
        acc.token_actor(world.app, made["token"])
    code, out = run("users", "revoke-token", str(made["id"]))
    assert code == 2 and "revoked already" in out
    code, out = run("users", "revoke-token", "999")
    assert code == 4


def test_the_token_is_printed_once_in_text(run: Run) -> None:
    code, out = run("users", "token", "jgz", "--label", "script")
    assert code == 0 and "shown only now" in out
    token = next(line for line in out.splitlines() if line.startswith("kovflow_"))
    code, out = run("users", "tokens")
    assert token not in out


def test_a_non_admin_may_not_make_or_revoke_tokens(world: World, run: Run) -> None:
    code, out = run("users", "token", "coach", "--label", "x", "--json", as_user="coach")
    assert code == 2 and "role admin needed" in json.loads(out)["message"]
    token_id, _ = acc.create_api_token(world.app, world.operator, "coach", "eigen")
    code, out = run("users", "revoke-token", str(token_id), as_user="coach")
    assert code == 2 and "role admin needed" in out
    code, out = run("users", "tokens", "--json", as_user="pm")
    assert code == 0 and json.loads(out) == []
    code, out = run("users", "tokens", "coach", as_user="pm")
    assert code == 2
    code, out = run("users", "tokens", "--json", as_user="coach")
    assert [t["id"] for t in json.loads(out)] == [token_id]
