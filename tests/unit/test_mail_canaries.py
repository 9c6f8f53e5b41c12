"""No case data in a mail, whatever we try: canaries (child names, birth dates, case numbers, the
word "meldcode", route and state names, location names) never reach a subject, a header, a body
or a link.

Two layers:

* the render layer, with many hypothesis examples: any mix of allowed and canary values offered
  to ``MailContext`` is either refused, or (exactly when it is on the allow-list) accepted and
  rendered by every template into MIME parts (``build_mime``) that hold no canary;
* the whole path, with a handful of examples: a case opened and moved through the services with
  canary data on a temporary SQLite database, the worker running for weeks of simulated time, and
  every mail it hands to the mailer decoded and searched.
"""

from __future__ import annotations

import email
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass
from datetime import UTC, date, datetime, timedelta
from email.header import decode_header, make_header
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kovflow.actor import Actor
from kovflow.clock import FixedClock
from kovflow.config import Settings
from kovflow.notify.invites import SOORT as INVITE_SOORT
from kovflow.notify.invites import Invitation, InvitationError, uid_for
from kovflow.notify.mailers import MemoryMailer, OutgoingMail, build_mime
from kovflow.notify.render import DIGEST_RULES, SOORTEN, MailContext, RenderError, link_for, render
from kovflow.resources import template_names, workflows_dir
from kovflow.routes.catalog import Catalog, load_catalog
from kovflow.scheduling.worker import run_until
from kovflow.services import (
    add_location,
    add_participant,
    add_user,
    build_app,
    fire,
    open_case,
    resolve_actor,
)
from kovflow.services.consultation import answer, ask
from kovflow.store import repo
from kovflow.store.migrate import upgrade
from tests.conftest import START, join_team

BASE = "https://kovflow.arnhem.example"
# The task list, the start page, the coordinator's dashboard (the digest), and the installation's
# own address (MailContext.check_base).
LINKS = frozenset({link_for(BASE), link_for(BASE, "/"), link_for(BASE, "/coordinator"), BASE})
SENDER = "kovflow@localhost"
SENT_AT = datetime(2026, 11, 23, 8, tzinfo=UTC)
# A valid invitation (the kind a step with ``invite`` writes) for the render layer.
INVITE = Invitation(uid_for(12, "datum"), 0, "REQUEST", datetime(2027, 1, 4, 8, tzinfo=UTC), 60)
TEMPLATES = tuple(sorted(template_names()))
ROUTE_IDS = tuple(sorted(p.name for p in workflows_dir().iterdir() if p.is_dir()))
# Staff accounts of the whole-path test: neutral names, so an address is never a canary.
STAFF = {"coach": "medewerker1", "pm": "medewerker2", "manager": "medewerker3",
         "wijkcoach": "medewerker4", "aandachtsfunctionaris": "medewerker5",
         "coordinator": "medewerker6"}
ADDRESSES = tuple(f"{user}@example.org" for user in STAFF.values())
_URL = re.compile(r"https?://[^\s\"'<>]+")
_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december")


def searchable(raw: bytes) -> str:
    """Every header (decoded) and every body part (transfer encoding undone; iCalendar lines
    unfolded) of one message."""
    msg = email.message_from_bytes(raw)
    found: list[str] = []
    for part in msg.walk():
        found += [f"{key}: {make_header(decode_header(value))}" for key, value in part.items()]
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            text = payload.decode(part.get_content_charset() or "utf-8")
            if part.get_content_type() == "text/calendar":
                text = re.sub(r"\r?\n[ \t]", "", text)  # RFC 5545 folds lines at 75 octets
            found.append(text)
    return "\n".join(found)


def links(text: str) -> set[str]:
    return {url.rstrip(".,") for url in _URL.findall(text)}


def _mime(ctx: MailContext, template: str, to: str = ADDRESSES[0]) -> bytes:
    """Render ``template`` for ``ctx`` and build the message as the outbox hands it on."""
    mail = render(template, ctx, base_url=BASE)
    outgoing = OutgoingMail("<canary-test@kovflow>", to, mail.subject, mail.text, mail.html,
                            SENT_AT, invite=ctx.invite, link=ctx.link)
    return build_mime(outgoing, SENDER).as_bytes()


