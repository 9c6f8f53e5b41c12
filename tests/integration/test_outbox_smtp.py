"""Outbox delivery against a real SMTP server (aiosmtpd on 127.0.0.1), with time injected.

Covers: one connection per batch, 4xx backoff then success, 5xx dead letter and retry, a relay
that is down and comes back, a resend after a crash with the same Message-ID, .eml files, and
that no personal data of a child ever leaves in a message.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from kovflow.config import Settings
from kovflow.errors import ConfigError
from kovflow.notify.mailers import (
    ConsoleMailer,
    FileMailer,
    Mailer,
    OutgoingMail,
    SendResult,
    SmtpMailer,
    make_mailer,
)
from kovflow.notify.outbox import backoff, deliver_pending, list_outbox, retry_dead
from kovflow.scheduling.sweep import sweep_due
from kovflow.scheduling.worker import run_until
from kovflow.services import App, add_participant, fire, open_case
from kovflow.store import repo, worker_repo
from kovflow.store.db import write
from tests.conftest import START, World
from tests.mailtools import Server, parse
from tests.scenarios.steps import PLAATS


def _queue(app: App, n: int, to: str = "coach@example.org") -> list[str]:
    """Outbox rows as a step writes them; returns their Message-IDs."""
    now = app.clock.now()
    ids = [f"<{uuid.uuid4().hex}@kovflow>" for _ in range(n)]
    rows = [{"message_id": mid, "case_id": None, "template": "melding", "recipient_role": "coach",
             "recipient_user_id": None, "to_address": to,
             "context": {"soort": "melding", "link": "http://127.0.0.1:8000/taken"},
             "status": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now,
             "sent_at": None, "last_error": ""} for mid in ids]
    write(app.engine, lambda conn: repo.add_rows(conn, repo.outbox, rows))
    return ids


def _rows(app: App) -> dict[str, Any]:
    with app.engine.connect() as conn:
        return {r.message_id: r for r in repo.outbox_rows(conn)}


def _never_jitter() -> float:
    return 1.0  # the full step: retry moments are exact in the assertions


def test_a_batch_is_delivered_over_one_connection(app: App, server: Server) -> None:
    ids = _queue(app, 5)
    mailer = server.mailer()
    report = deliver_pending(app, mailer, START)
    assert (report.sent, report.retried, report.dead) == (5, 0, 0)
    assert server.relay.ehlos == 1 and mailer.connections == 1
    got = server.relay.messages()
    assert sorted(m["Message-ID"] for m in got) == sorted(ids)
    first = got[0]
    assert first["From"] == "kovflow@gemeente.example" and first["To"] == "coach@example.org"
    assert first["Subject"] == "Er staat een taak voor u klaar"
    assert first["Date"] and first.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in first.iter_parts()] == ["text/plain", "text/html"]
    assert all(r.status == "sent" and r.sent_at == START and r.attempts == 1
               for r in _rows(app).values())
    # Nothing is left: a second delivery opens no connection.
    assert deliver_pending(app, mailer, START).sent == 0 and server.relay.ehlos == 1


def test_batches_each_reuse_their_own_connection(app: App, server: Server) -> None:
    _queue(app, 5)
    report = deliver_pending(app, server.mailer(), START, batch_size=2)
    assert report.sent == 5 and server.relay.ehlos == 3 and len(server.relay.envelopes) == 5


def test_4xx_backs_off_exponentially_then_succeeds(app: App, server: Server) -> None:
    server.relay.temporary = 2
    [mid] = _queue(app, 1)
    mailer = server.mailer()
    report = deliver_pending(app, mailer, START, rand=_never_jitter)
    assert report.retried == 1
    row = _rows(app)[mid]
    assert (row.status, row.attempts, row.next_attempt_at) == (
        "pending", 1, START + timedelta(seconds=60))
    assert "451" in row.last_error
    assert deliver_pending(app, mailer, START + timedelta(seconds=59)).retried == 0  # not yet
    deliver_pending(app, mailer, START + timedelta(seconds=60), rand=_never_jitter)
    row = _rows(app)[mid]
    assert (row.attempts, row.next_attempt_at) == (2, START + timedelta(seconds=180))
    report = deliver_pending(app, mailer, START + timedelta(seconds=180))
    row = _rows(app)[mid]
    assert report.sent == 1 and (row.status, row.attempts, row.last_error) == ("sent", 3, "")
    assert [m["Message-ID"] for m in server.relay.messages()] == [mid]


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    assert backoff(1, lambda: 1.0) == timedelta(seconds=60)
    assert backoff(2, lambda: 1.0) == timedelta(seconds=120)
    assert backoff(3, lambda: 0.0) == timedelta(seconds=120)  # equal jitter: at least half
    assert backoff(40, lambda: 1.0) == timedelta(hours=6)


def test_4xx_until_the_attempts_run_out_is_a_dead_letter(app: App, server: Server) -> None:
    server.relay.temporary = 100
    [mid] = _queue(app, 1)
    now = START
    for _ in range(3):
        deliver_pending(app, server.mailer(), now, max_attempts=3, rand=_never_jitter)
        now += timedelta(hours=6)
    row = _rows(app)[mid]
    assert (row.status, row.attempts) == ("dead", 3)
    assert row.last_error.startswith("gave up after 3 attempts: 451")


def test_5xx_is_a_dead_letter_that_can_be_retried(app: App, server: Server) -> None:
    server.relay.permanent = True
    [mid] = _queue(app, 1)
    report = deliver_pending(app, server.mailer(), START)
    row = _rows(app)[mid]
    assert report.dead == 1 and row.status == "dead" and "550" in row.last_error
    assert [e.message_id for e in list_outbox(app, "dead")] == [mid]
    server.relay.permanent = False
    assert retry_dead(app) == 1
    assert deliver_pending(app, server.mailer(), START).sent == 1
    assert _rows(app)[mid].status == "sent" and list_outbox(app, "dead") == []


def test_relay_down_then_back_loses_nothing(app: App, server: Server) -> None:
    ids = _queue(app, 3)
    server.stop()
    report = deliver_pending(app, server.mailer(), START, rand=_never_jitter)
    assert report.retried == 3
    assert all(r.status == "pending" and "cannot connect" in r.last_error
               for r in _rows(app).values())
    server.start()
    later = START + timedelta(minutes=1)
    assert deliver_pending(app, server.mailer(), later).sent == 3
    assert sorted(m["Message-ID"] for m in server.relay.messages()) == sorted(ids)


@dataclass
class CrashAfterSend:
    """Sends, then dies before the outbox learns of it (the worker was killed mid-batch)."""

    inner: Mailer

    async def send_batch(self, messages: Sequence[OutgoingMail]) -> list[SendResult]:
        await self.inner.send_batch(messages)
        raise RuntimeError("worker killed")


def test_a_resend_after_a_crash_keeps_the_message_id(app: App, server: Server) -> None:
    [mid] = _queue(app, 1)
    with pytest.raises(RuntimeError, match="worker killed"):
        deliver_pending(app, CrashAfterSend(server.mailer()), START)
    assert _rows(app)[mid].status == "sending"
    # Within the claim nobody touches it; once the claim expired it goes out again.
    assert deliver_pending(app, server.mailer(), START + timedelta(minutes=4)).sent == 0
    report = deliver_pending(app, server.mailer(), START + timedelta(minutes=5))
    assert (report.released, report.sent) == (1, 1)
    assert [m["Message-ID"] for m in server.relay.messages()] == [mid, mid]
    assert _rows(app)[mid].status == "sent"


def test_a_claim_left_behind_returns_to_pending(app: App) -> None:
    [mid] = _queue(app, 1)
    write(app.engine, lambda conn: worker_repo.claim_outbox(
        conn, START, START + timedelta(minutes=5), 10))
    assert _rows(app)[mid].status == "sending"
    assert write(app.engine, lambda c: worker_repo.release_expired_claims(
        c, START + timedelta(minutes=5))) == 1
    assert _rows(app)[mid].status == "pending"


def test_file_mailer_writes_one_eml_per_message_id(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    [mid] = _queue(app, 1)
    mailer = FileMailer(folder, "kovflow@gemeente.example")
    assert deliver_pending(app, mailer, START).sent == 1
    retry = write(app.engine, lambda conn: conn.execute(
        repo.outbox.update().values(status="dead")).rowcount)
    assert retry == 1 and retry_dead(app) == 1
    assert deliver_pending(app, mailer, START).sent == 1  # the same message once more
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == [mid.strip("<>") + ".eml"]
    parsed = parse(files[0].read_bytes())
    assert parsed["Message-ID"] == mid and parsed.get_content_type() == "multipart/alternative"


def test_console_mailer_prints_a_summary_without_the_body(app: App) -> None:
    [mid] = _queue(app, 1)
    out = io.StringIO()
    assert deliver_pending(app, ConsoleMailer(out), START).sent == 1
    assert out.getvalue() == f"mail {mid} to coach@example.org: Er staat een taak voor u klaar\n"


def test_unrenderable_rows_are_dead_letters_not_crashes(app: App, server: Server) -> None:
    [mid] = _queue(app, 1)
    write(app.engine, lambda conn: conn.execute(repo.outbox.update().values(
        context={"soort": "melding", "link": "https://elders.example/taken"})))
    report = deliver_pending(app, server.mailer(), START)
    row = _rows(app)[mid]
    assert report.dead == 1 and "does not point at this installation" in row.last_error
    assert server.relay.envelopes == []


# --- privacy ---------------------------------------------------------------------------------

def _texts(message: EmailMessage) -> list[str]:
    """Every header but To and every decoded body part, without the recipient's own address
    (it may contain a role word such as 'wijkcoach', also where a calendar ATTENDEE repeats it)."""
    own = str(message["To"])
    found = [f"{k}: {v}" for k, v in message.items() if k.lower() != "to"]
    found += [part.get_content() for part in message.walk() if not part.is_multipart()]
    # Calendar lines fold at 75 octets; unfold before removing the recipient's address.
    return [text.replace("\r\n ", "").replace("\n ", "").replace(own, "<recipient>")
            for text in found]


def test_no_personal_data_leaves_in_any_message(world: World, server: Server) -> None:
    app = world.app
    opened = open_case(app, world.coach, first_name="Zwaantje", initial="Q",
                       birth_date=date(2024, 2, 29), location=world.location)
    case = opened.case_number
    add_participant(app, world.coach, case, "wijkcoach", username="wijkcoach")
    # The intake on Wednesday 25 November: its reminder goes out on Tuesday 24 at 09:00.
    fire(app, world.coach, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2026-11-25"})
    run_until(app, server.mailer(), START + timedelta(days=1, hours=1))
    fire(app, world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    fire(app, world.coach, "wijkcoach", "wijkcoach_nodig", case=case)
    fire(app, world.coach, "wijkcoach", "ouders_stemmen_in", case=case, data={
        "datum": "2026-12-02", "plaats": "thuis", "collega_kinderopvang": "pm"})
    fire(app, world.coach, "wijkcoach", "kennismaking_gehouden", case=case)  # notifies wijkcoach
    with app.engine.begin() as conn:
        case_row = repo.case_by_number(conn, case)
        assert case_row is not None
        inst = next(r for r in repo.case_instances(conn, case_row.id) if r.route_id == "plaatsing")
        repo.add_rows(conn, repo.deadlines, [{
            "case_id": case_row.id, "instance_id": inst.id, "rule": "stil__escalatie",
            "kind": "escalation", "role": "manager", "template": "escalatie",
            "due_at": START + timedelta(days=2), "every": "", "created_at": START,
            "fired_at": None, "cancelled_at": None}])
    sweep_due(app, START + timedelta(days=2))
    run_until(app, server.mailer(), START + timedelta(days=3), step=timedelta(hours=6))

    messages = server.relay.messages()
    subjects = {m["Subject"] for m in messages}
    assert {"Er staat een taak voor u klaar", "Er ligt een stap stil",
            "Herinnering: er wacht een stap op u"} <= subjects
    canaries = ["Zwaantje", case, "2024-02-29", "29-02-2024",
                "29 februari", "29 feb", "meldcode", "De Zonnebloem", "Zonnebloem",
                "Presikhaaf", "Bijen", *{spec.id for spec in app.catalog}]
    for message in messages:
        assert message["To"] in {"coach@example.org", "wijkcoach@example.org",
                                 "manager@example.org", "pm@example.org"}
        blob = "\n".join(_texts(message))
        for canary in canaries:
            assert canary.lower() not in blob.lower(), (canary, message["Subject"])
        links = set(re.findall(r"https?://[^\s\"'<>]+", blob))
        assert links == {"http://127.0.0.1:8000/taken"}, links


def test_make_mailer_follows_the_settings(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    assert make_mailer(Settings(mail_backend="file", mail_folder=folder)) == FileMailer(
        folder, "kovflow@localhost")
    assert isinstance(make_mailer(Settings(mail_backend="console")), ConsoleMailer)
    assert isinstance(make_mailer(Settings(mail_backend="smtp")), SmtpMailer)
    with pytest.raises(ConfigError, match="backend 'pigeon'"):
        make_mailer(Settings(mail_backend="pigeon"))
    with pytest.raises(ConfigError, match="KOVFLOW_SMTP_PASSWORD"):
        SmtpMailer(username="kovflow")
