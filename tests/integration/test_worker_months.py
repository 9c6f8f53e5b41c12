"""Months of simulated time: the worker fires every reminder and escalation once, on the right
werkdag (Dutch holidays skipped, the wall clock kept across the DST switch), to the right people,
including the NB-2 redirection to the voogd.

The worker runs in hourly steps, partly in-process (``run_until``) and partly through the CLI
(``kovflow worker --until``), on the same database; both tick on whole hours, so a deadline due
at 09:00 fires exactly at 09:00 Amsterdam time.
"""

from __future__ import annotations

import email
import shutil
from datetime import date, datetime, timedelta
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from kovflow import services
from kovflow.cli import app as cli
from kovflow.clock import FixedClock
from kovflow.notify.mailers import MemoryMailer
from kovflow.resources import workflows_dir
from kovflow.routes.catalog import load_catalog
from kovflow.scheduling.sweep import ESCALATION_TITLE
from kovflow.scheduling.worker import run_until
from kovflow.services import App, add_participant, add_user, fire, open_case
from kovflow.store import repo
from tests.conftest import World, join_team

AMS = ZoneInfo("Europe/Amsterdam")
PLAATS = {"groep": "Bijen", "startdatum": "2026-12-01", "mentor": "pm", "vve_indicatie": "nee"}
HELD = {"resultaten": "doel 1: deels", "aantekeningen": "besproken", "verslag_akkoord": "ja"}
HERINNERING = "Herinnering: er wacht een stap op u"
ESCALATIE = "Er ligt een stap stil"


def at(y: int, m: int, d: int, hour: int = 9) -> datetime:
    """A moment on the Amsterdam wall clock (CET in winter, CEST from 28 March 2027)."""
    return datetime(y, m, d, hour, tzinfo=AMS)


def _clock(world: World) -> FixedClock:
    clock = world.app.clock
    assert isinstance(clock, FixedClock)
    return clock


def _work(world: World, mailer: MemoryMailer, until: datetime) -> None:
    """The worker in-process, in hourly steps, from the app's clock to ``until``."""
    run_until(world.app, mailer, until, step=timedelta(hours=1), digests=False)


def _cli_worker(db_url: str, tmp_path: Path, now: datetime, until: datetime,
                monkeypatch: pytest.MonkeyPatch) -> str:
    """``kovflow worker --until`` on the same database; mail goes to a folder (.eml files)."""
    config = tmp_path / "kovflow.toml"
    config.write_text(f'[mail]\nbackend = "file"\nfolder = "{tmp_path / "mail"}"\n',
                      encoding="utf-8")
    built: list[App] = []
    original = services.build_app

    def build(*args: Any, **kwargs: Any) -> App:
        built.append(original(*args, **kwargs))
        return built[-1]

    # The command exits without closing its connection pool; in a test process the pool would
    # outlive the test (an unclosed PostgreSQL connection), so close it here.
    with monkeypatch.context() as patch:
        patch.setattr(services, "build_app", build)
        result = CliRunner().invoke(cli, ["--db", db_url, "--config", str(config),
                                          "--now", now.isoformat(), "worker",
                                          "--until", until.isoformat(), "--step", "1"])
    for kapp in built:
        kapp.engine.dispose()
    assert result.exit_code == 0, result.output
    return result.output


def _case_id(world: World, case: str) -> int:
    with world.app.engine.connect() as conn:
        row = repo.case_by_number(conn, case)
        assert row is not None
        return int(row.id)


def _deadlines(world: World, case: str, route: str) -> list[tuple[str, str, datetime, str]]:
    """(rule, role on the row, due moment in Amsterdam, outcome) of the route's deadlines."""
    found = []
    with world.app.engine.connect() as conn:
        for inst in repo.case_instances(conn, _case_id(world, case)):
            if inst.route_id != route:
                continue
            for d in repo.instance_deadlines(conn, inst.id):
                if d.fired_at is not None:
                    # Fired exactly at its due moment: the hourly ticks hit 09:00 local.
                    assert d.fired_at == d.due_at, d.rule
                    outcome = "fired"
                else:
                    outcome = "cancelled" if d.cancelled_at is not None else "live"
                found.append((d.rule, d.role, d.due_at.astimezone(AMS), outcome))
    return sorted(found, key=lambda r: (r[2], r[0]))