def neutral(template: str) -> MailContext:
    """A context each shipped template renders with."""
    if template == "digest":
        # Every rule's line, so that the rule titles count as ordinary mail text.
        return MailContext("digest", link_for(BASE, "/coordinator"), aantal=7,
                           regels=tuple((code, 1) for code in sorted(DIGEST_RULES)))
    if template == INVITE_SOORT:
        return MailContext(INVITE_SOORT, link_for(BASE), invite=INVITE)
    return MailContext("melding", link_for(BASE))


@cache
def baseline() -> str:
    """Everything a neutral mail holds (all templates, headers, calendar parts, the staff
    addresses), lower case: a generated name that occurs here is ordinary text, not a canary."""
    texts = list(ADDRESSES)
    for template in TEMPLATES:
        texts.append(searchable(_mime(neutral(template), template)))
    cancel = Invitation(INVITE.uid, 1, "CANCEL", INVITE.start, INVITE.minutes)
    texts.append(searchable(_mime(MailContext(INVITE_SOORT, link_for(BASE), invite=cancel),
                                  INVITE_SOORT)))
    return "\n".join(texts).lower()


def _not_ordinary(word: str) -> bool:
    return word.lower() not in baseline()


def date_forms(day: date) -> list[str]:
    """The ways a birth date may be written in Dutch text."""
    return [day.isoformat(), day.strftime("%d-%m-%Y"), day.strftime("%d/%m/%Y"),
            day.strftime("%Y%m%d"),  # as iCalendar writes a date
            f"{day.day}-{day.month}-{day.year}", f"{day.day} {_MONTHS[day.month - 1]} {day.year}"]


@dataclass(frozen=True)
class Canaries:
    first_name: str
    initial: str
    birth_date: date
    case_number: str
    location: str
    wijk: str
    route: str

    @property
    def story(self) -> str:
        """Free text as a coach might type it, full of canaries."""
        return (f"{self.first_name} ({self.birth_date:%d-%m-%Y}), {self.case_number}, "
                f"{self.location}: meldcode overwogen, route {self.route}")

    def words(self) -> list[str]:
        return [self.first_name, self.case_number, self.location, self.wijk, self.route,
                "meldcode", *date_forms(self.birth_date)]


NAMES = st.one_of(
    st.sampled_from(["Noor", "Daan", "Fenna", "Mees", "Saar", "Lieke", "Yara", "Ayoub",
                     "Zeynep", "Milan", "Sem", "Jasmijn", "Thijs", "Fatima"]),
    st.from_regex(r"[A-Z][a-z]{4,9}", fullmatch=True),
).filter(_not_ordinary)
PLACES = st.one_of(
    st.sampled_from(["De Zonnebloem", "Het Kabouterhuis", "Kdv De Boomhut", "Presikhaaf",
                     "Malburgen", "Het Duifje"]),
    st.builds(lambda a, b: f"{a} {b}", st.sampled_from(["De", "Het", "Kdv", "Bso"]), NAMES),
).filter(_not_ordinary)
CANARIES = st.builds(
    Canaries,
    first_name=NAMES,
    initial=st.sampled_from("ABCDEFGHJKLMNPRSTVWZ"),
    birth_date=st.dates(min_value=date(2019, 1, 1), max_value=date(2026, 11, 1)),
    case_number=st.integers(1, 99_999).map(lambda n: f"KOV-{n:05d}"),
    location=PLACES,
    wijk=PLACES,
    route=st.sampled_from(ROUTE_IDS),
)


def assert_clean(raw: bytes, words: list[str]) -> None:
    text = searchable(raw)
    lowered = text.lower()
    leaked = [w for w in words if w.lower() in lowered]
    assert leaked == [], f"canaries {leaked} in a mail:\n{text}"
    assert links(text) <= LINKS, links(text)


def test_the_fixed_canaries_are_not_ordinary_mail_text() -> None:
    # Route ids and "meldcode" are not generated, so they must never occur in a neutral mail.
    assert [w for w in (*ROUTE_IDS, "meldcode", "KOV-") if not _not_ordinary(w)] == []


# --- the render layer ---------------------------------------------------------------------------

def _invitation(value: object) -> bool:
    try:
        Invitation.from_context(value)
    except InvitationError:
        return False
    return True


