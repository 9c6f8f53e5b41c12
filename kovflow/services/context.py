"""The application context the services work in: database, routes, time and calendar."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kovflow.calendar import WorkCalendar
from kovflow.clock import Clock, SystemClock
from kovflow.config import Settings
from kovflow.routes.catalog import Catalog, load_catalog
from kovflow.store.db import Engine, make_engine


@dataclass
class App:
    """Built once per process by ``build_app``; passed to every service call."""

    settings: Settings
    engine: Engine
    catalog: Catalog
    clock: Clock = field(default_factory=SystemClock)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    # Values derived from the settings, the catalog and the calendar alone, kept by the modules
    # that compute them (each under its own key, e.g. the audit's thresholds of one day).
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def build_app(settings: Settings, clock: Clock | None = None, database_url: str | None = None,
              catalog: Catalog | None = None) -> App:
    """Load and check the routes, make the engine; nothing connects until first use."""
    return App(
        settings=settings,
        engine=make_engine(database_url or settings.database_url),
        catalog=catalog or load_catalog(settings.workflows_dir, overrides=settings.route_settings),
        clock=clock or SystemClock(),
        calendar=WorkCalendar(settings.extra_closed_days),
    )