def _reminders(world: World, case: str) -> list[Any]:
    """The case's outbox rows written by the sweep (reminders and escalations)."""
    with world.app.engine.connect() as conn:
        rows = repo.outbox_rows(conn, _case_id(world, case))
    return [r for r in rows if r.context.get("soort") in ("herinnering", "escalatie")]


def _summary(rows: list[Any]) -> list[tuple[datetime, str, str, str, str]]:
    return sorted((r.created_at.astimezone(AMS), r.template, r.recipient_role, r.to_address,
                   r.status) for r in rows)


def _eml(folder: Path) -> dict[str, tuple[str, datetime, str]]:
    """Message-ID -> (To, Date in Amsterdam, Subject) of the .eml files the CLI's mailer wrote."""
    found = {}
    for path in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes())
        subject = str(make_header(decode_header(msg["Subject"])))
        found[msg["Message-ID"]] = (msg["To"], parsedate_to_datetime(msg["Date"]).astimezone(AMS),
                                    subject)
    return found


def _to_borging(world: World, mailer: MemoryMailer, first_voortgangsgesprek: str) -> str:
    """Place a child, involve a wijkcoach (scenario 1) and hold the eerste gesprek on Monday
    30 November 2026: that starts evaluatie in 'gepland' with the first voortgangsgesprek."""
    app, coach, wijkcoach = world.app, world.coach, world.wijkcoach
    case = open_case(app, coach, first_name="Sam", initial="J", birth_date=date(2024, 5, 1),
                     location=world.location).case_number
    join_team(app, case)  # the wijkcoach acts on the case as its participant
    fire(app, coach, "plaatsing", "plaats", case=case, data=PLAATS)
    fire(app, coach, "wijkcoach", "wijkcoach_nodig", case=case)
    fire(app, coach, "wijkcoach", "ouders_stemmen_in", case=case, data={
        "datum": "2026-11-26", "plaats": "thuis", "collega_kinderopvang": "pm"})
    _work(world, mailer, at(2026, 11, 26, 11))
    fire(app, coach, "wijkcoach", "kennismaking_gehouden", case=case)
    fire(app, wijkcoach, "wijkcoach", "plan_eerste_gesprek", case=case,
         data={"datum": "2026-11-30"})
    _work(world, mailer, at(2026, 11, 30, 11))
    fire(app, wijkcoach, "wijkcoach", "voer_eerste_gesprek", case=case, data={
        "doelen": "doel 1", "acties": "wijkcoach: gesprek met ouders",
        "datum_voortgangsgesprek": first_voortgangsgesprek,
        "deelnemers_voortgangsgesprek": "ouders; coach; wijkcoach"})
    return case


