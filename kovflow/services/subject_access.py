"""The subject-access export (AVG art. 15): everything kovflow holds about one case, for the parents.

``export_case`` gathers the child's data, the participants, the routes with their states and
data, the timeline of events, the consents, the anonymous consultations asked about the case and
the access report (who accessed the file) as one JSON-ready document; ``render_html`` turns it
into one self-contained Dutch page (no scripts, no external resources) to print or hand over.

Who may export: the childcare organisation answers the request (it holds the child file), so
childcare staff who may read the case (participant, or same location or organisation), and
functioneel beheer (admin) and the operator, who handle AVG requests for the installation.
Partners (wijkcoach, JGZ, ...) answer from their own files. Anyone else gets the answer for a
missing case; the refusal and the export itself are access-logged.

The meldcode compartments are never part of the export: whether and what parents may see of a
meldcode file is decided case by case by the aandachtsfunctionaris (AVG art. 23, UAVG art. 41:
the protection of the child or of the person who reported). The export says so in the same words
whether or not such a route exists, so it does not reveal one.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kovflow.access.policy import COMPARTMENTS, Action, group_of
from kovflow.actor import Actor
from kovflow.errors import InvalidInput, KovflowError, NotFound
from kovflow.services import access
from kovflow.services.access_report import report_rows
from kovflow.services.context import App
from kovflow.store import repo, retention_repo
from kovflow.store.db import Connection, write

_AMSTERDAM = ZoneInfo("Europe/Amsterdam")
FORMATS = ("json", "html")
# The kinds of events in words for the parents; an unknown kind is shown as it is.
EVENT_WORDS = {"case_opened": "dossier geopend", "start": "route gestart", "transition": "stap",
               "closed": "route afgesloten", "migrated": "route naar nieuwe versie",
               "participant_added": "betrokkene toegevoegd", "consent": "toestemming",
               "consent_transfer": "gegevens overgedragen", "dispute": "bezwaar of klacht"}
MELDCODE_NOTE = ("Gegevens uit de meldcode (huiselijk geweld en kindermishandeling) staan niet in "
                 "dit overzicht. Of en welke gegevens daaruit gedeeld kunnen worden, beoordeelt de "
                 "aandachtsfunctionaris apart (AVG art. 23, UAVG art. 41).")


def _may_export(conn: Connection, actor: Actor, case_row: Any) -> bool:
    if actor.operator or "admin" in actor.roles:
        return True
    return group_of(actor.roles) == "childcare" and access.permits(conn, actor, case_row,
                                                                    Action.READ)


def export_case(app: App, actor: Actor, case_number: str) -> dict[str, Any]:
    """The whole case as a JSON-ready document (one transaction; access-logged)."""
    now = app.clock.now()

    def work(conn: Connection) -> dict[str, Any]:
        case_row = repo.case_by_number(conn, case_number)
        if case_row is None:
            raise NotFound("case", case_number)
        if not _may_export(conn, actor, case_row):
            raise access.Denied(case_row.case_number, case_row.id, Action.READ,
                                "inzageverzoek (export)")
        # Logged first, so the export's own access is part of the access report it contains.
        access.log(conn, actor, now, case_row, Action.READ, "inzageverzoek (export)")
        return _document(conn, app, case_row, now)

    try:
        return write(app.engine, work)
    except access.Denied as denied:
        raise access.refused(app, actor, denied) from None


def _document(conn: Connection, app: App, case_row: Any, now: datetime) -> dict[str, Any]:
    loc = repo.location_by_id(conn, case_row.location_id)
    hidden = {r.id for r in repo.case_instances(conn, case_row.id) if r.route_id in COMPARTMENTS}
    routes = [{
        "route": r.route_id, "titel": _title(app, r), "versie": r.route_version,
        "stand": r.state, "stand_omschrijving": _label(app, r),
        "gestart": _iso(r.started_at), "bijgewerkt": _iso(r.updated_at),
        "afgesloten": _iso(r.closed_at), "gegevens": dict(r.data or {}),
    } for r in repo.case_instances(conn, case_row.id) if r.id not in hidden]
    events = [{
        "nummer": e.seq, "moment": _iso(e.at), "door": e.actor, "soort": e.kind,
        "omschrijving": EVENT_WORDS.get(e.kind, e.kind),
        "route": e.route_id, "stap": e.trigger, "van": e.from_state, "naar": e.to_state,
        "gegevens": dict(e.payload or {}),
    } for e in repo.case_events(conn, case_row.id)
        if e.instance_id not in hidden and e.route_id not in COMPARTMENTS]
    consents = [{
        "onderwerp": c.scope, "status": c.status, "doel": c.purpose, "ontvanger": c.recipient,
        "categorieen": list(c.categories or []), "medisch_uitdrukkelijk": c.medical_explicit,
        "vorm": c.form, "gevraagd_door": c.asked_by, "gevraagd": _iso(c.asked_at),
        "besloten": _iso(c.decided_at), "overgedragen": _iso(c.transferred_at),
    } for c in repo.consent_rows(conn, case_row.id)]
    participants = [{
        "wie": p.username or p.name, "rol": p.role, "organisatie": p.organisation,
        "sinds": _iso(p.since),
    } for p in repo.case_participants(conn, case_row.id)]
    return {
        "soort": "inzageverzoek AVG art. 15",
        "gemaakt": _iso(now),
        "casus": case_row.case_number,
        "kind": {"voornaam": case_row.first_name, "initiaal": case_row.initial,
                 "geboortedatum": case_row.birth_date.isoformat(),
                 "locatie": loc.code if loc else "", "locatie_naam": loc.name if loc else "",
                 "gegevens_bij_aanmelding": dict(case_row.facts or {}),
                 "geopend": _iso(case_row.created_at), "geopend_door": case_row.created_by},
        "betrokkenen": participants,
        "routes": routes,
        "tijdlijn": events,
        "toestemmingen": consents,
        "consultaties": [{
            "aan": c.get("to_role", ""), "leeftijd": c.get("age_band", ""),
            "wijk": c.get("wijk", ""), "vraag": c.get("question", ""),
            "gevraagd": _iso(c.get("asked_at")), "advies": c.get("advice", ""),
            "beantwoord": _iso(c.get("answered_at")),
        } for c in retention_repo.case_consultations(conn, case_row.id)],
        "inzage": _access_report(conn, case_row.id, case_row.created_at),
        "meldcode": MELDCODE_NOTE,
    }


def _title(app: App, row: Any) -> str:
    try:
        return app.catalog.get(row.route_id, row.route_version).title
    except KovflowError:  # a route version no longer shipped: the data stays exportable
        return str(row.route_id)


def _label(app: App, row: Any) -> str:
    try:
        state = app.catalog.get(row.route_id, row.route_version).states.get(row.state)
    except KovflowError:
        state = None
    return state.label if state is not None else str(row.state)


def _access_report(conn: Connection, case_id: int, opened: datetime) -> list[dict[str, Any]]:
    """Who accessed the file, in Dutch, as ``services.access_report`` words it."""
    return [{"moment": r["at"], "wie": r["actor"], "handeling": r["action"], "wat": r["what"],
             "uitkomst": r["outcome"], "zin": r["zin"]}
            for r in report_rows(conn, case_id, opened)]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def render_html(doc: dict[str, Any]) -> str:
    """The export as one self-contained HTML page in Dutch (autoescaped, no external resources)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from kovflow import exports

    env = Environment(loader=FileSystemLoader(Path(exports.__file__).parent),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["moment"] = _dutch_moment
    env.filters["ja_nee"] = _value
    return env.get_template("subject_access.html.j2").render(doc=doc)


def _dutch_moment(value: str | None) -> str:
    if not value:
        return "-"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return moment.strftime("%d-%m-%Y")
    return moment.astimezone(_AMSTERDAM).strftime("%d-%m-%Y %H:%M")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    return "-" if value is None else str(value)


def render(doc: dict[str, Any], fmt: str) -> str:
    """The export in ``fmt`` (json or html)."""
    import json

    if fmt == "json":
        return json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n"
    if fmt == "html":
        return render_html(doc)
    raise InvalidInput(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
