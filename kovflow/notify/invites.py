"""Calendar invitations for planned conversations, as iCalendar (RFC 5545 / iTIP, RFC 5546).

A step whose route declares ``invite = { field, roles, cancel, minutes }`` writes, in its own
transaction, one outbox row per recipient with template ``uitnodiging`` and an allow-listed
context ``{"soort": "uitnodiging", "link": ..., "invite": {uid, sequence, method, start,
minutes}}``. The mailer turns that into a ``text/calendar; method=REQUEST`` (or ``CANCEL``) part.
No new tables: what was sent before is read back from the outbox.

What an invitation carries, and nothing more: a neutral summary ("Afspraak (kovflow)"), start and
end in UTC, UID, SEQUENCE, METHOD and STATUS, "Zie kovflow voor details" with the link to the task
list, the mail's From address as ORGANIZER and the recipient's own address as ATTENDEE. No
location, no names, no kind of conversation.

UID: ``<instance id>-<token>[_<n>]@kovflow``. ``token`` is a digest of the date field's name (the
name itself, e.g. ``intake_datum``, would tell what kind of conversation it is). ``n`` counts the
earlier appointments on that field of that instance: while an appointment still lies ahead, a new
date MOVES it (same UID, higher SEQUENCE, and a CANCEL for anyone no longer invited); once its
start has passed it took place, so the next date is a NEW appointment (next UID, SEQUENCE 0) and
the conversation that was held stays in everyone's calendar. ``cancel = true`` cancels the
appointment that still lies ahead (same UID, higher SEQUENCE) for everyone who holds it, and does
nothing when there is none. A date without a time means 09:00 Europe/Amsterdam.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any

from icalendar import Calendar, Event, vCalAddress

from kovflow.engine import base_moment
from kovflow.errors import KovflowError
from kovflow.notify.rows import outbox_row
from kovflow.routes.spec import InviteSpec
from kovflow.store import repo
from kovflow.store.db import Connection

__all__ = [
    "SOORT",
    "SUMMARY",
    "TEMPLATE",
    "Invitation",
    "InvitationError",
    "calendar_text",
    "invitation_rows",
    "start_moment",
    "uid_for",
]

TEMPLATE = "uitnodiging"
SOORT = "uitnodiging"
SUMMARY = "Afspraak (kovflow)"
DESCRIPTION = "Zie kovflow voor details"
PRODID = "-//kovflow//uitnodiging//NL"
METHODS = ("REQUEST", "CANCEL")
MAX_MINUTES = 24 * 60
MAX_SEQUENCE = 100_000
# Exactly what uid_for makes (a subset of ^\d+-[a-z0-9_]+@kovflow$): no room for a name.
UID_PATTERN = re.compile(r"^\d+-[0-9a-f]{10}(?:_[1-9]\d*)?@kovflow$")
_START_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_KEYS = frozenset({"uid", "sequence", "method", "start", "minutes"})
_TOKEN_LENGTH = 10


class InvitationError(KovflowError):
    """An invitation that is not allowed: a malformed UID, method, moment or duration."""


def _count(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvitationError(f"invitation {name} must be a whole number from {low} to {high}")
    return value


@dataclass(frozen=True, slots=True)
class Invitation:
    """One iCalendar message about one appointment. Validated on construction."""

    uid: str
    sequence: int
    method: str
    start: datetime  # aware, UTC, whole seconds
    minutes: int

    def __post_init__(self) -> None:
        if not isinstance(self.uid, str) or not UID_PATTERN.fullmatch(self.uid):
            raise InvitationError(f"invitation uid does not match {UID_PATTERN.pattern}")
        _count(self.sequence, "sequence", 0, MAX_SEQUENCE)
        if self.method not in METHODS:
            raise InvitationError(f"invitation method must be REQUEST or CANCEL, "
                                  f"got {self.method!r}")
        if (not isinstance(self.start, datetime) or self.start.tzinfo is None
                or self.start.utcoffset() != timedelta(0) or self.start.microsecond):
            raise InvitationError(f"invitation start must be a moment in UTC in whole seconds, "
                                  f"got {self.start!r}")
        _count(self.minutes, "minutes", 1, MAX_MINUTES)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)

    def to_context(self) -> dict[str, Any]:
        """The JSON an outbox row stores (``start`` as ``YYYY-MM-DDTHH:MM:SSZ``)."""
        return {"uid": self.uid, "sequence": self.sequence, "method": self.method,
                "start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"), "minutes": self.minutes}

    @classmethod
    def from_context(cls, value: object) -> Invitation:
        """Rebuild from an outbox row's JSON; refuses any other key or type."""
        if not isinstance(value, Mapping):
            raise InvitationError(f"invitation must be an object, got {type(value).__name__}")
        if set(value) != _KEYS:
            extra, missing = set(value) - _KEYS, _KEYS - set(value)
            raise InvitationError("invitation keys are not allowed or missing: "
                                  + ", ".join(sorted(map(str, extra | missing))))
        start = value["start"]
        if not isinstance(start, str) or not _START_PATTERN.fullmatch(start):
            raise InvitationError("invitation start must be YYYY-MM-DDTHH:MM:SSZ")
        try:
            moment = datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise InvitationError("invitation start is not a moment") from None
        return cls(uid=value["uid"], sequence=value["sequence"], method=value["method"],
                   start=moment, minutes=value["minutes"])


