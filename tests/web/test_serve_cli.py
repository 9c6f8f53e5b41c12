"""``kovflow serve`` and the in-process worker (real scheduler thread, real database)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kovflow.cli import app as cli
from kovflow.services import App


def test_serve_refuses_a_worker_on_a_fixed_clock(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'k.db'}",
                                      "--now", "2026-11-23T09:00", "serve", "--with-worker"])
    assert result.exit_code == 2
    assert "fixed clock" in result.output


def test_the_worker_thread_ticks_and_gives_its_lease_up(app: App) -> None:
    from kovflow.cli_web import ShiftedClock, WorkerThread
    from kovflow.scheduling.worker import LEASE_NAME
    from kovflow.store.db import read
    from kovflow.store.worker_repo import current_lease_holder

    if app.engine.dialect.name != "sqlite":
        pytest.skip("only SQLite workers hold a lease (PostgreSQL claims rows with SKIP LOCKED)")
    app.clock = ShiftedClock(app.clock.now())
    worker = WorkerThread(app, tick_seconds=1)
    worker.start()
    deadline = time.monotonic() + 10
    holder = None
    while holder is None and time.monotonic() < deadline:
        with read(app.engine) as conn:
            holder = current_lease_holder(conn, LEASE_NAME, app.clock.now())
        time.sleep(0.05)
    assert holder == worker.holder  # the first tick ran (SQLite: it took the worker lease)
    worker.stop()
    assert not worker.thread.is_alive()
    with read(app.engine) as conn:
        assert current_lease_holder(conn, LEASE_NAME, app.clock.now()) is None
