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


def test_serve_with_several_processes_answers_from_each(tmp_path: Path) -> None:
    """``serve --workers 2``: uvicorn spawns two server processes, each building the app from
    the options the parent passed on, and pages are served."""
    import os
    import socket
    import subprocess
    import sys

    import httpx

    from kovflow.services import build_app
    from kovflow.config import Settings
    from kovflow.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'k.db'}"
    kapp = build_app(Settings(), database_url=url)
    upgrade(kapp.engine)
    kapp.engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kovflow = str(Path(sys.executable).with_name("kovflow"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOVFLOW_")}
    proc = subprocess.Popen([kovflow, "--db", url, "serve", "--port", str(port), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        page = None
        while page is None and time.monotonic() < deadline:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
            except httpx.TransportError:
                time.sleep(0.1)
        assert page is not None and page.status_code == 200 and "Inloggen" in page.text
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        servers = [c for c in children
                   if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(servers) == 2
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert b"with 2 processes" in out