def _token(field: str) -> str:
    return hashlib.sha256(field.encode("utf-8")).hexdigest()[:_TOKEN_LENGTH]


def uid_for(instance_id: int, field: str, appointment: int = 0) -> str:
    """The UID of the ``appointment``-th (from 0) appointment on ``field`` of an instance."""
    suffix = f"_{appointment}" if appointment else ""
    return f"{int(instance_id)}-{_token(field)}{suffix}@kovflow"


def start_moment(value: object) -> datetime:
    """The start in UTC of a recorded date (09:00 Europe/Amsterdam) or datetime (naive: Amsterdam).

    Accepts what the field parsers store (``2026-12-01``, ``2026-12-01T09:00:00+00:00``) and
    ``date``/``datetime`` objects.
    """
    moment = base_moment(value)  # the same reading as deadlines relative to a date field
    if moment is None:
        # The value itself stays out of the message: it may be free text from a form.
        raise InvitationError("the invitation's field holds no date or moment")
    return moment.astimezone(UTC).replace(microsecond=0)


def calendar_text(invite: Invitation, *, organizer: str, attendee: str, stamp: datetime,
                  link: str) -> str:
    """The VCALENDAR for one recipient: METHOD, PRODID and one VEVENT, all moments in UTC."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", invite.method)
    event = Event()
    event.add("uid", invite.uid)
    event.add("sequence", invite.sequence)
    event.add("dtstamp", stamp.astimezone(UTC).replace(microsecond=0))
    event.add("dtstart", invite.start)
    event.add("dtend", invite.end)
    event.add("summary", SUMMARY)
    event.add("description", f"{DESCRIPTION}: {link}")
    event.add("status", "CANCELLED" if invite.method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    # Addresses only: a display name (CN) could carry a person's name.
    event.add("organizer", vCalAddress(f"mailto:{parseaddr(organizer)[1] or organizer}"))
    guest = vCalAddress(f"mailto:{parseaddr(attendee)[1] or attendee}")
    guest.params["ROLE"] = "REQ-PARTICIPANT"
    guest.params["PARTSTAT"] = "NEEDS-ACTION"
    guest.params["RSVP"] = "FALSE"  # nobody reads replies to kovflow's address
    event.add("attendee", guest)
    cal.add_component(event)
    return str(cal.to_ical().decode("utf-8"))


# --- writing invitation rows (called from the step's transaction) ------------------------------


@dataclass(frozen=True, slots=True)
class _Sent:
    """An invitation row written before (or earlier in this transaction)."""

    appointment: int
    role: str
    user_id: int | None
    address: str
    invite: Invitation


def _sent(rows: Iterable[tuple[str, int | None, str, Any]], pattern: re.Pattern[str]
          ) -> list[_Sent]:
    found = []
    for role, user_id, address, context in rows:
        raw = context.get("invite") if isinstance(context, Mapping) else None
        uid = raw.get("uid") if isinstance(raw, Mapping) else None
        match = pattern.fullmatch(uid) if isinstance(uid, str) else None
        if match is None:
            continue
        try:
            invite = Invitation.from_context(raw)
        except InvitationError:
            continue  # a damaged row cannot be delivered either; it holds no appointment
        found.append(_Sent(int(match.group(1) or 0), str(role), user_id, str(address or ""),
                           invite))
    return found


def _earlier(conn: Connection, instance_id: int, field: str, case_id: int | None,
             pending: Sequence[Mapping[str, Any]]) -> list[_Sent]:
    """Invitation rows about ``field`` of the instance: in the outbox, and still to be flushed.

    The stored ones are the case's invitation rows (for a location route: the invitation rows
    without a case); the UID prefix then picks this instance's field.
    """
    prefix = f"{int(instance_id)}-{_token(field)}"
    pattern = re.compile(re.escape(prefix) + r"(?:_(\d+))?@kovflow")
    stored = [(r.recipient_role, r.recipient_user_id, r.to_address, r.context)
              for r in repo.outbox_rows(conn, case_id, template=TEMPLATE,
                                        without_case=case_id is None)]
    unsaved = [(r["recipient_role"], r["recipient_user_id"], r["to_address"], r["context"])
               for r in pending if r.get("template") == TEMPLATE]
    return _sent([*stored, *unsaved], pattern)


def _holders(sent: Sequence[_Sent]) -> dict[str, tuple[str, int | None]]:
    """Who has the appointment in their calendar now: invited and not cancelled since."""
    holders: dict[str, tuple[str, int | None]] = {}
    for s in sorted(sent, key=lambda s: s.invite.sequence):
        if not s.address:
            continue
        if s.invite.method == "REQUEST":
            holders[s.address] = (s.role, s.user_id)
        else:
            holders.pop(s.address, None)
    return holders


def _row(invite: Invitation, role: str, user_id: int | None, address: str,
         case_id: int | None, now: datetime, link: str) -> dict[str, Any]:
    # No personal data: the kind of message, where to log in, and the calendar facts.
    return outbox_row(template=TEMPLATE, role=role, user_id=user_id, address=address,
                      case_id=case_id, now=now,
                      context={"soort": SOORT, "link": link, "invite": invite.to_context()})


def invitation_rows(conn: Connection, spec: InviteSpec, *, instance_id: int,
                    case_id: int | None, location_id: int | None, given: Mapping[str, Any],
                    pending: Sequence[Mapping[str, Any]], now: datetime, link: str
                    ) -> list[dict[str, Any]]:
    """The outbox rows a step with ``invite = spec`` writes; ``given`` is the step's own data.

    A request needs the date in ``given`` (a step that leaves an optional date empty moves
    nothing). ``pending`` are the rows this transaction will write, so that two invitations in
    one transaction (a step and the step it fires) still count up.
    """
    sent = _earlier(conn, instance_id, spec.field, case_id, pending)
    current = max((s.appointment for s in sent), default=0)
    rows_now = [s for s in sent if s.appointment == current]
    top = max((s.invite.sequence for s in rows_now), default=-1)
    # The appointment as last sent: a request (possibly with cancellations for dropped
    # participants at the same sequence), or only cancellations.
    planned = next((s.invite for s in rows_now
                    if s.invite.sequence == top and s.invite.method == "REQUEST"), None)
    ahead = planned is not None and planned.start > now
    holders = _holders(rows_now) if ahead else {}
    if spec.cancel:
        if planned is None or not ahead:
            return []  # nothing planned that still lies ahead: nothing to cancel
        cancel = Invitation(planned.uid, top + 1, "CANCEL", planned.start, planned.minutes)
        return [_row(cancel, role, user_id, address, case_id, now, link)
                for address, (role, user_id) in holders.items()]

    value = given.get(spec.field)
    if value in (None, ""):
        return []
    if not sent:
        uid, sequence = uid_for(instance_id, spec.field, 0), 0
    elif planned is not None and ahead:  # the same appointment, moved
        uid, sequence = planned.uid, top + 1
    else:  # the last one took place (or was cancelled): a new appointment
        uid, sequence = uid_for(instance_id, spec.field, current + 1), 0
    request = Invitation(uid, sequence, "REQUEST", start_moment(value), spec.minutes)

    rows: list[dict[str, Any]] = []
    invited: set[str] = set()
    seen_users: set[int] = set()
    for role in spec.roles:
        found = repo.role_recipients(conn, case_id, location_id, role)
        if not found:
            rows.append(_row(request, role, None, "", case_id, now, link))
            continue
        for user_id, address in found:
            if user_id in seen_users or (address and address in invited):
                continue  # one invitation per person, whatever roles they hold
            seen_users.add(user_id)
            if address:
                invited.add(address)
            rows.append(_row(request, role, user_id, address, case_id, now, link))
    # Whoever holds the appointment but is no longer invited gets a cancellation.
    if planned is None or not ahead:
        return rows
    dropped = Invitation(uid, sequence, "CANCEL", planned.start, planned.minutes)
    rows += [_row(dropped, role, user_id, address, case_id, now, link)
             for address, (role, user_id) in holders.items() if address not in invited]
    return rows
