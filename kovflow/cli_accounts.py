"""CLI: passwords and API tokens of user accounts (`kovflow users password|token|tokens|
revoke-token`).

A password is never an argument (it would land in the shell history and the process list): it is
read from standard input with ``--password-stdin`` or asked for without echo.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from kovflow.cli import JsonOpt, _actor, _app, _emit, _run, users_app


def _read_password(from_stdin: bool) -> str:
    from kovflow.errors import InvalidInput

    if from_stdin:
        # One line; only the line break is removed (spaces may be part of a passphrase).
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InvalidInput("--password-stdin: standard input held no password")
        return password
    value: Any = typer.prompt("Nieuw wachtwoord", hide_input=True, confirmation_prompt=True)
    return str(value)


@users_app.command("password")
def users_password(
    username: str,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Set a user's password (your own, or anyone's as admin/operator); ends their sessions."""

    def work() -> None:
        from kovflow.services.accounts import set_password

        kapp = _app()
        actor = _actor(kapp)
        set_password(kapp, actor, username, _read_password(password_stdin))
        _emit(as_json, {"status": "ok", "username": username},
              lambda: f"password of {username} set")

    _run(as_json, work)


@users_app.command("token")
def users_token(
    username: str,
    label: Annotated[str, typer.Option("--label", help="What uses the token, e.g. 'koppeling GGD'.")],
    as_json: JsonOpt = False,
) -> None:
    """Make an API token for a user (admin/operator); it is printed once and never again."""

    def work() -> None:
        from kovflow.services.accounts import create_api_token

        kapp = _app()
        token_id, token = create_api_token(kapp, _actor(kapp), username, label)
        _emit(as_json, {"id": token_id, "username": username, "label": label.strip(),
                        "token": token},
              lambda: f"API token {token_id} for {username}:\n{token}\n"
                      "This token is shown only now; store it in the system that uses it.")

    _run(as_json, work)


@users_app.command("tokens")
def users_tokens(
    username: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List API tokens (never their secrets): all for admin/operator, else your own."""

    def work() -> None:
        from kovflow.services.accounts import list_api_tokens

        kapp = _app()
        rows = list_api_tokens(kapp, _actor(kapp), username)

        def text() -> str:
            if not rows:
                return "no API tokens"
            return "\n".join(
                f"{r['id']:>4}  {r['username']:<16} {r['label']:<30} "
                f"{'active' if r['active'] else 'revoked ' + str(r['revoked_at'])}  "
                f"last used {r['last_used_at'] or 'never'}" for r in rows)

        _emit(as_json, rows, text)

    _run(as_json, work)


@users_app.command("revoke-token")
def users_revoke_token(token_id: int, as_json: JsonOpt = False) -> None:
    """Revoke an API token at once (admin/operator)."""

    def work() -> None:
        from kovflow.services.accounts import revoke_api_token

        kapp = _app()
        revoke_api_token(kapp, _actor(kapp), token_id)
        _emit(as_json, {"status": "revoked", "id": token_id},
              lambda: f"API token {token_id} revoked")

    _run(as_json, work)