def _allowed(values: dict[str, Any]) -> bool:
    """Exactly the allow-list: soort, a link to this installation's task list or start page, a
    count for a digest (and only for a digest), a well-formed invitation for an uitnodiging
    (and only for an uitnodiging)."""
    aantal, invite, soort = values.get("aantal"), values.get("invite"), values.get("soort")
    return (set(values) <= {"soort", "link", "aantal", "invite"} and soort in SOORTEN
            and values.get("link") in LINKS
            # the dashboard link belongs to the coordinator's digest only
            and (values.get("link") != link_for(BASE, "/coordinator") or soort == "digest")
            and (aantal is None or (isinstance(aantal, int) and not isinstance(aantal, bool)
                                    and aantal >= 0))
            and (aantal is None) == (soort != "digest")
            and (invite is None or _invitation(invite))
            and (invite is None) == (soort != INVITE_SOORT))


def _canary_invites(c: Canaries, word: str, slug: str) -> list[Any]:
    """Invitations with a canary somewhere."""
    good = INVITE.to_context()
    # A canary of exactly ten hex digits would pass as a UID token (a digest looks like that);
    # the names, case numbers and date forms here never are ten hex digits but a generated name
    # could be ("Aaaaaaaaaa"), so that one probe is skipped for it.
    uid_probe = [] if re.fullmatch(r"[0-9a-f]{10}", slug) else [
        {**good, "uid": f"12-{slug}@kovflow"}]
    return [
        *uid_probe,
        {**good, "uid": f"12-{c.case_number}@kovflow"},
        {**good, "uid": f"{slug}@kovflow"},
        {**good, "uid": f"12-abc@{slug}.example"},
        {**good, "uid": word},
        {**good, "summary": word},
        {**good, "location": c.location},
        {**good, "description": c.story},
        {**good, "attendee": f"{c.first_name} <ouder@example.org>"},
        {**good, "method": word},
        {**good, "start": c.birth_date.isoformat()},
        {**good, "start": word},
        {**good, "minutes": word},
        {k: v for k, v in good.items() if k != "start"},
        word,
        [word],
    ]


GOOD_INVITES = (
    INVITE.to_context(),
    Invitation(INVITE.uid, 3, "REQUEST", INVITE.start, 90).to_context(),
    Invitation(uid_for(7, "intake_datum", 2), 1, "CANCEL", INVITE.start, 30).to_context(),
)


@st.composite
def offered_contexts(draw: st.DrawFn, c: Canaries) -> dict[str, Any]:
    """A context as code might build it: a valid one, or (half of the time) one with one to
    three canary-carrying changes: in soort, link, aantal or invite, or under another key."""
    soort = draw(st.sampled_from(sorted(SOORTEN)))
    values: dict[str, Any] = {"soort": soort, "link": draw(st.sampled_from(sorted(LINKS)))}
    if soort == "digest":
        values["aantal"] = draw(st.integers(0, 500))
    if soort == INVITE_SOORT:
        values["invite"] = draw(st.sampled_from(GOOD_INVITES))
    if not draw(st.booleans()):
        return values
    word = draw(st.sampled_from(c.words()))
    slug = re.sub(r"[^a-z0-9]", "", word.lower()) or "x"
    changes: dict[str, Callable[[], Any]] = {
        "soort": lambda: draw(st.sampled_from([word, slug, f"melding {word}"])),
        "link": lambda: draw(st.sampled_from([
            f"{BASE}/{slug}/taken", f"{BASE}/taken?kind={slug}", f"{BASE}/taken#{slug}",
            f"{BASE}/zaken/{slug}", f"https://{slug}@kovflow.arnhem.example/taken",
            f"https://{slug}.example/taken", f"{BASE}/taken/{c.case_number}", word])),
        "aantal": lambda: draw(st.sampled_from([word, -1, True, 42, None])),
        "invite": lambda: draw(st.sampled_from([*_canary_invites(c, word, slug), None])),
        "extra": lambda: word,
    }
    for change in draw(st.lists(st.sampled_from(sorted(changes)), min_size=1, max_size=3,
                                unique=True)):
        value = changes[change]()
        if change == "extra":
            key = draw(st.sampled_from(["naam", "voornaam", "geboortedatum", "zaaknummer",
                                        "route", "locatie", "onderwerp", "kind"]))
            values[key] = value
        elif value is None:
            values.pop(change, None)
        else:
            values[change] = value
    return values


