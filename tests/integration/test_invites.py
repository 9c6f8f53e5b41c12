"""Calendar invitations for planned conversations (intake, kennismaking, eerste gesprek,
voortgangsgesprek, afstemmingsgesprek): iCalendar REQUEST, update and CANCEL, without personal data.

Delivered through the FileMailer (the .eml is parsed, its text/calendar part read with
``icalendar``) and once through a real SMTP server (aiosmtpd on 127.0.0.1).
"""

from __future__ import annotations

import email
import re
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import icalendar
import pytest

from kovflow.clock import FixedClock
from kovflow.notify.invites import (
    SUMMARY,
    UID_PATTERN,
    Invitation,
    InvitationError,
    start_moment,
    uid_for,
)
from kovflow.notify.mailers import FileMailer, SmtpMailer
from kovflow.notify.outbox import deliver_pending
from kovflow.notify.render import MailContext, RenderError, link_for, render
from kovflow.services import (
    add_location,
    add_participant,
    add_user,
    fire,
    open_case,
    resolve_actor,
    start_route,
)
from kovflow.store import repo
from tests.conftest import START, World
from tests.mailtools import Relay, Server

SENDER = "kovflow@gemeente.example"
LINK = "http://127.0.0.1:8000/taken"
PLAATS = {"groep": "Bijen", "startdatum": "2026-12-01", "mentor": "pm", "vve_indicatie": "nee"}


# --- helpers -------------------------------------------------------------------------------------

def _open(world: World, name: str = "Zwaantje", born: date = date(2024, 2, 29)) -> str:
    return open_case(world.app, world.coach, first_name=name, initial="Q", birth_date=born,
                     location=world.location).case_number


def _rows(world: World) -> list[Any]:
    """The invitation rows in the outbox, oldest first."""
    with world.app.engine.connect() as conn:
        return [r for r in repo.outbox_rows(conn) if r.template == "uitnodiging"]


def _parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=default_policy)


def _deliver(world: World, folder: Path, now: datetime = START) -> dict[str, EmailMessage]:
    """Send what is due through the FileMailer; every .eml in ``folder`` by Message-ID."""
    deliver_pending(world.app, FileMailer(folder, SENDER), now)
    return {m["Message-ID"]: m for m in (_parse(p.read_bytes()) for p in folder.glob("*.eml"))}


def _calendar_part(message: EmailMessage) -> EmailMessage:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in message.walk()]
    return parts[0]


def _event(message: EmailMessage) -> tuple[icalendar.Calendar, icalendar.Event]:
    part = _calendar_part(message)
    cal = icalendar.Calendar.from_ical(part.get_content())
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return cal, events[0]


def _sent(world: World, folder: Path, now: datetime = START) -> list[tuple[EmailMessage, Any]]:
    """(message, VEVENT) for each invitation row, in outbox order (rows not sent are skipped)."""
    messages = _deliver(world, folder, now)
    return [(messages[r.message_id], _event(messages[r.message_id])[1]) for r in _rows(world)
            if r.message_id in messages]


def _utc(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=UTC)


# --- planning the intake --------------------------------------------------------------------------

def test_planning_the_intake_invites_the_coach_at_nine_dutch_time(world: World,
                                                                   tmp_path: Path) -> None:
    case = _open(world)
    fire(world.app, world.coach, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2026-11-25"})
    [row] = _rows(world)
    assert (row.to_address, row.recipient_role, row.status) == ("coach@example.org", "coach",
                                                                 "pending")
    messages = _deliver(world, tmp_path / "mail")
    message = messages[row.message_id]
    assert message["To"] == "coach@example.org" and message["From"] == SENDER
    assert message["Subject"] == "Uitnodiging voor een afspraak"
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == [
        "text/plain", "text/html", "text/calendar"]
    part = _calendar_part(message)
    assert part.get_param("method") == "REQUEST"
    assert "U bent uitgenodigd voor een afspraak" in message.get_body(("plain",)).get_content()

    cal, event = _event(message)
    assert str(cal["METHOD"]) == "REQUEST" and "kovflow" in str(cal["PRODID"])
    uid = str(event["UID"])
    assert UID_PATTERN.fullmatch(uid) and uid == row.context["invite"]["uid"]
    assert int(event["SEQUENCE"]) == 0
    # Wednesday 25 November 2026, 09:00 in Amsterdam (CET, +01:00) is 08:00 UTC.
    assert event.decoded("DTSTART") == _utc(2026, 11, 25, 8)
    assert event.decoded("DTEND") == _utc(2026, 11, 25, 9)
    assert event.decoded("DTSTAMP") == START
    assert str(event["SUMMARY"]) == SUMMARY == "Afspraak (kovflow)"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["DESCRIPTION"]) == f"Zie kovflow voor details: {LINK}"
    assert str(event["ORGANIZER"]) == f"mailto:{SENDER}"
    assert str(event["ATTENDEE"]) == "mailto:coach@example.org"
    assert "LOCATION" not in event and "CN" not in event["ATTENDEE"].params


