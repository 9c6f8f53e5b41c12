"""The coordinator's weekly digest: the stalled-case audit in counts and a link, nothing else."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kovflow.notify.mailers import MemoryMailer
from kovflow.notify.render import MailContext
from kovflow.reports.stalled import RULES
from kovflow.scheduling.worker import digest_context, run_until, write_digests
from kovflow.services import (
    add_location,
    add_user,
    open_case,
    record_consent,
    resolve_actor,
    start_route,
)
from kovflow.store import repo
from tests.conftest import World

AMS = ZoneInfo("Europe/Amsterdam")
PER_RULE = "regels" in MailContext.__dataclass_fields__  # notify/render.py carries the counts


def _digests(world: World) -> list[Any]:
    with world.app.engine.connect() as conn:
        return list(repo.outbox_rows(conn, template="digest"))


def _stalled_world(world: World) -> list[str]:
    add_user(world.app, world.operator, "af", ["aandachtsfunctionaris"], email="af@example.org",
             location=world.location)
    add_location(world.app, world.operator, "MAAN", "De Maan", "Malburgen", "Stichting Maan")
    add_user(world.app, world.operator, "coordinator", ["coordinator"],
             email="coordinator@example.org")
    world.app.clock.set(datetime(2026, 11, 23, 9, tzinfo=AMS))  # type: ignore[attr-defined]
    numbers = []
    for _ in range(2):
        case = open_case(world.app, world.coach, first_name="Canaryname", initial="Q",
                         birth_date=date(2024, 5, 1), location=world.location).case_number
        numbers.append(case)
    record_consent(world.app, world.coach, numbers[0], "kinderopvang_naar_wijkcoach", "gevraagd")
    start_route(world.app, resolve_actor(world.app, "af"), "meldcode", case=numbers[1])
    start_route(world.app, world.manager, "locatie_uitrol", location=world.location)
    return numbers


def test_the_digest_counts_findings_per_rule_and_carries_no_case_data(world: World) -> None:
    numbers = _stalled_world(world)
    monday = datetime(2027, 1, 11, 8, tzinfo=AMS)  # 32 werkdagen later: everything is late
    assert write_digests(world.app, monday) == 1
    assert write_digests(world.app, monday + timedelta(hours=2)) == 0  # one per week
    [row] = _digests(world)
    assert row.to_address == "coordinator@example.org" and row.case_id is None
    ctx = row.context
    # 2 overdue plaatsing tasks, 2 idle plaatsing instances, 1 consent, 1 rollout step, and the
    # meldcode instance only as the confidential aggregate.
    assert ctx["aantal"] == 7
    if PER_RULE:
        counts = dict(ctx["regels"])
        assert list(counts) == [*RULES, "vertrouwelijk"]
        assert (counts["taak_over_tijd"], counts["geen_voortgang"], counts["toestemming_onbeslist"],
                counts["uitrol_stap"], counts["vertrouwelijk"]) == (2, 2, 1, 1, 1)
        assert ctx["link"] == "http://127.0.0.1:8000/coordinator"
    mailer = MemoryMailer()
    world.app.clock.set(monday)  # type: ignore[attr-defined]
    run_until(world.app, mailer, monday + timedelta(minutes=30), digests=False)
    [mail] = [m for m in mailer.sent if m.to == "coordinator@example.org"]
    raw = "\n".join([mail.subject, mail.text, mail.html,
                     *(r.decode("utf-8", "replace") for r in mailer.raw)])
    for secret in (*numbers, "Canaryname", "2024-05-01", "meldcode", "ZON", "Zonnebloem"):
        assert secret not in raw
    assert "7 signalen" in raw
    if PER_RULE:
        assert "Taken over tijd: 2" in raw and "Vertrouwelijke routes: 1" in raw


def test_a_coordinator_with_a_location_gets_that_location_counted(world: World) -> None:
    _stalled_world(world)
    add_user(world.app, world.operator, "co_maan", ["coordinator"], email="cm@example.org",
             location="MAAN")
    write_digests(world.app, datetime(2027, 1, 11, 8, tzinfo=AMS))
    by_address = {r.to_address: r.context["aantal"] for r in _digests(world)}
    assert by_address == {"coordinator@example.org": 7, "cm@example.org": 0}


def test_digest_context_is_what_the_mail_renderer_accepts() -> None:
    ctx = digest_context("https://kovflow.example.org", {"taak_over_tijd": 3}, 2)
    assert ctx["aantal"] == 5
    MailContext.from_stored(ctx, "https://kovflow.example.org")  # raises if not allowed
