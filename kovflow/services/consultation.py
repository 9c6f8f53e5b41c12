"""Anonymous consultation (anoniem overleg): a question about a child without the child.

A professional of a case asks the location's wijkcoach or JGZ nurse for advice, for instance when
the parents refused consent (ROUTES.md: refusal -> anonymous consultation). The consulted party
sees only the age band (from the birth date), the wijk of the location and the question; never
the case number, the name, the birth date or who asked. The advice is stored back on the case and
shown to the asker only (``for_case`` and the asker's ``case_overview``).

Who is consulted: every active user holding the asked role (``wijkcoach`` or ``jgz``) whose
account is tied to the case's location (``users.location_id``): the "location wijkcoach" of
ROUTES.md. All of them see the question in their inbox; the first answer is kept.

The question is free text written by the asker. kovflow strips nothing from it silently: a
question naming the child (first name, case number or birth date) is refused with a clear error,
and the forms say that it must not contain names (``QUESTION_WARNING``). The access log records
asking, reading and answering, never the question or the advice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kovflow.access.policy import Action
from kovflow.actor import Actor
from kovflow.errors import InvalidInput, NotFound
from kovflow.notify.render import link_for
from kovflow.notify.rows import outbox_row
from kovflow.services import access
from kovflow.services.context import App
from kovflow.store import consultation_repo as crepo
from kovflow.store import repo
from kovflow.store.db import Connection, read, write

CONSULTED_ROLES = ("wijkcoach", "jgz")
MAX_TEXT = 4000
QUESTION_WARNING = ("Schrijf de vraag zonder naam, geboortedatum of casusnummer van het kind of "
                    "zijn ouders: de geraadpleegde ziet alleen de leeftijdsgroep en de wijk.")
TEMPLATE_QUESTION = "consultatie_vraag"
TEMPLATE_ADVICE = "consultatie_advies"


@dataclass(frozen=True)
class ConsultationItem:
    """One consultation as both sides may see it: nothing that identifies the child."""

    id: int
    age_band: str
    wijk: str
    to_role: str
    question: str
    asked_at: datetime
    answered_at: datetime | None
    advice: str


def age_band(birth_date: date, today: date) -> str:
    """A whole-year band such as "2-3 jaar" (the child is 2); from 4 on "4 jaar of ouder"."""
    years = today.year - birth_date.year - ((today.month, today.day)
                                            < (birth_date.month, birth_date.day))
    years = max(years, 0)
    return "4 jaar of ouder" if years >= 4 else f"{years}-{years + 1} jaar"


def _text(value: str, what: str) -> str:
    clean = value.strip()
    if not clean:
        raise InvalidInput(f"{what} is leeg: schrijf de {what}")
    if len(clean) > MAX_TEXT:
        raise InvalidInput(f"{what} is te lang ({len(clean)} tekens; hoogstens {MAX_TEXT})")
    return clean


def _names_the_child(question: str, case_row: Any) -> str:
    """What in the question identifies the child ("" when nothing); the value is never echoed."""
    lowered = question.lower()
    first = str(case_row.first_name or "").strip().lower()
    if first and re.search(rf"(?<!\w){re.escape(first)}(?!\w)", lowered):
        return "de voornaam van het kind"
    if str(case_row.case_number).lower() in lowered:
        return "het casusnummer"
    born: date = case_row.birth_date
    forms = {born.isoformat(), born.strftime("%d-%m-%Y"), f"{born.day}-{born.month}-{born.year}",
             born.strftime("%d/%m/%Y"), f"{born.day}/{born.month}/{born.year}"}
    if any(f in lowered for f in forms):
        return "de geboortedatum van het kind"
    return ""


def _item(row: Any) -> ConsultationItem:
    return ConsultationItem(int(row.id), row.age_band, row.wijk, row.to_role, row.question,
                            row.asked_at, row.answered_at, row.advice)


def _mail(app: App, conn: Connection, template: str, role: str,
          recipients: list[tuple[int, str]], case_id: int | None, now: datetime) -> None:
    # The same allow-listed context as every mail: the kind of message and the task-list link.
    context = {"soort": "melding", "link": link_for(app.settings.base_url)}
    repo.add_rows(conn, repo.outbox, [
        outbox_row(template=template, role=role, user_id=user_id, address=address,
                   case_id=case_id, context=context, now=now)
        for user_id, address in recipients])


def ask(app: App, actor: Actor, case_number: str, to_role: str, question: str) -> int:
    """Ask the location's wijkcoach or JGZ nurse anonymously about a case; the consultation id.

    Needs write access to the case (a professional of the case); refused like a missing case
    otherwise. The consulted party gets a mail without content and sees the question in its inbox.
    """
    if to_role not in CONSULTED_ROLES:
        raise InvalidInput(f"een anonieme consultatie gaat naar {' of '.join(CONSULTED_ROLES)}, "
                           f"niet naar {to_role!r}")
    text = _text(question, "vraag")
    if actor.user_id is None:
        raise InvalidInput("a consultation is asked by a user: pass --as USERNAME")
    now = app.clock.now()

    def work(conn: Connection) -> int:
        case_row = repo.case_by_number(conn, case_number)
        if case_row is None:
            raise NotFound("case", case_number)
        access.check(conn, actor, case_row, Action.WRITE, "anonieme consultatie")
        found = _names_the_child(text, case_row)
        if found:
            raise InvalidInput(f"de vraag noemt {found}; een anonieme consultatie mag niets "
                               "bevatten dat het kind herkenbaar maakt: haal het eruit")
        recipients = repo.role_recipients(conn, None, case_row.location_id, to_role)
        if not recipients:
            raise InvalidInput(f"er is geen {to_role} aan de locatie van deze casus gekoppeld; "
                               "functioneel beheer koppelt een gebruiker met die rol aan de locatie")
        cid = crepo.add(conn, {
            "case_id": case_row.id, "location_id": case_row.location_id,
            "asked_by_user_id": actor.user_id, "to_role": to_role,
            "age_band": age_band(case_row.birth_date, now.date()),
            "wijk": crepo.location_wijk(conn, case_row.location_id), "question": text,
            "asked_at": now, "answered_at": None, "answered_by_user_id": None, "advice": ""})
        # No case on the consulted party's mail row: nothing ties it to the child.
        _mail(app, conn, TEMPLATE_QUESTION, to_role, recipients, None, now)
        access.log(conn, actor, now, case_row, Action.WRITE, f"anonieme consultatie {to_role}")
        return cid

    try:
        return write(app.engine, work)
    except access.Denied as denied:
        raise access.refused(app, actor, denied) from None


def _consulted_location(conn: Connection, actor: Actor) -> int | None:
    """The location whose consultations the actor answers (None: not a consulted role)."""
    if actor.user_id is None or not actor.roles & set(CONSULTED_ROLES):
        return None
    user = repo.user_by_name(conn, actor.username)
    return None if user is None else user.location_id


def inbox(app: App, actor: Actor) -> list[ConsultationItem]:
    """Questions to the actor's role at the actor's location: open ones first, then newest."""
    now = app.clock.now()

    def work(conn: Connection) -> list[ConsultationItem]:
        rows = crepo.inbox_rows(conn, _consulted_location(conn, actor),
                                sorted(actor.roles & set(CONSULTED_ROLES)))
        access.log(conn, actor, now, None, Action.READ, "consultatie-inbox")
        return [_item(r) for r in rows]

    return write(app.engine, work)


def answer(app: App, actor: Actor, consultation_id: int, advice: str) -> None:
    """Record the advice on a question in the actor's inbox; the asker gets a mail.

    A consultation outside the actor's inbox answers exactly like a missing one.
    """
    text = _text(advice, "advies")
    now = app.clock.now()
    what = f"consultatie {consultation_id} beantwoorden"

    def work(conn: Connection) -> tuple[bool, Any]:
        row = crepo.by_id(conn, consultation_id)
        if (row is None or row.location_id != _consulted_location(conn, actor)
                or row.to_role not in actor.roles):
            return False, None
        if row.answered_at is not None or not crepo.record_advice(
                conn, consultation_id, actor.user_id or 0, text, now):
            raise InvalidInput(f"consultatie {consultation_id} is al beantwoord")
        asker = crepo.active_user_address(conn, row.asked_by_user_id)
        _mail(app, conn, TEMPLATE_ADVICE, "vrager", asker or [(row.asked_by_user_id, "")],
              row.case_id, now)
        access.log(conn, actor, now, None, Action.WRITE, what)
        return True, row

    done, _ = write(app.engine, work)
    if not done:
        write(app.engine, lambda conn: access.log(conn, actor, now, None, Action.WRITE, what,
                                                  outcome="refused"))
        raise NotFound("consultation", consultation_id)


def for_case(app: App, actor: Actor, case_number: str) -> list[ConsultationItem]:
    """The actor's own consultations about a case, with their advice; others see none."""
    try:
        with read(app.engine) as conn:
            case_row = repo.case_by_number(conn, case_number)
            if case_row is None:
                raise NotFound("case", case_number)
            access.check(conn, actor, case_row, Action.READ, "consultaties")
            items = own_items(conn, actor, case_row.id)
    except access.Denied as denied:
        raise access.refused(app, actor, denied) from None
    now = app.clock.now()
    write(app.engine, lambda conn: access.log(conn, actor, now, case_row, Action.READ,
                                              "consultaties"))
    return items


def own_items(conn: Connection, actor: Actor, case_id: int) -> list[ConsultationItem]:
    """The consultations the actor asked about a case (used by the asker's case view)."""
    if actor.user_id is None:
        return []
    return [_item(r) for r in crepo.asker_rows(conn, case_id, actor.user_id)]
