"""Use cases, one database transaction each. Web, API and CLI call these and nothing below.

Every function takes the ``App`` (engine, catalog, clock, calendar) and the acting ``Actor``.
"""

from kovflow.services.admin import add_location, add_user, resolve_actor
from kovflow.services.cases import (
    add_participant,
    case_overview,
    consents_of,
    history,
    mark_transferred,
    my_tasks,
    open_case,
    record_consent,
    search_cases,
)
from kovflow.services.context import App, build_app
from kovflow.services.steps import FireResult, fire, start_route
from kovflow.services.versions import migrate_route

__all__ = [
    "App",
    "FireResult",
    "add_location",
    "add_participant",
    "add_user",
    "build_app",
    "case_overview",
    "consents_of",
    "fire",
    "history",
    "mark_transferred",
    "migrate_route",
    "my_tasks",
    "open_case",
    "record_consent",
    "resolve_actor",
    "search_cases",
    "start_route",
]