@pytest.mark.parametrize(("day", "hour_utc"), [
    ("2027-03-26", 8),  # Friday before the clocks go forward (28 March 2027): CET
    ("2027-03-29", 7),  # Monday after: CEST, 09:00 local is 07:00 UTC
    ("2027-10-29", 7),  # Friday before the clocks go back (31 October 2027): CEST
    ("2027-11-01", 8),  # Monday after: CET again
])
def test_the_start_follows_dutch_summer_time(world: World, tmp_path: Path, day: str,
                                            hour_utc: int) -> None:
    case = _open(world)
    fire(world.app, world.coach, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": day})
    [(_, event)] = _sent(world, tmp_path / "mail")
    y, m, d = (int(p) for p in day.split("-"))
    assert event.decoded("DTSTART") == _utc(y, m, d, hour_utc)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=60)


def test_start_moment_reads_dates_and_moments() -> None:
    assert start_moment("2026-07-01") == _utc(2026, 7, 1, 7)
    assert start_moment(date(2026, 12, 1)) == _utc(2026, 12, 1, 8)
    assert start_moment("2026-12-01T09:30:00+00:00") == _utc(2026, 12, 1, 9, 30)  # datetime field
    assert start_moment("2026-12-01T10:30") == _utc(2026, 12, 1, 9, 30)  # naive: Amsterdam
    with pytest.raises(InvitationError):
        start_moment("1 december")


# --- moving and cancelling ------------------------------------------------------------------------

def _evaluatie(world: World, case: str) -> None:
    start_route(world.app, world.coach, "evaluatie", case=case,
                data={"datum": "2026-12-07", "deelnemers": "ouders; coach"})


def _houd(world: World, case: str) -> None:
    fire(world.app, world.coach, "evaluatie", "houd_gesprek", case=case, data={
        "resultaten": "taal: deels", "aantekeningen": "-", "verslag_akkoord": "ja"})


def test_a_new_date_before_the_gesprek_moves_it_same_uid_higher_sequence(
        world: World, tmp_path: Path) -> None:
    case = _open(world)
    _evaluatie(world, case)
    _houd(world, case)
    fire(world.app, world.coach, "evaluatie", "vervolg", case=case, data={"datum": "2027-01-11"})
    first = _sent(world, tmp_path / "mail")
    assert sorted(m["To"] for m, _ in first) == ["coach@example.org", "wijkcoach@example.org"]
    uid = str(first[0][1]["UID"])
    assert {str(e["UID"]) for _, e in first} == {uid}
    assert {int(e["SEQUENCE"]) for _, e in first} == {0}
    assert {e.decoded("DTSTART") for _, e in first} == {_utc(2027, 1, 11, 8)}

    # The gesprek is recorded and re-planned before 11 January: the same appointment moves.
    _houd(world, case)
    fire(world.app, world.coach, "evaluatie", "vervolg", case=case, data={"datum": "2027-01-18"})
    moved = _sent(world, tmp_path / "mail")[2:]
    assert len(moved) == 2
    for message, event in moved:
        assert message["Subject"] == "Bijgewerkte uitnodiging voor een afspraak"
        assert _calendar_part(message).get_param("method") == "REQUEST"
        assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1
        assert event.decoded("DTSTART") == _utc(2027, 1, 18, 8)
        assert str(event["STATUS"]) == "CONFIRMED"