@settings(max_examples=300, deadline=None, database=None)
@given(data=st.data(), c=CANARIES)
def test_mail_context_refuses_all_but_its_allow_list_and_no_canary_gets_through(
        data: st.DataObject, c: Canaries) -> None:
    offered = data.draw(offered_contexts(c))
    try:
        ctx = MailContext.from_stored(offered, BASE)
    except RenderError:
        event("refused")
        assert not _allowed(offered), f"refused an allowed context: {offered}"
        return
    event("accepted")
    assert _allowed(offered), f"accepted a context off the allow-list: {offered}"
    for template in TEMPLATES:
        try:
            raw = _mime(ctx, template)
        except RenderError:
            assert template == "digest" and ctx.aantal is None  # a digest needs its count
            continue
        assert_clean(raw, c.words())


def test_the_search_finds_a_canary_wherever_a_mail_could_carry_it() -> None:
    """The detector itself: a canary in the subject, a header, either body (base64 on the
    wire), the link or a (folded) calendar line is found."""
    words = ["Jasmijn", "KOV-00042", "meldcode"]
    ctx = MailContext(INVITE_SOORT, link_for(BASE), invite=INVITE)
    good = render(INVITE_SOORT, ctx, base_url=BASE)
    places = {
        "subject": {"subject": f"{good.subject} Jasmijn"},
        "to": {"to": f"Jasmijn <{ADDRESSES[0]}>"},
        "text": {"text": good.text + "\nKOV-00042"},
        "html": {"html": good.html.replace("</p>", " meldcode</p>", 1)},
        "link": {"link": f"{BASE}/taken?zaak=42"},
        # A long link: folded in the calendar's DESCRIPTION line, plain in the bodies.
        "long link": {"link": f"{BASE}/{'x' * 40}/Jasmijn/taken"},
    }
    for change in places.values():
        fields: dict[str, Any] = {"message_id": "<canary-test@kovflow>", "to": ADDRESSES[0],
                                  "subject": good.subject, "text": good.text, "html": good.html,
                                  "date": SENT_AT, "invite": INVITE, "link": ctx.link, **change}
        raw = build_mime(OutgoingMail(**fields), SENDER).as_bytes()
        with pytest.raises(AssertionError):
            assert_clean(raw, words)


def test_an_invitation_uid_cannot_carry_a_name() -> None:
    # The UID's token is a digest of the field name (uid_for), never the name or anything else.
    # (Ten hex digits cannot be told from a digest, so that is all the pattern can check.)
    for uid in ("12-noor@kovflow", "12-kov00042@kovflow", "12-meldcode_1@kovflow",
                "12-2024050100@kovflow_1", "12-a1b2c3d4e5@kovflow.example"):
        offered = {"soort": INVITE_SOORT, "link": link_for(BASE),
                   "invite": {**INVITE.to_context(), "uid": uid}}
        with pytest.raises(RenderError):
            MailContext.from_stored(offered, BASE)


@settings(max_examples=100, deadline=None, database=None)
@given(c=CANARIES)
def test_no_way_around_the_allow_list(c: Canaries) -> None:
    ctx = MailContext("herinnering", link_for(BASE))
    with pytest.raises(TypeError):
        MailContext("herinnering", link_for(BASE), naam=c.first_name)  # type: ignore[call-arg]
    with pytest.raises(FrozenInstanceError):
        ctx.link = f"{BASE}/{c.first_name}/taken"  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        ctx.naam = c.first_name  # type: ignore[attr-defined]  # slots: no room for more
    for word in c.words():
        with pytest.raises(RenderError):
            render(word, ctx)  # a canary is no template name either
        with pytest.raises(RenderError):
            MailContext(word, link_for(BASE))
    assert set(ctx.variables()) == {"soort", "link"}


# --- the whole path -----------------------------------------------------------------------------

