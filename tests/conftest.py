"""Shared fixtures: a fresh migrated database per test (SQLite always, PostgreSQL when
``KOVFLOW_TEST_DATABASE_URL`` is set), a fixed clock, and a small world of users.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from kovflow.actor import Actor
from kovflow.clock import FixedClock
from kovflow.config import Settings
from kovflow.services import App, add_location, add_user, build_app, resolve_actor
from kovflow.store.migrate import upgrade

# Shared fixtures of their own modules: the SMTP server (aiosmtpd on 127.0.0.1).
pytest_plugins = ["tests.mailtools"]

PG_URL = os.environ.get("KOVFLOW_TEST_DATABASE_URL", "")
START = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's KOVFLOW_* settings (the PostgreSQL switch aside)."""
    for key in list(os.environ):
        if key.startswith("KOVFLOW_") and key != "KOVFLOW_TEST_DATABASE_URL":
            monkeypatch.delenv(key)


def backends() -> list[object]:
    pg = pytest.param("postgres", marks=pytest.mark.skipif(
        not PG_URL, reason="KOVFLOW_TEST_DATABASE_URL not set"))
    return ["sqlite", pg]


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file in ``folder``, or a fresh PostgreSQL schema
    (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'kovflow.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        sep = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()


@pytest.fixture(params=backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def app(db_url: str, clock: FixedClock) -> Iterator[App]:
    """The application on a migrated, empty database with the shipped routes."""
    kapp = build_app(Settings(), clock=clock, database_url=db_url)
    upgrade(kapp.engine)
    yield kapp
    kapp.engine.dispose()


@dataclass
class World:
    """A location with one user per role, as actors."""

    app: App
    location: str
    coach: Actor
    pm: Actor
    manager: Actor
    jgz: Actor
    wijkcoach: Actor
    admin: Actor
    operator: Actor


@pytest.fixture
def world(app: App) -> World:
    op = Actor.installation_operator()
    add_location(app, op, "ZON", "De Zonnebloem", "Presikhaaf", "Kinderopvang Arnhem")
    names = {"coach": "coach", "pm": "pm", "manager": "manager", "jgz": "jgz",
             "wijkcoach": "wijkcoach", "admin": "admin"}
    for username, role in names.items():
        add_user(app, op, username, [role], email=f"{username}@example.org",
                 organisation="Gemeente" if role == "wijkcoach" else "Kinderopvang Arnhem",
                 location="ZON")
    actors = {u: resolve_actor(app, u) for u in names}
    return World(app, "ZON", operator=op, **actors)


def join_team(app: App, case_number: str, *usernames: str) -> None:
    """Make partner users (wijkcoach, JGZ, ...; default: all of them) participants of a case.

    The access policy lets a partner organisation see and act on a case only as its participant,
    so a scenario that has them take steps first brings them in, as the coach would.
    """
    from kovflow.access.policy import PARTNER_ROLES
    from kovflow.services import add_participant
    from kovflow.store import repo

    op = Actor.installation_operator()
    if not usernames:  # every partner user of the installation
        with app.engine.connect() as conn:
            usernames = tuple(u.username for u in repo.all_users(conn)
                              if set(u.roles.split()) & PARTNER_ROLES)
    for username in usernames:
        role = resolve_actor(app, username).roles
        add_participant(app, op, case_number, sorted(role)[0], username=username)