def test_closing_the_cycle_while_planned_cancels_with_the_same_uid(world: World,
                                                                   tmp_path: Path) -> None:
    case = _open(world)
    _evaluatie(world, case)
    _houd(world, case)
    fire(world.app, world.coach, "evaluatie", "vervolg", case=case, data={"datum": "2027-01-11"})
    fire(world.app, world.coach, "evaluatie", "afsluiten", case=case,
         data={"reden": "traject gestopt"})
    sent = _sent(world, tmp_path / "mail")
    requests, cancels = sent[:2], sent[2:]
    assert len(cancels) == 2
    uid = str(requests[0][1]["UID"])
    assert sorted(m["To"] for m, _ in cancels) == ["coach@example.org", "wijkcoach@example.org"]
    for message, event in cancels:
        assert message["Subject"] == "Afspraak gaat niet door"
        assert _calendar_part(message).get_param("method") == "CANCEL"
        cal, _ = _event(message)
        assert str(cal["METHOD"]) == "CANCEL"
        assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1
        assert str(event["STATUS"]) == "CANCELLED"
        assert event.decoded("DTSTART") == _utc(2027, 1, 11, 8)


def test_a_gesprek_that_took_place_is_neither_cancelled_nor_moved(world: World,
                                                                  clock: FixedClock) -> None:
    case = _open(world)
    _evaluatie(world, case)
    _houd(world, case)
    fire(world.app, world.coach, "evaluatie", "vervolg", case=case, data={"datum": "2027-01-11"})
    [first, _] = _rows(world)
    clock.set(datetime(2027, 1, 11, 11, 0, tzinfo=UTC))  # the gesprek was at 09:00
    _houd(world, case)
    fire(world.app, world.coach, "evaluatie", "vervolg", case=case, data={})  # default: 8 weeks
    later = _rows(world)[2:]
    assert len(later) == 2
    invite = later[0].context["invite"]
    # A new appointment: a UID of its own, so the gesprek that was held stays in the calendar.
    assert invite["uid"] != first.context["invite"]["uid"]
    assert invite["uid"] == uid_for(int(invite["uid"].split("-")[0]), "datum", 1)
    assert (invite["sequence"], invite["method"], invite["start"]) == (
        0, "REQUEST", "2027-03-08T08:00:00Z")
    clock.set(datetime(2027, 3, 8, 12, 0, tzinfo=UTC))
    _houd(world, case)
    fire(world.app, world.coach, "evaluatie", "afsluiten", case=case, data={"reden": "klaar"})
    assert len(_rows(world)) == 4  # held, then closed: nothing to cancel