@cache
def shipped_catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file to copy per example."""
    path = tmp_path_factory.mktemp("canaries") / "template.db"
    kapp = build_app(Settings(base_url=BASE), database_url=f"sqlite:///{path}",
                     catalog=shipped_catalog())
    upgrade(kapp.engine)
    kapp.engine.dispose()  # closes the WAL: the file alone is the whole database
    return path


def _walk(db_url: str, c: Canaries, mailer: MemoryMailer) -> tuple[list[str], set[str]]:
    """Open a case with canary data, move it through the routes that write messages, and run
    the worker for five weeks. Returns every canary (the system's case number and the states
    too) and the templates of the messages sent."""
    app = build_app(Settings(base_url=BASE), clock=FixedClock(START), database_url=db_url,
                    catalog=shipped_catalog())
    try:
        op = Actor.installation_operator()
        add_location(app, op, "LOC", c.location, c.wijk, f"Kinderopvang {c.location}")
        for role, username in STAFF.items():
            add_user(app, op, username, [role], display_name=f"{c.first_name} {role}",
                     email=f"{username}@example.org", location="LOC")
        coach, wijkcoach = resolve_actor(app, STAFF["coach"]), resolve_actor(app, STAFF["wijkcoach"])
        case = open_case(app, coach, first_name=c.first_name, initial=c.initial,
                         birth_date=c.birth_date, location="LOC").case_number
        join_team(app, case, STAFF["wijkcoach"])  # a partner acts only as a participant
        fire(app, coach, "plaatsing", "plaats", case=case, data={
            "groep": f"Groep {c.first_name}", "startdatum": "2026-12-01",
            "mentor": STAFF["pm"], "vve_indicatie": "nee"})
        fire(app, coach, "wijkcoach", "wijkcoach_nodig", case=case)
        fire(app, coach, "wijkcoach", "ouders_stemmen_in", case=case, data={
            "datum": "2026-11-26", "plaats": "thuis", "collega_kinderopvang": c.first_name})
        fire(app, coach, "wijkcoach", "kennismaking_gehouden", case=case)  # melding, wijkcoach
        fire(app, wijkcoach, "wijkcoach", "plan_eerste_gesprek", case=case,
             data={"datum": "2026-11-30"})
        fire(app, wijkcoach, "wijkcoach", "voer_eerste_gesprek", case=case, data={
            "doelen": c.story, "acties": f"coach: {c.story}",
            "datum_voortgangsgesprek": "2026-12-14",
            "deelnemers_voortgangsgesprek": f"ouders van {c.first_name}; coach; wijkcoach"})
        fire(app, coach, "wijkcoach", "veiligheid_in_geding", case=case,
             data={"gestart_door": "kinderopvang"})  # starts meldcode
        fire(app, coach, "meldcode", "signalen_vastgelegd", case=case,
             data={"signalen": c.story})  # melding to the aandachtsfunctionaris
        fire(app, wijkcoach, "wijkcoach", "voogd_betrokken", case=case,
             data={"voogd_contact": f"voogd van {c.first_name}"})
        add_participant(app, coach, case, "voogd", name=f"voogd van {c.first_name}")
        # The anonymous consultation: the question and the advice are free text; no mail has them.
        asked = ask(app, coach, case, "wijkcoach", "Hoe ga ik om met een peuter die bijt?")
        answer(app, wijkcoach, asked, c.story)
        # Reminders (evaluatie, meldcode), an escalation and Monday digests on the way.
        run_until(app, mailer, START + timedelta(weeks=5), step=timedelta(hours=6))
        with app.engine.connect() as conn:
            case_row = repo.case_by_number(conn, case)
            assert case_row is not None
            states = [r.state for r in repo.case_instances(conn, case_row.id)]
            outbox = repo.outbox_rows(conn)
            for row in outbox:
                assert set(row.context) <= {"soort", "link", "aantal", "invite", "regels"}
                stored = json.dumps([row.context, row.template, row.to_address]).lower()
                assert not [w for w in (*c.words(), case) if w.lower() in stored]
    finally:
        app.engine.dispose()
    return [*c.words(), case, *states], {r.template for r in outbox if r.status == "sent"}


@settings(max_examples=8, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=CANARIES)
def test_a_case_full_of_canaries_sends_mails_without_them(migrated: Path, c: Canaries) -> None:
    mailer = MemoryMailer(sender=SENDER)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "kovflow.db"
        shutil.copyfile(migrated, db)
        words, templates = _walk(f"sqlite:///{db}", c, mailer)
    # Step messages, reminders, an escalation, digests and calendar invitations: every shipped
    # template went out on this path.
    assert templates == set(TEMPLATES)
    assert len(mailer.raw) == len(mailer.sent) > 0
    for raw in mailer.raw:
        assert_clean(raw, [w for w in words if _not_ordinary(w)])
