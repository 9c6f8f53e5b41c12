"""Anonymous consultation: the consulted party never learns who the child is; the advice goes
back to the asker only; refusals look like missing objects; everything is audited without text."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kovflow.cli import app as cli
from kovflow.errors import InvalidInput, NotFound
from kovflow.notify.render import MailContext, render
from kovflow.services import (
    add_location,
    add_user,
    case_overview,
    fire,
    open_case,
    record_consent,
    resolve_actor,
)
from kovflow.services.consultation import age_band, answer, ask, for_case, inbox
from kovflow.store import repo
from tests.conftest import World, join_team

PLAATS = {"groep": "Bijen", "startdatum": "2026-12-01", "mentor": "pm", "vve_indicatie": "nee"}
QUESTION = "Peuter bijt vaak andere kinderen en ouders willen geen hulp; wat raadt u aan?"


def _case(world: World, first_name: str = "Zwaantje") -> str:
    return open_case(world.app, world.coach, first_name=first_name, initial="Q",
                     birth_date=date(2024, 2, 29), location=world.location).case_number


def test_age_band_in_whole_years() -> None:
    assert age_band(date(2024, 2, 29), date(2026, 11, 23)) == "2-3 jaar"
    assert age_band(date(2024, 11, 24), date(2026, 11, 23)) == "1-2 jaar"
    assert age_band(date(2024, 11, 23), date(2026, 11, 23)) == "2-3 jaar"
    assert age_band(date(2026, 10, 1), date(2026, 11, 23)) == "0-1 jaar"
    assert age_band(date(2020, 1, 1), date(2026, 11, 23)) == "4 jaar of ouder"


def test_refused_consent_leads_to_an_anonymous_question_and_private_advice(world: World) -> None:
    case = _case(world)
    fire(world.app, world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    record_consent(world.app, world.coach, case, "kinderopvang_naar_wijkcoach", "geweigerd")
    cid = ask(world.app, world.coach, case, "wijkcoach", QUESTION)

    (item,) = inbox(world.app, world.wijkcoach)
    assert (item.id, item.age_band, item.wijk, item.to_role, item.question, item.answered_at) == (
        cid, "2-3 jaar", "Presikhaaf", "wijkcoach", QUESTION, None)
    shown = [str(v) for v in vars(item).values()]
    for secret in ("Zwaantje", case, "2024-02-29", "29-02-2024", "ZON", "Zonnebloem"):
        assert secret not in json.dumps(shown)
    assert "coach" not in shown  # nor who asked
    assert inbox(world.app, world.jgz) == []  # asked of the wijkcoach, not of the JGZ
    # The consulted wijkcoach is no participant: the case itself stays closed to them.
    with pytest.raises(NotFound, match=f"No case '{case}'"):
        case_overview(world.app, world.wijkcoach, case)

    answer(world.app, world.wijkcoach, cid, "Bespreek het gedrag met de ouders; observeer eerst.")
    (mine,) = for_case(world.app, world.coach, case)
    assert mine.advice.startswith("Bespreek") and mine.answered_at == world.app.clock.now()
    assert [c.advice for c in case_overview(world.app, world.coach, case).consultations] == [
        mine.advice]
    # Another professional of the same case sees the case, but not the coach's consultation.
    assert for_case(world.app, world.pm, case) == []
    assert case_overview(world.app, world.pm, case).consultations == ()
    with pytest.raises(InvalidInput, match="al beantwoord"):
        answer(world.app, world.wijkcoach, cid, "nog een advies")


def test_mails_carry_a_kind_and_a_link_only(world: World) -> None:
    case = _case(world)
    cid = ask(world.app, world.coach, case, "jgz", QUESTION)
    answer(world.app, world.jgz, cid, "Advies van de JGZ")
    with world.app.engine.connect() as conn:
        rows = [r for r in repo.outbox_rows(conn) if r.template.startswith("consultatie")]
    assert [(r.template, r.to_address) for r in rows] == [
        ("consultatie_vraag", "jgz@example.org"), ("consultatie_advies", "coach@example.org")]
    assert rows[0].case_id is None  # the consulted party's mail row is not tied to the case
    for r in rows:
        mail = render(r.template, MailContext.from_stored(r.context, world.app.settings.base_url))
        text = mail.subject + mail.text + mail.html
        for secret in ("Zwaantje", case, "2024", "bijt", "Advies van de JGZ", "Presikhaaf"):
            assert secret not in text
        assert "anonieme consultatie" in mail.subject.lower()


def test_bad_input_is_refused_and_changes_nothing(world: World) -> None:
    case = _case(world)
    for to_role, question, message in (
            ("logopedist", QUESTION, "wijkcoach of jgz"),
            ("wijkcoach", "   ", "vraag is leeg"),
            ("wijkcoach", "x" * 4001, "te lang"),
            ("wijkcoach", "Hoe help ik zwaantje met bijten?", "voornaam"),
            ("wijkcoach", f"Over {case}: wat nu?", "casusnummer"),
            ("wijkcoach", "Kind geboren 29-02-2024 bijt", "geboortedatum")):
        with pytest.raises(InvalidInput, match=message) as refused:
            ask(world.app, world.coach, case, to_role, question)
        assert "Zwaantje" not in str(refused.value)  # the error never echoes the child's data
    # "Zwaantjes" or "samen" are not the first name: only the whole word counts.
    ask(world.app, world.coach, case, "wijkcoach", "Zwaantjes in de tuin, samen spelen: advies?")
    with pytest.raises(InvalidInput, match="advies is leeg"):
        answer(world.app, world.wijkcoach, 1, " ")
    with pytest.raises(InvalidInput, match="pass --as"):
        ask(world.app, world.operator, case, "wijkcoach", QUESTION)
    assert len(inbox(world.app, world.wijkcoach)) == 1


def test_no_consulted_person_at_the_location_is_a_clear_error(world: World) -> None:
    add_location(world.app, world.operator, "LEEG", "Zonder wijkcoach", "Malburgen")
    add_user(world.app, world.operator, "coachleeg", ["coach"], location="LEEG")
    coach = resolve_actor(world.app, "coachleeg")
    case = open_case(world.app, coach, first_name="Bo", initial="", birth_date=date(2025, 1, 1),
                     location="LEEG").case_number
    with pytest.raises(InvalidInput, match="geen wijkcoach aan de locatie"):
        ask(world.app, coach, case, "wijkcoach", QUESTION)
    # The wijkcoach of another location does not see questions about this location's children.
    assert inbox(world.app, world.wijkcoach) == []


def test_refusals_answer_like_missing_objects_and_are_audited_without_text(world: World) -> None:
    case = _case(world)
    add_location(world.app, world.operator, "ELDERS", "Elders", "Schuytgraaf")
    add_user(world.app, world.operator, "wc2", ["wijkcoach"], location="ELDERS")
    add_user(world.app, world.operator, "coord", ["coordinator"])
    wc2, coord = resolve_actor(world.app, "wc2"), resolve_actor(world.app, "coord")
    cid = ask(world.app, world.coach, case, "wijkcoach", QUESTION)
    missing = "No consultation 999 was found"
    with pytest.raises(NotFound) as absent:
        answer(world.app, world.wijkcoach, 999, "x")
    assert str(absent.value) == missing
    for probe in (wc2, world.jgz, world.pm, coord):  # other wijk, other role, the asker's team
        with pytest.raises(NotFound) as refused:
            answer(world.app, probe, cid, "x")
        assert str(refused.value) == missing.replace("999", str(cid))
    for probe in (wc2, coord, world.wijkcoach):  # no access to the case: like a missing case
        with pytest.raises(NotFound) as refused:
            ask(world.app, probe, case, "wijkcoach", QUESTION)
        assert str(refused.value) == f"No case '{case}' was found"
        with pytest.raises(NotFound):
            for_case(world.app, probe, case)
    join_team(world.app, case, "wijkcoach")  # a participant may ask too (of the JGZ)
    ask(world.app, world.wijkcoach, case, "jgz", QUESTION)
    with world.app.engine.connect() as conn:
        log = [(r.actor, r.case_number, r.what, r.outcome) for r in repo.access_rows(conn)]
    assert ("coach", case, "anonieme consultatie wijkcoach", "allowed") in log
    assert ("wc2", "", f"consultatie {cid} beantwoorden", "refused") in log
    assert ("wc2", case, "anonieme consultatie", "refused") in log
    assert not any("bijt" in what or "Peuter" in what for _, _, what, _ in log)


def test_cli_ask_inbox_answer_case(tmp_path: Path) -> None:
    """The CLI on its own SQLite file (each command builds its own App, as in real use)."""
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["--db", db, "--now", "2026-11-23T10:00", *args])
        return result.exit_code, result.output

    for args in (("db", "upgrade"), ("locations", "add", "ZON", "--name", "Z", "--wijk", "Oost"),
                 ("users", "add", "coach", "--role", "coach", "--location", "ZON"),
                 ("users", "add", "wk", "--role", "wijkcoach", "--location", "ZON")):
        assert run(*args)[0] == 0, args
    code, out = run("--as", "coach", "case", "open", "--first-name", "Kees", "--birth-date",
                    "2024-01-01", "--location", "ZON", "--json")
    case = json.loads(out)["case_number"]
    code, out = run("--as", "coach", "consult", "ask", case, "--to", "wijkcoach",
                    "--question", QUESTION, "--json")
    assert code == 0
    cid = json.loads(out)["id"]
    code, out = run("--as", "wk", "consult", "inbox", "--json")
    (item,) = json.loads(out)
    assert (item["question"], item["age_band"], item["wijk"]) == (QUESTION, "2-3 jaar", "Oost")
    assert "Kees" not in out and case not in out
    assert run("--as", "wk", "consult", "answer", str(cid), "--advice", "Observeer")[0] == 0
    code, out = run("--as", "coach", "consult", "case", case)
    assert code == 0 and "advies: Observeer" in out
    assert run("--as", "wk", "consult", "answer", "999", "--advice", "x")[0] == 4
    assert run("--as", "coach", "consult", "ask", case, "--to", "wijkcoach",
               "--question", "Kees bijt")[0] == 2
    assert "WITHOUT the name" in " ".join(run("consult", "ask", "--help")[1].split())
