"""The one Jinja2 environment of the web pages, with Dutch filters.

Same conventions as the mail templates (``kovflow/notify/render.py``): built on first use (never
at import), HTML autoescapes, and a variable a template needs but the context lacks is an error
(``StrictUndefined``) instead of an empty string on a coach's screen.

Filters every page template may use:

- ``datum``: a date or moment as "23 november 2026" (Europe/Amsterdam for moments);
- ``datumtijd``: a moment as "23 november 2026, 09:00";
- ``rol``: a role id as a Dutch label ("wijkcoach", "coach passende kinderopvang", ...);
- ``toestemming``: a consent status as a Dutch phrase.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

__all__ = ["MONTHS", "ROLE_LABELS", "environment", "templates_dir"]

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
          "september", "oktober", "november", "december")
# Dutch names of the roles of kovflow.routes.spec.ROLES; an unknown role shows as its id.
ROLE_LABELS = {
    "pm": "pedagogisch medewerker",
    "coach": "coach passende kinderopvang",
    "manager": "manager locatie",
    "aandachtsfunctionaris": "aandachtsfunctionaris",
    "houder": "houder",
    "wijkcoach": "wijkcoach",
    "ambulant_begeleider": "ambulant begeleider",
    "jgz": "jeugdverpleegkundige (JGZ)",
    "logopedist": "logopedist",
    "zorgaanbieder": "zorgaanbieder",
    "voogd": "voogd",
    "ouder": "ouder",
    "coordinator": "coördinator",
    "admin": "functioneel beheer",
}
_CONSENT = {"gevraagd": "gevraagd", "gegeven": "gegeven", "geweigerd": "geweigerd",
            "ingetrokken": "ingetrokken"}


def templates_dir() -> Path:
    return Path(__file__).parent / "templates"


def _local(value: date | datetime) -> date | datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(AMSTERDAM)
    return value


def datum(value: date | datetime | str | None) -> str:
    """ "23 november 2026"; an ISO string is parsed first; None is an empty string."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    value = _local(value)
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def datumtijd(value: datetime | str | None) -> str:
    """ "23 november 2026, 09:00" in Amsterdam time."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = _local(value)
    assert isinstance(local, datetime)
    return f"{datum(local)}, {local:%H:%M}"


def rol(value: str) -> str:
    return ROLE_LABELS.get(value, value.replace("_", " "))


def toestemming(value: str) -> str:
    return _CONSENT.get(value, value)


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the pages (cached: templates compile once per process)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship with the package and change only with a new release (a restart):
        # no file-system check of every template on every render.
        auto_reload=False,
    )
    env.filters.update(datum=datum, datumtijd=datumtijd, rol=rol, toestemming=toestemming)
    return env
