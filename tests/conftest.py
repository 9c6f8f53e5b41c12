"""Shared fixtures: a fresh migrated database per test (SQLite always, PostgreSQL when
``KOVFLOW_TEST_DATABASE_URL`` is set), a fixed clock, and a small world of users.

Running every migration for every test was most of a test's setup time, so the ``app`` fixture
starts from a database that the real migrations built once per pytest process (per xdist
worker), when the first test needs it:

- SQLite: a migrated template file, copied per test;
- PostgreSQL: a migrated schema, lent to one test at a time and put back as the migrations left
  it afterwards (the tables written to are truncated, the sequences set back; a schema whose
  structure or migration version a test changed is dropped instead, and a new one migrated).

``app`` still calls ``upgrade()``, a no-op on such a database. ``db_url`` on its own, and every
test marked ``real_migrations`` (all of tests/integration/test_migrations.py), keep the old
behaviour: an empty database, which ``app`` migrates step by step. ``KOVFLOW_TEST_NO_TEMPLATE=1``
turns the shortcut off for the whole run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, text

from kovflow.actor import Actor
from kovflow.clock import FixedClock
from kovflow.config import Settings
from kovflow.services import App, add_location, add_user, build_app, resolve_actor
from kovflow.store.migrate import upgrade

# Shared fixtures of their own modules: the SMTP server (aiosmtpd on 127.0.0.1).
pytest_plugins = ["tests.mailtools"]

PG_URL = os.environ.get("KOVFLOW_TEST_DATABASE_URL", "")
USE_TEMPLATES = os.environ.get("KOVFLOW_TEST_NO_TEMPLATE", "") in ("", "0")
START = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))

# Test modules about the migrations themselves: their ``app`` migrates an empty database.
REAL_MIGRATION_MODULES = ("tests/integration/test_migrations.py",)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_migrations: the app fixture runs every migration on an empty database "
        "instead of starting from the migrated template")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).resolve().parent.parent
    modules = {root / m for m in REAL_MIGRATION_MODULES}
    for item in items:
        if Path(str(item.fspath)).resolve() in modules:
            item.add_marker(pytest.mark.real_migrations)


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


def _schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


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
        yield _schema_url(schema)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()


def _migrate(url: str) -> None:
    """Run the real migrations on the (empty) database at ``url``, as the ``app`` fixture would."""
    kapp = build_app(Settings(), clock=FixedClock(START), database_url=url)
    try:
        upgrade(kapp.engine)
    finally:
        kapp.engine.dispose()


# Everything about a schema's structure that a test could change, as one digest; and the state of
# its sequences and which of its tables hold data on disk.
_STRUCTURE = """
SELECT md5(coalesce(string_agg(item, E'\\n' ORDER BY item), '')) FROM (
  SELECT concat_ws(' ', 'rel', c.relname, c.relkind, c.relrowsecurity,
                   CASE WHEN c.relkind IN ('i', 'I') THEN pg_get_indexdef(c.oid)
                        WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END)
    FROM pg_class c WHERE c.relnamespace = :ns
  UNION ALL
  SELECT concat_ws(' ', 'col', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                   a.attnotnull, a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = :ns AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT concat_ws(' ', 'con', c.relname, k.conname, pg_get_constraintdef(k.oid), k.convalidated)
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid WHERE c.relnamespace = :ns
  UNION ALL
  SELECT concat_ws(' ', 'trg', c.relname, t.tgname, t.tgenabled, pg_get_triggerdef(t.oid))
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = :ns AND NOT t.tgisinternal
  UNION ALL
  SELECT concat_ws(' ', 'seq', c.relname, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
                   s.seqcycle)
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace = :ns
  UNION ALL
  SELECT concat_ws(' ', 'fun', p.proname, pg_get_function_identity_arguments(p.oid),
                   md5(p.prosrc))
    FROM pg_proc p WHERE p.pronamespace = :ns
  UNION ALL
  SELECT concat_ws(' ', 'rul', r.rulename, pg_get_ruledef(r.oid))
    FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = :ns
) AS parts(item)
"""


@dataclass
class _Schema:
    """A migrated schema, as the migrations left it."""

    name: str
    structure: str
    versions: list[str]
    sequences: dict[str, tuple[int, int | None]]  # name -> (start value, last value or None)


@dataclass
class PostgresTemplate:
    """A migrated PostgreSQL schema of this process, lent to one test at a time and put back as
    the migrations left it afterwards."""

    admin: Engine
    schema: _Schema | None = None
    lent: bool = False
    seeded: bool = False  # the migrations left rows behind: each test migrates its own schema
    spoiled: list[str] = field(default_factory=list)  # given up on; dropped at the end

    def _inspect(self, name: str) -> tuple[_Schema, list[str]]:
        """The schema's structure, migration versions and sequences; the tables holding data."""
        with self.admin.connect() as conn:
            ns = int(conn.execute(text("SELECT oid FROM pg_namespace WHERE nspname = :s"),
                                  {"s": name}).scalar_one())
            structure = str(conn.execute(text(_STRUCTURE), {"ns": ns}).scalar_one())
            versions = sorted(str(v) for v in conn.execute(
                text(f"SELECT version_num FROM {name}.alembic_version")).scalars())
            sequences = {str(seq): (int(start), None if last is None else int(last))
                         for seq, start, last in conn.execute(text(
                             "SELECT sequencename, start_value, last_value FROM pg_sequences "
                             "WHERE schemaname = :s"), {"s": name})}
            # A table never written to has no pages; the migration table is the one kept.
            written = [str(t) for t in conn.execute(text(
                "SELECT relname FROM pg_class WHERE relnamespace = :ns AND relkind IN ('r', 'p') "
                "AND relname <> 'alembic_version' AND pg_relation_size(oid) > 0"),
                {"ns": ns}).scalars()]
        return _Schema(name, structure, versions, sequences), written

    def _has_rows(self, name: str, tables: list[str]) -> bool:
        if not tables:
            return False
        probe = " UNION ALL ".join(f"SELECT 1 FROM (SELECT 1 FROM {name}.{t} LIMIT 1) AS x"
                                   for t in tables)
        with self.admin.connect() as conn:
            return conn.execute(text(probe)).first() is not None

    def _truncate(self, name: str, tables: list[str]) -> None:
        """Empty the tables (new, empty files, as after the migrations) and those referring to
        them."""
        with self.admin.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(text("TRUNCATE " + ", ".join(f"{name}.{t}" for t in tables) + " CASCADE"))

    def _build(self) -> _Schema | None:
        """A new schema the migrations built, or None when they leave rows behind."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {name}"))
        self.spoiled.append(name)  # until it proves usable
        _migrate(_schema_url(name))
        schema, written = self._inspect(name)
        if self._has_rows(name, written):
            # Truncating gives back the schema as the migrations left it only when they left it
            # empty; otherwise every test migrates its own schema, as without the template.
            self.seeded = True
            return None
        if written:  # pages of rows the migrations wrote and deleted again: start from none
            self._truncate(name, written)
        self.spoiled.remove(name)
        return schema

    def _reset(self, schema: _Schema) -> bool:
        """Put the schema back as migrated (True), or say it cannot be (False)."""
        now, written = self._inspect(schema.name)
        if (now.structure, now.versions, now.sequences.keys()) != (
                schema.structure, schema.versions, schema.sequences.keys()):
            return False  # a test changed the schema itself
        if written:
            self._truncate(schema.name, written)
        moved = {seq: was for seq, was in schema.sequences.items() if now.sequences[seq] != was}
        if moved:
            with self.admin.begin() as conn:
                for seq, (start, last) in moved.items():
                    conn.execute(text("SELECT setval(:q, :v, :called)"),
                                 {"q": f"{schema.name}.{seq}", "v": start if last is None else last,
                                  "called": last is not None})
        return True

    def acquire(self) -> str | None:
        """The URL of the migrated schema, or None when each test must migrate its own."""
        assert not self.lent, "the migrated PostgreSQL schema is lent out already"
        if self.schema is None and not self.seeded:
            self.schema = self._build()
        if self.schema is None:
            return None
        self.lent = True
        return _schema_url(self.schema.name)

    def release(self) -> None:
        """Take the schema back: reset it, or give it up (the next test gets a new one)."""
        assert self.lent and self.schema is not None
        self.lent = False
        schema, ok = self.schema, False
        try:
            ok = self._reset(schema)
        finally:
            if not ok:
                self.spoiled.append(schema.name)
                self.schema = None

    def close(self) -> None:
        names = self.spoiled + ([self.schema.name] if self.schema is not None else [])
        for name in names:
            with suppress(Exception), self.admin.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '10s'"))
                conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        self.admin.dispose()


@dataclass
class Templates:
    """Databases the real migrations built once in this process, made per backend on first use."""

    folder: Path
    sqlite: Path | None = None
    postgres: PostgresTemplate | None = None

    def sqlite_copy(self, folder: Path) -> str:
        if self.sqlite is None:
            path = self.folder / "kovflow.db"
            _migrate(f"sqlite:///{path}")
            assert not Path(f"{path}-wal").exists(), "the template left a write-ahead log behind"
            self.sqlite = path
        target = folder / "kovflow.db"
        shutil.copyfile(self.sqlite, target)
        return f"sqlite:///{target}"

    def postgres_schema(self) -> PostgresTemplate:
        if self.postgres is None:
            self.postgres = PostgresTemplate(create_engine(PG_URL))
        return self.postgres


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    made = Templates(tmp_path_factory.mktemp("template"))
    yield made
    if made.postgres is not None:
        made.postgres.close()


@pytest.fixture(params=backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a fresh PostgreSQL schema.

    For a test that uses ``app`` (and is not marked ``real_migrations``) the database is a
    migrated one from the templates instead: ``app`` would migrate it before the test anyway.
    """
    if USE_TEMPLATES and "app" in request.fixturenames \
            and request.node.get_closest_marker("real_migrations") is None:
        made: Templates = request.getfixturevalue("templates")
        if request.param == "sqlite":
            yield made.sqlite_copy(tmp_path)
            return
        schema = made.postgres_schema()
        url = schema.acquire()
        if url is not None:
            yield url
            schema.release()
            return
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
