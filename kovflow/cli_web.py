"""CLI: the web application (``kovflow serve``) and the server loop ``kovflow demo --serve`` uses.

uvicorn serves ``kovflow.web.app.create_app``; with ``--with-worker`` the worker's scheduler
(the same jobs as ``kovflow worker``) ticks in a thread of the same process: the embedded default
of one SQLite file and one process. Ctrl-C stops both; the worker gives its lease up on the way out.
With ``--workers N`` uvicorn runs N server processes (a page is CPU-bound Python: one process
serves one core); each builds its application from the options the parent leaves in the
environment (``SERVE_ENV``), and the worker's thread, if asked for, stays in the parent.
uvicorn's access log is off: requests carry case numbers, and who read which case is recorded
where it belongs, in the audited access log (NEN 7513).
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kovflow.cli import G, _app, _run, app

# The parent's --config, --db and --now, for the server processes of ``serve --workers``.
SERVE_ENV = "KOVFLOW_SERVE_OPTIONS"

if TYPE_CHECKING:
    from apscheduler.schedulers.blocking import BlockingScheduler

    from kovflow.services import App


class ShiftedClock:
    """Real time that started at ``start``: the demo serves its simulated weeks as 'now'."""

    def __init__(self, start: datetime) -> None:
        from kovflow.clock import SystemClock

        self._system = SystemClock()
        self._offset = start - self._system.now()

    def now(self) -> datetime:
        return self._system.now() + self._offset


class WorkerThread:
    """The worker's scheduler in a daemon thread of the web process."""

    def __init__(self, kapp: App, tick_seconds: int = 60) -> None:
        from kovflow.notify.mailers import make_mailer
        from kovflow.scheduling.worker import build_scheduler, worker_identity

        self.kapp = kapp
        self.holder = worker_identity()
        self.scheduler: BlockingScheduler = build_scheduler(
            kapp, make_mailer(kapp.settings), tick_seconds, self.holder)
        self.thread = threading.Thread(target=self.scheduler.start, name="kovflow-worker",
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        from kovflow.scheduling.worker import LEASE_NAME
        from kovflow.store.worker_repo import release_lease

        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.thread.join(timeout=10)
        # Let another worker take over at once instead of after the lease expires.
        release_lease(self.kapp.engine, LEASE_NAME, self.holder)


def app_from_environment() -> Any:
    """The web application of one ``serve --workers`` process (uvicorn imports it by name)."""
    from kovflow.clock import FixedClock, parse_moment
    from kovflow.config import load_settings
    from kovflow.services import build_app
    from kovflow.web.app import create_app

    options = json.loads(os.environ[SERVE_ENV])
    config = Path(options["config"]) if options.get("config") else None
    clock = FixedClock(parse_moment(options["now"])) if options.get("now") else None
    return create_app(build_app(load_settings(config), clock=clock,
                                database_url=options.get("db")))


def serve_app(kapp: App, host: str = "127.0.0.1", port: int = 8000, *,
              with_worker: bool = False, tick_seconds: int = 60, workers: int = 1) -> None:
    """Serve the web application (and the worker) until Ctrl-C; ``workers`` server processes."""
    import uvicorn

    from kovflow.clock import FixedClock
    from kovflow.errors import InvalidInput
    from kovflow.web.app import create_app
    from kovflow.web.server import NoDelayH11Protocol

    if with_worker and isinstance(kapp.clock, FixedClock):
        raise InvalidInput("a fixed clock (--now) does not move: the worker cannot run with it")
    target: Any = create_app(kapp)
    if workers > 1:
        os.environ[SERVE_ENV] = json.dumps({"config": str(G.config) if G.config else None,
                                            "db": G.db, "now": G.now})
        target = f"{__name__}:app_from_environment"
    worker = WorkerThread(kapp, tick_seconds) if with_worker else None
    if worker is not None:
        worker.start()
    try:
        # proxy_headers: behind a TLS-terminating proxy on this host the scheme is https, so
        # the session cookie gets Secure and the answers carry HSTS.
        uvicorn.run(target, host=host, port=port, access_log=False, proxy_headers=True,
                    forwarded_allow_ips="127.0.0.1", log_level="warning",
                    factory=workers > 1, workers=workers, http=NoDelayH11Protocol)
    finally:
        if worker is not None:
            worker.stop()
        kapp.engine.dispose()


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    with_worker: Annotated[bool, typer.Option(
        "--with-worker", help="Run the worker (reminders, mail) in the same process.")] = False,
    tick: Annotated[int, typer.Option(
        "--tick", min=1, help="With --with-worker: seconds between worker ticks.")] = 60,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, max=64,
        help="Server processes (about one per core; the worker thread stays single).")] = 1,
) -> None:
    """Serve the web workplace and the API (/api/v1) until Ctrl-C."""

    def work() -> None:
        kapp = _app()
        typer.echo(f"kovflow serves http://{host}:{port}/ with {workers} process"
                   f"{'es' if workers > 1 else ''} "
                   f"({'with' if with_worker else 'without'} the worker); Ctrl-C stops")
        serve_app(kapp, host, port, with_worker=with_worker, tick_seconds=tick,
                  workers=workers)

    _run(False, work)
