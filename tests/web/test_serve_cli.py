"""``kovflow serve`` and the in-process worker (real scheduler thread, real database)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

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

    from kovflow.config import Settings
    from kovflow.services import build_app
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


def test_every_connection_gets_tcp_nodelay_also_on_a_handed_down_socket() -> None:
    """The worker processes of ``serve --workers`` listen on a socket rebuilt from a file
    descriptor (protocol number 0), on which asyncio does not set TCP_NODELAY; kovflow's
    protocol sets it per connection, or every answer's body waits 40 ms for a delayed ACK."""
    import asyncio
    import socket

    import uvicorn
    from uvicorn.server import ServerState

    from kovflow.web.server import NoDelayH11Protocol

    async def scenario() -> int:
        config = uvicorn.Config(app=lambda *_: None, http=NoDelayH11Protocol, log_level="error")
        config.load()
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        handed = socket.fromfd(listener.fileno(), socket.AF_INET, socket.SOCK_STREAM)
        listener.close()
        seen: list[int] = []

        def protocol() -> NoDelayH11Protocol:
            made = NoDelayH11Protocol(config=config, server_state=ServerState(), app_state={})
            original = made.connection_made

            def record(transport: Any) -> None:
                original(transport)
                sock = transport.get_extra_info("socket")
                seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            made.connection_made = record  # type: ignore[method-assign]
            return made

        server = await asyncio.get_running_loop().create_server(protocol, sock=handed)
        _, writer = await asyncio.open_connection(*handed.getsockname()[:2])
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        return seen[0]

    assert asyncio.run(scenario()) == 1