def test_cancelling_the_referral_cancels_the_planned_intake(world: World, tmp_path: Path) -> None:
    case = _open(world)
    fire(world.app, world.coach, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2026-11-30"})
    fire(world.app, world.coach, "plaatsing", "annuleer", case=case, data={"reden": "verhuisd"})
    [(request_mail, request), (cancel_mail, cancel)] = _sent(world, tmp_path / "mail")
    assert cancel_mail["To"] == request_mail["To"] == "coach@example.org"
    assert str(cancel["UID"]) == str(request["UID"])
    assert (int(request["SEQUENCE"]), int(cancel["SEQUENCE"])) == (0, 1)
    assert _calendar_part(cancel_mail).get_param("method") == "CANCEL"


def test_a_cancel_without_an_invitation_sends_nothing(world: World) -> None:
    case = _open(world)
    _evaluatie(world, case)  # started by hand: its first date came without an invitation
    fire(world.app, world.coach, "evaluatie", "afsluiten", case=case, data={"reden": "x"})
    assert _rows(world) == []


def test_who_is_no_longer_invited_gets_a_cancellation(world: World, tmp_path: Path) -> None:
    case = _open(world)
    _evaluatie(world, case)
    _houd(world, case)
    fire(world.app, world.coach, "evaluatie", "vervolg", case=case, data={"datum": "2027-01-11"})
    # The case gets its own wijkcoach: the location's wijkcoach no longer takes part.
    add_user(world.app, world.operator, "wijkcoach2", ["wijkcoach"],
             email="wijkcoach2@example.org", organisation="Gemeente", location="ZON")
    add_participant(world.app, world.coach, case, "wijkcoach", username="wijkcoach2")
    _houd(world, case)
    fire(world.app, world.coach, "evaluatie", "vervolg", case=case, data={"datum": "2027-01-25"})
    sent = {(m["To"], _calendar_part(m).get_param("method")): e
            for m, e in _sent(world, tmp_path / "mail")[2:]}
    assert set(sent) == {("coach@example.org", "REQUEST"), ("wijkcoach2@example.org", "REQUEST"),
                         ("wijkcoach@example.org", "CANCEL")}
    assert {int(e["SEQUENCE"]) for e in sent.values()} == {1}
    assert len({str(e["UID"]) for e in sent.values()}) == 1
    assert sent[("wijkcoach@example.org", "CANCEL")].decoded("DTSTART") == _utc(2027, 1, 11, 8)


def test_one_invitation_per_person_whatever_roles_they_hold(world: World) -> None:
    add_user(world.app, world.operator, "duo", ["coach", "wijkcoach"], email="duo@example.org",
             location="ZON")
    case = _open(world)
    add_participant(world.app, world.coach, case, "coach", username="duo")
    add_participant(world.app, world.coach, case, "wijkcoach", username="duo")
    _evaluatie(world, case)
    _houd(world, case)
    fire(world.app, world.coach, "evaluatie", "vervolg", case=case, data={"datum": "2027-01-11"})
    # The coach who opened the case is a participant too; duo holds both roles, gets one.
    assert sorted(r.to_address for r in _rows(world)) == ["coach@example.org", "duo@example.org"]


def test_the_location_rollout_invites_and_moves_the_afstemmingsgesprek(world: World,
                                                                       tmp_path: Path) -> None:
    app, loc = world.app, world.location
    start_route(app, world.manager, "locatie_uitrol", location=loc)
    fire(app, world.manager, "locatie_uitrol", "team_geinformeerd", location=loc,
         data={"team_geinformeerd_op": "2026-11-23"})
    fire(app, world.manager, "locatie_uitrol", "coach_geinformeerd", location=loc,
         data={"coach_geinformeerd_op": "2026-11-23"})
    fire(app, world.coach, "locatie_uitrol", "afstemmingsgesprek_gepland", location=loc,
         data={"locatiewijkcoach": "wijkcoach", "gesprek_datum": "2026-12-10"})
    planned = _rows(world)
    assert sorted(r.to_address for r in planned) == ["coach@example.org", "wijkcoach@example.org"]
    assert all(r.case_id is None for r in planned)
    fire(app, world.coach, "locatie_uitrol", "deelnemers_afgestemd", location=loc,
         data={"deelnemers": "manager; coach; wijkcoach", "gesprek_datum": "2026-12-17"})
    sent = _sent(world, tmp_path / "mail")
    assert len(sent) == 4
    assert len({str(e["UID"]) for _, e in sent}) == 1
    assert [int(e["SEQUENCE"]) for _, e in sent] == [0, 0, 1, 1]
    assert {e.decoded("DTSTART") for _, e in sent[2:]} == {_utc(2026, 12, 17, 8)}


def test_leaving_an_optional_date_empty_moves_nothing(world: World) -> None:
    app, loc = world.app, world.location
    start_route(app, world.manager, "locatie_uitrol", location=loc)
    for trigger, data in (("team_geinformeerd", {"team_geinformeerd_op": "2026-11-23"}),
                          ("coach_geinformeerd", {"coach_geinformeerd_op": "2026-11-23"})):
        fire(app, world.manager, "locatie_uitrol", trigger, location=loc, data=data)
    fire(app, world.coach, "locatie_uitrol", "afstemmingsgesprek_gepland", location=loc,
         data={"locatiewijkcoach": "wijkcoach", "gesprek_datum": "2026-12-10"})
    fire(app, world.coach, "locatie_uitrol", "deelnemers_afgestemd", location=loc,
         data={"deelnemers": "manager; coach"})
    assert len(_rows(world)) == 2


def test_nobody_to_invite_is_an_outbox_row_without_recipient(world: World) -> None:
    app = world.app
    add_location(app, world.operator, "LEEG", "Leeg", "Noord", "Kinderopvang Arnhem")
    add_user(app, world.operator, "mgr", ["manager"], email="mgr@example.org", location="LEEG")
    manager = resolve_actor(app, "mgr")
    case = open_case(app, manager, first_name="Sam", initial="J", birth_date=date(2024, 5, 1),
                     location="LEEG").case_number
    fire(app, manager, "plaatsing", "plan_intake", case=case, data={"intake_datum": "2026-11-25"})
    [row] = _rows(world)  # no coach on the case nor at the location
    assert (row.status, row.to_address, row.recipient_role) == ("no_recipient", "", "coach")
    assert row.context["invite"]["method"] == "REQUEST"


# --- the context allow-list -------------------------------------------------------------------

def _invite(**changes: Any) -> dict[str, Any]:
    return {"uid": "12-abc0123456@kovflow", "sequence": 0, "method": "REQUEST",
            "start": "2026-11-25T08:00:00Z", "minutes": 60, **changes}


@pytest.mark.parametrize("bad", [
    _invite(uid="Zwaantje-1@kovflow"),
    _invite(uid="12-zwaantje@kovflow"),
    _invite(uid="12-abc0123456_0@kovflow"),
    _invite(uid="KOV-00001@kovflow"),
    _invite(uid="12-intake@elders.example"),
    _invite(sequence=True),
    _invite(sequence="1"),
    _invite(sequence=-1),
    _invite(method="PUBLISH"),
    _invite(start="2026-11-25T09:00:00+01:00"),
    _invite(start="2026-11-25"),
    _invite(start="Zwaantje"),
    _invite(minutes=0),
    _invite(minutes=60.0),
    _invite(location="De Zonnebloem"),
    {k: v for k, v in _invite().items() if k != "minutes"},
    "12-abc0123456@kovflow",
])
def test_a_stored_invitation_outside_the_allow_list_is_refused(bad: Any) -> None:
    with pytest.raises(RenderError):
        MailContext.from_stored({"soort": "uitnodiging", "link": LINK, "invite": bad},
                                "http://127.0.0.1:8000")


def test_an_invitation_belongs_to_soort_uitnodiging_only() -> None:
    base = "http://127.0.0.1:8000"
    with pytest.raises(RenderError, match="uitnodiging needs invite"):
        MailContext.from_stored({"soort": "uitnodiging", "link": LINK}, base)
    with pytest.raises(RenderError, match="invite belongs"):
        MailContext.from_stored({"soort": "melding", "link": LINK, "invite": _invite()}, base)
    with pytest.raises(RenderError):
        MailContext("uitnodiging", link_for(base), invite=_invite())  # type: ignore[arg-type]
    ctx = MailContext.from_stored({"soort": "uitnodiging", "link": LINK, "invite": _invite()},
                                  base)
    assert ctx.invite == Invitation("12-abc0123456@kovflow", 0, "REQUEST",
                                    _utc(2026, 11, 25, 8), 60)
    assert ctx.invite is not None and ctx.invite.to_context() == _invite()


@pytest.mark.parametrize(("method", "sequence", "subject"), [
    ("REQUEST", 0, "Uitnodiging voor een afspraak"),
    ("REQUEST", 3, "Bijgewerkte uitnodiging voor een afspraak"),
    ("CANCEL", 1, "Afspraak gaat niet door"),
])
def test_the_mail_says_new_changed_or_cancelled_and_nothing_more(method: str, sequence: int,
                                                                 subject: str) -> None:
    invite = Invitation("7-abc0123456@kovflow", sequence, method, _utc(2026, 11, 25, 8), 60)
    mail = render("uitnodiging", MailContext("uitnodiging", LINK, invite=invite))
    assert mail.subject == subject
    assert LINK in mail.text and f'href="{LINK}"' in mail.html
    assert "2026" not in mail.text + mail.html + mail.subject  # the time is in the calendar part


# --- no personal data, through a real SMTP server --------------------------------------------

@pytest.fixture
def smtp(server: Server) -> tuple[Relay, int]:
    return server.relay, server.port


def _unfolded(ics: str) -> str:
    return re.sub(r"\r?\n[ \t]", "", ics)


def _everything(message: EmailMessage) -> str:
    """Every header and every decoded part (calendar lines unfolded), minus the recipient's own
    address: To and ATTENDEE name the person the message is for, which is no leak."""
    texts = [f"{k}: {v}" for k, v in message.items()]
    for part in message.walk():
        if not part.is_multipart():
            content = part.get_content()
            texts.append(_unfolded(content) if part.get_content_type() == "text/calendar"
                         else content)
    return "\n".join(texts).replace(str(message["To"]), "<recipient>")


def test_no_personal_data_in_any_invitation_sent_over_smtp(world: World,
                                                           smtp: tuple[Relay, int]) -> None:
    relay, port = smtp
    app = world.app
    case = _open(world, "Zwaantje", date(2024, 2, 29))
    add_participant(app, world.coach, case, "wijkcoach", username="wijkcoach")
    fire(app, world.coach, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2026-11-25"})
    fire(app, world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    fire(app, world.coach, "wijkcoach", "wijkcoach_nodig", case=case)
    fire(app, world.coach, "wijkcoach", "ouders_stemmen_in", case=case, data={
        "datum": "2026-12-02", "plaats": "thuis", "collega_kinderopvang": "pm"})
    fire(app, world.coach, "wijkcoach", "kennismaking_gehouden", case=case)
    fire(app, world.wijkcoach, "wijkcoach", "plan_eerste_gesprek", case=case,
         data={"datum": "2026-12-09"})
    fire(app, world.wijkcoach, "wijkcoach", "sluit_af", case=case, data={"reden": "verhuisd"})
    mailer = SmtpMailer(host="127.0.0.1", port=port, sender=SENDER, timeout=5)
    report = deliver_pending(app, mailer, START)
    assert report.dead == 0 and report.retried == 0

    messages = [_parse(e.content) for e in relay.envelopes]
    invitations = [m for m in messages
                   if any(p.get_content_type() == "text/calendar" for p in m.walk())]
    methods = sorted(_calendar_part(m).get_param("method") for m in invitations)
    # intake (coach), kennismaking moved to the eerste gesprek (coach, wijkcoach), cancelled.
    assert methods == ["CANCEL", "CANCEL", "REQUEST", "REQUEST", "REQUEST", "REQUEST", "REQUEST"]
    with app.engine.connect() as conn:
        case_row = repo.case_by_number(conn, case)
        assert case_row is not None
        loc = repo.location_by_code(conn, world.location)
        assert loc is not None
        instances = repo.case_instances(conn, case_row.id)
    specs = [app.catalog.get(r.route_id, r.route_version) for r in instances]
    route_words = {spec.id for spec in app.catalog}
    for spec in specs:
        route_words |= set(spec.states) | {t.trigger for t in spec.transitions}
        route_words |= {f.name for t in spec.transitions for f in t.fields}
        route_words |= {s.label for s in spec.states.values()}
    canaries = ["Zwaantje", case, case_row.case_number, "2024-02-29", "29-02-2024", "20240229",
                "29 februari", "29 feb", loc.name, "Zonnebloem", "Presikhaaf",
                "Kinderopvang Arnhem", "Bijen", "intake", "kennismaking", "eerste gesprek",
                "voortgangsgesprek", "afstemmingsgesprek", "thuis", "verhuisd", "LOCATION",
                *route_words]
    for message in invitations:
        blob = _everything(message)
        for canary in canaries:
            assert canary.lower() not in blob.lower(), (canary, message["Subject"])
        assert set(re.findall(r"https?://[^\s\"'<>]+", blob)) == {LINK}
        _, event = _event(message)
        assert str(event["ATTENDEE"]) == f"mailto:{message['To']}"
        assert str(event["SUMMARY"]) == "Afspraak (kovflow)"
        assert set(event) <= {"UID", "SEQUENCE", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY",
                              "DESCRIPTION", "STATUS", "TRANSP", "ORGANIZER", "ATTENDEE"}