def test_evaluatie_over_five_months_with_holidays_dst_and_the_voogd(
        world: World, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, coach, wijkcoach = world.app, world.coach, world.wijkcoach
    clock = _clock(world)
    mailer = MemoryMailer()
    case = _to_borging(world, mailer, "2027-01-04")

    # --- cycle 1: voortgangsgesprek Monday 4 January 2027, held late (13 January) -------------
    # herinnering 5 werkdagen before 4 Jan 09:00: 31, 30, 29, 28 Dec, then (Fri 1 Jan New
    # Year, Fri 25/Sat 26 Dec Christmas and the weekends skipped) Thursday 24 December 2026.
    # gesprek_verstreken 1 werkdag after 4 Jan: Tuesday 5 January; its escalation to the coach
    # 5 werkdagen later: Tuesday 12 January. All on the wall clock at 09:00 CET.
    _work(world, mailer, at(2027, 1, 13, 10))
    cycle1 = [
        ("herinnering_coach", "coach", at(2026, 12, 24), "fired"),
        ("herinnering_wijkcoach", "wijkcoach", at(2026, 12, 24), "fired"),
        ("gesprek_verstreken_coach", "coach", at(2027, 1, 5), "fired"),
        ("gesprek_verstreken_wijkcoach", "wijkcoach", at(2027, 1, 5), "fired"),
        ("gesprek_verstreken_coach__escalatie", "coach", at(2027, 1, 12), "fired"),
    ]
    assert _deadlines(world, case, "evaluatie") == cycle1
    sent1 = [
        (at(2026, 12, 24), "herinnering", "coach", "coach@example.org", "sent"),
        (at(2026, 12, 24), "herinnering", "wijkcoach", "wijkcoach@example.org", "sent"),
        (at(2027, 1, 5), "herinnering", "coach", "coach@example.org", "sent"),
        (at(2027, 1, 5), "herinnering", "wijkcoach", "wijkcoach@example.org", "sent"),
        (at(2027, 1, 12), "escalatie", "coach", "coach@example.org", "sent"),
    ]
    assert _summary(_reminders(world, case)) == sent1

    # Held on 13 January; the next one is planned on Tuesday 30 March 2027, two days after
    # the switch to summer time (Sunday 28 March) and the day after Easter Monday.
    fire(app, coach, "evaluatie", "houd_gesprek", case=case, data=HELD)
    fire(app, coach, "evaluatie", "vervolg", case=case, data={"datum": "2027-03-30"})
    # NB-2 after the reminders were set: the redirection is decided when a reminder fires.
    # The voogd has no account: a participant by name only.
    fire(app, wijkcoach, "wijkcoach", "voogd_betrokken", case=case,
         data={"voogd_contact": "gezinsvoogd, Jeugdbescherming Gelderland"})
    add_participant(app, coach, case, "voogd", name="gezinsvoogd",
                    organisation="Jeugdbescherming Gelderland")

    # --- cycle 2 through the CLI: 13 January to 8 April 2027 -----------------------------------
    # herinnering 5 werkdagen before Tue 30 Mar: Mon 29 Mar (Easter Monday), Fri 26 Mar (Good
    # Friday) and the weekend skipped: 25, 24, 23, 22, 19 -> Friday 19 March, 09:00 CET
    # (08:00 UTC). gesprek_verstreken: Wednesday 31 March 09:00 CEST (07:00 UTC): the same
    # local hour after the DST switch. Escalation 5 werkdagen later: Wednesday 7 April.
    # The reminders meant for the wijkcoach go to the voogd, who has no address.
    output = _cli_worker(db_url, tmp_path, clock.now(), at(2027, 4, 8, 10), monkeypatch)
    assert "5 deadlines fired, 1 escalations" in output
    clock.set(at(2027, 4, 8, 10))
    cycle2 = [
        ("herinnering_coach", "coach", at(2027, 3, 19), "fired"),
        ("herinnering_wijkcoach", "wijkcoach", at(2027, 3, 19), "fired"),
        ("gesprek_verstreken_coach", "coach", at(2027, 3, 31), "fired"),
        ("gesprek_verstreken_wijkcoach", "wijkcoach", at(2027, 3, 31), "fired"),
        ("gesprek_verstreken_coach__escalatie", "coach", at(2027, 4, 7), "fired"),
    ]
    assert _deadlines(world, case, "evaluatie") == cycle1 + cycle2
    assert at(2027, 3, 19).utcoffset() == timedelta(hours=1)
    assert at(2027, 3, 31).utcoffset() == timedelta(hours=2)
    no_address = "nobody holds role voogd for this case"
    sent2 = [
        (at(2027, 3, 19), "herinnering", "coach", "coach@example.org", "sent"),
        (at(2027, 3, 19), "herinnering", "voogd", "", "no_recipient"),
        (at(2027, 3, 31), "herinnering", "coach", "coach@example.org", "sent"),
        (at(2027, 3, 31), "herinnering", "voogd", "", "no_recipient"),
        (at(2027, 4, 7), "escalatie", "coach", "coach@example.org", "sent"),
    ]
    rows = _reminders(world, case)
    assert _summary(rows) == sent1 + sent2
    assert {r.last_error for r in rows if r.status == "no_recipient"} == {no_address}

    # --- cycle 3: the voogd gets an account; Monday 3 May 2027, held on the day -------------
    fire(app, coach, "evaluatie", "houd_gesprek", case=case, data=HELD)
    add_user(app, world.operator, "voogd", ["voogd"], email="voogd@example.org",
             organisation="Jeugdbescherming Gelderland")  # no location: only via the case
    add_participant(app, coach, case, "voogd", username="voogd")
    fire(app, coach, "evaluatie", "vervolg", case=case, data={"datum": "2027-05-03"})
    # herinnering 5 werkdagen before Mon 3 May: 30, 29, 28 Apr, (Tue 27 Apr Koningsdag), 26,
    # 23 -> Friday 23 April 2027. gesprek_verstreken would be Tuesday 4 May and its escalation
    # Wednesday 12 May (5 May is no holiday in 2027, Thursday 6 May is Ascension Day), but the
    # gesprek is held on 3 May: both are cancelled and never fire.
    _work(world, mailer, at(2027, 5, 3, 11))
    fire(app, coach, "evaluatie", "houd_gesprek", case=case, data=HELD)
    fire(app, wijkcoach, "evaluatie", "afschalen", case=case,
         data={"route_terug": "regulier via de mentor"})
    _work(world, mailer, at(2027, 5, 31, 9))
    cycle3 = [
        ("herinnering_coach", "coach", at(2027, 4, 23), "fired"),
        ("herinnering_wijkcoach", "wijkcoach", at(2027, 4, 23), "fired"),
        ("gesprek_verstreken_coach", "coach", at(2027, 5, 4), "cancelled"),
        ("gesprek_verstreken_wijkcoach", "wijkcoach", at(2027, 5, 4), "cancelled"),
        ("gesprek_verstreken_coach__escalatie", "coach", at(2027, 5, 12), "cancelled"),
    ]
    assert _deadlines(world, case, "evaluatie") == cycle1 + cycle2 + cycle3
    sent3 = [
        (at(2027, 4, 23), "herinnering", "coach", "coach@example.org", "sent"),
        (at(2027, 4, 23), "herinnering", "voogd", "voogd@example.org", "sent"),
    ]
    rows = _reminders(world, case)
    assert _summary(rows) == sent1 + sent2 + sent3
    # One message per fired deadline: 12 fired, 12 rows; none for a cancelled one.
    assert len(rows) == sum(1 for d in _deadlines(world, case, "evaluatie") if d[3] == "fired")

    # Each sent row reached its address exactly once, at its own tick, in-process or via CLI.
    delivered: dict[str, list[tuple[str, datetime, str]]] = {}
    for mail in mailer.sent:
        delivered.setdefault(mail.message_id, []).append(
            (mail.to, mail.date.astimezone(AMS), mail.subject))
    for message_id, seen in _eml(tmp_path / "mail").items():
        delivered.setdefault(message_id, []).append(seen)
    for row in rows:
        if row.status == "no_recipient":
            assert row.message_id not in delivered
            continue
        subject = ESCALATIE if row.template == "escalatie" else HERINNERING
        assert delivered[row.message_id] == [
            (row.to_address, row.created_at.astimezone(AMS), subject)]
        assert row.sent_at == row.created_at
    # The CLI's ticks sent the reminders of cycle 2 (to the coach: the voogd had no address).
    assert sorted({(to, moment) for to, moment, subject in _eml(tmp_path / "mail").values()
                   if subject in (HERINNERING, ESCALATIE)}) == [
        ("coach@example.org", at(2027, 3, 19)), ("coach@example.org", at(2027, 3, 31)),
        ("coach@example.org", at(2027, 4, 7))]

    # The escalations opened one task each for the coach, in the state they escalated.
    with app.engine.connect() as conn:
        [evaluatie] = [i for i in repo.case_instances(conn, _case_id(world, case))
                       if i.route_id == "evaluatie"]
        escalations = [(t.role, t.opened_at.astimezone(AMS)) for t in
                       repo.instance_tasks(conn, evaluatie.id) if t.title == ESCALATION_TITLE]
    assert escalations == [("coach", at(2027, 1, 12)), ("coach", at(2027, 4, 7))]


def test_a_recurring_wijkcoach_reminder_follows_the_voogd_across_dst(world: World) -> None:
    """opnieuw_vragen repeats every 6 weeks on the wall clock (weeks are calendar days: it
    fires on Easter Monday too) and goes to the voogd while voogd_betrokken is recorded."""
    app, coach = world.app, world.coach
    mailer = MemoryMailer()
    case = open_case(app, coach, first_name="Noor", initial="B", birth_date=date(2023, 9, 9),
                     location=world.location).case_number
    join_team(app, case)  # the wijkcoach acts on the case as its participant
    fire(app, coach, "plaatsing", "plaats", case=case, data=PLAATS)
    fire(app, coach, "wijkcoach", "wijkcoach_betrokken", case=case)
    fire(app, coach, "wijkcoach", "toestemming_geweigerd", case=case)  # Mon 23 Nov 09:00
    # Turns 6 weeks apart from 23 November 2026 09:00: 4 Jan, 15 Feb, 29 Mar (the day after
    # the DST switch, still 09:00 local, and Easter Monday: a weeks cadence ignores holidays),
    # 10 May, 21 Jun.
    _work(world, mailer, at(2027, 2, 1, 10))
    fire(app, coach, "wijkcoach", "voogd_betrokken", case=case,
         data={"voogd_contact": "voogd, Jeugdbescherming"})
    add_participant(app, coach, case, "voogd", name="voogd")
    _work(world, mailer, at(2027, 4, 1, 10))
    fire(app, coach, "wijkcoach", "voogd_niet_meer_betrokken", case=case)
    _work(world, mailer, at(2027, 5, 10, 12))

    with app.engine.connect() as conn:
        [inst] = [i for i in repo.case_instances(conn, _case_id(world, case))
                  if i.route_id == "wijkcoach"]
        turns = [(d.due_at.astimezone(AMS), d.fired_at is not None, d.role)
                 for d in repo.instance_deadlines(conn, inst.id)]
    assert turns == [(at(2027, 1, 4), True, "wijkcoach"), (at(2027, 2, 15), True, "wijkcoach"),
                     (at(2027, 3, 29), True, "wijkcoach"), (at(2027, 5, 10), True, "wijkcoach"),
                     (at(2027, 6, 21), False, "wijkcoach")]
    assert at(2027, 3, 29).utcoffset() == timedelta(hours=2)
    assert _summary(_reminders(world, case)) == [
        (at(2027, 1, 4), "herinnering", "wijkcoach", "wijkcoach@example.org", "sent"),
        (at(2027, 2, 15), "herinnering", "voogd", "", "no_recipient"),
        (at(2027, 3, 29), "herinnering", "voogd", "", "no_recipient"),
        (at(2027, 5, 10), "herinnering", "wijkcoach", "wijkcoach@example.org", "sent"),
    ]
    assert [(m.to, m.date.astimezone(AMS)) for m in mailer.sent
            if m.subject == HERINNERING] == [
        ("wijkcoach@example.org", at(2027, 1, 4)), ("wijkcoach@example.org", at(2027, 5, 10))]


def test_an_escalation_follows_instead_only_when_meant_for_the_replaced_role(
        world: World, tmp_path: Path) -> None:
    """A route whose wijkcoach reminder also escalates to the wijkcoach: under NB-2 both go to
    the voogd. The coach's escalation of the other reminder stays with the coach."""
    folder = tmp_path / "workflows"
    shutil.copytree(workflows_dir(), folder)
    route = folder / "evaluatie" / "v1.toml"
    text = route.read_text(encoding="utf-8")
    marker = 'rule = "gesprek_verstreken_wijkcoach"'
    head, tail = text.split(marker)
    tail = tail.replace('template = "herinnering"\n', 'template = "herinnering"\n'
                        'escalate = { role = "wijkcoach", after = { werkdagen = 2 } }\n', 1)
    route.write_text(head + marker + tail, encoding="utf-8")
    world.app.catalog = load_catalog(folder)  # the same database, the changed route
    mailer = MemoryMailer()
    case = _to_borging(world, mailer, "2026-12-14")
    fire(world.app, world.wijkcoach, "wijkcoach", "voogd_betrokken", case=case,
         data={"voogd_contact": "voogd"})
    add_user(world.app, world.operator, "voogd", ["voogd"], email="voogd@example.org")
    add_participant(world.app, world.coach, case, "voogd", username="voogd")
    # Mon 14 Dec: reminders Mon 7 Dec; verstreken Tue 15 Dec; the coach's escalation
    # 5 werkdagen later (Tue 22 Dec); the wijkcoach's 2 werkdagen later (Thu 17 Dec).
    _work(world, mailer, at(2026, 12, 23, 9))
    assert _summary(_reminders(world, case)) == [
        (at(2026, 12, 7), "herinnering", "coach", "coach@example.org", "sent"),
        (at(2026, 12, 7), "herinnering", "voogd", "voogd@example.org", "sent"),
        (at(2026, 12, 15), "herinnering", "coach", "coach@example.org", "sent"),
        (at(2026, 12, 15), "herinnering", "voogd", "voogd@example.org", "sent"),
        (at(2026, 12, 17), "escalatie", "voogd", "voogd@example.org", "sent"),
        (at(2026, 12, 22), "escalatie", "coach", "coach@example.org", "sent"),
    ]
